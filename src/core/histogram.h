/* SPDX-License-Identifier: MIT */
/*
 * Decaying histograms of resource usage, after the Kubernetes Vertical Pod Autoscaler:
 * exponential buckets (each `ratio` times wider than the one before), sample weights
 * that double every half-life so old samples fade, percentiles read from the cumulated
 * weights. A usage model on top of it keeps either every sample (CPU) or one peak per
 * window (memory: VPA's daily peaks) and turns percentiles into a target with
 * confidence bounds that are wide while the history is short. doc/policies.md has the maths.
 */
#ifndef VMP_CORE_HISTOGRAM_H
#define VMP_CORE_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#define VMP_HIST_BUCKETS_MAX 256

struct vmp_hist_params {
	double first_bucket;    /* width of bucket 0, in the value's unit (> 0) */
	double ratio;           /* bucket growth, e.g. 1.05 (> 1) */
	double max_value;       /* values above land in the last bucket */
	int64_t half_life_ms;   /* > 0; weights halve every half-life back in time */
};

struct vmp_hist {
	struct vmp_hist_params p;
	unsigned nbuckets;
	int64_t ref_ms;         /* decay reference: a sample at ref_ms has weight × 1 */
	bool has_ref;
	double total;
	double w[VMP_HIST_BUCKETS_MAX];
};

/* Initialises h. Returns 0, or -EINVAL for bad params or more than VMP_HIST_BUCKETS_MAX buckets. */
int vmp_hist_init(struct vmp_hist *h, const struct vmp_hist_params *p);
/* The bucket a value falls into, and where bucket i starts. */
unsigned vmp_hist_bucket(const struct vmp_hist *h, double value);
double vmp_hist_bucket_start(const struct vmp_hist *h, unsigned i);
/* Adds (or removes, for sub) weight at value, as seen at time_ms. Negative values count as 0. */
void vmp_hist_add(struct vmp_hist *h, double value, double weight, int64_t time_ms);
void vmp_hist_sub(struct vmp_hist *h, double value, double weight, int64_t time_ms);
bool vmp_hist_empty(const struct vmp_hist *h);
/*
 * The value below which frac (0..1) of the weight lies: the END of the bucket where the
 * cumulated weight reaches frac × total (so the answer never underestimates by more
 * than one bucket). Returns 0 for an empty histogram.
 */
double vmp_hist_percentile(const struct vmp_hist *h, double frac);

/* A usage history: a histogram plus what is needed for confidence and peak windows. */
struct vmp_usage_model {
	struct vmp_hist hist;
	int64_t peak_window_ms;  /* 0: every sample counts; > 0: one peak per window */
	int64_t window_start_ms;
	double window_peak;
	bool in_window;
	int64_t first_ms, last_ms;
	uint64_t samples;
};

int vmp_usage_model_init(struct vmp_usage_model *m, const struct vmp_hist_params *p,
			 int64_t peak_window_ms);
/* Adds one observation at now_ms (times must not go backwards). */
void vmp_usage_model_add(struct vmp_usage_model *m, double value, double weight, int64_t now_ms);

struct vmp_estimate_params {
	double target_frac;     /* e.g. 0.90 (VPA's target percentile) */
	double lower_frac;      /* e.g. 0.50 */
	double upper_frac;      /* e.g. 0.95 */
	double margin_frac;     /* e.g. 0.15 (VPA's safety margin) */
	double sample_interval_ms; /* expected spacing of samples, for the confidence */
	double upper_conf_mult; /* upper = P(upper) × (1+margin) × (1 + mult/conf); VPA 1.0 */
	double lower_conf_mult; /* lower = P(lower) × (1+margin) × (1 + mult/conf)^-2; VPA 0.001 */
};

struct vmp_estimate {
	double lower, target, upper;
	double confidence_days;   /* min(history span, samples × interval), in days */
};

/*
 * The target (P(target_frac) × (1 + margin)) and its bounds. With no samples, returns
 * all zeros and confidence 0: the caller must treat that as "learning".
 */
void vmp_usage_model_estimate(const struct vmp_usage_model *m,
			      const struct vmp_estimate_params *p, struct vmp_estimate *ret);

#endif
