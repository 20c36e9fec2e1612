/* transform_cache.c — the module transform's output for a source, shared by every VM of
 * the process: the first load of a module in a VM (an isolated context's own VM, each
 * runtime's light VM, a light VM after a recycle) skips module_transform and the
 * wrapper's body check when any VM already did both for the same bytes. Keyed by the
 * exact source bytes alone (the transform does not read the name), compared in full on a
 * hit; an entry goes in only after its body parsed on its own (module_transform.h), and
 * is immutable: users hold a reference, so eviction never frees one in use. Bounded by
 * TRANSFORM_CACHE_BYTES and TRANSFORM_CACHE_MAX_ENTRIES, least recently used first; a
 * source over a quarter of the bound is not kept. Any thread (one mutex; the hash is taken
 * outside it, the byte comparison inside). Not for: compiled code (per VM, in
 * engine_code_cache.c) or anything with JSC objects. */
#include "engine/transform_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/list.h"
#include "util/u64_map.h"

struct shared_transform {
    struct shared_transform *prev, *next; /* LRU, most recent first; unlinked once evicted */
    uint64_t hash;
    size_t refs;        /* the cache's (while listed) + each holder's; under the mutex */
    size_t source_len;
    char *source;
    module_script m;    /* the whole transform output, script text included */
    size_t cost;
};

LIST_DLIST(transform_list, shared_transform, prev, next)

static struct {
    pthread_mutex_t lock;
    u64_map by_hash;
    shared_transform *head, *tail;
    size_t bytes, count;
    uint64_t hits, misses, evictions;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash_source(const char *p, size_t n)
{
    uint64_t h = hash_bytes(0x13198a2e03707344ull, p, n);
    return h == 0 || h == UINT64_MAX ? 1 : h; /* u64_map reserves both */
}

static void entry_free(shared_transform *t)
{
    module_script_free(&t->m);
    free(t->source);
    free(t);
}

/* Under the lock. */
static void unlist(shared_transform *t)
{
    u64_map_remove(&cache.by_hash, t->hash);
    transform_list_remove(&cache.head, &cache.tail, t);
    cache.bytes -= t->cost;
    cache.count--;
    cache.evictions++;
    if (--t->refs == 0)
        entry_free(t);
}

const shared_transform *transform_cache_get(const char *source, size_t len)
{
    uint64_t h = hash_source(source, len);
    pthread_mutex_lock(&cache.lock);
    shared_transform *t = u64_map_get(&cache.by_hash, h);
    if (t && t->source_len == len && memcmp(t->source, source, len) == 0) {
        t->refs++;
        transform_list_remove(&cache.head, &cache.tail, t);
        transform_list_push_front(&cache.head, &cache.tail, t);
        cache.hits++;
    } else {
        t = NULL;
        cache.misses++;
    }
    pthread_mutex_unlock(&cache.lock);
    return t;
}

const module_script *shared_transform_script(const shared_transform *t)
{
    return &t->m;
}

void transform_cache_release(const shared_transform *t)
{
    if (!t)
        return;
    shared_transform *mine = (shared_transform *)t;
    pthread_mutex_lock(&cache.lock);
    bool is_last = --mine->refs == 0;
    pthread_mutex_unlock(&cache.lock);
    if (is_last)
        entry_free(mine);
}

/* A full copy of m (script text and positions too). 0 or -1. */
static int copy_script(const module_script *from, module_script *to)
{
    if (module_script_copy_meta(from, to) != MODULE_TRANSFORM_OK)
        return -1;
    to->script = malloc(from->script_len + 1);
    if (!to->script) {
        module_script_free(to);
        return -1;
    }
    memcpy(to->script, from->script, from->script_len + 1);
    to->script_len = from->script_len;
    to->line1_prefix_len = from->line1_prefix_len;
    to->body_start = from->body_start;
    to->body_end = from->body_end;
    return 0;
}

void transform_cache_put(const char *source, size_t len, const module_script *m)
{
    if (len + m->script_len > TRANSFORM_CACHE_BYTES / 4)
        return;
    shared_transform *t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->source = malloc(len ? len : 1);
    if (!t->source || copy_script(m, &t->m) != 0) {
        free(t->source);
        free(t);
        return;
    }
    memcpy(t->source, source, len);
    t->source_len = len;
    t->hash = hash_source(source, len);
    t->refs = 1;
    t->cost = sizeof *t + len + m->script_len + 1;
    for (size_t i = 0; i < t->m.export_count; i++)
        t->cost += strlen(t->m.export_names[i]) + 1 + sizeof(char *);
    for (size_t i = 0; i < t->m.import_count; i++)
        t->cost += strlen(t->m.imports[i]) + 1 + sizeof(char *) + sizeof(int);
    pthread_mutex_lock(&cache.lock);
    shared_transform *same_slot = u64_map_get(&cache.by_hash, t->hash);
    if (same_slot) /* the same source put twice (two VMs missed at once), or a collision */
        unlist(same_slot);
    while (cache.tail && (cache.bytes + t->cost > TRANSFORM_CACHE_BYTES ||
                          cache.count >= TRANSFORM_CACHE_MAX_ENTRIES))
        unlist(cache.tail);
    bool is_listed = u64_map_put(&cache.by_hash, t->hash, t) == 0;
    if (is_listed) {
        transform_list_push_front(&cache.head, &cache.tail, t);
        cache.bytes += t->cost;
        cache.count++;
    }
    pthread_mutex_unlock(&cache.lock);
    if (!is_listed)
        entry_free(t);
}

void transform_cache_stats(transform_cache_stats_t *out)
{
    pthread_mutex_lock(&cache.lock);
    *out = (transform_cache_stats_t){.entries = cache.count, .bytes = cache.bytes, .hits = cache.hits,
                                     .misses = cache.misses, .evictions = cache.evictions};
    pthread_mutex_unlock(&cache.lock);
}

void transform_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    while (cache.tail)
        unlist(cache.tail);
    u64_map_free(&cache.by_hash);
    pthread_mutex_unlock(&cache.lock);
}
