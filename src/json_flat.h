/*
 * json_flat.h - a fast reader for the usual client message: one flat JSON
 * object (strings, integers, true, false, null; no nested array or
 * object), for proto_decode.
 *
 * Contract: json_flat_load returns exactly the object json_loadb would
 * build from the same bytes (same members, values and member order), or
 * NULL when the text is anything else (nested values, \u escapes, real
 * numbers, big integers, duplicate keys, invalid UTF-8, bad JSON, out of
 * memory). NULL never means "invalid": the caller then runs json_loadb,
 * which accepts or refuses it with its own error. So the fast path can
 * only be stricter than jansson, never looser.
 * Expected load: once per client message (commands of a few hundred bytes):
 * jansson's loader spent about 30,000 instructions on a 200-byte
 * contribution_post, a quarter of the server's user time per card (issue 15).
 */
#ifndef CODEV_JSON_FLAT_H
#define CODEV_JSON_FLAT_H

#include <jansson.h>
#include <stddef.h>

/* The object in buf (len bytes, not NUL-terminated; whitespace around it
 * allowed), new reference; or NULL: let json_loadb decide. */
json_t *json_flat_load(const char *buf, size_t len);

#endif
