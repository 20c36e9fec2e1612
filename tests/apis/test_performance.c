/* The performance and navigator groups, in every context by default: performance.now() is
 * monotonic and coarsened to 100 µs steps, timeOrigin is the context's creation time,
 * marks and measures follow User Timing with a bounded buffer; navigator says what the
 * host is without telling the operator's CPU count. */
#include "support/support.h"

#include <stdlib.h>

SUITE_POOL(1)

TestSuite(performance, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 60);

Test(performance, is_there_by_default_and_absent_with_none)
{
    jsp_context *plain = context_for_test(pool);
    expect_eval(plain, "[typeof performance, typeof performance.now, typeof navigator, typeof PerformanceMark]",
                "[\"object\",\"function\",\"object\",\"function\"]");
    jsp_context_config cfg = {.apis = "none"};
    jsp_context *bare = context_with(pool, &cfg);
    expect_eval(bare, "[typeof performance, typeof navigator]", "[\"undefined\",\"undefined\"]");
    jsp_context_free(plain);
    jsp_context_free(bare);
}

Test(performance, now_is_monotonic_and_coarsened_to_100_microseconds)
{
    jsp_context *ctx = context_for_test(pool);
    /* sampled until it took 20 distinct values (or 2 s passed, on a loaded machine): never
     * goes back, every value a whole number of 100 µs steps, and it does move (in steps no
     * finer than 0.1 ms) */
    expect_eval(ctx,
                "(() => { const seen = []; const end = Date.now() + 2000; let back = 0, fine = 0, last = -1;"
                "  while (Date.now() < end && seen.length < 20) { const t = performance.now();"
                "    if (t < last) back++; if (Math.abs(t * 10 - Math.round(t * 10)) > 1e-6) fine++;"
                "    if (t !== last) seen.push(t); last = t; }"
                "  let step = Infinity; for (let i = 1; i < seen.length; i++) step = Math.min(step, seen[i] - seen[i - 1]);"
                "  return [back, fine, seen.length > 10, step >= 0.1 - 1e-9]; })()",
                "[0,0,true,true]");
    /* timeOrigin + now() is the wall clock; timeOrigin is coarsened too and fixed */
    expect_eval(ctx,
                "(() => { const o = performance.timeOrigin; const drift = Math.abs(o + performance.now() - Date.now());"
                "  return [drift < 50, Math.abs(o * 10 - Math.round(o * 10)) < 1e-3, o === performance.timeOrigin,"
                "          performance.toJSON().timeOrigin === o]; })()",
                "[true,true,true,true]");
    jsp_context_free(ctx);
}

Test(performance, marks_and_measures_follow_user_timing)
{
    jsp_context *ctx = context_for_test(pool);
    expect_eval(ctx,
                "(() => { const a = performance.mark('a', {detail: {step: 1}});"
                "  const spin = performance.now() + 2; while (performance.now() < spin) {}"
                "  const b = performance.mark('b');"
                "  const m = performance.measure('a-b', 'a', 'b');"
                "  return [a instanceof PerformanceMark, a.entryType, a.detail.step, a.duration,"
                "          b.startTime - a.startTime >= 2, m.entryType, m.startTime === a.startTime,"
                "          m.duration === b.startTime - a.startTime, m instanceof PerformanceEntry,"
                "          performance.getEntries().map((e) => e.name).join(),"
                "          performance.getEntriesByType('mark').length, performance.getEntriesByName('a-b')[0] === m,"
                "          performance.getEntriesByName('a', 'measure').length]; })()",
                "[true,\"mark\",1,0,true,\"measure\",true,true,true,\"a,a-b,b\",2,true,0]");
    expect_eval(ctx,
                "(() => { const s = performance.measure('opts', {start: 10, duration: 5});"
                "  const e = performance.measure('to-b', {end: 'b', start: 'a'});"
                "  const fromStart = performance.measure('origin');"
                "  const fixed = new PerformanceMark('x', {startTime: 3});"
                "  const errors = [];"
                "  for (const f of [() => performance.measure('m', 'no-such-mark'),"
                "                   () => performance.measure('m', {start: 1, end: 2, duration: 1}),"
                "                   () => performance.measure('m', {start: 1}, 'b'),"
                "                   () => performance.mark('m', {startTime: -1}),"
                "                   () => new PerformanceEntry(), () => performance.mark()])"
                "    try { f(); errors.push('none'); } catch (err) { errors.push(err.name); }"
                "  return [s.startTime, s.duration, e.duration >= 2, fromStart.startTime, fixed.startTime,"
                "          performance.getEntriesByName('x').length, errors]; })()",
                "[10,5,true,0,3,0,[\"SyntaxError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\",\"TypeError\"]]");
    expect_eval(ctx,
                "performance.clearMarks('a'); const left = performance.getEntriesByType('mark').map((e) => e.name);"
                "performance.clearMeasures(); performance.clearMarks();"
                "[left, performance.getEntries().length]",
                "[[\"b\"],0]");
    jsp_context_free(ctx);
}

Test(performance, the_entry_buffer_is_bounded_and_drops_the_oldest)
{
    jsp_context *ctx = context_for_test(pool);
    expect_eval(ctx,
                "for (let i = 0; i < 1500; i++) performance.mark('m' + i);"
                "const all = performance.getEntries();"
                "[all.length, all[0].name, all[all.length - 1].name,"
                " performance.measure('last', 'm1499').entryType, performance.getEntries().length,"
                " performance.getEntriesByName('m0').length]",
                "[1000,\"m500\",\"m1499\",\"measure\",1000,0]");
    jsp_context_free(ctx);
}

Test(performance, contexts_have_their_own_clocks_and_entries)
{
    jsp_context *a = context_for_test(pool);
    sleep_ms(20);
    jsp_context *b = context_for_test(pool);
    free(eval_ok(a, "performance.mark('only-a'); 0"));
    expect_eval(b, "performance.getEntries().length", "0");
    char *origin_a = eval_ok(a, "performance.timeOrigin"), *origin_b = eval_ok(b, "performance.timeOrigin");
    cr_expect_gt(strtod(origin_b, NULL) - strtod(origin_a, NULL), 15.0, "%s %s", origin_a, origin_b);
    free(origin_a);
    free(origin_b);
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(performance, navigator_says_what_the_host_is_but_not_its_cpu_count)
{
    jsp_context *ctx = context_for_test(pool);
    expect_eval(ctx,
                "[/^jspool\\/\\d+\\.\\d+\\.\\d+$/.test(navigator.userAgent), navigator.hardwareConcurrency,"
                " navigator.language, navigator.languages, navigator.onLine, typeof navigator.locks,"
                " Object.prototype.toString.call(navigator), navigator instanceof Navigator]",
                "[true,1,\"en-US\",[\"en-US\"],true,\"undefined\",\"[object Navigator]\",true]");
    jsp_context_config cfg = {.apis = "locks"};
    jsp_context *locks = context_with(pool, &cfg);
    expect_eval(locks, "[navigator.locks instanceof LockManager, navigator.locks === navigator.locks, navigator.hardwareConcurrency]",
                "[true,true,1]");
    jsp_context_free(ctx);
    jsp_context_free(locks);
}
