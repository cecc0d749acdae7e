/** Static files served from memory: a folder loaded once, looked up by URL path, answered
 * with a MIME type, an ETag (If-None-Match gives 304) and Cache-Control (URLs with a "v"
 * query parameter are immutable). Plain C: knows neither the HTTP server nor Lua. */
#ifndef CANDOR_STATIC_H
#define CANDOR_STATIC_H

#include <stddef.h>

/** The files of one folder, served below one URL prefix. */
typedef struct static_set static_set_t;

/** What to answer for a static URL. The texts stay owned by the set (or are constants). */
typedef struct static_answer {
	int status;                /* 200, 304, 404 or 405 */
	char head[512];            /* header lines ("Name: value\r\n"), without the common ones */
	size_t head_len;           /* length of head */
	const char *body;          /* the file, or NULL for 304 and errors */
	size_t body_len;           /* length of body */
	const char *error_code;    /* for 404 and 405: the error's code ("not_found"), else NULL */
	const char *error_message; /* for 404 and 405: the error's message, else NULL */
} static_answer_t;

/** Loads every regular file below dir (recursively; names starting with "." are skipped) to
 * be served at URL prefix (e.g. "/static/"). NULL when dir cannot be read or memory runs out. */
static_set_t *static_load(const char *prefix, const char *dir);
/** Frees the set and its files. NULL is fine. */
void static_free(static_set_t *set);
/** The number of files loaded. */
size_t static_count(const static_set_t *set);
/** The quoted ETag of the file at path (relative to the folder, e.g. "css/app.css"); NULL when
 * there is no such file. */
const char *static_etag(const static_set_t *set, const char *path);
/** The Content-Type for a file name, by its extension (application/octet-stream when unknown). */
const char *static_mime(const char *name);
/** Answers a request for target (target_len bytes, "/prefix/path?query") when it lies below
 * the prefix: fills out and returns 1; returns 0 when the target is not a static URL.
 * if_none_match is the request's If-None-Match value (NULL when absent). */
int static_answer(const static_set_t *set, const char *method, const char *target, size_t target_len,
                  const char *if_none_match, size_t if_none_match_len, static_answer_t *out);

#endif
