/*
 * store_internal.h - what the store's files share and nobody else sees:
 * struct store, the journal's record kinds and columns, the SQLite helpers,
 * and the seams between the files (store.h says who calls what).
 *
 *   store.c          connections, life cycle (store_open, store_close)
 *   store_schema.c   the numbered migrations
 *   store_writer.c   records, the writer thread, group commit, drain
 *   store_replay.c   journal rows, replay, finalize at close, store_load
 *   store_read.c     the exports' reads (journal, history, minutes)
 *
 * Invariants: see store.c (threads and connections) and each file's own.
 * Only these five files include this header (and test_store.c, for the
 * journal row iterator).
 */
#ifndef CODEV_STORE_INTERNAL_H
#define CODEV_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_PATH_MAX        4096

/* Journal record kinds (journal.kind). */
enum store_journal_kind {
    JOURNAL_MEMBER = 1,  /* a member added to the room (opening or a join) */
    JOURNAL_DEBRIEF = 2, /* an earlier plan item given to the room */
    JOURNAL_CMD = 3      /* an accepted command */
};

/*
 * The journal's columns, in the order of ST_JOURNAL_INSERT's column list
 * and of the journal rows' SELECT (store_rows_journal_open): the writer
 * binds parameter JCOL_x + 1 (SQLite numbers parameters from 1), the
 * replay reads column JCOL_x. One list for both, so that a column added
 * or moved cannot shift the binds against the reads.
 */
enum store_journal_col {
    JCOL_SESSION_ID,
    JCOL_KIND,       /* enum store_journal_kind */
    JCOL_MEMBER,     /* added member, debrief client, or sender (member id) */
    JCOL_MEMBER_IDX, /* CMD: the sender's room index */
    JCOL_NAME,       /* MEMBER */
    JCOL_FACILITATOR,
    JCOL_OBSERVER,
    JCOL_CMD, /* CMD: wire name */
    JCOL_CMD_ID,
    JCOL_TEXT,
    JCOL_DUE,
    JCOL_TARGET,
    JCOL_REF, /* CMD; DEBRIEF: the plan item's id */
    JCOL_CARD,
    JCOL_SECONDS,
    JCOL_VARIANT,
    JCOL_FLAG,
    JCOL_AT_MS,
    JCOL_SEQ,
    JCOL_FIRST_STEP, /* CMD (action_add); DEBRIEF: the action's first step */
    JCOL_COUNT
};

/* The columns of a session's row as a replay reads it
 * (store_rows_session_open). */
enum store_session_col {
    SCOL_GROUP_ID,
    SCOL_OPENED_MS,
    SCOL_CLOSED, /* 1 when closed_ms is set */
    SCOL_BUDGETS,
    SCOL_LIMITS,
    SCOL_COUNT
};

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

struct store_rec;

struct store {
    sqlite3 *w;                    /* the writer's connection */
    sqlite3 *r;                    /* read-only connection, under read_mu */
    sqlite3_stmt *stmts[ST_COUNT]; /* on w */
    int version;
    uint32_t queue_max;
    uint32_t commit_window_us; /* store_options.commit_window_us */
    void (*wake)(void *arg);
    void *wake_arg;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;     /* guards everything down to `stats` */
    pthread_cond_t work_cv; /* signalled when a record is queued or at stop */
    pthread_cond_t done_cv; /* broadcast after each commit (store_flush) */
    struct store_rec *pending, *pending_tail;
    struct store_rec *done, *done_tail;
    uint64_t submitted; /* records queued, ever */
    uint64_t written;   /* records committed or failed, ever */
    bool stopping;
    /* Under mu too: the writer's numbers (store_stats_batch). */
    struct store_stats stats;

    bool checkpoint_wanted; /* writer (or load) only: deleted text to truncate away */
    bool failing;           /* writer only: the last batch written failed */
    uint64_t failed_epoch;  /* writer only: records of this epoch or earlier fail
                               unwritten while failing (write_batch) */
    uint64_t epoch;         /* submitting thread only: stamped on each record */
    size_t in_flight_epoch; /* submitting thread only: of in_flight, the records
                               stamped with the current epoch */
    size_t in_flight;       /* submitting thread only */
    pthread_mutex_t read_mu;
};

/* ---- helpers (store.c) ---------------------------------------------------- */

/* Monotonic microseconds (the writer's timings). */
int64_t store_mono_us(void);

/* The writer wrote a batch of n records that it began at start_us
 * (store_mono_us): counted in s->stats. Called with s->mu held. */
void store_stats_batch(struct store *s, uint64_t n, int64_t start_us);

/* Copies a NUL-terminated id into a UUID-sized buffer (truncating). */
void store_id_copy(char dst[AUTH_UUID_LEN + 1], const char *src);

/* Runs sql (any number of statements). Returns 0 or CODEV_E_INTERNAL. */
int store_db_exec(sqlite3 *db, const char *sql);

/* Binds s (NULL binds NULL) to parameter i. Returns an SQLite code. */
int store_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Steps a statement that returns no row, then resets it and clears its
 * bindings. Returns 0, or CODEV_E_INTERNAL when bind_rc (the OR of the bind
 * results) or the step failed. */
int store_stmt_run(sqlite3_stmt *st, int bind_rc);

/* Prepares a one-off statement. Returns it (sqlite3_finalize it), or NULL. */
sqlite3_stmt *store_stmt_prepare(sqlite3 *db, const char *sql);

/* Runs sql (one statement) with the text/integer arguments given by fmt:
 * 't' text (may be NULL), 'i' int64. Returns 0 or CODEV_E_INTERNAL. */
int store_db_run(sqlite3 *db, const char *sql, const char *fmt, ...);

/* ---- rows: the backend-neutral iterator (store.c) --------------------------
 *
 * What the replay and the close read, they read through this iterator, by
 * the column enums above; only the *_open functions know the SQL. The
 * reads of store_read.c and the load_* queries of store_replay.c read
 * through it too: store_rows_open runs their own SQL, and store_rows_more
 * is the loop of every read (one place steps, checks the end and frees).
 * A second backend implements these functions (store.h, "Backends").
 */
struct store_rows;

/* Opens an iterator over sql, which must return exactly ncols columns, its
 * parameters bound from the arguments as fmt says ('t' text, may be NULL;
 * 'i' int64), as store_db_run. Sets *out (free with store_rows_free).
 * Returns 0 or CODEV_E_INTERNAL (sql does not prepare, or returns another
 * number of columns). SQLite-specific: it takes SQL. */
int store_rows_open(sqlite3 *db, const char *sql, int ncols, struct store_rows **out,
                    const char *fmt, ...);

/* Opens an iterator over session_id's journal rows in journal order,
 * columns enum store_journal_col. Sets *out (free with store_rows_free).
 * Returns 0 or CODEV_E_INTERNAL. SQLite-specific. */
int store_rows_journal_open(sqlite3 *db, const char *session_id, struct store_rows **out);

/* Opens an iterator over session_id's row in sessions (none when there is
 * no such session), columns enum store_session_col. As above. */
int store_rows_session_open(sqlite3 *db, const char *session_id, struct store_rows **out);

/* Moves to the next row. Returns 1 (a row), 0 (no more rows: every later
 * call returns 0 too) or CODEV_E_INTERNAL (a read failed; every later
 * call returns it too). */
int store_rows_next(struct store_rows *it);

/* The loop of every read: moves it to its next row and returns true while
 * there is one and *rc is 0. Returns false, leaving *rc, once the rows end
 * or when *rc is already set (by the loop's body, or by the open; it may
 * then be NULL); sets *rc to CODEV_E_INTERNAL when a read fails:
 *     struct store_rows *it;
 *     int rc = store_rows_open(db, sql, 3, &it, "t", key);
 *     while (store_rows_more(it, &rc)) {
 *         ...                  (on an error: rc = CODEV_E_..., break)
 *     }
 *     store_rows_free(it);     (rc: 0 when every row was read) */
bool store_rows_more(struct store_rows *it, int *rc);

/* Column col of the current row: as an integer (0 for NULL), or as text
 * (NULL for NULL; borrowed until the next store_rows_next). A column out of
 * range, or no current row, reads as NULL. */
int64_t store_rows_int(const struct store_rows *it, int col);
const char *store_rows_text(const struct store_rows *it, int col);

/* Whether column col of the current row is NULL (or cannot be read). */
bool store_rows_null(const struct store_rows *it, int col);

/* Column col of the current row as a blob (borrowed until the next
 * store_rows_next), *len its size; NULL with *len 0 for NULL, an empty
 * blob, or a column that cannot be read. */
const void *store_rows_blob(const struct store_rows *it, int col, size_t *len);

/* Frees the iterator. NULL is a no-op. */
void store_rows_free(struct store_rows *it);

/* ---- schema (store_schema.c) ---------------------------------------------- */

/* Creates schema_version if needed and applies migrations version+1 ..
 * target, each in its own transaction; sets *version to the schema reached.
 * Returns 0, or CODEV_E_INTERNAL (a migration failed, or the database was
 * made by a newer codevd). Main thread, at store_open. */
int store_schema_migrate(sqlite3 *db, int target, int *version);

/* ---- writer (store_writer.c) ---------------------------------------------- */

/* The writer thread's body (pthread_create's start routine; arg is the
 * store). Returns when s->stopping is set and nothing is pending. */
void *store_writer_main(void *arg);

/* Frees a list of records (store_close: what was never drained). */
void store_rec_list_free(struct store_rec *rec);

/* Upserts g's settings, members and plans (borrowed) on the writer's
 * connection; now_ms is the group's creation time when it is new, and its
 * last activity. Writer thread, or the main thread in store_load. */
int store_group_write(struct store *s, const struct hub_group *g, int64_t now_ms);

/* Writes what g (borrowed) keeps between sessions (hub_life.c): time zone,
 * next session, rota, proposals, drafts; after store_group_write. Asks for
 * a truncating checkpoint (text may have gone). Writer thread, or the main
 * thread in store_load. */
int store_life_write(struct store *s, const struct hub_group *g);

/* ---- replay and close (store_replay.c) ------------------------------------ */

/* A session rebuilt from its journal. */
struct store_replay {
    struct room *room; /* owned by the replay until taken */
    char group_id[AUTH_UUID_LEN + 1];
    int64_t opened_ms;
    bool closed;     /* sessions.closed_ms is set */
    int64_t last_ms; /* instant of the last command, or opened_ms */
    size_t records, mismatches;
    char (*facilitators)[AUTH_UUID_LEN + 1]; /* per consultation, when it began */
    size_t nfacilitators, facilitators_cap;
};

/*
 * Rebuilds session_id's room from db into *rp (zeroed first). Returns 0,
 * CODEV_E_NOT_FOUND when there is no such session, or CODEV_E_INTERNAL.
 * On error *rp holds nothing. Release with store_replay_release.
 */
int store_replay_session(sqlite3 *db, const char *session_id, struct store_replay *rp);

/* Frees what rp holds (the room too, unless it was taken) and zeroes it. */
void store_replay_release(struct store_replay *rp);

/*
 * Closes session sid in db's open transaction: replays it, writes its
 * history and what each person keeps, then applies the retention (personal:
 * deletes the journal and asks for a truncating checkpoint). closed_ms < 0:
 * the instant of the last journaled command. Writer thread, or the main
 * thread in store_load.
 */
int store_session_finalize(struct store *s, sqlite3 *db, const char *sid, int retention,
                           int64_t closed_ms);

#endif
