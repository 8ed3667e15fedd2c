/* SPDX-License-Identifier: MIT */
/*
 * Tests of `vmpilot tune` and knob ownership on fixture trees: for every captured host
 * of tests/data/hosts/ and every profile, the dry-run diff against a golden
 * (tests/data/tune/HOST.PROFILE.diff; VMP_REGEN_GOLDEN=1 rewrites them), then apply,
 * verify (no drift; a changed value is drift), rollback, and the tree byte-for-byte as
 * before. For every service of tests/data/owners/, `check` names it and `tune` refuses
 * its knob. The state file: symlinks refused, garbage named with file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/check.h"
#include "host/owner.h"
#include "host/tune.h"
#include "util/fileio.h"
#include "util/util.h"

static const char *const hosts[] = { "pvm-nested-v1", "intel-ept-1g", "amd-npt-2numa", "no-kvm", "cgroup-v2" };

static const char *
tests_dir(void)
{
	const char *d = getenv("VMP_TESTS_DIR");

	return d ? d : "tests";
}

static void
sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* A scratch copy of a fixture host, with overlays (NULL-terminated) copied on top. */
static char *
scratch(const char *host, ...)
{
	char tmpl[] = "/tmp/vmp-test-tune-XXXXXX";
	const char *ov;
	va_list ap;

	assert_non_null(mkdtemp(tmpl));
	if (host)
		sh("cp -a '%s/data/hosts/%s/.' '%s/'", tests_dir(), host, tmpl);
	va_start(ap, host);
	while ((ov = va_arg(ap, const char *)))
		sh("cp -a '%s/data/owners/%s/.' '%s/'", tests_dir(), ov, tmpl);
	va_end(ap);
	sh("mkdir -p '%s/proc'", tmpl);
	return xstrdup(tmpl);
}

static void
rm_rf(char *dir)
{
	sh("rm -rf '%s'", dir);
	free(dir);
}

static char *
plan_text(const struct vmp_tune_plan *plan)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	vmp_tune_plan_print(plan, out);
	fclose(out);
	return buf;
}

static int
make_plan(const char *root, const char *profile, struct vmp_tune_plan *plan, char **err)
{
	struct vmp_tune_roots roots = { root, root };
	struct vmp_owner_scan owners;
	int r;

	vmp_owner_scan(root, &owners);
	r = vmp_tune_plan_make(&roots, vmp_tune_profile_find(profile), &owners, plan, err);
	vmp_owner_scan_clear(&owners);
	return r;
}

/* Every host, every profile: golden diff, apply, verify, drift, rollback, same tree. */
static void
test_round_trip(void **state)
{
	bool regen = getenv("VMP_REGEN_GOLDEN") && strcmp(getenv("VMP_REGEN_GOLDEN"), "1") == 0;
	size_t h, p;

	(void)state;
	for (h = 0; h < VMP_ARRAY_SIZE(hosts); h++) {
		for (p = 0; p < vmp_tune_profiles_count; p++) {
			const char *profile = vmp_tune_profiles[p].name;
			char *root = scratch(hosts[h], NULL);
			struct vmp_tune_roots roots = { root, root };
			struct vmp_tune_plan plan;
			char *err = NULL, *text, *golden, *want = NULL;
			FILE *devnull = fopen("/dev/null", "w");

			assert_int_equal(make_plan(root, profile, &plan, &err), 0);
			text = plan_text(&plan);
			golden = xasprintf("%s/data/tune/%s.%s.diff", tests_dir(), hosts[h], profile);
			if (regen) {
				FILE *g = fopen(golden, "w");

				assert_non_null(g);
				fputs(text, g);
				fclose(g);
			}
			if (vmp_read_file(NULL, golden, &want, NULL) < 0)
				fail_msg("cannot read golden '%s' (VMP_REGEN_GOLDEN=1 writes it)", golden);
			if (strcmp(text, want) != 0)
				fail_msg("%s differs from the plan:\n%s", golden, text);

			/* apply, then verify: no drift */
			assert_int_equal(vmp_tune_apply(&roots, &plan, &err), 0);
			assert_int_equal(vmp_tune_verify(&roots, devnull, &err), 0);
			/* a second apply is refused while one is recorded */
			{
				struct vmp_tune_plan again;

				assert_int_equal(make_plan(root, profile, &again, &err), -EEXIST);
				assert_non_null(strstr(err, "rollback"));
				free(err);
				err = NULL;
			}
			/* drift: a value changed behind our back */
			if (plan.n_change + plan.n_same > 0) {
				size_t i;

				for (i = 0; i < plan.n_items; i++)
					if (plan.items[i].action == VMP_TUNE_CHANGE && !plan.items[i].knob->choice)
						break;
				if (i < plan.n_items) {
					sh("echo 77 > '%s%s'", root, plan.items[i].path);
					assert_int_equal(vmp_tune_verify(&roots, devnull, &err), 1);
					sh("echo '%s' > '%s%s'", plan.items[i].after, root, plan.items[i].path);
					assert_int_equal(vmp_tune_verify(&roots, devnull, &err), 0);
				}
			}
			assert_int_equal(vmp_tune_rollback(&roots, devnull, &err), 0);
			assert_int_equal(vmp_tune_verify(&roots, devnull, &err), -ENOENT);
			/* exactly the fixture we started from (the directories made for /etc and
			 * /var go: git keeps no empty directory, so the fixture has none) */
			sh("find '%s' -depth -type d -empty -delete && diff -r '%s' '%s/data/hosts/%s'", root, root,
			   tests_dir(), hosts[h]);
			fclose(devnull);
			vmp_tune_plan_clear(&plan);
			free(text);
			free(want);
			free(golden);
			rm_rf(root);
		}
	}
}

/* The knob.owners row of `vmpilot check` on root: its status and finding. */
static enum vmp_check_status
owners_check(const char *root, char **ret_finding)
{
	const char *only[] = { "knob.owners" };
	struct vmp_check_report rep;
	struct vmp_check_ctx ctx;
	enum vmp_check_status s;

	vmp_check_ctx_init(&ctx, root);
	assert_int_equal(vmp_check_report_run(&ctx, only, 1, &rep), 0);
	assert_int_equal(rep.n_rows, 1);
	s = rep.rows[0].result.status;
	*ret_finding = xstrdup(rep.rows[0].result.finding);
	vmp_check_report_clear(&rep);
	vmp_check_ctx_clear(&ctx);
	return s;
}

/* The item of plan named name (first match of the prefix). */
static const struct vmp_tune_item *
item(const struct vmp_tune_plan *plan, const char *name)
{
	size_t i;

	for (i = 0; i < plan->n_items; i++)
		if (vmp_str_starts_with(plan->items[i].name, name))
			return &plan->items[i];
	fail_msg("no item '%s' in the plan", name);
	return NULL;
}

struct owner_case {
	const char *service;  /* tests/data/owners/NAME and the service id */
	const char *base;     /* the captured host under it */
	const char *name;     /* what check and the refusal must name */
	enum vmp_knob knob;
	const char *profile;  /* a profile that writes knob, or NULL (a daemon knob) */
	const char *item;     /* the refused plan item */
};

static const struct owner_case owner_cases[] = {
	{ "tuned", "pvm-nested-v1", "TuneD (profile 'virtual-host')", VMP_KNOB_SYSCTL_VM, "virtual-host", "vm.swappiness" },
	{ "ksmtuned", "pvm-nested-v1", "ksmtuned", VMP_KNOB_KSM, "density", "ksm.run" },
	{ "numad", "amd-npt-2numa", "numad", VMP_KNOB_NUMA_BALANCING, "latency", "kernel.numa_balancing" },
	{ "irqbalance", "pvm-nested-v1", "irqbalance", VMP_KNOB_IRQ_AFFINITY, "latency", "irq.default_smp_affinity" },
	{ "kernel-numa-balancing", NULL, "kernel NUMA balancing", VMP_KNOB_NUMA_PLACEMENT, NULL, NULL },
	{ "mom", "pvm-nested-v1", "oVirt MOM", VMP_KNOB_KSM, "density", "ksm.run" },
	{ "pvestatd", NULL, "Proxmox pvestatd", VMP_KNOB_BALLOON, NULL, NULL },
};

/* Each service: check names it; tune refuses its knob, naming it and the hand-over. */
static void
test_owners(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(VMP_ARRAY_SIZE(owner_cases), vmp_owner_services_count());
	for (i = 0; i < VMP_ARRAY_SIZE(owner_cases); i++) {
		const struct owner_case *c = &owner_cases[i];
		char *root = scratch(c->base, c->service, NULL), *finding = NULL, *err = NULL;
		struct vmp_owner_scan s;
		const struct vmp_owner *o;
		enum vmp_check_status st;

		assert_string_equal(vmp_owner_service_id_at(i), c->service);
		st = owners_check(root, &finding);
		if (!strstr(finding, c->name))
			fail_msg("%s: check does not name '%s': %s", c->service, c->name, finding);
		assert_true(st == VMP_CHECK_INFO || st == VMP_CHECK_WARN);
		vmp_owner_scan(root, &s);
		o = vmp_owner_find(&s, c->knob);
		assert_non_null(o);
		assert_string_equal(vmp_owner_service_id(o), c->service);
		if (c->profile) {
			struct vmp_tune_plan plan;
			const struct vmp_tune_item *it;

			assert_int_equal(make_plan(root, c->profile, &plan, &err), 0);
			it = item(&plan, c->item);
			if (it->action != VMP_TUNE_REFUSED)
				fail_msg("%s: %s not refused", c->service, c->item);
			assert_non_null(strstr(it->note, c->name));
			assert_non_null(strstr(it->note, vmp_owner_handover(o)));
			assert_true(plan.n_refused > 0);
			vmp_tune_plan_clear(&plan);
		}
		vmp_owner_scan_clear(&s);
		free(finding);
		rm_rf(root);
	}
}

/* TuneD owns only what its profile sets: THP stays ours under TuneD's virtual-host. */
static void
test_tuned_profile_knobs(void **state)
{
	char *root = scratch("pvm-nested-v1", "tuned", NULL), *err = NULL;
	struct vmp_tune_plan plan;

	(void)state;
	assert_int_equal(make_plan(root, "virtual-host", &plan, &err), 0);
	assert_int_equal(item(&plan, "vm.dirty_ratio")->action, VMP_TUNE_REFUSED);
	assert_int_equal(item(&plan, "thp.enabled")->action, VMP_TUNE_CHANGE);
	assert_int_equal(item(&plan, "block.scheduler")->action, VMP_TUNE_CHANGE);
	vmp_tune_plan_clear(&plan);
	/* no active profile: TuneD writes nothing */
	sh("rm '%s/etc/tuned/active_profile'", root);
	assert_int_equal(make_plan(root, "virtual-host", &plan, &err), 0);
	assert_int_equal(plan.n_refused, 0);
	vmp_tune_plan_clear(&plan);
	rm_rf(root);
}

/* Two services on one knob (ksmtuned and MOM on KSM): WARN naming both. */
static void
test_two_writers(void **state)
{
	char *root = scratch("pvm-nested-v1", "ksmtuned", "mom", NULL), *finding = NULL;

	(void)state;
	assert_int_equal(owners_check(root, &finding), VMP_CHECK_WARN);
	assert_non_null(strstr(finding, "ksm has 2 writers"));
	assert_non_null(strstr(finding, "ksmtuned"));
	assert_non_null(strstr(finding, "oVirt MOM"));
	free(finding);
	rm_rf(root);
	/* a stale pid file is not a writer */
	root = scratch("pvm-nested-v1", "stale", NULL);
	assert_int_equal(owners_check(root, &finding), VMP_CHECK_INFO);
	assert_non_null(strstr(finding, "not running"));
	free(finding);
	rm_rf(root);
}

/* The state: a symlink in its place is refused; garbage is named with file:line. */
static void
test_state_file(void **state)
{
	char *root = scratch("pvm-nested-v1", NULL), *err = NULL;
	struct vmp_tune_roots roots = { root, root };
	struct vmp_tune_plan plan;
	struct stat st;
	char *path;

	(void)state;
	sh("mkdir -p '%s/var/lib/vmpilot' && ln -s /tmp/elsewhere '%s%s'", root, root, VMP_TUNE_STATE_PATH);
	assert_int_equal(make_plan(root, "throughput", &plan, &err), 0);
	assert_true(vmp_tune_apply(&roots, &plan, &err) < 0);
	assert_non_null(strstr(err, VMP_TUNE_STATE_PATH));
	free(err);
	err = NULL;
	sh("rm '%s%s'", root, VMP_TUNE_STATE_PATH);
	assert_int_equal(vmp_tune_apply(&roots, &plan, &err), 0);
	path = xasprintf("%s%s", root, VMP_TUNE_STATE_PATH);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	vmp_tune_plan_clear(&plan);
	sh("printf '{\\n \"schema\": 3,\\n' > '%s'", path);
	assert_int_equal(vmp_tune_verify(&roots, stdout, &err), -EINVAL);
	assert_non_null(strstr(err, VMP_TUNE_STATE_PATH ":"));
	free(err);
	free(path);
	rm_rf(root);
}

/* recommend: facts to profile. */
static void
test_recommend(void **state)
{
	struct vmp_tune_facts f = { .cpus = 8, .numa_nodes = 1, .mem_total_kib = 32ull << 20 };
	const char *why;

	(void)state;
	assert_string_equal(vmp_tune_recommend(&f, &why)->name, "virtual-host");
	f.n_vms = 10;
	f.vm_mem_kib = 30ull << 20;
	assert_string_equal(vmp_tune_recommend(&f, &why)->name, "density");
	f.vm_mem_kib = 8ull << 20;
	f.vm_vcpus = 40;
	assert_string_equal(vmp_tune_recommend(&f, &why)->name, "density");
	f.vm_vcpus = 10;
	f.n_latency_vms = 6;
	assert_string_equal(vmp_tune_recommend(&f, &why)->name, "latency");
	f.n_latency_vms = 0;
	f.n_vms = 1;
	f.vm_mem_kib = 24ull << 20;
	assert_string_equal(vmp_tune_recommend(&f, &why)->name, "throughput");
	{
		char *root = xasprintf("%s/data/hosts/amd-npt-2numa", tests_dir());

		assert_int_equal(vmp_tune_facts_read(root, &f), 0);
		assert_int_equal(f.numa_nodes, 2);
		assert_int_equal(f.cpus, 8);
		free(root);
	}
}

/* doc/tune.md explains every knob of every profile with its value. */
static void
test_doc(void **state)
{
	char *path = xasprintf("%s/../doc/tune.md", tests_dir()), *doc = NULL;
	size_t p, k;

	(void)state;
	assert_int_equal(vmp_read_file(NULL, path, &doc, NULL), 0);
	for (p = 0; p < vmp_tune_profiles_count; p++) {
		const struct vmp_tune_profile *pr = &vmp_tune_profiles[p];
		char *head = xasprintf("### %s", pr->name);
		const char *sec = strstr(doc, head), *end;

		if (!sec)
			fail_msg("doc/tune.md has no '%s'", head);
		end = strstr(sec + 4, "\n### ");
		for (k = 0; k < pr->n_knobs; k++) {
			char *row = xasprintf("| `%s` |", pr->knobs[k].id), *val = xasprintf("`%s`", pr->knobs[k].value);
			const char *at = strstr(sec, row);

			if (!at || (end && at > end) || !strstr(at, val))
				fail_msg("doc/tune.md, %s: no row %s with %s", pr->name, row, val);
			free(row);
			free(val);
		}
		free(head);
	}
	free(doc);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_tuned_profile_knobs),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_recommend),
		cmocka_unit_test(test_doc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
