/*
 * rules.h - who may do what in which step: the permission table of
 * DESIGN.md section 3, as data.
 *
 * The table lives in rules.c and nowhere else; proto/README.md mirrors it
 * (the rules table of section 2.3, one row per command) and test_rules
 * checks every action x role x step against an independent transcription,
 * and every command x role x step against that README table. Pure: libc only, no state.
 */
#ifndef CODEV_RULES_H
#define CODEV_RULES_H

#include <stdbool.h>

enum step {
    STEP_OPENING,
    STEP_TOPIC,
    STEP_EXPOSE,
    STEP_CLARIFICATION,
    STEP_CONTRACT,
    STEP_CONSULTATION,
    STEP_SYNTHESIS,
    STEP_LEARNING,
    STEP_CLOSED,
    STEP_COUNT
};

enum role { ROLE_FACILITATOR, ROLE_CLIENT, ROLE_CONSULTANT, ROLE_OBSERVER, ROLE_COUNT };

/* Every command a member can send to a room maps to one action. */
enum rules_action {
    RULES_STEP_MOVE,       /* step_next, step_prev, consultation_new */
    RULES_TIMER,           /* timer_start, timer_pause, timer_add, timer_set */
    RULES_CLIENT_ASSIGN,   /* client_assign */
    RULES_HANDOVER,        /* facilitator_handover */
    RULES_MEMBER_REMOVE,   /* member_remove */
    RULES_ROLE_SET,        /* role_set (observer on/off) */
    RULES_SESSION_CLOSE,   /* session_close */
    RULES_CHECKIN,         /* checkin_post */
    RULES_TOPIC_PROPOSE,   /* topic_propose */
    RULES_PROBLEM_SET,     /* problem_set */
    RULES_QUESTION_ASK,    /* question_ask */
    RULES_QUESTION_ANSWER, /* question_answer */
    RULES_QUESTION_FLAG,   /* question_flag */
    RULES_REFORMULATION,   /* reformulation_post */
    RULES_CONTRACT_SET,    /* contract_set */
    RULES_CONTRACT_ACK,    /* contract_ack */
    RULES_CONTRIBUTION,    /* contribution_post */
    RULES_MARK,            /* mark_set */
    RULES_RECADRAGE,       /* recadrage */
    RULES_ACTION_WRITE,    /* action_add, action_remove */
    RULES_LEARNING,        /* learning_post */
    RULES_DEBRIEF,         /* debrief_post (plus: only the earlier client) */
    RULES_HAND,            /* hand_raise, hand_lower (own hand) */
    RULES_NOTE,            /* note_post */
    RULES_COFACILITATOR,   /* cofacilitator_set */
    RULES_RECLAIM,         /* facilitator_reclaim (plus: only the facilitator who
                              was away) */
    RULES_FLOOR_GIVE,      /* floor_give */
    RULES_FLOOR_END,       /* floor_end (plus: the speaker or the facilitator) */
    RULES_ROUND,           /* round_start, round_skip, round_stop */
    RULES_TURN_PASS,       /* turn_pass (plus: the speaker of a round) */
    RULES_RECADRAGE_ACK,   /* recadrage_ack */
    RULES_CARD_OWN,        /* card_edit, card_withdraw (plus: only the author, only
                              while the card's step runs) */
    RULES_ACTION_COUNT
};

/*
 * Returns 0 when role may perform action in step, else the error, checked
 * in this order:
 *   step closed (every action)                  -> CODEV_E_SESSION_CLOSED
 *   observer, any action but a note             -> CODEV_E_OBSERVER_READ_ONLY
 *   facilitator-only action, other role         -> CODEV_E_NOT_FACILITATOR
 *   client in consultation, action not allowed  -> CODEV_E_CLIENT_MUTED
 *   role never allowed this action              -> CODEV_E_NOT_YOUR_ROLE
 *   role allowed, but not in this step          -> CODEV_E_WRONG_STEP
 * Conditions that depend on room state (the earlier client, the author of a
 * card) are checked by room.c after this.
 */
int rules_check(enum rules_action action, enum role role, enum step step);

/* Wire names: "opening" ... "closed"; "facilitator" ... "observer". Static
 * strings; NULL for a value out of range. */
const char *step_name(enum step s);
const char *role_name(enum role r);

/* Returns the step named name, or -1. */
int step_from_name(const char *name);

#endif
