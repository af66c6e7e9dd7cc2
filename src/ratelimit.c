/*
 * ratelimit.c - token buckets and the per-address table (see ratelimit.h).
 */
#include "ratelimit.h"

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

/* The key of an address: IPv6 addresses cut to their first four groups
 * (the /64), others as they are. */
static void rate_addr_key(const char *addr, char key[RATE_ADDR_LEN])
{
    int colons = 0;
    size_t i;

    snprintf(key, RATE_ADDR_LEN, "%s", addr ? addr : "");
    if (!strchr(key, ':') || strchr(key, '.'))
        return; /* IPv4, or IPv4-mapped IPv6: the whole address */
    for (i = 0; key[i]; i++) {
        if (key[i] == ':' && key[i + 1] == ':')
            return; /* "::" within the first groups: short enough as it is */
        if (key[i] == ':' && ++colons == 4) {
            key[i] = '\0';
            return;
        }
    }
}

struct rate_addr *rate_table_get(struct rate_table *t, const char *addr, int64_t now_ms,
                                 int64_t idle_ms)
{
    char key[RATE_ADDR_LEN];
    uint64_t h;
    struct rate_addr *free_slot = NULL, *oldest = NULL;

    rate_addr_key(addr, key);
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
