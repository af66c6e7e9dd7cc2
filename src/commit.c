/*
 * commit.c - what waits for the journal: nothing anyone sees is ahead of
 * the disk (proto/README.md 2.4, "What anyone saw survives").
 *
 * An accepted command's events are encoded at once (commit_outbox_take)
 * but held in server.waits behind its record (commit_hold), with its ack;
 * both go out when store_drain reports the commit (commit_drained), in
 * commit order, from the one ring waits.c keeps. A room view (welcome,
 * session_opened) is owed to a connection while its group has records in
 * flight and goes once none is (commit_settled). A record that fails is
 * refused with store_unavailable, its events are dropped, and once the
 * group has nothing more in flight its room is rebuilt from the store
 * (commit_room_rollback). While the store fails, records are refused at
 * once but for one trial a second (commit_store_ready), and a probe record
 * tells when writing works again (commit_store_sweep).
 *
 * Invariants:
 *   - A group's edge counts its records in flight (group_edge.pending) and
 *     is kept while any is; an event is delivered to the members who could
 *     see it when it was applied (held_msg.viewers), never to a connection
 *     still owed its view.
 *   - A record's waits entries are pushed one after another (waits.h).
 *   - ONLY used from the lws service thread.
 * Expected load: one held entry per accepted command (a few hundred in
 * flight at most under load); the rollback is rare (a failed write) and
 * reads the store on the loop (store_room_reload: bounded by one session's
 * journal).
 */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"

/* While the store fails: one trial record this often. */
#define SERVER_STORE_TRIAL_MS 1000

/* One message held until its record commits: encoded when the command was
 * applied, with who may see it decided then (a later command in flight
 * may change the room's facilitator or client before this one commits). */
struct held_msg {
    struct fan_msg *msg;
    struct fan_msg *advice; /* the same with a question's advice verdict, or NULL */
    uint64_t viewers; /* bit i: room member i may see it (ROOM_MEMBERS_HARD_MAX 64) */
    uint64_t advice_viewers; /* bit i: member i gets the advice form */
    bool everyone;           /* every attached connection, member of the room or not */
    bool public_view;        /* a display (ROOM_PUBLIC) may see it */
    char removed[AUTH_UUID_LEN + 1]; /* a member_removed event: whose
                                        connections close once it is out */
};

/* What one record holds back (a waits entry's msg, kind WAITS_EVENTS). */
struct held {
    bool tick; /* a tick held behind a barrier (commit_tick): not an event */
    size_t n;
    struct held_msg m[];
};

void commit_held_free(struct held *h)
{
    for (size_t i = 0; h && i < h->n; i++) {
        fan_msg_unref(h->m[i].msg);
        fan_msg_unref(h->m[i].advice);
    }
    free(h);
}

/* Holds h (taken, may be NULL: nothing to send) behind the record token of
 * g: counted in g's records in flight until it commits or fails. Returns 0,
 * or CODEV_E_INTERNAL (out of memory: h freed, nothing counted). */
int commit_hold(struct server *s, struct hub_group *g, uint64_t token, struct held *h)
{
    struct group_edge *e = dispatch_group_edge(g);

    if (!e || waits_push(&s->waits, token, WAITS_EVENTS, g, h)) {
        commit_held_free(h);
        return CODEV_E_INTERNAL;
    }
    e->pending++;
    return 0;
}

void commit_hold_all(struct server *s, struct hub_group *g, uint64_t token, json_t *j)
{
    struct held *h;

    if (!j)
        return;
    h = calloc(1, sizeof(*h) + sizeof(h->m[0]));
    if (h) {
        h->m[0].msg = fan_msg_new(j, LWS_PRE, false);
        h->m[0].everyone = true;
        h->n = h->m[0].msg ? 1 : 0;
    }
    json_decref(j);
    if (!h || commit_hold(s, g, token, h))
        log_err("group %s: out of memory holding an update", g->id);
}

void commit_tick(struct server *s, struct hub_group *g, struct fan_msg *m)
{
    struct group_edge *e = g->edge;
    struct held *h;

    if (!e || !e->pending) {
        for (struct conn *c = group_conns(g); c; c = c->next)
            if (!c->owed) /* its view, when it goes, carries the clock */
                conn_push(s, c, m);
        return;
    }
    /* The room shows records still in flight (a step change, a clock
     * started): the tick waits behind them (a barrier: one group commit). */
    h = calloc(1, sizeof(*h) + sizeof(h->m[0]));
    if (!h)
        return; /* the next tick, a second later */
    h->tick = true;
    h->n = 1;
    h->m[0].msg = m;
    h->m[0].everyone = true;
    m->refs++;
    if (commit_hold(s, g, 0, h))
        log_err("group %s: out of memory holding a tick", g->id);
}

/* Encodes the events of r's outbox, each with the members who may see it
 * now. Returns a new held (NULL when out of memory: logged). */
struct held *commit_outbox_take(const struct room *r, int64_t now)
{
    struct held *h = calloc(1, sizeof(*h) + r->nout * sizeof(h->m[0]));

    if (!h)
        return NULL;
    for (size_t i = 0; i < r->nout; i++) {
        const struct room_event *ev = &r->out[i];
        struct held_msg *m = &h->m[h->n];
        const struct room_card *card = ev->card ? room_card_get(r, ev->card) : NULL;
        size_t len;
        unsigned char *buf = proto_event_dump(r, ev, LWS_PRE, &len);

        if (buf) {
            /* A contribution card (the hot path): written directly, and
             * no advice form. */
            m->msg = fan_msg_take(buf, len, false);
        } else {
            json_t *j = proto_event_json(r, ev, now),
                   *jv = proto_event_advice_json(r, ev, now);

            m->msg = j ? fan_msg_new(j, LWS_PRE, false) : NULL;
            m->advice = jv ? fan_msg_new(jv, LWS_PRE, false) : NULL;
            json_decref(j);
            json_decref(jv);
        }
        if (!m->msg) {
            fan_msg_unref(m->advice);
            m->advice = NULL;
            continue;
        }
        for (size_t k = 0; k < r->nmembers && k < 64; k++) {
            if (room_event_visible(r, ev, (int)k))
                m->viewers |= UINT64_C(1) << k;
            if (m->advice && room_card_advice_visible(r, card, (int)k))
                m->advice_viewers |= UINT64_C(1) << k;
        }
        m->public_view = room_event_visible(r, ev, ROOM_PUBLIC);
        if (ev->type == EV_MEMBER_REMOVED)
            memcpy(m->removed, r->members[ev->member].id, sizeof(m->removed));
        h->n++;
    }
    return h;
}

/* Sends what h holds to the connections of g that may see it; closes the
 * connections of a removed member. */
static void held_deliver(struct server *s, struct hub_group *g, const struct held *h)
{
    if (!h->tick)
        metrics_add(MC_EVENTS, h->n);
    for (size_t i = 0; i < h->n; i++) {
        const struct held_msg *m = &h->m[i];
        for (struct conn *c = group_conns(g); c; c = c->next) {
            int idx;
            if (c->owed)
                continue;
            if (m->everyone) {
                conn_push(s, c, m->msg);
                continue;
            }
            idx = conn_member_idx(c);
            if (idx == ROOM_PUBLIC && m->public_view)
                conn_push(s, c, m->msg);
            else if (idx >= 0 && idx < 64 && (m->viewers >> idx & 1))
                conn_push(s, c,
                          m->advice && (m->advice_viewers >> idx & 1) ? m->advice
                                                                      : m->msg);
        }
        if (m->removed[0])
            dispatch_close_member(s, g, m->removed);
    }
}

/* Queues an answer in server.waits (waits.c) behind the record token (0: a
 * barrier, behind every record so far). A WebSocket ack (msg, stolen on
 * success) counts in its connection's inflight until released. Returns 0,
 * or CODEV_E_INTERNAL (out of memory: nothing queued, msg still the
 * caller's). */
int commit_wait_push(struct server *s, uint64_t token, enum waits_kind kind, void *owner,
                     json_t *msg)
{
    int rc = waits_push(&s->waits, token, kind, owner, msg);

    if (!rc && kind == WAITS_WS && owner)
        ((struct conn *)owner)->inflight++;
    return rc;
}

/* Sends the room views g's connections are owed (conn.owed): g has no
 * record in flight, so its room is what is committed. */
static void commit_send_owed(struct server *s, struct hub_group *g)
{
    int64_t now = server_now_ms(s);

    for (struct conn *c = group_conns(g); c; c = c->next) {
        const struct hub_member *m;
        uint8_t owed = c->owed;

        if (!owed)
            continue;
        c->owed = OWED_NONE;
        m = c->display ? NULL : hub_member_find(g, c->member_id);
        if (owed == OWED_SESSION && g->room)
            conn_send(s, c, proto_session_opened_json(g->room, conn_member_idx(c), now));
        else if (owed == OWED_WELCOME && m)
            dispatch_send_welcome(s, c, g, m, now);
        else if (owed == OWED_DISPLAY)
            conn_send(s, c, proto_display_welcome_json(g, now));
    }
}

/*
 * A record of g failed and none is in flight any more: g's room becomes
 * what the store holds (the journal replayed), as if the failed commands
 * had never come. Nobody saw them (their events were held), so nobody is
 * told; the senders were refused. When the store cannot be read either,
 * the rollback stays due (commands to g are refused) and
 * commit_store_sweep tries again.
 */
static void commit_room_rollback(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;
    struct room *r = NULL;
    uint64_t version = g->room ? g->room->version : 0;
    int rc;

    if (g->room) {
        rc = store_room_reload(s->store, g->room->session_id, &r);
        if (rc && rc != CODEV_E_NOT_FOUND) {
            if (!e->retrying)
                s->rollbacks_due++;
            e->retrying = true;
            log_err("group %s: room not rebuilt after a failed write: %s (will retry)",
                    g->id, codev_err_name(rc));
            return;
        }
    }
    if (e->retrying)
        s->rollbacks_due--;
    e->retrying = false;
    e->rollback = false;
    for (struct conn *c = group_conns(g); c; c = c->next)
        c->idx_room = NULL;
    if (hub_session_replace(s->hub, g, r)) {
        log_err("group %s: room not put back after a failed write", g->id);
    } else if (g->room) {
        /* Views cached at the room's old versions show what failed. */
        g->room->version = version + 1;
        for (struct conn *c = group_conns(g); c; c = c->next) {
            int idx = conn_member_idx(c);
            if (idx >= 0)
                room_member_set_online(g->room, idx, +1);
        }
    }
    log_warn("group %s: room rolled back to what the store holds (seq %llu)", g->id,
             g->room ? (unsigned long long)g->room->seq : 0ULL);
}

/* g has no record in flight any more: a rollback if one failed, then the
 * views its connections are owed, and the plan items debriefed or expired
 * by what committed leave memory (no rollback can make them wait again:
 * their debrief or close is in the journal). May free g's edge. */
void commit_settled(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;

    if (e->rollback)
        commit_room_rollback(s, g);
    if (!e->rollback) {
        commit_send_owed(s, g);
        hub_plans_settle(g);
    }
    timer_group_update(s, g);
}

/* A duplicate's ack (commit_ack_after) waited behind every record so far,
 * its original's among them: it holds when that original is still in c's
 * room now. Not when a record of the room failed and the room is (or is
 * about to be) rolled back: the original may be what went. */
static bool dup_ack_holds(struct conn *c, json_t *ack)
{
    struct hub_group *g = c->group;
    const struct group_edge *e = g ? g->edge : NULL;

    if (!json_is_true(json_object_get(ack, "duplicate")) || !g || !g->room)
        return true;
    if (e && e->rollback)
        return false;
    return room_cmd_known(g->room, conn_member_idx(c),
                          json_string_value(json_object_get(ack, "id")));
}

/* waits_release_fn: delivers what waited for a record that committed (rc
 * 0) or failed. */
static void wait_release(void *arg, struct wait *e, int rc)
{
    struct server *s = arg;
    json_t *msg = NULL;

    switch (e->kind) {
    case WAITS_WS:
        msg = e->msg;
        if (e->owner) {
            struct conn *c = e->owner;
            c->inflight--;
            if (rc == 0 && !dup_ack_holds(c, msg))
                rc = CODEV_E_STORE_UNAVAILABLE;
            if (rc == 0) {
                size_t len;
                unsigned char *buf = proto_ack_dump(msg, LWS_PRE, &len);
                if (buf) { /* the usual ack, without jansson's dump */
                    struct fan_msg *m = fan_msg_take(buf, len, false);
                    conn_push(s, c, m);
                    fan_msg_unref(m);
                } else {
                    conn_send(s, c, msg);
                    msg = NULL;
                }
            } else {
                conn_error(s, c, json_string_value(json_object_get(msg, "id")),
                           rc == CODEV_E_MOVED ? rc : CODEV_E_STORE_UNAVAILABLE);
            }
        }
        break;
    case WAITS_HTTP:
        if (e->owner) {
            struct http_req *h = e->owner;
            if (rc) {
                size_t len;
                json_t *err = http_api_error_json(
                    rc == CODEV_E_MOVED ? rc : CODEV_E_STORE_UNAVAILABLE);
                unsigned char *buf = proto_dump(err, LWS_PRE, &len);
                json_decref(err);
                free(h->resp);
                h->resp = buf;
                h->resp_len = len;
                h->status = 503;
            }
            h->waiting = false;
            lws_callback_on_writable(h->wsi);
        }
        break;
    case WAITS_EVENTS:
        if (e->owner) {
            struct hub_group *g = e->owner;
            struct group_edge *ge = g->edge;
            ge->pending--;
            if (rc == CODEV_E_MOVED) {
                ge->moved = true; /* another node took g: dropped below */
                ge->rollback = false;
            } else if (rc) {
                ge->rollback = !ge->moved;
                ge->failures++;
            } else if (e->msg && !(((struct held *)e->msg)->tick && ge->rollback)) {
                /* A held tick shows the room with what preceded it: gone
                 * with a rollback (what failed is in it). */
                held_deliver(s, g, e->msg);
            }
            if (!ge->pending && ge->moved)
                s->moved_due++; /* after the record's ack entries (their `moved`) */
            else if (!ge->pending)
                commit_settled(s, g);
        }
        commit_held_free(e->msg);
        break;
    case WAITS_NONE:
    case WAITS_FRAME:
    case WAITS_WELCOME:
        msg = e->msg;
        break;
    }
    json_decref(msg);
}

/* Drops the groups another node took (a cluster), once none of their
 * records is in flight: each sender got `moved` for its command first. */
static void commit_moved_drop(struct server *s)
{
    while (s->moved_due) {
        struct hub_group *found = NULL;
        for (size_t b = 0; !found && b < s->hub->nbuckets; b++)
            for (struct hub_group *g = s->hub->buckets[b]; !found && g; g = g->next) {
                const struct group_edge *e = g->edge;
                if (e && e->moved && !e->pending)
                    found = g;
            }
        s->moved_due--;
        if (found)
            dispatch_group_moved(s, found);
    }
}

/* store_drain callback: the record with this token is committed (or failed). */
void commit_drained(void *arg, uint64_t token, int rc)
{
    struct server *s = arg;
    bool after = token > s->resume_token;

    metrics_add(MC_STORE_ERRORS, rc != 0 && rc != CODEV_E_MOVED);
    /* A record fenced off (a cluster: another node holds its group) is
     * refused, but the store writes: only its group is dropped. */
    if (rc == CODEV_E_MOVED) {
        if (waits_commit(&s->waits, token, rc, wait_release, s))
            log_err("store reported token %llu out of order", (unsigned long long)token);
        commit_moved_drop(s);
        return;
    }
    if (rc && (!s->store_failing || after)) {
        /* Everything submitted until now was decided on top of what
         * failed: it fails too, unwritten; what comes next is tried. */
        if (!s->store_failing)
            log_err("store: record %llu failed: %s; refusing changes until a write "
                    "succeeds",
                    (unsigned long long)token, codev_err_name(rc));
        s->store_failing = true;
        store_resume(s->store);
        s->resume_token = s->next_token;
    } else if (!rc && s->store_failing && after) {
        s->store_failing = false;
        log_warn("store: writing again (record %llu committed)",
                 (unsigned long long)token);
    }
    if (waits_commit(&s->waits, token, rc, wait_release, s))
        log_err("store reported token %llu out of order", (unsigned long long)token);
    commit_moved_drop(s); /* a group whose lease a renewal found lost */
}

bool commit_store_ready(struct server *s, const struct hub_group *g)
{
    const struct group_edge *e = g ? g->edge : NULL;
    int64_t mono;

    if (e && e->moved)
        return false; /* dropped once its records are back (a cluster) */
    if (!s->store_failing)
        return !e || !e->rollback;
    if (e && (e->pending || e->rollback))
        return false;
    mono = server_mono_ms();
    /* A trial is in flight while a record submitted since the failure
     * (store_resume) is: a caller that was let through but submitted
     * nothing leaves none, and the next one may try a second later. */
    if (store_in_flight_since_resume(s->store) ||
        mono - s->trial_mono < SERVER_STORE_TRIAL_MS)
        return false;
    s->trial_mono = mono;
    return true;
}

void commit_store_sweep(struct server *s)
{
    uint64_t token;

    /* Rollbacks that could not read the store (commit_room_rollback). */
    for (size_t b = 0; s->rollbacks_due && b < s->hub->nbuckets; b++)
        for (struct hub_group *g = s->hub->buckets[b]; g; g = g->next) {
            struct group_edge *e = g->edge;
            if (e && e->rollback && !e->pending)
                commit_settled(s, g);
        }

    if (s->store_failing && commit_store_ready(s, NULL)) {
        token = ++s->next_token;
        if (store_submit_probe(s->store, token) ||
            commit_wait_push(s, token, WAITS_NONE, NULL, NULL))
            log_err("store: probe record not submitted");
    }
}

void commit_waits_free(struct server *s)
{
    struct waits *w = &s->waits;

    for (size_t i = 0; i < w->n; i++) {
        struct wait *e = &w->v[(w->head + i) % w->cap];
        if (e->kind == WAITS_EVENTS)
            commit_held_free(e->msg);
        else
            json_decref(e->msg);
        e->msg = NULL;
    }
    waits_free(w, NULL);
}

/* Sends ack to c once every record submitted so far is committed. */
void commit_ack_after(struct server *s, struct conn *c, json_t *ack)
{
    if (waits_is_empty(&s->waits)) {
        conn_send(s, c, ack);
        return;
    }
    if (commit_wait_push(s, 0, WAITS_WS, c, ack))
        json_decref(ack);
}
