/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot diagnose` on a real TCG guest over QMP (tests/guest): a CPU hog pinned to
 * the host CPU the victim's QEMU threads are pinned to makes it name CPU contention
 * from steal; a balloon squeezed below what the guest has touched makes it name memory
 * pressure. The hog and the guest are killed by PID in the teardown; the guest's
 * threads get their affinity back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cmdrun.h"
#include "guest.h"

#define MEM_MIB 512

static char dir[] = "/tmp/vmp-test-diagnose-XXXXXX";
static char vm[32], uri[96];
static struct vmp_guest *guest;
static pid_t hog = -1;

/* Sets the affinity of every thread of pid to set. Returns the threads changed. */
static int
pin_process(pid_t pid, const cpu_set_t *set)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (sched_setaffinity(atoi(de->d_name), sizeof(*set), set) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
all_cpus(cpu_set_t *set)
{
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(set);
	for (i = 0; i < n; i++)
		CPU_SET(i, set);
}

static void
kill_hog(void)
{
	if (hog > 0) {
		kill(hog, SIGKILL);
		waitpid(hog, NULL, 0);
		hog = -1;
	}
}

/* Runs `vmpilot diagnose -c URI --json -i 3s VM`; returns the VM's object (a new reference). */
static json_t *
diagnose(void)
{
	char *argv[] = { "diagnose", "-c", uri, "--json", "-i", "3s", vm, NULL };
	char *out = NULL;
	json_error_t jerr;
	json_t *j, *v;
	int rc = vmp_test_run_cmd(&vmp_cmd_diagnose, 7, argv, &out);

	printf("diagnose: %s", out);
	assert_true(rc == VMP_EXIT_OK || rc == VMP_EXIT_FINDING);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	v = json_array_get(json_object_get(j, "vms"), 0);
	assert_non_null(v);
	json_incref(v);
	json_decref(j);
	free(out);
	return v;
}

static double
rate(json_t *v, const char *k)
{
	return json_number_value(json_object_get(json_object_get(v, "rates"), k));
}

static void
test_cpu_contention(void **state)
{
	cpu_set_t one, all;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int target = (int)(ncpu - 1);
	json_t *v;

	(void)state;
	CPU_ZERO(&one);
	CPU_SET(target, &one);
	all_cpus(&all);
	assert_int_equal(vmp_guest_cmd(guest, "cpu 1", NULL, 5000), 0);
	assert_true(pin_process(vmp_guest_pid(guest), &one) > 0);
	hog = fork();
	assert_true(hog >= 0);
	if (hog == 0) {
		volatile unsigned long x = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			_exit(1);
		for (;;)
			x++;
	}
	sleep(1);
	v = diagnose();
	kill_hog();
	pin_process(vmp_guest_pid(guest), &all);
	vmp_guest_cmd(guest, "stop", NULL, 5000);
	printf("steal %.2f, busy %.2f\n", rate(v, "steal_frac"), rate(v, "cpu_busy_frac"));
	assert_string_equal(json_string_value(json_object_get(v, "bottleneck")), "cpu-contention");
	assert_true(rate(v, "steal_frac") >= 0.25);
	assert_true(json_integer_value(json_object_get(v, "score")) <= 75);
	json_decref(v);
}

static bool
touched(const struct vmp_guest_stats *s, void *arg)
{
	return s->memavail_kib < *(uint64_t *)arg;
}

/*
 * Memory pressure: the guest touches 200 MiB, then the balloon takes all but 6 MiB of
 * what the guest still has available (the balloon squeezed below the guest's demand
 * plus the headroom a guest needs). QEMU serves one QMP client at a time: the test's
 * own connection is closed while `vmpilot diagnose` runs.
 */
static void
test_memory_pressure(void **state)
{
	struct vmp_backend *b = NULL;
	struct vmp_guest_stats s;
	char *err = NULL;
	uint64_t below, target_kib, last = 0;
	json_t *v;
	int i;

	(void)state;
	assert_int_equal(vmp_guest_stats(guest, &s, 5000), 0);
	below = s.memavail_kib - 180 * 1024;
	assert_int_equal(vmp_guest_cmd(guest, "touch 200", NULL, 5000), 0);
	assert_int_equal(vmp_guest_wait_until(guest, touched, &below, 60000, &s), 0);
	target_kib = (uint64_t)MEM_MIB * 1024 - (s.memavail_kib - 6 * 1024);
	printf("guest: MemTotal %llu KiB, MemAvailable %llu KiB; balloon target %llu KiB\n",
	       (unsigned long long)s.memtotal_kib, (unsigned long long)s.memavail_kib,
	       (unsigned long long)target_kib);
	assert_int_equal(vmp_backend_open(uri, 10000, &b, &err), 0);
	assert_int_equal(vmp_backend_set_balloon(b, vm, target_kib), 0);
	/* the balloon has settled when its size is the same in two samples 1 s apart */
	for (i = 0; i < 30; i++) {
		struct vmp_vm_stats st;

		assert_int_equal(vmp_backend_vm_stats(b, vm, &st), 0);
		if (st.balloon_actual_kib == last)
			break;
		last = st.balloon_actual_kib;
		sleep(1);
	}
	vmp_backend_close(b);
	v = diagnose();
	vmp_guest_cmd(guest, "stop", NULL, 5000);
	assert_int_equal(vmp_backend_open(uri, 10000, &b, &err), 0);
	vmp_backend_set_balloon(b, vm, MEM_MIB * 1024);
	vmp_backend_close(b);
	printf("available %.3f, balloon stuck %d\n", rate(v, "avail_frac"),
	       json_is_true(json_object_get(json_object_get(v, "rates"), "balloon_stuck")));
	assert_string_equal(json_string_value(json_object_get(v, "bottleneck")), "memory-pressure");
	assert_true(rate(v, "avail_frac") < 0.05);
	json_decref(v);
}

static int
setup(void **state)
{
	struct vmp_guest_config cfg = {
		.name = vm, .qmp_dir = dir, .mem_mib = MEM_MIB, .vcpus = 1, .max_vcpus = 1,
		.lifetime_s = 150,
	};

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(vm, sizeof(vm), "diag%d", (int)getpid());
	snprintf(uri, sizeof(uri), "qmp://%s", dir);
	if (vmp_guest_start(&cfg, &guest) < 0 || vmp_guest_wait_boot(guest, 60000) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	kill_hog();
	vmp_guest_kill(guest);
	guest = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "diagnose: cannot remove %s\n", dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_contention),
		cmocka_unit_test(test_memory_pressure),
	};

	vmp_guest_require();
	return cmocka_run_group_tests_name("diagnose-real", tests, setup, teardown);
}
