/*
 * metrics.h - codevd's counters and histograms, and their rendering in the
 * Prometheus text exposition format 0.0.4 (GET /metrics, observe.c).
 *
 * What it holds: the counters the edge moves as things happen (commands by
 * type and outcome, frames and bytes written, HTTP answers by route, method
 * and status, slow-consumer closes, store errors) and the histograms of
 * tick lateness and of the journal's commits. What is a level rather than
 * a count (connections, groups, queue depths, RSS) is not kept here: the
 * scraper (observe.c) reads it from the server when asked and passes it to
 * metrics_render in struct metrics_gauges.
 *
 * Invariants:
 *   - One registry per process (metrics_g), written ONLY from the loop
 *     thread: plain integers, no lock, no atomics. The journal writer's
 *     numbers reach it by copy: the writer fills its own metrics_hist under
 *     the store's lock (store_stats_batch), the loop copies them at scrape
 *     time (store_stats_get).
 *   - Every increment is O(1): an array index from an enum or a small
 *     integer, never a lookup by string, never an allocation.
 *   - Label values come from fixed tables (command names, error codes,
 *     route names of the route table, a fixed list of statuses): nothing a
 *     client sends can add a series. An unknown command type is "invalid",
 *     an unknown route "unknown", an unlisted status "other".
 *   - Rendering follows the format: HELP and TYPE before each family,
 *     counters end in _total, histograms give cumulative _bucket{le=...}
 *     series ending with le="+Inf", then _sum and _count.
 * Expected load: increments at the rate of frames and commands (tens of
 * thousands a second); a scrape every few seconds renders some tens of kB.
 */
#ifndef CODEV_METRICS_H
#define CODEV_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "room.h"

/* X(ID, "name", "help"): the plain counters, rendered as codevd_<name>_total. */
#define METRICS_COUNTER_MAP(X)                                                           \
    X(WS_FRAMES, "ws_frames_sent",                                                       \
      "WebSocket data frames written (one may carry "                                    \
      "several messages, or be a slice of a large one).")                                \
    X(WS_BYTES, "ws_sent_bytes", "Payload bytes of the WebSocket data frames written.")  \
    X(WS_MESSAGES, "ws_messages_queued",                                                 \
      "Messages queued for a WebSocket (room events, acks, errors, views), "             \
      "counted once per recipient.")                                                     \
    X(EVENTS, "events_released",                                                         \
      "Room events released to their group once their journal record committed.")        \
    X(SLOW_CONSUMER, "ws_slow_consumer_closes",                                          \
      "WebSockets closed because their outgoing queue was over its bounds.")             \
    X(STORE_ERRORS, "store_errors", "Journal records that failed to commit.")            \
    X(WS_OPENED, "ws_opened", "WebSocket connections opened.")                           \
    X(CLUSTER_TAKEOVERS, "cluster_takeovers",                                            \
      "Groups this node took over from the store (a cluster: node_id).")                 \
    X(CLUSTER_MOVED, "cluster_moved",                                                    \
      "Groups this node dropped because another node took them (a cluster).")            \
    X(CLUSTER_CLAIMS_REFUSED, "cluster_claims_refused",                                  \
      "Takeovers not tried: over cluster_claims_per_s (a cluster).")

enum metrics_counter {
#define METRICS_COUNTER_ENUM_(id, name, help) MC_##id,
    METRICS_COUNTER_MAP(METRICS_COUNTER_ENUM_)
#undef METRICS_COUNTER_ENUM_
        MC_COUNT
};

/* The histograms, each with its fixed bucket bounds (metrics.c). */
enum metrics_hist_id {
    MH_TICK_LATE,      /* seconds a timer pass came after its deadline */
    MH_COMMIT_SECONDS, /* seconds one journal batch took to write and commit */
    MH_BATCH_RECORDS,  /* records in one journal batch */
    MH_COUNT
};
#define METRICS_HIST_BUCKETS 16 /* bounds at most, +Inf not counted */

/* One histogram's observations: per bucket (not cumulative), the last
 * slot for what is above every bound. Zeroed = empty. */
struct metrics_hist {
    uint64_t bucket[METRICS_HIST_BUCKETS + 1];
    uint64_t count;
    double sum;
};

/* The message types a command counter is labelled with: every ROOM_CMD_MAP
 * row (by enum room_cmd_type), then the messages that are not room
 * commands, then "invalid" for a message whose type could not be read or
 * is unknown (one label, whatever was sent). */
enum {
    METRICS_CMD_HELLO = CMD_TYPE_COUNT,
    METRICS_CMD_SESSION_OPEN,
    METRICS_CMD_FACILITATOR_ACCEPT,
    METRICS_CMD_INVALID,
    METRICS_CMD_TYPES
};
/* Outcomes: 0 is "ok", 1.. the CODEV_E_* codes in map order. */
#define METRICS_OUTCOMES (CODEV_ERR_END_ - CODEV_ERR_BASE_)

/* HTTP routes: ids 0..METRICS_ROUTES-1, named by the caller's route_label
 * (http_api's route table, and the edge's own paths). */
#define METRICS_ROUTES 40
enum metrics_method { MM_GET, MM_HEAD, MM_POST, MM_DELETE, MM_OTHER, MM_COUNT };
#define METRICS_STATUSES 18 /* the fixed list in metrics.c, and "other" */

struct metrics {
    uint64_t counter[MC_COUNT];
    uint64_t commands[METRICS_CMD_TYPES][METRICS_OUTCOMES];
    uint64_t http[METRICS_ROUTES][MM_COUNT][METRICS_STATUSES];
    struct metrics_hist hist[MH_COUNT];
    /* The command being handled (metrics_cmd_begin .. metrics_cmd_end):
     * its connection (only compared) and type, or type -1. */
    const void *cmd_conn;
    int cmd_type;
    /* Tick lateness, for readiness: the worst of the current and the
     * previous 10-second windows (metrics_tick_late). */
    int64_t late_window_ms;
    double late_max_cur, late_max_prev;
};

/* The process's registry (loop thread only). */
extern struct metrics metrics_g;

/* Adds n to counter id. */
static inline void metrics_add(enum metrics_counter id, uint64_t n)
{
    metrics_g.counter[id] += n;
}

/* One WebSocket data frame of bytes bytes was written. */
static inline void metrics_frame(size_t bytes)
{
    metrics_g.counter[MC_WS_FRAMES]++;
    metrics_g.counter[MC_WS_BYTES] += bytes;
}

/* Records v in h (any thread that owns h): O(METRICS_HIST_BUCKETS). */
void metrics_hist_observe(struct metrics_hist *h, enum metrics_hist_id id, double v);

/* A message from connection conn (only compared) begins to be handled; its
 * type is type (enum room_cmd_type or METRICS_CMD_*; out of range:
 * invalid). The first metrics_cmd_error for the same connection before
 * metrics_cmd_end gives its outcome; none means ok. */
void metrics_cmd_begin(const void *conn, int type);
void metrics_cmd_error(const void *conn, int code);
void metrics_cmd_end(const void *conn);

/* Counts one command of type with outcome code (0 ok, or CODEV_E_*). */
void metrics_cmd(int type, int code);

/* Counts one HTTP answer. route is a route id (out of range: the last id),
 * method an enum metrics_method, status the HTTP status. */
void metrics_http(unsigned route, unsigned method, int status);

/* The timer fired with expired periods of period_us each passed: records
 * how late the oldest deadline served is (read from CLOCK_MONOTONIC; the
 * deadlines are multiples of period_us, as timer.c arms them). */
void metrics_tick_late(uint64_t expired, int64_t period_us);

/* The worst tick lateness, in seconds, over the last 10 to 20 seconds (0
 * when the timer did not run at its fast period meanwhile). now_ms:
 * monotonic ms. */
double metrics_recent_lateness(int64_t now_ms);

/* What the scraper reads from the server when asked, for one render. */
struct metrics_gauges {
    /* Accepted connections by state (peer.c's enum peer_state order):
     * waiting for a request, answering, HTTP/2 idle, WebSocket; and
     * refusing (over a limit, being told so). */
    uint64_t conn_waiting, conn_answering, conn_h2, conn_websocket, conn_refusing;
    /* WebSockets: no hello yet, a member's, a display's. */
    uint64_t ws_unauth, ws_member, ws_display;
    uint64_t groups, open_sessions, members_online;
    uint64_t plans_waiting, plans_settling; /* action plan items in memory (hub.h) */
    uint64_t queue_frames, queue_bytes, queue_frames_max; /* outgoing queues */
    uint64_t journal_queue, journal_queue_max;            /* records in flight */
    uint64_t journal_records;                             /* committed or failed */
    bool store_failing;
    struct metrics_hist commit_seconds, batch_records; /* the writer's copies */
    uint64_t rss_bytes, open_fds, max_fds;
    double uptime_s, start_time_s;
    const char *version;
    /* The label of route id i (never NULL). */
    const char *(*route_label)(unsigned i);
};

/* Renders m and g in the text format into buf (cap bytes). Returns the
 * length, or the length it would need (>= cap: nothing usable). Pure. */
size_t metrics_render(const struct metrics *m, const struct metrics_gauges *g, char *buf,
                      size_t cap);

/* The label of command type t ("step_next", "hello", "invalid"). */
const char *metrics_cmd_label(int t);

#endif
