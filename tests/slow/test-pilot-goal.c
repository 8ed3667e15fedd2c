/* SPDX-License-Identifier: MIT */
/*
 * Issue 3's goal for vmpilot's policy on one held-out PlanetLab day (20110325, never used
 * for tuning), in both simulator modes: ESV at most half the best baseline's, energy no
 * higher than LR-MMT-1.2's, fewer migrations than every baseline, and every policy's
 * energy above the oracle bound. bench/pilot-goal.py prints the same for all five days.
 * And issue 8's: less energy, CPU not served, overload time (host-hours, continuous
 * accounting) and migrations than LR-MMT-1.2 and THR-MMT-0.8, all at once
 * (bench/planner-dominance.py for all five days).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/simrun.h"
#include "trace/trace.h"
#include "util/util.h"

#define DAY "20110325"


static void
run_goal(bool compat)
{
	const char *tests = getenv("VMP_TESTS_DIR");
	struct vmp_trace *trace = NULL;
	struct vmp_sim_config cfg;
	struct vmp_simrun_result pilot, base;
	struct vmp_sim_input in;
	double best_esv = INFINITY, lr_energy = 0;
	uint64_t fewest = UINT64_MAX;
	const struct vmp_sim_policy *p;
	char *dir, *err = NULL;
	struct vmp_sim_result goal[2];
	size_t ngoal = 0, g;

	assert_non_null(tests);
	dir = xasprintf("%s/../data/traces/planetlab/" DAY, tests);
	if (vmp_trace_read_planetlab(dir, &trace, &err) < 0)
		fail_msg("%s", err);
	vmp_sim_config_default(&cfg);
	cfg.cloudsim_compat = compat;
	in = (struct vmp_sim_input){ trace->nvms, trace->nsteps, trace->cpu_usage_pct, NULL };

	/* the baselines: every migrating row of the table */
	for (p = vmp_sim_policies; p->name; p++) {
		if (p->kind != VMP_SIM_MIGRATE)
			continue;
		assert_int_equal(vmp_simrun(&cfg, p, NULL, &in, NULL, NULL, &base), 0);
		if (base.sim.esv < best_esv)
			best_esv = base.sim.esv;
		if (base.sim.migrations < fewest)
			fewest = base.sim.migrations;
		if (strcmp(p->name, "lr-mmt-1.2") == 0)
			lr_energy = base.sim.energy_kwh;
		if (strcmp(p->name, "lr-mmt-1.2") == 0 || strcmp(p->name, "thr-mmt-0.8") == 0)
			goal[ngoal++] = base.sim;   /* scalars only: series are released */
		assert_true(base.energy_ratio > 1);
		vmp_simrun_result_release(&base);
	}
	assert_int_equal(vmp_simrun(&cfg, vmp_sim_policy_find("vmpilot"), NULL, &in, NULL, NULL,
				    &pilot), 0);
	printf("%s %s: vmpilot %.2f kWh (LR %.2f), ESV %.3g (half best %.3g), %llu migrations "
	       "(fewest baseline %llu), E/bound %.3f\n", DAY, compat ? "compat" : "default",
	       pilot.sim.energy_kwh, lr_energy, pilot.sim.esv, best_esv / 2,
	       (unsigned long long)pilot.sim.migrations, (unsigned long long)fewest,
	       pilot.energy_ratio);
	assert_true(pilot.sim.esv <= best_esv / 2);
	assert_true(lr_energy > 0);
	assert_true(pilot.sim.energy_kwh <= lr_energy);
	assert_true(pilot.sim.migrations < fewest);
	assert_true(pilot.energy_ratio > 1);
	assert_int_equal(ngoal, 2);
	for (g = 0; g < ngoal; g++) {
		const struct vmp_sim_acct *a = &pilot.sim.acct, *b = &goal[g].acct;

		printf("  against baseline %zu: %.2f / %.2f kWh, %.4f / %.4f %% not served, "
		       "%.2f / %.2f overload h, %llu / %llu migrations\n", g, pilot.sim.energy_kwh,
		       goal[g].energy_kwh, a->unserved_mips_s / a->requested_mips_s * 100,
		       b->unserved_mips_s / b->requested_mips_s * 100, a->overload_host_s / 3600,
		       b->overload_host_s / 3600, (unsigned long long)pilot.sim.migrations,
		       (unsigned long long)goal[g].migrations);
		assert_true(pilot.sim.energy_kwh < goal[g].energy_kwh);
		assert_true(a->unserved_mips_s / a->requested_mips_s <
			    b->unserved_mips_s / b->requested_mips_s);
		assert_true(a->overload_host_s < b->overload_host_s);
		assert_true(pilot.sim.migrations < goal[g].migrations);
	}
	vmp_simrun_result_release(&pilot);
	vmp_trace_free(trace);
	free(dir);
	free(err);
}

static void
test_goal_default_regression_pin(void **state)
{
	(void)state;
	run_goal(false);
}

static void
test_goal_compat_regression_pin(void **state)
{
	(void)state;
	run_goal(true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goal_default_regression_pin),
		cmocka_unit_test(test_goal_compat_regression_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
