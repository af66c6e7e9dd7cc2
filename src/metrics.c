/*
 * metrics.c - the registry's counters and histograms, and the text format
 * 0.0.4 renderer (see metrics.h for the contract).
 *
 * Invariants: every label value comes from a fixed table here or from the
 * caller's route_label; a series whose value is zero is still rendered
 * when it is one of the plain counters or gauges (so that rate() works from
 * the first scrape), but the labelled command and HTTP series appear only
 * once they are non-zero (their product is thousands of combinations).
 * Expected load: see metrics.h.
 */
#include "metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct metrics metrics_g = {.cmd_type = -1};

/* The bucket bounds of each histogram, ascending. */
static const struct {
    const char *name, *help;
    size_t n;
    double le[METRICS_HIST_BUCKETS];
} hist_def[MH_COUNT] = {
    [MH_TICK_LATE] = {"codevd_tick_lateness_seconds",
                      "How late a timer pass (clock ticks, the keep-alive sweep) ran "
                      "after its deadline.",
                      10,
                      {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1}},
    [MH_COMMIT_SECONDS] = {"codevd_journal_commit_seconds",
                           "Time the journal writer took to write and commit one batch "
                           "(fsync included).",
                           12,
                           {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                            0.5, 1, 2.5}},
    [MH_BATCH_RECORDS] = {"codevd_journal_batch_records",
                          "Records written in one journal batch (one transaction, one "
                          "fsync).",
                          10,
                          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}},
};

/* The statuses an HTTP answer is labelled with; the last slot is "other". */
static const int statuses[METRICS_STATUSES - 1] = {
    200, 201, 204, 206, 301, 304, 400, 401, 403, 404, 405, 409, 410, 413, 429, 500, 503};

static const char *const method_label[MM_COUNT] = {"GET", "HEAD", "POST", "DELETE",
                                                   "OTHER"};

void metrics_hist_observe(struct metrics_hist *h, enum metrics_hist_id id, double v)
{
    size_t i = 0;

    while (i < hist_def[id].n && v > hist_def[id].le[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

const char *metrics_cmd_label(int t)
{
    if (t >= 0 && t < CMD_TYPE_COUNT)
        return room_cmd_name((enum room_cmd_type)t);
    switch (t) {
    case METRICS_CMD_HELLO:
        return "hello";
    case METRICS_CMD_SESSION_OPEN:
        return "session_open";
    case METRICS_CMD_FACILITATOR_ACCEPT:
        return "facilitator_accept";
    default:
        return "invalid";
    }
}

/* The outcome slot of code: 0 ok, else its place in the error map. */
static size_t outcome_of(int code)
{
    if (code == 0)
        return 0;
    if (code <= CODEV_ERR_BASE_ || code >= CODEV_ERR_END_)
        code = CODEV_E_INTERNAL;
    return (size_t)(code - CODEV_ERR_BASE_);
}

void metrics_cmd(int type, int code)
{
    if (type < 0 || type >= METRICS_CMD_TYPES)
        type = METRICS_CMD_INVALID;
    metrics_g.commands[type][outcome_of(code)]++;
}

void metrics_cmd_begin(const void *conn, int type)
{
    metrics_g.cmd_conn = conn;
    metrics_g.cmd_type =
        type < 0 || type >= METRICS_CMD_TYPES ? METRICS_CMD_INVALID : type;
}

void metrics_cmd_error(const void *conn, int code)
{
    if (metrics_g.cmd_type < 0 || conn != metrics_g.cmd_conn)
        return;
    metrics_cmd(metrics_g.cmd_type, code);
    metrics_g.cmd_type = -1;
}

void metrics_cmd_end(const void *conn)
{
    if (metrics_g.cmd_type >= 0 && conn == metrics_g.cmd_conn)
        metrics_cmd(metrics_g.cmd_type, 0);
    metrics_g.cmd_type = -1;
    metrics_g.cmd_conn = NULL;
}

void metrics_http(unsigned route, unsigned method, int status)
{
    size_t k = 0;

    while (k < METRICS_STATUSES - 1 && statuses[k] != status)
        k++;
    if (route >= METRICS_ROUTES)
        route = METRICS_ROUTES - 1;
    if (method >= MM_COUNT)
        method = MM_OTHER;
    metrics_g.http[route][method][k]++;
}

#define LATE_WINDOW_MS 10000

/* Moves the lateness windows on to now_ms. */
static void late_roll(int64_t now_ms)
{
    if (now_ms - metrics_g.late_window_ms < LATE_WINDOW_MS)
        return;
    /* A window with no pass at all leaves nothing of the older ones. */
    metrics_g.late_max_prev = now_ms - metrics_g.late_window_ms < 2 * LATE_WINDOW_MS
                                  ? metrics_g.late_max_cur
                                  : 0;
    metrics_g.late_max_cur = 0;
    metrics_g.late_window_ms = now_ms;
}

void metrics_tick_late(uint64_t expired, int64_t period_us)
{
    struct timespec ts;
    int64_t now_us, late_us;
    double late;

    if (!expired || period_us <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    /* The last deadline passed is the multiple of period_us just below
     * now; the oldest one served is expired - 1 periods before it. */
    late_us = now_us % period_us + (int64_t)(expired - 1) * period_us;
    late = (double)late_us / 1e6;
    metrics_hist_observe(&metrics_g.hist[MH_TICK_LATE], MH_TICK_LATE, late);
    late_roll(now_us / 1000);
    if (late > metrics_g.late_max_cur)
        metrics_g.late_max_cur = late;
}

double metrics_recent_lateness(int64_t now_ms)
{
    late_roll(now_ms);
    return metrics_g.late_max_cur > metrics_g.late_max_prev ? metrics_g.late_max_cur
                                                            : metrics_g.late_max_prev;
}

/* ---- rendering ------------------------------------------------------------------ */

/* The output buffer: what does not fit is counted, not written. */
struct out {
    char *buf;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
                  o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* A label value, escaped as the format says (backslash, quote, newline). */
static void put_label(struct out *o, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            put(o, "\\%c", *v);
        else if (*v == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *v);
    }
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(struct out *o, const char *name, const char *help, double v)
{
    family(o, name, "gauge", help);
    put(o, "%s %.15g\n", name, v);
}

/* A float as the format writes it: +Inf for infinity. */
static void put_num(struct out *o, double v)
{
    if (isinf(v))
        put(o, "+Inf");
    else
        put(o, "%.15g", v);
}

static void hist(struct out *o, enum metrics_hist_id id, const struct metrics_hist *h)
{
    uint64_t cum = 0;
    const char *name = hist_def[id].name;

    family(o, name, "histogram", hist_def[id].help);
    for (size_t i = 0; i < hist_def[id].n; i++) {
        cum += h->bucket[i];
        put(o, "%s_bucket{le=\"", name);
        put_num(o, hist_def[id].le[i]);
        put(o, "\"} %llu\n", (unsigned long long)cum);
    }
    put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    put(o, "%s_sum ", name);
    put_num(o, h->sum);
    put(o, "\n%s_count %llu\n", name, (unsigned long long)h->count);
}

size_t metrics_render(const struct metrics *m, const struct metrics_gauges *g, char *buf,
                      size_t cap)
{
    struct out o = {.buf = buf, .cap = cap};
    static const struct {
        const char *name, *help;
    } counters[MC_COUNT] = {
#define METRICS_COUNTER_DEF_(id, name, help) {"codevd_" name "_total", help},
        METRICS_COUNTER_MAP(METRICS_COUNTER_DEF_)
#undef METRICS_COUNTER_DEF_
    };

    if (cap)
        buf[0] = '\0';
    family(&o, "codevd_build_info", "gauge",
           "The running codevd: always 1, its version as a label.");
    put(&o, "codevd_build_info{version=\"");
    put_label(&o, g->version ? g->version : "unknown");
    put(&o, "\"} 1\n");
    gauge(&o, "codevd_uptime_seconds", "Seconds since codevd started.", g->uptime_s);
    gauge(&o, "process_start_time_seconds", "Start time of the process since the epoch.",
          g->start_time_s);
    gauge(&o, "process_resident_memory_bytes", "Resident memory size in bytes.",
          (double)g->rss_bytes);
    gauge(&o, "process_open_fds", "Open file descriptors.", (double)g->open_fds);
    gauge(&o, "process_max_fds", "The limit of open file descriptors.",
          (double)g->max_fds);

    family(&o, "codevd_connections", "gauge",
           "Accepted TCP connections by state: waiting for a request, answering one, "
           "HTTP/2 idle, upgraded to a WebSocket, refused over a limit.");
    put(&o, "codevd_connections{state=\"waiting\"} %llu\n",
        (unsigned long long)g->conn_waiting);
    put(&o, "codevd_connections{state=\"answering\"} %llu\n",
        (unsigned long long)g->conn_answering);
    put(&o, "codevd_connections{state=\"h2_idle\"} %llu\n",
        (unsigned long long)g->conn_h2);
    put(&o, "codevd_connections{state=\"websocket\"} %llu\n",
        (unsigned long long)g->conn_websocket);
    put(&o, "codevd_connections{state=\"refusing\"} %llu\n",
        (unsigned long long)g->conn_refusing);
    family(&o, "codevd_websockets", "gauge",
           "WebSocket connections: before hello, a member's, a display's.");
    put(&o, "codevd_websockets{kind=\"unauthenticated\"} %llu\n",
        (unsigned long long)g->ws_unauth);
    put(&o, "codevd_websockets{kind=\"member\"} %llu\n",
        (unsigned long long)g->ws_member);
    put(&o, "codevd_websockets{kind=\"display\"} %llu\n",
        (unsigned long long)g->ws_display);
    gauge(&o, "codevd_groups", "Groups in memory.", (double)g->groups);
    gauge(&o, "codevd_open_sessions", "Sessions open now.", (double)g->open_sessions);
    gauge(&o, "codevd_members_online", "Members of open sessions connected now.",
          (double)g->members_online);
    gauge(&o, "codevd_plans_waiting",
          "Action plan items in memory waiting for their client's debrief.",
          (double)g->plans_waiting);
    gauge(&o, "codevd_plans_settling",
          "Action plan items in memory debriefed or expired, dropped once their "
          "group's records commit.",
          (double)g->plans_settling);
    gauge(&o, "codevd_ws_queue_frames", "Messages waiting in every WebSocket's queue.",
          (double)g->queue_frames);
    gauge(&o, "codevd_ws_queue_bytes", "Bytes waiting in every WebSocket's queue.",
          (double)g->queue_bytes);
    gauge(&o, "codevd_ws_queue_frames_max", "Messages waiting in the longest queue.",
          (double)g->queue_frames_max);
    gauge(&o, "codevd_journal_queue_records",
          "Journal records submitted and not yet committed (in flight).",
          (double)g->journal_queue);
    gauge(&o, "codevd_journal_queue_records_max",
          "In-flight records past which changes are refused (rate_limited).",
          (double)g->journal_queue_max);
    gauge(&o, "codevd_store_failing",
          "1 while the store fails writes (changes refused, /readyz 503).",
          g->store_failing ? 1 : 0);
    family(&o, "codevd_journal_records_total", "counter",
           "Journal records the writer committed or failed.");
    put(&o, "codevd_journal_records_total %llu\n",
        (unsigned long long)g->journal_records);

    for (size_t i = 0; i < MC_COUNT; i++) {
        family(&o, counters[i].name, "counter", counters[i].help);
        put(&o, "%s %llu\n", counters[i].name, (unsigned long long)m->counter[i]);
    }

    family(&o, "codevd_commands_total", "counter",
           "WebSocket messages handled, by type and outcome (ok, or the error code "
           "answered).");
    for (int t = 0; t < METRICS_CMD_TYPES; t++)
        for (size_t k = 0; k < METRICS_OUTCOMES; k++) {
            if (!m->commands[t][k])
                continue;
            put(&o, "codevd_commands_total{type=\"%s\",outcome=\"%s\"} %llu\n",
                metrics_cmd_label(t), k ? codev_err_name(CODEV_ERR_BASE_ + (int)k) : "ok",
                (unsigned long long)m->commands[t][k]);
        }

    family(&o, "codevd_http_requests_total", "counter",
           "HTTP answers by route (the route table's name, never the raw path), method "
           "and status.");
    for (unsigned r = 0; r < METRICS_ROUTES; r++)
        for (unsigned meth = 0; meth < MM_COUNT; meth++)
            for (size_t k = 0; k < METRICS_STATUSES; k++) {
                if (!m->http[r][meth][k])
                    continue;
                put(&o, "codevd_http_requests_total{route=\"");
                put_label(&o, g->route_label ? g->route_label(r) : "unknown");
                if (k < METRICS_STATUSES - 1)
                    put(&o, "\",method=\"%s\",status=\"%d\"} %llu\n", method_label[meth],
                        statuses[k], (unsigned long long)m->http[r][meth][k]);
                else
                    put(&o, "\",method=\"%s\",status=\"other\"} %llu\n",
                        method_label[meth], (unsigned long long)m->http[r][meth][k]);
            }

    hist(&o, MH_TICK_LATE, &m->hist[MH_TICK_LATE]);
    hist(&o, MH_COMMIT_SECONDS, &g->commit_seconds);
    hist(&o, MH_BATCH_RECORDS, &g->batch_records);
    return o.len;
}
