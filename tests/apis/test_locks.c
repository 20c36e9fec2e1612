/* The locks group: navigator.locks is one lock space per namespace, also across runtime
 * threads — exclusive locks exclude, shared ones coexist, requests are granted in FIFO
 * order without starving exclusive ones, ifAvailable / steal / signal behave as the W3C
 * Web Locks API says, query() lists the namespace's locks; contexts of another namespace
 * (by default every other context) neither see nor contend for nor steal them; and a
 * context that dies, runs out of time inside its callback or never settles its callback's
 * promise never leaves others waiting past its limits. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>

SUITE_POOL(2)

TestSuite(locks, .init = suite_pool_setup, .fini = suite_pool_teardown, .timeout = 60);

/* A context with the locks group on runtime runtime_index, in namespace ns (NULL: its
 * own private one). */
static jsp_context *locks_context_in(int runtime_index, const char *ns, long wall_limit_ms)
{
    jsp_context_config cfg = {.runtime = runtime_index + 1, .apis = "locks,timers,console",
                              .namespace_name = ns, .wall_limit_ms = wall_limit_ms};
    return context_with(pool, &cfg);
}

/* A context with the locks group on runtime runtime_index, in the namespace "shared" that
 * most tests' contexts use to contend. */
static jsp_context *locks_context(int runtime_index, long cpu_limit_ms)
{
    jsp_context_config cfg = {.runtime = runtime_index + 1, .apis = "locks,timers,console",
                              .cpu_limit_ms = cpu_limit_ms, .namespace_name = "shared"};
    return context_with(pool, &cfg);
}

/* Waits for the eval and checks its JSON, then frees it. */
static void expect_later(later_eval *later, const char *json)
{
    cr_assert(later_is_done(later, 10000), "the eval waiting on a lock never finished");
    cr_assert_eq(later->result->code, 0, "%s: %s", later->result->error_name, later->result->error_message);
    cr_expect_str_eq(later->result->json, json);
    later_free(later);
}

/* Takes `name` in ctx with a callback that holds it until `release_<tag>()` is called;
 * the eval returns at once (the lock outlives it, as the spec says it lives until the
 * callback's promise settles). */
static void hold(jsp_context *ctx, const char *name, const char *mode, const char *tag)
{
    char source[512];
    snprintf(source, sizeof(source),
             "globalThis.held_%s = new Promise((granted) => {"
             "  globalThis.outcome_%s = navigator.locks.request('%s', {mode: '%s'}, (lock) => {"
             "    granted(lock.mode); return new Promise((r) => { globalThis.release_%s = r; }); })"
             "  .then((v) => 'released:' + v, (e) => e.name); }); 0",
             tag, tag, name, mode, tag);
    expect_eval(ctx, source, "0");
    char wait[64];
    snprintf(wait, sizeof(wait), "held_%s", tag);
    char expected[32];
    snprintf(expected, sizeof(expected), "\"%s\"", mode);
    expect_eval(ctx, wait, expected);
}

static char *query_json(jsp_context *ctx)
{
    return eval_ok(ctx, "navigator.locks.query().then((q) => ({"
                        " held: q.held.map((l) => [l.name, l.mode, l.clientId]),"
                        " pending: q.pending.map((l) => [l.name, l.mode, l.clientId]) }))");
}

/* Polls query() from ctx until its JSON contains needle (requests made on other threads
 * reach the queue on their own time); returns that JSON (caller frees) or NULL. */
static char *wait_for_query(jsp_context *ctx, const char *needle)
{
    for (int i = 0; i < 300; i++) {
        char *q = query_json(ctx);
        if (strstr(q, needle))
            return q;
        free(q);
        sleep_ms(10);
    }
    return NULL;
}

/* ---- host functions sharing one counter between contexts on two threads ---- */

static pthread_mutex_t counter_mutex = PTHREAD_MUTEX_INITIALIZER;
static int counter, inside, max_inside;

static void counter_get(jsp_host_call *call, void *user)
{
    char json[32];
    pthread_mutex_lock(&counter_mutex);
    snprintf(json, sizeof(json), "%d", counter);
    pthread_mutex_unlock(&counter_mutex);
    jsp_host_call_resolve(call, json, strlen(json));
}

static void counter_put(jsp_host_call *call, void *user)
{
    pthread_mutex_lock(&counter_mutex);
    counter = atoi(jsp_host_call_args(call) + 1); /* "[n]" */
    pthread_mutex_unlock(&counter_mutex);
    jsp_host_call_resolve(call, NULL, 0);
}

static void section(jsp_host_call *call, void *user)
{
    pthread_mutex_lock(&counter_mutex);
    inside += user ? 1 : -1;
    if (inside > max_inside)
        max_inside = inside;
    pthread_mutex_unlock(&counter_mutex);
    jsp_host_call_resolve(call, NULL, 0);
}

Test(locks, exclusive_lock_serialises_contexts_on_different_threads)
{
    cr_assert_eq(jsp_pool_register(pool, "get", counter_get, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "put", counter_put, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "enter", section, (void *)1), 0);
    cr_assert_eq(jsp_pool_register(pool, "leave", section, NULL), 0);
    counter = inside = max_inside = 0;
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0);
    /* read, yield to the event loop, write: any interleaving loses increments */
    const char *source =
        "(async () => { const all = [];"
        "  for (let i = 0; i < 25; i++)"
        "    all.push(navigator.locks.request('counter', async () => {"
        "      host.callSync('enter'); const v = await host.call('get');"
        "      await new Promise((r) => setTimeout(r, 1));"
        "      await host.call('put', v + 1); host.callSync('leave'); }));"
        "  await Promise.all(all); return 'done'; })()";
    later_eval *in_a = eval_later(a, source), *in_b = eval_later(b, source);
    expect_later(in_a, "\"done\"");
    expect_later(in_b, "\"done\"");
    cr_expect_eq(counter, 50, "lost increments: the lock let callbacks interleave");
    cr_expect_eq(max_inside, 1, "two callbacks held the exclusive lock at once");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(locks, shared_locks_are_held_together_and_exclusive_waits_for_them)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0);
    hold(a, "r", "shared", "a");
    /* a second shared holder, on the other thread, is granted at once */
    expect_eval(b, "navigator.locks.request('r', {mode: 'shared', ifAvailable: true}, (l) => l && l.mode)",
                "\"shared\"");
    expect_eval(b, "navigator.locks.request('r', {ifAvailable: true}, (l) => l)", "null");
    later_eval *exclusive = eval_later(b, "navigator.locks.request('r', (l) => l.mode)");
    cr_expect_not(later_is_done(exclusive, 200), "exclusive granted while a shared lock is held");
    expect_eval(a, "release_a(1); outcome_a", "\"released:1\"");
    expect_later(exclusive, "\"exclusive\"");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(locks, requests_are_granted_in_order_and_shared_ones_do_not_starve_exclusive)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0), *c = locks_context(0, 0);
    hold(a, "f", "shared", "a");
    later_eval *b1 = eval_later(b, "navigator.locks.request('f', async () => {"
                                   " host.send('b1 start'); await new Promise((r) => setTimeout(r, 50));"
                                   " host.send('b1 end'); return 'b1'; })");
    char b1_pending[64];
    snprintf(b1_pending, sizeof(b1_pending), "\"pending\":[[\"f\",\"exclusive\",\"%llu\"]]",
             (unsigned long long)jsp_context_id(b));
    char *q = wait_for_query(c, b1_pending);
    cr_assert(q, "b's request never showed as pending");
    free(q);
    /* queued behind b's exclusive request, a shared request waits although only shared
     * locks are held: no starvation of the exclusive one */
    expect_eval(c, "navigator.locks.request('f', {mode: 'shared', ifAvailable: true}, (l) => l)", "null");
    later_eval *c1 = eval_later(c, "navigator.locks.request('f', {mode: 'shared'}, () => { host.send('c1'); return 'c1'; })");
    q = wait_for_query(c, "[\"f\",\"shared\"");
    cr_assert(q, "c's request never showed as pending");
    free(q);
    later_eval *b2 = eval_later(b, "navigator.locks.request('f', {mode: 'shared'}, () => { host.send('b2'); return 'b2'; })");
    char expected[256];
    snprintf(expected, sizeof(expected),
             "\"pending\":[[\"f\",\"exclusive\",\"%llu\"],[\"f\",\"shared\",\"%llu\"],[\"f\",\"shared\",\"%llu\"]]",
             (unsigned long long)jsp_context_id(b), (unsigned long long)jsp_context_id(c),
             (unsigned long long)jsp_context_id(b));
    q = wait_for_query(c, expected);
    cr_assert(q, "the queue never read %s", expected);
    free(q);
    cr_expect_not(later_is_done(c1, 50), "a shared request overtook the exclusive one");
    expect_eval(a, "release_a(); outcome_a", "\"released:undefined\"");
    expect_later(b1, "\"b1\"");
    expect_later(c1, "\"c1\"");
    expect_later(b2, "\"b2\"");
    cr_assert_eq(collector_wait(&messages, 4, 5000), 4);
    cr_expect_str_eq(messages.texts[0], "\"b1 start\"");
    cr_expect_str_eq(messages.texts[1], "\"b1 end\"", "a shared request ran inside the exclusive lock");
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_context_free(c);
}

Test(locks, if_available_gives_null_instead_of_waiting)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0);
    expect_eval(b, "navigator.locks.request('i', {ifAvailable: true}, (l) => l && [l.name, l.mode])",
                "[\"i\",\"exclusive\"]");
    hold(a, "i", "exclusive", "a");
    expect_eval(b, "navigator.locks.request('i', {ifAvailable: true}, (l) => l === null ? 'null' : 'lock')",
                "\"null\"");
    expect_eval(b, "navigator.locks.request('i', {mode: 'shared', ifAvailable: true}, (l) => l)", "null");
    expect_eval(a, "release_a('x'); outcome_a", "\"released:x\"");
    expect_eval(b, "navigator.locks.request('i', {ifAvailable: true}, (l) => l !== null)", "true");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(locks, steal_takes_the_lock_and_rejects_the_holders_promise_with_abort_error)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0);
    hold(a, "s", "shared", "a");
    hold(b, "s", "shared", "b");
    later_eval *waiting = eval_later(b, "navigator.locks.request('s', () => 'waited')");
    expect_eval(b, "navigator.locks.request('s', {steal: true}, (l) => l.mode)", "\"exclusive\"");
    expect_eval(a, "outcome_a", "\"AbortError\"");
    expect_eval(b, "outcome_b", "\"AbortError\"");
    /* a stolen holder finishing later releases nothing: the waiter got the lock once the
     * thief let go, and the name is free afterwards */
    expect_later(waiting, "\"waited\"");
    expect_eval(a, "release_a(); 0", "0");
    char *q = query_json(b);
    cr_expect_str_eq(q, "{\"held\":[],\"pending\":[]}");
    free(q);
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(locks, aborting_a_pending_request_rejects_it_and_removes_it_from_the_queue)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0);
    hold(a, "p", "exclusive", "a");
    expect_eval(b, "globalThis.ran = false; globalThis.c = new AbortController();"
                   "globalThis.r = navigator.locks.request('p', {signal: c.signal}, () => { ran = true; })"
                   "  .catch((e) => e.name); 0",
                "0");
    char *q = query_json(b);
    cr_expect(strstr(q, "\"pending\":[[\"p\""), "%s", q);
    free(q);
    expect_eval(b, "c.abort(); r", "\"AbortError\"");
    q = query_json(b);
    cr_expect(strstr(q, "\"pending\":[]"), "%s", q);
    free(q);
    /* the signal's own reason, and a signal aborted before the request */
    expect_eval(b, "const c2 = new AbortController();"
                   "const r2 = navigator.locks.request('p', {signal: c2.signal}, () => { ran = true; }).catch((e) => e);"
                   "c2.abort('why'); r2",
                "\"why\"");
    expect_eval(b, "navigator.locks.request('free', {signal: AbortSignal.abort('early')}, () => { ran = true; })"
                   "  .catch((e) => e)",
                "\"early\"");
    expect_eval(a, "release_a(); outcome_a", "\"released:undefined\"");
    /* aborting once granted changes nothing */
    expect_eval(b, "const c3 = new AbortController();"
                   "navigator.locks.request('p', {signal: c3.signal}, async () => { c3.abort(); return 'kept'; })",
                "\"kept\"");
    expect_eval(b, "ran", "false");
    jsp_context_free(a);
    jsp_context_free(b);
}

Test(locks, query_lists_held_and_pending_locks_of_the_namespace)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0), *c = locks_context(1, 0);
    hold(a, "q1", "exclusive", "a");
    hold(b, "q2", "shared", "b");
    later_eval *waiting = eval_later(c, "navigator.locks.request('q1', {mode: 'shared'}, () => 'ok')");
    char expected[512];
    snprintf(expected, sizeof(expected),
             "{\"held\":[[\"q1\",\"exclusive\",\"%llu\"],[\"q2\",\"shared\",\"%llu\"]],"
             "\"pending\":[[\"q1\",\"shared\",\"%llu\"]]}",
             (unsigned long long)jsp_context_id(a), (unsigned long long)jsp_context_id(b),
             (unsigned long long)jsp_context_id(c));
    char *q = wait_for_query(a, expected);
    cr_expect(q, "query() never showed %s", expected);
    free(q);
    expect_eval(a, "release_a(); outcome_a", "\"released:undefined\"");
    expect_later(waiting, "\"ok\"");
    expect_eval(b, "release_b(); outcome_b", "\"released:undefined\"");
    q = query_json(c);
    cr_expect_str_eq(q, "{\"held\":[],\"pending\":[]}");
    free(q);
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_context_free(c);
}

Test(locks, bad_requests_reject_with_the_specs_errors)
{
    jsp_context *a = locks_context(0, 0);
    const char *checks[][2] = {
        {"navigator.locks.request('-x', () => 1)", "NotSupportedError"},
        {"navigator.locks.request('x', {steal: true, ifAvailable: true}, () => 1)", "NotSupportedError"},
        {"navigator.locks.request('x', {steal: true, mode: 'shared'}, () => 1)", "NotSupportedError"},
        {"navigator.locks.request('x', {steal: true, signal: new AbortController().signal}, () => 1)", "NotSupportedError"},
        {"navigator.locks.request('x', {ifAvailable: true, signal: new AbortController().signal}, () => 1)", "NotSupportedError"},
        {"navigator.locks.request('x')", "TypeError"},
        {"navigator.locks.request('x', {}, 'not a function')", "TypeError"},
        {"navigator.locks.request('x', {mode: 'read'}, () => 1)", "TypeError"},
        {"navigator.locks.request('x', {signal: {}}, () => 1)", "TypeError"},
        {"navigator.locks.request('x', 5, () => 1)", "TypeError"},
        {"LockManager.prototype.request.call({}, 'x', () => 1)", "TypeError"},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        char source[512];
        /* errors come as rejections, never as throws */
        snprintf(source, sizeof(source),
                 "(() => { let p; try { p = %s; } catch (e) { return 'threw ' + e.name; }"
                 " return p.then(() => 'resolved', (e) => e.name + (e instanceof DOMException ? ' (DOMException)' : '')); })()",
                 checks[i][0]);
        char expected[128];
        snprintf(expected, sizeof(expected), "\"%s%s\"", checks[i][1],
                 strcmp(checks[i][1], "TypeError") ? " (DOMException)" : "");
        expect_eval(a, source, expected);
    }
    expect_eval(a, "[() => new Lock(), () => new LockManager()].map((f) => { try { f(); return 'made'; } catch (e) { return e.name; } })",
                "[\"TypeError\",\"TypeError\"]");
    expect_eval(a, "[String(navigator.locks), LockManager.prototype.request.length]",
                "[\"[object LockManager]\",2]");
    expect_eval(a, "navigator.locks.request('-x', () => 1).catch((e) => e.code)", "9");
    /* a callback that throws rejects its request and releases the lock */
    expect_eval(a, "navigator.locks.request('t', () => { throw new RangeError('boom'); }).catch((e) => e.message)",
                "\"boom\"");
    expect_eval(a, "navigator.locks.request('t', {ifAvailable: true}, (l) => l !== null)", "true");
    jsp_context_free(a);
}

Test(locks, globals_exist_only_with_the_group_and_load_lazily)
{
    jsp_context_config cfg = {.apis = "console,timers,events"};
    jsp_context *plain = NULL;
    cr_assert_eq(jsp_context_new(pool, &cfg, &plain), 0);
    expect_eval(plain, "[typeof navigator, typeof LockManager, typeof Lock]",
                "[\"undefined\",\"undefined\",\"undefined\"]");
    jsp_context *a = locks_context(0, 0);
    expect_eval(a, "typeof Object.getOwnPropertyDescriptor(globalThis, 'navigator').get", "\"function\"");
    expect_eval(a, "[typeof navigator.locks.request, navigator.locks === navigator.locks, "
                   "Object.getPrototypeOf(navigator.locks) === LockManager.prototype]",
                "[\"function\",true,true]");
    jsp_context_free(plain);
    jsp_context_free(a);
}

Test(locks, a_context_destroyed_while_holding_a_lock_releases_it)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0);
    hold(a, "d", "exclusive", "a");
    later_eval *waiting = eval_later(b, "navigator.locks.request('d', (l) => 'got ' + l.name)");
    cr_expect_not(later_is_done(waiting, 100));
    jsp_context_free(a);
    expect_later(waiting, "\"got d\"");
    jsp_context_free(b);
}

Test(locks, a_context_destroyed_while_waiting_is_dropped_from_the_queue)
{
    jsp_context *a = locks_context(0, 0), *b = locks_context(1, 0), *c = locks_context(1, 0);
    hold(a, "w", "exclusive", "a");
    later_eval *doomed = eval_later(b, "navigator.locks.request('w', () => 'never')");
    char *q = wait_for_query(a, "\"pending\":[[");
    cr_assert(q, "b's request never showed as pending");
    free(q);
    jsp_context_free(b);
    cr_assert(later_is_done(doomed, 5000));
    cr_expect_eq(doomed->result->code, JSP_EDESTROYED);
    later_free(doomed);
    expect_eval(a, "release_a(); outcome_a", "\"released:undefined\"");
    /* had the dead context's request been granted, the name would be taken forever */
    expect_eval(c, "navigator.locks.request('w', {ifAvailable: true}, (l) => l !== null)", "true");
    q = query_json(c);
    cr_expect_str_eq(q, "{\"held\":[],\"pending\":[]}");
    free(q);
    jsp_context_free(a);
    jsp_context_free(c);
}

Test(locks, a_callback_stopped_by_the_cpu_limit_releases_its_lock)
{
    jsp_context *spinner = locks_context(0, 100), *b = locks_context(1, 0);
    later_eval *spin = eval_later(spinner, "navigator.locks.request('cpu', () => { for (;;); }).catch((e) => e.name)");
    expect_later(spin, "\"RangeError\"");
    cr_expect(collector_has(&logs, "lock callback stopped: CPU limit"));
    expect_eval(b, "navigator.locks.request('cpu', {ifAvailable: true}, (l) => l !== null)", "true");
    expect_eval(spinner, "navigator.locks.request('cpu', (l) => 'usable')", "\"usable\"");
    jsp_context_free(spinner);
    jsp_context_free(b);
}

Test(locks, a_vm_recycle_releases_the_locks_of_the_old_vm)
{
    /* A heap limit of 1 byte: the runtime recycles its VM whenever a check finds it idle. */
    jsp_pool_config cfg = {.threads = 2, .heap_limit_bytes = 1, .heap_check_request_interval = 5,
                           .log = collect_log, .log_user = &logs};
    jsp_pool *own = NULL;
    cr_assert_eq(jsp_pool_new(&cfg, &own), 0);
    jsp_context_config on_0 = {.runtime = 1, .apis = "locks", .namespace_name = "n"},
                       on_1 = {.runtime = 2, .apis = "locks", .namespace_name = "n"};
    jsp_context *a = NULL, *b = NULL;
    cr_assert_eq(jsp_context_new(own, &on_0, &a), 0);
    cr_assert_eq(jsp_context_new(own, &on_1, &b), 0);
    expect_eval(a, "navigator.locks.request('v', () => new Promise(() => {})); 0", "0");
    expect_eval(b, "navigator.locks.request('v', {ifAvailable: true}, (l) => l === null)", "true");
    /* Checks run between the runtime's passes; a caller that answers at once can keep one
     * pass going for its whole slice (10 ms), so it pauses between calls. */
    for (int i = 0; i < 200 && !collector_has(&logs, "runtime 0 recycled its VM"); i++) {
        expect_eval(a, "1", "1");
        sleep_ms(1);
    }
    cr_assert(collector_has(&logs, "runtime 0 recycled its VM"));
    /* the callback that held it died with the old VM: the lock is free again */
    expect_eval(b, "navigator.locks.request('v', {ifAvailable: true}, (l) => l !== null)", "true");
    jsp_context_free(a);
    jsp_context_free(b);
    jsp_pool_free(own);
}

/* ---- namespaces ---- */

Test(locks, another_namespace_neither_sees_nor_contends_for_nor_steals_a_lock)
{
    jsp_context *a = locks_context_in(0, "tenant-a", 0), *peer = locks_context_in(1, "tenant-a", 0);
    jsp_context *b = locks_context_in(1, "tenant-b", 0);
    jsp_context *alone = locks_context_in(0, NULL, 0), *alone2 = locks_context_in(1, NULL, 0);
    hold(a, "L", "exclusive", "a");
    char held[128];
    snprintf(held, sizeof(held), "{\"held\":[[\"L\",\"exclusive\",\"%llu\"]],\"pending\":[]}",
             (unsigned long long)jsp_context_id(a));
    /* the same namespace sees it and contends for it ... */
    char *q = query_json(peer);
    cr_expect_str_eq(q, held);
    free(q);
    expect_eval(peer, "navigator.locks.request('L', {ifAvailable: true}, (l) => l === null)", "true");
    /* ... another namespace and private contexts see nothing, and get their own 'L' */
    const char *empty = "{\"held\":[],\"pending\":[]}";
    jsp_context *outsiders[] = {b, alone, alone2};
    for (int i = 0; i < 3; i++) {
        q = query_json(outsiders[i]);
        cr_expect_str_eq(q, empty);
        free(q);
        expect_eval(outsiders[i], "navigator.locks.request('L', {ifAvailable: true}, (l) => l !== null)", "true");
    }
    /* a steal from outside takes only its own namespace's 'L': a's critical section goes on */
    expect_eval(b, "navigator.locks.request('L', {steal: true}, (l) => l.mode)", "\"exclusive\"");
    expect_eval(alone, "navigator.locks.request('L', {steal: true}, (l) => l.mode)", "\"exclusive\"");
    expect_eval(a, "typeof outcome_a === 'object'", "true");
    q = query_json(peer);
    cr_expect_str_eq(q, held);
    free(q);
    /* two private contexts holding one name at once do not contend either */
    hold(alone, "P", "exclusive", "p1");
    hold(alone2, "P", "exclusive", "p2");
    expect_eval(alone, "release_p1(); outcome_p1", "\"released:undefined\"");
    expect_eval(alone2, "release_p2(); outcome_p2", "\"released:undefined\"");
    expect_eval(a, "release_a(); outcome_a", "\"released:undefined\"");
    jsp_context_free(a);
    jsp_context_free(peer);
    jsp_context_free(b);
    jsp_context_free(alone);
    jsp_context_free(alone2);
}

Test(locks, a_never_settling_holder_loses_its_lock_at_its_wall_limit)
{
    jsp_context *holder = locks_context_in(0, "w", 300), *waiter = locks_context_in(1, "w", 0);
    expect_eval(holder, "globalThis.outcome = navigator.locks.request('forever',"
                        "  () => { globalThis.grantedAt = Date.now(); return new Promise(() => {}); })"
                        "  .then(() => 'settled', (e) => e.name + ': ' + e.message); 0",
                "0");
    expect_eval(waiter, "navigator.locks.request('forever', {ifAvailable: true}, (l) => l === null)", "true");
    later_eval *waiting = eval_later(waiter, "navigator.locks.request('forever', () => Date.now())");
    cr_assert(later_is_done(waiting, 10000), "the lock was never freed");
    cr_assert_eq(waiting->result->code, 0);
    char *granted_at = eval_ok(holder, "grantedAt");
    double held = atof(waiting->result->json) - atof(granted_at); /* one clock: one process */
    free(granted_at);
    cr_expect(held >= 250 && held < 3000, "the lock was held %.0f ms for a 300 ms wall limit", held);
    later_free(waiting);
    expect_eval(holder, "outcome",
                "\"RangeError: the lock callback exceeded a limit of its context; the lock was released\"");
    cr_expect(collector_has(&logs, "lock held past the context's wall limit (300 ms): released"));
    /* the holder stays usable, and a lock it releases in time is not cut short */
    expect_eval(holder, "navigator.locks.request('forever', async (l) => { await null; return l.name; })",
                "\"forever\"");
    jsp_context_free(holder);
    jsp_context_free(waiter);
}

/* Names live in the pool's lock manager, outside every JS heap: 40 requests with 4 MiB
 * names held 825 MB of host memory before names were capped. */
Test(locks, lock_names_are_capped_in_length)
{
    jsp_context *ctx = locks_context_in(0, NULL, 0);
    expect_eval(ctx, "navigator.locks.request('x'.repeat(1025), () => 0).then(() => 'granted',"
                     "  (e) => [e instanceof RangeError, e.message])",
                "[true,\"LockManager.request: a lock name may be at most 1024 characters\"]");
    expect_eval(ctx, "navigator.locks.request('y'.repeat(1024), (l) => l.name.length)", "1024");
    jsp_context_free(ctx);
}

Test(locks, lock_requests_are_capped_per_context)
{
    jsp_context *ctx = locks_context_in(0, NULL, 0), *sibling = locks_context_in(1, NULL, 0);
    hold(ctx, "cap", "exclusive", "c");
    /* 1 held + 9,999 waiting = the cap of 10,000; the next ones reject at once */
    expect_eval(ctx, "globalThis.waiting = []; for (let i = 0; i < 9999; i++)"
                     "  waiting.push(navigator.locks.request('cap', () => i));"
                     "Promise.allSettled([1, 2].map(() => navigator.locks.request('other', () => 0)))"
                     "  .then((r) => r.map((x) => x.reason instanceof RangeError && x.reason.message))",
                "[\"LockManager.request: this context has 10000 lock requests held or pending, the most "
                "allowed; let some settle first\",\"LockManager.request: this context has 10000 lock requests "
                "held or pending, the most allowed; let some settle first\"]");
    expect_eval(sibling, "navigator.locks.request('cap', (l) => l.name)", "\"cap\"");
    /* as they settle the slots come back */
    expect_eval(ctx, "release_c(); Promise.all(waiting).then((v) => v.length)", "9999");
    expect_eval(ctx, "navigator.locks.request('other', (l) => l.name)", "\"other\"");
    jsp_context_free(ctx);
    jsp_context_free(sibling);
}
