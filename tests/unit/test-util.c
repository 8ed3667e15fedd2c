/* SPDX-License-Identifier: MIT */
/* Tests of the util layer: strict number parsing and rooted file reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/util.h"

static void
test_parse_i64(void **state)
{
	int64_t v = 7;

	assert_int_equal(vmp_parse_i64(" 42\n", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(vmp_parse_i64("-3", &v), 0);
	assert_int_equal(v, -3);
	v = 7;
	assert_int_equal(vmp_parse_i64("", &v), -EINVAL);
	assert_int_equal(vmp_parse_i64("12abc", &v), -EINVAL);
	assert_int_equal(vmp_parse_i64("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void
test_parse_u64_and_double(void **state)
{
	uint64_t u = 1;
	double d = 0;

	assert_int_equal(vmp_parse_u64("-1", &u), -ERANGE);
	assert_int_equal(u, 1);
	assert_int_equal(vmp_parse_u64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(vmp_parse_double("0.25", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(vmp_parse_double("nan", &d), -ERANGE);
	assert_int_equal(vmp_parse_double("1e999", &d), -ERANGE);
}

static void
test_strstrip(void **state)
{
	char s[] = "  \t hello world \n";

	assert_string_equal(vmp_strstrip(s), "hello world");
}

static void
test_read_file_under_root(void **state)
{
	char dir[] = "/tmp/vmp-test-XXXXXX";
	char *path, *buf = NULL, *line = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/value", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("  always [madvise] never  \nsecond\n", f);
	fclose(f);

	assert_int_equal(vmp_read_file(dir, "/value", &buf, &len), 0);
	assert_int_equal(len, strlen("  always [madvise] never  \nsecond\n"));
	assert_int_equal(vmp_read_line(dir, "/value", &line), 0);
	assert_string_equal(line, "always [madvise] never");
	assert_int_equal(vmp_read_file(dir, "/missing", &buf, &len), -ENOENT);

	free(buf);
	free(line);
	unlink(path);
	rmdir(dir);
	free(path);
}

static void
test_root_path(void **state)
{
	char *p;

	p = vmp_root_path(NULL, "/proc/cpuinfo");
	assert_string_equal(p, "/proc/cpuinfo");
	free(p);
	p = vmp_root_path("/", "/proc/cpuinfo");
	assert_string_equal(p, "/proc/cpuinfo");
	free(p);
	p = vmp_root_path("tests/data/host", "/proc/cpuinfo");
	assert_string_equal(p, "tests/data/host/proc/cpuinfo");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_parse_u64_and_double),
		cmocka_unit_test(test_strstrip),
		cmocka_unit_test(test_read_file_under_root),
		cmocka_unit_test(test_root_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
