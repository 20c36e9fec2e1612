/* timers.h — the runtime's timer heap: every setTimeout/setInterval of every context on
 * one runtime, ordered by due time then creation order, behind a single uv_timer. One
 * heap (not a uv_timer each) so the nested wait of host.callSync can fire them too. */
#ifndef JSP_RUNTIME_TIMERS_H
#define JSP_RUNTIME_TIMERS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsp_context;
struct engine_callback;

typedef struct timer_entry {
    uint64_t due_ns;       /* CLOCK_MONOTONIC */
    uint64_t seq;          /* creation order breaks ties, as HTML requires */
    uint64_t id;           /* the number JS sees; per context */
    uint64_t interval_ns;  /* 0 = one-shot */
    struct jsp_context *ctx;
    struct engine_callback *callback; /* NULL: a deadline — a parked call's wall limit
                                         (call), or a held lock's (id = its request id,
                                         lock_requests.c) */
    struct job *call;      /* the parked call a deadline entry ends */
    size_t heap_index;     /* SIZE_MAX when not in the heap (firing or held) */
    struct timer_entry *held_prev, *held_next; /* in the runtime's held_timers: due while
                                  its context could not run JS (runtime.c) */
    bool is_cancelled;     /* cleared while its callback runs */
} timer_entry;

typedef struct timer_heap {
    timer_entry **items;
    size_t count, capacity;
} timer_heap;

int timer_heap_push(timer_heap *h, timer_entry *t); /* 0 or -1 (no memory) */
timer_entry *timer_heap_peek(const timer_heap *h);
timer_entry *timer_heap_pop(timer_heap *h);
void timer_heap_remove(timer_heap *h, timer_entry *t); /* t must be in the heap */
void timer_heap_free(timer_heap *h);

uint64_t monotonic_ns(void);

#endif
