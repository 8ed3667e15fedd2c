/* SPDX-License-Identifier: MIT */
/* The VPA and Autopilot baselines of `vmpilot replay` (see baseline.h, doc/replay.md). */
#include "core/baseline.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define MIN_MS (60ll * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24.0 * HOUR_MS)
/* VPA counts memory in bytes; this code in KiB. */
#define BYTES_KIB (1.0 / 1024.0)

void
vmp_vpa_params_default(struct vmp_vpa_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mem_hist.first_bucket = 1e7 * BYTES_KIB;
	p->mem_hist.ratio = 1.05;
	p->mem_hist.max_value = 1e12 * BYTES_KIB;
	p->mem_hist.half_life_ms = 24 * HOUR_MS;
	p->cpu_hist.first_bucket = 0.001;
	p->cpu_hist.ratio = 1.05;
	p->cpu_hist.max_value = 1000;
	p->cpu_hist.half_life_ms = 24 * HOUR_MS;
	p->mem_window_ms = 24 * HOUR_MS;
	p->target_frac = 0.90;
	p->lower_frac = 0.50;
	p->upper_frac = 0.95;
	p->margin_frac = 0.15;
	p->upper_conf_mult = 1.0;
	p->lower_conf_mult = 0.001;
	p->samples_per_day = 60 * 24;
	p->min_mem_kib = 250.0 * 1024;
	p->min_cpu_cores = 0.025;
	p->min_cpu_weight = 0.1;
	p->oom_bump_ratio = 1.2;
	p->oom_min_bump_kib = 100.0 * 1024;
	p->lifetime_update_ms = 12 * HOUR_MS;
	p->min_change_priority = 0.10;
	p->evict_after_oom_ms = 10 * MIN_MS;
}

int
vmp_vpa_state_init(struct vmp_vpa_state *s, const struct vmp_vpa_params *p)
{
	struct vmp_usage_model mem, cpu;
	int rc;

	rc = vmp_usage_model_init(&mem, &p->mem_hist, p->mem_window_ms);
	if (rc < 0)
		return rc;
	rc = vmp_usage_model_init(&cpu, &p->cpu_hist, 0);
	if (rc < 0)
		return rc;
	memset(s, 0, sizeof(*s));
	s->mem = mem;
	s->cpu = cpu;
	return 0;
}

static double
clamp(double v, double lo, double hi)
{
	if (v > hi)
		v = hi;
	if (v < lo)
		v = lo;
	return v;
}

/*
 * VPA's estimator chain for one resource: percentile × (1 + margin), the confidence
 * multipliers on the bounds, the minimum per pod, then the VPA's min/max allowed.
 */
static void
estimate(const struct vmp_vpa_params *p, const struct vmp_hist *h, double conf, double min_rec,
	 double lo, double hi, double *t, double *l, double *u)
{
	double scale = 1.0 + p->margin_frac;

	*t = vmp_hist_percentile(h, p->target_frac) * scale;
	*l = vmp_hist_percentile(h, p->lower_frac) * scale;
	*u = vmp_hist_percentile(h, p->upper_frac) * scale;
	if (conf > 0) {
		*u *= 1.0 + p->upper_conf_mult / conf;
		*l *= pow(1.0 + p->lower_conf_mult / conf, -2.0);
	} else {
		*u = INFINITY;
		*l = 0;
	}
	*t = clamp(fmax(*t, min_rec), lo, hi);
	*l = clamp(fmax(*l, min_rec), lo, hi);
	*u = clamp(fmax(*u, min_rec), lo, hi);
}

int
vmp_vpa_step(const struct vmp_vpa_params *p, struct vmp_vpa_state *s,
	     const struct vmp_vpa_input *in, int64_t now_ms, uint64_t *ret_mem_kib,
	     unsigned *ret_vcpus, struct vmp_vpa_recommendation *rec)
{
	struct vmp_vpa_recommendation r;
	double conf, used, need, mem_req, cpu_req, want_v;
	unsigned vcpus;
	uint64_t mem;

	if (in->mem_kib == 0 || in->vcpus == 0 || in->mem_max_kib < in->mem_min_kib ||
	    in->vcpus_max == 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	if (!s->started) {
		s->started = true;
		s->pod_start_ms = now_ms;
		s->first_ms = now_ms;
	}
	mem_req = (double)in->mem_kib;
	cpu_req = (double)in->vcpus;

	/* Recommender: CPU samples weighted by the request; they alone count for confidence. */
	vmp_usage_model_add(&s->cpu, in->cpu_cores, fmax(cpu_req, p->min_cpu_weight), now_ms);
	s->cpu_samples++;
	s->last_ms = now_ms;
	/* Memory: the window's peak of the observed use ... */
	vmp_usage_model_add(&s->mem, in->mem_used_kib, 1.0, now_ms);
	if (in->oom) {
		/*
		 * ... and after an OOM an artificial sample: max(request, window peak), bumped
		 * by max(+100 MiB, × 1.2), within maxAllowed. It goes into the histogram like
		 * a peak, so the 15 % margin applies on top of it when the target is read.
		 */
		used = fmax(mem_req, s->mem.in_window ? s->mem.window_peak : 0);
		used = fmin(used, (double)in->mem_max_kib);
		need = fmax(used + p->oom_min_bump_kib, used * p->oom_bump_ratio);
		need = fmin(need, (double)in->mem_max_kib);
		vmp_usage_model_add(&s->mem, need, 1.0, now_ms);
	}
	conf = fmin((double)(s->last_ms - s->first_ms) / DAY_MS,
		    (double)s->cpu_samples / p->samples_per_day);
	r.confidence_days = conf;
	estimate(p, &s->mem.hist, conf, p->min_mem_kib, (double)in->mem_min_kib,
		 (double)in->mem_max_kib, &r.mem_target, &r.mem_lower, &r.mem_upper);
	estimate(p, &s->cpu.hist, conf, p->min_cpu_cores, 0, (double)in->vcpus_max,
		 &r.cpu_target, &r.cpu_lower, &r.cpu_upper);

	/* Updater (priority_processor, update_priority_calculator). */
	r.outside_range = mem_req < r.mem_lower || mem_req > r.mem_upper ||
			  cpu_req < r.cpu_lower || cpu_req > r.cpu_upper;
	/* A VM gets whole vCPUs: the CPU request it can be given is ceil(target). */
	want_v = clamp(ceil(r.cpu_target - 1e-9), 1, in->vcpus_max);
	r.resource_diff = fabs(r.mem_target - mem_req) / fmax(mem_req, 1) +
			  fabs(want_v - cpu_req) / fmax(cpu_req, 1);
	r.quick_oom = in->oom && now_ms - s->pod_start_ms < p->evict_after_oom_ms;
	if (rec)
		*rec = r;
	if (!r.outside_range && !r.quick_oom &&
	    (now_ms - s->pod_start_ms < p->lifetime_update_ms ||
	     r.resource_diff < p->min_change_priority))
		return 0;
	mem = (uint64_t)r.mem_target;
	vcpus = (unsigned)want_v;
	if (mem == in->mem_kib && vcpus == in->vcpus)
		return 0;
	/* The eviction recreates the pod: its lifetime starts again. */
	s->pod_start_ms = now_ms;
	*ret_mem_kib = mem;
	*ret_vcpus = vcpus;
	return 1;
}

/* ---- Autopilot ---- */

static void
ap_common(struct vmp_ap_params *p)
{
	static const int64_t hl_h[] = { 1, 3, 6, 12, 24, 48 };
	static const double margins[] = { 0, 0.05, 0.10, 0.20, 0.30, 0.50 };
	unsigned i;

	p->ndecays = sizeof(hl_h) / sizeof(hl_h[0]);
	for (i = 0; i < p->ndecays; i++)
		p->half_life_ms[i] = hl_h[i] * HOUR_MS;
	p->nmargins = sizeof(margins) / sizeof(margins[0]);
	for (i = 0; i < p->nmargins; i++)
		p->margin_frac[i] = margins[i];
	p->w_u = 1.0;
	p->w_dl = 0.05;
	p->w_dm = 0.05;
	p->cost_half_life_ms = 24 * HOUR_MS;
}

void
vmp_ap_params_memory(struct vmp_ap_params *p)
{
	memset(p, 0, sizeof(*p));
	p->hist.first_bucket = 1e7 * BYTES_KIB;
	p->hist.ratio = 1.05;
	p->hist.max_value = 1e12 * BYTES_KIB;
	p->hist.half_life_ms = 24 * HOUR_MS;
	ap_common(p);
	/* Memory overruns are OOMs: far costlier than slack. */
	p->w_o = 3000.0;
}

void
vmp_ap_params_cpu(struct vmp_ap_params *p)
{
	memset(p, 0, sizeof(*p));
	p->hist.first_bucket = 0.001;
	p->hist.ratio = 1.05;
	p->hist.max_value = 1000;
	p->hist.half_life_ms = 24 * HOUR_MS;
	ap_common(p);
	/* CPU overruns are throttling: recoverable, so cheaper than an OOM. */
	p->w_o = 3.0;
}

int
vmp_ap_state_init(struct vmp_ap_state *s, const struct vmp_ap_params *p)
{
	struct vmp_hist_params hp = p->hist;
	unsigned d;
	int rc;

	if (p->ndecays == 0 || p->ndecays > VMP_AP_DECAYS_MAX || p->nmargins == 0 ||
	    p->nmargins > VMP_AP_MARGINS_MAX || p->cost_half_life_ms <= 0)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	for (d = 0; d < p->ndecays; d++) {
		hp.half_life_ms = p->half_life_ms[d];
		rc = vmp_hist_init(&s->h[d], &hp);
		if (rc < 0)
			return rc;
	}
	/* A sample in bucket j stands for its midpoint; a limit is a bucket's end. */
	for (d = 0; d < s->h[0].nbuckets; d++) {
		s->end[d] = vmp_hist_bucket_start(&s->h[0], d + 1);
		s->mid[d] = 0.5 * (vmp_hist_bucket_start(&s->h[0], d) + s->end[d]);
	}
	return 0;
}

/*
 * L'_m: the bucket end minimising w_o × overrun + w_u × underrun + w_dl × [changed], over
 * one decaying histogram. overrun = weight above L / total; underrun = Σ w (L − v)+ /
 * Σ w v (slack relative to the mean use, so VMs of any size weigh alike).
 */
static double
ap_best_limit(const struct vmp_ap_params *p, const struct vmp_ap_state *s,
	      const struct vmp_hist *h, double prev)
{
	double total = h->total, stot = 0, wle = 0, sle = 0, best = 0, best_cost = INFINITY;
	unsigned j;

	for (j = 0; j < h->nbuckets; j++)
		stot += h->w[j] * s->mid[j];
	if (!(total > 0) || !(stot > 0))
		return prev;
	for (j = 0; j < h->nbuckets; j++) {
		double lim = s->end[j], cost;

		wle += h->w[j];
		sle += h->w[j] * s->mid[j];
		if (h->w[j] <= 0 && wle <= 0)
			continue;
		cost = p->w_o * (total - wle) / total + p->w_u * (lim * wle - sle) / stot;
		if (lim != prev)
			cost += p->w_dl;
		if (cost < best_cost) {
			best_cost = cost;
			best = lim;
		}
		if (wle >= total * (1 - 1e-12))
			break;
	}
	return best;
}

double
vmp_ap_step(const struct vmp_ap_params *p, struct vmp_ap_state *s, double usage, int64_t now_ms)
{
	double decay, best = INFINITY;
	unsigned d, m, bd = 0, bm = 0;

	if (usage < 0)
		usage = 0;
	decay = s->started ? exp2(-(double)(now_ms - s->last_ms) / (double)p->cost_half_life_ms) : 0;
	s->mean_usage = s->started ? decay * s->mean_usage + (1 - decay) * usage : usage;
	/* Each model pays for the limit it recommended last time, against this sample. */
	if (s->started) {
		for (d = 0; d < p->ndecays; d++)
			for (m = 0; m < p->nmargins; m++) {
				double lim = s->limit[d][m], e;

				e = p->w_o * (usage > lim ? 1.0 : 0.0);
				if (s->mean_usage > 0)
					e += p->w_u * fmax(lim - usage, 0) / s->mean_usage;
				if (lim != s->prev_limit[d][m])
					e += p->w_dl;
				s->cost[d][m] = decay * s->cost[d][m] + (1 - decay) * e;
			}
	}
	s->last_ms = now_ms;
	for (d = 0; d < p->ndecays; d++) {
		vmp_hist_add(&s->h[d], usage, 1.0, now_ms);
		s->raw_limit[d] = ap_best_limit(p, s, &s->h[d], s->raw_limit[d]);
		for (m = 0; m < p->nmargins; m++) {
			s->prev_limit[d][m] = s->limit[d][m];
			s->limit[d][m] = s->raw_limit[d] * (1 + p->margin_frac[m]);
		}
	}
	if (!s->started) {
		s->started = true;
		/* No history to judge the models by: start with the longest, widest. */
		s->chosen_d = p->ndecays - 1;
		s->chosen_m = p->nmargins - 1;
		s->current = s->limit[s->chosen_d][s->chosen_m];
		return fmax(s->current, usage);
	}
	for (d = 0; d < p->ndecays; d++)
		for (m = 0; m < p->nmargins; m++) {
			double c = s->cost[d][m];

			if (d != s->chosen_d || m != s->chosen_m)
				c += p->w_dm;
			if (s->limit[d][m] != s->current)
				c += p->w_dl;
			if (c < best) {
				best = c;
				bd = d;
				bm = m;
			}
		}
	s->chosen_d = bd;
	s->chosen_m = bm;
	s->current = s->limit[bd][bm];
	return fmax(s->current, usage);
}
