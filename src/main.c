/*
 * main.c - codevd's entry point: settings, the data dir, limits, signals,
 * then the server loop; or one of the store's commands, which run on the
 * configured data dir and exit.
 *
 *   codevd [--config FILE] [--port N] [--data-dir DIR] [--log-level L]
 *          [--help] [--version] [backup FILE | restore FILE | check [FILE]]
 *
 * Settings come from the embedded defaults, then FILE, then the command line.
 * Signals: SIGTERM and SIGINT drain (server_drain: clients told to
 * reconnect, the journal committed, exit within drain_timeout_s; a second
 * one exits at once); SIGHUP re-reads FILE and the command line and applies
 * what may change while running (server_reload).
 * The server holds the data dir's lock (store_dir_lock) while it runs: a
 * second codevd on the same data dir, or a restore, is refused.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codevd_config.h"
#include "config.h"
#include "labels.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "store.h"

static struct server *running;

static void on_signal(int sig)
{
    if (!running)
        return;
    if (sig == SIGHUP)
        server_reload(running);
    else
        server_drain(running); /* SIGTERM, SIGINT; a second one stops at once */
}

/* The settings as the command line gave them: the config file, then the
 * overrides in order. Kept for a SIGHUP reload, which makes them again. */
#define MAIN_OVERRIDES_MAX 64
struct settings {
    const char *config_path;
    size_t n;
    struct {
        char key[64];
        const char *value; /* into argv */
    } over[MAIN_OVERRIDES_MAX];
};

/* Makes cfg from the defaults, the config file and the overrides, then
 * validates it. Returns 0, or -1 with why (n bytes) saying what is wrong
 * (cfg then owns nothing). */
static int settings_make(const struct settings *st, struct config *cfg, char *why,
                         size_t n)
{
    struct config_error err;

    if (config_defaults(cfg)) {
        snprintf(why, n, "out of memory");
        return -1;
    }
    if (st->config_path && config_load_file(cfg, st->config_path, &err)) {
        if (err.line)
            snprintf(why, n, "%s:%d: %s%s%s", st->config_path, err.line, err.key,
                     err.key[0] ? ": " : "", err.text);
        else
            snprintf(why, n, "%s: %s", st->config_path, err.text);
        goto fail;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (config_set(cfg, st->over[i].key, st->over[i].value, &err)) {
            snprintf(why, n, "--%s: %s", st->over[i].key, err.text);
            goto fail;
        }
    }
    if (config_validate(cfg, &err)) {
        snprintf(why, n, "%s%s%s", err.key, err.key[0] ? ": " : "", err.text);
        goto fail;
    }
    return 0;
fail:
    config_free(cfg);
    return -1;
}

/* server_load_fn: a SIGHUP's fresh config, or -1 with the reason logged. */
static int settings_reload(struct config *out, void *arg)
{
    char why[400];

    if (settings_make(arg, out, why, sizeof(why)) == 0)
        return 0;
    log_err("reload: %s", why);
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: codevd [OPTIONS] [COMMAND]\n"
               "Runs the codev.v1 session server: the web client at /, the JSON API\n"
               "under /api, and the WebSocket at /ws.\n\n"
               "Commands, on the database of the configured data dir:\n"
               "  backup FILE       copy it into FILE, consistently, even while the\n"
               "                    server runs\n"
               "  restore FILE      replace it by FILE (a backup); the server must be\n"
               "                    stopped; the old one stays as codevd.db.pre-restore\n"
               "  check [FILE]      PRAGMA integrity_check of it (or of FILE); exit 0\n"
               "                    when it is sound\n\n"
               "Options:\n"
               "  --config FILE     read settings from FILE (see config/codevd.conf)\n"
               "  --port N          listen on port N (default 8080)\n"
               "  --data-dir DIR    keep data under DIR (default ./data)\n"
               "  --log-level L     error, warn, notice, info or debug (default notice)\n"
               "  --set KEY=VALUE   any setting of the config file\n"
               "  --help            show this help\n"
               "  --version         show the version\n");
}

/* Creates dir and its parents (like mkdir -p). Returns 0 or -1 with errno. */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

/* Raises the soft limit on open files to the hard limit: every connection
 * is a descriptor. Returns the limit in force. */
static rlim_t raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

/* Records an override (key=value from the command line). Returns 0 or -1
 * (said on stderr). */
static int override(struct settings *st, const char *key, size_t keylen,
                    const char *value)
{
    if (keylen >= sizeof(st->over[0].key)) {
        fprintf(stderr, "codevd: --set takes KEY=VALUE\n");
        return -1;
    }
    if (st->n == MAIN_OVERRIDES_MAX) {
        fprintf(stderr, "codevd: at most %d settings on the command line\n",
                MAIN_OVERRIDES_MAX);
        return -1;
    }
    snprintf(st->over[st->n].key, sizeof(st->over[0].key), "%.*s", (int)keylen, key);
    st->over[st->n++].value = value;
    return 0;
}

/* Runs the store command argv[0] (backup, restore, check) with its
 * argument. Returns the exit status: 0, 1 (it failed, said why) or 2
 * (usage). */
static int run_command(const struct config *cfg, int argc, char **argv)
{
    char path[4096], why[4096 + 300];
    const char *cmd = argv[0], *file = argc > 1 ? argv[1] : NULL;
    bool check = !strcmp(cmd, "check");

    if ((!check && strcmp(cmd, "backup") && strcmp(cmd, "restore")) || argc > 2 ||
        (!check && !file)) {
        fprintf(stderr, "codevd: unknown command or arguments: \"%s\"%s\n", cmd,
                argc > 2 || (!check && !file && argc == 1) ? " (see --help)" : "");
        usage(stderr);
        return 2;
    }
    if (strcmp(cfg->store, "sqlite") != 0 && !(check && file)) {
        /* Never a success on a stale codevd.db the server no longer reads. */
        fprintf(stderr,
                "codevd: %s: store = %s: back up, restore and check the database with "
                "its own tools (pg_dump, pg_restore, amcheck)\n",
                cmd, cfg->store);
        return 1;
    }
    if (store_path(cfg->data_dir, path, sizeof(path))) {
        fprintf(stderr, "codevd: data_dir too long\n");
        return 1;
    }
    if (check) {
        if (store_check(file ? file : path, stdout, why, sizeof(why))) {
            fprintf(stderr, "codevd: check: %s\n", why);
            return 1;
        }
        return 0;
    }
    if (!strcmp(cmd, "backup")) {
        if (store_backup(cfg->data_dir, file, why, sizeof(why))) {
            fprintf(stderr, "codevd: backup: %s\n", why);
            return 1;
        }
        printf("backup of %s written to %s\n", path, file);
        return 0;
    }
    if (store_restore(cfg->data_dir, file, why, sizeof(why))) {
        fprintf(stderr, "codevd: restore: %s\n", why);
        return 1;
    }
    printf("restored %s from %s (the database it replaced: %s.pre-restore)\n", path, file,
           path);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'p'},
        {"data-dir", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'},
        {"set", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    static struct settings st; /* static: the reload reads it, from the loop */
    struct config cfg;
    struct server *srv;
    char labels_missing[160], why[400];
    int labels_rc;
    struct sigaction sa;
    int opt, rc = 1, cmd_at, lock = -1;
    rlim_t fds;

    /* First pass: --help, --version and --config, which the others override. */
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == 'v') {
            printf("codevd %s\n", CODEVD_VERSION);
            return 0;
        }
        if (opt == 'c')
            st.config_path = optarg;
        if (opt == '?') {
            usage(stderr);
            return 2;
        }
    }
    cmd_at = optind; /* getopt_long put the operands last: a store command */
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *eq;
        int bad = 0;
        switch (opt) {
        case 'p':
            bad = override(&st, "port", 4, optarg);
            break;
        case 'd':
            bad = override(&st, "data_dir", 8, optarg);
            break;
        case 'l':
            bad = override(&st, "log_level", 9, optarg);
            break;
        case 's':
            eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "codevd: --set takes KEY=VALUE\n");
                return 1;
            }
            bad = override(&st, optarg, (size_t)(eq - optarg), eq + 1);
            break;
        default:
            break;
        }
        if (bad)
            return 1;
    }
    if (settings_make(&st, &cfg, why, sizeof(why))) {
        fprintf(stderr, "codevd: %s\n", why);
        return 1;
    }
    if (cmd_at < argc) {
        rc = run_command(&cfg, argc - cmd_at, argv + cmd_at);
        goto out;
    }
    log_init(cfg.log_level);
    if (make_dirs(cfg.data_dir)) {
        log_err("cannot create data dir %s: %s", cfg.data_dir, strerror(errno));
        goto out;
    }
    {
        char lock_why[4096 + 160];
        lock = store_dir_lock(cfg.data_dir, lock_why, sizeof(lock_why));
        if (lock < 0) {
            log_err("%s", lock_why);
            goto out;
        }
    }
    fds = raise_fd_limit();
    log_notice("open file limit %llu", (unsigned long long)fds);
    if (fds && fds < (rlim_t)cfg.connections_max + 64)
        log_warn("the open file limit (%llu) is below connections_max (%u) + 64",
                 (unsigned long long)fds, cfg.connections_max);
    /* The exports' words come from the page's dictionaries; whatever is
     * missing falls back to the compiled-in text (labels.h), said once. */
    labels_rc = labels_load(cfg.web_dir, labels_missing, sizeof(labels_missing));
    if (labels_rc < 0)
        log_warn("exports: out of memory loading labels; using the built-in texts");
    else if (labels_rc > 0)
        log_warn("exports: %d labels not found in %s/i18n (first %s); using the built-in "
                 "texts",
                 labels_rc, cfg.web_dir, labels_missing);

    srv = server_new(&cfg);
    if (!srv)
        goto out;
    server_set_reload(srv, &cfg, settings_reload, &st);
    running = srv;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    notify_ready();
    rc = server_run(srv) ? 1 : 0;
    notify_stopping();
    running = NULL;
    server_free(srv);
    log_notice("stopped");
out:
    if (lock >= 0)
        close(lock);
    labels_free();
    config_free(&cfg);
    return rc;
}
