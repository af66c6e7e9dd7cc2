/*
 * labels.h - the words of the exports (journal, history, minutes), in
 * French and English, taken from the web client's own dictionaries so that
 * an export says what the page says ("Séance terminée", not a second
 * wording of it).
 *
 * LABEL_MAP is the one list of the labels: each row names the label
 * (L_<name>), its key in web-client/i18n/<lang>.json (a dotted path: the
 * page's own key where the page shows the same word, steps.<step>.label,
 * kinds.*, dims.*; else a key of the "export" object, which only the
 * exports read) and the compiled-in French and English text.
 *
 * Start-up and failure policy: labels_load() reads both files from the
 * configured web_dir once, before the server starts; the server starts and
 * exports whatever happens. A file that cannot be read or parsed, or a key
 * that is missing, empty or not a string, falls back to the compiled-in
 * text of its row, and labels_load() reports how many fell back and the
 * first of them, for main.c to log in one line. The compiled-in texts are
 * the shipped dictionaries' (test_labels checks that they agree), so a
 * fallback never shows a wording the page does not use.
 *
 * Invariants:
 *   - Process-wide, written only by labels_load() and labels_free() on the
 *     main thread while no export runs (before the server starts, after it
 *     stops); read-only in between, so any thread (the lws thread, the
 *     export offload) may call labels_get() without a lock.
 *   - labels_get() never returns NULL for a label and language in range.
 *
 * Expected load: one load per process; a few hundred labels_get() per
 * export.
 */
#ifndef CODEV_LABELS_H
#define CODEV_LABELS_H

#include <stddef.h>

enum label_lang { LABEL_FR, LABEL_EN, LABEL_LANG_COUNT };

/* X(name, i18n key, French, English) */
/* clang-format off */
#define LABEL_MAP(X)                                                                                               \
    X(L_JOURNAL, "export.journal", "Journal de bord", "Learning journal")                                          \
    X(L_HISTORY, "export.history", "Historique des séances", "Session history")                                    \
    X(L_MINUTES, "export.minutes", "Compte rendu de séance", "Session minutes")                                    \
    X(L_GROUP, "export.group", "Groupe", "Group")                                                                  \
    X(L_EXPORTED, "export.exported", "Exporté le", "Exported on")                                                  \
    X(L_LEARNINGS_MINE, "export.learnings_mine", "Mes apprentissages", "My learnings")                             \
    X(L_NOTES_MINE, "export.notes_mine", "Mes notes personnelles", "My private notes")                             \
    X(L_CASES_MINE, "export.cases_mine", "Mes consultations comme personne cliente", "My consultations as client") \
    X(L_OTHER_PLANS, "export.other_plans", "Autres actions", "Other actions")                                      \
    X(L_NOTHING, "export.nothing", "Rien pour l’instant.", "Nothing yet.")                                         \
    X(L_SESSION_OF, "export.session_of", "Séance du", "Session of")                                                \
    X(L_CONSULTATION, "export.consultation", "Consultation", "Consultation")                                       \
    X(L_PROBLEM, "export.problem", "Problème", "Problem")                                                          \
    X(L_CONTRACT, "export.contract", "Contrat", "Contract")                                                        \
    X(L_CONTRIBUTIONS_RECEIVED, "record.contributions", "Contributions reçues", "Contributions received")          \
    X(L_CONTRIBUTIONS, "export.contributions", "Contributions", "Contributions")                                   \
    X(L_MARKED, "export.marked", "à retenir", "keep")                                                              \
    X(L_ACTION_PLAN, "synthesis.plan", "Plan d’action", "Action plan")                                             \
    X(L_DUE, "export.due", "échéance", "by")                                                                       \
    X(L_DEBRIEF, "export.debrief", "bilan", "debrief")                                                             \
    X(L_NOT_DEBRIEFED, "export.not_debriefed", "bilan à faire", "not debriefed yet")                               \
    X(L_COMMENT, "export.comment", "commentaire", "comment")                                                       \
    X(L_OUTCOME_DONE, "export.outcome_done", "fait", "done")                                                       \
    X(L_OUTCOME_PARTLY, "export.outcome_partly", "en partie", "partly")                                            \
    X(L_OUTCOME_NOT_DONE, "export.outcome_not_done", "pas fait", "not done")                                       \
    X(L_OUTCOME_DROPPED, "export.outcome_dropped", "abandonné", "dropped")                                         \
    X(L_KIND_SUGGESTION, "kinds.suggestion", "Suggestion", "Suggestion")                                           \
    X(L_KIND_EXPERIENCE, "kinds.experience", "Retour d’expérience", "Experience")                                  \
    X(L_KIND_FEELING, "kinds.feeling", "Ressenti", "Feeling")                                                      \
    X(L_DIM_PROCESS, "dims.process", "Processus", "Process")                                                       \
    X(L_DIM_CONTENT, "dims.content", "Contenu", "Content")                                                         \
    X(L_STEP_OPENING, "steps.opening.label", "Accueil et retour sur les actions", "Check-in and follow-up")        \
    X(L_STEP_TOPIC, "steps.topic.label", "Choix du sujet", "Topic selection")                                      \
    X(L_STEP_EXPOSE, "steps.expose.label", "1. Exposé", "1. Presentation")                                         \
    X(L_STEP_CLARIFICATION, "steps.clarification.label", "2. Clarification", "2. Clarification")                   \
    X(L_STEP_CONTRACT, "steps.contract.label", "3. Contrat", "3. Contract")                                        \
    X(L_STEP_CONSULTATION, "steps.consultation.label", "4. Consultation", "4. Consultation")                       \
    X(L_STEP_SYNTHESIS, "steps.synthesis.label", "5. Synthèse et plan d’action", "5. Summary and action plan")     \
    X(L_STEP_LEARNING, "steps.learning.label", "6. Apprentissages", "6. Learning")                                 \
    X(L_STEP_CLOSED, "steps.closed.label", "Séance terminée", "Session closed")                                    \
    X(L_STEP, "export.step", "Étape", "Step")                                                                      \
    X(L_PLANNED, "export.planned", "Prévu", "Planned")                                                             \
    X(L_ACTUAL, "export.actual", "Réel", "Actual")                                                                 \
    X(L_CLIENT, "export.client", "Personne cliente", "Client")                                                     \
    X(L_FACILITATOR, "export.facilitator", "Animation", "Facilitator")                                             \
    X(L_NOBODY, "export.nobody", "personne", "nobody")                                                             \
    X(L_DURATION, "export.duration", "Durée", "Duration")                                                          \
    X(L_ROTATION, "export.rotation", "Rotation des rôles", "Role rotation")                                        \
    X(L_MEMBER, "export.member", "Membre", "Member")                                                               \
    X(L_TIMES_CLIENT, "export.times_client", "Fois personne cliente", "Times client")                              \
    X(L_TIMES_FACILITATOR, "export.times_facilitator", "Fois à l’animation", "Times facilitating")                 \
    X(L_LAST_CLIENT, "export.last_client", "Dernière fois personne cliente", "Last time client")                   \
    X(L_NEVER, "export.never", "jamais", "never")                                                                  \
    X(L_NO_SESSIONS, "export.no_sessions", "Aucune séance close pour l’instant.", "No closed session yet.")        \
    X(L_PARTICIPANTS, "export.participants", "Participants", "Participants")                                       \
    X(L_OBSERVER, "export.observer", "observateur", "observer")                                                    \
    X(L_DEBRIEFS, "export.debriefs", "Retour sur les actions", "Follow-up on actions")                             \
    X(L_CHECKINS, "export.checkins", "Météo", "Check-in")                                                          \
    X(L_TOPICS, "export.topics", "Sujets proposés", "Topics proposed")                                             \
    X(L_QUESTIONS, "export.questions", "Questions de clarification", "Clarification questions")                    \
    X(L_ANSWER, "clarification.answer", "Réponse", "Answer")                                                       \
    X(L_FLAGGED, "export.flagged", "conseil déguisé", "advice in disguise")                                        \
    X(L_REFORMULATIONS, "contract.reformulations", "Reformulations", "Reformulations")                             \
    X(L_LEARNINGS, "export.learnings", "Apprentissages", "Learnings")                                              \
    X(L_TOTAL, "export.total", "Total", "Total")                                                                   \
    X(L_BALANCE, "export.balance", "Équilibre de la parole", "Speaking balance")                                   \
    X(L_FLOOR_TIME, "export.floor_time", "Temps de parole", "Speaking time")                                       \
    X(L_TURNS, "export.turns", "Tours", "Turns")                                                                   \
    X(L_PASSES, "export.passes", "Passés", "Passes")

enum label {
#define LABEL_ENUM(name, key, fr, en) name,
    LABEL_MAP(LABEL_ENUM)
#undef LABEL_ENUM
    L_COUNT
};
/* clang-format on */

/* Loads every label from <web_dir>/i18n/fr.json and en.json, replacing
 * what an earlier call loaded. Returns how many labels (counted per
 * language) fell back to their compiled-in text: 0 when both files hold
 * every key. When some did, writes the first into missing (cap bytes,
 * "fr.json: steps.closed.label" or "en.json: cannot read ..."); missing may
 * be NULL. A negative value means out of memory: the compiled-in texts
 * stay in force. Main thread, while no export runs. */
int labels_load(const char *web_dir, char *missing, size_t cap);

/* Forgets what labels_load() loaded: the compiled-in texts are in force
 * again. Main thread, while no export runs. A no-op when nothing was
 * loaded. */
void labels_free(void);

/* Returns label l in language lang: the loaded text, else the compiled-in
 * one. Borrowed, valid until the next labels_load() or labels_free(). Any
 * thread. */
const char *labels_get(enum label_lang lang, enum label l);

/* Returns the i18n key of l (a static string: "steps.closed.label"), or
 * NULL out of range. */
const char *labels_key(enum label l);

/* Returns the compiled-in text of l in lang (a static string), or NULL out
 * of range. */
const char *labels_default(enum label_lang lang, enum label l);

#endif
