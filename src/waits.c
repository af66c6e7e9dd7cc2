/*
 * waits.c - the commit-wait ring (waits.h): answers held until the store
 * has committed what they acknowledge.
 *
 * Invariants:
 *   - Entries leave in the order they came, and only from the head: an
 *     answer never overtakes an earlier record's commit.
 *   - An entry with token 0 (a barrier) is released as soon as it reaches
 *     the head; one with a token only when the store reports that token.
 *     A record may have several entries (its held events, then its ack):
 *     they are pushed one after another and leave together.
 *   - Forgetting an owner never removes an entry (the order of the tokens
 *     must stay whole); it only clears the owner.
 * Pure: libc only; no clock, no lws, no logging (the caller logs).
 * Expected load: O(1) per push and per release; waits_forget is O(n) in
 * the entries waiting, run once per closing connection or request.
 */
#include "waits.h"

#include <stdlib.h>

#include "errors.h"

int waits_push(struct waits *w, uint64_t token, enum waits_kind kind, void *owner,
               void *msg)
{
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 64;
        struct wait *nv = malloc(ncap * sizeof(*nv));
        if (!nv)
            return CODEV_E_INTERNAL;
        for (size_t i = 0; i < w->n; i++)
            nv[i] = w->v[(w->head + i) % w->cap];
        free(w->v);
        w->v = nv;
        w->cap = ncap;
        w->head = 0;
    }
    w->v[(w->head + w->n) % w->cap] = (struct wait){token, kind, owner, msg};
    w->n++;
    return 0;
}

bool waits_is_empty(const struct waits *w)
{
    return w->n == 0;
}

void waits_forget(struct waits *w, const void *owner)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->v[(w->head + i) % w->cap].owner == owner)
            w->v[(w->head + i) % w->cap].owner = NULL;
}

/* Takes the head entry off the ring and hands it to fn. The entry is copied
 * first, so that fn sees a stable entry. */
static void waits_pop(struct waits *w, int rc, waits_release_fn fn, void *arg)
{
    struct wait e = w->v[w->head];

    w->head = (w->head + 1) % w->cap;
    w->n--;
    fn(arg, &e, rc);
}

size_t waits_release_barriers(struct waits *w, waits_release_fn fn, void *arg)
{
    size_t k = 0;

    while (w->n && w->v[w->head].token == 0) {
        waits_pop(w, 0, fn, arg);
        k++;
    }
    return k;
}

int waits_commit(struct waits *w, uint64_t token, int rc, waits_release_fn fn, void *arg)
{
    waits_release_barriers(w, fn, arg);
    if (!w->n || w->v[w->head].token != token)
        return CODEV_E_INTERNAL;
    /* Every entry of this record (its events, then its ack), and the
     * barriers among and after them. */
    while (w->n && (w->v[w->head].token == token || w->v[w->head].token == 0))
        waits_pop(w, w->v[w->head].token ? rc : 0, fn, arg);
    return 0;
}

void waits_free(struct waits *w, void (*msg_free)(void *msg))
{
    for (size_t i = 0; msg_free && i < w->n; i++)
        msg_free(w->v[(w->head + i) % w->cap].msg);
    free(w->v);
    *w = (struct waits){0};
}
