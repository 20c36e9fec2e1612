/* bench_libload.c — the jspool side of bench/libload: N contexts on one runtime, each
 * created and then given one bundled library (jsp_load_module for an ES module bundle,
 * jsp_eval for a classic IIFE bundle), timing each context's creation and load apart,
 * and the RSS all of them hold (/proc/self/statm after a 300 ms settle, minus the RSS
 * before the first, / N). A check call on the first and last context proves the library
 * works there; its output is printed so run.sh can compare it with Node's.
 *
 *   bench_libload [--eval] [--isolated MIB] [--no-cache] [--n N] [--label L] FILE CHECK
 *
 * --no-cache sets code_cache_bytes = (size_t)-1: every load transforms, checks and parses
 * as before the cache existed (the same-run "before").
 * FILE: the bundle; CHECK: with a module, the exported function to call ("check"); with
 * --eval, an expression evaluated after the bundle ("lib.check()"). One JSON line on
 * stdout. Public API only. */
#include "../bench_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) {
        data[n] = '\0';
        *len = (size_t)n;
    }
    return data;
}

static double median_ms(uint64_t *ns, size_t n)
{
    qsort(ns, n, sizeof *ns, bench_compare_u64);
    return (double)bench_percentile(ns, n, 0.5) / 1e6;
}

/* The check's output on ctx, or NULL (reported on stderr). */
static char *check(jsp_context *ctx, int is_eval, const char *what)
{
    jsp_result *r = NULL;
    int rc = is_eval ? jsp_eval(ctx, what, -1, &r) : jsp_call(ctx, what, "[]", 2, &r);
    char *out = NULL;
    if (rc == 0)
        out = strdup(r->json);
    else
        fprintf(stderr, "bench_libload: check failed: %s: %s\n", jsp_strerror(rc),
                r && r->error_message ? r->error_message : "");
    jsp_result_free(r);
    return out;
}

int main(int argc, char **argv)
{
    int is_eval = 0, n = 100, no_cache = 0;
    uint64_t isolated_mib = 0;
    const char *label = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--eval") == 0)
            is_eval = 1;
        else if (strcmp(argv[i], "--no-cache") == 0)
            no_cache = 1;
        else if (strcmp(argv[i], "--isolated") == 0 && i + 1 < argc)
            isolated_mib = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
            label = argv[++i];
        else
            break;
    }
    if (argc - i != 2 || n <= 0) {
        fprintf(stderr, "usage: bench_libload [--eval] [--isolated MIB] [--no-cache] [--n N] [--label L] FILE CHECK\n");
        return 2;
    }
    const char *path = argv[i], *what = argv[i + 1];
    size_t len = 0;
    char *source = read_file(path, &len);
    if (!source) {
        fprintf(stderr, "bench_libload: cannot read %s\n", path);
        return 1;
    }
    jsp_pool_config pc = {.threads = 1, .log = bench_log_quietly,
                          .code_cache_bytes = no_cache ? (size_t)-1 : 0};
    jsp_pool *pool;
    if (jsp_pool_new(&pc, &pool) != 0)
        return 1;
    jsp_context **ctxs = calloc((size_t)n, sizeof *ctxs);
    uint64_t *create_ns = calloc((size_t)n, sizeof *create_ns);
    uint64_t *load_ns = calloc((size_t)n, sizeof *load_ns);
    uint64_t *total_ns = calloc((size_t)n, sizeof *total_ns);
    if (!ctxs || !create_ns || !load_ns || !total_ns)
        return 1;
    jsp_context_config cc = {.memory_limit_bytes = isolated_mib << 20, .apis = "none"};
    bench_sleep_ms(200);
    uint64_t rss_before = bench_rss_bytes();
    int failures = 0;
    uint64_t wall0 = bench_now_ns();
    for (int k = 0; k < n; k++) {
        uint64_t t0 = bench_now_ns();
        if (jsp_context_new(pool, &cc, &ctxs[k]) != 0) {
            fprintf(stderr, "bench_libload: jsp_context_new failed\n");
            return 1;
        }
        uint64_t t1 = bench_now_ns();
        jsp_result *r = NULL;
        int rc = is_eval ? jsp_eval_named(ctxs[k], source, (long)len, path, &r)
                         : jsp_load_module_named(ctxs[k], source, (long)len, path, &r);
        uint64_t t2 = bench_now_ns();
        if (rc != 0) {
            if (failures++ == 0)
                fprintf(stderr, "bench_libload: load failed: %s: %s (line %d)\n", jsp_strerror(rc),
                        r && r->error_message ? r->error_message : "", r ? r->error_line : 0);
        }
        jsp_result_free(r);
        create_ns[k] = t1 - t0;
        load_ns[k] = t2 - t1;
        total_ns[k] = t2 - t0;
    }
    uint64_t wall = bench_now_ns() - wall0;
    bench_sleep_ms(300);
    uint64_t rss_after = bench_rss_bytes();
    char *first = check(ctxs[0], is_eval, what), *last = check(ctxs[n - 1], is_eval, what);
    int same = first && last && strcmp(first, last) == 0;
    /* first load alone: the cold cost (parse and compile from nothing) */
    double first_load_ms = (double)load_ns[0] / 1e6;
    printf("{\"engine\":\"jspool\",\"label\":\"%s\",\"mode\":\"%s%s\",\"n\":%d,"
           "\"first_load_ms\":%.3f,\"create_ms\":%.3f,\"load_ms\":%.3f,\"total_ms\":%.3f,"
           "\"wall_per_ctx_ms\":%.3f,\"rss_per_ctx_kb\":%.1f,\"failures\":%d,\"check\":%s}\n",
           label ? label : path,
           is_eval ? (isolated_mib ? "eval-isolated" : "eval") : (isolated_mib ? "module-isolated" : "module"),
           no_cache ? " no-cache" : "", n, first_load_ms, median_ms(create_ns, (size_t)n), median_ms(load_ns, (size_t)n),
           median_ms(total_ns, (size_t)n), (double)wall / 1e6 / n,
           ((double)rss_after - (double)rss_before) / 1024.0 / n, failures + !same,
           first ? first : "null");
    free(first);
    free(last);
    for (int k = 0; k < n; k++)
        jsp_context_free(ctxs[k]);
    jsp_pool_free(pool);
    free(ctxs);
    free(create_ns);
    free(load_ns);
    free(total_ns);
    free(source);
    return 0;
}
