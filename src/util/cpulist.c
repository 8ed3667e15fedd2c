/* SPDX-License-Identifier: MIT */
/* The parser of kernel-style CPU lists ("0-3,8") used for vCPU pinning. */
#include "util/cpulist.h"

#include <errno.h>
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
		r = read_cpu(&p, &lo);
		if (r < 0)
			goto fail;
		hi = lo;
		if (*p == '-') {
			p++;
			r = read_cpu(&p, &hi);
			if (r < 0)
				goto fail;
			if (hi < lo) {
				r = -EINVAL;
				goto fail;
			}
		}
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
