/* SPDX-License-Identifier: MIT */
/*
 * vmpilot's cluster planner (pilot.h): decayed demand moments per VM, a Gaussian
 * aggregate per host, memory relief, cheapest-first CPU relief, all-or-nothing
 * consolidation of nearly idle hosts with hysteresis and a budget.
 * doc/pilot-policy.md derives each rule.
 */
#include "core/pilot.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct host_plan {
	double d;                /* forecast mean: sum of VM means, MIPS */
	double v;                /* forecast variance: sum of VM variances */
	double mfree;            /* memory free (planned) */
	double mshort;           /* memory still to leave it (planned) */
	int64_t woke_step;       /* step the policy last woke it up */
	uint32_t first, n;       /* its VMs in pl->by_host[first .. first+n) */
	bool on;                 /* on now or woken by this plan */
	bool source;             /* relieved this step: takes nothing */
	bool dest;               /* took a VM this step: is not emptied */
	bool emptied;            /* being emptied this step: takes nothing */
};

struct undo {
	double d, v, mfree;
	int64_t moved_step;
	bool dest;
};

struct cand {
	double load, w_per_mips;
	uint32_t host;
};

/*
 * The destination index: find_dest() wants, among the on hosts, the one whose forecast
 * after taking the VM is the highest still under target. Scanning every on host for
 * every move made planning quadratic (10,000 hosts: 1.5 s for the first step's 20,000
 * moves). The index keeps each on host in a bucket by its forecast / capacity now, g;
 * taking a VM of mean mu and spread s raises it to f <= g + (mu + k s) / capacity
 * (sqrt(v + s^2) <= sqrt(v) + s), so a search scans the buckets from the top and stops
 * once no host below can beat the best found. It finds the same host as the full scan
 * (ties go to the earlier host in on_list, as the scan's order gave them). A host with
 * g above target (or not a finite number) sits in the top bucket, never scanned: it can
 * take nothing. With a host whose capacity is not a positive number the planner falls
 * back to the full scan.
 */
#define NBUCKETS 1024
#define NO_HOST UINT32_MAX
/* bounds are widened by this much (fractions of capacity) against rounding */
#define INDEX_SLACK 1e-9

struct vmp_pilot {
	struct vmp_pilot_params p;
	size_t nhosts, nvms;
	size_t capvms;           /* size of the per-VM scratch arrays */
	int64_t step;
	struct host_plan *hp;
	int32_t *where;          /* planned host of each VM this step */
	uint32_t *by_host;       /* VMs grouped by host */
	uint32_t *on_list;       /* hosts that are on, for destination searches */
	size_t non;
	/* the destination index (above) over the on hosts */
	bool indexed;            /* false: find_dest() scans on_list */
	double cap_min;          /* smallest capacity of all hosts */
	uint32_t *on_pos;        /* per host: its position in on_list */
	uint32_t *bucket_of;     /* per host: its bucket (NO_HOST: not indexed) */
	uint32_t *bnext, *bprev; /* per host: the bucket's doubly linked list */
	uint32_t bhead[NBUCKETS + 1]; /* NBUCKETS: hosts that can take nothing */
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
	p->target_frac = 0.7;
	p->low_frac = 0.6;
	p->sigma_floor_frac = 0.01;
	p->hold_steps = 6;
	p->wake_hold_steps = 6;
	p->budget_frac = 0.2;
	p->mem_keep_free_frac = 0.2; /* the daemon's default: host_pressure_free_pct 20 */
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
	else if (strcmp(name, "mem_keep_free_frac") == 0)
		p->mem_keep_free_frac = value;
	else
		return -ENOENT;
	return 0;
}

int
vmp_pilot_params_parse(struct vmp_pilot_params *p, const char *text)
{
	const char *s = text;

	while (*s) {
		char name[64], *end;
		size_t n = 0;
		double v;

		while (isspace((unsigned char)*s))
			s++;
		while (*s && *s != '=' && *s != ',' && !isspace((unsigned char)*s)) {
			if (n + 1 >= sizeof(name))
				return -EINVAL;
			name[n++] = *s++;
		}
		name[n] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		if (n == 0 || *s != '=')
			return -EINVAL;
		s++;
		errno = 0;
		v = strtod(s, &end);
		if (errno || end == s || !isfinite(v))
			return -EINVAL;
		s = end;
		while (isspace((unsigned char)*s))
			s++;
		if (*s && *s != ',')
			return -EINVAL;
		if (*s == ',')
			s++;
		if (vmp_pilot_params_set(p, name, v) < 0)
			return -EINVAL;
	}
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
	case VMP_PILOT_RELIEVE_MEMORY:
		return "relieve-memory";
	default:
		return "?";
	}
}

int
vmp_pilot_move_explain(const struct vmp_pilot_move *m, const char *vm_name,
		       const char *from_name, const char *to_name, char *buf, size_t size)
{
	char vm[32], from[32], to[32], mem[96] = "";

	snprintf(vm, sizeof(vm), "%u", m->vm);
	snprintf(from, sizeof(from), "%u", m->from);
	snprintf(to, sizeof(to), "%u", m->to);
	if (m->reason == VMP_PILOT_RELIEVE_MEMORY)
		snprintf(mem, sizeof(mem), ", short of %.0f MiB of memory",
			 m->source_mem_short_kib / 1024);
	return snprintf(buf, size, "%s: host %s at %.0f %% of CPU capacity (forecast)%s, vm %s "
			"to host %s%s (then %.0f %%), %.1f s, costs %.0f MIPS s",
			vmp_pilot_reason_name(m->reason), from_name ? from_name : from,
			m->source_forecast_frac * 100, mem, vm_name ? vm_name : vm,
			to_name ? to_name : to, m->wake ? " (woken up)" : "",
			m->dest_forecast_frac * 100, m->migration_s, m->cost_mips_s);
}

/* Grows the per-VM scratch arrays to nvms. */
static void
reserve_vms(struct vmp_pilot *pl, size_t nvms)
{
	if (nvms <= pl->capvms && pl->where)
		return;
	free(pl->where);
	free(pl->by_host);
	free(pl->tmp);
	free(pl->undo);
	pl->capvms = nvms;
	pl->where = pzalloc(nvms, sizeof(*pl->where));
	pl->by_host = pzalloc(nvms, sizeof(*pl->by_host));
	pl->tmp = pzalloc(nvms, sizeof(*pl->tmp));
	pl->undo = pzalloc(nvms, sizeof(*pl->undo));
}

static bool
params_ok(const struct vmp_pilot_params *p)
{
	return p->alpha > 0 && p->alpha <= 1 && p->k_sigma >= 0 && p->target_frac > 0 &&
	       p->target_frac <= p->high_frac && p->low_frac >= 0 &&
	       p->low_frac < p->target_frac && p->sigma_floor_frac >= 0 && p->budget_frac >= 0 &&
	       p->mem_keep_free_frac >= 0 && p->mem_keep_free_frac < 1;
}

int
vmp_pilot_set_params(struct vmp_pilot *pl, const struct vmp_pilot_params *p)
{
	if (!params_ok(p))
		return -EINVAL;
	pl->p = *p;
	return 0;
}

int
vmp_pilot_new(const struct vmp_pilot_params *p, size_t nhosts, size_t nvms,
	      struct vmp_pilot **ret_pilot)
{
	struct vmp_pilot *pl;
	size_t i;

	if (!params_ok(p) || nhosts == 0 || nhosts > INT32_MAX || nvms > INT32_MAX)
		return -EINVAL;
	pl = pzalloc(1, sizeof(*pl));
	pl->p = *p;
	pl->nhosts = nhosts;
	pl->nvms = nvms;
	pl->hp = pzalloc(nhosts, sizeof(*pl->hp));
	pl->on_list = pzalloc(nhosts, sizeof(*pl->on_list));
	pl->cand = pzalloc(nhosts, sizeof(*pl->cand));
	pl->on_pos = pzalloc(nhosts, sizeof(*pl->on_pos));
	pl->bucket_of = pzalloc(nhosts, sizeof(*pl->bucket_of));
	pl->bnext = pzalloc(nhosts, sizeof(*pl->bnext));
	pl->bprev = pzalloc(nhosts, sizeof(*pl->bprev));
	reserve_vms(pl, nvms);
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
	free(pl->hp);
	free(pl->where);
	free(pl->by_host);
	free(pl->on_list);
	free(pl->on_pos);
	free(pl->bucket_of);
	free(pl->bnext);
	free(pl->bprev);
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
vm_sigma(const struct vmp_pilot *pl, const struct vmp_pilot_vm *vm)
{
	double floor_mips = pl->p.sigma_floor_frac * vm->mips;

	return vm->hist.var_step > floor_mips * floor_mips ? sqrt(vm->hist.var_step) : floor_mips;
}

void
vmp_pilot_vm_forecast(const struct vmp_pilot_vm *vm, double *ret_mean_mips,
		      double *ret_sigma_mips)
{
	*ret_mean_mips = vm->hist.last;
	*ret_sigma_mips = sqrt(vm->hist.var_step);
}

void
vmp_pilot_history_add(const struct vmp_pilot_params *p, struct vmp_pilot_history *st,
		      double demand_mips, double mips)
{
	double a = p->alpha, x = demand_mips, d;

	if (st->n == 0) {
		/* no change seen yet: a prior of a tenth of the VM's size */
		st->last = st->mean = x;
		st->var_step = 0.01 * mips * mips;
		st->n = 1;
		st->moved_step = INT32_MIN;
		return;
	}
	d = x - st->last;
	st->var_step = (1 - a) * st->var_step + a * d * d;
	st->mean = (1 - a) * st->mean + a * x;
	st->last = x;
	if (st->n < UINT32_MAX)
		st->n++;
}

/* Adds each VM's demand now to its decayed moments. */
static void
observe(struct vmp_pilot *pl, struct vmp_pilot_vm *vms)
{
	size_t i;

	for (i = 0; i < pl->nvms; i++)
		if (vms[i].host >= 0)
			vmp_pilot_history_add(&pl->p, &vms[i].hist, vms[i].demand_mips,
					      vms[i].mips);
}

static double
forecast(const struct vmp_pilot *pl, double d, double v)
{
	return d + pl->p.k_sigma * sqrt(v > 0 ? v : 0);
}

static double
vm_mean(const struct vmp_pilot_vm *vms, size_t v)
{
	return vms[v].hist.last;
}

/* Watts per MIPS of host h at full load: what a MIPS costs on it at best (0: unknown). */
static double
full_w_per_mips(const struct vmp_pilot_host *h)
{
	return (h->power ? h->power->watts[10] : h->full_watts) / h->capacity_mips;
}

/* Puts on host i into the bucket of its forecast / capacity now (moves it if it changed). */
static void
index_update(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, uint32_t i)
{
	const struct host_plan *h = &pl->hp[i];
	double g = forecast(pl, h->d, h->v) / hosts[i].capacity_mips;
	double target = pl->p.target_frac;
	uint32_t b, old = pl->bucket_of[i];

	if (!pl->indexed)
		return;
	if (!isfinite(g) || g > target)
		b = NBUCKETS;
	else if (g <= 0)
		b = 0;
	else {
		double x = g / target * NBUCKETS;

		b = x >= NBUCKETS - 1 ? NBUCKETS - 1 : (uint32_t)x;
	}
	if (b == old)
		return;
	if (old != NO_HOST) {
		if (pl->bprev[i] != NO_HOST)
			pl->bnext[pl->bprev[i]] = pl->bnext[i];
		else
			pl->bhead[old] = pl->bnext[i];
		if (pl->bnext[i] != NO_HOST)
			pl->bprev[pl->bnext[i]] = pl->bprev[i];
	}
	pl->bucket_of[i] = b;
	pl->bprev[i] = NO_HOST;
	pl->bnext[i] = pl->bhead[b];
	if (pl->bhead[b] != NO_HOST)
		pl->bprev[pl->bhead[b]] = i;
	pl->bhead[b] = i;
}

/* Appends host i to on_list, and to the index. */
static void
on_list_add(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, uint32_t i)
{
	pl->on_pos[i] = (uint32_t)pl->non;
	pl->on_list[pl->non++] = i;
	index_update(pl, hosts, i);
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
		h->mfree = hosts[i].mem_free_kib;
		h->mshort = hosts[i].mem_short_kib;
	}
	for (i = 0; i < pl->nvms; i++) {
		double s;

		pl->where[i] = vms[i].host;
		if (vms[i].host < 0 || (size_t)vms[i].host >= pl->nhosts)
			continue;
		s = vm_sigma(pl, &vms[i]);
		pl->hp[vms[i].host].n++;
		pl->hp[vms[i].host].d += vm_mean(vms, i);
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
	pl->indexed = true;
	pl->cap_min = INFINITY;
	for (i = 0; i < pl->nhosts; i++) {
		double cap = hosts[i].capacity_mips;

		if (!(cap > 0) || !isfinite(cap))
			pl->indexed = false;
		else if (cap < pl->cap_min)
			pl->cap_min = cap;
		pl->bucket_of[i] = NO_HOST;
	}
	for (i = 0; i <= NBUCKETS; i++)
		pl->bhead[i] = NO_HOST;
	for (i = 0; i < pl->nhosts; i++)
		if (pl->hp[i].on)
			on_list_add(pl, hosts, (uint32_t)i);
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

/* Whether host i has the memory for VM v and keeps its share free (always, when unplanned). */
static bool
mem_fits(const struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	 const struct vmp_pilot_vm *vms, size_t v, size_t i)
{
	if (hosts[i].mem_kib <= 0 || vms[v].mem_kib <= 0)
		return true;
	return pl->hp[i].mfree - vms[v].mem_kib >= pl->p.mem_keep_free_frac * hosts[i].mem_kib;
}

/*
 * Whether on host i is a better destination for VM v (mean mu, spread s) than *pick:
 * it can take v below target, and its forecast after is higher, or as high and i
 * comes first in on_list.
 */
static void
consider_dest(const struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	      const struct vmp_pilot_vm *vms, size_t v, int32_t exclude, double mu, double s,
	      uint32_t i, double *best, int *pick)
{
	const struct host_plan *h = &pl->hp[i];
	double f;

	if ((int32_t)i == exclude || h->source || h->emptied || hosts[i].unreachable ||
	    hosts[i].refuses_vms)
		return;
	if (vms[v].mips > hosts[i].core_mips)
		return;
	f = forecast(pl, h->d + mu, h->v + s * s) / hosts[i].capacity_mips;
	if (f > pl->p.target_frac || !mem_fits(pl, hosts, vms, v, i))
		return;
	if (f > *best || (f == *best && *pick >= 0 && pl->on_pos[i] < pl->on_pos[*pick])) {
		*best = f;
		*pick = (int)i;
	}
}

/*
 * The destination for VM v: the on host (reachable, accepting VMs, not a source, not
 * being emptied) that stays below target after taking it, has the memory, and is the
 * fullest such host (best fit: it leaves the others emptier, to be switched off); if
 * wake, else an off host of the cheapest type per MIPS. Returns the host or -1.
 */
static int
find_dest(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	  const struct vmp_pilot_vm *vms, size_t v, int32_t exclude, bool wake)
{
	double mu = vm_mean(vms, v), s = vm_sigma(pl, &vms[v]);
	double best = -1, best_cost = INFINITY;
	int pick = -1;
	size_t k;

	if (pl->indexed) {
		/* how far taking v can raise a host's forecast / capacity, at most */
		double rise = fmax(mu + pl->p.k_sigma * fabs(s), 0) / pl->cap_min;
		double width = pl->p.target_frac / NBUCKETS;
		long b;

		for (b = NBUCKETS - 1; b >= 0; b--) {
			uint32_t i;

			if (pick >= 0 && (double)(b + 1) * width + rise + INDEX_SLACK < best)
				break;
			for (i = pl->bhead[b]; i != NO_HOST; i = pl->bnext[i])
				consider_dest(pl, hosts, vms, v, exclude, mu, s, i, &best, &pick);
		}
	} else {
		for (k = 0; k < pl->non; k++)
			consider_dest(pl, hosts, vms, v, exclude, mu, s, pl->on_list[k], &best,
				      &pick);
	}
	if (pick >= 0 || !wake)
		return pick;
	for (k = 0; k < pl->nhosts; k++) {
		const struct host_plan *h = &pl->hp[k];
		double c;

		if (h->on || vms[v].mips > hosts[k].core_mips || hosts[k].unreachable ||
		    hosts[k].refuses_vms || !mem_fits(pl, hosts, vms, v, k))
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
	  struct vmp_pilot_vm *vms, size_t v, uint32_t to, enum vmp_pilot_reason why)
{
	uint32_t from = (uint32_t)pl->where[v];
	struct host_plan *hf = &pl->hp[from], *ht = &pl->hp[to];
	double mu = vm_mean(vms, v), s = vm_sigma(pl, &vms[v]), mem = vms[v].mem_kib;
	struct vmp_pilot_move m;

	memset(&m, 0, sizeof(m));
	m.vm = (uint32_t)v;
	m.from = from;
	m.to = to;
	m.reason = why;
	m.wake = !ht->on;
	m.source_forecast_frac = forecast(pl, hf->d, hf->v) / hosts[from].capacity_mips;
	m.source_mem_short_kib = hf->mshort;
	hf->d -= mu;
	hf->v -= s * s;
	ht->d += mu;
	ht->v += s * s;
	if (mem > 0) {
		hf->mfree += mem;
		hf->mshort = hf->mshort > mem ? hf->mshort - mem : 0;
		ht->mfree -= mem;
	}
	ht->dest = true;
	index_update(pl, hosts, from);
	if (!ht->on) {
		ht->on = true;
		ht->woke_step = pl->step;
		on_list_add(pl, hosts, to);
	} else {
		index_update(pl, hosts, to);
	}
	m.dest_forecast_frac = forecast(pl, ht->d, ht->v) / hosts[to].capacity_mips;
	m.dest_mem_free_kib = ht->mfree;
	m.migration_s = vmp_pilot_migration_s(&vms[v], hosts[from].bw_kib_s);
	m.cost_mips_s = vmp_pilot_migration_cost(&vms[v], hosts[from].bw_kib_s);
	pl->where[v] = (int32_t)to;
	vms[v].hist.moved_step = pl->step;
	push_move(pl, &m);
}

/*
 * Relief of host h: takes VMs off it, the one with the best relief per second of
 * migration first (a VM that alone brings the host under target at the least cost if
 * there is one), until its forecast is under target.
 */
static void
relieve(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	struct vmp_pilot_vm *vms, uint32_t hi)
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

			if (pl->where[v] != (int32_t)hi || vms[v].migrating || vms[v].pinned)
				continue;
			mu = vm_mean(vms, v);
			s = vm_sigma(pl, &vms[v]);
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
 * Memory relief of host hi: takes off the smallest VM whose memory covers what is still
 * short and that has a destination, else the largest that has one (then repeats), until
 * the shortage is covered or no VM fits elsewhere. Least memory copied, fewest moves.
 */
static void
relieve_memory(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	       struct vmp_pilot_vm *vms, uint32_t hi)
{
	struct host_plan *h = &pl->hp[hi];
	uint32_t k;

	h->source = true;
	while (h->mshort > 0) {
		int cover = -1, cover_to = -1, big = -1, big_to = -1;

		for (k = 0; k < h->n; k++) {
			uint32_t v = pl->by_host[h->first + k];
			int to;

			if (pl->where[v] != (int32_t)hi || vms[v].migrating || vms[v].pinned ||
			    vms[v].mem_kib <= 0)
				continue;
			to = find_dest(pl, hosts, vms, v, (int32_t)hi, true);
			if (to < 0)
				continue;
			if (vms[v].mem_kib >= h->mshort &&
			    (cover < 0 || vms[v].mem_kib < vms[cover].mem_kib)) {
				cover = (int)v;
				cover_to = to;
			}
			if (big < 0 || vms[v].mem_kib > vms[big].mem_kib) {
				big = (int)v;
				big_to = to;
			}
		}
		if (cover >= 0)
			plan_move(pl, hosts, vms, (size_t)cover, (uint32_t)cover_to,
				  VMP_PILOT_RELIEVE_MEMORY);
		else if (big >= 0)
			plan_move(pl, hosts, vms, (size_t)big, (uint32_t)big_to,
				  VMP_PILOT_RELIEVE_MEMORY);
		else
			break;
	}
}

/*
 * Tries to empty host hi onto other on hosts, all its VMs or none. Returns the number
 * of moves planned (0 if it could not).
 */
static size_t
empty_host(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts,
	   struct vmp_pilot_vm *vms, uint32_t hi, size_t budget)
{
	struct host_plan *h = &pl->hp[hi];
	size_t first = pl->nmoves, n = 0, k, j;
	double save_d = h->d, save_v = h->v, save_mfree = h->mfree, save_mshort = h->mshort;

	for (k = 0; k < h->n; k++) {
		uint32_t v = pl->by_host[h->first + k];

		if (pl->where[v] != (int32_t)hi)
			continue;
		if (vms[v].migrating || vms[v].pinned ||
		    pl->step - vms[v].hist.moved_step < pl->p.hold_steps)
			return 0;
		pl->tmp[n++] = v;
	}
	if (n == 0 || n > budget)
		return 0;
	/* biggest first: the hardest to fit decides early */
	for (k = 1; k < n; k++) {
		uint32_t x = pl->tmp[k];

		for (j = k; j > 0 && vm_mean(vms, pl->tmp[j - 1]) < vm_mean(vms, x); j--)
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
		u->mfree = pl->hp[to].mfree;
		u->dest = pl->hp[to].dest;
		u->moved_step = vms[v].hist.moved_step;
		plan_move(pl, hosts, vms, v, (uint32_t)to, VMP_PILOT_CONSOLIDATE);
	}
	if (k == n) {
		pl->moves[pl->nmoves - 1].empties_source = true;
		return n;
	}
	/* undo in reverse order: the destinations' sums, the VMs' places and move times */
	while (pl->nmoves > first) {
		const struct vmp_pilot_move *m = &pl->moves[--pl->nmoves];
		const struct undo *u = &pl->undo[pl->nmoves - first];

		pl->hp[m->to].d = u->d;
		pl->hp[m->to].v = u->v;
		pl->hp[m->to].mfree = u->mfree;
		pl->hp[m->to].dest = u->dest;
		pl->where[m->vm] = (int32_t)hi;
		vms[m->vm].hist.moved_step = u->moved_step;
		index_update(pl, hosts, m->to);
	}
	h->d = save_d;
	h->v = save_v;
	index_update(pl, hosts, hi);
	h->mfree = save_mfree;
	h->mshort = save_mshort;
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
	       struct vmp_pilot_vm *vms, size_t nvms, const struct vmp_pilot_move **ret_moves)
{
	return vmp_pilot_plan_flags(pl, hosts, nhosts, vms, nvms, 0, ret_moves);
}

int
vmp_pilot_plan_flags(struct vmp_pilot *pl, const struct vmp_pilot_host *hosts, size_t nhosts,
		     struct vmp_pilot_vm *vms, size_t nvms, unsigned flags,
		     const struct vmp_pilot_move **ret_moves)
{
	size_t i, ncand = 0, budget, nrelief;

	if (nhosts != pl->nhosts || nvms > INT32_MAX)
		return -EINVAL;
	reserve_vms(pl, nvms);
	pl->nvms = nvms;
	pl->nmoves = 0;
	pl->step++;
	if (!(flags & VMP_PILOT_HISTORY_KEPT))
		observe(pl, vms);
	aggregate(pl, hosts, vms);

	/* 1. relieve hosts short of memory */
	for (i = 0; i < nhosts; i++)
		if (pl->hp[i].n > 0 && pl->hp[i].mshort > 0 && !hosts[i].unreachable)
			relieve_memory(pl, hosts, vms, (uint32_t)i);

	/* 2. relieve hosts overloaded now or forecast above high */
	for (i = 0; i < nhosts; i++) {
		const struct host_plan *h = &pl->hp[i];
		double cap = hosts[i].capacity_mips, now = 0;
		uint32_t k;

		if (h->n == 0 || hosts[i].unreachable)
			continue;
		for (k = 0; k < h->n; k++)
			now += vms[pl->by_host[h->first + k]].demand_mips;
		if (now > cap || forecast(pl, h->d, h->v) > pl->p.high_frac * cap)
			relieve(pl, hosts, vms, (uint32_t)i);
	}
	nrelief = pl->nmoves;

	/* 3. empty nearly idle hosts, the least loaded first, within the budget */
	budget = (size_t)(pl->p.budget_frac * (double)nvms);
	if (budget < 1)
		budget = 1;
	for (i = 0; i < nhosts; i++) {
		const struct host_plan *h = &pl->hp[i];

		if (!h->on || h->n == 0 || h->source || h->dest || hosts[i].unreachable ||
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
