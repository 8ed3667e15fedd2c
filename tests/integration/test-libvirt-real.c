/* SPDX-License-Identifier: MIT */
/*
 * The libvirt backend against two real, private libvirtd daemons (lvharness.h) and a
 * real type='qemu' guest (tests/guest) booted by the first one: the common scenario
 * every backend passes (scenario.h: list, stats, balloon down and up with the guest's
 * own MemTotal following, vCPU hot-add onlined by the guest, live migration), plus
 * libvirt specifics: `vmpilot status` against what the guest reports, pinning, CPU
 * quota, dirty rate, a cancelled migration, both sides of the migration to the second
 * daemon (total time and downtime printed), a transient domain staying transient and a
 * persistent one defined on exactly one daemon after each move (there and back),
 * reconnection after a daemon restart, a vCPU unplug request and a QEMU killed under
 * libvirt.
 *
 * The tests run in order and share one guest; every wait polls with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "guest.h"
#include "cmdrun.h"
#include "lvharness.h"
#include "scenario.h"

/* Names carry the test's PID: libvirt names cgroups after domains, so two runs on
 * one machine (two checkouts) must not share a name. */
static char VM[64], VM_DEST[64], VM_BACK[64];
#define BOOT_MIB 512
#define LOW_MIB 384

static char base_dir[] = "/tmp/vmp-test-libvirt-XXXXXX";
static struct vmp_lvd *lvd_a, *lvd_b;
static struct vmp_backend *be_a, *be_b;
static struct vmp_guest *guest;
static uint64_t boot_memtotal_kib;   /* the guest's MemTotal with the full balloon */

/* ---- helpers ----------------------------------------------------------------------- */

static struct vmp_backend *
open_backend(const char *uri)
{
	struct vmp_backend *b = NULL;
	char *err = NULL;

	if (vmp_backend_open(uri, 20000, &b, &err) < 0) {
		fprintf(stderr, "open %s: %s\n", uri, err);
		free(err);
		return NULL;
	}
	return b;
}

/* The listing entry of name on b; false if absent. */
static bool
find_vm(struct vmp_backend *b, const char *name, struct vmp_vm_info *ret)
{
	struct vmp_vm_info *vms = NULL;
	bool found = false;
	int i, n = vmp_backend_list_vms(b, &vms);

	if (n < 0)
		fail_msg("list_vms: %s", vmp_backend_error(b));
	for (i = 0; i < n; i++) {
		if (strcmp(vms[i].name, name) == 0) {
			*ret = vms[i];
			found = true;
		}
	}
	free(vms);
	return found;
}

static bool
memtotal_near(const struct vmp_guest_stats *s, void *arg)
{
	uint64_t want = *(uint64_t *)arg;

	return s->memtotal_kib + 4096 >= want && s->memtotal_kib <= want + 4096;
}

/* Runs `vmpilot status -c uri --json` in-process; returns the parsed VM object of
 * name (a new reference) or NULL. */
static json_t *
status_json(const char *uri, const char *name)
{
	char *argv[] = { "status", "-c", (char *)uri, "--json", NULL };
	char *out = NULL, *err = NULL;
	json_t *vm;
	int rc;

	rc = vmp_test_run_cmd(&vmp_cmd_status, 4, argv, &out);
	assert_int_equal(rc, VMP_EXIT_OK);
	vm = vmp_test_status_find_vm(out, name, &err);
	if (!vm && err)
		fail_msg("status --json: %s: %s", err, out);
	printf("status: %s", out);
	free(out);
	return vm;
}

static virDomainPtr
raw_domain(const char *uri, const char *name, virConnectPtr *ret_conn)
{
	virConnectPtr conn = virConnectOpen(uri);
	virDomainPtr dom;

	assert_non_null(conn);
	dom = virDomainLookupByName(conn, name);
	assert_non_null(dom);
	*ret_conn = conn;
	return dom;
}

/*
 * `vmpilot audit` on the real guest reports its real configuration: compared with the
 * domain XML libvirt gives for it (read here on its own), type='qemu' is found (TCG),
 * the balloon with its 1-s stats is not, and the CPU mode finding quotes what is there.
 */
static void
test_audit(void **state)
{
	char *argv[] = { "audit", "-c", (char *)vmp_lvd_uri(lvd_a), "--json", VM, NULL };
	char *out = NULL, *xml;
	json_t *j, *f;
	json_error_t jerr;
	virConnectPtr conn;
	virDomainPtr dom = raw_domain(vmp_lvd_uri(lvd_a), VM, &conn);
	bool type_qemu, have_stats, found_type = false, found_balloon = false, found_cpu = false;
	size_t i;
	int rc;

	(void)state;
	xml = virDomainGetXMLDesc(dom, 0);
	assert_non_null(xml);
	type_qemu = strstr(xml, "<domain type='qemu'") != NULL;
	have_stats = strstr(xml, "<stats period='1'/>") != NULL;
	rc = vmp_test_run_cmd(&vmp_cmd_audit, 5, argv, &out);
	assert_true(rc == VMP_EXIT_OK || rc == VMP_EXIT_FINDING);
	printf("audit: %s", out);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "vms")), 1);
	json_array_foreach(json_object_get(j, "findings"), i, f) {
		const char *rule = json_string_value(json_object_get(f, "rule"));

		assert_string_equal(json_string_value(json_object_get(f, "vm")), VM);
		found_type |= strcmp(rule, "domain.type") == 0;
		found_balloon |= strncmp(rule, "balloon.", 8) == 0;
		found_cpu |= strcmp(rule, "cpu.mode") == 0;
	}
	assert_true(found_type == type_qemu);
	assert_true(found_balloon == !have_stats);
	assert_true(found_cpu == (strstr(xml, "host-passthrough") == NULL && strstr(xml, "host-model") == NULL));
	assert_true(type_qemu);
	json_decref(j);
	free(out);
	free(xml);
	virDomainFree(dom);
	virConnectClose(conn);
}

static struct vmp_scenario
scenario_a(void)
{
	struct vmp_scenario sc = {
		.b = be_a, .vm = VM, .guest = guest, .mem_mib = BOOT_MIB, .boot_vcpus = 1,
		.max_vcpus = 4,
	};

	return sc;
}

static void
test_scenario_list_stats(void **state)
{
	struct vmp_scenario sc = scenario_a();

	vmp_scenario_list(&sc);
	vmp_scenario_stats(&sc);
}

static void
test_scenario_balloon(void **state)
{
	struct vmp_scenario sc = scenario_a();

	vmp_scenario_balloon(&sc);
}

static void
test_scenario_hotadd(void **state)
{
	struct vmp_scenario sc = scenario_a();

	vmp_scenario_hotadd(&sc);
}

/* ---- setup: two daemons, one guest on the first ---------------------------------------- */

static int
setup(void **state)
{
	char dir[600], *xml = NULL, serial[700], agent[700], *img = NULL;
	virConnectPtr conn;
	virDomainPtr dom;
	int64_t t0;

	if (!mkdtemp(base_dir))
		return -1;
	snprintf(dir, sizeof(dir), "%s/a", base_dir);
	if (vmp_lvd_start(dir, "vmp-host-a", 240, &lvd_a) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/b", base_dir);
	if (vmp_lvd_start(dir, "vmp-host-b", 240, &lvd_b) < 0)
		return -1;
	if (vmp_guest_image(&img) < 0)
		return -1;
	/* /run/vmp is DIR/run/vmp of each daemon: the destination of a migration gets its
	 * own serial log and agent socket from the same XML. */
	xml = vmp_lvd_guest_xml(VM, BOOT_MIB, img);
	free(img);
	conn = virConnectOpen(vmp_lvd_uri(lvd_a));
	if (!conn) {
		free(xml);
		return -1;
	}
	t0 = vmp_guest_now_ms();
	dom = virDomainCreateXML(conn, xml, 0);
	free(xml);
	if (!dom) {
		fprintf(stderr, "cannot create the guest: %s\n", virGetLastErrorMessage());
		virConnectClose(conn);
		return -1;
	}
	virDomainFree(dom);
	virConnectClose(conn);
	snprintf(serial, sizeof(serial), "%s/vmp/serial.log", vmp_lvd_run_dir(lvd_a));
	snprintf(agent, sizeof(agent), "%s/vmp/agent.sock", vmp_lvd_run_dir(lvd_a));
	vmp_guest_attach(VM, serial, agent, &guest);
	if (vmp_guest_wait_boot(guest, 90000) < 0)
		return -1;
	printf("guest booted under libvirtd in %lld ms\n", (long long)(vmp_guest_now_ms() - t0));
	be_a = open_backend(vmp_lvd_uri(lvd_a));
	be_b = open_backend(vmp_lvd_tcp_uri(lvd_b));
	return be_a && be_b ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[700];

	vmp_backend_close(be_a);
	vmp_backend_close(be_b);
	vmp_guest_kill(guest);
	vmp_lvd_stop(lvd_a);
	vmp_lvd_stop(lvd_b);
	if (!getenv("VMP_GUEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", base_dir);
	}
	return 0;
}

/* ---- the tests, in order -------------------------------------------------------------- */

static void
test_list_and_stats(void **state)
{
	struct vmp_guest_stats gs;
	struct vmp_vm_info vi;
	struct vmp_vm_stats st;
	struct vmp_host_info hi;
	int64_t deadline;

	assert_int_equal(vmp_backend_host_info(be_a, &hi), 0);
	assert_string_equal(hi.hostname, "vmp-host-a");
	assert_true(strncmp(hi.hypervisor, "QEMU ", 5) == 0);
	assert_true(find_vm(be_a, VM, &vi));
	assert_int_equal(vi.state, VMP_VM_RUNNING);
	assert_int_equal(vi.vcpus_current, 1);
	assert_int_equal(vi.vcpus_max, 4);
	assert_int_equal(vi.memory_max_kib, BOOT_MIB * 1024);
	assert_int_equal(vi.memory_current_kib, BOOT_MIB * 1024);
	assert_true(vi.has_balloon);
	assert_int_equal(vi.stats_period_s, 1);
	assert_int_equal(strlen(vi.uuid), 36);

	assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
	boot_memtotal_kib = gs.memtotal_kib;
	/* The balloon driver's MemTotal (libvirt balloon.available) is the guest's own. */
	deadline = vmp_guest_now_ms() + 15000;
	do {
		assert_int_equal(vmp_backend_vm_stats(be_a, VM, &st), 0);
		if ((st.valid & VMP_STAT_MEM_AVAILABLE) && st.mem_available_kib == gs.memtotal_kib)
			break;
		usleep(300000);
	} while (vmp_guest_now_ms() < deadline);
	printf("guest MemTotal %llu KiB, libvirt balloon.available %llu KiB\n",
	       (unsigned long long)gs.memtotal_kib, (unsigned long long)st.mem_available_kib);
	assert_true(st.valid & VMP_STAT_CPU_TIME);
	assert_true(st.cpu_time_ns > 0);
	assert_true(st.valid & VMP_STAT_VCPU_TIME);
	assert_int_equal(st.nvcpus, 1);
	assert_true(st.valid & VMP_STAT_BALLOON_ACTUAL);
	assert_int_equal(st.balloon_actual_kib, BOOT_MIB * 1024);
	assert_true(st.valid & VMP_STAT_MEM_USABLE);
	assert_int_equal(st.mem_available_kib, gs.memtotal_kib);
	assert_int_equal(vmp_backend_vm_stats(be_a, "no-such-vm", &st), -ENOENT);
}

static void
test_balloon_down_and_status(void **state)
{
	uint64_t want = boot_memtotal_kib - (BOOT_MIB - LOW_MIB) * 1024;
	struct vmp_guest_stats gs;
	int64_t t0 = vmp_guest_now_ms(), deadline;
	json_t *vm = NULL;

	assert_int_equal(vmp_backend_set_balloon(be_a, VM, LOW_MIB * 1024), 0);
	assert_int_equal(vmp_guest_wait_until(guest, memtotal_near, &want, 30000, &gs), 0);
	printf("balloon %d -> %d MiB: guest MemTotal %llu -> %llu KiB in %lld ms\n", BOOT_MIB,
	       LOW_MIB, (unsigned long long)boot_memtotal_kib, (unsigned long long)gs.memtotal_kib,
	       (long long)(vmp_guest_now_ms() - t0));
	/* vmpilot status shows what the guest says (balloon stats refresh every 1 s). */
	deadline = vmp_guest_now_ms() + 20000;
	for (;;) {
		json_t *total;

		json_decref(vm);
		vm = status_json(vmp_lvd_uri(lvd_a), VM);
		assert_non_null(vm);
		assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
		total = json_object_get(vm, "guest_mem_total_kib");
		if (json_is_integer(total) && (uint64_t)json_integer_value(total) == gs.memtotal_kib)
			break;
		if (vmp_guest_now_ms() > deadline)
			fail_msg("status shows guest MemTotal %lld KiB, the guest says %llu KiB",
				 json_integer_value(total), (unsigned long long)gs.memtotal_kib);
	}
	assert_int_equal(json_integer_value(json_object_get(vm, "memory_actual_kib")),
			 LOW_MIB * 1024);
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	assert_true(json_is_real(json_object_get(vm, "cpu_pct")));
	assert_true(json_real_value(json_object_get(vm, "cpu_pct")) >= 0);
	assert_true(json_is_integer(json_object_get(vm, "guest_mem_used_kib")));
	assert_true((uint64_t)json_integer_value(json_object_get(vm, "guest_mem_used_kib")) <
		    gs.memtotal_kib);
	json_decref(vm);
}

static void
test_status_after_hotadd(void **state)
{
	struct vmp_guest_stats gs;
	json_t *vm;

	vm = status_json(vmp_lvd_uri(lvd_a), VM);
	assert_non_null(vm);
	assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
	assert_int_equal(gs.cpus_online, 2);
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_current")), gs.cpus_online);
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_max")), 4);
	json_decref(vm);
	/* More than the maximum: refused with the VM named. */
	assert_true(vmp_backend_set_vcpus(be_a, VM, 5) < 0);
	assert_non_null(strstr(vmp_backend_error(be_a), VM));
}

static void
test_balloon_up(void **state)
{
	struct vmp_guest_stats gs;
	struct vmp_vm_stats st;
	int64_t deadline;

	assert_int_equal(vmp_backend_set_balloon(be_a, VM, BOOT_MIB * 1024), 0);
	assert_int_equal(vmp_guest_wait_until(guest, memtotal_near, &boot_memtotal_kib, 30000,
					      &gs), 0);
	/* libvirt learns the balloon's size from QEMU's BALLOON_CHANGE events. */
	deadline = vmp_guest_now_ms() + 10000;
	do {
		assert_int_equal(vmp_backend_vm_stats(be_a, VM, &st), 0);
		if (st.balloon_actual_kib == BOOT_MIB * 1024)
			break;
		usleep(200000);
	} while (vmp_guest_now_ms() < deadline);
	assert_int_equal(st.balloon_actual_kib, BOOT_MIB * 1024);
	/* Above the maximum memory: refused. */
	assert_true(vmp_backend_set_balloon(be_a, VM, 2 * BOOT_MIB * 1024) < 0);
	assert_non_null(strstr(vmp_backend_error(be_a), "cannot balloon vm"));
}

static void
test_pin(void **state)
{
	unsigned char maps[4] = { 0 };
	virConnectPtr conn;
	virDomainPtr dom;
	int n;

	assert_int_equal(vmp_backend_pin_vcpu(be_a, VM, 0, "0"), 0);
	dom = raw_domain(vmp_lvd_uri(lvd_a), VM, &conn);
	n = virDomainGetVcpuPinInfo(dom, 2, maps, 1, VIR_DOMAIN_AFFECT_LIVE);
	assert_true(n >= 1);
	assert_int_equal(maps[0] & 0x3, 0x1);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		assert_int_equal(vmp_backend_pin_vcpu(be_a, VM, 1, "1"), 0);
		assert_int_equal(vmp_backend_pin_vcpu(be_a, VM, 0, "0-1"), 0);
		n = virDomainGetVcpuPinInfo(dom, 2, maps, 1, VIR_DOMAIN_AFFECT_LIVE);
		assert_int_equal(n, 2);
		assert_int_equal(maps[0] & 0x3, 0x3);
		assert_int_equal(maps[1] & 0x3, 0x2);
	}
	assert_int_equal(vmp_backend_pin_vcpu(be_a, VM, 0, "4096"), -ERANGE);
	virDomainFree(dom);
	virConnectClose(conn);
}

static void
test_quota(void **state)
{
	virTypedParameter params[16];
	virConnectPtr conn;
	virDomainPtr dom;
	long long quota = 0;
	unsigned long long period = 0;
	int n = 16;

	assert_int_equal(vmp_backend_set_cpu_quota(be_a, VM, 50000, 100000, 0), 0);
	dom = raw_domain(vmp_lvd_uri(lvd_a), VM, &conn);
	assert_int_equal(virDomainGetSchedulerParametersFlags(dom, params, &n,
							      VIR_DOMAIN_AFFECT_LIVE), 0);
	assert_int_equal(virTypedParamsGetLLong(params, n, "global_quota", &quota), 1);
	assert_int_equal(virTypedParamsGetULLong(params, n, "global_period", &period), 1);
	assert_int_equal(quota, 50000);
	assert_int_equal(period, 100000);
	/* Unlimited again. */
	assert_int_equal(vmp_backend_set_cpu_quota(be_a, VM, -1, 0, 0), 0);
	n = 16;
	assert_int_equal(virDomainGetSchedulerParametersFlags(dom, params, &n,
							      VIR_DOMAIN_AFFECT_LIVE), 0);
	assert_int_equal(virTypedParamsGetLLong(params, n, "global_quota", &quota), 1);
	assert_true(quota < 0 || quota >= 17592186044415LL);
	virDomainFree(dom);
	virConnectClose(conn);
}

static bool
free_below(const struct vmp_guest_stats *s, void *arg)
{
	return s->memfree_kib < *(uint64_t *)arg;
}

static void
test_dirty_rate(void **state)
{
	struct vmp_guest_stats gs;
	uint64_t rate = 0, limit;
	int r;

	/* The guest rewrites 192 MiB at 128 MiB/s; measured once its memory is in use.
	 * (QEMU's page sampling over 1 s missed a 32 MiB/s writer: 0 MiB/s.) */
	assert_int_equal(vmp_guest_stats(guest, &gs, 10000), 0);
	limit = gs.memfree_kib - 160 * 1024;
	assert_int_equal(vmp_guest_cmd(guest, "dirty 192 128", NULL, 5000), 0);
	assert_int_equal(vmp_guest_wait_until(guest, free_below, &limit, 20000, &gs), 0);
	r = vmp_backend_dirty_rate(be_a, VM, 2000, &rate);
	assert_int_equal(vmp_guest_cmd(guest, "stop", NULL, 5000), 0);
	if (r < 0)
		fail_msg("dirty_rate: %s", vmp_backend_error(be_a));
	printf("dirty rate with the guest rewriting 192 MiB at 128 MiB/s: %llu MiB/s\n",
	       (unsigned long long)rate);
	assert_true(rate > 0);
}

static void
test_migrate_cancel(void **state)
{
	struct vmp_migrate_params mp = {
		.dest_uri = vmp_lvd_tcp_uri(lvd_b),
		.migrate_uri = "tcp://127.0.0.1",
		.dest_name = VM_DEST,
		.bandwidth_mibps = 1,     /* 512 MiB at 1 MiB/s: still running when cancelled */
	};
	struct vmp_migrate_progress prog = { 0 };
	struct vmp_vm_info vi;
	int64_t deadline;

	if (vmp_backend_migrate_start(be_a, VM, &mp) < 0)
		fail_msg("migrate_start: %s", vmp_backend_error(be_a));
	/* A second migration of the same VM is refused while this one runs. */
	assert_int_equal(vmp_backend_migrate_start(be_a, VM, &mp), -EBUSY);
	deadline = vmp_guest_now_ms() + 20000;
	do {
		assert_int_equal(vmp_backend_migrate_poll(be_a, VM, &prog), 0);
		if (prog.state != VMP_MIGRATE_ACTIVE || prog.transferred_bytes > 0)
			break;
		usleep(100000);
	} while (vmp_guest_now_ms() < deadline);
	assert_int_equal(prog.state, VMP_MIGRATE_ACTIVE);
	assert_true(prog.transferred_bytes > 0);
	assert_true(find_vm(be_a, VM, &vi));
	assert_int_equal(vi.state, VMP_VM_MIGRATING);
	if (vmp_backend_migrate_cancel(be_a, VM) < 0)
		fail_msg("migrate_cancel: %s", vmp_backend_error(be_a));
	deadline = vmp_guest_now_ms() + 20000;
	do {
		assert_int_equal(vmp_backend_migrate_poll(be_a, VM, &prog), 0);
		if (prog.state != VMP_MIGRATE_ACTIVE)
			break;
		usleep(100000);
	} while (vmp_guest_now_ms() < deadline);
	printf("migration cancelled after %llu ms, %llu bytes: %s\n",
	       (unsigned long long)prog.total_time_ms, (unsigned long long)prog.transferred_bytes,
	       vmp_backend_error(be_a));
	assert_int_equal(prog.state, VMP_MIGRATE_CANCELLED);
	/* The VM runs on at the source; nothing is left at the destination. */
	assert_true(find_vm(be_a, VM, &vi));
	assert_int_equal(vi.state, VMP_VM_RUNNING);
	assert_false(find_vm(be_b, VM_DEST, &vi));
	assert_int_equal(vmp_backend_migrate_cancel(be_a, VM), -ESRCH);
}

/*
 * 1 when name is a persistent domain of uri, 0 when transient (running, defined
 * nowhere), -1 when uri has no such domain at all (neither running nor defined).
 */
static int
persistence(const char *uri, const char *name)
{
	virConnectPtr conn = virConnectOpen(uri);
	virDomainPtr dom;
	int r;

	assert_non_null(conn);
	dom = virDomainLookupByName(conn, name);
	if (!dom) {
		assert_int_equal(virGetLastErrorCode(), VIR_ERR_NO_DOMAIN);
		virConnectClose(conn);
		return -1;
	}
	r = virDomainIsPersistent(dom);
	assert_true(r == 0 || r == 1);
	virDomainFree(dom);
	virConnectClose(conn);
	return r;
}

static void
test_migrate(void **state)
{
	struct vmp_migrate_params mp = {
		.dest_uri = vmp_lvd_tcp_uri(lvd_b),
		.migrate_uri = "tcp://127.0.0.1",
		.dest_name = VM_DEST,
		.max_downtime_ms = 300,
	};
	struct vmp_scenario sc = scenario_a();
	struct vmp_migrate_progress prog = { 0 };
	struct vmp_vm_info vi;
	struct vmp_guest *dest;
	char serial[700], agent[700];

	/* The destination's /run/vmp holds the migrated guest's serial log and agent. */
	snprintf(serial, sizeof(serial), "%s/vmp/serial.log", vmp_lvd_run_dir(lvd_b));
	snprintf(agent, sizeof(agent), "%s/vmp/agent.sock", vmp_lvd_run_dir(lvd_b));
	vmp_guest_attach(VM_DEST, serial, agent, &dest);
	vmp_scenario_migrate(&sc, &mp, dest, &prog);
	vmp_guest_kill(guest);
	guest = dest;
	printf("MIGRATION libvirt %s -> %s: total %llu ms, downtime %llu ms, %llu bytes\n",
	       vmp_lvd_uri(lvd_a), vmp_lvd_tcp_uri(lvd_b), (unsigned long long)prog.total_time_ms,
	       (unsigned long long)prog.downtime_ms, (unsigned long long)prog.transferred_bytes);
	/* libvirt measures the downtime (completed job statistics of the destination). */
	assert_true(prog.downtime_ms > 0);
	assert_true(prog.downtime_ms < prog.total_time_ms);

	/* Source side: the (transient) domain is gone. Destination: running, same shape. */
	assert_false(find_vm(be_a, VM, &vi));
	assert_true(find_vm(be_b, VM_DEST, &vi));
	assert_int_equal(vi.state, VMP_VM_RUNNING);
	assert_int_equal(vi.vcpus_current, 2);
	assert_int_equal(vi.memory_current_kib, BOOT_MIB * 1024);
	/* A second poll reports the same finished job. */
	assert_int_equal(vmp_backend_migrate_poll(be_a, VM, &prog), 0);
	assert_int_equal(prog.state, VMP_MIGRATE_COMPLETED);
	/* Transient it was, transient it stays: defined nowhere. */
	assert_int_equal(persistence(vmp_lvd_uri(lvd_b), VM_DEST), 0);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_a), VM), -1);
}

/* Migrates vm of b to dest_uri as dest_name and waits (30 s) for the outcome. */
static void
migrate_wait(struct vmp_backend *b, const char *vm, const char *dest_uri, const char *dest_name)
{
	struct vmp_migrate_params mp = {
		.dest_uri = dest_uri, .migrate_uri = "tcp://127.0.0.1", .dest_name = dest_name,
	};
	struct vmp_migrate_progress prog = { 0 };
	int64_t deadline = vmp_guest_now_ms() + 30000;

	if (vmp_backend_migrate_start(b, vm, &mp) < 0)
		fail_msg("migrate_start %s: %s", vm, vmp_backend_error(b));
	do {
		assert_int_equal(vmp_backend_migrate_poll(b, vm, &prog), 0);
		if (prog.state != VMP_MIGRATE_ACTIVE)
			break;
		usleep(100000);
	} while (vmp_guest_now_ms() < deadline);
	if (prog.state != VMP_MIGRATE_COMPLETED)
		fail_msg("migration of %s: state %d: %s", vm, prog.state, vmp_backend_error(b));
	printf("persistent migration %s -> %s as %s: %llu ms\n", vm, dest_uri, dest_name,
	       (unsigned long long)prog.total_time_ms);
}

/*
 * A persistent domain moves its definition with it: after each migration it is
 * defined (and running) on the destination only, never on two daemons, so no
 * autostart or second start can run it twice.
 */
static void
test_migrate_persistent(void **state)
{
	virConnectPtr conn;
	virDomainPtr dom = raw_domain(vmp_lvd_uri(lvd_b), VM_DEST, &conn);
	virDomainPtr def;
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	struct vmp_vm_info vi;

	/* Make the running guest persistent on b (as virsh define would). */
	assert_non_null(xml);
	def = virDomainDefineXML(conn, xml);
	if (!def)
		fail_msg("cannot define %s: %s", VM_DEST, virGetLastErrorMessage());
	free(xml);
	virDomainFree(def);
	virDomainFree(dom);
	virConnectClose(conn);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_b), VM_DEST), 1);

	migrate_wait(be_b, VM_DEST, vmp_lvd_tcp_uri(lvd_a), VM_BACK);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_a), VM_BACK), 1);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_b), VM_DEST), -1);
	assert_true(find_vm(be_a, VM_BACK, &vi));
	assert_int_equal(vi.state, VMP_VM_RUNNING);
	assert_false(find_vm(be_b, VM_DEST, &vi));

	migrate_wait(be_a, VM_BACK, vmp_lvd_tcp_uri(lvd_b), VM_DEST);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_b), VM_DEST), 1);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_a), VM_BACK), -1);
	assert_true(find_vm(be_b, VM_DEST, &vi));
	assert_int_equal(vi.state, VMP_VM_RUNNING);

	/* Transient again for the tests after this one (a killed QEMU leaves nothing). */
	dom = raw_domain(vmp_lvd_uri(lvd_b), VM_DEST, &conn);
	assert_int_equal(virDomainUndefine(dom), 0);
	virDomainFree(dom);
	virConnectClose(conn);
	assert_int_equal(persistence(vmp_lvd_uri(lvd_b), VM_DEST), 0);
}

static void
test_reconnect_after_restart(void **state)
{
	struct vmp_vm_info vi;
	struct vmp_vm_stats st;

	assert_true(find_vm(be_b, VM_DEST, &vi));
	assert_int_equal(vmp_lvd_restart(lvd_b), 0);
	/* The backend's connection died with the daemon: the next call reconnects. */
	assert_true(find_vm(be_b, VM_DEST, &vi));
	assert_int_equal(vi.state, VMP_VM_RUNNING);
	assert_int_equal(vmp_backend_vm_stats(be_b, VM_DEST, &st), 0);
	assert_true(st.valid & VMP_STAT_CPU_TIME);
}

static void
test_unplug_request(void **state)
{
	struct vmp_vm_info vi;
	int64_t t0 = vmp_guest_now_ms(), elapsed;
	char msg[1024];
	int r;

	/* QEMU 7.2 under TCG cannot finish a vCPU unplug (and a later hot-add would crash
	 * it), so this is the last vCPU change: the request must come back in bounded
	 * time with an outcome that matches what libvirt then lists. */
	r = vmp_backend_set_vcpus(be_b, VM_DEST, 1);
	elapsed = vmp_guest_now_ms() - t0;
	snprintf(msg, sizeof(msg), "%s", vmp_backend_error(be_b));
	printf("vcpu hot-unplug 2 -> 1: %d after %lld ms: %s\n", r, (long long)elapsed,
	       r < 0 ? msg : "done");
	assert_true(elapsed < 20000 + 2000);
	assert_true(find_vm(be_b, VM_DEST, &vi));
	if (r == 0) {
		assert_int_equal(vi.vcpus_current, 1);
	} else {
		assert_true(r == -ETIMEDOUT || r == -EINPROGRESS);
		assert_non_null(strstr(msg, "unplug"));
		assert_non_null(strstr(msg, VM_DEST));
		assert_true(vi.vcpus_current >= 1 && vi.vcpus_current <= 2);
	}
}

static void
test_qemu_killed(void **state)
{
	char path[700], buf[32] = "";
	struct vmp_vm_stats st;
	struct vmp_vm_info vi;
	int64_t deadline;
	FILE *f;
	long pid;
	int r;

	/* QEMU killed under libvirt: an error naming the VM, never a crash or a hang. */
	snprintf(path, sizeof(path), "%s/libvirt/qemu/%s.pid", vmp_lvd_run_dir(lvd_b), VM_DEST);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	pid = strtol(buf, NULL, 10);
	assert_true(pid > 1);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	deadline = vmp_guest_now_ms() + 15000;
	do {
		r = vmp_backend_vm_stats(be_b, VM_DEST, &st);
		if (r < 0)
			break;
		usleep(100000);
	} while (vmp_guest_now_ms() < deadline);
	printf("after killing QEMU %ld: %s\n", pid, vmp_backend_error(be_b));
	assert_true(r == -ENOENT || r == -EBUSY);
	assert_non_null(strstr(vmp_backend_error(be_b), VM_DEST));
	assert_true(vmp_backend_set_balloon(be_b, VM_DEST, 262144) < 0);
	assert_non_null(strstr(vmp_backend_error(be_b), VM_DEST));
	assert_false(find_vm(be_b, VM_DEST, &vi));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario_list_stats),
		cmocka_unit_test(test_list_and_stats),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_scenario_balloon),
		cmocka_unit_test(test_balloon_down_and_status),
		cmocka_unit_test(test_balloon_up),
		cmocka_unit_test(test_scenario_hotadd),
		cmocka_unit_test(test_status_after_hotadd),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_dirty_rate),
		cmocka_unit_test(test_migrate_cancel),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_migrate_persistent),
		cmocka_unit_test(test_reconnect_after_restart),
		cmocka_unit_test(test_unplug_request),
		cmocka_unit_test(test_qemu_killed),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(VM, sizeof(VM), "vmp-it-%d", (int)getpid());
	snprintf(VM_DEST, sizeof(VM_DEST), "vmp-it-%d-b", (int)getpid());
	snprintf(VM_BACK, sizeof(VM_BACK), "vmp-it-%d-c", (int)getpid());
	vmp_lvd_require();
	vmp_guest_require();
	return cmocka_run_group_tests_name("libvirt-real", tests, setup, teardown);
}
