/* bench_contexts.c — how fast jspool creates and destroys bare contexts, and what each one
 * costs in resident memory. For every count N (argv; default 1000 10000) and every shape
 * (1 runtime; the default runtime count, created from one thread and from one thread per
 * runtime) it prints one JSON line to stdout. Each shape runs in a forked child so the RSS
 * delta of one cannot leak into the next. Targets: median creation <= 200 us, <= 120 KB
 * per context. A benchmark, not a test: it always exits 0 unless it cannot run at all.
 *
 * --apis LIST creates the contexts with those web-API groups (jsp_context_config.apis;
 * default: the library's default, console and timers). --touch CODE then evaluates CODE
 * once in every context (say `new TextEncoder()`, to load one lazy group) and reports
 * that eval's median and the RSS it added per context, then its median when evaluated a
 * second time (jspool installs a context's natives and group accessors on its first use:
 * the difference is that install). With --raw-jsc, the peer evaluates CODE once in each of
 * its globals too (JSEvaluateScript), so creation plus first use compare in the same run.
 *
 * --raw-jsc adds the engine's floor as a peer, measured the same way in the same run: N
 * bare globals made with JSGlobalContextCreateInGroup in one context group on the calling
 * thread (what jspool's creation costs at least), median and RSS per global.
 *
 * --memory-limit MIB makes isolated contexts (a VM each, memory_limit_bytes = MIB MiB); the
 * --raw-jsc peer then makes one JSContextGroupCreate + JSGlobalContextCreateInGroup per
 * global (the engine's own-VM floor).
 *
 * --pause-us U waits U microseconds after each creation, as an application that creates
 * contexts now and then does: the runtime is idle meanwhile and prepares spare globals
 * (ENGINE_SPARE_GLOBALS per runtime), so the median then shows a creation that found one.
 *
 *   usage: bench_contexts [--runtimes R] [--creators T] [--apis LIST] [--touch CODE]
 *                         [--raw-jsc] [--memory-limit MIB] [--pause-us U] [N ...]
 */
#include "bench_common.h"

#include <jspool.h>

#include <JavaScriptCore/JavaScript.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    TARGET_MEDIAN_US = 200,
    TARGET_RSS_PER_CONTEXT_KB = 120,
    SETTLE_MS = 300, /* lets runtime threads finish and the allocator quiet down */
    MAX_THREADS = 64,
};

typedef struct shape {
    int runtimes;
    int creator_threads;
} shape;

/* What one creator thread does: contexts i = first, first + stride, ... below count. */
typedef struct creator {
    pthread_t thread;
    jsp_pool *pool;
    jsp_context **contexts;
    uint64_t *latency_ns;
    size_t first, stride, count;
    int failures;
} creator;

typedef struct measurement {
    uint64_t median_ns, p99_ns, max_ns;
    uint64_t create_wall_ns, destroy_wall_ns;
    int64_t rss_delta_bytes, rss_left_after_destroy_bytes;
    uint64_t touch_median_ns;     /* --touch: the eval in each context */
    uint64_t touch_again_median_ns; /* ... and the same eval once more (jspool only) */
    int64_t touch_rss_delta_bytes;
    int failures;
    long vm_recycles; /* by the pool's heap policy, during the whole measurement */
} measurement;

static const char *apis;  /* --apis: NULL = the default groups */
static const char *touch; /* --touch: code evaluated once in every context, or NULL */
static bool has_raw_jsc;  /* --raw-jsc: also measure bare JSC globals (the floor) */
static long pause_us;     /* --pause-us: idle time after each creation */
static long memory_mib;   /* --memory-limit: isolated contexts (own VM) of that limit; 0 = light */

/* The peer: count bare globals in one group (or, for --memory-limit, each in a group of
 * its own), made and timed on this thread. */
static void measure_raw_jsc(size_t count, measurement *m)
{
    JSContextGroupRef group = JSContextGroupCreate();
    JSContextGroupRef *own_groups = memory_mib ? calloc(count, sizeof(*own_groups)) : NULL;
    JSGlobalContextRef *globals = calloc(count, sizeof(*globals));
    uint64_t *latency_ns = calloc(count, sizeof(*latency_ns));
    if (!globals || !latency_ns || (memory_mib && !own_groups)) {
        m->failures = (int)count;
        free(globals);
        free(latency_ns);
        free(own_groups);
        return;
    }
    JSGlobalContextRelease(JSGlobalContextCreateInGroup(group, NULL)); /* the VM's own set-up */
    bench_sleep_ms(SETTLE_MS);
    uint64_t rss_before = bench_rss_bytes();
    uint64_t start = bench_now_ns();
    for (size_t i = 0; i < count; i++) {
        uint64_t t = bench_now_ns();
        if (own_groups)
            own_groups[i] = JSContextGroupCreate();
        globals[i] = JSGlobalContextCreateInGroup(own_groups ? own_groups[i] : group, NULL);
        latency_ns[i] = bench_now_ns() - t;
        m->failures += globals[i] == NULL;
    }
    uint64_t *create_ns = malloc(count * sizeof(*create_ns)); /* latency_ns is reused by touch */
    if (!create_ns)
        abort();
    memcpy(create_ns, latency_ns, count * sizeof(*create_ns));
    m->create_wall_ns = bench_now_ns() - start;
    bench_sleep_ms(SETTLE_MS);
    m->rss_delta_bytes = (int64_t)bench_rss_bytes() - (int64_t)rss_before;
    if (touch) {
        JSStringRef code = JSStringCreateWithUTF8CString(touch);
        uint64_t rss_created = bench_rss_bytes();
        for (size_t i = 0; i < count; i++) {
            uint64_t t = bench_now_ns();
            JSValueRef exception = NULL;
            if (globals[i])
                JSEvaluateScript(globals[i], code, NULL, NULL, 1, &exception);
            latency_ns[i] = bench_now_ns() - t;
            m->failures += !globals[i] || exception;
        }
        JSStringRelease(code);
        bench_sleep_ms(SETTLE_MS);
        m->touch_rss_delta_bytes = (int64_t)bench_rss_bytes() - (int64_t)rss_created;
        qsort(latency_ns, count, sizeof(uint64_t), bench_compare_u64);
        m->touch_median_ns = bench_percentile(latency_ns, count, 0.50);
    }
    start = bench_now_ns();
    for (size_t i = 0; i < count; i++) {
        if (globals[i])
            JSGlobalContextRelease(globals[i]);
        if (own_groups)
            JSContextGroupRelease(own_groups[i]);
    }
    m->destroy_wall_ns = bench_now_ns() - start;
    free(own_groups);
    qsort(create_ns, count, sizeof(uint64_t), bench_compare_u64);
    m->median_ns = bench_percentile(create_ns, count, 0.50);
    m->p99_ns = bench_percentile(create_ns, count, 0.99);
    m->max_ns = create_ns[count - 1];
    free(create_ns);
    free(globals);
    free(latency_ns);
    JSContextGroupRelease(group);
}

static void run_raw_jsc_isolated(size_t count)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return;
    }
    if (child == 0) {
        measurement m = {0};
        measure_raw_jsc(count, &m);
        printf("{\"bench\":\"contexts_raw_jsc\",\"own_vm\":%s,\"n\":%zu,\"create_median_us\":%.1f,"
               "\"create_p99_us\":%.1f,\"create_wall_per_ctx_us\":%.1f,\"rss_per_ctx_kb\":%.1f,"
               "\"destroy_per_ctx_us\":%.1f,\"touch_median_us\":%.1f,\"touch_rss_per_ctx_kb\":%.1f,"
               "\"failures\":%d}\n",
               bench_bool(memory_mib != 0), count, (double)m.median_ns / 1e3, (double)m.p99_ns / 1e3,
               (double)m.create_wall_ns / 1e3 / (double)count,
               (double)m.rss_delta_bytes / 1024.0 / (double)count,
               (double)m.destroy_wall_ns / 1e3 / (double)count, (double)m.touch_median_ns / 1e3,
               (double)m.touch_rss_delta_bytes / 1024.0 / (double)count, m.failures);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
}

/* Evaluates `touch` in every context from this thread; returns the failures. */
static int touch_contexts(jsp_context **contexts, uint64_t *latency_ns, size_t count)
{
    int failures = 0;
    for (size_t i = 0; i < count; i++) {
        jsp_result *r = NULL;
        uint64_t start = bench_now_ns();
        int rc = contexts[i] ? jsp_eval(contexts[i], touch, -1, &r) : JSP_EINVAL;
        latency_ns[i] = bench_now_ns() - start;
        if (rc != 0 && failures++ == 0)
            fprintf(stderr, "--touch: %s %s\n", jsp_strerror(rc), r && r->error_message ? r->error_message : "");
        jsp_result_free(r);
    }
    return failures;
}

static void *create_contexts(void *arg)
{
    creator *c = arg;
    jsp_context_config cfg = {.apis = apis, .memory_limit_bytes = (uint64_t)memory_mib << 20};
    for (size_t i = c->first; i < c->count; i += c->stride) {
        uint64_t start = bench_now_ns();
        int rc = jsp_context_new(c->pool, &cfg, &c->contexts[i]);
        c->latency_ns[i] = bench_now_ns() - start;
        if (pause_us > 0) {
            struct timespec ts = {.tv_sec = pause_us / 1000000, .tv_nsec = (pause_us % 1000000) * 1000L};
            nanosleep(&ts, NULL);
        }
        if (rc != 0) {
            c->contexts[i] = NULL;
            if (c->failures++ == 0)
                fprintf(stderr, "jsp_context_new: %s\n", jsp_strerror(rc));
        }
    }
    return NULL;
}

/* One context pinned on each runtime, created before the baseline: a sync eval on it
 * returns only after everything queued earlier on that runtime has run. */
static int create_sentinels(jsp_pool *pool, int runtimes, jsp_context **sentinels)
{
    for (int k = 0; k < runtimes; k++) {
        char name[32];
        snprintf(name, sizeof(name), "sentinel-%d", k); /* names are unique in a pool */
        jsp_context_config cfg = {.name = name, .runtime = k + 1};
        int rc = jsp_context_new(pool, &cfg, &sentinels[k]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void wait_for_runtimes(jsp_context **sentinels, int runtimes)
{
    for (int k = 0; k < runtimes; k++) {
        jsp_result *r = NULL;
        jsp_eval(sentinels[k], "0", 1, &r);
        jsp_result_free(r);
    }
}

static int run_creators(jsp_pool *pool, int thread_count, jsp_context **contexts,
                        uint64_t *latency_ns, size_t count)
{
    creator creators[MAX_THREADS];
    int failures = 0;
    for (int t = 0; t < thread_count; t++) {
        creators[t] = (creator){.pool = pool, .contexts = contexts, .latency_ns = latency_ns,
                                .first = (size_t)t, .stride = (size_t)thread_count,
                                .count = count};
        pthread_create(&creators[t].thread, NULL, create_contexts, &creators[t]);
    }
    for (int t = 0; t < thread_count; t++) {
        pthread_join(creators[t].thread, NULL);
        failures += creators[t].failures;
    }
    return failures;
}

static void summarise_latency(uint64_t *latency_ns, size_t count, measurement *m)
{
    qsort(latency_ns, count, sizeof(uint64_t), bench_compare_u64);
    m->median_ns = bench_percentile(latency_ns, count, 0.50);
    m->p99_ns = bench_percentile(latency_ns, count, 0.99);
    m->max_ns = latency_ns[count - 1];
}

static int measure_shape(const shape *s, size_t count, measurement *m)
{
    jsp_pool_config config = {.threads = s->runtimes, .log = bench_log_quietly};
    jsp_pool *pool;
    int rc = jsp_pool_new(&config, &pool);
    if (rc != 0)
        return rc;
    jsp_context *sentinels[MAX_THREADS] = {0};
    jsp_context **contexts = calloc(count, sizeof(*contexts));
    uint64_t *latency_ns = calloc(count, sizeof(*latency_ns));
    rc = contexts && latency_ns ? create_sentinels(pool, s->runtimes, sentinels) : JSP_ENOMEM;
    if (rc == 0) {
        wait_for_runtimes(sentinels, s->runtimes);
        bench_sleep_ms(SETTLE_MS);
        uint64_t rss_before = bench_rss_bytes();

        uint64_t start = bench_now_ns();
        m->failures = run_creators(pool, s->creator_threads, contexts, latency_ns, count);
        m->create_wall_ns = bench_now_ns() - start;
        bench_sleep_ms(SETTLE_MS);
        m->rss_delta_bytes = (int64_t)bench_rss_bytes() - (int64_t)rss_before;
        if (touch) {
            uint64_t *touch_ns = calloc(count, sizeof(*touch_ns));
            uint64_t rss_created = bench_rss_bytes();
            m->failures += touch_ns ? touch_contexts(contexts, touch_ns, count) : (int)count;
            bench_sleep_ms(SETTLE_MS);
            m->touch_rss_delta_bytes = (int64_t)bench_rss_bytes() - (int64_t)rss_created;
            if (touch_ns) {
                qsort(touch_ns, count, sizeof(uint64_t), bench_compare_u64);
                m->touch_median_ns = bench_percentile(touch_ns, count, 0.50);
                m->failures += touch_contexts(contexts, touch_ns, count);
                qsort(touch_ns, count, sizeof(uint64_t), bench_compare_u64);
                m->touch_again_median_ns = bench_percentile(touch_ns, count, 0.50);
            }
            free(touch_ns);
        }

        start = bench_now_ns();
        for (size_t i = 0; i < count; i++)
            jsp_context_free(contexts[i]);
        wait_for_runtimes(sentinels, s->runtimes);
        m->destroy_wall_ns = bench_now_ns() - start;
        bench_sleep_ms(SETTLE_MS);
        m->rss_left_after_destroy_bytes = (int64_t)bench_rss_bytes() - (int64_t)rss_before;
        summarise_latency(latency_ns, count, m);
        m->vm_recycles = bench_vm_recycles(pool);
    }
    for (int k = 0; k < s->runtimes; k++)
        jsp_context_free(sentinels[k]);
    jsp_pool_free(pool);
    free(contexts);
    free(latency_ns);
    return rc;
}

static void print_measurement(const shape *s, size_t count, const measurement *m)
{
    double median_us = (double)m->median_ns / 1e3;
    double rss_kb = (double)m->rss_delta_bytes / 1024.0 / (double)count;
    printf("{\"bench\":\"contexts\",\"apis\":\"%s\",\"memory_limit_mib\":%ld,\"pause_us\":%ld,\"n\":%zu,\"runtimes\":%d,\"creator_threads\":%d,"
           "\"create_median_us\":%.1f,\"create_p99_us\":%.1f,\"create_max_us\":%.1f,"
           "\"create_wall_per_ctx_us\":%.1f,\"create_total_ms\":%.1f,"
           "\"rss_per_ctx_kb\":%.1f,\"rss_left_after_destroy_per_ctx_kb\":%.1f,"
           "\"destroy_total_ms\":%.1f,\"destroy_per_ctx_us\":%.1f,\"failures\":%d,\"vm_recycles\":%ld,"
           "\"touch_median_us\":%.1f,\"touch_again_median_us\":%.1f,\"touch_rss_per_ctx_kb\":%.1f,"
           "\"target_median_us\":%d,\"median_met\":%s,"
           "\"target_rss_per_ctx_kb\":%d,\"rss_met\":%s}\n",
           apis ? apis : "default", memory_mib, pause_us, count, s->runtimes, s->creator_threads, median_us, (double)m->p99_ns / 1e3,
           (double)m->max_ns / 1e3, (double)m->create_wall_ns / 1e3 / (double)count,
           (double)m->create_wall_ns / 1e6, rss_kb,
           (double)m->rss_left_after_destroy_bytes / 1024.0 / (double)count,
           (double)m->destroy_wall_ns / 1e6, (double)m->destroy_wall_ns / 1e3 / (double)count,
           m->failures, m->vm_recycles, (double)m->touch_median_ns / 1e3,
           (double)m->touch_again_median_ns / 1e3, (double)m->touch_rss_delta_bytes / 1024.0 / (double)count, TARGET_MEDIAN_US, bench_bool(median_us <= TARGET_MEDIAN_US),
           TARGET_RSS_PER_CONTEXT_KB, bench_bool(rss_kb <= TARGET_RSS_PER_CONTEXT_KB));
    fflush(stdout);
}

/* Runs one shape in a child process: a fresh address space makes the RSS delta honest. */
static void run_shape_isolated(const shape *s, size_t count)
{
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return;
    }
    if (child == 0) {
        measurement m = {0};
        int rc = measure_shape(s, count, &m);
        if (rc != 0)
            fprintf(stderr, "runtimes=%d creators=%d n=%zu: %s\n", s->runtimes,
                    s->creator_threads, count, jsp_strerror(rc));
        else
            print_measurement(s, count, &m);
        _exit(rc == 0 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status))
        fprintf(stderr, "runtimes=%d creators=%d n=%zu: child died\n", s->runtimes,
                s->creator_threads, count);
}

/* 1 runtime from 1 thread; default runtimes from 1 thread and from one per runtime. */
static size_t list_default_shapes(shape *shapes)
{
    int cpus = bench_default_runtimes();
    if (cpus > MAX_THREADS)
        cpus = MAX_THREADS;
    size_t n = 0;
    shapes[n++] = (shape){.runtimes = 1, .creator_threads = 1};
    if (cpus > 1) {
        shapes[n++] = (shape){.runtimes = cpus, .creator_threads = 1};
        shapes[n++] = (shape){.runtimes = cpus, .creator_threads = cpus};
    }
    return n;
}

typedef struct options {
    size_t counts[16];
    size_t count_total;
    shape only;         /* zero = every default shape */
} options;

static bool parse_thread_count(const char *text, int *out)
{
    long n = text ? strtol(text, NULL, 10) : 0;
    if (n < 1 || n > MAX_THREADS)
        return false;
    *out = (int)n;
    return true;
}

static bool parse_options(int argc, char **argv, options *o)
{
    *o = (options){.counts = {1000, 10000}, .count_total = 0};
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--runtimes") == 0) {
            if (!parse_thread_count(has_value ? argv[++i] : NULL, &o->only.runtimes))
                return false;
        } else if (strcmp(argv[i], "--apis") == 0) {
            if (!has_value)
                return false;
            apis = argv[++i];
        } else if (strcmp(argv[i], "--touch") == 0) {
            if (!has_value)
                return false;
            touch = argv[++i];
        } else if (strcmp(argv[i], "--pause-us") == 0) {
            if (!has_value)
                return false;
            pause_us = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--memory-limit") == 0) {
            if (!has_value || (memory_mib = strtol(argv[++i], NULL, 10)) < 4)
                return false;
        } else if (strcmp(argv[i], "--raw-jsc") == 0) {
            has_raw_jsc = true;
        } else if (strcmp(argv[i], "--creators") == 0) {
            if (!parse_thread_count(has_value ? argv[++i] : NULL, &o->only.creator_threads))
                return false;
        } else {
            long n = strtol(argv[i], NULL, 10);
            if (n <= 0 || o->count_total == 16)
                return false;
            o->counts[o->count_total++] = (size_t)n;
        }
    }
    if (o->count_total == 0)
        o->count_total = 2;
    if (o->only.runtimes && !o->only.creator_threads)
        o->only.creator_threads = 1;
    if (o->only.creator_threads && !o->only.runtimes)
        o->only.runtimes = bench_default_runtimes() < MAX_THREADS ? bench_default_runtimes()
                                                                   : MAX_THREADS;
    return true;
}

int main(int argc, char **argv)
{
    options o;
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--runtimes R] [--creators T] [--apis LIST] [--touch CODE] [--raw-jsc] [--memory-limit MIB] [--pause-us U] [N ...]\n"
                        "  N: context counts (default 1000 10000); R, T: run only that shape\n",
                argv[0]);
        return 2;
    }
    shape shapes[3];
    size_t shape_total = 1;
    if (o.only.runtimes)
        shapes[0] = o.only;
    else
        shape_total = list_default_shapes(shapes);
    for (size_t c = 0; c < o.count_total; c++) {
        if (has_raw_jsc)
            run_raw_jsc_isolated(o.counts[c]);
        for (size_t s = 0; s < shape_total; s++)
            run_shape_isolated(&shapes[s], o.counts[c]);
    }
    return 0;
}
