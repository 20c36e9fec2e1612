/* Microtasks and the shared VM: light contexts share their runtime's VM, and JSC gives a VM
 * one microtask queue, drained FIFO and cleared whole by a termination. So no light context
 * runs JS while another's is on the stack (inside its host.callSync): each context's
 * microtasks run in its own entry, under its own budget, in spec order, and a limit trip or
 * a destroy of one context cannot reach another's continuations. Isolated contexts (own VM)
 * still run during a callSync; the callSync wait ends at the waiter's wall limit, which
 * bounds how long light siblings wait. (test_store_attacks.c has the store side.) */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

SUITE_POOL(1)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A host function that answers from another thread after a delay: its user data. */
typedef struct delayed_answer {
    int ms;
    const char *json;
} delayed_answer;
static const delayed_answer slow = {200, "\"slow\""}, soon = {50, "7"};

typedef struct pending_answer {
    jsp_host_call *call;
    const delayed_answer *answer;
} pending_answer;

static void *answer_later(void *arg)
{
    pending_answer *p = arg;
    sleep_ms(p->answer->ms);
    jsp_host_call_resolve(p->call, p->answer->json, strlen(p->answer->json));
    free(p);
    return NULL;
}

static void answers_later(jsp_host_call *call, void *user)
{
    pending_answer *p = malloc(sizeof(*p));
    cr_assert_not_null(p);
    *p = (pending_answer){call, user};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, answer_later, p), 0);
    pthread_detach(t);
}

/* Keeps the call until the test answers it (every call must be answered once). */
static jsp_host_call *parked;
static void park(jsp_host_call *call, void *user)
{
    __atomic_store_n(&parked, call, __ATOMIC_RELEASE);
}

static jsp_host_call *wait_parked(void)
{
    for (int i = 0; i < 5000 && !__atomic_load_n(&parked, __ATOMIC_ACQUIRE); i++)
        sleep_ms(1);
    jsp_host_call *call = __atomic_load_n(&parked, __ATOMIC_ACQUIRE);
    cr_assert_not_null(call, "the host function was not reached");
    __atomic_store_n(&parked, NULL, __ATOMIC_RELEASE);
    return call;
}

static void setup(void)
{
    suite_pool_setup();
    cr_assert_eq(jsp_pool_register(pool, "slow", answers_later, (void *)&slow), 0);
    cr_assert_eq(jsp_pool_register(pool, "soon", answers_later, (void *)&soon), 0);
    cr_assert_eq(jsp_pool_register(pool, "park", park, NULL), 0);
}

TestSuite(microtasks, .init = setup, .fini = suite_pool_teardown, .timeout = 60);

/* An async eval and when its result arrived. */
typedef struct timed {
    tally done;
    jsp_result *result;
    double at_ms;
} timed;

static void timed_done(jsp_result *r, void *user)
{
    timed *t = user;
    t->result = r;
    t->at_ms = now_ms();
    tally_bump(&t->done);
}

static void eval_timed(jsp_context *ctx, const char *source, timed *t)
{
    tally_init(&t->done);
    t->result = NULL;
    cr_assert_eq(jsp_eval_async(ctx, source, -1, timed_done, t), 0);
}

static const char *json_of(const timed *t)
{
    return t->result->code == 0 ? t->result->json : t->result->error_message;
}

static void timed_free(timed *t)
{
    jsp_result_free(t->result);
    tally_destroy(&t->done);
}

Test(microtasks, a_callers_microtasks_run_after_its_call_sync_in_fifo_order)
{
    jsp_context *ctx = context_for_test(pool);
    /* spec order: the synchronous part runs to completion (callSync included), then the
     * jobs in the order they were queued, a reaction queued by a job after the others */
    char *json = eval_ok(ctx, "var log = [];\n"
                              "Promise.resolve().then(() => log.push('a1')).then(() => log.push('a3'));\n"
                              "queueMicrotask(() => log.push('a2'));\n"
                              "log.push('before'); log.push(host.callSync('slow')); log.push('after');\n"
                              "log.length");
    cr_assert_str_eq(json, "3", "a microtask ran inside the callSync");
    free(json);
    expect_eval(ctx, "log", "[\"before\",\"slow\",\"after\",\"a1\",\"a2\",\"a3\"]");
    /* and an async call's awaits, each continuation after the sync code that preceded it */
    expect_eval(ctx, "(async () => { const o = []; const p = (async () => { o.push(1); await null; o.push(3); })();"
                     " o.push(2); await p; o.push(host.callSync('slow')); await null; o.push(4); return o; })()",
                "[1,2,3,\"slow\",4]");
    jsp_context_free(ctx);
}

Test(microtasks, light_siblings_wait_for_a_call_sync_and_isolated_ones_do_not)
{
    jsp_context *waiter = context_for_test(pool), *light = context_for_test(pool);
    jsp_context_config cfg = {.memory_limit_bytes = 64u << 20};
    jsp_context *isolated = NULL;
    cr_assert_eq(jsp_context_new(pool, &cfg, &isolated), 0);
    free(eval_ok(light, "var order = []; 0"));
    timed w, l, i;
    double start = now_ms();
    /* the call is held until the test answers it (not for a time a loaded machine may
     * outrun): the isolated sibling answers while it is held, the light one only after */
    eval_timed(waiter, "host.callSync('park')", &w);
    jsp_host_call *call = wait_parked(); /* the runtime thread is inside the callSync */
    double queued = now_ms() - start;
    eval_timed(light, "(async () => { order.push('a'); await null; order.push('b'); return order; })()", &l);
    eval_timed(isolated, "(async () => { await null; return 'isolated'; })()", &i);
    cr_expect_eq(tally_wait(&i.done, 1, 10000), 1, "the isolated sibling waited for the callSync");
    cr_expect_eq(tally_wait(&l.done, 1, 0), 0, "the light sibling ran inside the callSync");
    double answered = now_ms();
    cr_assert_eq(jsp_host_call_resolve(call, "\"answer\"", 8), 0);
    cr_assert_eq(tally_wait(&w.done, 1, 5000), 1);
    cr_assert_eq(tally_wait(&l.done, 1, 5000), 1);
    cr_assert_eq(tally_wait(&i.done, 1, 5000), 1);
    cr_assert_eq(w.result->code, 0, "%s", json_of(&w));
    cr_assert_str_eq(l.result->json, "[\"a\",\"b\"]");
    cr_assert_str_eq(i.result->json, "\"isolated\"");
    cr_expect_geq(l.at_ms, answered, "the light sibling ran inside the callSync");
    cr_log_info("callSync answered after %.0f ms; light sibling answered after %.0f ms, isolated after %.0f ms "
                "(queued at %.0f)", answered - start, l.at_ms - start, i.at_ms - start, queued);
    timed_free(&w);
    timed_free(&l);
    timed_free(&i);
    jsp_context_free(waiter);
    jsp_context_free(light);
    jsp_context_free(isolated);
}

/* The sibling's host.call is answered while the other context waits in callSync; that
 * context is then destroyed (its JS terminated, JSC clearing the VM's queue). The
 * sibling's continuation is not in that queue: its call settles with its value. */
Test(microtasks, destroying_a_context_in_call_sync_leaves_a_siblings_continuation_alone)
{
    jsp_context *doomed = context_for_test(pool), *sibling = context_for_test(pool);
    timed d, s;
    eval_timed(doomed, "Promise.resolve().then(() => { for (;;) {} }); host.callSync('park')", &d);
    jsp_host_call *call = wait_parked();
    eval_timed(sibling, "(async () => { const v = await host.call('soon'); await null; return v * 6; })()", &s);
    sleep_ms(150); /* the answer (50 ms) is in, behind the callSync */
    jsp_context_destroy(doomed);
    cr_assert_eq(tally_wait(&d.done, 1, 5000), 1);
    cr_expect_eq(d.result->code, JSP_EDESTROYED, "%s", json_of(&d));
    cr_assert_eq(tally_wait(&s.done, 1, 3000), 1, "the sibling's call did not settle after the destroy");
    cr_expect_eq(s.result->code, 0, "the sibling's call: %s", json_of(&s));
    cr_expect_str_eq(json_of(&s), "42");
    jsp_host_call_resolve(call, "0", 1);
    timed_free(&d);
    timed_free(&s);
    jsp_context_free(doomed);
    jsp_context_free(sibling);
}

/* The other way round: a sibling whose awaited host.call is answered during another
 * context's callSync, and which is destroyed then. Its continuation waits for the callSync
 * (it never joins the waiter's queue), its destroy takes effect after it (its call fails
 * with JSP_EDESTROYED), and the waiter's call and microtasks are untouched. */
Test(microtasks, destroying_a_sibling_during_a_call_sync_leaves_the_waiter_alone)
{
    jsp_context *waiter = context_for_test(pool), *doomed = context_for_test(pool);
    timed w, d;
    eval_timed(doomed, "(async () => { await host.call('slow'); for (;;) {} })()", &d);
    sleep_ms(20);
    eval_timed(waiter, "var seen = []; Promise.resolve().then(() => seen.push('then'));"
                       " seen.push(host.callSync('park')); Promise.resolve().then(() => seen.push('after'));"
                       " (async () => { await null; return seen; })()", &w);
    jsp_host_call *call = wait_parked();
    sleep_ms(250); /* the doomed context's answer (200 ms) is in, behind the callSync */
    jsp_context_destroy(doomed);
    sleep_ms(20);
    cr_assert_eq(jsp_host_call_resolve(call, "\"answer\"", 8), 0);
    cr_assert_eq(tally_wait(&w.done, 1, 5000), 1);
    cr_expect_eq(w.result->code, 0, "the waiter: %s", json_of(&w));
    cr_expect_str_eq(json_of(&w), "[\"answer\",\"then\",\"after\"]");
    cr_assert_eq(tally_wait(&d.done, 1, 5000), 1);
    cr_expect_eq(d.result->code, JSP_EDESTROYED, "%s", json_of(&d));
    timed_free(&w);
    timed_free(&d);
    jsp_context_free(waiter);
    jsp_context_free(doomed);
}

/* A callSync that is never answered holds its light siblings back only until the caller's
 * wall limit: the wait ends there, the call fails with JSP_EWALL_LIMIT, and the siblings run. */
Test(microtasks, a_call_sync_wait_ends_at_the_callers_wall_limit)
{
    jsp_context_config cfg = {.wall_limit_ms = 300};
    jsp_context *waiter = NULL, *sibling = context_for_test(pool);
    cr_assert_eq(jsp_context_new(pool, &cfg, &waiter), 0);
    timed w, s;
    double start = now_ms();
    eval_timed(waiter, "try { host.callSync('park') } catch (e) { for (;;) {} }", &w);
    jsp_host_call *call = wait_parked();
    eval_timed(sibling, "6 * 7", &s);
    cr_assert_eq(tally_wait(&w.done, 1, 5000), 1);
    cr_assert_eq(tally_wait(&s.done, 1, 5000), 1);
    cr_expect_eq(w.result->code, JSP_EWALL_LIMIT, "%s", json_of(&w));
    cr_expect_lt(w.at_ms - start, 1000, "the callSync ended %.0f ms after a 300 ms wall limit", w.at_ms - start);
    cr_expect_str_eq(json_of(&s), "42");
    cr_log_info("unanswered callSync ended after %.0f ms (wall limit 300), the sibling answered after %.0f ms",
                w.at_ms - start, s.at_ms - start);
    cr_assert_eq(jsp_host_call_resolve(call, "0", 1), 0); /* late: discarded */
    timed_free(&w);
    timed_free(&s);
    jsp_context_free(waiter);
    jsp_context_free(sibling);
}

static double process_cpu_ms(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec * 1e3 + u.ru_utime.tv_usec / 1e3 + u.ru_stime.tv_sec * 1e3 + u.ru_stime.tv_usec / 1e3;
}

/* Due timers of contexts that cannot run during a callSync (the waiter's own, light
 * siblings') are held, not pushed back due: the wait sleeps instead of spinning on them. */
Test(microtasks, a_call_sync_does_not_spin_on_timers_that_cannot_run)
{
    jsp_context *waiter = context_for_test(pool), *sibling = context_for_test(pool);
    free(eval_ok(sibling, "var ticks = 0; setInterval(() => ticks++, 1); 0"));
    timed w;
    eval_timed(waiter, "setTimeout(() => {}, 0); host.callSync('park')", &w);
    jsp_host_call *call = wait_parked();
    sleep_ms(20);
    double cpu_before = process_cpu_ms(), wall_before = now_ms();
    sleep_ms(300);
    double cpu = process_cpu_ms() - cpu_before, wall = now_ms() - wall_before;
    cr_assert_eq(jsp_host_call_resolve(call, "1", 1), 0);
    cr_assert_eq(tally_wait(&w.done, 1, 5000), 1);
    cr_expect_eq(w.result->code, 0, "%s", json_of(&w));
    cr_log_info("process CPU during %.0f ms of callSync wait: %.1f ms", wall, cpu);
    cr_expect_lt(cpu, wall / 4, "the runtime thread spun while waiting: %.0f ms CPU in %.0f ms", cpu, wall);
    /* and the held timers run once it returns */
    char *json = eval_ok(sibling, "ticks"), more[64];
    snprintf(more, sizeof(more), "ticks > %d", atoi(json));
    free(json);
    cr_expect(eval_until(sibling, more, "true", 5000), "the sibling's interval stopped after the callSync");
    timed_free(&w);
    jsp_context_free(waiter);
    jsp_context_free(sibling);
}
