/*
 * http_api_groups.c - the group itself over HTTP (proto/README.md 1): create
 * it, join it, open a session, a member's own settings, the invite code,
 * the display link, the settings page (retention, warning, format,
 * template, ground rules), removing a member between sessions, the join
 * page's preview, deleting the group. See http_api_internal.h.
 *
 * Invariants:
 *   - Decides and answers only: what a call changed is reported in the
 *     reply (effect and group) for the edge to journal and announce; the
 *     hub (hub.c, hub_settings.c) holds the rules of each change.
 *   - Every write but create, join and preview needs a member's key; the
 *     settings, the invite, the display link, opening, removing and
 *     deleting need the facilitator's. A settings call checks every field
 *     before it applies any.
 *   - Secrets (member keys, invite codes, display tokens) appear in the
 *     answer that makes them, the only time they exist in clear.
 *
 * Expected load: a few calls per group per session; each is O(members +
 * rules + steps). Loop thread only.
 */
#include "http_api_internal.h"

#include <string.h>

#include "errors.h"
#include "protocol.h"

void http_api_group_create(struct hub *hub, const char *creator, json_t *in,
                           struct http_api_reply *reply)
{
    char member_id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1],
        invite[AUTH_SECRET_LEN + 1];
    struct hub_group *g;
    json_t *format = json_object_get(in, "format");
    int rc = 0, form;
    const char *name = http_api_get_string(in, "name", &rc);
    const char *facilitator = http_api_get_string(in, "facilitator_name", &rc);
    const char *language = http_api_get_string(in, "language", &rc);

    if (!rc && (!format || json_is_null(format)))
        rc = CODEV_E_MISSING_FIELD;
    if (!rc && !json_is_integer(format))
        rc = CODEV_E_BAD_FIELD;
    if (!rc)
        rc = http_api_get_form(in, &form);
    if (rc) {
        http_api_reply_error(reply, rc);
        return;
    }
    rc = hub_group_create(hub, creator, name, facilitator, language,
                          (int)json_integer_value(format), &g, member_id, key, invite);
    if (rc) {
        http_api_reply_error(reply, rc);
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
    const char *invite = http_api_get_string(in, "invite_code", &rc);
    const char *name = http_api_get_string(in, "display_name", &rc);

    if (!rc)
        rc = http_api_get_form(in, &form);
    if (rc) {
        http_api_reply_error(reply, rc);
        return;
    }
    rc = hub_member_join(hub, g, invite, name, member_id, key, &idx);
    if (rc) {
        http_api_reply_error(reply, rc);
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

static void open_session(struct hub *hub, struct hub_group *g, const char *auth,
                         int64_t now_ms, struct http_api_reply *reply)
{
    int rc;

    if (!http_api_authorise_facilitator(g, auth, reply))
        return;
    rc = hub_session_open(hub, g, now_ms);
    if (rc) {
        http_api_reply_error(reply, rc);
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

    if (!(m = http_api_authorise(g, auth, &code, reply))) {
        http_api_reply_error(reply, code);
        return;
    }
    if (!http_api_write_budget(gate, m, reply))
        return;
    if (!(in = http_api_parse_body(body, len, &code))) {
        http_api_reply_error(reply, code);
        return;
    }
    v = json_object_get(in, "form");
    code = !v || json_is_null(v) ? CODEV_E_MISSING_FIELD : http_api_get_form(in, &form);
    json_decref(in);
    if (!code)
        code = hub_member_form_set(g, m->id, form);
    if (code) {
        http_api_reply_error(reply, code);
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

    if (!http_api_authorise_facilitator(g, auth, reply))
        return;
    rc = hub_invite_rotate(g, invite);
    if (rc) {
        http_api_reply_error(reply, rc);
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

    if (!http_api_authorise_facilitator(g, auth, reply))
        return;
    if (revoke) {
        hub_display_revoke(g);
        reply->body = json_pack("{s:b}", "display", false);
    } else {
        if (hub_display_rotate(g, token)) {
            http_api_reply_error(reply, CODEV_E_INTERNAL);
            return;
        }
        reply->body = json_pack("{s:s, s:s}", "group_id", g->id, "display_token", token);
    }
    reply->status = 200;
    reply->effect = HTTP_API_EFFECT_DISPLAY;
    reply->group = g;
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

    if (!(m = http_api_authorise_facilitator(g, auth, reply)) ||
        !http_api_write_budget(gate, m, reply))
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
            http_api_reply_error_message(reply, rc, why);
        else
            http_api_reply_error(reply, rc);
        return;
    }
    if (rules && hub_group_rules_set(g, json_is_null(rules) ? NULL : rule_list, nrules)) {
        http_api_reply_error(reply, CODEV_E_INTERNAL);
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

    if (!(m = http_api_authorise_facilitator(g, auth, reply)) ||
        !http_api_write_budget(gate, m, reply))
        return;
    rc = hub_member_remove(g, member_id);
    if (rc == CODEV_E_SESSION_OPEN) {
        http_api_reply_error_message(
            reply, rc, "A session is open: remove the member there (member_remove).");
        return;
    }
    if (rc == CODEV_E_BAD_TARGET) {
        http_api_reply_error_message(reply, rc,
                                     "The facilitator cannot remove themselves.");
        return;
    }
    if (rc) {
        http_api_reply_error(reply, rc);
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
        http_api_reply_error(reply, CODEV_E_BAD_INVITE);
        return;
    }
    f = hub_member_find(g, g->facilitator);
    reply->status = 200;
    reply->body = json_pack("{s:s, s:s, s:s}", "group_id", g->id, "name", g->name,
                            "facilitator_name", f ? f->name : "");
}

/* DELETE /api/groups/{id}: the facilitator deletes the group and all its
 * data. The edge does the deleting (HTTP_API_EFFECT_DELETED): sockets, store, hub. */
static void group_delete(struct hub_group *g, const char *auth,
                         struct http_api_reply *reply)
{
    if (!http_api_authorise_facilitator(g, auth, reply))
        return;
    reply->status = 200;
    reply->body = json_pack("{s:s}", "deleted", g->id);
    reply->effect = HTTP_API_EFFECT_DELETED;
    reply->group = g;
}

void http_api_group_route(struct hub *hub, struct hub_group *g,
                          const struct http_api_gate *gate, enum route route,
                          enum http_api_method method, const char *member_id,
                          const char *auth, const char *body, size_t len, int64_t now_ms,
                          struct http_api_reply *reply)
{
    json_t *in = NULL;
    int code = 0;

    /* The routes that take a body parse it before their key is checked. */
    if ((route == ROUTE_MEMBERS || route == ROUTE_SESSIONS || route == ROUTE_SETTINGS ||
         route == ROUTE_INVITE || (route == ROUTE_DISPLAY && method == HTTP_API_POST)) &&
        !(in = http_api_parse_body(body, len, &code))) {
        http_api_reply_error(reply, code);
        return;
    }
    switch (route) {
    case ROUTE_MEMBERS:
        join_group(hub, g, in, reply);
        break;
    case ROUTE_SESSIONS:
        open_session(hub, g, auth, now_ms, reply);
        break;
    case ROUTE_INVITE:
        invite_rotate(g, auth, reply);
        break;
    case ROUTE_SETTINGS:
        settings_set(g, gate, auth, in, reply);
        break;
    case ROUTE_DISPLAY:
        display_set(g, auth, method == HTTP_API_DELETE, reply);
        break;
    case ROUTE_ME:
        member_me_set(g, gate, auth, body, len, reply);
        break;
    case ROUTE_GROUP: /* DELETE: the reads are http_api.c's */
        group_delete(g, auth, reply);
        break;
    case ROUTE_MEMBER:
        member_remove(g, gate, auth, member_id, reply);
        break;
    case ROUTE_PREVIEW:
        preview_get(g, auth, reply);
        break;
    default:
        http_api_reply_error(reply, CODEV_E_NOT_FOUND);
        break;
    }
    json_decref(in);
}
