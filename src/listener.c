/*
 * listener.c - listening sockets bound exactly where asked, and an accept
 * that sheds load when the process is out of descriptors. See listener.h
 * for why codevd does not let libwebsockets listen.
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTENER_BACKLOG 1024

/* Writes addr as "a.b.c.d:port" or "[v6]:port". */
static void listener_addr_format(const struct sockaddr_storage *addr, char *out,
                                 size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(out, outlen, "%s:%u", ip, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(out, outlen, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
}

/* Opens one socket on addr, listening. Returns the descriptor, or -1 with
 * errno and a sentence in err. */
static int listener_bind_one(const struct sockaddr_storage *addr, socklen_t len,
                             bool dual_stack, char *err, size_t errlen)
{
    char where[INET6_ADDRSTRLEN + 16];
    int one = 1, v6only = dual_stack ? 0 : 1, e;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    listener_addr_format(addr, where, sizeof(where));
    if (fd < 0) {
        e = errno;
        snprintf(err, errlen, "cannot open a socket for %s: %s", where, strerror(e));
        errno = e;
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (addr->ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only))) {
        e = errno;
        snprintf(err, errlen, "cannot set IPV6_V6ONLY on %s: %s", where, strerror(e));
        goto fail;
    }
    if (bind(fd, (const struct sockaddr *)addr, len)) {
        e = errno;
        if (e == EADDRINUSE)
            snprintf(err, errlen, "cannot bind %s: the port is already in use", where);
        else if (e == EADDRNOTAVAIL)
            snprintf(err, errlen, "cannot bind %s: the address is not on this host",
                     where);
        else
            snprintf(err, errlen, "cannot bind %s: %s", where, strerror(e));
        goto fail;
    }
    if (listen(fd, LISTENER_BACKLOG)) {
        e = errno;
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(e));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    errno = e;
    return -1;
}

/* The addresses to bind for host: a literal, an interface's addresses, or
 * what the name resolves to. Returns how many (0 with err set when none). */
static size_t listener_resolve(const char *host, uint16_t port,
                               struct sockaddr_storage *out, socklen_t *lens, char *err,
                               size_t errlen)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out[0];
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out[0];
    char lit[INET6_ADDRSTRLEN + 2];
    struct ifaddrs *ifs, *i;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *r;
    size_t n = 0, hl = strlen(host);
    int rc;

    memset(out, 0, sizeof(*out));
    /* "[::1]" as well as "::1". */
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(lit)) {
        memcpy(lit, host + 1, hl - 2);
        lit[hl - 2] = '\0';
    } else {
        snprintf(lit, sizeof(lit), "%s", host);
    }
    if (inet_pton(AF_INET, lit, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        lens[0] = sizeof(*a4);
        return 1;
    }
    if (inet_pton(AF_INET6, lit, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        lens[0] = sizeof(*a6);
        return 1;
    }
    /* An interface name: each of its addresses. */
    if (if_nametoindex(host) && getifaddrs(&ifs) == 0) {
        for (i = ifs; i && n < LISTENER_MAX; i = i->ifa_next) {
            if (!i->ifa_addr || strcmp(i->ifa_name, host) != 0)
                continue;
            if (i->ifa_addr->sa_family == AF_INET) {
                memset(&out[n], 0, sizeof(out[n]));
                memcpy(&out[n], i->ifa_addr, sizeof(struct sockaddr_in));
                ((struct sockaddr_in *)&out[n])->sin_port = htons(port);
                lens[n++] = sizeof(struct sockaddr_in);
            } else if (i->ifa_addr->sa_family == AF_INET6) {
                memset(&out[n], 0, sizeof(out[n]));
                memcpy(&out[n], i->ifa_addr, sizeof(struct sockaddr_in6));
                ((struct sockaddr_in6 *)&out[n])->sin6_port = htons(port);
                lens[n++] = sizeof(struct sockaddr_in6);
            }
        }
        freeifaddrs(ifs);
        if (!n)
            snprintf(err, errlen, "interface %s has no IP address", host);
        return n;
    }
    /* A host name: every address it resolves to, once each. */
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
        return 0;
    }
    for (r = res; r && n < LISTENER_MAX; r = r->ai_next) {
        bool seen = false;
        if ((r->ai_family != AF_INET && r->ai_family != AF_INET6) ||
            r->ai_addrlen > sizeof(out[n]))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n], r->ai_addr, r->ai_addrlen);
        if (r->ai_family == AF_INET)
            ((struct sockaddr_in *)&out[n])->sin_port = htons(port);
        else
            ((struct sockaddr_in6 *)&out[n])->sin6_port = htons(port);
        for (size_t k = 0; k < n; k++)
            seen |= lens[k] == r->ai_addrlen && memcmp(&out[k], &out[n], lens[k]) == 0;
        if (!seen)
            lens[n++] = (socklen_t)r->ai_addrlen;
    }
    freeaddrinfo(res);
    if (!n)
        snprintf(err, errlen, "\"%s\" resolves to no IP address", host);
    return n;
}

/* Checks with getsockname() that fd is bound to want's address and port,
 * and appends it to l->bound. Returns 0 or -1 with err set. */
static int listener_verify(struct listener *l, int fd,
                           const struct sockaddr_storage *want, char *err, size_t errlen)
{
    struct sockaddr_storage got;
    socklen_t len = sizeof(got);
    char text[INET6_ADDRSTRLEN + 16], asked[INET6_ADDRSTRLEN + 16];
    size_t used = strlen(l->bound);
    bool same;

    memset(&got, 0, sizeof(got));
    if (getsockname(fd, (struct sockaddr *)&got, &len)) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        return -1;
    }
    listener_addr_format(&got, text, sizeof(text));
    listener_addr_format(want, asked, sizeof(asked));
    if (got.ss_family == AF_INET)
        same = want->ss_family == AF_INET &&
               memcmp(&((struct sockaddr_in *)&got)->sin_addr,
                      &((const struct sockaddr_in *)want)->sin_addr,
                      sizeof(struct in_addr)) == 0 &&
               ((struct sockaddr_in *)&got)->sin_port ==
                   ((const struct sockaddr_in *)want)->sin_port;
    else
        same = want->ss_family == AF_INET6 &&
               memcmp(&((struct sockaddr_in6 *)&got)->sin6_addr,
                      &((const struct sockaddr_in6 *)want)->sin6_addr,
                      sizeof(struct in6_addr)) == 0 &&
               ((struct sockaddr_in6 *)&got)->sin6_port ==
                   ((const struct sockaddr_in6 *)want)->sin6_port;
    if (!same) {
        snprintf(err, errlen, "asked to bind %s but the socket is bound to %s", asked,
                 text);
        return -1;
    }
    snprintf(l->bound + used, sizeof(l->bound) - used, "%s%s", used ? ", " : "", text);
    return 0;
}

int listener_open(struct listener *l, const char *host, uint16_t port, char *err,
                  size_t errlen)
{
    struct sockaddr_storage addrs[LISTENER_MAX];
    socklen_t lens[LISTENER_MAX];
    size_t n;
    int fd;

    memset(l, 0, sizeof(*l));
    l->reserve_fd = -1;
    for (size_t i = 0; i < LISTENER_MAX; i++)
        l->fds[i] = -1;
    if (!host || !*host) {
        /* Every interface: one dual-stack socket, else IPv4 alone. */
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addrs[0];
        struct sockaddr_in *a4 = (struct sockaddr_in *)&addrs[0];
        memset(&addrs[0], 0, sizeof(addrs[0]));
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons(port);
        fd = listener_bind_one(&addrs[0], sizeof(*a6), true, err, errlen);
        if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
            memset(&addrs[0], 0, sizeof(addrs[0]));
            a4->sin_family = AF_INET;
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
            a4->sin_port = htons(port);
            fd = listener_bind_one(&addrs[0], sizeof(*a4), false, err, errlen);
        }
        if (fd < 0)
            goto fail;
        l->fds[l->nfds++] = fd;
        if (listener_verify(l, fd, &addrs[0], err, errlen))
            goto fail;
    } else {
        n = listener_resolve(host, port, addrs, lens, err, errlen);
        if (!n)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            fd = listener_bind_one(&addrs[i], lens[i], false, err, errlen);
            if (fd < 0)
                goto fail;
            l->fds[l->nfds++] = fd;
            if (listener_verify(l, fd, &addrs[i], err, errlen))
                goto fail;
        }
    }
    l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return 0;
fail:
    listener_close(l);
    return -1;
}

int listener_accept(struct listener *l, int fd, char *peer, size_t peerlen, bool *shed)
{
    struct sockaddr_storage addr;
    socklen_t len;
    char ip[INET6_ADDRSTRLEN];
    int one = 1, cfd;

    *shed = false;
    /* The reserve can be lost: another thread may take the descriptor freed
     * for a shedding accept. Take one back at the first chance, before the
     * next shortage needs it. */
    if (l->reserve_fd < 0)
        l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (;;) {
        len = sizeof(addr);
        cfd = accept4(fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0)
            break;
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if ((errno == EMFILE || errno == ENFILE) && l->reserve_fd >= 0) {
            /* Out of descriptors: take the waiting connection with the
             * reserve and drop it, so that the loop does not wake for it
             * again and again. */
            close(l->reserve_fd);
            l->reserve_fd = -1;
            cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (cfd >= 0)
                close(cfd);
            l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            *shed = cfd >= 0;
            return -1;
        }
        return -1; /* EAGAIN, or an error that the next wake-up retries */
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (addr.ss_family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&addr)->sin6_addr))
        inet_ntop(AF_INET, &((struct sockaddr_in6 *)&addr)->sin6_addr.s6_addr[12], ip,
                  sizeof(ip));
    else if (addr.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, ip, sizeof(ip));
    else if (addr.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, ip, sizeof(ip));
    else
        snprintf(ip, sizeof(ip), "?");
    snprintf(peer, peerlen, "%s", ip);
    return cfd;
}

void listener_close(struct listener *l)
{
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
    l->nfds = 0;
    if (l->reserve_fd >= 0)
        close(l->reserve_fd);
    l->reserve_fd = -1;
}
