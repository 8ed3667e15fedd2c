/* SPDX-License-Identifier: MIT */
/*
 * Workload profiles of a VM (latency, throughput, database, web, batch, default): one
 * table row each, saying what the VM gets live (vCPU pinning to dedicated CPUs, CPU
 * shares, disk I/O limits) and what the right-sizer should use for it (percentile,
 * margin, balloon floor). doc/workload-profiles.md explains every value. Pure: a table
 * and a lookup; applying is the CLI's (cmd_profile.c), through the backend.
 */
#ifndef VMP_CORE_WORKLOAD_H
#define VMP_CORE_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmp_workload_profile {
	const char *name;
	const char *summary;
	bool pin_dedicated;         /* each vCPU on its own non-housekeeping host CPU */
	uint64_t cpu_shares;        /* cgroup cpu shares (1024 = the default weight) */
	uint64_t disk_write_bytes_s, disk_write_iops; /* per disk, 0 = no limit */
	double balloon_floor_frac;  /* the balloon never goes below this share of max memory */
	double rightsize_pct;       /* the right-sizer's demand percentile */
	double rightsize_margin;    /* headroom over it (fraction) */
	const char *why;
};

extern const struct vmp_workload_profile vmp_workload_profiles[];
extern const size_t vmp_workload_profiles_count;

/* What a VM was seen doing over a while (rates from two samples). */
struct vmp_workload_observed {
	double cpu_busy_frac;   /* vCPU utilisation, 0..1 */
	double iops, bytes_s;   /* disk operations and bytes per second */
	double majflt_s;        /* guest major faults per second (memory churn) */
};

/*
 * The profile the observed behaviour fits, with why (a static string): batch for heavy
 * sequential disk traffic, database for many disk operations or memory churn,
 * throughput for busy vCPUs, web for mostly idle ones, default otherwise. Never
 * latency: a latency need cannot be seen in utilisation; the operator says it.
 */
const struct vmp_workload_profile *vmp_workload_recommend(const struct vmp_workload_observed *o,
							  const char **ret_why);

/* The profile named name, or NULL. */
const struct vmp_workload_profile *vmp_workload_find(const char *name);

#endif
