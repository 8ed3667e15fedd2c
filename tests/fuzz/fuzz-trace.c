/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the trace parsers: PlanetLab files and per-VM CSV files. */
#include <stdint.h>
#include <stdlib.h>

#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmp_trace_csv *c = NULL;
	float *pct = NULL;
	char *err = NULL;
	int n;
	size_t i;

	n = vmp_trace_parse_planetlab("fuzz", (const char *)data, size, &pct, &err);
	if (n > 0) {
		for (i = 0; i < (size_t)n; i++)
			if (!(pct[i] >= 0.0f && pct[i] <= 100.0f))
				abort(); /* only valid percentages are accepted */
	} else if (!err) {
		abort(); /* every failure has a message */
	}
	free(pct);
	free(err);
	err = NULL;
	if (vmp_trace_parse_csv("fuzz.csv", (const char *)data, size, &c, &err) == 0) {
		if (c->nrows == 0 || !c->timestamp_s)
			abort();
		vmp_trace_csv_free(c);
	} else if (!err) {
		abort();
	}
	free(err);
	return 0;
}
