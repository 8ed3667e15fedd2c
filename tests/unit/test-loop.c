/* SPDX-License-Identifier: MIT */
/*
 * Tests of the autopilot loop against libvirt's in-process test:///default driver
 * (one running domain "test": 2 vCPUs, 2 GiB of 8 GiB). The driver reports no guest
 * statistics, so the first test runs whole cycles as they are (stats missing: nothing
 * shrinks, the fault is logged once); the others feed recorded guest statistics as
 * observations (vmp_loop_cycle_observed) while decisions, budget, actuators (the
 * driver's real balloon and vCPU calls) and journal are the real ones. The journal is
 * read back with jansson and with `vmpilot why`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "daemon/hostcmd.h"
#include "daemon/journal.h"
#include "daemon/loop.h"
#include "daemon/publish.h"
#include "util/util.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define URI "test:///default"
static char uri2[1024];     /* test:///.../tests/data/libvirt/host2.xml: an empty host */
#define MIB 1024ull

struct fx {
	struct vmp_config cfg;
	struct vmp_loop *l;
	FILE *journal;
	struct vmp_journal *jw;         /* writing to journal's fd */
	int logs;
	char last_log[512];
	struct vmp_vm_info info;   /* the domain as listed at setup */
	const char *ksm_root;      /* a fixture sysfs tree, or NULL */
	int64_t now_ms;
};

static void
count_log(void *opaque, enum vmp_log_level level, const char *msg)
{
	struct fx *f = opaque;

	f->logs++;
	snprintf(f->last_log, sizeof(f->last_log), "%s", msg);
}

static void
fx_open(struct fx *f, bool dry_run, size_t n_hosts)
{
	const char *uris[2] = { URI, uri2 };
	struct vmp_loop_options o = {
		.uris = uris, .n_uris = n_hosts, .cfg = &f->cfg, .dry_run = dry_run,
		.ksm_root = f->ksm_root, .log = count_log, .opaque = f,
	};
	struct vmp_vm_info *vms = NULL;
	char *err = NULL;
	int n;

	f->journal = tmpfile();
	assert_non_null(f->journal);
	vmp_journal_close(f->jw); /* a test that opens the loop twice */
	f->jw = vmp_journal_open_fd(fileno(f->journal));
	o.journal = f->jw;
	assert_int_equal(vmp_loop_new(&o, &f->l, &err), 0);
	/* The test driver keeps its state while a connection is open: reset it. */
	assert_int_equal(vmp_backend_set_balloon(vmp_loop_backend(f->l, 0), "test", 2048 * MIB), 0);
	assert_int_equal(vmp_backend_set_vcpus(vmp_loop_backend(f->l, 0), "test", 2), 0);
	n = vmp_backend_list_vms(vmp_loop_backend(f->l, 0), &vms);
	assert_int_equal(n, 1);
	f->info = vms[0];
	free(vms);
	f->now_ms = 1000000;
}

/* Adds sections to the test's config through the real parser. */
static void
cfg_sections(struct fx *f, const char *text)
{
	char *err = NULL;

	if (vmp_config_parse("test.conf", text, strlen(text), &f->cfg, &err) < 0)
		fail_msg("%s", err);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	vmp_config_init(&f->cfg);
	f->cfg.interval_ms = 1000;
	f->cfg.stale_ms = 3000;
	/* These tests drive the acting loop; the modes have tests of their own. */
	f->cfg.mode = VMP_MODE_ACT;
	f->cfg.ksm_enabled = true;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	vmp_loop_free(f->l);
	vmp_journal_close(f->jw);
	if (f->journal)
		fclose(f->journal);
	vmp_config_release(&f->cfg);
	free(f);
	return 0;
}

/* The journal's lines as a JSON array. */
static json_t *
journal_lines(struct fx *f)
{
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;

	fflush(f->journal);
	rewind(f->journal);
	while (getline(&line, &cap, f->journal) > 0) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e);

		if (!o)
			fail_msg("journal line is not JSON: %s: %s", e.text, line);
		json_array_append_new(all, o);
	}
	free(line);
	fseek(f->journal, 0, SEEK_END);
	return all;
}

/* The last journal entry matching policy (and resource, if not NULL). */
static json_t *
last_entry(json_t *all, const char *policy, const char *resource)
{
	json_t *o, *found = NULL;
	size_t i;

	json_array_foreach(all, i, o) {
		const char *p = json_string_value(json_object_get(o, "policy"));
		const char *r = json_string_value(json_object_get(o, "resource"));

		if (policy && (!p || strcmp(p, policy)))
			continue;
		if (resource && (!r || strcmp(r, resource)))
			continue;
		found = o;
	}
	return found;
}

static const char *
s_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static uint64_t
current_kib(struct fx *f)
{
	struct vmp_vm_info *vms = NULL;
	uint64_t kib;

	assert_int_equal(vmp_backend_list_vms(vmp_loop_backend(f->l, 0), &vms), 1);
	kib = vms[0].memory_current_kib;
	free(vms);
	return kib;
}

static unsigned
current_vcpus(struct fx *f)
{
	struct vmp_vm_info *vms = NULL;
	unsigned n;

	assert_int_equal(vmp_backend_list_vms(vmp_loop_backend(f->l, 0), &vms), 1);
	n = vms[0].vcpus_current;
	free(vms);
	return n;
}

/*
 * One recorded guest sample: balloon actual = the current size, the guest has
 * avail_kib available; CPU time grows by busy_cores × 1 s per cycle.
 */
static void
obs_make(struct fx *f, struct vmp_loop_host_obs *h, struct vmp_loop_vm_obs *v,
	 uint64_t actual_kib, uint64_t avail_kib, double busy_cores, uint64_t cycle)
{
	memset(h, 0, sizeof(*h));
	memset(v, 0, sizeof(*v));
	h->stats_ret = 0;
	h->stats.mem_total_kib = 24 * 1024 * MIB;
	h->stats.mem_available_kib = 20 * 1024 * MIB;
	h->list_ret = 1;
	h->vms = v;
	h->n_vms = 1;
	v->info = f->info;
	v->info.memory_current_kib = actual_kib;
	v->info.vcpus_current = current_vcpus(f);
	v->info.stats_period_s = 2;
	v->stats.valid = VMP_STAT_BALLOON_ACTUAL | VMP_STAT_MEM_USABLE | VMP_STAT_MEM_UNUSED |
			 VMP_STAT_MEM_AVAILABLE | VMP_STAT_VCPU_TIME | VMP_STAT_SWAP;
	v->stats.sample_time_us = (int64_t)cycle * 1000000;
	v->stats.balloon_actual_kib = actual_kib;
	v->stats.mem_available_kib = actual_kib - 50 * MIB;
	v->stats.mem_usable_kib = avail_kib;
	v->stats.mem_unused_kib = avail_kib - cycle; /* a live guest: always a little different */
	v->stats.nvcpus = 1;
	v->stats.vcpu_time_ns[0] = (uint64_t)(busy_cores * 1e9 * (double)cycle);
}

static void
cycle_obs(struct fx *f, struct vmp_loop_host_obs *h, struct vmp_loop_report *rep)
{
	f->now_ms += 1000;
	assert_int_equal(vmp_loop_cycle_observed(f->l, h, f->now_ms, 1795000000000 + f->now_ms,
						 rep), 0);
}

/* Whole cycles on the driver as it is: stats missing, nothing shrinks, logged once. */
static void
test_real_cycles_without_stats(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_report rep;
	json_t *all, *e;
	int i;

	fx_open(f, false, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(vmp_loop_cycle(f->l, f->now_ms += 1000, 1795000000000, &rep), 0);
	assert_int_equal(rep.hosts_ok, 1);
	assert_int_equal(rep.vms_seen, 1);
	assert_int_equal(rep.actions, 0);
	assert_int_equal(current_kib(f), 2048 * MIB);
	/*
	 * One host fault (no host stats on this driver); the VM's balloon statistics
	 * period was 0: set to balloon_stats_period_ms once (logged, journaled as an
	 * intent then as done), then its fault "waiting for the first report", then (the
	 * driver never reports guest stats) "missing fields" once.
	 */
	assert_int_equal(f->logs, 4);
	assert_non_null(strstr(f->last_log, "memory stats missing fields"));
	all = journal_lines(f);
	e = last_entry(all, "stats-period", "stats_period_s");
	assert_non_null(e);
	assert_string_equal(s_of(e, "action"), "set");
	assert_true(json_number_value(json_object_get(e, "from")) == 0);
	assert_true(json_number_value(json_object_get(e, "to")) == 5);
	assert_true(json_is_true(json_object_get(e, "acted")));
	/* The first line is the host's fault (an event), then the intent of the set. */
	assert_string_equal(s_of(json_array_get(all, 0), "event"), "backend_error");
	assert_true(json_is_true(json_object_get(json_array_get(all, 1), "intent")));
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_non_null(e);
	assert_string_equal(s_of(e, "action"), "none");
	assert_string_equal(s_of(e, "reason"), "stats_missing");
	assert_string_equal(s_of(json_array_get(json_object_get(e, "rejected"), 0), "alternative"),
			    "shrink");
	/* Memory and vCPU non-actions, each written once, not once per cycle (and the
	 * stats period's two lines); and one event per fault, not one per cycle. */
	{
		size_t n_events = 0, k;
		json_t *x;

		json_array_foreach(all, k, x)
			n_events += s_of(x, "event") != NULL;
		assert_int_equal(json_array_size(all) - n_events, 4);
		assert_int_equal(n_events, 3);
	}
	json_decref(all);
}

/* A guest with almost no memory available gets its balloon raised at once. */
static void
test_pressure_grows_balloon(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;

	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 2048 * MIB / 2, 0.1, 1);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 2);   /* 2 % available */
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 1);
	assert_true(current_kib(f) > 2048 * MIB + 100 * MIB - 1);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_non_null(e);
	assert_string_equal(s_of(e, "action"), "grow");
	assert_string_equal(s_of(e, "reason"), "guest_pressure");
	assert_true(json_is_true(json_object_get(e, "acted")));
	assert_true(json_is_null(json_object_get(e, "error")));
	assert_string_equal(s_of(e, "host"), URI);
	assert_true(json_number_value(json_object_get(e, "from")) == 2048 * MIB);
	assert_true(json_number_value(json_object_get(e, "to")) == current_kib(f));
	assert_true(json_is_object(json_object_get(e, "inputs")));
	json_decref(all);
}

static void
test_dry_run_does_not_act(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;

	fx_open(f, true, 1);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 1);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	assert_int_equal(current_kib(f), 2048 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "action"), "grow");
	assert_true(json_is_true(json_object_get(e, "dry_run")));
	assert_false(json_is_true(json_object_get(e, "acted")));
	json_decref(all);
}

/*
 * Modes: in advise (the default) a needed grow is journaled and published as a
 * recommendation but not carried out; the VM's metadata saying off silences it; its
 * [vm] section saying act (after a reload) carries the grow out.
 */
static void
test_modes_advise_then_act(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	struct vmp_config act;
	json_t *all, *e, *st, *vm, *d;
	char *err = NULL;
	size_t lines;

	f->cfg.mode = VMP_MODE_ADVISE;
	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 1);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	assert_int_equal(current_kib(f), 2048 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "action"), "grow");
	assert_string_equal(s_of(e, "mode"), "advise");
	assert_false(json_is_true(json_object_get(e, "dry_run")));
	assert_false(json_is_true(json_object_get(e, "acted")));
	lines = json_array_size(all);
	json_decref(all);
	st = vmp_loop_status(f->l);
	vm = json_array_get(json_object_get(json_array_get(json_object_get(st, "hosts"), 0), "vms"), 0);
	assert_string_equal(s_of(vm, "name"), "test");
	assert_string_equal(s_of(vm, "mode"), "advise");
	assert_string_equal(s_of(vm, "mode_source"), "config global");
	d = json_array_get(json_object_get(vm, "decisions"), 0);
	assert_string_equal(s_of(d, "action"), "grow");
	assert_false(json_is_true(json_object_get(d, "acted")));
	json_decref(st);

	/* Metadata off: no journal line, no action, published as off. */
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 2);
	snprintf(v.info.mode, sizeof(v.info.mode), "off");
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	all = journal_lines(f);
	assert_int_equal(json_array_size(all), lines);
	json_decref(all);
	st = vmp_loop_status(f->l);
	vm = json_array_get(json_object_get(json_array_get(json_object_get(st, "hosts"), 0), "vms"), 0);
	assert_string_equal(s_of(vm, "mode"), "off");
	assert_string_equal(s_of(vm, "mode_source"), "domain metadata");
	assert_false(json_is_true(json_object_get(vm, "managed")));
	json_decref(st);

	/* One line of config: this VM acts. */
	vmp_config_init(&act);
	assert_int_equal(vmp_config_parse("t.conf", "[vm test]\nmode = act\n", 21, &act, &err), 0);
	act.interval_ms = 1000;
	act.stale_ms = 3000;
	vmp_loop_set_config(f->l, &act);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 3);
	snprintf(v.info.mode, sizeof(v.info.mode), "off");
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 1);
	assert_true(current_kib(f) > 2048 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "mode"), "act");
	assert_true(json_is_true(json_object_get(e, "acted")));
	json_decref(all);
	vmp_loop_free(f->l);
	f->l = NULL;
	vmp_config_release(&act);
}

/* The not_managed text of the only VM in the loop's published status (new string). */
static char *
not_managed(struct fx *f)
{
	json_t *st = vmp_loop_status(f->l), *vm;
	char *s;

	vm = json_array_get(json_object_get(json_array_get(json_object_get(st, "hosts"), 0), "vms"), 0);
	s = xstrdup(json_is_string(json_object_get(vm, "not_managed")) ?
		    json_string_value(json_object_get(vm, "not_managed")) : "");
	assert_false(json_is_true(json_object_get(vm, "managed")) && *s);
	json_decref(st);
	return s;
}

/*
 * When the stats period cannot be switched on, the VM's status says why it is not
 * managed and how to fix it: no balloon device; the key set to 0.
 */
static void
test_stats_period_cannot(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	char *why;

	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 1);
	v.info.has_balloon = false;
	v.info.stats_period_s = 0;
	v.stats.valid = VMP_STAT_VCPU_TIME;
	cycle_obs(f, &h, &rep);
	why = not_managed(f);
	assert_non_null(strstr(why, "no balloon device"));
	assert_non_null(strstr(why, "fix: add <memballoon model='virtio'>"));
	free(why);

	f->cfg.balloon_stats_period_ms = 0;
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 2);
	v.info.stats_period_s = 0;
	v.stats.valid = VMP_STAT_VCPU_TIME;
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	why = not_managed(f);
	assert_non_null(strstr(why, "balloon_stats_period_ms = 0"));
	assert_non_null(strstr(why, "fix: virsh dommemstat test --period 5 --live --config"));
	free(why);
}

/* An idle guest shrinks step by step down to its floor (mem_min), never below. */
static void
test_idle_shrinks_to_floor(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;
	uint64_t cur = 2048 * MIB;
	int i, shrinks = 0;

	f->cfg.mem_bounds_widen_pct = 0;
	f->cfg.mem_cooldown_ms = 0;
	f->cfg.mem_peak_window_ms = 60000;
	f->cfg.mem_step_max_pct = 25;   /* small steps, so the walk down takes several */
	f->cfg.mem_dead_band_pct = 10;
	cfg_sections(f, "[vm test]\nmem_min_kib = 1048576\n");
	fx_open(f, false, 1);
	for (i = 1; i <= 12; i++) {
		/* The guest uses 300 MiB whatever its size. */
		obs_make(f, &h, &v, cur, cur - 300 * MIB, 0.05, (uint64_t)i);
		cycle_obs(f, &h, &rep);
		if (current_kib(f) < cur)
			shrinks++;
		cur = current_kib(f);
		assert_true(cur >= 1024 * MIB);
	}
	assert_true(shrinks >= 2);
	assert_int_equal(cur, 1024 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "action"), "none");
	assert_string_equal(s_of(e, "reason"), "at_bound");
	json_decref(all);
}

/*
 * Stats that stop changing are stale: no shrink, however idle the guest looks. The
 * budget holds the shrink back while the samples are fresh; once it allows actions
 * the samples are frozen, and only a fresh one lets the shrink through.
 */
static void
test_stale_stats_never_shrink(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;
	int i;

	f->cfg.mem_bounds_widen_pct = 0;
	f->cfg.mem_cooldown_ms = 0;
	f->cfg.mem_peak_window_ms = 60000;
	f->cfg.stale_ms = 1000;
	f->cfg.budget_balloons_per_hour = 0;
	fx_open(f, false, 1);
	for (i = 1; i <= 3; i++) {
		obs_make(f, &h, &v, 2048 * MIB, 1800 * MIB, 0.05, (uint64_t)i);
		cycle_obs(f, &h, &rep);
	}
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "reason"), "budget");
	json_decref(all);
	f->cfg.budget_balloons_per_hour = 60;
	vmp_loop_set_config(f->l, &f->cfg);
	for (i = 0; i < 5; i++) {
		obs_make(f, &h, &v, 2048 * MIB, 1800 * MIB, 0.05, 3); /* the same sample */
		cycle_obs(f, &h, &rep);
		assert_int_equal(rep.actions, 0);
	}
	assert_int_equal(current_kib(f), 2048 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "reason"), "stats_missing");
	json_decref(all);
	obs_make(f, &h, &v, 2048 * MIB, 1800 * MIB, 0.05, 4);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 1);
	assert_true(current_kib(f) < 2048 * MIB);
}

/* A saturated single vCPU gets a second one through the driver. */
static void
test_saturated_vcpu_hot_add(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;

	f->cfg.cpu_steal_max_pct = 100;
	fx_open(f, false, 1);
	assert_int_equal(vmp_backend_set_vcpus(vmp_loop_backend(f->l, 0), "test", 1), 0);
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 1.0, 1);
	cycle_obs(f, &h, &rep);
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 1.0, 2);
	cycle_obs(f, &h, &rep);
	assert_int_equal(current_vcpus(f), 2);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-vcpus", "vcpus");
	assert_string_equal(s_of(e, "action"), "grow");
	assert_string_equal(s_of(e, "reason"), "saturated");
	assert_true(json_number_value(json_object_get(e, "to")) == 2);
	json_decref(all);
}

/* The budget stops the second balloon change of the hour, and says so. */
static void
test_budget_spent(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;
	uint64_t after_first;

	f->cfg.budget_balloons_per_hour = 1;
	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 1);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 1);
	after_first = current_kib(f);
	obs_make(f, &h, &v, after_first, 40 * MIB, 0.1, 2);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	assert_int_equal(current_kib(f), after_first);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	assert_string_equal(s_of(e, "reason"), "budget");
	json_decref(all);
}

/* Faults: failed stats logged once and skipped; a migrating VM untouched; a VM gone. */
static void
test_faults(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	json_t *all, *e;
	int i;

	fx_open(f, false, 1);
	for (i = 1; i <= 3; i++) {
		obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, (uint64_t)i);
		v.stats_ret = -ETIMEDOUT;
		snprintf(v.error, sizeof(v.error), "cannot get stats of vm 'test': timed out");
		cycle_obs(f, &h, &rep);
		assert_int_equal(rep.actions, 0);
		assert_int_equal(rep.vms_skipped, 1);
	}
	assert_int_equal(f->logs, 1);
	assert_non_null(strstr(f->last_log, "timed out"));
	/* Migrating: pressure or not, hands off. */
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 4);
	v.info.state = VMP_VM_MIGRATING;
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.actions, 0);
	assert_int_equal(current_kib(f), 2048 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "loop", "memory_kib");
	assert_non_null(e);
	assert_string_equal(s_of(e, "reason"), "migrating");
	json_decref(all);
	/* The host cannot list: skipped, logged once, next cycle fine. */
	memset(&h, 0, sizeof(h));
	h.list_ret = -ECONNRESET;
	snprintf(h.error, sizeof(h.error), "cannot list vms: connection reset");
	cycle_obs(f, &h, &rep);
	cycle_obs(f, &h, &rep);
	assert_int_equal(rep.hosts_failed, 1);
	/* The VM is gone from the list. */
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 5);
	h.n_vms = 0;
	cycle_obs(f, &h, &rep);
	assert_non_null(strstr(f->last_log, "vm test: no longer listed"));
}

/*
 * The cluster planner (core/pilot.c) in the loop. Two hosts: the first over its memory
 * limit with nothing to reclaim: the planner moves the VM (once the VM has a CPU
 * sample: before that it counts at its size and is not moved).
 */
static void
test_planner_memory_relief(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h[2];
	struct vmp_loop_vm_obs v[2];
	struct vmp_loop_report rep;
	json_t *all, *e;
	uint64_t c;

	cfg_sections(f, "[vm test]\nmem_min_kib = 2097152\n[host " URI "]\nmem_limit_kib = 2252800\n");
	fx_open(f, true, 2);   /* dry run: the test driver cannot migrate */
	for (c = 1; c <= 2; c++) {
		obs_make(f, &h[0], &v[0], 2048 * MIB, 1024 * MIB, 0.1, c);
		obs_make(f, &h[1], &v[1], 2048 * MIB, 1024 * MIB, 0.1, c);
		h[0].cpus = h[1].cpus = 4;
		h[1].n_vms = 0;   /* host 2: empty, 24 GiB */
		cycle_obs(f, h, &rep);
		all = journal_lines(f);
		e = last_entry(all, "planner", "migration");
		if (c == 1)
			assert_null(e);
		else
			assert_non_null(e);
		if (c == 1)
			json_decref(all);
	}
	assert_string_equal(s_of(e, "action"), "set");
	assert_string_equal(s_of(e, "reason"), "host_pressure");
	assert_true(json_is_true(json_object_get(e, "dry_run")));
	assert_true(json_is_false(json_object_get(e, "acted")));
	assert_string_equal(s_of(e, "vm"), "test");
	assert_true(json_number_value(json_object_get(e, "to")) == 1);
	assert_string_equal(s_of(json_object_get(e, "inputs"), "move"), "relieve-memory");
	assert_non_null(strstr(s_of(json_object_get(e, "inputs"), "planner"),
			       "relieve-memory: host " URI " at "));
	json_decref(all);
}

/*
 * Two hosts: the first's CPUs overloaded (cpu_limit 1 core, 95 % used, forecast above
 * capacity): the planner relieves it.
 */
static void
test_planner_cpu_relief(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h[2];
	struct vmp_loop_vm_obs v[2];
	struct vmp_loop_report rep;
	json_t *all, *e;
	uint64_t c;

	cfg_sections(f, "[host " URI "]\ncpu_limit = 1\n");
	fx_open(f, true, 2);
	for (c = 1; c <= 3; c++) {
		obs_make(f, &h[0], &v[0], 2048 * MIB, 1024 * MIB, 0.95, c);
		obs_make(f, &h[1], &v[1], 2048 * MIB, 1024 * MIB, 0.95, c);
		h[1].n_vms = 0;
		h[1].cpus = 4;
		cycle_obs(f, h, &rep);
	}
	all = journal_lines(f);
	e = last_entry(all, "planner", "migration");
	assert_non_null(e);
	assert_string_equal(s_of(e, "reason"), "host_overload");
	assert_string_equal(s_of(e, "action"), "set");
	assert_string_equal(s_of(e, "vm"), "test");
	assert_true(json_number_value(json_object_get(e, "to")) == 1);
	assert_string_equal(s_of(json_object_get(e, "inputs"), "move"), "relieve");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(e, "checks"), 0),
						 "crossed")));
	json_decref(all);
}

/*
 * Under the relief threshold nothing is relieved, but a host whose forecast is under
 * low_frac (0.95 of 2 cores: 48 % < 60 %) is emptied onto the other (consolidation);
 * with the other host refusing VMs, nothing moves.
 */
static void
test_planner_consolidates(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h[2];
	struct vmp_loop_vm_obs v[2];
	struct vmp_loop_report rep;
	json_t *all, *e;
	uint64_t c;
	char *sec = xasprintf("[host " URI "]\ncpu_limit = 2\n[host %s]\naccept_migrations = %s\n",
			      uri2, "no");

	cfg_sections(f, sec);
	free(sec);
	fx_open(f, true, 2);
	for (c = 1; c <= 3; c++) {
		obs_make(f, &h[0], &v[0], 2048 * MIB, 1024 * MIB, 0.95, c);
		obs_make(f, &h[1], &v[1], 2048 * MIB, 1024 * MIB, 0.95, c);
		h[1].n_vms = 0;
		h[1].cpus = 4;
		cycle_obs(f, h, &rep);
	}
	all = journal_lines(f);
	assert_null(last_entry(all, "planner", "migration"));
	json_decref(all);
	vmp_loop_free(f->l);
	f->l = NULL;
	vmp_journal_close(f->jw);
	f->jw = NULL;
	fclose(f->journal);
	f->journal = NULL;

	vmp_config_release(&f->cfg);
	vmp_config_init(&f->cfg);
	f->cfg.interval_ms = 1000;
	f->cfg.stale_ms = 3000;
	cfg_sections(f, "[host " URI "]\ncpu_limit = 2\n");
	fx_open(f, true, 2);
	for (c = 1; c <= 3; c++) {
		obs_make(f, &h[0], &v[0], 2048 * MIB, 1024 * MIB, 0.95, c);
		obs_make(f, &h[1], &v[1], 2048 * MIB, 1024 * MIB, 0.95, c);
		h[1].n_vms = 0;
		h[1].cpus = 4;
		cycle_obs(f, h, &rep);
	}
	all = journal_lines(f);
	e = last_entry(all, "planner", "migration");
	assert_non_null(e);
	assert_string_equal(s_of(e, "reason"), "consolidate");
	assert_string_equal(s_of(json_object_get(e, "inputs"), "move"), "consolidate");
	assert_true(json_is_true(json_object_get(json_object_get(e, "inputs"), "empties_source")));
	json_decref(all);
}

/* The operator's host power commands: "$1" is the host, a deadline, the outcome said. */
static void
test_host_command(void **state)
{
	char dir[] = "/tmp/vmp-hostcmd-XXXXXX", *cmd, *out, *msg = NULL;
	char buf[256] = "";
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	out = xasprintf("%s/calls", dir);
	cmd = xasprintf("echo called >> %s; echo", out);
	assert_int_equal(vmp_hostcmd_run(cmd, "qemu+tcp://h1/system", 5000, &msg), 0);
	fp = fopen(out, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "called\n");
	free(cmd);
	cmd = xasprintf("test \"$1\" = 'a b' && exit 3; echo");
	assert_int_equal(vmp_hostcmd_run(cmd, "a b", 5000, &msg), -EIO);
	assert_string_equal(msg, "exited with status 3");
	free(msg);
	msg = NULL;
	assert_int_equal(vmp_hostcmd_run("sleep 5; echo", "h", 200, &msg), -ETIMEDOUT);
	assert_string_equal(msg, "ran over 200 ms: killed");
	free(msg);
	free(cmd);
	unlink(out);
	free(out);
	rmdir(dir);
}

/* A fixture KSM sysfs tree under dir; advisor: with advisor_mode. */
static void
ksm_tree(const char *dir, bool advisor)
{
	static const char *const files[][2] = {
		{ "run", "0\n" }, { "pages_to_scan", "100\n" }, { "sleep_millisecs", "20\n" },
		{ "advisor_mode", "[none] scan-time\n" }, { "advisor_max_cpu", "70\n" },
		{ "advisor_target_scan_time", "200\n" },
	};
	char path[512];
	size_t i;

	snprintf(path, sizeof(path), "mkdir -p %s/sys/kernel/mm/ksm", dir);
	assert_int_equal(system(path), 0);
	for (i = 0; i < (advisor ? 6 : 3); i++) {
		FILE *out;

		snprintf(path, sizeof(path), "%s/sys/kernel/mm/ksm/%s", dir, files[i][0]);
		out = fopen(path, "w");
		assert_non_null(out);
		fputs(files[i][1], out);
		fclose(out);
	}
}

static unsigned long
ksm_value(const char *dir, const char *name)
{
	char path[512];
	unsigned long v = 0;
	FILE *in;

	snprintf(path, sizeof(path), "%s/sys/kernel/mm/ksm/%s", dir, name);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_int_equal(fscanf(in, "%lu", &v), 1);
	fclose(in);
	return v;
}

/*
 * KSM on a fixture sysfs tree: the host's VMs commit more than it has and its free
 * memory is low: KSM runs and pages_to_scan gets ksmtuned's boost; the old values
 * come back when the loop ends.
 */
static void
test_ksm_boost_and_restore(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	char dir[] = "/tmp/vmp-test-ksm-XXXXXX", cmd[128];
	json_t *all, *e;

	assert_non_null(mkdtemp(dir));
	ksm_tree(dir, false);
	f->ksm_root = dir;
	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 1);
	h.stats.mem_total_kib = 2560 * MIB;     /* 2 GiB committed + 20 % >= 2.5 GiB */
	h.stats.mem_available_kib = 300 * MIB;  /* under 20 % free */
	cycle_obs(f, &h, &rep);
	assert_int_equal(ksm_value(dir, "run"), 1);
	assert_int_equal(ksm_value(dir, "pages_to_scan"), 400);
	all = journal_lines(f);
	e = last_entry(all, "ksm", "ksm_pages_to_scan");
	assert_non_null(e);
	assert_string_equal(s_of(e, "action"), "grow");
	assert_string_equal(s_of(e, "reason"), "ksm_tune");
	assert_true(json_is_true(json_object_get(e, "acted")));
	json_decref(all);
	vmp_loop_free(f->l);
	f->l = NULL;
	assert_int_equal(ksm_value(dir, "run"), 0);
	assert_int_equal(ksm_value(dir, "pages_to_scan"), 100);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* With the kernel's advisor, KSM runs under it and pages_to_scan is left to the kernel. */
static void
test_ksm_advisor(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	char dir[] = "/tmp/vmp-test-ksm-XXXXXX", cmd[128], mode[64] = "";
	FILE *in;

	assert_non_null(mkdtemp(dir));
	ksm_tree(dir, true);
	f->ksm_root = dir;
	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 1);
	h.stats.mem_total_kib = 2560 * MIB;
	h.stats.mem_available_kib = 300 * MIB;
	cycle_obs(f, &h, &rep);
	assert_int_equal(ksm_value(dir, "run"), 1);
	assert_int_equal(ksm_value(dir, "pages_to_scan"), 100);
	snprintf(cmd, sizeof(cmd), "%s/sys/kernel/mm/ksm/advisor_mode", dir);
	in = fopen(cmd, "r");
	assert_non_null(in);
	assert_non_null(fgets(mode, sizeof(mode), in));
	fclose(in);
	assert_string_equal(mode, "scan-time");
	vmp_loop_free(f->l);
	f->l = NULL;
	assert_int_equal(ksm_value(dir, "run"), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Knob ownership (host/owner.h): with ksmtuned and Proxmox's pvestatd running on the
 * local host (as /proc shows them), the loop writes neither KSM nor a balloon, and says
 * which service owns each and how to hand it over.
 */
static void
test_owned_knobs_left_alone(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	char dir[] = "/tmp/vmp-test-ksm-XXXXXX", cmd[256];
	json_t *all, *e;

	assert_non_null(mkdtemp(dir));
	ksm_tree(dir, false);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/proc/812 %s/proc/1500 && echo ksmtuned > %s/proc/812/comm && "
		 "echo pvestatd > %s/proc/1500/comm", dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	f->ksm_root = dir;
	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 1); /* guest pressure: would grow */
	h.stats.mem_total_kib = 2560 * MIB;                 /* host pressure: would boost KSM */
	h.stats.mem_available_kib = 300 * MIB;
	cycle_obs(f, &h, &rep);
	assert_int_equal(ksm_value(dir, "run"), 0);
	assert_int_equal(ksm_value(dir, "pages_to_scan"), 100);
	assert_non_null(strstr(f->last_log, "owned by ksmtuned"));
	assert_non_null(strstr(f->last_log, "systemctl disable --now ksmtuned"));
	assert_int_equal(current_kib(f), 2048 * MIB);
	all = journal_lines(f);
	e = last_entry(all, "rightsize-memory", "memory_kib");
	if (!e) /* host pressure may turn the grow into the overcommit plan's decision */
		e = last_entry(all, "overcommit", "memory_kib");
	assert_non_null(e);
	assert_false(json_is_true(json_object_get(e, "acted")));
	assert_non_null(strstr(s_of(e, "error"), "another service owns"));
	json_decref(all);
	vmp_loop_free(f->l);
	f->l = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* `vmpilot why` reads the journal back: the decision and its reason. */
static void
test_why(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	char path[64], *out = NULL, *err = NULL;
	size_t outlen = 0, i;
	json_t *entries = NULL, *e;
	struct vmp_journal_query q = { .vm = "test", .all = true };
	FILE *o;

	fx_open(f, false, 1);
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 1);
	cycle_obs(f, &h, &rep);
	fflush(f->journal);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fileno(f->journal));
	assert_int_equal(vmp_journal_query(path, &q, &entries, &err), 0);
	/* The grow's intent (written and synced before acting), its outcome, the vCPUs. */
	assert_int_equal(json_array_size(entries), 3);
	assert_true(json_is_true(json_object_get(json_array_get(entries, 0), "intent")));
	o = open_memstream(&out, &outlen);
	json_array_foreach(entries, i, e)
		vmp_journal_explain(e, o);
	fclose(o);
	assert_non_null(strstr(out, "test rightsize-memory: grow"));
	assert_non_null(strstr(out, "guest_pressure"));
	assert_non_null(strstr(out, "guest_free_frac"));
	free(out);
	json_decref(entries);
}

/*
 * The journal cannot be written (a real kernel fault: RLIMIT_FSIZE makes every write
 * fail): no action is taken, the loop runs as dry run and says so once; when writing
 * works again it says so in the journal and acts, each action after its intent line.
 */
static void
test_journal_failure_means_dry_run(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	struct rlimit old, zero;
	char dir[] = "/tmp/vmp-loopj-XXXXXX", path[64], *err = NULL;
	struct vmp_journal *j = NULL;
	const struct vmp_loop_counters *c;
	uint64_t before;
	json_t *all = NULL, *e;
	size_t i;
	int intent_at = -1, outcome_at = -1, recovered_at = -1;
	int logs;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/j.jsonl", dir);
	fx_open(f, false, 1);
	assert_int_equal(vmp_journal_open(path, NULL, &j, &err), 0);
	vmp_loop_set_journal(f->l, j);
	before = current_kib(f);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	zero = old;
	zero.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &zero), 0);
	/* Pressure: the loop wants to grow the balloon, three cycles in a row. */
	logs = f->logs;
	for (i = 1; i <= 3; i++) {
		obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, i);
		f->now_ms += 1000;
		assert_int_equal(vmp_loop_cycle_observed(f->l, &h, f->now_ms,
							 1795000000000 + f->now_ms, &rep), -EIO);
		assert_true(rep.journal_failing);
		assert_int_equal(rep.actions, 0);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(current_kib(f), before); /* nothing done */
	assert_int_equal(f->logs - logs, 1);    /* said once */
	assert_non_null(strstr(f->last_log, "acting as dry run"));
	c = vmp_loop_counters(f->l);
	assert_true(c->journal_failing);
	assert_int_equal(c->faults[VMP_FAULT_JOURNAL], 1);
	assert_true(c->journal_lines_lost >= 3);
	{
		json_t *st = vmp_loop_status(f->l);

		assert_true(json_is_true(json_object_get(st, "dry_run")));
		assert_true(json_is_false(json_object_get(json_object_get(st, "journal"), "writable")));
		assert_string_equal(json_string_value(json_object_get(json_object_get(st, "journal"),
								      "error")), "File too large");
		json_decref(st);
	}
	/* Space again: recovered, journaled, acting. */
	obs_make(f, &h, &v, 2048 * MIB, 40 * MIB, 0.1, 4);
	cycle_obs(f, &h, &rep);
	assert_false(rep.journal_failing);
	assert_int_equal(rep.actions, 1);
	assert_true(current_kib(f) > before);
	assert_false(c->journal_failing);
	{
		struct vmp_journal_query q = { .vm = NULL, .all = true };

		assert_int_equal(vmp_journal_query(path, &q, &all, &err), 0);
	}
	json_array_foreach(all, i, e) {
		if (s_of(e, "event") && !strcmp(s_of(e, "event"), "journal_recovered"))
			recovered_at = (int)i;
		else if (json_is_true(json_object_get(e, "intent")))
			intent_at = (int)i;
		else if (json_is_true(json_object_get(e, "acted")))
			outcome_at = (int)i;
	}
	assert_true(recovered_at >= 0 && recovered_at < intent_at && intent_at < outcome_at);
	json_decref(all);
	vmp_loop_set_journal(f->l, f->jw);
	vmp_journal_close(j);
	unlink(path);
	strcat(path, ".idx");
	unlink(path);
	rmdir(dir);
}

/* The events of the journal named event (a new array). */
static json_t *
events(struct fx *f, const char *event)
{
	json_t *all = journal_lines(f), *out = json_array(), *e;
	size_t i;

	json_array_foreach(all, i, e)
		if (s_of(e, "event") && !strcmp(s_of(e, "event"), event))
			json_array_append(out, e);
	json_decref(all);
	return out;
}

/*
 * Faults are on the record: a host that cannot be listed, a VM whose stats fail, a VM
 * killed (crashed), a VM that vanishes: each is one journal event and a counter, not
 * only a line on stderr; a recovery is an event too.
 */
static void
test_faults_are_events(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	const struct vmp_loop_counters *c;
	json_t *ev;
	int i;

	fx_open(f, false, 1);
	c = vmp_loop_counters(f->l);
	/* The host cannot be listed, twice: one event. */
	for (i = 0; i < 2; i++) {
		obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, (uint64_t)i + 1);
		h.list_ret = -ECONNREFUSED;
		h.n_vms = 0;
		snprintf(h.error, sizeof(h.error), "cannot connect to the hypervisor");
		cycle_obs(f, &h, &rep);
	}
	ev = events(f, "host_unreachable");
	assert_int_equal(json_array_size(ev), 1);
	assert_non_null(strstr(s_of(json_array_get(ev, 0), "message"), "cannot connect"));
	json_decref(ev);
	assert_int_equal(c->faults[VMP_FAULT_HOST_UNREACHABLE], 1);
	/* Back, but the VM's stats fail. */
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 3);
	v.stats_ret = -EIO;
	snprintf(v.error, sizeof(v.error), "cannot get stats of vm 'test': broken");
	cycle_obs(f, &h, &rep);
	ev = events(f, "backend_error");
	assert_int_equal(json_array_size(ev), 1);
	assert_string_equal(s_of(json_array_get(ev, 0), "vm"), "test");
	json_decref(ev);
	ev = events(f, "recovered");
	assert_int_equal(json_array_size(ev), 1);   /* the host */
	json_decref(ev);
	/* Its QEMU is killed: crashed, not a clean shutoff. */
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 4);
	v.info.state = VMP_VM_CRASHED;
	cycle_obs(f, &h, &rep);
	ev = events(f, "vm_gone");
	assert_int_equal(json_array_size(ev), 1);
	assert_non_null(strstr(s_of(json_array_get(ev, 0), "message"), "crashed or killed"));
	json_decref(ev);
	/* Then it is not listed at all. */
	obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.1, 5);
	h.n_vms = 0;
	h.list_ret = 0;
	cycle_obs(f, &h, &rep);
	ev = events(f, "vm_gone");
	assert_int_equal(json_array_size(ev), 2);
	assert_non_null(strstr(s_of(json_array_get(ev, 1), "message"), "no longer listed"));
	json_decref(ev);
	assert_int_equal(c->faults[VMP_FAULT_VM_GONE], 2);
	assert_int_equal(c->faults[VMP_FAULT_BACKEND_ERROR], 1);
}

/* The memory decision of VM vm in the journal: the last one, and its check named check. */
static double
mem_check(json_t *all, const char *vm, const char *check, json_t **ret_entry)
{
	json_t *o, *found = NULL, *c;
	size_t i;

	json_array_foreach(all, i, o)
		if (!strcmp(s_of(o, "policy") ? s_of(o, "policy") : "", "rightsize-memory") &&
		    !strcmp(s_of(o, "vm") ? s_of(o, "vm") : "", vm))
			found = o;
	assert_non_null(found);
	*ret_entry = found;
	json_array_foreach(json_object_get(found, "checks"), i, c)
		if (!strcmp(s_of(c, "name"), check))
			return json_number_value(json_object_get(c, "value"));
	fail_msg("no check %s in %s's decision", check, vm);
	return 0;
}

/*
 * Workload profiles (doc/workload-profiles.md): two VMs with the same samples, one
 * batch from its [vm] section (P90 + 10 %), one latency from its domain metadata
 * (P99 + 30 %): the latency VM's memory target is the higher, by the margins' ratio
 * at least, and each decision journals its profile. An unknown name is a config error.
 */
static void
test_profiles_change_the_rightsizer(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v[2];
	struct vmp_loop_report rep;
	struct vmp_config bad;
	json_t *all, *eb, *el, *p;
	char *err = NULL;
	double tb, tl;
	uint64_t i;

	f->cfg.mode = VMP_MODE_ADVISE;   /* test2 is not in the driver: decide, never act */
	cfg_sections(f, "[vm test]\nprofile = batch\n");
	fx_open(f, false, 1);
	for (i = 1; i <= 8; i++) {
		/* The same demand, varying cycle to cycle, for both VMs. */
		uint64_t avail = (i % 2 ? 1200 : 1600) * MIB;

		obs_make(f, &h, &v[0], 2048 * MIB, avail, 0.5, i);
		v[1] = v[0];
		snprintf(v[1].info.name, sizeof(v[1].info.name), "test2");
		snprintf(v[1].info.profile, sizeof(v[1].info.profile), "latency");
		h.vms = v;
		h.n_vms = 2;
		cycle_obs(f, &h, &rep);
	}
	all = journal_lines(f);
	tb = mem_check(all, "test", "target_kib", &eb);
	tl = mem_check(all, "test2", "target_kib", &el);
	assert_true(tb > 0);
	assert_true(tl >= tb * 1.30 / 1.10);
	p = json_object_get(json_object_get(eb, "inputs"), "profile");
	assert_string_equal(s_of(p, "name"), "batch");
	assert_string_equal(s_of(p, "from"), "config");
	p = json_object_get(json_object_get(el, "inputs"), "profile");
	assert_string_equal(s_of(p, "name"), "latency");
	assert_string_equal(s_of(p, "from"), "metadata");
	p = json_object_get(json_object_get(last_entry(all, "rightsize-vcpus", NULL), "inputs"),
			    "profile");
	assert_non_null(s_of(p, "name"));
	json_decref(all);

	vmp_config_init(&bad);
	assert_int_equal(vmp_config_parse("t.conf", "[vm a]\nprofile = fast\n", 23, &bad, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf:2"));
	assert_non_null(strstr(err, "latency"));
	free(err);
	vmp_config_release(&bad);
}

/* The "diagnose" events of the journal, in order. */
static json_t *
diagnose_events(struct fx *f)
{
	json_t *all = journal_lines(f), *ev = json_array(), *o;
	size_t i;

	json_array_foreach(all, i, o)
		if (s_of(o, "event") && !strcmp(s_of(o, "event"), "diagnose"))
			json_array_append(ev, o);
	json_decref(all);
	return ev;
}

/* The only VM's "diagnosis" in the published status. */
static json_t *
published_diagnosis(struct fx *f)
{
	struct vmp_publish_info in = { 0 };
	json_t *st = vmp_publish_status(f->l, &in), *d;

	d = json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(st, "hosts"), 0), "vms"), 0), "diagnosis");
	json_incref(d);
	json_decref(st);
	return d;
}

/*
 * The daemon's diagnosis (core/diagnose.c on the loop's own samples): steal of half the
 * vCPU time names CPU contention, journaled once as a "diagnose" event with evidence and
 * fix, published in the status and as vmpilot_vm_bottleneck; steal gone clears it with
 * a second event.
 */
static void
test_diagnosis_verdicts(void **state)
{
	struct fx *f = *state;
	struct vmp_loop_host_obs h;
	struct vmp_loop_vm_obs v;
	struct vmp_loop_report rep;
	struct vmp_publish_info in = { 0 };
	uint64_t delay = 0, i;
	json_t *ev, *d;
	char *m;

	f->cfg.mode = VMP_MODE_ADVISE;
	fx_open(f, false, 1);
	for (i = 1; i <= 6; i++) {
		/* Cycles 3 and 4: the vCPUs wait 1 s of each 1 s cycle (2 vCPUs: 50 % steal). */
		if (i == 3 || i == 4)
			delay += 1000000000ull;
		obs_make(f, &h, &v, 2048 * MIB, 1024 * MIB, 0.5, i);
		v.stats.valid |= VMP_STAT_VCPU_DELAY;
		v.stats.vcpu_delay_ns = delay;
		cycle_obs(f, &h, &rep);
		ev = diagnose_events(f);
		d = published_diagnosis(f);
		m = vmp_publish_metrics(f->l, &in);
		if (i == 1) {
			assert_true(json_is_null(d));  /* one sample: nothing to diagnose yet */
		} else if (i == 2) {
			assert_int_equal(json_array_size(ev), 0);
			assert_true(json_is_null(json_object_get(d, "bottleneck")));
			assert_null(strstr(m, "vmpilot_vm_bottleneck{"));
		} else if (i <= 4) {
			assert_int_equal(json_array_size(ev), 1);  /* a change, not every cycle */
			assert_non_null(strstr(s_of(json_array_get(ev, 0), "message"),
					       "cpu-contention: steal 50%"));
			assert_non_null(strstr(s_of(json_array_get(ev, 0), "message"), "; fix: "));
			assert_string_equal(s_of(json_array_get(ev, 0), "vm"), "test");
			assert_string_equal(s_of(d, "bottleneck"), "cpu-contention");
			assert_non_null(strstr(s_of(d, "evidence"), "steal 50%"));
			assert_non_null(strstr(m, "vmpilot_vm_bottleneck{host=\"test:///default\","
						  "vm=\"test\",kind=\"cpu-contention\"} 1\n"));
		} else {
			assert_int_equal(json_array_size(ev), 2);
			assert_non_null(strstr(s_of(json_array_get(ev, 1), "message"),
					       "(was cpu-contention)"));
			assert_true(json_is_null(json_object_get(d, "bottleneck")));
			assert_null(strstr(m, "vmpilot_vm_bottleneck{"));
		}
		free(m);
		json_decref(d);
		json_decref(ev);
	}
}

int
main(void)
{
	snprintf(uri2, sizeof(uri2), "test://%s/data/libvirt/host2.xml", getenv("VMP_TESTS_DIR"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_real_cycles_without_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_failure_means_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults_are_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pressure_grows_balloon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_does_not_act, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes_advise_then_act, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_period_cannot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_shrinks_to_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_stats_never_shrink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saturated_vcpu_hot_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_spent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planner_memory_relief, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_planner_cpu_relief, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planner_consolidates, setup, teardown),
		cmocka_unit_test(test_host_command),
		cmocka_unit_test_setup_teardown(test_ksm_boost_and_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ksm_advisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owned_knobs_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_why, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles_change_the_rightsizer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diagnosis_verdicts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
