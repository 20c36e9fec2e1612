/* engine_code_cache.c — a VM's cache of compiled sources, so that loading one library into
 * many contexts of a VM pays the module transform, the wrapper's body check and the parse
 * once. An entry is keyed by what was loaded — its kind (module or script), its name and
 * its exact source bytes, all compared on a hit (the hash only picks the slot) — and holds
 * the compiled JSScriptRef (one SourceProvider: JSC's own per-VM CodeCache, keyed by the
 * provider's text, then serves every later evaluation the bytecode it generated the first
 * time, and no context keeps a copy of the text) plus, for a module, what the transform
 * found (imports, exports). Only code is shared: every context evaluates the script in its
 * own global, so no state crosses. Only successful compiles are cached.
 *
 * Bounded: at most max_bytes of entries (source + name + JSC's copy of the compiled text)
 * and CODE_CACHE_MAX_ENTRIES, least recently used evicted first; a source larger than a
 * quarter of the bound is not cached at all. A script (jsp_eval) is cached only from its
 * second sighting and only from CODE_CACHE_MIN_SCRIPT bytes: one-off evals would pay an
 * extra syntax check (JSScriptCreateFromString parses) and churn the cache.
 * Runtime thread only, like the VM. Not for: resolving or linking modules
 * (engine_modules.c), or anything across VMs (isolated contexts have their own VM and
 * get no cache: a cache there would only hold a second copy of their one module; what
 * crosses VMs is the transform's text, transform_cache.c). */
#include "engine/engine_internal.h"
#include "engine/module_transform.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/list.h"

/* The key's bytes, shared with every context that loaded them (engine_text_*): a context
 * keeps its module's source for a VM recycle, and 100 contexts of one library then keep
 * one copy. Outlives its entry while a context holds it. */
struct engine_text {
    size_t refs;
    size_t name_len, source_len;
    bool has_name;
    char bytes[];            /* name (or empty) '\0' source bytes '\0' */
};

struct code_entry {
    struct code_entry *prev, *next; /* LRU: most recent first */
    uint64_t hash;
    int kind;                /* CODE_MODULE or CODE_SCRIPT */
    engine_text *key;        /* what a hit must equal */
    JSScriptRef script;
    module_script meta;      /* modules: the transform's findings, without its text */
    size_t cost;             /* what the entry counts against the bound */
};

LIST_DLIST(entry_list, code_entry, prev, next)

static uint64_t key_hash(int kind, const char *name, const char *source, size_t len)
{
    uint64_t h = hash_mix(0x243f6a8885a308d3ull, (uint64_t)kind + (name ? 2 : 0));
    if (name)
        h = hash_bytes(h, name, strlen(name));
    h = hash_bytes(h, source, len);
    return h == 0 || h == UINT64_MAX ? 1 : h; /* u64_map reserves both; a hit compares every byte */
}

static bool entry_matches(const code_entry *e, int kind, const char *name, const char *source,
                          size_t len)
{
    const engine_text *t = e->key;
    size_t name_len = name ? strlen(name) : 0;
    return e->kind == kind && t->has_name == (name != NULL) && t->name_len == name_len &&
           t->source_len == len && memcmp(t->bytes, name ? name : "", name_len) == 0 &&
           memcmp(t->bytes + name_len + 1, source, len) == 0;
}

static engine_text *text_new(const char *name, const char *source, size_t len)
{
    size_t name_len = name ? strlen(name) : 0;
    engine_text *t = malloc(sizeof *t + name_len + 1 + len + 1);
    if (!t)
        return NULL;
    *t = (engine_text){.refs = 1, .name_len = name_len, .source_len = len, .has_name = name != NULL};
    memcpy(t->bytes, name ? name : "", name_len);
    t->bytes[name_len] = '\0';
    memcpy(t->bytes + name_len + 1, source, len);
    t->bytes[name_len + 1 + len] = '\0';
    return t;
}

void engine_text_release(engine_text *t)
{
    if (t && --t->refs == 0)
        free(t);
}

const char *engine_text_source(const engine_text *t, size_t *len)
{
    *len = t->source_len;
    return t->bytes + t->name_len + 1;
}

const char *engine_text_name(const engine_text *t)
{
    return t->has_name ? t->bytes : NULL;
}

static void entry_free(code_entry *e)
{
    if (e->script)
        JSScriptRelease(e->script);
    module_script_free(&e->meta);
    engine_text_release(e->key);
    free(e);
}

static void evict(code_cache *c, code_entry *e)
{
    u64_map_remove(&c->by_hash, e->hash);
    entry_list_remove(&c->lru_head, &c->lru_tail, e);
    c->bytes -= e->cost;
    c->count--;
    c->evictions++;
    entry_free(e);
}

void code_cache_init(code_cache *c, size_t max_bytes)
{
    memset(c, 0, sizeof *c);
    c->max_bytes = max_bytes;
}

void code_cache_free(code_cache *c)
{
    while (c->lru_head)
        evict(c, c->lru_head);
    u64_map_free(&c->by_hash);
}

JSScriptRef code_cache_find(code_cache *c, int kind, const char *name, const char *source,
                            size_t len, const module_script **meta)
{
    if (!c->max_bytes)
        return NULL;
    uint64_t h = key_hash(kind, name, source, len);
    code_entry *e = u64_map_get(&c->by_hash, h);
    if (!e || !entry_matches(e, kind, name, source, len)) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    entry_list_remove(&c->lru_head, &c->lru_tail, e);
    entry_list_push_front(&c->lru_head, &c->lru_tail, e);
    if (meta)
        *meta = &e->meta;
    return e->script;
}

engine_text *code_cache_text(code_cache *c, int kind, const char *name, const char *source,
                            size_t len)
{
    code_entry *e = c->max_bytes ? u64_map_get(&c->by_hash, key_hash(kind, name, source, len)) : NULL;
    if (!e || !entry_matches(e, kind, name, source, len))
        return NULL;
    e->key->refs++;
    return e->key;
}

bool code_cache_wants(code_cache *c, int kind, const char *name, const char *source, size_t len)
{
    if (!c->max_bytes || len + (name ? strlen(name) : 0) > c->max_bytes / 4)
        return false;
    if (kind == CODE_MODULE)
        return true;
    if (len < CODE_CACHE_MIN_SCRIPT)
        return false;
    /* A script: only when its hash was seen before (a ring of the last few). */
    uint64_t h = key_hash(kind, name, source, len);
    for (size_t i = 0; i < sizeof c->seen / sizeof c->seen[0]; i++)
        if (c->seen[i] == h)
            return true;
    c->seen[c->seen_next++ % (sizeof c->seen / sizeof c->seen[0])] = h;
    return false;
}

void code_cache_put(code_cache *c, int kind, const char *name, const char *source, size_t len,
                    const module_script *meta, size_t compiled_bytes, JSScriptRef script)
{
    size_t name_len = name ? strlen(name) : 0;
    code_entry *e = calloc(1, sizeof *e);
    engine_text *key = e ? text_new(name, source, len) : NULL;
    if (!key) {
        free(e);
        JSScriptRelease(script);
        return; /* no memory: the load worked, it just is not cached */
    }
    e->hash = key_hash(kind, name, source, len);
    e->kind = kind;
    e->key = key;
    e->script = script;
    if (meta && module_script_copy_meta(meta, &e->meta) != MODULE_TRANSFORM_OK) {
        entry_free(e); /* releases the script */
        return;
    }
    e->cost = sizeof *e + sizeof *key + name_len + len + 2 + compiled_bytes;
    for (size_t i = 0; i < e->meta.export_count; i++)
        e->cost += strlen(e->meta.export_names[i]) + 1 + sizeof(char *);
    for (size_t i = 0; i < e->meta.import_count; i++)
        e->cost += strlen(e->meta.imports[i]) + 1 + sizeof(char *) + sizeof(int);
    code_entry *same_slot = u64_map_get(&c->by_hash, e->hash);
    if (same_slot) /* the same key loaded again, or a hash collision: the newer wins */
        evict(c, same_slot);
    while (c->lru_tail && (c->bytes + e->cost > c->max_bytes || c->count >= CODE_CACHE_MAX_ENTRIES))
        evict(c, c->lru_tail);
    if (e->cost > c->max_bytes || u64_map_put(&c->by_hash, e->hash, e) != 0) {
        entry_free(e);
        return;
    }
    entry_list_push_front(&c->lru_head, &c->lru_tail, e);
    c->bytes += e->cost;
    c->count++;
    c->inserts++;
}
