/* SPDX-License-Identifier: MIT */
/*
 * Tests of the KSM tuning policy (src/core/ksm.c, ksmtuned's algorithm and the kernel
 * advisor switch) and of the per-host action budget (src/core/budget.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "core/budget.h"
#include "core/ksm.h"

#define GIB (1024ull * 1024)
#define MIN_MS (60ll * 1000)

static void
test_ksmtuned_boost_decay_bounds(void **state)
{
	struct vmp_ksm_params p;
	struct vmp_ksm_setting s;
	struct vmp_decision d;
	struct vmp_ksm_input in = {
		.total_kib = 16 * GIB, .free_kib = 2 * GIB, .committed_kib = 15 * GIB,
		.npages_now = 100,
	};

	vmp_ksm_params_default(&p);
	/* Free 2 GiB < 20 % of 16 GiB: boost by 300. */
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_true(s.run);
	assert_false(s.use_advisor);
	assert_int_equal(s.pages_to_scan, 400);
	assert_int_equal(d.action, VMP_ACT_GROW);
	/* ksmtuned's sleep: 10 ms × 16 GiB / total, at least 10. */
	assert_int_equal(s.sleep_millisecs, 10);
	in.total_kib = 4 * GIB;
	in.committed_kib = 4 * GIB;
	in.free_kib = 0;
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_int_equal(s.sleep_millisecs, 40);
	/* Capped at 1250. */
	in.npages_now = 1200;
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_int_equal(s.pages_to_scan, 1250);
	/* Plenty free: decay by 50, never below 64. */
	in.total_kib = 16 * GIB;
	in.committed_kib = 15 * GIB;
	in.free_kib = 8 * GIB;
	in.npages_now = 100;
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_int_equal(s.pages_to_scan, 64);
	assert_int_equal(d.action, VMP_ACT_SHRINK);
	/* Committed + threshold below total: KSM stops. */
	in.committed_kib = 8 * GIB;
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_false(s.run);
	assert_false(vmp_decision_find_check(&d, "committed_plus_thres_kib")->crossed);
	in.total_kib = 0;
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), -EINVAL);
}

static void
test_ksm_advisor_when_available(void **state)
{
	struct vmp_ksm_params p;
	struct vmp_ksm_setting s;
	struct vmp_decision d;
	struct vmp_ksm_input in = {
		.total_kib = 16 * GIB, .free_kib = 2 * GIB, .committed_kib = 15 * GIB,
		.npages_now = 100, .advisor_available = true,
	};

	vmp_ksm_params_default(&p);
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_true(s.run && s.use_advisor);
	assert_int_equal(s.advisor_max_cpu_pct, 70);
	assert_int_equal(s.advisor_target_scan_time_s, 200);
	assert_string_equal(d.rejected[0].alternative, "ksmtuned boost/decay");
	/* Turned off by configuration: ksmtuned's rule even where the advisor exists. */
	p.prefer_advisor = false;
	assert_int_equal(vmp_ksm_decide(&p, &in, &s, &d), 0);
	assert_false(s.use_advisor);
	assert_int_equal(s.pages_to_scan, 400);
}

static struct vmp_decision
grow_decision(void)
{
	struct vmp_decision d;

	vmp_decision_init(&d, "memory_kib", 1000);
	vmp_decision_set(&d, VMP_ACT_GROW, VMP_WHY_TARGET, 2000);
	return d;
}

static void
test_budget_sliding_hour(void **state)
{
	static struct vmp_budget b;
	struct vmp_decision d;
	int i;

	assert_int_equal(vmp_budget_init(&b, 3, 1, 0), 0);
	for (i = 0; i < 3; i++) {
		d = grow_decision();
		assert_true(vmp_budget_gate(&b, VMP_BUDGET_BALLOON, false, false, i * MIN_MS, &d));
		assert_int_equal(d.action, VMP_ACT_GROW);
	}
	/* The fourth balloon change in the hour is refused, with the reason. */
	d = grow_decision();
	assert_false(vmp_budget_gate(&b, VMP_BUDGET_BALLOON, false, false, 10 * MIN_MS, &d));
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_BUDGET);
	assert_true(d.to == d.from);
	assert_string_equal(d.rejected[0].why, "hourly action budget spent");
	/* Kinds are separate budgets. */
	d = grow_decision();
	assert_true(vmp_budget_gate(&b, VMP_BUDGET_HOTPLUG, false, false, 10 * MIN_MS, &d));
	d = grow_decision();
	assert_false(vmp_budget_gate(&b, VMP_BUDGET_MIGRATION, false, false, 10 * MIN_MS, &d));
	/* An hour after the first action, one slot is free again. */
	assert_int_equal(vmp_budget_left(&b, VMP_BUDGET_BALLOON, 60 * MIN_MS), 1);
	d = grow_decision();
	assert_true(vmp_budget_gate(&b, VMP_BUDGET_BALLOON, false, false, 60 * MIN_MS, &d));
	assert_int_equal(vmp_budget_left(&b, VMP_BUDGET_BALLOON, 60 * MIN_MS), 0);
	assert_int_equal(vmp_budget_init(&b, VMP_BUDGET_CAP + 1, 1, 1), -EINVAL);
}

static void
test_budget_hands_off(void **state)
{
	static struct vmp_budget b;
	struct vmp_decision d;

	assert_int_equal(vmp_budget_init(&b, 10, 10, 10), 0);
	d = grow_decision();
	assert_false(vmp_budget_gate(&b, VMP_BUDGET_BALLOON, true, false, 0, &d));
	assert_int_equal(d.reason, VMP_WHY_MIGRATING);
	d = grow_decision();
	assert_false(vmp_budget_gate(&b, VMP_BUDGET_BALLOON, false, true, 0, &d));
	assert_int_equal(d.reason, VMP_WHY_OPT_OUT);
	/* Refusals do not spend the budget; non-actions pass untouched. */
	assert_int_equal(vmp_budget_left(&b, VMP_BUDGET_BALLOON, 0), 10);
	vmp_decision_init(&d, "vcpus", 2);
	assert_false(vmp_budget_gate(&b, VMP_BUDGET_HOTPLUG, false, false, 0, &d));
	assert_int_equal(d.reason, VMP_WHY_STEADY);
	assert_int_equal(vmp_budget_left(&b, VMP_BUDGET_HOTPLUG, 0), 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ksmtuned_boost_decay_bounds),
		cmocka_unit_test(test_ksm_advisor_when_available),
		cmocka_unit_test(test_budget_sliding_hour),
		cmocka_unit_test(test_budget_hands_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
