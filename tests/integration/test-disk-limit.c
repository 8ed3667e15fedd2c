/* SPDX-License-Identifier: MIT */
/*
 * Disk throughput limits live, through both backends: the test guest gets a virtio-blk
 * disk (a raw file made here), `vmpilot run` sizes its write limit (disk_dev, per-VM
 * disk_min_kibps/disk_max_kibps), and the guest's own meter (vmpguest `written`) must
 * follow: an idle guest's limit comes down to the minimum; writing at it, the limit is
 * raised to the maximum and the guest writes several times faster; idle again, it comes
 * back down and the guest is held to it. vmpilot is frozen (SIGSTOP) while the guest's
 * throughput is measured, so the limit in effect is known. Through QMP (QEMU started by
 * tests/guest, block_set_io_throttle) and a private libvirtd (lvharness,
 * virDomainSetBlockIoTune). Every QEMU is killed by PID; vmpilot is stopped with SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "child.h"
#include "guest.h"
#include "lvharness.h"

#define VM "diskvm"
#define MIN_KIBPS 1024
#define MAX_KIBPS 8192
#define DISK_MIB 64

static char base_dir[] = "/tmp/vmp-disklimit-XXXXXX";
static struct vmp_lvd *lvd;
static struct vmp_guest *guest;
static pid_t pilot = -1;

static int
pilot_stop(void)
{
	return vmp_test_child_stop(&pilot, 15000);
}

/* A sparse raw file of DISK_MIB MiB, mode 0600. */
static void
make_disk(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DISK_MIB << 20), 0);
	assert_int_equal(close(fd), 0);
}

static int
setup(void **state)
{
	strcpy(base_dir, "/tmp/vmp-disklimit-XXXXXX");
	if (!mkdtemp(base_dir))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	pilot_stop();
	vmp_guest_kill(guest);
	guest = NULL;
	vmp_lvd_stop(lvd);
	lvd = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base_dir);
	return 0;
}

/* The latest acted rightsize-disk-write decision whose "to" is want (NULL if none yet). */
static json_t *
find_limit(const char *journal, double want)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *found = NULL;
	FILE *in = fopen(journal, "r");

	if (!in)
		return NULL;
	while (getline(&line, &cap, in) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *p;

		if (!o)
			continue;
		p = json_string_value(json_object_get(o, "policy"));
		if (p && !strcmp(p, "rightsize-disk-write") &&
		    json_is_true(json_object_get(o, "acted")) &&
		    json_number_value(json_object_get(o, "to")) == want) {
			json_decref(found);
			found = json_incref(o);
		}
		json_decref(o);
	}
	free(line);
	fclose(in);
	return found;
}

/* Waits until the journal holds acted write-limit decisions numbering more than after. */
static json_t *
wait_limit(const char *journal, double want, size_t *count, unsigned timeout_ms)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;

	for (;;) {
		json_t *e = find_limit(journal, want);
		size_t n = 0;
		char *line = NULL;
		size_t cap = 0;
		FILE *in = fopen(journal, "r");

		if (in) {
			while (getline(&line, &cap, in) > 0)
				if (strstr(line, "\"rightsize-disk-write\"") &&
				    strstr(line, "\"acted\":true"))
					n++;
			free(line);
			fclose(in);
		}
		if (e && n > *count) {
			*count = n;
			return e;
		}
		json_decref(e);
		if (vmp_guest_now_ms() > deadline)
			return NULL;
		vmp_test_sleep_ms(250);
	}
}

/* Bytes the guest's writers wrote so far, from the guest itself. */
static uint64_t
written(void)
{
	char *reply = NULL;
	unsigned long long bytes = 0;
	long long ms = 0;

	assert_int_equal(vmp_guest_cmd(guest, "written", &reply, 10000), 0);
	assert_int_equal(sscanf(reply, "written %llu %lld", &bytes, &ms), 2);
	free(reply);
	return bytes;
}

/* The guest's write throughput over ms milliseconds, KiB/s, with vmpilot frozen. */
static double
measure(unsigned ms)
{
	int64_t t0, t1;
	uint64_t b0, b1;

	kill(pilot, SIGSTOP);
	vmp_test_sleep_ms(1000);    /* the throttle's burst allowance is spent */
	b0 = written();
	t0 = vmp_guest_now_ms();
	vmp_test_sleep_ms(ms);
	b1 = written();
	t1 = vmp_guest_now_ms();
	return (double)(b1 - b0) / 1024.0 / ((double)(t1 - t0) / 1000.0);
}

static void
fail_with_log(const char *journal, const char *log, const char *what)
{
	char cmd[1600];

	snprintf(cmd, sizeof(cmd), "grep -h disk '%s' | tail -5; tail -20 '%s'", journal, log);
	if (system(cmd) != 0)
		fprintf(stderr, "no journal\n");
	fail_msg("%s", what);
}

/* The scenario, the same through either backend: uri drives the guest's disk dev. */
static void
run_scenario(const char *uri, const char *dev, const char *label)
{
	char conf[700], journal[700], log[700];
	double low, high, low_again;
	size_t count = 0;
	json_t *e;
	FILE *out;

	snprintf(conf, sizeof(conf), "%s/vmpilot-%s.conf", base_dir, label);
	snprintf(journal, sizeof(journal), "%s/journal-%s.jsonl", base_dir, label);
	snprintf(log, sizeof(log), "%s/vmpilot-%s.log", base_dir, label);
	out = fopen(conf, "w");
	assert_non_null(out);
	fprintf(out, "status_file = %s/status-%s.json\n", base_dir, label);
	fprintf(out, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\n"
		"disk_dev = %s\ndisk_target_pct = 50\ndisk_peak_window_ms = 3000\n"
		"disk_cooldown_ms = 3000\ndisk_half_life_ms = 20000\n"
		"[vm " VM "]\nmem_min_kib = 524288\nvcpus_max = 1\n"
		"disk_min_kibps = %d\ndisk_max_kibps = %d\n", dev, MIN_KIBPS, MAX_KIBPS);
	fclose(out);
	{
		const char *const argv[] = { getenv("VMP_VMPILOT"), "run", "-v", "-f", conf, "-J",
					     journal, "-c", uri, NULL };

		pilot = vmp_test_child_start(log, argv);
	}
	assert_true(pilot >= 0);
	/* Idle: the limit comes down from the maximum to the minimum. */
	e = wait_limit(journal, MIN_KIBPS, &count, 30000);
	if (!e)
		fail_with_log(journal, log, "an idle guest's write limit was not lowered to the minimum");
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "idle");
	json_decref(e);
	/* Writing at the limit: the guest gets about the minimum. */
	assert_int_equal(vmp_guest_cmd(guest, "write 48", NULL, 10000), 0);
	low = measure(3000);
	kill(pilot, SIGCONT);
	/* vmpilot sees it at the limit and raises it, to the maximum in two steps. */
	e = wait_limit(journal, MAX_KIBPS, &count, 30000);
	if (!e)
		fail_with_log(journal, log, "a guest writing at its limit did not get the maximum");
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "saturated");
	json_decref(e);
	high = measure(3000);
	kill(pilot, SIGCONT);
	/* Idle again: back down to the minimum, and the guest is held to it. */
	assert_int_equal(vmp_guest_cmd(guest, "stop", NULL, 10000), 0);
	e = wait_limit(journal, MIN_KIBPS, &count, 40000);
	if (!e)
		fail_with_log(journal, log, "the write limit did not come down once the guest was idle");
	json_decref(e);
	kill(pilot, SIGSTOP);
	assert_int_equal(vmp_guest_cmd(guest, "write 48", NULL, 10000), 0);
	low_again = measure(3000);
	assert_int_equal(vmp_guest_cmd(guest, "stop", NULL, 10000), 0);
	printf("%s: guest writes %.0f KiB/s at the %d KiB/s limit, %.0f at %d, %.0f at %d again\n",
	       label, low, MIN_KIBPS, high, MAX_KIBPS, low_again, MIN_KIBPS);
	assert_int_equal(pilot_stop(), 0);
	/* The guest's throughput follows the limit (QEMU lets a 10 % burst through). */
	assert_true(low > 0.5 * MIN_KIBPS && low < 1.3 * MIN_KIBPS);
	assert_true(high > 0.5 * MAX_KIBPS && high < 1.3 * MAX_KIBPS);
	assert_true(low_again > 0.5 * MIN_KIBPS && low_again < 1.3 * MIN_KIBPS);
	/* Every limit vmpilot chose stayed within the VM's bounds. */
	{
		char *line = NULL;
		size_t cap = 0;
		FILE *in = fopen(journal, "r");

		assert_non_null(in);
		while (getline(&line, &cap, in) > 0) {
			json_t *o = json_loads(line, 0, NULL);
			const char *p;

			assert_non_null(o);
			p = json_string_value(json_object_get(o, "policy"));
			if (p && !strncmp(p, "rightsize-disk-", 15)) {
				double to = json_number_value(json_object_get(o, "to"));

				assert_true(to >= MIN_KIBPS && to <= MAX_KIBPS);
			}
			json_decref(o);
		}
		free(line);
		fclose(in);
	}
}

static void
test_disk_limit_qmp(void **state)
{
	char disk[700], drive[800], qmp_dir[700], uri[720];
	const char *extra[] = { "-drive", drive, "-device", "virtio-blk-pci,drive=drv0,id=vd0",
				NULL };
	struct vmp_guest_config cfg = {
		.name = VM, .qmp_dir = qmp_dir, .mem_mib = 512, .vcpus = 1, .max_vcpus = 1,
		.extra_args = extra, .lifetime_s = 200,
	};

	snprintf(disk, sizeof(disk), "%s/disk-qmp.raw", base_dir);
	snprintf(drive, sizeof(drive), "file=%s,if=none,id=drv0,format=raw", disk);
	snprintf(qmp_dir, sizeof(qmp_dir), "%s/qmp", base_dir);
	snprintf(uri, sizeof(uri), "qmp://%s", qmp_dir);
	assert_int_equal(mkdir(qmp_dir, 0700), 0);
	make_disk(disk);
	assert_int_equal(vmp_guest_start(&cfg, &guest), 0);
	assert_int_equal(vmp_guest_wait_boot(guest, 90000), 0);
	run_scenario(uri, "vd0", "qmp");
	vmp_guest_kill(guest);
	guest = NULL;
}

static void
test_disk_limit_libvirt(void **state)
{
	char dir[600], disk[700], serial[700], agent[700], *xml, *img = NULL, *full, *at;
	virConnectPtr conn;
	virDomainPtr dom;

	snprintf(dir, sizeof(dir), "%s/lvd", base_dir);
	assert_int_equal(vmp_lvd_start(dir, "vmp-disk-host", 200, &lvd), 0);
	snprintf(disk, sizeof(disk), "%s/disk-libvirt.raw", base_dir);
	make_disk(disk);
	assert_int_equal(vmp_guest_image(&img), 0);
	xml = vmp_lvd_guest_xml(VM, 512, img);
	free(img);
	/* The harness's guest plus the disk, before its balloon. */
	at = strstr(xml, "<memballoon");
	assert_non_null(at);
	assert_true(asprintf(&full, "%.*s<disk type='file' device='disk'><driver name='qemu' "
			     "type='raw'/><source file='%s'/><target dev='vda' bus='virtio'/>"
			     "</disk>%s", (int)(at - xml), xml, disk, at) > 0);
	free(xml);
	conn = virConnectOpen(vmp_lvd_uri(lvd));
	assert_non_null(conn);
	dom = virDomainCreateXML(conn, full, 0);
	free(full);
	if (!dom)
		fail_msg("cannot create the guest: %s", virGetLastErrorMessage());
	virDomainFree(dom);
	virConnectClose(conn);
	snprintf(serial, sizeof(serial), "%s/vmp/serial.log", vmp_lvd_run_dir(lvd));
	snprintf(agent, sizeof(agent), "%s/vmp/agent.sock", vmp_lvd_run_dir(lvd));
	assert_int_equal(vmp_guest_attach(VM, serial, agent, &guest), 0);
	assert_int_equal(vmp_guest_wait_boot(guest, 90000), 0);
	run_scenario(vmp_lvd_uri(lvd), "vda", "libvirt");
	vmp_guest_kill(guest);
	guest = NULL;
	vmp_lvd_stop(lvd);
	lvd = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_limit_qmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_limit_libvirt, setup, teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_guest_require();
	vmp_lvd_require();
	return cmocka_run_group_tests_name("disk-limit", tests, NULL, NULL);
}
