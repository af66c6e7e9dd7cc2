/*
 * ical.h - the next session as an iCalendar file (RFC 5545): one VCALENDAR
 * holding one VEVENT, for every member to add to their calendar.
 *
 * Invariants: pure (libc only, no clock: the stamp is passed); lines end
 * in CRLF and are folded at 75 octets without splitting a UTF-8 sequence;
 * TEXT values are escaped (backslash, semicolon, comma, newline); times are
 * UTC ("Z"), so no VTIMEZONE is needed. The event holds the group's name,
 * the instant, the duration and the link: never a case text. Expected
 * load: a download now and then per member.
 */
#ifndef CODEV_ICAL_H
#define CODEV_ICAL_H

#include <stddef.h>
#include <stdint.h>

struct ical_event {
    const char *uid;       /* stable per group and session slot */
    int64_t stamp_ms;      /* DTSTAMP: when the file is made */
    int64_t start_ms;      /* DTSTART (UTC) */
    int duration_min;      /* DTEND = start + duration */
    uint32_t sequence;     /* SEQUENCE: grows with every change */
    const char *summary;   /* the group's name */
    const char *time_zone; /* the group's zone, for X-WR-TIMEZONE, or NULL */
    const char *url;       /* the video-call link, or NULL */
};

/* Returns the file's text (malloc'd, NUL-terminated; *len bytes without
 * the NUL), or NULL on allocation failure. */
char *ical_event_text(const struct ical_event *ev, size_t *len);

#endif
