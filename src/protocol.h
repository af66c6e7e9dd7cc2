/*
 * protocol.h - JSON <-> structs for codev.v1: the only module that knows
 * message shapes (proto/README.md is their description).
 *
 * Decoding is strict and bounded: size and nesting depth are checked before
 * parsing, jansson refuses invalid UTF-8, NUL characters and duplicate
 * keys, every field is type-checked, and a failure says which field. The
 * decoded message borrows its strings from the parsed JSON, which it keeps
 * until proto_msg_release().
 *
 * Encoding builds jansson objects; the caller serialises them once per
 * audience (fanout.c). ONLY used from the lws service thread (no state).
 */
#ifndef CODEV_PROTOCOL_H
#define CODEV_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "room.h"

#define PROTO_NAME "codev.v1"

enum proto_kind {
    PROTO_HELLO,             /* attach to a group */
    PROTO_SESSION_OPEN,      /* the facilitator opens a session */
    PROTO_COMMAND,           /* a room command (msg.cmd) */
    PROTO_FACILITATOR_ACCEPT /* a member accepts the offer to facilitate (the edge's) */
};

struct proto_msg {
    enum proto_kind kind;
    json_t *root;              /* owned: the parsed message */
    const char *id;            /* command id (borrowed), NULL for hello */
    const char *group_id;      /* hello */
    const char *member_key;    /* hello (a member), or NULL */
    const char *display_token; /* hello (a display), or NULL: exactly one is set */
    int64_t last_seq;          /* hello, -1 when absent */
    struct room_cmd cmd;       /* PROTO_COMMAND */
};

/* What went wrong with a client message, modelled on json_error_t. */
struct proto_error {
    int code;                     /* CODEV_E_* */
    char id[ROOM_CMD_ID_MAX + 1]; /* the command id when it could be read, else "" */
    char field[32];               /* the field concerned, or "" */
    char text[160];               /* detail for the message, or "" */
};

struct proto_limits {
    size_t max_bytes; /* whole message */
    int max_depth;    /* JSON nesting */
};

/*
 * Decodes one client message of len bytes. On success returns 0 and fills
 * msg (release with proto_msg_release). On failure returns the CODEV_E_*
 * code, fills err, and msg needs no release.
 */
int proto_decode(const char *buf, size_t len, const struct proto_limits *lim,
                 struct proto_msg *msg, struct proto_error *err);

/* Returns true when no array or object of the JSON text buf (len bytes) is
 * nested deeper than max_depth, counted without parsing: brackets inside
 * strings (escaped quotes included) do not count. Used before jansson
 * recurses into a hostile "[[[[...". Any thread. */
bool proto_json_depth_ok(const char *buf, size_t len, int max_depth);

/* Returns a new reference: the JSON string s, or JSON null when s is NULL
 * (the one "optional text" encoder of the protocol and the exports). Any
 * thread. */
json_t *proto_json_string_or_null(const char *s);

/* Releases the JSON a decoded message holds. Safe on a zeroed msg. */
void proto_msg_release(struct proto_msg *msg);

/* Each encoder returns a new reference, or NULL on allocation failure. */

/* {"type":"error","id"?,"code","message"} from err (id and detail used). */
json_t *proto_error_json(const struct proto_error *err);

/* {"type":"error","id"?,"code","message"} for code; id may be NULL. */
json_t *proto_error_code_json(const char *id, int code);

/* {"type":"ack","id","seq"[,"duplicate":true]} */
json_t *proto_ack_json(const char *id, uint64_t seq, bool duplicate);

/* The room snapshot as member sees it (proto/README.md 2.2). */
json_t *proto_room_json(const struct room *r, int member, int64_t now_ms);

/* welcome for member m of group g of hub h (room snapshot or null). Besides
 * the room it carries what the page must not decide on its own
 * (proto/README.md 2.2): "steps" (the wire step names in order), "limits"
 * (h's limits in force) and "rules" (for each role, each command it may
 * send and the steps where rules.c allows it). h is borrowed. */
json_t *proto_welcome_json(const struct hub *h, const struct hub_group *g,
                           const struct hub_member *m, int64_t now_ms);

/*
 * The parts of a welcome that the edge splices, so that simultaneous
 * joiners share one encoding of the room (fanout.h, fan_msg_splice):
 *   - proto_welcome_head_json: the welcome with "room" as its last member,
 *     set to the string PROTO_SPLICE_MARK when g has a room (else null: no
 *     splice); its encoding ends with the mark's encoding and "}".
 *   - proto_room_view_json: the room snapshot as viewer sees it, without
 *     its "clock" member (the rest changes only with room.version).
 *   - proto_room_clock_json: that "clock" member, as of now_ms.
 *   - proto_room_view_of: the view member sees: -1 (the public view, as
 *     proto_room_view_json(r, -1) encodes it) when member has no private
 *     note, asked no question (whose advice verdict only its author and
 *     the facilitator see), is not the facilitator and was never a client
 *     in this session, else member itself.
 * head + view (without its closing brace) + ',"clock":' + clock + "}}" is
 * proto_welcome_json's message, members in another order.
 */
#define PROTO_SPLICE_MARK "\x01room\x01"
json_t *proto_welcome_head_json(const struct hub *h, const struct hub_group *g,
                                const struct hub_member *m, int64_t now_ms);

/* Returns a new reference: the "rules" object of a welcome, generated from
 * ROOM_CMD_MAP and rules_check: {role: {command: [step, ...]}}, a command
 * listed only when allowed in at least one step. Any thread. */
json_t *proto_rules_json(void);
json_t *proto_room_view_json(const struct room *r, int viewer);
json_t *proto_room_clock_json(const struct room *r, int64_t now_ms);
int proto_room_view_of(const struct room *r, int member);

/* One event (proto/README.md 2.4). The encoding is the same for everyone
 * allowed to see it (visibility is the caller's business), but for the
 * advice verdict of a question. */
json_t *proto_event_json(const struct room *r, const struct room_event *ev,
                         int64_t now_ms);

/* The same bytes as proto_dump(proto_event_json(r, ev, any)), written
 * directly without a jansson object, for the hot events (card_added and
 * card_updated of a contribution: 1 µs instead of ~7); NULL for any other
 * event (then use proto_event_json) or on allocation failure. The buffer
 * has `headroom` spare bytes in front; *len excludes them. */
unsigned char *proto_event_dump(const struct room *r, const struct room_event *ev,
                                size_t headroom, size_t *len);

/* The same event with its question card's advice verdict ("advice_like",
 * "advice_cues"), for the recipients room_card_advice_visible allows; NULL
 * when ev is not a card_added or card_updated of a question (then everyone
 * gets proto_event_json's), or on allocation failure. */
json_t *proto_event_advice_json(const struct room *r, const struct room_event *ev,
                                int64_t now_ms);

/* question_check's answer: {"type":"ack","id","advice_like","cues":[{"cue",
 * "lang"}]}, no seq (a query changes nothing). */
json_t *proto_check_ack_json(const char *id, const struct advice_result *res);

/* ack (a proto_ack_json) written without jansson, byte for byte what
 * proto_dump writes, after headroom bytes, NUL-terminated, its length in
 * *len (issue 15: one per command, jansson's dump was about 5,500
 * instructions of it). NULL when ack is not proto_ack_json's shape, or out
 * of memory: the caller then dumps it with jansson. */
unsigned char *proto_ack_dump(const json_t *ack, size_t headroom, size_t *len);

/* {"type":"tick","server_ms","clock"} */
json_t *proto_tick_json(const struct room *r, int64_t now_ms);

/* The same tick written without jansson, byte for byte what proto_dump of
 * proto_tick_json writes (issue 15: the tick is encoded once per room per
 * second, and jansson's pack and dump were about 28,000 instructions of
 * it), after headroom bytes, NUL-terminated, its length in *len. Returns a
 * malloc'd buffer (fan_msg_take takes it), or NULL (out of memory, or a
 * step without a name: the caller then uses proto_tick_json). */
unsigned char *proto_tick_dump(const struct room *r, int64_t now_ms, size_t headroom,
                               size_t *len);

/* {"type":"display_welcome","protocol","server_ms","group","steps","room"}: the
 * welcome of a display connection; room is the open session as ROOM_PUBLIC
 * sees it (no member's own view), or null when none is open. */
json_t *proto_display_welcome_json(const struct hub_group *g, int64_t now_ms);

/* {"type":"facilitator_offer","facilitator","open"} */
json_t *proto_facilitator_offer_json(const char *facilitator_id, bool open);

/* {"type":"presence","member_id","online"} */
json_t *proto_presence_json(const char *member_id, bool online);

/* {"type":"member_joined","member"} for member m of g (as the room sees
 * it when a session is open). */
json_t *proto_member_joined_json(const struct hub_group *g, const struct hub_member *m);

/* {"type":"member_updated","member"} for member m of g, after a change of
 * their own settings (the form of their role labels), as member_joined
 * encodes it. Returns a new reference. */
json_t *proto_member_updated_json(const struct hub_group *g, const struct hub_member *m);

/* {"type":"session_opened","room"} as member sees it. */
json_t *proto_session_opened_json(const struct room *r, int member, int64_t now_ms);

/* {"type":"group_updated","group":{"id","name","language","format","retention"}} */
json_t *proto_group_updated_json(const struct hub_group *g);

/* {"type": "group_member_removed", "member_id"}: the facilitator removed a
 * member between sessions (DELETE /api/groups/{id}/members/{member_id}). */
json_t *proto_group_member_removed_json(const char *member_id);

/* The HTTP view of a group for GET /api/groups/{id}. */
json_t *proto_group_json(const struct hub_group *g);

/*
 * What the group keeps between sessions, as member_id sees it (GET
 * /api/groups/{id}/between): time zone, rota, next session, every case
 * proposal, and the caller's own exposé draft and plan items waiting for
 * their debrief (nobody else's). Returns a new reference, or NULL.
 */
json_t *proto_between_json(const struct hub_group *g, const char *member_id);

/* One case proposal {"id", "author", "title", "text", "created_ms",
 * "updated_ms", "chosen"} (new reference, or NULL). */
json_t *proto_proposal_json(const struct hub_group *g, const struct hub_proposal *p);

/* Serialises j compactly into a new buffer with `headroom` spare bytes in
 * front (LWS_PRE for lws). Returns the buffer (free with free()) and sets
 * *len to the JSON length (headroom excluded), or NULL. Does not steal j. */
unsigned char *proto_dump(const json_t *j, size_t headroom, size_t *len);

#endif
