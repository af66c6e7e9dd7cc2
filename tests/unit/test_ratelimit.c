/*
 * test_ratelimit.c - token buckets and the per-address table
 * (src/ratelimit.c). Instants are passed explicitly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

static void trusted_proxies_parse_addresses_and_blocks_of_both_families(void **state)
{
    struct rate_proxies p;
    char err[200] = "";

    (void)state;
    assert_int_equal(rate_proxies_parse(NULL, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(rate_proxies_parse("  ", &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(rate_proxies_parse("127.0.0.1, 10.0.0.0/8 fd00::/8,::1,192.0.2.0/24",
                                        &p, err, sizeof(err)),
                     0);
    assert_int_equal(p.n, 5);
    assert_true(rate_proxies_trusts(&p, "127.0.0.1"));
    assert_true(rate_proxies_trusts(&p, "::ffff:127.0.0.1")); /* the same, mapped */
    assert_false(rate_proxies_trusts(&p, "127.0.0.2"));
    assert_true(rate_proxies_trusts(&p, "10.200.3.4"));
    assert_false(rate_proxies_trusts(&p, "11.0.0.1"));
    assert_true(rate_proxies_trusts(&p, "fd12:3456::1"));
    assert_false(rate_proxies_trusts(&p, "fe80::1"));
    assert_true(rate_proxies_trusts(&p, "::1"));
    assert_true(rate_proxies_trusts(&p, "192.0.2.255"));
    assert_false(rate_proxies_trusts(&p, "192.0.3.0"));
    assert_false(rate_proxies_trusts(&p, "not-an-address"));
    assert_false(rate_proxies_trusts(&p, NULL));
    /* A /0 trusts everyone of its family, and only it. */
    assert_int_equal(rate_proxies_parse("0.0.0.0/0", &p, err, sizeof(err)), 0);
    assert_true(rate_proxies_trusts(&p, "203.0.113.9"));
    assert_false(rate_proxies_trusts(&p, "2001:db8::1"));
}

static void trusted_proxies_refuse_bad_entries_naming_them(void **state)
{
    static const char *const bad[] = {
        "nginx.local",   "10.0.0.0/33", "::/129",      "10.0.0.1/8",
        "10.0.0.0/",     "10.0.0.0/8x", "10.0.0.0/-1", "1.2.3.4.5",
        "10.0.0.0/0008", "127.0.0.1;",  "[::1]",       "fd00::1/8",
    };
    struct rate_proxies p;
    char err[200], many[4096] = "";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char list[64];
        err[0] = '\0';
        snprintf(list, sizeof(list), "127.0.0.1, %s", bad[i]);
        assert_int_equal(rate_proxies_parse(list, &p, err, sizeof(err)), -1);
        assert_int_equal(p.n, 0); /* nothing half-parsed is left */
        assert_non_null(strstr(err, bad[i]));
    }
    for (int i = 0; i <= RATE_PROXIES_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.0.%d,", i);
    assert_int_equal(rate_proxies_parse(many, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at most"));
}

static void the_client_is_the_rightmost_untrusted_forwarded_address(void **state)
{
    struct rate_proxies p;
    char out[RATE_ADDR_LEN], err[200];

    (void)state;
    assert_int_equal(rate_proxies_parse("127.0.0.1, 10.0.0.0/8", &p, err, sizeof(err)),
                     0);
    /* nginx on loopback appended the client's address. */
    assert_true(rate_client_addr(&p, "127.0.0.1", "203.0.113.7", out));
    assert_string_equal(out, "203.0.113.7");
    /* The client forged entries on the left: only the rightmost untrusted counts. */
    assert_true(rate_client_addr(&p, "127.0.0.1", "1.1.1.1, 9.9.9.9, 203.0.113.7", out));
    assert_string_equal(out, "203.0.113.7");
    /* Two proxies in a row (an inner one at 10.1.2.3): skipped. */
    assert_true(
        rate_client_addr(&p, "::ffff:127.0.0.1", "6.6.6.6,198.51.100.4 , 10.1.2.3", out));
    assert_string_equal(out, "198.51.100.4");
    /* IPv6 clients, in their canonical spelling. */
    assert_true(rate_client_addr(&p, "127.0.0.1", "2001:DB8:0:0::7", out));
    assert_string_equal(out, "2001:db8::7");
    /* Every entry trusted: the leftmost. */
    assert_true(rate_client_addr(&p, "127.0.0.1", "10.0.0.9, 10.0.0.8", out));
    assert_string_equal(out, "10.0.0.9");
    /* No header, an empty one, or garbage where the proxy wrote: the proxy. */
    assert_false(rate_client_addr(&p, "127.0.0.1", NULL, out));
    assert_string_equal(out, "127.0.0.1");
    assert_false(rate_client_addr(&p, "127.0.0.1", "", out));
    assert_string_equal(out, "127.0.0.1");
    assert_false(rate_client_addr(&p, "127.0.0.1", "1.2.3.4, evil", out));
    assert_string_equal(out, "127.0.0.1");
    assert_false(rate_client_addr(&p, "127.0.0.1", "1.2.3.4,", out));
    assert_string_equal(out, "127.0.0.1");
}

static void a_strangers_forwarded_header_changes_nothing(void **state)
{
    struct rate_proxies none, p;
    char out[RATE_ADDR_LEN], err[200], chain[4096] = "";

    (void)state;
    assert_int_equal(rate_proxies_parse("", &none, err, sizeof(err)), 0);
    assert_int_equal(rate_proxies_parse("127.0.0.1", &p, err, sizeof(err)), 0);
    /* Nobody trusted (the default): the header is never read. */
    assert_false(rate_client_addr(&none, "127.0.0.1", "203.0.113.7", out));
    assert_string_equal(out, "127.0.0.1");
    /* A peer that is not a trusted proxy: its header is its own forgery. */
    assert_false(rate_client_addr(&p, "198.51.100.9", "203.0.113.7", out));
    assert_string_equal(out, "198.51.100.9");
    assert_false(rate_client_addr(&p, "127.0.0.2", "127.0.0.1", out));
    assert_string_equal(out, "127.0.0.2");
    /* A chain of trusted entries longer than RATE_XFF_HOPS: the proxy. */
    for (int i = 0; i < RATE_XFF_HOPS + 5; i++)
        strcat(chain, i ? ",127.0.0.1" : "127.0.0.1");
    assert_false(rate_client_addr(&p, "127.0.0.1", chain, out));
    assert_string_equal(out, "127.0.0.1");
    /* A very long header of anything: bounded work, the proxy answers. */
    memset(chain, 'x', sizeof(chain) - 1);
    chain[sizeof(chain) - 1] = '\0';
    assert_false(rate_client_addr(&p, "127.0.0.1", chain, out));
    assert_string_equal(out, "127.0.0.1");
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
        cmocka_unit_test(trusted_proxies_parse_addresses_and_blocks_of_both_families),
        cmocka_unit_test(trusted_proxies_refuse_bad_entries_naming_them),
        cmocka_unit_test(the_client_is_the_rightmost_untrusted_forwarded_address),
        cmocka_unit_test(a_strangers_forwarded_header_changes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
