/* Case- and accent-insensitive keys for names (plain C, no Lua). */
#include "fold.h"

#include "arena.h"

#include <stdint.h>
#include <string.h>

/** The base letters of U+00C0..U+00DF (and, lower case, U+00E0..U+00FF); NULL: no letter. */
static const char *const latin1[32] = {
    "a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
};

/** The base letters of U+0100..U+017F (Latin Extended-A). */
static const char *const latin_ext_a[128] = {
    "a", "a", "a",  "a",  "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", /* 0100 */
    "d", "d", "e",  "e",  "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g", /* 0110 */
    "g", "g", "g",  "g",  "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i", /* 0120 */
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l", /* 0130 */
    "l", "l", "l",  "n",  "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o", /* 0140 */
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s", /* 0150 */
    "s", "s", "t",  "t",  "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u", /* 0160 */
    "u", "u", "u",  "u",  "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s", /* 0170 */
};

/** Greek letters with an accent or a diaeresis, and the letter without: pairs. */
static const uint16_t greek[][2] = {
    {0x386, 0x3b1}, {0x388, 0x3b5}, {0x389, 0x3b7}, {0x38a, 0x3b9}, {0x38c, 0x3bf}, {0x38e, 0x3c5},
    {0x38f, 0x3c9}, {0x390, 0x3b9}, {0x3aa, 0x3b9}, {0x3ab, 0x3c5}, {0x3ac, 0x3b1}, {0x3ad, 0x3b5},
    {0x3ae, 0x3b7}, {0x3af, 0x3b9}, {0x3b0, 0x3c5}, {0x3c2, 0x3c3}, {0x3ca, 0x3b9}, {0x3cb, 0x3c5},
    {0x3cc, 0x3bf}, {0x3cd, 0x3c5}, {0x3ce, 0x3c9}, {0, 0},
};

/** Decodes the UTF-8 character at *p (before end), advancing *p; an invalid byte is returned
 * as itself plus 0x110000 (never equal to a character) and skipped alone. */
static uint32_t next(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || s + n > end)
		goto bad;
	if (n > 1)
		c &= 0x3fu >> (n - 1);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (s[i] & 0x3fu);
	}
	*p += n;
	return c;
bad:
	*p += 1;
	return 0x110000u + s[0];
}

/** Folds character c into out (at most 4 bytes); returns the bytes written (0: dropped). */
static int fold_char(uint32_t c, char *out)
{
	const char *base = NULL;
	if (c >= 0x110000u) { /* an invalid byte: kept */
		out[0] = (char)(c - 0x110000u);
		return 1;
	}
	if (c < 0x80) {
		out[0] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		return 1;
	}
	if (c >= 0x300 && c <= 0x36f)
		return 0; /* a combining accent (decomposed text) */
	if (c >= 0xc0 && c <= 0xfe)
		base = latin1[(c - 0xc0) & 0x1f];
	else if (c == 0xff)
		base = "y";
	else if (c >= 0x100 && c <= 0x17f)
		base = latin_ext_a[c - 0x100];
	else if (c >= 0x218 && c <= 0x21b)
		base = c < 0x21a ? "s" : "t"; /* Romanian ș ț */
	if (base) {
		size_t n = strlen(base);
		memcpy(out, base, n);
		return (int)n;
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		c += 0x20;
	else if (c >= 0x410 && c <= 0x42f)
		c += 0x20;
	else if (c >= 0x400 && c <= 0x40f)
		c += 0x50;
	for (int i = 0; greek[i][0]; i++)
		if (c == greek[i][0])
			c = greek[i][1];
	if (c == 0x451)
		c = 0x435; /* ё -> е */
	return (int)utf8_put(out, c);
}

size_t fold_text(const char *s, size_t n, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t len = 0, written = 0;
	int full = 0;
	while (p < end) {
		char buf[4];
		int k = fold_char(next(&p, end), buf);
		if (!full && written + (size_t)k < cap) {
			memcpy(out + written, buf, (size_t)k);
			written += (size_t)k;
		} else {
			full = 1; /* later characters are not written either */
		}
		len += (size_t)k;
	}
	if (cap > 0)
		out[written] = 0;
	return len;
}

/** A text being folded a byte at a time: what is left of it and the folded character in hand. */
struct cursor {
	const unsigned char *p, *end;
	char buf[4];
	int len, at;
};

/** The next byte of the fold, or -1 at the end. */
static int next_byte(struct cursor *c)
{
	while (c->at == c->len) {
		if (c->p >= c->end)
			return -1;
		c->len = fold_char(next(&c->p, c->end), c->buf);
		c->at = 0;
	}
	return (unsigned char)c->buf[c->at++];
}

int fold_compare(const char *a, size_t an, const char *b, size_t bn)
{
	/* ASCII folds to itself in small letters: compare that part without the cursors (most names
	   in most companies; a sort of 10,000 compares about 130,000 times) */
	const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
	size_t i = 0, n = an < bn ? an : bn;
	for (; i < n && (ua[i] | ub[i]) < 0x80; i++) {
		unsigned u = ua[i], v = ub[i];
		u += u - 'A' < 26u ? 32u : 0u;
		v += v - 'A' < 26u ? 32u : 0u;
		if (u != v)
			return u < v ? -1 : 1;
	}
	struct cursor x = {ua + i, ua + an, {0}, 0, 0};
	struct cursor y = {ub + i, ub + bn, {0}, 0, 0};
	for (;;) {
		int u = next_byte(&x), v = next_byte(&y);
		if (u != v)
			return u < v ? -1 : 1;
		if (u < 0)
			break;
	}
	int c = memcmp(a, b, an < bn ? an : bn);
	return c != 0 ? c : an < bn ? -1 : an > bn ? 1 : 0;
}
