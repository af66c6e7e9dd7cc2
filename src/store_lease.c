/*
 * store_lease.c - a cluster's group leases with a fencing epoch (store.h,
 * "a cluster"; issue 17). Only with store_options.node_id set, which
 * config allows on PostgreSQL only; without it every function here is a
 * no-op.
 *
 * The table group_lease (migration 11) holds, per group, the node that
 * holds it, its epoch and until when (milliseconds of the database's
 * clock, so that the nodes' clocks do not matter). The node keeps a map
 * group id -> epoch it took (struct store_lease), shared by the loop
 * (claims, forget) and the writer (checks), under lease_mu.
 *
 * Invariants:
 *   - A take bumps the epoch (INSERT ... ON CONFLICT DO UPDATE ...
 *     RETURNING), and only when the lease is free, expired, or already
 *     this node's: a live node's lease is never taken.
 *   - Every batch the writer commits checks, in its own transaction and
 *     before its first record (store_lease_check: SELECT ... FOR SHARE),
 *     that each group it writes to is held by this node at the epoch the
 *     map has. A node that takes the group waits for that transaction, so
 *     the taker, which loads the group after its take committed, sees every
 *     record that committed; a batch that checks after the take sees the
 *     new epoch, and its records of that group fail with CODEV_E_MOVED,
 *     unwritten (the other groups' records commit). Once fenced, a group's
 *     records keep failing until the loop forgets it (store_lease_forget),
 *     after it dropped the group: a record is never written on top of one
 *     that was refused.
 *   - The writer renews the node's leases (one UPDATE by node_id ...
 *     RETURNING) every third of the TTL, between batches; a group the map
 *     holds that the renewal no longer returns was taken meanwhile: it is
 *     fenced and reported to the loop (store_lease_lost), which drops it
 *     even if nobody sends a command. A renewal that fails is only
 *     reported (/readyz): the check above is what keeps two nodes from
 *     both acknowledging, not the expiry.
 *
 * Expected load: one lease query per batch (the batch's groups, 32 to a
 * statement), one renewal per ttl/3, one claim per group taken over (a
 * failover moves a dead node's groups, each once).
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "util.h"

/* The database's clock in milliseconds (PostgreSQL; a cluster is never on
 * SQLite). */
#define NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

#define LEASE_CHECK_CHUNK 32 /* groups checked by one statement */

struct store_lease {
    struct store_lease *next;
    char group_id[AUTH_UUID_LEN + 1];
    uint64_t epoch;   /* taken at; 0 = not taken yet (a group created here) */
    bool fenced;      /* another node took it: its records fail */
    uint64_t batch;   /* writer: the last batch that listed it */
    int64_t taken_us; /* store_mono_us() when the epoch was set */
    bool lost;        /* fenced by a renewal: the loop is yet to be told */
};

bool store_cluster(const struct store *s)
{
    return s && s->cluster;
}

bool store_lease_ok(const struct store *s)
{
    return !s || !s->cluster || !s->lease_failing;
}

static struct store_lease **lease_slot(struct store *s, const char *gid)
{
    struct store_lease **pp = &s->leases[util_fnv1a64(gid) & (STORE_LEASE_BUCKETS - 1)];

    while (*pp && strcmp((*pp)->group_id, gid) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* The entry of gid, made (epoch 0) when missing; NULL on allocation
 * failure. Under lease_mu. */
static struct store_lease *lease_get(struct store *s, const char *gid)
{
    struct store_lease **pp = lease_slot(s, gid);

    if (!*pp && (*pp = calloc(1, sizeof(**pp))))
        store_id_copy((*pp)->group_id, gid);
    return *pp;
}

void store_lease_forget(struct store *s, const char *group_id)
{
    struct store_lease **pp, *e;

    if (!s || !s->cluster || !group_id)
        return;
    pthread_mutex_lock(&s->lease_mu);
    pp = lease_slot(s, group_id);
    if ((e = *pp)) {
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&s->lease_mu);
}

void store_lease_free_all(struct store *s)
{
    for (size_t b = 0; b < STORE_LEASE_BUCKETS; b++)
        while (s->leases[b]) {
            struct store_lease *next = s->leases[b]->next;
            free(s->leases[b]);
            s->leases[b] = next;
        }
}

const char *store_rec_group(const struct store_rec *rec)
{
    switch (rec->kind) {
    case REC_GROUP:
    case REC_LIFE:
    case REC_MEMBER_JOIN:
    case REC_SESSION_CLOSE:
        return rec->group ? rec->group->id : NULL;
    case REC_SESSION_OPEN:
        return rec->session ? rec->session->group : NULL;
    case REC_CMD:
    case REC_GROUP_DELETE:
        return rec->group_id[0] ? rec->group_id : NULL;
    case REC_PROBE:
        return NULL;
    }
    return NULL;
}

/* Takes gid's lease on db when nobody holds it, it expired, or this node
 * held it. Returns the new epoch, 0 when another node holds a live lease
 * or the group does not exist (need_group), or -1 when the database
 * failed. */
static int64_t lease_take(struct store *s, struct store_db *db, const char *gid,
                          bool need_group)
{
    // clang-format off
    static const char sql_new[] =
        "INSERT INTO group_lease (group_id, node_id, epoch, expires_ms, renewed_ms)"
        "     VALUES (?1, ?2, 1, " NOW_MS " + ?3, " NOW_MS ")"
        " ON CONFLICT (group_id) DO UPDATE"
        "        SET node_id = excluded.node_id, epoch = group_lease.epoch + 1,"
        "            expires_ms = excluded.expires_ms, renewed_ms = excluded.renewed_ms"
        "      WHERE group_lease.expires_ms < " NOW_MS
        "         OR group_lease.node_id = excluded.node_id"
        " RETURNING epoch";
    static const char sql_existing[] =
        "INSERT INTO group_lease (group_id, node_id, epoch, expires_ms, renewed_ms)"
        "     SELECT ?1, ?2, 1, " NOW_MS " + ?3, " NOW_MS
        "      WHERE EXISTS (SELECT 1 FROM groups WHERE id = ?1)"
        " ON CONFLICT (group_id) DO UPDATE"
        "        SET node_id = excluded.node_id, epoch = group_lease.epoch + 1,"
        "            expires_ms = excluded.expires_ms, renewed_ms = excluded.renewed_ms"
        "      WHERE group_lease.expires_ms < " NOW_MS
        "         OR group_lease.node_id = excluded.node_id"
        " RETURNING epoch";
    // clang-format on
    struct store_rows *it;
    int64_t epoch = -1;

    if (store_rows_open(db, need_group ? sql_existing : sql_new, 1, &it, "tti", gid,
                        s->node_id, (int64_t)s->lease_ttl_ms))
        return -1;
    switch (store_rows_next(it)) {
    case 1:
        epoch = store_rows_int(it, 0);
        break;
    case 0:
        epoch = 0;
        break;
    default:
        epoch = -1;
    }
    store_rows_free(it);
    return epoch;
}

void store_lease_take_new(struct store *s, struct store_rec *batch)
{
    if (!s->cluster)
        return;
    for (struct store_rec *rec = batch; rec; rec = rec->next) {
        const char *gid = store_rec_group(rec);
        struct store_lease *e;
        bool take;

        if (!gid)
            continue;
        pthread_mutex_lock(&s->lease_mu);
        e = lease_get(s, gid);
        take = e && !e->epoch && !e->fenced;
        pthread_mutex_unlock(&s->lease_mu);
        if (take) {
            /* A group created here: its row may not be written yet, so the
             * take does not ask for it. Someone else's live lease: fenced. */
            int64_t epoch = lease_take(s, s->w, gid, false);
            pthread_mutex_lock(&s->lease_mu);
            if (epoch > 0) {
                e->epoch = (uint64_t)epoch;
                e->taken_us = store_mono_us();
            } else if (epoch == 0)
                e->fenced = true;
            pthread_mutex_unlock(&s->lease_mu);
        }
    }
}

/* Checks the n entries of list against the table (one statement): each
 * is fenced unless its row says this node holds it at the epoch the map
 * has. The entries stay while this runs (only the loop frees one, and only
 * for a group without records in flight). */
static int lease_check_chunk(struct store *s, struct store_lease **list, size_t n)
{
    char sql[128 + LEASE_CHECK_CHUNK * 8];
    struct store_val v[LEASE_CHECK_CHUNK + 1];
    bool held[LEASE_CHECK_CHUNK] = {false};
    struct store_rows *it;
    size_t len;
    int rc;

    len = (size_t)snprintf(sql, sizeof(sql),
                           "SELECT group_id, epoch FROM group_lease"
                           " WHERE node_id = ?1 AND group_id IN (");
    v[0] = SV_T(s->node_id);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%zu", i ? ", " : "",
                                i + 2);
        v[i + 1] = SV_T(list[i]->group_id);
    }
    snprintf(sql + len, sizeof(sql) - len, ") FOR SHARE");
    if (s->be->rows_open(s->w, sql, 2, v, (int)n + 1, &it))
        return CODEV_E_INTERNAL;
    rc = 0;
    pthread_mutex_lock(&s->lease_mu);
    while (store_rows_more(it, &rc)) {
        const char *gid = store_rows_text(it, 0);
        uint64_t epoch = (uint64_t)store_rows_int(it, 1);
        for (size_t i = 0; gid && i < n; i++)
            if (strcmp(list[i]->group_id, gid) == 0 && list[i]->epoch == epoch)
                held[i] = true;
    }
    for (size_t i = 0; !rc && i < n; i++)
        if (!held[i])
            list[i]->fenced = true;
    pthread_mutex_unlock(&s->lease_mu);
    store_rows_free(it);
    return rc ? CODEV_E_INTERNAL : 0;
}

int store_lease_check(struct store *s, struct store_rec *batch)
{
    struct store_lease *list[LEASE_CHECK_CHUNK];
    size_t n = 0;
    uint64_t mark;
    int rc = 0;

    if (!s->cluster)
        return 0;
    mark = ++s->lease_batch | ((uint64_t)1 << 63); /* never 0 or 1 */
    for (struct store_rec *rec = batch; !rc && rec; rec = rec->next) {
        const char *gid = rec->rc ? NULL : store_rec_group(rec);
        struct store_lease *e;
        bool add;

        if (!gid)
            continue;
        pthread_mutex_lock(&s->lease_mu);
        e = lease_get(s, gid);
        add = e && !e->fenced && e->epoch && e->batch != mark;
        if (add)
            e->batch = mark;
        pthread_mutex_unlock(&s->lease_mu);
        if (!e || (!e->epoch && !e->fenced))
            return CODEV_E_INTERNAL; /* its take failed: the database did */
        if (add) {
            list[n++] = e;
            if (n == LEASE_CHECK_CHUNK) {
                rc = lease_check_chunk(s, list, n);
                n = 0;
            }
        }
    }
    if (!rc && n)
        rc = lease_check_chunk(s, list, n);
    if (rc)
        return rc;
    /* The records of a fenced group fail. */
    for (struct store_rec *rec = batch; rec; rec = rec->next) {
        const char *gid = rec->rc ? NULL : store_rec_group(rec);
        struct store_lease *e;
        if (!gid)
            continue;
        pthread_mutex_lock(&s->lease_mu);
        e = *lease_slot(s, gid);
        if (!e || e->fenced)
            rec->rc = CODEV_E_MOVED;
        pthread_mutex_unlock(&s->lease_mu);
    }
    return 0;
}

/* After a renewal that returned it: marks e held (its batch field, which
 * only the writer uses, set to 1) when its epoch matches. Under lease_mu. */
static void lease_mark_held(struct store *s, const char *gid, uint64_t epoch)
{
    struct store_lease *e = gid ? *lease_slot(s, gid) : NULL;

    if (e && e->epoch == epoch)
        e->batch = 1;
}

/*
 * Renews every lease of this node, and learns which it lost: a group the
 * map holds (taken before this renewal began) whose row no longer names
 * this node at its epoch was taken by another node while this one was
 * paused or cut off. It is fenced here (its records fail) and reported to
 * the loop (store_lease_lost), which drops it even if none of its members
 * sends anything: its sockets must not keep showing a room that goes on
 * elsewhere.
 */
void store_lease_renew_due(struct store *s)
{
    int64_t now = store_mono_us();
    struct store_rows *it;
    bool lost = false;
    int rc;

    if (!s->cluster || s->lease_released ||
        now - s->lease_renew_us < (int64_t)s->lease_ttl_ms * 1000 / 3)
        return;
    s->lease_renew_us = now;
    rc = store_rows_open(s->w,
                         "UPDATE group_lease SET expires_ms = " NOW_MS " + ?2,"
                         "       renewed_ms = " NOW_MS " WHERE node_id = ?1"
                         " RETURNING group_id, epoch",
                         2, &it, "ti", s->node_id, (int64_t)s->lease_ttl_ms);
    s->lease_failing = rc != 0;
    if (rc)
        return;
    pthread_mutex_lock(&s->lease_mu);
    for (size_t b = 0; b < STORE_LEASE_BUCKETS; b++)
        for (struct store_lease *e = s->leases[b]; e; e = e->next)
            e->batch = 0;
    while (store_rows_more(it, &rc))
        lease_mark_held(s, store_rows_text(it, 0), (uint64_t)store_rows_int(it, 1));
    for (size_t b = 0; !rc && b < STORE_LEASE_BUCKETS; b++)
        for (struct store_lease *e = s->leases[b]; e; e = e->next)
            if (e->epoch && !e->fenced && e->batch != 1 && e->taken_us < now) {
                e->fenced = e->lost = true;
                lost = true;
            }
    pthread_mutex_unlock(&s->lease_mu);
    store_rows_free(it);
    s->lease_failing = rc != 0;
    if (lost && s->wake)
        s->wake(s->wake_arg);
}

size_t store_lease_lost(struct store *s, void (*fn)(void *arg, const char *group_id),
                        void *arg)
{
    char gid[AUTH_UUID_LEN + 1];
    size_t n = 0;

    if (!s || !s->cluster)
        return 0;
    for (;;) {
        struct store_lease *found = NULL;
        pthread_mutex_lock(&s->lease_mu);
        for (size_t b = 0; !found && b < STORE_LEASE_BUCKETS; b++)
            for (struct store_lease *e = s->leases[b]; !found && e; e = e->next)
                if (e->lost)
                    found = e;
        if (found) {
            found->lost = false;
            memcpy(gid, found->group_id, sizeof(gid));
        }
        pthread_mutex_unlock(&s->lease_mu);
        if (!found)
            return n;
        fn(arg, gid); /* may forget the entry: gid is a copy */
        n++;
    }
}

int store_lease_release_all(struct store *s)
{
    if (!s || !s->cluster)
        return 0;
    s->lease_released = 1;
    return store_db_run(s->l, "UPDATE group_lease SET expires_ms = 0 WHERE node_id = ?1",
                        "t", s->node_id)
               ? CODEV_E_STORE_UNAVAILABLE
               : 0;
}

int store_group_claim(struct store *s, struct hub *h, const char *group_id,
                      int64_t now_ms, struct hub_group **out, bool *finalize)
{
    struct store_load_report rep;
    struct store_lease *e;
    int64_t epoch;
    int rc;

    *out = NULL;
    *finalize = false;
    if (!s->cluster || !group_id || strlen(group_id) != AUTH_UUID_LEN)
        return CODEV_E_UNKNOWN_GROUP;
    if (s->lease_released)
        return CODEV_E_MOVED; /* draining: another node takes it */
    epoch = lease_take(s, s->l, group_id, true);
    if (epoch < 0)
        return CODEV_E_STORE_UNAVAILABLE;
    if (epoch == 0) {
        /* No such group, or another node holds it. */
        struct store_rows *it;
        int held;
        if (store_rows_open(s->l, "SELECT 1 FROM groups WHERE id = ?1", 1, &it, "t",
                            group_id))
            return CODEV_E_STORE_UNAVAILABLE;
        held = store_rows_next(it);
        store_rows_free(it);
        return held < 0 ? CODEV_E_STORE_UNAVAILABLE
               : held   ? CODEV_E_MOVED
                        : CODEV_E_UNKNOWN_GROUP;
    }
    /* The map first: a record of the group may be submitted as soon as it
     * is in the hub. */
    pthread_mutex_lock(&s->lease_mu);
    e = lease_get(s, group_id);
    if (e) {
        e->epoch = (uint64_t)epoch;
        e->fenced = e->lost = false;
        e->taken_us = store_mono_us();
    }
    pthread_mutex_unlock(&s->lease_mu);
    if (!e)
        return CODEV_E_INTERNAL;
    /* Read after the take committed: every record its previous holder
     * committed is there, and none can commit after (the check). */
    rc = store_load_group(s, s->l, h, group_id, now_ms, &rep, out);
    if (rc) {
        store_lease_forget(s, group_id);
        return rc == CODEV_E_UNKNOWN_GROUP ? rc : CODEV_E_STORE_UNAVAILABLE;
    }
    *finalize = rep.sessions_finalized > 0;
    return 0;
}
