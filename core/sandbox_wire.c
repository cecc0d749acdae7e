/* Plain Lua values as bytes (see sandbox_wire.h).
 *
 * A message: u32 count, then count values. A value is one tag byte and its body:
 *   'n' nil   'f' false   't' true   'i' int64   'd' double (its bits, as int64)
 *   's' u32 length + bytes: a short string
 *   'S' u32 length + bytes: a long string, given the next ref number
 *   'T' u32 pairs, then key, value for each: a table, given the next ref number
 *   'R' u32 ref: the long string or table with that ref, written earlier
 *   'F' (out of a sandbox only): a function, read as the string "<function>"
 * Integers are little-endian. */
#include "sandbox_wire.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACTIVE 1u /* low bit of a map value: the table is being written (a cycle if met again) */

/* ------------------------------------------------------------------ fields */

void wire_put_u8(buf_t *b, unsigned v)
{
	buf_addc(b, (char)(unsigned char)v);
}

void wire_put_u32(buf_t *b, uint32_t v)
{
	unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 24)};
	buf_add(b, c, 4);
}

void wire_put_i64(buf_t *b, int64_t v)
{
	uint64_t u = (uint64_t)v;
	wire_put_u32(b, (uint32_t)u);
	wire_put_u32(b, (uint32_t)(u >> 32));
}

void wire_put_str(buf_t *b, const char *s, size_t n)
{
	wire_put_u32(b, (uint32_t)n);
	buf_add(b, s, n);
}

uint32_t wire_peek_u32(const char *p)
{
	const unsigned char *c = (const unsigned char *)p;
	return (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
}

static const char *take(wire_rd_t *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = 1;
		return NULL;
	}
	const char *p = r->p + r->pos;
	r->pos += n;
	return p;
}

unsigned wire_get_u8(wire_rd_t *r)
{
	const char *p = take(r, 1);
	return p ? (unsigned char)*p : 0;
}

uint32_t wire_get_u32(wire_rd_t *r)
{
	const char *p = take(r, 4);
	return p ? wire_peek_u32(p) : 0;
}

int64_t wire_get_i64(wire_rd_t *r)
{
	uint64_t lo = wire_get_u32(r);
	uint64_t hi = wire_get_u32(r);
	return (int64_t)(lo | hi << 32);
}

const char *wire_get_str(wire_rd_t *r, size_t *n)
{
	uint32_t len = wire_get_u32(r);
	const char *p = take(r, len);
	*n = p ? len : 0;
	return p;
}

/* ------------------------------------------------------------------ the pointer map */

static size_t slot_of(const wire_enc_t *e, const void *key)
{
	uintptr_t h = (uintptr_t)key;
	h ^= h >> 17;
	h *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(h ^ (h >> 29)) & e->mask;
}

/* The map value of key, or 0 when absent. */
static uint32_t map_get(const wire_enc_t *e, const void *key)
{
	if (!e->mask)
		return 0;
	for (size_t i = slot_of(e, key);; i = (i + 1) & e->mask) {
		if (!e->keys[i])
			return 0;
		if (e->keys[i] == key)
			return e->vals[i];
	}
}

static int map_grow(wire_enc_t *e)
{
	size_t size = e->mask ? (e->mask + 1) * 2 : 64;
	void **keys = calloc(size, sizeof *keys);
	uint32_t *vals = calloc(size, sizeof *vals);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	wire_enc_t grown = *e;
	grown.keys = keys;
	grown.vals = vals;
	grown.mask = size - 1;
	for (size_t i = 0; e->mask && i <= e->mask; i++) {
		if (!e->keys[i])
			continue;
		size_t j = slot_of(&grown, e->keys[i]);
		while (keys[j])
			j = (j + 1) & grown.mask;
		keys[j] = e->keys[i];
		vals[j] = e->vals[i];
	}
	free(e->keys);
	free(e->vals);
	e->keys = keys;
	e->vals = vals;
	e->mask = grown.mask;
	return 0;
}

/* Sets key's value (adding it); 0 or -1 (out of memory). */
static int map_set(wire_enc_t *e, const void *key, uint32_t val)
{
	if ((e->used + 1) * 2 > (e->mask ? e->mask + 1 : 0) && map_grow(e) != 0)
		return -1;
	size_t i = slot_of(e, key);
	while (e->keys[i] && e->keys[i] != key)
		i = (i + 1) & e->mask;
	if (!e->keys[i])
		e->used++;
	e->keys[i] = (void *)key;
	e->vals[i] = val;
	return 0;
}

void wire_enc_forget(wire_enc_t *e)
{
	if (e->mask)
		memset(e->keys, 0, (e->mask + 1) * sizeof *e->keys);
	e->used = 0;
}

void wire_enc_free(wire_enc_t *e)
{
	free(e->keys);
	free(e->vals);
	e->keys = NULL;
	e->vals = NULL;
	e->mask = e->used = 0;
	e->nrefs = 0;
}

/* ------------------------------------------------------------------ encoding */

static int refuse(wire_enc_t *e, const char *in, const char *out)
{
	if (!e->err[0])
		snprintf(e->err, sizeof e->err, "%s", e->dir == WIRE_IN ? in : out);
	return -1;
}

static int refuse_type(wire_enc_t *e, const char *type)
{
	if (!e->err[0]) {
		if (e->dir == WIRE_IN)
			snprintf(e->err, sizeof e->err,
			         "a %s cannot go into a sandbox (plain data only: strings, numbers, booleans "
			         "and tables of them)",
			         type);
		else
			snprintf(e->err, sizeof e->err,
			         "the script gave back a value that is not plain data (a %s)", type);
	}
	return -1;
}

static int encode(wire_enc_t *e, lua_State *L, int idx, int depth, buf_t *out);

static int encode_table(wire_enc_t *e, lua_State *L, int idx, int depth, buf_t *out)
{
	const void *p = lua_topointer(L, idx);
	uint32_t seen = map_get(e, p);
	if (seen & ACTIVE)
		return refuse(e, "a table that contains itself (a cycle) cannot go into a sandbox",
		              "the script gave back a table that contains itself (a cycle)");
	if (seen) {
		wire_put_u8(out, 'R');
		wire_put_u32(out, (seen >> 1) - 1);
		return 0;
	}
	if (depth >= SANDBOX_WIRE_MAX_DEPTH)
		return refuse(e, "tables nested more than 32 deep cannot go into a sandbox",
		              "the script gave back tables nested more than 32 deep");
	uint32_t ref = e->nrefs++;
	if (map_set(e, p, (ref + 1) << 1 | ACTIVE) != 0)
		return refuse(e, "out of memory", "out of memory copying the script's data");
	if (!lua_checkstack(L, 3))
		return refuse(e, "out of memory", "the sandbox has no memory left to copy its data out");
	wire_put_u8(out, 'T');
	size_t count_at = out->len;
	wire_put_u32(out, 0);
	uint32_t pairs = 0;
	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int kt = lua_type(L, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
			lua_pop(L, 2);
			return refuse(
			    e, "table keys must be strings, numbers or booleans",
			    "the script gave back a table key that is not a string, number or boolean");
		}
		if (encode(e, L, -2, depth + 1, out) != 0 || encode(e, L, -1, depth + 1, out) != 0) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
		pairs++;
	}
	if (out->oom)
		return refuse(e, "out of memory", "out of memory copying the script's data");
	wire_end_table(out, count_at, pairs);
	map_set(e, p, (ref + 1) << 1); /* done: a second meeting is sharing, not a cycle */
	return 0;
}

static int encode(wire_enc_t *e, lua_State *L, int idx, int depth, buf_t *out)
{
	if (e->max_bytes && out->len > e->max_bytes)
		return refuse(e, "the data is too large to go into a sandbox",
		              "the script gave back more data than a call may return");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		wire_put_u8(out, 'n');
		return 0;
	case LUA_TBOOLEAN:
		wire_put_u8(out, lua_toboolean(L, idx) ? 't' : 'f');
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			wire_put_u8(out, 'i');
			wire_put_i64(out, (int64_t)lua_tointeger(L, idx));
		} else {
			double d = (double)lua_tonumber(L, idx);
			int64_t bits;
			memcpy(&bits, &d, sizeof bits);
			wire_put_u8(out, 'd');
			wire_put_i64(out, bits);
		}
		return 0;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		if (n > UINT32_MAX)
			return refuse(e, "a string is too long to go into a sandbox",
			              "the script gave back a string too long");
		if (n < SANDBOX_WIRE_SHARE_MIN) {
			wire_put_u8(out, 's');
			wire_put_str(out, s, n);
			return 0;
		}
		uint32_t seen = map_get(e, s);
		if (seen) {
			wire_put_u8(out, 'R');
			wire_put_u32(out, (seen >> 1) - 1);
			return 0;
		}
		uint32_t ref = e->nrefs++;
		if (map_set(e, s, (ref + 1) << 1) != 0)
			return refuse(e, "out of memory", "out of memory copying the script's data");
		wire_put_u8(out, 'S');
		wire_put_str(out, s, n);
		return 0;
	}
	case LUA_TTABLE:
		return encode_table(e, L, idx, depth, out);
	case LUA_TFUNCTION:
		if (e->dir == WIRE_OUT) {
			wire_put_u8(out, 'F');
			return 0;
		}
		return refuse_type(e, "function");
	default:
		return refuse_type(e, lua_typename(L, lua_type(L, idx)));
	}
}

int wire_encode(wire_enc_t *e, lua_State *L, int idx, buf_t *out)
{
	if (encode(e, L, lua_absindex(L, idx), 0, out) != 0)
		return -1;
	if (out->oom)
		return refuse(e, "out of memory", "out of memory copying the script's data");
	return 0;
}

size_t wire_begin_table(wire_enc_t *e, buf_t *out)
{
	e->nrefs++;
	wire_put_u8(out, 'T');
	size_t at = out->len;
	wire_put_u32(out, 0);
	return at;
}

void wire_end_table(buf_t *out, size_t at, uint32_t pairs)
{
	if (out->oom || at + 4 > out->len)
		return;
	unsigned char c[4] = {(unsigned char)pairs, (unsigned char)(pairs >> 8), (unsigned char)(pairs >> 16),
	                      (unsigned char)(pairs >> 24)};
	memcpy(out->p + at, c, 4);
}

void wire_put_integer(buf_t *out, int64_t v)
{
	wire_put_u8(out, 'i');
	wire_put_i64(out, v);
}

void wire_put_text(wire_enc_t *e, buf_t *out, const char *s, size_t n)
{
	if (n >= SANDBOX_WIRE_SHARE_MIN)
		e->nrefs++;
	wire_put_u8(out, n >= SANDBOX_WIRE_SHARE_MIN ? 'S' : 's');
	wire_put_str(out, s, n);
}

int wire_encode_values(wire_enc_t *e, lua_State *L, int first, int n, buf_t *out)
{
	wire_put_u32(out, (uint32_t)n);
	for (int i = 0; i < n; i++)
		if (wire_encode(e, L, first + i, out) != 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ decoding */

/** Decoding state: the reader, and the stack index of the table of refs. */
struct dec {
	wire_rd_t r;
	int refs;
	lua_Integer nrefs;
	char *err;
	size_t errlen;
};

static int bad(struct dec *d, const char *msg)
{
	if (!d->err[0])
		snprintf(d->err, d->errlen, "%s", msg);
	return -1;
}

/* Pushes one value. */
static int decode(lua_State *L, struct dec *d, int depth)
{
	if (depth > SANDBOX_WIRE_MAX_DEPTH)
		return bad(d, "the data is nested too deep");
	luaL_checkstack(L, 4, "the data is nested too deep");
	unsigned tag = wire_get_u8(&d->r);
	if (d->r.bad)
		return bad(d, "the data is cut short");
	switch (tag) {
	case 'n':
		lua_pushnil(L);
		return 0;
	case 'f':
	case 't':
		lua_pushboolean(L, tag == 't');
		return 0;
	case 'i': {
		int64_t v = wire_get_i64(&d->r);
		lua_pushinteger(L, (lua_Integer)v);
		break;
	}
	case 'd': {
		int64_t bits = wire_get_i64(&d->r);
		double v;
		memcpy(&v, &bits, sizeof v);
		lua_pushnumber(L, (lua_Number)v);
		break;
	}
	case 's':
	case 'S': {
		size_t n;
		const char *s = wire_get_str(&d->r, &n);
		if (!s)
			return bad(d, "the data is cut short");
		lua_pushlstring(L, s, n);
		if (tag == 'S') {
			lua_pushvalue(L, -1);
			lua_rawseti(L, d->refs, ++d->nrefs);
		}
		return 0;
	}
	case 'F':
		lua_pushliteral(L, "<function>");
		return 0;
	case 'R': {
		uint32_t ref = wire_get_u32(&d->r);
		if (d->r.bad || (lua_Integer)ref >= d->nrefs)
			return bad(d, "the data refers to a value it does not hold");
		lua_rawgeti(L, d->refs, (lua_Integer)ref + 1);
		return 0;
	}
	case 'T': {
		uint32_t pairs = wire_get_u32(&d->r);
		if (d->r.bad || pairs > (d->r.len - d->r.pos) / 2)
			return bad(d, "the data is cut short");
		lua_createtable(L, 0, 0);
		lua_pushvalue(L, -1);
		lua_rawseti(L, d->refs, ++d->nrefs);
		for (uint32_t i = 0; i < pairs; i++) {
			if (decode(L, d, depth + 1) != 0)
				return -1;
			int kt = lua_type(L, -1);
			if (kt == LUA_TNIL ||
			    (kt == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1)))
				return bad(d, "the data has a table key that is nil or NaN");
			if (decode(L, d, depth + 1) != 0)
				return -1;
			lua_rawset(L, -3);
		}
		return 0;
	}
	default:
		return bad(d, "the data is not in the sandbox format");
	}
	if (d->r.bad)
		return bad(d, "the data is cut short");
	return 0;
}

int wire_decode_values(lua_State *L, const char *p, size_t len, size_t *used, int max_values, char *err,
                       size_t errlen)
{
	struct dec d = {.r = {.p = p, .len = len}, .err = err, .errlen = errlen};
	err[0] = 0;
	uint32_t n = wire_get_u32(&d.r);
	if (d.r.bad)
		return bad(&d, "the data is cut short");
	if (n > (uint32_t)max_values)
		return bad(&d, "too many values");
	int top = lua_gettop(L);
	luaL_checkstack(L, (int)n + 4, "too many values");
	lua_newtable(L);
	d.refs = lua_gettop(L);
	for (uint32_t i = 0; i < n; i++)
		if (decode(L, &d, 0) != 0) {
			lua_settop(L, top);
			return -1;
		}
	lua_remove(L, d.refs);
	if (used)
		*used = d.r.pos;
	return (int)n;
}
