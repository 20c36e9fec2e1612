/* pool.h — the pool's internal structure: its runtimes, the host-function registry and
 * the callbacks given at creation. For src/pool/ only: the runtime layer below gets what
 * it needs through runtime_services (src/runtime/runtime_services.h, filled in pool.c). */
#ifndef JSP_POOL_H
#define JSP_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "jspool.h"
#include "pool/channels.h"
#include "pool/context_names.h"
#include "pool/store_claims.h"
#include "pool/lock_manager.h"
#include "runtime/runtime.h"
#include "util/completion.h"

typedef struct host_entry {
    char *name;
    jsp_host_fn fn;
    void *user;
} host_entry;

typedef struct host_registry {
    pthread_rwlock_t lock;     /* registration is rare, lookups are per host.call */
    host_entry *entries;
    size_t count, capacity;
} host_registry;

struct jsp_pool {
    _Atomic uint32_t magic;    /* POOL_MAGIC until jsp_pool_free (pool/api_guard.h) */
    atomic_int refs;           /* the user's + one per context handle + one per host call */
    atomic_bool is_closed;
    jsp_pool_config config;    /* callbacks and settings as given (threads resolved) */
    int thread_count;
    completion_spin wait_spin; /* how a synchronous caller waits (completion_spin_for) */
    runtime *runtimes;
    int started_count;         /* runtimes whose thread started */
    atomic_uint_fast64_t next_context_id;
    atomic_uint next_runtime;  /* round-robin cursor */
    atomic_int live_contexts;  /* against config.max_contexts */
    host_registry hosts;
    broadcast_registry broadcasts; /* BroadcastChannel names -> subscribed contexts */
    lock_manager locks;        /* navigator.locks, per namespace */
    context_names names;       /* names of live contexts, unique in the pool */
    store_claims stores;       /* store files of live contexts: one context each */
    atomic_int egress_open;    /* guest network connections open, all runtimes
                                  (runtime_services.egress_open) */
    host_call_quarantine host_calls; /* released host calls (runtime.h) */
    runtime_services services;     /* what the runtimes get from the pool (pool.c) */
    pthread_mutex_t workers_lock; /* guards workers and each listed context's pool_* links */
    struct jsp_context *workers;  /* live worker contexts, newest first (jsp_pool_workers) */
};

/* A worker context joins the pool's list once built and leaves it when it dies. */
void pool_list_worker(struct jsp_context *ctx);
void pool_unlist_worker(struct jsp_context *ctx);

/* Creation in steps, for contexts made from a runtime thread (workers), which must not wait:
 * alloc counts and places a handle (one reference, the caller's); context_queue_create
 * (runtime.h) sends it to its runtime; after a failure, creation_failed undoes the counts —
 * is_runtime_counted when the runtime did not uncount it itself (not queued, or refused as
 * closing). Given to the runtime as services (context_handle.c). */
int context_alloc(jsp_pool *pool, const jsp_context_config *cfg, uint32_t apis_mask,
                  struct jsp_context **out);
void context_creation_failed(struct jsp_context *ctx, bool is_runtime_counted);

void pool_retain(jsp_pool *pool);
void pool_release(jsp_pool *pool);
/* Picks the runtime for a new context per the configured placement. */
runtime *pool_place(jsp_pool *pool, const jsp_context_config *cfg);
/* Logs through the configured callback (or stderr). Any thread. */
void pool_log(jsp_pool *pool, int level, uint64_t context_id, const char *message);

int host_registry_init(host_registry *r);
void host_registry_destroy(host_registry *r);
/* Copies out the entry for name; false if none. */
bool host_registry_find(host_registry *r, const char *name, host_entry *out);

#endif
