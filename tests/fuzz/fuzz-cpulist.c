/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the CPU list parser (vCPU pinning: user and config input). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/cpulist.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	uint8_t map[16];
	int r, bits = 0;
	size_t i;

	r = vmp_cpulist_parse(s, 100, map, sizeof(map));
	for (i = 0; i < sizeof(map); i++)
		bits += __builtin_popcount(map[i]);
	if (r > 0 && r != bits)
		abort();   /* the count is the number of CPUs set */
	if (r <= 0 && (bits != 0 || (r != -EINVAL && r != -ERANGE)))
		abort();   /* failure leaves the map cleared */
	if (r > 0 && (map[12] >> 4 || map[13] || map[14] || map[15]))
		abort();   /* nothing at or above ncpus (100) */
	free(s);
	return 0;
}
