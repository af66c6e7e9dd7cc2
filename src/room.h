/*
 * room.h - the live state of one session (séance) and its state machine.
 *
 * A room holds the members of the group as the session sees them, the
 * consultations run so far (one problem, one client each), every card
 * written, the hand queue, the earlier action plans to debrief and the step
 * clock. room_apply() is the only way a member changes it:
 *
 *     room_apply(room, member, command, now_ms) -> 0 + events | error
 *
 * Invariants:
 *   - Pure: libc only; no I/O, no clock (now_ms is a parameter), no globals,
 *     no logging. Deterministic: the same commands at the same instants on a
 *     room built the same way give the same state and the same sequence
 *     numbers (the store relies on this to rebuild rooms after a restart).
 *   - Every accepted command appends one or more events to the outbox, each
 *     with the next per-room sequence number (seq starts at 1). A refused
 *     command changes nothing and appends nothing.
 *   - Membership and presence (room_member_add, room_member_set_online) are
 *     not commands: they take no sequence number; the edge announces them.
 *   - Visibility is decided here (room_event_visible, room_card_visible);
 *     the edges filter with these functions and never re-implement them.
 *
 * The struct is public so that protocol.c can encode snapshots and events
 * without a wall of accessors; everything outside room.c reads it only.
 * Expected load: a handful of commands per second per room, thousands of
 * rooms per process; every operation is O(members + cards) at worst.
 */
#ifndef CODEV_ROOM_H
#define CODEV_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "advice.h"
#include "clock.h"
#include "rules.h"

#define ROOM_ID_LEN           36 /* a UUID in text form */
#define ROOM_CMD_ID_MAX       256 /* bytes of a client command id (64 characters of UTF-8) */
#define ROOM_CMD_ID_MAX_CHARS 64
#define ROOM_MEMBERS_HARD_MAX 64 /* contract acks are a 64-bit set */
#define ROOM_SEEN_MAX                                                                    \
    64                        /* remembered command ids per member (twice the            \
                               * unanswered commands a connection may have) */
#define ROOM_DUE_MAX_CHARS 40 /* the "by when" of an action */

/* The "premier pas" (first step) of an action, in code points. */
#define ROOM_FIRST_STEP_MAX_CHARS 120

/* What an item costs the room's byte budget besides its text: the JSON
 * around a card in a snapshot (ids, author, type, times; about 200 bytes),
 * and around a consultation (up to 64 acknowledging member ids). */
#define ROOM_CARD_OVERHEAD         256
#define ROOM_CONSULTATION_OVERHEAD 3072
/* What a journaled command costs the journal budget besides its text: its
 * record's fixed fields. */
#define ROOM_JOURNAL_OVERHEAD 64

/* Limits a room enforces; set from config. Zero means "no limit" for
 * items_max, bytes_max, rewrites_max and journal_bytes_max (tests that
 * do not care). */
struct room_limits {
    uint32_t text_max_chars;      /* any card text */
    uint32_t long_text_max_chars; /* problem statement and contract */
    uint32_t cards_per_step;      /* cards one member may post in one step */
    uint32_t members_max;         /* members of the group, <= ROOM_MEMBERS_HARD_MAX */
    uint32_t items_max;           /* cards + consultations of the session */
    uint32_t bytes_max;           /* snapshot bytes the room may hold (room.bytes) */
    uint32_t rewrites_max;        /* rewrites of one problem, contract, answer or
                                     debrief comment */
    uint32_t journal_bytes_max;   /* bytes the session may journal (journal_bytes) */
    uint32_t member_share;        /* a member other than the facilitator may use at
                                     most 1/member_share of items_max, bytes_max and
                                     journal_bytes_max (0 or 1: no share) */
};

enum room_card_type {
    CARD_CHECKIN,       /* opening: check-in round */
    CARD_TOPIC,         /* topic: a proposed subject */
    CARD_QUESTION,      /* clarification: a consultant's question (+ answer) */
    CARD_REFORMULATION, /* contract: "ce que j'ai compris..." */
    CARD_CONTRIBUTION,  /* consultation: suggestion / experience / feeling */
    CARD_ACTION,        /* synthesis: one item of the client's action plan */
    CARD_LEARNING,      /* learning: process / content */
    CARD_NOTE,          /* any step: private note, seen by its author only */
    CARD_TYPE_COUNT
};

enum room_contribution_kind {
    KIND_SUGGESTION,
    KIND_EXPERIENCE,
    KIND_FEELING,
    KIND_COUNT
};
enum room_learning_dim { DIM_PROCESS, DIM_CONTENT, DIM_COUNT };
enum room_debrief_outcome {
    OUTCOME_DONE,
    OUTCOME_PARTLY,
    OUTCOME_NOT_DONE,
    OUTCOME_DROPPED,
    OUTCOME_COUNT
};

struct room_card {
    uint32_t id; /* 1-based, equals index + 1; never reused */
    enum room_card_type type;
    int author;       /* member index */
    int consultation; /* consultation index, or -1 (opening) */
    enum step step;   /* step it was posted in */
    int64_t created_ms;
    char *text;             /* owned, NUL-terminated UTF-8 */
    int variant;            /* kind (contribution) or dimension (learning); else 0 */
    char *answer;           /* question: the client's answer, owned, or NULL */
    char *due;              /* action: "by when", owned, or NULL */
    char *first_step;       /* action: "premier pas", owned, or NULL */
    bool flagged;           /* question: "advice in disguise" (facilitator) */
    bool marked;            /* contribution: the client's "à retenir" (client only) */
    bool removed;           /* action removed by the client */
    uint32_t answer_writes; /* question: times the answer was written */
    /* question: advice.c's verdict on the text, computed once when posted
     * (pure, so a replay gives the same); shown only to the question's
     * author and the facilitator (room_card_advice_visible). */
    bool advice_like;
    const char *advice_cue;  /* static (advice.c), or NULL */
    const char *advice_lang; /* "fr" or "en", static, or NULL */
    bool parked;             /* note: a question parked for the consultation */
    uint32_t edits;          /* times its author corrected the text (card_edit) */
    bool withdrawn;          /* withdrawn by its author (card_withdraw): the card
                                keeps its id and place, its texts are gone */
};

struct room_seen {
    uint64_t hash; /* FNV-1a of the command id; 0 = empty slot */
    uint64_t seq;  /* the sequence number the command was acked with */
};

/* One member's floor in one step (room_floor.c): the time they held it,
 * the turns they took and the turns of a round they passed. */
struct room_floor_tally {
    int64_t ms;
    uint32_t turns;
    uint32_t passes;
};

/* A round's turn budget bounds (round_start "seconds"; 0 or absent: none). */
#define ROOM_TURN_MIN_S 10
#define ROOM_TURN_MAX_S 1800

/* What the server does when a round's turn budget runs out. */
enum room_round_mode { ROUND_SIGNAL, ROUND_AUTO, ROUND_MODE_COUNT };

/* Where each member of a round's order stands. */
enum room_turn_status {
    TURN_PENDING,  /* not reached yet */
    TURN_SPEAKING, /* has the floor now */
    TURN_SPOKE,    /* took the turn and ended it (or the round was stopped) */
    TURN_PASSED,   /* passed (turn_pass) */
    TURN_SKIPPED,  /* skipped by the facilitator, or removed while speaking */
    TURN_EXPIRED,  /* moved on by the server when the turn budget ran out */
    TURN_ABSENT,   /* offline when the turn came: skipped */
    TURN_STATUS_COUNT
};

/* A tour de table (room_floor.c). order holds member indexes, at most one
 * per member; pos is the current position, n once the round is over. */
struct room_round {
    bool active;        /* the round runs; false: over or stopped (kept for
                         * display until the step changes), or none (n 0) */
    enum step step;     /* the step it was started in */
    int mode;           /* enum room_round_mode */
    int64_t turn_ms;    /* turn budget, 0 for none */
    int64_t started_ms; /* round_start's instant */
    unsigned n;         /* members in the order, <= ROOM_MEMBERS_HARD_MAX */
    unsigned pos;       /* current position, n when over */
    int order[ROOM_MEMBERS_HARD_MAX];
    uint8_t status[ROOM_MEMBERS_HARD_MAX]; /* enum room_turn_status */
};

/* The grammatical form a member chose for the labels of their roles (the
 * page's French: "cliente" / "client" / "personne cliente"); wire names
 * "n", "f", "m" (room_form_name). Not a command: the edge sets it from the
 * group's member (room_member_form_set). */
enum room_form { FORM_NEUTRAL, FORM_FEMININE, FORM_MASCULINE, FORM_COUNT };

struct room_member {
    char id[ROOM_ID_LEN + 1];
    char *name;          /* display name, owned */
    uint8_t form;        /* enum room_form */
    bool observer;       /* read-only participant */
    bool removed;        /* removed by the facilitator: no longer a member */
    int online;          /* open connections (maintained by the edge) */
    uint64_t hand;       /* 0 = hand down; else its place in the queue */
    uint32_t step_cards; /* cards posted in the current step */
    /* The member's part of the session budget (limits.member_share). */
    uint32_t items;         /* cards posted this session */
    uint64_t bytes;         /* their bytes, as counted in room.bytes */
    uint64_t journal_bytes; /* bytes journaled for their commands */
    /* Ids of the member's last accepted commands: grown on use (8, 16,
     * ... ROOM_SEEN_MAX entries, in order), then a ring. A member who never
     * sends a command costs nothing here. */
    struct room_seen *seen; /* owned, or NULL */
    unsigned seen_n;        /* entries in use */
    unsigned seen_cap;      /* entries allocated */
    unsigned seen_next;     /* once full: the oldest entry, next to replace */
    /* The floor balance (room_floor.c): per step, time held and turns. */
    struct room_floor_tally floor[STEP_COUNT];
};

struct room_consultation {
    int client;     /* member index, or -1 until assigned */
    char *problem;  /* owned, or NULL */
    char *contract; /* owned, or NULL: "j'aimerais que vous m'aidiez à..." */
    uint64_t acks;  /* bit i: member i acknowledged the current contract */
    int64_t
        step_budget_ms[STEP_COUNT]; /* budget per step, as adjusted by the facilitator */
    int64_t step_used_ms[STEP_COUNT]; /* time spent per step, for history */
    uint32_t recadrages;              /* refocus signals sent by the client */
    int64_t last_recadrage_ms;
    uint32_t recadrages_seen; /* signals the facilitator acknowledged (recadrage_ack);
                                 <= recadrages, pending while lower */
    uint32_t problem_writes;  /* times the problem was written */
    uint32_t contract_writes; /* times the contract was written */
    char *retained;           /* owned, or NULL: the client's "ce que je retiens"
                                 (retain_set, synthesis) */
    uint32_t retained_writes; /* times it was written */
};

/* An action plan item from an earlier session, for its client to debrief. */
struct room_debrief {
    char id[ROOM_ID_LEN + 1]; /* the action's durable id */
    int client;               /* member index of the earlier client */
    char *text;               /* the action, owned */
    char *due;                /* owned, or NULL */
    char *first_step;         /* owned, or NULL: the action's "premier pas" */
    int outcome;              /* enum room_debrief_outcome, or -1 before debrief */
    char *comment;            /* owned, or NULL */
    uint32_t writes;          /* times it was debriefed */
};

/* Every event a room appends, one row each: X(enum suffix, wire name). It
 * generates enum room_event_type (EV_<suffix>) and the wire names
 * (room_event_name; proto/README.md section 2.4). */
/* clang-format off */
#define ROOM_EVENT_MAP(X)                                                                \
    X(STEP, "step")                     /* the step changed; its clock was reset */      \
    X(CLOCK, "clock")                   /* the clock was started, paused or adjusted */  \
    X(CONSULTATION, "consultation")     /* a new consultation began (then EV_STEP) */    \
    X(CLIENT, "client")                 /* the client was named */                       \
    X(FACILITATOR, "facilitator")       /* facilitation was handed over */               \
    X(ROLE, "role")                     /* a member became or stopped being observer */  \
    X(MEMBER_REMOVED, "member_removed") /* a member was removed */                       \
    X(CARD_ADDED, "card_added")                                                          \
    X(CARD_UPDATED, "card_updated")     /* question answered or flagged; card edited or  \
                                           withdrawn by its author */                    \
    X(CARD_REMOVED, "card_removed")     /* action removed */                             \
    X(PROBLEM, "problem")               /* problem statement written or amended */       \
    X(CONTRACT, "contract")             /* contract written or rewritten (acks reset) */ \
    X(CONTRACT_ACK, "contract_ack")     /* a consultant acknowledged the contract */     \
    X(MARK, "mark")                     /* "à retenir" set or cleared (client only) */   \
    X(RECADRAGE, "recadrage")           /* refocus signal (client, facilitator only) */  \
    X(HANDS, "hands")                   /* the hand queue changed */                     \
    X(DEBRIEF, "debrief")               /* an earlier plan item was debriefed */         \
    X(CLOSED, "closed")                 /* the session closed */                         \
    X(COFACILITATOR, "cofacilitator")   /* the co-facilitator was named or cleared */ \
    X(FLOOR, "floor")                   /* the floor or the round changed (room_floor.c) */ \
    X(BALANCE, "balance")               /* a member's floor tally changed (facilitator) */ \
    X(RECADRAGE_ACK, "recadrage_ack")   /* the facilitator saw the refocus signals */ \
    X(RETAINED, "retained")             /* the client wrote "ce que je retiens" */

enum room_event_type {
#define ROOM_EVENT_ENUM(suffix, wire) EV_##suffix,
    ROOM_EVENT_MAP(ROOM_EVENT_ENUM)
#undef ROOM_EVENT_ENUM
    EV_TYPE_COUNT
};
/* clang-format on */

enum room_audience {
    AUD_ALL,                /* every member and observer */
    AUD_MEMBER,             /* one member only (event.member) */
    AUD_CLIENT_FACILITATOR, /* the current client and the facilitator */
    AUD_FACILITATOR         /* the facilitator only (whoever it is at fan-out) */
};

struct room_event {
    uint64_t seq;
    enum room_event_type type;
    enum room_audience audience;
    int member; /* the member concerned (actor, target or audience) */
    int64_t at_ms;
    uint32_t card; /* card id for card, mark events; else 0 */
    int index;     /* consultation or debrief index; EV_FACILITATOR: its enum
                      room_handover_reason; else -1 */
};

/* Why the facilitator changed (EV_FACILITATOR's index, "reason" on the wire).
 * facilitator_handover sent by a member is always MANUAL; AUTO and OFFER are
 * the edge's forms of it (room_cmd.variant, never decoded from the wire, see
 * ROOM_CMD_MAP); RECLAIM is facilitator_reclaim. */
enum room_handover_reason {
    HANDOVER_MANUAL,  /* the facilitator handed over */
    HANDOVER_AUTO,    /* the facilitator was away past the grace: the co-facilitator */
    HANDOVER_OFFER,   /* the facilitator was away: a member accepted the edge's offer */
    HANDOVER_RECLAIM, /* the facilitator who was away took the role back */
    HANDOVER_REASON_COUNT
};

/* The viewer index of a display (a read-only screen, no member): it sees
 * what every member sees and nothing addressed to anyone in particular
 * (room_event_visible, room_card_visible). */
#define ROOM_PUBLIC (-2)

struct room {
    char session_id[ROOM_ID_LEN + 1];
    int64_t created_ms;
    enum step step;
    uint64_t seq;          /* last sequence number given */
    uint64_t hand_counter; /* orders the hand queue */
    int facilitator;       /* member index */
    int cofacilitator;     /* member index named by the facilitator to take over
                              when they are away (edge: facilitator_grace_s), or -1 */
    int facilitator_away;  /* the facilitator the role was taken from while away
                              (HANDOVER_AUTO, HANDOVER_OFFER), who alone may
                              facilitator_reclaim it; or -1 */
    struct room_limits limits;
    int64_t budget_ms[STEP_COUNT]; /* default budget of each step */
    int64_t opening_budget_ms;     /* opening happens once per session, outside any
                                      consultation */
    int64_t opening_used_ms;
    struct clock clock; /* the current step's timer */

    struct room_member *members;
    size_t nmembers, members_cap;
    struct room_consultation *consultations;
    size_t nconsultations, consultations_cap; /* current = nconsultations - 1 */
    struct room_card *cards;
    size_t ncards, cards_cap;
    struct room_debrief *debriefs;
    size_t ndebriefs, debriefs_cap;

    struct room_event *out; /* events of the last commands, drained by the edge */
    size_t nout, out_cap;

    /* The budget (limits.items_max, bytes_max, journal_bytes_max). Counted
     * over the whole session and never reset by a step change, so moving
     * back and forth between steps (which resets the per-step card counts)
     * cannot grow a room without bound. */
    uint64_t version;       /* changes with everything a snapshot shows but the clock
                               (commands, members, presence, debriefs): the edge's
                               cache of encoded snapshots is keyed by it */
    size_t items;           /* cards and consultations */
    size_t bytes;           /* JSON-escaped bytes of every text the room holds,
                               plus ROOM_*_OVERHEAD per item */
    uint64_t journal_bytes; /* bytes of every accepted command's text, rewrites
                               included, plus ROOM_JOURNAL_OVERHEAD each */

    /* The floor (room_floor.c): who speaks now, since when, and the round. */
    int floor_member;       /* member index, or -1: nobody has the floor */
    int64_t floor_since_ms; /* when they got it */
    struct room_round round;
    bool round_moved; /* the last command moved the round on (journal form) */
    int round_seed;   /* first member of the group's previous round, or -1:
                         edge-provided memory, read by a live round_start only */
};

/* The fields a command may carry on the wire (proto/README.md section 2.3),
 * as bits. protocol.c knows each field's JSON name and type; ROOM_CMD_MAP
 * says which command requires and which accepts each. */
enum room_cmd_field {
    FLD_TEXT = 1u << 0,      /* "text" -> cmd.text */
    FLD_DUE = 1u << 1,       /* "due" -> cmd.due */
    FLD_MEMBER = 1u << 2,    /* "member_id" -> cmd.target */
    FLD_DEBRIEF = 1u << 3,   /* "debrief_id" -> cmd.ref */
    FLD_CARD = 1u << 4,      /* "card_id" -> cmd.card */
    FLD_SECONDS = 1u << 5,   /* "seconds" -> cmd.seconds */
    FLD_KIND = 1u << 6,      /* "kind" -> cmd.variant */
    FLD_DIMENSION = 1u << 7, /* "dimension" -> cmd.variant */
    FLD_OUTCOME = 1u << 8,   /* "outcome" -> cmd.variant */
    FLD_FLAGGED = 1u << 9,   /* "flagged" -> cmd.flag */
    FLD_MARKED = 1u << 10,   /* "marked" -> cmd.flag */
    FLD_OBSERVER = 1u << 11, /* "observer" -> cmd.flag */
    FLD_FORCE = 1u << 12,    /* "force" -> cmd.flag */
    FLD_MODE = 1u << 13,     /* "mode" (auto | signal) -> cmd.variant */
    /* "first_step" -> cmd.first_step */
    FLD_FIRST_STEP = 1u << 14,
};

/*
 * Every command a member can send, one row each, and the only list of them:
 *
 *     X(enum suffix, wire name, rules action, required fields, optional fields)
 *
 * It generates enum room_cmd_type (CMD_<suffix>, in row order), the wire
 * names (room_cmd_name, room_cmd_from_name; proto/README.md section 2.3),
 * the rules_action each command is checked as (room_cmd_rules_action) and
 * protocol.c's decoder (which FLD_* fields each command reads). A row
 * with a column left out does not compile, so a new command cannot fall
 * back to a zero-valued default (RULES_STEP_MOVE, or no fields) by being
 * forgotten in one of several tables. Fields are FLD_* bits or 0.
 * hand_lower aimed at another member's hand is a facilitator power: room.c
 * checks it as RULES_MEMBER_REMOVE (room_cmd_action).
 * question_check is a read-only query, not a change: room_apply refuses it
 * (the edge answers it with room_question_check, unsequenced and never
 * journaled); it is a row so that its wire name, fields and rights (those
 * of question_ask) come from the same table as every command's.
 * question_park posts a private note marked parked (a question kept for the
 * consultation), with question_ask's rights.
 * facilitator_handover has edge-only forms: cmd.variant (an enum
 * room_handover_reason; the decoder never sets it for this command, so a
 * member's handover is always HANDOVER_MANUAL) AUTO or OFFER is the edge
 * acting for an absent facilitator (src/timer.c), journaled like any
 * command so that a replay gives the same room.
 */
/* clang-format off */
#define ROOM_CMD_MAP(X)                                                                  \
    X(STEP_NEXT, "step_next", RULES_STEP_MOVE, 0, FLD_FORCE)                             \
    X(STEP_PREV, "step_prev", RULES_STEP_MOVE, 0, 0)                                     \
    X(CONSULTATION_NEW, "consultation_new", RULES_STEP_MOVE, 0, 0)                       \
    X(SESSION_CLOSE, "session_close", RULES_SESSION_CLOSE, 0, 0)                         \
    X(TIMER_START, "timer_start", RULES_TIMER, 0, 0)                                     \
    X(TIMER_PAUSE, "timer_pause", RULES_TIMER, 0, 0)                                     \
    X(TIMER_ADD, "timer_add", RULES_TIMER, FLD_SECONDS, 0)                               \
    X(TIMER_SET, "timer_set", RULES_TIMER, FLD_SECONDS, 0)                               \
    X(CLIENT_ASSIGN, "client_assign", RULES_CLIENT_ASSIGN, FLD_MEMBER, 0)                \
    X(FACILITATOR_HANDOVER, "facilitator_handover", RULES_HANDOVER, FLD_MEMBER, 0)       \
    X(MEMBER_REMOVE, "member_remove", RULES_MEMBER_REMOVE, FLD_MEMBER, 0)                \
    X(ROLE_SET, "role_set", RULES_ROLE_SET, FLD_MEMBER | FLD_OBSERVER, 0)                \
    X(CHECKIN_POST, "checkin_post", RULES_CHECKIN, FLD_TEXT, 0)                          \
    X(TOPIC_PROPOSE, "topic_propose", RULES_TOPIC_PROPOSE, FLD_TEXT, 0)                  \
    X(PROBLEM_SET, "problem_set", RULES_PROBLEM_SET, FLD_TEXT, 0)                        \
    X(QUESTION_ASK, "question_ask", RULES_QUESTION_ASK, FLD_TEXT, 0)                     \
    X(QUESTION_ANSWER, "question_answer", RULES_QUESTION_ANSWER, FLD_CARD | FLD_TEXT, 0) \
    X(QUESTION_FLAG, "question_flag", RULES_QUESTION_FLAG, FLD_CARD | FLD_FLAGGED, 0)    \
    X(REFORMULATION_POST, "reformulation_post", RULES_REFORMULATION, FLD_TEXT, 0)        \
    X(CONTRACT_SET, "contract_set", RULES_CONTRACT_SET, FLD_TEXT, 0)                     \
    X(CONTRACT_ACK, "contract_ack", RULES_CONTRACT_ACK, 0, 0)                            \
    X(CONTRIBUTION_POST, "contribution_post", RULES_CONTRIBUTION,                        \
      FLD_KIND | FLD_TEXT, 0)                                                            \
    X(MARK_SET, "mark_set", RULES_MARK, FLD_CARD | FLD_MARKED, 0)                        \
    X(RECADRAGE, "recadrage", RULES_RECADRAGE, 0, 0)                                     \
    X(ACTION_ADD, "action_add", RULES_ACTION_WRITE, FLD_TEXT, FLD_DUE | FLD_FIRST_STEP)  \
    X(ACTION_REMOVE, "action_remove", RULES_ACTION_WRITE, FLD_CARD, 0)                   \
    X(LEARNING_POST, "learning_post", RULES_LEARNING, FLD_DIMENSION | FLD_TEXT, 0)       \
    X(DEBRIEF_POST, "debrief_post", RULES_DEBRIEF, FLD_DEBRIEF | FLD_OUTCOME, FLD_TEXT)  \
    X(HAND_RAISE, "hand_raise", RULES_HAND, 0, 0)                                        \
    X(HAND_LOWER, "hand_lower", RULES_HAND, 0, FLD_MEMBER)                               \
    X(NOTE_POST, "note_post", RULES_NOTE, FLD_TEXT, 0)                                   \
    X(QUESTION_CHECK, "question_check", RULES_QUESTION_ASK, FLD_TEXT, 0)                 \
    X(QUESTION_PARK, "question_park", RULES_QUESTION_ASK, FLD_TEXT, 0)                   \
    X(COFACILITATOR_SET, "cofacilitator_set", RULES_COFACILITATOR, 0, FLD_MEMBER)        \
    X(FACILITATOR_RECLAIM, "facilitator_reclaim", RULES_RECLAIM, 0, 0) \
    X(FLOOR_GIVE, "floor_give", RULES_FLOOR_GIVE, FLD_MEMBER, 0)                         \
    X(FLOOR_END, "floor_end", RULES_FLOOR_END, 0, 0)                                     \
    X(ROUND_START, "round_start", RULES_ROUND, 0, FLD_SECONDS | FLD_MODE)                \
    X(TURN_PASS, "turn_pass", RULES_TURN_PASS, 0, 0)                                     \
    X(ROUND_SKIP, "round_skip", RULES_ROUND, 0, 0)                                       \
    X(ROUND_STOP, "round_stop", RULES_ROUND, 0, 0) \
    X(RECADRAGE_ACK, "recadrage_ack", RULES_RECADRAGE_ACK, 0, 0)                         \
    X(CARD_EDIT, "card_edit", RULES_CARD_OWN, FLD_CARD | FLD_TEXT, 0)                    \
    X(CARD_WITHDRAW, "card_withdraw", RULES_CARD_OWN, FLD_CARD, 0)                       \
    X(RETAIN_SET, "retain_set", RULES_ACTION_WRITE, FLD_TEXT, 0)

enum room_cmd_type {
#define ROOM_CMD_ENUM(suffix, wire, action, required, optional) CMD_##suffix,
    ROOM_CMD_MAP(ROOM_CMD_ENUM)
#undef ROOM_CMD_ENUM
    CMD_TYPE_COUNT
};
/* clang-format on */

/* A decoded command. Pointers are borrowed for the duration of room_apply;
 * the room copies what it keeps. Which fields a type uses: proto/README.md. */
struct room_cmd {
    enum room_cmd_type type;
    char id[ROOM_CMD_ID_MAX + 1]; /* client command id, non-empty */
    const char *text;             /* card text, answer, contract, problem, comment */
    const char *due;              /* action_add: optional "by when" */
    const char *first_step;       /* action_add: optional "premier pas" */
    const char *target; /* member id: assign, handover, remove, role_set, hand_lower */
    const char *ref;    /* debrief_post: the plan item id */
    uint32_t card;      /* question_answer/flag, mark_set, action_remove, card_edit,
                           card_withdraw */
    int64_t seconds;    /* timer_add (may be < 0), timer_set */
    int variant;        /* contribution kind, learning dimension, debrief outcome;
                           facilitator_handover: enum room_handover_reason (edge) */
    bool flag;          /* question_flag, mark_set, role_set observer, step_next force */
};

/* Returns a new room in step opening with a stopped clock set to the opening
 * budget, or NULL on allocation failure. budget_ms holds STEP_COUNT values.
 * The caller owns the room and frees it with room_free(). */
struct room *room_new(const char *session_id, const int64_t *budget_ms,
                      const struct room_limits *limits, int64_t now_ms);

/* Frees r and everything it owns. room_free(NULL) is a no-op. */
void room_free(struct room *r);

/* Adds a member (copies id and name). The first facilitator added becomes
 * the room's facilitator. Returns the member index, or CODEV_E_GROUP_FULL,
 * or CODEV_E_INTERNAL on allocation failure. Adding an id already present
 * returns its index. */
int room_member_add(struct room *r, const char *member_id, const char *name,
                    bool facilitator, bool observer);

/* Returns the index of the (not removed) member with this id, or -1. */
int room_member_find(const struct room *r, const char *member_id);

/* Counts a connection of member in (delta +1) or out (delta -1). */
void room_member_set_online(struct room *r, int member, int delta);

/* Returns member's role now: facilitator, client of the current
 * consultation, observer, or consultant. */
enum role room_member_role(const struct room *r, int member);

/* Adds an earlier action plan item for its client to debrief in opening
 * (copies the strings; an empty due or first_step is none). client_id must
 * be a member. Returns the debrief
 * index, CODEV_E_UNKNOWN_MEMBER or CODEV_E_INTERNAL. */
int room_debrief_add(struct room *r, const char *action_id, const char *client_id,
                     const char *text, const char *due, const char *first_step);

/* Sets member's grammatical form (enum room_form; another value reads as
 * FORM_NEUTRAL). Not a command and no sequence number, like presence: the
 * edge copies it from the group's member and announces a change. An index
 * out of range is ignored. */
void room_member_form_set(struct room *r, int member, int form);

/* Wire names of enum room_form: "n", "f", "m" (NULL out of range), and the
 * reverse look-up (-1 when unknown). */
const char *room_form_name(int form);
int room_form_from_name(const char *name);

/* Returns the current consultation, or NULL in opening before the first. */
const struct room_consultation *room_consultation_current(const struct room *r);

/*
 * Applies cmd from member at now_ms. Returns 0 and sets *seq to the sequence
 * number of the command's last event (what the sender's ack carries), or a
 * negative CODEV_E_* and changes nothing.
 *
 * Idempotence: a command whose id this member already had accepted (among
 * the last ROOM_SEEN_MAX) is not applied again: returns 0, sets *seq to the
 * original sequence number and *duplicate to true, and appends no event.
 * duplicate may be NULL.
 */
int room_apply(struct room *r, int member, const struct room_cmd *cmd, int64_t now_ms,
               uint64_t *seq, bool *duplicate);

/* True when member (an index of r) has a command with this id among the
 * ones it had accepted (the last ROOM_SEEN_MAX): what room_apply would call
 * a duplicate. False for an unknown member. */
bool room_cmd_known(const struct room *r, int member, const char *id);

/* Forgets the outbox (after the edge has fanned it out). */
void room_outbox_clear(struct room *r);

/* May member see event ev / card c? The rules: private notes only to their
 * author; "à retenir" marks only to the client of that consultation;
 * recadrage only to that client and the facilitator; the rest to all.
 * member ROOM_PUBLIC (a display) sees what is for all and nothing else. */
bool room_event_visible(const struct room *r, const struct room_event *ev, int member);
bool room_card_visible(const struct room *r, const struct room_card *c, int member);

/* May member see the advice verdict of card c (advice_like, its cue)? Only
 * for a question, and only its author and the current facilitator. */
bool room_card_advice_visible(const struct room *r, const struct room_card *c,
                              int member);

/*
 * question_check: may member ask text as a question now, and does it look
 * like advice? Read-only: changes nothing, takes no sequence number, is not
 * journaled, and costs no card of the member's per-step budget. Checks, in
 * order: the member (UNKNOWN_MEMBER, MEMBER_REMOVED), rules_check as
 * question_ask (wrong step, role...), the text as question_ask checks it
 * (TEXT_EMPTY, TEXT_TOO_LONG), then fills *out from advice_check.
 * Returns 0 or the error (then *out is untouched).
 */
int room_question_check(const struct room *r, int member, const char *text,
                        struct advice_result *out);

/* Returns the card with this id, or NULL. */
const struct room_card *room_card_get(const struct room *r, uint32_t id);

/* Sequence of hands raised: fills out (capacity cap) with member indexes in
 * the order hands went up; returns how many. */
size_t room_hands(const struct room *r, int *out, size_t cap);

/* Returns the bytes s takes as a JSON string's contents (jansson's
 * escaping: 2 for a quote, a backslash and \b \f \n \r \t, 6 for another
 * control character, 1 for any other byte). 0 for NULL. */
size_t room_json_len(const char *s);

/* Counts Unicode code points of a valid UTF-8 string. */
size_t room_utf8_chars(const char *s);

/* Wire names of the enums (static strings; NULL out of range) and reverse
 * look-ups (-1 when unknown). */
const char *room_card_type_name(enum room_card_type t);
const char *room_kind_name(int kind);
const char *room_dimension_name(int dim);
const char *room_outcome_name(int outcome);
const char *room_event_name(enum room_event_type t);
const char *room_cmd_name(enum room_cmd_type t);
/* Returns the rules_action command type t is checked as (its ROOM_CMD_MAP
 * row), or RULES_ACTION_COUNT out of range. room_apply() may check a
 * command's particular form as another action (see ROOM_CMD_MAP). */
enum rules_action room_cmd_rules_action(enum room_cmd_type t);
int room_kind_from_name(const char *name);
int room_dimension_from_name(const char *name);
int room_outcome_from_name(const char *name);
int room_cmd_from_name(const char *name);

/* ---- the floor, rounds and balance (room_floor.c) ------------------------ */

/* Wire names of enum room_round_mode ("signal", "auto") and enum
 * room_turn_status ("pending" ... "absent"); NULL out of range; -1 when
 * unknown. */
const char *room_round_mode_name(int mode);
int room_round_mode_from_name(const char *name);
const char *room_turn_status_name(int status);

/* Gives the room the group's memory of its previous round: member_id (or
 * NULL / "" for none) was the first of it, so the next round starts after
 * them. Not a command and not journaled: only a live round_start reads it,
 * and its journal record carries the order it computed. */
void room_round_seed_set(struct room *r, const char *member_id);

/* Has the current turn of an active round used its whole budget at now_ms
 * (any mode)? And the same in auto mode, where the edge then applies
 * round_skip as the facilitator with variant 1 (room_floor.c). */
bool room_floor_turn_due(const struct room *r, int64_t now_ms);
bool room_floor_turn_auto_due(const struct room *r, int64_t now_ms);

/* Room for a round_start's journaled order: member ids and spaces. */
#define ROOM_ROUND_TEXT_MAX (ROOM_MEMBERS_HARD_MAX * (ROOM_ID_LEN + 1) + 1)

/*
 * Turns cmd, just accepted live by room_apply on r, into the form to
 * journal, so that a replay without presence or the group's memory makes
 * the same decisions: floor_give gets flag (its presence check passed);
 * round_start gets text = the order it computed (written into buf of cap
 * >= ROOM_ROUND_TEXT_MAX bytes); a command that moved a round on gets card
 * = the round's position after it + 1. Other commands are left as they
 * are.
 */
void room_floor_journal_form(const struct room *r, struct room_cmd *cmd, char *buf,
                             size_t cap);

#endif
