/*
 * room_cards.c - the commands that write cards and texts: posting a card
 * (check-in, topic, question, reformulation, contribution, action,
 * learning, note), the problem and the contract and their rewrites,
 * answers, flags, "à retenir" marks, recadrage and its acknowledgement,
 * removing an action, debriefing an earlier one, and an author's
 * corrections and withdrawals of its own cards (see room.h,
 * room_internal.h).
 *
 * Invariants: room.c's. Each function here is called by room_dispatch()
 * only, once the sender, rules_check and the consultation were checked; it
 * runs its own state checks, then allocates, then commits, and a refusal
 * changes nothing. Every text counts against the session budget
 * (r->items, r->bytes, r->journal_bytes) and its write count.
 *
 * Pure: libc only. Expected load: a handful of commands per second per
 * room; each is O(members + cards) at worst.
 */
#include "room_internal.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"

/* ---- cards -------------------------------------------------------------- */

/*
 * Posts a card of the given type from member: checks the variant (kind or
 * dimension), the text, the due date (actions) and the member's card count
 * for this step, then appends the card (copying the strings) and emits
 * EV_CARD_ADDED, to the author alone for a private note. A question gets
 * advice_check's verdict; a note posted by question_park is marked parked.
 */
int room_card_post(struct room *r, int member, enum room_card_type type,
                   const struct room_cmd *cmd, int64_t now_ms)
{
    struct room_member *m = &r->members[member];
    struct room_card *card;
    struct advice_result verdict = {false, NULL, NULL};
    char *text = NULL, *due = NULL;
    bool has_due = false;
    int variant = 0;
    size_t bytes;
    int err;

    if (type == CARD_CONTRIBUTION || type == CARD_LEARNING) {
        int count = type == CARD_CONTRIBUTION ? (int)KIND_COUNT : (int)DIM_COUNT;

        if (cmd->variant < 0 || cmd->variant >= count)
            return CODEV_E_BAD_FIELD;
        variant = cmd->variant;
    }
    err = room_text_check(cmd->text, r->limits.text_max_chars);
    if (err)
        return err;
    if (type == CARD_ACTION) {
        err = room_due_check(cmd->due, &has_due);
        if (err)
            return err;
    }
    if (m->step_cards >= r->limits.cards_per_step)
        return CODEV_E_TOO_MANY_CARDS;
    bytes = ROOM_CARD_OVERHEAD + room_json_len(cmd->text) +
            (has_due ? room_json_len(cmd->due) : 0);
    err = room_budget_check(r, 1, 0, bytes);
    if (!err &&
        (room_share_over(r, member, (uint64_t)m->items + 1, r->limits.items_max) ||
         room_share_over(r, member, m->bytes + bytes, r->limits.bytes_max)))
        err = CODEV_E_ROOM_FULL; /* this member's share of the session is used */
    if (err)
        return err;

    err = CODEV_E_INTERNAL;
    if (r->ncards >= UINT32_MAX || room_events_reserve(r, 1) ||
        array_grow((void **)&r->cards, &r->cards_cap, r->ncards + 1, sizeof(*r->cards)))
        goto out;
    text = strdup(cmd->text);
    if (has_due)
        due = strdup(cmd->due);
    if (!text || (has_due && !due))
        goto out;

    if (type == CARD_QUESTION)
        advice_check(cmd->text, strlen(cmd->text), ADVICE_LANG_ANY, &verdict);
    card = &r->cards[r->ncards];
    *card = (struct room_card){
        .id = (uint32_t)r->ncards + 1,
        .type = type,
        .author = member,
        .consultation = room_consultation_index(r),
        .step = r->step,
        .created_ms = now_ms,
        .text = text,
        .variant = variant,
        .due = due,
        .advice_like = verdict.advice_like,
        .advice_cue = verdict.cue,
        .advice_lang = verdict.lang,
        .parked = type == CARD_NOTE && cmd->type == CMD_QUESTION_PARK,
    };
    text = due = NULL;
    r->ncards++;
    r->items++;
    r->bytes += bytes;
    m->items++;
    m->bytes += bytes;
    m->step_cards++;
    room_emit(r, EV_CARD_ADDED, type == CARD_NOTE ? AUD_MEMBER : AUD_ALL, member,
              card->id, card->consultation, now_ms);
    err = 0;
out:
    free(text);
    free(due);
    return err;
}

/* question_check: see room.h. Checks as room_apply and room_card_post would
 * for a question_ask (without the per-step card count: a check posts
 * nothing), then asks advice.c. */
int room_question_check(const struct room *r, int member, const char *text,
                        struct advice_result *out)
{
    int err;

    if (!r || !out)
        return CODEV_E_INTERNAL;
    if (member < 0 || (size_t)member >= r->nmembers)
        return CODEV_E_UNKNOWN_MEMBER;
    if (r->members[member].removed)
        return CODEV_E_MEMBER_REMOVED;
    err = rules_check(room_cmd_rules_action(CMD_QUESTION_CHECK),
                      room_member_role(r, member), r->step);
    if (!err)
        err = room_text_check(text, r->limits.text_max_chars);
    if (err)
        return err;
    return advice_check(text, strlen(text), ADVICE_LANG_ANY, out) ? CODEV_E_INTERNAL : 0;
}

/* Checks that *slot, written *writes times so far, may be replaced by text
 * (already checked for length): the rewrite limit, then the room's byte
 * budget. Returns 0, CODEV_E_TOO_MANY_REWRITES or CODEV_E_ROOM_FULL. */
static int room_text_replace_check(const struct room *r, char *const *slot,
                                   const char *text, uint32_t writes)
{
    int err = room_rewrite_check(r, writes);

    if (err)
        return err;
    return room_budget_check(r, 0, room_json_len(*slot), room_json_len(text));
}

/* Replaces *slot (owned) with a copy of text (NULL: no text), every check
 * having passed; counts the write and the bytes. Returns 0 or
 * CODEV_E_INTERNAL with nothing changed. */
static int room_text_replace(struct room *r, char **slot, const char *text,
                             uint32_t *writes)
{
    char *copy = NULL;

    if (text && !(copy = strdup(text)))
        return CODEV_E_INTERNAL;
    r->bytes = r->bytes - room_json_len(*slot) + room_json_len(copy);
    free(*slot);
    *slot = copy;
    (*writes)++;
    return 0;
}

/* problem_set and contract_set: the client writes or rewrites the problem
 * statement or the contract; a new contract clears the acknowledgements. */
int room_cmd_long_text_set(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms)
{
    struct room_consultation *c = room_consultation_mut(r);
    bool contract = cmd->type == CMD_CONTRACT_SET;
    char **slot = contract ? &c->contract : &c->problem;
    uint32_t *writes = contract ? &c->contract_writes : &c->problem_writes;
    int err = room_text_check(cmd->text, r->limits.long_text_max_chars);

    if (!err)
        err = room_text_replace_check(r, slot, cmd->text, *writes);
    if (err)
        return err;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    err = room_text_replace(r, slot, cmd->text, writes);
    if (err)
        return err;
    if (contract)
        c->acks = 0;
    room_emit(r, contract ? EV_CONTRACT : EV_PROBLEM, AUD_ALL, member, 0,
              room_consultation_index(r), now_ms);
    return 0;
}

/* contract_ack: a consultant confirms it can help with the contract. */
int room_cmd_contract_ack(struct room *r, int member, int64_t now_ms)
{
    struct room_consultation *c = room_consultation_mut(r);

    if (!c->contract)
        return CODEV_E_NO_CONTRACT;
    if (c->acks & (1ULL << member))
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    c->acks |= 1ULL << member;
    room_emit(r, EV_CONTRACT_ACK, AUD_ALL, member, 0, room_consultation_index(r), now_ms);
    return 0;
}

/* question_answer: the client answers (or re-answers) a question of the
 * current consultation. */
int room_cmd_question_answer(struct room *r, int member, const struct room_cmd *cmd,
                             int64_t now_ms)
{
    struct room_card *card = room_card_of(r, cmd->card, CARD_QUESTION);
    int err;

    if (!card)
        return CODEV_E_UNKNOWN_CARD;
    if (card->withdrawn)
        return CODEV_E_CARD_WITHDRAWN;
    err = room_text_check(cmd->text, r->limits.text_max_chars);
    if (!err)
        err = room_text_replace_check(r, &card->answer, cmd->text, card->answer_writes);
    if (err)
        return err;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    err = room_text_replace(r, &card->answer, cmd->text, &card->answer_writes);
    if (err)
        return err;
    room_emit(r, EV_CARD_UPDATED, AUD_ALL, member, card->id, card->consultation, now_ms);
    return 0;
}

/* question_flag: the facilitator flags a question as advice in disguise, or
 * clears the flag. */
int room_cmd_question_flag(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms)
{
    struct room_card *card = room_card_of(r, cmd->card, CARD_QUESTION);

    if (!card)
        return CODEV_E_UNKNOWN_CARD;
    if (card->withdrawn)
        return CODEV_E_CARD_WITHDRAWN;
    if (card->flagged == cmd->flag)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    card->flagged = cmd->flag;
    room_emit(r, EV_CARD_UPDATED, AUD_ALL, member, card->id, card->consultation, now_ms);
    return 0;
}

/* mark_set: the client marks a contribution "à retenir" or clears the mark;
 * the event goes to the client alone. */
int room_cmd_mark_set(struct room *r, int member, const struct room_cmd *cmd,
                      int64_t now_ms)
{
    struct room_card *card = room_card_of(r, cmd->card, CARD_CONTRIBUTION);

    if (!card)
        return CODEV_E_UNKNOWN_CARD;
    if (card->withdrawn)
        return CODEV_E_CARD_WITHDRAWN;
    if (card->marked == cmd->flag)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    card->marked = cmd->flag;
    room_emit(r, EV_MARK, AUD_MEMBER, member, card->id, card->consultation, now_ms);
    return 0;
}

/* recadrage: the client signals that the talk drifts from the contract; the
 * client and the facilitator see it. */
int room_cmd_recadrage(struct room *r, int member, int64_t now_ms)
{
    struct room_consultation *c = room_consultation_mut(r);

    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    c->recadrages++;
    c->last_recadrage_ms = now_ms;
    room_emit(r, EV_RECADRAGE, AUD_CLIENT_FACILITATOR, member, 0,
              room_consultation_index(r), now_ms);
    return 0;
}

/* recadrage_ack: the facilitator has seen the client's refocus signals;
 * the client and the facilitator are told, discreetly. ALREADY_DONE when
 * no signal is pending. */
int room_cmd_recadrage_ack(struct room *r, int member, int64_t now_ms)
{
    struct room_consultation *c = room_consultation_mut(r);

    if (c->recadrages_seen >= c->recadrages)
        return CODEV_E_ALREADY_DONE;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    c->recadrages_seen = c->recadrages;
    room_emit(r, EV_RECADRAGE_ACK, AUD_CLIENT_FACILITATOR, member, 0,
              room_consultation_index(r), now_ms);
    return 0;
}

/* The card that card_edit or card_withdraw from member may change, or the
 * refusal: UNKNOWN_CARD (no such card, or an action the client removed),
 * NOT_AUTHOR, CARD_WITHDRAWN, CARD_STEP_OVER (the card belongs to another
 * step or consultation than the current one). */
static int room_own_card(struct room *r, int member, uint32_t id, struct room_card **out)
{
    struct room_card *card;

    if (id == 0 || id > r->ncards)
        return CODEV_E_UNKNOWN_CARD;
    card = &r->cards[id - 1];
    if (card->removed || !room_card_visible(r, card, member))
        return CODEV_E_UNKNOWN_CARD;
    if (card->author != member)
        return CODEV_E_NOT_AUTHOR;
    if (card->withdrawn)
        return CODEV_E_CARD_WITHDRAWN;
    if (card->step != r->step || card->consultation != room_consultation_index(r))
        return CODEV_E_CARD_STEP_OVER;
    *out = card;
    return 0;
}

/* card_edit: the author corrects the text of a card while its step runs.
 * Each correction is a rewrite (limits.rewrites_max) and replaces the
 * card's bytes in the room and in the author's share. */
int room_cmd_card_edit(struct room *r, int member, const struct room_cmd *cmd,
                       int64_t now_ms)
{
    struct room_member *m = &r->members[member];
    struct room_card *card = NULL;
    size_t old_len, new_len;
    char *copy;
    int err = room_own_card(r, member, cmd->card, &card);

    if (!err)
        err = room_text_check(cmd->text, r->limits.text_max_chars);
    if (err)
        return err;
    if (strcmp(card->text, cmd->text) == 0)
        return CODEV_E_ALREADY_DONE;
    err = room_rewrite_check(r, card->edits + 1);
    if (err)
        return err;
    old_len = room_json_len(card->text);
    new_len = room_json_len(cmd->text);
    err = room_budget_check(r, 0, old_len, new_len);
    if (!err && new_len > old_len &&
        room_share_over(r, member, m->bytes - old_len + new_len, r->limits.bytes_max))
        err = CODEV_E_ROOM_FULL;
    if (err)
        return err;
    if (room_events_reserve(r, 1) || !(copy = strdup(cmd->text)))
        return CODEV_E_INTERNAL;
    free(card->text);
    card->text = copy;
    card->edits++;
    r->bytes = r->bytes - old_len + new_len;
    m->bytes = m->bytes - old_len + new_len;
    room_emit(r, EV_CARD_UPDATED, card->type == CARD_NOTE ? AUD_MEMBER : AUD_ALL, member,
              card->id, card->consultation, now_ms);
    return 0;
}

/* Zeroes and empties an owned string in place (its bytes leave memory, the
 * allocation stays: withdrawing never allocates, so it cannot fail). */
static void room_text_wipe(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
}

/* card_withdraw: the author withdraws a card while its step runs. The card
 * keeps its id and its place; its text (and a question's answer, an
 * action's due date) are gone, from the room and so from every snapshot,
 * event and export. The room's bytes and the author's share shrink by what
 * the texts held; the item stays counted (a withdrawn card still takes its
 * place). */
int room_cmd_card_withdraw(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms)
{
    struct room_member *m = &r->members[member];
    struct room_card *card = NULL;
    size_t own, answer;
    int err = room_own_card(r, member, cmd->card, &card);

    if (err)
        return err;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    own = room_json_len(card->text) + room_json_len(card->due);
    answer = room_json_len(card->answer);
    room_text_wipe(card->text);
    room_text_wipe(card->answer);
    room_text_wipe(card->due);
    free(card->answer);
    free(card->due);
    card->answer = card->due = NULL;
    card->withdrawn = true;
    card->marked = false;
    card->flagged = false;
    r->bytes -= own + answer;
    m->bytes = m->bytes >= own ? m->bytes - own : 0;
    room_emit(r, EV_CARD_UPDATED, card->type == CARD_NOTE ? AUD_MEMBER : AUD_ALL, member,
              card->id, card->consultation, now_ms);
    return 0;
}

/* action_remove: the client withdraws an item of the current action plan.
 * The card stays (ids are never reused) with removed set. */
int room_cmd_action_remove(struct room *r, int member, const struct room_cmd *cmd,
                           int64_t now_ms)
{
    struct room_card *card = room_card_of(r, cmd->card, CARD_ACTION);

    if (!card || card->removed)
        return CODEV_E_UNKNOWN_CARD;
    if (card->withdrawn)
        return CODEV_E_CARD_WITHDRAWN;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    card->removed = true;
    room_emit(r, EV_CARD_REMOVED, AUD_ALL, member, card->id, card->consultation, now_ms);
    return 0;
}

/* debrief_post: the earlier client reports on one item of an earlier plan:
 * an outcome and an optional comment, both replacing any earlier report. */
int room_cmd_debrief_post(struct room *r, int member, const struct room_cmd *cmd,
                          int64_t now_ms)
{
    struct room_debrief *d = NULL;
    int err;

    for (size_t i = 0; cmd->ref && i < r->ndebriefs; i++)
        if (strcmp(r->debriefs[i].id, cmd->ref) == 0)
            d = &r->debriefs[i];
    if (!d)
        return CODEV_E_UNKNOWN_ACTION;
    if (d->client != member)
        return CODEV_E_NOT_EARLIER_CLIENT;
    if (cmd->variant < 0 || cmd->variant >= OUTCOME_COUNT)
        return CODEV_E_BAD_FIELD;
    if (cmd->text) {
        err = room_text_check(cmd->text, r->limits.text_max_chars);
        if (err)
            return err;
    }
    err = room_text_replace_check(r, &d->comment, cmd->text, d->writes);
    if (err)
        return err;
    if (room_events_reserve(r, 1))
        return CODEV_E_INTERNAL;
    err = room_text_replace(r, &d->comment, cmd->text, &d->writes);
    if (err)
        return err;
    d->outcome = cmd->variant;
    room_emit(r, EV_DEBRIEF, AUD_ALL, member, 0, (int)(d - r->debriefs), now_ms);
    return 0;
}
