/* store_claims.h — which context holds which store file, pool-wide, so that a file is
 * never opened by two contexts at once and a context re-created under a destroyed one's
 * file waits until that one's runtime has closed it (a destroy returns before its runtime
 * has rolled back and closed the file; without the claim the new open found the file
 * locked). Keys are the file's directory made canonical (realpath) plus its name, so two
 * spellings of one path are one file. */
#ifndef JSP_POOL_STORE_CLAIMS_H
#define JSP_POOL_STORE_CLAIMS_H

#include <pthread.h>

struct jsp_context;
typedef struct store_claim store_claim;

typedef struct store_claims {
    pthread_mutex_t lock;
    pthread_cond_t released;
    store_claim *list;
    int count, max; /* claims held, and at most (jsp_pool_config.max_stores) */
} store_claims;

void store_claims_init(store_claims *c, int max);
void store_claims_destroy(store_claims *c);
/* Claims ctx->store_path for ctx (any thread but a runtime's): 0; JSP_ESTORE when a live
 * context holds it (*holder_id gets its id); JSP_ETIMEOUT-like JSP_ESTORE when a destroyed
 * one still had it open after wait_ms; JSP_ETOO_MANY when max claims are held;
 * JSP_ENOMEM. */
int store_claims_take(store_claims *c, struct jsp_context *ctx, int wait_ms, unsigned long long *holder_id);
/* Gives ctx's claim back (its store is closed, or was never opened); a no-op without one.
 * Any thread. */
void store_claims_release(store_claims *c, struct jsp_context *ctx);

#endif
