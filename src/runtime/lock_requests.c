/* lock_requests.c — the runtime side of navigator.locks: the hooks the locks group's
 * natives call (forwarded to the pool's lock manager), running a grant or steal job in
 * its context, and letting go of a context's locks when its JS can no longer do so.
 * The queue rules are in pool/lock_manager.c; the JS side in apis/js/locks.js. */
#include "apis/api_groups.h"
#include "engine/engine_locks.h"
#include "pool/pool.h"
#include "runtime/runtime.h"

#include <stdio.h>

int runtime_hook_lock_request(void *owner, const uint16_t *name, size_t name_len, bool is_shared,
                              bool if_available, bool steal, uint64_t *request_id)
{
    struct jsp_context *ctx = owner;
    return lock_manager_request(&ctx->pool->locks, ctx, name, name_len, is_shared, if_available,
                                steal, request_id);
}

void runtime_hook_lock_release(void *owner, uint64_t request_id)
{
    struct jsp_context *ctx = owner;
    lock_manager_release(&ctx->pool->locks, ctx->id, request_id);
}

bool runtime_hook_lock_abort(void *owner, uint64_t request_id)
{
    struct jsp_context *ctx = owner;
    return lock_manager_abort(&ctx->pool->locks, ctx->id, request_id);
}

int runtime_hook_lock_query(void *owner, engine_lock_snapshot *out)
{
    struct jsp_context *ctx = owner;
    return lock_manager_query(&ctx->pool->locks, out);
}

void lock_requests_drop_context(struct jsp_context *ctx)
{
    /* Contexts without the group never made a request: skip the pool-wide mutex. */
    if (ctx->apis_mask & 1u << API_LOCKS)
        lock_manager_drop_context(&ctx->pool->locks, ctx->id);
}

static const char *limit_name(int tripped)
{
    return tripped == JSP_ECPU_LIMIT ? "CPU" : tripped == JSP_EWALL_LIMIT ? "wall" : "memory";
}

/* Runs like a timer callback: outside any call, under the context's per-run budget. A
 * grant whose callback cannot run, or is stopped by a limit before it could return its
 * Promise, would hold the lock forever: the lock is released here instead, and the
 * request's Promise is rejected when the context can still run JS. */
static void deliver(runtime *rt, struct jsp_context *ctx, uint64_t request_id, int event)
{
    js_run run;
    bool is_known = false;
    if (runtime_enter_js(rt, ctx, &run)) {
        is_known = engine_locks_deliver(ctx->ec, request_id, event);
        runtime_leave_js(rt, &run);
    }
    if (event != ENGINE_LOCK_GRANTED || ctx->is_dead || (is_known && !run.budget.tripped))
        return;
    lock_manager_release(&ctx->pool->locks, ctx->id, request_id);
    if (!run.budget.tripped || run.budget.tripped == JSP_EDESTROYED || run.budget.tripped == JSP_ECLOSED)
        return; /* unknown to this JS (made before a VM recycle), or the context is going */
    char line[160];
    snprintf(line, sizeof(line), "lock callback stopped: %s limit; its lock was released",
             limit_name(run.budget.tripped));
    runtime_hook_log(ctx, JSP_LOG_ERROR, line);
    if (runtime_enter_js(rt, ctx, &run)) {
        engine_locks_deliver(ctx->ec, request_id, ENGINE_LOCK_ABANDONED);
        runtime_leave_js(rt, &run);
    }
}

void lock_requests_run_job(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx; /* the job's reference keeps it until the end */
    if (!ctx->is_dead) /* a dead context's requests were dropped when it died */
        deliver(rt, ctx, j->lock_request_id, j->lock_event);
    job_free(j);
}
