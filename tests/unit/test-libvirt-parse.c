/* SPDX-License-Identifier: MIT */
/* Tests of the libvirt reply parsers: domain XML and statistics typed parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/libvirt-parse.h"

static void
test_domain_xml(void **state)
{
	const char *xml =
		"<domain type='qemu'><name>web1</name>"
		"<memory unit='MiB'>1024</memory><currentMemory unit='KiB'>786432</currentMemory>"
		"<vcpu placement='static' current='2'>8</vcpu>"
		"<devices><memballoon model='virtio'><stats period='5'/></memballoon></devices>"
		"</domain>";
	struct vmp_vm_info vi;

	memset(&vi, 0, sizeof(vi));
	assert_int_equal(vmp_libvirt_parse_domain_xml(xml, &vi), 0);
	assert_int_equal(vi.vcpus_current, 2);
	assert_int_equal(vi.vcpus_max, 8);
	assert_int_equal(vi.memory_max_kib, 1048576);
	assert_int_equal(vi.memory_current_kib, 786432);
	assert_true(vi.has_balloon);
	assert_int_equal(vi.stats_period_s, 5);
}

static void
test_domain_xml_defaults(void **state)
{
	/* No current= (all vCPUs), no currentMemory (= memory), balloon none. */
	const char *xml = "<domain><memory>4096</memory><vcpu>1</vcpu>"
			  "<devices><memballoon model='none'/></devices></domain>";
	struct vmp_vm_info vi;

	memset(&vi, 0, sizeof(vi));
	assert_int_equal(vmp_libvirt_parse_domain_xml(xml, &vi), 0);
	assert_int_equal(vi.vcpus_current, 1);
	assert_int_equal(vi.memory_current_kib, 4096);
	assert_false(vi.has_balloon);
	assert_int_equal(vi.stats_period_s, 0);
	assert_string_equal(vi.mode, "");
}

/* The automation mode in the domain's metadata: only vmpilot's namespace counts. */
static void
test_domain_xml_mode(void **state)
{
	const char *xml = "<domain><memory>4096</memory><vcpu>1</vcpu><metadata>"
			  "<other:mode xmlns:other='http://example.org/x'>act</other:mode>"
			  "<vmpilot:mode xmlns:vmpilot='" VMP_LIBVIRT_METADATA_NS "'> act </vmpilot:mode>"
			  "</metadata></domain>";
	const char *other = "<domain><memory>4096</memory><vcpu>1</vcpu><metadata>"
			    "<mode xmlns='http://example.org/x'>act</mode></metadata></domain>";
	const char *junk = "<domain><memory>4096</memory><vcpu>1</vcpu><metadata>"
			   "<v:mode xmlns:v='" VMP_LIBVIRT_METADATA_NS "'>act-now-please-now</v:mode>"
			   "</metadata></domain>";
	struct vmp_vm_info vi;

	memset(&vi, 0, sizeof(vi));
	assert_int_equal(vmp_libvirt_parse_domain_xml(xml, &vi), 0);
	assert_string_equal(vi.mode, "act");
	assert_int_equal(vmp_libvirt_parse_domain_xml(other, &vi), 0);
	assert_string_equal(vi.mode, "");
	/* Cut to fit: it names no mode, and the loop takes it as off. */
	assert_int_equal(vmp_libvirt_parse_domain_xml(junk, &vi), 0);
	assert_string_equal(vi.mode, "act-now-please-");
}

/* Which disks a migration must copy: writable local media only. */
static void
test_disks(void **state)
{
	const char *xml =
		"<domain><devices>"
		"<disk type='file' device='disk'><source file='/var/lib/img/a.qcow2'/>"
		"<target dev='vda'/></disk>"
		"<disk type='network' device='disk'><source protocol='rbd' name='pool/b'/>"
		"<target dev='vdb'/></disk>"
		"<disk type='file' device='cdrom'><source file='/iso/c.iso'/><target dev='sda'/></disk>"
		"<disk type='block' device='disk'><source dev='/dev/mapper/d'/><shareable/>"
		"<target dev='vdc'/></disk>"
		"<disk type='file' device='disk'><source file='/img/e.raw'/><readonly/>"
		"<target dev='vdd'/></disk>"
		"<disk type='file' device='cdrom'><target dev='sdb'/></disk>"
		"</devices></domain>";
	struct vmp_libvirt_disk *d = NULL;
	size_t n = 0;

	assert_int_equal(vmp_libvirt_parse_disks(xml, &d, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(d[0].target, "vda");
	assert_string_equal(d[0].source, "/var/lib/img/a.qcow2");
	assert_true(vmp_libvirt_disk_needs_copy(&d[0]));
	assert_true(d[1].network);
	assert_string_equal(d[1].source, "pool/b");
	assert_false(vmp_libvirt_disk_needs_copy(&d[1]));
	assert_true(d[2].readonly);
	assert_false(vmp_libvirt_disk_needs_copy(&d[2]));
	assert_true(d[3].shareable);
	assert_false(vmp_libvirt_disk_needs_copy(&d[3]));
	assert_false(vmp_libvirt_disk_needs_copy(&d[4]));
	assert_string_equal(d[5].source, "");
	assert_false(vmp_libvirt_disk_needs_copy(&d[5]));
	free(d);
	/* No disk at all (the test guest boots its kernel directly). */
	assert_int_equal(vmp_libvirt_parse_disks("<domain><devices/></domain>", &d, &n), 0);
	assert_int_equal(n, 0);
	free(d);
	assert_int_equal(vmp_libvirt_parse_disks("<domain><devices>", &d, &n), -EPROTO);
}

/*
 * The migration flags: a persistent domain moves its definition (persistent at the
 * destination, undefined at the source); a transient one stays transient.
 */
static void
test_migrate_flags(void **state)
{
	struct vmp_migrate_params mp = { .dest_uri = "qemu+tcp://b/system" };
	unsigned long f;

	f = vmp_libvirt_migrate_flags(true, false, &mp);
	assert_int_equal(f, VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST |
			    VIR_MIGRATE_UNDEFINE_SOURCE);
	f = vmp_libvirt_migrate_flags(false, false, &mp);
	assert_int_equal(f, VIR_MIGRATE_LIVE);
	mp.auto_converge = mp.postcopy = true;
	f = vmp_libvirt_migrate_flags(false, true, &mp);
	assert_int_equal(f, VIR_MIGRATE_LIVE | VIR_MIGRATE_NON_SHARED_DISK |
			    VIR_MIGRATE_AUTO_CONVERGE | VIR_MIGRATE_POSTCOPY);
	/* migration_tls = yes: libvirt encrypts with its migrate_tls_x509 certificates. */
	mp.auto_converge = mp.postcopy = false;
	mp.tls = true;
	f = vmp_libvirt_migrate_flags(false, false, &mp);
	assert_int_equal(f, VIR_MIGRATE_LIVE | VIR_MIGRATE_TLS);
}

static void
test_domain_xml_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"not xml",
		"<domain><memory>1</memory>",                                /* truncated */
		"<domain><memory>1024</memory></domain>",                    /* no vcpu */
		"<domain><vcpu>2</vcpu></domain>",                           /* no memory */
		"<domain><vcpu>0</vcpu><memory>1</memory></domain>",
		"<domain><vcpu>100000</vcpu><memory>1</memory></domain>",
		"<domain><vcpu>-1</vcpu><memory>1</memory></domain>",
		"<domain><vcpu current='3'>2</vcpu><memory>1</memory></domain>",
		"<domain><vcpu>2</vcpu><memory unit='TiB'>1</memory></domain>",
		"<domain><vcpu>2</vcpu><memory>12x</memory></domain>",
		"<domain><vcpu>2</vcpu><memory unit='GiB'>99999999999999999</memory></domain>",
		"<domain><vcpu>2</vcpu><memory>1</memory><devices><memballoon model='virtio'>"
		"<stats period='-5'/></memballoon></devices></domain>",
		NULL,
	};
	struct vmp_vm_info vi;
	size_t i;

	for (i = 0; bad[i]; i++) {
		if (vmp_libvirt_parse_domain_xml(bad[i], &vi) != -EPROTO)
			fail_msg("accepted malformed domain XML: %s", bad[i]);
	}
}

static void
test_stats(void **state)
{
	virTypedParameterPtr params = NULL;
	struct vmp_vm_stats st;
	int n = 0, max = 0;

	virTypedParamsAddULLong(&params, &n, &max, "cpu.time", 5000000000ull);
	virTypedParamsAddULLong(&params, &n, &max, "balloon.current", 393216);
	virTypedParamsAddULLong(&params, &n, &max, "balloon.available", 336564);
	virTypedParamsAddULLong(&params, &n, &max, "balloon.usable", 300000);
	virTypedParamsAddULLong(&params, &n, &max, "balloon.swap_in", 8);
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.0.time", 100);
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.1.time", 200);
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.0.delay", 7);
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.1.delay", 3);
	virTypedParamsAddULLong(&params, &n, &max, "block.0.rd.bytes", 1000);
	virTypedParamsAddULLong(&params, &n, &max, "block.1.rd.bytes", 24);
	virTypedParamsAddULLong(&params, &n, &max, "net.0.tx.bytes", 99);
	/* Ignored: negative, strings, malformed indexes, out-of-range vCPU. */
	virTypedParamsAddLLong(&params, &n, &max, "balloon.unused", -1);
	virTypedParamsAddString(&params, &n, &max, "balloon.major_fault", "12");
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.x.time", 1);
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.99999.time", 1);
	virTypedParamsAddULLong(&params, &n, &max, "vcpu.2.time.extra", 1);

	memset(&st, 0, sizeof(st));
	vmp_libvirt_parse_stats(params, n, &st);
	assert_int_equal(st.cpu_time_ns, 5000000000ull);
	assert_int_equal(st.balloon_actual_kib, 393216);
	assert_int_equal(st.mem_available_kib, 336564);
	assert_int_equal(st.mem_usable_kib, 300000);
	assert_int_equal(st.swap_in_kib, 8);
	assert_int_equal(st.nvcpus, 2);
	assert_int_equal(st.vcpu_time_ns[1], 200);
	assert_int_equal(st.vcpu_delay_ns, 10);
	assert_int_equal(st.block_rd_bytes, 1024);
	assert_int_equal(st.net_tx_bytes, 99);
	assert_true(st.valid & VMP_STAT_SWAP);
	assert_false(st.valid & VMP_STAT_MEM_UNUSED);
	assert_false(st.valid & VMP_STAT_FAULTS);
	assert_false(st.valid & VMP_STAT_VCPU_WAIT);
	virTypedParamsFree(params, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_xml),
		cmocka_unit_test(test_domain_xml_defaults),
		cmocka_unit_test(test_domain_xml_mode),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_migrate_flags),
		cmocka_unit_test(test_domain_xml_malformed),
		cmocka_unit_test(test_stats),
	};

	virInitialize(); /* libvirt's typed-parameter helpers need its error state */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
