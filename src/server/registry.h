/* registry.h — the contexts the server manages, by id, in creation order (for paged
 * listing). Loop thread only. */
#ifndef JSP_SERVER_REGISTRY_H
#define JSP_SERVER_REGISTRY_H

#include <jspool.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct served_context {
    uint64_t id;
    jsp_context *ctx;
    char *name;
    bool is_module;
    char *store_file;  /* NULL: no store; else its file inside the data directory
                          ("bank.jspdb", "contexts/NAME.jspdb"), never the absolute path */
    long cpu_limit_ms, wall_limit_ms;
    uint64_t memory_limit_bytes;
    uint64_t calls, errors;
    int in_flight;
} served_context;

typedef struct registry {
    served_context **items; /* ascending id */
    size_t count, capacity;
} registry;

/* Takes ownership of sc (allocated with malloc, name too). False when out of memory. */
bool registry_add(registry *r, served_context *sc);
served_context *registry_find(registry *r, uint64_t id);
served_context *registry_find_name(registry *r, const char *name);
/* Removes and returns it (the caller frees it with served_context_free). */
served_context *registry_remove(registry *r, uint64_t id);
void served_context_free(served_context *sc);
void registry_free(registry *r);

#endif
