/* SPDX-License-Identifier: MIT */
/* Agent mode: publish, lead, run this host's intents, tick (see agent.h, doc/cluster.md). */
#include "daemon/agent.h"
#include "daemon/loop.h"
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A follower reads the whole cluster every this many cycles, for its status (members,
 * intents); the leader reads it every cycle.
 */
#define FOLLOWER_SNAPSHOT_CYCLES 10

/* An intent this process claimed and is migrating (or whose outcome is not written yet). */
struct agent_exec {
	struct vmp_cluster_intent in;
	bool ended;
	char *error;                /* NULL: completed */
};

/* A VM the leader moved, and the planner step of that move (its hold_steps). */
struct agent_moved {
	char *vm;
	int64_t step;
};

struct vmp_agent {
	char *name, *local_uri, *migrate_uri, *planner;
	struct vmp_cluster *cl;
	void (*log)(void *opaque, enum vmp_log_level level, const char *msg);
	void *opaque;
	bool ticked;                /* a tick succeeded once */
	bool failing;               /* etcd did not answer: said once, until it does */
	uint64_t cycles;
	uint64_t snap_cycle;        /* a follower's last snapshot (0: none yet) */
	enum vmp_cluster_role role; /* as of the last tick: holds for this cycle's writes */
	int64_t term;
	struct agent_exec *exec;
	size_t n_exec, alloc_exec;
	struct vmp_pilot_params pp;
	struct vmp_pilot *pilot;
	size_t pilot_hosts;
	struct agent_moved *moved;
	size_t n_moved, alloc_moved;
	char why[1024];             /* why no cluster move can start now ("" = none) */
};

static void
say(struct vmp_agent *a, enum vmp_log_level level, const char *fmt, ...) VMP_PRINTF(3, 4);
static void
say(struct vmp_agent *a, enum vmp_log_level level, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!a->log)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	a->log(a->opaque, level, msg);
	free(msg);
}

static const char *
opt(const char *s)
{
	return s && strcmp(s, "none") ? s : NULL;
}

/* The etcd client's options from the configuration ("none" = not set). */
static struct vmp_etcd_options
etcd_options(const struct vmp_config *cfg)
{
	return (struct vmp_etcd_options){
		.endpoints = cfg->etcd_endpoints, .cacert = opt(cfg->etcd_cacert),
		.cert = opt(cfg->etcd_cert), .key = opt(cfg->etcd_key),
		.user = opt(cfg->etcd_user), .password_file = opt(cfg->etcd_password_file),
		.timeout_ms = cfg->etcd_timeout_ms,
	};
}

int
vmp_agent_check_config(const struct vmp_config *cfg, char **ret_err)
{
	struct vmp_etcd_options eo = etcd_options(cfg);
	struct vmp_etcd *e = NULL;
	int r = vmp_etcd_open(&eo, &e, ret_err);

	vmp_etcd_close(e);
	return r;
}

int
vmp_agent_new(const struct vmp_agent_options *o, struct vmp_agent **ret, char **ret_err)
{
	const struct vmp_config *cfg = o->cfg;
	struct vmp_agent *a = xcalloc(1, sizeof(*a));
	struct vmp_cluster_config cc = {
		.etcd = etcd_options(cfg),
		.prefix = cfg->etcd_prefix,
		/* whole seconds, at least the configured time */
		.lease_ttl_s = (cfg->cluster_lease_ttl_ms + 999) / 1000,
		.keepalive_thread = true,
	};
	char host[256];
	int r;

	if (strcmp(cfg->agent_name, "auto")) {
		a->name = xstrdup(cfg->agent_name);
	} else {
		if (gethostname(host, sizeof(host)) < 0 || !host[0]) {
			*ret_err = xstrdup("cannot name this agent: no hostname (set agent_name)");
			free(a);
			return -EINVAL;
		}
		host[sizeof(host) - 1] = '\0';
		a->name = xstrdup(host);
	}
	a->local_uri = xstrdup(o->local_uri);
	a->migrate_uri = xstrdup(strcmp(cfg->agent_migrate_uri, "auto") ? cfg->agent_migrate_uri
									: o->local_uri);
	a->planner = xstrdup(cfg->planner);
	if (vmp_config_planner_params(cfg->planner, &a->pp) < 0)
		vmp_pilot_params_default(&a->pp);
	a->log = o->log;
	a->opaque = o->opaque;
	a->role = VMP_CLUSTER_UNAVAILABLE;
	cc.agent = a->name;
	*ret_err = NULL;
	r = vmp_cluster_open(&cc, &a->cl, ret_err);
	if (r < 0) {
		if (!*ret_err)
			*ret_err = xasprintf("cannot set up the etcd client for '%s': %s",
					     cfg->etcd_endpoints, strerror(-r));
		vmp_agent_free(a, false);
		return r;
	}
	snprintf(a->why, sizeof(a->why), "etcd: not contacted yet; cluster moves wait");
	*ret = a;
	return 0;
}

void
vmp_agent_set_config(struct vmp_agent *a, const struct vmp_config *cfg)
{
	if (!a || !strcmp(a->planner, cfg->planner))
		return;
	free(a->planner);
	a->planner = xstrdup(cfg->planner);
	if (vmp_config_planner_params(cfg->planner, &a->pp) < 0)
		vmp_pilot_params_default(&a->pp);
	vmp_pilot_free(a->pilot);
	a->pilot = NULL;
	a->pilot_hosts = 0;
}

void
vmp_agent_free(struct vmp_agent *a, bool resign)
{
	size_t i;

	if (!a)
		return;
	if (resign && a->cl && vmp_cluster_lease(a->cl) != 0) {
		if (vmp_cluster_resign(a->cl) < 0)
			say(a, VMP_LOG_WARN, "cluster: cannot revoke the lease of agent '%s': %s",
			    a->name, vmp_cluster_error(a->cl));
		else
			say(a, VMP_LOG_INFO, "cluster: agent '%s' resigned (lease revoked)", a->name);
	}
	vmp_cluster_close(a->cl);
	for (i = 0; i < a->n_exec; i++) {
		vmp_cluster_intent_clear(&a->exec[i].in);
		free(a->exec[i].error);
	}
	free(a->exec);
	for (i = 0; i < a->n_moved; i++)
		free(a->moved[i].vm);
	free(a->moved);
	vmp_pilot_free(a->pilot);
	free(a->name);
	free(a->local_uri);
	free(a->migrate_uri);
	free(a->planner);
	free(a);
}

const char *
vmp_agent_name(const struct vmp_agent *a)
{
	return a->name;
}

/*
 * etcd did not answer (r < 0, not a fence): no cluster move from now on until it does;
 * said once, and the recovery once (agent_ok()).
 */
static void
agent_fault(struct vmp_agent *a, struct vmp_loop *l, const char *what, int r)
{
	char why[sizeof(a->why)];

	/* the client's message says what failed; else what this agent was doing */
	if (*vmp_cluster_error(a->cl))
		snprintf(why, sizeof(why), "etcd: no quorum or unreachable: %s; cluster moves "
			 "stopped", vmp_cluster_error(a->cl));
	else
		snprintf(why, sizeof(why), "etcd: no quorum or unreachable: %s: %s; cluster moves "
			 "stopped", what, strerror(-r));
	snprintf(a->why, sizeof(a->why), "%s", why);   /* the status shows the latest */
	if (a->failing)
		return;
	a->failing = true;
	say(a, VMP_LOG_WARN, "cluster: %s", why);
	vmp_loop_journal_event(l, NULL, "cluster_unavailable", why);
}

static void
agent_ok(struct vmp_agent *a, struct vmp_loop *l)
{
	if (!a->ticked) {
		a->why[0] = '\0';   /* the first contact: nothing to recover from */
		return;
	}
	if (!a->failing) {
		a->why[0] = '\0';
		return;
	}
	a->failing = false;
	say(a, VMP_LOG_INFO, "cluster: etcd answers again (%s): cluster moves resume", a->why);
	vmp_loop_journal_event(l, NULL, "cluster_available", "etcd answers: cluster moves resume");
	a->why[0] = '\0';
}

/* A fenced write was refused: this agent no longer leads (said and journaled). */
static void
deposed(struct vmp_agent *a, struct vmp_loop *l, const char *what)
{
	char *msg = xasprintf("%s refused: no longer the leader (term %lld): %s", what,
			      (long long)a->term, vmp_cluster_error(a->cl));

	say(a, VMP_LOG_WARN, "cluster: %s", msg);
	vmp_loop_journal_event(l, NULL, "cluster_deposed", msg);
	free(msg);
	a->role = VMP_CLUSTER_FOLLOWER;
}

static bool
active(const struct vmp_cluster_intent *in)
{
	return in->state == VMP_CLUSTER_INTENT_PENDING || in->state == VMP_CLUSTER_INTENT_RUNNING;
}

static int64_t *
moved_step(struct vmp_agent *a, const char *vm, bool add)
{
	size_t i;

	for (i = 0; i < a->n_moved; i++)
		if (!strcmp(a->moved[i].vm, vm))
			return &a->moved[i].step;
	if (!add)
		return NULL;
	xgrow((void **)&a->moved, &a->alloc_moved, a->n_moved + 1, sizeof(*a->moved));
	a->moved[a->n_moved].vm = xstrdup(vm);
	a->moved[a->n_moved].step = INT32_MIN;
	return &a->moved[a->n_moved++].step;
}

static bool listed(const struct vmp_cluster_snapshot *snap, const char *name, const char *vm);

/*
 * The leader's step: the snapshot (one revision), housekeeping, the planner over every
 * agent's summary, each move journaled then written as a fenced intent.
 */
static void
lead(struct vmp_agent *a, struct vmp_loop *l, int64_t wall_ms)
{
	struct vmp_cluster_snapshot snap = { 0 };
	struct vmp_pilot_host *ph = NULL;
	struct vmp_pilot_vm *pv = NULL;
	const char **vm_name = NULL;
	const struct vmp_pilot_move *moves;
	size_t total = 0, i, j, k, m;
	int n, r;

	r = vmp_cluster_snapshot(a->cl, wall_ms, &snap);
	if (r < 0) {
		agent_fault(a, l, "cannot read the cluster", r);
		return;
	}
	r = vmp_cluster_housekeep(a->cl, &snap, wall_ms);
	if (r == -ESTALE || r == -EPERM) {
		deposed(a, l, "housekeeping of intents");
		goto out;
	}
	if (r < 0) {
		agent_fault(a, l, "cannot tidy the intents", r);
		goto out;
	}
	if (snap.nagents < 2)
		goto out;
	if (!a->pilot || a->pilot_hosts != snap.nagents) {
		vmp_pilot_free(a->pilot);
		a->pilot = NULL;
		if (vmp_pilot_new(&a->pp, snap.nagents, 0, &a->pilot) < 0)
			goto out;
		a->pilot_hosts = snap.nagents;
	}
	ph = xcalloc(snap.nagents, sizeof(*ph));
	for (i = 0; i < snap.nagents; i++)
		total += snap.agents[i].nvms;
	pv = xcalloc(total + 1, sizeof(*pv));
	vm_name = xcalloc(total + 1, sizeof(*vm_name));
	for (i = 0; i < snap.nagents; i++) {
		const struct vmp_cluster_agent *ag = &snap.agents[i];

		ph[i].capacity_mips = ag->capacity_mips;
		ph[i].core_mips = ag->core_mips;
		ph[i].bw_kib_s = ag->bw_kib_s;
		ph[i].full_watts = ag->full_watts;
		ph[i].on = ag->on;
		ph[i].unreachable = !ag->on || ag->capacity_mips <= 0;
		ph[i].refuses_vms = ag->refuses_vms;
		ph[i].mem_kib = ag->mem_kib;
		ph[i].mem_free_kib = ag->mem_free_kib;
		ph[i].mem_short_kib = ag->mem_short_kib;
	}
	for (i = 0, k = 0; i < snap.nagents; i++) {
		const struct vmp_cluster_agent *ag = &snap.agents[i];

		for (j = 0; j < ag->nvms; j++, k++) {
			const struct vmp_cluster_vm *cv = &ag->vms[j];
			const struct vmp_cluster_intent *in = NULL;
			int64_t *ms = moved_step(a, cv->name, false);
			long to = -1;

			vm_name[k] = cv->name;
			pv[k].host = (int32_t)i;
			pv[k].migrating = cv->migrating;
			pv[k].pinned = cv->pinned;
			pv[k].mips = cv->mips;
			pv[k].ram_kib = cv->ram_kib;
			pv[k].mem_kib = cv->mem_kib;
			pv[k].dirty_kib_s = cv->dirty_kib_s;
			pv[k].demand_mips = cv->demand_mips;
			pv[k].hist = cv->hist;
			pv[k].hist.moved_step = ms ? *ms : INT32_MIN;
			for (m = 0; m < snap.nintents; m++)
				if (active(&snap.intents[m]) && !strcmp(snap.intents[m].vm, cv->name))
					in = &snap.intents[m];
			if (!in)
				continue;
			/*
			 * A VM with a pending or running intent is not planned again, and is
			 * counted where it is going: its source's summary may predate the
			 * claim (still short of the memory the move frees), and once it
			 * arrived the destination lists it too (counted once, there).
			 */
			pv[k].migrating = true;
			for (m = 0; m < snap.nagents; m++)
				if (!strcmp(snap.agents[m].name, in->to))
					to = (long)m;
			if (to < 0 || to == (long)i || strcmp(in->from, ag->name))
				continue;
			if (listed(&snap, in->to, cv->name)) {
				pv[k].host = -1;
			} else {
				pv[k].host = (int32_t)to;
				ph[to].mem_free_kib -= cv->mem_kib;
			}
			ph[i].mem_free_kib += cv->mem_kib;
			ph[i].mem_short_kib = ph[i].mem_short_kib > cv->mem_kib ?
					      ph[i].mem_short_kib - cv->mem_kib : 0;
		}
	}
	n = vmp_pilot_plan_flags(a->pilot, ph, snap.nagents, pv, total, VMP_PILOT_HISTORY_KEPT,
				 &moves);
	for (r = 0; r < n; r++) {
		const struct vmp_pilot_move *mv = &moves[r];
		struct vmp_cluster_intent in = { 0 };
		char why[512];
		char *msg;
		int w;

		vmp_pilot_move_explain(mv, vm_name[mv->vm], snap.agents[mv->from].name,
				       snap.agents[mv->to].name, why, sizeof(why));
		in.vm = (char *)vm_name[mv->vm];
		in.from = snap.agents[mv->from].name;
		in.to = snap.agents[mv->to].name;
		in.to_uri = snap.agents[mv->to].migrate_uri;
		in.reason = (char *)vmp_pilot_reason_name(mv->reason);
		in.why = why;
		/* journaled before it is written */
		msg = xasprintf("leader (term %lld) plans: %s", (long long)a->term, why);
		vmp_loop_journal_event(l, in.vm, "cluster_plan", msg);
		free(msg);
		w = vmp_cluster_intent_create(a->cl, &in, wall_ms);
		if (w == -ESTALE || w == -EPERM) {
			deposed(a, l, "the intent to move vm");
			break;
		}
		if (w < 0) {
			agent_fault(a, l, "cannot write an intent", w);
			break;
		}
		*moved_step(a, in.vm, true) = pv[mv->vm].hist.moved_step;
		msg = xasprintf("intent %s written: %s from %s to %s", in.id, in.vm, in.from, in.to);
		say(a, VMP_LOG_INFO, "cluster: %s (%s)", msg, why);
		vmp_loop_journal_event(l, in.vm, "cluster_intent", msg);
		free(msg);
	}
out:
	free(vm_name);
	free(pv);
	free(ph);
	vmp_cluster_snapshot_clear(&snap);
}

/* The outcome of intent e written (DONE or FAILED); false while etcd does not answer. */
static bool
finish(struct vmp_agent *a, struct vmp_loop *l, struct vmp_cluster_intent *in,
       const char *error, int64_t wall_ms)
{
	enum vmp_cluster_intent_state st = error ? VMP_CLUSTER_INTENT_FAILED
						 : VMP_CLUSTER_INTENT_DONE;
	char *msg;
	int r = vmp_cluster_intent_finish(a->cl, in, st, error, wall_ms);

	if (r < 0 && r != -ESTALE && r != -EINVAL) {
		agent_fault(a, l, "cannot record an intent's outcome", r);
		return false;
	}
	msg = r < 0 ? xasprintf("intent %s (%s): its outcome (%s%s%s) could not be recorded: %s",
				in->id, in->why ? in->why : "", vmp_cluster_intent_state_name(st),
				error ? ": " : "", error ? error : "", vmp_cluster_error(a->cl)) :
		      xasprintf("intent %s %s%s%s: %s", in->id, vmp_cluster_intent_state_name(st),
				error ? ": " : "", error ? error : "", in->why ? in->why : "");
	say(a, r < 0 || error ? VMP_LOG_WARN : VMP_LOG_INFO, "cluster: %s", msg);
	vmp_loop_journal_event(l, in->vm, error ? "cluster_failed" : "cluster_done", msg);
	free(msg);
	return true;
}

void
vmp_agent_migrated(struct vmp_agent *a, const char *id, const char *error)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n_exec; i++)
		if (!strcmp(a->exec[i].in.id, id) && !a->exec[i].ended) {
			a->exec[i].ended = true;
			a->exec[i].error = error ? xstrdup(error) : NULL;
		}
}

/* Writes the outcomes of the migrations that ended; keeps those etcd did not take. */
static void
finish_ended(struct vmp_agent *a, struct vmp_loop *l, int64_t wall_ms)
{
	size_t i = 0;

	while (i < a->n_exec) {
		struct agent_exec *e = &a->exec[i];

		if (!e->ended || !finish(a, l, &e->in, e->error, wall_ms)) {
			i++;
			continue;
		}
		vmp_cluster_intent_clear(&e->in);
		free(e->error);
		a->exec[i] = a->exec[--a->n_exec];
	}
}

static bool
executing(const struct vmp_agent *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->n_exec; i++)
		if (!strcmp(a->exec[i].in.id, id))
			return true;
	return false;
}

struct claim_ctx {
	struct vmp_agent *a;
	struct vmp_loop *l;
	struct vmp_cluster_intent *in;
	int64_t wall_ms;
};

/* Claims the intent (fenced on its term); journals the claim or its refusal. */
static int
claim(void *opaque)
{
	struct claim_ctx *c = opaque;
	int r = vmp_cluster_intent_claim(c->a->cl, c->in, c->wall_ms);
	char *msg;

	if (r == 0)
		msg = xasprintf("claimed intent %s of leader %s (term %lld): %s", c->in->id,
				c->in->leader ? c->in->leader : "?", (long long)c->in->term,
				c->in->why ? c->in->why : "");
	else
		msg = xasprintf("intent %s not claimed: %s", c->in->id,
				vmp_cluster_error(c->a->cl));
	say(c->a, r == 0 ? VMP_LOG_INFO : VMP_LOG_WARN, "cluster: %s", msg);
	vmp_loop_journal_event(c->l, c->in->vm, r == 0 ? "cluster_claim" : "cluster_claim_refused",
			       msg);
	free(msg);
	return r;
}

/* Is vm published by agent name in snap? */
static bool
listed(const struct vmp_cluster_snapshot *snap, const char *name, const char *vm)
{
	size_t i, j;

	for (i = 0; i < snap->nagents; i++)
		if (!strcmp(snap->agents[i].name, name))
			for (j = 0; j < snap->agents[i].nvms; j++)
				if (!strcmp(snap->agents[i].vms[j].name, vm))
					return true;
	return false;
}

/* The intents whose source is this agent: run the pending, settle the orphaned running. */
static void
run_mine(struct vmp_agent *a, struct vmp_loop *l, int64_t wall_ms)
{
	struct vmp_cluster_intent *ins = NULL;
	struct vmp_cluster_snapshot snap = { 0 };
	bool have_snap = false;
	int n, i, r;

	n = vmp_cluster_intents_mine(a->cl, &ins);
	if (n < 0) {
		agent_fault(a, l, "cannot read this host's intents", n);
		return;
	}
	for (i = 0; i < n; i++) {
		struct vmp_cluster_intent *in = &ins[i];

		if (executing(a, in->id))
			continue;
		if (in->state == VMP_CLUSTER_INTENT_RUNNING) {
			/* claimed before a restart (or the claim's answer was lost): never rerun */
			if (!have_snap) {
				if (vmp_cluster_snapshot(a->cl, wall_ms, &snap) < 0) {
					agent_fault(a, l, "cannot read the cluster", -EIO);
					break;
				}
				have_snap = true;
			}
			finish(a, l, in, listed(&snap, in->to, in->vm) ? NULL :
			       "interrupted: claimed but not run to its end by this agent", wall_ms);
			continue;
		}
		if (in->state != VMP_CLUSTER_INTENT_PENDING)
			continue;
		{
			struct vmp_loop_intent li = {
				.id = in->id, .vm = in->vm, .to = in->to, .to_uri = in->to_uri,
				.reason = in->reason ? in->reason : "", .why = in->why ? in->why : "",
				.leader = in->leader ? in->leader : "", .term = in->term,
			};
			struct claim_ctx c = { a, l, in, wall_ms };
			char *why = NULL;

			if (!li.to_uri || !li.to) {
				continue;
			}
			r = vmp_loop_intent_run(l, &li, claim, &c, &why);
			if (r == 1) {
				xgrow((void **)&a->exec, &a->alloc_exec, a->n_exec + 1,
				      sizeof(*a->exec));
				memset(&a->exec[a->n_exec], 0, sizeof(*a->exec));
				a->exec[a->n_exec++].in = *in;
				memset(in, 0, sizeof(*in));
			} else if (r == -EIO) {
				/* claimed, did not start: failed (retried until etcd takes it) */
				if (!finish(a, l, in, why, wall_ms)) {
					xgrow((void **)&a->exec, &a->alloc_exec, a->n_exec + 1,
					      sizeof(*a->exec));
					a->exec[a->n_exec].in = *in;
					a->exec[a->n_exec].ended = true;
					a->exec[a->n_exec++].error = xstrdup(why ? why : "not started");
					memset(in, 0, sizeof(*in));
				}
			}
			free(why);
		}
	}
	vmp_cluster_intents_free(ins, (size_t)(n > 0 ? n : 0));
	if (have_snap)
		vmp_cluster_snapshot_clear(&snap);
}

void
vmp_agent_cycle(struct vmp_agent *a, struct vmp_loop *l, struct vmp_cluster_agent *sum,
		int64_t now_ms, int64_t wall_ms)
{
	enum vmp_cluster_role before = a->role;
	int64_t term_before = a->term;
	int r;

	(void)now_ms;
	a->cycles++;
	sum->name = xstrdup(a->name);
	sum->migrate_uri = xstrdup(a->migrate_uri);
	/* 1-3 with the role of the last tick: a deposed leader's writes meet the fence */
	if (a->role != VMP_CLUSTER_UNAVAILABLE) {
		r = vmp_cluster_publish(a->cl, sum);
		if (r < 0)
			say(a, VMP_LOG_WARN, "cluster: cannot publish this host's summary: %s",
			    vmp_cluster_error(a->cl));
		if (a->role == VMP_CLUSTER_LEADER) {
			lead(a, l, wall_ms);
		} else if (!a->snap_cycle || a->cycles - a->snap_cycle >= FOLLOWER_SNAPSHOT_CYCLES) {
			/* a follower's view of the members and intents, for its status */
			struct vmp_cluster_snapshot snap = { 0 };

			a->snap_cycle = a->cycles;
			if (vmp_cluster_snapshot(a->cl, wall_ms, &snap) < 0)
				agent_fault(a, l, "cannot read the cluster", -EIO);
			vmp_cluster_snapshot_clear(&snap);
		}
		finish_ended(a, l, wall_ms);
		run_mine(a, l, wall_ms);
	} else {
		finish_ended(a, l, wall_ms);
	}
	/* 4. renew the lease, campaign: the role for the next cycle */
	r = vmp_cluster_tick(a->cl, wall_ms);
	if (r < 0) {
		agent_fault(a, l, "cannot renew the lease", r);
		a->role = VMP_CLUSTER_UNAVAILABLE;
		return;
	}
	agent_ok(a, l);
	a->role = (enum vmp_cluster_role)r;
	a->term = vmp_cluster_term(a->cl);
	if (a->role == VMP_CLUSTER_LEADER &&
	    (before != VMP_CLUSTER_LEADER || a->term != term_before)) {
		char *msg = xasprintf("agent '%s' leads the cluster (term %lld)", a->name,
				      (long long)a->term);

		say(a, VMP_LOG_INFO, "cluster: %s", msg);
		vmp_loop_journal_event(l, NULL, "cluster_leader", msg);
		free(msg);
	} else if (before == VMP_CLUSTER_LEADER && a->role != VMP_CLUSTER_LEADER) {
		char *msg = xasprintf("agent '%s' no longer leads (term %lld over; leader now %s, "
				      "term %lld): a follower", a->name, (long long)term_before,
				      vmp_cluster_leader(a->cl) ? vmp_cluster_leader(a->cl) : "none",
				      (long long)a->term);

		say(a, VMP_LOG_WARN, "cluster: %s", msg);
		vmp_loop_journal_event(l, NULL, "cluster_follower", msg);
		free(msg);
	}
	a->ticked = true;
}

json_t *
vmp_agent_status(const struct vmp_agent *a, int64_t wall_ms)
{
	json_t *st;

	if (!a)
		return json_pack("{s:s}", "mode", "single");
	st = vmp_cluster_status(a->cl, wall_ms);
	if (!json_is_object(st)) {
		json_decref(st);
		st = json_object();
	}
	json_object_set_new(st, "mode", json_string("agents"));
	json_object_set_new(st, "agent", json_string(a->name));
	json_object_set_new(st, "why", a->why[0] ? json_string(a->why) : json_null());
	return st;
}

void
vmp_agent_counters(const struct vmp_agent *a, int64_t wall_ms, struct vmp_cluster_counters *ret)
{
	vmp_cluster_counters(a->cl, wall_ms, ret);
}

static void
hook_cycle(void *opaque, struct vmp_loop *l, struct vmp_cluster_agent *sum, int64_t now_ms,
	   int64_t wall_ms)
{
	vmp_agent_cycle(opaque, l, sum, now_ms, wall_ms);
}

static void
hook_migrated(void *opaque, const char *id, const char *error)
{
	vmp_agent_migrated(opaque, id, error);
}

void
vmp_agent_loop_hooks(struct vmp_agent *a, struct vmp_loop_cluster *ret)
{
	*ret = (struct vmp_loop_cluster){ .cycle = hook_cycle, .migrated = hook_migrated,
					  .opaque = a };
}
