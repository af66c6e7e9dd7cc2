/*
 * store_replay.c - rebuilding rooms from their journal: at start-up
 * (store_load: groups, members, plans, every open session, the closed room
 * of every other group), at a session's close (store_session_finalize:
 * history, what each person keeps, retention) and for the minutes
 * (store_read.c). See store.h.
 *
 * Invariants:
 *   - A replay applies the journal in journal.id order through room_apply
 *     at each record's journaled instant; the room is deterministic, so the
 *     rebuilt room is the room as it was. A record that replays differently
 *     is counted as a mismatch and skipped, never fatal.
 *   - store_load runs on the main thread before anything is submitted, on
 *     the writer's connection (the writer thread is idle).
 *   - Under retention "personal" the journal rows are deleted in the same
 *     transaction that copies what each person keeps.
 *
 * Expected load: O(journal) per replay; replays happen at start-up, at a
 * close and for minutes.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"

/* ---- replay ------------------------------------------------------------------- */

void store_replay_release(struct store_replay *rp)
{
    room_free(rp->room);
    free(rp->facilitators);
    memset(rp, 0, sizeof(*rp));
}

static int parse_budgets(const char *text, int64_t *budget_ms)
{
    char *end;

    for (int i = 0; i < STEP_COUNT; i++) {
        budget_ms[i] = text ? strtoll(text, &end, 10) : 0;
        if (!text || end == text)
            return CODEV_E_INTERNAL;
        text = end;
    }
    return 0;
}

static int parse_limits(const char *text, struct room_limits *l)
{
    if (!text || sscanf(text, "%u %u %u %u", &l->text_max_chars, &l->long_text_max_chars,
                        &l->cards_per_step, &l->members_max) != 4)
        return CODEV_E_INTERNAL;
    return 0;
}

/* Applies the iterator's current journal row (enum store_journal_col). */
static void replay_row(struct store_replay *rp, const struct store_rows *row)
{
    struct room *r = rp->room;
    int kind = (int)store_rows_int(row, JCOL_KIND);
    const char *member = store_rows_text(row, JCOL_MEMBER);
    const char *cmd_id = store_rows_text(row, JCOL_CMD_ID);
    struct room_cmd cmd;
    uint64_t seq = 0;
    bool dup = false;
    int idx, type, rc;

    rp->records++;
    if (kind == JOURNAL_MEMBER) {
        rc = room_member_add(r, member, store_rows_text(row, JCOL_NAME),
                             store_rows_int(row, JCOL_FACILITATOR) != 0,
                             store_rows_int(row, JCOL_OBSERVER) != 0);
        rp->mismatches += rc < 0;
        return;
    }
    if (kind == JOURNAL_DEBRIEF) {
        rc = room_debrief_add(
            r, store_rows_text(row, JCOL_REF), member, store_rows_text(row, JCOL_TEXT),
            store_rows_text(row, JCOL_DUE), store_rows_text(row, JCOL_FIRST_STEP));
        rp->mismatches += rc < 0;
        return;
    }
    idx = (int)store_rows_int(row, JCOL_MEMBER_IDX);
    type = room_cmd_from_name(store_rows_text(row, JCOL_CMD));
    if (kind != JOURNAL_CMD || type < 0 || idx < 0 || (size_t)idx >= r->nmembers ||
        !member || strcmp(r->members[idx].id, member) != 0) {
        rp->mismatches++;
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = (enum room_cmd_type)type;
    snprintf(cmd.id, sizeof(cmd.id), "%s", cmd_id ? cmd_id : "");
    cmd.text = store_rows_text(row, JCOL_TEXT);
    cmd.due = store_rows_text(row, JCOL_DUE);
    cmd.first_step = store_rows_text(row, JCOL_FIRST_STEP);
    cmd.target = store_rows_text(row, JCOL_TARGET);
    cmd.ref = store_rows_text(row, JCOL_REF);
    cmd.card = (uint32_t)store_rows_int(row, JCOL_CARD);
    cmd.seconds = store_rows_int(row, JCOL_SECONDS);
    cmd.variant = (int)store_rows_int(row, JCOL_VARIANT);
    cmd.flag = store_rows_int(row, JCOL_FLAG) != 0;
    rp->last_ms = store_rows_int(row, JCOL_AT_MS);
    rc = room_apply(r, idx, &cmd, rp->last_ms, &seq, &dup);
    room_outbox_clear(r);
    if (rc || dup || seq != (uint64_t)store_rows_int(row, JCOL_SEQ))
        rp->mismatches++;
    while (rp->nfacilitators < r->nconsultations) {
        if (array_grow((void **)&rp->facilitators, &rp->facilitators_cap,
                       rp->nfacilitators + 1, sizeof(*rp->facilitators))) {
            rp->mismatches++;
            return;
        }
        store_id_copy(rp->facilitators[rp->nfacilitators++],
                      r->facilitator >= 0 ? r->members[r->facilitator].id : "");
    }
}

/*
 * Rebuilds session_id's room from db into *rp (zeroed first). Returns 0,
 * CODEV_E_NOT_FOUND when there is no such session, or CODEV_E_INTERNAL.
 * On error *rp holds nothing. Reads through the row iterator only.
 */
int store_replay_session(struct store_db *db, const char *session_id,
                         struct store_replay *rp)
{
    struct store_rows *it = NULL;
    int64_t budgets[STEP_COUNT];
    /* What the journal does not keep (the session budget) is 0: no limit,
     * for commands that were accepted live; hub_session_attach puts the
     * budget back on a room that goes on. */
    struct room_limits limits = {0};
    int rc = CODEV_E_INTERNAL, step;

    memset(rp, 0, sizeof(*rp));
    if (store_rows_session_open(db, session_id, &it))
        return CODEV_E_INTERNAL;
    step = store_rows_next(it);
    if (step != 1) {
        rc = step == 0 ? CODEV_E_NOT_FOUND : CODEV_E_INTERNAL;
        goto out;
    }
    store_id_copy(rp->group_id, store_rows_text(it, SCOL_GROUP_ID));
    rp->opened_ms = rp->last_ms = store_rows_int(it, SCOL_OPENED_MS);
    rp->closed = store_rows_int(it, SCOL_CLOSED) != 0;
    if (parse_budgets(store_rows_text(it, SCOL_BUDGETS), budgets) ||
        parse_limits(store_rows_text(it, SCOL_LIMITS), &limits))
        goto out;
    rp->room = room_new(session_id, budgets, &limits, rp->opened_ms);
    if (!rp->room)
        goto out;
    store_rows_free(it);
    if (store_rows_journal_open(db, session_id, &it))
        goto out;
    while ((step = store_rows_next(it)) == 1)
        replay_row(rp, it);
    if (step != 0)
        goto out;
    rc = 0;
out:
    store_rows_free(it);
    if (rc)
        store_replay_release(rp);
    return rc;
}

int store_room_reload(struct store *s, const char *session_id, struct room **out)
{
    struct store_replay rp;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&s->read_mu);
    rc = store_replay_session(s->r, session_id, &rp);
    pthread_mutex_unlock(&s->read_mu);
    if (rc)
        return rc;
    if (rp.mismatches) {
        store_replay_release(&rp);
        return CODEV_E_INTERNAL;
    }
    *out = rp.room;
    rp.room = NULL;
    store_replay_release(&rp);
    return 0;
}

/* ---- closing a session ------------------------------------------------------ */

/* What a close writes: the history, what each person keeps, the debriefs.
 * Positional parameters, in each table's column order (store_schema.c). A
 * row already there is replaced (upserts in the dialect both backends
 * share; store_internal.h). */
// clang-format off
static const char sql_session_member[] =
    "INSERT INTO session_members VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (session_id, idx) DO UPDATE"
    "        SET member = excluded.member, facilitator = excluded.facilitator,"
    "            observer = excluded.observer, removed = excluded.removed";
static const char sql_consultation[] =
    "INSERT INTO consultations VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (session_id, idx) DO UPDATE"
    "        SET client = excluded.client, facilitator = excluded.facilitator";
static const char sql_consultation_step[] =
    "INSERT INTO consultation_steps VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (session_id, idx, step) DO UPDATE"
    "        SET planned_ms = excluded.planned_ms, used_ms = excluded.used_ms";
static const char sql_case[] =
    "INSERT INTO cases (session_id, idx, client, problem, contract, retained)"
    "     VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (session_id, idx) DO UPDATE"
    "        SET client = excluded.client, problem = excluded.problem,"
    "            contract = excluded.contract, retained = excluded.retained";
static const char sql_case_item[] =
    "INSERT INTO case_items VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (session_id, card) DO UPDATE"
    "        SET idx = excluded.idx, variant = excluded.variant,"
    "            marked = excluded.marked, text = excluded.text";
static const char sql_notebook[] =
    "INSERT INTO notebook VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT (session_id, card) DO UPDATE"
    "        SET member = excluded.member, type = excluded.type,"
    "            variant = excluded.variant, step = excluded.step, idx = excluded.idx,"
    "            created_ms = excluded.created_ms, text = excluded.text";
static const char sql_plan_debriefed[] =
    "UPDATE plans"
    "   SET outcome = ?1, comment = ?2, debriefed = 1"
    " WHERE id = ?3";
static const char sql_session_closed[] =
    "UPDATE sessions"
    "   SET closed_ms = ?1, retention = ?2, opening_planned_ms = ?3,"
    "       opening_used_ms = ?4, closed_seq = ?6, closed_cards = ?7"
    " WHERE id = ?5";
static const char sql_session_floor[] =
    "INSERT INTO session_floor VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (session_id, member, step) DO UPDATE"
    "        SET floor_ms = excluded.floor_ms, turns = excluded.turns,"
    "            passes = excluded.passes";
/* The rows as store_rows_journal_open finds them, through the index and
 * after upto (store_sqlite.c, "The session index"), then their index
 * entries. Two statements, each on its own index: PostgreSQL plans one
 * WHERE ... OR ... as a scan of the whole journal. */
static const char sql_journal_delete[] =
    "DELETE FROM journal"
    " WHERE id IN (SELECT id FROM journal_by_session WHERE session_id = ?1)";
static const char sql_journal_delete_after[] =
    "DELETE FROM journal"
    " WHERE id > (SELECT upto FROM journal_indexed) AND session_id = ?1";
static const char sql_journal_index_delete[] =
    "DELETE FROM journal_by_session WHERE session_id = ?1";
// clang-format on

/* Writes the history and the personal records of a replayed, closed room. */
static int finalize_records(struct store_db *db, const char *sid,
                            const struct store_replay *rp)
{
    const struct room *r = rp->room;
    int rc = 0;

    for (size_t i = 0; !rc && i < r->nmembers; i++)
        rc =
            store_db_run(db, sql_session_member, "titiii", sid, (int64_t)i,
                         r->members[i].id, (int64_t)((int)i == r->facilitator),
                         (int64_t)r->members[i].observer, (int64_t)r->members[i].removed);

    for (size_t i = 0; !rc && i < r->nconsultations; i++) {
        const struct room_consultation *c = &r->consultations[i];
        const char *client = c->client >= 0 ? r->members[c->client].id : NULL;
        rc = store_db_run(
            db, sql_consultation, "titt", sid, (int64_t)i, client,
            i < rp->nfacilitators && rp->facilitators[i][0] ? rp->facilitators[i] : NULL);
        for (int k = STEP_TOPIC; !rc && k <= STEP_LEARNING; k++)
            rc = store_db_run(db, sql_consultation_step, "titii", sid, (int64_t)i,
                              step_name((enum step)k), c->step_budget_ms[k],
                              c->step_used_ms[k]);
        if (!rc && client)
            rc = store_db_run(db, sql_case, "titttt", sid, (int64_t)i, client, c->problem,
                              c->contract, c->retained);
    }
    for (size_t i = 0; !rc && i < r->ncards; i++) {
        const struct room_card *c = &r->cards[i];
        if (c->withdrawn) /* withdrawn by its author: nobody keeps it */
            continue;
        if (c->type == CARD_CONTRIBUTION && c->consultation >= 0 &&
            r->consultations[c->consultation].client >= 0)
            rc = store_db_run(db, sql_case_item, "tiiiit", sid, (int64_t)c->consultation,
                              (int64_t)c->id, (int64_t)c->variant, (int64_t)c->marked,
                              c->text);
        else if (c->type == CARD_LEARNING || c->type == CARD_NOTE)
            rc = store_db_run(db, sql_notebook, "tittitiit", sid, (int64_t)c->id,
                              r->members[c->author].id, room_card_type_name(c->type),
                              (int64_t)c->variant, step_name(c->step),
                              (int64_t)c->consultation, c->created_ms, c->text);
    }
    /* The balance: every member's floor, per step where they held it. */
    for (size_t i = 0; !rc && i < r->nmembers; i++)
        for (int k = 0; !rc && k < STEP_COUNT; k++) {
            const struct room_floor_tally *t = &r->members[i].floor[k];
            if (t->ms || t->turns || t->passes)
                rc = store_db_run(db, sql_session_floor, "tttiii", sid, r->members[i].id,
                                  step_name((enum step)k), t->ms, (int64_t)t->turns,
                                  (int64_t)t->passes);
        }
    for (size_t i = 0; !rc && i < r->ndebriefs; i++) {
        const struct room_debrief *d = &r->debriefs[i];
        if (d->outcome >= 0)
            rc = store_db_run(db, sql_plan_debriefed, "itt", (int64_t)d->outcome,
                              d->comment, d->id);
    }
    return rc;
}

/* Closes session sid in db's open transaction (store_internal.h). */
int store_session_finalize(struct store *s, struct store_db *db, const char *sid,
                           int retention, int64_t closed_ms)
{
    struct store_replay rp;
    int rc = store_replay_session(db, sid, &rp);

    if (rc)
        return rc;
    if (closed_ms < 0)
        closed_ms = rp.last_ms;
    rc = store_db_run(db, sql_session_closed, "itiitii", closed_ms,
                      hub_retention_name(retention), rp.room->opening_budget_ms,
                      rp.room->opening_used_ms, sid, (int64_t)rp.room->seq,
                      (int64_t)rp.room->ncards);
    if (!rc)
        rc = finalize_records(db, sid, &rp);
    if (!rc && retention == HUB_RETENTION_PERSONAL) {
        rc = store_db_run(db, sql_journal_delete, "t", sid);
        if (!rc)
            rc = store_db_run(db, sql_journal_delete_after, "t", sid);
        if (!rc)
            rc = store_db_run(db, sql_journal_index_delete, "t", sid);
        s->checkpoint_wanted = true;
    }
    store_replay_release(&rp);
    return rc;
}

/* ---- loading -------------------------------------------------------------------- */

/* Reads the group's time zone and next session from columns col.. of it
 * (time_zone, next_date, next_time, next_duration, next_link,
 * next_start_ms, next_slot, next_sequence). */
static int load_life_group(struct hub_group *g, const struct store_rows *it, int col)
{
    const char *tz = store_rows_text(it, col), *date = store_rows_text(it, col + 1),
               *time = store_rows_text(it, col + 2);

    if (tz && strlen(tz) <= HUB_TZ_MAX)
        memcpy(g->time_zone, tz, strlen(tz) + 1);
    if (date && time &&
        hub_next_set(g, date, time, (int)store_rows_int(it, col + 3),
                     store_rows_text(it, col + 4), NULL, store_rows_int(it, col + 5)))
        return CODEV_E_INTERNAL;
    g->next_session.slot = (uint32_t)store_rows_int(it, col + 6);
    g->next_session.sequence = (uint32_t)store_rows_int(it, col + 7);
    return 0;
}

/* The rota, proposals and drafts of every group (only: of that one). */
static int load_life(struct store_db *db, struct hub *h, const char *only)
{
    // clang-format off
    static const char sql_rota[] =
        "SELECT group_id, idx, coalesce(client, ''), coalesce(facilitator, '')"
        "  FROM rota WHERE group_id = coalesce(?1, group_id) ORDER BY group_id, idx";
    static const char sql_proposals[] =
        "SELECT group_id, id, author, title, text, created_ms, updated_ms,"
        "       coalesce(during, ''), coalesce(chosen, '')"
        "  FROM proposals WHERE group_id = coalesce(?1, group_id)"
        " ORDER BY group_id, ordinal";
    static const char sql_drafts[] =
        "SELECT group_id, author, text, updated_ms FROM drafts"
        " WHERE group_id = coalesce(?1, group_id) ORDER BY rowid";
    // clang-format on
    struct store_rows *it;
    int rc = store_rows_open(db, sql_rota, 4, &it, "t", only);

    while (store_rows_more(it, &rc)) {
        struct hub_group *g = hub_group_find(h, store_rows_text(it, 0));
        int64_t i = store_rows_int(it, 1);
        if (!g || i != (int64_t)g->nrota || i >= HUB_ROTA_MAX) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        store_id_copy(g->rota[i].client, store_rows_text(it, 2));
        store_id_copy(g->rota[i].facilitator, store_rows_text(it, 3));
        g->nrota++;
    }
    store_rows_free(it);
    it = NULL;
    if (!rc)
        rc = store_rows_open(db, sql_proposals, 9, &it, "t", only);
    while (store_rows_more(it, &rc)) {
        struct hub_group *g = hub_group_find(h, store_rows_text(it, 0));
        struct hub_proposal p;
        if (!g) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        memset(&p, 0, sizeof(p));
        store_id_copy(p.id, store_rows_text(it, 1));
        store_id_copy(p.author, store_rows_text(it, 2));
        p.title = (char *)store_rows_text(it, 3);
        p.text = (char *)store_rows_text(it, 4);
        p.created_ms = store_rows_int(it, 5);
        p.updated_ms = store_rows_int(it, 6);
        store_id_copy(p.during, store_rows_text(it, 7));
        store_id_copy(p.chosen, store_rows_text(it, 8));
        rc = hub_proposal_insert(g, &p);
    }
    store_rows_free(it);
    it = NULL;
    if (!rc)
        rc = store_rows_open(db, sql_drafts, 4, &it, "t", only);
    while (store_rows_more(it, &rc)) {
        struct hub_group *g = hub_group_find(h, store_rows_text(it, 0));
        struct hub_draft d;
        if (!g) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        memset(&d, 0, sizeof(d));
        store_id_copy(d.author, store_rows_text(it, 1));
        d.text = (char *)store_rows_text(it, 2);
        d.updated_ms = store_rows_int(it, 3);
        rc = hub_draft_insert(g, &d);
    }
    store_rows_free(it);
    return rc ? CODEV_E_INTERNAL : 0;
}

/* The group's settings page as the store keeps it (migration 10): the
 * template (NULL or one that no longer checks: the format's defaults stay)
 * and the ground rules (NULL: the default list; one per line). */
static int load_settings_group(struct hub_group *g, const char *minutes,
                               const char *rules)
{
    const char *lines[HUB_RULES_MAX];
    char *copy, *p;
    size_t n = 0;
    int m[STEP_COUNT];

    if (minutes) {
        int i = 0, used = 0;
        for (const char *q = minutes;
             i < STEP_COUNT && sscanf(q, "%d%n", &m[i], &used) == 1; i++)
            q += used;
        if (i == STEP_COUNT)
            hub_group_template_set(g, m); /* refused: the defaults stay */
    }
    if (!rules)
        return 0;
    if (!(copy = strdup(rules)))
        return CODEV_E_INTERNAL;
    for (p = copy; *p && n < HUB_RULES_MAX;) {
        char *nl = strchr(p, '\n');
        lines[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    /* What was accepted once loads; rules that no longer check are dropped
     * for the default list rather than refusing the group. */
    if (hub_group_rules_set(g, lines, n) == CODEV_E_INTERNAL) {
        free(copy);
        return CODEV_E_INTERNAL;
    }
    free(copy);
    return 0;
}

static int load_groups(struct store_db *db, struct hub *h, const char *only,
                       struct store_load_report *rep)
{
    // clang-format off
    static const char sql[] =
        "SELECT id, name, language, format, facilitator, invite_hash, retention,"
        "       coalesce(active_ms, created_ms),"
        "       EXISTS (SELECT 1 FROM sessions WHERE group_id = groups.id),"
        "       creator, display_hash, round_last, warn_before_s, time_zone, next_date,"
        "       next_time, next_duration, next_link, next_start_ms, next_slot, next_sequence,"
        "       step_minutes, ground_rules"
        "  FROM groups"
        " WHERE id = coalesce(?1, id)"
        " ORDER BY rowid";
    // clang-format on
    struct store_rows *it;
    struct hub_group *g;
    int rc = store_rows_open(db, sql, 23, &it, "t", only);

    while (store_rows_more(it, &rc)) {
        int retention = hub_retention_from_name(store_rows_text(it, 6));
        size_t invite_len, display_len;
        const void *invite = store_rows_blob(it, 5, &invite_len);
        const void *display = store_rows_blob(it, 10, &display_len);
        if (invite_len != AUTH_HASH_LEN || retention < 0) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        rc = hub_group_insert(h, store_rows_text(it, 0), store_rows_text(it, 1),
                              store_rows_text(it, 2), (int)store_rows_int(it, 3),
                              store_rows_text(it, 4), invite,
                              (enum hub_retention)retention, store_rows_text(it, 9), &g);
        if (!rc) {
            g->active_ms = store_rows_int(it, 7);
            g->opened_once = store_rows_int(it, 8) != 0;
            hub_display_load(g, display_len == AUTH_HASH_LEN ? display : NULL);
            store_id_copy(g->round_last, store_rows_text(it, 11));
            if (hub_group_warn_before_set(g, (int)store_rows_int(it, 12)))
                g->warn_before_s = HUB_WARN_BEFORE_DEFAULT_S;
            rc = load_life_group(g, it, 13);
            if (!rc)
                rc = load_settings_group(g, store_rows_text(it, 21),
                                         store_rows_text(it, 22));
        }
        rep->groups += rc == 0;
    }
    store_rows_free(it);
    return rc ? CODEV_E_INTERNAL : 0;
}

static int load_members(struct store_db *db, struct hub *h, const char *only,
                        struct store_load_report *rep)
{
    // clang-format off
    static const char sql[] =
        "SELECT group_id, id, name, key_hash, observer, removed, form"
        "  FROM members"
        " WHERE group_id = coalesce(?1, group_id)"
        " ORDER BY group_id, ordinal";
    // clang-format on
    struct store_rows *it;
    int rc = store_rows_open(db, sql, 7, &it, "t", only);

    while (store_rows_more(it, &rc)) {
        struct hub_group *g = hub_group_find(h, store_rows_text(it, 0));
        size_t key_len;
        const void *key = store_rows_blob(it, 3, &key_len);
        if (!g || key_len != AUTH_HASH_LEN) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        rc = hub_member_insert(g, store_rows_text(it, 1), store_rows_text(it, 2), key,
                               store_rows_int(it, 4) != 0, store_rows_int(it, 5) != 0);
        if (rc >= 0) {
            int form = room_form_from_name(store_rows_text(it, 6));
            g->members[rc].form = form > 0 ? (uint8_t)form : FORM_NEUTRAL;
        }
        rc = rc < 0 ? rc : 0;
        rep->members += rc == 0;
    }
    store_rows_free(it);
    return rc ? CODEV_E_INTERNAL : 0;
}

/* Loads the plan items still waiting for a debrief (debriefed or expired
 * ones stay in the store only: the journal export reads them there), and
 * each group's next ordinal, above every item it ever kept; only: one
 * group's (a cluster's takeover), or NULL for all. */
static int load_plans(struct store_db *db, struct hub *h, const char *only,
                      struct store_load_report *rep)
{
    // clang-format off
    static const char sql[] =
        "SELECT group_id, id, client, text, due, debriefed, session_id, consultation,"
        "       pre_outcome, pre_comment, first_step, ordinal"
        "  FROM plans"
        " WHERE debriefed = 0 AND group_id = coalesce(?1, group_id)"
        " ORDER BY group_id, ordinal";
    static const char sql_next[] =
        "SELECT group_id, max(ordinal) FROM plans"
        " WHERE group_id = coalesce(?1, group_id) GROUP BY group_id";
    // clang-format on
    struct store_rows *it;
    int rc = store_rows_open(db, sql_next, 2, &it, "t", only);

    while (store_rows_more(it, &rc)) {
        struct hub_group *g = hub_group_find(h, store_rows_text(it, 0));
        if (!g) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        g->plans_next_ordinal = store_rows_int(it, 1) + 1;
    }
    store_rows_free(it);
    if (rc)
        return CODEV_E_INTERNAL;
    rc = store_rows_open(db, sql, 12, &it, "t", only);

    while (store_rows_more(it, &rc)) {
        struct hub_group *g = hub_group_find(h, store_rows_text(it, 0));
        struct hub_plan p;

        if (!g) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        memset(&p, 0, sizeof(p));
        store_id_copy(p.id, store_rows_text(it, 1));
        store_id_copy(p.client, store_rows_text(it, 2));
        p.text = (char *)store_rows_text(it, 3);
        p.due = (char *)store_rows_text(it, 4);
        p.debriefed = store_rows_int(it, 5) != 0;
        store_id_copy(p.session, store_rows_text(it, 6));
        p.consultation = store_rows_null(it, 7) ? -1 : (int)store_rows_int(it, 7);
        p.pre_debriefed = !store_rows_null(it, 8);
        p.pre_outcome = (int)store_rows_int(it, 8);
        p.pre_comment = (char *)store_rows_text(it, 9);
        p.first_step = (char *)store_rows_text(it, 10);
        p.ordinal = store_rows_int(it, 11);
        rc = hub_plan_insert(g, &p);
        rep->plans += rc == 0;
    }
    store_rows_free(it);
    return rc ? CODEV_E_INTERNAL : 0;
}

/* Finalizes, at load, a session whose journal ends in its close. */
static int load_finalize(struct store *s, const struct hub_group *g, const char *sid,
                         int64_t now_ms)
{
    int rc;

    if (s->be->begin(s->w))
        return CODEV_E_INTERNAL;
    rc = store_group_write(s, g, now_ms);
    if (!rc)
        rc = store_life_write(s, g);
    if (!rc)
        rc = store_session_finalize(s, s->w, sid, g->retention, -1);
    if (rc || s->be->commit(s->w)) {
        s->be->rollback(s->w);
        rc = CODEV_E_INTERNAL;
    }
    return rc;
}

/* The open sessions of every group (only: of that one, on db, and a
 * session found closed is not finalized here but counted in
 * rep->sessions_finalized for the caller to close). */
static int load_sessions(struct store *s, struct store_db *db, struct hub *h,
                         const char *only, int64_t now_ms, struct store_load_report *rep)
{
    // clang-format off
    static const char sql[] =
        "SELECT id"
        "  FROM sessions"
        " WHERE closed_ms IS NULL"
        "   AND group_id = coalesce(?1, group_id)"
        " ORDER BY opened_ms, rowid";
    // clang-format on
    struct store_rows *it;
    char(*ids)[AUTH_UUID_LEN + 1] = NULL;
    size_t n = 0, cap = 0;
    int rc = store_rows_open(db, sql, 1, &it, "t", only);

    if (rc)
        return rc;
    /* Collect first: finalizing writes to the tables being read. */
    while (store_rows_more(it, &rc)) {
        if (array_grow((void **)&ids, &cap, n + 1, sizeof(*ids))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        store_id_copy(ids[n++], store_rows_text(it, 0));
    }
    store_rows_free(it);

    for (size_t i = 0; !rc && i < n; i++) {
        struct store_replay rp;
        struct hub_group *g;
        bool closed;

        rc = store_replay_session(db, ids[i], &rp);
        if (rc)
            break;
        rep->records_replayed += rp.records;
        rep->replay_mismatches += rp.mismatches;
        g = hub_group_find(h, rp.group_id);
        if (!g) {
            store_replay_release(&rp);
            rc = CODEV_E_INTERNAL;
            break;
        }
        closed = rp.room->step == STEP_CLOSED;
        g->room_active_ms = rp.last_ms;
        rc = hub_session_attach(h, g, rp.room);
        rp.room = NULL; /* the hub took it, also on error */
        store_replay_release(&rp);
        if (rc)
            break;
        hub_sync(h, g);
        if (closed && only) {
            rep->sessions_finalized++;
        } else if (closed) {
            rc = load_finalize(s, g, ids[i], now_ms);
            rep->sessions_finalized += rc == 0;
        } else {
            rep->sessions_rebuilt++;
        }
    }
    free(ids);
    return rc ? CODEV_E_INTERNAL : 0;
}

/* Fills c (members and consultations, allocated in *ms and *ks) with the
 * text-free description of closed session sid, from session_members and
 * the history tables. Names come from g. Returns 0 or CODEV_E_INTERNAL. */
static int load_closed_parts(struct store_db *db, const struct hub_group *g,
                             const char *sid, struct hub_closed *c,
                             struct hub_closed_member **ms,
                             struct hub_closed_consultation **ks)
{
    // clang-format off
    static const char sql_members[] =
        "SELECT member, facilitator, observer, removed"
        "  FROM session_members"
        " WHERE session_id = ?1"
        " ORDER BY idx";
    static const char sql_consultations[] =
        "SELECT c.idx, c.client, st.step, st.planned_ms, st.used_ms"
        "  FROM consultations c"
        "  LEFT JOIN consultation_steps st"
        "    ON st.session_id = c.session_id"
        "   AND st.idx = c.idx"
        " WHERE c.session_id = ?1"
        " ORDER BY c.idx";
    // clang-format on
    struct store_rows *it;
    size_t mcap = 0, kcap = 0;
    int rc = store_rows_open(db, sql_members, 4, &it, "t", sid);

    while (store_rows_more(it, &rc)) {
        struct hub_closed_member *m;
        const struct hub_member *hm = hub_member_find(g, store_rows_text(it, 0));
        if (array_grow((void **)ms, &mcap, c->nmembers + 1, sizeof(**ms))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        m = &(*ms)[c->nmembers++];
        memset(m, 0, sizeof(*m));
        store_id_copy(m->id, store_rows_text(it, 0));
        m->name = hm ? hm->name : "";
        m->facilitator = store_rows_int(it, 1) != 0;
        m->observer = store_rows_int(it, 2) != 0;
        m->removed = store_rows_int(it, 3) != 0;
    }
    store_rows_free(it);
    if (rc)
        return rc;
    rc = store_rows_open(db, sql_consultations, 5, &it, "t", sid);
    while (store_rows_more(it, &rc)) {
        size_t idx = (size_t)store_rows_int(it, 0);
        int k = step_from_name(store_rows_text(it, 2));
        if (idx >= c->nconsultations) {
            if (idx != c->nconsultations ||
                array_grow((void **)ks, &kcap, idx + 1, sizeof(**ks))) {
                rc = CODEV_E_INTERNAL;
                break;
            }
            memset(&(*ks)[idx], 0, sizeof(**ks));
            store_id_copy((*ks)[idx].client,
                          store_rows_text(it, 1) ? store_rows_text(it, 1) : "");
            c->nconsultations++;
        }
        if (k >= STEP_TOPIC && k <= STEP_LEARNING) {
            (*ks)[idx].planned_ms[k] = store_rows_int(it, 3);
            (*ks)[idx].used_ms[k] = store_rows_int(it, 4);
        }
    }
    store_rows_free(it);
    c->members = *ms;
    c->consultations = *ks;
    return rc;
}

/*
 * Gives g, with no open session, the closed room of its last session, as it
 * was before the restart (hub_sync): under the retention it closed with,
 * "keep" rebuilds the full room from the kept journal, "personal" the
 * text-free closed room. A group whose last session left no record of its
 * members (closed before schema v3) gets none.
 */
static int load_closed_room(struct store_db *db, struct hub_group *g)
{
    // clang-format off
    static const char sql[] =
        "SELECT id, retention, opened_ms, budgets, limits,"
        "       coalesce(opening_planned_ms, 0), coalesce(opening_used_ms, 0),"
        "       coalesce(closed_seq, 0), coalesce(closed_cards, 0)"
        "  FROM sessions"
        " WHERE group_id = ?1"
        "   AND closed_ms IS NOT NULL"
        " ORDER BY opened_ms DESC, rowid DESC"
        " LIMIT 1";
    // clang-format on
    struct store_rows *it;
    char sid[AUTH_UUID_LEN + 1];
    int64_t budgets[STEP_COUNT];
    struct room_limits limits;
    struct hub_closed c = {.session_id = sid, .budgets = budgets, .limits = &limits};
    struct hub_closed_member *ms = NULL;
    struct hub_closed_consultation *ks = NULL;
    bool keep;
    int rc = 0;

    if (store_rows_open(db, sql, 9, &it, "t", g->id))
        return CODEV_E_INTERNAL;
    if (store_rows_next(it) != 1) {
        store_rows_free(it);
        return 0;
    }
    store_id_copy(sid, store_rows_text(it, 0));
    keep = store_rows_text(it, 1) && strcmp(store_rows_text(it, 1), "keep") == 0;
    c.opened_ms = store_rows_int(it, 2);
    c.opening_planned_ms = store_rows_int(it, 5);
    c.opening_used_ms = store_rows_int(it, 6);
    c.seq = (uint64_t)store_rows_int(it, 7);
    c.ncards = (size_t)store_rows_int(it, 8);
    if (parse_budgets(store_rows_text(it, 3), budgets) ||
        parse_limits(store_rows_text(it, 4), &limits))
        rc = CODEV_E_INTERNAL;
    store_rows_free(it);
    if (rc)
        return rc;
    if (keep) {
        struct store_replay rp;
        if (store_replay_session(db, sid, &rp) == 0 && rp.room->step == STEP_CLOSED) {
            g->room = rp.room;
            rp.room = NULL;
            store_replay_release(&rp);
            return 0;
        }
        if (rp.room)
            store_replay_release(&rp);
    }
    rc = load_closed_parts(db, g, sid, &c, &ms, &ks);
    if (!rc && c.nmembers && !(g->room = hub_closed_room_new(&c)))
        rc = CODEV_E_INTERNAL;
    free(ms);
    free(ks);
    return rc;
}

/* The closed rooms of every group without an open session. A closed room
 * is only what its members see of a session that is over: one that cannot
 * be read is skipped (counted in the report) rather than keeping the whole
 * server from starting. */
static void load_closed_rooms(struct store *s, struct hub *h,
                              struct store_load_report *rep)
{
    for (size_t b = 0; b < h->nbuckets; b++)
        for (struct hub_group *g = h->buckets[b]; g; g = g->next)
            if (!g->room && g->opened_once) {
                if (load_closed_room(s->w, g) != 0) {
                    g->room = NULL;
                    rep->closed_rooms_skipped++;
                }
                hub_room_forms_sync(g); /* the members' forms (no room: nothing) */
            }
}

int store_load(struct store *s, struct hub *h, int64_t now_ms,
               struct store_load_report *report)
{
    struct store_load_report rep;
    uint64_t submitted;
    int rc;

    memset(&rep, 0, sizeof(rep));
    pthread_mutex_lock(&s->mu);
    submitted = s->submitted;
    pthread_mutex_unlock(&s->mu);
    if (submitted || s->version < store_schema_version_latest())
        return CODEV_E_INTERNAL;
    rc = load_groups(s->w, h, NULL, &rep);
    if (!rc)
        rc = load_members(s->w, h, NULL, &rep);
    if (!rc)
        rc = load_plans(s->w, h, NULL, &rep);
    if (!rc)
        rc = load_life(s->w, h, NULL);
    if (!rc)
        rc = load_sessions(s, s->w, h, NULL, now_ms, &rep);
    if (!rc)
        load_closed_rooms(s, h, &rep);
    /* Everything loaded is committed: the items the replayed sessions
     * debriefed or expired wait no more. */
    for (size_t b = 0; !rc && b < h->nbuckets; b++)
        for (struct hub_group *g = h->buckets[b]; g; g = g->next)
            rep.plans -= hub_plans_settle(g);
    if (s->checkpoint_wanted && s->be->scrub(s->w) == 0)
        s->checkpoint_wanted = false;
    if (report)
        *report = rep;
    return rc;
}

int store_load_group(struct store *s, struct store_db *db, struct hub *h,
                     const char *group_id, int64_t now_ms, struct store_load_report *rep,
                     struct hub_group **out)
{
    struct hub_group *g = NULL;
    int rc;

    memset(rep, 0, sizeof(*rep));
    *out = NULL;
    rc = load_groups(db, h, group_id, rep);
    if (!rc && !(g = hub_group_find(h, group_id)))
        return CODEV_E_UNKNOWN_GROUP;
    if (!rc)
        rc = load_members(db, h, group_id, rep);
    if (!rc)
        rc = load_plans(db, h, group_id, rep);
    if (!rc)
        rc = load_life(db, h, group_id);
    if (!rc)
        rc = load_sessions(s, db, h, group_id, now_ms, rep);
    if (!rc && !g->room && g->opened_once) {
        if (load_closed_room(db, g) != 0) {
            g->room = NULL;
            rep->closed_rooms_skipped++;
        }
        hub_room_forms_sync(g);
    }
    if (!rc) /* as store_load: what the replay debriefed is committed */
        rep->plans -= hub_plans_settle(g);
    if (rc) {
        if ((g = hub_group_find(h, group_id)))
            hub_group_delete(h, g);
        return CODEV_E_INTERNAL;
    }
    *out = g;
    return 0;
}
