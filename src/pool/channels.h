/* channels.h — the pool's BroadcastChannel registry: which contexts have a channel open
 * under which name. Any thread, behind one mutex. Entries never outlive their context: a
 * context's entries go when its channels close or when it dies (messaging.c), before its
 * handle can be released, so the registry needs no references of its own. */
#ifndef JSP_POOL_CHANNELS_H
#define JSP_POOL_CHANNELS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsp_context;
typedef struct broadcast_sub broadcast_sub;

enum { BROADCAST_BUCKETS = 256 };

typedef struct broadcast_registry {
    pthread_mutex_t lock;
    broadcast_sub *buckets[BROADCAST_BUCKETS]; /* by hash of the key (name as JSON text) */
    /* Bumped (under lock) whenever an entry comes or goes: a context that saw no other
     * subscriber of a name may trust that answer while this has not moved (channel.js
     * reads it through a view, to skip asking on every post). */
    _Atomic uint32_t generation;
} broadcast_registry;

int broadcast_registry_init(broadcast_registry *r);
void broadcast_registry_destroy(broadcast_registry *r);
/* One more channel of key open in ctx. 0, or JSP_ENOMEM. *is_new_name: ctx had none. */
int broadcast_subscribe(broadcast_registry *r, struct jsp_context *ctx, const char *key, bool *is_new_name);
/* One channel fewer; true when it was ctx's last of key (the entry is gone). */
bool broadcast_unsubscribe(broadcast_registry *r, struct jsp_context *ctx, const char *key);
/* Removes every entry of ctx (it is dying). */
void broadcast_unsubscribe_all(broadcast_registry *r, struct jsp_context *ctx);
/* Whether a context other than ctx is subscribed to key (nothing allocated). */
bool broadcast_has_other(broadcast_registry *r, const char *key, const struct jsp_context *ctx);
/* The contexts subscribed to key, each retained (context_release them), in a malloc'd
 * array (free it); returns how many (0 and *out NULL when none or out of memory). */
size_t broadcast_subscribers(broadcast_registry *r, const char *key, struct jsp_context ***out);

#endif
