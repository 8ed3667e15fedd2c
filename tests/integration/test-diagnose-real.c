/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot diagnose` on a real TCG guest over QMP (tests/guest): a CPU hog pinned to
 * the host CPU the victim's QEMU threads are pinned to makes it name CPU contention
 * from steal; a balloon squeezed below what the guest has touched makes it name memory
 * pressure; the workload profile 'latency' applied live pins its vCPU. The hog and the
 * guest are killed by PID in the teardown; the guest's threads get their affinity back.
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
#include <sys/socket.h>
#include <sys/un.h>
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

/* Sends one QMP command on fd and returns its "return" value (a new reference). */
static json_t *
qmp_call(FILE *f, const char *cmd)
{
	char line[8192];
	json_error_t jerr;

	fprintf(f, "{\"execute\": \"%s\"}\n", cmd);
	fflush(f);
	while (fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, &jerr), *ret;

		if (!j)
			continue;
		ret = json_object_get(j, "return");
		if (ret) {
			json_incref(ret);
			json_decref(j);
			return ret;
		}
		assert_null(json_object_get(j, "error"));
		json_decref(j);
	}
	fail_msg("qmp: no answer to %s", cmd);
	return NULL;
}

/*
 * The host CPUs the vCPU threads of the guest may run on, joined by ';': the thread
 * ids from QMP's query-cpus-fast (the test's own QMP connection, closed again: QEMU
 * serves one client at a time), the affinity from /proc/PID/task/TID/status.
 */
static void
vcpu_affinity(pid_t pid, char *out, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[400], line[256];
	json_t *cpus, *c;
	size_t i;
	FILE *f;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	out[0] = '\0';
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", dir, vm);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	f = fdopen(fd, "r+");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f)); /* the greeting */
	json_decref(qmp_call(f, "qmp_capabilities"));
	cpus = qmp_call(f, "query-cpus-fast");
	fclose(f);
	json_array_foreach(cpus, i, c) {
		long tid = (long)json_integer_value(json_object_get(c, "thread-id"));
		FILE *st;

		snprintf(path, sizeof(path), "/proc/%d/task/%ld/status", (int)pid, tid);
		st = fopen(path, "r");
		assert_non_null(st);
		while (fgets(line, sizeof(line), st))
			if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ";" : "",
					 line + 18 + strspn(line + 18, " \t"));
			}
		fclose(st);
	}
	json_decref(cpus);
}

/*
 * The workload profile 'latency' applied live pins the guest's vCPU to a dedicated host
 * CPU (the first one outside housekeeping CPU 0): read back from the vCPU thread's
 * affinity on the host.
 */
static void
test_latency_profile_pins(void **state)
{
	char *argv[] = { "profile", "apply", vm, "latency", "-c", uri, NULL };
	char before[128], after[128], want[16];
	char *out = NULL;
	int rc;

	(void)state;
	vcpu_affinity(vmp_guest_pid(guest), before, sizeof(before));
	rc = vmp_test_run_cmd(&vmp_cmd_profile, 6, argv, &out);
	printf("profile: %s", out);
	assert_int_equal(rc, VMP_EXIT_OK);
	free(out);
	vcpu_affinity(vmp_guest_pid(guest), after, sizeof(after));
	snprintf(want, sizeof(want), "%ld", sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1L : 0L);
	printf("vCPU thread affinity before '%s', after '%s'\n", before, after);
	assert_string_equal(after, want);
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
	/* the QMP backend put QEMU in a cgroup of its own to set its CPU shares */
	for (const char *const *c = (const char *const[]){ "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct",
							    "/sys/fs/cgroup", NULL }; *c; c++) {
		snprintf(cmd, sizeof(cmd), "%s/vmpilot/%s", *c, vm);
		rmdir(cmd);
	}
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
		cmocka_unit_test(test_latency_profile_pins),
	};

	vmp_guest_require();
	return cmocka_run_group_tests_name("diagnose-real", tests, setup, teardown);
}
