/** TOTP (RFC 6238, HMAC-SHA1) on liboath: secrets, codes, verification with a window, and
 * otpauth:// URIs. Plain C; time is always passed in (the caller's clock, virtual in tests). */
#ifndef CANDOR_TOTP_H
#define CANDOR_TOTP_H

#include <stddef.h>
#include <stdint.h>

/** Length of a new secret in base32 (160 bits = 32 characters, no padding). */
#define TOTP_SECRET_CHARS 32
/** Fewest secret bytes accepted (80 bits). */
#define TOTP_MIN_SECRET_BYTES 10
/** Most secret bytes accepted. */
#define TOTP_MAX_SECRET_BYTES 64
/** Largest verification window (steps each side). */
#define TOTP_MAX_WINDOW 10

/** Initialises liboath (once per process). 0 or -1. */
int totp_init(void);
/** Writes a new random 160-bit secret in base32 (32 characters and a NUL) to out. */
void totp_new_secret(char out[TOTP_SECRET_CHARS + 1]);
/** Decodes a base32 secret (case-insensitive, spaces ignored) into bin (TOTP_MAX_SECRET_BYTES).
 * Returns the byte count, or -1 when it is not base32 or too short or long. */
int totp_decode_secret(const char *secret, size_t len, unsigned char *bin);
/** Writes the code (digits 6..8, NUL-terminated) for the time step number `counter` with the
 * decoded secret. 0 or -1. */
int totp_code_at(const unsigned char *bin, size_t binlen, int64_t counter, unsigned digits, char *out);
/** Checks code (6..8 ASCII digits) against the steps floor(now/step) +- window, comparing in
 * constant time and always trying every step. Returns 1 with the matched step number in
 * *matched, 0 when no step matches or the code is malformed, -1 on a library failure. */
int totp_verify(const unsigned char *bin, size_t binlen, const char *code, size_t codelen, int64_t now,
                unsigned step, unsigned window, int64_t *matched);
/** Writes the otpauth://totp/ URI for secret, account and issuer into out (NUL-terminated),
 * percent-encoding the label and parameters. Returns the length, or -1 when cap is too small. */
int totp_uri(const char *secret, const char *account, const char *issuer, char *out, size_t cap);

#endif
