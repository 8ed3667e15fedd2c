/* SPDX-License-Identifier: MIT */
/* The parser of kernel-style CPU lists ("0-3,8") used for vCPU pinning. */
#include "util/cpulist.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Reads a decimal CPU number at *p (at most 7 digits); advances *p. */
static int
read_cpu(const char **p, unsigned *ret)
{
	unsigned v = 0;
	int digits = 0;

	while (**p >= '0' && **p <= '9') {
		if (++digits > 7)
			return -ERANGE;
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	if (digits == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Reads one "N" or "N-M" range at *p into *lo..*hi; advances *p. */
static int
read_range(const char **p, unsigned *lo, unsigned *hi)
{
	int r;

	r = read_cpu(p, lo);
	if (r < 0)
		return r;
	*hi = *lo;
	if (**p != '-')
		return 0;
	(*p)++;
	r = read_cpu(p, hi);
	if (r < 0)
		return r;
	return *hi < *lo ? -EINVAL : 0;
}

int
vmp_cpulist_parse(const char *s, unsigned ncpus, uint8_t *map, size_t maplen)
{
	const char *p = s;
	unsigned lo, hi, cpu, limit;
	int count = 0, r;

	memset(map, 0, maplen);
	limit = maplen * 8 < ncpus ? (unsigned)(maplen * 8) : ncpus;
	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		r = read_range(&p, &lo, &hi);
		if (r < 0)
			goto fail;
		if (hi >= limit) {
			r = -ERANGE;
			goto fail;
		}
		for (cpu = lo; cpu <= hi; cpu++) {
			if (!(map[cpu / 8] & (1u << (cpu % 8))))
				count++;
			map[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
		}
		if (*p == '\0')
			return count;
		if (*p != ',') {
			r = -EINVAL;
			goto fail;
		}
		p++;
	}
fail:
	memset(map, 0, maplen);
	return r;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int
vmp_cpulist_count(const char *s, unsigned *ret_count)
{
	const char *p = s;
	unsigned long count = 0;
	unsigned lo, hi;

	while (is_blank(*p))
		p++;
	while (*p && !is_blank(*p)) {
		if (read_range(&p, &lo, &hi) < 0)
			return -EINVAL;
		count += (unsigned long)(hi - lo) + 1;
		if (count > 1u << 24)
			return -EINVAL;
		if (*p == ',')
			p++;
		else if (*p && !is_blank(*p))
			return -EINVAL;
	}
	while (is_blank(*p))
		p++;
	if (*p)
		return -EINVAL;
	*ret_count = (unsigned)count;
	return 0;
}
