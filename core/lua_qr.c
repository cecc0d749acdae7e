/* core.qr: QR codes as standalone SVG (for the 2-step enrolment page) over core/qr.c. */
#include "host.h"

#include "qr.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

/** Argument i as text for a code: a non-empty string without NUL bytes. */
static const char *check_text(lua_State *L, int i)
{
	size_t n;
	const char *s = luaL_checklstring(L, i, &n);
	luaL_argcheck(L, n > 0 && strlen(s) == n, i, "non-empty text without NUL bytes");
	return s;
}

/** Reads integer option name of table idx (default def, bounds lo..hi). */
static int opt_int(lua_State *L, int idx, const char *name, int def, int lo, int hi)
{
	int v = def;
	if (lua_getfield(L, idx, name) != LUA_TNIL) {
		int ok;
		lua_Integer n = lua_tointegerx(L, -1, &ok);
		if (!ok || n < lo || n > hi)
			luaL_error(L, "bad option '%s' to 'svg' (an integer %d..%d)", name, lo, hi);
		v = (int)n;
	}
	lua_pop(L, 1);
	return v;
}

/** Encodes text (argument 1) at level, pushing nil, err and returning 0 on failure. */
static int encode(lua_State *L, const char *text, enum qr_level level, qr_t *q)
{
	const char *code;
	if (qr_encode(text, level, q, &code) == 0)
		return 1;
	if (strcmp(code, "too_long") == 0)
		host_fail(L, "too_long", "the text (%d bytes) does not fit in a QR code at this level",
		          (int)lua_rawlen(L, 1));
	else
		host_fail(L, "qr", "libqrencode could not encode the text");
	return 0;
}

/** qr.svg(text [, {module=4, margin=4, level="M"}]) -> SVG text | nil, err */
static int l_svg(lua_State *L)
{
	const char *text = check_text(L, 1);
	int module = 4, margin = 4;
	enum qr_level level = QR_M;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		module = opt_int(L, 2, "module", 4, 1, 64);
		margin = opt_int(L, 2, "margin", 4, 0, 64);
		static const char *const levels[] = {"L", "M", "Q", "H", NULL};
		lua_getfield(L, 2, "level");
		if (!lua_isnil(L, -1)) {
			const char *name = lua_tostring(L, -1);
			int i = 0;
			while (levels[i] && (!name || strcmp(levels[i], name) != 0))
				i++;
			if (!levels[i])
				return luaL_error(
				    L, "bad option 'level' to 'svg' (invalid option: L, M, Q or H)");
			level = (enum qr_level)i;
		}
		lua_pop(L, 1);
	}
	qr_t q;
	if (!encode(L, text, level, &q))
		return 2;
	size_t len = 0;
	char *svg = qr_svg(&q, module, margin, &len);
	qr_free(&q);
	if (!svg)
		return luaL_error(L, "out of memory");
	lua_pushlstring(L, svg, len);
	free(svg);
	return 1;
}

/** qr.matrix(text [, level="M"]) -> width, { "0101...", ... } (one string per row), version
 * | nil, err */
static int l_matrix(lua_State *L)
{
	const char *text = check_text(L, 1);
	static const char *const levels[] = {"L", "M", "Q", "H", NULL};
	enum qr_level level = (enum qr_level)luaL_checkoption(L, 2, "M", levels);
	qr_t q;
	if (!encode(L, text, level, &q))
		return 2;
	lua_pushinteger(L, q.width);
	lua_createtable(L, q.width, 0);
	luaL_Buffer b;
	for (int y = 0; y < q.width; y++) {
		char *p = luaL_buffinitsize(L, &b, (size_t)q.width);
		for (int x = 0; x < q.width; x++)
			p[x] = q.dark[(size_t)y * (size_t)q.width + (size_t)x] ? '1' : '0';
		luaL_pushresultsize(&b, (size_t)q.width);
		lua_rawseti(L, -2, y + 1);
	}
	lua_pushinteger(L, q.version);
	qr_free(&q);
	return 3;
}

int luaopen_core_qr(lua_State *L)
{
	static const luaL_Reg fns[] = {{"svg", l_svg}, {"matrix", l_matrix}, {NULL, NULL}};
	luaL_newlib(L, fns);
	return 1;
}
