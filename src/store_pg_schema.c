/*
 * store_pg_schema.c - the schema of codevd's PostgreSQL database: the same
 * numbered migrations as store_schema.c (SQLite), in PostgreSQL's DDL, run
 * by the same runner (store_schema_migrate) into the same schema_version
 * table.
 *
 * Invariants:
 *   - migrations[i] here and there take the schema from version i to
 *     i + 1 with the same tables, columns and constraints; store_open
 *     refuses a backend whose count differs, and a migration added to one
 *     is added to the other under the same number.
 *   - The translation: INTEGER is BIGINT (milliseconds overflow int4),
 *     BLOB is BYTEA, journal.id is a BIGSERIAL, and groups, sessions and
 *     drafts have a BIGSERIAL column named rowid (SQLite's implicit one,
 *     which the neutral SQL orders by: insertion order).
 *   - A released migration is never edited; a change is a new migration.
 *   - PostgreSQL's planner statistics (pg_statistic: most common values,
 *     histogram bounds) keep samples of column values, and a deletion does
 *     not remove them: what members wrote would outlive its retention
 *     there. So no text or bytea column other than the ids (`id`, `*_id`)
 *     has statistics (SET STATISTICS 0, migration 12); a migration that
 *     adds such a column sets it too (test_store checks every column).
 *
 * Expected load: once at start-up; a migration runs once per database.
 */
#include "store_internal.h"

// clang-format off
static const char *const migrations[] = {
    /* 1: the base schema. */
    "CREATE TABLE groups ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  language TEXT NOT NULL,"
    "  format BIGINT NOT NULL,"
    "  facilitator TEXT NOT NULL,"
    "  invite_hash BYTEA NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  rowid BIGSERIAL);"
    "CREATE TABLE members ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  ordinal BIGINT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  key_hash BYTEA NOT NULL,"
    "  observer BIGINT NOT NULL DEFAULT 0,"
    "  removed BIGINT NOT NULL DEFAULT 0,"
    "  UNIQUE (group_id, ordinal));"
    "CREATE TABLE plans ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  ordinal BIGINT NOT NULL,"
    "  client TEXT NOT NULL REFERENCES members(id),"
    "  session_id TEXT,"
    "  consultation BIGINT,"
    "  text TEXT NOT NULL,"
    "  due TEXT,"
    "  outcome BIGINT,"
    "  comment TEXT,"
    "  debriefed BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  opened_ms BIGINT NOT NULL,"
    "  closed_ms BIGINT,"
    "  budgets TEXT NOT NULL,"
    "  limits TEXT NOT NULL,"
    "  opening_planned_ms BIGINT,"
    "  opening_used_ms BIGINT,"
    "  rowid BIGSERIAL);"
    "CREATE TABLE journal ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  kind BIGINT NOT NULL,"
    "  member TEXT NOT NULL,"
    "  member_idx BIGINT,"
    "  name TEXT, facilitator BIGINT, observer BIGINT,"
    "  cmd TEXT, cmd_id TEXT, text TEXT, due TEXT, target TEXT, ref TEXT,"
    "  card BIGINT, seconds BIGINT, variant BIGINT, flag BIGINT,"
    "  at_ms BIGINT, seq BIGINT);"
    "CREATE INDEX journal_session ON journal(session_id, id);"
    "CREATE TABLE consultations ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  idx BIGINT NOT NULL,"
    "  client TEXT,"
    "  facilitator TEXT,"
    "  PRIMARY KEY (session_id, idx));"
    "CREATE TABLE consultation_steps ("
    "  session_id TEXT NOT NULL,"
    "  idx BIGINT NOT NULL,"
    "  step TEXT NOT NULL,"
    "  planned_ms BIGINT NOT NULL,"
    "  used_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (session_id, idx, step),"
    "  FOREIGN KEY (session_id, idx) REFERENCES consultations(session_id, idx));"
    "CREATE TABLE cases ("
    "  session_id TEXT NOT NULL,"
    "  idx BIGINT NOT NULL,"
    "  client TEXT NOT NULL REFERENCES members(id),"
    "  problem TEXT,"
    "  contract TEXT,"
    "  PRIMARY KEY (session_id, idx),"
    "  FOREIGN KEY (session_id, idx) REFERENCES consultations(session_id, idx));"
    "CREATE INDEX cases_client ON cases(client);"
    "CREATE TABLE case_items ("
    "  session_id TEXT NOT NULL,"
    "  idx BIGINT NOT NULL,"
    "  card BIGINT NOT NULL,"
    "  variant BIGINT NOT NULL,"
    "  marked BIGINT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  PRIMARY KEY (session_id, card),"
    "  FOREIGN KEY (session_id, idx) REFERENCES cases(session_id, idx));"
    "CREATE TABLE notebook ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  card BIGINT NOT NULL,"
    "  member TEXT NOT NULL REFERENCES members(id),"
    "  type TEXT NOT NULL,"
    "  variant BIGINT NOT NULL,"
    "  step TEXT NOT NULL,"
    "  idx BIGINT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  PRIMARY KEY (session_id, card));"
    "CREATE INDEX notebook_member ON notebook(member, created_ms);",

    /* 2: retention, indexes for loading and the history view. */
    "ALTER TABLE groups ADD COLUMN retention TEXT NOT NULL DEFAULT 'personal'"
    "  CHECK (retention IN ('personal', 'keep'));"
    "ALTER TABLE sessions ADD COLUMN retention TEXT"
    "  CHECK (retention IN ('personal', 'keep'));"
    "CREATE INDEX sessions_group ON sessions(group_id, opened_ms);"
    "CREATE INDEX sessions_open ON sessions(opened_ms) WHERE closed_ms IS NULL;"
    "CREATE INDEX plans_group ON plans(group_id, ordinal);"
    "CREATE INDEX plans_client ON plans(client);",

    /* 3: a group's last activity; who was in each closed session. */
    "ALTER TABLE groups ADD COLUMN active_ms BIGINT;"
    "UPDATE groups SET active_ms = created_ms;"
    "ALTER TABLE sessions ADD COLUMN closed_seq BIGINT;"
    "ALTER TABLE sessions ADD COLUMN closed_cards BIGINT;"
    "CREATE TABLE session_members ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  idx BIGINT NOT NULL,"
    "  member TEXT NOT NULL,"
    "  facilitator BIGINT NOT NULL,"
    "  observer BIGINT NOT NULL,"
    "  removed BIGINT NOT NULL,"
    "  PRIMARY KEY (session_id, idx));",

    /* 4: who created each group (its address key). */
    "ALTER TABLE groups ADD COLUMN creator TEXT;",

    /* 5: the SHA-256 of the group's display token. */
    "ALTER TABLE groups ADD COLUMN display_hash BYTEA"
    "  CHECK (display_hash IS NULL OR length(display_hash) = 32);",

    /* 6: the floor: the next round's start, each closed session's balance. */
    "ALTER TABLE groups ADD COLUMN round_last TEXT;"
    "CREATE TABLE session_floor ("
    "  session_id TEXT NOT NULL REFERENCES sessions(id),"
    "  member TEXT NOT NULL,"
    "  step TEXT NOT NULL,"
    "  floor_ms BIGINT NOT NULL,"
    "  turns BIGINT NOT NULL,"
    "  passes BIGINT NOT NULL,"
    "  PRIMARY KEY (session_id, member, step));",

    /* 7: the warning before a step's time is up, in seconds. */
    "ALTER TABLE groups ADD COLUMN warn_before_s BIGINT NOT NULL DEFAULT 60;",

    /* 8: the group between sessions (hub_life.c). */
    "ALTER TABLE groups ADD COLUMN time_zone TEXT;"
    "ALTER TABLE groups ADD COLUMN next_date TEXT;"
    "ALTER TABLE groups ADD COLUMN next_time TEXT;"
    "ALTER TABLE groups ADD COLUMN next_duration BIGINT;"
    "ALTER TABLE groups ADD COLUMN next_link TEXT;"
    "ALTER TABLE groups ADD COLUMN next_start_ms BIGINT;"
    "ALTER TABLE groups ADD COLUMN next_slot BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE groups ADD COLUMN next_sequence BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE rota ("
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  idx BIGINT NOT NULL,"
    "  client TEXT,"
    "  facilitator TEXT,"
    "  PRIMARY KEY (group_id, idx));"
    "CREATE TABLE proposals ("
    "  id TEXT PRIMARY KEY,"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  ordinal BIGINT NOT NULL,"
    "  author TEXT NOT NULL REFERENCES members(id),"
    "  title TEXT NOT NULL,"
    "  text TEXT,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  during TEXT,"
    "  chosen TEXT);"
    "CREATE INDEX proposals_group ON proposals(group_id, ordinal);"
    "CREATE TABLE drafts ("
    "  author TEXT PRIMARY KEY REFERENCES members(id),"
    "  group_id TEXT NOT NULL REFERENCES groups(id),"
    "  text TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  rowid BIGSERIAL);"
    "CREATE INDEX drafts_group ON drafts(group_id);"
    "ALTER TABLE plans ADD COLUMN pre_outcome BIGINT;"
    "ALTER TABLE plans ADD COLUMN pre_comment TEXT;",

    /* 9: an action's first step; what the client retains; role labels. */
    "ALTER TABLE journal ADD COLUMN first_step TEXT;"
    "ALTER TABLE plans ADD COLUMN first_step TEXT;"
    "ALTER TABLE cases ADD COLUMN retained TEXT;"
    "ALTER TABLE members ADD COLUMN form TEXT NOT NULL DEFAULT 'n'"
    "  CHECK (form IN ('n', 'f', 'm'));",

    /* 10: the group's settings page: the session template, ground rules. */
    "ALTER TABLE groups ADD COLUMN step_minutes TEXT;"
    "ALTER TABLE groups ADD COLUMN ground_rules TEXT;",

    /* 11: group leases with a fencing epoch (store_lease.c). */
    "CREATE TABLE group_lease ("
    "  group_id TEXT PRIMARY KEY,"
    "  node_id TEXT NOT NULL,"
    "  epoch BIGINT NOT NULL,"
    "  expires_ms BIGINT NOT NULL,"
    "  renewed_ms BIGINT NOT NULL);",

    /* 12: no planner statistics on what members write (see the top): every
     * text or bytea column but the ids. ANALYZE (autovacuum's too) then
     * samples none of it, so a retention deletion leaves no copy in
     * pg_statistic. */
    "DO $$ DECLARE c record; BEGIN"
    "  FOR c IN SELECT table_name, column_name FROM information_schema.columns"
    "            WHERE table_schema = current_schema()"
    "              AND data_type IN ('text', 'bytea')"
    "              AND column_name <> 'id' AND column_name NOT LIKE '%\\_id' LOOP"
    "    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS 0',"
    "                   c.table_name, c.column_name);"
    "  END LOOP;"
    "END $$;",

    /* 13: the journal's bulk-built session index (store_schema.c). The
     * PostgreSQL backend keeps journal_session, appends in one statement
     * per batch and never folds: journal_by_session stays empty and
     * journal_indexed.upto 0, so the neutral SQL finds every row through
     * "id > upto AND session_id = ?", on journal_session. */
    "CREATE TABLE journal_by_session ("
    "  session_id TEXT NOT NULL,"
    "  id BIGINT NOT NULL,"
    "  PRIMARY KEY (session_id, id));"
    "CREATE TABLE journal_indexed (upto BIGINT NOT NULL);"
    "INSERT INTO journal_indexed VALUES (0);",
};
// clang-format on

#define PG_SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

const char *store_schema_pg(int i)
{
    return i >= 0 && i < PG_SCHEMA_LATEST ? migrations[i] : NULL;
}
