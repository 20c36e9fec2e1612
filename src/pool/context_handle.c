/* context_handle.c — the lifetime of context handles as the pool sees them: creation
 * (counted, placed on a runtime and built there), destroy, free, identity, the worker
 * list. A handle is reference counted (src/runtime/context.c) so a call racing a destroy
 * never touches freed memory. */
#include "apis/api_groups.h"
#include "pool/api_guard.h"
#include "util/list.h"
#include "util/egress_policy.h"
#include "util/process_memory.h"
#include "util/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void signal_completion(jsp_result *result, void *user)
{
    completion_signal(user, result);
}

int jsp_apis_resolve(const char *apis, char *out, size_t out_len)
{
    uint32_t mask = 0;
    char error[256];
    if (!api_groups_resolve(apis, &mask, error, sizeof(error))) {
        if (out && out_len)
            snprintf(out, out_len, "%s", error);
        return JSP_EINVAL;
    }
    size_t n = 0;
    if (out && out_len)
        out[0] = '\0';
    for (int g = 0; g < API_GROUP_COUNT && out && out_len; g++) /* registry order */
        if (mask & 1u << g)
            n += (size_t)snprintf(out + (n < out_len ? n : out_len - 1), n < out_len ? out_len - n : 1,
                                  "%s%s", n ? "," : "", api_groups[g].name);
    return 0;
}

int jsp_egress_check(const char *allow, const char *within, char *why, size_t why_len)
{
    char text[300] = "";
    egress_policy policy, outer = {0};
    int rc = 0;
    if (egress_policy_parse(allow, &policy, text, sizeof(text)) != 0)
        rc = JSP_EINVAL;
    else if (within && egress_policy_parse(within, &outer, text, sizeof(text)) != 0)
        rc = JSP_EINVAL;
    for (size_t i = 0; rc == 0 && within && i < policy.count; i++)
        if (!egress_rule_covered(&outer, &policy.rules[i], text, sizeof(text)))
            rc = JSP_EINVAL;
    egress_policy_free(&policy);
    egress_policy_free(&outer);
    if (why && why_len)
        snprintf(why, why_len, "%s", rc ? text : "");
    return rc;
}

enum { ISOLATED_CONTEXT_BYTES = 1200 << 10, LIGHT_CONTEXT_BYTES = 110 << 10 };

int context_alloc(jsp_pool *pool, const jsp_context_config *cfg, uint32_t apis_mask,
                  struct jsp_context **out)
{
    if (atomic_load(&pool->is_closed))
        return JSP_ECLOSED;
    /* RSS (~3 us to read) plus what the new context will add (measured at 1000 contexts:
     * 1195 KB isolated, 106 KB light): refused before it is made, so that the process
     * stops growing by contexts long before an allocation fails inside the engine. */
    uint64_t cost = cfg && cfg->memory_limit_bytes ? ISOLATED_CONTEXT_BYTES : LIGHT_CONTEXT_BYTES;
    uint64_t budget = pool->config.max_memory_bytes;
    if (budget != UINT64_MAX && process_rss_bytes() > (budget > cost ? budget - cost : 0))
        return JSP_EMEMORY;
    /* Counted from here until the context is destroyed, so a burst of creations cannot
     * overshoot the limit. */
    if (atomic_fetch_add(&pool->live_contexts, 1) >= pool->config.max_contexts) {
        atomic_fetch_sub(&pool->live_contexts, 1);
        return JSP_ETOO_MANY;
    }
    struct jsp_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        atomic_fetch_sub(&pool->live_contexts, 1);
        return JSP_ENOMEM;
    }
    long cpu = cfg ? cfg->cpu_limit_ms : 0, wall = cfg ? cfg->wall_limit_ms : 0;
    ctx->cpu_limit_ms = cpu == 0 ? JSP_DEFAULT_CPU_LIMIT_MS : cpu < 0 ? 0 : (uint64_t)cpu;
    ctx->wall_limit_ms = wall == 0 ? JSP_DEFAULT_WALL_LIMIT_MS : wall < 0 ? 0 : (uint64_t)wall;
    ctx->memory_limit_bytes = cfg ? cfg->memory_limit_bytes : 0;
    ctx->apis_mask = apis_mask;
    uint64_t quota = cfg && cfg->storage_quota ? cfg->storage_quota : JSP_DEFAULT_STORAGE_QUOTA;
    ctx->storage_quota = quota > INT64_MAX ? INT64_MAX : (int64_t)quota;
    ctx->module_loader = cfg ? cfg->module_loader : NULL;
    ctx->module_loader_user = cfg ? cfg->module_loader_user : NULL;
    if (cfg && cfg->store_path) {
        ctx->store_durability = cfg->store_durability;
        ctx->store_max_rows = cfg->store_max_rows_per_call;
        ctx->store_max_bytes = cfg->store_max_bytes_per_call;
        ctx->store_max_file_bytes = cfg->store_max_file_bytes > INT64_MAX ? INT64_MAX : (int64_t)cfg->store_max_file_bytes;
        ctx->apis_mask |= 1u << API_STORE;
    }
    char why[300];
    if (egress_policy_parse(cfg ? cfg->egress_allow : NULL, &ctx->egress, why, sizeof(why)) != 0) {
        free(ctx);
        atomic_fetch_sub(&pool->live_contexts, 1);
        return JSP_EINVAL; /* checked by jsp_context_new first: out of memory, really */
    }
    ctx->egress.allow_loopback = cfg && cfg->egress_allow_loopback;
    ctx->egress.allow_private = cfg && cfg->egress_allow_private;
    ctx->egress_max_requests = cfg && cfg->egress_max_requests ? cfg->egress_max_requests
                                                               : JSP_DEFAULT_EGRESS_MAX_REQUESTS;
    ctx->egress_max_response_bytes = cfg && cfg->egress_max_response_bytes ? cfg->egress_max_response_bytes
                                                                           : JSP_DEFAULT_EGRESS_MAX_RESPONSE_BYTES;
    long timeout = cfg ? cfg->egress_timeout_ms : 0;
    ctx->egress_timeout_ms = timeout == 0 ? JSP_DEFAULT_EGRESS_TIMEOUT_MS : timeout < 0 ? 0 : (uint64_t)timeout;
    ctx->id = atomic_fetch_add(&pool->next_context_id, 1);
    if (cfg && cfg->name) {
        ctx->name = strdup(cfg->name);
    } else {
        ctx->name = malloc(32);
        if (ctx->name)
            snprintf(ctx->name, 32, "ctx-%llu", (unsigned long long)ctx->id);
    }
    if (cfg && cfg->namespace_name) {
        ctx->namespace_key = strdup(cfg->namespace_name);
    } else {
        ctx->namespace_key = malloc(32);
        if (ctx->namespace_key)
            snprintf(ctx->namespace_key, 32, "#%llu", (unsigned long long)ctx->id);
    }
    if (cfg && cfg->store_path)
        ctx->store_path = strdup(cfg->store_path);
    if (cfg && cfg->egress_ca_file)
        ctx->egress_ca_file = strdup(cfg->egress_ca_file);
    if (!ctx->name || !ctx->namespace_key || (cfg && cfg->store_path && !ctx->store_path) ||
        (cfg && cfg->egress_ca_file && !ctx->egress_ca_file)) {
        egress_policy_free(&ctx->egress);
        free(ctx->egress_ca_file);
        free(ctx->name);
        free(ctx->namespace_key);
        free(ctx->store_path);
        free(ctx);
        atomic_fetch_sub(&pool->live_contexts, 1);
        return JSP_ENOMEM;
    }
    ctx->pool = pool;
    pool_retain(pool);
    atomic_init(&ctx->refs, 1);
    atomic_init(&ctx->state, CONTEXT_ALIVE);
    atomic_init(&ctx->magic, CONTEXT_MAGIC);
    ctx->rt = pool_place(pool, cfg);
    *out = ctx;
    return 0;
}

void context_creation_failed(struct jsp_context *ctx, bool is_runtime_counted)
{
    store_claims_release(&ctx->pool->stores, ctx); /* its store was never opened */
    if (is_runtime_counted)
        atomic_fetch_sub(&ctx->rt->live_contexts, 1);
    atomic_store(&ctx->state, CONTEXT_DESTROYED);
    atomic_fetch_sub(&ctx->pool->live_contexts, 1);
    context_names_release(&ctx->pool->names, ctx);
}

/* 1 to 64 bytes of JSP_NAMESPACE_CHARS: printable in logs and JSON as is, and never the
 * "#<id>" of a private namespace. */
static bool namespace_is_valid(const char *name)
{
    size_t len = strlen(name);
    return len >= 1 && len <= 64 && strspn(name, JSP_NAMESPACE_CHARS) == len;
}

int jsp_context_new(jsp_pool *pool, const jsp_context_config *cfg, jsp_context **out)
{
    if (!out)
        return JSP_EINVAL;
    *out = NULL;
    if (!api_pool_ok(pool) || (cfg && (cfg->runtime < 0 || cfg->runtime > pool->thread_count ||
                          cfg->cpu_limit_ms < -1 || cfg->wall_limit_ms < -1 ||
                          (cfg->memory_limit_bytes && cfg->memory_limit_bytes < (4u << 20)) ||
                          (cfg->namespace_name && !namespace_is_valid(cfg->namespace_name)) ||
                          (cfg->store_path && (!*cfg->store_path || cfg->store_durability < JSP_DURABLE_DISK ||
                                               cfg->store_durability > JSP_DURABLE_PROCESS ||
                                               cfg->store_max_rows_per_call < 0 ||
                                               cfg->store_max_bytes_per_call < 0)) ||
                          cfg->egress_max_requests < 0 || cfg->egress_timeout_ms < -1 ||
                          jsp_egress_check(cfg->egress_allow, NULL, NULL, 0) != 0)) ||
        runtime_is_current_thread())
        return JSP_EINVAL;
    if (cfg && cfg->name) {
        int name_rc = jsp_context_name_check(cfg->name, NULL, 0);
        if (name_rc != 0)
            return name_rc;
    }
    uint32_t apis_mask = 0;
    char apis_error[256];
    if (!api_groups_resolve(cfg ? cfg->apis : NULL, &apis_mask, apis_error, sizeof(apis_error)))
        return JSP_EINVAL;
    struct jsp_context *ctx;
    int rc = context_alloc(pool, cfg, apis_mask, &ctx);
    if (rc != 0)
        return rc;
    if (cfg && cfg->name && (rc = context_names_claim(&pool->names, ctx)) != 0) {
        context_creation_failed(ctx, true);
        context_release(ctx);
        return rc;
    }
    /* A destroyed context's runtime may still be closing this file: wait for it (5 s). */
    unsigned long long holder = 0;
    if (ctx->store_path && (rc = store_claims_take(&pool->stores, ctx, 5000, &holder)) != 0) {
        char line[200];
        if (rc == JSP_ESTORE)
            snprintf(line, sizeof(line), "store %.120s: in use by context %llu", cfg->store_path, holder);
        else if (rc == JSP_ETOO_MANY)
            snprintf(line, sizeof(line), "store %.120s: refused, %d stores are open (max_stores)",
                     cfg->store_path, pool->config.max_stores);
        if (rc == JSP_ESTORE || rc == JSP_ETOO_MANY)
            pool_log(pool, JSP_LOG_ERROR, ctx->id, line);
        context_creation_failed(ctx, true);
        context_release(ctx);
        return rc;
    }
    /* A light context without a store, when its runtime has a spare global of its groups
     * ready, is built by taking that spare: nothing in it can fail short of memory, so
     * the caller reserves the spare and returns without waiting (runtime.c, "spare
     * globals"); the context's first call queues behind that job. */
    if (!ctx->memory_limit_bytes && !ctx->store_path && runtime_reserve_spare(ctx->rt, ctx->apis_mask)) {
        rc = context_queue_create(ctx, NULL, NULL, true);
        if (rc != 0) {
            runtime_return_spare(ctx->rt, ctx->apis_mask);
            context_creation_failed(ctx, true);
            context_release(ctx);
            return rc;
        }
        *out = ctx;
        return 0;
    }
    completion done;
    completion_init(&done);
    rc = context_queue_create(ctx, signal_completion, &done, false);
    bool is_runtime_counted = rc != 0; /* never reached the runtime */
    if (rc == 0) {
        jsp_result *r = completion_wait(&done, COMPLETION_SLEEP); /* 80+ us: no spin */
        rc = r->code;
        jsp_result_free(r);
        /* the runtime uncounts a context it failed to build, but not one refused as closing */
        is_runtime_counted = rc == JSP_ECLOSED;
    }
    if (rc != 0) {
        context_creation_failed(ctx, is_runtime_counted);
        context_release(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

static void context_destroy(struct jsp_context *ctx)
{
    int expected = CONTEXT_ALIVE;
    if (!atomic_compare_exchange_strong(&ctx->state, &expected, CONTEXT_DESTROYED))
        return;
    atomic_fetch_sub(&ctx->pool->live_contexts, 1);
    context_names_release(&ctx->pool->names, ctx); /* reusable as soon as destroy returns */
    /* JS of this context running now ends at the runtime's next watchdog tick (with
     * JSP_EDESTROYED), limits or none: the destroy job behind it then runs. */
    atomic_store(&ctx->is_cancelled, true);
    job *j = job_new(JOB_DESTROY, ctx, NULL, 0, NULL);
    atomic_fetch_add(&ctx->queued_jobs, 1); /* never refused: destroy must get through */
    /* If the job cannot be queued the pool is closing, and closing destroys every
     * context anyway. Out of memory leaves it alive until then. */
    if (j && job_queue_push(&ctx->rt->queue, j) != 0)
        job_free(j);
}

void jsp_context_destroy(jsp_context *ctx)
{
    if (api_context_ok(ctx))
        context_destroy(ctx);
}

void jsp_context_free(jsp_context *ctx)
{
    if (!api_context_take(ctx))
        return;
    context_destroy(ctx);
    context_release(ctx);
}

uint64_t jsp_context_id(const jsp_context *ctx)
{
    return api_context_ok(ctx) ? ctx->id : 0;
}

const char *jsp_context_name(const jsp_context *ctx)
{
    return api_context_ok(ctx) ? ctx->name : NULL;
}

const char *jsp_context_namespace(const jsp_context *ctx)
{
    return api_context_ok(ctx) && ctx->namespace_key[0] != '#' ? ctx->namespace_key : NULL;
}

int jsp_context_runtime(const jsp_context *ctx)
{
    return api_context_ok(ctx) ? ctx->rt->index : -1;
}

uint64_t jsp_context_generation(const jsp_context *ctx)
{
    return api_context_ok(ctx) ? atomic_load_explicit(&ctx->generation, memory_order_relaxed) : 0;
}

int jsp_context_memory(const jsp_context *ctx, jsp_memory_usage *out)
{
    if (!api_context_ok(ctx) || !out)
        return JSP_EINVAL;
    out->limit_bytes = ctx->memory_limit_bytes;
    out->is_shared = ctx->memory_limit_bytes == 0;
    if (out->is_shared) {
        const runtime_metrics *m = &ctx->rt->metrics;
        out->heap_bytes = atomic_load_explicit(&m->heap_capacity_bytes, memory_order_relaxed);
    } else {
        out->heap_bytes = atomic_load_explicit(&ctx->held_bytes, memory_order_relaxed);
    }
    return 0;
}

int jsp_context_cpu(const jsp_context *ctx, jsp_cpu_usage *out)
{
    if (!api_context_ok(ctx) || !out)
        return JSP_EINVAL;
    uint64_t now = monotonic_ns();
    uint64_t window = (uint64_t)ctx->pool->config.cpu_share_window_ms * 1000000;
    uint64_t start = atomic_load_explicit(&ctx->window_start_ns, memory_order_relaxed);
    uint64_t current = atomic_load_explicit(&ctx->window_cpu_ns, memory_order_relaxed);
    uint64_t previous = atomic_load_explicit(&ctx->previous_window_cpu_ns, memory_order_relaxed);
    /* The last window's CPU, weighed by how much of it still overlaps [now - window, now]. */
    uint64_t elapsed = now > start ? now - start : 0;
    double recent;
    if (elapsed >= 2 * window)
        recent = 0;
    else if (elapsed >= window)
        recent = (double)current * (double)(2 * window - elapsed) / (double)window;
    else
        recent = (double)current + (double)previous * (double)(window - elapsed) / (double)window;
    out->recent_share = recent / (double)window;
    if (out->recent_share > 1)
        out->recent_share = 1;
    out->cpu_seconds = (double)atomic_load_explicit(&ctx->cpu_ns, memory_order_relaxed) / 1e9;
    uint64_t since = atomic_load_explicit(&ctx->throttled_since_ns, memory_order_relaxed);
    uint64_t throttled = atomic_load_explicit(&ctx->throttled_ns, memory_order_relaxed);
    out->is_throttled = since != 0;
    out->throttled_seconds = (double)(throttled + (since && now > since ? now - since : 0)) / 1e9;
    out->throttle_count = atomic_load_explicit(&ctx->throttle_count, memory_order_relaxed);
    return 0;
}

/* The pool's live workers, newest first (pool->workers_lock). */
LIST_DLIST(worker_list, struct jsp_context, pool_prev, pool_next)

void pool_list_worker(struct jsp_context *ctx)
{
    jsp_pool *pool = ctx->pool;
    pthread_mutex_lock(&pool->workers_lock);
    worker_list_push_front(&pool->workers, NULL, ctx);
    ctx->is_pool_listed = true;
    pthread_mutex_unlock(&pool->workers_lock);
}

void pool_unlist_worker(struct jsp_context *ctx)
{
    jsp_pool *pool = ctx->pool;
    pthread_mutex_lock(&pool->workers_lock);
    if (ctx->is_pool_listed) {
        worker_list_remove(&pool->workers, NULL, ctx);
        ctx->is_pool_listed = false;
    }
    pthread_mutex_unlock(&pool->workers_lock);
}

size_t jsp_pool_workers(jsp_pool *pool, jsp_worker_info *out, size_t max)
{
    if (!api_pool_ok(pool))
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&pool->workers_lock); /* a listed context is alive: unlisted first */
    for (struct jsp_context *ctx = pool->workers; ctx; ctx = ctx->pool_next, n++) {
        if (n >= max || !out)
            continue;
        out[n].id = ctx->id;
        out[n].parent_id = ctx->parent_id;
        out[n].runtime = ctx->rt->index;
        jsp_context_cpu(ctx, &out[n].cpu);
    }
    pthread_mutex_unlock(&pool->workers_lock);
    return n;
}
