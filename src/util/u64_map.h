/* u64_map.h — open-addressing hash map from non-zero uint64 keys to pointers.
 * Single-threaded: owned by one runtime thread (timers by id, contexts by JS global). */
#ifndef JSP_UTIL_U64_MAP_H
#define JSP_UTIL_U64_MAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct u64_map_slot {
    uint64_t key; /* 0 = empty, UINT64_MAX = deleted */
    void *value;
} u64_map_slot;

typedef struct u64_map {
    u64_map_slot *slots;
    size_t capacity; /* power of two, or 0 before the first insert */
    size_t count;    /* live entries */
    size_t used;     /* live + deleted, drives resizing */
} u64_map;

/* A zeroed u64_map is an empty map. Keys must not be 0 or UINT64_MAX. */
int u64_map_put(u64_map *map, uint64_t key, void *value); /* 0 or -1 (no memory) */
void *u64_map_get(const u64_map *map, uint64_t key);
void *u64_map_remove(u64_map *map, uint64_t key); /* returns the removed value or NULL */
void u64_map_free(u64_map *map);

#endif
