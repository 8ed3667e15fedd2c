/* SPDX-License-Identifier: MIT */
/*
 * Tests of the decision journal (src/daemon/journal.c): a real policy decision written
 * as a JSON line, read back by VM, explained; bad lines named by file and line.
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
#include <unistd.h>

#include "core/rightsize.h"
#include "daemon/journal.h"
#include "util/util.h"

#define GIB (1024ull * 1024)

/* A real decision: no shrink without fresh stats. */
static void
floor_decision(struct vmp_decision *d)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_vm_limits lim = { 0 };
	struct vmp_mem_input in = {
		.have_stats = false, .actual_kib = 2 * GIB, .have_available = true,
		.available_kib = 1 * GIB, .unused_kib = 1 * GIB, .psi_some_avg10 = -1,
	};

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, (uint64_t)(1.1 * GIB), 0, d), 0);
}

static void
test_write_read_explain(void **state)
{
	char path[] = "/tmp/vmp-journal-XXXXXX";
	struct vmp_decision d, g;
	struct vmp_journal_record r = { .time_ms = 1764140000000ll, .vm = "web1",
					.policy = "memory", .decision = &d, .acted = false };
	json_t *entries = NULL, *e;
	char *err = NULL, *out = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int fd;

	floor_decision(&d);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_STATS_MISSING);
	vmp_decision_init(&g, "vcpus", 1);
	vmp_decision_set(&g, VMP_ACT_GROW, VMP_WHY_SATURATED, 2);
	vmp_decision_check(&g, "usage_per_vcpu", 0.97, 0.9, true);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(vmp_journal_append(f, &r), 0);
	r.vm = "db1";
	r.policy = "vcpus";
	r.decision = &g;
	r.acted = true;
	assert_int_equal(vmp_journal_append(f, &r), 0);
	r.vm = "web1";
	r.policy = "memory";
	r.decision = &d;
	r.time_ms += 60000;
	r.dry_run = true;
	r.acted = false;
	assert_int_equal(vmp_journal_append(f, &r), 0);
	fclose(f);

	/* Filtered by VM, oldest first; max keeps the last ones. */
	assert_int_equal(vmp_journal_read(path, "web1", 0, &entries, &err), 0);
	assert_int_equal(json_array_size(entries), 2);
	e = json_array_get(entries, 0);
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "stats_missing");
	assert_string_equal(json_string_value(json_object_get(e, "resource")), "memory_kib");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(e, "rejected"), 0), "why")), "stats missing or stale");
	json_decref(entries);
	assert_int_equal(vmp_journal_read(path, NULL, 1, &entries, &err), 0);
	assert_int_equal(json_array_size(entries), 1);
	e = json_array_get(entries, 0);
	assert_true(json_is_true(json_object_get(e, "dry_run")));

	/* The explanation names the action, the reason, the checks and the rejections. */
	mem = open_memstream(&out, &len);
	vmp_journal_explain(e, mem);
	fclose(mem);
	assert_non_null(strstr(out, "web1 memory: none at 1.10 GiB (stats_missing) [dry run]"));
	assert_non_null(strstr(out, "crossed stats_age_ms: -1 vs 9e+05"));
	assert_non_null(strstr(out, "rejected shrink (0): stats missing or stale"));
	free(out);
	json_decref(entries);

	assert_int_equal(vmp_journal_read(path, "db1", 0, &entries, &err), 0);
	mem = open_memstream(&out, &len);
	vmp_journal_explain(json_array_get(entries, 0), mem);
	fclose(mem);
	assert_non_null(strstr(out, "db1 vcpus: grow 1 -> 2 (saturated)"));
	assert_non_null(strstr(out, "crossed usage_per_vcpu: 0.97 vs 0.9"));
	free(out);
	json_decref(entries);
	unlink(path);
}

static void
test_bad_lines(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "{\"time_ms\": 1\n", ":1: not JSON" },
		{ "\n[1, 2]\n", ":2: not a JSON object" },
		{ "{\"time_ms\": \"x\", \"vm\": \"a\"}\n", ":1: missing or mistyped key 'time_ms'" },
		{ "{\"time_ms\": 1, \"vm\": \"a\", \"policy\": \"memory\", \"action\": \"none\", "
		  "\"reason\": \"steady\", \"resource\": \"memory_kib\", \"checks\": [], "
		  "\"rejected\": [], \"vm\": \"b\"}\n", ":1: not JSON" /* duplicate key */ },
	};
	char path[] = "/tmp/vmp-journal-XXXXXX";
	json_t *entries = NULL;
	size_t i;
	char *err;

	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, cases[i].text, strlen(cases[i].text)),
				 (ssize_t)strlen(cases[i].text));
		close(fd);
		err = NULL;
		assert_int_equal(vmp_journal_read(path, NULL, 0, &entries, &err), -EINVAL);
		assert_non_null(strstr(err, path));
		if (!strstr(err, cases[i].msg))
			fprintf(stderr, "case %zu: got '%s'\n", i, err);
		assert_non_null(strstr(err, cases[i].msg));
		free(err);
		unlink(path);
		strcpy(path, "/tmp/vmp-journal-XXXXXX");
	}
	assert_int_equal(vmp_journal_read("/nonexistent/j", NULL, 0, &entries, &err), -ENOENT);
	assert_non_null(strstr(err, "cannot read journal '/nonexistent/j'"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read_explain),
		cmocka_unit_test(test_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
