/* SPDX-License-Identifier: MIT */
/*
 * The oracle energy bound of bound.h: fractional packing on the cheapest MIPS.
 */
#include "core/bound.h"

#include <errno.h>
#include <string.h>

int
vmp_bound_init(struct vmp_bound *b, const struct vmp_sim_config *cfg)
{
	size_t t, i, j;

	if (cfg->nhosts == 0 || cfg->nhost_types == 0 || cfg->nhost_types > VMP_SIM_MAX_TYPES)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	for (t = 0; t < cfg->nhost_types; t++) {
		const struct vmp_sim_host_type *ht = &cfg->host_types[t];
		double cap = ht->pe_mips * ht->pes, best = -1;
		/* hosts i with i % ntypes == t */
		size_t n = cfg->nhosts / cfg->nhost_types + (t < cfg->nhosts % cfg->nhost_types);
		unsigned k;

		if (!ht->power || !(cap > 0))
			return -EINVAL;
		/*
		 * min over u in (0, 1] of P(u) / u: on each linear piece a + b u of the table,
		 * P(u) / u = a / u + b is monotone, so the minimum is at a table point.
		 */
		for (k = 1; k <= 10; k++) {
			double w = ht->power->watts[k] / (k / 10.0);

			if (best < 0 || w < best)
				best = w;
		}
		b->cap_mips[b->nseg] = cap * (double)n;
		b->w_per_mips[b->nseg] = best / cap;
		b->nseg++;
	}
	/* increasing watts per MIPS (insertion sort: at most VMP_SIM_MAX_TYPES) */
	for (i = 1; i < b->nseg; i++) {
		double c = b->cap_mips[i], w = b->w_per_mips[i];

		for (j = i; j > 0 && b->w_per_mips[j - 1] > w; j--) {
			b->cap_mips[j] = b->cap_mips[j - 1];
			b->w_per_mips[j] = b->w_per_mips[j - 1];
		}
		b->cap_mips[j] = c;
		b->w_per_mips[j] = w;
	}
	return 0;
}

double
vmp_bound_watts(const struct vmp_bound *b, double demand_mips)
{
	double left = demand_mips > 0 ? demand_mips : 0, w = 0;
	size_t i;

	for (i = 0; i < b->nseg && left > 0; i++) {
		double take = left < b->cap_mips[i] || i + 1 == b->nseg ? left : b->cap_mips[i];

		w += take * b->w_per_mips[i];
		left -= take;
	}
	return w;
}

double
vmp_bound_interval_ws(const struct vmp_bound *b, double d0_mips, double d1_mips, double dt_s)
{
	double lo = d0_mips < d1_mips ? d0_mips : d1_mips;
	double hi = d0_mips < d1_mips ? d1_mips : d0_mips;
	double x = lo, ws = 0, edge = 0;
	size_t i;

	if (!(dt_s > 0))
		return 0;
	if (hi == lo)
		return vmp_bound_watts(b, lo) * dt_s;
	/*
	 * Demand is linear in time, so time spent in [x, y] is dt (y - x) / (hi - lo); the
	 * bound is linear between the segment edges: integrate piece by piece (trapezoids
	 * are exact on linear pieces).
	 */
	for (i = 0; i <= b->nseg && x < hi; i++) {
		double y;

		edge += i < b->nseg ? b->cap_mips[i] : 0;
		y = i + 1 >= b->nseg ? hi : (edge < hi ? edge : hi);
		if (y <= x)
			continue;
		ws += (vmp_bound_watts(b, x) + vmp_bound_watts(b, y)) / 2 * (y - x);
		x = y;
	}
	return ws * dt_s / (hi - lo);
}
