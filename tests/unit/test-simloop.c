/* SPDX-License-Identifier: MIT */
/*
 * The daemon in replay (src/daemon/simloop.c): the real loop over the simulator
 * backend's per-host views (src/backend/sim.c) gives the same day, step for step, as
 * `vmpilot simulate --policy vmpilot` (core/simrun.c) on a small trace and on a bundled
 * PlanetLab day; the views serve one host each and share one simulation.
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

#include "backend/backend.h"
#include "backend/sim.h"
#include "daemon/simloop.h"
#include "util/util.h"

/* Two views of one simulation: each lists its own VMs; a migration crosses them. */
static void
test_views(void **state)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	char *u[4], *err = NULL;
	struct vmp_backend *b[4] = { NULL };
	struct vmp_host_info hi;
	struct vmp_host_stats hs;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats st;
	struct vmp_migrate_params mp = { 0 };
	int i, n, total = 0, from = -1, to = 0;

	(void)state;
	for (i = 0; i < 4; i++) {
		u[i] = xasprintf("sim://%s/data/traces/planetlab-mini?hosts=4&host=%d", dir, i);
		assert_int_equal(vmp_backend_open(u[i], 0, &b[i], &err), 0);
	}
	assert_int_equal(vmp_backend_host_info(b[1], &hi), 0);
	assert_string_equal(hi.hostname, "host-1");
	assert_int_equal(hi.cpus, 2);
	assert_true(hi.core_mips == 2660);            /* host 1: an HP ML110 G5 */
	assert_true(hi.full_watts == 135);
	assert_true(vmp_backend_sim_advance(b[0]) == 1);
	for (i = 0; i < 4; i++) {
		n = vmp_backend_list_vms(b[i], &vms);
		assert_true(n >= 0);
		total += n;
		if (n > 0 && from < 0) {
			from = i;
			assert_int_equal(vmp_backend_vm_stats(b[i], vms[0].name, &st), 0);
			assert_true(st.valid & VMP_STAT_CPU_DEMAND);
			assert_true(vms[0].max_mips > 0);
			mp.dest_uri = u[(i + 1) % 4];
			to = (i + 1) % 4;
			assert_int_equal(vmp_backend_migrate_start(b[i], vms[0].name, &mp), 0);
		}
		assert_int_equal(vmp_backend_host_stats(b[i], &hs), 0);
		assert_true(hs.powered_off == (n == 0));
		free(vms);
		vms = NULL;
	}
	assert_int_equal(total, 3);                  /* every VM on exactly one view */
	assert_true(vmp_backend_sim_advance(b[2]) == 1);   /* any view moves the one clock */
	n = vmp_backend_list_vms(b[to], &vms);
	assert_true(n >= 1);
	free(vms);
	/* a host the cluster does not have */
	free(err);
	err = NULL;
	{
		char *bad = xasprintf("sim://%s/data/traces/planetlab-mini?hosts=4&host=9", dir);
		struct vmp_backend *x = NULL;

		assert_int_equal(vmp_backend_open(bad, 0, &x, &err), -EINVAL);
		assert_non_null(strstr(err, "the cluster has 4 hosts"));
		free(bad);
	}
	/* PlanetLab has no memory demand; a per-VM CSV trace has (replay leaves it out) */
	assert_false(vmp_backend_sim_trace_has_memory(b[0]));
	{
		char *bb = xasprintf("sim://%s/data/traces/bitbrains-mini?hosts=2&host=0", dir);
		struct vmp_backend *x = NULL;

		free(err);
		err = NULL;
		assert_int_equal(vmp_backend_open(bb, 0, &x, &err), 0);
		assert_true(vmp_backend_sim_trace_has_memory(x));
		vmp_backend_close(x);
		free(bb);
	}
	for (i = 0; i < 4; i++) {
		vmp_backend_close(b[i]);
		free(u[i]);
	}
	free(err);
}

/* The daemon's row and simulate's vmpilot row, field by field and step by step. */
static void
assert_same(const struct vmp_simloop_result *r)
{
	const struct vmp_sim_result *a = &r->sim, *b = &r->compare[0].sim;
	size_t i;

	printf("daemon: %.6f kWh, %llu migrations, overload %.6f h, unserved %.6f; "
	       "simulate: %.6f kWh, %llu migrations, overload %.6f h, unserved %.6f\n",
	       a->energy_kwh, (unsigned long long)a->migrations, a->acct.overload_host_s / 3600,
	       a->acct.unserved_mips_s, b->energy_kwh, (unsigned long long)b->migrations,
	       b->acct.overload_host_s / 3600, b->acct.unserved_mips_s);
	assert_true(a->energy_kwh == b->energy_kwh);
	assert_true(a->migrations == b->migrations);
	assert_true(a->slatah == b->slatah);
	assert_true(a->pdm == b->pdm);
	assert_true(a->acct.overload_host_s == b->acct.overload_host_s);
	assert_true(a->acct.unserved_mips_s == b->acct.unserved_mips_s);
	assert_true(a->acct.active_host_s == b->acct.active_host_s);
	assert_int_equal(a->series.n, b->series.n);
	for (i = 0; i < a->series.n; i++) {
		assert_int_equal(a->series.active_hosts[i], b->series.active_hosts[i]);
		assert_true(a->series.power_w[i] == b->series.power_w[i]);
	}
	assert_true(r->moves[VMP_PILOT_RELIEVE] == r->compare[0].pilot_relieve);
	assert_true(r->moves[VMP_PILOT_CONSOLIDATE] == r->compare[0].pilot_consolidate);
}

static void
replay(const char *uri, struct vmp_simloop_result *r)
{
	static const char *const cmp[] = { "vmpilot" };
	struct vmp_simloop_options o = { 0 };
	struct vmp_config cfg;
	char *err = NULL;

	vmp_config_init(&cfg);
	o.uri = uri;
	o.cfg = &cfg;
	o.compare = cmp;
	o.n_compare = 1;
	if (vmp_simloop_run(&o, r, &err) < 0)
		fail_msg("%s", err);
	vmp_config_release(&cfg);
}

static void
test_replay_mini(void **state)
{
	struct vmp_simloop_result r;
	char *uri = xasprintf("sim://%s/data/traces/planetlab-mini?hosts=4",
			      getenv("VMP_TESTS_DIR"));

	(void)state;
	replay(uri, &r);
	assert_int_equal(r.hosts, 4);
	assert_int_equal(r.vms, 3);
	assert_true(r.cycles >= 3);
	assert_same(&r);
	vmp_simloop_result_release(&r);
	free(uri);
}

/* A whole bundled PlanetLab day: 1052 VMs, 800 hosts, 287 cycles. */
static void
test_replay_day(void **state)
{
	struct vmp_simloop_result r;
	char *uri = xasprintf("sim://%s/../data/traces/planetlab/20110303",
			      getenv("VMP_TESTS_DIR"));

	(void)state;
	replay(uri, &r);
	assert_int_equal(r.hosts, 800);
	assert_int_equal(r.vms, 1052);
	assert_true(r.sim.migrations > 1000);
	assert_same(&r);
	vmp_simloop_result_release(&r);
	free(uri);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_replay_mini),
		cmocka_unit_test(test_replay_day),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
