/* core.pdf: printable documents (a review, a report) over core/pdf.c. The Lua description is
 * copied into C structures on the loop, then laid out and written on the libuv thread pool
 * while the task waits. */
#include "host.h"

#include "arena.h"
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

/** Copying a description out of Lua: where to allocate, and the first complaint. */
struct copy {
	lua_State *L;
	arena_t *a;
	char err[400];
};

/** Records a complaint about the description; returns -1. */
static int bad(struct copy *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

/** Pushes t[name] of the table at idx (absolute) without metamethods; returns its type. */
static int rawfield(lua_State *L, int idx, const char *name)
{
	lua_pushstring(L, name);
	return lua_rawget(L, idx);
}

/** Copies the value on top of the stack as text: a string or a number (nil gives "" when
 * optional). keep_newlines keeps "\n" as line breaks. */
static int copy_text(struct copy *c, const char *what, int optional, int keep_newlines, const char **out)
{
	int t = lua_type(c->L, -1);
	if (t == LUA_TNIL && optional) {
		*out = NULL;
		return 0;
	}
	if (t != LUA_TSTRING && t != LUA_TNUMBER)
		return bad(c, "%s must be text, not %s", what, lua_typename(c->L, t));
	size_t n;
	const char *s = lua_tolstring(c->L, -1, &n);
	if (!utf8_valid(s, n))
		return bad(c, "%s is not valid UTF-8 text (or contains a NUL byte)", what);
	if (n > MAX_TEXT)
		return bad(c, "%s is longer than %d bytes", what, MAX_TEXT);
	char *p = arena_strndup(c->a, s, n);
	if (!p)
		return bad(c, "out of memory");
	pdf_clean_text(p, keep_newlines);
	*out = p;
	return 0;
}

/** Copies field name of the table at idx as text. */
static int field_text(struct copy *c, int idx, const char *name, const char *what, int optional, int nl,
                      const char **out)
{
	rawfield(c->L, idx, name);
	int rc = copy_text(c, what, optional, nl, out);
	lua_pop(c->L, 1);
	return rc;
}

/** Copies the rows of a kv or table block (field "rows" of the table at idx) into b->cells;
 * ncols 0 takes the widest row. */
static int copy_rows(struct copy *c, int idx, int bi, pdf_block_t *b, int ncols)
{
	lua_State *L = c->L;
	char what[96];
	int t = rawfield(L, idx, "rows");
	if (t != LUA_TTABLE && !(t == LUA_TNIL && b->kind == PDF_TABLE && b->header))
		return bad(c, "blocks[%d].rows must be a table of rows", bi);
	int rows = t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
	if (ncols == 0) {
		for (int r = 1; r <= rows; r++) {
			if (lua_rawgeti(L, -1, r) == LUA_TTABLE && (int)lua_rawlen(L, -1) > ncols)
				ncols = (int)lua_rawlen(L, -1);
			lua_pop(L, 1);
		}
	}
	if (ncols < 1 || ncols > MAX_COLS)
		return bad(c, "blocks[%d] must have 1..%d columns", bi, MAX_COLS);
	if (rows > MAX_BLOCKS)
		return bad(c, "blocks[%d] has more than %d rows", bi, MAX_BLOCKS);
	b->ncols = ncols;
	b->nrows = rows;
	b->cells = arena_alloc(c->a, ((size_t)rows * (size_t)ncols + 1) * sizeof *b->cells);
	if (!b->cells)
		return bad(c, "out of memory");
	for (int r = 1; r <= rows; r++) {
		if (lua_rawgeti(L, -1, r) != LUA_TTABLE)
			return bad(c, "blocks[%d].rows[%d] must be a table (an array of cells), not %s", bi,
			           r, luaL_typename(L, -1));
		if ((int)lua_rawlen(L, -1) > ncols)
			return bad(c, "blocks[%d].rows[%d] has %d cells but the block has %d columns", bi, r,
			           (int)lua_rawlen(L, -1), ncols);
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
static int copy_list(struct copy *c, int idx, int bi, const char *name, const char ***out, int *n, int most)
{
	lua_State *L = c->L;
	char what[96];
	*out = NULL;
	int t = rawfield(L, idx, name);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (t != LUA_TTABLE)
		return bad(c, "blocks[%d].%s must be a table of texts", bi, name);
	int len = (int)lua_rawlen(L, -1);
	if (len < 1 || len > most)
		return bad(c, "blocks[%d].%s must hold 1..%d texts", bi, name, most);
	*out = arena_alloc(c->a, (size_t)len * sizeof **out);
	if (!*out)
		return bad(c, "out of memory");
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
static int copy_graph(struct copy *c, int idx, int bi, pdf_block_t *b)
{
	lua_State *L = c->L;
	char what[96];
	snprintf(what, sizeof what, "blocks[%d].label", bi);
	if (field_text(c, idx, "label", what, 1, 0, &b->text) != 0 ||
	    field_text(c, idx, "x_label", "x_label", 1, 0, &b->xlabel) != 0 ||
	    field_text(c, idx, "y_label", "y_label", 1, 0, &b->ylabel) != 0)
		return -1;
	int t = rawfield(L, idx, "points");
	int n = t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
	if ((t != LUA_TTABLE && t != LUA_TNIL) || n > PDF_GRAPH_POINTS)
		return bad(c, "blocks[%d].points must be a list of at most %d points", bi, PDF_GRAPH_POINTS);
	for (int i = 1; i <= n; i++) {
		pdf_point_t *p = &b->points[i - 1];
		if (lua_rawgeti(L, -1, i) != LUA_TTABLE)
			return bad(c, "blocks[%d].points[%d] must be a table { x =, y =, label = }", bi, i);
		int pt = lua_gettop(L);
		int tx = rawfield(L, pt, "x"), ty = rawfield(L, pt, "y");
		p->x = lua_tonumber(L, -2);
		p->y = lua_tonumber(L, -1);
		lua_pop(L, 2);
		if (tx != LUA_TNUMBER || ty != LUA_TNUMBER ||
		    !(p->x >= 0 && p->x <= 100 && p->y >= 0 && p->y <= 100))
			return bad(c, "blocks[%d].points[%d] needs x and y from 0 to 100", bi, i);
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
static int copy_block(struct copy *c, int bi, pdf_block_t *b)
{
	lua_State *L = c->L;
	int idx = lua_gettop(L);
	char what[64];
	if (!lua_istable(L, idx))
		return bad(c, "blocks[%d] must be a table, not %s", bi, luaL_typename(L, idx));
	rawfield(L, idx, "type");
	const char *type = lua_tostring(L, -1);
	int k = -1;
	for (int i = 0; type && kinds[i]; i++)
		if (strcmp(type, kinds[i]) == 0)
			k = i;
	lua_pop(L, 1);
	if (k < 0)
		return bad(
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
		int t = rawfield(L, idx, "max");
		b->max = t == LUA_TNIL ? 5 : lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
		lua_pop(L, 1);
		if (b->max < 1 || b->max > 20)
			return bad(c, "blocks[%d].max must be a whole number 1..20", bi);
		t = rawfield(L, idx, "value");
		b->rated = t != LUA_TNIL;
		b->value = lua_tonumber(L, -1);
		lua_pop(L, 1);
		if (b->rated && (t != LUA_TNUMBER || !(b->value >= 0 && b->value <= b->max)))
			return bad(c, "blocks[%d].value must be a number 0..%d (or nil: not rated)", bi,
			           b->max);
		int n = 0;
		if (copy_list(c, idx, bi, "labels", &b->labels, &n, b->max) != 0)
			return -1;
		if (b->labels && n < b->max) {
			/* fewer labels than steps: the top steps have none */
			const char **all = arena_alloc(c->a, (size_t)b->max * sizeof *all);
			if (!all)
				return bad(c, "out of memory");
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
static int copy_doc(struct copy *c, int idx, pdf_doc_t *d)
{
	lua_State *L = c->L;
	if (field_text(c, idx, "title", "title", 0, 0, &d->title) != 0 ||
	    field_text(c, idx, "subtitle", "subtitle", 1, 0, &d->subtitle) != 0 ||
	    field_text(c, idx, "author", "author", 1, 0, &d->author) != 0)
		return -1;
	int t = rawfield(L, idx, "created");
	if (t != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
			return bad(c, "created must be a unix time in whole seconds");
		d->created = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	if (field_text(c, idx, "fallback_dir", "fallback_dir", 1, 0, &d->fallback_dir) != 0)
		return -1;
	t = rawfield(L, idx, "blocks");
	if (t != LUA_TTABLE && t != LUA_TNIL)
		return bad(c, "blocks must be a table of blocks");
	size_t n = t == LUA_TNIL ? 0 : lua_rawlen(L, -1);
	if (n > MAX_BLOCKS)
		return bad(c, "blocks must hold at most %d blocks", MAX_BLOCKS);
	d->nblocks = (int)n;
	d->blocks = arena_alloc(c->a, (n ? n : 1) * sizeof *d->blocks);
	if (!d->blocks)
		return bad(c, "out of memory");
	for (int i = 1; i <= d->nblocks; i++) {
		lua_rawgeti(L, -1, i);
		if (copy_block(c, i, &d->blocks[i - 1]) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/** A document being rendered on the thread pool; freed by after_render. */
struct pdf_job {
	uv_work_t w;
	task_t *task;
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
static void run_render(uv_work_t *w)
{
	struct pdf_job *j = (struct pdf_job *)w;
	j->rc = pdf_render(&j->doc, j->regular, j->bold, &j->bytes, &j->len, &j->pages, &j->code, j->err,
	                   sizeof j->err);
}

/* back on the loop: resume the task with the result */
static void after_render(uv_work_t *w, int status)
{
	struct pdf_job *j = (struct pdf_job *)w;
	task_t *t = j->task;
	int n = 0;
	if (!t->abandoned) {
		if (status != 0) {
			n = host_fail(t->co, "cancelled", "the document was cancelled");
		} else if (j->rc != 0) {
			n = host_fail(t->co, j->code, "%s", j->err);
		} else {
			lua_pushlstring(t->co, (const char *)j->bytes, j->len);
			n = 1;
		}
	}
	free(j->bytes);
	arena_free(&j->arena);
	free(j);
	task_resume(t, n);
}

/** The font folder to use: the description's font_dir, $CANDOR_FONT_DIR, or NULL (search). */
static const char *font_dir(lua_State *L, int idx)
{
	const char *dir = NULL;
	if (idx && rawfield(L, idx, "font_dir") != LUA_TNIL)
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
	struct copy c = {.L = L, .a = &j->arena};
	int top = lua_gettop(L);
	if (pdf_find_fonts(dir, j->regular, j->bold, sizeof j->regular, j->err, sizeof j->err) != 0) {
		int n = host_fail(L, "font", "%s", j->err);
		free(j);
		return n;
	}
	if (copy_doc(&c, 1, &j->doc) != 0)
		goto fail;
	j->task = t;
	if (uv_queue_work(H->loop, &j->w, run_render, after_render) != 0) {
		bad(&c, "cannot queue the document on the thread pool");
		goto fail;
	}
	return task_yield(L, t, j, NULL); /* cannot be cancelled once queued: after_render frees it */
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
