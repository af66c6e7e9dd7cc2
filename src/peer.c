/*
 * peer.c - accepted connections: the listening sockets' wiring into the
 * loop, the counts per address, the hand-over to lws, the HTTP header
 * deadline and the once-a-second edge log.
 *
 * Invariants:
 *   - lws does not listen: listener.c does, and each accepted connection
 *     is counted (struct peer, the opaque user data of its network wsi,
 *     from peer_adopt to LWS_CALLBACK_WSI_DESTROY) against connections_max
 *     and connections_per_ip before lws gets it.
 *   - Over a limit, a connection is still accepted to be told so (a 503,
 *     or an error frame and close 1013), up to SERVER_REFUSING_MAX at once;
 *     beyond, it is closed at accept. Shed and refused connections are
 *     counted and logged one line a second at most.
 *   - The header deadline is absolute: bytes trickling in do not extend it.
 * Expected load: thousands of accepts a second at peak; O(1) per accept,
 * the sweep O(peers) once a second.
 */
#include "ratelimit.h"
#include "server_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Connections over a limit are still accepted to be told so (a 503, or an
 * error frame and close 1013), up to this many at once; beyond, they are
 * closed at accept. */
#define SERVER_REFUSING_MAX 64
#define SERVER_ACCEPT_BATCH 64 /* accepts per wake-up of a listening socket */

/* The counts of the client at address ip, created at zero when new: keyed
 * as the HTTP budgets are (rate_addr_prefix: an IPv6 address by its /64),
 * so that a host cannot pass connections_per_ip or unauth_per_ip by
 * taking another address of its own /64. Returns NULL when out of memory. */
static struct ip_count *ip_count_find(struct server *s, const char *ip)
{
    char key[RATE_ADDR_LEN];
    uint64_t h;
    struct ip_count *e;

    rate_addr_prefix(ip, key);
    h = util_fnv1a64(key);
    for (e = s->ips[h % SERVER_IP_BUCKETS]; e; e = e->next)
        if (strcmp(e->ip, key) == 0)
            return e;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->ip, sizeof(e->ip), "%s", key);
    e->next = s->ips[h % SERVER_IP_BUCKETS];
    s->ips[h % SERVER_IP_BUCKETS] = e;
    return e;
}

/* Frees e once nothing counts on it. */
void ip_count_gc(struct server *s, struct ip_count *e)
{
    if (!e || e->n || e->unauth)
        return;
    for (size_t b = 0; b < SERVER_IP_BUCKETS; b++) {
        for (struct ip_count **pp = &s->ips[b]; *pp; pp = &(*pp)->next) {
            if (*pp == e) {
                *pp = e->next;
                free(e);
                return;
            }
        }
    }
}

bool peer_client_addr(struct server *s, struct lws *wsi, char out[RATE_ADDR_LEN])
{
    char peer[RATE_ADDR_LEN] = "", xff[1024];
    int n;

    lws_get_peer_simple(wsi, peer, sizeof(peer));
    if (!rate_proxies_trusts(&s->proxies, peer)) { /* the header is not read */
        snprintf(out, RATE_ADDR_LEN, "%s", peer);
        return false;
    }
    n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if (n <= 0 || n >= (int)sizeof(xff) ||
        lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) < 0)
        return rate_client_addr(&s->proxies, peer, NULL, out);
    return rate_client_addr(&s->proxies, peer, xff, out);
}

struct ip_count *peer_client_count(struct server *s, struct lws *wsi)
{
    struct peer *p = peer_of(wsi);
    char client[RATE_ADDR_LEN];

    if (!p || !p->ip)
        return NULL;
    if (!peer_client_addr(s, wsi, client))
        return p->ip;
    return ip_count_find(s, client);
}

void peer_listen_stop(struct server *s)
{
    for (size_t i = 0; i < s->lst.nfds; i++)
        if (s->lst_wsi[i]) /* RAW_CLOSE_FILE forgets it; lws closes the socket */
            lws_set_timeout(s->lst_wsi[i], PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    for (size_t i = 0; i < s->mlst.nfds; i++)
        if (s->mlst_wsi[i])
            lws_set_timeout(s->mlst_wsi[i], PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* The peer of wsi (a WebSocket, an HTTP/2 stream or the connection itself),
 * or NULL. */
struct peer *peer_of(struct lws *wsi)
{
    struct lws *nwsi = lws_get_network_wsi(wsi);

    return nwsi ? lws_get_opaque_user_data(nwsi) : NULL;
}

void peer_set_state(struct peer *p, enum peer_state state)
{
    if (!p || p->state == PEER_UPGRADED)
        return;
    p->state = state;
    p->since_ms = server_mono_ms();
}

void peer_stream_closed(struct peer *p)
{
    if (!p || p->state != PEER_H2 || !p->streams)
        return;
    if (--p->streams == 0)
        p->since_ms = server_mono_ms(); /* idle: the header deadline again */
}

/* Forgets p: its counts go, and it is freed. */
static void peer_release(struct server *s, struct peer *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (p->in_upgraded)
        s->peers_upgraded = p->next;
    else
        s->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (p->refusing) {
        s->nrefusing--;
    } else {
        s->npeers--;
        p->ip->n--;
        ip_count_gc(s, p->ip);
    }
    free(p);
}

/* Connections closed at accept because the process was out of descriptors
 * (shed) and connections accepted over a limit (over): counted, and logged
 * one line a second at most, however fast they come. Called with nothing
 * new from the once-a-second sweep, which logs what is still counted. */
void peer_edge_log(struct server *s, int64_t mono)
{
    if (s->shed && mono - s->shed_log_ms >= 1000) {
        log_warn("out of file descriptors: %llu connections closed at accept",
                 (unsigned long long)s->shed);
        s->shed = 0;
        s->shed_log_ms = mono;
    }
    if (s->over && mono - s->over_log_ms >= 1000) {
        log_notice(
            "%llu connections refused over connections_max, connections_per_ip "
            "or unauth_per_ip (%zu connections, %zu WebSockets, %zu being refused)",
            (unsigned long long)s->over, s->npeers, s->nconns, s->nrefusing);
        s->over = 0;
        s->over_log_ms = mono;
    }
}

/* Counts the accepted connection fd from ip and hands it to lws, which
 * speaks HTTP/1, HTTP/2 and TLS on it; over connections_max or
 * connections_per_ip it is marked refusing (or closed when too many are). */
static void peer_adopt(struct server *s, int fd, const char *ip, bool metrics)
{
    struct ip_count *e = ip_count_find(s, ip);
    struct peer *p = e ? calloc(1, sizeof(*p)) : NULL;
    /* A trusted proxy carries everyone's connections: only the total caps
     * it (nginx's limit_conn caps each client). */
    bool over = s->npeers >= s->cfg->connections_max ||
                (e && e->n >= s->cfg->connections_per_ip &&
                 !rate_proxies_trusts(&s->proxies, ip));
    lws_adopt_desc_t info = {
        .vh = lws_get_vhost_by_name(s->ctx, "codevd"),
        /* The metrics port is plain HTTP, as scrapers expect, even when
         * the main port speaks TLS. */
        .type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | (metrics ? 0 : LWS_ADOPT_ALLOW_SSL),
        .fd.sockfd = fd,
    };
    struct lws *wsi;

    if (over) {
        s->over++;
        peer_edge_log(s, server_mono_ms());
    }
    if (!p || (over && s->nrefusing >= SERVER_REFUSING_MAX)) {
        close(fd);
        free(p);
        ip_count_gc(s, e);
        return;
    }
    if (over) {
        p->refusing = true;
        s->nrefusing++;
        ip_count_gc(s, e);
    } else {
        p->ip = e;
        e->n++;
        s->npeers++;
    }
    p->state = PEER_WAITING;
    p->metrics = metrics;
    p->since_ms = server_mono_ms();
    p->next = s->peers;
    if (s->peers)
        s->peers->prev = p;
    s->peers = p;
    timer_arm(s, true);
    p->adopting = true;
    s->adopting = p;
    info.opaque = p;
    wsi = lws_adopt_descriptor_vhost_via_info(&info); /* closes fd on failure */
    s->adopting = NULL;
    p->adopting = false;
    /* A failed adoption (a TLS handshake refused at once) may destroy its
     * wsi now or, on libuv, once its handle is closed: then p waits, with
     * no wsi, for that LWS_CALLBACK_WSI_DESTROY. */
    if (p->gone || (!wsi && !p->created))
        peer_release(s, p);
    else
        p->wsi = wsi;
}

/* LWS_CALLBACK_WSI_DESTROY of any wsi: when it is an accepted connection,
 * forget it. */
void peer_wsi_destroyed(struct server *s, struct lws *wsi)
{
    struct peer *p = lws_get_opaque_user_data(wsi);

    if (!p || lws_get_network_wsi(wsi) != wsi)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    if (p->adopting) {
        p->gone = true; /* peer_adopt releases it */
        return;
    }
    peer_release(s, p);
}

/* The header deadline, once a second: headers within http_header_timeout_s
 * of the connection (or of the end of its previous request). Absolute:
 * bytes trickling in do not extend it. (http_bodies_sweep keeps the body's.) */
void peer_sweep(struct server *s, int64_t mono)
{
    int64_t headers = (int64_t)s->cfg->http_header_timeout_s * 1000;

    struct peer *next;

    peer_edge_log(s, mono);
    for (struct peer *p = s->peers; p; p = next) {
        bool idle = p->state == PEER_WAITING || (p->state == PEER_H2 && !p->streams);

        next = p->next;
        if (p->state == PEER_UPGRADED) {
            /* For good (peer_set_state): out of this walk from now on. */
            if (p->prev)
                p->prev->next = p->next;
            else
                s->peers = p->next;
            if (p->next)
                p->next->prev = p->prev;
            p->prev = NULL;
            p->next = s->peers_upgraded;
            if (s->peers_upgraded)
                s->peers_upgraded->prev = p;
            s->peers_upgraded = p;
            p->in_upgraded = true;
            continue;
        }
        if (!p->wsi || !idle || mono - p->since_ms < headers)
            continue;
        if (!p->killed)
            log_info("connection from %s: no complete request in time, closing",
                     p->ip ? p->ip->ip : "(refused)");
        /* Again at every sweep until lws has closed it: on HTTP/2, lws
         * re-arms its own timeout on every frame, and a PING that came
         * before the asynchronous kill ran replaced it. */
        p->killed = true;
        lws_set_timeout(p->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

/* Whether fd is one of l's listening sockets. */
static bool peer_listener_has(const struct listener *l, int fd)
{
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i] == fd)
            return true;
    return false;
}

/* A listening socket is readable: accept what waits, a batch at a time
 * (the loop calls again while more wait). */
static void peer_accept(struct server *s, int fd)
{
    bool metrics = peer_listener_has(&s->mlst, fd);
    struct listener *l = metrics ? &s->mlst : &s->lst;
    char ip[48];
    bool shed;

    for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
        int cfd = listener_accept(l, fd, ip, sizeof(ip), &shed);
        if (cfd >= 0) {
            peer_adopt(s, cfd, ip, metrics);
        } else if (shed) {
            s->shed++;
            peer_edge_log(s, server_mono_ms());
        } else {
            break;
        }
    }
}

int peer_listen_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len)
{
    struct server *s = server_of(wsi);

    (void)user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return 1; /* not a WebSocket subprotocol */
    case LWS_CALLBACK_RAW_RX_FILE:
        if (!s->stopping)
            peer_accept(s, lws_get_socket_fd(wsi));
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        /* lws closes the socket: it is no longer ours to close. */
        for (size_t i = 0; i < s->lst.nfds; i++)
            if (s->lst_wsi[i] == wsi)
                s->lst.fds[i] = -1, s->lst_wsi[i] = NULL;
        for (size_t i = 0; i < s->mlst.nfds; i++)
            if (s->mlst_wsi[i] == wsi)
                s->mlst.fds[i] = -1, s->mlst_wsi[i] = NULL;
        return 0;
    default:
        return 0;
    }
}

/* Adds each of l's listening sockets to the loop, their wsi into wsis. */
static int peer_listener_start(struct lws_vhost *vh, struct listener *l,
                               struct lws **wsis)
{
    lws_sock_file_fd_type fd;

    for (size_t i = 0; i < l->nfds; i++) {
        fd.filefd = l->fds[i];
        wsis[i] = vh ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd,
                                                  "codev-listen", NULL)
                     : NULL;
        if (!wsis[i]) {
            log_err("cannot add the listening socket to the event loop");
            l->fds[i] = -1; /* as for the timer: whether lws closed it is not said */
            return -1;
        }
    }
    return 0;
}

/* Adds each listening socket to the loop (peer_listen_callback accepts). */
int peer_listen_start(struct server *s)
{
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "codevd");

    if (peer_listener_start(vh, &s->lst, s->lst_wsi))
        return -1;
    return peer_listener_start(vh, &s->mlst, s->mlst_wsi);
}

void peer_free_all(struct server *s)
{
    while (s->peers)
        peer_release(s, s->peers);
    while (s->peers_upgraded)
        peer_release(s, s->peers_upgraded);
    for (size_t b = 0; b < SERVER_IP_BUCKETS; b++) {
        while (s->ips[b]) {
            struct ip_count *next = s->ips[b]->next;
            free(s->ips[b]);
            s->ips[b] = next;
        }
    }
}
