/*
 * observe.c - what an operator asks the running server: GET /metrics (the
 * Prometheus text format 0.0.4: metrics.c's counters and histograms, and
 * the levels read here when asked) and GET /readyz (whether a load balancer
 * should send people here). /api/health stays http_api.c's.
 *
 * Invariants:
 *   - Without metrics_port, /metrics is answered on the main port only to a
 *     loopback peer that came straight in (no X-Forwarded-For: a proxy on
 *     the same host forwards strangers); to anyone else 403. With
 *     metrics_port, the metrics port (plain HTTP, bound to metrics_listen,
 *     loopback by default) answers /metrics to whoever reaches it, /readyz
 *     too, 404 to anything else and refuses WebSockets (conn.c); the main
 *     port then answers /metrics 404. It says how busy the server is, never
 *     who uses it: no id, name or address is a label.
 *   - /readyz: 200 while the store writes and the loop keeps its ticks
 *     (worst lateness of the last 10-20 s under OBSERVE_LAG_MAX_S) and the
 *     journal's queue has room; 503 otherwise, with the reason. Anyone may
 *     ask (it tells nothing a 503 to a command would not).
 *   - Every request is labelled with a route id from fixed tables (the
 *     API's route table, the edge's own paths, "static" for any other path),
 *     never its raw path.
 * Expected load: a scrape every few seconds: O(connections + groups) to
 * read the levels, tens of kB rendered; /readyz O(1).
 */
#include "server_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

#define OBSERVE_LAG_MAX_S    1.0         /* /readyz: the loop is late past this */
#define OBSERVE_RENDER_FIRST (64 * 1024) /* the first guess of a scrape's size */
#define OBSERVE_TEXT_TYPE    "text/plain; version=0.0.4; charset=utf-8"

int observe_msg_type(const struct proto_msg *msg)
{
    switch (msg->kind) {
    case PROTO_HELLO:
        return METRICS_CMD_HELLO;
    case PROTO_SESSION_OPEN:
        return METRICS_CMD_SESSION_OPEN;
    case PROTO_FACILITATOR_ACCEPT:
        return METRICS_CMD_FACILITATOR_ACCEPT;
    case PROTO_COMMAND:
        return (int)msg->cmd.type;
    }
    return METRICS_CMD_INVALID;
}

/* metrics_gauges.route_label: the API's names, then the edge's. */
static const char *observe_route_label(unsigned id)
{
    switch (id) {
    case ROUTE_EDGE_STATIC:
        return "static";
    case ROUTE_EDGE_METRICS:
        return "metrics";
    case ROUTE_EDGE_READYZ:
        return "readyz";
    default:
        return id < HTTP_API_ROUTE_IDS ? http_api_route_label(id) : "unknown";
    }
}

_Static_assert(ROUTE_EDGE_COUNT <= METRICS_ROUTES, "METRICS_ROUTES is too small");

/* Whether ip (lws_get_peer_simple's text) is a loopback address. */
static bool observe_loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0;
}

/* The process's resident bytes, open descriptors and their limit. */
static void observe_process(struct metrics_gauges *g)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, resident;
    DIR *d;
    struct rlimit rl;

    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) == 2)
            g->rss_bytes = resident * (unsigned long long)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    d = opendir("/proc/self/fd");
    if (d) {
        for (const struct dirent *e = readdir(d); e; e = readdir(d))
            if (e->d_name[0] != '.')
                g->open_fds++;
        closedir(d);
        if (g->open_fds)
            g->open_fds--; /* the directory's own descriptor */
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        g->max_fds = rl.rlim_cur;
}

/* Reads the levels metrics.c does not keep. */
static void observe_gauges(struct server *s, struct metrics_gauges *g)
{
    struct store_stats st;
    int64_t mono = server_mono_ms();

    memset(g, 0, sizeof(*g));
    for (int list = 0; list < 2; list++) {
        for (const struct peer *p = list ? s->peers_upgraded : s->peers; p; p = p->next) {
            if (p->refusing)
                g->conn_refusing++;
            else if (p->state == PEER_WAITING)
                g->conn_waiting++;
            else if (p->state == PEER_ANSWERING)
                g->conn_answering++;
            else if (p->state == PEER_H2)
                g->conn_h2++;
            else
                g->conn_websocket++;
        }
    }
    for (const struct conn *c = s->all; c; c = c->all_next) {
        if (!c->group)
            g->ws_unauth++;
        else if (c->display)
            g->ws_display++;
        else
            g->ws_member++;
        g->queue_frames += c->q.count;
        g->queue_bytes += c->q.bytes;
        if (c->q.count > g->queue_frames_max)
            g->queue_frames_max = c->q.count;
    }
    g->groups = s->hub->ngroups;
    g->open_sessions = s->hub->open_sessions;
    for (size_t b = 0; b < s->hub->nbuckets; b++)
        for (const struct hub_group *hg = s->hub->buckets[b]; hg; hg = hg->next) {
            const struct room *r = hg->room;
            size_t waiting, settling;
            hub_plans_count(hg, &waiting, &settling);
            g->plans_waiting += waiting;
            g->plans_settling += settling;
            if (!r || r->step == STEP_CLOSED)
                continue;
            for (size_t i = 0; i < r->nmembers; i++)
                g->members_online += r->members[i].online > 0;
        }
    g->journal_queue = store_queue_depth(s->store);
    g->journal_queue_max = store_queue_max(s->store);
    g->store_failing = s->store_failing;
    store_stats_get(s->store, &st);
    g->commit_seconds = st.commit_seconds;
    g->batch_records = st.batch_records;
    g->journal_records = st.records;
    observe_process(g);
    g->uptime_s = (double)(mono - s->start_mono) / 1000.0;
    g->start_time_s = (double)s->start_wall / 1000.0;
    g->version = CODEVD_VERSION;
    g->route_label = observe_route_label;
}

/* Makes h's answer: status and text (copied). Returns false when out of
 * memory (the connection is dropped). */
static bool observe_answer(struct http_req *h, int status, const char *type,
                           const char *text, size_t len)
{
    h->resp = malloc(LWS_PRE + len);
    if (!h->resp)
        return false;
    memcpy(h->resp + LWS_PRE, text, len);
    h->resp_len = len;
    h->status = status;
    h->content_type = type;
    return true;
}

/* GET /metrics: renders into a buffer of the last scrape's size. */
static bool observe_metrics(struct server *s, struct http_req *h)
{
    static size_t guess = OBSERVE_RENDER_FIRST;
    struct metrics_gauges g;
    size_t len;

    observe_gauges(s, &g);
    for (int tries = 0; tries < 2; tries++) {
        h->resp = malloc(LWS_PRE + guess);
        if (!h->resp)
            return false;
        len = metrics_render(&metrics_g, &g, (char *)h->resp + LWS_PRE, guess);
        if (len < guess) {
            h->resp_len = len;
            h->status = 200;
            h->content_type = OBSERVE_TEXT_TYPE;
            return true;
        }
        free(h->resp);
        h->resp = NULL;
        guess = len + len / 4 + 1;
    }
    return false;
}

/* GET /readyz. */
static bool observe_readyz(struct server *s, struct http_req *h)
{
    char body[160];
    double late = metrics_recent_lateness(server_mono_ms());
    const char *why = s->draining                 ? "draining"
                      : s->store_failing          ? "store_unavailable"
                      : !store_lease_ok(s->store) ? "store_unreachable"
                      : s->rollbacks_due          ? "store_unreadable"
                      : store_is_full(s->store)   ? "journal_queue_full"
                      : late > OBSERVE_LAG_MAX_S  ? "loop_lagging"
                                                  : NULL;
    int n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"tick_lateness_s\":%.3f}\n",
                     why ? why : "ready", late);

    return observe_answer(h, why ? 503 : 200, "application/json", body, (size_t)n);
}

bool observe_request(struct server *s, struct lws *wsi, struct http_req *h, int m)
{
    static const char forbidden[] = "/metrics is served to loopback clients only\n";
    static const char method[] = "method not allowed\n";
    static const char elsewhere[] = "not found: this port serves /metrics and /readyz\n";
    static const char moved[] = "not found: /metrics is on the metrics port\n";
    struct peer *p = peer_of(wsi);
    bool on_metrics_port = p && p->metrics;
    char peer[64] = "";
    bool ok;

    h->mx_method = m == LWSHUMETH_GET      ? MM_GET
                   : m == LWSHUMETH_HEAD   ? MM_HEAD
                   : m == LWSHUMETH_POST   ? MM_POST
                   : m == LWSHUMETH_DELETE ? MM_DELETE
                                           : MM_OTHER;
    if (strcmp(h->path, "/metrics") == 0)
        h->route = ROUTE_EDGE_METRICS;
    else if (strcmp(h->path, "/readyz") == 0)
        h->route = ROUTE_EDGE_READYZ;
    else {
        h->route =
            strncmp(h->path, "/api", 4) == 0 && (h->path[4] == '/' || h->path[4] == '\0')
                ? (uint8_t)http_api_route_id(h->path)
                : ROUTE_EDGE_STATIC;
        if (!on_metrics_port)
            return false;
    }
    h->responded = true;
    h->no_body = m == LWSHUMETH_HEAD;
    if (on_metrics_port && h->route != ROUTE_EDGE_METRICS &&
        h->route != ROUTE_EDGE_READYZ) {
        ok = observe_answer(h, 404, "text/plain; charset=utf-8", elsewhere,
                            sizeof(elsewhere) - 1);
    } else if (m != LWSHUMETH_GET && m != LWSHUMETH_HEAD) {
        ok = observe_answer(h, 405, "text/plain; charset=utf-8", method,
                            sizeof(method) - 1);
    } else if (h->route == ROUTE_EDGE_READYZ) {
        ok = observe_readyz(s, h);
    } else if (on_metrics_port) {
        ok = observe_metrics(s, h); /* whoever the operator let reach this port */
    } else if (s->cfg->metrics_port) {
        ok =
            observe_answer(h, 404, "text/plain; charset=utf-8", moved, sizeof(moved) - 1);
    } else {
        lws_get_peer_simple(lws_get_network_wsi(wsi), peer, sizeof(peer));
        /* A proxy on this host forwards strangers: refused whatever header
         * it uses to say so, and whatever it says when it is one we trust. */
        if (!observe_loopback(peer) || rate_proxies_trusts(&s->proxies, peer) ||
            lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 ||
            lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_X_REAL_IP) > 0 ||
            lws_hdr_custom_length(wsi, "forwarded:", 10) > 0) {
            log_info("http GET /metrics refused: not a direct loopback client");
            ok = observe_answer(h, 403, "text/plain; charset=utf-8", forbidden,
                                sizeof(forbidden) - 1);
        } else {
            ok = observe_metrics(s, h);
        }
    }
    if (!ok) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return true;
    }
    lws_callback_on_writable(wsi);
    return true;
}
