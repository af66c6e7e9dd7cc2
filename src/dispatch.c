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
 *   - Nothing anyone sees is ahead of the disk: an accepted command's
 *     events are held until its record commits, and a room view goes only
 *     when the room has nothing in flight (commit.c does both).
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
#define CLOSE_MOVED           4009 /* a cluster: another node holds the group */
/* Commands a connection may have unanswered (sent, ack still waiting for
 * the journal). Half of ROOM_SEEN_MAX: a client that reconnects and resends
 * all of them, while another tab of the same member does the same, still
 * finds every id in the member's memory of accepted commands. */
#define SERVER_INFLIGHT_MAX (ROOM_SEEN_MAX / 2)

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
void dispatch_send_welcome(struct server *s, struct conn *c, struct hub_group *g,
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
struct group_edge *dispatch_group_edge(struct hub_group *g)
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
    struct group_edge *e = dispatch_group_edge(g);

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
        char ref[AUTH_UUID_LEN + 1], *comment;
        struct room_cmd cmd;

        for (size_t j = 0; j < g->nplans; j++)
            if (g->plans[j].pre_debriefed && strcmp(g->plans[j].id, d->id) == 0)
                p = &g->plans[j];
        if (!p)
            continue;
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = CMD_DEBRIEF_POST;
        snprintf(cmd.id, sizeof(cmd.id), "advance-%s", p->id);
        /* Copies: applying syncs the hub, which drops the advance copy
         * (p's comment) before the command is journaled. */
        memcpy(ref, p->id, sizeof(ref));
        comment = util_strdup_or_null(p->pre_comment);
        if (p->pre_comment && !comment)
            continue;
        cmd.ref = ref;
        cmd.variant = p->pre_outcome;
        cmd.text = comment;
        if (dispatch_apply(s, g, NULL, d->client, &cmd, now))
            log_info("group %s: a debrief posted in advance is left for the session",
                     g->id);
        free(comment);
    }
    hub_sync(s->hub, g);
    token = ++s->next_token;
    if (store_submit_life(s->store, g, now, token) ||
        commit_wait_push(s, token, WAITS_NONE, NULL, NULL))
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
     * commits: commit_settled. */
    if (commit_hold(s, g, token, NULL))
        log_err("group %s: out of memory holding the session's opening", g->id);
    timer_group_update(s, g);
    log_info("group %s: session %s opened", g->id, g->room->session_id);
    dispatch_session_prefill(s, g, server_now_ms(s));
}

/* Closes every connection of a member who was removed. */
void dispatch_close_member(struct server *s, struct hub_group *g, const char *member_id)
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
static void group_drop(struct server *s, struct hub_group *g, int err, int code,
                       const char *why)
{
    while (group_conns(g)) {
        struct conn *c = group_conns(g);
        conn_error(s, c, NULL, err);
        conn_close_later(c, code, codev_err_name(err));
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
    log_info("group %s: %s", g->id, why);
    hub_group_delete(s->hub, g);
}

void dispatch_group_drop(struct server *s, struct hub_group *g, const char *why)
{
    char line[160];

    snprintf(line, sizeof(line), "deleted (%s)", why);
    group_drop(s, g, CODEV_E_GROUP_DELETED, CLOSE_GROUP_DELETED, line);
}

/* Why a change to g is refused now (commit_store_ready said no): moved
 * once another node took g (a cluster), else the store fails. */
static int dispatch_not_ready(const struct hub_group *g)
{
    const struct group_edge *e = g ? g->edge : NULL;

    return e && e->moved ? CODEV_E_MOVED : CODEV_E_STORE_UNAVAILABLE;
}

void dispatch_group_moved(struct server *s, struct hub_group *g)
{
    char id[AUTH_UUID_LEN + 1];

    memcpy(id, g->id, sizeof(id));
    metrics_add(MC_CLUSTER_MOVED, 1);
    group_drop(s, g, CODEV_E_MOVED, CLOSE_MOVED,
               "held by another node now: dropped, its connections closed (4009 moved)");
    store_lease_forget(s->store, id);
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
        c->owed = OWED_DISPLAY; /* commit_settled sends it */
    else
        conn_send(s, c, proto_display_welcome_json(g, server_now_ms(s)));
    log_info("conn %llu: attached to group %s as a display (%u)",
             (unsigned long long)c->id, g->id, n + 1);
}

static void handle_hello(struct server *s, struct conn *c, const struct proto_msg *msg)
{
    int err;
    struct hub_group *g = cluster_group(s, msg->group_id, &err);
    const struct hub_member *m;
    const struct room *r;
    struct group_edge *e;
    int idx;

    if (!g) {
        /* moved: another node holds the group (a cluster); reconnecting
         * through the router (with ?group=) reaches it. */
        conn_error(s, c, NULL, err);
        if (err == CODEV_E_MOVED)
            conn_close_later(c, CLOSE_MOVED, "moved");
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
        c->owed = OWED_WELCOME; /* commit_settled sends it */
    else
        dispatch_send_welcome(s, c, g, m, server_now_ms(s));
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
    if (!commit_store_ready(s, g)) {
        conn_error(s, c, msg->id, dispatch_not_ready(g));
        return;
    }
    rc = hub_session_open(s->hub, g, server_now_ms(s));
    if (rc) {
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
    if (commit_wait_push(s, token, WAITS_WS, c,
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
    rc = store_submit_group_cmd(s->store, g->id, g->room, idx, &journaled, now, seq,
                                token);
    if (rc) {
        struct group_edge *e = dispatch_group_edge(g);
        log_err("group %s: command seq %llu not journaled: %s", g->id,
                (unsigned long long)seq, codev_err_name(rc));
        commit_held_free(h);
        if (e) {
            e->rollback = true;
            if (!e->pending)
                commit_settled(s, g);
        }
        return CODEV_E_STORE_UNAVAILABLE;
    }
    if (commit_hold(s, g, token, h))
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
            commit_wait_push(s, token, WAITS_NONE, NULL, NULL);
        }
    }
    if (c && commit_wait_push(s, token, WAITS_WS, c, proto_ack_json(cmd->id, seq, false)))
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
        commit_wait_push(s, token, WAITS_NONE, NULL, NULL))
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
    if (commit_wait_push(s, token, WAITS_NONE, NULL, NULL))
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
    if (!commit_store_ready(s, g))
        return dispatch_not_ready(g);
    rc = room_apply(r, idx, cmd, now, &seq, &dup);
    if (rc) {
        room_outbox_clear(r);
        return rc;
    }
    if (dup) {
        room_outbox_clear(r);
        if (c)
            commit_ack_after(s, c, proto_ack_json(cmd->id, seq, true));
        return 0;
    }
    closed = r->nout && r->out[r->nout - 1].type == EV_CLOSED;
    for (size_t i = 0; i < r->nout; i++)
        ends_offer |= r->out[i].type == EV_FACILITATOR || r->out[i].type == EV_CLOSED;
    h = commit_outbox_take(r, now);
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
    if (ack_to && commit_wait_push(s, s->next_token, WAITS_WS, ack_to,
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
    metrics_cmd_begin(c, METRICS_CMD_INVALID);
    if (proto_decode(buf, len, &s->limits, &msg, &err)) {
        if (!conn_rate_ok(s, c)) {
            conn_error(s, c, err.id, CODEV_E_RATE_LIMITED);
            return;
        }
        log_debug("conn %llu: bad message: %s", (unsigned long long)c->id,
                  codev_err_name(err.code));
        metrics_cmd_error(c, err.code);
        conn_send(s, c, proto_error_json(&err));
        return;
    }
    metrics_cmd_begin(c, observe_msg_type(&msg));
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
    metrics_cmd_end(c);
}
