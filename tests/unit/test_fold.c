/* Unit tests of core/fold.c: the keys names are ordered and found by (the FOLD collation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fold.h"

/** The fold of s, in a static buffer. */
static const char *folded(const char *s)
{
	static char out[256];
	fold_text(s, strlen(s), out, sizeof out);
	return out;
}

static void fold_letters(void **state)
{
	(void)state;
	assert_string_equal(folded("Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m"), "zoe angstrom"); /* Zoë Ångström */
	assert_string_equal(folded("\xc3\x96mer \xc5\x81ukasz \xc5\xbb"
	                           "ak"),
	                    "omer lukasz zak"); /* Ömer Łukasz Żak */
	assert_string_equal(folded("Stra\xc3\x9f"
	                           "e \xc3\x86r\xc3\xb8"),
	                    "strasse aero");                               /* Straße Ærø */
	assert_string_equal(folded("\xc8\x98tefan \xc8\x9a"), "stefan t"); /* Ștefan Ț */
	assert_string_equal(folded("\xce\x95\xce\xbb\xce\xad\xce\xbd\xce\xb7"),
	                    "\xce\xb5\xce\xbb\xce\xb5\xce\xbd\xce\xb7");     /* Ελένη */
	assert_string_equal(folded("\xd0\x81\xd0\x96"), "\xd0\xb5\xd0\xb6"); /* ЁЖ -> еж */
	assert_string_equal(folded("O\xcc\x88mer"), "omer");                 /* decomposed Ö */
	assert_string_equal(folded("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"),
	                    "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"); /* 王小明 */
	assert_string_equal(folded("a\xc3"
	                           "b"),
	                    "a\xc3"
	                    "b"); /* an invalid byte is kept */
	assert_string_equal(folded("x \xc3\x97 \xc3\xb7"), "x \xc3\x97 \xc3\xb7"); /* × ÷ are not letters */
}

static void fold_buffer(void **state)
{
	(void)state;
	char out[4];
	/* "Ææ" folds to "aeae" (4 bytes): a 4-byte buffer takes "ae" and the NUL, never half */
	assert_int_equal(fold_text("\xc3\x86\xc3\xa6", 4, out, sizeof out), 4);
	assert_string_equal(out, "ae");
	assert_int_equal(fold_text("\xc3\x86", 2, NULL, 0), 2);
}

static void fold_order(void **state)
{
	(void)state;
	const char *sorted[] = {"\xc3\x85ngstr\xc3\xb6m",
	                        "anna",
	                        "\xc3\x89mile",
	                        "Eve",
	                        "lukas",
	                        "\xc5\x81ukasz",
	                        "Olivia",
	                        "\xc3\x96mer",
	                        "Zoe",
	                        "Zo\xc3\xab",
	                        "\xe7\x8e\x8b"};
	size_t n = sizeof sorted / sizeof *sorted;
	for (size_t i = 0; i + 1 < n; i++) {
		assert_true(fold_compare(sorted[i], strlen(sorted[i]), sorted[i + 1], strlen(sorted[i + 1])) <
		            0);
		assert_true(fold_compare(sorted[i + 1], strlen(sorted[i + 1]), sorted[i], strlen(sorted[i])) >
		            0);
	}
	assert_int_equal(fold_compare("Zo\xc3\xab", 4, "Zo\xc3\xab", 4), 0);
	assert_true(fold_compare("zoe", 3, "Zoe", 3) > 0); /* equal folds: by the bytes */
	assert_true(fold_compare("Zoe", 3, "Zoe ", 4) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fold_letters),
	    cmocka_unit_test(fold_buffer),
	    cmocka_unit_test(fold_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
