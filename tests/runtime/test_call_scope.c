/* Per-call scope: host state a call leaves behind is cleared when it settles, logged
 * once with the context id and what leaked, and counted in the metrics. */
#include "support/support.h"

#include <stdlib.h>

SUITE_POOL(1)
static jsp_host_call *parked[8];
static int parked_count;

static void park(jsp_host_call *call, void *user)
{
    parked[parked_count++] = call;
}

static void setup(void)
{
    suite_pool_setup();
    parked_count = 0;
    cr_assert_eq(jsp_pool_register(pool, "park", park, NULL), 0);
}

static void teardown(void)
{
    suite_pool_teardown();
}

TestSuite(call_scope, .init = setup, .fini = teardown, .timeout = 60);

static bool metrics_have(const char *line)
{
    char *text = jsp_pool_metrics(pool);
    bool found = text && strstr(text, line) != NULL;
    jsp_free(text);
    return found;
}

Test(call_scope, console_time_span_is_reported_when_ended)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "console.time('work'); for (let i = 0; i < 1e5; i++); console.timeEnd('work'); 0"));
    cr_assert(collector_has(&logs, "work: "));
    cr_assert(metrics_have("jspool_leaked_objects_total{runtime=\"0\",kind=\"span\"} 0"));
    jsp_context_free(ctx);
}

Test(call_scope, open_span_is_cleared_logged_and_counted)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "console.time('never ended'); 1"));
    cr_assert(collector_has(&logs, "left 0 pending host call(s) and 1 open console.time span(s)"));
    cr_assert(metrics_have("jspool_leaked_objects_total{runtime=\"0\",kind=\"span\"} 1"));
    /* it is gone: ending it later is the "does not exist" warning, not a measurement */
    free(eval_ok(ctx, "console.timeEnd('never ended'); 0"));
    cr_assert(collector_has(&logs, "Timer 'never ended' does not exist"));
    jsp_context_free(ctx);
}

Test(call_scope, pending_host_call_is_cleared_and_late_answer_is_harmless)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "globalThis.late = 'unset'; host.call('park').then(v => late = v); 1"));
    cr_assert_eq(parked_count, 1);
    cr_assert(collector_has(&logs, "left 1 pending host call(s)"));
    cr_assert(metrics_have("jspool_leaked_objects_total{runtime=\"0\",kind=\"host_call\"} 1"));
    cr_assert_eq(jsp_host_call_resolve(parked[0], "\"answered\"", 10), 0);
    char *json = eval_ok(ctx, "late");
    cr_assert_str_eq(json, "\"unset\"", "a cleared host call must not reach the JS any more");
    free(json);
    jsp_context_free(ctx);
}

static void record_json(jsp_result *r, void *user)
{
    const char *text = r->code == 0 ? r->json : r->error_message;
    collector_add(user, 0, r->code, text, strlen(text));
    jsp_result_free(r);
}

Test(call_scope, host_call_the_call_awaits_is_not_a_leak)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "function f() { return host.call('park'); }"));
    collector done;
    collector_init(&done);
    cr_assert_eq(jsp_call_async(ctx, "f", NULL, -1, record_json, &done), 0);
    for (int i = 0; i < 1000 && !__atomic_load_n(&parked_count, __ATOMIC_ACQUIRE); i++)
        sleep_ms(1);
    cr_assert_eq(parked_count, 1);
    cr_assert_eq(jsp_host_call_resolve(parked[0], "\"answered\"", 10), 0);
    cr_assert_eq(collector_wait(&done, 1, 5000), 1);
    cr_assert_str_eq(done.texts[0], "\"answered\"");
    cr_assert(!collector_has(&logs, "pending host call"));
    cr_assert(metrics_have("jspool_leaked_objects_total{runtime=\"0\",kind=\"host_call\"} 0"));
    collector_free(&done);
    jsp_context_free(ctx);
}
