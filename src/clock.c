/*
 * clock.c - step timer arithmetic (see clock.h).
 *
 * A step timer is three numbers and a flag: the budget, the time used by
 * completed runs, and, while running, the instant the current run started.
 * Everything else (time used so far, time remaining) is computed from them
 * and the instant the caller passes in.
 *
 * Invariants:
 *   - Pure: no clock reads, no allocation, no state outside struct clock.
 *   - used_ms never decreases: an instant earlier than the start of the
 *     current run (a clock that stepped back) counts as no time at all.
 *   - Remaining time is budget - used and goes negative on overrun; nothing
 *     here ever cuts a step short. A budget of 0 is an untimed step: its
 *     remaining time is 0, never negative, and used time still counts
 *     (clock_set_remaining(0) makes a step untimed; clock_add times it
 *     again from now).
 *   - clock_add keeps the budget within [0, CLOCK_BUDGET_MAX_MS] and refuses
 *     rather than clamps; clock_set_remaining bounds the requested remaining
 *     time, as clock.h states.
 *
 * Expected load: a few calls per room per second (the 1 Hz tick reads
 * clock_remaining for every running room); every function is O(1).
 */
#include "clock.h"

#include "errors.h"

/* Returns the length of the current run at now_ms, or 0 when the timer is
 * stopped or now_ms lies before the start of the run. */
static int64_t clock_run_ms(const struct clock *c, int64_t now_ms)
{
    if (!c->running || now_ms <= c->started_ms)
        return 0;
    return now_ms - c->started_ms;
}

/* Resets c to a stopped timer holding budget_ms and used_ms. Negative
 * values are read as 0: a budget or a time used is never below zero. */
void clock_init(struct clock *c, int64_t budget_ms, int64_t used_ms)
{
    c->budget_ms = budget_ms > 0 ? budget_ms : 0;
    c->used_ms = used_ms > 0 ? used_ms : 0;
    c->started_ms = 0;
    c->running = false;
}

/* Starts or resumes the timer at now_ms. Returns 0, or CODEV_E_TIMER_RUNNING
 * and changes nothing when it already runs. */
int clock_start(struct clock *c, int64_t now_ms)
{
    if (c->running)
        return CODEV_E_TIMER_RUNNING;
    c->started_ms = now_ms;
    c->running = true;
    return 0;
}

/* Pauses the timer at now_ms, adding the current run to used_ms. Returns 0,
 * or CODEV_E_TIMER_STOPPED and changes nothing when it is not running. */
int clock_pause(struct clock *c, int64_t now_ms)
{
    if (!c->running)
        return CODEV_E_TIMER_STOPPED;
    c->used_ms += clock_run_ms(c, now_ms);
    c->running = false;
    return 0;
}

/* Adds delta_ms to the budget. Returns 0, or CODEV_E_BAD_DURATION and
 * changes nothing when the new budget would leave [0, CLOCK_BUDGET_MAX_MS].
 * The comparisons are arranged so that no extreme delta overflows: the
 * budget is never negative, so adding a negative delta cannot overflow. */
int clock_add(struct clock *c, int64_t delta_ms, int64_t now_ms)
{
    if (clock_untimed(c) && delta_ms > 0)
        return clock_set_remaining(c, delta_ms, now_ms);
    if (delta_ms > 0 && c->budget_ms > CLOCK_BUDGET_MAX_MS - delta_ms)
        return CODEV_E_BAD_DURATION;
    if (delta_ms < 0 && c->budget_ms + delta_ms < 0)
        return CODEV_E_BAD_DURATION;
    c->budget_ms += delta_ms;
    return 0;
}

/* Sets the budget to the time used at now_ms plus remaining_ms, so that
 * clock_remaining(c, now_ms) == remaining_ms; remaining_ms 0 makes the step
 * untimed (budget 0): "no time left" would read as an overrun from the
 * next millisecond on (issue 12's "+0:02 sur 0 min"). Returns 0, or
 * CODEV_E_BAD_DURATION and changes nothing when remaining_ms lies outside
 * [0, CLOCK_BUDGET_MAX_MS]. The running state is left as it was. */
int clock_set_remaining(struct clock *c, int64_t remaining_ms, int64_t now_ms)
{
    if (remaining_ms < 0 || remaining_ms > CLOCK_BUDGET_MAX_MS)
        return CODEV_E_BAD_DURATION;
    c->budget_ms = remaining_ms ? clock_used(c, now_ms) + remaining_ms : 0;
    return 0;
}

/* Returns true when the step is untimed (budget 0). */
bool clock_untimed(const struct clock *c)
{
    return c->budget_ms == 0;
}

/* Returns the time used at now_ms: completed runs plus the current one. */
int64_t clock_used(const struct clock *c, int64_t now_ms)
{
    return c->used_ms + clock_run_ms(c, now_ms);
}

/* Returns budget - used at now_ms; negative once the step overruns; 0 for
 * an untimed step. */
int64_t clock_remaining(const struct clock *c, int64_t now_ms)
{
    if (clock_untimed(c))
        return 0;
    return c->budget_ms - clock_used(c, now_ms);
}
