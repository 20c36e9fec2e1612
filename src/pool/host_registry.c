/* host_registry.c — the pool's table of host functions by name. Registration may happen
 * at any time from any thread; lookups (one per host.call) take a read lock. A linear
 * table: pools register tens of functions, not thousands. */
#include "pool/api_guard.h"

#include <stdlib.h>
#include <string.h>

int host_registry_init(host_registry *r)
{
    *r = (host_registry){0};
    return pthread_rwlock_init(&r->lock, NULL) == 0 ? 0 : JSP_ESYSTEM;
}

void host_registry_destroy(host_registry *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->entries[i].name);
    free(r->entries);
    pthread_rwlock_destroy(&r->lock);
}

static host_entry *find_locked(host_registry *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->entries[i].name, name) == 0)
            return &r->entries[i];
    return NULL;
}

bool host_registry_find(host_registry *r, const char *name, host_entry *out)
{
    pthread_rwlock_rdlock(&r->lock);
    host_entry *e = find_locked(r, name);
    if (e)
        *out = *e;
    pthread_rwlock_unlock(&r->lock);
    return e != NULL;
}

int jsp_pool_register(jsp_pool *pool, const char *name, jsp_host_fn fn, void *user)
{
    if (!api_pool_ok(pool) || !name || !*name || !fn)
        return JSP_EINVAL;
    host_registry *r = &pool->hosts;
    int rc = 0;
    pthread_rwlock_wrlock(&r->lock);
    if (find_locked(r, name)) {
        rc = JSP_EEXIST;
    } else if (r->count == r->capacity) {
        size_t capacity = r->capacity ? r->capacity * 2 : 8;
        host_entry *entries = realloc(r->entries, capacity * sizeof(*entries));
        if (entries) {
            r->entries = entries;
            r->capacity = capacity;
        } else {
            rc = JSP_ENOMEM;
        }
    }
    if (rc == 0) {
        char *copy = strdup(name);
        if (copy)
            r->entries[r->count++] = (host_entry){.name = copy, .fn = fn, .user = user};
        else
            rc = JSP_ENOMEM;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}
