/* Printable documents on libharu (plain C, no Lua). */
#include "pdf.h"

#include "arena.h"
#include "pdf_fonts.h"

#include <hpdf.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A4 portrait, in points */
#define PAGE_W 595.276
#define PAGE_H 841.89
#define MARGIN_X 56.69 /* 2 cm */
#define CONTENT_W (PAGE_W - 2 * MARGIN_X)
#define TOP (PAGE_H - 66.0) /* top of the body, under the page header */
#define BOTTOM 60.0         /* bottom of the body, above the footer */

/* type sizes and line heights */
#define TITLE_SIZE 21.0
#define TITLE_LH 27.0
#define SUB_SIZE 12.5
#define SUB_LH 17.0
#define H1_SIZE 16.0
#define H1_LH 21.0
#define H2_SIZE 12.5
#define H2_LH 17.0
#define BODY_SIZE 10.5
#define BODY_LH 14.5
#define CELL_SIZE 9.5
#define CELL_LH 12.5
#define CELL_PAD 4.0
#define SMALL_SIZE 8.5

/* greys: 0 is black */
#define INK 0.1
#define MUTED 0.42
#define RULE 0.8
#define SHADE 0.92

/** A piece of a string (a line after wrapping). */
struct span {
	const char *s;
	size_t n;
};

/** The lines of one wrapped text. */
struct lines {
	struct span *v;
	int n, cap;
};

/** The state of the layout: the document, the pages so far and where the next block goes. */
struct layout {
	HPDF_Doc pdf;
	pdf_fonts_t fonts;
	arena_t arena;    /* the prepared copy of the document */
	HPDF_Page *pages; /* every page, in order (for headers and footers at the end) */
	int npages, cap;
	HPDF_Page page;   /* the current page */
	double y;         /* top of the free space on it */
	int fresh;        /* nothing drawn on it yet */
	int failed;       /* a failure happened: draw nothing more */
	const char *code; /* its error code */
	char *err;        /* its message (errlen bytes) */
	size_t errlen;
	char *tmp; /* NUL-terminated copies of spans for libharu */
	size_t tmpcap;
	void (*on_break)(struct layout *, void *); /* draws a table header on each new page */
	void *break_ctx;
};

/** Records the first failure; drawing stops after it. */
static void fail(struct layout *L, const char *code, const char *fmt, ...)
{
	if (L->failed)
		return;
	L->failed = 1;
	L->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->err, L->errlen, fmt, ap);
	va_end(ap);
}

/** libharu calls this on any error (on the rendering thread). */
static void on_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *ud)
{
	fail(ud, "pdf", "libharu error 0x%04X (detail %u)", (unsigned)error_no, (unsigned)detail_no);
}

void pdf_clean_text(char *s, int keep_newlines)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		unsigned char c = (unsigned char)*r;
		if (c == '\r') {
			if (r[1] != '\n')
				*w++ = keep_newlines ? '\n' : ' ';
		} else if (c == '\n') {
			*w++ = keep_newlines ? '\n' : ' ';
		} else if (c == '\t') {
			*w++ = ' ';
		} else if (c >= 0x20 && c != 0x7f) {
			*w++ = (char)c;
		}
	}
	*w = 0;
}

/* --- measuring and wrapping --- */

/** A copy of s that the fonts can draw (pdf_fonts_prepare), in L's arena. NULL stays NULL. */
static const char *prepare(struct layout *L, const char *s)
{
	const char *out;
	if (pdf_fonts_prepare(&L->fonts, &L->arena, s, &out) != 0) {
		fail(L, "pdf", "out of memory");
		return "";
	}
	return out;
}

/** Width in points of n bytes of prepared text at size in style (FACE_REG or FACE_BOLD). */
static double width(const struct layout *L, int style, double size, const char *s, size_t n)
{
	return pdf_fonts_width(&L->fonts, style, size, s, n);
}

/** Bytes in the UTF-8 character at p. */
static size_t char_len(const char *p)
{
	unsigned char c = (unsigned char)*p;
	return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
}

/** Whether the character at p may not start a line (closing punctuation of CJK text). */
static int closing_at(const char *p)
{
	static const uint32_t closing[] = {0x3001, 0x3002, 0xff0c, 0xff0e, 0xff1a, 0xff1b, 0xff1f, 0xff01,
	                                   0xff09, 0x300d, 0x300f, 0x3011, 0x3015, 0x3009, 0x300b, 0x201d,
	                                   0x2019, 0x30fc, 0x3063, 0x30c3, 0x3083, 0x3085, 0x3087, 0};
	uint32_t c = pdf_next_cp(&p);
	for (int i = 0; closing[i]; i++)
		if (c == closing[i])
			return 1;
	return 0;
}

/** Whether the character at p is one a line may break after or before without a space
 * (CJK ideographs, kana, hangul, fullwidth forms). */
static int cjk_at(const char *p)
{
	uint32_t c = pdf_next_cp(&p);
	return (c >= 0x2e80 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff) ||
	       (c >= 0xff00 && c <= 0xffef);
}

/** Appends a line to out. */
static void push_line(struct layout *L, struct lines *out, const char *s, size_t n)
{
	if (out->n == out->cap) {
		int cap = out->cap ? out->cap * 2 : 8;
		struct span *v = realloc(out->v, (size_t)cap * sizeof *v);
		if (!v) {
			fail(L, "pdf", "out of memory");
			return;
		}
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = (struct span){s, n};
}

/** Wraps one paragraph (no newline inside) [a, b) into lines at most maxw wide. */
static void wrap_para(struct layout *L, int f, double size, const char *a, const char *b, double maxw,
                      struct lines *out)
{
	const char *ls = a, *le = a, *q = a;
	if (a == b) {
		push_line(L, out, a, 0);
		return;
	}
	while (q < b && !L->failed) {
		const char *ws = q;
		while (ws < b && *ws == ' ')
			ws++;
		if (ws == b)
			break;
		/* a word: up to a space, or one CJK character (a line may break around each) */
		const char *we = ws + char_len(ws);
		if (!cjk_at(ws))
			while (we < b && *we != ' ' && !cjk_at(we))
				we += char_len(we);
		while (we < b && closing_at(we)) /* never start a line with 、。，」 and the like */
			we += char_len(we);
		if (width(L, f, size, ls, (size_t)(we - ls)) <= maxw) {
			le = q = we;
			continue;
		}
		if (le > ls) {
			/* the line is full: the word starts the next one */
			push_line(L, out, ls, (size_t)(le - ls));
			ls = le = q = ws;
			continue;
		}
		/* one word wider than the line: cut it after the last character that fits */
		const char *cut = ws + char_len(ws);
		while (cut < we) {
			const char *next = cut + char_len(cut);
			if (width(L, f, size, ws, (size_t)(next - ws)) > maxw)
				break;
			cut = next;
		}
		push_line(L, out, ws, (size_t)(cut - ws));
		ls = le = q = cut;
	}
	if (le > ls)
		push_line(L, out, ls, (size_t)(le - ls));
	else if (out->n == 0)
		push_line(L, out, a, 0);
}

/** Wraps text (may hold newlines) into out. */
static void wrap(struct layout *L, int f, double size, const char *text, double maxw, struct lines *out)
{
	const char *p = text ? text : "";
	const char *end = p + strlen(p);
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *pe = nl ? nl : end;
		int before = out->n;
		wrap_para(L, f, size, p, pe, maxw, out);
		if (out->n == before)
			push_line(L, out, p, 0); /* a paragraph of spaces is an empty line */
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* --- drawing --- */

/** Starts a new page (and repeats a table header on it when one is being drawn). */
static void new_page(struct layout *L)
{
	if (L->failed)
		return;
	if (L->npages == PDF_MAX_PAGES) {
		fail(L, "too_long", "the document needs more than %d pages", PDF_MAX_PAGES);
		return;
	}
	if (L->npages == L->cap) {
		int cap = L->cap ? L->cap * 2 : 16;
		HPDF_Page *v = realloc(L->pages, (size_t)cap * sizeof *v);
		if (!v) {
			fail(L, "pdf", "out of memory");
			return;
		}
		L->pages = v;
		L->cap = cap;
	}
	HPDF_Page p = HPDF_AddPage(L->pdf);
	if (!p) {
		fail(L, "pdf", "libharu could not add a page");
		return;
	}
	HPDF_Page_SetSize(p, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	L->pages[L->npages++] = p;
	L->page = p;
	L->y = TOP;
	L->fresh = 1;
	if (L->on_break)
		L->on_break(L, L->break_ctx);
}

/** Starts a new page unless h points still fit on this one (or it is empty). */
static void need(struct layout *L, double h)
{
	if (!L->fresh && L->y - h < BOTTOM)
		new_page(L);
}

/** Copies n bytes of s into L->tmp with a NUL (libharu takes C strings); 0, or -1. */
static int to_tmp(struct layout *L, const char *s, size_t n)
{
	if (n + 1 > L->tmpcap) {
		char *t = realloc(L->tmp, n + 1);
		if (!t) {
			fail(L, "pdf", "out of memory");
			return -1;
		}
		L->tmp = t;
		L->tmpcap = n + 1;
	}
	memcpy(L->tmp, s, n);
	L->tmp[n] = 0;
	return 0;
}

/** Draws n bytes of s in style with its baseline at (x, y), or (rotated) running upwards from
 * there: run by run, each in the font that has its characters. A bold run in a font without a
 * bold face is drawn filled and stroked (a faux bold). */
static void draw_text(struct layout *L, int style, double size, double gray, double x, double y,
                      const char *s, size_t n, int rotated)
{
	if (L->failed || n == 0)
		return;
	HPDF_Page_BeginText(L->page);
	HPDF_Page_SetGrayFill(L->page, gray);
	HPDF_Page_SetGrayStroke(L->page, gray);
	HPDF_Page_SetLineWidth(L->page, size * 0.03);
	while (n > 0 && !L->failed) {
		int f;
		size_t k = pdf_fonts_run(&L->fonts, style, s, n, &f);
		if (to_tmp(L, s, k) != 0)
			break;
		HPDF_Page_SetTextRenderingMode(
		    L->page, style == FACE_BOLD && f != FACE_BOLD ? HPDF_FILL_THEN_STROKE : HPDF_FILL);
		HPDF_Page_SetFontAndSize(L->page, L->fonts.face[f].font, size);
		if (rotated)
			HPDF_Page_SetTextMatrix(L->page, 0, 1, -1, 0, x, y);
		else
			HPDF_Page_SetTextMatrix(L->page, 1, 0, 0, 1, x, y);
		HPDF_Page_ShowText(L->page, L->tmp);
		double w = width(L, style, size, s, k);
		if (rotated)
			y += w;
		else
			x += w;
		s += k;
		n -= k;
	}
	HPDF_Page_SetTextRenderingMode(L->page, HPDF_FILL);
	HPDF_Page_EndText(L->page);
	L->fresh = 0;
}

/** Draws n bytes of s in style with its baseline at y. */
static void text_at(struct layout *L, int style, double size, double gray, double x, double y, const char *s,
                    size_t n)
{
	draw_text(L, style, size, gray, x, y, s, n, 0);
}

/** The baseline of a line of height lh whose top is at y. */
static double baseline(double y, double lh, double size)
{
	return y - (lh - size) / 2 - size * 0.8;
}

/** A horizontal rule. */
static void hline(struct layout *L, double x0, double x1, double y, double gray, double w)
{
	if (L->failed)
		return;
	HPDF_Page_SetGrayStroke(L->page, gray);
	HPDF_Page_SetLineWidth(L->page, w);
	HPDF_Page_MoveTo(L->page, x0, y);
	HPDF_Page_LineTo(L->page, x1, y);
	HPDF_Page_Stroke(L->page);
	L->fresh = 0;
}

/** Wrapped text across the body width, breaking pages between lines. */
static void flow(struct layout *L, int f, double size, double lh, double gray, const char *s)
{
	struct lines ls = {0};
	wrap(L, f, size, s, CONTENT_W, &ls);
	for (int i = 0; i < ls.n && !L->failed; i++) {
		need(L, lh);
		text_at(L, f, size, gray, MARGIN_X, baseline(L->y, lh, size), ls.v[i].s, ls.v[i].n);
		L->y -= lh;
	}
	free(ls.v);
}

/** One row of cells side by side (kv rows, table rows): each wrapped in its column; kept on
 * one page when it fits on one, else split between lines. shade >= 0 fills the background. */
static void row(struct layout *L, int n, const double *x, const double *w, const char *const *cells,
                const int *fonts, double size, double lh, double pad, double shade)
{
	struct lines *ls = calloc((size_t)n, sizeof *ls);
	if (!ls) {
		fail(L, "pdf", "out of memory");
		return;
	}
	int most = 1;
	for (int i = 0; i < n; i++) {
		double inner = w[i] - 2 * pad;
		wrap(L, fonts[i], size, cells[i], inner > 8 ? inner : 8, &ls[i]);
		if (ls[i].n > most)
			most = ls[i].n;
	}
	double h = most * lh + 2 * pad;
	need(L, h <= TOP - BOTTOM ? h : lh + 2 * pad);
	if (shade >= 0 && !L->failed && L->y - h >= BOTTOM) {
		HPDF_Page_SetGrayFill(L->page, shade);
		HPDF_Page_Rectangle(L->page, x[0], L->y - h, x[n - 1] + w[n - 1] - x[0], h);
		HPDF_Page_Fill(L->page);
	}
	L->y -= pad;
	for (int li = 0; li < most && !L->failed; li++) {
		if (L->y - lh - pad < BOTTOM) {
			new_page(L);
			L->y -= pad;
		}
		for (int i = 0; i < n; i++)
			if (li < ls[i].n)
				text_at(L, fonts[i], size, INK, x[i] + pad, baseline(L->y, lh, size),
				        ls[i].v[li].s, ls[i].v[li].n);
		L->y -= lh;
	}
	L->y -= pad;
	for (int i = 0; i < n; i++)
		free(ls[i].v);
	free(ls);
}

/** h1 and h2 blocks. */
static void heading(struct layout *L, const pdf_block_t *b)
{
	int h1 = b->kind == PDF_H1;
	double size = h1 ? H1_SIZE : H2_SIZE, lh = h1 ? H1_LH : H2_LH;
	if (!L->fresh)
		L->y -= h1 ? 12 : 8;
	need(L, lh + 3 * BODY_LH); /* never alone at the foot of a page */
	flow(L, FACE_BOLD, size, lh, INK, b->text);
	L->y -= h1 ? 4 : 2;
}

/** p blocks. */
static void paragraph(struct layout *L, const pdf_block_t *b)
{
	flow(L, FACE_REG, BODY_SIZE, BODY_LH, INK, b->text);
	L->y -= 7;
}

/** kv blocks: a bold key column and a value column, a rule under each row. */
static void key_values(struct layout *L, const pdf_block_t *b)
{
	double x[2] = {MARGIN_X, MARGIN_X + CONTENT_W * 0.34};
	double w[2] = {CONTENT_W * 0.34, CONTENT_W * 0.66};
	int fonts[2] = {FACE_BOLD, FACE_REG};
	for (int r = 0; r < b->nrows && !L->failed; r++) {
		const char *cells[2] = {b->cells[r * 2], b->cells[r * 2 + 1]};
		row(L, 2, x, w, cells, fonts, BODY_SIZE - 0.5, BODY_LH - 1, 3, -1);
		hline(L, MARGIN_X, MARGIN_X + CONTENT_W, L->y, RULE, 0.4);
	}
	L->y -= 9;
}

/** rating blocks: the label, a box per step (filled up to the value), "v of max — label". */
static void rating(struct layout *L, const pdf_block_t *b)
{
	const double box = 12, gap = 4;
	need(L, BODY_LH + box + 14);
	if (b->text && *b->text)
		flow(L, FACE_BOLD, BODY_SIZE, BODY_LH, INK, b->text);
	need(L, box + 10);
	if (L->failed)
		return;
	double top = L->y - 3;
	for (int i = 0; i < b->max; i++) {
		double x = MARGIN_X + i * (box + gap);
		double fill = b->rated ? b->value - i : 0;
		fill = fill < 0 ? 0 : fill > 1 ? 1 : fill;
		if (fill > 0) {
			HPDF_Page_SetGrayFill(L->page, 0.25);
			HPDF_Page_Rectangle(L->page, x, top - box, box * fill, box);
			HPDF_Page_Fill(L->page);
		}
		HPDF_Page_SetGrayStroke(L->page, 0.25);
		HPDF_Page_SetLineWidth(L->page, 0.8);
		HPDF_Page_Rectangle(L->page, x, top - box, box, box);
		HPDF_Page_Stroke(L->page);
	}
	char line[600];
	if (!b->rated) {
		snprintf(line, sizeof line, "Not rated");
	} else {
		long whole = lround(b->value);
		const char *label =
		    b->labels && fabs(b->value - (double)whole) < 1e-9 && whole >= 1 && whole <= b->max
		        ? b->labels[whole - 1]
		        : NULL;
		snprintf(line, sizeof line, "%g of %d%s%.500s", b->value, b->max,
		         label && *label ? " \xe2\x80\x94 " : "", label && *label ? label : "");
	}
	text_at(L, FACE_REG, BODY_SIZE, b->rated ? INK : MUTED, MARGIN_X + b->max * (box + gap) + 6,
	        top - box + 2, line, strlen(line));
	L->y = top - box - 12;
	L->fresh = 0;
}

/** graph blocks: the label, a square plot with its axes named and a dashed cross at the
 * middle, a dot per point (the first filled, the second a ring, others squares) and a legend
 * beside it naming each dot with its values. */
static void graph(struct layout *L, const pdf_block_t *b)
{
	const double side = 150, left = 22, gap = 18, r = 4.2;
	const double lx = MARGIN_X + left + side + gap, lw = MARGIN_X + CONTENT_W - lx;
	const char *xl = b->xlabel && *b->xlabel ? b->xlabel : "x";
	const char *yl = b->ylabel && *b->ylabel ? b->ylabel : "y";
	need(L, BODY_LH + side + 40);
	if (b->text && *b->text)
		flow(L, FACE_BOLD, BODY_SIZE, BODY_LH, INK, b->text);
	need(L, side + 34);
	if (L->failed)
		return;
	HPDF_Page pg = L->page;
	double x0 = MARGIN_X + left, top = L->y - 6, y0 = top - side;
	HPDF_Page_SetGrayFill(pg, 0.975);
	HPDF_Page_Rectangle(pg, x0, y0, side, side);
	HPDF_Page_Fill(pg);
	const HPDF_UINT16 dash[] = {2, 2};
	HPDF_Page_SetGrayStroke(pg, RULE);
	HPDF_Page_SetLineWidth(pg, 0.5);
	HPDF_Page_SetDash(pg, dash, 2, 0);
	HPDF_Page_MoveTo(pg, x0 + side / 2, y0);
	HPDF_Page_LineTo(pg, x0 + side / 2, top);
	HPDF_Page_MoveTo(pg, x0, y0 + side / 2);
	HPDF_Page_LineTo(pg, x0 + side, y0 + side / 2);
	HPDF_Page_Stroke(pg);
	HPDF_Page_SetDash(pg, NULL, 0, 0);
	HPDF_Page_SetGrayStroke(pg, 0.45);
	HPDF_Page_SetLineWidth(pg, 0.8);
	HPDF_Page_Rectangle(pg, x0, y0, side, side);
	HPDF_Page_Stroke(pg);
	/* the axes: low and high at the ends of the horizontal one, both named with an arrow */
	text_at(L, FACE_REG, SMALL_SIZE, MUTED, x0, y0 - 10, "low", 3);
	text_at(L, FACE_REG, SMALL_SIZE, MUTED, x0 + side - width(L, FACE_REG, SMALL_SIZE, "high", 4),
	        y0 - 10, "high", 4);
	size_t xn = strlen(xl), yn = strlen(yl);
	char *name = malloc((xn > yn ? xn : yn) + 5);
	if (!name) {
		fail(L, "pdf", "out of memory");
		return;
	}
	snprintf(name, xn + 5, "%s \xe2\x86\x92", xl);
	double w = width(L, FACE_REG, CELL_SIZE, name, strlen(name));
	text_at(L, FACE_REG, CELL_SIZE, INK, x0 + (side - w) / 2, y0 - 22, name, strlen(name));
	snprintf(name, yn + 5, "%s \xe2\x86\x92", yl);
	w = width(L, FACE_REG, CELL_SIZE, name, strlen(name));
	draw_text(L, FACE_REG, CELL_SIZE, INK, x0 - 7, y0 + (side - w) / 2, name, strlen(name), 1);
	free(name);
	if (b->npoints == 0) {
		const char *none = "Not placed";
		w = width(L, FACE_REG, CELL_SIZE, none, strlen(none));
		text_at(L, FACE_REG, CELL_SIZE, MUTED, x0 + (side - w) / 2, y0 + side / 2 + 6, none,
		        strlen(none));
	}
	/* the dots, and the legend: a marker and "label: x-name x, y-name y" for each */
	double ly = top;
	for (int i = 0; i < b->npoints && i < PDF_GRAPH_POINTS && !L->failed; i++) {
		const pdf_point_t *pt = &b->points[i];
		double vx = pt->x < 0     ? 0
		            : pt->x > 100 ? 100
		                          : pt->x,
		       vy = pt->y < 0     ? 0
		            : pt->y > 100 ? 100
		                          : pt->y;
		for (int legend = 0; legend < 2; legend++) {
			double cx = legend ? lx + r : x0 + side * vx / 100,
			       cy = legend ? ly - BODY_LH / 2 - 1 : y0 + side * vy / 100;
			HPDF_Page_SetLineWidth(pg, i == 0 ? 1.2 : 1.6);
			HPDF_Page_SetGrayStroke(pg, i == 0 ? 1 : INK);
			HPDF_Page_SetGrayFill(pg, i == 0 ? INK : 1);
			if (i < 2)
				HPDF_Page_Circle(pg, cx, cy, r);
			else
				HPDF_Page_Rectangle(pg, cx - r, cy - r, 2 * r, 2 * r);
			HPDF_Page_FillStroke(pg);
		}
		const char *label = pt->label && *pt->label ? pt->label : "";
		size_t n = strlen(label) + strlen(xl) + strlen(yl) + 64;
		char *line = malloc(n);
		if (!line) {
			fail(L, "pdf", "out of memory");
			return;
		}
		snprintf(line, n, "%s%s%s %g, %s %g", label, *label ? ": " : "", xl, vx, yl, vy);
		struct lines ls = {0};
		wrap(L, FACE_REG, CELL_SIZE, line, lw - 2 * r - 6, &ls);
		for (int k = 0; k < ls.n && !L->failed; k++) {
			text_at(L, FACE_REG, CELL_SIZE, INK, lx + 2 * r + 6, baseline(ly, BODY_LH, CELL_SIZE),
			        ls.v[k].s, ls.v[k].n);
			ly -= BODY_LH;
		}
		ly -= 4;
		free(ls.v);
		free(line);
	}
	L->y = (ly < y0 - 26 ? ly : y0 - 26) - 12;
	L->fresh = 0;
}

/** A table being drawn: its columns, for the header repeated on each new page. */
struct table {
	const pdf_block_t *b;
	double x[64], w[64]; /* the first 64 columns are laid out; more are refused upstream */
};

/** Draws the header row of the table ctx (also as the on_break of each new page). */
static void table_header(struct layout *L, void *ctx)
{
	struct table *t = ctx;
	if (!t->b->header)
		return;
	int fonts[64];
	for (int i = 0; i < t->b->ncols; i++)
		fonts[i] = FACE_BOLD;
	/* a header taller than a page must not repeat itself on the pages it spills onto */
	void (*saved)(struct layout *, void *) = L->on_break;
	L->on_break = NULL;
	row(L, t->b->ncols, t->x, t->w, t->b->header, fonts, CELL_SIZE, CELL_LH, CELL_PAD, SHADE);
	L->on_break = saved;
}

/** Column widths: by the widest line of each column, never under its longest word (when the
 * columns can share the width that way), filling the body width. */
static void table_widths(struct layout *L, struct table *t)
{
	const pdf_block_t *b = t->b;
	int n = b->ncols;
	double nat[64], min[64], sum = 0;
	for (int c = 0; c < n; c++) {
		nat[c] = min[c] = 0;
		for (int r = -1; r < b->nrows; r++) {
			const char *s = r < 0 ? (b->header ? b->header[c] : NULL) : b->cells[r * n + c];
			int f = r < 0 ? FACE_BOLD : FACE_REG;
			for (const char *p = s ? s : ""; *p;) {
				size_t ln = strcspn(p, "\n");
				double lw = width(L, f, CELL_SIZE, p, ln);
				nat[c] = lw > nat[c] ? lw : nat[c];
				for (const char *q = p; q < p + ln;) {
					size_t wl = strcspn(q, " \n");
					double ww = width(L, f, CELL_SIZE, q, wl);
					min[c] = ww > min[c] ? ww : min[c];
					q += wl + (q[wl] == ' ');
				}
				p += ln + (p[ln] == '\n');
			}
		}
		nat[c] += 2 * CELL_PAD + 1;
		min[c] += 2 * CELL_PAD + 1;
		if (min[c] > CONTENT_W / n)
			min[c] = CONTENT_W / n;
		sum += nat[c];
	}
	double total = 0;
	for (int c = 0; c < n; c++) {
		t->w[c] = CONTENT_W * nat[c] / sum;
		if (t->w[c] < min[c])
			t->w[c] = min[c];
		total += t->w[c];
	}
	/* columns raised to their floor took room: take it back from the wider ones */
	if (total > CONTENT_W + 0.01) {
		double slack = 0;
		for (int c = 0; c < n; c++)
			slack += t->w[c] - min[c];
		double excess = total - CONTENT_W;
		for (int c = 0; c < n && slack > 0; c++)
			t->w[c] -= excess * (t->w[c] - min[c]) / slack;
	}
	double x = MARGIN_X;
	for (int c = 0; c < n; c++) {
		t->x[c] = x;
		x += t->w[c];
	}
}

/** table blocks. */
static void table(struct layout *L, const pdf_block_t *b)
{
	struct table t = {.b = b};
	table_widths(L, &t);
	if (!L->fresh)
		L->y -= 4;
	need(L, 3 * (CELL_LH + 2 * CELL_PAD)); /* the header and a row or two together */
	table_header(L, &t);
	L->on_break = table_header;
	L->break_ctx = &t;
	int fonts[64];
	for (int i = 0; i < b->ncols; i++)
		fonts[i] = FACE_REG;
	for (int r = 0; r < b->nrows && !L->failed; r++) {
		row(L, b->ncols, t.x, t.w, b->cells + (size_t)r * (size_t)b->ncols, fonts, CELL_SIZE, CELL_LH,
		    CELL_PAD, -1);
		hline(L, MARGIN_X, MARGIN_X + CONTENT_W, L->y, RULE, 0.4);
	}
	L->on_break = NULL;
	L->break_ctx = NULL;
	L->y -= 10;
}

/** signature blocks: room to sign, a line, the name and the date under it. */
static void signature(struct layout *L, const pdf_block_t *b)
{
	need(L, 34 + BODY_LH + CELL_LH);
	L->y -= 30; /* room to sign */
	hline(L, MARGIN_X, MARGIN_X + 230, L->y, 0.3, 0.7);
	L->y -= 3;
	if (b->text && *b->text)
		flow(L, FACE_REG, BODY_SIZE, BODY_LH, INK, b->text);
	if (b->date && *b->date)
		flow(L, FACE_REG, CELL_SIZE, CELL_LH, MUTED, b->date);
	L->y -= 10;
}

/** The first lines of the first page: title, subtitle, author, a rule. */
static void title_block(struct layout *L, const pdf_doc_t *doc)
{
	flow(L, FACE_BOLD, TITLE_SIZE, TITLE_LH, INK, doc->title);
	if (doc->subtitle && *doc->subtitle)
		flow(L, FACE_REG, SUB_SIZE, SUB_LH, MUTED, doc->subtitle);
	if (doc->author && *doc->author)
		flow(L, FACE_REG, BODY_SIZE, BODY_LH, MUTED, doc->author);
	L->y -= 6;
	hline(L, MARGIN_X, MARGIN_X + CONTENT_W, L->y, RULE, 0.6);
	L->y -= 14;
}

/** The page header (the title, shortened to one line) and footer ("Page n of m") of every page. */
static void furniture(struct layout *L, const char *title)
{
	size_t n = strlen(title);
	const char *ell = "\xe2\x80\xa6";
	int cut = width(L, FACE_REG, SMALL_SIZE, title, n) > CONTENT_W;
	if (cut) {
		double room = CONTENT_W - width(L, FACE_REG, SMALL_SIZE, ell, 3);
		size_t k = 0;
		while (k < n && width(L, FACE_REG, SMALL_SIZE, title, k + char_len(title + k)) <= room)
			k += char_len(title + k);
		n = k;
	}
	char *head = malloc(n + 4);
	if (!head) {
		fail(L, "pdf", "out of memory");
		return;
	}
	memcpy(head, title, n);
	memcpy(head + n, cut ? ell : "", cut ? 4 : 1);
	for (int i = 0; i < L->npages && !L->failed; i++) {
		L->page = L->pages[i];
		text_at(L, FACE_REG, SMALL_SIZE, MUTED, MARGIN_X, PAGE_H - 40, head, strlen(head));
		hline(L, MARGIN_X, MARGIN_X + CONTENT_W, PAGE_H - 47, RULE, 0.5);
		char foot[64];
		int fl = snprintf(foot, sizeof foot, "Page %d of %d", i + 1, L->npages);
		double fw = width(L, FACE_REG, SMALL_SIZE, foot, (size_t)fl);
		text_at(L, FACE_REG, SMALL_SIZE, MUTED, MARGIN_X + CONTENT_W - fw, 34, foot, (size_t)fl);
	}
	free(head);
}

/** Sets the document properties. */
static void properties(struct layout *L, const pdf_doc_t *doc)
{
	HPDF_SetInfoAttr(L->pdf, HPDF_INFO_TITLE, doc->title);
	HPDF_SetInfoAttr(L->pdf, HPDF_INFO_CREATOR, "Candor");
	if (doc->subtitle && *doc->subtitle)
		HPDF_SetInfoAttr(L->pdf, HPDF_INFO_SUBJECT, doc->subtitle);
	if (doc->author && *doc->author)
		HPDF_SetInfoAttr(L->pdf, HPDF_INFO_AUTHOR, doc->author);
	if (doc->created > 0) {
		time_t tt = (time_t)doc->created;
		struct tm tm;
		gmtime_r(&tt, &tm);
		HPDF_Date d = {.year = tm.tm_year + 1900,
		               .month = tm.tm_mon + 1,
		               .day = tm.tm_mday,
		               .hour = tm.tm_hour,
		               .minutes = tm.tm_min,
		               .seconds = tm.tm_sec,
		               .ind = 'Z'};
		HPDF_SetInfoDateAttr(L->pdf, HPDF_INFO_CREATION_DATE, d);
	}
}

/** Copies the saved document out of libharu's stream. */
static void take_bytes(struct layout *L, unsigned char **out, size_t *len)
{
	if (L->failed || HPDF_SaveToStream(L->pdf) != HPDF_OK)
		return;
	size_t size = HPDF_GetStreamSize(L->pdf), got = 0;
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf) {
		fail(L, "pdf", "out of memory");
		return;
	}
	HPDF_ResetStream(L->pdf);
	while (got < size) {
		HPDF_UINT32 n = (HPDF_UINT32)(size - got);
		HPDF_STATUS st = HPDF_ReadFromStream(L->pdf, buf + got, &n);
		got += n;
		if (st == HPDF_STREAM_EOF || n == 0)
			break;
		if (st != HPDF_OK) {
			fail(L, "pdf", "libharu could not read its output (0x%04X)", (unsigned)st);
			break;
		}
	}
	if (L->failed || got != size) {
		fail(L, "pdf", "libharu returned %zu of %zu bytes", got, size);
		free(buf);
		return;
	}
	*out = buf;
	*len = size;
}

/** Prepares (see prepare()) a list of n texts into the arena; NULL stays NULL. */
static const char **prepare_list(struct layout *L, const char *const *v, size_t n)
{
	if (!v)
		return NULL;
	const char **out = arena_alloc(&L->arena, (n ? n : 1) * sizeof *out);
	if (!out) {
		fail(L, "pdf", "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = prepare(L, v[i]);
	return out;
}

/** Copies doc into out with every text prepared for the fonts (the copy lives in L's arena). */
static void prepare_doc(struct layout *L, const pdf_doc_t *doc, pdf_doc_t *out)
{
	*out = *doc;
	out->title = prepare(L, doc->title ? doc->title : "");
	out->subtitle = prepare(L, doc->subtitle);
	out->author = prepare(L, doc->author);
	out->blocks =
	    arena_alloc(&L->arena, (size_t)(doc->nblocks > 0 ? doc->nblocks : 1) * sizeof *out->blocks);
	if (!out->blocks) {
		fail(L, "pdf", "out of memory");
		out->nblocks = 0;
		return;
	}
	for (int i = 0; i < doc->nblocks && !L->failed; i++) {
		const pdf_block_t *b = &doc->blocks[i];
		pdf_block_t *c = &out->blocks[i];
		*c = *b;
		c->text = prepare(L, b->text);
		c->date = prepare(L, b->date);
		c->xlabel = prepare(L, b->xlabel);
		c->ylabel = prepare(L, b->ylabel);
		for (int k = 0; k < b->npoints && k < PDF_GRAPH_POINTS; k++)
			c->points[k].label = prepare(L, b->points[k].label);
		c->header = prepare_list(L, b->header, b->header ? (size_t)b->ncols : 0);
		c->cells = prepare_list(L, b->cells, b->cells ? (size_t)b->nrows * (size_t)b->ncols : 0);
		c->labels = prepare_list(L, b->labels, b->labels ? (size_t)b->max : 0);
	}
}

int pdf_render(const pdf_doc_t *doc, const char *regular, const char *bold, unsigned char **out, size_t *len,
               int *pages, const char **code, char *err, size_t errlen)
{
	struct layout L = {.err = err, .errlen = errlen};
	pdf_doc_t d = {0};
	char why[4400];
	*out = NULL;
	*len = 0;
	if (pdf_fonts_open(&L.fonts, regular, bold, doc->fallback_dir, why, sizeof why) != 0) {
		fail(&L, "font", "%s", why);
		goto fail;
	}
	prepare_doc(&L, doc, &d);
	if (L.failed)
		goto fail;
	L.pdf = HPDF_New(on_hpdf_error, &L);
	if (!L.pdf) {
		fail(&L, "pdf", "libharu could not start a document");
		goto fail;
	}
	HPDF_SetCompressionMode(L.pdf, HPDF_COMP_ALL);
	HPDF_UseUTFEncodings(L.pdf);
	HPDF_SetCurrentEncoder(L.pdf, "UTF-8");
	if (pdf_fonts_load(&L.fonts, L.pdf, why, sizeof why) != 0) {
		L.failed = 0; /* libharu's own complaint is less clear */
		fail(&L, "font", "%s", why);
		goto fail;
	}
	pdf_fonts_log_missing(&L.fonts);
	properties(&L, &d);
	new_page(&L);
	title_block(&L, &d);
	for (int i = 0; i < d.nblocks && !L.failed; i++) {
		const pdf_block_t *b = &d.blocks[i];
		switch (b->kind) {
		case PDF_H1:
		case PDF_H2:
			heading(&L, b);
			break;
		case PDF_P:
			paragraph(&L, b);
			break;
		case PDF_KV:
			key_values(&L, b);
			break;
		case PDF_RATING:
			rating(&L, b);
			break;
		case PDF_TABLE:
			table(&L, b);
			break;
		case PDF_PAGEBREAK:
			if (!L.fresh)
				new_page(&L);
			break;
		case PDF_SIGNATURE:
			signature(&L, b);
			break;
		case PDF_GRAPH:
			graph(&L, b);
			break;
		}
	}
	furniture(&L, d.title);
	pdf_fonts_keep_composites(&L.fonts, L.pdf);
	take_bytes(&L, out, len);
	*pages = L.npages;
fail:
	if (L.pdf)
		HPDF_Free(L.pdf);
	pdf_fonts_free(&L.fonts);
	arena_free(&L.arena);
	free(L.pages);
	free(L.tmp);
	if (L.failed) {
		free(*out);
		*out = NULL;
		*len = 0;
		*code = L.code;
		return -1;
	}
	return 0;
}
