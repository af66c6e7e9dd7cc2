/*
 * test_ratelimit.c - token buckets and the per-address table
 * (src/ratelimit.c). Instants are passed explicitly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ratelimit.h"

#define T0 1764326400000LL

static void a_bucket_gives_its_burst_then_refuses_with_a_retry_delay(void **state)
{
    struct rate_bucket b = {0};
    int retry = 0;

    (void)state;
    for (int i = 0; i < 10; i++)
        assert_true(rate_bucket_take(&b, 10, 10, T0, &retry));
    assert_false(rate_bucket_take(&b, 10, 10, T0, &retry));
    assert_int_equal(retry, 6); /* one token every 6 s at 10 a minute */
    assert_false(rate_bucket_take(&b, 10, 10, T0 + 5500, &retry));
    assert_int_equal(retry, 1); /* rounded up */
    assert_true(rate_bucket_take(&b, 10, 10, T0 + 6000, &retry));
}

static void a_bucket_refills_up_to_its_burst_only(void **state)
{
    struct rate_bucket b = {0};

    (void)state;
    assert_true(rate_bucket_take(&b, 60, 3, T0, NULL));
    for (int i = 0; i < 3; i++)
        assert_true(rate_bucket_take(&b, 60, 3, T0 + 3600000, NULL));
    assert_false(rate_bucket_take(&b, 60, 3, T0 + 3600000, NULL));
}

static void ready_does_not_take(void **state)
{
    struct rate_bucket b = {0};

    (void)state;
    assert_true(rate_bucket_ready(&b, 1, 1, T0, NULL));
    assert_true(rate_bucket_ready(&b, 1, 1, T0, NULL));
    assert_true(rate_bucket_take(&b, 1, 1, T0, NULL));
    assert_false(rate_bucket_ready(&b, 1, 1, T0, NULL));
}

static void each_address_has_its_own_buckets(void **state)
{
    struct rate_table *t = rate_table_new(64);
    struct rate_addr *a, *b;

    (void)state;
    assert_non_null(t);
    a = rate_table_get(t, "192.0.2.1", T0, 60000);
    assert_true(rate_bucket_take(&a->b[0], 1, 1, T0, NULL));
    b = rate_table_get(t, "192.0.2.2", T0, 60000);
    assert_true(rate_bucket_take(&b->b[0], 1, 1, T0, NULL));
    a = rate_table_get(t, "192.0.2.1", T0 + 1, 60000);
    assert_false(rate_bucket_take(&a->b[0], 1, 1, T0 + 1, NULL));
    rate_table_free(t);
}

static void ipv6_addresses_of_one_64_share_their_buckets(void **state)
{
    struct rate_table *t = rate_table_new(64);
    struct rate_addr *a;

    (void)state;
    a = rate_table_get(t, "2001:db8:1:2:aaaa::1", T0, 60000);
    assert_true(rate_bucket_take(&a->b[0], 1, 1, T0, NULL));
    a = rate_table_get(t, "2001:db8:1:2:bbbb::2", T0, 60000);
    assert_false(rate_bucket_take(&a->b[0], 1, 1, T0, NULL));
    a = rate_table_get(t, "2001:db8:1:3::1", T0, 60000);
    assert_true(rate_bucket_take(&a->b[0], 1, 1, T0, NULL));
    rate_table_free(t);
}

/* Every spelling of a /64 is one key: "::" anywhere (inet_ntop writes it
 * for most host parts) was taken for "short enough", so each host address
 * of a /64 had its own budget. */
static void every_spelling_of_a_64_is_one_key(void **state)
{
    static const char *const same[][2] = {
        {"2001:db8:1:2::5", "2001:db8:1:2::6"},
        {"2001:db8::1:2:3:4", "2001:db8::1:2:3:5"},
        {"2001:db8::9:1:2:3", "2001:db8:0:0:abcd::1"},
        {"::ffff:192.0.2.7", "192.0.2.7"},
        {"2001:DB8:1:2::5", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff"},
    };
    static const char *const apart[][2] = {
        {"2001:db8:1:2::5", "2001:db8:1:3::5"},
        {"192.0.2.7", "192.0.2.8"},
        {"::ffff:192.0.2.7", "::ffff:192.0.2.8"},
    };
    char a[RATE_ADDR_LEN], b[RATE_ADDR_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        rate_addr_prefix(same[i][0], a);
        rate_addr_prefix(same[i][1], b);
        assert_string_equal(a, b);
    }
    for (size_t i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
        rate_addr_prefix(apart[i][0], a);
        rate_addr_prefix(apart[i][1], b);
        assert_string_not_equal(a, b);
    }
    rate_addr_prefix("2001:db8:1:2::5", a);
    assert_string_equal(a, "2001:0db8:0001:0002::/64");
    rate_addr_prefix(NULL, a);
    assert_string_equal(a, "");
}

static void a_full_table_keeps_a_fixed_size_and_serves_every_address(void **state)
{
    struct rate_table *t = rate_table_new(16);
    char addr[32];

    (void)state;
    for (int i = 0; i < 10000; i++) {
        snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
        assert_non_null(rate_table_get(t, addr, T0 + i, 60000));
    }
    rate_table_free(t);
    rate_table_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_bucket_gives_its_burst_then_refuses_with_a_retry_delay),
        cmocka_unit_test(a_bucket_refills_up_to_its_burst_only),
        cmocka_unit_test(ready_does_not_take),
        cmocka_unit_test(each_address_has_its_own_buckets),
        cmocka_unit_test(ipv6_addresses_of_one_64_share_their_buckets),
        cmocka_unit_test(every_spelling_of_a_64_is_one_key),
        cmocka_unit_test(a_full_table_keeps_a_fixed_size_and_serves_every_address),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
