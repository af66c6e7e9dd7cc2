/*
 * hub_creator.c - what the groups created from one client address use now
 * (see hub.h, struct hub_creator, and hub_internal.h).
 *
 * The defence against squatting (issue 10): group creation is only limited
 * by rate, so one address could fill groups_max and sessions_max over a day
 * and keep them. Each group remembers its creator's address key
 * (rate_addr_prefix: an IPv4 address, or an IPv6 /64) and the hub caps what
 * one key holds: groups_per_ip live groups, sessions_per_ip open sessions
 * of those groups, so one address never locks out the others.
 *
 * Invariant: for every key, groups is the number of live groups whose
 * creator is that key, sessions the number of those with room_counted; an
 * entry exists only while one of them is above zero. The hub keeps it true
 * at create, insert (load), delete (and expiry), attach (open, load) and the
 * close in hub_sync. A group whose creator is "" (made before migration 4)
 * is counted nowhere.
 *
 * Expected load: a hash table by key, O(1) per create, open, close or
 * delete; at most one entry per live group. ONLY used from the lws service
 * thread (and the main thread at start-up, before it runs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hub_internal.h"
#include "util.h"

struct hub_creator *hub_creator_find(const struct hub *h, const char *key)
{
    if (!key || !key[0])
        return NULL;
    for (struct hub_creator *c =
             h->creators[util_fnv1a64(key) & (h->ncreator_buckets - 1)];
         c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

/* Returns the entry of key, made with zero counts when missing (borrowed),
 * or NULL for "" or on allocation failure (then nothing is counted: the
 * limit is a defence, not bookkeeping the group depends on). */
static struct hub_creator *hub_creator_get(struct hub *h, const char *key)
{
    struct hub_creator *c = hub_creator_find(h, key);
    size_t b;

    if (c || !key || !key[0])
        return c;
    if (h->ncreators + 1 > h->ncreator_buckets) {
        size_t n = h->ncreator_buckets * 2;
        struct hub_creator **nb = calloc(n, sizeof(*nb));
        if (nb) {
            for (size_t i = 0; i < h->ncreator_buckets; i++) {
                struct hub_creator *e = h->creators[i];
                while (e) {
                    struct hub_creator *next = e->next;
                    size_t j = util_fnv1a64(e->key) & (n - 1);
                    e->next = nb[j];
                    nb[j] = e;
                    e = next;
                }
            }
            free(h->creators);
            h->creators = nb;
            h->ncreator_buckets = n;
        }
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    snprintf(c->key, sizeof(c->key), "%s", key);
    b = util_fnv1a64(c->key) & (h->ncreator_buckets - 1);
    c->next = h->creators[b];
    h->creators[b] = c;
    h->ncreators++;
    return c;
}

void hub_creator_count(struct hub *h, const char *key, int dgroups, int dsessions)
{
    struct hub_creator *c =
        dgroups > 0 || dsessions > 0 ? hub_creator_get(h, key) : hub_creator_find(h, key);
    struct hub_creator **pp;

    if (!c)
        return;
    if (dgroups < 0 && c->groups)
        c->groups--;
    else if (dgroups > 0)
        c->groups++;
    if (dsessions < 0 && c->sessions)
        c->sessions--;
    else if (dsessions > 0)
        c->sessions++;
    if (c->groups || c->sessions)
        return;
    for (pp = &h->creators[util_fnv1a64(c->key) & (h->ncreator_buckets - 1)]; *pp;
         pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            h->ncreators--;
            free(c);
            return;
        }
    }
}

void hub_creator_usage(const struct hub *h, const char *key, uint32_t *groups,
                       uint32_t *sessions)
{
    const struct hub_creator *c = hub_creator_find(h, key);

    *groups = c ? c->groups : 0;
    *sessions = c ? c->sessions : 0;
}

void hub_creators_free(struct hub *h)
{
    for (size_t b = 0; b < h->ncreator_buckets; b++) {
        struct hub_creator *c = h->creators[b];
        while (c) {
            struct hub_creator *next = c->next;
            free(c);
            c = next;
        }
    }
    free(h->creators);
    h->creators = NULL;
    h->ncreator_buckets = h->ncreators = 0;
}
