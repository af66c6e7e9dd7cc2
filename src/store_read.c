/*
 * store_read.c - the reads behind the exports and the history view:
 * a member's journal, a group's history, a session's minutes (see store.h).
 *
 * Invariants:
 *   - Every read uses the read-only connection `r` under read_mu, so that
 *     the reads may come from any thread and never block the writer
 *     (WAL: readers see the last commit).
 *   - What a read returns is a new allocation owned by the caller; no
 *     pointer into a backend's rows outlives the read.
 *
 * Expected load: rare (an export, a history view); each is a handful of
 * queries over one member's or one group's rows.
 */
#include "store_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"

/* ---- reads ----------------------------------------------------------------------- */

/* Duplicates column i into *dst (NULL stays NULL). Returns -1 on allocation
 * failure. */
static int col_dup(const struct store_rows *it, int i, char **dst)
{
    const char *t = store_rows_text(it, i);

    *dst = util_strdup_or_null(t);
    return t && !*dst ? -1 : 0;
}

void store_journal_free(struct store_journal *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->nentries; i++)
        free(j->entries[i].text);
    for (size_t i = 0; i < j->ncases; i++) {
        for (size_t k = 0; k < j->cases[i].nitems; k++)
            free(j->cases[i].items[k].text);
        free(j->cases[i].items);
        free(j->cases[i].problem);
        free(j->cases[i].contract);
        free(j->cases[i].retained);
    }
    for (size_t i = 0; i < j->nplans; i++) {
        free(j->plans[i].text);
        free(j->plans[i].due);
        free(j->plans[i].first_step);
        free(j->plans[i].comment);
    }
    free(j->entries);
    free(j->cases);
    free(j->plans);
    free(j);
}

static int read_entries(struct store_db *db, const char *member, struct store_journal *j)
{
    // clang-format off
    static const char sql[] =
        "SELECT session_id, type, variant, step, idx, created_ms, text"
        "  FROM notebook"
        " WHERE member = ?1"
        " ORDER BY created_ms, session_id, card";
    // clang-format on
    struct store_rows *it;
    size_t cap = 0;
    int rc = store_rows_open(db, sql, 7, &it, "t", member);

    while (store_rows_more(it, &rc)) {
        struct store_entry *e;
        int s_idx = step_from_name(store_rows_text(it, 3));
        if (array_grow((void **)&j->entries, &cap, j->nentries + 1, sizeof(*e))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        e = &j->entries[j->nentries];
        memset(e, 0, sizeof(*e));
        store_id_copy(e->session_id, store_rows_text(it, 0));
        e->type = store_rows_text(it, 1) && strcmp(store_rows_text(it, 1), "note") == 0
                      ? CARD_NOTE
                      : CARD_LEARNING;
        e->variant = (int)store_rows_int(it, 2);
        e->step = s_idx < 0 ? STEP_OPENING : (enum step)s_idx;
        e->consultation = (int)store_rows_int(it, 4);
        e->created_ms = store_rows_int(it, 5);
        if (col_dup(it, 6, &e->text) || !e->text) {
            free(e->text);
            rc = CODEV_E_INTERNAL;
            break;
        }
        j->nentries++;
    }
    store_rows_free(it);
    return rc;
}

static int read_case_items(struct store_db *db, struct store_case *c)
{
    // clang-format off
    static const char sql[] =
        "SELECT card, variant, marked, text"
        "  FROM case_items"
        " WHERE session_id = ?1"
        "   AND idx = ?2"
        " ORDER BY card";
    // clang-format on
    struct store_rows *it;
    size_t cap = 0;
    int rc =
        store_rows_open(db, sql, 4, &it, "ti", c->session_id, (int64_t)c->consultation);

    while (store_rows_more(it, &rc)) {
        struct store_case_item *item;
        if (array_grow((void **)&c->items, &cap, c->nitems + 1, sizeof(*item))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        item = &c->items[c->nitems];
        item->card = (uint32_t)store_rows_int(it, 0);
        item->variant = (int)store_rows_int(it, 1);
        item->marked = store_rows_int(it, 2) != 0;
        if (col_dup(it, 3, &item->text) || !item->text) {
            free(item->text);
            rc = CODEV_E_INTERNAL;
            break;
        }
        c->nitems++;
    }
    store_rows_free(it);
    return rc;
}

static int read_cases(struct store_db *db, const char *member, struct store_journal *j)
{
    // clang-format off
    static const char sql[] =
        "SELECT c.session_id, c.idx, s.closed_ms, c.problem, c.contract, c.retained"
        "  FROM cases c"
        "  JOIN sessions s"
        "    ON s.id = c.session_id"
        " WHERE c.client = ?1"
        " ORDER BY s.closed_ms, c.session_id, c.idx";
    // clang-format on
    struct store_rows *it;
    size_t cap = 0;
    int rc = store_rows_open(db, sql, 6, &it, "t", member);

    while (store_rows_more(it, &rc)) {
        struct store_case *c;
        if (array_grow((void **)&j->cases, &cap, j->ncases + 1, sizeof(*c))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        c = &j->cases[j->ncases++];
        memset(c, 0, sizeof(*c));
        store_id_copy(c->session_id, store_rows_text(it, 0));
        c->consultation = (int)store_rows_int(it, 1);
        c->closed_ms = store_rows_int(it, 2);
        if (col_dup(it, 3, &c->problem) || col_dup(it, 4, &c->contract) ||
            col_dup(it, 5, &c->retained) || read_case_items(db, c)) {
            rc = CODEV_E_INTERNAL;
            break;
        }
    }
    store_rows_free(it);
    return rc;
}

static int read_plans(struct store_db *db, const char *member, struct store_journal *j)
{
    // clang-format off
    static const char sql[] =
        "SELECT id, session_id, consultation, text, due, debriefed, outcome, comment,"
        "       first_step"
        "  FROM plans"
        " WHERE client = ?1"
        " ORDER BY group_id, ordinal";
    // clang-format on
    struct store_rows *it;
    size_t cap = 0;
    int rc = store_rows_open(db, sql, 9, &it, "t", member);

    while (store_rows_more(it, &rc)) {
        struct store_plan *p;
        if (array_grow((void **)&j->plans, &cap, j->nplans + 1, sizeof(*p))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        p = &j->plans[j->nplans++];
        memset(p, 0, sizeof(*p));
        store_id_copy(p->id, store_rows_text(it, 0));
        store_id_copy(p->session_id, store_rows_text(it, 1));
        p->consultation = store_rows_null(it, 2) ? -1 : (int)store_rows_int(it, 2);
        /* STORE_PLAN_EXPIRED: no longer offered, never debriefed. */
        p->debriefed = store_rows_int(it, 5) == 1;
        p->outcome = store_rows_null(it, 6) ? -1 : (int)store_rows_int(it, 6);
        if (col_dup(it, 3, &p->text) || !p->text || col_dup(it, 4, &p->due) ||
            col_dup(it, 7, &p->comment) || col_dup(it, 8, &p->first_step)) {
            rc = CODEV_E_INTERNAL;
            break;
        }
    }
    store_rows_free(it);
    return rc;
}

int store_journal_read(struct store *s, const char *member_id, struct store_journal **out)
{
    struct store_journal *j = calloc(1, sizeof(*j));
    int rc = CODEV_E_INTERNAL;

    *out = NULL;
    if (!j || !member_id)
        goto out;
    pthread_mutex_lock(&s->read_mu);
    rc = read_entries(s->r, member_id, j);
    if (!rc)
        rc = read_cases(s->r, member_id, j);
    if (!rc)
        rc = read_plans(s->r, member_id, j);
    pthread_mutex_unlock(&s->read_mu);
out:
    if (rc) {
        store_journal_free(j);
        return CODEV_E_INTERNAL;
    }
    *out = j;
    return 0;
}

void store_history_free(struct store_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nsessions; i++) {
        free(h->sessions[i].consultations);
        free(h->sessions[i].floor);
    }
    free(h->sessions);
    free(h);
}

/* The balance of a closed session: one entry per member, rows grouped. */
static int read_session_floor(struct store_db *db, struct store_session_history *sh)
{
    // clang-format off
    static const char sql[] =
        "SELECT member, step, floor_ms, turns, passes"
        "  FROM session_floor"
        " WHERE session_id = ?1"
        " ORDER BY member, step";
    // clang-format on
    struct store_rows *it;
    size_t cap = 0;
    int rc = store_rows_open(db, sql, 5, &it, "t", sh->id);

    while (store_rows_more(it, &rc)) {
        const char *member = store_rows_text(it, 0);
        int k = step_from_name(store_rows_text(it, 1));
        struct store_floor_history *f = sh->nfloor ? &sh->floor[sh->nfloor - 1] : NULL;
        struct room_floor_tally t;

        if (!member || k < 0)
            continue;
        if (!f || strcmp(f->member, member) != 0) {
            if (array_grow((void **)&sh->floor, &cap, sh->nfloor + 1, sizeof(*f))) {
                rc = CODEV_E_INTERNAL;
                break;
            }
            f = &sh->floor[sh->nfloor++];
            memset(f, 0, sizeof(*f));
            store_id_copy(f->member, member);
        }
        t.ms = store_rows_int(it, 2);
        t.turns = (uint32_t)store_rows_int(it, 3);
        t.passes = (uint32_t)store_rows_int(it, 4);
        f->steps[k] = t;
        f->total.ms += t.ms;
        f->total.turns += t.turns;
        f->total.passes += t.passes;
    }
    store_rows_free(it);
    return rc;
}

static int read_session_history(struct store_db *db, struct store_session_history *sh)
{
    // clang-format off
    static const char sql_consultations[] =
        "SELECT idx, client, facilitator"
        "  FROM consultations"
        " WHERE session_id = ?1"
        " ORDER BY idx";
    static const char sql_steps[] =
        "SELECT idx, step, planned_ms, used_ms"
        "  FROM consultation_steps"
        " WHERE session_id = ?1";
    // clang-format on
    struct store_rows *it;
    size_t cap = 0;
    int rc = store_rows_open(db, sql_consultations, 3, &it, "t", sh->id);

    while (store_rows_more(it, &rc)) {
        struct store_consultation_history *c;
        if (array_grow((void **)&sh->consultations, &cap, sh->nconsultations + 1,
                       sizeof(*c))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        c = &sh->consultations[sh->nconsultations++];
        memset(c, 0, sizeof(*c));
        store_id_copy(c->client, store_rows_text(it, 1));
        store_id_copy(c->facilitator, store_rows_text(it, 2));
    }
    store_rows_free(it);
    if (rc)
        return rc;
    rc = store_rows_open(db, sql_steps, 4, &it, "t", sh->id);
    while (store_rows_more(it, &rc)) {
        int idx = (int)store_rows_int(it, 0), k = step_from_name(store_rows_text(it, 1));
        if (idx < 0 || (size_t)idx >= sh->nconsultations || k < 0)
            continue;
        sh->consultations[idx].steps[k].planned_ms = store_rows_int(it, 2);
        sh->consultations[idx].steps[k].used_ms = store_rows_int(it, 3);
    }
    store_rows_free(it);
    return rc ? rc : read_session_floor(db, sh);
}

int store_history_read(struct store *s, const char *group_id, struct store_history **out)
{
    // clang-format off
    static const char sql[] =
        "SELECT id, opened_ms, closed_ms, opening_planned_ms, opening_used_ms"
        "  FROM sessions"
        " WHERE group_id = ?1"
        "   AND closed_ms IS NOT NULL"
        " ORDER BY opened_ms, rowid";
    // clang-format on
    struct store_history *h = calloc(1, sizeof(*h));
    struct store_rows *it;
    size_t cap = 0;
    int rc;

    *out = NULL;
    if (!h || !group_id) {
        free(h);
        return CODEV_E_INTERNAL;
    }
    pthread_mutex_lock(&s->read_mu);
    rc = store_rows_open(s->r, sql, 5, &it, "t", group_id);
    while (store_rows_more(it, &rc)) {
        struct store_session_history *sh;
        if (array_grow((void **)&h->sessions, &cap, h->nsessions + 1, sizeof(*sh))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        sh = &h->sessions[h->nsessions++];
        memset(sh, 0, sizeof(*sh));
        store_id_copy(sh->id, store_rows_text(it, 0));
        sh->opened_ms = store_rows_int(it, 1);
        sh->closed_ms = store_rows_int(it, 2);
        sh->opening.planned_ms = store_rows_int(it, 3);
        sh->opening.used_ms = store_rows_int(it, 4);
        if (read_session_history(s->r, sh)) {
            rc = CODEV_E_INTERNAL;
            break;
        }
    }
    store_rows_free(it);
    pthread_mutex_unlock(&s->read_mu);
    if (rc) {
        store_history_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int store_minutes_read(struct store *s, const char *session_id, struct room **out)
{
    // clang-format off
    static const char sql[] =
        "SELECT 1"
        "  FROM sessions"
        " WHERE id = ?1"
        "   AND retention = 'keep'"
        "   AND closed_ms IS NOT NULL";
    // clang-format on
    struct store_rows *it;
    struct store_replay rp;
    int rc = CODEV_E_NOT_FOUND;

    *out = NULL;
    memset(&rp, 0, sizeof(rp));
    if (!session_id)
        return CODEV_E_NOT_FOUND;
    pthread_mutex_lock(&s->read_mu);
    /* One read transaction, so that the session row and its journal agree. */
    if (store_db_exec(s->r, "BEGIN")) {
        rc = CODEV_E_INTERNAL;
        goto unlock;
    }
    if (store_rows_open(s->r, sql, 1, &it, "t", session_id)) {
        rc = CODEV_E_INTERNAL;
        goto out;
    }
    if (store_rows_next(it) == 1)
        rc = store_replay_session(s->r, session_id, &rp);
    store_rows_free(it);
    if (!rc) {
        *out = rp.room;
        rp.room = NULL;
        store_replay_release(&rp);
    }
out:
    store_db_exec(s->r, "COMMIT");
unlock:
    pthread_mutex_unlock(&s->read_mu);
    return rc;
}
