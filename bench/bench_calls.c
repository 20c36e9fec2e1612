/* bench_calls.c — the cost of one call into a context. Loads `function inc(x){return x+1}`
 * with jsp_eval, then measures (a) synchronous jsp_call latency from a non-runtime thread
 * (p50/p99/p999 after a warm-up; target p50 <= 10 us) and (b) asynchronous throughput
 * with a window of calls kept in flight (target >= 1,000,000 calls/s): jsp_call_async
 * refilled by one producer thread per runtime (1 and 2 runtimes) or from the completion
 * callback itself, and jsp_eval_async of a tiny expression for comparison. Prints one
 * JSON line per configuration to stdout; diagnostics go to stderr. A benchmark, not a
 * test: it always exits 0 unless it cannot run at all.
 *
 * --limits none runs the same calls in contexts without CPU and wall budgets: an armed
 * budget costs JSC's watchdog a thread-CPU-clock read and a timer per entry into the VM.
 *
 *   usage: bench_calls [--only sync|async_call|async_eval|callback_refill]
 *                      [--sync-calls N] [--async-calls N] [--window N]
 *                      [--limits default|none]
 */
#include "bench_common.h"

#include <sys/resource.h>

#include <jspool.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TARGET_P50_US = 10,
    TARGET_CALLS_PER_S = 1000000,
    CONTEXTS_PER_RUNTIME = 4,
    MAX_RUNTIMES = 8,
};

static const char inc_source[] = "function inc(x){return x+1}";
static const char inc_args[] = "[1]";
static const char tiny_expression[] = "1+1";

typedef struct options {
    const char *only;     /* NULL = every configuration */
    long sync_calls;
    long sync_warmup_calls;
    long async_calls;     /* per configuration, spread over the producers */
    long window;          /* calls in flight per producer */
} options;

/* false with --limits none: contexts get cpu_limit_ms = wall_limit_ms = -1. */
static bool has_limits = true;

/* ---- setup ---- */

/* The growth rule of the heap policy is off: a VM recycle mid-run would cost a rebuild
 * and drop inc(), which jsp_eval defined (eval-made globals do not survive a recycle).
 * The absolute heap limit and the periodic heap check stay as configured by default. */
static jsp_pool *new_pool(int runtimes)
{
    jsp_pool_config config = {.threads = runtimes, .log = bench_log_quietly,
                              .heap_growth_ratio = 0.5};
    jsp_pool *pool = NULL;
    int rc = jsp_pool_new(&config, &pool);
    if (rc != 0)
        fprintf(stderr, "jsp_pool_new: %s\n", jsp_strerror(rc));
    return pool;
}

/* A context pinned to runtime index, with inc() defined. */
static jsp_context *new_inc_context(jsp_pool *pool, int runtime_index)
{
    jsp_context_config cfg = {.runtime = runtime_index + 1};
    if (!has_limits)
        cfg.cpu_limit_ms = cfg.wall_limit_ms = -1;
    jsp_context *ctx = NULL;
    int rc = jsp_context_new(pool, &cfg, &ctx);
    if (rc != 0) {
        fprintf(stderr, "jsp_context_new: %s\n", jsp_strerror(rc));
        return NULL;
    }
    jsp_result *r = NULL;
    rc = jsp_eval(ctx, inc_source, -1, &r);
    if (rc != 0)
        fprintf(stderr, "loading inc: %s\n", r->error_message);
    jsp_result_free(r);
    if (rc != 0) {
        jsp_context_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool inc_answers_two(jsp_context *ctx)
{
    jsp_result *r = NULL;
    int rc = jsp_call(ctx, "inc", inc_args, -1, &r);
    bool is_right = rc == 0 && strcmp(r->json, "2") == 0;
    if (!is_right)
        fprintf(stderr, "inc(1) gave %s\n", rc == 0 ? r->json : r->error_message);
    jsp_result_free(r);
    return is_right;
}

/* ---- (a) synchronous latency ---- */

static int timed_sync_calls(jsp_context *ctx, uint64_t *latency_ns, long count)
{
    int errors = 0;
    for (long i = 0; i < count; i++) {
        jsp_result *r = NULL;
        uint64_t start = bench_now_ns();
        int rc = jsp_call(ctx, "inc", inc_args, 3, &r);
        uint64_t elapsed = bench_now_ns() - start;
        if (latency_ns)
            latency_ns[i] = elapsed;
        if (rc != 0 && errors++ == 0)
            fprintf(stderr, "first failed call: %s: %s\n", jsp_error_id(rc), r->error_message);
        jsp_result_free(r);
    }
    return errors;
}

static void bench_sync(const options *o)
{
    jsp_pool *pool = new_pool(1);
    jsp_context *ctx = pool ? new_inc_context(pool, 0) : NULL;
    uint64_t *latency_ns = calloc((size_t)o->sync_calls, sizeof(uint64_t));
    if (ctx && latency_ns && inc_answers_two(ctx)) {
        timed_sync_calls(ctx, NULL, o->sync_warmup_calls);
        uint64_t start = bench_now_ns();
        int errors = timed_sync_calls(ctx, latency_ns, o->sync_calls);
        double wall_s = (double)(bench_now_ns() - start) / 1e9;
        size_t n = (size_t)o->sync_calls;
        qsort(latency_ns, n, sizeof(uint64_t), bench_compare_u64);
        double p50_us = (double)bench_percentile(latency_ns, n, 0.50) / 1e3;
        printf("{\"bench\":\"sync_call\",\"limits\":\"%s\",\"runtimes\":1,\"calls\":%ld,\"warmup_calls\":%ld,"
               "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
               "\"max_us\":%.1f,\"calls_per_s\":%.0f,\"errors\":%d,\"vm_recycles\":%ld,"
               "\"target_p50_us\":%d,\"met\":%s}\n",
               has_limits ? "default" : "none", o->sync_calls, o->sync_warmup_calls, p50_us,
               (double)bench_percentile(latency_ns, n, 0.90) / 1e3,
               (double)bench_percentile(latency_ns, n, 0.99) / 1e3,
               (double)bench_percentile(latency_ns, n, 0.999) / 1e3,
               (double)latency_ns[n - 1] / 1e3, (double)n / wall_s, errors,
               bench_vm_recycles(pool), TARGET_P50_US,
               bench_bool(errors == 0 && p50_us <= TARGET_P50_US));
        fflush(stdout);
    }
    free(latency_ns);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
}

/* ---- (b) asynchronous throughput ---- */

typedef int (*submit_fn)(jsp_context *ctx, jsp_done_fn done, void *user);

static int submit_inc_call(jsp_context *ctx, jsp_done_fn done, void *user)
{
    return jsp_call_async(ctx, "inc", inc_args, 3, done, user);
}

static int submit_tiny_eval(jsp_context *ctx, jsp_done_fn done, void *user)
{
    return jsp_eval_async(ctx, tiny_expression, 3, done, user);
}

/* One stream of calls onto one runtime. Completions run on the runtime thread; the
 * issuer (producer thread or main) sleeps on `wake` until in_flight falls to
 * wake_at_or_below, so nobody spins on the two shared cores. */
typedef struct stream {
    pthread_t thread;
    jsp_context *contexts[CONTEXTS_PER_RUNTIME];
    submit_fn submit;
    long total;
    long window;
    atomic_long issued;    /* callback refill: calls handed out so far */
    atomic_long in_flight;
    atomic_long completed;
    atomic_long errors;
    atomic_long wake_at_or_below;
    atomic_bool is_waiting;
    bool is_callback_refill;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
} stream;

static void wake_issuer_if_due(stream *s, long left_in_flight)
{
    if (!atomic_load(&s->is_waiting) || left_in_flight > atomic_load(&s->wake_at_or_below))
        return;
    pthread_mutex_lock(&s->mutex);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mutex);
}

/* Blocks until at most `limit` calls are in flight. */
static void wait_in_flight_at_most(stream *s, long limit)
{
    if (atomic_load(&s->in_flight) <= limit)
        return;
    pthread_mutex_lock(&s->mutex);
    atomic_store(&s->wake_at_or_below, limit);
    atomic_store(&s->is_waiting, true);
    while (atomic_load(&s->in_flight) > limit)
        pthread_cond_wait(&s->wake, &s->mutex);
    atomic_store(&s->is_waiting, false);
    pthread_mutex_unlock(&s->mutex);
}

static void on_call_done(jsp_result *result, void *user);

/* Submits call number `index` (contexts taken in turn); false if it was refused. */
static bool submit_one(stream *s, long index)
{
    int rc = s->submit(s->contexts[index % CONTEXTS_PER_RUNTIME], on_call_done, s);
    if (rc == 0)
        return true;
    if (atomic_fetch_add(&s->errors, 1) == 0)
        fprintf(stderr, "submit: %s\n", jsp_strerror(rc));
    return false;
}

static void on_call_done(jsp_result *result, void *user)
{
    stream *s = user;
    if (result->code != 0 && atomic_fetch_add(&s->errors, 1) == 0)
        fprintf(stderr, "first failed call: %s: %s\n", jsp_error_id(result->code),
                result->error_message);
    jsp_result_free(result);
    atomic_fetch_add(&s->completed, 1);
    if (s->is_callback_refill) {
        long next = atomic_fetch_add(&s->issued, 1);
        if (next < s->total && submit_one(s, next))
            return; /* the slot stays in flight with the next call */
    }
    wake_issuer_if_due(s, atomic_fetch_sub(&s->in_flight, 1) - 1);
}

/* Producer thread: keeps up to `window` calls in flight, refilling in batches of a
 * quarter window so that it sleeps and wakes a few times per window, not per call. */
static void *produce_calls(void *arg)
{
    stream *s = arg;
    long refill_at = s->window - s->window / 4;
    for (long i = 0; i < s->total; i++) {
        if (atomic_load(&s->in_flight) >= s->window)
            wait_in_flight_at_most(s, refill_at);
        atomic_fetch_add(&s->in_flight, 1);
        if (!submit_one(s, i))
            atomic_fetch_sub(&s->in_flight, 1);
    }
    wait_in_flight_at_most(s, 0);
    return NULL;
}

/* Callback refill: prime the window, then completions submit the rest themselves. */
static void *prime_and_wait(void *arg)
{
    stream *s = arg;
    long first = s->window < s->total ? s->window : s->total;
    atomic_store(&s->issued, first);
    for (long i = 0; i < first; i++) {
        atomic_fetch_add(&s->in_flight, 1);
        if (!submit_one(s, i))
            atomic_fetch_sub(&s->in_flight, 1);
    }
    wait_in_flight_at_most(s, 0);
    return NULL;
}

static bool stream_init(stream *s, jsp_pool *pool, int runtime_index)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mutex, NULL);
    pthread_cond_init(&s->wake, NULL);
    for (int c = 0; c < CONTEXTS_PER_RUNTIME; c++)
        if (!(s->contexts[c] = new_inc_context(pool, runtime_index)))
            return false;
    return true;
}

static void stream_destroy(stream *s)
{
    for (int c = 0; c < CONTEXTS_PER_RUNTIME; c++)
        jsp_context_free(s->contexts[c]);
    pthread_mutex_destroy(&s->mutex);
    pthread_cond_destroy(&s->wake);
}

typedef struct async_config {
    const char *name;     /* "async_call" / "async_eval" */
    submit_fn submit;
    int runtimes;
    bool is_callback_refill;
} async_config;

/* Runs total calls split over one stream per runtime; returns elapsed ns. */
static uint64_t run_streams(stream *streams, int count, long total_per_stream, bool refill,
                            submit_fn submit, long window)
{
    for (int k = 0; k < count; k++) {
        streams[k].submit = submit;
        streams[k].total = total_per_stream;
        streams[k].window = window;
        streams[k].is_callback_refill = refill;
        atomic_store(&streams[k].in_flight, 0);
        atomic_store(&streams[k].completed, 0);
        atomic_store(&streams[k].errors, 0);
    }
    uint64_t start = bench_now_ns();
    for (int k = 0; k < count; k++)
        pthread_create(&streams[k].thread, NULL, refill ? prime_and_wait : produce_calls,
                       &streams[k]);
    for (int k = 0; k < count; k++)
        pthread_join(streams[k].thread, NULL);
    return bench_now_ns() - start;
}

/* CPU time of the whole process (producers and runtimes), user + system: the figure that
 * holds on a shared machine, where calls/s swing with the neighbours' load. */
static uint64_t process_cpu_ns(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (uint64_t)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000u;
}

static void bench_async(const options *o, const async_config *c)
{
    jsp_pool *pool = new_pool(c->runtimes);
    stream streams[MAX_RUNTIMES];
    int ready = 0;
    bool is_ready = pool != NULL;
    for (; is_ready && ready < c->runtimes; ready++)
        is_ready = stream_init(&streams[ready], pool, ready);
    if (is_ready) {
        long per_stream = o->async_calls / c->runtimes;
        long warmup = per_stream / 10 > 1000 ? per_stream / 10 : 1000;
        run_streams(streams, c->runtimes, warmup, c->is_callback_refill, c->submit, o->window);
        uint64_t cpu_before = process_cpu_ns();
        uint64_t elapsed = run_streams(streams, c->runtimes, per_stream, c->is_callback_refill,
                                       c->submit, o->window);
        uint64_t cpu = process_cpu_ns() - cpu_before;
        long completed = 0, errors = 0;
        for (int k = 0; k < c->runtimes; k++) {
            completed += atomic_load(&streams[k].completed);
            errors += atomic_load(&streams[k].errors);
        }
        double calls_per_s = (double)completed / ((double)elapsed / 1e9);
        printf("{\"bench\":\"%s\",\"limits\":\"%s\",\"runtimes\":%d,\"refill\":\"%s\",\"producers\":%d,"
               "\"contexts\":%d,\"window_per_producer\":%ld,\"calls\":%ld,\"seconds\":%.3f,"
               "\"calls_per_s\":%.0f,\"ns_per_call\":%.0f,\"cpu_ns_per_call\":%.0f,\"errors\":%ld,\"vm_recycles\":%ld,"
               "\"target_calls_per_s\":%d,\"met\":%s}\n",
               c->name, has_limits ? "default" : "none", c->runtimes, c->is_callback_refill ? "callback" : "producer",
               c->is_callback_refill ? 0 : c->runtimes, c->runtimes * CONTEXTS_PER_RUNTIME,
               o->window, completed, (double)elapsed / 1e9, calls_per_s,
               (double)elapsed / (double)completed, (double)cpu / (double)completed, errors,
               bench_vm_recycles(pool),
               TARGET_CALLS_PER_S, bench_bool(errors == 0 && calls_per_s >= TARGET_CALLS_PER_S));
        fflush(stdout);
    }
    for (int k = 0; k < ready; k++)
        stream_destroy(&streams[k]);
    jsp_pool_free(pool);
}

/* ---- main ---- */

static bool wants(const options *o, const char *name)
{
    return !o->only || strcmp(o->only, name) == 0;
}

static bool parse_options(int argc, char **argv, options *o)
{
    *o = (options){.sync_calls = 200000, .sync_warmup_calls = 20000,
                   .async_calls = 2000000, .window = 10000};
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value)
            return false;
        if (strcmp(argv[i], "--only") == 0)
            o->only = value;
        else if (strcmp(argv[i], "--sync-calls") == 0)
            o->sync_calls = strtol(value, NULL, 10);
        else if (strcmp(argv[i], "--async-calls") == 0)
            o->async_calls = strtol(value, NULL, 10);
        else if (strcmp(argv[i], "--window") == 0)
            o->window = strtol(value, NULL, 10);
        else if (strcmp(argv[i], "--limits") == 0 && strcmp(value, "none") == 0)
            has_limits = false;
        else if (strcmp(argv[i], "--limits") == 0 && strcmp(value, "default") == 0)
            has_limits = true;
        else
            return false;
        i++;
    }
    return o->sync_calls > 0 && o->async_calls > 0 && o->window > 0;
}

int main(int argc, char **argv)
{
    options o;
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--only sync|async_call|async_eval|callback_refill] "
                        "[--sync-calls N] [--async-calls N] [--window N] "
                        "[--limits default|none]\n", argv[0]);
        return 2;
    }
    if (wants(&o, "sync"))
        bench_sync(&o);
    const async_config configs[] = {
        {"async_call", submit_inc_call, 1, false},
        {"async_call", submit_inc_call, 2, false},
        {"async_call", submit_inc_call, 1, true},
        {"async_eval", submit_tiny_eval, 1, false},
        {"async_eval", submit_tiny_eval, 2, false},
    };
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        const async_config *c = &configs[i];
        const char *group = c->is_callback_refill ? "callback_refill" : c->name;
        if (wants(&o, group))
            bench_async(&o, c);
    }
    return 0;
}
