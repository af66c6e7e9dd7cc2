/*
 * labels.c - the exports' words, loaded from the web client's dictionaries
 * (see labels.h for the policy when a file or a key is missing).
 *
 * Invariants:
 *   - loaded[lang][l] is NULL (use the compiled-in text) or an owned copy
 *     of the dictionary's string; nothing else writes it.
 *   - Only labels_load() and labels_free() write, on the main thread while
 *     no export runs; labels_get() only reads.
 *
 * Expected load: one load per process (two JSON files of about 20 kB).
 */
#include "labels.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
    const char *key;
    const char *text[LABEL_LANG_COUNT];
} label_rows[L_COUNT] = {
#define LABEL_ROW(name, key, fr, en) [name] = {key, {fr, en}},
    LABEL_MAP(LABEL_ROW)
#undef LABEL_ROW
};

static const char *const label_files[LABEL_LANG_COUNT] = {
    [LABEL_FR] = "fr.json",
    [LABEL_EN] = "en.json",
};

/* The texts the last labels_load() found; NULL where it found none. */
static char *loaded[LABEL_LANG_COUNT][L_COUNT];

/* Returns the string at the dotted path key of root (borrowed), or NULL
 * when a step is missing or the leaf is not a non-empty string. */
static const char *labels_lookup(json_t *root, const char *key)
{
    char part[64];
    const char *p = key;
    json_t *node = root;

    while (node && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        node = json_is_object(node) ? json_object_get(node, part) : NULL;
        p += n;
        if (*p == '.')
            p++;
    }
    if (!json_is_string(node) || json_string_length(node) == 0)
        return NULL;
    return json_string_value(node);
}

/* Notes the first fallback in missing (if it is still empty). */
static void labels_note(char *missing, size_t cap, const char *file, const char *what)
{
    if (missing && cap && !missing[0])
        snprintf(missing, cap, "%s: %s", file, what);
}

int labels_load(const char *web_dir, char *missing, size_t cap)
{
    char *fresh[LABEL_LANG_COUNT][L_COUNT] = {{NULL}};
    int fell_back = 0, rc;

    if (missing && cap)
        missing[0] = '\0';
    for (int lang = 0; lang < LABEL_LANG_COUNT; lang++) {
        char path[4096];
        json_error_t jerr;
        json_t *root = NULL;

        if (snprintf(path, sizeof(path), "%s/i18n/%s", web_dir ? web_dir : ".",
                     label_files[lang]) < (int)sizeof(path))
            root = json_load_file(path, 0, &jerr);
        if (!root) {
            labels_note(missing, cap, label_files[lang], "cannot read or parse it");
            fell_back += L_COUNT;
            continue;
        }
        for (int l = 0; l < L_COUNT; l++) {
            const char *s = labels_lookup(root, label_rows[l].key);
            if (!s) {
                labels_note(missing, cap, label_files[lang], label_rows[l].key);
                fell_back++;
            } else if (!(fresh[lang][l] = util_strdup_or_null(s))) {
                json_decref(root);
                rc = -1;
                goto out;
            }
        }
        json_decref(root);
    }
    labels_free();
    memcpy(loaded, fresh, sizeof(loaded));
    memset(fresh, 0, sizeof(fresh));
    rc = fell_back;
out:
    for (int lang = 0; lang < LABEL_LANG_COUNT; lang++)
        for (int l = 0; l < L_COUNT; l++)
            free(fresh[lang][l]);
    return rc;
}

void labels_free(void)
{
    for (int lang = 0; lang < LABEL_LANG_COUNT; lang++)
        for (int l = 0; l < L_COUNT; l++) {
            free(loaded[lang][l]);
            loaded[lang][l] = NULL;
        }
}

const char *labels_get(enum label_lang lang, enum label l)
{
    if ((unsigned)lang >= LABEL_LANG_COUNT || (unsigned)l >= L_COUNT)
        return "";
    return loaded[lang][l] ? loaded[lang][l] : label_rows[l].text[lang];
}

const char *labels_key(enum label l)
{
    return (unsigned)l < L_COUNT ? label_rows[l].key : NULL;
}

const char *labels_default(enum label_lang lang, enum label l)
{
    if ((unsigned)lang >= LABEL_LANG_COUNT || (unsigned)l >= L_COUNT)
        return NULL;
    return label_rows[l].text[lang];
}
