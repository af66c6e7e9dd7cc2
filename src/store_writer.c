/*
 * store_writer.c - the writer thread's half of the store: it takes the
 * records the loop submitted (store_submit.c), writes each through the
 * backend in one transaction per batch, commits in groups, and hands the
 * batch to the done list that store_drain empties (see store.h).
 *
 * Invariants:
 *   - Records are committed in submission order: the writer takes the whole
 *     pending list, writes it in one transaction, commits, and appends the
 *     list to the done list, which store_drain empties in order.
 *   - A batch commits whole or fails whole (write_batch), and after a
 *     failure nothing submitted before the loop saw it commits: a record
 *     never reaches the disk without every record submitted before it.
 *   - The writer only reads a record (store_submit.c made it and frees it).
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
 * and, once batches are shared, commits start at least
 * store_options.commit_window_us apart (group commit).
 *
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

static int stmt_simple(struct store *s, enum store_stmt id)
{
    return store_stmt_exec(s->w, id, NULL, 0);
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
    char minutes[STEP_COUNT * 12 + 1];
    struct store_val v[14];
    char *rules;
    bool fail;
    int rc;

    store_template_text(g, minutes, sizeof(minutes));
    rules = store_rules_text(g, &fail);
    if (fail)
        return CODEV_E_INTERNAL;
    v[0] = SV_T(g->id);
    v[1] = SV_T(g->name);
    v[2] = SV_T(g->language);
    v[3] = SV_I(g->format);
    v[4] = SV_T(g->facilitator);
    v[5] = SV_B(g->invite_hash, AUTH_HASH_LEN);
    v[6] = SV_T(hub_retention_name(g->retention));
    v[7] = SV_I(now_ms);
    v[8] = SV_T(g->creator);
    v[9] = g->display_set ? SV_B(g->display_hash, AUTH_HASH_LEN) : SV_T(NULL);
    v[10] = SV_T(g->round_last);
    v[11] = SV_I(g->warn_before_s);
    v[12] = SV_T(minutes);
    v[13] = SV_T(rules);
    rc = store_stmt_exec(s->w, ST_GROUP_UPSERT, v, 14);
    free(rules);
    for (size_t i = 0; !rc && i < g->nmembers; i++) {
        const struct hub_member *m = &g->members[i];
        const struct store_val mv[] = {
            SV_T(m->id),
            SV_T(g->id),
            SV_I(i),
            SV_T(m->name),
            SV_B(m->key_hash, AUTH_HASH_LEN),
            SV_I(m->observer),
            SV_I(m->removed),
            SV_T(room_form_name(m->form)),
        };
        rc = store_stmt_exec(s->w, ST_MEMBER_UPSERT, mv, 8);
    }
    for (size_t i = 0; !rc && i < g->nplans; i++) {
        const struct hub_plan *p = &g->plans[i];
        const struct store_val pv[] = {
            SV_T(p->id),
            SV_T(g->id),
            SV_I(p->ordinal),
            SV_T(p->client),
            SV_T(p->session[0] ? p->session : NULL),
            p->session[0] ? SV_I(p->consultation) : SV_T(NULL),
            SV_T(p->text),
            SV_T(p->due),
            SV_I(p->expired ? STORE_PLAN_EXPIRED : p->debriefed),
            p->pre_debriefed ? SV_I(p->pre_outcome) : SV_T(NULL),
            SV_T(p->pre_debriefed ? p->pre_comment : NULL),
            SV_T(p->first_step),
        };
        rc = store_stmt_exec(s->w, ST_PLAN_UPSERT, pv, 12);
    }
    return rc;
}

/* Appends journal row v (one value per enum store_journal_col). */
static int journal_append(struct store *s, const struct store_val v[JCOL_COUNT])
{
    return store_stmt_exec(s->w, ST_JOURNAL_INSERT, v, JCOL_COUNT);
}

static int write_journal_member(struct store *s, const char *session_id,
                                const struct snap_room_member *m, int64_t at_ms)
{
    struct store_val v[JCOL_COUNT] = {0};

    v[JCOL_SESSION_ID] = SV_T(session_id);
    v[JCOL_KIND] = SV_I(JOURNAL_MEMBER);
    v[JCOL_MEMBER] = SV_T(m->id);
    v[JCOL_NAME] = SV_T(m->name);
    v[JCOL_FACILITATOR] = SV_I(m->facilitator);
    v[JCOL_OBSERVER] = SV_I(m->observer);
    v[JCOL_AT_MS] = SV_I(at_ms);
    return journal_append(s, v);
}

static int write_session_open(struct store *s, const struct session_snap *ss)
{
    char budgets[STEP_COUNT * 21 + 1], limits[4 * 11 + 1];
    size_t n = 0;
    int rc;

    for (int i = 0; i < STEP_COUNT; i++)
        n += (size_t)snprintf(budgets + n, sizeof(budgets) - n, "%s%lld", i ? " " : "",
                              (long long)ss->budget_ms[i]);
    snprintf(limits, sizeof(limits), "%u %u %u %u", ss->limits.text_max_chars,
             ss->limits.long_text_max_chars, ss->limits.cards_per_step,
             ss->limits.members_max);
    {
        const struct store_val v[] = {SV_T(ss->id), SV_T(ss->group), SV_I(ss->created_ms),
                                      SV_T(budgets), SV_T(limits)};
        rc = store_stmt_exec(s->w, ST_SESSION_INSERT, v, 5);
    }
    for (size_t i = 0; !rc && i < ss->nmembers; i++)
        rc = write_journal_member(s, ss->id, &ss->members[i], ss->created_ms);
    for (size_t i = 0; !rc && i < ss->ndebriefs; i++) {
        const struct snap_debrief *d = &ss->debriefs[i];
        struct store_val v[JCOL_COUNT] = {0};
        v[JCOL_SESSION_ID] = SV_T(ss->id);
        v[JCOL_KIND] = SV_I(JOURNAL_DEBRIEF);
        v[JCOL_MEMBER] = SV_T(d->client);
        v[JCOL_TEXT] = SV_T(d->text);
        v[JCOL_DUE] = SV_T(d->due);
        v[JCOL_FIRST_STEP] = SV_T(d->first_step);
        v[JCOL_REF] = SV_T(d->id);
        rc = journal_append(s, v);
    }
    return rc;
}

static int write_cmd(struct store *s, const char *session_id, const struct cmd_snap *c)
{
    struct store_val v[JCOL_COUNT] = {0};

    v[JCOL_SESSION_ID] = SV_T(session_id);
    v[JCOL_KIND] = SV_I(JOURNAL_CMD);
    v[JCOL_MEMBER] = SV_T(c->member_id);
    v[JCOL_MEMBER_IDX] = SV_I(c->member);
    v[JCOL_CMD] = SV_T(room_cmd_name(c->type));
    v[JCOL_CMD_ID] = SV_T(c->id);
    v[JCOL_TEXT] = SV_T(c->text);
    v[JCOL_DUE] = SV_T(c->due);
    v[JCOL_TARGET] = SV_T(c->target);
    v[JCOL_REF] = SV_T(c->ref);
    v[JCOL_FIRST_STEP] = SV_T(c->first_step);
    v[JCOL_CARD] = SV_I(c->card);
    v[JCOL_SECONDS] = SV_I(c->seconds);
    v[JCOL_VARIANT] = SV_I(c->variant);
    v[JCOL_FLAG] = SV_I(c->flag);
    v[JCOL_AT_MS] = SV_I(c->now_ms);
    v[JCOL_SEQ] = SV_I(c->seq);
    return journal_append(s, v);
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
        /* The journal as store_rows_journal_open finds it, through the
         * index and after upto (store_sqlite.c, "The session index"). */
        "DELETE FROM journal"
        " WHERE id IN (SELECT id FROM journal_by_session"
        "               WHERE session_id IN (SELECT id FROM sessions WHERE group_id = ?1))",
        "DELETE FROM journal"
        " WHERE id > (SELECT upto FROM journal_indexed)"
        "   AND session_id IN (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM journal_by_session"
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
        "DELETE FROM group_lease WHERE group_id = ?1",
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
        "      WHERE drafts.text <> excluded.text";
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
    if (s->checkpoint_wanted && s->be->scrub(s->w) == 0)
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
        /* Both backends write the row even when nothing changes: the
         * commit appends to the WAL, as a real record would. */
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

    store_lease_take_new(s, batch); /* a cluster: groups created here */
    for (struct store_rec *rec = batch; rec; rec = rec->next) {
        if (s->failing && rec->epoch <= s->failed_epoch) {
            rec->rc = CODEV_E_STORE_UNAVAILABLE;
            continue;
        }
        if (!tried) {
            tried = true;
            open = s->be->begin(s->w) == 0;
            /* A cluster: the records of a group another node took since
             * get CODEV_E_MOVED here and are not written (store_lease.c). */
            if (open && store_lease_check(s, rec))
                broken = true;
        }
        if (!open || broken) {
            broken = true;
            break;
        }
        if (rec->rc == CODEV_E_MOVED)
            continue;
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
    if (open && !broken && s->be->commit(s->w))
        broken = true;
    if (broken) {
        if (open)
            s->be->rollback(s->w);
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
 * test VM). The writer sleeps, never the loop. The default is 5 ms (issue
 * 15, the kit's loadgen at 10 and 22.5 cards/room/s in 250 rooms of 8:
 * server CPU 18.8 and 37.9 % with 2 ms, 17.1 and 32.8 % with 5 ms, for a
 * card p50 of 3.6 and 3.4 ms instead of 1.1 and 1.8, p99 6 and 12 ms).
 *
 * The window only holds a commit back when the previous batch was shared
 * (more than one record): records that come one at a time, each alone in
 * its commit, would only wait for company that is not coming (at a few
 * hundred records/s, the nominal load, that wait was most of a card's
 * post-to-receive time, since issue 19 holds events until the commit).
 * Once records arrive faster than fsyncs finish, batches share and the
 * window spaces the commits again.
 *
 * Called with s->mu held and records pending: when the previous commit
 * started less than the window ago and was shared, sleeps the rest of the
 * window with the mutex released (the records submitted meanwhile join the
 * batch). Returns with s->mu held.
 *
 * Tests that need records in flight for a while (a tick, a kill -9 or a
 * joiner between a command and its commit) set commit_delay_us instead:
 * every commit then waits that long, shared or not. */
static void commit_window_wait(struct store *s, const struct timespec *last,
                               uint64_t last_n)
{
    long long window = (long long)s->commit_window_us * 1000LL;
    struct timespec now, left;
    long long ns;

    if (s->commit_delay_us) {
        left.tv_sec = (time_t)(s->commit_delay_us / 1000000U);
        left.tv_nsec = (long)(s->commit_delay_us % 1000000U) * 1000L;
        pthread_mutex_unlock(&s->mu);
        nanosleep(&left, NULL);
        pthread_mutex_lock(&s->mu);
        return;
    }
    if (!window || last_n <= 1)
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
    uint64_t last_n = 0; /* records in the previous batch */

    for (;;) {
        struct store_rec *batch, *tail;
        uint64_t n = 0;
        int64_t start_us;

        pthread_mutex_lock(&s->mu);
        while (!s->pending && !s->stopping) {
            struct timespec at;

            if (!s->checkpoint_wanted && !s->cluster) {
                pthread_cond_wait(&s->work_cv, &s->mu);
                continue;
            }
            /* Deleted text still in the WAL (a reader held the checkpoint
             * off): try again every second rather than at the next write,
             * which on a quiet server may never come. A cluster's leases
             * are renewed on time (a sixth of the TTL, at most a second). */
            clock_gettime(CLOCK_REALTIME, &at);
            {
                long long ms = s->cluster && s->lease_ttl_ms < 6000
                                   ? (long long)s->lease_ttl_ms / 6
                                   : 1000;
                at.tv_nsec += (long)(ms % 1000) * 1000000L;
                at.tv_sec += (time_t)(ms / 1000) + at.tv_nsec / 1000000000L;
                at.tv_nsec %= 1000000000L;
            }
            if (pthread_cond_timedwait(&s->work_cv, &s->mu, &at) == ETIMEDOUT) {
                pthread_mutex_unlock(&s->mu);
                store_checkpoint_try(s);
                store_lease_renew_due(s);
                pthread_mutex_lock(&s->mu);
            }
        }
        if (s->pending && !s->stopping)
            commit_window_wait(s, &last_commit,
                               last_n); /* only the writer takes pending */
        batch = s->pending;
        tail = s->pending_tail;
        s->pending = s->pending_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        if (!batch)
            break; /* stopping, and nothing left to write */
        clock_gettime(CLOCK_MONOTONIC, &last_commit);

        start_us = store_mono_us();
        write_batch(s, batch);
        store_lease_renew_due(s);
        for (struct store_rec *rec = batch; rec; rec = rec->next)
            n++;

        pthread_mutex_lock(&s->mu);
        if (s->done_tail)
            s->done_tail->next = batch;
        else
            s->done = batch;
        s->done_tail = tail;
        s->written += n;
        last_n = n;
        store_stats_batch(s, n, start_us);
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
        if (s->wake)
            s->wake(s->wake_arg);
    }
    return NULL;
}
