/* list.h — jspool's intrusive lists: the links live in the element (no allocation, an
 * element is in at most one list per link field), and each list gets its typed inline
 * functions from one macro, so a splice is written once and type-checked at every use
 * (the job lists, the round robin, a runtime's contexts, host calls, store contexts,
 * the pool's workers). Not thread-safe: whoever owns the list serialises its use.
 * Not for ordered or keyed containers (timers.h is a heap, u64_map.h a hash map).
 *
 * FIFO, singly linked, with a head and a tail pointer:
 *   LIST_FIFO(name, type, next)   defines, for `type *head, *tail` (both NULL when empty)
 *   name_append(&head, &tail, e)            e goes last
 *   name_push_front(&head, &tail, e)        e goes first
 *   name_pop(&head, &tail)                  the first element, unlinked, or NULL
 *   name_splice(&head, &tail, &h2, &t2)     all of the second list goes last, in order;
 *                                           the second list is left empty
 *   name_remove_after(&head, &tail, prev, e)  unlinks e, which follows prev (NULL: e is
 *                                           first) — O(1), for a walk that kept prev
 *   name_remove(&head, &tail, e)            unlinks e if it is there (a walk: O(n))
 *
 * Doubly linked, with a head and an optional tail pointer:
 *   LIST_DLIST(name, type, prev, next)      defines, for `type *head` (and `*tail`)
 *   name_push_front(&head, tail, e)         tail: &tail, or NULL for a list without one
 *   name_push_back(&head, &tail, e)
 *   name_remove(&head, tail, e)             e must be in this list; O(1)
 *   name_is_linked(head, e)                 whether e is in this list (its links, O(1))
 * An unlinked element has both links NULL (calloc, or after name_remove). */
#ifndef JSP_LIST_H
#define JSP_LIST_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

/* A list gets all its functions; a file uses some (clang warns about unused static
 * inline functions of a .c file). */
#if defined(__GNUC__)
#define LIST_FN static inline __attribute__((unused))
#else
#define LIST_FN static inline
#endif

#define LIST_FIFO(name, type, next)                                                          \
    LIST_FN void name##_append(type **head, type **tail, type *e)                            \
    {                                                                                        \
        e->next = NULL;                                                                      \
        if (*tail)                                                                           \
            (*tail)->next = e;                                                               \
        else                                                                                 \
            *head = e;                                                                       \
        *tail = e;                                                                           \
    }                                                                                        \
    LIST_FN void name##_push_front(type **head, type **tail, type *e)                        \
    {                                                                                        \
        e->next = *head;                                                                     \
        *head = e;                                                                           \
        if (!*tail)                                                                          \
            *tail = e;                                                                       \
    }                                                                                        \
    LIST_FN type *name##_pop(type **head, type **tail)                                       \
    {                                                                                        \
        type *e = *head;                                                                     \
        if (e) {                                                                             \
            *head = e->next;                                                                 \
            if (!*head)                                                                      \
                *tail = NULL;                                                                \
            e->next = NULL;                                                                  \
        }                                                                                    \
        return e;                                                                            \
    }                                                                                        \
    LIST_FN void name##_splice(type **head, type **tail, type **from_head, type **from_tail) \
    {                                                                                        \
        if (!*from_head)                                                                     \
            return;                                                                          \
        if (*tail)                                                                           \
            (*tail)->next = *from_head;                                                      \
        else                                                                                 \
            *head = *from_head;                                                              \
        *tail = *from_tail;                                                                  \
        *from_head = *from_tail = NULL;                                                      \
    }                                                                                        \
    LIST_FN void name##_remove_after(type **head, type **tail, type *prev, type *e)          \
    {                                                                                        \
        assert(prev ? prev->next == e : *head == e);                                         \
        if (prev)                                                                            \
            prev->next = e->next;                                                            \
        else                                                                                 \
            *head = e->next;                                                                 \
        if (*tail == e)                                                                      \
            *tail = prev;                                                                    \
        e->next = NULL;                                                                      \
    }                                                                                        \
    LIST_FN bool name##_remove(type **head, type **tail, type *e)                            \
    {                                                                                        \
        for (type *prev = NULL, *at = *head; at; prev = at, at = at->next)                   \
            if (at == e) {                                                                   \
                name##_remove_after(head, tail, prev, e);                                    \
                return true;                                                                 \
            }                                                                                \
        return false;                                                                        \
    }

#define LIST_DLIST(name, type, prev, next)                                                   \
    LIST_FN void name##_push_front(type **head, type **tail, type *e)                        \
    {                                                                                        \
        assert(!e->prev && !e->next && *head != e);                                          \
        e->prev = NULL;                                                                      \
        e->next = *head;                                                                     \
        if (*head)                                                                           \
            (*head)->prev = e;                                                               \
        else if (tail)                                                                       \
            *tail = e;                                                                       \
        *head = e;                                                                           \
    }                                                                                        \
    LIST_FN void name##_push_back(type **head, type **tail, type *e)                         \
    {                                                                                        \
        assert(!e->prev && !e->next && *head != e);                                          \
        e->next = NULL;                                                                      \
        e->prev = *tail;                                                                     \
        if (*tail)                                                                           \
            (*tail)->next = e;                                                               \
        else                                                                                 \
            *head = e;                                                                       \
        *tail = e;                                                                           \
    }                                                                                        \
    LIST_FN void name##_remove(type **head, type **tail, type *e)                            \
    {                                                                                        \
        assert(e->prev ? e->prev->next == e : *head == e);                                   \
        assert(e->next ? e->next->prev == e : !tail || *tail == e);                          \
        if (e->prev)                                                                         \
            e->prev->next = e->next;                                                         \
        else                                                                                 \
            *head = e->next;                                                                 \
        if (e->next)                                                                         \
            e->next->prev = e->prev;                                                         \
        else if (tail)                                                                       \
            *tail = e->prev;                                                                 \
        e->prev = e->next = NULL;                                                            \
    }                                                                                        \
    LIST_FN bool name##_is_linked(const type *head, const type *e)                           \
    {                                                                                        \
        return e->prev != NULL || head == e;                                                 \
    }

#endif
