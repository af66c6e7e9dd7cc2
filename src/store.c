/*
 * store.c - the store's connections and life cycle: store_open (connect,
 * migrate, start the writer) and store_close, and the small SQLite helpers
 * every store file shares (store_internal.h). The rest of the store:
 * store_schema.c (migrations), store_writer.c (records, writer thread,
 * group commit, drain), store_replay.c (rebuild at start, finalize at
 * close), store_read.c (exports' reads). See store.h.
 *
 * Invariants:
 *   - Two connections. `w` belongs to the writer thread once store_open
 *     returned, except in store_load, which runs on the main thread before
 *     anything was submitted (the writer is then idle in its condition
 *     wait; the mutex hand-off orders the two). `r` is read-only and used
 *     under read_mu by the export reads.
 *   - The database file and its -wal and -shm are 0600 (db_files_restrict).
 *   - store_close joins the writer before it closes `w`: nothing runs on a
 *     connection after it is closed.
 *
 * Expected load: one store_open and one store_close per run; the helpers
 * run for every statement of every file.
 */
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "errors.h"

/* Copies a NUL-terminated id into a UUID-sized buffer (truncating). */
void store_id_copy(char dst[AUTH_UUID_LEN + 1], const char *src)
{
    snprintf(dst, AUTH_UUID_LEN + 1, "%s", src ? src : "");
}

/* ---- SQLite helpers --------------------------------------------------------- */

int store_db_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : CODEV_E_INTERNAL;
}

int store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no row, then resets it and clears its
 * bindings. Returns 0, or CODEV_E_INTERNAL when bind_rc (the OR of the bind
 * results) or the step failed. */
int store_stmt_run(sqlite3_stmt *st, int bind_rc)
{
    int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : CODEV_E_INTERNAL;
}

/* Prepares a one-off statement. Returns it, or NULL. */
sqlite3_stmt *store_stmt_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Column i of st's current row as text (borrowed until the next step), or
 * NULL. */
static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Binds st's parameters 1.. from ap as fmt says ('t' text, may be NULL;
 * 'i' int64). Returns the OR of the bind results (SQLITE_OK: all bound). */
static int bind_args(sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int b = SQLITE_OK;

    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 't')
            b |= store_bind_text(st, i + 1, va_arg(ap, const char *));
        else
            b |= sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
    }
    return b;
}

/* Runs sql (one statement) with the text/integer arguments given by fmt:
 * 't' text (may be NULL), 'i' int64. Returns 0 or CODEV_E_INTERNAL. */
int store_db_run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = store_stmt_prepare(db, sql);
    va_list ap;
    int b, rc;

    if (!st)
        return CODEV_E_INTERNAL;
    va_start(ap, fmt);
    b = bind_args(st, fmt, ap);
    va_end(ap);
    rc = store_stmt_run(st, b);
    sqlite3_finalize(st);
    return rc;
}

/* ---- rows: the SQLite side of the iterator (store_internal.h) ---------------- */

enum store_rows_state {
    ROWS_BEFORE, /* opened, store_rows_next not called yet */
    ROWS_ROW,    /* on a row */
    ROWS_DONE,   /* past the last row */
    ROWS_FAILED  /* a step failed */
};

struct store_rows {
    sqlite3_stmt *st;
    int ncols; /* the column enum's count; the SELECT returns exactly these */
    enum store_rows_state state;
};

/* The SELECT must return exactly ncols columns: one that does not match its
 * column count fails here, not with shifted reads. */
int store_rows_open(sqlite3 *db, const char *sql, int ncols, struct store_rows **out,
                    const char *fmt, ...)
{
    struct store_rows *it = calloc(1, sizeof(*it));
    va_list ap;
    int b;

    *out = NULL;
    if (!it)
        return CODEV_E_INTERNAL;
    it->st = store_stmt_prepare(db, sql);
    it->ncols = ncols;
    if (!it->st || sqlite3_column_count(it->st) != ncols) {
        store_rows_free(it);
        return CODEV_E_INTERNAL;
    }
    va_start(ap, fmt);
    b = bind_args(it->st, fmt, ap);
    va_end(ap);
    if (b != SQLITE_OK) {
        store_rows_free(it);
        return CODEV_E_INTERNAL;
    }
    *out = it;
    return 0;
}

int store_rows_journal_open(sqlite3 *db, const char *session_id, struct store_rows **out)
{
    // clang-format off
    static const char sql[] =
        "SELECT session_id, kind, member, member_idx, name, facilitator, observer,"
        "       cmd, cmd_id, text, due, target, ref, card, seconds, variant, flag,"
        "       at_ms, seq, first_step"
        "  FROM journal"
        " WHERE session_id = ?1"
        " ORDER BY id";
    // clang-format on

    return store_rows_open(db, sql, JCOL_COUNT, out, "t", session_id);
}

int store_rows_session_open(sqlite3 *db, const char *session_id, struct store_rows **out)
{
    // clang-format off
    static const char sql[] =
        "SELECT group_id, opened_ms, closed_ms IS NOT NULL, budgets, limits"
        "  FROM sessions"
        " WHERE id = ?1";
    // clang-format on

    return store_rows_open(db, sql, SCOL_COUNT, out, "t", session_id);
}

int store_rows_next(struct store_rows *it)
{
    int step;

    if (it->state == ROWS_DONE)
        return 0;
    if (it->state == ROWS_FAILED)
        return CODEV_E_INTERNAL;
    step = sqlite3_step(it->st);
    it->state = step == SQLITE_ROW    ? ROWS_ROW
                : step == SQLITE_DONE ? ROWS_DONE
                                      : ROWS_FAILED;
    return it->state == ROWS_ROW ? 1 : it->state == ROWS_DONE ? 0 : CODEV_E_INTERNAL;
}

bool store_rows_more(struct store_rows *it, int *rc)
{
    int step;

    if (*rc || !it)
        return false;
    step = store_rows_next(it);
    if (step < 0)
        *rc = step;
    return step == 1;
}

/* True when column col of the current row can be read. */
static bool rows_readable(const struct store_rows *it, int col)
{
    return it->state == ROWS_ROW && col >= 0 && col < it->ncols;
}

int64_t store_rows_int(const struct store_rows *it, int col)
{
    return rows_readable(it, col) ? sqlite3_column_int64(it->st, col) : 0;
}

const char *store_rows_text(const struct store_rows *it, int col)
{
    return rows_readable(it, col) ? col_text(it->st, col) : NULL;
}

bool store_rows_null(const struct store_rows *it, int col)
{
    return !rows_readable(it, col) || sqlite3_column_type(it->st, col) == SQLITE_NULL;
}

const void *store_rows_blob(const struct store_rows *it, int col, size_t *len)
{
    const void *b = rows_readable(it, col) ? sqlite3_column_blob(it->st, col) : NULL;

    /* After the blob: sqlite3_column_bytes then gives its size as stored. */
    *len = b ? (size_t)sqlite3_column_bytes(it->st, col) : 0;
    return b;
}

void store_rows_free(struct store_rows *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    free(it);
}

/* Applies the connection settings every codevd connection has. */
static int db_configure(sqlite3 *db, bool writer, bool sync_normal)
{
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    /* temp_store: SQLite's temporary tables and sorts (a session's close)
     * stay in memory: codevd writes nowhere but data_dir (the packaged unit
     * runs it on a read-only file system but for /var/lib/codevd). */
    if (store_db_exec(db, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
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
    if (store_db_exec(db, "PRAGMA cache_size = -8192;") ||
        store_db_exec(db, "PRAGMA wal_autocheckpoint = 4000;") ||
        store_db_exec(db, "PRAGMA journal_mode = WAL;") ||
        store_db_exec(db, sync_normal ? "PRAGMA synchronous = NORMAL;"
                                      : "PRAGMA synchronous = FULL;"))
        return CODEV_E_INTERNAL;
    return 0;
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
    int target, found_version, rc = CODEV_E_INTERNAL;

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
    s->commit_window_us = opts->commit_window_us;
    s->wake = opts->wake;
    s->wake_arg = opts->wake_arg;
    target = opts->schema_version_max > 0 &&
                     opts->schema_version_max < store_schema_version_latest()
                 ? opts->schema_version_max
                 : store_schema_version_latest();

    /* Never create a schema inside another program's file, nor write to a
     * damaged one (SQLite would happily switch its header to WAL). */
    if (store_file_check(path, true, &found_version, opts->why, opts->why_cap) ||
        db_open(path, true, opts->sync_normal, &s->w) ||
        store_schema_migrate(s->w, target, &s->version) ||
        db_open(path, false, false, &s->r))
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
    store_rec_list_free(s->pending);
    store_rec_list_free(s->done);
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

int64_t store_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void store_stats_batch(struct store *s, uint64_t n, int64_t start_us)
{
    metrics_hist_observe(&s->stats.commit_seconds, MH_COMMIT_SECONDS,
                         (double)(store_mono_us() - start_us) / 1e6);
    metrics_hist_observe(&s->stats.batch_records, MH_BATCH_RECORDS, (double)n);
    s->stats.records += n;
}

void store_stats_get(struct store *s, struct store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

size_t store_queue_depth(const struct store *s)
{
    return s->in_flight;
}

size_t store_queue_max(const struct store *s)
{
    return s->queue_max;
}
