/* job_queue.c — mutex-protected intrusive FIFO with two ways to wake the consumer: its
 * uv_async handle normally, a condition variable while it is nested in host.callSync
 * (libuv loops cannot be re-entered, so the nested wait cannot use the loop). */
#include "runtime/job_queue.h"
#include "runtime/runtime.h"

#include <time.h>

int job_queue_init(job_queue *q, uv_async_t *loop_wake)
{
    *q = (job_queue){.loop_wake = loop_wake};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&q->nested_wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return JSP_ESYSTEM;
    if (pthread_mutex_init(&q->mutex, NULL) != 0) {
        pthread_cond_destroy(&q->nested_wake);
        return JSP_ESYSTEM;
    }
    return 0;
}

void job_queue_destroy(job_queue *q)
{
    pthread_mutex_destroy(&q->mutex);
    pthread_cond_destroy(&q->nested_wake);
}

static void wake_consumer_locked(job_queue *q)
{
    if (q->is_consumer_nested)
        pthread_cond_signal(&q->nested_wake);
    else
        uv_async_send(q->loop_wake); /* coalesces: one wake-up for a burst of pushes */
}

int job_queue_push(job_queue *q, struct job *j)
{
    pthread_mutex_lock(&q->mutex);
    if (q->is_closed) {
        pthread_mutex_unlock(&q->mutex);
        return JSP_ECLOSED;
    }
    job_list_append(&q->head, &q->tail, j);
    q->length++;
    atomic_store_explicit(&q->has_jobs, true, memory_order_relaxed);
    wake_consumer_locked(q);
    pthread_mutex_unlock(&q->mutex);
    return 0;
}

static struct job *take_locked(job_queue *q, bool *is_closed)
{
    struct job *all = q->head;
    q->head = q->tail = NULL;
    q->length = 0;
    atomic_store_explicit(&q->has_jobs, false, memory_order_relaxed);
    *is_closed = q->is_closed;
    return all;
}

struct job *job_queue_take_all(job_queue *q, bool *is_closed)
{
    pthread_mutex_lock(&q->mutex);
    struct job *all = take_locked(q, is_closed);
    pthread_mutex_unlock(&q->mutex);
    return all;
}

struct job *job_queue_wait_take_all(job_queue *q, uint64_t deadline_ns, bool *is_closed)
{
    pthread_mutex_lock(&q->mutex);
    q->is_consumer_nested = true;
    while (!q->head && !q->is_closed && !q->is_poked) {
        if (deadline_ns == 0) {
            pthread_cond_wait(&q->nested_wake, &q->mutex);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                                  .tv_nsec = (long)(deadline_ns % 1000000000u)};
            if (pthread_cond_timedwait(&q->nested_wake, &q->mutex, &ts) != 0)
                break; /* timed out: a timer is due */
        }
    }
    q->is_consumer_nested = false;
    q->is_poked = false;
    struct job *all = take_locked(q, is_closed);
    pthread_mutex_unlock(&q->mutex);
    return all;
}

void job_queue_poke(job_queue *q)
{
    pthread_mutex_lock(&q->mutex);
    if (!q->is_closed) {
        q->is_poked = q->is_consumer_nested;
        wake_consumer_locked(q);
    }
    pthread_mutex_unlock(&q->mutex);
}

void job_queue_close(job_queue *q)
{
    pthread_mutex_lock(&q->mutex);
    if (!q->is_closed) /* once closed, the consumer may have closed its uv handle */
        wake_consumer_locked(q);
    q->is_closed = true;
    atomic_store(&q->is_closing, true);
    pthread_mutex_unlock(&q->mutex);
}

size_t job_queue_length(job_queue *q)
{
    pthread_mutex_lock(&q->mutex);
    size_t n = q->length;
    pthread_mutex_unlock(&q->mutex);
    return n;
}
