/*
 * room_internal.h - what the three files of the room share (room.h is the
 * room's interface; this is not): room.c (room_apply, its checks and the
 * commands of steps, the clock, the facilitator's powers and hands),
 * room_cards.c (the commands that write cards and texts) and room_model.c
 * (creating a room, members and debriefs, visibility, queries, wire
 * names). Only these three include it.
 *
 * Invariants: those of room.c's opening comment, for all three files. Pure:
 * libc only, like room.h. The card commands are called by room_dispatch()
 * only, after the sender, the rules and the consultation were checked; like
 * every command they check, then allocate, then commit.
 */
#ifndef CODEV_ROOM_INTERNAL_H
#define CODEV_ROOM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "room.h"

/* ---- helpers (room.c) ------------------------------------------------- */

/* Makes room in the outbox for n more events. Returns 0 or
 * CODEV_E_INTERNAL. Called after a command's checks, before its first
 * write, so that room_emit() cannot fail half-way through a change. */
int room_events_reserve(struct room *r, size_t n);

/* Appends an event with the next sequence number. The outbox must have been
 * reserved (room_events_reserve). */
void room_emit(struct room *r, enum room_event_type type, enum room_audience audience,
               int member, uint32_t card, int index, int64_t now_ms);

/* Checks a text a member writes: CODEV_E_TEXT_EMPTY when NULL or only white
 * space, CODEV_E_TEXT_TOO_LONG over max_chars code points, else 0. */
int room_text_check(const char *text, uint32_t max_chars);

/* Checks the optional "by when" of an action. Sets *has_due to false for
 * NULL, empty or blank (no due date), else to true. Returns 0, or
 * CODEV_E_TEXT_TOO_LONG over ROOM_DUE_MAX_CHARS code points. */
int room_due_check(const char *due, bool *has_due);

/* Checks the optional first step ("premier pas") of an action like
 * room_due_check, up to ROOM_FIRST_STEP_MAX_CHARS code points. */
int room_first_step_check(const char *first_step, bool *has_step);

/* Checks that the room may take add_items more items and hold new_bytes
 * instead of old_bytes: CODEV_E_ROOM_FULL past limits.items_max or
 * limits.bytes_max (0: no limit), else 0. A text that shrinks always fits. */
/* Would member, at used of a budget of max, be past its share of it
 * (limits.member_share; never the facilitator, never with max 0)? */
bool room_share_over(const struct room *r, int member, uint64_t used, uint64_t max);

int room_budget_check(const struct room *r, size_t add_items, size_t old_bytes,
                      size_t new_bytes);

/* Checks that a text written for the writes+1-th time is within
 * limits.rewrites_max (the first write is no rewrite; 0: no limit). */
int room_rewrite_check(const struct room *r, uint32_t writes);

/* Returns the index of the current consultation, or -1 before the first. */
int room_consultation_index(const struct room *r);

/* Returns the current consultation for writing, or NULL before the first. */
struct room_consultation *room_consultation_mut(struct room *r);

/* Returns the client of the current consultation (whatever the step), or -1
 * when there is no consultation or no client yet. */
int room_client_current(const struct room *r);

/* Returns card id for writing when it exists, has the given type and
 * belongs to the current consultation; else NULL. */
struct room_card *room_card_of(struct room *r, uint32_t id, enum room_card_type type);

/* ---- the card and text commands (room_cards.c) ------------------------ */

/*
 * Posts a card of the given type from member: checks the variant (kind or
 * dimension), the text, the due date and first step (actions) and the
 * member's card count
 * for this step, then appends the card (copying the strings) and emits
 * EV_CARD_ADDED, to the author alone for a private note.
 */
int room_card_post(struct room *r, int member, enum room_card_type type,
                   const struct room_cmd *cmd, int64_t now_ms);

/* problem_set and contract_set: the client writes or rewrites the problem
 * statement or the contract; a new contract clears the acknowledgements. */
int room_cmd_long_text_set(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms);

/* contract_ack: a consultant confirms it can help with the contract. */
int room_cmd_contract_ack(struct room *r, int member, int64_t now_ms);

/* question_answer: the client answers (or re-answers) a question of the
 * current consultation. */
int room_cmd_question_answer(struct room *r, int member, const struct room_cmd *cmd,
                             int64_t now_ms);

/* question_flag: the facilitator flags a question as advice in disguise, or
 * clears the flag. */
int room_cmd_question_flag(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms);

/* mark_set: the client marks a contribution "à retenir" or clears the mark;
 * the event goes to the client alone. */
int room_cmd_mark_set(struct room *r, int member, const struct room_cmd *cmd,
                      int64_t now_ms);

/* recadrage: the client signals that the talk drifts from the contract; the
 * client and the facilitator see it. */
int room_cmd_recadrage(struct room *r, int member, int64_t now_ms);

/* recadrage_ack: the facilitator acknowledges the pending refocus signals
 * of the current consultation (ALREADY_DONE when none is pending); the
 * client and the facilitator see it. */
int room_cmd_recadrage_ack(struct room *r, int member, int64_t now_ms);

/* card_edit and card_withdraw: the author of a card corrects its text or
 * withdraws it, only while the card's step (of this consultation) runs.
 * Refusals: UNKNOWN_CARD, NOT_AUTHOR, CARD_WITHDRAWN, CARD_STEP_OVER, then
 * (edit) the text checks, ALREADY_DONE for the same text,
 * TOO_MANY_REWRITES, ROOM_FULL. EV_CARD_UPDATED, to the author alone for
 * a private note. */
int room_cmd_card_edit(struct room *r, int member, const struct room_cmd *cmd,
                       int64_t now_ms);
int room_cmd_card_withdraw(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms);

/* retain_set: the client writes or rewrites what they retain from the
 * consultation ("ce que je retiens"), one text per consultation, within
 * long_text_max_chars and rewrites_max; everyone sees it (EV_RETAINED). */
int room_cmd_retain_set(struct room *r, int member, const struct room_cmd *cmd,
                        int64_t now_ms);

/* action_remove: the client withdraws an item of the current action plan.
 * The card stays (ids are never reused) with removed set. */
int room_cmd_action_remove(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms);

/* debrief_post: the earlier client reports on one item of an earlier plan:
 * an outcome and an optional comment, both replacing any earlier report. */
int room_cmd_debrief_post(struct room *r, int member, const struct room_cmd *cmd,
                          int64_t now_ms);

/* ---- the floor, rounds and balance (room_floor.c) ------------------------ */

/* floor_give, floor_end, round_start, turn_pass, round_skip, round_stop:
 * the state checks and the change of one of them (sender and rules
 * checked). Returns 0 or the error, with nothing changed. */
int room_floor_dispatch(struct room *r, int member, const struct room_cmd *cmd,
                        int64_t now_ms);

/* A step change (the room still in the step being left): ends the floor
 * (EV_BALANCE) and clears the round, with one EV_FLOOR when there was
 * either. The outbox must have room for two events. */
void room_floor_leave_step(struct room *r, int actor, int64_t now_ms);

/* Member t is about to be removed or made observer by cmd: returns 0 when
 * room_floor_member_gone may follow, or the error of a journaled round
 * position that cannot be (replay). Writes nothing. */
int room_floor_member_gone_check(const struct room *r, const struct room_cmd *cmd, int t);

/* Member t was removed or made observer: if t had the floor it ends (a
 * round moves on, t's turn skipped; the next speaker's raised hand goes
 * down), with EV_BALANCE, EV_HANDS and EV_FLOOR. The outbox must have room
 * for three events. */
void room_floor_member_gone(struct room *r, const struct room_cmd *cmd, int t, int actor,
                            int64_t now_ms);

#endif
