/* Unit tests of core/crypto.c: field encryption, the keyring file, HMAC, argon2id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/** A temp folder per test, removed afterwards. */
static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/candor-crypto-XXXXXX");
	return sec_init() == 0 && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char secret[] = "Needs to delegate more.";
static const char row42[] = "reviews|answer|42";

/* Seals secret under ad; returns the ciphertext length (out holds 256 bytes). */
static size_t seal(const keyring_t *kr, const char *purpose, const char *ad, unsigned char *out)
{
	assert_int_equal(sec_seal(kr, purpose, ad, strlen(ad), secret, sizeof secret - 1, out), 0);
	return sizeof secret - 1 + SEC_OVERHEAD;
}

static int open_ct(const keyring_t *kr, const char *purpose, const char *ad, const unsigned char *ct,
                   size_t clen, char *out)
{
	size_t plen = 0;
	int rc = sec_open(kr, purpose, ad, strlen(ad), ct, clen, (unsigned char *)out, &plen);
	if (rc == 0)
		out[plen] = 0;
	return rc;
}

/* --- field encryption --- */
static void seal_and_open_round_trip(void **state)
{
	(void)state;
	keyring_t *kr = keyring_ephemeral();
	assert_non_null(kr);
	unsigned char ct[256];
	char pt[256];
	size_t clen = seal(kr, "field", row42, ct);
	assert_null(memmem(ct, clen, "delegate", 8));
	assert_int_equal(open_ct(kr, "field", row42, ct, clen, pt), 0);
	assert_string_equal(pt, secret);
	assert_int_equal(sec_key_of(ct, clen), keyring_current(kr));
	/* a random nonce: the same text seals differently each time */
	unsigned char ct2[256];
	seal(kr, "field", row42, ct2);
	assert_memory_not_equal(ct, ct2, clen);
	/* an empty text works too */
	unsigned char e[SEC_OVERHEAD];
	assert_int_equal(sec_seal(kr, "field", row42, strlen(row42), "", 0, e), 0);
	size_t plen = 99;
	assert_int_equal(sec_open(kr, "field", row42, strlen(row42), e, sizeof e, (unsigned char *)pt, &plen),
	                 0);
	assert_int_equal(plen, 0);
	keyring_free(kr);
}

static void associated_data_binds_table_column_and_row(void **state)
{
	(void)state;
	keyring_t *kr = keyring_ephemeral();
	unsigned char ct[256];
	char pt[256];
	size_t clen = seal(kr, "field", row42, ct);
	assert_int_equal(open_ct(kr, "field", "reviews|answer|43", ct, clen, pt), -1);
	assert_int_equal(open_ct(kr, "field", "reviews|comment|42", ct, clen, pt), -1);
	assert_int_equal(open_ct(kr, "field", "notes|answer|42", ct, clen, pt), -1);
	assert_int_equal(open_ct(kr, "field", "", ct, clen, pt), -1);
	/* and to the purpose (another subkey) */
	assert_int_equal(open_ct(kr, "other", row42, ct, clen, pt), -1);
	assert_int_equal(open_ct(kr, "field", row42, ct, clen, pt), 0);
	keyring_free(kr);
}

static void any_tampering_fails(void **state)
{
	(void)state;
	keyring_t *kr = keyring_ephemeral();
	unsigned char ct[256];
	char pt[256];
	size_t clen = seal(kr, "field", row42, ct);
	for (size_t i = 0; i < clen; i++) {
		ct[i] ^= 0x20;
		int rc = open_ct(kr, "field", row42, ct, clen, pt);
		if (rc == 0)
			print_error("flipping byte %zu went unnoticed\n", i);
		assert_true(rc < 0);
		ct[i] ^= 0x20;
	}
	/* cut short, or too short to be a sealed field */
	assert_int_equal(open_ct(kr, "field", row42, ct, clen - 1, pt), -1);
	assert_int_equal(open_ct(kr, "field", row42, ct, SEC_OVERHEAD - 1, pt), -1);
	assert_int_equal(sec_key_of(ct, SEC_OVERHEAD - 1), 0);
	assert_int_equal(open_ct(kr, "field", row42, ct, clen, pt), 0);
	keyring_free(kr);
}

static void unknown_key_id_is_minus_two(void **state)
{
	(void)state;
	keyring_t *a = keyring_ephemeral(), *b = keyring_ephemeral();
	assert_int_equal(keyring_add(a), 2);
	unsigned char ct[256];
	char pt[256];
	size_t clen = seal(a, "field", row42, ct);
	assert_int_equal(sec_key_of(ct, clen), 2);
	assert_int_equal(open_ct(b, "field", row42, ct, clen, pt), -2); /* b has key 1 only */
	/* same id, other key: does not authenticate */
	unsigned char ct1[256];
	keyring_t *c = keyring_ephemeral();
	clen = seal(c, "field", row42, ct1);
	assert_int_equal(open_ct(b, "field", row42, ct1, clen, pt), -1);
	keyring_free(a);
	keyring_free(b);
	keyring_free(c);
}

static void key_rotation_keeps_old_fields_readable(void **state)
{
	(void)state;
	keyring_t *kr = keyring_ephemeral();
	unsigned char old[256], fresh[256];
	char pt[256];
	size_t clen = seal(kr, "field", row42, old);
	assert_int_equal(keyring_current(kr), 1);
	assert_int_equal(keyring_add(kr), 2);
	assert_int_equal(keyring_current(kr), 2);
	seal(kr, "field", row42, fresh);
	assert_int_equal(sec_key_of(fresh, clen), 2);
	assert_int_equal(open_ct(kr, "field", row42, old, clen, pt), 0);
	assert_string_equal(pt, secret);
	assert_int_equal(open_ct(kr, "field", row42, fresh, clen, pt), 0);
	/* retire key 1: old fields can no longer be opened */
	assert_int_equal(keyring_remove(kr, 1), 0);
	assert_int_equal(kr->count, 1);
	assert_int_equal(open_ct(kr, "field", row42, old, clen, pt), -2);
	assert_int_equal(open_ct(kr, "field", row42, fresh, clen, pt), 0);
	/* absent key, or the last key: refused */
	assert_int_equal(keyring_remove(kr, 7), -1);
	assert_int_equal(keyring_remove(kr, 2), -1);
	assert_int_equal(kr->count, 1);
	keyring_free(kr);
}

static void keyring_holds_at_most_sixteen_keys(void **state)
{
	(void)state;
	keyring_t *kr = keyring_ephemeral();
	for (int i = 2; i <= SEC_MAXKEYS; i++)
		assert_int_equal(keyring_add(kr), (uint32_t)i);
	assert_int_equal(keyring_add(kr), 0);
	assert_int_equal(kr->count, SEC_MAXKEYS);
	keyring_free(kr);
	keyring_free(NULL);
}

/* --- the keyring file --- */
static void key_file_is_created_with_mode_0600(void **state)
{
	(void)state;
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/master.key", dir);
	keyring_t *kr = keyring_load(path, 1, err, sizeof err);
	assert_non_null(kr);
	assert_int_equal(kr->count, 1);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* loading again gives the same key */
	keyring_t *again = keyring_load(path, 0, err, sizeof err);
	assert_non_null(again);
	assert_int_equal(again->ids[0], kr->ids[0]);
	assert_memory_equal(again->keys[0], kr->keys[0], SEC_KEYBYTES);
	unsigned char ct[256];
	char pt[256];
	size_t clen = seal(kr, "field", row42, ct);
	assert_int_equal(open_ct(again, "field", row42, ct, clen, pt), 0);
	keyring_free(kr);
	keyring_free(again);
}

static void key_file_readable_by_others_is_refused(void **state)
{
	(void)state;
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/master.key", dir);
	keyring_t *kr = keyring_load(path, 1, err, sizeof err);
	assert_non_null(kr);
	keyring_free(kr);
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(keyring_load(path, 0, err, sizeof err));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(keyring_load(path, 1, err, sizeof err));
	assert_int_equal(chmod(path, 0600), 0);
	kr = keyring_load(path, 0, err, sizeof err);
	assert_non_null(kr);
	keyring_free(kr);
}

static void missing_key_file_without_create_fails(void **state)
{
	(void)state;
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/none.key", dir);
	assert_null(keyring_load(path, 0, err, sizeof err));
	assert_non_null(strstr(err, "none.key"));
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
}

static void damaged_key_file_is_refused(void **state)
{
	(void)state;
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/bad.key", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# comment\ncandor-key 1 1 00112233\n", f); /* key too short */
	fclose(f);
	chmod(path, 0600);
	assert_null(keyring_load(path, 0, err, sizeof err));
	assert_non_null(strstr(err, "damaged at line 2"));
	f = fopen(path, "w");
	fputs("# no keys at all\n", f);
	fclose(f);
	assert_null(keyring_load(path, 0, err, sizeof err));
	assert_non_null(strstr(err, "no key"));
}

static void save_and_load_round_trip(void **state)
{
	(void)state;
	char path[512], err[512] = "";
	snprintf(path, sizeof path, "%s/ring.key", dir);
	keyring_t *kr = keyring_ephemeral();
	keyring_add(kr);
	keyring_add(kr);
	assert_int_equal(keyring_remove(kr, 2), 0); /* ids 1 and 3 */
	assert_int_equal(keyring_save(kr, path, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	keyring_t *back = keyring_load(path, 0, err, sizeof err);
	assert_non_null(back);
	assert_int_equal(back->count, 2);
	assert_int_equal(back->ids[0], 1);
	assert_int_equal(back->ids[1], 3);
	assert_int_equal(keyring_current(back), 3);
	assert_memory_equal(back->keys, kr->keys, 2 * SEC_KEYBYTES);
	/* saving into a folder that does not exist fails cleanly */
	assert_int_equal(keyring_save(kr, "/nonexistent/ring.key", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/ring.key"));
	keyring_free(kr);
	keyring_free(back);
}

/* --- HMAC and random --- */
static void hmac_is_deterministic_per_purpose(void **state)
{
	(void)state;
	keyring_t *kr = keyring_ephemeral(), *other = keyring_ephemeral();
	unsigned char a[crypto_auth_hmacsha256_BYTES], b[crypto_auth_hmacsha256_BYTES];
	sec_hmac(kr, "token", "abc", 3, a);
	sec_hmac(kr, "token", "abc", 3, b);
	assert_memory_equal(a, b, sizeof a);
	sec_hmac(kr, "email", "abc", 3, b);
	assert_memory_not_equal(a, b, sizeof a);
	sec_hmac(kr, "token", "abd", 3, b);
	assert_memory_not_equal(a, b, sizeof a);
	sec_hmac(other, "token", "abc", 3, b);
	assert_memory_not_equal(a, b, sizeof a);
	keyring_free(kr);
	keyring_free(other);
}

/* --- passwords --- */
static void argon2id_hash_and_verify(void **state)
{
	(void)state;
	pw_cost_t min, interactive;
	assert_int_equal(pw_cost_named("min", &min), 0);
	assert_int_equal(pw_cost_named("interactive", &interactive), 0);
	assert_int_equal(pw_cost_named("extreme", &min), -1);
	char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];
	assert_int_equal(pw_hash("correct horse", 13, min, h1), 0);
	assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
	assert_int_equal(pw_verify(h1, "correct horse", 13), 1);
	assert_int_equal(pw_verify(h1, "correct horsf", 13), 0);
	assert_int_equal(pw_verify(h1, "correct hors", 12), 0);
	assert_int_equal(pw_verify("not a hash", "correct horse", 13), 0);
	/* salted: the same password hashes differently */
	assert_int_equal(pw_hash("correct horse", 13, min, h2), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(pw_verify(h2, "correct horse", 13), 1);
	/* needs a rehash only when the cost changed */
	assert_int_equal(pw_needs_rehash(h1, min), 0);
	assert_int_equal(pw_needs_rehash(h1, interactive), 1);
}

static void hmac_sha256_matches_rfc4231(void **state)
{
	(void)state;
	/* RFC 4231 test cases 2 (a short key) and 6 (a key longer than the block) */
	unsigned char out[crypto_auth_hmacsha256_BYTES];
	char hex[65];
	const char *msg = "what do ya want for nothing?";
	hmac_sha256("Jefe", 4, msg, strlen(msg), out);
	sodium_bin2hex(hex, sizeof hex, out, sizeof out);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	unsigned char key[131];
	memset(key, 0xaa, sizeof key);
	const char *big = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha256(key, sizeof key, big, strlen(big), out);
	sodium_bin2hex(hex, sizeof hex, out, sizeof out);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(seal_and_open_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(associated_data_binds_table_column_and_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(any_tampering_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(unknown_key_id_is_minus_two, setup, teardown),
	    cmocka_unit_test_setup_teardown(key_rotation_keeps_old_fields_readable, setup, teardown),
	    cmocka_unit_test_setup_teardown(keyring_holds_at_most_sixteen_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(key_file_is_created_with_mode_0600, setup, teardown),
	    cmocka_unit_test_setup_teardown(key_file_readable_by_others_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_key_file_without_create_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_key_file_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(save_and_load_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(hmac_is_deterministic_per_purpose, setup, teardown),
	    cmocka_unit_test(hmac_sha256_matches_rfc4231),
	    cmocka_unit_test_setup_teardown(argon2id_hash_and_verify, setup, teardown),
	};
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
