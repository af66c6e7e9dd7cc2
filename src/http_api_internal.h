/*
 * http_api_internal.h - what the HTTP API's files share and nobody else
 * sees: the routes, the answer and request helpers, and each file's entry
 * points.
 *
 *   http_api.c          the route table, routing (http_api_handle,
 *                       http_api_route_flags), errors, keys, bodies
 *   http_api_groups.c   the group itself: create, join, open a session,
 *                       one's own settings, invite, display link, the
 *                       settings page, removing a member, the join preview,
 *                       deleting the group
 *   http_api_life.c     what the group keeps between sessions: rota, next
 *                       session (and its .ics), proposals, drafts, debriefs
 *                       posted in advance
 *   http_api_exports.c  the reads from the store: journal, history,
 *                       rotation, minutes, and the export jobs
 *
 * Invariants: every handler fills the reply it is given (status and body or
 * text, or an error); the route and its method were checked against the
 * route table before it is called. ONLY used from the lws service thread,
 * but for http_api_job_run (any thread). Only these four files include this
 * header.
 */
#ifndef CODEV_HTTP_API_INTERNAL_H
#define CODEV_HTTP_API_INTERNAL_H

#include "http_api.h"

/* What follows /api/groups/{id}: one row each of http_api.c's route table. */
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

/* Route flags the edge never sees (http_api_route_flags masks them): */
enum http_api_route_flag_internal {
    HTTP_API_ROUTE_LIFE = 1u << 8,               /* between sessions: http_api_life.c */
    HTTP_API_ROUTE_FACILITATOR_WRITES = 1u << 9, /* LIFE: its writes are the
                                                  * facilitator's only */
};

/* The flags of route in the route table (public and internal), whatever the
 * method. Pure. */
unsigned http_api_route_row_flags(enum route route);

/* ---- answers and requests (http_api.c) ------------------------------------ */

/* Answers code's error: its status and {"error":{"code","message"}}. */
void http_api_reply_error(struct http_api_reply *reply, int code);

/* An error whose message says more than the code's usual sentence. */
void http_api_reply_error_message(struct http_api_reply *reply, int code,
                                  const char *message);

/* Parses the body as a JSON object (an empty body is {}): a new reference,
 * or NULL with *code set (too_deep, bad_json, bad_message). */
json_t *http_api_parse_body(const char *body, size_t len, int *code);

/* Returns the string field key of o, or NULL with *code set: absent (or
 * null) is missing_field, another type is bad_field. Keeps the first error. */
const char *http_api_get_string(json_t *o, const char *key, int *code);

/* Reads the optional "form" of in (the form of one's role labels: "n",
 * "f", "m"; absent or null: neutral) into *form. Returns 0, or
 * CODEV_E_BAD_FIELD for another value. */
int http_api_get_form(json_t *in, int *form);

/* Returns the member whose key is in the Authorization header, or NULL with
 * *code set. Marks the reply authenticated when the key opens the group. */
const struct hub_member *http_api_authorise(const struct hub_group *g, const char *auth,
                                            int *code, struct http_api_reply *reply);

/* Whether m is the group's facilitator. */
bool http_api_is_facilitator(const struct hub_group *g, const struct hub_member *m);

/* Returns the facilitator whose key is in auth, or NULL after answering the
 * error (401 for no or a wrong key, 403 not_facilitator for another member). */
const struct hub_member *http_api_authorise_facilitator(const struct hub_group *g,
                                                        const char *auth,
                                                        struct http_api_reply *reply);

/* Whether the edge's write budget (http_writes_per_min) lets the member m
 * write now; else answers 429 rate_limited with Retry-After. */
bool http_api_write_budget(const struct http_api_gate *gate, const struct hub_member *m,
                           struct http_api_reply *reply);

/* ---- the group (http_api_groups.c) ---------------------------------------- */

/* POST /api/groups: in is the parsed body; creator the client's address key
 * (may be NULL). */
void http_api_group_create(struct hub *hub, const char *creator, json_t *in,
                           struct http_api_reply *reply);

/* The group's routes but the reads and the life between sessions: POST
 * members, sessions, settings, invite, members/me; POST and DELETE display;
 * DELETE the group, DELETE members/{id} (member_id); GET preview. Parses
 * the body where the route takes one. */
void http_api_group_route(struct hub *hub, struct hub_group *g,
                          const struct http_api_gate *gate, enum route route,
                          enum http_api_method method, const char *member_id,
                          const char *auth, const char *body, size_t len, int64_t now_ms,
                          struct http_api_reply *reply);

/* ---- between sessions (http_api_life.c) ----------------------------------- */

/* A route flagged HTTP_API_ROUTE_LIFE (pid: the proposal's id, for
 * ROUTE_PROPOSAL and ROUTE_CHOOSE). Any member reads; the writes are
 * checked by role, then charged to the caller's write budget. */
void http_api_life_route(struct hub *hub, struct hub_group *g,
                         const struct http_api_gate *gate, enum route route,
                         enum http_api_method method, const char *pid, const char *auth,
                         const char *body, size_t len, int64_t now_ms,
                         struct http_api_reply *reply);

/* ---- exports (http_api_exports.c) ------------------------------------------ */

/* GET journal, history, minutes (sid: the session) or rotation by member m
 * (whose key was checked): reads format= from query, charges the export
 * budget, then runs the export or, with gate->offload, hands it back as
 * reply->job. Returns 0 (the reply is filled, or holds the job) or an error
 * code for the caller to answer. */
int http_api_export_route(struct store *store, const struct http_api_gate *gate,
                          const struct hub_group *g, const struct hub_member *m,
                          enum route route, const char *sid, const char *query,
                          int64_t now_ms, struct http_api_reply *reply);

#endif
