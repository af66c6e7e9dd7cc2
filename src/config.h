/*
 * config.h - codevd's settings: embedded defaults, a config file, and
 * command-line overrides, all validated in one place.
 *
 * The file format is one `key = value` per line; `#` starts a comment;
 * blank lines are ignored; values may be double-quoted. Every key is listed
 * (with its default, range and meaning) in config/codevd.conf. An unknown
 * key or a bad value is an error naming the key and the line.
 *
 * Runs on the main thread at start-up, and on the server's loop thread at
 * a SIGHUP reload (config_reload), never on two threads at once.
 */
#ifndef CODEV_CONFIG_H
#define CODEV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* out_queue_bytes must exceed room_bytes_max by this much: the welcome of a
 * full room is its room bytes plus the members, the group and the clock. */
#define CONFIG_WELCOME_SLACK 262144

enum config_log_level {
    LOG_LEVEL_ERR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG
};

struct config {
    /* network */
    char *listen;          /* interface address, NULL = all */
    uint32_t port;         /* 1..65535, default 8080 */
    char *metrics_listen;  /* the metrics port's address, default "127.0.0.1" */
    uint32_t metrics_port; /* 0 (default) = /metrics on port, to loopback only;
                            * else a plain HTTP port of /metrics and /readyz */
    char *data_dir;        /* default "./data" */
    char *store;           /* "sqlite" (default) or "postgresql" */
    char *store_dsn;       /* store = postgresql: libpq connection string */
    char *web_dir;         /* default: the web-client/ folder of the source tree */
    char *tls_cert;        /* PEM path, NULL = plain HTTP/WS */
    char *tls_key;         /* PEM path, NULL = plain */
    char *allowed_origins; /* comma-separated origins; NULL = same origin only */
    char *frame_ancestors; /* CSP frame-ancestors source list, default "'none'" */
    enum config_log_level log_level; /* default notice */
    char *event_loop;                /* "auto" (default), "epoll" or "poll" */

    /* limits (see proto/README.md section 2.7) */
    uint32_t ws_max_message;      /* bytes of one reassembled message, default 65536 */
    uint32_t json_max_depth;      /* default 8 */
    uint32_t text_max_chars;      /* card text, default 1000 */
    uint32_t long_text_max_chars; /* problem, contract, default 4000 */
    uint32_t name_max_chars;      /* names, default 60 */
    uint32_t cards_per_step;      /* per member per step, default 30 */
    uint32_t members_max;         /* per group, default 16, at most 64 */
    /* action plan items waiting for a debrief, per client member, default 20 */
    uint32_t plans_waiting_per_member;
    uint32_t groups_max;          /* default 100000 */
    uint32_t sessions_max;        /* open sessions, default 10000 */
    uint32_t groups_per_ip;       /* live groups per creator address, default 200 */
    uint32_t sessions_per_ip;     /* open sessions per creator address, default 50 */
    uint32_t connections_max;     /* default 19000 */
    uint32_t connections_per_ip;  /* default 256 */
    uint32_t commands_per_sec;    /* token bucket rate, default 20 */
    uint32_t commands_burst;      /* token bucket size, default 40 */
    uint32_t http_body_max;       /* bytes, default 16384 */
    uint32_t out_queue_frames;    /* per connection, default 256 */
    uint32_t out_queue_bytes;     /* per connection, default 1048576 */
    uint32_t idle_timeout_s;      /* ping after this much silence, default 20 */
    uint32_t handshake_timeout_s; /* default 10 */
    uint32_t http_anon_per_min;   /* keyless HTTP calls per address, default 60 */
    uint32_t http_create_per_min; /* groups created per address, default 10 */
    uint32_t http_create_global_per_min; /* groups created, whole server, default 120 */
    uint32_t http_exports_per_min;       /* exports per member, default 30 */
    uint32_t http_writes_per_min;  /* writes between sessions per member, default 60 */
    uint32_t session_idle_close_s; /* open session without a command, default 43200 */
    uint32_t group_idle_expire_s;  /* never-opened idle group, default 2592000 */

    /* question_check queries per second per connection, and their burst:
     * default 5 */
    uint32_t question_checks_per_sec;

    /* The session budget (proto/README.md 2.7). */
    uint32_t room_items_max;          /* cards + consultations, default 2000 */
    uint32_t room_bytes_max;          /* room bytes per session, default 786432 */
    uint32_t rewrites_max;            /* rewrites of one text, default 50 */
    uint32_t group_journal_max_bytes; /* journaled bytes per session, default 8 MiB */
    uint32_t room_member_share;       /* a member may use 1/N of the budget, default 4 */

    /* the network edge: deadlines and per-address caps (issue 10) */
    uint32_t http_header_timeout_s; /* a request's headers, absolute, default 10 */
    uint32_t http_body_timeout_s;   /* a request's whole body, absolute, default 30 */
    uint32_t hello_timeout_s;       /* a WebSocket's first valid hello, default 10 */
    uint32_t unauth_per_ip;         /* WebSockets without hello per address, default 16 */

    /* the group's life (issue 14) */
    uint32_t facilitator_grace_s; /* an absent facilitator's powers pass on, default 60 */
    uint32_t display_max_per_group; /* display links open at once per group, default 8 */

    /* tests only */
    uint32_t test_time_offset_s; /* seconds added to the wall clock (a month passes
                                  * between two runs), default 0 */

    /* running it as a service (issue 16) */
    char *trusted_proxies;    /* addresses/CIDRs whose X-Forwarded-For is believed,
                                 NULL = nobody (ratelimit.h) */
    uint32_t drain_timeout_s; /* a SIGTERM drain's limit, default 10 */

    /* the journal (issue 15) */
    uint32_t journal_commit_window_us; /* a commit starts at least this long after
                                        * the previous one started; default 5000 */
    uint32_t journal_fold_rows;        /* SQLite: the journal rows are indexed by
                                        * session in bulk, this many at a time */
    uint32_t test_commit_delay_us;     /* TEST ONLY: every commit waits this long
                                        * (records stay in flight); default 0 */

    /* a cluster (issue 17) */
    char *node_id;        /* this node's name; set = several nodes share the
                           * PostgreSQL store, each group held by lease; NULL = one */
    uint32_t lease_ttl_s; /* a lease not renewed this long may be taken; default 10 */
    uint32_t cluster_claims_per_s; /* takeovers tried per second (each reads
                                    * PostgreSQL on the loop); default 50 */
};

/* Error detail for config_load_file and config_set. */
struct config_error {
    int line;       /* 1-based line in the file, 0 for the command line */
    char key[64];   /* the key concerned, or "" */
    char text[200]; /* a sentence saying what is wrong */
};

/* Fills c with the embedded defaults (strings are newly allocated; release
 * with config_free). Returns 0, or -1 on allocation failure. */
int config_defaults(struct config *c);

/* Reads path and applies each setting over c. Returns 0, or -1 with err
 * filled (line, key, text) on the first bad line or when the file cannot be
 * read (line 0, key ""). */
int config_load_file(struct config *c, const char *path, struct config_error *err);

/* Applies one setting (as from the file or the command line: key is e.g.
 * "port" or "data_dir"). Returns 0, or -1 with err->key and err->text set. */
int config_set(struct config *c, const char *key, const char *value,
               struct config_error *err);

/* Checks settings that depend on each other (tls_cert without tls_key...).
 * Returns 0, or -1 with err filled. */
int config_validate(const struct config *c, struct config_error *err);

/*
 * A SIGHUP reload: copies into live every setting of fresh (a whole config,
 * validated) that a reload applies: the limits read at each use, the log
 * level, allowed_origins, trusted_proxies, tls_cert and tls_key (the
 * caller loads the new certificate). A setting that differs but needs a
 * restart (listen, port, data_dir, web_dir, event_loop, frame_ancestors,
 * handshake_timeout_s, the room limits...) is left as it is. changed and
 * restart (may be NULL) get the names of the settings applied and of those
 * left, comma-separated, cut to their sizes. Returns 0, or -1 when out of
 * memory (live unchanged).
 */
int config_reload(struct config *live, const struct config *fresh, char *changed,
                  size_t changed_len, char *restart, size_t restart_len);

/* Releases the strings c owns. config_free(NULL) is a no-op. */
void config_free(struct config *c);

/* "error", "warn", "notice", "info", "debug". */
const char *config_log_level_name(enum config_log_level l);

#endif
