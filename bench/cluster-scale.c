/* SPDX-License-Identifier: MIT */
/*
 * Scale benchmark of the cluster mode (issue 11, doc/cluster.md "Benchmark"). Part 1:
 * 1,000 simulated hosts and 10,000 VMs (a synthetic PlanetLab-like day, the recipe of
 * bench/sim-scale.c, on core/sim.c's reference host types made 16-core: bench/synthday.h)
 * whose agents, simulated in this process with one struct vmp_cluster each (its own
 * lease and HTTP client), publish their host summary every cycle to a real local etcd
 * started by tests/lib/etcdharness; the elected agent reads the snapshot, housekeeps
 * the intents, plans over the snapshot (vmp_pilot_plan_flags with the agents'
 * histories), writes each move as an intent that the source agent claims, "migrates"
 * (vmp_sim_migrate) and finishes. Per cycle it prints the agents' tick (lease renewal
 * and campaign) time, the publications' write rate and bytes to etcd, the snapshot's
 * read, housekeeping and decode times, the planning time and the intents' time. Part 2:
 * in-process planning (no etcd) of 10,000 hosts and 100,000 VMs against the 1 s
 * target, beside 1,000 hosts and 10,000 VMs as the baseline measured in the same run.
 * usage: cluster-scale SEED_DAY_DIR [-c CYCLES] [-p PLAN_CYCLES] [-H HOSTS] [-B BIG_HOSTS]
 *                      [-d DIR] [-n]
 *   -c  cycles of part 1 (5)            -p  cycles of part 2 per size (6)
 *   -H  hosts of part 1 and of part 2's baseline (1000); VMs are 10 per host
 *   -B  hosts of part 2's target size (10000)
 *   -d  where etcd's data dir goes (/tmp)   -n  skip part 1 (no etcd)
 * Exit status: 0 when part 2's target size planned every cycle under 1 s, 1 if not, 2 on
 * a usage or setup error or when part 1 failed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "core/pilot.h"
#include "core/sim.h"
#include "etcdharness.h"
#include "trace/trace.h"
#include "synthday.h"

#define TARGET_S 1.0

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

/* A simulated cluster of nhosts hosts and 10 x nhosts VMs, the planner's policy row. */
struct world {
	struct vmp_sim_config cfg;
	struct vmp_sim_input in;
	float *pct;
	struct vmp_sim *sim;
	size_t nhosts, nvms;
	struct vmp_pilot_host *hosts;
	struct vmp_pilot_vm *vms;
};

static int
world_new(const struct vmp_trace *seed, size_t nhosts, struct world *w)
{
	size_t i;
	int r;

	memset(w, 0, sizeof(*w));
	w->nhosts = nhosts;
	w->nvms = 10 * nhosts;
	w->pct = vmp_bench_synth_day(seed, w->nvms, 42);
	w->in.nvms = w->nvms;
	w->in.nsteps = seed->nsteps;
	w->in.cpu_pct = w->pct;
	vmp_sim_config_default(&w->cfg);
	w->cfg.nhosts = nhosts;
	vmp_bench_big_hosts(&w->cfg);
	r = vmp_sim_new(&w->cfg, vmp_sim_policy_find("vmpilot"), &w->in, &w->sim);
	if (r < 0)
		return r;
	for (i = 0; i < w->nvms; i++) {
		struct vmp_sim_vm_state vs;

		vmp_sim_vm(w->sim, i, &vs);
		if (vs.host < 0) {
			fprintf(stderr, "cluster-scale: vm %zu of %zu was not placed\n", i, w->nvms);
			return -ENOSPC;
		}
	}
	w->hosts = xcalloc(nhosts, sizeof(*w->hosts));
	w->vms = xcalloc(w->nvms, sizeof(*w->vms));
	/* as core/simrun.c fills the planner's hosts */
	for (i = 0; i < nhosts; i++) {
		const struct vmp_sim_host_type *t = &w->cfg.host_types[i % w->cfg.nhost_types];

		w->hosts[i].capacity_mips = t->pe_mips * t->pes;
		w->hosts[i].core_mips = t->pe_mips;
		w->hosts[i].bw_kib_s = t->bw_kbit / 2 / 8 * 1000 / 1024;
		w->hosts[i].power = t->power;
		w->hosts[i].full_watts = t->power ? t->power->watts[10] : 0;
	}
	return 0;
}

static void
world_free(struct world *w)
{
	vmp_sim_free(w->sim);
	free(w->pct);
	free(w->hosts);
	free(w->vms);
}

/* The simulator's state now into the planner's snapshot (hosts' on, VMs' demand), as core/simrun.c does. */
static void
world_observe(struct world *w)
{
	size_t i;

	for (i = 0; i < w->nvms; i++) {
		struct vmp_sim_vm_state vs;

		vmp_sim_vm(w->sim, i, &vs);
		w->vms[i].host = vs.host;
		w->vms[i].migrating = vs.migrating_to >= 0;
		w->vms[i].mips = vs.mips;
		w->vms[i].ram_kib = vs.ram_mb * 1024;
		w->vms[i].demand_mips = vs.requested_mips;
	}
	for (i = 0; i < w->nhosts; i++) {
		struct vmp_sim_host_state hs;

		vmp_sim_host(w->sim, i, &hs);
		w->hosts[i].on = hs.active || hs.nvms > 0;
	}
}

struct plan_stats {
	double sum_s, max_s, first_s;
	size_t cycles, moves;
};

/* Part 2: cycles of in-process planning of w (simulator step, plan, migrations started). */
static int
plan_in_process(struct world *w, unsigned cycles, const char *label, struct plan_stats *st)
{
	struct vmp_pilot_params pp;
	struct vmp_pilot *pl = NULL;
	unsigned c;
	int r;

	memset(st, 0, sizeof(*st));
	vmp_pilot_params_default(&pp);
	r = vmp_pilot_new(&pp, w->nhosts, w->nvms, &pl);
	if (r < 0)
		return r;
	for (c = 0; c < cycles && vmp_sim_step(w->sim) > 0; c++) {
		const struct vmp_pilot_move *moves;
		double t0, dt;
		int n, k;

		world_observe(w);
		t0 = now_s();
		n = vmp_pilot_plan(pl, w->hosts, w->nhosts, w->vms, w->nvms, &moves);
		dt = now_s() - t0;
		if (n < 0) {
			r = n;
			break;
		}
		for (k = 0; k < n; k++)
			vmp_sim_migrate(w->sim, moves[k].vm, moves[k].to);
		printf("  %-9s cycle %2u  plan %9.1f ms  moves %5d  %s\n", label, c + 1, dt * 1e3,
		       n, dt < TARGET_S ? "" : "(over 1 s)");
		fflush(stdout);
		if (c == 0)
			st->first_s = dt;
		st->sum_s += dt;
		if (dt > st->max_s)
			st->max_s = dt;
		st->cycles++;
		st->moves += (size_t)n;
	}
	vmp_pilot_free(pl);
	return r < 0 ? r : 0;
}

/* Part 1's agents: one cluster handle each, and what they publish. */
struct agents {
	struct world w;
	struct vmp_cluster **cl;
	struct vmp_pilot_history *hist;  /* per VM, kept by its agent (moves with the VM) */
	int64_t *moved_step;             /* per VM, the leader's (not published) */
	struct vmp_cluster_agent *sum;   /* per host */
	uint32_t *count;                 /* VMs per host now */
	size_t *cap;                     /* room in sum[i].vms */
	/* the leader's view of the snapshot */
	struct vmp_pilot *pl;
	struct vmp_pilot_params pp;
	struct vmp_pilot_host *hosts;
	struct vmp_pilot_vm *vms;
};

static void
host_name(size_t i, char *buf, size_t size)
{
	snprintf(buf, size, "host-%05zu", i);
}

static void
vm_name(size_t v, char *buf, size_t size)
{
	snprintf(buf, size, "vm-%06zu", v);
}

/* Index from a name "PREFIX-NNN" (-1 if it is not one of ours or out of range). */
static long
name_index(const char *name, const char *prefix, size_t n)
{
	size_t len = strlen(prefix);
	char *end;
	long i;

	if (!name || strncmp(name, prefix, len) != 0)
		return -1;
	i = strtol(name + len, &end, 10);
	if (*end || i < 0 || (size_t)i >= n)
		return -1;
	return i;
}

/* Each agent's summary of its host and VMs now (the VMs' histories updated by their agents). */
static void
agents_summarise(struct agents *a, int64_t cycle)
{
	struct world *w = &a->w;
	size_t i, v;

	world_observe(w);
	for (i = 0; i < w->nhosts; i++)
		a->count[i] = 0;
	for (v = 0; v < w->nvms; v++)
		if (w->vms[v].host >= 0)
			a->count[w->vms[v].host]++;
	for (i = 0; i < w->nhosts; i++) {
		struct vmp_cluster_agent *s = &a->sum[i];

		if (a->count[i] > a->cap[i]) {
			size_t k;

			for (k = 0; k < s->nvms; k++) {
				free(s->vms[k].name);
				free(s->vms[k].uuid);
			}
			s->nvms = 0;
			free(s->vms);
			a->cap[i] = a->count[i] * 2;
			s->vms = xcalloc(a->cap[i], sizeof(*s->vms));
		}
		s->capacity_mips = w->hosts[i].capacity_mips;
		s->core_mips = w->hosts[i].core_mips;
		s->bw_kib_s = w->hosts[i].bw_kib_s;
		s->full_watts = w->hosts[i].full_watts;
		s->on = w->hosts[i].on;
		s->cycle = cycle;
		s->wall_ms = wall_ms();
		for (v = 0; v < s->nvms; v++) {
			free(s->vms[v].name);
			s->vms[v].name = NULL;
		}
		s->nvms = 0;
	}
	for (v = 0; v < w->nvms; v++) {
		const struct vmp_pilot_vm *pv = &w->vms[v];
		struct vmp_cluster_agent *s;
		struct vmp_cluster_vm *cv;
		char name[32];

		if (pv->host < 0)
			continue;
		s = &a->sum[pv->host];
		cv = &s->vms[s->nvms++];
		/* the agent adds this cycle's sample to its VM's history and publishes it */
		vmp_pilot_history_add(&a->pp, &a->hist[v], pv->demand_mips, pv->mips);
		vm_name(v, name, sizeof(name));
		cv->name = xstrdup(name);
		cv->mips = pv->mips;
		cv->ram_kib = pv->ram_kib;
		cv->dirty_kib_s = pv->dirty_kib_s;
		cv->demand_mips = pv->demand_mips;
		cv->migrating = pv->migrating;
		cv->hist = a->hist[v];
	}
}

/*
 * The leader's planner snapshot from an etcd snapshot: hosts by agent name, VMs by name;
 * each VM's history as its agent published it, with the leader's own moved_step.
 * Returns the number of VMs found.
 */
static size_t
agents_decode(struct agents *a, const struct vmp_cluster_snapshot *snap)
{
	size_t i, k, found = 0;
	struct world *w = &a->w;

	memset(a->hosts, 0, w->nhosts * sizeof(*a->hosts));
	for (k = 0; k < w->nvms; k++) {
		memset(&a->vms[k], 0, sizeof(a->vms[k]));
		a->vms[k].host = -1;
	}
	for (i = 0; i < w->nhosts; i++) {
		/* a host without a summary (agent dead): neither source nor destination */
		a->hosts[i].capacity_mips = w->hosts[i].capacity_mips;
		a->hosts[i].core_mips = w->hosts[i].core_mips;
		a->hosts[i].bw_kib_s = w->hosts[i].bw_kib_s;
		a->hosts[i].unreachable = true;
	}
	for (i = 0; i < snap->nagents; i++) {
		const struct vmp_cluster_agent *s = &snap->agents[i];
		long h = name_index(s->name, "host-", w->nhosts);
		struct vmp_pilot_host *ph;

		if (h < 0)
			continue;
		ph = &a->hosts[h];
		ph->capacity_mips = s->capacity_mips;
		ph->core_mips = s->core_mips;
		ph->bw_kib_s = s->bw_kib_s;
		ph->full_watts = s->full_watts;
		ph->on = s->on;
		ph->unreachable = false;
		ph->refuses_vms = s->refuses_vms;
		ph->mem_kib = s->mem_kib;
		ph->mem_free_kib = s->mem_free_kib;
		ph->mem_short_kib = s->mem_short_kib;
		for (k = 0; k < s->nvms; k++) {
			const struct vmp_cluster_vm *cv = &s->vms[k];
			long v = name_index(cv->name, "vm-", w->nvms);
			struct vmp_pilot_vm *pv;

			if (v < 0)
				continue;
			pv = &a->vms[v];
			pv->host = (int32_t)h;
			pv->migrating = cv->migrating;
			pv->pinned = cv->pinned;
			pv->mips = cv->mips;
			pv->ram_kib = cv->ram_kib;
			pv->mem_kib = cv->mem_kib;
			pv->dirty_kib_s = cv->dirty_kib_s;
			pv->demand_mips = cv->demand_mips;
			pv->hist = cv->hist;
			pv->hist.moved_step = a->moved_step[v];
			found++;
		}
	}
	return found;
}

static int
agents_new(const struct vmp_trace *seed, size_t nhosts, const char *endpoints,
	   struct agents *a)
{
	size_t i;
	int r;

	memset(a, 0, sizeof(*a));
	r = world_new(seed, nhosts, &a->w);
	if (r < 0)
		return r;
	vmp_pilot_params_default(&a->pp);
	r = vmp_pilot_new(&a->pp, nhosts, a->w.nvms, &a->pl);
	if (r < 0)
		return r;
	a->cl = xcalloc(nhosts, sizeof(*a->cl));
	a->hist = xcalloc(a->w.nvms, sizeof(*a->hist));
	a->moved_step = xcalloc(a->w.nvms, sizeof(*a->moved_step));
	for (i = 0; i < a->w.nvms; i++)
		a->moved_step[i] = INT32_MIN;
	a->sum = xcalloc(nhosts, sizeof(*a->sum));
	a->count = xcalloc(nhosts, sizeof(*a->count));
	a->cap = xcalloc(nhosts, sizeof(*a->cap));
	a->hosts = xcalloc(nhosts, sizeof(*a->hosts));
	a->vms = xcalloc(a->w.nvms, sizeof(*a->vms));
	for (i = 0; i < nhosts; i++) {
		struct vmp_cluster_config cfg;
		char name[32], uri[48], *err = NULL;

		memset(&cfg, 0, sizeof(cfg));
		host_name(i, name, sizeof(name));
		snprintf(uri, sizeof(uri), "sim:%s", name);
		cfg.etcd.endpoints = endpoints;
		cfg.etcd.timeout_ms = 5000;
		cfg.prefix = "/bench/";
		cfg.agent = name;
		cfg.lease_ttl_s = 60;
		r = vmp_cluster_open(&cfg, &a->cl[i], &err);
		if (r < 0) {
			fprintf(stderr, "cluster-scale: cannot open agent '%s': %s\n", name,
				err ? err : strerror(-r));
			free(err);
			return r;
		}
		a->sum[i].name = xstrdup(name);
		a->sum[i].migrate_uri = xstrdup(uri);
	}
	return 0;
}

static void
agents_free(struct agents *a)
{
	size_t i;

	for (i = 0; a->cl && i < a->w.nhosts; i++) {
		vmp_cluster_close(a->cl[i]);
		vmp_cluster_agent_clear(&a->sum[i]);
	}
	free(a->cl);
	free(a->hist);
	free(a->moved_step);
	free(a->sum);
	free(a->count);
	free(a->cap);
	free(a->hosts);
	free(a->vms);
	vmp_pilot_free(a->pl);
	world_free(&a->w);
}

/* Part 1: cycles of agents publishing to etcd and the leader planning over the snapshot. */
static int
agents_run(const struct vmp_trace *seed, size_t nhosts, unsigned cycles, const char *base)
{
	struct vmp_etcd_cluster *etcd = NULL;
	struct agents a;
	char dir[4096];
	double sum_pub = 0, sum_bytes = 0, sum_tick = 0, sum_snap = 0, sum_plan = 0, sum_int = 0;
	size_t sum_moves = 0, total_errors = 0;
	unsigned c;
	int r;

	snprintf(dir, sizeof(dir), "%s/vmp-cluster-scale-%ld", base, (long)getpid());
	r = vmp_etcd_cluster_start(dir, 1, &etcd);
	if (r < 0) {
		fprintf(stderr, "cluster-scale: cannot start etcd in '%s': %s\n", dir, strerror(-r));
		return r;
	}
	printf("part 1: %zu agents publishing to a real etcd (%s, data in %s), %zu VMs\n", nhosts,
	       vmp_etcd_cluster_endpoints(etcd), dir, 10 * nhosts);
	r = agents_new(seed, nhosts, vmp_etcd_cluster_endpoints(etcd), &a);
	if (r < 0) {
		agents_free(&a);
		goto out;
	}
	printf("  %5s %8s %10s %8s %6s %8s %8s %7s %9s %8s %6s %9s %6s\n", "cycle",
	       "tick_ms", "publish_ms", "writes/s", "MiB/s", "snap_ms", "snap_MiB", "keep_ms",
	       "decode_ms", "plan_ms", "moves", "intent_ms", "errors");
	for (c = 0; c < cycles && vmp_sim_step(a.w.sim) > 0; c++) {
		struct vmp_cluster_snapshot snap;
		const struct vmp_pilot_move *moves = NULL;
		double t0, t_tick, t_pub, t_snap = 0, t_keep = 0, t_dec = 0, t_plan = 0, t_int = 0;
		double bytes = 0, snap_bytes = 0;
		size_t i, errors = 0;
		long leader = -1;
		int n = 0, k;

		agents_summarise(&a, (int64_t)c + 1);
		/* what the agents write: counted apart from the timing */
		for (i = 0; i < nhosts; i++) {
			char *json = vmp_cluster_agent_encode(&a.sum[i]);

			bytes += json ? (double)strlen(json) : 0;
			free(json);
		}
		t0 = now_s();
		for (i = 0; i < nhosts; i++) {
			r = vmp_cluster_tick(a.cl[i], wall_ms());
			if (r < 0)
				errors++;
			else if (r == VMP_CLUSTER_LEADER)
				leader = (long)i;
		}
		t_tick = now_s() - t0;
		t0 = now_s();
		for (i = 0; i < nhosts; i++)
			if (vmp_cluster_publish(a.cl[i], &a.sum[i]) < 0) {
				if (errors++ == 0)
					fprintf(stderr, "cluster-scale: publish: %s\n",
						vmp_cluster_error(a.cl[i]));
			}
		t_pub = now_s() - t0;
		memset(&snap, 0, sizeof(snap));
		if (leader >= 0) {
			t0 = now_s();
			r = vmp_cluster_snapshot(a.cl[leader], wall_ms(), &snap);
			t_snap = now_s() - t0;
			if (r < 0) {
				fprintf(stderr, "cluster-scale: snapshot: %s\n",
					vmp_cluster_error(a.cl[leader]));
				errors++;
			}
			for (i = 0; r == 0 && i < snap.nagents; i++) {
				char *json = vmp_cluster_agent_encode(&snap.agents[i]);

				snap_bytes += json ? (double)strlen(json) : 0;
				free(json);
			}
			t0 = now_s();
			if (r == 0 && vmp_cluster_housekeep(a.cl[leader], &snap, wall_ms()) < 0)
				errors++;
			t_keep = now_s() - t0;
		}
		if (leader >= 0 && r == 0) {
			size_t found;

			t0 = now_s();
			found = agents_decode(&a, &snap);
			t_dec = now_s() - t0;
			if (found != a.w.nvms) {
				fprintf(stderr, "cluster-scale: the snapshot has %zu of %zu VMs, %zu "
					"of %zu agents%s%s\n", found, a.w.nvms, snap.nagents, nhosts,
					snap.nerrors ? "; first bad record: " : "",
					snap.nerrors ? snap.errors[0] : "");
				errors++;
			}
			t0 = now_s();
			n = vmp_pilot_plan_flags(a.pl, a.hosts, nhosts, a.vms, a.w.nvms,
						 VMP_PILOT_HISTORY_KEPT, &moves);
			t_plan = now_s() - t0;
			if (n < 0)
				n = 0;
			t0 = now_s();
			for (k = 0; k < n; k++) {
				const struct vmp_pilot_move *m = &moves[k];
				struct vmp_cluster_intent in;
				char vm[32], why[256];

				a.moved_step[m->vm] = a.vms[m->vm].hist.moved_step;
				memset(&in, 0, sizeof(in));
				vm_name(m->vm, vm, sizeof(vm));
				vmp_pilot_move_explain(m, vm, a.sum[m->from].name, a.sum[m->to].name,
						       why, sizeof(why));
				in.vm = vm;
				in.from = a.sum[m->from].name;
				in.to = a.sum[m->to].name;
				in.to_uri = a.sum[m->to].migrate_uri;
				in.reason = (char *)vmp_pilot_reason_name(m->reason);
				in.why = why;
				/* the leader writes it, the source agent claims, migrates, finishes */
				if (vmp_cluster_intent_create(a.cl[leader], &in, wall_ms()) < 0 ||
				    vmp_cluster_intent_claim(a.cl[m->from], &in, wall_ms()) < 0) {
					if (errors++ == 0)
						fprintf(stderr, "cluster-scale: intent: %s / %s\n",
							vmp_cluster_error(a.cl[leader]),
							vmp_cluster_error(a.cl[m->from]));
					continue;
				}
				r = vmp_sim_migrate(a.w.sim, m->vm, m->to);
				vmp_cluster_intent_finish(a.cl[m->from], &in,
							  r == 0 ? VMP_CLUSTER_INTENT_DONE :
							  VMP_CLUSTER_INTENT_FAILED,
							  r == 0 ? NULL : strerror(-r), wall_ms());
				r = 0;
			}
			t_int = now_s() - t0;
		}
		vmp_cluster_snapshot_clear(&snap);
		printf("  %5u %8.1f %10.1f %8.0f %6.2f %8.1f %8.2f %7.1f %9.1f %8.1f %6d %9.1f %6zu\n",
		       c + 1, t_tick * 1e3, t_pub * 1e3, t_pub > 0 ? (double)nhosts / t_pub : 0,
		       t_pub > 0 ? bytes / t_pub / 1048576.0 : 0, t_snap * 1e3,
		       snap_bytes / 1048576.0, t_keep * 1e3, t_dec * 1e3, t_plan * 1e3, n,
		       t_int * 1e3, errors);
		fflush(stdout);
		if (leader < 0)
			fprintf(stderr, "cluster-scale: no leader in cycle %u\n", c + 1);
		sum_pub += t_pub;
		sum_bytes += bytes;
		sum_tick += t_tick;
		sum_snap += t_snap;
		sum_plan += t_plan;
		sum_moves += (size_t)n;
		sum_int += t_int;
		total_errors += errors;
	}
	if (c > 0)
		printf("  mean over %u cycles: per agent %.2f ms to tick and %.2f ms to publish "
		       "(%.0f writes/s, %.2f MiB/s, one client after the other); snapshot %.0f ms; "
		       "plan %.1f ms; %.2f ms per intent (create, claim, finish); %zu errors\n",
		       c, sum_tick / c / (double)nhosts * 1e3, sum_pub / c / (double)nhosts * 1e3,
		       (double)nhosts * c / sum_pub, sum_bytes / sum_pub / 1048576.0,
		       sum_snap / c * 1e3, sum_plan / c * 1e3,
		       sum_moves ? sum_int / (double)sum_moves * 1e3 : 0, total_errors);
	r = total_errors ? -EIO : 0;
	agents_free(&a);
out:
	vmp_etcd_cluster_stop(etcd);
	return r;
}

int
main(int argc, char **argv)
{
	unsigned cycles = 5, plan_cycles = 6;
	size_t nhosts = 1000, big_hosts = 10000;
	const char *base = "/tmp";
	struct plan_stats base_st, big_st;
	struct vmp_trace *seed = NULL;
	struct world w;
	char *err = NULL;
	int opt, no_etcd = 0, part1_failed = 0, rc;

	while ((opt = getopt(argc, argv, "c:p:H:B:d:n")) != -1) {
		switch (opt) {
		case 'c': cycles = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': plan_cycles = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': nhosts = strtoul(optarg, NULL, 10); break;
		case 'B': big_hosts = strtoul(optarg, NULL, 10); break;
		case 'd': base = optarg; break;
		case 'n': no_etcd = 1; break;
		default:
			fprintf(stderr, "usage: cluster-scale SEED_DAY_DIR [-c CYCLES] [-p PLAN_CYCLES] "
				"[-H HOSTS] [-B BIG_HOSTS] [-d DIR] [-n]\n");
			return 2;
		}
	}
	if (optind >= argc || nhosts == 0 || big_hosts == 0) {
		fprintf(stderr, "usage: cluster-scale SEED_DAY_DIR [-c CYCLES] [-p PLAN_CYCLES] "
			"[-H HOSTS] [-B BIG_HOSTS] [-d DIR] [-n]\n");
		return 2;
	}
	if (vmp_trace_read_planetlab(argv[optind], &seed, &err) < 0) {
		fprintf(stderr, "cluster-scale: %s\n", err);
		free(err);
		return 2;
	}
	printf("synthetic days from %s (%zu seed VMs), VMs = 10 x hosts\n", argv[optind],
	       seed->nvms);
	/* a failed part 1 is reported, and part 2 still runs */
	if (!no_etcd && agents_run(seed, nhosts, cycles, base) < 0) {
		printf("part 1: FAILED (see the message above)\n");
		part1_failed = 1;
	}

	printf("part 2: in-process planning (vmp_pilot_plan, no etcd), %u cycles per size\n",
	       plan_cycles);
	if (world_new(seed, nhosts, &w) < 0 ||
	    plan_in_process(&w, plan_cycles, "baseline", &base_st) < 0) {
		fprintf(stderr, "cluster-scale: cannot plan %zu hosts\n", nhosts);
		return 2;
	}
	world_free(&w);
	if (world_new(seed, big_hosts, &w) < 0 ||
	    plan_in_process(&w, plan_cycles, "target", &big_st) < 0) {
		fprintf(stderr, "cluster-scale: cannot plan %zu hosts\n", big_hosts);
		return 2;
	}
	world_free(&w);
	printf("  %-9s %7s %8s %12s %12s %12s\n", "size", "hosts", "VMs", "mean_ms", "max_ms",
	       "first_ms");
	printf("  %-9s %7zu %8zu %12.1f %12.1f %12.1f\n", "baseline", nhosts, 10 * nhosts,
	       base_st.sum_s / (double)base_st.cycles * 1e3, base_st.max_s * 1e3,
	       base_st.first_s * 1e3);
	printf("  %-9s %7zu %8zu %12.1f %12.1f %12.1f\n", "target", big_hosts, 10 * big_hosts,
	       big_st.sum_s / (double)big_st.cycles * 1e3, big_st.max_s * 1e3,
	       big_st.first_s * 1e3);
	printf("  growth: mean time x%.1f for x%.0f hosts and VMs (x%.0f = linear)\n",
	       base_st.sum_s > 0 ? big_st.sum_s / (double)big_st.cycles /
				   (base_st.sum_s / (double)base_st.cycles) : 0,
	       (double)big_hosts / (double)nhosts, (double)big_hosts / (double)nhosts);
	rc = big_st.cycles > 0 && big_st.max_s < TARGET_S ? 0 : 1;
	printf("target: %zu hosts / %zu VMs planned in < %.0f s every cycle (slowest %.3f s, "
	       "%.2f x the target): %s\n", big_hosts, 10 * big_hosts, TARGET_S, big_st.max_s,
	       big_st.max_s / TARGET_S, rc == 0 ? "MET" : "MISSED");
	vmp_trace_free(seed);
	return part1_failed ? 2 : rc;
}
