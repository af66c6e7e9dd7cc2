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
 *   - Nothing is acknowledged before it is durable: every accepted command,
 *     and every HTTP call that changes a group (http.c), is submitted to the
 *     store, and its answer waits in server.waits (waits.c keeps the order)
 *     until store_drain reports the commit. Others see the events at once.
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

#define CLOSE_MEMBER_REMOVED 4001 /* application close codes (4000-4999) */
#define CLOSE_GROUP_DELETED  4003
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

/* Puts c in g's list of attached connections, making g's edge state on the
 * first. Returns 0, or CODEV_E_INTERNAL (out of memory: c not attached). */
static int group_attach(struct conn *c, struct hub_group *g)
{
    struct group_edge *e = g->edge;

    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return CODEV_E_INTERNAL;
        e->group = g;
        g->edge = e;
    }
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
}

void dispatch_conn_closed(struct server *s, struct conn *c)
{
    struct hub_group *g = c->group;

    if (!g)
        return;
    conn_online(s, c, -1);
    group_detach(c);
    timer_group_update(s, g);
}

/* A session was opened in g: count everyone online in the new room and send
 * each connection its own snapshot. */
void dispatch_session_opened(struct server *s, struct hub_group *g)
{
    int64_t now = server_now_ms(s);

    for (struct conn *c = group_conns(g); c; c = c->next) {
        int idx = conn_member_idx(c);
        if (idx >= 0)
            room_member_set_online(g->room, idx, +1);
    }
    for (struct conn *c = group_conns(g); c; c = c->next)
        conn_send(s, c, proto_session_opened_json(g->room, conn_member_idx(c), now));
    timer_group_update(s, g);
    log_info("group %s: session %s opened", g->id, g->room->session_id);
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
    timer_group_update(s, g);
    log_info("group %s: deleted (%s)", g->id, why);
    hub_group_delete(s->hub, g);
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

/* waits_release_fn: delivers the answer of a wait whose record committed
 * (rc 0) or failed. */
static void wait_release(void *arg, struct wait *e, int rc)
{
    struct server *s = arg;
    json_t *msg = e->msg;

    if (e->kind == WAITS_WS && e->owner) {
        struct conn *c = e->owner;
        c->inflight--;
        if (rc == 0) {
            conn_send(s, c, msg);
            msg = NULL;
        } else {
            conn_error(s, c, json_string_value(json_object_get(msg, "id")),
                       CODEV_E_INTERNAL);
        }
    } else if (e->kind == WAITS_HTTP && e->owner) {
        struct http_req *h = e->owner;
        if (rc) {
            size_t len;
            json_t *err = http_api_error_json(CODEV_E_INTERNAL);
            unsigned char *buf = proto_dump(err, LWS_PRE, &len);
            json_decref(err);
            free(h->resp);
            h->resp = buf;
            h->resp_len = len;
            h->status = 500;
        }
        h->waiting = false;
        lws_callback_on_writable(h->wsi);
    }
    json_decref(msg);
}

/* store_drain callback: the record with this token is committed (or failed). */
void dispatch_committed(void *arg, uint64_t token, int rc)
{
    struct server *s = arg;

    if (rc)
        log_err("store: record %llu failed: %s", (unsigned long long)token,
                codev_err_name(rc));
    if (waits_commit(&s->waits, token, rc, wait_release, s))
        log_err("store reported token %llu out of order", (unsigned long long)token);
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

static void handle_hello(struct server *s, struct conn *c, const struct proto_msg *msg)
{
    struct hub_group *g = hub_group_find(s->hub, msg->group_id);
    const struct hub_member *m;

    if (!g) {
        conn_error(s, c, NULL, CODEV_E_UNKNOWN_GROUP);
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
    conn_send_welcome(s, c, g, m, server_now_ms(s));
    log_info("conn %llu: attached to group %s as member %s (last_seq %lld)",
             (unsigned long long)c->id, g->id, m->id, (long long)msg->last_seq);
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
        conn_error(s, c, msg->id, CODEV_E_INTERNAL);
    } else if (dispatch_wait_push(s, token, WAITS_WS, c,
                                  proto_ack_json(msg->id, g->room->seq, false))) {
        log_err("out of memory for a pending ack");
    }
    dispatch_session_opened(s, g);
}

/* Journals an accepted command (and the close it caused); the sender's ack
 * waits for the commit. */
static void dispatch_journal(struct server *s, struct conn *c, struct hub_group *g,
                             int idx, const struct room_cmd *cmd, int64_t now,
                             uint64_t seq, bool closed)
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
        log_err("group %s: command seq %llu not journaled: %s", g->id,
                (unsigned long long)seq, codev_err_name(rc));
        conn_error(s, c, cmd->id, CODEV_E_INTERNAL);
        return;
    }
    if (closed) {
        log_info("group %s: session %s closed", g->id, g->room->session_id);
        dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL);
        token = ++s->next_token;
        rc = store_submit_session_close(s->store, g, now, token);
        if (rc) {
            /* store_load finishes a close whose record is missing. */
            log_err("group %s: close not journaled: %s", g->id, codev_err_name(rc));
            conn_send(s, c, proto_ack_json(cmd->id, seq, false));
            return;
        }
    }
    if (dispatch_wait_push(s, token, WAITS_WS, c, proto_ack_json(cmd->id, seq, false)))
        log_err("out of memory for a pending ack");
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
    struct room *r = g->room;
    struct room_cmd cmd = {.type = CMD_ROUND_SKIP, .variant = 1};
    char uuid[AUTH_UUID_LEN + 1], order[ROOM_ROUND_TEXT_MAX];
    uint64_t seq = 0, token;
    bool dup = false;
    int rc;

    if (!r || r->facilitator < 0 || store_is_full(s->store))
        return; /* tried again at the next tick */
    auth_uuid_new(uuid);
    snprintf(cmd.id, sizeof(cmd.id), "turn-expire-%s", uuid);
    rc = room_apply(r, r->facilitator, &cmd, now, &seq, &dup);
    if (rc || dup) {
        room_outbox_clear(r);
        log_warn("group %s: expired turn not moved on: %s", g->id, codev_err_name(rc));
        return;
    }
    for (size_t i = 0; i < r->nout; i++)
        group_send(s, g, proto_event_json(r, &r->out[i], now), &r->out[i], NULL);
    room_outbox_clear(r);
    timer_group_update(s, g);
    room_floor_journal_form(r, &cmd, order, sizeof(order));
    token = ++s->next_token;
    if (store_submit_cmd(s->store, r, r->facilitator, &cmd, now, seq, token) ||
        dispatch_wait_push(s, token, WAITS_NONE, NULL, NULL))
        log_err("group %s: expired turn not journaled", g->id);
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

static void handle_command(struct server *s, struct conn *c, const struct proto_msg *msg)
{
    struct hub_group *g = c->group;
    struct room *r = g->room;
    int64_t now = server_now_ms(s);
    uint64_t seq = 0;
    bool dup = false, closed;
    int idx, rc;

    if (!r) {
        conn_error(s, c, msg->id, CODEV_E_NO_SESSION);
        return;
    }
    idx = conn_member_idx(c);
    if (idx < 0) {
        conn_error(s, c, msg->id, CODEV_E_MEMBER_REMOVED);
        return;
    }
    /* Two records at most follow (the command, and the close it may cause):
     * refuse while the journal's queue is full rather than apply what
     * could not be made durable. */
    if (store_is_full(s->store)) {
        conn_error(s, c, msg->id, CODEV_E_RATE_LIMITED);
        return;
    }
    rc = room_apply(r, idx, &msg->cmd, now, &seq, &dup);
    if (rc) {
        log_debug("conn %llu: %s refused: %s", (unsigned long long)c->id,
                  room_cmd_name(msg->cmd.type), codev_err_name(rc));
        conn_error(s, c, msg->id, rc);
        return;
    }
    for (size_t i = 0; i < r->nout; i++)
        group_send_event(s, g, &r->out[i], now);
    for (size_t i = 0; i < r->nout; i++)
        if (r->out[i].type == EV_MEMBER_REMOVED)
            group_close_member(s, g, r->members[r->out[i].member].id);
    closed = r->nout && r->out[r->nout - 1].type == EV_CLOSED;
    room_outbox_clear(r);
    if (dup) {
        conn_ack_after_commits(s, c, proto_ack_json(msg->id, seq, true));
        return;
    }
    hub_sync(s->hub, g);
    timer_group_update(s, g);
    g->room_active_ms = now;
    dispatch_group_save_rotated(s, g, now);
    dispatch_journal(s, c, g, idx, &msg->cmd, now, seq, closed);
    if (msg->cmd.type == CMD_ROUND_START)
        dispatch_round_remember(s, g, now);
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
    } else if (msg.kind == PROTO_SESSION_OPEN) {
        handle_session_open(s, c, &msg);
    } else if (msg.cmd.type == CMD_QUESTION_CHECK) {
        handle_question_check(s, c, &msg);
    } else {
        handle_command(s, c, &msg);
    }
    proto_msg_release(&msg);
}
