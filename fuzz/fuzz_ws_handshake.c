/* fuzz_ws_handshake — the WebSocket client's check of a server's handshake answer
 * (src/util/ws_handshake.c), which any server a guest may reach controls. The input's
 * first byte picks: an arbitrary head (the rest of the input, with "\r\n\r\n" appended), or
 * a valid 101 head with the input's lines inserted among its headers, against offered
 * subprotocols "chat, v2". Oracles: a head the check accepts starts with a 101 status line
 * and holds the expected accept value; the subprotocol it reports is "" or one of those
 * offered; the valid head with no inserted lines is accepted; the accept value of the
 * RFC's example key is the RFC's. */
#include "util/ws_handshake.h"

#include "fuzz_support.h"

#include <stdint.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char expected[29];
    ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==", expected);
    CHECK(strcmp(expected, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0); /* RFC 6455 §1.3 */
    if (size == 0)
        return 0;
    bool is_raw = data[0] & 1;
    const char *valid = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    size_t cap = strlen(valid) + size + 8;
    char *head = malloc(cap), *copy = malloc(cap);
    if (!head || !copy) {
        free(head);
        free(copy);
        return 0;
    }
    size_t n = 0;
    if (!is_raw) {
        memcpy(head, valid, strlen(valid));
        n = strlen(valid);
    }
    for (size_t i = 1; i < size; i++)
        head[n++] = data[i] ? (char)data[i] : ' '; /* a head never holds NUL: the client refuses it */
    memcpy(head + n, "\r\n\r\n", 5);
    memcpy(copy, head, n + 5);
    char protocol[128] = "x", why[200];
    const char *problem = ws_handshake_check(head, expected, "chat, v2", protocol, sizeof(protocol), why, sizeof(why));
    if (!problem) {
        CHECK(strncmp(copy, "HTTP/1.1 101", 12) == 0);
        CHECK(strstr(copy, expected) != NULL);
        CHECK(protocol[0] == '\0' || strcasecmp(protocol, "chat") == 0 || strcasecmp(protocol, "v2") == 0);
    } else {
        CHECK(problem[0] != '\0');
        CHECK(!is_raw || size > 1 || strncmp(copy, "HTTP/1.1 101", 12) != 0);
    }
    if (!is_raw && size == 1)
        CHECK(problem == NULL && protocol[0] == '\0');
    free(head);
    free(copy);
    return 0;
}
