/** Printable documents (a review, a report) on libharu: a list of blocks laid out on A4 pages
 * with DejaVu Sans (UTF-8 through TrueType fonts), word wrapping, automatic page breaks, the
 * title in each page header and "Page n of m" in each footer. A character DejaVu Sans lacks is
 * drawn with the first fallback font that has it (a CJK font, then a symbol font, both found at
 * run time in Debian's font folders); one no font has (emoji beyond the BMP among them) prints as
 * U+FFFD and is logged once per document. Plain C; safe to run on the thread pool (it touches
 * only the description, the font files and its own memory). */
#ifndef CANDOR_PDF_H
#define CANDOR_PDF_H

#include <stddef.h>
#include <stdint.h>

/** Kinds of block. */
typedef enum pdf_kind {
	PDF_H1,
	PDF_H2,
	PDF_P,
	PDF_KV,
	PDF_RATING,
	PDF_TABLE,
	PDF_PAGEBREAK,
	PDF_SIGNATURE,
	PDF_GRAPH
} pdf_kind_t;

/** Most dots on a graph block. */
#define PDF_GRAPH_POINTS 4

/** One dot on a graph block: its place (0..100 on each axis) and whose it is. */
typedef struct pdf_point {
	double x, y;
	const char *label; /* e.g. "Mia Johansson (self)", or NULL */
} pdf_point_t;

/** One block of the document; which fields count depends on kind. Text is UTF-8 and may hold
 * "\n" (a line break); other control characters must have been removed (pdf_clean_text). */
typedef struct pdf_block {
	pdf_kind_t kind;
	const char *text;    /* h1, h2, p: the text; rating, graph: the label; signature: the name */
	const char *date;    /* signature: the date line, or NULL */
	int ncols, nrows;    /* kv: 2 columns; table: its size */
	const char **header; /* table: ncols header texts, or NULL for none */
	const char **cells;  /* kv, table: nrows * ncols texts, row by row (NULL = empty) */
	int rated;           /* rating: 1 when value is set */
	double value;        /* rating: the value, 0..max */
	int max;             /* rating: the top of the scale, 1..20 */
	const char **labels; /* rating: max labels (labels[0] names 1), or NULL */
	const char *xlabel;  /* graph: the horizontal axis ("Skill"), or NULL */
	const char *ylabel;  /* graph: the vertical axis ("Motivation"), or NULL */
	int npoints;         /* graph: dots in points (0: not placed) */
	pdf_point_t points[PDF_GRAPH_POINTS]; /* graph: the dots, the first drawn filled */
} pdf_block_t;

/** A document. */
typedef struct pdf_doc {
	const char *title;    /* required: the first page and every page header */
	const char *subtitle; /* or NULL */
	const char *author;   /* or NULL: under the title, and the document properties */
	int64_t created;      /* creation time (unix seconds) for the properties, or 0 */
	int nblocks;
	pdf_block_t *blocks;
	const char *fallback_dir; /* look for the fallback fonts only here (tests), or NULL: the usual
	                             font folders */
} pdf_doc_t;

/** Most pages a document may have. */
#define PDF_MAX_PAGES 2000

/** Finds DejaVuSans.ttf and DejaVuSans-Bold.ttf in dir, or (dir NULL) in the usual font
 * folders, writing their paths (cap bytes each). 0, or -1 with err naming where it looked. */
int pdf_find_fonts(const char *dir, char *regular, char *bold, size_t cap, char *err, size_t errlen);
/** Removes control characters from UTF-8 text in place: tabs become spaces, "\r\n" and "\r"
 * become "\n", the rest are dropped; with keep_newlines 0, newlines become spaces too. */
void pdf_clean_text(char *s, int keep_newlines);
/** Which fallback fonts pdf_render would use: their paths (cap bytes each; "" when none is
 * installed) for CJK and for symbols, looking in dir or (NULL) the usual font folders. */
void pdf_find_fallbacks(const char *dir, char *cjk, char *symbols, size_t cap);
/** Lays out and writes doc with the two font files (and the fallback fonts it needs). Returns 0 with *out
 * (malloc'd; the caller frees), *len and *pages set, or -1 with err set and *code "too_long" (over
 * PDF_MAX_PAGES), "font" (a font file cannot be read) or "pdf" (libharu failed). */
int pdf_render(const pdf_doc_t *doc, const char *regular, const char *bold, unsigned char **out, size_t *len,
               int *pages, const char **code, char *err, size_t errlen);

#endif
