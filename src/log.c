/*
 * log.c - timestamped lines to stderr (see log.h for what may be logged).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum config_log_level log_level_current = LOG_LEVEL_NOTICE;

static const char *const level_tag[] = {"E", "W", "N", "I", "D"};

void log_init(enum config_log_level level)
{
    log_level_current = level;
}

void log_write(enum config_log_level level, const char *fmt, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    flockfile(stderr);
    fprintf(stderr, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000, level_tag[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
