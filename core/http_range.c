/* Client addresses and address ranges (CIDR) for the HTTP server's per-address limits. */
#include "http_conn.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int http_range_parse(const char *text, http_range_t *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, text, n);
	addr[n] = 0;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, out->bytes) == 1)
		out->len = 4;
	else if (inet_pton(AF_INET6, addr, out->bytes) == 1)
		out->len = 16;
	else
		return -1;
	out->bits = out->len * 8;
	if (slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > out->bits)
			return -1;
		out->bits = (int)bits;
	}
	return 0;
}

int http_addr_bytes(const struct sockaddr_storage *sa, unsigned char out[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (sa->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->ss_family != AF_INET6)
		return 0;
	const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (memcmp(b, mapped, 12) == 0) {
		memcpy(out, b + 12, 4);
		return 4;
	}
	memcpy(out, b, 16);
	return 16;
}

int http_range_contains(const http_range_t *r, const unsigned char *addr, int len)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (len == 16 && r->len == 4 && memcmp(addr, mapped, 12) == 0) {
		addr += 12;
		len = 4;
	}
	if (len != r->len)
		return 0;
	int full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(addr, r->bytes, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[full] & mask) == (r->bytes[full] & mask);
}
