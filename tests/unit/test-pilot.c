/* SPDX-License-Identifier: MIT */
/*
 * Tests of vmpilot's consolidation policy (core/pilot.c), the oracle energy bound
 * (core/bound.c), the step loop that runs them in the simulator (core/simrun.c), and
 * the terminal progress bar and HTML report of `vmpilot simulate`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "cli/sim_report.h"
#include "core/bound.h"
#include "core/pilot.h"
#include "core/power.h"
#include "core/simrun.h"

#define assert_close(a, b) \
	do { \
		double a_ = (a), b_ = (b); \
		if (!(fabs(a_ - b_) <= 1e-9 * (fabs(b_) + 1e-12))) \
			fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
	} while (0)

/* ------------------------------------------------------------------ bound -- */

static void
test_bound_segments(void **state)
{
	struct vmp_sim_config cfg;
	struct vmp_bound b;
	double e4 = 117.0 / 3720, e5 = 135.0 / 5320, c5 = 400 * 5320.0;

	(void)state;
	vmp_sim_config_default(&cfg);
	assert_int_equal(vmp_bound_init(&b, &cfg), 0);
	/* G5 is cheaper per MIPS at full load than G4, and full load is each one's best */
	assert_int_equal(b.nseg, 2);
	assert_close(b.w_per_mips[0], e5);
	assert_close(b.w_per_mips[1], e4);
	assert_close(b.cap_mips[0], c5);
	assert_close(vmp_bound_watts(&b, 0), 0);
	assert_close(vmp_bound_watts(&b, 1000), 1000 * e5);
	assert_close(vmp_bound_watts(&b, c5 + 1000), c5 * e5 + 1000 * e4);
	/* demand 0 -> 2 c5 linearly over 100 s: half the time on each segment */
	assert_close(vmp_bound_interval_ws(&b, 0, 2 * c5, 100),
		     50 * (c5 * e5 / 2) + 50 * (c5 * e5 + c5 * e4 / 2));
	assert_close(vmp_bound_interval_ws(&b, 2 * c5, 0, 100),
		     vmp_bound_interval_ws(&b, 0, 2 * c5, 100));
	assert_close(vmp_bound_interval_ws(&b, 1000, 1000, 10), 10 * 1000 * e5);
	cfg.nhosts = 0;
	assert_int_equal(vmp_bound_init(&b, &cfg), -EINVAL);
}

/* Any placement of a demand on real hosts draws at least the bound. */
static void
test_bound_is_a_bound(void **state)
{
	struct vmp_sim_config cfg;
	struct vmp_bound b;
	uint64_t x = 12345;
	int trial;

	(void)state;
	vmp_sim_config_default(&cfg);
	cfg.nhosts = 20;
	assert_int_equal(vmp_bound_init(&b, &cfg), 0);
	for (trial = 0; trial < 2000; trial++) {
		double demand = 0, watts = 0;
		size_t i;

		for (i = 0; i < cfg.nhosts; i++) {
			const struct vmp_sim_host_type *t = &cfg.host_types[i % 2];
			double cap = t->pe_mips * t->pes, u;

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			u = (double)(x >> 11) / 9007199254740992.0;
			if (u < 0.3)
				continue;     /* off */
			u = (u - 0.3) / 0.7;
			demand += u * cap;
			watts += vmp_power_watts(t->power, u);
		}
		if (!(watts >= vmp_bound_watts(&b, demand) - 1e-9))
			fail_msg("placement draws %g W < bound %g W", watts,
				 vmp_bound_watts(&b, demand));
	}
}

/* ------------------------------------------------------------------ pilot -- */

/* Three 1000-MIPS hosts, all on; the test fills the VMs. */
static void
cluster(struct vmp_pilot_host *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].capacity_mips = 1000;
		h[i].core_mips = 1000;
		h[i].bw_kib_s = 1024 * 1024;     /* 1 GiB/s: a GiB of RAM takes 1 s */
		h[i].power = &vmp_power_hp_ml110_g5;
		h[i].on = true;
	}
}

static void
vm(struct vmp_pilot_vm *v, int32_t host, double demand, double ram_gib)
{
	memset(v, 0, sizeof(*v));
	v->host = host;
	v->mips = 1000;
	v->ram_kib = ram_gib * 1024 * 1024;
	v->demand_mips = demand;
}

static void
exact_params(struct vmp_pilot_params *p)
{
	vmp_pilot_params_default(p);
	p->k_sigma = 0;          /* forecast = demand now: hand-checkable */
	p->target_frac = 0.9;
	p->high_frac = 0.95;
	p->low_frac = 0.2;
	p->budget_frac = 1;
	p->hold_steps = 3;
}

static void
test_pilot_relieves_cheapest(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[3];
	struct vmp_pilot_vm v[4];
	const struct vmp_pilot_move *m;
	struct vmp_pilot *pl;

	(void)state;
	exact_params(&p);
	cluster(h, 3);
	vm(&v[0], 0, 600, 1);     /* alone brings host 0 under target, 1 GiB: cheapest */
	vm(&v[1], 0, 500, 4);     /* also enough, but 4 GiB and 500 MIPS cost more */
	vm(&v[2], 1, 250, 1);
	vm(&v[3], 2, 400, 1);
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 1);
	assert_int_equal(m[0].vm, 0);
	assert_int_equal(m[0].from, 0);
	/* best fit: host 2 (400 + 600 = 1000) is over target, host 1 takes it (850) */
	assert_int_equal(m[0].to, 1);
	assert_int_equal(m[0].reason, VMP_PILOT_RELIEVE);
	assert_close(m[0].source_forecast_frac, 1.1);
	assert_close(m[0].dest_forecast_frac, 0.85);
	/* 10 % of 600 MIPS for the 1 s the GiB takes */
	assert_close(m[0].cost_mips_s, 60);
	assert_string_equal(vmp_pilot_reason_name(m[0].reason), "relieve");
	{
		char line[160];

		vmp_pilot_move_explain(&m[0], NULL, NULL, NULL, line, sizeof(line));
		assert_string_equal(line, "relieve: host 0 at 110 % of CPU capacity (forecast), vm 0 "
				    "to host 1 (then 85 %), 1.0 s, costs 60 MIPS s");
		vmp_pilot_move_explain(&m[0], "web", "a", "b", line, sizeof(line));
		assert_string_equal(line, "relieve: host a at 110 % of CPU capacity (forecast), vm web "
				    "to host b (then 85 %), 1.0 s, costs 60 MIPS s");
	}
	assert_int_equal(vmp_pilot_plan(pl, h, 2, v, 4, &m), -EINVAL);
	vmp_pilot_free(pl);
}

/*
 * Agents keep their VMs' histories (vmp_pilot_history_add) and the elected planner
 * plans over them with VMP_PILOT_HISTORY_KEPT: the same histories and moves as the
 * single process, whose planner adds each step itself, over several steps.
 */
static void
test_pilot_history_kept(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[3];
	struct vmp_pilot_vm a[4], b[4];
	const struct vmp_pilot_move *ma, *mb;
	struct vmp_pilot *pa, *pb;
	static const double load[3][4] = {
		{ 300, 200, 250, 400 }, { 500, 300, 250, 400 }, { 600, 500, 250, 400 },
	};
	int step, i, na, nb;

	(void)state;
	exact_params(&p);
	cluster(h, 3);
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pa), 0);
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pb), 0);
	vm(&a[0], 0, 0, 1);
	vm(&a[1], 0, 0, 4);
	vm(&a[2], 1, 0, 1);
	vm(&a[3], 2, 0, 1);
	memcpy(b, a, sizeof(a));
	for (step = 0; step < 3; step++) {
		for (i = 0; i < 4; i++) {
			a[i].demand_mips = b[i].demand_mips = load[step][i];
			vmp_pilot_history_add(&p, &b[i].hist, b[i].demand_mips, b[i].mips);
		}
		na = vmp_pilot_plan(pa, h, 3, a, 4, &ma);
		nb = vmp_pilot_plan_flags(pb, h, 3, b, 4, VMP_PILOT_HISTORY_KEPT, &mb);
		assert_int_equal(na, nb);
		for (i = 0; i < na; i++) {
			assert_int_equal(ma[i].vm, mb[i].vm);
			assert_int_equal(ma[i].to, mb[i].to);
		}
		for (i = 0; i < 4; i++) {
			assert_close(a[i].hist.last, b[i].hist.last);
			assert_close(a[i].hist.mean, b[i].hist.mean);
			assert_close(a[i].hist.var_step, b[i].hist.var_step);
			assert_int_equal(a[i].hist.n, b[i].hist.n);
		}
	}
	/* host 0 at 1100 MIPS of 1000 in the last step: relieved */
	assert_true(nb >= 1);
	assert_int_equal(b[0].hist.n, 3);
	vmp_pilot_free(pa);
	vmp_pilot_free(pb);
}

static void
test_pilot_consolidates_all_or_nothing(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[3];
	struct vmp_pilot_vm v[4];
	const struct vmp_pilot_move *m;
	struct vmp_pilot *pl;

	(void)state;
	exact_params(&p);
	cluster(h, 3);
	/* host 2 is nearly idle (150 < 0.2 x 1000) but only one of its VMs fits elsewhere */
	vm(&v[0], 0, 800, 1);
	vm(&v[1], 1, 700, 1);
	vm(&v[2], 2, 100, 1);
	vm(&v[3], 2, 50, 1);
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 2);
	/* both fit: the bigger first, each to the fullest host that stays under 0.9 */
	assert_int_equal(m[0].vm, 2);
	assert_int_equal(m[0].to, 0);   /* 800 + 100 = 900: the fullest that stays at 0.9 */
	assert_int_equal(m[1].vm, 3);
	assert_int_equal(m[1].to, 1);   /* host 0 is full now: 700 + 50 */
	vmp_pilot_free(pl);

	/* now make host 1 too full for the second VM: nothing moves */
	vm(&v[0], 0, 850, 1);
	vm(&v[1], 1, 780, 1);
	vm(&v[2], 2, 110, 1);
	vm(&v[3], 2, 60, 1);
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 0);
	vmp_pilot_free(pl);
}

static void
test_pilot_hysteresis_and_budget(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[3];
	struct vmp_pilot_vm v[3];
	const struct vmp_pilot_move *m;
	struct vmp_pilot *pl;
	int n, step;

	(void)state;
	exact_params(&p);
	cluster(h, 3);
	vm(&v[0], 0, 850, 1);     /* overloaded host 0 (850 + 150 > 950) */
	vm(&v[1], 0, 150, 1);
	vm(&v[2], 1, 30, 1);      /* host 1 nearly idle */
	assert_int_equal(vmp_pilot_new(&p, 3, 3, &pl), 0);
	n = vmp_pilot_plan(pl, h, 3, v, 3, &m);
	/* relief: VM 1 (150 MIPS) is the cheapest that brings host 0 to 0.9 ... */
	assert_true(n >= 1);
	assert_int_equal(m[0].vm, 1);
	assert_int_equal(m[0].to, 1);
	assert_int_equal(n, 1);   /* ... host 1 took a VM: it is not emptied in the same step */
	/* apply it; host 1 (180) stays nearly idle, but VM 1 moved: held for hold_steps */
	v[1].host = 1;
	v[0].demand_mips = 700;
	for (step = 1; step < (int)p.hold_steps; step++)
		assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 3, &m), 0);
	/* the hold is over: host 1 is emptied onto host 0 (700 + 150 + 30 = 880 < 900) */
	n = vmp_pilot_plan(pl, h, 3, v, 3, &m);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].reason, VMP_PILOT_CONSOLIDATE);
	assert_int_equal(m[0].to, 0);
	vmp_pilot_free(pl);

	/* a budget of one VM per step cannot empty a host of two */
	p.budget_frac = 0;
	vm(&v[0], 0, 700, 1);
	vm(&v[1], 1, 50, 1);
	vm(&v[2], 1, 50, 1);
	assert_int_equal(vmp_pilot_new(&p, 3, 3, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 3, &m), 0);
	vmp_pilot_free(pl);
}

static void
test_pilot_forecast_and_cost(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[1];
	struct vmp_pilot_vm v[1];
	const struct vmp_pilot_move *m;
	struct vmp_pilot *pl;
	double mean, sigma, var;

	(void)state;
	vmp_pilot_params_default(&p);
	p.alpha = 0.5;
	cluster(h, 1);
	vm(&v[0], 0, 100, 1);
	assert_int_equal(vmp_pilot_new(&p, 1, 1, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 1, v, 1, &m), 0);
	/* first sample: the prior spread is a tenth of the VM's size */
	vmp_pilot_vm_forecast(&v[0], &mean, &sigma);
	assert_close(mean, 100);
	assert_close(sigma, 100);
	v[0].demand_mips = 300;
	vmp_pilot_plan(pl, h, 1, v, 1, &m);
	var = 0.5 * 10000 + 0.5 * 200 * 200;
	vmp_pilot_vm_forecast(&v[0], &mean, &sigma);
	assert_close(mean, 300);
	assert_close(sigma, sqrt(var));
	vmp_pilot_free(pl);

	/* pre-copy with a dirty rate of half the link takes twice as long */
	vm(&v[0], 0, 500, 1);
	assert_close(vmp_pilot_migration_s(&v[0], 1024 * 1024), 1);
	v[0].dirty_kib_s = 512 * 1024;
	assert_close(vmp_pilot_migration_s(&v[0], 1024 * 1024), 2);
	assert_close(vmp_pilot_migration_cost(&v[0], 1024 * 1024), 100);
	/* faster than the link: capped at ten times */
	v[0].dirty_kib_s = 4096 * 1024;
	assert_close(vmp_pilot_migration_s(&v[0], 1024 * 1024), 10);

	assert_int_equal(vmp_pilot_params_set(&p, "k_sigma", 3), 0);
	assert_close(p.k_sigma, 3);
	assert_int_equal(vmp_pilot_params_set(&p, "nope", 3), -ENOENT);
	assert_int_equal(vmp_pilot_params_parse(&p, " k_sigma = 1.5,budget_frac=1 "), 0);
	assert_close(p.k_sigma, 1.5);
	assert_close(p.budget_frac, 1);
	assert_int_equal(vmp_pilot_params_parse(&p, ""), 0);
	assert_int_equal(vmp_pilot_params_parse(&p, "k_sigma"), -EINVAL);
	assert_int_equal(vmp_pilot_params_parse(&p, "k_sigma=x"), -EINVAL);
	assert_int_equal(vmp_pilot_params_parse(&p, "k_sigma=1 2"), -EINVAL);
	assert_int_equal(vmp_pilot_params_parse(&p, "nope=1"), -EINVAL);
	assert_int_equal(vmp_pilot_params_parse(&p, "k_sigma=inf"), -EINVAL);
	p.low_frac = p.target_frac;
	assert_int_equal(vmp_pilot_new(&p, 1, 1, &pl), -EINVAL);
}

/*
 * Memory relief (what core/balance.c used to do for the daemon): the smallest VM that
 * covers the shortage and has a destination, to a host that keeps its free share; a
 * pinned VM never moves; unreachable and refusing hosts receive nothing.
 */
static void
test_pilot_memory_relief(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[3];
	struct vmp_pilot_vm v[4];
	const struct vmp_pilot_move *m;
	struct vmp_pilot *pl;
	double gib = 1024 * 1024;
	size_t i;
	char line[200];

	(void)state;
	exact_params(&p);
	p.mem_keep_free_frac = 0.2;
	p.low_frac = 0.05;        /* no consolidation here */
	cluster(h, 3);
	for (i = 0; i < 3; i++)
		h[i].mem_kib = 16 * gib;
	h[0].mem_free_kib = 1 * gib;
	h[0].mem_short_kib = 2 * gib;
	h[1].mem_free_kib = 6 * gib;       /* 6 - 4 = 2 < 0.2 x 16: too little */
	h[2].mem_free_kib = 12 * gib;
	vm(&v[0], 0, 100, 1);             /* too small to cover */
	vm(&v[1], 0, 100, 4);             /* covers it, the smallest that does */
	vm(&v[2], 0, 100, 8);
	vm(&v[3], 1, 100, 3);
	for (i = 0; i < 4; i++)
		v[i].mem_kib = v[i].ram_kib;
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 1);
	assert_int_equal(m[0].vm, 1);
	assert_int_equal(m[0].to, 2);
	assert_int_equal(m[0].reason, VMP_PILOT_RELIEVE_MEMORY);
	assert_close(m[0].source_mem_short_kib, 2 * gib);
	assert_close(m[0].dest_mem_free_kib, 8 * gib);
	vmp_pilot_move_explain(&m[0], NULL, NULL, NULL, line, sizeof(line));
	assert_string_equal(line, "relieve-memory: host 0 at 30 % of CPU capacity (forecast), "
			    "short of 2048 MiB of memory, vm 1 to host 2 (then 10 %), 4.0 s, "
			    "costs 40 MIPS s");
	vmp_pilot_free(pl);

	/* the covering VM pinned: the largest that fits goes, then the shortage is covered */
	v[1].pinned = true;
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 1);
	assert_int_equal(m[0].vm, 2);
	assert_int_equal(m[0].to, 2);
	vmp_pilot_free(pl);

	/* host 2 unreachable: only VM 0 (1 GiB) fits anywhere (host 1): it goes, alone */
	h[2].unreachable = true;
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 1);
	assert_int_equal(m[0].vm, 0);
	assert_int_equal(m[0].to, 1);
	vmp_pilot_free(pl);
	/* and host 1 refusing VMs: nothing moves */
	h[1].refuses_vms = true;
	assert_int_equal(vmp_pilot_new(&p, 3, 4, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 3, v, 4, &m), 0);
	vmp_pilot_free(pl);
}

/*
 * The daemon's case: VMs come and go between steps (nvms changes) and a VM's history
 * travels in its snapshot; a pinned VM keeps its host from being emptied.
 */
static void
test_pilot_snapshot_changes(void **state)
{
	struct vmp_pilot_params p;
	struct vmp_pilot_host h[2];
	struct vmp_pilot_vm v[3];
	const struct vmp_pilot_move *m;
	struct vmp_pilot *pl;
	double mean, sigma;

	(void)state;
	exact_params(&p);
	cluster(h, 2);
	vm(&v[0], 0, 500, 1);
	assert_int_equal(vmp_pilot_new(&p, 2, 1, &pl), 0);
	assert_int_equal(vmp_pilot_plan(pl, h, 2, v, 1, &m), 0);
	/* a second and third VM appear: host 1 holds 100 MIPS, below low: emptied to host 0 */
	vm(&v[1], 1, 60, 1);
	vm(&v[2], 1, 40, 1);
	assert_int_equal(vmp_pilot_plan(pl, h, 2, v, 3, &m), 2);
	assert_int_equal(m[0].reason, VMP_PILOT_CONSOLIDATE);
	assert_false(m[0].empties_source);
	assert_true(m[1].empties_source);
	/* the history stayed with VM 0 */
	vmp_pilot_vm_forecast(&v[0], &mean, &sigma);
	assert_close(mean, 500);
	assert_true(v[0].hist.n == 2);
	/* VM 2 pinned: host 1 cannot be emptied */
	v[2].pinned = true;
	v[1].hist.moved_step = INT32_MIN;
	assert_int_equal(vmp_pilot_plan(pl, h, 2, v, 3, &m), 0);
	vmp_pilot_free(pl);
}

/* ----------------------------------------------------------------- simrun -- */

/* A small day: 40 VMs whose load swings, 20 hosts, 48 steps. */
static float *
swing_trace(size_t nvms, size_t nsteps)
{
	float *pct = calloc(nvms * nsteps, sizeof(float));
	size_t v, k;

	assert_non_null(pct);
	for (v = 0; v < nvms; v++)
		for (k = 0; k < nsteps; k++)
			pct[v * nsteps + k] = (float)(int)(30 + 25 * sin((double)(k + 3 * v) / 5.0) +
							   (v % 7) * 3);
	return pct;
}

static void
test_simrun(void **state)
{
	struct vmp_sim_config cfg;
	struct vmp_simrun_result r;
	size_t nvms = 40, nsteps = 48, i;
	float *pct = swing_trace(nvms, nsteps);
	struct vmp_sim_input in = { nvms, nsteps, pct, NULL };
	const char *names[] = { "vmpilot", "lr-mmt-1.2", "dvfs" };
	uint64_t sum;

	(void)state;
	vmp_sim_config_default(&cfg);
	cfg.nhosts = 20;
	for (i = 0; i < 3; i++) {
		const struct vmp_sim_policy *p = vmp_sim_policy_find(names[i]);

		assert_non_null(p);
		assert_int_equal(vmp_simrun(&cfg, p, NULL, &in, NULL, NULL, &r), 0);
		assert_true(r.bound_kwh > 0);
		/* every policy here serves the demand in full most of the time: above the bound */
		assert_true(r.sim.energy_kwh > r.bound_kwh);
		assert_close(r.energy_ratio, r.sim.energy_kwh / r.bound_kwh);
		assert_int_equal(r.sim.series.n, nsteps - 1);
		sum = 0;
		{
			size_t k;

			for (k = 0; k < r.sim.series.n; k++)
				sum += r.sim.series.migrations[k];
		}
		/* the per-step series adds up to the total (the pilot's too) */
		assert_int_equal(sum, r.sim.migrations);
		if (i == 0)
			assert_int_equal(r.pilot_relieve + r.pilot_consolidate, r.sim.migrations);
		vmp_simrun_result_release(&r);
	}
	free(pct);
}

/* The placement changes of a run, for test_simrun_memory_relief. */
struct ev_log {
	struct vmp_sim_event ev[64];
	size_t n;
};

static void
log_event(void *ctx, const struct vmp_sim_event *ev)
{
	struct ev_log *log = ctx;

	if (log->n < 64)
		log->ev[log->n++] = *ev;
}

/*
 * Memory planned inside the simulator (simrun.c), worked out by hand. Three G4 hosts
 * (3720 MIPS, 4096 MB); four VMs of 500 MIPS and 2000 MB at 10 % CPU and 40 % (800 MB)
 * of memory; VMs 0 and 1 grow to 100 % (2000 MB) at sample 3.
 *   - Placement (PABFD, the whole RAM checked): before the first update every host's
 *     power reads the same, so the least power increase is on the least allocated host,
 *     the lowest number on ties: VM 0 on host 0, 1 on 1, 2 on 2, 3 on 0.
 *   - Step 1 (300.1 s): hosts 1 and 2 (forecast 50 + 0.6 x 50 = 80 MIPS) are under
 *     0.6 x 3720 and the least loaded; host 1 first (lower number). Its VM goes to the
 *     fullest host that stays under target and keeps 20 % (819.2 MB) free after taking
 *     its 800 MB: host 0 (4096 - 1600 - 800 = 1696 MB left). Then host 2's VM, to host 0
 *     too (896 MB left). Host 0 holds 3200 MB.
 *   - Host 0's demand 3200 + 2400 (t - 600) / 300 MB crosses 4096 MB at t = 600 + 300 x
 *     896 / 2400 = 712 s. At the step at 900.1 s it is 5600 MB: short of 1504 MB. Memory
 *     relief moves the smallest VM that covers it, VM 0 (VM 1 ties: the lower number
 *     wins), to a host woken up for it (no other host is on; 2096 MB left there): all
 *     G4, the lowest number, host 1. The migration takes 2000 MB / (1 Gbit/s / 2) =
 *     32 s; VM 0 holds memory on both hosts meanwhile, so host 0 is over its RAM from
 *     712 s to 932.1 s: 220.1 s, by 1504 x 188 / 2 + 1504 x 32.1 = 189,654.4 MB s.
 *     Afterwards host 0 holds 3600 MB and host 1 2000 MB: neither can take the other's
 *     VMs, no more moves.
 * Without memory in the trace the planner plans CPU only: the same consolidation, no
 * relief.
 */
static void
test_simrun_memory_relief(void **state)
{
	enum { NVMS = 4, NSTEPS = 8 };
	struct vmp_sim_config cfg;
	struct vmp_pilot_params pp;
	struct vmp_simrun_result r;
	static struct ev_log log;
	float cpu[NVMS * NSTEPS], mem[NVMS * NSTEPS];
	struct vmp_sim_input in = { NVMS, NSTEPS, cpu, mem };
	size_t v, k, nmig = 0;

	(void)state;
	for (v = 0; v < NVMS; v++)
		for (k = 0; k < NSTEPS; k++) {
			cpu[v * NSTEPS + k] = 10;
			mem[v * NSTEPS + k] = v < 2 && k >= 3 ? 100 : 40;
		}
	vmp_sim_config_default(&cfg);
	cfg.nhosts = 3;
	cfg.nhost_types = 1;            /* all HP ML110 G4 */
	cfg.nvm_types = 1;
	cfg.vm_types[0] = (struct vmp_sim_vm_type){ 500, 2000, 100000 };
	cfg.on_event = log_event;
	cfg.event_ctx = &log;
	vmp_pilot_params_default(&pp);
	pp.budget_frac = 1;             /* the emptying of host 0 is two moves: in one step */
	memset(&log, 0, sizeof(log));
	assert_int_equal(vmp_simrun(&cfg, vmp_sim_policy_find("vmpilot"), &pp, &in, NULL, NULL,
				    &r), 0);
	/* placed round robin: 0, 3 on host 0; 1 on host 1; 2 on host 2 */
	for (k = 0; k < log.n; k++)
		if (log.ev[k].kind == VMP_SIM_EV_PLACE)
			assert_int_equal(log.ev[k].host, log.ev[k].vm % 3);
	for (k = 0; k < log.n; k++) {
		const struct vmp_sim_event *e = &log.ev[k];

		if (e->kind != VMP_SIM_EV_MIG_START)
			continue;
		if (nmig < 2) {
			/* consolidation at the first step: hosts 1 and 2 emptied onto host 0 */
			assert_int_equal(e->vm, (int32_t)nmig + 1);
			assert_int_equal(e->from, (int32_t)nmig + 1);
			assert_int_equal(e->host, 0);
			assert_true(fabs(e->time_s - 300.1) < 1e-6);
		} else {
			/* memory relief at 900.1 s: VM 0 to host 1, woken up */
			assert_int_equal(nmig, 2);
			assert_int_equal(e->vm, 0);
			assert_int_equal(e->from, 0);
			assert_int_equal(e->host, 1);
			assert_true(fabs(e->time_s - 900.1) < 1e-6);
			assert_true(fabs(e->end_s - e->time_s - 32) < 1e-6);
		}
		nmig++;
	}
	assert_int_equal(nmig, 3);
	assert_int_equal(r.pilot_consolidate, 2);
	assert_int_equal(r.pilot_relieve, 1);
	/* host 0 over its RAM from 712 s to 932.1 s */
	assert_true(fabs(r.sim.acct.mem_overload_host_s - 220.1) < 1e-6);
	assert_true(fabs(r.sim.acct.mem_excess_mb_s - 189654.4) < 1e-6);
	vmp_simrun_result_release(&r);

	/* the same day without memory in the trace: CPU only, nothing to relieve */
	in.mem_pct = NULL;
	memset(&log, 0, sizeof(log));
	assert_int_equal(vmp_simrun(&cfg, vmp_sim_policy_find("vmpilot"), &pp, &in, NULL, NULL,
				    &r), 0);
	assert_int_equal(r.pilot_relieve, 0);
	assert_int_equal(r.pilot_consolidate, 2);
	vmp_simrun_result_release(&r);
}

/* ---------------------------------------------------------- CLI helpers -- */

static void
test_progress_format(void **state)
{
	char buf[128];

	(void)state;
	vmp_progress_format(buf, sizeof(buf), "vmpilot", 50);
	assert_string_equal(buf, "vmpilot        [###############...............]  50 %");
	vmp_progress_format(buf, sizeof(buf), "x", 140);
	assert_non_null(strstr(buf, "[##############################] 100 %"));
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void
test_report(void **state)
{
	struct vmp_sim_config cfg;
	struct vmp_simrun_result r[2];
	struct vmp_sim_report_run runs[2];
	struct vmp_sim_report_meta meta = {
		.trace = "day&1", .version = "9.9", .generated_s = 86400 * 365,
		.command_line = "vmpilot simulate --report 'a b.html'",
	};
	size_t nvms = 40, nsteps = 24;
	float *pct = swing_trace(nvms, nsteps);
	struct vmp_sim_input in = { nvms, nsteps, pct, NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	vmp_sim_config_default(&cfg);
	cfg.nhosts = 20;
	assert_int_equal(vmp_simrun(&cfg, vmp_sim_policy_find("vmpilot"), NULL, &in, NULL, NULL,
				    &r[0]), 0);
	assert_int_equal(vmp_simrun(&cfg, vmp_sim_policy_find("thr-mmt-0.8"), NULL, &in, NULL,
				    NULL, &r[1]), 0);
	runs[0] = (struct vmp_sim_report_run){ "vmpilot", &r[0], 0.1 };
	runs[1] = (struct vmp_sim_report_run){ "thr<mmt>", &r[1], 0.2 };
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	meta.nvms = nvms;
	meta.nhosts = cfg.nhosts;
	assert_int_equal(vmp_sim_report_fprint(f, &meta, runs, 2), 0);
	fclose(f);
	assert_int_equal(count(buf, "<svg "), 4);
	assert_int_equal(count(buf, "<tr class=\"run\">"), 2);
	/* one line per policy per chart, plus the bound on the power chart */
	assert_int_equal(count(buf, "<polyline"), 4 * 2 + 1);
	assert_non_null(strstr(buf, "thr&lt;mmt&gt;"));
	assert_non_null(strstr(buf, "day&amp;1"));
	/* what was run, by which version, when */
	assert_non_null(strstr(buf, "vmpilot 9.9"));
	assert_non_null(strstr(buf, "1971-01-01 00:00 UTC"));
	assert_non_null(strstr(buf, "vmpilot simulate --report 'a b.html'"));
	/* a legend entry per column and per chart */
	assert_int_equal(count(buf, "<dt>"), 15 + 4);
	/* self-contained: nothing is fetched */
	assert_null(strstr(buf, "src="));
	assert_null(strstr(buf, "<link"));
	free(buf);
	vmp_simrun_result_release(&r[0]);
	vmp_simrun_result_release(&r[1]);
	free(pct);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_segments),
		cmocka_unit_test(test_bound_is_a_bound),
		cmocka_unit_test(test_pilot_relieves_cheapest),
		cmocka_unit_test(test_pilot_history_kept),
		cmocka_unit_test(test_pilot_consolidates_all_or_nothing),
		cmocka_unit_test(test_pilot_hysteresis_and_budget),
		cmocka_unit_test(test_pilot_forecast_and_cost),
		cmocka_unit_test(test_pilot_memory_relief),
		cmocka_unit_test(test_pilot_snapshot_changes),
		cmocka_unit_test(test_simrun),
		cmocka_unit_test(test_simrun_memory_relief),
		cmocka_unit_test(test_progress_format),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
