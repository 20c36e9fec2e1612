/* Every error class a caller can meet comes back as a structured result, never a crash. */
#include "support/support.h"

#include <stdlib.h>

SUITE_POOL(1)
static jsp_context *ctx;

static void setup(void)
{
    suite_pool_setup();
    ctx = context_for_test(pool);
}

static void teardown(void)
{
    jsp_context_free(ctx);
    suite_pool_teardown();
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

/* One error table (src/util/error_table.h) behind the enum, the messages, the HTTP
 * statuses and the metric outcomes; docs/errors.md must list each code with the same id,
 * status and outcome, and the public enum may hold no code the table lacks. */
#include "util/error_table.h"

#include <ctype.h>
#include <stdio.h>

static char *read_source_file(const char *relative)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", JSP_SOURCE_DIR, relative);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* The doc's row for `name` (number), as its text up to the end of the line. */
static const char *doc_row(const char *doc, const char *name, int number, char *row, size_t len)
{
    char start[80];
    snprintf(start, sizeof(start), "\n| `%s` (%d) |", name, number);
    const char *at = strstr(doc, start);
    if (!at)
        return NULL;
    at++;
    size_t n = strcspn(at, "\n");
    snprintf(row, len, "%.*s", (int)n, at);
    return row;
}

Test(errors, error_table_matches_docs_and_header)
{
    char *doc = read_source_file("docs/errors.md");
    char row[2048], cell[160];
    int listed = 0;
#define CHECK_ROW(code, number, id, status, outcome, message)                                   \
    if ((code) != JSP_OK) {                                                                     \
        char lower[32];                                                                         \
        size_t i = 0;                                                                           \
        for (; #outcome[i] && i < sizeof(lower) - 1; i++)                                       \
            lower[i] = (char)tolower((unsigned char)#outcome[i]);                               \
        lower[i] = '\0';                                                                        \
        cr_assert_not_null(doc_row(doc, #code, number, row, sizeof(row)),                       \
                           "docs/errors.md has no row `%s` (%d)", #code, number);              \
        snprintf(cell, sizeof(cell), "| `%s` (%d) | `%s` | %d | `%s` |", #code, number, id,     \
                 status, lower);                                                                \
        cr_assert(strncmp(row, cell, strlen(cell)) == 0, "row of %s should start %s:\n%s",      \
                  #code, cell, row);                                                            \
        cr_assert_str_eq(jsp_error_id(code), id);                                               \
        cr_assert(strncmp(jsp_strerror(code), #code ": ", strlen(#code) + 2) == 0);             \
        listed++;                                                                               \
    }
    JSP_ERROR_TABLE(CHECK_ROW)
#undef CHECK_ROW
    /* no row for a code the table does not have */
    int rows = 0;
    for (const char *at = strstr(doc, "\n| `JSP_E"); at; at = strstr(at + 1, "\n| `JSP_E")) {
        char name[64];
        int number;
        cr_assert_eq(sscanf(at, "\n| `%63[A-Z0-9_]` (%d)", name, &number), 2);
        cr_assert_str_neq(jsp_error_id(number), JSP_ERROR_UNKNOWN_ID, "stale doc row %s", name);
        rows++;
    }
    cr_assert_eq(rows, listed);
    free(doc);

    /* every code of the public enum is in the table, under the same name */
    char *header = read_source_file("include/jspool.h");
    const char *begin = strstr(header, "enum {\n    JSP_OK = 0,");
    cr_assert_not_null(begin);
    const char *end = strstr(begin, "};");
    int codes = 0;
    for (const char *at = strstr(begin, "JSP_E"); at && at < end; at = strstr(at + 1, "\n    JSP_E")) {
        if (*at == '\n')
            at += 5;
        char name[64];
        int number;
        cr_assert_eq(sscanf(at, "%63[A-Z0-9_] = %d,", name, &number), 2, "cannot read %.40s", at);
        const char *text = jsp_strerror(number);
        cr_assert(strncmp(text, name, strlen(name)) == 0 && text[strlen(name)] == ':',
                  "%s = %d is not in src/util/error_table.h (%s)", name, number, text);
        codes++;
    }
    cr_assert_eq(codes, listed, "the enum has %d codes, the table %d", codes, listed);
    free(header);
}

/* Handle magic (src/pool/api_guard.h): a handle jspool did not make, or one its owner
 * freed while the library still holds the memory, is refused at the API boundary. */

static void never_done(jsp_result *result, void *user)
{
    cr_assert_fail("a call on a refused handle completed");
}

static void never_called(jsp_host_call *call, void *user)
{
}

/* Every entry point given `junk` as a handle: refused, and the memory left untouched. */
static void expect_refused(unsigned char *junk, size_t size, unsigned char fill)
{
    jsp_context *fake = (jsp_context *)junk;
    jsp_pool *fake_pool = (jsp_pool *)junk;
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(fake, "1", -1, &r), JSP_EINVAL);
    cr_assert_eq(r->code, JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_call(fake, "f", "[]", -1, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_global_get(fake, "x", &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_globals_reset(fake, &r), JSP_EINVAL);
    jsp_result_free(r);
    cr_assert_eq(jsp_eval_async(fake, "1", -1, never_done, NULL), JSP_EINVAL);
    cr_assert_eq(jsp_call_async(fake, "f", "[]", -1, never_done, NULL), JSP_EINVAL);
    cr_assert_eq(jsp_send(fake, "1", -1), JSP_EINVAL);
    cr_assert_eq(jsp_context_id(fake), 0);
    cr_assert_null(jsp_context_name(fake));
    cr_assert_null(jsp_context_namespace(fake));
    cr_assert_eq(jsp_context_runtime(fake), -1);
    cr_assert_eq(jsp_context_generation(fake), 0);
    jsp_memory_usage memory;
    cr_assert_eq(jsp_context_memory(fake, &memory), JSP_EINVAL);
    jsp_cpu_usage cpu;
    cr_assert_eq(jsp_context_cpu(fake, &cpu), JSP_EINVAL);
    jsp_context_destroy(fake);
    jsp_context_free(fake);

    jsp_context *made = NULL;
    cr_assert_eq(jsp_context_new(fake_pool, NULL, &made), JSP_EINVAL);
    cr_assert_null(made);
    cr_assert_eq(jsp_pool_register(fake_pool, "f", never_called, NULL), JSP_EINVAL);
    cr_assert_null(jsp_pool_metrics(fake_pool));
    cr_assert_eq(jsp_pool_threads(fake_pool), 0);
    cr_assert_eq(jsp_pool_workers(fake_pool, NULL, 0), 0);
    jsp_pool_free(fake_pool);
    for (size_t i = 0; i < size; i++)
        cr_assert_eq(junk[i], fill, "byte %zu of the fake handle was written", i);
}

Test(errors, handles_jspool_did_not_make_are_refused)
{
    enum { SIZE = 4096 }; /* larger than either handle: nothing reads past it */
    unsigned char *junk = calloc(1, SIZE);
    cr_assert_not_null(junk);
    expect_refused(junk, SIZE, 0);
    memset(junk, 0xa5, SIZE);
    expect_refused(junk, SIZE, 0xa5);
    free(junk);
}

Test(errors, pool_freed_by_its_owner_is_refused_while_its_contexts_keep_it)
{
    jsp_pool *other = pool_for_test(1, NULL, NULL);
    jsp_context *kept = context_for_test(other); /* holds a reference on the pool */
    jsp_pool_free(other);
    jsp_context *late = NULL;
    cr_assert_eq(jsp_context_new(other, NULL, &late), JSP_EINVAL); /* not JSP_ECLOSED */
    cr_assert_eq(jsp_pool_threads(other), 0);
    cr_assert_null(jsp_pool_metrics(other));
    jsp_pool_free(other); /* a second free does nothing (it used to drop the context's
                             reference and free the pool under it) */
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(kept, "1", -1, &r), JSP_ECLOSED);
    jsp_result_free(r);
    jsp_context_free(kept); /* the last reference: the pool goes now */
}

Test(errors, context_freed_by_its_owner_is_refused_while_its_jobs_keep_it)
{
    collector own_messages;
    collector_init(&own_messages);
    jsp_pool *one = pool_for_test(1, &own_messages, NULL);
    jsp_context *busy = context_for_test(one);
    jsp_context *freed = context_for_test(one);
    /* The one runtime thread is held by `busy`, so the destroy job of `freed` (which
     * holds a reference on it) waits behind it and its memory stays. */
    later_eval *run = eval_later(busy, "host.send('running'); const t = Date.now(); while (Date.now() - t < 500) {} 1");
    cr_assert_eq(collector_wait(&own_messages, 1, 10000), 1);
    jsp_context_free(freed);
    cr_assert_eq(jsp_eval_async(freed, "1", -1, never_done, NULL), JSP_EINVAL); /* not EDESTROYED */
    cr_assert_eq(jsp_send(freed, "1", -1), JSP_EINVAL);
    cr_assert_eq(jsp_context_id(freed), 0);
    jsp_context_free(freed); /* a second free does nothing */
    cr_assert(later_is_done(run, 10000));
    cr_assert_eq(run->result->code, 0);
    later_free(run);
    jsp_context_free(busy);
    jsp_pool_free(one);
    collector_free(&own_messages);
}
