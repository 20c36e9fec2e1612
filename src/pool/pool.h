/* pool.h — the pool's internal structure: its runtimes, the host-function registry and
 * the callbacks given at creation. Shared by src/pool/ and the runtime layer. */
#ifndef JSP_POOL_H
#define JSP_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "jspool.h"
#include "pool/channels.h"
#include "pool/context_names.h"
#include "pool/lock_manager.h"
#include "runtime/runtime.h"

enum { HOST_CALL_QUARANTINE = 1024 }; /* calls kept after release (jsp_host_call_resolve) */

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
    runtime *runtimes;
    int started_count;         /* runtimes whose thread started */
    atomic_uint_fast64_t next_context_id;
    atomic_uint next_runtime;  /* round-robin cursor */
    atomic_int live_contexts;  /* against config.max_contexts */
    host_registry hosts;
    broadcast_registry broadcasts; /* BroadcastChannel names -> subscribed contexts */
    lock_manager locks;        /* navigator.locks, per namespace */
    context_names names;       /* names of live contexts, unique in the pool */
    /* Released host calls kept allocated (marked dead) so that a second answer finds a
     * dead magic instead of freed memory; a ring, each slot swapped atomically. */
    _Atomic(struct jsp_host_call *) host_call_quarantine[HOST_CALL_QUARANTINE];
    atomic_size_t host_call_quarantine_next;
    pthread_mutex_t workers_lock; /* guards workers and each listed context's pool_* links */
    struct jsp_context *workers;  /* live worker contexts, newest first (jsp_pool_workers) */
};

/* Frees the host calls still in the quarantine (host_calls.c): the pool is going. */
void host_call_quarantine_free(jsp_pool *pool);

/* A worker context joins the pool's list once built and leaves it when it dies. */
void pool_list_worker(struct jsp_context *ctx);
void pool_unlist_worker(struct jsp_context *ctx);

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
