/* job_queue.h — the multi-producer, single-consumer queue through which every thread
 * hands work to one runtime thread. Producers never block on the consumer; the consumer
 * takes everything at once. Closing it refuses new jobs (JSP_ECLOSED). */
#ifndef JSP_RUNTIME_JOB_QUEUE_H
#define JSP_RUNTIME_JOB_QUEUE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct job;

typedef struct job_queue {
    pthread_mutex_t mutex;
    pthread_cond_t nested_wake; /* signalled while the consumer waits inside host.callSync */
    struct job *head, *tail;
    size_t length;
    bool is_closed;
    atomic_bool is_closing;     /* is_closed, readable without the mutex (running JS polls it) */
    atomic_bool has_jobs;       /* head != NULL, readable without the mutex */
    bool is_consumer_nested;    /* consumer sleeps on nested_wake, not in its uv loop */
    bool is_poked;              /* job_queue_poke: the nested wait returns without a job */
    uv_async_t *loop_wake;      /* wakes the consumer's uv loop */
} job_queue;

int job_queue_init(job_queue *q, uv_async_t *loop_wake);
void job_queue_destroy(job_queue *q);
/* Any thread. 0, or JSP_ECLOSED when closed (the job is not taken). */
int job_queue_push(job_queue *q, struct job *j);
/* Consumer: takes every queued job in FIFO order (NULL if none); *is_closed tells whether
 * the queue is closed (checked atomically with the take). */
struct job *job_queue_take_all(job_queue *q, bool *is_closed);
/* Consumer: whether a job may be waiting (one relaxed load; exact under the mutex). */
static inline bool job_queue_maybe_has_jobs(job_queue *q)
{
    return atomic_load_explicit(&q->has_jobs, memory_order_relaxed);
}
/* Consumer, inside host.callSync: waits until a job arrives, the queue closes, or
 * deadline_ns (CLOCK_MONOTONIC; 0 = none) passes, then takes all like above. */
struct job *job_queue_wait_take_all(job_queue *q, uint64_t deadline_ns, bool *is_closed);
/* Any thread. Idempotent; wakes the consumer. */
void job_queue_close(job_queue *q);
/* Any thread: wakes the consumer without a job, in its uv loop or in its nested wait
 * (which then returns, possibly with nothing). A no-op once the queue is closed. */
void job_queue_poke(job_queue *q);
size_t job_queue_length(job_queue *q);

#endif
