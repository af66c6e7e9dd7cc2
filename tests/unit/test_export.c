/*
 * test_export.c - the exports: a hand-built journal, history and closed room
 * formatted as JSON, Markdown and printable HTML. Hostile text is escaped,
 * both languages have their labels, nothing private leaks into minutes, and
 * an empty journal is still a whole document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

#define T0  1764326400000LL /* 2025-11-28 10:40 UTC */
#define MIN (60 * 1000LL)

#define ID_F "3f0c9a52-8d1e-4b7a-9c2f-5e6d7a8b9c01"
#define ID_A "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define ID_B "0b9e8d7c-6f5a-4b3c-a2d1-e0f9a8b7c6d5"
#define ID_S "8e7f6a5b-4c3d-4e2f-a1b0-9c8d7e6f5a4b"
#define ID_T "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
#define ID_P "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
#define ID_Q "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"

#define HOSTILE "<script>alert(\"x\")</script> & 'q' *b* [l](u) # h"

/* ---- fixtures ---------------------------------------------------------------- */

struct fx {
    struct hub_member members[3];
    struct hub_group group;
    struct store_entry entries[3];
    struct store_case_item items[2];
    struct store_case cases[1];
    struct store_plan plans[2];
    struct store_journal journal;
    struct store_consultation_history consultations[2];
    struct store_session_history sessions[2];
    struct store_floor_history floor[2];
    struct store_history history;
};

static void fx_group(struct fx *f, const char *language, const char *name,
                     const char *client_name)
{
    memset(&f->group, 0, sizeof(f->group));
    memcpy(f->group.id, ID_S, sizeof(f->group.id));
    f->group.name = (char *)name;
    snprintf(f->group.language, sizeof(f->group.language), "%s", language);
    f->group.format = 90;
    memcpy(f->group.facilitator, ID_F, sizeof(f->group.facilitator));
    memset(f->members, 0, sizeof(f->members));
    memcpy(f->members[0].id, ID_F, sizeof(f->members[0].id));
    f->members[0].name = "Claire";
    memcpy(f->members[1].id, ID_A, sizeof(f->members[1].id));
    f->members[1].name = (char *)client_name;
    memcpy(f->members[2].id, ID_B, sizeof(f->members[2].id));
    f->members[2].name = "Léa";
    f->group.members = f->members;
    f->group.nmembers = 3;
}

/* Karim's (ID_A) journal: a learning, a note, one case with two
 * contributions (one marked) and two plans (one debriefed, one from a case
 * the journal does not hold). Every text is given by the caller. */
static void fx_journal(struct fx *f, const char *text)
{
    memset(f->entries, 0, sizeof(f->entries));
    memcpy(f->entries[0].session_id, ID_T, sizeof(f->entries[0].session_id));
    f->entries[0].type = CARD_LEARNING;
    f->entries[0].variant = DIM_PROCESS;
    f->entries[0].step = STEP_LEARNING;
    f->entries[0].consultation = 0;
    f->entries[0].created_ms = T0 + 80 * MIN;
    f->entries[0].text = (char *)text;
    memcpy(f->entries[1].session_id, ID_T, sizeof(f->entries[1].session_id));
    f->entries[1].type = CARD_NOTE;
    f->entries[1].step = STEP_OPENING;
    f->entries[1].consultation = -1;
    f->entries[1].created_ms = T0 + 2 * MIN;
    f->entries[1].text = "NOTE-1 ask HR\nsecond line";
    memcpy(f->entries[2].session_id, ID_T, sizeof(f->entries[2].session_id));
    f->entries[2].type = CARD_LEARNING;
    f->entries[2].variant = DIM_CONTENT;
    f->entries[2].step = STEP_LEARNING;
    f->entries[2].consultation = 0;
    f->entries[2].created_ms = T0 + 81 * MIN;
    f->entries[2].text = "LEARNING-2 content";

    f->items[0] = (struct store_case_item){.card = 7,
                                           .variant = KIND_SUGGESTION,
                                           .marked = true,
                                           .text = "CONTRIB-1 try 1:1s"};
    f->items[1] = (struct store_case_item){
        .card = 8, .variant = KIND_FEELING, .marked = false, .text = "CONTRIB-2 worried"};
    memset(f->cases, 0, sizeof(f->cases));
    memcpy(f->cases[0].session_id, ID_T, sizeof(f->cases[0].session_id));
    f->cases[0].consultation = 0;
    f->cases[0].closed_ms = T0 + 90 * MIN;
    f->cases[0].problem = (char *)text;
    f->cases[0].contract = "CONTRACT-1 help me";
    f->cases[0].items = f->items;
    f->cases[0].nitems = 2;

    memset(f->plans, 0, sizeof(f->plans));
    memcpy(f->plans[0].id, ID_P, sizeof(f->plans[0].id));
    memcpy(f->plans[0].session_id, ID_T, sizeof(f->plans[0].session_id));
    f->plans[0].consultation = 0;
    f->plans[0].text = "PLAN-1 meet each one";
    f->plans[0].due = "vendredi";
    f->plans[0].debriefed = true;
    f->plans[0].outcome = OUTCOME_PARTLY;
    f->plans[0].comment = "COMMENT-1 two of five";
    memcpy(f->plans[1].id, ID_Q, sizeof(f->plans[1].id));
    f->plans[1].consultation = -1;
    f->plans[1].text = "PLAN-2 stray";
    f->plans[1].outcome = -1;

    f->journal = (struct store_journal){.entries = f->entries,
                                        .nentries = 3,
                                        .cases = f->cases,
                                        .ncases = 1,
                                        .plans = f->plans,
                                        .nplans = 2};
}

/* Two sessions: the first with one consultation (client A, facilitator F),
 * the second with two (client B then A, facilitator F then B). */
static void fx_history(struct fx *f)
{
    memset(f->sessions, 0, sizeof(f->sessions));
    memset(f->consultations, 0, sizeof(f->consultations));
    memcpy(f->sessions[0].id, ID_T, sizeof(f->sessions[0].id));
    f->sessions[0].opened_ms = T0;
    f->sessions[0].closed_ms = T0 + 95 * MIN;
    f->sessions[0].opening = (struct store_step_time){10 * MIN, 8 * MIN + 12000};
    f->consultations[0] =
        (struct store_consultation_history){.client = ID_A, .facilitator = ID_F};
    f->consultations[0].steps[STEP_TOPIC] =
        (struct store_step_time){5 * MIN, 3 * MIN + 12000};
    f->consultations[0].steps[STEP_CONSULTATION] =
        (struct store_step_time){25 * MIN, 31 * MIN};
    f->sessions[0].consultations = &f->consultations[0];
    f->sessions[0].nconsultations = 1;
    memcpy(f->sessions[1].id, ID_P, sizeof(f->sessions[1].id));
    f->sessions[1].opened_ms = T0 + 30 * 24 * 60 * MIN;
    f->sessions[1].closed_ms = T0 + 30 * 24 * 60 * MIN + 100 * MIN;
    f->consultations[1] =
        (struct store_consultation_history){.client = ID_B, .facilitator = ID_B};
    f->sessions[1].consultations = &f->consultations[1];
    f->sessions[1].nconsultations = 1;
    f->history = (struct store_history){.sessions = f->sessions, .nsessions = 2};
}

static struct export_context ctx_of(struct fx *f, const char *member)
{
    return (struct export_context){.group = &f->group, .member_id = member, .now_ms = T0};
}

static char *text(struct fx *f, enum export_format fmt)
{
    struct export_context ctx = ctx_of(f, ID_A);
    size_t len = 0;
    char *t = export_journal_text(&f->journal, &ctx, fmt, &len);

    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    return t;
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* ---- formats ------------------------------------------------------------------- */

static void format_names_are_json_md_html_only(void **state)
{
    enum export_format f = EXPORT_JSON;

    (void)state;
    assert_int_equal(export_format_from_name("md", &f), 0);
    assert_int_equal(f, EXPORT_MARKDOWN);
    assert_int_equal(export_format_from_name("html", &f), 0);
    assert_int_equal(f, EXPORT_HTML);
    assert_int_equal(export_format_from_name("json", &f), 0);
    assert_int_equal(f, EXPORT_JSON);
    assert_int_equal(export_format_from_name("MD", &f), -1);
    assert_int_equal(export_format_from_name("htm", &f), -1);
    assert_int_equal(export_format_from_name("", &f), -1);
    assert_int_equal(export_format_from_name(NULL, &f), -1);
    assert_int_equal(f, EXPORT_JSON);
    assert_string_equal(export_content_type(EXPORT_MARKDOWN),
                        "text/markdown; charset=utf-8");
    assert_string_equal(export_content_type(EXPORT_HTML), "text/html; charset=utf-8");
}

static void html_escapes_hostile_text_everywhere(void **state)
{
    struct fx f;
    char *t;

    (void)state;
    fx_group(&f, "fr", "Groupe <b>\"gras\"</b>", "Karim <img src=x onerror=alert(1)>");
    fx_journal(&f, HOSTILE);
    t = text(&f, EXPORT_HTML);
    assert_has(t, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
    assert_has(t, "Karim &lt;img src=x onerror=alert(1)&gt;");
    assert_has(t, "Groupe &lt;b&gt;&quot;gras&quot;&lt;/b&gt;");
    assert_lacks(t, "<script");
    assert_lacks(t, "<img");
    assert_lacks(t, "<b>");
    assert_lacks(t, "<style");
    assert_lacks(t, "style=");
    assert_has(t, "NOTE-1 ask HR<br>second line");
    assert_has(t, "<link rel=\"stylesheet\" href=\"/print.css\">");
    assert_true(strncmp(t, "<!DOCTYPE html>\n<html lang=\"fr\">", 32) == 0);
    assert_has(t, "</html>\n");
    free(t);
}

static void markdown_escapes_markup_and_keeps_lines_in_their_item(void **state)
{
    struct fx f;
    char *t;

    (void)state;
    fx_group(&f, "en", "Managers", "Karim");
    fx_journal(&f, HOSTILE);
    t = text(&f, EXPORT_MARKDOWN);
    assert_has(t,
               "\\<script\\>alert(\"x\")\\</script\\> \\& 'q' \\*b\\* \\[l\\](u) \\# h");
    for (const char *p = strchr(t, '<'); p; p = strchr(p + 1, '<'))
        assert_true(p > t && p[-1] == '\\'); /* every < is literal */
    /* a line break in a list item is indented so the item goes on */
    assert_has(t, "- 2025-11-28 10:42 UTC · Check-in and follow-up — NOTE-1 ask HR\n"
                  "  second line\n");
    assert_true(strncmp(t, "# Learning journal — Karim\n\n", 28) == 0);
    free(t);

    f.entries[1].text = "first\n- not a list\n# not a heading";
    t = text(&f, EXPORT_MARKDOWN);
    assert_has(t, "— first\n  \\- not a list\n  \\# not a heading\n");
    free(t);
}

static void journal_labels_follow_the_group_language(void **state)
{
    struct fx f;
    char *fr, *en;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim");
    fx_journal(&f, "PROBLEM-1 my team");
    fr = text(&f, EXPORT_MARKDOWN);
    fx_group(&f, "en", "Managers Lyon", "Karim");
    en = text(&f, EXPORT_MARKDOWN);

    assert_true(strncmp(fr, "# Journal de bord — Karim\n", 26) == 0);
    assert_has(fr, "## Mes apprentissages\n");
    assert_has(fr, "## Mes notes personnelles\n");
    assert_has(fr, "## Mes consultations comme personne cliente\n");
    assert_has(fr, "**Problème :** PROBLEM-1 my team");
    assert_has(fr, "**Contrat :** CONTRACT-1 help me");
    assert_has(fr, "- Suggestion · **à retenir** — CONTRIB-1 try 1:1s\n");
    assert_has(fr, "- Ressenti — CONTRIB-2 worried\n");
    assert_has(fr, "Processus — PROBLEM-1 my team");
    assert_has(fr, "Contenu — LEARNING-2 content");
    assert_has(fr, "- PLAN-1 meet each one (échéance : vendredi) — _bilan : en partie_ — "
                   "commentaire : COMMENT-1 two of five\n");
    assert_lacks(fr, "My learnings");

    assert_true(strncmp(en, "# Learning journal — Karim\n", 27) == 0);
    assert_has(en, "## My learnings\n");
    assert_has(en, "## My private notes\n");
    assert_has(en, "## My consultations as client\n");
    assert_has(en, "**Problem:** PROBLEM-1 my team");
    assert_has(en, "- Suggestion · **keep** — CONTRIB-1 try 1:1s\n");
    assert_has(en, "- Feeling — CONTRIB-2 worried\n");
    assert_has(en, "- PLAN-1 meet each one (by: vendredi) — _debrief: partly_ — "
                   "comment: COMMENT-1 two of five\n");
    assert_lacks(en, "Mes apprentissages");
    assert_lacks(en, "à retenir");
    free(fr);
    free(en);
}

static void a_plan_goes_under_its_case_and_the_rest_under_other_actions(void **state)
{
    struct fx f;
    char *t, *c, *other;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim");
    fx_journal(&f, "PROBLEM-1");
    t = text(&f, EXPORT_HTML);
    c = strstr(t, "CONTRACT-1");
    other = strstr(t, "<h2>Autres actions</h2>");
    assert_non_null(c);
    assert_non_null(other);
    assert_true(strstr(t, "PLAN-1") > c && strstr(t, "PLAN-1") < other);
    assert_true(strstr(t, "PLAN-2 stray") > other);
    assert_has(t, "PLAN-2 stray — <em>bilan à faire</em>");
    assert_has(t, "<strong class=\"mark\">à retenir</strong> — CONTRIB-1");
    free(t);
}

static void journal_json_has_learnings_notes_cases_and_plans(void **state)
{
    struct fx f;
    struct export_context ctx;
    json_t *j, *l, *c, *p;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim");
    fx_journal(&f, HOSTILE);
    ctx = ctx_of(&f, ID_A);
    j = export_journal_json(&f.journal, &ctx);
    assert_non_null(j);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "member"), "name")),
        "Karim");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "group"), "id")), ID_S);
    assert_int_equal(json_integer_value(json_object_get(j, "exported_ms")), T0);
    assert_int_equal(json_array_size(json_object_get(j, "learnings")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "notes")), 1);
    l = json_array_get(json_object_get(j, "learnings"), 0);
    assert_string_equal(json_string_value(json_object_get(l, "text")), HOSTILE);
    assert_string_equal(json_string_value(json_object_get(l, "dimension")), "process");
    assert_string_equal(json_string_value(json_object_get(l, "step")), "learning");
    assert_null(
        json_object_get(json_array_get(json_object_get(j, "notes"), 0), "dimension"));
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(j, "notes"), 0), "consultation")));
    c = json_array_get(json_object_get(j, "cases"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "contract")),
                        "CONTRACT-1 help me");
    c = json_object_get(c, "contributions");
    assert_int_equal(json_array_size(c), 2);
    assert_true(json_is_true(json_object_get(json_array_get(c, 0), "marked")));
    assert_true(json_is_false(json_object_get(json_array_get(c, 1), "marked")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 1), "kind")),
                        "feeling");
    p = json_object_get(j, "plans");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(p, 0), "outcome")), "partly");
    assert_true(json_is_true(json_object_get(json_array_get(p, 0), "debriefed")));
    assert_true(json_is_null(json_object_get(json_array_get(p, 1), "outcome")));
    assert_true(json_is_null(json_object_get(json_array_get(p, 1), "session_id")));
    assert_true(json_is_null(json_object_get(json_array_get(p, 1), "comment")));
    json_decref(j);
}

static void an_empty_journal_is_a_whole_document(void **state)
{
    struct fx f;
    struct store_journal empty = {0};
    struct export_context ctx;
    size_t len = 0;
    char *md, *html;
    json_t *j;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim");
    ctx = ctx_of(&f, ID_A);
    md = export_journal_text(&empty, &ctx, EXPORT_MARKDOWN, &len);
    assert_non_null(md);
    assert_has(md, "## Mes apprentissages\n\n_Rien pour l’instant._\n");
    assert_has(md,
               "## Mes consultations comme personne cliente\n\n_Rien pour l’instant._\n");
    assert_lacks(md, "Autres actions");
    html = export_journal_text(&empty, &ctx, EXPORT_HTML, &len);
    assert_non_null(html);
    assert_has(html, "<p class=\"empty\"><em>Rien pour l’instant.</em></p>");
    assert_lacks(html, "<ul>");
    assert_true(len > 16);
    assert_string_equal(html + len - 16, "</body>\n</html>\n");
    j = export_journal_json(&empty, &ctx);
    assert_int_equal(json_array_size(json_object_get(j, "learnings")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "cases")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "plans")), 0);
    assert_null(export_journal_text(&empty, &ctx, EXPORT_JSON, &len));
    json_decref(j);
    free(md);
    free(html);
}

/* ---- history ------------------------------------------------------------------- */

static void history_json_has_planned_and_used_times_and_who(void **state)
{
    struct fx f;
    struct export_context ctx;
    json_t *j, *s, *c, *m;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim");
    fx_history(&f);
    ctx = ctx_of(&f, NULL);
    j = export_history_json(&f.history, &ctx);
    assert_non_null(j);
    s = json_object_get(j, "sessions");
    assert_int_equal(json_array_size(s), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(s, 0), "opening"), "used_ms")),
                     8 * MIN + 12000);
    c = json_array_get(json_object_get(json_array_get(s, 0), "consultations"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "client"), "name")),
        "Karim");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "facilitator"), "id")),
        ID_F);
    c = json_object_get(json_object_get(c, "steps"), "consultation");
    assert_int_equal(json_integer_value(json_object_get(c, "planned_ms")), 25 * MIN);
    assert_int_equal(json_integer_value(json_object_get(c, "used_ms")), 31 * MIN);
    assert_null(json_object_get(
        json_object_get(
            json_array_get(json_object_get(json_array_get(s, 0), "consultations"), 0),
            "steps"),
        "opening"));
    m = json_object_get(j, "members");
    assert_int_equal(json_array_size(m), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(m, 0), "as_facilitator")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(m, 1), "as_client")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(m, 1), "last_client_ms")),
        T0 + 95 * MIN);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(m, 2), "as_facilitator")), 1);
    assert_true(json_is_null(json_object_get(json_array_get(m, 0), "last_client_ms")));
    json_decref(j);
}

static void history_text_has_a_table_per_consultation_in_both_languages(void **state)
{
    struct fx f;
    struct export_context ctx;
    size_t len = 0;
    char *md, *html;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim <i>");
    fx_history(&f);
    ctx = ctx_of(&f, NULL);
    md = export_history_text(&f.history, &ctx, EXPORT_MARKDOWN, &len);
    assert_non_null(md);
    assert_has(md, "# Historique des séances — Managers Lyon\n");
    assert_has(
        md,
        "### Consultation 1 — Personne cliente : Karim \\<i\\> · Animation : Claire\n");
    assert_has(md, "| Étape | Prévu | Réel |\n|---|---|---|\n");
    assert_has(md, "| Choix du sujet | 5:00 | 3:12 |\n");
    assert_has(md, "| 4. Consultation | 25:00 | 31:00 |\n");
    assert_has(md, "| Total | 30:00 | 34:12 |\n");
    assert_has(md, "| Accueil et retour sur les actions | 10:00 | 8:12 |\n");
    assert_has(md, "| Claire | 0 | 1 | jamais |\n");
    /* newest session first */
    assert_true(strstr(md, "Séance du 2025-12-28") < strstr(md, "Séance du 2025-11-28"));
    html = export_history_text(&f.history, &ctx, EXPORT_HTML, &len);
    assert_has(
        html,
        "<td>Karim &lt;i&gt;</td><td>1</td><td>0</td><td>2025-11-28 12:15 UTC</td>");
    assert_lacks(html, "<i>");
    free(md);
    free(html);

    fx_group(&f, "en", "Managers Lyon", "Karim");
    md = export_history_text(&f.history, &ctx, EXPORT_MARKDOWN, &len);
    assert_has(md, "# Session history — Managers Lyon\n");
    assert_has(md, "| Step | Planned | Actual |\n");
    assert_has(md, "### Consultation 1 — Client: Léa · Facilitator: Léa\n");
    assert_has(md, "| Topic selection | 5:00 | 3:12 |\n");
    free(md);

    f.history.nsessions = 0;
    md = export_history_text(&f.history, &ctx, EXPORT_MARKDOWN, &len);
    assert_has(md, "_No closed session yet._");
    free(md);
}

/* The first session's speaking balance: Karim 4:30 over two turns (one in
 * opening, one in consultation) and a pass; Claire 1:00, one turn. */
static void fx_balance(struct fx *f)
{
    memset(f->floor, 0, sizeof(f->floor));
    memcpy(f->floor[0].member, ID_A, sizeof(f->floor[0].member));
    f->floor[0].steps[STEP_OPENING] = (struct room_floor_tally){90000, 1, 0};
    f->floor[0].steps[STEP_CONSULTATION] = (struct room_floor_tally){180000, 1, 1};
    f->floor[0].total = (struct room_floor_tally){270000, 2, 1};
    memcpy(f->floor[1].member, ID_F, sizeof(f->floor[1].member));
    f->floor[1].steps[STEP_OPENING] = (struct room_floor_tally){60000, 1, 0};
    f->floor[1].total = (struct room_floor_tally){60000, 1, 0};
    f->sessions[0].floor = f->floor;
    f->sessions[0].nfloor = 2;
}

static void history_has_each_sessions_speaking_balance(void **state)
{
    struct fx f;
    struct export_context ctx;
    json_t *j, *b, *k;
    size_t len = 0;
    char *md;

    (void)state;
    fx_group(&f, "fr", "Managers Lyon", "Karim <i>");
    fx_history(&f);
    fx_balance(&f);
    ctx = ctx_of(&f, NULL);
    j = export_history_json(&f.history, &ctx);
    b = json_object_get(json_array_get(json_object_get(j, "sessions"), 0), "balance");
    assert_int_equal(json_array_size(b), 2);
    k = json_array_get(b, 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(k, "member"), "id")), ID_A);
    assert_int_equal(json_integer_value(json_object_get(k, "ms")), 270000);
    assert_int_equal(json_integer_value(json_object_get(k, "turns")), 2);
    assert_int_equal(json_integer_value(json_object_get(k, "passes")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(k, "steps"), "consultation"), "passes")),
        1);
    assert_null(json_object_get(json_object_get(k, "steps"), "topic"));
    assert_int_equal(json_array_size(json_object_get(
                         json_array_get(json_object_get(j, "sessions"), 1), "balance")),
                     0);
    json_decref(j);

    md = export_history_text(&f.history, &ctx, EXPORT_MARKDOWN, &len);
    assert_has(md, "### Équilibre de la parole\n");
    assert_has(md, "| Membre | Temps de parole | Tours | Passés |\n");
    assert_has(md, "| Karim \\<i\\> | 4:30 | 2 | 1 |\n");
    assert_has(md, "| Claire | 1:00 | 1 | 0 |\n");
    free(md);
}

/* ---- minutes ------------------------------------------------------------------- */

static void apply(struct room *r, int member, struct room_cmd cmd)
{
    uint64_t seq;

    assert_int_equal(room_apply(r, member, &cmd, T0, &seq, NULL), 0);
}

#define CMD(t, ...) ((struct room_cmd){.type = (t), __VA_ARGS__})

static void minutes_show_the_shared_cards_and_nothing_private(void **state)
{
    struct room_limits lim = {.text_max_chars = 1000,
                              .long_text_max_chars = 4000,
                              .cards_per_step = 30,
                              .members_max = 16};
    int64_t budgets[STEP_COUNT] = {10 * MIN, 5 * MIN,  10 * MIN, 20 * MIN,
                                   5 * MIN,  25 * MIN, 8 * MIN,  7 * MIN};
    struct room *r = room_new(ID_T, budgets, &lim, T0);
    struct export_context ctx;
    struct fx f;
    size_t len = 0;
    char *md, *html;
    int F, A, B;

    (void)state;
    assert_non_null(r);
    F = room_member_add(r, ID_F, "Claire", true, false);
    A = room_member_add(r, ID_A, "Karim", false, false);
    B = room_member_add(r, ID_B, "Léa <u>", false, false);
    apply(r, B, CMD(CMD_CHECKIN_POST, .id = "b1", .text = "CHECKIN-1 tired"));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f1"));
    apply(r, A, CMD(CMD_TOPIC_PROPOSE, .id = "a1", .text = "TOPIC-1 my team"));
    apply(r, F, CMD(CMD_CLIENT_ASSIGN, .id = "f2", .target = ID_A));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f3"));
    apply(r, A, CMD(CMD_PROBLEM_SET, .id = "a2", .text = "PROBLEM-1 resists"));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f4"));
    apply(r, B, CMD(CMD_QUESTION_ASK, .id = "b2", .text = "QUESTION-1 since when?"));
    apply(r, A, CMD(CMD_QUESTION_ANSWER, .id = "a3", .card = 3, .text = "ANSWER-1 May"));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f5"));
    apply(r, B, CMD(CMD_REFORMULATION_POST, .id = "b3", .text = "REFORM-1 you mean"));
    apply(r, A, CMD(CMD_CONTRACT_SET, .id = "a4", .text = "CONTRACT-1 help me"));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f6", .flag = true));
    apply(r, B,
          CMD(CMD_CONTRIBUTION_POST, .id = "b4", .text = "CONTRIB-1 <b>1:1s</b>",
              .variant = KIND_EXPERIENCE));
    apply(r, A, CMD(CMD_MARK_SET, .id = "a5", .card = 5, .flag = true));
    apply(r, A, CMD(CMD_RECADRAGE, .id = "a6"));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f7"));
    apply(r, A, CMD(CMD_ACTION_ADD, .id = "a7", .text = "ACTION-1 meet", .due = "lundi"));
    apply(r, A, CMD(CMD_NOTE_POST, .id = "a8", .text = "NOTE-SECRET-A"));
    apply(r, F, CMD(CMD_STEP_NEXT, .id = "f8"));
    apply(r, B,
          CMD(CMD_LEARNING_POST, .id = "b5", .text = "LEARNING-1 listen",
              .variant = DIM_PROCESS));
    apply(r, B, CMD(CMD_NOTE_POST, .id = "b6", .text = "NOTE-SECRET-B"));
    apply(r, F, CMD(CMD_SESSION_CLOSE, .id = "f9"));

    fx_group(&f, "fr", "Managers Lyon", "Karim");
    ctx = ctx_of(&f, NULL);
    md = export_minutes_text(r, &ctx, EXPORT_MARKDOWN, &len);
    assert_non_null(md);
    assert_has(md, "# Compte rendu de séance — Managers Lyon\n");
    assert_has(md, "- Claire · Animation\n");
    assert_has(md, "## Météo\n\n- Léa \\<u\\> — CHECKIN-1 tired\n");
    assert_has(md, "### Sujets proposés\n\n- Karim — TOPIC-1 my team\n");
    assert_has(md, "**Personne cliente :** Karim");
    assert_has(md, "**Problème :** PROBLEM-1 resists");
    assert_has(
        md, "- Léa \\<u\\> — QUESTION-1 since when?\n  - **Réponse :** ANSWER-1 May\n");
    assert_has(md, "- Léa \\<u\\> — REFORM-1 you mean\n");
    assert_has(md, "**Contrat :** CONTRACT-1 help me");
    assert_has(md,
               "- Retour d’expérience · Léa \\<u\\> — CONTRIB-1 \\<b\\>1:1s\\</b\\>\n");
    assert_has(md, "- ACTION-1 meet (échéance : lundi)\n");
    assert_has(md, "- Processus · Léa \\<u\\> — LEARNING-1 listen\n");
    assert_lacks(md, "NOTE-SECRET");
    assert_lacks(md, "à retenir");
    html = export_minutes_text(r, &ctx, EXPORT_HTML, &len);
    assert_non_null(html);
    assert_has(html, "CONTRIB-1 &lt;b&gt;1:1s&lt;/b&gt;");
    assert_lacks(html, "<b>");
    assert_lacks(html, "<u>");
    assert_lacks(html, "NOTE-SECRET");
    assert_lacks(html, "à retenir");
    free(md);
    free(html);
    room_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_names_are_json_md_html_only),
        cmocka_unit_test(html_escapes_hostile_text_everywhere),
        cmocka_unit_test(markdown_escapes_markup_and_keeps_lines_in_their_item),
        cmocka_unit_test(journal_labels_follow_the_group_language),
        cmocka_unit_test(a_plan_goes_under_its_case_and_the_rest_under_other_actions),
        cmocka_unit_test(journal_json_has_learnings_notes_cases_and_plans),
        cmocka_unit_test(an_empty_journal_is_a_whole_document),
        cmocka_unit_test(history_json_has_planned_and_used_times_and_who),
        cmocka_unit_test(history_text_has_a_table_per_consultation_in_both_languages),
        cmocka_unit_test(history_has_each_sessions_speaking_balance),
        cmocka_unit_test(minutes_show_the_shared_cards_and_nothing_private),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
