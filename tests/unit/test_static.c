/* Unit tests of core/static.c: loading a folder, MIME types, ETag and If-None-Match,
 * immutable versioned URLs, and what is not a static file. No server: plain calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/** The temp folder of files and the set loaded from it. */
static struct env {
	char dir[256];     /* the folder */
	static_set_t *set; /* loaded at "/static/" */
} E;

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", E.dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(E.dir, sizeof E.dir, "/tmp/candor-static-XXXXXX");
	if (!mkdtemp(E.dir))
		return -1;
	char sub[300];
	snprintf(sub, sizeof sub, "%s/img", E.dir);
	mkdir(sub, 0700);
	write_file("app.css", "body{color:red}");
	write_file("app.js", "let x=1;");
	write_file("img/logo.svg", "<svg/>");
	write_file("blob.xyz", "??");
	write_file(".hidden", "secret");
	E.set = static_load("/static/", E.dir);
	return E.set ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	static_free(E.set);
	E.set = NULL;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", E.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Answers target like the server would for method, with an optional If-None-Match. */
static int ask(const char *method, const char *target, const char *inm, static_answer_t *a)
{
	memset(a, 0, sizeof *a);
	return static_answer(E.set, method, target, strlen(target), inm, inm ? strlen(inm) : 0, a);
}

/* The value of header name in the answer's head lines (a static buffer), or NULL. */
static const char *header(const static_answer_t *a, const char *name)
{
	static char value[256];
	size_t n = strlen(name);
	for (const char *p = a->head; *p;) {
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			break;
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			snprintf(value, sizeof value, "%.*s", (int)(eol - p - n - 2), p + n + 2);
			return value;
		}
		p = eol + 2;
	}
	return NULL;
}

static void every_file_below_the_folder_is_loaded_but_hidden_ones(void **state)
{
	(void)state;
	assert_int_equal(static_count(E.set), 4);
	assert_non_null(static_etag(E.set, "img/logo.svg"));
	assert_null(static_etag(E.set, ".hidden"));
	assert_null(static_etag(E.set, "img"));
}

static void a_missing_folder_loads_nothing(void **state)
{
	(void)state;
	assert_null(static_load("/static/", "/nonexistent/candor-static"));
}

static void file_has_type_etag_and_no_cache(void **state)
{
	(void)state;
	static_answer_t a;
	assert_int_equal(ask("GET", "/static/app.css", NULL, &a), 1);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.body_len, 15);
	assert_memory_equal(a.body, "body{color:red}", 15);
	assert_string_equal(header(&a, "Content-Type"), "text/css; charset=utf-8");
	assert_string_equal(header(&a, "Cache-Control"), "no-cache");
	const char *etag = header(&a, "ETag");
	assert_true(etag[0] == '"' && strlen(etag) == 18);
	assert_string_equal(etag, static_etag(E.set, "app.css"));
	assert_int_equal(a.head_len, strlen(a.head));
}

static void matching_if_none_match_is_304_and_a_stale_one_gets_the_file(void **state)
{
	(void)state;
	char etag[32];
	snprintf(etag, sizeof etag, "%s", static_etag(E.set, "app.css"));
	static_answer_t a;
	assert_int_equal(ask("GET", "/static/app.css", etag, &a), 1);
	assert_int_equal(a.status, 304);
	assert_null(a.body);
	assert_string_equal(header(&a, "ETag"), etag);
	/* one of several */
	char list[80];
	snprintf(list, sizeof list, "\"0000\", %s", etag);
	assert_int_equal(ask("GET", "/static/app.css", list, &a), 1);
	assert_int_equal(a.status, 304);
	/* another file's ETag, or a stale one */
	assert_int_equal(ask("GET", "/static/app.js", etag, &a), 1);
	assert_int_equal(a.status, 200);
	assert_int_equal(ask("GET", "/static/app.css", "\"0000\"", &a), 1);
	assert_int_equal(a.status, 200);
}

static void mime_types_follow_the_extension(void **state)
{
	(void)state;
	static_answer_t a;
	ask("GET", "/static/app.js", NULL, &a);
	assert_string_equal(header(&a, "Content-Type"), "text/javascript; charset=utf-8");
	ask("GET", "/static/img/logo.svg", NULL, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(header(&a, "Content-Type"), "image/svg+xml");
	assert_memory_equal(a.body, "<svg/>", 6);
	ask("GET", "/static/blob.xyz", NULL, &a);
	assert_string_equal(header(&a, "Content-Type"), "application/octet-stream");
	assert_string_equal(static_mime("FONT.WOFF2"), "font/woff2");
	assert_string_equal(static_mime("noext"), "application/octet-stream");
}

static void versioned_url_is_immutable(void **state)
{
	(void)state;
	static_answer_t a;
	ask("GET", "/static/app.css?v=abc123", NULL, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(header(&a, "Cache-Control"), "public, max-age=31536000, immutable");
	assert_memory_equal(a.body, "body{color:red}", 15);
	ask("GET", "/static/app.css?x=1&v=2", NULL, &a);
	assert_string_equal(header(&a, "Cache-Control"), "public, max-age=31536000, immutable");
	/* only a parameter named v counts */
	ask("GET", "/static/app.css?nav=1", NULL, &a);
	assert_string_equal(header(&a, "Cache-Control"), "no-cache");
	ask("GET", "/static/app.css?", NULL, &a);
	assert_string_equal(header(&a, "Cache-Control"), "no-cache");
}

static void unknown_file_is_404_and_post_is_405(void **state)
{
	(void)state;
	static_answer_t a;
	assert_int_equal(ask("GET", "/static/nope.css", NULL, &a), 1);
	assert_int_equal(a.status, 404);
	assert_string_equal(a.error_code, "not_found");
	assert_null(a.body);
	ask("GET", "/static/../app.css", NULL, &a);
	assert_int_equal(a.status, 404);
	ask("GET", "/static/app", NULL, &a);
	assert_int_equal(a.status, 404);
	ask("GET", "/static/img/", NULL, &a);
	assert_int_equal(a.status, 404);
	ask("POST", "/static/app.css", NULL, &a);
	assert_int_equal(a.status, 405);
	assert_string_equal(header(&a, "Allow"), "GET, HEAD");
	ask("HEAD", "/static/app.css", NULL, &a);
	assert_int_equal(a.status, 200);
}

static void other_paths_are_not_static(void **state)
{
	(void)state;
	static_answer_t a;
	assert_int_equal(ask("GET", "/staticx", NULL, &a), 0);
	assert_int_equal(ask("GET", "/static", NULL, &a), 0);
	assert_int_equal(ask("GET", "/", NULL, &a), 0);
	assert_int_equal(ask("GET", "/app.css", NULL, &a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(every_file_below_the_folder_is_loaded_but_hidden_ones, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_missing_folder_loads_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(file_has_type_etag_and_no_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(matching_if_none_match_is_304_and_a_stale_one_gets_the_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(mime_types_follow_the_extension, setup, teardown),
	    cmocka_unit_test_setup_teardown(versioned_url_is_immutable, setup, teardown),
	    cmocka_unit_test_setup_teardown(unknown_file_is_404_and_post_is_405, setup, teardown),
	    cmocka_unit_test_setup_teardown(other_paths_are_not_static, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
