/*
 * store.c - the store's life cycle: store_open (choose the backend,
 * connect, migrate, start the writer) and store_close, the neutral helpers
 * every store file shares, and the row iterator's dispatch to the backend
 * that opened it (store_internal.h). The backends: store_sqlite.c and
 * store_pg.c. The rest of the store: store_schema.c (migrations),
 * store_submit.c (records, the queue, drain), store_writer.c (the writer
 * thread, group commit),
 * store_replay.c (rebuild at start, finalize at close), store_read.c
 * (exports' reads). See store.h.
 *
 * Invariants:
 *   - Two connections. `w` belongs to the writer thread once store_open
 *     returned, except in store_load, which runs on the main thread before
 *     anything was submitted (the writer is then idle in its condition
 *     wait; the mutex hand-off orders the two). `r` is read-only and used
 *     under read_mu by the export reads.
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
#include <time.h>

#include "codevd_config.h"
#include "errors.h"

/* Copies a NUL-terminated id into a UUID-sized buffer (truncating). */
void store_id_copy(char dst[AUTH_UUID_LEN + 1], const char *src)
{
    snprintf(dst, AUTH_UUID_LEN + 1, "%s", src ? src : "");
}

/* ---- neutral helpers ---------------------------------------------------------- */

int store_vals_from(struct store_val *v, int max, const char *fmt, va_list ap)
{
    int n = 0;

    for (; n < max && fmt[n]; n++) {
        if (fmt[n] == 't')
            v[n] = SV_T(va_arg(ap, const char *));
        else
            v[n] = SV_I(va_arg(ap, int64_t));
    }
    return n;
}

int store_db_exec(struct store_db *db, const char *sql)
{
    return db->be->exec(db, sql);
}

int store_db_run(struct store_db *db, const char *sql, const char *fmt, ...)
{
    struct store_val v[STORE_PARAMS_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = store_vals_from(v, STORE_PARAMS_MAX, fmt, ap);
    va_end(ap);
    return db->be->run(db, sql, v, n);
}

int store_stmt_exec(struct store_db *db, enum store_stmt id, const struct store_val *v,
                    int n)
{
    return db->be->stmt(db, id, v, n);
}

/* ---- rows: the iterator, dispatched to its backend (store_internal.h) ---------- */

/* The SELECT must return exactly ncols columns: one that does not match its
 * column count fails at the open, not with shifted reads. */
int store_rows_open(struct store_db *db, const char *sql, int ncols,
                    struct store_rows **out, const char *fmt, ...)
{
    struct store_val v[STORE_PARAMS_MAX];
    va_list ap;
    int n;

    *out = NULL;
    va_start(ap, fmt);
    n = store_vals_from(v, STORE_PARAMS_MAX, fmt, ap);
    va_end(ap);
    return db->be->rows_open(db, sql, ncols, v, n, out);
}

/* The columns of journal, its id first. */
#define JOURNAL_COLS                                                                     \
    "id, session_id, kind, member, member_idx, name, facilitator, observer, cmd,"        \
    " cmd_id, text, due, target, ref, card, seconds, variant, flag, at_ms, seq,"         \
    " first_step"

int store_rows_journal_open(struct store_db *db, const char *session_id,
                            struct store_rows **out)
{
    /* Through the session index up to upto, then by a scan of the rows
     * after it (store_sqlite.c, "The session index"; on PostgreSQL upto is
     * 0 and journal keeps its own index on (session_id, id)). Two disjoint
     * parts, each on its own index, sorted: with one WHERE ... OR ...,
     * SQLite scans the whole table in id order to save the sort. */
    // clang-format off
    static const char sql[] =
        "SELECT session_id, kind, member, member_idx, name, facilitator, observer,"
        "       cmd, cmd_id, text, due, target, ref, card, seconds, variant, flag,"
        "       at_ms, seq, first_step"
        "  FROM (SELECT " JOURNAL_COLS " FROM journal"
        "         WHERE id IN (SELECT id FROM journal_by_session WHERE session_id = ?1)"
        "        UNION ALL"
        "        SELECT " JOURNAL_COLS " FROM journal"
        "         WHERE id > (SELECT upto FROM journal_indexed) AND session_id = ?1) AS j"
        " ORDER BY id";
    // clang-format on

    return store_rows_open(db, sql, JCOL_COUNT, out, "t", session_id);
}

int store_rows_session_open(struct store_db *db, const char *session_id,
                            struct store_rows **out)
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
    if (it->state == ROWS_DONE)
        return 0;
    if (it->state == ROWS_FAILED)
        return CODEV_E_INTERNAL;
    return it->be->rows_step(it);
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
    return rows_readable(it, col) ? it->be->rows_int(it, col) : 0;
}

const char *store_rows_text(const struct store_rows *it, int col)
{
    return rows_readable(it, col) ? it->be->rows_text(it, col) : NULL;
}

bool store_rows_null(const struct store_rows *it, int col)
{
    return !rows_readable(it, col) || it->be->rows_null(it, col);
}

const void *store_rows_blob(const struct store_rows *it, int col, size_t *len)
{
    *len = 0;
    return rows_readable(it, col) ? it->be->rows_blob(it, col, len) : NULL;
}

void store_rows_free(struct store_rows *it)
{
    if (it)
        it->be->rows_free(it);
}

/* ---- life cycle ------------------------------------------------------------------ */

/* The backend named by opts->backend (NULL or "" is SQLite), or NULL when
 * this codevd was built without it. */
static const struct store_backend *backend_of(const struct store_options *opts)
{
    const char *name = opts->backend && opts->backend[0] ? opts->backend : "sqlite";

    if (strcmp(name, store_backend_sqlite.name) == 0)
        return &store_backend_sqlite;
#if CODEVD_HAVE_POSTGRESQL
    if (strcmp(name, store_backend_pg.name) == 0)
        return &store_backend_pg;
#endif
    return NULL;
}

bool store_backend_available(const char *name)
{
    struct store_options o = {.backend = name};

    return backend_of(&o) != NULL;
}

int store_open(const struct store_options *opts, struct store **out)
{
    const struct store_backend *be = opts ? backend_of(opts) : NULL;
    struct store *s;
    int target, rc = CODEV_E_INTERNAL;

    *out = NULL;
    if (!be)
        return CODEV_E_INTERNAL;
    if (!be->migration(store_schema_version_latest() - 1) ||
        be->migration(store_schema_version_latest()))
        return CODEV_E_INTERNAL; /* a backend's migrations out of step */
    s = calloc(1, sizeof(*s));
    if (!s)
        return CODEV_E_INTERNAL;
    s->be = be;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->read_mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    s->queue_max = opts->queue_max ? opts->queue_max : STORE_QUEUE_MAX_DEFAULT;
    s->commit_window_us = opts->commit_window_us;
    s->commit_delay_us = opts->commit_delay_us;
    s->wake = opts->wake;
    s->wake_arg = opts->wake_arg;
    pthread_mutex_init(&s->lease_mu, NULL);
    if (opts->node_id && opts->node_id[0]) {
        /* A cluster: leases (store_lease.c), PostgreSQL only. */
        if (strcmp(be->name, "postgresql") != 0 ||
            strlen(opts->node_id) > STORE_NODE_ID_MAX) {
            store_close(s);
            return CODEV_E_INTERNAL;
        }
        s->cluster = true;
        memcpy(s->node_id, opts->node_id, strlen(opts->node_id) + 1);
        s->lease_ttl_ms = opts->lease_ttl_ms ? opts->lease_ttl_ms : 10000;
    }
    target = opts->schema_version_max > 0 &&
                     opts->schema_version_max < store_schema_version_latest()
                 ? opts->schema_version_max
                 : store_schema_version_latest();

    if (be->open(opts, true, &s->w) || store_schema_migrate(s->w, target, &s->version) ||
        be->open(opts, false, &s->r) || (s->cluster && be->open(opts, true, &s->l)))
        goto out;
    /* Before anything reads the journal (a failed fold leaves the rows
     * after upto, where every reader finds them). */
    if (be->index_fold && s->version >= STORE_SCHEMA_INDEX_FOLD)
        be->index_fold(s->w);
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
    if (s->cluster && s->l)
        store_lease_release_all(s); /* whatever a drain left: any node may take */
    store_lease_free_all(s);
    s->be->close(s->l, false);
    s->be->close(s->r, false);
    s->be->close(s->w, s->checkpoint_wanted);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->done_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->read_mu);
    pthread_mutex_destroy(&s->lease_mu);
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
