/* SPDX-License-Identifier: MIT */
/*
 * Tests of the cluster-balance choice (src/core/balance.c): which VM moves off a host
 * short of memory or CPU, to which host, and why nothing moves when nothing fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/balance.h"

#define GIB (1024ull * 1024)

static const struct vmp_balance_params params = { 0.20, 0.70 };

static void
test_memory_smallest_vm_covering_shortage(void **state)
{
	struct vmp_balance_host hosts[3] = {
		{ .total_kib = 16 * GIB, .available_kib = 1 * GIB, .unmet_kib = 2 * GIB,
		  .accepts = true, .reachable = true },
		{ .total_kib = 16 * GIB, .available_kib = 6 * GIB, .accepts = true, .reachable = true },
		{ .total_kib = 16 * GIB, .available_kib = 12 * GIB, .accepts = true, .reachable = true },
	};
	struct vmp_balance_vm vms[4] = {
		{ .host = 0, .mem_kib = 1 * GIB, .movable = true },   /* too small */
		{ .host = 0, .mem_kib = 4 * GIB, .movable = true },   /* covers it, smallest */
		{ .host = 0, .mem_kib = 8 * GIB, .movable = true },
		{ .host = 1, .mem_kib = 3 * GIB, .movable = true },   /* another host's */
	};
	struct vmp_decision d;
	size_t vm = 99, dest = 99;

	assert_int_equal(vmp_balance_plan(&params, hosts, 3, vms, 4, 0, &d, &vm, &dest), 1);
	assert_int_equal(vm, 1);
	assert_int_equal(dest, 2);   /* the most memory left after the move */
	assert_int_equal(d.action, VMP_ACT_SET);
	assert_int_equal(d.reason, VMP_WHY_HOST_PRESSURE);
	assert_true(d.to == 2);
	assert_string_equal(d.rejected[0].alternative, "resize in place");
}

static void
test_memory_nothing_fits(void **state)
{
	struct vmp_balance_host hosts[2] = {
		{ .total_kib = 16 * GIB, .available_kib = 1 * GIB, .unmet_kib = 2 * GIB,
		  .accepts = true, .reachable = true },
		/* 3.5 GiB free: a 2 GiB VM would leave 1.5 GiB, under 20 % of 16 GiB. */
		{ .total_kib = 16 * GIB, .available_kib = 3 * GIB + GIB / 2, .accepts = true,
		  .reachable = true },
	};
	struct vmp_balance_vm vms[2] = {
		{ .host = 0, .mem_kib = 2 * GIB, .movable = true },
		{ .host = 0, .mem_kib = 1 * GIB, .movable = false },  /* e.g. opted out */
	};
	struct vmp_decision d;
	size_t vm, dest;

	assert_int_equal(vmp_balance_plan(&params, hosts, 2, vms, 2, 0, &d, &vm, &dest), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_HOST_PRESSURE);
	assert_string_equal(d.rejected[1].why, "no movable vm fits on another host");
	/* A host that refuses migrations or did not answer is no destination either. */
	hosts[1].available_kib = 12 * GIB;
	hosts[1].accepts = false;
	assert_int_equal(vmp_balance_plan(&params, hosts, 2, vms, 2, 0, &d, &vm, &dest), 0);
	hosts[1].accepts = true;
	hosts[1].reachable = false;
	assert_int_equal(vmp_balance_plan(&params, hosts, 2, vms, 2, 0, &d, &vm, &dest), 0);
}

static void
test_no_shortage_no_move(void **state)
{
	struct vmp_balance_host hosts[2] = {
		{ .total_kib = 16 * GIB, .available_kib = 8 * GIB, .accepts = true, .reachable = true },
		{ .total_kib = 16 * GIB, .available_kib = 8 * GIB, .accepts = true, .reachable = true },
	};
	struct vmp_balance_vm vms[1] = { { .host = 0, .mem_kib = GIB, .movable = true } };
	struct vmp_decision d;
	size_t vm, dest;

	assert_int_equal(vmp_balance_plan(&params, hosts, 2, vms, 1, 0, &d, &vm, &dest), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(vmp_balance_plan(&params, hosts, 2, vms, 1, 5, &d, &vm, &dest), -EINVAL);
}

static void
test_cpu_overload_minimum_migration_time(void **state)
{
	struct vmp_balance_host hosts[3] = {
		{ .total_kib = 16 * GIB, .available_kib = 8 * GIB, .accepts = true, .reachable = true,
		  .cpu_overloaded = true, .cpu_capacity = 4, .cpu_used = 3.8 },
		/* Would go to 0.6 + 2 of 4 = 65 %: fits; but host 2 is fuller in memory terms. */
		{ .total_kib = 16 * GIB, .available_kib = 10 * GIB, .accepts = true, .reachable = true,
		  .cpu_capacity = 4, .cpu_used = 0.6 },
		/* CPU already at 60 %: the VM would push it to 110 %. */
		{ .total_kib = 16 * GIB, .available_kib = 14 * GIB, .accepts = true, .reachable = true,
		  .cpu_capacity = 4, .cpu_used = 2.4 },
	};
	struct vmp_balance_vm vms[3] = {
		{ .host = 0, .mem_kib = 4 * GIB, .cpu_cores = 1.8, .movable = true },
		{ .host = 0, .mem_kib = 2 * GIB, .cpu_cores = 2.0, .movable = true },  /* least memory */
		{ .host = 0, .mem_kib = 1 * GIB, .cpu_cores = 0, .movable = true },    /* idle: no help */
	};
	struct vmp_decision d;
	size_t vm = 99, dest = 99;

	assert_int_equal(vmp_balance_plan(&params, hosts, 3, vms, 3, 0, &d, &vm, &dest), 1);
	assert_int_equal(vm, 1);
	assert_int_equal(dest, 1);
	assert_int_equal(d.reason, VMP_WHY_HOST_OVERLOAD);
	assert_non_null(vmp_decision_find_check(&d, "dest_cpu_used_frac"));
	/* An overloaded destination is refused, and host 2 would end over 70 %: no move. */
	hosts[1].cpu_overloaded = true;
	assert_int_equal(vmp_balance_plan(&params, hosts, 3, vms, 3, 0, &d, &vm, &dest), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_HOST_OVERLOAD);
	/* With room on host 2 the VM with the least memory that uses CPU goes there. */
	hosts[2].cpu_used = 0.4;
	assert_int_equal(vmp_balance_plan(&params, hosts, 3, vms, 3, 0, &d, &vm, &dest), 1);
	assert_int_equal(vm, 1);
	assert_int_equal(dest, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_smallest_vm_covering_shortage),
		cmocka_unit_test(test_memory_nothing_fits),
		cmocka_unit_test(test_no_shortage_no_move),
		cmocka_unit_test(test_cpu_overload_minimum_migration_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
