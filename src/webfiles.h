/*
 * webfiles.h - the web client's files (web_dir), read once at start-up and
 * served from memory: each file as it is, gzip-compressed (zlib) and, when
 * codevd was built with Debian's libbrotli, brotli-compressed, each
 * representation with its own strong ETag. http.c picks the representation
 * from the request's Accept-Encoding (web_choose) and answers 304 when the
 * request's If-None-Match names it (web_etag_matches).
 *
 * Versions: the client's version is a hash of every file but index.html
 * (paths and bytes). Each file is also served at /v/<version>/<path>, and
 * index.html's href="..." and src="..." naming a file of the client are
 * rewritten to that path when loaded: relative imports and fetches then
 * stay under it, so the browser may keep every file but index.html for
 * good (immutable) and asks only for index.html again (no-cache); a new
 * version is a new path. A request under another version (a page loaded
 * before a restart) is served the current file, without the promise.
 *
 * Inline scripts: index.html may hold a few small "<script>" elements (the
 * bootstrap that must run before any file arrives); their SHA-256 hashes,
 * made at load, are what the CSP lets run (web_files_script_hashes).
 *
 * Start-up and failure policy: web_files_load() reads web_dir once, before
 * the server starts; each file is compressed at its first request
 * (web_files_get) and kept. A file past a limit below is skipped (and
 * reported), an unreadable or missing web_dir gives an empty set (every
 * file is then 404, as before), only running out of memory fails. Files added or changed
 * on disk afterwards are seen at the next start (the set is never reloaded:
 * requests hold pointers into it).
 *
 * Invariants:
 *   - A file is compressed once, at its first web_files_get(), never again:
 *     a representation, once made, stays until web_files_free().
 *   - A compressed representation is kept only when it is smaller than the
 *     file; only text types (HTML, JavaScript, CSS, JSON, SVG, text) are
 *     compressed.
 *   - The set is bounded: WEB_FILES_MAX files of at most WEB_FILE_MAX bytes,
 *     WEB_TOTAL_MAX bytes with every representation counted, WEB_DEPTH_MAX
 *     folders deep; names are [A-Za-z0-9._-] and never start with a dot.
 *   - One thread only (codevd's loop): web_files_get() fills a file's
 *     compressed representations in place, without a lock.
 *   - web_choose() and web_etag_matches() read a client's header: any
 *     bytes, any length, in linear time, without allocating.
 *
 * Expected load: a few dozen files, a few hundred kB (brotli at its best
 * quality takes about 1 ms per kB: 190 ms for the whole client, paid once
 * by the first page, not by every start); one lookup (binary search) per
 * static request.
 */
#ifndef CODEV_WEBFILES_H
#define CODEV_WEBFILES_H

#include <stdbool.h>
#include <stddef.h>

#define WEB_FILES_MAX          512
#define WEB_FILE_MAX           (4u * 1024 * 1024)
#define WEB_TOTAL_MAX          (48u * 1024 * 1024)
#define WEB_DEPTH_MAX          6
#define WEB_PATH_MAX           200 /* bytes of a served path, the leading '/' included */
#define WEB_VERSION_LEN        16  /* hex digits of the client's version */
#define WEB_INLINE_SCRIPTS_MAX 4   /* inline scripts of index.html the CSP allows */
#define WEB_SCRIPT_HASH_LEN    53  /* 'sha256-<44 base64 digits>', quotes included */

/* The representations, in order of preference when a client accepts
 * several with the same q-value (smallest first). */
enum web_enc { WEB_ENC_BR, WEB_ENC_GZIP, WEB_ENC_IDENTITY, WEB_ENC_COUNT };

struct web_rep {
    const unsigned char *data; /* NULL: this representation is not kept */
    size_t len;
    char etag[32];        /* quoted, as sent: "0123456789abcdef-gz" */
    const char *encoding; /* Content-Encoding, NULL for identity */
};

struct web_file {
    char *path;               /* "/app.js", "/i18n/fr.json" */
    const char *content_type; /* with its charset for text types */
    struct web_rep rep[WEB_ENC_COUNT];
    unsigned long long hash; /* FNV-1a 64 of the file's bytes (its ETags') */
    bool compress;           /* a text type not compressed yet */
};

struct web_files;

struct web_files_report {
    size_t files;   /* files served */
    size_t bytes;   /* their bytes as they are on disk */
    size_t skipped; /* files past a limit, of an unknown type, unreadable */
    char first_skipped[WEB_PATH_MAX + 64]; /* the first of them and why, or "" */
    bool brotli; /* brotli representations are made (built with libbrotli) */
};

/*
 * Reads every file under dir (see the limits above), makes the version
 * and rewrites index.html's links. Returns 0 and *out (free with
 * web_files_free), or -1 when out of memory (*out NULL). A missing or
 * unreadable dir gives an empty set. rep (may be NULL) says what was
 * loaded and skipped.
 */
int web_files_load(const char *dir, struct web_files **out, struct web_files_report *rep);

void web_files_free(struct web_files *w);

/* The file served at path ("/" is "/index.html", "/v/<any>/app.js" is
 * "/app.js" but index.html is never under /v/; the query is not part of
 * path), or NULL; compressed first if this is its first request.
 * *immutable (may be NULL) is set when path is under the current version:
 * the answer may be cached for good. w may be NULL (nothing is served).
 * The file stays valid until web_files_free(). */
const struct web_file *web_files_get(struct web_files *w, const char *path,
                                     bool *immutable);

/* The client's version (WEB_VERSION_LEN hex digits; "" when w is NULL). */
const char *web_files_version(const struct web_files *w);

/*
 * The Content-Security-Policy sources that let index.html's inline scripts
 * run, and nothing else: 'sha256-<base64>' of each "<script>" element with
 * no attribute (its bytes as served, up to "</script>"), space-separated,
 * for the first WEB_INLINE_SCRIPTS_MAX of them; "" when there is none or w
 * is NULL. server.c adds them to script-src. Valid until web_files_free().
 */
const char *web_files_script_hashes(const struct web_files *w);

/*
 * The representation of f to send for the request header Accept-Encoding
 * (NULL or "" when the request had none): the kept representation with the
 * highest q-value (RFC 9110 12.5.3), the smallest on a tie. A coding with
 * q=0, or a q-value that is not one (q=abc, q=2, q=-1, q=0.5.5), is not
 * acceptable. Identity is chosen when nothing else is acceptable (codevd
 * never answers 406). Always returns a kept representation.
 */
enum web_enc web_choose(const struct web_file *f, const char *accept_encoding);

/*
 * Does the request header If-None-Match (a list of entity tags, or "*")
 * name etag (quoted, as web_rep.etag)? Weak comparison (a W/ prefix is
 * ignored), as RFC 9110 13.1.2 asks. A malformed list matches nothing
 * from the malformed element on.
 */
bool web_etag_matches(const char *if_none_match, const char *etag);

#endif
