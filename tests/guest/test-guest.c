/* SPDX-License-Identifier: MIT */
/*
 * Tests of the real-VM harness itself on a real QEMU guest: it boots and reports, runs
 * commands (and refuses bad ones), loads its CPU, and is dead after vmp_guest_kill().
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest.h"

static char qmp_dir[] = "/tmp/vmp-test-guest-XXXXXX";
static struct vmp_guest *guest;

static int
setup(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "harness", .qmp_dir = qmp_dir, .mem_mib = 384, .lifetime_s = 120,
	};

	if (vmp_guest_start(&cfg, &guest) < 0)
		return -1;
	return vmp_guest_wait_boot(guest, 60000) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	vmp_guest_kill(guest);
	guest = NULL;
	return 0;
}

static void
test_reports_stats(void **state)
{
	struct vmp_guest_stats s;

	assert_int_equal(vmp_guest_stats(guest, &s, 10000), 0);
	assert_int_equal(s.cpus_online, 1);
	/* 384 MiB of RAM minus what the kernel keeps for itself. */
	assert_in_range(s.memtotal_kib, 200 * 1024, 384 * 1024);
	assert_true(s.memfree_kib <= s.memtotal_kib);
	assert_true(s.memavail_kib > 0);
	assert_true(s.uptime_s > 0);
	assert_true(access(vmp_guest_qmp_socket(guest), F_OK) == 0);
}

static bool
free_below(const struct vmp_guest_stats *s, void *arg)
{
	return s->memfree_kib < *(uint64_t *)arg;
}

static void
test_commands(void **state)
{
	struct vmp_guest_stats before, after;
	uint64_t limit;
	char *reply = NULL;

	assert_int_equal(vmp_guest_cmd(guest, "nonsense 1", NULL, 5000), -EIO);
	assert_int_equal(vmp_guest_cmd(guest, "online 9", NULL, 5000), -EIO);
	assert_int_equal(vmp_guest_stats(guest, &before, 5000), 0);
	assert_int_equal(vmp_guest_cmd(guest, "touch 64", &reply, 5000), 0);
	assert_string_equal(reply, "touch");
	free(reply);
	/* 64 MiB touched: free memory drops by at least 48 MiB. */
	limit = before.memfree_kib - 48 * 1024;
	assert_int_equal(vmp_guest_wait_until(guest, free_below, &limit, 20000, &after), 0);
	assert_int_equal(vmp_guest_cmd(guest, "stop", NULL, 5000), 0);
	assert_int_equal(vmp_guest_cmd(guest, "cpu 1", NULL, 5000), 0);
	assert_int_equal(vmp_guest_cmd(guest, "stop", NULL, 5000), 0);
}

static void
test_kill_by_pid(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "victim", .qmp_dir = qmp_dir, .mem_mib = 256, .lifetime_s = 60,
	};
	struct vmp_guest *g = NULL;
	pid_t pid;

	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	pid = vmp_guest_pid(g);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), 0);
	vmp_guest_kill(g);
	/* Reaped and gone: the PID no longer names our QEMU. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

static void
test_parse_stats(void **state)
{
	struct vmp_guest_stats s;

	assert_int_equal(vmp_guest_parse_stats("[ 1.2] VMP-STATS uptime_s=4.5 cpus=2 online=0-1 "
					       "memtotal_kib=1000 memfree_kib=500 memavail_kib=600",
					       &s), 0);
	assert_int_equal(s.cpus_online, 2);
	assert_int_equal(s.memtotal_kib, 1000);
	assert_int_equal(s.memavail_kib, 600);
	assert_int_equal(vmp_guest_parse_stats("VMP-STATS cpus=2", &s), -EINVAL);
	assert_int_equal(vmp_guest_parse_stats("garbage", &s), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stats),
		cmocka_unit_test_setup_teardown(test_reports_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test(test_kill_by_pid),
	};
	int r;

	vmp_guest_require();
	if (!mkdtemp(qmp_dir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	vmp_guest_kill_all();
	rmdir(qmp_dir);
	return r;
}
