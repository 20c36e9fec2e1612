/* store_claims.c — see store_claims.h. A list: a pool has few stores open at once
 * compared with its contexts, and a claim is taken once per store context creation. */
#include "pool/store_claims.h"

#include "runtime/context.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct store_claim {
    store_claim *next;
    struct jsp_context *ctx; /* valid while claimed: released before the context is freed */
    char key[];
};

void store_claims_init(store_claims *c, int max)
{
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->released, NULL);
    c->list = NULL;
    c->count = 0;
    c->max = max;
}

void store_claims_destroy(store_claims *c)
{
    while (c->list) {
        store_claim *next = c->list->next;
        free(c->list);
        c->list = next;
    }
    pthread_cond_destroy(&c->released);
    pthread_mutex_destroy(&c->lock);
}

/* dir made canonical + "/" + name; the path as given when its directory does not exist
 * (the open will then fail on its own). */
static char *claim_key(const char *path)
{
    char *dir_copy = strdup(path), *name_copy = strdup(path);
    char *resolved = dir_copy ? realpath(dirname(dir_copy), NULL) : NULL;
    char *key = NULL;
    if (resolved && name_copy) {
        const char *name = basename(name_copy);
        size_t n = strlen(resolved) + strlen(name) + 2;
        if ((key = malloc(n)))
            snprintf(key, n, "%s/%s", resolved, name);
    } else if (dir_copy) {
        key = strdup(path);
    }
    free(resolved);
    free(dir_copy);
    free(name_copy);
    return key;
}

static store_claim *find(store_claims *c, const char *key)
{
    for (store_claim *k = c->list; k; k = k->next)
        if (!strcmp(k->key, key))
            return k;
    return NULL;
}

int store_claims_take(store_claims *c, struct jsp_context *ctx, int wait_ms, unsigned long long *holder_id)
{
    char *key = claim_key(ctx->store_path);
    if (!key)
        return JSP_ENOMEM;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->lock);
    int rc = 0;
    store_claim *held;
    while ((held = find(c, key)) != NULL) {
        *holder_id = held->ctx->id;
        /* a live holder keeps it; a destroyed one gives it back once its file is closed */
        if (atomic_load(&held->ctx->state) == CONTEXT_ALIVE ||
            pthread_cond_timedwait(&c->released, &c->lock, &until) == ETIMEDOUT) {
            rc = JSP_ESTORE;
            break;
        }
    }
    /* At the cap: a destroyed context's claim goes once its file is closed, so wait for
     * that as for the same file above; only live holders make it a refusal. */
    while (!rc && c->count >= c->max) {
        bool closing = false;
        for (store_claim *k = c->list; k && !closing; k = k->next)
            closing = atomic_load(&k->ctx->state) != CONTEXT_ALIVE;
        if (!closing || pthread_cond_timedwait(&c->released, &c->lock, &until) == ETIMEDOUT)
            rc = JSP_ETOO_MANY;
    }
    store_claim *mine = rc ? NULL : malloc(sizeof(*mine) + strlen(key) + 1);
    if (!rc && !mine)
        rc = JSP_ENOMEM;
    if (mine) {
        mine->ctx = ctx;
        strcpy(mine->key, key);
        mine->next = c->list;
        c->list = mine;
        c->count++;
    }
    pthread_mutex_unlock(&c->lock);
    free(key);
    return rc;
}

void store_claims_release(store_claims *c, struct jsp_context *ctx)
{
    pthread_mutex_lock(&c->lock);
    for (store_claim **p = &c->list; *p; p = &(*p)->next)
        if ((*p)->ctx == ctx) {
            store_claim *gone = *p;
            *p = gone->next;
            free(gone);
            c->count--;
            pthread_cond_broadcast(&c->released);
            break;
        }
    pthread_mutex_unlock(&c->lock);
}
