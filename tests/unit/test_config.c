/*
 * test_config.c - unit tests of config.c: defaults, the file syntax, value
 * checking, error reports and config_validate.
 *
 * Runs from tests/unit/ (meson's workdir), so ../../config/codevd.conf is
 * the reference file and data/config/ holds the fixtures. Other inputs are
 * written to temporary files by write_temp(). Each test owns what it
 * allocates and frees it; run under valgrind to check for leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define REFERENCE_CONF "../../config/codevd.conf"
#define ALL_KEYS_CONF  "data/config/all_keys.conf"

/* ------------------------------------------------------------------------ */
/* What the contract says: every key, its range and its default.            */

struct num_key {
    const char *name;
    size_t offset;
    uint32_t min, max, def;
};

/* clang-format off */
#define NUM(f, lo, hi, d) {#f, offsetof(struct config, f), lo, hi, d}
/* clang-format on */

static const struct num_key num_keys[] = {
    NUM(port, 1, 65535, 8080),
    NUM(ws_max_message, 1024, 16777216, 65536),
    NUM(json_max_depth, 2, 64, 8),
    NUM(text_max_chars, 1, 100000, 1000),
    NUM(long_text_max_chars, 1, 100000, 4000),
    NUM(name_max_chars, 1, 200, 60),
    NUM(cards_per_step, 1, 10000, 30),
    NUM(members_max, 2, 64, 16),
    NUM(plans_waiting_per_member, 1, 1000, 20),
    NUM(room_items_max, 10, 1000000, 2000),
    NUM(room_bytes_max, 65536, 268435456, 786432),
    NUM(rewrites_max, 1, 100000, 50),
    NUM(room_member_share, 1, 64, 4),
    NUM(group_journal_max_bytes, 65536, 1073741824, 8388608),
    NUM(groups_max, 1, 10000000, 100000),
    NUM(sessions_max, 1, 1000000, 10000),
    NUM(groups_per_ip, 1, 1000000, 200),
    NUM(sessions_per_ip, 1, 1000000, 50),
    NUM(connections_max, 1, 1000000, 19000),
    NUM(connections_per_ip, 1, 1000000, 256),
    NUM(commands_per_sec, 1, 10000, 20),
    NUM(commands_burst, 1, 100000, 40),
    NUM(question_checks_per_sec, 1, 10000, 5),
    NUM(http_body_max, 256, 16777216, 16384),
    NUM(out_queue_frames, 4, 100000, 256),
    NUM(out_queue_bytes, 4096, 1073741824, 1048576),
    NUM(idle_timeout_s, 2, 3600, 20),
    NUM(handshake_timeout_s, 1, 600, 10),
    NUM(http_anon_per_min, 1, 100000, 60),
    NUM(http_create_per_min, 1, 100000, 10),
    NUM(http_create_global_per_min, 1, 1000000, 120),
    NUM(http_exports_per_min, 1, 100000, 30),
    NUM(http_writes_per_min, 1, 100000, 60),
    NUM(session_idle_close_s, 1, 31536000, 43200),
    NUM(group_idle_expire_s, 1, 315360000, 2592000),
    NUM(http_header_timeout_s, 1, 600, 10),
    NUM(http_body_timeout_s, 1, 3600, 30),
    NUM(hello_timeout_s, 1, 600, 10),
    NUM(unauth_per_ip, 1, 1000000, 16),
    NUM(facilitator_grace_s, 1, 3600, 60),
    NUM(display_max_per_group, 1, 64, 8),
    NUM(test_time_offset_s, 0, 315360000, 0),
    NUM(test_commit_delay_us, 0, 1000000, 0),
    NUM(drain_timeout_s, 1, 600, 10),
    NUM(lease_ttl_s, 2, 600, 10),
    NUM(cluster_claims_per_s, 1, 10000, 50),
};

#define NUM_KEY_COUNT (sizeof num_keys / sizeof num_keys[0])

struct str_key {
    const char *name;
    size_t offset;
    int is_optional; /* "" unsets it */
};

static const struct str_key str_keys[] = {
    {"listen", offsetof(struct config, listen), 1},
    {"data_dir", offsetof(struct config, data_dir), 0},
    {"store", offsetof(struct config, store), 0},
    {"store_dsn", offsetof(struct config, store_dsn), 1},
    {"web_dir", offsetof(struct config, web_dir), 0},
    {"tls_cert", offsetof(struct config, tls_cert), 1},
    {"tls_key", offsetof(struct config, tls_key), 1},
    {"allowed_origins", offsetof(struct config, allowed_origins), 1},
    {"frame_ancestors", offsetof(struct config, frame_ancestors), 0},
    {"trusted_proxies", offsetof(struct config, trusted_proxies), 1},
    {"node_id", offsetof(struct config, node_id), 1},
};

#define STR_KEY_COUNT (sizeof str_keys / sizeof str_keys[0])

static uint32_t num_get(const struct config *c, const struct num_key *k)
{
    return *(const uint32_t *)(const void *)((const char *)c + k->offset);
}

static const char *str_get(const struct config *c, const struct str_key *k)
{
    return *(char *const *)(const void *)((const char *)c + k->offset);
}

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                 */

static void assert_str_or_null_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Compares every field of struct config, by name, so that a failure says
 * which one differs. */
static void assert_config_equal(const struct config *a, const struct config *b)
{
    for (size_t i = 0; i < STR_KEY_COUNT; i++) {
        const char *x = str_get(a, &str_keys[i]), *y = str_get(b, &str_keys[i]);
        if (!x != !y || (x && strcmp(x, y) != 0))
            print_message("# %s differs\n", str_keys[i].name);
        assert_str_or_null_equal(str_get(a, &str_keys[i]), str_get(b, &str_keys[i]));
    }
    for (size_t i = 0; i < NUM_KEY_COUNT; i++) {
        if (num_get(a, &num_keys[i]) != num_get(b, &num_keys[i]))
            print_message("# %s differs\n", num_keys[i].name);
        assert_int_equal(num_get(a, &num_keys[i]), num_get(b, &num_keys[i]));
    }
    assert_int_equal(a->log_level, b->log_level);
}

static char temp_path[64];

/* Writes len bytes of content to a new temporary file; returns its path
 * (a static buffer, removed by remove_temp). */
static const char *write_temp_n(const char *content, size_t len)
{
    int fd;

    snprintf(temp_path, sizeof temp_path, "/tmp/codevd-test-config-XXXXXX");
    fd = mkstemp(temp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    return temp_path;
}

static const char *write_temp(const char *content)
{
    return write_temp_n(content, strlen(content));
}

static void remove_temp(void)
{
    if (temp_path[0])
        unlink(temp_path);
    temp_path[0] = '\0';
}

/* Loads content over the defaults. Returns config_load_file's result; c
 * must be freed by the caller. */
static int load_text(struct config *c, const char *content, struct config_error *err)
{
    int rc;

    assert_int_equal(config_defaults(c), 0);
    rc = config_load_file(c, write_temp(content), err);
    remove_temp();
    return rc;
}

/* Expects content to fail at line with key and an error text containing
 * text_part. */
static void expect_load_error(const char *content, int line, const char *key,
                              const char *text_part)
{
    struct config c;
    struct config_error err;

    assert_int_equal(load_text(&c, content, &err), -1);
    print_message("# error: line %d, key \"%s\": %s\n", err.line, err.key, err.text);
    assert_int_equal(err.line, line);
    assert_string_equal(err.key, key);
    assert_non_null(strstr(err.text, text_part));
    config_free(&c);
}

/* Expects config_set(key, value) to fail, leave the field unchanged and
 * name the key. */
static void expect_set_error(const char *key, const char *value)
{
    struct config c, before;
    struct config_error err;

    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_defaults(&before), 0);
    print_message("# %s = \"%s\"\n", key, value);
    assert_int_equal(config_set(&c, key, value, &err), -1);
    assert_string_equal(err.key, key);
    assert_int_equal(err.line, 0);
    assert_true(strlen(err.text) > 0);
    assert_config_equal(&c, &before);
    config_free(&c);
    config_free(&before);
}

/* ------------------------------------------------------------------------ */
/* Defaults and the reference file.                                         */

static void defaults_match_the_header(void **state)
{
    struct config c;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_null(c.listen);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.web_dir, "web-client");
    assert_null(c.tls_cert);
    assert_null(c.tls_key);
    assert_null(c.allowed_origins);
    assert_int_equal(c.log_level, LOG_LEVEL_NOTICE);
    for (size_t i = 0; i < NUM_KEY_COUNT; i++)
        assert_int_equal(num_get(&c, &num_keys[i]), num_keys[i].def);
    config_free(&c);
}

static void defaults_pass_validation(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
}

static void reference_config_loads_and_yields_exactly_the_defaults(void **state)
{
    struct config c, d;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_defaults(&d), 0);
    if (config_load_file(&c, REFERENCE_CONF, &err) != 0)
        fail_msg("%s:%d: %s", REFERENCE_CONF, err.line, err.text);
    assert_config_equal(&c, &d);
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
    config_free(&d);
}

/* Finds the commented-out setting "#key = value" of the reference file and
 * returns its line without the '#', or NULL. */
static char *reference_setting(const char *key, char *line, size_t size)
{
    FILE *f = fopen(REFERENCE_CONF, "r");
    size_t n = strlen(key);
    char *found = NULL;

    assert_non_null(f);
    while (fgets(line, (int)size, f)) {
        const char *p = line + 1;
        if (line[0] != '#' || strncmp(p, key, n) != 0)
            continue;
        p += n;
        while (*p == ' ')
            p++;
        if (*p == '=') {
            found = line + 1;
            break;
        }
    }
    fclose(f);
    return found;
}

static void reference_config_documents_every_key(void **state)
{
    char line[4200];

    (void)state;
    for (size_t i = 0; i < NUM_KEY_COUNT; i++)
        if (!reference_setting(num_keys[i].name, line, sizeof line))
            fail_msg("%s is not in %s", num_keys[i].name, REFERENCE_CONF);
    for (size_t i = 0; i < STR_KEY_COUNT; i++)
        if (!reference_setting(str_keys[i].name, line, sizeof line))
            fail_msg("%s is not in %s", str_keys[i].name, REFERENCE_CONF);
    if (!reference_setting("log_level", line, sizeof line))
        fail_msg("log_level is not in %s", REFERENCE_CONF);
}

/* Uncommenting a documented setting must give the default: the file and
 * the code agree. web_dir is excluded: its default depends on the build,
 * so the file shows an example instead. */
static void reference_config_uncommented_settings_are_the_defaults(void **state)
{
    char line[4200];
    struct config c, d;
    struct config_error err;
    size_t checked = 0;

    (void)state;
    assert_int_equal(config_defaults(&d), 0);
    for (size_t i = 0; i < NUM_KEY_COUNT + STR_KEY_COUNT + 1; i++) {
        const char *key = i < NUM_KEY_COUNT ? num_keys[i].name
                          : i < NUM_KEY_COUNT + STR_KEY_COUNT
                              ? str_keys[i - NUM_KEY_COUNT].name
                              : "log_level";
        const char *setting;

        if (strcmp(key, "web_dir") == 0)
            continue;
        setting = reference_setting(key, line, sizeof line);
        assert_non_null(setting);
        if (load_text(&c, setting, &err) != 0)
            fail_msg("uncommented \"%s\" fails: %s", key, err.text);
        print_message("# %s", setting);
        assert_config_equal(&c, &d);
        config_free(&c);
        checked++;
    }
    assert_int_equal(checked, NUM_KEY_COUNT + STR_KEY_COUNT);
    config_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Every key parses.                                                        */

static void each_key_parses_from_file(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    if (config_load_file(&c, ALL_KEYS_CONF, &err) != 0)
        fail_msg("%s:%d: %s", ALL_KEYS_CONF, err.line, err.text);
    assert_string_equal(c.listen, "127.0.0.1");
    assert_int_equal(c.port, 8443);
    assert_string_equal(c.data_dir, "/var/lib/codevd data");
    assert_string_equal(c.web_dir, "/usr/share/codevd/web-client");
    assert_string_equal(c.tls_cert, "/etc/codevd/fullchain.pem");
    assert_string_equal(c.tls_key, "/etc/codevd/privkey.pem");
    assert_string_equal(c.allowed_origins,
                        "https://codev.example.org, http://localhost:5173");
    assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
    assert_int_equal(c.ws_max_message, 131072);
    assert_int_equal(c.json_max_depth, 12);
    assert_int_equal(c.text_max_chars, 500);
    assert_int_equal(c.long_text_max_chars, 8000);
    assert_int_equal(c.name_max_chars, 80);
    assert_int_equal(c.cards_per_step, 50);
    assert_int_equal(c.members_max, 64);
    assert_int_equal(c.room_items_max, 5000);
    assert_int_equal(c.room_bytes_max, 1048576);
    assert_int_equal(c.rewrites_max, 20);
    assert_int_equal(c.room_member_share, 3);
    assert_int_equal(c.group_journal_max_bytes, 16777216);
    assert_int_equal(c.groups_max, 10000000);
    assert_int_equal(c.sessions_max, 2000);
    assert_int_equal(c.groups_per_ip, 7);
    assert_int_equal(c.sessions_per_ip, 3);
    assert_int_equal(c.connections_max, 5000);
    assert_int_equal(c.connections_per_ip, 100);
    assert_int_equal(c.commands_per_sec, 10);
    assert_int_equal(c.commands_burst, 25);
    assert_int_equal(c.http_body_max, 32768);
    assert_int_equal(c.out_queue_frames, 512);
    assert_int_equal(c.out_queue_bytes, 2097152);
    assert_int_equal(c.idle_timeout_s, 30);
    assert_int_equal(c.handshake_timeout_s, 5);
    assert_int_equal(c.http_anon_per_min, 90);
    assert_int_equal(c.http_create_per_min, 5);
    assert_int_equal(c.http_create_global_per_min, 600);
    assert_int_equal(c.http_exports_per_min, 12);
    assert_int_equal(c.session_idle_close_s, 7200);
    assert_int_equal(c.group_idle_expire_s, 864000);
    assert_int_equal(c.http_header_timeout_s, 7);
    assert_int_equal(c.http_body_timeout_s, 45);
    assert_int_equal(c.hello_timeout_s, 15);
    assert_int_equal(c.unauth_per_ip, 32);
    assert_int_equal(c.test_time_offset_s, 60);
    assert_int_equal(c.test_commit_delay_us, 1500);
    assert_int_equal(c.facilitator_grace_s, 5);
    assert_int_equal(c.display_max_per_group, 3);
    assert_string_equal(c.frame_ancestors, "'self' https://teams.microsoft.com");
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
}

static void each_numeric_key_accepts_its_bounds_and_rejects_beyond(void **state)
{
    struct config c;
    struct config_error err;
    char v[32];

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    for (size_t i = 0; i < NUM_KEY_COUNT; i++) {
        const struct num_key *k = &num_keys[i];

        snprintf(v, sizeof v, "%lu", (unsigned long)k->min);
        assert_int_equal(config_set(&c, k->name, v, &err), 0);
        assert_int_equal(num_get(&c, k), k->min);
        snprintf(v, sizeof v, "%lu", (unsigned long)k->max);
        assert_int_equal(config_set(&c, k->name, v, &err), 0);
        assert_int_equal(num_get(&c, k), k->max);
        snprintf(v, sizeof v, "%lu", (unsigned long)k->max + 1);
        expect_set_error(k->name, v);
        snprintf(v, sizeof v, "%lu", (unsigned long)k->min - 1);
        expect_set_error(k->name, v);
    }
    config_free(&c);
}

static void each_string_key_is_set_replaced_and_emptied(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    for (size_t i = 0; i < STR_KEY_COUNT; i++) {
        const struct str_key *k = &str_keys[i];

        assert_int_equal(config_set(&c, k->name, "/first", &err), 0);
        assert_string_equal(str_get(&c, k), "/first");
        assert_int_equal(config_set(&c, k->name, "/second value", &err), 0);
        assert_string_equal(str_get(&c, k), "/second value");
        if (k->is_optional) {
            assert_int_equal(config_set(&c, k->name, "", &err), 0);
            assert_null(str_get(&c, k));
        } else {
            assert_int_equal(config_set(&c, k->name, "", &err), -1);
            assert_string_equal(str_get(&c, k), "/second value");
        }
    }
    config_free(&c);
}

static void log_level_accepts_each_name_and_round_trips(void **state)
{
    static const char *const names[] = {"error", "warn", "notice", "info", "debug"};
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(config_set(&c, "log_level", names[i], &err), 0);
        assert_int_equal(c.log_level, i);
        assert_string_equal(config_log_level_name(c.log_level), names[i]);
    }
    assert_int_equal(LOG_LEVEL_ERR, 0);
    assert_int_equal(LOG_LEVEL_DEBUG, 4);
    config_free(&c);
}

static void log_level_rejects_other_words(void **state)
{
    struct config_error err;
    struct config c;

    (void)state;
    expect_set_error("log_level", "INFO");
    expect_set_error("log_level", "warning");
    expect_set_error("log_level", "3");
    expect_set_error("log_level", "");
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "log_level", "verbose", &err), -1);
    assert_string_equal(err.text, "log_level must be one of error, warn, notice, info, "
                                  "debug, got \"verbose\"");
    config_free(&c);
    assert_string_equal(config_log_level_name((enum config_log_level)99), "unknown");
}

/* ------------------------------------------------------------------------ */
/* Bad values.                                                              */

static void number_with_trailing_junk_is_rejected_with_a_sentence(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "port", "80x", &err), -1);
    assert_string_equal(err.key, "port");
    assert_string_equal(err.text, "port must be an integer from 1 to 65535, got \"80x\"");
    assert_int_equal(c.port, 8080);
    config_free(&c);
}

static void numbers_that_are_not_plain_decimal_are_rejected(void **state)
{
    static const char *const bad[] = {
        "x", "8 0", " 80", "80 ", "+80", "0x50", "080.0", "8e3", "1,000", "\t80", "８０",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_set_error("port", bad[i]);
}

static void negative_numbers_are_rejected(void **state)
{
    (void)state;
    expect_set_error("port", "-1");
    expect_set_error("port", "-0");
    expect_set_error("groups_max",
                     "-18446744073709551615"); /* strtoull would wrap it to 1 */
    expect_set_error("commands_burst", "-40");
}

static void overflowing_numbers_are_rejected(void **state)
{
    (void)state;
    expect_set_error("groups_max", "99999999999999999999");
    expect_set_error("groups_max", "18446744073709551616");
    expect_set_error("out_queue_bytes", "4294967296"); /* 2^32, wraps a uint32_t to 0 */
    expect_set_error("out_queue_bytes", "4294971392"); /* 2^32 + 4096 */
    expect_set_error("port", "4294975376");            /* 2^32 + 8080 */
}

static void empty_values_are_rejected_where_not_optional(void **state)
{
    (void)state;
    expect_set_error("port", "");
    expect_set_error("data_dir", "");
    expect_set_error("web_dir", "");
}

static void control_characters_in_strings_are_rejected(void **state)
{
    (void)state;
    expect_set_error("data_dir", "/srv/\tcodevd");
    expect_set_error("tls_cert", "/etc/\x1b[31m");
}

static void bad_value_in_file_reports_key_and_line(void **state)
{
    (void)state;
    expect_load_error("# a comment\n\nport = 8081\nmembers_max = 65\n", 4, "members_max",
                      "members_max must be an integer from 2 to 64, got \"65\"");
    expect_load_error("port = -80\n", 1, "port", "got \"-80\"");
    expect_load_error("\n\ngroups_max = 99999999999999999999\n", 3, "groups_max",
                      "got \"99999999999999999999\"");
    expect_load_error("log_level = loud\n", 1, "log_level", "got \"loud\"");
}

static void empty_value_in_file_is_rejected(void **state)
{
    (void)state;
    expect_load_error("port =\n", 1, "port", "port has no value");
    expect_load_error("port =   # nothing\n", 1, "port", "port has no value");
    expect_load_error("x = 1\n", 1, "x", "unknown key \"x\"");
    expect_load_error("port = \"\"\n", 1, "port", "got \"\"");
    expect_load_error("data_dir = \"\"\n", 1, "data_dir", "data_dir must not be empty");
}

static void long_bad_value_is_cut_in_the_message(void **state)
{
    char value[300];
    struct config c;
    struct config_error err;

    (void)state;
    memset(value, '7', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "port", value, &err), -1);
    assert_true(strlen(err.text) < sizeof err.text - 1);
    assert_non_null(strstr(err.text, "...\""));
    config_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Unknown keys and malformed lines.                                        */

static void unknown_key_reports_key_and_line(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c, "port = 8081\n# comment\nprot = 80\n", &err), -1);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.key, "prot");
    assert_string_equal(err.text, "unknown key \"prot\" (did you mean \"port\"?)");
    config_free(&c);
    expect_load_error("colour = blue\n", 1, "colour", "unknown key \"colour\"");
}

static void unknown_key_via_config_set_is_named(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "data-dir", "/x", &err), -1);
    assert_string_equal(err.key, "data-dir");
    assert_int_equal(err.line, 0);
    assert_string_equal(err.text,
                        "unknown key \"data-dir\" (did you mean \"data_dir\"?)");
    assert_int_equal(config_set(&c, "Port", "80", &err), -1);
    assert_int_equal(config_set(&c, "", "80", &err), -1);
    config_free(&c);
}

static void overlong_unknown_key_is_truncated_safely(void **state)
{
    char text[400], key[64];
    struct config c;
    struct config_error err;

    (void)state;
    memset(text, 'k', 300);
    memcpy(text + 300, " = 1\n", 6);
    memset(key, 'k', 63);
    key[63] = '\0';
    assert_int_equal(load_text(&c, text, &err), -1);
    assert_int_equal(err.line, 1);
    assert_string_equal(err.key, key);
    assert_non_null(strstr(err.text, "unknown key \"kkk"));
    assert_non_null(strstr(err.text, "...\""));
    config_free(&c);
}

static void line_that_is_not_key_equals_value_is_rejected(void **state)
{
    (void)state;
    expect_load_error("port 8080\n", 1, "", "line is not \"key = value\"");
    expect_load_error("\n= 8080\n", 2, "", "line is not \"key = value\"");
    expect_load_error("[server]\n", 1, "", "line is not \"key = value\"");
    expect_load_error("port: 8080\n", 1, "", "line is not \"key = value\"");
    expect_load_error("po rt = 8080\n", 1, "", "line is not \"key = value\"");
}

static void unterminated_quote_reports_line(void **state)
{
    (void)state;
    expect_load_error("port = 8081\ndata_dir = \"/srv/codevd\n", 2, "data_dir",
                      "unterminated quote");
}

static void text_after_closing_quote_is_rejected(void **state)
{
    (void)state;
    expect_load_error("data_dir = \"/srv\"/codevd\n", 1, "data_dir",
                      "unexpected text after the closing quote");
}

static void line_longer_than_4096_bytes_is_rejected(void **state)
{
    char *text = malloc(5000);
    struct config c;
    struct config_error err;

    (void)state;
    assert_non_null(text);
    /* 4096 bytes of comment, with "\r\n": accepted. */
    memset(text, '#', 4096);
    memcpy(text + 4096, "\r\nport = 8081\n", 15);
    assert_int_equal(load_text(&c, text, &err), 0);
    assert_int_equal(c.port, 8081);
    config_free(&c);
    /* 4097 bytes on line 2: rejected. */
    memcpy(text, "port = 1\n", 9);
    memset(text + 9, '#', 4097);
    memcpy(text + 9 + 4097, "\n", 2);
    assert_int_equal(load_text(&c, text, &err), -1);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.text, "line is longer than 4096 bytes");
    config_free(&c);
    free(text);
}

static void nul_byte_in_a_line_is_rejected(void **state)
{
    static const char text[] = "port = 8081\ndata_dir = /srv\0/x\n";
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_load_file(&c, write_temp_n(text, sizeof text - 1), &err), -1);
    remove_temp();
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.text, "NUL"));
    config_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Comments, blank lines, quotes and whitespace.                            */

static void comments_and_blank_lines_are_ignored(void **state)
{
    struct config c, d;
    struct config_error err;

    (void)state;
    assert_int_equal(
        load_text(&c, "\n# port = 1\n   # indented comment\n\t\n   \n#\n", &err), 0);
    assert_int_equal(config_defaults(&d), 0);
    assert_config_equal(&c, &d);
    config_free(&c);
    config_free(&d);
}

static void empty_file_gives_the_defaults(void **state)
{
    struct config c, d;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c, "", &err), 0);
    assert_int_equal(config_defaults(&d), 0);
    assert_config_equal(&c, &d);
    config_free(&c);
    config_free(&d);
}

static void whitespace_around_key_and_value_is_ignored(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c,
                               "port=8081\n"
                               "  \tmembers_max\t=\t20\t \n"
                               "data_dir   =   /srv/my codevd   \n"
                               "log_level= info\n",
                               &err),
                     0);
    assert_int_equal(c.port, 8081);
    assert_int_equal(c.members_max, 20);
    assert_string_equal(c.data_dir, "/srv/my codevd");
    assert_int_equal(c.log_level, LOG_LEVEL_INFO);
    config_free(&c);
}

static void comment_after_a_value_is_ignored(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c, "port = 8081 # the port\nweb_dir = /w#x\n", &err), 0);
    assert_int_equal(c.port, 8081);
    assert_string_equal(c.web_dir, "/w");
    config_free(&c);
}

static void quoted_values_keep_spaces_and_hash(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c,
                               "data_dir = \"  /srv/a # b  \"  # comment\n"
                               "port = \"8081\"\n"
                               "log_level = \"warn\"\n"
                               "web_dir = \"'single'\"\n",
                               &err),
                     0);
    assert_string_equal(c.data_dir, "  /srv/a # b  ");
    assert_int_equal(c.port, 8081);
    assert_int_equal(c.log_level, LOG_LEVEL_WARN);
    assert_string_equal(c.web_dir, "'single'");
    config_free(&c);
}

static void quoted_empty_string_unsets_optional_keys(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c,
                               "listen = 127.0.0.1\ntls_cert = /c.pem\ntls_key = /k.pem\n"
                               "allowed_origins = https://a.example\n"
                               "listen = \"\"\ntls_cert = \"\"\ntls_key = \"\"\n"
                               "allowed_origins = \"\"\n",
                               &err),
                     0);
    assert_null(c.listen);
    assert_null(c.tls_cert);
    assert_null(c.tls_key);
    assert_null(c.allowed_origins);
    /* The same from the command line. */
    assert_int_equal(config_set(&c, "listen", "::1", &err), 0);
    assert_string_equal(c.listen, "::1");
    assert_int_equal(config_set(&c, "listen", "", &err), 0);
    assert_null(c.listen);
    config_free(&c);
}

static void crlf_line_ends_and_utf8_bom_are_accepted(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(
        load_text(&c, "\xEF\xBB\xBFport = 8081\r\ndata_dir = \"/d\"\r\n", &err), 0);
    assert_int_equal(c.port, 8081);
    assert_string_equal(c.data_dir, "/d");
    config_free(&c);
}

static void last_line_without_newline_is_read(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(load_text(&c, "port = 1\nport = 8082", &err), 0);
    assert_int_equal(c.port, 8082);
    config_free(&c);
}

static void key_given_twice_keeps_the_last_value(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(
        load_text(&c, "data_dir = /a\nport = 1\ndata_dir = /b\nport = 2\n", &err), 0);
    assert_string_equal(c.data_dir, "/b");
    assert_int_equal(c.port, 2);
    config_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Files that cannot be read; atomicity.                                    */

static void missing_file_reports_line_0_and_strerror(void **state)
{
    struct config c, d;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_load_file(&c, "data/config/no-such-file.conf", &err), -1);
    assert_int_equal(err.line, 0);
    assert_string_equal(err.key, "");
    assert_string_equal(err.text, "cannot open \"data/config/no-such-file.conf\": "
                                  "No such file or directory");
    assert_int_equal(config_defaults(&d), 0);
    assert_config_equal(&c, &d);
    config_free(&c);
    config_free(&d);
}

static void directory_instead_of_file_reports_line_0(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_load_file(&c, "data/config", &err), -1);
    print_message("# %s\n", err.text);
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.text, strerror(EISDIR)));
    config_free(&c);
}

static void failed_load_leaves_the_config_unchanged(void **state)
{
    struct config c, d;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "data_dir", "/before", &err), 0);
    assert_int_equal(config_defaults(&d), 0);
    assert_int_equal(config_set(&d, "data_dir", "/before", &err), 0);
    assert_int_equal(
        config_load_file(&c, write_temp("port = 9\ndata_dir = /after\nprot = 1\n"), &err),
        -1);
    remove_temp();
    assert_int_equal(err.line, 3);
    assert_config_equal(&c, &d);
    config_free(&c);
    config_free(&d);
}

static void load_applies_over_the_existing_settings(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "members_max", "30", &err), 0);
    assert_int_equal(config_load_file(&c, write_temp("port = 9\n"), &err), 0);
    remove_temp();
    assert_int_equal(c.port, 9);
    assert_int_equal(c.members_max, 30);
    assert_int_equal(err.line, 0);
    assert_string_equal(err.text, "");
    config_free(&c);
}

/* ------------------------------------------------------------------------ */
/* config_validate.                                                         */

static void validate_rejects_tls_cert_without_key(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "tls_cert", "/c.pem", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "tls_key");
    assert_non_null(strstr(err.text, "tls_cert and tls_key must be set together"));
    config_free(&c);
}

static void validate_rejects_tls_key_without_cert(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "tls_key", "/k.pem", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "tls_cert");
    config_free(&c);
}

static void validate_accepts_tls_cert_and_key_together(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "tls_cert", "/c.pem", &err), 0);
    assert_int_equal(config_set(&c, "tls_key", "/k.pem", &err), 0);
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
}

/* node_id (a cluster) needs the shared store, and a plain name. */
static void validate_node_id(void **state)
{
    struct config c;
    struct config_error err;
    char longer[70];

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "node_id", "node1", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1); /* store = sqlite */
    assert_string_equal(err.key, "node_id");
    assert_non_null(strstr(err.text, "store = postgresql"));
    assert_int_equal(config_set(&c, "node_id", "node 1;drop", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "node_id");
    assert_non_null(strstr(err.text, "1-63 characters"));
    memset(longer, 'a', 64);
    longer[64] = '\0';
    assert_int_equal(config_set(&c, "node_id", longer, &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_non_null(strstr(err.text, "1-63 characters"));
    assert_int_equal(config_set(&c, "node_id", "", &err), 0); /* unset: one node */
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
}

static void validate_rejects_long_text_limit_below_text_limit(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "long_text_max_chars", "999", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "long_text_max_chars");
    assert_int_equal(config_set(&c, "long_text_max_chars", "1000", &err), 0);
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
}

/* A welcome of a full room must fit in a connection's queue: the queue is
 * at least room_bytes_max + CONFIG_WELCOME_SLACK. */
static void validate_keeps_the_queue_above_a_full_room(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_validate(&c, &err), 0);
    assert_int_equal(config_set(&c, "out_queue_bytes", "1048575", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "out_queue_bytes");
    assert_int_equal(config_set(&c, "room_bytes_max", "65536", &err), 0);
    assert_int_equal(config_set(&c, "out_queue_bytes", "327680", &err), 0);
    assert_int_equal(config_validate(&c, &err), 0);
    config_free(&c);
}

static void validate_rejects_fields_set_out_of_range_directly(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    c.commands_burst = 0;
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "commands_burst");
    c.commands_burst = 40;
    c.members_max = 65;
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "members_max");
    c.members_max = 16;
    c.log_level = (enum config_log_level)7;
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "log_level");
    c.log_level = LOG_LEVEL_INFO;
    free(c.data_dir);
    c.data_dir = NULL;
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "data_dir");
    config_free(&c);
}

/* frame_ancestors goes into every answer's CSP header: only source
 * expressions, never a ';', a ',' or a line break that would end the
 * directive or the header. */
static void validate_checks_frame_ancestors(void **state)
{
    static const char *const good[] = {
        "'none'",
        "'self'",
        "'self' https://teams.microsoft.com",
        "https://*.example.org:443 https:",
        "  'self'   https://intranet.example.org/codev/  ",
    };
    static const char *const bad[] = {
        "'none' 'self'",
        "'self'; script-src *",
        "https://a.example,https://b.example",
        "'self'\r\nSet-Cookie: x=1",
        "'self'\nX: y",
        "'unsafe-inline'",
        "\"quoted\"",
        "   ",
        "https://a.example\t'self'",
    };
    struct config c;
    struct config_error err;
    char big[1100];

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_string_equal(c.frame_ancestors, "'none'");
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(config_set(&c, "frame_ancestors", good[i], &err), 0);
        if (config_validate(&c, &err) != 0)
            fail_msg("\"%s\" refused: %s", good[i], err.text);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_set(&c, "frame_ancestors", bad[i], &err) != 0)
            continue; /* refused already (empty) */
        if (config_validate(&c, &err) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_string_equal(err.key, "frame_ancestors");
    }
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(config_set(&c, "frame_ancestors", big, &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    config_free(&c);
}

static void validate_checks_event_loop(void **state)
{
    static const char *const good[] = {"auto", "epoll", "poll"};
    static const char *const bad[] = {"uv", "EPOLL", "select", "poll "};
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_string_equal(c.event_loop, "auto");
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(config_set(&c, "event_loop", good[i], &err), 0);
        if (config_validate(&c, &err) != 0)
            fail_msg("\"%s\" rejected: %s", good[i], err.text);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(config_set(&c, "event_loop", bad[i], &err), 0);
        if (config_validate(&c, &err) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_string_equal(err.key, "event_loop");
    }
    assert_int_equal(config_set(&c, "event_loop", "select", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.text,
                        "event_loop must be auto, epoll or poll, got \"select\"");
    config_free(&c);
}

/* store: sqlite or postgresql; this test builds config.c without
 * codevd_config.h, as a codevd without libpq: postgresql is refused with
 * the reason, and an unknown store or a missing store_dsn too. */
static void validate_checks_store(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_string_equal(c.store, "sqlite");
    assert_null(c.store_dsn);
    assert_int_equal(config_validate(&c, &err), 0);
    assert_int_equal(config_set(&c, "store", "mysql", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "store");
    assert_string_equal(err.text, "store must be sqlite or postgresql, got \"mysql\"");
    assert_int_equal(config_set(&c, "store", "postgresql", &err), 0);
    assert_int_equal(config_set(&c, "store_dsn", "dbname=codevd", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "store");
    assert_non_null(strstr(err.text, "built without PostgreSQL"));
    assert_non_null(strstr(err.text, "-Dpostgresql=enabled"));
    config_free(&c);
}

static void validate_checks_allowed_origins_entries(void **state)
{
    static const char *const good[] = {
        "https://codev.example.org",
        "http://localhost:5173",
        "https://a.example, http://b.example:8080",
        "https://a.example,https://b.example",
    };
    static const char *const bad[] = {
        "codev.example.org",
        "https://codev.example.org/",
        "https://a.example/path",
        "https://a.example,,",
        "https://",
        "ftp://a.example",
        ",https://a.example",
        "https://a b.example",
    };
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(config_set(&c, "allowed_origins", good[i], &err), 0);
        if (config_validate(&c, &err) != 0)
            fail_msg("\"%s\" rejected: %s", good[i], err.text);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(config_set(&c, "allowed_origins", bad[i], &err), 0);
        if (config_validate(&c, &err) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_string_equal(err.key, "allowed_origins");
    }
    config_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Ownership.                                                               */

static void config_free_null_is_a_no_op(void **state)
{
    (void)state;
    config_free(NULL);
}

static void config_free_twice_is_safe(void **state)
{
    struct config c;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    config_free(&c);
    assert_null(c.data_dir);
    assert_null(c.web_dir);
    config_free(&c);
}

static void null_error_struct_is_allowed(void **state)
{
    struct config c;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_int_equal(config_set(&c, "port", "x", NULL), -1);
    assert_int_equal(config_set(&c, "port", "81", NULL), 0);
    assert_int_equal(config_load_file(&c, "data/config/no-such-file.conf", NULL), -1);
    assert_int_equal(config_validate(&c, NULL), 0);
    config_free(&c);
}

static void trusted_proxies_are_validated_naming_the_bad_entry(void **state)
{
    struct config c;
    struct config_error err;

    (void)state;
    assert_int_equal(config_defaults(&c), 0);
    assert_null(c.trusted_proxies); /* nobody trusted by default */
    assert_int_equal(
        config_set(&c, "trusted_proxies", "127.0.0.1, ::1, 10.0.0.0/8", &err), 0);
    assert_int_equal(config_validate(&c, &err), 0);
    assert_int_equal(config_set(&c, "trusted_proxies", "127.0.0.1, nginx", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_string_equal(err.key, "trusted_proxies");
    assert_non_null(strstr(err.text, "\"nginx\""));
    assert_int_equal(config_set(&c, "trusted_proxies", "10.0.0.0/40", &err), 0);
    assert_int_equal(config_validate(&c, &err), -1);
    assert_non_null(strstr(err.text, "10.0.0.0/40"));
    config_free(&c);
}

static void a_reload_applies_what_it_may_and_names_what_needs_a_restart(void **state)
{
    struct config live, fresh;
    char changed[400], restart[400];

    (void)state;
    assert_int_equal(config_defaults(&live), 0);
    assert_int_equal(config_defaults(&fresh), 0);
    /* Nothing differs: nothing said. */
    assert_int_equal(
        config_reload(&live, &fresh, changed, sizeof changed, restart, sizeof restart),
        0);
    assert_string_equal(changed, "");
    assert_string_equal(restart, "");
    assert_int_equal(config_set(&fresh, "connections_per_ip", "7", NULL), 0);
    assert_int_equal(config_set(&fresh, "log_level", "debug", NULL), 0);
    assert_int_equal(config_set(&fresh, "allowed_origins", "https://a.example", NULL), 0);
    assert_int_equal(config_set(&fresh, "tls_cert", "/new/cert.pem", NULL), 0);
    assert_int_equal(config_set(&fresh, "port", "9999", NULL), 0);
    assert_int_equal(config_set(&fresh, "data_dir", "/elsewhere", NULL), 0);
    assert_int_equal(config_set(&fresh, "members_max", "20", NULL), 0);
    assert_int_equal(
        config_reload(&live, &fresh, changed, sizeof changed, restart, sizeof restart),
        0);
    assert_int_equal(live.connections_per_ip, 7);
    assert_int_equal(live.log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(live.allowed_origins, "https://a.example");
    assert_string_equal(live.tls_cert, "/new/cert.pem");
    assert_ptr_not_equal(live.tls_cert, fresh.tls_cert); /* live owns its copy */
    assert_int_equal(live.port, 8080);
    assert_string_equal(live.data_dir, "./data");
    assert_int_equal(live.members_max, 16);
    assert_string_equal(changed,
                        "tls_cert, allowed_origins, log_level, connections_per_ip");
    assert_string_equal(restart, "port, data_dir, members_max");
    /* Unsetting an optional string applies too; the lists are cut, not overrun. */
    assert_int_equal(config_set(&fresh, "allowed_origins", "", NULL), 0);
    assert_int_equal(config_reload(&live, &fresh, changed, 12, restart, 5), 0);
    assert_null(live.allowed_origins);
    assert_true(strlen(changed) < 12);
    assert_true(strlen(restart) < 5);
    config_free(&fresh);
    config_free(&live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_the_header),
        cmocka_unit_test(defaults_pass_validation),
        cmocka_unit_test(reference_config_loads_and_yields_exactly_the_defaults),
        cmocka_unit_test(reference_config_documents_every_key),
        cmocka_unit_test(reference_config_uncommented_settings_are_the_defaults),
        cmocka_unit_test(each_key_parses_from_file),
        cmocka_unit_test(each_numeric_key_accepts_its_bounds_and_rejects_beyond),
        cmocka_unit_test(each_string_key_is_set_replaced_and_emptied),
        cmocka_unit_test(log_level_accepts_each_name_and_round_trips),
        cmocka_unit_test(log_level_rejects_other_words),
        cmocka_unit_test(number_with_trailing_junk_is_rejected_with_a_sentence),
        cmocka_unit_test(numbers_that_are_not_plain_decimal_are_rejected),
        cmocka_unit_test(negative_numbers_are_rejected),
        cmocka_unit_test(overflowing_numbers_are_rejected),
        cmocka_unit_test(empty_values_are_rejected_where_not_optional),
        cmocka_unit_test(control_characters_in_strings_are_rejected),
        cmocka_unit_test(bad_value_in_file_reports_key_and_line),
        cmocka_unit_test(empty_value_in_file_is_rejected),
        cmocka_unit_test(long_bad_value_is_cut_in_the_message),
        cmocka_unit_test(unknown_key_reports_key_and_line),
        cmocka_unit_test(unknown_key_via_config_set_is_named),
        cmocka_unit_test(overlong_unknown_key_is_truncated_safely),
        cmocka_unit_test(line_that_is_not_key_equals_value_is_rejected),
        cmocka_unit_test(unterminated_quote_reports_line),
        cmocka_unit_test(trusted_proxies_are_validated_naming_the_bad_entry),
        cmocka_unit_test(a_reload_applies_what_it_may_and_names_what_needs_a_restart),
        cmocka_unit_test(text_after_closing_quote_is_rejected),
        cmocka_unit_test(line_longer_than_4096_bytes_is_rejected),
        cmocka_unit_test(nul_byte_in_a_line_is_rejected),
        cmocka_unit_test(comments_and_blank_lines_are_ignored),
        cmocka_unit_test(empty_file_gives_the_defaults),
        cmocka_unit_test(whitespace_around_key_and_value_is_ignored),
        cmocka_unit_test(comment_after_a_value_is_ignored),
        cmocka_unit_test(quoted_values_keep_spaces_and_hash),
        cmocka_unit_test(quoted_empty_string_unsets_optional_keys),
        cmocka_unit_test(crlf_line_ends_and_utf8_bom_are_accepted),
        cmocka_unit_test(last_line_without_newline_is_read),
        cmocka_unit_test(key_given_twice_keeps_the_last_value),
        cmocka_unit_test(missing_file_reports_line_0_and_strerror),
        cmocka_unit_test(directory_instead_of_file_reports_line_0),
        cmocka_unit_test(failed_load_leaves_the_config_unchanged),
        cmocka_unit_test(load_applies_over_the_existing_settings),
        cmocka_unit_test(validate_rejects_tls_cert_without_key),
        cmocka_unit_test(validate_rejects_tls_key_without_cert),
        cmocka_unit_test(validate_accepts_tls_cert_and_key_together),
        cmocka_unit_test(validate_node_id),
        cmocka_unit_test(validate_rejects_long_text_limit_below_text_limit),
        cmocka_unit_test(validate_keeps_the_queue_above_a_full_room),
        cmocka_unit_test(validate_rejects_fields_set_out_of_range_directly),
        cmocka_unit_test(validate_checks_allowed_origins_entries),
        cmocka_unit_test(validate_checks_event_loop),
        cmocka_unit_test(validate_checks_store),
        cmocka_unit_test(validate_checks_frame_ancestors),
        cmocka_unit_test(config_free_null_is_a_no_op),
        cmocka_unit_test(config_free_twice_is_safe),
        cmocka_unit_test(null_error_struct_is_allowed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
