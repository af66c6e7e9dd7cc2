/*
 * test_clock.c - step timer arithmetic (src/clock.c).
 *
 * Every case builds its own struct clock and passes instants explicitly:
 * the clock module never reads time, so neither do its tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "errors.h"

#define T0  1764326400000LL /* an instant in 2025, as the server would pass */
#define MIN (60LL * 1000)

static void init_gives_stopped_timer_with_budget_and_used(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, 3 * MIN);
    assert_false(c.running);
    assert_int_equal(c.budget_ms, 10 * MIN);
    assert_int_equal(c.used_ms, 3 * MIN);
    assert_int_equal(clock_used(&c, T0), 3 * MIN);
    assert_int_equal(clock_remaining(&c, T0), 7 * MIN);
}

static void init_reads_negative_values_as_zero(void **state)
{
    struct clock c;

    clock_init(&c, -5, -7);
    assert_int_equal(c.budget_ms, 0);
    assert_int_equal(c.used_ms, 0);
}

static void init_resets_a_running_timer(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 0);
    assert_int_equal(clock_start(&c, T0), 0);
    clock_init(&c, 2 * MIN, 5);
    assert_false(c.running);
    assert_int_equal(clock_used(&c, T0 + 10 * MIN), 5);
}

static void stopped_timer_does_not_count(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 1000);
    assert_int_equal(clock_used(&c, T0 + 99 * MIN), 1000);
    assert_int_equal(clock_remaining(&c, T0 + 99 * MIN), MIN - 1000);
}

static void used_includes_the_current_run(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, 0);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_true(c.running);
    assert_int_equal(clock_used(&c, T0), 0);
    assert_int_equal(clock_used(&c, T0 + 1500), 1500);
    assert_int_equal(clock_remaining(&c, T0 + 1500), 10 * MIN - 1500);
}

static void start_then_pause_folds_the_run_into_used(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, 0);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_pause(&c, T0 + 2 * MIN), 0);
    assert_false(c.running);
    assert_int_equal(c.used_ms, 2 * MIN);
    /* Paused: time passing changes nothing. */
    assert_int_equal(clock_used(&c, T0 + 50 * MIN), 2 * MIN);
}

static void pause_and_resume_accumulate_every_run(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, 30 * 1000);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_pause(&c, T0 + 1000), 0);
    assert_int_equal(clock_start(&c, T0 + 5000), 0);
    assert_int_equal(clock_pause(&c, T0 + 7000), 0);
    assert_int_equal(clock_start(&c, T0 + 60000), 0);
    assert_int_equal(clock_used(&c, T0 + 64000), 30000 + 1000 + 2000 + 4000);
    assert_int_equal(clock_pause(&c, T0 + 64000), 0);
    assert_int_equal(c.used_ms, 37000);
}

static void remaining_goes_negative_on_overrun(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 0);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_remaining(&c, T0 + MIN), 0);
    assert_int_equal(clock_remaining(&c, T0 + MIN + 1), -1);
    assert_int_equal(clock_remaining(&c, T0 + 3 * MIN), -2 * MIN);
    assert_int_equal(clock_pause(&c, T0 + 3 * MIN), 0);
    assert_int_equal(clock_remaining(&c, T0 + 9 * MIN), -2 * MIN);
}

static void start_when_running_is_refused_and_keeps_the_run(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 0);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_start(&c, T0 + 5000), CODEV_E_TIMER_RUNNING);
    assert_int_equal(c.started_ms, T0);
    assert_int_equal(clock_used(&c, T0 + 6000), 6000);
}

static void pause_when_stopped_is_refused(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 400);
    assert_int_equal(clock_pause(&c, T0), CODEV_E_TIMER_STOPPED);
    assert_false(c.running);
    assert_int_equal(c.used_ms, 400);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_pause(&c, T0 + 100), 0);
    assert_int_equal(clock_pause(&c, T0 + 200), CODEV_E_TIMER_STOPPED);
    assert_int_equal(c.used_ms, 500);
}

static void instant_before_the_start_counts_no_time(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 1000);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_used(&c, T0 - 5000), 1000);
    assert_int_equal(clock_pause(&c, T0 - 5000), 0);
    assert_int_equal(c.used_ms, 1000);
}

static void add_extends_and_shortens_the_budget(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, 0);
    assert_int_equal(clock_add(&c, 5 * MIN, T0), 0);
    assert_int_equal(c.budget_ms, 15 * MIN);
    assert_int_equal(clock_add(&c, -12 * MIN, T0), 0);
    assert_int_equal(c.budget_ms, 3 * MIN);
    assert_int_equal(clock_add(&c, -3 * MIN, T0), 0);
    assert_int_equal(c.budget_ms, 0);
}

static void add_refuses_a_budget_below_zero(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 0);
    assert_int_equal(clock_add(&c, -MIN - 1, T0), CODEV_E_BAD_DURATION);
    assert_int_equal(c.budget_ms, MIN);
}

static void add_refuses_a_budget_over_the_maximum(void **state)
{
    struct clock c;

    clock_init(&c, CLOCK_BUDGET_MAX_MS - MIN, 0);
    assert_int_equal(clock_add(&c, MIN + 1, T0), CODEV_E_BAD_DURATION);
    assert_int_equal(c.budget_ms, CLOCK_BUDGET_MAX_MS - MIN);
    assert_int_equal(clock_add(&c, MIN, T0), 0);
    assert_int_equal(c.budget_ms, CLOCK_BUDGET_MAX_MS);
}

static void add_extreme_deltas_are_refused_without_overflow(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 0);
    assert_int_equal(clock_add(&c, INT64_MAX, T0), CODEV_E_BAD_DURATION);
    assert_int_equal(clock_add(&c, INT64_MIN, T0), CODEV_E_BAD_DURATION);
    assert_int_equal(c.budget_ms, MIN);
}

static void set_remaining_on_a_running_timer_counts_from_now(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, MIN);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_set_remaining(&c, 5 * MIN, T0 + 2 * MIN), 0);
    assert_int_equal(clock_remaining(&c, T0 + 2 * MIN), 5 * MIN);
    assert_int_equal(c.budget_ms, 3 * MIN + 5 * MIN);
    assert_true(c.running);
    assert_int_equal(clock_remaining(&c, T0 + 7 * MIN), 0);
}

static void set_remaining_on_a_stopped_timer_keeps_it_stopped(void **state)
{
    struct clock c;

    clock_init(&c, 10 * MIN, 12 * MIN);
    assert_int_equal(clock_remaining(&c, T0), -2 * MIN);
    assert_int_equal(clock_set_remaining(&c, 3 * MIN, T0), 0);
    assert_false(c.running);
    assert_int_equal(clock_remaining(&c, T0 + MIN), 3 * MIN);
    assert_int_equal(c.budget_ms, 15 * MIN);
}

/* Issue 12: a budget of 0 is an untimed step. One row per way in and out:
 * the clock is built (budget, used, running from T0 or not), one operation
 * runs at `at`, then its result, the budget, and the remaining and used
 * time at `later` are checked. */
enum untimed_op { OP_SET, OP_ADD };

struct untimed_case {
    const char *name;
    int64_t budget, used;
    bool running;
    enum untimed_op op;
    int64_t arg, at;
    int want_rc;
    int64_t want_budget;
    int64_t later, want_remaining, want_used;
};

static void untimed_steps_count_time_and_never_overrun(void **state)
{
    const struct untimed_case cases[] = {
        {"set 0 on a running clock: untimed, time still counts", 10 * MIN, 0, true,
         OP_SET, 0, T0 + 2 * MIN, 0, 0, T0 + 5 * MIN, 0, 5 * MIN},
        {"set 0 on an overrun clock: no overrun shown", MIN, 3 * MIN, false, OP_SET, 0,
         T0, 0, 0, T0 + 9 * MIN, 0, 3 * MIN},
        {"a zero budget from the start is untimed", 0, 0, true, OP_SET, 0, T0, 0, 0,
         T0 + 90 * MIN, 0, 90 * MIN},
        {"+1 min on an untimed clock times it from now", 0, 0, true, OP_ADD, MIN,
         T0 + 5 * MIN, 0, 6 * MIN, T0 + 7 * MIN, -MIN, 7 * MIN},
        {"-1 min on an untimed clock is refused", 0, 0, true, OP_ADD, -MIN, T0 + 5 * MIN,
         CODEV_E_BAD_DURATION, 0, T0 + 5 * MIN, 0, 5 * MIN},
        {"an add that empties the budget makes it untimed", MIN, 0, true, OP_ADD, -MIN,
         T0 + 2 * MIN, 0, 0, T0 + 2 * MIN, 0, 2 * MIN},
        {"set after untimed times it again", 0, 0, true, OP_SET, 2 * MIN, T0 + 10 * MIN,
         0, 12 * MIN, T0 + 10 * MIN, 2 * MIN, 10 * MIN},
        {"+8 h and more on an untimed clock is refused", 0, 0, true, OP_ADD,
         CLOCK_BUDGET_MAX_MS + 1, T0, CODEV_E_BAD_DURATION, 0, T0, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct untimed_case *k = &cases[i];
        struct clock c;
        int rc;

        clock_init(&c, k->budget, k->used);
        if (k->running)
            assert_int_equal(clock_start(&c, T0), 0);
        rc = k->op == OP_SET ? clock_set_remaining(&c, k->arg, k->at)
                             : clock_add(&c, k->arg, k->at);
        if (rc != k->want_rc)
            fail_msg("%s: rc %d, want %d", k->name, rc, k->want_rc);
        if (c.budget_ms != k->want_budget)
            fail_msg("%s: budget %lld, want %lld", k->name, (long long)c.budget_ms,
                     (long long)k->want_budget);
        assert_int_equal(clock_untimed(&c), k->want_budget == 0);
        if (clock_remaining(&c, k->later) != k->want_remaining)
            fail_msg("%s: remaining %lld, want %lld", k->name,
                     (long long)clock_remaining(&c, k->later),
                     (long long)k->want_remaining);
        if (clock_used(&c, k->later) != k->want_used)
            fail_msg("%s: used %lld, want %lld", k->name,
                     (long long)clock_used(&c, k->later), (long long)k->want_used);
    }
}

static void set_remaining_bounds_are_zero_and_the_maximum(void **state)
{
    struct clock c;

    clock_init(&c, MIN, 0);
    assert_int_equal(clock_set_remaining(&c, -1, T0), CODEV_E_BAD_DURATION);
    assert_int_equal(clock_set_remaining(&c, CLOCK_BUDGET_MAX_MS + 1, T0),
                     CODEV_E_BAD_DURATION);
    assert_int_equal(c.budget_ms, MIN);
    assert_int_equal(clock_set_remaining(&c, CLOCK_BUDGET_MAX_MS, T0), 0);
    assert_int_equal(c.budget_ms, CLOCK_BUDGET_MAX_MS);
    assert_int_equal(clock_set_remaining(&c, 0, T0), 0);
    assert_int_equal(c.budget_ms, 0);
}

static void long_run_keeps_exact_milliseconds(void **state)
{
    struct clock c;
    int64_t day = 24 * 60 * MIN;

    clock_init(&c, 8 * 60 * MIN, 0);
    assert_int_equal(clock_start(&c, T0), 0);
    assert_int_equal(clock_used(&c, T0 + 3 * day + 7), 3 * day + 7);
    assert_int_equal(clock_remaining(&c, T0 + 3 * day + 7), 8 * 60 * MIN - 3 * day - 7);
    assert_int_equal(clock_pause(&c, T0 + 3 * day + 7), 0);
    assert_int_equal(c.used_ms, 3 * day + 7);
}

static void many_short_runs_add_up_without_drift(void **state)
{
    struct clock c;
    int64_t now = T0;

    clock_init(&c, 25 * MIN, 0);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(clock_start(&c, now), 0);
        now += 997; /* running */
        assert_int_equal(clock_pause(&c, now), 0);
        now += 3; /* paused */
    }
    assert_int_equal(c.used_ms, 10000LL * 997);
    assert_int_equal(clock_remaining(&c, now), 25 * MIN - 10000LL * 997);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_gives_stopped_timer_with_budget_and_used),
        cmocka_unit_test(init_reads_negative_values_as_zero),
        cmocka_unit_test(init_resets_a_running_timer),
        cmocka_unit_test(stopped_timer_does_not_count),
        cmocka_unit_test(used_includes_the_current_run),
        cmocka_unit_test(start_then_pause_folds_the_run_into_used),
        cmocka_unit_test(pause_and_resume_accumulate_every_run),
        cmocka_unit_test(remaining_goes_negative_on_overrun),
        cmocka_unit_test(start_when_running_is_refused_and_keeps_the_run),
        cmocka_unit_test(pause_when_stopped_is_refused),
        cmocka_unit_test(instant_before_the_start_counts_no_time),
        cmocka_unit_test(add_extends_and_shortens_the_budget),
        cmocka_unit_test(add_refuses_a_budget_below_zero),
        cmocka_unit_test(add_refuses_a_budget_over_the_maximum),
        cmocka_unit_test(add_extreme_deltas_are_refused_without_overflow),
        cmocka_unit_test(set_remaining_on_a_running_timer_counts_from_now),
        cmocka_unit_test(set_remaining_on_a_stopped_timer_keeps_it_stopped),
        cmocka_unit_test(untimed_steps_count_time_and_never_overrun),
        cmocka_unit_test(set_remaining_bounds_are_zero_and_the_maximum),
        cmocka_unit_test(long_run_keeps_exact_milliseconds),
        cmocka_unit_test(many_short_runs_add_up_without_drift),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
