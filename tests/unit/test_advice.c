/*
 * test_advice.c - the advice-in-disguise detector (advice.c): the cue
 * table's order, normalisation, a table of hand-picked cases both ways,
 * precision and recall on the labelled set of tests/data/, and the cost of
 * one check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "advice.h"

size_t advice_cue_count(void);
const char *advice_cue_pattern(size_t i);
const char *advice_tu_form(size_t i);

/* The labelled sets, relative to tests/unit (where run-all.sh runs us):
 * three sets written by three authors, each blind to the detector and to
 * the others (tests/data/README.md tells how each was used). */
static const char *const advice_sets[] = {
    "../data/advice-questions.tsv",
    "../data/advice-questions-2.tsv",
    "../data/advice-questions-3.tsv",
};

static void head_of(const char *pattern, char *out, size_t cap)
{
    size_t n = 0;

    if (*pattern == '^')
        pattern++;
    while (*pattern == ' ')
        pattern++;
    while (pattern[n] && pattern[n] != ' ' && n + 1 < cap) {
        out[n] = pattern[n];
        n++;
    }
    out[n] = '\0';
}

static void cue_table_is_sorted_by_first_word(void **state)
{
    char prev[64] = "", head[64];

    (void)state;
    for (size_t i = 0; i < advice_cue_count(); i++) {
        head_of(advice_cue_pattern(i), head, sizeof(head));
        if (strcmp(prev, head) > 0)
            fail_msg("cue %zu \"%s\" is filed before \"%s\": keep the table sorted", i,
                     advice_cue_pattern(i), prev);
        assert_true(head[0] != '_' && head[0] != '~' && head[0] != '*');
        memcpy(prev, head, sizeof(prev));
    }
}

static void tu_form_table_is_sorted(void **state)
{
    (void)state;
    for (size_t i = 1; advice_tu_form(i); i++)
        if (strcmp(advice_tu_form(i - 1), advice_tu_form(i)) >= 0)
            fail_msg("tu-form \"%s\" is filed after \"%s\": keep the table sorted",
                     advice_tu_form(i), advice_tu_form(i - 1));
}

struct advice_case {
    const char *text;
    bool advice;
};

static const struct advice_case cases[] = {
    /* French advice in disguise, in the forms the method names. */
    {"As-tu pensé à en parler à ta directrice ?", true},
    {"Pourquoi ne pas déléguer une partie du dossier ?", true},
    {"Ne pourrais-tu pas lui proposer un entretien ?", true},
    {"Et si tu commençais par une réunion d’équipe ?", true},
    {"As-tu essayé de lui écrire ?", true},
    {"AVEZ-VOUS PENSÉ À UN COACHING ?", true},
    {"Avez vous envisage de changer de poste", true},
    {"Est-ce que tu as essayé de fixer des limites ?", true},
    {"Pourquoi ne lui parles-tu pas directement ?", true},
    {"Tu ne crois pas que tu devrais en parler aux RH ?", true},
    {"Qu’est-ce qui t’empêche de refuser ce mandat ?", true},
    {"Un accompagnement ne t’aiderait-il pas ?", true},
    {"Parle-lui franchement !", true},
    {"Alors, t'as pensé à prendre des vacances ?", true},
    {"Ce serait peut-être bien de revoir les priorités ?", true},
    {"N’y aurait-il pas moyen de partager la charge ?", true},
    {"Il vaudrait mieux attendre la fin du trimestre, non ?", true},
    /* French questions that help understand. */
    {"Depuis quand la situation dure-t-elle ?", false},
    {"Qu’as-tu déjà essayé ?", false},
    {"Qu'est-ce que tu as essayé jusqu'ici ?", false},
    {"Comment réagit-elle quand tu lui en parles ?", false},
    {"À quoi as-tu pensé en premier ?", false},
    {"Pourquoi est-ce important pour toi ?", false},
    {"Qui d’autre est concerné par ce changement ?", false},
    {"Comment tu pourrais décrire l’ambiance ?", false},
    {"Qu’est-ce qui t’aiderait le plus aujourd’hui ?", false},
    {"Que s’est-il passé la dernière fois ?", false},
    {"Raconte-moi comment s’est passée la réunion.", false},
    /* English advice in disguise. */
    {"Have you considered talking to HR?", true},
    {"Why don't you delegate the report?", true},
    {"Why don’t you just say no?", true},
    {"Could you try a weekly one-to-one?", true},
    {"What if you asked for a budget?", true},
    {"So, have you thought about moving teams?", true},
    {"Wouldn't it be easier to hire someone?", true},
    {"Did it occur to you to ask your manager?", true},
    {"How about setting clear deadlines?", true},
    {"What about talking to her first?", true},
    {"You should escalate this, no?", true},
    {"Talk to your boss.", true},
    /* English questions that help understand. */
    {"What have you tried so far?", false},
    {"What would success look like for you?", false},
    {"How does your manager see it?", false},
    {"Why does this matter to you now?", false},
    {"When did it start?", false},
    {"What could you do differently, in your own view?", false},
    {"Tell me more about the team.", false},
    {"What about the budget worries you most?", false},
};

static void hand_picked_cases(void **state)
{
    int wrong = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct advice_result r;

        assert_int_equal(
            advice_check(cases[i].text, strlen(cases[i].text), ADVICE_LANG_ANY, &r), 0);
        if (r.advice_like != cases[i].advice) {
            print_message("# %s: %s (cue %s)\n",
                          cases[i].advice ? "missed" : "false alarm", cases[i].text,
                          r.cue ? r.cue : "-");
            wrong++;
        }
        assert_true(r.advice_like == (r.cue != NULL));
    }
    assert_int_equal(wrong, 0);
}

static void verdict_names_the_cue_and_language(void **state)
{
    struct advice_result r;
    const char *q = "Pourquoi ne pas en parler ?";

    (void)state;
    assert_int_equal(advice_check(q, strlen(q), ADVICE_LANG_ANY, &r), 0);
    assert_true(r.advice_like);
    assert_string_equal(r.cue, "pourquoi ne… pas");
    assert_string_equal(r.lang, "fr");
    /* A language filter keeps the other language's cues out. */
    q = "Why not ask her?";
    assert_int_equal(advice_check(q, strlen(q), ADVICE_LANG_FR, &r), 0);
    assert_false(r.advice_like);
    assert_int_equal(advice_check(q, strlen(q), ADVICE_LANG_EN, &r), 0);
    assert_true(r.advice_like);
    assert_int_equal(advice_check(NULL, 0, ADVICE_LANG_ANY, &r), -1);
}

static void bytes_past_len_are_not_read(void **state)
{
    struct advice_result r;
    const char *q = "Depuis quand ? Pourquoi ne pas partir ?";

    (void)state;
    assert_int_equal(advice_check(q, 13, ADVICE_LANG_ANY, &r), 0);
    assert_false(r.advice_like);
    assert_int_equal(advice_check(q, strlen(q), ADVICE_LANG_ANY, &r), 0);
    assert_true(r.advice_like);
}

static void hostile_input_is_bounded(void **state)
{
    size_t n = 64 * 1024;
    char *big = malloc(n);
    struct advice_result r;

    (void)state;
    assert_non_null(big);
    /* Invalid UTF-8, a lone lead byte at the end, no spaces, NULs. */
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(0x80 + (i * 7) % 0x7f);
    big[n - 1] = (char)0xE2;
    assert_int_equal(advice_check(big, n, ADVICE_LANG_ANY, &r), 0);
    memset(big, 'a', n);
    assert_int_equal(advice_check(big, n, ADVICE_LANG_ANY, &r), 0);
    for (size_t i = 0; i < n; i += 2) {
        big[i] = 'a';
        big[i + 1] = ' ';
    }
    assert_int_equal(advice_check(big, n, ADVICE_LANG_ANY, &r), 0);
    assert_false(r.advice_like);
    memset(big, 0, n);
    assert_int_equal(advice_check(big, n, ADVICE_LANG_ANY, &r), 0);
    free(big);
}

struct score {
    int tp, fp, fn, tn;
};

/* Reads the labelled set at path; adds its scores per language. */
static int score_set(const char *path, struct score *fr, struct score *en, int *rows)
{
    FILE *f = fopen(path, "r");
    char line[4096];

    if (!f)
        return -1;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *field[5];
        char *p = line;
        int k;
        struct advice_result r;
        struct score *s;
        bool advice;

        line[strcspn(line, "\r\n")] = '\0';
        for (k = 0; k < 5 && p; k++) {
            field[k] = p;
            p = k < 4 ? strchr(p, '\t') : NULL;
            if (p)
                *p++ = '\0';
        }
        if (k < 5)
            continue;
        s = strcmp(field[1], "fr") == 0 ? fr : en;
        advice = strcmp(field[2], "advice") == 0;
        advice_check(field[4], strlen(field[4]), ADVICE_LANG_ANY, &r);
        if (getenv("ADVICE_SHOW_ERRORS") && r.advice_like != advice)
            print_message("# %s %s: %s [%s]\n", field[0],
                          advice ? "missed" : "false alarm", field[4],
                          r.cue ? r.cue : "-");
        if (advice && r.advice_like)
            s->tp++;
        else if (advice)
            s->fn++;
        else if (r.advice_like)
            s->fp++;
        else
            s->tn++;
        (*rows)++;
    }
    fclose(f);
    return 0;
}

static double precision(const struct score *s)
{
    return s->tp + s->fp ? (double)s->tp / (s->tp + s->fp) : 0;
}

static double recall(const struct score *s)
{
    return s->tp + s->fn ? (double)s->tp / (s->tp + s->fn) : 0;
}

/* Issue 13's bar, per language, on every labelled set together; each
 * set's own figures are printed. */
static void labelled_sets_meet_the_bar(void **state)
{
    struct score fr = {0}, en = {0};
    int rows = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(advice_sets) / sizeof(advice_sets[0]); i++) {
        struct score sfr = {0}, sen = {0};
        int n = 0;

        assert_int_equal(score_set(advice_sets[i], &sfr, &sen, &n), 0);
        assert_true(n >= 240);
        print_message(
            "# %s (%d questions): fr precision %.3f recall %.3f (tp %d fp %d fn %d "
            "tn %d); en precision %.3f recall %.3f (tp %d fp %d fn %d tn %d)\n",
            advice_sets[i], n, precision(&sfr), recall(&sfr), sfr.tp, sfr.fp, sfr.fn,
            sfr.tn, precision(&sen), recall(&sen), sen.tp, sen.fp, sen.fn, sen.tn);
        fr.tp += sfr.tp, fr.fp += sfr.fp, fr.fn += sfr.fn, fr.tn += sfr.tn;
        en.tp += sen.tp, en.fp += sen.fp, en.fn += sen.fn, en.tn += sen.tn;
        rows += n;
    }
    print_message(
        "# all %d questions: fr precision %.3f recall %.3f; en precision %.3f recall "
        "%.3f\n",
        rows, precision(&fr), recall(&fr), precision(&en), recall(&en));
    assert_true(rows >= 300);
    assert_true(precision(&fr) >= 0.9);
    assert_true(recall(&fr) >= 0.8);
    assert_true(precision(&en) >= 0.9);
    assert_true(recall(&en) >= 0.8);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The check runs on every keystroke pause: under 20 us for 300 characters.
 * Each check is timed alone and the median of 20,000 is held to it: a
 * batch's average counted every moment a busy machine took the CPU away
 * and failed under load with the check itself unchanged. */
static void check_costs_under_20_us_for_300_characters(void **state)
{
    enum { N = 20000 };
    static double t[N];
    const char *q =
        "Bonjour à toutes et à tous, merci pour cet exposé très clair ; j’aimerais "
        "comprendre "
        "un peu mieux la situation avant la consultation : depuis combien de temps "
        "l’équipe "
        "fonctionne-t-elle ainsi, qui a pris la décision de la réorganisation et comment "
        "réagissent les deux personnes qui pensent partir, d’après toi ?";
    struct advice_result r;

    (void)state;
    assert_true(strlen(q) >= 300);
    for (int k = 0; k < N; k++) {
        double t0 = now_us();

        advice_check(q, strlen(q), ADVICE_LANG_ANY, &r);
        t[k] = now_us() - t0;
    }
    qsort(t, N, sizeof(t[0]), cmp_double);
    print_message("# one check of %zu bytes: median %.2f us, p99 %.2f us (min %.2f)\n",
                  strlen(q), t[N / 2], t[N * 99 / 100], t[0]);
    assert_false(r.advice_like);
    /* The budget is the release build's: under the sanitizers the figure is
     * printed, not held to it (ASan alone costs about four times). */
#if defined(__SANITIZE_ADDRESS__)
    print_message("# (sanitizer build: the 20 us budget is not asserted)\n");
#else
    assert_true(t[N / 2] < 20.0);
#endif
}

/* Fills out (cap >= want + 1) with q repeated, separated by a space, up to
 * want bytes, never cutting a UTF-8 sequence. Returns the length. */
static size_t repeat_to(const char *q, size_t want, char *out, size_t cap)
{
    size_t n = 0, len = strlen(q);

    while (n < want && len > 0 && n + 1 < cap) {
        for (size_t i = 0; i < len && n + 1 < cap; i++)
            out[n++] = q[i];
        if (n + 1 < cap)
            out[n++] = ' ';
    }
    if (n > want)
        n = want;
    while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
        n--; /* out[n] would continue a sequence cut at n */
    out[n] = '\0';
    return n;
}

/* The cost of each check, timed one by one, on every question of the
 * labelled sets made 300 bytes long (the question repeated): median, p99
 * and max are printed, the median held to the budget like the test above
 * (the p99 and max include the moments a shared machine takes the CPU
 * away, so they are reported, not asserted). */
static void each_check_of_300_bytes_timed_over_the_sets(void **state)
{
    enum { PASSES = 5, MAXQ = 2000 };
    static char texts[MAXQ][301];
    static double t[MAXQ * PASSES];
    size_t nq = 0, nt = 0, advice = 0;
    char line[4096];

    (void)state;
    for (size_t i = 0; i < sizeof(advice_sets) / sizeof(advice_sets[0]); i++) {
        FILE *f = fopen(advice_sets[i], "r");

        assert_non_null(f);
        assert_non_null(fgets(line, sizeof(line), f)); /* the header */
        while (nq < MAXQ && fgets(line, sizeof(line), f)) {
            char *q = line;

            line[strcspn(line, "\r\n")] = '\0';
            for (int k = 0; k < 4 && q; k++)
                if ((q = strchr(q, '\t')))
                    q++;
            if (q && *q)
                repeat_to(q, 300, texts[nq++], sizeof(texts[0]));
        }
        fclose(f);
    }
    assert_true(nq >= 300);
    for (int p = 0; p < PASSES; p++)
        for (size_t i = 0; i < nq; i++) {
            struct advice_result r;
            size_t len = strlen(texts[i]);
            double t0 = now_us();

            advice_check(texts[i], len, ADVICE_LANG_ANY, &r);
            t[nt++] = now_us() - t0;
            advice += p == 0 && r.advice_like;
        }
    qsort(t, nt, sizeof(t[0]), cmp_double);
    print_message("# %zu checks of %zu questions of up to 300 bytes (%zu advice-like): "
                  "median %.2f us, p99 %.2f us, max %.2f us\n",
                  nt, nq, advice, t[nt / 2], t[nt * 99 / 100], t[nt - 1]);
#if defined(__SANITIZE_ADDRESS__)
    print_message("# (sanitizer build: the 20 us budget is not asserted)\n");
#else
    assert_true(t[nt / 2] < 20.0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cue_table_is_sorted_by_first_word),
        cmocka_unit_test(tu_form_table_is_sorted),
        cmocka_unit_test(hand_picked_cases),
        cmocka_unit_test(verdict_names_the_cue_and_language),
        cmocka_unit_test(bytes_past_len_are_not_read),
        cmocka_unit_test(hostile_input_is_bounded),
        cmocka_unit_test(labelled_sets_meet_the_bar),
        cmocka_unit_test(check_costs_under_20_us_for_300_characters),
        cmocka_unit_test(each_check_of_300_bytes_timed_over_the_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
