/* SPDX-License-Identifier: MIT */
/*
 * Host power models from SPECpower tables: watts measured at 0 %, 10 %, ... 100 % CPU
 * load, linearly interpolated in between. Pure code.
 */
#ifndef VMP_POWER_H
#define VMP_POWER_H

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
 * uses (so sums match it bit for bit). u outside 0..1 is clamped.
 */
double vmp_power_watts(const struct vmp_power_model *m, double u);

#endif
