/* SPDX-License-Identifier: MIT */
/* SPECpower tables and their interpolation. See power.h. */
#include "core/power.h"

#include <math.h>

const struct vmp_power_model vmp_power_hp_ml110_g4 = {
	"hp-ml110-g4", { 86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117 },
};

const struct vmp_power_model vmp_power_hp_ml110_g5 = {
	"hp-ml110-g5", { 93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135 },
};

double
vmp_power_watts(const struct vmp_power_model *m, double u)
{
	int lo, hi;
	double delta, x;

	if (!(u > 0))
		return m->watts[0];
	if (u > 1)
		u = 1;
	/*
	 * CloudSim: an exact table point when u % 0.1 == 0. That can only hold when u * 10
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
