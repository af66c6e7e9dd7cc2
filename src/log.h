/*
 * log.h - the one logging family of codevd (log_err ... log_debug).
 *
 * The level is checked before the arguments are evaluated, so a debug line
 * costs a comparison when debug is off. Lines go to stderr, one per event,
 * as key=value pairs: ts (UTC), level, msg (quoted, escaped: log.c).
 * libwebsockets' own errors and warnings are routed here too.
 *
 * What may be logged: connection ids, group and session ids, error codes,
 * counts, sizes and timings. Never card text, names of people, member keys
 * or invite codes: the edges log ids only, and the core does not log.
 */
#ifndef CODEV_LOG_H
#define CODEV_LOG_H

#include "config.h"

/* The current level: set by log_init at start-up and again by a SIGHUP
 * reload (the loop thread), read by any thread that logs (the journal's
 * writer, export jobs, libwebsockets): atomic, so that a reload is never a
 * data race; on x86 and arm64 a plain load. */
extern _Atomic enum config_log_level log_level_current;

void log_init(enum config_log_level level);

/* Writes one line at level (callers go through the macros). */
void log_write(enum config_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_at(level, ...)                                                               \
    do {                                                                                 \
        if ((level) <= log_level_current)                                                \
            log_write((level), __VA_ARGS__);                                             \
    } while (0)

#define log_err(...)    log_at(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...)   log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_notice(...) log_at(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)  log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
