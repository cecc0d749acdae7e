/* Excel workbooks on libxlsxwriter (plain C, no Lua). */
#include "xlsx.h"

#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xlsxwriter.h>

/** Excel's serial day of 1970-01-01 (days since 1899-12-30). */
#define UNIX_EPOCH_SERIAL 25569.0

double xlsx_serial_of_unix(double t)
{
	return t / 86400.0 + UNIX_EPOCH_SERIAL;
}

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

int xlsx_parse_date(const char *s, double *serial)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	const char *p = s + n;
	if (*p == 'T' || *p == ' ') {
		int m2 = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m2) != 2 || m2 != 5)
			return -1;
		p += 1 + m2;
		if (*p == ':') {
			int m3 = 0;
			if (sscanf(p + 1, "%2d%n", &sec, &m3) != 1 || m3 != 2)
				return -1;
			p += 3;
		}
		if (*p == 'Z')
			p++;
	}
	if (*p || y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
		return -1;
	long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	*serial = (double)days + UNIX_EPOCH_SERIAL + (h * 3600 + mi * 60 + sec) / 86400.0;
	return 0;
}

void xlsx_sheet_name(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	int units = 0; /* UTF-16 code units, as Excel counts them */
	const unsigned char *p = (const unsigned char *)(name ? name : "");
	while (*p == '\'')
		p++;
	while (*p && units < 31) {
		size_t len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : 4;
		int u = len == 4 ? 2 : 1;
		if (memchr(p, 0, len))
			break; /* cut short: not UTF-8 */
		if (units + u > 31 || n + len >= cap)
			break;
		memcpy(out + n, p, len);
		if (len == 1 && strchr("[]:*?/\\", *p))
			out[n] = '-';
		else if (len == 1 && *p < 0x20)
			out[n] = ' ';
		n += len;
		p += len;
		units += u;
	}
	while (n > 0 && (out[n - 1] == '\'' || out[n - 1] == ' '))
		n--;
	out[n] = 0;
	if (n == 0)
		snprintf(out, cap, "Sheet");
}

/** The default number format of a column type (NULL: General). */
static const char *default_format(xlsx_type_t t)
{
	switch (t) {
	case XLSX_DATE:
		return "yyyy-mm-dd";
	case XLSX_PERCENT:
		return "0.0%";
	default:
		return NULL;
	}
}

/** A column's width from its header and values when none is given: 8..60 characters. */
static double fit_width(const xlsx_sheet_t *s, int c)
{
	const xlsx_column_t *col = &s->cols[c];
	if (col->width > 0)
		return col->width;
	size_t w = utf8_len(col->header, strlen(col->header)) + 3; /* room for the filter button */
	for (int r = 0; r < s->nrows; r++) {
		const xlsx_cell_t *cell = &s->cells[(size_t)r * (size_t)s->ncols + (size_t)c];
		size_t cw = cell->kind == XLSX_STRING  ? utf8_len(cell->s, strlen(cell->s))
		            : cell->kind == XLSX_VALUE ? (col->type == XLSX_DATE ? 10 : 12)
		                                       : 0;
		if (cw > w)
			w = cw;
	}
	w += 1;
	return w < 8 ? 8 : w > 60 ? 60 : (double)w;
}

/** Picks a name for sheet i that no earlier sheet has (Excel compares without case). */
static void unique_name(const xlsx_book_t *b, int i, char names[][128])
{
	xlsx_sheet_name(b->sheets[i].name, names[i], 128);
	char base[128];
	memcpy(base, names[i], sizeof base);
	for (int k = 2;; k++) {
		int clash = 0;
		for (int j = 0; j < i; j++)
			if (strcasecmp(names[j], names[i]) == 0)
				clash = 1;
		if (!clash && strcasecmp(names[i], "History") != 0)
			return;
		char suffix[16];
		int sl = snprintf(suffix, sizeof suffix, " (%d)", k);
		/* shorten the base (by whole characters) so base + suffix fit in 31 */
		char cut[128];
		memcpy(cut, base, sizeof cut);
		size_t n = strlen(cut);
		while (n > 0 && utf8_len(cut, n) + (size_t)sl > 31) {
			n--;
			while (n > 0 && ((unsigned char)cut[n] & 0xc0) == 0x80)
				n--;
		}
		cut[n] = 0;
		snprintf(names[i], 128, "%.112s%s", cut, suffix);
	}
}

int xlsx_write(const xlsx_book_t *book, const char *path, char *err, size_t errlen)
{
	int rc = -1;
	lxw_error e = LXW_NO_ERROR;
	char(*names)[128] = calloc((size_t)book->nsheets + 1, sizeof *names);
	lxw_workbook *wb = NULL;
	if (!names) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	wb = workbook_new(path);
	if (!wb) {
		snprintf(err, errlen, "cannot create the workbook at %.300s", path);
		goto fail;
	}
	lxw_doc_properties props = {0};
	props.title = (char *)book->title;
	props.author = (char *)book->author;
	props.created = (time_t)book->created;
	if (book->title || book->author || book->created)
		workbook_set_properties(wb, &props);
	lxw_format *bold = workbook_add_format(wb);
	format_set_bold(bold);
	format_set_bottom(bold, LXW_BORDER_THIN);
	for (int i = 0; i < book->nsheets; i++) {
		const xlsx_sheet_t *s = &book->sheets[i];
		unique_name(book, i, names);
		lxw_worksheet *ws = workbook_add_worksheet(wb, names[i]);
		if (!ws) {
			snprintf(err, errlen, "sheet %d: Excel refuses the name \"%s\"", i + 1, names[i]);
			goto fail;
		}
		for (int c = 0; c < s->ncols && !e; c++) {
			const xlsx_column_t *col = &s->cols[c];
			lxw_format *f = NULL;
			const char *nf = col->format ? col->format : default_format(col->type);
			if (nf) {
				f = workbook_add_format(wb);
				format_set_num_format(f, nf);
			}
			e = worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, fit_width(s, c), f);
			if (!e)
				e = worksheet_write_string(ws, 0, (lxw_col_t)c, col->header, bold);
			for (int r = 0; r < s->nrows && !e; r++) {
				const xlsx_cell_t *cell = &s->cells[(size_t)r * (size_t)s->ncols + (size_t)c];
				if (cell->kind == XLSX_STRING)
					e = worksheet_write_string(ws, (lxw_row_t)(r + 1), (lxw_col_t)c,
					                           cell->s, f);
				else if (cell->kind == XLSX_VALUE)
					e = worksheet_write_number(ws, (lxw_row_t)(r + 1), (lxw_col_t)c,
					                           cell->n, f);
			}
		}
		if (e) {
			snprintf(err, errlen, "sheet \"%s\": %s", names[i], lxw_strerror(e));
			goto fail;
		}
		if (s->freeze_header)
			worksheet_freeze_panes(ws, 1, 0);
		if (s->autofilter && s->ncols > 0)
			e = worksheet_autofilter(ws, 0, 0, (lxw_row_t)s->nrows, (lxw_col_t)(s->ncols - 1));
		if (e) {
			snprintf(err, errlen, "sheet \"%s\": %s", names[i], lxw_strerror(e));
			goto fail;
		}
	}
	e = workbook_close(wb);
	wb = NULL;
	if (e) {
		snprintf(err, errlen, "cannot write %.300s: %s", path, lxw_strerror(e));
		goto fail;
	}
	rc = 0;
fail:
	if (wb) {
		/* workbook_close is the only way to free it; it writes a file we then remove */
		workbook_close(wb);
		remove(path);
	}
	free(names);
	return rc;
}
