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

/* Issue 9, item 1: a module that tries to leave its wrapper (top-level return, unmatched
 * brackets, a source ending inside a comment or literal that would swallow the wrapper's
 * tail, script-only HTML comments) is a syntax error at its own line and column; the
 * context keeps its previous module and it and its sibling keep working. Each source
 * would set `escaped` on the global if any of its code ran outside the module scope. */
Test(errors, module_escaping_its_wrapper_is_a_syntax_error_and_nothing_breaks)
{
    jsp_context *sibling = context_for_test(pool);
    jsp_result *r = NULL;
    cr_assert_eq(jsp_load_module(ctx, "export function kept() { return 'kept' }", -1, &r), 0);
    jsp_result_free(r);
    const struct { const char *src; int line, column; } cases[] = {
        { "export function f(){return 1}\nreturn;", 2, 1 },
        { "export function f(){return 1}\nif (1) return; globalThis.escaped = 1", 2, 8 },
        { "export function f(){return 1}\n}); globalThis.escaped = 1; (function(){", 2, 1 },
        { "export function f(){return 1}\n} + function(){ globalThis.escaped = 1 }; {", 2, 1 },
        { "export function f(){return 1}\n}}; globalThis.escaped = 1;//", 2, 1 },
        { "export function f(){return 1}\n/*", 2, 1 },
        { "export function f(){return 1}\nconst s = `", 2, 11 },
        { "export function f(){return 1}\nconst s = `${", 2, 11 },
        { "export function f(){return 1}\nconst s = '", 2, 11 },
        { "export function f(){return 1}\nconst r = /[/", 2, 11 },
        { "function f(){return 1}\nexport { f as \"*/\" }; /*", 2, 23 },
        { "export function f(){return 1}\nnew.target", 2, 1 },
        { "export function f(){return 1}\n  yield 1", 2, 3 },
        { "export function f(){return 1}\n  super.x()", 2, 3 },
        { "export function f(){return 1}\nawait f()", 2, 1 },
        { "export function f(){return 1}\nx = 1 <!-- }); globalThis.escaped = 1; (function(){", 2, 7 },
        { "export function f(){return 1}\n--> }); globalThis.escaped = 1; (function(){", 2, 1 },
        { "export function f(){return 1}\nfunction g() {\n  if (1) {", 3, 10 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        r = NULL;
        int rc = jsp_load_module(ctx, cases[i].src, -1, &r);
        cr_assert_eq(rc, JSP_ESYNTAX, "<%s> gave %d: %s", cases[i].src, rc, r->error_message);
        cr_expect_str_eq(r->error_name, "SyntaxError");
        cr_expect_eq(r->error_line, cases[i].line, "<%s>: %s", cases[i].src, r->error_message);
        cr_expect_eq(r->error_column, cases[i].column, "<%s>: %s", cases[i].src, r->error_message);
        jsp_result_free(r);
        /* No export of the refused module is callable; the previous module's are. */
        r = NULL;
        cr_expect_eq(jsp_call(ctx, "f", NULL, -1, &r), JSP_ENOTFOUND, "<%s>", cases[i].src);
        jsp_result_free(r);
        char *json = call_ok(ctx, "kept", NULL);
        cr_expect_str_eq(json, "\"kept\"");
        free(json);
    }
    char *json = eval_ok(ctx, "typeof escaped");
    cr_expect_str_eq(json, "\"undefined\"", "some module code ran outside its scope");
    free(json);
    json = eval_ok(sibling, "1 + 1");
    cr_expect_str_eq(json, "2");
    free(json);
    jsp_context_free(sibling);
}

/* What a module's top level sees is what a real module's would: `this` is undefined, a
 * comment, template or regex with brackets at the very end does not break the wrapper. */
Test(errors, module_top_level_edge_cases_load_as_modules)
{
    jsp_result *r = NULL;
    const char *src = "const t = this;\n"
                      "export function f() { return [t === undefined, `${'}'}`, /[})]/.source]; }\n"
                      "export const g = () => 'g' // }";
    cr_assert_eq(jsp_load_module(ctx, src, -1, &r), 0, "%s", r->error_message);
    cr_expect_str_eq(r->json, "[\"f\",\"g\"]");
    jsp_result_free(r);
    char *json = call_ok(ctx, "f", NULL);
    cr_expect_str_eq(json, "[true,\"}\",\"[})]\"]");
    free(json);
    json = call_ok(ctx, "g", NULL);
    cr_expect_str_eq(json, "\"g\"");
    free(json);
}
