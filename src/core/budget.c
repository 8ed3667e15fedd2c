/* SPDX-License-Identifier: MIT */
/* The per-host sliding-hour action budget (see budget.h). */
#include "core/budget.h"

#include <errno.h>
#include <string.h>

int
vmp_budget_init(struct vmp_budget *b, unsigned balloons_per_hour, unsigned hotplugs_per_hour,
		unsigned migrations_per_hour)
{
	if (balloons_per_hour > VMP_BUDGET_CAP || hotplugs_per_hour > VMP_BUDGET_CAP ||
	    migrations_per_hour > VMP_BUDGET_CAP)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->per_hour[VMP_BUDGET_BALLOON] = balloons_per_hour;
	b->per_hour[VMP_BUDGET_HOTPLUG] = hotplugs_per_hour;
	b->per_hour[VMP_BUDGET_MIGRATION] = migrations_per_hour;
	b->window_ms = 3600ll * 1000;
	return 0;
}

/* Forgets actions older than the window. */
static void
expire(struct vmp_budget *b, enum vmp_budget_kind k, int64_t now_ms)
{
	while (b->count[k] > 0 && b->spent_ms[k][b->head[k]] <= now_ms - b->window_ms) {
		b->head[k] = (b->head[k] + 1) % VMP_BUDGET_CAP;
		b->count[k]--;
	}
}

unsigned
vmp_budget_left(struct vmp_budget *b, enum vmp_budget_kind kind, int64_t now_ms)
{
	if ((unsigned)kind >= VMP_BUDGET_KIND_MAX)
		return 0;
	expire(b, kind, now_ms);
	return b->count[kind] < b->per_hour[kind] ? b->per_hour[kind] - b->count[kind] : 0;
}

bool
vmp_budget_gate(struct vmp_budget *b, enum vmp_budget_kind kind, bool vm_migrating,
		bool vm_opt_out, int64_t now_ms, struct vmp_decision *d)
{
	unsigned left, tail;

	if (d->action == VMP_ACT_NONE)
		return false;
	if (vm_migrating || vm_opt_out) {
		vmp_decision_reject(d, vmp_action_name(d->action), d->to,
				    vm_migrating ? "vm is migrating" : "vm opted out");
		vmp_decision_set(d, VMP_ACT_NONE,
				 vm_migrating ? VMP_WHY_MIGRATING : VMP_WHY_OPT_OUT, d->from);
		return false;
	}
	left = vmp_budget_left(b, kind, now_ms);
	if (!vmp_decision_check(d, "budget_left", left, 1, left >= 1)) {
		vmp_decision_reject(d, vmp_action_name(d->action), d->to, "hourly action budget spent");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_BUDGET, d->from);
		return false;
	}
	tail = (b->head[kind] + b->count[kind]) % VMP_BUDGET_CAP;
	b->spent_ms[kind][tail] = now_ms;
	b->count[kind]++;
	return true;
}
