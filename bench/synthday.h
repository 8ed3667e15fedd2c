/* SPDX-License-Identifier: MIT */
/*
 * The synthetic PlanetLab-like days of the scale benchmarks (bench/sim-scale.c,
 * bench/cluster-scale.c): N VMs, each one of a real day's traces with a random circular
 * time shift and +-3 % noise, so the mix of load keeps the real distribution while the
 * VMs do not move in lock-step; and the hosts they run on: a reference type's cores
 * (HP ML110 G4/G5 speed and power model), 16 of them and 32 GiB, so that ten VMs fit on
 * every host at their full size as the initial placement allocates them. The reference
 * 2-core, 4 GiB hosts hold about 2.5 of these VMs: on them a day of 10 VMs per host
 * created only a quarter of its VMs.
 */
#ifndef VMP_BENCH_SYNTHDAY_H
#define VMP_BENCH_SYNTHDAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/sim.h"
#include "trace/trace.h"

#define VMP_BENCH_HOST_PES 16
#define VMP_BENCH_HOST_RAM_MB 32768.0

/* nvms x seed->nsteps CPU percentages (malloc'd; aborts when out of memory), from seed x. */
float *vmp_bench_synth_day(const struct vmp_trace *seed, size_t nvms, uint64_t x);

/* Gives every host type of cfg VMP_BENCH_HOST_PES cores and VMP_BENCH_HOST_RAM_MB. */
void vmp_bench_big_hosts(struct vmp_sim_config *cfg);

#endif
