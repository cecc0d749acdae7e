/* Keyring, field encryption, HMAC and password hashing on libsodium. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEC_VERSION 1
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define HEADER (1 + 4)

int sec_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static keyring_t *keyring_new(void)
{
	keyring_t *kr = sodium_malloc(sizeof *kr);
	if (kr)
		memset(kr, 0, sizeof *kr);
	return kr;
}

void keyring_free(keyring_t *kr)
{
	if (kr)
		sodium_free(kr); /* sodium_free wipes */
}

uint32_t keyring_current(const keyring_t *kr)
{
	return kr->count ? kr->ids[kr->count - 1] : 0;
}

uint32_t keyring_add(keyring_t *kr)
{
	if (kr->count >= SEC_MAXKEYS)
		return 0;
	uint32_t id = kr->count ? kr->ids[kr->count - 1] + 1 : 1;
	kr->ids[kr->count] = id;
	randombytes_buf(kr->keys[kr->count], SEC_KEYBYTES);
	kr->count++;
	return id;
}

int keyring_remove(keyring_t *kr, uint32_t id)
{
	if (kr->count <= 1)
		return -1;
	for (int i = 0; i < kr->count; i++) {
		if (kr->ids[i] != id)
			continue;
		sodium_memzero(kr->keys[i], SEC_KEYBYTES);
		memmove(&kr->ids[i], &kr->ids[i + 1], (size_t)(kr->count - i - 1) * sizeof kr->ids[0]);
		memmove(kr->keys[i], kr->keys[i + 1], (size_t)(kr->count - i - 1) * SEC_KEYBYTES);
		kr->count--;
		sodium_memzero(kr->keys[kr->count], SEC_KEYBYTES);
		return 0;
	}
	return -1;
}

keyring_t *keyring_ephemeral(void)
{
	keyring_t *kr = keyring_new();
	if (kr)
		keyring_add(kr);
	return kr;
}

/* File format, one key per line: "candor-key 1 <id> <64 hex digits>". */
static int parse_keyring(keyring_t *kr, const char *text, char *err, size_t errlen)
{
	const char *p = text;
	int line = 0;
	while (*p) {
		line++;
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 0 && p[0] != '#') {
			char hex[2 * SEC_KEYBYTES + 1];
			unsigned id = 0;
			int ver = 0;
			char buf[256];
			if (n >= sizeof buf)
				goto bad;
			memcpy(buf, p, n);
			buf[n] = 0;
			if (sscanf(buf, "candor-key %d %u %64s", &ver, &id, hex) != 3 || ver != 1 || id == 0)
				goto bad;
			if (kr->count >= SEC_MAXKEYS || (kr->count && id <= kr->ids[kr->count - 1]))
				goto bad;
			size_t got = 0;
			if (sodium_hex2bin(kr->keys[kr->count], SEC_KEYBYTES, hex, strlen(hex), NULL, &got,
			                   NULL) != 0 ||
			    got != SEC_KEYBYTES)
				goto bad;
			kr->ids[kr->count++] = id;
			sodium_memzero(buf, sizeof buf);
			sodium_memzero(hex, sizeof hex);
		}
		p = end ? end + 1 : p + n;
	}
	if (kr->count == 0) {
		snprintf(err, errlen, "the key file holds no key");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "the key file is damaged at line %d", line);
	return -1;
}

int keyring_save(const keyring_t *kr, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	int ok = 1;
	for (int i = 0; i < kr->count && ok; i++) {
		char hex[2 * SEC_KEYBYTES + 1];
		char line[128];
		sodium_bin2hex(hex, sizeof hex, kr->keys[i], SEC_KEYBYTES);
		int n = snprintf(line, sizeof line, "candor-key 1 %u %s\n", kr->ids[i], hex);
		ok = write(fd, line, (size_t)n) == n;
		sodium_memzero(hex, sizeof hex);
		sodium_memzero(line, sizeof line);
	}
	ok = ok && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

keyring_t *keyring_load(const char *path, int create, char *err, size_t errlen)
{
	keyring_t *kr = keyring_new();
	if (!kr) {
		snprintf(err, errlen, "out of locked memory");
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		keyring_add(kr);
		if (keyring_save(kr, path, err, errlen) != 0)
			goto fail;
		return kr;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "key file %s must be readable by its owner only (chmod 600)", path);
		close(fd);
		goto fail;
	}
	char *text = sodium_malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		snprintf(err, errlen, "out of locked memory");
		goto fail;
	}
	ssize_t got = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (got != st.st_size) {
		sodium_free(text);
		snprintf(err, errlen, "cannot read key file %s", path);
		goto fail;
	}
	text[got] = 0;
	int rc = parse_keyring(kr, text, err, errlen);
	sodium_free(text);
	if (rc != 0)
		goto fail;
	return kr;
fail:
	keyring_free(kr);
	return NULL;
}

static const unsigned char *key_by_id(const keyring_t *kr, uint32_t id)
{
	for (int i = 0; i < kr->count; i++)
		if (kr->ids[i] == id)
			return kr->keys[i];
	return NULL;
}

/* subkey = BLAKE2b-256 keyed by the master key over "candor/<purpose>" */
static void subkey(const unsigned char *master, const char *purpose, unsigned char out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, master, SEC_KEYBYTES, 32);
	crypto_generichash_update(&st, (const unsigned char *)"candor/", 7);
	crypto_generichash_update(&st, (const unsigned char *)purpose, strlen(purpose));
	crypto_generichash_final(&st, out, 32);
}

/* The AEAD's associated data: header || purpose || 0 || ad. */
static unsigned char *make_ad(const unsigned char *header, const char *purpose, const void *ad, size_t adlen,
                              size_t *outlen)
{
	size_t plen = strlen(purpose);
	size_t n = HEADER + plen + 1 + adlen;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	memcpy(buf, header, HEADER);
	memcpy(buf + HEADER, purpose, plen);
	buf[HEADER + plen] = 0;
	if (adlen)
		memcpy(buf + HEADER + plen + 1, ad, adlen);
	*outlen = n;
	return buf;
}

int sec_seal(const keyring_t *kr, const char *purpose, const void *ad, size_t adlen, const void *pt,
             size_t plen, unsigned char *out)
{
	uint32_t id = keyring_current(kr);
	const unsigned char *master = key_by_id(kr, id);
	if (!master)
		return -1;
	out[0] = SEC_VERSION;
	out[1] = (unsigned char)(id >> 24);
	out[2] = (unsigned char)(id >> 16);
	out[3] = (unsigned char)(id >> 8);
	out[4] = (unsigned char)id;
	randombytes_buf(out + HEADER, NONCE);
	size_t full_len;
	unsigned char *full = make_ad(out, purpose, ad, adlen, &full_len);
	if (!full)
		return -1;
	unsigned char key[32];
	subkey(master, purpose, key);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + HEADER + NONCE, &clen, pt, plen, full, full_len,
	                                           NULL, out + HEADER, key);
	sodium_memzero(key, sizeof key);
	free(full);
	return 0;
}

uint32_t sec_key_of(const unsigned char *ct, size_t clen)
{
	if (clen < SEC_OVERHEAD || ct[0] != SEC_VERSION)
		return 0;
	return (uint32_t)ct[1] << 24 | (uint32_t)ct[2] << 16 | (uint32_t)ct[3] << 8 | ct[4];
}

int sec_open(const keyring_t *kr, const char *purpose, const void *ad, size_t adlen, const unsigned char *ct,
             size_t clen, unsigned char *out, size_t *plen)
{
	uint32_t id = sec_key_of(ct, clen);
	if (!id)
		return -1;
	const unsigned char *master = key_by_id(kr, id);
	if (!master)
		return -2;
	size_t full_len;
	unsigned char *full = make_ad(ct, purpose, ad, adlen, &full_len);
	if (!full)
		return -1;
	unsigned char key[32];
	subkey(master, purpose, key);
	unsigned long long n = 0;
	int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
	    out, &n, NULL, ct + HEADER + NONCE, clen - HEADER - NONCE, full, full_len, ct + HEADER, key);
	sodium_memzero(key, sizeof key);
	free(full);
	if (rc != 0)
		return -1;
	*plen = (size_t)n;
	return 0;
}

void sec_hmac(const keyring_t *kr, const char *purpose, const void *msg, size_t len,
              unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	unsigned char key[32];
	subkey(key_by_id(kr, keyring_current(kr)), purpose, key);
	crypto_auth_hmacsha256(out, msg, len, key);
	sodium_memzero(key, sizeof key);
}

void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                 unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

int pw_cost_named(const char *name, pw_cost_t *out)
{
	if (strcmp(name, "min") == 0)
		*out = (pw_cost_t){crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
	else if (strcmp(name, "interactive") == 0)
		*out = (pw_cost_t){crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
	else if (strcmp(name, "moderate") == 0)
		*out = (pw_cost_t){crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
	else
		return -1;
	return 0;
}

int pw_hash(const char *pw, size_t len, pw_cost_t cost, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str_alg(out, pw, len, cost.ops, cost.mem, crypto_pwhash_ALG_ARGON2ID13) == 0
	           ? 0
	           : -1;
}

int pw_verify(const char *hash, const char *pw, size_t len)
{
	return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

int pw_needs_rehash(const char *hash, pw_cost_t cost)
{
	return crypto_pwhash_str_needs_rehash(hash, cost.ops, cost.mem) != 0;
}
