/* ws_calls — calls per second over one WebSocket with N calls in flight (the call
 * protocol of docs/server.md). Usage: ws_calls PORT CONTEXT FUNCTION ARGS_JSON [IN_FLIGHT
 * [SECONDS]]; defaults 40 in flight, 5 s. Blocking I/O on one socket: each answer read
 * sends the next call, so IN_FLIGHT calls are always outstanding. Prints calls/s.
 * FUNCTION "-" sends ARGS_JSON as a message instead (for a context whose onmessage
 * answers each message with one host.send). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_exactly(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static char buf[1 << 20];

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: ws_calls PORT CONTEXT FUNCTION ARGS_JSON [IN_FLIGHT [SECONDS]]\n");
        return 2;
    }
    int in_flight = argc > 5 ? atoi(argv[5]) : 40;
    double seconds = argc > 6 ? atof(argv[6]) : 5;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("connect");
        return 1;
    }
    int n = snprintf(buf, sizeof(buf),
                     "GET /v1/contexts/%s/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", argv[2]);
    if (write(fd, buf, (size_t)n) != n)
        return 1;
    size_t got = 0;
    while (got < 4 || memcmp(buf + got - 4, "\r\n\r\n", 4) != 0)
        if (read(fd, buf + got++, 1) != 1)
            return 1;
    if (!strstr(buf, " 101 ")) {
        fprintf(stderr, "no upgrade: %s\n", buf);
        return 1;
    }
    char text[4096];
    int len = strcmp(argv[3], "-") == 0
                  ? snprintf(text, sizeof(text), "%s", argv[4])
                  : snprintf(text, sizeof(text), "{\"id\":1,\"call\":\"%s\",\"args\":%s}", argv[3], argv[4]);
    if (len >= 126) {
        fprintf(stderr, "call frame too long for this client\n");
        return 2;
    }
    unsigned char frame[6 + 126] = {0x81, (unsigned char)(0x80 | len)}; /* mask 0 */
    memcpy(frame + 6, text, (size_t)len);
    for (int i = 0; i < in_flight; i++)
        if (write(fd, frame, 6 + (size_t)len) != 6 + len)
            return 1;
    long answers = 0, errors = 0;
    double start = now(), end = start + seconds;
    while (now() < end) {
        unsigned char head[2], ext[8];
        if (read_exactly(fd, head, 2))
            return 1;
        size_t plen = head[1] & 0x7f;
        if (plen >= 126) {
            size_t k = plen == 126 ? 2 : 8;
            if (read_exactly(fd, ext, k))
                return 1;
            plen = 0;
            for (size_t i = 0; i < k; i++)
                plen = plen << 8 | ext[i];
        }
        if (plen > sizeof(buf) || read_exactly(fd, buf, plen))
            return 1;
        answers++;
        errors += memmem(buf, plen, "\"error\"", 7) != NULL;
        if (write(fd, frame, 6 + (size_t)len) != 6 + len)
            return 1;
    }
    double elapsed = now() - start;
    printf("%.0f calls/s over one socket, %d in flight (%ld answers, %ld errors, %.1f s)\n",
           (double)answers / elapsed, in_flight, answers, errors, elapsed);
    close(fd);
    return errors != 0;
}
