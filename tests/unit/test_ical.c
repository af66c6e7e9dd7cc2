/*
 * test_ical.c - the next session as an iCalendar file (ical.c, RFC 5545):
 * CRLF line ends, folding at 75 octets that never splits a UTF-8
 * sequence, TEXT escaping of backslash, semicolon, comma and newline,
 * control characters dropped, one VEVENT with its UID, DTSTAMP, DTSTART and
 * DTEND in UTC. The integration test (group-life) parses the file with
 * python3-icalendar; this one checks the octets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ical.h"

static char *make(const char *summary, const char *url, size_t *len)
{
    struct ical_event ev = {.uid = "11111111-2222-4333-8444-555555555555-3@codevd",
                            .stamp_ms = 1700000000000LL,
                            .start_ms = 1920000000000LL,
                            .duration_min = 90,
                            .sequence = 7,
                            .summary = summary,
                            .time_zone = "Europe/Paris",
                            .url = url};
    char *text = ical_event_text(&ev, len);

    assert_non_null(text);
    assert_int_equal(strlen(text), *len);
    return text;
}

/* Undoes the folding (RFC 5545 3.1): CRLF followed by one space goes. */
static char *unfold(const char *text)
{
    char *out = malloc(strlen(text) + 1);
    size_t o = 0;

    assert_non_null(out);
    for (size_t i = 0; text[i]; i++) {
        if (text[i] == '\r' && text[i + 1] == '\n' && text[i + 2] == ' ') {
            i += 2;
            continue;
        }
        out[o++] = text[i];
    }
    out[o] = '\0';
    return out;
}

/* Whether s[0..n) is whole UTF-8: it neither starts nor ends inside a
 * sequence. */
static bool utf8_whole(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if ((c & 0xc0) == 0x80 || i + k > n)
            return false;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xc0) != 0x80)
                return false;
        i += k;
    }
    return true;
}

static void every_line_ends_in_crlf_and_is_at_most_75_octets(void **state)
{
    /* 60 characters of 2 and 3 bytes, and a 480-byte link: both fold. */
    char summary[256] = "", url[600] = "https://meet.example.org/";
    size_t len, lines = 0, folded = 0;
    char *text;

    (void)state;
    for (int i = 0; i < 20; i++)
        strcat(summary, "é€a");
    while (strlen(url) < 480)
        strcat(url, "abcdefghij");
    text = make(summary, url, &len);
    for (const char *p = text; *p;) {
        const char *end = strstr(p, "\r\n");
        assert_non_null(end); /* the last line ends in CRLF too */
        assert_true(end - p <= 75);
        assert_null(memchr(p, '\n', (size_t)(end - p)));
        /* A folded line's continuation starts with one space, and no line
         * cuts a UTF-8 sequence in two. */
        folded += *p == ' ';
        assert_true(utf8_whole(*p == ' ' ? p + 1 : p, (size_t)(end - p) - (*p == ' ')));
        lines++;
        p = end + 2;
    }
    assert_true(folded >= 8); /* 140-byte SUMMARY, 484-byte URL and LOCATION */
    assert_true(lines > 15);
    free(text);
}

static void folding_is_undone_by_unfolding(void **state)
{
    char summary[256] = "", url[600] = "https://meet.example.org/", *want;
    size_t len;
    char *text, *flat;

    (void)state;
    for (int i = 0; i < 20; i++)
        strcat(summary, "é€a");
    while (strlen(url) < 480)
        strcat(url, "abcdefghij");
    text = make(summary, url, &len);
    flat = unfold(text);
    want = malloc(strlen(summary) + 16);
    assert_non_null(want);
    sprintf(want, "\r\nSUMMARY:%s\r\n", summary);
    assert_non_null(strstr(flat, want));
    free(want);
    want = malloc(strlen(url) + 16);
    assert_non_null(want);
    sprintf(want, "\r\nURL:%s\r\n", url);
    assert_non_null(strstr(flat, want));
    free(want);
    free(flat);
    free(text);
}

static void text_values_are_escaped_and_controls_dropped(void **state)
{
    size_t len;
    char *text, *flat;

    (void)state;
    text = make("Nord, Sud; Est \\ Ouest\nsecond line\x01\x7f\rend",
                "https://x.org/?a=1,2;3", &len);
    flat = unfold(text);
    assert_non_null(
        strstr(flat, "\r\nSUMMARY:Nord\\, Sud\\; Est \\\\ Ouest\\nsecond lineend\r\n"));
    /* The URL is a URI (not TEXT): as is; LOCATION is TEXT: escaped. */
    assert_non_null(strstr(flat, "\r\nURL:https://x.org/?a=1,2;3\r\n"));
    assert_non_null(strstr(flat, "\r\nLOCATION:https://x.org/?a=1\\,2\\;3\r\n"));
    free(flat);
    free(text);
}

static void one_vevent_with_uid_stamp_start_end_in_utc(void **state)
{
    size_t len;
    char *text = make("Managers Lyon", NULL, &len);
    const char *ev;

    (void)state;
    assert_true(strncmp(text, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:", 37) == 0);
    ev = strstr(text, "BEGIN:VEVENT\r\n");
    assert_non_null(ev);
    assert_null(strstr(ev + 1, "BEGIN:VEVENT"));
    assert_non_null(
        strstr(ev, "\r\nUID:11111111-2222-4333-8444-555555555555-3@codevd\r\n"));
    assert_non_null(strstr(ev, "\r\nDTSTAMP:20231114T221320Z\r\n"));
    assert_non_null(strstr(ev, "\r\nDTSTART:20301104T052000Z\r\n"));
    assert_non_null(strstr(ev, "\r\nDTEND:20301104T065000Z\r\n"));
    assert_non_null(strstr(ev, "\r\nSEQUENCE:7\r\n"));
    assert_non_null(strstr(text, "\r\nX-WR-TIMEZONE:Europe/Paris\r\n"));
    assert_null(strstr(text, "URL:"));
    assert_null(strstr(text, "LOCATION:"));
    assert_true(len > 14 && strcmp(text + len - 15, "END:VCALENDAR\r\n") == 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_line_ends_in_crlf_and_is_at_most_75_octets),
        cmocka_unit_test(folding_is_undone_by_unfolding),
        cmocka_unit_test(text_values_are_escaped_and_controls_dropped),
        cmocka_unit_test(one_vevent_with_uid_stamp_start_end_in_utc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
