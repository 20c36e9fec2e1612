/* u64_map.c — linear-probing hash map with tombstones; the table doubles at 50% use so
 * probes stay short. Not thread-safe by design: each runtime thread owns its maps. */
#include "util/u64_map.h"

#include <assert.h>
#include <stdlib.h>

#define TOMBSTONE UINT64_MAX

static size_t slot_of(uint64_t key, size_t capacity)
{
    key ^= key >> 33; /* fmix64 from MurmurHash3: ids are sequential, spread them */
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (capacity - 1);
}

static int rehash(u64_map *map, size_t capacity)
{
    u64_map_slot *slots = calloc(capacity, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < map->capacity; i++) {
        uint64_t key = map->slots[i].key;
        if (key == 0 || key == TOMBSTONE)
            continue;
        size_t j = slot_of(key, capacity);
        while (slots[j].key != 0)
            j = (j + 1) & (capacity - 1);
        slots[j] = map->slots[i];
    }
    free(map->slots);
    map->slots = slots;
    map->capacity = capacity;
    map->used = map->count;
    return 0;
}

int u64_map_put(u64_map *map, uint64_t key, void *value)
{
    assert(key != 0 && key != TOMBSTONE);
    if ((map->used + 1) * 2 > map->capacity) {
        size_t capacity = map->capacity ? map->capacity : 8;
        while ((map->count + 1) * 2 > capacity)
            capacity *= 2;
        if (rehash(map, capacity) != 0)
            return -1;
    }
    size_t i = slot_of(key, map->capacity);
    size_t reuse = SIZE_MAX;
    for (;; i = (i + 1) & (map->capacity - 1)) {
        uint64_t k = map->slots[i].key;
        if (k == key) {
            map->slots[i].value = value;
            return 0;
        }
        if (k == TOMBSTONE && reuse == SIZE_MAX)
            reuse = i;
        if (k == 0)
            break;
    }
    if (reuse != SIZE_MAX) {
        i = reuse;
    } else {
        map->used++;
    }
    map->slots[i].key = key;
    map->slots[i].value = value;
    map->count++;
    return 0;
}

static u64_map_slot *find(const u64_map *map, uint64_t key)
{
    if (map->capacity == 0)
        return NULL;
    for (size_t i = slot_of(key, map->capacity);; i = (i + 1) & (map->capacity - 1)) {
        if (map->slots[i].key == key)
            return &map->slots[i];
        if (map->slots[i].key == 0)
            return NULL;
    }
}

void *u64_map_get(const u64_map *map, uint64_t key)
{
    u64_map_slot *slot = find(map, key);
    return slot ? slot->value : NULL;
}

void *u64_map_remove(u64_map *map, uint64_t key)
{
    u64_map_slot *slot = find(map, key);
    if (!slot)
        return NULL;
    void *value = slot->value;
    slot->key = TOMBSTONE;
    slot->value = NULL;
    map->count--;
    return value;
}

void u64_map_free(u64_map *map)
{
    free(map->slots);
    *map = (u64_map){0};
}
