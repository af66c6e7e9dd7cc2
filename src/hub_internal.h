/*
 * hub_internal.h - what hub.c, hub_session.c and hub_creator.c share: the
 * per-creator counts (groups_per_ip, sessions_per_ip) and freeing a plan
 * item. Not for other modules. ONLY used from the lws service thread (and
 * at start-up, before it runs).
 */
#ifndef CODEV_HUB_INTERNAL_H
#define CODEV_HUB_INTERNAL_H

#include "hub.h"

/* Returns the entry of key (borrowed), or NULL: none, or key is "" or NULL. */
struct hub_creator *hub_creator_find(const struct hub *h, const char *key);

/* Adds dgroups and dsessions (each -1, 0 or +1) to key's counts, making
 * its entry when needed and freeing it when both reach zero. "" and NULL
 * count nowhere; should an entry not be allocated, nothing is counted (the
 * caps are a defence, not bookkeeping a group depends on). */
void hub_creator_count(struct hub *h, const char *key, int dgroups, int dsessions);

/* Frees every entry and the table (hub_free). */
void hub_creators_free(struct hub *h);

/* Frees p's strings (the advance comment wiped first); p's slot stays. */
void hub_plan_clear(struct hub_plan *p);

#endif
