/*
 * codev-load.c - the load generator of codevd (issue 6).
 *
 * Opens R rooms of M members (facilitator, client, M-2 consultants) against
 * a running codevd: groups, joins and sessions through the HTTP API (plain
 * non-blocking sockets, keep-alive), then one real WebSocket per member
 * (libwebsockets client, subprotocol codev.v1, a real hello). Each room is
 * driven to the consultation step (step_next, client_assign, step_next,
 * problem_set, step_next, step_next, contract_set, step_next force), which
 * starts its clock, so the server ticks every room every second. Then the
 * consultants post contribution_post at --rate cards per room per second,
 * round robin, for --warmup + --seconds, and everything is measured on the
 * receiving side:
 *   - messages delivered per second (elements of array frames counted one by
 *     one), sequenced events, ticks, frames;
 *   - post-to-receive latency of every card at every receiver: the sender
 *     writes its CLOCK_MONOTONIC send time into the card text (same process);
 *   - ack latency (send to ack: includes the journal commit);
 *   - tick delay (arrival wall clock minus the tick's server_ms) and tick
 *     period jitter (|interval between two ticks - 1 s|);
 *   - lost / duplicated / out-of-order events per connection: every event of
 *     this workload is public, so each member must see seq grow by exactly 1;
 *     and each member must receive every card its room accepted;
 *   - connect and reconnect rates and latencies (connect to welcome);
 *   - the server's RSS and CPU from /proc/<pid> (pid given or found by port).
 * Latencies go into log-bucket histograms (32 sub-buckets per power of two,
 * < 3.2 % error); percentiles are bucket upper bounds, max is exact.
 *
 * Invariants: one thread; every socket is served by the lws loop except the
 * HTTP set-up, which runs its own poll() loop before the WebSockets open.
 * Commands respect the server's limits: a connection never exceeds a local
 * token bucket a little below the server's (20/s, burst 40) nor 32
 * unanswered commands; a post that would is skipped and counted.
 *
 * Expected load: up to ~19,000 connections and ~300,000 messages/s received
 * on one core.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#define LOAD_INFLIGHT_MAX 30   /* below the server's 32 unanswered commands */
#define LOAD_RATE_PER_S   18.0 /* below the server's 20 commands/s */
#define LOAD_BURST        30.0 /* below the server's burst of 40 */
#define LOAD_DRIVER_NS    (10 * 1000 * 1000LL) /* one driver pass every 10 ms */
#define LOAD_CMD_RING     64                   /* per connection, > inflight */
#define LOAD_QUEUE        64                   /* commands waiting for writable */
#define HIST_SUB_BITS     5
#define HIST_SUB          (1 << HIST_SUB_BITS)
#define HIST_BUCKETS      (64 * HIST_SUB)
#define NS                1000000000LL

/* All zero: no lws keep-alive timers on our connections (see main). */
static const lws_retry_bo_t no_keepalive = {0};

/* ---- options --------------------------------------------------------------------- */

struct options {
    const char *host;
    int port;
    int rooms;
    int members;
    double rate;     /* cards per room per second */
    double warmup_s; /* posting before the measured window */
    double seconds;  /* measured window */
    double idle_s;   /* sample the idle server before set-up */
    double leave_s;  /* wait after everyone left, then read RSS */
    int step_ms;     /* pause between two scripted steps of a room */
    int srcs;        /* source addresses 127.0.0.1 .. 127.0.0.srcs */
    int http_conns;  /* parallel keep-alive HTTP connections for set-up */
    int connect_par; /* WebSocket handshakes in flight at once */
    double churn;    /* reconnections per second during the window */
    int pid;         /* server pid, or 0: found by port */
    bool verbose;    /* one line per second */
    const char *label;
    const char *evlib; /* lws event library: poll, ev or uv */
    bool group_query;  /* WebSocket path /ws?group=<id> (a cluster behind nginx) */
};

static struct options opt = {
    .host = "127.0.0.1",
    .port = 8080,
    .rooms = 10,
    .members = 8,
    .rate = 2,
    .warmup_s = 3,
    .seconds = 10,
    .idle_s = 0,
    .leave_s = 3,
    .step_ms = 0,
    .srcs = 1,
    .http_conns = 32,
    .connect_par = 256,
    .churn = 0,
    .label = "run",
    .evlib = "uv",
};

/* ---- time ------------------------------------------------------------------------ */

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- log-bucket histograms ----------------------------------------------------------
 */

/* Values (microseconds here) below HIST_SUB are exact; above, each power of
 * two is split in HIST_SUB buckets. */
struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[HIST_BUCKETS];
};

static unsigned hist_index(uint64_t v)
{
    int msb, shift;

    if (v < HIST_SUB)
        return (unsigned)v;
    msb = 63 - __builtin_clzll(v);
    shift = msb - HIST_SUB_BITS;
    return (unsigned)((shift + 1) * HIST_SUB + ((v >> shift) & (HIST_SUB - 1)));
}

/* The highest value that falls in bucket i. */
static uint64_t hist_upper(unsigned i)
{
    unsigned shift;

    if (i < 2 * HIST_SUB)
        return i;
    shift = i / HIST_SUB - 1;
    return ((uint64_t)(HIST_SUB + i % HIST_SUB) << shift) + ((uint64_t)1 << shift) - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

static uint64_t hist_pct(const struct hist *h, double p)
{
    uint64_t want, seen = 0;

    if (!h->count)
        return 0;
    want = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want)
            return hist_upper(i) < h->max ? hist_upper(i) : h->max;
    }
    return h->max;
}

static void hist_print(const char *name, const struct hist *h)
{
    printf("  %-22s n=%-9" PRIu64 " p50 %8.2f  p90 %8.2f  p99 %8.2f  p99.9 %8.2f  max "
           "%8.2f ms\n",
           name, h->count, hist_pct(h, 50) / 1e3, hist_pct(h, 90) / 1e3,
           hist_pct(h, 99) / 1e3, hist_pct(h, 99.9) / 1e3, h->max / 1e3);
}

/* The shape: counts per power-of-two range of milliseconds. */
static void hist_print_shape(const struct hist *h)
{
    uint64_t lo = 0, hi = 128, n = 0;
    unsigned i = 0;

    if (!h->count)
        return;
    printf("    ");
    while (i < HIST_BUCKETS) {
        while (i < HIST_BUCKETS && hist_upper(i) < hi)
            n += h->b[i++];
        if (n)
            printf(" [%g,%g)ms:%.2f%%", lo / 1e3, hi / 1e3, 100.0 * n / h->count);
        n = 0;
        lo = hi;
        hi *= 2;
        if (lo > h->max)
            break;
    }
    printf("\n");
}

/* ---- state ----------------------------------------------------------------------- */

enum cmd_kind { CK_NONE, CK_HELLO, CK_SCRIPT, CK_POST };

struct cmd_slot {
    enum cmd_kind kind;
    int64_t sent_ns;
};

enum member_state { MS_IDLE, MS_CONNECTING, MS_HELLO, MS_READY, MS_CLOSING, MS_CLOSED };

struct room;

struct member {
    struct room *room;
    int idx; /* 0 facilitator, 1 client, 2.. consultants */
    struct lws *wsi;
    enum member_state state;
    char member_id[40];
    char key[40];
    int64_t last_seq;  /* last event seq seen */
    bool seq_known;    /* last_seq comes from a welcome */
    uint64_t cards_rx; /* load cards of this room received (snapshot + events) */
    uint64_t lost, dup, ooo;
    /* commands waiting for writable, as kinds; script commands carry their
     * text in the room's script */
    enum cmd_kind queue[LOAD_QUEUE];
    unsigned qhead, qlen;
    struct cmd_slot ring[LOAD_CMD_RING]; /* by id % LOAD_CMD_RING */
    uint32_t next_id;
    unsigned inflight;
    double tokens;
    int64_t tokens_ns;
    int64_t connect_ns;   /* connect started */
    int64_t last_tick_ns; /* arrival of the last tick */
    bool reconnecting;    /* a churn reconnect (not the first connect) */
    bool want_reconnect;  /* reconnect after the close */
    unsigned char *rx;    /* a message in pieces */
    size_t rx_len, rx_cap;
};

struct room {
    int idx;
    char group_id[40];
    char ws_path[64]; /* "/ws" or "/ws?group=<id>"; lws may read it after connect */
    char invite[40];
    int joined;            /* HTTP joins answered */
    bool session_open;     /* HTTP session opened */
    int ready;             /* members welcomed */
    int script_pos;        /* next script command; -1 failed */
    int64_t script_due_ns; /* when the next script command may go */
    bool script_wait;      /* a script command is unanswered */
    bool posting;          /* in consultation */
    int64_t next_post_ns;
    int next_consultant;
    uint64_t posts_sent, posts_acked, posts_refused;
    struct member *m;
};

struct counters {
    uint64_t msgs, events, ticks, frames, bytes, cards, acks, errors;
    uint64_t posts_sent, posts_skipped, connects, reconnects, connect_errors, closes;
};

struct proc_sample {
    uint64_t cpu_ticks; /* utime + stime */
    uint64_t rss_kb;
    int64_t at_ns;
};

enum phase { PH_CONNECT, PH_DRIVE, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_LEAVE, PH_DONE };

static struct {
    struct lws_context *ctx;
    struct room *rooms;
    struct member **members; /* all, in connect order */
    int nmembers;
    int next_connect; /* members[next_connect] is the next to connect */
    int connecting;   /* handshakes in flight */
    int ready;        /* members welcomed */
    int open;         /* connections open */
    int rooms_posting;
    enum phase phase;
    int64_t phase_ns;
    int64_t t_connect0, t_connected, t_driven;
    lws_sorted_usec_list_t sul;
    struct counters c;       /* since the start of the window */
    struct counters w;       /* the window's, frozen when it closes */
    struct counters total;   /* whole run */
    struct hist lat;         /* card post-to-receive, us */
    struct hist ack;         /* command send-to-ack, us */
    struct hist tick_delay;  /* tick arrival - server_ms, us */
    struct hist tick_period; /* |tick interval - 1 s|, us */
    struct hist connect_lat; /* first connect to welcome, us */
    struct hist reconnect_lat;
    struct proc_sample p_idle0, p_idle1, p_base, p_setup, p_conn, p_win0, p_win1, p_peak,
        p_left;
    uint64_t rss_peak_kb;
    int64_t win0_ns, win1_ns;
    struct rusage ru0, ru1;
    double churn_acc;
    int64_t last_second_ns;
    struct counters last_second;
    int pid;
    bool interrupted;
    char peer_addr[32];
} L;

static char src_addr[256][20];

/* ---- /proc ----------------------------------------------------------------------- */

static int proc_read(int pid, struct proc_sample *s)
{
    char path[64], buf[4096], *p;
    FILE *f;
    size_t n;
    unsigned long ut = 0, st = 0;

    s->at_ns = mono_ns();
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                     &st) != 2)
        return -1;
    s->cpu_ticks = ut + st;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "VmRSS: %" SCNu64, &s->rss_kb) == 1)
            break;
    fclose(f);
    return 0;
}

static double proc_cpu_pct(const struct proc_sample *a, const struct proc_sample *b)
{
    double secs = (double)(b->at_ns - a->at_ns) / NS;

    if (secs <= 0)
        return 0;
    return 100.0 * (double)(b->cpu_ticks - a->cpu_ticks) / (double)sysconf(_SC_CLK_TCK) /
           secs;
}

/* The pid of the process listening on TCP port: its socket inode in
 * /proc/net/tcp, then the /proc/<pid>/fd link to it. */
static int pid_by_port(int port)
{
    char line[512], want[64], path[600], link[64];
    unsigned long inode = 0;
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    DIR *d;
    struct dirent *e;
    int found = 0;

    for (int i = 0; i < 2 && !inode; i++) {
        FILE *f = fopen(tables[i], "r");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            unsigned lport, st;
            unsigned long ino;
            if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
                       &lport, &st, &ino) == 3 &&
                (int)lport == port && st == 0x0A) {
                inode = ino;
                break;
            }
        }
        fclose(f);
    }
    if (!inode)
        return 0;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir("/proc");
    while (d && !found && (e = readdir(d))) {
        DIR *fd;
        struct dirent *fe;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/fd", e->d_name);
        fd = opendir(path);
        while (fd && (fe = readdir(fd))) {
            ssize_t n;
            snprintf(path, sizeof(path), "/proc/%s/fd/%s", e->d_name, fe->d_name);
            n = readlink(path, link, sizeof(link) - 1);
            if (n <= 0)
                continue;
            link[n] = 0;
            if (strcmp(link, want) == 0) {
                found = atoi(e->d_name);
                break;
            }
        }
        if (fd)
            closedir(fd);
    }
    if (d)
        closedir(d);
    return found;
}

/* ---- HTTP set-up (plain sockets, keep-alive, poll) --------------------------------- */

enum job_kind { JOB_CREATE, JOB_JOIN, JOB_SESSION };

struct job {
    enum job_kind kind;
    struct room *room;
    int member; /* JOB_JOIN */
};

struct http_conn {
    int fd;
    bool busy, connected;
    struct job job;
    char req[1024];
    size_t req_len, req_off;
    char resp[8192];
    size_t resp_len;
    int retries;
};

static struct {
    struct job *q;
    size_t head, len, cap;
    size_t done, total;
    uint64_t failures;
} J;

static void job_push(struct job j)
{
    if (J.len == J.cap) {
        size_t ncap = J.cap ? J.cap * 2 : 1024;
        struct job *nq = malloc(ncap * sizeof(*nq));
        if (!nq) {
            perror("malloc");
            exit(1);
        }
        for (size_t i = 0; i < J.len; i++)
            nq[i] = J.q[(J.head + i) % J.cap];
        free(J.q);
        J.q = nq;
        J.cap = ncap;
        J.head = 0;
    }
    J.q[(J.head + J.len++) % J.cap] = j;
}

static int tcp_connect(const char *src, bool nonblock)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)opt.port)};
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    int one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src) {
        struct sockaddr_in la = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &la.sin_addr);
        if (bind(fd, (struct sockaddr *)&la, sizeof(la)) < 0) {
            close(fd);
            return -1;
        }
    }
    inet_pton(AF_INET, opt.host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void http_prepare(struct http_conn *h)
{
    char body[256], path[128], auth[96] = "";
    struct room *r = h->job.room;
    int n;

    switch (h->job.kind) {
    case JOB_CREATE:
        snprintf(path, sizeof(path), "/api/groups");
        snprintf(body, sizeof(body),
                 "{\"name\":\"Load %d\",\"facilitator_name\":\"F%d\",\"language\":\"fr\","
                 "\"format\":90}",
                 r->idx, r->idx);
        break;
    case JOB_JOIN:
        snprintf(path, sizeof(path), "/api/groups/%s/members", r->group_id);
        snprintf(body, sizeof(body), "{\"invite_code\":\"%s\",\"display_name\":\"M%d\"}",
                 r->invite, h->job.member);
        break;
    case JOB_SESSION:
        snprintf(path, sizeof(path), "/api/groups/%s/sessions", r->group_id);
        snprintf(body, sizeof(body), "{}");
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", r->m[0].key);
        break;
    }
    n = snprintf(h->req, sizeof(h->req),
                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                 "%sContent-Length: %zu\r\n\r\n%s",
                 path, opt.host, opt.port, auth, strlen(body), body);
    h->req_len = (size_t)n;
    h->req_off = 0;
    h->resp_len = 0;
}

static void copy_str(char *dst, size_t cap, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    snprintf(dst, cap, "%s", v ? v : "");
}

/* A complete answer arrived: advance the room. Returns -1 on a bad answer. */
static int http_done(struct http_conn *h, int status, const char *body, size_t len)
{
    struct room *r = h->job.room;
    json_t *j;

    if (status != 201) {
        fprintf(stderr, "http: job %d room %d: status %d: %.*s\n", h->job.kind, r->idx,
                status, (int)len, body);
        return -1;
    }
    j = json_loadb(body, len, 0, NULL);
    if (!j)
        return -1;
    switch (h->job.kind) {
    case JOB_CREATE:
        copy_str(r->group_id, sizeof(r->group_id), j, "group_id");
        copy_str(r->invite, sizeof(r->invite), j, "invite_code");
        copy_str(r->m[0].member_id, sizeof(r->m[0].member_id), j, "member_id");
        copy_str(r->m[0].key, sizeof(r->m[0].key), j, "member_key");
        for (int i = 1; i < opt.members; i++)
            job_push((struct job){JOB_JOIN, r, i});
        break;
    case JOB_JOIN:
        copy_str(r->m[h->job.member].member_id, sizeof(r->m[0].member_id), j,
                 "member_id");
        copy_str(r->m[h->job.member].key, sizeof(r->m[0].key), j, "member_key");
        if (++r->joined == opt.members - 1)
            job_push((struct job){JOB_SESSION, r, 0});
        break;
    case JOB_SESSION:
        r->session_open = true;
        break;
    }
    json_decref(j);
    J.done++;
    return 0;
}

/* Parses h->resp: returns 1 when a whole answer is there (and handles it),
 * 0 when more is needed, -1 on a broken answer. */
static int http_parse(struct http_conn *h)
{
    char *hdr_end, *cl;
    int status;
    size_t clen, hlen;

    h->resp[h->resp_len] = 0;
    hdr_end = strstr(h->resp, "\r\n\r\n");
    if (!hdr_end)
        return 0;
    if (sscanf(h->resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    cl = strcasestr(h->resp, "\r\ncontent-length:");
    if (!cl || cl > hdr_end)
        return -1;
    clen = strtoul(cl + 17, NULL, 10);
    hlen = (size_t)(hdr_end + 4 - h->resp);
    if (h->resp_len < hlen + clen)
        return 0;
    if (http_done(h, status, hdr_end + 4, clen))
        return -1;
    return 1;
}

static void http_reset(struct http_conn *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->connected = false;
}

/* Creates the groups, joins the members and opens the sessions. */
static int http_setup(void)
{
    int k = opt.http_conns;
    struct http_conn *hc = calloc((size_t)k, sizeof(*hc));
    struct pollfd *pf = calloc((size_t)k, sizeof(*pf));
    int64_t t0 = mono_ns();

    J.total = (size_t)opt.rooms * (size_t)(opt.members + 1);
    for (int i = 0; i < opt.rooms; i++)
        job_push((struct job){JOB_CREATE, &L.rooms[i], 0});
    for (int i = 0; i < k; i++)
        hc[i].fd = -1;
    while (J.done < J.total && !L.interrupted) {
        int busy = 0;
        for (int i = 0; i < k; i++) {
            struct http_conn *h = &hc[i];
            if (!h->busy && J.len) {
                h->job = J.q[J.head];
                J.head = (J.head + 1) % J.cap;
                J.len--;
                h->busy = true;
                h->retries = 0;
                http_prepare(h);
            }
            if (h->busy && h->fd < 0) {
                h->fd = tcp_connect(NULL, true);
                if (h->fd < 0) {
                    perror("http connect");
                    return -1;
                }
                h->req_off = 0;
                h->resp_len = 0;
            }
            pf[i].fd = h->busy ? h->fd : -1;
            pf[i].events = h->req_off < h->req_len ? POLLOUT : POLLIN;
            pf[i].revents = 0;
            busy += h->busy;
        }
        if (!busy) {
            fprintf(stderr, "http: stuck with %zu of %zu done\n", J.done, J.total);
            return -1;
        }
        if (poll(pf, (nfds_t)k, 1000) < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < k; i++) {
            struct http_conn *h = &hc[i];
            ssize_t n;
            if (!h->busy || !pf[i].revents)
                continue;
            if (h->req_off < h->req_len) {
                n = send(h->fd, h->req + h->req_off, h->req_len - h->req_off,
                         MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN) {
                    http_reset(h);
                    if (++h->retries > 3)
                        return -1;
                    continue;
                }
                if (n > 0)
                    h->req_off += (size_t)n;
                continue;
            }
            n = recv(h->fd, h->resp + h->resp_len, sizeof(h->resp) - 1 - h->resp_len, 0);
            if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                    continue;
                /* Closed by the server: a request sent but not answered is
                 * only a problem if it changed something; POSTs here are
                 * not idempotent, so give up rather than guess. */
                if (h->resp_len == 0 && h->req_off == 0) {
                    http_reset(h);
                    continue;
                }
                fprintf(stderr, "http: connection closed mid-request\n");
                return -1;
            }
            h->resp_len += (size_t)n;
            switch (http_parse(h)) {
            case 0:
                break;
            case 1:
                h->busy = false;
                break;
            default:
                J.failures++;
                return -1;
            }
        }
    }
    for (int i = 0; i < k; i++)
        http_reset(&hc[i]);
    free(hc);
    free(pf);
    printf("http set-up: %zu requests in %.2f s (%.0f/s)\n", J.done,
           (double)(mono_ns() - t0) / NS, (double)J.done * NS / (double)(mono_ns() - t0));
    return L.interrupted ? -1 : 0;
}

/* ---- the room script -----------------------------------------------------------------
 */

struct script_step {
    int who; /* member index */
    const char *type;
    const char *fields; /* extra JSON fields; NULL: the client's member_id */
};

static const struct script_step script[] = {
    {0, "step_next", ""},
    {0, "client_assign", NULL},
    {0, "step_next", ""},
    {1, "problem_set", ",\"text\":\"Comment déléguer sans perdre le fil ?\""},
    {0, "step_next", ""},
    {0, "step_next", ""},
    {1, "contract_set", ",\"text\":\"J'aimerais repartir avec trois pistes concrètes.\""},
    {0, "step_next", ",\"force\":true"},
};
#define SCRIPT_LEN ((int)(sizeof(script) / sizeof(script[0])))

/* ---- WebSocket connections ----------------------------------------------------------
 */

static void member_connect(struct member *m)
{
    struct lws_client_connect_info ci;
    char host[64];
    int n = (int)(m - m->room->m) + m->room->idx * opt.members;

    snprintf(host, sizeof(host), "%s:%d", opt.host, opt.port);
    memset(&ci, 0, sizeof(ci));
    ci.context = L.ctx;
    ci.address = opt.host;
    ci.port = opt.port;
    if (opt.group_query)
        snprintf(m->room->ws_path, sizeof(m->room->ws_path), "/ws?group=%s",
                 m->room->group_id);
    else
        snprintf(m->room->ws_path, sizeof(m->room->ws_path), "/ws");
    ci.path = m->room->ws_path;
    ci.host = host;
    ci.protocol = "codev.v1";
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = m;
    ci.pwsi = &m->wsi;
    ci.retry_and_idle_policy = &no_keepalive;
    if (opt.srcs > 1)
        ci.iface = src_addr[n % opt.srcs];
    m->state = MS_CONNECTING;
    m->connect_ns = mono_ns();
    m->qhead = m->qlen = 0;
    m->inflight = 0;
    memset(m->ring, 0, sizeof(m->ring));
    m->tokens = LOAD_BURST;
    m->tokens_ns = m->connect_ns;
    m->last_tick_ns = 0;
    L.connecting++;
    if (!lws_client_connect_via_info(&ci)) {
        /* CONNECTION_ERROR was called, or will be; nothing else to do. */
    }
}

static bool member_take_token(struct member *m, int64_t now)
{
    m->tokens += (double)(now - m->tokens_ns) * LOAD_RATE_PER_S / NS;
    if (m->tokens > LOAD_BURST)
        m->tokens = LOAD_BURST;
    m->tokens_ns = now;
    if (m->tokens < 1.0)
        return false;
    m->tokens -= 1.0;
    return true;
}

static bool member_queue(struct member *m, enum cmd_kind k)
{
    if (m->qlen == LOAD_QUEUE || !m->wsi)
        return false;
    m->queue[(m->qhead + m->qlen++) % LOAD_QUEUE] = k;
    lws_callback_on_writable(m->wsi);
    return true;
}

/* Writes the next queued command. One lws_write per writable. */
static int member_write(struct member *m)
{
    unsigned char buf[LWS_PRE + 512];
    char *p = (char *)buf + LWS_PRE;
    size_t cap = sizeof(buf) - LWS_PRE;
    int64_t now = mono_ns();
    enum cmd_kind k;
    uint32_t id;
    int n = 0;

    if (m->state == MS_CLOSING)
        return -1;
    if (!m->qlen)
        return 0;
    k = m->queue[m->qhead];
    m->qhead = (m->qhead + 1) % LOAD_QUEUE;
    m->qlen--;
    id = ++m->next_id;
    switch (k) {
    case CK_HELLO:
        if (m->seq_known)
            n = snprintf(p, cap,
                         "{\"type\":\"hello\",\"group_id\":\"%s\",\"member_key\":\"%s\","
                         "\"last_seq\":%" PRId64 "}",
                         m->room->group_id, m->key, m->last_seq);
        else
            n = snprintf(p, cap,
                         "{\"type\":\"hello\",\"group_id\":\"%s\",\"member_key\":\"%s\"}",
                         m->room->group_id, m->key);
        id = 0;
        m->next_id--;
        break;
    case CK_SCRIPT: {
        const struct script_step *st = &script[m->room->script_pos];
        char fields[160];
        if (st->fields)
            snprintf(fields, sizeof(fields), "%s", st->fields);
        else
            snprintf(fields, sizeof(fields), ",\"member_id\":\"%s\"",
                     m->room->m[1].member_id);
        n = snprintf(p, cap, "{\"type\":\"%s\",\"id\":\"%" PRIu32 "\"%s}", st->type, id,
                     fields);
        break;
    }
    case CK_POST:
        n = snprintf(p, cap,
                     "{\"type\":\"contribution_post\",\"id\":\"%" PRIu32
                     "\",\"kind\":\"suggestion\",\"text\":\"idée r%d t=%" PRId64 "\"}",
                     id, m->room->idx, now);
        m->room->posts_sent++;
        L.c.posts_sent++;
        L.total.posts_sent++;
        break;
    default:
        break;
    }
    if (id) {
        m->ring[id % LOAD_CMD_RING] = (struct cmd_slot){k, now};
        m->inflight++;
    }
    if (lws_write(m->wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_TEXT) < n)
        return -1;
    if (m->qlen)
        lws_callback_on_writable(m->wsi);
    return 0;
}

/* ---- a tiny JSON scanner for server frames ---------------------------------------- */

/* Only what the measurements need is read; values are skipped without being
 * built. The server's frames are trusted to be valid JSON (the integration
 * tests validate them against proto/schema). */

struct jtok {
    const char *p, *e;
};

static void jws(struct jtok *t)
{
    while (t->p < t->e &&
           (*t->p == ' ' || *t->p == '\n' || *t->p == '\r' || *t->p == '\t'))
        t->p++;
}

/* Skips a string starting at '"'; sets [*s, *n) to its raw contents. */
static void jstr(struct jtok *t, const char **s, size_t *n)
{
    const char *b = ++t->p;

    while (t->p < t->e && *t->p != '"') {
        if (*t->p == '\\')
            t->p++;
        t->p++;
    }
    if (s)
        *s = b, *n = (size_t)(t->p - b);
    t->p++;
}

static void jskip(struct jtok *t)
{
    int depth = 0;

    jws(t);
    do {
        if (t->p >= t->e)
            return;
        switch (*t->p) {
        case '"':
            jstr(t, NULL, NULL);
            continue;
        case '{':
        case '[':
            depth++;
            break;
        case '}':
        case ']':
            depth--;
            break;
        default:
            if (depth == 0) {
                while (t->p < t->e && *t->p != ',' && *t->p != '}' && *t->p != ']')
                    t->p++;
                return;
            }
        }
        t->p++;
    } while (depth > 0);
}

static int64_t jint(struct jtok *t)
{
    int64_t v = 0;
    bool neg = false;

    jws(t);
    if (t->p < t->e && *t->p == '-')
        neg = true, t->p++;
    while (t->p < t->e && *t->p >= '0' && *t->p <= '9')
        v = v * 10 + (*t->p++ - '0');
    /* a fraction or exponent, if any (never the delimiter after it) */
    while (t->p < t->e && (*t->p == '.' || *t->p == 'e' || *t->p == 'E' || *t->p == '+' ||
                           *t->p == '-' || (*t->p >= '0' && *t->p <= '9')))
        t->p++;
    return neg ? -v : v;
}

#define KEY_IS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), (lit), (n)) == 0)

/* Iterates the members of an object at t->p ('{'): calls fn for each key
 * with t->p at the value; fn must consume the value. */
typedef void (*jmember_fn)(struct jtok *t, const char *k, size_t kn, void *arg);

static void jobject(struct jtok *t, jmember_fn fn, void *arg)
{
    jws(t);
    if (t->p >= t->e || *t->p != '{') {
        jskip(t);
        return;
    }
    t->p++;
    for (;;) {
        const char *k;
        size_t kn;
        jws(t);
        if (t->p >= t->e)
            return;
        if (*t->p == '}') {
            t->p++;
            return;
        }
        if (*t->p == ',') {
            t->p++;
            continue;
        }
        jstr(t, &k, &kn);
        jws(t);
        if (t->p < t->e && *t->p == ':')
            t->p++;
        jws(t);
        fn(t, k, kn, arg);
    }
}

/* The fields of one server message that matter here. */
struct smsg {
    const char *type;
    size_t type_n;
    int64_t seq;
    bool has_seq;
    int64_t server_ms;
    uint32_t id;
    bool has_id;
    int64_t card_t;      /* card_added: the load tag's send time, or -1 */
    int64_t room_seq;    /* welcome: room.seq */
    uint64_t room_cards; /* welcome: load cards in the snapshot */
    bool has_room;
    const char *code; /* error: its code */
    size_t code_n;
};

static int64_t load_tag_time(const char *s, size_t n)
{
    const char *t = memmem(s, n, " t=", 3);
    int64_t v = 0;

    if (!t)
        return -1;
    for (t += 3; t < s + n && *t >= '0' && *t <= '9'; t++)
        v = v * 10 + (*t - '0');
    return v;
}

static void card_member(struct jtok *t, const char *k, size_t kn, void *arg)
{
    int64_t *when = arg;

    if (KEY_IS(k, kn, "text") && t->p < t->e && *t->p == '"') {
        const char *s;
        size_t n;
        jstr(t, &s, &n);
        *when = load_tag_time(s, n);
    } else {
        jskip(t);
    }
}

static void room_member(struct jtok *t, const char *k, size_t kn, void *arg)
{
    struct smsg *m = arg;

    if (KEY_IS(k, kn, "seq")) {
        m->room_seq = jint(t);
    } else if (KEY_IS(k, kn, "cards") && t->p < t->e && *t->p == '[') {
        t->p++;
        for (;;) {
            jws(t);
            if (t->p >= t->e || *t->p == ']') {
                t->p++;
                break;
            }
            if (*t->p == ',') {
                t->p++;
                continue;
            }
            int64_t when = -1;
            jobject(t, card_member, &when);
            if (when >= 0)
                m->room_cards++;
        }
    } else {
        jskip(t);
    }
}

static void msg_member(struct jtok *t, const char *k, size_t kn, void *arg)
{
    struct smsg *m = arg;

    if (KEY_IS(k, kn, "type") && *t->p == '"') {
        jstr(t, &m->type, &m->type_n);
    } else if (KEY_IS(k, kn, "seq")) {
        m->seq = jint(t);
        m->has_seq = true;
    } else if (KEY_IS(k, kn, "code") && *t->p == '"') {
        jstr(t, &m->code, &m->code_n);
    } else if (KEY_IS(k, kn, "server_ms")) {
        m->server_ms = jint(t);
    } else if (KEY_IS(k, kn, "id") && *t->p == '"') {
        const char *s;
        size_t n;
        jstr(t, &s, &n);
        m->id = (uint32_t)strtoul(s, NULL, 10);
        m->has_id = true;
    } else if (KEY_IS(k, kn, "card") && *t->p == '{') {
        jobject(t, card_member, &m->card_t);
    } else if (KEY_IS(k, kn, "room") && *t->p == '{') {
        m->has_room = true;
        jobject(t, room_member, m);
    } else {
        jskip(t);
    }
}

/* ---- handling server messages ------------------------------------------------------ */

static void room_script_next(struct room *r, int64_t now);

static void member_on_answer(struct member *m, const struct smsg *s, bool ok, int64_t now)
{
    struct cmd_slot *slot;

    if (!s->has_id)
        return;
    slot = &m->ring[s->id % LOAD_CMD_RING];
    if (slot->kind == CK_NONE)
        return;
    if (m->inflight)
        m->inflight--;
    if (L.phase == PH_MEASURE)
        hist_add(&L.ack, (uint64_t)(now - slot->sent_ns) / 1000);
    if (slot->kind == CK_POST) {
        if (ok) {
            m->room->posts_acked++;
        } else {
            m->room->posts_refused++;
            if (m->room->posts_refused <= 3)
                fprintf(stderr, "room %d: post refused\n", m->room->idx);
        }
    } else if (slot->kind == CK_SCRIPT) {
        struct room *r = m->room;
        r->script_wait = false;
        if (!ok) {
            fprintf(stderr, "room %d: script step %d (%s) refused\n", r->idx,
                    r->script_pos, script[r->script_pos].type);
            r->script_pos = -1;
        } else {
            r->script_pos++;
            r->script_due_ns = now + (int64_t)opt.step_ms * 1000000;
            if (r->script_pos == SCRIPT_LEN) {
                r->posting = true;
                L.rooms_posting++;
                r->next_post_ns =
                    now + (int64_t)((double)rand() / RAND_MAX * NS / opt.rate);
            } else if (!opt.step_ms) {
                room_script_next(r, now);
            }
        }
    }
    slot->kind = CK_NONE;
}

static void member_on_welcome(struct member *m, const struct smsg *s, int64_t now)
{
    struct room *r = m->room;

    m->state = MS_READY;
    m->last_seq = s->room_seq;
    m->seq_known = true;
    m->cards_rx = s->room_cards;
    L.connecting--;
    L.ready++;
    if (m->reconnecting) {
        L.c.reconnects++;
        L.total.reconnects++;
        hist_add(&L.reconnect_lat, (uint64_t)(now - m->connect_ns) / 1000);
    } else {
        L.c.connects++;
        L.total.connects++;
        hist_add(&L.connect_lat, (uint64_t)(now - m->connect_ns) / 1000);
        r->ready++;
    }
}

static void member_on_event(struct member *m, const struct smsg *s, int64_t now)
{
    if (s->seq == m->last_seq + 1) {
        /* the usual case */
    } else if (s->seq == m->last_seq) {
        m->dup++;
    } else if (s->seq < m->last_seq) {
        m->ooo++;
    } else {
        m->lost += (uint64_t)(s->seq - m->last_seq - 1);
    }
    if (s->seq > m->last_seq)
        m->last_seq = s->seq;
    L.c.events++;
    if (s->card_t >= 0) {
        m->cards_rx++;
        L.c.cards++;
        if (L.phase == PH_MEASURE)
            hist_add(&L.lat, (uint64_t)(now - s->card_t) / 1000);
    }
}

static void member_on_tick(struct member *m, const struct smsg *s, int64_t now,
                           int64_t now_wall_us)
{
    L.c.ticks++;
    if (L.phase == PH_MEASURE) {
        int64_t d = now_wall_us - s->server_ms * 1000;
        hist_add(&L.tick_delay, (uint64_t)(d < 0 ? 0 : d));
        if (m->last_tick_ns) {
            int64_t p = now - m->last_tick_ns - NS;
            hist_add(&L.tick_period, (uint64_t)(p < 0 ? -p : p) / 1000);
        }
    }
    m->last_tick_ns = now;
}

static void member_on_message(struct member *m, struct jtok *t, int64_t now,
                              int64_t *wall)
{
    struct smsg s = {.card_t = -1};

    jobject(t, msg_member, &s);
    L.c.msgs++;
    if (!s.type)
        return;
    if (KEY_IS(s.type, s.type_n, "tick")) {
        if (!*wall)
            *wall = wall_us();
        member_on_tick(m, &s, now, *wall);
    } else if (KEY_IS(s.type, s.type_n, "ack")) {
        L.c.acks++;
        member_on_answer(m, &s, true, now);
    } else if (KEY_IS(s.type, s.type_n, "error")) {
        L.c.errors++;
        if (L.total.errors++ < 10)
            fprintf(stderr, "room %d member %d: error %.*s (command %" PRIu32 ")\n",
                    m->room->idx, m->idx, (int)s.code_n, s.code ? s.code : "", s.id);
        member_on_answer(m, &s, false, now);
    } else if (KEY_IS(s.type, s.type_n, "welcome")) {
        member_on_welcome(m, &s, now);
    } else if (s.has_seq) {
        member_on_event(m, &s, now);
    }
}

static void member_on_frame(struct member *m, const char *in, size_t len)
{
    struct jtok t = {in, in + len};
    int64_t now = mono_ns(), wall = 0;

    L.c.frames++;
    L.c.bytes += len;
    jws(&t);
    if (t.p < t.e && *t.p == '[') {
        t.p++;
        for (;;) {
            jws(&t);
            if (t.p >= t.e || *t.p == ']')
                break;
            if (*t.p == ',') {
                t.p++;
                continue;
            }
            member_on_message(m, &t, now, &wall);
        }
    } else {
        member_on_message(m, &t, now, &wall);
    }
}

static int member_receive(struct member *m, struct lws *wsi, const char *in, size_t len)
{
    bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);

    if (!m->rx_len && last) {
        member_on_frame(m, in, len);
        return 0;
    }
    if (m->rx_len + len > m->rx_cap) {
        size_t ncap = (m->rx_len + len) * 2;
        unsigned char *nb = realloc(m->rx, ncap);
        if (!nb)
            return -1;
        m->rx = nb;
        m->rx_cap = ncap;
    }
    memcpy(m->rx + m->rx_len, in, len);
    m->rx_len += len;
    if (last) {
        member_on_frame(m, (const char *)m->rx, m->rx_len);
        m->rx_len = 0;
    }
    return 0;
}

static int callback_load(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len)
{
    struct member *m = lws_get_opaque_user_data(wsi);

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!m)
            return 0;
        L.c.connect_errors++;
        L.total.connect_errors++;
        if (L.total.connect_errors <= 5)
            fprintf(stderr, "connect error: %s\n", in ? (const char *)in : "?");
        L.connecting--;
        lws_set_opaque_user_data(wsi, NULL);
        m->wsi = NULL;
        m->state = MS_IDLE; /* the driver tries again */
        return 0;

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        L.open++;
        m->state = MS_HELLO;
        member_take_token(m, mono_ns());
        member_queue(m, CK_HELLO);
        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        return member_receive(m, wsi, in, len);

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return member_write(m);

    case LWS_CALLBACK_CLIENT_CLOSED:
        if (!m)
            return 0;
        L.open--;
        L.c.closes++;
        L.total.closes++;
        if (m->state == MS_READY)
            L.ready--;
        else if (m->state == MS_HELLO || m->state == MS_CONNECTING)
            L.connecting--;
        m->wsi = NULL;
        if (m->state != MS_CLOSING && L.phase < PH_LEAVE)
            fprintf(stderr, "room %d member %d: closed by the server\n", m->room->idx,
                    m->idx);
        /* Closed before its welcome while connecting: the driver retries. */
        if (L.phase == PH_CONNECT && m->state != MS_READY && m->state != MS_CLOSING) {
            m->state = MS_IDLE;
            return 0;
        }
        m->state = m->want_reconnect ? MS_IDLE : MS_CLOSED;
        if (m->want_reconnect) {
            m->want_reconnect = false;
            member_connect(m);
            m->reconnecting = true;
        }
        return 0;

    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"codev.v1", callback_load, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the driver: one pass every 10 ms ------------------------------------------- */

static void room_script_next(struct room *r, int64_t now)
{
    struct member *m;

    if (r->script_pos < 0 || r->script_pos >= SCRIPT_LEN || r->script_wait ||
        now < r->script_due_ns || r->ready < opt.members)
        return;
    m = &r->m[script[r->script_pos].who];
    if (m->state != MS_READY || !member_take_token(m, now))
        return;
    if (member_queue(m, CK_SCRIPT))
        r->script_wait = true;
}

static void room_post(struct room *r, int64_t now)
{
    int nk = opt.members - 2;

    while (r->posting && now >= r->next_post_ns) {
        struct member *m = NULL;
        for (int tries = 0; tries < nk && !m; tries++) {
            struct member *c = &r->m[2 + r->next_consultant];
            r->next_consultant = (r->next_consultant + 1) % nk;
            if (c->state == MS_READY && c->inflight + c->qlen < LOAD_INFLIGHT_MAX &&
                member_take_token(c, now))
                m = c;
        }
        if (!m || !member_queue(m, CK_POST)) {
            L.c.posts_skipped++;
            L.total.posts_skipped++;
        }
        r->next_post_ns += (int64_t)(NS / opt.rate);
    }
}

static void phase_set(enum phase p, int64_t now)
{
    L.phase = p;
    L.phase_ns = now;
}

static void window_open(int64_t now)
{
    memset(&L.c, 0, sizeof(L.c));
    memset(&L.lat, 0, sizeof(L.lat));
    memset(&L.ack, 0, sizeof(L.ack));
    memset(&L.tick_delay, 0, sizeof(L.tick_delay));
    memset(&L.tick_period, 0, sizeof(L.tick_period));
    memset(&L.reconnect_lat, 0, sizeof(L.reconnect_lat));
    L.win0_ns = now;
    L.last_second_ns = now;
    memset(&L.last_second, 0, sizeof(L.last_second));
    getrusage(RUSAGE_SELF, &L.ru0);
    if (L.pid)
        proc_read(L.pid, &L.p_win0);
}

static void window_close(int64_t now)
{
    L.w = L.c;
    L.win1_ns = now;
    getrusage(RUSAGE_SELF, &L.ru1);
    if (L.pid)
        proc_read(L.pid, &L.p_win1);
}

/* Churn: drop a few ready, idle connections; they reconnect with last_seq. */
static void churn(void)
{
    L.churn_acc += opt.churn * LOAD_DRIVER_NS / NS;
    while (L.churn_acc >= 1.0) {
        struct member *m = L.members[rand() % L.nmembers];
        L.churn_acc -= 1.0;
        if (m->state != MS_READY || m->inflight || m->qlen || m->idx < 2 ||
            !m->room->posting)
            continue;
        m->state = MS_CLOSING;
        m->want_reconnect = true;
        L.ready--;
        m->state = MS_CLOSING;
        lws_callback_on_writable(m->wsi);
        /* member_write returns -1 in MS_CLOSING: lws closes it; CLOSED then
         * reconnects. CLOSED decrements ready only for MS_READY. */
    }
}

static void second_report(int64_t now)
{
    struct counters d = L.c;
    double secs = (double)(now - L.last_second_ns) / NS;
    struct proc_sample ps = {0};

    if (L.pid)
        proc_read(L.pid, &ps);
    if (ps.rss_kb > L.rss_peak_kb)
        L.rss_peak_kb = ps.rss_kb;
    if (opt.verbose)
        printf("  t=%5.1fs msgs/s %8.0f events/s %8.0f ticks/s %6.0f frames/s %7.0f "
               "posts/s %6.0f skipped %" PRIu64 " ready %d rss %" PRIu64 " KiB\n",
               (double)(now - L.win0_ns) / NS, (d.msgs - L.last_second.msgs) / secs,
               (d.events - L.last_second.events) / secs,
               (d.ticks - L.last_second.ticks) / secs,
               (d.frames - L.last_second.frames) / secs,
               (d.posts_sent - L.last_second.posts_sent) / secs, d.posts_skipped, L.ready,
               ps.rss_kb);
    L.last_second = d;
    L.last_second_ns = now;
}

static void report(void);

static void driver(lws_sorted_usec_list_t *sul)
{
    int64_t now = mono_ns();
    double in_phase = (double)(now - L.phase_ns) / NS;

    if (L.interrupted && L.phase < PH_LEAVE)
        phase_set(PH_LEAVE, now), L.phase_ns = now - (int64_t)(opt.leave_s * NS);

    switch (L.phase) {
    case PH_CONNECT:
        /* Keep connect_par handshakes in flight; retry failed connects. */
        while (L.connecting < opt.connect_par && L.next_connect < L.nmembers)
            member_connect(L.members[L.next_connect++]);
        for (int i = 0; i < L.next_connect && L.connecting < opt.connect_par; i++)
            if (L.members[i]->state == MS_IDLE)
                member_connect(L.members[i]);
        if (L.ready == L.nmembers) {
            L.t_connected = now;
            printf("websockets: %d connected and welcomed in %.2f s (%.0f/s); connect "
                   "to welcome p50 %.2f p99 %.2f max %.2f ms; %" PRIu64
                   " connect errors\n",
                   L.nmembers, (double)(now - L.t_connect0) / NS,
                   L.nmembers / ((double)(now - L.t_connect0) / NS),
                   hist_pct(&L.connect_lat, 50) / 1e3, hist_pct(&L.connect_lat, 99) / 1e3,
                   L.connect_lat.max / 1e3, L.total.connect_errors);
            if (L.pid) {
                proc_read(L.pid, &L.p_conn);
                L.rss_peak_kb = L.p_conn.rss_kb;
                printf("server RSS: %" PRIu64 " KiB before set-up, %" PRIu64
                       " KiB with the groups and sessions, %" PRIu64
                       " KiB with the connections (%.0f B per connection)\n",
                       L.p_base.rss_kb, L.p_setup.rss_kb, L.p_conn.rss_kb,
                       ((double)L.p_conn.rss_kb - (double)L.p_setup.rss_kb) * 1024 /
                           L.nmembers);
            }
            phase_set(PH_DRIVE, now);
        } else if (in_phase > 120) {
            fprintf(stderr, "connect: only %d of %d ready after 120 s\n", L.ready,
                    L.nmembers);
            phase_set(PH_LEAVE, now);
        }
        break;
    case PH_DRIVE:
        for (int i = 0; i < opt.rooms; i++)
            room_script_next(&L.rooms[i], now);
        if (L.rooms_posting == opt.rooms) {
            L.t_driven = now;
            printf("rooms: %d driven to consultation in %.2f s\n", opt.rooms, in_phase);
            phase_set(PH_WARMUP, now);
            window_open(now);
        } else if (in_phase > 60) {
            fprintf(stderr, "drive: only %d of %d rooms in consultation after 60 s\n",
                    L.rooms_posting, opt.rooms);
            phase_set(PH_LEAVE, now);
        }
        break;
    case PH_WARMUP:
    case PH_MEASURE:
        if (opt.rate > 0)
            for (int i = 0; i < opt.rooms; i++)
                room_post(&L.rooms[i], now);
        if (L.phase == PH_MEASURE && opt.churn > 0)
            churn();
        if (now - L.last_second_ns >= NS)
            second_report(now);
        if (L.phase == PH_WARMUP && in_phase >= opt.warmup_s) {
            phase_set(PH_MEASURE, now);
            window_open(now);
        } else if (L.phase == PH_MEASURE && in_phase >= opt.seconds) {
            window_close(now);
            phase_set(PH_DRAIN, now);
        }
        break;
    case PH_DRAIN:
        /* No more posts; wait for the acks and events in flight. */
        if (in_phase >= 2.0) {
            if (L.pid)
                proc_read(L.pid, &L.p_peak);
            for (int i = 0; i < L.nmembers; i++) {
                struct member *m = L.members[i];
                if (m->wsi && m->state != MS_CLOSED) {
                    m->state = MS_CLOSING;
                    lws_callback_on_writable(m->wsi);
                }
            }
            phase_set(PH_LEAVE, now);
        }
        break;
    case PH_LEAVE:
        if (L.open == 0 && in_phase >= opt.leave_s) {
            if (L.pid)
                proc_read(L.pid, &L.p_left);
            phase_set(PH_DONE, now);
        } else if (in_phase > opt.leave_s + 30) {
            fprintf(stderr, "leave: %d connections still open\n", L.open);
            phase_set(PH_DONE, now);
        }
        break;
    case PH_DONE:
        /* With libuv, lws_service() runs the loop until it is stopped:
         * report and leave from here. */
        report();
        exit(0);
    }
    lws_sul_schedule(L.ctx, 0, &L.sul, driver, LOAD_DRIVER_NS / 1000);
}

/* ---- report ---------------------------------------------------------------------- */

static void report(void)
{
    double secs = (double)(L.win1_ns - L.win0_ns) / NS;
    double gen_cpu;
    uint64_t lost = 0, dup = 0, ooo = 0, missing = 0, extra = 0, acked = 0, refused = 0;
    double srv_cpu = 0, idle_cpu = -1;
    int conns = L.nmembers;
    double rss_per_conn = 0, rss_delta_per_conn = 0;

    if (secs <= 0)
        secs = 1;
    gen_cpu = 100.0 *
              ((double)(L.ru1.ru_utime.tv_sec - L.ru0.ru_utime.tv_sec) +
               (double)(L.ru1.ru_stime.tv_sec - L.ru0.ru_stime.tv_sec) +
               ((double)(L.ru1.ru_utime.tv_usec - L.ru0.ru_utime.tv_usec) +
                (double)(L.ru1.ru_stime.tv_usec - L.ru0.ru_stime.tv_usec)) /
                   1e6) /
              secs;
    for (int i = 0; i < opt.rooms; i++) {
        struct room *r = &L.rooms[i];
        acked += r->posts_acked;
        refused += r->posts_refused;
        for (int k = 0; k < opt.members; k++) {
            struct member *m = &r->m[k];
            lost += m->lost;
            dup += m->dup;
            ooo += m->ooo;
            if (m->cards_rx < r->posts_acked)
                missing += r->posts_acked - m->cards_rx;
            else if (m->cards_rx > r->posts_acked)
                extra += m->cards_rx - r->posts_acked;
        }
    }
    if (L.pid) {
        srv_cpu = proc_cpu_pct(&L.p_win0, &L.p_win1);
        if (opt.idle_s > 0)
            idle_cpu = proc_cpu_pct(&L.p_idle0, &L.p_idle1);
        /* Connected, before any card: everything the rooms and connections
         * cost over the empty server, and the connections alone. */
        rss_per_conn = ((double)L.p_conn.rss_kb - (double)L.p_base.rss_kb) * 1024 / conns;
        rss_delta_per_conn =
            ((double)L.p_conn.rss_kb - (double)L.p_setup.rss_kb) * 1024 / conns;
    }

    printf("\n== %s: %d rooms x %d members = %d connections, %.2f cards/room/s, window "
           "%.1f s ==\n",
           opt.label, opt.rooms, opt.members, conns, opt.rate, secs);
    printf("delivered: %.0f msgs/s (%.0f events/s with seq, %.0f ticks/s, %.0f acks/s) "
           "in %.0f frames/s (%.1f msgs/frame), %.1f MB/s\n",
           L.w.msgs / secs, L.w.events / secs, L.w.ticks / secs, L.w.acks / secs,
           L.w.frames / secs, L.w.frames ? (double)L.w.msgs / L.w.frames : 0,
           L.w.bytes / secs / 1e6);
    printf("posts: %.0f/s sent, %" PRIu64 " skipped (local rate/inflight limits); run "
           "total %" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " refused\n",
           L.w.posts_sent / secs, L.w.posts_skipped, L.total.posts_sent, acked, refused);
    printf("latency (ms):\n");
    hist_print("card post->receive", &L.lat);
    hist_print_shape(&L.lat);
    hist_print("ack (journal commit)", &L.ack);
    hist_print("tick delay", &L.tick_delay);
    hist_print("tick period jitter", &L.tick_period);
    hist_print("connect->welcome", &L.connect_lat);
    if (L.reconnect_lat.count)
        hist_print("reconnect->welcome", &L.reconnect_lat);
    if (lost || missing) {
        /* Where the losses are: by member role, and how many connections. */
        printf("lost by member index:");
        for (int k = 0; k < opt.members; k++) {
            uint64_t n = 0, conns_hit = 0;
            for (int i = 0; i < opt.rooms; i++) {
                n += L.rooms[i].m[k].lost;
                conns_hit += L.rooms[i].m[k].lost > 0;
            }
            printf(" %d:%" PRIu64 "(%" PRIu64 " conns)", k, n, conns_hit);
        }
        printf("\n");
    }
    printf("integrity: lost %" PRIu64 " dup %" PRIu64 " out-of-order %" PRIu64
           " | cards missing %" PRIu64 " extra %" PRIu64 " | errors %" PRIu64
           " | closes %" PRIu64 "\n",
           lost, dup, ooo, missing, extra, L.total.errors, L.total.closes);
    printf(
        "connections: %" PRIu64 " connects, %" PRIu64 " reconnects in window (%.1f/s), "
        "%" PRIu64 " connect errors\n",
        L.total.connects, L.w.reconnects, L.w.reconnects / secs, L.total.connect_errors);
    printf("generator CPU %.1f%% of one core\n", gen_cpu);
    if (L.pid) {
        printf("server pid %d: CPU %.1f%% of one core in the window", L.pid, srv_cpu);
        if (idle_cpu >= 0)
            printf(", idle (no clients) %.2f%%", idle_cpu);
        printf("\nserver RSS (KiB): empty %" PRIu64 ", groups+sessions %" PRIu64
               ", connected %" PRIu64 ", peak %" PRIu64 ", after leave %" PRIu64
               "\n  per connection: %.0f B over the empty server (rooms included), "
               "%.0f B for the connection alone\n",
               L.p_base.rss_kb, L.p_setup.rss_kb, L.p_conn.rss_kb, L.rss_peak_kb,
               L.p_left.rss_kb, rss_per_conn, rss_delta_per_conn);
    }
    printf("SUMMARY label=%s conns=%d rooms=%d rate=%.3f msgs_s=%.0f events_s=%.0f "
           "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f tick_delay_p99_ms=%.2f "
           "tick_period_p99_ms=%.2f rss_kb=%" PRIu64 " rss_base_kb=%" PRIu64
           " rss_setup_kb=%" PRIu64 " rss_conn_kb=%" PRIu64 " rss_left_kb=%" PRIu64
           " rss_b_conn=%.0f rss_delta_b_conn=%.0f cpu=%.1f "
           "idle_cpu=%.2f gen_cpu=%.1f lost=%" PRIu64 " dup=%" PRIu64 " ooo=%" PRIu64
           " missing=%" PRIu64 " skipped=%" PRIu64 " errors=%" PRIu64 "\n",
           opt.label, conns, opt.rooms, opt.rate, L.w.msgs / secs, L.w.events / secs,
           hist_pct(&L.lat, 50) / 1e3, hist_pct(&L.lat, 99) / 1e3, L.lat.max / 1e3,
           hist_pct(&L.tick_delay, 99) / 1e3, hist_pct(&L.tick_period, 99) / 1e3,
           L.rss_peak_kb, L.p_base.rss_kb, L.p_setup.rss_kb, L.p_conn.rss_kb,
           L.p_left.rss_kb, rss_per_conn, rss_delta_per_conn, srv_cpu, idle_cpu, gen_cpu,
           lost, dup, ooo, missing, L.w.posts_skipped, L.total.errors);
}

/* ---- main ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
    L.interrupted = true;
    if (L.ctx)
        lws_cancel_service(L.ctx);
}

static void usage(void)
{
    printf("Usage: codev-load [OPTIONS]\n"
           "  --host A          server address (127.0.0.1)\n"
           "  --port N          server port (8080)\n"
           "  --rooms N         rooms (10)\n"
           "  --members N       members per room, >= 3 (8)\n"
           "  --rate X          cards per room per second (2)\n"
           "  --warmup S        seconds of posting before the window (3)\n"
           "  --seconds S       measured window (10)\n"
           "  --idle S          sample the server's CPU for S s before set-up (0)\n"
           "  --leave S         wait S s after everyone left, then read RSS (3)\n"
           "  --step-ms N       pause between scripted steps of a room (0)\n"
           "  --srcs N          spread sockets over 127.0.0.1..127.0.0.N (1)\n"
           "  --http-conns N    parallel HTTP connections for set-up (32)\n"
           "  --connect-par N   WebSocket handshakes in flight (256)\n"
           "  --churn X         reconnections per second in the window (0)\n"
           "  --pid P           server pid for /proc (default: found by port)\n"
           "  --label S         name of the run in the SUMMARY line\n"
           "  --evlib L         lws event loop: uv (epoll, default), ev or poll\n"
           "  --group-query     WebSockets on /ws?group=<id> (cluster routing)\n"
           "  -v                one line per second\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"host", 1, 0, 'H'},        {"port", 1, 0, 'p'},  {"rooms", 1, 0, 'r'},
        {"members", 1, 0, 'm'},     {"rate", 1, 0, 'R'},  {"warmup", 1, 0, 'w'},
        {"seconds", 1, 0, 's'},     {"idle", 1, 0, 'i'},  {"leave", 1, 0, 'l'},
        {"step-ms", 1, 0, 'S'},     {"srcs", 1, 0, 'a'},  {"http-conns", 1, 0, 'h'},
        {"connect-par", 1, 0, 'c'}, {"churn", 1, 0, 'C'}, {"pid", 1, 0, 'P'},
        {"label", 1, 0, 'L'},       {"evlib", 1, 0, 'E'}, {"group-query", 0, 0, 'G'},
        {"help", 0, 0, '?'},        {0, 0, 0, 0}};
    struct lws_context_creation_info info;
    struct rlimit rl;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
        switch (c) {
        case 'H':
            opt.host = optarg;
            break;
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 'r':
            opt.rooms = atoi(optarg);
            break;
        case 'm':
            opt.members = atoi(optarg);
            break;
        case 'R':
            opt.rate = atof(optarg);
            break;
        case 'w':
            opt.warmup_s = atof(optarg);
            break;
        case 's':
            opt.seconds = atof(optarg);
            break;
        case 'i':
            opt.idle_s = atof(optarg);
            break;
        case 'l':
            opt.leave_s = atof(optarg);
            break;
        case 'S':
            opt.step_ms = atoi(optarg);
            break;
        case 'a':
            opt.srcs = atoi(optarg);
            break;
        case 'h':
            opt.http_conns = atoi(optarg);
            break;
        case 'c':
            opt.connect_par = atoi(optarg);
            break;
        case 'C':
            opt.churn = atof(optarg);
            break;
        case 'P':
            opt.pid = atoi(optarg);
            break;
        case 'L':
            opt.label = optarg;
            break;
        case 'E':
            opt.evlib = optarg;
            break;
        case 'G':
            opt.group_query = true;
            break;
        case 'v':
            opt.verbose = true;
            break;
        default:
            usage();
            return c == '?' ? 0 : 2;
        }
    }
    if (opt.rooms < 1 || opt.members < 3 || opt.srcs < 1 || opt.srcs > 254 ||
        opt.http_conns < 1 || opt.connect_par < 1) {
        usage();
        return 2;
    }
    for (int i = 0; i < opt.srcs; i++)
        snprintf(src_addr[i], sizeof(src_addr[i]), "127.0.0.%d", i + 1);
    srand(12345);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    /* Our own descriptors: one per connection and a few more. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("RLIMIT_NOFILE soft %llu hard %llu\n", (unsigned long long)rl.rlim_cur,
               (unsigned long long)rl.rlim_max);
        if (rl.rlim_cur < (rlim_t)opt.rooms * opt.members + 64)
            fprintf(stderr, "warning: %d connections need more descriptors\n",
                    opt.rooms * opt.members);
    }

    L.pid = opt.pid ? opt.pid : pid_by_port(opt.port);
    if (L.pid)
        printf("server pid %d\n", L.pid);
    else
        fprintf(stderr, "server pid not found: no RSS/CPU figures\n");
    if (L.pid && opt.idle_s > 0) {
        proc_read(L.pid, &L.p_idle0);
        usleep((useconds_t)(opt.idle_s * 1e6));
        proc_read(L.pid, &L.p_idle1);
        printf("server idle (no clients): CPU %.2f%% over %.1f s\n",
               proc_cpu_pct(&L.p_idle0, &L.p_idle1), opt.idle_s);
    }
    if (L.pid)
        proc_read(L.pid, &L.p_base);

    L.rooms = calloc((size_t)opt.rooms, sizeof(*L.rooms));
    L.nmembers = opt.rooms * opt.members;
    L.members = calloc((size_t)L.nmembers, sizeof(*L.members));
    for (int i = 0; i < opt.rooms; i++) {
        struct room *r = &L.rooms[i];
        r->idx = i;
        r->m = calloc((size_t)opt.members, sizeof(*r->m));
        for (int k = 0; k < opt.members; k++) {
            r->m[k].room = r;
            r->m[k].idx = k;
            L.members[i * opt.members + k] = &r->m[k];
        }
    }
    if (http_setup()) {
        fprintf(stderr, "set-up failed\n");
        return 1;
    }
    if (L.pid)
        proc_read(L.pid, &L.p_setup);

    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* No fd_limit_per_thread: with one set, lws 4.1 finds the connection of
     * each ready descriptor by a linear search (80% of this process's CPU
     * at 18k connections); without, by index in a table sized from
     * RLIMIT_NOFILE. And no lws keep-alive timers: each is an insertion
     * in one sorted list. */
    info.retry_and_idle_policy = &no_keepalive;
    /* lws' default loop is poll(), O(connections) per wake-up; libev and
     * libuv use epoll. */
    if (strcmp(opt.evlib, "ev") == 0)
        info.options |= LWS_SERVER_OPTION_LIBEV;
    else if (strcmp(opt.evlib, "uv") == 0)
        info.options |= LWS_SERVER_OPTION_LIBUV;
    L.ctx = lws_create_context(&info);
    if (!L.ctx) {
        fprintf(stderr, "lws context failed\n");
        return 1;
    }
    L.t_connect0 = mono_ns();
    phase_set(PH_CONNECT, L.t_connect0);
    lws_sul_schedule(L.ctx, 0, &L.sul, driver, 1000);
    while (L.phase != PH_DONE)
        if (lws_service(L.ctx, 0) < 0)
            break;
    report();
    lws_context_destroy(L.ctx);
    return rc;
}
