/* completion.c — futex-based one-shot wait. The waiter spins briefly before it sleeps: a
 * trivial call round-trips in a few microseconds, and a sleep costs the waiter a wake-up
 * and the signaller a FUTEX_WAKE system call (on the runtime thread, the busy one).
 *
 * Sized on the 2-CPU AMD EPYC it was measured on: a `pause` takes 30-77 ns here (not the
 * ~5-10 ns of older Intel parts), so the former 4,000-pause spin lasted 120-300 us, far
 * longer than the 10-20 us it was meant to; a futex hand-off between two threads (sleep +
 * wake) costs 1.0-1.6 us, against 0.1-0.15 us spinning. Spinning longer than one hand-off
 * can save at most that hand-off, so the spin is bounded by time, COMPLETION_SPIN_NS = 1 us
 * (~ the hand-off: at most twice the best case, whatever the wait). bench_calls --only
 * sync, 1 runtime, 3 alternating runs each under a load average of 17 (neighbours'
 * builds): p50 5.9 us and 5.0 us of CPU per call with the 1 us spin; 7.1 us / 7.6 us with
 * 2 us; 11.1 us / 12.9 us with 5 us; 11.3 us / 16.5 us sleeping at once; 72 us / 57 us with
 * the old spin, which took the CPU the runtime thread needed.
 *
 * A waiter must not spin on the CPU the signaller needs: on one CPU, or when the pool has
 * more runtimes than CPUs, it sleeps at once (COMPLETION_SLEEP), as it does for waits
 * known to be long (a context's creation). The signaller wakes the futex only if the
 * waiter said it sleeps (state 2), so a caught spin costs the runtime thread nothing. */
#include "util/completion.h"

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { PENDING = 0, DONE = 1, SLEEPING = 2 };

void completion_init(completion *c)
{
    atomic_init(&c->state, PENDING);
    c->value = NULL;
}

void completion_signal(completion *c, void *value)
{
    c->value = value;
    /* Once state is DONE the waiter may return and its stack (c) be reused; waking an
     * address nobody waits on is harmless: a waiter re-checks its own word after every
     * wake. */
    if (atomic_exchange_explicit(&c->state, DONE, memory_order_acq_rel) == SLEEPING)
        syscall(SYS_futex, &c->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin(completion *c)
{
    uint64_t end = monotonic_ns() + COMPLETION_SPIN_NS;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&c->state, memory_order_acquire) == DONE)
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (i % 8 == 0 && monotonic_ns() >= end) /* the clock every 8 pauses: 0.2-0.6 us */
            return;
    }
}

void *completion_wait(completion *c, completion_spin how)
{
    if (how == COMPLETION_SPIN)
        spin(c);
    unsigned state = PENDING;
    if (atomic_compare_exchange_strong_explicit(&c->state, &state, SLEEPING, memory_order_acquire,
                                                memory_order_acquire))
        state = SLEEPING;
    while (state != DONE) {
        syscall(SYS_futex, &c->state, FUTEX_WAIT_PRIVATE, SLEEPING, NULL, NULL, 0);
        state = atomic_load_explicit(&c->state, memory_order_acquire);
    }
    return c->value;
}

completion_spin completion_spin_for(int threads)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 1 && threads <= cpus ? COMPLETION_SPIN : COMPLETION_SLEEP;
}
