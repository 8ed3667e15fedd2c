/* SPDX-License-Identifier: MIT */
/*
 * vmpilot's consolidation policy (pilot.h): decayed demand moments per VM, a Gaussian
 * aggregate per host, cheapest-first relief, all-or-nothing consolidation of nearly idle
 * hosts with hysteresis and a budget. doc/pilot-policy.md derives each rule.
 */
#include "core/pilot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vm_stat {
	double last;             /* newest demand, MIPS */
	double mean;             /* decayed mean */
	double var_step;         /* decayed mean of squared one-step changes */
	uint32_t n;              /* samples seen (saturates) */
	int64_t moved_step;      /* step of its last planned move */
};

struct host_plan {
	double d;                /* forecast mean: sum of VM means, MIPS */
	double v;                /* forecast variance: sum of VM variances */
	int64_t woke_step;       /* step the policy last woke it up */
	uint32_t first, n;       /* its VMs in pl->by_host[first .. first+n) */
	bool on;                 /* on now or woken by this plan */
	bool source;             /* relieved this step: takes nothing */
	bool dest;               /* took a VM this step: is not emptied */
	bool emptied;            /* being emptied this step: takes nothing */
};

struct undo {
	double d, v;
	int64_t moved_step;
	bool dest;
};

struct cand {
	double load, w_per_mips;
	uint32_t host;
};

struct vmp_pilot {
	struct vmp_pilot_params p;
	size_t nhosts, nvms;
	int64_t step;
	struct vm_stat *stat;
	struct host_plan *hp;
	int32_t *where;          /* planned host of each VM this step */
	uint32_t *by_host;       /* VMs grouped by host */
	uint32_t *on_list;       /* hosts that are on, for destination searches */
	size_t non;
	struct cand *cand;       /* scratch: consolidation candidates */
	uint32_t *tmp;           /* scratch: the VMs of the host being emptied */
	struct undo *undo;       /* scratch: what an emptying attempt changed */
	struct vmp_pilot_move *moves;
	size_t nmoves, capmoves;
};

static void *
pzalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

void
vmp_pilot_params_default(struct vmp_pilot_params *p)
{
	/* tuned on 20110303 and 20110322 only: doc/pilot-policy.md, "Tuning" */
	p->alpha = 0.2;
	p->k_sigma = 0.6;
	p->high_frac = 1.0;
	p->target_frac = 1.0;
	p->low_frac = 0.7;
	p->sigma_floor_frac = 0.01;
	p->hold_steps = 6;
	p->wake_hold_steps = 6;
	p->budget_frac = 0.2;
}

int
vmp_pilot_params_set(struct vmp_pilot_params *p, const char *name, double value)
{
	if (strcmp(name, "alpha") == 0)
		p->alpha = value;
	else if (strcmp(name, "k_sigma") == 0)
		p->k_sigma = value;
	else if (strcmp(name, "high_frac") == 0)
		p->high_frac = value;
	else if (strcmp(name, "target_frac") == 0)
		p->target_frac = value;
	else if (strcmp(name, "low_frac") == 0)
		p->low_frac = value;
	else if (strcmp(name, "sigma_floor_frac") == 0)
		p->sigma_floor_frac = value;
	else if (strcmp(name, "hold_steps") == 0)
		p->hold_steps = value < 0 ? 0 : (unsigned)value;
	else if (strcmp(name, "wake_hold_steps") == 0)
		p->wake_hold_steps = value < 0 ? 0 : (unsigned)value;
	else if (strcmp(name, "budget_frac") == 0)
		p->budget_frac = value;
	else
		return -ENOENT;
	return 0;
}

const char *
vmp_pilot_reason_name(enum vmp_pilot_reason r)
{
	switch (r) {
	case VMP_PILOT_RELIEVE:
		return "relieve";
	case VMP_PILOT_CONSOLIDATE:
		return "consolidate";
	default:
		return "?";
	}
}

int
vmp_pilot_move_explain(const struct vmp_pilot_move *m, char *buf, size_t size)
{
	return snprintf(buf, size, "%s: host %u at %.0f %% of capacity (forecast), vm %u to host "
			"%u (then %.0f %%), costs %.0f MIPS s", vmp_pilot_reason_name(m->reason),
			m->from, m->source_forecast_frac * 100, m->vm, m->to,
			m->dest_forecast_frac * 100, m->cost_mips_s);
}

int
vmp_pilot_new(const struct vmp_pilot_params *p, size_t nhosts, size_t nvms,
	      struct vmp_pilot **ret_pilot)
{
	struct vmp_pilot *pl;
	size_t i;

	if (!(p->alpha > 0 && p->alpha <= 1) || !(p->k_sigma >= 0) ||
	    !(p->target_frac > 0 && p->target_frac <= p->high_frac) ||
	    !(p->low_frac >= 0 && p->low_frac < p->target_frac) || !(p->sigma_floor_frac >= 0) ||
	    !(p->budget_frac >= 0) || nhosts == 0 || nhosts > INT32_MAX || nvms > INT32_MAX)
		return -EINVAL;
	pl = pzalloc(1, sizeof(*pl));
	pl->p = *p;
	pl->nhosts = nhosts;
	pl->nvms = nvms;
	pl->stat = pzalloc(nvms, sizeof(*pl->stat));
	pl->hp = pzalloc(nhosts, sizeof(*pl->hp));
	pl->where = pzalloc(nvms, sizeof(*pl->where));
	pl->by_host = pzalloc(nvms, sizeof(*pl->by_host));
	pl->on_list = pzalloc(nhosts, sizeof(*pl->on_list));
	pl->cand = pzalloc(nhosts, sizeof(*pl->cand));
	pl->tmp = pzalloc(nvms, sizeof(*pl->tmp));
	pl->undo = pzalloc(nvms, sizeof(*pl->undo));
	for (i = 0; i < nvms; i++)
		pl->stat[i].moved_step = INT32_MIN;
	for (i = 0; i < nhosts; i++)
		pl->hp[i].woke_step = INT32_MIN;
	*ret_pilot = pl;
	return 0;
}

void
vmp_pilot_free(struct vmp_pilot *pl)
{
	if (!pl)
		return;
	free(pl->stat);
	free(pl->hp);
	free(pl->where);
	free(pl->by_host);
	free(pl->on_list);
	free(pl->cand);
	free(pl->tmp);
	free(pl->undo);
	free(pl->moves);
	free(pl);
}

double
vmp_pilot_migration_s(const struct vmp_pilot_vm *vm, double bw_kib_s)
{
	double dirty = vm->dirty_kib_s;

	/*
	 * Pre-copy sends the RAM, then what was dirtied meanwhile, and so on: a geometric
	 * series RAM x (1 + r + r^2 + ...) with r = dirty / bw, i.e. RAM / (bw - dirty).
	 * A VM dirtying faster than the link never converges: cap r at 0.9.
	 */
	if (dirty > 0.9 * bw_kib_s)
		dirty = 0.9 * bw_kib_s;
	return vm->ram_kib / (bw_kib_s - dirty);
}

double
vmp_pilot_migration_cost(const struct vmp_pilot_vm *vm, double bw_kib_s)
{
	return 0.1 * vm->demand_mips * vmp_pilot_migration_s(vm, bw_kib_s);
}

static double
vm_sigma(const struct vmp_pilot *pl, const struct vmp_pilot_vm *vm, const struct vm_stat *st)
{
	double floor_mips = pl->p.sigma_floor_frac * vm->mips;

	return st->var_step > floor_mips * floor_mips ? sqrt(st->var_step) : floor_mips;
}

int
vmp_pilot_vm_forecast(const struct vmp_pilot *pl, size_t v, double *ret_mean_mips,
		      double *ret_sigma_mips)
{
	if (v >= pl->nvms)
		return -EINVAL;
	*ret_mean_mips = pl->stat[v].last;
	*ret_sigma_mips = sqrt(pl->stat[v].var_step);
	return 0;
}

/* Adds each VM's demand now to its decayed moments. */
static void
observe(struct vmp_pilot *pl, const struct vmp_pilot_vm *vms)
{
	double a = pl->p.alpha;
	size_t i;

	for (i = 0; i < pl->nvms; i++) {
		struct vm_stat *st = &pl->stat[i];
		double x = vms[i].demand_mips, d;

		if (vms[i].host < 0)
			continue;
		if (st->n == 0) {
			/* no change seen yet: a prior of a tenth of the VM's size */
			st->last = st->mean = x;
			st->var_step = 0.01 * vms[i].mips * vms[i].mips;
			st->n = 1;
			continue;
		}
		d = x - st->last;
		st->var_step = (1 - a) * st->var_step + a * d * d;
		st->mean = (1 - a) * st->mean + a * x;
		st->last = x;
		if (st->n < UINT32_MAX)
			st->n++;
	}
}

static double
forecast(const struct vmp_pilot *pl, double d, double v)
{
	return d + pl->p.k_sigma * sqrt(v > 0 ? v : 0);
}

static double
vm_mean(const struct vmp_pilot *pl, size_t v)
{
	return pl->stat[v].last;
}

/* Groups VMs by host and sums each host's forecast moments. */
static void
aggregate(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	  const struct vmp_pilot_vm *vms)
{
	size_t i;
	uint32_t pos = 0;

	for (i = 0; i < pl->nhosts; i++) {
		struct host_plan *h = &pl->hp[i];

		h->d = h->v = 0;
		h->n = 0;
		h->on = hosts[i].on;
		h->source = h->dest = h->emptied = false;
	}
	for (i = 0; i < pl->nvms; i++) {
		double s;

		pl->where[i] = vms[i].host;
		if (vms[i].host < 0 || (size_t)vms[i].host >= pl->nhosts)
			continue;
		s = vm_sigma(pl, &vms[i], &pl->stat[i]);
		pl->hp[vms[i].host].n++;
		pl->hp[vms[i].host].d += vm_mean(pl, i);
		pl->hp[vms[i].host].v += s * s;
		pl->hp[vms[i].host].on = true;
	}
	for (i = 0; i < pl->nhosts; i++) {
		pl->hp[i].first = pos;
		pos += pl->hp[i].n;
		pl->hp[i].n = 0;
	}
	for (i = 0; i < pl->nvms; i++) {
		struct host_plan *h;

		if (pl->where[i] < 0 || (size_t)pl->where[i] >= pl->nhosts) {
			pl->where[i] = -1;
			continue;
		}
		h = &pl->hp[pl->where[i]];
		pl->by_host[h->first + h->n++] = (uint32_t)i;
	}
	pl->non = 0;
	for (i = 0; i < pl->nhosts; i++)
		if (pl->hp[i].on)
			pl->on_list[pl->non++] = (uint32_t)i;
}

/* Watts per MIPS of host h at full load: what a MIPS costs on it at best. */
static double
full_w_per_mips(const struct vmp_pilot_host *h)
{
	return h->power->watts[10] / h->capacity_mips;
}

static void
push_move(struct vmp_pilot *pl, const struct vmp_pilot_move *m)
{
	if (pl->nmoves == pl->capmoves) {
		pl->capmoves = pl->capmoves ? pl->capmoves * 2 : 64;
		pl->moves = realloc(pl->moves, pl->capmoves * sizeof(*pl->moves));
		if (!pl->moves)
			abort();
	}
	pl->moves[pl->nmoves++] = *m;
}

/*
 * The destination for VM v: the on host (not a source, not being emptied) that stays
 * below target after taking it and is the fullest such host (best fit: it leaves the
 * others emptier, to be switched off); if wake, else an off host of the cheapest
 * type per MIPS. Returns the host or -1.
 */
static int
find_dest(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	  const struct vmp_pilot_vm *vms, size_t v, int32_t exclude, bool wake)
{
	double mu = vm_mean(pl, v), s = vm_sigma(pl, &vms[v], &pl->stat[v]);
	double best = -1, best_cost = INFINITY;
	int pick = -1;
	size_t k;

	for (k = 0; k < pl->non; k++) {
		uint32_t i = pl->on_list[k];
		const struct host_plan *h = &pl->hp[i];
		double cap = hosts[i].capacity_mips, f;

		if ((int32_t)i == exclude || h->source || h->emptied)
			continue;
		if (vms[v].mips > hosts[i].core_mips)
			continue;
		f = forecast(pl, h->d + mu, h->v + s * s) / cap;
		if (f > pl->p.target_frac)
			continue;
		if (f > best) {
			best = f;
			pick = (int)i;
		}
	}
	if (pick >= 0 || !wake)
		return pick;
	for (k = 0; k < pl->nhosts; k++) {
		const struct host_plan *h = &pl->hp[k];
		double c;

		if (h->on || vms[v].mips > hosts[k].core_mips)
			continue;
		if (forecast(pl, mu, s * s) > pl->p.target_frac * hosts[k].capacity_mips)
			continue;
		c = full_w_per_mips(&hosts[k]);
		if (c < best_cost) {
			best_cost = c;
			pick = (int)k;
		}
	}
	return pick;
}

/* Moves v (planning only) from its planned host to host to. */
static void
plan_move(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	  const struct vmp_pilot_vm *vms, size_t v, uint32_t to, enum vmp_pilot_reason why)
{
	uint32_t from = (uint32_t)pl->where[v];
	struct host_plan *hf = &pl->hp[from], *ht = &pl->hp[to];
	double mu = vm_mean(pl, v), s = vm_sigma(pl, &vms[v], &pl->stat[v]);
	struct vmp_pilot_move m;

	m.vm = (uint32_t)v;
	m.from = from;
	m.to = to;
	m.reason = why;
	m.source_forecast_frac = forecast(pl, hf->d, hf->v) / hosts[from].capacity_mips;
	hf->d -= mu;
	hf->v -= s * s;
	ht->d += mu;
	ht->v += s * s;
	ht->dest = true;
	if (!ht->on) {
		ht->on = true;
		ht->woke_step = pl->step;
		pl->on_list[pl->non++] = to;
	}
	m.dest_forecast_frac = forecast(pl, ht->d, ht->v) / hosts[to].capacity_mips;
	m.cost_mips_s = vmp_pilot_migration_cost(&vms[v], hosts[from].bw_kib_s);
	pl->where[v] = (int32_t)to;
	pl->stat[v].moved_step = pl->step;
	push_move(pl, &m);
}

/*
 * Relief of host h: takes VMs off it, the one with the best relief per second of
 * migration first (a VM that alone brings the host under target at the least cost if
 * there is one), until its forecast is under target.
 */
static void
relieve(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	const struct vmp_pilot_vm *vms, uint32_t hi)
{
	struct host_plan *h = &pl->hp[hi];
	double cap = hosts[hi].capacity_mips, target = pl->p.target_frac * cap;
	uint32_t k;

	h->source = true;
	while (forecast(pl, h->d, h->v) > target) {
		double f = forecast(pl, h->d, h->v);
		double best_cover = INFINITY, best_rate = -1;
		int cover = -1, rate = -1, pick, to;

		for (k = 0; k < h->n; k++) {
			uint32_t v = pl->by_host[h->first + k];
			double mu, s, after, t, cost;

			if (pl->where[v] != (int32_t)hi || vms[v].migrating)
				continue;
			mu = vm_mean(pl, v);
			s = vm_sigma(pl, &vms[v], &pl->stat[v]);
			after = forecast(pl, h->d - mu, h->v - s * s);
			t = vmp_pilot_migration_s(&vms[v], hosts[hi].bw_kib_s);
			cost = t * (mu + 0.01 * vms[v].mips);
			if (after <= target && cost < best_cover) {
				best_cover = cost;
				cover = (int)v;
			}
			if ((f - after) / t > best_rate) {
				best_rate = (f - after) / t;
				rate = (int)v;
			}
		}
		pick = cover >= 0 ? cover : rate;
		if (pick < 0)
			break;
		to = find_dest(pl, hosts, vms, (size_t)pick, (int32_t)hi, true);
		if (to < 0)
			break;
		plan_move(pl, hosts, vms, (size_t)pick, (uint32_t)to, VMP_PILOT_RELIEVE);
	}
}

/*
 * Tries to empty host hi onto other on hosts, all its VMs or none. Returns the number
 * of moves planned (0 if it could not).
 */
static size_t
empty_host(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	   const struct vmp_pilot_vm *vms, uint32_t hi, size_t budget)
{
	struct host_plan *h = &pl->hp[hi];
	size_t first = pl->nmoves, n = 0, k, j;
	double save_d = h->d, save_v = h->v;

	for (k = 0; k < h->n; k++) {
		uint32_t v = pl->by_host[h->first + k];

		if (pl->where[v] != (int32_t)hi)
			continue;
		if (vms[v].migrating || pl->step - pl->stat[v].moved_step < pl->p.hold_steps)
			return 0;
		pl->tmp[n++] = v;
	}
	if (n == 0 || n > budget)
		return 0;
	/* biggest first: the hardest to fit decides early */
	for (k = 1; k < n; k++) {
		uint32_t x = pl->tmp[k];

		for (j = k; j > 0 && vm_mean(pl, pl->tmp[j - 1]) < vm_mean(pl, x); j--)
			pl->tmp[j] = pl->tmp[j - 1];
		pl->tmp[j] = x;
	}
	h->emptied = true;
	for (k = 0; k < n; k++) {
		uint32_t v = pl->tmp[k];
		int to = find_dest(pl, hosts, vms, v, (int32_t)hi, false);
		struct undo *u = &pl->undo[k];

		if (to < 0)
			break;
		u->d = pl->hp[to].d;
		u->v = pl->hp[to].v;
		u->dest = pl->hp[to].dest;
		u->moved_step = pl->stat[v].moved_step;
		plan_move(pl, hosts, vms, v, (uint32_t)to, VMP_PILOT_CONSOLIDATE);
	}
	if (k == n)
		return n;
	/* undo in reverse order: the destinations' sums, the VMs' places and move times */
	while (pl->nmoves > first) {
		const struct vmp_pilot_move *m = &pl->moves[--pl->nmoves];
		const struct undo *u = &pl->undo[pl->nmoves - first];

		pl->hp[m->to].d = u->d;
		pl->hp[m->to].v = u->v;
		pl->hp[m->to].dest = u->dest;
		pl->where[m->vm] = (int32_t)hi;
		pl->stat[m->vm].moved_step = u->moved_step;
	}
	h->d = save_d;
	h->v = save_v;
	h->emptied = false;
	return 0;
}

/* Consolidation order: the least loaded first; among equals the costliest per MIPS. */
static int
cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->load != y->load)
		return x->load < y->load ? -1 : 1;
	if (x->w_per_mips != y->w_per_mips)
		return x->w_per_mips > y->w_per_mips ? -1 : 1;
	return x->host < y->host ? -1 : x->host > y->host;
}

int
vmp_pilot_plan(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, size_t nhosts,
	       const struct vmp_pilot_vm *vms, size_t nvms,
	       const struct vmp_pilot_move **ret_moves)
{
	size_t i, ncand = 0, budget, nrelief;

	if (nhosts != pl->nhosts || nvms != pl->nvms)
		return -EINVAL;
	pl->nmoves = 0;
	pl->step++;
	observe(pl, vms);
	aggregate(pl, hosts, vms);

	/* 1. relieve hosts overloaded now or forecast above high */
	for (i = 0; i < nhosts; i++) {
		const struct host_plan *h = &pl->hp[i];
		double cap = hosts[i].capacity_mips, now = 0;
		uint32_t k;

		if (h->n == 0)
			continue;
		for (k = 0; k < h->n; k++)
			now += vms[pl->by_host[h->first + k]].demand_mips;
		if (now > cap || forecast(pl, h->d, h->v) > pl->p.high_frac * cap)
			relieve(pl, hosts, vms, (uint32_t)i);
	}
	nrelief = pl->nmoves;

	/* 2. empty nearly idle hosts, the least loaded first, within the budget */
	budget = (size_t)(pl->p.budget_frac * (double)nvms);
	if (budget < 1)
		budget = 1;
	for (i = 0; i < nhosts; i++) {
		const struct host_plan *h = &pl->hp[i];

		if (!h->on || h->n == 0 || h->source || h->dest ||
		    pl->step - h->woke_step < pl->p.wake_hold_steps)
			continue;
		if (forecast(pl, h->d, h->v) >= pl->p.low_frac * hosts[i].capacity_mips)
			continue;
		pl->cand[ncand].load = h->d / hosts[i].capacity_mips;
		pl->cand[ncand].w_per_mips = full_w_per_mips(&hosts[i]);
		pl->cand[ncand++].host = (uint32_t)i;
	}
	qsort(pl->cand, ncand, sizeof(*pl->cand), cmp_cand);
	for (i = 0; i < ncand && pl->nmoves - nrelief < budget; i++) {
		uint32_t hi = pl->cand[i].host;
		const struct host_plan *h = &pl->hp[hi];

		if (h->dest || h->source)
			continue;
		empty_host(pl, hosts, vms, hi, budget - (pl->nmoves - nrelief));
	}
	*ret_moves = pl->moves;
	return (int)pl->nmoves;
}
