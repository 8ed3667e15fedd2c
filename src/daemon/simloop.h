/* SPDX-License-Identifier: MIT */
/*
 * The daemon in replay (`vmpilot run --replay`): the real autopilot loop (daemon/loop.h:
 * sampling through the backend ops table, right-sizing, overcommit, budget, the cluster
 * planner of core/pilot.h, actuators, journal) run against the simulator backend, one
 * loop host per simulated host (the `host=N` views of backend/sim.h), over a whole
 * trace as fast as it can: the simulated clock advances one step after each cycle, and
 * the loop is given that clock. At the end the simulator's metrics are those of what
 * the daemon did, comparable row for row with `vmpilot simulate --policy vmpilot`.
 * doc/design/loop.md ("Replay") says what differs from a live run.
 */
#ifndef VMP_DAEMON_SIMLOOP_H
#define VMP_DAEMON_SIMLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pilot.h"
#include "core/sim.h"
#include "core/simrun.h"
#include "daemon/config.h"
#include "daemon/journal.h"

struct vmp_simloop_options {
	const char *uri;                /* sim://DIR[?hosts=N&compat=cloudsim] */
	const struct vmp_config *cfg;   /* copied, then set for replay (below) */
	struct vmp_journal *journal;    /* borrowed; NULL = none */
	/* Called for each migration the planner started (see vmp_loop_options.moved). */
	void (*moved)(void *opaque, double time_s, const char *vm, const char *from,
		      const char *to, enum vmp_pilot_reason reason, const char *why);
	/* Called after each cycle with the simulated time, the cycles done and the hosts on. */
	void (*progress)(void *opaque, double time_s, size_t cycles, unsigned hosts_on);
	void *opaque;
	/*
	 * Policies of the simulator's table (vmp_sim_policy_find names, "vmpilot" = the
	 * planner with the daemon's parameters) to run by `vmpilot simulate`'s own step
	 * loop (core/simrun.h) on the same cluster and trace, for comparison; may be empty.
	 */
	const char *const *compare;
	size_t n_compare;
};

struct vmp_simloop_result {
	struct vmp_sim_result sim;      /* the simulator's metrics of the run */
	size_t hosts, vms, cycles;
	bool trace_memory;              /* the trace has memory demand, which replay leaves out */
	uint64_t moves[VMP_PILOT_REASON_MAX];  /* migrations started, by the planner's reason */
	uint64_t failed_actions;        /* actuator calls that failed (all kinds) */
	struct vmp_simrun_result *compare;  /* one per opts->compare, NULL if none */
	size_t n_compare;
};

/* Frees what vmp_simloop_run() allocated in r (not r); accepts NULL. */
void vmp_simloop_result_release(struct vmp_simloop_result *r);

/*
 * Runs the loop over the whole trace of opts->uri. The configuration is opts->cfg with
 * what replay needs: mode act everywhere (the simulator is the only thing changed),
 * interval_ms = the trace step, budget_migrations_per_hour = its maximum (the simulator
 * has no budget), KSM off, no dry run. Returns 0 and *ret (release with
 * vmp_simloop_result_release), or a negative errno and *ret_err (caller frees).
 */
int vmp_simloop_run(const struct vmp_simloop_options *opts, struct vmp_simloop_result *ret,
		    char **ret_err);

#endif
