/* SPDX-License-Identifier: MIT */
/*
 * The simulator as a backend: `sim://DIR[?hosts=N&compat=cloudsim]` opens the trace in
 * DIR (PlanetLab directory or per-VM CSV files) on the reference cluster of the core
 * simulator (src/core/sim.h) and serves it through the ordinary backend operations:
 * host_info, list_vms, vm_stats, migrate_start/poll. Hosts are named "host-N"; a
 * migration's destination is given as params->dest_name = "host-N" (or dest_uri
 * "sim:host-N"). Virtual time moves only when vmp_backend_sim_advance() is called, so
 * a caller drives the clock like the daemon's loop would.
 */
#ifndef VMP_BACKEND_SIM_H
#define VMP_BACKEND_SIM_H

#include "backend/backend.h"

extern const struct vmp_backend_ops vmp_backend_sim;

/*
 * Advances a sim backend to its next scheduling step (migrations started since the
 * last step complete on the way). Returns 1 after a step, 0 at the end of the trace,
 * -EINVAL if b is not a sim backend.
 */
int vmp_backend_sim_advance(struct vmp_backend *b);

/* The simulated clock of b in seconds, or -1 if b is not a sim backend. */
double vmp_backend_sim_time_s(struct vmp_backend *b);

#endif
