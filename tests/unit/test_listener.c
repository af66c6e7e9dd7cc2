/*
 * test_listener.c - listener.c: sockets bound exactly where asked, checked
 * with getsockname(), refused with a sentence when they cannot be, and an
 * accept that sheds a connection instead of failing forever when the
 * process is out of descriptors. Loopback only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"

/* A port free on 127.0.0.1 now. */
static uint16_t free_port(void)
{
    /* Free on every address: the wildcard (dual-stack) bind that
     * listener_open(NULL, ...) makes conflicts with any socket on that port,
     * a connected client's included, not only with a loopback listener. */
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET6, SOCK_STREAM, 0), off = 0;

    if (fd < 0) { /* no IPv6 here: the IPv4 wildcard is what listener_open binds */
        struct sockaddr_in a4 = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_ANY)};
        socklen_t len4 = sizeof(a4);

        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a4, sizeof(a4)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a4, &len4), 0);
        close(fd);
        return ntohs(a4.sin_port);
    }
    assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin6_port);
}

/* Connects to ip:port; returns the socket, or -1 with errno. */
static int connect_to(const char *ip, uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), e;

    inet_pton(AF_INET, ip, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
        return fd;
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

static void ipv4_literal_binds_that_address_only(void **state)
{
    struct listener l;
    char err[300], want[64];
    uint16_t port = free_port();
    int fd;

    (void)state;
    assert_int_equal(listener_open(&l, "127.0.0.1", port, err, sizeof(err)), 0);
    assert_int_equal(l.nfds, 1);
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_string_equal(l.bound, want);
    fd = connect_to("127.0.0.2", port);
    assert_int_equal(fd, -1);
    assert_int_equal(errno, ECONNREFUSED);
    fd = connect_to("127.0.0.1", port);
    assert_true(fd >= 0);
    close(fd);
    listener_close(&l);
}

static void address_not_on_this_host_is_refused_with_a_sentence(void **state)
{
    struct listener l;
    char err[300];

    (void)state;
    assert_int_equal(listener_open(&l, "192.0.2.1", free_port(), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "192.0.2.1"));
    assert_non_null(strstr(err, "not on this host"));
    assert_int_equal(l.nfds, 0);
}

static void busy_port_is_refused_with_a_sentence(void **state)
{
    struct listener a, b;
    char err[300];
    uint16_t port = free_port();

    (void)state;
    assert_int_equal(listener_open(&a, NULL, port, err, sizeof(err)), 0);
    assert_int_equal(listener_open(&b, "127.0.0.1", port, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "already in use"));
    listener_close(&a);
}

static void host_name_is_resolved(void **state)
{
    struct listener l;
    char err[300], want[32];
    uint16_t port = free_port();

    (void)state;
    assert_int_equal(listener_open(&l, "localhost", port, err, sizeof(err)), 0);
    assert_true(l.nfds >= 1);
    snprintf(want, sizeof(want), ":%u", port);
    assert_non_null(strstr(l.bound, want));
    listener_close(&l);
}

static void unknown_name_is_refused(void **state)
{
    struct listener l;
    char err[300];

    (void)state;
    assert_int_equal(
        listener_open(&l, "no-such-host.invalid", free_port(), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot resolve"));
}

static void out_of_descriptors_sheds_the_connection_then_recovers(void **state)
{
    struct listener l;
    struct rlimit saved, low;
    char err[300], peer[64];
    uint16_t port = free_port();
    bool shed = false;
    int client, next, fd;
    char byte;

    (void)state;
    assert_int_equal(listener_open(&l, "127.0.0.1", port, err, sizeof(err)), 0);
    assert_true(l.reserve_fd >= 0);
    client = connect_to("127.0.0.1", port); /* waits in the backlog */
    assert_true(client >= 0);
    /* No descriptor left above the ones open now. */
    next = open("/dev/null", O_RDONLY);
    close(next);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = (rlim_t)next;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    assert_int_equal(listener_accept(&l, l.fds[0], peer, sizeof(peer), &shed), -1);
    assert_true(shed);
    assert_true(l.reserve_fd >= 0); /* taken back */
    /* Nothing more waits: no shedding, no error. */
    assert_int_equal(listener_accept(&l, l.fds[0], peer, sizeof(peer), &shed), -1);
    assert_false(shed);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    /* The shed client sees its connection closed. */
    assert_true(recv(client, &byte, 1, 0) <= 0);
    close(client);
    /* With descriptors again, connections are accepted. */
    client = connect_to("127.0.0.1", port);
    fd = listener_accept(&l, l.fds[0], peer, sizeof(peer), &shed);
    assert_true(fd >= 0);
    assert_string_equal(peer, "127.0.0.1");
    close(fd);
    close(client);
    listener_close(&l);
}

/* The reserve can be lost (a thread takes the descriptor freed for the
 * accept): the next accept takes one back as soon as one is free, so that
 * the shortage after sheds instead of leaving the connection waiting (the
 * loop would wake for it again and again). */
static void a_lost_reserve_is_taken_back_at_the_next_shortage(void **state)
{
    struct listener l;
    struct rlimit saved, low;
    char err[300], peer[64];
    uint16_t port = free_port();
    bool shed = false;
    int client, next;
    char byte;

    (void)state;
    assert_int_equal(listener_open(&l, "127.0.0.1", port, err, sizeof(err)), 0);
    close(l.reserve_fd); /* lost */
    l.reserve_fd = -1;
    client = connect_to("127.0.0.1", port);
    assert_true(client >= 0);
    next = open("/dev/null", O_RDONLY);
    close(next);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = (rlim_t)next + 1; /* one free: the reserve's */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    next = open("/dev/null", O_RDONLY); /* now none */
    assert_true(next >= 0);
    /* Still none: nothing to shed with, nothing accepted. */
    assert_int_equal(listener_accept(&l, l.fds[0], peer, sizeof(peer), &shed), -1);
    assert_false(shed);
    close(next); /* one comes free */
    assert_int_equal(listener_accept(&l, l.fds[0], peer, sizeof(peer), &shed), -1);
    assert_true(shed);
    assert_true(l.reserve_fd >= 0);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_true(recv(client, &byte, 1, 0) <= 0);
    close(client);
    listener_close(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_literal_binds_that_address_only),
        cmocka_unit_test(address_not_on_this_host_is_refused_with_a_sentence),
        cmocka_unit_test(busy_port_is_refused_with_a_sentence),
        cmocka_unit_test(host_name_is_resolved),
        cmocka_unit_test(unknown_name_is_refused),
        cmocka_unit_test(out_of_descriptors_sheds_the_connection_then_recovers),
        cmocka_unit_test(a_lost_reserve_is_taken_back_at_the_next_shortage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
