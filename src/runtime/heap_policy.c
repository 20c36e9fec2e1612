/* heap_policy.c — the per-runtime heap check (every N calls or T ms) and the VM recycle it
 * may trigger: a fresh VM, every context rebuilt from its definition, transparently to
 * callers. Not for per-call limits (engine_budget.c) or metrics formatting. */
#include "runtime/fetch.h"
#include "runtime/websocket_client.h"
#include "runtime/messaging.h"
#include "runtime/runtime.h"

#include "util/process_memory.h"

#include <stdio.h>
#include <stdlib.h>

/* Reading JSC's heap statistics walks the heap (~1 ms for a small one, more for a large
 * one; 8% of a trivial-call benchmark when taken every 4096 calls). A check therefore
 * reads the process RSS first (~3 us) and the heap only when RSS moved by more than
 * RSS_MOVE_BYTES (or an eighth of the heap limit, if smaller) since the last read, or
 * at every READ_EVERY_CHECKS-th check. */
enum { RSS_MOVE_BYTES = 4 << 20, READ_EVERY_CHECKS = 16 };

void runtime_clear_context_timers(runtime *rt, struct jsp_context *ctx);

/* A recycle happens between calls: no context may be inside or awaiting one. */
static bool is_idle(runtime *rt)
{
    for (struct jsp_context *ctx = rt->contexts; ctx; ctx = ctx->next)
        if (ctx->pending_calls.count || ctx->host_calls || ctx->blocked_depth ||
            runtime_context_has_jobs(ctx))
            return false;
    return rt->ready_head == NULL;
}

static bool rebuild_context(runtime *rt, engine_vm *vm, struct jsp_context *ctx)
{
    engine_ctx *fresh = engine_ctx_new(vm, context_host(ctx), ctx->apis_mask, false);
    if (!fresh)
        return false;
    /* Imports are read again through the loader: the module map is rebuilt with it. */
    engine_ctx_set_module_loader(fresh, ctx->module_loader, ctx->module_loader_user);
    runtime_clear_context_timers(rt, ctx); /* they hold values of the old VM */
    lock_requests_drop_context(ctx);       /* their callbacks die with the old VM */
    ws_client_drop_context(ctx);           /* its WebSockets (no events: that JS is gone) */
    fetch_drop_context(ctx);               /* so do their Promises and streams */
    engine_ctx_free(ctx->ec);
    ctx->ec = fresh;
    ctx->next_timer_id = 0;
    atomic_fetch_add_explicit(&ctx->generation, 1, memory_order_relaxed);
    messaging_context_rebuilt(ctx);
    if (ctx->module_source) {
        js_run run;
        runtime_enter_js(rt, ctx, &run); /* light contexts only: always true */
        jsp_result *r = engine_load_module(fresh, ctx->module_source, ctx->module_source_len,
                                           ctx->module_source_name);
        runtime_leave_js(rt, &run);
        if (r->code != 0)
            runtime_log(ctx, JSP_LOG_ERROR, "module failed to load again after VM recycle");
        jsp_result_free(r);
    }
    return true;
}

static uint64_t held_bytes(const engine_heap_stats *stats);

static void recycle(runtime *rt, const engine_heap_stats *before)
{
    engine_vm *vm = engine_vm_new(&runtime_engine_host);
    if (!vm) {
        rt->services->log(rt->services->pool, JSP_LOG_ERROR, 0,
                          "heap policy: cannot create a new VM; recycle skipped");
        return;
    }
    engine_vm_set_code_cache(vm, rt->services->config->code_cache_bytes);
    engine_vm_share_transforms(vm, rt->services->config->code_cache_bytes != 0);
    engine_vm *old = rt->vm;
    rt->vm = vm;
    runtime_spares_dropped(rt); /* they go with the old VM */
    for (struct jsp_context *ctx = rt->contexts, *next; ctx; ctx = next) {
        next = ctx->next; /* a kill unlinks ctx */
        if (!ctx->own_vm && !rebuild_context(rt, vm, ctx)) /* isolated VMs are exact */
            runtime_kill_context(rt, ctx, JSP_ENOMEM); /* cannot happen short of OOM */
    }
    engine_vm_free(old);
    engine_heap_stats after;
    engine_vm_heap_stats(vm, &after);
    rt->heap_after_recycle_bytes = held_bytes(&after);
    atomic_fetch_add_explicit(&rt->metrics.recycles, 1, memory_order_relaxed);
    char line[200];
    snprintf(line, sizeof(line), "heap policy: runtime %d recycled its VM (heap %llu -> %llu bytes)",
             rt->index, (unsigned long long)held_bytes(before), (unsigned long long)held_bytes(&after));
    rt->services->log(rt->services->pool, JSP_LOG_INFO, 0, line);
}

/* The memory the VM holds: its block capacity (live + garbage not yet swept, what RSS
 * sees), which in JSC already includes the memory its objects own outside the heap
 * (extra_bytes). JSC's heapSize reads 0 until a collection has run, so it cannot drive
 * the policy. */
static uint64_t held_bytes(const engine_heap_stats *stats)
{
    return stats->capacity_bytes;
}

/* The growth rule measures against at least this baseline: a fresh VM holds ~0.5 MB, and
 * recycling a 6 MB heap for having grown 12x would throw away module state (a served
 * bank's accounts) to save nothing. */
static const double GROWTH_BASELINE_FLOOR_BYTES = 16.0 * 1024 * 1024;

/* bytes: what the VM holds, or after a full collection what is live. */
static bool is_past_policy(runtime *rt, uint64_t bytes)
{
    const jsp_pool_config *cfg = rt->services->config;
    if (bytes > cfg->heap_limit_bytes)
        return true;
    double baseline = (double)rt->heap_after_recycle_bytes;
    baseline = baseline > GROWTH_BASELINE_FLOOR_BYTES ? baseline : GROWTH_BASELINE_FLOOR_BYTES;
    return cfg->heap_growth_ratio >= 1 && bytes > cfg->heap_growth_ratio * baseline;
}

void heap_policy_start(runtime *rt)
{
    engine_heap_stats fresh;
    engine_vm_heap_stats(rt->vm, &fresh);
    rt->heap_after_recycle_bytes = held_bytes(&fresh);
}

static void publish(runtime_metrics *m, const engine_heap_stats *stats)
{
    atomic_store_explicit(&m->heap_size_bytes, stats->size_bytes, memory_order_relaxed);
    atomic_store_explicit(&m->heap_capacity_bytes, stats->capacity_bytes, memory_order_relaxed);
    atomic_store_explicit(&m->heap_extra_bytes, stats->extra_bytes, memory_order_relaxed);
    atomic_store_explicit(&m->heap_objects, stats->objects, memory_order_relaxed);
}

void heap_policy_check(runtime *rt, bool is_forced)
{
    const jsp_pool_config *cfg = rt->services->config;
    uint64_t now = monotonic_ns();
    bool is_due = rt->calls_since_heap_check >= cfg->heap_check_request_interval ||
                  now - rt->last_heap_check_ns >= (uint64_t)cfg->heap_check_time_interval_ms * 1000000u;
    if (!is_due && !is_forced)
        return;
    rt->calls_since_heap_check = 0;
    rt->last_heap_check_ns = now;
    runtime_metrics *m = &rt->metrics;
    atomic_fetch_add_explicit(&m->heap_checks, 1, memory_order_relaxed);
    uint64_t rss = process_rss_bytes();
    uint64_t moved = rss > rt->rss_at_heap_read ? rss - rt->rss_at_heap_read : rt->rss_at_heap_read - rss;
    uint64_t threshold = cfg->heap_limit_bytes / 8 < RSS_MOVE_BYTES ? cfg->heap_limit_bytes / 8 : RSS_MOVE_BYTES;
    if (!is_forced && rt->heap_after_recycle_bytes && moved < threshold &&
        ++rt->checks_since_heap_read < READ_EVERY_CHECKS)
        return;
    rt->checks_since_heap_read = 0;
    rt->rss_at_heap_read = rss;
    engine_heap_stats stats;
    engine_vm_heap_stats(rt->vm, &stats);
    atomic_fetch_add_explicit(&m->heap_reads, 1, memory_order_relaxed);
    publish(m, &stats);
    if (!is_past_policy(rt, held_bytes(&stats)) || rt->is_stopping || !is_idle(rt))
        return;
    /* Garbage is no reason to throw away every context's module state: a neighbour could
     * otherwise wipe it by allocating ~64 MB it drops at once. A full collection first
     * (milliseconds to a few hundred for a large heap, and only past the policy), then
     * the live heap — heapSize is exact right after a collection — decides. */
    engine_vm_collect_now(rt->vm);
    engine_vm_heap_stats(rt->vm, &stats);
    publish(m, &stats);
    if (is_past_policy(rt, stats.size_bytes))
        recycle(rt, &stats);
}
