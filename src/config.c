/*
 * config.c - codevd's settings: embedded defaults, the config file parser,
 * single-setting overrides, and the cross-field checks.
 *
 * Every key is one row of config_keys[] below: its name (the struct config
 * field name), its type, where it lives in the struct, its range and its
 * default. config_defaults, config_set and config_validate all walk that
 * one table, so adding a setting means adding a field to struct config, a
 * row here and a paragraph in config/codevd.conf; nothing else.
 *
 * File syntax (one setting a line):
 *
 *     # comment            a '#' outside quotes starts a comment
 *     key = value          spaces and tabs around key, '=' and value ignored
 *     key = "value"        quotes keep spaces and '#'; no escapes, so a
 *                          quoted value cannot contain '"'
 *     key = ""             the empty string: "unset" for optional strings
 *
 * A line holds at most CONFIG_LINE_MAX bytes (without its newline). CRLF
 * line ends and a UTF-8 byte order mark on the first line are accepted. A
 * key given twice takes its last value, as a command-line override does.
 *
 * Invariants: a struct config filled by config_defaults always has data_dir
 * and web_dir set and every number within its row's range; config_load_file
 * changes c only when the whole file is good (it parses into a copy).
 *
 * Load: a few dozen lines, once, on the main thread at start-up. Nothing
 * here is on a hot path; clarity wins over speed.
 *
 * Pure: libc, config.h and ratelimit.h (the trusted_proxies parser) only
 * (plus the generated, macro-only codevd_config.h when the build provides it).
 *
 * Why one file of about 1,000 lines: a fifth of it is the key table (one
 * row and help line per setting); the rest are the four walks of that one
 * table (defaults, file, override, validation) and the reload's sorting of
 * the same rows into applied and restart-only. Splitting the cross-field
 * checks or the reload away would put a second list of keys elsewhere.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

/* The daemon's build generates codevd_config.h (macros only) with the
 * source tree's web-client/ path; the unit test compiles this file alone,
 * without it, and gets the relative fallback. */
#if defined(__has_include)
#if __has_include("codevd_config.h")
#include "codevd_config.h"
#endif
#endif

/* Whether store = postgresql can work (the unit test: as without libpq). */
#if defined(CODEVD_HAVE_POSTGRESQL) && CODEVD_HAVE_POSTGRESQL
#define CONFIG_HAVE_POSTGRESQL 1
#else
#define CONFIG_HAVE_POSTGRESQL 0
#endif

#ifdef CODEVD_SOURCE_WEB_DIR
#define CONFIG_DEFAULT_WEB_DIR CODEVD_SOURCE_WEB_DIR
#else
#define CONFIG_DEFAULT_WEB_DIR "web-client"
#endif

/* Longest accepted line, in bytes, not counting the line end. */
#define CONFIG_LINE_MAX 4096

/* Bytes of the frame_ancestors setting (it goes into every answer's CSP). */
#define CONFIG_FRAME_ANCESTORS_MAX 1024

/* How much of a bad value or path is quoted back in an error message. */
#define CONFIG_QUOTE_MAX 48

enum config_key_type {
    KEY_STRING,   /* char *, must not be empty */
    KEY_OPTIONAL, /* char *, "" means unset (NULL) */
    KEY_U32,      /* uint32_t within [min, max] */
    KEY_LOG_LEVEL /* enum config_log_level, by name */
};

struct config_key {
    const char *name;          /* the key, equal to the struct config field name */
    enum config_key_type type; /* how the value is parsed and stored */
    size_t offset;             /* offsetof(struct config, field) */
    uint32_t min;              /* KEY_U32: smallest accepted value */
    uint32_t max;              /* KEY_U32: largest accepted value */
    uint32_t def;              /* KEY_U32, KEY_LOG_LEVEL: the default */
    const char *def_str;       /* KEY_STRING, KEY_OPTIONAL: the default (NULL = unset) */
    bool reload;               /* a SIGHUP applies it (config_reload); else restart */
    /* cppcheck-suppress unusedStructMember ; documentation kept with the key */
    const char *help; /* one line on what it means */
};

/* clang-format off */
#define OFF(field) offsetof(struct config, field)
#define STR(field, dflt, h) {#field, KEY_STRING, OFF(field), 0, 0, 0, dflt, false, h}
#define OPT(field, h) {#field, KEY_OPTIONAL, OFF(field), 0, 0, 0, NULL, false, h}
#define U32(field, lo, hi, dflt, h) {#field, KEY_U32, OFF(field), lo, hi, dflt, NULL, false, h}
/* The same, applied by a SIGHUP reload. */
#define OPT_R(field, h) {#field, KEY_OPTIONAL, OFF(field), 0, 0, 0, NULL, true, h}
#define U32_R(field, lo, hi, dflt, h) {#field, KEY_U32, OFF(field), lo, hi, dflt, NULL, true, h}
/* clang-format on */

/* The keys, in the order config/codevd.conf documents them. The defaults
 * must agree with the comments in config.h and with proto/README.md 2.7. */
static const struct config_key config_keys[] = {
    OPT(listen, "address, interface or host name to listen on; unset = all"),
    U32(port, 1, 65535, 8080, "TCP port for HTTP and WebSocket"),
    STR(data_dir, "./data", "directory holding the database"),
    STR(store, "sqlite", "the store: sqlite (under data_dir) or postgresql (store_dsn)"),
    OPT(store_dsn, "store = postgresql: the libpq connection string"),
    STR(web_dir, CONFIG_DEFAULT_WEB_DIR, "directory of the web client files"),
    OPT_R(tls_cert, "PEM certificate path; unset = plain HTTP/WS"),
    OPT_R(tls_key, "PEM private key path; set with tls_cert"),
    OPT_R(allowed_origins, "comma-separated extra origins; unset = same origin only"),
    STR(frame_ancestors, "'none'",
        "CSP frame-ancestors: the pages that may embed codevd (source expressions)"),
    {"log_level", KEY_LOG_LEVEL, OFF(log_level), 0, 0, LOG_LEVEL_NOTICE, NULL, true,
     "error, warn, notice, info or debug"},
    STR(event_loop, "auto", "auto, epoll (lws on libuv) or poll"),
    STR(metrics_listen, "127.0.0.1", "address of the metrics port (metrics_port)"),
    U32(metrics_port, 0, 65535, 0,
        "TCP port serving only /metrics and /readyz; 0 = /metrics on port, loopback "
        "only"),
    U32_R(ws_max_message, 1024, 16777216, 65536, "bytes of one reassembled message"),
    U32_R(json_max_depth, 2, 64, 8, "JSON nesting depth"),
    U32(text_max_chars, 1, 100000, 1000, "characters of a card text"),
    U32(long_text_max_chars, 1, 100000, 4000, "characters of a problem or contract"),
    U32(name_max_chars, 1, 200, 60, "characters of a name"),
    U32(cards_per_step, 1, 10000, 30, "cards per member per step"),
    U32(members_max, 2, 64, 16, "members per group"),
    U32(plans_waiting_per_member, 1, 1000, 20,
        "action plan items one client may have waiting for a debrief"),
    U32(room_items_max, 10, 1000000, 2000, "cards and consultations per session"),
    U32(room_bytes_max, 65536, 268435456, 786432, "bytes a session's room may hold"),
    U32(rewrites_max, 1, 100000, 50, "rewrites of one problem, contract or answer"),
    U32(group_journal_max_bytes, 65536, 1073741824, 8388608,
        "bytes one session may journal"),
    U32(room_member_share, 1, 64, 4, "a member's share of the session budget (1/N)"),
    U32_R(groups_max, 1, 10000000, 100000, "groups in the database"),
    U32_R(sessions_max, 1, 1000000, 10000, "open sessions"),
    U32_R(groups_per_ip, 1, 1000000, 200,
          "live groups created from one client address (IPv4, or IPv6 /64)"),
    U32_R(sessions_per_ip, 1, 1000000, 50,
          "open sessions of the groups created from one client address"),
    U32_R(connections_max, 1, 1000000, 19000, "open connections"),
    U32_R(connections_per_ip, 1, 1000000, 256, "open connections per client address"),
    U32_R(commands_per_sec, 1, 10000, 20, "commands per second per connection"),
    U32_R(commands_burst, 1, 100000, 40, "commands in a burst per connection"),
    U32_R(question_checks_per_sec, 1, 10000, 5,
          "question_check queries per second per connection (and in a burst)"),
    U32_R(http_body_max, 256, 16777216, 16384, "bytes of an HTTP request body"),
    U32_R(out_queue_frames, 4, 100000, 256, "queued outgoing frames per connection"),
    U32_R(out_queue_bytes, 4096, 1073741824, 1048576,
          "queued outgoing bytes per connection"),
    U32_R(idle_timeout_s, 2, 3600, 20, "seconds of silence before a ping"),
    U32(handshake_timeout_s, 1, 600, 10, "seconds allowed for the HTTP/WS handshake"),
    U32_R(http_anon_per_min, 1, 100000, 60,
          "HTTP calls per minute per client address without a valid member key"),
    U32_R(http_create_per_min, 1, 100000, 10,
          "groups created per minute per client address"),
    U32_R(http_create_global_per_min, 1, 1000000, 120,
          "groups created per minute on the whole server"),
    U32_R(http_exports_per_min, 1, 100000, 30, "exports per minute per member"),
    U32_R(http_writes_per_min, 1, 100000, 60,
          "writes between sessions (proposals, drafts...) per minute per member"),
    U32_R(session_idle_close_s, 1, 31536000, 43200,
          "seconds without a command before an open session closes"),
    U32_R(group_idle_expire_s, 1, 315360000, 2592000,
          "seconds without activity before a never-opened group is deleted"),
    U32_R(http_header_timeout_s, 1, 600, 10, "seconds for a request's headers, absolute"),
    U32_R(http_body_timeout_s, 1, 3600, 30,
          "seconds for a request's whole body, absolute"),
    U32_R(hello_timeout_s, 1, 600, 10, "seconds for a WebSocket to send a valid hello"),
    U32_R(unauth_per_ip, 1, 1000000, 16, "WebSockets without hello per client address"),
    U32_R(facilitator_grace_s, 1, 3600, 60,
          "seconds an absent facilitator keeps the role before it passes on"),
    U32_R(display_max_per_group, 1, 64, 8, "display-link connections open per group"),
    U32(test_time_offset_s, 0, 315360000, 0,
        "TEST ONLY: seconds added to the server's wall clock"),
    OPT_R(trusted_proxies,
          "reverse proxies (addresses, CIDR blocks) whose X-Forwarded-For is believed"),
    U32_R(drain_timeout_s, 1, 600, 10,
          "seconds a SIGTERM drain may take before codevd exits anyway"),
    U32(journal_commit_window_us, 0, 100000, 5000,
        "microseconds between the starts of two journal commits (group commit)"),
    U32(journal_fold_rows, 1, 1000000, 4096,
        "journal rows appended before they are indexed by session, in bulk (SQLite)"),
    U32(test_commit_delay_us, 0, 1000000, 0,
        "TEST ONLY: microseconds every journal commit waits (records stay in flight)"),
    OPT(node_id,
        "a cluster's node name (store = postgresql); set = groups held by lease"),
    U32(lease_ttl_s, 2, 600, 10,
        "seconds a dead node's groups stay its own before another node may take them"),
    U32_R(cluster_claims_per_s, 1, 10000, 50,
          "a cluster: groups this node tries to take over per second (burst: twice)"),
};

#undef OFF
#undef STR
#undef OPT
#undef U32
#undef OPT_R
#undef U32_R

#define CONFIG_KEY_COUNT (sizeof config_keys / sizeof config_keys[0])

static const char *const log_level_names[] = {"error", "warn", "notice", "info", "debug"};

#define LOG_LEVEL_COUNT (sizeof log_level_names / sizeof log_level_names[0])

/* ------------------------------------------------------------------------ */
/* Field access through the table.                                          */

static char **field_str(struct config *c, const struct config_key *k)
{
    return (char **)(void *)((char *)c + k->offset);
}

static char *const *field_str_const(const struct config *c, const struct config_key *k)
{
    return (char *const *)(const void *)((const char *)c + k->offset);
}

static uint32_t *field_u32(struct config *c, const struct config_key *k)
{
    return (uint32_t *)(void *)((char *)c + k->offset);
}

static const uint32_t *field_u32_const(const struct config *c, const struct config_key *k)
{
    return (const uint32_t *)(const void *)((const char *)c + k->offset);
}

static enum config_log_level *field_level(struct config *c, const struct config_key *k)
{
    return (enum config_log_level *)(void *)((char *)c + k->offset);
}

static const struct config_key *key_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Error helpers. err is never NULL inside this file (public entry points   */
/* substitute a local one).                                                 */

static void error_clear(struct config_error *err)
{
    err->line = 0;
    err->key[0] = '\0';
    err->text[0] = '\0';
}

/* Copies key into err->key, truncated to fit. */
static void error_key(struct config_error *err, const char *key)
{
    snprintf(err->key, sizeof err->key, "%s", key ? key : "");
}

/* Writes s into out (of size n) for quoting in a message: at most
 * CONFIG_QUOTE_MAX bytes, "..." appended when cut. */
static const char *quote_cut(const char *s, char *out, size_t n)
{
    if (strlen(s) <= CONFIG_QUOTE_MAX)
        snprintf(out, n, "%s", s);
    else
        snprintf(out, n, "%.*s...", CONFIG_QUOTE_MAX, s);
    return out;
}

/* Edit distance between a and b, both at most 63 bytes; larger inputs
 * return a big number. Used only to suggest a key after a typo. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];

    if (la > 63 || lb > 63)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void error_unknown_key(struct config_error *err, const char *key)
{
    char q[CONFIG_QUOTE_MAX + 4];
    const char *near = NULL;
    size_t near_d = 3; /* suggest only within two edits */

    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        size_t d = edit_distance(key, config_keys[i].name);
        if (d < near_d) {
            near_d = d;
            near = config_keys[i].name;
        }
    }
    quote_cut(key, q, sizeof q);
    if (near)
        snprintf(err->text, sizeof err->text, "unknown key \"%s\" (did you mean \"%s\"?)",
                 q, near);
    else
        snprintf(err->text, sizeof err->text, "unknown key \"%s\"", q);
}

/* ------------------------------------------------------------------------ */
/* Value parsing.                                                           */

/* Parses a plain decimal number: digits only (no sign, no spaces, no 0x),
 * within [min, max]. Returns 0 with *out set, or -1. */
static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long long v;

    if (*s == '\0')
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    /* strtoull would accept a sign or leading space; the loop above has
     * already ruled both out, so only overflow is left to catch. */
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return -1;
    if (v < min || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int has_control_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Stores value in the field k of c. err->key is already set. */
static int key_apply(struct config *c, const struct config_key *k, const char *value,
                     struct config_error *err)
{
    char q[CONFIG_QUOTE_MAX + 4];

    switch (k->type) {
    case KEY_STRING:
    case KEY_OPTIONAL: {
        char **slot = field_str(c, k);
        char *copy = NULL;

        if (*value == '\0' && k->type == KEY_STRING) {
            snprintf(err->text, sizeof err->text, "%s must not be empty", k->name);
            return -1;
        }
        if (has_control_char(value)) {
            snprintf(err->text, sizeof err->text,
                     "%s must not contain control characters", k->name);
            return -1;
        }
        if (*value != '\0') {
            copy = util_strdup_or_null(value);
            if (!copy) {
                snprintf(err->text, sizeof err->text, "out of memory while setting %s",
                         k->name);
                return -1;
            }
        }
        free(*slot);
        *slot = copy;
        return 0;
    }
    case KEY_U32:
        if (parse_u32(value, k->min, k->max, field_u32(c, k)) != 0) {
            snprintf(err->text, sizeof err->text,
                     "%s must be an integer from %lu to %lu, got \"%s\"", k->name,
                     (unsigned long)k->min, (unsigned long)k->max,
                     quote_cut(value, q, sizeof q));
            return -1;
        }
        return 0;
    case KEY_LOG_LEVEL:
        for (size_t i = 0; i < LOG_LEVEL_COUNT; i++) {
            if (strcmp(value, log_level_names[i]) == 0) {
                *field_level(c, k) = (enum config_log_level)i;
                return 0;
            }
        }
        snprintf(err->text, sizeof err->text,
                 "%s must be one of error, warn, notice, info, debug, got \"%s\"",
                 k->name, quote_cut(value, q, sizeof q));
        return -1;
    }
    snprintf(err->text, sizeof err->text, "%s has an unknown type", k->name);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Whole-struct helpers.                                                    */

/* Frees the strings of c and sets them to NULL; numbers are left alone. */
static void strings_free(struct config *c)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->type == KEY_STRING || k->type == KEY_OPTIONAL) {
            char **slot = field_str(c, k);
            free(*slot);
            *slot = NULL;
        }
    }
}

/* Makes dst a deep copy of src. Returns 0, or -1 on allocation failure
 * (dst then owns nothing). */
static int config_copy(struct config *dst, const struct config *src)
{
    *dst = *src;
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->type == KEY_STRING || k->type == KEY_OPTIONAL)
            *field_str(dst, k) = NULL;
    }
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        const char *s;

        if (k->type != KEY_STRING && k->type != KEY_OPTIONAL)
            continue;
        s = *field_str_const(src, k);
        if (s && !(*field_str(dst, k) = util_strdup_or_null(s))) {
            strings_free(dst);
            return -1;
        }
    }
    return 0;
}

int config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];

        switch (k->type) {
        case KEY_STRING:
        case KEY_OPTIONAL:
            if (k->def_str && !(*field_str(c, k) = util_strdup_or_null(k->def_str))) {
                strings_free(c);
                return -1;
            }
            break;
        case KEY_U32:
            *field_u32(c, k) = k->def;
            break;
        case KEY_LOG_LEVEL:
            *field_level(c, k) = (enum config_log_level)k->def;
            break;
        }
    }
    return 0;
}

int config_set(struct config *c, const char *key, const char *value,
               struct config_error *err)
{
    struct config_error local;
    const struct config_key *k;

    if (!err)
        err = &local;
    error_clear(err);
    error_key(err, key);
    k = key_find(key);
    if (!k) {
        error_unknown_key(err, key);
        return -1;
    }
    if (key_apply(c, k, value, err) != 0)
        return -1;
    error_clear(err);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The file parser.                                                         */

enum read_status { READ_LINE, READ_EOF, READ_TOO_LONG, READ_NUL, READ_ERROR };

/* Reads one line of f into buf (of size CONFIG_LINE_MAX + 2), without its
 * "\n" or "\r\n". The buffer keeps one byte beyond the limit so that a
 * line of exactly CONFIG_LINE_MAX bytes followed by "\r\n" is not taken
 * for a long one. A too long line is consumed up to its end. */
static enum read_status read_line(FILE *f, char *buf)
{
    size_t len = 0;
    int ch;
    int overflow = 0, nul = 0;

    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0')
            nul = 1;
        if (len < CONFIG_LINE_MAX + 1)
            buf[len++] = (char)ch;
        else
            overflow = 1;
    }
    if (ch == EOF && ferror(f))
        return READ_ERROR;
    if (ch == EOF && len == 0)
        return READ_EOF;
    if (!overflow && len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (overflow || len > CONFIG_LINE_MAX)
        return READ_TOO_LONG;
    if (nul)
        return READ_NUL;
    return READ_LINE;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

/* Parses one line in place. Returns 1 with *key and *value pointing into
 * line for a setting, 0 for a blank or comment line, or -1 with err->text
 * (and err->key when known) set. */
static int parse_line(char *line, char **key, char **value, struct config_error *err)
{
    char *p = line;
    char *k, *v;

    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;

    k = p;
    while (is_key_char(*p))
        p++;
    if (p == k) {
        snprintf(err->text, sizeof err->text, "line is not \"key = value\"");
        return -1;
    }
    v = p; /* where the key ends; terminated below */
    while (is_blank(*p))
        p++;
    if (*p != '=') {
        snprintf(err->text, sizeof err->text, "line is not \"key = value\"");
        return -1;
    }
    *v = '\0';
    error_key(err, k);
    p++;
    while (is_blank(*p))
        p++;

    if (*p == '"') {
        char *close = strchr(p + 1, '"');
        char *after;

        if (!close) {
            snprintf(err->text, sizeof err->text, "unterminated quote");
            return -1;
        }
        after = close + 1;
        while (is_blank(*after))
            after++;
        if (*after != '\0' && *after != '#') {
            snprintf(err->text, sizeof err->text,
                     "unexpected text after the closing quote of %s", k);
            return -1;
        }
        *close = '\0';
        v = p + 1;
    } else {
        char *end;

        v = p;
        end = strchr(v, '#');
        if (!end)
            end = v + strlen(v);
        while (end > v && is_blank(end[-1]))
            end--;
        *end = '\0';
        if (*v == '\0') {
            snprintf(err->text, sizeof err->text,
                     "%s has no value (write %s = \"\" for an empty one)", k, k);
            return -1;
        }
    }
    *key = k;
    *value = v;
    return 1;
}

int config_load_file(struct config *c, const char *path, struct config_error *err)
{
    struct config_error local;
    struct config work;
    char q[CONFIG_QUOTE_MAX + 4];
    char *buf = NULL;
    FILE *f = NULL;
    int line = 0;
    int rc = -1;
    int have_work = 0;

    if (!err)
        err = &local;
    error_clear(err);

    f = fopen(path, "r");
    if (!f) {
        snprintf(err->text, sizeof err->text, "cannot open \"%s\": %s",
                 quote_cut(path, q, sizeof q), strerror(errno));
        goto out;
    }
    buf = malloc(CONFIG_LINE_MAX + 2);
    if (!buf || config_copy(&work, c) != 0) {
        snprintf(err->text, sizeof err->text, "out of memory while reading \"%s\"",
                 quote_cut(path, q, sizeof q));
        goto out;
    }
    have_work = 1;

    for (;;) {
        enum read_status st;
        char *key, *value, *start;
        int kind;

        errno = 0;
        st = read_line(f, buf);
        if (st == READ_EOF)
            break;
        line++;
        if (st == READ_ERROR) {
            /* Not the line's fault: reported like a file that cannot be opened. */
            snprintf(err->text, sizeof err->text, "cannot read \"%s\": %s",
                     quote_cut(path, q, sizeof q), strerror(errno ? errno : EIO));
            goto out;
        }
        if (st == READ_TOO_LONG) {
            err->line = line;
            snprintf(err->text, sizeof err->text, "line is longer than %d bytes",
                     CONFIG_LINE_MAX);
            goto out;
        }
        if (st == READ_NUL) {
            err->line = line;
            snprintf(err->text, sizeof err->text, "line contains a NUL byte");
            goto out;
        }
        error_clear(err);
        start = buf;
        if (line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
            start += 3;
        kind = parse_line(start, &key, &value, err);
        if (kind == 0)
            continue;
        if (kind < 0 || config_set(&work, key, value, err) != 0) {
            err->line = line;
            goto out;
        }
    }

    /* Success: hand the new strings to c, the old ones to work for freeing. */
    {
        struct config old = *c;
        *c = work;
        work = old;
    }
    error_clear(err);
    rc = 0;
out:
    if (have_work)
        strings_free(&work);
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Cross-field checks.                                                      */

/* Checks one allowed_origins entry [s, s + n): "http://host[:port]" or
 * "https://host[:port]", without path, spaces or trailing slash, so that it
 * can be compared byte for byte with an Origin header. */
static int origin_is_valid(const char *s, size_t n)
{
    size_t skip;

    if (n > 7 && strncmp(s, "http://", 7) == 0)
        skip = 7;
    else if (n > 8 && strncmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    for (size_t i = skip; i < n; i++)
        if (s[i] == '/' || is_blank(s[i]))
            return 0;
    return 1;
}

/* Checks the frame_ancestors setting: one or more source expressions
 * separated by spaces, as CSP 3 writes them ('none' alone, 'self', a
 * scheme such as https:, or a host source such as https://teams.microsoft.com),
 * made only of the characters those use. Nothing that could end the
 * directive or the header (';', ',', quotes elsewhere, control characters)
 * gets through. Returns 1 when valid. */
static int frame_ancestors_is_valid(const char *s)
{
    static const char host_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/*%[]";
    size_t tokens = 0, len = strlen(s);
    bool none = false;

    if (len == 0 || len > CONFIG_FRAME_ANCESTORS_MAX)
        return 0;
    for (const char *p = s; *p;) {
        size_t n;

        if (*p == ' ') {
            p++;
            continue;
        }
        n = strcspn(p, " ");
        tokens++;
        if (n == 6 && strncmp(p, "'none'", 6) == 0)
            none = true;
        else if (!(n == 6 && strncmp(p, "'self'", 6) == 0) && strspn(p, host_chars) < n)
            return 0;
        p += n;
    }
    return tokens > 0 && (!none || tokens == 1);
}

int config_validate(const struct config *c, struct config_error *err)
{
    struct config_error local;

    if (!err)
        err = &local;
    error_clear(err);

    /* Every field within its row's range, whoever filled the struct. */
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];

        switch (k->type) {
        case KEY_STRING: {
            const char *s = *field_str_const(c, k);
            if (!s || *s == '\0') {
                error_key(err, k->name);
                snprintf(err->text, sizeof err->text, "%s must be set", k->name);
                return -1;
            }
            break;
        }
        case KEY_OPTIONAL:
            break;
        case KEY_U32: {
            uint32_t v = *field_u32_const(c, k);
            if (v < k->min || v > k->max) {
                error_key(err, k->name);
                snprintf(err->text, sizeof err->text,
                         "%s must be an integer from %lu to %lu, got \"%lu\"", k->name,
                         (unsigned long)k->min, (unsigned long)k->max, (unsigned long)v);
                return -1;
            }
            break;
        }
        case KEY_LOG_LEVEL:
            if ((unsigned)c->log_level >= LOG_LEVEL_COUNT) {
                error_key(err, k->name);
                snprintf(err->text, sizeof err->text,
                         "log_level must be one of error, warn, notice, info, debug");
                return -1;
            }
            break;
        }
    }

    if (!c->tls_cert != !c->tls_key) {
        error_key(err, c->tls_cert ? "tls_key" : "tls_cert");
        snprintf(err->text, sizeof err->text,
                 "tls_cert and tls_key must be set together (%s is set, %s is not)",
                 c->tls_cert ? "tls_cert" : "tls_key",
                 c->tls_cert ? "tls_key" : "tls_cert");
        return -1;
    }
    if (c->commands_burst < 1) {
        error_key(err, "commands_burst");
        snprintf(err->text, sizeof err->text, "commands_burst must be at least 1");
        return -1;
    }
    if (c->long_text_max_chars < c->text_max_chars) {
        error_key(err, "long_text_max_chars");
        snprintf(err->text, sizeof err->text,
                 "long_text_max_chars (%lu) must not be less than text_max_chars (%lu)",
                 (unsigned long)c->long_text_max_chars, (unsigned long)c->text_max_chars);
        return -1;
    }
    /* The welcome of a full room must fit in a connection's queue. */
    if ((uint64_t)c->out_queue_bytes <
        (uint64_t)c->room_bytes_max + CONFIG_WELCOME_SLACK) {
        error_key(err, "out_queue_bytes");
        snprintf(err->text, sizeof err->text,
                 "out_queue_bytes (%lu) must be at least room_bytes_max (%lu) + %lu, so "
                 "that the welcome of a full room fits",
                 (unsigned long)c->out_queue_bytes, (unsigned long)c->room_bytes_max,
                 (unsigned long)CONFIG_WELCOME_SLACK);
        return -1;
    }
    if (strcmp(c->event_loop, "auto") != 0 && strcmp(c->event_loop, "epoll") != 0 &&
        strcmp(c->event_loop, "poll") != 0) {
        char q[CONFIG_QUOTE_MAX + 4];
        error_key(err, "event_loop");
        snprintf(err->text, sizeof err->text,
                 "event_loop must be auto, epoll or poll, got \"%s\"",
                 quote_cut(c->event_loop, q, sizeof q));
        return -1;
    }
    if (strcmp(c->store, "sqlite") != 0 && strcmp(c->store, "postgresql") != 0) {
        char q[CONFIG_QUOTE_MAX + 4];
        error_key(err, "store");
        snprintf(err->text, sizeof err->text,
                 "store must be sqlite or postgresql, got \"%s\"",
                 quote_cut(c->store, q, sizeof q));
        return -1;
    }
    if (strcmp(c->store, "postgresql") == 0 && !CONFIG_HAVE_POSTGRESQL) {
        error_key(err, "store");
        snprintf(err->text, sizeof err->text,
                 "store = postgresql: this codevd was built without PostgreSQL (install "
                 "libpq-dev and rebuild with -Dpostgresql=enabled)");
        return -1;
    }
    if (strcmp(c->store, "postgresql") == 0 && !c->store_dsn) {
        error_key(err, "store_dsn");
        snprintf(err->text, sizeof err->text,
                 "store = postgresql needs store_dsn (a libpq connection string, e.g. "
                 "\"host=/run/postgresql dbname=codevd\")");
        return -1;
    }
    if (c->node_id) {
        size_t n = strlen(c->node_id);
        bool ok = n <= 63;
        for (size_t i = 0; ok && i < n; i++)
            ok = (c->node_id[i] >= 'a' && c->node_id[i] <= 'z') ||
                 (c->node_id[i] >= 'A' && c->node_id[i] <= 'Z') ||
                 (c->node_id[i] >= '0' && c->node_id[i] <= '9') ||
                 strchr("._:-", c->node_id[i]) != NULL;
        if (!ok || strcmp(c->store, "postgresql") != 0) {
            error_key(err, "node_id");
            snprintf(err->text, sizeof err->text,
                     ok ? "node_id (a cluster) needs store = postgresql: the nodes share "
                          "its database"
                        : "node_id: 1-63 characters among letters, digits and . _ : -");
            return -1;
        }
    }
    if (!frame_ancestors_is_valid(c->frame_ancestors)) {
        char q[CONFIG_QUOTE_MAX + 4];
        error_key(err, "frame_ancestors");
        snprintf(err->text, sizeof err->text,
                 "frame_ancestors must be 'none' or source expressions separated by "
                 "spaces (e.g. 'self' https://teams.microsoft.com), got \"%s\"",
                 quote_cut(c->frame_ancestors, q, sizeof q));
        return -1;
    }
    if (c->trusted_proxies) {
        struct rate_proxies proxies;
        char why[160];

        if (rate_proxies_parse(c->trusted_proxies, &proxies, why, sizeof why)) {
            error_key(err, "trusted_proxies");
            snprintf(err->text, sizeof err->text, "trusted_proxies: %s", why);
            return -1;
        }
    }
    if (c->allowed_origins) {
        const char *p = c->allowed_origins;

        for (;;) {
            const char *end = strchr(p, ',');
            size_t n;

            if (!end)
                end = p + strlen(p);
            while (p < end && is_blank(*p))
                p++;
            n = (size_t)(end - p);
            while (n > 0 && is_blank(p[n - 1]))
                n--;
            if (!origin_is_valid(p, n)) {
                char q[CONFIG_QUOTE_MAX + 4], entry[CONFIG_QUOTE_MAX + 1];
                snprintf(entry, sizeof entry, "%.*s",
                         (int)(n < CONFIG_QUOTE_MAX ? n : CONFIG_QUOTE_MAX), p);
                error_key(err, "allowed_origins");
                snprintf(err->text, sizeof err->text,
                         "allowed_origins entries must look like https://host[:port], "
                         "got \"%s\"",
                         quote_cut(entry, q, sizeof q));
                return -1;
            }
            if (*end == '\0')
                break;
            p = end + 1;
        }
    }
    return 0;
}

/* Appends name to list (of size n, comma-separated); cut when full. */
static void list_add(char *list, size_t n, const char *name)
{
    size_t used;

    if (!list || !n)
        return;
    used = strlen(list);
    if (used + 1 >= n)
        return;
    snprintf(list + used, n - used, "%s%s", used ? ", " : "", name);
}

static bool strings_equal(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int config_reload(struct config *live, const struct config *fresh, char *changed,
                  size_t changed_len, char *restart, size_t restart_len)
{
    char *copies[CONFIG_KEY_COUNT] = {0};

    if (changed && changed_len)
        changed[0] = '\0';
    if (restart && restart_len)
        restart[0] = '\0';
    /* Every string first, so that running out of memory changes nothing. */
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        const char *v;

        if (!k->reload || (k->type != KEY_STRING && k->type != KEY_OPTIONAL))
            continue;
        v = *field_str_const(fresh, k);
        if (strings_equal(v, *field_str_const(live, k)) || !v)
            continue;
        if (!(copies[i] = util_strdup_or_null(v))) {
            for (size_t j = 0; j < i; j++)
                free(copies[j]);
            return -1;
        }
    }
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        bool differs;

        switch (k->type) {
        case KEY_STRING:
        case KEY_OPTIONAL:
            differs =
                !strings_equal(*field_str_const(fresh, k), *field_str_const(live, k));
            if (differs && k->reload) {
                free(*field_str(live, k));
                *field_str(live, k) = copies[i]; /* NULL: unset */
            }
            break;
        case KEY_U32:
            differs = *field_u32_const(fresh, k) != *field_u32_const(live, k);
            if (differs && k->reload)
                *field_u32(live, k) = *field_u32_const(fresh, k);
            break;
        default: /* KEY_LOG_LEVEL */
            differs = fresh->log_level != live->log_level;
            if (differs && k->reload)
                live->log_level = fresh->log_level;
            break;
        }
        if (differs)
            list_add(k->reload ? changed : restart, k->reload ? changed_len : restart_len,
                     k->name);
    }
    return 0;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    strings_free(c);
}

const char *config_log_level_name(enum config_log_level l)
{
    if ((unsigned)l >= LOG_LEVEL_COUNT)
        return "unknown";
    return log_level_names[l];
}
