/* Time zones from TZif files (RFC 8536) and POSIX TZ rules. See tz.h. */
#include "tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/** Largest TZif file read (the biggest in tzdata are a few KiB). */
#define TZ_FILE_MAX (256 * 1024)

/** One kind of local time: offset, dst flag, abbreviation. */
struct tz_type {
	int32_t offset; /* seconds east of UTC */
	int dst;
	char abbr[16];
};

/** A day-of-year rule of a POSIX TZ string, with the wall-clock time of the change. */
struct tz_rule {
	char kind;    /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
	int n;        /* J and D: the day */
	int m, w, d;  /* M: month 1..12, week 1..5 (5 = last), weekday 0 = Sunday */
	int32_t time; /* seconds after local midnight (-167 h .. 167 h) */
};

/** A POSIX TZ rule: standard time, and daylight time between two rules. */
struct tz_posix {
	struct tz_type std, dst;
	int has_dst;
	struct tz_rule start, end;
};

struct tz_zone {
	int64_t *at;           /* transition instants, ascending (owned) */
	unsigned char *idx;    /* the type after each transition (owned) */
	size_t count;          /* transitions */
	struct tz_type *types; /* owned */
	size_t ntypes;
	int has_posix; /* the rule for times after the last transition */
	struct tz_posix posix;
};

/* ------------------------------------------------------------------ calendar */

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
	/* month overflow first, then Howard Hinnant's days_from_civil; day overflow adds */
	int64_t mm = (int64_t)m - 1, years = mm >= 0 ? mm / 12 : -((11 - mm) / 12);
	y += years;
	m = (int)(mm - years * 12) + 1;
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + (d - 1);
}

/** The date of days since 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/** floor(a / b) for b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((b - 1 - a) / b);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ------------------------------------------------------------------ POSIX TZ rules */

/** Parses a zone name (3+ letters, or <...> of letters, digits, + and -) into abbr. */
static const char *parse_name(const char *s, char *abbr)
{
	size_t n = 0;
	if (*s == '<') {
		s++;
		while (*s && *s != '>') {
			if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			      (*s >= '0' && *s <= '9') || *s == '+' || *s == '-'))
				return NULL;
			if (n < 15)
				abbr[n++] = *s;
			s++;
		}
		if (*s != '>')
			return NULL;
		s++;
	} else {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
			if (n < 15)
				abbr[n++] = *s;
			s++;
		}
	}
	abbr[n] = '\0';
	return n >= 3 ? s : NULL;
}

/** Parses [+-]h[:mm[:ss]] (hours up to max_h) into *secs. */
static const char *parse_hms(const char *s, int max_h, int32_t *secs)
{
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (*s < '0' || *s > '9')
		return NULL;
	int32_t v[3] = {0, 0, 0};
	for (int part = 0; part < 3; part++) {
		if (part > 0) {
			if (*s != ':')
				break;
			s++;
		}
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 3) {
			v[part] = v[part] * 10 + (*s++ - '0');
			digits++;
		}
		if (digits == 0 || (part > 0 && v[part] > 59))
			return NULL;
	}
	if (v[0] > max_h)
		return NULL;
	*secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return s;
}

/** Parses a number lo..hi. */
static const char *parse_num(const char *s, int lo, int hi, int *out)
{
	int v = 0, digits = 0;
	while (*s >= '0' && *s <= '9' && digits < 4) {
		v = v * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0 || v < lo || v > hi)
		return NULL;
	*out = v;
	return s;
}

/** Parses ",rule[/time]". */
static const char *parse_rule(const char *s, struct tz_rule *r)
{
	if (*s++ != ',')
		return NULL;
	memset(r, 0, sizeof *r);
	if (*s == 'J') {
		r->kind = 'J';
		s = parse_num(s + 1, 1, 365, &r->n);
	} else if (*s == 'M') {
		r->kind = 'M';
		s = parse_num(s + 1, 1, 12, &r->m);
		if (s && *s == '.')
			s = parse_num(s + 1, 1, 5, &r->w);
		else
			s = NULL;
		if (s && *s == '.')
			s = parse_num(s + 1, 0, 6, &r->d);
		else
			s = NULL;
	} else {
		r->kind = 'D';
		s = parse_num(s, 0, 365, &r->n);
	}
	if (!s)
		return NULL;
	r->time = 2 * 3600;
	if (*s == '/')
		s = parse_hms(s + 1, 167, &r->time);
	return s;
}

/** Parses a POSIX TZ string into p. Returns 0 or -1. */
static int parse_posix(const char *s, struct tz_posix *p)
{
	int32_t off;
	memset(p, 0, sizeof *p);
	if (!(s = parse_name(s, p->std.abbr)) || !(s = parse_hms(s, 24, &off)))
		return -1;
	p->std.offset = -off; /* POSIX counts west of Greenwich */
	if (*s == '\0')
		return 0;
	if (!(s = parse_name(s, p->dst.abbr)))
		return -1;
	p->has_dst = 1;
	p->dst.dst = 1;
	p->dst.offset = p->std.offset + 3600;
	if (*s && *s != ',') {
		if (!(s = parse_hms(s, 24, &off)))
			return -1;
		p->dst.offset = -off;
	}
	if (*s == '\0') { /* no rules: the US rules, as POSIX leaves it to the implementation */
		p->start = (struct tz_rule){'M', 0, 3, 2, 0, 7200};
		p->end = (struct tz_rule){'M', 0, 11, 1, 0, 7200};
		return 0;
	}
	if (!(s = parse_rule(s, &p->start)) || !(s = parse_rule(s, &p->end)))
		return -1;
	return *s == '\0' ? 0 : -1;
}

/** Days since the epoch of the day rule r picks in year y. */
static int64_t rule_day(const struct tz_rule *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);
	if (r->kind == 'J')
		return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	if (r->kind == 'D')
		return jan1 + r->n;
	int64_t first = tz_days_from_civil(y, r->m, 1);
	int wday1 = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
	int day = 1 + (r->d - wday1 + 7) % 7 + (r->w - 1) * 7;
	while (day > month_days(y, r->m))
		day -= 7;
	return first + day - 1;
}

/** The type p gives at utc. */
static const struct tz_type *posix_type(const struct tz_posix *p, int64_t utc)
{
	if (!p->has_dst)
		return &p->std;
	int64_t y;
	int m, d;
	civil_from_days(floor_div(utc + p->std.offset, 86400), &y, &m, &d);
	int64_t start = rule_day(&p->start, y) * 86400 + p->start.time - p->std.offset;
	int64_t end = rule_day(&p->end, y) * 86400 + p->end.time - p->dst.offset;
	int in_dst = start < end ? (utc >= start && utc < end) : !(utc >= end && utc < start);
	return in_dst ? &p->dst : &p->std;
}

/* ------------------------------------------------------------------ TZif */

static int64_t be32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

/** The counts of a TZif header. */
struct tzif_counts {
	size_t isut, isstd, leap, time, type, chars;
};

/** Reads the header at p (44 bytes, checked by the caller); size of its data block with
 * transition times of tsize bytes. */
static size_t read_header(const unsigned char *p, struct tzif_counts *c, size_t tsize)
{
	c->isut = (size_t)be32(p + 20);
	c->isstd = (size_t)be32(p + 24);
	c->leap = (size_t)be32(p + 28);
	c->time = (size_t)be32(p + 32);
	c->type = (size_t)be32(p + 36);
	c->chars = (size_t)be32(p + 40);
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
	       c->isut;
}

int tz_parse(const unsigned char *buf, size_t len, tz_zone_t **out, const char **err)
{
	struct tz_zone *z = NULL;
	struct tzif_counts c;
	*out = NULL;
	*err = "truncated";
	if (len < 44 || memcmp(buf, "TZif", 4) != 0) {
		*err = "not a TZif file";
		return -1;
	}
	int version = buf[4];
	size_t tsize = 4;
	const unsigned char *p = buf + 44, *end = buf + len;
	size_t size = read_header(buf, &c, 4);
	if (c.time > 100000 || c.type > 256 || c.chars > 1024 || c.leap > 1000 || c.isut > 256 ||
	    c.isstd > 256)
		goto bad;
	if (version >= '2') { /* skip the 32-bit block: the 64-bit one follows */
		if ((size_t)(end - p) < size + 44 || memcmp(p + size, "TZif", 4) != 0)
			goto fail;
		p += size;
		size = read_header(p, &c, 8);
		p += 44;
		tsize = 8;
		if (c.time > 100000 || c.type > 256 || c.chars > 1024 || c.leap > 1000 || c.isut > 256 ||
		    c.isstd > 256)
			goto bad;
	}
	if ((size_t)(end - p) < size)
		goto fail;
	if (c.type == 0 || c.leap > 0) { /* leap-second ("right/") zones are not supported */
		*err = c.type == 0 ? "no local time types" : "leap seconds are not supported";
		return -1;
	}
	z = calloc(1, sizeof *z);
	if (!z)
		goto oom;
	z->count = c.time;
	z->ntypes = c.type;
	z->at = malloc((c.time ? c.time : 1) * sizeof *z->at);
	z->idx = malloc(c.time ? c.time : 1);
	z->types = calloc(c.type, sizeof *z->types);
	if (!z->at || !z->idx || !z->types)
		goto oom;
	for (size_t i = 0; i < c.time; i++) {
		z->at[i] = tsize == 8 ? be64(p + i * 8) : be32(p + i * 4);
		if (i > 0 && z->at[i] <= z->at[i - 1])
			goto bad;
	}
	p += c.time * tsize;
	for (size_t i = 0; i < c.time; i++) {
		z->idx[i] = p[i];
		if (p[i] >= c.type)
			goto bad;
	}
	p += c.time;
	const unsigned char *chars = p + c.type * 6;
	for (size_t i = 0; i < c.type; i++) {
		const unsigned char *t = p + i * 6;
		z->types[i].offset = (int32_t)be32(t);
		z->types[i].dst = t[4] != 0;
		size_t a = t[5];
		if (z->types[i].offset <= -25 * 3600 || z->types[i].offset >= 26 * 3600 || a >= c.chars)
			goto bad;
		size_t n = 0;
		while (a + n < c.chars && chars[a + n] && n < sizeof z->types[i].abbr - 1) {
			z->types[i].abbr[n] = (char)chars[a + n];
			n++;
		}
	}
	p += size - c.time * tsize - c.time;
	if (version >= '2' && p < end && *p == '\n') { /* the footer: "\n" POSIX rule "\n" */
		const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
		if (!nl || nl - p > 100)
			goto bad;
		char rule[101];
		memcpy(rule, p + 1, (size_t)(nl - p - 1));
		rule[nl - p - 1] = '\0';
		if (rule[0]) {
			if (parse_posix(rule, &z->posix) != 0)
				goto bad;
			z->has_posix = 1;
		}
	}
	*out = z;
	*err = NULL;
	return 0;
bad:
	*err = "malformed TZif data";
	tz_free(z);
	return -1;
oom:
	*err = "out of memory";
	tz_free(z);
	return -1;
fail:
	tz_free(z);
	return -1;
}

int tz_from_posix(const char *rule, tz_zone_t **out, const char **err)
{
	struct tz_posix p;
	*out = NULL;
	if (parse_posix(rule, &p) != 0) {
		*err = "not a POSIX TZ rule";
		return -1;
	}
	struct tz_zone *z = calloc(1, sizeof *z);
	if (!z) {
		*err = "out of memory";
		return -1;
	}
	z->posix = p;
	z->has_posix = 1;
	*out = z;
	return 0;
}

void tz_free(tz_zone_t *z)
{
	if (!z)
		return;
	free(z->at);
	free(z->idx);
	free(z->types);
	free(z);
}

int tz_valid_name(const char *name)
{
	size_t n = strlen(name), part = 0;
	if (n == 0 || n > 200)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char ch = name[i];
		if (ch == '/' || ch == '\0') {
			if (part == 0)
				return 0;
			part = 0;
			continue;
		}
		if (part == 0 && ch == '.')
			return 0;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '+' || ch == '-' || ch == '.'))
			return 0;
		part++;
	}
	return 1;
}

int tz_load(const char *dir, const char *name, tz_zone_t **out, const char **code, const char **err)
{
	char path[512];
	unsigned char *buf = NULL;
	FILE *f = NULL;
	int rc = -1;
	struct stat st;
	*out = NULL;
	*code = "unknown_zone";
	*err = "no such time zone";
	if (!tz_valid_name(name))
		return -1;
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return -1;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (strcmp(name, "UTC") == 0) /* works without the tz database */
			return tz_from_posix("UTC0", out, err);
		return -1;
	}
	*code = "bad_file";
	if (st.st_size > TZ_FILE_MAX) {
		*err = "the zone file is too large";
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	f = fopen(path, "rb");
	if (!buf || !f) {
		*err = buf ? strerror(errno) : "out of memory";
		goto done;
	}
	size_t n = fread(buf, 1, (size_t)st.st_size + 1, f);
	rc = tz_parse(buf, n, out, err);
done:
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

/** The type in effect at utc. */
static const struct tz_type *type_at(const tz_zone_t *z, int64_t utc)
{
	if (z->count == 0)
		return z->has_posix ? posix_type(&z->posix, utc) : &z->types[0];
	if (utc >= z->at[z->count - 1])
		return z->has_posix ? posix_type(&z->posix, utc) : &z->types[z->idx[z->count - 1]];
	if (utc < z->at[0])
		return &z->types[0];
	size_t lo = 0, hi = z->count - 1; /* at[lo] <= utc < at[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= utc)
			lo = mid;
		else
			hi = mid;
	}
	return &z->types[z->idx[lo]];
}

void tz_to_local(const tz_zone_t *z, int64_t utc, tz_local_t *out)
{
	const struct tz_type *t = type_at(z, utc);
	int64_t local = utc + t->offset;
	int64_t days = floor_div(local, 86400), secs = local - days * 86400;
	civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(secs / 3600);
	out->min = (int)(secs / 60 % 60);
	out->sec = (int)(secs % 60);
	out->wday = (int)((days % 7 + 11) % 7);
	out->offset = t->offset;
	out->dst = t->dst;
	memcpy(out->abbr, t->abbr, sizeof out->abbr);
}

int64_t tz_to_utc(const tz_zone_t *z, int64_t year, int month, int day, int hour, int min, int sec,
                  enum tz_fit *fit)
{
	int64_t local = tz_days_from_civil(year, month, day) * 86400 + (int64_t)hour * 3600 + min * 60 + sec;
	/* the instants that can show local lie within 26 hours of it: the offsets in effect there
	 * are those before and after a change near it (changes are months apart) */
	int32_t before = type_at(z, local - 26 * 3600)->offset, after = type_at(z, local + 26 * 3600)->offset;
	int64_t found[2];
	int n = 0;
	int32_t cand[2] = {before, after};
	for (int i = 0; i < 2; i++) {
		if (i == 1 && after == before)
			break;
		int64_t u = local - cand[i];
		if (type_at(z, u)->offset == cand[i])
			found[n++] = u;
	}
	if (fit)
		*fit = n == 1 ? TZ_EXACT : n == 2 ? TZ_FOLD : TZ_GAP;
	if (n == 0)
		return local - before;
	if (n == 2 && found[1] < found[0])
		return found[1];
	return found[0];
}

int tz_list(const char *text, size_t len, void (*fn)(const char *name, size_t n, int is_link, void *ud),
            void *ud)
{
	int count = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		int is_link = p[0] == 'L';
		if ((p[0] == 'Z' || p[0] == 'L') && eol - p > 2 && p[1] == ' ') {
			const char *s = p + 2;
			if (is_link) { /* L target name */
				while (s < eol && *s != ' ')
					s++;
				s++;
			}
			const char *e = s;
			while (e < eol && *e != ' ' && *e != '\r')
				e++;
			if (s < eol && e > s) {
				fn(s, (size_t)(e - s), is_link, ud);
				count++;
			}
		}
		p = eol + 1;
	}
	return count;
}
