/* Metrics: Prometheus text with per-runtime labels, calls by outcome, a histogram whose
 * count matches, and heap gauges after a heap check. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>

TestSuite(metrics, .timeout = 60);

static unsigned long long value_of(const char *text, const char *series)
{
    const char *at = strstr(text, series);
    cr_assert_not_null(at, "no series %s in:\n%s", series, text);
    return strtoull(at + strlen(series), NULL, 10);
}

/* Issue 11: calls stopped by the memory limit were counted as js_error. The outcome now
 * comes from the error table (src/util/error_table.h). */
Test(metrics, call_stopped_by_the_memory_limit_counts_as_oom)
{
    jsp_pool_config cfg = {.threads = 1};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    jsp_context_config isolated = {.memory_limit_bytes = 16u << 20};
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(pool, &isolated, &ctx), 0);
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(ctx, "(() => { const hoard = []; while (true) hoard.push(new Array(10000).fill(0)); })()",
                          -1, &r),
                 JSP_EOOM);
    jsp_result_free(r);
    eval_error(ctx, "throw 1", NULL);
    char *text = jsp_pool_metrics(pool);
    cr_assert_not_null(text);
    cr_assert_eq(value_of(text, "jspool_calls_total{runtime=\"0\",outcome=\"oom\"} "), 1, "%s", text);
    cr_assert_eq(value_of(text, "jspool_calls_total{runtime=\"0\",outcome=\"js_error\"} "), 1, "%s", text);
    jsp_free(text);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
}

Test(metrics, calls_are_counted_by_outcome_per_runtime)
{
    jsp_pool_config cfg = {.threads = 2, .heap_check_request_interval = 5};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    jsp_context_config on_first = {.runtime = 1, .cpu_limit_ms = 50};
    jsp_context *ctx = NULL;
    cr_assert_eq(jsp_context_new(pool, &on_first, &ctx), 0);
    for (int i = 0; i < 7; i++)
        free(eval_ok(ctx, "1"));
    eval_error(ctx, "throw 1", NULL);
    eval_error(ctx, "while (true) {}", NULL);
    free(eval_ok(ctx, "1")); /* a pass after the 5-call interval: a heap check */
    char *text = jsp_pool_metrics(pool);
    cr_assert_not_null(text);
    cr_assert(strstr(text, "# TYPE jspool_calls_total counter") != NULL);
    cr_assert(strstr(text, "# TYPE jspool_call_duration_seconds histogram") != NULL);
    cr_assert_eq(value_of(text, "jspool_calls_total{runtime=\"0\",outcome=\"ok\"} "), 8);
    cr_assert_eq(value_of(text, "jspool_calls_total{runtime=\"0\",outcome=\"js_error\"} "), 1);
    cr_assert_eq(value_of(text, "jspool_calls_total{runtime=\"0\",outcome=\"cpu_limit\"} "), 1);
    cr_assert_eq(value_of(text, "jspool_calls_total{runtime=\"1\",outcome=\"ok\"} "), 0);
    cr_assert_eq(value_of(text, "jspool_call_duration_seconds_count{runtime=\"0\"} "), 10);
    cr_assert_eq(value_of(text, "jspool_call_duration_seconds_bucket{runtime=\"0\",le=\"+Inf\"} "), 10);
    /* the runaway took ~50 ms: it is above the 10 ms bucket */
    cr_assert_lt(value_of(text, "jspool_call_duration_seconds_bucket{runtime=\"0\",le=\"0.01\"} "), 10);
    cr_assert_eq(value_of(text, "jspool_contexts{runtime=\"0\"} "), 1);
    cr_assert_geq(value_of(text, "jspool_heap_checks_total{runtime=\"0\"} "), 1);
    cr_assert_gt(value_of(text, "jspool_heap_capacity_bytes{runtime=\"0\"} "), 100000);
    cr_assert_gt(value_of(text, "jspool_heap_objects{runtime=\"0\"} "), 100);
    jsp_free(text);
    jsp_context_free(ctx);
    jsp_pool_free(pool);
}
