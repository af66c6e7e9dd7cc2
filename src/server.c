/*
 * server.c - libwebsockets wiring: mounts, the HTTP API, the codev.v1
 * WebSocket protocol, fan-out to connections, the clock ticks.
 *
 * Invariants:
 *   - lws does not listen: listener.c does, and each accepted connection
 *     is counted (struct peer, the opaque user data of its network wsi,
 *     from server_peer_adopt to LWS_CALLBACK_WSI_DESTROY) against
 *     connections_max and connections_per_ip before lws gets it. The
 *     once-a-second sweep enforces the absolute HTTP deadlines (headers
 *     per connection, body per request) and hello_timeout_s.
 *   - Everything runs on the one lws service thread.
 *   - One event is encoded once and shared by every recipient's queue
 *     (fan_queue, fanout.c). A push only marks the connection dirty; once
 *     per loop iteration, just before the loop sleeps (server_flush), each
 *     dirty connection writes what it has, several messages as one array
 *     frame, straight to its socket. The busier the loop, the more each
 *     frame carries. Only a connection whose socket is full (lws buffered
 *     part of a frame) waits for LWS_CALLBACK_SERVER_WRITEABLE: toggling
 *     POLLOUT for every frame would cost two epoll_ctl calls per frame.
 *   - Time comes from one timerfd in the loop, at absolute 20 ms
 *     deadlines: clock ticks (spread over the second), keep-alive pings and
 *     dead-peer sweeps. No per-connection timers.
 *   - A connection is "attached" once its hello succeeded: it is then in its
 *     group's list (hub_group.conns) and counted online in the room.
 *   - The pss (struct conn) is never freed here; what it points to is
 *     released in LWS_CALLBACK_CLOSED.
 *   - Nothing is acknowledged before it is durable: every accepted command,
 *     and every HTTP call that changes a group, is submitted to the store
 *     (store.c, whose writer thread commits in groups), and the sender's ack
 *     or the HTTP answer waits in server.waits until store_drain reports the
 *     commit. Others see the events at once.
 * Expected load: thousands of connections, tens of thousands of events per
 * second; per-event work is O(recipients) queue pushes.
 */
#include "server.h"

#include "codevd_config.h"

#include <errno.h>
#if defined(CODEVD_HAVE_LIBUV)
#include <uv.h> /* before libwebsockets.h, which then declares its libuv helpers */
#endif
#include <libwebsockets.h>
#include <malloc.h>
#include <pthread.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "errors.h"
#include "fanout.h"
#include "http_api.h"
#include "hub.h"
#include "listener.h"
#include "log.h"
#include "protocol.h"
#include "ratelimit.h"
#include "store.h"
#include "waits.h"

#if defined(CODEVD_HAVE_LIBUV) && defined(LWS_WITH_LIBUV)
#define SERVER_UV 1 /* the event_loop setting can choose epoll (libuv) */
#endif

/* lws_write's close-frame type: private in lws 4.1 (LWS_WRITE_CLOSE in
 * roles/ws/private-lib-roles-ws.h, 4 since lws 1.x), see conn_send_close. */
#define SERVER_WRITE_CLOSE ((enum lws_write_protocol)4)
#define SERVER_SCRATCH     (256 * 1024) /* batch frame buffer, LWS_PRE included */
#define SERVER_MAX_FRAME   (64 * 1024)  /* bytes of one batched frame */
/* Ticks are spread over the second: a group ticks in one of TICK_SLOTS
 * slots (by its id), and one pass every 1/TICK_SLOTS s serves one slot, so
 * thousands of rooms never tick in the same instant. */
#define TICK_SLOTS           50
#define TICK_SLOT_US         (1000 * 1000 / TICK_SLOTS)
#define CLOSE_MEMBER_REMOVED 4001 /* application close codes (4000-4999) */
#define CLOSE_SLOW_CONSUMER  4002
#define CLOSE_GROUP_DELETED  4003
/* Commands a connection may have unanswered (sent, ack still waiting for
 * the journal). Half of ROOM_SEEN_MAX: a client that reconnects and resends
 * all of them, while another tab of the same member does the same, still
 * finds every id in the member's memory of accepted commands. */
#define SERVER_INFLIGHT_MAX   (ROOM_SEEN_MAX / 2)
#define CLOSE_TRY_AGAIN_LATER 1013 /* RFC 6455 registry: try again later */
#define SERVER_IP_BUCKETS     1024
#define CLOSE_HELLO_TIMEOUT   4004
/* Connections over a limit are still accepted to be told so (a 503, or an
 * error frame and close 1013), up to this many at once; beyond, they are
 * closed at accept. */
#define SERVER_REFUSING_MAX 64
#define SERVER_ACCEPT_BATCH 64 /* accepts per wake-up of a listening socket */
/* Forward-secret AEAD suites only, for TLS 1.2 (TLS 1.3 has nothing else). */
#define SERVER_TLS12_CIPHERS                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                         \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                         \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SERVER_PING_LEN 16 /* a ping's payload: 8 random bytes in hex */
/* A message larger than one frame (a welcome) goes out as fragments of this
 * size, each copied to the scratch buffer when the socket takes it, so that
 * lws never holds more than one slice per connection (it copies what the
 * socket refuses) and the message itself stays shared. */
#define SERVER_SLICE (64 * 1024)
/* Encoded room views (the snapshot without its clock) kept for joiners
 * arriving together: keyed by session, room version and viewer; an entry
 * no connection still writes is dropped by the next sweep. */
#define SERVER_VIEW_SLOTS 16

/* A token bucket. Zeroed, it is full on first use. */
struct bucket {
    double tokens;
    int64_t ms; /* last refill, 0 = never used */
};

/* The connections of one peer address. */
struct ip_count {
    char ip[48];
    uint32_t n;      /* accepted connections (HTTP, WebSocket, TLS) */
    uint32_t unauth; /* WebSockets that have not said hello */
    struct ip_count *next;
};

/* Where an accepted connection stands, for the HTTP deadlines. */
enum peer_state {
    PEER_WAITING,   /* for a request's headers: http_header_timeout_s */
    PEER_ANSWERING, /* the headers are in (the body has its own deadline) */
    PEER_UPGRADED,  /* a WebSocket, or HTTP/2 (lws keeps its streams) */
};

/* One accepted TCP connection, from listener_accept to LWS_CALLBACK_WSI_DESTROY
 * of its network wsi (whose opaque user data it is). */
struct peer {
    struct lws *wsi;     /* the network wsi; NULL before adoption */
    struct ip_count *ip; /* its address's counts; NULL when refusing */
    enum peer_state state;
    bool refusing;    /* over a limit: told so, then closed */
    bool adopting;    /* inside lws_adopt_descriptor_vhost_via_info */
    bool created;     /* lws made a wsi for it: LWS_CALLBACK_WSI_DESTROY will come */
    bool gone;        /* lws destroyed its wsi while adopting */
    bool killed;      /* a deadline passed: lws closes it */
    int64_t since_ms; /* monotonic ms the state's deadline counts from */
    struct peer *prev, *next; /* server.peers */
};

struct conn {
    struct lws *wsi;
    uint64_t id;             /* for logs */
    struct hub_group *group; /* set once attached */
    char member_id[AUTH_UUID_LEN + 1];
    const struct room *idx_room; /* room the cached index belongs to */
    int idx;                     /* member index in idx_room */
    struct conn *prev, *next;    /* the group's list */
    struct fan_queue q;
    unsigned char *rx; /* message being reassembled */
    size_t rx_len;
    bool rx_discard; /* the rest of an oversized/binary message */
    bool rx_binary;
    struct bucket commands; /* command rate */
    int close_code;         /* when non-zero: close after the queue drains */
    const char *close_reason;
    bool counted;        /* counted in server.nconns */
    bool direct;         /* may write outside WRITEABLE (a plain TCP/TLS socket) */
    bool peer_closing;   /* the peer sent a close frame: write nothing more */
    bool ping_due;       /* a keep-alive ping waits to be written */
    bool close_sent;     /* our close frame is written: wait for the peer's */
    uint32_t inflight;   /* acks waiting in server.waits */
    uint32_t dirty_at;   /* 1 + index in server.dirty, or 0 */
    int64_t rx_ms;       /* monotonic ms of the last frame or answered ping */
    int64_t ping_ms;     /* monotonic ms of the last ping sent */
    struct ip_count *ip; /* its peer address's count (borrowed from its peer), or NULL */
    bool unauth;         /* counted in ip->unauth: no hello accepted yet */
    int64_t open_ms;     /* monotonic ms of the upgrade, for hello_timeout_s */
    struct conn *all_prev, *all_next; /* server.all: every WebSocket */

    /* The payload of our last ping (random, new for each ping): only a pong
     * that carries it shows the peer reads what we send; an unsolicited
     * pong, or one with another payload, proves nothing and is ignored. */
    unsigned char ping_payload[SERVER_PING_LEN];
    bool ping_waiting; /* a ping went out and its pong has not come back */
    /* A large or spliced message being written in slices (SERVER_SLICE). */
    struct fan_msg *out; /* one reference, or NULL */
    size_t out_off;      /* bytes of it written */
};

/* One encoded room view (see SERVER_VIEW_SLOTS). */
struct view_entry {
    char session_id[ROOM_ID_LEN + 1];
    uint64_t version;    /* room.version it was encoded at */
    int viewer;          /* proto_room_view_of's answer */
    struct fan_msg *msg; /* one reference (the cache's), or NULL */
};

struct http_req {
    struct lws *wsi;
    enum http_api_method method;
    char path[256];
    char query[128];
    char auth[128];
    const char *content_type; /* of resp */
    const char *filename;     /* Content-Disposition attachment name, or NULL */
    char *body;
    size_t body_len;
    bool body_too_large;
    unsigned char *resp; /* LWS_PRE + JSON */
    size_t resp_len;
    size_t resp_off;      /* bytes of resp written (http_write slices) */
    bool headers_written; /* the status line and headers are out */
    int status;
    int retry_after_s; /* a Retry-After header with the 429, or 0 */
    bool responded;
    bool waiting;             /* the answer waits for a commit or the export thread */
    struct export_task *task; /* its export, on the export thread, or NULL */
    /* While its body is read: in server.bodies, for http_body_timeout_s. */
    bool body_listed;
    bool body_late;  /* the deadline passed: lws closes it */
    int64_t body_ms; /* monotonic ms the headers were in */
    struct http_req *body_prev, *body_next;
};

/* An export made on the export thread: the request's job, then its answer
 * (written by the export thread before it hands the task back). */
struct export_task {
    struct export_task *next;
    struct http_api_job *job; /* owned */
    struct http_req *h;       /* loop thread only: NULL once the request is gone */
    int status;
    unsigned char *resp; /* LWS_PRE + body, or NULL */
    size_t resp_len;
    const char *content_type; /* static */
    const char *filename;     /* static, or NULL */
};

struct server {
    const struct config *cfg;
    struct lws_context *ctx;
    struct hub *hub;
    struct store *store;
    struct waits waits;
    uint64_t next_token;
    atomic_bool wake_ok;                   /* the writer thread may wake the loop */
    int timer_fd;                          /* timerfd, TICK_SLOT_US period */
    bool timer_on;                         /* armed (someone is connected) */
    struct hub_group *ticking[TICK_SLOTS]; /* groups whose clock runs, by slot */
    unsigned tick_slot;                    /* the slot the next pass serves */
    volatile sig_atomic_t stopping;
    uint64_t next_conn_id;
    size_t nconns;
    size_t conns_peak;    /* most connections since the heap was last trimmed */
    bool busy_since_idle; /* 1000+ connections since the server was last empty */
    unsigned idle_passes; /* timer passes with nobody connected */
    struct conn *all;     /* every WebSocket connection, for the keep-alive sweep */
    struct conn **dirty;  /* connections with something to write; NULL = closed */
    size_t ndirty, dirty_cap;
#if defined(SERVER_UV)
    bool uv;              /* lws runs on loop (libuv: epoll) */
    bool prepare_on;      /* prepare is initialised */
    uv_loop_t loop;       /* ours ("foreign" to lws): main.c keeps the signals */
    uv_prepare_t prepare; /* runs server_flush before each sleep */
#endif
    struct ip_count *ips[SERVER_IP_BUCKETS];
    struct rate_bucket exports;    /* the exports of the whole server */
    struct rate_bucket creates;    /* groups created on the whole server */
    struct rate_table *http_addrs; /* HTTP budgets per client address */
    int64_t lifecycle_mono;        /* last idle-close/expiry pass (monotonic ms) */
    /* The export thread: the exports read and format whole journals, so
     * they run away from the loop (a 12 MB journal took the loop for
     * hundreds of ms). Its lists are under export_mu. */
    pthread_t export_thread;
    bool export_started;
    bool export_stopping;
    pthread_mutex_t export_mu;
    pthread_cond_t export_cv;
    struct export_task *export_todo, *export_todo_tail, *export_done;
    struct view_entry views[SERVER_VIEW_SLOTS];
    struct listener lst;               /* our listening sockets */
    struct lws *lst_wsi[LISTENER_MAX]; /* each adopted into the loop */
    struct peer *peers;                /* every accepted connection */
    struct http_req *bodies;           /* requests whose body is being read */
    struct peer *adopting;             /* the one being handed to lws, or NULL */
    size_t npeers;                     /* counted against the limits */
    size_t nrefusing;                  /* over a limit, being told so */
    uint64_t shed;                     /* closed at accept (EMFILE), not logged */
    int64_t shed_log_ms;               /* mono ms of the last such log line */
    uint64_t over;                     /* accepted over a limit, not logged */
    int64_t over_log_ms;               /* mono ms of the last such log line */
    unsigned char *scratch;
    struct proto_limits limits;
    struct lws_protocol_vhost_options headers[6];
    struct lws_protocol_vhost_options mimetypes[3];
    struct lws_http_mount mount_api;
    struct lws_http_mount mount_web;
    lws_retry_bo_t retry;
};

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/* Shifts the server's clock, for tests that need a month to pass between two
 * sessions (CODEVD_TIME_OFFSET_MS, read once at start-up). */
static int64_t time_offset_ms;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + time_offset_ms;
}

/* For intervals: keep-alive and the timer. */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waits_free's msg_free: the acks still waiting at exit. */
static void server_json_free(void *j)
{
    json_decref(j);
}

static struct server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- the tick lists ------------------------------------------------------------ */

static unsigned tick_slot_of(const struct hub_group *g)
{
    uint32_t h = 2166136261u;

    for (const char *p = g->id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % TICK_SLOTS;
}

/* Puts g in its tick slot while its clock runs and someone is connected,
 * takes it out otherwise. Call after anything that may change either. */
static void group_tick_update(struct server *s, struct hub_group *g)
{
    bool want = g->room && g->room->clock.running && g->conns;
    struct hub_group **head = &s->ticking[tick_slot_of(g)];

    if (want == g->ticking)
        return;
    if (want) {
        g->tick_prev = NULL;
        g->tick_next = *head;
        if (*head)
            (*head)->tick_prev = g;
        *head = g;
    } else {
        if (g->tick_prev)
            g->tick_prev->tick_next = g->tick_next;
        else
            *head = g->tick_next;
        if (g->tick_next)
            g->tick_next->tick_prev = g->tick_prev;
        g->tick_prev = g->tick_next = NULL;
    }
    g->ticking = want;
}

/* ---- connections and fan-out ------------------------------------------ */

/* The member's index in the group's current room, cached per room. */
static int conn_member_idx(struct conn *c)
{
    const struct room *r = c->group ? c->group->room : NULL;

    if (!r)
        return -1;
    if (c->idx_room != r) {
        c->idx_room = r;
        c->idx = room_member_find(r, c->member_id);
    }
    return c->idx;
}

/* Asks for the connection to be closed once what is queued is written. */
static void conn_close_later(struct conn *c, int code, const char *reason)
{
    if (c->close_code)
        return;
    c->close_code = code;
    c->close_reason = reason;
    lws_callback_on_writable(c->wsi);
    /* A peer that does not read never makes us writable: bound the wait. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

/* Marks c for the next server_flush. */
static void conn_dirty(struct server *s, struct conn *c)
{
    if (c->dirty_at)
        return;
    if (s->ndirty == s->dirty_cap &&
        array_grow((void **)&s->dirty, &s->dirty_cap, s->ndirty + 1, sizeof(*s->dirty))) {
        lws_callback_on_writable(c->wsi); /* out of memory: the slow way */
        return;
    }
    s->dirty[s->ndirty++] = c;
    c->dirty_at = (uint32_t)s->ndirty;
}

/* Queues m on c. A connection that cannot keep up is closed: out_queue_bytes
 * bounds what waits for it, the rest of a message being written included. */
static void conn_push(struct server *s, struct conn *c, struct fan_msg *m)
{
    size_t max = s->cfg->out_queue_bytes, writing = c->out ? c->out->len - c->out_off : 0;

    if (!m || c->close_code)
        return;
    if (writing >= max ||
        fan_queue_push(&c->q, m, s->cfg->out_queue_frames, max - writing)) {
        log_notice("conn %llu: slow consumer (%u frames, %zu bytes queued), closing",
                   (unsigned long long)c->id, c->q.count, c->q.bytes);
        conn_close_later(c, CLOSE_SLOW_CONSUMER, "slow_consumer");
        return;
    }
    conn_dirty(s, c);
}

/* Encodes j (stolen) once and queues it on one connection. */
static void conn_send(struct server *s, struct conn *c, json_t *j)
{
    struct fan_msg *m;

    if (!j)
        return;
    m = fan_msg_new(j, LWS_PRE, false);
    json_decref(j);
    conn_push(s, c, m);
    fan_msg_unref(m);
}

/* Encodes j (stolen) once and queues it on every attached connection of g
 * that may see it: all when ev is NULL, else as room_event_visible says.
 * except (may be NULL) is skipped. */
static void group_send(struct server *s, struct hub_group *g, json_t *j,
                       const struct room_event *ev, const struct conn *except)
{
    struct fan_msg *m;

    if (!j)
        return;
    m = fan_msg_new(j, LWS_PRE, false);
    json_decref(j);
    if (!m)
        return;
    for (struct conn *c = g->conns; c; c = c->next) {
        if (c == except)
            continue;
        if (ev && !room_event_visible(g->room, ev, conn_member_idx(c)))
            continue;
        conn_push(s, c, m);
    }
    fan_msg_unref(m);
}

/* Returns the encoded view of r for viewer (borrowed: the cache keeps it
 * until a sweep finds nobody writing it), encoding it unless a joiner
 * already did at this room version; NULL on allocation failure. */
static struct fan_msg *server_room_view(struct server *s, const struct room *r,
                                        int viewer)
{
    uint64_t h = 1469598103934665603ULL;
    struct view_entry *e;
    json_t *j;

    for (const char *p = r->session_id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
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
static void server_views_trim(struct server *s, bool all)
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
    body = server_room_view(
        s, g->room, proto_room_view_of(g->room, room_member_find(g->room, m->id)));
    j = proto_welcome_head_json(g, m, now);
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
        conn_send(s, c, proto_welcome_json(g, m, now));
    fan_msg_unref(msg);
    free(head);
    free(clock);
    free(tail);
}

static void conn_error(struct server *s, struct conn *c, const char *id, int code)
{
    conn_send(s, c, proto_error_code_json(id, code));
}

static void group_attach(struct conn *c, struct hub_group *g)
{
    struct conn *head = g->conns;

    c->group = g;
    c->prev = NULL;
    c->next = head;
    if (head)
        head->prev = c;
    g->conns = c;
}

static void group_detach(struct conn *c)
{
    struct hub_group *g = c->group;

    if (!g)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
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

/* A session was opened in g: count everyone online in the new room and send
 * each connection its own snapshot. */
static void group_session_opened(struct server *s, struct hub_group *g)
{
    int64_t now = now_ms();

    for (struct conn *c = g->conns; c; c = c->next) {
        int idx = conn_member_idx(c);
        if (idx >= 0)
            room_member_set_online(g->room, idx, +1);
    }
    for (struct conn *c = g->conns; c; c = c->next)
        conn_send(s, c, proto_session_opened_json(g->room, conn_member_idx(c), now));
    group_tick_update(s, g);
    log_info("group %s: session %s opened", g->id, g->room->session_id);
}

/* Closes every connection of a member who was removed. */
static void group_close_member(struct server *s, struct hub_group *g,
                               const char *member_id)
{
    for (struct conn *c = g->conns; c; c = c->next) {
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
static void server_group_drop(struct server *s, struct hub_group *g, const char *why)
{
    while (g->conns) {
        struct conn *c = g->conns;
        conn_error(s, c, NULL, CODEV_E_GROUP_DELETED);
        conn_close_later(c, CLOSE_GROUP_DELETED, "group_deleted");
        c->idx_room = NULL;
        group_detach(c);
    }
    group_tick_update(s, g);
    log_info("group %s: deleted (%s)", g->id, why);
    hub_group_delete(s->hub, g);
}

/* ---- answers that wait for the store ---------------------------------------- */

/* Queues an answer in server.waits (waits.c) behind the record token (0: a
 * barrier, behind every record so far). A WebSocket ack (msg, stolen on
 * success) counts in its connection's inflight until released. Returns 0,
 * or CODEV_E_INTERNAL (out of memory: nothing queued, msg still the
 * caller's). */
static int server_wait_push(struct server *s, uint64_t token, enum waits_kind kind,
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
static void on_committed(void *arg, uint64_t token, int rc)
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
    if (server_wait_push(s, 0, WAITS_WS, c, ack))
        json_decref(ack);
}

/* Called by the store's writer thread after each commit. */
static void server_wake(void *arg)
{
    struct server *s = arg;

    if (atomic_load(&s->wake_ok))
        lws_cancel_service(s->ctx);
}

/* ---- commands ------------------------------------------------------------ */

static void conn_unauth_release(struct server *s, struct conn *c);

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
    memcpy(c->member_id, m->id, sizeof(c->member_id));
    conn_unauth_release(s, c);
    c->idx_room = NULL;
    group_attach(c, g);
    conn_online(s, c, +1);
    group_tick_update(s, g);
    conn_send_welcome(s, c, g, m, now_ms());
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
    rc = hub_session_open(s->hub, g, now_ms());
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
    } else if (server_wait_push(s, token, WAITS_WS, c,
                                proto_ack_json(msg->id, g->room->seq, false))) {
        log_err("out of memory for a pending ack");
    }
    group_session_opened(s, g);
}

/* Journals an accepted command (and the close it caused); the sender's ack
 * waits for the commit. */
static void server_journal(struct server *s, struct conn *c, struct hub_group *g, int idx,
                           const struct room_cmd *cmd, int64_t now, uint64_t seq,
                           bool closed)
{
    struct room_cmd journaled = *cmd;
    uint64_t token = ++s->next_token;
    int rc;

    /* The contract check of step_next depends on who is online, which the
     * journal does not keep: what passed is replayed as forced. */
    if (journaled.type == CMD_STEP_NEXT)
        journaled.flag = true;
    rc = store_submit_cmd(s->store, g->room, idx, &journaled, now, seq, token);
    if (rc) {
        log_err("group %s: command seq %llu not journaled: %s", g->id,
                (unsigned long long)seq, codev_err_name(rc));
        conn_error(s, c, cmd->id, CODEV_E_INTERNAL);
        return;
    }
    if (closed) {
        log_info("group %s: session %s closed", g->id, g->room->session_id);
        server_wait_push(s, token, WAITS_NONE, NULL, NULL);
        token = ++s->next_token;
        rc = store_submit_session_close(s->store, g, now, token);
        if (rc) {
            /* store_load finishes a close whose record is missing. */
            log_err("group %s: close not journaled: %s", g->id, codev_err_name(rc));
            conn_send(s, c, proto_ack_json(cmd->id, seq, false));
            return;
        }
    }
    if (server_wait_push(s, token, WAITS_WS, c, proto_ack_json(cmd->id, seq, false)))
        log_err("out of memory for a pending ack");
}

/* hub_sync replaced g's invite (a member was removed): save the group so
 * that the old code stays dead after a restart. */
static void group_save_rotated(struct server *s, struct hub_group *g, int64_t now)
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
    if (server_wait_push(s, token, WAITS_NONE, NULL, NULL))
        log_err("out of memory for a pending record");
}

static void handle_command(struct server *s, struct conn *c, const struct proto_msg *msg)
{
    struct hub_group *g = c->group;
    struct room *r = g->room;
    int64_t now = now_ms();
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
    for (size_t i = 0; i < r->nout; i++) {
        const struct room_event *ev = &r->out[i];
        group_send(s, g, proto_event_json(r, ev, now), ev, NULL);
    }
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
    group_tick_update(s, g);
    g->room_active_ms = now;
    group_save_rotated(s, g, now);
    server_journal(s, c, g, idx, &msg->cmd, now, seq, closed);
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
                       now_ms());
}

static void conn_message(struct server *s, struct conn *c, const char *buf, size_t len)
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
    } else {
        handle_command(s, c, &msg);
    }
    proto_msg_release(&msg);
}

/* ---- connection limits -------------------------------------------------------- */

/* The counts of address ip, created at zero when new. Returns NULL when out
 * of memory. */
static struct ip_count *ip_count_find(struct server *s, const char *ip)
{
    uint64_t h = 1469598103934665603ULL;
    struct ip_count *e;

    for (const char *p = ip; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (e = s->ips[h % SERVER_IP_BUCKETS]; e; e = e->next)
        if (strcmp(e->ip, ip) == 0)
            return e;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    e->next = s->ips[h % SERVER_IP_BUCKETS];
    s->ips[h % SERVER_IP_BUCKETS] = e;
    return e;
}

/* Frees e once nothing counts on it. */
static void ip_count_gc(struct server *s, struct ip_count *e)
{
    if (!e || e->n || e->unauth)
        return;
    for (size_t b = 0; b < SERVER_IP_BUCKETS; b++) {
        for (struct ip_count **pp = &s->ips[b]; *pp; pp = &(*pp)->next) {
            if (*pp == e) {
                *pp = e->next;
                free(e);
                return;
            }
        }
    }
}

/* A WebSocket said hello (or closed before): it no longer counts against
 * unauth_per_ip. */
static void conn_unauth_release(struct server *s, struct conn *c)
{
    if (!c->unauth)
        return;
    c->unauth = false;
    if (c->ip) {
        c->ip->unauth--;
        ip_count_gc(s, c->ip);
    }
}

/* ---- accepted connections ------------------------------------------------------ */

/* The peer of wsi (a WebSocket, an HTTP/2 stream or the connection itself),
 * or NULL. */
static struct peer *peer_of(struct lws *wsi)
{
    struct lws *nwsi = lws_get_network_wsi(wsi);

    return nwsi ? lws_get_opaque_user_data(nwsi) : NULL;
}

static void peer_set_state(struct peer *p, enum peer_state state)
{
    if (!p || p->state == PEER_UPGRADED)
        return;
    p->state = state;
    p->since_ms = mono_ms();
}

/* Forgets p: its counts go, and it is freed. */
static void peer_release(struct server *s, struct peer *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        s->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (p->refusing) {
        s->nrefusing--;
    } else {
        s->npeers--;
        p->ip->n--;
        ip_count_gc(s, p->ip);
    }
    free(p);
}

/* Connections closed at accept because the process was out of descriptors
 * (shed) and connections accepted over a limit (over): counted, and logged
 * one line a second at most, however fast they come. Called with nothing
 * new from the once-a-second sweep, which logs what is still counted. */
static void server_edge_log(struct server *s, int64_t mono)
{
    if (s->shed && mono - s->shed_log_ms >= 1000) {
        log_warn("out of file descriptors: %llu connections closed at accept",
                 (unsigned long long)s->shed);
        s->shed = 0;
        s->shed_log_ms = mono;
    }
    if (s->over && mono - s->over_log_ms >= 1000) {
        log_notice(
            "%llu connections refused over connections_max, connections_per_ip "
            "or unauth_per_ip (%zu connections, %zu WebSockets, %zu being refused)",
            (unsigned long long)s->over, s->npeers, s->nconns, s->nrefusing);
        s->over = 0;
        s->over_log_ms = mono;
    }
}

static int server_timer_arm(struct server *s, bool on);

/* Counts the accepted connection fd from ip and hands it to lws, which
 * speaks HTTP/1, HTTP/2 and TLS on it; over connections_max or
 * connections_per_ip it is marked refusing (or closed when too many are). */
static void server_peer_adopt(struct server *s, int fd, const char *ip)
{
    struct ip_count *e = ip_count_find(s, ip);
    struct peer *p = e ? calloc(1, sizeof(*p)) : NULL;
    bool over =
        s->npeers >= s->cfg->connections_max || (e && e->n >= s->cfg->connections_per_ip);
    lws_adopt_desc_t info = {
        .vh = lws_get_vhost_by_name(s->ctx, "codevd"),
        .type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL,
        .fd.sockfd = fd,
    };
    struct lws *wsi;

    if (over) {
        s->over++;
        server_edge_log(s, mono_ms());
    }
    if (!p || (over && s->nrefusing >= SERVER_REFUSING_MAX)) {
        close(fd);
        free(p);
        ip_count_gc(s, e);
        return;
    }
    if (over) {
        p->refusing = true;
        s->nrefusing++;
        ip_count_gc(s, e);
    } else {
        p->ip = e;
        e->n++;
        s->npeers++;
    }
    p->state = PEER_WAITING;
    p->since_ms = mono_ms();
    p->next = s->peers;
    if (s->peers)
        s->peers->prev = p;
    s->peers = p;
    server_timer_arm(s, true);
    p->adopting = true;
    s->adopting = p;
    info.opaque = p;
    wsi = lws_adopt_descriptor_vhost_via_info(&info); /* closes fd on failure */
    s->adopting = NULL;
    p->adopting = false;
    /* A failed adoption (a TLS handshake refused at once) may destroy its
     * wsi now or, on libuv, once its handle is closed: then p waits, with
     * no wsi, for that LWS_CALLBACK_WSI_DESTROY. */
    if (p->gone || (!wsi && !p->created))
        peer_release(s, p);
    else
        p->wsi = wsi;
}

/* LWS_CALLBACK_WSI_DESTROY of any wsi: when it is an accepted connection,
 * forget it. */
static void server_wsi_destroyed(struct server *s, struct lws *wsi)
{
    struct peer *p = lws_get_opaque_user_data(wsi);

    if (!p || lws_get_network_wsi(wsi) != wsi)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    if (p->adopting) {
        p->gone = true; /* server_peer_adopt releases it */
        return;
    }
    peer_release(s, p);
}

/* A request's body starts (listed) or is done, or the request goes
 * (unlisted). */
static void http_body_wait(struct server *s, struct http_req *h, bool start)
{
    if (start && !h->body_listed) {
        h->body_listed = true;
        h->body_ms = mono_ms();
        h->body_prev = NULL;
        h->body_next = s->bodies;
        if (s->bodies)
            s->bodies->body_prev = h;
        s->bodies = h;
    } else if (!start && h->body_listed) {
        if (h->body_prev)
            h->body_prev->body_next = h->body_next;
        else
            s->bodies = h->body_next;
        if (h->body_next)
            h->body_next->body_prev = h->body_prev;
        h->body_listed = false;
        h->body_prev = h->body_next = NULL;
    }
}

/* The HTTP deadlines, once a second: headers within http_header_timeout_s
 * of the connection (or of the end of its previous request), the whole body
 * within http_body_timeout_s of the headers (per request: an HTTP/2 stream
 * too). Absolute: bytes trickling in do not extend them. */
static void server_peers_sweep(struct server *s, int64_t mono)
{
    int64_t headers = (int64_t)s->cfg->http_header_timeout_s * 1000;
    int64_t body = (int64_t)s->cfg->http_body_timeout_s * 1000;

    server_edge_log(s, mono);
    for (struct peer *p = s->peers; p; p = p->next) {
        if (p->killed || !p->wsi || p->state != PEER_WAITING ||
            mono - p->since_ms < headers)
            continue;
        log_info("connection from %s: request headers not complete in time, closing",
                 p->ip ? p->ip->ip : "(refused)");
        p->killed = true;
        lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    for (struct http_req *h = s->bodies; h; h = h->body_next) {
        if (h->body_late || mono - h->body_ms < body)
            continue;
        log_info("http %.40s: request body not complete in time, closing", h->path);
        h->body_late = true;
        lws_set_timeout(h->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

/* A listening socket is readable: accept what waits, a batch at a time
 * (the loop calls again while more wait). */
static void server_accept(struct server *s, int fd)
{
    char ip[48];
    bool shed;

    for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
        int cfd = listener_accept(&s->lst, fd, ip, sizeof(ip), &shed);
        if (cfd >= 0) {
            server_peer_adopt(s, cfd, ip);
        } else if (shed) {
            s->shed++;
            server_edge_log(s, mono_ms());
        } else {
            break;
        }
    }
}

static int callback_listen(struct lws *wsi, enum lws_callback_reasons reason, void *user,
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
        if (!s->stopping)
            server_accept(s, lws_get_socket_fd(wsi));
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        /* lws closes the socket: it is no longer ours to close. */
        for (size_t i = 0; i < s->lst.nfds; i++)
            if (s->lst_wsi[i] == wsi)
                s->lst.fds[i] = -1, s->lst_wsi[i] = NULL;
        return 0;
    default:
        return 0;
    }
}

/* ---- the codev.v1 protocol callback ---------------------------------------- */

/* An origin split into its parts, lower case, the port made explicit. */
struct origin {
    char scheme[8]; /* "http" or "https" */
    char host[200];
    unsigned port;
};

/* Parses the n bytes of text, "scheme://host[:port]" (full = true) or a
 * Host header "host[:port]" whose scheme is given. Returns false when it
 * is not one. */
static bool origin_parse(const char *text, size_t n, bool full, const char *scheme,
                         struct origin *o)
{
    const char *p = text, *end = text + n, *host, *colon = NULL;
    size_t hl;

    memset(o, 0, sizeof(*o));
    if (full) {
        const char *sep = memchr(p, ':', n);
        if (!sep || end - sep < 3 || sep[1] != '/' || sep[2] != '/' ||
            (size_t)(sep - p) >= sizeof(o->scheme))
            return false;
        for (size_t i = 0; i < (size_t)(sep - p); i++)
            o->scheme[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        p = sep + 3;
    } else {
        snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
    }
    if (strcmp(o->scheme, "http") != 0 && strcmp(o->scheme, "https") != 0)
        return false;
    host = p;
    if (p < end && *p == '[') { /* an IPv6 literal */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return false;
        p = close + 1;
    } else {
        while (p < end && *p != ':' && *p != '/')
            p++;
    }
    hl = (size_t)(p - host);
    if (!hl || hl >= sizeof(o->host))
        return false;
    for (size_t i = 0; i < hl; i++)
        o->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    if (p < end && *p == ':') {
        char *num_end;
        unsigned long port;
        colon = p;
        port = strtoul(colon + 1, &num_end, 10);
        if (num_end == colon + 1 || num_end != end || port == 0 || port > 65535)
            return false;
        o->port = (unsigned)port;
    } else if (p != end) {
        return false; /* a path, or trailing bytes */
    } else {
        o->port = strcmp(o->scheme, "https") == 0 ? 443 : 80;
    }
    return true;
}

static bool origin_equal(const struct origin *a, const struct origin *b)
{
    return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 &&
           a->port == b->port;
}

/* Same origin: the Origin's scheme, host and port are those of the request
 * (the scheme this server speaks, the Host header). Else the configured
 * allow-list (comma-separated full origins, compared the same way). No
 * Origin header (a non-browser client) is allowed. */
static bool origin_allowed(struct server *s, struct lws *wsi)
{
    char text[256], host[256];
    const char *list = s->cfg->allowed_origins;
    const char *scheme = s->cfg->tls_cert ? "https" : "http";
    struct origin origin, want;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return true;
    if (lws_hdr_copy(wsi, text, sizeof(text), WSI_TOKEN_ORIGIN) <= 0 ||
        !origin_parse(text, strlen(text), true, NULL, &origin))
        return false;
    if (list) {
        for (const char *p = list; *p;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            while (n && *p == ' ')
                p++, n--;
            while (n && p[n - 1] == ' ')
                n--;
            if (origin_parse(p, n, true, NULL, &want) && origin_equal(&origin, &want))
                return true;
            if (!e)
                break;
            p = e + 1;
        }
        return false;
    }
    /* HTTP/2 (a WebSocket over h2, RFC 8441, as Chromium opens it over TLS)
     * carries the host in :authority. */
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0 &&
        lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HTTP_COLON_AUTHORITY) <= 0)
        return false;
    return origin_parse(host, strlen(host), false, scheme, &want) &&
           origin_equal(&origin, &want);
}

/* Fills out with a new ping payload: 8 random bytes (OpenSSL's generator,
 * which already makes the member keys) in hex, because lws validates the
 * pong's payload as UTF-8 and drops a peer that echoes raw bytes. Returns 0,
 * or -1 when the generator fails. */
static int server_ping_payload_new(unsigned char out[SERVER_PING_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[SERVER_PING_LEN / 2];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = (unsigned char)hex[raw[i] >> 4];
        out[2 * i + 1] = (unsigned char)hex[raw[i] & 15];
    }
    return 0;
}

/* Writes what c has queued, as frames of up to SERVER_MAX_FRAME bytes,
 * until the queue is empty or lws had to keep part of a frame (the socket
 * is full: lws then asks for WRITEABLE itself, and the rest goes from
 * there). Then a due ping. Returns -1 when the connection is broken. */
static int conn_write_some(struct server *s, struct conn *c)
{
    unsigned char *data;
    struct fan_msg *hold;
    size_t len;

    while (!lws_partial_buffered(c->wsi)) {
        int n;

        if (c->out) {
            /* The next slice of a large message, as a fragment. */
            size_t left = c->out->len - c->out_off;
            size_t k = left < SERVER_SLICE ? left : SERVER_SLICE;
            int flags = c->out_off ? LWS_WRITE_CONTINUATION : LWS_WRITE_TEXT;

            if (k < left)
                flags |= LWS_WRITE_NO_FIN;
            fan_msg_copy(c->out, c->out_off, s->scratch + LWS_PRE, k, LWS_PRE);
            n = lws_write(c->wsi, s->scratch + LWS_PRE, k,
                          (enum lws_write_protocol)flags);
            if (n < (int)k) {
                log_info("conn %llu: write failed", (unsigned long long)c->id);
                return -1;
            }
            c->out_off += k;
            if (c->out_off == c->out->len) {
                fan_msg_unref(c->out);
                c->out = NULL;
                c->out_off = 0;
            }
            continue;
        }
        if (!fan_queue_take(&c->q, s->scratch, SERVER_SCRATCH, LWS_PRE, SERVER_MAX_FRAME,
                            &data, &len, &hold))
            break;
        if (!data || len > SERVER_SLICE) {
            c->out = hold; /* spliced, or larger than a slice: in slices */
            c->out_off = 0;
            continue;
        }
        n = lws_write(c->wsi, data, len, LWS_WRITE_TEXT);
        fan_msg_unref(hold);
        if (n < (int)len) {
            log_info("conn %llu: write failed", (unsigned long long)c->id);
            return -1;
        }
    }
    /* No ping between the fragments of a message. */
    if (c->ping_due && !c->out && !lws_partial_buffered(c->wsi)) {
        /* With a payload (lws 4.1 does not report an empty pong), new for
         * each ping, so that only an answer to this ping counts. */
        unsigned char ping[LWS_PRE + SERVER_PING_LEN];
        c->ping_due = false;
        if (server_ping_payload_new(c->ping_payload))
            return -1;
        memcpy(ping + LWS_PRE, c->ping_payload, SERVER_PING_LEN);
        c->ping_waiting = true;
        if (lws_write(c->wsi, ping + LWS_PRE, SERVER_PING_LEN, LWS_WRITE_PING) < 0)
            return -1;
    }
    return 0;
}

/* Everything queued is out: the close frame, with its code and reason. We
 * write it ourselves rather than through lws_close_reason() and a -1
 * return, which on lws 4.1's libuv loop drops the connection without the
 * frame (the client then sees 1006). The peer answers with its own close
 * (LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: then we hang up), or the timeout
 * set by conn_close_later does. */
static int conn_send_close(struct conn *c)
{
    unsigned char buf[LWS_PRE + 2 + 64];
    size_t n = strlen(c->close_reason);

    if (n > 64)
        n = 64;
    buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, c->close_reason, n);
    c->close_sent = true;
    if (lws_write(c->wsi, buf + LWS_PRE, 2 + n, SERVER_WRITE_CLOSE) < 0)
        return -1;
    return 0;
}

/* LWS_CALLBACK_SERVER_WRITEABLE: the socket has room again, or a close was
 * asked for (conn_close_later). */
static int conn_writeable(struct server *s, struct conn *c)
{
    if (c->peer_closing || c->close_sent)
        return 0;
    if (conn_write_some(s, c))
        return -1;
    if (lws_partial_buffered(c->wsi))
        return 0; /* lws calls again once its buffer is out */
    if (!fan_queue_empty(&c->q) || c->ping_due || c->out)
        lws_callback_on_writable(c->wsi);
    else if (c->close_code)
        return conn_send_close(c);
    return 0;
}

/* Once per loop iteration, before the loop sleeps: every connection that
 * got something since writes it now, in as few frames as it fits. */
static void server_flush(struct server *s)
{
    for (size_t i = 0; i < s->ndirty; i++) {
        struct conn *c = s->dirty[i];
        if (!c)
            continue; /* closed since */
        c->dirty_at = 0;
        if (c->peer_closing)
            continue;
        if (!c->direct || c->close_code || lws_partial_buffered(c->wsi)) {
            lws_callback_on_writable(c->wsi);
            continue;
        }
        if (conn_write_some(s, c)) {
            /* Not from here: lws closes it on its next pass. */
            c->peer_closing = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    s->ndirty = 0;
}

static int conn_receive(struct server *s, struct conn *c, const void *in, size_t len)
{
    size_t max = s->cfg->ws_max_message;
    bool last = lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi);

    c->rx_ms = mono_ms();
    if (c->close_code)
        return 0;
    if (lws_frame_is_binary(c->wsi))
        c->rx_binary = true;
    if (last && !c->rx_len && !c->rx_discard && !c->rx_binary && len <= max) {
        /* The usual case, a message in one piece: no copy. */
        conn_message(s, c, in, len);
        return 0;
    }
    if (!c->rx_discard && !c->rx_binary) {
        if (c->rx_len + len > max) {
            log_info("conn %llu: message over %zu bytes", (unsigned long long)c->id, max);
            conn_error(s, c, NULL, CODEV_E_TOO_LARGE);
            conn_close_later(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "too_large");
            c->rx_discard = true;
        } else {
            unsigned char *nb = realloc(c->rx, c->rx_len + len + 1);
            if (!nb)
                return -1;
            c->rx = nb;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!last)
        return 0;
    if (c->rx_binary)
        conn_error(s, c, NULL, CODEV_E_BINARY_FRAME);
    else if (!c->rx_discard)
        conn_message(s, c, (const char *)c->rx, c->rx_len);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    c->rx_binary = c->rx_discard = false;
    return 0;
}

static int server_timer_arm(struct server *s, bool on);
static void export_drain(struct server *s);

static int callback_codev(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    struct conn *c = user;
    struct server *s = server_of(wsi);
    char uri[16];

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Over HTTP/2 the path is in :path. */
        if ((lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 &&
             lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_HTTP_COLON_PATH) <= 0) ||
            strcmp(uri, "/ws") != 0)
            return 1;
        if (!origin_allowed(s, wsi)) {
            log_notice("websocket refused: origin not allowed");
            return 1;
        }
        /* Its connection has no HTTP deadline from now on (over HTTP/2 too,
         * where the WebSocket is one stream of it). */
        peer_set_state(peer_of(wsi), PEER_UPGRADED);
        return 0;

    case LWS_CALLBACK_ESTABLISHED: {
        struct peer *p = peer_of(wsi);
        memset(c, 0, sizeof(*c));
        c->wsi = wsi;
        c->id = ++s->next_conn_id;
        c->counted = true;
        c->rx_ms = c->open_ms = mono_ms();
        /* A stream inside an HTTP/2 connection may only write when lws says. */
        c->direct = lws_get_network_wsi(wsi) == wsi;
        fan_queue_init(&c->q);
        c->all_next = s->all;
        if (s->all)
            s->all->all_prev = c;
        s->all = c;
        s->nconns++;
        if (s->nconns > s->conns_peak)
            s->conns_peak = s->nconns;
        if (s->nconns >= 1000)
            s->busy_since_idle = true;
        server_timer_arm(s, true);
        c->ip = p ? p->ip : NULL;
        if (c->ip) {
            c->unauth = true;
            c->ip->unauth++;
        }
        log_debug("conn %llu: open (%zu connections)", (unsigned long long)c->id,
                  s->nconns);
        /* Over a limit (its TCP connection was accepted over one, or HTTP/2
         * carries more WebSockets than allowed, or its address has too many
         * that have not said hello): say so in an error frame, then close;
         * the client backs off and tries again later. */
        if ((p && p->refusing) || s->nconns > s->cfg->connections_max ||
            (c->ip && c->ip->unauth > s->cfg->unauth_per_ip)) {
            log_debug("conn %llu: over the connection limit (%zu WebSockets, %zu "
                      "connections, %u from its address, %u without hello)",
                      (unsigned long long)c->id, s->nconns, s->npeers,
                      c->ip ? c->ip->n : 0, c->ip ? c->ip->unauth : 0);
            if (!p || !p->refusing) { /* those were counted at accept */
                s->over++;
                server_edge_log(s, mono_ms());
            }
            conn_error(s, c, NULL, CODEV_E_TOO_MANY_CONNECTIONS);
            conn_close_later(c, CLOSE_TRY_AGAIN_LATER, "too_many_connections");
        }
        return 0;
    }

    case LWS_CALLBACK_RECEIVE:
        return conn_receive(s, c, in, len);

    case LWS_CALLBACK_RECEIVE_PONG:
        /* Liveness counts only the answer to our own last ping. */
        if (c->ping_waiting && len == SERVER_PING_LEN &&
            memcmp(in, c->ping_payload, SERVER_PING_LEN) == 0) {
            c->ping_waiting = false;
            c->rx_ms = mono_ms();
        }
        return 0;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c->close_sent)
            return -1;          /* the answer to our close: hang up */
        c->peer_closing = true; /* lws answers the close itself */
        return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return conn_writeable(s, c);

    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s->store) /* NULL while the server shuts down */
            store_drain(s->store, on_committed, s);
        export_drain(s);
#if defined(SERVER_UV)
        if (s->stopping && s->uv)
            uv_stop(&s->loop);
#endif
        return 0;

    case LWS_CALLBACK_CLOSED:
        if (c->dirty_at) {
            s->dirty[c->dirty_at - 1] = NULL;
            c->dirty_at = 0;
        }
        if (c->all_prev)
            c->all_prev->all_next = c->all_next;
        else if (s->all == c)
            s->all = c->all_next;
        if (c->all_next)
            c->all_next->all_prev = c->all_prev;
        c->all_prev = c->all_next = NULL;
        waits_forget(&s->waits, c);
        if (c->group) {
            struct hub_group *g = c->group;
            conn_online(s, c, -1);
            group_detach(c);
            group_tick_update(s, g);
        }
        fan_queue_clear(&c->q);
        fan_msg_unref(c->out);
        c->out = NULL;
        free(c->rx);
        c->rx = NULL;
        if (c->counted) {
            c->counted = false;
            s->nconns--;
        }
        conn_unauth_release(s, c);
        c->ip = NULL;
        log_debug("conn %llu: closed (%zu connections)", (unsigned long long)c->id,
                  s->nconns);
        return 0;

    default:
        return 0;
    }
}

/* ---- HTTP API --------------------------------------------------------------- */

/* The exports read the store synchronously on the loop thread: small reads,
 * but bounded in rate for the whole server (and per member, by
 * http_exports_per_min) so that no client can keep the loop on the disk. */
#define SERVER_EXPORTS_PER_MIN   3000.0 /* 50 a second */
#define SERVER_EXPORTS_BURST     100.0
#define SERVER_HTTP_ADDR_SLOTS   4096
#define SERVER_HTTP_ADDR_IDLE_MS 60000 /* every budget is a minute's worth */

/* The buckets of struct rate_addr. */
enum { ADDR_ANON, ADDR_CREATE };

/* http_api_gate: a member's export budget, then the server's. */
static bool server_export_allowed(void *arg, struct hub_member *m, int *retry_after_s)
{
    struct server *s = arg;
    double per_min = s->cfg->http_exports_per_min;
    int64_t now = now_ms();

    if (!rate_bucket_ready(&m->exports, per_min, per_min, now, retry_after_s) ||
        !rate_bucket_ready(&s->exports, SERVER_EXPORTS_PER_MIN, SERVER_EXPORTS_BURST, now,
                           retry_after_s))
        return false;
    rate_bucket_take(&m->exports, per_min, per_min, now, NULL);
    rate_bucket_take(&s->exports, SERVER_EXPORTS_PER_MIN, SERVER_EXPORTS_BURST, now,
                     NULL);
    return true;
}

/* POST /api/groups: creates a group. */
static bool http_is_create(const struct http_req *h)
{
    return h->method == HTTP_API_POST && strcmp(h->path, "/api/groups") == 0;
}

/* A call made without a member key: creating or joining a group, or any
 * call with no Bearer key at all. Calls with a key that turns out wrong are
 * charged after the fact (see http_respond). */
static bool http_is_anonymous(const struct http_req *h)
{
    size_t n = strlen(h->path);

    return http_is_create(h) ||
           (h->method == HTTP_API_POST && n > 8 &&
            strcmp(h->path + n - 8, "/members") == 0) ||
           strncmp(h->auth, "Bearer ", 7) != 0;
}

/*
 * The HTTP budgets, before the call is handled: keyless calls per address
 * (http_anon_per_min), group creations per address and for the whole server
 * (only creations: members of existing groups never wait for strangers).
 * Returns 0 and takes the tokens, or CODEV_E_RATE_LIMITED with
 * *retry_after_s set and nothing taken.
 */
static int http_budget_take(struct server *s, struct rate_addr *a, bool anon, bool create,
                            int64_t now, int *retry_after_s)
{
    double anon_pm = s->cfg->http_anon_per_min, create_pm = s->cfg->http_create_per_min,
           global_pm = s->cfg->http_create_global_per_min;

    if ((anon &&
         !rate_bucket_ready(&a->b[ADDR_ANON], anon_pm, anon_pm, now, retry_after_s)) ||
        (create && !rate_bucket_ready(&a->b[ADDR_CREATE], create_pm, create_pm, now,
                                      retry_after_s)) ||
        (create &&
         !rate_bucket_ready(&s->creates, global_pm, global_pm, now, retry_after_s)))
        return CODEV_E_RATE_LIMITED;
    if (anon)
        rate_bucket_take(&a->b[ADDR_ANON], anon_pm, anon_pm, now, NULL);
    if (create) {
        rate_bucket_take(&a->b[ADDR_CREATE], create_pm, create_pm, now, NULL);
        rate_bucket_take(&s->creates, global_pm, global_pm, now, NULL);
    }
    return 0;
}

static void server_group_drop(struct server *s, struct hub_group *g, const char *why);

/* ---- the export thread -------------------------------------------------------- */

/* Runs t's export and encodes its answer. Export thread. */
static void export_task_run(struct server *s, struct export_task *t)
{
    struct http_api_reply reply;

    http_api_job_run(t->job, s->store, &reply);
    t->status = reply.status;
    if (reply.text) {
        t->resp = malloc(LWS_PRE + reply.text_len + 1);
        if (t->resp)
            memcpy(t->resp + LWS_PRE, reply.text, reply.text_len);
        t->resp_len = reply.text_len;
        t->content_type = reply.content_type;
        t->filename = reply.filename;
        free(reply.text);
    } else {
        t->resp = proto_dump(reply.body, LWS_PRE, &t->resp_len);
        t->content_type = "application/json";
    }
    json_decref(reply.body);
}

static void *export_thread_main(void *arg)
{
    struct server *s = arg;

    pthread_mutex_lock(&s->export_mu);
    for (;;) {
        struct export_task *t;
        while (!s->export_todo && !s->export_stopping)
            pthread_cond_wait(&s->export_cv, &s->export_mu);
        if (s->export_stopping)
            break;
        t = s->export_todo;
        s->export_todo = t->next;
        if (!s->export_todo)
            s->export_todo_tail = NULL;
        pthread_mutex_unlock(&s->export_mu);
        export_task_run(s, t);
        pthread_mutex_lock(&s->export_mu);
        t->next = s->export_done;
        s->export_done = t;
        if (atomic_load(&s->wake_ok))
            lws_cancel_service(s->ctx);
    }
    pthread_mutex_unlock(&s->export_mu);
    return NULL;
}

static void export_task_free(struct export_task *t)
{
    http_api_job_free(t->job);
    free(t->resp);
    free(t);
}

/* Queues job (taking it) for h. Returns 0, or -1 (job not taken). Loop. */
static int export_submit(struct server *s, struct http_req *h, struct http_api_job *job)
{
    struct export_task *t = calloc(1, sizeof(*t));

    if (!t || !s->export_started) {
        free(t);
        return -1;
    }
    t->job = job;
    t->h = h;
    h->task = t;
    pthread_mutex_lock(&s->export_mu);
    if (s->export_todo_tail)
        s->export_todo_tail->next = t;
    else
        s->export_todo = t;
    s->export_todo_tail = t;
    pthread_cond_signal(&s->export_cv);
    pthread_mutex_unlock(&s->export_mu);
    return 0;
}

/* The request h goes away: its export, if any, will be dropped. Loop. */
static void export_forget(struct http_req *h)
{
    if (h->task)
        h->task->h = NULL;
    h->task = NULL;
}

/* Hands the finished exports to their requests. Loop thread. */
static void export_drain(struct server *s)
{
    struct export_task *t;

    if (!s->export_started)
        return;
    pthread_mutex_lock(&s->export_mu);
    t = s->export_done;
    s->export_done = NULL;
    pthread_mutex_unlock(&s->export_mu);
    while (t) {
        struct export_task *next = t->next;
        struct http_req *h = t->h;
        if (h) {
            h->task = NULL;
            h->status = t->resp ? t->status : 500;
            h->resp = t->resp;
            h->resp_len = t->resp_len;
            h->content_type = t->content_type;
            h->filename = t->filename;
            t->resp = NULL;
            h->waiting = false;
            if (!h->resp) {
                json_t *err = http_api_error_json(CODEV_E_INTERNAL);
                h->resp = proto_dump(err, LWS_PRE, &h->resp_len);
                h->content_type = "application/json";
                h->filename = NULL;
                json_decref(err);
            }
            log_info("http GET %.40s -> %d", h->path, h->status);
            lws_callback_on_writable(h->wsi);
        }
        export_task_free(t);
        t = next;
    }
}

static int export_thread_start(struct server *s)
{
    pthread_mutex_init(&s->export_mu, NULL);
    pthread_cond_init(&s->export_cv, NULL);
    if (pthread_create(&s->export_thread, NULL, export_thread_main, s)) {
        log_err("cannot start the export thread");
        pthread_cond_destroy(&s->export_cv);
        pthread_mutex_destroy(&s->export_mu);
        return -1;
    }
    s->export_started = true;
    return 0;
}

/* Drops the tasks of a list. */
static void export_list_free(struct export_task *t)
{
    while (t) {
        struct export_task *next = t->next;
        export_task_free(t);
        t = next;
    }
}

/* Stops the export thread (an export under way finishes first) and drops
 * what is left. Before the store closes. */
static void export_thread_stop(struct server *s)
{
    if (!s->export_started)
        return;
    pthread_mutex_lock(&s->export_mu);
    s->export_stopping = true;
    pthread_cond_signal(&s->export_cv);
    pthread_mutex_unlock(&s->export_mu);
    pthread_join(s->export_thread, NULL);
    s->export_started = false;
    export_list_free(s->export_todo);
    export_list_free(s->export_done);
    s->export_todo = s->export_todo_tail = s->export_done = NULL;
    pthread_cond_destroy(&s->export_cv);
    pthread_mutex_destroy(&s->export_mu);
}

static void http_respond(struct server *s, struct lws *wsi, struct http_req *h)
{
    const struct http_api_gate gate = {
        .export_allowed = server_export_allowed, .arg = s, .offload = true};
    struct http_api_reply reply;
    int64_t now = now_ms();
    bool anon = http_is_anonymous(h), create = http_is_create(h);
    struct rate_addr *addr;
    char peer[RATE_ADDR_LEN] = "";
    uint64_t token = 0;
    int rc = 0, retry = 0;

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    addr = rate_table_get(s->http_addrs, peer, now, SERVER_HTTP_ADDR_IDLE_MS);
    if (h->body_too_large) {
        reply = (struct http_api_reply){.status = 413,
                                        .body = http_api_error_json(CODEV_E_TOO_LARGE)};
    } else if (http_budget_take(s, addr, anon, create, now, &retry)) {
        reply = (struct http_api_reply){.status = 429,
                                        .body = http_api_error_json(CODEV_E_RATE_LIMITED),
                                        .retry_after_s = retry};
    } else if (h->method != HTTP_API_GET && store_is_full(s->store)) {
        reply = (struct http_api_reply){.status = 429,
                                        .body = http_api_error_json(CODEV_E_RATE_LIMITED),
                                        .retry_after_s = 1};
    } else {
        http_api_handle(s->hub, s->store, &gate, h->method, h->path,
                        h->query[0] ? h->query : NULL, h->auth[0] ? h->auth : NULL,
                        h->body, h->body_len, now, &reply);
        /* A key that opened nothing costs what a keyless call costs; once
         * that budget is spent, wrong keys get 429 (such a call changed
         * nothing: every change needs a key that opens the group). */
        if (!anon && !reply.authenticated &&
            !rate_bucket_take(&addr->b[ADDR_ANON], s->cfg->http_anon_per_min,
                              s->cfg->http_anon_per_min, now, &retry)) {
            json_decref(reply.body);
            free(reply.text);
            reply =
                (struct http_api_reply){.status = 429,
                                        .body = http_api_error_json(CODEV_E_RATE_LIMITED),
                                        .retry_after_s = retry};
        }
    }
    if (reply.job) {
        /* An export: the answer comes from the export thread. */
        if (!export_submit(s, h, reply.job)) {
            log_info("http GET %.40s -> export thread", h->path);
            h->responded = true;
            h->waiting = true;
            return;
        }
        http_api_job_free(reply.job);
        reply = (struct http_api_reply){.status = 500,
                                        .body = http_api_error_json(CODEV_E_INTERNAL)};
    }
    if (reply.created || reply.updated || reply.joined)
        (reply.created   ? reply.created
         : reply.updated ? reply.updated
                         : reply.joined)
            ->active_ms = now;
    /* The facilitator deleted the group: gone from the store (the answer
     * waits for the commit), its sockets closed, gone from the hub. */
    if (reply.deleted) {
        token = ++s->next_token;
        rc = store_submit_group_delete(s->store, reply.deleted->id, token);
        if (rc) {
            log_err("http %.40s: delete not journaled: %s", h->path, codev_err_name(rc));
            json_decref(reply.body);
            reply.status = 500;
            reply.body = http_api_error_json(CODEV_E_INTERNAL);
            token = 0;
        } else {
            server_group_drop(s, reply.deleted, "deleted by its facilitator");
        }
        reply.deleted = NULL;
    }
    /* What changed a group is journaled; the answer waits for the commit. */
    if (reply.created || reply.updated || reply.joined || reply.opened) {
        token = ++s->next_token;
        if (reply.created || reply.updated)
            rc = store_submit_group(
                s->store, reply.created ? reply.created : reply.updated, now, token);
        else if (reply.joined)
            rc = store_submit_member_join(s->store, reply.joined, reply.joined_room_idx,
                                          now, token);
        else
            rc = store_submit_session_open(s->store, reply.opened, token);
        if (rc) {
            log_err("http %.40s: not journaled: %s", h->path, codev_err_name(rc));
            json_decref(reply.body);
            reply.status = 500;
            reply.body = http_api_error_json(CODEV_E_INTERNAL);
            token = 0;
        }
    }
    h->status = reply.status;
    h->retry_after_s = reply.retry_after_s;
    if (reply.text) {
        h->resp = malloc(LWS_PRE + reply.text_len + 1);
        if (h->resp) {
            memcpy(h->resp + LWS_PRE, reply.text, reply.text_len);
            h->resp_len = reply.text_len;
        }
        h->content_type = reply.content_type;
        h->filename = reply.filename;
        free(reply.text);
    } else {
        h->resp = proto_dump(reply.body, LWS_PRE, &h->resp_len);
        h->content_type = "application/json";
        h->filename = NULL;
    }
    json_decref(reply.body);
    if (reply.opened)
        group_session_opened(s, reply.opened);
    if (reply.updated)
        group_send(s, reply.updated, proto_group_updated_json(reply.updated), NULL, NULL);
    if (reply.joined)
        group_send(s, reply.joined,
                   proto_member_joined_json(
                       reply.joined, hub_member_find(reply.joined, reply.joined_id)),
                   NULL, NULL);
    log_info("http %s %.40s -> %d",
             h->method == HTTP_API_POST     ? "POST"
             : h->method == HTTP_API_DELETE ? "DELETE"
                                            : "GET",
             h->path, h->status);
    h->responded = true;
    if (token && !server_wait_push(s, token, WAITS_HTTP, h, NULL)) {
        h->waiting = true;
        return;
    }
    lws_callback_on_writable(wsi);
}

/* Bytes of an answer written per WRITEABLE: a 12 MB export written at once
 * had lws copy it whole into its own buffer, on the loop (tens of ms). */
#define SERVER_HTTP_SLICE (64 * 1024)

/* Writes the headers, then the body in slices of SERVER_HTTP_SLICE, one
 * per WRITEABLE. */
static int http_write(struct lws *wsi, struct http_req *h)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof(hdr) - 1;
    size_t slice;
    bool last;

    if (!h->resp)
        return -1;
    if (h->headers_written) {
        slice = h->resp_len - h->resp_off;
        if (slice > SERVER_HTTP_SLICE)
            slice = SERVER_HTTP_SLICE;
        last = h->resp_off + slice == h->resp_len;
        /* The LWS_PRE bytes before a slice belong to a slice already sent. */
        if (lws_write(wsi, h->resp + LWS_PRE + h->resp_off, slice,
                      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)slice)
            return -1;
        h->resp_off += slice;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        free(h->resp);
        h->resp = NULL;
        if (lws_http_transaction_completed(wsi))
            return -1;
        if (lws_get_network_wsi(wsi) == wsi)
            peer_set_state(peer_of(wsi), PEER_WAITING); /* keep-alive: the next request */
        return 0;
    }
    if (lws_add_http_common_headers(wsi, (unsigned int)h->status, h->content_type,
                                    h->resp_len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (h->retry_after_s > 0) {
        char secs[16];
        int n = snprintf(secs, sizeof(secs), "%d", h->retry_after_s);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                        (const unsigned char *)secs, n, &p, end))
            return -1;
    }
    if (h->filename) {
        char disp[128];
        int n = snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", h->filename);
        if (lws_add_http_header_by_name(wsi,
                                        (const unsigned char *)"content-disposition:",
                                        (const unsigned char *)disp, n, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    h->headers_written = true;
    if (h->resp_len > SERVER_HTTP_SLICE) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return http_write(wsi, h); /* small: at once, as before */
}

static void http_req_reset(struct http_req *h)
{
    free(h->body);
    free(h->resp);
    memset(h, 0, sizeof(*h));
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len)
{
    struct http_req *h = user;
    struct server *s = server_of(wsi);
    char *uri = NULL, clen[24];
    int ulen = 0, m;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* a WebSocket without the codev.v1 subprotocol */
    case LWS_CALLBACK_FILTER_HTTP_CONNECTION: {
        /* Any request's headers are in (the API's and the static files'). */
        struct peer *p = peer_of(wsi);
        if (p && p->refusing) {
            log_info("http request refused: too many connections");
            if (lws_get_network_wsi(wsi) == wsi)
                lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
            return 1; /* closes the connection */
        }
        peer_set_state(p,
                       lws_get_network_wsi(wsi) == wsi ? PEER_ANSWERING : PEER_UPGRADED);
        return 0;
    }
    case LWS_CALLBACK_WSI_CREATE:
        if (s->adopting) /* the connection server_peer_adopt hands over */
            s->adopting->created = true;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* Belt and braces: a request lws frees without CLOSED_HTTP leaves
         * no pointer behind. user is ours only while "http" is bound. */
        if (h && lws_get_protocol(wsi) &&
            strcmp(lws_get_protocol(wsi)->name, "http") == 0) {
            waits_forget(&s->waits, h);
            http_body_wait(s, h, false);
        }
        server_wsi_destroyed(s, wsi);
        return 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        /* A static file is out: as lws_callback_http_dummy, then the
         * keep-alive connection waits for its next request. */
        if (lws_http_transaction_completed(wsi))
            return -1;
        if (lws_get_network_wsi(wsi) == wsi)
            peer_set_state(peer_of(wsi), PEER_WAITING);
        return 0;
    case LWS_CALLBACK_HTTP:
        waits_forget(&s->waits, h);
        export_forget(h);
        http_body_wait(s, h, false);
        http_req_reset(h);
        h->wsi = wsi;
        m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
        h->method = m == LWSHUMETH_GET      ? HTTP_API_GET
                    : m == LWSHUMETH_POST   ? HTTP_API_POST
                    : m == LWSHUMETH_DELETE ? HTTP_API_DELETE
                                            : HTTP_API_OTHER;
        if (!uri || ulen <= 0 || (size_t)ulen >= sizeof(h->path))
            snprintf(h->path, sizeof(h->path), "/api/?");
        else
            snprintf(h->path, sizeof(h->path), "%.*s", ulen, uri);
        if (lws_hdr_copy(wsi, h->auth, sizeof(h->auth), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
            h->auth[0] = '\0';
        if (lws_hdr_copy(wsi, h->query, sizeof(h->query), WSI_TOKEN_HTTP_URI_ARGS) < 0)
            h->query[0] = '\0';
        if (h->method == HTTP_API_POST &&
            lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
            strtoull(clen, NULL, 10) > 0) {
            if (strtoull(clen, NULL, 10) > s->cfg->http_body_max) {
                h->body_too_large = true;
                http_respond(s, wsi, h);
            }
            http_body_wait(s, h, true);
            return 0; /* the body follows */
        }
        http_respond(s, wsi, h);
        return 0;

    case LWS_CALLBACK_HTTP_BODY:
        if (h->responded || h->body_too_large)
            return 0;
        if (h->body_len + len > s->cfg->http_body_max) {
            h->body_too_large = true;
            return 0;
        } else {
            char *nb = realloc(h->body, h->body_len + len + 1);
            if (!nb)
                return -1;
            h->body = nb;
            memcpy(h->body + h->body_len, in, len);
            h->body_len += len;
        }
        return 0;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        http_body_wait(s, h, false);
        if (!h->responded)
            http_respond(s, wsi, h);
        return 0;

    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!h->responded || h->waiting || !h->resp)
            return 0;
        return http_write(wsi, h);

    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        /* A connection that closes before its request was read (a silent
         * peer dropped by the handshake timeout) has no pss. */
        if (h) {
            waits_forget(&s->waits, h);
            export_forget(h);
            http_body_wait(s, h, false);
            http_req_reset(h);
        }
        return 0;

    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ---- ticks ------------------------------------------------------------------ */

/* One pass per slot: the groups of this slot whose step clock runs get
 * their tick, encoded once per room, replacing any tick still waiting in a
 * queue. Each group is served once a second. */
static void server_tick_slot(struct server *s, unsigned slot, int64_t now)
{
    for (struct hub_group *g = s->ticking[slot]; g; g = g->tick_next) {
        json_t *j = proto_tick_json(g->room, now);
        struct fan_msg *m = j ? fan_msg_new(j, LWS_PRE, true) : NULL;

        json_decref(j);
        for (struct conn *c = g->conns; m && c; c = c->next)
            conn_push(s, c, m);
        fan_msg_unref(m);
    }
}

/* glibc keeps freed memory for reuse; give it back once many connections
 * have gone (a meeting hour ended), so that an idle server shrinks to its
 * baseline. Once nobody is left, server_timer trims a second later instead,
 * when lws has freed the last connections too. */
static void server_trim(struct server *s)
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
 * (its payload) breaks the silence. One pass over every connection
 * instead of a timer each: lws keeps its timers in a sorted list, and
 * re-sorting them on every pong cost 20-27% of the CPU at 10-18k. */
static void server_sweep(struct server *s, int64_t mono)
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
        } else if (silent >= idle && mono - c->ping_ms >= idle) {
            c->ping_ms = mono;
            c->ping_due = true;
            conn_dirty(s, c);
        }
    }
    server_peers_sweep(s, mono);
    server_views_trim(s, false);
    server_trim(s);
}

/* ---- idle sessions and unused groups ----------------------------------------- */

#define SERVER_LIFECYCLE_BATCH  64    /* groups closed or deleted per pass */
#define SERVER_LIFECYCLE_MAX_MS 60000 /* passes at least this often */
#define SERVER_LIFECYCLE_MIN_MS 1000  /* and at most once a second */

/* Milliseconds between two passes: a quarter of the shorter idle delay,
 * within [SERVER_LIFECYCLE_MIN_MS, SERVER_LIFECYCLE_MAX_MS]. */
static int64_t server_lifecycle_period(const struct server *s)
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
    struct room *r = g->room;
    struct room_cmd cmd = {.type = CMD_SESSION_CLOSE};
    char uuid[AUTH_UUID_LEN + 1];
    uint64_t seq = 0, token;
    bool dup = false;
    int rc;

    /* A fresh id: a client may send any id, and one equal to ours would
     * make our close a duplicate of theirs. */
    auth_uuid_new(uuid);
    snprintf(cmd.id, sizeof(cmd.id), "idle-close-%s", uuid);
    rc = r->facilitator < 0 ? CODEV_E_INTERNAL
                            : room_apply(r, r->facilitator, &cmd, now, &seq, &dup);
    if (rc || dup) {
        room_outbox_clear(r);
        log_warn("group %s: idle session %s not closed: %s", g->id, r->session_id,
                 codev_err_name(rc));
        g->room_active_ms = now; /* try again after another idle period */
        return;
    }
    for (size_t i = 0; i < r->nout; i++)
        group_send(s, g, proto_event_json(r, &r->out[i], now), &r->out[i], NULL);
    room_outbox_clear(r);
    hub_sync(s->hub, g);
    r = g->room; /* hub_sync may have replaced it by its text-free version */
    group_tick_update(s, g);
    log_info("group %s: session %s closed after %u s without a command", g->id,
             r->session_id, s->cfg->session_idle_close_s);
    token = ++s->next_token;
    if (store_submit_cmd(s->store, r, r->facilitator, &cmd, now, seq, token) ||
        server_wait_push(s, token, WAITS_NONE, NULL, NULL)) {
        log_err("group %s: idle close not journaled", g->id);
        return;
    }
    token = ++s->next_token;
    if (store_submit_session_close(s->store, g, now, token) ||
        server_wait_push(s, token, WAITS_NONE, NULL, NULL))
        log_err("group %s: close not journaled (finished at the next start)", g->id);
}

/* Deletes g, which never opened a session and was idle group_idle_expire_s. */
static void group_expire(struct server *s, struct hub_group *g)
{
    uint64_t token = ++s->next_token;

    if (store_submit_group_delete(s->store, g->id, token) ||
        server_wait_push(s, token, WAITS_NONE, NULL, NULL)) {
        log_err("group %s: expiry not journaled", g->id);
        return;
    }
    server_group_drop(s, g, "never opened a session, expired");
}

/*
 * One pass over the groups (cheap: a comparison or two per group): open
 * sessions idle for session_idle_close_s are closed, groups that never
 * opened a session, idle for group_idle_expire_s and with nobody connected
 * are deleted; SERVER_LIFECYCLE_BATCH of each at most, the rest at the next
 * pass. Also saves an invite that start-up replaced. Runs at start and from
 * the timer, which keeps a slow beat while nobody is connected.
 */
static void server_lifecycle(struct server *s)
{
    struct hub_group *close[SERVER_LIFECYCLE_BATCH], *expire[SERVER_LIFECYCLE_BATCH];
    size_t nclose = 0, nexpire = 0;
    int64_t now = now_ms(), idle_ms = (int64_t)s->cfg->session_idle_close_s * 1000,
            expire_ms = (int64_t)s->cfg->group_idle_expire_s * 1000;

    for (size_t b = 0; b < s->hub->nbuckets; b++) {
        for (struct hub_group *g = s->hub->buckets[b]; g; g = g->next) {
            group_save_rotated(s, g, now);
            if (g->room && g->room->step != STEP_CLOSED) {
                if (now - g->room_active_ms >= idle_ms && nclose < SERVER_LIFECYCLE_BATCH)
                    close[nclose++] = g;
            } else if (!g->opened_once && !g->room && !g->conns &&
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
static void server_timer(struct server *s)
{
    uint64_t expired = 0;
    int64_t now = now_ms(), mono = mono_ms();

    if (read(s->timer_fd, &expired, sizeof(expired)) != (ssize_t)sizeof(expired))
        return; /* EAGAIN: nothing due */
    if (expired > TICK_SLOTS)
        expired = TICK_SLOTS; /* a tick per room is enough to catch up */
    while (expired--) {
        server_tick_slot(s, s->tick_slot, now);
        if (s->tick_slot == 0)
            server_sweep(s, mono);
        s->tick_slot = (s->tick_slot + 1) % TICK_SLOTS;
    }
    if (mono - s->lifecycle_mono >= server_lifecycle_period(s)) {
        s->lifecycle_mono = mono;
        server_lifecycle(s);
    }
    /* Nobody connected: nothing ticks (a room ticks only for its
     * connections), nobody needs a ping and no HTTP deadline runs. */
    if (s->nconns || s->peers) {
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
        server_timer_arm(s, false);
    }
}

static int callback_timer(struct lws *wsi, enum lws_callback_reasons reason, void *user,
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
        server_timer(s);
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
static int server_timer_arm(struct server *s, bool on)
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
        /* Nobody connected: a slow beat, for server_lifecycle only. */
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
static int server_timer_start(struct server *s)
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
    return server_timer_arm(s, false);
}

/* Adds each listening socket to the loop (callback_listen accepts). */
static int server_listen_start(struct server *s)
{
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "codevd");
    lws_sock_file_fd_type fd;

    for (size_t i = 0; i < s->lst.nfds; i++) {
        fd.filefd = s->lst.fds[i];
        s->lst_wsi[i] = vh ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd,
                                                        "codev-listen", NULL)
                           : NULL;
        if (!s->lst_wsi[i]) {
            log_err("cannot add the listening socket to the event loop");
            s->lst.fds[i] = -1; /* as for the timer: whether lws closed it is not said */
            return -1;
        }
    }
    return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);

    while (n && line[n - 1] == '\n')
        n--;
    if (level & LLL_ERR)
        log_err("lws: %.*s", (int)n, line);
    else if (level & LLL_WARN)
        log_warn("lws: %.*s", (int)n, line);
    else
        log_info("lws: %.*s", (int)n, line);
}

static const struct lws_protocols protocols[] = {
    {"http", callback_http, sizeof(struct http_req), 0, 0, NULL, 0},
    /* rx_buffer_size: client messages are small (a command with a 300
     * character card is about 400 bytes); a longer one arrives in several
     * pieces and is reassembled in conn.rx. Kept small because lws
     * allocates it for every connection. */
    /* tx_packet_size: a batched frame goes to send() whole; by default lws
     * would cut every write at rx_buffer_size and queue the rest. */
    {PROTO_NAME, callback_codev, sizeof(struct conn), 512, 0, NULL,
     SERVER_MAX_FRAME + 16},
    {"codev-timer", callback_timer, 0, 0, 0, NULL, 0},
    {"codev-listen", callback_listen, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const char *server_loop_name(const struct server *s)
{
#if defined(SERVER_UV)
    if (s->uv)
        return "epoll (libuv)";
#endif
    (void)s;
    return "poll";
}

#if defined(SERVER_UV)
static void server_prepare_cb(uv_prepare_t *h)
{
    server_flush(h->data);
}
#endif

/* Opens the store and loads every group and open session into the hub. */
static int server_store_open(struct server *s)
{
    struct store_options opts = {
        .data_dir = s->cfg->data_dir,
        .wake = server_wake,
        .wake_arg = s,
    };
    struct store_load_report rep;
    int rc;

    rc = store_open(&opts, &s->store);
    if (rc) {
        log_err("cannot open the store under %s: %s", s->cfg->data_dir,
                codev_err_name(rc));
        return -1;
    }
    rc = store_load(s->store, s->hub, now_ms(), &rep);
    if (rc) {
        log_err("cannot load the store: %s", codev_err_name(rc));
        return -1;
    }
    log_notice(
        "store: schema v%d, %zu groups, %zu members, %zu plans, %zu sessions rebuilt "
        "(%zu records replayed, %zu mismatches), %zu sessions finalized",
        store_schema_version(s->store), rep.groups, rep.members, rep.plans,
        rep.sessions_rebuilt, rep.records_replayed, rep.replay_mismatches,
        rep.sessions_finalized);
    if (rep.replay_mismatches)
        log_warn("store: %zu journal records replayed differently and were skipped",
                 rep.replay_mismatches);
    return 0;
}

struct server *server_new(const struct config *cfg)
{
    struct lws_context_creation_info info;
    struct server *s = calloc(1, sizeof(*s));
    int lws_levels = LLL_ERR | LLL_WARN;
    char err[300];
    bool epoll_only;

    if (!s)
        return NULL;
    s->timer_fd = -1;
    s->lst.reserve_fd = -1;
    if (getenv("CODEVD_TIME_OFFSET_MS")) {
        time_offset_ms = strtoll(getenv("CODEVD_TIME_OFFSET_MS"), NULL, 10);
        log_warn("clock shifted by %lld ms (CODEVD_TIME_OFFSET_MS)",
                 (long long)time_offset_ms);
    }
    s->cfg = cfg;
    s->limits = (struct proto_limits){.max_bytes = cfg->ws_max_message,
                                      .max_depth = (int)cfg->json_max_depth};
    s->scratch = malloc(SERVER_SCRATCH);
    s->hub = hub_new(cfg);
    s->http_addrs = rate_table_new(SERVER_HTTP_ADDR_SLOTS);
    if (!s->scratch || !s->hub || !s->http_addrs)
        goto fail;
    /* Bind first: a busy port or a wrong address stops here, before the
     * store is touched. */
    if (listener_open(&s->lst, cfg->listen, (uint16_t)cfg->port, err, sizeof(err))) {
        log_err("cannot start: %s (listen = %s, port = %u)", err,
                cfg->listen ? cfg->listen : "all interfaces", cfg->port);
        goto fail;
    }
    if (server_store_open(s) || export_thread_start(s))
        goto fail;

    s->headers[0] = (struct lws_protocol_vhost_options){&s->headers[1], NULL,
                                                        "content-security-policy:", csp};
    s->headers[1] = (struct lws_protocol_vhost_options){
        &s->headers[2], NULL, "referrer-policy:", "no-referrer"};
    s->headers[2] = (struct lws_protocol_vhost_options){
        &s->headers[3], NULL, "x-content-type-options:", "nosniff"};
    s->headers[3] = (struct lws_protocol_vhost_options){&s->headers[4], NULL,
                                                        "x-frame-options:", "DENY"};
    s->headers[4] = (struct lws_protocol_vhost_options){
        NULL, NULL, "permissions-policy:", "camera=(), microphone=(), geolocation=()"};
    /* Over https, every answer (the API's, the files', the errors') tells
     * the browser to come back over https only, for a year. */
    s->headers[5] = (struct lws_protocol_vhost_options){
        NULL, NULL, "strict-transport-security:", "max-age=31536000"};
    if (cfg->tls_cert)
        s->headers[4].next = &s->headers[5];
    s->mimetypes[0] = (struct lws_protocol_vhost_options){&s->mimetypes[1], NULL, ".json",
                                                          "application/json"};
    s->mimetypes[1] = (struct lws_protocol_vhost_options){&s->mimetypes[2], NULL, ".mjs",
                                                          "text/javascript"};
    s->mimetypes[2] =
        (struct lws_protocol_vhost_options){NULL, NULL, ".svg", "image/svg+xml"};

    s->mount_api = (struct lws_http_mount){
        .mount_next = &s->mount_web,
        .mountpoint = "/api",
        .mountpoint_len = 4,
        .origin = "http",
        .protocol = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    s->mount_web = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = cfg->web_dir,
        .def = "index.html",
        .extra_mimetypes = s->mimetypes,
        .origin_protocol = LWSMPRO_FILE,
    };
    /* All zero: no lws keep-alive timers (server_sweep does it). */
    s->retry = (lws_retry_bo_t){0};

    if (log_level_current >= LOG_LEVEL_NOTICE)
        lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, lws_log_emit);

    memset(&info, 0, sizeof(info));
    /* lws does not listen: listener.c does, and hands each connection over
     * (server_accept). lws 4.1 binds the wrong address and spins on EMFILE. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.mounts = &s->mount_api;
    info.headers = s->headers;
    info.user = s;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.timeout_secs = cfg->handshake_timeout_s;
    info.timeout_secs_ah_idle = cfg->handshake_timeout_s; /* a silent new connection */
    info.retry_and_idle_policy = &s->retry;
    /* No fd_limit_per_thread: lws then sizes its descriptor table from the
     * process limit (raised in main.c) and finds a connection by index; a
     * set limit makes it search linearly (measured: 19 % of the CPU at 10k
     * connections). connections_max is enforced here, not by lws. */
    info.vhost_name = "codevd";
    if (cfg->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* TLS 1.2 at least; on 1.2, forward-secret AEAD suites only. */
        info.ssl_cipher_list = SERVER_TLS12_CIPHERS;
        info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                               SSL_OP_CIPHER_SERVER_PREFERENCE;
    }
    epoll_only = strcmp(cfg->event_loop, "epoll") == 0;
#if defined(SERVER_UV)
    if (strcmp(cfg->event_loop, "poll") != 0) {
        /* lws loads the libuv plugin and runs on our loop. */
        void *loops[1] = {&s->loop};
        uv_loop_init(&s->loop);
        info.options |= LWS_SERVER_OPTION_LIBUV;
        info.foreign_loops = loops;
        s->ctx = lws_create_context(&info);
        info.foreign_loops = NULL;
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBUV;
        s->uv = s->ctx != NULL;
        if (!s->uv) {
            uv_loop_close(&s->loop);
            if (epoll_only)
                log_err("event_loop = epoll, but libwebsockets could not start on libuv "
                        "(is libwebsockets-evlib-uv installed?)");
            else
                log_warn("libwebsockets could not start on libuv (is "
                         "libwebsockets-evlib-uv installed?); falling back to poll()");
        }
    }
#else
    if (epoll_only)
        log_err("event_loop = epoll: this libwebsockets was built without libuv");
#endif
    if (!s->ctx && !epoll_only)
        s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        log_err("cannot start: libwebsockets context creation failed");
        goto fail;
    }
    if (server_timer_start(s) || server_listen_start(s))
        goto fail;
    server_lifecycle(s); /* what went idle or expired while codevd was down */
#if defined(SERVER_UV)
    if (s->uv) {
        uv_prepare_init(&s->loop, &s->prepare);
        s->prepare.data = s;
        uv_prepare_start(&s->prepare, server_prepare_cb);
        s->prepare_on = true;
    }
#endif
    atomic_store(&s->wake_ok, true);
    lws_cancel_service(s->ctx); /* drain what committed before the loop ran */
    log_notice("codevd %s listening on %s (%s, %s loop), web client from %s",
               CODEVD_VERSION, s->lst.bound, cfg->tls_cert ? "https/wss" : "http/ws",
               server_loop_name(s), cfg->web_dir);
    return s;
fail:
    server_free(s);
    return NULL;
}

int server_run(struct server *s)
{
    /* On libuv, the loop runs until server_stop (uv_stop in
     * LWS_CALLBACK_EVENT_WAIT_CANCELLED), and the prepare handle flushes
     * before each sleep. On poll, lws_service returns after each wake-up:
     * flush then. */
#if defined(SERVER_UV)
    if (s->uv) {
        while (!s->stopping)
            uv_run(&s->loop, UV_RUN_DEFAULT);
    }
#endif
    while (!s->stopping) {
        if (lws_service(s->ctx, 0) < 0)
            return -1;
        server_flush(s);
    }
    log_notice("stopping: %zu connections, %zu groups, %zu open sessions", s->nconns,
               s->hub->ngroups, s->hub->open_sessions);
    return 0;
}

void server_stop(struct server *s)
{
    s->stopping = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

void server_free(struct server *s)
{
    if (!s)
        return;
    /* The writer commits what is queued and stops before the context goes. */
    atomic_store(&s->wake_ok, false);
    export_thread_stop(s);
    store_close(s->store);
    s->store = NULL;
    if (s->ctx) {
#if defined(SERVER_UV)
        if (s->prepare_on) {
            uv_prepare_stop(&s->prepare);
            uv_close((uv_handle_t *)&s->prepare, NULL);
        }
#endif
        lws_context_destroy(s->ctx); /* closes the timer's wsi and its fd too */
#if defined(SERVER_UV)
        if (s->uv) {
            /* On a foreign loop, lws 4.1 closes its handles from the loop
             * and frees the context only when destroyed a second time. */
            int tries = 100;
            uv_run(&s->loop, UV_RUN_DEFAULT);
            lws_context_destroy(s->ctx);
            while (uv_loop_close(&s->loop) == UV_EBUSY && --tries)
                uv_run(&s->loop, UV_RUN_NOWAIT);
            if (!tries)
                log_warn("event loop: handles still open at exit");
        }
#endif
    }
    if (s->timer_fd >= 0)
        close(s->timer_fd);
    listener_close(&s->lst); /* what lws did not close with the context */
    while (s->peers)         /* only when the context was never made */
        peer_release(s, s->peers);
    free(s->dirty);
    waits_free(&s->waits, server_json_free);
    for (size_t b = 0; b < SERVER_IP_BUCKETS; b++) {
        while (s->ips[b]) {
            struct ip_count *next = s->ips[b]->next;
            free(s->ips[b]);
            s->ips[b] = next;
        }
    }
    server_views_trim(s, true);
    hub_free(s->hub);
    rate_table_free(s->http_addrs);
    free(s->scratch);
    free(s);
}
