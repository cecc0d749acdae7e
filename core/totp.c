/* TOTP on liboath (plain C, no Lua). */
#include "totp.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int totp_init(void)
{
	static int done;
	if (done)
		return 0;
	if (oath_init() != OATH_OK || sodium_init() < 0)
		return -1;
	done = 1;
	return 0;
}

void totp_new_secret(char out[TOTP_SECRET_CHARS + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char raw[20];
	randombytes_buf(raw, sizeof raw);
	/* 20 bytes = 4 groups of 5 bytes = 4 x 8 characters */
	for (int g = 0; g < 4; g++) {
		uint64_t v = 0;
		for (int i = 0; i < 5; i++)
			v = v << 8 | raw[g * 5 + i];
		for (int i = 0; i < 8; i++)
			out[g * 8 + i] = alphabet[(v >> (35 - 5 * i)) & 31];
	}
	out[TOTP_SECRET_CHARS] = 0;
	sodium_memzero(raw, sizeof raw);
}

int totp_decode_secret(const char *secret, size_t len, unsigned char *bin)
{
	char norm[2 * TOTP_MAX_SECRET_BYTES];
	size_t n = 0;
	int rc = -1;
	char *out = NULL;
	size_t outlen = 0;
	for (size_t i = 0; i < len; i++) {
		char c = secret[i];
		if (c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7') || c == '='))
			goto fail;
		if (n == sizeof norm - 1)
			goto fail;
		norm[n++] = c;
	}
	norm[n] = 0;
	if (oath_base32_decode(norm, n, &out, &outlen) != OATH_OK)
		goto fail;
	if (outlen < TOTP_MIN_SECRET_BYTES || outlen > TOTP_MAX_SECRET_BYTES)
		goto fail;
	memcpy(bin, out, outlen);
	rc = (int)outlen;
fail:
	if (out) {
		sodium_memzero(out, outlen);
		free(out);
	}
	sodium_memzero(norm, sizeof norm);
	return rc;
}

int totp_code_at(const unsigned char *bin, size_t binlen, int64_t counter, unsigned digits, char *out)
{
	if (counter < 0 || digits < 6 || digits > 8)
		return -1;
	/* liboath counts steps from a time: give it the start of step `counter` */
	int rc = oath_hotp_generate((const char *)bin, binlen, (uint64_t)counter, digits, 0,
	                            OATH_HOTP_DYNAMIC_TRUNCATION, out);
	return rc == OATH_OK ? 0 : -1;
}

int totp_verify(const unsigned char *bin, size_t binlen, const char *code, size_t codelen, int64_t now,
                unsigned step, unsigned window, int64_t *matched)
{
	if (codelen < 6 || codelen > 8 || now < 0 || step == 0)
		return 0;
	for (size_t i = 0; i < codelen; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	int64_t base = now / step;
	int found = 0;
	int64_t best = 0;
	/* try every step (no early exit) so the time taken does not tell which one matched */
	for (int64_t d = -(int64_t)window; d <= (int64_t)window; d++) {
		int64_t c = base + d;
		char expect[16];
		if (c < 0)
			continue;
		if (totp_code_at(bin, binlen, c, (unsigned)codelen, expect) != 0)
			return -1;
		int same = sodium_memcmp(expect, code, codelen) == 0;
		/* prefer the match nearest to now */
		if (same && (!found || llabs(d) < llabs(best - base))) {
			best = c;
			found = 1;
		}
		sodium_memzero(expect, sizeof expect);
	}
	if (found)
		*matched = best;
	return found;
}

/** Appends s percent-encoded (everything but RFC 3986 unreserved characters). */
static int pct(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
		if (*n + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain) {
			out[(*n)++] = (char)*p;
		} else {
			out[(*n)++] = '%';
			out[(*n)++] = hex[*p >> 4];
			out[(*n)++] = hex[*p & 15];
		}
	}
	out[*n] = 0;
	return 0;
}

/** Appends a literal. */
static int lit(char *out, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);
	if (*n + l >= cap)
		return -1;
	memcpy(out + *n, s, l + 1);
	*n += l;
	return 0;
}

int totp_uri(const char *secret, const char *account, const char *issuer, char *out, size_t cap)
{
	size_t n = 0;
	char clean[2 * TOTP_MAX_SECRET_BYTES];
	size_t k = 0;
	/* the secret as authenticator apps want it: upper case, no spaces or padding */
	for (const char *p = secret; *p && k < sizeof clean - 1; p++) {
		if (*p == ' ' || *p == '=')
			continue;
		clean[k++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
	}
	clean[k] = 0;
	int rc = -1;
	if (lit(out, cap, &n, "otpauth://totp/") || pct(out, cap, &n, issuer) || lit(out, cap, &n, ":") ||
	    pct(out, cap, &n, account) || lit(out, cap, &n, "?secret=") || lit(out, cap, &n, clean) ||
	    lit(out, cap, &n, "&issuer=") || pct(out, cap, &n, issuer) ||
	    lit(out, cap, &n, "&algorithm=SHA1&digits=6&period=30"))
		goto fail;
	rc = (int)n;
fail:
	sodium_memzero(clean, sizeof clean);
	return rc;
}
