/* bench_send.c — jsp_send throughput (issue 13): messages per second from one producer
 * thread into one context, and spread round robin over many contexts (1,000 by default).
 * Each context's onmessage counts and, at the last message it expects, sends one value
 * back with host.send; the clock runs from the first jsp_send until every context has
 * reported. A full queue (JSP_EBUSY: max_queued_jobs or max_queued_bytes reached) is
 * waited out and counted, as an embedder would. Prints one JSON line per case to stdout;
 * diagnostics go to stderr. A benchmark, not a test: it exits 0 unless it cannot run.
 *
 *   usage: bench_send [--only one|many] [--messages N] [--contexts N] [--runtimes N]
 *                     [--limits default|none]
 */
#include "bench_common.h"

#include <jspool.h>

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long contexts_done;

static void on_message(jsp_pool *pool, uint64_t context_id, const char *json, size_t len, void *user)
{
    (void)pool, (void)context_id, (void)json, (void)len, (void)user;
    atomic_fetch_add(&contexts_done, 1);
}

typedef struct options {
    const char *only;   /* NULL = both cases */
    long messages;      /* per case, in total */
    long contexts;      /* for the "many" case */
    int runtimes;
    bool has_limits;
} options;

/* Sends `messages` messages round robin to `count` contexts made on `runtimes` runtimes and
 * prints the rate. Returns 0, or 1 when it could not run. */
static int run_case(const char *name, const options *opt, long count)
{
    jsp_pool_config config = {.threads = opt->runtimes, .log = bench_log_quietly, .on_message = on_message,
                              .heap_growth_ratio = 0.5}; /* no VM recycle mid-run: it drops eval'd globals */
    jsp_pool *pool = NULL;
    int rc = jsp_pool_new(&config, &pool);
    if (rc != 0) {
        fprintf(stderr, "jsp_pool_new: %s\n", jsp_strerror(rc));
        return 1;
    }
    jsp_context **contexts = calloc((size_t)count, sizeof(*contexts));
    long per_context = opt->messages / count;
    if (!contexts || per_context < 1) {
        fprintf(stderr, "bench_send: %ld messages cannot be spread over %ld contexts\n", opt->messages, count);
        free(contexts);
        jsp_pool_free(pool);
        return 1;
    }
    char setup[160];
    snprintf(setup, sizeof(setup),
             "let n = 0; globalThis.onmessage = (e) => { if (++n === %ld) host.send(n); }; 0", per_context);
    for (long i = 0; i < count; i++) {
        jsp_context_config cfg = {0};
        if (!opt->has_limits)
            cfg.cpu_limit_ms = cfg.wall_limit_ms = -1;
        jsp_result *r = NULL;
        if ((rc = jsp_context_new(pool, &cfg, &contexts[i])) != 0 ||
            (rc = jsp_eval(contexts[i], setup, -1, &r)) != 0) {
            fprintf(stderr, "context %ld: %s\n", i, jsp_strerror(rc));
            jsp_result_free(r);
            goto done;
        }
        jsp_result_free(r);
    }
    static const char message[] = "{\"id\":42,\"op\":\"deposit\",\"amount\":12.5}";
    long total = per_context * count, busy = 0;
    atomic_store(&contexts_done, 0);
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < total; i++) {
        jsp_context *ctx = contexts[i % count];
        while ((rc = jsp_send(ctx, message, (long)sizeof(message) - 1)) == JSP_EBUSY) {
            busy++;
            sched_yield();
        }
        if (rc != 0) {
            fprintf(stderr, "jsp_send: %s\n", jsp_strerror(rc));
            goto done;
        }
    }
    uint64_t sent_ns = bench_now_ns() - t0;
    while (atomic_load(&contexts_done) < count)
        sched_yield();
    double seconds = (double)(bench_now_ns() - t0) / 1e9;
    printf("{\"bench\":\"send\",\"case\":\"%s\",\"runtimes\":%d,\"contexts\":%ld,\"messages\":%ld,"
           "\"limits\":%s,\"seconds\":%.3f,\"send_seconds\":%.3f,\"messages_per_s\":%.0f,\"busy_retries\":%ld}\n",
           name, opt->runtimes, count, total, bench_bool(opt->has_limits), seconds, (double)sent_ns / 1e9,
           (double)total / seconds, busy);
    fflush(stdout);
    rc = 0;
done:
    for (long i = 0; i < count; i++)
        if (contexts[i])
            jsp_context_free(contexts[i]);
    free(contexts);
    jsp_pool_free(pool);
    return rc != 0;
}

int main(int argc, char **argv)
{
    options opt = {.messages = 200000, .contexts = 1000, .runtimes = 2, .has_limits = true};
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--only") == 0 && next)
            opt.only = argv[++i];
        else if (strcmp(argv[i], "--messages") == 0 && next)
            opt.messages = atol(argv[++i]);
        else if (strcmp(argv[i], "--contexts") == 0 && next)
            opt.contexts = atol(argv[++i]);
        else if (strcmp(argv[i], "--runtimes") == 0 && next)
            opt.runtimes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--limits") == 0 && next)
            opt.has_limits = strcmp(argv[++i], "none") != 0;
        else {
            fprintf(stderr, "usage: bench_send [--only one|many] [--messages N] [--contexts N] [--runtimes N] "
                            "[--limits default|none]\n");
            return 2;
        }
    }
    if (opt.messages < 1 || opt.contexts < 1 || opt.runtimes < 1) {
        fprintf(stderr, "bench_send: --messages, --contexts and --runtimes must be positive\n");
        return 2;
    }
    int failed = 0;
    if (!opt.only || strcmp(opt.only, "one") == 0)
        failed |= run_case("one_context", &opt, 1);
    if (!opt.only || strcmp(opt.only, "many") == 0)
        failed |= run_case("many_contexts", &opt, opt.contexts);
    return failed;
}
