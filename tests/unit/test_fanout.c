/*
 * test_fanout.c - shared messages and per-connection queues: order, tick
 * coalescing, bounds, batching into one frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"

#define HEAD 16

static struct fan_msg *msg(const char *type, int n, bool tick)
{
    json_t *j = json_pack("{s:s, s:i}", "type", type, "n", n);
    struct fan_msg *m = fan_msg_new(j, HEAD, tick);

    json_decref(j);
    assert_non_null(m);
    return m;
}

/* Takes one frame into a NUL-terminated string (caller frees). */
static char *take(struct fan_queue *q, size_t max_frame, size_t *count)
{
    static unsigned char scratch[HEAD + 4096];
    unsigned char *data;
    struct fan_msg *hold;
    size_t len;
    char *s;

    *count =
        fan_queue_take(q, scratch, sizeof(scratch), HEAD, max_frame, &data, &len, &hold);
    if (!*count)
        return NULL;
    s = malloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    fan_msg_unref(hold);
    return s;
}

static void one_encoding_is_shared_by_every_queue(void **state)
{
    struct fan_queue a, b;
    struct fan_msg *m = msg("card_added", 1, false);
    size_t n;
    char *s;

    (void)state;
    fan_queue_init(&a);
    fan_queue_init(&b);
    assert_int_equal(fan_queue_push(&a, m, 16, 1 << 20), 0);
    assert_int_equal(fan_queue_push(&b, m, 16, 1 << 20), 0);
    assert_int_equal(m->refs, 3);
    fan_msg_unref(m);
    s = take(&a, 4096, &n);
    assert_int_equal(n, 1);
    assert_string_equal(s, "{\"type\":\"card_added\",\"n\":1}");
    free(s);
    assert_int_equal(m->refs, 1); /* b still holds it */
    fan_queue_clear(&a);
    fan_queue_clear(&b);
}

static void waiting_messages_go_out_as_one_array_in_order(void **state)
{
    struct fan_queue q;
    size_t n;
    char *s;

    (void)state;
    fan_queue_init(&q);
    for (int i = 1; i <= 3; i++) {
        struct fan_msg *m = msg("e", i, false);
        assert_int_equal(fan_queue_push(&q, m, 16, 1 << 20), 0);
        fan_msg_unref(m);
    }
    s = take(&q, 4096, &n);
    assert_int_equal(n, 3);
    assert_string_equal(
        s,
        "[{\"type\":\"e\",\"n\":1},{\"type\":\"e\",\"n\":2},{\"type\":\"e\",\"n\":3}]");
    free(s);
    assert_true(fan_queue_empty(&q));
    assert_int_equal(q.bytes, 0);
    fan_queue_clear(&q);
}

static void a_frame_stops_at_the_size_bound(void **state)
{
    struct fan_queue q;
    size_t n, total = 0;
    char *s;

    (void)state;
    fan_queue_init(&q);
    for (int i = 0; i < 10; i++) {
        struct fan_msg *m = msg("e", i, false);
        assert_int_equal(fan_queue_push(&q, m, 16, 1 << 20), 0);
        fan_msg_unref(m);
    }
    /* each message is 18 bytes: 3 fit in 64 bytes with brackets and commas */
    while ((s = take(&q, 64, &n))) {
        assert_true(strlen(s) <= 64);
        total += n;
        free(s);
    }
    assert_int_equal(total, 10);
    fan_queue_clear(&q);
}

static void a_new_tick_replaces_the_waiting_one_in_place_of_order(void **state)
{
    struct fan_queue q;
    struct fan_msg *t1 = msg("tick", 1, true), *e = msg("e", 2, false),
                   *t2 = msg("tick", 3, true);
    size_t n;
    char *s;

    (void)state;
    fan_queue_init(&q);
    assert_int_equal(fan_queue_push(&q, t1, 16, 1 << 20), 0);
    assert_int_equal(fan_queue_push(&q, e, 16, 1 << 20), 0);
    assert_int_equal(fan_queue_push(&q, t2, 16, 1 << 20), 0);
    assert_int_equal(t1->refs, 1); /* released by the queue */
    s = take(&q, 4096, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s, "[{\"type\":\"e\",\"n\":2},{\"type\":\"tick\",\"n\":3}]");
    free(s);
    fan_msg_unref(t1);
    fan_msg_unref(e);
    fan_msg_unref(t2);
    fan_queue_clear(&q);
}

static void ticks_alone_never_fill_a_queue(void **state)
{
    struct fan_queue q;

    (void)state;
    fan_queue_init(&q);
    for (int i = 0; i < 1000; i++) {
        struct fan_msg *t = msg("tick", i, true);
        assert_int_equal(fan_queue_push(&q, t, 8, 1 << 20), 0);
        fan_msg_unref(t);
        /* holes are reclaimed when the ring would otherwise fill */
        if (q.count == 8) {
            size_t n;
            char *s = take(&q, 4096, &n);
            assert_int_equal(n, 1);
            free(s);
        }
    }
    assert_true(q.bytes < 64);
    fan_queue_clear(&q);
}

static void a_full_queue_refuses_by_frames_and_by_bytes(void **state)
{
    struct fan_queue q;
    struct fan_msg *m = msg("e", 1, false);

    (void)state;
    fan_queue_init(&q);
    for (int i = 0; i < 4; i++)
        assert_int_equal(fan_queue_push(&q, m, 4, 1 << 20), 0);
    assert_int_equal(fan_queue_push(&q, m, 4, 1 << 20), -1);
    assert_int_equal(q.count, 4);
    fan_queue_clear(&q);
    assert_int_equal(fan_queue_push(&q, m, 100, 2 * m->len), 0);
    assert_int_equal(fan_queue_push(&q, m, 100, 2 * m->len), 0);
    assert_int_equal(fan_queue_push(&q, m, 100, 2 * m->len), -1);
    fan_queue_clear(&q);
    /* One message larger than the byte bound is refused even on an empty
     * queue: it would be held whole for a reader that may never read. */
    assert_int_equal(fan_queue_push(&q, m, 100, m->len / 2), -1);
    assert_int_equal(q.count, 0);
    assert_int_equal(fan_queue_push(&q, m, 100, m->len), 0);
    fan_queue_clear(&q);
    assert_int_equal(m->refs, 1);
    fan_msg_unref(m);
}

/* A spliced message reads as head + body part + tail, shares its body by
 * reference, and always goes alone (never copied into a batch). */
static void a_spliced_message_shares_its_body_and_goes_alone(void **state)
{
    json_t *j = json_pack("{s:s}", "room", "shared body");
    struct fan_msg *body = fan_msg_new(j, HEAD, false);
    struct fan_msg *a, *b, *e = msg("e", 1, false);
    const char *want = "{\"you\":1,\"room\":{\"room\":\"shared body\",\"clock\":2}}";
    unsigned char out[128];
    struct fan_queue q;
    unsigned char scratch[HEAD + 4096], *data;
    struct fan_msg *hold;
    size_t len, n;

    (void)state;
    json_decref(j);
    /* The body without its closing brace, then the own tail. */
    a = fan_msg_splice((const unsigned char *)"{\"you\":1,\"room\":", 16, body,
                       body->len - 1, (const unsigned char *)",\"clock\":2}}", 12, HEAD);
    b = fan_msg_splice((const unsigned char *)"{\"you\":2,\"room\":", 16, body,
                       body->len - 1, (const unsigned char *)",\"clock\":2}}", 12, HEAD);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(body->refs, 3);
    assert_int_equal(a->len, strlen(want));
    /* Any slice copies the right bytes, across the part boundaries too. */
    for (size_t off = 0; off < a->len; off++)
        for (size_t k = 0; off + k <= a->len; k += 7) {
            fan_msg_copy(a, off, out, k, HEAD);
            if (memcmp(out, want + off, k) != 0)
                fail_msg("slice [%zu, %zu) differs", off, off + k);
        }
    fan_queue_init(&q);
    assert_int_equal(fan_queue_push(&q, e, 16, 1 << 20), 0);
    assert_int_equal(fan_queue_push(&q, a, 16, 1 << 20), 0);
    assert_int_equal(fan_queue_push(&q, e, 16, 1 << 20), 0);
    n = fan_queue_take(&q, scratch, sizeof(scratch), HEAD, 4096, &data, &len, &hold);
    assert_int_equal(n, 1);
    assert_ptr_equal(hold, e);
    fan_msg_unref(hold);
    n = fan_queue_take(&q, scratch, sizeof(scratch), HEAD, 4096, &data, &len, &hold);
    assert_int_equal(n, 1);
    assert_ptr_equal(hold, a);
    assert_null(data);
    fan_msg_unref(hold);
    fan_queue_clear(&q);
    fan_msg_unref(a);
    fan_msg_unref(b);
    assert_int_equal(body->refs, 1);
    fan_msg_unref(body);
    fan_msg_unref(e);
}

static void the_ring_grows_and_keeps_order(void **state)
{
    struct fan_queue q;
    size_t n;
    char *s;
    int next = 0;

    (void)state;
    fan_queue_init(&q);
    /* interleave pushes and takes so the ring wraps before it grows */
    for (int i = 0; i < 3; i++) {
        struct fan_msg *m = msg("e", i, false);
        fan_queue_push(&q, m, 64, 1 << 20);
        fan_msg_unref(m);
    }
    s = take(&q, 20, &n); /* one at a time */
    assert_int_equal(n, 1);
    free(s);
    next = 1;
    for (int i = 3; i < 40; i++) {
        struct fan_msg *m = msg("e", i, false);
        assert_int_equal(fan_queue_push(&q, m, 64, 1 << 20), 0);
        fan_msg_unref(m);
    }
    while ((s = take(&q, 20, &n))) {
        char want[64];
        snprintf(want, sizeof(want), "{\"type\":\"e\",\"n\":%d}", next++);
        assert_string_equal(s, want);
        free(s);
    }
    assert_int_equal(next, 40);
    fan_queue_clear(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_encoding_is_shared_by_every_queue),
        cmocka_unit_test(waiting_messages_go_out_as_one_array_in_order),
        cmocka_unit_test(a_frame_stops_at_the_size_bound),
        cmocka_unit_test(a_new_tick_replaces_the_waiting_one_in_place_of_order),
        cmocka_unit_test(ticks_alone_never_fill_a_queue),
        cmocka_unit_test(a_full_queue_refuses_by_frames_and_by_bytes),
        cmocka_unit_test(the_ring_grows_and_keeps_order),
        cmocka_unit_test(a_spliced_message_shares_its_body_and_goes_alone),
    };
    return cmocka_run_group_tests_name("fanout", tests, NULL, NULL);
}
