/* Unit tests of the plain C cores of 2-step verification: TOTP codes (core.totp) and QR codes
 * (core.qr); the edges the Lua scenarios (tests/scenarios/native) do not reach easily. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qr.h"
#include "totp.h"

static void totp_core(void **state)
{
	(void)state;
	assert_int_equal(totp_init(), 0);
	unsigned char bin[TOTP_MAX_SECRET_BYTES];
	int n = totp_decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 32, bin);
	assert_int_equal(n, 20);
	assert_memory_equal(bin, "12345678901234567890", 20);
	char code[16];
	assert_int_equal(totp_code_at(bin, 20, 59 / 30, 8, code), 0);
	assert_string_equal(code, "94287082");
	int64_t step = -1;
	assert_int_equal(totp_verify(bin, 20, "94287082", 8, 59, 30, 1, &step), 1);
	assert_int_equal(step, 1);
	/* step 0 at time 10 with window 1: the step before 0 is skipped, not an error */
	assert_int_equal(totp_code_at(bin, 20, 0, 6, code), 0);
	assert_int_equal(totp_verify(bin, 20, code, 6, 10, 30, 1, &step), 1);
	assert_int_equal(step, 0);
	assert_int_equal(totp_verify(bin, 20, "9428708", 7, 59, 30, 1, &step), 0);
	assert_int_equal(totp_verify(bin, 20, "94287O82", 8, 59, 30, 1, &step), 0);
	assert_int_equal(totp_decode_secret("GEZDGNBV", 8, bin), -1); /* 40 bits: too short */
	assert_int_equal(totp_decode_secret("GEZD GNBV GY3T QOJQ", 19, bin), 10);
	char uri[64];
	assert_int_equal(totp_uri("GEZDGNBVGY3TQOJQ", "a", "b", uri, sizeof uri), -1); /* does not fit */
}

static void qr_core(void **state)
{
	(void)state;
	qr_t q;
	const char *err = NULL;
	assert_int_equal(qr_encode("hello", QR_M, &q, &err), 0);
	assert_int_equal(q.width, 21);
	size_t len = 0;
	char *svg = qr_svg(&q, 3, 2, &len);
	assert_non_null(svg);
	assert_int_equal(strlen(svg), len);
	assert_non_null(strstr(svg, "viewBox=\"0 0 25 25\""));
	assert_non_null(strstr(svg, "width=\"75\""));
	free(svg);
	qr_free(&q);
	char *big = malloc(4000);
	memset(big, 'x', 3999);
	big[3999] = 0;
	assert_int_equal(qr_encode(big, QR_L, &q, &err), -1);
	assert_string_equal(err, "too_long");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(totp_core),
	    cmocka_unit_test(qr_core),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
