/* SPDX-License-Identifier: MIT */
/*
 * Tests of the trace replay (src/core/replay.c) and its CSV loader (src/cli/replay_data.c):
 * metrics on hand-computed synthetic traces, the loader's errors, and the headline
 * comparison of doc/replay.md on the 20 Bitbrains VMs bundled in data/traces/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/replay_data.h"
#include "core/replay.h"
#include "util/util.h"

#define GIB (1024.0 * 1024.0)

static struct vmp_replay_sample
row(double used_gib, double prov_gib, double cpu_mhz)
{
	struct vmp_replay_sample s = {
		.mem_used_kib = used_gib * GIB, .mem_prov_kib = prov_gib * GIB,
		.cpu_used_mhz = cpu_mhz, .cpu_prov_mhz = 4000, .cpu_cores = 2,
	};

	return s;
}

static void
test_static_metrics_by_hand(void **state)
{
	struct vmp_replay_sample s[4] = { row(1, 4, 500), row(2, 4, 1000), row(5, 4, 5000),
					  row(0, 0, 0) /* off: not counted */ };
	struct vmp_replay_vm vm = { s, 4 };
	struct vmp_replay_params p;
	struct vmp_replay_result r;

	vmp_replay_params_default(&p);
	assert_int_equal(vmp_replay_run(&p, &vm, 1, VMP_REPLAY_STATIC, &r), 0);
	assert_int_equal(r.vm_steps, 3);
	/* Slack (3 + 2 + 0) GiB over used (1 + 2 + 5) GiB; one step of three short by 1 GiB. */
	assert_true(fabs(r.mem_slack_pct - 100.0 * 5 / 8) < 1e-9);
	assert_true(fabs(r.mem_short_pct - 100.0 / 3) < 1e-9);
	assert_true(fabs(r.mem_short_gib_h - 1.0 / 12) < 1e-9);
	assert_true(fabs(r.mem_short_vm_h - 1.0 / 12) < 1e-9);
	/* CPU: 4000 MHz allocated; slack 3500 + 3000 over 6500 used; 1000 MHz = 0.5 core short. */
	assert_true(fabs(r.cpu_slack_pct - 100.0 * 6500 / 6500) < 1e-9);
	assert_true(fabs(r.cpu_short_core_h - 0.5 / 12) < 1e-9);
	assert_int_equal(r.mem_actions, 0);
	assert_int_equal(r.cpu_actions, 0);
	/* Bad parameters. */
	p.vms_per_host = 0;
	assert_int_equal(vmp_replay_run(&p, &vm, 1, VMP_REPLAY_STATIC, &r), -EINVAL);
}

static void
test_policies_shrink_an_idle_vm(void **state)
{
	struct vmp_replay_sample s[576];
	struct vmp_replay_vm vm = { s, 576 };
	struct vmp_replay_params p;
	struct vmp_replay_result r[VMP_REPLAY_POLICY_MAX];
	int i;

	/* Two days of a VM using 1 GiB of 16 and 0.1 of 2 cores. */
	for (i = 0; i < 576; i++)
		s[i] = row(1, 16, 200);
	vmp_replay_params_default(&p);
	for (i = 0; i < VMP_REPLAY_POLICY_MAX; i++)
		assert_int_equal(vmp_replay_run(&p, &vm, 1, (enum vmp_replay_policy)i, &r[i]), 0);
	assert_true(fabs(r[VMP_REPLAY_STATIC].mem_slack_pct - 1500) < 1e-6);
	/* MOM keeps 20 % of the host free (host = this VM) and grows back: oscillates. */
	assert_true(r[VMP_REPLAY_MOM].mem_slack_pct < 1500);
	assert_true(r[VMP_REPLAY_MOM].mem_actions > 10);
	/* The recommenders shrink far more, with no shortage on a flat trace. */
	assert_true(r[VMP_REPLAY_VPA].mem_slack_pct < 300);
	assert_true(r[VMP_REPLAY_VMPILOT].mem_slack_pct < 300);
	for (i = 0; i < VMP_REPLAY_POLICY_MAX; i++)
		assert_true(r[i].mem_short_pct == 0);
	/* vmpilot removes the idle vCPU. */
	assert_int_equal(r[VMP_REPLAY_VMPILOT].cpu_actions, 1);
}

struct counts {
	unsigned long mem_changes, cpu_changes, decisions, with_checks;
};

static void
count_decision(void *ctx, size_t vm, const char *policy, int64_t now_ms,
	       const struct vmp_decision *d, bool acted)
{
	struct counts *c = ctx;

	c->decisions++;
	if (d->n_checks > 0)
		c->with_checks++;
	if (acted && (uint64_t)d->to != (uint64_t)d->from) {
		if (strcmp(policy, "vcpus") == 0)
			c->cpu_changes++;
		else
			c->mem_changes++;
	}
}

static char *
data_dir(void)
{
	const char *dir = getenv("VMP_TESTS_DIR");

	if (!dir) {
		fprintf(stderr, "VMP_TESTS_DIR is not set: run this test through meson test\n");
		fail();
	}
	return xasprintf("%s/../data/traces/bitbrains-rnd", dir);
}

static void
test_bundled_bitbrains_comparison(void **state)
{
	struct vmp_replay_result r[VMP_REPLAY_POLICY_MAX];
	struct vmp_replay_params p;
	struct vmp_replay_set *set = NULL;
	char *dir = data_dir(), *err = NULL;
	int i;

	assert_int_equal(vmp_replay_load_dir(dir, 0, 300, &set, &err), 0);
	assert_int_equal(set->nvms, 20);
	assert_string_equal(set->names[0], "1.csv");
	vmp_replay_params_default(&p);
	for (i = 0; i < VMP_REPLAY_POLICY_MAX; i++)
		assert_int_equal(vmp_replay_run(&p, set->vms, set->nvms, (enum vmp_replay_policy)i,
						&r[i]), 0);
	for (i = 0; i < VMP_REPLAY_POLICY_MAX; i++)
		printf("%-8s mem slack %7.1f%% short %.3f%% (%.1f VM-h, %.2f GiB-h) actions %llu\n",
		       vmp_replay_policy_name((enum vmp_replay_policy)i), r[i].mem_slack_pct,
		       r[i].mem_short_pct, r[i].mem_short_vm_h, r[i].mem_short_gib_h,
		       (unsigned long long)r[i].mem_actions);
	/* The goal of issue 5: less memory slack than the VPA-like baseline ... */
	assert_true(r[VMP_REPLAY_VMPILOT].mem_slack_pct < r[VMP_REPLAY_VPA].mem_slack_pct);
	/* ... at no more shortage time. */
	assert_true(r[VMP_REPLAY_VMPILOT].mem_short_pct <= r[VMP_REPLAY_VPA].mem_short_pct);
	/* Every action vmpilot took is in its journal, as a carried-out decision. */
	{
		struct counts c = { 0 };
		struct vmp_replay_result again;

		p.journal = count_decision;
		p.journal_ctx = &c;
		assert_int_equal(vmp_replay_run(&p, set->vms, set->nvms, VMP_REPLAY_VMPILOT,
						&again), 0);
		assert_int_equal(c.mem_changes, again.mem_actions);
		assert_int_equal(c.cpu_changes, again.cpu_actions);
		assert_true(again.mem_slack_pct == r[VMP_REPLAY_VMPILOT].mem_slack_pct);
		/* Two decisions (memory, vCPUs) per running VM-step at least, each with checks. */
		assert_true(c.decisions >= 2 * again.vm_steps);
		assert_true(c.with_checks == c.decisions);
		p.journal = NULL;
	}
	/* And the baselines are ordered as expected: static wastes the most. */
	assert_true(r[VMP_REPLAY_STATIC].mem_slack_pct > r[VMP_REPLAY_MOM].mem_slack_pct);
	assert_true(r[VMP_REPLAY_MOM].mem_slack_pct > r[VMP_REPLAY_VPA].mem_slack_pct);
	assert_int_equal(r[VMP_REPLAY_STATIC].mem_actions, 0);
	vmp_replay_set_free(set);
	free(dir);
}

/* Writes one file into a fresh temporary directory; returns the directory. */
static char *
temp_trace(const char *name, const char *text)
{
	char tmpl[] = "/tmp/vmp-replay-XXXXXX", *dir, *path;
	FILE *f;

	dir = mkdtemp(tmpl);
	assert_non_null(dir);
	dir = xstrdup(dir);
	path = xasprintf("%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
	return dir;
}

static void
remove_trace(char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);

	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

#define HEADER "Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ]; " \
	"CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB]\n"

static void
test_loader_errors_and_gaps(void **state)
{
	struct vmp_replay_set *set = NULL;
	char *dir, *err = NULL;

	/* A gap of two steps becomes two "off" rows. */
	dir = temp_trace("a.csv", HEADER
			 "1000; 2; 4000; 100; 2.5; 4096; 1024\n"
			 "1300; 2; 4000; 100; 2.5; 4096; 1024\n"
			 "2200; 2; 4000; 100; 2.5; 4096; 1024\n");
	assert_int_equal(vmp_replay_load_dir(dir, 0, 300, &set, &err), 0);
	assert_int_equal(set->vms[0].nsamples, 5);
	assert_true(set->vms[0].samples[2].mem_prov_kib == 0);
	assert_true(set->vms[0].samples[4].mem_prov_kib == 4096);
	vmp_replay_set_free(set);
	remove_trace(dir, "a.csv");

	/* Time going backwards names the file and line. */
	dir = temp_trace("b.csv", HEADER
			 "1000; 2; 4000; 100; 2.5; 4096; 1024\n"
			 "700; 2; 4000; 100; 2.5; 4096; 1024\n");
	assert_true(vmp_replay_load_dir(dir, 0, 300, &set, &err) < 0);
	assert_non_null(strstr(err, "b.csv:3: timestamps go backwards"));
	free(err);
	remove_trace(dir, "b.csv");

	/* Memory columns are required. */
	dir = temp_trace("c.csv", "Timestamp; CPU usage [%]\n1000; 5\n");
	assert_true(vmp_replay_load_dir(dir, 0, 300, &set, &err) < 0);
	assert_non_null(strstr(err, "c.csv: needs memory"));
	free(err);
	remove_trace(dir, "c.csv");

	assert_int_equal(vmp_replay_load_dir("/nonexistent-vmp", 0, 300, &set, &err), -ENOENT);
	assert_non_null(strstr(err, "cannot read trace directory '/nonexistent-vmp'"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_metrics_by_hand),
		cmocka_unit_test(test_policies_shrink_an_idle_vm),
		cmocka_unit_test(test_bundled_bitbrains_comparison),
		cmocka_unit_test(test_loader_errors_and_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
