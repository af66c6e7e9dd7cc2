/*
 * test_log.c - the log line: one event, one line, whatever text reaches it
 * (a client's path, a header lws reports).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Runs log_write(level, "%s", text) with stderr sent to a file; returns what
 * was written (a new string). */
static char *logged(const char *text)
{
    char path[] = "/tmp/codevd-test-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    char *out = calloc(1, 4096);
    FILE *f;

    assert_true(fd >= 0 && saved >= 0 && out);
    fflush(stderr);
    dup2(fd, 2);
    log_write(LOG_LEVEL_NOTICE, "request %s done", text);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    f = fdopen(fd, "r");
    assert_non_null(f);
    rewind(f);
    assert_true(fread(out, 1, 4095, f) > 0);
    fclose(f);
    unlink(path);
    return out;
}

static void control_characters_cannot_make_a_second_line(void **state)
{
    char *out = logged("/api/x\n2001-01-01T00:00:00.000Z E forged\r\x1b[2J\x7f");
    const char *nl = strchr(out, '\n');

    (void)state;
    assert_non_null(nl);
    assert_string_equal(nl + 1, ""); /* one line, ended by its own newline */
    assert_non_null(strstr(out, "request /api/x\\x0a2001-01-01T00:00:00.000Z E forged"
                                "\\x0d\\x1b[2J\\x7f done"));
    free(out);
}

static void a_line_is_key_value_pairs_and_quotes_cannot_end_msg(void **state)
{
    char *out = logged("/a\" level=error forged=\\");

    (void)state;
    assert_true(strncmp(out, "ts=", 3) == 0);
    assert_non_null(strstr(out, "Z level=notice msg=\"request /a\\\" level=error "
                                "forged=\\\\ done\"\n"));
    free(out);
}

static void a_long_line_is_cut_and_says_so(void **state)
{
    char *big = malloc(5000);
    char *out;

    (void)state;
    memset(big, 'a', 4999);
    big[4999] = '\0';
    out = logged(big);
    assert_non_null(strstr(out, "...\"\n"));
    assert_true(strlen(out) < 1100);
    free(out);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_characters_cannot_make_a_second_line),
        cmocka_unit_test(a_long_line_is_cut_and_says_so),
        cmocka_unit_test(a_line_is_key_value_pairs_and_quotes_cannot_end_msg),
    };

    log_init(LOG_LEVEL_NOTICE);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
