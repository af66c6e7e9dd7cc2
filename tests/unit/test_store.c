/*
 * test_store.c - the store: schema and migrations, groups through a
 * restart, journal replay, group commit, retention at close, reads.
 *
 * Each test works in its own mkdtemp directory. A "crash" is simulated by
 * closing the store (everything submitted is committed) and loading the
 * database into a fresh hub, as codevd does at start-up; the kill -9 tests
 * with the real server live in tests/integration.
 *
 * Both backends: with CODEVD_TEST_PG_DSN set (a libpq connection string to
 * a server the test may create a database on as a superuser: the pg suite
 * of tests/run-all.sh starts one, tests/lib/pg.mjs), every test runs
 * against PostgreSQL instead, in a database codevd_test whose schema is
 * emptied before each test. What differs is said where it does: the
 * schema checks, and the byte search of retention, which on PostgreSQL is
 * a query over every row plus, once no row has the text, a search of the
 * database's files after VACUUM FULL (store_pg.c says why).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "hub.h"
#include "store.h"
#include "store_internal.h" /* the journal row iterator */
#include "test_helpers.h"

#include "codevd_config.h"
#if CODEVD_HAVE_POSTGRESQL
#include <dirent.h>
#include <libpq-fe.h>
#endif

/* The PostgreSQL database the tests use, or NULL: SQLite (see the top). */
static char *pg_dsn;

#define T0  1700000000000LL /* the session opens */
#define MIN (60 * 1000LL)

#define CMD(t, ...) ((struct room_cmd){.type = (t), __VA_ARGS__})

/* What a drain reported. */
struct acks {
    uint64_t tokens[20000];
    int rcs[20000];
    size_t n;
};

static void on_done(void *arg, uint64_t token, int rc)
{
    struct acks *a = arg;

    if (a->n < sizeof(a->tokens) / sizeof(a->tokens[0])) {
        a->tokens[a->n] = token;
        a->rcs[a->n] = rc;
    }
    a->n++;
}

static atomic_int wakes;

static void on_wake(void *arg)
{
    (void)arg;
    atomic_fetch_add(&wakes, 1);
}

struct fx {
    char dir[64];
    struct config cfg;
    struct store *store;
    struct hub *hub;
    struct hub_group *g;
    char id[5][AUTH_UUID_LEN + 1]; /* F, A, B, C, D */
    char key[5][AUTH_SECRET_LEN + 1];
    char invite[AUTH_SECRET_LEN + 1];
    uint64_t token;
    struct acks acks;
    int64_t now;
    uint32_t card_question, card_contrib_b, card_contrib_c, card_action;
    uint64_t seq_b4;    /* the ack of B's contribution "b4" */
    uint32_t fold_rows; /* store_options.journal_fold_rows (0: the default) */
};

enum { F, A, B, C, D };

static struct store *open_store(struct fx *f, int version_max, uint32_t queue_max)
{
    struct store_options o = {
        .backend = pg_dsn ? "postgresql" : "sqlite",
        .dsn = pg_dsn,
        .data_dir = f->dir,
        .queue_max = queue_max,
        .sync_normal = true,
        .wake = on_wake,
        .schema_version_max = version_max,
        .journal_fold_rows = f->fold_rows,
    };
    struct store *s = NULL;

    assert_int_equal(store_open(&o, &s), 0);
    assert_non_null(s);
    return s;
}

#if CODEVD_HAVE_POSTGRESQL
static void pg_notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *pg_conn; /* the tests' own connection to the test database */

/* Runs sql on the test database; returns the first column of its first row
 * as an integer (-1 when it has none). */
static int64_t pg_query(const char *sql, const char *param)
{
    PGresult *res;
    int64_t v = -1;

    if (!pg_conn) {
        pg_conn = PQconnectdb(pg_dsn);
        assert_int_equal(PQstatus(pg_conn), CONNECTION_OK);
        PQsetNoticeProcessor(pg_conn, pg_notice_drop, NULL);
    }
    res = param ? PQexecParams(pg_conn, sql, 1, NULL, &param, NULL, NULL, 0)
                : PQexec(pg_conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(pg_conn));
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        v = PQgetvalue(res, 0, 0)[0] == 't' ? 1
                                            : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}
#endif

/* An empty database: SQLite's files removed, PostgreSQL's schema emptied. */
static void db_reset(const struct fx *f);

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/codevd-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    db_reset(f);
    f->cfg = test_config();
    f->hub = hub_new(&f->cfg);
    f->store = open_store(f, 0, 0);
    f->token = 1;
    *state = f;
    return 0;
}

static void remove_file(const struct fx *f, const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    unlink(path);
}

static void db_reset(const struct fx *f)
{
#if CODEVD_HAVE_POSTGRESQL
    if (pg_dsn) {
        pg_query("DROP SCHEMA public CASCADE; CREATE SCHEMA public", NULL);
        return;
    }
#endif
    remove_file(f, "codevd.db");
    remove_file(f, "codevd.db-wal");
    remove_file(f, "codevd.db-shm");
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->store);
    hub_free(f->hub);
    remove_file(f, "codevd.db");
    remove_file(f, "codevd.db-wal");
    remove_file(f, "codevd.db-shm");
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Waits for every submitted record and collects what drain reports; every
 * rc must be 0. */
static void commit_all(struct fx *f)
{
    size_t before = f->acks.n;

    store_flush(f->store);
    store_drain(f->store, on_done, &f->acks);
    for (size_t i = before; i < f->acks.n; i++)
        assert_int_equal(f->acks.rcs[i], 0);
}

/* Closes the store and the hub and loads the database into a fresh hub, as
 * a restart does. */
static struct store_load_report restart(struct fx *f, int64_t now)
{
    struct store_load_report rep;

    store_close(f->store);
    hub_free(f->hub);
    f->store = open_store(f, 0, 0);
    f->hub = hub_new(&f->cfg);
    assert_int_equal(store_load(f->store, f->hub, now, &rep), 0);
    f->g = NULL;
    return rep;
}

/* Creates the group (F facilitates; A, B, C join) and saves it. */
static void make_group(struct fx *f, int64_t now)
{
    static const char *const names[] = {"Léa", "Ana", "Bruno", "Chloé", "Dev"};
    int idx;

    assert_int_equal(hub_group_create(f->hub, "", "Managers Lyon", names[F], "fr", 90,
                                      &f->g, f->id[F], f->key[F], f->invite),
                     0);
    assert_int_equal(store_submit_group(f->store, f->g, now, f->token++), 0);
    for (int m = A; m <= C; m++) {
        assert_int_equal(
            hub_member_join(f->hub, f->g, f->invite, names[m], f->id[m], f->key[m], &idx),
            0);
        assert_int_equal(store_submit_member_join(f->store, f->g, idx, now, f->token++),
                         0);
    }
}

/* Applies cmd from member m at f->now as the server does, and journals it. */
static uint64_t apply(struct fx *f, int m, struct room_cmd cmd)
{
    struct room *r = f->g->room;
    int idx = room_member_find(r, f->id[m]);
    uint64_t seq = 0;
    bool dup = true;

    assert_true(idx >= 0);
    assert_false(store_is_full(f->store));
    assert_int_equal(room_apply(r, idx, &cmd, f->now, &seq, &dup), 0);
    assert_false(dup);
    room_outbox_clear(r);
    hub_sync(f->hub, f->g);
    assert_int_equal(store_submit_cmd(f->store, r, idx, &cmd, f->now, seq, f->token++),
                     0);
    return seq;
}

static void open_session(struct fx *f)
{
    assert_int_equal(hub_session_open(f->hub, f->g, f->now), 0);
    assert_int_equal(store_submit_session_open(f->store, f->g, f->token++), 0);
}

/*
 * Runs one consultation of a session with A as client, up to the learning
 * step (the step clock running), with D joining mid-session. Each kind of
 * text carries a marker the retention test looks for.
 */
static void drive_consultation(struct fx *f)
{
    struct room *r;
    char target[AUTH_UUID_LEN + 1];
    int idx;

    f->now = T0;
    open_session(f);
    r = f->g->room;
    apply(f, B, CMD(CMD_CHECKIN_POST, .id = "b1", .text = "CHECKIN-SECRET tired"));
    f->now += 2 * MIN;
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f1"));
    apply(f, A, CMD(CMD_TOPIC_PROPOSE, .id = "a1", .text = "TOPIC-SECRET my team"));
    memcpy(target, f->id[A], sizeof(target));
    apply(f, F, CMD(CMD_CLIENT_ASSIGN, .id = "f2", .target = target));
    f->now += 3 * MIN;
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f3"));
    apply(f, A, CMD(CMD_PROBLEM_SET, .id = "a2", .text = "PROBLEM-KEPT my team resists"));

    /* D joins while the session runs. */
    assert_int_equal(
        hub_member_join(f->hub, f->g, f->invite, "Dev", f->id[D], f->key[D], &idx), 0);
    assert_true(idx >= 0);
    assert_int_equal(store_submit_member_join(f->store, f->g, idx, f->now, f->token++),
                     0);

    f->now += 7 * MIN;
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f4"));
    apply(f, B, CMD(CMD_QUESTION_ASK, .id = "b2", .text = "QUESTION-SECRET since when?"));
    f->card_question = (uint32_t)r->ncards;
    apply(f, A,
          CMD(CMD_QUESTION_ANSWER, .id = "a3", .card = f->card_question,
              .text = "ANSWER-SECRET since May"));
    apply(f, D, CMD(CMD_HAND_RAISE, .id = "d1"));
    f->now += 15 * MIN;
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f5"));
    apply(
        f, C,
        CMD(CMD_REFORMULATION_POST, .id = "c1", .text = "REFORMULATION-SECRET you mean"));
    apply(f, A, CMD(CMD_CONTRACT_SET, .id = "a4", .text = "CONTRACT-KEPT help me to"));
    apply(f, B, CMD(CMD_CONTRACT_ACK, .id = "b3"));
    f->now += 4 * MIN;
    /* The contract-ack check depends on presence: journaled forced. */
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f6", .flag = true));
    f->seq_b4 = apply(f, B,
                      CMD(CMD_CONTRIBUTION_POST, .id = "b4",
                          .text = "CONTRIB-KEPT-B try 1:1s", .variant = KIND_SUGGESTION));
    f->card_contrib_b = (uint32_t)r->ncards;
    apply(f, C,
          CMD(CMD_CONTRIBUTION_POST, .id = "c2", .text = "CONTRIB-KEPT-C I lived it",
              .variant = KIND_EXPERIENCE));
    f->card_contrib_c = (uint32_t)r->ncards;
    apply(f, A, CMD(CMD_MARK_SET, .id = "a5", .card = f->card_contrib_b, .flag = true));
    apply(f, A, CMD(CMD_RECADRAGE, .id = "a6"));
    f->now += 20 * MIN;
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f7"));
    apply(f, A,
          CMD(CMD_ACTION_ADD, .id = "a7", .text = "ACTION-KEPT meet each one",
              .due = "next month"));
    f->card_action = (uint32_t)r->ncards;
    apply(f, A, CMD(CMD_NOTE_POST, .id = "a8", .text = "NOTE-KEPT-A ask HR"));
    f->now += 8 * MIN;
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f8"));
    apply(f, B,
          CMD(CMD_LEARNING_POST, .id = "b5", .text = "LEARNING-KEPT-B listen more",
              .variant = DIM_PROCESS));
    apply(f, C, CMD(CMD_NOTE_POST, .id = "c3", .text = "NOTE-KEPT-C private"));
    apply(f, F, CMD(CMD_TIMER_ADD, .id = "f9", .seconds = 120));
    f->now += 1 * MIN;
}

static void assert_str_same(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Asserts that two rooms hold the same state and give the same clock at now. */
static void assert_rooms_equal(const struct room *a, const struct room *b, int64_t now)
{
    assert_string_equal(a->session_id, b->session_id);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->step, b->step);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->hand_counter, b->hand_counter);
    assert_int_equal(a->facilitator, b->facilitator);
    assert_memory_equal(a->budget_ms, b->budget_ms, sizeof(a->budget_ms));
    assert_int_equal(a->opening_budget_ms, b->opening_budget_ms);
    assert_int_equal(a->opening_used_ms, b->opening_used_ms);
    assert_int_equal(a->clock.budget_ms, b->clock.budget_ms);
    assert_int_equal(a->clock.used_ms, b->clock.used_ms);
    assert_int_equal(a->clock.running, b->clock.running);
    if (a->clock.running)
        assert_int_equal(a->clock.started_ms, b->clock.started_ms);
    assert_int_equal(clock_remaining(&a->clock, now), clock_remaining(&b->clock, now));

    assert_int_equal(a->nmembers, b->nmembers);
    for (size_t i = 0; i < a->nmembers; i++) {
        const struct room_member *x = &a->members[i], *y = &b->members[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->observer, y->observer);
        assert_int_equal(x->removed, y->removed);
        assert_int_equal(x->hand, y->hand);
        assert_int_equal(x->step_cards, y->step_cards);
        assert_int_equal(x->seen_n, y->seen_n);
        assert_int_equal(x->seen_next, y->seen_next);
        if (x->seen_n)
            assert_memory_equal(x->seen, y->seen, x->seen_n * sizeof(*x->seen));
    }
    assert_int_equal(a->nconsultations, b->nconsultations);
    for (size_t i = 0; i < a->nconsultations; i++) {
        const struct room_consultation *x = &a->consultations[i],
                                       *y = &b->consultations[i];
        assert_int_equal(x->client, y->client);
        assert_str_same(x->problem, y->problem);
        assert_str_same(x->contract, y->contract);
        assert_int_equal(x->acks, y->acks);
        assert_memory_equal(x->step_budget_ms, y->step_budget_ms,
                            sizeof(x->step_budget_ms));
        assert_memory_equal(x->step_used_ms, y->step_used_ms, sizeof(x->step_used_ms));
        assert_int_equal(x->recadrages, y->recadrages);
        assert_int_equal(x->last_recadrage_ms, y->last_recadrage_ms);
    }
    assert_int_equal(a->ncards, b->ncards);
    for (size_t i = 0; i < a->ncards; i++) {
        const struct room_card *x = &a->cards[i], *y = &b->cards[i];
        assert_int_equal(x->id, y->id);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->author, y->author);
        assert_int_equal(x->consultation, y->consultation);
        assert_int_equal(x->step, y->step);
        assert_int_equal(x->created_ms, y->created_ms);
        assert_string_equal(x->text, y->text);
        assert_int_equal(x->variant, y->variant);
        assert_str_same(x->answer, y->answer);
        assert_str_same(x->due, y->due);
        assert_int_equal(x->flagged, y->flagged);
        assert_int_equal(x->marked, y->marked);
        assert_int_equal(x->removed, y->removed);
    }
    assert_int_equal(a->ndebriefs, b->ndebriefs);
    for (size_t i = 0; i < a->ndebriefs; i++) {
        assert_string_equal(a->debriefs[i].id, b->debriefs[i].id);
        assert_int_equal(a->debriefs[i].client, b->debriefs[i].client);
        assert_string_equal(a->debriefs[i].text, b->debriefs[i].text);
        assert_str_same(a->debriefs[i].due, b->debriefs[i].due);
        assert_int_equal(a->debriefs[i].outcome, b->debriefs[i].outcome);
        assert_str_same(a->debriefs[i].comment, b->debriefs[i].comment);
    }
}

/* Reads a whole file (an empty buffer when it does not exist). */
static char *slurp(const struct fx *f, const char *name, size_t *len)
{
    char path[128];
    FILE *fp;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    *len = 0;
    fp = fopen(path, "rb");
    if (!fp)
        return calloc(1, 1);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    return buf;
}

#if CODEVD_HAVE_POSTGRESQL
/* Does text occur in the bytes of a file of directory dir? */
static bool dir_contains(const char *dir, const char *text)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;

    assert_non_null(d);
    while (!found && (e = readdir(d))) {
        char path[1024];
        FILE *fp;
        char *buf;
        long n;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || !(fp = fopen(path, "rb")))
            continue;
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        n = (long)fread(buf, 1, (size_t)n, fp);
        fclose(fp);
        found = memmem(buf, (size_t)n, text, strlen(text)) != NULL;
        free(buf);
    }
    closedir(d);
    return found;
}

/*
 * PostgreSQL's "on disk": any row of any table whose text holds it (what
 * every query sees); once none does, the bytes of the database's files
 * after VACUUM FULL (which rewrites every table, leaving the old files
 * empty) and a checkpoint. Its WAL is not searched: it keeps what was
 * written until PostgreSQL recycles its segments (README, "Store on
 * PostgreSQL").
 */
static bool pg_on_disk(const char *text)
{
    static const char *const tables[] = {
        "groups",          "members",       "plans",
        "sessions",        "journal",       "consultations",
        "cases",           "case_items",    "notebook",
        "proposals",       "drafts",        "rota",
        "session_members", "session_floor", "consultation_steps"};
    static int64_t vacuumed_at = -1; /* WAL position after the last VACUUM FULL */
    char sql[2048], dir[512];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        n += (size_t)snprintf(
            sql + n, sizeof(sql) - n,
            "%s(SELECT count(*) FROM %s t WHERE strpos(t::text, $1) > 0)",
            i ? " + " : "SELECT ", tables[i]);
    if (pg_query(sql, text) > 0)
        return true;
    /* The planner's samples (pg_statistic, through pg_stats): values kept
     * there outlive a deletion (store_pg_schema.c, migration 12). Searched
     * as text, since on disk they may be compressed. */
    if (pg_query("SELECT count(*) FROM pg_stats WHERE schemaname = current_schema()"
                 "   AND (strpos(coalesce(most_common_vals::text, ''), $1) > 0"
                 "     OR strpos(coalesce(histogram_bounds::text, ''), $1) > 0)",
                 text) > 0)
        return true;
    /* Once per change of the database: rewrite every table, checkpoint. */
    if (pg_query("SELECT pg_current_wal_lsn() - '0/0'", NULL) != vacuumed_at) {
        pg_query("VACUUM FULL", NULL);
        pg_query("CHECKPOINT", NULL);
        vacuumed_at = pg_query("SELECT pg_current_wal_lsn() - '0/0'", NULL);
    }
    {
        PGresult *res =
            PQexec(pg_conn, "SELECT current_setting('data_directory') || '/base/' || oid"
                            "  FROM pg_database WHERE datname = current_database()");
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        snprintf(dir, sizeof(dir), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return dir_contains(dir, text);
}
#endif

/* Does text occur in the raw bytes of codevd.db or codevd.db-wal? (On
 * PostgreSQL: pg_on_disk.) */
static bool on_disk(const struct fx *f, const char *text)
{
    static const char *const files[] = {"codevd.db", "codevd.db-wal"};
    bool found = false;

#if CODEVD_HAVE_POSTGRESQL
    if (pg_dsn)
        return pg_on_disk(text);
#endif
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char *buf = slurp(f, files[i], &len);
        found |= memmem(buf, len, text, strlen(text)) != NULL;
        free(buf);
    }
    return found;
}

/* Runs one query returning one integer, on a connection of the test's own. */
static int64_t sql_int(const struct fx *f, const char *sql)
{
    char path[128];
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;

#if CODEVD_HAVE_POSTGRESQL
    if (pg_dsn)
        return pg_query(sql, NULL);
#endif
    snprintf(path, sizeof(path), "%s/codevd.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const struct fx *f, const char *sql)
{
    char path[128];
    sqlite3 *db;

#if CODEVD_HAVE_POSTGRESQL
    if (pg_dsn) {
        pg_query(sql, NULL);
        return;
    }
#endif
    snprintf(path, sizeof(path), "%s/codevd.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Restarts and points f->g at the reloaded group. */
static struct store_load_report restart_group(struct fx *f, int64_t now)
{
    char gid[AUTH_UUID_LEN + 1];
    struct store_load_report rep;

    memcpy(gid, f->g->id, sizeof(gid));
    f->g = NULL;
    rep = restart(f, now);
    f->g = hub_group_find(f->hub, gid);
    assert_non_null(f->g);
    return rep;
}

/* Closes the running session (as F) and submits the close. */
static void close_session(struct fx *f)
{
    f->now += 5 * MIN;
    apply(f, F, CMD(CMD_SESSION_CLOSE, .id = "fclose"));
    assert_int_equal(f->g->room->step, STEP_CLOSED);
    assert_int_equal(store_submit_session_close(f->store, f->g, f->now, f->token++), 0);
    commit_all(f);
}

/* ---- schema ---------------------------------------------------------------- */

static void a_new_database_gets_the_latest_schema_in_wal_mode(void **state)
{
    struct fx *f = *state;

    assert_int_equal(store_schema_version(f->store), store_schema_version_latest());
    assert_true(store_schema_version_latest() >= 2);
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_version"),
                     store_schema_version_latest());
    if (pg_dsn) {
        assert_int_equal(
            sql_int(f, "SELECT count(*) FROM information_schema.tables"
                       " WHERE table_schema = 'public' AND table_name IN ('groups',"
                       " 'members', 'plans', 'sessions', 'journal', 'consultations',"
                       " 'consultation_steps', 'cases', 'case_items', 'notebook')"),
            10);
        /* No planner statistics on what members write (migration 12): a
         * later migration's text column without SET STATISTICS 0 fails
         * here. */
        assert_int_equal(
            sql_int(f, "SELECT count(*) FROM information_schema.columns c"
                       "  JOIN pg_attribute a ON a.attrelid = "
                       "(quote_ident(c.table_name))::regclass"
                       "                     AND a.attname = c.column_name"
                       " WHERE c.table_schema = current_schema()"
                       "   AND c.data_type IN ('text', 'bytea')"
                       "   AND c.column_name <> 'id' AND c.column_name NOT LIKE '%\\_id'"
                       "   AND coalesce(a.attstattarget, -1) <> 0"),
            0);
        return; /* no WAL mode to check: PostgreSQL's own */
    }
    assert_int_equal(
        sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                   " name IN ('groups', 'members', 'plans', 'sessions', 'journal',"
                   " 'consultations', 'consultation_steps', 'cases', 'case_items',"
                   " 'notebook')"),
        10);
    assert_int_equal(sql_int(f,
                             "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode"
                             " = 'wal'"),
                     1);
}

static void a_v1_database_opens_upgraded_with_its_data_intact(void **state)
{
    struct fx *f = *state;
    struct hub_group *g;
    struct store_load_report rep;
    uint8_t hash[AUTH_HASH_LEN];

    /* A database made by the first schema version, with a group in it. */
    store_close(f->store);
    db_reset(f);
    f->store = open_store(f, 1, 0);
    assert_int_equal(store_schema_version(f->store), 1);
    store_close(f->store);
    f->store = NULL;
    assert_int_equal(sql_int(f, pg_dsn
                                    ? "SELECT count(*) FROM information_schema.columns"
                                      " WHERE table_name = 'groups'"
                                      "   AND column_name = 'retention'"
                                    : "SELECT count(*) FROM pragma_table_info('groups')"
                                      " WHERE name = 'retention'"),
                     0);
    /* zeroblob(32) in SQLite; 32 zero bytes in PostgreSQL. */
    sql_exec(f, pg_dsn ? "CREATE FUNCTION zeroblob(n int) RETURNS bytea LANGUAGE sql"
                         " AS 'SELECT decode(repeat(''00'', n), ''hex'')'"
                       : "SELECT 1");
    sql_exec(
        f,
        "INSERT INTO groups VALUES ('11111111-1111-4111-8111-111111111111', 'Old group',"
        " 'en', 45, '22222222-2222-4222-8222-222222222222', zeroblob(32), 42);"
        "INSERT INTO members VALUES ('22222222-2222-4222-8222-222222222222',"
        " '11111111-1111-4111-8111-111111111111', 0, 'Olga', zeroblob(32), 0, 0);"
        "INSERT INTO plans (id, group_id, ordinal, client, text) VALUES"
        " ('33333333-3333-4333-8333-333333333333',"
        " '11111111-1111-4111-8111-111111111111', 0,"
        " '22222222-2222-4222-8222-222222222222', 'Call the board');");

    f->store = open_store(f, 0, 0);
    assert_int_equal(store_schema_version(f->store), store_schema_version_latest());
    assert_int_equal(store_load(f->store, f->hub, T0, &rep), 0);
    assert_int_equal(rep.groups, 1);
    assert_int_equal(rep.members, 1);
    assert_int_equal(rep.plans, 1);
    g = hub_group_find(f->hub, "11111111-1111-4111-8111-111111111111");
    assert_non_null(g);
    assert_string_equal(g->name, "Old group");
    assert_string_equal(g->language, "en");
    assert_int_equal(g->format, 45);
    assert_int_equal(g->retention, HUB_RETENTION_PERSONAL);
    memset(hash, 0, sizeof(hash));
    assert_memory_equal(g->invite_hash, hash, AUTH_HASH_LEN);
    assert_int_equal(g->nmembers, 1);
    assert_string_equal(g->members[0].name, "Olga");
    assert_int_equal(g->nplans, 1);
    assert_string_equal(g->plans[0].text, "Call the board");
    assert_false(g->plans[0].debriefed);
}

/* ---- groups ------------------------------------------------------------------ */

static void groups_members_and_plans_come_back_after_a_restart(void **state)
{
    struct fx *f = *state;
    struct hub_plan plan = {.id = "44444444-4444-4444-8444-444444444444",
                            .consultation = -1};
    struct store_load_report rep;
    struct hub_group *g;
    const struct hub_member *m;
    uint8_t invite_hash[AUTH_HASH_LEN];

    make_group(f, T0);
    assert_int_equal(hub_group_retention_set(f->g, "keep"), 0);
    memcpy(plan.client, f->id[A], sizeof(plan.client));
    plan.text = "Talk to Marc";
    plan.due = "Friday";
    assert_int_equal(hub_plan_insert(f->g, &plan), 0);
    f->g->members[C].observer = true;
    f->g->members[B].removed = true;
    memcpy(invite_hash, f->g->invite_hash, sizeof(invite_hash));
    assert_int_equal(store_submit_group(f->store, f->g, T0, f->token++), 0);
    commit_all(f);
    assert_int_equal(f->acks.n, 5);

    rep = restart_group(f, T0);
    assert_int_equal(rep.groups, 1);
    assert_int_equal(rep.members, 4);
    assert_int_equal(rep.plans, 1);
    assert_int_equal(rep.sessions_rebuilt, 0);
    g = f->g;
    assert_string_equal(g->name, "Managers Lyon");
    assert_string_equal(g->language, "fr");
    assert_int_equal(g->format, 90);
    assert_string_equal(g->facilitator, f->id[F]);
    assert_int_equal(g->retention, HUB_RETENTION_KEEP);
    assert_memory_equal(g->invite_hash, invite_hash, AUTH_HASH_LEN);
    assert_int_equal(g->nmembers, 4);
    for (int i = F; i <= C; i++)
        assert_string_equal(g->members[i].id, f->id[i]);
    assert_string_equal(g->members[A].name, "Ana");
    assert_true(g->members[C].observer);
    assert_true(g->members[B].removed);
    assert_false(g->members[A].removed);
    /* Keys still open the group: only their hashes were kept. */
    m = hub_member_auth(g, f->key[A]);
    assert_non_null(m);
    assert_string_equal(m->id, f->id[A]);
    assert_int_equal(g->nplans, 1);
    assert_string_equal(g->plans[0].id, plan.id);
    assert_string_equal(g->plans[0].client, f->id[A]);
    assert_string_equal(g->plans[0].text, "Talk to Marc");
    assert_string_equal(g->plans[0].due, "Friday");
    assert_false(g->plans[0].debriefed);
}

static void a_group_keeps_its_creator_and_its_counts_after_a_restart(void **state)
{
    struct fx *f = *state;
    char id[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1], inv[AUTH_SECRET_LEN + 1];
    struct hub_group *g2;
    uint32_t groups, sessions;

    assert_int_equal(hub_group_create(f->hub, "192.0.2.7", "Managers Lyon", "Léa", "fr",
                                      90, &f->g, id, key, inv),
                     0);
    assert_int_equal(store_submit_group(f->store, f->g, T0, f->token++), 0);
    assert_int_equal(hub_group_create(f->hub, "192.0.2.7", "Other", "Zoé", "en", 45, &g2,
                                      id, key, inv),
                     0);
    assert_int_equal(store_submit_group(f->store, g2, T0, f->token++), 0);
    f->now = T0;
    open_session(f);
    commit_all(f);

    restart_group(f, T0);
    assert_string_equal(f->g->creator, "192.0.2.7");
    hub_creator_usage(f->hub, "192.0.2.7", &groups, &sessions);
    assert_int_equal(groups, 2);
    assert_int_equal(sessions, 1);
    /* A later save of the group (its settings) keeps who created it. */
    assert_int_equal(store_submit_group(f->store, f->g, T0 + 1, f->token++), 0);
    commit_all(f);
    restart_group(f, T0);
    assert_string_equal(f->g->creator, "192.0.2.7");
}

/* ---- the journal -------------------------------------------------------------- */

static void replay_rebuilds_an_open_room_identical_to_the_original(void **state)
{
    struct fx *f = *state;
    struct room *orig;
    struct store_load_report rep;
    struct room_cmd old;
    uint64_t seq = 0;
    bool dup = false;
    int b;

    make_group(f, T0);
    drive_consultation(f);
    commit_all(f);
    /* Keep the live room as the reference, then "crash" and reload. */
    orig = f->g->room;
    f->g->room = NULL;
    f->g->room_counted = false;
    f->hub->open_sessions--;

    rep = restart_group(f, f->now + 30 * MIN);
    assert_int_equal(rep.sessions_rebuilt, 1);
    assert_int_equal(rep.replay_mismatches, 0);
    assert_true(rep.records_replayed > 30);
    assert_int_equal(f->hub->open_sessions, 1);
    assert_non_null(f->g->room);
    /* Same state, and the same clock at any instant after the restart. */
    assert_rooms_equal(orig, f->g->room, f->now);
    assert_rooms_equal(orig, f->g->room, f->now + 30 * MIN);
    assert_true(f->g->room->clock.running);
    assert_int_equal(f->g->room->step, STEP_LEARNING);
    assert_int_equal(f->g->room->nmembers, 5);

    /* A command B had acked before the crash is recognised as a duplicate. */
    b = room_member_find(f->g->room, f->id[B]);
    old = CMD(CMD_CONTRIBUTION_POST, .id = "b4", .text = "CONTRIB-KEPT-B try 1:1s");
    assert_int_equal(room_apply(f->g->room, b, &old, f->now, &seq, &dup), 0);
    assert_true(dup);
    assert_int_equal(seq, f->seq_b4);
    assert_int_equal(f->g->room->seq, orig->seq);
    /* A new command continues the sequence. */
    f->now += MIN;
    assert_int_equal(
        apply(f, B,
              CMD(CMD_LEARNING_POST, .id = "b6", .text = "more", .variant = DIM_CONTENT)),
        orig->seq + 1);
    commit_all(f);
    room_free(orig);
}

static void a_running_step_clock_counts_the_downtime(void **state)
{
    struct fx *f = *state;
    int64_t at_crash, after;

    make_group(f, T0);
    drive_consultation(f);
    commit_all(f);
    at_crash = clock_used(&f->g->room->clock, f->now);
    restart_group(f, f->now + 10 * MIN);
    after = clock_used(&f->g->room->clock, f->now + 10 * MIN);
    assert_true(f->g->room->clock.running);
    assert_int_equal(after, at_crash + 10 * MIN);
}

static void group_commit_reports_every_record_once_in_order(void **state)
{
    struct fx *f = *state;
    struct room_cmd cmd = CMD(CMD_NOTE_POST, .text = "note");
    const size_t n = 5000;
    size_t got = 0;
    int fidx;

    make_group(f, T0);
    f->now = T0;
    open_session(f);
    commit_all(f);
    f->acks.n = 0;
    atomic_store(&wakes, 0);
    fidx = room_member_find(f->g->room, f->id[F]);
    for (size_t i = 0; i < n; i++) {
        snprintf(cmd.id, sizeof(cmd.id), "n%zu", i);
        assert_int_equal(
            store_submit_cmd(f->store, f->g->room, fidx, &cmd, T0, i + 1, 1000 + i), 0);
        if (i % 97 == 0)
            got += store_drain(f->store, on_done, &f->acks);
    }
    while (got < n) {
        store_flush(f->store);
        got += store_drain(f->store, on_done, &f->acks);
    }
    assert_int_equal(got, n);
    assert_int_equal(f->acks.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f->acks.tokens[i], 1000 + i);
        assert_int_equal(f->acks.rcs[i], 0);
    }
    assert_true(atomic_load(&wakes) >= 1);
    assert_int_equal(store_drain(f->store, on_done, &f->acks), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal WHERE kind = 3"),
                     (int64_t)n);
}

static void a_full_queue_refuses_submits_until_drained(void **state)
{
    struct fx *f = *state;

    store_close(f->store);
    f->store = open_store(f, 0, 3);
    assert_int_equal(hub_group_create(f->hub, "", "Small queue", "Léa", "fr", 45, &f->g,
                                      f->id[F], f->key[F], f->invite),
                     0);
    for (uint64_t t = 1; t <= 3; t++)
        assert_int_equal(store_submit_group(f->store, f->g, T0, t), 0);
    assert_true(store_is_full(f->store));
    assert_int_equal(store_submit_group(f->store, f->g, T0, 4), CODEV_E_RATE_LIMITED);
    /* Committed but not drained still counts: the loop must drain. */
    store_flush(f->store);
    assert_true(store_is_full(f->store));
    assert_int_equal(store_drain(f->store, on_done, &f->acks), 3);
    assert_false(store_is_full(f->store));
    assert_int_equal(store_submit_group(f->store, f->g, T0, 5), 0);
    commit_all(f);
    assert_int_equal(f->acks.n, 4);
    assert_int_equal(f->acks.tokens[3], 5);
}

/* A record that fails fails its whole batch, and every record submitted
 * after it fails unwritten until the loop has seen the failure
 * (store_resume): none was decided without it. Then writing goes on. */
static void a_failing_record_fails_everything_after_it_until_resume(void **state)
{
    struct fx *f = *state;
    struct room *stray;
    struct room_limits lim = {1000, 4000, 30, 16};
    struct room_cmd cmd = CMD(CMD_NOTE_POST, .id = "x", .text = "stray");

    make_group(f, T0);
    commit_all(f);
    f->acks.n = 0;
    /* A command for a session the store never saw opened breaks a foreign key. */
    stray = room_new("55555555-5555-4555-8555-555555555555", NULL, &lim, T0);
    assert_true(room_member_add(stray, f->id[F], "Léa", true, false) >= 0);
    assert_int_equal(store_submit_group(f->store, f->g, T0, 1), 0);
    assert_int_equal(store_submit_cmd(f->store, stray, 0, &cmd, T0, 1, 2), 0);
    assert_int_equal(store_submit_group(f->store, f->g, T0, 3), 0);
    store_flush(f->store);
    assert_int_equal(store_drain(f->store, on_done, &f->acks), 3);
    assert_int_equal(f->acks.tokens[0], 1); /* in the failed batch or an earlier one */
    assert_true(f->acks.rcs[0] == 0 || f->acks.rcs[0] == CODEV_E_STORE_UNAVAILABLE);
    assert_int_equal(f->acks.tokens[1], 2);
    assert_int_equal(f->acks.rcs[1], CODEV_E_STORE_UNAVAILABLE);
    assert_int_equal(f->acks.tokens[2], 3);
    assert_int_equal(f->acks.rcs[2], CODEV_E_STORE_UNAVAILABLE);
    /* Until the loop resumes, even a good record fails, unwritten. */
    assert_int_equal(store_submit_probe(f->store, 4), 0);
    store_flush(f->store);
    assert_int_equal(store_drain(f->store, on_done, &f->acks), 1);
    assert_int_equal(f->acks.rcs[3], CODEV_E_STORE_UNAVAILABLE);
    store_resume(f->store);
    assert_int_equal(store_in_flight_since_resume(f->store), 0);
    assert_int_equal(store_submit_probe(f->store, 5), 0);
    assert_int_equal(store_submit_group(f->store, f->g, T0, 6), 0);
    assert_int_equal(store_in_flight_since_resume(f->store), 2);
    store_flush(f->store);
    assert_int_equal(store_drain(f->store, on_done, &f->acks), 2);
    assert_int_equal(store_in_flight_since_resume(f->store), 0);
    assert_int_equal(f->acks.rcs[4], 0);
    assert_int_equal(f->acks.rcs[5], 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal"), 0);
    room_free(stray);
}

static void closing_the_store_commits_what_is_still_queued(void **state)
{
    struct fx *f = *state;
    struct room_cmd cmd = CMD(CMD_NOTE_POST, .text = "late");
    int fidx;

    make_group(f, T0);
    f->now = T0;
    open_session(f);
    fidx = room_member_find(f->g->room, f->id[F]);
    for (int i = 0; i < 500; i++) {
        snprintf(cmd.id, sizeof(cmd.id), "late%d", i);
        assert_int_equal(store_submit_cmd(f->store, f->g->room, fidx, &cmd, T0,
                                          (uint64_t)i + 1, (uint64_t)i),
                         0);
    }
    store_close(f->store); /* no flush, no drain */
    f->store = NULL;
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal WHERE kind = 3"), 500);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM members"), 4);
    f->store = open_store(f, 0, 0);
}

static void submits_refuse_what_cannot_be_journaled(void **state)
{
    struct fx *f = *state;
    struct room_cmd cmd = CMD(CMD_NOTE_POST, .id = "n", .text = "x");

    make_group(f, T0);
    f->now = T0;
    open_session(f);
    assert_int_equal(store_submit_cmd(f->store, f->g->room, 17, &cmd, T0, 1, 0),
                     CODEV_E_BAD_FIELD);
    assert_int_equal(store_submit_cmd(f->store, NULL, 0, &cmd, T0, 1, 0),
                     CODEV_E_BAD_FIELD);
    apply(f, F, CMD(CMD_CHECKIN_POST, .id = "c", .text = "hello"));
    /* Too late to describe how the room was built: a command was applied. */
    assert_int_equal(store_submit_session_open(f->store, f->g, 0), CODEV_E_BAD_FIELD);
    assert_int_equal(store_submit_member_join(f->store, f->g, 40, T0, 0),
                     CODEV_E_BAD_FIELD);
    commit_all(f);
}

/* ---- closing: retention and history ------------------------------------------------ */

static void personal_retention_erases_group_text_from_the_db_and_the_wal(void **state)
{
    struct fx *f = *state;
    static const char *const erased[] = {"CHECKIN-SECRET", "TOPIC-SECRET",
                                         "QUESTION-SECRET", "ANSWER-SECRET",
                                         "REFORMULATION-SECRET"};
    struct store_journal *j;

    make_group(f, T0);
    drive_consultation(f);
    commit_all(f);
    /* The texts are on disk while the session runs... */
    for (size_t i = 0; i < sizeof(erased) / sizeof(erased[0]); i++)
        assert_true(on_disk(f, erased[i]));
    close_session(f);
    /* ...and gone from both files once it closed. */
    for (size_t i = 0; i < sizeof(erased) / sizeof(erased[0]); i++)
        assert_false(on_disk(f, erased[i]));
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal"), 0);

    /* The client keeps problem, contract, contributions with marks, plan. */
    assert_int_equal(store_journal_read(f->store, f->id[A], &j), 0);
    assert_int_equal(j->ncases, 1);
    assert_string_equal(j->cases[0].session_id, f->g->room->session_id);
    assert_int_equal(j->cases[0].consultation, 0);
    assert_string_equal(j->cases[0].problem, "PROBLEM-KEPT my team resists");
    assert_string_equal(j->cases[0].contract, "CONTRACT-KEPT help me to");
    assert_int_equal(j->cases[0].nitems, 2);
    assert_int_equal(j->cases[0].items[0].card, f->card_contrib_b);
    assert_string_equal(j->cases[0].items[0].text, "CONTRIB-KEPT-B try 1:1s");
    assert_int_equal(j->cases[0].items[0].variant, KIND_SUGGESTION);
    assert_true(j->cases[0].items[0].marked);
    assert_string_equal(j->cases[0].items[1].text, "CONTRIB-KEPT-C I lived it");
    assert_false(j->cases[0].items[1].marked);
    assert_int_equal(j->nplans, 1);
    assert_string_equal(j->plans[0].text, "ACTION-KEPT meet each one");
    assert_string_equal(j->plans[0].due, "next month");
    assert_false(j->plans[0].debriefed);
    assert_int_equal(j->plans[0].outcome, -1);
    assert_int_equal(j->nentries, 1);
    assert_int_equal(j->entries[0].type, CARD_NOTE);
    assert_string_equal(j->entries[0].text, "NOTE-KEPT-A ask HR");
    store_journal_free(j);

    /* Each member keeps their own learnings and notes, nobody else's. */
    assert_int_equal(store_journal_read(f->store, f->id[B], &j), 0);
    assert_int_equal(j->ncases, 0);
    assert_int_equal(j->nplans, 0);
    assert_int_equal(j->nentries, 1);
    assert_int_equal(j->entries[0].type, CARD_LEARNING);
    assert_int_equal(j->entries[0].variant, DIM_PROCESS);
    assert_int_equal(j->entries[0].step, STEP_LEARNING);
    assert_string_equal(j->entries[0].text, "LEARNING-KEPT-B listen more");
    store_journal_free(j);
    assert_int_equal(store_journal_read(f->store, f->id[C], &j), 0);
    assert_int_equal(j->nentries, 1);
    assert_string_equal(j->entries[0].text, "NOTE-KEPT-C private");
    store_journal_free(j);

    /* No minutes under personal retention. */
    {
        struct room *minutes = NULL;
        assert_int_equal(store_minutes_read(f->store, f->g->room->session_id, &minutes),
                         CODEV_E_NOT_FOUND);
        assert_null(minutes);
    }
}

static void interleaved_sessions_close_without_a_trace(struct fx *f);

static void personal_retention_erases_text_interleaved_with_another_session(void **state)
{
    interleaved_sessions_close_without_a_trace(*state);
}

/* The same with the journal indexed by session every 64 rows (SQLite), so
 * that each session's rows are found both through the index and after it
 * at its close, and no index entry outlives its row. */
static void personal_retention_erases_text_indexed_in_bulk(void **state)
{
    struct fx *f = *state;

    if (pg_dsn)
        skip(); /* PostgreSQL indexes as it appends */
    store_close(f->store);
    f->fold_rows = 64;
    f->store = open_store(f, 0, 0);
    interleaved_sessions_close_without_a_trace(f);
}

/* Two groups whose journals interleave row by row: closing one erases its
 * text even from pages the other group's rows still use, and closing the
 * other later leaves no stale copy of its moved rows. */
static void interleaved_sessions_close_without_a_trace(struct fx *f)
{
    struct hub_group *g1, *g2;
    char id2[AUTH_UUID_LEN + 1], key2[AUTH_SECRET_LEN + 1], inv2[AUTH_SECRET_LEN + 1];
    char text[300], marker[32];
    int found = 0;

    f->hub->room_limits.cards_per_step = 100000;
    make_group(f, T0);
    g1 = f->g;
    assert_int_equal(hub_group_create(f->hub, "", "Other group", "Zoé", "en", 45, &g2,
                                      id2, key2, inv2),
                     0);
    assert_int_equal(store_submit_group(f->store, g2, T0, f->token++), 0);
    f->now = T0;
    open_session(f);
    assert_int_equal(hub_session_open(f->hub, g2, T0), 0);
    assert_int_equal(store_submit_session_open(f->store, g2, f->token++), 0);
    for (int i = 0; i < 400; i++) {
        struct room_cmd cmd = CMD(CMD_CHECKIN_POST, .text = text);
        uint64_t seq;
        bool dup;

        snprintf(text, sizeof(text), "G1-SECRET-%04d %0*d", i, 150 + (i * 37) % 120, i);
        snprintf(cmd.id, sizeof(cmd.id), "g1-%d", i);
        f->g = g1;
        apply(f, B, cmd);
        snprintf(text, sizeof(text), "G2-KEPT-%04d %0*d", i, 100 + (i * 53) % 150, i);
        snprintf(cmd.id, sizeof(cmd.id), "g2-%d", i);
        assert_int_equal(room_apply(g2->room, 0, &cmd, f->now, &seq, &dup), 0);
        room_outbox_clear(g2->room);
        assert_int_equal(store_submit_cmd(f->store, g2->room, 0, &cmd, f->now, seq, 0),
                         0);
        if (i % 50 == 0)
            commit_all(f);
    }
    commit_all(f);
    f->g = g1;
    close_session(f);
    for (int i = 0; i < 400; i++) {
        snprintf(marker, sizeof(marker), "G1-SECRET-%04d", i);
        found += on_disk(f, marker);
    }
    assert_int_equal(found, 0);
    assert_true(on_disk(f, "G2-KEPT-0399"));
#if CODEVD_HAVE_POSTGRESQL
    /* What autovacuum does now and then, here for sure: the planner samples
     * the tables while the other group's text is there. */
    if (pg_dsn)
        pg_query("ANALYZE", NULL);
#endif
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal"), 400 + 1);

    /* The other group's rows were moved about by the first deletion; when
     * its own session closes, no copy of them is left behind either. */
    {
        struct room_cmd close = CMD(CMD_SESSION_CLOSE, .id = "g2-close");
        uint64_t seq;
        bool dup;

        assert_int_equal(room_apply(g2->room, 0, &close, f->now, &seq, &dup), 0);
        room_outbox_clear(g2->room);
        assert_int_equal(store_submit_cmd(f->store, g2->room, 0, &close, f->now, seq, 0),
                         0);
        hub_sync(f->hub, g2);
        assert_int_equal(store_submit_session_close(f->store, g2, f->now, 0), 0);
        commit_all(f);
        for (int i = 0; i < 400; i++) {
            snprintf(marker, sizeof(marker), "G2-KEPT-%04d", i);
            found += on_disk(f, marker);
        }
        assert_int_equal(found, 0);
        assert_int_equal(sql_int(f, "SELECT count(*) FROM journal"), 0);
    }
}

static void keep_retention_keeps_the_full_minutes(void **state)
{
    struct fx *f = *state;
    struct room *minutes = NULL;
    struct store_journal *j;

    make_group(f, T0);
    assert_int_equal(hub_group_retention_set(f->g, "keep"), 0);
    assert_int_equal(store_submit_group(f->store, f->g, T0, f->token++), 0);
    drive_consultation(f);
    close_session(f);
    assert_true(on_disk(f, "QUESTION-SECRET"));
    assert_int_equal(store_minutes_read(f->store, f->g->room->session_id, &minutes), 0);
    assert_non_null(minutes);
    assert_rooms_equal(f->g->room, minutes, f->now);
    assert_string_equal(room_card_get(minutes, f->card_question)->text,
                        "QUESTION-SECRET since when?");
    room_free(minutes);
    /* Personal journals are there as well. */
    assert_int_equal(store_journal_read(f->store, f->id[A], &j), 0);
    assert_int_equal(j->ncases, 1);
    store_journal_free(j);
}

static int64_t c_steps_topic_used(const struct store_history *h)
{
    return h->sessions[0].consultations[0].steps[STEP_TOPIC].used_ms;
}

static void closing_writes_the_history_with_planned_and_actual_durations(void **state)
{
    struct fx *f = *state;
    struct store_history *h;
    const struct store_consultation_history *c;
    int64_t budgets[STEP_COUNT];

    make_group(f, T0);
    drive_consultation(f);
    close_session(f);
    assert_int_equal(hub_format_budgets(90, budgets), 0);
    assert_int_equal(store_history_read(f->store, f->g->id, &h), 0);
    assert_int_equal(h->nsessions, 1);
    assert_string_equal(h->sessions[0].id, f->g->room->session_id);
    assert_int_equal(h->sessions[0].opened_ms, T0);
    assert_int_equal(h->sessions[0].closed_ms, f->now);
    assert_int_equal(h->sessions[0].opening.planned_ms, budgets[STEP_OPENING]);
    /* The opening clock was never started. */
    assert_int_equal(h->sessions[0].opening.used_ms, 0);
    assert_int_equal(c_steps_topic_used(h), 3 * MIN);
    assert_int_equal(h->sessions[0].nconsultations, 1);
    c = &h->sessions[0].consultations[0];
    assert_string_equal(c->client, f->id[A]);
    assert_string_equal(c->facilitator, f->id[F]);
    assert_int_equal(c->steps[STEP_CLARIFICATION].planned_ms,
                     budgets[STEP_CLARIFICATION]);
    assert_int_equal(c->steps[STEP_CLARIFICATION].used_ms, 15 * MIN);
    assert_int_equal(c->steps[STEP_CONSULTATION].used_ms, 20 * MIN);
    assert_int_equal(c->steps[STEP_LEARNING].planned_ms,
                     budgets[STEP_LEARNING] + 2 * MIN);
    assert_int_equal(c->steps[STEP_LEARNING].used_ms, 6 * MIN);
    store_history_free(h);
}

static void a_session_closed_just_before_a_crash_is_finalized_at_load(void **state)
{
    struct fx *f = *state;
    struct store_load_report rep;

    make_group(f, T0);
    drive_consultation(f);
    f->now += MIN;
    apply(f, F, CMD(CMD_SESSION_CLOSE, .id = "fclose"));
    commit_all(f); /* the close command is journaled; the close record never came */
    rep = restart_group(f, f->now + 5 * MIN);
    assert_int_equal(rep.sessions_finalized, 1);
    assert_int_equal(rep.sessions_rebuilt, 0);
    assert_int_equal(f->hub->open_sessions, 0);
    assert_int_equal(f->g->nplans, 1);
    assert_string_equal(f->g->plans[0].text, "ACTION-KEPT meet each one");
    assert_false(on_disk(f, "QUESTION-SECRET"));
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sessions WHERE closed_ms IS NULL"),
                     0);
    /* Loading again finds nothing left to do, and the plan once. */
    rep = restart_group(f, f->now + 6 * MIN);
    assert_int_equal(rep.sessions_finalized, 0);
    assert_int_equal(f->g->nplans, 1);
}

/* A closed room is display data: one that cannot be read (a damaged row)
 * is skipped and counted, and the server still starts with every group. */
static void an_unreadable_closed_room_is_skipped_not_fatal(void **state)
{
    struct fx *f = *state;
    struct store_load_report rep;

    make_group(f, T0);
    drive_consultation(f);
    close_session(f);
    sql_exec(f, "UPDATE sessions SET limits = 'not json'");
    rep = restart_group(f, f->now + MIN);
    assert_int_equal(rep.closed_rooms_skipped, 1);
    assert_int_equal(rep.groups, 1);
    assert_null(f->g->room);
    assert_int_equal(f->g->nplans, 1);
}

/* A deleted group's text leaves the WAL even when a reader held the
 * checkpoint off at the delete: the writer tries again by itself, with no
 * further write to carry it (a quiet server). */
static void deleted_text_leaves_the_wal_once_a_reader_lets_go(void **state)
{
    struct fx *f = *state;
    char path[160];
    sqlite3 *reader;
    sqlite3_stmt *st;

    if (pg_dsn)
        skip(); /* SQLite's WAL checkpoint; PostgreSQL's scrub is VACUUM FULL */

    make_group(f, T0);
    drive_consultation(f);
    commit_all(f);
    assert_true(on_disk(f, "QUESTION-SECRET"));
    snprintf(path, sizeof(path), "%s/codevd.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(reader, "SELECT count(*) FROM groups", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* a read transaction is open */
    assert_int_equal(store_submit_group_delete(f->store, f->g->id, f->token++), 0);
    commit_all(f);
    assert_true(on_disk(f, "QUESTION-SECRET")); /* the reader holds the old pages */
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    for (int i = 0; i < 100 && on_disk(f, "QUESTION-SECRET"); i++)
        usleep(50 * 1000); /* the writer's retry comes within a second or two */
    assert_false(on_disk(f, "QUESTION-SECRET"));
}

static void an_action_plan_is_debriefed_in_the_next_session_after_a_restart(void **state)
{
    struct fx *f = *state;
    struct store_journal *j;
    char ref[AUTH_UUID_LEN + 1];

    make_group(f, T0);
    drive_consultation(f);
    close_session(f);
    assert_int_equal(f->g->nplans, 1);
    memcpy(ref, f->g->plans[0].id, sizeof(ref));

    /* A month later, after a restart: the plan waits for A's debrief. */
    restart_group(f, T0 + 30 * 24 * 60 * MIN);
    assert_int_equal(f->g->nplans, 1);
    assert_string_equal(f->g->plans[0].id, ref);
    f->now = T0 + 30 * 24 * 60 * MIN;
    assert_int_equal(hub_session_open(f->hub, f->g, f->now), 0);
    assert_int_equal(store_submit_session_open(f->store, f->g, f->token++), 0);
    assert_int_equal(f->g->room->ndebriefs, 1);
    assert_string_equal(f->g->room->debriefs[0].id, ref);
    apply(f, A,
          CMD(CMD_DEBRIEF_POST, .id = "d1", .ref = ref, .variant = OUTCOME_PARTLY,
              .text = "met half of them"));
    assert_true(f->g->plans[0].debriefed);
    close_session(f);

    assert_int_equal(store_journal_read(f->store, f->id[A], &j), 0);
    assert_int_equal(j->nplans, 1);
    assert_true(j->plans[0].debriefed);
    assert_int_equal(j->plans[0].outcome, OUTCOME_PARTLY);
    assert_string_equal(j->plans[0].comment, "met half of them");
    store_journal_free(j);
    /* Debriefed and committed: it leaves memory, and a restart loads the
     * same (nothing waits); the store still has it for the journal. */
    assert_int_equal(hub_plans_settle(f->g), 1);
    assert_int_equal(f->g->nplans, 0);
    restart_group(f, f->now);
    assert_int_equal(f->g->nplans, 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM plans WHERE debriefed = 1"), 1);
}

/* Session k with A as client, who adds n action items "k.1".."k.n"; the
 * closing command is journaled and committed, the close's own record only
 * when submit_close. */
static void session_with_actions(struct fx *f, int k, int n, bool submit_close)
{
    char target[AUTH_UUID_LEN + 1], text[16];

    f->now = T0 + (int64_t)k * 30 * 24 * 60 * MIN;
    open_session(f);
    memcpy(target, f->id[A], sizeof(target));
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f1"));
    apply(f, F, CMD(CMD_CLIENT_ASSIGN, .id = "f2", .target = target));
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f3"));
    apply(f, A, CMD(CMD_PROBLEM_SET, .id = "a1", .text = "my team"));
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f4"));
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f5"));
    apply(f, A, CMD(CMD_CONTRACT_SET, .id = "a2", .text = "help me to"));
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f6", .flag = true));
    apply(f, F, CMD(CMD_STEP_NEXT, .id = "f7"));
    assert_int_equal(f->g->room->step, STEP_SYNTHESIS);
    for (int i = 1; i <= n; i++) {
        snprintf(text, sizeof(text), "%d.%d", k, i);
        struct room_cmd c = CMD(CMD_ACTION_ADD, .text = text);
        snprintf(c.id, sizeof(c.id), "act%d", i);
        apply(f, A, c);
    }
    if (submit_close) {
        close_session(f);
        return;
    }
    f->now += 5 * MIN;
    apply(f, F, CMD(CMD_SESSION_CLOSE, .id = "fclose"));
    commit_all(f);
}

/* A client who never debriefs keeps plans_waiting_per_member items waiting;
 * the older ones expire (stored as such, never debriefed in the journal).
 * A restart loads exactly what memory holds once settled, with the same
 * ordinals, also when the last close's record never committed (kill -9:
 * the load finishes the close and expires the same items). */
static void a_restart_loads_the_waiting_plans_memory_holds(void **state)
{
    struct fx *f = *state;
    struct store_journal *j;
    struct hub_plan before[2];
    int64_t next;

    f->cfg.plans_waiting_per_member = 2;
    f->hub->plans_waiting_max = 2;
    make_group(f, T0);
    /* Settled after each close, as commit.c does once the records commit. */
    for (int k = 1; k <= 4; k++) {
        session_with_actions(f, k, 2, true);
        assert_int_equal(hub_plans_settle(f->g), k == 1 ? 0 : 2);
    }
    assert_int_equal(f->g->nplans, 2);
    memcpy(before, f->g->plans, sizeof(before));
    next = f->g->plans_next_ordinal;
    assert_int_equal(next, 8);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM plans WHERE debriefed = 2"), 6);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM plans WHERE debriefed = 0"), 2);

    restart_group(f, f->now);
    assert_int_equal(f->g->nplans, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(f->g->plans[i].id, before[i].id);
        assert_int_equal(f->g->plans[i].ordinal, before[i].ordinal);
        assert_false(f->g->plans[i].expired);
    }
    assert_string_equal(f->g->plans[0].text, "4.1");
    assert_int_equal(f->g->plans_next_ordinal, next);
    assert_int_equal(store_journal_read(f->store, f->id[A], &j), 0);
    assert_int_equal(j->nplans, 8);
    for (size_t i = 0; i < j->nplans; i++)
        assert_false(j->plans[i].debriefed);
    store_journal_free(j);

    /* The fifth close is journaled but its record is lost: the restart
     * finishes it, expiring the same two. */
    session_with_actions(f, 5, 2, false);
    hub_plans_settle(f->g);
    assert_int_equal(f->g->nplans, 2);
    assert_string_equal(f->g->plans[0].text, "5.1");
    restart_group(f, f->now);
    assert_int_equal(f->g->nplans, 2);
    assert_string_equal(f->g->plans[0].text, "5.1");
    assert_string_equal(f->g->plans[1].text, "5.2");
    assert_true(f->g->plans[0].ordinal >= next);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM plans WHERE debriefed = 0"), 2);
}

/* ---- the row iterator (store_internal.h) ---------------------------------- */

/* The replay reads by the same column enum the writer binds by: each
 * journaled field comes back under its own column, NULL stays NULL. */
static void journal_rows_read_back_each_field_under_its_column(void **state)
{
    struct fx *f = *state;
    struct store_rows *it = NULL;
    const struct room *r;
    uint64_t seq;
    int b_idx;

    make_group(f, T0);
    f->now = T0;
    open_session(f);
    r = f->g->room;
    f->now = T0 + MIN;
    seq = apply(f, B, CMD(CMD_CHECKIN_POST, .id = "b1", .text = "tired"));
    b_idx = room_member_find(r, f->id[B]);
    commit_all(f);

    assert_int_equal(store_rows_journal_open(f->store->r, r->session_id, &it), 0);
    for (size_t i = 0; i < r->nmembers; i++) {
        assert_int_equal(store_rows_next(it), 1);
        assert_string_equal(store_rows_text(it, JCOL_SESSION_ID), r->session_id);
        assert_int_equal(store_rows_int(it, JCOL_KIND), JOURNAL_MEMBER);
        assert_string_equal(store_rows_text(it, JCOL_MEMBER), r->members[i].id);
        assert_string_equal(store_rows_text(it, JCOL_NAME), r->members[i].name);
        assert_int_equal(store_rows_int(it, JCOL_FACILITATOR), (int)i == r->facilitator);
        assert_int_equal(store_rows_int(it, JCOL_AT_MS), T0);
        assert_null(store_rows_text(it, JCOL_CMD));
    }
    assert_int_equal(store_rows_next(it), 1);
    assert_int_equal(store_rows_int(it, JCOL_KIND), JOURNAL_CMD);
    assert_string_equal(store_rows_text(it, JCOL_MEMBER), f->id[B]);
    assert_int_equal(store_rows_int(it, JCOL_MEMBER_IDX), b_idx);
    assert_string_equal(store_rows_text(it, JCOL_CMD), room_cmd_name(CMD_CHECKIN_POST));
    assert_string_equal(store_rows_text(it, JCOL_CMD_ID), "b1");
    assert_string_equal(store_rows_text(it, JCOL_TEXT), "tired");
    assert_null(store_rows_text(it, JCOL_DUE));
    assert_null(store_rows_text(it, JCOL_NAME));
    assert_int_equal(store_rows_int(it, JCOL_FLAG), 0);
    assert_int_equal(store_rows_int(it, JCOL_AT_MS), T0 + MIN);
    assert_int_equal(store_rows_int(it, JCOL_SEQ), (int64_t)seq);
    /* A column outside the enum reads as NULL, not as a neighbour. */
    assert_null(store_rows_text(it, JCOL_COUNT));
    assert_null(store_rows_text(it, -1));
    assert_int_equal(store_rows_int(it, JCOL_COUNT), 0);
    /* The end is sticky, and nothing reads past it. */
    assert_int_equal(store_rows_next(it), 0);
    assert_int_equal(store_rows_next(it), 0);
    assert_null(store_rows_text(it, JCOL_SESSION_ID));
    store_rows_free(it);
    store_rows_free(NULL);
}

/* SQLite indexes the journal by session in bulk, once a commit would leave
 * journal_fold_rows rows after journal_indexed.upto. A read finds every
 * row of the session, in order, before and after a fold, and not another
 * session's; an id is never reused under upto; a restart indexes the rest
 * before the replay. */
static void the_journal_is_indexed_in_bulk_and_reads_see_every_row(void **state)
{
    struct fx *f = *state;
    struct store_rows *it = NULL;
    struct store_load_report rep;
    char sid[AUTH_UUID_LEN + 1], gid[AUTH_UUID_LEN + 1];
    struct hub_group *g;
    uint64_t seq;
    int n = 0;

    if (pg_dsn)
        skip(); /* PostgreSQL indexes as it appends */
    store_close(f->store);
    f->fold_rows = 10;
    f->store = open_store(f, 0, 0);
    make_group(f, T0);
    f->now = T0;
    open_session(f); /* 4 member rows */
    commit_all(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal"), 4);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal_by_session"), 0);
    for (int i = 0; i < 9; i++) {
        struct room_cmd cmd = CMD(CMD_CHECKIN_POST, .text = "fine");

        snprintf(cmd.id, sizeof(cmd.id), "c%d", i);
        apply(f, B, cmd);
        commit_all(f);
        /* The commit of the 10th row indexed all ten. */
        assert_int_equal(sql_int(f, "SELECT count(*) FROM journal_by_session"),
                         i < 5 ? 0 : 10);
    }
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal"), 13);
    assert_int_equal(sql_int(f, "SELECT upto FROM journal_indexed"),
                     sql_int(f, "SELECT max(id) FROM journal_by_session"));
    memcpy(sid, f->g->room->session_id, sizeof(sid));
    memcpy(gid, f->g->id, sizeof(gid));
    seq = f->g->room->seq;

    /* One read, through the index and after it, in journal order. */
    assert_int_equal(store_rows_journal_open(f->store->r, sid, &it), 0);
    while (store_rows_next(it) == 1) {
        assert_string_equal(store_rows_text(it, JCOL_SESSION_ID), sid);
        if (n < 4) {
            assert_int_equal(store_rows_int(it, JCOL_KIND), JOURNAL_MEMBER);
        } else {
            char want[16];

            snprintf(want, sizeof(want), "c%d", n - 4);
            assert_int_equal(store_rows_int(it, JCOL_KIND), JOURNAL_CMD);
            assert_string_equal(store_rows_text(it, JCOL_CMD_ID), want);
        }
        n++;
    }
    store_rows_free(it);
    assert_int_equal(n, 4 + 9);

    /* A restart indexes the rest before it replays the session. */
    rep = restart(f, T0 + MIN);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM journal_by_session"), 13);
    assert_int_equal(sql_int(f, "SELECT upto FROM journal_indexed"),
                     sql_int(f, "SELECT max(id) FROM journal"));
    assert_int_equal(rep.records_replayed, 13);
    assert_int_equal(rep.replay_mismatches, 0);
    g = hub_group_find(f->hub, gid);
    assert_non_null(g);
    assert_non_null(g->room);
    assert_string_equal(g->room->session_id, sid);
    assert_int_equal(g->room->seq, seq);
    assert_int_equal(g->room->ncards, 9);

    /* The last rows deleted (as at a close), the next one still gets an id
     * over upto, where a reader looks for it. */
    {
        int64_t upto = sql_int(f, "SELECT upto FROM journal_indexed");
        int idx = room_member_find(g->room, f->id[B]);
        struct room_cmd cmd = CMD(CMD_CHECKIN_POST, .id = "late", .text = "late");
        bool dup;

        sql_int(f, "DELETE FROM journal WHERE id >= (SELECT max(id) - 1 FROM journal)");
        assert_true(sql_int(f, "SELECT max(id) FROM journal") < upto);
        assert_int_equal(room_apply(g->room, idx, &cmd, T0 + MIN, &seq, &dup), 0);
        room_outbox_clear(g->room);
        assert_int_equal(
            store_submit_cmd(f->store, g->room, idx, &cmd, T0 + MIN, seq, 99), 0);
        f->g = g;
        commit_all(f);
        assert_int_equal(sql_int(f, "SELECT max(id) FROM journal"), upto + 1);
        n = 0;
        assert_int_equal(store_rows_journal_open(f->store->r, sid, &it), 0);
        while (store_rows_next(it) == 1)
            n +=
                strcmp(store_rows_text(it, JCOL_CMD_ID) ? store_rows_text(it, JCOL_CMD_ID)
                                                        : "",
                       "late") == 0;
        store_rows_free(it);
        assert_int_equal(n, 1);
    }
}

static void session_rows_give_the_session_once_and_nothing_for_an_unknown_id(void **state)
{
    struct fx *f = *state;
    struct store_rows *it = NULL;

    make_group(f, T0);
    f->now = T0;
    open_session(f);
    commit_all(f);

    assert_int_equal(store_rows_session_open(f->store->r, f->g->room->session_id, &it),
                     0);
    assert_null(store_rows_text(it, SCOL_GROUP_ID)); /* no row before the first next */
    assert_int_equal(store_rows_next(it), 1);
    assert_string_equal(store_rows_text(it, SCOL_GROUP_ID), f->g->id);
    assert_int_equal(store_rows_int(it, SCOL_OPENED_MS), T0);
    assert_int_equal(store_rows_int(it, SCOL_CLOSED), 0);
    assert_non_null(store_rows_text(it, SCOL_BUDGETS));
    assert_non_null(store_rows_text(it, SCOL_LIMITS));
    assert_int_equal(store_rows_next(it), 0);
    store_rows_free(it);

    assert_int_equal(
        store_rows_session_open(f->store->r, "00000000-0000-4000-8000-000000000000", &it),
        0);
    assert_int_equal(store_rows_next(it), 0);
    store_rows_free(it);
    assert_int_equal(
        store_rows_journal_open(f->store->r, "00000000-0000-4000-8000-000000000000", &it),
        0);
    assert_int_equal(store_rows_next(it), 0);
    store_rows_free(it);
}

/* The loop every read of the store runs (store_rows_open, store_rows_more):
 * its parameters bound by fmt, a column count that does not match refused
 * at the open, blobs with their size, NULL told apart from 0, and a loop
 * that stops at the end, at an error of the body, or at a failed open. */
static void
the_row_loop_reads_every_row_then_stops_and_keeps_the_first_error(void **state)
{
    struct fx *f = *state;
    struct store_rows *it = NULL;
    const void *blob;
    size_t len, n = 0;
    int rc;

    make_group(f, T0);
    commit_all(f);

    /* A SELECT with another number of columns than said fails at the open. */
    assert_int_equal(
        store_rows_open(f->store->r, "SELECT id, name FROM groups", 3, &it, ""),
        CODEV_E_INTERNAL);
    assert_null(it);
    rc = CODEV_E_INTERNAL;
    assert_false(store_rows_more(it, &rc)); /* a failed open: no row, NULL is fine */
    assert_int_equal(rc, CODEV_E_INTERNAL);

    rc = store_rows_open(f->store->r,
                         "SELECT id, key_hash, NULL, 0 FROM members"
                         " WHERE group_id = ?1 AND ordinal >= ?2 ORDER BY ordinal",
                         4, &it, "ti", f->g->id, (int64_t)0);
    assert_int_equal(rc, 0);
    while (store_rows_more(it, &rc)) {
        assert_string_equal(store_rows_text(it, 0), f->g->members[n].id);
        blob = store_rows_blob(it, 1, &len);
        assert_int_equal(len, AUTH_HASH_LEN);
        assert_memory_equal(blob, f->g->members[n].key_hash, AUTH_HASH_LEN);
        assert_true(store_rows_null(it, 2));
        assert_false(store_rows_null(it, 3));
        assert_null(store_rows_blob(it, 2, &len));
        assert_int_equal(len, 0);
        assert_true(store_rows_null(it, 4)); /* outside the columns */
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, f->g->nmembers);
    assert_false(store_rows_more(it, &rc)); /* the end is sticky */
    store_rows_free(it);

    /* An error set by the loop's body ends the loop and stays. */
    assert_int_equal(store_rows_open(f->store->r, "SELECT id FROM members", 1, &it, ""),
                     0);
    n = 0;
    while (store_rows_more(it, &rc)) {
        n++;
        rc = CODEV_E_BAD_FIELD;
    }
    assert_int_equal(n, 1);
    assert_int_equal(rc, CODEV_E_BAD_FIELD);
    store_rows_free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            journal_rows_read_back_each_field_under_its_column, setup, teardown),
        cmocka_unit_test_setup_teardown(
            session_rows_give_the_session_once_and_nothing_for_an_unknown_id, setup,
            teardown),
        cmocka_unit_test_setup_teardown(a_new_database_gets_the_latest_schema_in_wal_mode,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_v1_database_opens_upgraded_with_its_data_intact,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            groups_members_and_plans_come_back_after_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(
            replay_rebuilds_an_open_room_identical_to_the_original, setup, teardown),
        cmocka_unit_test_setup_teardown(a_running_step_clock_counts_the_downtime, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(group_commit_reports_every_record_once_in_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_queue_refuses_submits_until_drained, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_failing_record_fails_everything_after_it_until_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(closing_the_store_commits_what_is_still_queued,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(submits_refuse_what_cannot_be_journaled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            personal_retention_erases_group_text_from_the_db_and_the_wal, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            personal_retention_erases_text_interleaved_with_another_session, setup,
            teardown),
        cmocka_unit_test_setup_teardown(personal_retention_erases_text_indexed_in_bulk,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            the_journal_is_indexed_in_bulk_and_reads_see_every_row, setup, teardown),
        cmocka_unit_test_setup_teardown(keep_retention_keeps_the_full_minutes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            closing_writes_the_history_with_planned_and_actual_durations, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_session_closed_just_before_a_crash_is_finalized_at_load, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_group_keeps_its_creator_and_its_counts_after_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreadable_closed_room_is_skipped_not_fatal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_text_leaves_the_wal_once_a_reader_lets_go,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_action_plan_is_debriefed_in_the_next_session_after_a_restart, setup,
            teardown),
        cmocka_unit_test_setup_teardown(a_restart_loads_the_waiting_plans_memory_holds,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            the_row_loop_reads_every_row_then_stops_and_keeps_the_first_error, setup,
            teardown),
    };

#if CODEVD_HAVE_POSTGRESQL
    /* The pg suite: a fresh database codevd_test on the server given. */
    const char *base = getenv("CODEVD_TEST_PG_DSN");
    if (base && *base) {
        PGconn *c = PQconnectdb(base);
        size_t n = strlen(base) + 32;
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "CODEVD_TEST_PG_DSN: %s", PQerrorMessage(c));
            return 1;
        }
        PQsetNoticeProcessor(c, pg_notice_drop, NULL);
        PQclear(PQexec(c, "DROP DATABASE IF EXISTS codevd_test"));
        PQclear(PQexec(c, "CREATE DATABASE codevd_test"));
        PQfinish(c);
        pg_dsn = malloc(n);
        snprintf(pg_dsn, n, "%s dbname=codevd_test", base);
    }
#endif
    {
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
#if CODEVD_HAVE_POSTGRESQL
        PQfinish(pg_conn);
#endif
        free(pg_dsn);
        return rc;
    }
}
