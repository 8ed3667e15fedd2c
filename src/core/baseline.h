/* SPDX-License-Identifier: MIT */
/*
 * Baselines that vmpilot's right-sizer is judged against in `vmpilot replay`: the
 * Kubernetes Vertical Pod Autoscaler's recommender and updater as they behave by default,
 * and Google's Autopilot ML recommender as its EuroSys 2020 paper publishes it. Pure:
 * the caller passes one VM's observations and the time, and gets the new sizes.
 * doc/replay.md lists their parameters and every remaining divergence from the real systems.
 */
#ifndef VMP_CORE_BASELINE_H
#define VMP_CORE_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/histogram.h"

/* ---- VPA (recommender + updater, default flags) ---- */

struct vmp_vpa_params {
	struct vmp_hist_params mem_hist;     /* KiB: first 10^7 bytes, 5 %, 10^12 bytes, 24 h */
	struct vmp_hist_params cpu_hist;     /* cores: first 0.001, 5 %, 1000, 24 h */
	int64_t mem_window_ms;               /* one memory peak per 24 h interval */
	double target_frac, lower_frac, upper_frac; /* 0.90, 0.50, 0.95 (memory and CPU) */
	double margin_frac;                  /* 0.15 */
	double upper_conf_mult, lower_conf_mult;    /* 1.0 (exponent +1), 0.001 (exponent -2) */
	double samples_per_day;              /* 1440: the recommender assumes one sample a minute */
	double min_mem_kib;                  /* pod-recommendation-min-memory-mb 250 */
	double min_cpu_cores;                /* pod-recommendation-min-cpu-millicores 25 */
	double min_cpu_weight;               /* CPU samples weigh max(request, 0.1) */
	double oom_bump_ratio;               /* 1.2 */
	double oom_min_bump_kib;             /* 100 MiB (100 × 2^20 bytes) */
	int64_t lifetime_update_ms;          /* updater: in-range pods alive >= 12 h ... */
	double min_change_priority;          /* ... are updated when the diff is >= 0.10 */
	int64_t evict_after_oom_ms;          /* quick OOM: within 10 min of the start */
};

void vmp_vpa_params_default(struct vmp_vpa_params *p);

struct vmp_vpa_state {
	struct vmp_usage_model mem;          /* daily peaks, weight 1 */
	struct vmp_usage_model cpu;          /* every sample, weight = request */
	int64_t pod_start_ms;                /* last (re)creation: first sample or last update */
	bool started;
	uint64_t cpu_samples;
	int64_t first_ms, last_ms;
};

int vmp_vpa_state_init(struct vmp_vpa_state *s, const struct vmp_vpa_params *p);

/* One VM's observation for one recommender/updater pass. */
struct vmp_vpa_input {
	double mem_used_kib;                 /* working set as observed (at most the request) */
	bool oom;                            /* the VM ran out of its allocation this step */
	double cpu_cores;                    /* CPU usage, cores */
	uint64_t mem_kib;                    /* current memory request (the allocation) */
	unsigned vcpus;                      /* current CPU request, whole vCPUs */
	uint64_t mem_min_kib, mem_max_kib;   /* the VPA's minAllowed/maxAllowed (the VM's bounds) */
	unsigned vcpus_max;
};

struct vmp_vpa_recommendation {
	double mem_target, mem_lower, mem_upper;   /* KiB, capped to [min, max] */
	double cpu_target, cpu_lower, cpu_upper;   /* cores, capped */
	double confidence_days;
	bool outside_range, quick_oom;
	double resource_diff;                /* Σ |recommended − request| / request */
};

/*
 * Feeds one observation at now_ms, computes the recommendation and runs the updater's rule.
 * Returns 1 and sets *ret_mem_kib / *ret_vcpus when the updater applies the target (the VM
 * is "recreated": its lifetime restarts), 0 when it leaves the VM alone; rec (optional)
 * gets the recommendation. Never fails for valid input; -EINVAL otherwise.
 */
int vmp_vpa_step(const struct vmp_vpa_params *p, struct vmp_vpa_state *s,
		 const struct vmp_vpa_input *in, int64_t now_ms, uint64_t *ret_mem_kib,
		 unsigned *ret_vcpus, struct vmp_vpa_recommendation *rec);

/* ---- Autopilot ML recommender (Rzadca et al., EuroSys 2020, section 3.2) ---- */

#define VMP_AP_DECAYS_MAX 8
#define VMP_AP_MARGINS_MAX 8

struct vmp_ap_params {
	struct vmp_hist_params hist;         /* the limit candidates are bucket ends */
	unsigned ndecays;                    /* the models' histogram half-lives (d_m) ... */
	int64_t half_life_ms[VMP_AP_DECAYS_MAX];
	unsigned nmargins;                   /* ... times their safety margins (M_m) */
	double margin_frac[VMP_AP_MARGINS_MAX];
	double w_o;                          /* overrun: weighted share of samples above the limit */
	double w_u;                          /* underrun: weighted (limit − usage)+ / mean usage */
	double w_dl;                         /* a limit change */
	double w_dm;                         /* a switch to another model */
	int64_t cost_half_life_ms;           /* decay of each model's running cost (d) */
};

void vmp_ap_params_memory(struct vmp_ap_params *p);  /* KiB buckets */
void vmp_ap_params_cpu(struct vmp_ap_params *p);     /* core buckets */

struct vmp_ap_state {
	struct vmp_hist h[VMP_AP_DECAYS_MAX];            /* one decaying histogram per d_m */
	double raw_limit[VMP_AP_DECAYS_MAX];             /* L'_m before the margin */
	double limit[VMP_AP_DECAYS_MAX][VMP_AP_MARGINS_MAX];  /* L_m of each model */
	double cost[VMP_AP_DECAYS_MAX][VMP_AP_MARGINS_MAX];   /* c_m, decayed */
	double prev_limit[VMP_AP_DECAYS_MAX][VMP_AP_MARGINS_MAX];
	double mean_usage;                   /* decayed mean, the underrun's unit */
	double end[VMP_HIST_BUCKETS_MAX];    /* bucket ends (the candidate limits) and mids */
	double mid[VMP_HIST_BUCKETS_MAX];
	int64_t last_ms;
	unsigned chosen_d, chosen_m;
	double current;                      /* the limit the recommender last chose */
	bool started;
};

int vmp_ap_state_init(struct vmp_ap_state *s, const struct vmp_ap_params *p);

/*
 * Adds one usage sample at now_ms (as observed: capped at the current limit) and returns
 * the recommended limit (in the histogram's unit), at least the sample itself.
 */
double vmp_ap_step(const struct vmp_ap_params *p, struct vmp_ap_state *s, double usage,
		   int64_t now_ms);

#endif
