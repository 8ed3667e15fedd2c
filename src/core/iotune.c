/* SPDX-License-Identifier: MIT */
/* Disk throughput limits from demand with headroom (see iotune.h, doc/policies.md). */
#include "core/iotune.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define MIN_MS (60ll * 1000)
#define HOUR_MS (60 * MIN_MS)

void
vmp_disk_params_default(struct vmp_disk_params *p)
{
	memset(p, 0, sizeof(*p));
	p->hist.first_bucket = 10;
	p->hist.ratio = 1.05;
	p->hist.max_value = 1e7;
	p->hist.half_life_ms = 24 * HOUR_MS;
	p->target_frac = 0.99;
	p->margin_frac = 0.5;
	p->peak_window_ms = 6 * HOUR_MS;
	p->headroom_frac = 0.5;
	p->saturated_frac = 0.9;
	p->raise_mult = 4.0;
	p->dead_band_frac = 0.3;
	p->cooldown_ms = 30 * MIN_MS;
	p->stale_ms = 15 * MIN_MS;
}

int
vmp_disk_state_init(struct vmp_disk_state *s, const struct vmp_disk_params *p)
{
	struct vmp_usage_model m;
	int rc;

	rc = vmp_usage_model_init(&m, &p->hist, 0);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	s->model = m;
	return 0;
}

static double
clamp(double v, double lo, double hi)
{
	return v > hi ? hi : v < lo ? lo : v;
}

int
vmp_rightsize_disk(const struct vmp_disk_params *p, double min_kibps, double max_kibps,
		   struct vmp_disk_state *s, const struct vmp_disk_input *in,
		   double current_kibps, int64_t now_ms, struct vmp_decision *d)
{
	double want, target, peak_need, diff;

	vmp_decision_init(d, "disk_kibps", current_kibps);
	if (!(current_kibps > 0) || !(min_kibps > 0) || max_kibps < min_kibps)
		return -EINVAL;
	if (!in->have_stats || in->stats_age_ms > p->stale_ms) {
		vmp_decision_check(d, "stats_age_ms", in->have_stats ? (double)in->stats_age_ms : -1,
				   (double)p->stale_ms, true);
		vmp_decision_reject(d, "lower", 0, "stats missing or stale");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_STATS_MISSING, current_kibps);
		return 0;
	}
	vmp_usage_model_add(&s->model, in->kibps, 1.0, now_ms);
	if (in->kibps >= s->recent_peak_kibps || now_ms - s->recent_peak_ms >= p->peak_window_ms) {
		s->recent_peak_kibps = in->kibps;
		s->recent_peak_ms = now_ms;
	}

	/* At the limit: the VM is held back, and how much it wanted is unknown. Raise now. */
	if (vmp_decision_check(d, "use_of_limit", in->kibps / current_kibps, p->saturated_frac,
			       in->kibps >= p->saturated_frac * current_kibps)) {
		want = clamp(fmax(in->kibps, current_kibps) * p->raise_mult, min_kibps, max_kibps);
		if (want <= current_kibps) {
			vmp_decision_reject(d, "raise", want, "at disk_max");
			vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_AT_BOUND, current_kibps);
			return 0;
		}
		vmp_decision_set(d, VMP_ACT_GROW, VMP_WHY_SATURATED, want);
		s->last_change_ms = now_ms;
		s->changed = true;
		return 0;
	}

	target = vmp_hist_percentile(&s->model.hist, p->target_frac) * (1.0 + p->margin_frac);
	peak_need = s->recent_peak_kibps * (1.0 + p->headroom_frac);
	vmp_decision_check(d, "target_kibps", target, current_kibps, target > current_kibps);
	vmp_decision_check(d, "recent_peak_kibps", peak_need, current_kibps,
			   peak_need > current_kibps);
	want = clamp(fmax(target, peak_need), min_kibps, max_kibps);
	if (want >= current_kibps) {
		/* Below the limit and not at it: raising is not urgent, only by the dead band. */
		diff = (want - current_kibps) / current_kibps;
		if (vmp_decision_check(d, "dead_band_frac", diff, p->dead_band_frac,
				       diff < p->dead_band_frac)) {
			if (want > current_kibps)
				vmp_decision_reject(d, "raise", want, "inside dead band");
			return 0;
		}
		vmp_decision_set(d, VMP_ACT_GROW, VMP_WHY_TARGET, want);
		s->last_change_ms = now_ms;
		s->changed = true;
		return 0;
	}
	diff = (current_kibps - want) / current_kibps;
	if (vmp_decision_check(d, "dead_band_frac", diff, p->dead_band_frac,
			       diff < p->dead_band_frac)) {
		vmp_decision_reject(d, "lower", want, "inside dead band");
		return 0;
	}
	if (s->changed && vmp_decision_check(d, "since_change_ms",
					     (double)(now_ms - s->last_change_ms),
					     (double)p->cooldown_ms,
					     now_ms - s->last_change_ms < p->cooldown_ms)) {
		vmp_decision_reject(d, "lower", want, "cooldown");
		vmp_decision_set(d, VMP_ACT_NONE, VMP_WHY_COOLDOWN, current_kibps);
		return 0;
	}
	vmp_decision_set(d, VMP_ACT_SHRINK, VMP_WHY_IDLE, want);
	s->last_change_ms = now_ms;
	s->changed = true;
	return 0;
}
