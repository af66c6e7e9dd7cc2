/*
 * auth.c - secrets, hashes and ids (see auth.h).
 */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <uuid/uuid.h>

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int auth_secret_new(char out[AUTH_SECRET_LEN + 1])
{
    unsigned char raw[16];
    uint32_t acc = 0;
    int bits = 0, n = 0;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[n++] = b64url[(acc << (6 - bits)) & 63];
    out[n] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return n == AUTH_SECRET_LEN ? 0 : -1;
}

void auth_hash(const char *secret, size_t len, uint8_t out[AUTH_HASH_LEN])
{
    unsigned int outlen = AUTH_HASH_LEN;

    EVP_Digest(secret, len, out, &outlen, EVP_sha256(), NULL);
}

bool auth_hash_equal(const uint8_t a[AUTH_HASH_LEN], const uint8_t b[AUTH_HASH_LEN])
{
    return CRYPTO_memcmp(a, b, AUTH_HASH_LEN) == 0;
}

bool auth_secret_wellformed(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (i >= AUTH_SECRET_LEN || !strchr(b64url, s[i]))
            return false;
    return i == AUTH_SECRET_LEN;
}

void auth_uuid_new(char out[AUTH_UUID_LEN + 1])
{
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

bool auth_uuid_wellformed(const char *s)
{
    uuid_t u;

    return strlen(s) == AUTH_UUID_LEN && uuid_parse(s, u) == 0;
}
