/* timers.c — binary min-heap of timer entries with back-indices, so clearTimeout removes
 * in O(log n). Scheduling policy (what fires when) is in runtime.c. */
#include "runtime/timers.h"

#include <stdlib.h>
#include <time.h>

uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool is_earlier(const timer_entry *a, const timer_entry *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void place(timer_heap *h, size_t i, timer_entry *t)
{
    h->items[i] = t;
    t->heap_index = i;
}

static void sift_up(timer_heap *h, size_t i)
{
    timer_entry *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!is_earlier(t, h->items[parent]))
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(timer_heap *h, size_t i)
{
    timer_entry *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && is_earlier(h->items[child + 1], h->items[child]))
            child++;
        if (!is_earlier(h->items[child], t))
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, t);
}

int timer_heap_push(timer_heap *h, timer_entry *t)
{
    if (h->count == h->capacity) {
        size_t capacity = h->capacity ? h->capacity * 2 : 16;
        timer_entry **items = realloc(h->items, capacity * sizeof(*items));
        if (!items)
            return -1;
        h->items = items;
        h->capacity = capacity;
    }
    place(h, h->count++, t);
    sift_up(h, h->count - 1);
    return 0;
}

timer_entry *timer_heap_peek(const timer_heap *h)
{
    return h->count ? h->items[0] : NULL;
}

void timer_heap_remove(timer_heap *h, timer_entry *t)
{
    size_t i = t->heap_index;
    t->heap_index = SIZE_MAX;
    timer_entry *last = h->items[--h->count];
    if (i == h->count)
        return;
    place(h, i, last);
    sift_down(h, i);
    sift_up(h, last->heap_index);
}

timer_entry *timer_heap_pop(timer_heap *h)
{
    timer_entry *t = timer_heap_peek(h);
    if (t)
        timer_heap_remove(h, t);
    return t;
}

void timer_heap_free(timer_heap *h)
{
    free(h->items);
    *h = (timer_heap){0};
}
