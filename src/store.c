/*
 * store.c - SQLite durability: schema and migrations, the writer thread
 * with group commit, the journal and its replay, retention at close, and
 * the reads behind exports (see store.h).
 *
 * Invariants:
 *   - Two connections. `w` belongs to the writer thread once store_open
 *     returned, except in store_load, which runs on the main thread before
 *     anything was submitted (the writer is then idle in its condition
 *     wait; the mutex hand-off orders the two). `r` is read-only and used
 *     under read_mu by the export reads.
 *   - Records are committed in submission order: the writer takes the whole
 *     pending list, writes it in one transaction (each record inside its own
 *     savepoint, so that one failing record fails alone), commits, and
 *     appends the list to the done list, which store_drain empties in order.
 *   - in_flight (submitted and not yet drained) never exceeds queue_max; it
 *     is only read and written by the submitting thread.
 *   - The journal of a session is ordered by journal.id (a rowid: a new row
 *     always gets an id above every existing row). Command types are stored
 *     by wire name, so that reordering enum room_cmd_type never corrupts a
 *     journal.
 *   - Text leaves the journal only at a session's close: what each person
 *     keeps is copied into cases, case_items and notebook, and under
 *     retention "personal" the journal rows are deleted (secure_delete
 *     zeroes them) and the WAL is checkpointed and truncated before the
 *     close is reported as committed.
 *
 * Expected load: a few thousand records per second at most; a commit costs
 * one fsync (synchronous=FULL) whatever the number of records it carries.
 * Replays are O(journal) and happen at start-up, at a close and for minutes.
 */
#include "store.h"

#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "array.h"
#include "errors.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_PATH_MAX        4096

/* Journal record kinds (journal.kind). */
enum store_journal_kind {
    JOURNAL_MEMBER = 1,  /* a member added to the room (opening or a join) */
    JOURNAL_DEBRIEF = 2, /* an earlier plan item given to the room */
    JOURNAL_CMD = 3      /* an accepted command */
};

/*
 * The migrations, in order: migrations[i] takes the schema from version i to
 * version i + 1. Never edit a released migration; append a new one.
 */
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
};

#define STORE_SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Statements the writer runs for every record, prepared once. */
enum store_stmt {
    ST_GROUP_UPSERT,
    ST_MEMBER_UPSERT,
    ST_PLAN_UPSERT,
    ST_SESSION_INSERT,
    ST_JOURNAL_INSERT,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_GROUP_UPSERT] =
        "INSERT INTO groups (id, name, language, format, facilitator, invite_hash, "
        "retention,"
        " created_ms, active_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, language = "
        "excluded.language,"
        " format = excluded.format, facilitator = excluded.facilitator,"
        " invite_hash = excluded.invite_hash, retention = excluded.retention,"
        " active_ms = excluded.active_ms",
    [ST_MEMBER_UPSERT] =
        "INSERT INTO members (id, group_id, ordinal, name, key_hash, observer, removed)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, key_hash = "
        "excluded.key_hash,"
        " observer = excluded.observer, removed = excluded.removed",
    [ST_PLAN_UPSERT] =
        "INSERT INTO plans (id, group_id, ordinal, client, session_id, consultation, "
        "text, due,"
        " debriefed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (id) DO UPDATE SET debriefed = max(debriefed, excluded.debriefed)",
    [ST_SESSION_INSERT] =
        "INSERT INTO sessions (id, group_id, opened_ms, budgets, limits)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_JOURNAL_INSERT] =
        "INSERT INTO journal (session_id, kind, member, member_idx, name, facilitator, "
        "observer,"
        " cmd, cmd_id, text, due, target, ref, card, seconds, variant, flag, at_ms, seq)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
        "?17,"
        " ?18, ?19)",
    [ST_SAVEPOINT] = "SAVEPOINT rec",
    [ST_RELEASE] = "RELEASE rec",
    [ST_ROLLBACK_TO] = "ROLLBACK TO rec",
};

/* ---- records ------------------------------------------------------------- */

enum store_rec_kind {
    REC_GROUP,
    REC_SESSION_OPEN,
    REC_MEMBER_JOIN,
    REC_CMD,
    REC_SESSION_CLOSE,
    REC_GROUP_DELETE
};

struct snap_member {
    char id[AUTH_UUID_LEN + 1];
    char *name;
    uint8_t key_hash[AUTH_HASH_LEN];
    bool observer, removed;
};

struct snap_plan {
    char id[AUTH_UUID_LEN + 1];
    char client[AUTH_UUID_LEN + 1];
    char session[AUTH_UUID_LEN + 1];
    int consultation;
    char *text, *due;
    bool debriefed;
};

/* A copy of a group's durable state, written with upserts. */
struct group_snap {
    char id[AUTH_UUID_LEN + 1];
    char *name;
    char language[3];
    int format;
    char facilitator[AUTH_UUID_LEN + 1];
    uint8_t invite_hash[AUTH_HASH_LEN];
    int retention;
    int64_t now_ms; /* created_ms when the group is new */
    struct snap_member *members;
    size_t nmembers;
    struct snap_plan *plans;
    size_t nplans;
};

struct snap_room_member {
    char id[AUTH_UUID_LEN + 1];
    char *name;
    bool facilitator, observer;
};

struct snap_debrief {
    char id[AUTH_UUID_LEN + 1];
    char client[AUTH_UUID_LEN + 1];
    char *text, *due;
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
    const char *text, *due, *target, *ref;
    uint32_t card;
    int64_t seconds;
    int variant;
    bool flag;
};

struct store_rec {
    struct store_rec *next;
    enum store_rec_kind kind;
    uint64_t token;
    int rc;                             /* set by the writer */
    char session_id[AUTH_UUID_LEN + 1]; /* MEMBER_JOIN (journaled), CMD, SESSION_CLOSE */
    char group_id[AUTH_UUID_LEN + 1];   /* GROUP_DELETE */
    int64_t at_ms;                      /* MEMBER_JOIN, SESSION_CLOSE */
    struct group_snap *group;           /* GROUP, MEMBER_JOIN, SESSION_CLOSE */
    struct session_snap *session;       /* SESSION_OPEN */
    struct snap_room_member joined;     /* MEMBER_JOIN when session_id[0] */
    struct cmd_snap cmd;                /* CMD */
    char tail[];                        /* CMD: the command's strings */
};

struct store {
    sqlite3 *w;                    /* the writer's connection */
    sqlite3 *r;                    /* read-only connection, under read_mu */
    sqlite3_stmt *stmts[ST_COUNT]; /* on w */
    int version;
    uint32_t queue_max;
    void (*wake)(void *arg);
    void *wake_arg;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;     /* guards everything down to `written` */
    pthread_cond_t work_cv; /* signalled when a record is queued or at stop */
    pthread_cond_t done_cv; /* broadcast after each commit (store_flush) */
    struct store_rec *pending, *pending_tail;
    struct store_rec *done, *done_tail;
    uint64_t submitted; /* records queued, ever */
    uint64_t written;   /* records committed or failed, ever */
    bool stopping;

    bool checkpoint_wanted; /* writer (or load) only: deleted text to truncate away */
    size_t in_flight;       /* submitting thread only */
    pthread_mutex_t read_mu;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Copies a NUL-terminated id into a UUID-sized buffer (truncating). */
static void id_copy(char dst[AUTH_UUID_LEN + 1], const char *src)
{
    snprintf(dst, AUTH_UUID_LEN + 1, "%s", src ? src : "");
}

static void group_snap_free(struct group_snap *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nmembers; i++)
        free(g->members[i].name);
    for (size_t i = 0; i < g->nplans; i++) {
        free(g->plans[i].text);
        free(g->plans[i].due);
    }
    free(g->members);
    free(g->plans);
    free(g->name);
    free(g);
}

/* Returns a new copy of g's durable state, or NULL on allocation failure. */
static struct group_snap *group_snap_new(const struct hub_group *g, int64_t now_ms)
{
    struct group_snap *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    id_copy(s->id, g->id);
    memcpy(s->language, g->language, sizeof(s->language));
    s->language[2] = '\0';
    s->format = g->format;
    id_copy(s->facilitator, g->facilitator);
    memcpy(s->invite_hash, g->invite_hash, AUTH_HASH_LEN);
    s->retention = (int)g->retention;
    s->now_ms = now_ms;
    s->name = strdup(g->name);
    s->members = calloc(g->nmembers ? g->nmembers : 1, sizeof(*s->members));
    s->plans = calloc(g->nplans ? g->nplans : 1, sizeof(*s->plans));
    if (!s->name || !s->members || !s->plans)
        goto fail;
    for (size_t i = 0; i < g->nmembers; i++, s->nmembers++) {
        struct snap_member *m = &s->members[i];
        id_copy(m->id, g->members[i].id);
        memcpy(m->key_hash, g->members[i].key_hash, AUTH_HASH_LEN);
        m->observer = g->members[i].observer;
        m->removed = g->members[i].removed;
        m->name = strdup(g->members[i].name);
        if (!m->name)
            goto fail;
    }
    for (size_t i = 0; i < g->nplans; i++, s->nplans++) {
        const struct hub_plan *src = &g->plans[i];
        struct snap_plan *p = &s->plans[i];
        id_copy(p->id, src->id);
        id_copy(p->client, src->client);
        id_copy(p->session, src->session);
        p->consultation = src->session[0] ? src->consultation : -1;
        p->debriefed = src->debriefed;
        p->text = strdup(src->text);
        p->due = dup_or_null(src->due);
        if (!p->text || (src->due && !p->due)) {
            free(p->text);
            free(p->due);
            goto fail;
        }
    }
    return s;
fail:
    group_snap_free(s);
    return NULL;
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
    id_copy(s->id, r->session_id);
    id_copy(s->group, g->id);
    s->created_ms = r->created_ms;
    memcpy(s->budget_ms, r->budget_ms, sizeof(s->budget_ms));
    s->limits = r->limits;
    s->members = calloc(r->nmembers ? r->nmembers : 1, sizeof(*s->members));
    s->debriefs = calloc(r->ndebriefs ? r->ndebriefs : 1, sizeof(*s->debriefs));
    if (!s->members || !s->debriefs)
        goto fail;
    for (size_t i = 0; i < r->nmembers; i++, s->nmembers++) {
        struct snap_room_member *m = &s->members[i];
        id_copy(m->id, r->members[i].id);
        m->facilitator = (int)i == r->facilitator;
        m->observer = r->members[i].observer;
        m->name = strdup(r->members[i].name);
        if (!m->name)
            goto fail;
    }
    for (size_t i = 0; i < r->ndebriefs; i++, s->ndebriefs++) {
        const struct room_debrief *src = &r->debriefs[i];
        struct snap_debrief *d = &s->debriefs[i];
        id_copy(d->id, src->id);
        id_copy(d->client, r->members[src->client].id);
        d->text = strdup(src->text);
        d->due = dup_or_null(src->due);
        if (!d->text || (src->due && !d->due)) {
            free(d->text);
            free(d->due);
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
    group_snap_free(rec->group);
    session_snap_free(rec->session);
    free(rec->joined.name);
    free(rec);
}

static void rec_list_free(struct store_rec *rec)
{
    while (rec) {
        struct store_rec *next = rec->next;
        rec_free(rec);
        rec = next;
    }
}

/* ---- SQLite helpers --------------------------------------------------------- */

static int db_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : CODEV_E_INTERNAL;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no row, then resets it and clears its
 * bindings. Returns 0, or CODEV_E_INTERNAL when bind_rc (the OR of the bind
 * results) or the step failed. */
static int stmt_run(sqlite3_stmt *st, int bind_rc)
{
    int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : CODEV_E_INTERNAL;
}

/* Prepares a one-off statement. Returns it, or NULL. */
static sqlite3_stmt *stmt_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* The writer's cached statement id, prepared on first use (NULL on error). */
static sqlite3_stmt *stmt_get(struct store *s, enum store_stmt id)
{
    if (!s->stmts[id] &&
        sqlite3_prepare_v3(s->w, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                           &s->stmts[id], NULL) != SQLITE_OK) {
        sqlite3_finalize(s->stmts[id]);
        s->stmts[id] = NULL;
    }
    return s->stmts[id];
}

static int stmt_simple(struct store *s, enum store_stmt id)
{
    sqlite3_stmt *st = stmt_get(s, id);

    return st ? stmt_run(st, SQLITE_OK) : CODEV_E_INTERNAL;
}

/* Applies the connection settings every codevd connection has. */
static int db_configure(sqlite3 *db, bool writer, bool sync_normal)
{
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    if (db_exec(db, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"))
        return CODEV_E_INTERNAL;
    if (!writer)
        return 0;
    /* The journal index is ordered by session: with thousands of sessions
     * live, each group commit touches pages all over it. A page cache that
     * holds more of it saves re-reading them (measured at 18,000 posts/s,
     * pread: 6.8% of the CPU with SQLite's default 2 MB, 3.4% with 8 MB).
     * A checkpoint every 4000 WAL pages (16 MB) instead of 1000 copies the
     * hot pages (index leaves, the table's last page) back once for four
     * times as many commits. */
    if (db_exec(db, "PRAGMA cache_size = -8192;") ||
        db_exec(db, "PRAGMA wal_autocheckpoint = 4000;") ||
        db_exec(db, "PRAGMA journal_mode = WAL;") ||
        db_exec(db, sync_normal ? "PRAGMA synchronous = NORMAL;"
                                : "PRAGMA synchronous = FULL;"))
        return CODEV_E_INTERNAL;
    return 0;
}

/* ---- schema ----------------------------------------------------------------- */

static int schema_version_get(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = stmt_prepare(db, "SELECT max(version) FROM schema_version");
    int rc = CODEV_E_INTERNAL;

    if (!st)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Applies migrations version+1 .. target, each in its own transaction. */
static int schema_migrate(sqlite3 *db, int target, int *version)
{
    char sql[96];

    if (db_exec(db,
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") ||
        schema_version_get(db, version))
        return CODEV_E_INTERNAL;
    if (*version > STORE_SCHEMA_LATEST)
        return CODEV_E_INTERNAL; /* made by a newer codevd: do not touch it */
    while (*version < target) {
        snprintf(sql, sizeof(sql),
                 "DELETE FROM schema_version; INSERT INTO schema_version "
                 "VALUES (%d);",
                 *version + 1);
        if (db_exec(db, "BEGIN IMMEDIATE"))
            return CODEV_E_INTERNAL;
        if (db_exec(db, migrations[*version]) || db_exec(db, sql) ||
            db_exec(db, "COMMIT")) {
            db_exec(db, "ROLLBACK");
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

/* ---- writing records (writer connection) ------------------------------------- */

static int write_group(struct store *s, const struct group_snap *g)
{
    sqlite3_stmt *st = stmt_get(s, ST_GROUP_UPSERT);
    int b, rc;

    if (!st)
        return CODEV_E_INTERNAL;
    b = sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 3, g->language, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 4, g->format) |
        sqlite3_bind_text(st, 5, g->facilitator, -1, SQLITE_STATIC) |
        sqlite3_bind_blob(st, 6, g->invite_hash, AUTH_HASH_LEN, SQLITE_STATIC) |
        bind_text(st, 7, hub_retention_name(g->retention)) |
        sqlite3_bind_int64(st, 8, g->now_ms);
    rc = stmt_run(st, b);
    if (rc)
        return rc;
    st = stmt_get(s, ST_MEMBER_UPSERT);
    for (size_t i = 0; st && i < g->nmembers; i++) {
        const struct snap_member *m = &g->members[i];
        b = sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC) |
            sqlite3_bind_text(st, 2, g->id, -1, SQLITE_STATIC) |
            sqlite3_bind_int64(st, 3, (int64_t)i) |
            sqlite3_bind_text(st, 4, m->name, -1, SQLITE_STATIC) |
            sqlite3_bind_blob(st, 5, m->key_hash, AUTH_HASH_LEN, SQLITE_STATIC) |
            sqlite3_bind_int(st, 6, m->observer) | sqlite3_bind_int(st, 7, m->removed);
        rc = stmt_run(st, b);
        if (rc)
            return rc;
    }
    if (!st)
        return CODEV_E_INTERNAL;
    st = stmt_get(s, ST_PLAN_UPSERT);
    for (size_t i = 0; st && i < g->nplans; i++) {
        const struct snap_plan *p = &g->plans[i];
        b = sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC) |
            sqlite3_bind_text(st, 2, g->id, -1, SQLITE_STATIC) |
            sqlite3_bind_int64(st, 3, (int64_t)i) |
            sqlite3_bind_text(st, 4, p->client, -1, SQLITE_STATIC) |
            bind_text(st, 5, p->session[0] ? p->session : NULL) |
            (p->session[0] ? sqlite3_bind_int(st, 6, p->consultation)
                           : sqlite3_bind_null(st, 6)) |
            sqlite3_bind_text(st, 7, p->text, -1, SQLITE_STATIC) |
            bind_text(st, 8, p->due) | sqlite3_bind_int(st, 9, p->debriefed);
        rc = stmt_run(st, b);
        if (rc)
            return rc;
    }
    return st ? 0 : CODEV_E_INTERNAL;
}

static int write_journal_member(struct store *s, const char *session_id,
                                const struct snap_room_member *m, int64_t at_ms)
{
    sqlite3_stmt *st = stmt_get(s, ST_JOURNAL_INSERT);
    int b;

    if (!st)
        return CODEV_E_INTERNAL;
    b = sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 2, JOURNAL_MEMBER) |
        sqlite3_bind_text(st, 3, m->id, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 5, m->name, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 6, m->facilitator) | sqlite3_bind_int(st, 7, m->observer) |
        sqlite3_bind_int64(st, 18, at_ms);
    return stmt_run(st, b);
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
    rc = stmt_run(st, b);
    for (size_t i = 0; !rc && i < ss->nmembers; i++)
        rc = write_journal_member(s, ss->id, &ss->members[i], ss->created_ms);
    st = stmt_get(s, ST_JOURNAL_INSERT);
    for (size_t i = 0; !rc && st && i < ss->ndebriefs; i++) {
        const struct snap_debrief *d = &ss->debriefs[i];
        b = sqlite3_bind_text(st, 1, ss->id, -1, SQLITE_STATIC) |
            sqlite3_bind_int(st, 2, JOURNAL_DEBRIEF) |
            sqlite3_bind_text(st, 3, d->client, -1, SQLITE_STATIC) |
            sqlite3_bind_text(st, 10, d->text, -1, SQLITE_STATIC) |
            bind_text(st, 11, d->due) |
            sqlite3_bind_text(st, 13, d->id, -1, SQLITE_STATIC);
        rc = stmt_run(st, b);
    }
    return st ? rc : CODEV_E_INTERNAL;
}

static int write_cmd(struct store *s, const char *session_id, const struct cmd_snap *c)
{
    sqlite3_stmt *st = stmt_get(s, ST_JOURNAL_INSERT);
    int b;

    if (!st)
        return CODEV_E_INTERNAL;
    b = sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 2, JOURNAL_CMD) |
        sqlite3_bind_text(st, 3, c->member_id, -1, SQLITE_STATIC) |
        sqlite3_bind_int(st, 4, c->member) |
        sqlite3_bind_text(st, 8, room_cmd_name(c->type), -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 9, c->id, -1, SQLITE_STATIC) | bind_text(st, 10, c->text) |
        bind_text(st, 11, c->due) | bind_text(st, 12, c->target) |
        bind_text(st, 13, c->ref) | sqlite3_bind_int64(st, 14, c->card) |
        sqlite3_bind_int64(st, 15, c->seconds) | sqlite3_bind_int(st, 16, c->variant) |
        sqlite3_bind_int(st, 17, c->flag) | sqlite3_bind_int64(st, 18, c->now_ms) |
        sqlite3_bind_int64(st, 19, (int64_t)c->seq);
    return stmt_run(st, b);
}

/* ---- replay ------------------------------------------------------------------- */

/* A session rebuilt from its journal. */
struct replay {
    struct room *room; /* owned by the replay until taken */
    char group_id[AUTH_UUID_LEN + 1];
    int64_t opened_ms;
    bool closed;     /* sessions.closed_ms is set */
    int64_t last_ms; /* instant of the last command, or opened_ms */
    size_t records, mismatches;
    char (*facilitators)[AUTH_UUID_LEN + 1]; /* per consultation, when it began */
    size_t nfacilitators, facilitators_cap;
};

static void replay_release(struct replay *rp)
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

/* Applies one journal row (the columns of the SELECT in store_replay). */
static void replay_row(struct replay *rp, sqlite3_stmt *st)
{
    struct room *r = rp->room;
    int kind = sqlite3_column_int(st, 0);
    const char *member = col_text(st, 1);
    struct room_cmd cmd;
    uint64_t seq = 0;
    bool dup = false;
    int idx, type, rc;

    rp->records++;
    if (kind == JOURNAL_MEMBER) {
        rc = room_member_add(r, member, col_text(st, 3), sqlite3_column_int(st, 4) != 0,
                             sqlite3_column_int(st, 5) != 0);
        rp->mismatches += rc < 0;
        return;
    }
    if (kind == JOURNAL_DEBRIEF) {
        rc = room_debrief_add(r, col_text(st, 11), member, col_text(st, 8),
                              col_text(st, 9));
        rp->mismatches += rc < 0;
        return;
    }
    idx = sqlite3_column_int(st, 2);
    type = room_cmd_from_name(col_text(st, 6));
    if (kind != JOURNAL_CMD || type < 0 || idx < 0 || (size_t)idx >= r->nmembers ||
        !member || strcmp(r->members[idx].id, member) != 0) {
        rp->mismatches++;
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = (enum room_cmd_type)type;
    snprintf(cmd.id, sizeof(cmd.id), "%s", col_text(st, 7) ? col_text(st, 7) : "");
    cmd.text = col_text(st, 8);
    cmd.due = col_text(st, 9);
    cmd.target = col_text(st, 10);
    cmd.ref = col_text(st, 11);
    cmd.card = (uint32_t)sqlite3_column_int64(st, 12);
    cmd.seconds = sqlite3_column_int64(st, 13);
    cmd.variant = sqlite3_column_int(st, 14);
    cmd.flag = sqlite3_column_int(st, 15) != 0;
    rp->last_ms = sqlite3_column_int64(st, 16);
    rc = room_apply(r, idx, &cmd, rp->last_ms, &seq, &dup);
    room_outbox_clear(r);
    if (rc || dup || seq != (uint64_t)sqlite3_column_int64(st, 17))
        rp->mismatches++;
    while (rp->nfacilitators < r->nconsultations) {
        if (array_grow((void **)&rp->facilitators, &rp->facilitators_cap,
                       rp->nfacilitators + 1, sizeof(*rp->facilitators))) {
            rp->mismatches++;
            return;
        }
        id_copy(rp->facilitators[rp->nfacilitators++],
                r->facilitator >= 0 ? r->members[r->facilitator].id : "");
    }
}

/*
 * Rebuilds session_id's room from db into *rp (zeroed first). Returns 0,
 * CODEV_E_NOT_FOUND when there is no such session, or CODEV_E_INTERNAL.
 * On error *rp holds nothing.
 */
static int store_replay(sqlite3 *db, const char *session_id, struct replay *rp)
{
    sqlite3_stmt *st;
    int64_t budgets[STEP_COUNT];
    /* What the journal does not keep (the session budget) is 0: no limit,
     * for commands that were accepted live; hub_session_attach puts the
     * budget back on a room that goes on. */
    struct room_limits limits = {0};
    int rc = CODEV_E_INTERNAL, step;

    memset(rp, 0, sizeof(*rp));
    st = stmt_prepare(db,
                      "SELECT group_id, opened_ms, closed_ms IS NOT NULL, budgets, limits"
                      " FROM sessions WHERE id = ?1");
    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        rc = step == SQLITE_DONE ? CODEV_E_NOT_FOUND : CODEV_E_INTERNAL;
        goto out;
    }
    id_copy(rp->group_id, col_text(st, 0));
    rp->opened_ms = rp->last_ms = sqlite3_column_int64(st, 1);
    rp->closed = sqlite3_column_int(st, 2) != 0;
    if (parse_budgets(col_text(st, 3), budgets) || parse_limits(col_text(st, 4), &limits))
        goto out;
    rp->room = room_new(session_id, budgets, &limits, rp->opened_ms);
    if (!rp->room)
        goto out;
    sqlite3_finalize(st);
    st = stmt_prepare(
        db, "SELECT kind, member, member_idx, name, facilitator, observer, cmd,"
            " cmd_id, text, due, target, ref, card, seconds, variant, flag, at_ms,"
            " seq FROM journal WHERE session_id = ?1 ORDER BY id");
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        replay_row(rp, st);
    if (step != SQLITE_DONE)
        goto out;
    rc = 0;
out:
    sqlite3_finalize(st);
    if (rc)
        replay_release(rp);
    return rc;
}

/* ---- closing a session ----------------------------------------------------------- */

/* Runs sql (one statement) with the text/integer arguments given by fmt:
 * 't' text (may be NULL), 'i' int64. Returns 0 or CODEV_E_INTERNAL. */
static int db_run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = stmt_prepare(db, sql);
    va_list ap;
    int b = SQLITE_OK, rc;

    if (!st)
        return CODEV_E_INTERNAL;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 't')
            b |= bind_text(st, i + 1, va_arg(ap, const char *));
        else
            b |= sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
    }
    va_end(ap);
    rc = stmt_run(st, b);
    sqlite3_finalize(st);
    return rc;
}

/* Writes the history and the personal records of a replayed, closed room. */
static int finalize_records(sqlite3 *db, const char *sid, const struct replay *rp)
{
    const struct room *r = rp->room;
    int rc = 0;

    for (size_t i = 0; !rc && i < r->nmembers; i++)
        rc = db_run(db,
                    "INSERT OR REPLACE INTO session_members VALUES"
                    " (?1, ?2, ?3, ?4, ?5, ?6)",
                    "titiii", sid, (int64_t)i, r->members[i].id,
                    (int64_t)((int)i == r->facilitator), (int64_t)r->members[i].observer,
                    (int64_t)r->members[i].removed);

    for (size_t i = 0; !rc && i < r->nconsultations; i++) {
        const struct room_consultation *c = &r->consultations[i];
        const char *client = c->client >= 0 ? r->members[c->client].id : NULL;
        rc = db_run(db, "INSERT OR REPLACE INTO consultations VALUES (?1, ?2, ?3, ?4)",
                    "titt", sid, (int64_t)i, client,
                    i < rp->nfacilitators && rp->facilitators[i][0] ? rp->facilitators[i]
                                                                    : NULL);
        for (int k = STEP_TOPIC; !rc && k <= STEP_LEARNING; k++)
            rc = db_run(
                db,
                "INSERT OR REPLACE INTO consultation_steps VALUES (?1, ?2, ?3, ?4, ?5)",
                "titii", sid, (int64_t)i, step_name((enum step)k), c->step_budget_ms[k],
                c->step_used_ms[k]);
        if (!rc && client)
            rc = db_run(db, "INSERT OR REPLACE INTO cases VALUES (?1, ?2, ?3, ?4, ?5)",
                        "titt"
                        "t",
                        sid, (int64_t)i, client, c->problem, c->contract);
    }
    for (size_t i = 0; !rc && i < r->ncards; i++) {
        const struct room_card *c = &r->cards[i];
        if (c->type == CARD_CONTRIBUTION && c->consultation >= 0 &&
            r->consultations[c->consultation].client >= 0)
            rc = db_run(
                db, "INSERT OR REPLACE INTO case_items VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                "tiiiit", sid, (int64_t)c->consultation, (int64_t)c->id,
                (int64_t)c->variant, (int64_t)c->marked, c->text);
        else if (c->type == CARD_LEARNING || c->type == CARD_NOTE)
            rc = db_run(
                db,
                "INSERT OR REPLACE INTO notebook VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                " ?8, ?9)",
                "titt"
                "itiit",
                sid, (int64_t)c->id, r->members[c->author].id,
                room_card_type_name(c->type), (int64_t)c->variant, step_name(c->step),
                (int64_t)c->consultation, c->created_ms, c->text);
    }
    for (size_t i = 0; !rc && i < r->ndebriefs; i++) {
        const struct room_debrief *d = &r->debriefs[i];
        if (d->outcome >= 0)
            rc = db_run(db,
                        "UPDATE plans SET outcome = ?1, comment = ?2, debriefed = 1"
                        " WHERE id = ?3",
                        "itt", (int64_t)d->outcome, d->comment, d->id);
    }
    return rc;
}

/*
 * Closes session sid in db's open transaction: replays it, writes its
 * history and what each person keeps, then applies the retention (personal:
 * deletes the journal and asks for a truncating checkpoint). closed_ms < 0:
 * the instant of the last journaled command.
 */
static int store_session_finalize(struct store *s, sqlite3 *db, const char *sid,
                                  int retention, int64_t closed_ms)
{
    struct replay rp;
    int rc = store_replay(db, sid, &rp);

    if (rc)
        return rc;
    if (closed_ms < 0)
        closed_ms = rp.last_ms;
    rc = db_run(
        db,
        "UPDATE sessions SET closed_ms = ?1, retention = ?2, opening_planned_ms = ?3,"
        " opening_used_ms = ?4, closed_seq = ?6, closed_cards = ?7 WHERE id = ?5",
        "itiitii", closed_ms, hub_retention_name(retention), rp.room->opening_budget_ms,
        rp.room->opening_used_ms, sid, (int64_t)rp.room->seq, (int64_t)rp.room->ncards);
    if (!rc)
        rc = finalize_records(db, sid, &rp);
    if (!rc && retention == HUB_RETENTION_PERSONAL) {
        rc = db_run(db, "DELETE FROM journal WHERE session_id = ?1", "t", sid);
        s->checkpoint_wanted = true;
    }
    replay_release(&rp);
    return rc;
}

/*
 * Deletes every row of group_id: what its sessions left (journal, history,
 * cases, notebooks) and the group with its members and plans. secure_delete
 * zeroes the freed pages; the WAL is truncated after the commit.
 */
static int write_group_delete(struct store *s, const char *group_id)
{
    static const char *const sql[] = {
        "DELETE FROM journal WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM case_items WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM cases WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)"
        " OR client IN (SELECT id FROM members WHERE group_id = ?1)",
        "DELETE FROM notebook WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)"
        " OR member IN (SELECT id FROM members WHERE group_id = ?1)",
        "DELETE FROM consultation_steps WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM consultations WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM session_members WHERE session_id IN"
        " (SELECT id FROM sessions WHERE group_id = ?1)",
        "DELETE FROM plans WHERE group_id = ?1",
        "DELETE FROM sessions WHERE group_id = ?1",
        "DELETE FROM members WHERE group_id = ?1",
        "DELETE FROM groups WHERE id = ?1",
    };
    int rc = 0;

    for (size_t i = 0; !rc && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = db_run(s->w, sql[i], "t", group_id);
    s->checkpoint_wanted = true;
    return rc;
}

/* ---- the writer thread ------------------------------------------------------------- */

static int write_rec(struct store *s, struct store_rec *rec)
{
    int rc = 0;

    switch (rec->kind) {
    case REC_GROUP:
        return write_group(s, rec->group);
    case REC_SESSION_OPEN:
        return write_session_open(s, rec->session);
    case REC_MEMBER_JOIN:
        rc = write_group(s, rec->group);
        if (!rc && rec->session_id[0])
            rc = write_journal_member(s, rec->session_id, &rec->joined, rec->at_ms);
        return rc;
    case REC_CMD:
        return write_cmd(s, rec->session_id, &rec->cmd);
    case REC_SESSION_CLOSE:
        rc = write_group(s, rec->group);
        if (!rc)
            rc = store_session_finalize(s, s->w, rec->session_id, rec->group->retention,
                                        rec->at_ms);
        return rc;
    case REC_GROUP_DELETE:
        return write_group_delete(s, rec->group_id);
    }
    return CODEV_E_INTERNAL;
}

/* Writes a batch in one transaction, each record of several statements in
 * its own savepoint. Sets every rec->rc. */
static void write_batch(struct store *s, struct store_rec *batch)
{
    bool open = db_exec(s->w, "BEGIN IMMEDIATE") == 0, broken = false;

    for (struct store_rec *rec = batch; rec; rec = rec->next) {
        if (!open || broken) {
            rec->rc = CODEV_E_INTERNAL;
            continue;
        }
        if (rec->kind == REC_CMD) {
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
        /* An error that rolled the whole transaction back (I/O error,
         * disk full) leaves autocommit on: the batch is lost. */
        if (sqlite3_get_autocommit(s->w))
            broken = true;
    }
    if (open && !broken && db_exec(s->w, "COMMIT")) {
        db_exec(s->w, "ROLLBACK");
        broken = true;
    }
    if (broken)
        for (struct store_rec *rec = batch; rec; rec = rec->next)
            rec->rc = CODEV_E_INTERNAL;
    if (s->checkpoint_wanted &&
        sqlite3_wal_checkpoint_v2(s->w, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
            SQLITE_OK)
        s->checkpoint_wanted = false;
}

static void *store_writer_main(void *arg)
{
    struct store *s = arg;

    for (;;) {
        struct store_rec *batch, *tail;
        uint64_t n = 0;

        pthread_mutex_lock(&s->mu);
        while (!s->pending && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        batch = s->pending;
        tail = s->pending_tail;
        s->pending = s->pending_tail = NULL;
        pthread_mutex_unlock(&s->mu);
        if (!batch)
            break; /* stopping, and nothing left to write */

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
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
        if (s->wake)
            s->wake(s->wake_arg);
    }
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

/*
 * The database holds key hashes and what members wrote: only codevd's user
 * may read it. SQLite creates the -wal and -shm files with the mode of the
 * database file, so the database is created 0600 (umask 077 while it is
 * opened: the main thread, before any other thread of ours exists), and a
 * file made by an older codevd with a wider mode is narrowed.
 */
static void db_files_restrict(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char name[STORE_PATH_MAX + 8];

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        chmod(name, 0600); /* ENOENT for a -wal or -shm not made yet */
    }
}

static int db_open(const char *path, bool writer, bool sync_normal, sqlite3 **out)
{
    int flags =
        writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    mode_t mask = writer ? umask(077) : 0;
    int rc = 0;

    *out = NULL;
    if (sqlite3_open_v2(path, out, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        db_configure(*out, writer, sync_normal)) {
        sqlite3_close(*out);
        *out = NULL;
        rc = CODEV_E_INTERNAL;
    }
    if (writer) {
        umask(mask);
        db_files_restrict(path);
    }
    return rc;
}

int store_open(const struct store_options *opts, struct store **out)
{
    char path[STORE_PATH_MAX];
    struct store *s;
    int target, rc = CODEV_E_INTERNAL;

    *out = NULL;
    if (!opts || !opts->data_dir ||
        snprintf(path, sizeof(path), "%s/%s", opts->data_dir, STORE_FILE_NAME) >=
            (int)sizeof(path))
        return CODEV_E_INTERNAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return CODEV_E_INTERNAL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->read_mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    s->queue_max = opts->queue_max ? opts->queue_max : STORE_QUEUE_MAX_DEFAULT;
    s->wake = opts->wake;
    s->wake_arg = opts->wake_arg;
    target =
        opts->schema_version_max > 0 && opts->schema_version_max < STORE_SCHEMA_LATEST
            ? opts->schema_version_max
            : STORE_SCHEMA_LATEST;

    if (db_open(path, true, opts->sync_normal, &s->w) ||
        schema_migrate(s->w, target, &s->version) || db_open(path, false, false, &s->r))
        goto out;
    if (pthread_create(&s->thread, NULL, store_writer_main, s))
        goto out;
    s->thread_started = true;
    *out = s;
    rc = 0;
out:
    if (rc)
        store_close(s);
    return rc;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->work_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    rec_list_free(s->pending);
    rec_list_free(s->done);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    if (s->w && s->checkpoint_wanted)
        sqlite3_wal_checkpoint_v2(s->w, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(s->r);
    sqlite3_close(s->w);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->read_mu);
    free(s);
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
    if (!rec || !(rec->group = group_snap_new(g, now_ms))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
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
    if (!rec || !(rec->group = group_snap_new(g, now_ms)))
        goto fail;
    if (room_idx >= 0) {
        m = &g->room->members[room_idx];
        id_copy(rec->session_id, g->room->session_id);
        id_copy(rec->joined.id, m->id);
        rec->joined.observer = m->observer;
        rec->joined.facilitator = false;
        rec->joined.name = strdup(m->name);
        rec->at_ms = now_ms;
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
    size_t lt, ld, lg, lr;
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
    rec = rec_new(REC_CMD, lt + ld + lg + lr + 4);
    if (!rec)
        return CODEV_E_INTERNAL;
    id_copy(rec->session_id, r->session_id);
    c = &rec->cmd;
    c->member = member;
    id_copy(c->member_id, r->members[member].id);
    c->now_ms = now_ms;
    c->seq = seq;
    c->type = cmd->type;
    snprintf(c->id, sizeof(c->id), "%.*s", ROOM_CMD_ID_MAX, cmd->id);
    p = rec->tail;
    c->text = tail_copy(&p, cmd->text, lt);
    c->due = tail_copy(&p, cmd->due, ld);
    c->target = tail_copy(&p, cmd->target, lg);
    c->ref = tail_copy(&p, cmd->ref, lr);
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
    if (!rec || !(rec->group = group_snap_new(g, now_ms))) {
        rec_free(rec);
        return CODEV_E_INTERNAL;
    }
    id_copy(rec->session_id, g->room->session_id);
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
    id_copy(rec->group_id, group_id);
    return store_enqueue(s, rec, token);
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

/* ---- loading -------------------------------------------------------------------- */

static int load_groups(struct store *s, struct hub *h, struct store_load_report *rep)
{
    sqlite3_stmt *st =
        stmt_prepare(s->w, "SELECT id, name, language, format, facilitator,"
                           " invite_hash, retention, coalesce(active_ms, created_ms),"
                           " EXISTS (SELECT 1 FROM sessions WHERE group_id = groups.id)"
                           " FROM groups ORDER BY rowid");
    struct hub_group *g;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int retention = hub_retention_from_name(col_text(st, 6));
        if (sqlite3_column_bytes(st, 5) != AUTH_HASH_LEN || retention < 0) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        rc = hub_group_insert(h, col_text(st, 0), col_text(st, 1), col_text(st, 2),
                              sqlite3_column_int(st, 3), col_text(st, 4),
                              sqlite3_column_blob(st, 5), (enum hub_retention)retention,
                              &g);
        if (!rc) {
            g->active_ms = sqlite3_column_int64(st, 7);
            g->opened_once = sqlite3_column_int(st, 8) != 0;
        }
        rep->groups += rc == 0;
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc ? CODEV_E_INTERNAL : 0;
}

static int load_members(struct store *s, struct hub *h, struct store_load_report *rep)
{
    sqlite3_stmt *st =
        stmt_prepare(s->w, "SELECT group_id, id, name, key_hash, observer, removed"
                           " FROM members ORDER BY group_id, ordinal");
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct hub_group *g = hub_group_find(h, col_text(st, 0));
        if (!g || sqlite3_column_bytes(st, 3) != AUTH_HASH_LEN) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        rc = hub_member_insert(g, col_text(st, 1), col_text(st, 2),
                               sqlite3_column_blob(st, 3), sqlite3_column_int(st, 4) != 0,
                               sqlite3_column_int(st, 5) != 0);
        rc = rc < 0 ? rc : 0;
        rep->members += rc == 0;
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc ? CODEV_E_INTERNAL : 0;
}

static int load_plans(struct store *s, struct hub *h, struct store_load_report *rep)
{
    sqlite3_stmt *st =
        stmt_prepare(s->w, "SELECT group_id, id, client, text, due, debriefed,"
                           " session_id, consultation FROM plans"
                           " ORDER BY group_id, ordinal");
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct hub_group *g = hub_group_find(h, col_text(st, 0));
        struct hub_plan p;

        if (!g) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        memset(&p, 0, sizeof(p));
        id_copy(p.id, col_text(st, 1));
        id_copy(p.client, col_text(st, 2));
        p.text = (char *)col_text(st, 3);
        p.due = (char *)col_text(st, 4);
        p.debriefed = sqlite3_column_int(st, 5) != 0;
        id_copy(p.session, col_text(st, 6));
        p.consultation =
            sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
        rc = hub_plan_insert(g, &p);
        rep->plans += rc == 0;
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc ? CODEV_E_INTERNAL : 0;
}

/* Finalizes, at load, a session whose journal ends in its close. */
static int load_finalize(struct store *s, const struct hub_group *g, const char *sid,
                         int64_t now_ms)
{
    struct group_snap *snap = group_snap_new(g, now_ms);
    int rc = CODEV_E_INTERNAL;

    if (!snap || db_exec(s->w, "BEGIN IMMEDIATE"))
        goto out;
    rc = write_group(s, snap);
    if (!rc)
        rc = store_session_finalize(s, s->w, sid, g->retention, -1);
    if (rc || db_exec(s->w, "COMMIT")) {
        db_exec(s->w, "ROLLBACK");
        rc = CODEV_E_INTERNAL;
    }
out:
    group_snap_free(snap);
    return rc;
}

static int load_sessions(struct store *s, struct hub *h, int64_t now_ms,
                         struct store_load_report *rep)
{
    sqlite3_stmt *st =
        stmt_prepare(s->w, "SELECT id FROM sessions WHERE closed_ms IS NULL"
                           " ORDER BY opened_ms, rowid");
    char(*ids)[AUTH_UUID_LEN + 1] = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    /* Collect first: finalizing writes to the tables being read. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (array_grow((void **)&ids, &cap, n + 1, sizeof(*ids))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        id_copy(ids[n++], col_text(st, 0));
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);

    for (size_t i = 0; !rc && i < n; i++) {
        struct replay rp;
        struct hub_group *g;
        bool closed;

        rc = store_replay(s->w, ids[i], &rp);
        if (rc)
            break;
        rep->records_replayed += rp.records;
        rep->replay_mismatches += rp.mismatches;
        g = hub_group_find(h, rp.group_id);
        if (!g) {
            replay_release(&rp);
            rc = CODEV_E_INTERNAL;
            break;
        }
        closed = rp.room->step == STEP_CLOSED;
        g->room_active_ms = rp.last_ms;
        rc = hub_session_attach(h, g, rp.room);
        rp.room = NULL; /* the hub took it, also on error */
        replay_release(&rp);
        if (rc)
            break;
        hub_sync(h, g);
        if (closed) {
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
static int load_closed_parts(struct store *s, const struct hub_group *g, const char *sid,
                             struct hub_closed *c, struct hub_closed_member **ms,
                             struct hub_closed_consultation **ks)
{
    sqlite3_stmt *st = stmt_prepare(s->w, "SELECT member, facilitator, observer, removed"
                                          " FROM session_members WHERE session_id = ?1"
                                          " ORDER BY idx");
    size_t mcap = 0, kcap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct hub_closed_member *m;
        const struct hub_member *hm = hub_member_find(g, col_text(st, 0));
        if (array_grow((void **)ms, &mcap, c->nmembers + 1, sizeof(**ms))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        m = &(*ms)[c->nmembers++];
        memset(m, 0, sizeof(*m));
        id_copy(m->id, col_text(st, 0));
        m->name = hm ? hm->name : "";
        m->facilitator = sqlite3_column_int(st, 1) != 0;
        m->observer = sqlite3_column_int(st, 2) != 0;
        m->removed = sqlite3_column_int(st, 3) != 0;
    }
    sqlite3_finalize(st);
    if (rc)
        return rc;
    st = stmt_prepare(s->w, "SELECT c.idx, c.client, st.step, st.planned_ms, st.used_ms"
                            " FROM consultations c LEFT JOIN consultation_steps st"
                            " ON st.session_id = c.session_id AND st.idx = c.idx"
                            " WHERE c.session_id = ?1 ORDER BY c.idx");
    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        size_t idx = (size_t)sqlite3_column_int64(st, 0);
        int k = step_from_name(col_text(st, 2));
        if (idx >= c->nconsultations) {
            if (idx != c->nconsultations ||
                array_grow((void **)ks, &kcap, idx + 1, sizeof(**ks))) {
                rc = CODEV_E_INTERNAL;
                break;
            }
            memset(&(*ks)[idx], 0, sizeof(**ks));
            id_copy((*ks)[idx].client, col_text(st, 1) ? col_text(st, 1) : "");
            c->nconsultations++;
        }
        if (k >= STEP_TOPIC && k <= STEP_LEARNING) {
            (*ks)[idx].planned_ms[k] = sqlite3_column_int64(st, 3);
            (*ks)[idx].used_ms[k] = sqlite3_column_int64(st, 4);
        }
    }
    sqlite3_finalize(st);
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
static int load_closed_room(struct store *s, struct hub_group *g)
{
    sqlite3_stmt *st = stmt_prepare(
        s->w, "SELECT id, retention, opened_ms, budgets, limits,"
              " coalesce(opening_planned_ms, 0), coalesce(opening_used_ms, 0),"
              " coalesce(closed_seq, 0), coalesce(closed_cards, 0)"
              " FROM sessions WHERE group_id = ?1 AND closed_ms IS NOT NULL"
              " ORDER BY opened_ms DESC, rowid DESC LIMIT 1");
    char sid[AUTH_UUID_LEN + 1];
    int64_t budgets[STEP_COUNT];
    struct room_limits limits;
    struct hub_closed c = {.session_id = sid, .budgets = budgets, .limits = &limits};
    struct hub_closed_member *ms = NULL;
    struct hub_closed_consultation *ks = NULL;
    bool keep;
    int rc = 0;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, g->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return 0;
    }
    id_copy(sid, col_text(st, 0));
    keep = col_text(st, 1) && strcmp(col_text(st, 1), "keep") == 0;
    c.opened_ms = sqlite3_column_int64(st, 2);
    c.opening_planned_ms = sqlite3_column_int64(st, 5);
    c.opening_used_ms = sqlite3_column_int64(st, 6);
    c.seq = (uint64_t)sqlite3_column_int64(st, 7);
    c.ncards = (size_t)sqlite3_column_int64(st, 8);
    if (parse_budgets(col_text(st, 3), budgets) || parse_limits(col_text(st, 4), &limits))
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if (keep) {
        struct replay rp;
        if (store_replay(s->w, sid, &rp) == 0 && rp.room->step == STEP_CLOSED) {
            g->room = rp.room;
            rp.room = NULL;
            replay_release(&rp);
            return 0;
        }
        if (rp.room)
            replay_release(&rp);
    }
    rc = load_closed_parts(s, g, sid, &c, &ms, &ks);
    if (!rc && c.nmembers && !(g->room = hub_closed_room_new(&c)))
        rc = CODEV_E_INTERNAL;
    free(ms);
    free(ks);
    return rc;
}

/* The closed rooms of every group without an open session. */
static int load_closed_rooms(struct store *s, struct hub *h)
{
    int rc = 0;

    for (size_t b = 0; !rc && b < h->nbuckets; b++)
        for (struct hub_group *g = h->buckets[b]; !rc && g; g = g->next)
            if (!g->room && g->opened_once)
                rc = load_closed_room(s, g);
    return rc;
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
    if (submitted || s->version < STORE_SCHEMA_LATEST)
        return CODEV_E_INTERNAL;
    rc = load_groups(s, h, &rep);
    if (!rc)
        rc = load_members(s, h, &rep);
    if (!rc)
        rc = load_plans(s, h, &rep);
    if (!rc)
        rc = load_sessions(s, h, now_ms, &rep);
    if (!rc)
        rc = load_closed_rooms(s, h);
    if (s->checkpoint_wanted &&
        sqlite3_wal_checkpoint_v2(s->w, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
            SQLITE_OK)
        s->checkpoint_wanted = false;
    if (report)
        *report = rep;
    return rc;
}

/* ---- reads ----------------------------------------------------------------------- */

/* Duplicates column i into *dst (NULL stays NULL). Returns -1 on allocation
 * failure. */
static int col_dup(sqlite3_stmt *st, int i, char **dst)
{
    const char *t = col_text(st, i);

    *dst = dup_or_null(t);
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
    }
    for (size_t i = 0; i < j->nplans; i++) {
        free(j->plans[i].text);
        free(j->plans[i].due);
        free(j->plans[i].comment);
    }
    free(j->entries);
    free(j->cases);
    free(j->plans);
    free(j);
}

static int read_entries(sqlite3 *db, const char *member, struct store_journal *j)
{
    sqlite3_stmt *st =
        stmt_prepare(db, "SELECT session_id, type, variant, step, idx, created_ms,"
                         " text FROM notebook WHERE member = ?1"
                         " ORDER BY created_ms, session_id, card");
    size_t cap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, member, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_entry *e;
        int s_idx = step_from_name(col_text(st, 3));
        if (array_grow((void **)&j->entries, &cap, j->nentries + 1, sizeof(*e))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        e = &j->entries[j->nentries];
        memset(e, 0, sizeof(*e));
        id_copy(e->session_id, col_text(st, 0));
        e->type = col_text(st, 1) && strcmp(col_text(st, 1), "note") == 0 ? CARD_NOTE
                                                                          : CARD_LEARNING;
        e->variant = sqlite3_column_int(st, 2);
        e->step = s_idx < 0 ? STEP_OPENING : (enum step)s_idx;
        e->consultation = sqlite3_column_int(st, 4);
        e->created_ms = sqlite3_column_int64(st, 5);
        if (col_dup(st, 6, &e->text) || !e->text) {
            free(e->text);
            rc = CODEV_E_INTERNAL;
            break;
        }
        j->nentries++;
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc;
}

static int read_case_items(sqlite3 *db, struct store_case *c)
{
    sqlite3_stmt *st =
        stmt_prepare(db, "SELECT card, variant, marked, text FROM case_items"
                         " WHERE session_id = ?1 AND idx = ?2 ORDER BY card");
    size_t cap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, c->session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->consultation);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_case_item *it;
        if (array_grow((void **)&c->items, &cap, c->nitems + 1, sizeof(*it))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        it = &c->items[c->nitems];
        it->card = (uint32_t)sqlite3_column_int64(st, 0);
        it->variant = sqlite3_column_int(st, 1);
        it->marked = sqlite3_column_int(st, 2) != 0;
        if (col_dup(st, 3, &it->text) || !it->text) {
            free(it->text);
            rc = CODEV_E_INTERNAL;
            break;
        }
        c->nitems++;
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc;
}

static int read_cases(sqlite3 *db, const char *member, struct store_journal *j)
{
    sqlite3_stmt *st =
        stmt_prepare(db, "SELECT c.session_id, c.idx, s.closed_ms, c.problem,"
                         " c.contract FROM cases c JOIN sessions s"
                         " ON s.id = c.session_id WHERE c.client = ?1"
                         " ORDER BY s.closed_ms, c.session_id, c.idx");
    size_t cap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, member, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_case *c;
        if (array_grow((void **)&j->cases, &cap, j->ncases + 1, sizeof(*c))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        c = &j->cases[j->ncases++];
        memset(c, 0, sizeof(*c));
        id_copy(c->session_id, col_text(st, 0));
        c->consultation = sqlite3_column_int(st, 1);
        c->closed_ms = sqlite3_column_int64(st, 2);
        if (col_dup(st, 3, &c->problem) || col_dup(st, 4, &c->contract) ||
            read_case_items(db, c)) {
            rc = CODEV_E_INTERNAL;
            break;
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc;
}

static int read_plans(sqlite3 *db, const char *member, struct store_journal *j)
{
    sqlite3_stmt *st = stmt_prepare(db, "SELECT id, session_id, consultation, text, due,"
                                        " debriefed, outcome, comment FROM plans"
                                        " WHERE client = ?1 ORDER BY group_id, ordinal");
    size_t cap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, member, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_plan *p;
        if (array_grow((void **)&j->plans, &cap, j->nplans + 1, sizeof(*p))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        p = &j->plans[j->nplans++];
        memset(p, 0, sizeof(*p));
        id_copy(p->id, col_text(st, 0));
        id_copy(p->session_id, col_text(st, 1));
        p->consultation =
            sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 2);
        p->debriefed = sqlite3_column_int(st, 5) != 0;
        p->outcome =
            sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
        if (col_dup(st, 3, &p->text) || !p->text || col_dup(st, 4, &p->due) ||
            col_dup(st, 7, &p->comment)) {
            rc = CODEV_E_INTERNAL;
            break;
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
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
    for (size_t i = 0; i < h->nsessions; i++)
        free(h->sessions[i].consultations);
    free(h->sessions);
    free(h);
}

static int read_session_history(sqlite3 *db, struct store_session_history *sh)
{
    sqlite3_stmt *st =
        stmt_prepare(db, "SELECT idx, client, facilitator FROM consultations"
                         " WHERE session_id = ?1 ORDER BY idx");
    size_t cap = 0;
    int rc = 0, step;

    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, sh->id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_consultation_history *c;
        if (array_grow((void **)&sh->consultations, &cap, sh->nconsultations + 1,
                       sizeof(*c))) {
            rc = CODEV_E_INTERNAL;
            break;
        }
        c = &sh->consultations[sh->nconsultations++];
        memset(c, 0, sizeof(*c));
        id_copy(c->client, col_text(st, 1));
        id_copy(c->facilitator, col_text(st, 2));
    }
    if (!rc && step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    if (rc)
        return rc;
    st = stmt_prepare(db, "SELECT idx, step, planned_ms, used_ms FROM consultation_steps"
                          " WHERE session_id = ?1");
    if (!st)
        return CODEV_E_INTERNAL;
    sqlite3_bind_text(st, 1, sh->id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int idx = sqlite3_column_int(st, 0), k = step_from_name(col_text(st, 1));
        if (idx < 0 || (size_t)idx >= sh->nconsultations || k < 0)
            continue;
        sh->consultations[idx].steps[k].planned_ms = sqlite3_column_int64(st, 2);
        sh->consultations[idx].steps[k].used_ms = sqlite3_column_int64(st, 3);
    }
    if (step != SQLITE_DONE)
        rc = CODEV_E_INTERNAL;
    sqlite3_finalize(st);
    return rc;
}

int store_history_read(struct store *s, const char *group_id, struct store_history **out)
{
    struct store_history *h = calloc(1, sizeof(*h));
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = CODEV_E_INTERNAL, step;

    *out = NULL;
    if (!h || !group_id) {
        free(h);
        return CODEV_E_INTERNAL;
    }
    pthread_mutex_lock(&s->read_mu);
    st = stmt_prepare(s->r, "SELECT id, opened_ms, closed_ms, opening_planned_ms,"
                            " opening_used_ms FROM sessions WHERE group_id = ?1"
                            " AND closed_ms IS NOT NULL ORDER BY opened_ms, rowid");
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_session_history *sh;
        if (array_grow((void **)&h->sessions, &cap, h->nsessions + 1, sizeof(*sh)))
            goto out;
        sh = &h->sessions[h->nsessions++];
        memset(sh, 0, sizeof(*sh));
        id_copy(sh->id, col_text(st, 0));
        sh->opened_ms = sqlite3_column_int64(st, 1);
        sh->closed_ms = sqlite3_column_int64(st, 2);
        sh->opening.planned_ms = sqlite3_column_int64(st, 3);
        sh->opening.used_ms = sqlite3_column_int64(st, 4);
        if (read_session_history(s->r, sh))
            goto out;
    }
    if (step == SQLITE_DONE)
        rc = 0;
out:
    sqlite3_finalize(st);
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
    sqlite3_stmt *st;
    struct replay rp;
    int rc = CODEV_E_NOT_FOUND;

    *out = NULL;
    memset(&rp, 0, sizeof(rp));
    if (!session_id)
        return CODEV_E_NOT_FOUND;
    pthread_mutex_lock(&s->read_mu);
    /* One read transaction, so that the session row and its journal agree. */
    if (db_exec(s->r, "BEGIN")) {
        rc = CODEV_E_INTERNAL;
        goto unlock;
    }
    st = stmt_prepare(s->r, "SELECT 1 FROM sessions WHERE id = ?1 AND retention = 'keep'"
                            " AND closed_ms IS NOT NULL");
    if (!st) {
        rc = CODEV_E_INTERNAL;
        goto out;
    }
    sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = store_replay(s->r, session_id, &rp);
    sqlite3_finalize(st);
    if (!rc) {
        *out = rp.room;
        rp.room = NULL;
        replay_release(&rp);
    }
out:
    db_exec(s->r, "COMMIT");
unlock:
    pthread_mutex_unlock(&s->read_mu);
    return rc;
}
