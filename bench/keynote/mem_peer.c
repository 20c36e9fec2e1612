/* mem_peer — NOT a system under test: the harness's ceiling. An in-memory bank in C behind
 * jspool's WebSocket call protocol (one libuv loop, wslay), so that keynote_client can be
 * run against a server that costs almost nothing, to show how many transfers per second the
 * harness itself can drive and what CPU it uses doing so (issue 10: "the load generator
 * must not be the bottleneck"). No durability, no transaction, no isolation.
 *
 *   mem_peer [--port 8090] [--accounts 100000] [--balance 1000000000]
 *   keynote_client --url ws://127.0.0.1:8090/ws
 *
 * Answers {"id":N,"call":"transfer","args":["<from>","<to>",A]} with {"id":N,"result":1}
 * (or an error), {"id":N,"call":"audit"} with {"id":N,"result":{"accounts","total"}}.
 * Runs until killed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <wslay/wslay.h>

typedef struct peer {
    uv_tcp_t tcp;
    uv_write_t write_req;
    wslay_event_context_ptr ws;
    bool open, writing, closing;
    char *in;
    size_t in_len, in_off, in_cap;
    char *out[2];
    size_t out_len[2], out_cap[2];
    int wire; /* index of the buffer on the wire when writing */
} peer;

static int64_t *balances;
static uint32_t accounts = 100000;
static int64_t initial = 1000000000;

static void grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t cap2 = *cap ? *cap : 65536;
    while (cap2 < need)
        cap2 *= 2;
    *buf = realloc(*buf, cap2);
    if (!*buf) {
        fprintf(stderr, "mem_peer: out of memory\n");
        exit(1);
    }
    *cap = cap2;
}

static void append(peer *p, const void *data, size_t len)
{
    int fill = p->writing ? 1 - p->wire : 0;
    grow(&p->out[fill], &p->out_cap[fill], p->out_len[fill] + len);
    memcpy(p->out[fill] + p->out_len[fill], data, len);
    p->out_len[fill] += len;
}

static void flush(peer *p);

static void on_closed(uv_handle_t *h)
{
    peer *p = h->data;
    if (p->ws)
        wslay_event_context_free(p->ws);
    free(p->in);
    free(p->out[0]);
    free(p->out[1]);
    free(p);
}

static void close_peer(peer *p)
{
    if (p->closing)
        return;
    p->closing = true;
    uv_close((uv_handle_t *)&p->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    peer *p = req->data;
    p->out_len[p->wire] = 0;
    p->writing = false;
    if (status < 0) {
        close_peer(p);
        return;
    }
    flush(p);
}

static void flush(peer *p)
{
    if (p->writing || p->closing)
        return;
    int fill = p->out_len[0] ? 0 : 1;
    if (!p->out_len[fill])
        return;
    p->wire = fill;
    p->writing = true;
    uv_buf_t buf = uv_buf_init(p->out[fill], (unsigned)p->out_len[fill]);
    p->write_req.data = p;
    if (uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &buf, 1, on_written) < 0)
        close_peer(p);
}

static void reply(peer *p, const char *text, size_t len)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    wslay_event_queue_msg(p->ws, &msg);
}

static void on_call(peer *p, const char *m, size_t len)
{
    char text[256];
    const char *end = m + len;
    const char *id = memmem(m, len, "\"id\":", 5);
    uint64_t n = id ? strtoull(id + 5, NULL, 10) : 0;
    if (memmem(m, len, "\"audit\"", 7)) {
        int64_t total = 0;
        for (uint32_t i = 0; i < accounts; i++)
            total += balances[i];
        int k = snprintf(text, sizeof text,
                         "{\"id\":%" PRIu64 ",\"result\":{\"accounts\":%u,\"total\":%" PRId64 "}}", n,
                         accounts, total);
        reply(p, text, (size_t)k);
        return;
    }
    const char *args = memmem(m, len, "\"args\":[\"", 9);
    const char *error = "bad call";
    if (args && memmem(m, len, "\"transfer\"", 10)) {
        char *q;
        unsigned long from = strtoul(args + 9, &q, 10);
        const char *t = q + 3 < end ? q + 3 : end; /* skip "," " */
        unsigned long to = strtoul(t, &q, 10);
        long amount = strtol(q + 2, NULL, 10);
        if (from >= accounts || to >= accounts)
            error = "no such account";
        else if (from == to)
            error = "same account";
        else if (balances[from] < amount)
            error = "insufficient funds";
        else {
            balances[from] -= amount;
            balances[to] += amount;
            int k = snprintf(text, sizeof text, "{\"id\":%" PRIu64 ",\"result\":1}", n);
            reply(p, text, (size_t)k);
            return;
        }
    }
    int k = snprintf(text, sizeof text,
                     "{\"id\":%" PRIu64 ",\"error\":{\"name\":\"RangeError\",\"message\":\"%s\"}}", n,
                     error);
    reply(p, text, (size_t)k);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    peer *p = user;
    size_t have = p->in_len - p->in_off;
    if (!have) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > have)
        len = have;
    memcpy(buf, p->in + p->in_off, len);
    p->in_off += len;
    return (ssize_t)len;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)ctx;
    (void)flags;
    append(user, data, len);
    return (ssize_t)len;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME)
        on_call(user, (const char *)arg->msg, arg->msg_length);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    peer *p = h->data;
    if (p->in_off == p->in_len)
        p->in_len = p->in_off = 0;
    grow(&p->in, &p->in_cap, p->in_len + 65536);
    *buf = uv_buf_init(p->in + p->in_len, (unsigned)(p->in_cap - p->in_len));
}

static bool handshake(peer *p)
{
    char *eoh = memmem(p->in, p->in_len, "\r\n\r\n", 4);
    if (!eoh)
        return false;
    char *key = memmem(p->in, (size_t)(eoh - p->in), "Sec-WebSocket-Key:", 18);
    if (!key) {
        close_peer(p);
        return false;
    }
    key += 18;
    while (*key == ' ')
        key++;
    size_t klen = strcspn(key, "\r");
    char joined[128];
    int n = snprintf(joined, sizeof joined, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)klen, key);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, (size_t)n, digest);
    unsigned char accept[64];
    EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    char head[256];
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    append(p, head, (size_t)n);
    p->in_off = (size_t)(eoh - p->in) + 4;
    p->open = true;
    return true;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    peer *p = s->data;
    if (n < 0) {
        close_peer(p);
        return;
    }
    p->in_len += (size_t)n;
    if (!p->open && !handshake(p)) {
        flush(p);
        return;
    }
    if (wslay_event_recv(p->ws) != 0 || !wslay_event_want_read(p->ws)) {
        close_peer(p);
        return;
    }
    wslay_event_send(p->ws);
    flush(p);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    static const struct wslay_event_callbacks callbacks = {recv_cb, send_cb, NULL, NULL,
                                                           NULL,    NULL,    msg_cb};
    peer *p = calloc(1, sizeof *p);
    if (!p)
        return;
    uv_tcp_init(server->loop, &p->tcp);
    p->tcp.data = p;
    if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0 ||
        wslay_event_context_server_init(&p->ws, &callbacks, p) != 0) {
        close_peer(p);
        return;
    }
    uv_tcp_nodelay(&p->tcp, 1);
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    int port = 8090;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--accounts") == 0)
            accounts = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--balance") == 0)
            initial = strtoll(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: mem_peer [--port 8090] [--accounts N] [--balance B]\n");
            return 2;
        }
    }
    balances = malloc(accounts * sizeof *balances);
    if (!balances)
        return 1;
    for (uint32_t i = 0; i < accounts; i++)
        balances[i] = initial;
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(loop, &server);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server, 4096, on_connection);
    if (rc != 0) {
        fprintf(stderr, "mem_peer: cannot listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
        return 1;
    }
    fprintf(stderr, "mem_peer: ws://127.0.0.1:%d/ws, %u accounts\n", port, accounts);
    return uv_run(loop, UV_RUN_DEFAULT);
}
