/* test_list.c — util/list.h: the intrusive FIFO and doubly linked list the runtime's job
 * lists, round robin, context lists and the lock manager are built on. Each test walks
 * the links both ways after the operation, so a wrong head, tail or back link shows. */
#include <criterion/criterion.h>

#include "util/list.h"

typedef struct node {
    int value;
    struct node *next;
    struct node *prev, *dnext;
} node;

LIST_FIFO(fifo, node, next)
LIST_DLIST(dlist, node, prev, dnext)

/* The FIFO's values in order; checks that tail is its last element. */
static void expect_fifo(node *head, node *tail, const int *values, int n)
{
    node *last = NULL;
    int i = 0;
    for (node *at = head; at; last = at, at = at->next, i++) {
        cr_assert_lt(i, n, "more elements than expected");
        cr_assert_eq(at->value, values[i], "element %d is %d, expected %d", i, at->value, values[i]);
    }
    cr_assert_eq(i, n);
    cr_assert_eq(tail, last, "tail is not the last element");
}

/* The list's values forwards, and the same backwards from tail through prev. */
static void expect_dlist(node *head, node *tail, const int *values, int n)
{
    int i = 0;
    node *last = NULL;
    for (node *at = head; at; last = at, at = at->dnext, i++) {
        cr_assert_lt(i, n);
        cr_assert_eq(at->value, values[i]);
        cr_assert_eq(at->prev, last, "prev of element %d is wrong", i);
    }
    cr_assert_eq(i, n);
    if (tail)
        cr_assert_eq(tail, last);
}

Test(list, fifo_keeps_arrival_order_and_empties)
{
    node n[3] = {{.value = 1}, {.value = 2}, {.value = 3}};
    node *head = NULL, *tail = NULL;
    for (int i = 0; i < 3; i++)
        fifo_append(&head, &tail, &n[i]);
    expect_fifo(head, tail, (int[]){1, 2, 3}, 3);
    cr_assert_eq(fifo_pop(&head, &tail), &n[0]);
    cr_assert_null(n[0].next, "a popped element keeps no link");
    fifo_push_front(&head, &tail, &n[0]);
    expect_fifo(head, tail, (int[]){1, 2, 3}, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fifo_pop(&head, &tail), &n[i]);
    cr_assert_null(head);
    cr_assert_null(tail);
    cr_assert_null(fifo_pop(&head, &tail));
    fifo_push_front(&head, &tail, &n[2]);
    expect_fifo(head, tail, (int[]){3}, 1);
}

Test(list, fifo_splice_moves_everything_in_order)
{
    node n[5] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}, {.value = 5}};
    node *head = NULL, *tail = NULL, *from_head = NULL, *from_tail = NULL;
    fifo_splice(&head, &tail, &from_head, &from_tail); /* empty into empty */
    cr_assert_null(head);
    cr_assert_null(tail);
    fifo_append(&from_head, &from_tail, &n[0]);
    fifo_append(&from_head, &from_tail, &n[1]);
    fifo_splice(&head, &tail, &from_head, &from_tail); /* into empty */
    expect_fifo(head, tail, (int[]){1, 2}, 2);
    cr_assert_null(from_head);
    cr_assert_null(from_tail);
    fifo_splice(&head, &tail, &from_head, &from_tail); /* empty into full: unchanged */
    expect_fifo(head, tail, (int[]){1, 2}, 2);
    for (int i = 2; i < 5; i++)
        fifo_append(&from_head, &from_tail, &n[i]);
    fifo_splice(&head, &tail, &from_head, &from_tail);
    expect_fifo(head, tail, (int[]){1, 2, 3, 4, 5}, 5);
    fifo_append(&head, &tail, &(node){.value = 6}); /* the tail moved with the splice */
    cr_assert_eq(tail->value, 6);
    cr_assert_eq(n[4].next, tail);
}

Test(list, fifo_remove_after_fixes_head_and_tail)
{
    node n[4] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}};
    node *head = NULL, *tail = NULL;
    for (int i = 0; i < 4; i++)
        fifo_append(&head, &tail, &n[i]);
    fifo_remove_after(&head, &tail, &n[1], &n[2]); /* middle */
    expect_fifo(head, tail, (int[]){1, 2, 4}, 3);
    cr_assert_null(n[2].next);
    fifo_remove_after(&head, &tail, &n[1], &n[3]); /* last: tail goes back */
    expect_fifo(head, tail, (int[]){1, 2}, 2);
    fifo_remove_after(&head, &tail, NULL, &n[0]); /* first */
    expect_fifo(head, tail, (int[]){2}, 1);
    cr_assert_not(fifo_remove(&head, &tail, &n[3]), "an element not in the list is not removed");
    expect_fifo(head, tail, (int[]){2}, 1);
    cr_assert(fifo_remove(&head, &tail, &n[1]));
    cr_assert_null(head);
    cr_assert_null(tail);
}

Test(list, dlist_push_remove_and_membership)
{
    node n[4] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}};
    node *head = NULL, *tail = NULL;
    dlist_push_back(&head, &tail, &n[1]);
    dlist_push_back(&head, &tail, &n[2]);
    dlist_push_front(&head, &tail, &n[0]);
    dlist_push_back(&head, &tail, &n[3]);
    expect_dlist(head, tail, (int[]){1, 2, 3, 4}, 4);
    for (int i = 0; i < 4; i++)
        cr_assert(dlist_is_linked(head, &n[i]));
    dlist_remove(&head, &tail, &n[2]); /* middle */
    expect_dlist(head, tail, (int[]){1, 2, 4}, 3);
    cr_assert_not(dlist_is_linked(head, &n[2]));
    cr_assert_null(n[2].prev);
    cr_assert_null(n[2].dnext);
    dlist_remove(&head, &tail, &n[3]); /* last */
    expect_dlist(head, tail, (int[]){1, 2}, 2);
    dlist_remove(&head, &tail, &n[0]); /* first */
    expect_dlist(head, tail, (int[]){2}, 1);
    cr_assert(dlist_is_linked(head, &n[1]), "the only element is linked");
    dlist_remove(&head, &tail, &n[1]);
    cr_assert_null(head);
    cr_assert_null(tail);
    cr_assert_not(dlist_is_linked(head, &n[1]));
}

Test(list, dlist_without_tail)
{
    node n[3] = {{.value = 1}, {.value = 2}, {.value = 3}};
    node *head = NULL;
    for (int i = 0; i < 3; i++)
        dlist_push_front(&head, NULL, &n[i]);
    expect_dlist(head, NULL, (int[]){3, 2, 1}, 3);
    dlist_remove(&head, NULL, &n[0]);
    expect_dlist(head, NULL, (int[]){3, 2}, 2);
    dlist_remove(&head, NULL, &n[2]);
    expect_dlist(head, NULL, (int[]){2}, 1);
    dlist_remove(&head, NULL, &n[1]);
    cr_assert_null(head);
}
