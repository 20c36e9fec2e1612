/* api_guard.h — the one check at the public API boundary, as curl's handle magic and
 * CURL_MAPI_ENTER: a pool or context handle carries a magic number from its creation
 * until its owner frees it, and every public entry point taking one checks it first, in
 * one line. NULL, a handle its owner already freed (while the library still holds the
 * memory: a pool kept by its contexts, a context kept by its jobs) or a pointer jspool
 * never made is refused with JSP_EINVAL (or the function's "nothing" value) instead of
 * being trusted. Best effort: memory freed and reused may hold anything, so this catches
 * mistakes, not attacks. Inside the library, handles are trusted. */
#ifndef JSP_POOL_API_GUARD_H
#define JSP_POOL_API_GUARD_H

#include "pool/pool.h"

#define POOL_MAGIC 0x6a73706cu    /* "jspl": jsp_pool_new .. jsp_pool_free */
/* CONTEXT_MAGIC and HANDLE_FREED live with struct jsp_context (runtime/context.h), whose
 * last release marks it freed. */

static inline bool api_pool_ok(const jsp_pool *pool)
{
    return pool && atomic_load_explicit(&pool->magic, memory_order_relaxed) == POOL_MAGIC;
}

static inline bool api_context_ok(const jsp_context *ctx)
{
    return ctx && atomic_load_explicit(&ctx->magic, memory_order_relaxed) == CONTEXT_MAGIC;
}

/* For the *_free functions: checks and marks freed in one step, so a second free of the
 * same handle (even a racing one) does nothing; memory without the magic is not written. */
static inline bool api_pool_take(jsp_pool *pool)
{
    uint32_t expected = POOL_MAGIC;
    return pool && atomic_compare_exchange_strong(&pool->magic, &expected, HANDLE_FREED);
}

static inline bool api_context_take(jsp_context *ctx)
{
    uint32_t expected = CONTEXT_MAGIC;
    return ctx && atomic_compare_exchange_strong(&ctx->magic, &expected, HANDLE_FREED);
}

#endif
