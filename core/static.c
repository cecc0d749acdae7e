/* Static files from memory: loaded once, found by binary search, answered with type, ETag and
 * Cache-Control. */
#include "static.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/** A file served from memory. */
struct static_file {
	char *path;       /* relative to the folder, e.g. "css/app.css" */
	char *data;       /* contents */
	size_t len;       /* their length */
	char etag[24];    /* quoted hash of the contents */
	const char *mime; /* Content-Type */
};

/** The files of one folder, sorted by path. */
struct static_set {
	char *prefix;              /* URL prefix, e.g. "/static/" */
	size_t prefix_len;         /* its length */
	struct static_file *files; /* sorted by path */
	size_t nfiles, cap;        /* files used and allocated */
};

const char *static_mime(const char *name)
{
	static const struct {
		const char *ext, *mime;
	} types[] = {
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".jpg", "image/jpeg"},
	    {".jpeg", "image/jpeg"},
	    {".gif", "image/gif"},
	    {".webp", "image/webp"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".woff", "font/woff"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".html", "text/html; charset=utf-8"},
	    {".webmanifest", "application/manifest+json"},
	    {".pdf", "application/pdf"},
	};
	const char *dot = strrchr(name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].mime;
	return "application/octet-stream";
}

static const struct static_file *find(const static_set_t *set, const char *path, size_t len)
{
	size_t lo = 0, hi = set->nfiles;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *p = set->files[mid].path;
		int cmp = strncmp(p, path, len);
		if (cmp == 0 && p[len] != 0)
			cmp = 1;
		if (cmp == 0)
			return &set->files[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Adds one file; takes ownership of data. 0 or -1 (data freed). */
static int add_file(static_set_t *set, const char *relpath, char *data, size_t len)
{
	if (set->nfiles == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 32;
		struct static_file *nf = realloc(set->files, cap * sizeof *nf);
		if (!nf) {
			free(data);
			return -1;
		}
		set->files = nf;
		set->cap = cap;
	}
	char *path = strdup(relpath);
	if (!path) {
		free(data);
		return -1;
	}
	uint64_t h = 1469598103934665603ull; /* FNV-1a of the contents */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
	struct static_file *f = &set->files[set->nfiles++];
	f->path = path;
	f->data = data;
	f->len = len;
	snprintf(f->etag, sizeof f->etag, "\"%016llx\"", (unsigned long long)h);
	f->mime = static_mime(relpath);
	return 0;
}

/* Reads the file at full into memory: the contents (owned by the caller) or NULL. */
static char *read_file(const char *full, size_t len)
{
	FILE *fp = fopen(full, "rb");
	if (!fp)
		return NULL;
	char *data = malloc(len + 1);
	if (data && fread(data, 1, len, fp) != len) {
		free(data);
		data = NULL;
	}
	fclose(fp);
	return data;
}

/* Loads the folder root/rel and everything below it. A file that cannot be read is skipped;
 * -1 when a folder cannot be opened or memory runs out. */
static int load_dir(static_set_t *set, const char *root, const char *rel)
{
	char dirpath[4096];
	snprintf(dirpath, sizeof dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(dirpath);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char relpath[4096], full[8192];
		snprintf(relpath, sizeof relpath, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof full, "%s/%s", root, relpath);
		struct stat st;
		if (stat(full, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = load_dir(set, root, relpath);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		char *data = read_file(full, (size_t)st.st_size);
		if (data)
			rc = add_file(set, relpath, data, (size_t)st.st_size);
	}
	closedir(d);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct static_file *)a)->path, ((const struct static_file *)b)->path);
}

static_set_t *static_load(const char *prefix, const char *dir)
{
	static_set_t *set = calloc(1, sizeof *set);
	if (!set)
		return NULL;
	set->prefix = strdup(prefix);
	if (!set->prefix || load_dir(set, dir, "") != 0) {
		static_free(set);
		return NULL;
	}
	set->prefix_len = strlen(prefix);
	qsort(set->files, set->nfiles, sizeof *set->files, by_path);
	return set;
}

void static_free(static_set_t *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nfiles; i++) {
		free(set->files[i].path);
		free(set->files[i].data);
	}
	free(set->files);
	free(set->prefix);
	free(set);
}

size_t static_count(const static_set_t *set)
{
	return set->nfiles;
}

const char *static_etag(const static_set_t *set, const char *path)
{
	const struct static_file *f = find(set, path, strlen(path));
	return f ? f->etag : NULL;
}

/* Fills out with an error answer (the server writes it in its JSON error shape). */
static void answer_error(static_answer_t *out, int status, const char *head, const char *code,
                         const char *message)
{
	*out = (static_answer_t){.status = status, .error_code = code, .error_message = message};
	out->head_len = (size_t)snprintf(out->head, sizeof out->head, "%s", head);
}

int static_answer(const static_set_t *set, const char *method, const char *target, size_t target_len,
                  const char *if_none_match, size_t if_none_match_len, static_answer_t *out)
{
	size_t plen = set->prefix_len;
	if (!set->nfiles || target_len < plen || memcmp(target, set->prefix, plen) != 0)
		return 0;
	*out = (static_answer_t){0};
	const char *path = target + plen;
	const char *q = memchr(path, '?', target_len - plen);
	size_t len = q ? (size_t)(q - path) : target_len - plen;
	const struct static_file *f = find(set, path, len);
	if (!f) {
		answer_error(out, 404, "", "not_found", "No such file.");
		return 1;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		answer_error(out, 405, "Allow: GET, HEAD\r\n", "method_not_allowed", "Use GET.");
		return 1;
	}
	/* a "v" parameter in the query (?v=... or ...&v=...): the URL changes with the file */
	size_t qlen = q ? target_len - (size_t)(q - target) : 0;
	int versioned = q && ((qlen >= 3 && memcmp(q, "?v=", 3) == 0) || memmem(q, qlen, "&v=", 3) != NULL);
	out->head_len = (size_t)snprintf(
	    out->head, sizeof out->head, "Content-Type: %s\r\nETag: %s\r\nCache-Control: %s\r\n", f->mime,
	    f->etag, versioned ? "public, max-age=31536000, immutable" : "no-cache");
	if (if_none_match && memmem(if_none_match, if_none_match_len, f->etag, strlen(f->etag))) {
		out->status = 304;
		out->body = NULL;
		out->body_len = 0;
		return 1;
	}
	out->status = 200;
	out->body = f->data;
	out->body_len = f->len;
	return 1;
}
