/* SPDX-License-Identifier: MIT */
/* Trace replay of the right-sizing and overcommit policies (see replay.h, doc/replay.md). */
#include "core/replay.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/budget.h"

#define GIB_KIB (1024.0 * 1024.0)
#define HOUR_MS 3600000.0

static const char *const policy_names[VMP_REPLAY_POLICY_MAX] = {
	[VMP_REPLAY_STATIC] = "static",
	[VMP_REPLAY_MOM] = "mom",
	[VMP_REPLAY_VPA] = "vpa",
	[VMP_REPLAY_VMPILOT] = "vmpilot",
};

const char *
vmp_replay_policy_name(enum vmp_replay_policy p)
{
	return (unsigned)p < VMP_REPLAY_POLICY_MAX ? policy_names[p] : "?";
}

void
vmp_replay_params_default(struct vmp_replay_params *p)
{
	memset(p, 0, sizeof(*p));
	p->step_ms = 300000;
	p->vms_per_host = 25;
	p->overcommit = 1.0;
	p->mem_min_kib = 256 * 1024;
	p->balloons_per_hour = 120;
	p->hotplugs_per_hour = 30;
	vmp_mem_params_default(&p->vmpilot_mem);
	vmp_mem_params_vpa(&p->vpa_mem);
	vmp_cpu_params_default(&p->vmpilot_cpu);
	vmp_cpu_params_vpa(&p->vpa_cpu);
	vmp_overcommit_params_default(&p->overcommit_params);
	vmp_mom_params_default(&p->mom);
}

/* Per-VM replay state. */
struct vm_run {
	bool started;
	uint64_t alloc_kib;
	unsigned vcpus;
	struct vmp_mem_state mem;
	struct vmp_cpu_state cpu;
	uint64_t want_kib;         /* right-sizer's wish this step */
	bool running;              /* this step */
	const struct vmp_replay_sample *s;
};

static bool
running(const struct vmp_replay_sample *s)
{
	return s->mem_prov_kib > 0 && s->cpu_prov_mhz > 0;
}

static unsigned
cores_of(const struct vmp_replay_sample *s)
{
	return s->cpu_cores >= 1 ? (unsigned)s->cpu_cores : 1;
}

static void
vm_limits(const struct vmp_replay_params *p, const struct vmp_replay_sample *s,
	  struct vmp_vm_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->mem_max_kib = (uint64_t)s->mem_prov_kib;
	lim->mem_min_kib = p->mem_min_kib < lim->mem_max_kib ? p->mem_min_kib : lim->mem_max_kib;
	lim->vcpus_min = 1;
	lim->vcpus_max = cores_of(s);
}

/* What the guest's balloon driver would report: the trace's use inside the allocation. */
static void
mem_input(const struct vm_run *v, struct vmp_mem_input *in)
{
	double used = v->s->mem_used_kib, alloc = (double)v->alloc_kib;

	memset(in, 0, sizeof(*in));
	in->have_stats = true;
	in->actual_kib = v->alloc_kib;
	in->have_available = true;
	in->available_kib = used < alloc ? (uint64_t)(alloc - used) : 0;
	in->unused_kib = in->available_kib;
	/* Demand beyond the allocation would be swapped: the guest reports swap-in. */
	in->swap_in_kib = used > alloc ? (uint64_t)(used - alloc) : 0;
	in->psi_some_avg10 = -1;
}

static void
cpu_input(const struct vm_run *v, struct vmp_cpu_input *in)
{
	double mhz_per_core = v->s->cpu_prov_mhz / cores_of(v->s);

	memset(in, 0, sizeof(*in));
	in->have_stats = true;
	in->usage_cores = v->s->cpu_used_mhz / mhz_per_core;
	/* Bitbrains has no steal; the replay host is never CPU-contended. */
	in->steal_frac = 0;
}

static void
measure(const struct vmp_replay_params *p, const struct vm_run *v, struct vmp_replay_result *r,
	double *cpu_used_sum, double *mem_slack_sum, double *cpu_slack_sum, uint64_t *cpu_short)
{
	const struct vmp_replay_sample *s = v->s;
	double alloc = (double)v->alloc_kib, used = s->mem_used_kib;
	double mhz_per_core = s->cpu_prov_mhz / cores_of(s);
	double cpu_alloc = v->vcpus * mhz_per_core, step_h = (double)p->step_ms / HOUR_MS;

	r->vm_steps++;
	r->mem_used_kib_steps += used;
	if (alloc >= used) {
		*mem_slack_sum += alloc - used;
	} else {
		r->mem_short_vm_h += step_h;
		r->mem_short_gib_h += (used - alloc) / GIB_KIB * step_h;
	}
	*cpu_used_sum += s->cpu_used_mhz;
	if (cpu_alloc >= s->cpu_used_mhz) {
		*cpu_slack_sum += cpu_alloc - s->cpu_used_mhz;
	} else {
		(*cpu_short)++;
		r->cpu_short_core_h += (s->cpu_used_mhz - cpu_alloc) / mhz_per_core * step_h;
	}
}

static void
apply_mem(struct vm_run *v, double to, struct vmp_replay_result *r)
{
	uint64_t next = (uint64_t)to;

	if (next != v->alloc_kib) {
		v->alloc_kib = next;
		r->mem_actions++;
	}
}

/* One host's decisions for one step. */
static int
decide_host(const struct vmp_replay_params *p, enum vmp_replay_policy policy,
	    struct vm_run *vms, size_t first, size_t n, double host_kib,
	    struct vmp_budget *budget, int64_t now_ms, struct vmp_replay_result *r, void *scratch)
{
	struct vmp_decision *d = scratch, *want_d = d + n;
	struct vmp_overcommit_vm *ov = (void *)(want_d + n);
	struct vmp_mom_guest *mg = (void *)(ov + n);
	struct vmp_host_mem host;
	double sum_alloc = 0;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (vms[i].running)
			sum_alloc += (double)vms[i].alloc_kib;
	host.total_kib = (uint64_t)host_kib;
	host.available_kib = sum_alloc < host_kib ? (uint64_t)(host_kib - sum_alloc) : 0;
	if (sum_alloc > host_kib)
		r->host_over_pct += 1;

	switch (policy) {
	case VMP_REPLAY_STATIC:
		return 0;
	case VMP_REPLAY_MOM:
		for (i = 0; i < n; i++) {
			memset(&mg[i], 0, sizeof(mg[i]));
			if (!vms[i].running)
				continue;
			mg[i].balloon_cur_kib = vms[i].alloc_kib;
			mg[i].balloon_max_kib = (uint64_t)vms[i].s->mem_prov_kib;
			mg[i].balloon_min_kib = p->mem_min_kib;
			mg[i].stat_available_kib = vms[i].alloc_kib;
			mg[i].stat_free_kib = vms[i].s->mem_used_kib < (double)vms[i].alloc_kib ?
				(uint64_t)((double)vms[i].alloc_kib - vms[i].s->mem_used_kib) : 0;
			mg[i].stats_ok = true;
		}
		rc = vmp_mom_plan(&p->mom, &host, mg, n, d);
		if (rc < 0)
			return rc;
		for (i = 0; i < n; i++)
			if (vms[i].running)
				apply_mem(&vms[i], d[i].to, r);
		return 0;
	case VMP_REPLAY_VPA:
	case VMP_REPLAY_VMPILOT:
		break;
	default:
		return -EINVAL;
	}

	for (i = 0; i < n; i++) {
		struct vm_run *v = &vms[i];
		struct vmp_vm_limits lim;
		struct vmp_mem_input min;
		struct vmp_cpu_input cin;
		struct vmp_decision cd;
		bool vmpilot = policy == VMP_REPLAY_VMPILOT;

		memset(&ov[i], 0, sizeof(ov[i]));
		if (!v->running)
			continue;
		vm_limits(p, v->s, &lim);
		mem_input(v, &min);
		rc = vmp_rightsize_memory(vmpilot ? &p->vmpilot_mem : &p->vpa_mem, &lim, &v->mem,
					  &min, v->alloc_kib, now_ms, &d[i]);
		if (rc < 0)
			return rc;
		v->want_kib = (uint64_t)d[i].to;
		want_d[i] = d[i];
		cpu_input(v, &cin);
		rc = vmp_rightsize_vcpus(vmpilot ? &p->vmpilot_cpu : &p->vpa_cpu, &lim, &v->cpu,
					 &cin, v->vcpus, now_ms, &cd);
		if (rc < 0)
			return rc;
		if (vmpilot && !vmp_budget_gate(budget, VMP_BUDGET_HOTPLUG, false, false, now_ms, &cd)) {
			if (p->journal)
				p->journal(p->journal_ctx, first + i, "vcpus", now_ms, &cd, false);
			continue;
		}
		if (vmpilot && p->journal)
			p->journal(p->journal_ctx, first + i, "vcpus", now_ms, &cd,
				   cd.action != VMP_ACT_NONE);
		if ((unsigned)cd.to != v->vcpus) {
			v->vcpus = (unsigned)cd.to;
			r->cpu_actions++;
		}
	}
	if (policy == VMP_REPLAY_VPA) {
		for (i = 0; i < n; i++)
			if (vms[i].running)
				apply_mem(&vms[i], (double)vms[i].want_kib, r);
		return 0;
	}

	/* vmpilot: the host layer fits the wishes into the host, then the budget gates. */
	for (i = 0; i < n; i++) {
		struct vm_run *v = &vms[i];

		if (!v->running) {
			/* An off VM holds nothing and wants nothing. */
			ov[i].stats_ok = false;
			ov[i].opt_out = true;
			continue;
		}
		ov[i].current_kib = v->alloc_kib;
		ov[i].want_kib = v->want_kib;
		ov[i].floor_kib = v->mem.floor_kib;
		ov[i].max_kib = (uint64_t)v->s->mem_prov_kib;
		ov[i].stats_ok = true;
		ov[i].guest_pressure = v->mem.pressure;
	}
	rc = vmp_overcommit_plan(&p->overcommit_params, &host, ov, n, d, NULL);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		bool acted;

		if (!vms[i].running)
			continue;
		acted = vmp_budget_gate(budget, VMP_BUDGET_BALLOON, false, false, now_ms, &d[i]);
		if (acted)
			apply_mem(&vms[i], d[i].to, r);
		if (p->journal) {
			/* The right-sizer's decision, then the host layer's if it differed. */
			p->journal(p->journal_ctx, first + i, "memory", now_ms, &want_d[i],
				   acted && (uint64_t)d[i].to == vms[i].want_kib);
			if ((uint64_t)d[i].to != vms[i].want_kib || d[i].reason == VMP_WHY_BUDGET)
				p->journal(p->journal_ctx, first + i, "host_memory", now_ms, &d[i],
					   acted);
		}
	}
	return 0;
}

int
vmp_replay_run(const struct vmp_replay_params *p, const struct vmp_replay_vm *vms, size_t n,
	       enum vmp_replay_policy policy, struct vmp_replay_result *ret)
{
	struct vmp_replay_result r;
	struct vm_run *run = NULL;
	struct vmp_budget *budget = NULL;
	double *host_kib = NULL;
	void *scratch = NULL;
	double cpu_used = 0, mem_slack = 0, cpu_slack = 0;
	uint64_t cpu_short = 0, mem_short = 0, host_steps = 0;
	size_t nhosts, i, h, k, maxn = 0, per;
	int rc = -ENOMEM;

	if ((unsigned)policy >= VMP_REPLAY_POLICY_MAX || p->vms_per_host == 0 ||
	    !(p->overcommit > 0) || p->step_ms <= 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.policy = policy;
	per = p->vms_per_host;
	nhosts = (n + per - 1) / per;
	run = calloc(n ? n : 1, sizeof(*run));
	budget = calloc(nhosts ? nhosts : 1, sizeof(*budget));
	host_kib = calloc(nhosts ? nhosts : 1, sizeof(*host_kib));
	scratch = calloc(per, 2 * sizeof(struct vmp_decision) + sizeof(struct vmp_overcommit_vm) +
			 sizeof(struct vmp_mom_guest));
	if (!run || !budget || !host_kib || !scratch)
		goto out;

	rc = -EINVAL;
	for (i = 0; i < n; i++) {
		double prov = 0;

		if (vmp_mem_state_init(&run[i].mem, policy == VMP_REPLAY_VPA ? &p->vpa_mem :
				       &p->vmpilot_mem) < 0 ||
		    vmp_cpu_state_init(&run[i].cpu, policy == VMP_REPLAY_VPA ? &p->vpa_cpu :
				       &p->vmpilot_cpu) < 0)
			goto out;
		for (k = 0; k < vms[i].nsamples; k++)
			if (vms[i].samples[k].mem_prov_kib > prov)
				prov = vms[i].samples[k].mem_prov_kib;
		host_kib[i / per] += prov / p->overcommit;
		if (vms[i].nsamples > maxn)
			maxn = vms[i].nsamples;
	}
	for (h = 0; h < nhosts; h++)
		if (vmp_budget_init(&budget[h], p->balloons_per_hour, p->hotplugs_per_hour, 0) < 0)
			goto out;

	for (k = 0; k < maxn; k++) {
		int64_t now_ms = (int64_t)k * p->step_ms;

		/* Measure this step under the allocations decided at the end of the last. */
		for (i = 0; i < n; i++) {
			struct vm_run *v = &run[i];

			v->running = k < vms[i].nsamples && running(&vms[i].samples[k]);
			if (!v->running)
				continue;
			v->s = &vms[i].samples[k];
			if (!v->started) {
				/* Every policy starts from the provisioned size. */
				v->started = true;
				v->alloc_kib = (uint64_t)v->s->mem_prov_kib;
				v->vcpus = cores_of(v->s);
			}
			if (policy == VMP_REPLAY_STATIC) {
				v->alloc_kib = (uint64_t)v->s->mem_prov_kib;
				v->vcpus = cores_of(v->s);
			}
			/* The VM's configuration bounds every policy. */
			if ((double)v->alloc_kib > v->s->mem_prov_kib)
				v->alloc_kib = (uint64_t)v->s->mem_prov_kib;
			if (v->vcpus > cores_of(v->s))
				v->vcpus = cores_of(v->s);
			if (v->s->mem_used_kib > (double)v->alloc_kib)
				mem_short++;
			measure(p, v, &r, &cpu_used, &mem_slack, &cpu_slack, &cpu_short);
		}
		/* Then decide the next step's allocations, host by host. */
		for (h = 0; h < nhosts; h++) {
			size_t first = h * per, cnt = n - first < per ? n - first : per;

			host_steps++;
			rc = decide_host(p, policy, run + first, first, cnt, host_kib[h], &budget[h],
					 now_ms, &r, scratch);
			if (rc < 0)
				goto out;
		}
	}
	if (r.vm_steps > 0) {
		r.mem_short_pct = 100.0 * (double)mem_short / (double)r.vm_steps;
		r.cpu_short_pct = 100.0 * (double)cpu_short / (double)r.vm_steps;
	}
	r.mem_slack_pct = r.mem_used_kib_steps > 0 ? 100.0 * mem_slack / r.mem_used_kib_steps : 0;
	r.cpu_slack_pct = cpu_used > 0 ? 100.0 * cpu_slack / cpu_used : 0;
	r.host_over_pct = host_steps ? 100.0 * r.host_over_pct / (double)host_steps : 0;
	*ret = r;
	rc = 0;
out:
	free(run);
	free(budget);
	free(host_kib);
	free(scratch);
	return rc;
}
