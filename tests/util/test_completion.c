/* completion: a waiter gets the value handed over from another thread, whether it caught
 * the signal while spinning or slept; and its spin is bounded by time, so a slow job does
 * not cost its waiter CPU (the old spin burned 120-300 us of a CPU per wait here). */
#include "util/completion.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

typedef struct signaller {
    completion *c;
    int delay_us;
} signaller;

static int value = 42;

static void *signal_later(void *arg)
{
    signaller *s = arg;
    struct timespec ts = {.tv_sec = s->delay_us / 1000000, .tv_nsec = (s->delay_us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
    completion_signal(s->c, &value);
    return NULL;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits for a signal delay_us away; returns the waiter's CPU time in us. */
static double wait_for_signal(completion_spin how, int delay_us)
{
    completion c;
    completion_init(&c);
    signaller s = {&c, delay_us};
    pthread_t t;
    uint64_t cpu0 = thread_cpu_ns();
    cr_assert_eq(pthread_create(&t, NULL, signal_later, &s), 0);
    int *got = completion_wait(&c, how);
    double cpu_us = (double)(thread_cpu_ns() - cpu0) / 1e3;
    pthread_join(t, NULL);
    cr_assert_eq(got, &value);
    return cpu_us;
}

Test(completion, the_value_arrives_whether_the_waiter_spun_or_slept)
{
    for (int i = 0; i < 200; i++) {
        wait_for_signal(COMPLETION_SPIN, 0);
        wait_for_signal(COMPLETION_SPIN, i % 20);
        wait_for_signal(COMPLETION_SLEEP, i % 3);
    }
}

Test(completion, signalled_before_the_wait_returns_at_once)
{
    completion c;
    completion_init(&c);
    completion_signal(&c, &value);
    cr_assert_eq(completion_wait(&c, COMPLETION_SPIN), &value);
}

Test(completion, a_long_wait_costs_the_waiter_no_more_than_its_bounded_spin)
{
    /* 20 waits of 20 ms: spinning for the whole wait would be 400 ms of CPU. Each may
     * spin COMPLETION_SPIN_NS and then sleeps; 2 ms in all (20 ms under ASan, whose thread
     * creation and interception cost 2.4 ms in CI) leaves room for thread creation and a
     * slow machine — still 20x below a spinning waiter. */
#ifdef __SANITIZE_ADDRESS__
    const double bound_us = 20000;
#else
    const double bound_us = 2000;
#endif
    double cpu_us = 0;
    for (int i = 0; i < 20; i++)
        cpu_us += wait_for_signal(COMPLETION_SPIN, 20000);
    cr_assert_lt(cpu_us, bound_us, "the waiter used %.0f us of CPU over 400 ms of waiting", cpu_us);
}
