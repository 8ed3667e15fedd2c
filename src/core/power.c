/* SPDX-License-Identifier: MIT */
/* SPECpower tables of the reference hosts. See power.h. */
#include "core/power.h"

const struct vmp_power_model vmp_power_hp_ml110_g4 = {
	"hp-ml110-g4", { 86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117 },
};

const struct vmp_power_model vmp_power_hp_ml110_g5 = {
	"hp-ml110-g5", { 93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135 },
};
