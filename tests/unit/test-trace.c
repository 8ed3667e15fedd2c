/* SPDX-License-Identifier: MIT */
/* Tests of the trace readers on small fixture traces (tests/data/traces/) and bad input. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "trace/trace.h"
#include "util/util.h"

static char *
fixture(const char *name)
{
	const char *dir = getenv("VMP_TESTS_DIR");

	assert_non_null(dir);
	return xasprintf("%s/data/traces/%s", dir, name);
}

static void
test_planetlab_dir(void **state)
{
	char *dir = fixture("planetlab-mini"), *err = NULL;
	struct vmp_trace *t = NULL;

	assert_int_equal(vmp_trace_read_planetlab(dir, &t, &err), 0);
	assert_null(err);
	assert_int_equal(t->nvms, 3);     /* .hidden is skipped */
	assert_int_equal(t->nsteps, 4);   /* the blank last line is not a sample */
	assert_int_equal(t->step_s, 300);
	/* sorted by name, spaces kept */
	assert_string_equal(t->names[0], "a host with spaces");
	assert_string_equal(t->names[1], "b_host");
	assert_string_equal(t->names[2], "c_crlf");
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 0, 1)] == 100.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 1, 3)] == 40.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 2, 2)] == 3.0f);
	/* the Java expression CloudSim uses: Integer / 100.0 */
	assert_true((double)t->cpu_usage_pct[vmp_trace_at(t, 1, 2)] / 100.0 == 0.3);
	assert_null(t->mem_usage_kib);
	assert_int_equal(t->fields, 0);
	vmp_trace_free(t);
	free(dir);
}

static void
expect_planetlab_error(const char *text, const char *want)
{
	float *pct = NULL;
	char *err = NULL;

	assert_true(vmp_trace_parse_planetlab("f", text, strlen(text), &pct, &err) < 0);
	assert_null(pct);
	assert_non_null(err);
	if (strcmp(err, want) != 0)
		fail_msg("got '%s', want '%s'", err, want);
	free(err);
}

static void
test_planetlab_bad_input(void **state)
{
	expect_planetlab_error("1\n2\nabc\n", "f:3: 'abc' is not an integer percentage 0..100");
	expect_planetlab_error("1\n101\n", "f:2: '101' is not an integer percentage 0..100");
	expect_planetlab_error("-1\n", "f:1: '-1' is not an integer percentage 0..100");
	expect_planetlab_error("1\n\n2\n", "f:2: empty line inside the samples");
	expect_planetlab_error("", "f:1: no samples");
	expect_planetlab_error("5.5\n", "f:1: '5.5' is not an integer percentage 0..100");
}

static void
test_planetlab_unequal_lengths(void **state)
{
	char tmpl[] = "/tmp/vmp-trace-XXXXXX", *p;
	struct vmp_trace *t = NULL;
	char *err = NULL;
	FILE *f;

	assert_non_null(mkdtemp(tmpl));
	p = xasprintf("%s/a", tmpl);
	f = fopen(p, "w");
	fputs("1\n2\n3\n", f);
	fclose(f);
	free(p);
	p = xasprintf("%s/b", tmpl);
	f = fopen(p, "w");
	fputs("1\n2\n", f);
	fclose(f);
	assert_int_equal(vmp_trace_read_planetlab(tmpl, &t, &err), -EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, "/b:2: has 2 samples, but 'a' has 3"));
	free(err);
	unlink(p);
	free(p);
	p = xasprintf("%s/a", tmpl);
	unlink(p);
	free(p);
	err = NULL;
	/* an empty directory is an error too */
	assert_int_equal(vmp_trace_read_planetlab(tmpl, &t, &err), -ENOENT);
	assert_non_null(err);
	free(err);
	rmdir(tmpl);
	err = NULL;
	assert_int_equal(vmp_trace_read_planetlab("/nonexistent/dir", &t, &err), -ENOENT);
	assert_non_null(strstr(err, "'/nonexistent/dir'"));
	free(err);
}

static void
test_csv_dir_bitbrains(void **state)
{
	char *dir = fixture("bitbrains-mini"), *err = NULL;
	struct vmp_trace *t = NULL;

	assert_int_equal(vmp_trace_read_csv_dir(dir, &t, &err), 0);
	assert_null(err);
	assert_int_equal(t->nvms, 2);     /* README is not a .csv */
	/* Each VM on its own grid from its first row; as many steps as the shortest VM
	 * (2.csv: 1299 .. 2200, 901 s, steps 0..3); 1.csv's row at 2500 (step 5) dropped. */
	assert_int_equal(t->nsteps, 4);
	assert_int_equal(t->start_s, 1000);
	assert_int_equal(t->shortest_vm, 1);
	assert_int_equal(t->rows_dropped, 1);
	assert_int_equal(t->fields, VMP_TRACE_CPU_MHZ | VMP_TRACE_MEM | VMP_TRACE_CPU_CORES);
	assert_string_equal(t->names[0], "1.csv");
	/* VM 1: rows at steps 0, 1, 3; step 2 carries step 1 forward */
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 0, 0)] == 10.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 0, 2)] == 20.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 0, 3)] == 30.0f);
	assert_true(t->cpu_usage_mhz[vmp_trace_at(t, 0, 3)] == 1200.0);
	assert_true(t->cpu_provisioned_mhz[vmp_trace_at(t, 0, 0)] == 4000.0);
	assert_true(t->mem_usage_kib[vmp_trace_at(t, 0, 1)] == 2048.0);
	assert_true(t->mem_provisioned_kib[vmp_trace_at(t, 0, 1)] == 8192.0);
	assert_true(t->cpu_cores[vmp_trace_at(t, 0, 1)] == 2.0);
	/* VM 2: its first row (1299) is its step 0, 1600 step 1, step 2 carried, 2200 step 3 */
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 1, 0)] == 50.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 1, 1)] == 100.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 1, 2)] == 100.0f);
	assert_true(t->cpu_usage_pct[vmp_trace_at(t, 1, 3)] == 80.0f);
	assert_true(t->mem_usage_kib[vmp_trace_at(t, 1, 3)] == 768.0);
	vmp_trace_free(t);
	free(dir);
}

static void
expect_csv_error(const char *text, const char *want)
{
	struct vmp_trace_csv *c = NULL;
	char *err = NULL;

	assert_true(vmp_trace_parse_csv("x.csv", text, strlen(text), &c, &err) < 0);
	assert_null(c);
	assert_non_null(err);
	if (strcmp(err, want) != 0)
		fail_msg("got '%s', want '%s'", err, want);
	free(err);
}

static void
test_csv_generic_and_bad(void **state)
{
	const char *ok = "timestamp,cpu_pct,mem_usage_kib\n0,12.5,100\n300,,200\n";
	struct vmp_trace_csv *c = NULL;
	char *err = NULL;

	assert_int_equal(vmp_trace_parse_csv("x.csv", ok, strlen(ok), &c, &err), 0);
	assert_int_equal(c->nrows, 2);
	assert_true(c->cpu_usage_pct[0] == 12.5);
	assert_true(isnan(c->cpu_usage_pct[1]));   /* empty cell */
	assert_true(c->mem_usage_kib[1] == 200.0);
	assert_null(c->cpu_usage_mhz);
	assert_int_equal(c->timestamp_s[1], 300);
	vmp_trace_csv_free(c);

	expect_csv_error("", "x.csv:1: missing header line");
	expect_csv_error("cpu_pct\n1\n", "x.csv:1: no timestamp column in the header");
	expect_csv_error("timestamp,mem_usage_kib\n1,2\n",
			 "x.csv:1: no CPU usage column (a percentage, or usage and provisioned "
			 "MHz) in the header");
	expect_csv_error("timestamp,cpu_pct\n0,1\n300,abc\n",
			 "x.csv:3: 'abc' is not a number in 0..1e15 (column 2)");
	expect_csv_error("timestamp,cpu_pct\n0,1\n300\n", "x.csv:3: 1 fields, the header has 2");
	expect_csv_error("timestamp,cpu_pct\nnow,1\n", "x.csv:2: timestamp 'now' is not a number");
	expect_csv_error("timestamp,cpu_pct\n0,-4\n",
			 "x.csv:2: '-4' is not a number in 0..1e15 (column 2)");
	expect_csv_error("timestamp,cpu_pct\n", "x.csv:1: no data rows");
}

static void
test_csv_percentage_from_mhz(void **state)
{
	char tmpl[] = "/tmp/vmp-trace-XXXXXX", *p;
	struct vmp_trace *t = NULL;
	char *err = NULL;
	FILE *f;

	assert_non_null(mkdtemp(tmpl));
	p = xasprintf("%s/vm.csv", tmpl);
	f = fopen(p, "w");
	fputs("time;cpu_usage_mhz;cpu_provisioned_mhz\n0;500;2000\n300;0;0\n", f);
	fclose(f);
	assert_int_equal(vmp_trace_read_csv_dir(tmpl, &t, &err), 0);
	assert_int_equal(t->nsteps, 2);
	assert_true(t->cpu_usage_pct[0] == 25.0f);
	assert_true(t->cpu_usage_pct[1] == 0.0f);  /* nothing provisioned: 0, not NaN */
	assert_int_equal(t->fields, VMP_TRACE_CPU_MHZ);
	vmp_trace_free(t);
	unlink(p);
	free(p);
	rmdir(tmpl);
}

/* The bundled real data: a whole PlanetLab day and the Bitbrains sample read cleanly. */
static void
test_bundled_traces(void **state)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	char *p, *err = NULL;
	struct vmp_trace *t = NULL;

	p = xasprintf("%s/../data/traces/planetlab/20110303", dir);
	assert_int_equal(vmp_trace_read_planetlab(p, &t, &err), 0);
	assert_int_equal(t->nvms, 1052);
	assert_int_equal(t->nsteps, 288);
	assert_true(strcmp(t->names[0], t->names[1]) < 0);
	vmp_trace_free(t);
	free(p);
	p = xasprintf("%s/../data/traces/bitbrains-rnd", dir);
	assert_int_equal(vmp_trace_read_csv_dir(p, &t, &err), 0);
	assert_int_equal(t->nvms, 20);
	/* the VMs start up to 28 days apart; each runs from its own first row, for as
	 * long as the shortest: 14.csv, 429 rows over 427 steps */
	assert_int_equal(t->nsteps, 428);
	assert_string_equal(t->names[t->shortest_vm], "14.csv");
	assert_int_equal(t->fields, VMP_TRACE_CPU_MHZ | VMP_TRACE_MEM | VMP_TRACE_CPU_CORES);
	vmp_trace_free(t);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planetlab_dir),
		cmocka_unit_test(test_planetlab_bad_input),
		cmocka_unit_test(test_planetlab_unequal_lengths),
		cmocka_unit_test(test_csv_dir_bitbrains),
		cmocka_unit_test(test_csv_generic_and_bad),
		cmocka_unit_test(test_csv_percentage_from_mhz),
		cmocka_unit_test(test_bundled_traces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
