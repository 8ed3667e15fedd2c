/* SPDX-License-Identifier: MIT */
/*
 * Tests of the libvirt backend against libvirt's in-process test:///default driver
 * (one running domain "test": 2 vCPUs, 2 GiB of 8 GiB, a virtio balloon) and, for
 * the timeout path, against a unix socket that accepts connections and never answers
 * (a hung daemon, produced for real).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"

#define TEST_URI "test:///default"

static struct vmp_backend *
open_test(void)
{
	struct vmp_backend *b = NULL;
	char *err = NULL;
	int r = vmp_backend_open(TEST_URI, 5000, &b, &err);

	if (r < 0)
		fail_msg("open %s: %s", TEST_URI, err);
	assert_string_equal(vmp_backend_name(b), "libvirt");
	return b;
}

/* The entry of vm in a fresh listing. */
static struct vmp_vm_info
find_vm(struct vmp_backend *b, const char *name)
{
	struct vmp_vm_info *vms = NULL, found;
	int i, n;

	n = vmp_backend_list_vms(b, &vms);
	assert_true(n >= 0);
	for (i = 0; i < n; i++)
		if (strcmp(vms[i].name, name) == 0)
			break;
	if (i == n)
		fail_msg("vm '%s' not listed", name);
	found = vms[i];
	free(vms);
	return found;
}

static void
test_accepts(void **state)
{
	static const char *const yes[] = { "qemu:///system", "qemu:///session",
		"qemu+tcp://127.0.0.1:16509/system", "qemu+unix:///system?socket=/run/x/sock",
		"qemu+ssh://root@host/system", "test:///default", NULL };
	static const char *const no[] = { "qmp:///run/vmpilot", "sim:trace", "http://x/",
		"qemu+bogus://h/system", "qemu", "", NULL };
	const struct vmp_backend_ops *lv = NULL;
	size_t i;

	for (i = 0; vmp_backends[i]; i++)
		if (strcmp(vmp_backends[i]->name, "libvirt") == 0)
			lv = vmp_backends[i];
	assert_non_null(lv);
	for (i = 0; yes[i]; i++)
		assert_true(lv->accepts(yes[i]));
	for (i = 0; no[i]; i++)
		assert_false(lv->accepts(no[i]));
}

static void
test_open_error(void **state)
{
	struct vmp_backend *b = NULL;
	char *err = NULL;
	int r;

	r = vmp_backend_open("test:///no/such/config.xml", 5000, &b, &err);
	assert_true(r < 0);
	assert_null(b);
	assert_non_null(strstr(err, "test:///no/such/config.xml"));
	free(err);
	r = vmp_backend_open("qemu+unix:///system?socket=/nonexistent/libvirt-sock", 5000, &b,
			     &err);
	assert_true(r < 0);
	assert_non_null(strstr(err, "cannot connect to"));
	free(err);
}

static void
test_list(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_vm_info vi = find_vm(b, "test");

	assert_int_equal(vi.state, VMP_VM_RUNNING);
	assert_string_equal(vi.uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
	assert_int_equal(vi.vcpus_current, 2);
	assert_int_equal(vi.vcpus_max, 2);
	assert_int_equal(vi.memory_max_kib, 8388608);
	assert_true(vi.memory_current_kib > 0 && vi.memory_current_kib <= vi.memory_max_kib);
	assert_true(vi.has_balloon);
	assert_int_equal(vi.stats_period_s, 0);
	vmp_backend_close(b);
}

static void
test_host_info(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_host_info hi;

	assert_int_equal(vmp_backend_host_info(b, &hi), 0);
	assert_true(hi.cpus > 0);
	assert_true(hi.memory_kib > 0);
	assert_true(hi.hostname[0] != '\0');
	assert_true(strncmp(hi.hypervisor, "TEST ", 5) == 0);
	vmp_backend_close(b);
}

static void
test_stats(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_vm_stats st;

	/* The test driver reports only the state group: the call works, fields stay
	 * invalid rather than made up. */
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(vmp_backend_vm_stats(b, "test", &st), 0);
	assert_true(st.sample_time_us > 0);
	assert_int_equal(st.valid & VMP_STAT_BALLOON_ACTUAL, 0);
	vmp_backend_close(b);
}

static void
test_stats_from_bulk_listing(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_vm_stats s1, s2, s3;
	struct vmp_vm_info *vms = NULL;

	/* Right after list_vms, vm_stats answers from the listing's bulk sample (same
	 * sample time); an actuator call drops that sample. */
	assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
	free(vms);
	assert_int_equal(vmp_backend_vm_stats(b, "test", &s1), 0);
	assert_int_equal(vmp_backend_vm_stats(b, "test", &s2), 0);
	assert_true(s1.sample_time_us > 0);
	assert_int_equal(s1.sample_time_us, s2.sample_time_us);
	assert_int_equal(vmp_backend_set_balloon(b, "test", 2097152), 0);
	assert_int_equal(vmp_backend_vm_stats(b, "test", &s3), 0);
	assert_true(s3.sample_time_us > s1.sample_time_us);
	vmp_backend_close(b);
}

static void
test_setmem(void **state)
{
	struct vmp_backend *b = open_test();

	assert_int_equal(vmp_backend_set_balloon(b, "test", 1048576), 0);
	assert_int_equal(find_vm(b, "test").memory_current_kib, 1048576);
	assert_int_equal(vmp_backend_set_balloon(b, "test", 3145728), 0);
	assert_int_equal(find_vm(b, "test").memory_current_kib, 3145728);
	/* Above the maximum: refused, and the message names the VM and the target. */
	assert_true(vmp_backend_set_balloon(b, "test", 16777216) < 0);
	assert_non_null(strstr(vmp_backend_error(b), "cannot balloon vm 'test' to 16777216 KiB"));
	assert_int_equal(find_vm(b, "test").memory_current_kib, 3145728);
	vmp_backend_close(b);
}

static void
test_setvcpus(void **state)
{
	struct vmp_backend *b = open_test();

	assert_int_equal(vmp_backend_set_vcpus(b, "test", 1), 0);
	assert_int_equal(find_vm(b, "test").vcpus_current, 1);
	assert_int_equal(vmp_backend_set_vcpus(b, "test", 2), 0);
	assert_int_equal(find_vm(b, "test").vcpus_current, 2);
	assert_true(vmp_backend_set_vcpus(b, "test", 3) < 0);
	assert_non_null(strstr(vmp_backend_error(b), "vm 'test'"));
	assert_int_equal(find_vm(b, "test").vcpus_current, 2);
	vmp_backend_close(b);
}

static void
test_pin(void **state)
{
	struct vmp_backend *b = open_test();

	assert_int_equal(vmp_backend_pin_vcpu(b, "test", 0, "0"), 0);
	assert_int_equal(vmp_backend_pin_vcpu(b, "test", 0, "0-x"), -EINVAL);
	assert_non_null(strstr(vmp_backend_error(b), "cannot pin vcpu 0 of vm 'test' to '0-x'"));
	assert_int_equal(vmp_backend_pin_vcpu(b, "test", 0, "100000"), -ERANGE);
	vmp_backend_close(b);
}

static void
test_unknown_vm(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_vm_stats st;

	assert_int_equal(vmp_backend_set_balloon(b, "nosuch", 1048576), -ENOENT);
	assert_non_null(strstr(vmp_backend_error(b), "vm 'nosuch'"));
	assert_int_equal(vmp_backend_set_vcpus(b, "nosuch", 1), -ENOENT);
	assert_non_null(strstr(vmp_backend_error(b), "vm 'nosuch'"));
	assert_int_equal(vmp_backend_vm_stats(b, "nosuch", &st), -ENOENT);
	assert_non_null(strstr(vmp_backend_error(b), "cannot get stats of vm 'nosuch'"));
	assert_int_equal(vmp_backend_migrate_cancel(b, "nosuch"), -ESRCH);
	vmp_backend_close(b);
}

static void
test_unsupported(void **state)
{
	struct vmp_backend *b = open_test();
	uint64_t rate = 12345;

	/* The test driver has no dirty-rate measurement and no CPU quota. */
	assert_int_equal(vmp_backend_dirty_rate(b, "test", 1000, &rate), -ENOTSUP);
	assert_int_equal(rate, 12345);
	assert_non_null(strstr(vmp_backend_error(b), "cannot measure dirty rate of vm 'test'"));
	assert_true(vmp_backend_set_cpu_quota(b, "test", 50000, 100000, 0) < 0);
	assert_non_null(strstr(vmp_backend_error(b), "cannot set cpu quota of vm 'test'"));
	vmp_backend_close(b);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The driver's VM has a disk in a local file (/guest/diskimage1, which no shared file
 * system holds): its move is refused with the disk and the fix, before any migration
 * starts, unless the operator says the storage is shared or asks for a copy.
 */
static void
test_migrate_local_disk_refused(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_migrate_params mp = { .dest_uri = TEST_URI, .dest_name = "test2" };
	struct vmp_migrate_progress prog;

	assert_int_equal(vmp_backend_migrate_start(b, "test", &mp), -EXDEV);
	assert_string_equal(vmp_backend_error(b),
			    "cannot migrate vm 'test': disk 'vda' ('/guest/diskimage1') is not on "
			    "storage the destination shares; set migration_copy_storage = yes to "
			    "copy it, or storage_shared = yes in the source's [host] section if "
			    "it is shared");
	/* Nothing was started. */
	assert_int_equal(vmp_backend_migrate_poll(b, "test", &prog), 0);
	assert_int_equal(prog.state, VMP_MIGRATE_NONE);
	assert_int_equal(find_vm(b, "test").state, VMP_VM_RUNNING);
	vmp_backend_close(b);
}

static void
test_migrate_unsupported(void **state)
{
	struct vmp_backend *b = open_test();
	struct vmp_migrate_params mp = { .dest_uri = TEST_URI, .dest_name = "test2",
					 .copy_storage = true };
	struct vmp_migrate_progress prog;
	int64_t deadline;

	/* With a copy of its disk allowed, the move is handed to libvirt. */
	assert_int_equal(vmp_backend_migrate_start(b, "test", &mp), 0);
	/* The migration runs on its own thread; the driver refuses it and the poll says
	 * FAILED with libvirt's reason. Bounded by a deadline, never a hang. */
	deadline = mono_ms() + 10000;
	do {
		assert_int_equal(vmp_backend_migrate_poll(b, "test", &prog), 0);
		if (prog.state != VMP_MIGRATE_ACTIVE)
			break;
		usleep(20000);
	} while (mono_ms() < deadline);
	assert_int_equal(prog.state, VMP_MIGRATE_FAILED);
	assert_non_null(strstr(vmp_backend_error(b), "migration of vm 'test' failed"));
	assert_int_equal(find_vm(b, "test").state, VMP_VM_RUNNING);
	vmp_backend_close(b);
}

/* A "daemon" that accepts connections and never answers. */
struct silent_server {
	int fd;
	char path[108];
	pthread_t thread;
};

static void *
silent_accept(void *arg)
{
	struct silent_server *s = arg;
	int fds[8], n = 0, c;

	while (n < 8 && (c = accept(s->fd, NULL, NULL)) >= 0)
		fds[n++] = c; /* kept open, never read */
	while (n > 0)
		close(fds[--n]);
	return NULL;
}

static void
test_hung_daemon_times_out(void **state)
{
	struct silent_server s;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vmp_backend *b = NULL;
	char uri[256], *err = NULL;
	int64_t t0, elapsed;
	int r;

	snprintf(s.path, sizeof(s.path), "/tmp/vmp-test-silent-%d.sock", (int)getpid());
	unlink(s.path);
	s.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s.fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s.path);
	assert_int_equal(bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s.fd, 8), 0);
	assert_int_equal(pthread_create(&s.thread, NULL, silent_accept, &s), 0);

	snprintf(uri, sizeof(uri), "qemu+unix:///system?socket=%s", s.path);
	t0 = mono_ms();
	r = vmp_backend_open(uri, 500, &b, &err);
	elapsed = mono_ms() - t0;
	assert_int_equal(r, -ETIMEDOUT);
	assert_null(b);
	assert_non_null(strstr(err, "did not answer within 500 ms"));
	assert_true(elapsed < 3000);
	free(err);

	shutdown(s.fd, SHUT_RDWR);
	close(s.fd);
	pthread_cancel(s.thread);
	pthread_join(s.thread, NULL);
	unlink(s.path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_open_error),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_host_info),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_stats_from_bulk_listing),
		cmocka_unit_test(test_setmem),
		cmocka_unit_test(test_setvcpus),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_unknown_vm),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_migrate_local_disk_refused),
		cmocka_unit_test(test_migrate_unsupported),
		cmocka_unit_test(test_hung_daemon_times_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
