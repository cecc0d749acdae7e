/** A sandbox: customer-written Lua (workflow rules, hooks) in a lua_State of its own, with a
 * memory cap (a counting allocator) and an instruction budget per run (a count hook that a
 * pcall cannot swallow; C library calls that do unbounded work are priced against the same
 * budget). Values go in and come out as bytes (core/sandbox_wire.h), never as shared objects.
 *
 * The environment is an allow-list. Globals are read-only: reading an unknown global raises
 * "unknown global 'x'", assigning any global raises. Library tables (string, table, math, utf8,
 * os) are read-only proxies whose unknown fields raise ("'string.dump' is not available").
 *
 * This is what a sandbox worker process runs (core/sandbox_worker.c); it knows nothing of the
 * server. Every operation runs in a protected call of the sandbox state: an allocation failure
 * there ends that operation with SANDBOX_MEMORY, never the process. */
#ifndef CANDOR_SANDBOX_H
#define CANDOR_SANDBOX_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/** Outcomes of an operation. The first ones are the err.code names scripts and callers see. */
enum sandbox_code {
	SANDBOX_OK,
	SANDBOX_SYNTAX,       /* "syntax": the source does not parse */
	SANDBOX_RUNTIME,      /* "runtime": the script raised an error, or gave back data that cannot leave */
	SANDBOX_INSTRUCTIONS, /* "instructions": over the instruction budget (the sandbox is dead) */
	SANDBOX_MEMORY,       /* "memory": over the memory cap (the sandbox is dead) */
	SANDBOX_FORBIDDEN,    /* "forbidden": the script touched something outside its environment */
	SANDBOX_TIMEOUT,      /* "timeout": the server stopped the worker on its wall-clock deadline */
	SANDBOX_CRASHED,      /* "crashed": the worker process ended without an answer */
	SANDBOX_BATCH,        /* map: the calls together went over the batch budget (not dead) */
	SANDBOX_NOT_LOADED,   /* worker: no script with that id (the server sends it again) */
	SANDBOX_NCODES
};

/** The name of a code ("syntax", "runtime", ...). */
const char *sandbox_code_name(int code);

/** The limits of a sandbox. */
typedef struct sandbox_limits {
	size_t memory;                /* bytes its state may hold */
	long long instructions;       /* per run: the chunk, each call, each call of a map */
	long long batch_instructions; /* all the calls of one map together */
} sandbox_limits_t;

/** Default limits. */
#define SANDBOX_DEFAULT_MEMORY (16 * 1024 * 1024)
#define SANDBOX_DEFAULT_INSTRUCTIONS 50000000LL
#define SANDBOX_MIN_MEMORY (64 * 1024)
/** Values one call may give back. */
#define SANDBOX_MAX_RESULTS 250

/** A host function called by a script: args is a wire message (its arguments). Fills result
 * with a wire message (the values to return) and returns 0, or with an error text (raised in
 * the script as a runtime error) and returns -1. */
typedef int (*sandbox_host_fn)(void *ud, uint32_t fn, const char *args, size_t len, buf_t *result);

/** The sandbox; opaque. */
typedef struct sandbox sandbox_t;

/** Counters of a sandbox. */
typedef struct sandbox_stats {
	size_t memory;          /* bytes its state holds now */
	size_t memory_peak;     /* the most it held */
	long long instructions; /* used by the last operation (to within 10,000) */
	int dead;               /* 0, SANDBOX_INSTRUCTIONS or SANDBOX_MEMORY */
} sandbox_stats_t;

/** A new sandbox with these limits, its environment not yet set up; NULL without memory. */
sandbox_t *sandbox_new(const sandbox_limits_t *lim);
/** Frees it (NULL is fine). */
void sandbox_free(sandbox_t *sb);
/** Sets the function that serves the script's calls of host functions. */
void sandbox_set_host(sandbox_t *sb, sandbox_host_fn fn, void *ud);
/** The counters. */
void sandbox_stats(const sandbox_t *sb, sandbox_stats_t *st);

/* Operations. Each returns a code; on SANDBOX_OK, out gets a wire message (for load: nothing),
 * otherwise the error text. A dead sandbox fails every operation with the same code and text. */

/** Sets up the environment and runs the chunk (text only, never bytecode); keeps its first
 * result as the module. chunkname: "=name" or "@name". env: a wire message of one value, a
 * table name -> plain data (or nothing: NULL). fns: a wire message of one value, an array of
 * host function names, each "name" or { "library", "name" } (or NULL); the script calls the
 * i-th one as that global and it reaches the host function with fn = i. */
int sandbox_load(sandbox_t *sb, const char *src, size_t len, const char *chunkname, const char *env,
                 size_t env_len, const char *fns, size_t fns_len, buf_t *out);
/** A copy of the module or of the value at path (a wire message of one value: nil, a key, or
 * an array of keys); nil when the path leads nowhere. Functions come out as "<function>". */
int sandbox_data(sandbox_t *sb, const char *path, size_t path_len, buf_t *out);
/** Calls the function at path with args (a wire message) under a fresh budget; out gets its
 * results (at most SANDBOX_MAX_RESULTS). SANDBOX_RUNTIME ("the script has no function at
 * timeline.every") when there is none. */
int sandbox_call(sandbox_t *sb, const char *path, size_t path_len, const char *args, size_t args_len,
                 buf_t *out);
/** Calls the function at path once per element of items (a wire message of one array),
 * fn(items[i], extra...), each call with a fresh budget and all of them within the batch
 * budget. out gets two values: results (i -> the first result) and errors (i -> { code =,
 * message = }) of the calls that raised. A death ends the whole map with its code; running out
 * of the batch budget (batch instructions, or the sandbox's when 0) ends it with SANDBOX_BATCH
 * (the sandbox stays alive). */
int sandbox_map(sandbox_t *sb, const char *path, size_t path_len, const char *items, size_t items_len,
                const char *extra, size_t extra_len, long long batch, buf_t *out);

/** Names every script sees; env and host functions may not use them. NULL-terminated. */
extern const char *const sandbox_builtin_names[];

#endif
