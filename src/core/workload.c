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

const struct vmp_workload_profile *
vmp_workload_recommend(const struct vmp_workload_observed *o, const char **ret_why)
{
	double per_op = o->iops > 0 ? o->bytes_s / o->iops : 0;

	if (o->bytes_s >= 20 * MIB && per_op >= 256 * 1024) {
		*ret_why = "20 MiB/s or more of disk traffic in large (256 KiB+) requests: a sequential, batch-like job";
		return vmp_workload_find("batch");
	}
	if (o->iops >= 200 || o->majflt_s >= 50) {
		*ret_why = "200 disk operations/s or more, or 50 major faults/s: a database-like working set";
		return vmp_workload_find("database");
	}
	if (o->cpu_busy_frac >= 0.7) {
		*ret_why = "vCPUs busy 70 % of the time or more: throughput-bound";
		return vmp_workload_find("throughput");
	}
	if (o->cpu_busy_frac <= 0.3) {
		*ret_why = "vCPUs busy 30 % of the time or less: an interactive tier that idles between requests";
		return vmp_workload_find("web");
	}
	*ret_why = "no pattern stands out";
	return vmp_workload_find("default");
}
