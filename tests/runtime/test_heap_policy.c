/* Heap policy: a runtime whose heap is past the limit recycles its VM between calls,
 * rebuilding each context from its module, and every call still answers correctly. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>

TestSuite(heap_policy, .timeout = 120);

static unsigned long long recycles(jsp_pool *pool)
{
    char *text = jsp_pool_metrics(pool);
    const char *at = strstr(text, "jspool_recycles_total{runtime=\"0\"} ");
    unsigned long long n = at ? strtoull(at + strlen("jspool_recycles_total{runtime=\"0\"} "), NULL, 10) : 0;
    jsp_free(text);
    return n;
}

Test(heap_policy, tiny_heap_limit_recycles_under_load_and_calls_stay_correct)
{
    collector logs;
    collector_init(&logs);
    jsp_pool_config cfg = {.threads = 1, .heap_limit_bytes = 1, .heap_check_request_interval = 50,
                           .log = collect_log, .log_user = &logs};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    enum { CONTEXTS = 4 };
    jsp_context *ctxs[CONTEXTS];
    for (int i = 0; i < CONTEXTS; i++) {
        ctxs[i] = context_for_test(pool);
        jsp_result *r = NULL;
        char source[200];
        snprintf(source, sizeof(source),
                 "export function reduce(xs) { return xs.reduce((a, b) => a + b, %d); }\n"
                 "export function garbage() { return Array.from({length: 1000}, (_, i) => ({i})).length; }\n", i);
        cr_assert_eq(jsp_load_module(ctxs[i], source, -1, &r), 0);
        jsp_result_free(r);
    }
    for (int n = 0; n < 600; n++) {
        jsp_context *ctx = ctxs[n % CONTEXTS];
        char *json = call_ok(ctx, n % 3 ? "reduce" : "garbage", n % 3 ? "[[1,2,3]]" : NULL);
        char expected[32];
        snprintf(expected, sizeof(expected), "%d", n % 3 ? 6 + n % CONTEXTS : 1000);
        cr_assert_str_eq(json, expected, "call %d", n);
        free(json);
    }
    cr_assert_geq(recycles(pool), 3, "recycles: %llu", recycles(pool));
    cr_assert(collector_has(&logs, "recycled its VM"));
    /* what does not survive: ad-hoc globals */
    free(eval_ok(ctxs[0], "globalThis.adhoc = 1; 0"));
    for (int n = 0; n < 60; n++)
        free(call_ok(ctxs[0], "reduce", "[[1]]"));
    char *json = eval_ok(ctxs[0], "typeof adhoc");
    cr_assert_str_eq(json, "\"undefined\"");
    free(json);
    for (int i = 0; i < CONTEXTS; i++)
        jsp_context_free(ctxs[i]);
    jsp_pool_free(pool);
    collector_free(&logs);
}

Test(heap_policy, default_policy_does_not_recycle_a_small_heap)
{
    jsp_pool_config cfg = {.threads = 1, .heap_check_request_interval = 10};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "globalThis.kept = 1; 0"));
    for (int n = 0; n < 100; n++)
        free(eval_ok(ctx, "kept"));
    cr_assert_eq(recycles(pool), 0);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
}
