/* Every error class a caller can meet comes back as a structured result, never a crash. */
#include "support/support.h"

#include <stdlib.h>

static jsp_pool *pool;
static jsp_context *ctx;

static void setup(void)
{
    pool = pool_for_test(1, NULL, NULL);
    ctx = context_for_test(pool);
}

static void teardown(void)
{
    jsp_context_free(ctx);
    jsp_pool_free(pool);
}

TestSuite(errors, .init = setup, .fini = teardown, .timeout = 60);

Test(errors, js_exception_has_name_message_and_stack)
{
    jsp_result *r;
    cr_assert_eq(eval_error(ctx, "function inner() { throw new RangeError('too far'); }\ninner();", &r),
                 JSP_EJS);
    cr_assert_str_eq(r->error_name, "RangeError");
    cr_assert_str_eq(r->error_message, "too far");
    cr_assert_not_null(r->error_stack);
    cr_assert(strstr(r->error_stack, "inner") != NULL, "stack: %s", r->error_stack);
    cr_assert_eq(r->error_line, 1);
    cr_assert_null(r->json);
    jsp_result_free(r);
}

Test(errors, named_sources_show_their_name_in_stacks)
{
    jsp_result *r;
    cr_assert_eq(jsp_eval_named(ctx, "function inner() {\n  throw new Error('x')\n}\ninner()", -1,
                                "lib/util.js", &r), JSP_EJS);
    cr_expect(strstr(r->error_stack, "inner@lib/util.js:2:"), "stack: %s", r->error_stack);
    jsp_result_free(r);
    cr_assert_eq(jsp_load_module_named(ctx, "export function f() {\n  const v = g(); return v\n}\nfunction g() { throw new TypeError('y') }",
                                       -1, "app.mjs", &r), JSP_OK);
    jsp_result_free(r);
    cr_assert_eq(jsp_call(ctx, "f", "[]", -1, &r), JSP_EJS);
    cr_expect(strstr(r->error_stack, "g@app.mjs:4:") && strstr(r->error_stack, "f@app.mjs:2:"),
              "stack: %s", r->error_stack);
    jsp_result_free(r);
    /* unnamed sources keep the generic names; an empty name is refused */
    cr_assert_eq(eval_error(ctx, "null.x", &r), JSP_EJS);
    cr_expect(strstr(r->error_stack, "@eval:1:"), "stack: %s", r->error_stack);
    jsp_result_free(r);
    cr_expect_eq(jsp_eval_named(ctx, "1", -1, "", &r), JSP_EINVAL);
    jsp_result_free(r);
}

Test(errors, thrown_non_error_value_is_described)
{
    jsp_result *r;
    cr_assert_eq(eval_error(ctx, "throw 'plain string'", &r), JSP_EJS);
    cr_assert_str_eq(r->error_name, "Error");
    cr_assert_str_eq(r->error_message, "plain string");
    jsp_result_free(r);
}

Test(errors, syntax_error_has_line_and_column)
{
    jsp_result *r;
    cr_assert_eq(eval_error(ctx, "var a = 1;\nvar b = 2 +\n    );", &r), JSP_ESYNTAX);
    cr_assert_str_eq(r->error_name, "SyntaxError");
    cr_assert_eq(r->error_line, 3);
    cr_assert_eq(r->error_column, 5);
    jsp_result_free(r);
}

Test(errors, runtime_syntax_error_is_a_js_error_not_a_parse_error)
{
    cr_assert_eq(eval_error(ctx, "JSON.parse('{')", NULL), JSP_EJS);
}

Test(errors, module_syntax_error_reports_module_line)
{
    jsp_result *r = NULL;
    cr_assert_eq(jsp_load_module(ctx, "export function f() {\n  return 1 +;\n}\n", -1, &r), JSP_ESYNTAX);
    cr_assert_eq(r->error_line, 2);
    jsp_result_free(r);
}

Test(errors, unknown_function)
{
    jsp_result *r = NULL;
    cr_assert_eq(jsp_call(ctx, "nope", NULL, -1, &r), JSP_ENOTFOUND);
    cr_assert(strstr(r->error_message, "nope") != NULL);
    jsp_result_free(r);
    free(eval_ok(ctx, "var notAFunction = 3;"));
    cr_assert_eq(jsp_call(ctx, "notAFunction", NULL, -1, &r), JSP_ENOTFOUND);
    jsp_result_free(r);
}

Test(errors, non_serialisable_results)
{
    cr_assert_eq(eval_error(ctx, "(function () {})", NULL), JSP_ENOTJSON);
    cr_assert_eq(eval_error(ctx, "Symbol('s')", NULL), JSP_ENOTJSON);
    cr_assert_eq(eval_error(ctx, "var c = {}; c.self = c; c", NULL), JSP_ENOTJSON);
    cr_assert_eq(eval_error(ctx, "10n", NULL), JSP_ENOTJSON);
    cr_assert_eq(eval_error(ctx, "Promise.resolve(() => 1)", NULL), JSP_ENOTJSON);
}

Test(errors, rejected_promise_is_a_js_error)
{
    jsp_result *r;
    cr_assert_eq(eval_error(ctx, "Promise.reject(new TypeError('nope'))", &r), JSP_EJS);
    cr_assert_str_eq(r->error_name, "TypeError");
    cr_assert_str_eq(r->error_message, "nope");
    jsp_result_free(r);
}

Test(errors, invalid_utf8_is_refused_before_running)
{
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(ctx, "'\xC3\x28'", -1, &r), JSP_EUTF8);
    cr_assert_eq(r->code, JSP_EUTF8);
    jsp_result_free(r);
    cr_assert_eq(jsp_eval(ctx, "'\xED\xA0\x80'", -1, &r), JSP_EUTF8); /* a surrogate */
    jsp_result_free(r);
    cr_assert_eq(jsp_call(ctx, "f\xFF", NULL, -1, &r), JSP_EUTF8);
    jsp_result_free(r);
    cr_assert_eq(jsp_send(ctx, "\"\xC0\xAF\"", -1), JSP_EUTF8); /* overlong */
}

Test(errors, invalid_json_arguments)
{
    free(eval_ok(ctx, "function f() { return 1; }"));
    jsp_result *r = NULL;
    cr_assert_eq(jsp_call(ctx, "f", "[1,", -1, &r), JSP_EJSON);
    jsp_result_free(r);
    cr_assert_eq(jsp_call(ctx, "f", "{\"a\":1}", -1, &r), JSP_EJSON);
    cr_assert(strstr(r->error_message, "array") != NULL);
    jsp_result_free(r);
    cr_assert_eq(jsp_send(ctx, "{nope}", -1), JSP_EJSON);
    cr_assert_eq(jsp_send(ctx, "1 2", -1), JSP_EJSON);
}

Test(errors, invalid_arguments)
{
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(NULL, "1", -1, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_eval(ctx, NULL, -1, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_eval(ctx, "1", -1, NULL), JSP_EINVAL);
    cr_assert_eq(jsp_call(ctx, NULL, NULL, -1, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_call(ctx, "", NULL, -1, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_eval_async(ctx, "1", -1, NULL, NULL), JSP_EINVAL);
    cr_assert_eq(jsp_send(ctx, NULL, -1), JSP_EINVAL);
    jsp_pool *p = NULL;
    jsp_pool_config bad = {.threads = -1};
    cr_assert_eq(jsp_pool_new(&bad, &p), JSP_EINVAL);
    cr_assert_null(p);
    jsp_context_config bad_runtime = {.runtime = 5};
    jsp_context *c = NULL;
    cr_assert_eq(jsp_context_new(pool, &bad_runtime, &c), JSP_EINVAL);
    cr_assert_null(c);
}

Test(errors, destroyed_context_fails_calls_but_handle_stays_valid)
{
    jsp_context *victim = context_for_test(pool);
    jsp_context_destroy(victim);
    jsp_context_destroy(victim); /* idempotent */
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(victim, "1", -1, &r), JSP_EDESTROYED);
    cr_assert_str_eq(r->error_name, "context_destroyed");
    jsp_result_free(r);
    cr_assert_eq(jsp_send(victim, "1", -1), JSP_EDESTROYED);
    jsp_context_free(victim);
}

static void record_code(jsp_result *r, void *user)
{
    collector_add(user, 0, r->code, jsp_error_id(r->code), strlen(jsp_error_id(r->code)));
    jsp_result_free(r);
}

Test(errors, call_pending_on_a_promise_fails_when_its_context_is_destroyed)
{
    jsp_context *victim = context_for_test(pool);
    free(eval_ok(victim, "function never() { return new Promise(() => {}); }"));
    collector done;
    collector_init(&done);
    cr_assert_eq(jsp_call_async(victim, "never", NULL, -1, record_code, &done), 0);
    sleep_ms(20);
    cr_assert_eq(done.count, 0, "a never-settling call completed early");
    jsp_context_destroy(victim);
    cr_assert_eq(collector_wait(&done, 1, 5000), 1);
    cr_assert_eq(done.levels[0], JSP_EDESTROYED);
    jsp_context_free(victim);
    collector_free(&done);
}

Test(errors, call_pending_at_pool_close_fails_with_closed)
{
    jsp_pool *p = pool_for_test(1, NULL, NULL);
    jsp_context *c = context_for_test(p);
    free(eval_ok(c, "function never() { return new Promise(() => {}); }"));
    collector done;
    collector_init(&done);
    cr_assert_eq(jsp_call_async(c, "never", NULL, -1, record_code, &done), 0);
    jsp_pool_free(p);
    cr_assert_eq(done.count, 1);
    cr_assert_eq(done.levels[0], JSP_ECLOSED);
    jsp_context_free(c);
    collector_free(&done);
}

Test(errors, pool_closed_fails_calls_with_closed)
{
    jsp_pool *p = pool_for_test(1, NULL, NULL);
    jsp_context *c = context_for_test(p);
    jsp_pool_free(p);
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(c, "1", -1, &r), JSP_ECLOSED);
    jsp_result_free(r);
    cr_assert_eq(jsp_send(c, "1", -1), JSP_ECLOSED);
    jsp_context_free(c); /* releasing after the pool is gone is fine */
}

Test(errors, hundred_errors_in_a_row_leave_the_context_usable)
{
    for (int i = 0; i < 100; i++)
        cr_assert_eq(eval_error(ctx, i % 2 ? "throw new Error('x')" : "(", NULL),
                     i % 2 ? JSP_EJS : JSP_ESYNTAX);
    char *json = eval_ok(ctx, "1 + 1");
    cr_assert_str_eq(json, "2");
    free(json);
}

Test(errors, strerror_and_ids_are_named)
{
    cr_assert(strstr(jsp_strerror(JSP_EJS), "JSP_EJS") != NULL);
    cr_assert_str_eq(jsp_error_id(JSP_ESYNTAX), "syntax_error");
    cr_assert_str_eq(jsp_strerror(12345), "unknown error");
}
