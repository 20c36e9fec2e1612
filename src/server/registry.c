/* registry.c — see registry.h. Ids grow, so appending keeps the array sorted and lookups
 * are binary searches. */
#include "server/registry.h"

#include <stdlib.h>
#include <string.h>

static size_t lower_bound(const registry *r, uint64_t id)
{
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->items[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool registry_add(registry *r, served_context *sc)
{
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? r->capacity * 2 : 64;
        served_context **items = realloc(r->items, capacity * sizeof(*items));
        if (!items)
            return false;
        r->items = items;
        r->capacity = capacity;
    }
    size_t at = lower_bound(r, sc->id);
    memmove(r->items + at + 1, r->items + at, (r->count - at) * sizeof(*r->items));
    r->items[at] = sc;
    r->count++;
    return true;
}

served_context *registry_find(registry *r, uint64_t id)
{
    size_t at = lower_bound(r, id);
    return at < r->count && r->items[at]->id == id ? r->items[at] : NULL;
}

served_context *registry_find_name(registry *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->items[i]->name && strcmp(r->items[i]->name, name) == 0)
            return r->items[i];
    return NULL;
}

served_context *registry_remove(registry *r, uint64_t id)
{
    size_t at = lower_bound(r, id);
    if (at == r->count || r->items[at]->id != id)
        return NULL;
    served_context *sc = r->items[at];
    memmove(r->items + at, r->items + at + 1, (r->count - at - 1) * sizeof(*r->items));
    r->count--;
    return sc;
}

void served_context_free(served_context *sc)
{
    if (!sc)
        return;
    jsp_context_free(sc->ctx);
    free(sc->name);
    free(sc->store_file);
    free(sc);
}

void registry_free(registry *r)
{
    for (size_t i = 0; i < r->count; i++)
        served_context_free(r->items[i]);
    free(r->items);
    *r = (registry){0};
}
