/*
 * main.c - codevd's entry point: settings, the data dir, limits, signals,
 * then the server loop.
 *
 *   codevd [--config FILE] [--port N] [--data-dir DIR] [--log-level L]
 *          [--help] [--version]
 *
 * Settings come from the embedded defaults, then FILE, then the command line.
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
    (void)sig;
    if (running)
        server_stop(running);
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

static int apply(struct config *cfg, const char *key, const char *value)
{
    struct config_error err;

    if (config_set(cfg, key, value, &err) == 0)
        return 0;
    fprintf(stderr, "codevd: --%s: %s\n", key, err.text);
    return -1;
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
    struct config cfg;
    struct config_error err;
    struct server *srv;
    char labels_missing[160];
    int labels_rc;
    const char *config_path = NULL;
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
            config_path = optarg;
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
    if (config_defaults(&cfg)) {
        fprintf(stderr, "codevd: out of memory\n");
        return 1;
    }
    if (config_path && config_load_file(&cfg, config_path, &err)) {
        if (err.line)
            fprintf(stderr, "codevd: %s:%d: %s%s%s\n", config_path, err.line, err.key,
                    err.key[0] ? ": " : "", err.text);
        else
            fprintf(stderr, "codevd: %s: %s\n", config_path, err.text);
        goto out;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char key[64];
        const char *eq;
        switch (opt) {
        case 'p':
            if (apply(&cfg, "port", optarg))
                goto out;
            break;
        case 'd':
            if (apply(&cfg, "data_dir", optarg))
                goto out;
            break;
        case 'l':
            if (apply(&cfg, "log_level", optarg))
                goto out;
            break;
        case 's':
            eq = strchr(optarg, '=');
            if (!eq || (size_t)(eq - optarg) >= sizeof(key)) {
                fprintf(stderr, "codevd: --set takes KEY=VALUE\n");
                goto out;
            }
            snprintf(key, sizeof(key), "%.*s", (int)(eq - optarg), optarg);
            if (apply(&cfg, key, eq + 1))
                goto out;
            break;
        default:
            break;
        }
    }
    if (config_validate(&cfg, &err)) {
        fprintf(stderr, "codevd: %s%s%s\n", err.key, err.key[0] ? ": " : "", err.text);
        goto out;
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
    running = srv;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
