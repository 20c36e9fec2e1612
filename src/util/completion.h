/* completion.h — a one-shot event a caller thread waits on until a runtime thread
 * completes its job. Lives on the waiter's stack; not reusable. */
#ifndef JSP_UTIL_COMPLETION_H
#define JSP_UTIL_COMPLETION_H
#include <stdatomic.h>

typedef struct completion {
    atomic_uint state; /* 0 = pending, 1 = done, 2 = pending, waiter asleep; a futex word */
    void *value;       /* what the completer hands over; read after completion_wait */
} completion;

/* How a waiter waits before it sleeps on the futex (see completion.c for the sizes). */
typedef enum completion_spin {
    COMPLETION_SLEEP, /* at once: a long wait (a context's creation), or no CPU to spare */
    COMPLETION_SPIN,  /* busy, up to COMPLETION_SPIN_NS, then sleep */
} completion_spin;

/* How long a waiter spins before it sleeps (measured: see completion.c). */
#ifndef COMPLETION_SPIN_NS
#define COMPLETION_SPIN_NS 1000
#endif

void completion_init(completion *c);
/* Hands value over and wakes the waiter if it sleeps. Any thread, exactly once. */
void completion_signal(completion *c, void *value);
/* Blocks until signalled; returns the value. */
void *completion_wait(completion *c, completion_spin spin);
/* The spin for a caller's wait on a pool of `threads` runtimes: COMPLETION_SLEEP on one
 * CPU or with more runtimes than CPUs (a spin could take the CPU the runtime needs),
 * COMPLETION_SPIN otherwise. */
completion_spin completion_spin_for(int threads);

#endif
