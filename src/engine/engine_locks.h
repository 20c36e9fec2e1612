/* engine_locks.h — the bridge of the `locks` group (navigator.locks): the types its natives
 * (src/engine/natives_locks.c) exchange with the host (the lock_* operations of
 * engine_host.h, which src/runtime/lock_requests.c implements over the pool's lock
 * manager), and how a lock event reaches the group's JS. Engine-free types only; every function runs on the context's runtime thread. */
#ifndef JSP_ENGINE_LOCKS_H
#define JSP_ENGINE_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/engine.h"

/* What happened to a request, told to the group's JS (locks.js `deliver`). */
enum engine_lock_event {
    ENGINE_LOCK_GRANTED = 1,   /* run the callback with a Lock */
    ENGINE_LOCK_STOLEN = 2,    /* another request stole it: reject with AbortError */
    ENGINE_LOCK_ABANDONED = 3, /* its callback was stopped by a limit; the lock is gone */
};

/* One held or pending request, as query() reports it. name is UTF-16, owned. */
typedef struct engine_lock_info {
    uint16_t *name;
    size_t name_len;
    bool is_shared;
    uint64_t context_id;
} engine_lock_info;

struct engine_lock_snapshot {
    engine_lock_info *held, *pending;
    size_t held_count, pending_count;
};

static inline void engine_lock_snapshot_free(engine_lock_snapshot *s)
{
    for (size_t i = 0; i < s->held_count; i++)
        free(s->held[i].name);
    for (size_t i = 0; i < s->pending_count; i++)
        free(s->pending[i].name);
    free(s->held);
    free(s->pending);
    *s = (engine_lock_snapshot){0};
}

/* Runs the group's JS for an event of request_id. Returns true when the context's JS knew
 * the request (false: unknown — e.g. made before a VM recycle — or the group never loaded). */
bool engine_locks_deliver(engine_ctx *ec, uint64_t request_id, int event);

/* Requests a context may have held or pending at once (each holds host memory and a JS
 * record until it settles): past it, request() rejects with a RangeError. */
#define ENGINE_LOCK_REQUESTS_PER_CONTEXT 10000
/* Lock names are copied (UTF-16) into the pool's lock manager, outside every JS heap: 10,000
 * requests with names of 4 MiB each would hold 80 GB. At most this many UTF-16 units. */
#define ENGINE_LOCK_NAME_MAX 1024

/* Returned by the host's lock_request when if_available was asked and the lock is not
 * grantable now. */
#define ENGINE_LOCK_NOT_AVAILABLE 1

#endif
