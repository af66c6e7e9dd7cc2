/*
 * ratelimit.c - token buckets, the per-address table and the client
 * address behind trusted proxies (see ratelimit.h).
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

/* ---- trusted proxies ------------------------------------------------------ */

/* Parses an address (n bytes of s, no prefix) into 16 bytes, IPv4 as
 * ::ffff:a.b.c.d. Returns 4 or 6 (its family), or 0 when not an address. */
static int rate_ip_parse(const char *s, size_t n, unsigned char a[16])
{
    char buf[RATE_ADDR_LEN];
    struct in_addr v4;

    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &v4.s_addr, 4);
        return 4;
    }
    if (inet_pton(AF_INET6, buf, a) == 1)
        return 6;
    return 0;
}

static bool rate_net_contains(const struct rate_net *net, const unsigned char a[16])
{
    unsigned full = net->bits / 8, rest = net->bits % 8;

    if (memcmp(net->addr, a, full) != 0)
        return false;
    if (!rest)
        return true;
    return ((net->addr[full] ^ a[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

static bool rate_trusts_bytes(const struct rate_proxies *p, const unsigned char a[16])
{
    for (size_t i = 0; p && i < p->n; i++)
        if (rate_net_contains(&p->nets[i], a))
            return true;
    return false;
}

/* Parses one entry [s, s + n): an address, or address/prefix. */
static int rate_net_parse(const char *s, size_t n, struct rate_net *net, char *err,
                          size_t errlen)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    int fam = rate_ip_parse(s, alen, net->addr);
    unsigned max = fam == 4 ? 32 : 128, bits = max;

    if (!fam) {
        snprintf(err, errlen, "\"%.*s\" is not an IPv4 or IPv6 address or block",
                 (int)(n > 48 ? 48 : n), s);
        return -1;
    }
    if (slash) {
        const char *d = slash + 1, *end = s + n;
        if (d == end || end - d > 3) {
            snprintf(err, errlen, "\"%.*s\" has a bad prefix length",
                     (int)(n > 48 ? 48 : n), s);
            return -1;
        }
        bits = 0;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9') {
                snprintf(err, errlen, "\"%.*s\" has a bad prefix length",
                         (int)(n > 48 ? 48 : n), s);
                return -1;
            }
            bits = bits * 10 + (unsigned)(*d - '0');
        }
        if (bits > max) {
            snprintf(err, errlen, "\"%.*s\": the prefix length is at most %u",
                     (int)(n > 48 ? 48 : n), s, max);
            return -1;
        }
    }
    net->bits = fam == 4 ? bits + 96 : bits;
    /* 10.0.0.1/8 is a mistake (which was meant?): bits past the prefix must be 0. */
    for (unsigned b = net->bits; b < 128; b++) {
        if (net->addr[b / 8] & (0x80 >> (b % 8))) {
            snprintf(err, errlen,
                     "\"%.*s\": the address has bits set past its prefix length",
                     (int)(n > 48 ? 48 : n), s);
            return -1;
        }
    }
    return 0;
}

int rate_proxies_parse(const char *list, struct rate_proxies *out, char *err,
                       size_t errlen)
{
    const char *p = list ? list : "";

    memset(out, 0, sizeof(*out));
    for (;;) {
        size_t n;

        p += strspn(p, ", \t");
        if (!*p)
            return 0;
        n = strcspn(p, ", \t");
        if (out->n == RATE_PROXIES_MAX) {
            snprintf(err, errlen, "at most %d addresses or blocks", RATE_PROXIES_MAX);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        if (rate_net_parse(p, n, &out->nets[out->n], err, errlen)) {
            memset(out, 0, sizeof(*out));
            return -1;
        }
        out->n++;
        p += n;
    }
}

bool rate_proxies_trusts(const struct rate_proxies *p, const char *addr)
{
    unsigned char a[16];

    return addr && rate_ip_parse(addr, strlen(addr), a) && rate_trusts_bytes(p, a);
}

/* Writes the canonical spelling of a (IPv4-mapped as dotted IPv4). */
static void rate_ip_format(const unsigned char a[16], char out[RATE_ADDR_LEN])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (memcmp(a, mapped, sizeof(mapped)) == 0)
        snprintf(out, RATE_ADDR_LEN, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    else if (!inet_ntop(AF_INET6, a, out, RATE_ADDR_LEN))
        out[0] = '\0';
}

bool rate_client_addr(const struct rate_proxies *p, const char *peer, const char *xff,
                      char out[RATE_ADDR_LEN])
{
    unsigned char a[16];
    const char *end;

    snprintf(out, RATE_ADDR_LEN, "%s", peer ? peer : "");
    if (!xff || !p || !p->n || !rate_proxies_trusts(p, peer))
        return false;
    end = xff + strlen(xff);
    for (int hop = 0; hop < RATE_XFF_HOPS; hop++) {
        const char *seg = end, *s = end, *e = end;

        while (seg > xff && seg[-1] != ',')
            seg--; /* the entry is [seg, end) */
        s = seg;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (!rate_ip_parse(s, (size_t)(e - s), a))
            return false; /* not an address: the proxy answers for it */
        if (!rate_trusts_bytes(p, a) || seg == xff) {
            /* the first untrusted one; or, every entry trusted, the leftmost */
            rate_ip_format(a, out);
            return true;
        }
        end = seg - 1; /* before the comma */
    }
    return false;
}
