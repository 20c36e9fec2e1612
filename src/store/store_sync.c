/* store_sync.c — the background sync thread of a store opened with background_sync: the
 * store's thread commits a batch (the WAL is written, not synced) and queues its
 * completions here; this thread runs one fdatasync for everything queued so far, hands the
 * batches back and calls wake, and the store's thread runs their completions in
 * store_poll. The runtime thread therefore never waits for the disk. Not for: SQL or
 * anything of the store's own state — only the queue below crosses threads. */
#include "store/store_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sync_thread {
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below except the read-only fields */
    pthread_cond_t cv;
    sync_batch *to_sync, **to_sync_tail; /* committed, waiting for an fdatasync */
    sync_batch *synced, **synced_tail;   /* synced, waiting for sync_thread_take */
    bool syncing;                        /* an fdatasync is running */
    bool stopping;
    int fd;           /* read-only after start */
    const char *path; /* read-only after start */
    store_wake_fn *wake;
    void *wake_user;
};

/* One fdatasync covers every batch committed before it started. */
static void *sync_main(void *arg)
{
    sync_thread *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->to_sync && !st->stopping)
            pthread_cond_wait(&st->cv, &st->mu);
        if (!st->to_sync)
            break;
        sync_batch *batch = st->to_sync;
        st->to_sync = NULL;
        st->to_sync_tail = &st->to_sync;
        st->syncing = true;
        pthread_mutex_unlock(&st->mu);
        store_error e = {0};
        if (fdatasync(st->fd))
            store_fail(&e, JSP_ESTORE, "StoreError", "store %s: fsync failed (%s)", st->path, strerror(errno));
        pthread_mutex_lock(&st->mu);
        for (sync_batch *b = batch; b; b = b->next)
            b->err = e;
        *st->synced_tail = batch;
        while (*st->synced_tail)
            st->synced_tail = &(*st->synced_tail)->next;
        st->syncing = false;
        pthread_cond_broadcast(&st->cv); /* sync_thread_take(wait) */
        if (st->wake) {
            pthread_mutex_unlock(&st->mu);
            st->wake(st->wake_user);
            pthread_mutex_lock(&st->mu);
        }
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

int sync_thread_start(int fd, const char *path, store_wake_fn *wake, void *wake_user, sync_thread **out,
                      store_error *err)
{
    sync_thread *st = calloc(1, sizeof(*st));
    if (!st) {
        close(fd);
        return store_fail(err, JSP_ENOMEM, "OutOfMemory", "out of memory");
    }
    st->to_sync_tail = &st->to_sync;
    st->synced_tail = &st->synced;
    st->fd = fd;
    st->path = path;
    st->wake = wake;
    st->wake_user = wake_user;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    if (pthread_create(&st->thread, NULL, sync_main, st)) {
        close(fd);
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
        free(st);
        return store_fail(err, JSP_ESYSTEM, "StoreError", "background_sync: cannot start a thread");
    }
    *out = st;
    return JSP_OK;
}

bool sync_thread_queue(sync_thread *st, const completion_entry *entries, int n)
{
    /* One allocation per batch (not per call): the entries follow the header. */
    sync_batch *b = malloc(sizeof(*b) + sizeof(completion_entry) * (size_t)n);
    if (!b)
        return false;
    *b = (sync_batch){.entries = (completion_entry *)(b + 1), .n = n};
    if (n)
        memcpy(b->entries, entries, sizeof(completion_entry) * (size_t)n);
    pthread_mutex_lock(&st->mu);
    *st->to_sync_tail = b;
    st->to_sync_tail = &b->next;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return true;
}

sync_batch *sync_thread_take(sync_thread *st, bool wait)
{
    pthread_mutex_lock(&st->mu);
    while (wait && (st->to_sync || st->syncing))
        pthread_cond_wait(&st->cv, &st->mu);
    sync_batch *list = st->synced;
    st->synced = NULL;
    st->synced_tail = &st->synced;
    pthread_mutex_unlock(&st->mu);
    return list;
}

void sync_batch_free(sync_batch *b)
{
    free(b);
}

int sync_thread_fd(const sync_thread *st)
{
    return st->fd;
}

void sync_thread_stop(sync_thread *st)
{
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    for (sync_batch *b = st->synced, *next; b; b = next) { /* the store takes all first */
        next = b->next;
        free(b);
    }
    close(st->fd);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    free(st);
}
