/*
 * server.h - the lws context: HTTP (web client + /api) and the codev.v1
 * WebSocket on one port. The only module that calls libwebsockets.
 *
 * One service thread runs everything: sockets, the HTTP API, rooms, the
 * 1 Hz tick pass. Nothing here blocks.
 */
#ifndef CODEV_SERVER_H
#define CODEV_SERVER_H

#include "config.h"

struct server;

/* Makes the config a SIGHUP reload applies: defaults, then the config
 * file, then the command line, validated. Returns 0 with out filled (the
 * caller frees it), or -1 after logging why (out then owns nothing). */
typedef int (*server_load_fn)(struct config *out, void *arg);

/* Creates the context and starts listening. cfg is borrowed and must
 * outlive the server. Returns NULL (after logging why) on failure. */
struct server *server_new(const struct config *cfg);

/* Serves until server_stop() is called (from a signal handler too).
 * Returns 0 on a clean stop, -1 when the loop failed. */
int server_run(struct server *s);

/* Asks server_run to return. Async-signal-safe. */
void server_stop(struct server *s);

/* SIGTERM: the first call drains (stop accepting, every WebSocket told to
 * reconnect with close 1001 "going_away retry_ms=N", the journal
 * committed), then server_run returns, within drain_timeout_s; a second
 * call stops at once. Async-signal-safe. */
void server_drain(struct server *s);

/* Lets SIGHUP re-read the settings: live is the config server_new was
 * given (main's, writable), load makes a fresh one (arg is its). */
void server_set_reload(struct server *s, struct config *live, server_load_fn load,
                       void *arg);

/* SIGHUP: the loop calls load and applies what may change while running
 * (config_reload: limits, log_level, allowed_origins, trusted_proxies, the
 * TLS certificate and key) without dropping anyone; a config that does
 * not load, or a certificate that does not, is refused (logged) and the
 * settings in force stay. Async-signal-safe. */
void server_reload(struct server *s);

/* Closes every connection and frees everything. server_free(NULL) is a no-op. */
void server_free(struct server *s);

#endif
