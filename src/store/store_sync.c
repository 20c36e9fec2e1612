/* store_sync.c — background syncing for stores opened with background_sync: the store's
 * thread commits a batch (the WAL is written, not synced) and queues its completions
 * here; a sync worker runs one fdatasync for everything that store queued so far, hands
 * the batches back and calls wake, and the store's thread runs their completions in
 * store_poll. The runtime thread therefore never waits for the disk.
 *
 * Workers are shared by every store of the process, at most SYNC_WORKERS_MAX of them,
 * started as stores open and stopped when the last store closes: a thread per store let
 * a tenant that opens thousands of stores make thousands of threads. A store is synced by
 * one worker at a time (so its batches come back in order); different stores are synced
 * in parallel up to the number of workers. Not for: SQL or anything of the store's own
 * state — only the queues below cross threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include "store/store_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SYNC_WORKERS_MAX = 4 };

/* One store's queues. Its lock guards the lists and `syncing`; the shared lock (below)
 * guards `ready_next`, `is_queued` and `is_busy`. */
struct sync_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;                   /* a sync of this store finished */
    sync_batch *to_sync, **to_sync_tail; /* committed, waiting for an fdatasync */
    sync_batch *synced, **synced_tail;   /* synced, waiting for sync_queue_take */
    bool syncing;                        /* a worker took to_sync and has not handed it back */
    int fd;           /* read-only after start */
    const char *path; /* read-only after start */
    store_wake_fn *wake;
    void *wake_user;
    struct sync_queue *ready_next; /* in the ready list */
    bool is_queued;                 /* has work: in the ready list, or will be once not busy */
    bool is_busy;                   /* a worker holds it (from taking it to after wake) */
};

/* The workers and the stores that have work for them. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;         /* a store became ready, or stopping */
    pthread_cond_t idle;         /* a worker let go of a store */
    sync_queue *ready_head, **ready_tail;
    pthread_t workers[SYNC_WORKERS_MAX];
    int nworkers, nstores;
    bool stopping;
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
          .idle = PTHREAD_COND_INITIALIZER};

/* Caller holds shared.lock. */
static void make_ready(sync_queue *q)
{
    q->ready_next = NULL;
    if (!shared.ready_head)
        shared.ready_tail = &shared.ready_head;
    *shared.ready_tail = q;
    shared.ready_tail = &q->ready_next;
    pthread_cond_signal(&shared.work);
}

/* One fdatasync covers every batch of the store committed before it started. */
static void sync_store(sync_queue *q)
{
    pthread_mutex_lock(&q->mu);
    sync_batch *batch = q->to_sync;
    q->to_sync = NULL;
    q->to_sync_tail = &q->to_sync;
    q->syncing = batch != NULL;
    pthread_mutex_unlock(&q->mu);
    if (!batch)
        return;
    store_error e = {0};
    if (fdatasync(q->fd))
        store_fail(&e, JSP_ESTORE, "StoreError", "store %s: fsync failed (%s)", q->path, strerror(errno));
    pthread_mutex_lock(&q->mu);
    for (sync_batch *b = batch; b; b = b->next)
        b->err = e;
    *q->synced_tail = batch;
    while (*q->synced_tail)
        q->synced_tail = &(*q->synced_tail)->next;
    q->syncing = false;
    pthread_cond_broadcast(&q->cv); /* sync_queue_take(wait) */
    pthread_mutex_unlock(&q->mu);
    if (q->wake)
        q->wake(q->wake_user);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "jspool-sync"); /* seen in top -H, /proc/PID/task */
    pthread_mutex_lock(&shared.lock);
    for (;;) {
        while (!shared.ready_head && !shared.stopping)
            pthread_cond_wait(&shared.work, &shared.lock);
        if (!shared.ready_head)
            break;
        sync_queue *q = shared.ready_head;
        shared.ready_head = q->ready_next;
        q->is_queued = false;
        q->is_busy = true;
        pthread_mutex_unlock(&shared.lock);
        sync_store(q);
        pthread_mutex_lock(&shared.lock);
        q->is_busy = false;
        if (q->is_queued) /* queued again while it was being synced */
            make_ready(q);
        pthread_cond_broadcast(&shared.idle);
    }
    pthread_mutex_unlock(&shared.lock);
    return NULL;
}

/* Joins every worker once the last store is gone. Caller holds shared.lock; returns with
 * it held. A store opened meanwhile waits for the join before starting workers anew. */
static void stop_workers(void)
{
    shared.stopping = true;
    pthread_cond_broadcast(&shared.work);
    int n = shared.nworkers;
    pthread_t workers[SYNC_WORKERS_MAX];
    memcpy(workers, shared.workers, sizeof workers);
    pthread_mutex_unlock(&shared.lock);
    for (int i = 0; i < n; i++)
        pthread_join(workers[i], NULL);
    pthread_mutex_lock(&shared.lock);
    shared.nworkers = 0;
    shared.stopping = false;
    pthread_cond_broadcast(&shared.idle);
}

int sync_queue_open(int fd, const char *path, store_wake_fn *wake, void *wake_user, sync_queue **out,
                      store_error *err)
{
    sync_queue *q = calloc(1, sizeof(*q));
    if (!q) {
        close(fd);
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    }
    q->to_sync_tail = &q->to_sync;
    q->synced_tail = &q->synced;
    q->fd = fd;
    q->path = path;
    q->wake = wake;
    q->wake_user = wake_user;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    pthread_mutex_lock(&shared.lock);
    while (shared.stopping) /* the last store's close is joining the workers */
        pthread_cond_wait(&shared.idle, &shared.lock);
    int rc = 0;
    if (shared.nworkers < SYNC_WORKERS_MAX && shared.nworkers <= shared.nstores) {
        rc = pthread_create(&shared.workers[shared.nworkers], NULL, worker_main, NULL);
        shared.nworkers += rc == 0;
    }
    if (shared.nworkers == 0) { /* not even one: no way to sync in the background */
        pthread_mutex_unlock(&shared.lock);
        close(fd);
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cv);
        free(q);
        return store_fail(err, JSP_ESYSTEM, "StoreError", "background_sync: cannot start a thread");
    }
    shared.nstores++;
    pthread_mutex_unlock(&shared.lock);
    *out = q;
    return JSP_OK;
}

bool sync_queue_add(sync_queue *q, const completion_entry *entries, int n)
{
    /* One allocation per batch (not per call): the entries follow the header. */
    sync_batch *b = malloc(sizeof(*b) + sizeof(completion_entry) * (size_t)n);
    if (!b)
        return false;
    *b = (sync_batch){.entries = (completion_entry *)(b + 1), .n = n};
    if (n)
        memcpy(b->entries, entries, sizeof(completion_entry) * (size_t)n);
    pthread_mutex_lock(&q->mu);
    *q->to_sync_tail = b;
    q->to_sync_tail = &b->next;
    pthread_mutex_unlock(&q->mu);
    pthread_mutex_lock(&shared.lock);
    if (!q->is_queued) {
        q->is_queued = true;
        if (!q->is_busy) /* else the worker that holds it queues it when done */
            make_ready(q);
    }
    pthread_mutex_unlock(&shared.lock);
    return true;
}

sync_batch *sync_queue_take(sync_queue *q, bool wait)
{
    pthread_mutex_lock(&q->mu);
    while (wait && (q->to_sync || q->syncing))
        pthread_cond_wait(&q->cv, &q->mu);
    sync_batch *list = q->synced;
    q->synced = NULL;
    q->synced_tail = &q->synced;
    pthread_mutex_unlock(&q->mu);
    return list;
}

void sync_batch_free(sync_batch *b)
{
    free(b);
}

int sync_queue_fd(const sync_queue *q)
{
    return q->fd;
}

void sync_queue_close(sync_queue *q)
{
    /* Whatever was queued is synced first (as the thread of its own used to on stop). */
    pthread_mutex_lock(&shared.lock);
    while (q->is_queued || q->is_busy)
        pthread_cond_wait(&shared.idle, &shared.lock);
    if (--shared.nstores == 0)
        stop_workers();
    pthread_mutex_unlock(&shared.lock);
    for (sync_batch *b = q->synced, *next; b; b = next) { /* the store takes all first */
        next = b->next;
        free(b);
    }
    close(q->fd);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}
