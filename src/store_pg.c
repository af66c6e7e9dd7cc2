/*
 * store_pg.c - the PostgreSQL backend of the store (store_internal.h,
 * struct store_backend), on libpq; built when meson finds libpq
 * (-Dpostgresql=enabled|auto) and chosen with `store = postgresql` and
 * `store_dsn` (a libpq connection string).
 *
 * What the SQLite backend does, and how it is done here:
 *   - Two connections, the writer's and a read-only one (SET
 *     default_transaction_read_only), each used by one thread at a time.
 *   - Group commit: write_batch's one transaction per batch (BEGIN ..
 *     COMMIT). The journal inserts of a batch (the commonest statement, one
 *     per command) are held in the connection and sent as multi-row INSERTs
 *     of up to PG_JOURNAL_ROWS_MAX rows, before any other statement of the
 *     connection and at the latest at COMMIT: a batch of 500 commands is
 *     one round trip, not 500. The rows keep their order (journal.id is a
 *     bigserial, taken in VALUES order).
 *   - A COMMIT that PostgreSQL turned into a ROLLBACK (the transaction had
 *     failed) is a failure, and so is any statement after a failed one:
 *     nothing is reported committed that was not.
 *   - Savepoints: none. write_batch fails a whole batch when one record
 *     fails (store_writer.c), and a failed statement aborts the whole
 *     PostgreSQL transaction anyway.
 *   - The other statements are the neutral files' SQL, their ?N
 *     parameters rewritten to $N (pg_sql), values sent as text (blobs as
 *     binary bytea), rows read as text ("t"/"f" booleans read as 1/0).
 *   - A connection that broke (the server stopped or restarted) is reset
 *     at the next transaction or read: until the server is back every
 *     batch fails (store_unavailable) and the edge's probes find out when
 *     it is (store.h, store_submit_probe).
 *   - Deleted text: PostgreSQL keeps a deleted row's bytes in the table's
 *     pages until VACUUM reuses them (and in its WAL until recycled); scrub
 *     does nothing here. Under retention "personal" the rows are gone for
 *     every query at the close's commit; making the bytes unrecoverable is
 *     the operator's VACUUM FULL (README, "Store on PostgreSQL"), which
 *     tests/unit/test_store.c checks.
 *   - sync_normal maps to synchronous_commit = off: a commit survives a
 *     crash of codevd, not of the PostgreSQL server's machine.
 *
 * Expected load: the writer's batches (hundreds to a few thousand records
 * a second), start-up's load, rare reads.
 */
#include "store_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"

#define PG_BYTEA_OID        17
#define PG_JOURNAL_ROWS_MAX 1000 /* rows of one INSERT (20 parameters each) */
#define PG_INT_TEXT         24   /* an int64 as text, with its NUL */

/* The writer's statements (enum store_stmt), prepared once per connection;
 * the journal insert is built by journal_flush. */
// clang-format off
static const char *const stmt_sql[ST_COUNT] = {
    [ST_GROUP_UPSERT] =
        "INSERT INTO groups (id, name, language, format, facilitator, invite_hash,"
        "                    retention, created_ms, active_ms, creator, display_hash,"
        "                    round_last, warn_before_s, step_minutes, ground_rules)"
        "     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, nullif($9, ''), $10,"
        "             nullif($11, ''), $12, $13, $14)"
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
        "     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (id) DO UPDATE"
        "        SET name = excluded.name, key_hash = excluded.key_hash,"
        "            observer = excluded.observer, removed = excluded.removed,"
        "            form = excluded.form",
    [ST_PLAN_UPSERT] =
        "INSERT INTO plans (id, group_id, ordinal, client, session_id, consultation,"
        "                   text, due, debriefed, pre_outcome, pre_comment, first_step)"
        "     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (id) DO UPDATE"
        "        SET debriefed = greatest(plans.debriefed, excluded.debriefed),"
        "            pre_outcome = excluded.pre_outcome,"
        "            pre_comment = excluded.pre_comment",
    [ST_SESSION_INSERT] =
        "INSERT INTO sessions (id, group_id, opened_ms, budgets, limits)"
        "     VALUES ($1, $2, $3, $4, $5)",
};
// clang-format on

/* The journal's columns, in the order of enum store_journal_col. */
static const char journal_cols[] =
    "INSERT INTO journal (session_id, kind, member, member_idx, name, facilitator,"
    " observer, cmd, cmd_id, text, due, target, ref, card, seconds, variant, flag,"
    " at_ms, seq, first_step) VALUES ";

struct pg_db {
    struct store_db base;
    PGconn *conn;
    bool writer;
    char setup[256];         /* the session's settings, again after a reset */
    bool in_txn;             /* between begin and commit / rollback */
    bool failed;             /* a statement failed in the open transaction */
    bool prepared[ST_COUNT]; /* on this session of conn (a reset loses them) */
    /* Journal rows held back: JCOL_COUNT values each, as offsets into text
     * (-1: NULL). */
    long *jvals;
    size_t jrows, jcap;
    char *text;
    size_t text_len, text_cap;
};

struct pg_rows {
    struct store_rows base;
    PGresult *res;
    int row, nrows;
    unsigned char **blobs; /* per column, unescaped on demand for this row */
    size_t *blob_lens;
};

static struct pg_db *pgdb(struct store_db *db)
{
    return (struct pg_db *)db;
}

/* Discards libpq's notices (CREATE TABLE IF NOT EXISTS says "skipping"):
 * the store does not log. */
static void notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* sql with its ?N parameters rewritten to $N (outside quoted text), in a
 * new string, or NULL. */
static char *pg_sql(const char *sql)
{
    char *out = strdup(sql), quote = 0;

    if (!out)
        return NULL;
    for (char *p = out; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?' && p[1] >= '0' && p[1] <= '9') {
            *p = '$';
        }
    }
    return out;
}

static int res_check(struct pg_db *p, PGresult *res);

/* When the connection broke, tries once to connect again (a blocking
 * connect: the writer thread, or a reader). Returns 0 when it is up. */
static int pg_ensure(struct pg_db *p)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    PQreset(p->conn);
    memset(p->prepared, 0, sizeof(p->prepared));
    if (PQstatus(p->conn) != CONNECTION_OK)
        return CODEV_E_INTERNAL;
    PQsetNoticeProcessor(p->conn, notice_drop, NULL);
    return res_check(p, PQexec(p->conn, p->setup));
}

/* The parameter arrays of n values: text in bufs (ints printed), blobs
 * binary. */
struct pg_params {
    const char *values[STORE_PARAMS_MAX];
    int lengths[STORE_PARAMS_MAX];
    int formats[STORE_PARAMS_MAX];
    Oid types[STORE_PARAMS_MAX];
    char ints[STORE_PARAMS_MAX][PG_INT_TEXT];
};

static int params_fill(struct pg_params *pp, const struct store_val *v, int n)
{
    if (n > STORE_PARAMS_MAX)
        return CODEV_E_INTERNAL;
    for (int i = 0; i < n; i++) {
        pp->lengths[i] = 0;
        pp->formats[i] = 0;
        pp->types[i] = 0;
        switch (v[i].type) {
        case SV_TEXT:
            pp->values[i] = v[i].text;
            break;
        case SV_INT:
            snprintf(pp->ints[i], PG_INT_TEXT, "%lld", (long long)v[i].i);
            pp->values[i] = pp->ints[i];
            break;
        case SV_BLOB:
            pp->values[i] = v[i].blob;
            pp->lengths[i] = (int)v[i].len;
            pp->formats[i] = 1;
            pp->types[i] = PG_BYTEA_OID;
            break;
        default:
            pp->values[i] = NULL;
        }
    }
    return 0;
}

/* Takes res (cleared here): 0 when it is one of the two good statuses. */
static int res_check(struct pg_db *p, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : CODEV_E_INTERNAL;

    PQclear(res);
    if (rc)
        p->failed = true;
    return rc;
}

/* ---- the journal rows held back ------------------------------------------- */

/* Copies s (with its NUL) into p->text; returns its offset, or -1 (NULL, or
 * *fail set on allocation failure). */
static long text_add(struct pg_db *p, const char *s, size_t len, bool *fail)
{
    long at = (long)p->text_len;

    if (array_grow((void **)&p->text, &p->text_cap, p->text_len + len + 1, 1)) {
        *fail = true;
        return -1;
    }
    memcpy(p->text + p->text_len, s, len);
    p->text[p->text_len + len] = '\0';
    p->text_len += len + 1;
    return at;
}

static int journal_hold(struct pg_db *p, const struct store_val *v, int n)
{
    bool fail = false;
    char num[PG_INT_TEXT];

    if (n != JCOL_COUNT || array_grow((void **)&p->jvals, &p->jcap,
                                      (p->jrows + 1) * JCOL_COUNT, sizeof(*p->jvals)))
        return CODEV_E_INTERNAL;
    for (int i = 0; i < JCOL_COUNT; i++) {
        long *slot = &p->jvals[p->jrows * JCOL_COUNT + i];
        if (v[i].type == SV_TEXT) {
            *slot = text_add(p, v[i].text, strlen(v[i].text), &fail);
        } else if (v[i].type == SV_INT) {
            int len = snprintf(num, sizeof(num), "%lld", (long long)v[i].i);
            *slot = text_add(p, num, (size_t)len, &fail);
        } else {
            *slot = -1; /* no blob in the journal */
        }
    }
    if (fail)
        return CODEV_E_INTERNAL;
    p->jrows++;
    return 0;
}

static void journal_drop(struct pg_db *p)
{
    p->jrows = 0;
    p->text_len = 0;
}

/* Sends rows [from, from + n) as one INSERT. */
static int journal_insert_rows(struct pg_db *p, size_t from, size_t n)
{
    size_t cap = sizeof(journal_cols) + n * (JCOL_COUNT * 8 + 4), len; /* ",$12345" */
    const char **values = calloc(n * JCOL_COUNT, sizeof(*values));
    char *sql = malloc(cap);
    int rc = CODEV_E_INTERNAL;

    if (!values || !sql)
        goto out;
    len = (size_t)snprintf(sql, cap, "%s", journal_cols);
    for (size_t r = 0; r < n; r++) {
        for (int c = 0; c < JCOL_COUNT; c++) {
            long off = p->jvals[(from + r) * JCOL_COUNT + c];
            size_t k = r * JCOL_COUNT + (size_t)c;
            values[k] = off < 0 ? NULL : p->text + off;
            len += (size_t)snprintf(sql + len, cap - len, "%s$%zu",
                                    c == 0 ? (r ? ",(" : "(") : ",", k + 1);
        }
        len += (size_t)snprintf(sql + len, cap - len, ")");
    }
    rc = res_check(p, PQexecParams(p->conn, sql, (int)(n * JCOL_COUNT), NULL, values,
                                   NULL, NULL, 0));
out:
    free(values);
    free(sql);
    if (rc)
        p->failed = true;
    return rc;
}

/* Sends every row held back, in order. */
static int journal_flush(struct pg_db *p)
{
    int rc = 0;

    for (size_t at = 0; !rc && at < p->jrows; at += PG_JOURNAL_ROWS_MAX) {
        size_t n =
            p->jrows - at < PG_JOURNAL_ROWS_MAX ? p->jrows - at : PG_JOURNAL_ROWS_MAX;
        rc = journal_insert_rows(p, at, n);
    }
    journal_drop(p);
    return rc;
}

/* Before any statement: outside a transaction, a broken connection is
 * tried again; inside one, nothing runs after a failure (a connection
 * reset there would go on outside the transaction) until the rollback; the
 * rows held back go first. */
static int pg_before(struct pg_db *p)
{
    if (!p->in_txn) {
        p->failed = false;
        return pg_ensure(p);
    }
    if (p->failed || PQstatus(p->conn) != CONNECTION_OK ||
        PQtransactionStatus(p->conn) != PQTRANS_INTRANS) {
        p->failed = true;
        return CODEV_E_INTERNAL;
    }
    return p->jrows ? journal_flush(p) : 0;
}

/* ---- statements ------------------------------------------------------------- */

static int pg_exec(struct store_db *db, const char *sql)
{
    struct pg_db *p = pgdb(db);

    if (pg_before(p))
        return CODEV_E_INTERNAL;
    return res_check(p, PQexec(p->conn, sql));
}

static int pg_run(struct store_db *db, const char *sql, const struct store_val *v, int n)
{
    struct pg_db *p = pgdb(db);
    struct pg_params pp;
    char *q;
    int rc;

    if (pg_before(p) || params_fill(&pp, v, n) || !(q = pg_sql(sql)))
        return CODEV_E_INTERNAL;
    rc = res_check(
        p, PQexecParams(p->conn, q, n, pp.types, pp.values, pp.lengths, pp.formats, 0));
    free(q);
    return rc;
}

static int pg_stmt(struct store_db *db, enum store_stmt id, const struct store_val *v,
                   int n)
{
    struct pg_db *p = pgdb(db);
    struct pg_params pp;
    char name[16];

    if (id == ST_SAVEPOINT || id == ST_RELEASE || id == ST_ROLLBACK_TO)
        return 0; /* a failing record fails its whole batch (see the top) */
    if (id == ST_JOURNAL_INSERT)
        return p->failed || !p->in_txn ? CODEV_E_INTERNAL : journal_hold(p, v, n);
    if (pg_before(p) || params_fill(&pp, v, n))
        return CODEV_E_INTERNAL;
    snprintf(name, sizeof(name), "codevd_st%d", (int)id);
    if (!p->prepared[id]) {
        if (res_check(p, PQprepare(p->conn, name, stmt_sql[id], 0, NULL)))
            return CODEV_E_INTERNAL;
        p->prepared[id] = true;
    }
    return res_check(
        p, PQexecPrepared(p->conn, name, n, pp.values, pp.lengths, pp.formats, 0));
}

static int pg_begin(struct store_db *db)
{
    struct pg_db *p = pgdb(db);

    journal_drop(p);
    p->in_txn = false;
    if (pg_exec(db, "BEGIN"))
        return CODEV_E_INTERNAL;
    p->in_txn = true;
    return 0;
}

/* COMMIT on a failed transaction answers "ROLLBACK": that is a failure. */
static int pg_commit(struct store_db *db)
{
    struct pg_db *p = pgdb(db);
    PGresult *res;
    int rc;

    if (!p->in_txn || pg_before(p))
        return CODEV_E_INTERNAL;
    res = PQexec(p->conn, "COMMIT");
    rc =
        PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0
            ? 0
            : CODEV_E_INTERNAL;
    PQclear(res);
    if (rc)
        p->failed = true;
    else
        p->in_txn = false;
    return rc;
}

static void pg_rollback(struct store_db *db)
{
    struct pg_db *p = pgdb(db);

    journal_drop(p);
    if (PQstatus(p->conn) == CONNECTION_OK &&
        PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        PQclear(PQexec(p->conn, "ROLLBACK"));
    p->failed = false;
    p->in_txn = false;
}

/* PostgreSQL keeps deleted bytes until VACUUM (see the top): nothing to do
 * after the commit. */
static int pg_scrub(struct store_db *db)
{
    (void)db;
    return 0;
}

/* ---- rows ---------------------------------------------------------------------- */

static int pg_rows_open(struct store_db *db, const char *sql, int ncols,
                        const struct store_val *v, int n, struct store_rows **out)
{
    struct pg_db *p = pgdb(db);
    struct pg_rows *it;
    struct pg_params pp;
    char *q;

    *out = NULL;
    if (pg_before(p) || params_fill(&pp, v, n) || !(q = pg_sql(sql)))
        return CODEV_E_INTERNAL;
    it = calloc(1, sizeof(*it));
    if (!it) {
        free(q);
        return CODEV_E_INTERNAL;
    }
    it->base.be = db->be;
    it->base.ncols = ncols;
    it->row = -1;
    it->res = PQexecParams(p->conn, q, n, pp.types, pp.values, pp.lengths, pp.formats, 0);
    free(q);
    it->blobs = calloc((size_t)ncols + 1, sizeof(*it->blobs));
    it->blob_lens = calloc((size_t)ncols + 1, sizeof(*it->blob_lens));
    if (PQresultStatus(it->res) != PGRES_TUPLES_OK || PQnfields(it->res) != ncols ||
        !it->blobs || !it->blob_lens) {
        p->failed = true;
        it->base.be->rows_free(&it->base);
        return CODEV_E_INTERNAL;
    }
    it->nrows = PQntuples(it->res);
    *out = &it->base;
    return 0;
}

static void blobs_clear(struct pg_rows *it)
{
    for (int i = 0; i < it->base.ncols; i++) {
        PQfreemem(it->blobs[i]);
        it->blobs[i] = NULL;
    }
}

static int pg_rows_step(struct store_rows *base)
{
    struct pg_rows *it = (struct pg_rows *)base;

    blobs_clear(it);
    it->row++;
    base->state = it->row < it->nrows ? ROWS_ROW : ROWS_DONE;
    return base->state == ROWS_ROW ? 1 : 0;
}

static const struct pg_rows *rows_of(const struct store_rows *it)
{
    return (const struct pg_rows *)it;
}

static bool pg_rows_null(const struct store_rows *base, int col)
{
    const struct pg_rows *it = rows_of(base);

    return PQgetisnull(it->res, it->row, col) != 0;
}

static const char *pg_rows_text(const struct store_rows *base, int col)
{
    const struct pg_rows *it = rows_of(base);

    return pg_rows_null(base, col) ? NULL : PQgetvalue(it->res, it->row, col);
}

static int64_t pg_rows_int(const struct store_rows *base, int col)
{
    const char *t = pg_rows_text(base, col);

    if (!t)
        return 0;
    if (strcmp(t, "t") == 0)
        return 1; /* a boolean (IS NOT NULL, EXISTS) */
    return strtoll(t, NULL, 10);
}

static const void *pg_rows_blob(const struct store_rows *base, int col, size_t *len)
{
    struct pg_rows *it = (struct pg_rows *)(uintptr_t)base; /* the blob cache */
    const char *t = pg_rows_text(base, col);

    *len = 0;
    if (!t)
        return NULL;
    if (!it->blobs[col]) {
        it->blobs[col] = PQunescapeBytea((const unsigned char *)t, &it->blob_lens[col]);
        if (!it->blobs[col])
            return NULL;
    }
    *len = it->blob_lens[col];
    return *len ? it->blobs[col] : NULL;
}

static void pg_rows_free(struct store_rows *base)
{
    struct pg_rows *it = (struct pg_rows *)base;

    if (it->blobs)
        blobs_clear(it);
    free(it->blobs);
    free(it->blob_lens);
    PQclear(it->res);
    free(it);
}

/* ---- connections ------------------------------------------------------------------ */

static void pg_close(struct store_db *db, bool scrub)
{
    struct pg_db *p = pgdb(db);

    (void)scrub;
    if (!p)
        return;
    PQfinish(p->conn);
    free(p->jvals);
    free(p->text);
    free(p);
}

static int pg_open(const struct store_options *opts, bool writer, struct store_db **out)
{
    struct pg_db *p;

    *out = NULL;
    if (!opts->dsn || !opts->dsn[0] || !(p = calloc(1, sizeof(*p))))
        return CODEV_E_INTERNAL;
    p->base.be = &store_backend_pg;
    p->writer = writer;
    {
        /* A PostgreSQL that stops answering (a partition, a host gone)
         * must fail a connect or a query within seconds, never block the
         * writer for the kernel's minutes: these come first, so that the
         * DSN's own settings (expanded from dbname, later) win. */
        static const char *const keys[] = {"connect_timeout",  "keepalives",
                                           "keepalives_idle",  "keepalives_interval",
                                           "keepalives_count", "tcp_user_timeout",
                                           "dbname",           NULL};
        const char *vals[] = {"5", "1", "10", "5", "3", "10000", opts->dsn, NULL};
        p->conn = PQconnectdbParams(keys, vals, 1);
    }
    if (PQstatus(p->conn) != CONNECTION_OK) {
        pg_close(&p->base, false);
        return CODEV_E_INTERNAL;
    }
    PQsetNoticeProcessor(p->conn, notice_drop, NULL);
    /* statement_timeout: no statement of codevd's takes seconds; one that
     * does is a server in trouble, and fails rather than hangs.
     * In a cluster (node_id set), two more for a node that stops in the
     * middle of a transaction (SIGSTOP, a VM paused, a long GC-like stall):
     *   - idle_in_transaction_session_timeout, half a lease: PostgreSQL
     *     ends that transaction, so the row locks it holds (a batch's
     *     SELECT ... FOR SHARE of its groups' leases) do not keep another
     *     node from taking the groups once the lease has expired; the
     *     paused node's batch then fails, unacknowledged.
     *   - lock_timeout, 2 s: a takeover that meets such a lock (on the
     *     taker's loop thread) gives up within 2 s instead of waiting for
     *     statement_timeout; the caller answers store_unavailable and the
     *     client tries again. */
    if (!writer)
        snprintf(p->setup, sizeof(p->setup),
                 "SET default_transaction_read_only = on; SET statement_timeout = '30s'");
    else if (opts->node_id && opts->node_id[0])
        snprintf(
            p->setup, sizeof(p->setup),
            "SET synchronous_commit = %s; SET statement_timeout = '30s';"
            " SET lock_timeout = '2s'; SET idle_in_transaction_session_timeout = '%ums'",
            opts->sync_normal ? "off" : "on",
            opts->lease_ttl_ms / 2 > 1000 ? opts->lease_ttl_ms / 2 : 1000);
    else
        snprintf(p->setup, sizeof(p->setup),
                 "SET synchronous_commit = %s; SET statement_timeout = '30s'",
                 opts->sync_normal ? "off" : "on");
    if (pg_exec(&p->base, p->setup)) {
        pg_close(&p->base, false);
        return CODEV_E_INTERNAL;
    }
    *out = &p->base;
    return 0;
}

const struct store_backend store_backend_pg = {
    .name = "postgresql",
    .migration = store_schema_pg,
    /* Several nodes started at once on an empty database (a cluster under
     * systemd): without it both ran migration 1 and one exited on a
     * duplicate CREATE TABLE. A session lock, since CREATE TABLE IF NOT
     * EXISTS schema_version itself races outside any transaction. */
    .migrate_lock = "SELECT pg_advisory_lock(7302571017)",
    .migrate_unlock = "SELECT pg_advisory_unlock(7302571017)",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .run = pg_run,
    .stmt = pg_stmt,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .scrub = pg_scrub,
    .rows_open = pg_rows_open,
    .rows_step = pg_rows_step,
    .rows_int = pg_rows_int,
    .rows_text = pg_rows_text,
    .rows_null = pg_rows_null,
    .rows_blob = pg_rows_blob,
    .rows_free = pg_rows_free,
};
