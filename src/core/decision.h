/* SPDX-License-Identifier: MIT */
/*
 * A policy decision with its reason: what was decided, from which inputs, which
 * thresholds were crossed and which alternatives were rejected. Every policy in
 * src/core returns one of these so the decision journal can answer "why?".
 */
#ifndef VMP_CORE_DECISION_H
#define VMP_CORE_DECISION_H

#include <stdbool.h>
#include <stdint.h>

enum vmp_action {
	VMP_ACT_NONE,       /* a deliberate non-action (the reason says why) */
	VMP_ACT_GROW,       /* more memory / more vCPUs / more KSM scanning */
	VMP_ACT_SHRINK,     /* less memory / fewer vCPUs / less KSM scanning */
	VMP_ACT_SET,        /* a setting changed without a direction (e.g. KSM mode) */
	VMP_ACT_MAX,
};

/* The main reason of a decision; the journal prints its name. */
enum vmp_reason {
	VMP_WHY_STEADY,          /* target inside the dead band */
	VMP_WHY_TARGET,          /* moved toward the recommender's target */
	VMP_WHY_PRESSURE,        /* guest pressure signal: immediate bump */
	VMP_WHY_SATURATED,       /* vCPUs busy: hot-add */
	VMP_WHY_IDLE,            /* vCPUs idle: remove */
	VMP_WHY_STATS_MISSING,   /* no shrink: stats missing or stale */
	VMP_WHY_COOLDOWN,        /* too soon after the last change */
	VMP_WHY_AT_BOUND,        /* already at min/max or at the protected floor */
	VMP_WHY_HOST_PRESSURE,   /* host short of free memory: reclaim */
	VMP_WHY_HOST_RELIEF,     /* host pressure over: give memory back */
	VMP_WHY_BUDGET,          /* the action budget is spent */
	VMP_WHY_OPT_OUT,         /* the VM opted out of automatic changes */
	VMP_WHY_MIGRATING,       /* the VM is migrating: hands off */
	VMP_WHY_LEARNING,        /* not enough history yet */
	VMP_WHY_KSM_TUNE,        /* ksmtuned-style scan rate change */
	VMP_WHY_HOST_OVERLOAD,   /* host CPU overloaded: move a VM away */
	VMP_WHY_CONSOLIDATE,     /* host nearly idle: empty it onto the others */
	VMP_WHY_MAX,
};

/* One threshold test the policy made: "value vs limit", and whether it fired. */
struct vmp_check {
	const char *name;        /* static string, e.g. "dead_band_pct" */
	double value;
	double limit;
	bool crossed;
};

/* One alternative the policy considered and did not take. */
struct vmp_rejected {
	const char *alternative; /* static string, e.g. "shrink" */
	double value;            /* the value it would have set */
	const char *why;         /* static string, e.g. "stats stale" */
};

#define VMP_DECISION_CHECKS 12
#define VMP_DECISION_REJECTED 4

struct vmp_decision {
	enum vmp_action action;
	enum vmp_reason reason;
	const char *resource;    /* static: "memory_kib", "vcpus", "ksm_pages", ... */
	double from, to;         /* in the unit of resource; to == from for NONE */
	unsigned n_checks;
	struct vmp_check checks[VMP_DECISION_CHECKS];
	unsigned n_rejected;
	struct vmp_rejected rejected[VMP_DECISION_REJECTED];
};

/* Starts a decision on resource with current value from (action NONE, reason STEADY). */
void vmp_decision_init(struct vmp_decision *d, const char *resource, double from);
/* Sets the outcome. */
void vmp_decision_set(struct vmp_decision *d, enum vmp_action action, enum vmp_reason reason,
		      double to);
/* Records a threshold test (dropped silently when the table is full). Returns crossed. */
bool vmp_decision_check(struct vmp_decision *d, const char *name, double value, double limit,
			bool crossed);
/* Records a rejected alternative (dropped silently when the table is full). */
void vmp_decision_reject(struct vmp_decision *d, const char *alternative, double value,
			 const char *why);
/* Finds a recorded check by name, or NULL. */
const struct vmp_check *vmp_decision_find_check(const struct vmp_decision *d, const char *name);

/* Stable lower-case names for the journal ("grow", "pressure", ...). */
const char *vmp_action_name(enum vmp_action a);
const char *vmp_reason_name(enum vmp_reason r);

#endif
