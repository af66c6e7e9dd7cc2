/*
 * store-bench.c - commit latency and throughput of the store's group
 * commit (not a test; run by hand and quote the numbers).
 *
 *   store-bench [records] [rate/s] [normal|full] [dir]
 *
 * Submits journal records (a 100-character note each) at a steady rate from
 * the calling thread, as the lws loop would, drains them as the writer
 * reports commits, and prints the submit-to-commit latency (p50, p99, max)
 * and the committed records per second. A rate of 0 submits as fast as the
 * queue allows (throughput). The database goes to a fresh directory under
 * dir (default /tmp), removed afterwards.
 *
 * STORE_BENCH_DSN=<libpq connection string>: the same on the PostgreSQL
 * backend (store = postgresql), on that database (emptied by hand between
 * runs: the bench creates a group each time, which is fine).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "store.h"

struct bench {
    int64_t *submitted_ns; /* per token */
    int64_t *latency_ns;   /* per token */
    size_t done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wakes;
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_wake(void *arg)
{
    struct bench *b = arg;

    pthread_mutex_lock(&b->mu);
    b->wakes++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void on_done(void *arg, uint64_t token, int rc)
{
    struct bench *b = arg;

    if (rc)
        fprintf(stderr, "record %llu failed\n", (unsigned long long)token);
    b->latency_ns[token] = now_ns() - b->submitted_ns[token];
    b->done++;
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;

    return (a > c) - (a < c);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    double rate = argc > 2 ? atof(argv[2]) : 0;
    bool normal = argc > 3 && strcmp(argv[3], "normal") == 0;
    const char *base = argc > 4 ? argv[4] : "/tmp";
    struct config cfg = {.text_max_chars = 1000,
                         .long_text_max_chars = 4000,
                         .name_max_chars = 60,
                         .cards_per_step = 1000000,
                         .members_max = 16,
                         .groups_max = 10,
                         .sessions_max = 10};
    struct bench b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    char dir[256], path[300], mid[AUTH_UUID_LEN + 1], key[AUTH_SECRET_LEN + 1],
        inv[AUTH_SECRET_LEN + 1], text[101];
    struct store_options o = {.wake = on_wake, .wake_arg = &b, .sync_normal = normal};
    struct room_cmd cmd = {.type = CMD_NOTE_POST, .text = text};
    struct hub *hub = hub_new(&cfg);
    struct hub_group *g;
    struct store *s;
    int64_t t0, t1, interval = rate > 0 ? (int64_t)(1e9 / rate) : 0;

    snprintf(dir, sizeof(dir), "%s/codevd-bench-XXXXXX", base);
    if (!mkdtemp(dir))
        return 1;
    o.data_dir = dir;
    if (getenv("STORE_BENCH_WINDOW_US")) /* journal_commit_window_us */
        o.commit_window_us = (uint32_t)strtoul(getenv("STORE_BENCH_WINDOW_US"), NULL, 10);
    if (getenv("STORE_BENCH_DSN")) {
        o.backend = "postgresql";
        o.dsn = getenv("STORE_BENCH_DSN");
    }
    b.submitted_ns = calloc(n, sizeof(int64_t));
    b.latency_ns = calloc(n, sizeof(int64_t));
    memset(text, 'x', 100);
    text[100] = '\0';
    if (store_open(&o, &s) ||
        hub_group_create(hub, "", "Bench", "Ana", "en", 90, &g, mid, key, inv) ||
        store_submit_group(s, g, 0, 0) || hub_session_open(hub, g, 0) ||
        store_submit_session_open(s, g, 0))
        return 1;
    store_flush(s);
    store_drain(s, NULL, NULL);

    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (interval) {
            /* Like the lws loop: sleep until the next submission is due,
             * waking early (and draining) whenever the writer commits. */
            int64_t due = t0 + (int64_t)i * interval;
            while (now_ns() < due) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t abs_ns =
                    (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (due - now_ns());
                ts.tv_sec = abs_ns / 1000000000LL;
                ts.tv_nsec = abs_ns % 1000000000LL;
                pthread_mutex_lock(&b.mu);
                if (!b.wakes)
                    pthread_cond_timedwait(&b.cv, &b.mu, &ts);
                b.wakes = 0;
                pthread_mutex_unlock(&b.mu);
                store_drain(s, on_done, &b);
            }
        }
        while (store_is_full(s)) {
            pthread_mutex_lock(&b.mu);
            if (!b.wakes)
                pthread_cond_wait(&b.cv, &b.mu);
            b.wakes = 0;
            pthread_mutex_unlock(&b.mu);
            store_drain(s, on_done, &b);
        }
        snprintf(cmd.id, sizeof(cmd.id), "c%zu", i);
        b.submitted_ns[i] = now_ns();
        if (store_submit_cmd(s, g->room, 0, &cmd, 0, i + 1, i))
            return 1;
        store_drain(s, on_done, &b);
    }
    while (b.done < n) {
        pthread_mutex_lock(&b.mu);
        if (!b.wakes)
            pthread_cond_wait(&b.cv, &b.mu);
        b.wakes = 0;
        pthread_mutex_unlock(&b.mu);
        store_drain(s, on_done, &b);
    }
    t1 = now_ns();
    qsort(b.latency_ns, n, sizeof(int64_t), cmp64);
    printf("records %zu, offered rate %s, synchronous=%s\n", n,
           rate > 0 ? argv[2] : "max", normal ? "NORMAL" : "FULL");
    printf("commit latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           b.latency_ns[n / 2] / 1e6, b.latency_ns[n * 99 / 100] / 1e6,
           b.latency_ns[n - 1] / 1e6);
    printf("committed records/s %.0f\n", (double)n / ((double)(t1 - t0) / 1e9));
    store_close(s);
    hub_free(hub);
    free(b.submitted_ns);
    free(b.latency_ns);
    snprintf(path, sizeof(path), "%s/codevd.db", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/codevd.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/codevd.db-shm", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
