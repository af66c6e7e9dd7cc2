/*
 * ratelimit.h - token buckets, alone and per client address, and who the
 * client address is behind a trusted reverse proxy (X-Forwarded-For).
 *
 * A bucket holds up to `burst` tokens and refills at `per_min` tokens a
 * minute; a call takes one. The address table keeps one entry per client
 * address (IPv6 addresses by their /64, which one host usually owns whole)
 * in a fixed number of slots, open addressing over a short probe window:
 * an entry whose buckets are all full again (unused for a while) is free
 * for another address, and when every slot of the window is busy the one
 * used longest ago is taken over (its address starts again with full
 * buckets: a stranger with thousands of addresses gains nothing a single
 * address of theirs would not). Memory is fixed whatever the traffic.
 *
 * Pure: libc only, the time is a parameter. Not thread-safe: ONLY used from
 * the lws service thread. Expected load: one lookup per HTTP API call.
 */
#ifndef CODEV_RATELIMIT_H
#define CODEV_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token bucket. Zeroed, it is full on first use. */
struct rate_bucket {
    double tokens;
    int64_t ms; /* last refill, 0 = never used */
};

/*
 * Refills b (per_min tokens a minute, at most burst) and takes one token
 * when there is one. Returns true when taken; else false and, when
 * retry_after_s is not NULL, the whole seconds until a token will be there
 * (at least 1).
 */
bool rate_bucket_take(struct rate_bucket *b, double per_min, double burst, int64_t now_ms,
                      int *retry_after_s);

/* Whether b (refilled as above) holds a token, without taking it; when it
 * does not, *retry_after_s (may be NULL) as above. */
bool rate_bucket_ready(struct rate_bucket *b, double per_min, double burst,
                       int64_t now_ms, int *retry_after_s);

#define RATE_ADDR_LEN     48 /* an IPv6 address in text, NUL included */
#define RATE_ADDR_BUCKETS 2  /* buckets per address */

/*
 * Writes the key under which addr (an IPv4 or IPv6 address in text) is
 * counted: an IPv4 address as it is (an IPv4-mapped IPv6 address too), an
 * IPv6 address as its /64 ("2001:0db8:0001:0002::/64": one host usually
 * owns a whole /64, so its other addresses are not other clients), any
 * other text as it is. The connection caps and the HTTP budgets both count
 * by this key.
 */
void rate_addr_prefix(const char *addr, char key[RATE_ADDR_LEN]);

struct rate_addr {
    char addr[RATE_ADDR_LEN];                /* the key ("" = free slot) */
    int64_t used_ms;                         /* last lookup */
    struct rate_bucket b[RATE_ADDR_BUCKETS]; /* the caller's, by index */
};

struct rate_table;

/* Returns a new table of nslots entries (rounded up to a power of two), or
 * NULL. Free with rate_table_free (NULL is a no-op). */
struct rate_table *rate_table_new(size_t nslots);
void rate_table_free(struct rate_table *t);

/*
 * Returns the entry of addr (borrowed, valid until the next call), making
 * one when needed (see the file comment): never NULL. idle_ms is how long
 * an entry must have been unused for its buckets to be full again (then it
 * may be reused for another address).
 */
struct rate_addr *rate_table_get(struct rate_table *t, const char *addr, int64_t now_ms,
                                 int64_t idle_ms);

/*
 * Trusted proxies (the trusted_proxies setting): the addresses whose
 * X-Forwarded-For header is believed. Behind nginx every TCP peer is
 * nginx; the client is the rightmost address of X-Forwarded-For that is
 * not a trusted proxy (each proxy appends the address it got the request
 * from, and only what trusted proxies appended can be believed: anything
 * to its left came from the client). A peer that is not a trusted proxy
 * is the client, whatever header it sends.
 */
#define RATE_PROXIES_MAX 32 /* entries of trusted_proxies */
#define RATE_XFF_HOPS    32 /* X-Forwarded-For entries looked at, from the right */

struct rate_net {
    unsigned char addr[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    unsigned bits;          /* prefix length over those 128 bits */
};

struct rate_proxies {
    size_t n;
    struct rate_net nets[RATE_PROXIES_MAX];
};

/*
 * Parses list: addresses or CIDR blocks (IPv4 "10.0.0.0/8" or "127.0.0.1",
 * IPv6 "fd00::/8" or "::1"), separated by commas and/or spaces; NULL or ""
 * is the empty list (nobody trusted). Returns 0 with *out filled, or -1
 * with a sentence in err (errlen bytes) naming the bad entry (not an
 * address, a prefix out of range, bits set past the prefix, more than
 * RATE_PROXIES_MAX entries); *out is then empty.
 */
int rate_proxies_parse(const char *list, struct rate_proxies *out, char *err,
                       size_t errlen);

/* Whether addr (text, IPv4, IPv6 or IPv4-mapped IPv6) is inside one of p's
 * blocks. Not an address: false. */
bool rate_proxies_trusts(const struct rate_proxies *p, const char *addr);

/*
 * Writes in out the address the per-address limits count for a request
 * that came from the TCP peer `peer` with the X-Forwarded-For value xff
 * (NULL when absent): peer itself unless it is a trusted proxy; else,
 * walking xff from the right, the first entry that is not a trusted proxy.
 * When every entry is trusted, the leftmost; when an entry is not an
 * address, or none is found within RATE_XFF_HOPS entries, or xff is
 * absent: peer (the proxy answers for it). An address written is in its
 * canonical spelling (IPv4 dotted, IPv6 as inet_ntop writes it).
 * Returns true when out is another address than peer (from the header).
 */
bool rate_client_addr(const struct rate_proxies *p, const char *peer, const char *xff,
                      char out[RATE_ADDR_LEN]);

#endif
