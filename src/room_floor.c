/*
 * room_floor.c - the floor, rounds (tour de table) and the speaking
 * balance of a room (see room.h for the structs, room_internal.h for the
 * calls room.c makes).
 *
 * The floor is one member at a time (r->floor_member, since
 * r->floor_since_ms). The facilitator gives it (floor_give; the target's
 * raised hand goes down) or starts a round (round_start), in which the
 * server gives it to each member of an order in turn (their raised hand
 * goes down too); the speaker ends a turn (floor_end, "J'ai terminé") or
 * passes (turn_pass); the facilitator
 * skips (round_skip) or stops (round_stop) the round. Every time a floor
 * ends, its holder's tally for the current step grows: time held, and a
 * turn or a pass. The tallies are the balance: the facilitator alone sees
 * them (EV_BALANCE, AUD_FACILITATOR; the facilitator's snapshot); everyone
 * sees who has the floor and since when (EV_FLOOR; every snapshot).
 *
 * Determinism (the store replays the journal through room_apply after a
 * restart, with nobody online and without the group's memory):
 *   - A round's order is the members eligible in the step, in member
 *     order, rotated to start after r->round_seed (the first member of the
 *     group's previous round, which the edge keeps with the group and
 *     passes in; room_round_seed_set). Eligible in a step = rules_check
 *     allows the step's own writing action to the member's role: opening
 *     checkin_post (F, K), clarification question_ask (K), consultation
 *     contribution_post (K: never the client), learning learning_post (F,
 *     C, K); never observers or removed members.
 *   - Presence decides who is skipped (offline members are passed over,
 *     TURN_ABSENT) and whether floor_give may reach its target. Neither
 *     presence nor the seed is journaled, so the journal keeps the
 *     decisions instead (room_floor_journal_form): round_start's order, as
 *     member ids in `text`; for every command that moved a round on, the
 *     round's position after it, plus one, in `card`; floor_give's
 *     presence check passed as `flag`. A command carrying these replays the
 *     decision instead of making it again; clients cannot send them (their
 *     commands do not decode those fields).
 *   - The turn budget is checked by the edge's 1 Hz tick: in auto mode it
 *     applies round_skip as the facilitator with variant 1 ("the turn
 *     expired"), journaled like any command; the room refuses that form
 *     unless the budget has run out at its instant, so a replay at the
 *     journaled instant agrees. In signal mode nothing changes: the tick
 *     carries the remaining turn time (negative once over) and the
 *     facilitator's page signals it.
 *   - A step change ends the floor and clears the round (a round belongs
 *     to its step); a member removed or made observer while speaking loses
 *     the floor (a round moves on).
 *
 * Invariants: those of room.c (pure, check then allocate then commit, one
 * sequence number per event). A round's order holds each member at most
 * once and n <= the room's members (<= ROOM_MEMBERS_HARD_MAX). When
 * floor_member >= 0 during an active round, it is order[pos] and its
 * status is TURN_SPEAKING.
 *
 * Expected load: a few floor commands a minute per room; each is
 * O(members).
 */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "room_internal.h"

/* Events one floor command appends at most: a balance, hands, the floor. */
#define FLOOR_EVENTS_MAX 3

static const char *const round_mode_names[ROUND_MODE_COUNT] = {
    [ROUND_SIGNAL] = "signal",
    [ROUND_AUTO] = "auto",
};

static const char *const turn_status_names[TURN_STATUS_COUNT] = {
    [TURN_PENDING] = "pending", [TURN_SPEAKING] = "speaking", [TURN_SPOKE] = "spoke",
    [TURN_PASSED] = "passed",   [TURN_SKIPPED] = "skipped",   [TURN_EXPIRED] = "expired",
    [TURN_ABSENT] = "absent",
};

const char *room_round_mode_name(int mode)
{
    return (unsigned)mode < ROUND_MODE_COUNT ? round_mode_names[mode] : NULL;
}

int room_round_mode_from_name(const char *name)
{
    for (int i = 0; name && i < ROUND_MODE_COUNT; i++)
        if (strcmp(round_mode_names[i], name) == 0)
            return i;
    return -1;
}

const char *room_turn_status_name(int status)
{
    return (unsigned)status < TURN_STATUS_COUNT ? turn_status_names[status] : NULL;
}

/* ---- eligibility and the order ------------------------------------------ */

/* The writing action that says who takes part in a round of step s, or
 * RULES_ACTION_COUNT when s has no rounds. */
static enum rules_action round_action(enum step s)
{
    switch (s) {
    case STEP_OPENING:
        return RULES_CHECKIN;
    case STEP_CLARIFICATION:
        return RULES_QUESTION_ASK;
    case STEP_CONSULTATION:
        return RULES_CONTRIBUTION;
    case STEP_LEARNING:
        return RULES_LEARNING;
    default:
        return RULES_ACTION_COUNT;
    }
}

/* May member m take a turn in a round of the current step (now)? */
static bool round_eligible(const struct room *r, int m)
{
    enum rules_action a = round_action(r->step);

    if (m < 0 || (size_t)m >= r->nmembers || r->members[m].removed ||
        a == RULES_ACTION_COUNT)
        return false;
    return rules_check(a, room_member_role(r, m), r->step) == 0;
}

/* Fills order with the eligible members, in member order, starting after
 * the seed (cyclically). Returns how many. */
static unsigned round_order_build(const struct room *r, int *order)
{
    unsigned n = 0;
    size_t nm = r->nmembers, start = 0;

    if (r->round_seed >= 0 && (size_t)r->round_seed < nm)
        start = (size_t)r->round_seed + 1;
    for (size_t k = 0; k < nm; k++) {
        int m = (int)((start + k) % nm);

        if (round_eligible(r, m))
            order[n++] = m;
    }
    return n;
}

/* Parses a journaled order (member ids separated by spaces) into order.
 * Returns how many, or a negative error when an id is no member, a member
 * comes twice, is not eligible now, or there are too many. */
static int round_order_parse(const struct room *r, const char *text, int *order)
{
    unsigned n = 0;
    uint64_t seen = 0;

    while (*text) {
        char id[ROOM_ID_LEN + 1];
        size_t len = strcspn(text, " ");
        int m;

        if (len == 0) {
            text++;
            continue;
        }
        if (len > ROOM_ID_LEN || n >= ROOM_MEMBERS_HARD_MAX)
            return CODEV_E_BAD_FIELD;
        memcpy(id, text, len);
        id[len] = '\0';
        text += len;
        m = room_member_find(r, id);
        if (m < 0 || (seen & (1ULL << m)) || !round_eligible(r, m))
            return CODEV_E_BAD_FIELD;
        seen |= 1ULL << m;
        order[n++] = m;
    }
    return (int)n;
}

/* The position of the next speaker of a round of n members in order,
 * searching from position from: the journaled one (cmd->card - 1) when the
 * command carries it, else the first member still eligible and online
 * (n when none: the round is over). Writes nothing. Returns 0 or
 * CODEV_E_BAD_FIELD for a journaled position that cannot be. */
static int round_next(const struct room *r, const struct room_cmd *cmd, const int *order,
                      unsigned n, unsigned from, unsigned *next)
{
    if (cmd->card) {
        unsigned p = cmd->card - 1;

        if (p < from || p > n || (p < n && !round_eligible(r, order[p])))
            return CODEV_E_BAD_FIELD;
        *next = p;
        return 0;
    }
    for (*next = from; *next < n; (*next)++)
        if (round_eligible(r, order[*next]) && r->members[order[*next]].online > 0)
            break;
    return 0;
}

/* ---- the floor itself --------------------------------------------------- */

/* Ends the current floor, if any: its holder's tally for this step grows
 * by the time held and a turn (or a pass), and EV_BALANCE goes to the
 * facilitator. The outbox must have room for one event. */
static void floor_drop(struct room *r, bool passed, int64_t now_ms)
{
    int m = r->floor_member;
    struct room_floor_tally *t;

    if (m < 0)
        return;
    t = &r->members[m].floor[r->step];
    if (now_ms > r->floor_since_ms)
        t->ms += now_ms - r->floor_since_ms;
    if (passed)
        t->passes++;
    else
        t->turns++;
    r->floor_member = -1;
    room_emit(r, EV_BALANCE, AUD_FACILITATOR, m, 0, -1, now_ms);
}

static void floor_take(struct room *r, int m, int64_t now_ms)
{
    r->floor_member = m;
    r->floor_since_ms = now_ms;
}

/* Moves an active round to position next (checked by round_next): the
 * positions passed over are marked skipped (no longer eligible) or
 * absent (offline), and order[next] gets the floor (a raised hand of
 * theirs goes down, with EV_HANDS, as with floor_give); past the end, the
 * round is over. The current speaker, if any, was dropped by the caller.
 * The outbox must have room for one event. */
static void round_move(struct room *r, unsigned from, unsigned next, int64_t now_ms)
{
    struct room_round *rd = &r->round;

    for (unsigned i = from; i < next && i < rd->n; i++)
        rd->status[i] = round_eligible(r, rd->order[i]) ? TURN_ABSENT : TURN_SKIPPED;
    rd->pos = next;
    if (next < rd->n) {
        int m = rd->order[next];

        rd->status[next] = TURN_SPEAKING;
        floor_take(r, m, now_ms);
        if (r->members[m].hand) { /* their turn answers the raised hand */
            r->members[m].hand = 0;
            room_emit(r, EV_HANDS, AUD_ALL, m, 0, -1, now_ms);
        }
    } else {
        rd->active = false;
    }
    r->round_moved = true;
}

/* Ends the current turn of an active round with status, and moves on
 * (round_next from cmd). Returns 0 or an error with nothing changed. */
static int round_advance(struct room *r, const struct room_cmd *cmd, int status,
                         int actor, int64_t now_ms)
{
    struct room_round *rd = &r->round;
    unsigned next;
    int err = round_next(r, cmd, rd->order, rd->n, rd->pos + 1, &next);

    if (err)
        return err;
    if (room_events_reserve(r, FLOOR_EVENTS_MAX))
        return CODEV_E_INTERNAL;
    if (r->floor_member >= 0) {
        rd->status[rd->pos] = (uint8_t)status;
        floor_drop(r, status == TURN_PASSED, now_ms);
    }
    round_move(r, rd->pos + 1, next, now_ms);
    room_emit(r, EV_FLOOR, AUD_ALL, actor, 0, -1, now_ms);
    return 0;
}

/* ---- the commands --------------------------------------------------------- */

/* floor_give: the facilitator gives the floor to a participant who is
 * connected (journaled with flag set: checked live), outside a round. */
static int cmd_floor_give(struct room *r, int member, const struct room_cmd *cmd,
                          int64_t now_ms)
{
    int t = room_member_find(r, cmd->target);
    enum role role;

    if (t < 0)
        return CODEV_E_UNKNOWN_MEMBER;
    role = room_member_role(r, t);
    if (role == ROLE_OBSERVER || (role == ROLE_CLIENT && r->step == STEP_CONSULTATION))
        return CODEV_E_BAD_TARGET;
    if (r->round.active)
        return CODEV_E_ROUND_ACTIVE;
    if (r->floor_member == t)
        return CODEV_E_ALREADY_DONE;
    if (!cmd->flag && r->members[t].online <= 0)
        return CODEV_E_MEMBER_OFFLINE;
    if (room_events_reserve(r, FLOOR_EVENTS_MAX))
        return CODEV_E_INTERNAL;
    floor_drop(r, false, now_ms);
    floor_take(r, t, now_ms);
    if (r->members[t].hand) {
        r->members[t].hand = 0;
        room_emit(r, EV_HANDS, AUD_ALL, t, 0, -1, now_ms);
    }
    room_emit(r, EV_FLOOR, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

/* floor_end: the speaker ("J'ai terminé") or the facilitator ends the
 * floor; in a round, the next member gets it. */
static int cmd_floor_end(struct room *r, int member, const struct room_cmd *cmd,
                         int64_t now_ms)
{
    if (r->floor_member < 0)
        return CODEV_E_NO_FLOOR;
    if (member != r->floor_member && member != r->facilitator)
        return CODEV_E_NOT_SPEAKER;
    if (r->round.active)
        return round_advance(r, cmd, TURN_SPOKE, member, now_ms);
    if (room_events_reserve(r, FLOOR_EVENTS_MAX))
        return CODEV_E_INTERNAL;
    floor_drop(r, false, now_ms);
    room_emit(r, EV_FLOOR, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

/* round_start: the facilitator starts a round in this step (the rules
 * allow only the steps with rounds), with an optional turn budget. */
static int cmd_round_start(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms)
{
    int order[ROOM_MEMBERS_HARD_MAX];
    int n;
    unsigned first;
    int err;

    if (r->round.active)
        return CODEV_E_ROUND_ACTIVE;
    if (cmd->seconds != 0 &&
        (cmd->seconds < ROOM_TURN_MIN_S || cmd->seconds > ROOM_TURN_MAX_S))
        return CODEV_E_BAD_DURATION;
    if (cmd->variant == ROUND_AUTO && cmd->seconds == 0)
        return CODEV_E_BAD_DURATION; /* moving on needs a budget to run out */
    if ((unsigned)cmd->variant >= ROUND_MODE_COUNT)
        return CODEV_E_BAD_FIELD;
    n = cmd->text ? round_order_parse(r, cmd->text, order)
                  : (int)round_order_build(r, order);
    if (n < 0)
        return n;
    if (n == 0)
        return CODEV_E_ROUND_EMPTY;
    err = round_next(r, cmd, order, (unsigned)n, 0, &first);
    if (err)
        return err;
    if (first >= (unsigned)n)
        return CODEV_E_ROUND_EMPTY;
    if (room_events_reserve(r, FLOOR_EVENTS_MAX))
        return CODEV_E_INTERNAL;
    floor_drop(r, false, now_ms);
    memset(&r->round, 0, sizeof(r->round));
    r->round.active = true;
    r->round.step = r->step;
    r->round.mode = cmd->variant;
    r->round.turn_ms = cmd->seconds * 1000;
    r->round.started_ms = now_ms;
    r->round.n = (unsigned)n;
    memcpy(r->round.order, order, (size_t)n * sizeof(order[0]));
    r->round_seed = order[0];
    round_move(r, 0, first, now_ms);
    room_emit(r, EV_FLOOR, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

/* turn_pass: the speaker of a round passes. */
static int cmd_turn_pass(struct room *r, int member, const struct room_cmd *cmd,
                         int64_t now_ms)
{
    if (!r->round.active)
        return CODEV_E_NO_ROUND;
    if (member != r->floor_member)
        return CODEV_E_NOT_SPEAKER;
    return round_advance(r, cmd, TURN_PASSED, member, now_ms);
}

/* round_skip: the facilitator moves the round on; variant 1 is the
 * server's own "the turn budget ran out", refused before it has. */
static int cmd_round_skip(struct room *r, int member, const struct room_cmd *cmd,
                          int64_t now_ms)
{
    if (!r->round.active)
        return CODEV_E_NO_ROUND;
    if (cmd->variant != 0 && !room_floor_turn_due(r, now_ms))
        return CODEV_E_BAD_FIELD;
    return round_advance(r, cmd, cmd->variant ? TURN_EXPIRED : TURN_SKIPPED, member,
                         now_ms);
}

/* round_stop: the facilitator ends the round (the speaker's turn counts
 * as taken; the members not reached stay pending). */
static int cmd_round_stop(struct room *r, int member, int64_t now_ms)
{
    if (!r->round.active)
        return CODEV_E_NO_ROUND;
    if (room_events_reserve(r, FLOOR_EVENTS_MAX))
        return CODEV_E_INTERNAL;
    if (r->floor_member >= 0) {
        r->round.status[r->round.pos] = TURN_SPOKE;
        floor_drop(r, false, now_ms);
    }
    r->round.active = false;
    room_emit(r, EV_FLOOR, AUD_ALL, member, 0, -1, now_ms);
    return 0;
}

int room_floor_dispatch(struct room *r, int member, const struct room_cmd *cmd,
                        int64_t now_ms)
{
    switch (cmd->type) {
    case CMD_FLOOR_GIVE:
        return cmd_floor_give(r, member, cmd, now_ms);
    case CMD_FLOOR_END:
        return cmd_floor_end(r, member, cmd, now_ms);
    case CMD_ROUND_START:
        return cmd_round_start(r, member, cmd, now_ms);
    case CMD_TURN_PASS:
        return cmd_turn_pass(r, member, cmd, now_ms);
    case CMD_ROUND_SKIP:
        return cmd_round_skip(r, member, cmd, now_ms);
    case CMD_ROUND_STOP:
        return cmd_round_stop(r, member, now_ms);
    default:
        return CODEV_E_UNKNOWN_TYPE;
    }
}

/* ---- what other commands do to the floor ------------------------------------- */

void room_floor_leave_step(struct room *r, int actor, int64_t now_ms)
{
    bool had = r->floor_member >= 0 || r->round.n > 0;

    floor_drop(r, false, now_ms);
    memset(&r->round, 0, sizeof(r->round));
    if (had)
        room_emit(r, EV_FLOOR, AUD_ALL, actor, 0, -1, now_ms);
}

int room_floor_member_gone_check(const struct room *r, const struct room_cmd *cmd, int t)
{
    unsigned next;

    if (t != r->floor_member || !r->round.active)
        return 0;
    /* As if t were already gone: round_eligible reads the room, and t is
     * at pos, before the positions searched. */
    return round_next(r, cmd, r->round.order, r->round.n, r->round.pos + 1, &next);
}

void room_floor_member_gone(struct room *r, const struct room_cmd *cmd, int t, int actor,
                            int64_t now_ms)
{
    unsigned next = 0;

    if (t != r->floor_member)
        return;
    if (!r->round.active) {
        floor_drop(r, false, now_ms);
        room_emit(r, EV_FLOOR, AUD_ALL, actor, 0, -1, now_ms);
        return;
    }
    /* Checked by room_floor_member_gone_check before anything changed. */
    (void)round_next(r, cmd, r->round.order, r->round.n, r->round.pos + 1, &next);
    r->round.status[r->round.pos] = TURN_SKIPPED;
    floor_drop(r, false, now_ms);
    round_move(r, r->round.pos + 1, next, now_ms);
    room_emit(r, EV_FLOOR, AUD_ALL, actor, 0, -1, now_ms);
}

/* ---- for the edges ---------------------------------------------------------- */

void room_round_seed_set(struct room *r, const char *member_id)
{
    if (r)
        r->round_seed = member_id && *member_id ? room_member_find(r, member_id) : -1;
}

bool room_floor_turn_due(const struct room *r, int64_t now_ms)
{
    return r && r->round.active && r->round.turn_ms > 0 && r->floor_member >= 0 &&
           now_ms - r->floor_since_ms >= r->round.turn_ms;
}

bool room_floor_turn_auto_due(const struct room *r, int64_t now_ms)
{
    return room_floor_turn_due(r, now_ms) && r->round.mode == ROUND_AUTO &&
           r->step != STEP_CLOSED;
}

void room_floor_journal_form(const struct room *r, struct room_cmd *cmd, char *buf,
                             size_t cap)
{
    if (cmd->type == CMD_FLOOR_GIVE)
        cmd->flag = true;
    if (cmd->type == CMD_ROUND_START && cap > 0) {
        size_t len = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < r->round.n; i++) {
            int w = snprintf(buf + len, cap - len, "%s%s", i ? " " : "",
                             r->members[r->round.order[i]].id);
            if (w < 0 || (size_t)w >= cap - len)
                break;
            len += (size_t)w;
        }
        cmd->text = buf;
    }
    if (r->round_moved)
        cmd->card = r->round.pos + 1;
}
