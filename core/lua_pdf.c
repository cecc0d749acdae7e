/* core.pdf: printable documents (a review, a report) over core/pdf.c. The Lua description is
 * copied into C structures on the loop, then laid out and written on the libuv thread pool
 * while the task waits. */
#include "host.h"

#include "arena.h"
#include "lua_desc.h"
#include "pdf.h"

#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Most blocks in a document. */
#define MAX_BLOCKS 100000
/** Most columns in a table. */
#define MAX_COLS 64
/** Longest text in one place, in bytes. */
#define MAX_TEXT (1 << 20)

/** Copies the value on top of the stack as text: a string or a number (nil gives NULL when
 * optional). keep_newlines keeps "\n" as line breaks. */
static int copy_text(desc_copy_t *c, const char *what, int optional, int keep_newlines, const char **out)
{
	if (lua_isnil(c->L, -1) && optional) {
		*out = NULL;
		return 0;
	}
	if (desc_text(c, what, MAX_TEXT, out) != 0)
		return -1;
	pdf_clean_text((char *)*out, keep_newlines);
	return 0;
}

/** Copies field name of the table at idx as text. */
static int field_text(desc_copy_t *c, int idx, const char *name, const char *what, int optional, int nl,
                      const char **out)
{
	desc_field(c->L, idx, name);
	int rc = copy_text(c, what, optional, nl, out);
	lua_pop(c->L, 1);
	return rc;
}

/** Copies the rows of a kv or table block (field "rows" of the table at idx) into b->cells;
 * ncols 0 takes the widest row. */
static int copy_rows(desc_copy_t *c, int idx, int bi, pdf_block_t *b, int ncols)
{
	lua_State *L = c->L;
	char what[96];
	int t = desc_field(L, idx, "rows");
	if (t != LUA_TTABLE && !(t == LUA_TNIL && b->kind == PDF_TABLE && b->header))
		return desc_bad(c, "blocks[%d].rows must be a table of rows", bi);
	int rows = t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
	if (ncols == 0) {
		for (int r = 1; r <= rows; r++) {
			if (lua_rawgeti(L, -1, r) == LUA_TTABLE && (int)lua_rawlen(L, -1) > ncols)
				ncols = (int)lua_rawlen(L, -1);
			lua_pop(L, 1);
		}
	}
	if (ncols < 1 || ncols > MAX_COLS)
		return desc_bad(c, "blocks[%d] must have 1..%d columns", bi, MAX_COLS);
	if (rows > MAX_BLOCKS)
		return desc_bad(c, "blocks[%d] has more than %d rows", bi, MAX_BLOCKS);
	b->ncols = ncols;
	b->nrows = rows;
	b->cells = arena_alloc(c->a, ((size_t)rows * (size_t)ncols + 1) * sizeof *b->cells);
	if (!b->cells)
		return desc_bad(c, "out of memory");
	for (int r = 1; r <= rows; r++) {
		if (lua_rawgeti(L, -1, r) != LUA_TTABLE)
			return desc_bad(c, "blocks[%d].rows[%d] must be a table (an array of cells), not %s",
			                bi, r, luaL_typename(L, -1));
		if ((int)lua_rawlen(L, -1) > ncols)
			return desc_bad(c, "blocks[%d].rows[%d] has %d cells but the block has %d columns",
			                bi, r, (int)lua_rawlen(L, -1), ncols);
		for (int k = 1; k <= ncols; k++) {
			lua_rawgeti(L, -1, k);
			snprintf(what, sizeof what, "blocks[%d].rows[%d][%d]", bi, r, k);
			if (copy_text(c, what, 1, 1,
			              &b->cells[(size_t)(r - 1) * (size_t)ncols + (size_t)(k - 1)]) != 0)
				return -1;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/** Copies an array of texts (field name of the table at idx) into *out; *n gets its length. */
static int copy_list(desc_copy_t *c, int idx, int bi, const char *name, const char ***out, int *n, int most)
{
	lua_State *L = c->L;
	char what[96];
	*out = NULL;
	int t = desc_field(L, idx, name);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TTABLE)
		return desc_bad(c, "blocks[%d].%s must be a table of texts", bi, name);
	int len = (int)lua_rawlen(L, -1);
	if (len < 1 || len > most)
		return desc_bad(c, "blocks[%d].%s must hold 1..%d texts", bi, name, most);
	*out = arena_alloc(c->a, (size_t)len * sizeof **out);
	if (!*out)
		return desc_bad(c, "out of memory");
	for (int i = 1; i <= len; i++) {
		lua_rawgeti(L, -1, i);
		snprintf(what, sizeof what, "blocks[%d].%s[%d]", bi, name, i);
		if (copy_text(c, what, 0, 0, &(*out)[i - 1]) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	*n = len;
	return 0;
}

/** Copies a graph block: label, x_label, y_label and points = { { x =, y =, label = }... }. */
static int copy_graph(desc_copy_t *c, int idx, int bi, pdf_block_t *b)
{
	lua_State *L = c->L;
	char what[96];
	snprintf(what, sizeof what, "blocks[%d].label", bi);
	if (field_text(c, idx, "label", what, 1, 0, &b->text) != 0 ||
	    field_text(c, idx, "x_label", "x_label", 1, 0, &b->xlabel) != 0 ||
	    field_text(c, idx, "y_label", "y_label", 1, 0, &b->ylabel) != 0)
		return -1;
	int t = desc_field(L, idx, "points");
	int n = t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
	if ((t != LUA_TTABLE && t != LUA_TNIL) || n > PDF_GRAPH_POINTS)
		return desc_bad(c, "blocks[%d].points must be a list of at most %d points", bi,
		                PDF_GRAPH_POINTS);
	for (int i = 1; i <= n; i++) {
		pdf_point_t *p = &b->points[i - 1];
		if (lua_rawgeti(L, -1, i) != LUA_TTABLE)
			return desc_bad(c, "blocks[%d].points[%d] must be a table { x =, y =, label = }", bi,
			                i);
		int pt = lua_gettop(L);
		int tx = desc_field(L, pt, "x"), ty = desc_field(L, pt, "y");
		p->x = lua_tonumber(L, -2);
		p->y = lua_tonumber(L, -1);
		lua_pop(L, 2);
		if (tx != LUA_TNUMBER || ty != LUA_TNUMBER ||
		    !(p->x >= 0 && p->x <= 100 && p->y >= 0 && p->y <= 100))
			return desc_bad(c, "blocks[%d].points[%d] needs x and y from 0 to 100", bi, i);
		snprintf(what, sizeof what, "blocks[%d].points[%d].label", bi, i);
		if (field_text(c, pt, "label", what, 1, 0, &p->label) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	b->npoints = n;
	return 0;
}

static const char *const kinds[] = {"h1",    "h2",        "p",         "kv",    "rating",
                                    "table", "pagebreak", "signature", "graph", NULL};

/** Copies block bi from the table on top of the stack. */
static int copy_block(desc_copy_t *c, int bi, pdf_block_t *b)
{
	lua_State *L = c->L;
	int idx = lua_gettop(L);
	char what[64];
	if (!lua_istable(L, idx))
		return desc_bad(c, "blocks[%d] must be a table, not %s", bi, luaL_typename(L, idx));
	desc_field(L, idx, "type");
	const char *type = lua_tostring(L, -1);
	int k = -1;
	for (int i = 0; type && kinds[i]; i++)
		if (strcmp(type, kinds[i]) == 0)
			k = i;
	lua_pop(L, 1);
	if (k < 0)
		return desc_bad(
		    c, "blocks[%d].type must be h1, h2, p, kv, rating, table, pagebreak, signature or graph",
		    bi);
	b->kind = (pdf_kind_t)k;
	snprintf(what, sizeof what, "blocks[%d].text", bi);
	switch (b->kind) {
	case PDF_H1:
	case PDF_H2:
		return field_text(c, idx, "text", what, 0, 0, &b->text);
	case PDF_P:
		return field_text(c, idx, "text", what, 0, 1, &b->text);
	case PDF_KV:
		return copy_rows(c, idx, bi, b, 2);
	case PDF_TABLE: {
		int n = 0;
		if (copy_list(c, idx, bi, "header", &b->header, &n, MAX_COLS) != 0 ||
		    copy_rows(c, idx, bi, b, n) != 0)
			return -1;
		return 0;
	}
	case PDF_RATING: {
		snprintf(what, sizeof what, "blocks[%d].label", bi);
		if (field_text(c, idx, "label", what, 1, 0, &b->text) != 0)
			return -1;
		int t = desc_field(L, idx, "max");
		b->max = t == LUA_TNIL ? 5 : lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
		lua_pop(L, 1);
		if (b->max < 1 || b->max > 20)
			return desc_bad(c, "blocks[%d].max must be a whole number 1..20", bi);
		t = desc_field(L, idx, "value");
		b->rated = t != LUA_TNIL;
		b->value = lua_tonumber(L, -1);
		lua_pop(L, 1);
		if (b->rated && (t != LUA_TNUMBER || !(b->value >= 0 && b->value <= b->max)))
			return desc_bad(c, "blocks[%d].value must be a number 0..%d (or nil: not rated)", bi,
			                b->max);
		int n = 0;
		if (copy_list(c, idx, bi, "labels", &b->labels, &n, b->max) != 0)
			return -1;
		if (b->labels && n < b->max) {
			/* fewer labels than steps: the top steps have none */
			const char **all = arena_alloc(c->a, (size_t)b->max * sizeof *all);
			if (!all)
				return desc_bad(c, "out of memory");
			memcpy(all, b->labels, (size_t)n * sizeof *all);
			b->labels = all;
		}
		return 0;
	}
	case PDF_SIGNATURE:
		snprintf(what, sizeof what, "blocks[%d].name", bi);
		if (field_text(c, idx, "name", what, 0, 0, &b->text) != 0)
			return -1;
		snprintf(what, sizeof what, "blocks[%d].date", bi);
		return field_text(c, idx, "date", what, 1, 0, &b->date);
	case PDF_PAGEBREAK:
		return 0;
	case PDF_GRAPH:
		return copy_graph(c, idx, bi, b);
	}
	return 0;
}

/** Copies the document description at idx. 0, or -1 with c->err set. */
static int copy_doc(desc_copy_t *c, int idx, pdf_doc_t *d)
{
	lua_State *L = c->L;
	if (field_text(c, idx, "title", "title", 0, 0, &d->title) != 0 ||
	    field_text(c, idx, "subtitle", "subtitle", 1, 0, &d->subtitle) != 0 ||
	    field_text(c, idx, "author", "author", 1, 0, &d->author) != 0)
		return -1;
	int t = desc_field(L, idx, "created");
	if (t != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
			return desc_bad(c, "created must be a unix time in whole seconds");
		d->created = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	if (field_text(c, idx, "fallback_dir", "fallback_dir", 1, 0, &d->fallback_dir) != 0)
		return -1;
	t = desc_field(L, idx, "blocks");
	if (t != LUA_TTABLE && t != LUA_TNIL)
		return desc_bad(c, "blocks must be a table of blocks");
	size_t n = t == LUA_TNIL ? 0 : lua_rawlen(L, -1);
	if (n > MAX_BLOCKS)
		return desc_bad(c, "blocks must hold at most %d blocks", MAX_BLOCKS);
	d->nblocks = (int)n;
	d->blocks = arena_alloc(c->a, (n ? n : 1) * sizeof *d->blocks);
	if (!d->blocks)
		return desc_bad(c, "out of memory");
	for (int i = 1; i <= d->nblocks; i++) {
		lua_rawgeti(L, -1, i);
		if (copy_block(c, i, &d->blocks[i - 1]) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/** A document being rendered on the thread pool; freed by release_render. */
struct pdf_job {
	pool_job_t job;
	arena_t arena; /* owns doc */
	pdf_doc_t doc;
	char regular[4200], bold[4200]; /* font files */
	int rc;                         /* 0 or -1 */
	const char *code;               /* error code when rc is -1 */
	char err[512];
	unsigned char *bytes; /* malloc'd PDF */
	size_t len;
	int pages;
};

/* on a pool thread */
static void run_render(pool_job_t *pj)
{
	struct pdf_job *j = (struct pdf_job *)pj;
	j->rc = pdf_render(&j->doc, j->regular, j->bold, &j->bytes, &j->len, &j->pages, &j->code, j->err,
	                   sizeof j->err);
}

/* back on the loop: the result for the task */
static int push_render(pool_job_t *pj, lua_State *co)
{
	struct pdf_job *j = (struct pdf_job *)pj;
	if (j->rc != 0)
		return host_fail(co, j->code, "%s", j->err);
	lua_pushlstring(co, (const char *)j->bytes, j->len);
	return 1;
}

static void release_render(pool_job_t *pj)
{
	struct pdf_job *j = (struct pdf_job *)pj;
	free(j->bytes);
	arena_free(&j->arena);
	free(j);
}

/** The font folder to use: the description's font_dir, $CANDOR_FONT_DIR, or NULL (search). */
static const char *font_dir(lua_State *L, int idx)
{
	const char *dir = NULL;
	if (idx && desc_field(L, idx, "font_dir") != LUA_TNIL)
		dir = lua_tostring(L, -1); /* stays on the stack, alive until the call returns */
	if (!dir) {
		dir = getenv("CANDOR_FONT_DIR");
		if (dir && !*dir)
			dir = NULL;
	}
	return dir;
}

/** pdf.render(doc) -> PDF bytes | nil, err (waits; laid out on the thread pool) */
static int l_render(lua_State *L)
{
	task_t *t = task_check_async(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	const char *dir = font_dir(L, 1);
	struct pdf_job *j = calloc(1, sizeof *j);
	if (!j)
		return luaL_error(L, "out of memory");
	desc_copy_t c = {.L = L, .a = &j->arena};
	int top = lua_gettop(L);
	if (pdf_find_fonts(dir, j->regular, j->bold, sizeof j->regular, j->err, sizeof j->err) != 0) {
		int n = host_fail(L, "font", "%s", j->err);
		free(j);
		return n;
	}
	if (copy_doc(&c, 1, &j->doc) != 0)
		goto fail;
	j->job.run = run_render;
	j->job.push = push_render;
	j->job.release = release_render;
	j->job.what = "the document";
	return pool_job_wait(L, t, &j->job);
fail:
	lua_settop(L, top);
	arena_free(&j->arena);
	free(j);
	return luaL_argerror(L, 1, c.err);
}

/** pdf.fonts([dir]) -> regular, bold (the font files render would use) | nil, err */
static int l_fonts(lua_State *L)
{
	const char *dir = luaL_optstring(L, 1, NULL);
	if (!dir)
		dir = font_dir(L, 0);
	char regular[4200], bold[4200], err[512];
	if (pdf_find_fonts(dir, regular, bold, sizeof regular, err, sizeof err) != 0)
		return host_fail(L, "font", "%s", err);
	lua_pushstring(L, regular);
	lua_pushstring(L, bold);
	return 2;
}

/** pdf.fallback_fonts([dir]) -> cjk, symbols (font files for what DejaVu Sans lacks; "" when
 * none is installed) */
static int l_fallback_fonts(lua_State *L)
{
	char cjk[4200], symbols[4200];
	pdf_find_fallbacks(luaL_optstring(L, 1, NULL), cjk, symbols, sizeof cjk);
	lua_pushstring(L, cjk);
	lua_pushstring(L, symbols);
	return 2;
}

int luaopen_core_pdf(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"render", l_render}, {"fonts", l_fonts}, {"fallback_fonts", l_fallback_fonts}, {NULL, NULL}};
	luaL_newlib(L, fns);
	return 1;
}
