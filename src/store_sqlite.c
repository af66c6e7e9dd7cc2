/*
 * store_sqlite.c - the SQLite backend of the store (store_internal.h,
 * struct store_backend): one database file, <data_dir>/codevd.db, in WAL
 * mode with foreign keys and secure_delete on; the writer's statements
 * prepared once; rows read by stepping a statement.
 *
 * Invariants:
 *   - The database file and its -wal and -shm are 0600 (db_files_restrict).
 *   - The writer's connection has synchronous=FULL (NORMAL on request), a
 *     larger page cache and a rarer autocheckpoint (db_configure says why);
 *     the read connection is read-only.
 *   - Deleted text: secure_delete zeroes freed pages, and scrub truncates
 *     the WAL once no reader holds it (store_writer.c calls it after a
 *     commit that deleted text, and again every second until it succeeds).
 *
 * Expected load: every statement of the store on SQLite goes through here.
 */
#include "store_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"

struct lite_db {
    struct store_db base;
    sqlite3 *db;
    sqlite3_stmt *stmts[ST_COUNT]; /* the writer's, prepared on first use */
    /* BEGIN IMMEDIATE and COMMIT, prepared on first use: sqlite3_exec
     * compiled them again for every batch, about 12,000 instructions a
     * commit, a quarter of the writer's work per record when each record
     * commits alone (issue 15). */
    sqlite3_stmt *begin, *commit;
    /* The session index (writer only; see "The session index"): index the
     * rows after upto once there are this many; those rows at the last
     * commit; the rows appended by the open transaction; the fold's two
     * statements, prepared on first use. */
    uint32_t fold_rows;
    uint32_t unindexed, unindexed_txn;
    sqlite3_stmt *fold_index, *fold_upto;
};

struct lite_rows {
    struct store_rows base;
    sqlite3_stmt *st;
};

static sqlite3 *lite(struct store_db *db)
{
    return ((struct lite_db *)db)->db;
}

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
    /* The columns in the order of enum store_journal_col (parameter col + 1),
     * after the id the next row would get, but never one at or under
     * journal_indexed.upto ("The session index" below): a row deleted at
     * the end of journal leaves its id used. */
    [ST_JOURNAL_INSERT] =
        "INSERT INTO journal (id, session_id, kind, member, member_idx, name,"
        "                     facilitator, observer, cmd, cmd_id, text, due, target,"
        "                     ref, card, seconds, variant, flag, at_ms, seq, first_step)"
        "     VALUES (max(coalesce((SELECT max(id) FROM journal), 0),"
        "                 (SELECT upto FROM journal_indexed)) + 1,"
        "             ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        "             ?15, ?16, ?17, ?18, ?19, ?20)",
    [ST_SAVEPOINT] = "SAVEPOINT rec",
    [ST_RELEASE] = "RELEASE rec",
    [ST_ROLLBACK_TO] = "ROLLBACK TO rec",
};
// clang-format on

/* ---- statements ------------------------------------------------------------- */

static int lite_exec(struct store_db *db, const char *sql)
{
    return sqlite3_exec(lite(db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                      : CODEV_E_INTERNAL;
}

/* Binds v[0..n) to st's parameters 1..n. Returns the OR of the results. */
static int bind_vals(sqlite3_stmt *st, const struct store_val *v, int n)
{
    int b = SQLITE_OK;

    for (int i = 0; i < n; i++) {
        switch (v[i].type) {
        case SV_TEXT:
            b |= sqlite3_bind_text(st, i + 1, v[i].text, -1, SQLITE_STATIC);
            break;
        case SV_INT:
            b |= sqlite3_bind_int64(st, i + 1, v[i].i);
            break;
        case SV_BLOB:
            b |= sqlite3_bind_blob(st, i + 1, v[i].blob, (int)v[i].len, SQLITE_STATIC);
            break;
        default:
            b |= sqlite3_bind_null(st, i + 1);
        }
    }
    return b;
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

static int lite_run(struct store_db *db, const char *sql, const struct store_val *v,
                    int n)
{
    sqlite3_stmt *st = stmt_prepare(lite(db), sql);
    int rc;

    if (!st)
        return CODEV_E_INTERNAL;
    rc = stmt_run(st, bind_vals(st, v, n));
    sqlite3_finalize(st);
    return rc;
}

/* The writer's cached statement id, prepared on first use (NULL on error).
 * The journal insert must take one parameter per enum store_journal_col. */
static sqlite3_stmt *stmt_get(struct lite_db *l, enum store_stmt id)
{
    if (!l->stmts[id] &&
        (sqlite3_prepare_v3(l->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                            &l->stmts[id], NULL) != SQLITE_OK ||
         (id == ST_JOURNAL_INSERT &&
          sqlite3_bind_parameter_count(l->stmts[id]) != JCOL_COUNT))) {
        sqlite3_finalize(l->stmts[id]);
        l->stmts[id] = NULL;
    }
    return l->stmts[id];
}

static int lite_stmt(struct store_db *db, enum store_stmt id, const struct store_val *v,
                     int n)
{
    struct lite_db *l = (struct lite_db *)db;
    sqlite3_stmt *st = stmt_get(l, id);
    int rc = st ? stmt_run(st, bind_vals(st, v, n)) : CODEV_E_INTERNAL;

    if (!rc && id == ST_JOURNAL_INSERT)
        l->unindexed_txn++;
    return rc;
}

/* Runs *st (sql, prepared once and kept in *st). */
static int lite_exec_kept(struct store_db *db, sqlite3_stmt **st, const char *sql)
{
    if (!*st && sqlite3_prepare_v3(lite(db), sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                                   NULL) != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return CODEV_E_INTERNAL;
    }
    return stmt_run(*st, SQLITE_OK);
}

/*
 * The session index (issue 15, migration 13). journal has no index but its
 * id: an append writes the table's last page only. With the index on
 * (session_id, id) it had, each session's rows sat on index pages of their
 * own, so with many sessions writing at once every appended row dirtied an
 * index page of its own, and every group commit wrote those 4 kB pages to
 * the WAL (45 pwrite calls per commit of 12 records at 5,600 records/s; 7
 * without the index).
 *
 * journal_by_session (session_id, id) indexes every row up to
 * journal_indexed.upto. The commit that would leave fold_rows rows after
 * upto first adds them, sorted, in one statement, and moves upto: each
 * session's index page is then written once per fold instead of once per
 * record, and no row moves. lite_index_fold indexes the rest at start-up.
 * A reader takes a session's rows through the index up to upto and by a
 * scan of at most about fold_rows rows after it (store_rows_journal_open);
 * the deletions at close and of a group do the same. Ids only grow, past
 * upto too (ST_JOURNAL_INSERT), so no new row hides under upto.
 */
static const char sql_fold_index[] = "INSERT INTO journal_by_session (session_id, id)"
                                     "     SELECT session_id, id FROM journal"
                                     "      WHERE id > (SELECT upto FROM journal_indexed)"
                                     "      ORDER BY session_id, id";
static const char sql_fold_upto[] =
    "UPDATE journal_indexed"
    "   SET upto = max(upto, coalesce((SELECT max(id) FROM journal), 0))";

static int lite_begin(struct store_db *db)
{
    ((struct lite_db *)db)->unindexed_txn = 0;
    return lite_exec_kept(db, &((struct lite_db *)db)->begin, "BEGIN IMMEDIATE");
}

static void lite_rollback(struct store_db *db)
{
    ((struct lite_db *)db)->unindexed_txn = 0;
    if (!sqlite3_get_autocommit(lite(db)))
        lite_exec(db, "ROLLBACK");
}

/* Indexes every row after upto, in the open transaction. */
static int index_fold_txn(struct lite_db *l)
{
    return lite_exec_kept(&l->base, &l->fold_index, sql_fold_index) ||
                   lite_exec_kept(&l->base, &l->fold_upto, sql_fold_upto)
               ? CODEV_E_INTERNAL
               : 0;
}

/* Commits, indexing the rows after upto first when the commit would leave
 * fold_rows of them or more. A failed fold fails the commit: the caller rolls
 * the batch back, as for any failed write. */
static int lite_commit(struct store_db *db)
{
    struct lite_db *l = (struct lite_db *)db;
    uint32_t rows = l->unindexed + l->unindexed_txn;
    bool fold = l->fold_rows && rows >= l->fold_rows;
    int rc = fold ? index_fold_txn(l) : 0;

    if (!rc)
        rc = lite_exec_kept(db, &l->commit, "COMMIT");
    if (!rc)
        l->unindexed = fold ? 0 : rows;
    l->unindexed_txn = 0;
    return rc;
}

/* Indexes every row after upto in a transaction of its own (start-up, on
 * the writer's connection, after the migrations). On failure the rows stay
 * after upto, where every reader finds them, and a later commit indexes
 * them. */
static int lite_index_fold(struct store_db *db)
{
    struct lite_db *l = (struct lite_db *)db;

    if (lite_begin(db) || index_fold_txn(l) || lite_commit(db)) {
        lite_rollback(db);
        l->unindexed = l->fold_rows; /* the next commit tries again */
        return CODEV_E_INTERNAL;
    }
    return 0; /* lite_commit set unindexed to 0 */
}

/* Truncates the WAL (deleted text goes with it); a reader's open
 * transaction can hold it off. */
static int lite_scrub(struct store_db *db)
{
    return sqlite3_wal_checkpoint_v2(lite(db), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                                     NULL) == SQLITE_OK
               ? 0
               : CODEV_E_INTERNAL;
}

/* ---- rows ---------------------------------------------------------------------- */

static int lite_rows_open(struct store_db *db, const char *sql, int ncols,
                          const struct store_val *v, int n, struct store_rows **out)
{
    struct lite_rows *it = calloc(1, sizeof(*it));

    *out = NULL;
    if (!it)
        return CODEV_E_INTERNAL;
    it->base.be = db->be;
    it->base.ncols = ncols;
    it->st = stmt_prepare(lite(db), sql);
    if (!it->st || sqlite3_column_count(it->st) != ncols ||
        bind_vals(it->st, v, n) != SQLITE_OK) {
        sqlite3_finalize(it->st);
        free(it);
        return CODEV_E_INTERNAL;
    }
    *out = &it->base;
    return 0;
}

static int lite_rows_step(struct store_rows *base)
{
    struct lite_rows *it = (struct lite_rows *)base;
    int step = sqlite3_step(it->st);

    base->state = step == SQLITE_ROW    ? ROWS_ROW
                  : step == SQLITE_DONE ? ROWS_DONE
                                        : ROWS_FAILED;
    return base->state == ROWS_ROW ? 1 : base->state == ROWS_DONE ? 0 : CODEV_E_INTERNAL;
}

static sqlite3_stmt *rows_st(const struct store_rows *it)
{
    return ((const struct lite_rows *)it)->st;
}

static int64_t lite_rows_int(const struct store_rows *it, int col)
{
    return sqlite3_column_int64(rows_st(it), col);
}

static const char *lite_rows_text(const struct store_rows *it, int col)
{
    return (const char *)sqlite3_column_text(rows_st(it), col);
}

static bool lite_rows_null(const struct store_rows *it, int col)
{
    return sqlite3_column_type(rows_st(it), col) == SQLITE_NULL;
}

static const void *lite_rows_blob(const struct store_rows *it, int col, size_t *len)
{
    const void *b = sqlite3_column_blob(rows_st(it), col);

    /* After the blob: sqlite3_column_bytes then gives its size as stored. */
    *len = b ? (size_t)sqlite3_column_bytes(rows_st(it), col) : 0;
    return b;
}

static void lite_rows_free(struct store_rows *it)
{
    sqlite3_finalize(rows_st(it));
    free(it);
}

/* ---- connections ------------------------------------------------------------------ */

/* Applies the connection settings every codevd connection has. */
static int db_configure(struct store_db *db, bool writer, bool sync_normal)
{
    sqlite3_busy_timeout(lite(db), STORE_BUSY_TIMEOUT_MS);
    /* temp_store: SQLite's temporary tables and sorts (a session's close)
     * stay in memory: codevd writes nowhere but data_dir (the packaged unit
     * runs it on a read-only file system but for /var/lib/codevd). */
    if (lite_exec(db, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
                      "PRAGMA temp_store = MEMORY;"))
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
    if (lite_exec(db, "PRAGMA cache_size = -8192;") ||
        lite_exec(db, "PRAGMA wal_autocheckpoint = 4000;") ||
        lite_exec(db, "PRAGMA journal_mode = WAL;") ||
        lite_exec(db, sync_normal ? "PRAGMA synchronous = NORMAL;"
                                  : "PRAGMA synchronous = FULL;"))
        return CODEV_E_INTERNAL;
    return 0;
}

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

static void lite_close(struct store_db *db, bool scrub)
{
    struct lite_db *l = (struct lite_db *)db;

    if (!l)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(l->stmts[i]);
    sqlite3_finalize(l->begin);
    sqlite3_finalize(l->commit);
    sqlite3_finalize(l->fold_index);
    sqlite3_finalize(l->fold_upto);
    if (scrub)
        lite_scrub(db);
    sqlite3_close(l->db);
    free(l);
}

static int lite_open(const struct store_options *opts, bool writer, struct store_db **out)
{
    int flags =
        writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    char path[STORE_PATH_MAX];
    struct lite_db *l;
    mode_t mask;
    int found_version, rc = 0;

    *out = NULL;
    if (!opts->data_dir || snprintf(path, sizeof(path), "%s/%s", opts->data_dir,
                                    STORE_FILE_NAME) >= (int)sizeof(path))
        return CODEV_E_INTERNAL;
    /* Never create a schema inside another program's file, nor write to a
     * damaged one (SQLite would happily switch its header to WAL). */
    if (writer && store_file_check(path, true, &found_version, opts->why, opts->why_cap))
        return CODEV_E_INTERNAL;
    if (!(l = calloc(1, sizeof(*l))))
        return CODEV_E_INTERNAL;
    l->base.be = &store_backend_sqlite;
    l->fold_rows = opts->journal_fold_rows ? opts->journal_fold_rows : STORE_FOLD_ROWS;
    mask = writer ? umask(077) : 0;
    if (sqlite3_open_v2(path, &l->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        db_configure(&l->base, writer, opts->sync_normal)) {
        lite_close(&l->base, false);
        l = NULL;
        rc = CODEV_E_INTERNAL;
    }
    if (writer) {
        umask(mask);
        db_files_restrict(path);
    }
    *out = l ? &l->base : NULL;
    return rc;
}

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .migration = store_schema_sqlite,
    .open = lite_open,
    .close = lite_close,
    .exec = lite_exec,
    .run = lite_run,
    .stmt = lite_stmt,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .scrub = lite_scrub,
    .index_fold = lite_index_fold,
    .rows_open = lite_rows_open,
    .rows_step = lite_rows_step,
    .rows_int = lite_rows_int,
    .rows_text = lite_rows_text,
    .rows_null = lite_rows_null,
    .rows_blob = lite_rows_blob,
    .rows_free = lite_rows_free,
};
