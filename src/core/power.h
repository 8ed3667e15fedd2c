/* SPDX-License-Identifier: MIT */
/*
 * Host power models from SPECpower tables: watts measured at 0 %, 10 %, ... 100 % CPU
 * load, linearly interpolated in between. Pure code.
 */
#ifndef VMP_POWER_H
#define VMP_POWER_H

#include <math.h>

struct vmp_power_model {
	const char *name;
	double watts[11];   /* at 0, 10, ..., 100 % load */
};

/* HP ProLiant ML110 G4 (Xeon 3040) and G5 (Xeon 3075), the hosts of Beloglazov & Buyya. */
extern const struct vmp_power_model vmp_power_hp_ml110_g4;
extern const struct vmp_power_model vmp_power_hp_ml110_g5;

/*
 * Power in watts at utilisation u (0..1), interpolated between the two table points
 * around u with the exact floating-point expression CloudSim's PowerModelSpecPower
 * uses (so sums match it bit for bit). u outside 0..1 is clamped. Inline: the
 * simulator's placement calls it hundreds of millions of times on large clusters.
 */
static inline double
vmp_power_watts(const struct vmp_power_model *m, double u)
{
	int lo, hi;
	double delta, x;

	if (!(u > 0))
		return m->watts[0];
	if (u > 1)
		u = 1;
	/*
	 * CloudSim returns a table point when u % 0.1 == 0. That can only hold when u * 10
	 * is a whole number, so the (slow) fmod is evaluated only then.
	 */
	x = u * 10;
	lo = (int)x;   /* floor: x is in (0, 10] */
	if (x == (double)lo && fmod(u, 0.1) == 0)
		return m->watts[lo];
	hi = x == (double)lo ? lo : lo + 1;   /* ceil */
	delta = (m->watts[hi] - m->watts[lo]) / 10;
	return m->watts[lo] + delta * (u - (double)lo / 10) * 100;
}

#endif
