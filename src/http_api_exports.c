/*
 * http_api_exports.c - what the HTTP API reads from the store: a member's
 * journal, the group's history, the rotation (who next), a session's
 * minutes, as JSON or (but the rotation) Markdown and printable HTML; and
 * the export jobs that carry them off the loop thread (see http_api.h).
 *
 * Invariants:
 *   - The key was checked before an export is charged to the caller's
 *     export budget, and the budget before the store is read.
 *   - A job holds its own snapshot of the group (http_api_job_new), so that
 *     http_api_job_run may run on the export thread while the loop changes
 *     the group; the store's reads are thread-safe.
 *   - Minutes exist only under retention "keep", and only for a closed
 *     session of this group.
 *
 * Expected load: rare (an export, a history view), but a journal grows with
 * every session a member attended (12 MB is reachable): http.c has them
 * made off the loop thread (gate->offload). The history answer is cut to
 * the HTTP_API_HISTORY_MAX most recent sessions.
 */
#include "http_api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "export.h"
#include "protocol.h"

#define HTTP_API_HISTORY_MAX 240 /* sessions in a history answer: 20 years, monthly */

/*
 * Reads format= from the query string (json when absent). Other parameters
 * are ignored. Returns 0, or CODEV_E_BAD_FIELD for an unknown format or a
 * format given twice.
 */
static int query_format(const char *query, enum export_format *fmt)
{
    bool seen = false;

    *fmt = EXPORT_JSON;
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n >= 7 && strncmp(p, "format=", 7) == 0) {
            char name[8];
            if (seen || n - 7 >= sizeof(name))
                return CODEV_E_BAD_FIELD;
            memcpy(name, p + 7, n - 7);
            name[n - 7] = '\0';
            if (export_format_from_name(name, fmt))
                return CODEV_E_BAD_FIELD;
            seen = true;
        }
        p = end ? end + 1 : p + n;
    }
    return 0;
}

/* Sets a text answer (takes ownership of text) or, when text is NULL, an
 * internal error. */
static void reply_text(struct http_api_reply *reply, char *text, size_t len,
                       enum export_format fmt, const char *md_name, const char *html_name)
{
    if (!text) {
        http_api_reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    reply->status = 200;
    reply->text = text;
    reply->text_len = len;
    reply->content_type = export_content_type(fmt);
    reply->filename = fmt == EXPORT_HTML ? html_name : md_name;
}

/* GET /api/groups/{id}/journal: the caller's own journal. */
static void journal_get(const struct hub_group *g, struct store *store,
                        const char *member_id, enum export_format fmt, int64_t now_ms,
                        struct http_api_reply *reply)
{
    struct export_context ctx = {.group = g, .member_id = member_id, .now_ms = now_ms};
    struct store_journal *j = NULL;
    size_t len = 0;

    if (!store || store_journal_read(store, member_id, &j)) {
        http_api_reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    if (fmt == EXPORT_JSON) {
        reply->status = 200;
        reply->body = export_journal_json(j, &ctx);
    } else {
        char *text = export_journal_text(j, &ctx, fmt, &len);
        reply_text(reply, text, len, fmt, "codev-journal.md", "codev-journal.html");
    }
    store_journal_free(j);
}

/* GET /api/groups/{id}/history (facilitator): the most recent closed
 * sessions, HTTP_API_HISTORY_MAX at most. */
static void history_get(const struct hub_group *g, struct store *store,
                        enum export_format fmt, int64_t now_ms,
                        struct http_api_reply *reply)
{
    struct export_context ctx = {.group = g, .now_ms = now_ms};
    struct store_history *h = NULL, recent;
    size_t len = 0;

    if (!store || store_history_read(store, g->id, &h)) {
        http_api_reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    recent = *h;
    if (recent.nsessions > HTTP_API_HISTORY_MAX) {
        recent.sessions += recent.nsessions - HTTP_API_HISTORY_MAX;
        recent.nsessions = HTTP_API_HISTORY_MAX;
    }
    if (fmt == EXPORT_JSON) {
        reply->status = 200;
        reply->body = export_history_json(&recent, &ctx);
    } else {
        char *text = export_history_text(&recent, &ctx, fmt, &len);
        reply_text(reply, text, len, fmt, "codev-history.md", "codev-history.html");
    }
    store_history_free(h);
}

/* GET /api/groups/{id}/rotation (a member): who next, from the history of
 * the closed sessions (JSON only). */
static void rotation_get(const struct hub_group *g, struct store *store, int64_t now_ms,
                         struct http_api_reply *reply)
{
    struct export_context ctx = {.group = g, .now_ms = now_ms};
    struct store_history *h = NULL;

    if (!store || store_history_read(store, g->id, &h)) {
        http_api_reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    reply->status = 200;
    reply->body = export_rotation_json(h, &ctx);
    store_history_free(h);
}

/* Whether room r (rebuilt from the store) is a session of g: member ids are
 * random UUIDs, so one member of the room in g settles it. */
static bool room_of_group(const struct room *r, const struct hub_group *g)
{
    return r->nmembers > 0 && hub_member_find(g, r->members[0].id) != NULL;
}

/* GET /api/groups/{id}/sessions/{session_id}/minutes: under retention
 * "keep", a closed session as no member in particular sees it. */
static void minutes_get(const struct hub_group *g, struct store *store, const char *sid,
                        enum export_format fmt, int64_t now_ms,
                        struct http_api_reply *reply)
{
    struct export_context ctx = {.group = g, .now_ms = now_ms};
    struct room *r = NULL;
    size_t len = 0;
    int rc;

    if (g->retention != HUB_RETENTION_KEEP) {
        http_api_reply_error_message(
            reply, CODEV_E_NOT_FOUND,
            "This group keeps no minutes: its retention is personal.");
        return;
    }
    if (!store) {
        http_api_reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    rc = store_minutes_read(store, sid, &r);
    if (rc == CODEV_E_NOT_FOUND || (!rc && !room_of_group(r, g))) {
        room_free(r);
        http_api_reply_error_message(
            reply, CODEV_E_NOT_FOUND,
            "No minutes for this session: it is not a closed session of "
            "this group, or it closed while the retention was personal.");
        return;
    }
    if (rc) {
        http_api_reply_error(reply, rc);
        return;
    }
    if (fmt == EXPORT_JSON) {
        reply->status = 200;
        reply->body = proto_room_json(r, -1, now_ms);
    } else {
        char *text = export_minutes_text(r, &ctx, fmt, &len);
        reply_text(reply, text, len, fmt, "codev-minutes.md", "codev-minutes.html");
    }
    room_free(r);
}

struct http_api_job *http_api_job_new(const struct http_api_job *src)
{
    struct http_api_job *job = malloc(sizeof(*job));

    if (!job)
        return NULL;
    *job = *src;
    job->group = hub_group_snapshot_new(src->group);
    if (!job->group) {
        free(job);
        return NULL;
    }
    job->owned = true;
    return job;
}

void http_api_job_free(struct http_api_job *job)
{
    if (!job)
        return;
    if (job->owned)
        hub_group_snapshot_free((struct hub_group *)job->group);
    free(job);
}

void http_api_job_run(const struct http_api_job *job, struct store *store,
                      struct http_api_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    reply->joined_room_idx = -1;
    if (job->route == ROUTE_JOURNAL)
        journal_get(job->group, store, job->member_id, job->fmt, job->now_ms, reply);
    else if (job->route == ROUTE_HISTORY)
        history_get(job->group, store, job->fmt, job->now_ms, reply);
    else if (job->route == ROUTE_ROTATION)
        rotation_get(job->group, store, job->now_ms, reply);
    else
        minutes_get(job->group, store, job->session_id, job->fmt, job->now_ms, reply);
    if (!reply->body && !reply->text)
        http_api_reply_error(reply, CODEV_E_INTERNAL);
}

int http_api_export_route(struct store *store, const struct http_api_gate *gate,
                          const struct hub_group *g, const struct hub_member *m,
                          enum route route, const char *sid, const char *query,
                          int64_t now_ms, struct http_api_reply *reply)
{
    enum export_format fmt;
    int code;

    if (route == ROUTE_HISTORY && !http_api_is_facilitator(g, m))
        return CODEV_E_NOT_FACILITATOR;
    if ((code = query_format(query, &fmt)))
        return code;
    if (route == ROUTE_ROTATION && fmt != EXPORT_JSON)
        return CODEV_E_BAD_FIELD;
    /* The key is checked: only now may the request use an export budget. */
    if (gate && gate->export_allowed &&
        !gate->export_allowed(gate->arg, (struct hub_member *)m, &reply->retry_after_s))
        return CODEV_E_RATE_LIMITED;
    struct http_api_job job = {
        .route = (int)route, .fmt = fmt, .group = g, .now_ms = now_ms};
    memcpy(job.member_id, m->id, sizeof(job.member_id));
    memcpy(job.session_id, sid, sizeof(job.session_id));
    if (gate && gate->offload) {
        /* The edge runs it off the loop thread, on a copy of the group. */
        reply->job = http_api_job_new(&job);
        if (!reply->job)
            http_api_reply_error(reply, CODEV_E_INTERNAL);
        return 0;
    }
    http_api_job_run(&job, store, reply);
    return 0;
}
