/*
 * dispatch.c - the broker: what a WebSocket message does. hello attaches a
 * connection to its group, session_open opens a session, a command goes
 * through the room (room.c decides), its events fan out to the group, and
 * the record is journaled; the sender's ack waits for the commit.
 * Protocol handling (frames, queues) is conn.c's; this file decides, as
 * mosquitto's handle_*.c do over its subs.c.
 *
 * Invariants:
 *   - A connection is "attached" once its hello succeeded: it is then in
 *     its group's list and counted online in the room.
 *   - Nothing anyone sees is ahead of the disk: every accepted command,
 *     and every HTTP call that changes a group (http.c), is submitted to the
 *     store; its events are encoded at once but held in server.waits
 *     (waits.c keeps the order) with its answer, and both go out when
 *     store_drain reports the commit, in commit order. The loop never waits:
 *     later commands are decided against the room with the pending ones
 *     applied (the room is the committed records plus those in flight).
 *   - A room view (welcome, session_opened) shows only what is committed:
 *     a connection that needs one while its room has records in flight is
 *     owed it (conn.owed) and gets it once none is; meanwhile it is sent
 *     nothing of the group, which the view will hold.
 *   - A record that fails is refused (store_unavailable), its events are
 *     dropped, and once the group has nothing more in flight its room is
 *     rebuilt from the store (dispatch_room_rollback): nobody saw what
 *     failed, and seq numbers are not consumed. While the store fails,
 *     records are refused at once but for a trial a second.
 *   - question_check is the exception: a read-only query, answered at once
 *     (nothing to make durable), never journaled and never broadcast.
 *   - A connection has at most SERVER_INFLIGHT_MAX acks waiting.
 *   - A welcome's room view is encoded once per session, room version and
 *     viewer, and shared by the joiners who arrive together (the view
 *     cache, SERVER_VIEW_SLOTS entries).
 * Expected load: tens of thousands of commands a second; each costs one
 * decode, one room_apply and O(recipients) queue pushes.
 */
#include "server_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "errors.h"
#include "log.h"

#define CLOSE_MEMBER_REMOVED  4001 /* application close codes (4000-4999) */
#define CLOSE_GROUP_DELETED   4003
#define CLOSE_DISPLAY_REVOKED 4005
/* Commands a connection may have unanswered (sent, ack still waiting for
 * the journal). Half of ROOM_SEEN_MAX: a client that reconnects and resends
 * all of them, while another tab of the same member does the same, still
 * finds every id in the member's memory of accepted commands. */
#define SERVER_INFLIGHT_MAX (ROOM_SEEN_MAX / 2)
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
    size_t n;
    struct held_msg m[];
};

static void group_close_member(struct server *s, struct hub_group *g,
                               const char *member_id);

/* Returns the encoded view of r for viewer (borrowed: the cache keeps it
 * until a sweep finds nobody writing it), encoding it unless a joiner
 * already did at this room version; NULL on allocation failure. */
static struct fan_msg *dispatch_room_view(struct server *s, const struct room *r,
                                          int viewer)
{
    uint64_t h = util_fnv1a64(r->session_id);
    struct view_entry *e;
    json_t *j;

    e = &s->views[(h ^ (uint64_t)(viewer + 1)) % SERVER_VIEW_SLOTS];
    if (e->msg && e->version == r->version && e->viewer == viewer &&
        strcmp(e->session_id, r->session_id) == 0)
        return e->msg;
    fan_msg_unref(e->msg);
    e->msg = NULL;
    j = proto_room_view_json(r, viewer);
    if (!j)
        return NULL;
    e->msg = fan_msg_new(j, LWS_PRE, false);
    json_decref(j);
    memcpy(e->session_id, r->session_id, sizeof(e->session_id));
    e->version = r->version;
    e->viewer = viewer;
    return e->msg;
}

/* Drops the cached views that no connection is writing any more. */
void dispatch_views_trim(struct server *s, bool all)
{
    for (size_t i = 0; i < SERVER_VIEW_SLOTS; i++) {
        struct view_entry *e = &s->views[i];
        if (e->msg && (all || e->msg->refs == 1)) {
            fan_msg_unref(e->msg);
            e->msg = NULL;
        }
    }
}

/* Queues the welcome for member m of g on c: its own head and clock around
 * the room view it shares with every joiner of the same view at the same
 * room version (proto_welcome_head_json explains the splice). Falls back to
 * a whole encoding when a part cannot be made. */
static void conn_send_welcome(struct server *s, struct conn *c, struct hub_group *g,
                              const struct hub_member *m, int64_t now)
{
    /* How jansson writes the mark, then the welcome's closing brace. */
    static const char mark[] = "\"\\u0001room\\u0001\"}";
    const size_t mark_len = sizeof(mark) - 1;
    struct fan_msg *body, *msg = NULL;
    unsigned char *head = NULL, *clock = NULL, *tail = NULL;
    size_t head_len = 0, clock_len = 0;
    json_t *j;

    if (!g->room || !hub_room_of(g, m->id)) /* a closed room: its members only */
        goto out;
    body = dispatch_room_view(
        s, g->room, proto_room_view_of(g->room, room_member_find(g->room, m->id)));
    j = proto_welcome_head_json(s->hub, g, m, now);
    head = j ? proto_dump(j, 0, &head_len) : NULL;
    json_decref(j);
    j = proto_room_clock_json(g->room, now);
    clock = j ? proto_dump(j, 0, &clock_len) : NULL;
    json_decref(j);
    if (!body || body->len < 2 || !head || !clock || head_len < mark_len ||
        memcmp(head + head_len - mark_len, mark, mark_len) != 0)
        goto out;
    tail = malloc(clock_len + 16);
    if (!tail)
        goto out;
    memcpy(tail, ",\"clock\":", 9);
    memcpy(tail + 9, clock, clock_len);
    memcpy(tail + 9 + clock_len, "}}", 2);
    /* The view without its closing brace, which the tail brings. */
    msg = fan_msg_splice(head, head_len - mark_len, body, body->len - 1, tail,
                         clock_len + 11, LWS_PRE);
out:
    if (msg)
        conn_push(s, c, msg);
    else
        conn_send(s, c, proto_welcome_json(s->hub, g, m, now));
    fan_msg_unref(msg);
    free(head);
    free(clock);
    free(tail);
}

/* g's edge state, made on first use (timer_group_update frees it once
 * nothing needs it). NULL when out of memory. */
static struct group_edge *group_edge_get(struct hub_group *g)
{
    struct group_edge *e = g->edge;

    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return NULL;
        e->group = g;
        e->offered = -1;
        g->edge = e;
    }
    return e;
}

/* Puts c in g's list of attached connections, making g's edge state on the
 * first. Returns 0, or CODEV_E_INTERNAL (out of memory: c not attached). */
static int group_attach(struct conn *c, struct hub_group *g)
{
    struct group_edge *e = group_edge_get(g);

    if (!e)
        return CODEV_E_INTERNAL;
    c->group = g;
    c->prev = NULL;
    c->next = e->conns;
    if (e->conns)
        e->conns->prev = c;
    e->conns = c;
    return 0;
}

static void group_detach(struct conn *c)
{
    struct hub_group *g = c->group;

    if (!g)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        ((struct group_edge *)g->edge)->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->group = NULL;
}

/* Ends the offer to facilitate that g's edge holds, if any: its member is
 * told ("open": false). */
static void dispatch_offer_end(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;
    const struct room *r = g->room;
    int offered = e ? e->offered : -1;

    if (offered < 0)
        return;
    e->offered = -1;
    if (!r || (size_t)offered >= r->nmembers || r->facilitator < 0)
        return;
    for (struct conn *c = e->conns; c; c = c->next)
        if (!c->display && strcmp(c->member_id, r->members[offered].id) == 0)
            conn_send(s, c,
                      proto_facilitator_offer_json(
                          r->facilitator_away >= 0 ? r->members[r->facilitator_away].id
                                                   : r->members[r->facilitator].id,
                          false));
}

/* Counts c online in its group's room; announces the member's first
 * connection. */
static void conn_online(struct server *s, struct conn *c, int delta)
{
    struct room *r = c->group->room;
    struct hub_member *m = (struct hub_member *)hub_member_find(c->group, c->member_id);
    int idx = conn_member_idx(c);
    int before;

    if (!m)
        return;
    /* The group counts connections with or without a session; the room
     * keeps its own count for its snapshots. */
    before = m->online;
    m->online += delta;
    if (r && idx >= 0)
        room_member_set_online(r, idx, delta);
    if ((before == 0) != (m->online == 0))
        group_send(s, c->group, proto_presence_json(c->member_id, m->online > 0), NULL,
                   c);
    /* The facilitator's absence counts from their last connection's close
     * (the grace, timer.c) and ends when one opens again. */
    if (r && r->step != STEP_CLOSED && idx >= 0 && idx == r->facilitator) {
        if (m->online == 0)
            timer_away_start(s, c->group);
        else if (before == 0) {
            timer_away_stop(s, c->group);
            dispatch_offer_end(s, c->group);
        }
    }
}

void dispatch_conn_closed(struct server *s, struct conn *c)
{
    struct hub_group *g = c->group;

    if (!g)
        return;
    if (!c->display) /* a display is in no presence list */
        conn_online(s, c, -1);
    group_detach(c);
    timer_group_update(s, g);
}

static void held_free(struct held *h)
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
static int group_hold(struct server *s, struct hub_group *g, uint64_t token,
                      struct held *h)
{
    struct group_edge *e = group_edge_get(g);

    if (!e || waits_push(&s->waits, token, WAITS_EVENTS, g, h)) {
        held_free(h);
        return CODEV_E_INTERNAL;
    }
    e->pending++;
    return 0;
}

/*
 * A session just opened: the debriefs its earlier clients posted in
 * advance become theirs in the room, each as the debrief_post they would
 * have sent (applied and journaled like any command, with the id
 * "advance-<plan id>", so that a replay rebuilds them, its events held
 * until its record commits); then the group is saved with what it keeps
 * between sessions (the next session took place; the advance copies went
 * with hub_sync). A debrief the room refuses (its budget) is left for the
 * client to post live.
 */
static void dispatch_session_prefill(struct server *s, struct hub_group *g, int64_t now)
{
    struct room *r = g->room;
    uint64_t token;

    for (size_t i = 0; i < r->ndebriefs; i++) {
        const struct room_debrief *d = &r->debriefs[i];
        const struct hub_plan *p = NULL;
        struct room_cmd cmd;

        for (size_t j = 0; j < g->nplans; j++)
            if (g->plans[j].pre_debriefed && strcmp(g->plans[j].id, d->id) == 0)
                p = &g->plans[j];
        if (!p)
            continue;
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = CMD_DEBRIEF_POST;
        snprintf(cmd.id, sizeof(cmd.id), "advance-%s", p->id);
        cmd.ref = p->id;
        cmd.variant = p->pre_outcome;
        cmd.text = p->pre_comment;
        if (dispatch_apply(s, g, NULL, d->client, &cmd, now))
            continue;
    }
    hub_sync(s->hub, g);
    token = ++s->next_token;
    if (store_submit_life(s->store, g, now, token) ||
        dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL))
        log_err("group %s: its next session not saved", g->id);
}

void dispatch_session_opened(struct server *s, struct hub_group *g, uint64_t token)
{
    /* A new room: an offer or an absence of the last one means nothing. */
    if (g->edge)
        ((struct group_edge *)g->edge)->offered = -1;
    timer_away_stop(s, g);
    for (struct conn *c = group_conns(g); c; c = c->next) {
        int idx = conn_member_idx(c);
        if (idx >= 0)
            room_member_set_online(g->room, idx, +1);
        if (!c->owed)
            c->owed = OWED_SESSION;
    }
    /* The snapshots go once the opening (and all else of g in flight)
     * commits: group_settled. */
    if (group_hold(s, g, token, NULL))
        log_err("group %s: out of memory holding the session's opening", g->id);
    timer_group_update(s, g);
    log_info("group %s: session %s opened", g->id, g->room->session_id);
    dispatch_session_prefill(s, g, server_now_ms(s));
}

void dispatch_hold_all(struct server *s, struct hub_group *g, uint64_t token, json_t *j)
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
    if (!h || group_hold(s, g, token, h))
        log_err("group %s: out of memory holding an update", g->id);
}

/* Encodes the events of r's outbox, each with the members who may see it
 * now. Returns a new held (NULL when out of memory: logged). */
static struct held *held_from_outbox(const struct room *r, int64_t now)
{
    struct held *h = calloc(1, sizeof(*h) + r->nout * sizeof(h->m[0]));

    if (!h)
        return NULL;
    for (size_t i = 0; i < r->nout; i++) {
        const struct room_event *ev = &r->out[i];
        struct held_msg *m = &h->m[h->n];
        const struct room_card *card = ev->card ? room_card_get(r, ev->card) : NULL;
        json_t *j = proto_event_json(r, ev, now),
               *jv = proto_event_advice_json(r, ev, now);

        m->msg = j ? fan_msg_new(j, LWS_PRE, false) : NULL;
        m->advice = jv ? fan_msg_new(jv, LWS_PRE, false) : NULL;
        json_decref(j);
        json_decref(jv);
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
            group_close_member(s, g, m->removed);
    }
}

/* Closes every connection of a member who was removed. */
static void group_close_member(struct server *s, struct hub_group *g,
                               const char *member_id)
{
    for (struct conn *c = group_conns(g); c; c = c->next) {
        if (strcmp(c->member_id, member_id) != 0)
            continue;
        conn_error(s, c, NULL, CODEV_E_MEMBER_REMOVED);
        conn_close_later(c, CLOSE_MEMBER_REMOVED, "member_removed");
    }
}

/*
 * Takes g away: every connection gets a group_deleted error and close code
 * 4003, is detached, and g is deleted from the hub (the caller has
 * submitted its deletion to the store). why is for the log.
 */
void dispatch_group_drop(struct server *s, struct hub_group *g, const char *why)
{
    while (group_conns(g)) {
        struct conn *c = group_conns(g);
        conn_error(s, c, NULL, CODEV_E_GROUP_DELETED);
        conn_close_later(c, CLOSE_GROUP_DELETED, "group_deleted");
        c->idx_room = NULL;
        group_detach(c);
    }
    /* Its held records stay in order, with nobody to send to. */
    waits_forget(&s->waits, g);
    if (g->edge) {
        struct group_edge *e = g->edge;
        if (e->retrying)
            s->rollbacks_due--;
        e->pending = 0;
        e->rollback = e->retrying = false;
    }
    timer_group_update(s, g);
    log_info("group %s: deleted (%s)", g->id, why);
    hub_group_delete(s->hub, g);
}

void dispatch_displays_close(struct server *s, struct hub_group *g)
{
    struct conn *c = group_conns(g), *next;

    for (; c; c = next) {
        next = c->next;
        if (!c->display)
            continue;
        conn_error(s, c, NULL, CODEV_E_BAD_DISPLAY);
        conn_close_later(c, CLOSE_DISPLAY_REVOKED, "display_revoked");
        c->idx_room = NULL;
        group_detach(c);
    }
    timer_group_update(s, g);
}

/* Queues an answer in server.waits (waits.c) behind the record token (0: a
 * barrier, behind every record so far). A WebSocket ack (msg, stolen on
 * success) counts in its connection's inflight until released. Returns 0,
 * or CODEV_E_INTERNAL (out of memory: nothing queued, msg still the
 * caller's). */
int dispatch_wait_push(struct server *s, uint64_t token, enum waits_kind kind,
                       void *owner, json_t *msg)
{
    int rc = waits_push(&s->waits, token, kind, owner, msg);

    if (!rc && kind == WAITS_WS && owner)
        ((struct conn *)owner)->inflight++;
    return rc;
}

/* Sends the room views g's connections are owed (conn.owed): g has no
 * record in flight, so its room is what is committed. */
static void group_send_owed(struct server *s, struct hub_group *g)
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
            conn_send_welcome(s, c, g, m, now);
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
 * dispatch_store_sweep tries again.
 */
static void dispatch_room_rollback(struct server *s, struct hub_group *g)
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
 * views its connections are owed. May free g's edge. */
static void group_settled(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;

    if (e->rollback)
        dispatch_room_rollback(s, g);
    if (!e->rollback)
        group_send_owed(s, g);
    timer_group_update(s, g);
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
            if (rc == 0) {
                conn_send(s, c, msg);
                msg = NULL;
            } else {
                conn_error(s, c, json_string_value(json_object_get(msg, "id")),
                           CODEV_E_STORE_UNAVAILABLE);
            }
        }
        break;
    case WAITS_HTTP:
        if (e->owner) {
            struct http_req *h = e->owner;
            if (rc) {
                size_t len;
                json_t *err = http_api_error_json(CODEV_E_STORE_UNAVAILABLE);
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
            if (rc) {
                ge->rollback = true;
                ge->failures++;
            } else if (e->msg) {
                held_deliver(s, g, e->msg);
            }
            if (!ge->pending)
                group_settled(s, g);
        }
        held_free(e->msg);
        break;
    case WAITS_NONE:
    case WAITS_FRAME:
    case WAITS_WELCOME:
        msg = e->msg;
        break;
    }
    json_decref(msg);
}

/* store_drain callback: the record with this token is committed (or failed). */
void dispatch_committed(void *arg, uint64_t token, int rc)
{
    struct server *s = arg;
    bool after = token > s->resume_token;

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
    if (after)
        s->trial_inflight = false;
    if (waits_commit(&s->waits, token, rc, wait_release, s))
        log_err("store reported token %llu out of order", (unsigned long long)token);
}

bool dispatch_store_ready(struct server *s, const struct hub_group *g)
{
    const struct group_edge *e = g ? g->edge : NULL;
    int64_t mono;

    if (!s->store_failing)
        return !e || !e->rollback;
    if (e && (e->pending || e->rollback))
        return false;
    mono = server_mono_ms();
    if (s->trial_inflight || mono - s->trial_mono < SERVER_STORE_TRIAL_MS)
        return false;
    s->trial_mono = mono;
    s->trial_inflight = true;
    return true;
}

void dispatch_store_trial_unused(struct server *s)
{
    if (s->store_failing)
        s->trial_inflight = false;
}

void dispatch_store_sweep(struct server *s)
{
    uint64_t token;

    /* Rollbacks that could not read the store (dispatch_room_rollback). */
    for (size_t b = 0; s->rollbacks_due && b < s->hub->nbuckets; b++)
        for (struct hub_group *g = s->hub->buckets[b]; g; g = g->next) {
            struct group_edge *e = g->edge;
            if (e && e->rollback && !e->pending)
                group_settled(s, g);
        }

    if (s->store_failing && dispatch_store_ready(s, NULL)) {
        token = ++s->next_token;
        if (store_submit_probe(s->store, token) ||
            dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL))
            s->trial_inflight = false;
    }
}

/* Sends ack to c once every record submitted so far is committed. */
static void conn_ack_after_commits(struct server *s, struct conn *c, json_t *ack)
{
    if (waits_is_empty(&s->waits)) {
        conn_send(s, c, ack);
        return;
    }
    if (dispatch_wait_push(s, 0, WAITS_WS, c, ack))
        json_decref(ack);
}

/* hello with the group's display token: attached as a display (ROOM_PUBLIC,
 * no presence, nothing to send), within display_max_per_group. */
static void handle_display_hello(struct server *s, struct conn *c, struct hub_group *g,
                                 const char *token)
{
    uint32_t n = 0;

    if (!hub_display_auth(g, token)) {
        log_info("conn %llu: bad display token for group %s", (unsigned long long)c->id,
                 g->id);
        conn_error(s, c, NULL, CODEV_E_BAD_DISPLAY);
        return;
    }
    for (const struct conn *o = group_conns(g); o; o = o->next)
        n += o->display;
    if (n >= s->cfg->display_max_per_group) {
        conn_error(s, c, NULL, CODEV_E_TOO_MANY_DISPLAYS);
        return;
    }
    if (group_attach(c, g)) {
        conn_error(s, c, NULL, CODEV_E_INTERNAL);
        return;
    }
    c->display = true;
    c->member_id[0] = '\0';
    c->idx_room = NULL;
    conn_unauth_release(s, c);
    timer_group_update(s, g);
    if (((struct group_edge *)g->edge)->pending ||
        ((struct group_edge *)g->edge)->rollback)
        c->owed = OWED_DISPLAY; /* group_settled sends it */
    else
        conn_send(s, c, proto_display_welcome_json(g, server_now_ms(s)));
    log_info("conn %llu: attached to group %s as a display (%u)",
             (unsigned long long)c->id, g->id, n + 1);
}

static void handle_hello(struct server *s, struct conn *c, const struct proto_msg *msg)
{
    struct hub_group *g = hub_group_find(s->hub, msg->group_id);
    const struct hub_member *m;
    const struct room *r;
    struct group_edge *e;
    int idx;

    if (!g) {
        conn_error(s, c, NULL, CODEV_E_UNKNOWN_GROUP);
        return;
    }
    if (msg->display_token) {
        handle_display_hello(s, c, g, msg->display_token);
        return;
    }
    m = hub_member_auth(g, msg->member_key);
    if (!m) {
        log_info("conn %llu: bad key for group %s", (unsigned long long)c->id, g->id);
        conn_error(s, c, NULL, CODEV_E_BAD_KEY);
        return;
    }
    if (m->removed) {
        conn_error(s, c, NULL, CODEV_E_MEMBER_REMOVED);
        return;
    }
    if (group_attach(c, g)) {
        conn_error(s, c, NULL, CODEV_E_INTERNAL);
        return;
    }
    memcpy(c->member_id, m->id, sizeof(c->member_id));
    conn_unauth_release(s, c);
    c->idx_room = NULL;
    conn_online(s, c, +1);
    timer_group_update(s, g);
    if (((struct group_edge *)g->edge)->pending ||
        ((struct group_edge *)g->edge)->rollback)
        c->owed = OWED_WELCOME; /* group_settled sends it */
    else
        conn_send_welcome(s, c, g, m, server_now_ms(s));
    log_info("conn %llu: attached to group %s as member %s (last_seq %lld)",
             (unsigned long long)c->id, g->id, m->id, (long long)msg->last_seq);
    /* The facilitator may never have come back since a restart: their
     * absence counts from the first member who does. An offer waiting for
     * this member is told again. */
    r = g->room;
    e = g->edge;
    if (!r || r->step == STEP_CLOSED || r->facilitator < 0 || !e)
        return;
    if (r->members[r->facilitator].online <= 0)
        timer_away_start(s, g);
    idx = conn_member_idx(c);
    if (idx >= 0 && idx == e->offered)
        conn_send(s, c,
                  proto_facilitator_offer_json(r->members[r->facilitator].id, true));
}

static void handle_session_open(struct server *s, struct conn *c,
                                const struct proto_msg *msg)
{
    struct hub_group *g = c->group;
    int rc;

    uint64_t token;
    const struct hub_member *m = hub_member_find(g, c->member_id);

    /* The documented order (proto/README.md 2.3): observer_read_only
     * before not_facilitator. */
    if (strcmp(g->facilitator, c->member_id) != 0) {
        conn_error(s, c, msg->id,
                   m && m->observer ? CODEV_E_OBSERVER_READ_ONLY
                                    : CODEV_E_NOT_FACILITATOR);
        return;
    }
    if (store_is_full(s->store)) {
        conn_error(s, c, msg->id, CODEV_E_RATE_LIMITED);
        return;
    }
    if (!dispatch_store_ready(s, g)) {
        conn_error(s, c, msg->id, CODEV_E_STORE_UNAVAILABLE);
        return;
    }
    rc = hub_session_open(s->hub, g, server_now_ms(s));
    if (rc) {
        dispatch_store_trial_unused(s);
        conn_error(s, c, msg->id, rc);
        return;
    }
    token = ++s->next_token;
    rc = store_submit_session_open(s->store, g, token);
    if (rc) {
        log_err("group %s: session %s not journaled: %s", g->id, g->room->session_id,
                codev_err_name(rc));
        hub_session_replace(s->hub, g, NULL);
        conn_error(s, c, msg->id, CODEV_E_STORE_UNAVAILABLE);
        return;
    }
    /* The ack first: the opening submits records of its own (debriefs
     * posted in advance), and a record's entries stay together (waits.h). */
    if (dispatch_wait_push(s, token, WAITS_WS, c,
                           proto_ack_json(msg->id, g->room->seq, false)))
        log_err("out of memory for a pending ack");
    dispatch_session_opened(s, g, token);
}

/* Journals an accepted command (and the close it caused), holding its
 * events (h, taken) behind its record; the sender's ack (c may be NULL)
 * follows them. Returns 0, or CODEV_E_STORE_UNAVAILABLE when the record
 * could not be submitted (the room must be rolled back: done here). */
static int dispatch_journal(struct server *s, struct conn *c, struct hub_group *g,
                            int idx, const struct room_cmd *cmd, int64_t now,
                            uint64_t seq, bool closed, struct held *h)
{
    struct room_cmd journaled = *cmd;
    char order[ROOM_ROUND_TEXT_MAX];
    uint64_t token = ++s->next_token;
    int rc;

    /* The contract check of step_next depends on who is online, which the
     * journal does not keep: what passed is replayed as forced. */
    if (journaled.type == CMD_STEP_NEXT)
        journaled.flag = true;
    /* So do the floor's decisions (room_floor.c): journaled as made. */
    room_floor_journal_form(g->room, &journaled, order, sizeof(order));
    rc = store_submit_cmd(s->store, g->room, idx, &journaled, now, seq, token);
    if (rc) {
        struct group_edge *e = group_edge_get(g);
        log_err("group %s: command seq %llu not journaled: %s", g->id,
                (unsigned long long)seq, codev_err_name(rc));
        held_free(h);
        if (e) {
            e->rollback = true;
            if (!e->pending)
                group_settled(s, g);
        }
        return CODEV_E_STORE_UNAVAILABLE;
    }
    if (group_hold(s, g, token, h))
        log_err("group %s: out of memory holding seq %llu", g->id,
                (unsigned long long)seq);
    if (closed) {
        log_info("group %s: session %s closed", g->id, g->room->session_id);
        token = ++s->next_token;
        rc = store_submit_session_close(s->store, g, now, token);
        if (rc) {
            /* store_load finishes a close whose record is missing. */
            log_err("group %s: close not journaled: %s", g->id, codev_err_name(rc));
            token = 0; /* the ack still waits for the command's record */
        } else {
            dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL);
        }
    }
    if (c &&
        dispatch_wait_push(s, token, WAITS_WS, c, proto_ack_json(cmd->id, seq, false)))
        log_err("out of memory for a pending ack");
    return 0;
}

/* A round started in g: the group remembers its first member, so that the
 * next round (in this session or a later one) starts after them; saved
 * with the group (room_floor.c). */
static void dispatch_round_remember(struct server *s, struct hub_group *g, int64_t now)
{
    const struct room *r = g->room;
    uint64_t token;

    if (!r || !r->round.active || r->round.n == 0)
        return;
    snprintf(g->round_last, sizeof(g->round_last), "%s",
             r->members[r->round.order[0]].id);
    token = ++s->next_token;
    if (store_submit_group(s->store, g, now, token) ||
        dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL))
        log_err("group %s: round start not remembered", g->id);
}

/*
 * The turn budget of g's round ran out in auto mode (timer.c checks it at
 * each tick): the server moves the round on, as round_skip from the
 * facilitator with variant 1 ("expired"), applied, sent and journaled like
 * a command (the room refuses that form before the budget has run out, so
 * the replay at the journaled instant agrees).
 */
void dispatch_turn_expire(struct server *s, struct hub_group *g, int64_t now)
{
    struct room_cmd cmd = {.type = CMD_ROUND_SKIP, .variant = 1};
    char uuid[AUTH_UUID_LEN + 1];
    int rc;

    if (!g->room || g->room->facilitator < 0)
        return;
    auth_uuid_new(uuid);
    snprintf(cmd.id, sizeof(cmd.id), "turn-expire-%s", uuid);
    rc = dispatch_apply(s, g, NULL, g->room->facilitator, &cmd, now);
    if (rc) /* tried again at the next tick */
        log_warn("group %s: expired turn not moved on: %s", g->id, codev_err_name(rc));
}

/* hub_sync replaced g's invite (a member was removed): save the group so
 * that the old code stays dead after a restart. */
void dispatch_group_save_rotated(struct server *s, struct hub_group *g, int64_t now)
{
    uint64_t token;

    if (!g->invite_rotated)
        return;
    token = ++s->next_token;
    if (store_submit_group(s->store, g, now, token)) {
        log_err("group %s: new invite not saved, will retry", g->id);
        return;
    }
    g->invite_rotated = false;
    if (dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL))
        log_err("out of memory for a pending record");
}

int dispatch_apply(struct server *s, struct hub_group *g, struct conn *c, int idx,
                   const struct room_cmd *cmd, int64_t now)
{
    struct room *r = g->room;
    struct held *h;
    uint64_t seq = 0;
    bool dup = false, closed, ends_offer = false;
    int rc;

    /* Two records at most follow (the command, and the close it may cause):
     * refuse while the journal's queue is full rather than apply what
     * could not be made durable. */
    if (store_is_full(s->store))
        return CODEV_E_RATE_LIMITED;
    if (!dispatch_store_ready(s, g))
        return CODEV_E_STORE_UNAVAILABLE;
    rc = room_apply(r, idx, cmd, now, &seq, &dup);
    if (rc) {
        room_outbox_clear(r);
        dispatch_store_trial_unused(s);
        return rc;
    }
    if (dup) {
        room_outbox_clear(r);
        dispatch_store_trial_unused(s);
        if (c)
            conn_ack_after_commits(s, c, proto_ack_json(cmd->id, seq, true));
        return 0;
    }
    closed = r->nout && r->out[r->nout - 1].type == EV_CLOSED;
    for (size_t i = 0; i < r->nout; i++)
        ends_offer |= r->out[i].type == EV_FACILITATOR || r->out[i].type == EV_CLOSED;
    h = held_from_outbox(r, now);
    room_outbox_clear(r);
    /* An offer to facilitate that a new facilitator or the close made moot
     * ends; a closed session has no absence to watch. */
    if (ends_offer)
        dispatch_offer_end(s, g);
    if (closed)
        timer_away_stop(s, g);
    if (!h)
        log_err("group %s: out of memory encoding seq %llu", g->id,
                (unsigned long long)seq);
    hub_sync(s->hub, g);
    timer_group_update(s, g);
    g->room_active_ms = now;
    dispatch_group_save_rotated(s, g, now);
    rc = dispatch_journal(s, c, g, idx, cmd, now, seq, closed, h);
    if (!rc && cmd->type == CMD_ROUND_START)
        dispatch_round_remember(s, g, now);
    return rc;
}

/*
 * Applies a command the server sends for member sender (the absent
 * facilitator's handover): a fresh id "<why>-<uuid>", room_apply, the
 * events to the group, then journaled like a member's command so that a
 * replay gives the same room. ack_to (may be NULL) gets the ack with ack_id
 * once it is durable. Returns 0 or the refusal (nothing changed).
 */
static int dispatch_system_cmd(struct server *s, struct hub_group *g, int sender,
                               struct room_cmd *cmd, const char *why, struct conn *ack_to,
                               const char *ack_id)
{
    char uuid[AUTH_UUID_LEN + 1];
    int rc;

    auth_uuid_new(uuid);
    snprintf(cmd->id, sizeof(cmd->id), "%s-%s", why, uuid);
    rc = dispatch_apply(s, g, NULL, sender, cmd, server_now_ms(s));
    if (rc)
        return rc;
    /* Behind the record just submitted (and its events), like a member's
     * own ack. */
    if (ack_to && dispatch_wait_push(s, s->next_token, WAITS_WS, ack_to,
                                     proto_ack_json(ack_id, g->room->seq, false)))
        log_err("out of memory for a pending ack");
    return 0;
}

/* May member i of r stand in for the facilitator: present in the room, not
 * removed, not an observer, not the client? */
static bool dispatch_may_stand_in(const struct room *r, int i)
{
    const struct room_consultation *k = room_consultation_current(r);

    return i >= 0 && (size_t)i < r->nmembers && i != r->facilitator &&
           !r->members[i].removed && !r->members[i].observer &&
           r->members[i].online > 0 && !(k && k->client == i);
}

void dispatch_facilitator_absent(struct server *s, struct hub_group *g)
{
    struct room *r = g->room;
    struct group_edge *e = g->edge;
    struct room_cmd cmd = {.type = CMD_FACILITATOR_HANDOVER, .variant = HANDOVER_AUTO};
    int f, rc;

    if (!r || !e || r->step == STEP_CLOSED || r->facilitator < 0)
        return;
    f = r->facilitator;
    if (r->members[f].online > 0)
        return;
    if (dispatch_may_stand_in(r, r->cofacilitator)) {
        cmd.target = r->members[r->cofacilitator].id;
        rc = dispatch_system_cmd(s, g, f, &cmd, "auto", NULL, NULL);
        if (rc)
            log_warn("group %s: facilitator away, no handover: %s", g->id,
                     codev_err_name(rc));
        else
            log_info("group %s: facilitator away %u s, the co-facilitator takes over",
                     g->id, s->cfg->facilitator_grace_s);
        return;
    }
    /* No co-facilitator at hand: the longest-serving member present (the
     * group's order, which is the room's) is asked. */
    for (size_t i = 0; i < r->nmembers; i++) {
        if (!dispatch_may_stand_in(r, (int)i))
            continue;
        e->offered = (int)i;
        for (struct conn *c = e->conns; c; c = c->next)
            if (!c->display && strcmp(c->member_id, r->members[i].id) == 0)
                conn_send(s, c, proto_facilitator_offer_json(r->members[f].id, true));
        log_info("group %s: facilitator away %u s, the role is offered to a member",
                 g->id, s->cfg->facilitator_grace_s);
        return;
    }
}

/* facilitator_accept: the member the edge offered the role takes it, as the
 * absent facilitator's handover (reason "offer", journaled). */
static void handle_facilitator_accept(struct server *s, struct conn *c,
                                      const struct proto_msg *msg)
{
    struct hub_group *g = c->group;
    struct room *r = g->room;
    struct group_edge *e = g->edge;
    struct room_cmd cmd = {.type = CMD_FACILITATOR_HANDOVER, .variant = HANDOVER_OFFER};
    int idx = conn_member_idx(c), rc;

    if (!r) {
        conn_error(s, c, msg->id, CODEV_E_NO_SESSION);
        return;
    }
    if (!e || idx < 0 || e->offered != idx || r->step == STEP_CLOSED ||
        r->members[r->facilitator].online > 0 || !dispatch_may_stand_in(r, idx)) {
        conn_error(s, c, msg->id, CODEV_E_NO_OFFER);
        return;
    }
    cmd.target = r->members[idx].id;
    rc = dispatch_system_cmd(s, g, r->facilitator, &cmd, "offer", c, msg->id);
    if (rc)
        conn_error(s, c, msg->id, rc);
}

static void handle_command(struct server *s, struct conn *c, const struct proto_msg *msg)
{
    struct hub_group *g = c->group;
    int idx, rc;

    if (!g->room) {
        conn_error(s, c, msg->id, CODEV_E_NO_SESSION);
        return;
    }
    idx = conn_member_idx(c);
    if (idx < 0) {
        conn_error(s, c, msg->id, CODEV_E_MEMBER_REMOVED);
        return;
    }
    rc = dispatch_apply(s, g, c, idx, &msg->cmd, server_now_ms(s));
    if (rc) {
        log_debug("conn %llu: %s refused: %s", (unsigned long long)c->id,
                  room_cmd_name(msg->cmd.type), codev_err_name(rc));
        conn_error(s, c, msg->id, rc);
    }
}

static bool bucket_take(struct bucket *b, double rate, double burst, int64_t now);

/* question_check: a read-only query. The room says whether the sender may
 * ask this text now and whether it looks like advice; the ack goes at
 * once: no sequence number, no idempotence ring, no journal, no commit to
 * wait for, nothing broadcast. Its own bucket (question_checks_per_sec)
 * bounds a page that checks on every keystroke pause. */
static void handle_question_check(struct server *s, struct conn *c,
                                  const struct proto_msg *msg)
{
    struct room *r = c->group->room;
    struct advice_result res;
    double rate = s->cfg->question_checks_per_sec;
    int rc;

    if (!bucket_take(&c->checks, rate, rate, server_now_ms(s))) {
        conn_error(s, c, msg->id, CODEV_E_RATE_LIMITED);
        return;
    }
    if (!r) {
        conn_error(s, c, msg->id, CODEV_E_NO_SESSION);
        return;
    }
    rc = room_question_check(r, conn_member_idx(c), msg->cmd.text, &res);
    if (rc == CODEV_E_UNKNOWN_MEMBER)
        rc = CODEV_E_MEMBER_REMOVED; /* as handle_command answers it */
    if (rc) {
        conn_error(s, c, msg->id, rc);
        return;
    }
    conn_send(s, c, proto_check_ack_json(msg->id, &res));
}

/* Refills b at rate tokens a second, up to burst, then takes one token if
 * there is one. */
static bool bucket_take(struct bucket *b, double rate, double burst, int64_t now)
{
    if (!b->ms)
        b->tokens = burst;
    else
        b->tokens += (double)(now - b->ms) * rate / 1000.0;
    if (b->tokens > burst)
        b->tokens = burst;
    b->ms = now;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

/* Takes one token from the connection's command bucket. */
static bool conn_rate_ok(struct server *s, struct conn *c)
{
    return bucket_take(&c->commands, s->cfg->commands_per_sec, s->cfg->commands_burst,
                       server_now_ms(s));
}

void dispatch_message(struct server *s, struct conn *c, const char *buf, size_t len)
{
    struct proto_error err;
    struct proto_msg msg;

    /* Decode first so that a refusal carries the command id: the client
     * then knows which command to resend. Decoding is bounded by the size
     * limit, so a flood costs no more than the frames themselves. */
    if (proto_decode(buf, len, &s->limits, &msg, &err)) {
        if (!conn_rate_ok(s, c)) {
            conn_error(s, c, err.id, CODEV_E_RATE_LIMITED);
            return;
        }
        log_debug("conn %llu: bad message: %s", (unsigned long long)c->id,
                  codev_err_name(err.code));
        conn_send(s, c, proto_error_json(&err));
        return;
    }
    if (!conn_rate_ok(s, c) || c->inflight >= SERVER_INFLIGHT_MAX) {
        conn_error(s, c, msg.id, CODEV_E_RATE_LIMITED);
        proto_msg_release(&msg);
        return;
    }
    if (msg.kind == PROTO_HELLO) {
        if (c->group)
            conn_error(s, c, NULL, CODEV_E_ALREADY_HELLO);
        else
            handle_hello(s, c, &msg);
    } else if (!c->group) {
        conn_error(s, c, msg.id, CODEV_E_HELLO_REQUIRED);
    } else if (c->display) {
        conn_error(s, c, msg.id, CODEV_E_DISPLAY_READ_ONLY);
    } else if (msg.kind == PROTO_SESSION_OPEN) {
        handle_session_open(s, c, &msg);
    } else if (msg.cmd.type == CMD_QUESTION_CHECK) {
        handle_question_check(s, c, &msg);
    } else if (msg.kind == PROTO_FACILITATOR_ACCEPT) {
        handle_facilitator_accept(s, c, &msg);
    } else {
        handle_command(s, c, &msg);
    }
    proto_msg_release(&msg);
}
