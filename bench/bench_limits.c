/* bench_limits.c — what limits cost and how tightly they hold (issue 3). Prints one JSON
 * line per measurement:
 *   expiry      time from a budget's end to the call returning its limit error, for a
 *               wall budget (wall_limit_ms) and a CPU budget (cpu_limit_ms) on a runaway
 *               loop; target <= one tick (10 ms).
 *   tick        a compute-bound call (~200 ms) with the default budgets (watchdog ticking
 *               every 10 ms) against the same call with no budgets; runs alternate and
 *               the medians are compared; target overhead < 2%.
 *   overshoot   an allocation bomb in an isolated context with memory_limit_bytes = L:
 *               the live data it held when the limit stopped it, against L; target
 *               <= 10% over.
 *   creation    light vs isolated contexts: median creation time and RSS per context,
 *               measured first, in a fresh pool, so that freed memory is not reused.
 *
 *   usage: bench_limits [--runs N]
 */
#include "bench_common.h"

#include <jspool.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TICK_MS = 10 };

static jsp_context *new_context(jsp_pool *pool, long cpu_ms, long wall_ms, uint64_t memory)
{
    jsp_context_config cfg = {.cpu_limit_ms = cpu_ms, .wall_limit_ms = wall_ms,
                              .memory_limit_bytes = memory};
    jsp_context *ctx = NULL;
    int rc = jsp_context_new(pool, &cfg, &ctx);
    if (rc != 0)
        fprintf(stderr, "jsp_context_new: %s\n", jsp_strerror(rc));
    return ctx;
}

/* Runs source once; returns its wall time in ns and stores the result code. */
static uint64_t timed_eval(jsp_context *ctx, const char *source, int *code, long *cpu_us)
{
    jsp_result *r = NULL;
    uint64_t start = bench_now_ns();
    *code = jsp_eval(ctx, source, -1, &r);
    uint64_t elapsed = bench_now_ns() - start;
    if (cpu_us)
        *cpu_us = (long)r->cpu_time_us;
    jsp_result_free(r);
    return elapsed;
}

static void print_spread(const char *what, uint64_t *ns, size_t n, const char *extra)
{
    qsort(ns, n, sizeof(uint64_t), bench_compare_u64);
    double p50 = (double)bench_percentile(ns, n, 0.5) / 1e6;
    printf("{\"bench\":\"%s\",\"runs\":%zu,\"median_ms\":%.2f,\"p90_ms\":%.2f,\"max_ms\":%.2f%s}\n",
           what, n, p50, (double)bench_percentile(ns, n, 0.9) / 1e6, (double)ns[n - 1] / 1e6,
           extra);
}

static void bench_expiry(jsp_pool *pool, int runs)
{
    static const char runaway[] = "while (true) {}";
    uint64_t *late = calloc((size_t)runs, sizeof(uint64_t));
    const struct { const char *name; long cpu_ms, wall_ms; int expect; } budgets[] = {
        {"expiry_wall_budget", -1, 50, JSP_EWALL_LIMIT},
        {"expiry_cpu_budget", 50, -1, JSP_ECPU_LIMIT},
    };
    for (size_t b = 0; b < 2 && late; b++) {
        jsp_context *ctx = new_context(pool, budgets[b].cpu_ms, budgets[b].wall_ms, 0);
        int wrong = 0;
        for (int i = 0; i < runs && ctx; i++) {
            int code;
            long cpu_us;
            uint64_t took = timed_eval(ctx, runaway, &code, &cpu_us);
            wrong += code != budgets[b].expect;
            /* CPU budget: the CPU used past the budget; wall budget: the wall time past it */
            uint64_t used = budgets[b].cpu_ms > 0 ? (uint64_t)cpu_us * 1000u : took;
            uint64_t budget = (uint64_t)(budgets[b].cpu_ms > 0 ? budgets[b].cpu_ms : budgets[b].wall_ms) * 1000000u;
            late[i] = used > budget ? used - budget : 0;
        }
        char extra[160];
        uint64_t sorted_p50 = 0;
        if (ctx) {
            qsort(late, (size_t)runs, sizeof(uint64_t), bench_compare_u64);
            sorted_p50 = bench_percentile(late, (size_t)runs, 0.5);
        }
        snprintf(extra, sizeof(extra), ",\"budget_ms\":50,\"wrong_codes\":%d,\"target_ms\":%d,\"met\":%s",
                 wrong, TICK_MS, bench_bool(ctx && wrong == 0 && sorted_p50 <= TICK_MS * 1000000u));
        if (ctx)
            print_spread(budgets[b].name, late, (size_t)runs, extra);
        jsp_context_free(ctx);
    }
    free(late);
}

static void bench_tick(jsp_pool *pool, int runs)
{
    static const char work[] =
        "(() => { let x = 0; for (let i = 0; i < 3e7; i++) x = (x + i * 7) % 1000003; return x; })()";
    jsp_context *ticking = new_context(pool, 0, 0, 0); /* defaults: 5 s CPU, 30 s wall */
    jsp_context *bare = new_context(pool, -1, -1, 0);
    uint64_t *with = calloc((size_t)runs, sizeof(uint64_t));
    uint64_t *without = calloc((size_t)runs, sizeof(uint64_t));
    if (ticking && bare && with && without) {
        int code;
        timed_eval(ticking, work, &code, NULL); /* warm both up (JIT) */
        timed_eval(bare, work, &code, NULL);
        for (int i = 0; i < runs; i++) {
            with[i] = timed_eval(ticking, work, &code, NULL);
            without[i] = timed_eval(bare, work, &code, NULL);
        }
        qsort(with, (size_t)runs, sizeof(uint64_t), bench_compare_u64);
        qsort(without, (size_t)runs, sizeof(uint64_t), bench_compare_u64);
        double a = (double)bench_percentile(with, (size_t)runs, 0.5) / 1e6;
        double b = (double)bench_percentile(without, (size_t)runs, 0.5) / 1e6;
        double overhead = (a - b) / b * 100;
        printf("{\"bench\":\"tick_overhead\",\"runs\":%d,\"with_budget_median_ms\":%.2f,"
               "\"without_budget_median_ms\":%.2f,\"overhead_pct\":%.2f,\"target_pct\":2,\"met\":%s}\n",
               runs, a, b, overhead, bench_bool(overhead < 2));
    }
    free(with);
    free(without);
    jsp_context_free(ticking);
    jsp_context_free(bare);
}

/* The bomb counts what it holds in a global as it goes; the count survives the
 * termination (the hoard itself is collected), so the live data at the moment the limit
 * stopped it is count x 80,000 bytes (an int32 array of 10,000 holds 8-byte slots). The
 * VM's own baseline (~1-2 MB: the global object, builtins) comes on top. */
static void bench_overshoot(jsp_pool *pool, int runs)
{
    static const char bomb[] =
        "globalThis.held = 0; (() => { const hoard = [];"
        " while (true) { hoard.push(new Array(10000).fill(0)); globalThis.held = hoard.length; } })()";
    const uint64_t limits_mb[] = {16, 64};
    for (size_t l = 0; l < 2; l++) {
        jsp_context *ctx = new_context(pool, 0, 0, limits_mb[l] << 20);
        uint64_t *held = calloc((size_t)runs, sizeof(uint64_t));
        int wrong = 0;
        for (int i = 0; ctx && held && i < runs; i++) {
            int code;
            timed_eval(ctx, bomb, &code, NULL);
            wrong += code != JSP_EOOM;
            jsp_result *r = NULL;
            if (jsp_global_get(ctx, "held", &r) == 0)
                held[i] = strtoull(r->json, NULL, 10) * 80000u;
            jsp_result_free(r);
        }
        if (ctx && held) {
            qsort(held, (size_t)runs, sizeof(uint64_t), bench_compare_u64);
            double median_mb = (double)bench_percentile(held, (size_t)runs, 0.5) / (1 << 20);
            double max_mb = (double)held[runs - 1] / (1 << 20);
            double pct = (median_mb / (double)limits_mb[l] - 1) * 100;
            double worst_pct = (max_mb / (double)limits_mb[l] - 1) * 100;
            printf("{\"bench\":\"memory_overshoot\",\"runs\":%d,\"limit_mb\":%llu,"
                   "\"live_at_stop_median_mb\":%.1f,\"live_at_stop_max_mb\":%.1f,"
                   "\"median_overshoot_pct\":%.1f,\"worst_overshoot_pct\":%.1f,\"wrong_codes\":%d,"
                   "\"target_pct\":10,\"met\":%s}\n",
                   runs, (unsigned long long)limits_mb[l], median_mb, max_mb, pct, worst_pct, wrong,
                   bench_bool(wrong == 0 && pct <= 10));
        }
        free(held);
        jsp_context_free(ctx);
    }
}

static void bench_creation(int count, bool isolated)
{
    {
        jsp_pool_config config = {.threads = 1, .log = bench_log_quietly};
        jsp_pool *pool = NULL;
        if (jsp_pool_new(&config, &pool) != 0)
            return;
        jsp_context **contexts = calloc((size_t)count, sizeof(*contexts));
        uint64_t *ns = calloc((size_t)count, sizeof(uint64_t));
        bench_sleep_ms(200);
        uint64_t rss_before = bench_rss_bytes();
        int made = 0;
        for (; contexts && ns && made < count; made++) {
            uint64_t start = bench_now_ns();
            contexts[made] = new_context(pool, 0, 0, isolated ? 4u << 20 : 0);
            ns[made] = bench_now_ns() - start;
            if (!contexts[made])
                break;
        }
        bench_sleep_ms(300);
        double rss_kb = ((double)bench_rss_bytes() - (double)rss_before) / 1024 / (made ? made : 1);
        if (made) {
            qsort(ns, (size_t)made, sizeof(uint64_t), bench_compare_u64);
            printf("{\"bench\":\"creation\",\"kind\":\"%s\",\"contexts\":%d,\"median_us\":%.1f,"
                   "\"p99_us\":%.1f,\"rss_per_context_kb\":%.1f}\n",
                   isolated ? "isolated" : "light", made,
                   (double)bench_percentile(ns, (size_t)made, 0.5) / 1e3,
                   (double)bench_percentile(ns, (size_t)made, 0.99) / 1e3, rss_kb);
        }
        for (int i = 0; i < made; i++)
            jsp_context_free(contexts[i]);
        free(contexts);
        free(ns);
        jsp_pool_free(pool);
    }
}

int main(int argc, char **argv)
{
    int runs = 10;
    if (argc == 3 && strcmp(argv[1], "--runs") == 0)
        runs = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [--runs N]\n", argv[0]);
        return 2;
    }
    if (runs < 1)
        return 2;
    bench_creation(1000, false);
    bench_creation(200, true);
    jsp_pool_config config = {.threads = 1, .log = bench_log_quietly};
    jsp_pool *pool = NULL;
    if (jsp_pool_new(&config, &pool) != 0)
        return 1;
    bench_expiry(pool, runs);
    bench_tick(pool, runs);
    bench_overshoot(pool, runs);
    jsp_pool_free(pool);
    return 0;
}
