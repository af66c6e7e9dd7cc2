/*
 * store_submit.c - the loop thread's half of the store: records (what the
 * loop submits, copied: store_submit_*), the bounded queue they wait in for
 * the writer (store_writer.c), and store_drain / store_flush / store_resume
 * (see store.h for who calls what, and when).
 *
 * Invariants:
 *   - in_flight (submitted and not yet drained) never exceeds queue_max; it
 *     is only read and written by the submitting thread.
 *   - A record owns copies of everything it writes: the loop may change or
 *     free the group or room as soon as the submit returned. Records are
 *     freed here, on the loop thread, once drained (or at store_close).
 *   - Records reach the writer in submission order, each tagged with the
 *     store's epoch (store_resume), and come back through store_drain in
 *     that same order with their token and result.
 *
 * Expected load: a few thousand submits per second; each is one allocation
 * (the record, with a command's strings in its tail) and a mutex hand-off.
 */
#include "store_internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "errors.h"

/* Returns a new clone of g's durable state (settings, invite hash, members
 * with key hashes, plans; no room, no connections; with life, what it keeps
 * between sessions too), freed with hub_group_snapshot_free, or NULL on
 * allocation failure. */
static struct hub_group *store_group_clone_life(const struct hub_group *g, bool life)
{
    struct hub_group *c = hub_group_snapshot_new(g);

    if (!c)
        return NULL;
    memcpy(c->invite_hash, g->invite_hash, AUTH_HASH_LEN);
    hub_display_load(c, g->display_set ? g->display_hash : NULL);
    for (size_t i = 0; i < c->nmembers; i++)
        memcpy(c->members[i].key_hash, g->members[i].key_hash, AUTH_HASH_LEN);
    if (g->nplans &&
        array_grow((void **)&c->plans, &c->plans_cap, g->nplans, sizeof(*c->plans)))
        goto fail;
    for (size_t i = 0; i < g->nplans; i++, c->nplans++) {
        struct hub_plan *p = &c->plans[i];
        *p = g->plans[i];
        p->text = strdup(g->plans[i].text);
        p->due = util_strdup_or_null(g->plans[i].due);
        p->first_step = util_strdup_or_null(g->plans[i].first_step);
        p->pre_comment = util_strdup_or_null(g->plans[i].pre_comment);
        if (!p->text || (g->plans[i].due && !p->due) ||
            (g->plans[i].first_step && !p->first_step) ||
            (g->plans[i].pre_comment && !p->pre_comment)) {
            free(p->text);
            free(p->due);
            free(p->first_step);
            free(p->pre_comment);
            goto fail;
        }
    }
    if (life && hub_life_copy(c, g))
        goto fail;
    return c;
fail:
    hub_group_snapshot_free(c);
    return NULL;
}

static struct hub_group *store_group_clone(const struct hub_group *g)
{
    return store_group_clone_life(g, false);
}

static void session_snap_free(struct session_snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmembers; i++)
        free(s->members[i].name);
    for (size_t i = 0; i < s->ndebriefs; i++) {
        free(s->debriefs[i].text);
        free(s->debriefs[i].due);
        free(s->debriefs[i].first_step);
    }
    free(s->members);
    free(s->debriefs);
    free(s);
}

/* Returns a copy of how room r was built, or NULL on allocation failure. */
static struct session_snap *session_snap_new(const struct hub_group *g,
                                             const struct room *r)
{
    struct session_snap *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    store_id_copy(s->id, r->session_id);
    store_id_copy(s->group, g->id);
    s->created_ms = r->created_ms;
    memcpy(s->budget_ms, r->budget_ms, sizeof(s->budget_ms));
    s->limits = r->limits;
    s->members = calloc(r->nmembers ? r->nmembers : 1, sizeof(*s->members));
    s->debriefs = calloc(r->ndebriefs ? r->ndebriefs : 1, sizeof(*s->debriefs));
    if (!s->members || !s->debriefs)
        goto fail;
    for (size_t i = 0; i < r->nmembers; i++, s->nmembers++) {
        struct snap_room_member *m = &s->members[i];
        store_id_copy(m->id, r->members[i].id);
        m->facilitator = (int)i == r->facilitator;
        m->observer = r->members[i].observer;
        m->name = strdup(r->members[i].name);
        if (!m->name)
            goto fail;
    }
    for (size_t i = 0; i < r->ndebriefs; i++, s->ndebriefs++) {
        const struct room_debrief *src = &r->debriefs[i];
        struct snap_debrief *d = &s->debriefs[i];
        store_id_copy(d->id, src->id);
        store_id_copy(d->client, r->members[src->client].id);
        d->text = strdup(src->text);
        d->due = util_strdup_or_null(src->due);
        d->first_step = util_strdup_or_null(src->first_step);
        if (!d->text || (src->due && !d->due) || (src->first_step && !d->first_step)) {
            free(d->text);
            free(d->due);
            free(d->first_step);
            goto fail;
        }
    }
    return s;
fail:
    session_snap_free(s);
    return NULL;
}

static void rec_free(struct store_rec *rec)
{
    if (!rec)
        return;
    hub_group_snapshot_free(rec->group);
    session_snap_free(rec->session);
    free(rec->joined.name);
    free(rec);
}

void store_rec_list_free(struct store_rec *rec)
{
    while (rec) {
        struct store_rec *next = rec->next;
        rec_free(rec);
        rec = next;
    }
}

/* ---- submitting ------------------------------------------------------------------- */

bool store_is_full(const struct store *s)
{
    return s->in_flight >= s->queue_max;
}

/* Queues rec (taking ownership) and wakes the writer. */
static int store_enqueue(struct store *s, struct store_rec *rec, uint64_t token)
{
    rec->token = token;
    rec->epoch = s->epoch;
    rec->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->pending_tail)
        s->pending_tail->next = rec;
    else
        s->pending = rec;
    s->pending_tail = rec;
    s->submitted++;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    s->in_flight++;
    s->in_flight_epoch++;
    return 0;
}

/* Returns a new record of kind with extra tail bytes, or NULL. */
static struct store_rec *rec_new(enum store_rec_kind kind, size_t extra)
{
    struct store_rec *rec = calloc(1, sizeof(*rec) + extra);

    if (rec)
        rec->kind = kind;
    return rec;
}

int store_submit_group(struct store *s, const struct hub_group *g, int64_t now_ms,
                       uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_GROUP, 0);
    if (!rec || !(rec->group = store_group_clone(g))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    rec->at_ms = now_ms;
    return store_enqueue(s, rec, token);
}

int store_submit_life(struct store *s, const struct hub_group *g, int64_t now_ms,
                      uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_LIFE, 0);
    if (!rec || !(rec->group = store_group_clone_life(g, true))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    rec->at_ms = now_ms;
    return store_enqueue(s, rec, token);
}

int store_submit_session_open(struct store *s, const struct hub_group *g, uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g || !g->room || g->room->seq != 0)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_SESSION_OPEN, 0);
    if (!rec || !(rec->session = session_snap_new(g, g->room))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    return store_enqueue(s, rec, token);
}

int store_submit_member_join(struct store *s, const struct hub_group *g, int room_idx,
                             int64_t now_ms, uint64_t token)
{
    struct store_rec *rec;
    const struct room_member *m;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g || (room_idx >= 0 && (!g->room || (size_t)room_idx >= g->room->nmembers)))
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_MEMBER_JOIN, 0);
    if (!rec || !(rec->group = store_group_clone(g)))
        goto fail;
    rec->at_ms = now_ms;
    if (room_idx >= 0) {
        m = &g->room->members[room_idx];
        store_id_copy(rec->session_id, g->room->session_id);
        store_id_copy(rec->joined.id, m->id);
        rec->joined.observer = m->observer;
        rec->joined.facilitator = false;
        rec->joined.name = strdup(m->name);
        if (!rec->joined.name)
            goto fail;
    }
    return store_enqueue(s, rec, token);
fail:
    rec_free(rec);
    return CODEV_E_INTERNAL;
}

/* Copies src (may be NULL) to *p in the record's tail, advancing *p. */
static const char *tail_copy(char **p, const char *src, size_t len)
{
    char *dst = *p;

    if (!src)
        return NULL;
    memcpy(dst, src, len + 1);
    *p += len + 1;
    return dst;
}

int store_submit_cmd(struct store *s, const struct room *r, int member,
                     const struct room_cmd *cmd, int64_t now_ms, uint64_t seq,
                     uint64_t token)
{
    return store_submit_group_cmd(s, NULL, r, member, cmd, now_ms, seq, token);
}

int store_submit_group_cmd(struct store *s, const char *group_id, const struct room *r,
                           int member, const struct room_cmd *cmd, int64_t now_ms,
                           uint64_t seq, uint64_t token)
{
    size_t lt, ld, lg, lr, lf;
    struct store_rec *rec;
    struct cmd_snap *c;
    char *p;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!r || !cmd || member < 0 || (size_t)member >= r->nmembers ||
        !room_cmd_name(cmd->type))
        return CODEV_E_BAD_FIELD;
    lt = cmd->text ? strlen(cmd->text) : 0;
    ld = cmd->due ? strlen(cmd->due) : 0;
    lg = cmd->target ? strlen(cmd->target) : 0;
    lr = cmd->ref ? strlen(cmd->ref) : 0;
    lf = cmd->first_step ? strlen(cmd->first_step) : 0;
    rec = rec_new(REC_CMD, lt + ld + lg + lr + lf + 5);
    if (!rec)
        return CODEV_E_INTERNAL;
    store_id_copy(rec->session_id, r->session_id);
    store_id_copy(rec->group_id, group_id);
    c = &rec->cmd;
    c->member = member;
    store_id_copy(c->member_id, r->members[member].id);
    c->now_ms = now_ms;
    c->seq = seq;
    c->type = cmd->type;
    snprintf(c->id, sizeof(c->id), "%.*s", ROOM_CMD_ID_MAX, cmd->id);
    p = rec->tail;
    c->text = tail_copy(&p, cmd->text, lt);
    c->due = tail_copy(&p, cmd->due, ld);
    c->target = tail_copy(&p, cmd->target, lg);
    c->ref = tail_copy(&p, cmd->ref, lr);
    c->first_step = tail_copy(&p, cmd->first_step, lf);
    c->card = cmd->card;
    c->seconds = cmd->seconds;
    c->variant = cmd->variant;
    c->flag = cmd->flag;
    return store_enqueue(s, rec, token);
}

int store_submit_session_close(struct store *s, const struct hub_group *g, int64_t now_ms,
                               uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g || !g->room)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_SESSION_CLOSE, 0);
    if (!rec || !(rec->group = store_group_clone_life(g, true))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    store_id_copy(rec->session_id, g->room->session_id);
    rec->at_ms = now_ms;
    return store_enqueue(s, rec, token);
}

int store_submit_group_delete(struct store *s, const char *group_id, uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!group_id || strlen(group_id) != AUTH_UUID_LEN)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_GROUP_DELETE, 0);
    if (!rec)
        return CODEV_E_INTERNAL;
    store_id_copy(rec->group_id, group_id);
    return store_enqueue(s, rec, token);
}

int store_submit_probe(struct store *s, uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    rec = rec_new(REC_PROBE, 0);
    if (!rec)
        return CODEV_E_INTERNAL;
    return store_enqueue(s, rec, token);
}

void store_resume(struct store *s)
{
    s->epoch++;
    s->in_flight_epoch = 0;
}

size_t store_in_flight_since_resume(const struct store *s)
{
    return s->in_flight_epoch;
}

size_t store_drain(struct store *s, store_done_fn fn, void *arg)
{
    struct store_rec *list;
    size_t n = 0;

    pthread_mutex_lock(&s->mu);
    list = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {
        struct store_rec *next = list->next;
        /* Counted out before fn runs: a submit from inside fn (a probe, an
         * owed view) sees the room this record left in the queue. */
        s->in_flight--;
        if (list->epoch == s->epoch)
            s->in_flight_epoch--;
        if (fn)
            fn(arg, list->token, list->rc);
        rec_free(list);
        list = next;
        n++;
    }
    return n;
}

int store_flush(struct store *s)
{
    uint64_t target;

    pthread_mutex_lock(&s->mu);
    target = s->submitted;
    while (s->written < target)
        pthread_cond_wait(&s->done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int store_flush_within(struct store *s, int64_t timeout_ms)
{
    struct timespec until;
    uint64_t target;
    int rc = 0;

    /* done_cv has the default clock: an absolute CLOCK_REALTIME time. */
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms < 0)
        timeout_ms = 0;
    until.tv_sec += (time_t)(timeout_ms / 1000);
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    target = s->submitted;
    while (s->written < target && rc == 0)
        if (pthread_cond_timedwait(&s->done_cv, &s->mu, &until) == ETIMEDOUT)
            rc = s->written < target ? CODEV_E_STORE_UNAVAILABLE : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}
