/* SPDX-License-Identifier: MIT */
/*
 * Tests of `vmpilot audit` (src/host/audit.c) on fixture domain XMLs as libvirt writes
 * them (tests/data/libvirt/audit/) and a fixture host (tests/data/libvirt/audit-host:
 * 8 CPUs, no SMT, two NUMA nodes, KSM on): every rule of the table fires on some
 * fixture with its fix, the well-configured VM has no finding, the report matches a
 * golden (VMP_REGEN_GOLDEN=1 rewrites it), and bad XML is an error naming file:line.
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

#include "host/audit.h"
#include "util/fileio.h"
#include "util/util.h"

static const char *const fixtures[] = { "good.xml", "legacy.xml", "scsi-nostats.xml", "tenant-acme.xml" };

static const char *
tests_dir(void)
{
	const char *d = getenv("VMP_TESTS_DIR");

	return d ? d : "tests";
}

static void
host_facts(struct vmp_audit_host *h)
{
	char *root = xasprintf("%s/data/libvirt/audit-host", tests_dir());

	vmp_audit_host_read(root, h);
	free(root);
	assert_int_equal(h->cpus, 8);
	assert_int_equal(h->threads_per_core, 1);
	assert_int_equal(h->numa_nodes, 2);
	assert_int_equal(h->node_mem_kib, 16318436);
	assert_true(h->ksm_known && h->ksm_on);
}

static int
audit_file(const char *name, const struct vmp_audit_host *h, struct vmp_audit_report *rep, char **err)
{
	char *path = xasprintf("%s/data/libvirt/audit/%s", tests_dir(), name), *buf = NULL;
	size_t len = 0;
	int r;

	assert_int_equal(vmp_read_file(NULL, path, &buf, &len), 0);
	r = vmp_audit_domain(buf, len, name, h, rep, err);
	free(buf);
	free(path);
	return r;
}

static void
test_fixtures(void **state)
{
	bool regen = getenv("VMP_REGEN_GOLDEN") && strcmp(getenv("VMP_REGEN_GOLDEN"), "1") == 0;
	struct vmp_audit_report rep = { 0 };
	struct vmp_audit_host h;
	char *err = NULL, *text = NULL, *golden, *want = NULL;
	size_t i, j, len = 0;
	FILE *out;

	(void)state;
	host_facts(&h);
	for (i = 0; i < VMP_ARRAY_SIZE(fixtures); i++)
		assert_int_equal(audit_file(fixtures[i], &h, &rep, &err), 0);
	/* behaviour observed by `audit --observe` (cmd_audit.c): advice only when it differs */
	vmp_audit_profile_advice(&rep, "legacy", "throughput", "over 3.0 s: vCPUs 90% busy");
	vmp_audit_profile_advice(&rep, "db1", "database", "over 3.0 s: 400 IOPS");
	vmp_audit_finish(&h, &rep);
	/* every rule fires somewhere, with a fix; the good VM never */
	for (i = 0; i < vmp_audit_rules_count; i++) {
		bool seen = false;

		for (j = 0; j < rep.n_findings; j++)
			if (rep.findings[j].rule == &vmp_audit_rules[i]) {
				seen = true;
				assert_true(rep.findings[j].fix && rep.findings[j].fix[0] == '<');
			}
		if (!seen)
			fail_msg("rule %s fires on no fixture", vmp_audit_rules[i].id);
	}
	for (j = 0; j < rep.n_findings; j++)
		if (strcmp(rep.findings[j].vm, "db1") == 0)
			fail_msg("the well-configured VM has a finding: %s %s", rep.findings[j].rule->id,
				 rep.findings[j].finding);
	assert_int_equal(rep.n_vms, 4);
	assert_string_equal(rep.vms[0].tenant, "acme");
	assert_string_equal(rep.vms[0].profile, "database");
	assert_true(rep.vms[0].nosharepages);
	out = open_memstream(&text, &len);
	vmp_audit_report_print(&rep, out);
	fclose(out);
	golden = xasprintf("%s/data/libvirt/audit/expected.txt", tests_dir());
	if (regen) {
		out = fopen(golden, "w");
		assert_non_null(out);
		fputs(text, out);
		fclose(out);
	}
	assert_int_equal(vmp_read_file(NULL, golden, &want, NULL), 0);
	if (strcmp(want, text) != 0)
		fail_msg("%s differs:\n%s", golden, text);
	{
		json_t *js = vmp_audit_report_json(&rep);

		assert_string_equal(json_string_value(json_object_get(js, "schema")), "vmpilot-audit/1");
		assert_int_equal(json_array_size(json_object_get(js, "findings")), rep.n_findings);
		json_decref(js);
	}
	free(want);
	free(golden);
	free(text);
	vmp_audit_report_clear(&rep);
}

/* KSM off, or the same tenant, or <nosharepages/>: no cross-tenant finding. */
static void
test_tenants(void **state)
{
	struct vmp_audit_report rep = { 0 };
	struct vmp_audit_host h;
	char *err = NULL;
	size_t j;

	(void)state;
	host_facts(&h);
	h.ksm_on = false;
	assert_int_equal(audit_file("scsi-nostats.xml", &h, &rep, &err), 0);
	assert_int_equal(audit_file("tenant-acme.xml", &h, &rep, &err), 0);
	vmp_audit_finish(&h, &rep);
	for (j = 0; j < rep.n_findings; j++)
		assert_string_not_equal(rep.findings[j].rule->id, "ksm.tenants");
	vmp_audit_report_clear(&rep);
	h.ksm_on = true;
	assert_int_equal(audit_file("good.xml", &h, &rep, &err), 0);     /* acme, nosharepages */
	assert_int_equal(audit_file("tenant-acme.xml", &h, &rep, &err), 0); /* acme */
	vmp_audit_finish(&h, &rep);
	for (j = 0; j < rep.n_findings; j++)
		assert_string_not_equal(rep.findings[j].rule->id, "ksm.tenants");
	vmp_audit_report_clear(&rep);
}

static void
test_bad_xml(void **state)
{
	static const struct { const char *xml, *err; } cases[] = {
		{ "<domain><name>x</name>", "in.xml:1:" },
		{ "", "in.xml:" },
		{ "<node><name>x</name></node>", "in.xml: not a libvirt domain" },
		{ "<domain type='kvm'><vcpu>2</vcpu></domain>", "in.xml: the domain has no <name>" },
		{ "<?xml version='1.0'?>\n<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>\n<domain><name>&e;</name></domain>", NULL },
	};
	struct vmp_audit_host h = { .cpus = 4 };
	size_t i;

	(void)state;
	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		struct vmp_audit_report rep = { 0 };
		char *err = NULL;
		int r = vmp_audit_domain(cases[i].xml, strlen(cases[i].xml), "in.xml", &h, &rep, &err);

		if (cases[i].err) {
			assert_int_equal(r, -EINVAL);
			if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
				fail_msg("case %zu: error '%s', want '%s...'", i, err, cases[i].err);
			free(err);
		} else if (r == 0) {
			/* an external entity is never expanded: the name must not be the file */
			assert_int_equal(rep.n_vms, 1);
			assert_null(strstr(rep.vms[0].name, "root:"));
		} else {
			free(err);
		}
		vmp_audit_report_clear(&rep);
	}
}

/* doc/audit.md has a row for every rule. */
static void
test_doc(void **state)
{
	char *path = xasprintf("%s/../doc/audit.md", tests_dir()), *doc = NULL;
	size_t i;

	(void)state;
	assert_int_equal(vmp_read_file(NULL, path, &doc, NULL), 0);
	for (i = 0; i < vmp_audit_rules_count; i++) {
		char *row = xasprintf("| `%s` | %s |", vmp_audit_rules[i].id,
				      vmp_audit_severity_name(vmp_audit_rules[i].severity));

		if (!strstr(doc, row))
			fail_msg("doc/audit.md has no row '%s'", row);
		free(row);
	}
	free(doc);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_bad_xml),
		cmocka_unit_test(test_doc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
