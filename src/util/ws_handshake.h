/* ws_handshake.h — the client side of the WebSocket opening handshake's checks (RFC 6455
 * §4.1): the Sec-WebSocket-Accept a key calls for, and whether a server's answer head is
 * an acceptable 101. Pure functions (no I/O, no engine); used by
 * src/runtime/websocket_client.c and fuzzed by fuzz/fuzz_ws_handshake.c. */
#ifndef JSP_UTIL_WS_HANDSHAKE_H
#define JSP_UTIL_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>

/* base64(SHA-1(key + the RFC's GUID)) into out (at least 29 bytes). */
void ws_handshake_accept(const char *key, char out[29]);

/* Whether token (case-insensitive) is in a comma-separated list. */
bool ws_handshake_has_token(const char *list, const char *token);

/* Checks an answer head: its lines end with "\r\n", an empty line last; it is modified in
 * place (lines cut). NULL when it is a 101 with `Upgrade: websocket`, `Connection:
 * Upgrade`, the expected accept, no extension, and no subprotocol or one of offered
 * ("a, b"; "" = none offered), which goes to protocol (""); otherwise why, as a static
 * string or in why (why_len bytes). */
const char *ws_handshake_check(char *head, const char *accept, const char *offered, char *protocol,
                               size_t protocol_len, char *why, size_t why_len);

#endif
