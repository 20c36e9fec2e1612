/* websocket_client.h — the runtime side of the websocket group: client WebSockets on the
 * runtime's libuv loop (uv_tcp; names looked up by resolver.h), TLS by OpenSSL through memory BIOs, the
 * HTTP/1.1 Upgrade handshake, and frames by wslay in client mode; checked against the
 * context's egress policy (util/egress_policy.h) on the URL and on every address it
 * connects to, bounded by its egress limits. A socket belongs to its context, not to the
 * call that opened it: it closes when its JS closes it, the server does, or the context
 * dies or its VM is recycled. Runtime thread only. */
#ifndef JSP_RUNTIME_WEBSOCKET_CLIENT_H
#define JSP_RUNTIME_WEBSOCKET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine_websocket.h"

struct runtime;
struct jsp_context;
struct job;

/* The engine host's ws_* operations (engine_host.h has the contracts). */
int ws_client_open(struct jsp_context *ctx, const engine_ws_request *req, uint64_t *id, char *error,
                   size_t error_len);
int ws_client_send(struct jsp_context *ctx, uint64_t id, const void *data, size_t len, bool is_binary, char *error,
                   size_t error_len);
void ws_client_close(struct jsp_context *ctx, uint64_t id, int code, const char *reason, size_t reason_len);
uint64_t ws_client_buffered(struct jsp_context *ctx, uint64_t id);

/* Writes what the context's JS sent in its last turn (runtime_context_left calls it when
 * ctx->ws_dirty). */
void ws_client_flush_context(struct jsp_context *ctx);
/* Runs a JOB_WS_EVENT: the socket's queued events, in order, to its JS. */
void ws_client_run_job(struct runtime *rt, struct job *j);
/* Closes every socket of a context that dies or whose VM is recycled, with no events (its
 * JS is gone); the sockets' memory goes once libuv has closed their handles. */
void ws_client_drop_context(struct jsp_context *ctx);

#endif
