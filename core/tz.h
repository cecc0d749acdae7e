/** Time zones from the system tz database (TZif files, RFC 8536, as Debian's tzdata installs them
 * under /usr/share/zoneinfo): the offset from UTC at an instant, the wall clock there, and the
 * reverse (a wall-clock time to the instant). Reads the files itself (no TZ environment, no
 * localtime), so it is safe on any thread. Plain C. */
#ifndef CANDOR_TZ_H
#define CANDOR_TZ_H

#include <stddef.h>
#include <stdint.h>

/** A loaded zone: its transitions and the POSIX rule for the times after them (opaque). */
typedef struct tz_zone tz_zone_t;

/** A wall-clock time in a zone. */
typedef struct tz_local {
	int64_t year;  /* e.g. 2026 */
	int month;     /* 1..12 */
	int day;       /* 1..31 */
	int hour;      /* 0..23 */
	int min;       /* 0..59 */
	int sec;       /* 0..59 */
	int wday;      /* 0 = Sunday .. 6 = Saturday */
	int offset;    /* seconds east of UTC (Berlin in winter: 3600) */
	int dst;       /* 1 when daylight saving time is in effect */
	char abbr[16]; /* "CET", "CEST", "EST", "IST", "+0530", "UTC" */
} tz_local_t;

/** How a wall-clock time maps to instants (tz_to_utc). */
enum tz_fit {
	TZ_EXACT = 0, /* exactly one instant */
	TZ_GAP = 1,   /* none: the clocks jumped over it (spring forward) */
	TZ_FOLD = 2,  /* two: the clocks showed it twice (fall back) */
};

/** Parses a TZif file held in buf (len bytes; the caller keeps ownership). Returns 0 and *out
 * (free with tz_free), or -1 with *err a reason ("not a TZif file", "truncated", ...). */
int tz_parse(const unsigned char *buf, size_t len, tz_zone_t **out, const char **err);

/** A zone from a POSIX TZ rule alone ("UTC0", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30").
 * Returns 0 and *out (free with tz_free), or -1 with *err. */
int tz_from_posix(const char *rule, tz_zone_t **out, const char **err);

/** Loads zone name (e.g. "Europe/Berlin") from the folder dir (e.g. "/usr/share/zoneinfo").
 * "UTC" works without the folder. Returns 0 and *out (free with tz_free), or -1 with *err and
 * *code "unknown_zone" (a name that is not a zone there) or "bad_file" (unreadable data). */
int tz_load(const char *dir, const char *name, tz_zone_t **out, const char **code, const char **err);

/** Frees a zone (NULL is fine). */
void tz_free(tz_zone_t *z);

/** 1 when name may name a zone file: 1..200 bytes of letters, digits, "/", "_", "+", "-" and
 * ".", no empty part and no part starting with "." (so no "..", no absolute path); else 0. */
int tz_valid_name(const char *name);

/** The wall clock of zone z at utc (seconds since the epoch). */
void tz_to_local(const tz_zone_t *z, int64_t utc, tz_local_t *out);

/** The instant (seconds since the epoch) at which zone z's clocks show year-month-day
 * hour:min:sec (fields may overflow: day 32 is the next month's first). *fit (may be NULL) says
 * how it mapped. A time in a gap is read with the offset before the jump, so it lands as far
 * after the jump as it was into the gap (Berlin 29 Mar 2026 02:30 -> 03:30 CEST); a time shown
 * twice is the first (earlier) of the two instants. */
int64_t tz_to_utc(const tz_zone_t *z, int64_t year, int month, int day, int hour, int min, int sec,
                  enum tz_fit *fit);

/** Days since 1970-01-01 of a proleptic Gregorian date (month and day may overflow). */
int64_t tz_days_from_civil(int64_t year, int month, int day);

/** Calls fn(name, len, is_link, ud) for every zone ("Z name ...") and link ("L target name") line
 * of a tzdata.zi text (len bytes). Returns how many names it passed. */
int tz_list(const char *text, size_t len, void (*fn)(const char *name, size_t n, int is_link, void *ud),
            void *ud);

#endif
