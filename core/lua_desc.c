/* Copying a Lua description into C structures (see lua_desc.h). */
#include "lua_desc.h"

#include <stdarg.h>
#include <stdio.h>

int desc_bad(desc_copy_t *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

int desc_field(lua_State *L, int idx, const char *name)
{
	lua_pushstring(L, name);
	return lua_rawget(L, idx < 0 ? idx - 1 : idx);
}

int desc_text(desc_copy_t *c, const char *what, size_t max, const char **out)
{
	int t = lua_type(c->L, -1);
	if (t != LUA_TSTRING && t != LUA_TNUMBER)
		return desc_bad(c, "%s must be text, not %s", what, lua_typename(c->L, t));
	size_t n;
	const char *s = lua_tolstring(c->L, -1, &n);
	if (!utf8_valid(s, n))
		return desc_bad(c, "%s is not valid UTF-8 text (or contains a NUL byte)", what);
	if (n > max)
		return desc_bad(c, "%s is longer than %zu bytes", what, max);
	*out = arena_strndup(c->a, s, n);
	return *out ? 0 : desc_bad(c, "out of memory");
}
