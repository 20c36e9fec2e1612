/* embedding.c — the jspool C API in one page: a pool, a host function, a module with
 * exported functions, sync and async calls, messages both ways, and clean shutdown.
 * Built and run by the tests (ctest -R example), so it stays true. */
#include <jspool.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* A host function JS calls as host.call('greet', name) or host.callSync(...). It may
 * answer now or later from any thread; here it answers at once. */
static void greet(jsp_host_call *call, void *user)
{
    char reply[256];
    snprintf(reply, sizeof(reply), "{\"greeting\":\"hello\",\"args\":%s}", jsp_host_call_args(call));
    jsp_host_call_resolve(call, reply, strlen(reply));
}

/* Values JS sends with host.send(value) arrive here, on the runtime thread. */
static void on_message(jsp_pool *pool, uint64_t context_id, const char *json, size_t len,
                       void *user)
{
    printf("message from context %llu: %.*s\n", (unsigned long long)context_id, (int)len, json);
}

static pthread_mutex_t done_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int async_done;

/* Async completions also run on the runtime thread: keep them short. */
static void on_async_result(jsp_result *result, void *user)
{
    printf("async %s -> %s\n", (const char *)user, result->code == 0 ? result->json : result->error_message);
    jsp_result_free(result);
    pthread_mutex_lock(&done_mutex);
    async_done = 1;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_mutex);
}

static const char *module_source =
    "let total = 0;\n"
    "export function add(n) { total += n; return total; }\n"
    "export async function welcome(name) {\n"
    "  const r = await host.call('greet', name);\n"
    "  return `${r.greeting}, ${r.args[0]}`;\n"
    "}\n"
    "globalThis.onmessage = (event) => host.send({ got: event.data, total });\n";

int main(void)
{
    jsp_pool_config config = {.threads = 2, .on_message = on_message};
    jsp_pool *pool;
    int rc = jsp_pool_new(&config, &pool);
    if (rc != 0) {
        fprintf(stderr, "pool: %s\n", jsp_strerror(rc));
        return 1;
    }
    jsp_pool_register(pool, "greet", greet, NULL);

    jsp_context *ctx;
    jsp_context_config ctx_config = {.name = "example"};
    if ((rc = jsp_context_new(pool, &ctx_config, &ctx)) != 0) {
        fprintf(stderr, "context: %s\n", jsp_strerror(rc));
        jsp_pool_free(pool);
        return 1;
    }

    jsp_result *r;
    rc = jsp_load_module(ctx, module_source, -1, &r);
    printf("exports: %s\n", rc == 0 ? r->json : r->error_message);
    jsp_result_free(r);

    rc = jsp_call(ctx, "add", "[40]", -1, &r);
    jsp_result_free(r);
    rc |= jsp_call(ctx, "add", "[2]", -1, &r);
    printf("add -> %s\n", rc == 0 ? r->json : r->error_message);
    jsp_result_free(r);

    /* Errors are values with a stable code, the JS name and message. */
    rc = jsp_eval(ctx, "null.boom", -1, &r);
    printf("error: %s (%s: %s)\n", jsp_error_id(rc), r->error_name, r->error_message);
    jsp_result_free(r);

    jsp_call_async(ctx, "welcome", "[\"world\"]", -1, on_async_result, "welcome");
    pthread_mutex_lock(&done_mutex);
    while (!async_done)
        pthread_cond_wait(&done_cond, &done_mutex);
    pthread_mutex_unlock(&done_mutex);

    jsp_send(ctx, "{\"ping\":1}", -1);
    /* A sync call queued after the message returns after the message was handled. */
    jsp_eval(ctx, "0", -1, &r);
    jsp_result_free(r);

    jsp_context_free(ctx);
    jsp_pool_free(pool);
    return 0;
}
