/* SPDX-License-Identifier: MIT */
/*
 * Diagnosis of one VM (`vmpilot diagnose`): from two samples of its statistics, a
 * stall fraction per resource (CPU contention, memory pressure, I/O throttling), the
 * named bottleneck with its evidence, the fix, and a health score. Pure: samples in,
 * verdict out; no I/O, no clock. The maths is in doc/diagnose.md.
 */
#ifndef VMP_CORE_DIAGNOSE_H
#define VMP_CORE_DIAGNOSE_H

#include <stdbool.h>
#include <stdint.h>

enum vmp_diag_resource {
	VMP_DIAG_CPU,     /* contention: vCPUs runnable but waiting for a host CPU (steal) */
	VMP_DIAG_MEMORY,  /* pressure: guest short of memory (balloon too tight, swap-in, faults) */
	VMP_DIAG_IO,      /* throttling: disk I/O at its configured limit */
	VMP_DIAG_RESOURCE_MAX,
};

/* One sample of the counters the diagnosis reads (cumulative counters, as sampled). */
struct vmp_diag_sample {
	int64_t time_us;
	bool have_cpu, have_delay, have_balloon, have_swap, have_faults, have_block;
	uint64_t cpu_time_ns;       /* all vCPUs */
	uint64_t vcpu_delay_ns;     /* all vCPUs: runnable, waiting for a host CPU */
	uint64_t balloon_actual_kib;
	uint64_t mem_total_kib;     /* guest MemTotal (balloon driver's "available") */
	uint64_t mem_available_kib; /* guest MemAvailable ("usable") */
	uint64_t swap_in_kib;
	uint64_t major_faults;
	uint64_t io_ops, io_bytes;  /* reads + writes, all disks */
	uint64_t io_time_ns;        /* time the requests spent (in flight), all disks */
	bool have_psi;              /* the VM's cgroup PSI, where the host has it */
	double psi_cpu_some, psi_mem_full, psi_io_full; /* avg10, % */
};

struct vmp_diag_input {
	struct vmp_diag_sample a, b; /* b later than a */
	unsigned vcpus;
	uint64_t balloon_target_kib; /* 0 = unknown */
	uint64_t limit_iops;         /* sum of the disks' total IOPS limits, 0 = none */
	uint64_t limit_bytes_s;      /* sum of the disks' total bytes/s limits, 0 = none */
};

/* Thresholds (see doc/diagnose.md); vmp_diag_params_default() fills them. */
struct vmp_diag_params {
	double cpu_steal_frac;      /* steal at or above this names CPU contention (0.10) */
	double mem_avail_frac;      /* MemAvailable/MemTotal below this counts (0.10) */
	double mem_swapin_kib_s;    /* swap-in rate that counts as a full stall (1024) */
	double mem_majflt_s;        /* major faults per second that count fully (200) */
	double mem_stall;           /* memory stall at or above this names it (0.5) */
	double io_util;             /* I/O at or above this fraction of its limit is throttled (0.85) */
	double io_held;             /* ... or requests held this fraction of the limit's time (0.8) */
};

void vmp_diag_params_default(struct vmp_diag_params *p);

struct vmp_diag_result {
	double stall[VMP_DIAG_RESOURCE_MAX];   /* 0 (fine) .. 1 (stalled all the time) */
	bool measured[VMP_DIAG_RESOURCE_MAX];  /* false: the counters were missing */
	char evidence[VMP_DIAG_RESOURCE_MAX][200];
	int bottleneck;                        /* enum vmp_diag_resource, or -1: none */
	unsigned score;                        /* 100 = healthy, 0 = stalled */
	/* derived rates, for the report */
	double steal_frac, cpu_busy_frac, avail_frac, swapin_kib_s, majflt_s, iops, bytes_s;
	double io_busy, io_latency_ms;         /* request-seconds per second; mean per request */
	bool balloon_stuck;                    /* actual stays above target */
	char fix[240];
};

/* "cpu-contention", "memory-pressure", "io-throttling" */
const char *vmp_diag_name(int resource);

/* Diagnoses in. Returns 0, or -EINVAL when b is not later than a. */
int vmp_diag_run(const struct vmp_diag_params *p, const struct vmp_diag_input *in,
		 struct vmp_diag_result *ret);

#endif
