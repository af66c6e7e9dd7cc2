/*
 * timer.c - time on the loop: one timerfd at absolute 20 ms deadlines
 * drives the clock ticks (spread over the second in TICK_SLOTS slots), the
 * once-a-second sweep (keep-alive pings, dead peers, hello and HTTP
 * deadlines, the view cache, memory trim) and the lifecycle pass (idle
 * sessions closed, unused groups expired).
 *
 * Invariants:
 *   - No per-connection or per-room timers: lws 4.1 spins before each
 *     lws_sul deadline and keeps its timers in one sorted list.
 *   - A group is in its tick slot exactly while its clock runs and someone
 *     is connected (timer_group_update).
 *   - A group is in server.away while its open session's facilitator has no
 *     connection and someone else is attached, until the grace runs out.
 *   - Nobody connected: the timer falls back to a one-second beat for the
 *     lifecycle pass only, and memory is returned to the system once.
 * Expected load: 50 wake-ups a second while anyone is connected; each
 * serves 1/50 of the ticking rooms; the sweep is O(connections) a second,
 * the lifecycle pass O(groups) every few seconds.
 */
#include "server_internal.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "auth.h"
#include "errors.h"
#include "log.h"
#include "notify.h"

#define CLOSE_HELLO_TIMEOUT  4004 /* application close code (4000-4999) */
#define TIMER_TURNS_PER_SLOT 64   /* expired turns moved on per slot and tick */

/* ---- idle sessions and unused groups ----------------------------------------- */

#define SERVER_LIFECYCLE_BATCH  64    /* groups closed or deleted per pass */
#define SERVER_LIFECYCLE_MAX_MS 60000 /* passes at least this often */
#define SERVER_LIFECYCLE_MIN_MS 1000  /* and at most once a second */

static unsigned tick_slot_of(const struct hub_group *g)
{
    return (unsigned)(util_fnv1a64(g->id) % TICK_SLOTS);
}

/* Puts g in its tick slot while its clock runs or someone has the floor
 * (the tick carries the floor's time) and someone is connected, takes it
 * out otherwise. Call after anything that may change either. */
void timer_group_update(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;
    bool want = e && g->room && (g->room->clock.running || g->room->floor_member >= 0) &&
                e->conns;
    struct group_edge **head = &s->ticking[tick_slot_of(g)];

    if (!e)
        return;
    if (want != e->ticking) {
        if (want) {
            e->tick_prev = NULL;
            e->tick_next = *head;
            if (*head)
                (*head)->tick_prev = e;
            *head = e;
        } else {
            if (e->tick_prev)
                e->tick_prev->tick_next = e->tick_next;
            else
                *head = e->tick_next;
            if (e->tick_next)
                e->tick_next->tick_prev = e->tick_prev;
            e->tick_prev = e->tick_next = NULL;
        }
        e->ticking = want;
    }
    if (!e->conns)
        timer_away_stop(s, g); /* nobody left to take over */
    if (!e->conns && !e->ticking && !e->pending && !e->rollback && !e->away_listed) {
        g->edge = NULL;
        free(e);
    }
}

void timer_away_start(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;

    if (!e || e->away_listed)
        return;
    e->away_mono = server_mono_ms();
    e->away_prev = NULL;
    e->away_next = s->away;
    if (s->away)
        s->away->away_prev = e;
    s->away = e;
    e->away_listed = true;
}

void timer_away_stop(struct server *s, struct hub_group *g)
{
    struct group_edge *e = g->edge;

    if (!e || !e->away_listed)
        return;
    if (e->away_prev)
        e->away_prev->away_next = e->away_next;
    else
        s->away = e->away_next;
    if (e->away_next)
        e->away_next->away_prev = e->away_prev;
    e->away_prev = e->away_next = NULL;
    e->away_listed = false;
}

/* Once a second: the groups whose facilitator has been away for
 * facilitator_grace_s get dispatch_facilitator_absent, once per absence.
 * O(groups with an absent facilitator). */
static void timer_away_sweep(struct server *s, int64_t mono)
{
    int64_t grace = (int64_t)s->cfg->facilitator_grace_s * 1000;
    struct group_edge *e = s->away, *next;

    for (; e; e = next) {
        next = e->away_next;
        if (mono - e->away_mono < grace)
            continue;
        timer_away_stop(s, e->group);
        dispatch_facilitator_absent(s, e->group);
    }
}

/* One pass per slot: the groups of this slot whose step clock runs get
 * their tick, encoded once per room, replacing any tick still waiting in a
 * queue. Each group is served once a second. */
static void timer_tick_slot(struct server *s, unsigned slot, int64_t now)
{
    struct hub_group *due[TIMER_TURNS_PER_SLOT];
    size_t ndue = 0;

    /* Turns over in auto mode move on first (outside the walk: moving on
     * may take the group out of the list); the rest at the next tick. */
    for (struct group_edge *e = s->ticking[slot]; e; e = e->tick_next)
        if (ndue < TIMER_TURNS_PER_SLOT && room_floor_turn_auto_due(e->group->room, now))
            due[ndue++] = e->group;
    for (size_t i = 0; i < ndue; i++)
        dispatch_turn_expire(s, due[i], now);
    for (struct group_edge *e = s->ticking[slot]; e; e = e->tick_next) {
        struct hub_group *g = e->group;
        size_t len;
        unsigned char *buf = proto_tick_dump(g->room, now, LWS_PRE, &len);
        struct fan_msg *m = buf ? fan_msg_take(buf, len, true) : NULL;

        if (!buf) { /* jansson's way, the same bytes */
            json_t *j = proto_tick_json(g->room, now);
            m = j ? fan_msg_new(j, LWS_PRE, true) : NULL;
            json_decref(j);
        }
        if (m) /* at once, or behind the room's records in flight */
            commit_tick(s, g, m);
        fan_msg_unref(m);
    }
}

/* glibc keeps freed memory for reuse; give it back once many connections
 * have gone (a meeting hour ended), so that an idle server shrinks to its
 * baseline. Once nobody is left, timer_fire trims a second later instead,
 * when lws has freed the last connections too. */
static void timer_trim(struct server *s)
{
    if (s->nconns && s->conns_peak >= 1000 && s->nconns < s->conns_peak / 2) {
        log_info("%zu connections (down from %zu): returning free memory", s->nconns,
                 s->conns_peak);
        malloc_trim(0);
        s->conns_peak = s->nconns;
    }
}

/* Keep-alive, once a second: a connection silent for idle_timeout_s gets a
 * ping (again every idle_timeout_s); one silent for min(idle_timeout_s, 10)
 * s more is dropped: only a frame or the pong that answers our last ping
 * (its payload) breaks the silence. A connection whose socket has taken
 * nothing for as long is dropped too, however many frames it sends. One pass over every
 * connection instead of a timer each: lws keeps its timers in a sorted list, and
 * re-sorting them on every pong cost 20-27% of the CPU at 10-18k. */
static void timer_sweep(struct server *s, int64_t mono)
{
    int64_t idle = (int64_t)s->cfg->idle_timeout_s * 1000;
    int64_t hangup = idle + (idle < 10000 ? idle : 10000);
    int64_t hello = (int64_t)s->cfg->hello_timeout_s * 1000;

    for (struct conn *c = s->all; c; c = c->all_next) {
        int64_t silent = mono - c->rx_ms;

        if (c->peer_closing)
            continue;
        if (!c->group && !c->close_code && mono - c->open_ms >= hello) {
            log_info("conn %llu: no hello in %u s, closing", (unsigned long long)c->id,
                     s->cfg->hello_timeout_s);
            conn_error(s, c, NULL, CODEV_E_HELLO_TIMEOUT);
            conn_close_later(c, CLOSE_HELLO_TIMEOUT, "hello_timeout");
        }
        if (silent >= hangup) {
            log_info("conn %llu: no answer to ping, dropping", (unsigned long long)c->id);
            c->peer_closing = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (c->stall_ms && mono - c->stall_ms >= hangup) {
            /* Frames keep coming but the socket takes nothing: a reader
             * that never reads, holding its queue (up to out_queue_bytes). */
            log_info("conn %llu: slow consumer: nothing read for %lld ms, dropping",
                     (unsigned long long)c->id, (long long)(mono - c->stall_ms));
            c->peer_closing = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (silent >= idle && mono - c->ping_ms >= idle) {
            c->ping_ms = mono;
            c->ping_due = true;
            conn_dirty(s, c);
        }
    }
    timer_away_sweep(s, mono);
    peer_sweep(s, mono);
    http_bodies_sweep(s, mono);
    dispatch_views_trim(s, false);
    commit_store_sweep(s);
    timer_trim(s);
}

/* Milliseconds between two passes: a quarter of the shorter idle delay,
 * within [SERVER_LIFECYCLE_MIN_MS, SERVER_LIFECYCLE_MAX_MS]. */
static int64_t timer_lifecycle_period(const struct server *s)
{
    int64_t shortest = (int64_t)s->cfg->session_idle_close_s * 1000 / 4,
            expire = (int64_t)s->cfg->group_idle_expire_s * 1000 / 4;

    if (expire < shortest)
        shortest = expire;
    if (shortest < SERVER_LIFECYCLE_MIN_MS)
        return SERVER_LIFECYCLE_MIN_MS;
    return shortest > SERVER_LIFECYCLE_MAX_MS ? SERVER_LIFECYCLE_MAX_MS : shortest;
}

/*
 * Closes g's open session, idle for session_idle_close_s: a session_close
 * from its facilitator, applied, sent and journaled exactly as if they had
 * sent it, so that the close events reach the members connected and the
 * retention runs at the close.
 */
static void group_close_idle(struct server *s, struct hub_group *g, int64_t now)
{
    struct room_cmd cmd = {.type = CMD_SESSION_CLOSE};
    char uuid[AUTH_UUID_LEN + 1];
    int rc;

    /* A fresh id: a client may send any id, and one equal to ours would
     * make our close a duplicate of theirs. */
    auth_uuid_new(uuid);
    snprintf(cmd.id, sizeof(cmd.id), "idle-close-%s", uuid);
    rc = g->room->facilitator < 0
             ? CODEV_E_INTERNAL
             : dispatch_apply(s, g, NULL, g->room->facilitator, &cmd, now);
    if (rc) {
        log_warn("group %s: idle session %s not closed: %s", g->id, g->room->session_id,
                 codev_err_name(rc));
        g->room_active_ms = now; /* try again after another idle period */
        return;
    }
    log_info("group %s: session %s closed after %u s without a command", g->id,
             g->room->session_id, s->cfg->session_idle_close_s);
}

/* Deletes g, which never opened a session and was idle group_idle_expire_s. */
static void group_expire(struct server *s, struct hub_group *g)
{
    uint64_t token = ++s->next_token;

    if (store_submit_group_delete(s->store, g->id, token) ||
        commit_wait_push(s, token, WAITS_NONE, NULL, NULL)) {
        log_err("group %s: expiry not journaled", g->id);
        return;
    }
    dispatch_group_drop(s, g, "never opened a session, expired");
}

/*
 * One pass over the groups (cheap: a comparison or two per group): open
 * sessions idle for session_idle_close_s are closed, groups that never
 * opened a session, idle for group_idle_expire_s and with nobody connected
 * are deleted; SERVER_LIFECYCLE_BATCH of each at most, the rest at the next
 * pass. Also saves an invite that start-up replaced. Runs at start and from
 * the timer, which keeps a slow beat while nobody is connected.
 */
void timer_lifecycle(struct server *s)
{
    struct hub_group *close[SERVER_LIFECYCLE_BATCH], *expire[SERVER_LIFECYCLE_BATCH];
    size_t nclose = 0, nexpire = 0;
    int64_t now = server_now_ms(s),
            idle_ms = (int64_t)s->cfg->session_idle_close_s * 1000,
            expire_ms = (int64_t)s->cfg->group_idle_expire_s * 1000;

    for (size_t b = 0; b < s->hub->nbuckets; b++) {
        for (struct hub_group *g = s->hub->buckets[b]; g; g = g->next) {
            dispatch_group_save_rotated(s, g, now);
            if (g->room && g->room->step != STEP_CLOSED) {
                if (now - g->room_active_ms >= idle_ms && nclose < SERVER_LIFECYCLE_BATCH)
                    close[nclose++] = g;
            } else if (!g->opened_once && !g->room && !group_conns(g) &&
                       now - g->active_ms >= expire_ms &&
                       nexpire < SERVER_LIFECYCLE_BATCH) {
                expire[nexpire++] = g;
            }
        }
    }
    /* Each close submits two records, each expiry one. */
    for (size_t i = 0; i < nclose && !store_is_full(s->store); i++)
        group_close_idle(s, close[i], now);
    for (size_t i = 0; i < nexpire && !store_is_full(s->store); i++)
        group_expire(s, expire[i]);
}

/* The timerfd fired: serve each slot whose deadline passed (more than one
 * only when the loop was late), and sweep once a second. */
static void timer_fire(struct server *s)
{
    uint64_t expired = 0;
    int64_t now = server_now_ms(s), mono = server_mono_ms();

    if (read(s->timer_fd, &expired, sizeof(expired)) != (ssize_t)sizeof(expired))
        return;            /* EAGAIN: nothing due */
    notify_watchdog(mono); /* the loop turns: at least once a second */
    if (s->timer_on)
        metrics_tick_late(expired, TICK_SLOT_US);
    if (expired > TICK_SLOTS)
        expired = TICK_SLOTS; /* a tick per room is enough to catch up */
    while (expired--) {
        timer_tick_slot(s, s->tick_slot, now);
        if (s->tick_slot == 0)
            timer_sweep(s, mono);
        s->tick_slot = (s->tick_slot + 1) % TICK_SLOTS;
    }
    if (mono - s->lifecycle_mono >= timer_lifecycle_period(s)) {
        s->lifecycle_mono = mono;
        timer_lifecycle(s);
    }
    /* Nobody connected: nothing ticks (a room ticks only for its
     * connections), nobody needs a ping and no HTTP deadline runs. */
    if (s->nconns || s->peers || s->peers_upgraded) {
        s->idle_passes = 0;
    } else if (++s->idle_passes >= TICK_SLOTS) {
        /* A second with nobody: lws has freed the last connections too
         * (on libuv, after their handles closed). Return the memory once,
         * then sleep until someone comes. */
        if (s->busy_since_idle) {
            log_info("no connections: returning free memory");
            malloc_trim(0);
        }
        s->busy_since_idle = false;
        s->conns_peak = 0;
        s->idle_passes = 0;
        timer_arm(s, false);
    }
}

int timer_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                   void *in, size_t len)
{
    struct server *s = server_of(wsi);

    (void)user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* not a WebSocket subprotocol */
    case LWS_CALLBACK_RAW_RX_FILE:
        timer_fire(s);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        s->timer_fd = -1; /* lws closes it */
        return 0;
    default:
        return 0;
    }
}

/* Starts (on) or stops the timer: absolute deadlines every TICK_SLOT_US
 * (no drift, whatever the loop's own timeout rounding). It runs only while
 * someone is connected: an empty server never wakes up. */
int timer_arm(struct server *s, bool on)
{
    struct itimerspec its = {0};
    struct timespec now;
    int64_t ns;

    if (on == s->timer_on || s->timer_fd < 0)
        return 0;
    if (on) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        ns = ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec) / (TICK_SLOT_US * 1000LL) *
                 (TICK_SLOT_US * 1000LL) +
             TICK_SLOT_US * 1000LL;
        its.it_value.tv_sec = ns / 1000000000;
        its.it_value.tv_nsec = ns % 1000000000;
        its.it_interval.tv_nsec = TICK_SLOT_US * 1000L;
    } else {
        /* Nobody connected: a slow beat, for timer_lifecycle only. */
        its.it_value.tv_sec = SERVER_LIFECYCLE_MIN_MS / 1000;
        its.it_interval.tv_sec = SERVER_LIFECYCLE_MIN_MS / 1000;
    }
    if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL)) {
        log_err("timerfd_settime: %s", strerror(errno));
        return -1;
    }
    s->timer_on = on;
    return 0;
}

/* The timerfd, adopted into the loop like a socket; armed on the first
 * connection. */
int timer_start(struct server *s)
{
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "codevd");
    lws_sock_file_fd_type fd;

    s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->timer_fd < 0) {
        log_err("timerfd_create: %s", strerror(errno));
        return -1;
    }
    fd.filefd = s->timer_fd;
    if (!vh || !lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd, "codev-timer",
                                           NULL)) {
        log_err("cannot add the timer to the event loop");
        s->timer_fd = -1; /* whether lws closed it is not said: leak rather than
                           * risk closing another descriptor twice */
        return -1;
    }
    s->timer_on = true; /* so that the next call sets the slow beat */
    return timer_arm(s, false);
}
