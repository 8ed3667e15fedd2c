/* SPDX-License-Identifier: MIT */
/*
 * The step loop of simrun.h: simulator step, measurements, then (vmpilot's rows) the
 * pilot's plan turned into simulator migrations. Memory is planned when the input carries
 * memory demand (input->mem_pct: a trace with memory such as Bitbrains, or `vmpilot
 * simulate --memory ram`): each host's RAM, what its VMs' demand (migrations in and out
 * included) leaves free or overshoots, each VM's demand now. Without it (PlanetLab) the
 * planner packs CPU only, as the simulator's own policies do (doc/pilot-policy.md, 2a).
 */
#include "core/simrun.h"

#include "core/bound.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void *
szalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

void
vmp_simrun_result_release(struct vmp_simrun_result *r)
{
	if (!r)
		return;
	vmp_sim_result_release(&r->sim);
	free(r->oversubscribed_hosts);
	free(r->bound_w);
	r->oversubscribed_hosts = NULL;
	r->bound_w = NULL;
}

int
vmp_simrun(const struct vmp_sim_config *cfg, const struct vmp_sim_policy *p,
	   const struct vmp_pilot_params *pilot_params, const struct vmp_sim_input *input,
	   vmp_simrun_progress_fn *progress, void *ctx, struct vmp_simrun_result *ret)
{
	struct vmp_pilot_params pp;
	struct vmp_sim *s = NULL;
	struct vmp_pilot *pl = NULL;
	struct vmp_pilot_host *hosts = NULL;
	struct vmp_pilot_vm *vms = NULL;
	struct vmp_bound bound;
	double *host_req = NULL, prev_d = 0, prev_t = 0, bound_ws = 0;
	uint32_t *over = NULL, *mig = NULL;
	size_t nsteps = 0, cap = input->nsteps + 1, nhosts, nvms, i;
	bool external = p->kind == VMP_SIM_EXTERNAL, first = true;
	bool plan_mem = external && input->mem_pct != NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = vmp_bound_init(&bound, cfg);
	if (r < 0)
		return r;
	r = vmp_sim_new(cfg, p, input, &s);
	if (r < 0)
		return r;
	nhosts = vmp_sim_nhosts(s);
	nvms = vmp_sim_nvms(s);
	if (external) {
		if (pilot_params)
			pp = *pilot_params;
		else
			vmp_pilot_params_default(&pp);
		r = vmp_pilot_new(&pp, nhosts, nvms, &pl);
		if (r < 0)
			goto out;
		hosts = szalloc(nhosts, sizeof(*hosts));
		for (i = 0; i < nhosts; i++) {
			const struct vmp_sim_host_type *t = &cfg->host_types[i % cfg->nhost_types];

			hosts[i].capacity_mips = t->pe_mips * t->pes;
			hosts[i].core_mips = t->pe_mips;
			/* the simulator migrates over half the link: kbit/s -> KiB/s */
			hosts[i].bw_kib_s = t->bw_kbit / 2 / 8 * 1000 / 1024;
			hosts[i].power = t->power;
			hosts[i].mem_kib = plan_mem ? t->ram_mb * 1024 : 0;
		}
	}
	vms = szalloc(nvms, sizeof(*vms));
	host_req = szalloc(nhosts, sizeof(*host_req));
	over = szalloc(cap, sizeof(*over));
	mig = szalloc(cap, sizeof(*mig));
	ret->bound_w = szalloc(cap, sizeof(double));
	while (vmp_sim_step(s) > 0) {
		double d = 0, t = vmp_sim_time_s(s);
		uint32_t nover = 0;

		memset(host_req, 0, nhosts * sizeof(*host_req));
		for (i = 0; i < nvms; i++) {
			struct vmp_sim_vm_state vs;

			vmp_sim_vm(s, i, &vs);
			vms[i].host = vs.host;
			vms[i].migrating = vs.migrating_to >= 0;
			vms[i].mips = vs.mips;
			vms[i].ram_kib = vs.ram_mb * 1024;
			vms[i].dirty_kib_s = 0;
			vms[i].demand_mips = vs.requested_mips;
			vms[i].mem_kib = plan_mem ? vs.mem_demand_mb * 1024 : 0;
			if (vs.host < 0)
				continue;
			d += vs.requested_mips;
			host_req[vs.host] += vs.requested_mips;
		}
		for (i = 0; i < nhosts; i++) {
			struct vmp_sim_host_state hs;

			vmp_sim_host(s, i, &hs);
			if (host_req[i] > hs.total_mips)
				nover++;
			if (external)
				hosts[i].on = hs.active || hs.nvms > 0;
			if (plan_mem) {
				/* a VM migrating in or out holds its memory on both hosts */
				double free_mb = hs.ram_mb - hs.mem_demand_mb;

				hosts[i].mem_free_kib = free_mb > 0 ? free_mb * 1024 : 0;
				hosts[i].mem_short_kib = free_mb < 0 ? -free_mb * 1024 : 0;
			}
		}
		/* the simulator charges nothing for the interval before the first step */
		if (!first)
			bound_ws += vmp_bound_interval_ws(&bound, prev_d, d, t - prev_t);
		first = false;
		prev_d = d;
		prev_t = t;
		if (nsteps < cap) {
			over[nsteps] = nover;
			ret->bound_w[nsteps] = vmp_bound_watts(&bound, d);
		}
		if (external) {
			const struct vmp_pilot_move *moves;
			int n = vmp_pilot_plan(pl, hosts, nhosts, vms, nvms, &moves), k;
			uint32_t started = 0;

			if (n < 0) {
				r = n;
				goto out;
			}
			for (k = 0; k < n; k++) {
				if (vmp_sim_migrate(s, moves[k].vm, moves[k].to) < 0)
					continue;
				started++;
				if (moves[k].reason == VMP_PILOT_CONSOLIDATE)
					ret->pilot_consolidate++;
				else
					ret->pilot_relieve++;
			}
			if (nsteps < cap)
				mig[nsteps] = started;
		}
		nsteps++;
		if (progress)
			progress(ctx, nsteps, input->nsteps > 0 ? input->nsteps - 1 : 0);
	}
	vmp_sim_result(s, &ret->sim);
	/* the simulator counts migrations started inside its step; the pilot's start after */
	if (external)
		for (i = 0; i < ret->sim.series.n && i < cap; i++)
			ret->sim.series.migrations[i] = mig[i];
	ret->oversubscribed_hosts = over;
	over = NULL;
	ret->bound_kwh = bound_ws / 3600000.0;
	ret->energy_ratio = ret->bound_kwh > 0 ? ret->sim.energy_kwh / ret->bound_kwh : 0;
	r = 0;
out:
	if (r < 0)
		vmp_simrun_result_release(ret);
	free(over);
	free(mig);
	free(host_req);
	free(vms);
	free(hosts);
	vmp_pilot_free(pl);
	vmp_sim_free(s);
	return r;
}
