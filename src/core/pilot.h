/* SPDX-License-Identifier: MIT */
/*
 * vmpilot's cluster planner, the one planner of the project: a snapshot of the hosts
 * and VMs in, an ordered list of live migrations with their reasons out. It relieves
 * hosts short of memory and hosts whose CPU demand is (forecast to be) over capacity by
 * the cheapest migrations (cost from RAM, dirty rate and bandwidth), and empties nearly
 * idle hosts onto the others with hysteresis and an action budget. Per-VM CPU demand
 * forecasts come from exponentially decayed moments that the caller keeps in the VM's
 * snapshot (struct vmp_pilot_history); host risk is their aggregate (mean + k standard
 * deviations of the next sample).
 *
 * Pure code: the simulator (core/simrun.c, `vmpilot simulate --policy vmpilot`) and the
 * daemon (daemon/loop.c, `vmpilot run`) fill the same snapshot, the simulator from its
 * model and the daemon from its samples, and both call vmp_pilot_plan(). The daemon
 * counts CPU as 1000 "MIPS" per core. doc/pilot-policy.md has the design and the maths.
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
	double mem_keep_free_frac; /* a destination keeps this share of its memory free */
};

/*
 * The parameters tuned on 20110303 and 20110322 (doc/pilot-policy.md); mem_keep_free_frac
 * is 0.2, the daemon's default host_pressure_free_pct (not tuned).
 */
void vmp_pilot_params_default(struct vmp_pilot_params *p);

/*
 * Sets the parameter named name (the field names above) to value. Returns 0, or -ENOENT
 * for an unknown name.
 */
int vmp_pilot_params_set(struct vmp_pilot_params *p, const char *name, double value);

/*
 * Applies "KEY=VAL[,KEY=VAL...]" (names of vmp_pilot_params_set; "" changes nothing) to
 * p. Returns 0, or -EINVAL for a malformed pair, a value that is not a finite number or
 * an unknown name; then *p may be partly changed. Used by `vmpilot simulate --pilot`
 * and the daemon's `planner` configuration key.
 */
int vmp_pilot_params_parse(struct vmp_pilot_params *p, const char *text);

/*
 * One host as it is now. A zeroed host with capacity set is an ordinary host that is
 * off: the flags are written so that zero means the usual case.
 */
struct vmp_pilot_host {
	double capacity_mips;    /* CPU its VMs may use, all cores (daemon: 1000 per core) */
	double core_mips;        /* one core: a VM's size must fit one (daemon: = capacity) */
	double bw_kib_s;         /* migration bandwidth */
	const struct vmp_power_model *power; /* NULL: full_watts below */
	double full_watts;       /* without power: its power at full load (0: unknown, all equal) */
	bool on;                 /* powered (has VMs or load); an off host costs a wake-up */
	bool unreachable;        /* did not answer: neither source nor destination */
	bool refuses_vms;        /* may not receive VMs (the operator said so) */
	double mem_kib;          /* memory its VMs may use; 0: memory is not planned */
	double mem_free_kib;     /* of which free now (after the caller's own plans) */
	double mem_short_kib;    /* memory that must leave it (what resizing could not free) */
};

/*
 * A VM's CPU demand history as the planner summarises it: zero it when the VM is first
 * seen and pass the same struct back at every step (the planner updates it). It moves
 * with the VM when the VM changes host.
 */
struct vmp_pilot_history {
	double last;             /* newest demand, MIPS */
	double mean;             /* decayed mean */
	double var_step;         /* decayed mean of squared one-step changes */
	uint32_t n;              /* samples seen (saturates) */
	int64_t moved_step;      /* planner step of its last planned move */
};

/* One VM as it is now. */
struct vmp_pilot_vm {
	int32_t host;            /* -1: not placed (ignored) */
	bool migrating;          /* a migration is in flight: not touched */
	bool pinned;             /* opted out or pinned: never moved (its load counts) */
	double mips;             /* its size: the most it can ask */
	double ram_kib;          /* what a migration copies */
	double mem_kib;          /* memory it holds on its host (0 when memory is not planned) */
	double dirty_kib_s;      /* pages dirtied per second (0 when unknown) */
	double demand_mips;      /* what it asks now */
	struct vmp_pilot_history hist; /* kept by the caller, updated by vmp_pilot_plan() */
};

enum vmp_pilot_reason {
	VMP_PILOT_RELIEVE,       /* its host's CPU is (forecast to be) overloaded */
	VMP_PILOT_CONSOLIDATE,   /* its host is nearly idle and is being emptied */
	VMP_PILOT_RELIEVE_MEMORY,/* its host is short of memory */
	VMP_PILOT_REASON_MAX,
};

/* Short words for the reasons ("relieve", "consolidate", "relieve-memory"). */
const char *vmp_pilot_reason_name(enum vmp_pilot_reason r);

struct vmp_pilot_move {
	uint32_t vm;
	uint32_t from, to;
	enum vmp_pilot_reason reason;
	bool wake;                    /* the destination was off: power it on first */
	bool empties_source;          /* the last move of an emptying: the source is then empty */
	double source_forecast_frac;  /* the source host's forecast / capacity before the move */
	double dest_forecast_frac;    /* the destination's forecast / capacity after it */
	double source_mem_short_kib;  /* memory the source was short of before the move */
	double dest_mem_free_kib;     /* memory left free on the destination after it */
	double migration_s;           /* expected duration of the migration */
	double cost_mips_s;           /* expected CPU lost to the migration */
};

/*
 * The move as one line for the decision journal, e.g. "relieve: host 3 at 104 % of
 * capacity (forecast), vm 17 to host 5 (then 87 %), 2 s, costs 812 MIPS s". Names of
 * the VM and hosts may be NULL (then their numbers are written). Returns what snprintf
 * returns.
 */
int vmp_pilot_move_explain(const struct vmp_pilot_move *m, const char *vm_name,
			   const char *from_name, const char *to_name, char *buf, size_t size);

struct vmp_pilot;

/*
 * A planner for nhosts hosts (nvms: the VMs expected, a size hint). It keeps the step
 * count and each host's last wake-up; the VMs' histories live in their snapshots.
 * Returns 0 and *ret_pilot, or -EINVAL for bad parameters or sizes. Allocation failure
 * aborts.
 */
int vmp_pilot_new(const struct vmp_pilot_params *p, size_t nhosts, size_t nvms,
		  struct vmp_pilot **ret_pilot);
void vmp_pilot_free(struct vmp_pilot *pl); /* accepts NULL */

/* Replaces the parameters from the next step on (the daemon's reload). Returns 0 or -EINVAL. */
int vmp_pilot_set_params(struct vmp_pilot *pl, const struct vmp_pilot_params *p);

/*
 * One decision step: adds each placed VM's demand now to its history (vms[i].hist),
 * then plans migrations:
 *   1. hosts short of memory (mem_short_kib > 0) give up VMs, the smallest that covers
 *      the shortage (else the largest), until the shortage is covered;
 *   2. hosts whose demand now exceeds capacity or whose forecast exceeds high_frac give
 *      up VMs, the cheapest relief first, until the forecast is under target_frac;
 *   3. hosts whose forecast is under low_frac are emptied, all their VMs or none, onto
 *      hosts that are on, within the budget.
 * A destination keeps its forecast under target_frac and (when memory is planned)
 * mem_keep_free_frac of its memory free. hosts has nhosts entries (the count given at
 * creation); nvms may change from step to step. Returns the number of moves (their
 * array stays owned by pl, valid until the next call) in *ret_moves, or -EINVAL on a
 * host count mismatch. The moves are meant to be started in order; each is planned
 * against the cluster as the previous ones leave it. A move with wake set means: power
 * its destination on first. Does not log; the caller journals each move
 * (vmp_pilot_move_explain()).
 */
int vmp_pilot_plan(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, size_t nhosts,
		   struct vmp_pilot_vm *vms, size_t nvms, const struct vmp_pilot_move **ret_moves);

/*
 * The same step over histories that already hold this step's demand: with flags
 * VMP_PILOT_HISTORY_KEPT the planner does not add vms[i].demand_mips to vms[i].hist
 * (the caller did, with vmp_pilot_history_add()). The daemon's agents do this: each
 * agent keeps its own VMs' histories and publishes them through etcd, and the elected
 * planner plans over the published ones, so a leader change loses no history and no
 * sample is counted twice (daemon/agent.h, doc/cluster.md). vmp_pilot_plan() is this
 * with flags 0.
 */
#define VMP_PILOT_HISTORY_KEPT 0x1u
int vmp_pilot_plan_flags(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, size_t nhosts,
			 struct vmp_pilot_vm *vms, size_t nvms, unsigned flags,
			 const struct vmp_pilot_move **ret_moves);

/*
 * Adds one sample, demand_mips of a VM of size mips, to history h, as vmp_pilot_plan()
 * does for every placed VM with the alpha of p (a zeroed history starts with a prior
 * spread of a tenth of the VM's size). Pure.
 */
void vmp_pilot_history_add(const struct vmp_pilot_params *p, struct vmp_pilot_history *h,
			   double demand_mips, double mips);

/* Forecast of a VM's next demand from its history (mean and standard deviation, MIPS). */
void vmp_pilot_vm_forecast(const struct vmp_pilot_vm *vm, double *ret_mean_mips,
			   double *ret_sigma_mips);

/* Expected CPU lost (MIPS x s) by migrating vm over bw_kib_s: 10 % of its demand while it runs. */
double vmp_pilot_migration_cost(const struct vmp_pilot_vm *vm, double bw_kib_s);

/* Seconds a pre-copy migration of vm takes over bw_kib_s (its dirty rate slows it). */
double vmp_pilot_migration_s(const struct vmp_pilot_vm *vm, double bw_kib_s);

#endif
