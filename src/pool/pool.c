/* pool.c — creating and closing a pool of runtimes, placing new contexts on them, and
 * the pool's reference count (handles and host calls may outlive jsp_pool_free). */
#include "pool/api_guard.h"
#include "util/process_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

void pool_retain(jsp_pool *pool)
{
    atomic_fetch_add(&pool->refs, 1);
}

void pool_release(jsp_pool *pool)
{
    if (atomic_fetch_sub(&pool->refs, 1) != 1)
        return;
    for (int i = 0; i < pool->started_count; i++)
        job_queue_destroy(&pool->runtimes[i].queue);
    host_registry_destroy(&pool->hosts);
    broadcast_registry_destroy(&pool->broadcasts);
    lock_manager_destroy(&pool->locks);
    context_names_destroy(&pool->names);
    store_claims_destroy(&pool->stores);
    host_call_quarantine_free(&pool->host_calls);
    pthread_mutex_destroy(&pool->workers_lock);
    free(pool->runtimes);
    free(pool);
}

static void log_to_stderr(int level, uint64_t context_id, const char *message, void *user)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    const char *name = level >= 0 && level <= 3 ? names[level] : "log";
    fprintf(stderr, "[jspool ctx=%llu %s] %s\n", (unsigned long long)context_id, name, message);
}

void pool_log(jsp_pool *pool, int level, uint64_t context_id, const char *message)
{
    pool->config.log(level, context_id, message, pool->config.log_user);
}

static bool find_host(jsp_pool *pool, const char *name, jsp_host_fn *fn, void **user)
{
    host_entry entry;
    if (!host_registry_find(&pool->hosts, name, &entry))
        return false;
    *fn = entry.fn;
    *user = entry.user;
    return true;
}

/* What the runtimes get from the pool: its settings, registries and the functions over
 * them (runtime_services.h). */
static void services_init(jsp_pool *pool)
{
    pool->services = (runtime_services){
        .pool = pool,
        .config = &pool->config,
        .host_calls = &pool->host_calls,
        .log = pool_log,
        .retain = pool_retain,
        .release = pool_release,
        .find_host = find_host,
        .broadcasts = &pool->broadcasts,
        .broadcast_subscribe = broadcast_subscribe,
        .broadcast_unsubscribe = broadcast_unsubscribe,
        .broadcast_unsubscribe_all = broadcast_unsubscribe_all,
        .broadcast_subscribers = broadcast_subscribers,
        .broadcast_has_other = broadcast_has_other,
        .broadcast_generation = &pool->broadcasts.generation,
        .locks = &pool->locks,
        .lock_request = lock_manager_request,
        .lock_release = lock_manager_release,
        .lock_abort = lock_manager_abort,
        .lock_drop_context = lock_manager_drop_context,
        .lock_query = lock_manager_query,
        .names = &pool->names,
        .names_release = context_names_release,
        .stores = &pool->stores,
        .store_released = store_claims_release,
        .egress_open = &pool->egress_open,
        .list_worker = pool_list_worker,
        .unlist_worker = pool_unlist_worker,
        .context_alloc = context_alloc,
        .context_creation_failed = context_creation_failed,
        .context_destroy = jsp_context_destroy,
    };
}

/* Stores a process can hold open: ~4 descriptors each, leaving 1024 for connections and
 * the rest (jsp_pool_config.max_stores). */
static int default_max_stores(void)
{
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY)
        return 16;
    rlim_t n = files.rlim_cur > 1024 + 64 ? (files.rlim_cur - 1024) / 4 : 16;
    return n > 1000000 ? 1000000 : (int)n;
}

int jsp_pool_new(const jsp_pool_config *cfg, jsp_pool **out)
{
    if (!out)
        return JSP_EINVAL;
    *out = NULL;
    jsp_pool_config config = cfg ? *cfg : (jsp_pool_config){0};
    if (config.threads < 0 || config.threads > 1024 || config.max_contexts < 0 ||
        config.max_queued_jobs < 0 || config.heap_growth_ratio < 0 ||
        config.max_timers_per_context < 0 || config.max_host_calls_per_context < 0 || config.max_stores < 0 ||
        config.max_egress_connections < 0 ||
        !(config.cpu_share >= 0) || config.cpu_share_window_ms > 3600000 ||
        (config.placement != JSP_PLACE_ROUND_ROBIN && config.placement != JSP_PLACE_LEAST_LOADED))
        return JSP_EINVAL;
    if (config.max_queued_bytes == 0)
        config.max_queued_bytes = (size_t)64 << 20;
    if (config.threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        config.threads = cpus > 0 ? (int)cpus : 1;
    }
    if (!config.log)
        config.log = log_to_stderr;
    if (config.max_contexts == 0)
        config.max_contexts = 100000;
    if (config.max_stores == 0)
        config.max_stores = default_max_stores();
    if (config.max_egress_connections == 0)
        config.max_egress_connections = 256;
    if (config.max_queued_jobs == 0)
        config.max_queued_jobs = 10000;
    if (config.max_timers_per_context == 0)
        config.max_timers_per_context = 10000;
    if (config.max_host_calls_per_context == 0)
        config.max_host_calls_per_context = 1000;
    if (config.code_cache_bytes == 0)
        config.code_cache_bytes = (size_t)32 << 20;
    else if (config.code_cache_bytes == (size_t)-1)
        config.code_cache_bytes = 0; /* off: engine_vm_set_code_cache takes 0 */
    if (config.heap_check_request_interval == 0)
        config.heap_check_request_interval = 4096;
    if (config.heap_check_time_interval_ms == 0)
        config.heap_check_time_interval_ms = 5000;
    if (config.heap_growth_ratio == 0)
        config.heap_growth_ratio = 4.0;
    if (config.cpu_share == 0)
        config.cpu_share = 0.5;
    if (config.cpu_share > 1 || config.cpu_share * 1e6 < 1)
        config.cpu_share = config.cpu_share > 1 ? 1 : 1e-6;
    if (config.cpu_share_window_ms == 0)
        config.cpu_share_window_ms = 10000;
    uint64_t host_memory = host_memory_bytes(); /* the cgroup's limit, if lower */
    if (config.heap_limit_bytes == 0)
        config.heap_limit_bytes = host_memory / 4 / (uint64_t)config.threads;
    if (config.max_memory_bytes == 0)
        config.max_memory_bytes = host_memory / 4 * 3;
    jsp_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return JSP_ENOMEM;
    pool->runtimes = calloc((size_t)config.threads, sizeof(runtime));
    if (!pool->runtimes || host_registry_init(&pool->hosts) != 0) {
        free(pool->runtimes);
        free(pool);
        return JSP_ENOMEM;
    }
    if (broadcast_registry_init(&pool->broadcasts) != 0) {
        host_registry_destroy(&pool->hosts);
        free(pool->runtimes);
        free(pool);
        return JSP_ENOMEM;
    }
    if (lock_manager_init(&pool->locks) != 0) {
        broadcast_registry_destroy(&pool->broadcasts);
        host_registry_destroy(&pool->hosts);
        free(pool->runtimes);
        free(pool);
        return JSP_ESYSTEM;
    }
    if (context_names_init(&pool->names) != 0) {
        lock_manager_destroy(&pool->locks);
        broadcast_registry_destroy(&pool->broadcasts);
        host_registry_destroy(&pool->hosts);
        free(pool->runtimes);
        free(pool);
        return JSP_ESYSTEM;
    }
    atomic_init(&pool->refs, 1);
    atomic_init(&pool->magic, POOL_MAGIC);
    atomic_init(&pool->next_context_id, 1);
    pthread_mutex_init(&pool->workers_lock, NULL);
    store_claims_init(&pool->stores, config.max_stores);
    pool->config = config;
    pool->thread_count = config.threads;
    pool->wait_spin = completion_spin_for(config.threads);
    services_init(pool);
    for (int i = 0; i < config.threads; i++) {
        int rc = runtime_start(&pool->runtimes[i], &pool->services, i);
        if (rc != 0) {
            jsp_pool_free(pool);
            return rc;
        }
        pool->started_count++;
    }
    *out = pool;
    return 0;
}

void jsp_pool_free(jsp_pool *pool)
{
    if (!api_pool_take(pool))
        return;
    atomic_store(&pool->is_closed, true);
    /* Close every queue first so all runtimes drain in parallel, then join them. */
    for (int i = 0; i < pool->started_count; i++)
        job_queue_close(&pool->runtimes[i].queue);
    for (int i = 0; i < pool->started_count; i++)
        uv_thread_join(&pool->runtimes[i].thread);
    pool_release(pool);
}

int jsp_pool_threads(const jsp_pool *pool)
{
    return api_pool_ok(pool) ? pool->thread_count : 0;
}

runtime *pool_place(jsp_pool *pool, const jsp_context_config *cfg)
{
    runtime *rt;
    if (cfg && cfg->runtime > 0) {
        rt = &pool->runtimes[cfg->runtime - 1];
    } else if (pool->config.placement == JSP_PLACE_LEAST_LOADED) {
        rt = &pool->runtimes[0];
        for (int i = 1; i < pool->thread_count; i++)
            if (atomic_load(&pool->runtimes[i].live_contexts) < atomic_load(&rt->live_contexts))
                rt = &pool->runtimes[i];
    } else {
        unsigned turn = atomic_fetch_add(&pool->next_runtime, 1);
        rt = &pool->runtimes[turn % (unsigned)pool->thread_count];
    }
    atomic_fetch_add(&rt->live_contexts, 1);
    return rt;
}
