/* runtime_metrics.c — recording one call's outcome and duration into its runtime's
 * counters. Formatting them for Prometheus is in pool/metrics.c. */
#include "runtime/runtime.h"
#include "util/error_table.h"

/* 10 us to 10 s: a trivial call is ~10 us round trip, the default CPU budget is 5 s. */
const double call_duration_bounds[CALL_DURATION_BUCKETS] = {
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 10,
};

/* From the one error table (util/error_table.h): JSP_EOOM counts as `oom`. */
static enum call_outcome outcome_of(int code)
{
    switch (code) { JSP_ERROR_TABLE(JSP_ERROR_CASE_OUTCOME) }
    return OUTCOME_JS_ERROR;
}

void metrics_record_call(runtime_metrics *m, int code, uint64_t duration_ns)
{
    atomic_fetch_add_explicit(&m->calls[outcome_of(code)], 1, memory_order_relaxed);
    double seconds = duration_ns / 1e9;
    int bucket = 0;
    while (bucket < CALL_DURATION_BUCKETS && seconds > call_duration_bounds[bucket])
        bucket++;
    /* Buckets are stored non-cumulative; the exposition sums them. */
    atomic_fetch_add_explicit(&m->duration_buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->duration_sum_ns, duration_ns, memory_order_relaxed);
}
