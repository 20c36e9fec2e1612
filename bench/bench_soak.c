/* bench_soak.c — does a long-lived runtime stay as fast and as small as on its first
 * call? One runtime, one context running a reducer module that, like real request
 * handlers, allocates per-call garbage (objects and strings the GC must reclaim) and
 * leaves host-side state behind (a console.time span per request that it never ends).
 * Calls are synchronous from one thread; every window of calls prints one JSON line with
 * the window's p50/p99 latency, process RSS, the VM heap as the heap policy last read it,
 * VM recycles and cleared leftovers so far. A last line compares the last window with the
 * first one after warm-up (5 windows by default: JIT tiers settle and the heap grows to
 * its working size in the first ~300k calls), and the median p99 of the last ten windows
 * with that of the first ten after warm-up. Targets (issue 3): late p99 within 1.1x of
 * early p99, RSS growth < 5%.
 *
 * --no-scopes sets jsp_pool_config.debug_disable_call_scopes: the spans are then never
 * cleared and pile up in the context, which is what per-call scopes prevent.
 *
 *   usage: bench_soak [--calls N] [--window N] [--warmup-windows N] [--no-scopes]
 */
#include "bench_common.h"

#include <jspool.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char reducer_module[] =
    "let state = {count: 0, total: 0, recent: []};\n"
    "export function reduce(id) {\n"
    "  console.time('request ' + id);          /* never ended: per-call host state */\n"
    "  const scratch = [];\n"
    "  for (let i = 0; i < 20; i++) scratch.push({i, tag: 'item-' + i + '-' + id});\n"
    "  state.count++;\n"
    "  state.total += scratch.length;\n"
    "  state.recent.push(id);                    /* bounded long-lived state */\n"
    "  if (state.recent.length > 100) state.recent.shift();\n"
    "  return state.count;\n"
    "}\n";

typedef struct options {
    long calls;
    long window;
    long warmup_windows;
    bool has_scopes;
} options;

static atomic_long warnings; /* "left ... span(s); cleared" lines, counted not printed */

static void count_warnings(int level, uint64_t context_id, const char *message, void *user)
{
    (void)context_id, (void)user;
    if (level == JSP_LOG_WARN)
        atomic_fetch_add(&warnings, 1);
    else if (level > JSP_LOG_WARN)
        fprintf(stderr, "[jspool] %s\n", message);
}

static bool parse_options(int argc, char **argv, options *o)
{
    *o = (options){.calls = 10000000, .window = 100000, .warmup_windows = 5, .has_scopes = true};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-scopes") == 0)
            o->has_scopes = false;
        else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            o->calls = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            o->window = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--warmup-windows") == 0 && i + 1 < argc)
            o->warmup_windows = strtol(argv[++i], NULL, 10);
        else
            return false;
    }
    return o->window > 0 && o->warmup_windows >= 0 &&
           o->calls >= (o->warmup_windows + 2) * o->window;
}

typedef struct window_stats {
    double p50_us, p99_us;
    double rss_mb;
} window_stats;

int main(int argc, char **argv)
{
    options o;
    if (!parse_options(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--calls N] [--window N] [--warmup-windows N] [--no-scopes]\n"
                        "       (calls must cover the warm-up and two more windows)\n",
                argv[0]);
        return 2;
    }
    jsp_pool_config config = {.threads = 1, .log = count_warnings,
                              .debug_disable_call_scopes = !o.has_scopes};
    jsp_pool *pool = NULL;
    jsp_context *ctx = NULL;
    jsp_result *r = NULL;
    if (jsp_pool_new(&config, &pool) != 0 || jsp_context_new(pool, NULL, &ctx) != 0 ||
        jsp_load_module(ctx, reducer_module, -1, &r) != 0) {
        fprintf(stderr, "setup failed: %s\n", r ? r->error_message : "pool or context");
        return 1;
    }
    jsp_result_free(r);

    uint64_t *latency_ns = malloc((size_t)o.window * sizeof(uint64_t));
    long windows_total = o.calls / o.window;
    uint64_t *window_p99_ns = calloc((size_t)windows_total, sizeof(uint64_t));
    if (!latency_ns || !window_p99_ns)
        return 1;
    const char *scopes = o.has_scopes ? "on" : "off";
    long windows = o.calls / o.window, errors = 0, last_count = 0;
    window_stats first = {0}, last = {0};
    char args[32];
    for (long w = 0; w < windows; w++) {
        for (long i = 0; i < o.window; i++) {
            long id = w * o.window + i;
            int len = snprintf(args, sizeof(args), "[%ld]", id);
            uint64_t start = bench_now_ns();
            int rc = jsp_call(ctx, "reduce", args, len, &r);
            latency_ns[i] = bench_now_ns() - start;
            if (rc != 0 && errors++ == 0)
                fprintf(stderr, "first failed call: %s: %s\n", jsp_error_id(rc), r->error_message);
            if (rc == 0)
                last_count = strtol(r->json, NULL, 10);
            jsp_result_free(r);
        }
        qsort(latency_ns, (size_t)o.window, sizeof(uint64_t), bench_compare_u64);
        window_p99_ns[w] = bench_percentile(latency_ns, (size_t)o.window, 0.99);
        window_stats s = {
            .p50_us = (double)bench_percentile(latency_ns, (size_t)o.window, 0.50) / 1e3,
            .p99_us = (double)bench_percentile(latency_ns, (size_t)o.window, 0.99) / 1e3,
            .rss_mb = (double)bench_rss_bytes() / (1 << 20),
        };
        if (w == o.warmup_windows)
            first = s;
        last = s;
        printf("{\"bench\":\"soak\",\"scopes\":\"%s\",\"window\":%ld,\"warmup\":%s,\"calls\":%ld,"
               "\"p50_us\":%.2f,\"p99_us\":%.2f,\"rss_mb\":%.1f,\"heap_capacity_mb\":%.1f,"
               "\"heap_objects\":%.0f,\"vm_recycles\":%ld,\"leaked_spans_cleared\":%.0f,"
               "\"leak_warnings\":%ld,\"errors\":%ld}\n",
               scopes, w, bench_bool(w < o.warmup_windows), (w + 1) * o.window, s.p50_us, s.p99_us, s.rss_mb,
               bench_metric_sum(pool, "jspool_heap_capacity_bytes") / (1 << 20),
               bench_metric_sum(pool, "jspool_heap_objects"), bench_vm_recycles(pool),
               bench_metric_sum(pool, "jspool_leaked_objects_total"), atomic_load(&warnings),
               errors);
        fflush(stdout);
    }
    /* One window's p99 on a shared machine swings 4x; the medians of the first and last
     * ten post-warm-up windows' p99s are what the verdict uses. */
    long span = (windows - o.warmup_windows) / 3 < 10 ? (windows - o.warmup_windows) / 3 : 10;
    span = span > 0 ? span : 1;
    qsort(window_p99_ns + o.warmup_windows, (size_t)span, sizeof(uint64_t), bench_compare_u64);
    qsort(window_p99_ns + windows - span, (size_t)span, sizeof(uint64_t), bench_compare_u64);
    double early_p99 = (double)window_p99_ns[o.warmup_windows + span / 2] / 1e3;
    double late_p99 = (double)window_p99_ns[windows - span + span / 2] / 1e3;
    double p99_ratio = late_p99 / early_p99;
    double rss_growth = (last.rss_mb - first.rss_mb) / first.rss_mb;
    printf("{\"bench\":\"soak_summary\",\"scopes\":\"%s\",\"calls\":%ld,\"window\":%ld,"
           "\"warmup_windows\":%ld,\"first_window_p99_us\":%.2f,\"last_window_p99_us\":%.2f,"
           "\"windows_compared\":%ld,\"early_median_p99_us\":%.2f,\"late_median_p99_us\":%.2f,\"p99_ratio\":%.3f,"
           "\"first_window_rss_mb\":%.1f,\"last_window_rss_mb\":%.1f,\"rss_growth_pct\":%.2f,"
           "\"state_count\":%ld,\"errors\":%ld,\"target_p99_ratio\":1.1,\"target_rss_growth_pct\":5,"
           "\"met\":%s}\n",
           scopes, windows * o.window, o.window, o.warmup_windows, first.p99_us, last.p99_us, span,
           early_p99, late_p99, p99_ratio,
           first.rss_mb, last.rss_mb, rss_growth * 100, last_count, errors,
           bench_bool(errors == 0 && p99_ratio <= 1.1 && rss_growth < 0.05));
    free(latency_ns);
    free(window_p99_ns);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
    return 0;
}
