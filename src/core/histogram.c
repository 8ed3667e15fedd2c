/* SPDX-License-Identifier: MIT */
/* Decaying exponential-bucket histograms and usage models (see histogram.h). */
#include "core/histogram.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define DAY_MS 86400000.0
/* Beyond 2^MAX_DECAY_EXP the weights are rescaled and the reference moved forward. */
#define MAX_DECAY_EXP 100.0
/* Weights below this are treated as zero (after subtracting a peak). */
#define EPSILON_WEIGHT 1e-10

int
vmp_hist_init(struct vmp_hist *h, const struct vmp_hist_params *p)
{
	double n;

	if (!(p->first_bucket > 0) || !(p->ratio > 1.0) || !(p->max_value > p->first_bucket) ||
	    p->half_life_ms <= 0)
		return -EINVAL;
	n = ceil(log(p->max_value * (p->ratio - 1.0) / p->first_bucket + 1.0) / log(p->ratio)) + 1;
	if (n > VMP_HIST_BUCKETS_MAX)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->p = *p;
	h->nbuckets = (unsigned)n;
	return 0;
}

double
vmp_hist_bucket_start(const struct vmp_hist *h, unsigned i)
{
	/* Bucket i starts at first × (ratio^i − 1) / (ratio − 1): a geometric series. */
	return h->p.first_bucket * (pow(h->p.ratio, i) - 1.0) / (h->p.ratio - 1.0);
}

unsigned
vmp_hist_bucket(const struct vmp_hist *h, double value)
{
	double i;

	if (!(value > 0))
		return 0;
	i = floor(log(value * (h->p.ratio - 1.0) / h->p.first_bucket + 1.0) / log(h->p.ratio));
	if (i >= h->nbuckets - 1)
		return h->nbuckets - 1;
	/* Correct rounding at bucket edges. */
	if (i > 0 && vmp_hist_bucket_start(h, (unsigned)i) > value)
		i--;
	else if (vmp_hist_bucket_start(h, (unsigned)i + 1) <= value)
		i++;
	return (unsigned)i;
}

/* The multiplier of a sample at time_ms; moves the reference when it grows too large. */
static double
decay_factor(struct vmp_hist *h, int64_t time_ms)
{
	double e;
	unsigned i;

	if (!h->has_ref) {
		h->ref_ms = time_ms;
		h->has_ref = true;
	}
	e = (double)(time_ms - h->ref_ms) / (double)h->p.half_life_ms;
	if (e > MAX_DECAY_EXP) {
		double scale = exp2(-e);

		for (i = 0; i < h->nbuckets; i++) {
			h->w[i] *= scale;
			if (h->w[i] < EPSILON_WEIGHT)
				h->w[i] = 0;
		}
		h->total *= scale;
		h->ref_ms = time_ms;
		e = 0;
	}
	return exp2(e);
}

void
vmp_hist_add(struct vmp_hist *h, double value, double weight, int64_t time_ms)
{
	double w;

	if (!(weight > 0))
		return;
	w = weight * decay_factor(h, time_ms);
	h->w[vmp_hist_bucket(h, value)] += w;
	h->total += w;
}

void
vmp_hist_sub(struct vmp_hist *h, double value, double weight, int64_t time_ms)
{
	unsigned b;
	double w;

	if (!(weight > 0))
		return;
	w = weight * decay_factor(h, time_ms);
	b = vmp_hist_bucket(h, value);
	if (w > h->w[b])
		w = h->w[b];
	h->w[b] -= w;
	h->total -= w;
	if (h->w[b] < EPSILON_WEIGHT)
		h->w[b] = 0;
	if (h->total < EPSILON_WEIGHT)
		h->total = 0;
}

bool
vmp_hist_empty(const struct vmp_hist *h)
{
	return !(h->total > EPSILON_WEIGHT);
}

double
vmp_hist_percentile(const struct vmp_hist *h, double frac)
{
	double sum = 0, threshold;
	unsigned b;

	if (vmp_hist_empty(h))
		return 0;
	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	threshold = frac * h->total;
	for (b = 0; b < h->nbuckets - 1; b++) {
		sum += h->w[b];
		if (sum >= threshold && h->w[b] > 0)
			break;
	}
	if (b < h->nbuckets - 1)
		return vmp_hist_bucket_start(h, b + 1);
	return vmp_hist_bucket_start(h, b);
}

int
vmp_usage_model_init(struct vmp_usage_model *m, const struct vmp_hist_params *p,
		     int64_t peak_window_ms)
{
	struct vmp_hist h;
	int r;

	if (peak_window_ms < 0)
		return -EINVAL;
	r = vmp_hist_init(&h, p);
	if (r < 0)
		return r;
	memset(m, 0, sizeof(*m));
	m->hist = h;
	m->peak_window_ms = peak_window_ms;
	return 0;
}

void
vmp_usage_model_add(struct vmp_usage_model *m, double value, double weight, int64_t now_ms)
{
	if (value < 0)
		value = 0;
	if (m->samples == 0)
		m->first_ms = now_ms;
	m->last_ms = now_ms;
	m->samples++;
	if (m->peak_window_ms == 0) {
		vmp_hist_add(&m->hist, value, weight, now_ms);
		return;
	}
	/*
	 * One peak per window: the window's current peak sits in the histogram (weighted
	 * at the window start) and is replaced whenever a larger value arrives.
	 */
	if (!m->in_window || now_ms >= m->window_start_ms + m->peak_window_ms) {
		m->window_start_ms = now_ms;
		m->window_peak = value;
		m->in_window = true;
		vmp_hist_add(&m->hist, value, weight, now_ms);
	} else if (value > m->window_peak) {
		vmp_hist_sub(&m->hist, m->window_peak, weight, m->window_start_ms);
		m->window_peak = value;
		vmp_hist_add(&m->hist, value, weight, m->window_start_ms);
	}
}

void
vmp_usage_model_estimate(const struct vmp_usage_model *m,
			 const struct vmp_estimate_params *p, struct vmp_estimate *ret)
{
	double span_days, count_days, conf, scale;

	memset(ret, 0, sizeof(*ret));
	if (m->samples == 0 || vmp_hist_empty(&m->hist))
		return;
	span_days = (double)(m->last_ms - m->first_ms) / DAY_MS;
	count_days = (double)m->samples * p->sample_interval_ms / DAY_MS;
	conf = span_days < count_days ? span_days : count_days;
	ret->confidence_days = conf;
	scale = 1.0 + p->margin_frac;
	ret->target = vmp_hist_percentile(&m->hist, p->target_frac) * scale;
	ret->lower = vmp_hist_percentile(&m->hist, p->lower_frac) * scale;
	ret->upper = vmp_hist_percentile(&m->hist, p->upper_frac) * scale;
	if (conf > 0) {
		ret->upper *= 1.0 + p->upper_conf_mult / conf;
		ret->lower *= pow(1.0 + p->lower_conf_mult / conf, -2.0);
	} else {
		/* No time span yet: the bounds are unbounded above and zero below. */
		ret->upper = INFINITY;
		ret->lower = 0;
	}
	if (ret->upper < ret->target)
		ret->upper = ret->target;
	if (ret->lower > ret->target)
		ret->lower = ret->target;
}
