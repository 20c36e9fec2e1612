/* lock_manager.c — see lock_manager.h. The grant rule and steal follow the W3C Web Locks
 * "process the lock request queue" steps; delivery of a grant never allocates (its job is
 * made with the request), so a grant cannot be lost to a full heap. Not for the JS side
 * (locks.js) or running jobs (runtime/lock_requests.c). */
#include "pool/lock_manager.h"
#include "pool/pool.h"
#include "runtime/runtime.h"
#include "util/list.h"

#include <stdlib.h>
#include <string.h>

typedef struct lock_request {
    struct lock_request *next;  /* in its name's held list or queue */
    struct lock_name *lock;
    struct jsp_context *ctx;    /* borrowed: a context's requests go before it does */
    uint64_t context_id;
    uint64_t request_id;
    bool is_shared;
    bool is_held;
    job *grant;                 /* pending: the job that will carry the grant */
} lock_request;

typedef struct request_list {
    lock_request *head, *tail;
} request_list;

typedef struct lock_name {
    struct lock_name *hash_next;
    struct lock_name *prev, *next; /* creation order */
    request_list held;             /* all shared, or one exclusive */
    request_list queue;            /* pending, FIFO */
    uint64_t hash;
    const char *ns;                /* its namespace (jsp_context.namespace_key), after name[] */
    size_t name_len;               /* UTF-16 code units */
    uint16_t name[];
} lock_name;

LIST_FIFO(request_fifo, lock_request, next)
LIST_DLIST(name_list, lock_name, prev, next)

static void list_append(request_list *l, lock_request *r)
{
    request_fifo_append(&l->head, &l->tail, r);
}

static void list_prepend(request_list *l, lock_request *r)
{
    request_fifo_push_front(&l->head, &l->tail, r);
}

/* Lists are short (one name's holders or waiters): a scan finds the predecessor. */
static void list_remove(request_list *l, lock_request *r)
{
    request_fifo_remove(&l->head, &l->tail, r);
}

/* FNV-1a over the namespace, its NUL, and the name's bytes. */
static uint64_t hash_name(const char *ns, const uint16_t *name, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)ns;; c++) {
        h = (h ^ *c) * 1099511628211ull;
        if (!*c)
            break;
    }
    const unsigned char *bytes = (const unsigned char *)name;
    for (size_t i = 0; i < len * sizeof(uint16_t); i++)
        h = (h ^ bytes[i]) * 1099511628211ull;
    return h;
}

int lock_manager_init(lock_manager *lm)
{
    *lm = (lock_manager){0};
    return pthread_mutex_init(&lm->mutex, NULL) == 0 ? 0 : JSP_ESYSTEM;
}

static void free_request(lock_request *r, job **to_free)
{
    if (r->grant) {
        r->grant->next = *to_free;
        *to_free = r->grant;
    }
    free(r);
}

/* A request of a live context goes, and its context's count with it: under the mutex
 * (destroy frees with free_request: the contexts are gone by then). */
static void drop_request(lock_request *r, job **to_free)
{
    r->ctx->lock_requests--;
    free_request(r, to_free);
}

/* Jobs hold context references: released outside the mutex. */
static void free_jobs(job *list)
{
    while (list) {
        job *next = list->next;
        job_free(list);
        list = next;
    }
}

void lock_manager_destroy(lock_manager *lm)
{
    job *to_free = NULL;
    for (lock_name *ln = lm->first, *next; ln; ln = next) {
        next = ln->next;
        for (request_list *l = &ln->held; l; l = l == &ln->held ? &ln->queue : NULL)
            for (lock_request *r = l->head, *after; r; r = after) {
                after = r->next;
                free_request(r, &to_free);
            }
        free(ln);
    }
    free(lm->buckets);
    u64_map_free(&lm->requests);
    pthread_mutex_destroy(&lm->mutex);
    free_jobs(to_free);
}

static lock_name *find_name(lock_manager *lm, const char *ns, const uint16_t *name, size_t len,
                            uint64_t hash)
{
    if (!lm->bucket_count)
        return NULL;
    for (lock_name *ln = lm->buckets[hash & (lm->bucket_count - 1)]; ln; ln = ln->hash_next)
        if (ln->hash == hash && ln->name_len == len && memcmp(ln->name, name, len * sizeof(uint16_t)) == 0 &&
            strcmp(ln->ns, ns) == 0)
            return ln;
    return NULL;
}

static int grow_buckets(lock_manager *lm)
{
    size_t count = lm->bucket_count ? lm->bucket_count * 2 : 16;
    lock_name **buckets = calloc(count, sizeof(*buckets));
    if (!buckets)
        return -1;
    for (lock_name *ln = lm->first; ln; ln = ln->next) {
        lock_name **bucket = &buckets[ln->hash & (count - 1)];
        ln->hash_next = *bucket;
        *bucket = ln;
    }
    free(lm->buckets);
    lm->buckets = buckets;
    lm->bucket_count = count;
    return 0;
}

/* A name is (namespace, UTF-16 name): the same name in two namespaces is two locks. */
static lock_name *find_or_add_name(lock_manager *lm, const char *ns, const uint16_t *name, size_t len)
{
    uint64_t hash = hash_name(ns, name, len);
    lock_name *ln = find_name(lm, ns, name, len, hash);
    if (ln)
        return ln;
    if (lm->name_count >= lm->bucket_count && grow_buckets(lm) != 0)
        return NULL;
    size_t ns_size = strlen(ns) + 1;
    ln = calloc(1, sizeof(*ln) + len * sizeof(uint16_t) + ns_size);
    if (!ln)
        return NULL;
    ln->hash = hash;
    ln->name_len = len;
    if (len)
        memcpy(ln->name, name, len * sizeof(uint16_t));
    ln->ns = memcpy((char *)(ln->name + len), ns, ns_size);
    lock_name **bucket = &lm->buckets[hash & (lm->bucket_count - 1)];
    ln->hash_next = *bucket;
    *bucket = ln;
    name_list_push_back(&lm->first, &lm->last, ln);
    lm->name_count++;
    return ln;
}

static void remove_name_if_unused(lock_manager *lm, lock_name *ln)
{
    if (ln->held.head || ln->queue.head)
        return;
    for (lock_name **at = &lm->buckets[ln->hash & (lm->bucket_count - 1)]; *at; at = &(*at)->hash_next)
        if (*at == ln) {
            *at = ln->hash_next;
            break;
        }
    name_list_remove(&lm->first, &lm->last, ln);
    lm->name_count--;
    free(ln);
}

/* Pushed under the mutex, so the events of one request reach its runtime in the order
 * they happened (a grant before the steal of that grant). A closed queue means the pool
 * is closing: the context dies soon and drops the request then. */
static void push_event(job *j, job **to_free)
{
    if (job_queue_push(&j->ctx->rt->queue, j) != 0) {
        j->next = *to_free;
        *to_free = j;
    }
}

/* Web Locks: grantable when no held lock conflicts and it is first in its queue. Held
 * locks are either all shared or one exclusive. */
static bool is_grantable(const lock_name *ln, const lock_request *r)
{
    return ln->queue.head == r && (!ln->held.head || (r->is_shared && ln->held.head->is_shared));
}

/* Grants from the head of the queue while it can: a run of shared requests together,
 * and never one that a waiting exclusive request precedes. */
static void process_queue(lock_name *ln, job **to_free)
{
    lock_request *r;
    while ((r = ln->queue.head) != NULL && is_grantable(ln, r)) {
        request_fifo_pop(&ln->queue.head, &ln->queue.tail);
        r->is_held = true;
        list_append(&ln->held, r);
        job *grant = r->grant;
        r->grant = NULL;
        push_event(grant, to_free);
    }
}

/* The holder's request is gone; its context hears so if the notice can be allocated
 * (if not, its request() Promise just settles with the callback's result). */
static void tell_stolen(lock_request *r, job **to_free)
{
    job *j = job_new(JOB_LOCK_EVENT, r->ctx, NULL, 0, NULL);
    if (!j)
        return;
    j->lock_request_id = r->request_id;
    j->lock_event = ENGINE_LOCK_STOLEN;
    push_event(j, to_free);
}

int lock_manager_request(lock_manager *lm, struct jsp_context *ctx, const uint16_t *name,
                         size_t name_len, bool is_shared, bool if_available, bool steal,
                         uint64_t *request_id)
{
    lock_request *r = calloc(1, sizeof(*r));
    job *grant = job_new(JOB_LOCK_EVENT, ctx, NULL, 0, NULL);
    if (!r || !grant) {
        free(r);
        if (grant)
            job_free(grant);
        return JSP_ENOMEM;
    }
    job *to_free = NULL;
    int rc = 0;
    pthread_mutex_lock(&lm->mutex);
    lock_name *ln = NULL;
    if (ctx->lock_requests >= ENGINE_LOCK_REQUESTS_PER_CONTEXT) {
        rc = JSP_ETOO_MANY;
        goto refuse;
    }
    ln = find_or_add_name(lm, ctx->namespace_key, name, name_len);
    if (!ln) {
        rc = JSP_ENOMEM;
        goto refuse;
    }
    r->lock = ln;
    r->ctx = ctx;
    r->context_id = ctx->id;
    r->request_id = ++lm->next_request_id;
    r->is_shared = is_shared;
    r->grant = grant;
    grant->lock_request_id = r->request_id;
    grant->lock_event = ENGINE_LOCK_GRANTED;
    if (if_available && (ln->queue.head || (ln->held.head && !(is_shared && ln->held.head->is_shared)))) {
        rc = ENGINE_LOCK_NOT_AVAILABLE;
        goto refuse;
    }
    if (u64_map_put(&lm->requests, r->request_id, r) != 0) {
        rc = JSP_ENOMEM;
        goto refuse;
    }
    if (steal) {
        lock_request *held = ln->held.head;
        ln->held = (request_list){0};
        while (held) {
            lock_request *next = held->next;
            u64_map_remove(&lm->requests, held->request_id);
            tell_stolen(held, &to_free);
            drop_request(held, &to_free);
            held = next;
        }
        list_prepend(&ln->queue, r);
    } else {
        list_append(&ln->queue, r);
    }
    ctx->lock_requests++;
    *request_id = r->request_id;
    process_queue(ln, &to_free);
    pthread_mutex_unlock(&lm->mutex);
    free_jobs(to_free);
    return 0;

refuse:
    if (ln)
        remove_name_if_unused(lm, ln);
    pthread_mutex_unlock(&lm->mutex);
    free(r);
    job_free(grant);
    return rc;
}

bool lock_manager_release(lock_manager *lm, uint64_t context_id, uint64_t request_id)
{
    job *to_free = NULL;
    bool is_released = false;
    pthread_mutex_lock(&lm->mutex);
    lock_request *r = u64_map_get(&lm->requests, request_id);
    if (r && r->is_held && r->context_id == context_id) {
        is_released = true;
        lock_name *ln = r->lock;
        u64_map_remove(&lm->requests, request_id);
        list_remove(&ln->held, r);
        drop_request(r, &to_free);
        process_queue(ln, &to_free);
        remove_name_if_unused(lm, ln);
    }
    pthread_mutex_unlock(&lm->mutex);
    free_jobs(to_free);
    return is_released;
}

bool lock_manager_abort(lock_manager *lm, uint64_t context_id, uint64_t request_id)
{
    job *to_free = NULL;
    bool is_removed = false;
    pthread_mutex_lock(&lm->mutex);
    lock_request *r = u64_map_get(&lm->requests, request_id);
    if (r && !r->is_held && r->context_id == context_id) {
        lock_name *ln = r->lock;
        u64_map_remove(&lm->requests, request_id);
        list_remove(&ln->queue, r);
        drop_request(r, &to_free);
        process_queue(ln, &to_free); /* it may have been what held the next ones back */
        remove_name_if_unused(lm, ln);
        is_removed = true;
    }
    pthread_mutex_unlock(&lm->mutex);
    free_jobs(to_free);
    return is_removed;
}

static bool drop_from(lock_manager *lm, request_list *l, uint64_t context_id, job **to_free)
{
    bool is_changed = false;
    for (lock_request *r = l->head, *next; r; r = next) {
        next = r->next;
        if (r->context_id != context_id)
            continue;
        u64_map_remove(&lm->requests, r->request_id);
        list_remove(l, r);
        drop_request(r, to_free);
        is_changed = true;
    }
    return is_changed;
}

void lock_manager_drop_context(lock_manager *lm, uint64_t context_id)
{
    job *to_free = NULL;
    pthread_mutex_lock(&lm->mutex);
    for (lock_name *ln = lm->first, *next; ln; ln = next) {
        next = ln->next;
        bool is_changed = drop_from(lm, &ln->held, context_id, &to_free);
        is_changed |= drop_from(lm, &ln->queue, context_id, &to_free);
        if (is_changed) {
            process_queue(ln, &to_free);
            remove_name_if_unused(lm, ln);
        }
    }
    pthread_mutex_unlock(&lm->mutex);
    free_jobs(to_free);
}

static bool copy_info(engine_lock_info *out, const lock_name *ln, const lock_request *r)
{
    out->name = malloc(ln->name_len * sizeof(uint16_t) + 1);
    if (!out->name)
        return false;
    memcpy(out->name, ln->name, ln->name_len * sizeof(uint16_t));
    out->name_len = ln->name_len;
    out->is_shared = r->is_shared;
    out->context_id = r->context_id;
    return true;
}

int lock_manager_query(lock_manager *lm, const char *ns, engine_lock_snapshot *out)
{
    *out = (engine_lock_snapshot){0};
    pthread_mutex_lock(&lm->mutex);
    size_t held = 0, pending = 0;
    for (lock_name *ln = lm->first; ln; ln = ln->next) {
        if (strcmp(ln->ns, ns) != 0)
            continue;
        for (lock_request *r = ln->held.head; r; r = r->next)
            held++;
        for (lock_request *r = ln->queue.head; r; r = r->next)
            pending++;
    }
    bool is_ok = true;
    out->held = held ? calloc(held, sizeof(*out->held)) : NULL;
    out->pending = pending ? calloc(pending, sizeof(*out->pending)) : NULL;
    if ((held && !out->held) || (pending && !out->pending))
        is_ok = false;
    for (lock_name *ln = lm->first; ln && is_ok; ln = ln->next) {
        if (strcmp(ln->ns, ns) != 0)
            continue;
        for (lock_request *r = ln->held.head; r && is_ok; r = r->next)
            is_ok = copy_info(&out->held[out->held_count++], ln, r);
        for (lock_request *r = ln->queue.head; r && is_ok; r = r->next)
            is_ok = copy_info(&out->pending[out->pending_count++], ln, r);
    }
    pthread_mutex_unlock(&lm->mutex);
    if (!is_ok) {
        engine_lock_snapshot_free(out);
        return JSP_ENOMEM;
    }
    return 0;
}
