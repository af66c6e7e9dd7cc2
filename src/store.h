/*
 * store.h - durability: the only SQL of codevd (DESIGN.md section 5).
 *
 * One database: SQLite, <data_dir>/codevd.db, in WAL mode with foreign keys
 * and secure_delete on; or PostgreSQL (see "Backends" below). codevd
 * creates and migrates the schema itself
 * (table schema_version, numbered migrations in store_schema.c, one
 * transaction each). What it keeps:
 *   - groups, members (key hashes only), action plans waiting for debrief;
 *   - sessions, with per-step planned and actual durations, the client and
 *     the facilitator of each consultation (the history view);
 *   - the journal of every open session: how its room was built (members in
 *     room order, debrief items) and every accepted command with the instant
 *     it was applied, so that the room can be rebuilt exactly after a crash
 *     (room.h: the room is deterministic given the same commands at the same
 *     instants on a room built the same way);
 *   - once a session closed, what each person keeps: the client's record of
 *     each consultation and each member's learnings and private notes. Under
 *     retention "personal" the journal is then deleted (and, with
 *     secure_delete plus a TRUNCATE checkpoint, its text is gone from the
 *     database file and the WAL); under "keep" the journal stays as the
 *     group's full minutes.
 *
 * Threads. Writes go through one writer thread that commits in groups: the
 * lws service thread ("the loop") calls a store_submit_*() function, which
 * copies what it needs into a bounded queue and returns at once; the writer
 * takes everything queued, writes it in ONE transaction, commits, moves the
 * records to a done list and calls the wake callback. The loop then calls
 * store_drain(), which reports each committed record, in submission order,
 * with the token the submitter gave. The loop never waits on the disk.
 *
 * How the loop uses it (server.c):
 *   start-up (main thread, before the loop runs):
 *       store_open(&opts, &store)       opts.wake calls lws_cancel_service
 *       store_load(store, hub, now, &report)
 *   a session was opened (hub_session_open succeeded):
 *       store_submit_session_open(store, g, token)
 *   a group was created, an invite rotated, the retention changed:
 *       store_submit_group(store, g, now, token)
 *   what it keeps between sessions changed (a rota, the next session, a
 *   proposal, a draft, a debrief in advance; a session opened):
 *       store_submit_life(store, g, now, token)
 *   a member joined (hub_member_join succeeded; room_idx from it):
 *       store_submit_member_join(store, g, room_idx, now, token)
 *   before room_apply of a command:
 *       if store_is_full(store) refuse it with CODEV_E_RATE_LIMITED
 *   after room_apply accepted it (not for a duplicate):
 *       store_submit_cmd(store, room, member, cmd, now, seq, token)
 *       (a step_next that passed the contract-ack check is journaled with
 *       cmd.flag = true, since that check depends on who is online, which is
 *       not journaled); broadcast the events now, send the sender's ack when
 *       the token comes back from store_drain with rc 0
 *   after the command that closed the session, and after hub_sync:
 *       store_submit_session_close(store, g, now, token)
 *   LWS_CALLBACK_EVENT_WAIT_CANCELLED:
 *       store_drain(store, on_committed, server)
 *   shutdown, after the loop stopped:
 *       store_close(store)   (commits what is queued, joins the writer)
 * Reads for exports and the history view (store_journal_read,
 * store_history_read, store_minutes_read) are synchronous and rare; they
 * use their own read-only connection and may be called from any thread.
 *
 * The store does not log: it returns codes and counts for the edge to log,
 * and never puts card text, names or secrets in an error.
 *
 * Expected load: a few commands per second per open room, thousands of
 * rooms: hundreds to a few thousand records per second, each commit
 * carrying every record queued while the previous one was syncing.
 *
 * Files: store.c (life cycle, the neutral helpers, the row iterator),
 * store_sqlite.c and store_pg.c (the backends), store_schema.c and
 * store_pg_schema.c (migrations), store_submit.c (records, the queue,
 * drain), store_writer.c (the writer thread, group commit), store_replay.c
 * (store_load, replay, finalize at close), store_read.c (the reads below),
 * store_admin.c (backup, restore, check), store_lease.c (a cluster's
 * leases); store_internal.h joins them.
 *
 * Backends. Everything above this line is the interface the rest of codevd
 * sees, and it names no database. Two backends implement it, chosen by
 * store_options.backend (config `store`): SQLite (store_sqlite.c, the
 * default, embedded) and PostgreSQL (store_pg.c, libpq, `store_dsn`; built
 * with -Dpostgresql). store_internal.h declares what a backend provides
 * (struct store_backend): open and close a connection (a writer's and a
 * reader's), the migrations in its DDL (store_schema.c,
 * store_pg_schema.c, the same numbers), run SQL with ?N parameters, the
 * writer's statements (group, member and plan upserts, session insert,
 * journal append: one value per enum store_journal_col), begin / commit /
 * rollback a batch, scrub deleted text, and the row iterator. Everything
 * else is backend-neutral: the records, the queue and the writer thread
 * (store_writer.c), the replay, close and load (store_replay.c) and the
 * reads (store_read.c), which carry their SQL in the dialect both share.
 * The guarantees are the same on both: a record is reported committed only
 * after its batch's transaction committed; restart recovery replays the
 * journal; retention "personal" deletes a closed session's journal in the
 * close's transaction (SQLite also makes the bytes unrecoverable at once,
 * secure_delete and a WAL truncation; on PostgreSQL that takes a VACUUM
 * FULL: store_pg.c).
 */
#ifndef CODEV_STORE_H
#define CODEV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hub.h"
#include "metrics.h"
#include "room.h"

#define STORE_FILE_NAME         "codevd.db"
#define STORE_QUEUE_MAX_DEFAULT 8192 /* records submitted and not yet drained */
#define STORE_NODE_ID_MAX       63   /* bytes of a cluster node's name */
#define STORE_FOLD_ROWS         4096 /* journal rows appended before they are indexed */

struct store;

struct store_options {
    const char *backend;     /* "sqlite" (NULL or "": the default) or "postgresql" */
    const char *dsn;         /* postgresql: the libpq connection string; borrowed */
    const char *data_dir;    /* sqlite: existing directory for codevd.db; borrowed */
    uint32_t queue_max;      /* records in flight (submitted, not drained); 0 = default */
    bool sync_normal;        /* synchronous=NORMAL: a commit survives a crash of
                              * codevd but not of the machine; default FULL */
    void (*wake)(void *arg); /* called on the writer thread after each commit
                              * (lws_cancel_service); may be NULL */
    void *wake_arg;
    int schema_version_max;     /* migrate no further than this (tests of
                                 * migrations); 0 = the latest */
    uint32_t commit_window_us;  /* a commit starts at least this long after
                                 * the previous one started (group commit);
                                 * 0 = at once */
    uint32_t commit_delay_us;   /* TEST ONLY: every commit waits this long
                                 * first (config test_commit_delay_us) */
    uint32_t journal_fold_rows; /* SQLite: index the journal by session once
                                 * this many rows were appended since the last
                                 * time (store_sqlite.c); 0 = STORE_FOLD_ROWS */
    const char *node_id;        /* a cluster's node (config node_id; PostgreSQL only):
                                 * groups are held by lease (store_group_claim);
                                 * NULL or "": one node, no leases */
    uint32_t lease_ttl_ms;      /* a lease not renewed for this long may be taken */
    char *why;                  /* when given: why store_open refused the file
                                 * (store_file_check's reason), why_cap bytes */
    size_t why_cap;
};

/* Called by store_drain for each committed (rc 0) or failed (rc < 0)
 * record, in submission order, on the thread that calls store_drain. */
typedef void (*store_done_fn)(void *arg, uint64_t token, int rc);

/*
 * Opens (creating it if needed) <data_dir>/codevd.db, applies the missing
 * migrations, opens the read connection and starts the writer thread. On
 * success sets *out (the caller owns it; release with store_close).
 * Errors: CODEV_E_INTERNAL (the file cannot be opened, a migration failed,
 * or the database is newer than this codevd), and before anything is
 * written, for a file store_file_check refuses (scanned: damaged, foreign,
 * not SQLite), with the reason in opts->why. Main thread.
 */
int store_open(const struct store_options *opts, struct store **out);

/*
 * Commits everything still queued, stops and joins the writer thread and
 * closes the database. Records committed but not drained are dropped (their
 * tokens are never reported). store_close(NULL) is a no-op. Main thread,
 * after the loop stopped.
 */
void store_close(struct store *s);

/* True when this codevd was built with the backend called name ("sqlite"
 * always; "postgresql" with -Dpostgresql). */
bool store_backend_available(const char *name);

/* Returns the schema version of the open database. */
int store_schema_version(const struct store *s);

/* The schema version this codevd migrates to. */
int store_schema_version_latest(void);

/*
 * True when no more records can be submitted (store_options.queue_max
 * records are in flight). Check it before applying a command: when it is
 * false, the one store_submit_*() that follows on the same thread finds a
 * place (only the submitting thread adds to the queue). Loop thread.
 */
bool store_is_full(const struct store *s);

/*
 * The submit functions copy what they need (the caller keeps what it
 * passed), queue one record and return 0 without touching the disk. token
 * is given back by store_drain once the record is committed. Errors:
 * CODEV_E_RATE_LIMITED (the queue is full), CODEV_E_BAD_FIELD (no room,
 * bad index), CODEV_E_INTERNAL (allocation). Loop thread (one thread only
 * submits).
 */

/* Saves the group as it is now: settings, invite hash, facilitator, every
 * member (with flags) and every plan item. now_ms is the group's creation
 * time when the group is new to the store. */
int store_submit_group(struct store *s, const struct hub_group *g, int64_t now_ms,
                       uint64_t token);

/* Saves the group (as store_submit_group) with what it keeps between
 * sessions (hub_life.c): time zone, next session, rota, proposals, drafts,
 * debriefs posted in advance. Text that went is deleted (secure_delete, the
 * WAL truncated after the commit). */
int store_submit_life(struct store *s, const struct hub_group *g, int64_t now_ms,
                      uint64_t token);

/* Records that g's room was just opened: its id, instant, budgets and
 * limits, its members in room order (facilitator and observer flags) and
 * the debrief items it was given. Call before any command of the room. */
int store_submit_session_open(struct store *s, const struct hub_group *g, uint64_t token);

/* Saves the group (as store_submit_group) after a member joined, and when
 * room_idx >= 0 journals that room member's addition at now_ms. */
int store_submit_member_join(struct store *s, const struct hub_group *g, int room_idx,
                             int64_t now_ms, uint64_t token);

/* Journals cmd, accepted by room_apply from member at now_ms with sequence
 * number seq (the ack's), for r (borrowed; only ids and the member are
 * read). */
int store_submit_cmd(struct store *s, const struct room *r, int member,
                     const struct room_cmd *cmd, int64_t now_ms, uint64_t seq,
                     uint64_t token);

/*
 * After g's room closed and hub_sync kept its action plans: saves the group
 * (plans, roles, and what it keeps between sessions), writes the session's history,
 * extracts what each person keeps, updates the debriefed plans, then applies the group's
 * retention (personal: deletes the journal and checkpoints the WAL away; keep: the
 * journal stays as the minutes).
 */
int store_submit_session_close(struct store *s, const struct hub_group *g, int64_t now_ms,
                               uint64_t token);

/* Deletes the group group_id and everything of it: members, plans, every
 * session's journal, history and personal records (secure_delete, and the
 * WAL is checkpointed and truncated after the commit). */
int store_submit_group_delete(struct store *s, const char *group_id, uint64_t token);

/* Queues a record that only writes (an existing row again): while the
 * store fails, the edge sends one now and then to learn when the disk takes
 * writes again. */
int store_submit_probe(struct store *s, uint64_t token);

/*
 * After a failure: a batch that fails fails whole (every record in it gets
 * CODEV_E_STORE_UNAVAILABLE), and every record submitted before this call
 * fails too, unwritten, in order, since the loop applied it on top of what
 * failed. Records submitted after it are tried again. Call once the loop has
 * seen a failure (store_drain). Loop thread.
 */
void store_resume(struct store *s);

/* Records submitted since the last store_resume (all of them, before any)
 * and not drained yet. Loop thread. */
size_t store_in_flight_since_resume(const struct store *s);

/* What the journal writer measured, for the metrics: each batch's time to
 * write and commit, and its number of records; records committed or failed
 * in all. */
struct store_stats {
    struct metrics_hist commit_seconds; /* MH_COMMIT_SECONDS */
    struct metrics_hist batch_records;  /* MH_BATCH_RECORDS */
    uint64_t records;
};

/* Copies the writer's numbers into out (under the store's lock: a few
 * hundred bytes). Loop thread. */
void store_stats_get(struct store *s, struct store_stats *out);

/* Records submitted and not drained yet, and the most there may be
 * (store_is_full). Loop thread. */
size_t store_queue_depth(const struct store *s);
size_t store_queue_max(const struct store *s);

/*
 * Rebuilds session_id's room from what is committed (the journal replayed,
 * as store_load does) into *out, a new room the caller owns. Returns 0,
 * CODEV_E_NOT_FOUND (the session's opening never committed) or
 * CODEV_E_INTERNAL. Reads on the read-only connection: may wait behind an
 * export's read. Loop thread, rare (a failed write's rollback).
 */
int store_room_reload(struct store *s, const char *session_id, struct room **out);

/*
 * Reports every record committed (or failed) since the last call: fn(arg,
 * token, rc) for each, in submission order. Returns how many. Loop thread;
 * never blocks on the disk (it only takes the queue's mutex).
 */
size_t store_drain(struct store *s, store_done_fn fn, void *arg);

/*
 * Waits until every record submitted before the call is committed or failed
 * (they still have to be drained). Blocks: start-up, shutdown and tests
 * only, never the loop. Returns 0.
 */
int store_flush(struct store *s);

/* store_flush, but waits at most timeout_ms: returns 0 once what was
 * submitted before the call is written, or CODEV_E_STORE_UNAVAILABLE when
 * the writer did not get there in time (a database that stopped answering:
 * the records stay queued and come back through store_drain as usual). For
 * the SIGTERM drain, which must end by drain_timeout_s whatever the disk or
 * the database does. */
int store_flush_within(struct store *s, int64_t timeout_ms);

/* Counts from store_load, for the edge to log. */
struct store_load_report {
    size_t groups, members, plans;
    size_t sessions_rebuilt;     /* open sessions whose room is live again */
    size_t sessions_finalized;   /* found closed but not finalized (crash): closed now */
    size_t records_replayed;     /* journal records applied */
    size_t replay_mismatches;    /* records refused or given another seq on replay */
    size_t closed_rooms_skipped; /* closed rooms that could not be read: shown as none */
};

/*
 * Fills the empty hub h with every group, member and plan item still
 * waiting for a debrief (debriefed and expired ones stay in the store), and
 * rebuilds the room of every open session by replaying its journal
 * (room_new with the journaled id, instant, budgets and limits, the members
 * and debrief items in journaled order, then each member addition and each
 * command through room_apply at its journaled instant), then hub_sync. A
 * step clock that was running keeps running: its state comes from the
 * journaled instants, so the downtime counts. A session whose journal ends
 * in its close (a crash before store_submit_session_close committed) is
 * finalized here, with the plans hub_sync kept (and expired). The items the
 * replayed sessions debriefed or expired then leave memory
 * (hub_plans_settle), as the loop's commits would have. now_ms is the
 * close instant used when the journal does not carry one.
 *
 * Returns 0 and fills *report (may be NULL), or CODEV_E_INTERNAL. A record
 * that replays differently (refused, or another seq) is counted in
 * replay_mismatches and skipped; the rest of the session still loads. Main
 * thread, before the first submit.
 */
int store_load(struct store *s, struct hub *h, int64_t now_ms,
               struct store_load_report *report);

/* ---- a cluster: one node holds each group (store_lease.c) ----------------------
 *
 * With store_options.node_id set (PostgreSQL), every group is live on one
 * node at a time, the holder of its lease (table group_lease: node, epoch,
 * expiry on the database's clock). A node takes a group by bumping its
 * epoch (store_group_claim), only when nobody holds it or its lease
 * expired; the writer renews the node's leases every third of
 * lease_ttl_ms, and checks, in every batch's transaction, that each group
 * it writes to is still held at the epoch it took: records of a group
 * taken since fail with CODEV_E_MOVED, unwritten, so two nodes never both
 * acknowledge commands of one group (a paused node, a split). Without
 * node_id all of this is a no-op. */

/* Whether this store is a cluster's (node_id set). */
bool store_cluster(const struct store *s);

/*
 * Takes group_id's lease (when nobody holds it, its lease expired, or this
 * node held it) and loads the group into h (store_load_group: members,
 * plans, the open session replayed from its journal). *finalize is set
 * when its session's journal ends in its close (the caller submits the
 * session's close). Returns 0 with *out; CODEV_E_UNKNOWN_GROUP (no such
 * group); CODEV_E_MOVED (another node holds a live lease);
 * CODEV_E_STORE_UNAVAILABLE (the database did not answer). Loop thread:
 * it waits on the database (a few milliseconds; bounded by the
 * connection's timeouts), once per group taken over.
 */
int store_group_claim(struct store *s, struct hub *h, const char *group_id,
                      int64_t now_ms, struct hub_group **out, bool *finalize);

/* The loop dropped group_id (moved to another node, or deleted): its lease
 * is forgotten here (a later claim takes it again). Loop thread. */
void store_lease_forget(struct store *s, const char *group_id);

/* Releases every lease of this node (their expiry set in the past: any
 * node may take them at once) and stops renewing them: the SIGTERM drain,
 * after the journal is flushed. Returns 0 or CODEV_E_STORE_UNAVAILABLE.
 * Loop thread. */
int store_lease_release_all(struct store *s);

/* Calls fn(arg, group_id) for each group a renewal found taken by another
 * node since (store_lease_renew_due: this node was paused or cut off); the
 * store has fenced it already (its records fail CODEV_E_MOVED). Returns
 * how many. Loop thread, after a wake. */
size_t store_lease_lost(struct store *s, void (*fn)(void *arg, const char *group_id),
                        void *arg);

/* False while the last renewal of the leases failed (the database is
 * unreachable: /readyz). True without a cluster. */
bool store_lease_ok(const struct store *s);

/* Journals cmd as store_submit_cmd does, for group group_id (the lease
 * the writer checks). */
int store_submit_group_cmd(struct store *s, const char *group_id, const struct room *r,
                           int member, const struct room_cmd *cmd, int64_t now_ms,
                           uint64_t seq, uint64_t token);

/* ---- the database file, for the operator (store_admin.c) ------------------- */

/* Writes <data_dir>/codevd.db into path (cap bytes). Returns 0 or
 * CODEV_E_INTERNAL (too long). */
int store_path(const char *data_dir, char *path, size_t cap);

/*
 * Whether path may be opened as codevd's database: missing or empty (a new
 * one: *version = 0), or a SQLite database with codevd's tables at schema
 * version 1..store_schema_version_latest() (*version set) and, when scan,
 * that passes PRAGMA quick_check (every page read: about a second per
 * gigabyte). Anything else (not SQLite, unreadable, damaged, another
 * application's tables, a newer codevd's) returns CODEV_E_INTERNAL with
 * the reason in why (cap bytes; may be NULL). Reads only. store_open
 * refuses what this refuses, with scan.
 */
int store_file_check(const char *path, bool scan, int *version, char *why, size_t cap);

/*
 * Takes the data dir's lock (<data_dir>/codevd.lock, flock, created if
 * needed): a running codevd holds it for its lifetime, restore while it
 * works. Returns the lock's descriptor (close it to release), or
 * CODEV_E_INTERNAL with the reason (another process holds it, or the file
 * cannot be made).
 */
int store_dir_lock(const char *data_dir, char *why, size_t cap);

/*
 * `codevd backup FILE`: copies <data_dir>/codevd.db, live or not, into FILE
 * as one committed state (SQLite online backup through a read-only
 * connection; the server's writer is not blocked), a self-contained file
 * (no -wal) of mode 0600, quick-checked and synced, then renamed over FILE.
 * Returns 0, or CODEV_E_INTERNAL with the reason in why.
 */
int store_backup(const char *data_dir, const char *file, char *why, size_t cap);

/*
 * `codevd restore FILE`: replaces <data_dir>/codevd.db by FILE, which must
 * pass store_file_check (a codevd database of a known version) and
 * PRAGMA integrity_check. Refused while a codevd holds the data dir's lock.
 * The replaced database is kept as codevd.db.pre-restore (and -wal); the
 * new one is renamed in whole. Returns 0, or CODEV_E_INTERNAL with why.
 */
int store_restore(const char *data_dir, const char *file, char *why, size_t cap);

/*
 * `codevd check`: store_file_check then PRAGMA integrity_check on path
 * (read-only; the server may be running). Returns 0 and prints one "ok"
 * line to report (may be NULL), or CODEV_E_INTERNAL with the first problem
 * in why and up to 20 problems printed to report.
 */
int store_check(const char *path, FILE *report, char *why, size_t cap);

/* ---- reads for exports and the history view --------------------------------- */

/* A learning or a private note, as its author keeps it. */
struct store_entry {
    char session_id[AUTH_UUID_LEN + 1];
    enum room_card_type type; /* CARD_LEARNING or CARD_NOTE */
    int variant;              /* learning dimension; else 0 */
    enum step step;           /* step it was written in */
    int consultation;         /* consultation index, or -1 */
    int64_t created_ms;
    char *text; /* owned */
};

/* A contribution of the client's consultation, with the client's mark. */
struct store_case_item {
    uint32_t card; /* card id within the session */
    int variant;   /* contribution kind */
    bool marked;   /* "à retenir" */
    char *text;    /* owned */
};

/* The client's own record of one consultation. */
struct store_case {
    char session_id[AUTH_UUID_LEN + 1];
    int consultation;
    int64_t closed_ms; /* when the session closed */
    char *problem;     /* owned, or NULL */
    char *contract;    /* owned, or NULL */
    char *retained;    /* owned, or NULL: "ce que je retiens" */
    struct store_case_item *items;
    size_t nitems;
};

/* An action plan item, with its debrief once it had one. */
struct store_plan {
    char id[AUTH_UUID_LEN + 1];
    char session_id[AUTH_UUID_LEN + 1]; /* written in, or "" */
    int consultation;                   /* or -1 */
    char *text;                         /* owned */
    char *due;                          /* owned, or NULL */
    char *first_step;                   /* owned, or NULL */
    bool debriefed;
    int outcome;   /* enum room_debrief_outcome, or -1 */
    char *comment; /* owned, or NULL */
};

/* "My journal": what one member keeps. */
struct store_journal {
    struct store_entry *entries; /* by time */
    size_t nentries;
    struct store_case *cases; /* the member's consultations as client */
    size_t ncases;
    struct store_plan *plans; /* the member's action plans */
    size_t nplans;
};

/* Reads member_id's journal (learnings, notes, cases, plans) from every
 * closed session. On success sets *out (a new journal, freed with
 * store_journal_free). Errors: CODEV_E_INTERNAL. Any thread; reads the disk. */
int store_journal_read(struct store *s, const char *member_id,
                       struct store_journal **out);

/* Frees a journal and everything it owns. NULL is a no-op. */
void store_journal_free(struct store_journal *j);

struct store_step_time {
    int64_t planned_ms; /* budget as adjusted by the facilitator */
    int64_t used_ms;    /* time the step clock ran */
};

struct store_consultation_history {
    char client[AUTH_UUID_LEN + 1];           /* member id, or "" when none was named */
    char facilitator[AUTH_UUID_LEN + 1];      /* facilitator when it began */
    struct store_step_time steps[STEP_COUNT]; /* topic .. learning; others zero */
};

/* One member's floor in a closed session (the balance, room_floor.c):
 * time held, turns and passes per step, and their sums. */
struct store_floor_history {
    char member[AUTH_UUID_LEN + 1];
    struct room_floor_tally steps[STEP_COUNT];
    struct room_floor_tally total;
};

struct store_session_history {
    char id[AUTH_UUID_LEN + 1];
    int64_t opened_ms;
    int64_t closed_ms;
    struct store_step_time opening;
    struct store_consultation_history *consultations;
    size_t nconsultations;
    struct store_floor_history *floor; /* members who held the floor, in the
                                          order they first did per member id */
    size_t nfloor;
};

struct store_history {
    struct store_session_history *sessions; /* closed sessions, oldest first */
    size_t nsessions;
};

/* Reads the history of group_id's closed sessions. On success sets *out
 * (freed with store_history_free). Errors: CODEV_E_INTERNAL. Any thread. */
int store_history_read(struct store *s, const char *group_id, struct store_history **out);

/* Frees a history. NULL is a no-op. */
void store_history_free(struct store_history *h);

/*
 * The full minutes of a closed session of a "keep" group: its room rebuilt
 * from the kept journal (encode it as for a snapshot). On success sets *out
 * (a new room; room_free it). Errors: CODEV_E_NOT_FOUND (no such session, or
 * its journal was deleted under retention "personal"), CODEV_E_INTERNAL.
 * Any thread.
 */
int store_minutes_read(struct store *s, const char *session_id, struct room **out);

#endif
