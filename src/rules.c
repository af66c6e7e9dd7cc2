/*
 * rules.c - the permission table of DESIGN.md section 3, as data (see
 * rules.h).
 *
 * One row per rules_action: the roles that may ever perform it, the steps
 * in which it is allowed, and two flags that decide which error a refusal
 * gets. rules_check() reads the row and walks the checks in the order
 * rules.h documents; nothing else in codevd decides who may do what (room.c
 * adds only the checks that need room state, such as "the earlier client").
 *
 * Invariants:
 *   - The table has exactly RULES_ACTION_COUNT rows, in enum order; the
 *     designated initializers keep a row next to its action's name.
 *   - Steps are per action, not per role: every role listed for an action
 *     may perform it in every step listed for it. The permission table of
 *     DESIGN.md never needs more.
 *   - No row lists STEP_CLOSED, so "closed refuses everything" (a private
 *     note too: the session's journal is finalized at close, and a note
 *     written after it would reach no export) is a property of the data.
 *   - Whether observers may act is the ROLE_OBSERVER bit of the roles mask.
 *
 * Pure: libc only, no state. Expected load: one rules_check per command,
 * O(1).
 */
#include "rules.h"

#include <stdint.h>
#include <string.h>

#include "errors.h"

#define R_F (1u << ROLE_FACILITATOR)
#define R_C (1u << ROLE_CLIENT)
#define R_K (1u << ROLE_CONSULTANT)
#define R_O (1u << ROLE_OBSERVER)

#define S_OPENING       (1u << STEP_OPENING)
#define S_TOPIC         (1u << STEP_TOPIC)
#define S_EXPOSE        (1u << STEP_EXPOSE)
#define S_CLARIFICATION (1u << STEP_CLARIFICATION)
#define S_CONTRACT      (1u << STEP_CONTRACT)
#define S_CONSULTATION  (1u << STEP_CONSULTATION)
#define S_SYNTHESIS     (1u << STEP_SYNTHESIS)
#define S_LEARNING      (1u << STEP_LEARNING)
#define S_CLOSED        (1u << STEP_CLOSED)
/* Every step of a session that is still open. */
#define S_OPEN                                                                           \
    (S_OPENING | S_TOPIC | S_EXPOSE | S_CLARIFICATION | S_CONTRACT | S_CONSULTATION |    \
     S_SYNTHESIS | S_LEARNING)

/* The steps where a tour de table makes sense (room_floor.c). */
#define S_ROUND (S_OPENING | S_CLARIFICATION | S_CONSULTATION | S_LEARNING)

struct rules_row {
    uint8_t roles;         /* bit per enum role: who may ever do it */
    uint16_t steps;        /* bit per enum step: when it is allowed */
    bool facilitator_only; /* others get NOT_FACILITATOR, not NOT_YOUR_ROLE */
    bool while_muted;      /* the client may do it during consultation */
};

static const struct rules_row rules_table[RULES_ACTION_COUNT] = {
    [RULES_STEP_MOVE] = {R_F, S_OPEN, true, false},
    [RULES_TIMER] = {R_F, S_OPEN, true, false},
    [RULES_CLIENT_ASSIGN] = {R_F, S_TOPIC, true, false},
    [RULES_HANDOVER] = {R_F, S_OPEN, true, false},
    [RULES_MEMBER_REMOVE] = {R_F, S_OPEN, true, false},
    [RULES_ROLE_SET] = {R_F, S_OPEN, true, false},
    [RULES_SESSION_CLOSE] = {R_F, S_OPEN, true, false},
    [RULES_CHECKIN] = {R_F | R_K, S_OPENING, false, false},
    [RULES_TOPIC_PROPOSE] = {R_F | R_C | R_K, S_TOPIC, false, false},
    [RULES_PROBLEM_SET] = {R_C, S_EXPOSE | S_CLARIFICATION, false, false},
    [RULES_QUESTION_ASK] = {R_K, S_CLARIFICATION, false, false},
    [RULES_QUESTION_ANSWER] = {R_C, S_CLARIFICATION, false, false},
    [RULES_QUESTION_FLAG] = {R_F, S_CLARIFICATION, true, false},
    [RULES_REFORMULATION] = {R_K, S_CONTRACT, false, false},
    [RULES_CONTRACT_SET] = {R_C, S_CONTRACT, false, false},
    [RULES_CONTRACT_ACK] = {R_K, S_CONTRACT, false, false},
    [RULES_CONTRIBUTION] = {R_K, S_CONSULTATION, false, false},
    [RULES_MARK] = {R_C, S_CONSULTATION | S_SYNTHESIS, false, true},
    [RULES_RECADRAGE] = {R_C, S_CONSULTATION, false, true},
    [RULES_ACTION_WRITE] = {R_C, S_SYNTHESIS, false, false},
    [RULES_LEARNING] = {R_F | R_C | R_K, S_LEARNING, false, false},
    [RULES_DEBRIEF] = {R_F | R_K, S_OPENING, false, false},
    [RULES_HAND] = {R_C | R_K, S_OPEN, false, false},
    [RULES_NOTE] = {R_F | R_C | R_K | R_O, S_OPEN, false, true},
    [RULES_COFACILITATOR] = {R_F, S_OPEN, true, false},
    [RULES_RECLAIM] = {R_K, S_OPEN, false, false},
    [RULES_FLOOR_GIVE] = {R_F, S_OPEN, true, false},
    [RULES_FLOOR_END] = {R_F | R_C | R_K, S_OPEN, false, false},
    [RULES_ROUND] = {R_F, S_ROUND, true, false},
    [RULES_TURN_PASS] = {R_F | R_C | R_K, S_ROUND, false, false},
    [RULES_RECADRAGE_ACK] = {R_F, S_CONSULTATION, true, false},
    /* Whoever wrote a card may correct or withdraw it while its step runs
     * (room_cards.c checks the author and the step): the client listening
     * in consultation may still fix a private note. Observers only read
     * and keep notes, as everywhere else. */
    [RULES_CARD_OWN] = {R_F | R_C | R_K, S_OPEN, false, true},
};

static const char *const step_names[STEP_COUNT] = {
    [STEP_OPENING] = "opening",     [STEP_TOPIC] = "topic",
    [STEP_EXPOSE] = "expose",       [STEP_CLARIFICATION] = "clarification",
    [STEP_CONTRACT] = "contract",   [STEP_CONSULTATION] = "consultation",
    [STEP_SYNTHESIS] = "synthesis", [STEP_LEARNING] = "learning",
    [STEP_CLOSED] = "closed",
};

static const char *const role_names[ROLE_COUNT] = {
    [ROLE_FACILITATOR] = "facilitator",
    [ROLE_CLIENT] = "client",
    [ROLE_CONSULTANT] = "consultant",
    [ROLE_OBSERVER] = "observer",
};

/* Returns 0 when role may perform action in step, else the first failing
 * check in the order of rules.h. Values outside their enums are a caller's
 * bug and get CODEV_E_INTERNAL rather than a crash. */
int rules_check(enum rules_action action, enum role role, enum step step)
{
    const struct rules_row *row;

    if ((unsigned)action >= RULES_ACTION_COUNT || (unsigned)role >= ROLE_COUNT ||
        (unsigned)step >= STEP_COUNT)
        return CODEV_E_INTERNAL;
    row = &rules_table[action];
    if (step == STEP_CLOSED && !(row->steps & S_CLOSED))
        return CODEV_E_SESSION_CLOSED;
    if (role == ROLE_OBSERVER && !(row->roles & R_O))
        return CODEV_E_OBSERVER_READ_ONLY;
    if (row->facilitator_only && role != ROLE_FACILITATOR)
        return CODEV_E_NOT_FACILITATOR;
    if (role == ROLE_CLIENT && step == STEP_CONSULTATION && !row->while_muted)
        return CODEV_E_CLIENT_MUTED;
    if (!(row->roles & (1u << role)))
        return CODEV_E_NOT_YOUR_ROLE;
    if (!(row->steps & (1u << step)))
        return CODEV_E_WRONG_STEP;
    return 0;
}

/* Returns the wire name of s (a static string), or NULL out of range. */
const char *step_name(enum step s)
{
    return (unsigned)s < STEP_COUNT ? step_names[s] : NULL;
}

/* Returns the wire name of r (a static string), or NULL out of range. */
const char *role_name(enum role r)
{
    return (unsigned)r < ROLE_COUNT ? role_names[r] : NULL;
}

/* Returns the step whose wire name is name, or -1 (also for NULL). */
int step_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < STEP_COUNT; i++)
        if (strcmp(step_names[i], name) == 0)
            return i;
    return -1;
}
