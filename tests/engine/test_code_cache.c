/* The runtime's code cache (src/engine/engine_code_cache.c) as a user sees it: loading one
 * module or large script into many contexts is served compiled (the hit counter of
 * jsp_pool_metrics moves), yet every context gets its own state; entries are keyed by
 * the exact name and bytes (same name with other source, same source with another name:
 * no mix-up); the configured bound holds against a tenant loading many distinct sources,
 * and what it evicts still loads correctly; errors are reported as without a cache; a VM
 * recycle rebuilds contexts that share one cached text. */
#include "support/support.h"
#include "engine/module_transform.h"
#include "engine/transform_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(code_cache, .timeout = 120);

/* One per-runtime metric of runtime 0. */
static unsigned long long metric(jsp_pool *pool, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "%s{runtime=\"0\"} ", name);
    char *text = jsp_pool_metrics(pool);
    cr_assert_not_null(text);
    const char *at = strstr(text, key);
    cr_assert_not_null(at, "no %s in the metrics", name);
    unsigned long long n = strtoull(at + strlen(key), NULL, 10);
    jsp_free(text);
    return n;
}

static jsp_pool *pool_with_cache(size_t code_cache_bytes)
{
    jsp_pool_config cfg = {.threads = 1, .code_cache_bytes = code_cache_bytes};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    return pool;
}

static jsp_result *load_named(jsp_context *ctx, const char *source, const char *name)
{
    jsp_result *r = NULL;
    jsp_load_module_named(ctx, source, -1, name, &r);
    cr_assert_not_null(r);
    return r;
}

static void load_ok(jsp_context *ctx, const char *source, const char *name)
{
    jsp_result *r = load_named(ctx, source, name);
    cr_assert_eq(r->code, 0, "load failed: %s: %s", r->error_name, r->error_message);
    jsp_result_free(r);
}

static void expect_call(jsp_context *ctx, const char *fn, const char *json)
{
    char *got = call_ok(ctx, fn, NULL);
    cr_expect_str_eq(got, json, "%s() gave %s, expected %s", fn, got, json);
    free(got);
}

/* A module of about `size` bytes whose value() returns `id` (distinct ids: distinct
 * sources). Caller frees. */
static char *module_of_size(int id, size_t size)
{
    char *s = malloc(size + 128);
    cr_assert_not_null(s);
    int n = snprintf(s, 128, "export function value() { return %d; }\n/*", id);
    memset(s + n, 'x', size);
    strcpy(s + n + size, "*/\n");
    return s;
}

static const char counter_module[] =
    "let n = 0;\n"
    "globalThis.loads = (globalThis.loads || 0) + 1;\n"
    "export function bump() { return ++n; }\n"
    "export function loads() { return globalThis.loads; }\n";

Test(code_cache, contexts_loading_the_same_module_share_code_but_not_state)
{
    jsp_pool *pool = pool_with_cache(0);
    jsp_context *a = context_for_test(pool), *b = context_for_test(pool), *c = context_for_test(pool);
    load_ok(a, counter_module, "counter.js");
    unsigned long long hits = metric(pool, "jspool_code_cache_hits_total");
    load_ok(b, counter_module, "counter.js");
    load_ok(c, counter_module, "counter.js");
    cr_expect_geq(metric(pool, "jspool_code_cache_hits_total"), hits + 2,
                  "the second and third load were not served by the cache");
    cr_expect_eq(metric(pool, "jspool_code_cache_entries"), 1);
    expect_call(a, "bump", "1");
    expect_call(a, "bump", "2");
    expect_call(a, "bump", "3");
    expect_call(b, "bump", "1"); /* its own module scope */
    expect_call(c, "loads", "1"); /* and its own global */
    /* the same context loading it again runs the body again, in its own global */
    load_ok(a, counter_module, "counter.js");
    expect_call(a, "bump", "1");
    expect_call(a, "loads", "2");
    expect_call(b, "loads", "1");
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_context_free(c);
    jsp_pool_free(pool);
}

Test(code_cache, the_same_name_with_other_source_is_another_module)
{
    jsp_pool *pool = pool_with_cache(0);
    jsp_context *a = context_for_test(pool), *b = context_for_test(pool), *c = context_for_test(pool);
    load_ok(a, "export function who() { return 'first'; }\n", "lib.js");
    /* a tenant loading its own lib.js gets its own code and exports... */
    jsp_result *r = load_named(b, "export function who() { return 'second'; }\nexport const extra = 1;\n", "lib.js");
    cr_assert_eq(r->code, 0);
    cr_expect_str_eq(r->json, "[\"who\",\"extra\"]");
    jsp_result_free(r);
    expect_call(a, "who", "\"first\"");
    expect_call(b, "who", "\"second\"");
    /* ...and the first source, loaded again, is still the first (one byte differs). */
    r = load_named(c, "export function who() { return 'first'; }\n", "lib.js");
    cr_expect_str_eq(r->json, "[\"who\"]");
    jsp_result_free(r);
    expect_call(c, "who", "\"first\"");
    r = load_named(c, "export function who() { return 'firsT'; }\n", "lib.js");
    jsp_result_free(r);
    expect_call(c, "who", "\"firsT\"");
    cr_expect_eq(metric(pool, "jspool_code_cache_entries"), 3);
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_context_free(c);
    jsp_pool_free(pool);
}

Test(code_cache, the_same_source_under_other_names_keeps_each_name_in_stack_traces)
{
    jsp_pool *pool = pool_with_cache(0);
    jsp_context *a = context_for_test(pool), *b = context_for_test(pool), *u = context_for_test(pool);
    const char *source = "export function boom() {\n  throw new Error('boom');\n}\n";
    load_ok(a, source, "alpha.js");
    load_ok(b, source, "beta.js");
    jsp_result *r = load_named(u, source, NULL);
    jsp_result_free(r);
    const char *names[3] = {"alpha.js", "beta.js", "module"};
    jsp_context *ctxs[3] = {a, b, u};
    for (int i = 0; i < 3; i++) {
        r = NULL;
        cr_assert_eq(jsp_call(ctxs[i], "boom", NULL, 0, &r), JSP_EJS);
        cr_assert_not_null(r->error_stack);
        cr_expect(strstr(r->error_stack, names[i]) != NULL, "stack of %s: %s", names[i], r->error_stack);
        cr_expect_eq(r->error_line, 2);
        jsp_result_free(r);
    }
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_context_free(u);
    jsp_pool_free(pool);
}

/* A tenant loading many distinct sources cannot grow the cache past its bound; what it
 * evicted loads again, compiled afresh, with the right behaviour. */
Test(code_cache, a_flood_of_distinct_modules_stays_within_the_bound)
{
    const size_t bound = 256 * 1024;
    jsp_pool *pool = pool_with_cache(bound);
    jsp_context *victim = context_for_test(pool), *flooder = context_for_test(pool);
    char *kept = module_of_size(-1, 20000);
    load_ok(victim, kept, "victim.js");
    unsigned long long max_bytes = 0, max_entries = 0;
    for (int i = 0; i < 120; i++) {
        char *m = module_of_size(i, 20000);
        load_ok(flooder, m, "flood.js");
        free(m);
        unsigned long long bytes = metric(pool, "jspool_code_cache_bytes");
        unsigned long long entries = metric(pool, "jspool_code_cache_entries");
        max_bytes = bytes > max_bytes ? bytes : max_bytes;
        max_entries = entries > max_entries ? entries : max_entries;
    }
    expect_call(flooder, "value", "119");
    cr_expect_leq(max_bytes, bound, "the cache held %llu bytes, bound %zu", max_bytes, bound);
    cr_expect_gt(max_entries, 2, "the cache held at most %llu entries: did it cache at all?", max_entries);
    cr_expect_gt(metric(pool, "jspool_code_cache_evictions_total"), 100);
    /* the victim's module was evicted; a new context loads it again, correctly */
    jsp_context *again = context_for_test(pool);
    load_ok(again, kept, "victim.js");
    expect_call(again, "value", "-1");
    expect_call(victim, "value", "-1");
    free(kept);
    jsp_context_free(victim);
    jsp_context_free(flooder);
    jsp_context_free(again);
    jsp_pool_free(pool);
}

Test(code_cache, a_source_over_a_quarter_of_the_bound_is_not_cached)
{
    jsp_pool *pool = pool_with_cache(64 * 1024);
    jsp_context *a = context_for_test(pool), *b = context_for_test(pool);
    char *big = module_of_size(7, 20000);
    load_ok(a, big, "big.js");
    load_ok(b, big, "big.js");
    cr_expect_eq(metric(pool, "jspool_code_cache_entries"), 0);
    cr_expect_eq(metric(pool, "jspool_code_cache_hits_total"), 0);
    expect_call(b, "value", "7");
    free(big);
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_pool_free(pool);
}

Test(code_cache, turned_off_it_caches_nothing_and_loads_still_work)
{
    jsp_pool *pool = pool_with_cache((size_t)-1);
    jsp_context *a = context_for_test(pool), *b = context_for_test(pool);
    load_ok(a, counter_module, "counter.js");
    load_ok(b, counter_module, "counter.js");
    expect_call(b, "bump", "1");
    cr_expect_eq(metric(pool, "jspool_code_cache_entries"), 0);
    cr_expect_eq(metric(pool, "jspool_code_cache_hits_total"), 0);
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_pool_free(pool);
}

/* A script of 4 KiB or more is cached from its second eval; each context still gets its
 * own globals, and the completion value is the script's. */
Test(code_cache, a_large_script_evaluated_in_many_contexts_shares_code_but_not_globals)
{
    jsp_pool *pool = pool_with_cache(0);
    char *script = malloc(8192);
    int n = snprintf(script, 8192, "var runs = (typeof runs === 'number' ? runs : 0) + 1;\n/*");
    memset(script + n, 'y', 6000);
    strcpy(script + n + 6000, "*/\nruns * 10;\n");
    jsp_context *ctxs[4];
    for (int i = 0; i < 4; i++) {
        ctxs[i] = context_for_test(pool);
        expect_eval(ctxs[i], script, "10");
    }
    cr_expect_geq(metric(pool, "jspool_code_cache_hits_total"), 2,
                  "the third and fourth evals were not served by the cache");
    expect_eval(ctxs[0], script, "20");
    expect_eval(ctxs[3], "runs", "1");
    for (int i = 0; i < 4; i++)
        jsp_context_free(ctxs[i]);
    free(script);
    jsp_pool_free(pool);
}

/* Errors are what they are without a cache: a syntax error (never cached) keeps its code
 * and line on every try; a runtime throw from cached code is JSP_EJS. */
Test(code_cache, errors_are_reported_as_without_a_cache)
{
    jsp_pool *pool = pool_with_cache(0);
    char *bad = malloc(8192);
    int n = snprintf(bad, 8192, "/*");
    memset(bad + n, 'z', 5000);
    strcpy(bad + n + 5000, "*/\nvar ok = 1;\nvar = 2;\n");
    char *throws = malloc(8192);
    n = snprintf(throws, 8192, "/*");
    memset(throws + n, 'z', 5000);
    strcpy(throws + n + 5000, "*/\nthrow new TypeError('nope');\n");
    for (int i = 0; i < 3; i++) {
        jsp_context *ctx = context_for_test(pool);
        jsp_result *r = NULL;
        cr_expect_eq(jsp_eval(ctx, bad, -1, &r), JSP_ESYNTAX, "try %d", i);
        cr_expect_eq(r->error_line, 3, "try %d: line %d", i, r->error_line);
        jsp_result_free(r);
        r = NULL;
        cr_expect_eq(jsp_eval(ctx, throws, -1, &r), JSP_EJS, "try %d", i);
        cr_expect_str_eq(r->error_name, "TypeError");
        cr_expect_eq(r->error_line, 2, "try %d: line %d", i, r->error_line);
        jsp_result_free(r);
        r = load_named(ctx, "export function f() { return 1; }\nexport function f() {}\n", "dup.js");
        cr_expect_neq(r->code, 0, "try %d: a duplicate export loaded", i);
        jsp_result_free(r);
        jsp_context_free(ctx);
    }
    cr_expect_eq(metric(pool, "jspool_code_cache_entries"), 1); /* `throws` only */
    free(bad);
    free(throws);
    jsp_pool_free(pool);
}

/* Contexts that loaded one module keep one shared text to be rebuilt from; a recycle
 * (tiny heap limit) rebuilds every one of them from it. */
Test(code_cache, a_recycle_rebuilds_contexts_that_share_a_cached_module)
{
    jsp_pool_config cfg = {.threads = 1, .heap_limit_bytes = 1, .heap_check_request_interval = 20};
    jsp_pool *pool = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &pool), 0);
    enum { CONTEXTS = 5 };
    jsp_context *ctxs[CONTEXTS];
    for (int i = 0; i < CONTEXTS; i++) {
        ctxs[i] = context_for_test(pool);
        load_ok(ctxs[i], "export function sum(xs) { return xs.reduce((a, b) => a + b, 0); }\n"
                         "export function garbage() { return Array.from({length: 2000}, (_, i) => ({i})).length; }\n",
                "shared.js");
    }
    for (int n = 0; n < 200; n++) {
        jsp_context *ctx = ctxs[n % CONTEXTS];
        char *got = call_ok(ctx, n % 2 ? "garbage" : "sum", n % 2 ? NULL : "[[1,2,3]]");
        cr_assert_str_eq(got, n % 2 ? "2000" : "6");
        free(got);
    }
    cr_expect_gt(metric(pool, "jspool_recycles_total"), 0, "no recycle happened: the test tests nothing");
    for (int i = 0; i < CONTEXTS; i++) {
        cr_expect_gt(jsp_context_generation(ctxs[i]), 0);
        jsp_context_free(ctxs[i]);
    }
    jsp_pool_free(pool);
}

/* Isolated contexts have their own VM and no code cache; they share only the module
 * transform (process-wide, by source bytes): state stays theirs, names stay theirs, and a
 * source that failed is never taken from it. */
Test(code_cache, isolated_contexts_share_transforms_but_not_state_or_names)
{
    jsp_pool *pool = pool_with_cache(0);
    jsp_context_config cfg = {.memory_limit_bytes = 32u << 20};
    jsp_context *a = context_with(pool, &cfg), *b = context_with(pool, &cfg), *c = context_with(pool, &cfg);
    transform_cache_stats_t before, after;
    transform_cache_stats(&before);
    load_ok(a, counter_module, "counter.js");
    load_ok(b, counter_module, "counter.js");
    transform_cache_stats(&after);
    cr_expect_geq(after.hits, before.hits + 1, "the second isolated load did not reuse the transform");
    expect_call(a, "bump", "1");
    expect_call(a, "bump", "2");
    expect_call(b, "bump", "1");
    expect_call(a, "loads", "1");
    const char *boom = "export function boom() {\n  throw new Error('boom');\n}\n";
    load_ok(a, boom, "first.js");
    load_ok(c, boom, "second.js");
    jsp_result *r = NULL;
    cr_assert_eq(jsp_call(c, "boom", NULL, 0, &r), JSP_EJS);
    cr_expect(r->error_stack && strstr(r->error_stack, "second.js"), "stack: %s", r->error_stack);
    jsp_result_free(r);
    /* a module escaping its wrapper is refused on every VM, however often it is tried */
    for (int i = 0; i < 2; i++) {
        r = load_named(i ? c : b, "export function f() {}\n}); globalThis.escaped = 1; ({\n", "escape.js");
        cr_expect_eq(r->code, JSP_ESYNTAX, "try %d: %d", i, r->code);
        jsp_result_free(r);
    }
    expect_eval(b, "typeof escaped", "\"undefined\"");
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_context_free(c);
    jsp_pool_free(pool);
}

/* The process-wide transform cache stays within its bound however many distinct sources
 * arrive, and an entry someone holds survives its eviction intact. */
Test(code_cache, the_transform_cache_stays_within_its_bound_and_held_entries_survive)
{
    transform_cache_clear();
    const size_t size = 1u << 20; /* 40 x ~2 MiB (source + rewritten text) past 32 MiB */
    char *first = module_of_size(-1, size);
    module_script m;
    cr_assert_eq(module_transform(first, strlen(first), &m), MODULE_TRANSFORM_OK);
    transform_cache_put(first, strlen(first), &m);
    module_script_free(&m);
    const shared_transform *held = transform_cache_get(first, strlen(first));
    cr_assert_not_null(held);
    transform_cache_stats_t st;
    for (int i = 0; i < 40; i++) {
        char *src = module_of_size(i, size);
        cr_assert_eq(module_transform(src, strlen(src), &m), MODULE_TRANSFORM_OK);
        transform_cache_put(src, strlen(src), &m);
        module_script_free(&m);
        free(src);
        transform_cache_stats(&st);
        cr_assert_leq(st.bytes, TRANSFORM_CACHE_BYTES, "after %d: %llu bytes", i, (unsigned long long)st.bytes);
        cr_assert_leq(st.entries, TRANSFORM_CACHE_MAX_ENTRIES);
    }
    cr_expect_gt(st.evictions, 0);
    cr_expect_null(transform_cache_get(first, strlen(first)), "the first entry was not evicted");
    /* still readable, and still the transform of `first` */
    const module_script *kept = shared_transform_script(held);
    cr_expect(strstr(kept->script, "return -1;") != NULL);
    cr_expect_eq(kept->export_count, 1);
    transform_cache_release(held);
    /* one byte different is another source */
    first[strlen(first) - 4] = 'y';
    cr_expect_null(transform_cache_get(first, strlen(first)));
    free(first);
    transform_cache_clear();
}
