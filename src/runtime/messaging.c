/* messaging.c — messages between contexts of one pool: BroadcastChannel posts fanned out
 * through the pool's registry (pool/channels.c), workers (child contexts created without
 * waiting, linked to their parent across threads, bounded per context tree), and the jobs
 * that carry both to the target context's runtime thread. Nothing here touches another
 * context's JS: everything crossing contexts is a job. Not for the JS side (channel.js,
 * worker.js) or the engine entry points (natives_channel.c, natives_worker.c). */
#include "runtime/messaging.h"

#include "engine/engine_messaging.h"
#include "util/result.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A guest may not fork-bomb the pool: a context and all its workers, nested ones included,
 * share one budget of live workers. */
enum { MAX_WORKERS_PER_TREE = 16, MAX_BROADCAST_NAMES_PER_CONTEXT = 1024 };
/* Terminated workers whose context is not gone yet: their queued create, start and
 * destroy jobs still hold memory (the source, ~1 MB each in a measured terminate loop
 * that reached 438 MB before this bound). */
enum { MAX_DYING_WORKERS_PER_TREE = 48 };

/* The live-worker budget shared by a top-level context and every worker below it. */
typedef struct worker_tree {
    atomic_int refs;
    atomic_int live_workers;
    atomic_int dying_workers;    /* terminated, context not destroyed yet */
    _Atomic uint64_t held_bytes; /* its isolated members' heaps at their last measurements,
                                    summed: a context and its workers share one memory limit */
} worker_tree;

/* Parent <-> child, shared by two runtime threads. */
typedef struct worker_link {
    atomic_int refs;             /* the parent's side and the child's side */
    atomic_bool is_counted;      /* still counts against the tree's budget */
    atomic_bool is_dying;        /* let go by its parent, context not gone yet */
    pthread_mutex_t lock;
    struct jsp_context *parent;  /* guarded by lock; NULL once the parent died or let go */
    struct jsp_context *child;   /* the child's handle: one reference, dropped with the link */
    worker_tree *tree;           /* a reference */
    uint64_t id;                 /* the parent's number for this worker */
    struct worker_link *next;    /* the parent's list: parent's thread only */
} worker_link;

struct context_messaging {
    unsigned broadcast_names;    /* distinct names with a channel open here */
    bool is_tasks_job_queued;    /* a JOB_MESSAGE_TASKS is queued or running */
    worker_link *workers;        /* the workers this context started */
    uint64_t next_worker_id;
    worker_link *as_worker;      /* this context is a worker: its link to the parent */
    worker_tree *tree;           /* a reference; NULL until a worker is involved */
    uint64_t tree_bytes;         /* what this context counts in tree->held_bytes (its thread) */
};

static context_messaging *messaging_of(struct jsp_context *ctx)
{
    if (!ctx->messaging)
        ctx->messaging = calloc(1, sizeof(*ctx->messaging));
    return ctx->messaging;
}

static void tree_release(worker_tree *tree)
{
    if (tree && atomic_fetch_sub(&tree->refs, 1) == 1)
        free(tree);
}

/* ctx leaves its tree: its heap no longer counts there. */
static void tree_leave(context_messaging *m)
{
    if (m->tree)
        atomic_fetch_sub(&m->tree->held_bytes, m->tree_bytes);
    m->tree_bytes = 0;
    tree_release(m->tree);
}

void messaging_tree_note_held(struct jsp_context *ctx)
{
    context_messaging *m = ctx->messaging;
    if (!m || !m->tree)
        return;
    uint64_t now = atomic_load_explicit(&ctx->held_bytes, memory_order_relaxed);
    atomic_fetch_add(&m->tree->held_bytes, now - m->tree_bytes); /* modulo 2^64: a fall too */
    m->tree_bytes = now;
}

bool messaging_is_in_tree(const struct jsp_context *ctx)
{
    return ctx->messaging && ctx->messaging->tree;
}

uint64_t messaging_tree_others_bytes(const struct jsp_context *ctx)
{
    const context_messaging *m = ctx->messaging;
    if (!m || !m->tree || !m->as_worker) /* the root keeps its whole limit (see messaging.h) */
        return 0;
    uint64_t all = atomic_load(&m->tree->held_bytes);
    return all > m->tree_bytes ? all - m->tree_bytes : 0;
}

static void uncount(worker_link *link)
{
    if (atomic_exchange(&link->is_counted, false))
        atomic_fetch_sub(&link->tree->live_workers, 1);
}

static void undying(worker_link *link)
{
    if (atomic_exchange(&link->is_dying, false))
        atomic_fetch_sub(&link->tree->dying_workers, 1);
}

static void link_release(worker_link *link)
{
    if (atomic_fetch_sub(&link->refs, 1) != 1)
        return;
    uncount(link);
    undying(link);
    tree_release(link->tree);
    pthread_mutex_destroy(&link->lock);
    context_release(link->child);
    free(link);
}

/* Queues (target, data) for delivery in `to`. Back-pressure: a context already holding
 * max_queued_jobs loses the message, with a warning (no unbounded queues). */
static int queue_message(struct jsp_context *to, job_kind kind, const char *target, const char *data,
                         size_t len)
{
    if (atomic_load(&to->state) != CONTEXT_ALIVE)
        return JSP_EDESTROYED;
    if (atomic_fetch_add(&to->queued_jobs, 1) >= services_of(to)->config->max_queued_jobs) {
        atomic_fetch_sub(&to->queued_jobs, 1);
        services_of(to)->log(to->pool, JSP_LOG_WARN, to->id,
                             "message dropped: the context's queue is full");
        return JSP_EBUSY;
    }
    size_t bytes = len + 1;
    /* the pool's max_queued_bytes, shared with queued calls (pool/calls.c): copies outside
     * any JS heap that no memory limit sees; 300 posts of 1 MiB held 368 MB before it */
    size_t max_bytes = services_of(to)->config->max_queued_bytes;
    if (atomic_fetch_add(&to->queued_message_bytes, bytes) + bytes > max_bytes) {
        atomic_fetch_sub(&to->queued_message_bytes, bytes);
        atomic_fetch_sub(&to->queued_jobs, 1);
        char line[120];
        snprintf(line, sizeof(line), "message dropped: messages queued to the context hold %zu MiB already",
                 max_bytes >> 20);
        services_of(to)->log(to->pool, JSP_LOG_WARN, to->id, line);
        return JSP_EBUSY;
    }
    job *j = job_new(kind, to, data, len, target);
    if (j)
        j->message_bytes = bytes; /* given back by job_free */
    else
        atomic_fetch_sub(&to->queued_message_bytes, bytes);
    int rc = j ? job_queue_push(&to->rt->queue, j) : JSP_ENOMEM;
    if (rc != 0) {
        atomic_fetch_sub(&to->queued_jobs, 1);
        if (j)
            job_free(j);
    }
    return rc;
}

/* ---- BroadcastChannel ---- */

/* The registry key of a channel name in ctx's namespace: "<namespace>\n<key>" (key is
 * JSON text, without a newline; namespaces have none either), so channels of one name in
 * two namespaces never meet. In buf when it fits (a post allocates nothing more for it),
 * else malloc'd; NULL when out of memory. Release with free_scoped. */
static char *scoped_key(const struct jsp_context *ctx, const char *key, char *buf, size_t buf_size)
{
    size_t ns_len = strlen(ctx->namespace_key), key_len = strlen(key);
    char *scoped = ns_len + key_len + 2 <= buf_size ? buf : malloc(ns_len + key_len + 2);
    if (scoped) {
        memcpy(scoped, ctx->namespace_key, ns_len);
        scoped[ns_len] = '\n';
        memcpy(scoped + ns_len + 1, key, key_len + 1);
    }
    return scoped;
}

static void free_scoped(char *scoped, const char *buf)
{
    if (scoped != buf)
        free(scoped);
}

int messaging_broadcast_subscribe(struct jsp_context *ctx, const char *key)
{
    context_messaging *m = messaging_of(ctx);
    char buf[256];
    char *scoped = scoped_key(ctx, key, buf, sizeof(buf));
    bool is_new_name;
    int rc = 0;
    const runtime_services *s = services_of(ctx);
    if (!m || !scoped || s->broadcast_subscribe(s->broadcasts, ctx, scoped, &is_new_name) != 0) {
        rc = JSP_ENOMEM;
    } else if (is_new_name && m->broadcast_names >= MAX_BROADCAST_NAMES_PER_CONTEXT) {
        s->broadcast_unsubscribe(s->broadcasts, ctx, scoped);
        rc = JSP_ETOO_MANY;
    } else {
        m->broadcast_names += is_new_name;
    }
    free_scoped(scoped, buf);
    return rc;
}

void messaging_broadcast_unsubscribe(struct jsp_context *ctx, const char *key)
{
    char buf[256];
    char *scoped = ctx->messaging ? scoped_key(ctx, key, buf, sizeof(buf)) : NULL;
    if (scoped && services_of(ctx)->broadcast_unsubscribe(services_of(ctx)->broadcasts, ctx, scoped))
        ctx->messaging->broadcast_names--;
    free_scoped(scoped, buf); /* (out of memory: the entry stays until the context dies) */
}

bool messaging_broadcast_has_peers(struct jsp_context *ctx, const char *key)
{
    char buf[256];
    char *scoped = scoped_key(ctx, key, buf, sizeof(buf));
    const runtime_services *s = services_of(ctx);
    /* out of memory for the key: as if there were peers (the post then fails as it would) */
    bool has_peers = !scoped || s->broadcast_has_other(s->broadcasts, scoped, ctx);
    free_scoped(scoped, buf);
    return has_peers;
}

void messaging_broadcast_post(struct jsp_context *ctx, const char *key, const char *data,
                              size_t len)
{
    struct jsp_context **targets = NULL;
    char buf[256];
    char *scoped = scoped_key(ctx, key, buf, sizeof(buf));
    const runtime_services *s = services_of(ctx);
    size_t count = scoped ? s->broadcast_subscribers(s->broadcasts, scoped, &targets) : 0;
    free_scoped(scoped, buf);
    size_t target_size = strlen(key) + 32;
    char *target = malloc(target_size);
    for (size_t i = 0; i < count; i++) {
        if (target && targets[i] != ctx) { /* ctx's own channels got it in its JS (channel.js) */
            snprintf(target, target_size, "b:0:%s", key);
            queue_message(targets[i], JOB_CHANNEL_MESSAGE, target, data, len);
        }
        context_release(targets[i]);
    }
    free(target);
    free(targets);
}

/* ---- message tasks inside one context ----
 * MessagePort messages, and a BroadcastChannel post to channels of the same context, never
 * leave its JS: channel.js copies them at post time (structured clone, no text) into one
 * FIFO of tasks and asks for this job. The job runs the tasks one by one, each a run of its
 * own — its own budget and CPU charge, the microtasks it queued drained before the next
 * task starts, a throw ending that task only — inside one VM entry (engine_vm_batch), for
 * up to TASKS_SLICE_NS; with tasks left it goes to the back of the context's jobs, so the
 * context's other jobs and its siblings take their turns between slices, and a context
 * over its CPU share waits like any other. Before, each message was a setTimeout(0) of its
 * own, and a runtime pass fires one timer per context: a pass (a loop wake-up) per
 * message. */
static const uint64_t TASKS_SLICE_NS = 1000000; /* what a sibling may wait behind a flood */

static void report_error(struct jsp_context *ctx, const char *message, const char *filename, int line,
                         int column);

int messaging_wake_tasks(struct jsp_context *ctx)
{
    context_messaging *m = messaging_of(ctx);
    if (!m)
        return JSP_ENOMEM;
    if (m->is_tasks_job_queued)
        return 0;
    job *j = job_new(JOB_MESSAGE_TASKS, ctx, NULL, 0, NULL);
    if (!j)
        return JSP_ENOMEM;
    int rc = job_queue_push(&ctx->rt->queue, j);
    if (rc != 0) {
        job_free(j);
        return rc;
    }
    m->is_tasks_job_queued = true;
    return 0;
}

typedef struct tasks_batch {
    runtime *rt;
    struct jsp_context *ctx;
    bool has_more;
} tasks_batch;

static void log_tripped(struct jsp_context *ctx, int tripped, const char *what)
{
    if (tripped == JSP_EDESTROYED || tripped == JSP_ECLOSED)
        return; /* destroyed or closing while it ran: nobody left to tell */
    const char *limit = tripped == JSP_ECPU_LIMIT ? "CPU time" : tripped == JSP_EWALL_LIMIT ? "wall time" : "memory";
    char message[160];
    snprintf(message, sizeof(message), "RangeError: %s exceeded its %s limit", what, limit);
    if (ctx->messaging && ctx->messaging->as_worker)
        report_error(ctx, message, "", 0, 0);
    else
        runtime_log(ctx, JSP_LOG_ERROR, message);
}

static void run_tasks_batch(void *data)
{
    tasks_batch *b = data;
    struct jsp_context *ctx = b->ctx;
    engine_vm *vm = context_vm(ctx);
    uint64_t slice_end = monotonic_ns() + TASKS_SLICE_NS;
    do {
        js_run run;
        if (!runtime_enter_js(b->rt, ctx, &run)) {
            /* over its memory limit: the tasks wait for the next post (or a recycle) */
            log_tripped(ctx, run.budget.tripped, "message handler");
            b->has_more = false;
            return;
        }
        b->has_more = engine_messaging_run_task(ctx->ec);
        runtime_leave_js(b->rt, &run);
        if (run.budget.tripped) { /* that task is over; JSC ends the batch's entry */
            log_tripped(ctx, run.budget.tripped, "message handler");
            b->has_more = run.budget.tripped != JSP_EDESTROYED && run.budget.tripped != JSP_ECLOSED;
            return;
        }
    } while (b->has_more && ctx->ec && !ctx->throttled_until_ns && !engine_vm_batch_is_ended(vm) &&
             monotonic_ns() < slice_end);
}

void messaging_run_tasks(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    context_messaging *m = ctx->messaging;
    if (m) /* from here a post (by a task, or a microtask after the last) queues a new job */
        m->is_tasks_job_queued = false;
    if (!m || !ctx->ec || ctx->is_dead || atomic_load(&ctx->state) != CONTEXT_ALIVE ||
        atomic_load_explicit(&ctx->is_cancelled, memory_order_relaxed)) {
        job_free(j);
        return;
    }
    tasks_batch b = {.rt = rt, .ctx = ctx};
    engine_batch batch = {.run = run_tasks_batch, .data = &b};
    engine_vm_batch(context_vm(ctx), &batch);
    m = ctx->messaging;
    if (b.has_more && m && !m->is_tasks_job_queued && !ctx->is_dead && ctx->ec &&
        job_queue_push(&rt->queue, j) == 0) {
        m->is_tasks_job_queued = true; /* behind the context's other jobs: their turn first */
        return;
    }
    job_free(j);
}

/* ---- workers: the child's side ---- */

/* {"message":..., "filename":..., "lineno":..., "colno":...} for an ErrorEvent. */
static char *error_json(const char *message, const char *filename, int line, int column)
{
    size_t n = strlen(message) + strlen(filename);
    char *json = malloc(n * 6 + 96);
    if (!json)
        return NULL;
    size_t at = 0;
    const char *parts[2] = {message, filename};
    const char *keys[2] = {"{\"message\":\"", "\",\"filename\":\""};
    for (int p = 0; p < 2; p++) {
        at += (size_t)sprintf(json + at, "%s", keys[p]);
        for (const unsigned char *c = (const unsigned char *)parts[p]; *c; c++) {
            if (*c == '"' || *c == '\\')
                json[at++] = '\\', json[at++] = (char)*c;
            else if (*c < 0x20)
                at += (size_t)sprintf(json + at, "\\u%04x", *c);
            else
                json[at++] = (char)*c;
        }
    }
    sprintf(json + at, "\",\"lineno\":%d,\"colno\":%d}", line > 0 ? line : 0, column > 0 ? column : 0);
    return json;
}

/* Queues kind ('w' message, 'e' error, 'x' ended) to the parent's Worker object. False
 * when there is no parent any more. */
static bool tell_parent(worker_link *link, char kind, const char *data, size_t len)
{
    pthread_mutex_lock(&link->lock);
    struct jsp_context *parent = link->parent;
    if (parent)
        context_retain(parent); /* alive: it clears link->parent before it is released */
    pthread_mutex_unlock(&link->lock);
    if (!parent)
        return false;
    char target[32];
    snprintf(target, sizeof(target), "%c:%" PRIu64, kind, link->id);
    queue_message(parent, JOB_CHANNEL_MESSAGE, target, data, len);
    context_release(parent);
    return true;
}

static void report_error(struct jsp_context *ctx, const char *message, const char *filename, int line,
                         int column)
{
    worker_link *link = ctx->messaging ? ctx->messaging->as_worker : NULL;
    char *json = link ? error_json(message, filename, line, column) : NULL;
    if (!json || !tell_parent(link, 'e', json, strlen(json))) {
        char text[600];
        snprintf(text, sizeof(text), "uncaught error in worker: %.500s", message);
        runtime_log(ctx, JSP_LOG_ERROR, text);
    }
    free(json);
}

/* The child is done (died, or never got built): the parent hears it ended, the budget gets
 * its slot back, and the child's side of the link goes. */
static void detach_from_parent(struct jsp_context *child)
{
    worker_link *link = child->messaging->as_worker;
    child->messaging->as_worker = NULL;
    tell_parent(link, 'x', "", 0);
    uncount(link);
    undying(link);
    link_release(link);
}

void messaging_worker_post_to_parent(struct jsp_context *ctx, const char *data, size_t len)
{
    if (ctx->messaging && ctx->messaging->as_worker)
        tell_parent(ctx->messaging->as_worker, 'w', data, len);
}

void messaging_worker_report_error(struct jsp_context *ctx, const char *json, size_t len)
{
    if (ctx->messaging && ctx->messaging->as_worker)
        tell_parent(ctx->messaging->as_worker, 'e', json, len);
}

void messaging_worker_close(struct jsp_context *ctx)
{
    if (ctx->messaging && ctx->messaging->as_worker)
        services_of(ctx)->context_destroy(ctx); /* a job: runs after the current one */
}

/* JOB_CREATE of a worker finished, on the child's thread. */
static void worker_created(jsp_result *result, void *user)
{
    worker_link *link = user;
    int rc = result->code;
    jsp_result_free(result);
    if (rc == 0)
        return;
    struct jsp_context *child = link->child;
    services_of(child)->context_creation_failed(child, rc == JSP_ECLOSED);
    report_error(child, "Error: the worker's context could not be created", "", 0, 0);
    detach_from_parent(child);
    tree_leave(child->messaging);
    free(child->messaging);
    child->messaging = NULL;
}

/* ---- workers: the parent's side ---- */

int messaging_worker_spawn(struct jsp_context *parent, const char *source, size_t len,
                           const char *name, uint64_t *id)
{
    context_messaging *pm = messaging_of(parent);
    if (pm && !pm->tree && (pm->tree = calloc(1, sizeof(*pm->tree))) != NULL)
        atomic_init(&pm->tree->refs, 1);
    if (!pm || !pm->tree)
        return JSP_ENOMEM;
    worker_tree *tree = pm->tree;
    messaging_tree_note_held(parent); /* from its first worker on, its heap counts there */
    if (atomic_load(&tree->dying_workers) >= MAX_DYING_WORKERS_PER_TREE)
        return JSP_ETOO_MANY;
    if (atomic_fetch_add(&tree->live_workers, 1) >= MAX_WORKERS_PER_TREE) {
        atomic_fetch_sub(&tree->live_workers, 1);
        return JSP_ETOO_MANY;
    }
    context_messaging *cm = calloc(1, sizeof(*cm));
    worker_link *link = calloc(1, sizeof(*link));
    uint64_t worker_id = pm->next_worker_id + 1;
    char child_name[300];
    snprintf(child_name, sizeof(child_name), "%.200s/worker-%" PRIu64, parent->name, worker_id);
    /* The child inherits its parent's limits and API groups (internal limits: 0 = none). */
    jsp_context_config cfg = {
        .name = child_name,
        .cpu_limit_ms = parent->cpu_limit_ms ? (long)parent->cpu_limit_ms : -1,
        .wall_limit_ms = parent->wall_limit_ms ? (long)parent->wall_limit_ms : -1,
        .memory_limit_bytes = parent->memory_limit_bytes,
    };
    struct jsp_context *child = NULL;
    int rc = cm && link ? services_of(parent)->context_alloc(parent->pool, &cfg, parent->apis_mask, &child)
                        : JSP_ENOMEM;
    if (rc == 0) { /* a worker lives in its parent's namespace, a private one included */
        char *ns = strdup(parent->namespace_key);
        if (ns) {
            free(child->namespace_key);
            child->namespace_key = ns;
        } else {
            services_of(child)->context_creation_failed(child, true);
            context_release(child);
            rc = JSP_ENOMEM;
        }
    }
    if (rc != 0) {
        atomic_fetch_sub(&tree->live_workers, 1);
        free(cm);
        free(link);
        return rc;
    }
    child->parent_id = parent->id; /* listed with it by jsp_pool_workers */
    atomic_init(&link->refs, 2);
    atomic_init(&link->is_counted, true);
    atomic_init(&link->is_dying, false);
    pthread_mutex_init(&link->lock, NULL);
    link->parent = parent;
    link->child = child;
    link->tree = tree;
    atomic_fetch_add(&tree->refs, 1);
    link->id = worker_id;
    cm->as_worker = link;
    cm->tree = tree;
    atomic_fetch_add(&tree->refs, 1);
    child->messaging = cm; /* before the child's thread can see it: the queue orders it */
    rc = context_queue_create(child, worker_created, link, false);
    if (rc != 0) {
        services_of(child)->context_creation_failed(child, true);
        child->messaging = NULL;
        tree_release(cm->tree);
        free(cm);
        atomic_init(&link->refs, 1); /* only the parent's side left: frees it all */
        link_release(link);
        return rc;
    }
    pm->next_worker_id = worker_id;
    link->next = pm->workers;
    pm->workers = link;
    /* Queued right behind its creation: messages posted from now on queue behind it, so
     * none is lost or reordered while the worker starts. */
    if (queue_message(child, JOB_WORKER_START, name, source, len) != 0)
        services_of(child)->context_destroy(child);
    *id = worker_id;
    return 0;
}

static worker_link *find_worker(struct jsp_context *parent, uint64_t id, bool is_unlinking)
{
    if (!parent->messaging)
        return NULL;
    for (worker_link **at = &parent->messaging->workers; *at; at = &(*at)->next) {
        worker_link *link = *at;
        if (link->id != id)
            continue;
        if (is_unlinking)
            *at = link->next;
        return link;
    }
    return NULL;
}

void messaging_worker_post(struct jsp_context *ctx, uint64_t id, const char *data, size_t len)
{
    worker_link *link = find_worker(ctx, id, false);
    if (link)
        queue_message(link->child, JOB_CHANNEL_MESSAGE, "s:", data, len);
}

/* The parent lets go of a worker: no more messages either way, and the child is destroyed. */
static void let_go(worker_link *link)
{
    pthread_mutex_lock(&link->lock);
    link->parent = NULL;
    pthread_mutex_unlock(&link->lock);
    if (atomic_load(&link->is_counted) && !atomic_exchange(&link->is_dying, true))
        atomic_fetch_add(&link->tree->dying_workers, 1);
    uncount(link);
    services_of(link->child)->context_destroy(link->child);
    link_release(link);
}

void messaging_worker_terminate(struct jsp_context *ctx, uint64_t id)
{
    worker_link *link = find_worker(ctx, id, true);
    if (link)
        let_go(link);
}

/* ---- lifetime ---- */

/* Drops what the context's JS state had: its channel names and its workers. */
static void drop_js_owned(struct jsp_context *ctx, context_messaging *m)
{
    if (m->broadcast_names)
        services_of(ctx)->broadcast_unsubscribe_all(services_of(ctx)->broadcasts, ctx);
    m->broadcast_names = 0;
    while (m->workers) {
        worker_link *link = m->workers;
        m->workers = link->next;
        let_go(link);
    }
}

void messaging_context_dying(struct jsp_context *ctx)
{
    context_messaging *m = ctx->messaging;
    if (!m)
        return;
    drop_js_owned(ctx, m);
    if (m->as_worker)
        detach_from_parent(ctx);
    tree_leave(m);
    free(m);
    ctx->messaging = NULL;
}

void messaging_context_rebuilt(struct jsp_context *ctx)
{
    context_messaging *m = ctx->messaging;
    if (!m)
        return;
    drop_js_owned(ctx, m);
    if (m->as_worker) { /* its scope and source are gone with the old VM: it cannot go on */
        report_error(ctx, "Error: the worker was reset by a VM recycle", "", 0, 0);
        services_of(ctx)->context_destroy(ctx);
    }
}

/* ---- the jobs ---- */

void messaging_run_job(runtime *rt, job *j)
{
    struct jsp_context *ctx = j->ctx;
    if (!ctx->ec || atomic_load(&ctx->state) != CONTEXT_ALIVE) { /* closing: deliver nothing */
        runtime_fail(j, JSP_EDESTROYED);
        return;
    }
    js_run run;
    jsp_result *error = NULL;
    if (runtime_enter_js(rt, ctx, &run)) {
        if (j->kind == JOB_WORKER_START)
            error = engine_worker_start(ctx->ec, j->name, j->text, j->text_len);
        else
            engine_messaging_deliver(ctx->ec, j->name, j->text, j->text_len);
        runtime_leave_js(rt, &run);
    }
    if (run.budget.tripped) {
        log_tripped(ctx, run.budget.tripped, j->kind == JOB_WORKER_START ? "worker script" : "message handler");
    } else if (error) {
        size_t n = strlen(error->error_name) + strlen(error->error_message) + 3;
        char *message = malloc(n);
        if (message)
            snprintf(message, n, "%s: %s", error->error_name, error->error_message);
        report_error(ctx, message ? message : "Error", "jspool:worker.js", error->error_line,
                     error->error_column);
        free(message);
    }
    jsp_result_free(error);
    job_free(j);
}
