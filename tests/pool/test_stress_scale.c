/* Stress, scale: many live contexts each keep their own state, create/destroy cycles do
 * not leak whole contexts, destroying siblings mid-traffic never disturbs the survivors,
 * and freeing a context races its in-flight async calls safely (each done runs once). */
#include "support/support.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static jsp_pool *pool;

/* Failures seen on helper threads (Criterion asserts belong on the test's thread). */
static atomic_int failures;
static pthread_mutex_t failure_mutex = PTHREAD_MUTEX_INITIALIZER;
static char first_failure[512];

static void fail_later(const char *fmt, const char *a, const char *b, long n)
{
    if (atomic_fetch_add(&failures, 1) == 0) {
        pthread_mutex_lock(&failure_mutex);
        snprintf(first_failure, sizeof(first_failure), fmt, a ? a : "(null)", b ? b : "(null)", n);
        pthread_mutex_unlock(&failure_mutex);
    }
}

static void assert_no_late_failures(void)
{
    int n = atomic_load(&failures);
    cr_assert_eq(n, 0, "%d failure(s) on helper threads; first: %s", n, first_failure);
}

/* State made by eval must not be wiped by a VM recycle mid-test: the growth rule (which
 * jsp_pool_config documents as dropping eval-made globals) is off in these pools. */
static jsp_pool *stress_pool(int threads, int max_contexts)
{
    jsp_pool_config cfg = {.threads = threads, .max_contexts = max_contexts,
                           .heap_growth_ratio = 0.5};
    jsp_pool *p = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &p), 0);
    return p;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void setup(void)
{
    atomic_store(&failures, 0);
    first_failure[0] = '\0';
    pool = NULL;
}

static void teardown(void)
{
    jsp_pool_free(pool);
}

TestSuite(stress_scale, .init = setup, .fini = teardown, .timeout = 120);

/* ---- 1,000 live contexts ------------------------------------------------------------ */

enum { LIVE = 1000 };

typedef struct expect_call {
    tally *tally;
    char expected[96];
} expect_call;

static void check_expected(jsp_result *r, void *user)
{
    expect_call *e = user;
    if (r->code != 0)
        fail_later("async call failed: %s: %s (%ld)", r->error_name, r->error_message, r->code);
    else if (strcmp(r->json, e->expected) != 0)
        fail_later("async call answered %s, expected %s (%ld)", r->json, e->expected, 0);
    jsp_result_free(r);
    tally_bump(e->tally);
}

Test(stress_scale, thousand_live_contexts_each_answer_with_own_state)
{
    pool = stress_pool(2, 0);
    jsp_context **ctxs = calloc(LIVE, sizeof(*ctxs));
    char source[256];
    for (int i = 0; i < LIVE; i++) {
        cr_assert_eq(jsp_context_new(pool, NULL, &ctxs[i]), 0, "context %d", i);
        snprintf(source, sizeof(source),
                 "var me = {index: %d, secret: 'S-%d', hits: 0};"
                 "function hit(k) { me.hits += k; return [me.index, me.secret, me.hits]; }"
                 "me.index",
                 i, i * 7);
        char *json = eval_ok(ctxs[i], source);
        char expected[16];
        snprintf(expected, sizeof(expected), "%d", i);
        cr_assert_str_eq(json, expected);
        free(json);
    }
    /* all 1,000 are live at once: ids unique, round robin split them evenly */
    for (int i = 1; i < LIVE; i++)
        cr_assert_gt(jsp_context_id(ctxs[i]), jsp_context_id(ctxs[i - 1]));
    char *metrics = jsp_pool_metrics(pool);
    cr_assert(strstr(metrics, "jspool_contexts{runtime=\"0\"} 500\n"), "%s", metrics);
    cr_assert(strstr(metrics, "jspool_contexts{runtime=\"1\"} 500\n"), "%s", metrics);
    jsp_free(metrics);

    /* all at once, asynchronously: each answers from its own state */
    tally t;
    tally_init(&t);
    expect_call *calls = calloc(LIVE, sizeof(*calls));
    for (int i = 0; i < LIVE; i++) {
        calls[i].tally = &t;
        snprintf(calls[i].expected, sizeof(calls[i].expected), "[%d,\"S-%d\",%d]", i, i * 7, i);
        char args[32];
        snprintf(args, sizeof(args), "[%d]", i);
        cr_assert_eq(jsp_call_async(ctxs[i], "hit", args, -1, check_expected, &calls[i]), 0);
    }
    cr_assert_eq(tally_wait(&t, LIVE, 30000), LIVE, "not every async call completed");
    assert_no_late_failures();

    /* and again synchronously, in reverse order: the state moved on per context */
    for (int i = LIVE - 1; i >= 0; i--) {
        char *json = call_ok(ctxs[i], "hit", "[1]");
        char expected[96];
        snprintf(expected, sizeof(expected), "[%d,\"S-%d\",%d]", i, i * 7, i + 1);
        cr_assert_str_eq(json, expected);
        free(json);
    }
    for (int i = 0; i < LIVE; i++)
        jsp_context_free(ctxs[i]);
    free(calls);
    free(ctxs);
    tally_destroy(&t);
}

/* ---- create/destroy cycles ------------------------------------------------------------ */

enum { CYCLES = 500, WARMUP_CYCLES = 50, CYCLE_MAX_CONTEXTS = 16 };

/* A sync call on a context of each runtime: the destroy jobs queued before it have run. */
static void flush_runtimes(jsp_context **anchors, int n)
{
    for (int i = 0; i < n; i++)
        free(eval_ok(anchors[i], "0"));
}

Test(stress_scale, five_hundred_create_destroy_cycles_leak_neither_memory_nor_slots)
{
    pool = stress_pool(2, CYCLE_MAX_CONTEXTS);
    jsp_context *anchors[2] = {pinned_context(pool, 0), pinned_context(pool, 1)};
    long rss_after_warmup = 0;
    char source[256];
    for (int c = 0; c < CYCLES; c++) {
        jsp_context *ctx = NULL;
        cr_assert_eq(jsp_context_new(pool, NULL, &ctx), 0, "cycle %d", c);
        /* some real state in each: an array, a closure, a timer and a module */
        snprintf(source, sizeof(source),
                 "var big = new Array(4096).fill(%d); var keep = () => big;"
                 "setTimeout(() => big.push(1), 100000);"
                 "keep().length + big[4095]",
                 c);
        char *json = eval_ok(ctx, source);
        char expected[32];
        snprintf(expected, sizeof(expected), "%d", 4096 + c);
        cr_assert_str_eq(json, expected);
        free(json);
        jsp_result *r = NULL;
        cr_assert_eq(jsp_load_module(ctx, "export function twice(x) { return 2 * x }", -1, &r), 0);
        jsp_result_free(r);
        json = call_ok(ctx, "twice", "[21]");
        cr_assert_str_eq(json, "42");
        free(json);
        jsp_context_free(ctx);
        if (c + 1 == WARMUP_CYCLES) {
            flush_runtimes(anchors, 2);
            rss_after_warmup = rss_kb();
        }
    }
    flush_runtimes(anchors, 2);
    long rss_after_all = rss_kb();
    cr_log_info("RSS after %d cycles: %ld kB; after %d: %ld kB", WARMUP_CYCLES, rss_after_warmup,
                CYCLES, rss_after_all);
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps freed memory resident; LSan checks leaks there */
    cr_assert_leq(rss_after_all, 2 * rss_after_warmup + 20 * 1024,
                  "RSS grew from %ld kB after %d cycles to %ld kB after %d: contexts leak",
                  rss_after_warmup, WARMUP_CYCLES, rss_after_all, CYCLES);
#endif

    /* every slot came back: exactly max_contexts - 2 anchors can be created again */
    char *metrics = jsp_pool_metrics(pool);
    cr_assert(strstr(metrics, "jspool_contexts{runtime=\"0\"} 1\n"), "%s", metrics);
    cr_assert(strstr(metrics, "jspool_contexts{runtime=\"1\"} 1\n"), "%s", metrics);
    jsp_free(metrics);
    jsp_context *more[CYCLE_MAX_CONTEXTS];
    for (int i = 0; i < CYCLE_MAX_CONTEXTS - 2; i++) {
        cr_assert_eq(jsp_context_new(pool, NULL, &more[i]), 0, "slot %d", i);
        char *json = eval_ok(more[i], "[1, 2, 3].map(x => x * x).join()");
        cr_assert_str_eq(json, "\"1,4,9\"");
        free(json);
    }
    jsp_context *extra = NULL;
    cr_assert_eq(jsp_context_new(pool, NULL, &extra), JSP_ETOO_MANY);
    cr_assert_null(extra);
    for (int i = 0; i < CYCLE_MAX_CONTEXTS - 2; i++)
        jsp_context_free(more[i]);
    jsp_context_free(anchors[0]);
    jsp_context_free(anchors[1]);
}

/* ---- destroying siblings mid-traffic -------------------------------------------------- */

enum {
    SURVIVORS = 6,
    SURVIVOR_CALLERS = 4,
    CALLS_PER_SURVIVOR_CALLER = 400,
    DOOMED_LIVE = 8,
    CHURN_ROUNDS = 80,
    DOOMED_MAX = DOOMED_LIVE + CHURN_ROUNDS,
    DOOMED_CALLERS = 3,
};

typedef struct doomed_slot {
    jsp_context *ctx;
    atomic_bool is_destroyed; /* set after jsp_context_destroy returned */
    int tag;
} doomed_slot;

static jsp_context *survivors[SURVIVORS];
static doomed_slot doomed[DOOMED_MAX];
static atomic_int doomed_published;
static atomic_bool churn_finished;
static atomic_long survivor_calls, doomed_ok, doomed_destroyed;

static void *survivor_caller(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int n = 0; n < CALLS_PER_SURVIVOR_CALLER || !atomic_load(&churn_finished); n++) {
        int k = (int)(rand_r(&seed) % SURVIVORS);
        int x = (int)(rand_r(&seed) % 100000);
        char args[32], expected[64];
        snprintf(args, sizeof(args), "[%d]", x);
        snprintf(expected, sizeof(expected), "[%d,%d]", k, x * 3);
        jsp_result *r = NULL;
        int rc = jsp_call(survivors[k], "triple", args, -1, &r);
        if (rc != 0)
            fail_later("survivor call failed: %s: %s (code %ld)", r->error_name, r->error_message, rc);
        else if (strncmp(r->json, expected, strlen(expected) - 1) != 0 || r->json[strlen(expected) - 1] != ',')
            fail_later("survivor answered %s, expected %s,...] (%ld)", r->json, expected, k);
        jsp_result_free(r);
        atomic_fetch_add(&survivor_calls, 1);
    }
    return NULL;
}

static void *doomed_caller(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&churn_finished)) {
        int published = atomic_load(&doomed_published);
        doomed_slot *s = &doomed[rand_r(&seed) % (unsigned)published];
        bool was_destroyed = atomic_load(&s->is_destroyed);
        char expected[32];
        snprintf(expected, sizeof(expected), "%d", s->tag);
        jsp_result *r = NULL;
        int rc = (rand_r(&seed) & 1) ? jsp_call(s->ctx, "tag", NULL, 0, &r)
                                     : jsp_eval(s->ctx, "new Promise(r => setTimeout(() => r(tag()), 1))", -1, &r);
        if (rc == 0) {
            if (was_destroyed)
                fail_later("call on a destroyed context answered %s%s (%ld)", r->json, "", s->tag);
            else if (strcmp(r->json, expected) != 0)
                fail_later("doomed context answered %s, expected %s (%ld)", r->json, expected, 0);
            atomic_fetch_add(&doomed_ok, 1);
        } else if (rc == JSP_EDESTROYED) {
            atomic_fetch_add(&doomed_destroyed, 1);
        } else {
            fail_later("doomed call failed with %s: %s (code %ld)", r->error_name, r->error_message, rc);
        }
        jsp_result_free(r);
    }
    return NULL;
}

static void make_doomed(int slot)
{
    jsp_context_config cfg = {.runtime = 1}; /* the survivors' runtime */
    doomed[slot].tag = 1000 + slot;
    atomic_init(&doomed[slot].is_destroyed, false);
    cr_assert_eq(jsp_context_new(pool, &cfg, &doomed[slot].ctx), 0);
    char source[160];
    snprintf(source, sizeof(source),
             "var t = %d; function tag() { return t }; setInterval(() => t = %d, 1); t",
             doomed[slot].tag, doomed[slot].tag);
    free(eval_ok(doomed[slot].ctx, source));
}

Test(stress_scale, destroying_siblings_mid_traffic_never_disturbs_survivors)
{
    pool = stress_pool(2, 0);
    atomic_store(&doomed_published, 0);
    atomic_store(&churn_finished, false);
    atomic_store(&survivor_calls, 0);
    atomic_store(&doomed_ok, 0);
    atomic_store(&doomed_destroyed, 0);
    char source[200];
    for (int k = 0; k < SURVIVORS; k++) {
        survivors[k] = pinned_context(pool, 0);
        snprintf(source, sizeof(source),
                 "var ticks = 0; setInterval(() => ticks++, 1);"
                 "function triple(x) { return [%d, x * 3, ticks] }; 0",
                 k);
        free(eval_ok(survivors[k], source));
    }
    for (int d = 0; d < DOOMED_LIVE; d++)
        make_doomed(d);
    atomic_store(&doomed_published, DOOMED_LIVE);

    pthread_t callers[SURVIVOR_CALLERS + DOOMED_CALLERS];
    for (int i = 0; i < SURVIVOR_CALLERS; i++)
        pthread_create(&callers[i], NULL, survivor_caller, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < DOOMED_CALLERS; i++)
        pthread_create(&callers[SURVIVOR_CALLERS + i], NULL, doomed_caller, (void *)(uintptr_t)(i + 101));

    /* churn on the survivors' runtime: destroy a live doomed context, make a new one, and
     * a short-lived one freed with async work in flight */
    unsigned seed = 7;
    int live[DOOMED_MAX], live_count = DOOMED_LIVE;
    for (int d = 0; d < DOOMED_LIVE; d++)
        live[d] = d;
    for (int round = 0; round < CHURN_ROUNDS; round++) {
        int pick = (int)(rand_r(&seed) % (unsigned)live_count);
        doomed_slot *s = &doomed[live[pick]];
        live[pick] = live[--live_count];
        jsp_context_destroy(s->ctx);
        atomic_store(&s->is_destroyed, true);
        jsp_result *r = NULL;
        cr_assert_eq(jsp_eval(s->ctx, "1", -1, &r), JSP_EDESTROYED);
        jsp_result_free(r);
        cr_assert_eq(jsp_send(s->ctx, "1", -1), JSP_EDESTROYED);

        int slot = DOOMED_LIVE + round;
        make_doomed(slot);
        live[live_count++] = slot;
        atomic_store(&doomed_published, slot + 1);

        jsp_context *brief = pinned_context(pool, 0);
        free(eval_ok(brief, "var x = 0; setInterval(() => x++, 1); x"));
        jsp_send(brief, "{\"hello\":1}", -1);
        jsp_context_free(brief);
    }
    atomic_store(&churn_finished, true);
    for (int i = 0; i < SURVIVOR_CALLERS + DOOMED_CALLERS; i++)
        pthread_join(callers[i], NULL);
    assert_no_late_failures();
    cr_log_info("survivor calls %ld, doomed ok %ld, doomed destroyed %ld", atomic_load(&survivor_calls),
                atomic_load(&doomed_ok), atomic_load(&doomed_destroyed));
    cr_assert_geq(atomic_load(&survivor_calls), SURVIVOR_CALLERS * CALLS_PER_SURVIVOR_CALLER);
    cr_assert_gt(atomic_load(&doomed_ok), 0);

    /* survivors' timers kept running through all of it */
    for (int k = 0; k < SURVIVORS; k++) {
        char *json = eval_ok(survivors[k], "ticks > 0");
        cr_assert_str_eq(json, "true");
        free(json);
        jsp_context_free(survivors[k]);
    }
    for (int d = 0; d < atomic_load(&doomed_published); d++)
        jsp_context_free(doomed[d].ctx);
}

/* ---- jsp_context_free racing in-flight async calls ------------------------------------ */

enum { FREE_ROUNDS = 150, CALLS_PER_ROUND = 24 };

typedef struct inflight {
    atomic_int runs;
    int code;
    bool has_right_value;
    int expect;
} inflight;

static tally inflight_tally;
static atomic_int answerers_running;

static void inflight_done(jsp_result *r, void *user)
{
    inflight *f = user;
    f->code = r->code;
    char expected[32];
    snprintf(expected, sizeof(expected), "%d", f->expect);
    f->has_right_value = r->code == 0 && strcmp(r->json, expected) == 0;
    jsp_result_free(r);
    atomic_fetch_add(&f->runs, 1);
    tally_bump(&inflight_tally);
}

static void *answer_after_a_moment(void *arg)
{
    sleep_ms(1 + (int)((uintptr_t)arg >> 60));
    jsp_host_call *call = (jsp_host_call *)((uintptr_t)arg & (((uintptr_t)1 << 60) - 1));
    int k = 0;
    sscanf(jsp_host_call_args(call), "[%d]", &k);
    char json[32];
    snprintf(json, sizeof(json), "%d", k);
    jsp_host_call_resolve(call, json, strlen(json));
    atomic_fetch_sub(&answerers_running, 1);
    return NULL;
}

static void echo_later(jsp_host_call *call, void *user)
{
    atomic_fetch_add(&answerers_running, 1);
    pthread_t t;
    uintptr_t delay = (uintptr_t)(jsp_host_call_context_id(call) % 3);
    if (pthread_create(&t, NULL, answer_after_a_moment, (void *)((uintptr_t)call | delay << 60)) != 0) {
        atomic_fetch_sub(&answerers_running, 1);
        jsp_host_call_resolve(call, "null", 4);
        return;
    }
    pthread_detach(t);
}

typedef struct racer {
    jsp_context *ctx;
    inflight *calls;
    int submitted_ok;
} racer;

static int submit_one(jsp_context *ctx, inflight *f, int k)
{
    char args[32];
    snprintf(args, sizeof(args), "[%d]", k);
    f->expect = 2 * k;
    switch (k % 4) {
    case 0:
        return jsp_call_async(ctx, "now", args, -1, inflight_done, f);
    case 1:
        return jsp_call_async(ctx, "soon", args, -1, inflight_done, f);
    case 2:
        return jsp_call_async(ctx, "viaHost", args, -1, inflight_done, f);
    default: {
        char src[64];
        snprintf(src, sizeof(src), "Promise.resolve(%d).then(x => x * 2)", k);
        return jsp_eval_async(ctx, src, -1, inflight_done, f);
    }
    }
}

static void *racing_submitter(void *arg)
{
    racer *rc = arg;
    for (int k = 0; k < CALLS_PER_ROUND; k++) {
        /* not stored in calls[k].code: done may already have run and written it */
        int code = submit_one(rc->ctx, &rc->calls[k], k);
        if (code == 0)
            rc->submitted_ok++;
        else if (code != JSP_EDESTROYED)
            fail_later("submit failed: %s%s (code %ld)", jsp_strerror(code), "", code);
    }
    return NULL;
}

static const char racing_module[] =
    "export function now(k) { return 2 * k }\n"
    "export function soon(k) { return new Promise(r => setTimeout(() => r(2 * k), k % 3)) }\n"
    "export async function viaHost(k) { return 2 * await host.call('echo', k) }\n";

static jsp_context *racing_context(void)
{
    jsp_context *ctx = context_for_test(pool);
    jsp_result *r = NULL;
    cr_assert_eq(jsp_load_module(ctx, racing_module, -1, &r), 0);
    jsp_result_free(r);
    return ctx;
}

Test(stress_scale, context_free_racing_in_flight_async_calls_completes_each_exactly_once)
{
    pool = stress_pool(2, 0);
    cr_assert_eq(jsp_pool_register(pool, "echo", echo_later, NULL), 0);
    tally_init(&inflight_tally);
    atomic_store(&answerers_running, 0);
    inflight *all = calloc((size_t)FREE_ROUNDS * 2 * CALLS_PER_ROUND, sizeof(*all));
    int expected_done = 0, completed_ok = 0, cancelled = 0;

    for (int round = 0; round < FREE_ROUNDS; round++) {
        /* a: submit everything, then free at once from this thread */
        inflight *calls = &all[(size_t)round * 2 * CALLS_PER_ROUND];
        jsp_context *ctx = racing_context();
        for (int k = 0; k < CALLS_PER_ROUND; k++) {
            cr_assert_eq(submit_one(ctx, &calls[k], k), 0);
            expected_done++;
        }
        jsp_context_free(ctx);

        /* b: another thread keeps submitting while this one destroys, then frees */
        racer rc = {racing_context(), calls + CALLS_PER_ROUND, 0};
        pthread_t t;
        pthread_create(&t, NULL, racing_submitter, &rc);
        if (round % 2)
            sleep_ms(0);
        jsp_context_destroy(rc.ctx);
        pthread_join(t, NULL);
        jsp_context_free(rc.ctx);
        expected_done += rc.submitted_ok;
    }
    cr_assert_eq(tally_wait(&inflight_tally, expected_done, 20000), expected_done,
                 "only %d of %d async calls completed", inflight_tally.done, expected_done);
    assert_no_late_failures();
    for (size_t i = 0; i < (size_t)FREE_ROUNDS * 2 * CALLS_PER_ROUND; i++) {
        inflight *f = &all[i];
        int runs = atomic_load(&f->runs);
        if (runs == 0)
            continue; /* refused at submission (checked above), or never submitted */
        cr_assert_eq(runs, 1, "call %zu completed %d times", i, runs);
        cr_assert(f->code == 0 || f->code == JSP_EDESTROYED, "call %zu ended with %d (%s)", i,
                  f->code, jsp_strerror(f->code));
        if (f->code == 0) {
            cr_assert(f->has_right_value, "call %zu answered the wrong value", i);
            completed_ok++;
        } else {
            cancelled++;
        }
    }
    cr_assert_eq(completed_ok + cancelled, expected_done);
    cr_log_info("%d completed, %d cancelled by the free", completed_ok, cancelled);

    /* no done runs late: wait for the host answerers, then count again */
    for (int i = 0; i < 5000 && atomic_load(&answerers_running) > 0; i++)
        sleep_ms(1);
    cr_assert_eq(atomic_load(&answerers_running), 0);
    jsp_context *ctx = racing_context();
    char *json = call_ok(ctx, "viaHost", "[21]");
    cr_assert_str_eq(json, "42");
    free(json);
    jsp_context_free(ctx);
    cr_assert_eq(tally_wait(&inflight_tally, expected_done, 0), expected_done);
    free(all);
}
