/* context_names.h — the rules a context name must follow (jsp_context_name_check) and
 * the pool's table of the names given to live contexts, so that a name is unique in its
 * pool. Not for worker contexts: their derived names ("parent/worker-N") are made by the
 * runtime, contain '/', and so can never collide with a name a caller chose. */
#ifndef JSP_POOL_CONTEXT_NAMES_H
#define JSP_POOL_CONTEXT_NAMES_H

#include <pthread.h>
#include <stddef.h>

struct jsp_context;

enum { CONTEXT_NAME_MAX = 64, CONTEXT_NAME_BUCKETS = 4096 };

typedef struct context_name_entry context_name_entry;

typedef struct context_names {
    pthread_mutex_t lock;
    context_name_entry *buckets[CONTEXT_NAME_BUCKETS]; /* by FNV-1a of the name */
} context_names;

int context_names_init(context_names *t);   /* 0 or JSP_ESYSTEM */
void context_names_destroy(context_names *t);
/* Records ctx->name as taken by ctx: 0, JSP_EEXIST (a live context has it) or JSP_ENOMEM. */
int context_names_claim(context_names *t, struct jsp_context *ctx);
/* Frees ctx's name for reuse; a no-op when ctx holds none (unnamed, worker, released). */
void context_names_release(context_names *t, struct jsp_context *ctx);

#endif
