/*
 * http_api.c - groups, joining, opening sessions, settings and the exports
 * (journal, history, minutes) over HTTP (see http_api.h).
 *
 * The exports read the store and format what they read. A journal grows
 * with every session a member attended (12 MB is reachable), so http.c
 * has them made off the loop thread: with http_api_gate.offload the answer
 * is an http_api_job holding a snapshot of the group, which
 * http_api_job_run makes on the export thread. The history answer is cut
 * to the HTTP_API_HISTORY_MAX most recent sessions.
 */
#include "http_api.h"

#include <string.h>

#include <stdio.h>

#include "codevd_config.h"
#include "errors.h"
#include "export.h"
#include "ical.h"
#include "protocol.h"
#include "tz.h"

#define HTTP_API_MAX_DEPTH   4
#define HTTP_API_HISTORY_MAX 240 /* sessions in a history answer: 20 years, monthly */

json_t *http_api_error_json(int code)
{
    return json_pack("{s:{s:s, s:s}}", "error", "code", codev_err_name(code), "message",
                     codev_err_message(code));
}

int http_api_status(int code)
{
    switch (code) {
    case CODEV_E_UNAUTHORIZED:
    case CODEV_E_BAD_KEY:
    case CODEV_E_MEMBER_REMOVED:
        return 401;
    case CODEV_E_NOT_FACILITATOR:
    case CODEV_E_BAD_INVITE:
    case CODEV_E_NOT_AUTHOR:
    case CODEV_E_NOT_EARLIER_CLIENT:
    case CODEV_E_OBSERVER_READ_ONLY:
        return 403;
    case CODEV_E_NOT_FOUND:
    case CODEV_E_UNKNOWN_GROUP:
    case CODEV_E_NO_NEXT_SESSION:
    case CODEV_E_UNKNOWN_ACTION:
        return 404;
    case CODEV_E_METHOD_NOT_ALLOWED:
        return 405;
    case CODEV_E_SESSION_OPEN:
    case CODEV_E_NO_SESSION:
    case CODEV_E_ALREADY_DONE:
        return 409;
    case CODEV_E_TOO_LARGE:
        return 413;
    case CODEV_E_GROUP_FULL:
    case CODEV_E_TOO_MANY_GROUPS:
    case CODEV_E_TOO_MANY_SESSIONS:
    case CODEV_E_TOO_MANY_PROPOSALS:
    case CODEV_E_RATE_LIMITED:
        return 429;
    case CODEV_E_INTERNAL:
        return 500;
    case CODEV_E_STORE_UNAVAILABLE:
        return 503;
    default:
        return 400;
    }
}

static void reply_error(struct http_api_reply *reply, int code)
{
    reply->status = http_api_status(code);
    reply->body = http_api_error_json(code);
}

/* An error whose message says more than the code's usual sentence. */
static void reply_error_message(struct http_api_reply *reply, int code,
                                const char *message)
{
    reply->status = http_api_status(code);
    reply->body = json_pack("{s:{s:s, s:s}}", "error", "code", codev_err_name(code),
                            "message", message);
}

/* Parses the body as a JSON object (an empty body is {}). */
static json_t *parse_body(const char *body, size_t len, int *code)
{
    json_error_t jerr;
    json_t *j;

    if (len == 0)
        return json_object();
    /* Nesting, not brackets: "Team [a][b]" in a name is no depth. */
    if (!proto_json_depth_ok(body, len, HTTP_API_MAX_DEPTH)) {
        *code = CODEV_E_TOO_DEEP;
        return NULL;
    }
    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        *code = CODEV_E_BAD_JSON;
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *code = CODEV_E_BAD_MESSAGE;
        return NULL;
    }
    return j;
}

/* Returns the string field key of o, or NULL with *code set: absent (or
 * null) is missing_field, another type is bad_field. Keeps the first error. */
static const char *get_string(json_t *o, const char *key, int *code)
{
    json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        return json_string_value(v);
    if (!*code)
        *code = !v || json_is_null(v) ? CODEV_E_MISSING_FIELD : CODEV_E_BAD_FIELD;
    return NULL;
}

/* Reads the optional "form" of in (the form of one's role labels: "n",
 * "f", "m"; absent or null: neutral) into *form. Returns 0, or
 * CODEV_E_BAD_FIELD for another value. */
static int get_form(json_t *in, int *form)
{
    json_t *v = json_object_get(in, "form");

    *form = FORM_NEUTRAL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || (*form = room_form_from_name(json_string_value(v))) < 0)
        return CODEV_E_BAD_FIELD;
    return 0;
}

static void create_group(struct hub *hub, const char *creator, json_t *in,
                         struct http_api_reply *reply)
{
    char member_id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1],
        invite[AUTH_SECRET_LEN + 1];
    struct hub_group *g;
    json_t *format = json_object_get(in, "format");
    int rc = 0, form;
    const char *name = get_string(in, "name", &rc);
    const char *facilitator = get_string(in, "facilitator_name", &rc);
    const char *language = get_string(in, "language", &rc);

    if (!rc && (!format || json_is_null(format)))
        rc = CODEV_E_MISSING_FIELD;
    if (!rc && !json_is_integer(format))
        rc = CODEV_E_BAD_FIELD;
    if (!rc)
        rc = get_form(in, &form);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    rc = hub_group_create(hub, creator, name, facilitator, language,
                          (int)json_integer_value(format), &g, member_id, key, invite);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    hub_member_form_set(g, member_id, form); /* checked above: cannot fail */
    reply->status = 201;
    reply->body = json_pack("{s:s, s:s, s:s, s:s}", "group_id", g->id, "member_id",
                            member_id, "member_key", key, "invite_code", invite);
    reply->effect = HTTP_API_EFFECT_CREATED;
    reply->group = g;
}

static void join_group(struct hub *hub, struct hub_group *g, json_t *in,
                       struct http_api_reply *reply)
{
    char member_id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1];
    int rc = 0, idx, form = FORM_NEUTRAL;
    const char *invite = get_string(in, "invite_code", &rc);
    const char *name = get_string(in, "display_name", &rc);

    if (!rc)
        rc = get_form(in, &form);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    rc = hub_member_join(hub, g, invite, name, member_id, key, &idx);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    hub_member_form_set(g, member_id, form); /* checked above: cannot fail */
    reply->status = 201;
    reply->body = json_pack("{s:s, s:s, s:s}", "group_id", g->id, "member_id", member_id,
                            "member_key", key);
    reply->effect = HTTP_API_EFFECT_JOINED;
    reply->group = g;
    reply->joined_room_idx = idx;
    memcpy(reply->joined_id, member_id, sizeof(reply->joined_id));
}

/* Returns the member whose key is in the Authorization header, or NULL with
 * *code set. Marks the reply authenticated when the key opens the group. */
static const struct hub_member *authorise(const struct hub_group *g, const char *auth,
                                          int *code, struct http_api_reply *reply)
{
    const struct hub_member *m;

    *code = CODEV_E_UNAUTHORIZED;
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return NULL;
    m = hub_member_auth(g, auth + 7);
    if (!m)
        return NULL;
    if (m->removed) {
        *code = CODEV_E_MEMBER_REMOVED;
        return NULL;
    }
    reply->authenticated = true;
    return m;
}

/* Whether m is the group's facilitator. */
static bool is_facilitator(const struct hub_group *g, const struct hub_member *m)
{
    return strcmp(m->id, g->facilitator) == 0;
}

/* Returns the facilitator whose key is in auth, or NULL after answering the
 * error (401 for no or a wrong key, 403 not_facilitator for another member). */
static const struct hub_member *authorise_facilitator(const struct hub_group *g,
                                                      const char *auth,
                                                      struct http_api_reply *reply)
{
    const struct hub_member *m;
    int rc;

    if (!(m = authorise(g, auth, &rc, reply))) {
        reply_error(reply, rc);
        return NULL;
    }
    if (!is_facilitator(g, m)) {
        reply_error(reply, CODEV_E_NOT_FACILITATOR);
        return NULL;
    }
    return m;
}

static void open_session(struct hub *hub, struct hub_group *g, const char *auth,
                         int64_t now_ms, struct http_api_reply *reply)
{
    int rc;

    if (!authorise_facilitator(g, auth, reply))
        return;
    rc = hub_session_open(hub, g, now_ms);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply->status = 201;
    reply->body = json_pack("{s:s}", "session_id", g->room->session_id);
    reply->effect = HTTP_API_EFFECT_OPENED;
    reply->group = g;
}

/* POST /api/groups/{id}/members/me: a member changes their own settings:
 * "form", the form of their role labels ("n", "f", "m"; required). Any
 * member, observers too; charged to the caller's write budget. The answer
 * is {"member": member object}; the group's sockets get member_updated. */
static void member_me_set(struct hub_group *g, const struct http_api_gate *gate,
                          const char *auth, const char *body, size_t len,
                          struct http_api_reply *reply)
{
    const struct hub_member *m;
    json_t *in, *updated, *v;
    int code = 0, form;

    if (!(m = authorise(g, auth, &code, reply))) {
        reply_error(reply, code);
        return;
    }
    if (gate && gate->write_allowed &&
        !gate->write_allowed(gate->arg, (struct hub_member *)m, &reply->retry_after_s)) {
        reply_error(reply, CODEV_E_RATE_LIMITED);
        return;
    }
    if (!(in = parse_body(body, len, &code))) {
        reply_error(reply, code);
        return;
    }
    v = json_object_get(in, "form");
    code = !v || json_is_null(v) ? CODEV_E_MISSING_FIELD : get_form(in, &form);
    json_decref(in);
    if (!code)
        code = hub_member_form_set(g, m->id, form);
    if (code) {
        reply_error(reply, code);
        return;
    }
    updated = proto_member_updated_json(g, m);
    reply->status = 200;
    reply->body = json_pack("{s:O}", "member", json_object_get(updated, "member"));
    json_decref(updated);
    reply->effect = HTTP_API_EFFECT_MEMBER;
    reply->group = g;
    memcpy(reply->joined_id, m->id, sizeof(reply->joined_id));
}

/* POST /api/groups/{id}/invite: the facilitator replaces the invite code;
 * the old one stops working at once. The new code is in the answer, the
 * only time it exists in clear. */
static void invite_rotate(struct hub_group *g, const char *auth,
                          struct http_api_reply *reply)
{
    char invite[AUTH_SECRET_LEN + 1];
    int rc;

    if (!authorise_facilitator(g, auth, reply))
        return;
    rc = hub_invite_rotate(g, invite);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply->status = 200;
    reply->body = json_pack("{s:s}", "invite_code", invite);
    reply->effect = HTTP_API_EFFECT_UPDATED;
    reply->group = g;
}

/* POST /api/groups/{id}/display: the facilitator makes the group's display
 * link (a read-only screen of the session), replacing any earlier one;
 * DELETE revokes it. The token is in the answer, the only time it exists in
 * clear, like an invite code. */
static void display_set(struct hub_group *g, const char *auth, bool revoke,
                        struct http_api_reply *reply)
{
    char token[AUTH_SECRET_LEN + 1];

    if (!authorise_facilitator(g, auth, reply))
        return;
    if (revoke) {
        hub_display_revoke(g);
        reply->body = json_pack("{s:b}", "display", false);
    } else {
        if (hub_display_rotate(g, token)) {
            reply_error(reply, CODEV_E_INTERNAL);
            return;
        }
        reply->body = json_pack("{s:s, s:s}", "group_id", g->id, "display_token", token);
    }
    reply->status = 200;
    reply->effect = HTTP_API_EFFECT_DISPLAY;
    reply->group = g;
}

/* Whether the edge's write budget (http_writes_per_min) lets the member m
 * write now; else answers 429 rate_limited with Retry-After. */
static bool write_budget(const struct http_api_gate *gate, const struct hub_member *m,
                         struct http_api_reply *reply)
{
    if (gate && gate->write_allowed &&
        !gate->write_allowed(gate->arg, (struct hub_member *)m, &reply->retry_after_s)) {
        reply_error(reply, CODEV_E_RATE_LIMITED);
        return false;
    }
    return true;
}

/* The template a settings call asks for: the format's defaults when it
 * changes the format, else the group's template, with the steps of budgets
 * ({step: minutes}, opening .. learning) on top. Returns 0 or
 * CODEV_E_BAD_FIELD with *why set. */
static int settings_template(const struct hub_group *g, int format, json_t *budgets,
                             int minutes[STEP_COUNT], const char **why)
{
    const char *key;
    json_t *v;

    if (format != g->format)
        hub_format_minutes(format, minutes); /* checked by the caller */
    else
        memcpy(minutes, g->step_min, sizeof(g->step_min));
    if (!budgets || json_is_null(budgets))
        return 0;
    *why = "budgets is an object of steps (opening to learning), each a whole number "
           "of minutes from 1 to 240, and the whole session at most 480 minutes.";
    if (!json_is_object(budgets) || json_object_size(budgets) > STEP_COUNT)
        return CODEV_E_BAD_FIELD;
    json_object_foreach(budgets, key, v)
    {
        int st = step_from_name(key);
        if (st < 0 || st == STEP_CLOSED || !json_is_integer(v) ||
            json_integer_value(v) < HUB_STEP_MIN_MIN ||
            json_integer_value(v) > HUB_STEP_MIN_MAX)
            return CODEV_E_BAD_FIELD;
        minutes[st] = (int)json_integer_value(v);
    }
    return hub_template_check(format, minutes);
}

/* The ground rules a settings call asks for: an array of strings into
 * rules[] (*n of them). Returns 0 or an error with *why set. */
static int settings_rules(json_t *in, const char **rules, size_t *n, const char **why)
{
    json_t *e;
    size_t i;
    int rc;

    *n = 0;
    *why = "ground_rules is null (the default list) or at most 8 rules, each one line "
           "of 1 to 200 characters.";
    if (!json_is_array(in) || json_array_size(in) > HUB_RULES_MAX)
        return CODEV_E_BAD_FIELD;
    json_array_foreach(in, i, e)
    {
        if (!json_is_string(e))
            return CODEV_E_BAD_FIELD;
        rules[(*n)++] = json_string_value(e);
    }
    rc = hub_rules_check(rules, *n);
    if (rc == CODEV_E_TEXT_EMPTY)
        *why = "A ground rule is empty.";
    else if (rc == CODEV_E_TEXT_TOO_LONG)
        *why = "A ground rule holds at most 200 characters.";
    return rc;
}

/* POST /api/groups/{id}/settings: the facilitator changes the retention,
 * the warning before a step's end (warn_before_s), the format, the session
 * template (budgets), the ground rules, or several. At least one is needed;
 * all are checked before any is applied. */
static void settings_set(struct hub_group *g, const struct http_api_gate *gate,
                         const char *auth, json_t *in, struct http_api_reply *reply)
{
    const struct hub_member *m;
    json_t *updated, *warn = json_object_get(in, "warn_before_s");
    json_t *retention = json_object_get(in, "retention");
    json_t *format = json_object_get(in, "format"),
           *budgets = json_object_get(in, "budgets");
    json_t *rules = json_object_get(in, "ground_rules"); /* null: the default list */
    const char *rule_list[HUB_RULES_MAX], *why = NULL;
    int minutes[STEP_COUNT], fmt = g->format, ret = (int)g->retention, rc = 0;
    size_t nrules = 0;

    if (!(m = authorise_facilitator(g, auth, reply)) || !write_budget(gate, m, reply))
        return;
    if ((!retention || json_is_null(retention)) && (!warn || json_is_null(warn)) &&
        (!format || json_is_null(format)) && (!budgets || json_is_null(budgets)) &&
        !rules)
        rc = CODEV_E_MISSING_FIELD;
    if (!rc && retention && !json_is_null(retention))
        rc = json_is_string(retention) &&
                     (ret = hub_retention_from_name(json_string_value(retention))) >= 0
                 ? 0
                 : CODEV_E_BAD_FIELD;
    if (!rc && warn && !json_is_null(warn))
        rc = json_is_integer(warn) && json_integer_value(warn) >= 0 &&
                     json_integer_value(warn) <= HUB_WARN_BEFORE_MAX_S
                 ? 0
                 : CODEV_E_BAD_FIELD;
    if (!rc && format && !json_is_null(format)) {
        why = "format is 45, 90, 120 or 240 (a half-day with two consultations).";
        rc = json_is_integer(format) &&
                     !hub_format_minutes((int)json_integer_value(format), minutes)
                 ? 0
                 : CODEV_E_BAD_FIELD;
        if (!rc)
            fmt = (int)json_integer_value(format);
    }
    if (!rc)
        rc = settings_template(g, fmt, budgets, minutes, &why);
    if (!rc && rules && !json_is_null(rules))
        rc = settings_rules(rules, rule_list, &nrules, &why);
    if (rc) {
        if (why && rc != CODEV_E_MISSING_FIELD)
            reply_error_message(reply, rc, why);
        else
            reply_error(reply, rc);
        return;
    }
    if (rules && hub_group_rules_set(g, json_is_null(rules) ? NULL : rule_list, nrules)) {
        reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    g->retention = (enum hub_retention)ret;
    if (warn && !json_is_null(warn))
        hub_group_warn_before_set(g, json_integer_value(warn));
    hub_group_format_set(g, fmt);
    hub_group_template_set(g, minutes); /* checked above */
    /* The same group object as the group_updated message carries. */
    updated = proto_group_updated_json(g);
    reply->status = 200;
    reply->body = json_pack("{s:O}", "group", json_object_get(updated, "group"));
    json_decref(updated);
    reply->effect = HTTP_API_EFFECT_UPDATED;
    reply->group = g;
}

/* DELETE /api/groups/{id}/members/{member_id}: the facilitator removes a
 * member between sessions (hub_member_remove): their key is refused, the
 * invite replaced, their sockets closed (the edge). */
static void member_remove(struct hub_group *g, const struct http_api_gate *gate,
                          const char *auth, const char *member_id,
                          struct http_api_reply *reply)
{
    const struct hub_member *m;
    int rc;

    if (!(m = authorise_facilitator(g, auth, reply)) || !write_budget(gate, m, reply))
        return;
    rc = hub_member_remove(g, member_id);
    if (rc == CODEV_E_SESSION_OPEN) {
        reply_error_message(
            reply, rc, "A session is open: remove the member there (member_remove).");
        return;
    }
    if (rc == CODEV_E_BAD_TARGET) {
        reply_error_message(reply, rc, "The facilitator cannot remove themselves.");
        return;
    }
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply->status = 200;
    reply->body = json_pack("{s:s}", "removed", member_id);
    reply->effect = HTTP_API_EFFECT_REMOVED;
    reply->group = g;
    memcpy(reply->joined_id, member_id, sizeof(reply->joined_id));
}

/* GET /api/groups/{id}/preview with "Authorization: Invite <code>" (no
 * member key): the group's name and its facilitator's, for the join page;
 * nothing else. A wrong or missing code is bad_invite. */
static void preview_get(const struct hub_group *g, const char *auth,
                        struct http_api_reply *reply)
{
    const struct hub_member *f;

    if (!auth || strncmp(auth, "Invite ", 7) != 0 || !hub_invite_check(g, auth + 7)) {
        reply_error(reply, CODEV_E_BAD_INVITE);
        return;
    }
    f = hub_member_find(g, g->facilitator);
    reply->status = 200;
    reply->body = json_pack("{s:s, s:s, s:s}", "group_id", g->id, "name", g->name,
                            "facilitator_name", f ? f->name : "");
}

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
        reply_error(reply, CODEV_E_INTERNAL);
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
        reply_error(reply, CODEV_E_INTERNAL);
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
        reply_error(reply, CODEV_E_INTERNAL);
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
        reply_error(reply, CODEV_E_INTERNAL);
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
        reply_error_message(reply, CODEV_E_NOT_FOUND,
                            "This group keeps no minutes: its retention is personal.");
        return;
    }
    if (!store) {
        reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    rc = store_minutes_read(store, sid, &r);
    if (rc == CODEV_E_NOT_FOUND || (!rc && !room_of_group(r, g))) {
        room_free(r);
        reply_error_message(reply, CODEV_E_NOT_FOUND,
                            "No minutes for this session: it is not a closed session of "
                            "this group, or it closed while the retention was personal.");
        return;
    }
    if (rc) {
        reply_error(reply, rc);
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

/* DELETE /api/groups/{id}: the facilitator deletes the group and all its
 * data. The edge does the deleting (HTTP_API_EFFECT_DELETED): sockets, store, hub. */
static void group_delete(struct hub_group *g, const char *auth,
                         struct http_api_reply *reply)
{
    if (!authorise_facilitator(g, auth, reply))
        return;
    reply->status = 200;
    reply->body = json_pack("{s:s}", "deleted", g->id);
    reply->effect = HTTP_API_EFFECT_DELETED;
    reply->group = g;
}

/* ---- between sessions (hub_life.c; proto/README.md 1.1) ------------------- */

/* Answers what the group keeps between sessions, as m sees it. */
static void reply_between(struct http_api_reply *reply, const struct hub_group *g,
                          const struct hub_member *m, int status)
{
    reply->status = status;
    reply->body = proto_between_json(g, m->id);
}

/* A write between sessions was accepted: answer, and have it journaled. */
static void reply_life(struct http_api_reply *reply, struct hub_group *g, int status,
                       json_t *body)
{
    reply->status = status;
    reply->body = body;
    reply->effect = HTTP_API_EFFECT_LIFE;
    reply->group = g;
}

/* POST /rota (facilitator): {"rota": [{"client", "facilitator"}]}, each a
 * member id or null. */
static void rota_set(struct hub_group *g, const struct hub_member *m, json_t *in,
                     struct http_api_reply *reply)
{
    const char *clients[HUB_ROTA_MAX], *facilitators[HUB_ROTA_MAX];
    json_t *rota = json_object_get(in, "rota"), *e;
    size_t i;
    int rc = 0;

    if (!rota || json_is_null(rota))
        rc = CODEV_E_MISSING_FIELD;
    else if (!json_is_array(rota) || json_array_size(rota) > HUB_ROTA_MAX)
        rc = CODEV_E_BAD_FIELD;
    json_array_foreach(rc ? NULL : rota, i, e)
    {
        json_t *c = json_object_get(e, "client"), *f = json_object_get(e, "facilitator");
        if (!json_is_object(e) || (c && !json_is_null(c) && !json_is_string(c)) ||
            (f && !json_is_null(f) && !json_is_string(f))) {
            rc = CODEV_E_BAD_FIELD;
            break;
        }
        clients[i] = json_string_value(c);
        facilitators[i] = json_string_value(f);
    }
    if (!rc)
        rc = hub_rota_set(g, clients, facilitators, json_array_size(rota));
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 200, proto_between_json(g, m->id));
}

/* POST /next-session (facilitator): {"date", "time", "duration_min",
 * "link"?, "time_zone"?}. */
static void next_set(struct hub_group *g, const struct hub_member *m, json_t *in,
                     struct http_api_reply *reply)
{
    json_t *dur = json_object_get(in, "duration_min"),
           *link = json_object_get(in, "link"), *tzj = json_object_get(in, "time_zone");
    int rc = 0;
    const char *date = get_string(in, "date", &rc), *time = get_string(in, "time", &rc);
    const char *tz = json_is_string(tzj) ? json_string_value(tzj) : NULL;
    const char *zone = tz ? tz : g->time_zone[0] ? g->time_zone : "UTC";
    int64_t start_ms = 0;

    if (!rc && (!dur || json_is_null(dur)))
        rc = CODEV_E_MISSING_FIELD;
    if (!rc && (!json_is_integer(dur) ||
                (link && !json_is_null(link) && !json_is_string(link)) ||
                (tzj && !json_is_null(tzj) && !tz)))
        rc = CODEV_E_BAD_FIELD;
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    if (json_integer_value(dur) < HUB_NEXT_DURATION_MIN ||
        json_integer_value(dur) > HUB_NEXT_DURATION_MAX ||
        hub_next_check(date, time, (int)json_integer_value(dur),
                       json_string_value(link))) {
        reply_error_message(
            reply, CODEV_E_BAD_FIELD,
            "A next session needs a date YYYY-MM-DD, a time HH:MM, a "
            "duration of 15 to 720 minutes and, if any, an http(s) link of "
            "at most 500 characters.");
        return;
    }
    if (!tz_name_ok(zone) ||
        tz_local_to_utc(NULL, zone, atoi(date), atoi(date + 5), atoi(date + 8),
                        atoi(time), atoi(time + 3), &start_ms)) {
        reply_error_message(reply, CODEV_E_BAD_FIELD,
                            "Unknown time zone: give an IANA name such as Europe/Paris.");
        return;
    }
    rc = hub_next_set(g, date, time, (int)json_integer_value(dur),
                      json_string_value(link), zone, start_ms);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 200, proto_between_json(g, m->id));
}

/* GET /next-session.ics (a member): the next session as iCalendar. */
static void next_ics(const struct hub_group *g, int64_t now_ms,
                     struct http_api_reply *reply)
{
    const struct hub_next *n = &g->next_session;
    char uid[AUTH_UUID_LEN + 40];
    struct ical_event ev;

    if (!n->set) {
        reply_error(reply, CODEV_E_NO_NEXT_SESSION);
        return;
    }
    snprintf(uid, sizeof(uid), "%s-%u@codevd", g->id, n->slot);
    ev = (struct ical_event){.uid = uid,
                             .stamp_ms = now_ms,
                             .start_ms = n->start_ms,
                             .duration_min = n->duration_min,
                             .sequence = n->sequence,
                             .summary = g->name,
                             .time_zone = g->time_zone[0] ? g->time_zone : "UTC",
                             .url = n->link};
    reply->text = ical_event_text(&ev, &reply->text_len);
    if (!reply->text) {
        reply_error(reply, CODEV_E_INTERNAL);
        return;
    }
    reply->status = 200;
    reply->content_type = "text/calendar; charset=utf-8";
    reply->filename = "codev-next-session.ics";
}

/* Reads the optional string key of in into *out (NULL when absent or
 * null); returns CODEV_E_BAD_FIELD for another type. */
static int get_optional_string(json_t *in, const char *key, const char **out)
{
    json_t *v = json_object_get(in, key);

    *out = json_is_string(v) ? json_string_value(v) : NULL;
    return !v || json_is_null(v) || json_is_string(v) ? 0 : CODEV_E_BAD_FIELD;
}

/* POST /proposals (a member, not an observer): {"title", "text"?}. */
static void proposal_add(struct hub_group *g, const struct hub_member *m, json_t *in,
                         int64_t now_ms, struct http_api_reply *reply)
{
    char id[AUTH_UUID_LEN + 1];
    const char *text;
    int rc = 0;
    const char *title = get_string(in, "title", &rc);

    if (!rc)
        rc = get_optional_string(in, "text", &text);
    if (!rc && m->observer)
        rc = CODEV_E_OBSERVER_READ_ONLY;
    if (!rc)
        rc = hub_proposal_add(g, m->id, title, text, now_ms, id);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 201, proto_proposal_json(g, hub_proposal_find(g, id)));
}

/* POST /proposals/{id} (its author): edit; DELETE: withdraw; POST
 * /proposals/{id}/choose (its author or the facilitator, in an open session):
 * brought to the topic step. */
static void proposal_change(struct hub_group *g, const struct hub_member *m,
                            const char *pid, int what, json_t *in, int64_t now_ms,
                            struct http_api_reply *reply)
{
    struct hub_proposal *p = hub_proposal_find(g, pid);
    const char *title = NULL, *text = NULL;
    int rc = 0;

    if (!p) {
        reply_error_message(reply, CODEV_E_NOT_FOUND, "No such case proposal.");
        return;
    }
    if (strcmp(p->author, m->id) != 0 && (what != 2 || !is_facilitator(g, m))) {
        reply_error(reply, CODEV_E_NOT_AUTHOR);
        return;
    }
    if (what == 0) { /* edit */
        title = get_string(in, "title", &rc);
        if (!rc)
            rc = get_optional_string(in, "text", &text);
        if (!rc)
            rc = hub_proposal_edit(p, title, text, now_ms);
        if (rc) {
            reply_error(reply, rc);
            return;
        }
        reply_life(reply, g, 200, proto_proposal_json(g, p));
        return;
    }
    if (what == 1) { /* withdraw */
        hub_proposal_remove(g, p);
        reply_life(reply, g, 200, json_pack("{s:s}", "withdrawn", pid));
        return;
    }
    if ((rc = hub_proposal_choose(g, p))) {
        reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 200, proto_proposal_json(g, p));
}

/* POST /draft (a member, not an observer): {"text"}; DELETE /draft. */
static void draft_change(struct hub *hub, struct hub_group *g, const struct hub_member *m,
                         bool del, json_t *in, int64_t now_ms,
                         struct http_api_reply *reply)
{
    int rc = 0;
    const char *text = del ? NULL : get_string(in, "text", &rc);

    if (!rc && m->observer && !del)
        rc = CODEV_E_OBSERVER_READ_ONLY;
    if (!rc)
        rc =
            del ? hub_draft_remove(g, m->id) : hub_draft_set(hub, g, m->id, text, now_ms);
    if (rc == CODEV_E_NOT_FOUND) {
        reply_error_message(reply, rc, "You have no exposé draft.");
        return;
    }
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 200, proto_between_json(g, m->id));
}

/* POST /debriefs (the earlier client): {"plan_id", "outcome", "comment"?}. */
static void debrief_advance(struct hub *hub, struct hub_group *g,
                            const struct hub_member *m, json_t *in,
                            struct http_api_reply *reply)
{
    const char *comment;
    int rc = 0, outcome;
    const char *plan = get_string(in, "plan_id", &rc),
               *oname = get_string(in, "outcome", &rc);

    if (!rc)
        rc = get_optional_string(in, "comment", &comment);
    if (!rc && (outcome = room_outcome_from_name(oname)) < 0)
        rc = CODEV_E_BAD_FIELD;
    if (!rc)
        rc = hub_debrief_advance(hub, g, m->id, plan, outcome, comment);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 200, proto_between_json(g, m->id));
}

enum route {
    ROUTE_NONE,
    ROUTE_GROUP,     /* GET, DELETE /api/groups/{id} */
    ROUTE_MEMBERS,   /* POST   /api/groups/{id}/members */
    ROUTE_SESSIONS,  /* POST   /api/groups/{id}/sessions */
    ROUTE_SETTINGS,  /* POST   /api/groups/{id}/settings */
    ROUTE_INVITE,    /* POST   /api/groups/{id}/invite */
    ROUTE_DISPLAY,   /* POST, DELETE /api/groups/{id}/display */
    ROUTE_JOURNAL,   /* GET    /api/groups/{id}/journal */
    ROUTE_HISTORY,   /* GET    /api/groups/{id}/history */
    ROUTE_MINUTES,   /* GET    /api/groups/{id}/sessions/{session_id}/minutes */
    ROUTE_ROTATION,  /* GET    /api/groups/{id}/rotation */
    ROUTE_ME,        /* POST   /api/groups/{id}/members/me */
    ROUTE_BETWEEN,   /* GET    /api/groups/{id}/between */
    ROUTE_ROTA,      /* POST   /api/groups/{id}/rota */
    ROUTE_NEXT,      /* POST, DELETE /api/groups/{id}/next-session */
    ROUTE_NEXT_ICS,  /* GET    /api/groups/{id}/next-session.ics */
    ROUTE_PROPOSALS, /* POST  /api/groups/{id}/proposals */
    ROUTE_PROPOSAL,  /* POST, DELETE /api/groups/{id}/proposals/{proposal_id} */
    ROUTE_CHOOSE,    /* POST   /api/groups/{id}/proposals/{proposal_id}/choose */
    ROUTE_DRAFT,     /* POST, DELETE /api/groups/{id}/draft */
    ROUTE_DEBRIEFS,  /* POST   /api/groups/{id}/debriefs */
    ROUTE_MEMBER,    /* DELETE /api/groups/{id}/members/{member_id} */
    ROUTE_PREVIEW    /* GET    /api/groups/{id}/preview (an invite code) */
};

/* Whether s starts with a UUID in text form (8-4-4-4-12 hex digits). */
static bool is_uuid(const char *s)
{
    for (int i = 0; i < AUTH_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* The route of what follows the group id; fills sid for ROUTE_MINUTES. */
static enum route route_of(const char *rest, char sid[AUTH_UUID_LEN + 1])
{
    static const struct {
        const char *path;
        enum route route;
    } fixed[] = {{"", ROUTE_GROUP},
                 {"/members", ROUTE_MEMBERS},
                 {"/members/me", ROUTE_ME},
                 {"/sessions", ROUTE_SESSIONS},
                 {"/settings", ROUTE_SETTINGS},
                 {"/invite", ROUTE_INVITE},
                 {"/display", ROUTE_DISPLAY},
                 {"/journal", ROUTE_JOURNAL},
                 {"/history", ROUTE_HISTORY},
                 {"/rotation", ROUTE_ROTATION},
                 {"/between", ROUTE_BETWEEN},
                 {"/rota", ROUTE_ROTA},
                 {"/next-session", ROUTE_NEXT},
                 {"/next-session.ics", ROUTE_NEXT_ICS},
                 {"/proposals", ROUTE_PROPOSALS},
                 {"/draft", ROUTE_DRAFT},
                 {"/debriefs", ROUTE_DEBRIEFS},
                 {"/preview", ROUTE_PREVIEW}};

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(rest, fixed[i].path) == 0)
            return fixed[i].route;
    if (strncmp(rest, "/sessions/", 10) == 0 && strlen(rest + 10) > AUTH_UUID_LEN &&
        is_uuid(rest + 10) && strcmp(rest + 10 + AUTH_UUID_LEN, "/minutes") == 0) {
        memcpy(sid, rest + 10, AUTH_UUID_LEN);
        sid[AUTH_UUID_LEN] = '\0';
        return ROUTE_MINUTES;
    }
    if (strncmp(rest, "/members/", 9) == 0 && strlen(rest + 9) == AUTH_UUID_LEN &&
        is_uuid(rest + 9)) {
        memcpy(sid, rest + 9, AUTH_UUID_LEN);
        sid[AUTH_UUID_LEN] = '\0';
        return ROUTE_MEMBER;
    }
    if (strncmp(rest, "/proposals/", 11) == 0 && strlen(rest + 11) >= AUTH_UUID_LEN &&
        is_uuid(rest + 11) &&
        (rest[11 + AUTH_UUID_LEN] == '\0' ||
         strcmp(rest + 11 + AUTH_UUID_LEN, "/choose") == 0)) {
        memcpy(sid, rest + 11, AUTH_UUID_LEN);
        sid[AUTH_UUID_LEN] = '\0';
        return rest[11 + AUTH_UUID_LEN] ? ROUTE_CHOOSE : ROUTE_PROPOSAL;
    }
    return ROUTE_NONE;
}

/* The routes, each with what it is (http_api_route_flags): the one table
 * the edge reads instead of guessing from the path. */
static const struct {
    enum route route;
    enum http_api_method method;
    unsigned flags;
} route_table[] = {
    {ROUTE_MEMBERS, HTTP_API_POST, HTTP_API_ROUTE_KEYLESS},
    {ROUTE_PREVIEW, HTTP_API_GET, HTTP_API_ROUTE_KEYLESS},
    {ROUTE_JOURNAL, HTTP_API_GET, HTTP_API_ROUTE_READS_DISK},
    {ROUTE_HISTORY, HTTP_API_GET, HTTP_API_ROUTE_READS_DISK},
    {ROUTE_MINUTES, HTTP_API_GET, HTTP_API_ROUTE_READS_DISK},
    {ROUTE_ROTATION, HTTP_API_GET, HTTP_API_ROUTE_READS_DISK},
};

unsigned http_api_route_flags(enum http_api_method method, const char *path)
{
    char sid[AUTH_UUID_LEN + 1];
    enum route route;

    if (strcmp(path, "/api/groups") == 0)
        return method == HTTP_API_POST ? HTTP_API_ROUTE_KEYLESS | HTTP_API_ROUTE_CREATES
                                       : 0;
    if (strncmp(path, "/api/groups/", 12) != 0 || strlen(path + 12) < AUTH_UUID_LEN)
        return 0;
    route = route_of(path + 12 + AUTH_UUID_LEN, sid);
    for (size_t i = 0; i < sizeof(route_table) / sizeof(route_table[0]); i++)
        if (route_table[i].route == route && route_table[i].method == method)
            return route_table[i].flags;
    return 0;
}

/* The metrics' names of the routes (http_api_route_label): enum route's,
 * then the two that are not under a group. */
enum { ROUTE_ID_HEALTH = ROUTE_PREVIEW + 1, ROUTE_ID_GROUPS, ROUTE_ID_COUNT };
_Static_assert(ROUTE_ID_COUNT <= HTTP_API_ROUTE_IDS, "HTTP_API_ROUTE_IDS is too small");
static const char *const route_labels[ROUTE_ID_COUNT] = {
    [ROUTE_NONE] = "unknown",
    [ROUTE_GROUP] = "group",
    [ROUTE_MEMBERS] = "group_members",
    [ROUTE_SESSIONS] = "group_sessions",
    [ROUTE_SETTINGS] = "group_settings",
    [ROUTE_INVITE] = "group_invite",
    [ROUTE_DISPLAY] = "group_display",
    [ROUTE_JOURNAL] = "group_journal",
    [ROUTE_HISTORY] = "group_history",
    [ROUTE_MINUTES] = "group_minutes",
    [ROUTE_ROTATION] = "group_rotation",
    [ROUTE_ME] = "group_members_me",
    [ROUTE_BETWEEN] = "group_between",
    [ROUTE_ROTA] = "group_rota",
    [ROUTE_NEXT] = "group_next_session",
    [ROUTE_NEXT_ICS] = "group_next_session_ics",
    [ROUTE_PROPOSALS] = "group_proposals",
    [ROUTE_PROPOSAL] = "group_proposal",
    [ROUTE_CHOOSE] = "group_proposal_choose",
    [ROUTE_DRAFT] = "group_draft",
    [ROUTE_DEBRIEFS] = "group_debriefs",
    [ROUTE_MEMBER] = "group_member",
    [ROUTE_PREVIEW] = "group_preview",
    [ROUTE_ID_HEALTH] = "health",
    [ROUTE_ID_GROUPS] = "groups",
};

unsigned http_api_route_id(const char *path)
{
    char sid[AUTH_UUID_LEN + 1];

    if (strcmp(path, "/api/health") == 0)
        return ROUTE_ID_HEALTH;
    if (strcmp(path, "/api/groups") == 0)
        return ROUTE_ID_GROUPS;
    if (strncmp(path, "/api/groups/", 12) != 0 || strlen(path + 12) < AUTH_UUID_LEN)
        return ROUTE_NONE;
    return (unsigned)route_of(path + 12 + AUTH_UUID_LEN, sid);
}

const char *http_api_route_label(unsigned id)
{
    return id < ROUTE_ID_COUNT && route_labels[id] ? route_labels[id] : "unknown";
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
        reply_error(reply, CODEV_E_INTERNAL);
}

/* The routes between sessions that need no disk: any member reads; the
 * writes are checked by role, then charged to the caller's write budget. */
static void life_route(struct hub *hub, struct hub_group *g,
                       const struct http_api_gate *gate, enum route route,
                       enum http_api_method method, const char *pid, const char *auth,
                       const char *body, size_t len, int64_t now_ms,
                       struct http_api_reply *reply)
{
    static const struct {
        enum route route;
        unsigned methods; /* 1 << enum http_api_method */
        bool facilitator; /* the facilitator only */
    } allowed[] = {
        {ROUTE_BETWEEN, 1u << HTTP_API_GET, false},
        {ROUTE_NEXT_ICS, 1u << HTTP_API_GET, false},
        {ROUTE_ROTA, 1u << HTTP_API_POST, true},
        {ROUTE_NEXT, 1u << HTTP_API_POST | 1u << HTTP_API_DELETE, true},
        {ROUTE_PROPOSALS, 1u << HTTP_API_POST, false},
        {ROUTE_PROPOSAL, 1u << HTTP_API_POST | 1u << HTTP_API_DELETE, false},
        {ROUTE_CHOOSE, 1u << HTTP_API_POST, false},
        {ROUTE_DRAFT, 1u << HTTP_API_POST | 1u << HTTP_API_DELETE, false},
        {ROUTE_DEBRIEFS, 1u << HTTP_API_POST, false},
    };
    const struct hub_member *m;
    json_t *in = NULL;
    size_t i;
    int code = 0;

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (allowed[i].route == route)
            break;
    if (i == sizeof(allowed) / sizeof(allowed[0]) ||
        !(allowed[i].methods & (1u << method))) {
        reply_error(reply, CODEV_E_METHOD_NOT_ALLOWED);
        return;
    }
    if (!(m = authorise(g, auth, &code, reply))) {
        reply_error(reply, code);
        return;
    }
    if (method == HTTP_API_GET) {
        if (route == ROUTE_BETWEEN)
            reply_between(reply, g, m, 200);
        else
            next_ics(g, now_ms, reply);
        return;
    }
    if (allowed[i].facilitator && !is_facilitator(g, m)) {
        reply_error(reply, CODEV_E_NOT_FACILITATOR);
        return;
    }
    if (gate && gate->write_allowed &&
        !gate->write_allowed(gate->arg, (struct hub_member *)m, &reply->retry_after_s)) {
        reply_error(reply, CODEV_E_RATE_LIMITED);
        return;
    }
    if (method == HTTP_API_POST && !(in = parse_body(body, len, &code))) {
        reply_error(reply, code);
        return;
    }
    switch (route) {
    case ROUTE_ROTA:
        rota_set(g, m, in, reply);
        break;
    case ROUTE_NEXT:
        if (method == HTTP_API_DELETE) {
            hub_next_clear(g);
            reply_life(reply, g, 200, proto_between_json(g, m->id));
        } else {
            next_set(g, m, in, reply);
        }
        break;
    case ROUTE_PROPOSALS:
        proposal_add(g, m, in, now_ms, reply);
        break;
    case ROUTE_PROPOSAL:
        proposal_change(g, m, pid, method == HTTP_API_DELETE ? 1 : 0, in, now_ms, reply);
        break;
    case ROUTE_CHOOSE:
        proposal_change(g, m, pid, 2, in, now_ms, reply);
        break;
    case ROUTE_DRAFT:
        draft_change(hub, g, m, method == HTTP_API_DELETE, in, now_ms, reply);
        break;
    default:
        debrief_advance(hub, g, m, in, reply);
        break;
    }
    json_decref(in);
    if (!reply->body && !reply->text) {
        reply->status = 500;
        reply->body = http_api_error_json(CODEV_E_INTERNAL);
    }
}

void http_api_handle(struct hub *hub, struct store *store,
                     const struct http_api_gate *gate, enum http_api_method method,
                     const char *path, const char *query, const char *auth,
                     const char *body, size_t len, int64_t now_ms,
                     struct http_api_reply *reply)
{
    char gid[AUTH_UUID_LEN + 1], sid[AUTH_UUID_LEN + 1];
    const char *rest;
    const struct hub_member *m;
    struct hub_group *g;
    enum route route;
    enum export_format fmt;
    json_t *in = NULL;
    int code = 0;

    memset(reply, 0, sizeof(*reply));
    reply->joined_room_idx = -1;

    if (strcmp(path, "/api/health") == 0) {
        if (method != HTTP_API_GET)
            goto method;
        /* While the store fails, 503: a load balancer then sends the
         * group's members elsewhere, or a person looks. */
        reply->status = gate && gate->store_failing ? 503 : 200;
        /* limits: what the front page's forms need before any group exists
         * (the room's limits come with the welcome). */
        reply->body = json_pack("{s:s, s:s, s:I, s:{s:I}}", "status",
                                gate && gate->store_failing ? "store_unavailable" : "ok",
                                "version", CODEVD_VERSION, "connections",
                                (json_int_t)(gate ? gate->connections : 0), "limits",
                                "name_max_chars", (json_int_t)hub->name_max_chars);
        return;
    }
    if (strcmp(path, "/api/groups") == 0) {
        if (method != HTTP_API_POST)
            goto method;
        if (!(in = parse_body(body, len, &code)))
            goto error;
        create_group(hub, gate ? gate->creator : NULL, in, reply);
        goto out;
    }
    if (strncmp(path, "/api/groups/", 12) != 0 || strlen(path + 12) < AUTH_UUID_LEN) {
        code = CODEV_E_NOT_FOUND;
        goto error;
    }
    memcpy(gid, path + 12, AUTH_UUID_LEN);
    gid[AUTH_UUID_LEN] = '\0';
    rest = path + 12 + AUTH_UUID_LEN;
    route = route_of(rest, sid);
    if (route == ROUTE_NONE) {
        code = CODEV_E_NOT_FOUND;
        goto error;
    }
    g = hub_group_find(hub, gid);
    if (!g) {
        code = CODEV_E_UNKNOWN_GROUP;
        goto error;
    }
    if (route == ROUTE_MEMBERS || route == ROUTE_SESSIONS || route == ROUTE_SETTINGS ||
        route == ROUTE_INVITE) {
        if (method != HTTP_API_POST)
            goto method;
        if (!(in = parse_body(body, len, &code)))
            goto error;
        if (route == ROUTE_MEMBERS)
            join_group(hub, g, in, reply);
        else if (route == ROUTE_SESSIONS)
            open_session(hub, g, auth, now_ms, reply);
        else if (route == ROUTE_INVITE)
            invite_rotate(g, auth, reply);
        else
            settings_set(g, gate, auth, in, reply);
        goto out;
    }
    if (route == ROUTE_DISPLAY) {
        if (method != HTTP_API_POST && method != HTTP_API_DELETE)
            goto method;
        if (method == HTTP_API_POST && !(in = parse_body(body, len, &code)))
            goto error;
        display_set(g, auth, method == HTTP_API_DELETE, reply);
        goto out;
    }
    if (route == ROUTE_ME) {
        if (method != HTTP_API_POST)
            goto method;
        member_me_set(g, gate, auth, body, len, reply);
        goto out;
    }
    if (route == ROUTE_GROUP && method == HTTP_API_DELETE) {
        group_delete(g, auth, reply);
        goto out;
    }
    if (route == ROUTE_MEMBER || route == ROUTE_PREVIEW) {
        if (method != (route == ROUTE_MEMBER ? HTTP_API_DELETE : HTTP_API_GET))
            goto method;
        if (route == ROUTE_MEMBER)
            member_remove(g, gate, auth, sid, reply);
        else
            preview_get(g, auth, reply);
        goto out;
    }
    if (route >= ROUTE_BETWEEN) {
        life_route(hub, g, gate, route, method, sid, auth, body, len, now_ms, reply);
        return;
    }
    /* The reads: any member's key, the facilitator's for the history. */
    if (method != HTTP_API_GET)
        goto method;
    if (!(m = authorise(g, auth, &code, reply)))
        goto error;
    if (route == ROUTE_GROUP) {
        reply->status = 200;
        reply->body = proto_group_json(g);
        /* A closed session is shown to its members only, as in welcome. */
        if (g->room && !hub_room_of(g, m->id))
            json_object_set_new(reply->body, "session", json_null());
        return;
    }
    if (route == ROUTE_HISTORY && !is_facilitator(g, m)) {
        code = CODEV_E_NOT_FACILITATOR;
        goto error;
    }
    if ((code = query_format(query, &fmt)))
        goto error;
    if (route == ROUTE_ROTATION && fmt != EXPORT_JSON) {
        code = CODEV_E_BAD_FIELD;
        goto error;
    }
    /* The key is checked: only now may the request use an export budget. */
    if (gate && gate->export_allowed &&
        !gate->export_allowed(gate->arg, (struct hub_member *)m, &reply->retry_after_s)) {
        code = CODEV_E_RATE_LIMITED;
        goto error;
    }
    {
        struct http_api_job job = {
            .route = (int)route, .fmt = fmt, .group = g, .now_ms = now_ms};
        memcpy(job.member_id, m->id, sizeof(job.member_id));
        memcpy(job.session_id, sid, sizeof(job.session_id));
        if (gate && gate->offload) {
            /* The edge runs it off the loop thread, on a copy of the group. */
            reply->job = http_api_job_new(&job);
            if (!reply->job)
                reply_error(reply, CODEV_E_INTERNAL);
            goto out;
        }
        http_api_job_run(&job, store, reply);
    }
    goto out;
method:
    code = CODEV_E_METHOD_NOT_ALLOWED;
error:
    reply_error(reply, code);
out:
    json_decref(in);
    if (!reply->body && !reply->text && !reply->job) {
        reply->status = 500;
        reply->body = http_api_error_json(CODEV_E_INTERNAL);
    }
}
