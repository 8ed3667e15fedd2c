/* SPDX-License-Identifier: MIT */
/*
 * The common real-VM scenario every backend must pass (issue #4): list, stats, balloon
 * down and up, vCPU hot-add, live migration — checked against what the guest itself
 * reports through the harness (tests/guest). Each step is a function full of cmocka
 * assertions, so a backend's integration test calls them from its own cmocka tests:
 *
 *     struct vmp_scenario s = { .b = backend, .vm = "vm1", .guest = g, .mem_mib = 512,
 *                               .boot_vcpus = 1, .max_vcpus = 4 };
 *     vmp_scenario_list(&s);  vmp_scenario_stats(&s);  vmp_scenario_balloon(&s);
 *     vmp_scenario_hotadd(&s);  vmp_scenario_migrate(&s, &params, dest_guest, &progress);
 *
 * Every wait polls with a deadline; nothing sleeps and hopes.
 */
#ifndef VMP_TEST_SCENARIO_H
#define VMP_TEST_SCENARIO_H

#include "backend/backend.h"
#include "guest.h"

struct vmp_scenario {
	struct vmp_backend *b;    /* connected to the VM's host */
	const char *vm;           /* the VM's name on b */
	struct vmp_guest *guest;  /* the same VM's agent (vmp_guest_start or _attach) */
	unsigned mem_mib;         /* its boot memory (the balloon's maximum) */
	unsigned boot_vcpus;      /* vCPUs it booted with */
	unsigned max_vcpus;       /* vCPUs it can have */
};

/* The VM is listed, running, with the right vCPUs and memory. */
void vmp_scenario_list(const struct vmp_scenario *s);

/* vm_stats gives CPU time that grows and a balloon size; host info/stats are sane. */
void vmp_scenario_stats(const struct vmp_scenario *s);

/*
 * Balloons to half the memory, then back to all of it; each time the guest's own
 * MemTotal must follow (within 8 MiB) and the backend's balloon_actual must reach the
 * target. Prints how long each step took.
 */
void vmp_scenario_balloon(const struct vmp_scenario *s);

/* Hot-adds one vCPU; the guest must online it and report it, the backend must list it. */
void vmp_scenario_hotadd(const struct vmp_scenario *s);

/*
 * Migrates the VM with params (the caller prepared the destination) and polls until it
 * completes (60 s deadline). The backend's total time and downtime are printed and
 * returned in *ret; dest_guest (the VM on the destination) must keep running and report
 * the same memory and vCPUs as before.
 */
void vmp_scenario_migrate(const struct vmp_scenario *s, const struct vmp_migrate_params *params,
			  struct vmp_guest *dest_guest, struct vmp_migrate_progress *ret);

/* "completed", "failed", ... for messages. */
const char *vmp_scenario_migrate_state(enum vmp_migrate_state st);

/* Returns a TCP port that was free a moment ago on 127.0.0.1 (for migration). */
int vmp_scenario_free_port(void);

#endif
