/*
 * hub.h - the groups a codevd process serves, and the session each has open.
 *
 * A group (groupe de codéveloppement) is durable: its members with the
 * hashes of their keys, the hash of its invite code, its facilitator, its
 * settings and the action plans its clients still have to debrief. While a
 * session (séance) is open the group also holds its live room. The hub owns
 * the groups; each group owns its room.
 *
 * After every accepted room command the edge calls hub_sync() so that what
 * the room decided (handover, removal, observer role, closing, debriefs)
 * becomes true of the group too.
 *
 * No I/O and no clock (now_ms is passed); OpenSSL and libuuid for secrets
 * and ids. ONLY used from the lws service thread. Expected load: lookups by
 * group id at every hello and HTTP call (a hash table, O(1)); member
 * authentication scans a group's members (at most ROOM_MEMBERS_HARD_MAX).
 */
#ifndef CODEV_HUB_H
#define CODEV_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "ratelimit.h"
#include "room.h"

/* Members a group keeps, removed ones included (their records stay theirs);
 * members_max counts current members only. */
#define HUB_MEMBERS_STORED_MAX 512

struct hub_member {
    char id[AUTH_UUID_LEN + 1];
    char *name; /* display name, owned */
    uint8_t key_hash[AUTH_HASH_LEN];
    uint8_t form; /* enum room_form: the form of their role labels, their choice */
    bool observer;
    bool removed;               /* removed by the facilitator: key refused */
    int online;                 /* open connections (maintained by the edge) */
    struct rate_bucket exports; /* the member's export budget (the edge's) */
    struct rate_bucket writes;  /* the member's budget for the calls between
                                 * sessions that write (the edge's) */
};

/* Action plan items one client member may have waiting for a debrief, by
 * default (config plans_waiting_per_member): at a session's close, the
 * oldest beyond it expire (hub_session.c). */
#define HUB_PLANS_WAITING_DEFAULT 20

/*
 * An action plan item of a closed session, waiting for its client's debrief.
 * A group holds in memory only the items still waiting, and for a while
 * those debriefed or expired since its records last all committed
 * (hub_plans_settle drops them): the store keeps every item.
 */
struct hub_plan {
    char id[AUTH_UUID_LEN + 1]; /* the card's durable id */
    char client[AUTH_UUID_LEN + 1];
    char *text;                      /* owned */
    char *due;                       /* owned, or NULL */
    char *first_step;                /* owned, or NULL: its "premier pas" */
    bool debriefed;                  /* debriefed in a later session */
    char session[AUTH_UUID_LEN + 1]; /* the session it was written in, or "" */
    int consultation;                /* its consultation in that session, or -1 */
    bool pre_debriefed;              /* debriefed in advance (hub_life.c), with: */
    int pre_outcome;                 /* enum room_debrief_outcome */
    char *pre_comment;               /* owned, or NULL */
    /* Its place among the group's items, for good: grows with every item
     * kept (the store's plans.ordinal). */
    int64_t ordinal;
    /* No longer offered: its client had plans_waiting_per_member newer items
     * waiting (stored as debriefed = 2, STORE_PLAN_EXPIRED), since the close
     * of session expired_in. */
    bool expired;
    char expired_in[AUTH_UUID_LEN + 1];
};

/* What the store keeps of a session when it closes (DESIGN.md section 5). */
enum hub_retention {
    HUB_RETENTION_PERSONAL, /* default: each person keeps what is theirs */
    HUB_RETENTION_KEEP      /* the group keeps full minutes */
};

/* ---- between sessions (hub_life.c) ---------------------------------------- */

#define HUB_ROTA_MAX             12   /* rota entries: the next sessions' roles */
#define HUB_PROPOSALS_MAX        24   /* case proposals a group holds */
#define HUB_PROPOSALS_PER_MEMBER 3    /* ... of which one member's */
#define HUB_PROPOSAL_TITLE_MAX   120  /* characters of a proposal's title */
#define HUB_PROPOSAL_TEXT_MAX    1000 /* characters of its few lines */
#define HUB_LINK_MAX             500  /* bytes of a video-call link */
#define HUB_TZ_MAX               64   /* bytes of an IANA time zone name */
#define HUB_NEXT_DURATION_MIN    15   /* minutes of a next session, at least */
#define HUB_NEXT_DURATION_MAX    720  /* ... and at most */

/* ---- the group's settings page (hub_settings.c) ---------------------------- */

#define HUB_FORMAT_HALF_DAY 240 /* a half-day: two consultations */
#define HUB_STEP_MIN_MIN    1   /* minutes of a step in the template, at least */
#define HUB_STEP_MIN_MAX    240 /* ... and at most */
#define HUB_SESSION_MIN_MAX                                                              \
    480                        /* minutes of the whole template: the opening and         \
                                * each planned consultation's steps */
#define HUB_RULES_MAX      8   /* ground rules a group keeps */
#define HUB_RULE_MAX_CHARS 200 /* code points of one rule */

/* One rota entry: who is client and who facilitates at a coming session
 * (member ids, or "" when left open). Entry 0 is the next session. */
struct hub_rota_entry {
    char client[AUTH_UUID_LEN + 1];
    char facilitator[AUTH_UUID_LEN + 1];
};

/* The next session, as the facilitator set it. */
struct hub_next {
    bool set;
    char date[11];     /* "YYYY-MM-DD", in the group's time zone */
    char time[6];      /* "HH:MM" */
    int duration_min;  /* HUB_NEXT_DURATION_MIN..MAX */
    char *link;        /* owned: an http(s) URL, or NULL */
    int64_t start_ms;  /* the same instant in UTC (tz.c) */
    uint32_t slot;     /* which session slot: the iCalendar UID's; grows when a
                        * session opens */
    uint32_t sequence; /* the iCalendar SEQUENCE: grows with every change */
};

/* A case proposed for the next session by a member. */
struct hub_proposal {
    char id[AUTH_UUID_LEN + 1];
    char author[AUTH_UUID_LEN + 1];
    char *title; /* owned */
    char *text;  /* owned, or NULL */
    int64_t created_ms, updated_ms;
    char during[AUTH_UUID_LEN + 1]; /* the session open when it was proposed, or "":
                                     * it is for the session after that one */
    char chosen[AUTH_UUID_LEN + 1]; /* the session it was brought to the topic in,
                                     * or "" */
};

/* A member's exposé prepared in advance: theirs alone until published. */
struct hub_draft {
    char author[AUTH_UUID_LEN + 1];
    char *text; /* owned */
    int64_t updated_ms;
};

struct hub_group {
    char id[AUTH_UUID_LEN + 1];
    char *name;                          /* owned */
    char language[3];                    /* "fr" or "en" */
    int format;                          /* 45, 90 or 120 minutes */
    char facilitator[AUTH_UUID_LEN + 1]; /* member id */
    uint8_t invite_hash[AUTH_HASH_LEN];
    enum hub_retention retention; /* HUB_RETENTION_PERSONAL unless set */
    int warn_before_s; /* the page's warning before a step's time is up, in seconds;
                          0: none (HUB_WARN_BEFORE_*) */
    struct hub_member *members;
    size_t nmembers, members_cap;
    /* Items waiting, then debriefed or expired ones until hub_plans_settle;
     * and the next item's ordinal (above every stored one). */
    struct hub_plan *plans;
    size_t nplans, plans_cap;
    int64_t plans_next_ordinal;

    struct room *room;      /* the open (or last closed) session, or NULL */
    bool room_counted;      /* room counts in hub.open_sessions */
    void *edge;             /* the edge's own state (connections, tick), or NULL */
    int64_t active_ms;      /* last creation, join, invite or settings change */
    int64_t room_active_ms; /* the open room's last accepted command, or opening */
    bool opened_once;       /* a session was ever opened (then it never expires) */
    bool invite_rotated;    /* hub_sync replaced the invite: the edge saves the group */
    char creator[RATE_ADDR_LEN]; /* its creator's address key (rate_addr_prefix), or
                                  * "" (made before it was kept: counted nowhere) */
    bool display_set;            /* a display link exists (display_hash) */
    uint8_t display_hash[AUTH_HASH_LEN]; /* SHA-256 of its token, like the invite's */
    char round_last[AUTH_UUID_LEN + 1];  /* first member of the group's last round
                                          * (tour de table), or "": where the next
                                          * round starts, across sessions (room_floor.c) */
    /* Between sessions (hub_life.c). */
    char time_zone[HUB_TZ_MAX + 1]; /* IANA name, or "" (UTC) */
    struct hub_rota_entry rota[HUB_ROTA_MAX];
    size_t nrota;
    struct hub_next next_session;
    struct hub_proposal *proposals;
    size_t nproposals, proposals_cap;
    struct hub_draft *drafts;
    size_t ndrafts, drafts_cap;
    /* The group's settings page (hub_settings.c). */
    int step_min[STEP_COUNT];   /* the session template: minutes per step
                                 * (opening .. learning; closed 0), what the
                                 * next session's room starts with */
    char *rules[HUB_RULES_MAX]; /* ground rules, owned, when rules_set */
    size_t nrules;              /* 0..HUB_RULES_MAX */
    bool rules_set;             /* false: the default list (the page's, in the
                                 * reader's language) */
    struct hub_group *next;     /* hash bucket chain */
};

/* What the groups created from one address key use now (groups_per_ip,
 * sessions_per_ip). An entry exists while either count is above zero. */
struct hub_creator {
    char key[RATE_ADDR_LEN];  /* rate_addr_prefix of the creator's address */
    uint32_t groups;          /* live groups it created */
    uint32_t sessions;        /* open sessions of those groups (room_counted) */
    struct hub_creator *next; /* hash bucket chain */
};

struct hub {
    struct hub_group **buckets;
    size_t nbuckets; /* power of two */
    size_t ngroups;
    size_t open_sessions;
    struct room_limits room_limits;
    uint32_t groups_max;
    uint32_t sessions_max;
    uint32_t groups_per_ip;
    uint32_t sessions_per_ip;
    uint32_t name_max_chars;
    /* Items waiting per client member (plans_waiting_per_member). */
    uint32_t plans_waiting_max;

    struct hub_creator **creators; /* by address key, a hash table */
    size_t ncreator_buckets;       /* power of two */
    size_t ncreators;
};

/* Returns a new empty hub with limits from cfg (borrowed, not kept), or NULL. */
struct hub *hub_new(const struct config *cfg);

/* Frees the hub, its groups and their rooms. hub_free(NULL) is a no-op. The
 * edge must have detached its connections first. */
void hub_free(struct hub *h);

/* Fills budget_ms[STEP_COUNT] with the step budgets of a session format
 * (PRACTICE.md). Returns 0, or CODEV_E_BAD_FIELD for an unknown format. */
int hub_format_budgets(int format, int64_t *budget_ms);

/*
 * Creates a group with its facilitator, remembering creator (the address
 * key of the client that asks, rate_addr_prefix; borrowed, copied; "" or
 * NULL counts nowhere). name and facilitator_name are
 * validated (trimmed, 1..name_max_chars, no control or invisible characters), language is
 * "fr" or "en", format 45, 90 or 120. On success returns 0, sets *out
 * (borrowed: the hub owns it) and writes the facilitator's member id, member
 * key and the invite code (the only time the secrets exist in clear).
 * Errors: CODEV_E_BAD_FIELD, CODEV_E_TOO_MANY_GROUPS (groups_max, or
 * groups_per_ip live groups from creator already), CODEV_E_INTERNAL.
 */
int hub_group_create(struct hub *h, const char *creator, const char *name,
                     const char *facilitator_name, const char *language, int format,
                     struct hub_group **out, char member_id[AUTH_UUID_LEN + 1],
                     char key[AUTH_SECRET_LEN + 1], char invite[AUTH_SECRET_LEN + 1]);

/* Returns the group with this id (borrowed), or NULL. */
struct hub_group *hub_group_find(const struct hub *h, const char *id);

/*
 * Adds a member who holds the invite code. Writes the new member id and key.
 * When a session is open the member is added to its room as well (*room_idx
 * is then its room index, else -1); a closed room is not theirs and stays
 * as it was. Only current members count toward members_max; removed ones
 * count toward HUB_MEMBERS_STORED_MAX only. Errors: CODEV_E_BAD_INVITE,
 * CODEV_E_BAD_FIELD (name), CODEV_E_GROUP_FULL, CODEV_E_INTERNAL.
 */
int hub_member_join(struct hub *h, struct hub_group *g, const char *invite,
                    const char *display_name, char member_id[AUTH_UUID_LEN + 1],
                    char key[AUTH_SECRET_LEN + 1], int *room_idx);

/* Sets member member_id's form (enum room_form, from room_form_from_name),
 * in the group and, when they are in it, in the group's room (open or the
 * last closed one). Returns 0, CODEV_E_BAD_FIELD (a form out of range) or
 * CODEV_E_UNKNOWN_MEMBER. */
int hub_member_form_set(struct hub_group *g, const char *member_id, int form);

/* Replaces the group's invite code with a new one, written to invite (the
 * old code stops working at once). Returns 0, or CODEV_E_INTERNAL when the
 * random generator fails (the old code then stays). */
int hub_invite_rotate(struct hub_group *g, char invite[AUTH_SECRET_LEN + 1]);

/* The display link (a read-only screen of the session, proto/README.md 2.1):
 * hub_display_rotate makes a new token, written to token (the only time it
 * exists in clear; the old one stops working at once) and returns 0, or
 * CODEV_E_INTERNAL when the random generator fails (nothing changes).
 * hub_display_revoke forgets it. hub_display_auth says whether token opens
 * g's display link (constant-time in the token; false without a link).
 * hub_display_load sets the hash the store kept (NULL: no link). */
int hub_display_rotate(struct hub_group *g, char token[AUTH_SECRET_LEN + 1]);
void hub_display_revoke(struct hub_group *g);
bool hub_display_auth(const struct hub_group *g, const char *token);
void hub_display_load(struct hub_group *g, const uint8_t *hash);

/* Returns the member whose key this is (borrowed; removed members too, the
 * caller checks ->removed), or NULL. Constant-time in the key. */
const struct hub_member *hub_member_auth(const struct hub_group *g, const char *key);

/* Returns the member with this id (borrowed), or NULL. */
const struct hub_member *hub_member_find(const struct hub_group *g, const char *id);

/*
 * Opens a session: a new room with the group's members and the plans still
 * to debrief, replacing a closed room. Errors: CODEV_E_SESSION_OPEN (one is
 * open), CODEV_E_TOO_MANY_SESSIONS (sessions_max, or sessions_per_ip open
 * sessions of groups with g's creator already), CODEV_E_INTERNAL.
 */
int hub_session_open(struct hub *h, struct hub_group *g, int64_t now_ms);

/* Makes the group agree with its room after accepted commands: facilitator,
 * removed members, observers, debriefed plans; when the room closed, keeps
 * the session's action plan for the next session's debrief (each client
 * keeps at most h->plans_waiting_max items waiting: the oldest beyond
 * expire, marked for the close's record to store) and, under
 * retention "personal", strips the closed room of its text in place. A member newly
 * removed also replaces the invite code (nobody learns the new one: the
 * facilitator makes one to share with POST /invite) and sets
 * g->invite_rotated for the edge to save the group. */
void hub_sync(struct hub *h, struct hub_group *g);

/*
 * Deletes g: takes it out of the hub (uncounting its open session) and
 * frees it with its room. The edge must have detached its connections and
 * taken it out of its tick list first; g is invalid afterwards.
 */
void hub_group_delete(struct hub *h, struct hub_group *g);

/*
 * Closed rooms (proto/README.md 2.2, "A closed room"). Under retention
 * "personal" a closed room keeps no text at all: its members (in room
 * order, with their flags), its facilitator, its steps and their times, and
 * the client of each consultation. It is built the same way from a live
 * room at its close and from the store at start-up, so that it reads the
 * same before and after a restart.
 */
struct hub_closed_member {
    char id[AUTH_UUID_LEN + 1];
    const char *name; /* borrowed */
    bool facilitator, observer, removed;
};

struct hub_closed_consultation {
    char client[AUTH_UUID_LEN + 1]; /* member id, or "" */
    int64_t planned_ms[STEP_COUNT]; /* topic .. learning; others 0 */
    int64_t used_ms[STEP_COUNT];
};

struct hub_closed {
    const char *session_id;
    int64_t opened_ms;
    const int64_t *budgets;           /* STEP_COUNT default budgets */
    const struct room_limits *limits; /* borrowed */
    int64_t opening_planned_ms, opening_used_ms;
    const struct hub_closed_member *members;
    size_t nmembers;
    const struct hub_closed_consultation *consultations;
    size_t nconsultations;
    uint64_t seq;  /* the room's seq at its close */
    size_t ncards; /* cards it had (their ids stay taken) */
};

/* Returns a new closed room holding what c describes and no text (the
 * caller owns it), or NULL on allocation failure or bad members. */
struct room *hub_closed_room_new(const struct hub_closed *c);

/* The room a member sees: the open room; a closed room only to a member who
 * was in it (and not removed); else NULL. Borrowed. */
const struct room *hub_room_of(const struct hub_group *g, const char *member_id);

/* Returns a new copy of g's settings and members (ids, names, flags; no
 * keys, plans, room or connections), for reading on another thread, or
 * NULL. Free it with hub_group_snapshot_free (NULL is a no-op). */
struct hub_group *hub_group_snapshot_new(const struct hub_group *g);
void hub_group_snapshot_free(struct hub_group *snap);

/* The warning before a step's time is up (group setting warn_before_s):
 * by default one minute, 0 for none, at most ten minutes. */
#define HUB_WARN_BEFORE_DEFAULT_S 60
#define HUB_WARN_BEFORE_MAX_S     600

/* Sets the group's warn_before_s. Returns 0, or CODEV_E_BAD_FIELD outside
 * [0, HUB_WARN_BEFORE_MAX_S] (the group is unchanged). Who may change it
 * (the facilitator) is the caller's check. */
int hub_group_warn_before_set(struct hub_group *g, long long seconds);

/* ---- the group's settings page (hub_settings.c) ------------------------------
 *
 * The session template (each step's minutes, from the format's defaults,
 * adjusted by the facilitator: hub_session_open starts the next room with
 * it), the ground rules shown at the opening, and removing a member between
 * sessions. Pure: libc only, no I/O, no clock. Who may call each (the
 * facilitator) is the caller's check. */

/* Fills minutes[STEP_COUNT] with a format's default template (PRACTICE.md;
 * a half-day is the 120-minute steps with two consultations). Returns 0,
 * or CODEV_E_BAD_FIELD for a format other than 45, 90, 120 or
 * HUB_FORMAT_HALF_DAY (minutes unchanged). */
int hub_format_minutes(int format, int minutes[STEP_COUNT]);

/* The consultations a format plans: 2 for the half-day, else 1. */
int hub_format_consultations(int format);

/* Checks a template for format: every step from the opening to the
 * learning HUB_STEP_MIN_MIN..HUB_STEP_MIN_MAX minutes (closed: 0), and the
 * opening plus hub_format_consultations times the other steps at most
 * HUB_SESSION_MIN_MAX. Returns 0 or CODEV_E_BAD_FIELD. */
int hub_template_check(int format, const int minutes[STEP_COUNT]);

/* Sets g's format and its template to that format's defaults. Returns 0 or
 * CODEV_E_BAD_FIELD (unknown format; g unchanged). */
int hub_group_format_set(struct hub_group *g, int format);

/* Sets g's template (after hub_template_check for g->format). Returns 0 or
 * CODEV_E_BAD_FIELD (g unchanged). */
int hub_group_template_set(struct hub_group *g, const int minutes[STEP_COUNT]);

/* The template in milliseconds, for room_new. */
void hub_group_budgets_ms(const struct hub_group *g, int64_t budget_ms[STEP_COUNT]);

/* Checks n ground rules: n <= HUB_RULES_MAX (else CODEV_E_BAD_FIELD), each
 * non-blank (CODEV_E_TEXT_EMPTY), at most HUB_RULE_MAX_CHARS code points
 * (CODEV_E_TEXT_TOO_LONG), with no control character (C0, DEL, C1: a rule
 * is one line; CODEV_E_BAD_FIELD). rules may be NULL when n is 0. */
int hub_rules_check(const char *const *rules, size_t n);

/* Replaces g's ground rules with copies of n rules (after hub_rules_check),
 * or with the default list when rules is NULL. Returns 0, or an error of
 * hub_rules_check or CODEV_E_INTERNAL (g unchanged). */
int hub_group_rules_set(struct hub_group *g, const char *const *rules, size_t n);

/* Copies src's template and rules into dst (a snapshot). Returns 0 or
 * CODEV_E_INTERNAL. */
int hub_settings_copy(struct hub_group *dst, const struct hub_group *src);

/* Frees g's rules (hub_group_free). */
void hub_settings_free(struct hub_group *g);

/*
 * Removes member_id from g between sessions, as member_remove does in a
 * session: the member's key is refused from now on and the invite code is
 * replaced (nobody learns the new one; *invite_rotated tells whether the
 * generator worked, as in hub_sync). The rota entries naming them are left
 * open and their private exposé draft is wiped. Errors:
 * CODEV_E_SESSION_OPEN (a session is open: member_remove there),
 * CODEV_E_UNKNOWN_MEMBER (no such member, or already removed),
 * CODEV_E_BAD_TARGET (the facilitator).
 */
int hub_member_remove(struct hub_group *g, const char *member_id);

/* Whether invite is g's invite code (constant-time in the code). */
bool hub_invite_check(const struct hub_group *g, const char *invite);

/* Wire names of the retention settings: "personal", "keep" (static strings;
 * NULL out of range), and the reverse look-up (-1 when unknown). */
const char *hub_retention_name(int retention);
int hub_retention_from_name(const char *name);

/* Sets the group's retention from its wire name. Returns 0, or
 * CODEV_E_BAD_FIELD for an unknown name (the group is unchanged). Who may
 * change it (the facilitator) is the caller's check. */
int hub_group_retention_set(struct hub_group *g, const char *name);

/*
 * Loading (store_load, main thread at start-up): these insert what the store
 * kept, without generating ids or secrets and without the groups_max and
 * members_max limits (what was accepted once stays loaded).
 *
 * hub_group_insert adds a group with no members; invite_hash and creator
 * (an address key, or "" or NULL when unknown) are copied, and the group
 * counts toward its creator's groups.
 * Sets *out (borrowed). Errors: CODEV_E_BAD_FIELD (an id already present, a
 * bad language), CODEV_E_INTERNAL.
 */
int hub_group_insert(struct hub *h, const char *id, const char *name,
                     const char *language, int format, const char *facilitator,
                     const uint8_t invite_hash[AUTH_HASH_LEN],
                     enum hub_retention retention, const char *creator,
                     struct hub_group **out);

/* The groups and open sessions the groups created from address key
 * (borrowed) hold now; 0 and 0 for an unknown key. */
void hub_creator_usage(const struct hub *h, const char *key, uint32_t *groups,
                       uint32_t *sessions);

/* Appends a member to g (copies the strings and the hash; the form is
 * neutral until hub_member_form_set). Returns its index
 * or CODEV_E_GROUP_FULL (HUB_MEMBERS_STORED_MAX) or CODEV_E_INTERNAL. */
int hub_member_insert(struct hub_group *g, const char *id, const char *name,
                      const uint8_t key_hash[AUTH_HASH_LEN], bool observer, bool removed);

/* Appends a plan item to g (copies p and its strings; g's next ordinal
 * moves above p's). Returns 0 or CODEV_E_INTERNAL. */
int hub_plan_insert(struct hub_group *g, const struct hub_plan *p);

/*
 * Every record of g submitted so far has committed (or g was just loaded
 * from the store): drops from memory the plan items that no longer wait,
 * debriefed or expired. Their debrief is in the journal and the store keeps
 * them; a later rollback can no longer make them wait again. Returns how
 * many went. O(plans held).
 */
size_t hub_plans_settle(struct hub_group *g);

/* True when p still waits for its client's debrief: neither debriefed nor
 * expired. */
bool hub_plan_waiting(const struct hub_plan *p);

/* The plan items g holds in memory: still waiting for a debrief (*waiting),
 * and debriefed or expired, until hub_plans_settle (*settling). */
void hub_plans_count(const struct hub_group *g, size_t *waiting, size_t *settling);

/* Copies each member's form from g to g's room (none: a no-op): a room
 * rebuilt from the store knows no forms. hub_session_attach calls it; so
 * does the store for a closed room it loads. */
void hub_room_forms_sync(struct hub_group *g);

/* Makes r (a rebuilt session) the group's room and counts it as open, as
 * hub_session_open does, with the configured session budget (room_limits
 * items_max, bytes_max, rewrites_max, journal_bytes_max) and its members'
 * forms from the group's (the journal does not keep them). Takes ownership of r, also on
 * error. A room that was rebuilt closed is counted too: the caller's hub_sync() then
 * uncounts it and keeps its action plans, exactly as after a live close. Errors:
 * CODEV_E_SESSION_OPEN (g already has an open room). */
int hub_session_attach(struct hub *h, struct hub_group *g, struct room *r);

/*
 * Undoes what the loop did in memory beyond the store (a failed write's
 * rollback): frees g's room and uncounts it if it was counted, drops the
 * action plans its close kept and makes those its close expired wait
 * again (both happen again when the close commits), and when r is not
 * NULL attaches it as hub_session_attach does (taking ownership), then
 * syncs the group from it. A member whose removal did not commit is a
 * member again. Returns 0 or hub_session_attach's error.
 */
int hub_session_replace(struct hub *h, struct hub_group *g, struct room *r);

/* Validates and trims a display or group name into out (capacity cap
 * bytes). Returns 0 or CODEV_E_BAD_FIELD: empty, too long, or holding a
 * control character (C0, DEL, C1) or an invisible or direction-changing
 * one (U+061C, U+200B-200F, U+2028-202E, U+2060-2069, U+FEFF). */
int hub_name_clean(const struct hub *h, const char *in, char *out, size_t cap);

/* ---- between sessions (hub_life.c) -------------------------------------------
 *
 * What the group keeps between its sessions: a rota, the next session's
 * date, case proposals, private exposé drafts and debriefs posted in
 * advance. Pure (no I/O, no clock: now_ms is passed). Who may call each
 * (facilitator, author, earlier client) is the caller's check unless said.
 * Texts are validated here: trimmed of nothing, non-blank, within their
 * limits in code points (JSON strings are valid UTF-8 already).
 */

/* Whether g has a session open now (not closed). */
bool hub_session_is_open(const struct hub_group *g);

/* Replaces the rota with n entries (n <= HUB_ROTA_MAX). Each id is a
 * current member's, or "" or NULL (left open). Errors: CODEV_E_BAD_FIELD
 * (too many), CODEV_E_UNKNOWN_MEMBER; the rota is then unchanged. */
int hub_rota_set(struct hub_group *g, const char *const *clients,
                 const char *const *facilitators, size_t n);

/* Checks a next session's fields: date "YYYY-MM-DD" (a real day, years
 * 2000..2999), time "HH:MM", duration in minutes, link NULL or an http(s)
 * URL of at most HUB_LINK_MAX bytes with no space or control character.
 * Returns 0 or CODEV_E_BAD_FIELD. */
int hub_next_check(const char *date, const char *time, int duration_min,
                   const char *link);

/* Sets the next session (after hub_next_check) with its UTC instant
 * start_ms (tz.c) and, when tz is not NULL, the group's time zone (a name
 * tz.c accepted). Grows its sequence. Returns 0 or CODEV_E_INTERNAL. */
int hub_next_set(struct hub_group *g, const char *date, const char *time,
                 int duration_min, const char *link, const char *tz, int64_t start_ms);

/* Clears the next session (the slot stays, the sequence grows). */
void hub_next_clear(struct hub_group *g);

/* Adds a case proposal by author (a current member) at now_ms, writing
 * its new id to id. Errors: CODEV_E_TEXT_EMPTY (blank title),
 * CODEV_E_TEXT_TOO_LONG, CODEV_E_TOO_MANY_PROPOSALS (HUB_PROPOSALS_MAX in the
 * group or HUB_PROPOSALS_PER_MEMBER of the author's), CODEV_E_INTERNAL. */
int hub_proposal_add(struct hub_group *g, const char *author, const char *title,
                     const char *text, int64_t now_ms, char id[AUTH_UUID_LEN + 1]);

/* Returns the proposal with this id (borrowed), or NULL. */
struct hub_proposal *hub_proposal_find(struct hub_group *g, const char *id);

/* Edits p (its author's check is the caller's): title and text as for
 * hub_proposal_add. Errors as there; p is then unchanged. */
int hub_proposal_edit(struct hub_proposal *p, const char *title, const char *text,
                      int64_t now_ms);

/* Withdraws p (its text is wiped before it is freed). */
void hub_proposal_remove(struct hub_group *g, struct hub_proposal *p);

/* Marks p as brought to the topic step of the open session. Errors:
 * CODEV_E_NO_SESSION (none open), CODEV_E_ALREADY_DONE (already chosen in
 * it). */
int hub_proposal_choose(struct hub_group *g, struct hub_proposal *p);

/* Sets author's exposé draft (at most long_text_max_chars code points).
 * Errors: CODEV_E_TEXT_EMPTY, CODEV_E_TEXT_TOO_LONG, CODEV_E_INTERNAL. */
int hub_draft_set(struct hub *h, struct hub_group *g, const char *author,
                  const char *text, int64_t now_ms);

/* Returns author's draft (borrowed), or NULL. */
const struct hub_draft *hub_draft_find(const struct hub_group *g, const char *author);

/* Deletes author's draft (wiped). Returns 0, or CODEV_E_NOT_FOUND. */
int hub_draft_remove(struct hub_group *g, const char *author);

/* The earlier client member debriefs plan item plan_id in advance: outcome
 * (enum room_debrief_outcome) and an optional comment (text_max_chars),
 * replacing an earlier one. Errors: CODEV_E_UNKNOWN_ACTION (no such item
 * waiting for a debrief), CODEV_E_NOT_EARLIER_CLIENT, CODEV_E_BAD_FIELD,
 * CODEV_E_TEXT_TOO_LONG, CODEV_E_SESSION_OPEN (a session is open: debrief
 * it there), CODEV_E_INTERNAL. */
int hub_debrief_advance(struct hub *h, struct hub_group *g, const char *member,
                        const char *plan_id, int outcome, const char *comment);

/* hub_session_open calls it: the next session took place (cleared, the
 * slot grows). */
void hub_life_session_opened(struct hub_group *g);

/* hub_sync calls it once when g's room closed: the first rota entry is
 * used; the proposals brought to its topic step go, and under retention
 * "personal" so do every other proposal made before it opened; the drafts
 * of its clients go (their exposé is in their case now). */
void hub_life_session_closed(struct hub_group *g);

/* Loading (store_load): appends a proposal or a draft as stored. Returns 0
 * or CODEV_E_INTERNAL. */
int hub_proposal_insert(struct hub_group *g, const struct hub_proposal *p);
int hub_draft_insert(struct hub_group *g, const struct hub_draft *d);

/* Frees what g holds between sessions (hub_group_free). */
void hub_life_free(struct hub_group *g);

/* Copies src's state between sessions into dst (zeroed), for the store's
 * records. Returns 0 or CODEV_E_INTERNAL (dst then holds what was copied:
 * free it with hub_life_free). */
int hub_life_copy(struct hub_group *dst, const struct hub_group *src);

#endif
