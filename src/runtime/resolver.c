/* resolver.c — see resolver.h.
 *
 * A lookup is shared by its thread and its loop (refs 2): the thread stores the answer and
 * wakes the loop through the lookup's uv_async_t, which stays open until then, cancelled or
 * not (so a cancelled lookup still counts where its owner counts it, until it ends); one
 * mutex for all lookups orders the two (a lookup takes it twice, against a getaddrinfo of
 * microseconds at best: no contention worth a lock each). */
#include "runtime/resolver.h"

#include <assert.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct resolver_lookup {
    uv_async_t async;
    int refs;                 /* its thread's and its loop's: freed at 0 */
    bool is_cancelled;
    int status;
    struct addrinfo *res;     /* the answer, until done takes it */
    resolver_done_fn done;
    void *data;
    resolver_gone_fn gone;    /* once cancelled: called when its thread has returned */
    void *gone_data;
    resolver_getaddrinfo_fn lookup;
    char port[8];
    char host[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int in_flight;              /* under lock */
static resolver_getaddrinfo_fn test_lookup; /* under lock */

static void release(resolver_lookup *l)
{
    pthread_mutex_lock(&lock);
    bool is_last = --l->refs == 0;
    pthread_mutex_unlock(&lock);
    if (!is_last)
        return;
    if (l->res)
        freeaddrinfo(l->res);
    free(l);
}

static void on_closed(uv_handle_t *handle)
{
    release(handle->data);
}

static void on_answer(uv_async_t *async)
{
    resolver_lookup *l = async->data;
    pthread_mutex_lock(&lock);
    struct addrinfo *res = l->res;
    int status = l->status;
    l->res = NULL;
    pthread_mutex_unlock(&lock);
    if (l->is_cancelled) { /* its answer is dropped (freed with it) */
        l->res = res;
        if (l->gone)
            l->gone(l->gone_data);
    } else {
        l->is_cancelled = true; /* done once */
        l->done(l->data, status, res);
    }
    uv_close((uv_handle_t *)&l->async, on_closed);
}

static void *lookup_thread(void *arg)
{
    resolver_lookup *l = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int status = l->lookup(l->host, l->port, &hints, &res);
    pthread_mutex_lock(&lock);
    in_flight--;
    l->status = status;
    l->res = status == 0 ? res : NULL;
    uv_async_send(&l->async); /* open until on_answer, cancelled or not */
    pthread_mutex_unlock(&lock);
    release(l);
    return NULL;
}

resolver_lookup *resolver_start(uv_loop_t *loop, const char *host, int port, resolver_done_fn done, void *data,
                                char *why, size_t why_len)
{
    size_t host_len = strlen(host);
    resolver_lookup *l = calloc(1, sizeof(*l) + host_len + 1);
    if (!l) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    memcpy(l->host, host, host_len + 1);
    snprintf(l->port, sizeof(l->port), "%d", port);
    l->done = done;
    l->data = data;
    l->refs = 1; /* the loop's; the thread's once it runs */
    pthread_mutex_lock(&lock);
    bool is_full = in_flight >= RESOLVER_MAX_THREADS;
    if (!is_full)
        in_flight++;
    l->lookup = test_lookup ? test_lookup : getaddrinfo;
    pthread_mutex_unlock(&lock);
    if (is_full) {
        snprintf(why, why_len, "the process already has %d name lookups in flight (all contexts together); "
                 "try again later", RESOLVER_MAX_THREADS);
        free(l);
        return NULL;
    }
    if (uv_async_init(loop, &l->async, on_answer) != 0) {
        pthread_mutex_lock(&lock);
        in_flight--;
        pthread_mutex_unlock(&lock);
        snprintf(why, why_len, "out of memory");
        free(l);
        return NULL;
    }
    l->async.data = l;
    /* Detached, with signals blocked (the process's handlers run on its own threads). */
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        l->refs = 2;
        rc = pthread_create(&thread, &attr, lookup_thread, l);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        pthread_mutex_lock(&lock);
        in_flight--;
        l->refs = 1;
        pthread_mutex_unlock(&lock);
        snprintf(why, why_len, "no thread for the name lookup: %s", strerror(rc));
        l->is_cancelled = true;
        uv_close((uv_handle_t *)&l->async, on_closed);
        return NULL;
    }
    return l;
}

void resolver_cancel(resolver_lookup *l, resolver_gone_fn gone, void *gone_data)
{
    assert(!l->is_cancelled);
    l->is_cancelled = true; /* (read on this thread only) */
    l->gone = gone;
    l->gone_data = gone_data;
}

int resolver_in_flight(void)
{
    pthread_mutex_lock(&lock);
    int n = in_flight;
    pthread_mutex_unlock(&lock);
    return n;
}

void resolver_set_getaddrinfo_for_test(resolver_getaddrinfo_fn fn)
{
    pthread_mutex_lock(&lock);
    test_lookup = fn;
    pthread_mutex_unlock(&lock);
}
