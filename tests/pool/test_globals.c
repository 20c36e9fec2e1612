/* Globals without eval: get, list, snapshot and reset to a baseline; and isolation of
 * globals and built-ins between contexts. */
#include "support/support.h"

#include <stdlib.h>
#include <string.h>

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

TestSuite(globals, .init = setup, .fini = teardown, .timeout = 120);

Test(globals, get_returns_json_or_not_found)
{
    free(eval_ok(ctx, "globalThis.config = {mode: 'fast', n: [1, 2]};"));
    jsp_result *r = NULL;
    cr_assert_eq(jsp_global_get(ctx, "config", &r), 0);
    cr_assert_str_eq(r->json, "{\"mode\":\"fast\",\"n\":[1,2]}");
    jsp_result_free(r);
    cr_assert_eq(jsp_global_get(ctx, "missing", &r), JSP_ENOTFOUND);
    jsp_result_free(r);
    cr_assert_eq(jsp_global_get(ctx, "setTimeout", &r), JSP_ENOTJSON);
    jsp_result_free(r);
}

Test(globals, get_does_not_run_tampered_json)
{
    free(eval_ok(ctx, "JSON.stringify = () => { throw new Error('hijacked') }; globalThis.v = [1];"));
    jsp_result *r = NULL;
    cr_assert_eq(jsp_global_get(ctx, "v", &r), 0);
    cr_assert_str_eq(r->json, "[1]");
    jsp_result_free(r);
}

Test(globals, list_includes_builtins_host_api_and_user_globals)
{
    free(eval_ok(ctx, "globalThis.mine = 1;"));
    jsp_result *r = NULL;
    cr_assert_eq(jsp_globals_list(ctx, &r), 0);
    cr_assert(strstr(r->json, "\"Array\"") && strstr(r->json, "\"host\"") &&
              strstr(r->json, "\"setTimeout\"") && strstr(r->json, "\"mine\""), "%s", r->json);
    jsp_result_free(r);
}

Test(globals, reset_deletes_what_was_added_since_snapshot)
{
    free(eval_ok(ctx, "globalThis.keep = 1;"));
    jsp_result *r = NULL;
    cr_assert_eq(jsp_globals_snapshot(ctx, &r), 0);
    cr_assert(strstr(r->json, "\"keep\"") != NULL);
    jsp_result_free(r);
    free(eval_ok(ctx, "globalThis.added = 2; var declared = 3;"));
    cr_assert_eq(jsp_globals_reset(ctx, &r), 0);
    cr_assert_str_eq(r->json, "{\"deleted\":[\"added\"],\"kept\":[\"declared\"]}");
    jsp_result_free(r);
    char *json = eval_ok(ctx, "[typeof keep, typeof added, typeof declared]");
    cr_assert_str_eq(json, "[\"number\",\"undefined\",\"undefined\"]");
    free(json);
}

Test(globals, reset_without_snapshot_returns_to_a_fresh_context)
{
    free(eval_ok(ctx, "globalThis.a = 1; globalThis.b = 2; Object.prototype.polluted = 1;"));
    jsp_result *r = NULL;
    cr_assert_eq(jsp_globals_reset(ctx, &r), 0);
    cr_assert_str_eq(r->json, "{\"deleted\":[\"a\",\"b\"],\"kept\":[]}");
    jsp_result_free(r);
    char *json = eval_ok(ctx, "typeof setTimeout + typeof host + typeof a");
    cr_assert_str_eq(json, "\"functionobjectundefined\"");
    free(json);
}

Test(globals, a_global_set_in_one_context_is_invisible_in_99_others)
{
    enum { N = 100 };
    jsp_context *ctxs[N];
    for (int i = 0; i < N; i++)
        ctxs[i] = context_for_test(pool);
    free(eval_ok(ctxs[0], "globalThis.secret = 'mine'; var alsoSecret = 1;"));
    for (int i = 1; i < N; i++) {
        char *json = eval_ok(ctxs[i], "typeof secret + typeof alsoSecret");
        cr_assert_str_eq(json, "\"undefinedundefined\"", "context %d sees a sibling's global", i);
        free(json);
    }
    for (int i = 0; i < N; i++)
        jsp_context_free(ctxs[i]);
}

Test(globals, prototype_pollution_and_builtin_tampering_stay_inside)
{
    jsp_context *other = context_for_test(pool);
    jsp_context_config same_runtime = {.runtime = jsp_context_runtime(ctx) + 1};
    jsp_context *neighbour = NULL;
    cr_assert_eq(jsp_context_new(pool, &same_runtime, &neighbour), 0);
    free(eval_ok(ctx, "Object.prototype.x = 1; Array.prototype.push = null; JSON.parse = null;"
                      "Math.max = () => -1; delete globalThis.setTimeout; 0"));
    jsp_context *peers[2] = {other, neighbour};
    for (int i = 0; i < 2; i++) {
        char *json = eval_ok(peers[i], "var a = []; a.push(1); [({}).x, a.length, JSON.parse('2'), "
                                       "Math.max(1, 3), typeof setTimeout]");
        cr_assert_str_eq(json, "[null,1,2,3,\"function\"]");
        free(json);
    }
    jsp_context_free(other);
    jsp_context_free(neighbour);
}

/* A context's natives and group accessors are installed by the first operation that reads
 * or runs anything in it (engine_ctx_ready), not at creation. Whatever comes first — the
 * host's inspection, a reset, an eval — finds them all there, and JSC's own console
 * (which writes to the process's stderr) is never the one guest code sees. Groups no
 * spare was built for, so that each context starts bare. */
Test(globals, a_context_is_complete_at_its_first_use_whatever_it_is)
{
    const char *first_uses[] = {"list", "reset", "eval"};
    for (int i = 0; i < 3; i++) {
        jsp_context_config cfg = {.apis = i == 0 ? "timers,url" : i == 1 ? "timers,encoding" : "timers,crypto"};
        jsp_context *fresh = NULL;
        cr_assert_eq(jsp_context_new(pool, &cfg, &fresh), 0);
        jsp_result *r = NULL;
        if (i == 0) {
            cr_assert_eq(jsp_globals_list(fresh, &r), 0);
            cr_expect(strstr(r->json, "\"setTimeout\"") && strstr(r->json, "\"URL\"") &&
                          strstr(r->json, "\"host\""), "%s", r->json);
            jsp_result_free(r);
        } else if (i == 1) {
            cr_assert_eq(jsp_globals_reset(fresh, &r), 0);
            cr_expect_str_eq(r->json, "{\"deleted\":[],\"kept\":[]}");
            jsp_result_free(r);
        }
        /* The eval that installs them may be the guest's first code, and it tampers
         * first: the install captured Object.defineProperty and getOwnPropertyNames
         * before it ran, so the group's globals are not defined through the guest's
         * function and the host still lists the globals. */
        char *json = eval_ok(fresh, "const seen = [], define = Object.defineProperty;"
                                    " Object.defineProperty = (o, n, d) => { if (o === globalThis) seen.push(n); return define(o, n, d); };"
                                    " Object.getOwnPropertyNames = () => [];"
                                    " [typeof setTimeout, typeof host.call, typeof console,"
                                    " typeof (globalThis.URL || globalThis.TextEncoder || globalThis.Crypto), seen]");
        cr_expect_str_eq(json, "[\"function\",\"function\",\"undefined\",\"function\",[]]", "first use: %s",
                         first_uses[i]);
        free(json);
        jsp_result *list = NULL;
        cr_assert_eq(jsp_globals_list(fresh, &list), 0);
        cr_expect(strstr(list->json, "\"setTimeout\"") != NULL, "%s", list->json);
        jsp_result_free(list);
        jsp_context_free(fresh);
    }
}

/* A context created and freed without ever being used leaves nothing behind (ASan). */
Test(globals, a_context_never_used_frees_cleanly)
{
    for (int i = 0; i < 50; i++) {
        jsp_context_config cfg = {.apis = i % 2 ? "url" : "encoding"};
        jsp_context *unused = NULL;
        cr_assert_eq(jsp_context_new(pool, &cfg, &unused), 0);
        jsp_context_free(unused);
    }
    char *json = eval_ok(ctx, "typeof setTimeout");
    cr_expect_str_eq(json, "\"function\"");
    free(json);
}
