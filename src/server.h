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

/* Creates the context and starts listening. cfg is borrowed and must
 * outlive the server. Returns NULL (after logging why) on failure. */
struct server *server_new(const struct config *cfg);

/* Serves until server_stop() is called (from a signal handler too).
 * Returns 0 on a clean stop, -1 when the loop failed. */
int server_run(struct server *s);

/* Asks server_run to return. Async-signal-safe. */
void server_stop(struct server *s);

/* Closes every connection and frees everything. server_free(NULL) is a no-op. */
void server_free(struct server *s);

#endif
