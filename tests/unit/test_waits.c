/*
 * test_waits.c - the commit-wait ring (src/waits.c): answers leave in
 * submission order, barriers wait for everything before them, a forgotten
 * owner keeps its place, a failed record fails only its own answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "errors.h"
#include "waits.h"

/* What the release callback saw, in order. */
struct seen {
    size_t n;
    uintptr_t msg[256]; /* the entries' msg, as numbers */
    int rc[256];
    bool owned[256]; /* owner still set */
};

static void record(void *arg, struct wait *e, int rc)
{
    struct seen *s = arg;

    assert_true(s->n < 256);
    s->msg[s->n] = (uintptr_t)e->msg;
    s->rc[s->n] = rc;
    s->owned[s->n] = e->owner != NULL;
    s->n++;
}

#define M(x) ((void *)(uintptr_t)(x))

static void answers_leave_in_commit_order(void **state)
{
    struct waits w = {0};
    struct seen s = {0};
    int owner;

    (void)state;
    assert_true(waits_is_empty(&w));
    assert_int_equal(waits_push(&w, 1, WAITS_WS, &owner, M(101)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_HTTP, &owner, M(102)), 0);
    assert_int_equal(waits_push(&w, 3, WAITS_NONE, NULL, NULL), 0);
    assert_false(waits_is_empty(&w));
    assert_int_equal(waits_commit(&w, 1, 0, record, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.msg[0], 101);
    assert_int_equal(waits_commit(&w, 2, 0, record, &s), 0);
    assert_int_equal(waits_commit(&w, 3, 0, record, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.msg[1], 102);
    assert_int_equal(s.msg[2], 0);
    assert_true(waits_is_empty(&w));
    waits_free(&w, NULL);
}

static void a_token_reported_out_of_order_is_refused_and_changes_nothing(void **state)
{
    struct waits w = {0};
    struct seen s = {0};

    (void)state;
    assert_int_equal(waits_push(&w, 1, WAITS_WS, &s, M(1)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_WS, &s, M(2)), 0);
    assert_int_equal(waits_commit(&w, 2, 0, record, &s), CODEV_E_INTERNAL);
    assert_int_equal(s.n, 0);
    assert_int_equal(w.n, 2);
    assert_int_equal(waits_commit(&w, 7, 0, record, &s), CODEV_E_INTERNAL);
    assert_int_equal(waits_commit(&w, 1, 0, record, &s), 0);
    assert_int_equal(waits_commit(&w, 2, 0, record, &s), 0);
    assert_int_equal(s.n, 2);
    /* Nothing waits: any token is out of order. */
    assert_int_equal(waits_commit(&w, 3, 0, record, &s), CODEV_E_INTERNAL);
    waits_free(&w, NULL);
}

/* The ack of a duplicate command is a barrier: it goes once every record
 * submitted before it is committed, not before. */
static void a_duplicate_ack_waits_for_every_earlier_record(void **state)
{
    struct waits w = {0};
    struct seen s = {0};

    (void)state;
    assert_int_equal(waits_push(&w, 1, WAITS_WS, &s, M(1)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_WS, &s, M(2)), 0);
    assert_int_equal(waits_push(&w, 0, WAITS_WS, &s, M(99)), 0); /* the duplicate */
    assert_int_equal(waits_push(&w, 3, WAITS_WS, &s, M(3)), 0);
    assert_int_equal(waits_release_barriers(&w, record, &s), 0);
    assert_int_equal(waits_commit(&w, 1, 0, record, &s), 0);
    assert_int_equal(s.n, 1); /* the barrier still waits for 2 */
    assert_int_equal(waits_commit(&w, 2, 0, record, &s), 0);
    assert_int_equal(s.n, 3); /* 2, then the barrier at once */
    assert_int_equal(s.msg[1], 2);
    assert_int_equal(s.msg[2], 99);
    assert_int_equal(s.rc[2], 0);
    assert_int_equal(waits_commit(&w, 3, 0, record, &s), 0);
    assert_int_equal(s.msg[3], 3);
    waits_free(&w, NULL);
}

/* A record's held events, a welcome (a barrier) pushed among them and its
 * ack leave together when it commits, in order; a failed record fails
 * each of its entries but not the barrier, and the next record waits. */
static void a_record_with_several_entries_leaves_whole(void **state)
{
    struct waits w = {0};
    struct seen s = {0};

    (void)state;
    assert_int_equal(waits_push(&w, 1, WAITS_EVENTS, &s, M(10)), 0);
    assert_int_equal(waits_push(&w, 1, WAITS_WS, &s, M(11)), 0);
    assert_int_equal(waits_push(&w, 0, WAITS_WELCOME, &s, M(12)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_EVENTS, &s, M(20)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_WS, &s, M(21)), 0);
    assert_int_equal(waits_push(&w, 3, WAITS_EVENTS, &s, M(30)), 0);
    assert_int_equal(waits_commit(&w, 1, 0, record, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.msg[2], 12);
    assert_int_equal(waits_commit(&w, 2, CODEV_E_STORE_UNAVAILABLE, record, &s), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.rc[3], CODEV_E_STORE_UNAVAILABLE);
    assert_int_equal(s.rc[4], CODEV_E_STORE_UNAVAILABLE);
    assert_int_equal(s.msg[4], 21);
    assert_int_equal(w.n, 1); /* record 3's events still wait */
    assert_int_equal(waits_commit(&w, 3, 0, record, &s), 0);
    assert_int_equal(s.msg[5], 30);
    assert_true(waits_is_empty(&w));
    waits_free(&w, NULL);
}

/* Barriers at the head of an otherwise empty ring go at the next release. */
static void barriers_alone_are_released_at_once(void **state)
{
    struct waits w = {0};
    struct seen s = {0};

    (void)state;
    assert_int_equal(waits_push(&w, 0, WAITS_WS, &s, M(1)), 0);
    assert_int_equal(waits_push(&w, 0, WAITS_WS, &s, M(2)), 0);
    assert_int_equal(waits_release_barriers(&w, record, &s), 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.msg[0], 1);
    assert_int_equal(s.msg[1], 2);
    assert_true(waits_is_empty(&w));
    waits_free(&w, NULL);
}

/* The writer failed one batch: each of its records fails its own answer,
 * and the barrier behind them is released all the same (its own answer is
 * the caller's to send: the duplicate was accepted earlier). */
static void a_failed_batch_fails_its_own_answers_only(void **state)
{
    struct waits w = {0};
    struct seen s = {0};

    (void)state;
    assert_int_equal(waits_push(&w, 1, WAITS_WS, &s, M(1)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_HTTP, &s, M(2)), 0);
    assert_int_equal(waits_push(&w, 0, WAITS_WS, &s, M(50)), 0);
    assert_int_equal(waits_push(&w, 3, WAITS_WS, &s, M(3)), 0);
    assert_int_equal(waits_commit(&w, 1, CODEV_E_INTERNAL, record, &s), 0);
    assert_int_equal(waits_commit(&w, 2, CODEV_E_INTERNAL, record, &s), 0);
    assert_int_equal(waits_commit(&w, 3, 0, record, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.rc[0], CODEV_E_INTERNAL);
    assert_int_equal(s.rc[1], CODEV_E_INTERNAL);
    assert_int_equal(s.msg[2], 50);
    assert_int_equal(s.rc[2], 0);
    assert_int_equal(s.rc[3], 0);
    waits_free(&w, NULL);
}

/* A connection that closes keeps its entries' places: the tokens behind
 * them are still released in order, with no owner to answer. */
static void a_forgotten_owner_keeps_its_place_in_the_order(void **state)
{
    struct waits w = {0};
    struct seen s = {0};
    int a, b;

    (void)state;
    assert_int_equal(waits_push(&w, 1, WAITS_WS, &a, M(1)), 0);
    assert_int_equal(waits_push(&w, 2, WAITS_WS, &b, M(2)), 0);
    assert_int_equal(waits_push(&w, 0, WAITS_WS, &a, M(3)), 0);
    waits_forget(&w, &a);
    assert_int_equal(w.n, 3);
    assert_int_equal(waits_commit(&w, 1, 0, record, &s), 0);
    assert_int_equal(waits_commit(&w, 2, 0, record, &s), 0);
    assert_int_equal(s.n, 3);
    assert_false(s.owned[0]);
    assert_true(s.owned[1]);
    assert_false(s.owned[2]);
    waits_free(&w, NULL);
}

static size_t freed;

static void count_free(void *msg)
{
    (void)msg;
    freed++;
}

/* The ring grows past its first allocation while it has wrapped around,
 * and keeps the order; what is left at the end is handed to msg_free. */
static void the_ring_grows_across_its_wrap_and_keeps_order(void **state)
{
    struct waits w = {0};
    struct seen s = {0};
    uint64_t next = 1, due = 1;

    (void)state;
    for (int i = 0; i < 40; i++, next++)
        assert_int_equal(waits_push(&w, next, WAITS_NONE, NULL, M(next)), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(waits_commit(&w, due++, 0, record, &s), 0);
    for (int i = 0; i < 100; i++, next++) /* wraps, then doubles */
        assert_int_equal(waits_push(&w, next, WAITS_NONE, NULL, M(next)), 0);
    assert_true(w.cap > 64);
    for (int i = 0; i < 100; i++)
        assert_int_equal(waits_commit(&w, due++, 0, record, &s), 0);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.msg[i], i + 1);
    assert_int_equal(w.n, 10);
    freed = 0;
    waits_free(&w, count_free);
    assert_int_equal(freed, 10);
    assert_null(w.v);
    assert_true(waits_is_empty(&w));
    waits_free(&w, count_free); /* empty: a no-op */
    assert_int_equal(freed, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_leave_in_commit_order),
        cmocka_unit_test(a_token_reported_out_of_order_is_refused_and_changes_nothing),
        cmocka_unit_test(a_duplicate_ack_waits_for_every_earlier_record),
        cmocka_unit_test(barriers_alone_are_released_at_once),
        cmocka_unit_test(a_record_with_several_entries_leaves_whole),
        cmocka_unit_test(a_failed_batch_fails_its_own_answers_only),
        cmocka_unit_test(a_forgotten_owner_keeps_its_place_in_the_order),
        cmocka_unit_test(the_ring_grows_across_its_wrap_and_keeps_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
