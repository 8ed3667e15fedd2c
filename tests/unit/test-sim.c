/* SPDX-License-Identifier: MIT */
/*
 * Tests of the simulator core: power interpolation, the detectors' statistics, and
 * small hand-checkable clusters driven through the step API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/overload.h"
#include "core/power.h"
#include "core/sim.h"

#define assert_close(a, b) \
	do { \
		double a_ = (a), b_ = (b); \
		if (!(fabs(a_ - b_) <= 1e-9 * (fabs(b_) + 1e-12))) \
			fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
	} while (0)

static void
test_power(void **state)
{
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g4, 0), 86);
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g4, 1), 117);
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g5, 1), 135);
	/* halfway between the 50 % (102 W) and 60 % (106 W) points */
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g4, 0.55), 104);
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g5, 0.05), 95.35);
	/* out of range is clamped */
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g5, 1.5), 135);
	assert_close(vmp_power_watts(&vmp_power_hp_ml110_g5, -1), 93.7);
}

static void
test_stats(void **state)
{
	double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };
	double madv[] = { 1, 1, 2, 2, 4, 6, 9 };
	double iqrv[12], b0, b1, x[5] = { 1, 2, 3, 4, 5 }, y[5], w[5] = { 1, 1, 1, 1, 1 };
	size_t i;

	assert_close(vmp_stat_median(odd, 3), 3);
	assert_close(vmp_stat_median(even, 4), 2.5);
	/* median 2; deviations 1 1 0 0 2 4 7 -> median 1 */
	assert_close(vmp_stat_mad(madv, 7), 1);
	for (i = 0; i < 12; i++)
		iqrv[i] = (double)(12 - i);   /* 12..1 */
	/* CloudSim: q1 = round(3.25) - 1 = 2, q3 = round(9.75) - 1 = 9 -> 10 - 3 */
	assert_close(vmp_stat_iqr(iqrv, 12), 7);
	for (i = 0; i < 5; i++)
		y[i] = 2 * x[i] + 1;
	assert_true(vmp_stat_linear_fit(x, y, NULL, 5, &b0, &b1));
	assert_close(b0, 1);
	assert_close(b1, 2);
	assert_true(vmp_stat_linear_fit(x, y, w, 5, &b0, &b1));
	assert_close(b1, 2);
	assert_false(vmp_stat_linear_fit(x, y, NULL, 2, &b0, &b1)); /* too few points */
}

static void
test_detectors(void **state)
{
	double rising[10], flat[12];
	struct vmp_overload_input in = { rising, 10, 0.5, 1 };
	double metric;
	size_t i;

	/* newest first: 0.9, 0.85, ... a line that reaches 0.95 at x = 11 */
	for (i = 0; i < 10; i++)
		rising[i] = 0.9 - 0.05 * (double)i;
	assert_true(vmp_overload_check(VMP_OVERLOAD_LR, 1.2, true, &in, &metric));
	assert_close(metric, 0.95 * 1.2);
	assert_false(vmp_overload_check(VMP_OVERLOAD_LR, 1.0, true, &in, &metric));
	/* the weighted fit of an exact line is the same line */
	assert_false(vmp_overload_check(VMP_OVERLOAD_LR, 1.0, false, &in, &metric));
	assert_close(metric, 0.95);
	/* too short a history: THR 0.7 on the requested load */
	in.nhistory = 9;
	in.requested_frac = 0.71;
	assert_true(vmp_overload_check(VMP_OVERLOAD_LR, 1.2, true, &in, &metric));
	assert_close(metric, 0.7);
	/* MAD of a flat history is 0: threshold 1 */
	for (i = 0; i < 12; i++)
		flat[i] = 0.5;
	in.history = flat;
	in.nhistory = 12;
	in.requested_frac = 0.99;
	assert_false(vmp_overload_check(VMP_OVERLOAD_MAD, 2.5, true, &in, &metric));
	assert_close(metric, 1);
	in.requested_frac = 0.81;
	assert_true(vmp_overload_check(VMP_OVERLOAD_THR, 0.8, true, &in, NULL));
	assert_false(vmp_overload_check(VMP_OVERLOAD_NONE, 0, true, &in, NULL));
}

static void
test_ols_r2(void **state)
{
	double x[2 * 6], y[6], r2 = -1;
	size_t i;

	for (i = 0; i < 6; i++) {
		x[i] = (double)i;
		x[6 + i] = (double)(i * i % 5);
		y[i] = 3 + 2 * x[i] - x[6 + i];       /* exactly explained */
	}
	assert_true(vmp_stat_ols_r2(x, 2, y, 6, &r2));
	assert_close(r2, 1);
	y[2] += 1;                                  /* not any more */
	assert_true(vmp_stat_ols_r2(x, 2, y, 6, &r2));
	assert_true(r2 < 1 && r2 > 0);
	assert_false(vmp_stat_ols_r2(x, 2, y, 3, &r2)); /* 3 samples, 3 coefficients */
}

static void
test_random_selection_is_seeded(void **state)
{
	float pct[40 * 12];
	struct vmp_sim_input in = { 40, 12, pct, NULL };
	struct vmp_sim_config cfg;
	struct vmp_sim_result a, b;
	size_t i;

	for (i = 0; i < 40 * 12; i++)
		pct[i] = (float)((i * 37) % 100);
	vmp_sim_config_default(&cfg);
	cfg.nhosts = 20;
	cfg.seed = 42;
	assert_int_equal(vmp_sim_run(&cfg, vmp_sim_policy_find("thr-rs-0.8"), &in, &a), 0);
	assert_int_equal(vmp_sim_run(&cfg, vmp_sim_policy_find("thr-rs-0.8"), &in, &b), 0);
	assert_true(a.migrations > 0);
	assert_int_equal(a.migrations, b.migrations);
	assert_true(a.energy_kwh == b.energy_kwh);
	vmp_sim_result_release(&a);
	vmp_sim_result_release(&b);
	assert_int_equal(vmp_sim_run(&cfg, vmp_sim_policy_find("thr-mc-0.8"), &in, &a), 0);
	assert_true(a.migrations > 0);
	vmp_sim_result_release(&a);
}

static void
test_policy_table(void **state)
{
	const struct vmp_sim_policy *p;

	p = vmp_sim_policy_find("LR-MMT-1.2");
	assert_non_null(p);
	assert_int_equal(p->overload, VMP_OVERLOAD_LR);
	assert_close(p->param, 1.2);
	assert_int_equal(p->selection, VMP_SEL_MMT);
	assert_non_null(vmp_sim_policy_find("npa"));
	assert_null(vmp_sim_policy_find("lr-mmt-9"));
}

/* One G4-type host class, one VM class of 500 MIPS. */
static void
small_config(struct vmp_sim_config *cfg, size_t nhosts)
{
	vmp_sim_config_default(cfg);
	cfg->nhosts = nhosts;
	cfg->nhost_types = 1;
	cfg->nvm_types = 1;
	cfg->vm_types[0] = (struct vmp_sim_vm_type){ 500, 613, 100000 };
	cfg->cloudsim_compat = true;
}

static void
test_dvfs_energy_by_hand(void **state)
{
	float pct[4] = { 50, 50, 50, 50 };
	struct vmp_sim_input in = { 1, 4, pct, NULL };
	struct vmp_sim_config cfg;
	struct vmp_sim_result r;
	double u = 250.0 / 3720, p;

	small_config(&cfg, 2);
	assert_int_equal(vmp_sim_run(&cfg, vmp_sim_policy_find("dvfs"), &in, &r), 0);
	/*
	 * Steps at 300.1, 600.1 and 900.1 s (1200.1 is past the 4-sample trace). The first
	 * interval costs nothing (the host's previous utilisation is 0), the next two draw
	 * P(u) for 300 s each. P is linear between the 0 % (86 W) and 10 % (89.4 W) points.
	 */
	p = 86 + (89.4 - 86) / 10 * u * 100;
	assert_close(r.energy_kwh, 2 * 300 * p / 3.6e6);
	assert_int_equal(r.migrations, 0);
	assert_close(r.slatah, 0);
	assert_int_equal(r.series.n, 3);
	assert_int_equal(r.series.active_hosts[0], 1);
	vmp_sim_result_release(&r);

	/* NPA: both hosts at full power over the whole 900.1 s */
	assert_int_equal(vmp_sim_run(&cfg, vmp_sim_policy_find("npa"), &in, &r), 0);
	assert_close(r.energy_kwh, 2 * 117 * 900.1 / 3.6e6);
	vmp_sim_result_release(&r);
}

static void
test_consolidation_migrates_and_switches_off(void **state)
{
	/* two VMs at 10 %: initial best fit spreads them (an idle host adds least power) */
	float pct[2 * 6] = { 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10 };
	struct vmp_sim_input in = { 2, 6, pct, NULL };
	struct vmp_sim_vm_state vs0, vs1;
	struct vmp_sim_host_state hs;
	struct vmp_sim_config cfg;
	struct vmp_sim_result r;
	struct vmp_sim *s = NULL;

	small_config(&cfg, 3);
	cfg.nvm_types = 2;
	cfg.vm_types[1] = cfg.vm_types[0];
	assert_int_equal(vmp_sim_new(&cfg, vmp_sim_policy_find("thr-mmt-0.8"), &in, &s), 0);
	assert_int_equal(vmp_sim_vm(s, 0, &vs0), 0);
	assert_int_equal(vmp_sim_vm(s, 1, &vs1), 0);
	assert_true(vs0.host >= 0 && vs1.host >= 0 && vs0.host != vs1.host);
	/* first step: the least-loaded host (the first of equals) is emptied */
	assert_int_equal(vmp_sim_step(s), 1);
	assert_int_equal(vmp_sim_vm(s, 0, &vs0), 0);
	assert_int_equal(vs0.migrating_to, vs1.host);
	/* second step: the migration (613 MB at 62.5 MB/s = 9.8 s) is done, host off */
	assert_int_equal(vmp_sim_step(s), 1);
	assert_int_equal(vmp_sim_vm(s, 0, &vs0), 0);
	assert_int_equal(vs0.host, vs1.host);
	assert_int_equal(vs0.migrating_to, -1);
	assert_int_equal(vmp_sim_host(s, 0, &hs), 0);
	assert_false(hs.active);
	assert_int_equal(hs.nvms, 0);
	while (vmp_sim_step(s) > 0)
		;
	vmp_sim_result(s, &r);
	assert_int_equal(r.migrations, 1);
	assert_true(r.pdm > 0);           /* 10 % of the VM's CPU lost for 9.8 s */
	assert_true(r.slatah > 0);        /* the destination gave 10 % while it arrived */
	assert_close(r.mean_time_before_vm_migration_s, 613 / 62.5);
	vmp_sim_result_release(&r);
	vmp_sim_free(s);
}

static void
test_external_migrations(void **state)
{
	float pct[6] = { 20, 20, 20, 20, 20, 20 };
	struct vmp_sim_input in = { 1, 6, pct, NULL };
	struct vmp_sim_policy ext = { "ext", "", VMP_SIM_EXTERNAL, VMP_OVERLOAD_NONE, 0,
				      VMP_SEL_MMT };
	struct vmp_sim_vm_state vs;
	struct vmp_sim_config cfg;
	struct vmp_sim *s = NULL;
	int from;

	small_config(&cfg, 2);
	assert_int_equal(vmp_sim_new(&cfg, &ext, &in, &s), 0);
	assert_int_equal(vmp_sim_step(s), 1);
	assert_int_equal(vmp_sim_vm(s, 0, &vs), 0);
	from = vs.host;
	assert_int_equal(vmp_sim_migrate(s, 0, (size_t)from), -EINVAL);
	assert_int_equal(vmp_sim_migrate(s, 5, 0), -ENOENT);
	assert_int_equal(vmp_sim_migrate(s, 0, (size_t)(1 - from)), 0);
	assert_int_equal(vmp_sim_migrate(s, 0, (size_t)(1 - from)), -EBUSY);
	assert_int_equal(vmp_sim_step(s), 1);
	assert_int_equal(vmp_sim_vm(s, 0, &vs), 0);
	assert_int_equal(vs.host, 1 - from);
	assert_close(vs.requested_mips, 100);
	assert_close(vs.allocated_mips, 100);
	vmp_sim_free(s);
}

/*
 * Two one-core hosts of 1000 MIPS, two VMs of 1000 MIPS (each alone on a host at
 * creation), run by the step API so the test migrates VM 1 onto host 0 at 300.1 s.
 * RAM 100 MB over 1 MB/s (bw 16,000 kbit/s, half for migrations): 100 s.
 */
static void
acct_config(struct vmp_sim_config *cfg)
{
	vmp_sim_config_default(cfg);
	cfg->nhosts = 2;
	cfg->nhost_types = 1;
	cfg->host_types[0] = (struct vmp_sim_host_type){ 1000, 1, 150, 16000,
							 &vmp_power_hp_ml110_g4 };
	cfg->nvm_types = 1;
	cfg->vm_types[0] = (struct vmp_sim_vm_type){ 1000, 100, 0 };
}

static const struct vmp_sim_policy acct_external = {
	"test", "the test migrates", VMP_SIM_EXTERNAL, VMP_OVERLOAD_NONE, 0, VMP_SEL_MMT
};

struct ev_log {
	struct vmp_sim_event ev[16];
	size_t n;
};

static void
ev_record(void *ctx, const struct vmp_sim_event *ev)
{
	struct ev_log *l = ctx;

	if (l->n < 16)
		l->ev[l->n++] = *ev;
}

/* Runs the 3-sample day: creation, migrate VM 1 to host 0 after the first step, the rest. */
static void
acct_run(const float *pct, struct ev_log *log, struct vmp_sim_result *r)
{
	struct vmp_sim_input in = { 2, 3, pct, NULL };
	struct vmp_sim_vm_state vs;
	struct vmp_sim_config cfg;
	struct vmp_sim *s = NULL;

	acct_config(&cfg);
	cfg.on_event = ev_record;
	cfg.event_ctx = log;
	assert_int_equal(vmp_sim_new(&cfg, &acct_external, &in, &s), 0);
	assert_int_equal(vmp_sim_vm(s, 0, &vs), 0);
	assert_int_equal(vs.host, 0);
	assert_int_equal(vmp_sim_vm(s, 1, &vs), 0);
	assert_int_equal(vs.host, 1);
	assert_int_equal(vmp_sim_step(s), 1);
	assert_int_equal(vmp_sim_migrate(s, 1, 0), 0);
	while (vmp_sim_step(s) > 0)
		;
	vmp_sim_result(s, r);
	vmp_sim_free(s);
}

/*
 * A linear ramp crossing capacity mid-step. VM 0 asks 500 MIPS all day; VM 1's samples
 * are 20, 20, 80 % (t = 0, 300, 600; the last repeats to 900). After VM 1 arrives on
 * host 0 (400.1 s) the host's demand is 500 + 200 + 2 (t - 300): it crosses 1000 at
 * t = 450 and stays above (1300 from 600 on). So host 0 is overloaded 450 s, with an
 * excess of 300 / 2 * 150 + 300 * 300 = 112,500 MIPS s, all of it unserved (the two VMs
 * share the host's 1000 MIPS in proportion). During the migration host 0 carries 10 % of
 * VM 1 (about 20 MIPS: no overload), and VM 1 gets 90 % of its demand on host 1: 10 % of
 * its integral over the 100 s, 0.1 * 100 * r1(350.1), is lost to the migration. Memory:
 * two 100-MB VMs on a 150-MB host from the migration's start, 599.9 s.
 */
static void
test_acct_ramp_crossing(void **state)
{
	float pct[6] = { 50, 50, 50, 20, 20, 80 };
	struct ev_log evl = { 0 };
	struct vmp_sim_result r;
	double vm0_lost;

	acct_run(pct, &evl, &r);
	assert_close(r.acct.window_s, 900);
	assert_close(r.acct.overload_host_s, 450);
	/* active: host 0 all day, host 1 until VM 1 left it (switched off at 400.1 s) */
	assert_close(r.acct.active_host_s, 900 + 400.1);
	assert_close(r.acct.requested_mips_s, 500 * 900 + (200 * 300 + 500 * 300 + 800 * 300));
	assert_close(r.acct.unserved_overload_mips_s, 112500);
	assert_close(r.acct.unserved_migration_mips_s, 0.1 * 100 * (200 + 2 * (350.1 - 300)));
	/*
	 * VM 0's part: 500 (1 - 1000 / D) over the overload. On [450, 600] D = 1000 + 2 s,
	 * whose integral is 500 (150 - 500 ln 1.3); on [600, 900] 500 * 300 / 1300 * 300.
	 * VM 1 loses the rest and its migration: the worse share.
	 */
	vm0_lost = 500 * (150 - 500 * log(1.3)) + 500.0 * 300 / 1300 * 300;
	assert_int_equal(r.acct.worst_vm, 1);
	assert_close(r.acct.worst_vm_unserved_frac,
		     (112500 - vm0_lost + r.acct.unserved_migration_mips_s) / 450000);
	assert_close(r.acct.mem_overload_host_s, 599.9);
	vmp_sim_result_release(&r);
}

/*
 * A VM migrating in. VM 0 asks 950 MIPS, VM 1 600, constant. While VM 1 migrates
 * (300.1 .. 400.1 s) host 0 carries 950 + 60 = 1010 > 1000: overloaded 100 s, VM 0
 * served 950 * 1000 / 1010; afterwards 1550: overloaded 499.9 s more, excess
 * 550 * 499.9. Memory: two 100-MB VMs on a 150-MB host from the migration's start
 * (the arriving VM holds its memory on both hosts): 599.9 s, excess 50 MB.
 * Host 1 switches off when VM 1 leaves.
 */
static void
test_acct_migrating_in(void **state)
{
	float pct[6] = { 95, 95, 95, 60, 60, 60 };
	struct ev_log evl = { 0 };
	struct vmp_sim_result r;

	acct_run(pct, &evl, &r);
	assert_close(r.acct.overload_host_s, 100 + 499.9);
	assert_close(r.acct.unserved_overload_mips_s, 950 * (10.0 / 1010) * 100 + 550 * 499.9);
	assert_close(r.acct.unserved_migration_mips_s, 0.1 * 600 * 100);
	assert_close(r.acct.unserved_mips_s,
		     r.acct.unserved_overload_mips_s + r.acct.unserved_migration_mips_s);
	assert_close(r.acct.mem_overload_host_s, 599.9);
	assert_close(r.acct.mem_excess_mb_s, 50 * 599.9);
	assert_close(r.acct.mem_requested_mb_s, 2 * 100 * 900);
	assert_close(r.acct.active_host_s, 900 + 400.1);
	/* the simulator's SLATAH: host 0 "violating" from the migration on, of 1300 s */
	assert_true(r.slatah > 0);
	/* every placement change, in order */
	assert_int_equal(evl.n, 7);
	assert_int_equal(evl.ev[0].kind, VMP_SIM_EV_PLACE);
	assert_int_equal(evl.ev[0].vm, 0);
	assert_int_equal(evl.ev[0].host, 0);
	assert_int_equal(evl.ev[1].kind, VMP_SIM_EV_HOST_ON);
	assert_int_equal(evl.ev[2].kind, VMP_SIM_EV_PLACE);
	assert_int_equal(evl.ev[2].host, 1);
	assert_int_equal(evl.ev[3].kind, VMP_SIM_EV_HOST_ON);
	assert_int_equal(evl.ev[4].kind, VMP_SIM_EV_MIG_START);
	assert_int_equal(evl.ev[4].vm, 1);
	assert_int_equal(evl.ev[4].from, 1);
	assert_int_equal(evl.ev[4].host, 0);
	assert_close(evl.ev[4].time_s, 300.1);
	assert_close(evl.ev[4].end_s, 400.1);
	assert_int_equal(evl.ev[5].kind, VMP_SIM_EV_MIG_END);
	assert_close(evl.ev[5].time_s, 400.1);
	assert_int_equal(evl.ev[6].kind, VMP_SIM_EV_HOST_OFF);
	assert_int_equal(evl.ev[6].host, 1);
	vmp_sim_result_release(&r);
}

/*
 * A host switched off for good: with memory traces, VM 0's memory ramps 100 -> 200 %
 * of its 100 MB alone on host 0 (150 MB) and crosses it at t = 150; VM 1 idles on host
 * 1 at 10 % until it leaves at 400.1 s, after which host 1 is off and counts nothing.
 * The test runs on CPU demands that never overload, so only memory and activity count.
 */
static void
test_acct_host_off_and_memory(void **state)
{
	float pct[6] = { 10, 10, 10, 10, 10, 10 };
	float mem[6] = { 100, 200, 200, 10, 10, 10 };
	struct vmp_sim_input in = { 2, 3, pct, mem };
	struct vmp_sim_config cfg;
	struct vmp_sim_result r;
	struct vmp_sim_host_state hs;
	struct vmp_sim *s = NULL;

	acct_config(&cfg);
	cfg.host_types[0].ram_mb = 150;
	assert_int_equal(vmp_sim_new(&cfg, &acct_external, &in, &s), 0);
	assert_int_equal(vmp_sim_step(s), 1);
	/* at 300.1 s VM 0 holds 200 MB, VM 1 10 MB */
	assert_int_equal(vmp_sim_host(s, 0, &hs), 0);
	assert_close(hs.ram_mb, 150);
	assert_close(hs.mem_demand_mb, 200);
	assert_int_equal(vmp_sim_migrate(s, 1, 0), 0);
	while (vmp_sim_step(s) > 0)
		;
	assert_int_equal(vmp_sim_host(s, 1, &hs), 0);
	assert_false(hs.active);
	vmp_sim_result(s, &r);
	vmp_sim_free(s);
	assert_close(r.acct.overload_host_s, 0);
	assert_close(r.acct.unserved_overload_mips_s, 0);
	/* memory: above 150 from t = 150 (100 + 100 t / 300); VM 1 adds 10 MB from 300.1 */
	assert_close(r.acct.mem_overload_host_s, 900 - 150);
	assert_close(r.acct.mem_excess_mb_s, 50.0 / 2 * 150 + 50 * 600 + 10 * 599.9);
	assert_close(r.acct.active_host_s, 900 + 400.1);
	vmp_sim_result_release(&r);
}

static void
test_bad_config(void **state)
{
	float pct[1] = { 1 };
	struct vmp_sim_input in = { 1, 1, pct, NULL };
	struct vmp_sim_config cfg;
	struct vmp_sim *s = NULL;

	vmp_sim_config_default(&cfg);
	cfg.nhosts = 0;
	assert_int_equal(vmp_sim_new(&cfg, vmp_sim_policy_find("npa"), &in, &s), -EINVAL);
	vmp_sim_config_default(&cfg);
	in.nvms = 0;
	assert_int_equal(vmp_sim_new(&cfg, vmp_sim_policy_find("npa"), &in, &s), -EINVAL);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acct_ramp_crossing),
		cmocka_unit_test(test_acct_migrating_in),
		cmocka_unit_test(test_acct_host_off_and_memory),
		cmocka_unit_test(test_power),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_detectors),
		cmocka_unit_test(test_ols_r2),
		cmocka_unit_test(test_random_selection_is_seeded),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_dvfs_energy_by_hand),
		cmocka_unit_test(test_consolidation_migrates_and_switches_off),
		cmocka_unit_test(test_external_migrations),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
