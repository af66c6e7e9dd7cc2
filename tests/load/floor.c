/* floor.c: the least a server can do for the bench kit's workload.
 *
 * A measuring stick, not a server: it speaks the kit's `ws-json` dialect
 * (see ../shared/bench-peers/peer-ws.js) with no rules, no journal, no JSON
 * library and no allocation per frame. Every room ticks once a second at the
 * phase peer-ws.js gives it, and a card is relayed to the room's members;
 * each frame is one send() per member, as in codevd and in peer-ws.js. What
 * this process costs under the kit's load generator is therefore what the
 * kernel charges a server for the sends themselves: the floor under any
 * server's CPU on the same machine.
 *
 *   cc -O2 -o floor floor.c -lcrypto
 *   taskset -c 0 ./floor PORT &
 *   taskset -c 1 loadgen -p PORT -D ws-json -R 1250 -M 8 -r 0 -d 20 -P $! -L floor
 *
 * A frame that does not fit the socket's send buffer is counted and dropped
 * (the count is printed at exit): the kit's loads never fill it, and a
 * measuring stick that queued would not be the floor any more.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
#define IN_MAX  4096
#define ROOM_MS (45 * 60 * 1000)

struct room;

struct conn {
    int fd;
    int open; /* handshake done */
    size_t inlen;
    struct room *room;
    struct conn *next, *prev; /* room members */
    char in[IN_MAX];
};

struct room {
    char name[65];
    struct conn *members;
    int64_t seq, deadline, due;
    size_t heap_at;
    struct room *hnext; /* name hash chain */
};

static struct conn *conns[MAX_FDS];
static struct room *by_name[4096];
static struct room **heap;
static size_t heap_len, heap_cap;
static unsigned long long dropped, sends;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static void heap_swap(size_t a, size_t b)
{
    struct room *t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
    heap[a]->heap_at = a;
    heap[b]->heap_at = b;
}

static void heap_down(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < heap_len && heap[l]->due < heap[m]->due)
            m = l;
        if (l + 1 < heap_len && heap[l + 1]->due < heap[m]->due)
            m = l + 1;
        if (m == i)
            return;
        heap_swap(i, m);
        i = m;
    }
}

static void heap_up(size_t i)
{
    while (i > 0 && heap[(i - 1) / 2]->due > heap[i]->due) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_remove(struct room *r)
{
    size_t i = r->heap_at;
    heap_len--;
    if (i != heap_len) {
        heap[i] = heap[heap_len];
        heap[i]->heap_at = i;
        heap_down(i);
        heap_up(i);
    }
}

/* One unmasked text frame to every member: one send() each. */
static void broadcast(struct room *r, const char *p, size_t n)
{
    char f[2048];
    size_t h = 2;
    f[0] = (char)0x81;
    if (n < 126) {
        f[1] = (char)n;
    } else {
        f[1] = 126;
        f[2] = (char)(n >> 8);
        f[3] = (char)n;
        h = 4;
    }
    memcpy(f + h, p, n);
    for (struct conn *c = r->members; c; c = c->next) {
        sends++;
        if (send(c->fd, f, h + n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(h + n))
            dropped++;
    }
}

static void tick(struct room *r, int64_t now)
{
    char b[128];
    int64_t left = r->deadline - now;
    int n =
        snprintf(b, sizeof(b), "{\"type\":\"tick\",\"ts\":%lld,\"remaining_ms\":%lld}",
                 (long long)wall_ms(), (long long)(left > 0 ? left : 0));
    broadcast(r, b, (size_t)n);
}

static void leave(struct conn *c)
{
    struct room *r = c->room;
    if (!r)
        return;
    c->room = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        r->members = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!r->members) {
        struct room **pp = &by_name[fnv(r->name) % 4096];
        while (*pp != r)
            pp = &(*pp)->hnext;
        *pp = r->hnext;
        heap_remove(r);
        free(r);
    }
}

static void join(struct conn *c, const char *name, size_t len)
{
    struct room *r;
    char key[65];
    if (len == 0 || len > 64)
        return;
    memcpy(key, name, len);
    key[len] = 0;
    leave(c);
    uint32_t h = fnv(key);
    for (r = by_name[h % 4096]; r && strcmp(r->name, key); r = r->hnext)
        ;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            abort();
        memcpy(r->name, key, len + 1);
        int64_t now = now_ms();
        r->deadline = now + ROOM_MS;
        r->due = now + h % 1000;
        r->hnext = by_name[h % 4096];
        by_name[h % 4096] = r;
        if (heap_len == heap_cap) {
            heap_cap = heap_cap ? 2 * heap_cap : 1024;
            heap = realloc(heap, heap_cap * sizeof(*heap));
            if (!heap)
                abort();
        }
        r->heap_at = heap_len;
        heap[heap_len++] = r;
        heap_up(r->heap_at);
    }
    c->room = r;
    c->prev = NULL;
    c->next = r->members;
    if (r->members)
        r->members->prev = c;
    r->members = c;
}

/* The value of "key": in a flat JSON object, as the kit's generator writes it. */
static const char *field(const char *p, size_t n, const char *key, size_t *vlen)
{
    const char *e = p + n, *s = memmem(p, n, key, strlen(key));
    if (!s)
        return NULL;
    s += strlen(key);
    if (s < e && *s == '"') {
        s++;
        const char *q = memchr(s, '"', (size_t)(e - s));
        if (!q)
            return NULL;
        *vlen = (size_t)(q - s);
        return s;
    }
    const char *q = s;
    while (q < e && (*q == '-' || (*q >= '0' && *q <= '9')))
        q++;
    *vlen = (size_t)(q - s);
    return q > s ? s : NULL;
}

static void message(struct conn *c, const char *p, size_t n)
{
    size_t tl, vl, xl;
    const char *t = field(p, n, "\"type\":", &tl), *v, *x;
    if (!t)
        return;
    if (tl == 4 && !memcmp(t, "join", 4) && (v = field(p, n, "\"room\":", &vl))) {
        join(c, v, vl);
    } else if (tl == 4 && !memcmp(t, "post", 4) && c->room &&
               (v = field(p, n, "\"ts\":", &vl)) && (x = field(p, n, "\"text\":", &xl)) &&
               xl <= 1024) {
        char b[1200];
        int k = snprintf(b, sizeof(b),
                         "{\"type\":\"card\",\"seq\":%lld,\"ts\":%.*s,\"text\":\"%.*s\"}",
                         (long long)++c->room->seq, (int)vl, v, (int)xl, x);
        broadcast(c->room, b, (size_t)k);
    }
}

static int handshake(struct conn *c)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4), *k, cat[128], resp[256];
    unsigned char sha[SHA_DIGEST_LENGTH], acc[64];
    size_t kl;
    if (!end)
        return c->inlen < IN_MAX ? 0 : -1;
    k = memmem(c->in, (size_t)(end - c->in), "Sec-WebSocket-Key: ", 19);
    if (!k)
        return -1;
    k += 19;
    kl = strcspn(k, "\r");
    if (kl > 64)
        return -1;
    memcpy(cat, k, kl);
    memcpy(cat + kl, guid, sizeof(guid) - 1);
    SHA1((unsigned char *)cat, kl + sizeof(guid) - 1, sha);
    EVP_EncodeBlock(acc, sha, SHA_DIGEST_LENGTH);
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     acc);
    if (send(c->fd, resp, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    size_t used = (size_t)(end + 4 - c->in);
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    c->open = 1;
    return 0;
}

/* Masked client frames: text is handled, close closes, the rest is skipped. */
static int frames(struct conn *c)
{
    size_t at = 0;
    while (c->inlen - at >= 6) {
        unsigned char *f = (unsigned char *)c->in + at;
        size_t len = f[1] & 0x7f, h = 2;
        if (len == 126) {
            if (c->inlen - at < 8)
                break;
            len = (size_t)f[2] << 8 | f[3];
            h = 4;
        } else if (len == 127) {
            return -1;
        }
        if (!(f[1] & 0x80))
            return -1;
        if (c->inlen - at < h + 4 + len)
            break;
        unsigned char *m = f + h, *p = f + h + 4;
        for (size_t i = 0; i < len; i++)
            p[i] ^= m[i & 3];
        if ((f[0] & 0x0f) == 8)
            return -1;
        if ((f[0] & 0x0f) == 1)
            message(c, (char *)p, len);
        at += h + 4 + len;
    }
    if (at == 0 && c->inlen == IN_MAX)
        return -1;
    memmove(c->in, c->in + at, c->inlen - at);
    c->inlen -= at;
    return 0;
}

static void drop(int ep, struct conn *c)
{
    leave(c);
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c);
}

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 9001, one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct epoll_event ev = {.events = EPOLLIN}, evs[256];
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096)) {
        perror("floor: bind/listen");
        return 1;
    }
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    fprintf(stderr, "floor listening on %d\n", port);
    while (!stop) {
        int64_t now = now_ms();
        while (heap_len && heap[0]->due <= now) {
            struct room *r = heap[0];
            tick(r, now);
            r->due += 1000;
            heap_down(0);
        }
        int wait = heap_len ? (int)(heap[0]->due - now) : -1;
        int n = epoll_wait(ep, evs, 256, wait);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int cfd;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (cfd >= MAX_FDS) {
                        close(cfd);
                        continue;
                    }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct conn *c = calloc(1, sizeof(*c));
                    if (!c)
                        abort();
                    c->fd = cfd;
                    conns[cfd] = c;
                    ev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            struct conn *c = conns[fd];
            ssize_t k = recv(fd, c->in + c->inlen, IN_MAX - c->inlen, 0);
            if (k <= 0) {
                if (k < 0 && errno == EAGAIN)
                    continue;
                drop(ep, c);
                continue;
            }
            c->inlen += (size_t)k;
            if ((!c->open && handshake(c)) || (c->open && frames(c)))
                drop(ep, c);
        }
    }
    fprintf(stderr, "floor: %llu sends, %llu dropped\n", sends, dropped);
    return 0;
}
