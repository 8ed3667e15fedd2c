/* SPDX-License-Identifier: MIT */
/* The workload profile table (see workload.h and doc/workload-profiles.md). */
#include "core/workload.h"

#include <string.h>

#define MIB (1024ull * 1024)

const struct vmp_workload_profile vmp_workload_profiles[] = {
	{ "latency", "latency-sensitive service", true, 2048, 0, 0, 1.0, 99, 0.30,
	  "vCPUs never wait behind other threads on their CPU; memory never ballooned away; sized on the 99th percentile" },
	{ "database", "database server", true, 2048, 0, 0, 0.9, 99, 0.25,
	  "dedicated CPUs for lock holders; the buffer pool stays resident (90 % floor); sized on rare peaks" },
	{ "throughput", "throughput-bound job", false, 1024, 0, 0, 0.75, 95, 0.15,
	  "shares the host fairly; keeps most of its memory for caches; sized on the 95th percentile" },
	{ "web", "web or application tier", false, 1024, 0, 0, 0.5, 95, 0.20,
	  "scales with requests: balloon down to half when idle, 20 % headroom for bursts" },
	{ "batch", "batch job", false, 256, 100 * MIB, 2000, 0.25, 90, 0.10,
	  "yields CPU to interactive neighbours (shares 256) and caps its disk writes so it cannot starve them" },
	{ "default", "no particular need", false, 1024, 0, 0, 0.5, 95, 0.15,
	  "the right-sizer's defaults" },
};
const size_t vmp_workload_profiles_count = sizeof(vmp_workload_profiles) / sizeof(vmp_workload_profiles[0]);

const struct vmp_workload_profile *
vmp_workload_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < vmp_workload_profiles_count; i++)
		if (strcmp(vmp_workload_profiles[i].name, name) == 0)
			return &vmp_workload_profiles[i];
	return NULL;
}
