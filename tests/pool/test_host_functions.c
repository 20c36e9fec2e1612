/* Host functions: JS host.call / host.callSync reach C handlers, answers come back from
 * any thread, failures become JS exceptions, and a waiting context never stalls others. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>

static jsp_pool *pool;

static void add_numbers(jsp_host_call *call, void *user)
{
    /* args is a JSON array like [2,3]: small enough to parse by hand here */
    double a = 0, b = 0;
    sscanf(jsp_host_call_args(call), "[%lf,%lf]", &a, &b);
    char json[64];
    snprintf(json, sizeof(json), "%g", a + b);
    jsp_host_call_resolve(call, json, strlen(json));
}

static void always_fails(jsp_host_call *call, void *user)
{
    jsp_host_call_reject(call, "disk on fire");
}

static void answers_bad_json(jsp_host_call *call, void *user)
{
    cr_assert_eq(jsp_host_call_resolve(call, "{oops", 5), JSP_EJSON);
}

static void *answer_later(void *arg)
{
    sleep_ms(30);
    jsp_host_call_resolve(arg, "\"late\"", 6);
    return NULL;
}

static void replies_from_another_thread(jsp_host_call *call, void *user)
{
    pthread_t t;
    pthread_create(&t, NULL, answer_later, call);
    pthread_detach(t);
}

static void describe_call(jsp_host_call *call, void *user)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"name\":\"%s\",\"ctx\":%llu,\"args\":%s}",
             jsp_host_call_name(call), (unsigned long long)jsp_host_call_context_id(call),
             jsp_host_call_args(call));
    jsp_host_call_resolve(call, json, strlen(json));
}

static jsp_host_call *parked_call;
static void never_answers_until_told(jsp_host_call *call, void *user)
{
    parked_call = call;
}

static void setup(void)
{
    pool = pool_for_test(1, NULL, NULL);
    cr_assert_eq(jsp_pool_register(pool, "add", add_numbers, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "fail", always_fails, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "badjson", answers_bad_json, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "later", replies_from_another_thread, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "describe", describe_call, NULL), 0);
    cr_assert_eq(jsp_pool_register(pool, "park", never_answers_until_told, NULL), 0);
}

static void teardown(void)
{
    jsp_pool_free(pool);
}

TestSuite(host, .init = setup, .fini = teardown, .timeout = 60);

Test(host, registering_twice_or_badly_is_refused)
{
    cr_assert_eq(jsp_pool_register(pool, "add", add_numbers, NULL), JSP_EEXIST);
    cr_assert_eq(jsp_pool_register(pool, "", add_numbers, NULL), JSP_EINVAL);
    cr_assert_eq(jsp_pool_register(pool, "x", NULL, NULL), JSP_EINVAL);
}

Test(host, call_returns_a_promise_of_the_answer)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "host.call('add', 2, 3).then(v => v * 10)");
    cr_assert_str_eq(json, "50");
    free(json);
    jsp_context_free(ctx);
}

Test(host, call_sync_returns_the_value)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "host.callSync('add', 40, 2)");
    cr_assert_str_eq(json, "42");
    free(json);
    jsp_context_free(ctx);
}

Test(host, handler_sees_name_context_and_json_arguments)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "JSON.stringify(host.callSync('describe', 1, 'two', {three: [3]}, () => 4))");
    char expected[256];
    snprintf(expected, sizeof(expected),
             "\"{\\\"name\\\":\\\"describe\\\",\\\"ctx\\\":%llu,\\\"args\\\":[1,\\\"two\\\",{\\\"three\\\":[3]},null]}\"",
             (unsigned long long)jsp_context_id(ctx));
    cr_assert_str_eq(json, expected);
    free(json);
    jsp_context_free(ctx);
}

Test(host, rejection_becomes_a_js_exception)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "try { host.callSync('fail'); 'no' } catch (e) { e.message }");
    cr_assert_str_eq(json, "\"disk on fire\"");
    free(json);
    json = eval_ok(ctx, "host.call('fail').then(() => 'no', e => e instanceof Error && e.message)");
    cr_assert_str_eq(json, "\"disk on fire\"");
    free(json);
    jsp_result *r;
    cr_assert_eq(eval_error(ctx, "host.call('fail')", &r), JSP_EJS);
    cr_assert_str_eq(r->error_message, "disk on fire");
    jsp_result_free(r);
    jsp_context_free(ctx);
}

Test(host, unknown_host_function_is_a_type_error)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "try { host.callSync('missing'); } catch (e) { e.name }");
    cr_assert_str_eq(json, "\"TypeError\"");
    free(json);
    json = eval_ok(ctx, "host.call('missing').catch(e => e.name)");
    cr_assert_str_eq(json, "\"TypeError\"");
    free(json);
    json = eval_ok(ctx, "try { host.call(42) } catch (e) { e.name }");
    cr_assert_str_eq(json, "\"TypeError\"");
    free(json);
    jsp_context_free(ctx);
}

Test(host, invalid_json_answer_becomes_an_error_in_js)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx, "try { host.callSync('badjson'); } catch (e) { e.message }");
    cr_assert(strstr(json, "invalid JSON") != NULL, "%s", json);
    free(json);
    jsp_context_free(ctx);
}

Test(host, answers_from_another_thread_resolve_both_forms)
{
    jsp_context *ctx = context_for_test(pool);
    char *a = eval_ok(ctx, "host.call('later')");
    char *b = eval_ok(ctx, "host.callSync('later')");
    cr_assert_str_eq(a, "\"late\"");
    cr_assert_str_eq(b, "\"late\"");
    free(a), free(b);
    jsp_context_free(ctx);
}

typedef struct eval_job {
    jsp_context *ctx;
    const char *source;
    char *json;
} eval_job;

static void *eval_thread(void *arg)
{
    eval_job *job = arg;
    jsp_result *r = NULL;
    jsp_eval(job->ctx, job->source, -1, &r);
    job->json = strdup(r->code == 0 ? r->json : r->error_message);
    jsp_result_free(r);
    return NULL;
}

Test(host, siblings_keep_answering_while_one_context_waits_in_call_sync)
{
    jsp_context *waiting = context_for_test(pool);
    jsp_context *sibling = context_for_test(pool); /* same (only) runtime */
    free(eval_ok(sibling, "var ticks = 0; setInterval(() => ticks++, 1);"));
    parked_call = NULL;
    eval_job job = {waiting, "host.callSync('park')", NULL};
    pthread_t t;
    pthread_create(&t, NULL, eval_thread, &job);
    while (!__atomic_load_n(&parked_call, __ATOMIC_ACQUIRE))
        sleep_ms(1);
    for (int i = 0; i < 50; i++) {
        char *json = eval_ok(sibling, "1 + 1");
        cr_assert_str_eq(json, "2");
        free(json);
    }
    sleep_ms(30);
    char *ticks = eval_ok(sibling, "ticks > 5");
    cr_assert_str_eq(ticks, "true", "timers of siblings stalled during callSync");
    free(ticks);
    /* jobs for the waiting context queue up behind it, in order */
    cr_assert_eq(jsp_send(waiting, "1", -1), 0);
    jsp_host_call_resolve(parked_call, "\"released\"", 10);
    pthread_join(t, NULL);
    cr_assert_str_eq(job.json, "\"released\"");
    free(job.json);
    jsp_context_free(waiting);
    jsp_context_free(sibling);
}

Test(host, call_sync_is_serialised_per_thread_and_all_answer)
{
    enum { N = 8 };
    jsp_context *ctxs[N];
    eval_job jobs[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        ctxs[i] = context_for_test(pool);
        jobs[i] = (eval_job){ctxs[i], "host.callSync('later') + host.callSync('add', 1, 1)", NULL};
        pthread_create(&threads[i], NULL, eval_thread, &jobs[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_str_eq(jobs[i].json, "\"late2\"");
        free(jobs[i].json);
        jsp_context_free(ctxs[i]);
    }
}

Test(host, hundred_concurrent_host_calls_all_resolve)
{
    jsp_context *ctx = context_for_test(pool);
    char *json = eval_ok(ctx,
                         "Promise.all(Array.from({length: 100}, (_, i) => host.call('add', i, 1)))"
                         ".then(a => a.reduce((s, x) => s + x, 0))");
    cr_assert_str_eq(json, "5050");
    free(json);
    jsp_context_free(ctx);
}

Test(host, answer_after_context_destroyed_is_discarded_safely)
{
    jsp_context *ctx = context_for_test(pool);
    parked_call = NULL;
    free(eval_ok(ctx, "host.call('park'); 1"));
    cr_assert_not_null(parked_call);
    jsp_context_free(ctx);
    sleep_ms(10);
    jsp_host_call_resolve(parked_call, "1", 1); /* must not crash or leak */
}

Test(host, answer_after_pool_closed_is_discarded_safely)
{
    jsp_pool *p = pool_for_test(1, NULL, NULL);
    cr_assert_eq(jsp_pool_register(p, "park", never_answers_until_told, NULL), 0);
    jsp_context *ctx = context_for_test(p);
    parked_call = NULL;
    free(eval_ok(ctx, "host.call('park'); 1"));
    jsp_context_free(ctx);
    jsp_pool_free(p);
    jsp_host_call_reject(parked_call, "too late"); /* the pool is gone: no crash, no leak */
}
