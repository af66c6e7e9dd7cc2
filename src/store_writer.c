/*
 * store_writer.c - the write side of the store: records (what the loop
 * submits, copied), the bounded queue, the writer thread that commits them
 * in groups, and store_drain / store_flush (see store.h).
 *
 * Invariants:
 *   - Records are committed in submission order: the writer takes the whole
 *     pending list, writes it in one transaction, commits, and appends the
 *     list to the done list, which store_drain empties in order.
 *   - A batch commits whole or fails whole (write_batch), and after a
 *     failure nothing submitted before the loop saw it commits: a record
 *     never reaches the disk without every record submitted before it.
 *   - in_flight (submitted and not yet drained) never exceeds queue_max; it
 *     is only read and written by the submitting thread.
 *   - A record owns copies of everything it writes: the loop may change or
 *     free the group or room as soon as the submit returned.
 *   - The journal of a session is ordered by journal.id (a rowid: a new row
 *     always gets an id above every existing row). Command types are stored
 *     by wire name, so that reordering enum room_cmd_type never corrupts a
 *     journal.
 *   - Text leaves the journal only at a session's close (store_replay.c,
 *     store_session_finalize); a group delete removes every row of the
 *     group, and the WAL is checkpointed and truncated after either.
 *
 * Expected load: a few thousand records per second at most; a commit costs
 * one fsync (synchronous=FULL) whatever the number of records it carries,
 * and commits start at least store_options.commit_window_us apart (group
 * commit).
 *
 * Size (STYLE.md 13, issue 11): past 900 lines (1,050 before issue 15,
 * which added the commit window). Its seam is known: the submitting side
 * (store_submit_*, the record clones, store_enqueue, store_resume,
 * store_flush: the loop thread's half, about 300 lines) can move to a
 * store_submit.c once struct store_rec and its snapshots move to
 * store_internal.h. Left for a change that does only that, not mixed into
 * issue 15's measured steps.
 */
#include "store_internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "errors.h"

/* The statements of enum store_stmt (store_internal.h). */
// clang-format off
static const char *const stmt_sql[ST_COUNT] = {
    [ST_GROUP_UPSERT] =
        "INSERT INTO groups (id, name, language, format, facilitator, invite_hash,"
        "                    retention, created_ms, active_ms, creator, display_hash,"
        "                    round_last, warn_before_s, step_minutes, ground_rules)"
        "     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, nullif(?9, ''), ?10,"
        "             nullif(?11, ''), ?12, ?13, ?14)"
        " ON CONFLICT (id) DO UPDATE"
        "        SET name = excluded.name, language = excluded.language,"
        "            format = excluded.format, facilitator = excluded.facilitator,"
        "            invite_hash = excluded.invite_hash, retention = excluded.retention,"
        "            active_ms = excluded.active_ms, display_hash = excluded.display_hash,"
        "            round_last = excluded.round_last, warn_before_s = excluded.warn_before_s,"
        "            step_minutes = excluded.step_minutes, ground_rules = excluded.ground_rules",
    [ST_MEMBER_UPSERT] =
        "INSERT INTO members (id, group_id, ordinal, name, key_hash, observer, removed,"
        "                     form)"
        "     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT (id) DO UPDATE"
        "        SET name = excluded.name, key_hash = excluded.key_hash,"
        "            observer = excluded.observer, removed = excluded.removed,"
        "            form = excluded.form",
    [ST_PLAN_UPSERT] =
        "INSERT INTO plans (id, group_id, ordinal, client, session_id, consultation,"
        "                   text, due, debriefed, pre_outcome, pre_comment, first_step)"
        "     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (id) DO UPDATE"
        "        SET debriefed = max(debriefed, excluded.debriefed),"
        "            pre_outcome = excluded.pre_outcome,"
        "            pre_comment = excluded.pre_comment",
    [ST_SESSION_INSERT] =
        "INSERT INTO sessions (id, group_id, opened_ms, budgets, limits)"
        "     VALUES (?1, ?2, ?3, ?4, ?5)",
    /* The columns in the order of enum store_journal_col (parameter col + 1). */
    [ST_JOURNAL_INSERT] =
        "INSERT INTO journal (session_id, kind, member, member_idx, name, facilitator,"
        "                     observer, cmd, cmd_id, text, due, target, ref, card,"
        "                     seconds, variant, flag, at_ms, seq, first_step)"
        "     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        "             ?15, ?16, ?17, ?18, ?19, ?20)",
    [ST_SAVEPOINT] = "SAVEPOINT rec",
    [ST_RELEASE] = "RELEASE rec",
    [ST_ROLLBACK_TO] = "ROLLBACK TO rec",
};
// clang-format on

/* ---- records ------------------------------------------------------------- */

enum store_rec_kind {
    REC_GROUP,
    REC_SESSION_OPEN,
    REC_MEMBER_JOIN,
    REC_CMD,
    REC_SESSION_CLOSE,
    REC_GROUP_DELETE,
    REC_LIFE /* the group with what it keeps between sessions (hub_life.c) */,
    REC_PROBE /* writes one row again: is the disk writable? */
};

/*
 * A group travels to the writer as a clone of the hub's own struct
 * hub_group (store_group_clone: settings, invite and display hashes, members with their
 * key hashes, plans; no room, no connections), owned by its record and
 * freed with hub_group_snapshot_free on the loop thread at store_drain (or
 * at store_close). The writer only reads it.
 *
 * A room has no such clone (room.c is the pure core and copies nothing),
 * and at its opening the store needs only how it was built: the few fields
 * below.
 */
struct snap_room_member {
    char id[AUTH_UUID_LEN + 1];
    char *name;
    bool facilitator, observer;
};

struct snap_debrief {
    char id[AUTH_UUID_LEN + 1];
    char client[AUTH_UUID_LEN + 1];
    char *text, *due, *first_step;
};

/* How a room was built when its session opened. */
struct session_snap {
    char id[AUTH_UUID_LEN + 1];
    char group[AUTH_UUID_LEN + 1];
    int64_t created_ms;
    int64_t budget_ms[STEP_COUNT];
    struct room_limits limits;
    struct snap_room_member *members;
    size_t nmembers;
    struct snap_debrief *debriefs;
    size_t ndebriefs;
};

/* One journaled command; its strings point into the record's tail. */
struct cmd_snap {
    int member;
    char member_id[AUTH_UUID_LEN + 1];
    int64_t now_ms;
    uint64_t seq;
    enum room_cmd_type type;
    char id[ROOM_CMD_ID_MAX + 1];
    const char *text, *due, *target, *ref, *first_step;
    uint32_t card;
    int64_t seconds;
    int variant;
    bool flag;
};

struct store_rec {
    struct store_rec *next;
    enum store_rec_kind kind;
    uint64_t token;
    uint64_t epoch;                     /* store.epoch when it was submitted */
    int rc;                             /* set by the writer */
    char session_id[AUTH_UUID_LEN + 1]; /* MEMBER_JOIN (journaled), CMD, SESSION_CLOSE */
    char group_id[AUTH_UUID_LEN + 1];   /* GROUP_DELETE */
    int64_t at_ms;           /* GROUP, MEMBER_JOIN, SESSION_CLOSE: the submit's now_ms */
    struct hub_group *group; /* GROUP, MEMBER_JOIN, SESSION_CLOSE: a clone */
    struct session_snap *session;   /* SESSION_OPEN */
    struct snap_room_member joined; /* MEMBER_JOIN when session_id[0] */
    struct cmd_snap cmd;            /* CMD */
    char tail[];                    /* CMD: the command's strings */
};

/* Returns a new clone of g's durable state (settings, invite hash, members
 * with key hashes, plans; no room, no connections; with life, what it keeps
 * between sessions too), freed with hub_group_snapshot_free, or NULL on
 * allocation failure. */
static struct hub_group *store_group_clone_life(const struct hub_group *g, bool life)
{
    struct hub_group *c = hub_group_snapshot_new(g);

    if (!c)
        return NULL;
    memcpy(c->invite_hash, g->invite_hash, AUTH_HASH_LEN);
    hub_display_load(c, g->display_set ? g->display_hash : NULL);
    for (size_t i = 0; i < c->nmembers; i++)
        memcpy(c->members[i].key_hash, g->members[i].key_hash, AUTH_HASH_LEN);
    if (g->nplans &&
        array_grow((void **)&c->plans, &c->plans_cap, g->nplans, sizeof(*c->plans)))
        goto fail;
    for (size_t i = 0; i < g->nplans; i++, c->nplans++) {
        struct hub_plan *p = &c->plans[i];
        *p = g->plans[i];
        p->text = strdup(g->plans[i].text);
        p->due = util_strdup_or_null(g->plans[i].due);
        p->first_step = util_strdup_or_null(g->plans[i].first_step);
        p->pre_comment = util_strdup_or_null(g->plans[i].pre_comment);
        if (!p->text || (g->plans[i].due && !p->due) ||
            (g->plans[i].first_step && !p->first_step) ||
            (g->plans[i].pre_comment && !p->pre_comment)) {
            free(p->text);
            free(p->due);
            free(p->first_step);
            free(p->pre_comment);
            goto fail;
        }
    }
    if (life && hub_life_copy(c, g))
        goto fail;
    return c;
fail:
    hub_group_snapshot_free(c);
    return NULL;
}

static struct hub_group *store_group_clone(const struct hub_group *g)
{
    return store_group_clone_life(g, false);
}

static void session_snap_free(struct session_snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmembers; i++)
        free(s->members[i].name);
    for (size_t i = 0; i < s->ndebriefs; i++) {
        free(s->debriefs[i].text);
        free(s->debriefs[i].due);
        free(s->debriefs[i].first_step);
    }
    free(s->members);
    free(s->debriefs);
    free(s);
}

/* Returns a copy of how room r was built, or NULL on allocation failure. */
static struct session_snap *session_snap_new(const struct hub_group *g,
                                             const struct room *r)
{
    struct session_snap *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    store_id_copy(s->id, r->session_id);
    store_id_copy(s->group, g->id);
    s->created_ms = r->created_ms;
    memcpy(s->budget_ms, r->budget_ms, sizeof(s->budget_ms));
    s->limits = r->limits;
    s->members = calloc(r->nmembers ? r->nmembers : 1, sizeof(*s->members));
    s->debriefs = calloc(r->ndebriefs ? r->ndebriefs : 1, sizeof(*s->debriefs));
    if (!s->members || !s->debriefs)
        goto fail;
    for (size_t i = 0; i < r->nmembers; i++, s->nmembers++) {
        struct snap_room_member *m = &s->members[i];
        store_id_copy(m->id, r->members[i].id);
        m->facilitator = (int)i == r->facilitator;
        m->observer = r->members[i].observer;
        m->name = strdup(r->members[i].name);
        if (!m->name)
            goto fail;
    }
    for (size_t i = 0; i < r->ndebriefs; i++, s->ndebriefs++) {
        const struct room_debrief *src = &r->debriefs[i];
        struct snap_debrief *d = &s->debriefs[i];
        store_id_copy(d->id, src->id);
        store_id_copy(d->client, r->members[src->client].id);
        d->text = strdup(src->text);
        d->due = util_strdup_or_null(src->due);
        d->first_step = util_strdup_or_null(src->first_step);
        if (!d->text || (src->due && !d->due) || (src->first_step && !d->first_step)) {
            free(d->text);
            free(d->due);
            free(d->first_step);
            goto fail;
        }
    }
    return s;
fail:
    session_snap_free(s);
    return NULL;
}

static void rec_free(struct store_rec *rec)
{
    if (!rec)
        return;
    hub_group_snapshot_free(rec->group);
    session_snap_free(rec->session);
    free(rec->joined.name);
    free(rec);
}

void store_rec_list_free(struct store_rec *rec)
{
    while (rec) {
        struct store_rec *next = rec->next;
        rec_free(rec);
        rec = next;
    }
}

/* The writer's cached statement id, prepared on first use (NULL on error).
 * The journal insert must take one parameter per enum store_journal_col. */
static sqlite3_stmt *stmt_get(struct store *s, enum store_stmt id)
{
    if (!s->stmts[id] &&
        (sqlite3_prepare_v3(s->w, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                            &s->stmts[id], NULL) != SQLITE_OK ||
         (id == ST_JOURNAL_INSERT &&
          sqlite3_bind_parameter_count(s->stmts[id]) != JCOL_COUNT))) {
        sqlite3_finalize(s->stmts[id]);
        s->stmts[id] = NULL;
    }
    return s->stmts[id];
}

static int stmt_simple(struct store *s, enum store_stmt id)
{
    sqlite3_stmt *st = stmt_get(s, id);

    return st ? store_stmt_run(st, SQLITE_OK) : CODEV_E_INTERNAL;
}

/* ---- writing records (writer connection) ------------------------------------- */

/* The group's template as the store keeps it: STEP_COUNT minutes,
 * space-separated. */
static void store_template_text(const struct hub_group *g, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; i < STEP_COUNT && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%d", i ? " " : "", g->step_min[i]);
}

/* The group's ground rules, one per line (a rule holds no control
 * character), in a new string; NULL for the default list, or *fail set on
 * allocation failure. */
static char *store_rules_text(const struct hub_group *g, bool *fail)
{
    size_t len = 1;
    char *out;

    *fail = false;
    if (!g->rules_set)
        return NULL;
    for (size_t i = 0; i < g->nrules; i++)
        len += strlen(g->rules[i]) + 1;
    if (!(out = malloc(len))) {
        *fail = true;
        return NULL;
    }
    out[0] = '\0';
    for (size_t i = 0, n = 0; i < g->nrules; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "\n" : "", g->rules[i]);
    return out;
}

int store_group_write(struct store *s, const struct hub_group *g, int64_t now_ms)
{
    sqlite3_stmt *st = stmt_get(s, ST_GROUP_UPSERT);
    char minutes[STEP_COUNT * 12 + 1];
    char *rules;
    bool fail;
    int b, rc;

    if (!st)
        return CODEV_E_INTERNAL;
    store_template_text(g, minutes, sizeof(minutes));
    rules = store_rules_text(g, &fail);
    if (fail)
        return CODEV_E_INTERNAL;
    b = sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 3, g->language, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 4, g->format) |
        sqlite3_bind_text(st, 5, g->facilitator, -1, SQLITE_STATIC) |
        sqlite3_bind_blob(st, 6, g->invite_hash, AUTH_HASH_LEN, SQLITE_STATIC) |
        store_bind_text(st, 7, hub_retention_name(g->retention)) |
        sqlite3_bind_int64(st, 8, now_ms) |
        sqlite3_bind_text(st, 9, g->creator, -1, SQLITE_STATIC) |
        (g->display_set
             ? sqlite3_bind_blob(st, 10, g->display_hash, AUTH_HASH_LEN, SQLITE_STATIC)
             : sqlite3_bind_null(st, 10)) |
        sqlite3_bind_text(st, 11, g->round_last, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 12, g->warn_before_s) |
        sqlite3_bind_text(st, 13, minutes, -1, SQLITE_STATIC) |
        (rules ? sqlite3_bind_text(st, 14, rules, -1, SQLITE_STATIC)
               : sqlite3_bind_null(st, 14));
    rc = store_stmt_run(st, b);
    free(rules); /* store_stmt_run reset the statement and cleared its bindings */
    if (rc)
        return rc;
    st = stmt_get(s, ST_MEMBER_UPSERT);
    for (size_t i = 0; st && i < g->nmembers; i++) {
        const struct hub_member *m = &g->members[i];
        b = sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC) |
            sqlite3_bind_text(st, 2, g->id, -1, SQLITE_STATIC) |
            sqlite3_bind_int64(st, 3, (int64_t)i) |
            sqlite3_bind_text(st, 4, m->name, -1, SQLITE_STATIC) |
            sqlite3_bind_blob(st, 5, m->key_hash, AUTH_HASH_LEN, SQLITE_STATIC) |
            sqlite3_bind_int(st, 6, m->observer) | sqlite3_bind_int(st, 7, m->removed) |
            store_bind_text(st, 8, room_form_name(m->form));
        rc = store_stmt_run(st, b);
        if (rc)
            return rc;
    }
    if (!st)
        return CODEV_E_INTERNAL;
    st = stmt_get(s, ST_PLAN_UPSERT);
    for (size_t i = 0; st && i < g->nplans; i++) {
        const struct hub_plan *p = &g->plans[i];
        b = sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC) |
            sqlite3_bind_text(st, 2, g->id, -1, SQLITE_STATIC) |
            sqlite3_bind_int64(st, 3, (int64_t)i) |
            sqlite3_bind_text(st, 4, p->client, -1, SQLITE_STATIC) |
            store_bind_text(st, 5, p->session[0] ? p->session : NULL) |
            (p->session[0] ? sqlite3_bind_int(st, 6, p->consultation)
                           : sqlite3_bind_null(st, 6)) |
            sqlite3_bind_text(st, 7, p->text, -1, SQLITE_STATIC) |
            store_bind_text(st, 8, p->due) | sqlite3_bind_int(st, 9, p->debriefed) |
            (p->pre_debriefed ? sqlite3_bind_int(st, 10, p->pre_outcome)
                              : sqlite3_bind_null(st, 10)) |
            store_bind_text(st, 11, p->pre_debriefed ? p->pre_comment : NULL) |
            store_bind_text(st, 12, p->first_step);
        rc = store_stmt_run(st, b);
        if (rc)
            return rc;
    }
    return st ? 0 : CODEV_E_INTERNAL;
}

/* The SQL parameter of journal column col in ST_JOURNAL_INSERT. */
static int jparam(enum store_journal_col col)
{
    return (int)col + 1;
}

static int write_journal_member(struct store *s, const char *session_id,
                                const struct snap_room_member *m, int64_t at_ms)
{
    sqlite3_stmt *st = stmt_get(s, ST_JOURNAL_INSERT);
    int b;

    if (!st)
        return CODEV_E_INTERNAL;
    b = sqlite3_bind_text(st, jparam(JCOL_SESSION_ID), session_id, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, jparam(JCOL_KIND), JOURNAL_MEMBER) |
        sqlite3_bind_text(st, jparam(JCOL_MEMBER), m->id, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, jparam(JCOL_NAME), m->name, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, jparam(JCOL_FACILITATOR), m->facilitator) |
        sqlite3_bind_int(st, jparam(JCOL_OBSERVER), m->observer) |
        sqlite3_bind_int64(st, jparam(JCOL_AT_MS), at_ms);
    return store_stmt_run(st, b);
}

static int write_session_open(struct store *s, const struct session_snap *ss)
{
    sqlite3_stmt *st = stmt_get(s, ST_SESSION_INSERT);
    char budgets[STEP_COUNT * 21 + 1], limits[4 * 11 + 1];
    size_t n = 0;
    int b, rc;

    if (!st)
        return CODEV_E_INTERNAL;
    for (int i = 0; i < STEP_COUNT; i++)
        n += (size_t)snprintf(budgets + n, sizeof(budgets) - n, "%s%lld", i ? " " : "",
                              (long long)ss->budget_ms[i]);
    snprintf(limits, sizeof(limits), "%u %u %u %u", ss->limits.text_max_chars,
             ss->limits.long_text_max_chars, ss->limits.cards_per_step,
             ss->limits.members_max);
    b = sqlite3_bind_text(st, 1, ss->id, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 2, ss->group, -1, SQLITE_STATIC) |
        sqlite3_bind_int64(st, 3, ss->created_ms) |
        sqlite3_bind_text(st, 4, budgets, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 5, limits, -1, SQLITE_STATIC);
    rc = store_stmt_run(st, b);
    for (size_t i = 0; !rc && i < ss->nmembers; i++)
        rc = write_journal_member(s, ss->id, &ss->members[i], ss->created_ms);
    st = stmt_get(s, ST_JOURNAL_INSERT);
    for (size_t i = 0; !rc && st && i < ss->ndebriefs; i++) {
        const struct snap_debrief *d = &ss->debriefs[i];
        b = sqlite3_bind_text(st, jparam(JCOL_SESSION_ID), ss->id, -1, SQLITE_STATIC) |
            sqlite3_bind_int(st, jparam(JCOL_KIND), JOURNAL_DEBRIEF) |
            sqlite3_bind_text(st, jparam(JCOL_MEMBER), d->client, -1, SQLITE_STATIC) |
            sqlite3_bind_text(st, jparam(JCOL_TEXT), d->text, -1, SQLITE_STATIC) |
            store_bind_text(st, jparam(JCOL_DUE), d->due) |
            store_bind_text(st, jparam(JCOL_FIRST_STEP), d->first_step) |
            sqlite3_bind_text(st, jparam(JCOL_REF), d->id, -1, SQLITE_STATIC);
        rc = store_stmt_run(st, b);
    }
    return st ? rc : CODEV_E_INTERNAL;
}

static int write_cmd(struct store *s, const char *session_id, const struct cmd_snap *c)
{
    sqlite3_stmt *st = stmt_get(s, ST_JOURNAL_INSERT);
    int b;

    if (!st)
        return CODEV_E_INTERNAL;
    b = sqlite3_bind_text(st, jparam(JCOL_SESSION_ID), session_id, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, jparam(JCOL_KIND), JOURNAL_CMD) |
        sqlite3_bind_text(st, jparam(JCOL_MEMBER), c->member_id, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, jparam(JCOL_MEMBER_IDX), c->member) |
        sqlite3_bind_text(st, jparam(JCOL_CMD), room_cmd_name(c->type), -1,
                          SQLITE_STATIC) |
        sqlite3_bind_text(st, jparam(JCOL_CMD_ID), c->id, -1, SQLITE_STATIC) |
        store_bind_text(st, jparam(JCOL_TEXT), c->text) |
        store_bind_text(st, jparam(JCOL_DUE), c->due) |
        store_bind_text(st, jparam(JCOL_TARGET), c->target) |
        store_bind_text(st, jparam(JCOL_REF), c->ref) |
        store_bind_text(st, jparam(JCOL_FIRST_STEP), c->first_step) |
        sqlite3_bind_int64(st, jparam(JCOL_CARD), c->card) |
        sqlite3_bind_int64(st, jparam(JCOL_SECONDS), c->seconds) |
        sqlite3_bind_int(st, jparam(JCOL_VARIANT), c->variant) |
        sqlite3_bind_int(st, jparam(JCOL_FLAG), c->flag) |
        sqlite3_bind_int64(st, jparam(JCOL_AT_MS), c->now_ms) |
        sqlite3_bind_int64(st, jparam(JCOL_SEQ), (int64_t)c->seq);
    return store_stmt_run(st, b);
}

/*
 * Deletes every row of group_id: what its sessions left (journal, history,
 * cases, notebooks) and the group with its members and plans. secure_delete
 * zeroes the freed pages; the WAL is truncated after the commit.
 */
static int write_group_delete(struct store *s, const char *group_id)
{
    // clang-format off
    static const char *const sql[] = {
        "DELETE FROM journal"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM case_items"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM cases"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)"
        "    OR client IN (SELECT id FROM members WHERE group_id = ?1)",
        "DELETE FROM notebook"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)"
        "    OR member IN (SELECT id FROM members WHERE group_id = ?1)",
        "DELETE FROM consultation_steps"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM consultations"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM session_members"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM session_floor"
        " WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM plans WHERE group_id = ?1",
        "DELETE FROM rota WHERE group_id = ?1",
        "DELETE FROM proposals WHERE group_id = ?1",
        "DELETE FROM drafts WHERE group_id = ?1",
        "DELETE FROM sessions WHERE group_id = ?1",
        "DELETE FROM members WHERE group_id = ?1",
        "DELETE FROM groups WHERE id = ?1",
    };
    // clang-format on
    int rc = 0;

    for (size_t i = 0; !rc && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = store_db_run(s->w, sql[i], "t", group_id);
    s->checkpoint_wanted = true;
    return rc;
}

/*
 * Writes what g keeps between sessions: its time zone and next session,
 * the rota and the proposals (rewritten whole: at most HUB_ROTA_MAX and
 * HUB_PROPOSALS_MAX rows), and the drafts (a draft rewritten only when its
 * text changed; the rows of members without a draft deleted). What goes
 * is deleted under secure_delete, and the WAL truncated after the commit.
 */
int store_life_write(struct store *s, const struct hub_group *g)
{
    // clang-format off
    static const char sql_group[] =
        "UPDATE groups SET time_zone = nullif(?2, ''), next_date = ?3, next_time = ?4,"
        "       next_duration = ?5, next_link = ?6, next_start_ms = ?7,"
        "       next_slot = ?8, next_sequence = ?9"
        " WHERE id = ?1";
    static const char sql_rota[] =
        "INSERT INTO rota (group_id, idx, client, facilitator)"
        "     VALUES (?1, ?2, nullif(?3, ''), nullif(?4, ''))";
    static const char sql_proposal[] =
        "INSERT INTO proposals (id, group_id, ordinal, author, title, text, created_ms,"
        "                       updated_ms, during, chosen)"
        "     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, ''), nullif(?10, ''))";
    static const char sql_draft[] =
        "INSERT INTO drafts (author, group_id, text, updated_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (author) DO UPDATE"
        "        SET text = excluded.text, updated_ms = excluded.updated_ms"
        "      WHERE text IS NOT excluded.text";
    // clang-format on
    const struct hub_next *n = &g->next_session;
    int rc;

    rc = store_db_run(s->w, sql_group, "ttttitiii", g->id, g->time_zone,
                      n->set ? n->date : NULL, n->set ? n->time : NULL,
                      (int64_t)n->duration_min, n->set ? n->link : NULL, n->start_ms,
                      (int64_t)n->slot, (int64_t)n->sequence);
    if (!rc)
        rc = store_db_run(s->w, "DELETE FROM rota WHERE group_id = ?1", "t", g->id);
    for (size_t i = 0; !rc && i < g->nrota; i++)
        rc = store_db_run(s->w, sql_rota, "titt", g->id, (int64_t)i, g->rota[i].client,
                          g->rota[i].facilitator);
    if (!rc)
        rc = store_db_run(s->w, "DELETE FROM proposals WHERE group_id = ?1", "t", g->id);
    for (size_t i = 0; !rc && i < g->nproposals; i++) {
        const struct hub_proposal *p = &g->proposals[i];
        rc = store_db_run(s->w, sql_proposal, "ttitttiitt", p->id, g->id, (int64_t)i,
                          p->author, p->title, p->text, p->created_ms, p->updated_ms,
                          p->during, p->chosen);
    }
    for (size_t i = 0; !rc && i < g->nmembers; i++)
        if (!hub_draft_find(g, g->members[i].id))
            rc = store_db_run(s->w, "DELETE FROM drafts WHERE author = ?1", "t",
                              g->members[i].id);
    for (size_t i = 0; !rc && i < g->ndrafts; i++)
        rc = store_db_run(s->w, sql_draft, "ttti", g->drafts[i].author, g->id,
                          g->drafts[i].text, g->drafts[i].updated_ms);
    s->checkpoint_wanted = true;
    return rc;
}

/* ---- the writer thread ------------------------------------------------------------- */

/* When deleted text waits in the WAL, truncates the WAL (a checkpoint that
 * a reader's open transaction can hold off: then checkpoint_wanted stays
 * and the writer tries again). Writer thread. */
static void store_checkpoint_try(struct store *s)
{
    if (s->checkpoint_wanted &&
        sqlite3_wal_checkpoint_v2(s->w, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
            SQLITE_OK)
        s->checkpoint_wanted = false;
}

static int write_rec(struct store *s, struct store_rec *rec)
{
    int rc = 0;

    switch (rec->kind) {
    case REC_GROUP:
        return store_group_write(s, rec->group, rec->at_ms);
    case REC_SESSION_OPEN:
        return write_session_open(s, rec->session);
    case REC_MEMBER_JOIN:
        rc = store_group_write(s, rec->group, rec->at_ms);
        if (!rc && rec->session_id[0])
            rc = write_journal_member(s, rec->session_id, &rec->joined, rec->at_ms);
        return rc;
    case REC_CMD:
        return write_cmd(s, rec->session_id, &rec->cmd);
    case REC_LIFE:
        rc = store_group_write(s, rec->group, rec->at_ms);
        return rc ? rc : store_life_write(s, rec->group);
    case REC_SESSION_CLOSE:
        rc = store_group_write(s, rec->group, rec->at_ms);
        if (!rc)
            rc = store_life_write(s, rec->group);
        if (!rc)
            rc = store_session_finalize(s, s->w, rec->session_id, rec->group->retention,
                                        rec->at_ms);
        return rc;
    case REC_GROUP_DELETE:
        return write_group_delete(s, rec->group_id);
    case REC_PROBE:
        /* SQLite writes the row even when nothing changes: the commit
         * appends a page to the WAL, as a real record would. */
        return store_db_exec(s->w, "UPDATE schema_version SET version = version");
    }
    return CODEV_E_INTERNAL;
}

/* Writes a batch in one transaction, each record of several statements in
 * its own savepoint. Sets every rec->rc.
 *
 * A batch commits whole or not at all: when any record fails, the
 * transaction is rolled back and every record of the batch fails with
 * CODEV_E_STORE_UNAVAILABLE. The loop has applied a record's successors
 * on top of it (the room decided them against its effects), so none of
 * them may commit without it: the writer then fails, without writing, every
 * later record submitted in the same epoch or an earlier one, until the
 * loop, having seen the failure, moves to a new epoch (store_resume). */
static void write_batch(struct store *s, struct store_rec *batch)
{
    bool open = false, broken = false, tried = false;

    for (struct store_rec *rec = batch; rec; rec = rec->next) {
        if (s->failing && rec->epoch <= s->failed_epoch) {
            rec->rc = CODEV_E_STORE_UNAVAILABLE;
            continue;
        }
        if (!tried) {
            tried = true;
            open = store_db_exec(s->w, "BEGIN IMMEDIATE") == 0;
        }
        if (!open || broken) {
            broken = true;
            break;
        }
        if (rec->kind == REC_CMD || rec->kind == REC_PROBE) {
            /* A command is one INSERT, atomic by itself: no savepoint
             * (two statements fewer per command, the commonest record). */
            rec->rc = write_rec(s, rec);
        } else if (stmt_simple(s, ST_SAVEPOINT)) {
            rec->rc = CODEV_E_INTERNAL;
        } else {
            rec->rc = write_rec(s, rec);
            if (rec->rc)
                stmt_simple(s, ST_ROLLBACK_TO);
            stmt_simple(s, ST_RELEASE);
        }
        if (rec->rc)
            broken = true;
    }
    if (!tried)
        return; /* every record failed fast */
    if (open && !broken && store_db_exec(s->w, "COMMIT"))
        broken = true;
    if (broken) {
        if (open && !sqlite3_get_autocommit(s->w))
            store_db_exec(s->w, "ROLLBACK");
        s->failing = true;
        for (struct store_rec *rec = batch; rec; rec = rec->next) {
            rec->rc = CODEV_E_STORE_UNAVAILABLE;
            if (rec->epoch > s->failed_epoch)
                s->failed_epoch = rec->epoch;
        }
        return;
    }
    s->failing = false;
    store_checkpoint_try(s);
}

/* The group-commit window (store_options.commit_window_us, config
 * journal_commit_window_us): a commit starts at least this long after the
 * previous one started. A record that arrives on an idle writer commits at
 * once; under load the records of the window share one transaction and one
 * fsync (3,700 commits/s of 1.5 records each at 5,600 records/s without it,
 * 450/s of 12 with 2 ms; each fsync costs ~35 us of the server's core on the
 * test VM). The writer sleeps, never the loop.
 *
 * Called with s->mu held and records pending: when the previous commit
 * started less than the window ago, sleeps the rest of it with the mutex
 * released (the records submitted meanwhile join the batch). Returns with
 * s->mu held. */
static void commit_window_wait(struct store *s, const struct timespec *last)
{
    long long window = (long long)s->commit_window_us * 1000LL;
    struct timespec now, left;
    long long ns;

    if (!window)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ns = (long long)(now.tv_sec - last->tv_sec) * 1000000000LL +
         (now.tv_nsec - last->tv_nsec);
    if (ns < 0 || ns >= window)
        return;
    ns = window - ns;
    left.tv_sec = (time_t)(ns / 1000000000LL);
    left.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_unlock(&s->mu);
    nanosleep(&left, NULL);
    pthread_mutex_lock(&s->mu);
}

void *store_writer_main(void *arg)
{
    struct store *s = arg;
    struct timespec last_commit = {0, 0};

    for (;;) {
        struct store_rec *batch, *tail;
        uint64_t n = 0;
        int64_t start_us;

        pthread_mutex_lock(&s->mu);
        while (!s->pending && !s->stopping) {
            struct timespec at;

            if (!s->checkpoint_wanted) {
                pthread_cond_wait(&s->work_cv, &s->mu);
                continue;
            }
            /* Deleted text still in the WAL (a reader held the checkpoint
             * off): try again every second rather than at the next write,
             * which on a quiet server may never come. */
            clock_gettime(CLOCK_REALTIME, &at);
            at.tv_sec += 1;
            if (pthread_cond_timedwait(&s->work_cv, &s->mu, &at) == ETIMEDOUT) {
                pthread_mutex_unlock(&s->mu);
                store_checkpoint_try(s);
                pthread_mutex_lock(&s->mu);
            }
        }
        if (s->pending && !s->stopping)
            commit_window_wait(s, &last_commit); /* only the writer takes pending */
        batch = s->pending;
        tail = s->pending_tail;
        s->pending = s->pending_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        if (!batch)
            break; /* stopping, and nothing left to write */
        clock_gettime(CLOCK_MONOTONIC, &last_commit);

        start_us = store_mono_us();
        write_batch(s, batch);
        for (struct store_rec *rec = batch; rec; rec = rec->next)
            n++;

        pthread_mutex_lock(&s->mu);
        if (s->done_tail)
            s->done_tail->next = batch;
        else
            s->done = batch;
        s->done_tail = tail;
        s->written += n;
        store_stats_batch(s, n, start_us);
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
        if (s->wake)
            s->wake(s->wake_arg);
    }
    return NULL;
}

/* ---- submitting ------------------------------------------------------------------- */

bool store_is_full(const struct store *s)
{
    return s->in_flight >= s->queue_max;
}

/* Queues rec (taking ownership) and wakes the writer. */
static int store_enqueue(struct store *s, struct store_rec *rec, uint64_t token)
{
    rec->token = token;
    rec->epoch = s->epoch;
    rec->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->pending_tail)
        s->pending_tail->next = rec;
    else
        s->pending = rec;
    s->pending_tail = rec;
    s->submitted++;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    s->in_flight++;
    s->in_flight_epoch++;
    return 0;
}

/* Returns a new record of kind with extra tail bytes, or NULL. */
static struct store_rec *rec_new(enum store_rec_kind kind, size_t extra)
{
    struct store_rec *rec = calloc(1, sizeof(*rec) + extra);

    if (rec)
        rec->kind = kind;
    return rec;
}

int store_submit_group(struct store *s, const struct hub_group *g, int64_t now_ms,
                       uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_GROUP, 0);
    if (!rec || !(rec->group = store_group_clone(g))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    rec->at_ms = now_ms;
    return store_enqueue(s, rec, token);
}

int store_submit_life(struct store *s, const struct hub_group *g, int64_t now_ms,
                      uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_LIFE, 0);
    if (!rec || !(rec->group = store_group_clone_life(g, true))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    rec->at_ms = now_ms;
    return store_enqueue(s, rec, token);
}

int store_submit_session_open(struct store *s, const struct hub_group *g, uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g || !g->room || g->room->seq != 0)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_SESSION_OPEN, 0);
    if (!rec || !(rec->session = session_snap_new(g, g->room))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    return store_enqueue(s, rec, token);
}

int store_submit_member_join(struct store *s, const struct hub_group *g, int room_idx,
                             int64_t now_ms, uint64_t token)
{
    struct store_rec *rec;
    const struct room_member *m;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g || (room_idx >= 0 && (!g->room || (size_t)room_idx >= g->room->nmembers)))
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_MEMBER_JOIN, 0);
    if (!rec || !(rec->group = store_group_clone(g)))
        goto fail;
    rec->at_ms = now_ms;
    if (room_idx >= 0) {
        m = &g->room->members[room_idx];
        store_id_copy(rec->session_id, g->room->session_id);
        store_id_copy(rec->joined.id, m->id);
        rec->joined.observer = m->observer;
        rec->joined.facilitator = false;
        rec->joined.name = strdup(m->name);
        if (!rec->joined.name)
            goto fail;
    }
    return store_enqueue(s, rec, token);
fail:
    rec_free(rec);
    return CODEV_E_INTERNAL;
}

/* Copies src (may be NULL) to *p in the record's tail, advancing *p. */
static const char *tail_copy(char **p, const char *src, size_t len)
{
    char *dst = *p;

    if (!src)
        return NULL;
    memcpy(dst, src, len + 1);
    *p += len + 1;
    return dst;
}

int store_submit_cmd(struct store *s, const struct room *r, int member,
                     const struct room_cmd *cmd, int64_t now_ms, uint64_t seq,
                     uint64_t token)
{
    size_t lt, ld, lg, lr, lf;
    struct store_rec *rec;
    struct cmd_snap *c;
    char *p;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!r || !cmd || member < 0 || (size_t)member >= r->nmembers ||
        !room_cmd_name(cmd->type))
        return CODEV_E_BAD_FIELD;
    lt = cmd->text ? strlen(cmd->text) : 0;
    ld = cmd->due ? strlen(cmd->due) : 0;
    lg = cmd->target ? strlen(cmd->target) : 0;
    lr = cmd->ref ? strlen(cmd->ref) : 0;
    lf = cmd->first_step ? strlen(cmd->first_step) : 0;
    rec = rec_new(REC_CMD, lt + ld + lg + lr + lf + 5);
    if (!rec)
        return CODEV_E_INTERNAL;
    store_id_copy(rec->session_id, r->session_id);
    c = &rec->cmd;
    c->member = member;
    store_id_copy(c->member_id, r->members[member].id);
    c->now_ms = now_ms;
    c->seq = seq;
    c->type = cmd->type;
    snprintf(c->id, sizeof(c->id), "%.*s", ROOM_CMD_ID_MAX, cmd->id);
    p = rec->tail;
    c->text = tail_copy(&p, cmd->text, lt);
    c->due = tail_copy(&p, cmd->due, ld);
    c->target = tail_copy(&p, cmd->target, lg);
    c->ref = tail_copy(&p, cmd->ref, lr);
    c->first_step = tail_copy(&p, cmd->first_step, lf);
    c->card = cmd->card;
    c->seconds = cmd->seconds;
    c->variant = cmd->variant;
    c->flag = cmd->flag;
    return store_enqueue(s, rec, token);
}

int store_submit_session_close(struct store *s, const struct hub_group *g, int64_t now_ms,
                               uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!g || !g->room)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_SESSION_CLOSE, 0);
    if (!rec || !(rec->group = store_group_clone_life(g, true))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    store_id_copy(rec->session_id, g->room->session_id);
    rec->at_ms = now_ms;
    return store_enqueue(s, rec, token);
}

int store_submit_group_delete(struct store *s, const char *group_id, uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    if (!group_id || strlen(group_id) != AUTH_UUID_LEN)
        return CODEV_E_BAD_FIELD;
    rec = rec_new(REC_GROUP_DELETE, 0);
    if (!rec)
        return CODEV_E_INTERNAL;
    store_id_copy(rec->group_id, group_id);
    return store_enqueue(s, rec, token);
}

int store_submit_probe(struct store *s, uint64_t token)
{
    struct store_rec *rec;

    if (store_is_full(s))
        return CODEV_E_RATE_LIMITED;
    rec = rec_new(REC_PROBE, 0);
    if (!rec)
        return CODEV_E_INTERNAL;
    return store_enqueue(s, rec, token);
}

void store_resume(struct store *s)
{
    s->epoch++;
    s->in_flight_epoch = 0;
}

size_t store_in_flight_since_resume(const struct store *s)
{
    return s->in_flight_epoch;
}

size_t store_drain(struct store *s, store_done_fn fn, void *arg)
{
    struct store_rec *list;
    size_t n = 0;

    pthread_mutex_lock(&s->mu);
    list = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {
        struct store_rec *next = list->next;
        if (list->epoch == s->epoch)
            s->in_flight_epoch--;
        if (fn)
            fn(arg, list->token, list->rc);
        rec_free(list);
        list = next;
        n++;
    }
    s->in_flight -= n;
    return n;
}

int store_flush(struct store *s)
{
    uint64_t target;

    pthread_mutex_lock(&s->mu);
    target = s->submitted;
    while (s->written < target)
        pthread_cond_wait(&s->done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return 0;
}
