/* The fonts of a PDF document (see pdf_fonts.h): finding the font files, which font has which
 * character, making text drawable, measuring it, and loading the fonts into the document. */
#include "pdf_fonts.h"

#include "log.h"
#include "pdf.h"

#include <hpdf_fontdef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pdf_find_fonts(const char *dir, char *regular, char *bold, size_t cap, char *err, size_t errlen)
{
	static const char *const dirs[] = {
	    "/usr/share/fonts/truetype/dejavu",
	    "/usr/share/fonts/dejavu",
	    "/usr/share/fonts/TTF",
	    "/usr/share/fonts/dejavu-sans-fonts",
	    "/usr/local/share/fonts/dejavu",
	    "/usr/local/share/fonts",
	    NULL,
	};
	const char *one[] = {dir, NULL};
	const char *const *list = dir ? one : dirs;
	for (int i = 0; list[i]; i++) {
		snprintf(regular, cap, "%s/DejaVuSans.ttf", list[i]);
		snprintf(bold, cap, "%s/DejaVuSans-Bold.ttf", list[i]);
		if (access(regular, R_OK) == 0 && access(bold, R_OK) == 0)
			return 0;
	}
	snprintf(err, errlen,
	         "the DejaVu Sans fonts (DejaVuSans.ttf and DejaVuSans-Bold.ttf) are not in %s: install the "
	         "Debian package fonts-dejavu-core",
	         dir ? dir : "/usr/share/fonts/truetype/dejavu or the other usual font folders");
	return -1;
}

/** A fallback font file: a folder, a file name and the face in it (TrueType collections). */
struct candidate {
	const char *dir, *file;
	int index;
};

/** CJK fonts with TrueType outlines, best first. fonts-noto-cjk is not among them: its fonts
 * are OpenType with CFF outlines, which libharu cannot embed. */
static const struct candidate cjk_fonts[] = {
    {"/usr/share/fonts/truetype/droid", "DroidSansFallbackFull.ttf", 0}, /* fonts-droid-fallback */
    {"/usr/share/fonts/truetype/wqy", "wqy-microhei.ttc", 0},            /* fonts-wqy-microhei: hangul */
    {"/usr/share/fonts/truetype/wqy", "wqy-zenhei.ttc", 0},              /* fonts-wqy-zenhei */
    {"/usr/share/fonts/truetype/arphic", "uming.ttc", 0},                /* fonts-arphic-uming */
    {"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", NULL, 0},
    {NULL, NULL, 0},
};

/** Symbol fonts (arrows, dingbats, the emoji of the BMP: ✓ ★ ☕ ❤ ⭐). */
static const struct candidate symbol_fonts[] = {
    {"/usr/share/fonts/truetype/ancient-scripts", "Symbola_hint.ttf", 0}, /* fonts-symbola */
    {"/usr/share/fonts/truetype/ancient-scripts", "Symbola.ttf", 0},
    {"/usr/share/fonts/truetype/noto", "NotoSansSymbols2-Regular.ttf", 0}, /* fonts-noto-core */
    {NULL, NULL, 0},
};

/** Big-endian numbers in a font file. */
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/** Reads n bytes at offset off of f into buf: 0, or -1. */
static int read_at(FILE *f, long off, void *buf, size_t n)
{
	return fseek(f, off, SEEK_SET) == 0 && fread(buf, 1, n, f) == n ? 0 : -1;
}

/** Sets bit c of has for every character of a format 4 cmap subtable (at t, n bytes) that maps
 * to a glyph. 0, or -1 when the table is cut short. */
static int cmap4(const unsigned char *t, size_t n, unsigned char *has)
{
	if (n < 14 || be16(t) != 4)
		return -1;
	unsigned segs = be16(t + 6) / 2;
	if (n < 16 + (size_t)segs * 8)
		return -1;
	const unsigned char *ends = t + 14, *starts = ends + 2 * segs + 2, *deltas = starts + 2 * segs,
	                    *ranges = deltas + 2 * segs;
	for (unsigned i = 0; i < segs; i++) {
		unsigned end = be16(ends + 2 * i), start = be16(starts + 2 * i), delta = be16(deltas + 2 * i);
		unsigned range = be16(ranges + 2 * i);
		for (unsigned c = start; c <= end && c < 0xffff; c++) {
			unsigned g;
			if (range == 0) {
				g = (c + delta) & 0xffff;
			} else {
				size_t at = (size_t)(ranges + 2 * i - t) + range + 2 * (size_t)(c - start);
				if (at + 2 > n)
					return -1;
				g = be16(t + at);
				if (g)
					g = (g + delta) & 0xffff;
			}
			if (g)
				has[c >> 3] |= (unsigned char)(1u << (c & 7));
		}
	}
	return 0;
}

/** Reads which BMP characters face f has (its Windows Unicode cmap). Fails (-1) for a file that
 * is not a TrueType font libharu can embed: no glyf table (CFF outlines) or no such cmap. */
static int read_coverage(pdf_face_t *fc)
{
	FILE *f = fopen(fc->path, "rb");
	unsigned char head[12], *cmap = NULL;
	int rc = -1, glyf = 0;
	long base = 0, cmap_off = -1;
	uint32_t cmap_len = 0;
	if (!f || read_at(f, 0, head, 12) != 0)
		goto out;
	if (memcmp(head, "ttcf", 4) == 0) {
		unsigned char off[4];
		if ((uint32_t)fc->index >= be32(head + 8) || read_at(f, 12 + 4L * fc->index, off, 4) != 0 ||
		    read_at(f, (long)be32(off), head, 12) != 0)
			goto out;
		base = (long)be32(off);
	}
	unsigned ntables = be16(head + 4);
	for (unsigned i = 0; i < ntables; i++) {
		unsigned char rec[16];
		if (read_at(f, base + 12 + 16L * i, rec, 16) != 0)
			goto out;
		if (memcmp(rec, "glyf", 4) == 0)
			glyf = 1;
		if (memcmp(rec, "cmap", 4) == 0) {
			cmap_off = (long)be32(rec + 8);
			cmap_len = be32(rec + 12);
		}
	}
	if (!glyf || cmap_off < 0 || cmap_len < 4 || cmap_len > (16u << 20))
		goto out;
	cmap = malloc(cmap_len);
	fc->has = calloc(1, 8192);
	if (!cmap || !fc->has || read_at(f, cmap_off, cmap, cmap_len) != 0)
		goto out;
	unsigned n = be16(cmap + 2);
	for (unsigned i = 0; i < n && 4 + 8 * (size_t)i + 8 <= cmap_len && rc != 0; i++) {
		const unsigned char *r = cmap + 4 + 8 * i;
		unsigned platform = be16(r), encoding = be16(r + 2);
		uint32_t off = be32(r + 4);
		if (((platform == 3 && encoding == 1) || platform == 0) && off + 2 <= cmap_len &&
		    be16(cmap + off) == 4)
			rc = cmap4(cmap + off, cmap_len - off, fc->has);
	}
out:
	if (rc != 0) {
		free(fc->has);
		fc->has = NULL;
	}
	free(cmap);
	if (f)
		fclose(f);
	return rc;
}

/** 1 when face f has a glyph for code point c (only BMP characters can be drawn). */
static int face_has(const pdf_face_t *f, uint32_t c)
{
	return f->has && c < 0xffff && (f->has[c >> 3] >> (c & 7) & 1);
}

/** Picks the first usable font of list (a TrueType font with a Unicode cmap) into fc: its
 * index in list, or -1 when none is installed. With dir, only file names of the list are
 * looked for in dir. */
static int find_face(const struct candidate *list, const char *dir, pdf_face_t *fc)
{
	for (int i = 0; list[i].dir; i++) {
		if (dir && !list[i].file)
			continue;
		if (dir)
			snprintf(fc->path, sizeof fc->path, "%s/%s", dir, list[i].file);
		else if (list[i].file)
			snprintf(fc->path, sizeof fc->path, "%s/%s", list[i].dir, list[i].file);
		else
			snprintf(fc->path, sizeof fc->path, "%s", list[i].dir);
		fc->index = list[i].index;
		if (access(fc->path, R_OK) == 0 && read_coverage(fc) == 0)
			return i;
	}
	fc->path[0] = 0;
	return -1;
}

void pdf_find_fallbacks(const char *dir, char *cjk, char *symbols, size_t cap)
{
	pdf_face_t f = {0};
	snprintf(cjk, cap, "%s", find_face(cjk_fonts, dir, &f) >= 0 ? f.path : "");
	free(f.has);
	memset(&f, 0, sizeof f);
	snprintf(symbols, cap, "%s", find_face(symbol_fonts, dir, &f) >= 0 ? f.path : "");
	free(f.has);
}

/** Finds the fallback fonts the first time a character needs them. */
static void look_for_fallbacks(pdf_fonts_t *F)
{
	if (F->fallbacks_looked)
		return;
	F->fallbacks_looked = 1;
	const struct candidate *from = cjk_fonts;
	for (int f = FACE_CJK; f <= FACE_CJK_LAST; f++) {
		int i = find_face(from, F->fallback_dir, &F->face[f]);
		if (i < 0)
			break;
		from += i + 1;
	}
	find_face(symbol_fonts, F->fallback_dir, &F->face[FACE_SYM]);
}

uint32_t pdf_next_cp(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	uint32_t c = s[0];
	int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0) {
		*p += 1;
		return 0xfffd;
	}
	if (n > 1)
		c &= 0x3f >> (n - 1);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*p += i;
			return 0xfffd;
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	*p += n;
	return c;
}

/** Invisible characters that shape emoji or words on screen and print as nothing: variation
 * selectors, skin tones, zero-width space, joiners and marks, tag characters. */
static int invisible(uint32_t c)
{
	return (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0x1f3fb && c <= 0x1f3ff) ||
	       (c >= 0x200b && c <= 0x200f) || c == 0x2060 || c == 0xfeff || (c >= 0xe0000 && c <= 0xe007f) ||
	       c == 0x20e3;
}

/** The font face of style (FACE_REG or FACE_BOLD) that draws c: the style's own, then the other
 * DejaVu, then the fallbacks (-1: none has it). */
static int pick(const pdf_fonts_t *F, int style, uint32_t c)
{
	if (face_has(&F->face[style], c))
		return style;
	int other = style == FACE_BOLD ? FACE_REG : FACE_BOLD;
	if (face_has(&F->face[other], c))
		return other;
	for (int f = FACE_CJK; f < NFACES; f++)
		if (face_has(&F->face[f], c))
			return f;
	return -1;
}

int pdf_fonts_prepare(pdf_fonts_t *F, arena_t *a, const char *s, const char **result)
{
	*result = NULL;
	if (!s)
		return 0;
	size_t n = strlen(s);
	char *out = arena_alloc(a, n * 3 + 4), *w = out; /* a byte may become U+FFFD */
	if (!out)
		return -1;
	for (const char *p = s; *p;) {
		uint32_t c = pdf_next_cp(&p);
		if (c == '\n' || c == ' ') {
			*w++ = (char)c;
			continue;
		}
		if (invisible(c))
			continue;
		int f = pick(F, FACE_REG, c);
		if (f < 0 && c != 0xfffd && !F->fallbacks_looked) {
			look_for_fallbacks(F);
			f = pick(F, FACE_REG, c);
		}
		if (f < 0) {
			if (F->missing++ == 0)
				F->first_missing = c;
			/* the rest of an emoji sequence: joined parts, a flag's second letter */
			int flag = c >= 0x1f1e6 && c <= 0x1f1ff;
			c = 0xfffd;
			for (;;) {
				const char *q = p;
				uint32_t d = *q ? pdf_next_cp(&q) : 0;
				if (d == 0x200d && *q) {
					pdf_next_cp(&q);
					p = q;
				} else if (invisible(d) || (flag && d >= 0x1f1e6 && d <= 0x1f1ff)) {
					p = q;
					flag = 0;
				} else {
					break;
				}
			}
			f = pick(F, FACE_REG, c);
		}
		if (f >= 0)
			F->face[f].used = 1;
		w += utf8_put(w, c);
	}
	*w = 0;
	*result = out;
	return 0;
}

size_t pdf_fonts_run(const pdf_fonts_t *F, int style, const char *s, size_t n, int *face)
{
	const char *p = s, *end = s + n;
	int first = -1;
	while (p < end) {
		const char *q = p;
		int f = pick(F, style, pdf_next_cp(&q));
		if (f < 0 || !F->face[f].font)
			f = style; /* not after pdf_fonts_prepare: its .notdef box */
		if (first >= 0 && f != first)
			break;
		first = f;
		p = q;
	}
	*face = first < 0 ? style : first;
	return (size_t)(p - s);
}

double pdf_fonts_width(const pdf_fonts_t *F, int style, double size, const char *s, size_t n)
{
	double w = 0;
	while (n > 0) {
		int f;
		size_t k = pdf_fonts_run(F, style, s, n, &f);
		HPDF_TextWidth tw = HPDF_Font_TextWidth(F->face[f].font, (const HPDF_BYTE *)s, (HPDF_UINT)k);
		w += tw.width * size / 1000.0;
		s += k;
		n -= k;
	}
	return w;
}

/** Loads face f into pdf: 0, or -1 with err naming it. */
static int load_face(pdf_fonts_t *F, HPDF_Doc pdf, int f, char *err, size_t errlen)
{
	pdf_face_t *fc = &F->face[f];
	size_t n = strlen(fc->path);
	const char *name = n > 4 && strcmp(fc->path + n - 4, ".ttc") == 0
	                       ? HPDF_LoadTTFontFromFile2(pdf, fc->path, (HPDF_UINT)fc->index, HPDF_TRUE)
	                       : HPDF_LoadTTFontFromFile(pdf, fc->path, HPDF_TRUE);
	fc->name = name;
	fc->font = name ? HPDF_GetFont(pdf, name, "UTF-8") : NULL;
	if (!fc->font) {
		snprintf(err, errlen, "cannot load the font %s", fc->path);
		return -1;
	}
	return 0;
}

/** libharu 2.3 embeds the glyphs it drew but not always the parts a composite glyph is built
 * of (many CJK, Hangul and accented glyphs are composites: they print blank or wrong). Marks
 * those parts as used in face f's font definition, down to the last level, before saving. */
static void keep_composite_parts(pdf_fonts_t *F, HPDF_Doc pdf, int f)
{
	pdf_face_t *fc = &F->face[f];
	HPDF_FontDef def = fc->name ? HPDF_GetFontDef(pdf, fc->name) : NULL;
	HPDF_TTFontDefAttr a = def ? (HPDF_TTFontDefAttr)def->attr : NULL;
	if (!a || !a->glyph_tbl.flgs || !a->glyph_tbl.offsets)
		return;
	FILE *fp = fopen(fc->path, "rb");
	unsigned char *seen = calloc(a->num_glyphs ? a->num_glyphs : 1, 1), *buf = NULL;
	size_t cap = 0;
	long mult = a->header.index_to_loc_format == 0 ? 2 : 1;
	for (int changed = 1; fp && seen && changed;) {
		changed = 0;
		for (unsigned g = 0; g < a->num_glyphs; g++) {
			if (a->glyph_tbl.flgs[g] != 1 || seen[g])
				continue;
			seen[g] = 1;
			long off = (long)a->glyph_tbl.base_offset + (long)a->glyph_tbl.offsets[g] * mult;
			size_t len =
			    (size_t)((long)(a->glyph_tbl.offsets[g + 1] - a->glyph_tbl.offsets[g]) * mult);
			if (len < 14 || len > (1u << 20))
				continue;
			if (len > cap) {
				unsigned char *nb = realloc(buf, len);
				if (!nb)
					break;
				buf = nb;
				cap = len;
			}
			if (read_at(fp, off, buf, len) != 0 || (int16_t)be16(buf) >= 0)
				continue; /* a simple glyph */
			/* components: flags, glyph index, arguments, an optional transformation */
			for (size_t at = 10; at + 4 <= len;) {
				unsigned flags = be16(buf + at), part = be16(buf + at + 2);
				if (part < a->num_glyphs && a->glyph_tbl.flgs[part] != 1) {
					a->glyph_tbl.flgs[part] = 1;
					changed = 1;
				}
				at += 4 + (flags & 0x1 ? 4 : 2) +
				      (flags & 0x8    ? 2
				       : flags & 0x40 ? 4
				       : flags & 0x80 ? 8
				                      : 0);
				if (!(flags & 0x20))
					break;
			}
		}
	}
	free(buf);
	free(seen);
	if (fp)
		fclose(fp);
}

void pdf_fonts_log_missing(const pdf_fonts_t *F)
{
	if (F->missing == 0)
		return;
	uint32_t c = F->first_missing;
	int cjk =
	    (c >= 0x2e80 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff);
	const char *hint =
	    c > 0xffff ? "characters beyond U+FFFF (most emoji) cannot be embedded by libharu"
	    : cjk && !F->face[FACE_CJK].has
	        ? "no CJK font is installed: install fonts-droid-fallback (or fonts-wqy-microhei)"
	    : !F->face[FACE_SYM].has ? "no symbol font is installed: install fonts-symbola"
	                             : "none of the installed fonts has it";
	log_warn("pdf: %ld character%s printed as U+FFFD (the first is U+%04X): %s", F->missing,
	         F->missing == 1 ? "" : "s", (unsigned)c, hint);
}

int pdf_fonts_load(pdf_fonts_t *F, HPDF_Doc pdf, char *err, size_t errlen)
{
	for (int f = 0; f < NFACES; f++)
		if ((f <= FACE_BOLD || F->face[f].used) && load_face(F, pdf, f, err, errlen) != 0)
			return -1;
	return 0;
}

void pdf_fonts_keep_composites(pdf_fonts_t *F, HPDF_Doc pdf)
{
	for (int f = 0; f < NFACES; f++)
		if (F->face[f].font)
			keep_composite_parts(F, pdf, f);
}

int pdf_fonts_open(pdf_fonts_t *F, const char *regular, const char *bold, const char *fallback_dir, char *err,
                   size_t errlen)
{
	F->fallback_dir = fallback_dir;
	snprintf(F->face[FACE_REG].path, sizeof F->face[FACE_REG].path, "%s", regular);
	snprintf(F->face[FACE_BOLD].path, sizeof F->face[FACE_BOLD].path, "%s", bold);
	for (int f = FACE_REG; f <= FACE_BOLD; f++) {
		if (read_coverage(&F->face[f]) != 0) {
			snprintf(err, errlen, "cannot load the font %s (not a TrueType font)",
			         F->face[f].path);
			return -1;
		}
	}
	return 0;
}

void pdf_fonts_free(pdf_fonts_t *F)
{
	for (int f = 0; f < NFACES; f++) {
		free(F->face[f].has);
		F->face[f].has = NULL;
	}
}
