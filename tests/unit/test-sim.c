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
	struct vmp_sim_input in = { 40, 12, pct };
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
	struct vmp_sim_input in = { 1, 4, pct };
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
	struct vmp_sim_input in = { 2, 6, pct };
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
	struct vmp_sim_input in = { 1, 6, pct };
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

static void
test_bad_config(void **state)
{
	float pct[1] = { 1 };
	struct vmp_sim_input in = { 1, 1, pct };
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
