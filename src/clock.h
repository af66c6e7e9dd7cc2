/*
 * clock.h - step timer arithmetic.
 *
 * The server owns the clock. A step timer has a budget, the time already
 * used (accumulated over earlier runs) and, while running, the instant the
 * current run started. Remaining time is budget - used and goes negative on
 * overrun: it is shown, never cut. A budget of 0 makes the step untimed:
 * the clock still counts the time used, remaining time reads 0 and never
 * goes negative (no overrun). Pure: callers pass now_ms; nothing here
 * reads a clock or allocates.
 */
#ifndef CODEV_CLOCK_H
#define CODEV_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Largest budget a step timer may hold, and largest single adjustment. */
#define CLOCK_BUDGET_MAX_MS (8LL * 3600 * 1000)

struct clock {
    int64_t budget_ms;  /* planned duration of the step, >= 0; 0: untimed */
    int64_t used_ms;    /* time used by completed runs */
    int64_t started_ms; /* start of the current run; meaningful while running */
    bool running;       /* true while the timer counts */
};

/* Resets c to a stopped timer with the given budget and time already used. */
void clock_init(struct clock *c, int64_t budget_ms, int64_t used_ms);

/* Starts or resumes. Returns 0, or CODEV_E_TIMER_RUNNING. */
int clock_start(struct clock *c, int64_t now_ms);

/* Pauses, folding the current run into used_ms. Returns 0, or
 * CODEV_E_TIMER_STOPPED. */
int clock_pause(struct clock *c, int64_t now_ms);

/* Adds delta_ms (may be negative) to the budget. On an untimed clock a
 * positive delta_ms times the step from now_ms, as clock_set_remaining
 * would (delta_ms remain). Returns 0, or CODEV_E_BAD_DURATION when the
 * budget would leave [0, CLOCK_BUDGET_MAX_MS] (a negative delta_ms on an
 * untimed clock too). A budget brought to exactly 0 makes the step
 * untimed. */
int clock_add(struct clock *c, int64_t delta_ms, int64_t now_ms);

/* Sets the budget so that remaining_ms remain at now_ms; 0 makes the step
 * untimed (budget 0). Returns 0, or CODEV_E_BAD_DURATION when remaining_ms
 * is outside [0, CLOCK_BUDGET_MAX_MS]. */
int clock_set_remaining(struct clock *c, int64_t remaining_ms, int64_t now_ms);

/* Is the step untimed (budget 0)? */
bool clock_untimed(const struct clock *c);

/* Time used at now_ms, including the current run. */
int64_t clock_used(const struct clock *c, int64_t now_ms);

/* Remaining time at now_ms; negative on overrun; 0 when untimed. */
int64_t clock_remaining(const struct clock *c, int64_t now_ms);

#endif
