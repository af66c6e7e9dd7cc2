/*
 * http.c - the HTTP edge: reads a request (method, path, query, key, body),
 * charges its budgets, asks http_api.c for the answer, journals what the
 * answer changed (the answer waits for the commit), hands exports to the
 * export thread, and writes the answer in slices. Every other path is a
 * web client file (GET, HEAD), served from server.web (webfiles.c): the
 * representation the Accept-Encoding allows, or 304 when If-None-Match
 * names it; no budget is charged for them.
 *
 * Invariants:
 *   - The budgets are checked before the call is handled: keyless calls per
 *     address (http_anon_per_min), creations per address and server-wide;
 *     a wrong key is charged as a keyless call after the fact.
 *   - The request body is bounded by http_body_max and, while read, by
 *     http_body_timeout_s (absolute, per request: server.bodies).
 *   - Exports read and format whole journals: they run on the export
 *     thread (a 12 MB journal took the loop for hundreds of ms), which
 *     hands them back with a lock and lws_cancel_service. Everything else
 *     runs on the loop thread.
 *   - A request that goes away forgets its waits and its export.
 * Expected load: a few calls a second per group; exports bounded by
 * SERVER_EXPORTS_PER_MIN for the whole server.
 */
#include "server_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "errors.h"
#include "log.h"

/* The exports run on the export thread, one at a time: bounded in rate for
 * the whole server (and per member, by http_exports_per_min) so that no
 * client can keep the disk busy or the export queue long. */
#define SERVER_EXPORTS_PER_MIN 3000.0 /* 50 a second */
#define SERVER_EXPORTS_BURST   100.0
/* Exports waiting for the export thread (each holds a request and, once
 * made, its answer): past this, 429 rate_limited, Retry-After 1. */
#define SERVER_EXPORTS_QUEUED    32
#define SERVER_HTTP_ADDR_IDLE_MS 60000 /* every budget is a minute's worth */

/* Bytes of the request headers that choose a web client file's
 * representation; a longer header is read as absent (identity, no 304). */
#define HTTP_ACCEPT_ENCODING_MAX 256
#define HTTP_IF_NONE_MATCH_MAX   512
#define HTTP_BODY_CUT_MS         2000 /* a late body's stream still open: cut its connection */

/* The buckets of struct rate_addr. */
enum { ADDR_ANON, ADDR_CREATE };

/* Bytes of an answer written per WRITEABLE: a 12 MB export written at once
 * had lws copy it whole into its own buffer, on the loop (tens of ms). */
#define SERVER_HTTP_SLICE (64 * 1024)
/* On an HTTP/2 stream, a write is one DATA frame, which lws 4.1 neither
 * splits nor holds back for flow control: within the stream's credit, and
 * at most what lws hands the socket in one go (its 4096-byte service
 * buffer, plus LWS_PRE and 4, frame header included: it copies the rest
 * aside on the connection), far below the 16384 every peer accepts. */
#define SERVER_H2_FRAME_MAX 4096

/* http_api_gate: a member's export budget, then the server's. */
static bool http_export_allowed(void *arg, struct hub_member *m, int *retry_after_s)
{
    struct server *s = arg;
    double per_min = s->cfg->http_exports_per_min;
    int64_t now = server_now_ms(s);

    if (!rate_bucket_ready(&m->exports, per_min, per_min, now, retry_after_s) ||
        !rate_bucket_ready(&s->exports, SERVER_EXPORTS_PER_MIN, SERVER_EXPORTS_BURST, now,
                           retry_after_s))
        return false;
    rate_bucket_take(&m->exports, per_min, per_min, now, NULL);
    rate_bucket_take(&s->exports, SERVER_EXPORTS_PER_MIN, SERVER_EXPORTS_BURST, now,
                     NULL);
    return true;
}

/* http_api_gate: a member's budget for the writes between sessions. */
static bool http_write_allowed(void *arg, struct hub_member *m, int *retry_after_s)
{
    struct server *s = arg;
    double per_min = s->cfg->http_writes_per_min;

    return rate_bucket_take(&m->writes, per_min, per_min, server_now_ms(s),
                            retry_after_s);
}

/* A call made without a member key: creating or joining a group (the
 * route table says which), or any call with no Bearer key at all. Calls
 * with a key that turns out wrong are charged after the fact (see
 * http_respond). */
static bool http_is_anonymous(const struct http_req *h, unsigned route)
{
    return (route & HTTP_API_ROUTE_KEYLESS) || strncmp(h->auth, "Bearer ", 7) != 0;
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

/* A request's body starts (listed) or is done, or the request goes
 * (unlisted). */
static void http_body_wait(struct server *s, struct http_req *h, bool start)
{
    if (start && !h->body_listed) {
        h->body_listed = true;
        h->body_ms = server_mono_ms();
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

void http_bodies_sweep(struct server *s, int64_t mono)
{
    int64_t body = (int64_t)s->cfg->http_body_timeout_s * 1000;

    for (struct http_req *h = s->bodies; h; h = h->body_next) {
        if (h->body_late && !h->body_cut &&
            mono - h->body_ms >= body + HTTP_BODY_CUT_MS) {
            /* The stream outlived its kill (an HTTP/2 stream that lws did
             * not close while its data kept coming): the whole connection
             * goes, since one who trickles a body gets no more patience. */
            struct lws *nwsi = lws_get_network_wsi(h->wsi);
            log_info("http %.40s: request body still open past its deadline, cutting "
                     "the connection",
                     h->path);
            h->body_cut = true;
            if (nwsi) {
                lws_set_timeout(nwsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
                shutdown(lws_get_socket_fd(nwsi), SHUT_RDWR);
            }
            continue;
        }
        if (h->body_late || mono - h->body_ms < body)
            continue;
        log_info("http %.40s: request body not complete in time, closing", h->path);
        h->body_late = true;
        lws_set_timeout(h->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        /* And the socket itself, on HTTP/1 (an HTTP/2 stream shares it):
         * lws then sees the hang-up at once, whatever its own timers do. */
        if (lws_get_network_wsi(h->wsi) == h->wsi)
            shutdown(lws_get_socket_fd(h->wsi), SHUT_RDWR);
    }
}

/* Encodes reply's answer (its text: Markdown or HTML, else its JSON body)
 * after LWS_PRE bytes of headroom, releasing both; sets *len, the content
 * type and the attachment name (NULL for JSON). Returns the new buffer, or
 * NULL when out of memory (*len then 0). Any thread. */
static unsigned char *http_reply_encode(struct http_api_reply *reply, size_t *len,
                                        const char **content_type, const char **filename)
{
    unsigned char *buf;

    *len = 0;
    if (reply->text) {
        buf = malloc(LWS_PRE + reply->text_len + 1);
        if (buf) {
            memcpy(buf + LWS_PRE, reply->text, reply->text_len);
            *len = reply->text_len;
        }
        *content_type = reply->content_type;
        *filename = reply->filename;
        free(reply->text);
        reply->text = NULL;
    } else {
        buf = proto_dump(reply->body, LWS_PRE, len);
        *content_type = "application/json";
        *filename = NULL;
    }
    json_decref(reply->body);
    reply->body = NULL;
    return buf;
}

/* Runs t's export and encodes its answer. Export thread. */
static void export_task_run(struct server *s, struct export_task *t)
{
    struct http_api_reply reply;

    http_api_job_run(t->job, s->store, &reply);
    t->status = reply.status;
    t->resp = http_reply_encode(&reply, &t->resp_len, &t->content_type, &t->filename);
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
        if (!atomic_load(&t->cancelled)) /* nobody waits for it any more */
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

/* Queues job (taking it) for h. Returns 0, CODEV_E_RATE_LIMITED when
 * SERVER_EXPORTS_QUEUED exports already wait (the server's exports share
 * one thread: past that, answer "later" rather than hold requests and
 * their memory), or -1 (job not taken). Loop. */
static int export_submit(struct server *s, struct http_req *h, struct http_api_job *job)
{
    struct export_task *t;

    if (s->export_queued >= SERVER_EXPORTS_QUEUED)
        return CODEV_E_RATE_LIMITED;
    t = calloc(1, sizeof(*t));
    if (!t || !s->export_started) {
        free(t);
        return -1;
    }
    s->export_queued++;
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
    if (h->task) {
        h->task->h = NULL;
        atomic_store(&h->task->cancelled, true);
    }
    h->task = NULL;
}

/* Hands the finished exports to their requests. Loop thread. */
void http_export_drain(struct server *s)
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

        s->export_queued--;
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

int http_export_start(struct server *s)
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
void http_export_stop(struct server *s)
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

/* A cluster: a call under /api/groups/{id}/ for a group this node does not
 * have takes it over (cluster_group). Returns 0 (served here, or no such
 * group: the API answers 404), or CODEV_E_MOVED / _STORE_UNAVAILABLE /
 * _RATE_LIMITED (cluster_claims_per_s). */
static int http_cluster_claim(struct server *s, const char *path)
{
    char gid[AUTH_UUID_LEN + 1];
    int err = 0;

    if (!store_cluster(s->store) || strncmp(path, "/api/groups/", 12) != 0 ||
        strlen(path + 12) < AUTH_UUID_LEN ||
        (path[12 + AUTH_UUID_LEN] && path[12 + AUTH_UUID_LEN] != '/'))
        return 0;
    memcpy(gid, path + 12, AUTH_UUID_LEN);
    gid[AUTH_UUID_LEN] = '\0';
    if (!cluster_group(s, gid, &err) && err != CODEV_E_UNKNOWN_GROUP)
        return err;
    return 0;
}

static void http_respond(struct server *s, struct lws *wsi, struct http_req *h)
{
    char creator[RATE_ADDR_LEN] = "";
    const struct http_api_gate gate = {.export_allowed = http_export_allowed,
                                       .write_allowed = http_write_allowed,
                                       .arg = s,
                                       .offload = true,
                                       .connections = s->npeers,
                                       .store_failing = s->store_failing,
                                       .creator = creator};
    struct http_api_reply reply;
    int64_t now = server_now_ms(s);
    unsigned route = http_api_route_flags(h->method, h->path);
    bool anon = http_is_anonymous(h, route), create = route & HTTP_API_ROUTE_CREATES;
    struct rate_addr *addr;
    uint64_t token = 0;
    int rc = 0, retry = 0, cluster_err;

    /* The client's address, taken with the headers (behind a trusted
     * proxy, from X-Forwarded-For). */
    rate_addr_prefix(h->client, creator);
    addr = rate_table_get(s->http_addrs, h->client, now, SERVER_HTTP_ADDR_IDLE_MS);
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
    } else if (h->method != HTTP_API_GET && !commit_store_ready(s, NULL)) {
        reply = (struct http_api_reply){
            .status = 503,
            .body = http_api_error_json(CODEV_E_STORE_UNAVAILABLE),
            .retry_after_s = 5};
    } else if ((cluster_err = http_cluster_claim(s, h->path))) {
        /* A cluster: another node holds the group (503: nginx's
         * proxy_next_upstream tries the next node), the takeover could not
         * read the store, or this node tried too many (429). */
        reply = (struct http_api_reply){
            .status = cluster_err == CODEV_E_RATE_LIMITED ? 429 : 503,
            .body = http_api_error_json(cluster_err),
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
    /* Only a route that reads the disk hands back an export (the table in
     * http_api.c and its handlers agree). */
    assert(!reply.job || (route & HTTP_API_ROUTE_READS_DISK));
    if (reply.job) {
        /* An export: the answer comes from the export thread. */
        rc = export_submit(s, h, reply.job);
        if (!rc) {
            log_info("http GET %.40s -> export thread", h->path);
            h->responded = true;
            h->waiting = true;
            return;
        }
        http_api_job_free(reply.job);
        reply =
            rc == CODEV_E_RATE_LIMITED
                ? (struct http_api_reply){.status = 429,
                                          .body =
                                              http_api_error_json(CODEV_E_RATE_LIMITED),
                                          .retry_after_s = 1}
                : (struct http_api_reply){.status = 500,
                                          .body = http_api_error_json(CODEV_E_INTERNAL)};
    }
    if (reply.effect == HTTP_API_EFFECT_CREATED ||
        reply.effect == HTTP_API_EFFECT_UPDATED ||
        reply.effect == HTTP_API_EFFECT_JOINED ||
        reply.effect == HTTP_API_EFFECT_DISPLAY || reply.effect == HTTP_API_EFFECT_LIFE ||
        reply.effect == HTTP_API_EFFECT_REMOVED)
        reply.group->active_ms = now;
    /* The facilitator deleted the group: gone from the store (the answer
     * waits for the commit), its sockets closed, gone from the hub. */
    if (reply.effect == HTTP_API_EFFECT_DELETED) {
        token = ++s->next_token;
        rc = store_submit_group_delete(s->store, reply.group->id, token);
        if (rc) {
            log_err("http %.40s: delete not journaled: %s", h->path, codev_err_name(rc));
            json_decref(reply.body);
            reply.status = 500;
            reply.body = http_api_error_json(CODEV_E_INTERNAL);
            token = 0;
        } else {
            dispatch_group_drop(s, reply.group, "deleted by its facilitator");
        }
        reply.effect = HTTP_API_EFFECT_NONE;
        reply.group = NULL;
    }
    /* What changed a group is journaled; the answer waits for the commit. */
    if (reply.effect != HTTP_API_EFFECT_NONE) {
        token = ++s->next_token;
        if (reply.effect == HTTP_API_EFFECT_CREATED ||
            reply.effect == HTTP_API_EFFECT_UPDATED ||
            reply.effect == HTTP_API_EFFECT_DISPLAY ||
            reply.effect == HTTP_API_EFFECT_MEMBER)
            rc = store_submit_group(s->store, reply.group, now, token);
        else if (reply.effect == HTTP_API_EFFECT_LIFE ||
                 reply.effect == HTTP_API_EFFECT_REMOVED)
            rc = store_submit_life(s->store, reply.group, now, token);
        else if (reply.effect == HTTP_API_EFFECT_JOINED)
            rc = store_submit_member_join(s->store, reply.group, reply.joined_room_idx,
                                          now, token);
        else
            rc = store_submit_session_open(s->store, reply.group, token);
        if (rc) {
            log_err("http %.40s: not journaled: %s", h->path, codev_err_name(rc));
            json_decref(reply.body);
            reply.status = 503;
            reply.body = http_api_error_json(CODEV_E_STORE_UNAVAILABLE);
            token = 0;
            /* A room nobody may see: its opening is not on disk. The other
             * changes stay in memory, unsaved (saved with the group's next
             * record). */
            if (reply.effect == HTTP_API_EFFECT_OPENED)
                hub_session_replace(s->hub, reply.group, NULL);
            reply.effect = HTTP_API_EFFECT_NONE;
        }
    }
    h->status = reply.status;
    h->retry_after_s = reply.retry_after_s;
    h->resp = http_reply_encode(&reply, &h->resp_len, &h->content_type, &h->filename);
    /* What the others see of the change goes once it is committed (an
     * opening: below, behind the answer). */
    if (reply.effect == HTTP_API_EFFECT_UPDATED)
        commit_hold_all(s, reply.group, token, proto_group_updated_json(reply.group));
    else if (reply.effect == HTTP_API_EFFECT_DISPLAY) {
        /* The old token is dead: its screens close now, not at their next
         * reconnection. */
        dispatch_displays_close(s, reply.group);
        commit_hold_all(s, reply.group, token, proto_group_updated_json(reply.group));
    } else if (reply.effect == HTTP_API_EFFECT_REMOVED) {
        /* The key is refused already: its sockets close now. */
        dispatch_close_member(s, reply.group, reply.joined_id);
        commit_hold_all(s, reply.group, token,
                        proto_group_member_removed_json(reply.joined_id));
    } else if (reply.effect == HTTP_API_EFFECT_JOINED)
        commit_hold_all(s, reply.group, token,
                        proto_member_joined_json(
                            reply.group, hub_member_find(reply.group, reply.joined_id)));
    else if (reply.effect == HTTP_API_EFFECT_MEMBER)
        commit_hold_all(s, reply.group, token,
                        proto_member_updated_json(
                            reply.group, hub_member_find(reply.group, reply.joined_id)));
    log_info("http %s %.40s -> %d",
             h->method == HTTP_API_POST     ? "POST"
             : h->method == HTTP_API_DELETE ? "DELETE"
                                            : "GET",
             h->path, h->status);
    h->responded = true;
    if (token && !commit_wait_push(s, token, WAITS_HTTP, h, NULL))
        h->waiting = true;
    /* After the answer's wait, which must stay next to the opening's other
     * entries (waits.h): the opening submits records of its own (debriefs
     * posted in advance, the group), whose waits follow. */
    if (reply.effect == HTTP_API_EFFECT_OPENED)
        dispatch_session_opened(s, reply.group, token);
    if (h->waiting)
        return;
    lws_callback_on_writable(wsi);
}

/* Is path the API's (the "/api" mount), rather than a web client file's? */
static bool http_is_api(const char *path)
{
    return strncmp(path, "/api", 4) == 0 && (path[4] == '/' || path[4] == '\0');
}

/*
 * A GET or HEAD of a web client file: the representation of h->path that
 * the request accepts (web_choose), 304 when its If-None-Match names that
 * representation's ETag, or 404. Nothing is copied here, and a file is
 * compressed only at its first request: the answer points into
 * server.web, and http_write sends it from WRITEABLE
 * (an HTTP/2 stream may write only then).
 */
static void http_static(struct server *s, struct lws *wsi, struct http_req *h, bool head)
{
    char ae[HTTP_ACCEPT_ENCODING_MAX], inm[HTTP_IF_NONE_MATCH_MAX];
    const struct web_file *f = web_files_get(s->web, h->path, &h->web_immutable);
    static const char missing[] = "404 Not Found\n";

    h->responded = true;
    h->no_body = head;
    if (!f) {
        h->status = 404;
        h->content_type = "text/plain; charset=utf-8";
        h->resp_len = sizeof(missing) - 1;
        h->resp = malloc(LWS_PRE + h->resp_len);
        if (!h->resp) {
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            return;
        }
        memcpy(h->resp + LWS_PRE, missing, h->resp_len);
        lws_callback_on_writable(wsi);
        return;
    }
    if (lws_hdr_copy(wsi, ae, sizeof(ae), WSI_TOKEN_HTTP_ACCEPT_ENCODING) < 0)
        ae[0] = '\0';
    if (lws_hdr_copy(wsi, inm, sizeof(inm), WSI_TOKEN_HTTP_IF_NONE_MATCH) < 0)
        inm[0] = '\0';
    h->web = &f->rep[web_choose(f, ae)];
    h->content_type = f->content_type;
    h->resp_len = h->web->len;
    h->status = 200;
    if (inm[0] && web_etag_matches(inm, h->web->etag)) {
        h->status = 304;
        h->no_body = true;
    }
    if (!h->resp_len)
        h->no_body = true;
    lws_callback_on_writable(wsi);
}

/* The answer is out: frees it and readies the connection for the next
 * request (HTTP/1 keep-alive). Returns 0, or -1 to close. */
static int http_done(struct lws *wsi, struct http_req *h)
{
    struct lws *nwsi = lws_get_network_wsi(wsi);

    /* HTTP/2: what the socket did not take waits on the connection; a
     * stream closed before it is out took the connection down with it
     * (lws 4.1). Wait for it (lws calls WRITEABLE once it is out). */
    h->draining = nwsi != wsi && lws_partial_buffered(nwsi);
    if (h->draining) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(h->resp);
    h->resp = NULL;
    h->web = NULL;
    if (lws_http_transaction_completed(wsi))
        return -1;
    if (lws_get_network_wsi(wsi) == wsi)
        peer_set_state(peer_of(wsi), PEER_WAITING); /* keep-alive: the next request */
    return 0;
}

/* The headers of a web client file's answer after the status line:
 * Content-Type and Content-Length (not on a 304), its ETag, how it is
 * encoded, and that the browser may keep it but must ask again (or, under
 * the current /v/<version>/, keep it for good). */
static int http_web_headers(struct lws *wsi, const struct http_req *h, unsigned char **p,
                            unsigned char *end)
{
    const struct web_rep *r = h->web;
    const char *cache = h->web_immutable ? "max-age=31536000, immutable" : "no-cache";

    if ((h->status == 304
             ? lws_add_http_header_status(wsi, 304, p, end)
             : lws_add_http_common_headers(wsi, (unsigned int)h->status, h->content_type,
                                           h->resp_len, p, end)) ||
        lws_add_http_header_by_name(
            wsi, (const unsigned char *)"cache-control:", (const unsigned char *)cache,
            (int)strlen(cache), p, end) ||
        lws_add_http_header_by_name(
            wsi, (const unsigned char *)"etag:", (const unsigned char *)r->etag,
            (int)strlen(r->etag), p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"vary:",
                                    (const unsigned char *)"Accept-Encoding", 15, p, end))
        return -1;
    if (r->encoding &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"content-encoding:",
                                    (const unsigned char *)r->encoding,
                                    (int)strlen(r->encoding), p, end))
        return -1;
    return 0;
}

/* Writes the headers, then the body in slices of SERVER_HTTP_SLICE (on
 * HTTP/2, a frame within the peer's credit), one per WRITEABLE. A web client file's
 * slices are copied to server.scratch first: lws writes its framing into the LWS_PRE
 * bytes before a slice, which in server.web belong to the file. */
static int http_write(struct lws *wsi, struct http_req *h)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof(hdr) - 1;
    bool h2 = lws_get_network_wsi(wsi) != wsi;
    size_t slice, max = SERVER_HTTP_SLICE;
    bool last;

    if (!h->resp && !h->web)
        return -1;
    if (h->headers_written) {
        unsigned char *out;

        if (h2) {
            lws_fileofs_t credit = lws_get_peer_write_allowance(wsi);
            max = SERVER_H2_FRAME_MAX;
            if (credit >= 0 && (size_t)credit < max)
                max = (size_t)credit;
            if (!max) { /* lws calls again when the peer gives credit */
                lws_callback_on_writable(wsi);
                return 0;
            }
        }
        slice = h->resp_len - h->resp_off;
        if (slice > max)
            slice = max;
        last = h->resp_off + slice == h->resp_len;
        if (h->web) {
            out = server_of(wsi)->scratch + LWS_PRE;
            memcpy(out, h->web->data + h->resp_off, slice);
        } else {
            /* The LWS_PRE bytes before a slice belong to a slice already sent. */
            out = h->resp + LWS_PRE + h->resp_off;
        }
        if (lws_write(wsi, out, slice, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)slice)
            return -1;
        h->resp_off += slice;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        return http_done(wsi, h);
    }
    metrics_http(h->route, h->mx_method, h->status);
    if (h->web) {
        if (http_web_headers(wsi, h, &p, end))
            return -1;
    } else if (lws_add_http_common_headers(wsi, (unsigned int)h->status, h->content_type,
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
    if (h->no_body) {
        /* HEAD or 304: the headers end the answer (and the HTTP/2 stream). */
        if (lws_finalize_http_header(wsi, &p, end) ||
            lws_write(wsi, start, (size_t)(p - start),
                      LWS_WRITE_HTTP_HEADERS | LWS_WRITE_H2_STREAM_END) !=
                (int)(p - start))
            return -1;
        return http_done(wsi, h);
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    h->headers_written = true;
    if (h2 || h->resp_len > SERVER_HTTP_SLICE) { /* HTTP/2: one write per WRITEABLE */
        lws_callback_on_writable(wsi);
        return 0;
    }
    return http_write(wsi, h); /* small: at once, as before */
}

static void http_req_reset(struct http_req *h)
{
    bool h2_stream = h->h2_stream; /* the stream outlives its requests' state */

    free(h->body);
    free(h->resp);
    memset(h, 0, sizeof(*h));
    h->h2_stream = h2_stream;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct http_req *h = user;
    struct server *s = server_of(wsi);
    char *uri = NULL, clen[24];
    int ulen = 0, m;

    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        s->tls_ctx = user; /* the vhost's SSL_CTX: a SIGHUP may load a new cert */
        return 0;
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
        /* An HTTP/2 stream: counted once bound (LWS_CALLBACK_HTTP). */
        peer_set_state(p, lws_get_network_wsi(wsi) == wsi ? PEER_ANSWERING : PEER_H2);
        return 0;
    }
    case LWS_CALLBACK_WSI_CREATE:
        if (s->adopting) /* the connection peer_adopt hands over */
            s->adopting->created = true;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* Belt and braces: a request lws frees without CLOSED_HTTP leaves
         * no pointer behind. user is ours only while "http" is bound. */
        if (h && lws_get_protocol(wsi) &&
            strcmp(lws_get_protocol(wsi)->name, "http") == 0) {
            waits_forget(&s->waits, h);
            export_forget(h); /* the export thread's answer must not find it */
            http_body_wait(s, h, false);
            http_req_reset(h);
            if (h->h2_stream)
                peer_stream_closed(peer_of(wsi));
            h->h2_stream = false;
        }
        peer_wsi_destroyed(s, wsi);
        return 0;
    case LWS_CALLBACK_HTTP:
        waits_forget(&s->waits, h);
        export_forget(h);
        http_body_wait(s, h, false);
        http_req_reset(h);
        if (lws_get_network_wsi(wsi) != wsi && !h->h2_stream) {
            /* An HTTP/2 stream: the connection is busy while one is open.
             * (lws re-arms its idle timer on every HTTP/2 frame, PINGs
             * too: without this, one request held a connection for ever.) */
            struct peer *p = peer_of(wsi);
            if (p && p->state == PEER_H2) {
                h->h2_stream = true;
                p->streams++;
            }
        }
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
        if (observe_request(s, wsi, h, m))
            return 0;
        if ((m == LWSHUMETH_GET || m == LWSHUMETH_HEAD) && !http_is_api(h->path)) {
            http_static(s, wsi, h, m == LWSHUMETH_HEAD);
            return 0;
        }
        if (lws_hdr_copy(wsi, h->auth, sizeof(h->auth), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
            h->auth[0] = '\0';
        peer_client_addr(s, wsi, h->client);
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
        if (h->draining)
            return http_done(wsi, h);
        if (!h->responded || h->waiting || (!h->resp && !h->web))
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
            if (h->h2_stream) /* while the stream still knows its connection */
                peer_stream_closed(peer_of(wsi));
            h->h2_stream = false;
        }
        return 0;

    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
