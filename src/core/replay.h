/* SPDX-License-Identifier: MIT */
/*
 * Replay of right-sizing and overcommit policies on per-VM usage traces (Bitbrains:
 * CPU and memory, provisioned and used). Runs the very same policy code the daemon
 * runs (rightsize.h, overcommit.h, budget.h) in simulated time and measures slack,
 * shortage and actions for: static provisioning, oVirt MOM's host-pressure balloon
 * rules at their own 10-s cadence, the Kubernetes VPA recommender and updater, Google's
 * Autopilot ML recommender (baseline.h) and vmpilot. Pure: no I/O; the caller loads the
 * trace. doc/replay.md describes the model, the results and each baseline's divergences.
 */
#ifndef VMP_CORE_REPLAY_H
#define VMP_CORE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/baseline.h"
#include "core/iotune.h"
#include "core/overcommit.h"
#include "core/rightsize.h"

enum vmp_replay_policy {
	VMP_REPLAY_STATIC,
	VMP_REPLAY_MOM,
	VMP_REPLAY_VPA,
	VMP_REPLAY_AUTOPILOT,
	VMP_REPLAY_VMPILOT,
	VMP_REPLAY_POLICY_MAX,
};

/* "static", "mom", "vpa", "autopilot", "vmpilot" */
const char *vmp_replay_policy_name(enum vmp_replay_policy p);

/* One trace row of one VM. A row with mem_prov_kib <= 0 means the VM was off. */
struct vmp_replay_sample {
	double mem_used_kib, mem_prov_kib;
	double cpu_used_mhz, cpu_prov_mhz;
	double cpu_cores;
	double disk_rd_kibps, disk_wr_kibps;  /* disk throughput (0 when the trace has none) */
};

/* One VM: its rows, one per step, from its own first row. */
struct vmp_replay_vm {
	const struct vmp_replay_sample *samples;
	size_t nsamples;
};

struct vmp_replay_params {
	int64_t step_ms;               /* time between rows (Bitbrains: 300 s) */
	unsigned vms_per_host;         /* VMs i*k .. i*k+k-1 share host i */
	double overcommit;             /* host memory = sum of provisioned / overcommit */
	uint64_t mem_min_kib;          /* smallest balloon target any policy may set */
	unsigned balloons_per_hour;    /* vmpilot's per-host budget */
	unsigned hotplugs_per_hour;
	struct vmp_mem_params vmpilot_mem;
	struct vmp_cpu_params vmpilot_cpu;
	struct vmp_vpa_params vpa;
	struct vmp_ap_params ap_mem, ap_cpu;
	struct vmp_overcommit_params overcommit_params;
	struct vmp_mom_params mom;
	int64_t mom_interval_ms;       /* MOM's policy cadence (10 s): cycles per step = step / this */
	double disk_static_kibps;      /* every VM's fixed limit per direction, where all start */
	double disk_min_kibps, disk_max_kibps;   /* per-VM bounds of a limit per direction */
	struct vmp_disk_params vmpilot_disk;
	struct vmp_ap_params ap_disk;
	/*
	 * Optional: called with every decision vmpilot's policies make (right-sizer:
	 * "memory", "vcpus"; host layer or budget overriding it: "host_memory"), whether it
	 * was carried out, and the replay time. The decision journal of a replay.
	 */
	void (*journal)(void *ctx, size_t vm, const char *policy, int64_t now_ms,
			const struct vmp_decision *d, bool acted);
	void *journal_ctx;
	/* Optional: called for every running VM-step with what was measured (the series). */
	void (*observe)(void *ctx, size_t vm, int64_t now_ms, const struct vmp_replay_sample *s,
			uint64_t alloc_kib, unsigned vcpus);
	void *observe_ctx;
};

void vmp_replay_params_default(struct vmp_replay_params *p);

struct vmp_replay_result {
	enum vmp_replay_policy policy;
	uint64_t vm_steps;             /* VM-steps replayed (VM running) */
	double mem_used_kib_steps;     /* sum of used over VM-steps */
	double mem_slack_pct;          /* sum of (alloc - used)+ / sum of used, % */
	double mem_rel_slack_pct;      /* sum of (alloc - used)+ / sum of alloc, % (Autopilot's) */
	double mem_short_pct;          /* VM-steps with used > alloc, % of VM-steps */
	double mem_short_vm_h;         /* the same in VM-hours */
	double mem_short_gib_h;        /* sum of (used - alloc)+ × step, GiB·h */
	double cpu_slack_pct;          /* sum of (alloc - used)+ / sum of used, % (MHz) */
	double cpu_short_pct;
	double cpu_short_core_h;       /* sum of (used - alloc)+ × step, in cores·h */
	uint64_t mem_actions;          /* balloon target changes */
	unsigned mem_actions_max_hour; /* most balloon changes of one VM in any 60 minutes (max 65) */
	uint64_t cpu_actions;          /* vCPU count changes */
	double disk_headroom_pct;      /* sum of (limit - demand)+ / sum of demand, %, both directions */
	double disk_throttled_pct;     /* sum of (demand - limit)+ / sum of demand, % */
	double disk_throttled_steps_pct; /* VM-steps with a direction above its limit, % */
	uint64_t disk_actions;         /* limit changes (read and write counted apart) */
	double host_over_pct;          /* host-steps where the allocations exceed host memory, % */
};

/*
 * Replays one policy over n VMs. Returns 0 and fills *ret, -EINVAL for bad params, or
 * -ENOMEM.
 */
int vmp_replay_run(const struct vmp_replay_params *p, const struct vmp_replay_vm *vms, size_t n,
		   enum vmp_replay_policy policy, struct vmp_replay_result *ret);

#endif
