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
#include <sys/wait.h>
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

static bool
pid_gone(pid_t pid, unsigned timeout_ms)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;

	while (vmp_guest_now_ms() < deadline) {
		char path[64], st[256] = "";
		FILE *f;

		/* Gone, or a zombie nobody reaped yet (dead all the same). */
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			return true;
		if (!fgets(st, sizeof(st), f))
			st[0] = '\0';
		fclose(f);
		if (strstr(st, ") Z ") || strstr(st, ") X "))
			return true;
		usleep(100000);
	}
	return false;
}

/* The watchdog kills a QEMU that outlives its lifetime (a hung test). */
static void
test_watchdog(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "overdue", .qmp_dir = qmp_dir, .mem_mib = 128, .lifetime_s = 2,
	};
	struct vmp_guest *g = NULL;
	int64_t deadline;

	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	deadline = vmp_guest_now_ms() + 10000;
	while (vmp_guest_alive(g) && vmp_guest_now_ms() < deadline)
		usleep(100000);
	assert_false(vmp_guest_alive(g));
	vmp_guest_kill(g);
}

/* QEMU dies with the test process, even when that is SIGKILLed (PR_SET_PDEATHSIG). */
static void
test_dies_with_test(void **state)
{
	int fds[2];
	pid_t child, qemu = 0;
	char dir[64] = "", cmd[200];

	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct vmp_guest_config cfg = {
			.name = "orphan", .qmp_dir = qmp_dir, .mem_mib = 128, .lifetime_s = 60,
		};
		struct vmp_guest *g = NULL;
		char cdir[64] = "";
		pid_t p = 0;

		if (vmp_guest_start(&cfg, &g) == 0) {
			p = vmp_guest_pid(g);
			snprintf(cdir, sizeof(cdir), "%s", vmp_guest_run_dir(g));
		}
		if (write(fds[1], &p, sizeof(p)) < 0 || write(fds[1], cdir, sizeof(cdir)) < 0)
			_exit(1);
		pause();   /* until SIGKILLed: no atexit, no handlers run */
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &qemu, sizeof(qemu)), sizeof(qemu));
	assert_int_equal(read(fds[0], dir, sizeof(dir)), sizeof(dir));
	close(fds[0]);
	assert_true(qemu > 0);
	assert_int_equal(kill(qemu, 0), 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_true(pid_gone(qemu, 10000));
	/* What the killed test left behind. */
	dir[sizeof(dir) - 1] = '\0';
	if (!strncmp(dir, "/tmp/vmp-guest-", 15)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s/orphan.sock'", dir, qmp_dir);
		assert_int_equal(system(cmd), 0);
	}
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
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_dies_with_test),
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
