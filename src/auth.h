/*
 * auth.h - secrets and ids (DESIGN.md section 6).
 *
 * Member keys and invite codes are 128 bits from OpenSSL's RAND_bytes,
 * written as 22 characters of unpadded base64url. Only their SHA-256 is
 * kept; comparisons are constant-time. A SHA-256 is enough (no slow KDF):
 * the secrets have full 128-bit entropy, so there is nothing to brute-force
 * from a leaked hash. Group, member and session ids are random UUIDs
 * (libuuid): public identifiers, not secrets.
 */
#ifndef CODEV_AUTH_H
#define CODEV_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_SECRET_LEN 22 /* characters of a key or invite code */
#define AUTH_HASH_LEN   32 /* SHA-256 */
#define AUTH_UUID_LEN   36

/* Writes a new secret and its NUL into out. Returns 0, or -1 when the
 * random generator fails (the caller refuses the request). */
int auth_secret_new(char out[AUTH_SECRET_LEN + 1]);

/* Hashes a secret of len bytes into out. */
void auth_hash(const char *secret, size_t len, uint8_t out[AUTH_HASH_LEN]);

/* Constant-time comparison of two hashes. */
bool auth_hash_equal(const uint8_t a[AUTH_HASH_LEN], const uint8_t b[AUTH_HASH_LEN]);

/* Does s look like a secret (22 base64url characters)? Cheap shape check
 * done before hashing, so garbage is refused early. */
bool auth_secret_wellformed(const char *s);

/* Writes a new random UUID (lower case) and its NUL into out. */
void auth_uuid_new(char out[AUTH_UUID_LEN + 1]);

/* Is s a UUID in text form (8-4-4-4-12 hex)? */
bool auth_uuid_wellformed(const char *s);

#endif
