/** Crypto on libsodium: random tokens, argon2id password hashes, field encryption with
 * XChaCha20-Poly1305 under per-purpose subkeys of a master key, HMAC-SHA256. Plain C. */
#ifndef CANDOR_CRYPTO_H
#define CANDOR_CRYPTO_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes a sealed field adds to its plaintext: version, key id, nonce, tag. */
#define SEC_OVERHEAD                                                                                         \
	(1 + 4 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
/** Length of a master key. */
#define SEC_KEYBYTES 32
/** Most keys a keyring holds. */
#define SEC_MAXKEYS 16

/** A set of master keys, each with a number; the highest is used for new ciphertexts. */
typedef struct keyring {
	int count;                                     /* keys held */
	uint32_t ids[SEC_MAXKEYS];                     /* their numbers, ascending */
	unsigned char keys[SEC_MAXKEYS][SEC_KEYBYTES]; /* the keys (locked memory) */
} keyring_t;

/** Initialises libsodium. 0 or -1. */
int sec_init(void);

/** Loads the keyring file at path; when it does not exist and create is set, writes a new
 * one with one random key, mode 0600. Refuses a file readable by group or others.
 * Returns a keyring in locked memory, or NULL with err set. */
keyring_t *keyring_load(const char *path, int create, char *err, size_t errlen);
/** A keyring with one random key that lives only in memory (tests). */
keyring_t *keyring_ephemeral(void);
/** Writes the keyring to path atomically (temp file + rename), mode 0600. 0 or -1. */
int keyring_save(const keyring_t *kr, const char *path, char *err, size_t errlen);
/** Adds a new random key that becomes current. Returns its id, or 0 when full. */
uint32_t keyring_add(keyring_t *kr);
/** Removes key id. 0, or -1 when it is absent or the last key. */
int keyring_remove(keyring_t *kr, uint32_t id);
/** The id new ciphertexts use. */
uint32_t keyring_current(const keyring_t *kr);
/** Wipes and frees. NULL is fine. */
void keyring_free(keyring_t *kr);

/** Encrypts pt under the current key's subkey for purpose, binding ad (e.g. "table|column|row").
 * out must hold plen + SEC_OVERHEAD bytes. 0 or -1. */
int sec_seal(const keyring_t *kr, const char *purpose, const void *ad, size_t adlen, const void *pt,
             size_t plen, unsigned char *out);
/** Decrypts a sealed field. out must hold clen - SEC_OVERHEAD bytes; *plen gets the length.
 * Returns 0, -1 when it does not authenticate (wrong key, row, column or tampering),
 * or -2 when its key id is not in the ring. */
int sec_open(const keyring_t *kr, const char *purpose, const void *ad, size_t adlen, const unsigned char *ct,
             size_t clen, unsigned char *out, size_t *plen);
/** The key id a sealed field was made with, or 0 if it is not a sealed field. */
uint32_t sec_key_of(const unsigned char *ct, size_t clen);
/** HMAC-SHA256 of msg under the current key's subkey for purpose. */
void sec_hmac(const keyring_t *kr, const char *purpose, const void *msg, size_t len,
              unsigned char out[crypto_auth_hmacsha256_BYTES]);

/** HMAC-SHA256 of msg under a key of any length (RFC 2104): signing what leaves the server with a
 * secret shared with the receiver (webhooks). */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                 unsigned char out[crypto_auth_hmacsha256_BYTES]);

/** Cost settings of new password hashes. */
typedef struct pw_cost {
	unsigned long long ops; /* argon2id passes */
	size_t mem;             /* bytes of memory */
} pw_cost_t;
/** Named cost levels: "min" (tests), "interactive" (default), "moderate". 0 or -1. */
int pw_cost_named(const char *name, pw_cost_t *out);
/** Hashes a password with argon2id (slow: call it off the event loop). 0 or -1. */
int pw_hash(const char *pw, size_t len, pw_cost_t cost, char out[crypto_pwhash_STRBYTES]);
/** 1 when pw matches hash, 0 when not (slow: off the loop). */
int pw_verify(const char *hash, const char *pw, size_t len);
/** 1 when hash was made with other settings than cost (rehash at next sign-in). */
int pw_needs_rehash(const char *hash, pw_cost_t cost);

#endif
