/*
 * http_api.c - groups, joining and opening sessions over HTTP (see http_api.h).
 */
#include "http_api.h"

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
        return 403;
    case CODEV_E_NOT_FOUND:
    case CODEV_E_UNKNOWN_GROUP:
        return 404;
    case CODEV_E_METHOD_NOT_ALLOWED:
        return 405;
    case CODEV_E_SESSION_OPEN:
        return 409;
    case CODEV_E_TOO_LARGE:
        return 413;
    case CODEV_E_GROUP_FULL:
    case CODEV_E_TOO_MANY_GROUPS:
    case CODEV_E_TOO_MANY_SESSIONS:
    case CODEV_E_RATE_LIMITED:
        return 429;
    case CODEV_E_INTERNAL:
        return 500;
    default:
        return 400;
    }
}

static void reply_error(struct http_api_reply *reply, int code)
{
    reply->status = http_api_status(code);
    reply->body = http_api_error_json(code);
}

/* Parses the body as a JSON object (an empty body is {}). */
static json_t *parse_body(const char *body, size_t len, int *code)
{
    json_error_t jerr;
    json_t *j;
    int depth = 0;

    if (len == 0)
        return json_object();
    for (size_t i = 0; i < len; i++)
        if ((body[i] == '{' || body[i] == '[') && ++depth > HTTP_API_MAX_DEPTH) {
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

static void create_group(struct hub *hub, json_t *in, struct http_api_reply *reply)
{
    char member_id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1],
        invite[AUTH_SECRET_LEN + 1];
    struct hub_group *g;
    json_t *format = json_object_get(in, "format");
    int rc = 0;
    const char *name = get_string(in, "name", &rc);
    const char *facilitator = get_string(in, "facilitator_name", &rc);
    const char *language = get_string(in, "language", &rc);

    if (!rc && (!format || json_is_null(format)))
        rc = CODEV_E_MISSING_FIELD;
    if (!rc && !json_is_integer(format))
        rc = CODEV_E_BAD_FIELD;
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    rc = hub_group_create(hub, name, facilitator, language,
                          (int)json_integer_value(format), &g, member_id, key, invite);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply->status = 201;
    reply->body = json_pack("{s:s, s:s, s:s, s:s}", "group_id", g->id, "member_id",
                            member_id, "member_key", key, "invite_code", invite);
    reply->created = g;
}

static void join_group(struct hub *hub, struct hub_group *g, json_t *in,
                       struct http_api_reply *reply)
{
    char member_id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1];
    int rc = 0, idx;
    const char *invite = get_string(in, "invite_code", &rc);
    const char *name = get_string(in, "display_name", &rc);

    if (rc) {
        reply_error(reply, rc);
        return;
    }
    rc = hub_member_join(hub, g, invite, name, member_id, key, &idx);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply->status = 201;
    reply->body = json_pack("{s:s, s:s, s:s}", "group_id", g->id, "member_id", member_id,
                            "member_key", key);
    reply->joined = g;
    reply->joined_room_idx = idx;
    memcpy(reply->joined_id, member_id, sizeof(reply->joined_id));
}

/* Returns the member whose key is in the Authorization header, or NULL with
 * *code set. */
static const struct hub_member *authorise(const struct hub_group *g, const char *auth,
                                          int *code)
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
    return m;
}

static void open_session(struct hub *hub, struct hub_group *g, const char *auth,
                         int64_t now_ms, struct http_api_reply *reply)
{
    const struct hub_member *m;
    int rc;

    m = authorise(g, auth, &rc);
    if (!m) {
        reply_error(reply, rc);
        return;
    }
    if (strcmp(m->id, g->facilitator) != 0) {
        reply_error(reply, CODEV_E_NOT_FACILITATOR);
        return;
    }
    rc = hub_session_open(hub, g, now_ms);
    if (rc) {
        reply_error(reply, rc);
        return;
    }
    reply->status = 201;
    reply->body = json_pack("{s:s}", "session_id", g->room->session_id);
    reply->opened = g;
}

void http_api_handle(struct hub *hub, struct store *store, enum http_api_method method,
                     const char *path, const char *query, const char *auth,
                     const char *body, size_t len, int64_t now_ms,
                     struct http_api_reply *reply)
{
    char gid[AUTH_UUID_LEN + 1];
    const char *rest;
    struct hub_group *g;
    json_t *in = NULL;
    int code = 0;

    memset(reply, 0, sizeof(*reply));
    reply->joined_room_idx = -1;

    if (strcmp(path, "/api/health") == 0) {
        if (method != HTTP_API_GET)
            goto method;
        reply->status = 200;
        reply->body = json_pack("{s:s, s:s}", "status", "ok", "version", CODEVD_VERSION);
        return;
    }
    if (strcmp(path, "/api/groups") == 0) {
        if (method != HTTP_API_POST)
            goto method;
        if (!(in = parse_body(body, len, &code)))
            goto error;
        create_group(hub, in, reply);
        goto out;
    }
    if (strncmp(path, "/api/groups/", 12) != 0 || strlen(path + 12) < AUTH_UUID_LEN) {
        code = CODEV_E_NOT_FOUND;
        goto error;
    }
    memcpy(gid, path + 12, AUTH_UUID_LEN);
    gid[AUTH_UUID_LEN] = '\0';
    rest = path + 12 + AUTH_UUID_LEN;
    if (*rest && strcmp(rest, "/members") != 0 && strcmp(rest, "/sessions") != 0) {
        code = CODEV_E_NOT_FOUND;
        goto error;
    }
    g = hub_group_find(hub, gid);
    if (!g) {
        code = CODEV_E_UNKNOWN_GROUP;
        goto error;
    }
    if (!*rest) {
        const struct hub_member *m;
        if (method != HTTP_API_GET)
            goto method;
        if (!(m = authorise(g, auth, &code)))
            goto error;
        reply->status = 200;
        reply->body = proto_group_json(g);
        return;
    }
    if (method != HTTP_API_POST)
        goto method;
    if (!(in = parse_body(body, len, &code)))
        goto error;
    if (strcmp(rest, "/members") == 0)
        join_group(hub, g, in, reply);
    else
        open_session(hub, g, auth, now_ms, reply);
    goto out;
method:
    code = CODEV_E_METHOD_NOT_ALLOWED;
error:
    reply_error(reply, code);
out:
    json_decref(in);
    if (!reply->body && !reply->text) {
        reply->status = 500;
        reply->body = http_api_error_json(CODEV_E_INTERNAL);
    }
}
