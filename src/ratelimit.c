/*
 * ratelimit.c - token buckets and the per-address table (see ratelimit.h).
 */
#include "ratelimit.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RATE_PROBE 8 /* slots looked at for one address */

struct rate_table {
    struct rate_addr *slots;
    size_t mask; /* slots - 1 */
};

static void rate_bucket_refill(struct rate_bucket *b, double per_min, double burst,
                               int64_t now_ms)
{
    if (!b->ms)
        b->tokens = burst;
    else if (now_ms > b->ms)
        b->tokens += (double)(now_ms - b->ms) * per_min / 60000.0;
    if (b->tokens > burst)
        b->tokens = burst;
    b->ms = now_ms;
}

bool rate_bucket_ready(struct rate_bucket *b, double per_min, double burst,
                       int64_t now_ms, int *retry_after_s)
{
    rate_bucket_refill(b, per_min, burst, now_ms);
    if (b->tokens >= 1.0)
        return true;
    if (retry_after_s) {
        double s = (1.0 - b->tokens) * 60.0 / per_min;
        int whole = (int)s;
        if ((double)whole < s)
            whole++; /* rounded up */
        *retry_after_s = whole < 1 ? 1 : whole;
    }
    return false;
}

bool rate_bucket_take(struct rate_bucket *b, double per_min, double burst, int64_t now_ms,
                      int *retry_after_s)
{
    if (!rate_bucket_ready(b, per_min, burst, now_ms, retry_after_s))
        return false;
    b->tokens -= 1.0;
    return true;
}

struct rate_table *rate_table_new(size_t nslots)
{
    struct rate_table *t = calloc(1, sizeof(*t));
    size_t n = 1;

    if (!t)
        return NULL;
    while (n < nslots || n < RATE_PROBE)
        n *= 2;
    t->slots = calloc(n, sizeof(*t->slots));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
    return t;
}

void rate_table_free(struct rate_table *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t);
}

void rate_addr_prefix(const char *addr, char key[RATE_ADDR_LEN])
{
    unsigned char a[16];
    struct in_addr v4;

    if (!addr)
        addr = "";
    if (inet_pton(AF_INET6, addr, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                                 0, 0, 0, 0, 0xff, 0xff};

        if (memcmp(a, mapped, sizeof(mapped)) == 0) {
            /* ::ffff:a.b.c.d is the IPv4 address a.b.c.d. */
            snprintf(key, RATE_ADDR_LEN, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
            return;
        }
        /* The /64, in one spelling whatever the host part or the "::". */
        snprintf(key, RATE_ADDR_LEN, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", a[0],
                 a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        return;
    }
    if (inet_pton(AF_INET, addr, &v4) == 1) {
        const unsigned char *b = (const unsigned char *)&v4.s_addr;

        snprintf(key, RATE_ADDR_LEN, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return;
    }
    snprintf(key, RATE_ADDR_LEN, "%s", addr); /* not an address: as it is */
}

struct rate_addr *rate_table_get(struct rate_table *t, const char *addr, int64_t now_ms,
                                 int64_t idle_ms)
{
    char key[RATE_ADDR_LEN];
    uint64_t h;
    struct rate_addr *free_slot = NULL, *oldest = NULL;

    rate_addr_prefix(addr, key);
    h = util_fnv1a64(key);
    for (size_t i = 0; i < RATE_PROBE; i++) {
        struct rate_addr *e = &t->slots[(h + i) & t->mask];
        if (e->addr[0] && strcmp(e->addr, key) == 0) {
            e->used_ms = now_ms;
            return e;
        }
        if (!free_slot && (!e->addr[0] || now_ms - e->used_ms >= idle_ms))
            free_slot = e;
        if (!oldest || e->used_ms < oldest->used_ms)
            oldest = e;
    }
    if (!free_slot)
        free_slot = oldest;
    memset(free_slot, 0, sizeof(*free_slot));
    memcpy(free_slot->addr, key, sizeof(key));
    free_slot->used_ms = now_ms;
    return free_slot;
}
