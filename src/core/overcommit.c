/* SPDX-License-Identifier: MIT */
/* Host memory pressure: vmpilot's reclaim plan and oVirt MOM's rules (see overcommit.h). */
#include "core/overcommit.h"

#include <errno.h>
#include <string.h>

void
vmp_overcommit_params_default(struct vmp_overcommit_params *p)
{
	p->pressure_free_frac = 0.20;
	p->critical_free_frac = 0.05;
	p->step_max_frac = 0.05;
	p->critical_step_max_frac = 0.10;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Why a VM may not give memory, or NULL if it may. */
static const char *
no_reclaim_reason(const struct vmp_overcommit_vm *v, enum vmp_reason *ret_reason)
{
	if (v->opt_out) {
		*ret_reason = VMP_WHY_OPT_OUT;
		return "vm opted out";
	}
	if (v->migrating) {
		*ret_reason = VMP_WHY_MIGRATING;
		return "vm is migrating";
	}
	if (!v->stats_ok) {
		*ret_reason = VMP_WHY_STATS_MISSING;
		return "stats missing or stale";
	}
	if (v->guest_pressure) {
		*ret_reason = VMP_WHY_PRESSURE;
		return "guest shows memory pressure";
	}
	return NULL;
}

int
vmp_overcommit_plan(const struct vmp_overcommit_params *p, const struct vmp_host_mem *host,
		    const struct vmp_overcommit_vm *vms, size_t n,
		    struct vmp_decision *decisions, uint64_t *ret_unmet_kib)
{
	double total = (double)host->total_kib, pressure_kib, critical_kib, avail;
	size_t i, changed = 0;
	bool critical;
	int pass;

	if (host->total_kib == 0 || p->critical_free_frac > p->pressure_free_frac)
		return -EINVAL;
	pressure_kib = p->pressure_free_frac * total;
	critical_kib = p->critical_free_frac * total;
	avail = (double)host->available_kib;

	for (i = 0; i < n; i++)
		vmp_decision_init(&decisions[i], "memory_kib", (double)vms[i].current_kib);

	/* 1. The right-sizer's shrinks free memory (hands-off VMs excepted). */
	for (i = 0; i < n; i++) {
		const struct vmp_overcommit_vm *v = &vms[i];
		enum vmp_reason why;

		if (v->want_kib >= v->current_kib)
			continue;
		if (no_reclaim_reason(v, &why)) {
			vmp_decision_reject(&decisions[i], "shrink", (double)v->want_kib,
					    no_reclaim_reason(v, &why));
			vmp_decision_set(&decisions[i], VMP_ACT_NONE, why, 0);
			continue;
		}
		vmp_decision_set(&decisions[i], VMP_ACT_SHRINK, VMP_WHY_TARGET, (double)v->want_kib);
		avail += (double)(v->current_kib - v->want_kib);
	}

	/* 2. Growth: pressured guests first (down to the critical level), then the rest. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const struct vmp_overcommit_vm *v = &vms[i];
			struct vmp_decision *d = &decisions[i];
			double keep = v->guest_pressure ? critical_kib : pressure_kib, grant, want;

			if (v->want_kib <= v->current_kib || (pass == 0) != v->guest_pressure)
				continue;
			if (v->opt_out || v->migrating) {
				vmp_decision_reject(d, "grow", (double)v->want_kib,
						    v->opt_out ? "vm opted out" : "vm is migrating");
				vmp_decision_set(d, VMP_ACT_NONE,
						 v->opt_out ? VMP_WHY_OPT_OUT : VMP_WHY_MIGRATING, 0);
				continue;
			}
			want = (double)(v->max_kib ? min_u64(v->want_kib, v->max_kib) : v->want_kib);
			grant = want - (double)v->current_kib;
			if (avail - grant < keep)
				grant = avail - keep > 0 ? avail - keep : 0;
			vmp_decision_check(d, "host_free_after_kib", avail - grant, keep, false);
			if (grant < 1) {
				vmp_decision_reject(d, "grow", want, "host short of memory");
				vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_HOST_PRESSURE, 0);
				continue;
			}
			if (grant < want - (double)v->current_kib)
				vmp_decision_reject(d, "grow fully", want, "host short of memory");
			avail -= grant;
			vmp_decision_set(d, VMP_ACT_GROW,
					 v->guest_pressure ? VMP_WHY_PRESSURE : VMP_WHY_HOST_RELIEF,
					 (double)v->current_kib + grant);
		}
	}

	/* 3. Host pressure: reclaim from the VMs with the most slack above their floor. */
	critical = avail < critical_kib;
	while (avail < pressure_kib) {
		size_t best = n;
		double best_slack = 0, slack, step, take;
		enum vmp_reason why;

		for (i = 0; i < n; i++) {
			const struct vmp_overcommit_vm *v = &vms[i];
			double now = decisions[i].to;

			if (decisions[i].action == VMP_ACT_GROW || no_reclaim_reason(v, &why))
				continue;
			/* One reclaim step per VM per cycle. */
			if (vmp_decision_find_check(&decisions[i], "host_free_kib"))
				continue;
			slack = now - (double)v->floor_kib;
			if (slack > best_slack) {
				best_slack = slack;
				best = i;
			}
		}
		if (best == n)
			break;
		step = (critical ? p->critical_step_max_frac : p->step_max_frac) *
		       (double)vms[best].current_kib;
		take = best_slack;
		if (take > step)
			take = step;
		if (take > pressure_kib - avail)
			take = pressure_kib - avail;
		vmp_decision_check(&decisions[best], "host_free_kib", avail, pressure_kib, true);
		if (take < 1)
			break;
		avail += take;
		vmp_decision_set(&decisions[best], VMP_ACT_SHRINK, VMP_WHY_HOST_PRESSURE,
				 decisions[best].to - take);
	}
	/* Say why the others were spared. */
	for (i = 0; i < n; i++) {
		enum vmp_reason why;
		const char *no;

		if (decisions[i].action != VMP_ACT_NONE || avail >= pressure_kib)
			continue;
		no = no_reclaim_reason(&vms[i], &why);
		if (no) {
			vmp_decision_reject(&decisions[i], "reclaim", (double)vms[i].floor_kib, no);
			if (decisions[i].reason == VMP_WHY_STEADY)
				decisions[i].reason = why;
		} else if (decisions[i].to <= (double)vms[i].floor_kib) {
			vmp_decision_reject(&decisions[i], "reclaim", (double)vms[i].floor_kib,
					    "at protected floor");
			decisions[i].reason = VMP_WHY_AT_BOUND;
		}
	}
	for (i = 0; i < n; i++)
		if (decisions[i].to != decisions[i].from)
			changed++;
	if (ret_unmet_kib)
		*ret_unmet_kib = avail < pressure_kib ? (uint64_t)(pressure_kib - avail) : 0;
	return (int)changed;
}

void
vmp_mom_params_default(struct vmp_mom_params *p)
{
	p->pressure_threshold = 0.20;
	p->pressure_critical = 0.05;
	p->min_guest_free_percent = 0.20;
	p->max_balloon_change_percent = 0.05;
	p->min_balloon_change_percent = 0.0025;
}

static bool
mom_change_big_enough(const struct vmp_mom_params *p, double cur, double next)
{
	double diff = next > cur ? next - cur : cur - next;

	return diff > p->min_balloon_change_percent * cur;
}

int
vmp_mom_plan(const struct vmp_mom_params *p, const struct vmp_host_mem *host,
	     const struct vmp_mom_guest *guests, size_t n, struct vmp_decision *decisions)
{
	double host_free, guest_free_frac, used, bmin, size, cur;
	size_t i;
	int changed = 0;

	if (host->total_kib == 0)
		return -EINVAL;
	host_free = (double)host->available_kib / (double)host->total_kib;
	for (i = 0; i < n; i++) {
		const struct vmp_mom_guest *g = &guests[i];
		struct vmp_decision *d = &decisions[i];

		cur = (double)g->balloon_cur_kib;
		vmp_decision_init(d, "memory_kib", cur);
		if (!g->stats_ok) {
			vmp_decision_reject(d, "balloon", cur, "stats missing");
			vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_STATS_MISSING, cur);
			continue;
		}
		if (vmp_decision_check(d, "host_free_frac", host_free, p->pressure_threshold,
				       host_free < p->pressure_threshold)) {
			if (host_free <= p->pressure_critical)
				guest_free_frac = -0.05 + host_free;   /* force the guest to swap */
			else
				guest_free_frac = p->min_guest_free_percent *
						  (host_free / p->pressure_threshold);
			/* used = balloon_cur − mem_unused; target used + free share of the current size. */
			used = cur - (double)g->stat_free_kib;
			bmin = used + guest_free_frac * cur;
			if (bmin < (double)g->balloon_min_kib)
				bmin = (double)g->balloon_min_kib;
			size = cur * (1.0 - p->max_balloon_change_percent);
			if (size < bmin)
				size = bmin;
			if (size <= cur && mom_change_big_enough(p, cur, size)) {
				vmp_decision_set(d, VMP_ACT_SHRINK, VMP_WHY_HOST_PRESSURE, size);
				changed++;
			}
		} else if (cur < (double)g->balloon_max_kib) {
			/* Grow 5 %, and at least to used + min_guest_free × max. */
			used = cur - (double)g->stat_free_kib;
			bmin = used + p->min_guest_free_percent * (double)g->balloon_max_kib;
			size = cur * (1.0 + p->max_balloon_change_percent);
			if (size > (double)g->balloon_max_kib)
				size = (double)g->balloon_max_kib;
			if (size < bmin)
				size = bmin;
			if (size > (double)g->balloon_max_kib)
				size = (double)g->balloon_max_kib;
			if (mom_change_big_enough(p, cur, size)) {
				vmp_decision_set(d, VMP_ACT_GROW, VMP_WHY_HOST_RELIEF, size);
				changed++;
			}
		}
	}
	return changed;
}
