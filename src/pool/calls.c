/* calls.c — the public call API: validates input once at the boundary, turns each call
 * into a job for the context's runtime, and builds the synchronous forms on top of the
 * asynchronous ones with a completion the caller waits on. */
#include "pool/api_guard.h"
#include "util/result.h"
#include "util/json_check.h"
#include "util/utf8.h"

#include <string.h>

typedef struct call_input {
    job_kind kind;
    const char *text;
    long text_len;     /* -1 = NUL-terminated */
    const char *name;  /* function or global name, or NULL */
    bool is_text_required; /* source or message: NULL is an error, not "nothing" */
    uint64_t message_tag;  /* JOB_SEND: jsp_send_tagged's tag */
    int64_t read_limit;    /* JOB_STORE_READ: rows per page; JOB_DOM_QUERY: elements */
    int query_mode;        /* JOB_DOM_QUERY: enum job_dom_mode */
} call_input;

static int check_context(jsp_context *ctx)
{
    if (atomic_load(&ctx->pool->is_closed))
        return JSP_ECLOSED;
    if (atomic_load(&ctx->state) != CONTEXT_ALIVE)
        return JSP_EDESTROYED;
    return 0;
}

/* Builds and queues a job; on success done will run exactly once. */
static int submit(jsp_context *ctx, const call_input *in, jsp_done_fn done, void *user)
{
    if (!api_context_ok(ctx))
        return JSP_EINVAL;
    const char *text = in->text ? in->text : "";
    size_t len = in->text_len < 0 ? strlen(text) : (size_t)in->text_len;
    if (in->text_len < -1 || (in->is_text_required && !in->text))
        return JSP_EINVAL;
    if (in->name && (!*in->name || !utf8_is_valid(in->name, strlen(in->name))))
        return *in->name ? JSP_EUTF8 : JSP_EINVAL;
    if (!utf8_is_valid(text, len))
        return JSP_EUTF8;
    /* Messages and call arguments meet the same depth limit. Arguments shorter than
     * 2 × (limit + 2) bytes cannot break it (each level takes two brackets), so the common
     * small call pays nothing (the check costs ~10 ns a byte); their syntax is the
     * engine's parser's to check, as before. */
    if ((in->kind == JOB_SEND && !json_is_valid(text, len)) ||
        (in->kind == JOB_CALL && len >= 2 * (JSP_JSON_MAX_DEPTH + 2) && !json_is_valid_arguments(text, len)))
        return JSP_EJSON;
    int rc = check_context(ctx);
    if (rc != 0)
        return rc;
    if (atomic_fetch_add(&ctx->queued_jobs, 1) >= ctx->pool->config.max_queued_jobs) {
        atomic_fetch_sub(&ctx->queued_jobs, 1);
        return JSP_EBUSY;
    }
    size_t bytes = len + 1;
    size_t max_bytes = ctx->pool->config.max_queued_bytes;
    if (atomic_fetch_add(&ctx->queued_message_bytes, bytes) + bytes > max_bytes) {
        atomic_fetch_sub(&ctx->queued_message_bytes, bytes);
        atomic_fetch_sub(&ctx->queued_jobs, 1);
        return JSP_EBUSY;
    }
    job *j = job_new(in->kind, ctx, text, len, in->name);
    if (!j) {
        atomic_fetch_sub(&ctx->queued_message_bytes, bytes);
        atomic_fetch_sub(&ctx->queued_jobs, 1);
        return JSP_ENOMEM;
    }
    j->message_bytes = bytes; /* given back when the job is freed */
    j->done = done;
    j->user = user;
    j->message_tag = in->message_tag;
    j->read_limit = in->read_limit;
    j->query_mode = in->query_mode;
    rc = job_queue_push(&ctx->rt->queue, j);
    if (rc != 0) {
        atomic_fetch_sub(&ctx->queued_jobs, 1);
        job_free(j);
    }
    return rc;
}

static void signal_completion(jsp_result *result, void *user)
{
    completion_signal(user, result);
}

static int submit_and_wait(jsp_context *ctx, const call_input *in, jsp_result **out)
{
    if (!out)
        return JSP_EINVAL;
    *out = NULL;
    int rc = runtime_is_current_thread() ? JSP_EINVAL : 0;
    completion done;
    completion_init(&done);
    if (rc == 0)
        rc = submit(ctx, in, signal_completion, &done);
    if (rc != 0) {
        *out = result_error(rc, NULL, rc == JSP_EINVAL && runtime_is_current_thread()
                                          ? "synchronous call from a runtime thread"
                                          : NULL);
        return rc;
    }
    *out = completion_wait(&done, ctx->pool->wait_spin);
    return (*out)->code;
}

#define INPUT(k, t, l, n)                                                                  \
    (&(call_input){.kind = (k), .text = (t), .text_len = (l), .name = (n),                 \
                   .is_text_required = (k) == JOB_EVAL || (k) == JOB_LOAD_MODULE ||         \
                                       (k) == JOB_SEND})

int jsp_eval(jsp_context *ctx, const char *source, long source_len, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_EVAL, source, source_len, NULL), out);
}

int jsp_eval_async(jsp_context *ctx, const char *source, long source_len, jsp_done_fn done,
                   void *user)
{
    if (!done)
        return JSP_EINVAL;
    return submit(ctx, INPUT(JOB_EVAL, source, source_len, NULL), done, user);
}

int jsp_load_module(jsp_context *ctx, const char *source, long source_len, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_LOAD_MODULE, source, source_len, NULL), out);
}

int jsp_eval_named(jsp_context *ctx, const char *source, long source_len, const char *source_name,
                   jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_EVAL, source, source_len, source_name), out);
}

int jsp_load_module_named(jsp_context *ctx, const char *source, long source_len,
                          const char *source_name, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_LOAD_MODULE, source, source_len, source_name), out);
}

int jsp_load_module_async(jsp_context *ctx, const char *source, long source_len,
                          jsp_done_fn done, void *user)
{
    if (!done)
        return JSP_EINVAL;
    return submit(ctx, INPUT(JOB_LOAD_MODULE, source, source_len, NULL), done, user);
}

int jsp_call(jsp_context *ctx, const char *function, const char *args_json, long args_len,
             jsp_result **out)
{
    if (!function) {
        if (out)
            *out = result_error(JSP_EINVAL, NULL, "function name is NULL");
        return JSP_EINVAL;
    }
    return submit_and_wait(ctx, INPUT(JOB_CALL, args_json, args_len, function), out);
}

int jsp_call_async(jsp_context *ctx, const char *function, const char *args_json,
                   long args_len, jsp_done_fn done, void *user)
{
    if (!function || !done)
        return JSP_EINVAL;
    return submit(ctx, INPUT(JOB_CALL, args_json, args_len, function), done, user);
}

int jsp_send(jsp_context *ctx, const char *json, long json_len)
{
    if (!json)
        return JSP_EINVAL;
    return submit(ctx, INPUT(JOB_SEND, json, json_len, NULL), NULL, NULL);
}

int jsp_send_tagged(jsp_context *ctx, const char *json, long json_len, uint64_t tag)
{
    if (!json)
        return JSP_EINVAL;
    call_input in = *INPUT(JOB_SEND, json, json_len, NULL);
    in.message_tag = tag;
    return submit(ctx, &in, NULL, NULL);
}

uint64_t jsp_message_tag(void)
{
    return runtime_current_message_tag();
}

int jsp_global_get(jsp_context *ctx, const char *name, jsp_result **out)
{
    if (!name) {
        if (out)
            *out = result_error(JSP_EINVAL, NULL, "global name is NULL");
        return JSP_EINVAL;
    }
    return submit_and_wait(ctx, INPUT(JOB_GLOBAL_GET, NULL, 0, name), out);
}

int jsp_globals_list(jsp_context *ctx, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_GLOBALS_LIST, NULL, 0, NULL), out);
}

int jsp_globals_snapshot(jsp_context *ctx, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_GLOBALS_SNAPSHOT, NULL, 0, NULL), out);
}

int jsp_globals_reset(jsp_context *ctx, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_GLOBALS_RESET, NULL, 0, NULL), out);
}

int jsp_globals_reset_async(jsp_context *ctx, jsp_done_fn done, void *user)
{
    if (!done)
        return JSP_EINVAL;
    return submit(ctx, INPUT(JOB_GLOBALS_RESET, NULL, 0, NULL), done, user);
}

/* ---- the store from outside ---- */

int jsp_store_tables(jsp_context *ctx, jsp_result **out)
{
    return submit_and_wait(ctx, INPUT(JOB_STORE_READ, NULL, 0, NULL), out);
}

int jsp_store_tables_async(jsp_context *ctx, jsp_done_fn done, void *user)
{
    if (!done)
        return JSP_EINVAL;
    return submit(ctx, INPUT(JOB_STORE_READ, NULL, 0, NULL), done, user);
}

static const call_input *rows_input(call_input *in, const char *table, const char *after_json, long limit)
{
    *in = (call_input){.kind = JOB_STORE_READ, .text = after_json, .text_len = -1, .name = table,
                       .read_limit = limit == 0 ? 100 : limit};
    return in;
}

int jsp_store_rows(jsp_context *ctx, const char *table, const char *after_json, long limit, jsp_result **out)
{
    if (!table || limit < 0 || limit > 1000) {
        if (out)
            *out = result_error(JSP_EINVAL, NULL, !table ? "table is NULL" : "limit must be 0..1000");
        return JSP_EINVAL;
    }
    call_input in;
    return submit_and_wait(ctx, rows_input(&in, table, after_json, limit), out);
}

int jsp_store_rows_async(jsp_context *ctx, const char *table, const char *after_json, long limit,
                         jsp_done_fn done, void *user)
{
    if (!done || !table || limit < 0 || limit > 1000)
        return JSP_EINVAL;
    call_input in;
    return submit(ctx, rows_input(&in, table, after_json, limit), done, user);
}

/* ---- the DOM from outside ---- */

static int dom_query(jsp_context *ctx, const char *selector, int mode, long limit, jsp_result **out)
{
    if (!selector || limit < 0 || limit > JSP_DOM_MAX_FIND_ALL) {
        if (out)
            *out = result_error(JSP_EINVAL, NULL, !selector ? "selector is NULL" : "limit is out of range");
        return JSP_EINVAL;
    }
    call_input in = {.kind = JOB_DOM_QUERY, .text = selector, .text_len = -1, .is_text_required = true,
                     .query_mode = mode, .read_limit = limit ? limit : 100};
    return submit_and_wait(ctx, &in, out);
}

int jsp_dom_query_async(jsp_context *ctx, const char *selector, jsp_dom_answer what, long limit,
                        jsp_done_fn done, void *user)
{
    if (!done || !selector || (int)what < JSP_DOM_FIND || what > JSP_DOM_HTML || limit < 0 ||
        limit > JSP_DOM_MAX_FIND_ALL)
        return JSP_EINVAL;
    call_input in = {.kind = JOB_DOM_QUERY, .text = selector, .text_len = -1, .is_text_required = true,
                     .query_mode = (int)what, .read_limit = what != JSP_DOM_FIND_ALL ? 1 : limit ? limit : 100};
    return submit(ctx, &in, done, user);
}

int jsp_dom_find(jsp_context *ctx, const char *selector, jsp_result **out)
{
    return dom_query(ctx, selector, JOB_DOM_FIND, 1, out);
}

int jsp_dom_find_all(jsp_context *ctx, const char *selector, long limit, jsp_result **out)
{
    return dom_query(ctx, selector, JOB_DOM_FIND_ALL, limit, out);
}

int jsp_dom_text(jsp_context *ctx, const char *selector, jsp_result **out)
{
    return dom_query(ctx, selector, JOB_DOM_TEXT, 1, out);
}

int jsp_dom_html(jsp_context *ctx, const char *selector, jsp_result **out)
{
    return dom_query(ctx, selector, JOB_DOM_HTML, 1, out);
}
