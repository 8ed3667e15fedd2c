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
/* Memory actions remembered per VM to find the busiest hour (MOM makes up to 30 a step). */
#define ACT_RING 64

static const char *const policy_names[VMP_REPLAY_POLICY_MAX] = {
	[VMP_REPLAY_STATIC] = "static",
	[VMP_REPLAY_MOM] = "mom",
	[VMP_REPLAY_VPA] = "vpa",
	[VMP_REPLAY_AUTOPILOT] = "autopilot",
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
	vmp_cpu_params_default(&p->vmpilot_cpu);
	vmp_vpa_params_default(&p->vpa);
	vmp_ap_params_memory(&p->ap_mem);
	vmp_ap_params_cpu(&p->ap_cpu);
	vmp_overcommit_params_default(&p->overcommit_params);
	vmp_mom_params_default(&p->mom);
	p->mom_interval_ms = 10000;
	p->disk_static_kibps = 50 * 1024;
	p->disk_min_kibps = 1024;
	p->disk_max_kibps = 200 * 1024;
	vmp_disk_params_default(&p->vmpilot_disk);
	vmp_ap_params_cpu(&p->ap_disk);
	p->ap_disk.hist = p->vmpilot_disk.hist;
}

/* Per-VM replay state. */
struct vm_run {
	bool started;
	uint64_t alloc_kib;
	double prov_kib;           /* provisioned memory at the VM's last running step */
	unsigned vcpus;
	double resident_kib;       /* host memory the guest has touched, within its allocation */
	struct vmp_mem_state mem;
	struct vmp_cpu_state cpu;
	struct vmp_vpa_state vpa;
	struct vmp_ap_state ap_mem, ap_cpu;
	double disk_lim[2];        /* read, write limits, KiB/s */
	struct vmp_disk_state disk[2];
	struct vmp_usage_model vpa_disk[2];
	struct vmp_ap_state ap_disk[2];
	uint64_t want_kib;         /* right-sizer's wish this step */
	bool running;              /* this step */
	int64_t act_ms[ACT_RING];  /* times of the last memory actions, a ring */
	unsigned act_n;
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
apply_mem(struct vm_run *v, double to, int64_t now_ms, struct vmp_replay_result *r)
{
	uint64_t next = (uint64_t)to;
	unsigned k, in_hour = 1;

	if (next == v->alloc_kib)
		return;
	v->alloc_kib = next;
	/* A balloon that shrinks below what the guest touched returns those pages. */
	if (v->resident_kib > (double)next)
		v->resident_kib = (double)next;
	r->mem_actions++;
	/* Actions of this VM in the hour up to and including this one (any 60-min window). */
	for (k = 0; k < v->act_n && k < ACT_RING; k++)
		if (now_ms - v->act_ms[k] < (int64_t)HOUR_MS)
			in_hour++;
	v->act_ms[v->act_n++ % ACT_RING] = now_ms;
	if (in_hour > r->mem_actions_max_hour)
		r->mem_actions_max_hour = in_hour;
}

/*
 * Host free memory as the host reports it (MemFree + caches): host memory minus what the
 * guests have touched. A guest's pages stay resident once touched (no free page
 * reporting) until its balloon takes them back; the trace's use is all a guest touches.
 */
static double
host_free_kib(const struct vm_run *vms, size_t n, double host_kib)
{
	double used = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (vms[i].running)
			used += vms[i].resident_kib;
	return used < host_kib ? host_kib - used : 0;
}

/* oVirt MOM: its balloon rules every mom_interval_ms within the step (use is constant). */
static int
decide_mom(const struct vmp_replay_params *p, struct vm_run *vms, size_t n, double host_kib,
	   int64_t now_ms, struct vmp_replay_result *r, struct vmp_mom_guest *mg,
	   struct vmp_decision *d)
{
	int64_t cycles = p->mom_interval_ms > 0 ? p->step_ms / p->mom_interval_ms : 1, c;
	struct vmp_host_mem host;
	size_t i;
	int rc;

	if (cycles < 1)
		cycles = 1;
	host.total_kib = (uint64_t)host_kib;
	for (c = 0; c < cycles; c++) {
		host.available_kib = (uint64_t)host_free_kib(vms, n, host_kib);
		for (i = 0; i < n; i++) {
			double used;

			memset(&mg[i], 0, sizeof(mg[i]));
			if (!vms[i].running)
				continue;
			used = vms[i].s->mem_used_kib;
			mg[i].balloon_cur_kib = vms[i].alloc_kib;
			mg[i].balloon_max_kib = (uint64_t)vms[i].s->mem_prov_kib;
			mg[i].balloon_min_kib = p->mem_min_kib;
			mg[i].stat_available_kib = vms[i].alloc_kib;
			mg[i].stat_free_kib = used < (double)vms[i].alloc_kib ?
				(uint64_t)((double)vms[i].alloc_kib - used) : 0;
			mg[i].stats_ok = true;
		}
		rc = vmp_mom_plan(&p->mom, &host, mg, n, d);
		if (rc < 0)
			return rc;
		for (i = 0; i < n; i++)
			if (vms[i].running)
				apply_mem(&vms[i], d[i].to, now_ms + c * p->mom_interval_ms, r);
	}
	return 0;
}

static void
vm_bounds(const struct vmp_replay_params *p, const struct vm_run *v, double *lo, double *hi)
{
	*hi = v->s->mem_prov_kib;
	*lo = (double)p->mem_min_kib < *hi ? (double)p->mem_min_kib : *hi;
}

/* The Kubernetes VPA: recommender and updater, both resources in one update. */
static int
decide_vpa(const struct vmp_replay_params *p, struct vm_run *v, int64_t now_ms,
	   struct vmp_replay_result *r)
{
	struct vmp_vpa_input in;
	struct vmp_cpu_input cin;
	uint64_t mem;
	unsigned vcpus;
	double lo, hi;
	int rc;

	vm_bounds(p, v, &lo, &hi);
	cpu_input(v, &cin);
	memset(&in, 0, sizeof(in));
	/* The VM cannot show more use than it has: the working set as observed. */
	in.mem_used_kib = fmin(v->s->mem_used_kib, (double)v->alloc_kib);
	in.oom = v->s->mem_used_kib > (double)v->alloc_kib;
	in.cpu_cores = fmin(cin.usage_cores, (double)v->vcpus);
	in.mem_kib = v->alloc_kib;
	in.vcpus = v->vcpus;
	in.mem_min_kib = (uint64_t)lo;
	in.mem_max_kib = (uint64_t)hi;
	in.vcpus_max = cores_of(v->s);
	rc = vmp_vpa_step(&p->vpa, &v->vpa, &in, now_ms, &mem, &vcpus, NULL);
	if (rc <= 0)
		return rc;
	apply_mem(v, (double)mem, now_ms, r);
	if (vcpus != v->vcpus) {
		v->vcpus = vcpus;
		r->cpu_actions++;
	}
	return 0;
}

/* Autopilot's ML recommender per resource; it sees the true use (see doc/replay.md). */
static void
decide_autopilot(const struct vmp_replay_params *p, struct vm_run *v, int64_t now_ms,
		 struct vmp_replay_result *r)
{
	struct vmp_cpu_input cin;
	double lo, hi, mem, cores;
	unsigned vcpus;

	vm_bounds(p, v, &lo, &hi);
	mem = vmp_ap_step(&p->ap_mem, &v->ap_mem, v->s->mem_used_kib, now_ms);
	apply_mem(v, floor(fmin(fmax(mem, lo), hi)), now_ms, r);
	cpu_input(v, &cin);
	cores = vmp_ap_step(&p->ap_cpu, &v->ap_cpu, cin.usage_cores, now_ms);
	cores = ceil(cores - 1e-9);
	vcpus = cores < 1 ? 1 : cores > cores_of(v->s) ? cores_of(v->s) : (unsigned)cores;
	if (vcpus != v->vcpus) {
		v->vcpus = vcpus;
		r->cpu_actions++;
	}
}

static double
disk_demand(const struct vmp_replay_sample *s, int dir)
{
	return dir == 0 ? s->disk_rd_kibps : s->disk_wr_kibps;
}

/* Each policy's disk limits, per direction; MOM and static have no disk policy. */
static int
decide_disk(const struct vmp_replay_params *p, enum vmp_replay_policy policy, struct vm_run *v,
	    int64_t now_ms, struct vmp_replay_result *r)
{
	struct vmp_estimate_params vpa_est = { .target_frac = 0.95, .margin_frac = 0.15 };
	struct vmp_estimate est;
	struct vmp_disk_input in;
	struct vmp_decision d;
	int dir, rc;

	for (dir = 0; dir < 2; dir++) {
		double demand = disk_demand(v->s, dir), lim = v->disk_lim[dir], seen, next = lim;

		/* What the guest got is what a policy can observe. */
		seen = fmin(demand, lim);
		switch (policy) {
		case VMP_REPLAY_VPA:
			/* VPA has no disk resource: its recommender's P95 x 1.15, set every step. */
			vmp_usage_model_add(&v->vpa_disk[dir], seen, 1.0, now_ms);
			vmp_usage_model_estimate(&v->vpa_disk[dir], &vpa_est, &est);
			next = fmin(fmax(est.target, p->disk_min_kibps), p->disk_max_kibps);
			break;
		case VMP_REPLAY_AUTOPILOT:
			next = vmp_ap_step(&p->ap_disk, &v->ap_disk[dir], demand, now_ms);
			next = fmin(fmax(next, p->disk_min_kibps), p->disk_max_kibps);
			break;
		case VMP_REPLAY_VMPILOT:
			memset(&in, 0, sizeof(in));
			in.have_stats = true;
			in.kibps = seen;
			rc = vmp_rightsize_disk(&p->vmpilot_disk, p->disk_min_kibps, p->disk_max_kibps,
						&v->disk[dir], &in, lim, now_ms, &d);
			if (rc < 0)
				return rc;
			next = d.to;
			break;
		default:
			break;
		}
		if (next != lim) {
			v->disk_lim[dir] = next;
			r->disk_actions++;
		}
	}
	return 0;
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
	host.available_kib = (uint64_t)host_free_kib(vms, n, host_kib);
	if (sum_alloc > host_kib)
		r->host_over_pct += 1;

	switch (policy) {
	case VMP_REPLAY_STATIC:
		return 0;
	case VMP_REPLAY_MOM:
		return decide_mom(p, vms, n, host_kib, now_ms, r, mg, d);
	case VMP_REPLAY_VPA:
		for (i = 0; i < n; i++) {
			if (!vms[i].running)
				continue;
			rc = decide_vpa(p, &vms[i], now_ms, r);
			if (rc == 0)
				rc = decide_disk(p, policy, &vms[i], now_ms, r);
			if (rc < 0)
				return rc;
		}
		return 0;
	case VMP_REPLAY_AUTOPILOT:
		for (i = 0; i < n; i++) {
			if (!vms[i].running)
				continue;
			decide_autopilot(p, &vms[i], now_ms, r);
			decide_disk(p, policy, &vms[i], now_ms, r);
		}
		return 0;
	case VMP_REPLAY_VMPILOT:
		for (i = 0; i < n; i++) {
			if (!vms[i].running)
				continue;
			rc = decide_disk(p, policy, &vms[i], now_ms, r);
			if (rc < 0)
				return rc;
		}
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

		memset(&ov[i], 0, sizeof(ov[i]));
		if (!v->running)
			continue;
		vm_limits(p, v->s, &lim);
		mem_input(v, &min);
		rc = vmp_rightsize_memory(&p->vmpilot_mem, &lim, &v->mem, &min, v->alloc_kib,
					  now_ms, &d[i]);
		if (rc < 0)
			return rc;
		v->want_kib = (uint64_t)d[i].to;
		want_d[i] = d[i];
		cpu_input(v, &cin);
		rc = vmp_rightsize_vcpus(&p->vmpilot_cpu, &lim, &v->cpu, &cin, v->vcpus, now_ms,
					 &cd);
		if (rc < 0)
			return rc;
		if (!vmp_budget_gate(budget, VMP_BUDGET_HOTPLUG, false, false, now_ms, &cd)) {
			if (p->journal)
				p->journal(p->journal_ctx, first + i, "vcpus", now_ms, &cd, false);
			continue;
		}
		if (p->journal)
			p->journal(p->journal_ctx, first + i, "vcpus", now_ms, &cd,
				   cd.action != VMP_ACT_NONE);
		if ((unsigned)cd.to != v->vcpus) {
			v->vcpus = (unsigned)cd.to;
			r->cpu_actions++;
		}
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
			apply_mem(&vms[i], d[i].to, now_ms, r);
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
	double cpu_used = 0, mem_slack = 0, cpu_slack = 0, mem_alloc = 0;
	double disk_demand_sum = 0, disk_head = 0, disk_thr = 0;
	uint64_t disk_thr_steps = 0;
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

		if (vmp_mem_state_init(&run[i].mem, &p->vmpilot_mem) < 0 ||
		    vmp_cpu_state_init(&run[i].cpu, &p->vmpilot_cpu) < 0 ||
		    vmp_vpa_state_init(&run[i].vpa, &p->vpa) < 0 ||
		    vmp_ap_state_init(&run[i].ap_mem, &p->ap_mem) < 0 ||
		    vmp_ap_state_init(&run[i].ap_cpu, &p->ap_cpu) < 0)
			goto out;
		for (k = 0; k < 2; k++) {
			if (vmp_disk_state_init(&run[i].disk[k], &p->vmpilot_disk) < 0 ||
			    vmp_usage_model_init(&run[i].vpa_disk[k], &p->vmpilot_disk.hist, 0) < 0 ||
			    vmp_ap_state_init(&run[i].ap_disk[k], &p->ap_disk) < 0)
				goto out;
			run[i].disk_lim[k] = p->disk_static_kibps;
		}
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
			/*
			 * Provisioned memory that grows is memory hot-added to the VM: the guest
			 * gets it on top of what its balloon leaves it (the balloon keeps the
			 * pages it holds), for every policy alike.
			 */
			if (v->prov_kib > 0 && v->s->mem_prov_kib > v->prov_kib)
				v->alloc_kib += (uint64_t)(v->s->mem_prov_kib - v->prov_kib);
			v->prov_kib = v->s->mem_prov_kib;
			/* The VM's configuration bounds every policy. */
			if ((double)v->alloc_kib > v->s->mem_prov_kib)
				v->alloc_kib = (uint64_t)v->s->mem_prov_kib;
			if (v->vcpus > cores_of(v->s))
				v->vcpus = cores_of(v->s);
			/* The guest touches what it uses, within its allocation. */
			if (v->resident_kib < fmin(v->s->mem_used_kib, (double)v->alloc_kib))
				v->resident_kib = fmin(v->s->mem_used_kib, (double)v->alloc_kib);
			if (v->s->mem_used_kib > (double)v->alloc_kib)
				mem_short++;
			measure(p, v, &r, &cpu_used, &mem_slack, &cpu_slack, &cpu_short);
			mem_alloc += (double)v->alloc_kib;
			{
				bool throttled = false;
				int dir;

				for (dir = 0; dir < 2; dir++) {
					double dem = disk_demand(v->s, dir), lim = v->disk_lim[dir];

					disk_demand_sum += dem;
					if (dem > lim) {
						disk_thr += dem - lim;
						throttled = true;
					} else {
						disk_head += lim - dem;
					}
				}
				disk_thr_steps += throttled;
			}
			if (p->observe)
				p->observe(p->observe_ctx, i, now_ms, v->s, v->alloc_kib, v->vcpus);
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
	r.mem_rel_slack_pct = mem_alloc > 0 ? 100.0 * mem_slack / mem_alloc : 0;
	if (disk_demand_sum > 0) {
		r.disk_headroom_pct = 100.0 * disk_head / disk_demand_sum;
		r.disk_throttled_pct = 100.0 * disk_thr / disk_demand_sum;
	}
	if (r.vm_steps > 0)
		r.disk_throttled_steps_pct = 100.0 * (double)disk_thr_steps / (double)r.vm_steps;
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
