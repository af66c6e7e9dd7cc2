/*
 * test_webfiles.c - the web client's files in memory (src/webfiles.c): the
 * shipped web-client/ loads whole, each text file gets a smaller gzip (and
 * brotli) that inflates to the same bytes, the representation follows
 * Accept-Encoding (q-values, wildcards, hostile headers), If-None-Match
 * matches per encoding, and the limits hold on a made-up folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "codevd_config.h"
#include "webfiles.h"

#ifndef CODEV_WEB_DIR
#error "CODEV_WEB_DIR must name the source tree's web-client/"
#endif

static struct web_files *shipped;

static int load_shipped(void **state)
{
    struct web_files_report rep;

    (void)state;
    if (web_files_load(CODEV_WEB_DIR, &shipped, &rep))
        return -1;
    return rep.skipped == 0 && rep.files >= 30 ? 0 : -1;
}

static int free_shipped(void **state)
{
    (void)state;
    web_files_free(shipped);
    return 0;
}

/* A file with every representation kept (app.js is text and compresses). */
static const struct web_file *app_js(void)
{
    const struct web_file *f = web_files_get(shipped, "/app.js", NULL);
    assert_non_null(f);
    return f;
}

static void the_shipped_client_loads_and_slash_is_index_html(void **state)
{
    const struct web_file *index = web_files_get(shipped, "/", NULL);

    (void)state;
    assert_non_null(index);
    assert_ptr_equal(index, web_files_get(shipped, "/index.html", NULL));
    assert_string_equal(index->content_type, "text/html; charset=utf-8");
    assert_string_equal(web_files_get(shipped, "/i18n/fr.json", NULL)->content_type,
                        "application/json");
    assert_non_null(web_files_get(shipped, "/views/room.js", NULL));
    assert_null(web_files_get(shipped, "/views/", NULL));
    assert_null(web_files_get(shipped, "/../meson.build", NULL));
    assert_null(web_files_get(shipped, "/nope.js", NULL));
    assert_null(web_files_get(shipped, "", NULL));
    assert_null(web_files_get(NULL, "/", NULL));
}

static void gzip_is_smaller_and_inflates_to_the_same_bytes(void **state)
{
    const struct web_file *f = web_files_get(shipped, "/style.css", NULL);
    const struct web_rep *id = &f->rep[WEB_ENC_IDENTITY], *gz = &f->rep[WEB_ENC_GZIP];
    unsigned char *out;
    z_stream z;

    (void)state;
    assert_non_null(gz->data);
    assert_true(gz->len < id->len / 2);
    assert_string_equal(gz->encoding, "gzip");
    out = malloc(id->len + 1);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)gz->data;
    z.avail_in = (uInt)gz->len;
    z.next_out = out;
    z.avail_out = (uInt)id->len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, id->len);
    assert_memory_equal(out, id->data, id->len);
    inflateEnd(&z);
    free(out);
    if (CODEVD_HAVE_BROTLI) {
        assert_non_null(f->rep[WEB_ENC_BR].data);
        assert_true(f->rep[WEB_ENC_BR].len < gz->len);
        assert_string_equal(f->rep[WEB_ENC_BR].encoding, "br");
    }
}

static void each_encoding_has_its_own_etag(void **state)
{
    const struct web_file *f = app_js(), *g = web_files_get(shipped, "/dom.js", NULL);

    (void)state;
    assert_string_not_equal(f->rep[WEB_ENC_IDENTITY].etag, f->rep[WEB_ENC_GZIP].etag);
    assert_string_not_equal(f->rep[WEB_ENC_IDENTITY].etag, g->rep[WEB_ENC_IDENTITY].etag);
    assert_int_equal(f->rep[WEB_ENC_IDENTITY].etag[0], '"');
    assert_null(f->rep[WEB_ENC_IDENTITY].encoding);
    if (CODEVD_HAVE_BROTLI)
        assert_string_not_equal(f->rep[WEB_ENC_BR].etag, f->rep[WEB_ENC_GZIP].etag);
}

static void accept_encoding_picks_the_best_acceptable(void **state)
{
    const struct web_file *f = app_js();
    enum web_enc best = CODEVD_HAVE_BROTLI ? WEB_ENC_BR : WEB_ENC_GZIP;

    (void)state;
    assert_int_equal(web_choose(f, NULL), WEB_ENC_IDENTITY);
    assert_int_equal(web_choose(f, ""), WEB_ENC_IDENTITY);
    assert_int_equal(web_choose(f, "gzip"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "GZip"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "x-gzip"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "gzip, deflate, br, zstd"), best);
    assert_int_equal(web_choose(f, "br;q=0.5, gzip;q=0.8"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "br;q=0, gzip"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "gzip;q=0"), WEB_ENC_IDENTITY);
    assert_int_equal(web_choose(f, "gzip ; Q=0.001"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "*"), best);
    assert_int_equal(web_choose(f, "*;q=0.3, br;q=0"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "identity, gzip;q=0.5"), WEB_ENC_IDENTITY);
    assert_int_equal(web_choose(f, "deflate"), WEB_ENC_IDENTITY);
    /* Nothing acceptable at all: identity anyway (never 406). */
    assert_int_equal(web_choose(f, "identity;q=0, *;q=0"), WEB_ENC_IDENTITY);
    /* The first mention of a coding counts. */
    assert_int_equal(web_choose(f, "gzip;q=0, gzip"), WEB_ENC_IDENTITY);
}

static void odd_q_values_are_not_acceptable(void **state)
{
    const struct web_file *f = app_js();
    static const char *const odd[] = {
        "gzip;q=abc", "gzip;q=2",     "gzip;q=-1",    "gzip;q=0.5.5",  "gzip;q=1.5",
        "gzip;q=",    "gzip;q",       "gzip;q=1e9",   "gzip;q=0.0001", "gzip;q=.5",
        "gzip;q=00",  "gzip;q=1.001", "gzip;q=\"1\"", "gzip;q=0x1",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
        if (web_choose(f, odd[i]) != WEB_ENC_IDENTITY)
            fail_msg("\"%s\" chose a compressed representation", odd[i]);
    assert_int_equal(web_choose(f, "gzip;q=1.000"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "gzip;q=0.999"), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "gzip;level=9;q=0.5"), WEB_ENC_GZIP);
}

static void hostile_headers_are_read_safely(void **state)
{
    const struct web_file *f = app_js();
    size_t n = 1 << 20;
    char *big = malloc(n + 16);

    (void)state;
    /* A megabyte of separators, of parameters, of one long token. */
    memset(big, ',', n);
    big[n] = '\0';
    assert_int_equal(web_choose(f, big), WEB_ENC_IDENTITY);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 2 ? ';' : '=';
    assert_int_equal(web_choose(f, big), WEB_ENC_IDENTITY);
    memset(big, 'g', n);
    strcpy(big + n, ", gzip");
    assert_int_equal(web_choose(f, big), WEB_ENC_GZIP);
    assert_int_equal(web_choose(f, "\x01\xff;;;q==;,,, ;q=1,\t\tgzip\t;\tq=1"),
                     WEB_ENC_GZIP);
    memset(big, '"', n);
    big[n] = '\0';
    assert_false(web_etag_matches(big, f->rep[WEB_ENC_IDENTITY].etag));
    free(big);
}

static void if_none_match_names_one_representation(void **state)
{
    const struct web_file *f = app_js();
    const char *id = f->rep[WEB_ENC_IDENTITY].etag, *gz = f->rep[WEB_ENC_GZIP].etag;
    char list[160], weak[64];

    (void)state;
    assert_true(web_etag_matches(id, id));
    assert_false(web_etag_matches(id, gz));
    assert_false(web_etag_matches(gz, id));
    snprintf(list, sizeof(list), "\"x\", %s ,\"y\"", gz);
    assert_true(web_etag_matches(list, gz));
    assert_false(web_etag_matches(list, id));
    snprintf(weak, sizeof(weak), "W/%s", id);
    assert_true(web_etag_matches(weak, id));
    assert_true(web_etag_matches("*", id));
    assert_false(web_etag_matches("", id));
    assert_false(web_etag_matches(NULL, id));
    /* Unquoted (as lws sent its tags) or cut: no match. */
    snprintf(weak, sizeof(weak), "%.*s", (int)strlen(id) - 2, id + 1);
    assert_false(web_etag_matches(weak, id));
    snprintf(weak, sizeof(weak), "%.*s", (int)strlen(id) - 1, id);
    assert_false(web_etag_matches(weak, id));
    snprintf(list, sizeof(list), "garbage %s", id);
    assert_false(web_etag_matches(list, id));
}

static void files_live_under_the_version_for_good(void **state)
{
    const char *v = web_files_version(shipped);
    const struct web_file *index = web_files_get(shipped, "/", NULL);
    char path[128], link[128];
    bool immutable = true;

    (void)state;
    assert_int_equal(strlen(v), WEB_VERSION_LEN);
    snprintf(path, sizeof(path), "/v/%s/views/room.js", v);
    assert_ptr_equal(web_files_get(shipped, path, &immutable),
                     web_files_get(shipped, "/views/room.js", NULL));
    assert_true(immutable);
    assert_non_null(web_files_get(shipped, "/views/room.js", &immutable));
    assert_false(immutable);
    /* Another version (a page from before a restart): the file, no promise. */
    assert_non_null(web_files_get(shipped, "/v/0123456789abcdef/app.js", &immutable));
    assert_false(immutable);
    assert_null(web_files_get(shipped, "/v/app.js", &immutable));
    snprintf(path, sizeof(path), "/v/%s/", v);
    assert_null(web_files_get(shipped, path, &immutable));
    snprintf(path, sizeof(path), "/v/%s/index.html", v);
    assert_null(web_files_get(shipped, path, &immutable));
    /* index.html names the files under the version, nothing else. */
    snprintf(link, sizeof(link), "src=\"v/%s/app.js\"", v);
    assert_non_null(memmem(index->rep[WEB_ENC_IDENTITY].data,
                           index->rep[WEB_ENC_IDENTITY].len, link, strlen(link)));
    assert_null(memmem(index->rep[WEB_ENC_IDENTITY].data,
                       index->rep[WEB_ENC_IDENTITY].len, "\"app.js\"", 8));
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, n, fp), n);
    fclose(fp);
}

static void only_served_names_and_types_within_the_limits_load(void **state)
{
    char dir[] = "/tmp/codev-webfiles-XXXXXX", p[512];
    struct web_files *w;
    struct web_files_report rep;
    char *big = calloc(1, WEB_FILE_MAX + 1);
    const struct web_file *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/ok.js", dir);
    write_file(p, "export const x = 1;\n", 20);
    snprintf(p, sizeof(p), "%s/tiny.svg", dir);
    write_file(p, "<svg/>", 6); /* gzip would be larger: not kept */
    snprintf(p, sizeof(p), "%s/empty.css", dir);
    write_file(p, "", 0);
    snprintf(p, sizeof(p), "%s/.hidden.js", dir);
    write_file(p, "x", 1);
    snprintf(p, sizeof(p), "%s/notes.exe", dir);
    write_file(p, "x", 1);
    snprintf(p, sizeof(p), "%s/sp ace.js", dir);
    write_file(p, "x", 1);
    snprintf(p, sizeof(p), "%s/big.js", dir);
    write_file(p, big, WEB_FILE_MAX + 1);
    snprintf(p, sizeof(p), "%s/sub", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/sub/a.json", dir);
    write_file(p, "{\"a\": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}", 55);

    snprintf(p, sizeof(p), "%s/index.html", dir);
    write_file(p, "<a href=\"ok.js\"> <b href=\"no.js\"> <i src=\"sub/a.json\">x", 55);

    assert_int_equal(web_files_load(dir, &w, &rep), 0);
    assert_int_equal(rep.files, 5);
    f = web_files_get(w, "/", NULL);
    snprintf(p, sizeof(p),
             "<a href=\"v/%s/ok.js\"> <b href=\"no.js\"> <i src=\"v/%s/sub/a.json\">x",
             web_files_version(w), web_files_version(w));
    assert_int_equal(f->rep[WEB_ENC_IDENTITY].len, strlen(p));
    assert_memory_equal(f->rep[WEB_ENC_IDENTITY].data, p, strlen(p));
    assert_int_equal(rep.skipped, 3); /* notes.exe, "sp ace.js", big.js */
    assert_non_null(web_files_get(w, "/ok.js", NULL));
    assert_null(web_files_get(w, "/.hidden.js", NULL));
    assert_null(web_files_get(w, "/big.js", NULL));
    f = web_files_get(w, "/tiny.svg", NULL);
    assert_null(f->rep[WEB_ENC_GZIP].data);
    assert_int_equal(web_choose(f, "gzip, br"), WEB_ENC_IDENTITY);
    f = web_files_get(w, "/empty.css", NULL);
    assert_int_equal(f->rep[WEB_ENC_IDENTITY].len, 0);
    assert_int_equal(web_choose(f, "gzip"), WEB_ENC_IDENTITY);
    f = web_files_get(w, "/sub/a.json", NULL);
    assert_non_null(f->rep[WEB_ENC_GZIP].data);
    web_files_free(w);

    /* A folder that is not there: an empty set, not a failure. */
    assert_int_equal(web_files_load("/nonexistent/codev", &w, &rep), 0);
    assert_int_equal(rep.files, 0);
    assert_null(web_files_get(w, "/", NULL));
    web_files_free(w);

    free(big);
    snprintf(p, sizeof(p), "rm -rf '%s'", dir);
    assert_int_equal(system(p), 0);
}

/* The CSP sources of index.html's inline scripts: the SHA-256 of each bare
 * "<script>"'s bytes, as served, for the first WEB_INLINE_SCRIPTS_MAX; a
 * script with attributes (a file) or left open gets none. */
static void inline_scripts_get_their_hash_and_no_more(void **state)
{
    char dir[] = "/tmp/codev-webfiles-XXXXXX", p[512];
    static const char html[] =
        "<script>a()</script><script src=\"ok.js\"></script><script></script>"
        "<script>x=\"<\"</script><script>a()</script><script>b()</script><script>c()";
    struct web_files *w;
    const char *shipped_hashes = web_files_script_hashes(shipped);

    (void)state;
    /* The shipped index.html: one inline script, the socket bootstrap. */
    assert_int_equal(strlen(shipped_hashes), WEB_SCRIPT_HASH_LEN);
    assert_memory_equal(shipped_hashes, "'sha256-", 8);
    assert_string_equal(web_files_script_hashes(NULL), "");

    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/ok.js", dir);
    write_file(p, "export const x = 1;\n", 20);
    snprintf(p, sizeof(p), "%s/index.html", dir);
    write_file(p, html, sizeof(html) - 1);
    assert_int_equal(web_files_load(dir, &w, NULL), 0);
    assert_string_equal(web_files_script_hashes(w),
                        "'sha256-qVpDBgj7bpq5hMAcGp3AOc79J3Y1Z4HvySTwKrWDoy4=' "
                        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' "
                        "'sha256-5KNKsUSclNP/K/AjfEsbykMRFl8jSNjyedrA6Zvqzc0=' "
                        "'sha256-qVpDBgj7bpq5hMAcGp3AOc79J3Y1Z4HvySTwKrWDoy4='");
    web_files_free(w);

    /* No index.html, or one without inline scripts: none. */
    snprintf(p, sizeof(p), "%s/index.html", dir);
    write_file(p, "<script src=\"ok.js\"></script><script>", 37);
    assert_int_equal(web_files_load(dir, &w, NULL), 0);
    assert_string_equal(web_files_script_hashes(w), "");
    web_files_free(w);
    snprintf(p, sizeof(p), "rm -rf '%s'", dir);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_shipped_client_loads_and_slash_is_index_html),
        cmocka_unit_test(gzip_is_smaller_and_inflates_to_the_same_bytes),
        cmocka_unit_test(each_encoding_has_its_own_etag),
        cmocka_unit_test(accept_encoding_picks_the_best_acceptable),
        cmocka_unit_test(odd_q_values_are_not_acceptable),
        cmocka_unit_test(hostile_headers_are_read_safely),
        cmocka_unit_test(if_none_match_names_one_representation),
        cmocka_unit_test(files_live_under_the_version_for_good),
        cmocka_unit_test(only_served_names_and_types_within_the_limits_load),
        cmocka_unit_test(inline_scripts_get_their_hash_and_no_more),
    };
    return cmocka_run_group_tests(tests, load_shipped, free_shipped);
}
