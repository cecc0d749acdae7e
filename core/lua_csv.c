/* core.csv: CSV text into rows over libcsv, strictly as RFC 4180 says (a quote only opens a
 * field or doubles inside a quoted one; spaces are data), with a leading UTF-8 byte order mark
 * dropped and CRLF, LF (or CR) line ends.
 *
 *   local rows, lines = csv.parse(text [, { delimiter = "," }])
 *   -- rows: { {"email", "name"}, {"ann@x.com", "Ann"}, ... }  (every field a string)
 *   -- lines: lines[i] is the line of the text that rows[i] starts on (1-based)
 *   -- on malformed text: nil, { code = "parse", message = "line 3: ...", line = 3 }
 *
 * Lines are physical lines of the text: a row whose quoted field holds line breaks covers
 * several, and blank lines are skipped (they are not rows). */
#include "host.h"

#include <csv.h>
#include <lauxlib.h>
#include <string.h>

/** Metatable of the parser userdata (freed by __gc when a Lua error ends the parse early). */
#define PARSER_MT "core.csv.parser"

/** The parser and whether its buffer is still to be freed. */
struct parser {
	struct csv_parser p;
	int live; /* csv_init succeeded and csv_free has not run */
};

/** What the libcsv callbacks build on L's stack: rows at `rows`, line numbers at `lines`,
 * and the row in progress on top while it has fields. */
struct build {
	lua_State *L;
	int rows, lines;      /* stack indexes of the two result tables */
	lua_Integer nrows;    /* rows finished */
	lua_Integer nfields;  /* fields in the row in progress */
	lua_Integer line;     /* the line the next row to begin starts on */
	lua_Integer row_line; /* the line the row in progress started on */
};

/** libcsv field callback: appends the field to the row in progress (opening one first). */
static void on_field(void *s, size_t len, void *data)
{
	struct build *b = data;
	lua_State *L = b->L;
	if (b->nfields == 0) {
		lua_createtable(L, 8, 0);
		b->row_line = b->line;
	}
	lua_pushlstring(L, s ? (const char *)s : "", s ? len : 0);
	lua_rawseti(L, -2, ++b->nfields);
}

/** libcsv row callback: moves the row in progress into the rows table. */
static void on_row(int c, void *data)
{
	(void)c;
	struct build *b = data;
	lua_State *L = b->L;
	if (b->nfields == 0) { /* not expected from libcsv, but an empty row is still a row */
		lua_createtable(L, 0, 0);
		b->row_line = b->line;
	}
	lua_rawseti(L, b->rows, ++b->nrows);
	lua_pushinteger(L, b->row_line);
	lua_rawseti(L, b->lines, b->nrows);
	b->nfields = 0;
}

/** Spaces are data in RFC 4180: nothing is trimmed. */
static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

static int parser_gc(lua_State *L)
{
	struct parser *ps = luaL_checkudata(L, 1, PARSER_MT);
	if (ps->live) {
		csv_free(&ps->p);
		ps->live = 0;
	}
	return 0;
}

/** nil, { code = "parse", message = "line N: what", line = N }: returns 2. */
static int parse_error(lua_State *L, lua_Integer line, const char *what)
{
	host_fail(L, "parse", "line %d: %s", (int)line, what);
	lua_pushinteger(L, line);
	lua_setfield(L, -2, "line");
	return 2;
}

/** csv.parse(text [, { delimiter = "," }]) -> rows, lines | nil, err */
static int l_parse(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	unsigned char delim = CSV_COMMA;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		if (lua_getfield(L, 2, "delimiter") != LUA_TNIL) {
			size_t dl;
			const char *d = lua_tolstring(L, -1, &dl);
			luaL_argcheck(L, d && dl == 1 && d[0] != '"' && d[0] != '\r' && d[0] != '\n', 2,
			              "delimiter must be one character other than a quote or a line break");
			delim = (unsigned char)d[0];
		}
		lua_pop(L, 1);
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* byte order mark */
		text += 3;
		len -= 3;
	}

	struct parser *ps = lua_newuserdatauv(L, sizeof *ps, 0);
	ps->live = 0;
	luaL_setmetatable(L, PARSER_MT);
	if (csv_init(&ps->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return host_fail(L, "nomem", "out of memory");
	ps->live = 1;
	csv_set_delim(&ps->p, delim);
	csv_set_space_func(&ps->p, no_space);

	lua_newtable(L);
	lua_newtable(L);
	struct build b = {.L = L, .rows = lua_gettop(L) - 1, .lines = lua_gettop(L), .line = 1};

	/* one line at a time, so that the callbacks know which line a row starts on: outside a
	 * quoted field (an even number of quote characters so far: strict quoting guarantees it)
	 * the next row starts on the line about to be fed */
	int in_quotes = 0;
	lua_Integer lineno = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;
		lineno++;
		if (!in_quotes)
			b.line = lineno;
		if (csv_parse(&ps->p, text + pos, n, on_field, on_row, &b) != n) {
			int e = csv_error(&ps->p);
			return parse_error(L, lineno,
			                   e == CSV_EPARSE
			                       ? "a quote inside a field that does not start with one, or "
			                         "text after a closing quote "
			                         "(write a quote inside a quoted field as two quotes: \"\")"
			                       : csv_strerror(e));
		}
		for (size_t i = 0; i < n; i++)
			if (text[pos + i] == '"')
				in_quotes = !in_quotes;
		pos += n;
	}
	if (csv_fini(&ps->p, on_field, on_row, &b) != 0) {
		int e = csv_error(&ps->p);
		return parse_error(L, b.line,
		                   e == CSV_EPARSE ? "a quoted field that starts here is never closed"
		                                   : csv_strerror(e));
	}
	csv_free(&ps->p);
	ps->live = 0;
	return 2;
}

int luaopen_core_csv(lua_State *L)
{
	if (luaL_newmetatable(L, PARSER_MT)) {
		lua_pushcfunction(L, parser_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	static const luaL_Reg fns[] = {
	    {"parse", l_parse},
	    {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
