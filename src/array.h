/*
 * array.h - the one growable-array helper, shared by the core (room.c) and
 * the edges (hub.c, store.c). libc only.
 */
#ifndef CODEV_ARRAY_H
#define CODEV_ARRAY_H

#include <stdint.h>
#include <stdlib.h>

/* Makes room in *arr (elements of elem bytes, capacity *cap) for need
 * elements, doubling the capacity from 8. Returns 0, or -1 on allocation
 * failure or overflow, leaving *arr and *cap as they were. */
static inline int array_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 8;
    void *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem)
        return -1;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

#endif
