/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the strict number parsers every config and sysfs reader uses,
 * and for the durations and sizes with units of options and config (util/units.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/units.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	int64_t i = 0;
	uint64_t u = 0;
	double d = 0;
	int r;

	r = vmp_parse_i64(s, &i);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	r = vmp_parse_u64(s, &u);
	if (r == 0 && strchr(s, '-'))
		abort(); /* a negative number must never parse as unsigned */
	r = vmp_parse_double(s, &d);
	if (r == 0 && d != d)
		abort(); /* NaN is refused */
	r = vmp_parse_duration_ms(s, 1000, &i);
	if ((r != 0 && r != -EINVAL && r != -ERANGE) || (r == 0 && i < 0))
		abort();
	if (vmp_parse_duration_ms(s, 0, &i) == 0 && vmp_parse_duration_ms(s, 1, &i) != 0)
		abort(); /* a bare unit only adds accepted inputs */
	r = vmp_parse_size_kib(s, 1, &u);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	free(s);
	return 0;
}
