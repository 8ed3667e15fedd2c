/* SPDX-License-Identifier: MIT */
/*
 * Cluster balance across the hosts of several --connect URIs: when a host is still
 * short of memory after the overcommit plan reclaimed everything it could (its unmet
 * amount), or its CPUs are overloaded (the simulator's overload detectors, overload.h),
 * move one VM to the host with the most room left after the move. Live migration is
 * chosen only then: resizing in place comes first. Pure: inputs in, one
 * decision per overloaded host out. doc/design/loop.md has the rule.
 */
#ifndef VMP_CORE_BALANCE_H
#define VMP_CORE_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"

struct vmp_balance_host {
	uint64_t total_kib;        /* memory the host's VMs may use (a limit or MemTotal) */
	uint64_t available_kib;    /* after this cycle's resizing plan */
	uint64_t unmet_kib;        /* what the overcommit plan could not reclaim */
	bool accepts;              /* may receive VMs */
	bool reachable;            /* its backend answered this cycle */
	bool cpu_overloaded;       /* the overload detector's verdict this cycle */
	double cpu_capacity;       /* cores its VMs may use (0 = unknown: not a CPU target) */
	double cpu_used;           /* cores its VMs use now */
};

struct vmp_balance_vm {
	size_t host;               /* index into the hosts */
	uint64_t mem_kib;          /* what moving it frees on its host */
	double cpu_cores;          /* cores it uses now */
	bool movable;              /* running, fresh stats, not migrating, not opted out */
};

struct vmp_balance_params {
	double dest_keep_free_frac; /* a destination keeps this share free after the move */
	double dest_cpu_max_frac;   /* a destination's CPU use stays at most this after the move */
};

/*
 * Plans at most one migration for source host src. Returns 1 and sets *ret_vm and
 * *ret_dest when a VM should move (d: action SET, reason HOST_PRESSURE for memory or
 * HOST_OVERLOAD for CPU, resource "migration", from = src, to = destination index), 0
 * when no move (d says why), or -EINVAL. For memory the VM moved is the smallest one
 * that covers the unmet amount (least data to copy), else the largest movable one; for
 * CPU it is the one with the least memory (minimum migration time) that uses CPU, to a
 * host that is not overloaded and stays under dest_cpu_max_frac with it.
 */
int vmp_balance_plan(const struct vmp_balance_params *p, const struct vmp_balance_host *hosts,
		     size_t n_hosts, const struct vmp_balance_vm *vms, size_t n_vms, size_t src,
		     struct vmp_decision *d, size_t *ret_vm, size_t *ret_dest);

#endif
