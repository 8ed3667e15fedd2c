/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot status` on a real guest driven over QMP (the qmp:/// backend), compared with
 * what the guest reports about itself: after ballooning, the guest MemTotal shown is
 * the guest's own; after a vCPU hot-add, the vCPU count shown is the number of CPUs the
 * guest has online. (test-libvirt-real does the same through libvirt.)
 *
 * A QMP socket serves one client at a time, so the test closes its own backend
 * connection while `vmpilot status` runs, as two vmpilot processes would have to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cmdrun.h"
#include "guest.h"

#define VM "st1"

static char qmp_dir[] = "/tmp/vmp-test-status-XXXXXX";
static char uri[600];
static struct vmp_guest *guest;
static struct vmp_backend *be;

/* Runs `vmpilot status -c uri --json`; returns the VM's object (new reference). */
static json_t *
status_vm(void)
{
	char *argv[] = { "status", "-c", uri, "--json", NULL };
	char *err = NULL, *out = NULL;
	json_t *vm;
	int rc;

	/* QEMU serves one QMP client: let go of ours while status connects */
	vmp_backend_close(be);
	be = NULL;
	rc = vmp_test_run_cmd(&vmp_cmd_status, 4, argv, &out);
	if (vmp_backend_open(uri, 10000, &be, &err) < 0)
		fail_msg("reopen %s: %s", uri, err);
	printf("status: %s", out);
	assert_int_equal(rc, VMP_EXIT_OK);
	vm = vmp_test_status_find_vm(out, VM, &err);
	if (!vm && err)
		fail_msg("status --json: %s: %s", err, out);
	free(out);
	assert_non_null(vm);
	return vm;
}

static bool
memtotal_near(const struct vmp_guest_stats *s, void *arg)
{
	uint64_t want = *(uint64_t *)arg;

	return s->memtotal_kib + 4096 >= want && s->memtotal_kib <= want + 4096;
}

static bool
cpus_at_least(const struct vmp_guest_stats *s, void *arg)
{
	return s->cpus_online >= *(unsigned *)arg;
}

static int
setup(void **state)
{
	struct vmp_guest_config cfg = {
		.name = VM, .qmp_dir = qmp_dir, .mem_mib = 512, .lifetime_s = 180,
	};
	char *err = NULL;

	if (!mkdtemp(qmp_dir))
		return -1;
	snprintf(uri, sizeof(uri), "qmp://%s", qmp_dir);
	if (vmp_guest_start(&cfg, &guest) < 0 || vmp_guest_wait_boot(guest, 60000) < 0)
		return -1;
	if (vmp_backend_open(uri, 10000, &be, &err) < 0) {
		fprintf(stderr, "open %s: %s\n", uri, err);
		free(err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	vmp_backend_close(be);
	vmp_guest_kill(guest);
	rmdir(qmp_dir);
	return 0;
}

static void
test_status_follows_balloon(void **state)
{
	struct vmp_guest_stats gs;
	uint64_t want;
	int64_t deadline;
	json_t *vm = NULL;

	vm = status_vm();
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_current")), 1);
	assert_int_equal(json_integer_value(json_object_get(vm, "memory_actual_kib")), 512 * 1024);
	assert_true(json_is_real(json_object_get(vm, "cpu_pct")));
	json_decref(vm);
	vm = NULL;

	assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
	want = gs.memtotal_kib - 128 * 1024;
	if (vmp_backend_set_balloon(be, VM, 384 * 1024) < 0)
		fail_msg("set_balloon: %s", vmp_backend_error(be));
	assert_int_equal(vmp_guest_wait_until(guest, memtotal_near, &want, 30000, &gs), 0);
	/* The guest's balloon statistics refresh every few seconds: poll status. */
	deadline = vmp_guest_now_ms() + 20000;
	for (;;) {
		json_t *total;

		json_decref(vm);
		vm = status_vm();
		assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
		total = json_object_get(vm, "guest_mem_total_kib");
		if (json_is_integer(total) && (uint64_t)json_integer_value(total) == gs.memtotal_kib &&
		    json_integer_value(json_object_get(vm, "memory_actual_kib")) == 384 * 1024)
			break;
		if (vmp_guest_now_ms() > deadline)
			fail_msg("status: guest MemTotal %lld KiB, actual %lld KiB; the guest says "
				 "%llu KiB", json_integer_value(total),
				 json_integer_value(json_object_get(vm, "memory_actual_kib")),
				 (unsigned long long)gs.memtotal_kib);
	}
	json_decref(vm);
}

static void
test_status_follows_hotadd(void **state)
{
	struct vmp_guest_stats gs;
	unsigned want = 2;
	json_t *vm;

	if (vmp_backend_set_vcpus(be, VM, 2) < 0)
		fail_msg("set_vcpus: %s", vmp_backend_error(be));
	assert_int_equal(vmp_guest_wait_until(guest, cpus_at_least, &want, 30000, &gs), 0);
	vm = status_vm();
	assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
	assert_int_equal(gs.cpus_online, 2);
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_current")), gs.cpus_online);
	json_decref(vm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_follows_balloon),
		cmocka_unit_test(test_status_follows_hotadd),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_guest_require();
	return cmocka_run_group_tests_name("status-real", tests, setup, teardown);
}
