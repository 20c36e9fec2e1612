/* context.h — a context handle (the public jsp_context): identity and limits set at
 * creation, atomics any thread reads, and the state its runtime thread alone owns; its
 * reference count and its creation job (context.c); and its identity as the engine's
 * engine_host_ctx. Creation policy (limits, names, placement) is the pool's. */
#ifndef JSP_RUNTIME_CONTEXT_H
#define JSP_RUNTIME_CONTEXT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "jspool.h"
#include "util/egress_policy.h"
#include "util/u64_map.h"

typedef struct runtime runtime;
typedef struct job job;
struct js_run;

enum context_state { CONTEXT_ALIVE = 0, CONTEXT_DESTROYED = 1 };

/* A context handle. The first block is set once at creation and read by any thread; the
 * atomics are shared; the rest belongs to the runtime thread alone. */
#define CONTEXT_MAGIC 0x6a737063u /* "jspc": jsp_context_new .. jsp_context_free */
#define HANDLE_FREED 0x66726565u  /* "free": a pool or context handle once freed by its owner */

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
    char *store_path;          /* NULL: no store; else its file (store_calls.c) */
    int store_durability;      /* enum store_durability (jsp_context_config.store_durability) */
    int64_t store_max_rows;    /* per call; 0 = the store's default */
    int64_t store_max_bytes;
    int64_t store_max_file_bytes; /* 0 = no cap */
    int64_t storage_quota;     /* localStorage / sessionStorage, UTF-16 code units per area */
    egress_policy egress;      /* what its fetches may reach (util/egress_policy.h) */
    int egress_max_requests;   /* fetches in flight at once */
    uint64_t egress_max_response_bytes; /* per response body */
    uint64_t egress_timeout_ms; /* per request, whole transfer; 0 = none */
    char *egress_ca_file;      /* NULL: the system's CA store */
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
    unsigned runs_since_walk;  /* runs since its heap was last walked (measure_isolated) */
    uint64_t rss_at_walk;      /* process RSS then */
    uint64_t walk_ns;          /* what that walk took (monotonic) */
    uint64_t run_ns_since_walk; /* time its runs held the thread since then */
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
    const char *module_source; /* the last module loaded: rebuilt from on VM recycle; in
                                  module_text or module_copy */
    size_t module_source_len;
    const char *module_source_name; /* likewise; NULL = unnamed */
    engine_text *module_text;  /* the code cache's text, shared by the contexts that loaded
                                  the same bytes; or NULL and ... */
    char *module_copy;         /* ... a copy of our own (source '\0' name) */
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
    /* the store (store_calls.c) */
    struct store *store;       /* NULL: none */
    job *store_call;           /* the call whose transaction is open (running or awaiting) */
    bool store_txn_open;       /* a transaction is open: store_call's, or a JS entry's */
    bool store_txn_declared;   /* it ran db.declare (once per transaction) */
    u64_map store_iters;       /* iterator id -> store_iter of the open transaction */
    struct jsp_context *store_prev, *store_next; /* rt->store_contexts */
    struct jsp_context *store_entry_next; /* rt->store_entries: an entry's transaction */
    struct js_run *store_entry_run; /* the run that opened it: ended when that run leaves */
    /* the fetch group (fetch.c) */
    u64_map fetches;           /* transfer id -> fetch_transfer, until its JS let go */
    uint64_t next_fetch_id;
    uint64_t fetch_held_bytes; /* their heads and unread bodies in C: against
                                  fetch_hold_budget (fetch.c) */
    int fetches_active;        /* of them, still on the network, and open WebSockets
                                  (websocket_client.c): against egress_max_requests */
    /* the websocket group (websocket_client.c) */
    u64_map websockets;        /* socket id -> ws_client, until its close event ran */
    uint64_t next_ws_id;
    bool ws_dirty;             /* a socket has sent messages not yet written */
    uint64_t ws_received_bytes; /* its sockets' received messages not yet given to its JS,
                                   wslay's buffers included (websocket_client.c) */
    bool ws_in_job;            /* its socket events are being delivered: written after */
    int ws_lookups;            /* its sockets' name lookups in flight (resolver.h) */
};

void context_retain(struct jsp_context *ctx);
/* Drops a reference; the last one gives the name back to the pool, frees the handle and
 * drops the handle's pool reference. */
void context_release(struct jsp_context *ctx);
/* Sends a context allocated by the pool (context_alloc in pool/pool.h, or the services'
 * context_alloc from a runtime thread) to its runtime, where done runs with the outcome:
 * 0, or JSP_ECLOSED / JSP_ENOMEM and done never runs (then the pool's
 * context_creation_failed undoes the counts). has_spare: the caller reserved a spare
 * global for it (runtime_reserve_spare); done is then NULL, nobody waits. */
int context_queue_create(struct jsp_context *ctx, jsp_done_fn done, void *user, bool has_spare);

/* A context is the engine's engine_host_ctx: these two convert, and nothing else does. */
static inline engine_host_ctx *context_host(struct jsp_context *ctx)
{
    return (engine_host_ctx *)ctx;
}
static inline struct jsp_context *host_context(engine_host_ctx *h)
{
    return (struct jsp_context *)h;
}

#endif
