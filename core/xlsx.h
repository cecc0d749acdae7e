/** Excel workbooks on libxlsxwriter, from a plain description (sheets, typed columns, rows).
 * Plain C; safe to run on the thread pool (it touches only the description and the file). */
#ifndef CANDOR_XLSX_H
#define CANDOR_XLSX_H

#include <stddef.h>
#include <stdint.h>

/** What a column holds; it decides the number format of its cells. */
typedef enum xlsx_type { XLSX_TEXT, XLSX_NUMBER, XLSX_DATE, XLSX_PERCENT } xlsx_type_t;

/** A column: header text, width in characters (0: from its contents), type, number format. */
typedef struct xlsx_column {
	const char *header; /* UTF-8 */
	double width;       /* 0 = fit header and values (8..60) */
	xlsx_type_t type;
	const char *format; /* Excel number format, or NULL for the type's default */
} xlsx_column_t;

/** What a cell holds. */
typedef enum xlsx_kind { XLSX_BLANK, XLSX_STRING, XLSX_VALUE } xlsx_kind_t;

/** One cell: a string, or a number (dates are Excel serial days since 1899-12-30). */
typedef struct xlsx_cell {
	xlsx_kind_t kind;
	const char *s; /* XLSX_STRING: UTF-8 */
	double n;      /* XLSX_VALUE */
} xlsx_cell_t;

/** A worksheet. */
typedef struct xlsx_sheet {
	const char *name; /* as given; sanitised when written */
	int ncols, nrows;
	xlsx_column_t *cols; /* ncols */
	xlsx_cell_t *cells;  /* nrows * ncols, row by row */
	int freeze_header;   /* keep the header row visible */
	int autofilter;      /* filter buttons on the header */
} xlsx_sheet_t;

/** A workbook. */
typedef struct xlsx_book {
	int nsheets;
	xlsx_sheet_t *sheets;
	const char *title, *author; /* document properties, or NULL */
	int64_t created;            /* creation time (unix seconds), or 0 for none given */
} xlsx_book_t;

/** Most rows in a sheet (Excel's limit, less the header). */
#define XLSX_MAX_ROWS 1048575
/** Most columns in a sheet. */
#define XLSX_MAX_COLS 16384
/** Longest string in a cell, in bytes (Excel allows 32767 characters). */
#define XLSX_MAX_STRING 32767

/** Writes the workbook to path (created or replaced). Returns 0, or -1 with err set. */
int xlsx_write(const xlsx_book_t *book, const char *path, char *err, size_t errlen);
/** Writes the Excel-safe form of name into out (cap >= 128): at most 31 characters, none of
 * []:*?/\, not empty, not starting or ending with an apostrophe. */
void xlsx_sheet_name(const char *name, char *out, size_t cap);
/** Parses "YYYY-MM-DD", optionally followed by "THH:MM[:SS]" (or a space) and "Z", as UTC
 * into an Excel serial date. 0, or -1 when it is not such a date. */
int xlsx_parse_date(const char *s, double *serial);
/** The Excel serial date of a unix time. */
double xlsx_serial_of_unix(double t);

#endif
