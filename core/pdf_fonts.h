/** The fonts of a PDF document (core/pdf.c's layout uses them): DejaVu Sans regular and bold,
 * then fallback fonts found at run time for what DejaVu lacks (CJK fonts, a symbol font); which
 * font draws which character (read from each font's cmap), text made drawable (characters no
 * font has become U+FFFD, invisible shaping characters go), runs of one font and their widths,
 * and the fonts loaded into a libharu document. Plain C; safe on the thread pool. */
#ifndef CANDOR_PDF_FONTS_H
#define CANDOR_PDF_FONTS_H

#include "arena.h"

#include <hpdf.h>
#include <stddef.h>
#include <stdint.h>

/** One font file of the chain: where it is, which BMP characters it has, its libharu font. */
typedef struct pdf_face {
	char path[4200];
	int index;          /* the face in a TrueType collection (.ttc) */
	unsigned char *has; /* 8 KiB: bit c is set when the font has a glyph for U+c; NULL: not read */
	HPDF_Font font;     /* loaded into the document (only when a character needs it) */
	const char *name;   /* its name in the document */
	int used;           /* some text needs it */
} pdf_face_t;

/** The fonts, in the order they are tried: DejaVu Sans (regular, bold), up to three CJK fonts
 * (one may lack what another has: Droid Sans Fallback has no Hangul), symbols. */
enum { FACE_REG, FACE_BOLD, FACE_CJK, FACE_CJK_LAST = FACE_CJK + 2, FACE_SYM, NFACES };

/** The font chain of one document. Zero it, then pdf_fonts_open; pdf_fonts_free at the end. */
typedef struct pdf_fonts {
	pdf_face_t face[NFACES];
	int fallbacks_looked;     /* the fallback fonts were searched for */
	const char *fallback_dir; /* look for them only here (tests), or NULL: the usual folders */
	long missing;             /* characters no font has (printed as U+FFFD) */
	uint32_t first_missing;
} pdf_fonts_t;

/** Reads which characters the DejaVu files regular and bold have. 0, or -1 with err naming the
 * file that is not a TrueType font. */
int pdf_fonts_open(pdf_fonts_t *F, const char *regular, const char *bold, const char *fallback_dir, char *err,
                   size_t errlen);
/** Frees what F holds (not the libharu fonts: the document owns them). */
void pdf_fonts_free(pdf_fonts_t *F);
/** Decodes the UTF-8 character at *p (advancing it); an invalid byte gives U+FFFD. */
uint32_t pdf_next_cp(const char **p);
/** Sets *out to a copy of s (in arena a) that every font of the chain can draw: characters no
 * installed font has become U+FFFD (an emoji sequence joined by U+200D becomes one), invisible
 * shaping characters are dropped, and the fonts it needs are marked used (looking for the
 * fallback fonts the first time one is needed). NULL stays NULL. 0, or -1 out of memory. */
int pdf_fonts_prepare(pdf_fonts_t *F, arena_t *a, const char *s, const char **out);
/** The length of the first run of s (n bytes) that one loaded font draws in style (FACE_REG or
 * FACE_BOLD); *face gets that font. */
size_t pdf_fonts_run(const pdf_fonts_t *F, int style, const char *s, size_t n, int *face);
/** Width in points of n bytes of prepared text at size in style. */
double pdf_fonts_width(const pdf_fonts_t *F, int style, double size, const char *s, size_t n);
/** Loads DejaVu and the fallback fonts some text needs into pdf. 0, or -1 with err naming the
 * font libharu could not load. */
int pdf_fonts_load(pdf_fonts_t *F, HPDF_Doc pdf, char *err, size_t errlen);
/** Before saving: marks the parts of the composite glyphs drawn as used, so libharu embeds them
 * (it does not always: many CJK, Hangul and accented glyphs would print blank or wrong). */
void pdf_fonts_keep_composites(pdf_fonts_t *F, HPDF_Doc pdf);
/** Says in the log, once per document, which characters printed as U+FFFD and what to install. */
void pdf_fonts_log_missing(const pdf_fonts_t *F);

#endif
