/* SPDX-License-Identifier: MIT */
/*
 * Tests of the diagnosis maths (src/core/diagnose.c, doc/diagnose.md): each resource's
 * stall fraction computed here independently from the same counters, the bottleneck
 * named only past its threshold, the score, counters going backwards, missing counters
 * (not measured, never a verdict), samples out of order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/diagnose.h"
#include "core/workload.h"

#define S 1000000 /* µs per second */

static struct vmp_diag_input
base(void)
{
	struct vmp_diag_input in;

	memset(&in, 0, sizeof(in));
	in.vcpus = 2;
	in.a.time_us = 10 * S;
	in.b.time_us = 14 * S; /* 4 s */
	in.a.have_cpu = in.b.have_cpu = in.a.have_delay = in.b.have_delay = true;
	in.a.have_balloon = in.b.have_balloon = in.a.have_swap = in.b.have_swap = true;
	in.a.have_faults = in.b.have_faults = in.a.have_block = in.b.have_block = true;
	in.a.mem_total_kib = in.b.mem_total_kib = 1000000;
	in.a.mem_available_kib = in.b.mem_available_kib = 500000;
	return in;
}

static void
test_healthy(void **state)
{
	struct vmp_diag_params p;
	struct vmp_diag_input in = base();
	struct vmp_diag_result r;

	(void)state;
	vmp_diag_params_default(&p);
	in.b.cpu_time_ns = 4ull * 1000000000; /* 50 % of 2 vCPUs for 4 s */
	in.b.vcpu_delay_ns = 80000000;        /* 0.08 s of 8 vCPU-s: 1 % */
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, -1);
	assert_true(fabs(r.steal_frac - 0.01) < 1e-9);
	assert_true(fabs(r.cpu_busy_frac - 0.5) < 1e-9);
	assert_int_equal(r.score, 99);
	assert_string_equal(vmp_diag_name(r.bottleneck), "none");
}

static void
test_cpu_contention(void **state)
{
	struct vmp_diag_params p;
	struct vmp_diag_input in = base();
	struct vmp_diag_result r;
	double steal = 3.2 / 8; /* independent: 3.2 s waited of 2 vCPUs x 4 s */

	(void)state;
	vmp_diag_params_default(&p);
	in.b.vcpu_delay_ns = 3200000000ull;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, VMP_DIAG_CPU);
	assert_true(fabs(r.stall[VMP_DIAG_CPU] - steal) < 1e-9);
	assert_int_equal(r.score, 60);
	assert_non_null(strstr(r.evidence[VMP_DIAG_CPU], "steal 40%"));
	/* just under the threshold: no verdict */
	in.b.vcpu_delay_ns = (uint64_t)(0.099 * 8e9);
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, -1);
}

static void
test_memory_pressure(void **state)
{
	struct vmp_diag_params p;
	struct vmp_diag_input in = base();
	struct vmp_diag_result r;

	(void)state;
	vmp_diag_params_default(&p);
	/* 2 % available: stall (0.10 - 0.02) / 0.10 = 0.8 */
	in.b.mem_available_kib = 20000;
	in.balloon_target_kib = 800000;
	in.b.balloon_actual_kib = 900000; /* above target + 5 %: stuck */
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, VMP_DIAG_MEMORY);
	assert_true(fabs(r.stall[VMP_DIAG_MEMORY] - 0.8) < 1e-9);
	assert_true(r.balloon_stuck);
	assert_int_equal(r.score, 20);
	/* plenty available but swapping in 2 MiB/s: full stall */
	in = base();
	in.b.swap_in_kib = 8192;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, VMP_DIAG_MEMORY);
	assert_true(fabs(r.swapin_kib_s - 2048) < 1e-9);
	assert_true(r.stall[VMP_DIAG_MEMORY] == 1.0);
	/* major faults: 100/s is half of the full-stall rate */
	in = base();
	in.b.major_faults = 400;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_true(fabs(r.stall[VMP_DIAG_MEMORY] - 0.5) < 1e-9);
	assert_int_equal(r.bottleneck, VMP_DIAG_MEMORY);
}

static void
test_io_throttling(void **state)
{
	struct vmp_diag_params p;
	struct vmp_diag_input in = base();
	struct vmp_diag_result r;

	(void)state;
	vmp_diag_params_default(&p);
	in.limit_bytes_s = 1048576;                 /* 1 MiB/s */
	in.b.io_bytes = 4ull * 1048576 * 98 / 100;   /* 98 % of it for 4 s */
	in.b.io_ops = 400;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, VMP_DIAG_IO);
	assert_true(fabs(r.stall[VMP_DIAG_IO] - 0.98) < 1e-6);
	assert_true(fabs(r.iops - 100) < 1e-9);
	/* 50 % of the limit, but each 64 KiB request held 125 ms (what 512 KiB/s implies) */
	in.limit_bytes_s = 524288;
	in.b.io_ops = 16;                        /* 4/s */
	in.b.io_bytes = 16 * 65536;              /* 256 KiB/s */
	in.b.io_time_ns = 16ull * 125000000;     /* 125 ms each */
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, VMP_DIAG_IO);
	assert_true(fabs(r.io_latency_ms - 125) < 1e-9);
	assert_true(r.stall[VMP_DIAG_IO] == 1.0);
	/* the same requests taking 10 ms each: the disk is not held, no verdict */
	in.b.io_time_ns = 16ull * 10000000;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, -1);
	in.b.io_time_ns = 0;
	in.b.io_bytes = 4ull * 1048576 * 98 / 100;
	in.b.io_ops = 400;
	/* the same rate without a limit is no verdict */
	in.limit_bytes_s = 0;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, -1);
	/* the worst against its own threshold wins: steal 30 % (3x) vs I/O 90 % (1.06x) */
	in.limit_iops = 111;
	in.b.vcpu_delay_ns = (uint64_t)(0.3 * 8e9);
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_int_equal(r.bottleneck, VMP_DIAG_CPU);
}

static void
test_missing_and_bad(void **state)
{
	struct vmp_diag_params p;
	struct vmp_diag_input in;
	struct vmp_diag_result r;

	(void)state;
	vmp_diag_params_default(&p);
	memset(&in, 0, sizeof(in));
	in.a.time_us = 1;
	in.b.time_us = 2 * S;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_false(r.measured[VMP_DIAG_CPU] || r.measured[VMP_DIAG_MEMORY] || r.measured[VMP_DIAG_IO]);
	assert_int_equal(r.bottleneck, -1);
	assert_int_equal(r.score, 100);
	/* a counter that went backwards (a reset) counts as zero, not as a huge rate */
	in = base();
	in.a.vcpu_delay_ns = 5000000000ull;
	in.b.vcpu_delay_ns = 1000;
	assert_int_equal(vmp_diag_run(&p, &in, &r), 0);
	assert_true(r.steal_frac == 0);
	/* samples out of order */
	in.b.time_us = in.a.time_us;
	assert_int_equal(vmp_diag_run(&p, &in, &r), -EINVAL);
}

/* Workload profiles: the table and the recommendation from observed behaviour. */
static void
test_workload(void **state)
{
	struct vmp_workload_observed o = { 0 };
	const char *why;

	(void)state;
	assert_int_equal(vmp_workload_profiles_count, 6);
	assert_true(vmp_workload_find("latency")->pin_dedicated);
	assert_null(vmp_workload_find("nope"));
	assert_string_equal(vmp_workload_recommend(&o, &why)->name, "web");
	o.cpu_busy_frac = 0.5;
	assert_string_equal(vmp_workload_recommend(&o, &why)->name, "default");
	o.cpu_busy_frac = 0.9;
	assert_string_equal(vmp_workload_recommend(&o, &why)->name, "throughput");
	o.iops = 300;
	assert_string_equal(vmp_workload_recommend(&o, &why)->name, "database");
	o.iops = 0;
	o.majflt_s = 60;
	assert_string_equal(vmp_workload_recommend(&o, &why)->name, "database");
	o.iops = 100;
	o.bytes_s = 50.0 * 1048576; /* 512 KiB per operation */
	assert_string_equal(vmp_workload_recommend(&o, &why)->name, "batch");
	assert_non_null(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_cpu_contention),
		cmocka_unit_test(test_memory_pressure),
		cmocka_unit_test(test_io_throttling),
		cmocka_unit_test(test_missing_and_bad),
		cmocka_unit_test(test_workload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
