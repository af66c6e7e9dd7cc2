/*
 * conn.c - a WebSocket's life on the codev.v1 protocol: the upgrade (path
 * and Origin), conn_open and conn_closed, receive and reassembly, the
 * outgoing queue, the direct flush, keep-alive pings and close frames.
 * What a message means is dispatch.c's.
 *
 * Invariants:
 *   - One event is encoded once and shared by every recipient's queue
 *     (fan_queue, fanout.c). A push only marks the connection dirty; once
 *     per loop iteration, just before the loop sleeps (conn_flush_dirty),
 *     each dirty connection writes what it has, several messages as one
 *     array frame, straight to its socket. The busier the loop, the more
 *     each frame carries. Only a connection whose socket is full (lws
 *     buffered part of a frame) waits for LWS_CALLBACK_SERVER_WRITEABLE:
 *     toggling POLLOUT for every frame would cost two epoll_ctl calls per
 *     frame. An HTTP/2 stream writes only from WRITEABLE.
 *   - out_queue_frames and out_queue_bytes bound what waits for one
 *     connection; over them it is closed (4002 slow_consumer).
 *   - The pss (struct conn) is never freed here; what it points to is
 *     released in conn_closed (LWS_CALLBACK_CLOSED).
 *   - Only a pong carrying our last ping's payload proves the peer reads.
 * Expected load: thousands of connections; per frame, one lws_write.
 */
#include "server_internal.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"
#include "log.h"

/* lws_write's close-frame type is private in lws 4.1 (LWS_WRITE_CLOSE in
 * roles/ws/private-lib-roles-ws.h, 4 since lws 1.x), see conn_send_close.
 * It was checked on lws 4.1 only (the version we build and test with): on
 * another, read that header again, then widen the range here. */
/* libwebsockets.h always defines the version (lws_config.h); only a static
 * analyser that reads no system header (cppcheck) goes without. */
#if defined(LWS_LIBRARY_VERSION_NUMBER) &&                                               \
    (LWS_LIBRARY_VERSION_NUMBER < 4001000 || LWS_LIBRARY_VERSION_NUMBER >= 4002000)
#error "SERVER_WRITE_CLOSE (LWS_WRITE_CLOSE = 4) was checked on lws 4.1 only"
#endif
#define SERVER_WRITE_CLOSE    ((enum lws_write_protocol)4)
#define CLOSE_SLOW_CONSUMER   4002 /* application close codes (4000-4999) */
#define CLOSE_TRY_AGAIN_LATER 1013 /* RFC 6455 registry: try again later */
/* A message larger than one frame (a welcome) goes out as fragments of this
 * size, each copied to the scratch buffer when the socket takes it, so that
 * lws never holds more than one slice per connection (it copies what the
 * socket refuses) and the message itself stays shared. */
#define SERVER_SLICE (64 * 1024)
/* On an HTTP/2 stream (a WebSocket inside HTTP/2, RFC 8441), frames stay
 * under 4 kB: lws 4.1 lost a single 4.4 kB text frame written early on such
 * a stream (the browser never saw the welcome), while fragments of larger
 * messages went through. A bigger message goes as fragments of this size. */
#define SERVER_H2_SLICE 4000

/* The member's index in the group's current room, cached per room. */
int conn_member_idx(struct conn *c)
{
    const struct room *r = c->group ? c->group->room : NULL;

    if (c->display)
        return ROOM_PUBLIC;
    if (!r)
        return -1;
    if (c->idx_room != r) {
        c->idx_room = r;
        c->idx = room_member_find(r, c->member_id);
    }
    return c->idx;
}

/* Asks for the connection to be closed once what is queued is written. */
void conn_close_later(struct conn *c, int code, const char *reason)
{
    if (c->close_code)
        return;
    c->close_code = code;
    c->close_reason = reason;
    lws_callback_on_writable(c->wsi);
    /* A peer that does not read never makes us writable: bound the wait. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

/* Marks c for the next conn_flush_dirty. */
void conn_dirty(struct server *s, struct conn *c)
{
    if (c->dirty_at)
        return;
    if (s->ndirty == s->dirty_cap &&
        array_grow((void **)&s->dirty, &s->dirty_cap, s->ndirty + 1, sizeof(*s->dirty))) {
        lws_callback_on_writable(c->wsi); /* out of memory: the slow way */
        return;
    }
    s->dirty[s->ndirty++] = c;
    c->dirty_at = (uint32_t)s->ndirty;
}

/* Queues m on c. A connection that cannot keep up is closed: out_queue_bytes
 * bounds what waits for it, the rest of a message being written included. */
void conn_push(struct server *s, struct conn *c, struct fan_msg *m)
{
    size_t max = s->cfg->out_queue_bytes, writing = c->out ? c->out->len - c->out_off : 0;

    if (!m || c->close_code)
        return;
    if (writing >= max ||
        fan_queue_push(&c->q, m, s->cfg->out_queue_frames, max - writing)) {
        log_notice("conn %llu: slow consumer (%u frames, %zu bytes queued), closing",
                   (unsigned long long)c->id, c->q.count, c->q.bytes);
        conn_close_later(c, CLOSE_SLOW_CONSUMER, "slow_consumer");
        metrics_add(MC_SLOW_CONSUMER, 1);
        return;
    }
    metrics_add(MC_WS_MESSAGES, 1);
    conn_dirty(s, c);
}

/* Encodes j (stolen) once and queues it on one connection. */
void conn_send(struct server *s, struct conn *c, json_t *j)
{
    struct fan_msg *m;

    if (!j)
        return;
    m = fan_msg_new(j, LWS_PRE, false);
    json_decref(j);
    conn_push(s, c, m);
    fan_msg_unref(m);
}

void conn_error(struct server *s, struct conn *c, const char *id, int code)
{
    metrics_cmd_error(c, code);
    conn_send(s, c, proto_error_code_json(id, code));
}

/* Encodes j (stolen) once and queues it on every attached connection of g
 * that may see it: all when ev is NULL, else as room_event_visible says.
 * except (may be NULL) is skipped. */
void group_send(struct server *s, struct hub_group *g, json_t *j,
                const struct room_event *ev, const struct conn *except)
{
    struct fan_msg *m;

    if (!j)
        return;
    m = fan_msg_new(j, LWS_PRE, false);
    json_decref(j);
    if (!m)
        return;
    for (struct conn *c = group_conns(g); c; c = c->next) {
        if (c == except || c->owed) /* owed a view: it will hold this */
            continue;
        if (ev && !room_event_visible(g->room, ev, conn_member_idx(c)))
            continue;
        conn_push(s, c, m);
    }
    fan_msg_unref(m);
}

/* A WebSocket said hello (or closed before): it no longer counts against
 * unauth_per_ip. */
void conn_unauth_release(struct server *s, struct conn *c)
{
    if (!c->unauth)
        return;
    c->unauth = false;
    if (c->ip) {
        c->ip->unauth--;
        ip_count_gc(s, c->ip);
    }
}

/* An origin split into its parts, lower case, the port made explicit. */
struct origin {
    char scheme[8]; /* "http" or "https" */
    char host[200];
    unsigned port;
};

/* Parses the n bytes of text, "scheme://host[:port]" (full = true) or a
 * Host header "host[:port]" whose scheme is given. Returns false when it
 * is not one. */
static bool origin_parse(const char *text, size_t n, bool full, const char *scheme,
                         struct origin *o)
{
    const char *p = text, *end = text + n, *host, *colon = NULL;
    size_t hl;

    memset(o, 0, sizeof(*o));
    if (full) {
        const char *sep = memchr(p, ':', n);
        if (!sep || end - sep < 3 || sep[1] != '/' || sep[2] != '/' ||
            (size_t)(sep - p) >= sizeof(o->scheme))
            return false;
        for (size_t i = 0; i < (size_t)(sep - p); i++)
            o->scheme[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        p = sep + 3;
    } else {
        snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
    }
    if (strcmp(o->scheme, "http") != 0 && strcmp(o->scheme, "https") != 0)
        return false;
    host = p;
    if (p < end && *p == '[') { /* an IPv6 literal */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return false;
        p = close + 1;
    } else {
        while (p < end && *p != ':' && *p != '/')
            p++;
    }
    hl = (size_t)(p - host);
    if (!hl || hl >= sizeof(o->host))
        return false;
    for (size_t i = 0; i < hl; i++)
        o->host[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
    if (p < end && *p == ':') {
        char *num_end;
        unsigned long port;
        colon = p;
        port = strtoul(colon + 1, &num_end, 10);
        if (num_end == colon + 1 || num_end != end || port == 0 || port > 65535)
            return false;
        o->port = (unsigned)port;
    } else if (p != end) {
        return false; /* a path, or trailing bytes */
    } else {
        o->port = strcmp(o->scheme, "https") == 0 ? 443 : 80;
    }
    return true;
}

static bool origin_equal(const struct origin *a, const struct origin *b)
{
    return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 &&
           a->port == b->port;
}

/* Same origin: the Origin's scheme, host and port are those of the request
 * (the scheme this server speaks, the Host header). Else the configured
 * allow-list (comma-separated full origins, compared the same way). No
 * Origin header (a non-browser client) is allowed. */
static bool origin_allowed(struct server *s, struct lws *wsi)
{
    char text[256], host[256];
    const char *list = s->cfg->allowed_origins;
    const char *scheme = s->cfg->tls_cert ? "https" : "http";
    struct origin origin, want;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return true;
    if (lws_hdr_copy(wsi, text, sizeof(text), WSI_TOKEN_ORIGIN) <= 0 ||
        !origin_parse(text, strlen(text), true, NULL, &origin))
        return false;
    if (list) {
        for (const char *p = list; *p;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            while (n && *p == ' ')
                p++, n--;
            while (n && p[n - 1] == ' ')
                n--;
            if (origin_parse(p, n, true, NULL, &want) && origin_equal(&origin, &want))
                return true;
            if (!e)
                break;
            p = e + 1;
        }
        return false;
    }
    /* HTTP/2 (a WebSocket over h2, RFC 8441, as Chromium opens it over TLS)
     * carries the host in :authority. */
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0 &&
        lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HTTP_COLON_AUTHORITY) <= 0)
        return false;
    return origin_parse(host, strlen(host), false, scheme, &want) &&
           origin_equal(&origin, &want);
}

/* Fills out with a new ping payload: 8 random bytes (OpenSSL's generator,
 * which already makes the member keys) in hex, because lws validates the
 * pong's payload as UTF-8 and drops a peer that echoes raw bytes. Returns 0,
 * or -1 when the generator fails. */
static int conn_ping_payload_new(unsigned char out[SERVER_PING_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[SERVER_PING_LEN / 2];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = (unsigned char)hex[raw[i] >> 4];
        out[2 * i + 1] = (unsigned char)hex[raw[i] & 15];
    }
    return 0;
}

/* Writes what c has queued, as frames of up to SERVER_MAX_FRAME bytes,
 * until the queue is empty or lws had to keep part of a frame (the socket
 * is full: lws then asks for WRITEABLE itself, and the rest goes from
 * there). Then a due ping. Returns -1 when the connection is broken. */
static int conn_write_some(struct server *s, struct conn *c)
{
    unsigned char *data;
    struct fan_msg *hold;
    size_t len;

    while (!lws_partial_buffered(c->wsi)) {
        int n;

        if (c->out) {
            /* The next slice of a large message, as a fragment. */
            size_t left = c->out->len - c->out_off;
            size_t slice = c->direct ? SERVER_SLICE : SERVER_H2_SLICE;
            size_t k = left < slice ? left : slice;
            int flags = c->out_off ? LWS_WRITE_CONTINUATION : LWS_WRITE_TEXT;

            if (k < left)
                flags |= LWS_WRITE_NO_FIN;
            fan_msg_copy(c->out, c->out_off, s->scratch + LWS_PRE, k, LWS_PRE);
            n = lws_write(c->wsi, s->scratch + LWS_PRE, k,
                          (enum lws_write_protocol)flags);
            if (n < (int)k) {
                log_info("conn %llu: write failed", (unsigned long long)c->id);
                return -1;
            }
            metrics_frame(k);
            c->out_off += k;
            if (c->out_off == c->out->len) {
                fan_msg_unref(c->out);
                c->out = NULL;
                c->out_off = 0;
            }
            continue;
        }
        if (!fan_queue_take(&c->q, s->scratch, SERVER_SCRATCH, LWS_PRE,
                            c->direct ? SERVER_MAX_FRAME : SERVER_H2_SLICE, &data, &len,
                            &hold))
            break;
        if (!data || len > (c->direct ? SERVER_SLICE : SERVER_H2_SLICE)) {
            c->out = hold; /* spliced, or larger than a slice: in slices */
            c->out_off = 0;
            continue;
        }
        n = lws_write(c->wsi, data, len, LWS_WRITE_TEXT);
        fan_msg_unref(hold);
        if (n < (int)len) {
            log_info("conn %llu: write failed", (unsigned long long)c->id);
            return -1;
        }
        metrics_frame(len);
    }
    /* The socket is full: the stall counts from now until lws can write
     * again (conn_writeable), whatever the peer sends meanwhile. */
    if (lws_partial_buffered(c->wsi) && !c->stall_ms)
        c->stall_ms = server_mono_ms();
    /* No ping between the fragments of a message. */
    if (c->ping_due && !c->out && !lws_partial_buffered(c->wsi)) {
        /* With a payload (lws 4.1 does not report an empty pong), new for
         * each ping, so that only an answer to this ping counts. */
        unsigned char ping[LWS_PRE + SERVER_PING_LEN];
        c->ping_due = false;
        if (conn_ping_payload_new(c->ping_payload))
            return -1;
        memcpy(ping + LWS_PRE, c->ping_payload, SERVER_PING_LEN);
        c->ping_waiting = true;
        if (lws_write(c->wsi, ping + LWS_PRE, SERVER_PING_LEN, LWS_WRITE_PING) < 0)
            return -1;
    }
    return 0;
}

/* Everything queued is out: the close frame, with its code and reason. We
 * write it ourselves rather than through lws_close_reason() and a -1
 * return, which on lws 4.1's libuv loop drops the connection without the
 * frame (the client then sees 1006). The peer answers with its own close
 * (LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: then we hang up), or the timeout
 * set by conn_close_later does. */
static int conn_send_close(struct conn *c)
{
    unsigned char buf[LWS_PRE + 2 + 64];
    size_t n = strlen(c->close_reason);

    if (n > 64)
        n = 64;
    buf[LWS_PRE] = (unsigned char)(c->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, c->close_reason, n);
    c->close_sent = true;
    if (lws_write(c->wsi, buf + LWS_PRE, 2 + n, SERVER_WRITE_CLOSE) < 0)
        return -1;
    return 0;
}

/* LWS_CALLBACK_SERVER_WRITEABLE: the socket has room again, or a close was
 * asked for (conn_close_later). */
static int conn_writeable(struct server *s, struct conn *c)
{
    c->stall_ms = 0; /* the socket took what lws held: progress */
    if (c->peer_closing || c->close_sent)
        return 0;
    if (conn_write_some(s, c))
        return -1;
    if (lws_partial_buffered(c->wsi))
        return 0; /* lws calls again once its buffer is out */
    if (!fan_queue_empty(&c->q) || c->ping_due || c->out)
        lws_callback_on_writable(c->wsi);
    else if (c->close_code)
        return conn_send_close(c);
    return 0;
}

/* Once per loop iteration, before the loop sleeps: every connection that
 * got something since writes it now, in as few frames as it fits. */
void conn_flush_dirty(struct server *s)
{
    for (size_t i = 0; i < s->ndirty; i++) {
        struct conn *c = s->dirty[i];
        if (!c)
            continue; /* closed since */
        c->dirty_at = 0;
        if (c->peer_closing)
            continue;
        if (!c->direct || c->close_code || lws_partial_buffered(c->wsi)) {
            lws_callback_on_writable(c->wsi);
            continue;
        }
        if (conn_write_some(s, c)) {
            /* Not from here: lws closes it on its next pass. */
            c->peer_closing = true;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    s->ndirty = 0;
}

static int conn_receive(struct server *s, struct conn *c, const void *in, size_t len)
{
    size_t max = s->cfg->ws_max_message;
    bool last = lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi);

    c->rx_ms = server_mono_ms();
    if (c->close_code)
        return 0;
    if (lws_frame_is_binary(c->wsi))
        c->rx_binary = true;
    if (last && !c->rx_len && !c->rx_discard && !c->rx_binary && len <= max) {
        /* The usual case, a message in one piece: no copy. */
        dispatch_message(s, c, in, len);
        return 0;
    }
    if (!c->rx_discard && !c->rx_binary) {
        if (c->rx_len + len > max) {
            log_info("conn %llu: message over %zu bytes", (unsigned long long)c->id, max);
            conn_error(s, c, NULL, CODEV_E_TOO_LARGE);
            conn_close_later(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "too_large");
            c->rx_discard = true;
        } else {
            unsigned char *nb = realloc(c->rx, c->rx_len + len + 1);
            if (!nb)
                return -1;
            c->rx = nb;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!last)
        return 0;
    if (c->rx_binary)
        conn_error(s, c, NULL, CODEV_E_BINARY_FRAME);
    else if (!c->rx_discard)
        dispatch_message(s, c, (const char *)c->rx, c->rx_len);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = 0;
    c->rx_binary = c->rx_discard = false;
    return 0;
}

/* LWS_CALLBACK_ESTABLISHED: c (lws's zeroed pss) is a new WebSocket on
 * wsi. Counts it, arms the timer, and refuses it politely when it is over a
 * limit (an error frame, then close 1013; the client backs off). */
static void conn_open(struct server *s, struct conn *c, struct lws *wsi)
{
    struct peer *p = peer_of(wsi);

    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->id = ++s->next_conn_id;
    c->counted = true;
    c->rx_ms = c->open_ms = server_mono_ms();
    /* A stream inside an HTTP/2 connection may only write when lws says. */
    c->direct = lws_get_network_wsi(wsi) == wsi;
    fan_queue_init(&c->q);
    c->all_next = s->all;
    if (s->all)
        s->all->all_prev = c;
    s->all = c;
    s->nconns++;
    metrics_add(MC_WS_OPENED, 1);
    if (s->nconns > s->conns_peak)
        s->conns_peak = s->nconns;
    if (s->nconns >= 1000)
        s->busy_since_idle = true;
    timer_arm(s, true);
    c->ip = peer_client_count(s, wsi); /* behind a trusted proxy, the real client's */
    if (c->ip) {
        c->unauth = true;
        c->ip->unauth++;
    }
    log_debug("conn %llu: open (%zu connections)", (unsigned long long)c->id, s->nconns);
    /* Over a limit (its TCP connection was accepted over one, or HTTP/2
     * carries more WebSockets than allowed, or its address has too many
     * that have not said hello): say so in an error frame, then close;
     * the client backs off and tries again later. */
    if ((p && p->refusing) || s->nconns > s->cfg->connections_max ||
        (c->ip && c->ip->unauth > s->cfg->unauth_per_ip)) {
        log_debug("conn %llu: over the connection limit (%zu WebSockets, %zu "
                  "connections, %u from its address, %u without hello)",
                  (unsigned long long)c->id, s->nconns, s->npeers, c->ip ? c->ip->n : 0,
                  c->ip ? c->ip->unauth : 0);
        if (!p || !p->refusing) { /* those were counted at accept */
            s->over++;
            peer_edge_log(s, server_mono_ms());
        }
        conn_error(s, c, NULL, CODEV_E_TOO_MANY_CONNECTIONS);
        conn_close_later(c, CLOSE_TRY_AGAIN_LATER, "too_many_connections");
    }
}

/* LWS_CALLBACK_CLOSED: c goes. Out of the dirty and keep-alive lists, its
 * waits forgotten, detached from its group, its queue and buffers freed,
 * its counts released. lws frees the pss itself. */
static void conn_closed(struct server *s, struct conn *c)
{
    if (c->dirty_at) {
        s->dirty[c->dirty_at - 1] = NULL;
        c->dirty_at = 0;
    }
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else if (s->all == c)
        s->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    c->all_prev = c->all_next = NULL;
    waits_forget(&s->waits, c);
    dispatch_conn_closed(s, c);
    fan_queue_clear(&c->q);
    fan_msg_unref(c->out);
    c->out = NULL;
    free(c->rx);
    c->rx = NULL;
    if (c->counted) {
        c->counted = false;
        s->nconns--;
    }
    conn_unauth_release(s, c);
    c->ip = NULL;
    log_debug("conn %llu: closed (%zu connections)", (unsigned long long)c->id,
              s->nconns);
}

int conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct conn *c = user;
    struct server *s = server_of(wsi);
    char uri[16];

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Over HTTP/2 the path is in :path. */
        if ((lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 &&
             lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_HTTP_COLON_PATH) <= 0) ||
            strcmp(uri, "/ws") != 0)
            return 1;
        if (peer_of(wsi) && peer_of(wsi)->metrics)
            return 1; /* the metrics port serves /metrics and /readyz only */
        if (!origin_allowed(s, wsi)) {
            log_notice("websocket refused: origin not allowed");
            return 1;
        }
        if (store_cluster(s->store)) {
            /* /ws?group=<id>: a group another node holds is refused with
             * 503 (nginx tries the next node); one nobody holds is taken
             * over now, before the hello. */
            char arg[64];
            const char *gid = lws_get_urlarg_by_name(wsi, "group=", arg, sizeof(arg));
            int err = 0;
            if (gid && strlen(gid) == AUTH_UUID_LEN && !cluster_group(s, gid, &err) &&
                err != CODEV_E_UNKNOWN_GROUP) {
                lws_return_http_status(wsi,
                                       err == CODEV_E_RATE_LIMITED
                                           ? 429 /* cluster_claims_per_s */
                                           : HTTP_STATUS_SERVICE_UNAVAILABLE,
                                       NULL);
                return 1;
            }
        }
        /* Its connection has no HTTP deadline from now on (over HTTP/2 too,
         * where the WebSocket is one stream of it). */
        peer_set_state(peer_of(wsi), PEER_UPGRADED);
        return 0;

    case LWS_CALLBACK_ESTABLISHED:
        conn_open(s, c, wsi);
        return 0;

    case LWS_CALLBACK_RECEIVE:
        return conn_receive(s, c, in, len);

    case LWS_CALLBACK_RECEIVE_PONG:
        /* Liveness counts only the answer to our own last ping. */
        if (c->ping_waiting && len == SERVER_PING_LEN &&
            memcmp(in, c->ping_payload, SERVER_PING_LEN) == 0) {
            c->ping_waiting = false;
            c->rx_ms = server_mono_ms();
        }
        return 0;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c->close_sent)
            return -1;          /* the answer to our close: hang up */
        c->peer_closing = true; /* lws answers the close itself */
        return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return conn_writeable(s, c);

    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        server_woken(s);
        return 0;

    case LWS_CALLBACK_CLOSED:
        conn_closed(s, c);
        return 0;

    default:
        return 0;
    }
}
