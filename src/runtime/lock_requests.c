/* lock_requests.c — the runtime side of navigator.locks: the hooks the locks group's
 * natives call (forwarded to the pool's lock manager, in the context's namespace), running
 * a grant or steal job in its context, bounding how long a granted lock is held by its
 * context's wall limit, and letting go of a context's locks when its JS can no longer do
 * so. The queue rules are in pool/lock_manager.c; the JS side in apis/js/locks.js. */
#include "apis/api_groups.h"
#include "engine/engine_locks.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- a held lock's deadline ----
 * A lock's callback returns a Promise, and the lock is held until it settles: a Promise
 * that never settles would hold it forever, past every limit of its context (each run of
 * its JS is bounded, the waiting between runs is not). So each grant arms an entry in
 * the runtime's timer heap, due wall_limit_ms after the grant (none when the context has
 * no wall limit); when it comes due with the lock still held, the lock is released, the
 * next request is granted, and the holder's request() Promise is rejected (RangeError).
 * The entries live in ctx->lock_deadlines, not ctx->timers: clearTimeout cannot reach
 * them and they do not count against max_timers_per_context. */

static void arm_deadline(runtime *rt, struct jsp_context *ctx, uint64_t request_id)
{
    if (!ctx->wall_limit_ms)
        return;
    timer_entry *t = calloc(1, sizeof(*t));
    if (!t)
        return; /* out of memory: this lock is then bounded by its callback only */
    t->due_ns = monotonic_ns() + ctx->wall_limit_ms * 1000000u;
    t->seq = rt->next_timer_seq++;
    t->id = request_id;
    t->ctx = ctx; /* callback and call NULL: fire_due_timers hands it to lock_requests_expire */
    if (u64_map_put(&ctx->lock_deadlines, request_id, t) != 0) {
        free(t);
        return;
    }
    if (timer_heap_push(&rt->timers, t) != 0) {
        u64_map_remove(&ctx->lock_deadlines, request_id);
        free(t);
    }
}

static void disarm_deadline(struct jsp_context *ctx, uint64_t request_id)
{
    timer_entry *t = u64_map_remove(&ctx->lock_deadlines, request_id);
    if (!t)
        return;
    if (t->heap_index != SIZE_MAX)
        timer_heap_remove(&ctx->rt->timers, t);
    free(t);
}

void lock_requests_expire(runtime *rt, timer_entry *t)
{
    struct jsp_context *ctx = t->ctx;
    uint64_t request_id = t->id;
    u64_map_remove(&ctx->lock_deadlines, request_id);
    free(t);
    if (!services_of(ctx)->lock_release(services_of(ctx)->locks, ctx->id, request_id))
        return; /* released meanwhile */
    char line[160];
    snprintf(line, sizeof(line), "lock held past the context's wall limit (%llu ms): released",
             (unsigned long long)ctx->wall_limit_ms);
    runtime_log(ctx, JSP_LOG_ERROR, line);
    /* Its JS hears it as a job: this context may be blocked (host.callSync) right now. */
    job *j = job_new(JOB_LOCK_EVENT, ctx, NULL, 0, NULL);
    if (!j)
        return; /* its request() Promise then settles with the callback, if ever */
    j->lock_request_id = request_id;
    j->lock_event = ENGINE_LOCK_ABANDONED;
    if (job_queue_push(&rt->queue, j) != 0)
        job_free(j);
}

int lock_requests_request(struct jsp_context *ctx, const uint16_t *name, size_t name_len,
                          bool is_shared, bool if_available, bool steal, uint64_t *request_id)
{
    const runtime_services *s = services_of(ctx);
    return s->lock_request(s->locks, ctx, name, name_len, is_shared, if_available, steal, request_id);
}

void lock_requests_release(struct jsp_context *ctx, uint64_t request_id)
{
    services_of(ctx)->lock_release(services_of(ctx)->locks, ctx->id, request_id);
    disarm_deadline(ctx, request_id);
}

bool lock_requests_abort(struct jsp_context *ctx, uint64_t request_id)
{
    return services_of(ctx)->lock_abort(services_of(ctx)->locks, ctx->id, request_id);
}

int lock_requests_query(struct jsp_context *ctx, engine_lock_snapshot *out)
{
    return services_of(ctx)->lock_query(services_of(ctx)->locks, ctx->namespace_key, out);
}

void lock_requests_drop_context(struct jsp_context *ctx)
{
    /* Contexts without the group never made a request: skip the pool-wide mutex. */
    if (!(ctx->apis_mask & 1u << API_LOCKS))
        return;
    services_of(ctx)->lock_drop_context(services_of(ctx)->locks, ctx->id);
    for (size_t i = 0; i < ctx->lock_deadlines.capacity; i++) {
        u64_map_slot *slot = &ctx->lock_deadlines.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        timer_entry *t = slot->value;
        if (t->heap_index != SIZE_MAX)
            timer_heap_remove(&ctx->rt->timers, t);
        free(t);
    }
    u64_map_free(&ctx->lock_deadlines);
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
    if (event == ENGINE_LOCK_GRANTED)
        arm_deadline(rt, ctx, request_id); /* before the callback: it may release at once */
    else
        disarm_deadline(ctx, request_id); /* stolen, or expired already */
    if (runtime_enter_js(rt, ctx, &run)) {
        is_known = engine_locks_deliver(ctx->ec, request_id, event);
        runtime_leave_js(rt, &run);
    }
    if (event != ENGINE_LOCK_GRANTED || ctx->is_dead || (is_known && !run.budget.tripped))
        return;
    services_of(ctx)->lock_release(services_of(ctx)->locks, ctx->id, request_id);
    disarm_deadline(ctx, request_id);
    if (!run.budget.tripped || run.budget.tripped == JSP_EDESTROYED || run.budget.tripped == JSP_ECLOSED)
        return; /* unknown to this JS (made before a VM recycle), or the context is going */
    char line[160];
    snprintf(line, sizeof(line), "lock callback stopped: %s limit; its lock was released",
             limit_name(run.budget.tripped));
    runtime_log(ctx, JSP_LOG_ERROR, line);
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
