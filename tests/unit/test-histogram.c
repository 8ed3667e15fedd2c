/* SPDX-License-Identifier: MIT */
/* Tests of the decaying histograms and usage models (src/core/histogram.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>

#include "core/histogram.h"

#define HOUR_MS (3600ll * 1000)
#define DAY_MS (24 * HOUR_MS)

static const struct vmp_hist_params mem_params = {
	.first_bucket = 10240, .ratio = 1.05, .max_value = 1073741824.0, .half_life_ms = DAY_MS,
};

static void
test_bucket_geometry(void **state)
{
	struct vmp_hist h;
	unsigned i;

	assert_int_equal(vmp_hist_init(&h, &mem_params), 0);
	/* VPA's memory histogram (10 MB .. 1 TB, 5 %) has 176-177 buckets. */
	assert_in_range(h.nbuckets, 170, 180);
	assert_true(vmp_hist_bucket_start(&h, 0) == 0);
	assert_true(fabs(vmp_hist_bucket_start(&h, 1) - 10240) < 1e-6);
	/* Each bucket is 5 % wider than the one before. */
	for (i = 1; i + 2 < h.nbuckets; i++) {
		double w0 = vmp_hist_bucket_start(&h, i) - vmp_hist_bucket_start(&h, i - 1);
		double w1 = vmp_hist_bucket_start(&h, i + 1) - vmp_hist_bucket_start(&h, i);

		assert_true(fabs(w1 / w0 - 1.05) < 1e-9);
		/* A value lands in the bucket that contains it, also at the edges. */
		assert_int_equal(vmp_hist_bucket(&h, vmp_hist_bucket_start(&h, i)), i);
		assert_int_equal(vmp_hist_bucket(&h, vmp_hist_bucket_start(&h, i + 1) - 0.5), i);
	}
	assert_int_equal(vmp_hist_bucket(&h, 1e300), h.nbuckets - 1);
	assert_int_equal(vmp_hist_bucket(&h, -5), 0);
}

static void
test_bad_params(void **state)
{
	struct vmp_hist h;
	struct vmp_hist_params p = mem_params;

	p.ratio = 1.0;
	assert_int_equal(vmp_hist_init(&h, &p), -EINVAL);
	p = mem_params;
	p.half_life_ms = 0;
	assert_int_equal(vmp_hist_init(&h, &p), -EINVAL);
	p = mem_params;
	p.ratio = 1.001; /* far too many buckets */
	assert_int_equal(vmp_hist_init(&h, &p), -EINVAL);
}

static void
test_percentile_is_bucket_end(void **state)
{
	struct vmp_hist h;
	double p50, p90;
	int i;

	assert_int_equal(vmp_hist_init(&h, &mem_params), 0);
	assert_true(vmp_hist_percentile(&h, 0.9) == 0);
	/*
	 * 100 samples 1..100 GiB at the same time: P90 is the end of 90 GiB's bucket, which
	 * is at most 5 % (plus the first bucket's width) above it.
	 */
	for (i = 1; i <= 100; i++)
		vmp_hist_add(&h, i * 1048576.0, 1.0, 0);
	p90 = vmp_hist_percentile(&h, 0.90);
	p50 = vmp_hist_percentile(&h, 0.50);
	assert_true(p90 > 90 * 1048576.0);
	assert_true(p90 <= 90 * 1048576.0 * 1.05 + 10240);
	assert_true(p50 > 50 * 1048576.0 && p50 <= 50 * 1048576.0 * 1.05 + 10240);
	assert_true(p90 < 91 * 1048576.0 * 1.05);
	assert_true(vmp_hist_percentile(&h, 1.0) >= 100 * 1048576.0);
}

static void
test_half_life(void **state)
{
	struct vmp_hist h;

	assert_int_equal(vmp_hist_init(&h, &mem_params), 0);
	/* One sample of 1 GiB a day ago and one of 100 MiB now: the new one weighs twice. */
	vmp_hist_add(&h, 1048576.0, 1.0, 0);
	vmp_hist_add(&h, 102400.0, 1.0, DAY_MS);
	assert_true(fabs(h.total - 3.0) < 1e-9);
	/* P60: 2/3 of the weight is at 100 MiB, so it is there and not at 1 GiB. */
	assert_true(vmp_hist_percentile(&h, 0.60) < 102400.0 * 1.15);
	assert_true(vmp_hist_percentile(&h, 0.70) > 1000000.0);
	/* A year later, the reference moves without overflow and old weight vanishes. */
	vmp_hist_add(&h, 51200.0, 1.0, 365 * DAY_MS);
	assert_true(isfinite(h.total));
	assert_true(vmp_hist_percentile(&h, 0.99) < 60000.0);
}

static void
test_peak_window(void **state)
{
	struct vmp_usage_model m;
	int i;

	assert_int_equal(vmp_usage_model_init(&m, &mem_params, DAY_MS), 0);
	/* 24 hourly samples with one peak: the day counts once, at its peak. */
	for (i = 0; i < 24; i++)
		vmp_usage_model_add(&m, i == 7 ? 800000.0 : 100000.0, 1.0, i * HOUR_MS);
	assert_true(fabs(m.hist.total - 1.0) < 1e-9);
	assert_true(vmp_hist_percentile(&m.hist, 0.01) >= 800000.0);
	assert_int_equal(m.samples, 24);
	/* Next day starts a new peak. */
	vmp_usage_model_add(&m, 50000.0, 1.0, DAY_MS);
	assert_true(m.hist.total > 1.5);
}

static void
test_confidence_widens_bounds(void **state)
{
	struct vmp_usage_model m;
	struct vmp_estimate_params ep = {
		.target_frac = 0.9, .lower_frac = 0.5, .upper_frac = 0.95, .margin_frac = 0.15,
		.sample_interval_ms = 300000, .upper_conf_mult = 1.0, .lower_conf_mult = 0.001,
	};
	struct vmp_estimate e1, e2;
	int i;

	assert_int_equal(vmp_usage_model_init(&m, &mem_params, 0), 0);
	vmp_usage_model_estimate(&m, &ep, &e1);
	assert_true(e1.target == 0 && e1.confidence_days == 0);
	for (i = 0; i < 12; i++) /* one hour of 5-minute samples */
		vmp_usage_model_add(&m, 500000.0, 1.0, i * 300000ll);
	vmp_usage_model_estimate(&m, &ep, &e1);
	for (; i < 288 * 2; i++) /* two days */
		vmp_usage_model_add(&m, 500000.0, 1.0, i * 300000ll);
	vmp_usage_model_estimate(&m, &ep, &e2);
	/* Target: P90 × 1.15 of a constant 500000 KiB, within one bucket. */
	assert_true(e2.target >= 500000.0 * 1.15 && e2.target <= 500000.0 * 1.15 * 1.05);
	assert_true(fabs(e1.target - e2.target) < 1e-6);
	assert_true(e1.confidence_days < 0.05 && e2.confidence_days > 1.9);
	/* VPA: upper = P95 × 1.15 × (1 + 1/confidence): far wider with one hour of history. */
	assert_true(e1.upper > 10 * e2.target);
	assert_true(e2.upper < 1.6 * e2.target);
	assert_true(e1.lower <= e2.lower);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_geometry),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_percentile_is_bucket_end),
		cmocka_unit_test(test_half_life),
		cmocka_unit_test(test_peak_window),
		cmocka_unit_test(test_confidence_widens_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
