/*
 * store_schema.c - the schema of codevd.db, as numbered migrations, and
 * the migration runner (see store.h).
 *
 * Invariants:
 *   - migrations[i] takes the schema from version i to version i + 1, in
 *     one transaction with the schema_version row: a crash leaves the
 *     database at a version, never between two.
 *   - A released migration is never edited; a change is a new migration
 *     appended. A database newer than this codevd is never touched.
 *
 * Expected load: once at start-up; a migration runs once per database.
 */
#include "store_internal.h"

#include <stdio.h>

#include "errors.h"

/*
 * The migrations, in order: migrations[i] takes the schema from version i to
 * version i + 1. Never edit a released migration; append a new one.
 */
// clang-format off
static const char *const migrations[] = {
    /* 1: the base schema. */
    "CREATE TABLE groups ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  language TEXT NOT NULL,"
    "  format INTEGER NOT NULL,"
    "  facilitator TEXT NOT NULL,"
    "  invite_hash BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE members ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  ordinal INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  key_hash BLOB NOT NULL,"
    "  observer INTEGER NOT NULL DEFAULT 0,"
    "  removed INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (group_id, ordinal));"
    "CREATE TABLE plans ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  ordinal INTEGER NOT NULL,"
    "  client TEXT NOT NULL REFERENCES members(id),"
    "  session_id TEXT,"
    "  consultation INTEGER,"
    "  text TEXT NOT NULL,"
    "  due TEXT,"
    "  outcome INTEGER,"
    "  comment TEXT,"
    "  debriefed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  opened_ms INTEGER NOT NULL,"
    "  closed_ms INTEGER,"
    "  budgets TEXT NOT NULL," /* STEP_COUNT budgets in ms, space-separated */
    "  limits TEXT NOT NULL,"  /* the room_limits, space-separated */
    "  opening_planned_ms INTEGER,"
    "  opening_used_ms INTEGER);"
    "CREATE TABLE journal ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  kind INTEGER NOT NULL,"
    "  member TEXT NOT NULL," /* added member, debrief client, or sender */
    "  member_idx INTEGER,"
    "  name TEXT, facilitator INTEGER, observer INTEGER,"
    "  cmd TEXT, cmd_id TEXT, text TEXT, due TEXT, target TEXT, ref TEXT,"
    "  card INTEGER, seconds INTEGER, variant INTEGER, flag INTEGER,"
    "  at_ms INTEGER, seq INTEGER);"
    "CREATE INDEX journal_session ON journal(session_id, id);"
    "CREATE TABLE consultations ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  idx INTEGER NOT NULL,"
    "  client TEXT,"
    "  facilitator TEXT,"
    "  PRIMARY KEY (session_id, idx));"
    "CREATE TABLE consultation_steps ("
    "  session_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  step TEXT NOT NULL,"
    "  planned_ms INTEGER NOT NULL,"
    "  used_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (session_id, idx, step),"
    "  FOREIGN KEY (session_id, idx) REFERENCES consultations(session_id, idx));"
    "CREATE TABLE cases ("
    "  session_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  client TEXT NOT NULL REFERENCES members(id),"
    "  problem TEXT,"
    "  contract TEXT,"
    "  PRIMARY KEY (session_id, idx),"
    "  FOREIGN KEY (session_id, idx) REFERENCES consultations(session_id, idx));"
    "CREATE INDEX cases_client ON cases(client);"
    "CREATE TABLE case_items ("
    "  session_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  card INTEGER NOT NULL,"
    "  variant INTEGER NOT NULL,"
    "  marked INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  PRIMARY KEY (session_id, card),"
    "  FOREIGN KEY (session_id, idx) REFERENCES cases(session_id, idx));"
    "CREATE TABLE notebook ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  card INTEGER NOT NULL,"
    "  member TEXT NOT NULL REFERENCES members(id),"
    "  type TEXT NOT NULL,"
    "  variant INTEGER NOT NULL,"
    "  step TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  PRIMARY KEY (session_id, card));"
    "CREATE INDEX notebook_member ON notebook(member, created_ms);",

    /* 2: retention becomes a group setting (and is recorded per session, as
     * applied at its close); indexes for loading and the history view. */
    "ALTER TABLE groups ADD COLUMN retention TEXT NOT NULL DEFAULT 'personal'"
    "  CHECK (retention IN ('personal', 'keep'));"
    "ALTER TABLE sessions ADD COLUMN retention TEXT"
    "  CHECK (retention IN ('personal', 'keep'));"
    "CREATE INDEX sessions_group ON sessions(group_id, opened_ms);"
    "CREATE INDEX sessions_open ON sessions(opened_ms) WHERE closed_ms IS NULL;"
    "CREATE INDEX plans_group ON plans(group_id, ordinal);"
    "CREATE INDEX plans_client ON plans(client);",

    /* 3: a group's last activity (creation, join, invite, settings), for
     * the expiry of groups that never opened a session; who was in each
     * closed session (room order and flags), for its closed room. */
    "ALTER TABLE groups ADD COLUMN active_ms INTEGER;"
    "UPDATE groups SET active_ms = created_ms;"
    "ALTER TABLE sessions ADD COLUMN closed_seq INTEGER;"
    "ALTER TABLE sessions ADD COLUMN closed_cards INTEGER;"
    "CREATE TABLE session_members ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  idx INTEGER NOT NULL,"
    "  member TEXT NOT NULL,"
    "  facilitator INTEGER NOT NULL,"
    "  observer INTEGER NOT NULL,"
    "  removed INTEGER NOT NULL,"
    "  PRIMARY KEY (session_id, idx));",

    /* 4: who created each group (the address key of its creator, an IPv4
     * address or an IPv6 /64), for groups_per_ip and sessions_per_ip
     * across restarts. NULL for groups made before: counted nowhere. */
    "ALTER TABLE groups ADD COLUMN creator TEXT;",

    /* 5 (issue 14, the display link; numbered after the other migration of
     * issue 14 when both are merged): the SHA-256 of the group's display
     * token, like invite_hash; NULL when the group has no display link. */
    "ALTER TABLE groups ADD COLUMN display_hash BLOB"
    "  CHECK (display_hash IS NULL OR length(display_hash) = 32);",
    /* 6: the floor (room_floor.c): where the group's next round starts
     * (the first member of its last round), and each closed session's
     * balance: per member and step, the time they held the floor, their
     * turns and their passes (the facilitator's history). */
    "ALTER TABLE groups ADD COLUMN round_last TEXT;"
    "CREATE TABLE session_floor ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  member TEXT NOT NULL,"
    "  step TEXT NOT NULL,"
    "  floor_ms INTEGER NOT NULL,"
    "  turns INTEGER NOT NULL,"
    "  passes INTEGER NOT NULL,"
    "  PRIMARY KEY (session_id, member, step));",
    /* 7: the page's warning before a step's time is up, per group, in
     * seconds (0: none); groups made before warn a minute before. */
    "ALTER TABLE groups ADD COLUMN warn_before_s INTEGER NOT NULL DEFAULT 60;",
    /* 8: the group between sessions (hub_life.c): its time zone and next
     * session, the rota of coming roles, case proposals, private exposé
     * drafts, and debriefs posted in advance on the plans. */
    "ALTER TABLE groups ADD COLUMN time_zone TEXT;"
    "ALTER TABLE groups ADD COLUMN next_date TEXT;" /* NULL: no next session */
    "ALTER TABLE groups ADD COLUMN next_time TEXT;"
    "ALTER TABLE groups ADD COLUMN next_duration INTEGER;"
    "ALTER TABLE groups ADD COLUMN next_link TEXT;"
    "ALTER TABLE groups ADD COLUMN next_start_ms INTEGER;"
    "ALTER TABLE groups ADD COLUMN next_slot INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE groups ADD COLUMN next_sequence INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE rota ("
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  idx INTEGER NOT NULL,"
    "  client TEXT,"
    "  facilitator TEXT,"
    "  PRIMARY KEY (group_id, idx));"
    "CREATE TABLE proposals ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  ordinal INTEGER NOT NULL,"
    "  author TEXT NOT NULL REFERENCES members(id),"
    "  title TEXT NOT NULL,"
    "  text TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  during TEXT,"
    "  chosen TEXT);"
    "CREATE INDEX proposals_group ON proposals(group_id, ordinal);"
    "CREATE TABLE drafts ("
    "  author TEXT PRIMARY KEY REFERENCES members(id),"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  text TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX drafts_group ON drafts(group_id);"
    "ALTER TABLE plans ADD COLUMN pre_outcome INTEGER;" /* NULL: none in advance */
    "ALTER TABLE plans ADD COLUMN pre_comment TEXT;",
    /* 9 (issue 12, the synthesis and the role labels): an action's first
     * step ("premier pas") in the journal and in the plans kept for the
     * next session; what the client retains ("ce que je retiens") in their
     * case; each member's form of their role labels ('n' neutral, 'f', 'm'). */
    "ALTER TABLE journal ADD COLUMN first_step TEXT;"
    "ALTER TABLE plans ADD COLUMN first_step TEXT;"
    "ALTER TABLE cases ADD COLUMN retained TEXT;"
    "ALTER TABLE members ADD COLUMN form TEXT NOT NULL DEFAULT 'n'"
    "  CHECK (form IN ('n', 'f', 'm'));",
    /* 10: the group's settings page (hub_settings.c): the session template,
     * each step's minutes from the opening to the closed step, space-separated
     * (NULL: the format's defaults), and the ground rules shown at the
     * opening, one per line (NULL: the default list; '': none). */
    "ALTER TABLE groups ADD COLUMN step_minutes TEXT;"
    "ALTER TABLE groups ADD COLUMN ground_rules TEXT;",
    /* 11: which node holds each group, in a cluster (node_id set, on
     * PostgreSQL only; store_lease.c): the node, the fencing epoch every
     * journal batch of the group is checked against, and until when the
     * lease holds (milliseconds of the database's clock). Unused on SQLite
     * (one node), made the same so that the numbers match. */
    "CREATE TABLE group_lease ("
    "  group_id TEXT PRIMARY KEY,"
    "  node_id TEXT NOT NULL,"
    "  epoch INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  renewed_ms INTEGER NOT NULL);",
    /* 12: on PostgreSQL, no planner statistics on what members write
     * (store_pg_schema.c). SQLite keeps no sampled values unless ANALYZE
     * runs with STAT4, which codevd never runs: nothing to do, the same
     * number. */
    "SELECT 1;",
    /* 13 (issue 15): the journal's session index is built in bulk. The
     * index journal_session (session_id, id) put each session's rows on
     * its own index pages: with many sessions writing at once every
     * appended row dirtied an index page of its own, and every group
     * commit wrote those 4 kB pages to the WAL. Now journal has no index
     * but its id; journal_by_session holds (session_id, id) for every row
     * up to journal_indexed.upto, and the writer adds the rows after it in
     * one sorted insert every journal_fold_rows rows (store_sqlite.c,
     * "The session index"). */
    "DROP INDEX journal_session;"
    "CREATE TABLE journal_by_session ("
    "  session_id TEXT NOT NULL,"
    "  id INTEGER NOT NULL,"
    "  PRIMARY KEY (session_id, id)) WITHOUT ROWID;"
    "INSERT INTO journal_by_session SELECT session_id, id FROM journal;"
    "CREATE TABLE journal_indexed (upto INTEGER NOT NULL);"
    "INSERT INTO journal_indexed SELECT coalesce(max(id), 0) FROM journal;",
};
// clang-format on

#define STORE_SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- schema ----------------------------------------------------------------- */

const char *store_schema_sqlite(int i)
{
    return i >= 0 && i < STORE_SCHEMA_LATEST ? migrations[i] : NULL;
}

static int schema_version_get(struct store_db *db, int *version)
{
    struct store_rows *it;
    int rc = store_rows_open(db, "SELECT coalesce(max(version), 0) FROM schema_version",
                             1, &it, "");

    if (!rc)
        rc = store_rows_next(it) == 1 ? 0 : CODEV_E_INTERNAL;
    if (!rc)
        *version = (int)store_rows_int(it, 0);
    store_rows_free(it);
    return rc;
}

/* Applies migrations version+1 .. target, each in its own transaction. The
 * version is read again inside each, after locking its row (a second codevd
 * on the same PostgreSQL database may have applied it meanwhile). The whole
 * run holds the backend's migration lock (PostgreSQL: an advisory lock), so
 * that nodes started at once on an empty database take turns: the first
 * migrates, the others find it done. */
static int schema_migrate_locked(struct store_db *db, int target, int *version);

int store_schema_migrate(struct store_db *db, int target, int *version)
{
    int rc;

    if (db->be->migrate_lock && store_db_exec(db, db->be->migrate_lock))
        return CODEV_E_INTERNAL;
    rc = schema_migrate_locked(db, target, version);
    if (db->be->migrate_unlock && store_db_exec(db, db->be->migrate_unlock))
        rc = CODEV_E_INTERNAL;
    return rc;
}

static int schema_migrate_locked(struct store_db *db, int target, int *version)
{
    char sql[96];

    if (store_db_exec(
            db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") ||
        schema_version_get(db, version))
        return CODEV_E_INTERNAL;
    if (*version > STORE_SCHEMA_LATEST)
        return CODEV_E_INTERNAL; /* made by a newer codevd: do not touch it */
    while (*version < target) {
        if (db->be->begin(db) ||
            store_db_exec(db, "UPDATE schema_version SET version = version") ||
            schema_version_get(db, version)) {
            db->be->rollback(db);
            return CODEV_E_INTERNAL;
        }
        if (*version >= target) {
            db->be->rollback(db);
            break;
        }
        snprintf(sql, sizeof(sql),
                 "DELETE FROM schema_version; INSERT INTO schema_version "
                 "VALUES (%d);",
                 *version + 1);
        if (store_db_exec(db, db->be->migration(*version)) || store_db_exec(db, sql) ||
            db->be->commit(db)) {
            db->be->rollback(db);
            return CODEV_E_INTERNAL;
        }
        (*version)++;
    }
    return 0;
}

int store_schema_version(const struct store *s)
{
    return s->version;
}

int store_schema_version_latest(void)
{
    return STORE_SCHEMA_LATEST;
}
