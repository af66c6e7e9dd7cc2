/*
 * test_floor.c - the floor, rounds and balance (src/room_floor.c).
 *
 * Each test builds a room with the 90-minute budgets and six members: the
 * facilitator Fa (0), the participants Ana, Ben, Cle and Dan (1-4, all
 * online) and the observer Obs (5). In consultation Ana is the client.
 * Every accepted command is also kept in its journal form
 * (room_floor_journal_form), so that a test can replay the session on a
 * fresh room, with nobody online and no group memory, as the store does
 * after a restart, and compare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "room.h"

#define T0  1764326400000LL
#define SEC 1000LL
#define MIN (60LL * SEC)

enum { FA, ANA, BEN, CLE, DAN, OBS, NMEMBERS };
static const char *const ids[] = {"fac", "ana", "ben", "cle", "dan", "obs"};
static const int64_t budgets_90[STEP_COUNT] = {
    10 * MIN, 5 * MIN, 10 * MIN, 20 * MIN, 5 * MIN, 25 * MIN, 8 * MIN, 7 * MIN, 0};

#define JOURNAL_MAX 128

/* One accepted command as the store would journal it. */
struct jrec {
    struct room_cmd cmd;
    int member;
    int64_t at;
    uint64_t seq;
    char text[ROOM_ROUND_TEXT_MAX];
    char target[ROOM_ID_LEN + 1];
};

struct fx {
    struct room *r;
    unsigned n;
    int64_t now;
    uint64_t seq;
    struct jrec journal[JOURNAL_MAX];
    size_t njournal;
};

static struct room *room_build(void)
{
    struct room_limits l = {.text_max_chars = 1000,
                            .long_text_max_chars = 4000,
                            .cards_per_step = 30,
                            .members_max = 16};
    struct room *r = room_new("11111111-2222-3333-4444-555555555555", budgets_90, &l, T0);
    static const char *const names[] = {"Fa", "Ana", "Ben", "Clé", "Dan", "Obs"};

    assert_non_null(r);
    for (int i = 0; i < NMEMBERS; i++)
        assert_int_equal(room_member_add(r, ids[i], names[i], i == FA, i == OBS), i);
    return r;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->now = T0;
    f->r = room_build();
    for (int i = 0; i < NMEMBERS; i++)
        room_member_set_online(f->r, i, +1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    room_free(f->r);
    free(f);
    return 0;
}

static struct room_cmd mk(struct fx *f, enum room_cmd_type t)
{
    struct room_cmd c = {.type = t};

    snprintf(c.id, sizeof(c.id), "cmd-%u", ++f->n);
    return c;
}

/* Applies c from member at f->now; an accepted command is journaled in the
 * form the edge journals it. */
static int run(struct fx *f, int member, const struct room_cmd *c)
{
    bool dup = false;
    int rc;

    room_outbox_clear(f->r);
    f->seq = 0;
    rc = room_apply(f->r, member, c, f->now, &f->seq, &dup);
    if (rc == 0 && !dup) {
        struct jrec *j = &f->journal[f->njournal++];

        assert_true(f->njournal <= JOURNAL_MAX);
        j->cmd = *c;
        if (c->target) {
            snprintf(j->target, sizeof(j->target), "%s", c->target);
            j->cmd.target = j->target;
        }
        room_floor_journal_form(f->r, &j->cmd, j->text, sizeof(j->text));
        j->member = member;
        j->at = f->now;
        j->seq = f->seq;
    }
    return rc;
}

static int send(struct fx *f, int member, enum room_cmd_type t)
{
    struct room_cmd c = mk(f, t);

    return run(f, member, &c);
}

static int send_target(struct fx *f, int member, enum room_cmd_type t, int target)
{
    struct room_cmd c = mk(f, t);

    c.target = ids[target];
    return run(f, member, &c);
}

static int send_text(struct fx *f, int member, enum room_cmd_type t, const char *text)
{
    struct room_cmd c = mk(f, t);

    c.text = text;
    return run(f, member, &c);
}

static int round_start(struct fx *f, int member, int64_t seconds, int mode)
{
    struct room_cmd c = mk(f, CMD_ROUND_START);

    c.seconds = seconds;
    c.variant = mode;
    return run(f, member, &c);
}

/* Drives the room from opening to step `to` with Ana as the client. */
static void to_step(struct fx *f, enum step to)
{
    assert_int_equal(send(f, FA, CMD_STEP_NEXT), 0); /* topic */
    assert_int_equal(send_target(f, FA, CMD_CLIENT_ASSIGN, ANA), 0);
    while (f->r->step < to) {
        if (f->r->step == STEP_EXPOSE)
            assert_int_equal(send_text(f, ANA, CMD_PROBLEM_SET, "Le problème."), 0);
        if (f->r->step == STEP_CONTRACT) {
            struct room_cmd c = mk(f, CMD_STEP_NEXT);

            assert_int_equal(send_text(f, ANA, CMD_CONTRACT_SET, "Le contrat."), 0);
            c.flag = true;
            assert_int_equal(run(f, FA, &c), 0);
            continue;
        }
        assert_int_equal(send(f, FA, CMD_STEP_NEXT), 0);
    }
    assert_int_equal(f->r->step, to);
}

/* Counts the events of type t in the outbox of the last command. */
static size_t count_events(const struct fx *f, enum room_event_type t)
{
    size_t n = 0;

    for (size_t i = 0; i < f->r->nout; i++)
        n += f->r->out[i].type == t;
    return n;
}

static int round_status(const struct fx *f, int member)
{
    for (unsigned i = 0; i < f->r->round.n; i++)
        if (f->r->round.order[i] == member)
            return f->r->round.status[i];
    return -1;
}

/* ---- the floor ------------------------------------------------------------ */

static void giving_the_floor_lowers_the_hand_and_ending_it_tallies_the_turn(void **state)
{
    struct fx *f = *state;

    assert_int_equal(send(f, BEN, CMD_HAND_RAISE), 0);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, BEN), 0);
    assert_int_equal(f->r->floor_member, BEN);
    assert_int_equal(f->r->floor_since_ms, f->now);
    assert_int_equal(f->r->members[BEN].hand, 0);
    assert_int_equal(count_events(f, EV_HANDS), 1);
    assert_int_equal(count_events(f, EV_FLOOR), 1);
    assert_int_equal(count_events(f, EV_BALANCE), 0);
    assert_int_equal(f->r->out[f->r->nout - 1].type, EV_FLOOR);

    f->now += 30 * SEC;
    assert_int_equal(send(f, BEN, CMD_FLOOR_END), 0); /* "J'ai terminé" */
    assert_int_equal(f->r->floor_member, -1);
    assert_int_equal(f->r->members[BEN].floor[STEP_OPENING].ms, 30 * SEC);
    assert_int_equal(f->r->members[BEN].floor[STEP_OPENING].turns, 1);
    assert_int_equal(f->r->members[BEN].floor[STEP_OPENING].passes, 0);
    assert_int_equal(f->r->nout, 2);
    assert_int_equal(f->r->out[0].type, EV_BALANCE);
    assert_int_equal(f->r->out[0].member, BEN);
    assert_int_equal(f->r->out[1].type, EV_FLOOR);
    /* The balance is the facilitator's; the floor is everyone's. */
    assert_true(room_event_visible(f->r, &f->r->out[0], FA));
    assert_false(room_event_visible(f->r, &f->r->out[0], BEN));
    assert_false(room_event_visible(f->r, &f->r->out[0], OBS));
    for (int m = 0; m < NMEMBERS; m++)
        assert_true(room_event_visible(f->r, &f->r->out[1], m));
}

static void giving_the_floor_to_another_ends_the_current_one(void **state)
{
    struct fx *f = *state;

    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, BEN), 0);
    f->now += 10 * SEC;
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, CLE), 0);
    assert_int_equal(f->r->floor_member, CLE);
    assert_int_equal(f->r->members[BEN].floor[STEP_OPENING].ms, 10 * SEC);
    assert_int_equal(count_events(f, EV_BALANCE), 1);
    f->now += 5 * SEC;
    assert_int_equal(send(f, FA, CMD_FLOOR_END), 0); /* the facilitator may end it */
    assert_int_equal(f->r->members[CLE].floor[STEP_OPENING].ms, 5 * SEC);
}

/* Every refusal of floor_give and floor_end, and that a refusal changes
 * nothing. */
static void the_floor_refuses_what_it_must(void **state)
{
    struct fx *f = *state;
    struct room_cmd c = mk(f, CMD_FLOOR_GIVE);

    c.target = "nobody";
    assert_int_equal(run(f, FA, &c), CODEV_E_UNKNOWN_MEMBER);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, OBS), CODEV_E_BAD_TARGET);
    assert_int_equal(send_target(f, BEN, CMD_FLOOR_GIVE, CLE), CODEV_E_NOT_FACILITATOR);
    assert_int_equal(send_target(f, OBS, CMD_FLOOR_GIVE, CLE),
                     CODEV_E_OBSERVER_READ_ONLY);
    assert_int_equal(send(f, BEN, CMD_FLOOR_END), CODEV_E_NO_FLOOR);
    room_member_set_online(f->r, DAN, -1);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, DAN), CODEV_E_MEMBER_OFFLINE);
    assert_int_equal(f->r->floor_member, -1);
    assert_int_equal(f->r->seq, 0);

    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, BEN), 0);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, BEN), CODEV_E_ALREADY_DONE);
    assert_int_equal(send(f, CLE, CMD_FLOOR_END), CODEV_E_NOT_SPEAKER);
    assert_int_equal(send(f, OBS, CMD_FLOOR_END), CODEV_E_OBSERVER_READ_ONLY);
    assert_int_equal(send(f, BEN, CMD_TURN_PASS), CODEV_E_NO_ROUND);
    assert_int_equal(send(f, FA, CMD_ROUND_SKIP), CODEV_E_NO_ROUND);
    assert_int_equal(send(f, FA, CMD_ROUND_STOP), CODEV_E_NO_ROUND);
    assert_int_equal(f->r->floor_member, BEN);
}

static void the_client_listens_in_consultation(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CONSULTATION);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, ANA), CODEV_E_BAD_TARGET);
    assert_int_equal(send(f, ANA, CMD_FLOOR_END), CODEV_E_CLIENT_MUTED);
    assert_int_equal(send(f, ANA, CMD_TURN_PASS), CODEV_E_CLIENT_MUTED);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, BEN), 0);
}

static void a_step_change_ends_the_floor_and_the_round(void **state)
{
    struct fx *f = *state;

    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_true(f->r->round.active);
    f->now += 20 * SEC;
    assert_int_equal(send(f, FA, CMD_STEP_NEXT), 0);
    assert_int_equal(f->r->floor_member, -1);
    assert_int_equal(f->r->round.n, 0);
    assert_false(f->r->round.active);
    /* Counted in the step it was held in. */
    assert_int_equal(f->r->members[FA].floor[STEP_OPENING].ms, 20 * SEC);
    assert_int_equal(f->r->members[FA].floor[STEP_TOPIC].ms, 0);
    assert_int_equal(count_events(f, EV_BALANCE), 1);
    assert_int_equal(count_events(f, EV_FLOOR), 1);
    assert_int_equal(count_events(f, EV_STEP), 1);
    assert_int_equal(f->r->out[f->r->nout - 1].type, EV_STEP);
    /* No floor, no round: a step change says nothing about them. */
    assert_int_equal(send(f, FA, CMD_STEP_PREV), 0);
    assert_int_equal(count_events(f, EV_FLOOR), 0);
}

/* ---- rounds ------------------------------------------------------------------ */

/* The case: three consultants in consultation, one passing, one
 * offline; the client is never in the order. */
static void
a_consultation_round_skips_the_client_and_the_offline_and_counts_a_pass(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CONSULTATION);
    room_member_set_online(f->r, CLE, -1);
    assert_int_equal(round_start(f, FA, 90, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.n, 3);
    assert_int_equal(f->r->round.order[0], BEN);
    assert_int_equal(f->r->round.order[1], CLE);
    assert_int_equal(f->r->round.order[2], DAN);
    assert_int_equal(f->r->round.turn_ms, 90 * SEC);
    assert_int_equal(f->r->floor_member, BEN);
    assert_int_equal(round_status(f, BEN), TURN_SPEAKING);

    f->now += 40 * SEC;
    assert_int_equal(send(f, BEN, CMD_FLOOR_END), 0);
    assert_int_equal(round_status(f, BEN), TURN_SPOKE);
    assert_int_equal(round_status(f, CLE), TURN_ABSENT);
    assert_int_equal(f->r->floor_member, DAN);
    assert_int_equal(f->r->round.pos, 2);

    f->now += 3 * SEC;
    assert_int_equal(send(f, CLE, CMD_TURN_PASS), CODEV_E_NOT_SPEAKER);
    assert_int_equal(send(f, DAN, CMD_TURN_PASS), 0);
    assert_int_equal(round_status(f, DAN), TURN_PASSED);
    assert_false(f->r->round.active);
    assert_int_equal(f->r->round.pos, 3);
    assert_int_equal(f->r->floor_member, -1);

    assert_int_equal(f->r->members[BEN].floor[STEP_CONSULTATION].ms, 40 * SEC);
    assert_int_equal(f->r->members[BEN].floor[STEP_CONSULTATION].turns, 1);
    assert_int_equal(f->r->members[DAN].floor[STEP_CONSULTATION].ms, 3 * SEC);
    assert_int_equal(f->r->members[DAN].floor[STEP_CONSULTATION].turns, 0);
    assert_int_equal(f->r->members[DAN].floor[STEP_CONSULTATION].passes, 1);
    assert_int_equal(f->r->members[CLE].floor[STEP_CONSULTATION].turns, 0);
    assert_int_equal(f->r->members[ANA].floor[STEP_CONSULTATION].ms, 0);
    /* Over, the round stays shown; a new one may start. */
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
}

/* Who takes part, step by step: the rules of the step's own writing. */
static void the_order_follows_the_rules_of_each_step(void **state)
{
    struct fx *f = *state;

    /* opening: checkin_post, F and K; no observer. */
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.n, 5);
    assert_int_equal(f->r->round.order[0], FA);
    assert_int_equal(send(f, FA, CMD_ROUND_STOP), 0);
    /* clarification: question_ask, consultants only. */
    to_step(f, STEP_CLARIFICATION);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.n, 3);
    for (unsigned i = 0; i < f->r->round.n; i++)
        assert_true(f->r->round.order[i] == BEN || f->r->round.order[i] == CLE ||
                    f->r->round.order[i] == DAN);
    assert_int_equal(send(f, FA, CMD_ROUND_STOP), 0);
    /* topic, expose, contract, synthesis: no rounds. */
    assert_int_equal(send(f, FA, CMD_STEP_PREV), 0);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), CODEV_E_WRONG_STEP);
    assert_int_equal(send(f, BEN, CMD_ROUND_START), CODEV_E_NOT_FACILITATOR);
}

static void rounds_rotate_their_starting_point(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CONSULTATION);
    /* The group's previous round began with Ben: this one after him. */
    room_round_seed_set(f->r, ids[BEN]);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.order[0], CLE);
    assert_int_equal(f->r->round.order[1], DAN);
    assert_int_equal(f->r->round.order[2], BEN);
    assert_int_equal(f->r->round_seed, CLE);
    assert_int_equal(send(f, FA, CMD_ROUND_STOP), 0);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.order[0], DAN);
    assert_int_equal(send(f, FA, CMD_ROUND_STOP), 0);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.order[0], BEN); /* around again */
    /* A seed that names nobody starts from the first member. */
    room_round_seed_set(f->r, "nobody");
    assert_int_equal(f->r->round_seed, -1);
}

static void round_start_checks_its_budget_and_the_room(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CONSULTATION);
    assert_int_equal(round_start(f, FA, 9, ROUND_SIGNAL), CODEV_E_BAD_DURATION);
    assert_int_equal(round_start(f, FA, -90, ROUND_SIGNAL), CODEV_E_BAD_DURATION);
    assert_int_equal(round_start(f, FA, 1801, ROUND_SIGNAL), CODEV_E_BAD_DURATION);
    assert_int_equal(round_start(f, FA, INT64_MAX, ROUND_AUTO), CODEV_E_BAD_DURATION);
    assert_int_equal(round_start(f, FA, 0, ROUND_AUTO), CODEV_E_BAD_DURATION);
    assert_int_equal(round_start(f, FA, 60, 7), CODEV_E_BAD_FIELD);
    room_member_set_online(f->r, BEN, -1);
    room_member_set_online(f->r, CLE, -1);
    room_member_set_online(f->r, DAN, -1);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), CODEV_E_ROUND_EMPTY);
    room_member_set_online(f->r, DAN, +1);
    assert_int_equal(f->r->seq, f->journal[f->njournal - 1].seq);
    assert_int_equal(round_start(f, FA, 10, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->floor_member, DAN);
    assert_int_equal(round_status(f, BEN), TURN_ABSENT);
    assert_int_equal(round_status(f, CLE), TURN_ABSENT);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), CODEV_E_ROUND_ACTIVE);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, BEN), CODEV_E_ROUND_ACTIVE);
}

static void an_auto_round_moves_on_only_once_the_turn_is_over(void **state)
{
    struct fx *f = *state;
    struct room_cmd expire;

    to_step(f, STEP_CLARIFICATION);
    assert_int_equal(round_start(f, FA, 90, ROUND_AUTO), 0);
    assert_int_equal(f->r->floor_member, BEN);
    f->now += 89 * SEC;
    assert_false(room_floor_turn_due(f->r, f->now));
    assert_false(room_floor_turn_auto_due(f->r, f->now));
    expire = mk(f, CMD_ROUND_SKIP);
    expire.variant = 1;
    assert_int_equal(run(f, FA, &expire), CODEV_E_BAD_FIELD); /* not yet */
    f->now += 1 * SEC;
    assert_true(room_floor_turn_auto_due(f->r, f->now));
    assert_int_equal(run(f, FA, &expire), 0);
    assert_int_equal(round_status(f, BEN), TURN_EXPIRED);
    assert_int_equal(f->r->floor_member, CLE);
    assert_int_equal(f->r->members[BEN].floor[STEP_CLARIFICATION].ms, 90 * SEC);
    assert_int_equal(f->r->members[BEN].floor[STEP_CLARIFICATION].turns, 1);
    /* The facilitator skips by hand at any time. */
    f->now += 5 * SEC;
    assert_int_equal(send(f, FA, CMD_ROUND_SKIP), 0);
    assert_int_equal(round_status(f, CLE), TURN_SKIPPED);
    assert_int_equal(f->r->floor_member, DAN);
}

static void a_signal_round_is_only_signalled(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CLARIFICATION);
    assert_int_equal(round_start(f, FA, 30, ROUND_SIGNAL), 0);
    f->now += 45 * SEC;
    assert_true(room_floor_turn_due(f->r, f->now));
    assert_false(room_floor_turn_auto_due(f->r, f->now));
    assert_int_equal(f->r->floor_member, BEN);
}

static void round_stop_keeps_the_order_for_display(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_LEARNING); /* learning: F, C and K */
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->round.n, 5);
    f->now += 7 * SEC;
    assert_int_equal(send(f, FA, CMD_ROUND_STOP), 0);
    assert_false(f->r->round.active);
    assert_int_equal(f->r->round.n, 5);
    assert_int_equal(f->r->round.status[0], TURN_SPOKE);
    assert_int_equal(f->r->round.status[1], TURN_PENDING);
    assert_int_equal(f->r->floor_member, -1);
    assert_int_equal(f->r->members[FA].floor[STEP_LEARNING].ms, 7 * SEC);
}

static void removing_the_speaker_moves_the_round_on(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CONSULTATION);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->floor_member, BEN);
    f->now += 4 * SEC;
    assert_int_equal(send_target(f, FA, CMD_MEMBER_REMOVE, BEN), 0);
    assert_int_equal(round_status(f, BEN), TURN_SKIPPED);
    assert_int_equal(f->r->floor_member, CLE);
    assert_int_equal(f->r->members[BEN].floor[STEP_CONSULTATION].ms, 4 * SEC);
    /* Made observer: the same; and a member made observer before their
     * turn is skipped when it comes. */
    {
        struct room_cmd c = mk(f, CMD_ROLE_SET);
        c.target = ids[DAN];
        c.flag = true;
        assert_int_equal(run(f, FA, &c), 0);
    }
    assert_int_equal(send(f, CLE, CMD_FLOOR_END), 0);
    assert_int_equal(round_status(f, DAN), TURN_SKIPPED);
    assert_false(f->r->round.active);
}

/* ---- replay -------------------------------------------------------------------- */

/* Replays f's journal on a fresh room with nobody online and no group
 * memory, as the store does after a restart, and checks every record
 * replays to its seq and the floor, round and balance come out the same. */
static void replay_and_compare(struct fx *f)
{
    struct room *r = room_build();

    for (size_t i = 0; i < f->njournal; i++) {
        struct jrec *j = &f->journal[i];
        uint64_t seq = 0;
        bool dup = false;
        struct room_cmd c = j->cmd;

        if (j->cmd.text == j->text)
            c.text = j->text;
        if (room_apply(r, j->member, &c, j->at, &seq, &dup) != 0)
            fail_msg("record %zu (%s) refused on replay", i, room_cmd_name(c.type));
        assert_false(dup);
        assert_int_equal(seq, j->seq);
        room_outbox_clear(r);
    }
    assert_int_equal(r->seq, f->r->seq);
    assert_int_equal(r->floor_member, f->r->floor_member);
    assert_int_equal(r->floor_since_ms, f->r->floor_since_ms);
    assert_memory_equal(&r->round, &f->r->round, sizeof(r->round));
    for (int m = 0; m < NMEMBERS; m++)
        assert_memory_equal(r->members[m].floor, f->r->members[m].floor,
                            sizeof(r->members[m].floor));
    assert_int_equal(r->journal_bytes, f->r->journal_bytes);
    room_free(r);
}

static void a_replay_without_presence_or_memory_gives_the_same_floor(void **state)
{
    struct fx *f = *state;

    assert_int_equal(send(f, CLE, CMD_HAND_RAISE), 0);
    assert_int_equal(send_target(f, FA, CMD_FLOOR_GIVE, CLE), 0);
    f->now += 12 * SEC;
    assert_int_equal(send(f, CLE, CMD_FLOOR_END), 0);
    to_step(f, STEP_CONSULTATION);
    room_round_seed_set(f->r, ids[CLE]); /* the group's memory, not journaled */
    room_member_set_online(f->r, BEN, -1);
    assert_int_equal(round_start(f, FA, 60, ROUND_AUTO), 0);
    assert_int_equal(f->r->floor_member, DAN);
    room_member_set_online(f->r, BEN, +1); /* back before his turn */
    room_member_set_online(f->r, CLE, -1); /* gone before hers */
    f->now += 60 * SEC;
    {
        struct room_cmd expire = mk(f, CMD_ROUND_SKIP);
        expire.variant = 1;
        assert_int_equal(run(f, FA, &expire), 0);
    }
    assert_int_equal(f->r->floor_member, BEN);
    f->now += 25 * SEC;
    assert_int_equal(send(f, BEN, CMD_TURN_PASS), 0);
    assert_int_equal(round_status(f, CLE), TURN_ABSENT);
    assert_false(f->r->round.active);
    room_member_set_online(f->r, CLE, +1);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    f->now += 8 * SEC;
    assert_int_equal(send_target(f, FA, CMD_MEMBER_REMOVE, f->r->floor_member), 0);
    f->now += 8 * SEC;
    replay_and_compare(f);
    assert_int_equal(send(f, FA, CMD_STEP_NEXT), 0);
    replay_and_compare(f);
}

/* Hostile journal forms (a corrupt record): refused, never trusted. */
/* A round's turn answers a raised hand as floor_give does: it goes down,
 * for everyone (EV_HANDS before EV_FLOOR), and only the speaker's. */
static void a_round_turn_lowers_the_speakers_hand(void **state)
{
    struct fx *f = *state;

    to_step(f, STEP_CONSULTATION);
    assert_int_equal(send(f, CLE, CMD_HAND_RAISE), 0);
    assert_int_equal(send(f, DAN, CMD_HAND_RAISE), 0);
    assert_int_equal(round_start(f, FA, 0, ROUND_SIGNAL), 0);
    assert_int_equal(f->r->floor_member, BEN);
    assert_int_equal(count_events(f, EV_HANDS), 0);
    assert_int_equal(send(f, BEN, CMD_FLOOR_END), 0);
    assert_int_equal(f->r->floor_member, CLE);
    assert_int_equal(f->r->members[CLE].hand, 0);
    assert_int_not_equal(f->r->members[DAN].hand, 0);
    assert_int_equal(count_events(f, EV_HANDS), 1);
    assert_int_equal(f->r->out[f->r->nout - 1].type, EV_FLOOR);
    /* Removing the speaker moves the round on to Dan: his hand goes down. */
    assert_int_equal(send_target(f, FA, CMD_MEMBER_REMOVE, CLE), 0);
    assert_int_equal(f->r->floor_member, DAN);
    assert_int_equal(f->r->members[DAN].hand, 0);
    assert_int_equal(count_events(f, EV_HANDS), 1);
    replay_and_compare(f);
}

static void a_journaled_decision_that_cannot_be_is_refused(void **state)
{
    struct fx *f = *state;
    struct room_cmd c;

    to_step(f, STEP_CONSULTATION);
    c = mk(f, CMD_ROUND_START);
    c.text = "ben ben";
    assert_int_equal(run(f, FA, &c), CODEV_E_BAD_FIELD);
    c.text = "ben nobody";
    assert_int_equal(run(f, FA, &c), CODEV_E_BAD_FIELD);
    c.text = "ben ana"; /* the client, in consultation */
    assert_int_equal(run(f, FA, &c), CODEV_E_BAD_FIELD);
    c.text = "ben cle";
    c.card = 4; /* past the end of a two-member order */
    assert_int_equal(run(f, FA, &c), CODEV_E_BAD_FIELD);
    c.text = "";
    c.card = 0;
    assert_int_equal(run(f, FA, &c), CODEV_E_ROUND_EMPTY);
    c.text = "cle ben";
    c.card = 2;
    assert_int_equal(run(f, FA, &c), 0);
    assert_int_equal(f->r->floor_member, BEN);
    assert_int_equal(round_status(f, CLE), TURN_ABSENT);
    c = mk(f, CMD_FLOOR_END);
    c.card = 2; /* backwards */
    assert_int_equal(run(f, BEN, &c), CODEV_E_BAD_FIELD);
    assert_int_equal(f->r->floor_member, BEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(giving_the_floor_lowers_the_hand_and_ending_it_tallies_the_turn),
        T(giving_the_floor_to_another_ends_the_current_one),
        T(the_floor_refuses_what_it_must),
        T(the_client_listens_in_consultation),
        T(a_step_change_ends_the_floor_and_the_round),
        T(a_consultation_round_skips_the_client_and_the_offline_and_counts_a_pass),
        T(the_order_follows_the_rules_of_each_step),
        T(rounds_rotate_their_starting_point),
        T(round_start_checks_its_budget_and_the_room),
        T(an_auto_round_moves_on_only_once_the_turn_is_over),
        T(a_signal_round_is_only_signalled),
        T(round_stop_keeps_the_order_for_display),
        T(removing_the_speaker_moves_the_round_on),
        T(a_replay_without_presence_or_memory_gives_the_same_floor),
        T(a_journaled_decision_that_cannot_be_is_refused),
        T(a_round_turn_lowers_the_speakers_hand),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
