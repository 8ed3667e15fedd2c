/* SPDX-License-Identifier: MIT */
/* Overload detectors and the statistics behind them. See overload.h. */
#include "core/overload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Ascending sort; insertion sort for the short histories detectors see. */
static void
sort_doubles(double *x, size_t n)
{
	size_t i, j;

	if (n > 64) {
		qsort(x, n, sizeof(*x), cmp_double);
		return;
	}
	for (i = 1; i < n; i++) {
		double v = x[i];

		for (j = i; j > 0 && x[j - 1] > v; j--)
			x[j] = x[j - 1];
		x[j] = v;
	}
}

double
vmp_stat_median(double *x, size_t n)
{
	double pos, dif;
	size_t ipos;

	sort_doubles(x, n);
	/* Commons Math's default percentile estimate, p = 50: position (n + 1) / 2 */
	pos = 0.5 * (double)(n + 1);
	ipos = (size_t)floor(pos);
	dif = pos - floor(pos);
	if (pos < 1)
		return x[0];
	if (pos >= (double)n)
		return x[n - 1];
	return x[ipos - 1] + dif * (x[ipos] - x[ipos - 1]);
}

double
vmp_stat_mad(double *x, size_t n)
{
	double med, pos, dif, d, lo = 0, hi = 0;
	size_t ipos, want, k, r;
	long l;

	if (n == 0)
		return 0;
	med = vmp_stat_median(x, n);   /* sorts x */
	if (n == 1)
		return fabs(med - x[0]);
	/*
	 * The median of the deviations |med - x_i| without sorting them again: x is sorted,
	 * so the deviations of the values up to the median grow leftwards and those of the
	 * values above it grow rightwards (rounding is monotone), and merging the two runs
	 * from the median outwards yields the deviations in ascending order. Only the ranks
	 * up to the median's are needed; they are the same values a sort would put there,
	 * so the result is the same to the bit.
	 */
	pos = 0.5 * (double)(n + 1);
	ipos = (size_t)floor(pos);
	dif = pos - floor(pos);
	want = ipos < n ? ipos : n - 1;
	for (r = 0; r < n && x[r] <= med; r++)
		;
	l = (long)r - 1;
	for (k = 0; k <= want; k++) {
		if (r >= n || (l >= 0 && fabs(med - x[l]) <= fabs(med - x[r])))
			d = fabs(med - x[l--]);
		else
			d = fabs(med - x[r++]);
		if (k + 1 == ipos)
			lo = d;
		if (k == ipos)
			hi = d;
	}
	return lo + dif * (hi - lo);   /* n >= 2: pos < n, as in vmp_stat_median() */
}

double
vmp_stat_iqr(double *x, size_t n)
{
	long q1, q3;

	sort_doubles(x, n);
	/* Java's Math.round is floor(v + 0.5) */
	q1 = (long)floor(0.25 * (double)(n + 1) + 0.5) - 1;
	q3 = (long)floor(0.75 * (double)(n + 1) + 0.5) - 1;
	if (q1 < 0)
		q1 = 0;
	if (q3 > (long)n - 1)
		q3 = (long)n - 1;
	return x[q3] - x[q1];
}

bool
vmp_stat_linear_fit(const double *x, const double *y, const double *w, size_t n,
		    double *ret_b0, double *ret_b1)
{
	size_t i;

	if (n < 3)
		return false;
	if (!w) {
		/* Commons Math SimpleRegression: running means and centred sums */
		double xbar = 0, ybar = 0, sxx = 0, sxy = 0, sx = 0, sy = 0, b1;

		for (i = 0; i < n; i++) {
			if (i == 0) {
				xbar = x[i];
				ybar = y[i];
			} else {
				double fact1 = 1.0 + (double)i;
				double fact2 = (double)i / (1.0 + (double)i);
				double dx = x[i] - xbar, dy = y[i] - ybar;

				sxx += dx * dx * fact2;
				sxy += dx * dy * fact2;
				xbar += dx / fact1;
				ybar += dy / fact1;
			}
			sx += x[i];
			sy += y[i];
		}
		if (fabs(sxx) < 10 * 4.9e-324)
			return false;
		b1 = sxy / sxx;
		*ret_b1 = b1;
		*ret_b0 = (sy - b1 * sx) / (double)n;
		return true;
	} else {
		double sw = 0, swx = 0, swy = 0, mx, my, sxx = 0, sxy = 0;

		for (i = 0; i < n; i++) {
			sw += w[i];
			swx += w[i] * x[i];
			swy += w[i] * y[i];
		}
		if (!(sw > 0))
			return false;
		mx = swx / sw;
		my = swy / sw;
		for (i = 0; i < n; i++) {
			sxx += w[i] * (x[i] - mx) * (x[i] - mx);
			sxy += w[i] * (x[i] - mx) * (y[i] - my);
		}
		if (!(sxx > 0))
			return false;
		*ret_b1 = sxy / sxx;
		*ret_b0 = my - *ret_b1 * mx;
		return true;
	}
}

/*
 * The local regression forecast of the paper: a straight line through the last
 * VMP_OVERLOAD_LR_SAMPLES samples (oldest at x = 1), tricube-weighted towards the newest
 * one; robust adds one bisquare reweighting by the residuals. CloudSim's code never
 * applies either weighting, so in compat mode it is ordinary least squares.
 */
static bool
lr_forecast(const struct vmp_overload_input *in, bool robust, bool compat, double *ret)
{
	enum { N = VMP_OVERLOAD_LR_SAMPLES };
	double x[N], y[N], w[N], b0, b1;
	size_t i;

	for (i = 0; i < N; i++) {
		x[i] = (double)(i + 1);
		y[i] = in->history[N - 1 - i];
	}
	if (compat) {
		if (!vmp_stat_linear_fit(x, y, NULL, N, &b0, &b1))
			return false;
	} else {
		for (i = 0; i < N; i++) {
			double d = (double)(N - 1 - i) / (N - 1), t = 1 - d * d * d;

			w[i] = t * t * t;   /* tricube */
		}
		if (!vmp_stat_linear_fit(x, y, w, N, &b0, &b1))
			return false;
		if (robust) {
			double r[N], absr[N], s;

			for (i = 0; i < N; i++) {
				r[i] = y[i] - (b0 + b1 * x[i]);
				absr[i] = fabs(r[i]);
			}
			s = vmp_stat_median(absr, N);
			if (s > 0) {
				for (i = 0; i < N; i++) {
					double u = r[i] / (6 * s);

					w[i] *= fabs(u) < 1 ? (1 - u * u) * (1 - u * u) : 0;
				}
				if (!vmp_stat_linear_fit(x, y, w, N, &b0, &b1))
					return false;
			}
		}
	}
	*ret = b0 + b1 * ((double)N + in->migration_intervals);
	return true;
}

bool
vmp_overload_check(enum vmp_overload_kind kind, double param, bool cloudsim_compat,
		   const struct vmp_overload_input *in, double *ret_metric)
{
	double tmp[64], metric = VMP_OVERLOAD_FALLBACK_THR, pred;
	size_t n = in->nhistory < 64 ? in->nhistory : 64;
	bool over;

	switch (kind) {
	case VMP_OVERLOAD_NONE:
		if (ret_metric)
			*ret_metric = 1;
		return false;
	case VMP_OVERLOAD_THR:
		metric = param;
		break;
	case VMP_OVERLOAD_MAD:
	case VMP_OVERLOAD_IQR:
		if (n < VMP_OVERLOAD_ADAPTIVE_MIN)
			break;
		memcpy(tmp, in->history, n * sizeof(double));
		metric = 1 - param * (kind == VMP_OVERLOAD_MAD ? vmp_stat_mad(tmp, n)
							  : vmp_stat_iqr(tmp, n));
		break;
	case VMP_OVERLOAD_LR:
	case VMP_OVERLOAD_LRR:
		if (n < VMP_OVERLOAD_LR_SAMPLES ||
		    !lr_forecast(in, kind == VMP_OVERLOAD_LRR, cloudsim_compat, &pred))
			break;
		pred *= param;
		if (ret_metric)
			*ret_metric = pred;
		return pred >= 1;
	default:
		break;
	}
	over = in->requested_frac > metric;
	if (ret_metric)
		*ret_metric = metric;
	return over;
}

bool
vmp_stat_ols_r2(const double *x, size_t k, const double *y, size_t m, double *ret_r2)
{
	enum { MAXK = 17 };
	double a[MAXK][MAXK + 1], beta[MAXK], ymean = 0, sst = 0, sse = 0;
	size_t p = k + 1, i, j, r, c;

	if (p > MAXK || m <= p)
		return false;
	/* normal equations X'X b = X'y, column 0 the intercept */
	for (i = 0; i < p; i++) {
		for (j = 0; j <= p; j++) {
			double sum = 0;

			for (r = 0; r < m; r++) {
				double xi = i ? x[(i - 1) * m + r] : 1;
				double xj = j == p ? y[r] : j ? x[(j - 1) * m + r] : 1;

				sum += xi * xj;
			}
			a[i][j] = sum;
		}
	}
	/* Gaussian elimination with partial pivoting */
	for (c = 0; c < p; c++) {
		size_t piv = c;

		for (r = c + 1; r < p; r++)
			if (fabs(a[r][c]) > fabs(a[piv][c]))
				piv = r;
		if (!(fabs(a[piv][c]) > 1e-12))
			return false;
		if (piv != c)
			for (j = 0; j <= p; j++) {
				double t = a[c][j];

				a[c][j] = a[piv][j];
				a[piv][j] = t;
			}
		for (r = c + 1; r < p; r++) {
			double f = a[r][c] / a[c][c];

			for (j = c; j <= p; j++)
				a[r][j] -= f * a[c][j];
		}
	}
	for (i = p; i-- > 0;) {
		double sum = a[i][p];

		for (j = i + 1; j < p; j++)
			sum -= a[i][j] * beta[j];
		beta[i] = sum / a[i][i];
	}
	for (r = 0; r < m; r++)
		ymean += y[r];
	ymean /= (double)m;
	for (r = 0; r < m; r++) {
		double pred = beta[0];

		for (j = 1; j < p; j++)
			pred += beta[j] * x[(j - 1) * m + r];
		sse += (y[r] - pred) * (y[r] - pred);
		sst += (y[r] - ymean) * (y[r] - ymean);
	}
	*ret_r2 = sst > 0 ? 1 - sse / sst : 0;
	return true;
}
