/* completion.c — futex-based one-shot wait. The waiter spins briefly first: a trivial
 * call round-trips in a few microseconds, less than the cost of sleeping and being woken
 * (see bench/bench_calls.c and the README table for the measured effect). */
#include "util/completion.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { SPIN_ITERATIONS = 4000 }; /* ~10-20 us of pause instructions */

void completion_init(completion *c)
{
    atomic_init(&c->state, 0);
    c->value = NULL;
}

void completion_signal(completion *c, void *value)
{
    c->value = value;
    atomic_store_explicit(&c->state, 1, memory_order_release);
    /* The waiter may already be gone once state is 1 only if it saw it while spinning,
     * and then it never sleeps on the futex; waking an address nobody waits on is
     * harmless: the wait loop re-checks its own word after every wake. */
    syscall(SYS_futex, &c->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void *completion_wait(completion *c)
{
    for (int i = 0; i < SPIN_ITERATIONS; i++) {
        if (atomic_load_explicit(&c->state, memory_order_acquire))
            return c->value;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    while (!atomic_load_explicit(&c->state, memory_order_acquire))
        syscall(SYS_futex, &c->state, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return c->value;
}
