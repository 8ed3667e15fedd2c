/* SPDX-License-Identifier: MIT */
/*
 * Host memory pressure (overcommit): fits the VMs' wanted balloon targets into the
 * host's memory. Below a free-memory threshold it takes memory first from the VMs with
 * the most slack above their protected floor, never below the floor and never from a
 * VM whose stats are missing, that shows guest pressure, is migrating or opted out;
 * it gives memory back when the pressure ends. Also oVirt MOM's balloon rules, as the
 * baseline to beat. Pure: inputs in, one decision per VM out. doc/policies.md.
 */
#ifndef VMP_CORE_OVERCOMMIT_H
#define VMP_CORE_OVERCOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"

struct vmp_host_mem {
	uint64_t total_kib;
	uint64_t available_kib;   /* MemAvailable, before this cycle's changes */
};

struct vmp_overcommit_params {
	double pressure_free_frac;   /* below: reclaim (MOM 0.20) */
	double critical_free_frac;   /* below: larger steps (MOM 0.05) */
	double step_max_frac;        /* reclaim per VM per cycle, fraction of current (MOM 0.05) */
	double critical_step_max_frac;
};

void vmp_overcommit_params_default(struct vmp_overcommit_params *p);

/* One VM as the host policy sees it. */
struct vmp_overcommit_vm {
	uint64_t current_kib;     /* balloon target now */
	uint64_t want_kib;        /* what the right-sizer wants (its decision's `to`) */
	uint64_t floor_kib;       /* protected floor: never reclaimed below */
	uint64_t max_kib;         /* 0 = no bound */
	bool stats_ok;            /* fresh stats this cycle */
	bool guest_pressure;
	bool opt_out;
	bool migrating;
};

/*
 * Plans one cycle for the VMs of one host. decisions[i] (n entries) gets each VM's new
 * target (resource "memory_kib"); growth is granted pressured guests first and only
 * while host free memory stays above the pressure threshold (the critical one for a
 * pressured guest). *ret_unmet_kib (may be NULL) is what could not be reclaimed: a
 * hint that only a migration helps. Returns the number of VMs whose target changed,
 * or -EINVAL.
 */
int vmp_overcommit_plan(const struct vmp_overcommit_params *p, const struct vmp_host_mem *host,
			const struct vmp_overcommit_vm *vms, size_t n,
			struct vmp_decision *decisions, uint64_t *ret_unmet_kib);

/* oVirt MOM's defaults and per-guest inputs (balloon.rules). */
struct vmp_mom_params {
	double pressure_threshold;       /* 0.20 */
	double pressure_critical;        /* 0.05 */
	double min_guest_free_percent;   /* 0.20 (a fraction despite the name) */
	double max_balloon_change_percent; /* 0.05 */
	double min_balloon_change_percent; /* 0.0025 */
};

void vmp_mom_params_default(struct vmp_mom_params *p);

struct vmp_mom_guest {
	uint64_t balloon_cur_kib, balloon_max_kib, balloon_min_kib;
	uint64_t stat_available_kib;     /* guest MemTotal as the balloon reports it (unused) */
	uint64_t stat_free_kib;          /* guest free memory (MOM: mem_unused) */
	bool stats_ok;                   /* MOM skips guests without stats */
};

/*
 * MOM's auto-balloon rule (mom-balloon.policy): with used = balloon_cur − mem_unused,
 * under host pressure shrink every guest toward used + guest_free_percent × balloon_cur,
 * at most max_balloon_change of its size per cycle (under critical pressure
 * guest_free_percent goes negative: MOM forces the guest to swap); otherwise grow every
 * ballooned guest by 5 % of its size, and at least to used + min_guest_free × balloon_max,
 * within its max. A change under min_balloon_change of the size is not made.
 * Returns the number of changed targets, or -EINVAL.
 */
int vmp_mom_plan(const struct vmp_mom_params *p, const struct vmp_host_mem *host,
		 const struct vmp_mom_guest *guests, size_t n, struct vmp_decision *decisions);

#endif
