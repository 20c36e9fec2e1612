/* transform_cache.h — module_transform's output shared by every VM of the process, keyed
 * by the exact source bytes (transform_cache.c says what and why). Any thread. */
#ifndef JSP_ENGINE_TRANSFORM_CACHE_H
#define JSP_ENGINE_TRANSFORM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/module_transform.h"

#define TRANSFORM_CACHE_BYTES ((size_t)32 << 20) /* source + rewritten text + names */
#define TRANSFORM_CACHE_MAX_ENTRIES 1024

typedef struct shared_transform shared_transform;

/* The transform of exactly these bytes, whose body was checked to parse on its own,
 * retained for the caller (transform_cache_release); NULL = not cached. */
const shared_transform *transform_cache_get(const char *source, size_t len);
/* What the transform produced (script text included); valid while the reference is held. */
const module_script *shared_transform_script(const shared_transform *t);
void transform_cache_release(const shared_transform *t); /* NULL is a no-op */
/* Keeps a copy of m, the transform of source: only once its body was checked. Evicts least
 * recently used entries to stay within the bounds; no memory or too large: not kept. */
void transform_cache_put(const char *source, size_t len, const module_script *m);

typedef struct transform_cache_stats_t {
    uint64_t entries, bytes, hits, misses, evictions;
} transform_cache_stats_t;
void transform_cache_stats(transform_cache_stats_t *out);
/* Drops every entry (held ones live on until released): for tests. */
void transform_cache_clear(void);

#endif
