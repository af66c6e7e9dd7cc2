/*
 * log.c - one line per event to stderr, as key=value pairs (logfmt), which
 * journald keeps and a log shipper parses without a pattern:
 *
 *   ts=2026-12-01T10:00:00.123Z level=notice msg="codevd 0.1.0 listening on ..."
 *
 * (see log.h for what may be logged). Inside msg's quotes, a quote or a
 * backslash is escaped with a backslash and a control character written
 * \xNN, so that no text (a client's path, a header lws reports) can end
 * the value early or forge a second line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

_Atomic enum config_log_level log_level_current = LOG_LEVEL_NOTICE;

static const char *const level_name[] = {"error", "warn", "notice", "info", "debug"};

void log_init(enum config_log_level level)
{
    log_level_current = level;
}

void log_write(enum config_log_level level, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32], line[1024];
    va_list ap;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* One event, one line: a control character from a client (a path, a
     * header lws reports) could forge another line. Shown as \xNN. */
    flockfile(stderr);
    fprintf(stderr, "ts=%s.%03ldZ level=%s msg=\"", stamp, ts.tv_nsec / 1000000,
            level_name[level]);
    for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else if (*p == '"' || *p == '\\')
            fprintf(stderr, "\\%c", *p);
        else
            putc_unlocked(*p, stderr);
    }
    if ((size_t)n >= sizeof(line))
        fputs("...", stderr);
    fputs("\"\n", stderr);
    funlockfile(stderr);
}
