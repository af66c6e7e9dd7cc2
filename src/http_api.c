/*
 * http_api.c - the JSON HTTP API's front (see http_api.h): the route table,
 * routing a request to its file, the health answer, and what every route
 * shares: errors, bodies, keys, the write budget.
 *
 * The routes themselves live by what they serve (http_api_internal.h):
 * the group (http_api_groups.c), what it keeps between sessions
 * (http_api_life.c), the reads from the store (http_api_exports.c).
 *
 * Invariants:
 *   - The route table below is the one list of routes: which methods each
 *     takes (any other is 405 method_not_allowed, once the group is found),
 *     which are keyless, which read the disk (http_api_route_flags tells
 *     the edge before the call is handled), which live between sessions.
 *   - A request body is parsed with its nesting bounded (HTTP_API_MAX_DEPTH)
 *     and duplicate keys refused; every answer has a body or a text (else
 *     500 internal).
 *   - A member key is checked in constant time over every member
 *     (hub_member_auth); a removed member's key answers member_removed.
 *
 * Expected load: a few calls a second per group; routing is O(routes) and
 * O(members) for a key. Loop thread only.
 */
#include "http_api_internal.h"

#include <string.h>

#include "codevd_config.h"
#include "errors.h"
#include "protocol.h"

#define HTTP_API_MAX_DEPTH 4

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

void http_api_reply_error(struct http_api_reply *reply, int code)
{
    reply->status = http_api_status(code);
    reply->body = http_api_error_json(code);
}

/* An error whose message says more than the code's usual sentence. */
void http_api_reply_error_message(struct http_api_reply *reply, int code,
                                  const char *message)
{
    reply->status = http_api_status(code);
    reply->body = json_pack("{s:{s:s, s:s}}", "error", "code", codev_err_name(code),
                            "message", message);
}

/* Parses the body as a JSON object (an empty body is {}). */
json_t *http_api_parse_body(const char *body, size_t len, int *code)
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
const char *http_api_get_string(json_t *o, const char *key, int *code)
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
int http_api_get_form(json_t *in, int *form)
{
    json_t *v = json_object_get(in, "form");

    *form = FORM_NEUTRAL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || (*form = room_form_from_name(json_string_value(v))) < 0)
        return CODEV_E_BAD_FIELD;
    return 0;
}

/* Returns the member whose key is in the Authorization header, or NULL with
 * *code set. Marks the reply authenticated when the key opens the group. */
const struct hub_member *http_api_authorise(const struct hub_group *g, const char *auth,
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
bool http_api_is_facilitator(const struct hub_group *g, const struct hub_member *m)
{
    return strcmp(m->id, g->facilitator) == 0;
}

/* Returns the facilitator whose key is in auth, or NULL after answering the
 * error (401 for no or a wrong key, 403 not_facilitator for another member). */
const struct hub_member *http_api_authorise_facilitator(const struct hub_group *g,
                                                        const char *auth,
                                                        struct http_api_reply *reply)
{
    const struct hub_member *m;
    int rc;

    if (!(m = http_api_authorise(g, auth, &rc, reply))) {
        http_api_reply_error(reply, rc);
        return NULL;
    }
    if (!http_api_is_facilitator(g, m)) {
        http_api_reply_error(reply, CODEV_E_NOT_FACILITATOR);
        return NULL;
    }
    return m;
}

/* Whether the edge's write budget (http_writes_per_min) lets the member m
 * write now; else answers 429 rate_limited with Retry-After. */
bool http_api_write_budget(const struct http_api_gate *gate, const struct hub_member *m,
                           struct http_api_reply *reply)
{
    if (gate && gate->write_allowed &&
        !gate->write_allowed(gate->arg, (struct hub_member *)m, &reply->retry_after_s)) {
        http_api_reply_error(reply, CODEV_E_RATE_LIMITED);
        return false;
    }
    return true;
}

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

/* The routes, each with the methods it takes, what it is (enum
 * http_api_route_flag, and the internal flags) and its name in the metrics
 * (http_api_route_label): the one table the edge reads instead of guessing
 * from the path, and routing follows. */
#define M(method) (1u << HTTP_API_##method)
static const struct {
    enum route route;
    unsigned methods; /* 1 << enum http_api_method */
    unsigned flags;
    const char *label; /* the metrics' route label: fixed, never the path */
} route_table[] = {
    {ROUTE_GROUP, M(GET) | M(DELETE), 0, "group"},
    {ROUTE_MEMBERS, M(POST), HTTP_API_ROUTE_KEYLESS, "group_members"},
    {ROUTE_SESSIONS, M(POST), 0, "group_sessions"},
    {ROUTE_SETTINGS, M(POST), 0, "group_settings"},
    {ROUTE_INVITE, M(POST), 0, "group_invite"},
    {ROUTE_DISPLAY, M(POST) | M(DELETE), 0, "group_display"},
    {ROUTE_JOURNAL, M(GET), HTTP_API_ROUTE_READS_DISK, "group_journal"},
    {ROUTE_HISTORY, M(GET), HTTP_API_ROUTE_READS_DISK, "group_history"},
    {ROUTE_MINUTES, M(GET), HTTP_API_ROUTE_READS_DISK, "group_minutes"},
    {ROUTE_ROTATION, M(GET), HTTP_API_ROUTE_READS_DISK, "group_rotation"},
    {ROUTE_ME, M(POST), 0, "group_members_me"},
    {ROUTE_BETWEEN, M(GET), HTTP_API_ROUTE_LIFE, "group_between"},
    {ROUTE_ROTA, M(POST), HTTP_API_ROUTE_LIFE | HTTP_API_ROUTE_FACILITATOR_WRITES,
     "group_rota"},
    {ROUTE_NEXT, M(POST) | M(DELETE),
     HTTP_API_ROUTE_LIFE | HTTP_API_ROUTE_FACILITATOR_WRITES, "group_next_session"},
    {ROUTE_NEXT_ICS, M(GET), HTTP_API_ROUTE_LIFE, "group_next_session_ics"},
    {ROUTE_PROPOSALS, M(POST), HTTP_API_ROUTE_LIFE, "group_proposals"},
    {ROUTE_PROPOSAL, M(POST) | M(DELETE), HTTP_API_ROUTE_LIFE, "group_proposal"},
    {ROUTE_CHOOSE, M(POST), HTTP_API_ROUTE_LIFE, "group_proposal_choose"},
    {ROUTE_DRAFT, M(POST) | M(DELETE), HTTP_API_ROUTE_LIFE, "group_draft"},
    {ROUTE_DEBRIEFS, M(POST), HTTP_API_ROUTE_LIFE, "group_debriefs"},
    {ROUTE_MEMBER, M(DELETE), 0, "group_member"},
    {ROUTE_PREVIEW, M(GET), HTTP_API_ROUTE_KEYLESS, "group_preview"},
};
#undef M

/* The row of route in the route table, or -1. */
static int route_row(enum route route)
{
    for (size_t i = 0; i < sizeof(route_table) / sizeof(route_table[0]); i++)
        if (route_table[i].route == route)
            return (int)i;
    return -1;
}

/* Whether route takes method. */
static bool route_takes(enum route route, enum http_api_method method)
{
    int i = route_row(route);

    return i >= 0 && method != HTTP_API_OTHER &&
           (route_table[i].methods & (1u << method));
}

unsigned http_api_route_row_flags(enum route route)
{
    int i = route_row(route);

    return i < 0 ? 0 : route_table[i].flags;
}

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
    if (!route_takes(route, method))
        return 0;
    return http_api_route_row_flags(route) &
           (HTTP_API_ROUTE_KEYLESS | HTTP_API_ROUTE_CREATES | HTTP_API_ROUTE_READS_DISK);
}

/* The metrics' ids of what is not a row of the route table. */
enum { ROUTE_ID_HEALTH = ROUTE_PREVIEW + 1, ROUTE_ID_GROUPS, ROUTE_ID_COUNT };
_Static_assert(ROUTE_ID_COUNT <= HTTP_API_ROUTE_IDS, "HTTP_API_ROUTE_IDS is too small");

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
    int i;

    if (id == ROUTE_ID_HEALTH)
        return "health";
    if (id == ROUTE_ID_GROUPS)
        return "groups";
    i = id < ROUTE_ID_COUNT ? route_row((enum route)id) : -1;
    return i < 0 ? "unknown" : route_table[i].label;
}

void http_api_handle(struct hub *hub, struct store *store,
                     const struct http_api_gate *gate, enum http_api_method method,
                     const char *path, const char *query, const char *auth,
                     const char *body, size_t len, int64_t now_ms,
                     struct http_api_reply *reply)
{
    char gid[AUTH_UUID_LEN + 1], sid[AUTH_UUID_LEN + 1];
    const struct hub_member *m;
    struct hub_group *g;
    enum route route;
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
        if (!(in = http_api_parse_body(body, len, &code)))
            goto error;
        http_api_group_create(hub, gate ? gate->creator : NULL, in, reply);
        goto out;
    }
    if (strncmp(path, "/api/groups/", 12) != 0 || strlen(path + 12) < AUTH_UUID_LEN) {
        code = CODEV_E_NOT_FOUND;
        goto error;
    }
    memcpy(gid, path + 12, AUTH_UUID_LEN);
    gid[AUTH_UUID_LEN] = '\0';
    route = route_of(path + 12 + AUTH_UUID_LEN, sid);
    if (route == ROUTE_NONE) {
        code = CODEV_E_NOT_FOUND;
        goto error;
    }
    g = hub_group_find(hub, gid);
    if (!g) {
        code = CODEV_E_UNKNOWN_GROUP;
        goto error;
    }
    if (!route_takes(route, method))
        goto method;
    if (http_api_route_row_flags(route) & HTTP_API_ROUTE_LIFE) {
        http_api_life_route(hub, g, gate, route, method, sid, auth, body, len, now_ms,
                            reply);
        goto out;
    }
    if (method != HTTP_API_GET || route == ROUTE_PREVIEW) {
        http_api_group_route(hub, g, gate, route, method, sid, auth, body, len, now_ms,
                             reply);
        goto out;
    }
    /* The reads: any member's key, the facilitator's for the history. */
    if (!(m = http_api_authorise(g, auth, &code, reply)))
        goto error;
    if (route == ROUTE_GROUP) {
        reply->status = 200;
        reply->body = proto_group_json(g);
        /* A closed session is shown to its members only, as in welcome. */
        if (g->room && !hub_room_of(g, m->id))
            json_object_set_new(reply->body, "session", json_null());
        return;
    }
    if ((code =
             http_api_export_route(store, gate, g, m, route, sid, query, now_ms, reply)))
        goto error;
    goto out;
method:
    code = CODEV_E_METHOD_NOT_ALLOWED;
error:
    http_api_reply_error(reply, code);
out:
    json_decref(in);
    if (!reply->body && !reply->text && !reply->job) {
        reply->status = 500;
        reply->body = http_api_error_json(CODEV_E_INTERNAL);
    }
}
