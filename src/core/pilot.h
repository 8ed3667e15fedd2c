/* SPDX-License-Identifier: MIT */
/*
 * vmpilot's own consolidation policy: per-VM demand forecasts from exponentially decayed
 * moments, host risk from their aggregate (mean + k standard deviations of the next
 * sample), relief of hosts at risk by the cheapest migrations (cost from memory and dirty
 * rate), consolidation of nearly idle hosts with hysteresis and an action budget.
 * Pure code: the caller passes the cluster as it is now, one step at a time, and gets
 * migrations with reasons back; the daemon and the simulator call the same functions.
 * doc/pilot-policy.md has the design and the maths.
 */
#ifndef VMP_CORE_PILOT_H
#define VMP_CORE_PILOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/power.h"

struct vmp_pilot_params {
	double alpha;            /* weight of the newest sample in the decayed moments (0..1] */
	double k_sigma;          /* safety: standard deviations of the host's next-sample forecast */
	double high_frac;        /* a host whose forecast exceeds high_frac x capacity is relieved */
	double target_frac;      /* moves keep the destination's forecast below target_frac x capacity */
	double low_frac;         /* hosts whose forecast is below low_frac x capacity are emptied */
	double sigma_floor_frac; /* smallest per-VM spread, as a fraction of the VM's MIPS */
	unsigned hold_steps;     /* a VM that moved is not moved for consolidation for this long */
	unsigned wake_hold_steps;/* a host that was woken up is not emptied for this long */
	double budget_frac;      /* at most this fraction of the VMs moved per step (at least 1) */
};

/* The parameters tuned on 20110303 and 20110322 (doc/pilot-policy.md). */
void vmp_pilot_params_default(struct vmp_pilot_params *p);

/*
 * Sets the parameter named name (the field names above) to value. Returns 0, or -ENOENT
 * for an unknown name.
 */
int vmp_pilot_params_set(struct vmp_pilot_params *p, const char *name, double value);

/* One host as it is now. */
struct vmp_pilot_host {
	double capacity_mips;    /* all cores */
	double core_mips;        /* one core: a VM must fit one */
	double bw_kib_s;         /* migration bandwidth */
	const struct vmp_power_model *power;
	bool on;                 /* powered (has VMs or load); an off host costs a wake-up */
};

/* One VM as it is now. */
struct vmp_pilot_vm {
	int32_t host;            /* -1: not placed (ignored) */
	bool migrating;          /* a migration is in flight: not touched */
	double mips;             /* its size: the most it can ask */
	double ram_kib;
	double dirty_kib_s;      /* pages dirtied per second (0 when unknown) */
	double demand_mips;      /* what it asks now */
};

enum vmp_pilot_reason {
	VMP_PILOT_RELIEVE,       /* its host is (forecast to be) overloaded */
	VMP_PILOT_CONSOLIDATE,   /* its host is nearly idle and is being emptied */
	VMP_PILOT_REASON_MAX,
};

/* Short words for the reasons ("relieve", "consolidate"). */
const char *vmp_pilot_reason_name(enum vmp_pilot_reason r);

struct vmp_pilot_move {
	uint32_t vm;
	uint32_t from, to;
	enum vmp_pilot_reason reason;
	double source_forecast_frac;  /* the source host's forecast / capacity before the move */
	double dest_forecast_frac;    /* the destination's forecast / capacity after it */
	double cost_mips_s;           /* expected CPU lost to the migration */
};

/*
 * The move as one line for the decision journal, e.g. "relieve: host 3 at 104 % of
 * capacity (forecast), vm 17 to host 5 (then 87 %), costs 812 MIPS s". Returns what
 * snprintf returns.
 */
int vmp_pilot_move_explain(const struct vmp_pilot_move *m, char *buf, size_t size);

struct vmp_pilot;

/*
 * A policy instance for nhosts hosts and nvms VMs (their demand history lives in it).
 * Returns 0 and *ret_pilot, or -EINVAL for bad parameters or sizes. Allocation failure
 * aborts.
 */
int vmp_pilot_new(const struct vmp_pilot_params *p, size_t nhosts, size_t nvms,
		  struct vmp_pilot **ret_pilot);
void vmp_pilot_free(struct vmp_pilot *pl); /* accepts NULL */

/*
 * One decision step: adds the VMs' current demand to their histories, then plans
 * migrations. hosts and vms describe the cluster now (same sizes as at creation).
 * Returns the number of moves (their array stays owned by pl, valid until the next
 * call) in *ret_moves, or -EINVAL on size mismatch. The moves are meant to be started
 * in order; each is planned against the cluster as the previous ones leave it.
 * A move whose destination was off (hosts[to].on false) means: power that host on
 * first. Does not log; the caller journals each move (vmp_pilot_move_explain()).
 */
int vmp_pilot_plan(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, size_t nhosts,
		   const struct vmp_pilot_vm *vms, size_t nvms,
		   const struct vmp_pilot_move **ret_moves);

/* Forecast of VM v's next demand (mean and standard deviation, MIPS), for tests and reports. */
int vmp_pilot_vm_forecast(const struct vmp_pilot *pl, size_t v, double *ret_mean_mips,
			  double *ret_sigma_mips);

/* Expected CPU lost (MIPS x s) by migrating vm over bw_kib_s: 10 % of its demand while it runs. */
double vmp_pilot_migration_cost(const struct vmp_pilot_vm *vm, double bw_kib_s);

/* Seconds a pre-copy migration of vm takes over bw_kib_s (its dirty rate slows it). */
double vmp_pilot_migration_s(const struct vmp_pilot_vm *vm, double bw_kib_s);

#endif
