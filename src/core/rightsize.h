/* SPDX-License-Identifier: MIT */
/*
 * Per-VM right-sizing of memory (balloon target) and vCPUs (hot-plug), from usage
 * history (histogram.h) and pressure signals that history cannot see. Pure: the
 * caller passes the stats, the time and the current size, and gets a decision with
 * its reason (decision.h); it then asks the action budget (budget.h) and acts.
 * doc/policies.md has the maths and names the tests that pin each rule.
 */
#ifndef VMP_CORE_RIGHTSIZE_H
#define VMP_CORE_RIGHTSIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/baseline.h"
#include "core/decision.h"
#include "core/histogram.h"

/* Per-VM bounds and switches (from the config file). */
struct vmp_vm_limits {
	uint64_t mem_min_kib, mem_max_kib;   /* max 0 = no upper bound */
	unsigned vcpus_min, vcpus_max;       /* max 0 = no upper bound */
	bool opt_out;                        /* never change this VM automatically */
	uint64_t disk_min_kibps, disk_max_kibps;  /* disk limits per direction; max 0 = not sized */
};

struct vmp_mem_params {
	struct vmp_hist_params hist;         /* buckets (KiB) and half-life */
	int64_t peak_window_ms;              /* one peak per window (VPA: 24 h) */
	struct vmp_estimate_params est;
	bool use_bounds;                     /* VPA-style: act only when outside [lower, upper] */
	double dead_band_frac;               /* no change under this relative difference */
	int64_t cooldown_ms;                 /* no shrink this soon after any change */
	double step_max_frac;                /* largest shrink per cycle, fraction of current */
	int64_t stale_ms;                    /* stats older than this are stale */
	double cache_keep_frac;              /* share of the guest's page cache counted as demand */
	double headroom_frac;                /* never below demand now × (1 + headroom) ... */
	uint64_t headroom_min_kib;           /* ... nor below demand now + this */
	uint64_t pressure_add_kib;           /* pressure bump: max(demand + add, demand × mult) */
	double pressure_mult;
	uint64_t major_faults_min;           /* major faults per cycle that count as pressure */
	double psi_some_min;                 /* guest PSI memory some avg10 (%) that counts */
	double low_free_frac;                /* guest free below this share of actual = pressure */
	double floor_margin_frac;            /* protected floor = recent peak × (1 + margin) ... */
	uint64_t floor_add_kib;              /* ... + this */
	bool cost_model;                     /* target from a cost-chosen model (baseline.h) ... */
	struct vmp_ap_params cost;           /* ... over the need, instead of the percentile */
	int64_t floor_window_ms;             /* how long a demand peak protects the VM */
	int64_t action_gap_ms;               /* no resize at all this soon after the last one,
					      * not even on pressure (a strict cap); 0 = off */
};

/* The defaults of vmpilot, and of the VPA-like baseline (P90 + 15 %, daily peaks, bounds). */
void vmp_mem_params_default(struct vmp_mem_params *p);
void vmp_mem_params_vpa(struct vmp_mem_params *p);

/* One cycle's memory statistics of one guest. Deltas are since the previous cycle. */
struct vmp_mem_input {
	bool have_stats;
	int64_t stats_age_ms;                /* now − sample time */
	uint64_t actual_kib;                 /* balloon actual: what the guest has now */
	bool have_available;
	uint64_t available_kib;              /* guest MemAvailable (usable) */
	uint64_t unused_kib;                 /* guest MemFree */
	uint64_t caches_kib;                 /* guest disk caches */
	uint64_t swap_in_kib;                /* delta */
	uint64_t major_faults;               /* delta */
	bool balloon_stalled;                /* the guest did not reach the last target */
	bool balloon_moving;                 /* still inflating toward the last shrink target:
					      * the guest's numbers are in transition */
	double psi_some_avg10;               /* < 0: unknown */
};

/* What the memory policy remembers about one VM between cycles. */
struct vmp_mem_state {
	struct vmp_usage_model model;
	int64_t last_change_ms;
	bool changed;                        /* last_change_ms is valid */
	uint64_t recent_peak_kib;
	int64_t recent_peak_ms;
	uint64_t demand_kib;                 /* last computed demand */
	uint64_t floor_kib;                  /* last computed protected floor */
	bool pressure;                       /* last cycle showed guest pressure */
	struct vmp_ap_state cost;            /* the cost-chosen models (if cost_model) */
	double cost_limit_kib;               /* their last recommendation */
};

int vmp_mem_state_init(struct vmp_mem_state *s, const struct vmp_mem_params *p);

/* The guest's memory demand: actual − available (or − free − caches) + kept caches. */
uint64_t vmp_mem_demand_kib(const struct vmp_mem_params *p, const struct vmp_mem_input *in);

/*
 * Decides the balloon target of one VM whose allocation is current_kib. Updates s
 * (history, floor, pressure); d->to is the new target in KiB. Never shrinks a VM whose
 * stats are missing or stale, nor below its protected floor; a pressure signal grows
 * at once (ignoring cooldown and dead band, within mem_max). Returns 0 or -EINVAL.
 */
int vmp_rightsize_memory(const struct vmp_mem_params *p, const struct vmp_vm_limits *lim,
			 struct vmp_mem_state *s, const struct vmp_mem_input *in,
			 uint64_t current_kib, int64_t now_ms, struct vmp_decision *d);

struct vmp_cpu_params {
	struct vmp_hist_params hist;         /* buckets in cores */
	struct vmp_estimate_params est;
	double saturated_frac;               /* usage / vCPUs at or above: hot-add */
	double idle_frac;                    /* usage / (vCPUs − 1) below: may remove */
	double steal_max_frac;               /* steal above: adding vCPUs would not help */
	int64_t cooldown_ms;
	unsigned step_max;                   /* vCPUs added per cycle at most */
	int64_t stale_ms;
	double min_confidence_days;          /* no removal with less history */
	bool use_bounds;                     /* VPA-style: set ceil(target) when outside bounds */
};

void vmp_cpu_params_default(struct vmp_cpu_params *p);
/* The VPA-like baseline: ceil(P90 × 1.15) vCPUs, applied when outside VPA's bounds. */
void vmp_cpu_params_vpa(struct vmp_cpu_params *p);

struct vmp_cpu_input {
	bool have_stats;
	int64_t stats_age_ms;
	double usage_cores;                  /* busy vCPU time / wall time over the cycle */
	double steal_frac;                   /* vCPU wait+delay / (wall × vCPUs) */
};

struct vmp_cpu_state {
	struct vmp_usage_model model;
	int64_t last_change_ms;
	bool changed;
};

int vmp_cpu_state_init(struct vmp_cpu_state *s, const struct vmp_cpu_params *p);

/*
 * Decides the vCPU count of one VM that has `current` vCPUs. Hot-adds when saturated
 * (unless host steal says more vCPUs would not run), removes one when the history
 * and the present both say idle. d->to is the new count. Returns 0 or -EINVAL.
 */
int vmp_rightsize_vcpus(const struct vmp_cpu_params *p, const struct vmp_vm_limits *lim,
			struct vmp_cpu_state *s, const struct vmp_cpu_input *in,
			unsigned current, int64_t now_ms, struct vmp_decision *d);

#endif
