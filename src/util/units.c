/* SPDX-License-Identifier: MIT */
/* Durations and sizes with units: the grammar of units.h, for options and config. */
#include "util/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FRAC_DIGITS_MAX 9

struct unit {
	const char *name;
	uint64_t mult;     /* in the parser's base unit (ms, or bytes) */
};

static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60ull * 1000 },
	{ "min", 60ull * 1000 },
	{ "h", 3600ull * 1000 },
	{ "d", 86400ull * 1000 },
	{ NULL, 0 },
};

static const struct unit size_units[] = {
	{ "B", 1 },
	{ "K", 1ull << 10 }, { "k", 1ull << 10 }, { "KiB", 1ull << 10 },
	{ "M", 1ull << 20 }, { "m", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "G", 1ull << 30 }, { "g", 1ull << 30 }, { "GiB", 1ull << 30 },
	{ "T", 1ull << 40 }, { "t", 1ull << 40 }, { "TiB", 1ull << 40 },
	{ NULL, 0 },
};

/*
 * Parses "INT[.FRAC]UNIT" into base units (mult of the unit, or bare when there is no
 * unit; 0 = a unit is required) and checks that the result is a multiple of quantum.
 */
static int
parse_quantity(const char *s, const struct unit *units, uint64_t bare, uint64_t quantum,
	       uint64_t *ret)
{
	uint64_t ip = 0, frac = 0, pow10 = 1, mult = 0, v, q, r, fpart;
	size_t len, nfrac = 0, i;
	const char *p = s, *unit;
	bool digits = false;

	while (*p && isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	for (; len > 0 && isdigit((unsigned char)*p); p++, len--) {
		digits = true;
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
			return -ERANGE;
	}
	if (len > 0 && *p == '.') {
		p++;
		len--;
		for (; len > 0 && isdigit((unsigned char)*p); p++, len--) {
			digits = true;
			if (nfrac == FRAC_DIGITS_MAX) {
				if (*p != '0')
					return -EINVAL; /* finer than we keep */
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			pow10 *= 10;
			nfrac++;
		}
	}
	if (!digits)
		return -EINVAL;
	unit = p;
	if (len == 0) {
		mult = bare;
	} else {
		for (i = 0; units[i].name; i++)
			if (strlen(units[i].name) == len && strncmp(units[i].name, unit, len) == 0)
				mult = units[i].mult;
	}
	if (mult == 0)
		return -EINVAL;
	/* v = ip * mult + frac * mult / pow10, exactly */
	if (__builtin_mul_overflow(ip, mult, &v))
		return -ERANGE;
	q = mult / pow10;
	r = mult % pow10;
	if (__builtin_mul_overflow(q, frac, &fpart))
		return -ERANGE;
	if ((r * frac) % pow10 != 0)
		return -EINVAL; /* not a whole base unit */
	if (__builtin_add_overflow(fpart, r * frac / pow10, &fpart) ||
	    __builtin_add_overflow(v, fpart, &v))
		return -ERANGE;
	if (v % quantum != 0)
		return -EINVAL;
	*ret = v / quantum;
	return 0;
}

int
vmp_parse_duration_ms(const char *s, int64_t bare_unit_ms, int64_t *ret_ms)
{
	uint64_t v;
	int r;

	r = parse_quantity(s, duration_units, bare_unit_ms > 0 ? (uint64_t)bare_unit_ms : 0, 1,
			   &v);
	if (r < 0)
		return r;
	if (v > (uint64_t)INT64_MAX)
		return -ERANGE;
	*ret_ms = (int64_t)v;
	return 0;
}

int
vmp_parse_size_kib(const char *s, uint64_t bare_unit_kib, uint64_t *ret_kib)
{
	uint64_t bare = 0;

	if (bare_unit_kib > 0 && __builtin_mul_overflow(bare_unit_kib, 1024, &bare))
		return -ERANGE;
	return parse_quantity(s, size_units, bare, 1024, ret_kib);
}

int
vmp_parse_size_bytes(const char *s, uint64_t *ret_bytes)
{
	return parse_quantity(s, size_units, 1, 1, ret_bytes);
}

void
vmp_format_duration_ms(int64_t ms, char *buf, size_t size)
{
	static const struct unit order[] = {
		{ "d", 86400ull * 1000 }, { "h", 3600ull * 1000 }, { "m", 60ull * 1000 },
		{ "s", 1000 }, { NULL, 0 },
	};
	size_t i;

	for (i = 0; ms != 0 && order[i].name; i++)
		if ((uint64_t)(ms < 0 ? -ms : ms) % order[i].mult == 0) {
			snprintf(buf, size, "%lld%s", (long long)(ms / (int64_t)order[i].mult),
				 order[i].name);
			return;
		}
	snprintf(buf, size, "%lldms", (long long)ms);
}
