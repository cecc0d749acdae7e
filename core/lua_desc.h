/** Copying a Lua description (a table of plain data the application built) into C structures in
 * an arena, for the bindings that hand work to the thread pool (core.xlsx, core.pdf): where the
 * copies go, the first complaint, and the readers both need. Not a Lua module. */
#ifndef CANDOR_LUA_DESC_H
#define CANDOR_LUA_DESC_H

#include "arena.h"

#include <lua.h>
#include <stddef.h>

/** A copy in progress. */
typedef struct desc_copy {
	lua_State *L;  /* the description's state */
	arena_t *a;    /* where the copies go */
	char err[400]; /* the first complaint */
} desc_copy_t;

/** Records a complaint about the description (printf-style); returns -1. */
int desc_bad(desc_copy_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Pushes t[name] of the table at idx (absolute or relative) without metamethods; returns its
 * type. */
int desc_field(lua_State *L, int idx, const char *name);
/** Copies the string or number on top of the stack into the arena: UTF-8 text without NUL of at
 * most max bytes (what names it in complaints). 0, or -1 with the complaint in c->err. */
int desc_text(desc_copy_t *c, const char *what, size_t max, const char **out);

#endif
