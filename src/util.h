/*
 * util.h - the small helpers several modules need, written once: the FNV-1a
 * hash of a string and a strdup that passes NULL through.
 *
 * Invariants:
 *   - libc only, static inline, no state: the pure core (room.c, the rate
 *     limiter) may include it as freely as the edges.
 *   - util_fnv1a64 is the 64-bit FNV-1a (offset basis 14695981039346656037,
 *     prime 1099511628211) over the bytes of s up to its NUL; every table
 *     that hashes strings (the seen ring of commands, the group table, the
 *     rate limiter) uses it, so one figure of distribution holds for all.
 *     (The four copies it replaces had lost the basis's last digit,
 *     1469598103934665603: a valid hash still, not FNV-1a's. No hash is
 *     stored or sent, so the standard basis changes bucket placement only.)
 *   - util_strdup_or_null does not rely on POSIX strdup, which strict C11
 *     lacks (config.c keeps to C11).
 *
 * JSON helpers are not here (this header is libc only): the one
 * "string or JSON null" is proto_json_string_or_null in protocol.h.
 *
 * Expected load: a hash per command, per group look-up and per new
 * connection; a copy per owned string.
 */
#ifndef CODEV_UTIL_H
#define CODEV_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UTIL_FNV1A64_BASIS 14695981039346656037ULL
#define UTIL_FNV1A64_PRIME 1099511628211ULL

/* Returns the 64-bit FNV-1a hash of the NUL-terminated s (which must not
 * be NULL). May be 0; callers that reserve 0 map it themselves. */
static inline uint64_t util_fnv1a64(const char *s)
{
    uint64_t h = UTIL_FNV1A64_BASIS;

    while (*s)
        h = (h ^ (unsigned char)*s++) * UTIL_FNV1A64_PRIME;
    return h;
}

/* Returns a new copy of s (the caller frees it), NULL when s is NULL, and
 * NULL when out of memory: a caller that passed a non-NULL s and gets NULL
 * ran out of memory. */
static inline char *util_strdup_or_null(const char *s)
{
    size_t n;
    char *d;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

#endif
