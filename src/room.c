/*
 * room.c - the live state of one session and its state machine (see
 * room.h).
 *
 * room_apply() is the whole story: it checks who sends what (dedupe, the
 * member, rules_check, then the state checks of the command), and only when
 * every check has passed does it allocate what the change needs and commit
 * it, appending one event per observable change to the outbox.
 *
 * Invariants:
 *   - Pure: libc only; no I/O, no clock reads, no globals (only const
 *     tables), no logging. The same commands at the same instants give the
 *     same state and sequence numbers.
 *   - Check, then allocate, then commit. A refused command returns before
 *     the first write to the room, so the room stays byte-for-byte as it
 *     was; an allocation failure (CODEV_E_INTERNAL) can at most have grown an
 *     array's capacity, never its contents.
 *   - Every accepted command appends at least one event; each event takes
 *     the next sequence number (++seq), so seq is the sequence number of the
 *     last event and the ack of the command that produced it.
 *   - Each member remembers the ids of its last ROOM_SEEN_MAX accepted
 *     commands (FNV-1a hashes, never 0) with the seq they were acked with;
 *     refused commands are not remembered, so a retry with the same id is
 *     applied normally.
 *   - Members are never deleted: a removed member keeps its index (cards
 *     and acks refer to members by index), which is why the member hard
 *     limit counts removed members too.
 *   - The session budget (room_items_max, room_bytes_max,
 *     group_journal_max_bytes, rewrites_max) is counted over the whole
 *     session in r->items, r->bytes and r->journal_bytes and in each text's
 *     write count; nothing resets it, step moves included. r->bytes is what
 *     the room holds (a rewrite replaces its old bytes), r->journal_bytes
 *     what it has accepted (a rewrite adds). Budget refusals come after the
 *     rules and before any write, like every other check.
 *   - The current consultation is the last one; in opening before the first
 *     there is none. The clock always belongs to the current step: leaving a
 *     step folds its time and budget into the consultation (or the opening
 *     fields), entering one restores them, so going back and forth
 *     accumulates time instead of resetting it.
 *
 * The room is three files along its seams, sharing room_internal.h: this
 * one (room_apply, the checks and helpers every command uses, and the
 * commands of steps, the clock, the facilitator's powers and hands),
 * room_cards.c (the commands that write cards and texts) and room_model.c
 * (creating a room, members and debriefs, visibility, queries, wire
 * names). The invariants above hold for all three.
 *
 * Expected load: a handful of commands per second per room, thousands of
 * rooms per process. Every operation is O(members + cards) at worst, with
 * members <= ROOM_MEMBERS_HARD_MAX.
 */
#include "room.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"
#include "room_internal.h"
#include "util.h"

/* Most events one command appends: hands lowered, a new consultation and
 * the new step (step_next from opening, consultation_new). */
#define ROOM_EVENTS_PER_CMD 3
/* What the floor may add to a step change or a member's removal: the
 * floor's end (balance), the next speaker's lowered hand and the floor. */
#define ROOM_FLOOR_EVENTS 3
/* timer_add takes at most one hour either way. */
#define ROOM_TIMER_ADD_MAX_S 3600
/* timer_set takes a remaining time up to the largest budget. */
#define ROOM_TIMER_SET_MAX_S (CLOCK_BUDGET_MAX_MS / 1000)

/* Which rules_action each command is checked as: its ROOM_CMD_MAP row.
 * hand_lower aimed at another member's hand is a facilitator power and is
 * mapped in room_cmd_action(). */
static const enum rules_action cmd_actions[] = {
#define ROOM_CMD_ACTION(suffix, wire, action, required, optional) [CMD_##suffix] = action,
    ROOM_CMD_MAP(ROOM_CMD_ACTION)
#undef ROOM_CMD_ACTION
};
_Static_assert(sizeof(cmd_actions) / sizeof(cmd_actions[0]) == CMD_TYPE_COUNT,
               "every command has a rules action");

/* ---- small helpers ---------------------------------------------------- */

/* Returns the FNV-1a 64-bit hash of a command id, never 0 (0 marks an empty
 * slot of the seen ring, so a real 0 is read as 1). */
static uint64_t room_cmd_hash(const char *id)
{
    uint64_t h = util_fnv1a64(id);

    return h ? h : 1;
}

/* Returns true when s has no character but ASCII white space. */
static bool room_text_is_blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\n\r\v\f", *s))
            return false;
    return true;
}

/* Checks a text a member writes: CODEV_E_TEXT_EMPTY when NULL or only white
 * space, CODEV_E_TEXT_TOO_LONG over max_chars code points, else 0. */
int room_text_check(const char *text, uint32_t max_chars)
{
    if (!text || room_text_is_blank(text))
        return CODEV_E_TEXT_EMPTY;
    if (room_utf8_chars(text) > max_chars)
        return CODEV_E_TEXT_TOO_LONG;
    return 0;
}

/* Checks the optional "by when" of an action. Sets *has_due to false for
 * NULL, empty or blank (no due date), else to true. Returns 0, or
 * CODEV_E_TEXT_TOO_LONG over ROOM_DUE_MAX_CHARS code points. */
int room_due_check(const char *due, bool *has_due)
{
    *has_due = due && !room_text_is_blank(due);
    if (*has_due && room_utf8_chars(due) > ROOM_DUE_MAX_CHARS)
        return CODEV_E_TEXT_TOO_LONG;
    return 0;
}

/* Checks the optional first step of an action, as room_due_check does, up
 * to ROOM_FIRST_STEP_MAX_CHARS code points. */
int room_first_step_check(const char *first_step, bool *has_step)
{
    *has_step = first_step && !room_text_is_blank(first_step);
    if (*has_step && room_utf8_chars(first_step) > ROOM_FIRST_STEP_MAX_CHARS)
        return CODEV_E_TEXT_TOO_LONG;
    return 0;
}

size_t room_json_len(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
            c == '\t')
            n += 2;
        else if (c < 0x20)
            n += 6;
        else
            n++;
    }
    return n;
}

/* Checks that the room may take add_items more items and hold new_bytes
 * instead of old_bytes: CODEV_E_ROOM_FULL past limits.items_max or
 * limits.bytes_max (0: no limit), else 0. A text that shrinks always fits. */
int room_budget_check(const struct room *r, size_t add_items, size_t old_bytes,
                      size_t new_bytes)
{
    if (add_items && r->limits.items_max && r->items + add_items > r->limits.items_max)
        return CODEV_E_ROOM_FULL;
    if (new_bytes > old_bytes && r->limits.bytes_max &&
        r->bytes - old_bytes + new_bytes > r->limits.bytes_max)
        return CODEV_E_ROOM_FULL;
    return 0;
}

bool room_share_over(const struct room *r, int member, uint64_t used, uint64_t max)
{
    uint32_t share = r->limits.member_share;

    return max && share > 1 && member != r->facilitator && used > max / share;
}

/* Checks that a text written for the writes+1-th time is within
 * limits.rewrites_max (the first write is no rewrite; 0: no limit). */
int room_rewrite_check(const struct room *r, uint32_t writes)
{
    if (r->limits.rewrites_max && writes > r->limits.rewrites_max)
        return CODEV_E_TOO_MANY_REWRITES;
    return 0;
}

/* What cmd costs the journal budget: its texts, JSON-escaped, and the
 * record's fixed part. */
static uint64_t room_journal_cost(const struct room_cmd *cmd)
{
    /* round_start's text is the order the server journals (a replay
     * carries it; a live command has none): the same cost either way. */
    if (cmd->type == CMD_ROUND_START)
        return ROOM_JOURNAL_OVERHEAD;
    return ROOM_JOURNAL_OVERHEAD + room_json_len(cmd->text) + room_json_len(cmd->due) +
           room_json_len(cmd->first_step);
}

/* Returns the index of the current consultation, or -1 before the first. */
int room_consultation_index(const struct room *r)
{
    return r->nconsultations ? (int)r->nconsultations - 1 : -1;
}

/* Returns the current consultation for writing, or NULL before the first. */
struct room_consultation *room_consultation_mut(struct room *r)
{
    return r->nconsultations ? &r->consultations[r->nconsultations - 1] : NULL;
}

/* Returns the client of the current consultation (whatever the step), or -1
 * when there is no consultation or no client yet. */
int room_client_current(const struct room *r)
{
    const struct room_consultation *c = room_consultation_current(r);

    return c ? c->client : -1;
}

/* Returns card id for writing when it exists, has the given type and
 * belongs to the current consultation; else NULL. */
struct room_card *room_card_of(struct room *r, uint32_t id, enum room_card_type type)
{
    struct room_card *c;

    if (id == 0 || id > r->ncards)
        return NULL;
    c = &r->cards[id - 1];
    if (c->type != type || c->consultation != room_consultation_index(r))
        return NULL;
    return c;
}

/* Makes room in the outbox for n more events. Returns 0 or
 * CODEV_E_INTERNAL. Called after a command's checks, before its first
 * write, so that room_emit() cannot fail half-way through a change. */
int room_events_reserve(struct room *r, size_t n)
{
    if (array_grow((void **)&r->out, &r->out_cap, r->nout + n, sizeof(*r->out)))
        return CODEV_E_INTERNAL;
    return 0;
}

/* Appends an event with the next sequence number. The outbox must have been
 * reserved (room_events_reserve). */
void room_emit(struct room *r, enum room_event_type type, enum room_audience audience,
               int member, uint32_t card, int index, int64_t now_ms)
{
    r->out[r->nout++] = (struct room_event){
        .seq = ++r->seq,
        .type = type,
        .audience = audience,
        .member = member,
        .at_ms = now_ms,
        .card = card,
        .index = index,
    };
}

/* Lowers member's hand. Returns true when it was up (the caller then owes
 * an EV_HANDS event). */
static bool room_hand_drop(struct room *r, int member)
{
    bool was_up = r->members[member].hand != 0;

    r->members[member].hand = 0;
    return was_up;
}

/* ---- steps and the clock ---------------------------------------------- */

/* Saves the clock of the step being left: time used and budget go to the
 * current consultation's per-step arrays, or to the opening fields. The
 * clock itself is left as it was. */
static void room_clock_fold(struct room *r, int64_t now_ms)
{
    struct room_consultation *c = room_consultation_mut(r);
    int64_t used = clock_used(&r->clock, now_ms);

    if (r->step == STEP_OPENING) {
        r->opening_used_ms = used;
        r->opening_budget_ms = r->clock.budget_ms;
    } else if (r->step != STEP_CLOSED && c) {
        c->step_used_ms[r->step] = used;
        c->step_budget_ms[r->step] = r->clock.budget_ms;
    }
}

/* Loads the clock of the step just entered (r->step) with its budget and
 * the time already spent in it, and starts it at now_ms. */
static void room_clock_enter(struct room *r, int64_t now_ms)
{
    const struct room_consultation *c = room_consultation_current(r);

    if (r->step == STEP_OPENING || !c)
        clock_init(&r->clock, r->opening_budget_ms, r->opening_used_ms);
    else
        clock_init(&r->clock, c->step_budget_ms[r->step], c->step_used_ms[r->step]);
    clock_start(&r->clock, now_ms);
}

/*
 * Moves the room to step `to`, every check having passed. When
 * open_consultation is true a new consultation (no client, the room's
 * default budgets) is appended first and `to` is its first step. Folds the
 * old step's clock, lowers every hand, resets every member's per-step card
 * count, and loads and starts the new step's clock (closed: pauses it).
 * Events: EV_HANDS when some hand was up, EV_CONSULTATION for a new
 * consultation, then EV_STEP (EV_CLOSED for closed). Returns 0, or
 * CODEV_E_INTERNAL with nothing changed.
 */
static int room_step_change(struct room *r, enum step to, bool open_consultation,
                            int actor, int64_t now_ms)
{
    bool hands = false;

    if (open_consultation && room_budget_check(r, 1, 0, ROOM_CONSULTATION_OVERHEAD))
        return CODEV_E_ROOM_FULL;
    if (room_events_reserve(r, ROOM_EVENTS_PER_CMD + ROOM_FLOOR_EVENTS))
        return CODEV_E_INTERNAL;
    /* From one: most sessions hold a consultation or two, and eight
     * (224 bytes each) per room were a fifth of the memory per member. */
    if (open_consultation &&
        array_grow_from((void **)&r->consultations, &r->consultations_cap,
                        r->nconsultations + 1, sizeof(*r->consultations), 1))
        return CODEV_E_INTERNAL;

    room_floor_leave_step(r, actor, now_ms);
    room_clock_fold(r, now_ms);
    for (size_t i = 0; i < r->nmembers; i++) {
        hands |= room_hand_drop(r, (int)i);
        r->members[i].step_cards = 0;
    }
    if (hands)
        room_emit(r, EV_HANDS, AUD_ALL, actor, 0, -1, now_ms);
    if (open_consultation) {
        struct room_consultation *c = &r->consultations[r->nconsultations++];

        memset(c, 0, sizeof(*c));
        c->client = -1;
        memcpy(c->step_budget_ms, r->budget_ms, sizeof(c->step_budget_ms));
        r->items++;
        r->bytes += ROOM_CONSULTATION_OVERHEAD;
        room_emit(r, EV_CONSULTATION, AUD_ALL, actor, 0, room_consultation_index(r),
                  now_ms);
    }
    r->step = to;
    if (to == STEP_CLOSED) {
        if (r->clock.running)
            clock_pause(&r->clock, now_ms);
        room_emit(r, EV_CLOSED, AUD_ALL, actor, 0, room_consultation_index(r), now_ms);
    } else {
        room_clock_enter(r, now_ms);
        room_emit(r, EV_STEP, AUD_ALL, actor, 0, room_consultation_index(r), now_ms);
    }
    return 0;
}

/* Leaves opening for the topic step of the first consultation, creating it
 * unless it exists already (the facilitator stepped back from its topic). */
static int room_first_consultation_enter(struct room *r, int actor, int64_t now_ms)
{
    return room_step_change(r, STEP_TOPIC, r->nconsultations == 0, actor, now_ms);
}

/* Returns true when every online consultant acknowledged the current
 * contract. */
static bool room_contract_acked(const struct room *r)
{
    const struct room_consultation *c = room_consultation_current(r);

    for (size_t i = 0; i < r->nmembers; i++) {
        const struct room_member *m = &r->members[i];

        if (m->removed || m->online <= 0 ||
            room_member_role(r, (int)i) != ROLE_CONSULTANT)
            continue;
        if (!(c->acks & (1ULL << i)))
            return false;
    }
    return true;
}

/* step_next: checks the condition for leaving the current step, then moves
 * one step forward. */
static int room_cmd_step_next(struct room *r, int member, const struct room_cmd *cmd,
                              int64_t now_ms)
{
    const struct room_consultation *c = room_consultation_current(r);

    switch (r->step) {
    case STEP_OPENING:
        return room_first_consultation_enter(r, member, now_ms);
    case STEP_TOPIC:
        if (c->client < 0 || r->members[c->client].removed)
            return CODEV_E_NO_CLIENT;
        break;
    case STEP_EXPOSE:
        if (!c->problem)
            return CODEV_E_NO_PROBLEM;
        break;
    case STEP_CONTRACT:
        if (!c->contract)
            return CODEV_E_NO_CONTRACT;
        if (!cmd->flag && !room_contract_acked(r))
            return CODEV_E_CONTRACT_NOT_ACKED;
        break;
    case STEP_CLARIFICATION:
    case STEP_CONSULTATION:
    case STEP_SYNTHESIS:
        break;
    case STEP_LEARNING:
        return CODEV_E_NO_SUCH_STEP;
    default:
        return CODEV_E_SESSION_CLOSED;
    }
    return room_step_change(r, (enum step)(r->step + 1), false, member, now_ms);
}

/* step_prev: one step back; from the first consultation's topic back to
 * opening; never back past a later consultation's topic. */
static int room_cmd_step_prev(struct room *r, int member, int64_t now_ms)
{
    switch (r->step) {
    case STEP_OPENING:
        return CODEV_E_NO_SUCH_STEP;
    case STEP_TOPIC:
        if (room_consultation_index(r) != 0)
            return CODEV_E_NO_SUCH_STEP;
        break;
    case STEP_CLOSED:
        return CODEV_E_SESSION_CLOSED;
    default:
        break;
    }
    return room_step_change(r, (enum step)(r->step - 1), false, member, now_ms);
}

/* consultation_new: from learning, a new consultation in topic; from
 * opening, the first consultation (as step_next). */
static int room_cmd_consultation_new(struct room *r, int member, int64_t now_ms)
{
    if (r->step == STEP_OPENING)
        return room_first_consultation_enter(r, member, now_ms);
    if (r->step != STEP_LEARNING)
        return CODEV_E_WRONG_STEP;
    return room_step_change(r, STEP_TOPIC, true, member, now_ms);
}

/* timer_start, timer_pause, timer_add, timer_set: one EV_CLOCK each. The
 * clock operation runs on a copy, so that a refusal (TIMER_RUNNING,
 * TIMER_STOPPED, BAD_DURATION) is known before anything is written. */
static int room_cmd_timer(struct room *r, int member, const struct room_cmd *cmd,
                          int64_t now_ms)
{
    struct clock next = r->clock;
    int err;

    if (cmd->type == CMD_TIMER_ADD &&
        (cmd->seconds == 0 || cmd->seconds > ROOM_TIMER_ADD_MAX_S ||
         cmd->seconds < -ROOM_TIMER_ADD_MAX_S))
        return CODEV_E_BAD_DURATION;
    if (cmd->type == CMD_TIMER_SET &&
        (cmd->seconds < 0 || cmd->seconds > ROOM_TIMER_SET_MAX_S))
        return CODEV_E_BAD_DURATION;
    switch (cmd->type) {
    case CMD_TIMER_START:
        err = clock_start(&next, now_ms);
        break;
    case CMD_TIMER_PAUSE:
        err = clock_pause(&next, now_ms);
        break;
    case CMD_TIMER_ADD:
        err = clock_add(&next, cmd->seconds * 1000, now_ms);
        break;
    default:
        err = clock_set_remaining(&next, cmd->seconds * 1000, now_ms);
        break;
    }
    if (err)
        return err;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    r->clock = next;
    room_emit(r, EV_CLOCK, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

/* ---- the facilitator's powers over members ------------------------------ */

/* client_assign: names the client of the current consultation (topic). */
static int room_cmd_client_assign(struct room *r, int member, const struct room_cmd *cmd,
                                  int64_t now_ms)
{
    struct room_consultation *c = room_consultation_mut(r);
    int t = room_member_find(r, cmd->target);

    if (t < 0)
        return CODEV_E_UNKNOWN_MEMBER;
    if (t == r->facilitator || r->members[t].observer)
        return CODEV_E_BAD_TARGET;
    if (c->client == t)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    c->client = t;
    room_emit(r, EV_CLIENT, AUD_ALL, t, 0, room_consultation_index(r), now_ms);
    return 0;
}

/* facilitator_handover: makes target the facilitator. The target's raised
 * hand, if any, goes down (a facilitator has no hand to lower). cmd->variant
 * says why (enum room_handover_reason): MANUAL from a member; AUTO (to the
 * co-facilitator only) and OFFER are the edge acting for an absent
 * facilitator, who may then take the role back (facilitator_reclaim). A
 * co-facilitator who becomes facilitator is no longer co-facilitator. */
static int room_cmd_handover(struct room *r, int member, const struct room_cmd *cmd,
                             int64_t now_ms)
{
    int t = room_member_find(r, cmd->target);
    bool cofacilitator = false;

    if (cmd->variant != HANDOVER_MANUAL && cmd->variant != HANDOVER_AUTO &&
        cmd->variant != HANDOVER_OFFER)
        return CODEV_E_BAD_FIELD;
    if (t < 0)
        return CODEV_E_UNKNOWN_MEMBER;
    if (t == member)
        return CODEV_E_ALREADY_DONE;
    if (r->members[t].observer || t == room_client_current(r))
        return CODEV_E_BAD_TARGET;
    if (cmd->variant == HANDOVER_AUTO && t != r->cofacilitator)
        return CODEV_E_BAD_TARGET;
    if (room_events_reserve(r, 3))
        return CODEV_E_INTERNAL;
    r->facilitator = t;
    if (cmd->variant == HANDOVER_MANUAL || r->facilitator_away == t)
        r->facilitator_away = -1;
    else if (r->facilitator_away < 0)
        r->facilitator_away = member;
    if (r->cofacilitator == t) {
        r->cofacilitator = -1;
        cofacilitator = true;
    }
    room_emit(r, EV_FACILITATOR, AUD_ALL, t, 0, cmd->variant, now_ms);
    if (cofacilitator)
        room_emit(r, EV_COFACILITATOR, AUD_ALL, -1, 0, -1, now_ms);
    if (room_hand_drop(r, t))
        room_emit(r, EV_HANDS, AUD_ALL, t, 0, -1, now_ms);
    return 0;
}

/* facilitator_reclaim: the facilitator the role was taken from while away
 * takes it back; the one who stood in becomes the co-facilitator. */
static int room_cmd_reclaim(struct room *r, int member, int64_t now_ms)
{
    int interim = r->facilitator;

    if (member != r->facilitator_away)
        return CODEV_E_NOT_AWAY_FACILITATOR;
    if (room_events_reserve(r, 3))
        return CODEV_E_INTERNAL;
    r->facilitator = member;
    r->facilitator_away = -1;
    room_emit(r, EV_FACILITATOR, AUD_ALL, member, 0, HANDOVER_RECLAIM, now_ms);
    if (interim >= 0 && interim != member && r->cofacilitator != interim) {
        r->cofacilitator = interim;
        room_emit(r, EV_COFACILITATOR, AUD_ALL, interim, 0, -1, now_ms);
    }
    if (room_hand_drop(r, member))
        room_emit(r, EV_HANDS, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

/* cofacilitator_set: names the member who takes over when the facilitator
 * is away (no member_id: nobody). Neither the facilitator nor an observer. */
static int room_cmd_cofacilitator_set(struct room *r, const struct room_cmd *cmd,
                                      int64_t now_ms)
{
    int t = -1;

    if (cmd->target) {
        t = room_member_find(r, cmd->target);
        if (t < 0)
            return CODEV_E_UNKNOWN_MEMBER;
        if (t == r->facilitator || r->members[t].observer)
            return CODEV_E_BAD_TARGET;
    }
    if (t == r->cofacilitator)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    r->cofacilitator = t;
    room_emit(r, EV_COFACILITATOR, AUD_ALL, t, 0, -1, now_ms);
    return 0;
}

/* The co-facilitator t can no longer be one (removed, made observer): clears
 * it, with its event (reserved by the caller). */
static void room_cofacilitator_drop(struct room *r, int t, int64_t now_ms)
{
    if (r->cofacilitator != t)
        return;
    r->cofacilitator = -1;
    room_emit(r, EV_COFACILITATOR, AUD_ALL, -1, 0, -1, now_ms);
}

/* member_remove: removes target from the session (and its hand). */
static int room_cmd_member_remove(struct room *r, int member, const struct room_cmd *cmd,
                                  int64_t now_ms)
{
    int t = room_member_find(r, cmd->target);

    if (t < 0)
        return CODEV_E_UNKNOWN_MEMBER;
    if (t == member || t == room_client_current(r))
        return CODEV_E_BAD_TARGET;
    if (room_floor_member_gone_check(r, cmd, t))
        return CODEV_E_BAD_FIELD;
    if (room_events_reserve(r, 3 + ROOM_FLOOR_EVENTS))
        return CODEV_E_INTERNAL;
    r->members[t].removed = true;
    if (r->facilitator_away == t)
        r->facilitator_away = -1;
    room_emit(r, EV_MEMBER_REMOVED, AUD_ALL, t, 0, -1, now_ms);
    if (room_hand_drop(r, t))
        room_emit(r, EV_HANDS, AUD_ALL, t, 0, -1, now_ms);
    room_cofacilitator_drop(r, t, now_ms);
    room_floor_member_gone(r, cmd, t, member, now_ms);
    return 0;
}

/* role_set: makes target an observer (cmd->flag) or a participant again. A
 * new observer's raised hand goes down (observers have no hand). */
static int room_cmd_role_set(struct room *r, int member, const struct room_cmd *cmd,
                             int64_t now_ms)
{
    int t = room_member_find(r, cmd->target);

    if (t < 0)
        return CODEV_E_UNKNOWN_MEMBER;
    if (t == r->facilitator || t == room_client_current(r))
        return CODEV_E_BAD_TARGET;
    if (r->members[t].observer == cmd->flag)
        return CODEV_E_ALREADY_DONE;
    if (cmd->flag && room_floor_member_gone_check(r, cmd, t))
        return CODEV_E_BAD_FIELD;
    if (room_events_reserve(r, 3 + ROOM_FLOOR_EVENTS))
        return CODEV_E_INTERNAL;
    r->members[t].observer = cmd->flag;
    room_emit(r, EV_ROLE, AUD_ALL, t, 0, -1, now_ms);
    if (cmd->flag && room_hand_drop(r, t))
        room_emit(r, EV_HANDS, AUD_ALL, t, 0, -1, now_ms);
    if (cmd->flag) {
        room_cofacilitator_drop(r, t, now_ms);
        room_floor_member_gone(r, cmd, t, member, now_ms);
    }
    return 0;
}

/* ---- hands -------------------------------------------------------------- */

/* Returns true when cmd is a hand_lower aimed at a hand other than the
 * sender's own. */
static bool room_hand_lower_is_other(const struct room *r, int member,
                                     const struct room_cmd *cmd)
{
    return cmd->type == CMD_HAND_LOWER && cmd->target &&
           strcmp(cmd->target, r->members[member].id) != 0;
}

/* hand_raise: the member's hand joins the end of the queue. */
static int room_cmd_hand_raise(struct room *r, int member, int64_t now_ms)
{
    if (r->members[member].hand)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    r->members[member].hand = ++r->hand_counter;
    room_emit(r, EV_HANDS, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

/* hand_lower: the member lowers its own hand, or the facilitator lowers
 * someone else's (the rules were checked as a facilitator power). */
static int room_cmd_hand_lower(struct room *r, int member, const struct room_cmd *cmd,
                               int64_t now_ms)
{
    int t = member;

    if (room_hand_lower_is_other(r, member, cmd)) {
        t = room_member_find(r, cmd->target);
        if (t < 0)
            return CODEV_E_UNKNOWN_MEMBER;
    }
    if (!r->members[t].hand)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    r->members[t].hand = 0;
    room_emit(r, EV_HANDS, AUD_ALL, t, 0, -1, now_ms);
    return 0;
}

/* ---- room_apply ----------------------------------------------------------- */

/* Returns the rules_action cmd is checked as. Lowering another member's
 * hand is checked like the facilitator's other powers over members
 * (facilitator only, any open step), not as RULES_HAND. */
static enum rules_action room_cmd_action(const struct room *r, int member,
                                         const struct room_cmd *cmd)
{
    if (room_hand_lower_is_other(r, member, cmd))
        return RULES_MEMBER_REMOVE;
    return cmd_actions[cmd->type];
}

/* Runs the state checks and the change of one command whose sender and
 * rules were checked. Returns 0 or the error, with nothing changed. */
static int room_dispatch(struct room *r, int member, const struct room_cmd *cmd,
                         int64_t now_ms)
{
    /* Every step from topic to learning belongs to a consultation; the
     * handlers rely on it. A room that breaks this was not built by room.c. */
    if (r->step != STEP_OPENING && r->step != STEP_CLOSED && r->nconsultations == 0)
        return CODEV_E_INTERNAL;
    switch (cmd->type) {
    case CMD_STEP_NEXT:
        return room_cmd_step_next(r, member, cmd, now_ms);
    case CMD_STEP_PREV:
        return room_cmd_step_prev(r, member, now_ms);
    case CMD_CONSULTATION_NEW:
        return room_cmd_consultation_new(r, member, now_ms);
    case CMD_SESSION_CLOSE:
        return room_step_change(r, STEP_CLOSED, false, member, now_ms);
    case CMD_TIMER_START:
    case CMD_TIMER_PAUSE:
    case CMD_TIMER_ADD:
    case CMD_TIMER_SET:
        return room_cmd_timer(r, member, cmd, now_ms);
    case CMD_CLIENT_ASSIGN:
        return room_cmd_client_assign(r, member, cmd, now_ms);
    case CMD_FACILITATOR_HANDOVER:
        return room_cmd_handover(r, member, cmd, now_ms);
    case CMD_MEMBER_REMOVE:
        return room_cmd_member_remove(r, member, cmd, now_ms);
    case CMD_ROLE_SET:
        return room_cmd_role_set(r, member, cmd, now_ms);
    case CMD_CHECKIN_POST:
        return room_card_post(r, member, CARD_CHECKIN, cmd, now_ms);
    case CMD_TOPIC_PROPOSE:
        return room_card_post(r, member, CARD_TOPIC, cmd, now_ms);
    case CMD_PROBLEM_SET:
    case CMD_CONTRACT_SET:
        return room_cmd_long_text_set(r, member, cmd, now_ms);
    case CMD_QUESTION_ASK:
        return room_card_post(r, member, CARD_QUESTION, cmd, now_ms);
    case CMD_QUESTION_ANSWER:
        return room_cmd_question_answer(r, member, cmd, now_ms);
    case CMD_QUESTION_FLAG:
        return room_cmd_question_flag(r, member, cmd, now_ms);
    case CMD_REFORMULATION_POST:
        return room_card_post(r, member, CARD_REFORMULATION, cmd, now_ms);
    case CMD_CONTRACT_ACK:
        return room_cmd_contract_ack(r, member, now_ms);
    case CMD_CONTRIBUTION_POST:
        return room_card_post(r, member, CARD_CONTRIBUTION, cmd, now_ms);
    case CMD_MARK_SET:
        return room_cmd_mark_set(r, member, cmd, now_ms);
    case CMD_RECADRAGE:
        return room_cmd_recadrage(r, member, now_ms);
    case CMD_ACTION_ADD:
        return room_card_post(r, member, CARD_ACTION, cmd, now_ms);
    case CMD_ACTION_REMOVE:
        return room_cmd_action_remove(r, member, cmd, now_ms);
    case CMD_LEARNING_POST:
        return room_card_post(r, member, CARD_LEARNING, cmd, now_ms);
    case CMD_DEBRIEF_POST:
        return room_cmd_debrief_post(r, member, cmd, now_ms);
    case CMD_HAND_RAISE:
        return room_cmd_hand_raise(r, member, now_ms);
    case CMD_HAND_LOWER:
        return room_cmd_hand_lower(r, member, cmd, now_ms);
    case CMD_NOTE_POST:
    case CMD_QUESTION_PARK:
        return room_card_post(r, member, CARD_NOTE, cmd, now_ms);
    case CMD_QUESTION_CHECK:
        /* A query, not a change: the edge answers it with
         * room_question_check and never brings it here. */
        return CODEV_E_INTERNAL;
    case CMD_COFACILITATOR_SET:
        return room_cmd_cofacilitator_set(r, cmd, now_ms);
    case CMD_FACILITATOR_RECLAIM:
        return room_cmd_reclaim(r, member, now_ms);
    case CMD_FLOOR_GIVE:
    case CMD_FLOOR_END:
    case CMD_ROUND_START:
    case CMD_TURN_PASS:
    case CMD_ROUND_SKIP:
    case CMD_ROUND_STOP:
        return room_floor_dispatch(r, member, cmd, now_ms);
    case CMD_RECADRAGE_ACK:
        return room_cmd_recadrage_ack(r, member, now_ms);
    case CMD_CARD_EDIT:
        return room_cmd_card_edit(r, member, cmd, now_ms);
    case CMD_CARD_WITHDRAW:
        return room_cmd_card_withdraw(r, member, cmd, now_ms);
    case CMD_RETAIN_SET:
        return room_cmd_retain_set(r, member, cmd, now_ms);
    default:
        return CODEV_E_UNKNOWN_TYPE;
    }
}

/*
 * Applies cmd from member at now_ms (see room.h). Checks, in order: the
 * member index (UNKNOWN_MEMBER), the command id (BAD_FIELD when empty or
 * unterminated), a duplicate id (answered with the original seq), a removed
 * member (MEMBER_REMOVED), the command type (UNKNOWN_TYPE), rules_check,
 * then the command's own state checks. On success records the id in the
 * member's seen ring and sets *seq to the last event's sequence number.
 * seq and duplicate may be NULL.
 */
bool room_cmd_known(const struct room *r, int member, const char *id)
{
    const struct room_member *m;
    uint64_t hash;

    if (!r || !id || member < 0 || (size_t)member >= r->nmembers)
        return false;
    m = &r->members[member];
    hash = room_cmd_hash(id);
    for (size_t i = 0; i < m->seen_n; i++)
        if (m->seen[i].hash == hash)
            return true;
    return false;
}

int room_apply(struct room *r, int member, const struct room_cmd *cmd, int64_t now_ms,
               uint64_t *seq, bool *duplicate)
{
    struct room_member *m;
    struct room_seen *grown = NULL;
    unsigned ncap = 0;
    uint64_t hash, cost;
    int err;

    if (duplicate)
        *duplicate = false;
    if (!r || !cmd)
        return CODEV_E_INTERNAL;
    if (member < 0 || (size_t)member >= r->nmembers)
        return CODEV_E_UNKNOWN_MEMBER;
    if (cmd->id[0] == '\0' || !memchr(cmd->id, '\0', sizeof(cmd->id)))
        return CODEV_E_BAD_FIELD;
    m = &r->members[member];
    hash = room_cmd_hash(cmd->id);
    for (size_t i = 0; i < m->seen_n; i++) {
        if (m->seen[i].hash == hash) {
            if (seq)
                *seq = m->seen[i].seq;
            if (duplicate)
                *duplicate = true;
            return 0;
        }
    }
    if (m->removed)
        return CODEV_E_MEMBER_REMOVED;
    if ((unsigned)cmd->type >= CMD_TYPE_COUNT)
        return CODEV_E_UNKNOWN_TYPE;
    err = rules_check(room_cmd_action(r, member, cmd), room_member_role(r, member),
                      r->step);
    if (err)
        return err;
    /* The journal budget, and each member's share of it. The facilitator
     * can always close the session, remove a member or hand over (and the
     * facilitator who was away take the role back): whoever filled the
     * journal, the group keeps the means to end it. */
    cost = room_journal_cost(cmd);
    if (r->limits.journal_bytes_max && cmd->type != CMD_SESSION_CLOSE &&
        cmd->type != CMD_MEMBER_REMOVE && cmd->type != CMD_FACILITATOR_HANDOVER &&
        cmd->type != CMD_FACILITATOR_RECLAIM &&
        (r->journal_bytes + cost > r->limits.journal_bytes_max ||
         room_share_over(r, member, m->journal_bytes + cost,
                         r->limits.journal_bytes_max)))
        return CODEV_E_JOURNAL_FULL;
    /* Room for the id before applying (a command applied but not
     * remembered would be applied again when resent), installed only once
     * applied (a refused command leaves the room exactly as it was). */
    if (m->seen_n == m->seen_cap && m->seen_cap < ROOM_SEEN_MAX) {
        ncap = m->seen_cap ? m->seen_cap * 2 : 8;
        if (ncap > ROOM_SEEN_MAX)
            ncap = ROOM_SEEN_MAX;
        grown = malloc(ncap * sizeof(*grown));
        if (!grown)
            return CODEV_E_INTERNAL;
    }
    r->round_moved = false;
    err = room_dispatch(r, member, cmd, now_ms);
    if (err) {
        free(grown);
        return err;
    }
    if (grown) {
        if (m->seen_n)
            memcpy(grown, m->seen, m->seen_n * sizeof(*grown));
        free(m->seen);
        m->seen = grown;
        m->seen_cap = ncap;
    }
    r->journal_bytes += cost;
    m->journal_bytes += cost;
    r->version++;
    if (m->seen_n < m->seen_cap) {
        m->seen[m->seen_n++] = (struct room_seen){.hash = hash, .seq = r->seq};
    } else {
        m->seen[m->seen_next] = (struct room_seen){.hash = hash, .seq = r->seq};
        m->seen_next = (m->seen_next + 1) % ROOM_SEEN_MAX;
    }
    if (seq)
        *seq = r->seq;
    return 0;
}

/* Returns the rules_action of command type t: its ROOM_CMD_MAP row. */
enum rules_action room_cmd_rules_action(enum room_cmd_type t)
{
    return (unsigned)t < CMD_TYPE_COUNT ? cmd_actions[t] : RULES_ACTION_COUNT;
}
