/* runtime_services.h — what the runtime needs from the layer above it (the pool), handed
 * down as handles and function pointers so that the runtime includes no pool header: the
 * pool's settings and log, the host-function registry, the BroadcastChannel registry, the
 * lock manager, the name table, the worker list and context creation for workers. The
 * pool fills one instance (pool.c) before it starts its runtimes and keeps it, unchanged,
 * until its last reference goes — which every context, job and host call holds — so any
 * runtime code that reaches a context may use it. Not for calls from the pool down: those
 * are the runtime's own functions (runtime.h). */
#ifndef JSP_RUNTIME_SERVICES_H
#define JSP_RUNTIME_SERVICES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jspool.h"

struct jsp_context;
struct engine_lock_snapshot;
struct broadcast_registry; /* src/pool/channels.h */
struct lock_manager;       /* src/pool/lock_manager.h */
struct context_names;      /* src/pool/context_names.h */
struct store_claims;       /* src/pool/store_claims.h */
struct host_call_quarantine; /* runtime.h */

typedef struct runtime_services {
    jsp_pool *pool;                 /* the embedder's handle: given back to on_message */
    const jsp_pool_config *config;  /* the pool's settings, defaults resolved */
    struct host_call_quarantine *host_calls; /* where released host calls wait (host_calls.c) */

    /* Any thread: through the configured log callback. */
    void (*log)(jsp_pool *pool, int level, uint64_t context_id, const char *message);
    /* The pool's reference count: held by each context and each host call. */
    void (*retain)(jsp_pool *pool);
    void (*release)(jsp_pool *pool);
    /* host.call: the registered function and its user pointer; false when none. */
    bool (*find_host)(jsp_pool *pool, const char *name, jsp_host_fn *fn, void **user);

    /* BroadcastChannel names -> subscribed contexts (contracts in pool/channels.h). */
    struct broadcast_registry *broadcasts;
    int (*broadcast_subscribe)(struct broadcast_registry *r, struct jsp_context *ctx,
                               const char *key, bool *is_new_name);
    bool (*broadcast_unsubscribe)(struct broadcast_registry *r, struct jsp_context *ctx,
                                  const char *key);
    void (*broadcast_unsubscribe_all)(struct broadcast_registry *r, struct jsp_context *ctx);
    size_t (*broadcast_subscribers)(struct broadcast_registry *r, const char *key,
                                    struct jsp_context ***out);
    bool (*broadcast_has_other)(struct broadcast_registry *r, const char *key,
                                const struct jsp_context *ctx);
    const _Atomic uint32_t *broadcast_generation; /* the registry's change counter */

    /* navigator.locks, per namespace (contracts in pool/lock_manager.h). */
    struct lock_manager *locks;
    int (*lock_request)(struct lock_manager *lm, struct jsp_context *ctx, const uint16_t *name,
                        size_t name_len, bool is_shared, bool if_available, bool steal,
                        uint64_t *request_id);
    bool (*lock_release)(struct lock_manager *lm, uint64_t context_id, uint64_t request_id);
    bool (*lock_abort)(struct lock_manager *lm, uint64_t context_id, uint64_t request_id);
    void (*lock_drop_context)(struct lock_manager *lm, uint64_t context_id);
    int (*lock_query)(struct lock_manager *lm, const char *ns, struct engine_lock_snapshot *out);

    /* Names of live contexts: a dead context's name is given back (idempotent). */
    struct context_names *names;
    void (*names_release)(struct context_names *t, struct jsp_context *ctx);

    /* Store files of live contexts: the runtime gives a context's back once it closed it. */
    struct store_claims *stores;
    void (*store_released)(struct store_claims *c, struct jsp_context *ctx);

    /* Guest connections open across the pool (fetch.h: fetch_slot_take), against
     * config->max_egress_connections. */
    atomic_int *egress_open;

    /* Workers: listed by jsp_pool_workers from creation to death. */
    void (*list_worker)(struct jsp_context *ctx);
    void (*unlist_worker)(struct jsp_context *ctx);
    /* A context made from a runtime thread (a worker), counted and placed by the pool; and
     * the undoing of those counts when it could not be built (see runtime.h,
     * context_queue_create). */
    int (*context_alloc)(jsp_pool *pool, const jsp_context_config *cfg, uint32_t apis_mask,
                         struct jsp_context **out);
    void (*context_creation_failed)(struct jsp_context *ctx, bool is_runtime_counted);
    /* jsp_context_destroy: ends a context (a worker, or a worker's child) as the API does,
     * by a job that runs after the current one. */
    void (*context_destroy)(struct jsp_context *ctx);
} runtime_services;

#endif
