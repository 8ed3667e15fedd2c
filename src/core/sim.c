/* SPDX-License-Identifier: MIT */
/*
 * The simulator engine. It mirrors CloudSim 3.0.3's object model closely enough to
 * reproduce its numbers: each host keeps an ordered VM list (including VMs migrating
 * in), a time-shared over-subscribable CPU scheduler, its utilisation before and after
 * the last update, and a state history that is folded into the SLA sums as it grows.
 * doc/design/simulator.md explains every rule and where it comes from.
 */
#include "core/sim.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HIST_LEN 30          /* PowerVm.HISTORY_LENGTH */
#define LR_MAX_MI 16         /* migration intervals the LR fast path covers */
#define EVENT_OFFSET_S 0.1   /* CloudSim's minimum time between events */

const struct vmp_sim_policy vmp_sim_policies[] = {
	{ "npa", "no power awareness: all hosts always at full power", VMP_SIM_NPA,
	  VMP_OVERLOAD_NONE, 0, VMP_SEL_MMT },
	{ "dvfs", "power follows load, no migrations", VMP_SIM_DVFS, VMP_OVERLOAD_NONE, 0,
	  VMP_SEL_MMT },
	{ "thr-mmt-1.0", "static threshold 100 %, minimum migration time", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_THR, 1.0, VMP_SEL_MMT },
	{ "thr-mmt-0.8", "static threshold 80 %, minimum migration time", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_THR, 0.8, VMP_SEL_MMT },
	{ "iqr-mmt-1.5", "interquartile range, safety 1.5, minimum migration time",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_IQR, 1.5, VMP_SEL_MMT },
	{ "mad-mmt-2.5", "median absolute deviation, safety 2.5, minimum migration time",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_MAD, 2.5, VMP_SEL_MMT },
	{ "lr-mmt-1.2", "local regression, safety 1.2, minimum migration time",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_LR, 1.2, VMP_SEL_MMT },
	{ "lrr-mmt-1.2", "robust local regression, safety 1.2, minimum migration time",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_LRR, 1.2, VMP_SEL_MMT },
	{ "thr-mu-0.8", "static threshold 80 %, minimum utilisation", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_THR, 0.8, VMP_SEL_MU },
	{ "iqr-mu-1.5", "interquartile range, safety 1.5, minimum utilisation",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_IQR, 1.5, VMP_SEL_MU },
	{ "mad-mu-2.5", "median absolute deviation, safety 2.5, minimum utilisation",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_MAD, 2.5, VMP_SEL_MU },
	{ "lr-mu-1.2", "local regression, safety 1.2, minimum utilisation", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_LR, 1.2, VMP_SEL_MU },
	{ "lrr-mu-1.2", "robust local regression, safety 1.2, minimum utilisation",
	  VMP_SIM_MIGRATE, VMP_OVERLOAD_LRR, 1.2, VMP_SEL_MU },
	{ "thr-mc-0.8", "static threshold 80 %, maximum correlation", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_THR, 0.8, VMP_SEL_MC },
	{ "lr-mc-1.2", "local regression, safety 1.2, maximum correlation", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_LR, 1.2, VMP_SEL_MC },
	{ "thr-rs-0.8", "static threshold 80 %, random selection", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_THR, 0.8, VMP_SEL_RS },
	{ "lr-rs-1.2", "local regression, safety 1.2, random selection", VMP_SIM_MIGRATE,
	  VMP_OVERLOAD_LR, 1.2, VMP_SEL_RS },
	/* run by core/simrun.c with core/pilot.c deciding between steps */
	{ "vmpilot", "vmpilot's own: decayed forecasts, cheapest relief, hysteresis, budget",
	  VMP_SIM_EXTERNAL, VMP_OVERLOAD_NONE, 0, VMP_SEL_MMT },
	{ NULL, NULL, 0, 0, 0, 0 },
};

const struct vmp_sim_policy *
vmp_sim_policy_find(const char *name)
{
	const struct vmp_sim_policy *p;

	for (p = vmp_sim_policies; p->name; p++)
		if (strcasecmp(p->name, name) == 0)
			return p;
	return NULL;
}

void
vmp_sim_config_default(struct vmp_sim_config *cfg)
{
	static const struct vmp_sim_vm_type vms[4] = {
		{ 2500, 870, 100000 }, { 2000, 1740, 100000 },
		{ 1000, 1740, 100000 }, { 500, 613, 100000 },
	};

	memset(cfg, 0, sizeof(*cfg));
	cfg->nhosts = 800;
	cfg->nhost_types = 2;
	cfg->host_types[0] = (struct vmp_sim_host_type){ 1860, 2, 4096, 1000000,
							 &vmp_power_hp_ml110_g4 };
	cfg->host_types[1] = (struct vmp_sim_host_type){ 2660, 2, 4096, 1000000,
							 &vmp_power_hp_ml110_g5 };
	cfg->nvm_types = 4;
	memcpy(cfg->vm_types, vms, sizeof(vms));
	cfg->step_s = 300;
	cfg->host_storage_mb = 1000000;
	cfg->vm_size_mb = 2500;
	cfg->cloudsim_compat = false;
}

/* The last state-history entry of a host or VM; earlier ones are folded into sums. */
struct entry {
	double time, alloc, req;
	bool flag;      /* host: active; VM: in migration (seen from its source) */
	bool has;
};

struct slot {
	uint32_t vm;
	bool in;        /* the VM is migrating in: it is in the host's min list */
	double sreq;    /* requested MIPS at the last allocation */
	double alloc;   /* allocated MIPS */
};

struct host {
	const struct vmp_sim_host_type *type;
	double total_mips;
	struct slot *slots;
	uint32_t n, cap;
	uint32_t *min;          /* VMs migrating in, in arrival order */
	uint32_t nmin, capmin;
	double avail;
	bool ra_ok;             /* host_realloc() fitted every request and nothing it read
				 * changed since: host_create() may append (host_append) */
	double alloc_mips;      /* getUtilizationOfCpuMips of the policy, kept by realloc */
	double util_mips, prev_util_mips;
	double power_w;         /* power at util_mips, kept by host_update */
	double ram_used, bw_used, storage_used;   /* checked only at instantiation */
	/* cached utilisation history (sum over VMs, in list order) */
	double hist[HIST_LEN];
	uint32_t nhist;
	double req_sum, max_ram;
	bool hist_valid;
	double lr_dot;          /* the LR fast path's forecast of hist, for lr_mi */
	uint32_t lr_mi;         /* NONE: not computed for this history */
	uint8_t ord[HIST_LEN];  /* MAD, IQR: indices of hist in ascending order (hist_ord) */
	bool ord_ok;            /* ord computed since hist was last summed afresh */
	/* planning: saved copy for copy-on-write restore */
	bool saved;
	struct slot *save_slots;
	uint32_t save_n;
	double save_avail;
	/* SLA accounting */
	struct entry last;
	bool fin_active;        /* isActive of the last finalised entry (starts true) */
	double last_on_s;
	double acc_t;           /* continuous accounting done up to here */
	bool ev_on;             /* "on" as last reported to on_event */
	/* planning marks */
	uint8_t excl_under, excl_place, over;
	bool dirty;             /* VM list changed since its last update */
	/* placement index (see find_host) */
	uint8_t tidx;           /* index of its type in the config */
	bool in_pidx;           /* in its type's x-ordered list */
	double ix;              /* its key there: alloc_mips / total_mips */
};

struct vm {
	double mips, ram, bw;
	int32_t host;           /* the host the allocation table maps it to, -1 if none */
	int32_t mig_to;         /* destination of its latest migration in flight, or -1 */
	bool in_mig, alive, created, instantiating;
	double req;             /* current requested MIPS */
	double req_time;        /* time req was computed for */
	double hist[HIST_LEN];  /* utilisation fractions, newest first */
	uint32_t nhist;
	uint32_t nhist_nz;      /* nhist without trailing zeros */
	double hist_time;
	double lr_dot, lr_time; /* the LR fast path's forecast of hist at hist_time, for lr_mi */
	uint32_t lr_mi;
	struct entry last;
	bool fin_mig;
	double last_mig_end_s;
	double tot_req, tot_alloc, under_mig;
	double acc_req, acc_unserved;   /* continuous accounting, MIPS s */
};

struct event {
	double time;
	uint32_t vm, host;
	uint64_t seq;
};

struct pair {
	uint32_t vm, host;
};

#define NONE UINT32_MAX

/*
 * What the placement index reads of a host for most hosts it visits, kept beside its
 * position so that the scan reads memory in order (pidx_set_hot copies them from the
 * host whenever the host's place or these fields change while the index is kept).
 */
struct hot {
	double ix;              /* host->ix */
	double alloc_mips;      /* host->alloc_mips */
	double power_w;         /* host->power_w */
};

/*
 * The placement index of one host type: busy hosts ordered by their allocated fraction
 * x (then by number), and idle hosts (no VM, off) by number.
 */
struct pindex {
	uint32_t *order;
	size_t n;
	struct hot *hot;        /* per position of order: copies of its host's fields */
	double pw_delta[10];    /* vmp_power_watts()'s slope of each segment, and */
	double pw_lo10[10];     /* its start, precomputed: see may_beat() */
	double pw_grid[11];     /* vmp_power_watts() at k / 10: see pidx_watts() */
	uint32_t *idle;
	size_t nidle, idle_cur;
};

struct vmp_sim {
	struct vmp_sim_config cfg;
	struct vmp_sim_policy pol;
	const float *pct;
	size_t nsteps;
	size_t nvms, nhosts;
	struct vm *vms;
	struct host *hosts;
	double clock, last_process, limit_s;
	uint64_t nstep;
	double next_event;
	double energy_ws;
	/* time_prepare() cache */
	double tc_time, tc_den, tc_off;
	long tc_k1, tc_k2;
	bool tc_exact, tc_sample;
	uint64_t migrations;
	/* migration completion events, kept sorted by (time, seq) */
	struct event *ev;
	size_t ev_head, nev, capev;  /* pending events are ev[ev_head..nev) */
	bool ev_sorted;
	uint64_t seq;
	/* SLA sums */
	double sla_time, sla_viol;
	const float *mem_pct;
	struct vmp_sim_acct acct;       /* continuous sums (per-VM parts in struct vm) */
	bool acct_done;
	double *acct_r;                 /* acct_piece() scratch: demand at both ends per slot */
	size_t acct_cap;
	double shutdown_sum;
	uint64_t shutdowns;
	double mig_wait_sum;
	uint64_t mig_waits;
	uint64_t vms_created, vms_completed;
	/* scratch */
	uint32_t *scratch_vms;
	struct pair *plan;
	size_t nplan, capplan;
	uint32_t *saved_hosts;
	size_t nsaved;
	uint32_t *cand;         /* under-load candidates by utilisation */
	uint32_t *scratch_hosts;
	struct vmp_sim_series series;
	size_t capseries;
	struct pindex pidx[VMP_SIM_MAX_TYPES];
	bool pidx_on;           /* maintained while placing */
	bool idle_excluded;     /* under-load phase: every idle host is excluded */
	double lr_c[LR_MAX_MI][VMP_OVERLOAD_LR_SAMPLES]; /* lr_coeffs() */
	bool lr_c_ok[LR_MAX_MI];
	uint64_t rng;           /* random selection state */
	uint8_t *in_mig;        /* vms[v].in_mig, packed: read per slot by host_realloc */
	uint32_t search;        /* find_host_indexed() calls, numbering rej[] */
	uint32_t *rej;          /* per host: the search that found it no destination */
};

static void *
grow(void *p, size_t *cap, size_t want, size_t size)
{
	size_t n;

	if (want <= *cap)
		return p;
	n = *cap ? *cap * 2 : 16;
	while (n < want)
		n *= 2;
	p = realloc(p, n * size);
	if (!p)
		abort();
	*cap = n;
	return p;
}

static void *
zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

/* ------------------------------------------------------------------ demand ---- */

static inline double
sample(const struct vmp_sim *s, size_t v, long k)
{
	if (k >= (long)s->nsteps)
		k = (long)s->nsteps - 1;
	if (k < 0)
		k = 0;
	/* Java: Integer.valueOf(line) / 100.0 */
	return (double)s->pct[v * s->nsteps + (size_t)k] / 100.0;
}

/*
 * Where time falls between trace samples, computed once per time for all VMs:
 * UtilizationModelPlanetLabInMemory.getUtilization's k1, k2 and offsets.
 */
static void
time_prepare(struct vmp_sim *s, double time)
{
	double step = s->cfg.step_s, q;

	if (s->tc_time == time)
		return;
	s->tc_time = time;
	/* time % step == 0 in Java: an exact multiple (times are positive, < 2^53) */
	q = floor(time / step);
	s->tc_exact = q * step == time;
	s->tc_k1 = (long)floor(time / step);
	s->tc_k2 = (long)ceil(time / step);
	if (s->tc_exact)
		s->tc_k1 = s->tc_k2 = (long)time / (long)step;
	s->tc_den = (double)(s->tc_k2 - s->tc_k1) * step;
	s->tc_off = time - (double)s->tc_k1 * step;
	q = floor((time - EVENT_OFFSET_S) / step);
	s->tc_sample = q * step == time - EVENT_OFFSET_S;
}

/* UtilizationModelPlanetLabInMemory.getUtilization: linear between samples. */
static double
vm_util_at(struct vmp_sim *s, size_t v, double time)
{
	double u1, u2, delta;

	time_prepare(s, time);
	u1 = sample(s, v, s->tc_k1);
	if (s->tc_exact)
		return u1;
	u2 = sample(s, v, s->tc_k2);
	delta = (u2 - u1) / s->tc_den;
	return u1 + delta * s->tc_off;
}

/* PowerVm.updateVmProcessing: demand now, and one history sample per step. */
static void
vm_update(struct vmp_sim *s, uint32_t v, double t)
{
	struct vm *vm = &s->vms[v];
	double u;

	if (vm->req_time == t)
		return;
	u = vm_util_at(s, v, t);
	vm->req = u * vm->mips;
	vm->req_time = t;
	vm->instantiating = false;
	if (t > vm->hist_time && s->tc_sample) {
		memmove(vm->hist + 1, vm->hist, (HIST_LEN - 1) * sizeof(double));
		vm->hist[0] = u;
		if (vm->nhist < HIST_LEN)
			vm->nhist++;
		vm->hist_time = t;
		/* MathUtil.trimZeroTail: the length up to the oldest non-zero sample */
		for (vm->nhist_nz = vm->nhist; vm->nhist_nz > 0; vm->nhist_nz--)
			if (vm->hist[vm->nhist_nz - 1] != 0)
				break;
	}
}

/* ---------------------------------------------------------------- accounting -- */

static void
host_entry(struct vmp_sim *s, struct host *h, double t, double alloc, double req, bool active)
{
	if (h->last.has && h->last.time != t) {
		double dt = t - h->last.time;

		/* the previous entry is final: fold it into the sums */
		if (h->last.flag) {
			s->sla_time += dt;
			if (h->last.alloc < h->last.req)
				s->sla_viol += dt;
		}
		if (h->fin_active && !h->last.flag) {
			s->shutdown_sum += h->last.time - h->last_on_s;
			s->shutdowns++;
		}
		if (!h->fin_active && h->last.flag)
			h->last_on_s = h->last.time;
		h->fin_active = h->last.flag;
	}
	h->last = (struct entry){ t, alloc, req, active, true };
}

static void
vm_entry(struct vmp_sim *s, struct vm *vm, double t, double alloc, double req, bool mig)
{
	if (vm->last.has && vm->last.time != t) {
		double dt = t - vm->last.time;

		vm->tot_alloc += vm->last.alloc * dt;
		vm->tot_req += vm->last.req * dt;
		if (vm->last.alloc < vm->last.req && vm->last.flag)
			vm->under_mig += (vm->last.req - vm->last.alloc) * dt;
		/* Helper.getTimesBeforeVmMigration: in fact each migration's duration */
		if (vm->fin_mig && !vm->last.flag) {
			s->mig_wait_sum += vm->last.time - vm->last_mig_end_s;
			s->mig_waits++;
		}
		if (!vm->fin_mig && vm->last.flag)
			vm->last_mig_end_s = vm->last.time;
		vm->fin_mig = vm->last.flag;
	}
	vm->last = (struct entry){ t, alloc, req, mig, true };
}

/* ------------------------------------------------------------- CPU scheduler -- */

static bool
host_has_min(const struct host *h, uint32_t v)
{
	uint32_t i;

	for (i = 0; i < h->nmin; i++)
		if (h->min[i] == v)
			return true;
	return false;
}

/* Keeps slot.in equal to host_has_min() for v's slots on h after h->min changed. */
static void
slot_mark_in(struct host *h, uint32_t v, bool in)
{
	uint32_t i;

	h->ra_ok = false;
	for (i = 0; i < h->n; i++)
		if (h->slots[i].vm == v)
			h->slots[i].in = in;
}

/* ------------------------------------------------------ continuous accounting -- */

/*
 * doc/metrics.md gives the maths. Each host is accounted lazily: acct_flush() integrates
 * it from acc_t to t with the VM list it has, and is called before anything changes that
 * list (or a VM's migrating state), so the list is constant over every integrated span.
 * Inside a span the demand of each VM is linear between trace samples, so the span is cut
 * at sample times and each piece is integrated in closed form.
 */

/* Sample k of VM v's memory demand, as a fraction of its RAM (1 without a memory trace). */
static inline double
mem_sample(const struct vmp_sim *s, size_t v, long k)
{
	if (!s->mem_pct)
		return 1;
	if (k >= (long)s->nsteps)
		k = (long)s->nsteps - 1;
	if (k < 0)
		k = 0;
	return (double)s->mem_pct[v * s->nsteps + (size_t)k] / 100.0;
}

/*
 * Where a quantity linear from d0 (at 0) to d1 (at len) exceeds c: [*lo, *hi], and the
 * integral of the excess over it. Returns false when it never does.
 */
static bool
acct_excess(double d0, double d1, double c, double len, double *lo, double *hi,
	    double *excess)
{
	double x;

	if (!(d0 > c) && !(d1 > c))
		return false;
	if (d0 > c && d1 > c) {
		*lo = 0;
		*hi = len;
		*excess = ((d0 - c) + (d1 - c)) / 2 * len;
		return true;
	}
	/* one crossing, at x */
	x = len * (d0 - c) / (d0 - d1);
	if (x < 0)
		x = 0;
	if (x > len)
		x = len;
	if (d0 > c) {
		*lo = 0;
		*hi = x;
		*excess = (d0 - c) * x / 2;
	} else {
		*lo = x;
		*hi = len;
		*excess = (d1 - c) * (len - x) / 2;
	}
	return *hi > *lo;
}

/*
 * The integral over [0, len] of r(t) / D(t) with r and D linear (r0 + rho t,
 * d0 + delta t), D > 0 throughout. With x = delta len / d0 it is
 * r0 (len / d0) g1(x) + rho (len^2 / d0) g2(x), g1 = ln(1 + x) / x and
 * g2 = (x - ln(1 + x)) / x^2, both taken from their series near x = 0.
 */
static double
acct_ratio_integral(double r0, double rho, double d0, double delta, double len)
{
	double x = delta * len / d0, g1, g2;

	if (fabs(x) < 1e-4) {
		g1 = 1 - x / 2 + x * x / 3 - x * x * x / 4;
		g2 = 0.5 - x / 3 + x * x / 4 - x * x * x / 5;
	} else {
		double l = log1p(x);

		g1 = l / x;
		g2 = (x - l) / (x * x);
	}
	return r0 * (len / d0) * g1 + rho * (len * len / d0) * g2;
}

/* VM v's CPU demand (MIPS) at the two ends of a piece inside sample interval k. */
static inline void
acct_demand(const struct vmp_sim *s, uint32_t v, long k, double fa, double fb, double *ra,
	    double *rb)
{
	const struct vm *vm = &s->vms[v];
	double u1, u2;

	if (s->cfg.acct_hold) {
		*ra = *rb = vm->req;
		return;
	}
	u1 = sample(s, v, k);
	u2 = sample(s, v, k + 1);
	*ra = (u1 + (u2 - u1) * fa) * vm->mips;
	*rb = (u1 + (u2 - u1) * fb) * vm->mips;
}

/* One piece [a, b] of host h inside sample interval k. */
static void
acct_piece(struct vmp_sim *s, struct host *h, double a, double b, long k)
{
	double step = s->cfg.step_s, len = b - a, c = h->total_mips, cmem = h->type->ram_mb;
	double fa = (a - (double)k * step) / step, fb = (b - (double)k * step) / step;
	double d0 = 0, d1 = 0, m0 = 0, m1 = 0, lo = 0, hi = 0, excess = 0;
	bool over, hold_flag = false;
	double *r;
	uint32_t i;

	s->acct_r = grow(s->acct_r, &s->acct_cap, 2 * (size_t)h->n, sizeof(double));
	r = s->acct_r;
	for (i = 0; i < h->n; i++) {
		uint32_t v = h->slots[i].vm;
		bool in = h->slots[i].in;
		double ra, rb, w = in ? 0.1 : 1;

		acct_demand(s, v, k, fa, fb, &ra, &rb);
		/* the second pass skips arrivals: marked by a negative demand */
		r[2 * i] = in ? -1 : ra;
		r[2 * i + 1] = rb;
		if (s->cfg.acct_hold) {
			/* the simulator's view: requests capped at a core, an arrival flags */
			double pe = h->type->pe_mips;

			if (ra > pe)
				hold_flag = true;
			ra = rb = ra > pe ? pe : ra;
			if (in && ra > 0)
				hold_flag = true;
		}
		d0 += w * ra;
		d1 += w * rb;
		if (!s->cfg.acct_hold) {
			double u1 = mem_sample(s, v, k), u2 = mem_sample(s, v, k + 1);
			double ma = (u1 + (u2 - u1) * fa) * s->vms[v].ram;
			double mb = (u1 + (u2 - u1) * fb) * s->vms[v].ram;

			/* held on both hosts while it migrates; demanded once */
			m0 += ma;
			m1 += mb;
			if (!in)
				s->acct.mem_requested_mb_s += (ma + mb) / 2 * len;
		}
	}
	if (s->cfg.acct_hold) {
		if (!(d0 > 0))
			return;
		s->acct.active_host_s += len;
		if (hold_flag || d0 > c)
			s->acct.overload_host_s += len;
		return;
	}
	s->acct.active_host_s += len;
	if (acct_excess(m0, m1, cmem, len, &lo, &hi, &excess)) {
		s->acct.mem_overload_host_s += hi - lo;
		s->acct.mem_excess_mb_s += excess;
	}
	over = acct_excess(d0, d1, c, len, &lo, &hi, &excess);
	if (over)
		s->acct.overload_host_s += hi - lo;
	for (i = 0; i < h->n; i++) {
		struct vm *vm = &s->vms[h->slots[i].vm];
		double ra = r[2 * i], rb = r[2 * i + 1], req, got, f;

		if (ra < 0)
			continue;   /* migrating in: served by its source */
		req = (ra + rb) / 2 * len;
		got = req;
		if (over) {
			double rho = (rb - ra) / len, delta = (d1 - d0) / len;
			double rlo = ra + rho * lo, rhi = ra + rho * hi;
			double inside = (rlo + rhi) / 2 * (hi - lo);

			got = req - inside +
			      c * acct_ratio_integral(rlo, rho, d0 + delta * lo, delta, hi - lo);
		}
		f = vm->in_mig ? 0.9 : 1;
		vm->acc_req += req;
		vm->acc_unserved += req - f * got;
		s->acct.requested_mips_s += req;
		s->acct.unserved_overload_mips_s += req - got;
		s->acct.unserved_migration_mips_s += (1 - f) * got;
	}
}

/* Integrates host h from its acc_t to t with the VM list it has now. */
static void
acct_flush(struct vmp_sim *s, struct host *h, double t)
{
	double a = h->acc_t, step = s->cfg.step_s;

	if (!(t > a))
		return;
	h->acc_t = t;
	if (h->n == 0)
		return;
	while (a < t) {
		long k = (long)floor(a / step);
		double b = (double)(k + 1) * step;

		if (!(b > a))
			b = (double)(++k + 1) * step;
		if (b > t)
			b = t;
		acct_piece(s, h, a, b, k);
		a = b;
	}
}

/* The time up to which placement changes are accounted now. */
static inline void
acct_touch(struct vmp_sim *s, struct host *h)
{
	if (s->clock > h->acc_t)
		acct_flush(s, h, s->clock);
}

/* Reports a placement change to on_event, if set. */
static void
emit(struct vmp_sim *s, enum vmp_sim_event_kind kind, int32_t vm, int32_t host, int32_t from,
     double end_s)
{
	struct vmp_sim_event ev = { kind, s->clock, vm, host, from, end_s };

	if (s->cfg.on_event)
		s->cfg.on_event(s->cfg.event_ctx, &ev);
}

/* Reports host i switching on (first VM) or off (last VM gone) since the last report. */
static void
emit_host(struct vmp_sim *s, int32_t i)
{
	struct host *h;

	if (!s->cfg.on_event || i < 0)
		return;
	h = &s->hosts[i];
	if ((h->n > 0) == h->ev_on)
		return;
	h->ev_on = h->n > 0;
	emit(s, h->ev_on ? VMP_SIM_EV_HOST_ON : VMP_SIM_EV_HOST_OFF, -1, i, -1, 0);
}

/* getUtilizationOfCpuMips of the policy: allocations, a VM migrating in counted whole. */
static void pidx_touch(struct vmp_sim *s, struct host *h);

static void
host_sum_alloc(struct host *h)
{
	double m = 0;
	uint32_t i;

	for (i = 0; i < h->n; i++) {
		if (h->slots[i].in)
			m += h->slots[i].alloc * 0.9 / 0.1;
		m += h->slots[i].alloc;
	}
	h->alloc_mips = m;
}

/*
 * VmSchedulerTimeSharedOverSubscription: each VM gets its request (capped at one core;
 * a VM migrating in costs the destination 10 % of it, one migrating out gets 90 %)
 * while the sum fits; otherwise every VM is scaled by capacity / requested, floored.
 */
static void
host_realloc(struct vmp_sim *s, struct host *h)
{
	double pe = h->type->pe_mips, avail = h->total_mips, total_req = 0, scale;
	bool over = false;
	uint32_t i;

	for (i = 0; i < h->n; i++) {
		struct slot *sl = &h->slots[i];
		bool in = sl->in;
		bool out = s->in_mig[sl->vm] && !in;
		double c = sl->sreq > pe ? pe : sl->sreq;
		double tr = in ? c * 0.1 : c;

		total_req += tr;
		if (over)
			continue;
		if (avail >= tr) {
			sl->alloc = out ? c * 0.9 : in ? c * 0.1 : c;
			avail -= tr;
		} else {
			over = true;
		}
	}
	if (!over) {
		h->avail = avail;
		h->ra_ok = true;
		host_sum_alloc(h);
		pidx_touch(s, h);
		return;
	}
	h->ra_ok = false;
	scale = h->total_mips / total_req;
	for (i = 0; i < h->n; i++) {
		struct slot *sl = &h->slots[i];
		bool in = sl->in;
		bool out = s->in_mig[sl->vm] && !in;
		double c = sl->sreq > pe ? pe : sl->sreq;

		if (out)
			c = c * scale * 0.9;
		else if (in)
			c = c * 0.1 * scale;
		else
			c = c * scale;
		sl->alloc = floor(c);
	}
	h->avail = 0;
	host_sum_alloc(h);
	pidx_touch(s, h);
}

/*
 * host_realloc() after a slot was appended to h: while every request fits, realloc's
 * pass over the earlier slots would find what it found last time (their requests,
 * flags and order are unchanged, h->ra_ok), so only the new slot is scheduled and
 * added to the sums, in the same order and with the same operations as the full pass
 * (both sums are left folds over the slots). Otherwise the full pass.
 */
static void
host_append(struct vmp_sim *s, struct host *h)
{
	struct slot *sl = &h->slots[h->n - 1];
	double pe = h->type->pe_mips, c, tr, m;
	bool in, out;

	if (!h->ra_ok) {
		host_realloc(s, h);
		return;
	}
	in = sl->in;
	out = s->in_mig[sl->vm] && !in;
	c = sl->sreq > pe ? pe : sl->sreq;
	tr = in ? c * 0.1 : c;
	if (!(h->avail >= tr)) {
		host_realloc(s, h);
		return;
	}
	sl->alloc = out ? c * 0.9 : in ? c * 0.1 : c;
	h->avail -= tr;
	m = h->alloc_mips;
	if (in)
		m += sl->alloc * 0.9 / 0.1;
	m += sl->alloc;
	h->alloc_mips = m;
	pidx_touch(s, h);
}

static uint32_t
hist_len(const struct vmp_sim *s)
{
	/* LR and LRR read the newest samples only; THR only the requested sum */
	if (s->pol.overload == VMP_OVERLOAD_LR || s->pol.overload == VMP_OVERLOAD_LRR)
		return VMP_OVERLOAD_LR_SAMPLES;
	if (s->pol.overload == VMP_OVERLOAD_THR || s->pol.overload == VMP_OVERLOAD_NONE)
		return 0;
	return HIST_LEN;
}

/*
 * host_history()'s sums with vm appended to the VM list: the same additions in the same
 * order as summing the whole list again, so the same bits.
 */
static void
host_history_add(const struct vmp_sim *s, struct host *h, const struct vm *vm)
{
	uint32_t k, len = hist_len(s), m = vm->nhist < len ? vm->nhist : len;

	if (!h->hist_valid)
		return;
	for (k = 0; k < m; k++)
		h->hist[k] += vm->hist[k] * vm->mips / h->total_mips;
	if (vm->nhist_nz > h->nhist)
		h->nhist = vm->nhist_nz;
	h->req_sum += vm->req;
	if (vm->ram > h->max_ram)
		h->max_ram = vm->ram;
	h->lr_mi = NONE;
}

/* Copy-on-write save of a host's allocation before planning touches it. */
static void
host_save(struct vmp_sim *s, struct host *h)
{
	if (h->saved)
		return;
	h->saved = true;
	h->save_slots = realloc(h->save_slots, (h->n ? h->n : 1) * sizeof(struct slot));
	if (!h->save_slots)
		abort();
	memcpy(h->save_slots, h->slots, h->n * sizeof(struct slot));
	h->save_n = h->n;
	h->save_avail = h->avail;
	s->saved_hosts[s->nsaved++] = (uint32_t)(h - s->hosts);
}

static void
host_create(struct vmp_sim *s, struct host *h, uint32_t v)
{
	struct vm *vm = &s->vms[v];

	acct_touch(s, h);
	if (h->n + 1 > h->cap) {
		size_t c = h->cap;

		h->slots = grow(h->slots, &c, h->n + 1, sizeof(struct slot));
		h->cap = (uint32_t)c;
	}
	h->slots[h->n++] = (struct slot){ v, h->nmin && host_has_min(h, v),
					  vm->instantiating ? vm->mips : vm->req, 0 };
	if (vm->instantiating) {
		h->ram_used += vm->ram;
		h->bw_used += vm->bw;
	}
	h->storage_used += s->cfg.vm_size_mb;
	host_history_add(s, h, vm);
	h->dirty = true;
	host_append(s, h);
}

static void
host_destroy(struct vmp_sim *s, struct host *h, uint32_t v)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		if (h->slots[i].vm == v)
			break;
	if (i == h->n)
		return;
	acct_touch(s, h);
	memmove(h->slots + i, h->slots + i + 1, (h->n - i - 1) * sizeof(struct slot));
	h->n--;
	h->storage_used -= s->cfg.vm_size_mb;
	h->hist_valid = false;
	h->dirty = true;
	host_realloc(s, h);
}

static double
clamp_util(double u)
{
	return u > 1 && u < 1.01 ? 1 : u;
}

static double
host_util(const struct host *h)
{
	return clamp_util(h->util_mips / h->total_mips);
}

static double
host_power(const struct host *h)
{
	return vmp_power_watts(h->type->power, host_util(h));
}

static void pidx_hot(struct vmp_sim *s, struct host *h);

/* HostDynamicWorkload.updateVmsProcessing */
static void
host_update(struct vmp_sim *s, struct host *h, double t)
{
	double req_sum = 0;
	uint32_t i;

	h->dirty = false;
	if (h->n == 0) {
		/* nothing to schedule: the same bookkeeping, quickly */
		h->prev_util_mips = h->util_mips;
		h->util_mips = 0;
		h->alloc_mips = 0;
		h->avail = h->total_mips;
		h->ra_ok = false;
		h->hist_valid = false;
		host_entry(s, h, t, 0, 0, false);
		h->power_w = h->type->power->watts[0];
		pidx_hot(s, h);
		return;
	}
	for (i = 0; i < h->n; i++) {
		vm_update(s, h->slots[i].vm, t);
		h->slots[i].sreq = s->vms[h->slots[i].vm].req;
	}
	h->hist_valid = false;
	h->prev_util_mips = h->util_mips;
	host_realloc(s, h);
	h->util_mips = 0;
	for (i = 0; i < h->n; i++) {
		struct vm *vm = &s->vms[h->slots[i].vm];
		double alloc = h->slots[i].alloc;

		if (!h->slots[i].in) {
			vm_entry(s, vm, t, alloc, vm->req, vm->in_mig);
			if (vm->in_mig)
				alloc /= 0.9;
		}
		h->util_mips += alloc;
		req_sum += vm->req;
	}
	host_entry(s, h, t, h->util_mips, req_sum, h->util_mips > 0);
	h->power_w = vmp_power_watts(h->type->power, host_util(h));
	pidx_hot(s, h);
}

/* CloudSim deallocates, for good, a VM on host i whose demand is exactly zero. */
static void
remove_completed(struct vmp_sim *s, size_t i)
{
	struct host *h = &s->hosts[i];
	uint32_t j;

	for (j = 0; j < h->n;) {
		uint32_t v = h->slots[j].vm;
		struct vm *vm = &s->vms[v];

		if (!vm->in_mig && vm->req == 0 && vm->host == (int32_t)i) {
			host_destroy(s, h, v);
			vm->host = -1;
			vm->alive = false;
			s->vms_completed++;
			emit(s, VMP_SIM_EV_REMOVE, (int32_t)v, (int32_t)i, -1, 0);
			emit_host(s, (int32_t)i);
			continue;
		}
		j++;
	}
}

/* PowerDatacenter.updateCloudetProcessingWithoutSchedulingFutureEventsForce */
static void
force_update(struct vmp_sim *s, double t)
{
	double dt = t - s->last_process;
	size_t i;

	if (s->cfg.acct_hold)  /* before any VM's recorded demand changes */
		for (i = 0; i < s->nhosts; i++)
			acct_flush(s, &s->hosts[i], t);
	for (i = 0; i < s->nhosts; i++)
		host_update(s, &s->hosts[i], t);
	if (dt > 0) {
		for (i = 0; i < s->nhosts; i++) {
			struct host *h = &s->hosts[i];
			double from, to, pf, pt;

			if (s->pol.kind == VMP_SIM_NPA) {
				s->energy_ws += h->type->power->watts[10] * dt;
				continue;
			}
			from = clamp_util(h->prev_util_mips / h->total_mips);
			if (from == 0)
				continue;  /* a host that was off draws nothing */
			to = host_util(h);
			pf = vmp_power_watts(h->type->power, from);
			pt = vmp_power_watts(h->type->power, to);
			s->energy_ws += (pf + (pt - pf) / 2) * dt;
		}
	}
	if (s->cfg.cloudsim_compat)
		for (i = 0; i < s->nhosts; i++)
			remove_completed(s, i);
	s->last_process = t;
}

/*
 * The update CloudSim makes right after migrations complete (no time has passed). A
 * host whose VM list did not change since the update at this same instant would compute
 * exactly what it has, and the utilisation it would copy into "previous" is overwritten
 * by the next update before anything reads it; so only the changed hosts are updated.
 */
static void
update_changed(struct vmp_sim *s, double t)
{
	size_t i, n = 0;

	for (i = 0; i < s->nhosts; i++)
		if (s->hosts[i].dirty)
			s->scratch_hosts[n++] = (uint32_t)i;
	for (i = 0; i < n; i++)
		host_update(s, &s->hosts[s->scratch_hosts[i]], t);
	if (s->cfg.cloudsim_compat)
		for (i = 0; i < n; i++)
			remove_completed(s, s->scratch_hosts[i]);
	s->last_process = t;
}

/* --------------------------------------------------------------- migrations -- */

static void
start_migration(struct vmp_sim *s, uint32_t v, uint32_t target)
{
	struct host *h = &s->hosts[target];
	struct vm *vm = &s->vms[v];
	double mbps = h->type->bw_kbit / (2 * 8000);   /* MB/s: half the link */
	struct event e;

	acct_touch(s, h);
	if (vm->host >= 0)
		acct_touch(s, &s->hosts[vm->host]);
	vm->in_mig = true;
	s->in_mig[v] = 1;
	if (vm->host >= 0)
		s->hosts[vm->host].ra_ok = false;   /* its slot of v now migrates out */
	vm->mig_to = (int32_t)target;
	if (!host_has_min(h, v)) {
		size_t c = h->capmin;

		h->min = grow(h->min, &c, h->nmin + 1, sizeof(uint32_t));
		h->capmin = (uint32_t)c;
		h->min[h->nmin++] = v;
		slot_mark_in(h, v, true);
		host_create(s, h, v);
		host_update(s, h, s->clock);
		if (vm->host >= 0)
			host_update(s, &s->hosts[vm->host], s->clock);
	}
	s->migrations++;
	e.time = s->clock + vm->ram / mbps;
	e.vm = v;
	e.host = target;
	e.seq = s->seq++;
	s->ev = grow(s->ev, &s->capev, s->nev + 1, sizeof(*s->ev));
	/* appended in seq order; sorted by time (stably) before the next completion */
	if (s->nev > s->ev_head && s->ev[s->nev - 1].time > e.time)
		s->ev_sorted = false;
	s->ev[s->nev++] = e;
	emit(s, VMP_SIM_EV_MIG_START, (int32_t)v, (int32_t)target, vm->host, e.time);
	emit_host(s, (int32_t)target);
}

/* Datacenter.processVmMigrate: the VM leaves its source and lands on the target. */
static void
finish_migration(struct vmp_sim *s, const struct event *e)
{
	struct vm *vm = &s->vms[e->vm];
	struct host *h = &s->hosts[e->host];
	int32_t from = vm->host;
	uint32_t i;

	acct_touch(s, h);
	if (from >= 0)
		acct_touch(s, &s->hosts[from]);
	if (vm->host >= 0)
		host_destroy(s, &s->hosts[vm->host], e->vm);
	vm->host = -1;
	for (i = 0; i < h->nmin; i++)
		if (h->min[i] == e->vm)
			break;
	if (i < h->nmin) {
		memmove(h->min + i, h->min + i + 1, (h->nmin - i - 1) * sizeof(uint32_t));
		h->nmin--;
		slot_mark_in(h, e->vm, false);
	}
	host_destroy(s, h, e->vm);
	vm->in_mig = false;
	s->in_mig[e->vm] = 0;
	if (vm->mig_to == (int32_t)e->host)
		vm->mig_to = -1;
	host_create(s, h, e->vm);
	vm->host = (int32_t)e->host;
	emit(s, VMP_SIM_EV_MIG_END, (int32_t)e->vm, (int32_t)e->host, from, 0);
	emit_host(s, from);
	emit_host(s, (int32_t)e->host);
}

/* Stable merge sort of the pending events by time (equal times keep start order). */
static void
sort_events(struct vmp_sim *s)
{
	size_t n = s->nev - s->ev_head, w, i;
	struct event *v = s->ev + s->ev_head, *tmp;

	s->ev_sorted = true;
	if (n < 2)
		return;
	tmp = zalloc(n, sizeof(*tmp));
	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			size_t a = i, am = i + w < n ? i + w : n, b = am, bm = i + 2 * w < n ? i + 2 * w : n;
			size_t k = i;

			while (a < am && b < bm)
				tmp[k++] = v[b].time < v[a].time ? v[b++] : v[a++];
			while (a < am)
				tmp[k++] = v[a++];
			while (b < bm)
				tmp[k++] = v[b++];
		}
		memcpy(v, tmp, n * sizeof(*tmp));
	}
	free(tmp);
}

/* Completes, in time order, the migrations that end before `before`. */
static void
complete_migrations(struct vmp_sim *s, double before)
{
	if (!s->ev_sorted)
		sort_events(s);
	while (s->ev_head < s->nev && s->ev[s->ev_head].time < before &&
	       s->ev[s->ev_head].time < s->limit_s) {
		struct event e = s->ev[s->ev_head++];

		s->clock = e.time;
		if (s->clock > s->last_process)
			force_update(s, s->clock);
		finish_migration(s, &e);
		if (s->ev_head == s->nev || s->ev[s->ev_head].time != e.time)
			update_changed(s, s->clock);
	}
	if (s->ev_head == s->nev)
		s->ev_head = s->nev = 0;
}

/* ------------------------------------------------------------------ planning -- */

/*
 * The host's utilisation history (PowerHostUtilizationHistory.getUtilizationHistory:
 * VM histories scaled to the host, summed in VM-list order), its requested MIPS and
 * its largest VM RAM, cached until the VM list or the histories change.
 */
static void
host_history(struct vmp_sim *s, struct host *h)
{
	uint32_t i, k, n = 0, len = hist_len(s);

	if (h->hist_valid)
		return;
	memset(h->hist, 0, sizeof(h->hist));
	h->req_sum = 0;
	h->max_ram = -1;
	for (i = 0; i < h->n; i++) {
		const struct vm *vm = &s->vms[h->slots[i].vm];
		uint32_t m = vm->nhist < len ? vm->nhist : len;

		for (k = 0; k < m; k++)
			h->hist[k] += vm->hist[k] * vm->mips / h->total_mips;
		if (vm->nhist_nz > n)
			n = vm->nhist_nz;
		h->req_sum += vm->req;
		if (vm->ram > h->max_ram)
			h->max_ram = vm->ram;
	}
	/* a sum of non-negative terms is zero only where every term is */
	h->nhist = n;
	h->hist_valid = true;
	h->lr_mi = NONE;
	h->ord_ok = false;
}

/*
 * MAD and IQR look only at the order statistics of the history, and a host is judged
 * with one VM after another added while its own history stays nearly the same: the
 * indices of the host's history in ascending order (computed once per history; still a
 * permutation, if no longer exact, after host_history_add()) let host_overloaded()
 * hand the detector the host-plus-VM history nearly sorted, which its insertion sort
 * then finishes in few moves. The values, hence the order statistics and every bit of
 * the verdict, are the same as in time order.
 */
static const uint8_t *
hist_ord(struct host *h)
{
	uint32_t i, j;

	if (h->ord_ok)
		return h->ord;
	for (i = 0; i < HIST_LEN; i++) {
		uint8_t v = (uint8_t)i;

		for (j = i; j > 0 && h->hist[h->ord[j - 1]] > h->hist[v]; j--)
			h->ord[j] = h->ord[j - 1];
		h->ord[j] = v;
	}
	h->ord_ok = true;
	return h->ord;
}

/*
 * The LR fast path (LR without compat). The tricube-weighted least-squares forecast at
 * x = N + mi is linear in the samples: forecast = sum of c[k] hist[k] (hist newest
 * first), with c[N - 1 - i] = w_i / W + (x - xm) w_i (x_i - xm) / Sxx, x_i = i + 1,
 * xm = sum w_i x_i / W, Sxx = sum w_i (x_i - xm)^2. So a host's forecast with a VM added
 * is the host's plus the VM's scaled one: two cached dot products instead of a fit per
 * host judged. overload.c computes the same forecast by a fit; only the rounding differs
 * (no decision changed on the five PlanetLab days).
 */
static const double *
lr_coeffs(struct vmp_sim *s, uint32_t mi)
{
	enum { N = VMP_OVERLOAD_LR_SAMPLES };
	double *c = s->lr_c[mi], w[N], sw = 0, xm = 0, sxx = 0, x0 = (double)(N + mi);
	size_t i;

	if (s->lr_c_ok[mi])
		return c;
	for (i = 0; i < N; i++) {
		double d = (double)(N - 1 - i) / (N - 1), t = 1 - d * d * d;

		w[i] = t * t * t;
		sw += w[i];
		xm += w[i] * (double)(i + 1);
	}
	xm /= sw;
	for (i = 0; i < N; i++)
		sxx += w[i] * ((double)(i + 1) - xm) * ((double)(i + 1) - xm);
	for (i = 0; i < N; i++)
		c[N - 1 - i] = w[i] / sw + (x0 - xm) * w[i] * ((double)(i + 1) - xm) / sxx;
	s->lr_c_ok[mi] = true;
	return c;
}

static double
lr_dot(const double *c, const double *hist)
{
	double sum = 0;
	size_t k;

	for (k = 0; k < VMP_OVERLOAD_LR_SAMPLES; k++)
		sum += c[k] * hist[k];
	return sum;
}

/* host_overloaded() for LR without compat, mi migration intervals: see lr_coeffs(). */
static bool
host_overloaded_lr(struct vmp_sim *s, struct host *h, uint32_t extra, uint32_t mi)
{
	struct vm *vm = extra != UINT32_MAX ? &s->vms[extra] : NULL;
	uint32_t n = h->nhist;
	const double *c;
	double pred;

	if (vm && vm->nhist_nz > n)
		n = vm->nhist_nz;
	if (n < VMP_OVERLOAD_LR_SAMPLES) {
		double req = h->req_sum + (vm ? (vm->instantiating ? vm->mips : vm->req) : 0);

		return req / h->total_mips > VMP_OVERLOAD_FALLBACK_THR;
	}
	c = lr_coeffs(s, mi);
	if (h->lr_mi != mi) {
		h->lr_dot = lr_dot(c, h->hist);
		h->lr_mi = mi;
	}
	pred = h->lr_dot;
	if (vm) {
		if (vm->lr_mi != mi || vm->lr_time != vm->hist_time) {
			vm->lr_dot = lr_dot(c, vm->hist);
			vm->lr_mi = mi;
			vm->lr_time = vm->hist_time;
		}
		pred += vm->lr_dot * vm->mips / h->total_mips;
	}
	return pred * s->pol.param >= 1;
}

/*
 * isHostOverUtilized of the policy, for h as it is plus VM extra (UINT32_MAX: none),
 * which CloudSim evaluates by creating the VM on the host and asking the same question.
 */
static bool
host_overloaded(struct vmp_sim *s, struct host *h, uint32_t extra)
{
	struct vmp_overload_input in;
	double hist[HIST_LEN], req, max_ram;
	uint32_t k, n, need;

	if (s->pol.overload == VMP_OVERLOAD_NONE)
		return false;
	host_history(s, h);
	if (s->pol.overload == VMP_OVERLOAD_THR) {
		/* vmp_overload_check()'s THR test on the same sum, without the history */
		req = h->req_sum;
		if (extra != UINT32_MAX)
			req += s->vms[extra].instantiating ? s->vms[extra].mips : s->vms[extra].req;
		return req / h->total_mips > s->pol.param;
	}
	if (s->pol.overload == VMP_OVERLOAD_LR && !s->cfg.cloudsim_compat) {
		double mi;

		max_ram = h->max_ram;
		if (extra != UINT32_MAX && s->vms[extra].ram > max_ram)
			max_ram = s->vms[extra].ram;
		mi = ceil(max_ram / (h->type->bw_kbit / (2 * 8000)) / s->cfg.step_s);
		if (max_ram >= 0 && mi >= 0 && mi < LR_MAX_MI)
			return host_overloaded_lr(s, h, extra, (uint32_t)mi);
	}
	req = h->req_sum;
	max_ram = h->max_ram;
	n = h->nhist;
	if (extra != UINT32_MAX) {
		const struct vm *vm = &s->vms[extra];

		req += vm->instantiating ? vm->mips : vm->req;
		if (vm->ram > max_ram)
			max_ram = vm->ram;
		if (vm->nhist_nz > n)
			n = vm->nhist_nz;
		/* LR looks at the newest 10 samples only; MAD and IQR at all of them */
		need = s->pol.overload == VMP_OVERLOAD_LR || s->pol.overload == VMP_OVERLOAD_LRR
			       ? (n < VMP_OVERLOAD_LR_SAMPLES ? 0 : VMP_OVERLOAD_LR_SAMPLES)
			       : n;
		if (s->pol.overload == VMP_OVERLOAD_MAD || s->pol.overload == VMP_OVERLOAD_IQR) {
			/* in the host's ascending order, not time order: see hist_ord() */
			const uint8_t *ord = hist_ord(h);
			uint32_t j;

			for (j = 0, k = 0; j < HIST_LEN; j++) {
				uint32_t q = ord[j];

				if (q < need)
					hist[k++] = h->hist[q] +
						    (q < vm->nhist ? vm->hist[q] * vm->mips / h->total_mips
								   : 0.0);
			}
		} else {
			for (k = 0; k < need; k++)
				hist[k] = h->hist[k] +
					  (k < vm->nhist ? vm->hist[k] * vm->mips / h->total_mips
							 : 0.0);
		}
		in.history = hist;
	} else {
		in.history = h->hist;
	}
	in.nhistory = n;
	in.requested_frac = req / h->total_mips;
	if (max_ram < 0)
		max_ram = INT32_MIN;  /* Java: Integer.MIN_VALUE for an empty host */
	in.migration_intervals = ceil(max_ram / (h->type->bw_kbit / (2 * 8000)) / s->cfg.step_s);
	return vmp_overload_check(s->pol.overload, s->pol.param, s->cfg.cloudsim_compat, &in,
				  NULL);
}

static bool
host_suitable(const struct vmp_sim *s, const struct host *h, const struct vm *vm)
{
	double req = vm->instantiating ? vm->mips : vm->req;

	if (h->type->pe_mips < req || h->avail < req)
		return false;
	if (h->storage_used + s->cfg.vm_size_mb > s->cfg.host_storage_mb)
		return false;
	if (vm->instantiating && (h->ram_used + vm->ram > h->type->ram_mb ||
				  h->bw_used + vm->bw > h->type->bw_kbit))
		return false;
	return true;
}

/*
 * PABFD, by scanning every host: the host whose power grows least, not overloaded after
 * taking the VM; on equal growth the lowest-numbered host.
 */
static int
find_host_scan(struct vmp_sim *s, uint32_t v, bool skip_excluded)
{
	const struct vm *vm = &s->vms[v];
	double min_diff = DBL_MAX, req = vm->instantiating ? vm->mips : vm->req;
	const struct vmp_sim_host_type *seen_idle[VMP_SIM_MAX_TYPES];
	size_t nseen = 0, k;
	int best = -1;
	size_t i;

	for (i = 0; i < s->nhosts; i++) {
		struct host *h = &s->hosts[i];
		double cur, after, diff;

		if (skip_excluded && h->excl_place)
			continue;
		/*
		 * Idle empty hosts of one type all offer the same power increase, and only
		 * the first of equals can win (strict <): look at one per type.
		 */
		if (h->n == 0 && h->util_mips == 0) {
			for (k = 0; k < nseen; k++)
				if (seen_idle[k] == h->type)
					break;
			if (k < nseen)
				continue;
			if (nseen < VMP_SIM_MAX_TYPES)
				seen_idle[nseen++] = h->type;
		}
		if (!host_suitable(s, h, vm))
			continue;
		cur = h->alloc_mips;
		after = vmp_power_watts(h->type->power, (cur + req) / h->total_mips);
		diff = after - h->power_w;
		/* cheap test first: only a strictly better host can win */
		if (!(diff < min_diff))
			continue;
		if (cur != 0 && host_overloaded(s, h, v))
			continue;
		min_diff = diff;
		best = (int)i;
	}
	return best;
}

/* ----------------------------------------------------------- placement index -- */

/*
 * PABFD asks, for every VM it places, which host's power grows least. Scanning all hosts
 * costs O(hosts) per VM, too slow for 10,000 hosts. The index answers the same question
 * exactly with far fewer host visits:
 *
 *   growth(h) = P(x_h + d) - P_now(h) = f(x_h) + c_h,  f(x) = P(x + d) - P(x),
 *
 * with x_h the host's allocated fraction, d the VM's request over the host's capacity and
 * c_h = P(x_h) - P_now(h) >= 0 for every host that may receive VMs (c_h = 0 for a host
 * the plan has not touched; > 0 once it received VMs; hosts that gave VMs away are
 * overloaded and excluded). P is linear between the points 0, 0.1, ... 1, so f is
 * linear between those points and the points 0.1k - d: on each such piece of x the
 * smaller end value bounds f from below. Pieces are visited in increasing order of their
 * bound, hosts inside a piece from its better end, and the search stops as soon as the
 * bound exceeds the best growth found. Every host it does look at is judged exactly as
 * the scan judges it (find_host_scan), ties going to the lowest number, so both give the
 * same host; tests compare the two on whole days.
 *
 * Idle hosts (no VM, off) of a type are all equivalent: only the lowest-numbered one is
 * looked at.
 */

static bool
host_idle(const struct host *h)
{
	return h->n == 0 && h->util_mips == 0;
}

static int
cmp_x(const struct vmp_sim *s, uint32_t a, uint32_t b)
{
	const struct host *ha = &s->hosts[a], *hb = &s->hosts[b];

	if (ha->ix != hb->ix)
		return ha->ix < hb->ix ? -1 : 1;
	return a < b ? -1 : a > b ? 1 : 0;
}

/*
 * First position in p->order whose host is not before host h with key ix (by x, then
 * number); the position of h itself if it is in the list with that key.
 */
static size_t
pidx_lower(const struct pindex *p, double ix, uint32_t h)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->hot[mid].ix < ix || (p->hot[mid].ix == ix && p->order[mid] < h))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
pidx_set_hot(struct pindex *p, size_t pos, const struct host *h)
{
	p->hot[pos] = (struct hot){ h->ix, h->alloc_mips, h->power_w };
}

/* After h's allocation or power changed outside pidx_touch. */
static void
pidx_hot(struct vmp_sim *s, struct host *h)
{
	struct pindex *p = &s->pidx[h->tidx];

	if (s->pidx_on && h->in_pidx)
		pidx_set_hot(p, pidx_lower(p, h->ix, (uint32_t)(h - s->hosts)), h);
}

/* Keeps h's place in the index after its allocation changed. */
static void
pidx_touch(struct vmp_sim *s, struct host *h)
{
	struct pindex *p;
	uint32_t hi = (uint32_t)(h - s->hosts);
	size_t pos;

	if (!s->pidx_on)
		return;
	p = &s->pidx[h->tidx];
	if (h->in_pidx) {
		pos = pidx_lower(p, h->ix, hi);   /* its key is still the old x */
		if (pos >= p->n || p->order[pos] != hi)
			abort();
		if (!h->excl_place && !host_idle(h)) {
			/* it stays: move only the entries between its old and new place */
			size_t to;

			h->ix = h->alloc_mips / h->total_mips;
			to = pidx_lower(p, h->ix, hi);   /* counts h itself if before */
			if (to > pos) {
				to--;
				memmove(p->order + pos, p->order + pos + 1,
					(to - pos) * sizeof(uint32_t));
				memmove(p->hot + pos, p->hot + pos + 1, (to - pos) * sizeof(struct hot));
			} else if (to < pos) {
				memmove(p->order + to + 1, p->order + to, (pos - to) * sizeof(uint32_t));
				memmove(p->hot + to + 1, p->hot + to, (pos - to) * sizeof(struct hot));
			}
			p->order[to] = hi;
			pidx_set_hot(p, to, h);
			return;
		}
		memmove(p->order + pos, p->order + pos + 1, (p->n - pos - 1) * sizeof(uint32_t));
		memmove(p->hot + pos, p->hot + pos + 1, (p->n - pos - 1) * sizeof(struct hot));
		p->n--;
		h->in_pidx = false;
	}
	if (h->excl_place)
		return;   /* excluded hosts leave the index for the rest of the phase */
	if (host_idle(h)) {
		/* idle again (a plan was undone): back into the idle list, in order */
		size_t i;

		for (i = 0; i < p->nidle && p->idle[i] < hi; i++)
			;
		if (i < p->nidle && p->idle[i] == hi) {
			if (i < p->idle_cur)
				p->idle_cur = i;
			return;
		}
		memmove(p->idle + i + 1, p->idle + i, (p->nidle - i) * sizeof(uint32_t));
		p->idle[i] = hi;
		p->nidle++;
		if (i < p->idle_cur)
			p->idle_cur = i;
		return;
	}
	h->ix = h->alloc_mips / h->total_mips;
	pos = pidx_lower(p, h->ix, hi);
	memmove(p->order + pos + 1, p->order + pos, (p->n - pos) * sizeof(uint32_t));
	memmove(p->hot + pos + 1, p->hot + pos, (p->n - pos) * sizeof(struct hot));
	p->order[pos] = hi;
	pidx_set_hot(p, pos, h);
	p->n++;
	h->in_pidx = true;
}

static int
cmp_u32_util(const void *a, const void *b, void *ctx)
{
	const struct vmp_sim *s = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	double ux = host_util(&s->hosts[x]), uy = host_util(&s->hosts[y]);

	if (ux != uy)
		return ux < uy ? -1 : 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

static int
cmp_u32_x(const void *a, const void *b, void *ctx)
{
	return cmp_x(ctx, *(const uint32_t *)a, *(const uint32_t *)b);
}

/* Insertion-free build: every host into its type's busy order or idle list. */
static void
pidx_build(struct vmp_sim *s)
{
	size_t i, t;

	for (t = 0; t < s->cfg.nhost_types; t++) {
		s->pidx[t].n = 0;
		s->pidx[t].nidle = 0;
		s->pidx[t].idle_cur = 0;
	}
	for (i = 0; i < s->nhosts; i++) {
		struct host *h = &s->hosts[i];
		struct pindex *p = &s->pidx[h->tidx];

		h->in_pidx = false;
		if (h->excl_place)
			continue;
		if (host_idle(h)) {
			p->idle[p->nidle++] = (uint32_t)i;
		} else {
			h->ix = h->alloc_mips / h->total_mips;
			p->order[p->n++] = (uint32_t)i;
		}
	}
	for (t = 0; t < s->cfg.nhost_types; t++) {
		struct pindex *p = &s->pidx[t];

		qsort_r(p->order, p->n, sizeof(uint32_t), cmp_u32_x, s);
		for (i = 0; i < p->n; i++) {
			s->hosts[p->order[i]].in_pidx = true;
			pidx_set_hot(p, i, &s->hosts[p->order[i]]);
		}
	}
	s->pidx_on = true;
	s->idle_excluded = false;
}

struct piece {
	double a, b, fa, fb, lb;
	double xmax;    /* hosts above this allocated fraction lack the MIPS */
	uint8_t t;
};

/* candidates per round of the lazy search: 2, 3, 4, 8 gave 6.02, 5.91, 5.90, 6.10 G
 * instructions for IQR-MMT-1.5 at 10,000 VMs */
#define PICK_K 4

/*
 * The PICK_K suitable hosts of least growth found so far, ascending by (growth, number),
 * and the bar a host must pass to join them: the last one's growth and number once
 * PICK_K are held (DBL_MAX and -1 before).
 */
struct pick {
	double min;
	int best;
	bool eager;     /* judge overload at once, keep only the best (see find_host_indexed) */
	uint32_t n;
	struct {
		double diff;
		int i;
	} c[PICK_K];
};

/*
 * Judges host i for VM v as find_host_scan does; diff is the host's growth with the VM,
 * computed as the scan computes it (by may_beat() or vmp_power_watts()). Eager: a host
 * that beats the best so far, is suitable and not overloaded with the VM becomes the
 * best. Lazy: a suitable host that may rank among the PICK_K best joins them, and the
 * overload test is left to find_host_indexed(). (Leaving the test of room to the end
 * as well filled the PICK_K with hosts that lack it, round after round: MAD-MMT-2.5 at
 * 100,000 VMs took over 150 s instead of 35.)
 */
static void
consider(struct vmp_sim *s, uint32_t v, uint32_t i, bool skip_excluded, double diff,
	 struct pick *pk)
{
	struct host *h;
	uint32_t k;

	if (!(diff < pk->min || (diff == pk->min && (int)i < pk->best)))
		return;
	if (!pk->eager && s->rej[i] == s->search)
		return;   /* overloaded with v: found in an earlier round */
	h = &s->hosts[i];
	if (skip_excluded && h->excl_place)
		return;
	if (!host_suitable(s, h, &s->vms[v]))
		return;
	if (pk->eager) {
		if (h->alloc_mips != 0 && host_overloaded(s, h, v))
			return;
		pk->min = diff;
		pk->best = (int)i;
		return;
	}
	/* insert in order; a host on the border of two pieces is visited twice */
	for (k = pk->n; k > 0; k--) {
		if (pk->c[k - 1].diff < diff || (pk->c[k - 1].diff == diff && pk->c[k - 1].i <= (int)i))
			break;
	}
	if (k > 0 && pk->c[k - 1].i == (int)i)
		return;
	if (pk->n < PICK_K)
		pk->n++;
	memmove(&pk->c[k + 1], &pk->c[k], (pk->n - 1 - k) * sizeof(pk->c[0]));
	pk->c[k].diff = diff;
	pk->c[k].i = (int)i;
	if (pk->n == PICK_K) {
		pk->min = pk->c[PICK_K - 1].diff;
		pk->best = pk->c[PICK_K - 1].i;
	}
}

/*
 * consider()'s test of the growth, on the index's copy of the host's fields (one read of
 * memory in order instead of three scattered ones): false if the host cannot be the
 * pick whatever else holds. Most hosts visited fail it: inside a piece of the power curve
 * only rounding separates them.
 */
static inline bool
may_beat(const struct vmp_sim_host_type *ty, const struct pindex *p, double total,
	 const struct hot *hh, uint32_t i, double req, const struct pick *pk, double *ret_diff)
{
	double u = (hh->alloc_mips + req) / total, x = u * 10, pw, diff;
	int lo = (int)x;

	/*
	 * vmp_power_watts() inside a segment, its two divisions by 10 taken from the table
	 * (the same operations on the same values, so the same bits); the function itself
	 * at the ends and on table points.
	 */
	if (u > 0 && u < 1 && x != (double)lo)
		pw = ty->power->watts[lo] + p->pw_delta[lo] * (u - p->pw_lo10[lo]) * 100;
	else
		pw = vmp_power_watts(ty->power, u);
	diff = pw - hh->power_w;
	*ret_diff = diff;
	return diff < pk->min || (diff == pk->min && (int)i < pk->best);
}

#define PIDX_EPS 1e-7   /* W: far above rounding, far below any real difference */

/*
 * vmp_power_watts() for the index's breakpoints, many of which are table points k / 10,
 * where the function spends most of its time in fmod: the value at exactly k / 10 is
 * looked up (the same function of the same argument, so the same bits).
 */
static inline double
pidx_watts(const struct pindex *p, const struct vmp_power_model *m, double u)
{
	double x = u * 10;
	int k = (int)x;

	if (u > 0 && u <= 1 && x == (double)k && u == (double)k / 10)
		return p->pw_grid[k];
	return vmp_power_watts(m, u);
}

/* One round of find_host_indexed(): fills pk with the PICK_K best candidates. */
static void
pidx_search(struct vmp_sim *s, uint32_t v, bool skip_excluded, struct pick *pk)
{
	const struct vm *vm = &s->vms[v];
	double req = vm->instantiating ? vm->mips : vm->req;
	struct piece pieces[VMP_SIM_MAX_TYPES * 24];
	uint8_t pord[VMP_SIM_MAX_TYPES * 24];
	size_t np = 0, t, i, j;

	for (t = 0; t < s->cfg.nhost_types; t++) {
		struct pindex *p = &s->pidx[t];
		const struct vmp_sim_host_type *ty = &s->cfg.host_types[t];
		double total = ty->pe_mips * ty->pes, d = req / total;

		/* the lowest-numbered idle host of this type */
		if (!(skip_excluded && s->idle_excluded)) {
			while (p->idle_cur < p->nidle && !host_idle(&s->hosts[p->idle[p->idle_cur]]))
				p->idle_cur++;
			for (i = p->idle_cur; i < p->nidle; i++) {
				struct host *h = &s->hosts[p->idle[i]];

				if (!host_idle(h) || (skip_excluded && h->excl_place))
					continue;
				consider(s, v, p->idle[i], skip_excluded,
					 vmp_power_watts(h->type->power,
							 (h->alloc_mips + req) / h->total_mips) -
						 h->power_w,
					 pk);
				break;
			}
		}
		/* no host of this type has a core big enough: all unsuitable */
		if (p->n == 0 || ty->pe_mips < req)
			continue;
		/* pieces of x on which f is linear; f at each breakpoint computed once */
		{
			double xs[24], fx[24], xmax = 1 - d + 1e-9;
			size_t nx = 0;

			/* merge the sorted lists 0, 0.1, ..., 1 and 0.1k - d in (0, 1) */
			{
				size_t a = 0, b = 1;
				double xa, xb;

				while (a <= 10 || b <= 10) {
					xa = a <= 10 ? (double)a / 10 : 2;
					xb = b <= 10 ? (double)b / 10 - d : 2;
					if (b <= 10 && !(xb > 0 && xb < 1)) {
						b++;
						continue;
					}
					if (xa <= xb) {
						xs[nx++] = xa;
						a++;
					} else {
						xs[nx++] = xb;
						b++;
					}
				}
			}
			for (j = 0; j < nx; j++) {
				fx[j] = pidx_watts(p, ty->power, xs[j] + d) -
					pidx_watts(p, ty->power, xs[j]);
				/* pieces starting above xmax hold only hosts without room */
				if (xs[j] > xmax) {
					nx = j + 1;
					break;
				}
			}
			for (j = 0; j + 1 < nx; j++) {
				struct piece *pc;

				if (xs[j + 1] <= xs[j] || xs[j] > xmax)
					continue;
				pc = &pieces[np++];
				pc->a = xs[j];
				pc->b = xs[j + 1];
				pc->fa = fx[j];
				pc->fb = fx[j + 1];
				pc->lb = (pc->fa < pc->fb ? pc->fa : pc->fb) - PIDX_EPS;
				pc->t = (uint8_t)t;
				/*
				 * A host's free MIPS are its capacity minus its allocations (no
				 * migration is in flight while planning), so one with allocated
				 * fraction x fits the VM only if x <= 1 - d, up to rounding.
				 */
				pc->xmax = xmax;
			}
		}
	}
	/* visit pieces by increasing bound (stable insertion sort of their numbers) */
	for (i = 0; i < np; i++) {
		uint8_t x = (uint8_t)i;

		for (j = i; j > 0 && pieces[pord[j - 1]].lb > pieces[x].lb; j--)
			pord[j] = pord[j - 1];
		pord[j] = x;
	}
	for (i = 0; i < np; i++) {
		const struct piece *pc = &pieces[pord[i]];
		const struct pindex *p = &s->pidx[pc->t];
		const struct vmp_sim_host_type *ty;
		size_t lo, hi, k;
		double slope, total, diff;

		if (pc->lb > pk->min)
			break;
		/* hosts with pc->a <= x <= pc->b (x past 1 belongs to the last piece) */
		for (lo = 0, hi = p->n; lo < hi;) {
			size_t mid = (lo + hi) / 2;

			if (p->hot[mid].ix < pc->a)
				lo = mid + 1;
			else
				hi = mid;
		}
		k = lo;
		for (lo = k, hi = p->n; lo < hi;) {
			size_t mid = (lo + hi) / 2;

			double x = p->hot[mid].ix;

			if ((x <= pc->b || pc->b >= 1) && x <= pc->xmax)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = lo;
		lo = k;
		slope = (pc->fb - pc->fa) / (pc->b - pc->a);
		ty = &s->cfg.host_types[pc->t];
		total = ty->pe_mips * ty->pes;
		if (pc->fa <= pc->fb) {
			for (k = lo; k < hi; k++) {
				double x = p->hot[k].ix;

				if (pc->fa + slope * (x - pc->a) - PIDX_EPS > pk->min)
					break;
				if (!may_beat(ty, p, total, &p->hot[k], p->order[k], req, pk, &diff))
					continue;
				consider(s, v, p->order[k], skip_excluded, diff, pk);
			}
		} else {
			for (k = hi; k > lo; k--) {
				double x = p->hot[k - 1].ix;

				if (pc->fb + slope * (x - pc->b) - PIDX_EPS > pk->min)
					break;
				if (!may_beat(ty, p, total, &p->hot[k - 1], p->order[k - 1], req,
					      pk, &diff))
					continue;
				consider(s, v, p->order[k - 1], skip_excluded, diff, pk);
			}
		}
	}
}

/*
 * PABFD through the index: the host of least growth (lowest number on ties) among the
 * suitable, not excluded hosts that the VM does not overload. The growth alone ranks
 * the hosts, so the search collects the PICK_K suitable hosts of least growth without
 * judging overload, and only then asks the detector, best first, stopping at the first
 * host it accepts (an idle host needs no question: the scan never asks for an empty
 * host). That answer is the scan's: every host ranked before it was found overloaded,
 * and the search's bounds leave out only hosts that cannot rank among the PICK_K. If
 * all PICK_K are overloaded the search runs again without them. The scan asks the detector for every
 * host that improves on the best so far, mostly hosts that only rounding separates
 * (within a piece of the power curve) and that a later host beats: about three times
 * as many questions, each a sort of the history for MAD and IQR, two weighted fits and
 * a median for LRR. Where the question is cheap (THR: a sum; LR without compat: two
 * cached dot products; LR and LRR in compat mode: one plain fit of 10 points) the
 * looser bar of the PICK_K-th host costs more host visits than it saves (+4 % of the
 * instructions for LR-MMT-1.2 on one compat day), so those ask at once, as the scan.
 */
static int
find_host_indexed(struct vmp_sim *s, uint32_t v, bool skip_excluded)
{
	struct pick pk;
	uint32_t k;

	if (!(s->pol.overload == VMP_OVERLOAD_MAD || s->pol.overload == VMP_OVERLOAD_IQR ||
	      (s->pol.overload == VMP_OVERLOAD_LRR && !s->cfg.cloudsim_compat))) {
		/* a cheap test (a sum, LR's cached dot products or one plain fit): ask at once */
		pk.min = DBL_MAX;
		pk.best = -1;
		pk.eager = true;
		pk.n = 0;
		pidx_search(s, v, skip_excluded, &pk);
		return pk.best;
	}
	if (++s->search == 0) {
		/* 2^32 searches: forget the old marks rather than confuse them */
		memset(s->rej, 0, s->nhosts * sizeof(*s->rej));
		s->search = 1;
	}
	for (;;) {
		pk.min = DBL_MAX;
		pk.best = -1;
		pk.eager = false;
		pk.n = 0;
		pidx_search(s, v, skip_excluded, &pk);
		for (k = 0; k < pk.n; k++) {
			struct host *h = &s->hosts[pk.c[k].i];

			if (h->alloc_mips == 0 || !host_overloaded(s, h, v))
				return pk.c[k].i;
			s->rej[pk.c[k].i] = s->search;
		}
		if (pk.n < PICK_K)
			return -1;   /* no bound cut the search short: no host left */
	}
}

static int
find_host(struct vmp_sim *s, uint32_t v, bool skip_excluded)
{
	if (s->pidx_on && !s->cfg.naive_placement)
		return find_host_indexed(s, v, skip_excluded);
	return find_host_scan(s, v, skip_excluded);
}

static int
first_fit(struct vmp_sim *s, uint32_t v)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (host_suitable(s, &s->hosts[i], &s->vms[v]))
			return (int)i;
	return -1;
}

/* PowerVmList.sortByCpuUtilization: decreasing demand, stable (merge sort). */
static void
sort_by_demand(struct vmp_sim *s, uint32_t *v, size_t n)
{
	uint32_t *tmp;
	size_t w, i;

	if (n < 2)
		return;
	tmp = zalloc(n, sizeof(uint32_t));
	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			size_t a = i, am = i + w < n ? i + w : n, b = am, bm = i + 2 * w < n ? i + 2 * w : n;
			size_t k = i;

			while (a < am && b < bm)
				tmp[k++] = s->vms[v[b]].req > s->vms[v[a]].req ? v[b++] : v[a++];
			while (a < am)
				tmp[k++] = v[a++];
			while (b < bm)
				tmp[k++] = v[b++];
		}
		memcpy(v, tmp, n * sizeof(uint32_t));
	}
	free(tmp);
}

/*
 * PowerVmSelectionPolicyMaximumCorrelation: the migratable VM whose utilisation history
 * the other migratable VMs' histories explain best (R² of a least-squares fit), over the
 * shortest history among them; too little data falls back to MMT.
 */
static int
select_mc(struct vmp_sim *s, struct host *h)
{
	enum { MAXV = 16 };
	uint32_t ids[MAXV], n = 0, i, j, m = HIST_LEN;
	double x[(MAXV - 1) * HIST_LEN], best = 4.9e-324;  /* Java's Double.MIN_VALUE */
	int pick;

	for (i = 0; i < h->n; i++) {
		const struct vm *vm = &s->vms[h->slots[i].vm];

		if (vm->in_mig)
			continue;
		if (n == MAXV)
			return -2;
		ids[n++] = h->slots[i].vm;
		if (vm->nhist < m)
			m = vm->nhist;
	}
	if (n < 2)
		return -2;
	pick = (int)ids[0];   /* CloudSim's default when no R² beats MIN_VALUE */
	for (i = 0; i < n; i++) {
		uint32_t c = 0;
		double r2;

		for (j = 0; j < n; j++)
			if (j != i)
				memcpy(x + (size_t)(c++) * m, s->vms[ids[j]].hist, m * sizeof(double));
		if (!vmp_stat_ols_r2(x, n - 1, s->vms[ids[i]].hist, m, &r2))
			return -2;
		if (r2 > best) {
			best = r2;
			pick = (int)ids[i];
		}
	}
	return pick;
}

static int
select_vm(struct vmp_sim *s, struct host *h)
{
	double best = DBL_MAX;
	int pick = -1;
	uint32_t i, n = 0;

	if (s->pol.selection == VMP_SEL_MC) {
		pick = select_mc(s, h);
		if (pick != -2)
			return pick;
		pick = -1;   /* not enough history: MMT */
	}
	if (s->pol.selection == VMP_SEL_RS) {
		for (i = 0; i < h->n; i++)
			n += !s->vms[h->slots[i].vm].in_mig;
		if (n == 0)
			return -1;
		/* xorshift64*: deterministic for a given seed */
		s->rng ^= s->rng >> 12;
		s->rng ^= s->rng << 25;
		s->rng ^= s->rng >> 27;
		n = (uint32_t)((s->rng * 2685821657736338717ull >> 33) % n);
		for (i = 0; i < h->n; i++)
			if (!s->vms[h->slots[i].vm].in_mig && n-- == 0)
				return (int)h->slots[i].vm;
	}
	for (i = 0; i < h->n; i++) {
		const struct vm *vm = &s->vms[h->slots[i].vm];
		double metric;

		if (vm->in_mig)
			continue;
		metric = s->pol.selection == VMP_SEL_MU ? vm->req / vm->mips : vm->ram;
		if (metric < best) {
			best = metric;
			pick = (int)h->slots[i].vm;
		}
	}
	return pick;
}

static void
plan_push(struct vmp_sim *s, uint32_t v, uint32_t h)
{
	s->plan = grow(s->plan, &s->capplan, s->nplan + 1, sizeof(*s->plan));
	s->plan[s->nplan++] = (struct pair){ v, h };
}

/* Places vms (sorted here) on non-excluded hosts; all_or_nothing undoes a partial plan. */
static void
place(struct vmp_sim *s, uint32_t *vms, size_t n, bool all_or_nothing)
{
	size_t i, first = s->nplan;

	sort_by_demand(s, vms, n);
	for (i = 0; i < n; i++) {
		int h = find_host(s, vms[i], true);

		if (h < 0) {
			if (!all_or_nothing)
				continue;
			while (s->nplan > first) {
				s->nplan--;
				host_destroy(s, &s->hosts[s->plan[s->nplan].host],
					     s->plan[s->nplan].vm);
			}
			return;
		}
		host_save(s, &s->hosts[h]);
		host_create(s, &s->hosts[h], vms[i]);
		plan_push(s, vms[i], (uint32_t)h);
	}
}

/*
 * PowerVmAllocationPolicyMigrationAbstract.optimizeAllocation: relieve overloaded
 * hosts, then repeatedly try to empty the least-utilised host. Leaves the plan in
 * s->plan and the cluster as it was.
 */
static uint32_t
optimize(struct vmp_sim *s)
{
	size_t i, nvm = 0, nexcl_under = 0, ncand, cur;
	uint32_t nover = 0;

	s->nplan = 0;
	s->nsaved = 0;
	for (i = 0; i < s->nhosts; i++) {
		struct host *h = &s->hosts[i];

		h->over = host_overloaded(s, h, UINT32_MAX);
		h->excl_place = h->over;
		nover += h->over;
	}
	pidx_build(s);
	/* VM selection: take VMs off each overloaded host until it is not overloaded */
	for (i = 0; i < s->nhosts; i++) {
		struct host *h = &s->hosts[i];

		if (!h->over)
			continue;
		host_save(s, h);
		for (;;) {
			int v = select_vm(s, h);

			if (v < 0)
				break;
			s->scratch_vms[nvm++] = (uint32_t)v;
			host_destroy(s, h, (uint32_t)v);
			if (!host_overloaded(s, h, UINT32_MAX))
				break;
		}
	}
	place(s, s->scratch_vms, nvm, false);

	/* consolidation: empty under-utilised hosts (judged by their last update) */
	for (i = 0; i < s->nhosts; i++) {
		struct host *h = &s->hosts[i];
		bool off = host_util(h) == 0;

		h->excl_under = h->over || off;
		h->excl_place = h->over || off;
		nexcl_under += h->excl_under;
	}
	pidx_build(s);
	s->idle_excluded = true;   /* an idle host has utilisation 0: it counts as off */
	/*
	 * getUnderUtilizedHost: the host with the lowest utilisation (the lowest number on
	 * ties) below 100 %. Utilisations are those of the last update and do not change
	 * while planning, so the candidates are sorted once and taken in order.
	 */
	ncand = 0;
	for (i = 0; i < s->nhosts; i++) {
		double util = host_util(&s->hosts[i]);

		if (!s->hosts[i].excl_under && util > 0 && util < 1)
			s->cand[ncand++] = (uint32_t)i;
	}
	qsort_r(s->cand, ncand, sizeof(uint32_t), cmp_u32_util, s);
	cur = 0;
	while (nexcl_under < s->nhosts) {
		int u = -1;
		size_t first, c;
		struct host *uh;

		while (cur < ncand && s->hosts[s->cand[cur]].excl_under)
			cur++;
		for (c = cur; c < ncand; c++) {
			struct host *h = &s->hosts[s->cand[c]];
			uint32_t k;
			bool all_out = true;

			if (h->excl_under)
				continue;
			/* areAllVmsMigratingOutOrAnyVmMigratingIn */
			for (k = 0; k < h->n; k++) {
				uint32_t v = h->slots[k].vm;

				if (!s->vms[v].in_mig) {
					all_out = false;
					break;
				}
				if (host_has_min(h, v))
					break;
			}
			if (all_out)
				continue;
			u = (int)s->cand[c];
			break;
		}
		if (u < 0)
			break;
		uh = &s->hosts[u];
		uh->excl_under = 1;
		uh->excl_place = 1;
		pidx_touch(s, uh);
		nexcl_under++;
		nvm = 0;
		for (i = 0; i < uh->n; i++)
			if (!s->vms[uh->slots[i].vm].in_mig)
				s->scratch_vms[nvm++] = uh->slots[i].vm;
		if (nvm == 0)
			continue;
		first = s->nplan;
		place(s, s->scratch_vms, nvm, true);
		for (i = first; i < s->nplan; i++) {
			struct host *t = &s->hosts[s->plan[i].host];

			if (!t->excl_under) {
				t->excl_under = 1;
				nexcl_under++;
			}
		}
	}

	s->pidx_on = false;
	/* restoreAllocation: every host back to its saved VM list and allocation */
	for (i = 0; i < s->nsaved; i++) {
		struct host *h = &s->hosts[s->saved_hosts[i]];

		if (h->n + 1 > h->cap || h->save_n > h->cap) {
			size_t c = h->cap;

			h->slots = grow(h->slots, &c, h->save_n + 1, sizeof(struct slot));
			h->cap = (uint32_t)c;
		}
		memcpy(h->slots, h->save_slots, h->save_n * sizeof(struct slot));
		h->storage_used += ((double)h->save_n - (double)h->n) * s->cfg.vm_size_mb;
		h->n = h->save_n;
		h->avail = h->save_avail;
		h->ra_ok = false;
		host_sum_alloc(h);
		h->hist_valid = false;
		h->saved = false;
	}
	s->nsaved = 0;
	return nover;
}

/* -------------------------------------------------------------------- driver -- */

int
vmp_sim_new(const struct vmp_sim_config *cfg, const struct vmp_sim_policy *p,
	    const struct vmp_sim_input *input, struct vmp_sim **ret_sim)
{
	struct vmp_sim *s;
	size_t i, j, per_type;

	if (!cfg->nhosts || !cfg->nhost_types || cfg->nhost_types > VMP_SIM_MAX_TYPES ||
	    !cfg->nvm_types || cfg->nvm_types > VMP_SIM_MAX_TYPES || !(cfg->step_s > 0) ||
	    !input->nvms || !input->nsteps || !input->cpu_pct || !p ||
	    cfg->nhosts > UINT32_MAX / 2 || input->nvms > UINT32_MAX / 2)
		return -EINVAL;
	for (i = 0; i < cfg->nhost_types; i++)
		if (!cfg->host_types[i].power || !(cfg->host_types[i].pe_mips > 0) ||
		    !cfg->host_types[i].pes || !(cfg->host_types[i].bw_kbit > 0))
			return -EINVAL;
	s = zalloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->pol = *p;
	s->pct = input->cpu_pct;
	s->mem_pct = input->mem_pct;
	s->nsteps = input->nsteps;
	s->nvms = input->nvms;
	s->nhosts = cfg->nhosts;
	s->limit_s = (double)input->nsteps * cfg->step_s;
	s->vms = zalloc(s->nvms, sizeof(*s->vms));
	s->in_mig = zalloc(s->nvms, 1);
	s->rej = zalloc(cfg->nhosts, sizeof(*s->rej));
	s->hosts = zalloc(s->nhosts, sizeof(*s->hosts));
	s->scratch_vms = zalloc(s->nvms, sizeof(uint32_t));
	s->saved_hosts = zalloc(s->nhosts, sizeof(uint32_t));
	s->cand = zalloc(s->nhosts, sizeof(uint32_t));
	s->scratch_hosts = zalloc(s->nhosts, sizeof(uint32_t));
	for (i = 0; i < s->nhosts; i++) {
		struct host *h = &s->hosts[i];

		h->type = &s->cfg.host_types[i % cfg->nhost_types];
		h->tidx = (uint8_t)(i % cfg->nhost_types);
		h->in_pidx = false;
		h->total_mips = h->type->pe_mips * h->type->pes;
		h->avail = h->total_mips;
		h->fin_active = true;
		h->power_w = vmp_power_watts(h->type->power, 0);  /* getPower() of an idle host */
	}
	for (i = 0; i < cfg->nhost_types; i++) {
		size_t cnt = (s->nhosts + cfg->nhost_types - 1 - i) / cfg->nhost_types;

		s->pidx[i].order = zalloc(cnt, sizeof(uint32_t));
		s->pidx[i].hot = zalloc(cnt ? cnt : 1, sizeof(struct hot));
		for (j = 0; j < 10; j++) {
			const double *w = cfg->host_types[i].power->watts;

			s->pidx[i].pw_delta[j] = (w[j + 1] - w[j]) / 10;
			s->pidx[i].pw_lo10[j] = (double)(int)j / 10;
		}
		for (j = 0; j <= 10; j++)
			s->pidx[i].pw_grid[j] = vmp_power_watts(cfg->host_types[i].power,
								(double)(int)j / 10);
		s->pidx[i].idle = zalloc(cnt, sizeof(uint32_t));
	}
	if (p->kind != VMP_SIM_NPA && p->kind != VMP_SIM_DVFS)
		pidx_build(s);
	per_type = (s->nvms + cfg->nvm_types - 1) / cfg->nvm_types;
	for (i = 0; i < s->nvms; i++) {
		struct vm *vm = &s->vms[i];
		const struct vmp_sim_vm_type *t = &cfg->vm_types[i / per_type];
		int h;

		vm->mips = t->mips;
		vm->ram = t->ram_mb;
		vm->bw = t->bw_kbit;
		vm->host = -1;
		vm->mig_to = -1;
		vm->req_time = -1;
		vm->lr_mi = NONE;
		vm->instantiating = true;
		h = p->kind == VMP_SIM_NPA || p->kind == VMP_SIM_DVFS ? first_fit(s, (uint32_t)i)
								       : find_host(s, (uint32_t)i, false);
		if (h >= 0) {
			host_create(s, &s->hosts[h], (uint32_t)i);
			vm->host = h;
			vm->alive = true;
			vm->created = true;
			s->vms_created++;
			emit(s, VMP_SIM_EV_PLACE, (int32_t)i, h, -1, 0);
			emit_host(s, h);
		}
		/* a created VM has no workload until the first update: it requests 0 */
		vm->instantiating = false;
		vm->req = 0;
	}
	s->pidx_on = false;
	s->ev_sorted = true;
	s->rng = cfg->seed ? cfg->seed : 1;
	s->tc_time = -1;
	s->clock = 0;
	s->last_process = 0;
	s->next_event = EVENT_OFFSET_S + cfg->step_s;
	*ret_sim = s;
	return 0;
}

void
vmp_sim_free(struct vmp_sim *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nhosts; i++) {
		free(s->hosts[i].slots);
		free(s->hosts[i].min);
		free(s->hosts[i].save_slots);
	}
	for (i = 0; i < s->cfg.nhost_types; i++) {
		free(s->pidx[i].order);
		free(s->pidx[i].hot);
		free(s->pidx[i].idle);
	}
	free(s->hosts);
	free(s->vms);
	free(s->in_mig);
	free(s->rej);
	free(s->ev);
	free(s->scratch_vms);
	free(s->plan);
	free(s->saved_hosts);
	free(s->cand);
	free(s->scratch_hosts);
	free(s->acct_r);
	vmp_sim_result_release(&(struct vmp_sim_result){ .series = s->series });
	free(s);
}

static void
series_push(struct vmp_sim *s, uint32_t overloaded, uint32_t migrations)
{
	struct vmp_sim_series *r = &s->series;
	uint32_t active = 0;
	double power = 0;
	size_t i, c = s->capseries;

	for (i = 0; i < s->nhosts; i++) {
		if (s->hosts[i].util_mips > 0) {
			active++;
			power += host_power(&s->hosts[i]);
		}
	}
	if (r->n + 1 > s->capseries) {
		c = s->capseries;
		r->time_s = grow(r->time_s, &c, r->n + 1, sizeof(double));
		c = s->capseries;
		r->active_hosts = grow(r->active_hosts, &c, r->n + 1, sizeof(uint32_t));
		c = s->capseries;
		r->overloaded_hosts = grow(r->overloaded_hosts, &c, r->n + 1, sizeof(uint32_t));
		c = s->capseries;
		r->migrations = grow(r->migrations, &c, r->n + 1, sizeof(uint32_t));
		c = s->capseries;
		r->power_w = grow(r->power_w, &c, r->n + 1, sizeof(double));
		s->capseries = c;
	}
	r->time_s[r->n] = s->clock;
	r->active_hosts[r->n] = active;
	r->overloaded_hosts[r->n] = overloaded;
	r->migrations[r->n] = migrations;
	r->power_w[r->n] = power;
	r->n++;
}

/*
 * The end of the trace: every host accounted to the end of the day (the simulator's view:
 * to its last record).
 */
static void
acct_finish(struct vmp_sim *s)
{
	double end = s->cfg.acct_hold ? s->last_process : s->limit_s;
	size_t i;

	if (s->acct_done)
		return;
	s->acct_done = true;
	for (i = 0; i < s->nhosts; i++)
		acct_flush(s, &s->hosts[i], end);
	s->acct.window_s = end;
}

int
vmp_sim_step(struct vmp_sim *s)
{
	double t = s->next_event;
	uint64_t before = s->migrations;
	uint32_t nover = 0;
	size_t i;

	complete_migrations(s, t);
	if (!(t < s->limit_s)) {
		acct_finish(s);
		return 0;
	}
	s->clock = t;
	force_update(s, t);
	if (s->pol.kind == VMP_SIM_MIGRATE) {
		nover = optimize(s);
		for (i = 0; i < s->nplan; i++)
			start_migration(s, s->plan[i].vm, s->plan[i].host);
	}
	s->nstep++;
	s->next_event = t + s->cfg.step_s;
	series_push(s, nover, (uint32_t)(s->migrations - before));
	return 1;
}

void
vmp_sim_result_release(struct vmp_sim_result *r)
{
	if (!r)
		return;
	free(r->series.time_s);
	free(r->series.active_hosts);
	free(r->series.overloaded_hosts);
	free(r->series.migrations);
	free(r->series.power_w);
	memset(&r->series, 0, sizeof(r->series));
}

static void *
dup_array(const void *p, size_t n, size_t size)
{
	void *q = zalloc(n, size);

	if (n)
		memcpy(q, p, n * size);
	return q;
}

void
vmp_sim_result(const struct vmp_sim *s, struct vmp_sim_result *ret)
{
	double tot_req = 0, tot_alloc = 0, under = 0, shut_sum = s->shutdown_sum;
	double wait_sum = s->mig_wait_sum;
	uint64_t shut = s->shutdowns, waits = s->mig_waits;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->acct = s->acct;
	ret->acct.unserved_mips_s = s->acct.unserved_overload_mips_s +
				    s->acct.unserved_migration_mips_s;
	ret->acct.worst_vm = -1;
	if (!s->acct_done)
		ret->acct.window_s = s->clock;
	for (i = 0; i < s->nvms; i++) {
		const struct vm *vm = &s->vms[i];

		if (vm->acc_req > 0 && (ret->acct.worst_vm < 0 ||
					vm->acc_unserved / vm->acc_req >
						ret->acct.worst_vm_unserved_frac)) {
			ret->acct.worst_vm = (int32_t)i;
			ret->acct.worst_vm_unserved_frac = vm->acc_unserved / vm->acc_req;
		}
		tot_req += vm->tot_req;
		tot_alloc += vm->tot_alloc;
		under += vm->under_mig;
		/* the last entry is final too (for the shutdown/migration timing stats) */
		if (vm->last.has && vm->fin_mig && !vm->last.flag) {
			wait_sum += vm->last.time - vm->last_mig_end_s;
			waits++;
		}
	}
	for (i = 0; i < s->nhosts; i++) {
		const struct host *h = &s->hosts[i];

		if (h->last.has && h->fin_active && !h->last.flag) {
			shut_sum += h->last.time - h->last_on_s;
			shut++;
		}
	}
	ret->energy_kwh = s->energy_ws / 3600000.0;
	ret->migrations = s->migrations;
	ret->slatah = s->sla_time > 0 ? s->sla_viol / s->sla_time : 0;
	ret->pdm = tot_req > 0 ? under / tot_req : 0;
	ret->slav = ret->slatah * ret->pdm;
	ret->esv = ret->energy_kwh * ret->slav;
	ret->sla_overall = tot_req > 0 ? (tot_req - tot_alloc) / tot_req : 0;
	ret->host_shutdowns = shut;
	ret->mean_time_before_host_shutdown_s = shut ? shut_sum / (double)shut : 0;
	ret->mean_time_before_vm_migration_s = waits ? wait_sum / (double)waits : 0;
	ret->vms_created = s->vms_created;
	ret->vms_completed = s->vms_completed;
	ret->simulated_s = s->last_process;
	ret->series.n = s->series.n;
	ret->series.time_s = dup_array(s->series.time_s, s->series.n, sizeof(double));
	ret->series.active_hosts = dup_array(s->series.active_hosts, s->series.n,
					     sizeof(uint32_t));
	ret->series.overloaded_hosts = dup_array(s->series.overloaded_hosts, s->series.n,
						 sizeof(uint32_t));
	ret->series.migrations = dup_array(s->series.migrations, s->series.n,
					   sizeof(uint32_t));
	ret->series.power_w = dup_array(s->series.power_w, s->series.n, sizeof(double));
}

int
vmp_sim_run(const struct vmp_sim_config *cfg, const struct vmp_sim_policy *p,
	    const struct vmp_sim_input *input, struct vmp_sim_result *ret)
{
	struct vmp_sim *s = NULL;
	int r;

	r = vmp_sim_new(cfg, p, input, &s);
	if (r < 0)
		return r;
	while (vmp_sim_step(s) > 0)
		;
	vmp_sim_result(s, ret);
	vmp_sim_free(s);
	return 0;
}

/* ------------------------------------------------------------------ access -- */

/* VM v's memory demand (MB) at time t, linear between samples. */
static double
vm_mem_at(const struct vmp_sim *s, size_t v, double t)
{
	double step = s->cfg.step_s, u1, u2;
	long k;

	if (!s->mem_pct)
		return s->vms[v].ram;
	k = (long)floor(t / step);
	u1 = mem_sample(s, v, k);
	u2 = mem_sample(s, v, k + 1);
	return (u1 + (u2 - u1) * (t - (double)k * step) / step) * s->vms[v].ram;
}

size_t
vmp_sim_nvms(const struct vmp_sim *s)
{
	return s->nvms;
}

size_t
vmp_sim_nhosts(const struct vmp_sim *s)
{
	return s->nhosts;
}

double
vmp_sim_time_s(const struct vmp_sim *s)
{
	return s->clock;
}

int
vmp_sim_vm(const struct vmp_sim *s, size_t v, struct vmp_sim_vm_state *ret)
{
	const struct vm *vm;
	uint32_t k;

	if (v >= s->nvms)
		return -ENOENT;
	vm = &s->vms[v];
	memset(ret, 0, sizeof(*ret));
	ret->mem_demand_mb = vm_mem_at(s, v, s->clock);
	ret->host = vm->host;
	ret->migrating_to = -1;
	ret->mips = vm->mips;
	ret->ram_mb = vm->ram;
	ret->requested_mips = vm->req;
	ret->completed = vm->created && !vm->alive;
	ret->cpu_mips_s = vm->tot_alloc;
	if (vm->last.has && s->clock > vm->last.time)
		ret->cpu_mips_s += vm->last.alloc * (s->clock - vm->last.time);
	ret->migrating_to = vm->mig_to;
	if (vm->host >= 0) {
		const struct host *h = &s->hosts[vm->host];

		/* the last slot of v (the scan from the end stops at it) */
		for (k = h->n; k-- > 0;)
			if (h->slots[k].vm == v) {
				ret->allocated_mips = h->slots[k].alloc;
				break;
			}
	}
	return 0;
}

int
vmp_sim_host(const struct vmp_sim *s, size_t i, struct vmp_sim_host_state *ret)
{
	const struct host *h;
	uint32_t k;

	if (i >= s->nhosts)
		return -ENOENT;
	h = &s->hosts[i];
	ret->total_mips = h->total_mips;
	ret->ram_mb = h->type->ram_mb;
	ret->mem_demand_mb = 0;
	for (k = 0; k < h->n; k++)
		ret->mem_demand_mb += vm_mem_at(s, h->slots[k].vm, s->clock);
	ret->utilization_frac = host_util(h);
	ret->power_w = h->util_mips > 0 ? host_power(h) : 0;
	ret->nvms = h->n;
	ret->active = h->util_mips > 0;
	return 0;
}

int
vmp_sim_migrate(struct vmp_sim *s, size_t v, size_t host)
{
	if (v >= s->nvms || host >= s->nhosts || s->vms[v].host < 0)
		return -ENOENT;
	if (s->vms[v].in_mig)
		return -EBUSY;
	if ((size_t)s->vms[v].host == host)
		return -EINVAL;
	start_migration(s, (uint32_t)v, (uint32_t)host);
	return 0;
}
