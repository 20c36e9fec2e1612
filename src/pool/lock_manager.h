/* lock_manager.h — the pool's Web Locks state (navigator.locks), shared by every context
 * on every runtime: per lock name — a (namespace, name) pair, so that only contexts of one
 * namespace see each other's locks — the held locks and the FIFO queue of pending requests.
 * Any thread, under one mutex. Grants and steals reach the requesting context as
 * JOB_LOCK_EVENT jobs on its runtime; the JS side lives in src/apis/js/locks.js. */
#ifndef JSP_POOL_LOCK_MANAGER_H
#define JSP_POOL_LOCK_MANAGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine_locks.h"
#include "util/u64_map.h"

struct jsp_context;
struct lock_name;

typedef struct lock_manager {
    pthread_mutex_t mutex;
    struct lock_name **buckets;      /* by name hash; bucket_count is a power of two */
    size_t bucket_count, name_count;
    struct lock_name *first, *last;  /* names in creation order, as query() lists them */
    u64_map requests;                /* request id -> lock_request, held or pending */
    uint64_t next_request_id;
} lock_manager;

int lock_manager_init(lock_manager *lm);
/* Frees everything left (nothing is, once every context died). */
void lock_manager_destroy(lock_manager *lm);

/* Adds ctx's request for name (UTF-16, copied) in ctx's namespace per the Web Locks
 * rules: granted when no held lock conflicts and it is first in the name's queue. steal
 * releases the name's held locks in that namespace (their owners get ENGINE_LOCK_STOLEN)
 * and grants at once. Runtime thread of ctx.
 * Returns 0 and *request_id (the grant comes as a job, possibly at once),
 * ENGINE_LOCK_NOT_AVAILABLE (if_available and not grantable now), JSP_ETOO_MANY (ctx has
 * ENGINE_LOCK_REQUESTS_PER_CONTEXT already), or JSP_ENOMEM. */
int lock_manager_request(lock_manager *lm, struct jsp_context *ctx, const uint16_t *name,
                         size_t name_len, bool is_shared, bool if_available, bool steal,
                         uint64_t *request_id);
/* Releases a held lock and grants what then can be. Ignores ids that are not held by
 * context_id (stolen or dropped already): returns whether it released one. */
bool lock_manager_release(lock_manager *lm, uint64_t context_id, uint64_t request_id);
/* Removes a pending request of context_id; false when it is not pending any more. */
bool lock_manager_abort(lock_manager *lm, uint64_t context_id, uint64_t request_id);
/* Releases every lock and drops every request of a context (destroyed, or its VM
 * recycled). Must run before the context's memory can go: requests borrow it. */
void lock_manager_drop_context(lock_manager *lm, uint64_t context_id);
/* A copy of the state of namespace ns (held and pending, in name creation order). 0 or
 * JSP_ENOMEM. */
int lock_manager_query(lock_manager *lm, const char *ns, engine_lock_snapshot *out);

#endif
