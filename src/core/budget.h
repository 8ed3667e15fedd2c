/* SPDX-License-Identifier: MIT */
/*
 * The one action budget of a host: at most N balloon changes, M vCPU hot-plugs and K
 * migrations in any sliding hour; nothing at all on a VM that is migrating or has opted
 * out. Every policy's decision passes vmp_budget_gate() before anyone acts on it.
 * Pure: the caller passes the time.
 */
#ifndef VMP_CORE_BUDGET_H
#define VMP_CORE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/decision.h"

enum vmp_budget_kind {
	VMP_BUDGET_BALLOON,
	VMP_BUDGET_HOTPLUG,
	VMP_BUDGET_MIGRATION,
	VMP_BUDGET_KIND_MAX,
};

/* The most actions of one kind the budget can remember in an hour. */
#define VMP_BUDGET_CAP 1024

struct vmp_budget {
	unsigned per_hour[VMP_BUDGET_KIND_MAX];
	int64_t window_ms;                          /* one hour, unless a test shortens it */
	unsigned head[VMP_BUDGET_KIND_MAX], count[VMP_BUDGET_KIND_MAX];
	int64_t spent_ms[VMP_BUDGET_KIND_MAX][VMP_BUDGET_CAP]; /* ring of action times */
};

/* Returns 0, or -EINVAL if a limit exceeds VMP_BUDGET_CAP. */
int vmp_budget_init(struct vmp_budget *b, unsigned balloons_per_hour, unsigned hotplugs_per_hour,
		    unsigned migrations_per_hour);
/* Actions of kind left in the hour ending at now_ms. */
unsigned vmp_budget_left(struct vmp_budget *b, enum vmp_budget_kind kind, int64_t now_ms);

/*
 * Lets decision d through (and charges the budget) or turns it into a non-action with
 * the reason (migrating, opt-out, budget spent) and the rejected alternative recorded.
 * A non-action passes untouched. Returns true if d may be acted on.
 */
bool vmp_budget_gate(struct vmp_budget *b, enum vmp_budget_kind kind, bool vm_migrating,
		     bool vm_opt_out, int64_t now_ms, struct vmp_decision *d);

#endif
