/* Prices of C library calls in the sandbox (see sandbox_price.h). */
#include "sandbox_price.h"

#include <string.h>

/* Skips one single-character class at p (". %a [set] x"); returns the char after it. */
static const char *skip_class(const char *p, const char *end)
{
	if (*p == '%')
		return p + 2 <= end ? p + 2 : end;
	if (*p == '[') {
		p++;
		if (p < end && *p == '^')
			p++;
		do { /* the first ']' is a plain character */
			if (p >= end)
				return end;
			if (*p == '%')
				p++;
			p++;
		} while (p < end && *p != ']');
		return p < end ? p + 1 : end;
	}
	return p + 1;
}

static int is_literal(const char *p, size_t plen)
{
	for (size_t i = 0; i < plen; i++)
		if (p[i] == 0 || strchr("^$*+?.([%-", p[i]))
			return 0;
	return 1;
}

double sandbox_match_cost(const char *p, size_t plen, double n, int anchor_ok)
{
	const char *end = p + plen;
	int anchored = anchor_ok && plen > 0 && *p == '^';
	double cost = (double)plen + 1;
	if (is_literal(p, plen))
		return n * cost; /* literal: Lua compares bytes at each position */
	if (anchored)
		p++;
	while (p < end) {
		if (*p == '(' || *p == ')' || (*p == '$' && p + 1 == end)) {
			p++;
			continue;
		}
		if (*p == '%' && p + 1 < end && p[1] == 'b') {
			p += p + 4 <= end ? 4 : 2;
			cost *= n + 1; /* a balanced match scans ahead */
			continue;
		}
		if (*p == '%' && p + 1 < end && p[1] == 'f') {
			p += 2;
			if (p < end && *p == '[')
				p = skip_class(p, end);
			continue;
		}
		const char *q = skip_class(p, end);
		if (q < end && (*q == '*' || *q == '+' || *q == '-')) {
			q++;
			/* the last item (only ')' after it) never has to give back: linear */
			const char *r = q;
			while (r < end && *r == ')')
				r++;
			if (r < end)
				cost *= n + 1;
		} else if (q < end && *q == '?') {
			cost *= 2;
			q++;
		}
		if (cost > 1e300)
			break;
		p = q;
	}
	return anchored ? cost : cost * (n + 1);
}

double sandbox_searched_length(size_t len, long long init)
{
	if (init < 0)
		init = (long long)len + init + 1;
	if (init < 1)
		init = 1;
	return init > (long long)len ? 0 : (double)((long long)len - init + 1);
}

double sandbox_rep_cost(size_t l, long long n, size_t lsep)
{
	if (n <= 0)
		return 0;
	return (double)n / 4 + (double)n * ((double)l + (double)lsep) / 256.0;
}

double sandbox_span_cost(long long first, long long last)
{
	if (last < first)
		return 0;
	return (double)last - (double)first + 1;
}
