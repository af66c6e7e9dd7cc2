/*
 * http_api.h - the JSON HTTP API under /api (proto/README.md section 1).
 *
 * Decides and answers; knows nothing of lws (http.c reads the request and
 * writes the reply) nor of the store. The effect of a call is reported in
 * the reply (one enum, one group: a group was created, a member joined, a
 * session was opened...) so that http.c can journal it, answer once it is
 * committed, and tell the group's sockets. ONLY used from the lws service
 * thread.
 */
#ifndef CODEV_HTTP_API_H
#define CODEV_HTTP_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "hub.h"
#include "store.h"

enum http_api_method { HTTP_API_GET, HTTP_API_POST, HTTP_API_DELETE, HTTP_API_OTHER };

/*
 * What the edge tells the API. export_allowed is its budget for the
 * exports, asked once the caller's key has been checked (so that requests
 * with no key or a wrong one never use it up) and before the store is
 * read: true lets the export run; false answers 429 rate_limited with
 * Retry-After: *retry_after_s. NULL allows every export.
 */
struct http_api_gate {
    bool (*export_allowed)(void *arg, struct hub_member *m, int *retry_after_s);
    /* The same for the calls between sessions that write (proposals,
     * drafts, rota, next session, debriefs in advance), asked once the key
     * is checked; NULL allows every one. */
    bool (*write_allowed)(void *arg, struct hub_member *m, int *retry_after_s);
    void *arg;
    bool offload;        /* answer exports with reply->job instead of running them */
    size_t connections;  /* accepted connections open now (GET /api/health) */
    bool store_failing;  /* the store fails writes now (GET /api/health: 503) */
    const char *creator; /* the client's address key (rate_addr_prefix), borrowed;
                          * a group created by this call remembers it */
};

/* What a call changed, for the edge to journal and announce (the group is
 * reply->group). */
enum http_api_effect {
    HTTP_API_EFFECT_NONE,    /* nothing (a read, or a refusal) */
    HTTP_API_EFFECT_CREATED, /* the group was created */
    HTTP_API_EFFECT_UPDATED, /* its settings or invite changed: journal it, tell its
                              * sockets with group_updated */
    HTTP_API_EFFECT_JOINED,  /* a member joined (reply->joined_id, joined_room_idx) */
    HTTP_API_EFFECT_OPENED,  /* a session was opened in it */
    HTTP_API_EFFECT_DELETED, /* its facilitator deleted it: the edge closes its
                              * sockets, deletes it from the store and the hub */
    HTTP_API_EFFECT_DISPLAY, /* its display link was replaced or revoked: journal
                              * it, close its display sockets, tell the others
                              * with group_updated */
    HTTP_API_EFFECT_LIFE,    /* what it keeps between sessions changed: journal it
                              * with store_submit_life */
    HTTP_API_EFFECT_MEMBER,  /* a member changed their own settings (reply->joined_id):
                              * journal the group, tell its sockets with
                              * member_updated */
    HTTP_API_EFFECT_REMOVED, /* its facilitator removed a member between sessions
                              * (reply->joined_id): journal it with
                              * store_submit_life, close that member's sockets,
                              * tell the others */
};

struct http_api_reply {
    int status;   /* HTTP status */
    json_t *body; /* new reference: the JSON answer, or NULL when text */
    char *text;   /* owned: a non-JSON answer, or NULL */
    size_t text_len;
    const char *content_type;          /* of text (static string) */
    const char *filename;              /* suggested download name (static), or NULL */
    enum http_api_effect effect;       /* what the call changed */
    struct hub_group *group;           /* the group it changed (borrowed from the
                                        * hub), NULL with HTTP_API_EFFECT_NONE */
    int joined_room_idx;               /* JOINED: the new member's room index, or -1 */
    char joined_id[AUTH_UUID_LEN + 1]; /* JOINED: the new member's id; MEMBER: the
                                        * member who changed; REMOVED: the removed
                                        * member's */
    bool authenticated;                /* a member key was checked and accepted */
    int retry_after_s;                 /* with a 429: seconds to wait, else 0 */
    struct http_api_job *job;          /* an export to run (gate->offload), owned by
                                        * the caller; then no body */
};

/*
 * An export (journal, history or minutes) to make. With gate->offload the
 * reply carries one (reply->job, owned by the caller) and no body: the
 * caller runs it with http_api_job_run on any thread (it holds a copy of
 * the group, and the store's reads are thread-safe), then frees it.
 */
struct http_api_job {
    int route; /* which export (http_api_internal.h's enum route) */
    enum export_format fmt;
    const struct hub_group *group;      /* a snapshot when owned, else borrowed */
    char member_id[AUTH_UUID_LEN + 1];  /* the caller (whose journal) */
    char session_id[AUTH_UUID_LEN + 1]; /* minutes: the session */
    int64_t now_ms;
    bool owned; /* group is the job's own snapshot */
};

/* Returns a new job, a copy of src with its own snapshot of src->group, or
 * NULL. Loop thread. Free with http_api_job_free (NULL is a no-op), on any
 * thread. */
struct http_api_job *http_api_job_new(const struct http_api_job *src);
void http_api_job_free(struct http_api_job *job);

/* Makes the export: fills reply (status and body or text, as
 * http_api_handle would). Any thread; reads the store. */
void http_api_job_run(const struct http_api_job *job, struct store *store,
                      struct http_api_reply *reply);

/*
 * Handles one request. path is the full path ("/api/groups/…"), query the
 * query string without "?" or NULL, auth the Authorization header value or
 * NULL, body/len the request body (may be empty). store (may be NULL in
 * tests) serves the reads of exports and history: small synchronous reads
 * on the store's read connection; gate (may be NULL) limits them. Fills reply; the caller
 * releases reply->body (and reply->text when set: a non-JSON answer such as a Markdown or
 * HTML export, with reply->content_type).
 */
void http_api_handle(struct hub *hub, struct store *store,
                     const struct http_api_gate *gate, enum http_api_method method,
                     const char *path, const char *query, const char *auth,
                     const char *body, size_t len, int64_t now_ms,
                     struct http_api_reply *reply);

/* What a route is, known from its method and path alone (before the call
 * is handled, so that the edge charges the right budgets): */
enum http_api_route_flag {
    HTTP_API_ROUTE_KEYLESS = 1,    /* called without a member key: create, join,
                                    * the join page's preview */
    HTTP_API_ROUTE_CREATES = 2,    /* creates a group: POST /api/groups */
    HTTP_API_ROUTE_READS_DISK = 4, /* an export: journal, history, minutes,
                                    * rotation */
};

/* The HTTP_API_ROUTE_* flags of the route that method and path name; 0 for
 * the others and for a path that names no route. Pure. */
unsigned http_api_route_flags(enum http_api_method method, const char *path);

/* The route path names, for the metrics: an id below HTTP_API_ROUTE_IDS
 * whatever the method (0: no route of the API), and its name from the
 * route table ("health", "groups", "group_journal"...), never the raw path,
 * so that strangers cannot make new labels. Pure. */
#define HTTP_API_ROUTE_IDS 32
unsigned http_api_route_id(const char *path);
const char *http_api_route_label(unsigned id);

/* The error body {"error":{"code","message"}} for code (new reference). */
json_t *http_api_error_json(int code);

/* The HTTP status that goes with an error code. */
int http_api_status(int code);

#endif
