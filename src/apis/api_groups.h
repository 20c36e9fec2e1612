/* api_groups.h — the registry of web-API groups a context can ask for (`apis`): their
 * names, what each depends on, the globals each defines, and how it is installed (natives
 * in C, or JS embedded at build time and run lazily on first use). Engine-free: the
 * public API resolves and checks `apis` strings with it; src/engine/engine_apis.c
 * installs the groups. */
#ifndef JSP_APIS_API_GROUPS_H
#define JSP_APIS_API_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_group_id {
    API_CONSOLE,
    API_TIMERS,
    API_DOMEXCEPTION,
    API_EVENTS,
    API_ENCODING,
    API_STRUCTURED_CLONE,
    API_BUFFER,
    API_CHANNEL,
    API_WORKER,
    API_CRYPTO,
    API_LOCKS,
    API_STREAMS,
    API_COMPRESSION,
    API_URL,
    API_PERFORMANCE, /* performance (in the default set) */
    API_NAVIGATOR,   /* navigator (in the default set; the locks group adds navigator.locks) */
    API_STORAGE,     /* localStorage, sessionStorage */
    API_FETCH,
    API_DOM,
    API_WEBSOCKET,
    API_EVENTSOURCE,
    API_STORE, /* `db`: only in contexts with a store, which get it without asking */
    API_GROUP_COUNT
};

typedef struct api_group {
    const char *name;
    uint32_t deps;              /* bit mask of api_group_id */
    const char *const *globals; /* NULL-terminated; what the group defines on globalThis */
    const char *source;         /* JS run on first use of one of its globals; NULL = natives.
                                   It evaluates to a function(globalThis, natives) returning
                                   an object with the group's globals; natives holds the
                                   group's C fast paths (src/engine/natives_<group>.c) or is
                                   undefined; a third argument, dependency(name), returns
                                   another group's exports (internals included). */
    bool is_internal;           /* pulled in as a dependency only: not a valid `apis` name */
} api_group;

extern const api_group api_groups[API_GROUP_COUNT];

/* What a context gets when it asks for nothing (apis NULL or ""). */
#define API_DEFAULT_MASK                                                                          \
    ((1u << API_CONSOLE) | (1u << API_TIMERS) | (1u << API_PERFORMANCE) | (1u << API_NAVIGATOR))

/* Parses "a,b", "all" or "none" (spaces allowed) into a dependency-closed mask. On an
 * unknown name returns false and writes "unknown API group 'x'; valid: ..." to error. */
bool api_groups_resolve(const char *spec, uint32_t *mask, char *error, size_t error_len);

/* For a global an API group defines but mask lacks, writes the hint that goes after
 * "Can't find variable: NAME": " (provided by the 'encoding' API group; this context has
 * 'console,timers')" (an internal group is named by the first public group that pulls it
 * in) and returns true; false (out untouched) for any other name. */
bool api_groups_hint_missing(const char *global, uint32_t mask, char *out, size_t out_len);

#endif
