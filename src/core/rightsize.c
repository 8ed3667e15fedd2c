/* SPDX-License-Identifier: MIT */
/* Per-VM memory and vCPU right-sizing (see rightsize.h and doc/policies.md). */
#include "core/rightsize.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define MIB_KIB 1024ull
#define HOUR_MS (3600ll * 1000)
#define MIN_MS (60ll * 1000)

void
vmp_mem_params_default(struct vmp_mem_params *p)
{
	memset(p, 0, sizeof(*p));
	/* VPA's memory buckets: first 10 MiB wide, 5 % apart, up to 1 TiB. */
	p->hist.first_bucket = 10 * MIB_KIB;
	p->hist.ratio = 1.05;
	p->hist.max_value = 1024.0 * 1024 * 1024;
	p->hist.half_life_ms = 24 * HOUR_MS;
	p->peak_window_ms = 1 * HOUR_MS;
	p->est.target_frac = 0.95;
	p->est.lower_frac = 0.50;
	p->est.upper_frac = 0.95;
	p->est.margin_frac = 0.15;
	p->est.sample_interval_ms = 5 * MIN_MS;
	p->est.upper_conf_mult = 0;
	p->est.lower_conf_mult = 0.001;
	p->use_bounds = false;
	p->dead_band_frac = 0.20;
	p->cooldown_ms = 15 * MIN_MS;
	p->step_max_frac = 0.70;
	p->stale_ms = 3 * 5 * MIN_MS;
	p->cache_keep_frac = 0.0;
	p->headroom_frac = 0.10;
	p->pressure_add_kib = 100 * MIB_KIB;
	p->pressure_mult = 2.0;
	p->major_faults_min = 1000;
	p->psi_some_min = 10.0;
	p->low_free_frac = 0.20;
	p->floor_margin_frac = 0.20;
	p->floor_add_kib = 320 * MIB_KIB;
	p->floor_window_ms = 1 * HOUR_MS;
	p->cost_model = true;
	vmp_ap_params_memory(&p->cost);
	p->cost.w_o = 30;
}

void
vmp_mem_params_vpa(struct vmp_mem_params *p)
{
	vmp_mem_params_default(p);
	/* The Vertical Pod Autoscaler's recommender and updater, as published. */
	p->peak_window_ms = 24 * HOUR_MS;
	p->est.target_frac = 0.90;
	p->est.lower_frac = 0.50;
	p->est.upper_frac = 0.95;
	p->est.margin_frac = 0.15;
	p->est.upper_conf_mult = 1.0;
	p->est.lower_conf_mult = 0.001;
	p->use_bounds = true;
	p->dead_band_frac = 0;
	p->cooldown_ms = 0;
	p->step_max_frac = 1.0;
	p->headroom_frac = 0;
	/* Only the OOM analogue (swap-in) bumps; VPA knows no other pressure signal. */
	p->major_faults_min = 0;
	p->psi_some_min = 0;
	p->low_free_frac = 0;
	p->floor_margin_frac = 0;
	p->floor_add_kib = 0;
	p->floor_window_ms = 0;
	p->pressure_mult = 1.2;
	p->cost_model = false;
}

int
vmp_mem_state_init(struct vmp_mem_state *s, const struct vmp_mem_params *p)
{
	struct vmp_usage_model m;
	int r;

	r = vmp_usage_model_init(&m, &p->hist, p->peak_window_ms);
	if (r < 0)
		return r;
	memset(s, 0, sizeof(*s));
	s->model = m;
	if (p->cost_model) {
		r = vmp_ap_state_init(&s->cost, &p->cost);
		if (r < 0)
			return r;
	}
	return 0;
}

uint64_t
vmp_mem_demand_kib(const struct vmp_mem_params *p, const struct vmp_mem_input *in)
{
	uint64_t free_kib, demand;

	/* MemAvailable already counts the caches the guest can drop; MemFree does not. */
	if (in->have_available)
		free_kib = in->available_kib;
	else
		free_kib = in->unused_kib + in->caches_kib;
	demand = free_kib < in->actual_kib ? in->actual_kib - free_kib : 0;
	demand += (uint64_t)(p->cache_keep_frac * (double)in->caches_kib);
	return demand < in->actual_kib ? demand : in->actual_kib;
}

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static bool
guest_pressure(const struct vmp_mem_params *p, const struct vmp_mem_input *in,
	       struct vmp_decision *d)
{
	bool any = false;
	double free_frac;

	any |= vmp_decision_check(d, "swap_in_kib", (double)in->swap_in_kib, 0,
				  in->swap_in_kib > 0);
	if (p->major_faults_min > 0)
		any |= vmp_decision_check(d, "major_faults", (double)in->major_faults,
					  (double)p->major_faults_min,
					  in->major_faults >= p->major_faults_min);
	if (in->balloon_stalled)
		any |= vmp_decision_check(d, "balloon_stalled", 1, 1, true);
	if (p->psi_some_min > 0 && in->psi_some_avg10 >= 0)
		any |= vmp_decision_check(d, "psi_some_avg10", in->psi_some_avg10,
					  p->psi_some_min, in->psi_some_avg10 >= p->psi_some_min);
	if (p->low_free_frac > 0 && in->actual_kib > 0) {
		free_frac = in->have_available ? (double)in->available_kib : (double)in->unused_kib;
		free_frac /= (double)in->actual_kib;
		any |= vmp_decision_check(d, "guest_free_frac", free_frac, p->low_free_frac,
					  free_frac < p->low_free_frac);
	}
	return any;
}

int
vmp_rightsize_memory(const struct vmp_mem_params *p, const struct vmp_vm_limits *lim,
		     struct vmp_mem_state *s, const struct vmp_mem_input *in,
		     uint64_t current_kib, int64_t now_ms, struct vmp_decision *d)
{
	uint64_t min_kib, max_kib, demand, floor_kib, want, live, need;
	struct vmp_estimate est;
	double cur = (double)current_kib, diff;

	vmp_decision_init(d, "memory_kib", cur);
	if (current_kib == 0)
		return -EINVAL;
	min_kib = lim->mem_min_kib;
	max_kib = lim->mem_max_kib ? lim->mem_max_kib : UINT64_MAX;
	if (max_kib < min_kib)
		return -EINVAL;

	if (!in->have_stats || in->stats_age_ms > p->stale_ms) {
		vmp_decision_check(d, "stats_age_ms", in->have_stats ? (double)in->stats_age_ms : -1,
				   (double)p->stale_ms, true);
		vmp_decision_reject(d, "shrink", 0, "stats missing or stale");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_STATS_MISSING, cur);
		s->pressure = false;
		return 0;
	}

	/*
	 * Learn: demand history, and the recent peak that protects the VM. What the guest
	 * swapped in this cycle is demand it did not fit: the need counts it.
	 */
	demand = vmp_mem_demand_kib(p, in);
	need = demand + in->swap_in_kib;
	s->demand_kib = demand;
	/*
	 * While the balloon still inflates toward the last shrink target, the pages it has
	 * taken show in the guest as used before the host's actual catches up: demand reads
	 * high (measured: 288 MiB in a guest using 87 MiB, one second into a 256 MiB
	 * shrink). Such a sample is not learned, and no resize is based on it below.
	 */
	if (!in->balloon_moving || in->balloon_stalled) {
		vmp_usage_model_add(&s->model, (double)demand, 1.0, now_ms);
		if (need >= s->recent_peak_kib || now_ms - s->recent_peak_ms >= p->floor_window_ms) {
			s->recent_peak_kib = need;
			s->recent_peak_ms = now_ms;
		}
		if (p->cost_model)
			s->cost_limit_kib = vmp_ap_step(&p->cost, &s->cost, (double)need, now_ms);
	}
	floor_kib = (uint64_t)((double)s->recent_peak_kib * (1.0 + p->floor_margin_frac)) +
		    p->floor_add_kib;
	floor_kib = max_u64(floor_kib, min_kib);
	if (floor_kib > max_kib)
		floor_kib = max_kib;
	s->floor_kib = floor_kib;
	vmp_decision_check(d, "demand_kib", (double)demand, cur, demand > current_kib);

	s->pressure = guest_pressure(p, in, d);
	if (lim->opt_out) {
		vmp_decision_reject(d, "resize", cur, "vm opted out");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_OPT_OUT, cur);
		return 0;
	}

	/* The strict cap: after any resize, none (not even a pressure growth) for the gap. */
	if (p->action_gap_ms > 0 && s->changed &&
	    vmp_decision_check(d, "since_change_ms", (double)(now_ms - s->last_change_ms),
			       (double)p->action_gap_ms, now_ms - s->last_change_ms < p->action_gap_ms)) {
		vmp_decision_reject(d, s->pressure ? "grow" : "resize", cur,
				    "one memory action per action gap");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_COOLDOWN, cur);
		return 0;
	}

	if (s->pressure) {
		/*
		 * VPA's OOM bump, and at least pressure_add more than now. What the guest
		 * swapped in this cycle is demand it did not fit: it counts too.
		 */
		want = max_u64(need + p->pressure_add_kib,
			       (uint64_t)((double)need * p->pressure_mult));
		want = max_u64(want, current_kib + p->pressure_add_kib);
		if (want > max_kib)
			want = max_kib;
		if (want <= current_kib) {
			vmp_decision_reject(d, "grow", (double)want, "at mem_max");
			vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_AT_BOUND, cur);
			return 0;
		}
		/* The history learns the need, not the bump (the bump is this cycle's margin). */
		vmp_usage_model_add(&s->model, (double)need, 1.0, now_ms);
		vmp_decision_set(d, VMP_ACT_GROW, VMP_WHY_PRESSURE, (double)want);
		s->last_change_ms = now_ms;
		s->changed = true;
		return 0;
	}

	if (in->balloon_moving && !in->balloon_stalled) {
		vmp_decision_check(d, "balloon_moving", 1, 1, true);
		vmp_decision_reject(d, "resize", cur, "balloon still moving to its last target");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_COOLDOWN, cur);
		return 0;
	}
	vmp_usage_model_estimate(&s->model, &p->est, &est);
	if (est.target <= 0) {
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_LEARNING, cur);
		return 0;
	}
	live = max_u64((uint64_t)((double)demand * (1.0 + p->headroom_frac)),
		       demand + p->headroom_min_kib);
	if (p->cost_model) {
		/* The limit the cost-chosen model recommends replaces the percentile target. */
		vmp_decision_check(d, "cost_model_kib", s->cost_limit_kib, est.target,
				   s->cost_limit_kib > est.target);
		est.target = s->cost_limit_kib;
	}
	want = max_u64((uint64_t)est.target, max_u64(live, floor_kib));
	if (want > max_kib)
		want = max_kib;
	if (want < min_kib)
		want = min_kib;
	vmp_decision_check(d, "target_kib", est.target, cur, est.target > cur);
	vmp_decision_check(d, "confidence_days", est.confidence_days, 0, false);
	diff = ((double)want - cur) / cur;

	if (want > current_kib) {
		bool short_now = live > current_kib;

		if (p->use_bounds && !short_now &&
		    !vmp_decision_check(d, "lower_bound_kib", est.lower, cur, cur < est.lower)) {
			vmp_decision_reject(d, "grow", (double)want, "inside recommendation bounds");
			return 0;
		}
		if (!short_now &&
		    vmp_decision_check(d, "dead_band_frac", diff, p->dead_band_frac,
				       diff < p->dead_band_frac)) {
			vmp_decision_reject(d, "grow", (double)want, "inside dead band");
			return 0;
		}
		/* Growing because short: overshoot by the dead band so noise does not re-trigger. */
		if (short_now && (double)want < (double)live * (1.0 + p->dead_band_frac))
			want = (uint64_t)((double)live * (1.0 + p->dead_band_frac));
		if (want > max_kib)
			want = max_kib;
		vmp_decision_set(d, VMP_ACT_GROW, VMP_WHY_TARGET, (double)want);
		s->last_change_ms = now_ms;
		s->changed = true;
		return 0;
	}
	/* Shrinking (or staying): every guard must pass. */
	if (vmp_decision_check(d, "floor_kib", (double)floor_kib, cur, current_kib <= floor_kib)) {
		vmp_decision_reject(d, "shrink", (double)want, "at protected floor");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_AT_BOUND, cur);
		return 0;
	}
	if (want == current_kib)
		return 0;
	if (current_kib <= min_kib) {
		vmp_decision_reject(d, "shrink", (double)want, "at mem_min");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_AT_BOUND, cur);
		return 0;
	}
	if (vmp_decision_check(d, "dead_band_frac", -diff, p->dead_band_frac,
			       -diff < p->dead_band_frac)) {
		vmp_decision_reject(d, "shrink", (double)want, "inside dead band");
		return 0;
	}
	if (!vmp_decision_check(d, "upper_bound_kib", est.upper, cur, cur > est.upper)) {
		vmp_decision_reject(d, "shrink", (double)want, "history too short to be sure");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_LEARNING, cur);
		return 0;
	}
	if (s->changed && vmp_decision_check(d, "since_change_ms", (double)(now_ms - s->last_change_ms),
					     (double)p->cooldown_ms,
					     now_ms - s->last_change_ms < p->cooldown_ms)) {
		vmp_decision_reject(d, "shrink", (double)want, "cooldown");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_COOLDOWN, cur);
		return 0;
	}
	if ((double)want < cur * (1.0 - p->step_max_frac)) {
		vmp_decision_reject(d, "shrink to target", (double)want, "larger than step limit");
		want = (uint64_t)(cur * (1.0 - p->step_max_frac));
	}
	want = max_u64(want, floor_kib);
	vmp_decision_set(d, VMP_ACT_SHRINK, VMP_WHY_TARGET, (double)want);
	s->last_change_ms = now_ms;
	s->changed = true;
	return 0;
}

void
vmp_cpu_params_default(struct vmp_cpu_params *p)
{
	memset(p, 0, sizeof(*p));
	/* VPA's CPU buckets: first 0.01 cores wide, 5 % apart, up to 1000 cores. */
	p->hist.first_bucket = 0.01;
	p->hist.ratio = 1.05;
	p->hist.max_value = 1000;
	p->hist.half_life_ms = 24 * HOUR_MS;
	p->est.target_frac = 0.95;
	p->est.lower_frac = 0.50;
	p->est.upper_frac = 0.95;
	p->est.margin_frac = 0.15;
	p->est.sample_interval_ms = 5 * MIN_MS;
	p->est.upper_conf_mult = 1.0;
	p->est.lower_conf_mult = 0.001;
	p->saturated_frac = 0.90;
	p->idle_frac = 0.50;
	p->steal_max_frac = 0.10;
	p->cooldown_ms = 30 * MIN_MS;
	p->step_max = 1;
	p->stale_ms = 3 * 5 * MIN_MS;
	p->min_confidence_days = 1.0 / 24;
}

void
vmp_cpu_params_vpa(struct vmp_cpu_params *p)
{
	vmp_cpu_params_default(p);
	p->est.target_frac = 0.90;
	p->est.upper_frac = 0.95;
	p->use_bounds = true;
	p->cooldown_ms = 0;
}

/* VPA's updater: act only when the current size is outside [lower, upper]. */
static void
vcpus_vpa(const struct vmp_estimate *est, unsigned current, unsigned min_v, unsigned max_v,
	  struct vmp_decision *d)
{
	unsigned want = (unsigned)ceil(est->target - 1e-9);
	double lo = ceil(est->lower - 1e-9), hi = ceil(est->upper - 1e-9);

	if (want < min_v)
		want = min_v;
	if (want > max_v)
		want = max_v;
	if (est->target <= 0) {
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_LEARNING, current);
		return;
	}
	if (!vmp_decision_check(d, "outside_bounds", current, current < lo ? lo : hi,
				current < lo || current > hi) || want == current) {
		vmp_decision_reject(d, "set vcpus", want, "inside recommendation bounds");
		return;
	}
	vmp_decision_set(d, want > current ? VMP_ACT_GROW : VMP_ACT_SHRINK, VMP_WHY_TARGET, want);
}

int
vmp_cpu_state_init(struct vmp_cpu_state *s, const struct vmp_cpu_params *p)
{
	struct vmp_usage_model m;
	int r;

	r = vmp_usage_model_init(&m, &p->hist, 0);
	if (r < 0)
		return r;
	memset(s, 0, sizeof(*s));
	s->model = m;
	return 0;
}

int
vmp_rightsize_vcpus(const struct vmp_cpu_params *p, const struct vmp_vm_limits *lim,
		    struct vmp_cpu_state *s, const struct vmp_cpu_input *in,
		    unsigned current, int64_t now_ms, struct vmp_decision *d)
{
	unsigned min_v, max_v, need, want;
	struct vmp_estimate est;
	double util, idle_util;

	vmp_decision_init(d, "vcpus", current);
	if (current == 0)
		return -EINVAL;
	min_v = lim->vcpus_min ? lim->vcpus_min : 1;
	max_v = lim->vcpus_max ? lim->vcpus_max : 4096;
	if (max_v < min_v)
		return -EINVAL;
	if (!in->have_stats || in->stats_age_ms > p->stale_ms) {
		vmp_decision_check(d, "stats_age_ms", in->have_stats ? (double)in->stats_age_ms : -1,
				   (double)p->stale_ms, true);
		vmp_decision_reject(d, "remove vcpu", current - 1, "stats missing or stale");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_STATS_MISSING, current);
		return 0;
	}
	vmp_usage_model_add(&s->model, in->usage_cores, 1.0, now_ms);
	if (lim->opt_out) {
		vmp_decision_reject(d, "resize", current, "vm opted out");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_OPT_OUT, current);
		return 0;
	}
	vmp_usage_model_estimate(&s->model, &p->est, &est);
	if (p->use_bounds) {
		vcpus_vpa(&est, current, min_v, max_v, d);
		if (d->action != VMP_ACT_NONE) {
			s->last_change_ms = now_ms;
			s->changed = true;
		}
		return 0;
	}
	need = (unsigned)ceil(est.target - 1e-9);
	if (need < min_v)
		need = min_v;
	util = in->usage_cores / current;

	if (vmp_decision_check(d, "usage_per_vcpu", util, p->saturated_frac,
			       util >= p->saturated_frac)) {
		if (vmp_decision_check(d, "steal_frac", in->steal_frac, p->steal_max_frac,
				       in->steal_frac > p->steal_max_frac)) {
			vmp_decision_reject(d, "hot-add", current + 1,
					    "host steal high: more vCPUs would wait too");
			return 0;
		}
		want = need > current + 1 ? need : current + 1;
		if (want > current + p->step_max)
			want = current + p->step_max;
		if (want > max_v)
			want = max_v;
		if (want <= current) {
			vmp_decision_reject(d, "hot-add", current + 1, "at vcpus_max");
			vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_AT_BOUND, current);
			return 0;
		}
		vmp_decision_set(d, VMP_ACT_GROW, VMP_WHY_SATURATED, want);
		s->last_change_ms = now_ms;
		s->changed = true;
		return 0;
	}
	if (need >= current || current <= min_v)
		return 0;
	if (vmp_decision_check(d, "confidence_days", est.confidence_days, p->min_confidence_days,
			       est.confidence_days < p->min_confidence_days)) {
		vmp_decision_reject(d, "remove vcpu", current - 1, "history too short");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_LEARNING, current);
		return 0;
	}
	idle_util = in->usage_cores / (current - 1);
	if (!vmp_decision_check(d, "usage_per_remaining_vcpu", idle_util, p->idle_frac,
				idle_util < p->idle_frac)) {
		vmp_decision_reject(d, "remove vcpu", current - 1, "busy now");
		return 0;
	}
	if (s->changed && vmp_decision_check(d, "since_change_ms", (double)(now_ms - s->last_change_ms),
					     (double)p->cooldown_ms,
					     now_ms - s->last_change_ms < p->cooldown_ms)) {
		vmp_decision_reject(d, "remove vcpu", current - 1, "cooldown");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_COOLDOWN, current);
		return 0;
	}
	vmp_decision_set(d, VMP_ACT_SHRINK, VMP_WHY_IDLE, current - 1);
	s->last_change_ms = now_ms;
	s->changed = true;
	return 0;
}
