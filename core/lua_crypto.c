/* core.crypto: tokens, hashes, field encryption, password hashing off the loop. */
#include "host.h"

#include "log.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static time_t keyring_mtime;

static keyring_t *need_keys(lua_State *L)
{
	if (!H->keyring)
		luaL_error(L, "no master key is loaded");
	return H->keyring;
}

/* If the key file changed (rotate-key from another process), load it again. */
static void maybe_reload(void)
{
	if (!H->keyring_path[0])
		return;
	struct stat st;
	if (stat(H->keyring_path, &st) != 0 || st.st_mtime == keyring_mtime)
		return;
	char err[512];
	keyring_t *kr = keyring_load(H->keyring_path, 0, err, sizeof err);
	if (!kr) {
		log_error("cannot reload the key file: %s", err);
		return;
	}
	keyring_free(H->keyring);
	H->keyring = kr;
	keyring_mtime = st.st_mtime;
	log_info("reloaded the key file (current key %u)", keyring_current(kr));
}

/** crypto.load_keys(path [, create]) loads (or creates) the master key file. */
static int l_load_keys(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char err[512];
	keyring_t *kr = keyring_load(path, lua_toboolean(L, 2), err, sizeof err);
	if (!kr)
		return host_fail(L, "keys", "%s", err);
	keyring_free(H->keyring);
	H->keyring = kr;
	snprintf(H->keyring_path, sizeof H->keyring_path, "%s", path);
	struct stat st;
	keyring_mtime = stat(path, &st) == 0 ? st.st_mtime : 0;
	lua_pushboolean(L, 1);
	return 1;
}

/** crypto.ephemeral_keys() uses a random in-memory key (tests). */
static int l_ephemeral_keys(lua_State *L)
{
	keyring_free(H->keyring);
	H->keyring = keyring_ephemeral();
	H->keyring_path[0] = 0;
	lua_pushboolean(L, H->keyring != NULL);
	return 1;
}

/** crypto.key_ids() -> array of key ids, current last */
static int l_key_ids(lua_State *L)
{
	keyring_t *kr = need_keys(L);
	lua_createtable(L, kr->count, 0);
	for (int i = 0; i < kr->count; i++) {
		lua_pushinteger(L, kr->ids[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/** crypto.add_key() adds a new current key (in memory; save_keys writes it). */
static int l_add_key(lua_State *L)
{
	uint32_t id = keyring_add(need_keys(L));
	if (!id)
		return host_fail(L, "keys", "the key file is full (%d keys): retire old keys first",
		                 SEC_MAXKEYS);
	lua_pushinteger(L, id);
	return 1;
}

static int l_remove_key(lua_State *L)
{
	if (keyring_remove(need_keys(L), (uint32_t)luaL_checkinteger(L, 1)) != 0)
		return host_fail(L, "keys", "no such key, or it is the only one");
	lua_pushboolean(L, 1);
	return 1;
}

static int l_save_keys(lua_State *L)
{
	keyring_t *kr = need_keys(L);
	char err[512];
	if (!H->keyring_path[0])
		return host_fail(L, "keys", "the keys are not from a file");
	if (keyring_save(kr, H->keyring_path, err, sizeof err) != 0)
		return host_fail(L, "keys", "%s", err);
	struct stat st;
	keyring_mtime = stat(H->keyring_path, &st) == 0 ? st.st_mtime : 0;
	lua_pushboolean(L, 1);
	return 1;
}

/** crypto.seal(purpose, ad, plaintext) -> ciphertext (binary) */
static int l_seal(lua_State *L)
{
	const char *purpose = luaL_checkstring(L, 1);
	size_t adlen, plen;
	const char *ad = luaL_checklstring(L, 2, &adlen);
	const char *pt = luaL_checklstring(L, 3, &plen);
	maybe_reload();
	keyring_t *kr = need_keys(L);
	luaL_Buffer b;
	unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, plen + SEC_OVERHEAD);
	if (sec_seal(kr, purpose, ad, adlen, pt, plen, out) != 0)
		return luaL_error(L, "encryption failed");
	luaL_pushresultsize(&b, plen + SEC_OVERHEAD);
	return 1;
}

/** crypto.open(purpose, ad, ciphertext) -> plaintext | nil, err */
static int l_open(lua_State *L)
{
	const char *purpose = luaL_checkstring(L, 1);
	size_t adlen, clen;
	const char *ad = luaL_checklstring(L, 2, &adlen);
	const unsigned char *ct = (const unsigned char *)luaL_checklstring(L, 3, &clen);
	keyring_t *kr = need_keys(L);
	if (clen < SEC_OVERHEAD)
		return host_fail(L, "decrypt", "not an encrypted value");
	luaL_Buffer b;
	unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, clen - SEC_OVERHEAD + 1);
	size_t plen = 0;
	int rc = sec_open(kr, purpose, ad, adlen, ct, clen, out, &plen);
	if (rc == -2) {
		maybe_reload();
		kr = need_keys(L);
		rc = sec_open(kr, purpose, ad, adlen, ct, clen, out, &plen);
	}
	if (rc != 0) {
		sodium_memzero(out, clen - SEC_OVERHEAD);
		return host_fail(L, "decrypt",
		                 rc == -2 ? "the key for this value is not in the key file"
		                          : "the value does not authenticate (wrong key, row or tampering)");
	}
	luaL_pushresultsize(&b, plen);
	return 1;
}

/** crypto.key_of(ciphertext) -> key id or nil */
static int l_key_of(lua_State *L)
{
	size_t n;
	const unsigned char *ct = (const unsigned char *)luaL_checklstring(L, 1, &n);
	uint32_t id = sec_key_of(ct, n);
	if (!id)
		return 0;
	lua_pushinteger(L, id);
	return 1;
}

/** crypto.hmac(purpose, msg) -> 32 raw bytes */
static int l_hmac(lua_State *L)
{
	const char *purpose = luaL_checkstring(L, 1);
	size_t n;
	const char *msg = luaL_checklstring(L, 2, &n);
	unsigned char out[crypto_auth_hmacsha256_BYTES];
	sec_hmac(need_keys(L), purpose, msg, n, out);
	lua_pushlstring(L, (const char *)out, sizeof out);
	return 1;
}

/** crypto.hmac_sha256(key, msg) -> 32 raw bytes (any key: a secret shared with a receiver) */
static int l_hmac_sha256(lua_State *L)
{
	size_t klen, n;
	const char *key = luaL_checklstring(L, 1, &klen);
	const char *msg = luaL_checklstring(L, 2, &n);
	unsigned char out[crypto_auth_hmacsha256_BYTES];
	hmac_sha256(key, klen, msg, n, out);
	lua_pushlstring(L, (const char *)out, sizeof out);
	return 1;
}

static int l_sha256(lua_State *L)
{
	size_t n;
	const char *msg = luaL_checklstring(L, 1, &n);
	unsigned char out[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(out, (const unsigned char *)msg, n);
	lua_pushlstring(L, (const char *)out, sizeof out);
	return 1;
}

static int l_random(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);
	luaL_argcheck(L, n > 0 && n <= 4096, 1, "1..4096 bytes");
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, (size_t)n);
	randombytes_buf(p, (size_t)n);
	luaL_pushresultsize(&b, (size_t)n);
	return 1;
}

/** crypto.random_int(n) -> uniform integer in [0, n) */
static int l_random_int(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);
	luaL_argcheck(L, n > 0 && n <= 0xffffffff, 1, "1..2^32");
	lua_pushinteger(L, randombytes_uniform((uint32_t)n));
	return 1;
}

static int l_hex(lua_State *L)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, 2 * n + 1);
	sodium_bin2hex(p, 2 * n + 1, s, n);
	luaL_pushresultsize(&b, 2 * n);
	return 1;
}

static int l_unhex(lua_State *L)
{
	size_t n, got = 0;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, n / 2 + 1);
	if (sodium_hex2bin(p, n / 2 + 1, s, n, NULL, &got, NULL) != 0 || got * 2 != n)
		return 0;
	luaL_pushresultsize(&b, got);
	return 1;
}

static int l_b64(lua_State *L)
{
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	int variant =
	    lua_toboolean(L, 2) ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(n, variant);
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, cap);
	sodium_bin2base64(p, cap, s, n, variant);
	luaL_pushresultsize(&b, strlen(p));
	return 1;
}

static int l_unb64(lua_State *L)
{
	size_t n, got = 0;
	const char *s = luaL_checklstring(L, 1, &n);
	int variant =
	    lua_toboolean(L, 2) ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	luaL_Buffer b;
	unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, n + 1);
	if (sodium_base642bin(p, n + 1, s, n, NULL, &got, NULL, variant) != 0)
		return 0;
	luaL_pushresultsize(&b, got);
	return 1;
}

/** crypto.token([bytes=32]) -> random URL-safe text */
static int l_token(lua_State *L)
{
	lua_Integer n = luaL_optinteger(L, 1, 32);
	luaL_argcheck(L, n >= 16 && n <= 128, 1, "16..128 bytes");
	unsigned char raw[128];
	randombytes_buf(raw, (size_t)n);
	char out[sodium_base64_ENCODED_LEN(128, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(out, sizeof out, raw, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	lua_pushstring(L, out);
	return 1;
}

static int l_equal(lua_State *L)
{
	size_t a, b;
	const char *x = luaL_checklstring(L, 1, &a);
	const char *y = luaL_checklstring(L, 2, &b);
	lua_pushboolean(L, a == b && sodium_memcmp(x, y, a) == 0);
	return 1;
}

/* --- password hashing on the background threads (below the loop's priority) --- */

/** A hash or verify job; the password copy lives in locked memory and is wiped. */
struct pw_work {
	pool_job_t job;
	char *pw; /* sodium_malloc'd copy */
	size_t pw_len;
	char hash[crypto_pwhash_STRBYTES];
	pw_cost_t cost;
	int verify; /* 1: verify against hash; 0: make hash */
	int result;
};

static void pw_run(pool_job_t *j)
{
	struct pw_work *pw = (struct pw_work *)j;
	if (pw->verify)
		pw->result = pw_verify(pw->hash, pw->pw, pw->pw_len);
	else
		pw->result = pw_hash(pw->pw, pw->pw_len, pw->cost, pw->hash) == 0;
}

static int pw_push(pool_job_t *j, lua_State *co)
{
	struct pw_work *pw = (struct pw_work *)j;
	if (pw->verify) {
		lua_pushboolean(co, pw->result);
		return 1;
	}
	if (pw->result) {
		lua_pushstring(co, pw->hash);
		return 1;
	}
	return host_fail(co, "memory", "out of memory while hashing");
}

static void pw_release(pool_job_t *j)
{
	struct pw_work *pw = (struct pw_work *)j;
	sodium_free(pw->pw);
	sodium_memzero(pw, sizeof *pw);
	free(pw);
}

static int start_pw(lua_State *L, int verify)
{
	task_t *t = task_check_async(L);
	size_t n, hn = 0;
	const char *pwd = luaL_checklstring(L, verify ? 2 : 1, &n);
	const char *hash = verify ? luaL_checklstring(L, 1, &hn) : NULL;
	luaL_argcheck(L, n <= 4096, verify ? 2 : 1, "password longer than 4096 bytes");
	if (verify && hn >= crypto_pwhash_STRBYTES)
		luaL_argerror(L, 1, "not a password hash");
	struct pw_work *pw = calloc(1, sizeof *pw);
	if (!pw)
		return luaL_error(L, "out of memory");
	pw->pw = sodium_malloc(n + 1);
	if (!pw->pw) {
		free(pw);
		return luaL_error(L, "out of memory");
	}
	memcpy(pw->pw, pwd, n);
	pw->pw_len = n;
	pw->verify = verify;
	pw->cost = H->pw_cost;
	if (verify)
		memcpy(pw->hash, hash, hn + 1);
	pw->job.run = pw_run;
	pw->job.push = pw_push;
	pw->job.release = pw_release;
	pw->job.what = "the password hashing";
	return pool_job_wait_background(L, t, &pw->job); /* a storm of sign-ins queues up there */
}

/** crypto.hash_password(pw) -> argon2id hash text (waits; runs on a background thread) */
static int l_hash_password(lua_State *L)
{
	return start_pw(L, 0);
}
/** crypto.verify_password(hash, pw) -> boolean (waits; runs on a background thread) */
static int l_verify_password(lua_State *L)
{
	return start_pw(L, 1);
}

/** crypto.password_needs_rehash(hash) -> boolean */
static int l_needs_rehash(lua_State *L)
{
	lua_pushboolean(L, pw_needs_rehash(luaL_checkstring(L, 1), H->pw_cost));
	return 1;
}

/** crypto.set_password_cost("min"|"interactive"|"moderate") */
static int l_set_cost(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	if (pw_cost_named(name, &H->pw_cost) != 0)
		luaL_argerror(L, 1, "min, interactive or moderate");
	return 0;
}

int luaopen_core_crypto(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"load_keys", l_load_keys},
	    {"ephemeral_keys", l_ephemeral_keys},
	    {"key_ids", l_key_ids},
	    {"add_key", l_add_key},
	    {"remove_key", l_remove_key},
	    {"save_keys", l_save_keys},
	    {"seal", l_seal},
	    {"open", l_open},
	    {"key_of", l_key_of},
	    {"hmac", l_hmac},
	    {"hmac_sha256", l_hmac_sha256},
	    {"sha256", l_sha256},
	    {"random", l_random},
	    {"random_int", l_random_int},
	    {"hex", l_hex},
	    {"unhex", l_unhex},
	    {"b64", l_b64},
	    {"unb64", l_unb64},
	    {"token", l_token},
	    {"equal", l_equal},
	    {"hash_password", l_hash_password},
	    {"verify_password", l_verify_password},
	    {"password_needs_rehash", l_needs_rehash},
	    {"set_password_cost", l_set_cost},
	    {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
