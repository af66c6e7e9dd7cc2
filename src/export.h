/*
 * export.h - what a person takes home: "my journal" (journal de bord), the
 * facilitator's history of past sessions, and the full minutes of a
 * session under retention "keep", as JSON, Markdown or a printable HTML
 * page (DESIGN.md section 5; proto/README.md section 1).
 *
 * Pure formatting: the inputs are what the store read (store_journal,
 * store_history) or rebuilt (a closed room), plus the group for its name,
 * language and member names. No I/O, no clock (now_ms is a parameter), no
 * lws, no SQL: jansson and libc only, so that every byte of every format
 * is unit-tested (tests/unit/test_export.c).
 *
 * Invariants:
 *   - Every piece of text a person wrote is escaped for its format: HTML
 *     escapes & < > " ' (a page can carry no markup, script or style of
 *     anyone's making); Markdown backslash-escapes the characters that make
 *     markup or raw HTML, so that a renderer shows the text as written.
 *   - The HTML page holds no script and no inline style (the server's CSP
 *     forbids both): its only style is the stylesheet /print.css.
 *   - Headings and labels follow the group's language ("fr" or "en"); all
 *     of them are in one table in export.c.
 *   - An export shows only what its input holds: the caller decides what
 *     is whose (the store reads one member's journal; minutes are encoded
 *     as the view of no member, without private notes, marks or refocus
 *     signals).
 *
 * Expected load: rare (a person exports a few times a year); the work is
 * linear in the input, which the callers keep small.
 */
#ifndef CODEV_EXPORT_H
#define CODEV_EXPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "room.h"
#include "store.h"

enum export_format {
    EXPORT_JSON,     /* application/json */
    EXPORT_MARKDOWN, /* text/markdown */
    EXPORT_HTML      /* text/html: a printable page */
};

/* What an export is about. Everything is borrowed for the call. */
struct export_context {
    const struct hub_group *group; /* its id, name, language; member names */
    const char *member_id;         /* the journal's owner (journal only) */
    int64_t now_ms;                /* when the export is made */
};

/* Parses a format's wire name: "json", "md" or "html". Returns 0 and sets
 * *out, or -1 for any other name (*out unchanged). */
int export_format_from_name(const char *name, enum export_format *out);

/* The Content-Type of a text format ("text/markdown; charset=utf-8" or
 * "text/html; charset=utf-8"), "application/json" for EXPORT_JSON. Static. */
const char *export_content_type(enum export_format fmt);

/*
 * The member's journal: {"member", "group", "exported_ms", "learnings",
 * "notes", "cases", "plans"} (proto/schema/http/journal.json). Returns a
 * new reference, or NULL on allocation failure.
 */
json_t *export_journal_json(const struct store_journal *j,
                            const struct export_context *ctx);

/*
 * The history of the group's closed sessions: {"group_id", "sessions",
 * "members"} with per-step planned and used durations, the client and the
 * facilitator of each consultation, and per member how often they were
 * client and facilitator (proto/schema/http/history.json). Returns a new
 * reference, or NULL on allocation failure.
 */
json_t *export_history_json(const struct store_history *h,
                            const struct export_context *ctx);

/*
 * Who next: per current member (room order of the group) how often and
 * when last they were client (consultations) and facilitator (sessions),
 * and the suggested order of the next clients and facilitators: members
 * who never were first, then the least recent; observers are listed but
 * never suggested (proto/schema/http/rotation.json). Returns a new
 * reference, or NULL on allocation failure.
 */
json_t *export_rotation_json(const struct store_history *h,
                             const struct export_context *ctx);

/*
 * The same as text: fmt is EXPORT_MARKDOWN or EXPORT_HTML. Returns a new
 * NUL-terminated buffer (the caller frees it) and sets *len to its length
 * without the NUL, or returns NULL on allocation failure or for
 * EXPORT_JSON.
 */
char *export_journal_text(const struct store_journal *j, const struct export_context *ctx,
                          enum export_format fmt, size_t *len);
char *export_history_text(const struct store_history *h, const struct export_context *ctx,
                          enum export_format fmt, size_t *len);

/*
 * The minutes of the closed room r (borrowed) as text, seen by no member:
 * members, debriefs, check-ins, topics, then each consultation (client,
 * problem, questions and answers, reformulations, contract, contributions,
 * action plan, learnings). Never private notes, "à retenir" marks or
 * refocus counts. Same return convention as export_journal_text.
 */
char *export_minutes_text(const struct room *r, const struct export_context *ctx,
                          enum export_format fmt, size_t *len);

#endif
