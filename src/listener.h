/*
 * listener.h - codevd's listening sockets, opened by us rather than by
 * libwebsockets, and the accept loop that survives running out of
 * descriptors.
 *
 * Why not lws's own listener: lws 4.1.6 binds an IPv4 literal as if it were
 * IPv6 when IPv6 is built in (the socket then listens on [::], every
 * interface), binds everywhere when the address is not on the host, binds
 * nothing for a host name (listen = localhost) while saying it listens, and
 * when accept() fails with EMFILE it logs and returns, so the level-triggered
 * loop calls it again at once: 100 % CPU and 300k log lines a second. Here:
 *   - listen is an IPv4 literal (IPv4 only), an IPv6 literal (IPv6 only,
 *     "[::1]" or "::1"), an interface name (each of its addresses) or a host
 *     name (each address it resolves to); unset = every interface (one
 *     dual-stack socket, or IPv4 when the host has no IPv6);
 *   - every bound socket is checked with getsockname() and described in
 *     `bound`, for the log;
 *   - an address that cannot be bound is an error with a sentence saying
 *     why, and nothing stays open;
 *   - one descriptor is held in reserve: when accept() finds the process
 *     out of descriptors, the reserve is closed, the waiting connection is
 *     accepted and closed at once (the peer sees a reset rather than a hang),
 *     and the reserve is taken again.
 *
 * POSIX only: no lws, no logging (the caller logs what it is told). Runs on
 * the one service thread.
 */
#ifndef CODEV_LISTENER_H
#define CODEV_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LISTENER_MAX 8 /* sockets: the addresses of one name or interface */

struct listener {
    int fds[LISTENER_MAX]; /* listening sockets, -1 when unused */
    size_t nfds;
    int reserve_fd;  /* held open for EMFILE, -1 when it could not be had */
    char bound[256]; /* "127.0.0.1:8080, [::1]:8080", from getsockname() */
};

/* Opens and binds the sockets for host (NULL or "" = every interface) and
 * port, and listens. Returns 0, or -1 with a sentence in err (and nothing
 * left open). l is overwritten. */
int listener_open(struct listener *l, const char *host, uint16_t port, char *err,
                  size_t errlen);

/* Accepts one connection on fd (one of l->fds), non-blocking and
 * close-on-exec, with Nagle off. Returns the new descriptor and fills
 * peer (the address as text, IPv4-mapped addresses as plain IPv4), or -1
 * when there is nothing more to accept now. When the process is out of
 * descriptors, the connection is accepted and closed through the reserve
 * and *shed is set (the caller counts it, and calls again). */
int listener_accept(struct listener *l, int fd, char *peer, size_t peerlen, bool *shed);

/* Closes every socket and the reserve. Safe on a zeroed or closed l. */
void listener_close(struct listener *l);

#endif
