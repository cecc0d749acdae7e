/* core.xlsx: Excel exports over core/xlsx.c. The Lua description is copied into C structures
 * on the loop, then the workbook is written on the libuv thread pool while the task waits. */
#include "host.h"

#include "arena.h"
#include "lua_desc.h"
#include "xlsx.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** Copies the UTF-8 string on top of the stack (a number is written as Lua writes it). */
static int copy_text(desc_copy_t *c, const char *what, const char **out)
{
	return desc_text(c, what, XLSX_MAX_STRING, out);
}

/** Optional string field name of the table at idx (absolute) into *out (NULL when absent). */
static int opt_string(desc_copy_t *c, int idx, const char *name, const char *what, const char **out)
{
	int rc = 0;
	*out = NULL;
	int t = desc_field(c->L, idx, name);
	if (t == LUA_TSTRING)
		rc = copy_text(c, what, out);
	else if (t != LUA_TNIL)
		rc = desc_bad(c, "%s must be a string, not a %s", what, lua_typename(c->L, t));
	lua_pop(c->L, 1);
	return rc;
}

static const char *const type_names[] = {"text", "number", "date", "percent", NULL};

/** Copies column k (1-based) of sheet si from the table on top of the stack. */
static int copy_column(desc_copy_t *c, int si, int k, xlsx_column_t *col)
{
	lua_State *L = c->L;
	int idx = lua_gettop(L);
	char what[96];
	if (!lua_istable(L, idx))
		return desc_bad(c, "sheets[%d].columns[%d] must be a table, not a %s", si, k,
		                luaL_typename(L, idx));
	snprintf(what, sizeof what, "sheets[%d].columns[%d].header", si, k);
	if (desc_field(L, idx, "header") != LUA_TSTRING)
		return desc_bad(c, "%s must be a string, not a %s", what, luaL_typename(L, -1));
	if (copy_text(c, what, &col->header) != 0)
		return -1;
	lua_pop(L, 1);
	int t = desc_field(L, idx, "width");
	if (t != LUA_TNIL) {
		lua_Number w = lua_tonumber(L, -1);
		if (t != LUA_TNUMBER || !(w > 0 && w <= 255))
			return desc_bad(
			    c, "sheets[%d].columns[%d].width must be a number of characters 1..255", si, k);
		col->width = w;
	}
	lua_pop(L, 1);
	t = desc_field(L, idx, "type");
	col->type = XLSX_TEXT;
	if (t != LUA_TNIL) {
		const char *tn = t == LUA_TSTRING ? lua_tostring(L, -1) : "";
		int found = -1;
		for (int i = 0; type_names[i]; i++)
			if (strcmp(tn, type_names[i]) == 0)
				found = i;
		if (found < 0)
			return desc_bad(
			    c, "sheets[%d].columns[%d].type must be text, number, date or percent", si, k);
		col->type = (xlsx_type_t)found;
	}
	lua_pop(L, 1);
	snprintf(what, sizeof what, "sheets[%d].columns[%d].format", si, k);
	return opt_string(c, idx, "format", what, &col->format);
}

/** Copies the value on top of the stack into cell, as column col wants it. */
static int copy_cell(desc_copy_t *c, int si, int r, int k, const xlsx_column_t *col, xlsx_cell_t *cell)
{
	lua_State *L = c->L;
	int t = lua_type(L, -1);
	char what[96];
	snprintf(what, sizeof what, "sheets[%d].rows[%d][%d]", si, r, k);
	if (t == LUA_TNIL) {
		cell->kind = XLSX_BLANK;
		return 0;
	}
	if (col->type == XLSX_TEXT) {
		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			return desc_bad(c, "%s must be text or a number, not a %s", what, lua_typename(L, t));
		cell->kind = XLSX_STRING;
		return copy_text(c, what, &cell->s);
	}
	if (t == LUA_TNUMBER) {
		lua_Number v = lua_tonumber(L, -1);
		if (!isfinite(v))
			return desc_bad(c, "%s is not a finite number", what);
		cell->kind = XLSX_VALUE;
		cell->n = col->type == XLSX_DATE ? xlsx_serial_of_unix(v) : v;
		return 0;
	}
	if (col->type == XLSX_DATE && t == LUA_TSTRING) {
		cell->kind = XLSX_VALUE;
		if (xlsx_parse_date(lua_tostring(L, -1), &cell->n) != 0)
			return desc_bad(c, "%s is not a date like 2026-01-31 or 2026-01-31T09:00:00Z", what);
		return 0;
	}
	return desc_bad(c, "%s must be a %s, not a %s", what,
	                col->type == XLSX_DATE ? "date (unix seconds or \"YYYY-MM-DD\")" : "number",
	                lua_typename(L, t));
}

/** Copies sheet si from the table on top of the stack. */
static int copy_sheet(desc_copy_t *c, int si, xlsx_sheet_t *s)
{
	lua_State *L = c->L;
	int idx = lua_gettop(L);
	char what[64];
	if (!lua_istable(L, idx))
		return desc_bad(c, "sheets[%d] must be a table, not a %s", si, luaL_typename(L, idx));
	snprintf(what, sizeof what, "sheets[%d].name", si);
	if (opt_string(c, idx, "name", what, &s->name) != 0)
		return -1;
	desc_field(L, idx, "freeze_header");
	s->freeze_header = lua_toboolean(L, -1);
	desc_field(L, idx, "autofilter");
	s->autofilter = lua_toboolean(L, -1);
	lua_pop(L, 2);
	if (desc_field(L, idx, "columns") != LUA_TTABLE)
		return desc_bad(c, "sheets[%d].columns must be a table of columns", si);
	size_t ncols = lua_rawlen(L, -1);
	if (ncols == 0 || ncols > XLSX_MAX_COLS)
		return desc_bad(c, "sheets[%d].columns must hold 1..%d columns", si, XLSX_MAX_COLS);
	s->ncols = (int)ncols;
	s->cols = arena_alloc(c->a, ncols * sizeof *s->cols);
	if (!s->cols)
		return desc_bad(c, "out of memory");
	for (int k = 1; k <= s->ncols; k++) {
		lua_rawgeti(L, -1, k);
		if (copy_column(c, si, k, &s->cols[k - 1]) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	int t = desc_field(L, idx, "rows");
	if (t != LUA_TTABLE && t != LUA_TNIL)
		return desc_bad(c, "sheets[%d].rows must be a table of rows", si);
	size_t nrows = t == LUA_TNIL ? 0 : lua_rawlen(L, -1);
	if (nrows > XLSX_MAX_ROWS)
		return desc_bad(c, "sheets[%d] has more than %d rows", si, XLSX_MAX_ROWS);
	s->nrows = (int)nrows;
	s->cells = arena_alloc(c->a, (nrows ? nrows : 1) * ncols * sizeof *s->cells);
	if (!s->cells)
		return desc_bad(c, "out of memory");
	for (int r = 1; r <= s->nrows; r++) {
		if (lua_rawgeti(L, -1, r) != LUA_TTABLE)
			return desc_bad(c,
			                "sheets[%d].rows[%d] must be a table (an array of values), not a %s",
			                si, r, luaL_typename(L, -1));
		if (lua_rawlen(L, -1) > ncols)
			return desc_bad(c, "sheets[%d].rows[%d] has %d values but the sheet has %d columns",
			                si, r, (int)lua_rawlen(L, -1), s->ncols);
		for (int k = 1; k <= s->ncols; k++) {
			lua_rawgeti(L, -1, k);
			xlsx_cell_t *cell = &s->cells[(size_t)(r - 1) * ncols + (size_t)(k - 1)];
			if (copy_cell(c, si, r, k, &s->cols[k - 1], cell) != 0)
				return -1;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/** Copies the workbook description at idx. 0, or -1 with c->err set. */
static int copy_book(desc_copy_t *c, int idx, xlsx_book_t *b)
{
	lua_State *L = c->L;
	if (opt_string(c, idx, "title", "title", &b->title) != 0 ||
	    opt_string(c, idx, "author", "author", &b->author) != 0)
		return -1;
	int t = desc_field(L, idx, "created");
	if (t != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
			return desc_bad(c, "created must be a unix time in whole seconds");
		b->created = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	if (desc_field(L, idx, "sheets") != LUA_TTABLE)
		return desc_bad(c, "sheets must be a table of sheets");
	size_t n = lua_rawlen(L, -1);
	if (n == 0 || n > 1000)
		return desc_bad(c, "sheets must hold 1..1000 sheets");
	b->nsheets = (int)n;
	b->sheets = arena_alloc(c->a, n * sizeof *b->sheets);
	if (!b->sheets)
		return desc_bad(c, "out of memory");
	for (int i = 1; i <= b->nsheets; i++) {
		lua_rawgeti(L, -1, i);
		if (copy_sheet(c, i, &b->sheets[i - 1]) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/** A workbook being written on the thread pool; freed by release_write. */
struct xlsx_job {
	pool_job_t job;
	arena_t arena; /* owns book and the paths */
	xlsx_book_t book;
	const char *path;   /* target file, or NULL to return the bytes */
	const char *tmpdir; /* for the temporary file when returning bytes */
	int rc;             /* 0 or -1 */
	const char *code;   /* error code when rc is -1 */
	char err[512];
	char *bytes; /* malloc'd file contents (bytes mode) */
	size_t len;
};

/** Reads the whole file at path into a malloc'd buffer. 0 or -1. */
static int read_all(const char *path, char **out, size_t *len)
{
	int rc = -1;
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0)
		goto fail;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto fail;
	*out = buf;
	*len = (size_t)st.st_size;
	buf = NULL;
	rc = 0;
fail:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

/* on a pool thread: write to a temporary file, then rename it into place or read it back */
static void run_write(pool_job_t *pj)
{
	struct xlsx_job *j = (struct xlsx_job *)pj;
	char tmp[4200];
	j->rc = -1;
	j->code = "io";
	if (j->path)
		snprintf(tmp, sizeof tmp, "%s.XXXXXX", j->path);
	else
		snprintf(tmp, sizeof tmp, "%s/candor-xlsx-XXXXXX", j->tmpdir);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(j->err, sizeof j->err, "cannot create a file next to %.300s: %s",
		         j->path ? j->path : tmp, strerror(errno));
		return;
	}
	close(fd);
	if (xlsx_write(&j->book, tmp, j->err, sizeof j->err) != 0) {
		j->code = "xlsx";
		goto fail;
	}
	if (j->path && rename(tmp, j->path) != 0) {
		snprintf(j->err, sizeof j->err, "cannot write %.300s: %s", j->path, strerror(errno));
		goto fail;
	}
	if (!j->path && read_all(tmp, &j->bytes, &j->len) != 0) {
		snprintf(j->err, sizeof j->err, "cannot read back the workbook: %s", strerror(errno));
		goto fail;
	}
	j->rc = 0;
fail:
	if (!j->path || j->rc != 0)
		unlink(tmp);
}

/* back on the loop: the result for the task */
static int push_write(pool_job_t *pj, lua_State *co)
{
	struct xlsx_job *j = (struct xlsx_job *)pj;
	if (j->rc != 0)
		return host_fail(co, j->code, "%s", j->err);
	if (j->path)
		lua_pushboolean(co, 1);
	else
		lua_pushlstring(co, j->bytes, j->len);
	return 1;
}

static void release_write(pool_job_t *pj)
{
	struct xlsx_job *j = (struct xlsx_job *)pj;
	free(j->bytes);
	arena_free(&j->arena);
	free(j);
}

/** Starts writing the description at index spec (to path, or to bytes when path is NULL). */
static int start_write(lua_State *L, const char *path, int spec)
{
	task_t *t = task_check_async(L);
	luaL_checktype(L, spec, LUA_TTABLE);
	struct xlsx_job *j = calloc(1, sizeof *j);
	if (!j)
		return luaL_error(L, "out of memory");
	desc_copy_t c = {.L = L, .a = &j->arena};
	int top = lua_gettop(L);
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	if (copy_book(&c, spec, &j->book) != 0)
		goto fail;
	j->path = path ? arena_strndup(&j->arena, path, strlen(path)) : NULL;
	j->tmpdir = arena_strndup(&j->arena, tmpdir, strlen(tmpdir));
	if ((path && !j->path) || !j->tmpdir) {
		desc_bad(&c, "out of memory");
		goto fail;
	}
	j->job.run = run_write;
	j->job.push = push_write;
	j->job.release = release_write;
	j->job.what = "the export";
	return pool_job_wait(L, t, &j->job);
fail:
	lua_settop(L, top);
	arena_free(&j->arena);
	free(j);
	return luaL_argerror(L, spec, c.err);
}

/** xlsx.write(path, spec) -> true | nil, err (waits; written on the thread pool) */
static int l_write(lua_State *L)
{
	size_t n;
	const char *path = luaL_checklstring(L, 1, &n);
	luaL_argcheck(L, n > 0 && n < 4096 && strlen(path) == n, 1, "a file path");
	return start_write(L, path, 2);
}

/** xlsx.write_string(spec) -> the .xlsx file as a string | nil, err (waits) */
static int l_write_string(lua_State *L)
{
	return start_write(L, NULL, 1);
}

/** xlsx.sheet_name(name) -> the name Excel will show (sanitised, at most 31 characters) */
static int l_sheet_name(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_argcheck(L, utf8_valid(s, n), 1, "UTF-8 text");
	char out[128];
	xlsx_sheet_name(s, out, sizeof out);
	lua_pushstring(L, out);
	return 1;
}

int luaopen_core_xlsx(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"write", l_write},
	    {"write_string", l_write_string},
	    {"sheet_name", l_sheet_name},
	    {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
