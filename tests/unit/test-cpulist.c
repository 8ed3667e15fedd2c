/* SPDX-License-Identifier: MIT */
/* Tests of the kernel-style CPU list parser used for vCPU pinning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "util/cpulist.h"

static void
test_valid(void **state)
{
	uint8_t map[2];

	assert_int_equal(vmp_cpulist_parse("0", 16, map, sizeof(map)), 1);
	assert_int_equal(map[0], 0x01);
	assert_int_equal(vmp_cpulist_parse("0-3,8", 16, map, sizeof(map)), 5);
	assert_int_equal(map[0], 0x0f);
	assert_int_equal(map[1], 0x01);
	assert_int_equal(vmp_cpulist_parse("1,1,0-1", 16, map, sizeof(map)), 2);
	assert_int_equal(map[0], 0x03);
	assert_int_equal(vmp_cpulist_parse("15", 16, map, sizeof(map)), 1);
	assert_int_equal(map[1], 0x80);
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = { "", ",", "0,", "a", "1-", "-1", "3-1", "0 1", "1--2",
		"0x1", NULL };
	uint8_t map[2];
	size_t i;

	for (i = 0; bad[i]; i++) {
		map[0] = 0xff;
		assert_int_equal(vmp_cpulist_parse(bad[i], 16, map, sizeof(map)), -EINVAL);
		assert_int_equal(map[0], 0);
	}
	assert_int_equal(vmp_cpulist_parse(NULL, 16, map, sizeof(map)), -EINVAL);
}

static void
test_range(void **state)
{
	uint8_t map[2];

	assert_int_equal(vmp_cpulist_parse("2", 2, map, sizeof(map)), -ERANGE);
	assert_int_equal(vmp_cpulist_parse("0-16", 64, map, sizeof(map)), -ERANGE);
	assert_int_equal(vmp_cpulist_parse("99999999", 16, map, sizeof(map)), -ERANGE);
	assert_int_equal(map[0] | map[1], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
