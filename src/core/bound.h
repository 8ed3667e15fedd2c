/* SPDX-License-Identifier: MIT */
/*
 * A lower bound on the energy any placement needs to serve a demand without overload:
 * each host's power curve (off = 0 W, on = its SPECpower curve) is replaced by the line
 * through the origin under it, x * min_u P(u) / (u C), and the demand is poured
 * fractionally into the cheapest MIPS first. doc/pilot-policy.md proves it is a bound.
 * Pure code.
 */
#ifndef VMP_CORE_BOUND_H
#define VMP_CORE_BOUND_H

#include <stddef.h>

#include "core/sim.h"

/* The cluster's capacity as segments of increasing watts per MIPS. */
struct vmp_bound {
	size_t nseg;
	double cap_mips[VMP_SIM_MAX_TYPES];      /* MIPS of all hosts of the segment's type */
	double w_per_mips[VMP_SIM_MAX_TYPES];    /* increasing */
};

/* The segments of cfg's hosts. Returns 0 or -EINVAL for a configuration without hosts. */
int vmp_bound_init(struct vmp_bound *b, const struct vmp_sim_config *cfg);

/*
 * Least watts that serve demand_mips. Demand beyond the cluster's capacity is priced at
 * the dearest segment's rate (no placement can serve it; the bound stays a bound).
 */
double vmp_bound_watts(const struct vmp_bound *b, double demand_mips);

/*
 * Least energy (W s) over dt_s while the demand moves linearly from d0 to d1: the exact
 * integral of vmp_bound_watts (piecewise linear and convex) along the way.
 */
double vmp_bound_interval_ws(const struct vmp_bound *b, double d0_mips, double d1_mips,
			     double dt_s);

#endif
