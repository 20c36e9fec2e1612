/* runtime.h — one runtime: an OS thread running a libuv loop that owns one JSC VM and
 * executes the jobs queued for the contexts placed on it; its metrics; how JS of a
 * context is run under its budget. The structures it shares with the pool layer have a
 * header each — context.h (the handle), job.h, host_call.h — included here. The runtime
 * includes no pool header: what it needs from the pool comes through runtime_services
 * (runtime_services.h). */
#ifndef JSP_RUNTIME_H
#define JSP_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine/engine.h"
#include "jspool.h"
#include "runtime/context.h"
#include "runtime/host_call.h"
#include "runtime/job.h"
#include "runtime/job_queue.h"
#include "runtime/runtime_services.h"
#include "runtime/timers.h"
#include "util/completion.h"
#include "util/u64_map.h"

typedef struct runtime runtime;
typedef struct job job;

/* How calls end, as metrics count them. */
enum call_outcome {
    OUTCOME_OK,
    OUTCOME_JS_ERROR,   /* exception, syntax, unknown function, bad input, not JSON */
    OUTCOME_CPU_LIMIT,
    OUTCOME_WALL_LIMIT,
    OUTCOME_OOM,
    OUTCOME_CANCELLED,  /* context destroyed or pool closed under it */
    OUTCOME_COUNT
};

/* Call-duration histogram bounds in seconds (Prometheus `le`), +Inf implied. */
#define CALL_DURATION_BUCKETS 12

/* Counters and gauges of one runtime. Written by its thread, read by jsp_pool_metrics on
 * any thread: relaxed atomics, each value consistent on its own. */
typedef struct runtime_metrics {
    atomic_uint_fast64_t calls[OUTCOME_COUNT];
    atomic_uint_fast64_t duration_buckets[CALL_DURATION_BUCKETS + 1];
    atomic_uint_fast64_t duration_sum_ns;
    atomic_uint_fast64_t leaked_host_calls;
    atomic_uint_fast64_t leaked_spans;
    atomic_uint_fast64_t heap_checks;
    atomic_uint_fast64_t heap_reads;
    atomic_uint_fast64_t recycles;
    atomic_uint_fast64_t heap_size_bytes;
    atomic_uint_fast64_t heap_capacity_bytes;
    atomic_uint_fast64_t heap_extra_bytes;
    atomic_uint_fast64_t heap_objects;
    atomic_uint_fast64_t throttles;        /* times a context went over its CPU share */
    atomic_uint_fast64_t throttled_ns;     /* time contexts spent throttled, summed */
    atomic_uint_fast64_t context_cpu_ns;   /* CPU of every context's JS, summed */
    atomic_uint_fast64_t leaked_iterators; /* row iterators a transaction left open */
    atomic_uint_fast64_t store_commits;    /* store calls delivered durable */
    atomic_uint_fast64_t store_rollbacks;  /* store calls delivered rolled back */
    /* The shared VM's code cache (engine_code_cache.c), after its last eval or module load. */
    atomic_uint_fast64_t code_cache_entries, code_cache_bytes;
    atomic_uint_fast64_t code_cache_hits, code_cache_misses, code_cache_evictions;
} runtime_metrics;

extern const double call_duration_bounds[CALL_DURATION_BUCKETS];
void metrics_record_call(runtime_metrics *m, int code, uint64_t duration_ns);

struct runtime {
    const runtime_services *services; /* the pool's, shared by its runtimes */
    int index;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t timer_wake;
    job_queue queue;
    engine_vm *vm;
    job *ready_head, *ready_tail; /* taken from the queue, run before any context's own
                                     jobs: host replies (a sync one unblocks a context) */
    struct jsp_context *round_head, *round_tail; /* contexts with jobs that may run now */
    struct js_run *current_run;   /* innermost JS run, to charge nested runs correctly */
    unsigned shared_vm_runs;      /* runs of light contexts on the stack: while > 0 (inside a
                                     light context's host.callSync), no other light context
                                     runs JS (runtime.c, "one context's JS per VM") */
    bool has_vm_waiters;          /* a light context sat out for that: offered its turn
                                     again when shared_vm_runs is back to 0 */
    timer_entry *held_timers;     /* due timers of contexts that could not run JS, kept out
                                     of the heap until the nested wait ends */
    job *held_job;                /* taken in its turn but not batchable: runs next, outside
                                     the batch that was open (runtime.c, is_batchable) */
    unsigned throttled_count;     /* live contexts throttled now */
    uint64_t next_unthrottle_ns;  /* earliest throttled_until_ns among them */
    int64_t cpu_share_ppm;        /* pool config: share of the thread per context, ppm */
    int64_t cpu_window_ns;        /* pool config: the share window */
    timer_heap timers;
    uint64_t next_timer_seq;
    uint64_t next_call_id;
    struct jsp_context *contexts; /* live contexts on this runtime */
    atomic_int live_contexts;   /* read by placement on other threads */
    bool is_stopping;
    completion started;         /* signalled with the start result */
    runtime_metrics metrics;
    unsigned calls_since_heap_check;
    uint64_t last_heap_check_ns;
    uint64_t heap_after_recycle_bytes; /* baseline of the growth rule: the fresh VM at start,
                                          the rebuilt one after a recycle */
    uint64_t rss_at_heap_read;         /* process RSS when the heap was last read */
    unsigned checks_since_heap_read;
    /* stores (store_calls.c) */
    struct jsp_context *store_contexts; /* live contexts with a store */
    struct jsp_context *store_entries;  /* contexts with an entry's transaction open */
    atomic_bool stores_synced;          /* a sync thread finished: poll the stores */
    uint64_t next_iterator_id;
    uint64_t store_flush_due_ns;        /* when store_calls_pump must run again; 0 = never */
    struct runtime_fetch *fetch;        /* the fetch group's multi handle (fetch.c); NULL
                                           until a context's first request */
    /* Spare globals (runtime.c, "spare globals"): the groups the light contexts made last
     * asked for, which the idle runtime builds spares for, and what it offers to creating
     * threads: those groups (high 32 bits) and how many spares nobody reserved (low). */
    uint32_t spare_apis;
    bool is_spare_apis_set;
    _Atomic uint64_t spare_offer;
};

/* Starts the thread; returns once its VM exists. 0 or JSP_ESYSTEM / JSP_ENOMEM. services
 * must stay valid until the last context, job and host call of the runtime is gone. */
int runtime_start(runtime *rt, const runtime_services *services, int index);
/* Closes the queue, lets queued jobs finish, kills remaining contexts, joins. */
void runtime_stop(runtime *rt);
/* Reserves one of rt's spare globals built for apis, if one is offered: the JOB_CREATE
 * the caller queues next (context_queue_create with has_spare) takes it, so the caller
 * need not wait for the runtime. Any thread; lock-free, touches no engine object (those
 * stay on rt's thread). runtime_return_spare gives it back when that job was not queued. */
bool runtime_reserve_spare(runtime *rt, uint32_t apis);
void runtime_return_spare(runtime *rt, uint32_t apis);
/* The VM's spares are gone (a recycle freed it): nothing is offered until new ones are
 * built. Runtime thread. */
void runtime_spares_dropped(runtime *rt);
/* Whether a light context created now on rt (JOB_CREATE, is_reserved = job.has_spare)
 * takes a spare global; notes apis as the groups spares are built for. Runtime thread. */
bool runtime_takes_spare(runtime *rt, uint32_t apis, bool is_reserved);
/* True on a runtime thread (sync API calls from there would deadlock). */
bool runtime_is_current_thread(void);
/* Whether the calling thread is rt's own; for asserts on runtime-thread-only functions. */
bool runtime_is_thread_of(const runtime *rt);
/* The tag of the JOB_SEND whose onmessage handler runs now on this thread, 0 otherwise
 * (what jsp_message_tag returns). */
uint64_t runtime_current_message_tag(void);
void runtime_set_message_tag(uint64_t tag);

/* ---- the engine's host (engine_host.c): what the engine calls up with ---- */

/* The operations table the runtime gives every VM it creates (src/engine/engine_host.h). */
extern const engine_host_ops runtime_engine_host;
/* The operations, each in the file of its concept; contracts in engine_host.h. */
void runtime_call_settled(struct jsp_context *ctx, uint64_t call_id, jsp_result *result);
void runtime_context_entered(struct jsp_context *ctx); /* NULL: a VM's home, ignored */
void runtime_context_left(struct jsp_context *ctx);
uint64_t runtime_set_timer(struct jsp_context *ctx, engine_callback *cb, double delay_ms,
                           bool is_repeating);
void runtime_clear_timer(struct jsp_context *ctx, uint64_t timer_id);
void runtime_host_send(struct jsp_context *ctx, const char *json, size_t len);
/* Logs through the pool's callback with the context's id; NULL ctx: dropped. */
void runtime_log(struct jsp_context *ctx, int level, const char *message);
int host_call_start(struct jsp_context *ctx, const char *name, char *args_json, size_t args_len,
                    engine_host_promise *p);
int host_call_run_sync(struct jsp_context *ctx, const char *name, char *args_json,
                       size_t args_len, char **reply, size_t *reply_len);
int lock_requests_request(struct jsp_context *ctx, const uint16_t *name, size_t name_len,
                          bool is_shared, bool if_available, bool steal, uint64_t *request_id);
void lock_requests_release(struct jsp_context *ctx, uint64_t request_id);
bool lock_requests_abort(struct jsp_context *ctx, uint64_t request_id);
int lock_requests_query(struct jsp_context *ctx, engine_lock_snapshot *out);

/* ---- runtime thread internals (runtime.c / runtime_jobs.c / host_calls.c) ---- */
void runtime_run_job(runtime *rt, job *j);
void runtime_kill_context(runtime *rt, struct jsp_context *ctx, int code);
void runtime_complete(job *j, jsp_result *result); /* ends the call, delivers (below) */
/* Runs done with result (counted in the call metrics) and frees the job: at once, or once
 * a store call's transaction is durable (store_calls.c). */
void runtime_deliver(job *j, jsp_result *result);
/* Puts ctx back in the round of runnable contexts if it has jobs that may run now. */
void runtime_offer_turn(runtime *rt, struct jsp_context *ctx);
void runtime_fail(job *j, int code);
/* Runs jobs and timers of other contexts until *is_done, the queue closes, ctx dies, or
 * the wall deadline of ctx's run passes (light siblings cannot run meanwhile: "one
 * context's JS per VM" in runtime.c, so the wait is bounded by the waiter's wall limit).
 * 0 when done, else why not: JSP_EDESTROYED, JSP_ECLOSED or JSP_EWALL_LIMIT. */
int runtime_wait_nested(runtime *rt, struct jsp_context *ctx, const bool *is_done);

/* The locks group (lock_requests.c): runs a JOB_LOCK_EVENT; drops a context's locks and
 * lock requests when it dies or its VM is recycled (its JS can no longer release them). */
void lock_requests_run_job(runtime *rt, job *j);
void lock_requests_drop_context(struct jsp_context *ctx);
/* A held lock's deadline entry (a timer entry without callback or call) came due: frees
 * it, and releases the lock if still held (lock_requests.c). */
void lock_requests_expire(runtime *rt, timer_entry *t);

/* True while jobs of ctx wait on the runtime thread (heap policy's idle test). */
bool runtime_context_has_jobs(const struct jsp_context *ctx);

/* Runs JS of ctx under its budget: returns the budget to pass to runtime_leave_js. */
typedef struct js_run {
    engine_budget budget;
    struct js_run *parent;     /* the run this one is nested in (host.callSync) */
    uint64_t nested_ns;        /* CPU of runs nested in this one: charged to theirs */
    engine_budget *outer;      /* restored on leave; its CPU deadline moves by our usage */
    engine_vm *vm;
    struct jsp_context *ctx;
    bool is_unmetered;         /* runtime_enter_js_unmetered: no memory limit on this run */
    bool is_shared_vm;         /* a light context's run: counted in rt->shared_vm_runs */
} js_run;
/* False when the context may not run JS now (an isolated context still over its memory
 * limit after a collection): run->budget.tripped is then JSP_EOOM. */
bool runtime_enter_js(runtime *rt, struct jsp_context *ctx, js_run *run);
/* Runs JS of an isolated context that is over its memory limit, under its CPU and wall
 * budgets but no memory limit: only for the globals jobs, which free memory (a reset) or
 * read it. Its runtime_leave_js collects and measures the VM, and never trips JSP_EOOM. */
void runtime_enter_js_unmetered(runtime *rt, struct jsp_context *ctx, js_run *run);
/* Restores the outer budget; for an isolated context, measures its heap when cheap
 * signals moved, and trips JSP_EOOM after the fact if the run left it over the limit. */
void runtime_leave_js(runtime *rt, js_run *run);
engine_vm *context_vm(struct jsp_context *ctx);
/* A wall-limit entry in the timer heap that fails the parked call j when due. */
void runtime_arm_call_deadline(runtime *rt, job *j, uint64_t due_ns);
void runtime_disarm_call_deadline(runtime *rt, job *j);
/* Heap statistics and, past policy, a VM recycle (heap_policy.c). Called between passes. */
void heap_policy_check(runtime *rt, bool is_forced);
/* Takes the growth rule's baseline from the runtime's fresh VM, before any guest code. */
void heap_policy_start(runtime *rt);

/* What the pool gave the context's runtime (runtime_services.h). */
static inline const runtime_services *services_of(const struct jsp_context *ctx)
{
    return ctx->rt->services;
}

#endif
