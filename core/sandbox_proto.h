/** The protocol between the server and a sandbox worker process (candor sandbox-worker): frames
 * over one Unix stream socket, the worker's stdin and stdout. A frame is a u32 length (of what
 * follows, little-endian) then a type byte and its fields (core/sandbox_wire.h writes them;
 * "str" is a u32 length and bytes, "msg" a str holding a wire message of values).
 *
 * Server -> worker, one request at a time:
 *   LOAD   id u32, now_ms i64, memory i64, instructions i64, batch i64, chunkname str, source str,
 *          env str (msg or empty), fns str (msg or empty)        (no reply: a failure is kept and
 *                                                                  is the reply to the next request on id)
 *   STAT   id u32, now_ms i64                                    -> REPLY (no payload)
 *   DATA   id u32, now_ms i64, path msg                          -> REPLY
 *   CALL   id u32, now_ms i64, path msg, args msg                -> REPLY
 *   MAP    id u32, now_ms i64, batch i64, path msg, items msg, extra msg   -> REPLY
 *   FREE   id u32                                                (no reply)
 *   ANSWER ok u8, results msg | error text                       (to a CALLBACK)
 * Worker -> server:
 *   READY    (nothing): sent once, when the process is up; no request is written before it
 *   REPLY    code u8 (enum sandbox_code), memory i64, memory_peak i64, instructions i64,
 *            dead u8, held u8 (the worker still holds the script), payload str (results msg,
 *            or the error text)
 *   CALLBACK fn u32, args msg: the script called host function fn; the worker waits for ANSWER
 *
 * The server checks every frame a worker sends (a worker runs customer code: it may have been
 * subverted) and kills the worker on anything malformed. */
#ifndef CANDOR_SANDBOX_PROTO_H
#define CANDOR_SANDBOX_PROTO_H

#include "buf.h"
#include "sandbox.h"

#include <stddef.h>
#include <stdint.h>

/** Frame types. */
enum sbp_type {
	SBP_LOAD = 'L',
	SBP_STAT = 'S',
	SBP_DATA = 'D',
	SBP_CALL = 'C',
	SBP_MAP = 'M',
	SBP_FREE = 'X',
	SBP_ANSWER = 'A',
	SBP_REPLY = 'R',
	SBP_CALLBACK = 'B',
	SBP_READY = 'Y',
};

/** The largest frame either side accepts. */
#define SBP_MAX_FRAME (96u * 1024 * 1024)
/** The most a reply's results may take (the rest of a frame is small). */
#define SBP_MAX_RESULTS_BYTES (64u * 1024 * 1024)

/** A LOAD request, as written or read. */
typedef struct sbp_load {
	uint32_t id;          /* the script's id in the worker */
	int64_t now_ms;       /* the server's clock (virtual in tests) */
	sandbox_limits_t lim; /* its limits */
	const char *name;     /* chunk name ("=x.lua"), 1 to 255 bytes */
	size_t name_len;
	const char *src; /* its source */
	size_t src_len;
	const char *env; /* wire message of its constants (len 0: none) */
	size_t env_len;
	const char *fns; /* wire message of its host function names (len 0: none) */
	size_t fns_len;
} sbp_load_t;

/** A REPLY, as written or read. */
typedef struct sbp_reply {
	int code;            /* enum sandbox_code */
	sandbox_stats_t st;  /* the sandbox's counters after the request */
	int held;            /* the worker still holds the script */
	const char *payload; /* results (a wire message) or the error text */
	size_t payload_len;
} sbp_reply_t;

/** Appends a whole LOAD frame to b. */
void sbp_put_load(buf_t *b, const sbp_load_t *l);
/** Reads a LOAD frame's fields (after its type byte); 0, or -1 when malformed. The strings point
 * into p. */
int sbp_get_load(const char *p, size_t n, sbp_load_t *l);
/** Appends a whole REPLY frame to b. */
void sbp_put_reply(buf_t *b, const sbp_reply_t *r);
/** Reads a REPLY frame's fields (after its type byte); 0, or -1 when malformed. payload points
 * into p. */
int sbp_get_reply(const char *p, size_t n, sbp_reply_t *r);
/** Appends a frame length placeholder and type to b; returns the frame's start for
 * sbp_frame_end. */
size_t sbp_frame_begin(buf_t *b, unsigned type);
/** Sets the length of the frame begun at start. */
void sbp_frame_end(buf_t *b, size_t start);

/** Runs a worker on stdin/stdout: argv[2] is the server's pid. Returns the exit status. */
int sandbox_worker_main(int argc, char **argv);

#endif
