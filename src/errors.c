/*
 * errors.c - names and messages of the error map (see errors.h).
 */
#include "errors.h"

#include <string.h>

struct err_entry {
    const char *name;
    const char *message;
};

static const struct err_entry err_table[] = {
#define CODEV_ERR_ROW_(name, wire, msg) {wire, msg},
    CODEV_ERRNO_MAP(CODEV_ERR_ROW_)
#undef CODEV_ERR_ROW_
};

static const struct err_entry *err_lookup(int err)
{
    int i = err - CODEV_ERR_BASE_ - 1;

    if (i < 0 || i >= (int)(sizeof(err_table) / sizeof(err_table[0])))
        return &err_table[CODEV_E_INTERNAL - CODEV_ERR_BASE_ - 1];
    return &err_table[i];
}

const char *codev_err_name(int err)
{
    return err_lookup(err)->name;
}

const char *codev_err_message(int err)
{
    return err_lookup(err)->message;
}

int codev_err_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (strcmp(err_table[i].name, name) == 0)
            return CODEV_ERR_BASE_ + 1 + (int)i;
    return 0;
}
