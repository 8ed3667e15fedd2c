/* SPDX-License-Identifier: MIT */
/*
 * The autopilot loop through the libvirt backend: a private libvirtd (lvharness) runs
 * the test guest as a type='qemu' domain, `vmpilot run -c qemu+unix:///system?socket=...`
 * drives it, and the guest itself must report the result: an idle guest given back
 * memory down to its floor, and, busy with 2 threads on 1 vCPU, a second vCPU it
 * onlines. The journal shows both decisions with their reasons. The daemon and every
 * QEMU it started are killed by PID (lvharness); vmpilot is stopped with SIGTERM.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define VM "lvpilot"
#define MIB 1024ull

static char base_dir[] = "/tmp/vmp-lvpilot-XXXXXX";
static struct vmp_lvd *lvd;
static struct vmp_guest *guest;
static pid_t pilot = -1;

static int
pilot_stop(void)
{
	return vmp_test_child_stop(&pilot, 15000);
}

static int
setup(void **state)
{
	char dir[600], *xml = NULL, serial[700], agent[700], *img = NULL;
	virConnectPtr conn;
	virDomainPtr dom;

	if (!mkdtemp(base_dir))
		return -1;
	snprintf(dir, sizeof(dir), "%s/lvd", base_dir);
	if (vmp_lvd_start(dir, "vmp-pilot-host", 200, &lvd) < 0)
		return -1;
	if (vmp_guest_image(&img) < 0)
		return -1;
	xml = vmp_lvd_guest_xml(VM, 512, img);
	free(img);
	conn = virConnectOpen(vmp_lvd_uri(lvd));
	if (!conn) {
		free(xml);
		return -1;
	}
	dom = virDomainCreateXML(conn, xml, 0);
	free(xml);
	if (!dom) {
		fprintf(stderr, "cannot create the guest: %s\n", virGetLastErrorMessage());
		virConnectClose(conn);
		return -1;
	}
	virDomainFree(dom);
	virConnectClose(conn);
	snprintf(serial, sizeof(serial), "%s/vmp/serial.log", vmp_lvd_run_dir(lvd));
	snprintf(agent, sizeof(agent), "%s/vmp/agent.sock", vmp_lvd_run_dir(lvd));
	vmp_guest_attach(VM, serial, agent, &guest);
	return vmp_guest_wait_boot(guest, 90000) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	pilot_stop();
	vmp_guest_kill(guest);
	vmp_lvd_stop(lvd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base_dir);
	return 0;
}

static bool
shrunk_and_two_cpus(const struct vmp_guest_stats *s, void *arg)
{
	return s->memtotal_kib <= *(uint64_t *)arg && s->cpus_online >= 2;
}

static json_t *
find_acted(const char *journal, const char *resource, const char *action)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *found = NULL;
	FILE *in = fopen(journal, "r");

	assert_non_null(in);
	while (!found && getline(&line, &cap, in) > 0) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		const char *r = json_string_value(json_object_get(o, "resource"));
		const char *a = json_string_value(json_object_get(o, "action"));

		if (r && a && !strcmp(r, resource) && !strcmp(a, action) &&
		    json_is_true(json_object_get(o, "acted")))
			found = json_incref(o);
		json_decref(o);
	}
	free(line);
	fclose(in);
	return found;
}

static void
test_loop_through_libvirt(void **state)
{
	struct vmp_guest_stats boot, gs;
	char conf[700], journal[700], log[700];
	uint64_t want;
	json_t *e;
	FILE *out;

	assert_int_equal(vmp_guest_stats(guest, &boot, 10000), 0);
	assert_int_equal(boot.cpus_online, 1);
	snprintf(conf, sizeof(conf), "%s/vmpilot.conf", base_dir);
	snprintf(journal, sizeof(journal), "%s/journal.jsonl", base_dir);
	snprintf(log, sizeof(log), "%s/vmpilot.log", base_dir);
	out = fopen(conf, "w");
	assert_non_null(out);
	fprintf(out, "status_file = %s/status.json\n", base_dir);
	/*
	 * Quick, and the floor is mem_min: no margin or fixed amount above the recent peak
	 * (a balloon slow enough to count as stalled on a busy host gives a transitional
	 * sample of 230 MiB, which with the default 20 % margin kept the floor above 256 MiB).
	 */
	fputs("mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\nmem_bounds_widen_pct = 0\n"
	      "mem_cooldown_ms = 0\nmem_dead_band_pct = 2\nmem_floor_add_kib = 0\nmem_floor_margin_pct = 0\n"
	      "cpu_saturated_pct = 70\ncpu_steal_max_pct = 100\n"
	      "[vm " VM "]\nmem_min_kib = 262144\n", out);
	fclose(out);
	assert_int_equal(vmp_guest_cmd(guest, "cpu 2", NULL, 10000), 0);
	{
		const char *const argv[] = { getenv("VMP_VMPILOT"), "run", "-v", "-f", conf, "-J",
					     journal, "-c", vmp_lvd_uri(lvd), NULL };

		pilot = vmp_test_child_start(log, argv);
	}
	assert_true(pilot >= 0);
	want = boot.memtotal_kib - 256 * MIB + 8 * MIB;
	if (vmp_guest_wait_until(guest, shrunk_and_two_cpus, &want, 60000, &gs) < 0) {
		char cmd[1600];

		snprintf(cmd, sizeof(cmd), "grep memory_kib '%s' | tail -3; cat '%s'", journal, log);
		if (system(cmd) != 0)
			fprintf(stderr, "no journal\n");
		fail_msg("guest MemTotal %llu KiB (want <= %llu), %u CPUs online",
			 (unsigned long long)gs.memtotal_kib, (unsigned long long)want,
			 gs.cpus_online);
	}
	printf("through libvirt: guest MemTotal %llu -> %llu KiB, CPUs online 1 -> %u\n",
	       (unsigned long long)boot.memtotal_kib, (unsigned long long)gs.memtotal_kib,
	       gs.cpus_online);
	assert_true(gs.memtotal_kib + 8 * MIB >= boot.memtotal_kib - 256 * MIB);  /* the floor */
	assert_int_equal(vmp_guest_cmd(guest, "stop", NULL, 10000), 0);
	assert_int_equal(pilot_stop(), 0);
	e = find_acted(journal, "memory_kib", "shrink");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "target");
	json_decref(e);
	e = find_acted(journal, "vcpus", "grow");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "saturated");
	json_decref(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_through_libvirt),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_guest_require();
	vmp_lvd_require();
	return cmocka_run_group_tests_name("autopilot-libvirt", tests, setup, teardown);
}
