/* SPDX-License-Identifier: MIT */
/*
 * Host overload detection for dynamic VM consolidation (Beloglazov & Buyya 2012): a
 * static threshold (THR), adaptive thresholds from the median absolute deviation (MAD)
 * and the interquartile range (IQR) of the host's utilisation history, and a forecast
 * by local regression (LR) or robust local regression (LRR). The statistics helpers are
 * exposed for tests. Pure code: inputs in, a verdict out. doc/design/simulator.md has
 * the maths.
 */
#ifndef VMP_OVERLOAD_H
#define VMP_OVERLOAD_H

#include <stdbool.h>
#include <stddef.h>

enum vmp_overload_kind {
	VMP_OVERLOAD_NONE,   /* never overloaded (NPA, DVFS) */
	VMP_OVERLOAD_THR,
	VMP_OVERLOAD_IQR,
	VMP_OVERLOAD_MAD,
	VMP_OVERLOAD_LR,
	VMP_OVERLOAD_LRR,
	VMP_OVERLOAD_MAX,
};

/* History samples LR/LRR regress on, and the minimum MAD/IQR need. */
#define VMP_OVERLOAD_LR_SAMPLES 10
#define VMP_OVERLOAD_ADAPTIVE_MIN 12
/* Threshold of the fallback used while a host's history is too short. */
#define VMP_OVERLOAD_FALLBACK_THR 0.7

/* What a detector looks at for one host. */
struct vmp_overload_input {
	const double *history;   /* host utilisation fractions, newest first */
	size_t nhistory;         /* trailing zeros already trimmed */
	double requested_frac;   /* requested MIPS / host MIPS now */
	double migration_intervals; /* ceil(longest VM migration time / step) for LR */
};

/*
 * true if the host counts as overloaded. param is the threshold (THR) or the safety
 * parameter (IQR, MAD, LR, LRR). cloudsim_compat selects CloudSim 3.0.3's regression
 * (ordinary least squares: its tricube weights are never applied, so LRR equals LR)
 * instead of the weighted local regression of the paper. Short histories fall back to
 * THR 0.7 as CloudSim does. If ret_metric is not NULL it receives the threshold or the
 * prediction compared.
 */
bool vmp_overload_check(enum vmp_overload_kind kind, double param, bool cloudsim_compat,
			const struct vmp_overload_input *in, double *ret_metric);

/* Median (average of the middle two for even n) of x[0..n); x is reordered. n >= 1. */
double vmp_stat_median(double *x, size_t n);
/* Median absolute deviation around the median; x is reordered. */
double vmp_stat_mad(double *x, size_t n);
/* CloudSim's interquartile range: sorted x[round(0.75(n+1))-1] - x[round(0.25(n+1))-1]. */
double vmp_stat_iqr(double *x, size_t n);

/*
 * Straight-line fit y = b0 + b1 x of points (x[i], y[i]) with weights w (NULL = all 1),
 * accumulated as Apache Commons Math's SimpleRegression does when w is NULL (so
 * results match CloudSim bit for bit). Returns false when the fit is undefined.
 */
bool vmp_stat_linear_fit(const double *x, const double *y, const double *w, size_t n,
			 double *ret_b0, double *ret_b1);

/*
 * R² of the least-squares fit of y (m samples) on k regressors plus an intercept;
 * x is column-major (x[c * m + r]). Returns false when there are not more samples than
 * coefficients or the system is singular (CloudSim's MC then falls back to MMT).
 */
bool vmp_stat_ols_r2(const double *x, size_t k, const double *y, size_t m, double *ret_r2);

#endif
