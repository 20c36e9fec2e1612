/* metrics.c — jsp_pool_metrics: the runtimes' counters and gauges in Prometheus text
 * exposition format. Reads relaxed atomics only, so a scrape never waits for a runtime
 * that is busy running JS. */
#include "pool/api_guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct text {
    char *data;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if (t->data && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 8192;
        while (cap <= t->len + (size_t)n)
            cap *= 2;
        char *data = realloc(t->data, cap);
        if (!data) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
}

static uint64_t load(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void header(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One line per runtime for a metric read by `get`. */
static void per_runtime(text *t, jsp_pool *pool, const char *name, const char *type,
                        const char *help, uint64_t (*get)(runtime *))
{
    header(t, name, type, help);
    for (int i = 0; i < pool->started_count; i++)
        put(t, "%s{runtime=\"%d\"} %llu\n", name, i, (unsigned long long)get(&pool->runtimes[i]));
}

static uint64_t get_heap_size(runtime *rt) { return load(&rt->metrics.heap_size_bytes); }
static uint64_t get_heap_capacity(runtime *rt) { return load(&rt->metrics.heap_capacity_bytes); }
static uint64_t get_heap_extra(runtime *rt) { return load(&rt->metrics.heap_extra_bytes); }
static uint64_t get_heap_objects(runtime *rt) { return load(&rt->metrics.heap_objects); }
static uint64_t get_recycles(runtime *rt) { return load(&rt->metrics.recycles); }
static uint64_t get_heap_checks(runtime *rt) { return load(&rt->metrics.heap_checks); }
static uint64_t get_heap_reads(runtime *rt) { return load(&rt->metrics.heap_reads); }
static uint64_t get_throttles(runtime *rt) { return load(&rt->metrics.throttles); }
static uint64_t get_code_entries(runtime *rt) { return load(&rt->metrics.code_cache_entries); }
static uint64_t get_code_bytes(runtime *rt) { return load(&rt->metrics.code_cache_bytes); }
static uint64_t get_code_hits(runtime *rt) { return load(&rt->metrics.code_cache_hits); }
static uint64_t get_code_misses(runtime *rt) { return load(&rt->metrics.code_cache_misses); }
static uint64_t get_code_evictions(runtime *rt) { return load(&rt->metrics.code_cache_evictions); }
static uint64_t get_contexts(runtime *rt) { return (uint64_t)atomic_load(&rt->live_contexts); }
static uint64_t get_queued(runtime *rt) { return job_queue_length(&rt->queue); }

static const char *const outcome_names[OUTCOME_COUNT] = {
    "ok", "js_error", "cpu_limit", "wall_limit", "oom", "cancelled",
};

static void call_histogram(text *t, jsp_pool *pool)
{
    const char *name = "jspool_call_duration_seconds";
    header(t, name, "histogram", "Time from a call starting to run until it settled.");
    for (int i = 0; i < pool->started_count; i++) {
        runtime_metrics *m = &pool->runtimes[i].metrics;
        uint64_t cumulative = 0;
        for (int b = 0; b < CALL_DURATION_BUCKETS; b++) {
            cumulative += load(&m->duration_buckets[b]);
            put(t, "%s_bucket{runtime=\"%d\",le=\"%g\"} %llu\n", name, i, call_duration_bounds[b],
                (unsigned long long)cumulative);
        }
        cumulative += load(&m->duration_buckets[CALL_DURATION_BUCKETS]);
        put(t, "%s_bucket{runtime=\"%d\",le=\"+Inf\"} %llu\n", name, i, (unsigned long long)cumulative);
        put(t, "%s_sum{runtime=\"%d\"} %.9f\n", name, i, load(&m->duration_sum_ns) / 1e9);
        put(t, "%s_count{runtime=\"%d\"} %llu\n", name, i, (unsigned long long)cumulative);
    }
}

char *jsp_pool_metrics(jsp_pool *pool)
{
    if (!api_pool_ok(pool))
        return NULL;
    text t = {0};
    header(&t, "jspool_calls_total", "counter", "Calls (eval, call, module load) by outcome.");
    for (int i = 0; i < pool->started_count; i++)
        for (int o = 0; o < OUTCOME_COUNT; o++)
            put(&t, "jspool_calls_total{runtime=\"%d\",outcome=\"%s\"} %llu\n", i, outcome_names[o],
                (unsigned long long)load(&pool->runtimes[i].metrics.calls[o]));
    call_histogram(&t, pool);
    header(&t, "jspool_leaked_objects_total", "counter",
           "Per-call host state a call left behind, force-cleared when it settled.");
    for (int i = 0; i < pool->started_count; i++) {
        runtime_metrics *m = &pool->runtimes[i].metrics;
        put(&t, "jspool_leaked_objects_total{runtime=\"%d\",kind=\"host_call\"} %llu\n", i,
            (unsigned long long)load(&m->leaked_host_calls));
        put(&t, "jspool_leaked_objects_total{runtime=\"%d\",kind=\"span\"} %llu\n", i,
            (unsigned long long)load(&m->leaked_spans));
        put(&t, "jspool_leaked_objects_total{runtime=\"%d\",kind=\"iterator\"} %llu\n", i,
            (unsigned long long)load(&m->leaked_iterators));
    }
    header(&t, "jspool_store_calls_total", "counter",
           "Calls of contexts with a store, by outcome: committed (durable, then delivered) or rolled back.");
    for (int i = 0; i < pool->started_count; i++) {
        runtime_metrics *m = &pool->runtimes[i].metrics;
        put(&t, "jspool_store_calls_total{runtime=\"%d\",outcome=\"committed\"} %llu\n", i,
            (unsigned long long)load(&m->store_commits));
        put(&t, "jspool_store_calls_total{runtime=\"%d\",outcome=\"rolled_back\"} %llu\n", i,
            (unsigned long long)load(&m->store_rollbacks));
    }
    per_runtime(&t, pool, "jspool_recycles_total", "counter", "VM recycles by the heap policy.", get_recycles);
    per_runtime(&t, pool, "jspool_heap_checks_total", "counter", "Heap policy checks.", get_heap_checks);
    per_runtime(&t, pool, "jspool_heap_reads_total", "counter",
                "Checks that read the VM heap statistics (the rest saw RSS unmoved).", get_heap_reads);
    per_runtime(&t, pool, "jspool_heap_size_bytes", "gauge", "VM heap size at the last heap read.", get_heap_size);
    per_runtime(&t, pool, "jspool_heap_capacity_bytes", "gauge", "VM heap capacity at the last heap read.",
                get_heap_capacity);
    per_runtime(&t, pool, "jspool_heap_extra_memory_bytes", "gauge",
                "Memory outside the VM heap owned by JS objects, at the last heap read.", get_heap_extra);
    per_runtime(&t, pool, "jspool_heap_objects", "gauge", "Live objects at the last heap read.", get_heap_objects);
    per_runtime(&t, pool, "jspool_code_cache_entries", "gauge",
                "Compiled sources in the runtime's code cache (modules, scripts of 4 KiB+).", get_code_entries);
    per_runtime(&t, pool, "jspool_code_cache_bytes", "gauge",
                "Bytes the runtime's code cache counts against code_cache_bytes.", get_code_bytes);
    per_runtime(&t, pool, "jspool_code_cache_hits_total", "counter",
                "Loads served compiled by the code cache (since the VM's last recycle).", get_code_hits);
    per_runtime(&t, pool, "jspool_code_cache_misses_total", "counter",
                "Cacheable loads the code cache did not hold (since the VM's last recycle).", get_code_misses);
    per_runtime(&t, pool, "jspool_code_cache_evictions_total", "counter",
                "Entries the code cache dropped to stay within its bounds (since the VM's last recycle).",
                get_code_evictions);
    per_runtime(&t, pool, "jspool_context_throttled_total", "counter",
                "Times a context ran out of its CPU share and was throttled.", get_throttles);
    header(&t, "jspool_context_throttled_seconds_total", "counter",
           "Time contexts spent throttled (ended throttles), summed.");
    for (int i = 0; i < pool->started_count; i++)
        put(&t, "jspool_context_throttled_seconds_total{runtime=\"%d\"} %.6f\n", i,
            load(&pool->runtimes[i].metrics.throttled_ns) / 1e9);
    header(&t, "jspool_context_cpu_seconds_total", "counter",
           "CPU the JS of every context used (per context: jsp_context_cpu).");
    for (int i = 0; i < pool->started_count; i++)
        put(&t, "jspool_context_cpu_seconds_total{runtime=\"%d\"} %.6f\n", i,
            load(&pool->runtimes[i].metrics.context_cpu_ns) / 1e9);
    per_runtime(&t, pool, "jspool_contexts", "gauge", "Live contexts.", get_contexts);
    per_runtime(&t, pool, "jspool_queued_jobs", "gauge", "Jobs waiting for the runtime thread.", get_queued);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

void jsp_free(void *p)
{
    free(p);
}
