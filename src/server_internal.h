/*
 * server_internal.h - what the edge's files share: struct server and the
 * per-connection and per-request state, and the few functions one file
 * calls in another. Not a public header: only the edge's files below
 * include it (main.c sees server.h).
 *
 * The edge's files, one job each:
 *   server.c    the lws context, the loop, start and stop.
 *   server_life.c  the SIGTERM drain and the SIGHUP reload.
 *   peer.c      accepted connections: listening sockets, counts per
 *               address, adoption into lws, the HTTP deadlines.
 *   conn.c      a WebSocket's life: upgrade, receive and reassembly, the
 *               outgoing queue, direct flush, keep-alive pings, close frames.
 *   dispatch.c  the broker: hello, session_open, commands, journaling and
 *               ack-after-commit (waits.c keeps the order), welcome views.
 *   http.c      the HTTP edge: requests, budgets, API answers, the export
 *               thread, responses in slices.
 *   timer.c     the timerfd: tick slots, keep-alive sweep, idle closes and
 *               expiries, memory trim.
 *   observe.c   GET /metrics and /readyz: what the server is doing, read
 *               when asked (the counters are metrics.c's).
 *
 * Invariants (for every function declared here unless it says otherwise):
 * ONLY called from the lws service thread; nothing blocks; a struct conn
 * or struct http_req is lws's per-session data, never freed by us.
 */
#ifndef CODEV_SERVER_INTERNAL_H
#define CODEV_SERVER_INTERNAL_H

#include "codevd_config.h"

#if defined(CODEVD_HAVE_LIBUV)
#include <uv.h> /* before libwebsockets.h, which then declares its libuv helpers */
#endif
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "fanout.h"
#include "http_api.h"
#include "hub.h"
#include "listener.h"
#include "metrics.h"
#include "protocol.h"
#include "ratelimit.h"
#include "server.h"
#include "store.h"
#include "waits.h"
#include "webfiles.h"

#if defined(CODEVD_HAVE_LIBUV) && defined(LWS_WITH_LIBUV)
#define SERVER_UV 1 /* the event_loop setting can choose epoll (libuv) */
#endif

/* The constants the shared structs need, or several files; each file keeps
 * its own. */
#define SERVER_SCRATCH   (256 * 1024) /* batch frame buffer, LWS_PRE included */
#define SERVER_MAX_FRAME (64 * 1024)  /* bytes of one batched frame */
/* Ticks are spread over the second: a group ticks in one of TICK_SLOTS
 * slots (by its id), and one pass every 1/TICK_SLOTS s serves one slot, so
 * thousands of rooms never tick in the same instant. */
#define TICK_SLOTS        50
#define TICK_SLOT_US      (1000 * 1000 / TICK_SLOTS)
#define SERVER_IP_BUCKETS 1024 /* the counts per address, hashed */
#define SERVER_PING_LEN   16   /* a ping's payload: 8 random bytes in hex */
/* Encoded room views (the snapshot without its clock) kept for joiners
 * arriving together: keyed by session, room version and viewer; an entry
 * no connection still writes is dropped by the next sweep. */
#define SERVER_VIEW_SLOTS      16
#define SERVER_HTTP_ADDR_SLOTS 4096 /* the HTTP budgets per address, hashed */

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
    PEER_H2,        /* HTTP/2: idle while no stream is open (peer.streams), and
                       then under the header deadline again */
    PEER_UPGRADED,  /* a WebSocket (over HTTP/1.1 or HTTP/2): its own keep-alive */
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
    bool metrics;     /* came in on the metrics port: /metrics and /readyz only */
    bool in_upgraded; /* in server.peers_upgraded, not server.peers */
    int64_t since_ms; /* monotonic ms the state's deadline counts from */
    uint32_t streams; /* PEER_H2: requests open (HTTP/2 streams) */
    struct peer *prev, *next; /* server.peers or server.peers_upgraded */
};

struct conn {
    /* Fields in order of size, so that the struct has no holes: lws
     * allocates one per WebSocket (memory per connection, issue 15). */
    struct lws *wsi;
    uint64_t id;                 /* for logs */
    struct hub_group *group;     /* set once attached */
    const struct room *idx_room; /* room the cached index belongs to */
    struct conn *prev, *next;    /* the group's list */
    struct fan_queue q;
    unsigned char *rx; /* message being reassembled */
    size_t rx_len;
    struct bucket commands; /* command rate */
    struct bucket checks;   /* question_check rate */
    const char *close_reason;
    int64_t rx_ms;       /* monotonic ms of the last frame or answered ping */
    int64_t stall_ms;    /* monotonic ms since the socket took none of what lws
                            holds for it (0: not stalled): a peer that sends
                            but never reads is dropped however alive it looks */
    int64_t ping_ms;     /* monotonic ms of the last ping sent */
    struct ip_count *ip; /* its peer address's count (borrowed from its peer), or NULL */
    int64_t open_ms;     /* monotonic ms of the upgrade, for hello_timeout_s */
    struct conn *all_prev, *all_next; /* server.all: every WebSocket */
    /* A large or spliced message being written in slices (SERVER_SLICE). */
    struct fan_msg *out; /* one reference, or NULL */
    size_t out_off;      /* bytes of it written */
    int idx;             /* member index in idx_room */
    int close_code;      /* when non-zero: close after the queue drains */
    uint32_t inflight;   /* acks waiting in server.waits */
    uint32_t dirty_at;   /* 1 + index in server.dirty, or 0 */
    /* The payload of our last ping (random, new for each ping): only a pong
     * that carries it shows the peer reads what we send; an unsolicited
     * pong, or one with another payload, proves nothing and is ignored. */
    unsigned char ping_payload[SERVER_PING_LEN];
    char member_id[AUTH_UUID_LEN + 1];
    /* A room view this connection is owed (enum conn_owed): its room has
     * records in flight, and a view may show only what is committed. Until
     * it goes (dispatch.c, once the room has nothing in flight), nothing of
     * the group is sent to it: the view will hold it. */
    uint8_t owed;
    bool rx_discard; /* the rest of an oversized/binary message */
    bool rx_binary;
    bool counted;      /* counted in server.nconns */
    bool direct;       /* may write outside WRITEABLE (a plain TCP/TLS socket) */
    bool peer_closing; /* the peer sent a close frame: write nothing more */
    bool ping_due;     /* a keep-alive ping waits to be written */
    bool close_sent;   /* our close frame is written: wait for the peer's */
    bool unauth;       /* counted in ip->unauth: no hello accepted yet */
    bool display;      /* attached with the group's display token: reads the
                          session as ROOM_PUBLIC, sends nothing, no presence */
    bool ping_waiting; /* a ping went out and its pong has not come back */
};

/* The edge's own state for a group (hub_group.edge): made by the first
 * hello, freed by timer_group_update once nobody is attached and the group
 * is out of its tick slot. */
struct group_edge {
    struct hub_group *group;                  /* whose it is (borrowed) */
    struct conn *conns;                       /* attached connections */
    struct group_edge *tick_prev, *tick_next; /* its tick slot's list */
    bool ticking;                             /* in that list */
    uint32_t pending;  /* records of the group in flight, their events held */
    bool rollback;     /* one failed: the room must be rebuilt from the store
                          once none is in flight (dispatch.c) */
    uint32_t failures; /* records of the group that failed, ever */
    bool retrying;     /* its rollback could not read the store: counted in
                          server.rollbacks_due, retried once a second */
    /* The facilitator's absence (facilitator_grace_s): listed in server.away
     * from their last connection's close until they come back, the grace
     * runs out or nobody is left attached. */
    bool away_listed;
    int64_t away_mono;                        /* monotonic ms the absence began */
    struct group_edge *away_prev, *away_next; /* server.away */
    int offered; /* room index of the member offered the role (not journaled), or -1 */
    bool moved;  /* a cluster: a record failed CODEV_E_MOVED (another node took
                    the group): dropped once none is in flight (commit.c) */
};

/* What room view a connection is owed (conn.owed). */
enum conn_owed { OWED_NONE, OWED_WELCOME, OWED_SESSION, OWED_DISPLAY };

/* g's attached connections (borrowed), or NULL. */
static inline struct conn *group_conns(const struct hub_group *g)
{
    return g->edge ? ((struct group_edge *)g->edge)->conns : NULL;
}

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
    char client[RATE_ADDR_LEN]; /* the client's address (peer_client_addr) */
    const char *content_type;   /* of resp */
    const char *filename;       /* Content-Disposition attachment name, or NULL */
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
    bool body_cut;   /* still open a while after: its connection was cut */
    int64_t body_ms; /* monotonic ms the headers were in */
    bool h2_stream;  /* counted in its peer's streams (kept across resets) */
    struct http_req *body_prev, *body_next;
    /* A web client file's answer (webfiles.c), written like resp. */
    const struct web_rep *web; /* the representation sent (shared), or NULL */
    bool no_body;              /* HEAD or 304: the headers only */
    bool web_immutable;        /* under the current /v/<version>/: cached for good */
    bool draining;             /* written; HTTP/2: waits for the connection's buffer */
    uint8_t route;             /* its route id for the metrics (observe_request) */
    uint8_t mx_method;         /* its enum metrics_method */
};

/* An export made on the export thread: the request's job, then its answer
 * (written by the export thread before it hands the task back). */
struct export_task {
    struct export_task *next;
    struct http_api_job *job; /* owned */
    struct http_req *h;       /* loop thread only: NULL once the request is gone */
    atomic_bool cancelled;    /* the request is gone: the thread skips the work */
    int status;
    unsigned char *resp; /* LWS_PRE + body, or NULL */
    size_t resp_len;
    const char *content_type; /* static */
    const char *filename;     /* static, or NULL */
};

struct server {
    const struct config *cfg;
    struct config *live; /* cfg, writable: a SIGHUP reload changes it (server.c) */
    server_load_fn load; /* makes the fresh config of a reload, or NULL */
    void *load_arg;
    struct rate_proxies proxies;        /* trusted_proxies, parsed */
    void *tls_ctx;                      /* the vhost's SSL_CTX (TLS only), for a reload */
    volatile sig_atomic_t drain_asked;  /* SIGTERM: drain, then stop */
    volatile sig_atomic_t reload_asked; /* SIGHUP: re-read the config */
    bool draining;                      /* the drain has begun (loop thread) */
    int64_t drain_deadline;             /* monotonic ms: stop by then */
    char going_away[48]; /* the close reason of the drain: "going_away retry_ms=N" */
    struct lws_context *ctx;
    struct hub *hub;
    struct store *store;
    struct waits waits;
    uint64_t next_token;
    /* The store failed a record: commands and changing HTTP calls are
     * refused at once (store_unavailable), but for one trial a second
     * (commit_store_ready), until a record submitted after the failure
     * (resume_token) commits. */
    bool store_failing;
    int64_t trial_mono;     /* monotonic ms of the last trial */
    uint64_t resume_token;  /* tokens above it were submitted after the failure */
    size_t rollbacks_due;   /* groups whose rollback waits for a readable store */
    size_t moved_due;       /* groups whose edge is moved with nothing in flight: dropped
                               once the record that settled them is delivered (commit.c) */
    int64_t time_offset_ms; /* test_time_offset_s, in ms (server_now_ms) */
    atomic_bool wake_ok;    /* the writer thread may wake the loop */
    int timer_fd;           /* timerfd, TICK_SLOT_US period */
    bool timer_on;          /* armed (someone is connected) */
    struct group_edge *ticking[TICK_SLOTS]; /* groups whose clock runs, by slot */
    struct group_edge *away;                /* groups whose facilitator is away */
    unsigned tick_slot;                     /* the slot the next pass serves */
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
    uv_prepare_t prepare; /* runs conn_flush_dirty before each sleep */
#endif
    struct ip_count *ips[SERVER_IP_BUCKETS];
    struct rate_bucket exports;    /* the exports of the whole server */
    struct rate_bucket creates;    /* groups created on the whole server */
    struct rate_bucket claims;     /* a cluster's takeovers tried (cluster.c) */
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
    uint32_t export_queued; /* loop thread: tasks submitted, not yet drained */
    struct view_entry views[SERVER_VIEW_SLOTS];
    struct listener lst;               /* our listening sockets */
    struct lws *lst_wsi[LISTENER_MAX]; /* each adopted into the loop */
    struct listener mlst;              /* the metrics port's (metrics_port) */
    struct lws *mlst_wsi[LISTENER_MAX];
    /* Every accepted connection is in one of two lists: a WebSocket's,
     * which no header deadline concerns any more, moves to peers_upgraded
     * at the next sweep, so that the sweep's walk (once a second) visits
     * only those that may still be under a deadline. */
    struct peer *peers;
    struct peer *peers_upgraded;
    struct http_req *bodies;        /* requests whose body is being read */
    struct peer *adopting;          /* the one being handed to lws, or NULL */
    size_t npeers;                  /* counted against the limits */
    size_t nrefusing;               /* over a limit, being told so */
    uint64_t shed;                  /* closed at accept (EMFILE), not logged */
    int64_t shed_log_ms;            /* mono ms of the last such log line */
    uint64_t over;                  /* accepted over a limit, not logged */
    int64_t over_log_ms;            /* mono ms of the last such log line */
    int64_t start_mono, start_wall; /* ms, when server_new began (uptime) */
    unsigned char *scratch;
    char *csp; /* the Content-Security-Policy header's value (frame_ancestors) */
    struct proto_limits limits;
    struct lws_protocol_vhost_options headers[6];
    struct lws_http_mount mount_api;
    struct lws_http_mount mount_web;
    struct web_files *web; /* the web client's files, read at start (webfiles.c) */
    lws_retry_bo_t retry;
};

/* ---- server.c: the context ---------------------------------------------------- */

/* The server a wsi belongs to (borrowed). */
static inline struct server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* Wall-clock ms, shifted by test_time_offset_s (a test-only setting). */
static inline int64_t server_now_ms(const struct server *s)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + s->time_offset_ms;
}

/* Monotonic ms, for intervals: keep-alive, deadlines and the timer. */
static inline int64_t server_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: another thread (the store's writer,
 * the export thread) or server_stop woke the loop. Delivers what the store
 * committed and what the export thread finished; stops a libuv loop that
 * is stopping. */
void server_woken(struct server *s);

/* The settings derived from the config (limits, trusted proxies, the hub's
 * caps), at start and at each reload. */
void server_apply_derived(struct server *s);

/* lws's log lines, into ours (request headers withheld). */
void server_lws_log_emit(int level, const char *line);

/* ---- server_life.c: drain (SIGTERM) and reload (SIGHUP) --------------------- */

/* Re-reads the config (SIGHUP) and applies what may change while running. */
void server_reload_now(struct server *s);

/* Begins the drain (server_drain asked for it). */
void server_drain_begin(struct server *s);

/* While draining, once per loop iteration: stops the loop when every
 * WebSocket is gone and nothing waits for the journal, or at the deadline. */
void server_drain_check(struct server *s);

/* ---- peer.c: accepted connections ------------------------------------------- */

/* The peer of wsi (a WebSocket, an HTTP/2 stream or the connection itself),
 * or NULL. Borrowed. */
struct peer *peer_of(struct lws *wsi);

/* Moves p (may be NULL) to state, restarting its deadline; an upgraded
 * peer stays upgraded. */
void peer_set_state(struct peer *p, enum peer_state state);

/* An HTTP/2 stream of p's ended: with none left, the connection is idle and
 * under the header deadline again (peer_sweep). p may be NULL. Loop. */
void peer_stream_closed(struct peer *p);

/* LWS_CALLBACK_WSI_DESTROY of any wsi: when it is an accepted connection,
 * its counts go and it is freed. */
void peer_wsi_destroyed(struct server *s, struct lws *wsi);

/* Logs, once a second at most, the connections shed at accept (out of
 * descriptors) and refused over a limit, counted in s->shed and s->over. */
void peer_edge_log(struct server *s, int64_t mono);

/* Frees e (an address's counts) once nothing counts on it. NULL is a no-op. */
void ip_count_gc(struct server *s, struct ip_count *e);

/* Writes in out the address the per-address limits count for the request
 * or WebSocket wsi, whose headers are still there: its TCP peer, or behind
 * a trusted proxy (trusted_proxies) the client X-Forwarded-For names
 * (rate_client_addr). Returns true when that came from the header. */
bool peer_client_addr(struct server *s, struct lws *wsi, char out[RATE_ADDR_LEN]);

/* The counts of the client of the WebSocket wsi (its headers still there):
 * its peer's, or behind a trusted proxy those of the address
 * X-Forwarded-For names (made when new; kept while something counts on
 * it). NULL when there is none (out of memory, no peer). */
struct ip_count *peer_client_count(struct server *s, struct lws *wsi);

/* Stops accepting: the listening sockets are closed (the drain). */
void peer_listen_stop(struct server *s);

/* The HTTP header deadline, once a second (the sweep): a connection whose
 * request headers are not all in within http_header_timeout_s is closed.
 * Also logs what peer_edge_log still counts. */
void peer_sweep(struct server *s, int64_t mono);

/* lws protocol "codev-listen": a listening socket is readable. */
int peer_listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len);

/* Adds each listening socket to the loop. Returns 0, or -1 (logged). */
int peer_listen_start(struct server *s);

/* Frees every peer and address count left (at exit, when the context was
 * never made or lws did not destroy them). */
void peer_free_all(struct server *s);

/* ---- conn.c: WebSocket connections ------------------------------------------- */

/* lws protocol "codev.v1": the WebSocket's callback. */
int conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* The member's index in the group's current room (cached per room), or -1;
 * ROOM_PUBLIC for a display connection. */
int conn_member_idx(struct conn *c);

/* Asks for c to be closed with code and reason (static) once what is queued
 * is written; the first call wins. Bounded by a 5 s lws timeout. */
void conn_close_later(struct conn *c, int code, const char *reason);

/* Marks c for the next conn_flush_dirty. */
void conn_dirty(struct server *s, struct conn *c);

/* Queues m (borrowed: the queue takes its own reference) on c; a connection
 * over out_queue_frames / out_queue_bytes is closed as a slow consumer.
 * m may be NULL (a failed encoding): nothing happens. */
void conn_push(struct server *s, struct conn *c, struct fan_msg *m);

/* Encodes j (stolen; may be NULL) once and queues it on c. */
void conn_send(struct server *s, struct conn *c, json_t *j);

/* Queues the error frame for code (with the command id, or NULL) on c. */
void conn_error(struct server *s, struct conn *c, const char *id, int code);

/* Encodes j (stolen) once and queues it on every attached connection of g
 * that may see it: all when ev is NULL, else as room_event_visible says;
 * except (may be NULL) is skipped. */
void group_send(struct server *s, struct hub_group *g, json_t *j,
                const struct room_event *ev, const struct conn *except);

/* c said hello (or closed before): it no longer counts against
 * unauth_per_ip. */
void conn_unauth_release(struct server *s, struct conn *c);

/* Once per loop iteration, before the loop sleeps: every dirty connection
 * writes what it has, in as few frames as it fits. */
void conn_flush_dirty(struct server *s);

/* ---- dispatch.c: the broker ------------------------------------------------- */

/* A whole text message from c: decoded, rate-checked, then hello,
 * session_open or a room command. buf is borrowed (len bytes). */
void dispatch_message(struct server *s, struct conn *c, const char *buf, size_t len);

/* c is closing: counted offline (presence sent when it was the member's
 * last), taken out of its group's list and the tick list as needed. */
void dispatch_conn_closed(struct server *s, struct conn *c);

/* A session was opened in g, its record submitted with token: everyone
 * connected is counted online in the new room and gets its snapshot once
 * the record (and any other of the group in flight) commits; g's tick is
 * updated. */
void dispatch_session_opened(struct server *s, struct hub_group *g, uint64_t token);

/* Applies cmd from member idx of g's room, as sent by c (NULL: a command
 * the server makes, such as the idle close): refused at once while the
 * store fails; else applied, its events held until its record commits,
 * the ack (when c) behind them. Returns 0 or the refusal's code (nothing
 * changed, nothing sent: the caller answers). */
int dispatch_apply(struct server *s, struct hub_group *g, struct conn *c, int idx,
                   const struct room_cmd *cmd, int64_t now);

/* Takes g away: each connection gets a group_deleted error and close code
 * 4003 and is detached, then g is deleted from the hub (the caller has
 * submitted its deletion to the store). why (static) is for the log. */
void dispatch_group_drop(struct server *s, struct hub_group *g, const char *why);

/* A cluster: g is held by another node now (a record failed CODEV_E_MOVED,
 * or the claim found it so): as dispatch_group_drop, but every connection
 * gets the error `moved` and close code 4009 (reconnect at once: the
 * router sends it to the holder), and the store forgets g's lease. g is
 * freed. */
void dispatch_group_moved(struct server *s, struct hub_group *g);

/* hub_sync replaced g's invite (a member was removed): submits the group so
 * that the old code stays dead after a restart (retried later on failure). */
void dispatch_group_save_rotated(struct server *s, struct hub_group *g, int64_t now);

/* g's round turn ran out in auto mode: the server moves it on (a journaled
 * round_skip from the facilitator; dispatch.c explains). */
void dispatch_turn_expire(struct server *s, struct hub_group *g, int64_t now);

/* Drops the cached welcome views no connection still writes (all: every
 * one, at exit). */
void dispatch_views_trim(struct server *s, bool all);

/* g's display link was replaced or revoked: each display connection gets
 * the error bad_display and close code 4005 and is detached. */
void dispatch_displays_close(struct server *s, struct hub_group *g);

/* g's facilitator has been away facilitator_grace_s (timer.c): hands the
 * role to a connected co-facilitator (journaled, reason "auto"), or offers
 * it to the longest-serving member connected, or does nothing. */
void dispatch_facilitator_absent(struct server *s, struct hub_group *g);

/* Queues the welcome for member m of g on c (its view of the room as it
 * is now: call only when g has no record in flight, commit.c). */
void dispatch_send_welcome(struct server *s, struct conn *c, struct hub_group *g,
                           const struct hub_member *m, int64_t now);

/* Closes every connection of a member who was removed (member_removed). */
void dispatch_close_member(struct server *s, struct hub_group *g, const char *member_id);

/* g's edge state, made on first use (timer_group_update frees it once
 * nothing needs it). NULL when out of memory. */
struct group_edge *dispatch_group_edge(struct hub_group *g);

/* ---- commit.c: what waits for the journal ------------------------------------ */

/* The events of one record, encoded, with who may see each (opaque). */
struct held;

/* Queues an answer behind the record token (0: a barrier, behind every
 * record submitted so far). kind WAITS_WS: owner is a struct conn and msg
 * its ack (stolen on success, counted in c->inflight); WAITS_HTTP: owner is
 * a struct http_req and msg NULL. Returns 0 or CODEV_E_INTERNAL (out of
 * memory: nothing queued, msg still the caller's). */
int commit_wait_push(struct server *s, uint64_t token, enum waits_kind kind, void *owner,
                     json_t *msg);

/* store_drain callback (arg is the server): the record with token
 * committed (rc 0) or failed; the answers it holds go out. */
void commit_drained(void *arg, uint64_t token, int rc);

/* Holds j (stolen; NULL is a no-op), a message for every connection of g,
 * until the record token commits (dropped if it fails). For what HTTP
 * calls change in a group: group_updated, member_joined. */
void commit_hold_all(struct server *s, struct hub_group *g, uint64_t token, json_t *j);

/* Encodes the events of r's outbox, each with the members who may see it
 * now. Returns a new held (free with commit_held_free, or give it to
 * commit_hold), or NULL when out of memory (logged by the caller). */
struct held *commit_outbox_take(const struct room *r, int64_t now);

/* Frees h. NULL is a no-op. */
void commit_held_free(struct held *h);

/* Holds h (taken, may be NULL: nothing to send) behind the record token of
 * g: counted in g's records in flight until it commits or fails. Returns 0,
 * or CODEV_E_INTERNAL (out of memory: h freed, nothing counted). */
int commit_hold(struct server *s, struct hub_group *g, uint64_t token, struct held *h);

/* Sends g's tick m (a reference is taken when kept) to g's connections
 * that are not owed their view: at once when g has no record in flight,
 * else behind a barrier, so that it shows nothing before the records it
 * reflects are committed, and nothing if g is rolled back meanwhile. */
void commit_tick(struct server *s, struct hub_group *g, struct fan_msg *m);

/* Frees what still waits in server.waits at exit, each entry by its kind
 * (held events are not JSON). */
void commit_waits_free(struct server *s);

/* g has no record in flight any more: a rollback if one failed, then the
 * views its connections are owed. May free g's edge. */
void commit_settled(struct server *s, struct hub_group *g);

/* Sends ack (stolen) to c once every record submitted so far is committed
 * (the ack of a duplicate command). */
void commit_ack_after(struct server *s, struct conn *c, json_t *ack);

/* May a record be submitted now? True unless the store is failing; then
 * true once a second (a trial, whose outcome says whether it still fails).
 * g (may be NULL): false while g has records in flight or a rollback to
 * do. */
bool commit_store_ready(struct server *s, const struct hub_group *g);

/* Once a second: while the store fails, a probe record (a trial) now and
 * then, and the rollbacks that could not read the store yet. */
void commit_store_sweep(struct server *s);

/* ---- observe.c: /metrics and /readyz ----------------------------------------- */

/* The edge's route ids for the metrics, after http_api's. */
enum {
    ROUTE_EDGE_STATIC = HTTP_API_ROUTE_IDS, /* a web client file (or its 404) */
    ROUTE_EDGE_METRICS,                     /* GET /metrics */
    ROUTE_EDGE_READYZ,                      /* GET /readyz */
    ROUTE_EDGE_COUNT
};

/* LWS_CALLBACK_HTTP, once h->path is read (m: lws's method): labels the
 * request for the metrics (h->route, h->mx_method) and answers /metrics
 * and /readyz itself. Returns true when it answered (the caller stops). */
bool observe_request(struct server *s, struct lws *wsi, struct http_req *h, int m);

/* The command-counter type of a decoded message (enum room_cmd_type or
 * METRICS_CMD_*). */
int observe_msg_type(const struct proto_msg *msg);

/* ---- http.c: the HTTP edge -------------------------------------------------- */

/* lws protocol "http": the API (/api) and the web client's files (every
 * other path, from server.web: GET and HEAD). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* The body deadline, once a second: a request whose body is not in within
 * http_body_timeout_s of its headers is closed. */
void http_bodies_sweep(struct server *s, int64_t mono);

/* Starts the export thread. Returns 0, or -1 (logged). */
int http_export_start(struct server *s);

/* Hands the exports the thread finished to their requests (those still
 * there), which then write their answers. */
void http_export_drain(struct server *s);

/* Stops the export thread (an export under way finishes first) and drops
 * what is left. Before the store closes. No-op when it never started. */
void http_export_stop(struct server *s);

/* ---- cluster.c: a cluster's groups, taken over when asked for ------------------ */

/*
 * The group group_id as this node serves it: the hub's, or, in a cluster
 * (node_id), taken over from the store when nobody else holds it (its
 * lease, then the group and its open session replayed). Returns it, or
 * NULL with *err: CODEV_E_UNKNOWN_GROUP (none), CODEV_E_MOVED (another
 * node holds it, or this one drains), CODEV_E_STORE_UNAVAILABLE. Waits on
 * the database for a takeover only (loop thread).
 */
struct hub_group *cluster_group(struct server *s, const char *group_id, int *err);

/* After a wake: drops the groups a lease renewal found taken by another
 * node (their sockets get `moved` and 4009). Loop thread. */
void cluster_sweep(struct server *s);

/* ---- timer.c: the timerfd ----------------------------------------------------- */

/* lws protocol "codev-timer": the timerfd fired. */
int timer_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                   void *in, size_t len);

/* Creates the timerfd and adds it to the loop, on the slow beat. Returns 0,
 * or -1 (logged). */
int timer_start(struct server *s);

/* Runs the timer every TICK_SLOT_US (on), or on the slow beat of the
 * lifecycle pass only (off, nobody connected). Returns 0 or -1 (logged). */
int timer_arm(struct server *s, bool on);

/* Puts g in its tick slot while its clock runs and someone is connected,
 * takes it out otherwise. Call after anything that may change either; it
 * frees g's edge state once nobody is attached (g->edge is then NULL). */
void timer_group_update(struct server *s, struct hub_group *g);

/* One lifecycle pass: idle sessions closed, unused groups expired, rotated
 * invites saved (runs at start, then from the timer). */
void timer_lifecycle(struct server *s);

/* The facilitator of g's open session is away from now (timer_away_start:
 * no-op when already counted or g has no edge state), or back
 * (timer_away_stop). The sweep calls dispatch_facilitator_absent once the
 * absence reaches facilitator_grace_s. */
void timer_away_start(struct server *s, struct hub_group *g);
void timer_away_stop(struct server *s, struct hub_group *g);

#endif
