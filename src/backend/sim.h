/* SPDX-License-Identifier: MIT */
/*
 * The simulator as a backend: `sim://DIR[?hosts=N&compat=cloudsim]` opens the trace in
 * DIR (PlanetLab directory or per-VM CSV files) on the reference cluster of the core
 * simulator (src/core/sim.h) and serves it through the ordinary backend operations:
 * host_info, host_stats, list_vms, vm_stats, migrate_start/poll. Hosts are named
 * "host-N"; a migration's destination is given as params->dest_name = "host-N" (or
 * dest_uri "sim:host-N"). Virtual time moves only when vmp_backend_sim_advance() is
 * called, so a caller drives the clock like the daemon's loop would.
 *
 * Views: `sim://DIR?...&host=N` serves host N alone (its VMs, its CPUs and their speed
 * in host_info.core_mips, its migration bandwidth, powered_off in host_stats), and all
 * the backends opened with the same URI but for host= share one simulation, so the
 * daemon's loop can run with one --connect per simulated host (`vmpilot run --replay`,
 * daemon/simloop.h). A view's VM reports its trace demand as its CPU time (in seconds
 * of one core of its host), which makes the loop's CPU usage times core_mips the
 * demand the simulator's policies see; its vm_info.max_mips is the VM's size. A
 * migration to another view names it by its URI (params->dest_uri).
 * The simulations are shared through a process-wide list: use from one thread.
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

struct vmp_sim;
struct vmp_sim_config;
struct vmp_sim_input;
/* The simulation behind b (shared by its views; for measurements), or NULL. */
struct vmp_sim *vmp_backend_sim_sim(struct vmp_backend *b);

/*
 * The cluster and trace b simulates, to run the same day with another policy
 * (vmp_simrun); *ret_input points into b's trace, valid while b is open. Returns 0 or
 * -EINVAL if b is not a sim backend.
 */
int vmp_backend_sim_setup(struct vmp_backend *b, struct vmp_sim_config *ret_cfg,
			  struct vmp_sim_input *ret_input);

/*
 * Whether b's trace records memory demand (per-VM CSV such as Bitbrains). The views serve
 * CPU only: the simulation takes each VM to hold its whole RAM, and the daemon's planner
 * plans no memory there, where `vmpilot simulate` plans the trace's demand. False if b
 * is not a sim backend.
 */
bool vmp_backend_sim_trace_has_memory(struct vmp_backend *b);

#endif
