/* Unit tests of the plain C cores of the exports (core.xlsx, core.pdf and the fonts of a PDF,
 * the arena and UTF-8 helpers they share): the edges the Lua scenarios (tests/scenarios/native)
 * do not reach easily. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "pdf.h"
#include "pdf_fonts.h"
#include "xlsx.h"

static void utf8_edges(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("Zo\xc3\xab \xc5\x81\xc3\xb3\x64\xc5\xba \xf0\x9f\x98\x80", 17));
	assert_false(utf8_valid("a\0b", 3));             /* NUL */
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* a surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_false(utf8_valid("\xc3", 1));             /* cut short */
	assert_false(utf8_valid("\x80", 1));             /* a lone continuation byte */
	assert_int_equal(utf8_len("Zo\xc3\xab", 4), 3);
}

static void arena_blocks(void **state)
{
	(void)state;
	arena_t a = {0};
	char *small = arena_strndup(&a, "abc", 3);
	assert_string_equal(small, "abc");
	unsigned char *big = arena_alloc(&a, 100000); /* larger than a block */
	assert_non_null(big);
	assert_int_equal(big[99999], 0);
	assert_int_equal((uintptr_t)big % _Alignof(max_align_t), 0);
	assert_string_equal(small, "abc");
	arena_free(&a);
	assert_null(a.head);
}

static void xlsx_dates(void **state)
{
	(void)state;
	double d;
	assert_int_equal(xlsx_parse_date("2026-01-05", &d), 0);
	assert_true(d == 46027.0);
	assert_int_equal(xlsx_parse_date("1970-01-01T00:00:00Z", &d), 0);
	assert_true(d == 25569.0);
	assert_int_equal(xlsx_parse_date("2024-02-29 12:00", &d), 0);
	assert_true(d == 45351.5);
	assert_int_equal(xlsx_parse_date("2026-02-29", &d), -1); /* not a leap year */
	assert_int_equal(xlsx_parse_date("2000-02-29", &d), 0);  /* 400-year rule */
	assert_int_equal(xlsx_parse_date("1900-02-29", &d), -1); /* 100-year rule */
	assert_int_equal(xlsx_parse_date("2026-13-01", &d), -1);
	assert_int_equal(xlsx_parse_date("2026-01-05T25:00", &d), -1);
	assert_int_equal(xlsx_parse_date("2026-01-05x", &d), -1);
	assert_int_equal(xlsx_parse_date("26-01-05", &d), -1);
	assert_true(xlsx_serial_of_unix(86400) == 25570.0);
}

static void xlsx_names(void **state)
{
	(void)state;
	char out[128];
	xlsx_sheet_name("Q1/Q2 [draft]", out, sizeof out);
	assert_string_equal(out, "Q1-Q2 -draft-");
	/* 30 ASCII characters and an emoji (two UTF-16 units): the emoji does not fit in 31 */
	xlsx_sheet_name("abcdefghijklmnopqrstuvwxyzabcd\xf0\x9f\x98\x80", out, sizeof out);
	assert_string_equal(out, "abcdefghijklmnopqrstuvwxyzabcd");
	xlsx_sheet_name("''", out, sizeof out);
	assert_string_equal(out, "Sheet");
	xlsx_sheet_name(NULL, out, sizeof out);
	assert_string_equal(out, "Sheet");
}

static void pdf_text(void **state)
{
	(void)state;
	char s[] = "a\tb\r\nc\rd\x01\x7f"
	           "e\nf";
	pdf_clean_text(s, 1);
	assert_string_equal(s, "a b\nc\nde\nf");
	char s2[] = "a\nb\r\nc";
	pdf_clean_text(s2, 0);
	assert_string_equal(s2, "a b c");
	char r[4200], b[4200], err[512];
	assert_int_equal(pdf_find_fonts("/nonexistent", r, b, sizeof r, err, sizeof err), -1);
	assert_non_null(strstr(err, "fonts-dejavu-core"));
}

static void pdf_document(void **state)
{
	(void)state;
	char r[4200], b[4200], err[512];
	assert_int_equal(pdf_find_fonts(NULL, r, b, sizeof r, err, sizeof err), 0);
	const char *cells[] = {"Cycle", "2026 H1"};
	pdf_block_t blocks[] = {
	    {.kind = PDF_H1, .text = "Summary"},
	    {.kind = PDF_KV, .ncols = 2, .nrows = 1, .cells = cells},
	    {.kind = PDF_PAGEBREAK},
	    {.kind = PDF_RATING, .text = "Overall", .rated = 1, .value = 2.5, .max = 4},
	};
	pdf_doc_t doc = {.title = "T", .nblocks = 4, .blocks = blocks};
	unsigned char *out = NULL;
	size_t len = 0;
	int pages = 0;
	const char *code = NULL;
	assert_int_equal(pdf_render(&doc, r, b, &out, &len, &pages, &code, err, sizeof err), 0);
	assert_int_equal(pages, 2);
	assert_true(len > 1000);
	assert_memory_equal(out, "%PDF-", 5);
	free(out);
	/* a font file that is not a font */
	assert_int_equal(pdf_render(&doc, "/etc/hostname", b, &out, &len, &pages, &code, err, sizeof err),
	                 -1);
	assert_string_equal(code, "font");
	assert_null(out);
}

/** 1 when the n bytes at hay contain needle. */
static int has_bytes(const unsigned char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

static void pdf_fallbacks(void **state)
{
	(void)state;
	char r[4200], b[4200], err[512], cjk[4200], sym[4200];
	assert_int_equal(pdf_find_fonts(NULL, r, b, sizeof r, err, sizeof err), 0);
	pdf_find_fallbacks(NULL, cjk, sym, sizeof cjk);
	assert_true(cjk[0] != 0); /* the build's packages: fonts-droid-fallback, fonts-wqy-microhei */
	assert_true(sym[0] != 0); /* fonts-symbola */
	pdf_find_fallbacks("/nonexistent", cjk, sym, sizeof cjk);
	assert_string_equal(cjk, "");
	assert_string_equal(sym, "");
	pdf_block_t blocks[] = {
	    {.kind = PDF_P,
	     .text = "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e \xe2\x9c\x85 \xf0\x9f\x8e\x89"}, /* 王小明 ✅ 🎉 */
	    {.kind = PDF_GRAPH,
	     .text = "Graph",
	     .xlabel = "Skill",
	     .ylabel = "Motivation",
	     .npoints = 2,
	     .points = {{.x = 72, .y = 40, .label = "self"}, {.x = 0, .y = 100, .label = NULL}}},
	};
	pdf_doc_t doc = {.title = "T", .nblocks = 2, .blocks = blocks};
	unsigned char *out = NULL;
	size_t len = 0;
	int pages = 0;
	const char *code = NULL;
	assert_int_equal(pdf_render(&doc, r, b, &out, &len, &pages, &code, err, sizeof err), 0);
	assert_int_equal(pages, 1);
	assert_true(has_bytes(out, len, "DroidSansFallback"));
	assert_true(has_bytes(out, len, "Symbola"));
	free(out);
	/* no fallback installed: still a document, the characters as U+FFFD, and a warning saying
	   what to install (stderr goes to a file for a moment) */
	doc.fallback_dir = "/nonexistent";
	char path[] = "/tmp/candor-pdf-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	int rc = pdf_render(&doc, r, b, &out, &len, &pages, &code, err, sizeof err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char log[1024] = {0};
	ssize_t got = pread(fd, log, sizeof log - 1, 0);
	close(fd);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_true(got > 0);
	assert_non_null(strstr(log, "printed as U+FFFD"));
	assert_non_null(strstr(log, "install fonts-droid-fallback"));
	assert_false(has_bytes(out, len, "DroidSansFallback"));
	free(out);
}

static void pdf_fonts_make_text_drawable(void **state)
{
	(void)state;
	char r[4200], b[4200], err[512];
	assert_int_equal(pdf_find_fonts(NULL, r, b, sizeof r, err, sizeof err), 0);
	pdf_fonts_t F = {0};
	assert_int_equal(pdf_fonts_open(&F, r, b, "/nonexistent", err, sizeof err), 0);
	arena_t a = {0};
	const char *out = "";
	assert_int_equal(pdf_fonts_prepare(&F, &a, NULL, &out), 0);
	assert_null(out);
	/* DejaVu has é; no CJK font in /nonexistent: 王 prints as U+FFFD */
	assert_int_equal(pdf_fonts_prepare(&F, &a, "caf\xc3\xa9 \xe7\x8e\x8b", &out), 0);
	assert_string_equal(out, "caf\xc3\xa9 \xef\xbf\xbd");
	assert_int_equal(F.missing, 1);
	assert_int_equal(F.first_missing, 0x738b);
	/* a variation selector prints as nothing */
	assert_int_equal(pdf_fonts_prepare(&F, &a, "a\xef\xb8\x8f", &out), 0);
	assert_string_equal(out, "a");
	/* an emoji sequence joined by U+200D is one U+FFFD, not one per part */
	assert_int_equal(pdf_fonts_prepare(&F, &a, "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9!", &out), 0);
	assert_string_equal(out, "\xef\xbf\xbd!");
	assert_false(F.face[FACE_CJK].used);
	pdf_fonts_free(&F);
	/* with the usual font folders the CJK fallback draws 王 and is marked for loading */
	pdf_fonts_t G = {0};
	assert_int_equal(pdf_fonts_open(&G, r, b, NULL, err, sizeof err), 0);
	assert_int_equal(pdf_fonts_prepare(&G, &a, "\xe7\x8e\x8b", &out), 0);
	assert_string_equal(out, "\xe7\x8e\x8b");
	assert_int_equal(G.missing, 0);
	assert_true(G.face[FACE_CJK].used);
	pdf_fonts_free(&G);
	/* a file that is not a TrueType font */
	pdf_fonts_t H = {0};
	assert_int_equal(pdf_fonts_open(&H, "/etc/hostname", b, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "/etc/hostname"));
	pdf_fonts_free(&H);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(utf8_edges),    cmocka_unit_test(arena_blocks),
	    cmocka_unit_test(xlsx_dates),    cmocka_unit_test(xlsx_names),
	    cmocka_unit_test(pdf_text),      cmocka_unit_test(pdf_document),
	    cmocka_unit_test(pdf_fallbacks), cmocka_unit_test(pdf_fonts_make_text_drawable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
