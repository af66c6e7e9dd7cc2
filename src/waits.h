/*
 * waits.h - the commit-wait ring: answers that wait for the store.
 *
 * Nothing is acknowledged before it is durable. Each record the edge
 * submits to the store (store.c, whose writer thread commits in groups)
 * gets one entry here, in submission order, with the record's token; the
 * store reports commits in that same order (store_drain). An entry with
 * token 0 is a barrier: it waits for nothing of its own, only for every
 * entry before it (the ack of a duplicate command, whose original may not
 * be committed yet).
 *
 * Pure: libc only, no lws, no jansson. What an entry's owner and message
 * are is the caller's business (dispatch.c: a connection and its ack, or an
 * HTTP request); this module only keeps the order and says when each entry
 * is due. ONLY used from the lws service thread (no locking).
 *
 * Expected load: one entry per accepted command or changing HTTP call;
 * the ring holds what the writer has not committed yet (a few hundred at
 * most under load), and grows by doubling.
 */
#ifndef CODEV_WAITS_H
#define CODEV_WAITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an entry's owner is (the caller's meaning; WAITS_NONE has none). */
enum waits_kind {
    WAITS_NONE,    /* nothing to deliver: a record nobody waits on */
    WAITS_WS,      /* owner a connection, msg its ack */
    WAITS_HTTP,    /* owner an HTTP request, whose answer is ready */
    WAITS_EVENTS,  /* owner a group, msg the events its record caused */
    WAITS_FRAME,   /* owner a connection, msg one encoded frame for it */
    WAITS_WELCOME, /* owner a connection, msg its welcome (a barrier) */
};

struct wait {
    uint64_t token;       /* the record's token, or 0 for a barrier */
    enum waits_kind kind; /* what owner is */
    void *owner;          /* borrowed; NULL once forgotten (waits_forget) */
    void *msg;            /* the caller's answer, owned by the entry until released */
};

struct waits {
    struct wait *v; /* ring of cap entries, n of them from head */
    size_t cap, head, n;
};

/*
 * Called for each entry that is due, in order: rc is 0 when its record (or,
 * for a barrier, every record before it) committed, else the store's
 * negative error. It takes ownership of e->msg (e->owner may be NULL: its
 * owner went away). It must not push onto or release from the same ring.
 */
typedef void (*waits_release_fn)(void *arg, struct wait *e, int rc);

/* Appends an entry. msg is owned by the ring from now on when this returns
 * 0; on CODEV_E_INTERNAL (out of memory) nothing was added and msg stays the
 * caller's. */
int waits_push(struct waits *w, uint64_t token, enum waits_kind kind, void *owner,
               void *msg);

/* True when nothing waits: an answer may then go at once. */
bool waits_is_empty(const struct waits *w);

/* Forgets owner (a connection or HTTP request that is going away): its
 * entries stay, in order, with owner NULL. */
void waits_forget(struct waits *w, const void *owner);

/* Releases (rc 0) the barriers at the head of the ring, which wait for
 * nothing more. Returns how many were released. */
size_t waits_release_barriers(struct waits *w, waits_release_fn fn, void *arg);

/*
 * The store committed (rc 0) or failed (rc < 0) the record with this token:
 * releases the barriers before it, then its entries with rc (a record may
 * have several, pushed one after another), then the barriers that now wait
 * for nothing. Returns 0, or CODEV_E_INTERNAL when
 * the token is not the next one due (the store reported out of order: the
 * ring is left as it is, barriers at its head released).
 */
int waits_commit(struct waits *w, uint64_t token, int rc, waits_release_fn fn, void *arg);

/* Frees the ring; msg_free (may be NULL) is called on each entry's msg. The
 * ring is empty and reusable afterwards. waits_free on an empty ring is a
 * no-op. */
void waits_free(struct waits *w, void (*msg_free)(void *msg));

#endif
