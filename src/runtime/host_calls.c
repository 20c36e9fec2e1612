/* host_calls.c — JS → C calls: dispatching host.call / host.callSync to registered
 * handlers (at most max_host_calls_per_context unanswered per context), carrying answers
 * (from any thread) back to the runtime thread, cleaning up calls whose context died, and
 * detecting a second answer to one call (the magic and the pool's quarantine). The
 * registry itself is in pool/host_registry.c. */
#include "runtime/runtime.h"
#include "util/list.h"
#include "util/result.h"
#include "util/json_check.h"
#include "util/utf8.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* curl-style handle magic: checked by every public function taking a call. */
enum {
    HOST_CALL_LIVE = 0x4a53484c,     /* "JSHL": waiting for its answer */
    HOST_CALL_ANSWERED = 0x4a534841, /* "JSHA": answered, the answer on its way */
    HOST_CALL_DEAD = 0x4a534844,     /* "JSHD": released, in the quarantine */
};

/* The last owner lets go: the call's strings are freed, but the record itself goes to
 * the pool's quarantine, marked dead, and is freed only when HOST_CALL_QUARANTINE later
 * releases push it out (or the pool goes). So an embedder answering a second time reads
 * a dead magic in memory that is still allocated (clean under ASan) and gets JSP_EINVAL. */
static void host_call_release(jsp_host_call *call)
{
    int before = atomic_fetch_sub(&call->refs, 1);
    assert(before > 0);
    if (before != 1)
        return;
    free(call->name);
    free(call->args);
    free(call->reply);
    call->name = call->args = call->reply = NULL;
    atomic_store(&call->magic, HOST_CALL_DEAD);
    /* Counted until now, not until the guest's call ended: a handler holding unanswered
     * calls holds their arguments, and a guest returning without awaiting must not make
     * room for 1000 more per call. */
    atomic_fetch_sub(&call->counted->host_calls_held, 1);
    context_release(call->counted);
    const runtime_services *services = call->rt->services;
    host_call_quarantine *q = services->host_calls;
    size_t slot = atomic_fetch_add(&q->next, 1) % HOST_CALL_QUARANTINE;
    free(atomic_exchange(&q->calls[slot], call));
    services->release(services->pool);
}

void host_call_quarantine_free(host_call_quarantine *q)
{
    for (size_t i = 0; i < HOST_CALL_QUARANTINE; i++)
        free(atomic_exchange(&q->calls[i], NULL));
}

/* A context's unanswered host calls (ctx->host_calls), newest first. */
LIST_DLIST(host_call_list, jsp_host_call, prev, next)

static void unlink_from_context(jsp_host_call *call)
{
    struct jsp_context *ctx = call->ctx;
    assert(host_call_list_is_linked(ctx->host_calls, call));
    host_call_list_remove(&ctx->host_calls, NULL, call);
    call->ctx = NULL;
}

/* Creates the record with both owners' references and links it to its context. */
static jsp_host_call *host_call_new(struct jsp_context *ctx, const char *name, char *args,
                                    size_t args_len)
{
    jsp_host_call *call = calloc(1, sizeof(*call));
    char *name_copy = strdup(name);
    if (!call || !name_copy) {
        free(call);
        free(name_copy);
        free(args);
        return NULL;
    }
    atomic_init(&call->magic, HOST_CALL_LIVE);
    atomic_init(&call->refs, 2);
    call->pool = ctx->pool;
    services_of(ctx)->retain(ctx->pool);
    call->rt = ctx->rt;
    call->context_id = ctx->id;
    call->name = name_copy;
    call->args = args;
    call->args_len = args_len;
    call->ctx = ctx;
    call->call_id = ctx->current_call_id;
    assert(runtime_is_thread_of(ctx->rt));
    host_call_list_push_front(&ctx->host_calls, NULL, call);
    context_retain(ctx);
    call->counted = ctx;
    atomic_fetch_add(&ctx->host_calls_held, 1);
    return call;
}

/* Each unanswered call holds its arguments and a Promise: a loop of host.call() without
 * await would pile them up without bound. NULL, or the message for the guest (static). */
static const char *over_cap(const struct jsp_context *ctx, char *text, size_t size)
{
    int cap = services_of(ctx)->config->max_host_calls_per_context;
    if (atomic_load_explicit(&ctx->host_calls_held, memory_order_relaxed) < (unsigned)cap)
        return NULL;
    snprintf(text, size,
             "host.call: this context has %d unanswered host calls, the most allowed "
             "(max_host_calls_per_context); await some first", cap);
    return text;
}

int host_call_start(struct jsp_context *ctx, const char *name, char *args_json, size_t args_len,
                           engine_host_promise *p)
{
    jsp_host_fn fn;
    void *fn_user;
    if (!services_of(ctx)->find_host(ctx->pool, name, &fn, &fn_user)) {
        free(args_json);
        return JSP_ENOTFOUND;
    }
    char text[200];
    const char *refusal = over_cap(ctx, text, sizeof(text));
    if (refusal) {
        free(args_json);
        engine_host_promise_settle(ctx->ec, p, false, refusal, strlen(refusal));
        return 0;
    }
    jsp_host_call *call = host_call_new(ctx, name, args_json, args_len);
    if (!call) {
        engine_host_promise_settle(ctx->ec, p, false, "out of memory", 13);
        return 0;
    }
    call->promise = p;
    fn(call, fn_user);
    return 0;
}

int host_call_run_sync(struct jsp_context *ctx, const char *name, char *args_json,
                                size_t args_len, char **reply, size_t *reply_len)
{
    jsp_host_fn fn;
    void *fn_user;
    if (!services_of(ctx)->find_host(ctx->pool, name, &fn, &fn_user)) {
        free(args_json);
        return JSP_ENOTFOUND;
    }
    char text[200];
    const char *refusal = over_cap(ctx, text, sizeof(text));
    if (refusal) {
        free(args_json);
        *reply = strdup(refusal);
        *reply_len = *reply ? strlen(*reply) : 0;
        return *reply ? JSP_EJS : JSP_ENOMEM;
    }
    jsp_host_call *call = host_call_new(ctx, name, args_json, args_len);
    if (!call)
        return JSP_ENOMEM;
    call->is_sync = true;
    fn(call, fn_user);
    int rc = runtime_wait_nested(ctx->rt, ctx, &call->is_answered);
    if (rc == 0) {
        rc = call->is_reply_ok ? 0 : JSP_EJS;
        *reply = call->reply;
        *reply_len = call->reply_len;
        call->reply = NULL;
    }
    if (call->ctx)
        unlink_from_context(call);
    host_call_release(call);
    return rc;
}

void host_call_cancel(jsp_host_call *call)
{
    unlink_from_context(call);
    if (call->is_sync)
        return; /* its waiting frame still holds it and sees the context dead */
    engine_host_promise_free(call->promise);
    call->promise = NULL;
    host_call_release(call);
}

size_t host_calls_clear_for_call(struct jsp_context *ctx, uint64_t call_id)
{
    size_t cleared = 0;
    jsp_host_call *call = ctx->host_calls;
    while (call) {
        jsp_host_call *next = call->next;
        if (call->call_id == call_id && !call->is_sync) {
            host_call_cancel(call);
            cleared++;
        }
        call = next;
    }
    return cleared;
}

void host_call_apply_reply(job *j)
{
    jsp_host_call *call = j->host_call;
    struct jsp_context *ctx = call->ctx;
    if (ctx && call->is_sync) {
        call->is_reply_ok = j->is_reply_ok;
        call->reply = malloc(j->text_len + 1);
        if (call->reply) {
            memcpy(call->reply, j->text, j->text_len + 1);
            call->reply_len = j->text_len;
        } else {
            call->is_reply_ok = false; /* JS then sees a generic host failure */
        }
        call->is_answered = true;
    } else if (ctx) {
        /* Detach first: resolving runs the Promise's reactions (guest code), which can
         * settle the calling call and close its scope — that must not find us linked. */
        engine_host_promise *promise = call->promise;
        call->promise = NULL;
        unlink_from_context(call);
        host_call_release(call); /* the runtime's reference */
        js_run run;
        if (runtime_enter_js(ctx->rt, ctx, &run)) {
            engine_host_promise_settle(ctx->ec, promise, j->is_reply_ok, j->text, j->text_len);
            runtime_leave_js(ctx->rt, &run);
        } else {
            engine_host_promise_free(promise); /* over its memory limit: cannot run */
        }
    }
    host_call_release(call); /* the answerer's reference, carried by the job */
    job_free(j);
}

/* ---- the public side: any thread ---- */

static bool is_live(const jsp_host_call *call)
{
    return call && atomic_load(&((jsp_host_call *)call)->magic) == HOST_CALL_LIVE;
}

const char *jsp_host_call_args(const jsp_host_call *call) { return is_live(call) ? call->args : NULL; }
size_t jsp_host_call_args_len(const jsp_host_call *call) { return is_live(call) ? call->args_len : 0; }
const char *jsp_host_call_name(const jsp_host_call *call) { return is_live(call) ? call->name : NULL; }
uint64_t jsp_host_call_context_id(const jsp_host_call *call) { return is_live(call) ? call->context_id : 0; }

/* The one answer: true for the first caller only (two threads racing: one wins). */
static bool take_answer(jsp_host_call *call)
{
    uint32_t expected = HOST_CALL_LIVE;
    return call && atomic_compare_exchange_strong(&call->magic, &expected, HOST_CALL_ANSWERED);
}

static void answer(jsp_host_call *call, bool is_ok, const char *text, size_t len)
{
    job *j = job_new(JOB_HOST_REPLY, NULL, text, len, NULL);
    if (!j) {
        /* Cannot carry the answer: the caller's Promise stays pending until its context
         * dies. Out of memory is the only way here. */
        host_call_release(call);
        return;
    }
    j->host_call = call;
    j->is_reply_ok = is_ok;
    if (job_queue_push(&call->rt->queue, j) != 0) { /* pool closed: discard */
        job_free(j);
        host_call_release(call);
    }
}

int jsp_host_call_resolve(jsp_host_call *call, const char *json, size_t json_len)
{
    if (!take_answer(call))
        return JSP_EINVAL;
    if (!json) {
        json = "null";
        json_len = 4;
    }
    if (!utf8_is_valid(json, json_len)) {
        answer(call, false, "TypeError: host function answered invalid UTF-8", 48);
        return JSP_EUTF8;
    }
    if (!json_is_valid(json, json_len)) {
        answer(call, false, "TypeError: host function answered invalid JSON", 47);
        return JSP_EJSON;
    }
    answer(call, true, json, json_len);
    return 0;
}

int jsp_host_call_reject(jsp_host_call *call, const char *message)
{
    if (!take_answer(call))
        return JSP_EINVAL;
    if (!message)
        message = "host function failed";
    answer(call, false, message, strlen(message));
    return 0;
}
