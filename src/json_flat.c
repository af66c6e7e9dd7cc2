/*
 * json_flat.c - the fast reader of flat JSON objects (see json_flat.h).
 *
 * Invariants:
 *   - Accepts only a subset of what jansson's json_loadb accepts, and
 *     builds the same values: strings with the short escapes (\" \\ \/ \b
 *     \f \n \r \t) and valid UTF-8 (jansson's rules: no overlong form, no
 *     surrogate, nothing above U+10FFFF), integers of at most 18 digits
 *     without a leading zero or "-0", true, false, null. Anything else
 *     returns NULL and jansson reads it, errors included.
 *   - A duplicate key returns NULL (proto_decode asks jansson to reject
 *     duplicates, and it does, with its message).
 *   - Reads each byte once; allocates the object, its values and one
 *     scratch buffer when the message is 1 kB or more.
 * Expected load: one call per client message.
 */
#include "json_flat.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Messages under half this size unescape their keys and strings on the
 * stack (a key and a value, each shorter than the message). */
#define JSON_FLAT_STACK 2048
/* Digits of an integer the fast path reads (fits json_int_t). */
#define JSON_FLAT_DIGITS 18

static const char *flat_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0. */
static size_t flat_utf8(const unsigned char *p, const unsigned char *end)
{
    size_t n;
    uint32_t v;

    if (*p >= 0xC2 && *p <= 0xDF) {
        n = 2;
        v = *p & 0x1Fu;
    } else if (*p >= 0xE0 && *p <= 0xEF) {
        n = 3;
        v = *p & 0x0Fu;
    } else if (*p >= 0xF0 && *p <= 0xF4) {
        n = 4;
        v = *p & 0x07u;
    } else {
        return 0; /* a continuation byte, C0/C1 or above F4 */
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return n;
}

/* Reads the string whose opening quote is at p[-1] into out (room for as
 * many bytes as the input has), NUL-terminated, its length in *olen.
 * Returns the byte after the closing quote, or NULL (not for the fast
 * path). */
static const char *flat_string(const char *p, const char *end, char *out, size_t *olen)
{
    size_t n = 0;

    while (p < end) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            out[n] = '\0';
            *olen = n;
            return p + 1;
        }
        if (ch < 0x20)
            return NULL; /* jansson refuses a raw control character */
        if (ch == '\\') {
            char e;
            if (++p == end)
                return NULL;
            switch (*p) {
            case '"':
            case '\\':
            case '/':
                e = *p;
                break;
            case 'b':
                e = '\b';
                break;
            case 'f':
                e = '\f';
                break;
            case 'n':
                e = '\n';
                break;
            case 'r':
                e = '\r';
                break;
            case 't':
                e = '\t';
                break;
            default:
                return NULL; /* \u (surrogates, \u0000) and bad escapes */
            }
            out[n++] = e;
            p++;
        } else if (ch < 0x80) {
            out[n++] = (char)ch;
            p++;
        } else {
            size_t k = flat_utf8((const unsigned char *)p, (const unsigned char *)end);
            if (!k)
                return NULL;
            memcpy(out + n, p, k);
            n += k;
            p += k;
        }
    }
    return NULL;
}

/* Reads the integer at p: -?(0|[1-9][0-9]*), at most JSON_FLAT_DIGITS
 * digits, not "-0", not followed by a fraction or an exponent. Returns the
 * byte after it, or NULL. */
static const char *flat_integer(const char *p, const char *end, json_int_t *out)
{
    bool neg = false;
    json_int_t v = 0;
    size_t digits = 0;

    if (*p == '-') {
        neg = true;
        p++;
    }
    if (p == end || *p < '0' || *p > '9' || (*p == '0' && neg))
        return NULL;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > JSON_FLAT_DIGITS)
                return NULL;
            v = v * 10 + (*p - '0');
            p++;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return NULL; /* a real, or a leading zero */
    *out = neg ? -v : v;
    return p;
}

/* Reads the literal word at p (true, false, null). */
static const char *flat_word(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
        return NULL;
    return p + n;
}

/* Reads the value at p into *v (new reference). Returns the byte after
 * it, or NULL. scratch has room for the value's string. */
static const char *flat_value(const char *p, const char *end, char *scratch, json_t **v)
{
    const char *q = NULL;
    size_t n;
    json_int_t i;

    *v = NULL;
    if (p == end)
        return NULL;
    switch (*p) {
    case '"':
        q = flat_string(p + 1, end, scratch, &n);
        if (q)
            *v = json_stringn_nocheck(scratch, n); /* UTF-8 checked above */
        break;
    case 't':
        q = flat_word(p, end, "true");
        *v = q ? json_true() : NULL;
        break;
    case 'f':
        q = flat_word(p, end, "false");
        *v = q ? json_false() : NULL;
        break;
    case 'n':
        q = flat_word(p, end, "null");
        *v = q ? json_null() : NULL;
        break;
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            q = flat_integer(p, end, &i);
            *v = q ? json_integer(i) : NULL;
        }
        break; /* '{', '[' and anything else: jansson's */
    }
    return *v ? q : NULL;
}

json_t *json_flat_load(const char *buf, size_t len)
{
    char stack[JSON_FLAT_STACK], *key, *scratch;
    const char *p, *end;
    json_t *obj = NULL;
    bool ok = false;

    if (!buf)
        return NULL;
    end = buf + len;
    p = flat_ws(buf, end);
    if (p == end || *p != '{')
        return NULL;
    /* A key and a value are each shorter than the message. */
    key = len + 1 <= sizeof(stack) / 2 ? stack : malloc(2 * (len + 1));
    if (!key)
        return NULL;
    scratch = key + len + 1;
    obj = json_object();
    if (!obj)
        goto out;
    p = flat_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        ok = true;
    }
    while (!ok && p < end && *p == '"') {
        json_t *v;
        size_t klen;

        p = flat_string(p + 1, end, key, &klen);
        if (!p || strlen(key) != klen || json_object_get(obj, key))
            goto out; /* a NUL in the key cannot come (no \u); a duplicate */
        p = flat_ws(p, end);
        if (p == end || *p != ':')
            goto out;
        p = flat_value(flat_ws(p + 1, end), end, scratch, &v);
        if (!p || json_object_set_new_nocheck(obj, key, v))
            goto out; /* set_new releases v on failure */
        p = flat_ws(p, end);
        if (p < end && *p == ',') {
            p = flat_ws(p + 1, end);
        } else if (p < end && *p == '}') {
            p++;
            ok = true;
        } else {
            goto out;
        }
    }
    if (ok && flat_ws(p, end) != end)
        ok = false; /* bytes after the object: jansson's error */
out:
    if (key != stack)
        free(key);
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
