/* runtime_jobs.c — what each job does on the runtime thread, how a call's completion is
 * delivered (now, or when its Promise settles), and how a context dies. Scheduling is
 * in runtime.c. */
#include "runtime/fetch.h"
#include "runtime/websocket_client.h"
#include "runtime/messaging.h"
#include "runtime/runtime.h"
#include "runtime/store_calls.h"
#include "util/list.h"
#include "util/result.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void runtime_clear_context_timers(runtime *rt, struct jsp_context *ctx);
void runtime_drop_context_jobs(runtime *rt, struct jsp_context *ctx, int code);
void runtime_context_created(runtime *rt, struct jsp_context *ctx);

static bool is_call(const job *j)
{
    return j->kind == JOB_EVAL || j->kind == JOB_CALL || j->kind == JOB_LOAD_MODULE;
}

/* The per-call scope closes: host state the call created and left behind (pending
 * host.call()s, open console.time spans) is cleared, logged once and counted. */
static void close_call_scope(struct jsp_context *ctx, uint64_t call_id)
{
    if (ctx->is_dead || !call_id || services_of(ctx)->config->debug_disable_call_scopes)
        return;
    size_t host_calls = host_calls_clear_for_call(ctx, call_id);
    size_t spans = engine_clear_call_spans(ctx->ec, call_id);
    size_t fetches = fetch_cancel_for_call(ctx, call_id);
    if (fetches) {
        char line[160];
        snprintf(line, sizeof(line), "call %llu left %zu fetch(es) in flight; cancelled",
                 (unsigned long long)call_id, fetches);
        runtime_log(ctx, JSP_LOG_WARN, line);
    }
    if (host_calls + spans == 0)
        return;
    runtime_metrics *m = &ctx->rt->metrics;
    atomic_fetch_add_explicit(&m->leaked_host_calls, host_calls, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->leaked_spans, spans, memory_order_relaxed);
    char line[200];
    snprintf(line, sizeof(line),
             "call %llu left %zu pending host call(s) and %zu open console.time span(s); cleared",
             (unsigned long long)call_id, host_calls, spans);
    runtime_log(ctx, JSP_LOG_WARN, line);
}

void runtime_complete(job *j, jsp_result *result)
{
    if (j->deadline)
        runtime_disarm_call_deadline(j->ctx->rt, j);
    if (is_call(j))
        close_call_scope(j->ctx, j->call_id);
    if (j->ctx && store_calls_finish(j, result))
        return; /* delivered once its transaction is durable */
    runtime_deliver(j, result);
}

void runtime_deliver(job *j, jsp_result *result)
{
    if (is_call(j)) {
        uint64_t duration = j->start_ns ? monotonic_ns() - j->start_ns : 0;
        metrics_record_call(&j->ctx->rt->metrics, result->code, duration);
    }
    if (j->done)
        j->done(result, j->user);
    else
        jsp_result_free(result);
    job_free(j);
}

void runtime_fail(job *j, int code)
{
    if (j->kind == JOB_HOST_REPLY || j->kind == JOB_LOCK_EVENT || j->kind == JOB_FETCH_EVENT ||
        j->kind == JOB_WS_EVENT || j->kind == JOB_MESSAGE_TASKS) { /* nobody waits */
        job_free(j);
        return;
    }
    runtime_complete(j, result_error(code, NULL, NULL));
}

/* Drops the context's remembered module (remember_module). */
static void forget_module(struct jsp_context *ctx)
{
    engine_text_release(ctx->module_text);
    free(ctx->module_copy);
    ctx->module_text = NULL;
    ctx->module_copy = NULL;
    ctx->module_source = NULL;
    ctx->module_source_len = 0;
    ctx->module_source_name = NULL;
}

/* The runtime's live contexts (rt->contexts), newest first. */
LIST_DLIST(context_list, struct jsp_context, prev, next)

static void create_context(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    if (ctx->memory_limit_bytes) {
        ctx->own_vm = engine_vm_new_isolated(&runtime_engine_host);
        if (ctx->own_vm)
            engine_vm_share_transforms(ctx->own_vm, services_of(ctx)->config->code_cache_bytes != 0);
    }
    if (!ctx->memory_limit_bytes) /* light: a spare global will do */
        ctx->ec = engine_ctx_new(rt->vm, context_host(ctx), ctx->apis_mask,
                                 runtime_takes_spare(rt, ctx->apis_mask, j->has_spare));
    else
        ctx->ec = ctx->own_vm ? engine_ctx_new(ctx->own_vm, context_host(ctx), ctx->apis_mask, false) : NULL;
    if (ctx->ec)
        engine_ctx_set_module_loader(ctx->ec, ctx->module_loader, ctx->module_loader_user);
    if (ctx->ec && ctx->own_vm) {
        ctx->held_bytes = engine_vm_held_bytes(ctx->own_vm); /* its context answers for it */
        messaging_tree_note_held(ctx); /* a worker: its tree counts it from now */
    }
    if (ctx->ec && ctx->own_vm && engine_ctx_guard_memory(ctx->ec, ctx->memory_limit_bytes) != 0) {
        engine_ctx_free(ctx->ec);
        ctx->ec = NULL;
    }
    jsp_result *store_error = NULL;
    if (!ctx->ec || (ctx->store_path && store_calls_open(rt, ctx, &store_error) != 0)) {
        engine_ctx_free(ctx->ec);
        ctx->ec = NULL;
        engine_vm_free(ctx->own_vm);
        ctx->own_vm = NULL;
        ctx->is_dead = true;
        atomic_fetch_sub(&rt->live_contexts, 1);
        if (!j->done) /* a creator that took a spare did not wait: say it here */
            runtime_log(ctx, JSP_LOG_ERROR, "context could not be built (out of memory): its calls fail with JSP_EDESTROYED");
        if (store_error) { /* jsp_context_new only returns the code: say why, naming the file */
            runtime_log(ctx, JSP_LOG_ERROR, store_error->error_message);
            runtime_complete(j, store_error);
        }
        else
            runtime_fail(j, JSP_ENOMEM);
        return;
    }
    context_retain(ctx); /* the runtime's reference, dropped when the context dies */
    runtime_context_created(rt, ctx);
    if (ctx->parent_id)
        services_of(ctx)->list_worker(ctx);
    context_list_push_front(&rt->contexts, NULL, ctx);
    runtime_complete(j, result_ok_copy("null", 4));
}

void runtime_kill_context(runtime *rt, struct jsp_context *ctx, int code)
{
    assert(runtime_is_thread_of(rt) && ctx->rt == rt);
    if (ctx->is_dead)
        return;
    ctx->is_dead = true;
    atomic_store(&ctx->state, CONTEXT_DESTROYED);
    if (ctx->parent_id)
        services_of(ctx)->unlist_worker(ctx);
    messaging_context_dying(ctx);
    lock_requests_drop_context(ctx); /* so other contexts are not left waiting */
    ws_client_drop_context(ctx); /* first: its sockets count in fetches_active too */
    fetch_drop_context(ctx);
    /* Everything that holds JS values goes before the global context is released. */
    runtime_clear_context_timers(rt, ctx);
    while (ctx->host_calls)
        host_call_cancel(ctx->host_calls);
    for (size_t i = 0; i < ctx->pending_calls.capacity; i++) {
        u64_map_slot *slot = &ctx->pending_calls.slots[i];
        if (slot->key != 0 && slot->key != UINT64_MAX)
            runtime_fail(slot->value, code);
    }
    u64_map_free(&ctx->pending_calls);
    runtime_drop_context_jobs(rt, ctx, code);
    store_calls_close(rt, ctx); /* results of its committed calls go out first */
    engine_ctx_free(ctx->ec);
    ctx->ec = NULL;
    engine_vm_free(ctx->own_vm);
    ctx->own_vm = NULL;
    forget_module(ctx);
    assert(context_list_is_linked(rt->contexts, ctx) && !ctx->is_in_round);
    context_list_remove(&rt->contexts, NULL, ctx);
    atomic_fetch_sub(&rt->live_contexts, 1);
    context_release(ctx);
}

/* A call is parked in pending_calls under its id *before* it runs: when its value is an
 * already-settled Promise, JSC drains microtasks as the engine call returns, so the
 * settle hook can fire before the engine call has even returned. */
static bool park(job *j)
{
    j->call_id = ++j->ctx->rt->next_call_id;
    if (u64_map_put(&j->ctx->pending_calls, j->call_id, j) == 0)
        return true;
    runtime_complete(j, result_out_of_memory());
    return false;
}

/* The engine returned: a result means the call is over; NULL means it waits for its
 * Promise (or has already been completed by the settle hook). */
static void finish_unless_pending(struct jsp_context *ctx, uint64_t call_id, jsp_result *result)
{
    if (!result)
        return;
    job *j = u64_map_remove(&ctx->pending_calls, call_id);
    if (j)
        runtime_complete(j, result);
    else /* settled already, and then its later JS hit a limit: the answer stands */
        jsp_result_free(result);
}

void runtime_call_settled(struct jsp_context *ctx, uint64_t call_id, jsp_result *result)
{
    /* A Promise rejected by the termination of a destroy (or pool close) that reached the
     * JS it awaited (a lock callback, a timer): the call ends as cancelled, not as a
     * js_error "JavaScript execution terminated" (seen once in threads_race under ASan). */
    if (result && result->code != 0 && atomic_load_explicit(&ctx->is_cancelled, memory_order_relaxed)) {
        jsp_result_free(result);
        result = result_error(atomic_load(&ctx->rt->queue.is_closing) ? JSP_ECLOSED : JSP_EDESTROYED, NULL, NULL);
    }
    job *j = u64_map_remove(&ctx->pending_calls, call_id);
    if (j)
        runtime_complete(j, result);
    else /* settled twice, or the call already failed: nobody waits */
        jsp_result_free(result);
}

/* A limit hit ends the call with the limit's error, whatever the engine made of the
 * termination (or of a Promise that will now never settle). */
static jsp_result *limit_result(jsp_result *engine_result, int tripped)
{
    if (engine_result)
        jsp_result_free(engine_result);
    if (tripped == JSP_EDESTROYED || tripped == JSP_ECLOSED) /* cancelled while running */
        return result_error(tripped, NULL, NULL);
    return result_error(tripped, "RangeError",
                        tripped == JSP_ECPU_LIMIT    ? "call exceeded its CPU time limit"
                        : tripped == JSP_EWALL_LIMIT ? "call exceeded its wall time limit"
                                                     : "call exceeded its memory limit");
}

/* Publishes the shared VM's code cache counters (after the loads that may change them).
 * A recycle starts a fresh cache: its counters restart with it. */
static void note_code_cache(runtime *rt)
{
    engine_code_cache_stats st;
    engine_vm_code_cache_stats(rt->vm, &st);
    runtime_metrics *m = &rt->metrics;
    atomic_store_explicit(&m->code_cache_entries, st.entries, memory_order_relaxed);
    atomic_store_explicit(&m->code_cache_bytes, st.bytes, memory_order_relaxed);
    atomic_store_explicit(&m->code_cache_hits, st.hits, memory_order_relaxed);
    atomic_store_explicit(&m->code_cache_misses, st.misses, memory_order_relaxed);
    atomic_store_explicit(&m->code_cache_evictions, st.evictions, memory_order_relaxed);
}

static void run_call(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    if (!park(j))
        return;
    uint64_t call_id = j->call_id; /* j may be completed and freed inside the engine */
    bool is_eval = j->kind == JOB_EVAL;
    j->start_ns = monotonic_ns();
    uint64_t outer_call = ctx->current_call_id;
    ctx->current_call_id = call_id;
    engine_set_current_call(ctx->ec, call_id);
    js_run run;
    jsp_result *r = NULL;
    if (runtime_enter_js(rt, ctx, &run)) {
        r = is_eval ? engine_eval(ctx->ec, j->text, j->text_len, j->name, call_id)
                    : engine_call(ctx->ec, j->name, j->text, j->text_len, call_id);
        runtime_leave_js(rt, &run);
        if (is_eval && !ctx->own_vm)
            note_code_cache(rt);
    }
    ctx->current_call_id = outer_call;
    engine_set_current_call(ctx->ec, outer_call);
    uint64_t cpu_us = engine_budget_cpu_used_ns(&run.budget) / 1000;
    if (run.budget.tripped) {
        r = limit_result(r, run.budget.tripped);
    } else if (!r) {
        /* Awaiting a Promise: the wall limit keeps running on the timer heap. */
        job *parked = u64_map_get(&ctx->pending_calls, call_id);
        if (parked && run.budget.wall_deadline_ns)
            runtime_arm_call_deadline(rt, parked, run.budget.wall_deadline_ns);
        return;
    }
    if (r != result_out_of_memory())
        r->cpu_time_us = cpu_us;
    finish_unless_pending(ctx, call_id, r);
}

/* The context's definition: what a VM recycle rebuilds it from. The code cache's shared
 * text when it holds the module (100 contexts of one library: one copy), else a copy of
 * our own with the source name (NULL: none) after the source. */
static void remember_module(struct jsp_context *ctx, const char *source, size_t len,
                            const char *source_name)
{
    engine_text *text = engine_module_text(ctx->ec, source, len, source_name);
    if (text) {
        forget_module(ctx);
        ctx->module_text = text;
        ctx->module_source = engine_text_source(text, &ctx->module_source_len);
        ctx->module_source_name = engine_text_name(text);
        return;
    }
    size_t name_size = source_name ? strlen(source_name) + 1 : 0;
    char *copy = malloc(len + 1 + name_size);
    if (!copy)
        return; /* the module then does not survive a recycle; logged there */
    memcpy(copy, source, len + 1);
    if (source_name)
        memcpy(copy + len + 1, source_name, name_size);
    forget_module(ctx);
    ctx->module_copy = copy;
    ctx->module_source = copy;
    ctx->module_source_len = len;
    ctx->module_source_name = source_name ? copy + len + 1 : NULL;
}

_Static_assert((int)JOB_DOM_FIND == (int)ENGINE_DOM_FIND && (int)JOB_DOM_FIND_ALL == (int)ENGINE_DOM_FIND_ALL &&
                   (int)JOB_DOM_TEXT == (int)ENGINE_DOM_TEXT && (int)JOB_DOM_HTML == (int)ENGINE_DOM_HTML &&
                   (int)JSP_DOM_FIND == (int)JOB_DOM_FIND && (int)JSP_DOM_FIND_ALL == (int)JOB_DOM_FIND_ALL &&
                   (int)JSP_DOM_TEXT == (int)JOB_DOM_TEXT && (int)JSP_DOM_HTML == (int)JOB_DOM_HTML,
               "job.h's DOM query modes are engine.h's");

/* Jobs that run guest code but cannot be left pending (getters, module bodies). */
static jsp_result *run_bounded(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    engine_ctx *ec = ctx->ec;
    js_run run;
    jsp_result *r = NULL;
    /* The globals jobs still run over a memory limit (under the CPU and wall budgets):
     * resetting globals is how a context that is over its limit gets back under it. */
    bool is_globals_job = j->kind >= JOB_GLOBAL_GET && j->kind <= JOB_GLOBALS_RESET;
    if (!runtime_enter_js(rt, ctx, &run)) {
        if (!is_globals_job)
            return j->kind == JOB_SEND ? NULL : limit_result(NULL, run.budget.tripped);
        runtime_enter_js_unmetered(rt, ctx, &run);
    }
    switch (j->kind) {
    case JOB_LOAD_MODULE:
        j->start_ns = monotonic_ns();
        r = engine_load_module(ec, j->text, j->text_len, j->name);
        if (r->code == 0)
            remember_module(ctx, j->text, j->text_len, j->name);
        if (!ctx->own_vm)
            note_code_cache(rt);
        break;
    case JOB_SEND: {
        /* host.send from the handler (and the microtasks drained in its turn) is tagged
         * with the sender's tag, so an embedder can answer the sender only */
        runtime_set_message_tag(j->message_tag);
        engine_deliver_message(ec, j->text, j->text_len);
        runtime_set_message_tag(0);
        break;
    }
    case JOB_GLOBAL_GET:
        r = engine_global_get(ec, j->name);
        break;
    case JOB_GLOBALS_LIST:
        r = engine_globals_list(ec);
        break;
    case JOB_GLOBALS_SNAPSHOT:
        r = engine_globals_snapshot(ec);
        break;
    case JOB_GLOBALS_RESET:
        r = engine_globals_reset(ec);
        break;
    case JOB_DOM_QUERY:
        r = engine_dom_query(ec, j->text, j->query_mode, j->read_limit);
        break;
    default:
        abort(); /* the caller dispatches only the kinds above */
    }
    runtime_leave_js(rt, &run);
    bool is_cancelled = run.budget.tripped == JSP_EDESTROYED || run.budget.tripped == JSP_ECLOSED;
    if (j->kind == JOB_SEND) {
        if (run.budget.tripped && !is_cancelled)
            runtime_log(ctx, JSP_LOG_ERROR, "onmessage stopped: time limit");
    } else if (run.budget.tripped) {
        r = limit_result(r, run.budget.tripped);
    }
    return r;
}

void runtime_run_job(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    assert(runtime_is_thread_of(rt) && (!ctx || ctx->rt == rt));
    if (j->kind == JOB_HOST_REPLY) {
        host_call_apply_reply(j);
        return;
    }
    if (j->kind == JOB_LOCK_EVENT) { /* not counted in queued_jobs: never refused */
        lock_requests_run_job(rt, j);
        return;
    }
    if (j->kind == JOB_FETCH_EVENT) { /* likewise */
        fetch_run_job(rt, j);
        return;
    }
    if (j->kind == JOB_WS_EVENT) { /* likewise */
        ws_client_run_job(rt, j);
        return;
    }
    if (j->kind == JOB_MESSAGE_TASKS) { /* likewise */
        messaging_run_tasks(rt, j);
        return;
    }
    atomic_fetch_sub(&ctx->queued_jobs, 1);
    if (j->kind == JOB_CREATE) {
        if (rt->is_stopping)
            runtime_fail(j, JSP_ECLOSED);
        else
            create_context(rt, j);
        return;
    }
    /* Destroyed (or being destroyed: its jobs still queued fail at once, not one by one
     * at a watchdog tick each). */
    if (ctx->is_dead || (j->kind != JOB_DESTROY && atomic_load_explicit(&ctx->is_cancelled, memory_order_relaxed))) {
        runtime_fail(j, rt->is_stopping ? JSP_ECLOSED : JSP_EDESTROYED);
        return;
    }
    if (ctx->store && (is_call(j) || j->kind == JOB_STORE_READ) && !store_calls_begin(rt, j))
        return; /* failed with the store's error */
    switch (j->kind) {
    case JOB_DESTROY:
        runtime_kill_context(rt, ctx, JSP_EDESTROYED);
        job_free(j);
        return;
    case JOB_STORE_READ:
        runtime_complete(j, store_calls_read(ctx, j));
        return;
    case JOB_EVAL:
    case JOB_CALL:
        rt->calls_since_heap_check++;
        run_call(rt, j);
        return;
    case JOB_SEND:
        run_bounded(rt, j);
        job_free(j);
        return;
    case JOB_CHANNEL_MESSAGE:
    case JOB_WORKER_START:
        messaging_run_job(rt, j);
        return;
    default:
        runtime_complete(j, run_bounded(rt, j));
        return;
    }
}
