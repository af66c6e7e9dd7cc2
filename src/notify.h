/*
 * notify.h - telling systemd how codevd is doing (sd_notify): READY=1 once
 * it listens with its store loaded, STOPPING=1 when it begins to stop, and
 * WATCHDOG=1 from the loop's timer while the unit asks for it
 * (WatchdogSec=, which systemd passes as WATCHDOG_USEC).
 *
 * Without libsystemd at build time (meson option systemd=disabled, or
 * libsystemd-dev missing) every function is a no-op; without NOTIFY_SOCKET
 * at run time (started by hand, by the tests) too.
 *
 * Expected load: notify_watchdog runs at every timer wake-up (up to 50 a
 * second) and sends at most one datagram per half watchdog period.
 */
#ifndef CODEV_NOTIFY_H
#define CODEV_NOTIFY_H

#include <stdint.h>

/* Sends READY=1 with a status line, and reads whether the watchdog is on
 * (WATCHDOG_USEC). Main thread, once, before the loop runs. */
void notify_ready(void);

/* Sends STOPPING=1. Main thread, once the loop stopped. */
void notify_stopping(void);

/* Sends WATCHDOG=1 when half the watchdog period passed since the last
 * one; mono_ms is the monotonic clock. Loop thread (timer.c). */
void notify_watchdog(int64_t mono_ms);

#endif
