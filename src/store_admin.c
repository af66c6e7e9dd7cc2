/*
 * store_admin.c - the store's file as an operator handles it: the check
 * that a file is codevd's database before anything opens it for writing,
 * the data dir's lock, and the three commands of `codevd backup FILE`,
 * `codevd restore FILE` and `codevd check [FILE]` (see store.h).
 *
 * Invariants:
 *   - Nothing here writes to a file it has not checked: store_file_check
 *     accepts only a missing or empty file (a new database) or a SQLite
 *     database holding codevd's schema_version at a version this codevd
 *     knows; anything else (random bytes, a truncated header, another
 *     application's database, a newer codevd's) is refused with the reason,
 *     and store_open refuses it too: a foreign file is never migrated over.
 *   - backup reads the live database through its own read-only connection
 *     (WAL: the server's writer is never blocked) and copies it with the
 *     online backup API in one step, so the copy is one committed state.
 *     The copy is written beside FILE, checked, synced, then renamed over
 *     FILE: FILE is always either the old copy or the whole new one.
 *   - restore runs only while it holds the data dir's lock (a running
 *     codevd holds it for its lifetime), checks the file first (codevd's,
 *     known version, integrity ok), writes the new database beside the old
 *     one, keeps the old one (and its -wal) as codevd.db.pre-restore, drops
 *     the old -wal and -shm (which must never be replayed onto another
 *     database) and renames the new one in.
 *   - The files made are 0600, and owned like the data dir when root runs
 *     the command (SQLite's own files made by root follow the database's
 *     owner already).
 *
 * Expected load: an operator's command now and then; store_file_check and
 * store_dir_lock once per server start. Nothing here runs on the loop.
 */
#include "store_internal.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

/* The SQLite calls this file makes (the admin commands are SQLite's: a
 * PostgreSQL store is backed up with PostgreSQL's own tools). */
static int lite_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : CODEV_E_INTERNAL;
}

static sqlite3_stmt *lite_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

#define STORE_LOCK_NAME  "codevd.lock"
#define STORE_SAVED_NAME STORE_FILE_NAME ".pre-restore"

static int why_set(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int db_integrity(sqlite3 *db, bool quick, FILE *report, char *why, size_t cap);

/* Writes the reason into why (when given). Returns CODEV_E_INTERNAL. */
static int why_set(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (why && cap) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return CODEV_E_INTERNAL;
}

int store_path(const char *data_dir, char *path, size_t cap)
{
    if (!data_dir || snprintf(path, cap, "%s/%s", data_dir, STORE_FILE_NAME) >= (int)cap)
        return CODEV_E_INTERNAL;
    return 0;
}

/* Opens path read-only for the checks and the backup. */
static int open_ro(const char *path, sqlite3 **db, char *why, size_t cap)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        why_set(why, cap, "%s: cannot open: %s", path,
                *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return CODEV_E_INTERNAL;
    }
    sqlite3_busy_timeout(*db, STORE_BUSY_TIMEOUT_MS);
    lite_exec(*db, "PRAGMA temp_store = MEMORY"); /* no file outside data_dir */
    return 0;
}

/* Counts the tables of db named name (0 or 1), or -1 when the schema
 * cannot be read (a corrupt file). */
static int table_count(sqlite3 *db, const char *name, char *err, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                           "(?1 IS NULL OR name = ?1)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    if (n < 0)
        snprintf(err, cap, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return n;
}

/* The checks of store_file_check on an open connection. */
static int db_identify(sqlite3 *db, const char *path, int *version, char *why, size_t cap)
{
    static const char *const tables[] = {"schema_version", "groups", "members",
                                         "sessions", "journal"};
    char err[160] = "";
    sqlite3_stmt *st;
    int n, v = -1;

    n = table_count(db, NULL, err, sizeof(err));
    if (n < 0)
        return why_set(why, cap, "%s: not a readable SQLite database (%s)", path, err);
    if (n == 0) {
        *version = 0; /* an empty database: codevd creates its schema */
        return 0;
    }
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        n = table_count(db, tables[i], err, sizeof(err));
        if (n < 0)
            return why_set(why, cap, "%s: not a readable SQLite database (%s)", path,
                           err);
        if (n == 0)
            return why_set(why, cap,
                           "%s: a SQLite database of another application (no table "
                           "\"%s\"), not codevd's: refusing to touch it",
                           path, tables[i]);
    }
    st = lite_prepare(db, "SELECT max(version) FROM schema_version");
    if (st && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (v < 1)
        return why_set(why, cap, "%s: codevd's tables but no schema version", path);
    if (v > store_schema_version_latest())
        return why_set(
            why, cap, "%s: schema v%d, made by a newer codevd (this one knows up to v%d)",
            path, v, store_schema_version_latest());
    *version = v;
    return 0;
}

int store_file_check(const char *path, bool scan, int *version, char *why, size_t cap)
{
    static const char magic[16] = "SQLite format 3";
    char head[sizeof(magic)];
    struct stat st;
    sqlite3 *db = NULL;
    ssize_t got;
    int fd, rc;

    *version = 0;
    if (stat(path, &st)) {
        if (errno == ENOENT)
            return 0; /* a new database */
        return why_set(why, cap, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return why_set(why, cap, "%s: not a regular file", path);
    if (st.st_size == 0)
        return 0; /* SQLite's empty database */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return why_set(why, cap, "%s: %s", path, strerror(errno));
    got = read(fd, head, sizeof(head));
    close(fd);
    if (got != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)))
        return why_set(why, cap,
                       "%s: not a SQLite database (corrupt, or another program's file): "
                       "refusing to touch it",
                       path);
    if (open_ro(path, &db, why, cap))
        return CODEV_E_INTERNAL;
    rc = db_identify(db, path, version, why, cap);
    if (!rc && scan && *version > 0 && db_integrity(db, true, NULL, why, cap)) {
        char first[200];
        snprintf(first, sizeof(first), "%s", why ? why : "");
        rc = why_set(
            why, cap,
            "%s: the database is damaged (%s): refusing to write to it; "
            "`codevd check` lists the damage, `codevd restore FILE` puts a backup "
            "back",
            path, first);
    }
    sqlite3_close(db);
    return rc;
}

int store_dir_lock(const char *data_dir, char *why, size_t cap)
{
    char path[STORE_PATH_MAX];
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s", data_dir, STORE_LOCK_NAME) >=
        (int)sizeof(path))
        return why_set(why, cap, "%s: path too long", data_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return why_set(why, cap, "%s: %s", path, strerror(errno));
    {
        /* Made by root (a restore run as root before the service's first
         * start): the lock belongs to the data dir's owner, or the service,
         * running as that owner, could never open it. */
        struct stat st;
        if (geteuid() == 0 && !stat(data_dir, &st) && fchown(fd, st.st_uid, st.st_gid))
            (void)0; /* the server then says it cannot open the lock */
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return why_set(
                why, cap,
                "%s is in use by a running codevd (%s is locked): stop it first",
                data_dir, path);
        return why_set(why, cap, "%s: %s", path, strerror(e));
    }
    return fd;
}

/* Runs PRAGMA integrity_check (or quick_check when quick) on db. Returns
 * 0 when it says "ok"; otherwise prints up to 20 of its lines to report
 * (when given) and returns CODEV_E_INTERNAL with the first in why. */
static int db_integrity(sqlite3 *db, bool quick, FILE *report, char *why, size_t cap)
{
    sqlite3_stmt *st =
        lite_prepare(db, quick ? "PRAGMA quick_check" : "PRAGMA integrity_check(20)");
    int step, rows = 0, rc = 0;

    if (!st)
        return why_set(why, cap, "integrity check failed to run: %s", sqlite3_errmsg(db));
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (rows++ == 0 && line && !strcmp(line, "ok"))
            continue;
        if (!rc && why && cap) {
            why_set(why, cap, "integrity check: %s", line ? line : "(null)");
            for (char *c = why; *c; c++)
                if (*c == '\n')
                    *c = ' '; /* one log line */
        }
        rc = CODEV_E_INTERNAL;
        if (report)
            fprintf(report, "  %s\n", line ? line : "(null)");
    }
    if (step != SQLITE_DONE && !rc)
        rc = why_set(why, cap, "integrity check: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

int store_check(const char *path, FILE *report, char *why, size_t cap)
{
    sqlite3 *db = NULL;
    struct stat sb;
    int version, rc;

    if (stat(path, &sb))
        return why_set(why, cap, "%s: %s", path, strerror(errno));
    if (store_file_check(path, false, &version, why, cap))
        return CODEV_E_INTERNAL;
    if (version == 0)
        return why_set(why, cap, "%s: an empty database, no codevd data in it", path);
    if (open_ro(path, &db, why, cap))
        return CODEV_E_INTERNAL;
    rc = db_integrity(db, false, report, why, cap);
    sqlite3_close(db);
    if (!rc && report)
        fprintf(report, "%s: ok (codevd schema v%d, %lld bytes)\n", path, version,
                (long long)sb.st_size);
    return rc;
}

/* Syncs the directory holding path (its renames and new names). */
static void dir_sync(const char *path)
{
    char dir[STORE_PATH_MAX];
    char *slash;
    int fd;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Copies the database src (open) into a new file tmp, a self-contained
 * file (rollback journal mode, no -wal), checks it and syncs it. */
static int copy_to(sqlite3 *src, const char *tmp, char *why, size_t cap)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    mode_t mask = umask(077);
    int rc = CODEV_E_INTERNAL, step, fd;

    unlink(tmp);
    if (sqlite3_open_v2(tmp, &dst,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        why_set(why, cap, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        why_set(why, cap, "%s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    /* One step: the whole copy under one read transaction of src. */
    step = sqlite3_backup_step(b, -1);
    if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE) {
        why_set(why, cap, "copying into %s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    if (lite_exec(dst, "PRAGMA journal_mode = DELETE")) {
        why_set(why, cap, "%s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    if (db_integrity(dst, true, NULL, why, cap))
        goto out;
    rc = 0;
out:
    sqlite3_close(dst);
    umask(mask);
    if (!rc) {
        fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd))
            rc = why_set(why, cap, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (rc)
        unlink(tmp);
    return rc;
}

int store_backup(const char *data_dir, const char *file, char *why, size_t cap)
{
    char path[STORE_PATH_MAX], tmp[STORE_PATH_MAX];
    sqlite3 *src = NULL;
    int version, rc;

    if (store_path(data_dir, path, sizeof(path)))
        return why_set(why, cap, "%s: path too long", data_dir);
    if (access(path, F_OK))
        return why_set(why, cap, "%s: %s", path, strerror(errno));
    if (store_file_check(path, false, &version, why, cap))
        return CODEV_E_INTERNAL;
    if (version == 0)
        return why_set(why, cap, "%s: an empty database, nothing to back up", path);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", file, (long)getpid()) >=
        (int)sizeof(tmp))
        return why_set(why, cap, "%s: path too long", file);
    if (open_ro(path, &src, why, cap))
        return CODEV_E_INTERNAL;
    rc = copy_to(src, tmp, why, cap);
    sqlite3_close(src);
    if (rc)
        return rc;
    if (rename(tmp, file)) {
        rc = why_set(why, cap, "%s: %s", file, strerror(errno));
        unlink(tmp);
        return rc;
    }
    dir_sync(file);
    return 0;
}

/* Root restoring for the codevd user: the new files take the data dir's
 * owner, so that the server can open them. */
static void own_like_dir(const char *data_dir, const char *file)
{
    struct stat st;

    if (geteuid() == 0 && !stat(data_dir, &st) && chown(file, st.st_uid, st.st_gid))
        (void)0; /* the server then reports the file it cannot open */
}

/* Keeps the database being replaced (and its -wal, which holds its latest
 * commits) as codevd.db.pre-restore[-wal], by new hard links. */
static int keep_old(const char *data_dir, const char *path, char *why, size_t cap)
{
    static const char *const sfx[] = {"", "-wal"};
    char from[STORE_PATH_MAX + 8], to[STORE_PATH_MAX + 8];

    for (size_t i = 0; i < 2; i++) {
        snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
        snprintf(to, sizeof(to), "%s/%s%s", data_dir, STORE_SAVED_NAME, sfx[i]);
        if (unlink(to) && errno != ENOENT)
            return why_set(why, cap, "%s: %s", to, strerror(errno));
        if (link(from, to) && errno != ENOENT)
            return why_set(why, cap, "keeping %s as %s: %s", from, to, strerror(errno));
    }
    return 0;
}

int store_restore(const char *data_dir, const char *file, char *why, size_t cap)
{
    char path[STORE_PATH_MAX], tmp[STORE_PATH_MAX], side[STORE_PATH_MAX + 8];
    sqlite3 *src = NULL;
    int version, lock, rc;

    if (store_path(data_dir, path, sizeof(path)) ||
        snprintf(tmp, sizeof(tmp), "%s/%s.restore-tmp", data_dir, STORE_FILE_NAME) >=
            (int)sizeof(tmp))
        return why_set(why, cap, "%s: path too long", data_dir);
    if (access(file, R_OK))
        return why_set(why, cap, "%s: %s", file, strerror(errno));
    if (store_file_check(file, false, &version, why, cap))
        return CODEV_E_INTERNAL;
    if (version == 0)
        return why_set(why, cap, "%s: an empty database, not a codevd backup", file);
    lock = store_dir_lock(data_dir, why, cap);
    if (lock < 0)
        return CODEV_E_INTERNAL;
    rc = open_ro(file, &src, why, cap);
    if (!rc) {
        rc = db_integrity(src, false, NULL, why, cap);
        if (rc)
            why_set(why, cap, "%s: fails its integrity check: not restored", file);
    }
    if (!rc)
        rc = copy_to(src, tmp, why, cap);
    sqlite3_close(src);
    if (rc)
        goto out;
    own_like_dir(data_dir, tmp);
    rc = keep_old(data_dir, path, why, cap);
    if (rc) {
        unlink(tmp);
        goto out;
    }
    /* The old database's -wal must not be replayed onto the new one. */
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-journal", path);
    unlink(side);
    if (rename(tmp, path)) {
        rc = why_set(why, cap, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    dir_sync(path);
out:
    close(lock);
    return rc;
}
