/*
 * ical.c - one VEVENT in one VCALENDAR (see ical.h). Each content line is
 * built whole, then written folded: a line longer than 75 octets goes on
 * over continuation lines that start with one space (RFC 5545 3.1).
 */
#include "ical.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ical_buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void buf_put(struct ical_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(np = realloc(b->p, cap))) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Writes one content line, folded at 75 octets, ending in CRLF. */
static void line_put(struct ical_buf *b, const char *line)
{
    size_t n = strlen(line), i = 0, room = 75;

    while (i < n) {
        size_t take = n - i <= room ? n - i : room;
        /* Never split a UTF-8 sequence: back up to a lead byte. */
        while (take > 0 && i + take < n && ((unsigned char)line[i + take] & 0xc0) == 0x80)
            take--;
        if (i > 0)
            buf_put(b, " ", 1);
        buf_put(b, line + i, take);
        buf_put(b, "\r\n", 2);
        i += take;
        room = 74; /* the leading space counts */
    }
    if (n == 0)
        buf_put(b, "\r\n", 2);
}

/* name:value with value escaped as TEXT (3.3.11); control characters go. */
static void text_prop(struct ical_buf *b, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    char *line = malloc(n + 1 + 2 * v + 1);
    size_t o = 0;

    if (!line) {
        b->failed = true;
        return;
    }
    memcpy(line, name, n);
    o = n;
    line[o++] = ':';
    for (size_t i = 0; i < v; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '\\' || c == ';' || c == ',') {
            line[o++] = '\\';
            line[o++] = (char)c;
        } else if (c == '\n') {
            line[o++] = '\\';
            line[o++] = 'n';
        } else if (c >= 0x20 && c != 0x7f) {
            line[o++] = (char)c;
        }
    }
    line[o] = '\0';
    line_put(b, line);
    free(line);
}

/* name:value as is (a URI or a value codevd made). */
static void raw_prop(struct ical_buf *b, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    char *line = malloc(n + v + 2);

    if (!line) {
        b->failed = true;
        return;
    }
    memcpy(line, name, n);
    line[n] = ':';
    memcpy(line + n + 1, value, v + 1);
    line_put(b, line);
    free(line);
}

/* An instant as a UTC DATE-TIME: 20250314T173000Z. */
static void utc_prop(struct ical_buf *b, const char *name, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char value[32];

    if (!gmtime_r(&t, &tm) || !strftime(value, sizeof(value), "%Y%m%dT%H%M%SZ", &tm)) {
        b->failed = true;
        return;
    }
    raw_prop(b, name, value);
}

char *ical_event_text(const struct ical_event *ev, size_t *len)
{
    struct ical_buf b = {0};
    char seq[16];

    line_put(&b, "BEGIN:VCALENDAR");
    line_put(&b, "VERSION:2.0");
    line_put(&b, "PRODID:-//codevd//codevd//EN");
    line_put(&b, "CALSCALE:GREGORIAN");
    line_put(&b, "METHOD:PUBLISH");
    if (ev->time_zone && ev->time_zone[0])
        text_prop(&b, "X-WR-TIMEZONE", ev->time_zone);
    line_put(&b, "BEGIN:VEVENT");
    raw_prop(&b, "UID", ev->uid);
    utc_prop(&b, "DTSTAMP", ev->stamp_ms);
    utc_prop(&b, "DTSTART", ev->start_ms);
    utc_prop(&b, "DTEND", ev->start_ms + (int64_t)ev->duration_min * 60000);
    snprintf(seq, sizeof(seq), "%u", ev->sequence);
    raw_prop(&b, "SEQUENCE", seq);
    text_prop(&b, "SUMMARY", ev->summary ? ev->summary : "");
    if (ev->url && ev->url[0]) {
        raw_prop(&b, "URL", ev->url);
        text_prop(&b, "LOCATION", ev->url);
    }
    line_put(&b, "END:VEVENT");
    line_put(&b, "END:VCALENDAR");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
