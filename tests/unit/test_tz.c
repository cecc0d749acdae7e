/* Unit tests of core/tz.c: offsets, wall clocks and their reverse from the system tz database
 * (Debian's tzdata), across the DST changes of Berlin, New York and Sydney, a +05:30 zone and
 * UTC; POSIX rules alone; broken files; and a sweep against glibc's localtime_r as the oracle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tz.h"

/** The zone folder: $TZDIR or Debian's. */
static const char *zonedir(void)
{
	const char *d = getenv("TZDIR");
	return d && *d ? d : "/usr/share/zoneinfo";
}

/** Loads a zone or fails the test. */
static tz_zone_t *load(const char *name)
{
	tz_zone_t *z = NULL;
	const char *code = NULL, *err = NULL;
	if (tz_load(zonedir(), name, &z, &code, &err) != 0)
		fail_msg("%s: %s (%s)", name, err, code);
	return z;
}

/** The wall clock of z at utc as "YYYY-MM-DD HH:MM:SS +offset ABBR dst". */
static const char *wall(const tz_zone_t *z, int64_t utc)
{
	static char out[80];
	tz_local_t l;
	tz_to_local(z, utc, &l);
	snprintf(out, sizeof out, "%04lld-%02d-%02d %02d:%02d:%02d %+d %s%s", (long long)l.year, l.month,
	         l.day, l.hour, l.min, l.sec, l.offset, l.abbr, l.dst ? " dst" : "");
	return out;
}

static void berlin_changes_in_march_and_october(void **state)
{
	(void)state;
	tz_zone_t *z = load("Europe/Berlin");
	/* 29 Mar 2026, 01:00 UTC: 02:00 CET becomes 03:00 CEST */
	assert_string_equal(wall(z, 1774745999), "2026-03-29 01:59:59 +3600 CET");
	assert_string_equal(wall(z, 1774746000), "2026-03-29 03:00:00 +7200 CEST dst");
	/* 25 Oct 2026, 01:00 UTC: 03:00 CEST becomes 02:00 CET */
	assert_string_equal(wall(z, 1792889999), "2026-10-25 02:59:59 +7200 CEST dst");
	assert_string_equal(wall(z, 1792890000), "2026-10-25 02:00:00 +3600 CET");
	/* past the file's transitions: the footer's rule (last Sunday of March 2050) */
	assert_string_equal(wall(z, 2531955599), "2050-03-27 01:59:59 +3600 CET");
	assert_string_equal(wall(z, 2531955600), "2050-03-27 03:00:00 +7200 CEST dst");
	tz_free(z);
}

static void berlin_wall_clock_to_utc(void **state)
{
	(void)state;
	tz_zone_t *z = load("Europe/Berlin");
	enum tz_fit fit;
	/* 09:00 in winter is 08:00 UTC, in summer 07:00 UTC */
	assert_int_equal(tz_to_utc(z, 2026, 1, 15, 9, 0, 0, &fit), 1768464000);
	assert_int_equal(fit, TZ_EXACT);
	assert_int_equal(tz_to_utc(z, 2026, 7, 15, 9, 0, 0, &fit), 1784098800);
	assert_int_equal(fit, TZ_EXACT);
	/* 02:30 on 29 Mar 2026 never shows: read with the offset before the jump, 03:30 CEST */
	assert_int_equal(tz_to_utc(z, 2026, 3, 29, 2, 30, 0, &fit), 1774747800);
	assert_int_equal(fit, TZ_GAP);
	assert_string_equal(wall(z, 1774747800), "2026-03-29 03:30:00 +7200 CEST dst");
	/* 02:30 on 25 Oct 2026 shows twice: the first, still CEST (00:30 UTC) */
	assert_int_equal(tz_to_utc(z, 2026, 10, 25, 2, 30, 0, &fit), 1792888200);
	assert_int_equal(fit, TZ_FOLD);
	assert_string_equal(wall(z, 1792888200), "2026-10-25 02:30:00 +7200 CEST dst");
	/* fields overflow like mktime's: 32 Jan is 1 Feb; 24:00 is the next midnight */
	assert_int_equal(tz_to_utc(z, 2026, 1, 32, 0, 0, 0, NULL), tz_to_utc(z, 2026, 2, 1, 0, 0, 0, NULL));
	assert_int_equal(tz_to_utc(z, 2026, 13, 1, 0, 0, 0, NULL), tz_to_utc(z, 2027, 1, 1, 0, 0, 0, NULL));
	assert_int_equal(tz_to_utc(z, 2026, 6, 1, 24, 0, 0, NULL), tz_to_utc(z, 2026, 6, 2, 0, 0, 0, NULL));
	tz_free(z);
}

static void new_york_changes_in_march_and_november(void **state)
{
	(void)state;
	tz_zone_t *z = load("America/New_York");
	assert_string_equal(wall(z, 1772953199), "2026-03-08 01:59:59 -18000 EST");
	assert_string_equal(wall(z, 1772953200), "2026-03-08 03:00:00 -14400 EDT dst");
	assert_string_equal(wall(z, 1793512799), "2026-11-01 01:59:59 -14400 EDT dst");
	assert_string_equal(wall(z, 1793512800), "2026-11-01 01:00:00 -18000 EST");
	enum tz_fit fit;
	assert_int_equal(tz_to_utc(z, 2026, 3, 8, 2, 0, 0, &fit), 1772953200); /* gap: 03:00 EDT */
	assert_int_equal(fit, TZ_GAP);
	assert_int_equal(tz_to_utc(z, 2026, 11, 1, 1, 0, 0, &fit), 1793509200); /* fold: 01:00 EDT */
	assert_int_equal(fit, TZ_FOLD);
	assert_int_equal(tz_to_utc(z, 2026, 12, 1, 9, 0, 0, &fit), 1796133600); /* 14:00 UTC */
	assert_int_equal(fit, TZ_EXACT);
	tz_free(z);
}

static void sydney_has_summer_in_january(void **state)
{
	(void)state;
	tz_zone_t *z = load("Australia/Sydney");
	assert_string_equal(wall(z, 1791043199), "2026-10-04 01:59:59 +36000 AEST");
	assert_string_equal(wall(z, 1791043200), "2026-10-04 03:00:00 +39600 AEDT dst");
	tz_free(z);
}

static void kolkata_is_five_and_a_half_hours_ahead(void **state)
{
	(void)state;
	tz_zone_t *z = load("Asia/Kolkata");
	assert_string_equal(wall(z, 1768464000), "2026-01-15 13:30:00 +19800 IST");
	assert_string_equal(wall(z, 1784098800), "2026-07-15 12:30:00 +19800 IST");
	enum tz_fit fit;
	assert_int_equal(tz_to_utc(z, 2026, 7, 15, 9, 0, 0, &fit), 1784086200); /* 03:30 UTC */
	assert_int_equal(fit, TZ_EXACT);
	/* local midnight is 18:30 UTC the day before */
	assert_string_equal(wall(z, 1784053800 - 1), "2026-07-14 23:59:59 +19800 IST");
	assert_string_equal(wall(z, 1784053800), "2026-07-15 00:00:00 +19800 IST");
	tz_free(z);
}

static void utc_is_utc_even_without_the_database(void **state)
{
	(void)state;
	tz_zone_t *z = load("UTC");
	assert_string_equal(wall(z, 1784098800), "2026-07-15 07:00:00 +0 UTC");
	tz_free(z);
	const char *code, *err;
	assert_int_equal(tz_load("/nonexistent", "UTC", &z, &code, &err), 0);
	assert_string_equal(wall(z, 0), "1970-01-01 00:00:00 +0 UTC");
	assert_int_equal(tz_to_utc(z, 2026, 7, 15, 9, 0, 0, NULL), 1784106000);
	tz_free(z);
	tz_local_t l;
	assert_int_equal(tz_load("/nonexistent", "UTC", &z, &code, &err), 0);
	tz_to_local(z, -1, &l); /* before the epoch */
	assert_int_equal(l.year, 1969);
	assert_int_equal(l.month, 12);
	assert_int_equal(l.day, 31);
	assert_int_equal(l.hour, 23);
	assert_int_equal(l.wday, 3); /* a Wednesday */
	tz_free(z);
}

static void posix_rules_alone(void **state)
{
	(void)state;
	tz_zone_t *z;
	const char *err;
	assert_int_equal(tz_from_posix("<+0530>-5:30", &z, &err), 0);
	assert_string_equal(wall(z, 0), "1970-01-01 05:30:00 +19800 +0530");
	tz_free(z);
	/* southern hemisphere: summer time from the first Sunday of October to that of April */
	assert_int_equal(tz_from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", &z, &err), 0);
	assert_string_equal(wall(z, 1791043200), "2026-10-04 03:00:00 +39600 AEDT dst");
	assert_string_equal(wall(z, 1768464000), "2026-01-15 19:00:00 +39600 AEDT dst");
	assert_string_equal(wall(z, 1784098800), "2026-07-15 17:00:00 +36000 AEST");
	tz_free(z);
	/* daylight time all year (the rule's change times past 24 hours) */
	assert_int_equal(tz_from_posix("EST5EDT,0/0,J365/25", &z, &err), 0);
	assert_string_equal(wall(z, 1768464000), "2026-01-15 04:00:00 -14400 EDT dst");
	tz_free(z);
	/* Jn skips 29 Feb: J60 is 1 Mar even in a leap year */
	assert_int_equal(tz_from_posix("XST0XDT,J60/0,J300/0", &z, &err), 0);
	assert_string_equal(wall(z, 1709164800 - 1), "2024-02-28 23:59:59 +0 XST"); /* 29 Feb 2024 00:00 */
	assert_string_equal(wall(z, 1709251200), "2024-03-01 01:00:00 +3600 XDT dst");
	tz_free(z);
	const char *bad[] = {"",     "U",      "UTC", "UTC+", "CET-1CEST,M3.5", "CET-1CEST,M13.5.0,M10.5.0",
	                     "<+05", "CET-1x", NULL};
	for (int i = 0; bad[i]; i++) {
		z = (tz_zone_t *)1;
		assert_int_equal(tz_from_posix(bad[i], &z, &err), -1);
		assert_null(z);
	}
}

/** Reads a whole file (the caller frees), or fails the test. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(1 << 16);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void broken_files_are_refused(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/Europe/Berlin", zonedir());
	size_t len;
	unsigned char *buf = slurp(path, &len);
	tz_zone_t *z;
	const char *err;
	/* every cut of the file: refused (or, after the data, read without the footer) */
	for (size_t n = 0; n < len; n++) {
		int rc = tz_parse(buf, n, &z, &err);
		if (rc == 0)
			tz_free(z);
		else
			assert_null(z);
	}
	assert_int_equal(tz_parse(buf, 43, &z, &err), -1);
	assert_string_equal(err, "not a TZif file");
	assert_int_equal(tz_parse(buf, 200, &z, &err), -1);
	assert_string_equal(err, "truncated");
	/* not TZif at all */
	unsigned char *copy = malloc(len);
	memcpy(copy, buf, len);
	memcpy(copy, "TZiX", 4);
	assert_int_equal(tz_parse(copy, len, &z, &err), -1);
	free(copy);
	free(buf);
	const char *code;
	assert_int_equal(tz_load(zonedir(), "Mars/Olympus_Mons", &z, &code, &err), -1);
	assert_string_equal(code, "unknown_zone");
	assert_int_equal(tz_load(zonedir(), "../../etc/passwd", &z, &code, &err), -1);
	assert_string_equal(code, "unknown_zone");
	assert_int_equal(tz_load(zonedir(), "Europe", &z, &code, &err), -1); /* a folder */
	assert_string_equal(code, "unknown_zone");
	assert_int_equal(tz_load(zonedir(), "zone1970.tab", &z, &code, &err), -1); /* not TZif */
	assert_string_equal(code, "bad_file");
}

static void zone_names(void **state)
{
	(void)state;
	assert_true(tz_valid_name("Europe/Berlin"));
	assert_true(tz_valid_name("Etc/GMT+5"));
	assert_true(tz_valid_name("America/Argentina/Buenos_Aires"));
	assert_true(tz_valid_name("UTC"));
	const char *bad[] = {"",
	                     "/etc/passwd",
	                     "../x",
	                     "Europe/../../x",
	                     "Europe//Berlin",
	                     "Europe/",
	                     ".hidden",
	                     "Europe/Berlin\n",
	                     "Europe Berlin",
	                     NULL};
	for (int i = 0; bad[i]; i++)
		assert_false(tz_valid_name(bad[i]));
}

/** Collects names for zone_list. */
static void collect(const char *name, size_t n, int is_link, void *ud)
{
	char *out = ud;
	size_t at = strlen(out);
	snprintf(out + at, 256 - at, "%s%.*s;", is_link ? "L:" : "", (int)n, name);
}

static void zone_list(void **state)
{
	(void)state;
	const char text[] = "# version 2025b\nR E 1977 1980 - Ap Su>=1 2s 1 S\nZ Europe/Berlin 0:53:28 - LMT "
	                    "1893 Ap\n1 c CE%sT 1945 May 24 2\nZ Asia/Kolkata 5:53:28 - LMT 1854 Jun 28\n"
	                    "L Etc/UTC UTC\nL Asia/Kolkata Asia/Calcutta";
	char out[256] = "";
	assert_int_equal(tz_list(text, sizeof text - 1, collect, out), 4);
	assert_string_equal(out, "Europe/Berlin;Asia/Kolkata;L:UTC;L:Asia/Calcutta;");
}

static void days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(tz_days_from_civil(2026, 0, 1), tz_days_from_civil(2025, 12, 1));
	assert_int_equal(tz_days_from_civil(2026, -11, 1), tz_days_from_civil(2025, 1, 1));
}

/** Compares every few hours of 1900..2100 in zone name with glibc's localtime_r (the oracle;
 * single-threaded test, so setting TZ is fine). */
static void compare_with_glibc(const char *name)
{
	tz_zone_t *z = load(name);
	char tzenv[300];
	snprintf(tzenv, sizeof tzenv, ":%s", name);
	setenv("TZ", tzenv, 1);
	tzset();
	int checked = 0;
	for (int64_t t = -2208988800LL; t < 4102444800LL; t += 7 * 3600 + 17 * 60 + 11) {
		time_t tt = (time_t)t;
		struct tm tm;
		localtime_r(&tt, &tm);
		tz_local_t l;
		tz_to_local(z, t, &l);
		if (l.offset != tm.tm_gmtoff || l.hour != tm.tm_hour || l.day != tm.tm_mday ||
		    l.wday != tm.tm_wday || l.dst != (tm.tm_isdst > 0) || strcmp(l.abbr, tm.tm_zone) != 0)
			fail_msg("%s at %lld: ours %s, glibc %+ld %s", name, (long long)t, wall(z, t),
			         tm.tm_gmtoff, tm.tm_zone);
		/* and back: a wall-clock time that exists maps to the instant (the first when twice) */
		enum tz_fit fit;
		int64_t back = tz_to_utc(z, l.year, l.month, l.day, l.hour, l.min, l.sec, &fit);
		if (fit == TZ_EXACT && back != t)
			fail_msg("%s: %s back to %lld, not %lld", name, wall(z, t), (long long)back,
			         (long long)t);
		if (fit == TZ_GAP)
			fail_msg("%s: %s (a shown time) taken for a gap", name, wall(z, t));
		checked++;
	}
	assert_true(checked > 200000);
	unsetenv("TZ");
	tz_free(z);
}

static void same_as_glibc(void **state)
{
	(void)state;
	const char *zones[] = {"Europe/Berlin",
	                       "America/New_York",
	                       "Asia/Kolkata",
	                       "Australia/Sydney",
	                       "America/Sao_Paulo",
	                       "Pacific/Chatham",
	                       "Asia/Tehran",
	                       "Europe/Dublin",
	                       "America/Nuuk",
	                       "Africa/Casablanca",
	                       "Australia/Lord_Howe",
	                       "UTC",
	                       NULL};
	for (int i = 0; zones[i]; i++)
		compare_with_glibc(zones[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(berlin_changes_in_march_and_october),
	    cmocka_unit_test(berlin_wall_clock_to_utc),
	    cmocka_unit_test(new_york_changes_in_march_and_november),
	    cmocka_unit_test(sydney_has_summer_in_january),
	    cmocka_unit_test(kolkata_is_five_and_a_half_hours_ahead),
	    cmocka_unit_test(utc_is_utc_even_without_the_database),
	    cmocka_unit_test(posix_rules_alone),
	    cmocka_unit_test(broken_files_are_refused),
	    cmocka_unit_test(zone_names),
	    cmocka_unit_test(zone_list),
	    cmocka_unit_test(days_from_civil),
	    cmocka_unit_test(same_as_glibc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
