/*
 * server.c - the lws context and the loop: mounts and security headers,
 * the web client's files (loaded once, webfiles.c),
 * TLS, the protocols table, the store's opening and wake-ups, start, run
 * and stop. Each part of the edge has its own file (server_internal.h
 * lists them): peer.c accepts, conn.c speaks WebSocket, dispatch.c
 * decides, http.c answers HTTP, timer.c keeps time, server_life.c drains
 * on SIGTERM and reloads on SIGHUP.
 *
 * Invariants:
 *   - Everything runs on the one lws service thread, but the store's
 *     writer and the export thread, which hand work back with a lock and
 *     lws_cancel_service (server_woken).
 *   - lws does not listen (listener.c binds, peer.c accepts): lws 4.1
 *     binds the wrong address and spins on EMFILE.
 *   - The loop flushes every dirty connection once per iteration, just
 *     before it sleeps (conn_flush_dirty): on libuv from a prepare handle,
 *     on poll after each lws_service.
 *   - The store is opened and loaded before the context exists, and closed
 *     (its writer drained) before the context goes.
 *   - SIGTERM drains (server_drain): no more accepts, what is submitted
 *     committed and delivered, every WebSocket closed 1001 "going_away
 *     retry_ms=N" after what is queued for it; the loop returns once no
 *     WebSocket and no answer waiting for the journal is left, or at
 *     drain_timeout_s. The signal handlers only set flags and wake the
 *     loop; server_woken acts on them, on the loop thread.
 *   - SIGHUP reloads (server_reload): the fresh config is made and checked
 *     whole (the TLS certificate and key too, in a scratch SSL_CTX) before
 *     anything changes; then config_reload applies what may change while
 *     running, and the new certificate goes into the vhost's SSL_CTX (new
 *     handshakes; a TLS session already up keeps its own).
 * Expected load: thousands of connections, tens of thousands of events per
 * second; per-event work is O(recipients) queue pushes.
 */
#include "server.h"

#include "server_internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"

/* Forward-secret AEAD suites only, for TLS 1.2 (TLS 1.3 has nothing else). */
#define SERVER_TLS12_CIPHERS                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                         \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                         \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The Content-Security-Policy of every answer: csp_head, the hashes of
 * index.html's inline scripts (web_files_script_hashes), csp_tail, then the
 * frame_ancestors setting (config.c validated it: source expressions only). */
static const char csp_head[] = "default-src 'self'; script-src 'self'";
static const char csp_tail[] =
    "; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors ";

#if defined(SERVER_UV)
static void server_prepare_cb(uv_prepare_t *h)
{
    conn_flush_dirty(h->data);
    server_drain_check(h->data);
}
#endif

/* Called by the store's writer thread after each commit. */
static void server_wake(void *arg)
{
    struct server *s = arg;

    if (atomic_load(&s->wake_ok))
        lws_cancel_service(s->ctx);
}

/* The settings derived from the config at start and at each reload. */
void server_apply_derived(struct server *s)
{
    char why[160];

    s->limits = (struct proto_limits){.max_bytes = s->cfg->ws_max_message,
                                      .max_depth = (int)s->cfg->json_max_depth};
    /* Validated already (config_validate): cannot fail here. */
    if (rate_proxies_parse(s->cfg->trusted_proxies, &s->proxies, why, sizeof(why)))
        log_err("trusted_proxies: %s", why);
    if (s->hub) {
        s->hub->groups_max = s->cfg->groups_max;
        s->hub->sessions_max = s->cfg->sessions_max;
        s->hub->groups_per_ip = s->cfg->groups_per_ip;
        s->hub->sessions_per_ip = s->cfg->sessions_per_ip;
    }
}

void server_woken(struct server *s)
{
    if (s->store) { /* NULL while the server shuts down */
        store_drain(s->store, commit_drained, s);
        cluster_sweep(s);
    }
    http_export_drain(s);
    if (s->reload_asked && !s->stopping) {
        s->reload_asked = 0;
        server_reload_now(s);
    }
    if (s->drain_asked && !s->draining && !s->stopping)
        server_drain_begin(s);
    server_drain_check(s);
#if defined(SERVER_UV)
    if (s->stopping && s->uv)
        uv_stop(&s->loop);
#endif
}

void server_lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);

    while (n && line[n - 1] == '\n')
        n--;
    /* lws dumps a request's headers when it reaps one held too long: never
     * let a member key (Authorization: Bearer ...) or a cookie reach the log. */
    if (strcasestr(line, "authorization") || strcasestr(line, "bearer") ||
        strcasestr(line, "cookie")) {
        line = "(a line holding request headers, withheld)";
        n = strlen(line);
    }
    if (level & LLL_ERR)
        log_err("lws: %.*s", (int)n, line);
    else if (level & LLL_WARN)
        log_warn("lws: %.*s", (int)n, line);
    else
        log_info("lws: %.*s", (int)n, line);
}

static const struct lws_protocols protocols[] = {
    {"http", http_callback, sizeof(struct http_req), 0, 0, NULL, 0},
    /* rx_buffer_size: client messages are small (hello, acks, a command
     * with a card of up to about 150 characters fit in 256 bytes; one with
     * a 300-character card is about 400); a longer one arrives in several
     * pieces and is reassembled in conn.rx (one copy). Kept small because
     * lws allocates it for every connection: 512 cost 245 more bytes per
     * connection at 10k (issue 15, memory per connection). */
    /* tx_packet_size: a batched frame goes to send() whole; by default lws
     * would cut every write at rx_buffer_size and queue the rest. */
    {PROTO_NAME, conn_callback, sizeof(struct conn), 256, 0, NULL, SERVER_MAX_FRAME + 16},
    {"codev-timer", timer_callback, 0, 0, 0, NULL, 0},
    {"codev-listen", peer_listen_callback, 0, 0, 0, NULL, 0},
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

/* Opens the store and loads every group and open session into the hub. */
static int server_store_open(struct server *s)
{
    struct store_options opts = {
        .backend = s->cfg->store,
        .dsn = s->cfg->store_dsn,
        .data_dir = s->cfg->data_dir,
        .commit_window_us = s->cfg->journal_commit_window_us,
        .journal_fold_rows = s->cfg->journal_fold_rows,
        .commit_delay_us = s->cfg->test_commit_delay_us,
        .wake = server_wake,
        .wake_arg = s,
        .node_id = s->cfg->node_id,
        .lease_ttl_ms = s->cfg->lease_ttl_s * 1000,
    };
    struct store_load_report rep;
    char why[4096 + 300] = "";
    int rc;

    opts.why = why; /* a damaged or foreign file: what it is */
    opts.why_cap = sizeof(why);
    rc = store_open(&opts, &s->store);
    if (rc && why[0]) {
        log_err("store: %s", why);
        return -1;
    }
    if (rc) {
        if (strcmp(s->cfg->store, "postgresql") == 0)
            log_err("cannot open the store on PostgreSQL (store_dsn): %s",
                    codev_err_name(rc));
        else
            log_err("cannot open the store under %s: %s", s->cfg->data_dir,
                    codev_err_name(rc));
        return -1;
    }
    if (store_cluster(s->store)) {
        /* A cluster: groups come one by one, when asked for (cluster.c). */
        log_notice("store: schema v%d, cluster node %s (lease %u s): groups are "
                   "loaded when asked for",
                   store_schema_version(s->store), s->cfg->node_id, s->cfg->lease_ttl_s);
        return 0;
    }
    rc = store_load(s->store, s->hub, server_now_ms(s), &rep);
    if (rc) {
        log_err("cannot load the store: %s (codevd check tells whether the database is "
                "damaged)",
                codev_err_name(rc));
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
    if (rep.closed_rooms_skipped)
        log_warn("store: %zu closed rooms could not be read and are shown as none",
                 rep.closed_rooms_skipped);
    return 0;
}

/* Reads the web client's files (web_dir) into memory, compressed. Returns
 * 0, or -1 when out of memory (logged); a file skipped is logged. */
static int server_web_load(struct server *s)
{
    struct web_files_report rep;

    if (web_files_load(s->cfg->web_dir, &s->web, &rep)) {
        log_err("cannot load the web client from %s: out of memory", s->cfg->web_dir);
        return -1;
    }
    log_notice("web client: %zu files, %zu bytes (gzip%s at first request)", rep.files,
               rep.bytes, rep.brotli ? ", brotli" : "");
    if (rep.skipped)
        log_warn("web client: %zu files not served under %s, first %s", rep.skipped,
                 s->cfg->web_dir, rep.first_skipped);
    if (!rep.files)
        log_warn("web client: no file under %s: the pages will be 404", s->cfg->web_dir);
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
    s->mlst.reserve_fd = -1;
    s->start_mono = server_mono_ms();
    s->start_wall = server_now_ms(s);
    s->time_offset_ms = (int64_t)cfg->test_time_offset_s * 1000;
    if (s->time_offset_ms)
        log_warn("clock shifted by %lld ms (test_time_offset_s, a test-only setting)",
                 (long long)s->time_offset_ms);
    s->cfg = cfg;
    s->scratch = malloc(SERVER_SCRATCH);
    s->hub = hub_new(cfg);
    s->http_addrs = rate_table_new(SERVER_HTTP_ADDR_SLOTS);
    if (!s->scratch || !s->hub || !s->http_addrs)
        goto fail;
    server_apply_derived(s);
    /* Bind first: a busy port or a wrong address stops here, before the
     * store is touched. */
    if (listener_open(&s->lst, cfg->listen, (uint16_t)cfg->port, err, sizeof(err))) {
        log_err("cannot start: %s (listen = %s, port = %u)", err,
                cfg->listen ? cfg->listen : "all interfaces", cfg->port);
        goto fail;
    }
    if (cfg->metrics_port &&
        listener_open(&s->mlst, cfg->metrics_listen, (uint16_t)cfg->metrics_port, err,
                      sizeof(err))) {
        log_err("cannot start: %s (metrics_listen = %s, metrics_port = %u)", err,
                cfg->metrics_listen, cfg->metrics_port);
        goto fail;
    }
    if (server_store_open(s) || http_export_start(s) || server_web_load(s))
        goto fail;
    {
        const char *hashes = web_files_script_hashes(s->web);
        size_t n = sizeof(csp_head) + 1 + strlen(hashes) + sizeof(csp_tail) +
                   strlen(cfg->frame_ancestors);
        s->csp = malloc(n);
        if (!s->csp)
            goto fail;
        snprintf(s->csp, n, "%s%s%s%s%s", csp_head, hashes[0] ? " " : "", hashes,
                 csp_tail, cfg->frame_ancestors);
    }

    s->headers[0] = (struct lws_protocol_vhost_options){
        &s->headers[1], NULL, "content-security-policy:", s->csp};
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
    /* X-Frame-Options can only deny (or name the same origin): an operator
     * who lets other pages embed codevd relies on frame-ancestors alone. */
    if (strcmp(cfg->frame_ancestors, "'none'") != 0)
        s->headers[2].next = &s->headers[4];

    s->mount_api = (struct lws_http_mount){
        .mount_next = &s->mount_web,
        .mountpoint = "/api",
        .mountpoint_len = 4,
        .origin = "http",
        .protocol = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    /* The web client: http.c serves it from memory (webfiles.c), each file
     * precompressed once, with its ETag and Cache-Control: no-cache. */
    s->mount_web = (struct lws_http_mount){
        .mountpoint = "/",
        .mountpoint_len = 1,
        .origin = "http",
        .protocol = "http",
        .origin_protocol = LWSMPRO_CALLBACK,
    };
    /* All zero: no lws keep-alive timers (timer_sweep does it). */
    s->retry = (lws_retry_bo_t){0};

    if (log_level_current >= LOG_LEVEL_NOTICE)
        lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, server_lws_log_emit);

    memset(&info, 0, sizeof(info));
    /* lws does not listen: listener.c does, and hands each connection over
     * (peer_accept). lws 4.1 binds the wrong address and spins on EMFILE. */
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
    if (timer_start(s) || peer_listen_start(s))
        goto fail;
    timer_lifecycle(s); /* what went idle or expired while codevd was down */
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
    if (cfg->metrics_port)
        log_notice("metrics (/metrics, /readyz, plain http) on %s", s->mlst.bound);
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
        conn_flush_dirty(s);
        server_drain_check(s);
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
    http_export_stop(s);
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
    listener_close(&s->mlst);
    peer_free_all(s); /* only when the context was never made */
    free(s->dirty);
    commit_waits_free(s);
    dispatch_views_trim(s, true);
    /* Every connection closed with the context, and each group's edge
     * state went with its last one: this frees only what a failed start
     * left behind. */
    for (size_t b = 0; s->hub && b < s->hub->nbuckets; b++) {
        for (struct hub_group *g = s->hub->buckets[b]; g; g = g->next) {
            free(g->edge);
            g->edge = NULL;
        }
    }
    hub_free(s->hub);
    rate_table_free(s->http_addrs);
    web_files_free(s->web);
    free(s->scratch);
    free(s->csp);
    free(s);
}
