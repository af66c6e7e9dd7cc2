/*
 * webfiles.c - the web client's files in memory, as they are and
 * precompressed (gzip, brotli when built with it), and the two header
 * readers that pick a representation: see webfiles.h for the contract.
 *
 * Invariants:
 *   - files[] is sorted by path (bsearch); each path is unique.
 *   - Every file keeps its identity representation; rep[].data is NULL for
 *     a representation not kept.
 *   - The ETag of a representation is the FNV-1a 64 of the file's bytes,
 *     plus "-gz" or "-br": the same file gives the same tags at every
 *     start, and two encodings of it never share one.
 * Expected load: one walk of web_dir per process (tens of files, some
 * hundreds of kB); each file compressed once, at its first request (brotli
 * at its best quality: about 1 ms per kB, 190 ms for the whole client,
 * which every server start would pay when most never serve a page);
 * header parsing per static request.
 */
#include "webfiles.h"

#include "codevd_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#if CODEVD_HAVE_BROTLI
#include <brotli/encode.h>
#endif

struct web_files {
    struct web_file *files;
    size_t n, cap;
    size_t total;                      /* bytes of every representation kept */
    char version[WEB_VERSION_LEN + 1]; /* of every file but index.html */
    /* 'sha256-<base64>' of each inline script of index.html, space-separated */
    char script_hashes[WEB_INLINE_SCRIPTS_MAX * (WEB_SCRIPT_HASH_LEN + 1)];
};

/* The types served; the others are skipped. */
static const struct {
    const char *ext;
    const char *type;
    bool compress;
} web_types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".json", "application/json", true},
    {".svg", "image/svg+xml", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".ico", "image/x-icon", false},
    {".png", "image/png", false},
    {".webp", "image/webp", false},
    {".woff2", "font/woff2", false},
};

static void web_skip(struct web_files_report *rep, const char *path, const char *why)
{
    if (!rep)
        return;
    if (!rep->skipped)
        snprintf(rep->first_skipped, sizeof(rep->first_skipped), "%s (%s)", path, why);
    rep->skipped++;
}

/* A name we serve: [A-Za-z0-9._-]+, not starting with a dot. */
static bool web_name_ok(const char *name)
{
    if (!name[0] || name[0] == '.')
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
            return false;
    return true;
}

static int web_type_of(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++) {
        size_t e = strlen(web_types[i].ext);
        if (n > e && strcmp(name + n - e, web_types[i].ext) == 0)
            return (int)i;
    }
    return -1;
}

static uint64_t web_fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Reads the regular file fd of size n (at most WEB_FILE_MAX) whole.
 * Returns a malloc'd buffer (at least 1 byte), or NULL. */
static unsigned char *web_read_all(int fd, size_t n)
{
    unsigned char *buf = malloc(n ? n : 1);
    size_t got = 0;

    if (!buf)
        return NULL;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) { /* shrank under us, or an error */
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    return buf;
}

/* gzip of in (deterministic: zlib's default header carries no time).
 * Returns a malloc'd buffer and *out_len, or NULL. */
static unsigned char *web_gzip(const unsigned char *in, size_t n, size_t *out_len)
{
    z_stream z;
    unsigned char *out;
    uLong bound;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    bound = deflateBound(&z, (uLong)n) + 32;
    out = malloc(bound);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        free(out);
        return NULL;
    }
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

#if CODEVD_HAVE_BROTLI
static unsigned char *web_brotli(const unsigned char *in, size_t n, size_t *out_len)
{
    size_t bound = BrotliEncoderMaxCompressedSize(n);
    unsigned char *out;

    if (!bound)
        return NULL;
    out = malloc(bound);
    if (!out)
        return NULL;
    *out_len = bound;
    if (!BrotliEncoderCompress(BROTLI_MAX_QUALITY, BROTLI_DEFAULT_WINDOW,
                               BROTLI_MODE_TEXT, n, in, out_len, out)) {
        free(out);
        return NULL;
    }
    return out;
}
#endif

/* Keeps data (taken) as representation e of f, or frees it when it is not
 * smaller than the file or would pass WEB_TOTAL_MAX. */
static void web_keep(struct web_files *w, struct web_file *f, enum web_enc e,
                     unsigned char *data, size_t len, uint64_t hash)
{
    static const char *const suffix[WEB_ENC_COUNT] = {"-br", "-gz", ""};
    static const char *const coding[WEB_ENC_COUNT] = {"br", "gzip", NULL};

    if (!data)
        return;
    if ((e != WEB_ENC_IDENTITY && len >= f->rep[WEB_ENC_IDENTITY].len) ||
        len > WEB_TOTAL_MAX - w->total) {
        free(data);
        return;
    }
    f->rep[e].data = data;
    f->rep[e].len = len;
    f->rep[e].encoding = coding[e];
    snprintf(f->rep[e].etag, sizeof(f->rep[e].etag), "\"%016llx%s\"",
             (unsigned long long)hash, suffix[e]);
    w->total += len;
}

static struct web_file *web_files_find(struct web_files *w, const char *path);
static void web_script_hashes(struct web_files *w, const struct web_file *index);

/* "href=\"" or "src=\"" starts at p (after a space): the value's offset. */
static size_t web_attr_at(const unsigned char *p, size_t left)
{
    if (left > 6 && memcmp(p, "href=\"", 6) == 0)
        return 6;
    if (left > 5 && memcmp(p, "src=\"", 5) == 0)
        return 5;
    return 0;
}

/* The version of the client (every file but index.html, by path and
 * content), then index.html's links to files of the client rewritten to
 * their versioned path: href="app.js" -> href="v/<version>/app.js". A
 * failure (out of memory, past WEB_TOTAL_MAX) leaves index.html as it is. */
static void web_version(struct web_files *w)
{
    uint64_t h = 0xcbf29ce484222325ull;
    struct web_file *index = NULL;
    const unsigned char *in;
    unsigned char *out, *o;
    size_t n = 0, cap;

    for (size_t i = 0; i < w->n; i++) {
        const struct web_file *f = &w->files[i];
        unsigned char bytes[8];
        if (strcmp(f->path, "/index.html") == 0) {
            index = &w->files[i];
            continue;
        }
        for (size_t c = 0; c <= strlen(f->path); c++) /* the NUL too */
            h = (h ^ (unsigned char)f->path[c]) * 0x100000001b3ull;
        for (int b = 0; b < 8; b++)
            bytes[b] = (unsigned char)(f->hash >> (8 * b));
        for (int b = 0; b < 8; b++)
            h = (h ^ bytes[b]) * 0x100000001b3ull;
    }
    snprintf(w->version, sizeof(w->version), "%016llx", (unsigned long long)h);
    if (!index)
        return;
    in = index->rep[WEB_ENC_IDENTITY].data;
    n = index->rep[WEB_ENC_IDENTITY].len;
    cap = n + (n / 5 + 1) * (WEB_VERSION_LEN + 3); /* at most one link per 5 bytes */
    if (cap > WEB_TOTAL_MAX - w->total || !(out = malloc(cap))) {
        web_script_hashes(w, index);
        return;
    }
    o = out;
    for (size_t i = 0; i < n;) {
        size_t at =
            (i > 0 && (in[i - 1] == ' ' || in[i - 1] == '\n' || in[i - 1] == '\t'))
                ? web_attr_at(in + i, n - i)
                : 0;
        const unsigned char *v, *q;
        char path[WEB_PATH_MAX + 1];

        if (!at) {
            *o++ = in[i++];
            continue;
        }
        memcpy(o, in + i, at);
        o += at;
        i += at;
        v = in + i;
        q = memchr(v, '"', n - i);
        if (q && (size_t)(q - v) < sizeof(path) - 1 && q > v && v[0] != '/') {
            snprintf(path, sizeof(path), "/%.*s", (int)(q - v), (const char *)v);
            if (strcmp(path, "/index.html") != 0 && web_files_find(w, path))
                o += sprintf((char *)o, "v/%s/", w->version);
        }
    }
    free((void *)(uintptr_t)in);
    w->total += (size_t)(o - out) - n;
    index->hash = web_fnv1a(out, (size_t)(o - out));
    index->rep[WEB_ENC_IDENTITY].data = out;
    index->rep[WEB_ENC_IDENTITY].len = (size_t)(o - out);
    snprintf(index->rep[WEB_ENC_IDENTITY].etag, sizeof(index->rep[0].etag), "\"%016llx\"",
             index->hash);
    web_script_hashes(w, index);
}

/* The CSP source of each inline script of index.html (a "<script>" with no
 * attribute, up to its "</script>"), as served: 'sha256-<base64>', the
 * first WEB_INLINE_SCRIPTS_MAX of them; the others get none (the browser
 * then refuses to run them, and says so in its console). */
static void web_script_hashes(struct web_files *w, const struct web_file *index)
{
    static const char open_tag[] = "<script>", close_tag[] = "</script>";
    const unsigned char *p = index->rep[WEB_ENC_IDENTITY].data;
    size_t left = index->rep[WEB_ENC_IDENTITY].len, used = 0;

    for (int n = 0; n < WEB_INLINE_SCRIPTS_MAX; n++) {
        const unsigned char *body, *end;
        unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
        unsigned int mdlen = 0;

        body = memmem(p, left, open_tag, sizeof(open_tag) - 1);
        if (!body)
            return;
        body += sizeof(open_tag) - 1;
        left -= (size_t)(body - p);
        end = memmem(body, left, close_tag, sizeof(close_tag) - 1);
        if (!end ||
            !EVP_Digest(body, (size_t)(end - body), md, &mdlen, EVP_sha256(), NULL) ||
            EVP_EncodeBlock(b64, md, (int)mdlen) != WEB_SCRIPT_HASH_LEN - 9)
            return;
        used += (size_t)snprintf(w->script_hashes + used, sizeof(w->script_hashes) - used,
                                 "%s'sha256-%s'", used ? " " : "", (const char *)b64);
        left -= (size_t)(end - body);
        p = end;
    }
}

static void web_file_clear(struct web_file *f)
{
    free(f->path);
    for (int e = 0; e < WEB_ENC_COUNT; e++)
        free((void *)(uintptr_t)f->rep[e].data);
    memset(f, 0, sizeof(*f));
}

/* Adds the file at fs (served at path). Returns 0 (added or skipped) or -1
 * when out of memory. */
static int web_add(struct web_files *w, const char *fs, const char *path, int type,
                   struct web_files_report *rep)
{
    struct web_file f;
    struct stat st;
    unsigned char *data;
    int fd;

    if (w->n >= WEB_FILES_MAX) {
        web_skip(rep, path, "more than WEB_FILES_MAX files");
        return 0;
    }
    fd = open(fs, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        web_skip(rep, path, "unreadable");
        return 0;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)WEB_FILE_MAX ||
        (size_t)st.st_size > WEB_TOTAL_MAX - w->total) {
        close(fd);
        web_skip(rep, path, "not a regular file, or past WEB_FILE_MAX or WEB_TOTAL_MAX");
        return 0;
    }
    data = web_read_all(fd, (size_t)st.st_size);
    close(fd);
    if (!data) {
        web_skip(rep, path, "unreadable");
        return 0;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        struct web_file *nf = realloc(w->files, cap * sizeof(*nf));
        if (!nf) {
            free(data);
            return -1;
        }
        w->files = nf;
        w->cap = cap;
    }
    memset(&f, 0, sizeof(f));
    f.path = strdup(path);
    if (!f.path) {
        free(data);
        return -1;
    }
    f.content_type = web_types[type].type;
    f.compress = web_types[type].compress && st.st_size > 0;
    f.hash = web_fnv1a(data, (size_t)st.st_size);
    web_keep(w, &f, WEB_ENC_IDENTITY, data, (size_t)st.st_size, f.hash);
    w->files[w->n++] = f;
    if (rep) {
        rep->files++;
        rep->bytes += f.rep[WEB_ENC_IDENTITY].len;
    }
    return 0;
}

/* Compresses f, once: gzip, then brotli when built with it. */
static void web_compress(struct web_files *w, struct web_file *f)
{
    const struct web_rep *id = &f->rep[WEB_ENC_IDENTITY];
    unsigned char *z;
    size_t len = 0;

    if (!f->compress)
        return;
    f->compress = false;
    z = web_gzip(id->data, id->len, &len);
    web_keep(w, f, WEB_ENC_GZIP, z, len, f->hash);
#if CODEVD_HAVE_BROTLI
    z = web_brotli(id->data, id->len, &len);
    web_keep(w, f, WEB_ENC_BR, z, len, f->hash);
#endif
}

/* Walks the folder fs (served under prefix, "" for the root). */
static int web_walk(struct web_files *w, const char *fs, const char *prefix, int depth,
                    struct web_files_report *rep)
{
    DIR *d = opendir(fs);
    struct dirent *e;
    int rc = 0;

    if (!d) {
        web_skip(rep, prefix[0] ? prefix : "/", "folder unreadable");
        return 0;
    }
    while (!rc && (e = readdir(d))) {
        char child[4096], path[WEB_PATH_MAX + 64];
        struct stat st;
        int type;

        if (e->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        snprintf(path, sizeof(path), "%s/%s", prefix, e->d_name);
        if (!web_name_ok(e->d_name) || strlen(path) >= WEB_PATH_MAX) {
            web_skip(rep, path, "name not served");
            continue;
        }
        if ((size_t)snprintf(child, sizeof(child), "%s/%s", fs, e->d_name) >=
                sizeof(child) ||
            stat(child, &st)) {
            web_skip(rep, path, "unreadable");
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 >= WEB_DEPTH_MAX)
                web_skip(rep, path, "past WEB_DEPTH_MAX");
            else
                rc = web_walk(w, child, path, depth + 1, rep);
            continue;
        }
        type = web_type_of(e->d_name);
        if (type < 0) {
            web_skip(rep, path, "type not served");
            continue;
        }
        rc = web_add(w, child, path, type, rep);
    }
    closedir(d);
    return rc;
}

static int web_path_cmp(const void *a, const void *b)
{
    return strcmp(((const struct web_file *)a)->path, ((const struct web_file *)b)->path);
}

int web_files_load(const char *dir, struct web_files **out, struct web_files_report *rep)
{
    struct web_files *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (rep) {
        memset(rep, 0, sizeof(*rep));
        rep->brotli = CODEVD_HAVE_BROTLI;
    }
    if (!w)
        return -1;
    if (web_walk(w, dir, "", 0, rep)) {
        web_files_free(w);
        return -1;
    }
    if (w->n)
        qsort(w->files, w->n, sizeof(w->files[0]), web_path_cmp);
    web_version(w);
    *out = w;
    return 0;
}

void web_files_free(struct web_files *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        web_file_clear(&w->files[i]);
    free(w->files);
    free(w);
}

static struct web_file *web_files_find(struct web_files *w, const char *path)
{
    struct web_file key = {0};

    if (!w || !w->n || !path)
        return NULL;
    key.path = (char *)(uintptr_t)(strcmp(path, "/") == 0 ? "/index.html" : path);
    return bsearch(&key, w->files, w->n, sizeof(w->files[0]), web_path_cmp);
}

const struct web_file *web_files_get(struct web_files *w, const char *path,
                                     bool *immutable)
{
    struct web_file *f;

    if (immutable)
        *immutable = false;
    if (path && strncmp(path, "/v/", 3) == 0) { /* /v/<version>/app.js */
        const char *slash = strchr(path + 3, '/');
        if (!slash)
            return NULL;
        if (strcmp(slash, "/") == 0 || strcmp(slash, "/index.html") == 0)
            return NULL; /* index.html names the version: never under one */
        if (immutable && w && slash - (path + 3) == WEB_VERSION_LEN &&
            memcmp(path + 3, w->version, WEB_VERSION_LEN) == 0)
            *immutable = true;
        path = slash;
    }
    f = web_files_find(w, path);

    if (f)
        web_compress(w, f);
    return f;
}

const char *web_files_version(const struct web_files *w)
{
    return w ? w->version : "";
}

const char *web_files_script_hashes(const struct web_files *w)
{
    return w ? w->script_hashes : "";
}

static bool web_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110 12.4.2: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]) in
 * thousandths, or -1 when s[0..n) is not one. */
static int web_qvalue(const char *s, size_t n)
{
    int v = 0;

    if (n == 0 || (s[0] != '0' && s[0] != '1') || (n > 1 && s[1] != '.') || n > 5)
        return -1;
    for (size_t i = 2; i < 5; i++) {
        int d = 0;
        if (i < n) {
            if (s[i] < '0' || s[i] > '9' || (s[0] == '1' && s[i] != '0'))
                return -1;
            d = s[i] - '0';
        }
        v = v * 10 + d;
    }
    return s[0] == '1' ? 1000 : v;
}

static bool web_token_is(const char *t, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(t, name, n) == 0;
}

enum web_enc web_choose(const struct web_file *f, const char *accept_encoding)
{
    /* q in thousandths per coding: br, gzip, identity, and "*"; -1 unlisted */
    int q[WEB_ENC_COUNT + 1] = {-1, -1, -1, -1}, best_q = 0;
    enum web_enc best = WEB_ENC_IDENTITY;
    const char *p = accept_encoding ? accept_encoding : "";

    while (*p) {
        const char *tok;
        size_t toklen;
        int v = 1000, cls = -1;

        while (web_ows(*p) || *p == ',')
            p++;
        if (!*p)
            break;
        tok = p;
        while (*p && *p != ',' && *p != ';' && !web_ows(*p))
            p++;
        toklen = (size_t)(p - tok);
        for (;;) { /* parameters: only q counts */
            const char *name, *val = NULL;
            size_t nlen, vlen = 0;
            while (web_ows(*p))
                p++;
            if (*p != ';')
                break;
            p++;
            while (web_ows(*p))
                p++;
            name = p;
            while (*p && *p != '=' && *p != ',' && *p != ';' && !web_ows(*p))
                p++;
            nlen = (size_t)(p - name);
            if (*p == '=') {
                val = ++p;
                while (*p && *p != ',' && *p != ';' && !web_ows(*p))
                    p++;
                vlen = (size_t)(p - val);
            }
            if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q')) {
                v = val ? web_qvalue(val, vlen) : -1;
                if (v < 0)
                    v = 0; /* not a qvalue: not acceptable */
            }
        }
        while (*p && *p != ',') /* whatever else the element holds */
            p++;
        if (web_token_is(tok, toklen, "br"))
            cls = WEB_ENC_BR;
        else if (web_token_is(tok, toklen, "gzip") || web_token_is(tok, toklen, "x-gzip"))
            cls = WEB_ENC_GZIP;
        else if (web_token_is(tok, toklen, "identity"))
            cls = WEB_ENC_IDENTITY;
        else if (web_token_is(tok, toklen, "*"))
            cls = WEB_ENC_COUNT;
        if (cls >= 0 && q[cls] < 0) /* the first mention counts */
            q[cls] = v;
    }
    for (int e = 0; e < WEB_ENC_COUNT; e++) {
        int qe = q[e];
        if (qe < 0 && e == WEB_ENC_IDENTITY)
            /* acceptable unless "*;q=0" says otherwise; the least preferred */
            qe = q[WEB_ENC_COUNT] == 0 ? 0 : 1;
        else if (qe < 0)
            qe = q[WEB_ENC_COUNT] > 0 ? q[WEB_ENC_COUNT] : 0;
        if (f->rep[e].data && qe > best_q) {
            best_q = qe;
            best = (enum web_enc)e;
        }
    }
    return best;
}

bool web_etag_matches(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t elen = strlen(etag);

    if (!p)
        return false;
    for (;;) {
        const char *start;

        while (web_ows(*p) || *p == ',')
            p++;
        if (!*p)
            return false;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return false;
        start = p++;
        while (*p && *p != '"')
            p++;
        if (*p != '"')
            return false;
        p++;
        if ((size_t)(p - start) == elen && memcmp(start, etag, elen) == 0)
            return true;
        while (web_ows(*p))
            p++;
        if (*p && *p != ',')
            return false;
    }
}
