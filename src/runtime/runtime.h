/* runtime.h — one runtime: an OS thread running a libuv loop that owns one JSC VM and
 * executes the jobs queued for the contexts placed on it. Also defines the structures
 * shared between the pool layer (which creates handles and jobs on any thread) and the
 * runtime thread (which runs them). */
#ifndef JSP_RUNTIME_H
#define JSP_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine/engine.h"
#include "jspool.h"
#include "runtime/job_queue.h"
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
} runtime_metrics;

extern const double call_duration_bounds[CALL_DURATION_BUCKETS];
void metrics_record_call(runtime_metrics *m, int code, uint64_t duration_ns);

typedef enum job_kind {
    JOB_CREATE,
    JOB_DESTROY,
    JOB_EVAL,
    JOB_LOAD_MODULE,
    JOB_CALL,
    JOB_SEND,
    JOB_GLOBAL_GET,
    JOB_GLOBALS_LIST,
    JOB_GLOBALS_SNAPSHOT,
    JOB_GLOBALS_RESET,
    JOB_HOST_REPLY,
    JOB_CHANNEL_MESSAGE,  /* a BroadcastChannel or worker message: name = target, text = data */
    JOB_WORKER_START,     /* a new worker's source (text) and name (name) */
    JOB_LOCK_EVENT,            /* a Web Locks grant or steal for ctx (lock_requests.c) */
} job_kind;

/* One unit of work for a runtime thread. Created by any thread, run and freed by the
 * runtime thread. Text payloads live in the same allocation. */
struct job {
    job *next;
    job_kind kind;
    struct jsp_context *ctx;   /* a reference is held while the job exists */
    jsp_done_fn done;          /* NULL for jobs nobody waits on (send, destroy) */
    void *user;
    uint64_t call_id;          /* key in ctx->pending_calls while a Promise is awaited */
    jsp_host_call *host_call;  /* JOB_HOST_REPLY: the answered call */
    bool is_reply_ok;          /* JOB_HOST_REPLY: resolve (true) or reject */
    uint64_t lock_request_id;  /* JOB_LOCK_EVENT: the request, and ... */
    int lock_event;            /* ... what happened to it (enum engine_lock_event) */
    const char *name;          /* JOB_CALL function / JOB_GLOBAL_GET name, in text[] */
    timer_entry *deadline;     /* wall-limit entry in the timer heap while a call runs */
    size_t message_bytes;      /* counted in ctx->queued_message_bytes until freed */
    uint64_t message_tag;      /* JOB_SEND: jsp_send_tagged's tag (0 = none) */
    uint64_t start_ns;         /* monotonic, when a call started running (0: never ran) */
    size_t text_len;
    char text[];               /* source, JSON or reply text, NUL-terminated */
};

enum context_state { CONTEXT_ALIVE = 0, CONTEXT_DESTROYED = 1 };

/* A context handle. The first block is set once at creation and read by any thread; the
 * atomics are shared; the rest belongs to the runtime thread alone. */
struct jsp_context {
    _Atomic uint32_t magic;    /* CONTEXT_MAGIC until jsp_context_free (pool/api_guard.h) */
    uint64_t id;
    char *name;
    jsp_pool *pool;
    runtime *rt;

    uint64_t cpu_limit_ms;     /* 0 = unlimited */
    uint64_t wall_limit_ms;    /* 0 = unlimited */
    uint64_t memory_limit_bytes; /* 0 = a light context; else isolated in own_vm */
    uint32_t apis_mask;        /* web-API groups (apis/api_groups.h) */
    jsp_module_loader_fn module_loader; /* for imports; NULL = refused (jsp_context_config) */
    void *module_loader_user;
    char *namespace_key;       /* BroadcastChannel and locks scope: the operator's namespace
                                  name, or "#<id>" (private: '#' is not allowed in names) */

    atomic_int refs;           /* user handle + runtime (while alive) + each job */
    atomic_int state;          /* enum context_state, as the API sees it */
    atomic_int queued_jobs;    /* submitted, not yet started: back-pressure */
    atomic_bool is_cancelled;  /* destroy requested: its running JS is terminated at the
                                  next watchdog tick (engine_budget.cancel) */
    /* CPU accounting (runtime thread writes, jsp_context_cpu reads; relaxed) */
    _Atomic uint64_t cpu_ns;          /* all its JS so far */
    _Atomic uint64_t window_start_ns; /* the current share window began (monotonic) */
    _Atomic uint64_t window_cpu_ns;   /* CPU in the current window ... */
    _Atomic uint64_t previous_window_cpu_ns; /* ... and in the one before */
    _Atomic uint64_t throttled_ns;    /* time spent throttled, ended throttles */
    _Atomic uint64_t throttle_count;
    _Atomic uint64_t throttled_since_ns; /* monotonic; 0 = not throttled now */
    atomic_size_t queued_message_bytes; /* channel/worker messages queued to it (messaging.c) */
    int lock_requests;         /* held + pending navigator.locks requests: under the lock
                                  manager's mutex (lock_manager.c) */

    /* ---- runtime thread only ---- */
    engine_ctx *ec;            /* NULL until created and after death */
    engine_vm *own_vm;         /* isolated contexts only: their VM */
    _Atomic uint64_t held_bytes; /* isolated: own_vm's heap at the last measurement (read
                                    by jsp_context_memory on any thread) */
    unsigned runs_since_measure;
    bool is_dead;              /* killed on the runtime: further jobs fail */
    int blocked_depth;         /* > 0 while its JS is on the stack (engine_entered work,
                                  host.callSync): its jobs and timers wait */
    uint64_t current_call_id;  /* the call whose JS runs now, 0 for timers and messages */
    job *jobs_head, *jobs_tail; /* its jobs taken from the queue, not yet run (runtime.c) */
    struct jsp_context *rr_prev, *rr_next; /* in rt's round-robin of runnable contexts */
    bool is_in_round;
    int64_t cpu_credit_ns;     /* CPU share left: earned at cpu_share of wall time, up
                                  to cpu_share x window; spent by its runs */
    uint64_t credit_at_ns;     /* monotonic time cpu_credit_ns was last brought forward */
    uint64_t throttled_until_ns; /* 0, or when its credit is back to zero */
    u64_map timers;            /* timer id -> timer_entry */
    uint64_t next_timer_id;
    u64_map pending_calls;     /* call id -> job awaiting a Promise */
    _Atomic uint64_t generation; /* times a VM recycle rebuilt it (jsp_context_generation) */
    char *module_source;       /* the last module loaded: rebuilt from on VM recycle */
    size_t module_source_len;
    const char *module_source_name; /* in module_source's allocation; NULL = unnamed */
    jsp_host_call *host_calls; /* outstanding host.call()s, for cleanup */
    atomic_uint host_calls_held; /* host calls made and not yet let go by both owners (the
                                    handler may hold one after the guest's call ended): any
                                    thread, against max_host_calls_per_context */
    u64_map lock_deadlines;    /* held lock request id -> its wall-limit timer entry */
    struct context_messaging *messaging; /* channels and workers (messaging.c); NULL: none */
    uint64_t parent_id;        /* a worker: its parent's id (set before creation); else 0 */
    struct jsp_context *pool_prev, *pool_next; /* pool's worker list (pool->workers_lock) */
    bool is_pool_listed;       /* in it (pool->workers_lock) */
    struct jsp_context *prev, *next; /* runtime's list of live contexts */
};

/* A host.call / host.callSync in flight. Two owners: the handler's duty to answer, and
 * the runtime's record of it; the last to let go frees it. */
struct jsp_host_call {
    _Atomic uint32_t magic;    /* HOST_CALL_LIVE until answered (host_calls.c) */
    atomic_int refs;
    jsp_pool *pool;            /* a pool reference keeps the runtime's queue alive */
    runtime *rt;
    struct jsp_context *counted; /* a reference: its host_calls_held counts this call */
    uint64_t context_id;
    char *name;
    char *args;
    size_t args_len;
    /* ---- runtime thread only ---- */
    struct jsp_context *ctx;   /* NULL once cancelled (context died) */
    uint64_t call_id;          /* the call that made it: cleared when that call settles */
    engine_host_promise *promise; /* async calls */
    bool is_sync;
    bool is_answered;          /* sync: the reply below is filled */
    bool is_reply_ok;
    char *reply;
    size_t reply_len;
    jsp_host_call *prev, *next; /* ctx->host_calls */
};

struct runtime {
    jsp_pool *pool;
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
};

/* Starts the thread; returns once its VM exists. 0 or JSP_ESYSTEM / JSP_ENOMEM. */
int runtime_start(runtime *rt, jsp_pool *pool, int index);
/* Closes the queue, lets queued jobs finish, kills remaining contexts, joins. */
void runtime_stop(runtime *rt);
/* True on a runtime thread (sync API calls from there would deadlock). */
bool runtime_is_current_thread(void);
/* The tag of the JOB_SEND whose onmessage handler runs now on this thread, 0 otherwise
 * (what jsp_message_tag returns). */
uint64_t runtime_current_message_tag(void);
void runtime_set_message_tag(uint64_t tag);

/* ---- runtime thread internals (runtime.c / runtime_jobs.c / host_calls.c) ---- */
void runtime_run_job(runtime *rt, job *j);
void runtime_kill_context(runtime *rt, struct jsp_context *ctx, int code);
void runtime_complete(job *j, jsp_result *result); /* runs done, frees the job */
void runtime_fail(job *j, int code);
/* Runs jobs and timers of other contexts until *is_done, the queue closes, or ctx dies. */
void runtime_wait_nested(runtime *rt, struct jsp_context *ctx, const bool *is_done);
void host_call_cancel(jsp_host_call *call); /* runtime thread: the context died */
void host_call_apply_reply(job *j);          /* runtime thread: JOB_HOST_REPLY */
/* Cancels the async host calls call_id left pending; returns how many. */
size_t host_calls_clear_for_call(struct jsp_context *ctx, uint64_t call_id);

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

/* ---- shared helpers (context_handle.c / calls.c) ---- */
void context_retain(struct jsp_context *ctx);
void context_release(struct jsp_context *ctx);
job *job_new(job_kind kind, struct jsp_context *ctx, const char *text, size_t text_len,
             const char *name);
void job_free(job *j);
/* Creation in steps, for contexts made from a runtime thread (workers), which must not wait:
 * alloc counts and places a handle (one reference, the caller's); queue_create sends it
 * to its runtime, where done runs with the outcome (0, or JSP_ECLOSED / JSP_ENOMEM and done
 * never runs); after a failure, creation_failed undoes the counts — is_runtime_counted
 * when the runtime did not uncount it itself (not queued, or refused as closing). */
int context_alloc(jsp_pool *pool, const jsp_context_config *cfg, uint32_t apis_mask,
                  struct jsp_context **out);
int context_queue_create(struct jsp_context *ctx, jsp_done_fn done, void *user);
void context_creation_failed(struct jsp_context *ctx, bool is_runtime_counted);

#endif
