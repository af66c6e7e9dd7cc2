/*
 * export.c - journal, history and minutes as JSON, Markdown and printable
 * HTML (see export.h).
 *
 * The text formats are written once, against the document writer of
 * export_doc.c (headings, paragraphs, lists, tables, labelled fields; see
 * export_internal.h), which renders either Markdown or HTML: both formats
 * always say the same thing. Text that people wrote goes through
 * doc_text(), the one place that escapes; labels come from labels.h (the
 * web client's dictionaries), in French and English.
 */
#include "export.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"
#include "labels.h"
#include "protocol.h"

/* ---- labels (labels.h) ------------------------------------------------------ */

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
static void plan_item(struct doc *o, const struct store_plan *p, const char *who)
{
    doc_item_begin(o);
    if (who) {
        doc_text(o, who);
        doc_str(o, " — ");
    }
    doc_text(o, p->text);
    if (p->due) {
        doc_str(o, " (");
        doc_label(o, L_DUE);
        doc_str(o, o->lang == LABEL_FR ? " : " : ": ");
        doc_text(o, p->due);
        doc_str(o, ")");
    }
    doc_str(o, " — ");
    doc_str(o, o->fmt == EXPORT_HTML ? "<em>" : "_");
    if (p->debriefed || p->outcome >= 0) {
        doc_label(o, L_DEBRIEF);
        doc_str(o, o->lang == LABEL_FR ? " : " : ": ");
    }
    doc_label(o, outcome_label(p->outcome));
    doc_str(o, o->fmt == EXPORT_HTML ? "</em>" : "_");
    if (p->comment) {
        doc_str(o, " — ");
        doc_label(o, L_COMMENT);
        doc_str(o, o->lang == LABEL_FR ? " : " : ": ");
        doc_text(o, p->comment);
    }
    doc_item_end(o);
}

static bool plan_of_case(const struct store_plan *p, const struct store_case *c)
{
    return p->session_id[0] && strcmp(p->session_id, c->session_id) == 0 &&
           p->consultation == c->consultation;
}

static void journal_entries(struct doc *o, const struct store_journal *j,
                            enum room_card_type type)
{
    size_t n = 0;

    doc_heading(o, 2, type == CARD_LEARNING ? L_LEARNINGS_MINE : L_NOTES_MINE);
    for (size_t i = 0; i < j->nentries; i++) {
        const struct store_entry *e = &j->entries[i];
        if (e->type != type)
            continue;
        if (n++ == 0)
            doc_list_begin(o);
        doc_item_begin(o);
        doc_date(o, e->created_ms);
        doc_sep(o);
        doc_label(o, type == CARD_LEARNING ? dim_label(e->variant) : step_label(e->step));
        doc_str(o, " — ");
        doc_text(o, e->text);
        doc_item_end(o);
    }
    if (n)
        doc_list_end(o);
    else
        doc_empty_note(o, L_NOTHING);
}

static void journal_case(struct doc *o, const struct store_journal *j,
                         const struct store_case *c, bool *shown)
{
    size_t nplans = 0;

    doc_heading_begin(o, 3);
    doc_label(o, L_SESSION_OF);
    doc_str(o, " ");
    doc_date(o, c->closed_ms);
    doc_str(o, " — ");
    doc_label(o, L_CONSULTATION);
    doc_fmt(o, " %d", c->consultation + 1);
    doc_heading_end(o, 3);
    doc_field(o, L_PROBLEM, c->problem);
    doc_field(o, L_CONTRACT, c->contract);
    doc_heading(o, 4, L_CONTRIBUTIONS_RECEIVED);
    if (c->nitems) {
        doc_list_begin(o);
        for (size_t k = 0; k < c->nitems; k++) {
            doc_item_begin(o);
            doc_label(o, kind_label(c->items[k].variant));
            if (c->items[k].marked) {
                doc_sep(o);
                doc_str(o, o->fmt == EXPORT_HTML ? "<strong class=\"mark\">" : "**");
                doc_label(o, L_MARKED);
                doc_str(o, o->fmt == EXPORT_HTML ? "</strong>" : "**");
            }
            doc_str(o, " — ");
            doc_text(o, c->items[k].text);
            doc_item_end(o);
        }
        doc_list_end(o);
    } else {
        doc_empty_note(o, L_NOTHING);
    }
    doc_heading(o, 4, L_ACTION_PLAN);
    for (size_t i = 0; i < j->nplans; i++) {
        if (!plan_of_case(&j->plans[i], c))
            continue;
        if (nplans++ == 0)
            doc_list_begin(o);
        plan_item(o, &j->plans[i], NULL);
        shown[i] = true;
    }
    if (nplans)
        doc_list_end(o);
    else
        doc_empty_note(o, L_NOTHING);
}

char *export_journal_text(const struct store_journal *j, const struct export_context *ctx,
                          enum export_format fmt, size_t *len)
{
    struct doc o;
    bool *shown;
    size_t other = 0;
    const char *name = member_name(ctx, ctx->member_id);

    if (!doc_init(&o, ctx, fmt))
        return NULL;
    shown = calloc(j->nplans ? j->nplans : 1, sizeof(*shown));
    if (!shown)
        return NULL;
    doc_begin(&o, L_JOURNAL, name ? name : "?");
    doc_para_begin(&o);
    doc_field_label(&o, L_GROUP);
    doc_text(&o, ctx->group ? ctx->group->name : "");
    doc_sep(&o);
    doc_label(&o, L_EXPORTED);
    doc_str(&o, " ");
    doc_date(&o, ctx->now_ms);
    doc_para_end(&o);

    journal_entries(&o, j, CARD_LEARNING);
    journal_entries(&o, j, CARD_NOTE);
    doc_heading(&o, 2, L_CASES_MINE);
    for (size_t i = 0; i < j->ncases; i++)
        journal_case(&o, j, &j->cases[i], shown);
    if (!j->ncases)
        doc_empty_note(&o, L_NOTHING);
    for (size_t i = 0; i < j->nplans; i++) {
        if (shown[i])
            continue;
        if (other++ == 0) {
            doc_heading(&o, 2, L_OTHER_PLANS);
            doc_list_begin(&o);
        }
        plan_item(&o, &j->plans[i], NULL);
    }
    if (other)
        doc_list_end(&o);
    doc_end(&o);
    free(shown);
    return doc_finish(&o, len);
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

static json_t *tally_json(const struct room_floor_tally *t)
{
    return json_pack("{s:I, s:I, s:I}", "ms", (json_int_t)t->ms, "turns",
                     (json_int_t)t->turns, "passes", (json_int_t)t->passes);
}

/* The session's speaking balance: per member who held the floor, the
 * totals and each step (room_floor.c). */
static json_t *balance_json(const struct export_context *ctx,
                            const struct store_session_history *sh)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < sh->nfloor; i++) {
        const struct store_floor_history *f = &sh->floor[i];
        json_t *steps = json_object();
        for (int k = 0; steps && k < STEP_COUNT; k++)
            if (f->steps[k].ms || f->steps[k].turns || f->steps[k].passes)
                json_object_set_new(steps, step_name((enum step)k),
                                    tally_json(&f->steps[k]));
        json_array_append_new(a, json_pack("{s:o, s:I, s:I, s:I, s:o}", "member",
                                           person_json(ctx, f->member), "ms",
                                           (json_int_t)f->total.ms, "turns",
                                           (json_int_t)f->total.turns, "passes",
                                           (json_int_t)f->total.passes, "steps", steps));
    }
    return a;
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
                sessions, json_pack("{s:s, s:I, s:I, s:o, s:o, s:o}", "session_id",
                                    sh->id, "opened_ms", (json_int_t)sh->opened_ms,
                                    "closed_ms", (json_int_t)sh->closed_ms, "opening",
                                    step_time_json(&sh->opening), "consultations", cons,
                                    "balance", balance_json(ctx, sh))))
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

/* A member's turns: consultations as client, sessions as facilitator. */
struct turns {
    unsigned client, facilitator;
    int64_t last_client_ms, last_facilitator_ms; /* 0 = never */
    size_t ordinal;
};

/* Whether member a comes after member b in the order of the next turns:
 * never first (in group order), then the least recent, then the fewest. */
static bool turns_after(const struct turns *t, size_t a, size_t b, bool client)
{
    const struct turns *x = &t[a], *y = &t[b];
    int64_t lx = client ? x->last_client_ms : x->last_facilitator_ms;
    int64_t ly = client ? y->last_client_ms : y->last_facilitator_ms;
    unsigned nx = client ? x->client : x->facilitator;
    unsigned ny = client ? y->client : y->facilitator;

    if ((nx == 0) != (ny == 0))
        return nx != 0;
    if (lx != ly)
        return lx > ly;
    if (nx != ny)
        return nx > ny;
    return x->ordinal > y->ordinal;
}

/* The ids of the members in idx (n of them, at most a group's), in the
 * order of the next client's turn or facilitator's, as a JSON array (an
 * insertion sort: a few dozen members). */
static json_t *turns_order(const struct hub_group *g, const struct turns *t, size_t *idx,
                           size_t n, bool client)
{
    json_t *a = json_array();

    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && turns_after(t, idx[j - 1], idx[j], client); j--) {
            size_t tmp = idx[j - 1];
            idx[j - 1] = idx[j];
            idx[j] = tmp;
        }
    }
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(g->members[idx[i]].id));
    return a;
}

json_t *export_rotation_json(const struct store_history *h,
                             const struct export_context *ctx)
{
    const struct hub_group *g = ctx->group;
    struct turns *t = calloc(g->nmembers ? g->nmembers : 1, sizeof(*t));
    size_t *idx = calloc(g->nmembers ? g->nmembers : 1, sizeof(*idx)), n = 0;
    json_t *members = json_array(), *out = NULL;

    if (!t || !idx || !members)
        goto done;
    for (size_t m = 0; m < g->nmembers; m++)
        t[m].ordinal = m;
    for (size_t s = 0; s < h->nsessions; s++) {
        const struct store_session_history *sh = &h->sessions[s];
        for (size_t m = 0; m < g->nmembers; m++) {
            bool facilitated = false;
            for (size_t c = 0; c < sh->nconsultations; c++) {
                if (strcmp(g->members[m].id, sh->consultations[c].client) == 0) {
                    t[m].client++;
                    t[m].last_client_ms = sh->closed_ms;
                }
                facilitated =
                    facilitated ||
                    strcmp(g->members[m].id, sh->consultations[c].facilitator) == 0;
            }
            if (facilitated) {
                t[m].facilitator++;
                t[m].last_facilitator_ms = sh->closed_ms;
            }
        }
    }
    for (size_t m = 0; m < g->nmembers; m++) {
        const struct hub_member *hm = &g->members[m];
        if (hm->removed)
            continue;
        if (json_array_append_new(
                members,
                json_pack("{s:s, s:s, s:b, s:i, s:o, s:i, s:o}", "id", hm->id, "name",
                          hm->name, "observer", hm->observer, "as_client",
                          (int)t[m].client, "last_client_ms",
                          int_or_null(t[m].last_client_ms, t[m].client > 0),
                          "as_facilitator", (int)t[m].facilitator, "last_facilitator_ms",
                          int_or_null(t[m].last_facilitator_ms, t[m].facilitator > 0))))
            goto done;
        if (!hm->observer)
            idx[n++] = m;
    }
    json_t *clients = turns_order(g, t, idx, n, true);
    json_t *facilitators = turns_order(g, t, idx, n, false);
    out = json_pack("{s:s, s:i, s:O, s:o, s:o}", "group_id", g->id, "sessions",
                    (int)h->nsessions, "members", members, "next_clients", clients,
                    "next_facilitators", facilitators);
done:
    json_decref(members);
    free(t);
    free(idx);
    return out;
}

static void out_person(struct doc *o, const struct export_context *ctx, const char *id)
{
    const char *name = member_name(ctx, id);

    if (!id || !*id)
        doc_label(o, L_NOBODY);
    else
        doc_text(o, name ? name : "?");
}

static void step_row(struct doc *o, enum label l, const struct store_step_time *t)
{
    doc_row_begin(o);
    doc_cell_begin(o);
    doc_label(o, l);
    doc_cell_end(o);
    doc_cell_begin(o);
    doc_duration(o, t->planned_ms);
    doc_cell_end(o);
    doc_cell_begin(o);
    doc_duration(o, t->used_ms);
    doc_cell_end(o);
    doc_row_end(o);
}

/* The session's speaking balance: one row per member who held the floor. */
static void history_balance(struct doc *o, const struct export_context *ctx,
                            const struct store_session_history *sh)
{
    static const enum label heads[] = {L_MEMBER, L_FLOOR_TIME, L_TURNS, L_PASSES};

    if (!sh->nfloor)
        return;
    doc_heading(o, 3, L_BALANCE);
    doc_table_begin(o, heads, 4);
    for (size_t i = 0; i < sh->nfloor; i++) {
        const struct store_floor_history *f = &sh->floor[i];
        doc_row_begin(o);
        doc_cell_begin(o);
        out_person(o, ctx, f->member);
        doc_cell_end(o);
        doc_cell_begin(o);
        doc_duration(o, f->total.ms);
        doc_cell_end(o);
        doc_cell_begin(o);
        doc_fmt(o, "%u", f->total.turns);
        doc_cell_end(o);
        doc_cell_begin(o);
        doc_fmt(o, "%u", f->total.passes);
        doc_cell_end(o);
        doc_row_end(o);
    }
    doc_table_end(o);
}

static void history_session(struct doc *o, const struct export_context *ctx,
                            const struct store_session_history *sh)
{
    static const enum label heads[] = {L_STEP, L_PLANNED, L_ACTUAL};

    doc_heading_begin(o, 2);
    doc_label(o, L_SESSION_OF);
    doc_str(o, " ");
    doc_date(o, sh->opened_ms);
    doc_heading_end(o, 2);
    doc_para_begin(o);
    doc_field_label(o, L_DURATION);
    doc_duration(o, sh->closed_ms - sh->opened_ms);
    doc_para_end(o);
    doc_table_begin(o, heads, 3);
    step_row(o, L_STEP_OPENING, &sh->opening);
    doc_table_end(o);
    for (size_t c = 0; c < sh->nconsultations; c++) {
        const struct store_consultation_history *ch = &sh->consultations[c];
        struct store_step_time total = {0, 0};
        doc_heading_begin(o, 3);
        doc_label(o, L_CONSULTATION);
        doc_fmt(o, " %zu — ", c + 1);
        doc_label(o, L_CLIENT);
        doc_str(o, o->lang == LABEL_FR ? " : " : ": ");
        out_person(o, ctx, ch->client);
        doc_sep(o);
        doc_label(o, L_FACILITATOR);
        doc_str(o, o->lang == LABEL_FR ? " : " : ": ");
        out_person(o, ctx, ch->facilitator);
        doc_heading_end(o, 3);
        doc_table_begin(o, heads, 3);
        for (int k = STEP_TOPIC; k <= STEP_LEARNING; k++) {
            step_row(o, step_label((enum step)k), &ch->steps[k]);
            total.planned_ms += ch->steps[k].planned_ms;
            total.used_ms += ch->steps[k].used_ms;
        }
        step_row(o, L_TOTAL, &total);
        doc_table_end(o);
    }
    history_balance(o, ctx, sh);
}

char *export_history_text(const struct store_history *h, const struct export_context *ctx,
                          enum export_format fmt, size_t *len)
{
    static const enum label heads[] = {L_MEMBER, L_TIMES_CLIENT, L_TIMES_FACILITATOR,
                                       L_LAST_CLIENT};
    const struct hub_group *g = ctx->group;
    struct rotation *rot;
    struct doc o;

    if (!doc_init(&o, ctx, fmt))
        return NULL;
    rot = rotation_count(h, g);
    if (!rot)
        return NULL;
    doc_begin(&o, L_HISTORY, g ? g->name : "");
    doc_para_begin(&o);
    doc_label(&o, L_EXPORTED);
    doc_str(&o, " ");
    doc_date(&o, ctx->now_ms);
    doc_para_end(&o);
    doc_heading(&o, 2, L_ROTATION);
    doc_table_begin(&o, heads, 4);
    for (size_t m = 0; g && m < g->nmembers; m++) {
        if (g->members[m].removed)
            continue;
        doc_row_begin(&o);
        doc_cell_begin(&o);
        doc_text(&o, g->members[m].name);
        doc_cell_end(&o);
        doc_cell_begin(&o);
        doc_fmt(&o, "%u", rot[m].as_client);
        doc_cell_end(&o);
        doc_cell_begin(&o);
        doc_fmt(&o, "%u", rot[m].as_facilitator);
        doc_cell_end(&o);
        doc_cell_begin(&o);
        if (rot[m].as_client)
            doc_date(&o, rot[m].last_client_ms);
        else
            doc_label(&o, L_NEVER);
        doc_cell_end(&o);
        doc_row_end(&o);
    }
    doc_table_end(&o);
    free(rot);
    for (size_t s = h->nsessions; s-- > 0;) /* newest first */
        history_session(&o, ctx, &h->sessions[s]);
    if (!h->nsessions)
        doc_empty_note(&o, L_NO_SESSIONS);
    doc_end(&o);
    return doc_finish(&o, len);
}

/* ---- minutes ----------------------------------------------------------------------- */

/* "Name — text" for every shared card of type in consultation ci (-1 for
 * opening), under a heading; nothing when there is none. */
static void minutes_cards(struct doc *o, const struct room *r, int ci,
                          enum room_card_type type, enum label title)
{
    size_t n = 0;

    for (size_t i = 0; i < r->ncards; i++) {
        const struct room_card *c = &r->cards[i];
        if (c->type != type || c->consultation != ci || c->removed || c->withdrawn ||
            !room_card_visible(r, c, -1))
            continue;
        if (n++ == 0) {
            doc_heading(o, ci < 0 ? 2 : 3, title);
            doc_list_begin(o);
        }
        doc_item_begin(o);
        if (type == CARD_CONTRIBUTION) {
            doc_label(o, kind_label(c->variant));
            doc_sep(o);
        } else if (type == CARD_LEARNING) {
            doc_label(o, dim_label(c->variant));
            doc_sep(o);
        }
        if (type != CARD_ACTION) {
            doc_text(o, room_name(r, c->author));
            doc_str(o, " — ");
        }
        doc_text(o, c->text);
        if (type == CARD_ACTION && c->due) {
            doc_str(o, " (");
            doc_label(o, L_DUE);
            doc_str(o, o->lang == LABEL_FR ? " : " : ": ");
            doc_text(o, c->due);
            doc_str(o, ")");
        }
        if (type == CARD_QUESTION && c->flagged) {
            doc_str(o, " — ");
            doc_str(o, o->fmt == EXPORT_HTML ? "<em>" : "_");
            doc_label(o, L_FLAGGED);
            doc_str(o, o->fmt == EXPORT_HTML ? "</em>" : "_");
        }
        if (type == CARD_QUESTION && c->answer) {
            doc_list_begin(o);
            doc_item_begin(o);
            doc_field_label(o, L_ANSWER);
            doc_text(o, c->answer);
            doc_item_end(o);
            doc_list_end(o);
        }
        doc_item_end(o);
    }
    if (n)
        doc_list_end(o);
}

static void minutes_consultation(struct doc *o, const struct room *r, size_t ci)
{
    const struct room_consultation *c = &r->consultations[ci];

    doc_heading_begin(o, 2);
    doc_label(o, L_CONSULTATION);
    doc_fmt(o, " %zu", ci + 1);
    doc_heading_end(o, 2);
    minutes_cards(o, r, (int)ci, CARD_TOPIC, L_TOPICS);
    doc_para_begin(o);
    doc_field_label(o, L_CLIENT);
    if (c->client >= 0)
        doc_text(o, room_name(r, c->client));
    else
        doc_label(o, L_NOBODY);
    doc_para_end(o);
    if (c->problem)
        doc_field(o, L_PROBLEM, c->problem);
    minutes_cards(o, r, (int)ci, CARD_QUESTION, L_QUESTIONS);
    minutes_cards(o, r, (int)ci, CARD_REFORMULATION, L_REFORMULATIONS);
    if (c->contract)
        doc_field(o, L_CONTRACT, c->contract);
    minutes_cards(o, r, (int)ci, CARD_CONTRIBUTION, L_CONTRIBUTIONS);
    minutes_cards(o, r, (int)ci, CARD_ACTION, L_ACTION_PLAN);
    minutes_cards(o, r, (int)ci, CARD_LEARNING, L_LEARNINGS);
}

char *export_minutes_text(const struct room *r, const struct export_context *ctx,
                          enum export_format fmt, size_t *len)
{
    struct doc o;

    if (!doc_init(&o, ctx, fmt))
        return NULL;
    doc_begin(&o, L_MINUTES, ctx->group ? ctx->group->name : "");
    doc_para_begin(&o);
    doc_label(&o, L_SESSION_OF);
    doc_str(&o, " ");
    doc_date(&o, r->created_ms);
    doc_para_end(&o);
    doc_heading(&o, 2, L_PARTICIPANTS);
    doc_list_begin(&o);
    for (size_t i = 0; i < r->nmembers; i++) {
        if (r->members[i].removed)
            continue;
        doc_item_begin(&o);
        doc_text(&o, r->members[i].name);
        if ((int)i == r->facilitator) {
            doc_sep(&o);
            doc_label(&o, L_FACILITATOR);
        } else if (r->members[i].observer) {
            doc_sep(&o);
            doc_label(&o, L_OBSERVER);
        }
        doc_item_end(&o);
    }
    doc_list_end(&o);
    if (r->ndebriefs) {
        doc_heading(&o, 2, L_DEBRIEFS);
        doc_list_begin(&o);
        for (size_t i = 0; i < r->ndebriefs; i++) {
            const struct room_debrief *d = &r->debriefs[i];
            struct store_plan p = {.text = d->text,
                                   .due = d->due,
                                   .outcome = d->outcome,
                                   .comment = d->comment,
                                   .debriefed = d->outcome >= 0};
            plan_item(&o, &p, room_name(r, d->client));
        }
        doc_list_end(&o);
    }
    minutes_cards(&o, r, -1, CARD_CHECKIN, L_CHECKINS);
    for (size_t ci = 0; ci < r->nconsultations; ci++)
        minutes_consultation(&o, r, ci);
    doc_end(&o);
    return doc_finish(&o, len);
}
