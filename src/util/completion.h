/* completion.h — a one-shot event a caller thread waits on until a runtime thread
 * completes its job. Lives on the waiter's stack; not reusable. */
#ifndef JSP_UTIL_COMPLETION_H
#define JSP_UTIL_COMPLETION_H
#include <stdatomic.h>

typedef struct completion {
    atomic_uint state; /* 0 = pending, 1 = done; a futex word */
    void *value;       /* what the completer hands over; read after completion_wait */
} completion;

void completion_init(completion *c);
/* Hands value over and wakes the waiter. Any thread, exactly once. */
void completion_signal(completion *c, void *value);
/* Blocks until signalled; returns the value. */
void *completion_wait(completion *c);

#endif
