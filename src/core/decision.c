/* SPDX-License-Identifier: MIT */
/* Building decisions with their reasons (see decision.h). */
#include "core/decision.h"

#include <string.h>

void
vmp_decision_init(struct vmp_decision *d, const char *resource, double from)
{
	memset(d, 0, sizeof(*d));
	d->action = VMP_ACT_NONE;
	d->reason = VMP_WHY_STEADY;
	d->resource = resource;
	d->from = from;
	d->to = from;
}

void
vmp_decision_set(struct vmp_decision *d, enum vmp_action action, enum vmp_reason reason,
		 double to)
{
	d->action = action;
	d->reason = reason;
	d->to = action == VMP_ACT_NONE ? d->from : to;
}

bool
vmp_decision_check(struct vmp_decision *d, const char *name, double value, double limit,
		   bool crossed)
{
	struct vmp_check *c;

	if (d->n_checks < VMP_DECISION_CHECKS) {
		c = &d->checks[d->n_checks++];
		c->name = name;
		c->value = value;
		c->limit = limit;
		c->crossed = crossed;
	}
	return crossed;
}

void
vmp_decision_reject(struct vmp_decision *d, const char *alternative, double value,
		    const char *why)
{
	struct vmp_rejected *r;

	if (d->n_rejected >= VMP_DECISION_REJECTED)
		return;
	r = &d->rejected[d->n_rejected++];
	r->alternative = alternative;
	r->value = value;
	r->why = why;
}

const struct vmp_check *
vmp_decision_find_check(const struct vmp_decision *d, const char *name)
{
	unsigned i;

	for (i = 0; i < d->n_checks; i++)
		if (strcmp(d->checks[i].name, name) == 0)
			return &d->checks[i];
	return NULL;
}

static const char *const action_names[VMP_ACT_MAX] = {
	[VMP_ACT_NONE] = "none",
	[VMP_ACT_GROW] = "grow",
	[VMP_ACT_SHRINK] = "shrink",
	[VMP_ACT_SET] = "set",
};

static const char *const reason_names[VMP_WHY_MAX] = {
	[VMP_WHY_STEADY] = "steady",
	[VMP_WHY_TARGET] = "target",
	[VMP_WHY_PRESSURE] = "guest_pressure",
	[VMP_WHY_SATURATED] = "saturated",
	[VMP_WHY_IDLE] = "idle",
	[VMP_WHY_STATS_MISSING] = "stats_missing",
	[VMP_WHY_COOLDOWN] = "cooldown",
	[VMP_WHY_AT_BOUND] = "at_bound",
	[VMP_WHY_HOST_PRESSURE] = "host_pressure",
	[VMP_WHY_HOST_RELIEF] = "host_relief",
	[VMP_WHY_BUDGET] = "budget",
	[VMP_WHY_OPT_OUT] = "opt_out",
	[VMP_WHY_MIGRATING] = "migrating",
	[VMP_WHY_LEARNING] = "learning",
	[VMP_WHY_KSM_TUNE] = "ksm_tune",
	[VMP_WHY_HOST_OVERLOAD] = "host_overload",
	[VMP_WHY_CONSOLIDATE] = "consolidate",
};

const char *
vmp_action_name(enum vmp_action a)
{
	return (unsigned)a < VMP_ACT_MAX ? action_names[a] : "?";
}

const char *
vmp_reason_name(enum vmp_reason r)
{
	return (unsigned)r < VMP_WHY_MAX ? reason_names[r] : "?";
}
