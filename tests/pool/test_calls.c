/* Calls: eval, modules, calls by name with JSON, Promises awaited, async completion. */
#include "support/support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

SUITE_POOL(2)
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

TestSuite(calls, .init = setup, .fini = teardown, .timeout = 60);

Test(calls, eval_returns_last_expression_as_json)
{
    char *json = eval_ok(ctx, "var o = {a: [1, 'x', true, null]}; o");
    cr_assert_str_eq(json, "{\"a\":[1,\"x\",true,null]}");
    free(json);
}

Test(calls, eval_of_undefined_gives_null)
{
    char *json = eval_ok(ctx, "var x = 1;");
    cr_assert_str_eq(json, "null");
    free(json);
}

Test(calls, eval_keeps_state_between_calls)
{
    free(eval_ok(ctx, "var counter = 41;"));
    char *json = eval_ok(ctx, "++counter");
    cr_assert_str_eq(json, "42");
    free(json);
}

Test(calls, global_function_called_by_name_with_json_arguments)
{
    free(eval_ok(ctx, "function add(a, b) { return {sum: a.n + b}; }"));
    char *json = call_ok(ctx, "add", "[{\"n\": 2}, 3]");
    cr_assert_str_eq(json, "{\"sum\":5}");
    free(json);
}

/* Simple arguments and primitive results skip JSON.parse / JSON.stringify; what JS sees
 * and what the caller gets must not change. */
Test(calls, arguments_and_results_of_every_json_shape_round_trip_exactly)
{
    free(eval_ok(ctx, "function types(...a) { return a.map(x => x === null ? 'null' : "
                      "Object.is(x, -0) ? '-0' : typeof x + ':' + x).join(' '); }"
                      "function id(x) { return x; }"));
    static const struct { const char *args, *seen; } cases[] = {
        {"[1,-2,0,true,false,null]", "\"number:1 number:-2 number:0 boolean:true boolean:false null\""},
        {" [ 123456789012345 , -0 ] ", "\"number:123456789012345 -0\""},
        {"[1234567890123456789]", "\"number:1234567890123456800\""},
        {"[1.5, 1e3, -2E-2, \"7\"]", "\"number:1.5 number:1000 number:-0.02 string:7\""},
        {"[[1],{\"a\":1}]", "\"object:1 object:[object Object]\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *json = call_ok(ctx, "types", cases[i].args);
        cr_expect_str_eq(json, cases[i].seen, "arguments %s", cases[i].args);
        free(json);
    }
    static const struct { const char *args, *result; } results[] = {
        {"[42]", "42"}, {"[-0]", "0"}, {"[9007199254740992]", "9007199254740992"},
        {"[1e21]", "1e+21"}, {"[0.1]", "0.1"}, {"[true]", "true"}, {"[null]", "null"},
        {"[\"\\u00e9\"]", "\"\u00e9\""}, {"[]", "null"},
    };
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        char *json = call_ok(ctx, "id", results[i].args);
        cr_expect_str_eq(json, results[i].result, "id(%s)", results[i].args);
        free(json);
    }
    char *nan = eval_ok(ctx, "NaN");
    cr_expect_str_eq(nan, "null");
    free(nan);
    static const char *bad[] = {"[01]", "[1,]", "[tru]", "[1 2]", "[-]", "[1]x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jsp_result *r = NULL;
        cr_expect_eq(jsp_call(ctx, "id", bad[i], -1, &r), JSP_EJSON, "arguments %s", bad[i]);
        jsp_result_free(r);
    }
}

Test(calls, null_or_empty_arguments_mean_no_arguments)
{
    free(eval_ok(ctx, "function argc() { return arguments.length; }"));
    char *a = call_ok(ctx, "argc", NULL);
    char *b = call_ok(ctx, "argc", "");
    char *c = call_ok(ctx, "argc", " [ ] ");
    cr_assert_str_eq(a, "0");
    cr_assert_str_eq(b, "0");
    cr_assert_str_eq(c, "0");
    free(a);
    free(b);
    free(c);
}

Test(calls, promise_result_is_awaited_across_timers)
{
    free(eval_ok(ctx, "function later(x) { return new Promise(r => setTimeout(() => r(x * 2), 20)); }"));
    char *json = call_ok(ctx, "later", "[21]");
    cr_assert_str_eq(json, "42");
    free(json);
}

Test(calls, async_function_result_is_awaited)
{
    free(eval_ok(ctx, "async function f() { await null; await new Promise(r => setTimeout(r, 5)); return 'done'; }"));
    char *json = call_ok(ctx, "f", NULL);
    cr_assert_str_eq(json, "\"done\"");
    free(json);
}

Test(calls, module_exports_become_callable)
{
    jsp_result *r = NULL;
    const char *src =
        "let n = 0;\n"
        "export function inc(by) { n += by; return n; }\n"
        "export const twice = (x) => x * 2;\n"
        "export default function () { return 'default'; }\n"
        "function hidden() { return 'no'; }\n";
    cr_assert_eq(jsp_load_module(ctx, src, -1, &r), 0, "%s", r->error_message);
    cr_assert_str_eq(r->json, "[\"inc\",\"twice\",\"default\"]");
    jsp_result_free(r);
    char *a = call_ok(ctx, "inc", "[5]");
    char *b = call_ok(ctx, "inc", "[5]");
    char *c = call_ok(ctx, "twice", "[4]");
    char *d = call_ok(ctx, "default", NULL);
    cr_assert_str_eq(a, "5");
    cr_assert_str_eq(b, "10");
    cr_assert_str_eq(c, "8");
    cr_assert_str_eq(d, "\"default\"");
    free(a), free(b), free(c), free(d);
    /* module scope does not leak into the global object */
    char *e = eval_ok(ctx, "typeof hidden + ',' + typeof n");
    cr_assert_str_eq(e, "\"undefined,undefined\"");
    free(e);
    cr_assert_eq(jsp_call(ctx, "hidden", NULL, -1, &r), JSP_ENOTFOUND);
    jsp_result_free(r);
}

Test(calls, module_with_import_is_refused_clearly)
{
    jsp_result *r = NULL;
    cr_assert_eq(jsp_load_module(ctx, "import x from './x.js';\nexport const y = 1;", -1, &r),
                 JSP_EMODULE);
    cr_assert(strstr(r->error_message, "import") != NULL);
    cr_assert_eq(r->error_line, 1);
    jsp_result_free(r);
}

typedef struct async_box {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int done;
    int ok;
} async_box;

static void on_done(jsp_result *r, void *user)
{
    async_box *box = user;
    pthread_mutex_lock(&box->mutex);
    box->done++;
    if (r->code == 0 && strcmp(r->json, "3") == 0)
        box->ok++;
    pthread_cond_signal(&box->cond);
    pthread_mutex_unlock(&box->mutex);
    jsp_result_free(r);
}

Test(calls, async_calls_complete_each_exactly_once)
{
    free(eval_ok(ctx, "function three() { return 3; }"));
    async_box box = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    enum { N = 1000 };
    for (int i = 0; i < N; i++)
        cr_assert_eq(jsp_call_async(ctx, "three", NULL, -1, on_done, &box), 0);
    pthread_mutex_lock(&box.mutex);
    while (box.done < N)
        pthread_cond_wait(&box.cond, &box.mutex);
    pthread_mutex_unlock(&box.mutex);
    sleep_ms(20);
    cr_assert_eq(box.done, N);
    cr_assert_eq(box.ok, N);
}

Test(calls, unicode_round_trips)
{
    char *json = eval_ok(ctx, "'h\xC3\xA9llo \xF0\x9F\x98\x80'");
    cr_assert_str_eq(json, "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"");
    free(json);
    free(eval_ok(ctx, "function echo(x) { return x; }"));
    json = call_ok(ctx, "echo", "[\"\xE2\x82\xAC \\u00e9\"]");
    cr_assert_str_eq(json, "\"\xE2\x82\xAC \xC3\xA9\"");
    free(json);
}

Test(calls, explicit_length_allows_embedded_nul_in_strings)
{
    const char src[] = "'a\0b'.length";
    jsp_result *r = NULL;
    cr_assert_eq(jsp_eval(ctx, src, (long)sizeof(src) - 1, &r), 0);
    cr_assert_str_eq(r->json, "3");
    jsp_result_free(r);
}

Test(calls, context_identity_is_stable)
{
    jsp_context *named = NULL;
    jsp_context_config cfg = {.name = "billing"};
    cr_assert_eq(jsp_context_new(pool, &cfg, &named), 0);
    cr_assert_str_eq(jsp_context_name(named), "billing");
    cr_assert_neq(jsp_context_id(named), jsp_context_id(ctx));
    cr_assert_neq(jsp_context_id(named), 0);
    jsp_context_free(named);
}

/* Records each host.send value prefixed with the tag on_message saw: "7 {...}". */
static void collect_tagged(jsp_pool *p, uint64_t context_id, const char *json, size_t len, void *user)
{
    (void)p;
    char text[128];
    int n = snprintf(text, sizeof(text), "%llu %.*s", (unsigned long long)jsp_message_tag(), (int)len, json);
    collector_add(user, context_id, 0, text, (size_t)n);
}

Test(calls, a_tagged_message_tags_what_its_handler_sends)
{
    collector sent;
    collector_init(&sent);
    jsp_pool *tagged_pool = NULL;
    jsp_pool_config cfg = {.threads = 1, .on_message = collect_tagged, .message_user = &sent};
    cr_assert_eq(jsp_pool_new(&cfg, &tagged_pool), 0);
    jsp_context *c = context_for_test(tagged_pool);
    free(eval_ok(c, "onmessage = async e => { host.send(e.data); await null; host.send(e.data + 1);"
                    " setTimeout(() => host.send(e.data + 2), 0) }; 0"));
    cr_assert_eq(jsp_send_tagged(c, "10", -1, 7), 0);
    cr_assert_eq(jsp_send(c, "20", -1), 0);
    cr_assert_eq(collector_wait(&sent, 6, 5000), 6);
    /* the handler's own sends (after an await of a settled value too) carry the tag; the
       timer's and the untagged message's do not */
    cr_expect(collector_has(&sent, "7 10") && collector_has(&sent, "7 11") && collector_has(&sent, "0 12"));
    cr_expect(collector_has(&sent, "0 20") && collector_has(&sent, "0 21") && collector_has(&sent, "0 22"));
    cr_expect_eq(jsp_message_tag(), 0, "outside the callback there is no tag");
    jsp_context_free(c);
    jsp_pool_free(tagged_pool);
    collector_free(&sent);
}

/* Calls run inside a host entry that belongs to the runtime (a pass of calls in one VM
 * entry, or the per-call trampoline): a tenant's sloppy function must not reach anything
 * of it through `.caller` — a function of another realm would hand out that realm's
 * Function constructor. Many calls queued at once, so they run in one pass. */
typedef struct caller_probe {
    pthread_mutex_t lock;
    int done, leaked;
    char first[200];
} caller_probe;

static void caller_done(jsp_result *r, void *user)
{
    caller_probe *p = user;
    pthread_mutex_lock(&p->lock);
    if (r->code != 0 || strcmp(r->json, "\"null\"") != 0) {
        if (!p->leaked++)
            snprintf(p->first, sizeof(p->first), "%s", r->code ? r->error_message : r->json);
    }
    p->done++;
    pthread_mutex_unlock(&p->lock);
    jsp_result_free(r);
}

Test(calls, a_function_called_by_the_host_sees_no_caller)
{
    jsp_context *probed = NULL;
    jsp_context_config cfg = {.cpu_limit_ms = 1000}; /* the watchdog armed: batched entries */
    cr_assert_eq(jsp_context_new(pool, &cfg, &probed), 0);
    expect_eval(probed, "function probe() { const c = probe.caller;"
                     " return c === null ? 'null' : typeof c + ':' + String(c).slice(0, 60) +"
                     " ':' + (c.constructor === Function); } 1", "1");
    caller_probe p = {.lock = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 0; i < 200; i++)
        cr_assert_eq(jsp_call_async(probed, "probe", "[]", -1, caller_done, &p), 0);
    for (int waited = 0; waited < 5000; waited++) {
        pthread_mutex_lock(&p.lock);
        int done = p.done;
        pthread_mutex_unlock(&p.lock);
        if (done == 200)
            break;
        usleep(1000);
    }
    cr_expect_eq(p.done, 200);
    cr_expect_eq(p.leaked, 0, "%d calls saw a caller, first: %s", p.leaked, p.first);
    jsp_context_free(probed);
}
