/* The storage group: localStorage and sessionStorage as the Web Storage standard says
 * (the Storage methods and the items as properties, string conversion, the quota and its
 * QuotaExceededError that writes nothing), the same in a context's heap and in its store;
 * localStorage kept in the store survives the context and rolls back with a failed call;
 * one context never sees another's; many or long keys cannot get past the quota. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>

SUITE_POOL(1)

static temp_store stores[2];

static void setup(void)
{
    suite_pool_setup();
    temp_store_make(&stores[0], "storage");
    temp_store_make(&stores[1], "storage");
}

static void teardown(void)
{
    suite_pool_teardown();
    temp_store_remove(&stores[0]);
    temp_store_remove(&stores[1]);
}

TestSuite(storage, .init = setup, .fini = teardown, .timeout = 120);

/* A storage context; with a store (the file of stores[store]) when store >= 0. */
static jsp_context *storage_context(int store, uint64_t quota)
{
    jsp_context_config cfg = {.apis = "storage", .storage_quota = quota,
                              .store_path = store >= 0 ? stores[store].path : NULL};
    return context_with(pool, &cfg);
}

/* The same expectations for localStorage in the heap, in a store, and sessionStorage. */
static void each_area(void (*check)(jsp_context *ctx, const char *area))
{
    jsp_context *memory = storage_context(-1, 0), *stored = storage_context(0, 0);
    check(memory, "localStorage");
    check(memory, "sessionStorage");
    check(stored, "localStorage");
    check(stored, "sessionStorage");
    jsp_context_free(memory);
    jsp_context_free(stored);
}

static void expect_area(jsp_context *ctx, const char *area, const char *body, const char *json)
{
    char source[2048];
    snprintf(source, sizeof(source), "(() => { const s = %s; s.clear(); %s })()", area, body);
    expect_eval(ctx, source, json);
}

static void property_forms(jsp_context *ctx, const char *area)
{
    expect_area(ctx, area,
                "s.foo = 'bar'; s.setItem('n', 1);"
                "return [s.foo, s.getItem('foo'), 'foo' in s, 'nope' in s, s.nope, s.length,"
                "        Object.keys(s).sort(), s.hasOwnProperty('foo')];",
                "[\"bar\",\"bar\",true,false,null,2,[\"foo\",\"n\"],true]");
    expect_area(ctx, area,
                "s.foo = 'bar'; const deleted = delete s.foo; const again = delete s.foo;"
                "s.a = 1; s.removeItem('a'); s.removeItem('never');"
                "return [deleted, again, s.getItem('foo'), s.length, 'foo' in s];",
                "[true,true,null,0,false]");
    /* numeric-like keys are strings: s[0] is item "0" */
    expect_area(ctx, area,
                "s[0] = 'zero'; s.setItem(1.5, 'x');"
                "return [s.getItem('0'), s['0'], s[0], s.getItem('1.5'), s[1.5], s.length];",
                "[\"zero\",\"zero\",\"zero\",\"x\",\"x\",2]");
    /* the prototype's names win on read; a write still stores the item */
    expect_area(ctx, area,
                "s.setItem('getItem', 'shadow'); s.setItem('length', '99'); s.key = 'k';"
                "return [typeof s.getItem, s.getItem('getItem'), s.length, s.getItem('key'), typeof s.key,"
                "        Object.keys(s).length, 'getItem' in s];",
                "[\"function\",\"shadow\",3,\"k\",\"function\",0,true]");
    /* Object.defineProperty with a value stores it; accessors are refused */
    expect_area(ctx, area,
                "Object.defineProperty(s, 'd', {value: 7, configurable: true});"
                "let refused = false; try { Object.defineProperty(s, 'g', {get() { return 1 }}); }"
                "catch (e) { refused = e instanceof TypeError; }"
                "const d = Object.getOwnPropertyDescriptor(s, 'd');"
                "return [s.getItem('d'), refused, s.getItem('g'), d.value, d.enumerable, d.writable];",
                "[\"7\",true,null,\"7\",true,true]");
    expect_area(ctx, area,
                "s.setItem('x', '1');"
                "return [s instanceof Storage, Object.prototype.toString.call(s), Object.isExtensible(s),"
                "        (() => { try { Object.preventExtensions(s); return 'frozen' } catch (e) { return e.name } })()];",
                "[true,\"[object Storage]\",true,\"TypeError\"]");
}

Test(storage, items_are_properties_as_the_standard_says)
{
    each_area(property_forms);
}

static void conversions(jsp_context *ctx, const char *area)
{
    expect_area(ctx, area,
                "s.setItem('n', 12); s.setItem('u', undefined); s.setItem('o', {a: 1}); s.setItem(null, null);"
                "s.setItem('', ''); s.setItem('lone', '\\ud800x\\udc00');"
                "const lone = s.getItem('lone');"
                "return [s.getItem('n'), s.getItem('u'), s.getItem('o'), s.getItem('null'), s.getItem(''),"
                "        lone.length, lone === '\\ud800x\\udc00', s.key(99), s.getItem('missing'),"
                "        typeof s.key(0), s.length];",
                "[\"12\",\"undefined\",\"[object Object]\",\"null\",\"\",3,true,null,null,\"string\",6]");
    expect_area(ctx, area,
                "const errors = [];"
                "for (const f of [() => s.setItem(Symbol('k'), 'v'), () => s.setItem('k'), () => s.getItem(),"
                "                 () => s.key(), () => Storage.prototype.getItem.call({}, 'k'), () => new Storage()])"
                "  try { f(); errors.push('none'); } catch (e) { errors.push(e.name); }"
                "return [errors, s.length];",
                "[[\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\"],0]");
    /* attacker review: NUL and lone surrogates in keys cut nothing short and merge nothing */
    expect_area(ctx, area,
                "s.setItem('a\\0b', '1'); s.setItem('a\\0c', '2'); s.setItem('a', '3'); s.setItem('\\0', 'v\\0w');"
                "s.setItem('\\ud800', '4'); s.setItem('\\udc00', '5'); s.setItem('\\ufffd', '6');"
                "return [s.length, s.getItem('a\\0b'), s.getItem('a\\0c'), s.getItem('a'), s.getItem(''),"
                "        s.getItem('\\0') === 'v\\0w', s.getItem('\\ud800'), s.getItem('\\udc00'), s.getItem('\\ufffd')];",
                "[7,\"1\",\"2\",\"3\",null,true,\"4\",\"5\",\"6\"]");
    /* key(i) walks every key once, in an order that stays put while nothing changes */
    expect_area(ctx, area,
                "for (let i = 0; i < 50; i++) s.setItem('k' + i, String(i));"
                "const seen = []; for (let i = 0; i < s.length; i++) seen.push(s.key(i));"
                "const again = []; for (let i = 0; i < s.length; i++) again.push(s.key(i));"
                "return [seen.length, new Set(seen).size, seen.join() === again.join(),"
                "        seen.every((k) => s.getItem(k) === k.slice(1))];",
                "[50,50,true,true]");
}

Test(storage, keys_and_values_are_strings)
{
    each_area(conversions);
}

static void quota(jsp_context *ctx, const char *area)
{
    /* quota 1000 units, 32 per item: 'a' + 900 = 933 */
    expect_area(ctx, area,
                "s.setItem('a', 'x'.repeat(900));"
                "let e = null; try { s.setItem('b', 'y'.repeat(100)); } catch (error) { e = error; }"
                "let f = null; try { s.a = 'x'.repeat(1000); } catch (error) { f = error; }"
                "s.setItem('a', 'z'.repeat(967));" /* a replacement counts only its difference */
                "let g = null; try { s.setItem('a', 'z'.repeat(968)); } catch (error) { g = error; }"
                "return [e instanceof DOMException, e.name, e.code, s.getItem('b'), s.length,"
                "        f && f.name, g && g.name, s.getItem('a').length, s.getItem('a')[0]];",
                "[true,\"QuotaExceededError\",22,null,1,\"QuotaExceededError\",\"QuotaExceededError\",967,\"z\"]");
    /* removing and clearing give the room back */
    expect_area(ctx, area,
                "s.setItem('a', 'x'.repeat(900)); s.removeItem('a'); s.setItem('b', 'y'.repeat(900));"
                "s.clear(); s.setItem('c', 'z'.repeat(960)); return s.getItem('c').length;",
                "960");
}

Test(storage, a_write_past_the_quota_throws_and_writes_nothing)
{
    jsp_context *memory = storage_context(-1, 1000), *stored = storage_context(0, 1000);
    quota(memory, "localStorage");
    quota(memory, "sessionStorage");
    quota(stored, "localStorage");
    jsp_context_free(memory);
    jsp_context_free(stored);
}

Test(storage, many_keys_or_long_keys_cannot_pass_the_quota)
{
    /* 64 Ki units: at most 64 Ki / 33 = 1985 one-unit items, whatever their values */
    jsp_context *memory = storage_context(-1, 65536), *stored = storage_context(0, 65536);
    const char *fill =
        "(() => { const s = %s; let n = 0;"
        "  try { for (;; n++) s.setItem(String.fromCharCode(0x4e00 + n), ''); } catch (e) { if (e.name !== 'QuotaExceededError') throw e; }"
        "  let long = 'stored'; try { s.setItem('k'.repeat(70000), ''); } catch (e) { long = e.name; }"
        "  let both = 'stored'; try { s.clear(); s.setItem('k'.repeat(40000), 'v'.repeat(30000)); } catch (e) { both = e.name; }"
        "  return [n, long, both, s.length]; })()";
    char source[1024];
    const char *expected = "[1985,\"QuotaExceededError\",\"QuotaExceededError\",0]";
    snprintf(source, sizeof(source), fill, "localStorage");
    expect_eval(memory, source, expected);
    expect_eval(stored, source, expected);
    snprintf(source, sizeof(source), fill, "sessionStorage");
    expect_eval(memory, source, expected);
    jsp_context_free(memory);
    jsp_context_free(stored);
}

Test(storage, one_context_never_sees_another_contexts_storage)
{
    jsp_context *a = storage_context(-1, 0), *b = storage_context(-1, 0);
    jsp_context *sa = storage_context(0, 0), *sb = storage_context(1, 0);
    jsp_context *all[4] = {a, b, sa, sb};
    for (int i = 0; i < 4; i += 2) {
        free(eval_ok(all[i], "localStorage.secret = 'mine'; sessionStorage.secret = 'mine'; 0"));
        expect_eval(all[i + 1], "[localStorage.secret, sessionStorage.secret, localStorage.length, sessionStorage.length]",
                    "[null,null,0,0]");
        expect_eval(all[i], "[localStorage.secret, sessionStorage.secret]", "[\"mine\",\"mine\"]");
    }
    /* neither the store's reserved table nor its rows are reachable as db tables */
    jsp_result *r = NULL;
    cr_assert_eq(jsp_store_tables(sa, &r), 0);
    cr_expect(!strstr(r->json, "_jsp"), "%s", r->json);
    jsp_result_free(r);
    cr_expect_neq(jsp_store_rows(sa, "_jsp_local_storage", NULL, 10, &r), 0);
    jsp_result_free(r);
    for (int i = 0; i < 4; i++)
        jsp_context_free(all[i]);
}

Test(storage, local_storage_in_a_store_outlives_the_context_and_session_storage_does_not)
{
    jsp_context *ctx = storage_context(0, 0);
    free(eval_ok(ctx, "localStorage.kept = 'yes'; localStorage.setItem('n', 42); sessionStorage.gone = 'x'; 0"));
    jsp_context_destroy(ctx);
    jsp_context_free(ctx);
    ctx = storage_context(0, 0);
    expect_eval(ctx, "[localStorage.kept, localStorage.getItem('n'), localStorage.length, sessionStorage.gone]",
                "[\"yes\",\"42\",2,null]");
    jsp_context_free(ctx);
    /* re-created under a quota its stored items already pass: what frees room is allowed,
     * what adds is not */
    ctx = storage_context(0, 40);
    expect_eval(ctx, "localStorage.kept = 'y'; let added = 'stored';"
                     "try { localStorage.more = ''; } catch (e) { added = e.name; }"
                     "[localStorage.kept, added, localStorage.length]",
                "[\"y\",\"QuotaExceededError\",2]");
    jsp_context_free(ctx);
    /* without a store nothing survives */
    ctx = storage_context(-1, 0);
    free(eval_ok(ctx, "localStorage.kept = 'yes'; 0"));
    jsp_context_free(ctx);
    ctx = storage_context(-1, 0);
    expect_eval(ctx, "localStorage.kept", "null");
    jsp_context_free(ctx);
}

Test(storage, a_failed_call_leaves_no_local_storage_write_behind)
{
    jsp_context_config cfg = {.apis = "storage", .store_path = stores[0].path, .cpu_limit_ms = 200};
    jsp_context *ctx = context_with(pool, &cfg);
    free(eval_ok(ctx, "localStorage.before = '1'; 0"));
    jsp_result *r = NULL;
    cr_expect_eq(eval_error(ctx, "localStorage.thrown = '1'; localStorage.removeItem('before'); throw new Error('x')", &r),
                 JSP_EJS);
    jsp_result_free(r);
    cr_expect_eq(eval_error(ctx, "(async () => { localStorage.rejected = '1'; await null; localStorage.clear();"
                                 "  throw new Error('later'); })()", &r), JSP_EJS);
    jsp_result_free(r);
    cr_expect_eq(eval_error(ctx, "localStorage.spun = '1'; for (;;) {}", &r), JSP_ECPU_LIMIT);
    jsp_result_free(r);
    expect_eval(ctx, "[Object.keys(localStorage), localStorage.before]", "[[\"before\"],\"1\"]");
    /* ... and the rolled-back state is what a new context on the file sees */
    jsp_context_free(ctx);
    ctx = storage_context(0, 0);
    expect_eval(ctx, "[Object.keys(localStorage), localStorage.before]", "[[\"before\"],\"1\"]");
    jsp_context_free(ctx);
}

Test(storage, timers_write_local_storage_in_their_own_transaction)
{
    jsp_context_config cfg = {.apis = "storage,timers", .store_path = stores[0].path};
    jsp_context *ctx = context_with(pool, &cfg);
    free(eval_ok(ctx, "setTimeout(() => { localStorage.fromTimer = 'ok'; }, 1); 0"));
    cr_expect(eval_until(ctx, "localStorage.fromTimer", "\"ok\"", 2000));
    jsp_context_free(ctx);
    ctx = storage_context(0, 0);
    expect_eval(ctx, "localStorage.fromTimer", "\"ok\"");
    jsp_context_free(ctx);
}

Test(storage, contexts_without_the_group_have_no_storage)
{
    jsp_context *plain = context_for_test(pool);
    expect_eval(plain, "[typeof localStorage, typeof sessionStorage, typeof Storage]",
                "[\"undefined\",\"undefined\",\"undefined\"]");
    jsp_context_free(plain);
}

Test(storage, items_in_the_heap_count_against_an_isolated_contexts_memory_limit)
{
    /* 8 MiB of heap cannot hold 40 one-MiB values, though a 64 Mi-unit quota would allow
     * them: the memory limit stops it first */
    jsp_context_config cfg = {.apis = "storage", .memory_limit_bytes = 8u << 20, .storage_quota = 64u << 20};
    jsp_context *ctx = context_with(pool, &cfg);
    jsp_result *r = NULL;
    /* (joined, so each value is a flat 1 MiB string, not a rope of a few cells) */
    int rc = eval_error(ctx, "const kb = Array(1024).fill('\\u4e00').join('');"
                             "for (let i = 0; i < 40; i++) sessionStorage.setItem('k' + i, Array(512).fill(kb).join('') + i); 0", &r);
    cr_expect(rc == JSP_EOOM || (rc == JSP_EJS && !strcmp(r->error_name, "RangeError")), "%d %s: %s", rc,
              r->error_name, r->error_message);
    jsp_result_free(r);
    jsp_context_free(ctx);
}
