/* SPDX-License-Identifier: MIT */
/*
 * Tests of the configuration file (src/daemon/config.c): defaults from the key table,
 * the generated sample (doc/vmpilot.conf.sample, a golden file: regenerate with
 * VMP_REGEN_GOLDEN=1), per-VM sections, and every kind of bad input as "file:line:".
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

#include "daemon/config.h"
#include "util/fileio.h"
#include "util/util.h"

static int
parse(const char *text, struct vmp_config *c, char **err)
{
	vmp_config_init(c);
	*err = NULL;
	return vmp_config_parse("t.conf", text, strlen(text), c, err);
}

static void
test_defaults_match_policies(void **state)
{
	struct vmp_config c;
	struct vmp_mem_params mp, md;
	struct vmp_cpu_params cp;
	struct vmp_overcommit_params op;
	struct vmp_ksm_params kp;

	vmp_config_init(&c);
	assert_int_equal(c.interval_ms, 60000);
	assert_string_equal(c.journal, "/var/lib/vmpilot/journal.jsonl");
	assert_false(c.dry_run);
	/* The config's defaults give the policies' own defaults (except the cycle length). */
	vmp_config_mem_params(&c, &mp);
	vmp_mem_params_default(&md);
	assert_true(mp.est.target_frac == md.est.target_frac);
	assert_true(mp.est.margin_frac == md.est.margin_frac);
	assert_true(mp.headroom_frac == md.headroom_frac);
	assert_true(mp.dead_band_frac == md.dead_band_frac);
	assert_true(mp.cooldown_ms == md.cooldown_ms);
	assert_true(mp.step_max_frac == md.step_max_frac);
	assert_true(mp.peak_window_ms == md.peak_window_ms);
	assert_true(mp.pressure_add_kib == md.pressure_add_kib);
	assert_true(mp.floor_margin_frac == md.floor_margin_frac);
	assert_true(mp.floor_add_kib == md.floor_add_kib);
	assert_true(mp.floor_window_ms == md.floor_window_ms);
	assert_true(mp.low_free_frac == md.low_free_frac);
	assert_true(mp.action_gap_ms == md.action_gap_ms);
	assert_true(mp.est.sample_interval_ms == 60000);
	vmp_config_cpu_params(&c, &cp);
	assert_true(cp.saturated_frac == 0.90 && cp.step_max == 1);
	vmp_config_overcommit_params(&c, &op);
	assert_true(op.pressure_free_frac == 0.20 && op.critical_free_frac == 0.05 &&
		    op.step_max_frac == 0.05);
	vmp_config_ksm_params(&c, &kp);
	assert_int_equal(kp.npages_boost, 300);
	assert_int_equal(kp.npages_decay, -50);
	assert_int_equal(kp.npages_min, 64);
	assert_int_equal(kp.npages_max, 1250);
	vmp_config_release(&c);
}

static void
test_sample_is_generated_from_the_table(void **state)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	char *path, *golden = NULL, *now = NULL, *err = NULL;
	const struct vmp_config_key *k;
	struct vmp_config c;
	size_t len = 0;
	FILE *f;

	assert_non_null(dir);
	path = xasprintf("%s/../doc/vmpilot.conf.sample", dir);
	f = open_memstream(&now, &len);
	assert_non_null(f);
	vmp_config_write_sample(f);
	fclose(f);
	if (getenv("VMP_REGEN_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(now, f);
		fclose(f);
	}
	assert_int_equal(vmp_read_file(NULL, path, &golden, NULL), 0);
	if (strcmp(golden, now) != 0)
		fprintf(stderr, "%s differs from the key table: VMP_REGEN_GOLDEN=1 meson test config\n",
			path);
	assert_string_equal(golden, now);
	/* Every key is documented with its default. */
	for (k = vmp_config_keys; k->name; k++) {
		char *line = xasprintf("#%s = %s\n", k->name, k->def);

		assert_non_null(strstr(golden, line));
		free(line);
	}
	/* And the sample, uncommented, is a valid configuration giving the defaults. */
	{
		char *s = xstrdup(golden), *p;

		for (p = s; (p = strstr(p, "\n#")) != NULL; p++)
			if (p[2] != ' ' && p[2] != '\n')
				p[1] = ' ';
		vmp_config_init(&c);
		assert_int_equal(vmp_config_parse("sample", s, strlen(s), &c, &err), 0);
		assert_int_equal(c.mem_headroom_pct, 10);
		assert_int_equal(c.nvms, 1);
		assert_string_equal(c.vms[0].name, "web1");
		vmp_config_release(&c);
		free(s);
	}
	free(golden);
	free(now);
	free(path);
}

/* The KEYS section of vmpilot.conf(5) is the generator's output (a golden file). */
static void
test_man_page_lists_every_key(void **state)
{
	static const char begin[] = ".\\\" BEGIN KEYS (generated: do not edit by hand)\n";
	static const char end[] = ".\\\" END KEYS\n";
	const char *dir = getenv("VMP_TESTS_DIR");
	char *path, *page = NULL, *now = NULL, *b, *e;
	const struct vmp_config_key *k;
	size_t len = 0;
	FILE *f;

	assert_non_null(dir);
	path = xasprintf("%s/../doc/man/vmpilot.conf.5", dir);
	f = open_memstream(&now, &len);
	assert_non_null(f);
	vmp_config_write_man_keys(f);
	fclose(f);
	assert_int_equal(vmp_read_file(NULL, path, &page, NULL), 0);
	b = strstr(page, begin);
	e = strstr(page, end);
	assert_non_null(b);
	assert_non_null(e);
	b += strlen(begin);
	if (getenv("VMP_REGEN_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "%.*s%s%s", (int)(b - page), page, now, e);
		fclose(f);
		free(page);
		assert_int_equal(vmp_read_file(NULL, path, &page, NULL), 0);
		b = strstr(page, begin) + strlen(begin);
		e = strstr(page, end);
	}
	if ((size_t)(e - b) != strlen(now) || strncmp(b, now, strlen(now)) != 0)
		fail_msg("%s: KEYS differ from the key table: VMP_REGEN_GOLDEN=1 meson test config",
			 path);
	/* the EXAMPLES are valid configurations */
	{
		const char *ex[][2] = { { "mode = advise\n", "mode = act\n" },
					{ "[host qemu+tcp://10.0.0.1/system]\n", "49152\n" } };
		struct vmp_config c;
		char *err = NULL;
		size_t i;

		for (i = 0; i < 2; i++) {
			const char *from = strstr(page, ex[i][0]), *to;

			assert_non_null(from);
			to = strstr(from, ex[i][1]);
			assert_non_null(to);
			to += strlen(ex[i][1]);
			vmp_config_init(&c);
			if (vmp_config_parse("vmpilot.conf.5", from, (size_t)(to - from), &c, &err) < 0)
				fail_msg("%s", err);
			if (i == 0) {
				assert_int_equal(c.interval_ms, 30000);
				assert_int_equal(c.nvms, 2);
			}
			vmp_config_release(&c);
		}
	}
	for (k = vmp_config_keys; k->name; k++) {
		char *line = xasprintf(".TP\n.B %s\n", k->name);
		char *p;

		/* roff escapes '-', which no key name has */
		for (p = line; *p; p++)
			assert_true(*p != '-');
		assert_non_null(strstr(b, line));
		free(line);
	}
	free(page);
	free(now);
	free(path);
}

static void
test_values_and_vm_sections(void **state)
{
	struct vmp_config c;
	struct vmp_vm_limits lim;
	char *err;

	assert_int_equal(parse("# comment\n"
			       "interval_ms = 30s   # trailing comment\n"
			       "stale_ms = 1.5m\n"
			       "dry_run = yes\n"
			       "journal = /tmp/j.jsonl\n"
			       "\n"
			       "[vm web1]\n"
			       "mem_min_kib = 1G\n"
			       "mem_max_kib = 8388608\n"
			       "vcpus_max = 4\n"
			       "[vm \"db 2\"]\n"
			       "opt_out = yes\n", &c, &err), 0);
	assert_int_equal(c.interval_ms, 30000);
	assert_int_equal(c.stale_ms, 90000);
	assert_true(c.dry_run);
	assert_string_equal(c.journal, "/tmp/j.jsonl");
	assert_int_equal(c.nvms, 2);
	lim = vmp_config_vm_limits(&c, "web1");
	assert_int_equal(lim.mem_min_kib, 1048576);
	assert_int_equal(lim.mem_max_kib, 8388608);
	assert_int_equal(lim.vcpus_min, 1);
	assert_int_equal(lim.vcpus_max, 4);
	assert_false(lim.opt_out);
	lim = vmp_config_vm_limits(&c, "db 2");
	assert_true(lim.opt_out);
	lim = vmp_config_vm_limits(&c, "other");
	assert_int_equal(lim.mem_max_kib, 0);
	assert_false(lim.opt_out);
	vmp_config_release(&c);
}

/* [host URI] sections: the loop's per-host memory limit and migration data channel. */
static void
test_host_sections(void **state)
{
	struct vmp_config_host_settings h;
	struct vmp_config c;
	char *err = NULL;

	assert_int_equal(parse("interval_ms = 2000\n"
			       "[host qmp:///run/a]\nmem_limit_kib = 614400\n"
			       "[vm web1]\nopt_out = yes\n"
			       "[host qmp:///run/b]\nmigrate_uri = tcp://127.0.0.1:4444\n"
			       "accept_migrations = no\n", &c, &err), 0);
	assert_int_equal(c.nhosts, 2);
	assert_int_equal(c.nvms, 1);
	h = vmp_config_host(&c, "qmp:///run/a");
	assert_int_equal(h.mem_limit_kib, 614400);
	assert_string_equal(h.migrate_uri, "auto");
	assert_true(h.accept_migrations);
	h = vmp_config_host(&c, "qmp:///run/b");
	assert_int_equal(h.mem_limit_kib, 0);
	assert_string_equal(h.migrate_uri, "tcp://127.0.0.1:4444");
	assert_false(h.accept_migrations);
	h = vmp_config_host(&c, "qmp:///run/other");
	assert_int_equal(h.mem_limit_kib, 0);
	assert_null(h.migrate_uri);
	assert_true(h.accept_migrations);
	vmp_config_release(&c);
}

/*
 * Automation modes: advise by default; `mode` is one key name with a row per scope; a
 * VM's effective mode comes from its [vm] section, else its domain metadata, else its
 * [host] section, else the global key; opt_out = yes is off; metadata that names no
 * mode is off.
 */
static void
test_modes(void **state)
{
	enum vmp_mode_source src;
	struct vmp_config c;
	char *err = NULL;

	vmp_config_init(&c);
	assert_int_equal(c.mode, VMP_MODE_ADVISE);
	assert_false(c.dry_run);
	assert_false(c.ksm_enabled);
	assert_int_equal(vmp_config_vm_mode(&c, "qemu:///system", "web1", NULL, &src),
			 VMP_MODE_ADVISE);
	assert_int_equal(src, VMP_MODE_FROM_GLOBAL);
	vmp_config_release(&c);

	assert_int_equal(parse("mode = off\n"
			       "[host qmp:///run/a]\nmode = act\n"
			       "[host qmp:///run/b]\nmode = inherit\n"
			       "[vm web1]\nmode = advise\n"
			       "[vm db]\nmode = act\nopt_out = yes\n"
			       "[vm app]\nvcpus_max = 2\n", &c, &err), 0);
	assert_int_equal(c.mode, VMP_MODE_OFF);
	assert_int_equal(vmp_config_host_mode(&c, "qmp:///run/a"), VMP_MODE_ACT);
	assert_int_equal(vmp_config_host_mode(&c, "qmp:///run/b"), VMP_MODE_OFF);
	assert_int_equal(vmp_config_host_mode(&c, "qmp:///run/c"), VMP_MODE_OFF);
	/* [vm] beats metadata, metadata beats [host], [host] beats global. */
	assert_int_equal(vmp_config_vm_mode(&c, "qmp:///run/a", "web1", "act", &src),
			 VMP_MODE_ADVISE);
	assert_int_equal(src, VMP_MODE_FROM_VM);
	assert_int_equal(vmp_config_vm_mode(&c, "qmp:///run/a", "app", "advise", &src),
			 VMP_MODE_ADVISE);
	assert_int_equal(src, VMP_MODE_FROM_METADATA);
	assert_int_equal(vmp_config_vm_mode(&c, "qmp:///run/a", "app", "", &src), VMP_MODE_ACT);
	assert_int_equal(src, VMP_MODE_FROM_HOST);
	assert_int_equal(vmp_config_vm_mode(&c, "qmp:///run/b", "app", NULL, &src), VMP_MODE_OFF);
	assert_int_equal(src, VMP_MODE_FROM_GLOBAL);
	assert_int_equal(vmp_config_vm_mode(&c, "qmp:///run/a", "db", NULL, &src), VMP_MODE_OFF);
	assert_int_equal(src, VMP_MODE_FROM_VM);
	assert_int_equal(vmp_config_vm_mode(&c, "qmp:///run/a", "x", "yes please", &src),
			 VMP_MODE_OFF);
	assert_int_equal(src, VMP_MODE_FROM_METADATA);
	assert_string_equal(vmp_mode_name(VMP_MODE_ACT), "act");
	assert_int_equal(vmp_mode_parse("advise"), VMP_MODE_ADVISE);
	assert_int_equal(vmp_mode_parse("Act"), -EINVAL);
	vmp_config_release(&c);
}

static void
test_bad_input_names_the_line(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "interval_ms = 60000\nnope = 1\n", "t.conf:2: unknown key 'nope'" },
		{ "mem_dead_band_pct = 150\n",
		  "t.conf:1: 'mem_dead_band_pct' must be between 0 and 100, not 150" },
		{ "interval_ms = 10\n", "t.conf:1: 'interval_ms' must be between 1000 and 3600000" },
		{ "interval_ms = 1x\n", "t.conf:1: 'interval_ms' must be a duration (e.g. 500ms" },
		{ "interval_ms = 1.5ms\n", "t.conf:1: 'interval_ms' must be a duration" },
		{ "interval_ms = 2h\n", "t.conf:1: 'interval_ms' must be between 1000 and 3600000, "
		  "not 7200000" },
		{ "[vm a]\nmem_min_kib = 4GB\n", "t.conf:2: 'mem_min_kib' must be a size (e.g. 512M" },
		{ "journal_max_bytes = 1.5B\n", "t.conf:1: 'journal_max_bytes' must be a size" },
		{ "mem_major_faults_min = 5k\n",
		  "t.conf:1: 'mem_major_faults_min' must be an integer, not '5k'" },
		{ "dry_run = maybe\n", "t.conf:1: 'dry_run' must be yes or no, not 'maybe'" },
		{ "journal =\n", "t.conf:1: 'journal' must not be empty" },
		{ "mode = inherit\n", "t.conf:1: 'mode' must be off, advise or act, not 'inherit'" },
		{ "[vm a]\nmode = on\n",
		  "t.conf:2: 'mode' must be off, advise, act or inherit, not 'on'" },
		{ "[vm a]\nmode = act\nmode = off\n", "t.conf:3: 'mode' is set twice" },
		{ "\n\njust words\n", "t.conf:3: expected 'key = value'" },
		{ "interval_ms = 2000\ninterval_ms = 3000\n", "t.conf:2: 'interval_ms' is set twice" },
		{ "mem_min_kib = 5\n", "t.conf:1: 'mem_min_kib' belongs in a [vm NAME] section" },
		{ "[vm a]\nstale_ms = 5000\n", "t.conf:2: 'stale_ms' is global" },
		{ "[pool a]\n", "t.conf:1: unknown section '[pool a]'" },
		{ "planner = k_sigma=-1\n",
		  "t.conf:1: 'planner' must be default or KEY=VAL,... with the planner's parameters "
		  "(doc/pilot-policy.md), not 'k_sigma=-1'" },
		{ "planner = nope=1\n",
		  "t.conf:1: 'planner' must be default or KEY=VAL,... with the planner's parameters "
		  "(doc/pilot-policy.md), not 'nope=1'" },
		{ "[host a]\ncpu_limit = 5000\n", "t.conf:2: 'cpu_limit' must be between 0 and 4096" },
		{ "mem_limit_kib = 5\n", "t.conf:1: 'mem_limit_kib' belongs in a [host URI] section" },
		{ "[host a]\n[host a]\n", "t.conf:2: duplicate section for host 'a'" },
		{ "[host a]\nmem_min_kib = 1\n", "t.conf:2: 'mem_min_kib' belongs in a [vm NAME]" },
		{ "[host qmp:///a]\nmem_limit_kib = -1\n",
		  "t.conf:2: 'mem_limit_kib' must be between 0 and" },
		{ "[vm a\n", "t.conf:1: section header must end with ']'" },
		{ "[vm a]\n[vm a]\n", "t.conf:2: duplicate section for vm 'a'" },
		{ "[vm ]\n", "t.conf:1: unknown section" },
		{ "host_pressure_free_pct = 10\nhost_critical_free_pct = 20\n",
		  "t.conf: 'host_critical_free_pct' must not exceed 'host_pressure_free_pct'" },
		{ "[vm a]\nmem_min_kib = 10\nmem_max_kib = 5\n",
		  "t.conf: vm 'a': 'mem_min_kib' exceeds 'mem_max_kib'" },
		{ "[vm a]\nvcpus_min = 4\nvcpus_max = 2\n",
		  "t.conf: vm 'a': 'vcpus_min' exceeds 'vcpus_max'" },
	};
	struct vmp_config c;
	size_t i;
	char *err;

	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		assert_int_equal(parse(cases[i].text, &c, &err), -EINVAL);
		if (!strstr(err, cases[i].msg))
			fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, cases[i].msg);
		assert_non_null(strstr(err, cases[i].msg));
		free(err);
		vmp_config_release(&c);
	}
	/* A NUL byte in the middle of a line is refused, not silently cut. */
	vmp_config_init(&c);
	assert_int_equal(vmp_config_parse("t.conf", "dry_run = no\0pe\n", 16, &c, &err), -EINVAL);
	assert_non_null(strstr(err, "t.conf:1: NUL byte"));
	free(err);
	vmp_config_release(&c);
	/* A missing file says which. */
	vmp_config_init(&c);
	assert_int_equal(vmp_config_load("/nonexistent/vmpilot.conf", &c, &err), -ENOENT);
	assert_non_null(strstr(err, "cannot read config '/nonexistent/vmpilot.conf'"));
	free(err);
	vmp_config_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_match_policies),
		cmocka_unit_test(test_sample_is_generated_from_the_table),
		cmocka_unit_test(test_man_page_lists_every_key),
		cmocka_unit_test(test_values_and_vm_sections),
		cmocka_unit_test(test_host_sections),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_bad_input_names_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
