/*
 * test_labels.c - the exports' words come from web-client/i18n: the shipped
 * dictionaries hold every label and agree with the compiled-in fallbacks,
 * a missing key or file falls back and is reported, and a loaded word is
 * the one labels_get() returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "labels.h"

/* The source tree's web-client/ (set by meson). */
#ifndef CODEV_WEB_DIR
#error "CODEV_WEB_DIR must name the source tree's web-client/"
#endif

/* The shipped dictionaries hold every label, and the compiled-in texts are
 * theirs: a fallback never shows a wording the page does not use. */
static void shipped_dictionaries_hold_every_label_and_match_the_defaults(void **state)
{
    char missing[160];

    (void)state;
    assert_int_equal(labels_load(CODEV_WEB_DIR, missing, sizeof(missing)), 0);
    assert_string_equal(missing, "");
    for (int lang = 0; lang < LABEL_LANG_COUNT; lang++)
        for (int l = 0; l < L_COUNT; l++) {
            const char *got = labels_get((enum label_lang)lang, (enum label)l);
            const char *def = labels_default((enum label_lang)lang, (enum label)l);
            if (strcmp(got, def) != 0)
                fail_msg("%s %s: i18n says \"%s\", labels.h says \"%s\"",
                         lang == LABEL_FR ? "fr" : "en", labels_key((enum label)l), got,
                         def);
        }
    labels_free();
}

/* The page's own words, not a second wording: the closed step is
 * "Séance terminée" on the page, so it is in the exports too. */
static void step_labels_are_the_pages(void **state)
{
    (void)state;
    assert_string_equal(labels_key(L_STEP_CLOSED), "steps.closed.label");
    assert_string_equal(labels_get(LABEL_FR, L_STEP_CLOSED), "Séance terminée");
    assert_string_equal(labels_get(LABEL_EN, L_STEP_CLOSED), "Session closed");
}

/* Writes json to <dir>/i18n/<file>. */
static void write_dict(const char *dir, const char *file, json_t *json)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/i18n/%s", dir, file);
    assert_int_equal(json_dump_file(json, path, JSON_ENCODE_ANY), 0);
}

/* A changed word is used; a removed key and a missing file fall back to
 * the compiled-in text, counted and reported (the first one by name);
 * labels_free() brings the compiled-in texts back. */
static void missing_keys_and_files_fall_back_and_are_reported(void **state)
{
    char dir[] = "/tmp/codev-labels-XXXXXX";
    char path[512], missing[160];
    json_error_t jerr;
    json_t *fr;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/i18n", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    fr = json_load_file(CODEV_WEB_DIR "/i18n/fr.json", 0, &jerr);
    assert_non_null(fr);
    assert_int_equal(json_object_set_new(json_object_get(fr, "export"), "journal",
                                         json_string("Carnet de bord")),
                     0);
    assert_int_equal(
        json_object_del(json_object_get(json_object_get(fr, "steps"), "closed"), "label"),
        0);
    write_dict(dir, "fr.json", fr);
    json_decref(fr);

    /* en.json is missing: all of English falls back, plus one French key. */
    assert_int_equal(labels_load(dir, missing, sizeof(missing)), L_COUNT + 1);
    assert_string_equal(missing, "fr.json: steps.closed.label");
    assert_string_equal(labels_get(LABEL_FR, L_JOURNAL), "Carnet de bord");
    assert_string_equal(labels_get(LABEL_FR, L_STEP_CLOSED),
                        labels_default(LABEL_FR, L_STEP_CLOSED));
    assert_string_equal(labels_get(LABEL_EN, L_JOURNAL),
                        labels_default(LABEL_EN, L_JOURNAL));

    /* An unreadable dictionary is reported as such. */
    fr = json_string("not an object");
    write_dict(dir, "en.json", fr);
    json_decref(fr);
    assert_int_equal(labels_load(dir, NULL, 0), L_COUNT + 1);
    snprintf(path, sizeof(path), "%s/i18n/en.json", dir);
    assert_int_equal(unlink(path), 0);

    labels_free();
    assert_string_equal(labels_get(LABEL_FR, L_JOURNAL),
                        labels_default(LABEL_FR, L_JOURNAL));
    snprintf(path, sizeof(path), "%s/i18n/fr.json", dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/i18n", dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void no_dictionary_at_all_still_gives_every_label(void **state)
{
    char missing[160];

    (void)state;
    assert_int_equal(labels_load("/nonexistent/codev", missing, sizeof(missing)),
                     2 * L_COUNT);
    assert_string_equal(missing, "fr.json: cannot read or parse it");
    for (int l = 0; l < L_COUNT; l++)
        assert_true(labels_get(LABEL_EN, (enum label)l)[0] != '\0');
    labels_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_dictionaries_hold_every_label_and_match_the_defaults),
        cmocka_unit_test(step_labels_are_the_pages),
        cmocka_unit_test(missing_keys_and_files_fall_back_and_are_reported),
        cmocka_unit_test(no_dictionary_at_all_still_gives_every_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
