/* Tests for the engine's host interface (src/engine/engine_host.h), run against a fake
 * host: this suite links jspool_engine only (the engine, the API groups and util), never
 * the runtime or the pool, so it shows the engine works through its operations table
 * alone. Each test runs guest JS and checks what reached the fake, and that what the fake
 * answers reaches the JS. */
#include "apis/api_groups.h"
#include "engine/engine.h"
#include "engine/engine_host.h"
#include "engine/engine_locks.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* The fake host's object for a context: the engine only ever hands it back. */
struct engine_host_ctx {
    int entered, left, depth, max_depth;
    int timers_set;
    double timer_delay_ms;
    bool timer_is_repeating;
    engine_callback *timer_cb;
    uint64_t next_timer_answer; /* what set_timer returns */
    uint64_t cleared_timer;
    char *sent;                 /* last host.send JSON */
    int settled_count;
    uint64_t settled_id;
    jsp_result *settled;
    char *call_name, *call_args;
    engine_host_promise *call_promise;
    int sync_rc;
    const char *sync_reply;
    int log_level;
    char *logged;
    char *subscribed, *posted_key, *unsubscribed; /* BroadcastChannel keys (JSON text) */
    size_t posted_len;
    char *spawned_source, *spawned_name;
    uint64_t worker_posted, worker_terminated;
    char lock_name[16];
    uint64_t lock_released;
};

static engine_host_ctx fake;
static engine_vm *vm;
static engine_ctx *ec;

static void fake_call_settled(engine_host_ctx *h, uint64_t call_id, jsp_result *result)
{
    h->settled_count++;
    h->settled_id = call_id;
    jsp_result_free(h->settled);
    h->settled = result;
}

static void fake_entered(engine_host_ctx *h)
{
    if (!h)
        return; /* the VM's home context */
    h->entered++;
    if (++h->depth > h->max_depth)
        h->max_depth = h->depth;
}

static void fake_left(engine_host_ctx *h)
{
    if (!h)
        return;
    h->left++;
    h->depth--;
}

static uint64_t fake_set_timer(engine_host_ctx *h, engine_callback *cb, double delay_ms,
                               bool is_repeating)
{
    h->timers_set++;
    h->timer_delay_ms = delay_ms;
    h->timer_is_repeating = is_repeating;
    if (h->next_timer_answer == ENGINE_TIMER_CAPPED) {
        engine_callback_free(cb);
        return ENGINE_TIMER_CAPPED;
    }
    if (h->timer_cb)
        engine_callback_free(h->timer_cb);
    h->timer_cb = cb;
    return h->next_timer_answer;
}

static void fake_clear_timer(engine_host_ctx *h, uint64_t timer_id)
{
    h->cleared_timer = timer_id;
}

static int fake_host_call(engine_host_ctx *h, const char *name, char *args_json, size_t args_len,
                          engine_host_promise *p)
{
    if (strcmp(name, "missing") == 0) {
        free(args_json);
        return JSP_ENOTFOUND;
    }
    h->call_name = strdup(name);
    h->call_args = args_json;
    h->call_promise = p;
    return 0;
}

static int fake_host_call_sync(engine_host_ctx *h, const char *name, char *args_json,
                               size_t args_len, char **reply, size_t *reply_len)
{
    h->call_name = strdup(name);
    h->call_args = args_json;
    if (h->sync_reply) {
        *reply = strdup(h->sync_reply);
        *reply_len = strlen(h->sync_reply);
    }
    return h->sync_rc;
}

static void fake_host_send(engine_host_ctx *h, const char *json, size_t len)
{
    free(h->sent);
    h->sent = strndup(json, len);
}

static void fake_log(engine_host_ctx *h, int level, const char *message)
{
    if (!h)
        return;
    h->log_level = level;
    free(h->logged);
    h->logged = strdup(message);
}

static int fake_subscribe(engine_host_ctx *h, const char *key)
{
    free(h->subscribed);
    h->subscribed = strdup(key);
    return 0;
}

static void fake_unsubscribe(engine_host_ctx *h, const char *key)
{
    free(h->unsubscribed);
    h->unsubscribed = strdup(key);
}

static void fake_broadcast_post(engine_host_ctx *h, const char *key, const char *data, size_t len)
{
    free(h->posted_key);
    h->posted_key = strdup(key);
    h->posted_len = len;
}

static bool fake_broadcast_has_peers(engine_host_ctx *h, const char *key)
{
    return true; /* as if another context listened: the post is serialized and sent */
}

static int fake_worker_spawn(engine_host_ctx *h, const char *source, size_t len, const char *name,
                             uint64_t *id)
{
    h->spawned_source = strndup(source, len);
    h->spawned_name = strdup(name);
    *id = 7;
    return 0;
}

static void fake_worker_post(engine_host_ctx *h, uint64_t id, const char *data, size_t len)
{
    h->worker_posted = id;
}

static void fake_worker_terminate(engine_host_ctx *h, uint64_t id)
{
    h->worker_terminated = id;
}

static int fake_lock_request(engine_host_ctx *h, const uint16_t *name, size_t name_len,
                             bool is_shared, bool if_available, bool steal, uint64_t *request_id)
{
    size_t i = 0;
    for (; i < name_len && i + 1 < sizeof(h->lock_name); i++)
        h->lock_name[i] = (char)name[i]; /* ASCII names in these tests */
    h->lock_name[i] = '\0';
    *request_id = 11;
    return 0;
}

static void fake_lock_release(engine_host_ctx *h, uint64_t request_id)
{
    h->lock_released = request_id;
}

static const engine_host_ops fake_ops = {
    .call_settled = fake_call_settled,
    .context_entered = fake_entered,
    .context_left = fake_left,
    .set_timer = fake_set_timer,
    .clear_timer = fake_clear_timer,
    .host_call = fake_host_call,
    .host_call_sync = fake_host_call_sync,
    .host_send = fake_host_send,
    .log = fake_log,
    .broadcast_subscribe = fake_subscribe,
    .broadcast_unsubscribe = fake_unsubscribe,
    .broadcast_post = fake_broadcast_post,
    .broadcast_has_peers = fake_broadcast_has_peers,
    .worker_spawn = fake_worker_spawn,
    .worker_post = fake_worker_post,
    .worker_terminate = fake_worker_terminate,
    .lock_request = fake_lock_request,
    .lock_release = fake_lock_release,
    /* the worker child side, lock abort and query are not reached by these tests */
};

static void setup(void)
{
    memset(&fake, 0, sizeof(fake));
    fake.next_timer_answer = 17;
    vm = engine_vm_new(&fake_ops);
    cr_assert_not_null(vm);
    uint32_t apis = 0;
    char error[256];
    cr_assert(api_groups_resolve("console,timers,channel,worker,locks", &apis, error, sizeof(error)), "%s", error);
    ec = engine_ctx_new(vm, &fake, apis, false);
    cr_assert_not_null(ec);
}

static void teardown(void)
{
    if (fake.timer_cb)
        engine_callback_free(fake.timer_cb);
    if (fake.call_promise)
        engine_host_promise_free(fake.call_promise);
    engine_ctx_free(ec);
    engine_vm_free(vm);
    jsp_result_free(fake.settled);
    free(fake.sent);
    free(fake.call_name);
    free(fake.call_args);
    free(fake.logged);
    free(fake.subscribed);
    free(fake.posted_key);
    free(fake.unsubscribed);
    free(fake.spawned_source);
    free(fake.spawned_name);
}

TestSuite(engine_host, .init = setup, .fini = teardown);

/* Evaluates source and expects a finished value with this JSON. */
static void expect_json(const char *source, const char *json)
{
    jsp_result *r = engine_eval(ec, source, strlen(source), NULL, 1);
    cr_assert_not_null(r, "<%s> is still pending", source);
    cr_assert_eq(r->code, 0, "<%s> failed: %s", source, r->error_message);
    cr_assert_str_eq(r->json, json, "<%s>", source);
    jsp_result_free(r);
}

/* Evaluates source and expects it to throw an error of this name whose message contains
 * the text. */
static void expect_error(const char *source, const char *name, const char *text)
{
    jsp_result *r = engine_eval(ec, source, strlen(source), NULL, 1);
    cr_assert_not_null(r);
    cr_assert_eq(r->code, JSP_EJS, "<%s> gave %d", source, r->code);
    cr_assert_str_eq(r->error_name, name);
    cr_assert_not_null(strstr(r->error_message, text), "message: %s", r->error_message);
    jsp_result_free(r);
}

Test(engine_host, set_timeout_reaches_set_timer_and_its_callback_runs)
{
    expect_json("setTimeout(function (a) { host.send({fired: a}) }, 25, 'x')", "17");
    cr_assert_eq(fake.timers_set, 1);
    cr_assert_float_eq(fake.timer_delay_ms, 25.0, 1e-9);
    cr_assert_not(fake.timer_is_repeating);
    cr_assert_not_null(fake.timer_cb);
    cr_assert_null(fake.sent, "the callback ran before the host fired it");
    engine_callback_invoke(ec, fake.timer_cb);
    cr_assert_str_eq(fake.sent, "{\"fired\":\"x\"}");
}

Test(engine_host, set_interval_and_clear_reach_the_host)
{
    expect_json("setInterval(function () {}, -5)", "17");
    cr_assert(fake.timer_is_repeating);
    cr_assert_float_eq(fake.timer_delay_ms, 0.0, 1e-9, "a negative delay is 0");
    expect_json("clearInterval(17); clearTimeout('nonsense'); 0", "0");
    cr_assert_eq(fake.cleared_timer, 17);
}

Test(engine_host, a_capped_timer_throws_a_range_error_in_js)
{
    fake.next_timer_answer = ENGINE_TIMER_CAPPED;
    expect_error("setTimeout(function () {}, 1)", "RangeError", "too many live timers");
}

Test(engine_host, host_send_reaches_the_host_as_json)
{
    expect_json("host.send({a: [1, 'two']}); 1", "1");
    cr_assert_str_eq(fake.sent, "{\"a\":[1,\"two\"]}");
    expect_error("host.send(1n)", "TypeError", "cannot be serialised");
}

Test(engine_host, a_settled_promise_reaches_call_settled)
{
    const char *source = "Promise.resolve(41).then(function (x) { return x + 1 })";
    jsp_result *r = engine_eval(ec, source, strlen(source), NULL, 9);
    cr_assert_null(r, "a Promise is pending when the eval returns");
    if (!fake.settled) /* its reactions run at the next entry at the latest */
        jsp_result_free(engine_eval(ec, "0", 1, NULL, 0));
    cr_assert_eq(fake.settled_count, 1);
    cr_assert_eq(fake.settled_id, 9);
    cr_assert_eq(fake.settled->code, 0);
    cr_assert_str_eq(fake.settled->json, "42");
}

Test(engine_host, host_call_reaches_the_host_and_its_answer_settles_the_call)
{
    const char *source = "host.call('lookup', 1, 'x').then(function (v) { return v.n + 1 })";
    jsp_result *r = engine_eval(ec, source, strlen(source), NULL, 3);
    cr_assert_null(r);
    cr_assert_str_eq(fake.call_name, "lookup");
    cr_assert_str_eq(fake.call_args, "[1,\"x\"]");
    cr_assert_not_null(fake.call_promise);
    cr_assert_eq(fake.settled_count, 0, "settled before the host answered");
    engine_host_promise *p = fake.call_promise;
    fake.call_promise = NULL;
    engine_host_promise_settle(ec, p, true, "{\"n\":4}", 7);
    if (!fake.settled)
        jsp_result_free(engine_eval(ec, "0", 1, NULL, 0));
    cr_assert_eq(fake.settled_id, 3);
    cr_assert_str_eq(fake.settled->json, "5");
}

Test(engine_host, host_call_of_an_unknown_name_rejects_with_a_type_error)
{
    const char *source = "host.call('missing').catch(function (e) { return e.name + ': ' + e.message })";
    jsp_result *r = engine_eval(ec, source, strlen(source), NULL, 4);
    if (!r && !fake.settled)
        jsp_result_free(engine_eval(ec, "0", 1, NULL, 0));
    jsp_result *got = r ? r : fake.settled;
    cr_assert_not_null(got);
    cr_assert_str_eq(got->json, "\"TypeError: host.call: no host function registered under that name\"");
    jsp_result_free(r);
}

Test(engine_host, host_call_sync_returns_the_hosts_reply_or_throws_its_error)
{
    fake.sync_reply = "[1,2,3]";
    expect_json("host.callSync('list', {k: true}).length", "3");
    cr_assert_str_eq(fake.call_name, "list");
    cr_assert_str_eq(fake.call_args, "[{\"k\":true}]");
    free(fake.call_name);
    free(fake.call_args);
    fake.sync_rc = JSP_EJS;
    fake.sync_reply = "denied";
    expect_error("host.callSync('list')", "Error", "denied");
}

Test(engine_host, console_reaches_the_hosts_log)
{
    expect_json("console.warn('careful', 2); 0", "0");
    cr_assert_eq(fake.log_level, JSP_LOG_WARN);
    cr_assert_str_eq(fake.logged, "careful 2");
}

Test(engine_host, every_entry_is_paired_with_a_leave)
{
    expect_json("[1, 2].map(function (x) { return x * 2 })", "[2,4]");
    cr_assert_gt(fake.entered, 0);
    cr_assert_eq(fake.entered, fake.left);
    cr_assert_eq(fake.depth, 0);
    cr_assert_eq(fake.max_depth, 1);
}

Test(engine_host, a_broadcast_channel_reaches_subscribe_post_and_unsubscribe)
{
    expect_json("const c = new BroadcastChannel('news'); c.postMessage({n: 1}); c.close(); 0", "0");
    cr_assert_str_eq(fake.subscribed, "\"news\"");
    cr_assert_str_eq(fake.posted_key, "\"news\"");
    cr_assert_gt(fake.posted_len, 0, "the message's serialized data reached the host");
    cr_assert_str_eq(fake.unsubscribed, "\"news\"");
}

Test(engine_host, a_worker_reaches_spawn_post_and_terminate_with_the_hosts_id)
{
    expect_json("const w = new Worker('postMessage(1)', {name: 'w1'}); w.postMessage(5); w.terminate(); 0", "0");
    cr_assert_str_eq(fake.spawned_source, "postMessage(1)");
    cr_assert_str_eq(fake.spawned_name, "w1");
    cr_assert_eq(fake.worker_posted, 7);
    cr_assert_eq(fake.worker_terminated, 7);
}

Test(engine_host, a_lock_request_reaches_the_host_and_its_grant_runs_the_callback)
{
    expect_json("globalThis.ran = 0; navigator.locks.request('res', () => { ran++; return 'done' }); 0", "0");
    cr_assert_str_eq(fake.lock_name, "res");
    cr_assert_eq(fake.lock_released, 0, "released before it was granted");
    cr_assert(engine_locks_deliver(ec, 11, ENGINE_LOCK_GRANTED), "the JS did not know request 11");
    expect_json("ran", "1");
    cr_assert_eq(fake.lock_released, 11, "the lock was not released after its callback");
}

/* The globals a context lists (what a tenant sees), as JSON; the caller frees it. */
static char *listed_globals(engine_ctx *of)
{
    jsp_result *r = engine_globals_list(of);
    cr_assert(r && r->code == 0, "globals list failed");
    char *json = strdup(r->json);
    jsp_result_free(r);
    return json;
}

/* A spare is made in two idle steps (a bare global, then its install): a context that
 * takes one before its install, one after it, and one made on demand list the same
 * globals and run the same code. */
Test(engine_host, a_context_from_a_spare_taken_before_or_after_its_install_is_complete)
{
    uint32_t apis = 0;
    char error[256];
    cr_assert(api_groups_resolve("console,timers,channel,worker,locks", &apis, error, sizeof(error)), "%s", error);
    char *expected = listed_globals(ec);
    cr_assert(engine_vm_prepare_spare(vm, apis)); /* bare */
    engine_ctx *early = engine_ctx_new(vm, &fake, apis, true);
    cr_assert_eq(engine_vm_spare_count(vm), 0, "the bare spare was not taken");
    cr_assert(engine_vm_prepare_spare(vm, apis));
    cr_assert(engine_vm_install_spare(vm));
    cr_assert_not(engine_vm_install_spare(vm), "nothing is left to install");
    engine_ctx *late = engine_ctx_new(vm, &fake, apis, true);
    cr_assert_eq(engine_vm_spare_count(vm), 0, "the installed spare was not taken");
    engine_ctx *contexts[] = {early, late};
    for (int i = 0; i < 2; i++) {
        char *got = listed_globals(contexts[i]);
        cr_expect_str_eq(got, expected, "context %d", i);
        free(got);
        static const char source[] = "typeof setTimeout + ' ' + typeof MessageChannel";
        jsp_result *r = engine_eval(contexts[i], source, strlen(source), NULL, 1);
        cr_assert_not_null(r, "context %d: pending", i);
        cr_expect(r->code == 0 && strcmp(r->json, "\"function function\"") == 0, "context %d: %s", i,
                  r->json ? r->json : r->error_message);
        jsp_result_free(r);
        engine_ctx_free(contexts[i]);
    }
    free(expected);
}

/* Spares left in the stock, installed or not, go with their VM (ASan: nothing leaks). */
Test(engine_host, spares_left_bare_or_installed_are_freed_with_the_vm)
{
    cr_assert(engine_vm_prepare_spare(vm, 0));
    cr_assert(engine_vm_prepare_spare(vm, 0));
    cr_assert(engine_vm_install_spare(vm));
    cr_expect_eq(engine_vm_spare_count(vm), 2);
}
