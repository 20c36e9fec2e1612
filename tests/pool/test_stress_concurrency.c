/* Stress, concurrency: 200 caller threads on 40 contexts lose and duplicate no call; a
 * context that throws over and over leaves its siblings answering; messages reach the
 * on_message callback exactly once and in order per context — across 50 contexts, in a
 * 500-message burst (also past max_queued_jobs, retried on JSP_EBUSY) and while the
 * context is blocked in host.callSync; a slow or failing host handler delays or fails only
 * its own caller; and least-loaded placement fills the emptier runtime. */
#include "support/support.h"

#include <stdarg.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static jsp_pool *pool;
static collector messages, logs;

/* Failures seen on helper threads (Criterion asserts belong on the test's thread). */
static atomic_int failures;
static pthread_mutex_t failure_mutex = PTHREAD_MUTEX_INITIALIZER;
static char first_failure[512];

static void fail_later(const char *fmt, ...)
{
    if (atomic_fetch_add(&failures, 1) == 0) {
        pthread_mutex_lock(&failure_mutex);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
        va_end(ap);
        pthread_mutex_unlock(&failure_mutex);
    }
}

static void assert_no_late_failures(void)
{
    int n = atomic_load(&failures);
    cr_assert_eq(n, 0, "%d failure(s) on helper threads; first: %s", n, first_failure);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Counters made by eval must survive the whole test: the heap growth rule (which would
 * recycle the VM and drop eval-made globals) is off in these pools. */
static jsp_pool *concurrency_pool(int threads, int max_queued_jobs, int placement)
{
    jsp_pool_config cfg = {.threads = threads,
                           .max_queued_jobs = max_queued_jobs,
                           .placement = placement,
                           .heap_growth_ratio = 0.5,
                           .on_message = collect_message,
                           .message_user = &messages,
                           .log = collect_log,
                           .log_user = &logs};
    jsp_pool *p = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &p), 0);
    return p;
}

static void load_module_ok(jsp_context *ctx, const char *source)
{
    jsp_result *r = NULL;
    int rc = jsp_load_module(ctx, source, -1, &r);
    cr_assert_eq(rc, 0, "module failed: %s: %s", r->error_name, r->error_message);
    jsp_result_free(r);
}

/* No onmessage handler threw and nothing was logged as a warning or an error. */
static void assert_no_error_logs(void)
{
    pthread_mutex_lock(&logs.mutex);
    for (size_t i = 0; i < logs.count; i++) {
        if (logs.levels[i] >= JSP_LOG_WARN) {
            char line[300];
            snprintf(line, sizeof(line), "%s", logs.texts[i]);
            pthread_mutex_unlock(&logs.mutex);
            cr_assert_fail("unexpected log at level %d: %s", logs.levels[i], line);
        }
    }
    pthread_mutex_unlock(&logs.mutex);
}

/* Checks that the collected messages of the context with id `id` are {"n":0...} to
 * {"n":expected-1} in that order, each exactly once; with `released` each must also carry
 * "released":true. Returns how many messages that context had. */
static size_t assert_messages_in_order(uint64_t id, int expected, bool released)
{
    int next = 0;
    pthread_mutex_lock(&messages.mutex);
    for (size_t i = 0; i < messages.count; i++) {
        if (messages.context_ids[i] != id)
            continue;
        int n = -1;
        char text[128];
        snprintf(text, sizeof(text), "%s", messages.texts[i]);
        bool is_ok = sscanf(text, "{\"n\":%d", &n) == 1 && n == next &&
                     (!released || strstr(text, "\"released\":true") != NULL);
        if (!is_ok) {
            pthread_mutex_unlock(&messages.mutex);
            cr_assert_fail("context %llu: message #%d is %s, expected {\"n\":%d%s}",
                           (unsigned long long)id, next, text, next,
                           released ? ",\"released\":true" : "");
        }
        next++;
    }
    pthread_mutex_unlock(&messages.mutex);
    cr_assert_eq(next, expected, "context %llu received %d messages, expected %d",
                 (unsigned long long)id, next, expected);
    return (size_t)next;
}

static void setup(void)
{
    atomic_store(&failures, 0);
    first_failure[0] = '\0';
    collector_init(&messages);
    collector_init(&logs);
    pool = NULL;
}

static void teardown(void)
{
    jsp_pool_free(pool);
    collector_free(&messages);
    collector_free(&logs);
}

TestSuite(stress_concurrency, .init = setup, .fini = teardown, .timeout = 120);

/* A counter of completions another thread can wait on. */
/* ---- 200 caller threads on 40 contexts ------------------------------------------------ */

enum { HAMMER_CONTEXTS = 40, HAMMER_THREADS = 200, HAMMER_CALLS = 50,
       HAMMER_TOTAL = HAMMER_THREADS * HAMMER_CALLS };

static jsp_context *hammered[HAMMER_CONTEXTS];
static atomic_int calls_made[HAMMER_CONTEXTS];
/* seen[k][c - 1]: the context k answered count c; each count must come exactly once. */
static atomic_uchar (*seen)[HAMMER_TOTAL];
static pthread_barrier_t hammer_start;

static void *hammer_caller(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
    pthread_barrier_wait(&hammer_start);
    for (int i = 0; i < HAMMER_CALLS; i++) {
        int k = (int)(rand_r(&seed) % HAMMER_CONTEXTS);
        int x = (int)(rand_r(&seed) % 1000000);
        char args[32];
        snprintf(args, sizeof(args), "[%d]", x);
        atomic_fetch_add(&calls_made[k], 1);
        jsp_result *r = NULL;
        int rc = jsp_call(hammered[k], "bump", args, -1, &r);
        int index = -1, count = -1, twice = -1;
        if (rc != 0)
            fail_later("bump on context %d failed: %s: %s", k, r->error_name, r->error_message);
        else if (sscanf(r->json, "[%d,%d,%d]", &index, &count, &twice) != 3 || index != k ||
                 twice != 2 * x || count < 1 || count > HAMMER_TOTAL)
            fail_later("bump(%d) on context %d answered %s", x, k, r->json);
        else if (atomic_exchange(&seen[k][count - 1], 1) != 0)
            fail_later("context %d answered count %d twice", k, count);
        jsp_result_free(r);
    }
    return NULL;
}

Test(stress_concurrency, two_hundred_threads_calling_forty_contexts_lose_and_duplicate_nothing)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    seen = calloc(HAMMER_CONTEXTS, sizeof(*seen));
    char source[200];
    int per_runtime[2] = {0, 0};
    for (int k = 0; k < HAMMER_CONTEXTS; k++) {
        hammered[k] = context_for_test(pool);
        per_runtime[jsp_context_runtime(hammered[k])]++;
        atomic_init(&calls_made[k], 0);
        snprintf(source, sizeof(source),
                 "var count = 0; function bump(x) { count++; return [%d, count, x * 2] }; count", k);
        free(eval_ok(hammered[k], source));
    }
    cr_assert_eq(per_runtime[0], HAMMER_CONTEXTS / 2);
    cr_assert_eq(per_runtime[1], HAMMER_CONTEXTS / 2);

    pthread_barrier_init(&hammer_start, NULL, HAMMER_THREADS + 1);
    pthread_t threads[HAMMER_THREADS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256u << 10);
    for (int i = 0; i < HAMMER_THREADS; i++)
        cr_assert_eq(pthread_create(&threads[i], &attr, hammer_caller, (void *)(uintptr_t)(i + 1)), 0);
    pthread_attr_destroy(&attr);
    uint64_t start = now_ms();
    pthread_barrier_wait(&hammer_start);
    for (int i = 0; i < HAMMER_THREADS; i++)
        pthread_join(threads[i], NULL);
    cr_log_info("%d sync calls from %d threads in %llu ms", HAMMER_TOTAL, HAMMER_THREADS,
                (unsigned long long)(now_ms() - start));
    pthread_barrier_destroy(&hammer_start);
    assert_no_late_failures();

    /* each context counted exactly the calls made to it, and answered 1..n once each */
    int total = 0;
    for (int k = 0; k < HAMMER_CONTEXTS; k++) {
        int made = atomic_load(&calls_made[k]);
        total += made;
        char *json = eval_ok(hammered[k], "count");
        char expected[16];
        snprintf(expected, sizeof(expected), "%d", made);
        cr_assert_str_eq(json, expected, "context %d counted %s calls, %d were made", k, json, made);
        free(json);
        for (int c = 0; c < HAMMER_TOTAL; c++)
            cr_assert_eq(atomic_load(&seen[k][c]), c < made ? 1 : 0,
                         "context %d: count %d answered %s", k, c + 1, c < made ? "never" : "too many times");
        jsp_context_free(hammered[k]);
    }
    cr_assert_eq(total, HAMMER_TOTAL);
    free(seen);
}

/* ---- a throwing context among answering siblings --------------------------------------- */

enum { SIBLINGS = 4, SIBLING_CALLS = 300, MIN_THROWS = 2000, MAX_THROWS_IN_FLIGHT = 32 };

static jsp_context *thrower;
static jsp_context *siblings[SIBLINGS];
static atomic_int siblings_running;
static atomic_int throws_submitted, throws_completed;
static tally throws_tally;

static void *sibling_caller(void *arg)
{
    int k = (int)(uintptr_t)arg;
    for (int n = 1; n <= SIBLING_CALLS; n++) {
        char args[32], expected[64];
        snprintf(args, sizeof(args), "[%d]", n * 7);
        snprintf(expected, sizeof(expected), "[%d,%d,%d]", k, n * 7 + 1, n);
        jsp_result *r = NULL;
        int rc = jsp_call(siblings[k], "next", args, -1, &r);
        if (rc != 0)
            fail_later("sibling %d call %d failed: %s: %s", k, n, r->error_name, r->error_message);
        else if (strcmp(r->json, expected) != 0)
            fail_later("sibling %d call %d answered %s, expected %s", k, n, r->json, expected);
        jsp_result_free(r);
    }
    atomic_fetch_sub(&siblings_running, 1);
    return NULL;
}

static void check_thrown(jsp_result *r, void *user)
{
    int i = (int)(intptr_t)user;
    char expected[32];
    snprintf(expected, sizeof(expected), "boom %d", i);
    if (r->code != JSP_EJS)
        fail_later("throwing call %d ended with %d (%s), expected JSP_EJS", i, r->code, r->json ? r->json : "");
    else if (strcmp(r->error_name, "RangeError") != 0 || strcmp(r->error_message, expected) != 0)
        fail_later("throwing call %d threw %s: %s, expected RangeError: %s", i, r->error_name,
                   r->error_message, expected);
    jsp_result_free(r);
    atomic_fetch_add(&throws_completed, 1);
    tally_bump(&throws_tally);
}

/* Keeps up to MAX_THROWS_IN_FLIGHT throwing calls queued until every sibling is done. */
static void *throwing_submitter(void *arg)
{
    uint64_t give_up = now_ms() + 60000;
    int i = 0;
    while (atomic_load(&siblings_running) > 0 || i < MIN_THROWS) {
        if (now_ms() > give_up) {
            fail_later("throwing calls stopped completing (%d submitted, %d completed)", i,
                       atomic_load(&throws_completed));
            break;
        }
        if (i - atomic_load(&throws_completed) >= MAX_THROWS_IN_FLIGHT) {
            sleep_ms(1);
            continue;
        }
        char args[32];
        snprintf(args, sizeof(args), "[%d]", i);
        int rc = jsp_call_async(thrower, "boom", args, -1, check_thrown, (void *)(intptr_t)i);
        if (rc != 0) {
            fail_later("submitting throwing call %d failed: %s", i, jsp_strerror(rc));
            break;
        }
        i++;
        atomic_store(&throws_submitted, i);
    }
    return NULL;
}

Test(stress_concurrency, context_throwing_in_a_loop_leaves_siblings_on_its_runtime_answering)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    thrower = pinned_context(pool, 0);
    free(eval_ok(thrower, "function boom(i) { throw new RangeError('boom ' + i) }"
                          "function ok() { return 'still here' }; 0"));
    char source[160];
    for (int k = 0; k < SIBLINGS; k++) {
        siblings[k] = pinned_context(pool, 0);
        snprintf(source, sizeof(source),
                 "var n = 0; function next(x) { n++; return [%d, x + 1, n] }; n", k);
        free(eval_ok(siblings[k], source));
    }
    atomic_store(&siblings_running, SIBLINGS);
    atomic_store(&throws_submitted, 0);
    atomic_store(&throws_completed, 0);
    tally_init(&throws_tally);

    pthread_t submitter, callers[SIBLINGS];
    pthread_create(&submitter, NULL, throwing_submitter, NULL);
    for (int k = 0; k < SIBLINGS; k++)
        pthread_create(&callers[k], NULL, sibling_caller, (void *)(uintptr_t)k);
    for (int k = 0; k < SIBLINGS; k++)
        pthread_join(callers[k], NULL);
    int thrown_while_siblings_ran = atomic_load(&throws_completed);
    pthread_join(submitter, NULL);
    int submitted = atomic_load(&throws_submitted);
    cr_assert_eq(tally_wait(&throws_tally, submitted, 30000), submitted,
                 "only %d of %d throwing calls completed", throws_tally.done, submitted);
    assert_no_late_failures();
    cr_log_info("%d throwing calls (%d while siblings ran), %d sibling calls", submitted,
                thrown_while_siblings_ran, SIBLINGS * SIBLING_CALLS);
    cr_assert_geq(submitted, MIN_THROWS);

    char *metrics = jsp_pool_metrics(pool);
    char line[128];
    snprintf(line, sizeof(line), "jspool_calls_total{runtime=\"0\",outcome=\"js_error\"} %d\n", submitted);
    cr_assert(strstr(metrics, line), "expected %s in\n%s", line, metrics);
    jsp_free(metrics);

    /* the thrower still works, and each sibling counted exactly its own calls */
    char *json = call_ok(thrower, "ok", NULL);
    cr_assert_str_eq(json, "\"still here\"");
    free(json);
    for (int k = 0; k < SIBLINGS; k++) {
        json = eval_ok(siblings[k], "n");
        char expected[16];
        snprintf(expected, sizeof(expected), "%d", SIBLING_CALLS);
        cr_assert_str_eq(json, expected);
        free(json);
        jsp_context_free(siblings[k]);
    }
    jsp_context_free(thrower);
    tally_destroy(&throws_tally);
}

/* ---- messages across 50 contexts -------------------------------------------------------- */

enum { FAN_CONTEXTS = 50, FAN_SENDERS = 5, FAN_PER_CONTEXT = 20,
       FAN_TOTAL = FAN_CONTEXTS * FAN_PER_CONTEXT };

static jsp_context *fan[FAN_CONTEXTS];

/* Sender s owns contexts s, s + FAN_SENDERS, ...: one sender per context, so per context
 * the send order is defined; across contexts the sends interleave freely. */
static void *fan_sender(void *arg)
{
    int s = (int)(uintptr_t)arg;
    for (int n = 0; n < FAN_PER_CONTEXT; n++) {
        for (int k = s; k < FAN_CONTEXTS; k += FAN_SENDERS) {
            char json[32];
            snprintf(json, sizeof(json), "{\"n\":%d}", n);
            int rc = jsp_send(fan[k], json, -1);
            if (rc != 0)
                fail_later("send %d to context %d failed: %s", n, k, jsp_strerror(rc));
        }
    }
    return NULL;
}

Test(stress_concurrency, thousand_messages_across_fifty_contexts_arrive_once_each_in_order)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    for (int k = 0; k < FAN_CONTEXTS; k++) {
        fan[k] = context_for_test(pool);
        free(eval_ok(fan[k], "onmessage = e => host.send({n: e.data.n}); 0"));
    }
    pthread_t senders[FAN_SENDERS];
    for (int s = 0; s < FAN_SENDERS; s++)
        pthread_create(&senders[s], NULL, fan_sender, (void *)(uintptr_t)s);
    for (int s = 0; s < FAN_SENDERS; s++)
        pthread_join(senders[s], NULL);
    assert_no_late_failures();
    cr_assert_eq(collector_wait(&messages, FAN_TOTAL, 30000), FAN_TOTAL, "only %zu of %d messages arrived",
                 messages.count, FAN_TOTAL);
    sleep_ms(100); /* none arrives twice, late */
    cr_assert_eq(collector_wait(&messages, FAN_TOTAL + 1, 0), FAN_TOTAL);
    for (int k = 0; k < FAN_CONTEXTS; k++)
        assert_messages_in_order(jsp_context_id(fan[k]), FAN_PER_CONTEXT, false);
    assert_no_error_logs();
    for (int k = 0; k < FAN_CONTEXTS; k++)
        jsp_context_free(fan[k]);
}

/* ---- bursts to one context -------------------------------------------------------------- */

enum { BURST = 500 };

/* Sends {"n":from}..{"n":to-1}, retrying only on JSP_EBUSY; returns how often it was
 * refused as busy. */
static long send_retrying_on_busy(jsp_context *ctx, int from, int to)
{
    long busy = 0;
    uint64_t give_up = now_ms() + 30000;
    for (int n = from; n < to;) {
        char json[32];
        snprintf(json, sizeof(json), "{\"n\":%d}", n);
        int rc = jsp_send(ctx, json, -1);
        if (rc == 0) {
            n++;
        } else {
            cr_assert_eq(rc, JSP_EBUSY, "send %d failed: %s", n, jsp_strerror(rc));
            cr_assert_lt(now_ms(), give_up, "send %d still refused as busy after 30 s", n);
            busy++;
            sched_yield();
        }
    }
    return busy;
}

Test(stress_concurrency, burst_of_five_hundred_messages_to_one_context_arrives_once_each_in_order)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    jsp_context *ctx = context_for_test(pool);
    jsp_context *quiet = context_for_test(pool); /* gets nothing: nothing may leak to it */
    free(eval_ok(ctx, "onmessage = e => host.send({n: e.data.n}); 0"));
    free(eval_ok(quiet, "onmessage = e => host.send({n: -1}); 0"));
    long busy = send_retrying_on_busy(ctx, 0, BURST);
    cr_log_info("burst of %d: refused as busy %ld times", BURST, busy);
    cr_assert_eq(collector_wait(&messages, BURST, 30000), BURST, "only %zu of %d messages arrived",
                 messages.count, BURST);
    sleep_ms(100);
    cr_assert_eq(collector_wait(&messages, BURST + 1, 0), BURST);
    assert_messages_in_order(jsp_context_id(ctx), BURST, false);
    assert_no_error_logs();
    jsp_context_free(ctx);
    jsp_context_free(quiet);
}

static _Atomic(jsp_host_call *) parked;

static void park(jsp_host_call *call, void *user)
{
    atomic_store(&parked, call);
}

static jsp_host_call *wait_for_parked(void)
{
    for (int i = 0; i < 10000; i++) {
        jsp_host_call *call = atomic_exchange(&parked, NULL);
        if (call)
            return call;
        sleep_ms(1);
    }
    cr_assert_fail("host.callSync('park') never reached its handler");
    return NULL;
}

typedef struct eval_job {
    jsp_context *ctx;
    const char *source;
    int code;
    char *json; /* the value, or the error message */
} eval_job;

static void *eval_thread(void *arg)
{
    eval_job *job = arg;
    jsp_result *r = NULL;
    job->code = jsp_eval(job->ctx, job->source, -1, &r);
    job->json = strdup(r->code == 0 ? r->json : r->error_message);
    jsp_result_free(r);
    return NULL;
}

static void *release_after_100_ms(void *arg)
{
    sleep_ms(100);
    jsp_host_call_resolve(arg, "\"go\"", 4);
    return NULL;
}

enum { SMALL_QUEUE = 32 };

Test(stress_concurrency, burst_past_max_queued_jobs_is_refused_busy_and_retried_arrives_once_each_in_order)
{
    pool = concurrency_pool(1, SMALL_QUEUE, JSP_PLACE_ROUND_ROBIN);
    cr_assert_eq(jsp_pool_register(pool, "park", park, NULL), 0);
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "onmessage = e => host.send({n: e.data.n}); 0"));

    /* while the context is blocked nothing drains: exactly max_queued_jobs are taken */
    eval_job job = {ctx, "host.callSync('park')", 0, NULL};
    pthread_t t;
    pthread_create(&t, NULL, eval_thread, &job);
    jsp_host_call *call = wait_for_parked();
    int accepted = 0;
    for (;;) {
        char json[32];
        snprintf(json, sizeof(json), "{\"n\":%d}", accepted);
        int rc = jsp_send(ctx, json, -1);
        if (rc == JSP_EBUSY)
            break;
        cr_assert_eq(rc, 0, "send %d failed: %s", accepted, jsp_strerror(rc));
        cr_assert_leq(++accepted, SMALL_QUEUE, "more than max_queued_jobs messages were queued");
    }
    cr_assert_eq(accepted, SMALL_QUEUE);
    jsp_result *r = NULL;
    cr_assert_eq(jsp_call(ctx, "anything", NULL, 0, &r), JSP_EBUSY, "a call got past a full queue");
    jsp_result_free(r);

    /* released in 100 ms; meanwhile and after, the rest is retried on JSP_EBUSY only */
    pthread_t releaser;
    pthread_create(&releaser, NULL, release_after_100_ms, call);
    long busy = send_retrying_on_busy(ctx, accepted, BURST);
    pthread_join(releaser, NULL);
    pthread_join(t, NULL);
    cr_assert_eq(job.code, 0, "callSync ended with %d: %s", job.code, job.json);
    cr_assert_str_eq(job.json, "\"go\"");
    free(job.json);
    cr_log_info("burst of %d past a queue of %d: refused as busy %ld more times", BURST,
                SMALL_QUEUE, busy);
    cr_assert_eq(collector_wait(&messages, BURST, 30000), BURST, "only %zu of %d messages arrived",
                 messages.count, BURST);
    sleep_ms(100);
    cr_assert_eq(collector_wait(&messages, BURST + 1, 0), BURST);
    assert_messages_in_order(jsp_context_id(ctx), BURST, false);
    assert_no_error_logs();
    jsp_context_free(ctx);
}

/* ---- messages to a context blocked in host.callSync ------------------------------------- */

enum { WHILE_BLOCKED = 200 };

static tally marker_tally;
static char *marker_json;

static void marker_done(jsp_result *r, void *user)
{
    if (r->code != 0)
        fail_later("the marker eval failed: %s: %s", r->error_name, r->error_message);
    else
        marker_json = strdup(r->json);
    jsp_result_free(r);
    tally_bump(&marker_tally);
}

/* An isolated context (own VM) on runtime 0: it runs while a light context of that
 * runtime waits in host.callSync. A light sibling would not: light contexts share one VM
 * and its microtask queue, so none runs JS inside another's callSync (runtime.c, "one
 * context's JS per VM"; test_host_functions.c shows the light side). */
static jsp_context *pinned_isolated(jsp_pool *p)
{
    jsp_context_config cfg = {.runtime = 1, .memory_limit_bytes = 64u << 20};
    return context_with(p, &cfg);
}

Test(stress_concurrency, messages_sent_during_call_sync_arrive_after_it_returns_in_order_none_lost)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    cr_assert_eq(jsp_pool_register(pool, "park", park, NULL), 0);
    jsp_context *ctx = pinned_context(pool, 0);
    jsp_context *sibling = pinned_isolated(pool);
    free(eval_ok(ctx, "var released = false; onmessage = e => host.send({n: e.data.n, released}); 0"));
    free(eval_ok(sibling, "onmessage = e => host.send({n: e.data.n}); 0"));
    tally_init(&marker_tally);
    marker_json = NULL;

    eval_job job = {ctx, "var v = host.callSync('park'); released = true; v", 0, NULL};
    pthread_t t;
    pthread_create(&t, NULL, eval_thread, &job);
    jsp_host_call *call = wait_for_parked();

    /* messages, an async eval in the middle (jobs of any kind keep their order), more
     * messages; and traffic to an isolated sibling on the same runtime, not blocked */
    for (int n = 0; n < WHILE_BLOCKED; n++) {
        char json[32];
        snprintf(json, sizeof(json), "{\"n\":%d}", n);
        if (n == WHILE_BLOCKED / 2)
            cr_assert_eq(jsp_eval_async(ctx, "host.send({n: 100, released}); 'marker'", -1,
                                        marker_done, NULL), 0);
        else
            cr_assert_eq(jsp_send(ctx, json, -1), 0, "send %d", n);
        cr_assert_eq(jsp_send(sibling, json, -1), 0);
    }
    cr_assert_eq(collector_wait(&messages, WHILE_BLOCKED, 30000), WHILE_BLOCKED,
                 "the sibling's messages did not arrive while its neighbour was blocked");
    sleep_ms(50);
    cr_assert_eq(collector_wait(&messages, WHILE_BLOCKED + 1, 0), WHILE_BLOCKED,
                 "a message reached the context while it was blocked in host.callSync");
    cr_assert_eq(tally_wait(&marker_tally, 1, 0), 0, "an eval ran inside a blocked context");
    assert_messages_in_order(jsp_context_id(sibling), WHILE_BLOCKED, false);

    jsp_host_call_resolve(call, "\"answered\"", 10);
    pthread_join(t, NULL);
    cr_assert_eq(job.code, 0, "callSync ended with %d: %s", job.code, job.json);
    cr_assert_str_eq(job.json, "\"answered\"");
    free(job.json);
    cr_assert_eq(collector_wait(&messages, 2 * WHILE_BLOCKED, 30000), 2 * WHILE_BLOCKED,
                 "only %zu of %d messages arrived", messages.count - WHILE_BLOCKED, WHILE_BLOCKED);
    cr_assert_eq(tally_wait(&marker_tally, 1, 30000), 1);
    assert_no_late_failures();
    cr_assert_str_eq(marker_json, "\"marker\"");
    free(marker_json);
    sleep_ms(50);
    cr_assert_eq(collector_wait(&messages, 2 * WHILE_BLOCKED + 1, 0), 2 * WHILE_BLOCKED);
    assert_messages_in_order(jsp_context_id(ctx), WHILE_BLOCKED, true);
    assert_no_error_logs();
    jsp_context_free(ctx);
    jsp_context_free(sibling);
    tally_destroy(&marker_tally);
}

/* ---- a slow handler does not stall fast siblings ---------------------------------------- */

/* The slow calls are answered once the test has made its fast calls, or after
 * SLOW_MAX_MS: then the fast calls waited for them, and the test fails. (A fixed 300 ms
 * answer was outrun by 100 calls under ASan on a loaded machine.) */
enum { SLOW_MAX_MS = 30000, FAST_CALLS = 100, MAX_SLOW_CALLS = 4 };

static atomic_int slow_entered;
static atomic_bool slow_released;
static pthread_t slow_answerers[MAX_SLOW_CALLS];

static void *answer_slowly(void *arg)
{
    for (int waited = 0; waited < SLOW_MAX_MS && !atomic_load(&slow_released); waited++)
        sleep_ms(1);
    jsp_host_call *call = arg;
    char json[64];
    snprintf(json, sizeof(json), "\"slow %s\"", jsp_host_call_args(call));
    jsp_host_call_resolve(call, json, strlen(json));
    return NULL;
}

static void slow_handler(jsp_host_call *call, void *user)
{
    int i = atomic_load(&slow_entered);
    if (i >= MAX_SLOW_CALLS || pthread_create(&slow_answerers[i], NULL, answer_slowly, call) != 0) {
        fail_later("slow handler called too often (%d) or could not start a thread", i);
        jsp_host_call_reject(call, "cannot answer");
        return;
    }
    atomic_store(&slow_entered, i + 1);
}

typedef struct slow_outcome {
    atomic_bool is_settled;
    uint64_t settled_ms;
    int code;
    char json[64];
} slow_outcome;

static tally slow_tally;

static void slow_done(jsp_result *r, void *user)
{
    slow_outcome *o = user;
    o->code = r->code;
    snprintf(o->json, sizeof(o->json), "%s", r->code == 0 ? r->json : r->error_message);
    o->settled_ms = now_ms();
    atomic_store(&o->is_settled, true);
    jsp_result_free(r);
    tally_bump(&slow_tally);
}

Test(stress_concurrency, slow_host_handler_does_not_stall_fast_siblings_on_its_runtime)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    cr_assert_eq(jsp_pool_register(pool, "slow", slow_handler, NULL), 0);
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_released, false);
    tally_init(&slow_tally);
    jsp_context *via_call = pinned_context(pool, 0);
    jsp_context *via_call_sync = pinned_context(pool, 0);
    jsp_context *fast = pinned_isolated(pool);
    free(eval_ok(fast, "var calls = 0; function quick(x) { calls++; return x * x }; 0"));

    slow_outcome outcomes[2] = {0};
    cr_assert_eq(jsp_eval_async(via_call, "host.call('slow', 1).then(v => v + '!')", -1, slow_done,
                                &outcomes[0]), 0);
    cr_assert_eq(jsp_eval_async(via_call_sync, "host.callSync('slow', 2) + '?'", -1, slow_done,
                                &outcomes[1]), 0);
    for (int i = 0; i < 10000 && atomic_load(&slow_entered) < 2; i++)
        sleep_ms(1);
    cr_assert_eq(atomic_load(&slow_entered), 2, "the slow handler was not reached twice");

    /* both slow calls are outstanding: the (isolated) sibling on the same runtime answers
     * anyway; a light one would wait for the callSync (pinned_isolated) */
    uint64_t fast_start = now_ms();
    for (int i = 1; i <= FAST_CALLS; i++) {
        char args[16], expected[16];
        snprintf(args, sizeof(args), "[%d]", i);
        snprintf(expected, sizeof(expected), "%d", i * i);
        char *json = call_ok(fast, "quick", args);
        cr_assert_str_eq(json, expected);
        free(json);
    }
    uint64_t fast_end = now_ms();
    bool was_settled[2] = {atomic_load(&outcomes[0].is_settled), atomic_load(&outcomes[1].is_settled)};
    cr_log_info("%d sibling calls took %llu ms while the slow calls waited", FAST_CALLS,
                (unsigned long long)(fast_end - fast_start));
    cr_assert(!was_settled[0] && !was_settled[1],
              "the sibling's %d calls finished only after a slow call (held up to %d ms) settled: %llu ms",
              FAST_CALLS, SLOW_MAX_MS, (unsigned long long)(fast_end - fast_start));
    uint64_t released = now_ms();
    atomic_store(&slow_released, true);

    cr_assert_eq(tally_wait(&slow_tally, 2, 30000), 2, "the slow calls never settled");
    for (int i = 0; i < 2; i++)
        pthread_join(slow_answerers[i], NULL);
    assert_no_late_failures();
    cr_assert_eq(outcomes[0].code, 0, "%s", outcomes[0].json);
    cr_assert_str_eq(outcomes[0].json, "\"slow [1]!\"");
    cr_assert_eq(outcomes[1].code, 0, "%s", outcomes[1].json);
    cr_assert_str_eq(outcomes[1].json, "\"slow [2]?\"");
    for (int i = 0; i < 2; i++)
        cr_assert_geq(outcomes[i].settled_ms, released, "a slow call settled before its answer");
    char *json = eval_ok(fast, "calls");
    cr_assert_str_eq(json, "100");
    free(json);
    jsp_context_free(via_call);
    jsp_context_free(via_call_sync);
    jsp_context_free(fast);
    tally_destroy(&slow_tally);
}

/* ---- a failing handler fails only its caller -------------------------------------------- */

enum { GOOD_CALLERS = 4, GOOD_CALLS = 400, MIN_REFUSED = 300 };

static jsp_context *refused_ctx;
static jsp_context *good_ctxs[GOOD_CALLERS];
static atomic_int good_running, refuse_handled, refused_calls, double_handled;

static void refuse(jsp_host_call *call, void *user)
{
    if (jsp_host_call_context_id(call) != jsp_context_id(refused_ctx))
        fail_later("refuse was called by context %llu", (unsigned long long)jsp_host_call_context_id(call));
    atomic_fetch_add(&refuse_handled, 1);
    int i = -1;
    sscanf(jsp_host_call_args(call), "[%d]", &i);
    char message[64];
    snprintf(message, sizeof(message), "refused %d", i);
    jsp_host_call_reject(call, message);
}

static void double_it(jsp_host_call *call, void *user)
{
    if (jsp_host_call_context_id(call) == jsp_context_id(refused_ctx))
        fail_later("double was called by the refused context%s", "");
    atomic_fetch_add(&double_handled, 1);
    int i = 0;
    sscanf(jsp_host_call_args(call), "[%d]", &i);
    char json[32];
    snprintf(json, sizeof(json), "%d", 2 * i);
    jsp_host_call_resolve(call, json, strlen(json));
}

static const char refused_module[] =
    "export function viaSync(i) { return host.callSync('refuse', i) }\n"
    "export function viaPromise(i) { return host.call('refuse', i) }\n"
    "export function caught(i) { try { host.callSync('refuse', i); return 'no' } catch (e) {"
    " return e instanceof Error && e.message } }\n";

static const char good_module[] =
    "export function viaSync(i) { return host.callSync('double', i) }\n"
    "export async function viaPromise(i) { return 1 + await host.call('double', i) }\n";

static void *refused_caller(void *arg)
{
    static const char *const forms[] = {"viaSync", "viaPromise", "caught"};
    for (int i = 0; atomic_load(&good_running) > 0 || i < MIN_REFUSED; i++) {
        const char *form = forms[i % 3];
        char args[16], message[32];
        snprintf(args, sizeof(args), "[%d]", i);
        snprintf(message, sizeof(message), "refused %d", i);
        jsp_result *r = NULL;
        int rc = jsp_call(refused_ctx, form, args, -1, &r);
        atomic_fetch_add(&refused_calls, 1);
        if (i % 3 == 2) {
            char expected[40];
            snprintf(expected, sizeof(expected), "\"%s\"", message);
            if (rc != 0 || strcmp(r->json, expected) != 0)
                fail_later("caught(%d) answered %d %s", i, rc, rc == 0 ? r->json : r->error_message);
        } else if (rc != JSP_EJS || strcmp(r->error_message, message) != 0) {
            fail_later("%s(%d) ended with %d: %s (expected JSP_EJS: %s)", form, i, rc,
                       rc == 0 ? r->json : r->error_message, message);
        }
        jsp_result_free(r);
    }
    return NULL;
}

static void *good_caller(void *arg)
{
    int k = (int)(uintptr_t)arg;
    for (int i = 0; i < GOOD_CALLS; i++) {
        bool is_sync = (i + k) % 2 == 0;
        char args[16], expected[16];
        snprintf(args, sizeof(args), "[%d]", i);
        snprintf(expected, sizeof(expected), "%d", is_sync ? 2 * i : 2 * i + 1);
        jsp_result *r = NULL;
        int rc = jsp_call(good_ctxs[k], is_sync ? "viaSync" : "viaPromise", args, -1, &r);
        if (rc != 0)
            fail_later("good caller %d call %d failed: %s: %s", k, i, r->error_name, r->error_message);
        else if (strcmp(r->json, expected) != 0)
            fail_later("good caller %d call %d answered %s, expected %s", k, i, r->json, expected);
        jsp_result_free(r);
    }
    atomic_fetch_sub(&good_running, 1);
    return NULL;
}

Test(stress_concurrency, failing_handler_fails_only_its_caller_while_siblings_succeed)
{
    pool = concurrency_pool(2, 0, JSP_PLACE_ROUND_ROBIN);
    cr_assert_eq(jsp_pool_register(pool, "refuse", refuse, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "double", double_it, NULL), 0);
    refused_ctx = pinned_context(pool, 0);
    load_module_ok(refused_ctx, refused_module);
    for (int k = 0; k < GOOD_CALLERS; k++) {
        good_ctxs[k] = pinned_context(pool, 0);
        load_module_ok(good_ctxs[k], good_module);
    }
    atomic_store(&good_running, GOOD_CALLERS);
    atomic_store(&refuse_handled, 0);
    atomic_store(&refused_calls, 0);
    atomic_store(&double_handled, 0);

    pthread_t refuser, callers[GOOD_CALLERS];
    pthread_create(&refuser, NULL, refused_caller, NULL);
    for (int k = 0; k < GOOD_CALLERS; k++)
        pthread_create(&callers[k], NULL, good_caller, (void *)(uintptr_t)k);
    for (int k = 0; k < GOOD_CALLERS; k++)
        pthread_join(callers[k], NULL);
    pthread_join(refuser, NULL);
    assert_no_late_failures();
    cr_log_info("%d refused calls beside %d good ones", atomic_load(&refused_calls),
                GOOD_CALLERS * GOOD_CALLS);
    cr_assert_geq(atomic_load(&refused_calls), MIN_REFUSED);
    cr_assert_eq(atomic_load(&refuse_handled), atomic_load(&refused_calls));
    cr_assert_eq(atomic_load(&double_handled), GOOD_CALLERS * GOOD_CALLS);

    /* every uncaught refusal counted as a JS error of its runtime, nothing else; and no
     * host call was left pending for a call scope to clear */
    int refused = atomic_load(&refused_calls), uncaught = refused - refused / 3;
    char *metrics = jsp_pool_metrics(pool);
    char line[128];
    snprintf(line, sizeof(line), "jspool_calls_total{runtime=\"0\",outcome=\"js_error\"} %d\n", uncaught);
    cr_assert(strstr(metrics, line), "expected %s in\n%s", line, metrics);
    cr_assert(strstr(metrics, "jspool_leaked_objects_total{runtime=\"0\",kind=\"host_call\"} 0\n"), "%s", metrics);
    jsp_free(metrics);
    jsp_context_free(refused_ctx);
    for (int k = 0; k < GOOD_CALLERS; k++)
        jsp_context_free(good_ctxs[k]);
}

/* ---- least-loaded placement ------------------------------------------------------------ */

static int loads[2];

static jsp_context *placed_context(void)
{
    jsp_context *ctx = context_for_test(pool);
    int rt = jsp_context_runtime(ctx);
    cr_assert(rt == 0 || rt == 1, "runtime %d", rt);
    cr_assert_leq(loads[rt], loads[1 - rt], "placed on runtime %d with %d contexts, the other had %d",
                  rt, loads[rt], loads[1 - rt]);
    loads[rt]++;
    return ctx;
}

Test(stress_concurrency, least_loaded_placement_fills_the_emptier_runtime)
{
    enum { PINNED = 6, UNPINNED = 10, FREED = 4 };
    pool = concurrency_pool(2, 0, JSP_PLACE_LEAST_LOADED);
    jsp_context *pinned[PINNED], *unpinned[UNPINNED + FREED];
    for (int i = 0; i < PINNED; i++)
        pinned[i] = pinned_context(pool, 0);
    loads[0] = PINNED;
    loads[1] = 0;

    /* the first PINNED unpinned contexts all go to the empty runtime 1 */
    for (int i = 0; i < UNPINNED; i++) {
        unpinned[i] = placed_context();
        if (i < PINNED)
            cr_assert_eq(jsp_context_runtime(unpinned[i]), 1, "context %d went to runtime 0 (6 vs %d)", i, i);
    }
    cr_assert_leq(abs(loads[0] - loads[1]), 1);
    char *metrics = jsp_pool_metrics(pool);
    char line[64];
    snprintf(line, sizeof(line), "jspool_contexts{runtime=\"0\"} %d\n", loads[0]);
    cr_assert(strstr(metrics, line), "%s", metrics);
    jsp_free(metrics);

    /* free FREED contexts of runtime 1; once that has run, new ones refill runtime 1 */
    int freed = 0;
    for (int i = 0; i < UNPINNED && freed < FREED; i++) {
        if (unpinned[i] && jsp_context_runtime(unpinned[i]) == 1) {
            jsp_context_free(unpinned[i]);
            unpinned[i] = NULL;
            freed++;
        }
    }
    cr_assert_eq(freed, FREED);
    loads[1] -= FREED;
    /* A free is a job of the context's runtime, and a creation that takes a spare global
     * returns before its own job ran, so no creation orders after the frees: wait until
     * runtime 1 counts them gone (placement reads the same count). */
    snprintf(line, sizeof(line), "jspool_contexts{runtime=\"1\"} %d\n", loads[1]);
    bool is_counted = false;
    for (int i = 0; i < 2000 && !is_counted; i++) {
        metrics = jsp_pool_metrics(pool);
        is_counted = strstr(metrics, line) != NULL;
        jsp_free(metrics);
        if (!is_counted)
            sleep_ms(5);
    }
    cr_assert(is_counted, "runtime 1 never counted its %d freed contexts gone", FREED);
    jsp_context *flush = pinned_context(pool, 1);
    loads[1]++;
    for (int i = 0; i < FREED - 1; i++) {
        unpinned[UNPINNED + i] = placed_context();
        cr_assert_eq(jsp_context_runtime(unpinned[UNPINNED + i]), 1,
                     "context went to runtime 0 although runtime 1 had fewer contexts");
    }
    unpinned[UNPINNED + FREED - 1] = NULL;
    jsp_context_free(flush);
    for (int i = 0; i < UNPINNED + FREED; i++)
        jsp_context_free(unpinned[i]);
    for (int i = 0; i < PINNED; i++)
        jsp_context_free(pinned[i]);
}
