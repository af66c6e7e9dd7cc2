/*
 * test_util.c - the shared helpers of src/util.h: the FNV-1a hash against
 * the published test vectors, and the NULL-passing strdup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util.h"

/* The 64-bit FNV-1a vectors of the reference implementation (Landon Curt
 * Noll's test_fnv.c): "" is the offset basis itself. */
static void fnv1a64_matches_the_reference_vectors(void **state)
{
    (void)state;
    assert_true(util_fnv1a64("") == 0xcbf29ce484222325ULL);
    assert_true(util_fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(util_fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

static void fnv1a64_reads_bytes_as_unsigned(void **state)
{
    (void)state;
    /* "é" in UTF-8: bytes above 0x7f must not be sign-extended. */
    uint64_t h = 0xcbf29ce484222325ULL;
    h = (h ^ 0xc3u) * 1099511628211ULL;
    h = (h ^ 0xa9u) * 1099511628211ULL;
    assert_true(util_fnv1a64("\xc3\xa9") == h);
}

static void strdup_or_null_copies_and_passes_null(void **state)
{
    char *copy;

    (void)state;
    assert_null(util_strdup_or_null(NULL));
    copy = util_strdup_or_null("Séance");
    assert_non_null(copy);
    assert_string_equal(copy, "Séance");
    free(copy);
    copy = util_strdup_or_null("");
    assert_non_null(copy);
    assert_string_equal(copy, "");
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fnv1a64_matches_the_reference_vectors),
        cmocka_unit_test(fnv1a64_reads_bytes_as_unsigned),
        cmocka_unit_test(strdup_or_null_copies_and_passes_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
