/*
 * store_internal.h - what the store's files share and nobody else sees:
 * struct store, the journal's record kinds and columns, the backend
 * interface (struct store_backend: what a database must provide) and the
 * seams between the files (store.h says who calls what).
 *
 *   store.c          life cycle (store_open, store_close), the neutral
 *                    helpers and the row iterator's dispatch
 *   store_sqlite.c   the SQLite backend (connections, statements, rows)
 *   store_pg.c       the PostgreSQL backend (libpq; built with -Dpostgresql)
 *   store_schema.c   the numbered migrations (SQLite) and their runner
 *   store_pg_schema.c the same migrations in PostgreSQL's DDL
 *   store_submit.c   records, the queue, drain (the loop thread's half)
 *   store_writer.c   the writer thread, group commit (the writer's half)
 *   store_replay.c   journal rows, replay, finalize at close, store_load
 *   store_read.c     the exports' reads (journal, history, minutes)
 *   store_lease.c    a cluster's group leases and fencing (node_id)
 *
 * Invariants: see store.c (threads and connections) and each file's own.
 * Only the store's files include this header (and test_store.c, for the
 * journal row iterator).
 */
#ifndef CODEV_STORE_INTERNAL_H
#define CODEV_STORE_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_PATH_MAX        4096

/* plans.debriefed: 0 waiting, 1 debriefed, STORE_PLAN_EXPIRED no longer
 * offered (its client had plans_waiting_per_member newer ones waiting; never
 * debriefed). Only the waiting ones are loaded. */
#define STORE_PLAN_EXPIRED 2

/* Journal record kinds (journal.kind). */
enum store_journal_kind {
    JOURNAL_MEMBER = 1,  /* a member added to the room (opening or a join) */
    JOURNAL_DEBRIEF = 2, /* an earlier plan item given to the room */
    JOURNAL_CMD = 3      /* an accepted command */
};

/*
 * The journal's columns, in the order of ST_JOURNAL_INSERT's column list
 * and of the journal rows' SELECT (store_rows_journal_open): the writer
 * passes value JCOL_x as parameter JCOL_x + 1 (?1.. in the SQL), the
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

/* The schema version that made journal_by_session (migration 13). */
#define STORE_SCHEMA_INDEX_FOLD 13

/* Statements the writer runs for every record, prepared once by each
 * backend (its own SQL text, the same parameters: store_sqlite.c,
 * store_pg.c). */
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
struct store_rows;
struct store_lease;

#define STORE_LEASE_BUCKETS 1024 /* the lease map's chains (store_lease.c) */

/* ---- the backend interface ---------------------------------------------------
 *
 * A backend is a table of functions (struct store_backend) over its own
 * connection type, which starts with struct store_db. Everything else of
 * the store (the records, the queue, the writer thread, the replay, the
 * close, the reads) is backend-neutral: it passes SQL text with ?N
 * parameters (1-based; the PostgreSQL backend rewrites them to $N) and
 * values as struct store_val, and reads rows through struct store_rows.
 * The SQL the neutral files carry is the common dialect of SQLite 3.35+
 * and PostgreSQL 12+ (upserts with ON CONFLICT, no INSERT OR REPLACE, no
 * SQLite scalar max()); rowid is a column in PostgreSQL's groups, sessions
 * and drafts (store_pg_schema.c), so ORDER BY rowid means insertion order
 * in both.
 */
enum store_val_type { SV_NULL = 0, SV_TEXT, SV_INT, SV_BLOB };

/* One parameter value; borrowed for the call it is passed to. */
struct store_val {
    enum store_val_type type;
    const char *text; /* SV_TEXT */
    int64_t i;        /* SV_INT */
    const void *blob; /* SV_BLOB */
    size_t len;       /* SV_BLOB */
};

/* Text (NULL gives SQL NULL), an integer, a blob. */
static inline struct store_val store_val_text(const char *t)
{
    return (struct store_val){.type = t ? SV_TEXT : SV_NULL, .text = t};
}
#define SV_T(x)    store_val_text(x)
#define SV_I(x)    ((struct store_val){.type = SV_INT, .i = (int64_t)(x)})
#define SV_B(p, n) ((struct store_val){.type = SV_BLOB, .blob = (p), .len = (n)})

/* The head of every backend's connection. */
struct store_db {
    const struct store_backend *be;
};

enum store_rows_state {
    ROWS_BEFORE, /* opened, store_rows_next not called yet */
    ROWS_ROW,    /* on a row */
    ROWS_DONE,   /* past the last row */
    ROWS_FAILED  /* a read failed */
};

/* The head of every backend's row iterator. */
struct store_rows {
    const struct store_backend *be;
    int ncols; /* the column enum's count; the SELECT returns exactly these */
    enum store_rows_state state;
};

/*
 * What a backend provides. Every function returns 0 or CODEV_E_INTERNAL
 * unless it says otherwise; none logs, none puts SQL text or values in an
 * error. A connection is used by one thread at a time (store.c says which).
 */
struct store_backend {
    const char *name; /* "sqlite", "postgresql" (config key store) */
    /* The numbered migrations in this backend's DDL: migration(i) takes
     * the schema from version i to i + 1; NULL past the last. As many as
     * SQLite's (store_open checks). */
    const char *(*migration)(int i);
    /* SQL that serialises the migration runner between processes sharing
     * the database, and SQL that ends it (NULL: nothing to do, SQLite's
     * write transactions already exclude each other). */
    const char *migrate_lock, *migrate_unlock;
    /* Opens a connection (the writer's, or a read-only one). */
    int (*open)(const struct store_options *opts, bool writer, struct store_db **out);
    /* Closes it (NULL: no-op); scrub: the writer's last chance to make
     * deleted text unrecoverable (SQLite: a truncating checkpoint). */
    void (*close)(struct store_db *db, bool scrub);
    /* Runs sql (any number of statements, no parameters). */
    int (*exec)(struct store_db *db, const char *sql);
    /* Runs sql (one statement, no rows) with n parameters. */
    int (*run)(struct store_db *db, const char *sql, const struct store_val *v, int n);
    /* Runs the writer's statement id (enum store_stmt) with n parameters;
     * the PostgreSQL backend may hold a journal insert back and send it
     * with the next ones (multi-row), before any other statement and at
     * the latest at commit. */
    int (*stmt)(struct store_db *db, enum store_stmt id, const struct store_val *v,
                int n);
    /* A write transaction: begin, commit, and rollback (a no-op outside
     * one, so that it can follow any failure). */
    int (*begin)(struct store_db *db);
    int (*commit)(struct store_db *db);
    void (*rollback)(struct store_db *db);
    /* After a commit that deleted text: makes it unrecoverable. Returns 0
     * when done, nonzero to be tried again later (a reader held it off). */
    int (*scrub)(struct store_db *db);
    /* Start-up, after the migrations: indexes the journal rows after
     * journal_indexed.upto (store_sqlite.c, "The session index"). NULL:
     * the backend keeps its journal indexed as it appends. */
    int (*index_fold)(struct store_db *db);
    /* The row iterator (store.c's store_rows_* call these). */
    int (*rows_open)(struct store_db *db, const char *sql, int ncols,
                     const struct store_val *v, int n, struct store_rows **out);
    int (*rows_step)(struct store_rows *it); /* 1 row, 0 end, <0 error; sets state */
    int64_t (*rows_int)(const struct store_rows *it, int col);
    const char *(*rows_text)(const struct store_rows *it, int col);
    bool (*rows_null)(const struct store_rows *it, int col);
    const void *(*rows_blob)(const struct store_rows *it, int col, size_t *len);
    void (*rows_free)(struct store_rows *it);
};

/* The SQLite backend (store_sqlite.c), always built. */
extern const struct store_backend store_backend_sqlite;
/* The PostgreSQL backend (store_pg.c), built when CODEVD_HAVE_POSTGRESQL. */
extern const struct store_backend store_backend_pg;

struct store {
    const struct store_backend *be;
    struct store_db *w; /* the writer's connection */
    struct store_db *r; /* read-only connection, under read_mu */
    int version;
    uint32_t queue_max;
    uint32_t commit_window_us; /* store_options.commit_window_us */
    uint32_t commit_delay_us;  /* store_options.commit_delay_us (tests) */
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

    bool checkpoint_wanted; /* writer (or load) only: deleted text to scrub away */
    bool failing;           /* writer only: the last batch written failed */
    uint64_t failed_epoch;  /* writer only: records of this epoch or earlier fail
                               unwritten while failing (write_batch) */
    uint64_t epoch;         /* submitting thread only: stamped on each record */
    size_t in_flight_epoch; /* submitting thread only: of in_flight, the records
                               stamped with the current epoch */
    size_t in_flight;       /* submitting thread only */
    pthread_mutex_t read_mu;

    /* A cluster (store_options.node_id set; PostgreSQL): store_lease.c. */
    bool cluster;
    char node_id[STORE_NODE_ID_MAX + 1];
    uint32_t lease_ttl_ms;
    struct store_db *l;       /* the loop's connection for claims and release */
    pthread_mutex_t lease_mu; /* guards leases */
    struct store_lease *leases[STORE_LEASE_BUCKETS];
    uint64_t lease_batch;        /* writer only: the batch being checked */
    int64_t lease_renew_us;      /* writer only: when the leases were last renewed */
    volatile int lease_failing;  /* a renewal failed (read by the loop: /readyz) */
    volatile int lease_released; /* the drain released them: no more renewals */
};

/* ---- helpers (store.c) ---------------------------------------------------- */

/* Monotonic microseconds (the writer's timings). */
int64_t store_mono_us(void);

/* The writer wrote a batch of n records that it began at start_us
 * (store_mono_us): counted in s->stats. Called with s->mu held. */
void store_stats_batch(struct store *s, uint64_t n, int64_t start_us);

/* Copies a NUL-terminated id into a UUID-sized buffer (truncating). */
void store_id_copy(char dst[AUTH_UUID_LEN + 1], const char *src);

/* Runs sql (any number of statements, no parameters) on db. Returns 0 or
 * CODEV_E_INTERNAL. */
int store_db_exec(struct store_db *db, const char *sql);

/* Runs sql (one statement) with the text/integer arguments given by fmt:
 * 't' text (may be NULL), 'i' int64. Returns 0 or CODEV_E_INTERNAL. */
int store_db_run(struct store_db *db, const char *sql, const char *fmt, ...);

/* Runs the writer's statement id with n values (db->be->stmt). */
int store_stmt_exec(struct store_db *db, enum store_stmt id, const struct store_val *v,
                    int n);

/* Fills v[0..] from ap as fmt says ('t' text, 'i' int64); returns how
 * many (at most max; a longer fmt is cut). */
int store_vals_from(struct store_val *v, int max, const char *fmt, va_list ap);

#define STORE_PARAMS_MAX 32 /* parameters of one store_db_run / store_rows_open */

/* ---- rows: the backend-neutral iterator (store.c) --------------------------
 *
 * What the replay and the close read, they read through this iterator, by
 * the column enums above; only the *_open functions know the SQL. The
 * reads of store_read.c and the load_* queries of store_replay.c read
 * through it too: store_rows_open runs their own SQL, and store_rows_more
 * is the loop of every read (one place steps, checks the end and frees).
 * Each call goes to the backend that opened the iterator.
 */
struct store_rows;

/* Opens an iterator over sql, which must return exactly ncols columns, its
 * parameters bound from the arguments as fmt says ('t' text, may be NULL;
 * 'i' int64), as store_db_run. Sets *out (free with store_rows_free).
 * Returns 0 or CODEV_E_INTERNAL (sql does not prepare, or returns another
 * number of columns). Backend-neutral: the SQL is the common dialect. */
int store_rows_open(struct store_db *db, const char *sql, int ncols,
                    struct store_rows **out, const char *fmt, ...);

/* Opens an iterator over session_id's journal rows in journal order,
 * columns enum store_journal_col. Sets *out (free with store_rows_free).
 * Returns 0 or CODEV_E_INTERNAL. */
int store_rows_journal_open(struct store_db *db, const char *session_id,
                            struct store_rows **out);

/* Opens an iterator over session_id's row in sessions (none when there is
 * no such session), columns enum store_session_col. As above. */
int store_rows_session_open(struct store_db *db, const char *session_id,
                            struct store_rows **out);

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

/* Creates schema_version if needed and applies db's backend's migrations
 * version+1 .. target, each in its own transaction; sets *version to the
 * schema reached. Returns 0, or CODEV_E_INTERNAL (a migration failed, or
 * the database was made by a newer codevd). Main thread, at store_open. */
int store_schema_migrate(struct store_db *db, int target, int *version);

/* The migrations in each backend's DDL (store_schema.c,
 * store_pg_schema.c): the text taking the schema from version i to i + 1,
 * or NULL past the last (struct store_backend.migration). */
const char *store_schema_sqlite(int i);
const char *store_schema_pg(int i);

/* ---- records (store_submit.c makes them, store_writer.c writes them) ------ */

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
    char group_id[AUTH_UUID_LEN + 1]; /* GROUP_DELETE; CMD (its group's, for the lease) */
    int64_t at_ms;           /* GROUP, MEMBER_JOIN, SESSION_CLOSE: the submit's now_ms */
    struct hub_group *group; /* GROUP, MEMBER_JOIN, SESSION_CLOSE: a clone */
    struct session_snap *session;   /* SESSION_OPEN */
    struct snap_room_member joined; /* MEMBER_JOIN when session_id[0] */
    struct cmd_snap cmd;            /* CMD */
    char tail[];                    /* CMD: the command's strings */
};

/* ---- writer (store_writer.c) ---------------------------------------------- */

/* The writer thread's body (pthread_create's start routine; arg is the
 * store). Returns when s->stopping is set and nothing is pending. */
void *store_writer_main(void *arg);

/* Frees a list of records (store_close: what was never drained).
 * store_submit.c. */
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

/* ---- leases (store_lease.c) ------------------------------------------------- */

/* The group a record writes to (NULL: none, a probe). */
const char *store_rec_group(const struct store_rec *rec);

/* Cluster only, in the writer's open transaction before any record of
 * batch is written: checks that this node still holds, at the epoch it
 * took, every group the batch writes to (SELECT ... FOR SHARE: a node that
 * takes one of them waits for this transaction, and this one sees a take
 * that committed first). Each record of a group held by someone else gets
 * rc CODEV_E_MOVED (write_batch skips it); the group stays fenced until
 * the loop forgets it. Groups new to this node (created here) are taken
 * before the transaction (store_lease_take_new). Returns 0, or
 * CODEV_E_INTERNAL (the batch fails as any failed statement does). */
int store_lease_check(struct store *s, struct store_rec *batch);

/* Cluster only, before the batch's transaction: takes the lease of every
 * group of batch this node has no lease for (a group created here), in
 * autocommit, when nobody holds it. Writer thread. */
void store_lease_take_new(struct store *s, struct store_rec *batch);

/* Cluster only: renews this node's leases when a third of the TTL passed
 * since the last renewal. Writer thread, between batches. */
void store_lease_renew_due(struct store *s);

/* Frees the lease map (store_close). */
void store_lease_free_all(struct store *s);

/* Fills the hub with group_id (its members, plans, what it keeps between
 * sessions, its open session replayed, or its last closed room) read on
 * db; a session found closed but not finalized is counted in
 * rep->sessions_finalized and left open for the caller to close. Returns
 * 0 with *out, CODEV_E_UNKNOWN_GROUP (no such group), or CODEV_E_INTERNAL
 * (nothing of the group is left in h). store_replay.c. */
int store_load_group(struct store *s, struct store_db *db, struct hub *h,
                     const char *group_id, int64_t now_ms, struct store_load_report *rep,
                     struct hub_group **out);

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
int store_replay_session(struct store_db *db, const char *session_id,
                         struct store_replay *rp);

/* Frees what rp holds (the room too, unless it was taken) and zeroes it. */
void store_replay_release(struct store_replay *rp);

/*
 * Closes session sid in db's open transaction: replays it, writes its
 * history and what each person keeps, then applies the retention (personal:
 * deletes the journal and asks for a truncating checkpoint). closed_ms < 0:
 * the instant of the last journaled command. Writer thread, or the main
 * thread in store_load.
 */
int store_session_finalize(struct store *s, struct store_db *db, const char *sid,
                           int retention, int64_t closed_ms);

#endif
