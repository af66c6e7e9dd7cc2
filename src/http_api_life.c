/*
 * http_api_life.c - what a group keeps between its sessions, over HTTP
 * (proto/README.md 1.1; the rules are hub_life.c's): the rota, the next
 * session (and its iCalendar file), case proposals, one's exposé draft and
 * debriefs posted in advance. See http_api_internal.h.
 *
 * Invariants:
 *   - Any member reads (GET between, next-session.ics); a write needs the
 *     role the route table gives it (HTTP_API_ROUTE_FACILITATOR_WRITES for
 *     the rota and the next session; a proposal is its author's, or the
 *     facilitator's to choose; a debrief the earlier client's, which
 *     hub_life.c checks), then the caller's write budget, then a
 *     well-formed body, in that order.
 *   - An accepted write answers with HTTP_API_EFFECT_LIFE: the edge
 *     journals what the group keeps (store_submit_life) before answering.
 *   - A draft is its author's alone: the answers carry the caller's view
 *     (proto_between_json with the caller's id).
 *
 * Expected load: a handful of calls per group between sessions; each is
 * O(members + proposals). Loop thread only.
 */
#include "http_api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "ical.h"
#include "protocol.h"
#include "tz.h"

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
        http_api_reply_error(reply, rc);
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
    const char *date = http_api_get_string(in, "date", &rc),
               *time = http_api_get_string(in, "time", &rc);
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
        http_api_reply_error(reply, rc);
        return;
    }
    if (json_integer_value(dur) < HUB_NEXT_DURATION_MIN ||
        json_integer_value(dur) > HUB_NEXT_DURATION_MAX ||
        hub_next_check(date, time, (int)json_integer_value(dur),
                       json_string_value(link))) {
        http_api_reply_error_message(
            reply, CODEV_E_BAD_FIELD,
            "A next session needs a date YYYY-MM-DD, a time HH:MM, a "
            "duration of 15 to 720 minutes and, if any, an http(s) link of "
            "at most 500 characters.");
        return;
    }
    if (!tz_name_ok(zone) ||
        tz_local_to_utc(NULL, zone, atoi(date), atoi(date + 5), atoi(date + 8),
                        atoi(time), atoi(time + 3), &start_ms)) {
        http_api_reply_error_message(
            reply, CODEV_E_BAD_FIELD,
            "Unknown time zone: give an IANA name such as Europe/Paris.");
        return;
    }
    rc = hub_next_set(g, date, time, (int)json_integer_value(dur),
                      json_string_value(link), zone, start_ms);
    if (rc) {
        http_api_reply_error(reply, rc);
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
        http_api_reply_error(reply, CODEV_E_NO_NEXT_SESSION);
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
        http_api_reply_error(reply, CODEV_E_INTERNAL);
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
    const char *title = http_api_get_string(in, "title", &rc);

    if (!rc)
        rc = get_optional_string(in, "text", &text);
    if (!rc && m->observer)
        rc = CODEV_E_OBSERVER_READ_ONLY;
    if (!rc)
        rc = hub_proposal_add(g, m->id, title, text, now_ms, id);
    if (rc) {
        http_api_reply_error(reply, rc);
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
        http_api_reply_error_message(reply, CODEV_E_NOT_FOUND, "No such case proposal.");
        return;
    }
    if (strcmp(p->author, m->id) != 0 && (what != 2 || !http_api_is_facilitator(g, m))) {
        http_api_reply_error(reply, CODEV_E_NOT_AUTHOR);
        return;
    }
    if (what == 0) { /* edit */
        title = http_api_get_string(in, "title", &rc);
        if (!rc)
            rc = get_optional_string(in, "text", &text);
        if (!rc)
            rc = hub_proposal_edit(p, title, text, now_ms);
        if (rc) {
            http_api_reply_error(reply, rc);
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
        http_api_reply_error(reply, rc);
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
    const char *text = del ? NULL : http_api_get_string(in, "text", &rc);

    if (!rc && m->observer && !del)
        rc = CODEV_E_OBSERVER_READ_ONLY;
    if (!rc)
        rc =
            del ? hub_draft_remove(g, m->id) : hub_draft_set(hub, g, m->id, text, now_ms);
    if (rc == CODEV_E_NOT_FOUND) {
        http_api_reply_error_message(reply, rc, "You have no exposé draft.");
        return;
    }
    if (rc) {
        http_api_reply_error(reply, rc);
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
    const char *plan = http_api_get_string(in, "plan_id", &rc),
               *oname = http_api_get_string(in, "outcome", &rc);

    if (!rc)
        rc = get_optional_string(in, "comment", &comment);
    if (!rc && (outcome = room_outcome_from_name(oname)) < 0)
        rc = CODEV_E_BAD_FIELD;
    if (!rc)
        rc = hub_debrief_advance(hub, g, m->id, plan, outcome, comment);
    if (rc) {
        http_api_reply_error(reply, rc);
        return;
    }
    reply_life(reply, g, 200, proto_between_json(g, m->id));
}

void http_api_life_route(struct hub *hub, struct hub_group *g,
                         const struct http_api_gate *gate, enum route route,
                         enum http_api_method method, const char *pid, const char *auth,
                         const char *body, size_t len, int64_t now_ms,
                         struct http_api_reply *reply)
{
    const struct hub_member *m;
    json_t *in = NULL;
    int code = 0;

    if (!(m = http_api_authorise(g, auth, &code, reply))) {
        http_api_reply_error(reply, code);
        return;
    }
    if (method == HTTP_API_GET) {
        if (route == ROUTE_BETWEEN)
            reply_between(reply, g, m, 200);
        else
            next_ics(g, now_ms, reply);
        return;
    }
    if ((http_api_route_row_flags(route) & HTTP_API_ROUTE_FACILITATOR_WRITES) &&
        !http_api_is_facilitator(g, m)) {
        http_api_reply_error(reply, CODEV_E_NOT_FACILITATOR);
        return;
    }
    if (!http_api_write_budget(gate, m, reply))
        return;
    if (method == HTTP_API_POST && !(in = http_api_parse_body(body, len, &code))) {
        http_api_reply_error(reply, code);
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
