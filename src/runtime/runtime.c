/* runtime.c — the runtime thread: its libuv loop, the order in which queued jobs and due
 * timers run (including inside host.callSync), and orderly stop. What each job does is
 * in runtime_jobs.c; host calls in host_calls.c. */
#include "runtime/fetch.h"
#include "runtime/messaging.h"
#include "runtime/runtime.h"
#include "runtime/store_calls.h"
#include "util/process_memory.h"
#include "util/list.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local runtime *current_runtime;

/* set only while engine_deliver_message runs a tagged message (runtime_jobs.c) */
static _Thread_local uint64_t current_message_tag;

uint64_t runtime_current_message_tag(void)
{
    return current_message_tag;
}

void runtime_set_message_tag(uint64_t tag)
{
    current_message_tag = tag;
}

bool runtime_is_current_thread(void)
{
    return current_runtime != NULL;
}

bool runtime_is_thread_of(const runtime *rt)
{
    return current_runtime == rt;
}

/* ---- fair turns ----
 * Jobs taken from the shared queue go to their context's own list, in arrival order.
 * Contexts whose jobs may run now take turns, one job each (round robin): a backlog of
 * 12,000 messages to one context delays a sibling's call by one of its jobs, not by all
 * of them (first come, first served: 14.9 s behind 12,000 messages of 1 ms, 2.4 ms now;
 * bench_fairness --only backlog). Host replies go to the runtime's list
 * and run first (a sync one unblocks a context). A context sits out while its JS is on
 * the stack (blocked: engine_entered work, host.callSync) or while it is over its CPU
 * share (throttled); its jobs wait in order and it rejoins the round when released. */

/* How long jobs may run before due timers get their turn (then jobs go on next pass). */
static const uint64_t JOBS_SLICE_NS = 10000000;

LIST_DLIST(round_list, struct jsp_context, rr_prev, rr_next)

static void round_push(runtime *rt, struct jsp_context *ctx)
{
    assert(ctx->rt == rt && runtime_is_thread_of(rt));
    assert(!ctx->is_in_round && !round_list_is_linked(rt->round_head, ctx));
    ctx->is_in_round = true;
    round_list_push_back(&rt->round_head, &rt->round_tail, ctx);
}

static void round_leave(runtime *rt, struct jsp_context *ctx)
{
    assert(ctx->is_in_round == round_list_is_linked(rt->round_head, ctx));
    if (!ctx->is_in_round)
        return;
    round_list_remove(&rt->round_head, &rt->round_tail, ctx);
    ctx->is_in_round = false;
}

/* ---- one context's JS per VM ----
 * JSC gives a VM one microtask queue for all its global objects (the C API's globals
 * queue into the VM's default queue; VM::drainMicrotasks runs it in FIFO order, whoever
 * queued what), and a termination that reaches a drain (a limit trip, a destroy, a close)
 * clears the whole queue. Light contexts share the runtime's VM. So while JS of a light
 * context is on the stack — which, with one job at a time, only happens inside its
 * host.callSync — no other light context runs JS: had it run, its `await` continuations
 * would wait in the queue behind the waiter's and run when the waiter's entry ends, under
 * the waiter's budget, and be dropped if the waiter tripped or was destroyed
 * (test_store_attacks.c, test_microtasks.c). Isolated contexts have their own VM and queue and
 * still run, as do jobs that run no JS (sync host replies, deadlines, store flushes,
 * creating a context). The others wait in order and rejoin the round when the stack is
 * free of light JS (runtime_leave_js). The cost is a sibling's latency: it waits for the
 * callSync to return (docs/architecture.md). */

static void offer_turn(runtime *rt, struct jsp_context *ctx);

/* Whether ctx would run JS in a VM that already has JS on the stack; notes that it then
 * waits, so it is offered its turn again when the VM is free. */
static bool waits_for_vm(runtime *rt, struct jsp_context *ctx)
{
    /* ec NULL: not created yet (creating one runs only our own scripts) or dead (its jobs
     * fail without JS). An isolated context's VM is on the stack only with its own JS,
     * and then it is blocked anyway. */
    if (rt->shared_vm_runs == 0 || ctx->memory_limit_bytes || !ctx->ec || ctx->is_dead)
        return false;
    rt->has_vm_waiters = true;
    return true;
}

/* The light contexts that sat out while the VM was on the stack take turns again. */
static void offer_vm_waiters(runtime *rt)
{
    assert(rt->shared_vm_runs == 0);
    rt->has_vm_waiters = false;
    for (struct jsp_context *ctx = rt->contexts; ctx; ctx = ctx->next)
        if (ctx->jobs_head && !ctx->is_in_round && !ctx->memory_limit_bytes)
            offer_turn(rt, ctx);
}

static bool may_take_turn(struct jsp_context *ctx)
{
    /* A context being destroyed is not held back by its share: its destroy job waits
     * behind its other jobs, which end fast (their JS is cancelled at its first tick). */
    return ctx->is_dead ||
           (ctx->blocked_depth == 0 && !waits_for_vm(ctx->rt, ctx) &&
            (ctx->throttled_until_ns == 0 || atomic_load_explicit(&ctx->is_cancelled, memory_order_relaxed)));
}

/* Puts ctx in the round if it has jobs that may run now. */
static void offer_turn(runtime *rt, struct jsp_context *ctx)
{
    if (ctx->jobs_head && !ctx->is_in_round && may_take_turn(ctx))
        round_push(rt, ctx);
}

void runtime_offer_turn(runtime *rt, struct jsp_context *ctx)
{
    assert(runtime_is_thread_of(rt));
    offer_turn(rt, ctx);
}

/* The context's next job that may run now: its first, unless an awaiting call holds its
 * store and that job needs the store; then its first job that does not (a host reply or
 * timer the holder awaits, a message), or NULL: it rejoins the round when the holder ends. */
static job *take_job(struct jsp_context *ctx)
{
    job *j = ctx->jobs_head;
    if (!store_calls_must_wait(ctx, j))
        return job_list_pop(&ctx->jobs_head, &ctx->jobs_tail);
    for (job *prev = j; (j = prev->next) != NULL; prev = j) {
        if (store_calls_must_wait(ctx, j))
            continue;
        job_list_remove_after(&ctx->jobs_head, &ctx->jobs_tail, prev, j);
        return j;
    }
    return NULL;
}

/* The context a job runs for; NULL for the runtime's own list. A sync host reply is
 * awaited by a blocked context, so it never waits for that context's turn. */
static struct jsp_context *job_owner(const job *j)
{
    if (j->kind == JOB_HOST_REPLY)
        return j->host_call->is_sync ? NULL : j->host_call->ctx;
    return j->ctx;
}

static void distribute(runtime *rt, job *list)
{
    while (list) {
        job *j = list;
        list = j->next;
        struct jsp_context *owner = job_owner(j);
        if (!owner) {
            job_list_append(&rt->ready_head, &rt->ready_tail, j);
            continue;
        }
        job_list_append(&owner->jobs_head, &owner->jobs_tail, j);
        offer_turn(rt, owner);
    }
}

bool runtime_context_has_jobs(const struct jsp_context *ctx)
{
    return ctx->jobs_head != NULL;
}

/* A dying context's waiting jobs fail with code; it leaves the round and the throttle. */
static void unthrottle(runtime *rt, struct jsp_context *ctx, uint64_t now);

void runtime_drop_context_jobs(runtime *rt, struct jsp_context *ctx, int code)
{
    assert(runtime_is_thread_of(rt) && ctx->rt == rt);
    round_leave(rt, ctx);
    if (ctx->throttled_until_ns)
        unthrottle(rt, ctx, monotonic_ns());
    job *j;
    while ((j = job_list_pop(&ctx->jobs_head, &ctx->jobs_tail)) != NULL) {
        if (j->kind == JOB_HOST_REPLY)
            host_call_apply_reply(j); /* its call was cancelled: only frees */
        else
            runtime_fail(j, code);
    }
}

/* A job that may run inside a batch (engine_vm_batch): a call or eval of a light context
 * without a store, whose work after a trip runs no JS. Any other job (a timer's, a lock's
 * or a host reply's settlement, a store call's transaction...) may run JS after its own
 * budget tripped — rejecting a Promise, say — which inside the batch's entry JSC would
 * terminate too; those run outside a batch, in an entry of their own. */
static bool is_batchable(const job *j)
{
    return (j->kind == JOB_CALL || j->kind == JOB_EVAL) && j->ctx && !j->ctx->store && !j->ctx->own_vm;
}

/* Runs jobs, one per context in turn, taking new arrivals between jobs, until none may
 * run now or slice_end passed. Returns true when runnable jobs remain. Inside a batch it
 * also returns when the batch must end: a budget tripped, or the next job is not
 * batchable (kept in rt->held_job, run next, outside the batch). */
static bool run_ready_jobs_until(runtime *rt, uint64_t slice_end)
{
    for (;;) {
        assert(!rt->held_job); /* run_ready_jobs_batched runs it as soon as it is held */
        if (job_queue_maybe_has_jobs(&rt->queue)) {
            bool is_closed;
            distribute(rt, job_queue_take_all(&rt->queue, &is_closed));
        }
        job *j = job_list_pop(&rt->ready_head, &rt->ready_tail);
        if (!j) {
            struct jsp_context *ctx = rt->round_head;
            if (!ctx)
                return false;
            round_leave(rt, ctx);
            if (!may_take_turn(ctx))
                continue; /* rejoins when released (offer_turn) */
            j = take_job(ctx);
            if (!j)
                continue; /* its jobs wait for its store (store_calls_finish offers it again) */
            if (ctx->jobs_head)
                round_push(rt, ctx); /* before running: the job may free ctx */
        }
        if (engine_vm_batch_is_open(rt->vm) && !is_batchable(j)) {
            rt->held_job = j;
            return true;
        }
        runtime_run_job(rt, j);
        /* A budget that tripped inside a batch ends it (see run_ready_jobs_batched). */
        if (monotonic_ns() >= slice_end || engine_vm_batch_is_ended(rt->vm))
            return rt->ready_head || rt->round_head;
    }
}

static bool run_ready_jobs(runtime *rt)
{
    return run_ready_jobs_until(rt, monotonic_ns() + JOBS_SLICE_NS);
}

typedef struct ready_jobs_pass {
    runtime *rt;
    uint64_t slice_end;
    bool has_more;
} ready_jobs_pass;

static void run_ready_jobs_pass(void *data)
{
    ready_jobs_pass *pass = data;
    pass->has_more = run_ready_jobs_until(pass->rt, pass->slice_end);
}

/* run_ready_jobs inside one entry into the runtime's VM (engine_vm_batch): JSC's
 * watchdog reads the thread CPU clock (a system call, ~0.4 us here) and the date cache
 * is reset once per pass instead of once per call. Every call keeps its own budget: the
 * watchdog's callback checks whichever is current. A pass cut short by a tripped budget
 * reports more work, so the loop comes straight back. */
static bool run_ready_jobs_batched(runtime *rt)
{
    ready_jobs_pass pass = {.rt = rt, .slice_end = monotonic_ns() + JOBS_SLICE_NS};
    for (;;) {
        engine_batch batch = {.run = run_ready_jobs_pass, .data = &pass};
        engine_vm_batch(rt->vm, &batch);
        job *held = rt->held_job;
        rt->held_job = NULL;
        if (held) /* not batchable: in an entry of its own, now that the batch's is left */
            runtime_run_job(rt, held);
        else if (!pass.has_more)
            return false;
        if (monotonic_ns() >= pass.slice_end)
            return rt->ready_head || rt->round_head;
    }
}

/* ---- CPU share ----
 * Each context earns CPU credit at cpu_share of wall time, up to cpu_share x window
 * saved, and every run of its JS spends what it used (calls, timers, messages, host-call
 * settlements, channel, worker and lock events: everything goes through runtime_enter_js).
 * Below zero it is throttled until the credit is back: its jobs and timers wait, they are
 * not failed. A run is never cut short for its share (only its own limits do that), so a
 * sibling waits at most one run of a throttled context, then the hog sits out. A run is
 * charged the time it held the runtime thread (monotonic clock, nested runs deducted):
 * that is what its siblings wait for, it equals its CPU on an idle machine and exceeds
 * it on a loaded one (charged by CPU, a hog on a busy 2-core machine held its runtime
 * 88% of the time at a 50% share), and it costs no thread-CPU-clock read. */

static void unthrottle(runtime *rt, struct jsp_context *ctx, uint64_t now)
{
    uint64_t since = atomic_load_explicit(&ctx->throttled_since_ns, memory_order_relaxed);
    uint64_t spent = now > since ? now - since : 0;
    atomic_store_explicit(&ctx->throttled_ns, atomic_load_explicit(&ctx->throttled_ns, memory_order_relaxed) + spent,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->throttled_since_ns, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->metrics.throttled_ns, spent, memory_order_relaxed);
    assert(ctx->throttled_until_ns && rt->throttled_count > 0);
    ctx->throttled_until_ns = 0;
    rt->throttled_count--;
}

/* Lets contexts whose throttle ended take turns again. Cheap unless one is due. */
static void release_throttled(runtime *rt)
{
    if (!rt->throttled_count)
        return;
    uint64_t now = monotonic_ns();
    if (now < rt->next_unthrottle_ns)
        return;
    uint64_t next = UINT64_MAX;
    for (struct jsp_context *ctx = rt->contexts; ctx; ctx = ctx->next) {
        if (!ctx->throttled_until_ns)
            continue;
        if (ctx->throttled_until_ns <= now) {
            unthrottle(rt, ctx, now);
            offer_turn(rt, ctx);
        } else if (ctx->throttled_until_ns < next) {
            next = ctx->throttled_until_ns;
        }
    }
    rt->next_unthrottle_ns = next;
}

static void add_relaxed(_Atomic uint64_t *a, uint64_t n)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n, memory_order_relaxed);
}

static int64_t earned_ns(uint64_t elapsed_ns, int64_t share_ppm)
{
    return (int64_t)(elapsed_ns / 1000) * share_ppm / 1000;
}

static void charge_cpu(runtime *rt, struct jsp_context *ctx, uint64_t own, uint64_t now)
{
    add_relaxed(&ctx->cpu_ns, own);
    atomic_fetch_add_explicit(&rt->metrics.context_cpu_ns, own, memory_order_relaxed);
    uint64_t window = (uint64_t)rt->cpu_window_ns;
    uint64_t window_start = atomic_load_explicit(&ctx->window_start_ns, memory_order_relaxed);
    if (now - window_start >= window) {
        uint64_t last = atomic_load_explicit(&ctx->window_cpu_ns, memory_order_relaxed);
        atomic_store_explicit(&ctx->previous_window_cpu_ns, now - window_start < 2 * window ? last : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&ctx->window_cpu_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&ctx->window_start_ns, now, memory_order_relaxed);
    }
    add_relaxed(&ctx->window_cpu_ns, own);
    if (rt->cpu_share_ppm >= 1000000 || ctx->is_dead)
        return; /* no share configured */
    /* Earned before the run is saved up to the cap; earned during it offsets its cost. */
    int64_t cap = (int64_t)window / 1000000 * rt->cpu_share_ppm;
    uint64_t run_start = now - own > ctx->credit_at_ns ? now - own : ctx->credit_at_ns;
    uint64_t before = run_start - ctx->credit_at_ns;
    int64_t credit = before >= 3600000000000u ? cap /* an hour: full, and no overflow below */
                                              : ctx->cpu_credit_ns + earned_ns(before, rt->cpu_share_ppm);
    ctx->cpu_credit_ns = (credit < cap ? credit : cap) + earned_ns(now - run_start, rt->cpu_share_ppm) - (int64_t)own;
    ctx->credit_at_ns = now;
    if (ctx->cpu_credit_ns >= 0 || ctx->throttled_until_ns)
        return;
    /* Back in turn once its credit is up to 1% of the burst: without that margin, every
     * small job after a throttle would throttle it again for microseconds. */
    uint64_t wait_ns = (uint64_t)(-ctx->cpu_credit_ns + cap / 100) / (uint64_t)rt->cpu_share_ppm * 1000000;
    ctx->throttled_until_ns = now + (wait_ns ? wait_ns : 1);
    atomic_store_explicit(&ctx->throttled_since_ns, now, memory_order_relaxed);
    add_relaxed(&ctx->throttle_count, 1);
    atomic_fetch_add_explicit(&rt->metrics.throttles, 1, memory_order_relaxed);
    if (rt->throttled_count++ == 0 || ctx->throttled_until_ns < rt->next_unthrottle_ns)
        rt->next_unthrottle_ns = ctx->throttled_until_ns;
    round_leave(rt, ctx);
}

void runtime_context_created(runtime *rt, struct jsp_context *ctx)
{
    uint64_t now = monotonic_ns();
    ctx->credit_at_ns = now;
    ctx->cpu_credit_ns = rt->cpu_window_ns / 1000000 * rt->cpu_share_ppm;
    atomic_store_explicit(&ctx->window_start_ns, now, memory_order_relaxed);
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
    if (run.budget.tripped && run.budget.tripped != JSP_EDESTROYED && run.budget.tripped != JSP_ECLOSED)
        runtime_log(ctx, JSP_LOG_ERROR,
                         run.budget.tripped == JSP_ECPU_LIMIT    ? "timer callback stopped: CPU limit"
                         : run.budget.tripped == JSP_EWALL_LIMIT ? "timer callback stopped: wall limit"
                                                                 : "timer callback stopped: memory limit");
}

/* Due timers of contexts that cannot run JS now (blocked in host.callSync, or light while
 * the VM is on the stack) are held out of the heap until the nested wait ends, so that
 * the wait sleeps until a timer that can run is due instead of spinning on them. */
LIST_DLIST(held_list, timer_entry, held_prev, held_next)

static void hold_timer(runtime *rt, timer_entry *t)
{
    held_list_push_front(&rt->held_timers, NULL, t);
}

static void release_held_timers(runtime *rt)
{
    timer_entry *t;
    while ((t = rt->held_timers) != NULL) {
        held_list_remove(&rt->held_timers, NULL, t);
        if (timer_heap_push(&rt->timers, t) != 0)
            free_timer(t->ctx, t);
    }
}

/* Takes t out of the held list if it is there; true if it was. */
static bool unhold_timer(runtime *rt, timer_entry *t)
{
    if (!held_list_is_linked(rt->held_timers, t))
        return false;
    held_list_remove(&rt->held_timers, NULL, t);
    return true;
}

/* Fires the timers due now that existed when this pass began (a setTimeout(f, 0) made by
 * a callback waits for the next pass, so a timer storm cannot starve the queue). Timers
 * of contexts that cannot run JS now are held (above). A pass is bounded like a job pass:
 * it ends after JOBS_SLICE_NS, or at a due timer of a context that already ran one in this pass
 * (one callback per context per pass; the rest stay in the heap, in order, for the next
 * pass, after other contexts' jobs): ten due 300 ms timer callbacks of a hog held a
 * sibling's call 2.9 s when one pass ran them all, 0.25 s now (test_fairness). */
static void fire_due_timers(runtime *rt)
{
    uint64_t now = monotonic_ns();
    uint64_t slice_end = now + JOBS_SLICE_NS;
    uint64_t seq_limit = rt->next_timer_seq;
    struct jsp_context *ran[16]; /* contexts whose callback ran in this pass (compared only) */
    size_t ran_count = 0;
    for (;;) {
        timer_entry *t = timer_heap_peek(&rt->timers);
        if (!t || t->due_ns > now || t->seq >= seq_limit)
            break;
        if (t->callback) {
            bool has_run = false;
            for (size_t i = 0; i < ran_count && !has_run; i++)
                has_run = ran[i] == t->ctx;
            if (has_run)
                break; /* its turn is over: the next pass (re-armed for now) goes on */
        }
        timer_heap_pop(&rt->timers);
        struct jsp_context *ctx = t->ctx;
        if (!t->callback) { /* a deadline: of a parked call, or of a held lock */
            if (t->call)
                expire_call(rt, t);
            else
                lock_requests_expire(rt, t);
            continue;
        }
        if (ctx->throttled_until_ns) { /* over its CPU share: due when it is back */
            t->due_ns = ctx->throttled_until_ns;
            t->seq = rt->next_timer_seq++;
            if (timer_heap_push(&rt->timers, t) != 0)
                free_timer(ctx, t);
            continue;
        }
        if (ctx->blocked_depth > 0 || waits_for_vm(rt, ctx)) {
            hold_timer(rt, t);
            continue;
        }
        if (ran_count == sizeof(ran) / sizeof(ran[0])) {
            timer_heap_push(&rt->timers, t); /* as many contexts as we track: next pass */
            break;
        }
        ran[ran_count++] = ctx;
        run_timer_callback(rt, t);
        bool is_slice_over = monotonic_ns() >= slice_end;
        if (ctx->is_dead) { /* the callback's context was destroyed meanwhile */
            if (is_slice_over)
                break;
            continue;
        }
        if (t->is_cancelled || t->interval_ns == 0) {
            free_timer(ctx, t);
        } else {
            t->due_ns = monotonic_ns() + t->interval_ns;
            t->seq = rt->next_timer_seq++;
            if (timer_heap_push(&rt->timers, t) != 0)
                free_timer(ctx, t);
        }
        if (is_slice_over)
            break; /* jobs and other timers get their turn in the next pass */
    }
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

/* Every so many runs an isolated context's heap is looked at even if nothing moved, so
 * slow growth across many short calls (shorter than a tick) is caught too. A measurement
 * walks the VM's heap (JSGetMemoryUsageStatistics counts every object: milliseconds on a
 * busy heap; with the bank served over WebSocket it took 60% of the runtime thread), so a
 * look first reads the process's RSS (~3 us) and walks only when RSS grew by more than
 * MEASURE_RSS_SLACK since this context's last walk, or after MEASURE_ANYWAY_RUNS runs
 * once its runs have also held the thread WALK_COST_SHARE times as long as that walk took.
 * A heap growing inside memory the process already holds is caught by the latter; the
 * process's own budget is unaffected (its RSS did not grow). The second condition keeps
 * the walks at most ~2% of the context's own time whatever its heap: with the bench's
 * bank deployed (an isolated VM, ~5 us calls) every 4,096th call walked for milliseconds,
 * 13% of the runtime thread (perf, bench/server/run.sh); a walk now comes every ~40k calls
 * there, and still every 4,096 runs for a small heap that walks in microseconds. */
enum { MEASURE_EVERY_RUNS = 64, MEASURE_ANYWAY_RUNS = 4096, WALK_COST_SHARE = 50 };
#define MEASURE_RSS_SLACK ((uint64_t)1 << 20)

static void measure_isolated(struct jsp_context *ctx, bool is_collecting)
{
    if (is_collecting)
        engine_vm_collect_now(ctx->own_vm);
    uint64_t start = monotonic_ns();
    ctx->held_bytes = engine_vm_held_bytes(ctx->own_vm);
    ctx->walk_ns = monotonic_ns() - start;
    ctx->run_ns_since_walk = 0;
    messaging_tree_note_held(ctx);
    ctx->runs_since_measure = 0;
    ctx->runs_since_walk = 0;
    ctx->rss_at_walk = process_rss_bytes();
}

/* A look that may skip the walk (see above); true when it measured. */
static bool look_at_isolated(struct jsp_context *ctx)
{
    ctx->runs_since_walk += ctx->runs_since_measure;
    ctx->runs_since_measure = 0;
    bool is_due = ctx->runs_since_walk >= MEASURE_ANYWAY_RUNS &&
                  ctx->run_ns_since_walk / WALK_COST_SHARE >= ctx->walk_ns;
    if (!is_due && process_rss_bytes() <= ctx->rss_at_walk + MEASURE_RSS_SLACK)
        return false;
    measure_isolated(ctx, false);
    return true;
}

/* What an isolated context may hold now: its limit, less — for a worker — what the other
 * members of its tree held at their last measurements (messaging.h). Each Worker is a
 * context with its parent's limit, so 16 of them held 17 times it (attacker review: a
 * 32 MiB context's workers took the server from 34 to 449 MB). */
static uint64_t memory_room(const struct jsp_context *ctx)
{
    uint64_t others = messaging_tree_others_bytes(ctx);
    return others < ctx->memory_limit_bytes ? ctx->memory_limit_bytes - others : 0;
}

bool runtime_enter_js(runtime *rt, struct jsp_context *ctx, js_run *run)
{
    assert(runtime_is_thread_of(rt) && ctx->rt == rt);
    run->ctx = ctx;
    run->vm = context_vm(ctx);
    run->is_unmetered = false;
    engine_budget_start(&run->budget, ctx->cpu_limit_ms, ctx->wall_limit_ms, 0);
    run->budget.cancel = &ctx->is_cancelled;
    run->budget.cancel_all = &rt->queue.is_closing;
    run->parent = NULL;
    run->nested_ns = 0;
    if (ctx->memory_limit_bytes) {
        uint64_t room = memory_room(ctx);
        if (ctx->held_bytes > room) {
            measure_isolated(ctx, true);
            if (ctx->held_bytes > room) {
                run->budget.tripped = JSP_EOOM;
                run->outer = NULL;
                return false;
            }
        }
        engine_budget_limit_memory(&run->budget, room, ctx->held_bytes);
    }
    run->outer = engine_vm_set_budget(run->vm, &run->budget);
    run->parent = rt->current_run;
    rt->current_run = run;
    run->is_shared_vm = !ctx->own_vm;
    rt->shared_vm_runs += run->is_shared_vm;
    return true;
}

void runtime_enter_js_unmetered(runtime *rt, struct jsp_context *ctx, js_run *run)
{
    assert(runtime_is_thread_of(rt) && ctx->rt == rt);
    run->ctx = ctx;
    run->vm = context_vm(ctx);
    run->is_unmetered = true;
    engine_budget_start(&run->budget, ctx->cpu_limit_ms, ctx->wall_limit_ms, 0);
    run->outer = engine_vm_set_budget(run->vm, &run->budget);
    /* Nested like any run (runtime_leave_js restores rt->current_run from run->parent). */
    run->nested_ns = 0;
    run->parent = rt->current_run;
    rt->current_run = run;
    run->is_shared_vm = !ctx->own_vm;
    rt->shared_vm_runs += run->is_shared_vm;
}

void runtime_leave_js(runtime *rt, js_run *run)
{
    struct jsp_context *ctx = run->ctx;
    assert(runtime_is_thread_of(rt) && ctx->rt == rt);
    assert(rt->current_run == run); /* runs end innermost first */
    uint64_t now = monotonic_ns();
    uint64_t held = now - run->budget.wall_start_ns; /* what siblings waited: its share */
    /* Time spent here (inside another context's host.callSync) is not the outer run's:
     * its CPU budget's start moves forward by this run's CPU (its deadline follows), and
     * it is not charged this run's time. */
    js_run *parent = run->parent;
    if (parent && parent->budget.cpu_limit_ns) {
        uint64_t used = engine_budget_cpu_used_ns(&run->budget);
        engine_budget *outer = &parent->budget;
        engine_budget_cpu_start_ns(outer);
        outer->cpu_start_ns += used;
        outer->cpu_deadline_ns += used;
    }
    if (parent)
        parent->nested_ns += held;
    rt->current_run = parent;
    assert(rt->shared_vm_runs >= run->is_shared_vm);
    rt->shared_vm_runs -= run->is_shared_vm;
    if (rt->shared_vm_runs == 0 && rt->has_vm_waiters)
        offer_vm_waiters(rt);
    if (rt->store_entries) /* transactions JS entries opened in this run end with it */
        store_calls_entries_left(rt, run);
    engine_vm_set_budget(run->vm, run->outer);
    /* Destroyed while it ran: it ends as cancelled even if it got out before a tick (a
     * host.callSync it waited in failed for the destroy). */
    if (!run->budget.tripped && atomic_load_explicit(&ctx->is_cancelled, memory_order_relaxed))
        run->budget.tripped = JSP_EDESTROYED;
    charge_cpu(rt, ctx, held > run->nested_ns ? held - run->nested_ns : 0, now);
    if (!ctx->memory_limit_bytes || ctx->is_dead)
        return;
    ctx->run_ns_since_walk += held;
    if (run->is_unmetered) { /* a reset may have freed enough: collect and measure now */
        measure_isolated(ctx, true);
        return;
    }
    if (run->budget.tripped == JSP_EOOM) {
        measure_isolated(ctx, true);
    } else if (++ctx->runs_since_measure >= MEASURE_EVERY_RUNS || run->budget.cpu_start_ns ||
               messaging_is_in_tree(ctx)) {
        /* (cpu_start_ns is set once a run reached a tick: a longer run, worth a look; in a
         * worker tree every run, so that the others see its growth at once) */
        if (look_at_isolated(ctx) && ctx->held_bytes > memory_room(ctx) && !run->budget.tripped) {
            /* the look counts garbage: over only if what it keeps still is once swept (a
             * small call after a refused big parse was failed for the parse's garbage) */
            measure_isolated(ctx, true);
            if (ctx->held_bytes > memory_room(ctx))
                run->budget.tripped = JSP_EOOM;
        }
    }
}

static void on_timer_wake(uv_timer_t *handle);

static void arm_timer_wake(runtime *rt)
{
    timer_entry *next = timer_heap_peek(&rt->timers);
    uint64_t due = next ? next->due_ns : UINT64_MAX;
    if (rt->throttled_count && rt->next_unthrottle_ns < due)
        due = rt->next_unthrottle_ns;
    if (rt->store_flush_due_ns && rt->store_flush_due_ns < due)
        due = rt->store_flush_due_ns;
    if (due == UINT64_MAX) {
        uv_timer_stop(&rt->timer_wake);
        return;
    }
    uint64_t now = monotonic_ns();
    uint64_t delay_ms = due > now ? (due - now + 999999) / 1000000 : 0;
    uv_timer_start(&rt->timer_wake, on_timer_wake, delay_ms, 0);
}

uint64_t runtime_set_timer(struct jsp_context *ctx, engine_callback *cb, double delay_ms,
                                bool is_repeating)
{
    runtime *rt = ctx->rt;
    /* Each timer holds its callback's closure alive: 1.87 million from one call held
     * hundreds of MB until the context died, before this cap. */
    if (ctx->timers.count >= (size_t)services_of(ctx)->config->max_timers_per_context) {
        engine_callback_free(cb);
        return ENGINE_TIMER_CAPPED;
    }
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

void runtime_clear_timer(struct jsp_context *ctx, uint64_t timer_id)
{
    timer_entry *t = u64_map_get(&ctx->timers, timer_id);
    if (!t)
        return;
    if (unhold_timer(ctx->rt, t)) {
        free_timer(ctx, t);
        return;
    }
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
        if (!unhold_timer(rt, t) && t->heap_index != SIZE_MAX)
            timer_heap_remove(&rt->timers, t);
        engine_callback_free(t->callback);
        free(t);
    }
    u64_map_free(&ctx->timers);
}

/* ---- spare globals ----
 * A light context whose groups match the runtime's spares takes a global built ahead
 * while the runtime was idle (engine_vm_prepare_spare; engine_context.c says why a spare
 * is as pristine as a fresh global). The creating thread reserves one in spare_offer with
 * one compare-and-swap and queues its JOB_CREATE without waiting: the JSC objects stay on
 * this thread, which takes the reserved spare when the job comes (before any other job of
 * the context: a context's jobs run in order) and refills the stock when idle again.
 * Before: the caller waited for the runtime to wake, take the spare and wake it back, 55
 * us median under load for ~2 us of work (bench_contexts --pause-us, issue 13).
 *
 * Invariant, on this thread: the VM holds (offered count + reservations whose job has
 * not run yet) spares of the offered groups. A reservation is only a hint, though: when
 * its spare is gone (a recycle freed the VM) its job builds a global as an unreserved
 * one does, so a broken count costs time, never correctness. */

static uint64_t offer_of(uint32_t apis, uint32_t count)
{
    return (uint64_t)apis << 32 | count;
}

bool runtime_reserve_spare(runtime *rt, uint32_t apis)
{
    uint64_t offer = atomic_load_explicit(&rt->spare_offer, memory_order_relaxed);
    while ((uint32_t)(offer >> 32) == apis && (uint32_t)offer > 0)
        if (atomic_compare_exchange_weak_explicit(&rt->spare_offer, &offer, offer - 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return true;
    return false;
}

void runtime_return_spare(runtime *rt, uint32_t apis)
{
    /* Given back only while the same groups are offered: otherwise the runtime already
     * counted it as reserved when it switched, and it waits in the VM's stock until a
     * creation takes it or the VM goes. */
    uint64_t offer = atomic_load_explicit(&rt->spare_offer, memory_order_relaxed);
    while ((uint32_t)(offer >> 32) == apis)
        if (atomic_compare_exchange_weak_explicit(&rt->spare_offer, &offer, offer + 1,
                                                  memory_order_relaxed, memory_order_relaxed))
            return;
}

void runtime_spares_dropped(runtime *rt)
{
    assert(runtime_is_thread_of(rt));
    atomic_store_explicit(&rt->spare_offer, offer_of(rt->spare_apis, 0), memory_order_relaxed);
}

/* Whether a light context created now takes a spare: reserved by its creator, or one it
 * reserves itself (an unreserved spare only, so that one reserved by a creator that did
 * not wait is still there when its job comes). Notes its groups as the spares' next. */
bool runtime_takes_spare(runtime *rt, uint32_t apis, bool is_reserved)
{
    rt->spare_apis = apis;
    rt->is_spare_apis_set = true;
    return is_reserved || runtime_reserve_spare(rt, apis);
}

/* Idle: one step towards the stock of spares — installs a spare built bare, or builds a
 * bare one for the groups last asked for, first taking back (and freeing) the unreserved
 * spares of other groups; true when there may be another step. A bare spare is offered at
 * once (a creation taking it installs it on first use). */
static bool refill_spares(runtime *rt)
{
    if (!rt->is_spare_apis_set)
        return false; /* no light context yet: nothing known to prepare for */
    if (engine_vm_install_spare(rt->vm))
        return true;
    uint64_t offer = atomic_load_explicit(&rt->spare_offer, memory_order_relaxed);
    if ((uint32_t)(offer >> 32) != rt->spare_apis) {
        offer = atomic_exchange_explicit(&rt->spare_offer, offer_of(rt->spare_apis, 0), memory_order_relaxed);
        engine_vm_release_spares(rt->vm, (uint32_t)(offer >> 32), (int)(uint32_t)offer);
    }
    if (!engine_vm_prepare_spare(rt->vm, rt->spare_apis))
        return false;
    atomic_fetch_add_explicit(&rt->spare_offer, 1, memory_order_relaxed); /* only we change the groups */
    return true; /* its install is the next step */
}

/* ---- the loop ---- */

static void stop_loop(runtime *rt)
{
    rt->is_stopping = true;
    struct jsp_context *ctx;
    while ((ctx = rt->contexts) != NULL)
        runtime_kill_context(rt, ctx, JSP_ECLOSED);
    fetch_runtime_close(rt);
    uv_close((uv_handle_t *)&rt->wake, NULL);
    uv_close((uv_handle_t *)&rt->timer_wake, NULL);
}

/* One pass; true when work is left (after its slice, or contexts offered their turn by a
 * timer callback's end): it asked for another pass at once. */
static bool run_pass(runtime *rt)
{
    bool is_closed;
    engine_budget_mark_thread_cpu(); /* what bounds the CPU of this pass's runs */
    release_throttled(rt);
    distribute(rt, job_queue_take_all(&rt->queue, &is_closed));
    bool has_more = run_ready_jobs_batched(rt);
    fire_due_timers(rt);
    if (rt->store_contexts) /* group commit: now if nothing else is runnable */
        rt->store_flush_due_ns = store_calls_pump(rt, !has_more);
    if (!is_closed)
        heap_policy_check(rt, false);
    if (is_closed) {
        /* Jobs queued before the close run (throttles are lifted: a share no longer
         * matters, and running JS is cancelled at its first tick); take any that raced. */
        rt->cpu_share_ppm = 1000000;
        rt->next_unthrottle_ns = 0;
        release_throttled(rt);
        distribute(rt, job_queue_take_all(&rt->queue, &is_closed));
        while (run_ready_jobs(rt))
            ;
        stop_loop(rt);
        return false;
    }
    bool is_left = has_more || rt->ready_head || rt->round_head;
    if (is_left) /* left after the slice, or offered by a timer callback's end */
        uv_async_send(&rt->wake); /* another pass, right away */
    else if (!job_queue_maybe_has_jobs(&rt->queue) && refill_spares(rt))
        uv_async_send(&rt->wake); /* idle: one spare step per pass until the stock is full */
    arm_timer_wake(rt);
    return is_left;
}

/* ---- polling before sleeping ----
 * A runtime thread that sleeps in epoll between jobs is woken by the next job's
 * uv_async_send; on an idle machine (a VM's idle CPU halts) that wake-up took ~50 us, so a
 * sync jsp_call from another thread answered in 103 us median on a quiet machine against
 * 5-8 us under load (bench_calls --only sync; the waiter's own wake-up is the other half).
 * So after a pass that left no work the loop polls its queue for up to IDLE_POLL_NS before
 * it sleeps, and runs the next pass at once when a job came (a pass that left work asked
 * for the next at once: no poll). A pass that made a step towards the stock of spare
 * globals polls too, before the next step: a creation coming meanwhile runs first (with
 * the next step at once instead: 1.29x raw JSC's creation against 1.22x). Measured (2 CPUs,
 * bench_calls --only sync --sync-calls 40000, bench_contexts --raw-jsc --runtimes 1
 * 10000): quiet, sync call p50 103 -> 25 us and light creation 1.34x -> 1.22x raw JSC;
 * with 4 CPU hogs on the 2 CPUs, sync p50 7.7 -> 4.5 us. The price: up to IDLE_POLL_NS of
 * CPU after each burst of work (none while idle). A poll that adapted its length (halved
 * on a miss, doubled on a job soon after sleeping) decayed to nothing under sync calls,
 * whose waiter itself takes ~50-70 us to wake and send the next: 75-86 us. At most
 * IDLE_POLL_PASSES passes run back to back before the loop returns to libuv (its network
 * and timer callbacks wait that long at most). */
#define IDLE_POLL_NS 50000u
#define IDLE_POLL_PASSES 64

/* Waits up to IDLE_POLL_NS for a job without sleeping; true when one came. */
static bool poll_for_jobs(runtime *rt)
{
    uint64_t until = monotonic_ns() + IDLE_POLL_NS;
    do {
        for (int i = 0; i < 32; i++) {
            if (job_queue_maybe_has_jobs(&rt->queue))
                return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    } while (monotonic_ns() < until);
    return false;
}

static void on_wake(uv_async_t *handle)
{
    runtime *rt = handle->data;
    for (int passes = 0; passes < IDLE_POLL_PASSES; passes++)
        if (run_pass(rt) || rt->is_stopping || !poll_for_jobs(rt))
            return; /* work left: its pass is due at once, no poll */
    uv_async_send(&rt->wake); /* libuv's turn; the jobs wait one wake-up */
}

static void on_timer_wake(uv_timer_t *handle)
{
    (void)run_pass(handle->data);
}

void runtime_context_entered(struct jsp_context *ctx)
{
    if (!ctx)
        return;
    assert(runtime_is_thread_of(ctx->rt) && ctx->blocked_depth >= 0);
    ctx->blocked_depth++;
}

void runtime_context_left(struct jsp_context *ctx)
{
    if (!ctx)
        return;
    assert(runtime_is_thread_of(ctx->rt) && ctx->blocked_depth > 0); /* left as often as entered */
    if (--ctx->blocked_depth == 0)
        offer_turn(ctx->rt, ctx);
}

int runtime_wait_nested(runtime *rt, struct jsp_context *ctx, const bool *is_done)
{
    assert(runtime_is_thread_of(rt) && ctx->rt == rt && ctx->blocked_depth >= 0);
    ctx->blocked_depth++;
    /* The waiter's call fails at its wall limit anyway (the watchdog's first tick after
     * the callSync returns), and while it waits no light sibling runs: so the wait ends
     * there rather than when the answer comes. */
    const js_run *waiting = rt->current_run;
    uint64_t wall_deadline = waiting && waiting->ctx == ctx ? waiting->budget.wall_deadline_ns : 0;
    bool is_past_deadline = false;
    while (!*is_done && !rt->is_stopping && !ctx->is_dead && !atomic_load(&ctx->is_cancelled) &&
           !(is_past_deadline = wall_deadline && monotonic_ns() >= wall_deadline)) {
        release_throttled(rt);
        bool has_more = run_ready_jobs(rt);
        if (*is_done)
            break;
        fire_due_timers(rt);
        if (*is_done)
            break;
        if (rt->store_contexts) /* other contexts' results are not held up by this wait */
            rt->store_flush_due_ns = store_calls_pump(rt, !has_more);
        bool is_closed;
        job *arrived;
        /* a timer callback's end may have offered contexts their turn (offer_vm_waiters) */
        has_more = has_more || rt->ready_head || rt->round_head;
        if (has_more) {
            arrived = job_queue_take_all(&rt->queue, &is_closed);
        } else {
            timer_entry *next = timer_heap_peek(&rt->timers);
            uint64_t deadline = next ? next->due_ns : 0;
            if (rt->throttled_count && (!deadline || rt->next_unthrottle_ns < deadline))
                deadline = rt->next_unthrottle_ns;
            if (rt->store_flush_due_ns && (!deadline || rt->store_flush_due_ns < deadline))
                deadline = rt->store_flush_due_ns;
            if (wall_deadline && (!deadline || wall_deadline < deadline))
                deadline = wall_deadline;
            uint64_t idle_from = monotonic_ns();
            arrived = job_queue_wait_take_all(&rt->queue, deadline, &is_closed);
            if (rt->current_run) /* waiting holds nothing up: not charged to the waiter */
                rt->current_run->nested_ns += monotonic_ns() - idle_from;
        }
        distribute(rt, arrived);
        if (is_closed && !arrived && !has_more)
            break; /* pool closing: the caller fails the sync call */
    }
    release_held_timers(rt); /* the enclosing loop fires them, or holds them again */
    assert(ctx->blocked_depth > 0);
    if (--ctx->blocked_depth == 0)
        offer_turn(rt, ctx);
    if (*is_done)
        return 0;
    if (ctx->is_dead || atomic_load(&ctx->is_cancelled))
        return JSP_EDESTROYED;
    return is_past_deadline ? JSP_EWALL_LIMIT : JSP_ECLOSED;
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
        rt->vm = engine_vm_new(&runtime_engine_host);
        if (rt->vm) {
            engine_vm_set_code_cache(rt->vm, rt->services->config->code_cache_bytes);
            engine_vm_share_transforms(rt->vm, rt->services->config->code_cache_bytes != 0);
            heap_policy_start(rt);
        }
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

int runtime_start(runtime *rt, const runtime_services *services, int index)
{
    rt->services = services;
    rt->index = index;
    rt->cpu_share_ppm = (int64_t)(services->config->cpu_share * 1e6 + 0.5);
    rt->cpu_window_ns = (int64_t)services->config->cpu_share_window_ms * 1000000;
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
    int rc = (int)(intptr_t)completion_wait(&rt->started, COMPLETION_SLEEP);
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

void runtime_log(struct jsp_context *ctx, int level, const char *message)
{
    if (ctx)
        services_of(ctx)->log(ctx->pool, level, ctx->id, message);
}

void runtime_host_send(struct jsp_context *ctx, const char *json, size_t len)
{
    const jsp_pool_config *cfg = services_of(ctx)->config;
    if (cfg->on_message)
        cfg->on_message(ctx->pool, ctx->id, json, len, cfg->message_user);
}
