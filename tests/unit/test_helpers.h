/*
 * test_helpers.h - what several unit tests share: the settings a hub is
 * made with. Tests only; no state, no I/O.
 */
#ifndef CODEV_TEST_HELPERS_H
#define CODEV_TEST_HELPERS_H

#include "config.h"

/* Returns the settings the unit tests make a hub with: the room's text
 * limits at their defaults (1000 and 4000 characters, names of 60), 30
 * cards per step, 16 members, 100 groups, 100 sessions. Every other field
 * is zero. A test that needs another limit changes that field of its copy. */
struct config test_config(void);

#endif
