/* runtime.c — the runtime thread: its libuv loop, the order in which queued jobs and due
 * timers run (including inside host.callSync), and orderly stop. What each job does is
 * in runtime_jobs.c; host calls in host_calls.c. */
#include "runtime/runtime.h"
#include "pool/pool.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local runtime *current_runtime;

bool runtime_is_current_thread(void)
{
    return current_runtime != NULL;
}

/* ---- the ready list: jobs taken from the shared queue, in arrival order ---- */

static void ready_append_list(runtime *rt, job *list)
{
    if (!list)
        return;
    job *tail = list;
    while (tail->next)
        tail = tail->next;
    if (rt->ready_tail)
        rt->ready_tail->next = list;
    else
        rt->ready_head = list;
    rt->ready_tail = tail;
}

static job *ready_pop(runtime *rt)
{
    job *j = rt->ready_head;
    if (j) {
        rt->ready_head = j->next;
        if (!rt->ready_head)
            rt->ready_tail = NULL;
        j->next = NULL;
    }
    return j;
}

/* A context blocked in host.callSync must not be re-entered: its jobs wait, in order,
 * except the reply it is waiting for. */
static bool must_defer(const job *j)
{
    if (!j->ctx || j->ctx->blocked_depth == 0)
        return false;
    return !(j->kind == JOB_HOST_REPLY && j->host_call->is_sync);
}

static void defer_job(struct jsp_context *ctx, job *j)
{
    j->next = NULL;
    if (ctx->deferred_tail)
        ctx->deferred_tail->next = j;
    else
        ctx->deferred_head = j;
    ctx->deferred_tail = j;
}

/* Deferred jobs are older than anything still queued for the context, so they go to
 * the front of the ready list. */
static void release_deferred(runtime *rt, struct jsp_context *ctx)
{
    if (!ctx->deferred_head)
        return;
    ctx->deferred_tail->next = rt->ready_head;
    if (!rt->ready_head)
        rt->ready_tail = ctx->deferred_tail;
    rt->ready_head = ctx->deferred_head;
    ctx->deferred_head = ctx->deferred_tail = NULL;
}

static void run_ready_jobs(runtime *rt)
{
    job *j;
    while ((j = ready_pop(rt)) != NULL) {
        if (must_defer(j))
            defer_job(j->ctx, j);
        else
            runtime_run_job(rt, j);
    }
}

/* ---- timers ---- */

static void free_timer(struct jsp_context *ctx, timer_entry *t)
{
    u64_map_remove(&ctx->timers, t->id);
    engine_callback_free(t->callback);
    free(t);
}

/* A deadline entry came due: its call ran past wall_limit_ms while awaiting a Promise. */
static void expire_call(runtime *rt, timer_entry *t)
{
    job *j = t->call;
    free(t);
    j->deadline = NULL;
    if (u64_map_remove(&j->ctx->pending_calls, j->call_id) == j)
        runtime_fail(j, JSP_EWALL_LIMIT);
}

static void run_timer_callback(runtime *rt, timer_entry *t)
{
    struct jsp_context *ctx = t->ctx;
    js_run run;
    if (runtime_enter_js(rt, ctx, &run)) {
        engine_callback_invoke(ctx->ec, t->callback);
        runtime_leave_js(rt, &run);
    }
    if (run.budget.tripped)
        runtime_hook_log(ctx, JSP_LOG_ERROR,
                         run.budget.tripped == JSP_ECPU_LIMIT    ? "timer callback stopped: CPU limit"
                         : run.budget.tripped == JSP_EWALL_LIMIT ? "timer callback stopped: wall limit"
                                                                 : "timer callback stopped: memory limit");
}

/* Fires the timers due now that existed when this pass began (a setTimeout(f, 0) made by
 * a callback waits for the next pass, so a timer storm cannot starve the queue). Timers
 * of blocked contexts are kept for later. */
static void fire_due_timers(runtime *rt)
{
    uint64_t now = monotonic_ns();
    uint64_t seq_limit = rt->next_timer_seq;
    timer_entry *parked_list[64]; /* due timers of blocked contexts, pushed back after */
    size_t parked_count = 0;
    for (;;) {
        timer_entry *t = timer_heap_peek(&rt->timers);
        if (!t || t->due_ns > now || t->seq >= seq_limit)
            break;
        timer_heap_pop(&rt->timers);
        struct jsp_context *ctx = t->ctx;
        if (!t->callback) {
            expire_call(rt, t);
            continue;
        }
        if (ctx->blocked_depth > 0) {
            if (parked_count < sizeof(parked_list) / sizeof(parked_list[0])) {
                parked_list[parked_count++] = t;
                continue;
            }
            timer_heap_push(&rt->timers, t); /* full: try again next pass */
            break;
        }
        run_timer_callback(rt, t);
        if (ctx->is_dead) /* the callback's context was destroyed meanwhile */
            continue;
        if (t->is_cancelled || t->interval_ns == 0) {
            free_timer(ctx, t);
        } else {
            t->due_ns = monotonic_ns() + t->interval_ns;
            t->seq = rt->next_timer_seq++;
            if (timer_heap_push(&rt->timers, t) != 0)
                free_timer(ctx, t);
        }
    }
    for (size_t i = 0; i < parked_count; i++)
        if (timer_heap_push(&rt->timers, parked_list[i]) != 0)
            free_timer(parked_list[i]->ctx, parked_list[i]);
}

void runtime_arm_call_deadline(runtime *rt, job *j, uint64_t due_ns)
{
    timer_entry *t = calloc(1, sizeof(*t));
    if (!t)
        return; /* out of memory: the call is then bounded by its CPU budget only */
    t->due_ns = due_ns;
    t->seq = rt->next_timer_seq++;
    t->ctx = j->ctx;
    t->call = j;
    if (timer_heap_push(&rt->timers, t) != 0) {
        free(t);
        return;
    }
    j->deadline = t;
}

void runtime_disarm_call_deadline(runtime *rt, job *j)
{
    timer_entry *t = j->deadline;
    if (!t)
        return;
    j->deadline = NULL;
    if (t->heap_index != SIZE_MAX)
        timer_heap_remove(&rt->timers, t);
    free(t);
}

engine_vm *context_vm(struct jsp_context *ctx)
{
    return ctx->own_vm ? ctx->own_vm : ctx->rt->vm;
}

/* Every so many runs an isolated context's heap is measured even if nothing moved, so
 * slow growth across many short calls (shorter than a tick) is caught too. */
enum { MEASURE_EVERY_RUNS = 64 };

static void measure_isolated(struct jsp_context *ctx, bool is_collecting)
{
    if (is_collecting)
        engine_vm_collect_now(ctx->own_vm);
    ctx->held_bytes = engine_vm_held_bytes(ctx->own_vm);
    ctx->runs_since_measure = 0;
}

bool runtime_enter_js(runtime *rt, struct jsp_context *ctx, js_run *run)
{
    run->ctx = ctx;
    run->vm = context_vm(ctx);
    run->is_unmetered = false;
    engine_budget_start(&run->budget, ctx->cpu_limit_ms, ctx->wall_limit_ms, 0);
    if (ctx->memory_limit_bytes) {
        if (ctx->held_bytes > ctx->memory_limit_bytes) {
            measure_isolated(ctx, true);
            if (ctx->held_bytes > ctx->memory_limit_bytes) {
                run->budget.tripped = JSP_EOOM;
                run->outer = NULL;
                return false;
            }
        }
        engine_budget_limit_memory(&run->budget, ctx->memory_limit_bytes, ctx->held_bytes);
    }
    run->outer = engine_vm_set_budget(run->vm, &run->budget);
    return true;
}

void runtime_enter_js_unmetered(runtime *rt, struct jsp_context *ctx, js_run *run)
{
    (void)rt;
    run->ctx = ctx;
    run->vm = context_vm(ctx);
    run->is_unmetered = true;
    engine_budget_start(&run->budget, ctx->cpu_limit_ms, ctx->wall_limit_ms, 0);
    run->outer = engine_vm_set_budget(run->vm, &run->budget);
}

void runtime_leave_js(runtime *rt, js_run *run)
{
    engine_budget *outer = run->outer;
    /* Time spent here (inside another context's host.callSync) is not the outer call's
     * CPU: move its start forward by what this nested run used. */
    if (outer && outer->cpu_limit_ns) {
        uint64_t used = engine_budget_cpu_used_ns(&run->budget);
        engine_budget_cpu_start_ns(outer);
        outer->cpu_start_ns += used;
        outer->cpu_deadline_ns += used;
    }
    engine_vm_set_budget(run->vm, outer);
    struct jsp_context *ctx = run->ctx;
    if (!ctx->memory_limit_bytes || ctx->is_dead)
        return;
    if (run->is_unmetered) { /* a reset may have freed enough: collect and measure now */
        measure_isolated(ctx, true);
        return;
    }
    if (run->budget.tripped == JSP_EOOM) {
        measure_isolated(ctx, true);
    } else if (++ctx->runs_since_measure >= MEASURE_EVERY_RUNS || run->budget.cpu_start_ns) {
        /* (cpu_start_ns is set once a run reached a tick: a longer run, worth a look) */
        measure_isolated(ctx, false);
        if (ctx->held_bytes > ctx->memory_limit_bytes && !run->budget.tripped) {
            run->budget.tripped = JSP_EOOM;
            measure_isolated(ctx, true);
        }
    }
}

static void on_timer_wake(uv_timer_t *handle);

static void arm_timer_wake(runtime *rt)
{
    timer_entry *next = timer_heap_peek(&rt->timers);
    if (!next) {
        uv_timer_stop(&rt->timer_wake);
        return;
    }
    uint64_t now = monotonic_ns();
    uint64_t delay_ms = next->due_ns > now ? (next->due_ns - now + 999999) / 1000000 : 0;
    uv_timer_start(&rt->timer_wake, on_timer_wake, delay_ms, 0);
}

uint64_t runtime_hook_set_timer(void *owner, engine_callback *cb, double delay_ms,
                                bool is_repeating)
{
    struct jsp_context *ctx = owner;
    runtime *rt = ctx->rt;
    timer_entry *t = calloc(1, sizeof(*t));
    if (!t) {
        engine_callback_free(cb);
        return 0;
    }
    /* Cap at ~24.8 days like browsers (a 32-bit ms delay), so due times cannot wrap. */
    if (delay_ms > 2147483647.0)
        delay_ms = 2147483647.0;
    uint64_t delay_ns = (uint64_t)(delay_ms * 1e6);
    if (is_repeating && delay_ns < 1000000)
        delay_ns = 1000000; /* an interval of 0 would spin the loop */
    t->id = ++ctx->next_timer_id;
    t->due_ns = monotonic_ns() + delay_ns;
    t->seq = rt->next_timer_seq++;
    t->interval_ns = is_repeating ? delay_ns : 0;
    t->ctx = ctx;
    t->callback = cb;
    if (u64_map_put(&ctx->timers, t->id, t) != 0 || timer_heap_push(&rt->timers, t) != 0) {
        u64_map_remove(&ctx->timers, t->id);
        engine_callback_free(cb);
        free(t);
        return 0;
    }
    return t->id;
}

void runtime_hook_clear_timer(void *owner, uint64_t timer_id)
{
    struct jsp_context *ctx = owner;
    timer_entry *t = u64_map_get(&ctx->timers, timer_id);
    if (!t)
        return;
    if (t->heap_index == SIZE_MAX) { /* its own callback is running: free it afterwards */
        t->is_cancelled = true;
        return;
    }
    timer_heap_remove(&ctx->rt->timers, t);
    free_timer(ctx, t);
}

/* Drops every timer of a dying context. */
void runtime_clear_context_timers(runtime *rt, struct jsp_context *ctx)
{
    for (size_t i = 0; i < ctx->timers.capacity; i++) {
        u64_map_slot *slot = &ctx->timers.slots[i];
        if (slot->key == 0 || slot->key == UINT64_MAX)
            continue;
        timer_entry *t = slot->value;
        if (t->heap_index != SIZE_MAX)
            timer_heap_remove(&rt->timers, t);
        engine_callback_free(t->callback);
        free(t);
    }
    u64_map_free(&ctx->timers);
}

/* ---- the loop ---- */

static void stop_loop(runtime *rt)
{
    rt->is_stopping = true;
    struct jsp_context *ctx;
    while ((ctx = rt->contexts) != NULL)
        runtime_kill_context(rt, ctx, JSP_ECLOSED);
    uv_close((uv_handle_t *)&rt->wake, NULL);
    uv_close((uv_handle_t *)&rt->timer_wake, NULL);
}

static void run_pass(runtime *rt)
{
    bool is_closed;
    ready_append_list(rt, job_queue_take_all(&rt->queue, &is_closed));
    run_ready_jobs(rt);
    fire_due_timers(rt);
    if (!is_closed)
        heap_policy_check(rt, false);
    if (is_closed) {
        /* Jobs queued before the close have run; take any that raced with it. */
        ready_append_list(rt, job_queue_take_all(&rt->queue, &is_closed));
        run_ready_jobs(rt);
        stop_loop(rt);
        return;
    }
    arm_timer_wake(rt);
}

static void on_wake(uv_async_t *handle)
{
    run_pass(handle->data);
}

static void on_timer_wake(uv_timer_t *handle)
{
    run_pass(handle->data);
}

void runtime_hook_context_entered(void *owner)
{
    struct jsp_context *ctx = owner;
    if (ctx)
        ctx->blocked_depth++;
}

void runtime_hook_context_left(void *owner)
{
    struct jsp_context *ctx = owner;
    if (ctx && --ctx->blocked_depth == 0)
        release_deferred(ctx->rt, ctx);
}

void runtime_wait_nested(runtime *rt, struct jsp_context *ctx, const bool *is_done)
{
    ctx->blocked_depth++;
    while (!*is_done && !rt->is_stopping && !ctx->is_dead) {
        run_ready_jobs(rt);
        if (*is_done)
            break;
        fire_due_timers(rt);
        if (*is_done)
            break;
        timer_entry *next = timer_heap_peek(&rt->timers);
        bool is_closed;
        job *arrived = job_queue_wait_take_all(&rt->queue, next ? next->due_ns : 0, &is_closed);
        ready_append_list(rt, arrived);
        if (is_closed && !arrived)
            break; /* pool closing: the caller fails the sync call */
    }
    ctx->blocked_depth--;
    if (ctx->blocked_depth == 0)
        release_deferred(rt, ctx);
}

static void runtime_thread_main(void *arg)
{
    runtime *rt = arg;
    current_runtime = rt;
    int rc = uv_loop_init(&rt->loop);
    if (rc == 0) {
        uv_async_init(&rt->loop, &rt->wake, on_wake);
        uv_timer_init(&rt->loop, &rt->timer_wake);
        rt->wake.data = rt;
        rt->timer_wake.data = rt;
        rt->vm = engine_vm_new();
        if (rt->vm)
            heap_policy_start(rt);
    }
    if (rc != 0 || !rt->vm) {
        if (rc == 0) {
            uv_close((uv_handle_t *)&rt->wake, NULL);
            uv_close((uv_handle_t *)&rt->timer_wake, NULL);
            uv_run(&rt->loop, UV_RUN_DEFAULT);
            uv_loop_close(&rt->loop);
        }
        completion_signal(&rt->started, (void *)(intptr_t)(rc != 0 ? JSP_ESYSTEM : JSP_ENOMEM));
        return;
    }
    rt->last_heap_check_ns = monotonic_ns();
    completion_signal(&rt->started, (void *)(intptr_t)0);
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    timer_heap_free(&rt->timers);
    engine_vm_free(rt->vm);
    uv_loop_close(&rt->loop);
}

int runtime_start(runtime *rt, jsp_pool *pool, int index)
{
    rt->pool = pool;
    rt->index = index;
    atomic_init(&rt->live_contexts, 0);
    completion_init(&rt->started);
    if (job_queue_init(&rt->queue, &rt->wake) != 0)
        return JSP_ESYSTEM;
    /* JSC wants deep stacks for recursion; 8 MiB matches a main thread. */
    uv_thread_options_t options = {.flags = UV_THREAD_HAS_STACK_SIZE, .stack_size = 8u << 20};
    if (uv_thread_create_ex(&rt->thread, &options, runtime_thread_main, rt) != 0) {
        job_queue_destroy(&rt->queue);
        return JSP_ESYSTEM;
    }
    int rc = (int)(intptr_t)completion_wait(&rt->started);
    if (rc != 0) {
        uv_thread_join(&rt->thread);
        job_queue_destroy(&rt->queue);
    }
    return rc;
}

void runtime_stop(runtime *rt)
{
    job_queue_close(&rt->queue);
    uv_thread_join(&rt->thread);
}

/* ---- logging and messages from JS ---- */

void runtime_hook_log(void *owner, int level, const char *message)
{
    struct jsp_context *ctx = owner;
    if (ctx)
        pool_log(ctx->pool, level, ctx->id, message);
}

void runtime_hook_host_send(void *owner, const char *json, size_t len)
{
    struct jsp_context *ctx = owner;
    jsp_pool *pool = ctx->pool;
    if (pool->config.on_message)
        pool->config.on_message(pool, ctx->id, json, len, pool->config.message_user);
}
