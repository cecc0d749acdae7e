/** A growable byte buffer: appends that never fail loudly (a failed allocation sets `oom`, and
 * every later append does nothing), kept NUL-terminated for text. Plain C. */
#ifndef CANDOR_BUF_H
#define CANDOR_BUF_H

#include <stdarg.h>
#include <stddef.h>

/** The buffer; zero-initialise it ({0}). p is NULL until the first append. */
typedef struct buf {
	char *p;    /* the bytes, followed by a NUL once anything was added */
	size_t len; /* bytes held */
	size_t cap; /* bytes allocated */
	int oom;    /* an allocation failed: the content is incomplete */
} buf_t;

/** Makes room for extra more bytes (plus the NUL); 0, or -1 (and oom set). */
int buf_reserve(buf_t *b, size_t extra);
/** Appends n bytes. */
void buf_add(buf_t *b, const void *s, size_t n);
/** Appends a NUL-terminated string. */
void buf_adds(buf_t *b, const char *s);
/** Appends one byte. */
void buf_addc(buf_t *b, char c);
/** Appends printf-style text. */
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends printf-style text from a va_list. */
void buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/** Drops the first n bytes (all of them when n >= len). */
void buf_consume(buf_t *b, size_t n);
/** Empties the buffer, keeping its memory. */
void buf_reset(buf_t *b);
/** Frees the memory; the buffer is empty (and usable) again. */
void buf_free(buf_t *b);

#endif
