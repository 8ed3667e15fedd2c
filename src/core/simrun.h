/* SPDX-License-Identifier: MIT */
/*
 * Runs one policy of the simulator's table over a trace step by step: the simulator's own
 * policies, or vmpilot's cluster planner (pilot.h, the rows of kind VMP_SIM_EXTERNAL)
 * fed a snapshot of the simulator's state after each step, as daemon/loop.c feeds the
 * same vmp_pilot_plan() from its samples of real hosts (and `vmpilot run --replay`,
 * daemon/simloop.h, from the simulator backend: the same day, digit for digit). Along the way
 * it measures what every policy is compared with: the oracle energy bound (bound.h) and
 * the hosts whose demand exceeds their capacity, per step. Pure code; progress is
 * reported through a callback.
 */
#ifndef VMP_CORE_SIMRUN_H
#define VMP_CORE_SIMRUN_H

#include <stddef.h>
#include <stdint.h>

#include "core/pilot.h"
#include "core/sim.h"

struct vmp_simrun_result {
	struct vmp_sim_result sim;      /* the simulator's metrics and series */
	double bound_kwh;               /* oracle lower bound over the same intervals */
	double energy_ratio;            /* sim.energy_kwh / bound_kwh */
	uint64_t pilot_relieve;         /* vmpilot's moves by reason (0 for other rows) */
	uint64_t pilot_consolidate;
	/* per step, beside sim.series */
	uint32_t *oversubscribed_hosts; /* hosts whose VMs ask more than the host has */
	double *bound_w;                /* the bound's power at the step */
};

/* Called after each step with the steps done and the steps in the trace. */
typedef void vmp_simrun_progress_fn(void *ctx, size_t done, size_t total);

/*
 * Runs policy p on input under cfg (pilot_params: NULL for the defaults; used by
 * VMP_SIM_EXTERNAL rows only) and fills *ret (release with vmp_simrun_result_release).
 * progress may be NULL. Returns 0 or a negative errno from vmp_sim_new/vmp_pilot_new.
 */
int vmp_simrun(const struct vmp_sim_config *cfg, const struct vmp_sim_policy *p,
	       const struct vmp_pilot_params *pilot_params, const struct vmp_sim_input *input,
	       vmp_simrun_progress_fn *progress, void *ctx, struct vmp_simrun_result *ret);

/* Frees the arrays of r (not r); accepts NULL. */
void vmp_simrun_result_release(struct vmp_simrun_result *r);

#endif
