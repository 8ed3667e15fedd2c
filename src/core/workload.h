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

/* The profile named name, or NULL. */
const struct vmp_workload_profile *vmp_workload_find(const char *name);

#endif
