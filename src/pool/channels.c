/* channels.c — see channels.h. A chained hash table of (key, context, open count) entries;
 * a post copies out its subscribers under the lock and queues jobs outside it. Not for
 * delivery (runtime/messaging.c). */
#include "pool/channels.h"
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>

struct broadcast_sub {
    broadcast_sub *next;
    struct jsp_context *ctx;
    unsigned open_count;   /* channels of this key open in ctx */
    char key[];
};

static size_t bucket_of(const char *key)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)(h % BROADCAST_BUCKETS);
}

int broadcast_registry_init(broadcast_registry *r)
{
    memset(r->buckets, 0, sizeof(r->buckets));
    atomic_init(&r->generation, 0);
    return pthread_mutex_init(&r->lock, NULL) == 0 ? 0 : JSP_ESYSTEM;
}

void broadcast_registry_destroy(broadcast_registry *r)
{
    for (size_t i = 0; i < BROADCAST_BUCKETS; i++) /* empty by now: every context died */
        while (r->buckets[i]) {
            broadcast_sub *s = r->buckets[i];
            r->buckets[i] = s->next;
            free(s);
        }
    pthread_mutex_destroy(&r->lock);
}

int broadcast_subscribe(broadcast_registry *r, struct jsp_context *ctx, const char *key, bool *is_new_name)
{
    broadcast_sub **bucket = &r->buckets[bucket_of(key)];
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    broadcast_sub *s = *bucket;
    while (s && !(s->ctx == ctx && strcmp(s->key, key) == 0))
        s = s->next;
    *is_new_name = s == NULL;
    if (s) {
        s->open_count++;
    } else {
        size_t n = strlen(key) + 1;
        s = malloc(sizeof(*s) + n);
        if (s) {
            memcpy(s->key, key, n);
            s->ctx = ctx;
            s->open_count = 1;
            s->next = *bucket;
            *bucket = s;
            atomic_fetch_add(&r->generation, 1);
        } else {
            rc = JSP_ENOMEM;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

bool broadcast_unsubscribe(broadcast_registry *r, struct jsp_context *ctx, const char *key)
{
    bool is_last = false;
    pthread_mutex_lock(&r->lock);
    for (broadcast_sub **at = &r->buckets[bucket_of(key)]; *at; at = &(*at)->next) {
        broadcast_sub *s = *at;
        if (s->ctx != ctx || strcmp(s->key, key) != 0)
            continue;
        if (--s->open_count == 0) {
            *at = s->next;
            free(s);
            is_last = true;
            atomic_fetch_add(&r->generation, 1);
        }
        break;
    }
    pthread_mutex_unlock(&r->lock);
    return is_last;
}

void broadcast_unsubscribe_all(broadcast_registry *r, struct jsp_context *ctx)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < BROADCAST_BUCKETS; i++)
        for (broadcast_sub **at = &r->buckets[i]; *at;) {
            broadcast_sub *s = *at;
            if (s->ctx == ctx) {
                *at = s->next;
                free(s);
                atomic_fetch_add(&r->generation, 1);
            } else {
                at = &s->next;
            }
        }
    pthread_mutex_unlock(&r->lock);
}

bool broadcast_has_other(broadcast_registry *r, const char *key, const struct jsp_context *ctx)
{
    bool has_other = false;
    pthread_mutex_lock(&r->lock);
    for (broadcast_sub *s = r->buckets[bucket_of(key)]; s && !has_other; s = s->next)
        has_other = s->ctx != ctx && strcmp(s->key, key) == 0;
    pthread_mutex_unlock(&r->lock);
    return has_other;
}

size_t broadcast_subscribers(broadcast_registry *r, const char *key, struct jsp_context ***out)
{
    size_t count = 0, capacity = 0;
    struct jsp_context **list = NULL;
    pthread_mutex_lock(&r->lock);
    for (broadcast_sub *s = r->buckets[bucket_of(key)]; s; s = s->next) {
        if (strcmp(s->key, key) != 0)
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 8;
            struct jsp_context **grown = realloc(list, capacity * sizeof(*list));
            if (!grown)
                break; /* out of memory: the ones gathered so far still get it */
            list = grown;
        }
        context_retain(s->ctx); /* alive: its entry is removed before it is released */
        list[count++] = s->ctx;
    }
    pthread_mutex_unlock(&r->lock);
    *out = list;
    return count;
}
