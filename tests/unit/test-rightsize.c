/* SPDX-License-Identifier: MIT */
/*
 * Tests of per-VM right-sizing (src/core/rightsize.c): each test pins one rule of
 * doc/policies.md ("Memory right-sizing", "vCPU right-sizing").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/iotune.h"
#include "core/rightsize.h"

#define MIB 1024ull
#define GIB (1024ull * 1024)
#define MIN_MS (60ll * 1000)
#define STEP_MS (5 * MIN_MS)

static const struct vmp_vm_limits no_limits = { 0 };

/* A guest with `actual` KiB of which `used` are in use (no caches), at the given time. */
static struct vmp_mem_input
mem_in(uint64_t actual, uint64_t used)
{
	struct vmp_mem_input in;

	memset(&in, 0, sizeof(in));
	in.have_stats = true;
	in.stats_age_ms = 1000;
	in.actual_kib = actual;
	in.have_available = true;
	in.available_kib = actual - used;
	in.unused_kib = actual - used;
	in.psi_some_avg10 = -1;
	return in;
}

/* Feeds `steps` cycles of a steady guest; returns the last decision's target. */
static uint64_t
run_steady(const struct vmp_mem_params *p, struct vmp_mem_state *s, uint64_t *cur,
	   uint64_t used, int steps, int64_t *now, struct vmp_decision *d)
{
	int i;

	for (i = 0; i < steps; i++) {
		struct vmp_mem_input in = mem_in(*cur, used);

		assert_int_equal(vmp_rightsize_memory(p, &no_limits, s, &in, *cur, *now, d), 0);
		*cur = (uint64_t)d->to;
		*now += STEP_MS;
	}
	return *cur;
}

static void
test_demand_from_guest_stats(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_input in = mem_in(4 * GIB, 1 * GIB);

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_demand_kib(&p, &in), 1 * GIB);
	/* Without MemAvailable: actual − free − caches (caches can be reclaimed)... */
	in.have_available = false;
	in.unused_kib = 2 * GIB;
	in.caches_kib = 512 * MIB;
	assert_int_equal(vmp_mem_demand_kib(&p, &in), 4 * GIB - 2 * GIB - 512 * MIB);
	/* ... plus the share of caches the policy keeps. */
	p.cache_keep_frac = 0.5;
	assert_int_equal(vmp_mem_demand_kib(&p, &in), 4 * GIB - 2 * GIB - 256 * MIB);
	/* Never more than actual, never negative. */
	in.unused_kib = 8 * GIB;
	p.cache_keep_frac = 0;
	assert_int_equal(vmp_mem_demand_kib(&p, &in), 0);
}

static void
test_never_shrink_without_fresh_stats(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	uint64_t cur = 8 * GIB;
	int64_t now = 0;

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	/* Two days of a guest using 1 GiB of 8: the policy shrinks it. */
	run_steady(&p, &s, &cur, 1 * GIB, 576, &now, &d);
	assert_true(cur < 2 * GIB);
	cur = 8 * GIB;
	/* Missing stats: no shrink, and the reason says so. */
	in = mem_in(cur, 1 * GIB);
	in.have_stats = false;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_STATS_MISSING);
	assert_true(d.to == (double)cur);
	assert_string_equal(d.rejected[0].alternative, "shrink");
	/* Stale stats: the same. */
	in.have_stats = true;
	in.stats_age_ms = p.stale_ms + 1;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_STATS_MISSING);
	assert_true(vmp_decision_find_check(&d, "stats_age_ms")->crossed);
	/* Fresh again: it shrinks. */
	in.stats_age_ms = 0;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_SHRINK);
}

static void
test_pressure_bumps_at_once(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	uint64_t cur = 2 * GIB;
	int64_t now = 0;

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	run_steady(&p, &s, &cur, 1 * GIB, 3, &now, &d);
	/* A change just happened or not: pressure ignores cooldown and dead band. */
	s.last_change_ms = now;
	s.changed = true;
	in = mem_in(cur, 1 * GIB);
	in.swap_in_kib = 4096;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_GROW);
	assert_int_equal(d.reason, VMP_WHY_PRESSURE);
	/*
	 * VPA's bump on the need (use + what was swapped in): max(need + 100 MiB,
	 * pressure_mult × need), and at least +100 MiB over now.
	 */
	assert_true(d.to == fmax(fmax((double)(1 * GIB + 4096 + 100 * MIB),
				      (double)(uint64_t)((1 * GIB + 4096) * p.pressure_mult)),
				 (double)(cur + 100 * MIB)));
	/* A guest using all but 2 % of its memory is under pressure too: pressure_mult × usage. */
	in = mem_in(4 * GIB, 4 * GIB - 80 * MIB);
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, 4 * GIB, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_PRESSURE);
	assert_true(d.to == (double)(uint64_t)((4 * GIB - 80 * MIB) * p.pressure_mult));
	assert_true(vmp_decision_find_check(&d, "guest_free_frac")->crossed);
	/* Major faults, a stalled balloon and PSI each count. */
	in = mem_in(4 * GIB, 1 * GIB);
	in.major_faults = p.major_faults_min;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, 4 * GIB, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_PRESSURE);
	in = mem_in(4 * GIB, 1 * GIB);
	in.balloon_stalled = true;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, 4 * GIB, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_PRESSURE);
	in = mem_in(4 * GIB, 1 * GIB);
	in.psi_some_avg10 = p.psi_some_min;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, 4 * GIB, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_PRESSURE);
	/* ... but not beyond mem_max: then it is a non-action at the bound. */
	{
		struct vmp_vm_limits lim = { .mem_max_kib = 4 * GIB };

		assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, 4 * GIB, now, &d), 0);
		assert_int_equal(d.action, VMP_ACT_NONE);
		assert_int_equal(d.reason, VMP_WHY_AT_BOUND);
	}
}

static void
test_floor_is_never_squeezed(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	uint64_t cur = 8 * GIB;
	int64_t now = 0;

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	/* Two days at 1 GiB, then a 3 GiB burst a few minutes ago. */
	run_steady(&p, &s, &cur, 1 * GIB, 576, &now, &d);
	cur = 8 * GIB;
	run_steady(&p, &s, &cur, 3 * GIB, 1, &now, &d);
	/* The floor is the recent peak plus margin: shrinking stops there. */
	assert_true(s.floor_kib == (uint64_t)(3 * GIB * (1 + p.floor_margin_frac)) + p.floor_add_kib);
	run_steady(&p, &s, &cur, 1 * GIB, 6, &now, &d);
	assert_true(cur >= s.floor_kib);
	in = mem_in(s.floor_kib, 1 * GIB);
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, s.floor_kib, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_AT_BOUND);
	assert_string_equal(d.rejected[0].why, "at protected floor");
	/* After the floor window the peak is forgotten and shrinking resumes. */
	now += p.floor_window_ms;
	cur = s.floor_kib;
	run_steady(&p, &s, &cur, 1 * GIB, 24, &now, &d);
	assert_true(cur < 2 * GIB);
}

/*
 * A balloon still inflating toward the last shrink target makes the guest's memory read
 * as used before the host's actual follows (seen on a real guest: 288 MiB of demand in a
 * guest using 87 MiB). Such a sample neither raises the floor nor the history, and no
 * resize is based on it; once the balloon has arrived (or stalled), learning resumes.
 */
static void
test_moving_balloon_is_not_demand(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	uint64_t cur = 8 * GIB, floor_before;
	int64_t now = 0;

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	run_steady(&p, &s, &cur, 1 * GIB, 576, &now, &d);
	floor_before = s.floor_kib;
	/* the transitional sample: 75 % of the allocation "used" (more than the 1 GiB the
	 * guest really uses, not so much that the guest reads as under pressure) */
	assert_true(cur / 4 * 3 > 1 * GIB);
	in = mem_in(cur, cur / 4 * 3);
	in.balloon_moving = true;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_int_equal(d.reason, VMP_WHY_COOLDOWN);
	assert_string_equal(d.rejected[0].why, "balloon still moving to its last target");
	assert_true(s.floor_kib == floor_before);
	/* the same sample with the balloon stalled (3 cycles) is believed: the floor rises */
	in.balloon_stalled = true;
	now += STEP_MS;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_true(s.floor_kib > floor_before);
}

/*
 * The protected floor adds a fixed amount (floor_add_kib, 320 MiB) to the recent peak
 * plus its margin: a VM using 100 MiB is not shrunk below 100 x 1.2 + 320 MiB, however
 * long it stays idle; one using 10 GiB pays the same 320 MiB, 3 % of it.
 */
static void
test_floor_adds_a_fixed_amount(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	uint64_t cur = 4 * GIB;
	int64_t now = 0;

	(void)state;
	vmp_mem_params_default(&p);
	assert_int_equal(p.floor_add_kib, 320 * MIB);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	run_steady(&p, &s, &cur, 100 * MIB, 576, &now, &d);
	assert_int_equal(s.floor_kib, (uint64_t)(100 * MIB * (1 + p.floor_margin_frac)) + 320 * MIB);
	assert_true(cur >= s.floor_kib);
	assert_true(cur < s.floor_kib * 1.3);
	/* Without it the same VM goes lower. */
	p.floor_add_kib = 0;
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	cur = 4 * GIB;
	now = 0;
	run_steady(&p, &s, &cur, 100 * MIB, 576, &now, &d);
	assert_true(cur < 320 * MIB);
}

/*
 * action_gap_ms is a strict cap: after a resize, none at all for the gap, not even a
 * growth on pressure; the history still learns. Off (0) by default.
 */
static void
test_action_gap_is_a_strict_cap(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	uint64_t cur = 8 * GIB;
	int64_t now = 0, shrunk_at;
	int i;

	(void)state;
	vmp_mem_params_default(&p);
	assert_int_equal(p.action_gap_ms, 0);
	p.action_gap_ms = 60 * MIN_MS;
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	/* Learn a day at 1 GiB until the first shrink. */
	for (i = 0; i < 288 && cur == 8 * GIB; i++)
		run_steady(&p, &s, &cur, 1 * GIB, 1, &now, &d);
	assert_true(cur < 8 * GIB);
	shrunk_at = now - STEP_MS;
	/* Swapping right after it: no growth until the hour has passed. */
	for (; now - shrunk_at < p.action_gap_ms; now += STEP_MS) {
		in = mem_in(cur, cur);
		in.swap_in_kib = 512 * MIB;
		assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
		assert_int_equal(d.action, VMP_ACT_NONE);
		assert_int_equal(d.reason, VMP_WHY_COOLDOWN);
		assert_true(vmp_decision_find_check(&d, "since_change_ms")->crossed);
		assert_string_equal(d.rejected[0].why, "one memory action per action gap");
	}
	in = mem_in(cur, cur);
	in.swap_in_kib = 512 * MIB;
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_GROW);
	assert_int_equal(d.reason, VMP_WHY_PRESSURE);
}

static void
test_dead_band_cooldown_step_and_bounds(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	struct vmp_vm_limits lim = { .mem_min_kib = 3 * GIB };
	uint64_t cur = 8 * GIB;
	int64_t now = 0;
	int i;

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	/* Learn two days at 1 GiB without acting (opt-out still learns). */
	lim.opt_out = true;
	for (i = 0; i < 576; i++, now += STEP_MS) {
		in = mem_in(cur, 1 * GIB);
		assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, cur, now, &d), 0);
		assert_int_equal(d.reason, VMP_WHY_OPT_OUT);
	}
	lim.opt_out = false;
	/* Step limit: one cycle shrinks by at most step_max_frac (a quarter here, to see it). */
	p.step_max_frac = 0.25;
	p.dead_band_frac = 0.10;
	in = mem_in(cur, 1 * GIB);
	assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_SHRINK);
	assert_true(d.to == (double)(uint64_t)(8 * GIB * (1 - p.step_max_frac)));
	cur = (uint64_t)d.to;
	/* Cooldown: the next cycle may not shrink again. */
	now += STEP_MS;
	in = mem_in(cur, 1 * GIB);
	assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_COOLDOWN);
	/* After the cooldown it shrinks until mem_min, then stops there. */
	for (i = 0; i < 50; i++) {
		now += p.cooldown_ms;
		in = mem_in(cur, 1 * GIB);
		assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, cur, now, &d), 0);
		cur = (uint64_t)d.to;
	}
	assert_int_equal(cur, 3 * GIB);
	assert_int_equal(d.action, VMP_ACT_NONE);
	/* Dead band: a target less than 10 % away (the floor, 1 GiB x 1.2 + 320 MiB) changes
	 * nothing. */
	lim.mem_min_kib = 0;
	in = mem_in(1700 * MIB, 1 * GIB);
	s.last_change_ms = -p.cooldown_ms;
	assert_int_equal(vmp_rightsize_memory(&p, &lim, &s, &in, 1700 * MIB, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_true(vmp_decision_find_check(&d, "dead_band_frac")->crossed);
}

static void
test_grows_when_demand_outruns_allocation(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	struct vmp_mem_input in;
	uint64_t cur = 2 * GIB;
	int64_t now = 0;

	vmp_mem_params_default(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	run_steady(&p, &s, &cur, 1 * GIB, 100, &now, &d);
	/* Demand jumps to 95 % of the allocation (no pressure signal yet): grow now. */
	in = mem_in(cur, cur * 95 / 100);
	assert_int_equal(vmp_rightsize_memory(&p, &no_limits, &s, &in, cur, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_GROW);
	assert_true(d.to >= (double)(cur * 95 / 100) * (1 + p.headroom_frac) - 1);
	assert_true(d.to > (double)cur);
}

static void
test_vpa_waits_for_bounds(void **state)
{
	struct vmp_mem_params p;
	struct vmp_mem_state s;
	struct vmp_decision d;
	uint64_t cur = 8 * GIB;
	int64_t now = 0;

	vmp_mem_params_vpa(&p);
	assert_int_equal(vmp_mem_state_init(&s, &p), 0);
	/* One hour of history: VPA's upper bound is ~25× the target, so no shrink. */
	run_steady(&p, &s, &cur, 1 * GIB, 12, &now, &d);
	assert_int_equal(cur, 8 * GIB);
	assert_int_equal(d.reason, VMP_WHY_LEARNING);
	/* After a day the bound has narrowed: it applies P90 × 1.15 in one step. */
	run_steady(&p, &s, &cur, 1 * GIB, 288, &now, &d);
	assert_true(cur >= 1 * GIB * 1.15 && cur <= 1 * GIB * 1.15 * 1.05 + 10240);
}

static struct vmp_cpu_input
cpu_in(double usage)
{
	struct vmp_cpu_input in = { .have_stats = true, .stats_age_ms = 0, .usage_cores = usage };

	return in;
}

static void
test_vcpu_hot_add_when_saturated(void **state)
{
	struct vmp_cpu_params p;
	struct vmp_cpu_state s;
	struct vmp_decision d;
	struct vmp_cpu_input in = cpu_in(0.95);
	struct vmp_vm_limits lim = { .vcpus_max = 2 };

	vmp_cpu_params_default(&p);
	assert_int_equal(vmp_cpu_state_init(&s, &p), 0);
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 1, 0, &d), 0);
	assert_int_equal(d.action, VMP_ACT_GROW);
	assert_int_equal(d.reason, VMP_WHY_SATURATED);
	assert_true(d.to == 2);
	/* At vcpus_max: nothing, and the journal says why. */
	in.usage_cores = 1.9;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 2, STEP_MS, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_AT_BOUND);
	/* High steal: the host is the bottleneck; more vCPUs are rejected. */
	lim.vcpus_max = 8;
	in.steal_frac = 0.3;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 2, 2 * STEP_MS, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	assert_string_equal(d.rejected[0].alternative, "hot-add");
	/* Step limit: one vCPU per cycle even if history wants more. */
	in.steal_frac = 0;
	in.usage_cores = 1.95;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 2, 3 * STEP_MS, &d), 0);
	assert_true(d.to == 3);
}

static void
test_vcpu_remove_when_idle(void **state)
{
	struct vmp_cpu_params p;
	struct vmp_cpu_state s;
	struct vmp_decision d;
	struct vmp_cpu_input in = cpu_in(0.2);
	struct vmp_vm_limits lim = { .vcpus_min = 2 };
	int64_t now = 0;
	int i;

	vmp_cpu_params_default(&p);
	assert_int_equal(vmp_cpu_state_init(&s, &p), 0);
	/* Too little history: no removal. */
	assert_int_equal(vmp_rightsize_vcpus(&p, &no_limits, &s, &in, 4, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_LEARNING);
	/* 0.2 cores on 4 vCPUs: one is removed once an hour of history is there. */
	for (i = 0; i < 24; i++, now += STEP_MS) {
		assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 4, now, &d), 0);
		if (d.action != VMP_ACT_NONE)
			break;
		assert_int_equal(d.reason, VMP_WHY_LEARNING);
	}
	assert_true(now >= 3600 * 1000 * 24 * p.min_confidence_days);
	assert_int_equal(d.action, VMP_ACT_SHRINK);
	assert_int_equal(d.reason, VMP_WHY_IDLE);
	assert_true(d.to == 3);
	/* Cooldown, then down to vcpus_min and no further. */
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 3, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_COOLDOWN);
	now += p.cooldown_ms;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 3, now, &d), 0);
	assert_true(d.to == 2);
	now += p.cooldown_ms;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 2, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	/* Busy now (history idle): no removal. */
	in.usage_cores = 1.4;
	lim.vcpus_min = 1;
	now += p.cooldown_ms;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 3, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_NONE);
	/* Missing stats: never remove. */
	in.have_stats = false;
	assert_int_equal(vmp_rightsize_vcpus(&p, &lim, &s, &in, 4, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_STATS_MISSING);
}

/*
 * Disk limits (iotune.c): a VM writing at its limit gets 4x at once; an idle one comes
 * down to its history x 1.5 after the cooldown, never under disk_min; stale stats never
 * lower a limit.
 */
static void
test_disk_limit_follows_the_writer(void **state)
{
	struct vmp_disk_params p;
	struct vmp_disk_state s;
	struct vmp_disk_input in = { .have_stats = true };
	struct vmp_decision d;
	double lim = 10240, min = 1024, max = 102400;
	int64_t now = 0;
	int i;

	vmp_disk_params_default(&p);
	assert_int_equal(vmp_disk_state_init(&s, &p), 0);
	/* Writing at the limit: raised to 4 x at once, then to the bound. */
	in.kibps = 10240;
	assert_int_equal(vmp_rightsize_disk(&p, min, max, &s, &in, lim, now, &d), 0);
	assert_int_equal(d.action, VMP_ACT_GROW);
	assert_int_equal(d.reason, VMP_WHY_SATURATED);
	assert_true(d.to == 4 * 10240.0);
	lim = d.to;
	in.kibps = lim;
	now += STEP_MS;
	assert_int_equal(vmp_rightsize_disk(&p, min, max, &s, &in, lim, now, &d), 0);
	assert_true(d.to == max);
	lim = d.to;
	in.kibps = max;
	assert_int_equal(vmp_rightsize_disk(&p, min, max, &s, &in, lim, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_AT_BOUND);
	/* Stale stats: nothing is lowered. */
	in.kibps = 0;
	in.stats_age_ms = p.stale_ms + 1;
	assert_int_equal(vmp_rightsize_disk(&p, min, max, &s, &in, lim, now, &d), 0);
	assert_int_equal(d.reason, VMP_WHY_STATS_MISSING);
	in.stats_age_ms = 0;
	/*
	 * Idle: the recent peak protects it for its window, then it comes down as the bursts
	 * fall under 1 % of the (decaying) history: to disk_min within two days.
	 */
	for (i = 0; i < 600 && lim > min; i++) {
		now += STEP_MS;
		assert_int_equal(vmp_rightsize_disk(&p, min, max, &s, &in, lim, now, &d), 0);
		if (now - s.recent_peak_ms < p.peak_window_ms && s.recent_peak_kibps > 0)
			assert_true(d.to >= lim || d.to >= s.recent_peak_kibps);
		if (d.action == VMP_ACT_SHRINK)
			assert_true(now - s.last_change_ms == 0);
		lim = d.to;
	}
	assert_true(lim == min);
	/* Bad bounds. */
	assert_int_equal(vmp_rightsize_disk(&p, 0, max, &s, &in, lim, now, &d), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demand_from_guest_stats),
		cmocka_unit_test(test_never_shrink_without_fresh_stats),
		cmocka_unit_test(test_pressure_bumps_at_once),
		cmocka_unit_test(test_floor_is_never_squeezed),
		cmocka_unit_test(test_moving_balloon_is_not_demand),
		cmocka_unit_test(test_floor_adds_a_fixed_amount),
		cmocka_unit_test(test_action_gap_is_a_strict_cap),
		cmocka_unit_test(test_dead_band_cooldown_step_and_bounds),
		cmocka_unit_test(test_grows_when_demand_outruns_allocation),
		cmocka_unit_test(test_vpa_waits_for_bounds),
		cmocka_unit_test(test_vcpu_hot_add_when_saturated),
		cmocka_unit_test(test_vcpu_remove_when_idle),
		cmocka_unit_test(test_disk_limit_follows_the_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
