/* SPDX-License-Identifier: MIT */
/*
 * Tests of the restart-proof state (daemon/state.c) on a real SQLite database in a
 * temporary directory, with the real loop on libvirt's test:///default driver fed
 * recorded observations: the learned state, the budget and migrations in flight come
 * back in a new loop; the first decision of a restored loop is not "learning" where a
 * fresh loop's is; history is downsampled into its tiers; bad files are refused; a
 * corrupt saved state names the field and is not used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "daemon/loop.h"
#include "daemon/state.h"

#define URI "test:///default"
#define MIB 1024ull
#define WALL0 1795000000000ll

struct fx {
	char dir[64], db[96];
	struct vmp_config cfg;
	struct vmp_vm_info info;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vmp-state-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
	vmp_config_init(&f->cfg);
	f->cfg.interval_ms = 1000;
	f->cfg.stale_ms = 3000;
	f->cfg.mem_bounds_widen_pct = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	vmp_config_release(&f->cfg);
	free(f);
	return 0;
}

static struct vmp_loop *
loop_open(struct fx *f)
{
	const char *uris[1] = { URI };
	struct vmp_loop_options o = { .uris = uris, .n_uris = 1, .cfg = &f->cfg, .dry_run = true };
	struct vmp_vm_info *vms = NULL;
	struct vmp_loop *l = NULL;
	char *err = NULL;

	assert_int_equal(vmp_loop_new(&o, &l, &err), 0);
	assert_int_equal(vmp_backend_list_vms(vmp_loop_backend(l, 0), &vms), 1);
	f->info = vms[0];
	free(vms);
	return l;
}

/* One cycle at monotonic time now_ms (wall = WALL0 + now_ms) on a guest using 600 MiB. */
static void
cycle(struct fx *f, struct vmp_loop *l, int64_t now_ms, uint64_t n)
{
	struct vmp_loop_host_obs h = { 0 };
	struct vmp_loop_vm_obs v = { 0 };

	h.stats.mem_total_kib = 24 * 1024 * MIB;
	h.stats.mem_available_kib = 20 * 1024 * MIB;
	h.list_ret = 1;
	h.vms = &v;
	h.n_vms = 1;
	v.info = f->info;
	v.info.memory_current_kib = 2048 * MIB;
	v.info.stats_period_s = 2;
	v.stats.valid = VMP_STAT_BALLOON_ACTUAL | VMP_STAT_MEM_USABLE | VMP_STAT_MEM_UNUSED |
			VMP_STAT_VCPU_TIME;
	v.stats.sample_time_us = now_ms * 1000;
	v.stats.balloon_actual_kib = 2048 * MIB;
	v.stats.mem_usable_kib = 1448 * MIB;
	v.stats.mem_unused_kib = 1400 * MIB - n;
	v.stats.nvcpus = 1;
	v.stats.vcpu_time_ns[0] = (uint64_t)(0.5e9 * (double)n);
	assert_int_equal(vmp_loop_cycle_observed(l, &h, now_ms, WALL0 + now_ms, NULL), 0);
}

struct first {
	const char *reason[3];
	size_t n;
};

static void
get_reasons(void *opaque, const struct vmp_loop_vm_view *v)
{
	struct first *r = opaque;
	size_t i;

	for (i = 0; i < v->n_decisions; i++)
		if (!strcmp(v->decision[i]->resource, "memory_kib"))
			r->reason[r->n++] = vmp_reason_name(v->decision[i]->reason);
}

static const char *
memory_reason(struct vmp_loop *l)
{
	struct first r = { 0 };

	vmp_loop_foreach_vm(l, get_reasons, &r);
	assert_int_equal(r.n, 1);
	return r.reason[0];
}

/* A loop restarted on the database continues with its history; a fresh one learns. */
static void
test_restart_keeps_learned_state(void **state)
{
	struct fx *f = *state;
	struct vmp_loop *a = loop_open(f), *b, *c;
	struct vmp_state *s = NULL;
	struct stat st;
	char *err = NULL;
	uint64_t n;

	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	assert_int_equal(vmp_state_restore(s, a, 1000, WALL0 + 1000, &err), 0);
	for (n = 1; n <= 20; n++) {
		cycle(f, a, (int64_t)n * 1000, n);
		if (n == 1)
			assert_string_equal(memory_reason(a), "learning");
		assert_int_equal(vmp_state_save(s, a, (int64_t)n * 1000, WALL0 + (int64_t)n * 1000,
						&err), 0);
	}
	vmp_state_close(s);
	vmp_loop_free(a);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* A "reboot": the monotonic clock starts again near 0, the wall clock went on. */
	b = loop_open(f);
	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	assert_int_equal(vmp_state_restore(s, b, 500, WALL0 + 30000, &err), 1);
	cycle(f, b, 1500, 21);
	printf("restored loop, first memory decision: %s\n", memory_reason(b));
	assert_string_not_equal(memory_reason(b), "learning");
	vmp_state_close(s);
	vmp_loop_free(b);

	c = loop_open(f);
	cycle(f, c, 1500, 21);
	printf("fresh loop, first memory decision: %s\n", memory_reason(c));
	assert_string_equal(memory_reason(c), "learning");
	vmp_loop_free(c);
}

/* The histories survive bit for bit, with their times shifted to the new clock. */
static void
test_json_round_trip(void **state)
{
	struct fx *f = *state;
	struct vmp_mem_params mp;
	struct vmp_cpu_params cp;
	struct vmp_mem_state m, m2;
	struct vmp_cpu_state c, c2;
	struct vmp_estimate e1, e2;
	char *err = NULL;
	json_t *j;
	int i;

	vmp_config_mem_params(&f->cfg, &mp);
	vmp_config_cpu_params(&f->cfg, &cp);
	assert_int_equal(vmp_mem_state_init(&m, &mp), 0);
	assert_int_equal(vmp_cpu_state_init(&c, &cp), 0);
	for (i = 0; i < 500; i++) {
		vmp_usage_model_add(&m.model, 1e6 + (i % 37) * 1e4, 1, 1000 + i * 60000ll);
		vmp_usage_model_add(&c.model, (i % 7) * 0.3, 1, 1000 + i * 60000ll);
	}
	m.floor_kib = 123456;
	j = vmp_state_vm_to_json(&m, &c, WALL0);
	/* VMP_STATE_SEED=FILE writes this state as the fuzz target's seed. */
	if (getenv("VMP_STATE_SEED"))
		assert_int_equal(json_dump_file(j, getenv("VMP_STATE_SEED"), JSON_COMPACT), 0);
	assert_int_equal(vmp_state_vm_from_json(j, &mp, &cp, WALL0 - 5000, &m2, &c2, &err), 0);
	json_decref(j);
	assert_int_equal(m2.model.samples, m.model.samples);
	assert_int_equal(m2.model.first_ms, m.model.first_ms + 5000);
	assert_int_equal(m2.model.hist.ref_ms, m.model.hist.ref_ms + 5000);
	assert_int_equal(m2.floor_kib, 123456);
	assert_memory_equal(m2.model.hist.w, m.model.hist.w, sizeof(m.model.hist.w));
	vmp_usage_model_estimate(&m.model, &mp.est, &e1);
	vmp_usage_model_estimate(&m2.model, &mp.est, &e2);
	assert_true(e1.target == e2.target && e1.upper == e2.upper);
	vmp_usage_model_estimate(&c.model, &cp.est, &e1);
	vmp_usage_model_estimate(&c2.model, &cp.est, &e2);
	assert_true(e1.target == e2.target && e1.target > 0);
}

/* A saved state with a wrong field is refused, naming it; *mem stays untouched. */
static void
test_json_bad_fields(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *path, *value, *want;
	} cases[] = {
		{ "mem.model.samples", "\"many\"", "mem.model.samples: missing or not an integer" },
		{ "mem.model.total", "-1", "mem.model.total: -1 out of range" },
		{ "mem.model.ratio", "1.5", "saved with another histogram layout" },
		{ "cpu.changed", "1", "cpu.changed: missing or not a boolean" },
		{ "mem.floor_kib", "-5", "mem.floor_kib: -5 out of range" },
		{ "mem.model.w", "[[9999, 1]]", "mem.model.w[0]: not a [bucket, weight] pair" },
	};
	struct vmp_mem_params mp;
	struct vmp_cpu_params cp;
	struct vmp_mem_state m, m2;
	struct vmp_cpu_state c, c2;
	size_t i;

	vmp_config_mem_params(&f->cfg, &mp);
	vmp_config_cpu_params(&f->cfg, &cp);
	vmp_mem_state_init(&m, &mp);
	vmp_cpu_state_init(&c, &cp);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = vmp_state_vm_to_json(&m, &c, 0), *o = j;
		char path[64], *k, *save = NULL, *last = NULL, *err = NULL;

		snprintf(path, sizeof(path), "%s", cases[i].path);
		for (k = strtok_r(path, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
			if (last)
				o = json_object_get(o, last);
			last = k;
		}
		json_object_set_new(o, last, json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
		memset(&m2, 0xa5, sizeof(m2));
		assert_int_equal(vmp_state_vm_from_json(j, &mp, &cp, 0, &m2, &c2, &err), -EINVAL);
		printf("%s = %s: %s\n", cases[i].path, cases[i].value, err);
		assert_non_null(strstr(err, cases[i].want));
		assert_int_equal(m2.floor_kib, 0xa5a5a5a5a5a5a5a5ull);
		free(err);
		json_decref(j);
	}
}

/* The budget spent in the last hour and a migration in flight come back. */
static void
test_budget_and_migration_restored(void **state)
{
	struct fx *f = *state;
	struct vmp_loop *a = loop_open(f), *b;
	struct vmp_state *s = NULL;
	struct vmp_decision d;
	char *err = NULL;
	int i;

	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	for (i = 0; i < 3; i++) {
		vmp_decision_init(&d, "memory_kib", 1);
		vmp_decision_set(&d, VMP_ACT_GROW, VMP_WHY_TARGET, 2);
		assert_true(vmp_budget_gate(vmp_loop_budget(a, 0), VMP_BUDGET_BALLOON, false, false,
					    100000 + i, &d));
	}
	assert_int_equal(vmp_budget_left(vmp_loop_budget(a, 0), VMP_BUDGET_BALLOON, 100010), 117);
	assert_int_equal(vmp_loop_vm_restore(a, 0, "test", NULL, NULL, -1, 0), 0);
	assert_int_equal(vmp_state_save(s, a, 100010, WALL0 + 100010, &err), 0);
	vmp_state_close(s);
	vmp_loop_free(a);

	b = loop_open(f);
	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	assert_int_equal(vmp_state_restore(s, b, 7000, WALL0 + 100010 + 60000, &err), 1);
	assert_int_equal(vmp_budget_left(vmp_loop_budget(b, 0), VMP_BUDGET_BALLOON, 7000), 117);
	assert_int_equal(vmp_budget_left(vmp_loop_budget(b, 0), VMP_BUDGET_BALLOON,
					 7000 + 3600 * 1000), 120);
	vmp_state_close(s);
	vmp_loop_free(b);
}

static void
check_migrating(void *opaque, const struct vmp_loop_vm_view *v)
{
	*(int64_t *)opaque = v->migrating ? v->mig_start_ms : -1;
}

/* A migration in flight keeps its start time (in the new clock). */
static void
test_migration_in_flight(void **state)
{
	struct fx *f = *state;
	struct vmp_loop *a = loop_open(f), *b;
	struct vmp_state *s = NULL;
	char *err = NULL;
	int64_t start = 0;

	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	assert_int_equal(vmp_loop_vm_restore(a, 0, "test", NULL, NULL, 0, 90000), 0);
	assert_int_equal(vmp_state_save(s, a, 100000, WALL0 + 100000, &err), 0);
	vmp_state_close(s);
	vmp_loop_free(a);
	b = loop_open(f);
	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	assert_int_equal(vmp_state_restore(s, b, 5000, WALL0 + 110000, &err), 1);
	vmp_loop_foreach_vm(b, check_migrating, &start);
	assert_int_equal(start, 5000 - 20000);
	vmp_state_close(s);
	vmp_loop_free(b);
}

/* Samples land in every tier, averaged over the tier's step. */
static void
test_history_tiers(void **state)
{
	struct fx *f = *state;
	struct vmp_loop *a = loop_open(f);
	struct vmp_state *s = NULL, *r = NULL;
	json_t *h, *p;
	char *err = NULL;
	uint64_t n;

	assert_int_equal(vmp_state_open(f->db, &s, &err), 0);
	/* 60 cycles, 1 s apart, starting on a 10 s boundary: 6 rows in tier 0. */
	for (n = 1; n <= 60; n++) {
		cycle(f, a, (int64_t)n * 1000, n);
		assert_int_equal(vmp_state_save(s, a, (int64_t)n * 1000, WALL0 + 9000 + n * 1000,
						&err), 0);
	}
	assert_int_equal(vmp_state_open_reader(f->db, &r, &err), 0);
	assert_int_equal(vmp_state_history(r, URI, "test", WALL0, WALL0 + 100000, &h, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(h, "step_ms")), 10000);
	assert_int_equal(json_array_size(json_object_get(h, "points")), 6);
	p = json_array_get(json_object_get(h, "points"), 1);
	assert_int_equal(json_integer_value(json_array_get(p, 0)), WALL0 + 20000);
	assert_int_equal(json_integer_value(json_array_get(p, 1)), 10);
	/* allocation 2048 MiB every cycle; CPU 0.5 cores (after the first cycle) */
	assert_true(json_real_value(json_array_get(p, 3)) == 2048.0 * MIB);
	assert_true(fabs(json_real_value(json_array_get(p, 4)) - 0.5) < 1e-6);
	json_decref(h);
	/* The host's own row. */
	assert_int_equal(vmp_state_history(r, URI, "", WALL0, WALL0 + 100000, &h, &err), 0);
	assert_int_equal(json_array_size(json_object_get(h, "points")), 6);
	p = json_array_get(json_object_get(h, "points"), 0);
	assert_true(json_real_value(json_array_get(p, 3)) == 24.0 * 1024 * MIB);
	json_decref(h);
	/* A window longer than a day reads the 5-minute tier. */
	assert_int_equal(vmp_state_history(r, URI, "test", WALL0 - 2 * 86400000ll, WALL0 + 100000,
					   &h, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(h, "step_ms")), 300000);
	p = json_array_get(json_object_get(h, "points"), 0);
	assert_int_equal(json_integer_value(json_array_get(p, 1)), 60);
	json_decref(h);
	vmp_state_close(r);
	vmp_state_close(s);
	vmp_loop_free(a);
}

/* Symlinks, FIFOs, directories and newer schemas are refused with a clear message. */
static void
test_bad_files(void **state)
{
	struct fx *f = *state;
	struct vmp_state *s = NULL;
	char path[128], *err = NULL;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_true(vmp_state_open(path, &s, &err) < 0);
	printf("%s\n", err);
	assert_non_null(strstr(err, "not a regular file"));
	free(err);
	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink(f->db, path), 0);
	assert_true(vmp_state_open(path, &s, &err) < 0);
	printf("%s\n", err);
	assert_non_null(strstr(err, "symbolic link"));
	free(err);
	assert_int_equal(vmp_state_open(f->dir, &s, &err) < 0, 1);
	free(err);
	snprintf(path, sizeof(path), "%s/missing/state.db", f->dir);
	assert_int_equal(vmp_state_open(path, &s, &err), -ENOENT);
	free(err);
	/* A database written by a newer vmpilot. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(vmp_state_open(f->db, &s, &err), -EPROTO);
	printf("%s\n", err);
	assert_non_null(strstr(err, "schema version 99 is newer"));
	free(err);
	/* Not a database at all. */
	snprintf(path, sizeof(path), "%s/text", f->dir);
	{
		FILE *out = fopen(path, "w");

		fputs("this is not SQLite, but it is long enough to look like a header......\n", out);
		fclose(out);
	}
	assert_true(vmp_state_open(path, &s, &err) < 0);
	printf("%s\n", err);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restart_keeps_learned_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_bad_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_and_migration_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_tiers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
