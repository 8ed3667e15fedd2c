/* SPDX-License-Identifier: MIT */
/*
 * Tests of `vmpilot check` on the fixture hosts of tests/data/hosts/: the expected
 * status of every check on every fixture, golden --json outputs (VMP_REGEN_GOLDEN=1
 * rewrites them), a fix on every WARN/FAIL, and bad input: every file a check reads,
 * made empty or garbage in a scratch copy of the fixture, must turn that check into
 * UNKNOWN naming the file (never a crash, never a wrong PASS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/check.h"
#include "util/fileio.h"
#include "util/util.h"

#define P VMP_CHECK_PASS
#define I VMP_CHECK_INFO
#define S VMP_CHECK_SKIP
#define W VMP_CHECK_WARN
#define F VMP_CHECK_FAIL

struct expect {
	const char *id;
	enum vmp_check_status status;
};

struct fixture {
	const char *name;
	struct expect expect[40]; /* every check of the table, terminated by { NULL } */
};

/*
 * What each fixture host must give, check by check (written by hand from what each
 * fixture holds, not copied from an output; the goldens pin the findings' wording).
 */
static const struct fixture fixtures[] = {
	{ "pvm-nested-v1", {
		{ "cpu.virt", F }, { "kvm.dev", P }, { "kvm.module", W }, { "kvm.caps", P },
		{ "kvm.paging", W }, { "kvm.vpid", S }, { "kvm.apicv", S }, { "kvm.nested", I },
		{ "kvm.halt_poll", P }, { "secure.guests", S }, { "iommu", W }, { "hugepages", I },
		{ "thp", P }, { "ksm", I }, { "cpufreq", S }, { "cpuidle", I }, { "numa", I },
		{ "numa.balancing", S }, { "swap", I }, { "vm.dirty", P }, { "block.scheduler", P },
		{ "cgroups", P }, { "vhost.net", W }, { "vhost.vsock", I }, { "tun", P }, { "psi", P },
		{ "cpu.mitigations", I }, { "knob.owners", P }, { NULL, 0 } } },
	{ "intel-ept-1g", {
		{ "cpu.virt", P }, { "kvm.dev", P }, { "kvm.module", P }, { "kvm.caps", P },
		{ "kvm.paging", P }, { "kvm.vpid", P }, { "kvm.apicv", P }, { "kvm.nested", I },
		{ "kvm.halt_poll", P }, { "secure.guests", S }, { "iommu", P }, { "hugepages", P },
		{ "thp", P }, { "ksm", P }, { "cpufreq", P }, { "cpuidle", I }, { "numa", I },
		{ "numa.balancing", S }, { "swap", P }, { "vm.dirty", P }, { "block.scheduler", P },
		{ "cgroups", P }, { "vhost.net", P }, { "vhost.vsock", P }, { "tun", P }, { "psi", P },
		{ "cpu.mitigations", I }, { "knob.owners", P }, { NULL, 0 } } },
	{ "amd-npt-2numa", {
		{ "cpu.virt", P }, { "kvm.dev", P }, { "kvm.module", P }, { "kvm.caps", P },
		{ "kvm.paging", P }, { "kvm.vpid", P }, { "kvm.apicv", W }, { "kvm.nested", I },
		{ "kvm.halt_poll", I }, { "secure.guests", P }, { "iommu", W }, { "hugepages", P },
		{ "thp", W }, { "ksm", W }, { "cpufreq", W }, { "cpuidle", I }, { "numa", I },
		{ "numa.balancing", W }, { "swap", W }, { "vm.dirty", P }, { "block.scheduler", W },
		{ "cgroups", W }, { "vhost.net", P }, { "vhost.vsock", I }, { "tun", P }, { "psi", W },
		{ "cpu.mitigations", I }, { "knob.owners", W }, { NULL, 0 } } },
	{ "no-kvm", {
		{ "cpu.virt", F }, { "kvm.dev", F }, { "kvm.module", F }, { "kvm.caps", S },
		{ "kvm.paging", S }, { "kvm.vpid", S }, { "kvm.apicv", S }, { "kvm.nested", S },
		{ "kvm.halt_poll", S }, { "secure.guests", S }, { "iommu", W }, { "hugepages", I },
		{ "thp", S }, { "ksm", S }, { "cpufreq", W }, { "cpuidle", S }, { "numa", I },
		{ "numa.balancing", S }, { "swap", I }, { "vm.dirty", W }, { "block.scheduler", P },
		{ "cgroups", W }, { "vhost.net", W }, { "vhost.vsock", I }, { "tun", F }, { "psi", W },
		{ "cpu.mitigations", S }, { "knob.owners", P }, { NULL, 0 } } },
	{ "cgroup-v2", {
		{ "cpu.virt", P }, { "kvm.dev", P }, { "kvm.module", P }, { "kvm.caps", P },
		{ "kvm.paging", P }, { "kvm.vpid", P }, { "kvm.apicv", P }, { "kvm.nested", I },
		{ "kvm.halt_poll", P }, { "secure.guests", S }, { "iommu", P }, { "hugepages", P },
		{ "thp", P }, { "ksm", P }, { "cpufreq", P }, { "cpuidle", I }, { "numa", I },
		{ "numa.balancing", S }, { "swap", P }, { "vm.dirty", P }, { "block.scheduler", P },
		{ "cgroups", P }, { "vhost.net", P }, { "vhost.vsock", P }, { "tun", P }, { "psi", P },
		{ "cpu.mitigations", I }, { "knob.owners", P }, { NULL, 0 } } },
};

static char *
fixture_root(const char *name)
{
	const char *dir = getenv("VMP_TESTS_DIR");

	if (!dir) {
		fprintf(stderr, "test-check: VMP_TESTS_DIR is not set (run through meson test)\n");
		abort();
	}
	return xasprintf("%s/data/hosts/%s", dir, name);
}

static void
test_table_is_sane(void **state)
{
	size_t i, j;

	assert_true(vmp_checks_count >= 25);
	for (i = 0; i < vmp_checks_count; i++) {
		assert_non_null(vmp_checks[i].id);
		assert_non_null(vmp_checks[i].title);
		assert_non_null(vmp_checks[i].probe);
		assert_ptr_equal(vmp_check_find(vmp_checks[i].id), &vmp_checks[i]);
		for (j = i + 1; j < vmp_checks_count; j++)
			assert_string_not_equal(vmp_checks[i].id, vmp_checks[j].id);
	}
	assert_null(vmp_check_find("no.such.check"));
	for (i = 0; i < VMP_ARRAY_SIZE(fixtures); i++) {
		/* Every fixture names every check, in table order. */
		for (j = 0; j < vmp_checks_count; j++) {
			assert_non_null(fixtures[i].expect[j].id);
			assert_string_equal(fixtures[i].expect[j].id, vmp_checks[j].id);
		}
		assert_null(fixtures[i].expect[j].id);
	}
}

/* The expected status of every check on every fixture, and a fix on every WARN/FAIL. */
static void
test_fixture_statuses(void **state)
{
	size_t i, j;

	for (i = 0; i < VMP_ARRAY_SIZE(fixtures); i++) {
		char *root = fixture_root(fixtures[i].name);
		struct vmp_check_report rep;
		struct vmp_check_ctx ctx;
		unsigned mismatches = 0;

		vmp_check_ctx_init(&ctx, root);
		assert_false(ctx.live);
		assert_int_equal(vmp_check_report_run(&ctx, NULL, 0, &rep), 0);
		assert_int_equal(rep.n_rows, vmp_checks_count);
		for (j = 0; j < rep.n_rows; j++) {
			const struct vmp_check_result *res = &rep.rows[j].result;

			if (res->status != fixtures[i].expect[j].status) {
				fprintf(stderr, "%s: %s is %s, expected %s: %s\n", fixtures[i].name,
					rep.rows[j].check->id, vmp_check_status_name(res->status),
					vmp_check_status_name(fixtures[i].expect[j].status), res->finding);
				mismatches++;
			}
			assert_non_null(res->finding);
			assert_true(strlen(res->finding) > 10);
			assert_null(strchr(res->finding, '\n'));
			if (res->status == VMP_CHECK_WARN || res->status == VMP_CHECK_FAIL) {
				assert_non_null(res->fix);
				assert_null(strstr(res->fix, "no fix known"));
				assert_null(strchr(res->fix, '\n'));
			}
		}
		assert_int_equal(mismatches, 0);
		vmp_check_report_clear(&rep);
		vmp_check_ctx_clear(&ctx);
		free(root);
	}
}

static char *
report_json_text(const char *root)
{
	struct vmp_check_report rep;
	struct vmp_check_ctx ctx;
	json_t *j;
	char *text, *out;

	vmp_check_ctx_init(&ctx, root);
	assert_int_equal(vmp_check_report_run(&ctx, NULL, 0, &rep), 0);
	j = vmp_check_report_json(&rep);
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	out = xasprintf("%s\n", text); /* what `vmpilot check --json` prints */
	free(text);
	json_decref(j);
	vmp_check_report_clear(&rep);
	vmp_check_ctx_clear(&ctx);
	return out;
}

/* Golden --json outputs: tests/data/hosts/NAME.json. VMP_REGEN_GOLDEN=1 rewrites them. */
static void
test_goldens(void **state)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	bool regen = getenv("VMP_REGEN_GOLDEN") && strcmp(getenv("VMP_REGEN_GOLDEN"), "1") == 0;
	size_t i;

	assert_non_null(dir);
	for (i = 0; i < VMP_ARRAY_SIZE(fixtures); i++) {
		char *root = fixture_root(fixtures[i].name);
		char *golden = xasprintf("%s/data/hosts/%s.json", dir, fixtures[i].name);
		char *got = report_json_text(root), *want = NULL;

		if (regen) {
			FILE *f = fopen(golden, "w");

			assert_non_null(f);
			assert_int_equal(fputs(got, f) >= 0, 1);
			assert_int_equal(fclose(f), 0);
			fprintf(stderr, "test-check: rewrote %s: review the diff\n", golden);
		}
		if (vmp_read_file(NULL, golden, &want, NULL) < 0) {
			fprintf(stderr, "test-check: cannot read golden '%s' (VMP_REGEN_GOLDEN=1 writes it)\n", golden);
			fail();
		}
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "test-check: %s differs from its golden %s; got:\n%s\n",
				fixtures[i].name, golden, got);
			fail();
		}
		free(want);
		free(got);
		free(golden);
		free(root);
	}
}

/* ---- bad input: scratch copies of the fixtures ---- */

static const char *copy_src, *copy_dst;

static int
copy_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char *to = xasprintf("%s%s", copy_dst, path + strlen(copy_src));
	int r = 0;

	if (type == FTW_D) {
		r = mkdir(to, 0755) < 0 && errno != EEXIST ? -1 : 0;
	} else if (type == FTW_F) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		r = vmp_read_file(NULL, path, &buf, &len) < 0 ? -1 : 0;
		if (r == 0) {
			f = fopen(to, "w");
			r = !f || fwrite(buf, 1, len, f) != len ? -1 : 0;
			if (f && fclose(f) != 0)
				r = -1;
		}
		free(buf);
	}
	free(to);
	return r;
}

static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static char *
scratch_copy(const char *name)
{
	char tmpl[] = "/tmp/vmp-test-check-XXXXXX";
	char *src = fixture_root(name), *dst;

	assert_non_null(mkdtemp(tmpl));
	dst = xasprintf("%s/root", tmpl);
	copy_src = src;
	copy_dst = dst;
	assert_int_equal(nftw(src, copy_one, 16, FTW_PHYS), 0);
	free(src);
	return dst;
}

static void
scratch_remove(char *dst)
{
	char *parent = xstrdup(dst);

	*strrchr(parent, '/') = '\0';
	assert_int_equal(nftw(parent, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(parent);
	free(dst);
}

static void
write_file(const char *root, const char *path, const char *content)
{
	char *full = vmp_root_path(root, path);
	FILE *f = fopen(full, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	free(full);
}

static bool
matches_any(const char *path, const char *const *globs)
{
	for (; *globs; globs++)
		if (fnmatch(*globs, path, 0) == 0)
			return true;
	return false;
}

/* Files where "empty" is a valid value (a node without CPUs, a v2 root without controllers). */
static const char *const empty_ok[] = {
	"/proc/[0-9]*/comm", "*/cgroup.controllers", "*/cpulist", "/dev/*", NULL,
};
/* Free text: any bytes are a valid value, so garbage cannot be detected there. */
static const char *const free_text[] = {
	"/proc/cmdline", "/proc/[0-9]*/comm", "*/cgroup.controllers",
	"/sys/devices/system/cpu/vulnerabilities/*", "*/scaling_driver", "*/cpuidle/state*/name",
	"*/cpuidle/current_*", "*/modalias", "*/compressor", "*/nx_huge_pages", "/dev/*", NULL,
};

/* Runs check on root; asserts a sane result and returns its status and finding. */
static enum vmp_check_status
run_one(const struct vmp_check *check, const char *root, char **ret_finding)
{
	struct vmp_check_result res;
	struct vmp_check_ctx ctx;
	enum vmp_check_status s;

	vmp_check_ctx_init(&ctx, root);
	vmp_check_run(check, &ctx, &res);
	vmp_check_ctx_clear(&ctx);
	assert_true(res.status < VMP_CHECK_STATUS_MAX);
	assert_non_null(res.finding);
	if (res.status == VMP_CHECK_WARN || res.status == VMP_CHECK_FAIL)
		assert_non_null(res.fix);
	s = res.status;
	*ret_finding = res.finding;
	res.finding = NULL;
	vmp_check_result_clear(&res);
	return s;
}

/*
 * For every fixture, every check and every regular file that check reads: the file
 * made empty, then garbage, must give UNKNOWN naming the file (except the files listed
 * above, which must still give a sane result); removed, the result must be sane.
 */
static void
test_bad_input_every_file(void **state)
{
	size_t fi, ci, pi;
	unsigned cases = 0;

	for (fi = 0; fi < VMP_ARRAY_SIZE(fixtures); fi++) {
		char *root = scratch_copy(fixtures[fi].name);

		for (ci = 0; ci < vmp_checks_count; ci++) {
			const struct vmp_check *check = &vmp_checks[ci];
			struct vmp_check_result res;
			struct vmp_check_ctx ctx;

			vmp_check_ctx_init(&ctx, root);
			vmp_check_run(check, &ctx, &res);
			vmp_check_result_clear(&res);
			for (pi = 0; pi < ctx.n_paths; pi++) {
				const char *path = ctx.paths[pi];
				char *full = vmp_root_path(root, path), *orig = NULL, *finding = NULL;
				enum vmp_check_status s;
				struct stat st;

				if (path[strlen(path) - 1] == '/' || stat(full, &st) < 0 ||
				    !S_ISREG(st.st_mode) || vmp_read_file(NULL, full, &orig, NULL) < 0) {
					free(full);
					continue;
				}
				/* Empty. */
				write_file(root, path, "");
				s = run_one(check, root, &finding);
				if (!matches_any(path, empty_ok) && (s != VMP_CHECK_UNKNOWN || !strstr(finding, path))) {
					fprintf(stderr, "%s: %s with '%s' empty gave %s: %s\n", fixtures[fi].name,
						check->id, path, vmp_check_status_name(s), finding);
					fail();
				}
				free(finding);
				/* Garbage. */
				write_file(root, path, "\x01garbage \xff[[ -7 ]] y\n:\n");
				s = run_one(check, root, &finding);
				if (!matches_any(path, free_text) && (s != VMP_CHECK_UNKNOWN || !strstr(finding, path))) {
					fprintf(stderr, "%s: %s with '%s' garbage gave %s: %s\n", fixtures[fi].name,
						check->id, path, vmp_check_status_name(s), finding);
					fail();
				}
				free(finding);
				/* Missing: any sane result (absence is often a real answer). */
				assert_int_equal(unlink(full), 0);
				s = run_one(check, root, &finding);
				free(finding);
				write_file(root, path, orig);
				cases++;
				free(orig);
				free(full);
			}
			vmp_check_ctx_clear(&ctx);
		}
		scratch_remove(root);
	}
	fprintf(stderr, "test-check: %u (check, file) bad-input cases\n", cases);
	assert_true(cases > 200);
}

/* A few missing inputs whose absence cannot be a real answer: UNKNOWN with the reason. */
static void
test_missing_inputs(void **state)
{
	static const struct {
		const char *path;
		const char *check;
	} cases[] = {
		{ "/proc/cpuinfo", "cpu.virt" },
		{ "/proc/mounts", "cgroups" },
		{ "/sys/kernel/mm/ksm/run", "ksm" },
		{ "/dev/kvm.ioctl", "kvm.dev" },
		{ "/dev/kvm.ioctl", "kvm.caps" },
		{ "/proc/sys/vm/swappiness", "swap" },
		{ "/sys/module/kvm_intel/parameters/ept", "kvm.paging" },
		{ "/sys/kernel/mm/transparent_hugepage/enabled", "thp" },
		{ "/proc/swaps", "swap" },
		{ "/sys/devices/system/node/online", "numa" },
	};
	char *root = scratch_copy("intel-ept-1g");
	size_t i;

	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		char *full = vmp_root_path(root, cases[i].path), *orig = NULL, *finding = NULL;
		enum vmp_check_status s;

		assert_int_equal(vmp_read_file(NULL, full, &orig, NULL), 0);
		assert_int_equal(unlink(full), 0);
		s = run_one(vmp_check_find(cases[i].check), root, &finding);
		if (s != VMP_CHECK_UNKNOWN || !strstr(finding, cases[i].path) ||
		    !strstr(finding, "No such file")) {
			fprintf(stderr, "%s without '%s' gave %s: %s\n", cases[i].check, cases[i].path,
				vmp_check_status_name(s), finding);
			fail();
		}
		write_file(root, cases[i].path, orig);
		free(finding);
		free(orig);
		free(full);
	}
	scratch_remove(root);
}

/* Specific judgements that the fixtures alone do not pin. */
static void
test_specific_findings(void **state)
{
	char *root = scratch_copy("intel-ept-1g"), *finding = NULL;

	/* EPT off is a FAIL with the modprobe fix. */
	write_file(root, "/sys/module/kvm_intel/parameters/ept", "N\n");
	assert_int_equal(run_one(vmp_check_find("kvm.paging"), root, &finding), VMP_CHECK_FAIL);
	free(finding);
	write_file(root, "/sys/module/kvm_intel/parameters/ept", "Y\n");
	/* A host that is itself a guest but has vmx: nested, INFO. */
	{
		char *full = vmp_root_path(root, "/proc/cpuinfo"), *buf = NULL, *with;

		assert_int_equal(vmp_read_file(NULL, full, &buf, NULL), 0);
		with = xasprintf("flags\t\t: vmx hypervisor pdpe1gb\n%s", buf);
		write_file(root, "/proc/cpuinfo", with);
		assert_int_equal(run_one(vmp_check_find("cpu.virt"), root, &finding), VMP_CHECK_INFO);
		assert_non_null(strstr(finding, "nested"));
		free(finding);
		write_file(root, "/proc/cpuinfo", buf);
		free(with);
		free(buf);
		free(full);
	}
	/* /dev/kvm that does not open: FAIL naming the errno. */
	write_file(root, "/dev/kvm.ioctl", "open_errno 13\n");
	assert_int_equal(run_one(vmp_check_find("kvm.dev"), root, &finding), VMP_CHECK_FAIL);
	assert_non_null(strstr(finding, "Permission denied"));
	free(finding);
	assert_int_equal(run_one(vmp_check_find("kvm.caps"), root, &finding), VMP_CHECK_SKIP);
	free(finding);
	/* A wrong API version. */
	write_file(root, "/dev/kvm.ioctl", "open_errno 0\napi_version 11\n");
	assert_int_equal(run_one(vmp_check_find("kvm.dev"), root, &finding), VMP_CHECK_FAIL);
	assert_non_null(strstr(finding, "11"));
	free(finding);
	/* No irqfd: WARN. */
	write_file(root, "/dev/kvm.ioctl", "open_errno 0\napi_version 12\ncap.irqfd 0\ncap.ioeventfd 1\n");
	assert_int_equal(run_one(vmp_check_find("kvm.caps"), root, &finding), VMP_CHECK_WARN);
	assert_non_null(strstr(finding, "missing: irqfd"));
	free(finding);
	/* IVRS without groups: the fix undoes amd_iommu=off when it is there. */
	scratch_remove(root);
	root = scratch_copy("amd-npt-2numa");
	write_file(root, "/proc/cmdline", "root=/dev/sda1 amd_iommu=off quiet\n");
	assert_int_equal(run_one(vmp_check_find("iommu"), root, &finding), VMP_CHECK_WARN);
	assert_non_null(strstr(finding, "amd_iommu=off"));
	free(finding);
	/* KSM on two nodes with merge_across_nodes=0 is fine. */
	write_file(root, "/sys/kernel/mm/ksm/merge_across_nodes", "0\n");
	assert_int_equal(run_one(vmp_check_find("ksm"), root, &finding), VMP_CHECK_PASS);
	free(finding);
	/* Two nodes, balancing off and no numad: WARN; balancing alone: PASS. */
	write_file(root, "/proc/873/comm", "sshd\n");
	assert_int_equal(run_one(vmp_check_find("numa.balancing"), root, &finding), VMP_CHECK_PASS);
	free(finding);
	write_file(root, "/proc/sys/kernel/numa_balancing", "0\n");
	assert_int_equal(run_one(vmp_check_find("numa.balancing"), root, &finding), VMP_CHECK_WARN);
	free(finding);
	/* On cgroup v2 the missing devices controller is never a warning. */
	scratch_remove(root);
	root = scratch_copy("cgroup-v2");
	write_file(root, "/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
	assert_int_equal(run_one(vmp_check_find("cgroups"), root, &finding), VMP_CHECK_PASS);
	free(finding);
	write_file(root, "/sys/fs/cgroup/cgroup.controllers", "cpu io pids\n");
	assert_int_equal(run_one(vmp_check_find("cgroups"), root, &finding), VMP_CHECK_WARN);
	assert_non_null(strstr(finding, "cpuset, memory"));
	assert_null(strstr(finding, "missing controllers: devices"));
	free(finding);
	scratch_remove(root);
}

/* --only runs exactly the named checks; an unknown id runs nothing. */
static void
test_report_only(void **state)
{
	const char *only[] = { "psi", "cpu.virt" };
	const char *bad[] = { "psi", "nope" };
	char *root = fixture_root("intel-ept-1g");
	struct vmp_check_report rep;
	struct vmp_check_ctx ctx;

	vmp_check_ctx_init(&ctx, root);
	assert_int_equal(vmp_check_report_run(&ctx, only, 2, &rep), 0);
	assert_int_equal(rep.n_rows, 2);
	assert_string_equal(rep.rows[0].check->id, "cpu.virt"); /* table order */
	assert_string_equal(rep.rows[1].check->id, "psi");
	vmp_check_report_clear(&rep);
	assert_int_equal(vmp_check_report_run(&ctx, bad, 2, &rep), -ENOENT);
	vmp_check_ctx_clear(&ctx);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_sane),
		cmocka_unit_test(test_fixture_statuses),
		cmocka_unit_test(test_goldens),
		cmocka_unit_test(test_bad_input_every_file),
		cmocka_unit_test(test_missing_inputs),
		cmocka_unit_test(test_specific_findings),
		cmocka_unit_test(test_report_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
