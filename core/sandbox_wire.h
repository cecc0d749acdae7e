/** Plain Lua values as bytes, for crossing between the server and its sandbox workers: nil,
 * booleans, integers, floats, strings and tables of them (keys: strings, numbers, booleans),
 * nested at most SANDBOX_WIRE_MAX_DEPTH deep, without cycles. A table or a long string met
 * twice is written once and referred to after that, so shared data keeps its size.
 *
 * Also the little readers and writers of the frames the server and a worker exchange
 * (core/sandbox_proto.h). Uses the Lua C API but not the Lua host. */
#ifndef CANDOR_SANDBOX_WIRE_H
#define CANDOR_SANDBOX_WIRE_H

#include "buf.h"

#include <lua.h>
#include <stdint.h>

/** Nesting of tables crossing the border. */
#define SANDBOX_WIRE_MAX_DEPTH 32
/** Strings at least this long are written once and referred to after that. */
#define SANDBOX_WIRE_SHARE_MIN 64

/** Which way values go, for the wording of refusals. */
enum wire_dir {
	WIRE_IN, /* into a sandbox: functions and other non-data values are refused */
	WIRE_OUT /* out of a sandbox: functions become the string "<function>" */
};

/** Encoding state; zero-initialise, set dir, and call wire_enc_free when done. */
typedef struct wire_enc {
	enum wire_dir dir;
	uint32_t nrefs;   /* tables and long strings written so far */
	void **keys;      /* open-addressing map: pointer -> ref (index + 1 in vals) */
	uint32_t *vals;   /* ref of the pointer, or UINT32_MAX while its table is being written */
	size_t mask;      /* map size - 1 (a power of two), or 0 before the first insert */
	size_t used;      /* pointers in the map */
	size_t max_bytes; /* refuse to write more than this (0: no limit) */
	char err[200];    /* the first refusal */
} wire_enc_t;

/** Appends the value at idx of L to out. Never allocates in L (L may be a sandbox at its
 * memory cap) and never raises. Returns 0, or -1 with e->err set (out then holds junk). */
int wire_encode(wire_enc_t *e, lua_State *L, int idx, buf_t *out);
/** Frees the encoder's map (it can be reused afterwards). */
void wire_enc_free(wire_enc_t *e);
/** Forgets the values written so far (a later value is written in full even if it was met
 * before) but keeps the ref numbering: for a message whose values are encoded at different
 * moments, between which the garbage collector may reuse addresses. */
void wire_enc_forget(wire_enc_t *e);

/** Writing a message by hand: a table of pairs counted as they are written. Returns where the
 * count goes, for wire_end_table. */
size_t wire_begin_table(wire_enc_t *e, buf_t *out);
/** Sets the count of the table begun at at. */
void wire_end_table(buf_t *out, size_t at, uint32_t pairs);
/** Writes an integer value. */
void wire_put_integer(buf_t *out, int64_t v);
/** Writes a string value (counted as a ref when long, as the decoder does). */
void wire_put_text(wire_enc_t *e, buf_t *out, const char *s, size_t n);

/** Appends a count of values followed by the values at first..first+n-1. */
int wire_encode_values(wire_enc_t *e, lua_State *L, int first, int n, buf_t *out);

/** Reads values written by wire_encode_values from p (len bytes), pushes them on L and
 * returns how many; *used gets the bytes read. Returns -1 with err when the bytes are not a
 * well-formed message (they may come from a compromised worker: everything is checked).
 * Allocates in L: inside a sandbox run it in a protected call. max_values caps the count. */
int wire_decode_values(lua_State *L, const char *p, size_t len, size_t *used, int max_values, char *err,
                       size_t errlen);

/** A bounds-checked reader of frame fields. */
typedef struct wire_rd {
	const char *p;
	size_t len, pos;
	int bad; /* a read went past the end */
} wire_rd_t;

/** Writes a byte, a 32-bit and a 64-bit little-endian integer, a length-prefixed string. */
void wire_put_u8(buf_t *b, unsigned v);
void wire_put_u32(buf_t *b, uint32_t v);
void wire_put_i64(buf_t *b, int64_t v);
void wire_put_str(buf_t *b, const char *s, size_t n);
/** Reads the same (0 / NULL and r->bad set past the end). */
unsigned wire_get_u8(wire_rd_t *r);
uint32_t wire_get_u32(wire_rd_t *r);
int64_t wire_get_i64(wire_rd_t *r);
const char *wire_get_str(wire_rd_t *r, size_t *n);
/** Reads 32 bits at p without bounds checks (frame length prefixes). */
uint32_t wire_peek_u32(const char *p);

#endif
