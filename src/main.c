/*
 * main.c - codevd's entry point: settings, the data dir, limits, signals,
 * then the server loop.
 *
 *   codevd [--config FILE] [--port N] [--data-dir DIR] [--log-level L]
 *          [--help] [--version]
 *
 * Settings come from the embedded defaults, then FILE, then the command line.
 * Signals: SIGTERM and SIGINT drain (server_drain: clients told to
 * reconnect, the journal committed, exit within drain_timeout_s; a second
 * one exits at once); SIGHUP re-reads FILE and the command line and applies
 * what may change while running (server_reload).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "codevd_config.h"
#include "config.h"
#include "labels.h"
#include "log.h"
#include "server.h"

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
    fprintf(f, "Usage: codevd [OPTIONS]\n"
               "Runs the codev.v1 session server: the web client at /, the JSON API\n"
               "under /api, and the WebSocket at /ws.\n\n"
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
    int opt, rc = 1;
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
    if (optind < argc) {
        fprintf(stderr, "codevd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
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
    log_init(cfg.log_level);
    if (make_dirs(cfg.data_dir)) {
        log_err("cannot create data dir %s: %s", cfg.data_dir, strerror(errno));
        goto out;
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

    rc = server_run(srv) ? 1 : 0;
    running = NULL;
    server_free(srv);
    log_notice("stopped");
out:
    labels_free();
    config_free(&cfg);
    return rc;
}
