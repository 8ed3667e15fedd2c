/* SPDX-License-Identifier: MIT */
/* Choosing one live migration off an overloaded host (see balance.h). */
#include "core/balance.h"

#include <errno.h>

/*
 * The destination with the most memory left after taking mem_kib (and cpu_cores, when
 * cpu_cores > 0), or n_hosts.
 */
static size_t
best_dest(const struct vmp_balance_params *p, const struct vmp_balance_host *hosts,
	  size_t n_hosts, size_t src, uint64_t mem_kib, double cpu_cores, double *ret_left)
{
	size_t h, best = n_hosts;
	double best_left = 0;

	for (h = 0; h < n_hosts; h++) {
		double keep = p->dest_keep_free_frac * (double)hosts[h].total_kib;
		double left = (double)hosts[h].available_kib - (double)mem_kib;

		if (h == src || !hosts[h].accepts || !hosts[h].reachable || hosts[h].unmet_kib)
			continue;
		if (left < keep)
			continue;
		if (cpu_cores > 0 && (hosts[h].cpu_overloaded || hosts[h].cpu_capacity <= 0 ||
				      (hosts[h].cpu_used + cpu_cores) / hosts[h].cpu_capacity >
				      p->dest_cpu_max_frac))
			continue;
		if (best == n_hosts || left > best_left) {
			best = h;
			best_left = left;
		}
	}
	*ret_left = best_left;
	return best;
}

/* CPU overload: the movable VM using CPU with the least memory, to a host with room. */
static int
plan_cpu(const struct vmp_balance_params *p, const struct vmp_balance_host *hosts,
	 size_t n_hosts, const struct vmp_balance_vm *vms, size_t n_vms, size_t src,
	 struct vmp_decision *d, size_t *ret_vm, size_t *ret_dest)
{
	size_t i, pick = n_vms, dest = n_hosts;
	double left = 0, util = hosts[src].cpu_capacity > 0 ?
			      hosts[src].cpu_used / hosts[src].cpu_capacity : 0;

	vmp_decision_check(d, "cpu_used_frac", util, p->dest_cpu_max_frac, true);
	vmp_decision_reject(d, "resize in place", util,
			    "the host's CPUs are the bottleneck: more vCPUs would wait");
	for (i = 0; i < n_vms; i++) {
		double l;
		size_t h;

		if (vms[i].host != src || !vms[i].movable || vms[i].cpu_cores <= 0)
			continue;
		if (pick != n_vms && vms[i].mem_kib >= vms[pick].mem_kib)
			continue;
		h = best_dest(p, hosts, n_hosts, src, vms[i].mem_kib, vms[i].cpu_cores, &l);
		if (h == n_hosts)
			continue;
		pick = i;
		dest = h;
		left = l;
	}
	if (pick == n_vms) {
		vmp_decision_reject(d, "migrate", util, "no movable vm fits on another host");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_HOST_OVERLOAD, 0);
		return 0;
	}
	vmp_decision_check(d, "vm_cpu_cores", vms[pick].cpu_cores, 0, true);
	vmp_decision_check(d, "dest_cpu_used_frac",
			   (hosts[dest].cpu_used + vms[pick].cpu_cores) / hosts[dest].cpu_capacity,
			   p->dest_cpu_max_frac, false);
	vmp_decision_check(d, "dest_left_kib", left,
			   p->dest_keep_free_frac * (double)hosts[dest].total_kib, false);
	vmp_decision_set(d, VMP_ACT_SET, VMP_WHY_HOST_OVERLOAD, (double)dest);
	*ret_vm = pick;
	*ret_dest = dest;
	return 1;
}

int
vmp_balance_plan(const struct vmp_balance_params *p, const struct vmp_balance_host *hosts,
		 size_t n_hosts, const struct vmp_balance_vm *vms, size_t n_vms, size_t src,
		 struct vmp_decision *d, size_t *ret_vm, size_t *ret_dest)
{
	size_t i, pick = n_vms, dest = n_hosts, biggest = n_vms;
	double left = 0;
	uint64_t unmet;

	if (src >= n_hosts)
		return -EINVAL;
	unmet = hosts[src].unmet_kib;
	vmp_decision_init(d, "migration", (double)src);
	if (!vmp_decision_check(d, "unmet_kib", (double)unmet, 0, unmet > 0)) {
		if (hosts[src].cpu_overloaded)
			return plan_cpu(p, hosts, n_hosts, vms, n_vms, src, d, ret_vm, ret_dest);
		return 0;
	}
	vmp_decision_reject(d, "resize in place", (double)unmet,
			    "reclaim down to every floor leaves the host short");
	/* Smallest VM covering the shortage that has a destination; else the largest. */
	for (i = 0; i < n_vms; i++) {
		double l;
		size_t h;

		if (vms[i].host != src || !vms[i].movable)
			continue;
		h = best_dest(p, hosts, n_hosts, src, vms[i].mem_kib, 0, &l);
		if (h == n_hosts)
			continue;
		if (vms[i].mem_kib >= unmet && (pick == n_vms || vms[i].mem_kib < vms[pick].mem_kib)) {
			pick = i;
			dest = h;
			left = l;
		}
		if (biggest == n_vms || vms[i].mem_kib > vms[biggest].mem_kib)
			biggest = i;
	}
	if (pick == n_vms && biggest != n_vms) {
		pick = biggest;
		dest = best_dest(p, hosts, n_hosts, src, vms[pick].mem_kib, 0, &left);
		vmp_decision_reject(d, "move a vm covering the shortage", (double)unmet,
				    "none fits on another host; moving the largest that fits");
	}
	if (pick == n_vms) {
		vmp_decision_reject(d, "migrate", (double)unmet,
				    "no movable vm fits on another host");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_HOST_PRESSURE, 0);
		return 0;
	}
	vmp_decision_check(d, "vm_mem_kib", (double)vms[pick].mem_kib, (double)unmet,
			   vms[pick].mem_kib >= unmet);
	vmp_decision_check(d, "dest_left_kib", left,
			   p->dest_keep_free_frac * (double)hosts[dest].total_kib, false);
	vmp_decision_set(d, VMP_ACT_SET, VMP_WHY_HOST_PRESSURE, (double)dest);
	*ret_vm = pick;
	*ret_dest = dest;
	return 1;
}
