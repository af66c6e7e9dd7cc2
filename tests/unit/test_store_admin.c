/*
 * test_store_admin.c - the database file as the operator handles it
 * (store_admin.c): what store_file_check accepts and refuses, store_open
 * refusing a foreign or damaged file without writing to it, the data dir's
 * lock, and backup / restore / check round trips. Each test works in its
 * own mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "store.h"

struct fx {
    char dir[64];
    char db[128];
    char why[600];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/codevd-admin-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/codevd.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* Reads the whole file into a new buffer; *n its size. */
static char *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long len;

    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc(len ? (size_t)len : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return buf;
}

static void make_codevd_db(const char *dir)
{
    struct store_options o = {.data_dir = dir};
    struct store *s = NULL;

    assert_int_equal(store_open(&o, &s), 0);
    store_close(s);
}

static void a_missing_or_empty_file_is_a_new_database(void **state)
{
    struct fx *f = *state;
    int v = -1;

    assert_int_equal(store_file_check(f->db, true, &v, f->why, sizeof(f->why)), 0);
    assert_int_equal(v, 0);
    write_file(f->db, "", 0);
    assert_int_equal(store_file_check(f->db, true, &v, f->why, sizeof(f->why)), 0);
    assert_int_equal(v, 0);
}

static void random_bytes_are_refused_and_left_alone(void **state)
{
    struct fx *f = *state;
    struct store_options o = {
        .data_dir = f->dir, .why = f->why, .why_cap = sizeof(f->why)};
    struct store *s = NULL;
    char junk[8192], *after;
    size_t n;
    int v;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7919 + 13);
    write_file(f->db, junk, sizeof(junk));
    assert_int_equal(store_file_check(f->db, true, &v, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
    assert_non_null(strstr(f->why, "not a SQLite database"));
    f->why[0] = '\0';
    assert_int_equal(store_open(&o, &s), CODEV_E_INTERNAL);
    assert_null(s);
    assert_non_null(strstr(f->why, "not a SQLite database"));
    after = read_file(f->db, &n);
    assert_int_equal(n, sizeof(junk));
    assert_memory_equal(after, junk, n);
    free(after);
}

static void another_applications_database_is_refused_and_left_alone(void **state)
{
    struct fx *f = *state;
    struct store_options o = {
        .data_dir = f->dir, .why = f->why, .why_cap = sizeof(f->why)};
    struct store *s = NULL;
    sqlite3 *db = NULL;
    char *before, *after;
    size_t nb, na;
    int v;

    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE groups (x); CREATE TABLE notes (y);"
                                  "INSERT INTO notes VALUES ('keep me')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    before = read_file(f->db, &nb);
    assert_int_equal(store_file_check(f->db, true, &v, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
    assert_non_null(strstr(f->why, "another application"));
    assert_int_equal(store_open(&o, &s), CODEV_E_INTERNAL);
    assert_null(s);
    after = read_file(f->db, &na);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    free(before);
    free(after);
}

static void a_codevd_database_passes_with_its_version(void **state)
{
    struct fx *f = *state;
    int v = 0;

    make_codevd_db(f->dir);
    assert_int_equal(store_file_check(f->db, true, &v, f->why, sizeof(f->why)), 0);
    assert_int_equal(v, store_schema_version_latest());
    assert_int_equal(store_check(f->db, NULL, f->why, sizeof(f->why)), 0);
}

static void a_newer_codevds_database_is_refused(void **state)
{
    struct fx *f = *state;
    sqlite3 *db = NULL;
    int v;

    make_codevd_db(f->dir);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE schema_version SET version = 9999", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_file_check(f->db, false, &v, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
    assert_non_null(strstr(f->why, "newer codevd"));
}

static void the_data_dir_lock_is_taken_once(void **state)
{
    struct fx *f = *state;
    int a = store_dir_lock(f->dir, f->why, sizeof(f->why));
    int b;

    assert_true(a >= 0);
    b = store_dir_lock(f->dir, f->why, sizeof(f->why));
    assert_int_equal(b, CODEV_E_INTERNAL);
    assert_non_null(strstr(f->why, "in use by a running codevd"));
    close(a);
    b = store_dir_lock(f->dir, f->why, sizeof(f->why));
    assert_true(b >= 0);
    close(b);
}

static void backup_then_restore_round_trips_and_keeps_the_old(void **state)
{
    struct fx *f = *state;
    char backup[160], other[80], saved[200];
    struct stat st;
    int lock, v;

    make_codevd_db(f->dir);
    snprintf(backup, sizeof(backup), "%s/backup.db", f->dir);
    assert_int_equal(store_backup(f->dir, backup, f->why, sizeof(f->why)), 0);
    assert_int_equal(stat(backup, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(store_check(backup, NULL, f->why, sizeof(f->why)), 0);

    snprintf(other, sizeof(other), "%s/other", f->dir);
    assert_int_equal(mkdir(other, 0700), 0);
    make_codevd_db(other);
    /* Refused while the other dir's lock is held (a running server). */
    lock = store_dir_lock(other, f->why, sizeof(f->why));
    assert_true(lock >= 0);
    assert_int_equal(store_restore(other, backup, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
    assert_non_null(strstr(f->why, "in use"));
    close(lock);
    assert_int_equal(store_restore(other, backup, f->why, sizeof(f->why)), 0);
    snprintf(saved, sizeof(saved), "%s/codevd.db.pre-restore", other);
    assert_int_equal(stat(saved, &st), 0);
    snprintf(saved, sizeof(saved), "%s/codevd.db", other);
    assert_int_equal(store_file_check(saved, true, &v, f->why, sizeof(f->why)), 0);
    assert_int_equal(v, store_schema_version_latest());
}

static void restore_refuses_what_is_not_a_codevd_database(void **state)
{
    struct fx *f = *state;
    char junk[160], empty[160];
    struct stat st;

    snprintf(junk, sizeof(junk), "%s/junk.db", f->dir);
    write_file(junk, "not a database at all, just some text\n", 38);
    assert_int_equal(store_restore(f->dir, junk, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
    snprintf(empty, sizeof(empty), "%s/empty.db", f->dir);
    write_file(empty, "", 0);
    assert_int_equal(store_restore(f->dir, empty, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
    assert_int_not_equal(stat(f->db, &st), 0); /* nothing was put in place */
    assert_int_equal(store_backup(f->dir, junk, f->why, sizeof(f->why)),
                     CODEV_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_missing_or_empty_file_is_a_new_database, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(random_bytes_are_refused_and_left_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            another_applications_database_is_refused_and_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(a_codevd_database_passes_with_its_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_newer_codevds_database_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_data_dir_lock_is_taken_once, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_then_restore_round_trips_and_keeps_the_old,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(restore_refuses_what_is_not_a_codevd_database,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
