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
#include "util/units.h"
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

static void
test_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t bare, want;
		int rc;
	} cases[] = {
		{ "500ms", 0, 500, 0 }, { "30s", 0, 30000, 0 }, { "5m", 0, 300000, 0 },
		{ "5min", 0, 300000, 0 }, { "1.5h", 0, 5400000, 0 }, { "2d", 0, 172800000, 0 },
		{ " 0.1s\n", 0, 100, 0 }, { "0s", 0, 0, 0 }, { "60000", 1, 60000, 0 },
		{ "2", 1000, 2000, 0 }, { "0.25", 1000, 250, 0 }, { "1.000000000000s", 0, 1000, 0 },
		{ "60000", 0, 0, -EINVAL },      /* a unit is required */
		{ "1.5ms", 0, 0, -EINVAL },      /* finer than 1 ms */
		{ "0.0001s", 0, 0, -EINVAL },
		{ "5 s", 0, 0, -EINVAL }, { "-5s", 0, 0, -EINVAL }, { "s", 0, 0, -EINVAL },
		{ ".s", 0, 0, -EINVAL }, { "5S", 0, 0, -EINVAL }, { "5sec", 0, 0, -EINVAL },
		{ "", 1, 0, -EINVAL }, { "1e3s", 0, 0, -EINVAL }, { "0x10s", 0, 0, -EINVAL },
		{ "99999999999999999999s", 0, 0, -ERANGE }, { "9223372036854775808ms", 0, 0, -ERANGE },
		{ "200000000000000d", 0, 0, -ERANGE },
	};
	size_t i;

	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		int64_t v = -7;
		int rc = vmp_parse_duration_ms(cases[i].s, cases[i].bare, &v);

		if (rc != cases[i].rc || (rc == 0 && v != cases[i].want) || (rc != 0 && v != -7))
			fail_msg("'%s': rc %d value %lld", cases[i].s, rc, (long long)v);
	}
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t bare, want;
		int rc;
	} cases[] = {
		{ "512M", 0, 524288, 0 }, { "4G", 0, 4194304, 0 }, { "4GiB", 0, 4194304, 0 },
		{ "4g", 0, 4194304, 0 }, { "1.5G", 0, 1572864, 0 }, { "1T", 0, 1073741824, 0 },
		{ "100K", 0, 100, 0 }, { "2048B", 0, 2, 0 }, { "102400", 1, 102400, 0 },
		{ "0", 1, 0, 0 },
		{ "1000B", 0, 0, -EINVAL },       /* not whole KiB */
		{ "102400", 0, 0, -EINVAL }, { "4GB", 0, 0, -EINVAL }, { "4 G", 0, 0, -EINVAL },
		{ "G", 0, 0, -EINVAL }, { "-1G", 0, 0, -EINVAL }, { "1.1B", 0, 0, -EINVAL },
		{ "99999999999T", 0, 0, -ERANGE },
	};
	size_t i;

	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		uint64_t v = 7;
		int rc = vmp_parse_size_kib(cases[i].s, cases[i].bare, &v);

		if (rc != cases[i].rc || (rc == 0 && v != cases[i].want) || (rc != 0 && v != 7))
			fail_msg("'%s': rc %d value %llu", cases[i].s, rc, (unsigned long long)v);
	}
}

static void
test_size_bytes(void **state)
{
	uint64_t v = 7;

	assert_int_equal(vmp_parse_size_bytes("1000", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(vmp_parse_size_bytes("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(vmp_parse_size_bytes("0.5K", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(vmp_parse_size_bytes("0.3B", &v), -EINVAL);
	assert_int_equal(v, 512);
}

static void
test_format_duration(void **state)
{
	char buf[32];

	vmp_format_duration_ms(90000, buf, sizeof(buf));
	assert_string_equal(buf, "90s");
	vmp_format_duration_ms(3600000, buf, sizeof(buf));
	assert_string_equal(buf, "1h");
	vmp_format_duration_ms(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	vmp_format_duration_ms(0, buf, sizeof(buf));
	assert_string_equal(buf, "0ms");
}

/* Control characters never reach the terminal; valid UTF-8 does. */
static void
test_str_printable(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "web1", "web1" },
		{ "a\x1b[2Jb", "a?[2Jb" },          /* ESC */
		{ "bell\x07\r\n\t", "bell????" },
		{ "del\x7f", "del?" },
		{ "csi\xc2\x9b" "1m", "csi?1m" },    /* U+009B, the C1 CSI */
		{ "raw\x9b", "raw?" },              /* an 8-bit CSI, not UTF-8 */
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
		{ "cut\xe2\x82", "cut??" },         /* a truncated sequence */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = vmp_str_printable(cases[i].in);

		assert_string_equal(p, cases[i].out);
		free(p);
	}
	{
		char *p = vmp_str_printable(NULL);

		assert_string_equal(p, "");
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_printable),
		cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_parse_u64_and_double),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_size_bytes),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_strstrip),
		cmocka_unit_test(test_read_file_under_root),
		cmocka_unit_test(test_root_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
