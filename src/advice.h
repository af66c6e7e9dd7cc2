/*
 * advice.h - is a clarification question advice in disguise?
 *
 * In the clarification step the consultants ask questions that help them
 * understand; the method forbids questions that carry a proposed action
 * ("As-tu pensé à en parler à ta directrice ?", "Why don't you delegate?").
 * advice_check() tells, in French and English, whether a question looks
 * like one, and names the cue that matched so that the page can explain.
 *
 * How: the text is normalised (case, accents, typographic apostrophes,
 * elisions, hyphens, French vous-forms to tu-forms, English contractions
 * split), cut into sentences and words, and matched against one table of
 * cues (advice.c), each a short word pattern, some anchored at the start of
 * a sentence, some barred after a word ("what have you tried" is not "have
 * you tried"). Cues are indexed by their first word, so a check costs a few
 * lookups per word: well under the 20 us budget of issue 13 for a
 * 300-character question (measured in tests/unit/test_advice.c).
 *
 * Pure: libc only, no state, no allocation; thread-safe. A verdict is a
 * hint for the author and the facilitator, never a refusal.
 */
#ifndef CODEV_ADVICE_H
#define CODEV_ADVICE_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a question that are read; the rest is ignored (a question is at
 * most text_max_chars characters, 1000 by default: 4000 bytes at most). */
#define ADVICE_MAX_BYTES 4096

enum advice_lang { ADVICE_LANG_FR, ADVICE_LANG_EN, ADVICE_LANG_ANY };

struct advice_result {
    bool advice_like; /* true when a cue matched */
    const char *cue;  /* the cue as a reader knows it ("pourquoi ne pas…"),
                       * static storage; NULL when advice_like is false */
    const char *lang; /* "fr" or "en": the cue's language; NULL if none */
};

/*
 * Checks text (UTF-8, need not be NUL-terminated within len) for advice
 * cues of lang (ADVICE_LANG_ANY: both languages, as a group's members may
 * write in either). Fills *out. Returns 0, or -1 when text is NULL or out
 * is NULL. Runs on any thread.
 */
int advice_check(const char *text, size_t len, enum advice_lang lang,
                 struct advice_result *out);

#endif
