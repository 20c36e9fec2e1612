/* bench_fairness.c — what a CPU hog does to a sibling on the same runtime: the sibling's
 * latency for a trivial call (p50/p99/max, calls made one after another with 10 ms
 * between them) while the hog runs, and the hog's share of the runtime thread. Two hogs,
 * each under default limits and the default pool configuration:
 *   interval: setInterval(() => { busy 900 ms }, 1)   (each callback within its budget)
 *   loop:     jsp_eval("for(;;);") again and again     (each call ends at the CPU limit)
 * The hog's share is measured by the hog itself (its busy time, or the calls' CPU time),
 * over the whole run and over its second half (after the burst a share allows). A
 * single synchronous callback cannot be preempted without terminating it, so the bound
 * for a sibling is one hog run (+ a scheduling pass); the share decides how often a
 * sibling meets one. Builds against the public API only, so it runs on older versions
 * too (bench/README.md: before/after). Prints one JSON line per hog; ~2 x SECONDS s (25
 * by default: long enough for the 10 s share window and 5 s burst to show the steady state
 * in the second half).
 *
 * backlog: 12,000 messages of 1 ms queued to one context, then one sibling call: its wait.
 *
 *   usage: bench_fairness [--seconds S] [--only interval|loop|backlog]
 */
#include "bench_common.h"

#include <jspool.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_SAMPLES = 100000 };

typedef struct hog_run {
    uint64_t start_ns, half_ns, end_ns;
    _Atomic uint64_t busy_ns, busy_second_half_ns; /* what the hog reported */
    atomic_bool is_over;
    jsp_context *hog;
} hog_run;

static hog_run run;

static void add_busy(uint64_t busy_ns, uint64_t at_ns)
{
    atomic_fetch_add(&run.busy_ns, busy_ns);
    /* the part of [at - busy, at] after the half-way mark */
    uint64_t from = at_ns - busy_ns;
    if (at_ns > run.half_ns)
        atomic_fetch_add(&run.busy_second_half_ns, at_ns - (from > run.half_ns ? from : run.half_ns));
}

/* The interval hog reports each callback's busy milliseconds with host.send. */
static void on_message(jsp_pool *pool, uint64_t context_id, const char *json, size_t len, void *user)
{
    (void)pool, (void)context_id, (void)len, (void)user;
    uint64_t now = bench_now_ns();
    if (now <= run.end_ns)
        add_busy((uint64_t)(strtod(json, NULL) * 1e6), now);
}

/* The loop hog: one for(;;) call after another, each until its CPU limit. */
static void *loop_hog(void *arg)
{
    (void)arg;
    while (!atomic_load(&run.is_over)) {
        jsp_result *r = NULL;
        jsp_eval(run.hog, "for(;;);", -1, &r);
        uint64_t now = bench_now_ns();
        if (now <= run.end_ns + 100000000u)
            add_busy(r->cpu_time_us * 1000u, now < run.end_ns ? now : run.end_ns);
        jsp_result_free(r);
    }
    return NULL;
}

static void bench_hog(const char *kind, double seconds)
{
    jsp_pool_config config = {.threads = 1, .log = bench_log_quietly, .on_message = on_message};
    jsp_pool *pool = NULL;
    if (jsp_pool_new(&config, &pool) != 0)
        return;
    jsp_context *sibling = NULL;
    memset(&run, 0, sizeof(run));
    if (jsp_context_new(pool, NULL, &sibling) != 0 || jsp_context_new(pool, NULL, &run.hog) != 0) {
        fprintf(stderr, "jsp_context_new failed\n");
        jsp_pool_free(pool);
        return;
    }
    jsp_result *r = NULL;
    jsp_eval(sibling, "function inc(x){return x+1}", -1, &r);
    jsp_result_free(r);
    uint64_t *latency_ns = calloc(MAX_SAMPLES, sizeof(uint64_t));
    run.start_ns = bench_now_ns();
    run.half_ns = run.start_ns + (uint64_t)(seconds / 2 * 1e9);
    run.end_ns = run.start_ns + (uint64_t)(seconds * 1e9);
    pthread_t loop_thread;
    bool is_loop = strcmp(kind, "loop") == 0;
    if (is_loop) {
        pthread_create(&loop_thread, NULL, loop_hog, NULL);
    } else {
        jsp_eval(run.hog, "setInterval(() => { const t = Date.now(), end = t + 900; "
                          "while (Date.now() < end); host.send(Date.now() - t); }, 1); 0", -1, &r);
        jsp_result_free(r);
    }
    size_t n = 0, errors = 0;
    while (bench_now_ns() < run.end_ns && n < MAX_SAMPLES) {
        uint64_t t0 = bench_now_ns();
        int rc = jsp_call(sibling, "inc", "[1]", 3, &r);
        latency_ns[n++] = bench_now_ns() - t0;
        errors += rc != 0;
        jsp_result_free(r);
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    double elapsed_s = (double)(bench_now_ns() - run.start_ns) / 1e9;
    double share = (double)atomic_load(&run.busy_ns) / 1e9 / elapsed_s;
    double share_half = (double)atomic_load(&run.busy_second_half_ns) / 1e9 / (elapsed_s - seconds / 2);
    atomic_store(&run.is_over, true);
    jsp_context_destroy(run.hog); /* ends a running for(;;) too, where destroy can */
    if (is_loop)
        pthread_join(loop_thread, NULL);
    qsort(latency_ns, n, sizeof(uint64_t), bench_compare_u64);
    printf("{\"bench\":\"fairness\",\"hog\":\"%s\",\"seconds\":%.1f,\"sibling_calls\":%zu,\"errors\":%zu,"
           "\"sibling_p50_ms\":%.2f,\"sibling_p99_ms\":%.1f,\"sibling_max_ms\":%.1f,"
           "\"hog_share\":%.2f,\"hog_share_second_half\":%.2f}\n",
           kind, elapsed_s, n, errors, (double)bench_percentile(latency_ns, n, 0.50) / 1e6,
           (double)bench_percentile(latency_ns, n, 0.99) / 1e6, (double)latency_ns[n - 1] / 1e6, share,
           share_half);
    fflush(stdout);
    free(latency_ns);
    jsp_context_free(sibling);
    jsp_context_free(run.hog);
    jsp_pool_free(pool);
}

/* A backlog: 12,000 messages of 1 ms each queued to one context, then one trivial call to
 * a sibling on the same runtime: how long that call waits. */
static void bench_backlog(void)
{
    enum { BACKLOG = 12000 };
    jsp_pool_config config = {.threads = 1, .log = bench_log_quietly, .max_queued_jobs = 2 * BACKLOG};
    jsp_pool *pool = NULL;
    jsp_context *flooded = NULL, *sibling = NULL;
    if (jsp_pool_new(&config, &pool) != 0 || jsp_context_new(pool, NULL, &flooded) != 0 ||
        jsp_context_new(pool, NULL, &sibling) != 0) {
        fprintf(stderr, "setup failed\n");
        jsp_pool_free(pool);
        return;
    }
    jsp_result *r = NULL;
    jsp_eval(flooded, "onmessage = () => { const end = Date.now() + 1; while (Date.now() < end); }; 0", -1, &r);
    jsp_result_free(r);
    for (int i = 0; i < BACKLOG; i++)
        jsp_send(flooded, "1", 1);
    uint64_t t0 = bench_now_ns();
    int rc = jsp_eval(sibling, "6 * 7", -1, &r);
    double waited_ms = (double)(bench_now_ns() - t0) / 1e6;
    jsp_result_free(r);
    printf("{\"bench\":\"fairness\",\"hog\":\"backlog\",\"queued_messages\":%d,\"message_ms\":1,"
           "\"sibling_wait_ms\":%.1f,\"errors\":%d}\n", BACKLOG, waited_ms, rc != 0);
    fflush(stdout);
    jsp_context_destroy(flooded);
    jsp_context_free(flooded);
    jsp_context_free(sibling);
    jsp_pool_free(pool);
}

int main(int argc, char **argv)
{
    double seconds = 25;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
    }
    if (seconds < 1 || seconds > 120) {
        fprintf(stderr, "usage: %s [--seconds S (1..120)] [--only interval|loop|backlog]\n", argv[0]);
        return 2;
    }
    if (!only || strcmp(only, "interval") == 0)
        bench_hog("interval", seconds);
    if (!only || strcmp(only, "loop") == 0)
        bench_hog("loop", seconds);
    if (!only || strcmp(only, "backlog") == 0)
        bench_backlog();
    return 0;
}
