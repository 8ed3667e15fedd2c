/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot diagnose` names I/O throttling on a real TCG guest under a private libvirtd
 * (lvharness): the guest of tests/guest with a 64 MiB raw disk limited by <iotune> to
 * 512 KiB/s of writes, and the guest's `write` job rewriting it as fast as it can. The
 * daemon, its QEMU and the disk file go in the teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cli/cli.h"
#include "cmdrun.h"
#include "guest.h"
#include "lvharness.h"

#define LIMIT_BYTES_S 524288

static char base_dir[] = "/tmp/vmp-test-diagio-XXXXXX";
static char vm[32];
static struct vmp_lvd *lvd;
static struct vmp_guest *guest;

static void
test_io_throttling(void **state)
{
	char *argv[] = { "diagnose", "-c", (char *)vmp_lvd_uri(lvd), "--json", "-i", "3s", vm, NULL };
	char *out = NULL;
	json_error_t jerr;
	json_t *j, *v;
	double bytes_s, latency;
	int rc;

	(void)state;
	assert_int_equal(vmp_guest_cmd(guest, "write 32", NULL, 5000), 0);
	sleep(2);
	rc = vmp_test_run_cmd(&vmp_cmd_diagnose, 7, argv, &out);
	vmp_guest_cmd(guest, "stop", NULL, 5000);
	printf("diagnose: %s", out);
	assert_int_equal(rc, VMP_EXIT_FINDING);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	v = json_array_get(json_object_get(j, "vms"), 0);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "bottleneck")), "io-throttling");
	/*
	 * independently: the write rate is held under the limit (a writer with one request
	 * in flight gets 60-100 % of it from QEMU's throttling), and each 64 KiB request
	 * waits about what the limit implies (125 ms) rather than the disk's own time
	 */
	bytes_s = json_number_value(json_object_get(json_object_get(v, "rates"), "bytes_s"));
	latency = json_number_value(json_object_get(json_object_get(v, "rates"), "io_latency_ms"));
	printf("bytes/s %.0f against a limit of %d, %.0f ms per request\n", bytes_s, LIMIT_BYTES_S, latency);
	assert_true(bytes_s > 0.5 * LIMIT_BYTES_S && bytes_s < 1.1 * LIMIT_BYTES_S);
	assert_true(latency > 60);
	json_decref(j);
	free(out);
}

static int
setup(void **state)
{
	char dir[600], serial[700], agent[700], disk[700], *img = NULL, *xml, *full, *at;
	virConnectPtr conn;
	virDomainPtr dom;
	int fd;

	(void)state;
	if (!mkdtemp(base_dir))
		return -1;
	snprintf(vm, sizeof(vm), "diagio%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/d", base_dir);
	if (vmp_lvd_start(dir, "vmp-host-io", 150, &lvd) < 0 || vmp_guest_image(&img) < 0)
		return -1;
	snprintf(disk, sizeof(disk), "%s/disk.img", base_dir);
	fd = open(disk, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20) < 0)
		return -1;
	close(fd);
	xml = vmp_lvd_guest_xml(vm, 512, img);
	free(img);
	at = strstr(xml, "</devices>");
	if (!at)
		return -1;
	if (asprintf(&full, "%.*s<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
		     "<source file='%s'/><target dev='vda' bus='virtio'/><iotune><write_bytes_sec>%d"
		     "</write_bytes_sec></iotune></disk>%s", (int)(at - xml), xml, disk, LIMIT_BYTES_S, at) < 0)
		abort();
	free(xml);
	conn = virConnectOpen(vmp_lvd_uri(lvd));
	if (!conn)
		return -1;
	dom = virDomainCreateXML(conn, full, 0);
	free(full);
	if (!dom) {
		fprintf(stderr, "cannot create the guest: %s\n", virGetLastErrorMessage());
		virConnectClose(conn);
		return -1;
	}
	virDomainFree(dom);
	virConnectClose(conn);
	snprintf(serial, sizeof(serial), "%s/vmp/serial.log", vmp_lvd_run_dir(lvd));
	snprintf(agent, sizeof(agent), "%s/vmp/agent.sock", vmp_lvd_run_dir(lvd));
	vmp_guest_attach(vm, serial, agent, &guest);
	return vmp_guest_wait_boot(guest, 90000);
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	vmp_guest_kill(guest);
	vmp_lvd_stop(lvd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "diagnose-io: cannot remove %s\n", base_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_throttling),
	};

	vmp_lvd_require();
	return cmocka_run_group_tests_name("diagnose-io", tests, setup, teardown);
}
