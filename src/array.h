/*
 * array.h - the one growable-array helper, shared by the core (room.c) and
 * the edges (hub.c, store.c). libc only.
 */
#ifndef CODEV_ARRAY_H
#define CODEV_ARRAY_H

#include <stdint.h>
#include <stdlib.h>

/* Makes room in *arr (elements of elem bytes, capacity *cap) for need
 * elements, doubling the capacity from first (at least 1). Returns 0, or
 * -1 on allocation failure or overflow, leaving *arr and *cap as they
 * were. A small first suits an array that usually holds one or two
 * elements per object when there are many objects (memory per room). */
static inline int array_grow_from(void **arr, size_t *cap, size_t need, size_t elem,
                                  size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
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

/* array_grow_from with a first capacity of 8. */
static inline int array_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    return array_grow_from(arr, cap, need, elem, 8);
}

#endif
