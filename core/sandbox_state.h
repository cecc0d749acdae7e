/** What core/sandbox.c (the state, its budget and its operations) and core/sandbox_env.c (the
 * environment scripts see) share. Not for other files. */
#ifndef CANDOR_SANDBOX_STATE_H
#define CANDOR_SANDBOX_STATE_H

#include "sandbox.h"

#include <lua.h>

/** Why a sandbox died (it then refuses everything with the same error). */
enum sb_death { SB_ALIVE, SB_INSTRUCTIONS, SB_MEMORY };

struct sandbox {
	lua_State *S;      /* the sandbox state, NULL until set up */
	size_t used;       /* bytes allocated by S */
	size_t limit;      /* cap on used */
	size_t peak;       /* highest used seen */
	void *refused_ptr; /* the last refused request, to see Lua's retry after its GC */
	size_t refused_size;
	int refused;             /* the previous request was refused */
	int dead;                /* enum sb_death */
	long long instr_limit;   /* budget of each run */
	long long batch_limit;   /* budget of all the calls of a map */
	double counted;          /* instructions counted (hook steps and charges), never reset */
	double run_end;          /* counted at which the current run dies */
	double batch_end;        /* counted at which the current map stops (SB_BIG outside maps) */
	int batch_over;          /* the batch budget, not the run's, ran out */
	double run_start;        /* counted when the current operation began */
	long long last_instr;    /* used by the last operation */
	int step;                /* current hook interval */
	int module_ref;          /* registry slot of the chunk's return value */
	int forbidden_ref;       /* registry slot of the last "forbidden" error raised */
	int dead_msg_ref[3];     /* registry slots of the death messages, by enum sb_death */
	sandbox_host_fn host_fn; /* serves calls of host functions */
	void *host_ud;
};

/** What a protected run works on; the fields used depend on the function run. */
struct sb_ctx {
	sandbox_t *sb;
	const char *a;    /* first input: source, path */
	size_t a_len;     /* its length */
	const char *b;    /* second input: env, args, items */
	size_t b_len;     /* its length */
	const char *c;    /* third input: host function names, map's extra arguments */
	size_t c_len;     /* its length */
	const char *name; /* chunk name */
	buf_t *out;       /* results */
	int syntax;       /* the failure was a syntax error */
	int missing;      /* call/map: there is no function at the path */
	int copy_failed;  /* the results could not be copied out (out holds the reason) */
};

/** The sandbox of a sandbox state. */
sandbox_t *sb_of(lua_State *S);
/** Raises the death error; used while a dead sandbox unwinds. */
int sb_raise_dead(lua_State *S);
/** Charges cost instructions for work a C function is about to do; raises when the budget
 * cannot pay for it (the work is then not done). */
void sb_charge(lua_State *S, double cost);
/** Raises a "forbidden" error: "where: text", remembered so the caller can tell it apart. */
int sb_raise_forbidden(lua_State *S, const char *fmt, ...);
/** The lua_CFunction that sets up a fresh state (run protected, with the struct sb_ctx as its
 * light userdata argument): libraries, the allow-listed environment, env constants (ctx->b) and
 * host functions (ctx->c). */
int sb_env_setup(lua_State *S);

#endif
