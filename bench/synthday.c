/* SPDX-License-Identifier: MIT */
/* The scale benchmarks' synthetic days and hosts (synthday.h). */
#include "synthday.h"

#include <stdlib.h>

static uint64_t
rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 33;
}

float *
vmp_bench_synth_day(const struct vmp_trace *seed, size_t nvms, uint64_t x)
{
	size_t nsteps = seed->nsteps, v, k;
	float *pct = malloc(nvms * nsteps * sizeof(float) + 1);

	if (!pct)
		abort();
	for (v = 0; v < nvms; v++) {
		size_t src = rnd(&x) % seed->nvms, shift = rnd(&x) % nsteps;
		const float *s = seed->cpu_usage_pct + src * nsteps;

		for (k = 0; k < nsteps; k++) {
			float u = s[(k + shift) % nsteps] + (float)((int)(rnd(&x) % 7) - 3);

			pct[v * nsteps + k] = u < 0 ? 0 : u > 99 ? 99 : (float)(int)u;
		}
	}
	return pct;
}

void
vmp_bench_big_hosts(struct vmp_sim_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nhost_types; i++) {
		cfg->host_types[i].pes = VMP_BENCH_HOST_PES;
		cfg->host_types[i].ram_mb = VMP_BENCH_HOST_RAM_MB;
	}
}
