/* fetch.h — the runtime side of the fetch group: transfers on libcurl's multi interface,
 * driven by the runtime's libuv loop (curl_multi_socket_action from a uv_poll per socket
 * and one uv_timer; no thread per request), checked against the context's egress policy
 * (util/egress_policy.h) at every step, bounded by its egress limits, and cancelled with
 * the call that started them (unless context-owned: EventSource's), the context, or its
 * VM. Runtime thread only. */
#ifndef JSP_RUNTIME_FETCH_H
#define JSP_RUNTIME_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine_fetch.h"

struct runtime;
struct jsp_context;
struct job;

/* The engine host's fetch operations (engine_host.h has the contracts). */
int fetch_start(struct jsp_context *ctx, const engine_fetch_request *req, uint64_t *id, char *error,
                size_t error_len);
int fetch_read(struct jsp_context *ctx, uint64_t id, char **data, size_t *len, char *error, size_t error_len);
void fetch_abort(struct jsp_context *ctx, uint64_t id);

/* A guest connection's request slot (a fetch in flight, an open WebSocket or event stream),
 * after the caller checked the context's own egress_max_requests: takes one of the pool's
 * max_egress_connections (every socket is a process file descriptor) and counts it in
 * ctx->fetches_active. False, with why set naming the cap, when the pool has none left.
 * Every slot taken is given back exactly once. */
bool fetch_slot_take(struct jsp_context *ctx, char *why, size_t why_len);
void fetch_slot_give(struct jsp_context *ctx);

/* Bytes a context's guest connections may hold for it in host memory, responses and
 * messages it has not read (fetch bodies and heads, WebSocket messages being received):
 * its egress_max_response_bytes, and no more than an isolated context's memory limit. */
uint64_t fetch_hold_budget(const struct jsp_context *ctx);

/* Runs a JOB_FETCH_EVENT: tells the context's JS what its transfer has now. */
void fetch_run_job(struct runtime *rt, struct job *j);
/* Fails the transfers the call started ("the call that started it ended"); 0 = none.
 * Returns how many were still running. */
size_t fetch_cancel_for_call(struct jsp_context *ctx, uint64_t call_id);
/* Drops every transfer of a context that dies or whose VM is recycled (its JS is gone). */
void fetch_drop_context(struct jsp_context *ctx);
/* Closes the runtime's multi handle and its loop handles (the loop then ends). */
void fetch_runtime_close(struct runtime *rt);

#endif
