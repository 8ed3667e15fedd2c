/* SPDX-License-Identifier: MIT */
/*
 * The trace-driven data-centre simulator: hosts with SPECpower power models, VMs whose
 * CPU demand follows a trace, a virtual clock, live migrations that take RAM /
 * (bandwidth / 2) and cost the VM 10 % of its CPU meanwhile, hosts that switch off when
 * empty, and the consolidation policies of Beloglazov & Buyya (2012) as rows of a table.
 * It reproduces CloudSim 3.0.3's executable semantics (doc/design/simulator.md lists
 * them); with compat off a few of CloudSim's quirks are replaced by what is right.
 * Beside CloudSim's metrics it integrates, exactly and for every policy, the overload and
 * the CPU and memory demand not served (struct vmp_sim_acct, doc/metrics.md), and can
 * report every placement change (vmp_sim_config.on_event, doc/sim-events.md).
 *
 * Pure code: no I/O, no clock, no logging, no globals; the caller passes the trace in.
 * Two ways to drive it:
 *   - vmp_sim_run(): a whole day with a policy from the table, metrics out;
 *   - vmp_sim_new() + vmp_sim_step() + vmp_sim_migrate(): step by step, with the
 *     caller (the sim backend, another policy) deciding migrations between steps.
 */
#ifndef VMP_SIM_H
#define VMP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/overload.h"
#include "core/power.h"

enum vmp_sim_kind {
	VMP_SIM_NPA,       /* no power awareness: every host draws its maximum power */
	VMP_SIM_DVFS,      /* power follows load, no migrations */
	VMP_SIM_MIGRATE,   /* dynamic consolidation: overload detection + VM selection */
	VMP_SIM_EXTERNAL,  /* the caller migrates (vmp_sim_migrate) between steps */
	VMP_SIM_KIND_MAX,
};

enum vmp_sim_selection {
	VMP_SEL_MMT,       /* minimum migration time: least RAM */
	VMP_SEL_MU,        /* minimum utilisation */
	VMP_SEL_MC,        /* maximum correlation with the host's other VMs (R²) */
	VMP_SEL_RS,        /* random (seeded: vmp_sim_config.seed) */
	VMP_SEL_MAX,
};

/* One row of the policy table. */
struct vmp_sim_policy {
	const char *name;               /* e.g. "lr-mmt-1.2" */
	const char *summary;
	enum vmp_sim_kind kind;
	enum vmp_overload_kind overload;
	double param;                   /* threshold (THR) or safety parameter */
	enum vmp_sim_selection selection;
};

/* The policy table, terminated by a row with name NULL. */
extern const struct vmp_sim_policy vmp_sim_policies[];
/* The row named name (case-insensitive), or NULL. */
const struct vmp_sim_policy *vmp_sim_policy_find(const char *name);

#define VMP_SIM_MAX_TYPES 8

struct vmp_sim_host_type {
	double pe_mips;                 /* MIPS of one core */
	unsigned pes;                   /* cores */
	double ram_mb;
	double bw_kbit;                 /* network, kbit/s; migrations get half */
	const struct vmp_power_model *power;
};

struct vmp_sim_vm_type {
	double mips;
	double ram_mb;
	double bw_kbit;
};

/*
 * A placement change, as the simulator makes it (vmp_sim_config.on_event). Times are
 * virtual seconds; hosts and VMs are indices. A host is "on" while it holds at least one
 * VM (resident, migrating out or migrating in). doc/sim-events.md gives the JSON form.
 */
enum vmp_sim_event_kind {
	VMP_SIM_EV_PLACE,       /* vm placed on host at creation (time 0) */
	VMP_SIM_EV_MIG_START,   /* vm starts migrating from `from` to host; ends at end_s */
	VMP_SIM_EV_MIG_END,     /* vm leaves `from` and becomes resident on host */
	VMP_SIM_EV_REMOVE,      /* vm removed from host for good (CloudSim compat: zero demand) */
	VMP_SIM_EV_HOST_ON,     /* host received its first VM */
	VMP_SIM_EV_HOST_OFF,    /* host lost its last VM */
	VMP_SIM_EV_MAX,
};

struct vmp_sim_event {
	enum vmp_sim_event_kind kind;
	double time_s;
	int32_t vm;             /* -1 for host events */
	int32_t host;           /* the destination, or the host concerned */
	int32_t from;           /* the source of a migration, else -1 */
	double end_s;           /* MIG_START: when it will complete */
};

typedef void vmp_sim_event_fn(void *ctx, const struct vmp_sim_event *ev);

/*
 * The cluster: nhosts hosts, host i of type i % nhost_types; VM j of type
 * j / ceil(nvms / nvm_types) (contiguous blocks, as CloudSim's example assigns them).
 */
struct vmp_sim_config {
	size_t nhosts;
	size_t nhost_types;
	struct vmp_sim_host_type host_types[VMP_SIM_MAX_TYPES];
	size_t nvm_types;
	struct vmp_sim_vm_type vm_types[VMP_SIM_MAX_TYPES];
	double step_s;                  /* scheduling interval and trace step, 300 */
	double host_storage_mb;         /* per host; each VM takes vm_size_mb */
	double vm_size_mb;
	bool cloudsim_compat;           /* reproduce CloudSim 3.0.3's quirks too */
	bool naive_placement;           /* tests: PABFD scans every host (same result, slower) */
	uint64_t seed;                  /* for random selection (RS); 0 = 1 */
	/*
	 * Tests: the continuous accounting takes the simulator's own view instead of the
	 * trace: each VM's demand held at its last recorded value, a host active while its
	 * allocation is non-zero, and a host receiving a VM counted as overloaded (what
	 * SLATAH measures), over the time the simulator records.
	 */
	bool acct_hold;
	vmp_sim_event_fn *on_event;     /* every placement change, or NULL */
	void *event_ctx;
};

/* The reference setup: 800 hosts (HP ML110 G4/G5), four VM types, 300-s steps. */
void vmp_sim_config_default(struct vmp_sim_config *cfg);

/*
 * Trace input: nvms x nsteps CPU percentages (row-major by VM), as struct vmp_trace, and
 * optionally memory demand in percent of the VM type's RAM (NULL: every VM uses its whole
 * RAM all the time, the assumption for PlanetLab, which records no memory).
 */
struct vmp_sim_input {
	size_t nvms;
	size_t nsteps;
	const float *cpu_pct;
	const float *mem_pct;
};

/* Per-step series (one entry per scheduling step) for plots. */
struct vmp_sim_series {
	size_t n;
	double *time_s;
	uint32_t *active_hosts;
	uint32_t *overloaded_hosts;
	uint32_t *migrations;           /* started at this step */
	double *power_w;                /* drawn right after the step's update */
};

/*
 * The continuous accounting (doc/metrics.md): demand integrated exactly over time, linear
 * between trace samples, against capacities constant between placement changes, over
 * [0, nsteps * step_s). Host demand = the requests of its VMs, plus 10 % of the request
 * of each VM migrating in; a VM is served its request when its host's demand fits, else
 * its share request * capacity / demand; a VM migrating out gets 90 % of that. Memory:
 * every VM on a host (migrating in or out included) holds its memory demand there.
 */
struct vmp_sim_acct {
	double active_host_s;           /* host time holding at least one VM */
	double overload_host_s;         /* host time with CPU demand > capacity */
	double requested_mips_s;        /* CPU demand of the placed VMs */
	double unserved_mips_s;         /* demand not served: overload + migration */
	double unserved_overload_mips_s;
	double unserved_migration_mips_s;
	double worst_vm_unserved_frac;  /* the largest per-VM unserved / requested */
	int32_t worst_vm;               /* that VM, -1 if none */
	double mem_overload_host_s;     /* host time with memory demand > RAM */
	double mem_requested_mb_s;
	double mem_excess_mb_s;         /* memory demand above RAM, integrated */
	double window_s;                /* the accounted time span */
};

struct vmp_sim_result {
	struct vmp_sim_acct acct;
	double energy_kwh;
	uint64_t migrations;
	double slatah;                  /* fraction of active host time at 100 % CPU */
	double pdm;                     /* fraction of requested MIPS lost to migrations */
	double slav;                    /* slatah * pdm */
	double esv;                     /* energy_kwh * slav */
	double sla_overall;             /* fraction of requested MIPS not allocated */
	uint64_t host_shutdowns;
	double mean_time_before_host_shutdown_s;
	double mean_time_before_vm_migration_s;
	uint64_t vms_created;
	uint64_t vms_completed;         /* removed at zero demand (CloudSim compat) */
	double simulated_s;
	struct vmp_sim_series series;
};

/* Frees the series arrays of r (not r itself); accepts NULL. */
void vmp_sim_result_release(struct vmp_sim_result *r);

struct vmp_sim;

/*
 * Creates a simulation of input under cfg with policy p (kind EXTERNAL = the caller
 * migrates) and places the VMs (power-aware best fit for migrating policies, first fit
 * for NPA/DVFS). The input arrays must outlive the simulation. Returns 0 and *ret_sim,
 * or -EINVAL for an inconsistent configuration (no hosts, no types, ...).
 */
int vmp_sim_new(const struct vmp_sim_config *cfg, const struct vmp_sim_policy *p,
		const struct vmp_sim_input *input, struct vmp_sim **ret_sim);
void vmp_sim_free(struct vmp_sim *s); /* accepts NULL */

/*
 * Advances the virtual clock to the next scheduling step: updates demand, energy and
 * SLA accounting, runs the policy (migrating kinds) and starts its migrations, then
 * completes the migrations that end before the following step. Returns 1 after a step,
 * 0 when the trace is over.
 */
int vmp_sim_step(struct vmp_sim *s);

/* Runs to the end and fills *ret (release with vmp_sim_result_release). */
int vmp_sim_run(const struct vmp_sim_config *cfg, const struct vmp_sim_policy *p,
		const struct vmp_sim_input *input, struct vmp_sim_result *ret);

/* The metrics so far (after the last step: the final ones). Series are copied. */
void vmp_sim_result(const struct vmp_sim *s, struct vmp_sim_result *ret);

/* Read access for backends and external policies. */
struct vmp_sim_vm_state {
	int host;                       /* -1 when not placed or completed */
	int migrating_to;               /* -1 unless a migration is in flight */
	double mips;
	double ram_mb;
	double mem_demand_mb;           /* memory demand now (ram_mb without a memory trace) */
	double requested_mips;          /* demand now */
	double allocated_mips;          /* what its host gives it now */
	double cpu_mips_s;              /* allocated MIPS integrated over time so far */
	bool completed;                 /* removed at zero demand (CloudSim compat) */
};
struct vmp_sim_host_state {
	double total_mips;
	double ram_mb;                  /* memory capacity */
	double mem_demand_mb;           /* memory demand of its VMs now (in and out included) */
	double utilization_frac;        /* allocated / total after the last update */
	double power_w;
	unsigned nvms;
	bool active;
};
size_t vmp_sim_nvms(const struct vmp_sim *s);
size_t vmp_sim_nhosts(const struct vmp_sim *s);
double vmp_sim_time_s(const struct vmp_sim *s);
int vmp_sim_vm(const struct vmp_sim *s, size_t vm, struct vmp_sim_vm_state *ret);
int vmp_sim_host(const struct vmp_sim *s, size_t host, struct vmp_sim_host_state *ret);

/*
 * Starts migrating vm to host now (it completes after RAM / (bandwidth / 2) seconds of
 * virtual time, during the next vmp_sim_step()). Returns 0, -ENOENT (no such VM or
 * host, or the VM is not placed), -EBUSY (already migrating) or -EINVAL (same host).
 */
int vmp_sim_migrate(struct vmp_sim *s, size_t vm, size_t host);

#endif
