/*
 * export.c - journal, history and minutes as JSON, Markdown and printable
 * HTML (see export.h).
 *
 * The text formats are written once, against a tiny document writer
 * (headings, paragraphs, lists, tables, labelled fields), which renders
 * either Markdown or HTML: both formats always say the same thing. Text
 * that people wrote goes through out_text(), the one place that escapes;
 * labels come from labels.h (the web client's dictionaries), in French and
 * English.
 */
#include "export.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "protocol.h"

/* ---- labels (labels.h) ------------------------------------------------------ */

static enum label_lang lang_of(const struct export_context *ctx)
{
    return ctx->group && strcmp(ctx->group->language, "en") == 0 ? LABEL_EN : LABEL_FR;
}

static enum label step_label(enum step s)
{
    return s < STEP_COUNT ? (enum label)(L_STEP_OPENING + (int)s) : L_STEP_CLOSED;
}

static enum label kind_label(int kind)
{
    return kind == KIND_EXPERIENCE ? L_KIND_EXPERIENCE
           : kind == KIND_FEELING  ? L_KIND_FEELING
                                   : L_KIND_SUGGESTION;
}

static enum label dim_label(int dim)
{
    return dim == DIM_PROCESS ? L_DIM_PROCESS : L_DIM_CONTENT;
}

static enum label outcome_label(int outcome)
{
    switch (outcome) {
    case OUTCOME_DONE:
        return L_OUTCOME_DONE;
    case OUTCOME_PARTLY:
        return L_OUTCOME_PARTLY;
    case OUTCOME_NOT_DONE:
        return L_OUTCOME_NOT_DONE;
    case OUTCOME_DROPPED:
        return L_OUTCOME_DROPPED;
    default:
        return L_NOT_DEBRIEFED;
    }
}

int export_format_from_name(const char *name, enum export_format *out)
{
    if (!name)
        return -1;
    if (strcmp(name, "json") == 0)
        *out = EXPORT_JSON;
    else if (strcmp(name, "md") == 0)
        *out = EXPORT_MARKDOWN;
    else if (strcmp(name, "html") == 0)
        *out = EXPORT_HTML;
    else
        return -1;
    return 0;
}

const char *export_content_type(enum export_format fmt)
{
    switch (fmt) {
    case EXPORT_MARKDOWN:
        return "text/markdown; charset=utf-8";
    case EXPORT_HTML:
        return "text/html; charset=utf-8";
    default:
        return "application/json";
    }
}

/* ---- the document writer ------------------------------------------------------- */

struct out {
    char *buf; /* NUL-terminated once anything was written */
    size_t len, cap;
    bool failed; /* an allocation failed: everything after is dropped */
    enum export_format fmt;
    enum label_lang lang;
    int depth;       /* list nesting */
    bool in_table;   /* Markdown table cell: line breaks become spaces */
    bool line_start; /* Markdown: next text character starts a line */
};

static void out_mem(struct out *o, const char *s, size_t n)
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

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

/* Appends formatted markup or numbers (never text someone wrote). */
__attribute__((format(printf, 2, 3))) static void out_fmt(struct out *o, const char *fmt,
                                                          ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        out_mem(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void out_md_indent(struct out *o)
{
    for (int i = 0; i < o->depth; i++)
        out_str(o, "  ");
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
static void out_text(struct out *o, const char *s)
{
    for (const char *p = s; p && *p; p++) {
        char c = *p;
        if (c == '\r' || ((unsigned char)c < 0x20 && c != '\n' && c != '\t'))
            continue;
        if (o->fmt == EXPORT_HTML) {
            switch (c) {
            case '&':
                out_str(o, "&amp;");
                continue;
            case '<':
                out_str(o, "&lt;");
                continue;
            case '>':
                out_str(o, "&gt;");
                continue;
            case '"':
                out_str(o, "&quot;");
                continue;
            case '\'':
                out_str(o, "&#39;");
                continue;
            case '\n':
                out_str(o, "<br>");
                continue;
            default:
                break;
            }
        } else if (c == '\n') {
            if (o->in_table) {
                out_str(o, " ");
            } else {
                out_str(o, "\n");
                out_md_indent(o);
                o->line_start = true;
            }
            continue;
        } else {
            if (o->line_start && (c == '-' || c == '+' || c == '='))
                out_str(o, "\\");
            else if (strchr(md_special, c))
                out_str(o, "\\");
        }
        o->line_start = false;
        out_mem(o, &c, 1);
    }
}

static void out_label(struct out *o, enum label l)
{
    out_str(o, labels_get(o->lang, l));
}

/* "Label : " (fr) or "Label: " (en), in bold. */
static void out_field_label(struct out *o, enum label l)
{
    const char *colon = o->lang == LABEL_FR ? " :" : ":";

    out_str(o, o->fmt == EXPORT_HTML ? "<strong>" : "**");
    out_label(o, l);
    out_str(o, colon);
    out_str(o, o->fmt == EXPORT_HTML ? "</strong> " : "** ");
}

/* An instant as "2025-11-28 14:05 UTC". */
static void out_date(struct out *o, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];

    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, sizeof(buf), "%" PRId64, ms);
    out_str(o, buf);
}

/* A duration as m:ss (minutes may exceed 59). */
static void out_duration(struct out *o, int64_t ms)
{
    int64_t s = ms > 0 ? (ms + 500) / 1000 : 0;

    out_fmt(o, "%" PRId64 ":%02d", s / 60, (int)(s % 60));
}

static void out_sep(struct out *o)
{
    out_str(o, " · ");
}

static void doc_begin(struct out *o, enum label title, const char *subject)
{
    if (o->fmt == EXPORT_HTML) {
        out_fmt(
            o,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>",
            o->lang == LABEL_EN ? "en" : "fr");
        out_label(o, title);
        out_str(o, " — ");
        out_text(o, subject);
        out_str(o, "</title>\n<link rel=\"stylesheet\" href=\"/print.css\">\n</head>\n"
                   "<body>\n<main class=\"export\">\n<h1>");
        out_label(o, title);
        out_str(o, " — ");
        out_text(o, subject);
        out_str(o, "</h1>\n");
    } else {
        out_str(o, "# ");
        out_label(o, title);
        out_str(o, " — ");
        out_text(o, subject);
        out_str(o, "\n\n");
    }
}

static void doc_end(struct out *o)
{
    if (o->fmt == EXPORT_HTML)
        out_str(o, "</main>\n</body>\n</html>\n");
}

static void heading_begin(struct out *o, int level)
{
    if (o->fmt == EXPORT_HTML) {
        out_fmt(o, "<h%d>", level);
    } else {
        for (int i = 0; i < level; i++)
            out_str(o, "#");
        out_str(o, " ");
    }
}

static void heading_end(struct out *o, int level)
{
    if (o->fmt == EXPORT_HTML)
        out_fmt(o, "</h%d>\n", level);
    else
        out_str(o, "\n\n");
}

static void heading(struct out *o, int level, enum label l)
{
    heading_begin(o, level);
    out_label(o, l);
    heading_end(o, level);
}

static void para_begin(struct out *o)
{
    if (o->fmt == EXPORT_HTML)
        out_str(o, "<p>");
    o->line_start = true;
}

static void para_end(struct out *o)
{
    out_str(o, o->fmt == EXPORT_HTML ? "</p>\n" : "\n\n");
}

/* A paragraph "Label : text". */
static void field(struct out *o, enum label l, const char *text)
{
    para_begin(o);
    out_field_label(o, l);
    o->line_start = false;
    out_text(o, text);
    para_end(o);
}

/* A paragraph holding a label only, in italics ("Nothing yet."). */
static void empty_note(struct out *o, enum label l)
{
    if (o->fmt == EXPORT_HTML) {
        out_str(o, "<p class=\"empty\"><em>");
        out_label(o, l);
        out_str(o, "</em></p>\n");
    } else {
        out_str(o, "_");
        out_label(o, l);
        out_str(o, "_\n\n");
    }
}

static void list_begin(struct out *o)
{
    if (o->fmt == EXPORT_HTML)
        out_str(o, "<ul>\n");
    else if (o->depth > 0)
        out_str(o, "\n");
    o->depth++;
}

static void list_end(struct out *o)
{
    o->depth--;
    if (o->fmt == EXPORT_HTML)
        out_str(o, "</ul>\n");
    else if (o->depth == 0)
        out_str(o, "\n");
}

static void item_begin(struct out *o)
{
    if (o->fmt == EXPORT_HTML) {
        out_str(o, "<li>");
    } else {
        for (int i = 1; i < o->depth; i++)
            out_str(o, "  ");
        out_str(o, "- ");
    }
    o->line_start = false;
}

static void item_end(struct out *o)
{
    if (o->fmt == EXPORT_HTML)
        out_str(o, "</li>\n");
    else if (o->len && o->buf[o->len - 1] != '\n')
        out_str(o, "\n");
}

/* A table with n header cells. */
static void table_begin(struct out *o, const enum label *heads, int n)
{
    if (o->fmt == EXPORT_HTML) {
        out_str(o, "<table>\n<thead><tr>");
        for (int i = 0; i < n; i++) {
            out_str(o, "<th>");
            out_label(o, heads[i]);
            out_str(o, "</th>");
        }
        out_str(o, "</tr></thead>\n<tbody>\n");
    } else {
        out_str(o, "|");
        for (int i = 0; i < n; i++) {
            out_str(o, " ");
            out_label(o, heads[i]);
            out_str(o, " |");
        }
        out_str(o, "\n|");
        for (int i = 0; i < n; i++)
            out_str(o, "---|");
        out_str(o, "\n");
    }
    o->in_table = true;
}

static void row_begin(struct out *o)
{
    out_str(o, o->fmt == EXPORT_HTML ? "<tr>" : "|");
}

static void row_end(struct out *o)
{
    out_str(o, o->fmt == EXPORT_HTML ? "</tr>\n" : "\n");
}

static void cell_begin(struct out *o)
{
    out_str(o, o->fmt == EXPORT_HTML ? "<td>" : " ");
    o->line_start = false;
}

static void cell_end(struct out *o)
{
    out_str(o, o->fmt == EXPORT_HTML ? "</td>" : " |");
}

static void table_end(struct out *o)
{
    o->in_table = false;
    out_str(o, o->fmt == EXPORT_HTML ? "</tbody>\n</table>\n" : "\n");
}

/* Hands the buffer over (NULL after a failed allocation). */
static char *out_finish(struct out *o, size_t *len)
{
    if (o->failed || !o->buf) {
        free(o->buf);
        return NULL;
    }
    *len = o->len;
    return o->buf;
}

static bool out_init(struct out *o, const struct export_context *ctx,
                     enum export_format fmt)
{
    memset(o, 0, sizeof(*o));
    o->fmt = fmt;
    o->lang = lang_of(ctx);
    return fmt == EXPORT_MARKDOWN || fmt == EXPORT_HTML;
}

/* ---- names ------------------------------------------------------------------------ */

/* The display name of a group member (removed members keep theirs), or NULL. */
static const char *member_name(const struct export_context *ctx, const char *id)
{
    const struct hub_member *m;

    if (!ctx->group || !id || !*id)
        return NULL;
    m = hub_member_find(ctx->group, id);
    return m ? m->name : NULL;
}

static const char *room_name(const struct room *r, int idx)
{
    return idx >= 0 && (size_t)idx < r->nmembers ? r->members[idx].name : "?";
}

/* ---- journal: JSON ----------------------------------------------------------------- */

static json_t *int_or_null(int64_t v, bool present)
{
    return present ? json_integer(v) : json_null();
}

static json_t *plan_json(const struct store_plan *p)
{
    const char *outcome = p->outcome >= 0 ? room_outcome_name(p->outcome) : NULL;

    return json_pack(
        "{s:s, s:o, s:o, s:s, s:o, s:b, s:o, s:o}", "id", p->id, "session_id",
        proto_json_string_or_null(p->session_id[0] ? p->session_id : NULL),
        "consultation", int_or_null(p->consultation, p->consultation >= 0), "text",
        p->text, "due", proto_json_string_or_null(p->due), "debriefed", p->debriefed,
        "outcome", proto_json_string_or_null(outcome), "comment",
        proto_json_string_or_null(p->comment));
}

json_t *export_journal_json(const struct store_journal *j,
                            const struct export_context *ctx)
{
    json_t *learnings = json_array(), *notes = json_array(), *cases = json_array(),
           *plans = json_array(), *out = NULL;
    const struct hub_group *g = ctx->group;
    const char *name = member_name(ctx, ctx->member_id);

    if (!learnings || !notes || !cases || !plans)
        goto fail;
    for (size_t i = 0; i < j->nentries; i++) {
        const struct store_entry *e = &j->entries[i];
        json_t *o = json_pack(
            "{s:s, s:o, s:s, s:I, s:s}", "session_id", e->session_id, "consultation",
            int_or_null(e->consultation, e->consultation >= 0), "step",
            step_name(e->step), "at_ms", (json_int_t)e->created_ms, "text", e->text);
        if (!o)
            goto fail;
        if (e->type == CARD_LEARNING) {
            json_object_set_new(o, "dimension",
                                json_string(room_dimension_name(e->variant)));
            json_array_append_new(learnings, o);
        } else {
            json_array_append_new(notes, o);
        }
    }
    for (size_t i = 0; i < j->ncases; i++) {
        const struct store_case *c = &j->cases[i];
        json_t *items = json_array();
        for (size_t k = 0; items && k < c->nitems; k++)
            json_array_append_new(items, json_pack("{s:I, s:s, s:b, s:s}", "card",
                                                   (json_int_t)c->items[k].card, "kind",
                                                   room_kind_name(c->items[k].variant),
                                                   "marked", c->items[k].marked, "text",
                                                   c->items[k].text));
        if (!items ||
            json_array_append_new(
                cases, json_pack("{s:s, s:i, s:I, s:o, s:o, s:o}", "session_id",
                                 c->session_id, "consultation", c->consultation,
                                 "closed_ms", (json_int_t)c->closed_ms, "problem",
                                 proto_json_string_or_null(c->problem), "contract",
                                 proto_json_string_or_null(c->contract), "contributions",
                                 items)))
            goto fail;
    }
    for (size_t i = 0; i < j->nplans; i++)
        if (json_array_append_new(plans, plan_json(&j->plans[i])))
            goto fail;
    out = json_pack("{s:{s:s, s:o}, s:{s:s, s:s, s:s}, s:I, s:o, s:o, s:o, s:o}",
                    "member", "id", ctx->member_id ? ctx->member_id : "", "name",
                    proto_json_string_or_null(name), "group", "id", g ? g->id : "",
                    "name", g ? g->name : "", "language", g ? g->language : "fr",
                    "exported_ms", (json_int_t)ctx->now_ms, "learnings", learnings,
                    "notes", notes, "cases", cases, "plans", plans);
    return out; /* json_pack's "o" stole the arrays, also on failure */
fail:
    json_decref(learnings);
    json_decref(notes);
    json_decref(cases);
    json_decref(plans);
    return NULL;
}

/* ---- journal: text ----------------------------------------------------------------- */

/* One action plan item: whose (when who is not NULL), text, due date,
 * debrief outcome and comment. */
static void plan_item(struct out *o, const struct store_plan *p, const char *who)
{
    item_begin(o);
    if (who) {
        out_text(o, who);
        out_str(o, " — ");
    }
    out_text(o, p->text);
    if (p->due) {
        out_str(o, " (");
        out_label(o, L_DUE);
        out_str(o, o->lang == LABEL_FR ? " : " : ": ");
        out_text(o, p->due);
        out_str(o, ")");
    }
    out_str(o, " — ");
    out_str(o, o->fmt == EXPORT_HTML ? "<em>" : "_");
    if (p->debriefed || p->outcome >= 0) {
        out_label(o, L_DEBRIEF);
        out_str(o, o->lang == LABEL_FR ? " : " : ": ");
    }
    out_label(o, outcome_label(p->outcome));
    out_str(o, o->fmt == EXPORT_HTML ? "</em>" : "_");
    if (p->comment) {
        out_str(o, " — ");
        out_label(o, L_COMMENT);
        out_str(o, o->lang == LABEL_FR ? " : " : ": ");
        out_text(o, p->comment);
    }
    item_end(o);
}

static bool plan_of_case(const struct store_plan *p, const struct store_case *c)
{
    return p->session_id[0] && strcmp(p->session_id, c->session_id) == 0 &&
           p->consultation == c->consultation;
}

static void journal_entries(struct out *o, const struct store_journal *j,
                            enum room_card_type type)
{
    size_t n = 0;

    heading(o, 2, type == CARD_LEARNING ? L_LEARNINGS_MINE : L_NOTES_MINE);
    for (size_t i = 0; i < j->nentries; i++) {
        const struct store_entry *e = &j->entries[i];
        if (e->type != type)
            continue;
        if (n++ == 0)
            list_begin(o);
        item_begin(o);
        out_date(o, e->created_ms);
        out_sep(o);
        out_label(o, type == CARD_LEARNING ? dim_label(e->variant) : step_label(e->step));
        out_str(o, " — ");
        out_text(o, e->text);
        item_end(o);
    }
    if (n)
        list_end(o);
    else
        empty_note(o, L_NOTHING);
}

static void journal_case(struct out *o, const struct store_journal *j,
                         const struct store_case *c, bool *shown)
{
    size_t nplans = 0;

    heading_begin(o, 3);
    out_label(o, L_SESSION_OF);
    out_str(o, " ");
    out_date(o, c->closed_ms);
    out_str(o, " — ");
    out_label(o, L_CONSULTATION);
    out_fmt(o, " %d", c->consultation + 1);
    heading_end(o, 3);
    field(o, L_PROBLEM, c->problem);
    field(o, L_CONTRACT, c->contract);
    heading(o, 4, L_CONTRIBUTIONS_RECEIVED);
    if (c->nitems) {
        list_begin(o);
        for (size_t k = 0; k < c->nitems; k++) {
            item_begin(o);
            out_label(o, kind_label(c->items[k].variant));
            if (c->items[k].marked) {
                out_sep(o);
                out_str(o, o->fmt == EXPORT_HTML ? "<strong class=\"mark\">" : "**");
                out_label(o, L_MARKED);
                out_str(o, o->fmt == EXPORT_HTML ? "</strong>" : "**");
            }
            out_str(o, " — ");
            out_text(o, c->items[k].text);
            item_end(o);
        }
        list_end(o);
    } else {
        empty_note(o, L_NOTHING);
    }
    heading(o, 4, L_ACTION_PLAN);
    for (size_t i = 0; i < j->nplans; i++) {
        if (!plan_of_case(&j->plans[i], c))
            continue;
        if (nplans++ == 0)
            list_begin(o);
        plan_item(o, &j->plans[i], NULL);
        shown[i] = true;
    }
    if (nplans)
        list_end(o);
    else
        empty_note(o, L_NOTHING);
}

char *export_journal_text(const struct store_journal *j, const struct export_context *ctx,
                          enum export_format fmt, size_t *len)
{
    struct out o;
    bool *shown;
    size_t other = 0;
    const char *name = member_name(ctx, ctx->member_id);

    if (!out_init(&o, ctx, fmt))
        return NULL;
    shown = calloc(j->nplans ? j->nplans : 1, sizeof(*shown));
    if (!shown)
        return NULL;
    doc_begin(&o, L_JOURNAL, name ? name : "?");
    para_begin(&o);
    out_field_label(&o, L_GROUP);
    out_text(&o, ctx->group ? ctx->group->name : "");
    out_sep(&o);
    out_label(&o, L_EXPORTED);
    out_str(&o, " ");
    out_date(&o, ctx->now_ms);
    para_end(&o);

    journal_entries(&o, j, CARD_LEARNING);
    journal_entries(&o, j, CARD_NOTE);
    heading(&o, 2, L_CASES_MINE);
    for (size_t i = 0; i < j->ncases; i++)
        journal_case(&o, j, &j->cases[i], shown);
    if (!j->ncases)
        empty_note(&o, L_NOTHING);
    for (size_t i = 0; i < j->nplans; i++) {
        if (shown[i])
            continue;
        if (other++ == 0) {
            heading(&o, 2, L_OTHER_PLANS);
            list_begin(&o);
        }
        plan_item(&o, &j->plans[i], NULL);
    }
    if (other)
        list_end(&o);
    doc_end(&o);
    free(shown);
    return out_finish(&o, len);
}

/* ---- history ----------------------------------------------------------------------- */

static json_t *person_json(const struct export_context *ctx, const char *id)
{
    if (!id || !*id)
        return json_null();
    return json_pack("{s:s, s:o}", "id", id, "name",
                     proto_json_string_or_null(member_name(ctx, id)));
}

static json_t *step_time_json(const struct store_step_time *t)
{
    return json_pack("{s:I, s:I}", "planned_ms", (json_int_t)t->planned_ms, "used_ms",
                     (json_int_t)t->used_ms);
}

/* Per group member (removed ones left out): how often client and
 * facilitator, and when last client. */
struct rotation {
    unsigned as_client, as_facilitator;
    int64_t last_client_ms; /* 0 = never */
};

static struct rotation *rotation_count(const struct store_history *h,
                                       const struct hub_group *g)
{
    struct rotation *rot = calloc(g && g->nmembers ? g->nmembers : 1, sizeof(*rot));

    for (size_t s = 0; rot && g && s < h->nsessions; s++) {
        const struct store_session_history *sh = &h->sessions[s];
        for (size_t c = 0; c < sh->nconsultations; c++) {
            for (size_t m = 0; m < g->nmembers; m++) {
                if (strcmp(g->members[m].id, sh->consultations[c].client) == 0) {
                    rot[m].as_client++;
                    rot[m].last_client_ms = sh->closed_ms;
                }
                if (strcmp(g->members[m].id, sh->consultations[c].facilitator) == 0)
                    rot[m].as_facilitator++;
            }
        }
    }
    return rot;
}

json_t *export_history_json(const struct store_history *h,
                            const struct export_context *ctx)
{
    const struct hub_group *g = ctx->group;
    json_t *sessions = json_array(), *members = json_array();
    struct rotation *rot = rotation_count(h, g);

    if (!sessions || !members || !rot)
        goto fail;
    for (size_t s = 0; s < h->nsessions; s++) {
        const struct store_session_history *sh = &h->sessions[s];
        json_t *cons = json_array();
        for (size_t c = 0; cons && c < sh->nconsultations; c++) {
            const struct store_consultation_history *ch = &sh->consultations[c];
            json_t *steps = json_object();
            for (int k = STEP_TOPIC; steps && k <= STEP_LEARNING; k++)
                json_object_set_new(steps, step_name((enum step)k),
                                    step_time_json(&ch->steps[k]));
            json_array_append_new(
                cons, json_pack("{s:i, s:o, s:o, s:o}", "index", (int)c, "client",
                                person_json(ctx, ch->client), "facilitator",
                                person_json(ctx, ch->facilitator), "steps", steps));
        }
        if (!cons ||
            json_array_append_new(
                sessions, json_pack("{s:s, s:I, s:I, s:o, s:o}", "session_id", sh->id,
                                    "opened_ms", (json_int_t)sh->opened_ms, "closed_ms",
                                    (json_int_t)sh->closed_ms, "opening",
                                    step_time_json(&sh->opening), "consultations", cons)))
            goto fail;
    }
    for (size_t m = 0; g && m < g->nmembers; m++) {
        if (g->members[m].removed)
            continue;
        if (json_array_append_new(
                members,
                json_pack("{s:s, s:s, s:i, s:i, s:o}", "id", g->members[m].id, "name",
                          g->members[m].name, "as_client", (int)rot[m].as_client,
                          "as_facilitator", (int)rot[m].as_facilitator, "last_client_ms",
                          int_or_null(rot[m].last_client_ms, rot[m].as_client > 0))))
            goto fail;
    }
    free(rot);
    return json_pack("{s:s, s:o, s:o}", "group_id", g ? g->id : "", "sessions", sessions,
                     "members", members);
fail:
    free(rot);
    json_decref(sessions);
    json_decref(members);
    return NULL;
}

static void out_person(struct out *o, const struct export_context *ctx, const char *id)
{
    const char *name = member_name(ctx, id);

    if (!id || !*id)
        out_label(o, L_NOBODY);
    else
        out_text(o, name ? name : "?");
}

static void step_row(struct out *o, enum label l, const struct store_step_time *t)
{
    row_begin(o);
    cell_begin(o);
    out_label(o, l);
    cell_end(o);
    cell_begin(o);
    out_duration(o, t->planned_ms);
    cell_end(o);
    cell_begin(o);
    out_duration(o, t->used_ms);
    cell_end(o);
    row_end(o);
}

static void history_session(struct out *o, const struct export_context *ctx,
                            const struct store_session_history *sh)
{
    static const enum label heads[] = {L_STEP, L_PLANNED, L_ACTUAL};

    heading_begin(o, 2);
    out_label(o, L_SESSION_OF);
    out_str(o, " ");
    out_date(o, sh->opened_ms);
    heading_end(o, 2);
    para_begin(o);
    out_field_label(o, L_DURATION);
    out_duration(o, sh->closed_ms - sh->opened_ms);
    para_end(o);
    table_begin(o, heads, 3);
    step_row(o, L_STEP_OPENING, &sh->opening);
    table_end(o);
    for (size_t c = 0; c < sh->nconsultations; c++) {
        const struct store_consultation_history *ch = &sh->consultations[c];
        struct store_step_time total = {0, 0};
        heading_begin(o, 3);
        out_label(o, L_CONSULTATION);
        out_fmt(o, " %zu — ", c + 1);
        out_label(o, L_CLIENT);
        out_str(o, o->lang == LABEL_FR ? " : " : ": ");
        out_person(o, ctx, ch->client);
        out_sep(o);
        out_label(o, L_FACILITATOR);
        out_str(o, o->lang == LABEL_FR ? " : " : ": ");
        out_person(o, ctx, ch->facilitator);
        heading_end(o, 3);
        table_begin(o, heads, 3);
        for (int k = STEP_TOPIC; k <= STEP_LEARNING; k++) {
            step_row(o, step_label((enum step)k), &ch->steps[k]);
            total.planned_ms += ch->steps[k].planned_ms;
            total.used_ms += ch->steps[k].used_ms;
        }
        step_row(o, L_TOTAL, &total);
        table_end(o);
    }
}

char *export_history_text(const struct store_history *h, const struct export_context *ctx,
                          enum export_format fmt, size_t *len)
{
    static const enum label heads[] = {L_MEMBER, L_TIMES_CLIENT, L_TIMES_FACILITATOR,
                                       L_LAST_CLIENT};
    const struct hub_group *g = ctx->group;
    struct rotation *rot;
    struct out o;

    if (!out_init(&o, ctx, fmt))
        return NULL;
    rot = rotation_count(h, g);
    if (!rot)
        return NULL;
    doc_begin(&o, L_HISTORY, g ? g->name : "");
    para_begin(&o);
    out_label(&o, L_EXPORTED);
    out_str(&o, " ");
    out_date(&o, ctx->now_ms);
    para_end(&o);
    heading(&o, 2, L_ROTATION);
    table_begin(&o, heads, 4);
    for (size_t m = 0; g && m < g->nmembers; m++) {
        if (g->members[m].removed)
            continue;
        row_begin(&o);
        cell_begin(&o);
        out_text(&o, g->members[m].name);
        cell_end(&o);
        cell_begin(&o);
        out_fmt(&o, "%u", rot[m].as_client);
        cell_end(&o);
        cell_begin(&o);
        out_fmt(&o, "%u", rot[m].as_facilitator);
        cell_end(&o);
        cell_begin(&o);
        if (rot[m].as_client)
            out_date(&o, rot[m].last_client_ms);
        else
            out_label(&o, L_NEVER);
        cell_end(&o);
        row_end(&o);
    }
    table_end(&o);
    free(rot);
    for (size_t s = h->nsessions; s-- > 0;) /* newest first */
        history_session(&o, ctx, &h->sessions[s]);
    if (!h->nsessions)
        empty_note(&o, L_NO_SESSIONS);
    doc_end(&o);
    return out_finish(&o, len);
}

/* ---- minutes ----------------------------------------------------------------------- */

/* "Name — text" for every shared card of type in consultation ci (-1 for
 * opening), under a heading; nothing when there is none. */
static void minutes_cards(struct out *o, const struct room *r, int ci,
                          enum room_card_type type, enum label title)
{
    size_t n = 0;

    for (size_t i = 0; i < r->ncards; i++) {
        const struct room_card *c = &r->cards[i];
        if (c->type != type || c->consultation != ci || c->removed ||
            !room_card_visible(r, c, -1))
            continue;
        if (n++ == 0) {
            heading(o, ci < 0 ? 2 : 3, title);
            list_begin(o);
        }
        item_begin(o);
        if (type == CARD_CONTRIBUTION) {
            out_label(o, kind_label(c->variant));
            out_sep(o);
        } else if (type == CARD_LEARNING) {
            out_label(o, dim_label(c->variant));
            out_sep(o);
        }
        if (type != CARD_ACTION) {
            out_text(o, room_name(r, c->author));
            out_str(o, " — ");
        }
        out_text(o, c->text);
        if (type == CARD_ACTION && c->due) {
            out_str(o, " (");
            out_label(o, L_DUE);
            out_str(o, o->lang == LABEL_FR ? " : " : ": ");
            out_text(o, c->due);
            out_str(o, ")");
        }
        if (type == CARD_QUESTION && c->flagged) {
            out_str(o, " — ");
            out_str(o, o->fmt == EXPORT_HTML ? "<em>" : "_");
            out_label(o, L_FLAGGED);
            out_str(o, o->fmt == EXPORT_HTML ? "</em>" : "_");
        }
        if (type == CARD_QUESTION && c->answer) {
            list_begin(o);
            item_begin(o);
            out_field_label(o, L_ANSWER);
            out_text(o, c->answer);
            item_end(o);
            list_end(o);
        }
        item_end(o);
    }
    if (n)
        list_end(o);
}

static void minutes_consultation(struct out *o, const struct room *r, size_t ci)
{
    const struct room_consultation *c = &r->consultations[ci];

    heading_begin(o, 2);
    out_label(o, L_CONSULTATION);
    out_fmt(o, " %zu", ci + 1);
    heading_end(o, 2);
    minutes_cards(o, r, (int)ci, CARD_TOPIC, L_TOPICS);
    para_begin(o);
    out_field_label(o, L_CLIENT);
    if (c->client >= 0)
        out_text(o, room_name(r, c->client));
    else
        out_label(o, L_NOBODY);
    para_end(o);
    if (c->problem)
        field(o, L_PROBLEM, c->problem);
    minutes_cards(o, r, (int)ci, CARD_QUESTION, L_QUESTIONS);
    minutes_cards(o, r, (int)ci, CARD_REFORMULATION, L_REFORMULATIONS);
    if (c->contract)
        field(o, L_CONTRACT, c->contract);
    minutes_cards(o, r, (int)ci, CARD_CONTRIBUTION, L_CONTRIBUTIONS);
    minutes_cards(o, r, (int)ci, CARD_ACTION, L_ACTION_PLAN);
    minutes_cards(o, r, (int)ci, CARD_LEARNING, L_LEARNINGS);
}

char *export_minutes_text(const struct room *r, const struct export_context *ctx,
                          enum export_format fmt, size_t *len)
{
    struct out o;

    if (!out_init(&o, ctx, fmt))
        return NULL;
    doc_begin(&o, L_MINUTES, ctx->group ? ctx->group->name : "");
    para_begin(&o);
    out_label(&o, L_SESSION_OF);
    out_str(&o, " ");
    out_date(&o, r->created_ms);
    para_end(&o);
    heading(&o, 2, L_PARTICIPANTS);
    list_begin(&o);
    for (size_t i = 0; i < r->nmembers; i++) {
        if (r->members[i].removed)
            continue;
        item_begin(&o);
        out_text(&o, r->members[i].name);
        if ((int)i == r->facilitator) {
            out_sep(&o);
            out_label(&o, L_FACILITATOR);
        } else if (r->members[i].observer) {
            out_sep(&o);
            out_label(&o, L_OBSERVER);
        }
        item_end(&o);
    }
    list_end(&o);
    if (r->ndebriefs) {
        heading(&o, 2, L_DEBRIEFS);
        list_begin(&o);
        for (size_t i = 0; i < r->ndebriefs; i++) {
            const struct room_debrief *d = &r->debriefs[i];
            struct store_plan p = {.text = d->text,
                                   .due = d->due,
                                   .outcome = d->outcome,
                                   .comment = d->comment,
                                   .debriefed = d->outcome >= 0};
            plan_item(&o, &p, room_name(r, d->client));
        }
        list_end(&o);
    }
    minutes_cards(&o, r, -1, CARD_CHECKIN, L_CHECKINS);
    for (size_t ci = 0; ci < r->nconsultations; ci++)
        minutes_consultation(&o, r, ci);
    doc_end(&o);
    return out_finish(&o, len);
}
