/* SPDX-License-Identifier: MIT */
/* The autopilot loop over the simulator backend, as fast as it goes (see simloop.h). */
#include "daemon/simloop.h"
#include "backend/sim.h"
#include "daemon/loop.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A fixed wall clock for the journal: 2011-03-03T00:00:00Z plus the simulated time. */
#define REPLAY_EPOCH_MS 1299110400000LL

struct ctx {
	const struct vmp_simloop_options *o;
	struct vmp_simloop_result *ret;
	double time_s;
};

static void
on_move(void *opaque, const char *vm, const char *from, const char *to,
	enum vmp_pilot_reason reason, const char *why)
{
	struct ctx *c = opaque;

	if ((unsigned)reason < VMP_PILOT_REASON_MAX)
		c->ret->moves[reason]++;
	if (c->o->moved)
		c->o->moved(c->o->opaque, c->time_s, vm, from, to, reason, why);
}

void
vmp_simloop_result_release(struct vmp_simloop_result *r)
{
	size_t i;

	if (!r)
		return;
	vmp_sim_result_release(&r->sim);
	for (i = 0; i < r->n_compare; i++)
		vmp_simrun_result_release(&r->compare[i]);
	free(r->compare);
	r->compare = NULL;
	r->n_compare = 0;
}

/* The simulator's own runs of opts->compare on the cluster and trace of clock. */
static int
compare(const struct vmp_simloop_options *opts, struct vmp_backend *clock,
	const struct vmp_config *cfg, struct vmp_simloop_result *ret, char **ret_err)
{
	struct vmp_sim_config sc;
	struct vmp_sim_input in;
	struct vmp_pilot_params pp;
	size_t i;
	int r;

	if (!opts->n_compare)
		return 0;
	vmp_backend_sim_setup(clock, &sc, &in);
	if (vmp_config_planner_params(cfg->planner, &pp) < 0)
		vmp_pilot_params_default(&pp);
	ret->compare = xcalloc(opts->n_compare, sizeof(*ret->compare));
	for (i = 0; i < opts->n_compare; i++) {
		const struct vmp_sim_policy *p = vmp_sim_policy_find(opts->compare[i]);

		if (!p) {
			*ret_err = xasprintf("unknown policy '%s'", opts->compare[i]);
			return -EINVAL;
		}
		r = vmp_simrun(&sc, p, &pp, &in, NULL, NULL, &ret->compare[i]);
		if (r < 0) {
			*ret_err = xasprintf("cannot simulate policy '%s': %s", p->name,
					     strerror(-r));
			return r;
		}
		ret->n_compare = i + 1;
	}
	return 0;
}

int
vmp_simloop_run(const struct vmp_simloop_options *opts, struct vmp_simloop_result *ret,
		char **ret_err)
{
	struct vmp_config cfg = *opts->cfg;
	struct vmp_loop_options lo = { 0 };
	struct vmp_backend *clock = NULL;
	struct vmp_loop *l = NULL;
	struct vmp_sim *sim;
	struct ctx c = { opts, ret, 0 };
	char **uris = NULL;
	size_t n = 0, i;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!vmp_str_starts_with(opts->uri, "sim://")) {
		*ret_err = xasprintf("cannot replay '%s': expected sim://DIR (a trace directory)",
				     opts->uri);
		return -EINVAL;
	}
	if (strstr(opts->uri, "host=")) {
		*ret_err = xasprintf("cannot replay '%s': give the whole cluster, not host=",
				     opts->uri);
		return -EINVAL;
	}
	/* the whole cluster: its size, its clock and its metrics */
	r = vmp_backend_open(opts->uri, (unsigned)cfg.timeout_ms, &clock, ret_err);
	if (r < 0)
		return r;
	sim = vmp_backend_sim_sim(clock);
	n = vmp_sim_nhosts(sim);
	uris = xcalloc(n + 1, sizeof(*uris));
	for (i = 0; i < n; i++)
		uris[i] = xasprintf("%s%shost=%zu", opts->uri, strchr(opts->uri, '?') ? "&" : "?", i);
	/* what replay needs; the rest of the configuration is the operator's */
	cfg.mode = VMP_MODE_ACT;
	cfg.dry_run = false;
	cfg.ksm_enabled = false;
	cfg.budget_migrations_per_hour = 1024;
	lo.uris = (const char *const *)uris;
	lo.n_uris = n;
	lo.cfg = &cfg;
	lo.journal = opts->journal;
	lo.moved = on_move;
	lo.opaque = &c;
	r = vmp_loop_new(&lo, &l, ret_err);
	if (r < 0)
		goto out;
	ret->hosts = n;
	ret->vms = vmp_sim_nvms(sim);
	ret->trace_memory = vmp_backend_sim_trace_has_memory(clock);
	/*
	 * The simulator's own policies and `vmpilot simulate --policy vmpilot` decide after
	 * each step, never at t = 0 (the initial placement): so does the loop.
	 */
	r = vmp_backend_sim_advance(clock);
	for (; r > 0;) {
		struct vmp_loop_report rep;
		double t = vmp_sim_time_s(sim);
		int64_t now_ms = (int64_t)llround(t * 1000);

		c.time_s = t;
		r = vmp_loop_cycle(l, now_ms, REPLAY_EPOCH_MS + now_ms, &rep);
		if (r < 0) {
			*ret_err = xasprintf("cannot write the decision journal: %s", strerror(-r));
			goto out;
		}
		ret->failed_actions += rep.failed_actions;
		ret->cycles++;
		if (opts->progress) {
			unsigned on = 0;

			for (i = 0; i < n; i++) {
				struct vmp_sim_host_state hs;

				vmp_sim_host(sim, i, &hs);
				on += hs.active || hs.nvms > 0;
			}
			opts->progress(opts->opaque, t, ret->cycles, on);
		}
		r = vmp_backend_sim_advance(clock);
		if (r <= 0)
			break;
		if (ret->cycles == 1) {
			/* interval: the trace's step, for the loop's staleness and budget clocks */
			cfg.interval_ms = (int64_t)llround((vmp_sim_time_s(sim) - t) * 1000);
			if (cfg.interval_ms < 1000)
				cfg.interval_ms = 1000;
			vmp_loop_set_config(l, &cfg);
		}
	}
	vmp_sim_result(sim, &ret->sim);
	r = compare(opts, clock, &cfg, ret, ret_err);
out:
	vmp_loop_free(l);
	for (i = 0; i < n; i++)
		free(uris[i]);
	free(uris);
	vmp_backend_close(clock);
	return r;
}
