/* context.c — a context handle's reference count and the jobs sent to it: what both the
 * pool (calls from any thread) and the runtime (messages, lock events, host replies)
 * allocate. Creation policy (limits, placement, names) is the pool's (context_handle.c). */
#include "runtime/runtime.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Only a holder retains: a count already at 0 means the handle was freed. */
void context_retain(struct jsp_context *ctx)
{
    int before = atomic_fetch_add(&ctx->refs, 1);
    assert(before > 0);
    (void)before;
}

void context_release(struct jsp_context *ctx)
{
    int before = atomic_fetch_sub(&ctx->refs, 1);
    assert(before > 0);
    if (before != 1)
        return;
    jsp_pool *pool = ctx->pool;
    const runtime_services *services = services_of(ctx);
    services->names_release(services->names, ctx); /* if a kill by the runtime left it held */
    atomic_store(&ctx->magic, HANDLE_FREED);
    free(ctx->name);
    free(ctx->namespace_key);
    free(ctx->store_path);
    egress_policy_free(&ctx->egress);
    free(ctx->egress_ca_file);
    free(ctx);
    services->release(pool); /* may free services: its pointer was read before the call */
}

job *job_new(job_kind kind, struct jsp_context *ctx, const char *text, size_t text_len,
             const char *name)
{
    size_t name_len = name ? strlen(name) : 0;
    size_t extra = text_len + 1 + (name ? name_len + 1 : 0);
    job *j = malloc(sizeof(*j) + extra);
    if (!j)
        return NULL;
    memset(j, 0, sizeof(*j));
    j->kind = kind;
    j->ctx = ctx;
    if (ctx)
        context_retain(ctx);
    j->text_len = text_len;
    if (text_len)
        memcpy(j->text, text, text_len);
    j->text[text_len] = '\0';
    if (name) {
        char *copy = j->text + text_len + 1;
        memcpy(copy, name, name_len + 1);
        j->name = copy;
    }
    return j;
}

void job_free(job *j)
{
    if (j->ctx && j->message_bytes)
        atomic_fetch_sub(&j->ctx->queued_message_bytes, j->message_bytes);
    if (j->ctx)
        context_release(j->ctx);
    free(j);
}

int context_queue_create(struct jsp_context *ctx, jsp_done_fn done, void *user, bool has_spare)
{
    job *j = job_new(JOB_CREATE, ctx, NULL, 0, NULL);
    if (!j)
        return JSP_ENOMEM;
    atomic_init(&ctx->queued_jobs, 1);
    j->done = done;
    j->user = user;
    j->has_spare = has_spare;
    int rc = job_queue_push(&ctx->rt->queue, j);
    if (rc != 0)
        job_free(j);
    return rc;
}
