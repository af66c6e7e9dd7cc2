/*
 * export_doc.c - the document writer of the exports: headings, paragraphs,
 * lists, tables and labelled fields, rendered as Markdown or as printable
 * HTML (see export_internal.h).
 *
 * Invariants:
 *   - doc_text() is the one place that escapes text people wrote: HTML
 *     entities in HTML; in Markdown a backslash before every markup
 *     character and before a list marker at the start of a line. Nothing
 *     else appends such text.
 *   - After a failed allocation the doc drops everything and doc_finish()
 *     returns NULL; no caller checks in between.
 *
 * Expected load: one document per export request, a few kilobytes to a
 * few megabytes (a long journal), written in one pass.
 */
#include "export_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void doc_mem(struct doc *o, const char *s, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        char *nb;
        while (cap < o->len + n + 1)
            cap *= 2;
        nb = realloc(o->buf, cap);
        if (!nb) {
            o->failed = true;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

void doc_str(struct doc *o, const char *s)
{
    doc_mem(o, s, strlen(s));
}

/* Appends formatted markup or numbers (never text someone wrote). */
void doc_fmt(struct doc *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        doc_mem(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void doc_md_indent(struct doc *o)
{
    for (int i = 0; i < o->depth; i++)
        doc_str(o, "  ");
}

/* Characters that Markdown (CommonMark) could read as markup or raw HTML;
 * a backslash makes each one literal. */
static const char md_special[] = "\\`*_[]<>#|~&";

/*
 * Appends text someone wrote (a card, a name), escaped for the format:
 * HTML entities for & < > " ', <br> for a line break; in Markdown a
 * backslash before each markup character and before a list marker at the
 * start of a line, continuation lines indented to stay in their list item.
 * Carriage returns and other C0 controls but tab are dropped. NULL is "".
 */
void doc_text(struct doc *o, const char *s)
{
    for (const char *p = s; p && *p; p++) {
        char c = *p;
        if (c == '\r' || ((unsigned char)c < 0x20 && c != '\n' && c != '\t'))
            continue;
        if (o->fmt == EXPORT_HTML) {
            switch (c) {
            case '&':
                doc_str(o, "&amp;");
                continue;
            case '<':
                doc_str(o, "&lt;");
                continue;
            case '>':
                doc_str(o, "&gt;");
                continue;
            case '"':
                doc_str(o, "&quot;");
                continue;
            case '\'':
                doc_str(o, "&#39;");
                continue;
            case '\n':
                doc_str(o, "<br>");
                continue;
            default:
                break;
            }
        } else if (c == '\n') {
            if (o->in_table) {
                doc_str(o, " ");
            } else {
                doc_str(o, "\n");
                doc_md_indent(o);
                o->line_start = true;
            }
            continue;
        } else {
            if (o->line_start && (c == '-' || c == '+' || c == '='))
                doc_str(o, "\\");
            else if (strchr(md_special, c))
                doc_str(o, "\\");
        }
        o->line_start = false;
        doc_mem(o, &c, 1);
    }
}

void doc_label(struct doc *o, enum label l)
{
    doc_str(o, labels_get(o->lang, l));
}

/* "Label : " (fr) or "Label: " (en), in bold. */
void doc_field_label(struct doc *o, enum label l)
{
    const char *colon = o->lang == LABEL_FR ? " :" : ":";

    doc_str(o, o->fmt == EXPORT_HTML ? "<strong>" : "**");
    doc_label(o, l);
    doc_str(o, colon);
    doc_str(o, o->fmt == EXPORT_HTML ? "</strong> " : "** ");
}

/* An instant as "2025-11-28 14:05 UTC". */
void doc_date(struct doc *o, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];

    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, sizeof(buf), "%" PRId64, ms);
    doc_str(o, buf);
}

/* A duration as m:ss (minutes may exceed 59). */
void doc_duration(struct doc *o, int64_t ms)
{
    int64_t s = ms > 0 ? (ms + 500) / 1000 : 0;

    doc_fmt(o, "%" PRId64 ":%02d", s / 60, (int)(s % 60));
}

void doc_sep(struct doc *o)
{
    doc_str(o, " · ");
}

void doc_begin(struct doc *o, enum label title, const char *subject)
{
    if (o->fmt == EXPORT_HTML) {
        doc_fmt(
            o,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>",
            o->lang == LABEL_EN ? "en" : "fr");
        doc_label(o, title);
        doc_str(o, " — ");
        doc_text(o, subject);
        doc_str(o, "</title>\n<link rel=\"stylesheet\" href=\"/print.css\">\n</head>\n"
                   "<body>\n<main class=\"export\">\n<h1>");
        doc_label(o, title);
        doc_str(o, " — ");
        doc_text(o, subject);
        doc_str(o, "</h1>\n");
    } else {
        doc_str(o, "# ");
        doc_label(o, title);
        doc_str(o, " — ");
        doc_text(o, subject);
        doc_str(o, "\n\n");
    }
}

void doc_end(struct doc *o)
{
    if (o->fmt == EXPORT_HTML)
        doc_str(o, "</main>\n</body>\n</html>\n");
}

void doc_heading_begin(struct doc *o, int level)
{
    if (o->fmt == EXPORT_HTML) {
        doc_fmt(o, "<h%d>", level);
    } else {
        for (int i = 0; i < level; i++)
            doc_str(o, "#");
        doc_str(o, " ");
    }
}

void doc_heading_end(struct doc *o, int level)
{
    if (o->fmt == EXPORT_HTML)
        doc_fmt(o, "</h%d>\n", level);
    else
        doc_str(o, "\n\n");
}

void doc_heading(struct doc *o, int level, enum label l)
{
    doc_heading_begin(o, level);
    doc_label(o, l);
    doc_heading_end(o, level);
}

void doc_para_begin(struct doc *o)
{
    if (o->fmt == EXPORT_HTML)
        doc_str(o, "<p>");
    o->line_start = true;
}

void doc_para_end(struct doc *o)
{
    doc_str(o, o->fmt == EXPORT_HTML ? "</p>\n" : "\n\n");
}

/* A paragraph "Label : text". */
void doc_field(struct doc *o, enum label l, const char *text)
{
    doc_para_begin(o);
    doc_field_label(o, l);
    o->line_start = false;
    doc_text(o, text);
    doc_para_end(o);
}

/* A paragraph holding a label only, in italics ("Nothing yet."). */
void doc_empty_note(struct doc *o, enum label l)
{
    if (o->fmt == EXPORT_HTML) {
        doc_str(o, "<p class=\"empty\"><em>");
        doc_label(o, l);
        doc_str(o, "</em></p>\n");
    } else {
        doc_str(o, "_");
        doc_label(o, l);
        doc_str(o, "_\n\n");
    }
}

void doc_list_begin(struct doc *o)
{
    if (o->fmt == EXPORT_HTML)
        doc_str(o, "<ul>\n");
    else if (o->depth > 0)
        doc_str(o, "\n");
    o->depth++;
}

void doc_list_end(struct doc *o)
{
    o->depth--;
    if (o->fmt == EXPORT_HTML)
        doc_str(o, "</ul>\n");
    else if (o->depth == 0)
        doc_str(o, "\n");
}

void doc_item_begin(struct doc *o)
{
    if (o->fmt == EXPORT_HTML) {
        doc_str(o, "<li>");
    } else {
        for (int i = 1; i < o->depth; i++)
            doc_str(o, "  ");
        doc_str(o, "- ");
    }
    o->line_start = false;
}

void doc_item_end(struct doc *o)
{
    if (o->fmt == EXPORT_HTML)
        doc_str(o, "</li>\n");
    else if (o->len && o->buf[o->len - 1] != '\n')
        doc_str(o, "\n");
}

/* A table with n header cells. */
void doc_table_begin(struct doc *o, const enum label *heads, int n)
{
    if (o->fmt == EXPORT_HTML) {
        doc_str(o, "<table>\n<thead><tr>");
        for (int i = 0; i < n; i++) {
            doc_str(o, "<th>");
            doc_label(o, heads[i]);
            doc_str(o, "</th>");
        }
        doc_str(o, "</tr></thead>\n<tbody>\n");
    } else {
        doc_str(o, "|");
        for (int i = 0; i < n; i++) {
            doc_str(o, " ");
            doc_label(o, heads[i]);
            doc_str(o, " |");
        }
        doc_str(o, "\n|");
        for (int i = 0; i < n; i++)
            doc_str(o, "---|");
        doc_str(o, "\n");
    }
    o->in_table = true;
}

void doc_row_begin(struct doc *o)
{
    doc_str(o, o->fmt == EXPORT_HTML ? "<tr>" : "|");
}

void doc_row_end(struct doc *o)
{
    doc_str(o, o->fmt == EXPORT_HTML ? "</tr>\n" : "\n");
}

void doc_cell_begin(struct doc *o)
{
    doc_str(o, o->fmt == EXPORT_HTML ? "<td>" : " ");
    o->line_start = false;
}

void doc_cell_end(struct doc *o)
{
    doc_str(o, o->fmt == EXPORT_HTML ? "</td>" : " |");
}

void doc_table_end(struct doc *o)
{
    o->in_table = false;
    doc_str(o, o->fmt == EXPORT_HTML ? "</tbody>\n</table>\n" : "\n");
}

/* Hands the buffer over (NULL after a failed allocation). */
char *doc_finish(struct doc *o, size_t *len)
{
    if (o->failed || !o->buf) {
        free(o->buf);
        return NULL;
    }
    *len = o->len;
    return o->buf;
}

static enum label_lang doc_lang_of(const struct export_context *ctx)
{
    return ctx->group && strcmp(ctx->group->language, "en") == 0 ? LABEL_EN : LABEL_FR;
}

bool doc_init(struct doc *o, const struct export_context *ctx, enum export_format fmt)
{
    memset(o, 0, sizeof(*o));
    o->fmt = fmt;
    o->lang = doc_lang_of(ctx);
    return fmt == EXPORT_MARKDOWN || fmt == EXPORT_HTML;
}
