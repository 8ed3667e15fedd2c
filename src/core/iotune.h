/* SPDX-License-Identifier: MIT */
/*
 * Per-VM disk throughput limits (one direction: read or write), sized like vCPUs: from
 * the VM's own history with headroom, raised at once when the VM runs at its limit, so a
 * limit protects the neighbours from a runaway VM without throttling the VM's own bursts
 * for long. Pure: the caller passes the observed throughput, the time and the current
 * limit, and gets a decision (decision.h). doc/policies.md has the maths.
 */
#ifndef VMP_CORE_IOTUNE_H
#define VMP_CORE_IOTUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/decision.h"
#include "core/histogram.h"

struct vmp_disk_params {
	struct vmp_hist_params hist;         /* KiB/s: first 10, 5 %, 10^7, half-life 24 h */
	double target_frac;                  /* 0.99: the history's percentile ... */
	double margin_frac;                  /* ... × (1 + 0.5) */
	int64_t peak_window_ms;              /* the recent peak protects the VM this long (6 h) */
	double headroom_frac;                /* limit >= recent peak × (1 + 0.5) */
	double saturated_frac;               /* observed >= 0.9 × limit: the VM is held back */
	double raise_mult;                   /* then raise to observed × 4 at once */
	double dead_band_frac;               /* no lowering by less than 0.3 of the limit */
	int64_t cooldown_ms;                 /* no lowering within 30 min of a change */
	int64_t stale_ms;                    /* stats older than this are stale */
};

void vmp_disk_params_default(struct vmp_disk_params *p);

struct vmp_disk_state {
	struct vmp_usage_model model;        /* every sample */
	double recent_peak_kibps;
	int64_t recent_peak_ms;
	int64_t last_change_ms;
	bool changed;
};

int vmp_disk_state_init(struct vmp_disk_state *s, const struct vmp_disk_params *p);

struct vmp_disk_input {
	bool have_stats;
	int64_t stats_age_ms;
	double kibps;                        /* throughput over the last cycle, KiB/s */
};

/*
 * Decides one direction's limit of one VM whose limit is current_kibps (> 0), within
 * [min_kibps, max_kibps]. d->to is the new limit in KiB/s, resource "disk_kibps".
 * Never lowers a limit on missing or stale stats. Returns 0 or -EINVAL.
 */
int vmp_rightsize_disk(const struct vmp_disk_params *p, double min_kibps, double max_kibps,
		       struct vmp_disk_state *s, const struct vmp_disk_input *in,
		       double current_kibps, int64_t now_ms, struct vmp_decision *d);

#endif
