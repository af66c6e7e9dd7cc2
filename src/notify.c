/*
 * notify.c - sd_notify for the systemd unit (Type=notify): see notify.h.
 *
 * Invariants: the watchdog interval is read once (notify_ready) and
 * pings go only while it is non-zero; without libsystemd nothing is sent.
 * Expected load: one comparison per timer wake-up, one datagram per half
 * watchdog period.
 */
#include "notify.h"

#include "codevd_config.h"

#if CODEVD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static int64_t watchdog_half_ms; /* 0: no watchdog */
static int64_t watchdog_last_ms;

void notify_ready(void)
{
    uint64_t usec = 0;

    if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000)
        watchdog_half_ms = (int64_t)(usec / 2000);
    sd_notify(0, "READY=1\nSTATUS=serving");
}

void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void notify_watchdog(int64_t mono_ms)
{
    if (!watchdog_half_ms || mono_ms - watchdog_last_ms < watchdog_half_ms)
        return;
    watchdog_last_ms = mono_ms;
    sd_notify(0, "WATCHDOG=1");
}
#else
void notify_ready(void)
{
}

void notify_stopping(void)
{
}

void notify_watchdog(int64_t mono_ms)
{
    (void)mono_ms;
}
#endif
