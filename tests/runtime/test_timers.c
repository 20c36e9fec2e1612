/* Timers, microtasks, console and messaging as a user of the JS side sees them, and the
 * cap on live timers per context. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>

SUITE_POOL(2)

TestSuite(timers, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 120);

Test(timers, timeouts_fire_in_delay_then_creation_order)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx,
                         "new Promise(done => { const seen = [];"
                         " setTimeout(() => seen.push('c'), 30);"
                         " setTimeout(() => seen.push('a'), 0);"
                         " setTimeout(() => seen.push('b'), 0);"
                         " queueMicrotask(() => seen.push('micro'));"
                         " setTimeout(() => done(seen), 60); })");
    cr_assert_str_eq(json, "[\"micro\",\"a\",\"b\",\"c\"]");
    free(json);
    jsp_context_free(ctx);
}

Test(timers, timeout_passes_extra_arguments_and_returns_an_id)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "new Promise(r => { const id = setTimeout((a, b) => r([typeof id, a + b]), 1, 2, 3); })");
    cr_assert_str_eq(json, "[\"number\",5]");
    free(json);
    jsp_context_free(ctx);
}

Test(timers, interval_repeats_until_cleared)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx,
                         "new Promise(r => { let n = 0; const id = setInterval(() => {"
                         " if (++n === 5) { clearInterval(id); setTimeout(() => r(n), 30); } }, 2); })");
    cr_assert_str_eq(json, "5");
    free(json);
    jsp_context_free(ctx);
}

Test(timers, cleared_timeout_never_fires)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx,
                         "new Promise(r => { let fired = false; const id = setTimeout(() => fired = true, 5);"
                         " clearTimeout(id); clearTimeout(999); clearTimeout('x');"
                         " setTimeout(() => r(fired), 30); })");
    cr_assert_str_eq(json, "false");
    free(json);
    jsp_context_free(ctx);
}

Test(timers, string_callbacks_are_refused)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "try { setTimeout('1+1', 0) } catch (e) { e.name }");
    cr_assert_str_eq(json, "\"TypeError\"");
    free(json);
    jsp_context_free(ctx);
}

Test(timers, exception_in_timer_is_logged_and_context_survives)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "setTimeout(() => { throw new Error('tick failed') }, 1); 0"));
    cr_assert(collector_wait_for(&logs, "tick failed", 5000));
    char *json = eval_ok(ctx, "'alive'");
    cr_assert_str_eq(json, "\"alive\"");
    free(json);
    jsp_context_free(ctx);
}

Test(timers, destroying_a_context_cancels_its_timers)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "setInterval(() => host.send('tick'), 1); 0"));
    sleep_ms(20);
    jsp_context_free(ctx);
    sleep_ms(20);
    size_t after_destroy = collector_wait(&messages, 0, 0);
    sleep_ms(30);
    cr_assert_eq(collector_wait(&messages, 0, 0), after_destroy);
}

Test(timers, console_goes_to_the_log_callback_with_the_context_id)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "console.log('hello', 42, {a: 1}, [2], null, undefined); console.warn('careful');"
                      "console.error(new TypeError('bad')); 0"));
    cr_assert_eq(collector_wait(&logs, 3, 2000), 3);
    cr_assert_str_eq(logs.texts[0], "hello 42 { a: 1 } [ 2 ] null undefined");
    cr_assert_eq(logs.levels[0], JSP_LOG_INFO);
    cr_assert_eq(logs.context_ids[0], jsp_context_id(ctx));
    cr_assert_eq(logs.levels[1], JSP_LOG_WARN);
    cr_assert_eq(logs.levels[2], JSP_LOG_ERROR);
    cr_assert(strstr(logs.texts[2], "TypeError: bad") != NULL, "%s", logs.texts[2]);
    jsp_context_free(ctx);
}

Test(timers, send_reaches_onmessage_and_host_send_reaches_the_pool)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "onmessage = (e) => host.send({echo: e.data}); 0"));
    cr_assert_eq(jsp_send(ctx, "{\"n\":1}", -1), 0);
    cr_assert_eq(collector_wait(&messages, 1, 2000), 1);
    cr_assert_str_eq(messages.texts[0], "{\"echo\":{\"n\":1}}");
    cr_assert_eq(messages.context_ids[0], jsp_context_id(ctx));
    jsp_context_free(ctx);
}

Test(timers, message_without_handler_is_dropped_and_logged)
{
    jsp_context *ctx = context_for_test(pool);
    cr_assert_eq(jsp_send(ctx, "1", -1), 0);
    free(eval_ok(ctx, "0")); /* the message ran before this */
    cr_assert(collector_has(&logs, "no onmessage"));
    jsp_context_free(ctx);
}

Test(timers, messages_arrive_during_a_pending_host_call_promise)
{
    jsp_context *ctx = context_for_test(pool);
    free(eval_ok(ctx, "var got = []; onmessage = (e) => got.push(e.data);"
                      "function waitFor(n) { return new Promise(r => { const t = setInterval(() => {"
                      " if (got.length >= n) { clearInterval(t); r(got); } }, 1); }); } 0"));
    jsp_result *r = NULL;
    collector done;
    collector_init(&done);
    for (int i = 0; i < 10; i++) {
        char json[16];
        snprintf(json, sizeof(json), "%d", i);
        cr_assert_eq(jsp_send(ctx, json, -1), 0);
    }
    cr_assert_eq(jsp_call(ctx, "waitFor", "[10]", -1, &r), 0);
    cr_assert_str_eq(r->json, "[0,1,2,3,4,5,6,7,8,9]");
    jsp_result_free(r);
    collector_free(&done);
    jsp_context_free(ctx);
}

Test(timers, live_timers_are_capped_per_context_and_clearing_frees_slots)
{
    jsp_context *ctx = context_for_test(pool), *sibling = context_for_test(pool);
    /* 20,000 asked for: the first 10,000 (the default cap) are made, then every further one
     * throws a RangeError naming the cap */
    char *json = eval_ok(ctx, "globalThis.ids = []; let errors = 0, last;"
                              "for (let i = 0; i < 20000; i++) {"
                              "  try { ids.push(setTimeout(() => {}, 1e9)); } catch (e) { errors++; last = e; } }"
                              "try { setInterval(() => {}, 1e9); } catch (e) { errors++; }"
                              "[ids.length, errors, last instanceof RangeError, last.message]");
    cr_expect_str_eq(json, "[10000,10001,true,\"setTimeout: too many live timers in this context "
                           "(max_timers_per_context); clear some first\"]");
    free(json);
    /* the sibling has its own count; the capped context still runs everything else */
    json = eval_ok(sibling, "new Promise((r) => setTimeout(() => r('fired'), 1))");
    cr_expect_str_eq(json, "\"fired\"");
    free(json);
    /* cleared (and fired) timers give their slots back */
    json = eval_ok(ctx, "ids.slice(0, 5000).forEach(clearTimeout);"
                        "for (let i = 0; i < 5000; i++) setTimeout(() => {}, 1e9);"
                        "let refused = false; try { setTimeout(() => {}, 0) } catch (e) { refused = true }"
                        "ids.forEach(clearTimeout); refused");
    cr_expect_str_eq(json, "true");
    free(json);
    json = eval_ok(ctx, "new Promise((r) => setTimeout(() => r('usable'), 1))");
    cr_expect_str_eq(json, "\"usable\"");
    free(json);
    jsp_context_free(ctx);
    jsp_context_free(sibling);
}
