/* SPDX-License-Identifier: MIT */
/* Tests of the /proc and /sys text parsers (src/host/parse.h) and the kvm.ioctl format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm.h"
#include "host/parse.h"
#include "util/cpulist.h"

static void
test_words_and_flags(void **state)
{
	char *flags = NULL;

	assert_true(vmp_parse_has_word("fpu vmx\tept\n", "vmx"));
	assert_true(vmp_parse_has_word("fpu vmx\tept\n", "ept"));
	assert_false(vmp_parse_has_word("fpu vmxx ept", "vmx"));
	assert_false(vmp_parse_has_word("", "vmx"));
	assert_int_equal(vmp_parse_cpuinfo_flags("processor\t: 0\nflags\t\t: fpu svm npt\n\nflags : x\n",
						 &flags), 0);
	assert_string_equal(flags, "fpu svm npt");
	free(flags);
	assert_int_equal(vmp_parse_cpuinfo_flags("processor : 0\nflagsy : vmx\n", &flags), -ENOENT);
	assert_int_equal(vmp_parse_cpuinfo_flags("", &flags), -ENOENT);
	assert_int_equal(vmp_parse_cpuinfo_flags("Features\t: fp asimd\n", &flags), -ENOENT);
}

static void
test_choice(void **state)
{
	char *sel = NULL;

	assert_int_equal(vmp_parse_choice("always [madvise] never\n", &sel), 0);
	assert_string_equal(sel, "madvise");
	free(sel);
	assert_int_equal(vmp_parse_choice("[none] mq-deadline kyber bfq", &sel), 0);
	assert_string_equal(sel, "none");
	free(sel);
	assert_int_equal(vmp_parse_choice("always defer defer+madvise [madvise] never", &sel), 0);
	assert_string_equal(sel, "madvise");
	free(sel);
	assert_int_equal(vmp_parse_choice("always madvise never", &sel), -EINVAL);
	assert_int_equal(vmp_parse_choice("[a] [b]", &sel), -EINVAL);
	assert_int_equal(vmp_parse_choice("[] x", &sel), -EINVAL);
	assert_int_equal(vmp_parse_choice("[a x", &sel), -EINVAL);
	assert_int_equal(vmp_parse_choice("", &sel), -EINVAL);
	assert_int_equal(vmp_parse_choice("[a]b", &sel), -EINVAL);
}

static void
test_kv_and_bool(void **state)
{
	const char *meminfo = "Node 1 MemTotal:       131900000 kB\nNode 1 MemFree: 5 kB\n";
	const char *ioctl = "# comment\nopen_errno 0\napi_version 12\nempty\n";
	char *v = NULL;
	uint64_t u = 0;
	bool b = false;

	assert_int_equal(vmp_parse_kv_u64(meminfo, "MemTotal", &u), 0);
	assert_int_equal(u, 131900000);
	assert_int_equal(vmp_parse_kv(ioctl, "api_version", &v), 0);
	assert_string_equal(v, "12");
	free(v);
	assert_int_equal(vmp_parse_kv(ioctl, "empty", &v), -EINVAL);
	assert_int_equal(vmp_parse_kv(ioctl, "comment", &v), -ENOENT);
	assert_int_equal(vmp_parse_kv_u64("MemTotal: lots kB\n", "MemTotal", &u), -EINVAL);
	assert_int_equal(vmp_parse_bool("Y\n", &b), 0);
	assert_true(b);
	assert_int_equal(vmp_parse_bool(" 0 ", &b), 0);
	assert_false(b);
	assert_int_equal(vmp_parse_bool("yes", &b), -EINVAL);
	assert_int_equal(vmp_parse_bool("", &b), -EINVAL);
}

static void
test_cpulist(void **state)
{
	unsigned n = 99;

	assert_int_equal(vmp_cpulist_count("0-3,8,10-11\n", &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(vmp_cpulist_count("0", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vmp_cpulist_count("\n", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vmp_cpulist_count("3-1", &n), -EINVAL);
	assert_int_equal(vmp_cpulist_count("0-", &n), -EINVAL);
	assert_int_equal(vmp_cpulist_count("a", &n), -EINVAL);
	assert_int_equal(vmp_cpulist_count("0 1", &n), -EINVAL);
	assert_int_equal(vmp_cpulist_count("0-99999999", &n), -EINVAL);
}

static void
test_mounts_and_cgroups(void **state)
{
	const char *mounts = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
			     "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
	struct vmp_mount *m = NULL;
	struct vmp_cgroup_subsys *cg = NULL;
	size_t n = 0, bad = 0;

	assert_int_equal(vmp_parse_mounts(mounts, &m, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[1].type, "cgroup2");
	assert_true(vmp_mount_has_option(&m[0], "cpuacct"));
	assert_true(vmp_mount_has_option(&m[0], "cpu"));
	assert_false(vmp_mount_has_option(&m[0], "cpuset"));
	vmp_mounts_free(m, n);
	assert_int_equal(vmp_parse_mounts("a b c d\nbroken line\n", &m, &n, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(vmp_parse_proc_cgroups("#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
						"cpuset\t3\t1\t1\nmemory\t0\t14\t0\n", &cg, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_string_equal(cg[1].name, "memory");
	assert_false(cg[1].enabled);
	assert_int_equal(cg[0].hierarchy, 3);
	free(cg);
	assert_int_equal(vmp_parse_proc_cgroups("cpuset 3 1 1\n", &cg, &n, &bad), -EINVAL);
	assert_int_equal(vmp_parse_proc_cgroups("#subsys_name\ncpu 1 1 7\n", &cg, &n, &bad), -EINVAL);
	assert_int_equal(bad, 2);
}

static void
test_psi_and_swaps(void **state)
{
	struct vmp_psi_line psi;
	unsigned count = 9;
	uint64_t kib = 9;
	size_t bad = 0;

	assert_int_equal(vmp_parse_psi("some avg10=3.99 avg60=2.26 avg300=1.32 total=14532005\n"
				       "full avg10=0.50 avg60=0.00 avg300=0.00 total=7\n", "full", &psi), 0);
	assert_true(psi.avg10_pct > 0.49 && psi.avg10_pct < 0.51);
	assert_int_equal(psi.total_us, 7);
	assert_int_equal(vmp_parse_psi("full avg10=1 avg60=1 avg300=1 total=1\n", "some", &psi), -ENOENT);
	assert_int_equal(vmp_parse_psi("some avg10=x avg60=1 avg300=1 total=1\n", "some", &psi), -EINVAL);
	assert_int_equal(vmp_parse_psi("some avg10=101 avg60=1 avg300=1 total=1\n", "some", &psi), -EINVAL);
	assert_int_equal(vmp_parse_swaps("Filename\tType\tSize\tUsed\tPriority\n", &count, &kib, &bad), 0);
	assert_int_equal(count, 0);
	assert_int_equal(vmp_parse_swaps("Filename Type Size Used Priority\n/a file 100 0 -2\n"
					 "/b partition 28 0 5\n", &count, &kib, &bad), 0);
	assert_int_equal(count, 2);
	assert_int_equal(kib, 128);
	assert_int_equal(vmp_parse_swaps("/a file 100 0 -2\n", &count, &kib, &bad), -EINVAL);
	assert_int_equal(vmp_parse_swaps("Filename\n/a file x 0 -2\n", &count, &kib, &bad), -EINVAL);
	assert_int_equal(bad, 2);
}

/* The recorded format round-trips through vmp_kvm_facts_format and _parse. */
static void
test_kvm_facts_roundtrip(void **state)
{
	struct vmp_kvm_facts f, g;
	char buf[2048] = "";
	FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
	int i;

	assert_non_null(out);
	assert_int_equal(vmp_kvm_facts_parse("open_errno 0\napi_version 12\ncap.max_vcpus 288\n"
					     "cap.irqfd 1\ncpuid.steal_time 1\n", &f), 0);
	assert_true(f.present && f.recorded);
	assert_int_equal(f.caps[VMP_KVM_CAP_MAX_VCPUS], 288);
	assert_int_equal(f.caps[VMP_KVM_CAP_IOEVENTFD], -1); /* absent: unknown */
	vmp_kvm_facts_format(&f, out);
	fclose(out);
	assert_int_equal(vmp_kvm_facts_parse(buf, &g), 0);
	assert_int_equal(g.api_version, 12);
	for (i = 0; i < VMP_KVM_CAP_MAX; i++)
		assert_int_equal(g.caps[i], f.caps[i]);
	assert_int_equal(g.cpuid_steal_time, 1);
	/* Refused: no open_errno, an opened device without api_version, garbage values. */
	assert_int_equal(vmp_kvm_facts_parse("api_version 12\n", &f), -EINVAL);
	assert_int_equal(vmp_kvm_facts_parse("open_errno 0\n", &f), -EINVAL);
	assert_int_equal(vmp_kvm_facts_parse("open_errno 0\napi_version twelve\n", &f), -EINVAL);
	assert_int_equal(vmp_kvm_facts_parse("open_errno 13\nhello\n", &f), -EINVAL);
	assert_int_equal(vmp_kvm_facts_parse("open_errno 13\n", &f), 0);
	assert_int_equal(f.open_errno, 13);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_and_flags),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_kv_and_bool),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_mounts_and_cgroups),
		cmocka_unit_test(test_psi_and_swaps),
		cmocka_unit_test(test_kvm_facts_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
