/* SPDX-License-Identifier: MIT */
/*
 * Tests of host memory pressure handling (src/core/overcommit.c): vmpilot's reclaim
 * plan and oVirt MOM's balloon rules. Each test pins one rule of doc/policies.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/overcommit.h"

#define GIB (1024ull * 1024)

static struct vmp_overcommit_vm
vm(uint64_t cur_gib, uint64_t floor_gib)
{
	struct vmp_overcommit_vm v;

	memset(&v, 0, sizeof(v));
	v.current_kib = cur_gib * GIB;
	v.want_kib = v.current_kib;
	v.floor_kib = floor_gib * GIB;
	v.stats_ok = true;
	return v;
}

static void
test_reclaims_most_slack_first_within_step(void **state)
{
	struct vmp_overcommit_params p;
	struct vmp_host_mem host = { .total_kib = 100 * GIB, .available_kib = 19 * GIB };
	struct vmp_overcommit_vm vms[3] = { vm(20, 18), vm(20, 4), vm(20, 10) };
	struct vmp_decision d[3];
	uint64_t unmet = 99;

	vmp_overcommit_params_default(&p);
	/* 1 GiB short of 20 % free: taken from VM 1 (16 GiB slack), 5 % step = 1 GiB. */
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 3, d, &unmet), 1);
	assert_int_equal(d[1].action, VMP_ACT_SHRINK);
	assert_int_equal(d[1].reason, VMP_WHY_HOST_PRESSURE);
	assert_true(d[1].to == 19.0 * GIB);
	assert_int_equal(d[0].action, VMP_ACT_NONE);
	assert_int_equal(d[2].action, VMP_ACT_NONE);
	assert_int_equal(unmet, 0);
	/* 2.5 GiB short: step limit 1 GiB per VM, so the next-most slack gives too. */
	host.available_kib = 17.5 * GIB;
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 3, d, &unmet), 3);
	assert_true(d[1].to == 19.0 * GIB);
	assert_true(d[2].to == 19.0 * GIB);
	assert_true(d[0].to == 19.5 * GIB);
	assert_int_equal(unmet, 0);
}

static void
test_floor_and_hands_off_vms_are_spared(void **state)
{
	struct vmp_overcommit_params p;
	struct vmp_host_mem host = { .total_kib = 100 * GIB, .available_kib = 5 * GIB };
	struct vmp_overcommit_vm vms[5] = { vm(20, 20), vm(20, 2), vm(20, 2), vm(20, 2),
					    vm(20, 2) };
	struct vmp_decision d[5];
	uint64_t unmet = 0;
	int i;

	vmp_overcommit_params_default(&p);
	vms[1].stats_ok = false;      /* never shrink without fresh stats */
	vms[2].guest_pressure = true; /* nor a guest that shows pressure */
	vms[3].migrating = true;
	vms[4].opt_out = true;
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 5, d, &unmet), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(d[i].action, VMP_ACT_NONE);
		assert_true(d[i].to == d[i].from);
		assert_true(d[i].n_rejected >= 1);
	}
	/* The VM at its floor is not squeezed, even under critical pressure. */
	assert_int_equal(d[0].reason, VMP_WHY_AT_BOUND);
	assert_string_equal(d[0].rejected[0].why, "at protected floor");
	assert_int_equal(d[1].reason, VMP_WHY_STATS_MISSING);
	assert_int_equal(d[2].reason, VMP_WHY_PRESSURE);
	assert_int_equal(d[3].reason, VMP_WHY_MIGRATING);
	assert_int_equal(d[4].reason, VMP_WHY_OPT_OUT);
	/* What could not be reclaimed is reported: only a migration helps. */
	assert_int_equal(unmet, 15 * GIB);
}

static void
test_critical_takes_bigger_steps_but_not_below_floor(void **state)
{
	struct vmp_overcommit_params p;
	struct vmp_host_mem host = { .total_kib = 100 * GIB, .available_kib = 2 * GIB };
	struct vmp_overcommit_vm vms[2] = { vm(40, 39), vm(40, 10) };
	struct vmp_decision d[2];

	vmp_overcommit_params_default(&p);
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 2, d, NULL), 2);
	assert_true(d[1].to == 36.0 * GIB);  /* 10 % of 40 GiB under critical pressure */
	assert_true(d[0].to == 39.0 * GIB);  /* only down to its floor */
}

static void
test_growth_pressured_first_and_within_host(void **state)
{
	struct vmp_overcommit_params p;
	struct vmp_host_mem host = { .total_kib = 100 * GIB, .available_kib = 24 * GIB };
	struct vmp_overcommit_vm vms[2] = { vm(10, 5), vm(10, 5) };
	struct vmp_decision d[2];

	vmp_overcommit_params_default(&p);
	/* Both want 4 GiB more; the host has 4 GiB above the 20 % line. */
	vms[0].want_kib = 14 * GIB;
	vms[1].want_kib = 14 * GIB;
	vms[1].guest_pressure = true;
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 2, d, NULL), 1);
	assert_int_equal(d[1].action, VMP_ACT_GROW);
	assert_int_equal(d[1].reason, VMP_WHY_PRESSURE);
	assert_true(d[1].to == 14.0 * GIB);
	assert_int_equal(d[0].action, VMP_ACT_NONE);
	assert_int_equal(d[0].reason, VMP_WHY_HOST_PRESSURE);
	/*
	 * A pressured guest may dig down to the critical level (5 %), no further; the
	 * host then reclaims from the VM with slack to get back toward 20 %.
	 */
	host.available_kib = 10 * GIB;
	vms[1].want_kib = 30 * GIB;
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 2, d, NULL), 2);
	assert_true(d[1].to == 15.0 * GIB);
	assert_int_equal(d[0].reason, VMP_WHY_HOST_PRESSURE);
	assert_true(d[0].to == 9.5 * GIB);
	/* Pressure over: memory goes back (host relief). */
	host.available_kib = 50 * GIB;
	vms[1].guest_pressure = false;
	vms[1].want_kib = 14 * GIB;
	assert_int_equal(vmp_overcommit_plan(&p, &host, vms, 2, d, NULL), 2);
	assert_int_equal(d[0].reason, VMP_WHY_HOST_RELIEF);
	assert_true(d[0].to == 14.0 * GIB);
}

static void
test_mom_rules(void **state)
{
	struct vmp_mom_params p;
	struct vmp_host_mem host = { .total_kib = 100 * GIB, .available_kib = 10 * GIB };
	struct vmp_mom_guest g[2] = {
		{ .balloon_cur_kib = 8 * GIB, .balloon_max_kib = 8 * GIB,
		  .stat_available_kib = 8 * GIB, .stat_free_kib = 6 * GIB, .stats_ok = true },
		{ .balloon_cur_kib = 8 * GIB, .balloon_max_kib = 8 * GIB,
		  .stat_available_kib = 8 * GIB, .stat_free_kib = 6 * GIB, .stats_ok = false },
	};
	struct vmp_decision d[2];

	vmp_mom_params_default(&p);
	/* 10 % free < 20 %: shrink by the 5 % step (used 2 GiB + 10 % × 8 GiB is lower). */
	assert_int_equal(vmp_mom_plan(&p, &host, g, 2, d), 1);
	assert_true(d[0].to == 8.0 * GIB * 0.95);
	assert_int_equal(d[1].reason, VMP_WHY_STATS_MISSING);
	/* Near the guest's need the step stops at used + free share. */
	g[0].stat_free_kib = 1 * GIB;
	assert_int_equal(vmp_mom_plan(&p, &host, g, 1, d), 1);
	assert_true(d[0].to == (7.0 + 0.1 * 8) * GIB);
	/* Critical: MOM squeezes below the guest's use (the thrashing complaint). */
	host.available_kib = 4 * GIB;
	g[0].stat_free_kib = 0;
	assert_int_equal(vmp_mom_plan(&p, &host, g, 1, d), 1);
	assert_true(d[0].to < 8.0 * GIB);
	/* No pressure: grow 5 % toward the max ... */
	host.available_kib = 50 * GIB;
	g[0].balloon_cur_kib = 4 * GIB;
	g[0].stat_free_kib = 3 * GIB;
	assert_int_equal(vmp_mom_plan(&p, &host, g, 1, d), 1);
	assert_true(d[0].to == 4.0 * GIB * 1.05);
	/* ... and at least to used + 20 % of the max (grow_guest's balloon_min). */
	g[0].stat_free_kib = 0;
	assert_int_equal(vmp_mom_plan(&p, &host, g, 1, d), 1);
	assert_true(d[0].to == (4.0 + 0.2 * 8) * GIB);
	/* At the max there is nothing to do. */
	g[0].balloon_cur_kib = 8 * GIB;
	assert_int_equal(vmp_mom_plan(&p, &host, g, 1, d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reclaims_most_slack_first_within_step),
		cmocka_unit_test(test_floor_and_hands_off_vms_are_spared),
		cmocka_unit_test(test_critical_takes_bigger_steps_but_not_below_floor),
		cmocka_unit_test(test_growth_pressured_first_and_within_host),
		cmocka_unit_test(test_mom_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
