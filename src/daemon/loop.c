/* SPDX-License-Identifier: MIT */
/* The autopilot loop: sample, decide, gate, act, journal (see loop.h, doc/design/loop.md). */
#include "daemon/loop.h"
#include "core/budget.h"
#include "core/iotune.h"
#include "core/overcommit.h"
#include "core/pilot.h"
#include "core/diagnose.h"
#include "core/rightsize.h"
#include "core/workload.h"
#include "cluster/cluster.h"
#include "daemon/hostcmd.h"
#include "daemon/journal.h"
#include "host/ksm.h"
#include "host/owner.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_MAX 512
/* The planner counts CPU in MIPS; the daemon passes 1000 per core. */
#define MIPS_PER_CORE 1000.0
/* The planner's MIPS per core of host h: what its backend says, else MIPS_PER_CORE. */
#define CORE_MIPS(h) ((h)->core_mips > 0 ? (h)->core_mips : MIPS_PER_CORE)
/* Migration bandwidth assumed when migration_bandwidth_mibps is 0 (unlimited). */
#define DEFAULT_BW_KIB_S (1024.0 * 1024)

enum { RES_MEM, RES_CPU, RES_MIG, RES_DISK_RD, RES_DISK_WR, RES_MAX };


/* What the loop remembers about one VM of one host. */
struct loop_vm {
	char name[VMP_NAME_MAX];
	bool seen;                     /* listed this cycle */
	struct vmp_mem_state mem;
	struct vmp_cpu_state cpu;
	struct vmp_disk_state disk[2];     /* read, write (disk_dev's limits) */
	uint64_t disk_lim[2];          /* limits set, KiB/s; 0 = not set yet (the max bound) */
	bool have_prev;
	struct vmp_vm_stats prev;      /* last good sample, for deltas */
	uint64_t mem_sig;              /* memory fields of the last sample, for staleness */
	int64_t mem_changed_ms;        /* when they last changed */
	unsigned mem_unchanged;        /* cycles since they last changed */
	bool mem_seen;
	uint64_t target_kib;           /* last balloon target set, 0 = none */
	bool period_tried;             /* the stats period was set (or tried) once */
	char period_why[FAULT_MAX];    /* why its balloon stats are off, with the fix */
	unsigned target_cycles;        /* cycles since it was set */
	bool migrating;                /* a migration we started is running */
	bool mig_started;              /* we started one; still set once it succeeded */
	int64_t mig_start_ms;
	size_t mig_dest;
	enum vmp_reason mig_reason;    /* the planner's reason for it */
	/* Agent mode: the cluster intent it runs for, its destination agent (mig_dest unused). */
	char mig_intent[VMP_CLUSTER_ID_MAX];
	char mig_to[VMP_NAME_MAX];
	char intent_journaled[VMP_CLUSTER_ID_MAX];  /* the last intent journaled as not run */
	struct vmp_pilot_history hist; /* the planner's summary of its CPU demand */
	char fault[FAULT_MAX];         /* last fault reported ("" = none) */
	int mode;                      /* enum vmp_mode this cycle */
	int mode_src;                  /* enum vmp_mode_source */
	/* The last journal line per resource, so steady non-actions are written once. */
	bool journaled[RES_MAX];
	int last_action[RES_MAX], last_reason[RES_MAX];
	double last_from[RES_MAX];
	/* The last cycle's sample and decisions, for vmp_loop_foreach_vm(). */
	bool sampled;
	enum vmp_vm_state state;
	uint64_t alloc_kib, max_kib;
	bool have_cpu;
	double cpu_cores;
	unsigned vcpus, vcpus_max;
	bool have_d[RES_MAX], last_acted[RES_MAX];
	struct vmp_decision last_d[RES_MAX];
	const char *last_policy[RES_MAX];
	/* The diagnosis of its last two samples (core/diagnose.h). */
	bool diagnosed;
	int bottleneck;                /* enum vmp_diag_resource, -1 = none */
	unsigned health;               /* 0..100 */
	char diag_evidence[200], diag_fix[240];
};

struct loop_host {
	char *uri;
	struct vmp_backend *b;
	struct vmp_budget budget;
	struct loop_vm **vms;
	size_t n_vms, alloc_vms;
	char fault[FAULT_MAX];
	unsigned cpus;                 /* from host_info, once */
	double cpu_capacity;           /* cores its VMs may use (last known) */
	double cpu_used;               /* cores its VMs used this cycle */
	bool refuses_vms;              /* accept_migrations = no, or its mode is off */
	double core_mips;              /* one CPU's speed (host_info; 0 = unknown: 1000) */
	double migrate_bw_kib_s;       /* migrations from it (host_info; 0 = the config's) */
	double full_watts;             /* its power at full load (host_info; 0 = unknown) */
	bool powered_off;              /* its backend says it is off (the simulator) */
	bool drain_pending;            /* consolidation is emptying it: standby once empty */
	unsigned incoming;             /* migrations we started to it, not seen arrive yet */
	bool standby;                  /* host_standby_command put it on standby */
	bool have_stats;               /* the last host sample, for the views */
	struct vmp_host_stats stats;
	/* this cycle, for the planner step */
	bool ok;
	bool mem_known;                /* memory below from a limit or host stats */
	uint64_t mem_total_kib, mem_available_kib, mem_unmet_kib;
};

/* An operator override of one host (vm "") or VM (see vmp_loop_set_mode). */
struct loop_override {
	size_t host;
	char vm[VMP_NAME_MAX];
	enum vmp_mode mode;            /* INHERIT = no override */
	bool pinned;
};

struct vmp_loop {
	const struct vmp_config *cfg;   /* borrowed */
	unsigned stale_cycles;
	struct vmp_mem_params mem_p;
	struct vmp_cpu_params cpu_p;
	struct vmp_disk_params disk_p;
	struct vmp_overcommit_params oc_p;
	struct vmp_pilot_params pilot_p;
	struct vmp_pilot *pilot;        /* the cluster planner (core/pilot.h) */
	bool dry_run;
	struct vmp_journal *journal;    /* borrowed; NULL = none */
	struct vmp_loop_counters counters;
	void (*log)(void *opaque, enum vmp_log_level level, const char *msg);
	void (*moved)(void *opaque, const char *vm, const char *from, const char *to,
		      enum vmp_pilot_reason reason, const char *why);
	void *opaque;
	struct loop_host *hosts;
	size_t n_hosts;
	char *ksm_root;                 /* NULL: KSM left alone */
	size_t ksm_host;
	bool ksm_saved;                 /* ksm_orig holds the values before our first write */
	struct vmp_ksm_knobs ksm_orig;
	bool ksm_journaled;
	struct vmp_ksm_setting ksm_last;
	char ksm_fault[FAULT_MAX];
	/* Services that own knobs of the local host (ksm_root), scanned each cycle (owner.h). */
	struct vmp_owner_scan owners;
	uint64_t cycle;
	struct vmp_loop_decision_counts dcounts;
	struct loop_override *overrides;
	size_t n_overrides, alloc_overrides;
	/* per cycle */
	int64_t now_ms, wall_ms;
	struct vmp_loop_report rep;
	/* Agent mode (cluster.cycle set): the agent's hooks, and this cycle's VMs while it runs. */
	struct vmp_loop_cluster cluster;
	struct cycle_vm *agent_cvs;
	size_t agent_ncv;
};

static void
say(struct vmp_loop *l, enum vmp_log_level level, const char *fmt, ...) VMP_PRINTF(3, 4);
static void
say(struct vmp_loop *l, enum vmp_log_level level, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!l->log)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	l->log(l->opaque, level, msg);
	free(msg);
}

/*
 * The journal could not be written: from now on the loop acts as in dry-run (decides,
 * tries to journal, never acts) until a line and its fsync succeed again (see
 * journal_recover()). Said once.
 */
static void
journal_failed(struct vmp_loop *l, int r)
{
	struct vmp_loop_counters *c = &l->counters;

	c->journal_errors++;
	c->journal_lines_lost++;
	if (c->journal_failing)
		return;
	c->journal_failing = true;
	c->faults[VMP_FAULT_JOURNAL]++;
	snprintf(c->journal_error, sizeof(c->journal_error), "%s", strerror(-r));
	say(l, VMP_LOG_ERR, "cannot write the decision journal '%s': %s: acting as dry run "
	    "until it can be written again", vmp_journal_path(l->journal), strerror(-r));
}

/* Writes a line through the journal, with the bookkeeping of a failure. */
static int
journal_line(struct vmp_loop *l, const struct vmp_journal_record *rec,
	     const struct vmp_journal_event *ev)
{
	char *w;
	int r;

	if (!l->journal)
		return 0;
	r = rec ? vmp_journal_write(l->journal, rec) : vmp_journal_write_event(l->journal, ev);
	w = vmp_journal_take_warning(l->journal);
	if (w) {
		say(l, VMP_LOG_WARN, "%s", w);
		free(w);
	}
	if (r < 0) {
		journal_failed(l, r);
		return r;
	}
	l->rep.journaled++;
	l->counters.journal_lines++;
	return 0;
}

/* Whether nothing may be done whatever the modes say (--dry-run or dry_run = yes). */
static bool
dry(const struct vmp_loop *l)
{
	return l->dry_run || l->cfg->dry_run;
}

/* Writes one decision to the journal; inputs (may be NULL) is stolen. */
static void
journal_put(struct vmp_loop *l, const struct loop_host *h, const char *vm, enum vmp_mode mode,
	    const char *policy, const struct vmp_decision *d, json_t *inputs, bool acted,
	    const char *error)
{
	struct vmp_journal_record rec = {
		.time_ms = l->wall_ms, .vm = vm ? vm : "", .policy = policy, .decision = d,
		.dry_run = dry(l) || l->counters.journal_failing, .acted = acted,
		.error = error, .host = h->uri, .mode = vmp_mode_name(mode), .inputs = inputs,
	};

	journal_line(l, &rec, NULL);
	json_decref(inputs);
}

/* Writes an event line (a fault, a recovery). */
static int
journal_event(struct vmp_loop *l, const char *host, const char *vm, const char *event,
	      const char *message)
{
	struct vmp_journal_event ev = {
		.time_ms = l->wall_ms, .vm = vm ? vm : "", .host = host, .event = event,
		.message = message,
	};

	return journal_line(l, NULL, &ev);
}

/*
 * The gate in front of every action: true when the loop may act on decision d, whose
 * VM (or host, for KSM) is in mode act (or advise, for an action that only lets vmpilot
 * observe: observe). Outside dry-run and advise the decision is
 * first written as an intent line and made durable (fsync):
 * no action is ever taken without its journal line. When that fails the loop turns
 * to dry-run (journal_failed()) and the action is not taken. inputs is borrowed.
 */
static bool
act_begin(struct vmp_loop *l, const struct loop_host *h, enum vmp_mode mode, bool observe,
	  const char *vm, const char *policy, const struct vmp_decision *d, json_t *inputs)
{
	struct vmp_journal_record rec = {
		.time_ms = l->wall_ms, .vm = vm ? vm : "", .policy = policy, .decision = d,
		.host = h->uri, .mode = vmp_mode_name(mode), .inputs = inputs, .intent = true,
	};
	int r;

	if (dry(l) || l->counters.journal_failing)
		return false;
	if (mode != VMP_MODE_ACT && !(observe && mode == VMP_MODE_ADVISE))
		return false;
	if (!l->journal)
		return true;
	if (journal_line(l, &rec, NULL) < 0)
		return false;
	r = vmp_journal_sync(l->journal);
	if (r < 0) {
		journal_failed(l, r);
		return false;
	}
	return true;
}

/*
 * While the journal is failing: room on its disk, then a line and its fsync that
 * succeed end dry-run.
 */
static void
journal_recover(struct vmp_loop *l)
{
	struct vmp_loop_counters *c = &l->counters;
	char *msg;
	int r;

	if (!c->journal_failing || !l->journal)
		return;
	msg = xasprintf("the journal can be written again after '%s'; %llu line%s could not be "
			"written; acting again", c->journal_error,
			(unsigned long long)c->journal_lines_lost,
			c->journal_lines_lost == 1 ? "" : "s");
	r = vmp_journal_room(l->journal);
	if (r == 0)
		r = journal_event(l, NULL, NULL, "journal_recovered", msg);
	if (r == 0)
		r = vmp_journal_sync(l->journal);
	if (r == 0) {
		c->journal_failing = false;
		c->journal_error[0] = '\0';
		say(l, VMP_LOG_INFO, "%s", msg);
	}
	free(msg);
}

/* Counts decision d of policy (a static name) by its outcome, for vmp_loop_decision_counts(). */
static void
count_decision(struct vmp_loop *l, const char *policy, const struct vmp_decision *d, bool acted,
	       const char *error)
{
	struct vmp_loop_decision_counts *c = &l->dcounts;
	enum vmp_loop_outcome o = acted ? VMP_LOOP_ACTED : error ? VMP_LOOP_FAILED :
				  d->action != VMP_ACT_NONE ? VMP_LOOP_HELD : VMP_LOOP_NONE;
	size_t i;

	for (i = 0; i < c->n_policies; i++)
		if (!strcmp(c->policy[i], policy))
			break;
	if (i == c->n_policies) {
		if (i == VMP_LOOP_POLICIES_MAX)
			return;
		c->policy[c->n_policies++] = policy;
	}
	c->decisions[i][o]++;
}

const char *
vmp_loop_fault_name(enum vmp_loop_fault kind)
{
	static const char *const names[VMP_FAULT_MAX] = {
		[VMP_FAULT_VM_GONE] = "vm_gone", [VMP_FAULT_SOCKET_GONE] = "socket_gone",
		[VMP_FAULT_HOST_UNREACHABLE] = "host_unreachable",
		[VMP_FAULT_BACKEND_ERROR] = "backend_error", [VMP_FAULT_JOURNAL] = "journal_failed",
		[VMP_FAULT_OTHER] = "fault",
	};

	return kind < VMP_FAULT_MAX ? names[kind] : "fault";
}

/*
 * Reports a fault of a host (vm NULL) or a VM once: on stderr, as a journal event
 * named after its kind, and in the counters; "" clears it (a "recovered" event).
 */
static void
fault(struct vmp_loop *l, struct loop_host *h, struct loop_vm *v, enum vmp_loop_fault kind,
      const char *msg)
{
	char *slot = v ? v->fault : h->fault;

	if (!strcmp(slot, msg))
		return;
	if (*msg) {
		say(l, VMP_LOG_WARN, "%s%s%s: %s", h->uri, v ? ": vm " : "", v ? v->name : "", msg);
		l->counters.faults[kind]++;
		journal_event(l, h->uri, v ? v->name : "", vmp_loop_fault_name(kind), msg);
	} else {
		say(l, VMP_LOG_INFO, "%s%s%s: recovered", h->uri, v ? ": vm " : "",
		    v ? v->name : "");
		journal_event(l, h->uri, v ? v->name : "", "recovered", slot);
	}
	snprintf(slot, FAULT_MAX, "%s", msg);
}

static void
params_from_config(struct vmp_loop *l)
{
	vmp_config_mem_params(l->cfg, &l->mem_p);
	vmp_config_cpu_params(l->cfg, &l->cpu_p);
	vmp_config_disk_params(l->cfg, &l->disk_p);
	vmp_config_overcommit_params(l->cfg, &l->oc_p);
	/* the simulator's planner; a destination keeps the overcommit plan's free share */
	if (vmp_config_planner_params("default", &l->pilot_p) == 0) {
		l->pilot_p.mem_keep_free_frac = l->oc_p.pressure_free_frac;
		if (strcmp(l->cfg->planner, "default") != 0)
			vmp_config_planner_params(l->cfg->planner, &l->pilot_p);
	}
	l->stale_cycles = l->cfg->interval_ms > 0 ? (unsigned)(l->cfg->stale_ms / l->cfg->interval_ms)
						 : 1;
	if (l->stale_cycles < 1)
		l->stale_cycles = 1;
}

static void
budget_from_config(struct vmp_loop *l, struct loop_host *h, bool keep_spent)
{
	struct vmp_budget old = h->budget;
	int k;

	vmp_budget_init(&h->budget, (unsigned)l->cfg->budget_balloons_per_hour,
			(unsigned)l->cfg->budget_hotplugs_per_hour,
			(unsigned)l->cfg->budget_migrations_per_hour);
	if (!keep_spent)
		return;
	for (k = 0; k < VMP_BUDGET_KIND_MAX; k++) {
		h->budget.head[k] = old.head[k];
		h->budget.count[k] = old.count[k];
		memcpy(h->budget.spent_ms[k], old.spent_ms[k], sizeof(old.spent_ms[k]));
	}
}

int
vmp_loop_new(const struct vmp_loop_options *o, struct vmp_loop **ret_l, char **ret_err)
{
	struct vmp_loop *l = xcalloc(1, sizeof(*l));
	size_t i;
	int r;

	l->cfg = o->cfg;
	params_from_config(l);
	l->dry_run = o->dry_run;
	l->ksm_root = o->ksm_root && o->ksm_host < o->n_uris ? xstrdup(o->ksm_root) : NULL;
	l->ksm_host = o->ksm_host;
	l->journal = o->journal;
	l->log = o->log;
	l->moved = o->moved;
	l->opaque = o->opaque;
	l->cluster = o->cluster;
	if (l->cluster.cycle && o->n_uris != 1) {
		*ret_err = xasprintf("with etcd_endpoints set vmpilot is the agent of one host: give "
				     "exactly one --connect URI (%zu given)", o->n_uris);
		free(l);
		return -EINVAL;
	}
	l->hosts = xcalloc(o->n_uris ? o->n_uris : 1, sizeof(*l->hosts));
	if (vmp_pilot_new(&l->pilot_p, o->n_uris ? o->n_uris : 1, 0, &l->pilot) < 0) {
		/* a config that passed vmp_config_load() makes a planner */
		*ret_err = xasprintf("invalid planner parameters '%s'", l->cfg->planner);
		vmp_loop_free(l);
		return -EINVAL;
	}
	for (i = 0; i < o->n_uris; i++) {
		struct loop_host *h = &l->hosts[i];

		h->uri = xstrdup(o->uris[i]);
		l->n_hosts++;
		budget_from_config(l, h, false);
		r = vmp_backend_open(o->uris[i], (unsigned)l->cfg->timeout_ms, &h->b, ret_err);
		if (r < 0) {
			vmp_loop_free(l);
			return r;
		}
		vmp_backend_set_peer_uids(h->b, l->cfg->qmp_peer_uids);
	}
	*ret_l = l;
	return 0;
}

void
vmp_loop_free(struct vmp_loop *l)
{
	size_t i, j;

	if (!l)
		return;
	if (l->ksm_saved)
		vmp_ksm_restore(l->ksm_root, &l->ksm_orig);
	free(l->ksm_root);
	vmp_owner_scan_clear(&l->owners);
	for (i = 0; i < l->n_hosts; i++) {
		for (j = 0; j < l->hosts[i].n_vms; j++)
			free(l->hosts[i].vms[j]);
		free(l->hosts[i].vms);
		vmp_backend_close(l->hosts[i].b);
		free(l->hosts[i].uri);
	}
	free(l->hosts);
	vmp_pilot_free(l->pilot);
	free(l->overrides);
	free(l);
}

void
vmp_loop_set_journal(struct vmp_loop *l, struct vmp_journal *j)
{
	l->journal = j;
}

const struct vmp_loop_counters *
vmp_loop_counters(const struct vmp_loop *l)
{
	return &l->counters;
}

void
vmp_loop_set_config(struct vmp_loop *l, const struct vmp_config *cfg)
{
	size_t i;

	l->cfg = cfg;
	params_from_config(l);
	vmp_pilot_set_params(l->pilot, &l->pilot_p);
	for (i = 0; i < l->n_hosts; i++)
		budget_from_config(l, &l->hosts[i], true);
}

static json_t *
decision_json(const char *policy, const struct vmp_decision *d, bool acted)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:b}", "policy", policy,
			 "resource", d->resource ? d->resource : "",
			 "action", vmp_action_name(d->action), "reason", vmp_reason_name(d->reason),
			 "from", d->from, "to", d->to, "acted", acted);
}

/*
 * A VM's diagnosis as published (status file and API): null when not diagnosed yet, else
 * {"bottleneck": name or null, "health", "evidence", "fix"}.
 */
static json_t *
diagnosis_json(bool diagnosed, int bottleneck, unsigned health, const char *evidence,
	       const char *fix)
{
	if (!diagnosed)
		return json_null();
	return json_pack("{s:o,s:i,s:s,s:s}", "bottleneck",
			 bottleneck >= 0 ? json_string(vmp_diag_name(bottleneck)) : json_null(),
			 "health", (int)health, "evidence", evidence, "fix", fix);
}

json_t *
vmp_loop_status(const struct vmp_loop *l)
{
	json_t *hosts = json_array();
	size_t i, j;
	int k;

	for (i = 0; i < l->n_hosts; i++) {
		const struct loop_host *h = &l->hosts[i];
		json_t *vms = json_array();

		for (j = 0; j < h->n_vms; j++) {
			const struct loop_vm *v = h->vms[j];
			json_t *recs = json_array();

			for (k = 0; k < RES_MAX; k++)
				if (v->have_d[k])
					json_array_append_new(recs, decision_json(v->last_policy[k],
										  &v->last_d[k],
										  v->last_acted[k]));
			json_array_append_new(vms, json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o}",
				"name", v->name, "mode", vmp_mode_name((enum vmp_mode)v->mode),
				"mode_source", vmp_mode_source_name((enum vmp_mode_source)v->mode_src),
				"managed", v->mode != VMP_MODE_OFF && !v->fault[0],
				"not_managed", v->fault[0] ? json_string(v->fault) : json_null(),
				"decisions", recs,
				"diagnosis", diagnosis_json(v->diagnosed, v->bottleneck, v->health,
							    v->diag_evidence, v->diag_fix)));
		}
		json_array_append_new(hosts, json_pack("{s:s,s:s,s:o}", "uri", h->uri, "mode",
			vmp_mode_name(vmp_config_host_mode(l->cfg, h->uri)), "vms", vms));
	}
	{
		const struct vmp_loop_counters *c = &l->counters;

		/* dry_run: also while the journal cannot be written (then journal.writable no). */
		return json_pack("{s:I,s:b,s:{s:b,s:o,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I},s:o}",
			"time_ms", (json_int_t)l->wall_ms,
			"dry_run", dry(l) || c->journal_failing,
			"journal", "writable", !c->journal_failing,
			"error", c->journal_failing ? json_string(c->journal_error) : json_null(),
			"lines", (json_int_t)c->journal_lines,
			"lines_lost", (json_int_t)c->journal_lines_lost,
			"faults", "vm_gone", (json_int_t)c->faults[VMP_FAULT_VM_GONE],
			"socket_gone", (json_int_t)c->faults[VMP_FAULT_SOCKET_GONE],
			"host_unreachable", (json_int_t)c->faults[VMP_FAULT_HOST_UNREACHABLE],
			"backend_error", (json_int_t)c->faults[VMP_FAULT_BACKEND_ERROR],
			"journal", (json_int_t)c->faults[VMP_FAULT_JOURNAL],
			"hosts", hosts);
	}
}

size_t
vmp_loop_hosts(const struct vmp_loop *l)
{
	return l->n_hosts;
}

struct vmp_backend *
vmp_loop_backend(struct vmp_loop *l, size_t host)
{
	return host < l->n_hosts ? l->hosts[host].b : NULL;
}

void
vmp_loop_sample(struct vmp_loop *l, size_t host, struct vmp_loop_host_obs *ret)
{
	struct loop_host *h = &l->hosts[host];
	struct vmp_vm_info *infos = NULL;
	int i, n;

	memset(ret, 0, sizeof(*ret));
	if (!h->b) {
		/* Closed around a migration (see act_move()) and not reopened yet. */
		char *err = NULL;
		int r = vmp_backend_open(h->uri, (unsigned)l->cfg->timeout_ms, &h->b, &err);

		if (r < 0) {
			ret->stats_ret = ret->list_ret = r;
			snprintf(ret->error, sizeof(ret->error), "%s", err);
			free(err);
			return;
		}
		vmp_backend_set_peer_uids(h->b, l->cfg->qmp_peer_uids);
	}
	if (!h->cpus) {
		struct vmp_host_info hi;

		if (vmp_backend_host_info(h->b, &hi) == 0) {
			h->cpus = hi.cpus;
			h->core_mips = hi.core_mips;
			h->migrate_bw_kib_s = hi.migrate_bw_kib_s;
			h->full_watts = hi.full_watts;
		}
	}
	ret->cpus = h->cpus;
	ret->stats_ret = vmp_backend_host_stats(h->b, &ret->stats);
	if (ret->stats_ret < 0)
		snprintf(ret->error, sizeof(ret->error), "%s", vmp_backend_error(h->b));
	n = vmp_backend_list_vms(h->b, &infos);
	ret->list_ret = n;
	if (n < 0) {
		snprintf(ret->error, sizeof(ret->error), "%s", vmp_backend_error(h->b));
		return;
	}
	ret->vms = xcalloc((size_t)n + 1, sizeof(*ret->vms));
	ret->n_vms = (size_t)n;
	for (i = 0; i < n; i++) {
		struct vmp_loop_vm_obs *v = &ret->vms[i];

		v->info = infos[i];
		/* a migrating VM's CPU use still counts on its host (for the planner) */
		if (v->info.state != VMP_VM_RUNNING && v->info.state != VMP_VM_MIGRATING)
			continue;
		v->stats_ret = vmp_backend_vm_stats(h->b, v->info.name, &v->stats);
		if (v->stats_ret < 0)
			snprintf(v->error, sizeof(v->error), "%s", vmp_backend_error(h->b));
	}
	free(infos);
}

static struct loop_vm *
vm_find(struct loop_host *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n_vms; i++)
		if (!strcmp(h->vms[i]->name, name))
			return h->vms[i];
	return NULL;
}

static struct loop_vm *
vm_get(struct vmp_loop *l, struct loop_host *h, const char *name)
{
	struct loop_vm *v = vm_find(h, name);
	size_t i;

	if (v)
		return v;
	v = xcalloc(1, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->bottleneck = -1;
	/* A VM we migrated here keeps its planner history (and the time it moved). */
	for (i = 0; h->incoming && i < l->n_hosts; i++) {
		struct loop_vm *src = vm_find(&l->hosts[i], name);

		if (&l->hosts[i] != h && src && src->mig_started &&
		    &l->hosts[src->mig_dest] == h) {
			v->hist = src->hist;
			/* its last sample too: the same counters if the backend kept them */
			v->prev = src->prev;
			v->have_prev = src->have_prev;
			h->incoming--;
			break;
		}
	}
	vmp_mem_state_init(&v->mem, &l->mem_p);
	vmp_cpu_state_init(&v->cpu, &l->cpu_p);
	vmp_disk_state_init(&v->disk[0], &l->disk_p);
	vmp_disk_state_init(&v->disk[1], &l->disk_p);
	xgrow((void **)&h->vms, &h->alloc_vms, h->n_vms + 1, sizeof(*h->vms));
	h->vms[h->n_vms++] = v;
	return v;
}

/* Drops the VMs not listed this cycle (with one journal line each). */
static void
vm_sweep(struct vmp_loop *l, struct loop_host *h)
{
	size_t i = 0;

	while (i < h->n_vms) {
		struct loop_vm *v = h->vms[i];

		if (v->seen) {
			v->seen = false;
			i++;
			continue;
		}
		if (v->migrating || v->mig_started) {
			/* in flight, or a migration this loop started that succeeded: not a fault */
			say(l, VMP_LOG_INFO, "%s: vm %s: left the host (migrated)", h->uri, v->name);
		} else {
			/* A VM that vanishes is on the record, not only on stderr. */
			bool qmp = vmp_str_starts_with(h->uri, "qmp://");
			enum vmp_loop_fault kind = qmp ? VMP_FAULT_SOCKET_GONE : VMP_FAULT_VM_GONE;
			const char *msg = qmp ? "its QMP socket is gone; its history is dropped" :
					  "no longer listed by the hypervisor; its history is dropped";

			say(l, VMP_LOG_WARN, "%s: vm %s: %s", h->uri, v->name, msg);
			l->counters.faults[kind]++;
			journal_event(l, h->uri, v->name, vmp_loop_fault_name(kind), msg);
		}
		free(v);
		h->vms[i] = h->vms[--h->n_vms];
	}
}

/*
 * Remembers decision d as the VM's latest for res and journals it, unless it is the
 * same steady non-action as last time or the VM's mode is off.
 */
static void
journal_decision(struct vmp_loop *l, struct loop_host *h, struct loop_vm *v, int res,
		 const char *policy, const struct vmp_decision *d, json_t *inputs, bool acted,
		 const char *result)
{
	count_decision(l, policy, d, acted, result);
	v->have_d[res] = true;
	v->last_d[res] = *d;
	v->last_policy[res] = policy;
	v->last_acted[res] = acted;
	if (v->mode == VMP_MODE_OFF) {
		json_decref(inputs);
		return;
	}
	if (d->action == VMP_ACT_NONE && v->journaled[res] &&
	    v->last_action[res] == VMP_ACT_NONE && v->last_reason[res] == (int)d->reason &&
	    v->last_from[res] == d->from) {
		json_decref(inputs);
		return;
	}
	v->journaled[res] = true;
	v->last_action[res] = d->action;
	v->last_reason[res] = d->reason;
	v->last_from[res] = d->from;
	journal_put(l, h, v->name, (enum vmp_mode)v->mode, policy, d, inputs, acted, result);
}

/* Per-VM facts of one cycle. */
struct cycle_vm {
	struct loop_vm *v;
	const struct vmp_loop_vm_obs *o;
	struct vmp_vm_limits lim;
	bool running, stats_ok, migrating;
	struct vmp_mem_input mem_in;
	struct vmp_cpu_input cpu_in;
	struct vmp_disk_input disk_in[2];   /* read, write throughput */
	uint64_t current_kib, max_kib;
	struct vmp_decision mem_d, cpu_d, oc_d;
	bool have_mem_d;
	const struct vmp_workload_profile *profile;  /* NULL = the config's percentile, margin */
	const char *profile_src;     /* "config" or "metadata" */
};

static struct loop_override *
override_find(const struct vmp_loop *l, size_t host, const char *vm)
{
	size_t i;

	for (i = 0; i < l->n_overrides; i++)
		if (l->overrides[i].host == host && !strcmp(l->overrides[i].vm, vm ? vm : ""))
			return &l->overrides[i];
	return NULL;
}

/*
 * The VM's effective mode this cycle (config [vm], domain metadata, [host], global);
 * a change is logged once, and so is a metadata value that names no mode. Mode off makes the VM opted out for every policy.
 */
static void
vm_mode(struct vmp_loop *l, struct loop_host *h, struct cycle_vm *cv)
{
	enum vmp_mode_source src;
	enum vmp_mode m = vmp_config_vm_mode(l->cfg, h->uri, cv->o->info.name, cv->o->info.mode,
					     &src);
	const struct loop_override *ov = override_find(l, (size_t)(h - l->hosts),
						       cv->o->info.name);
	const struct loop_override *hov = override_find(l, (size_t)(h - l->hosts), NULL);

	/* An operator's override through the API wins: the VM's, then its host's. */
	if (ov && ov->mode != VMP_MODE_INHERIT) {
		m = ov->mode;
		src = VMP_MODE_FROM_API_VM;
	} else if (hov && hov->mode != VMP_MODE_INHERIT) {
		m = hov->mode;
		src = VMP_MODE_FROM_API_HOST;
	}

	bool bad = src == VMP_MODE_FROM_METADATA &&
		   vmp_mode_parse(cv->o->info.mode) <= VMP_MODE_INHERIT;

	/* Said when it changes (a reload, new metadata), not when a VM is first seen. */
	if ((bad || cv->v->mode != VMP_MODE_INHERIT) &&
	    (cv->v->mode != (int)m || cv->v->mode_src != (int)src))
		say(l, bad ? VMP_LOG_WARN : VMP_LOG_INFO, "%s: vm %s: mode %s (from %s%s%s%s)",
		    h->uri, cv->v->name, vmp_mode_name(m), vmp_mode_source_name(src),
		    bad ? ": '" : "", bad ? cv->o->info.mode : "",
		    bad ? "' is not off, advise or act" : "");
	cv->v->mode = (int)m;
	cv->v->mode_src = (int)src;
	if (m == VMP_MODE_OFF)
		cv->lim.opt_out = true;
}

static uint64_t
mem_signature(const struct vmp_vm_stats *s)
{
	return s->balloon_actual_kib * 31 + s->mem_unused_kib * 17 + s->mem_usable_kib * 7 +
	       s->mem_disk_caches_kib * 3 + s->swap_in_kib + s->major_faults + s->minor_faults;
}

static uint64_t
vcpu_sum(const struct vmp_vm_stats *s)
{
	uint64_t t = 0;
	unsigned i;

	for (i = 0; i < s->nvcpus && i < VMP_VCPU_MAX; i++)
		t += s->vcpu_time_ns[i];
	return t;
}

static uint64_t
delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : 0;
}

/*
 * CPU usage in cores: vCPU time (or whole-VM CPU time) over the wall time since the
 * last sample, and steal (a simulator gives the demand itself). A counter that went backwards (a VM that arrived from another
 * host keeps its last sample there, but a new QEMU counts from 0) gives no usage.
 */
static void
cpu_usage(const struct loop_host *h, const struct loop_vm *v, const struct vmp_vm_stats *s,
	  unsigned vcpus, struct vmp_cpu_input *ret)
{
	if (s->valid & VMP_STAT_CPU_DEMAND) {
		/* a simulator says what the VM asks now */
		ret->have_stats = true;
		ret->usage_cores = s->cpu_demand_mips / CORE_MIPS(h);
		return;
	}
	if (v->have_prev && s->sample_time_us > v->prev.sample_time_us) {
		double dt_ns = (double)(s->sample_time_us - v->prev.sample_time_us) * 1000.0;
		unsigned n = vcpus ? vcpus : 1;

		if ((s->valid & VMP_STAT_VCPU_TIME) && (v->prev.valid & VMP_STAT_VCPU_TIME) &&
		    vcpu_sum(s) >= vcpu_sum(&v->prev)) {
			ret->have_stats = true;
			ret->usage_cores = (double)delta(vcpu_sum(s), vcpu_sum(&v->prev)) / dt_ns;
		} else if ((s->valid & VMP_STAT_CPU_TIME) && (v->prev.valid & VMP_STAT_CPU_TIME) &&
			   s->cpu_time_ns >= v->prev.cpu_time_ns) {
			ret->have_stats = true;
			ret->usage_cores = (double)delta(s->cpu_time_ns, v->prev.cpu_time_ns) / dt_ns;
		}
		if ((s->valid & (VMP_STAT_VCPU_WAIT | VMP_STAT_VCPU_DELAY)) &&
		    (v->prev.valid & (VMP_STAT_VCPU_WAIT | VMP_STAT_VCPU_DELAY)))
			ret->steal_frac = (double)(delta(s->vcpu_wait_ns, v->prev.vcpu_wait_ns) +
						   delta(s->vcpu_delay_ns, v->prev.vcpu_delay_ns)) /
					  (dt_ns * n);
	}
}

/*
 * The VM's bottleneck from its previous and this sample (core/diagnose.c, as `vmpilot
 * diagnose` computes it; I/O limits are not known here, so I/O throttling is never
 * named). A change of verdict is journaled as a "diagnose" event with the evidence and
 * the fix. A VM in mode off is left alone: no diagnosis, no journal line.
 */
static void
diagnose_vm(struct vmp_loop *l, struct loop_host *h, struct cycle_vm *cv)
{
	const struct vmp_vm_stats *s = &cv->o->stats;
	struct loop_vm *v = cv->v;
	struct vmp_diag_input in = { .vcpus = cv->o->info.vcpus_current,
				     .balloon_target_kib = v->target_kib };
	struct vmp_diag_params p;
	struct vmp_diag_result r;
	char *msg;

	if (v->mode == VMP_MODE_OFF || !v->have_prev ||
	    s->sample_time_us <= v->prev.sample_time_us)
		return;
	vmp_backend_diag_sample(&v->prev, &in.a);
	vmp_backend_diag_sample(s, &in.b);
	vmp_diag_params_default(&p);
	if (vmp_diag_run(&p, &in, &r) < 0)
		return;
	if (r.bottleneck != v->bottleneck) {
		if (r.bottleneck >= 0)
			msg = xasprintf("%s: %s; health %u/100; fix: %s", vmp_diag_name(r.bottleneck),
					r.evidence[r.bottleneck], r.score, r.fix);
		else
			msg = xasprintf("%s (was %s): health %u/100", vmp_diag_name(-1),
					vmp_diag_name(v->bottleneck), r.score);
		journal_event(l, h->uri, v->name, "diagnose", msg);
		free(msg);
	}
	v->diagnosed = true;
	v->bottleneck = r.bottleneck;
	v->health = r.score;
	snprintf(v->diag_evidence, sizeof(v->diag_evidence), "%s",
		 r.bottleneck >= 0 ? r.evidence[r.bottleneck] : "");
	snprintf(v->diag_fix, sizeof(v->diag_fix), "%s", r.fix);
}

/* Turns one VM's sample into policy inputs; says (once) what is missing. */
static void
prepare_vm(struct vmp_loop *l, struct loop_host *h, struct cycle_vm *cv)
{
	const struct vmp_vm_stats *s = &cv->o->stats;
	struct loop_vm *v = cv->v;
	const uint32_t need_mem = VMP_STAT_BALLOON_ACTUAL;
	char msg[FAULT_MAX] = "";

	cv->mem_in.psi_some_avg10 = -1;
	cv->current_kib = cv->o->info.memory_current_kib;
	cv->max_kib = cv->lim.mem_max_kib ? cv->lim.mem_max_kib : cv->o->info.memory_max_kib;
	if (cv->o->info.memory_max_kib && cv->max_kib > cv->o->info.memory_max_kib)
		cv->max_kib = cv->o->info.memory_max_kib;
	if (cv->o->stats_ret < 0) {
		snprintf(msg, sizeof(msg), "no stats this cycle: %s",
			 cv->o->error[0] ? cv->o->error : strerror(-cv->o->stats_ret));
		fault(l, h, v, VMP_FAULT_BACKEND_ERROR, msg);
		return;
	}
	/* Memory: balloon actual plus MemAvailable or MemFree, refreshed by the guest. */
	if ((s->valid & need_mem) != need_mem ||
	    !(s->valid & (VMP_STAT_MEM_USABLE | VMP_STAT_MEM_UNUSED))) {
		snprintf(msg, sizeof(msg), "memory stats missing fields (valid 0x%x): no memory "
			 "decision shrinks it", s->valid);
	} else if (cv->o->info.stats_period_s == 0) {
		snprintf(msg, sizeof(msg), "guest memory stats polling is off: no memory "
			 "decision shrinks it");
	}
	/* Why the statistics are missing, and the fix, when the configuration says it. */
	if (*msg && v->period_why[0] &&
	    (!cv->o->info.has_balloon || cv->o->info.stats_period_s == 0)) {
		snprintf(msg, sizeof(msg), "%s", v->period_why);
	}
	if (!*msg) {
		uint64_t sig = mem_signature(s);

		if (!v->mem_seen || sig != v->mem_sig) {
			v->mem_sig = sig;
			v->mem_changed_ms = l->now_ms;
			v->mem_seen = true;
			v->mem_unchanged = 0;
		} else {
			v->mem_unchanged++;
		}
		cv->mem_in.have_stats = true;
		cv->mem_in.stats_age_ms = l->now_ms - v->mem_changed_ms;
		/* Unchanged for stale_cycles cycles: stale, whatever the clock says. */
		if (v->mem_unchanged >= l->stale_cycles && cv->mem_in.stats_age_ms <= l->mem_p.stale_ms)
			cv->mem_in.stats_age_ms = l->mem_p.stale_ms + 1;
		cv->mem_in.actual_kib = s->balloon_actual_kib;
		cv->mem_in.have_available = (s->valid & VMP_STAT_MEM_USABLE) != 0;
		cv->mem_in.available_kib = s->mem_usable_kib;
		cv->mem_in.unused_kib = s->mem_unused_kib;
		cv->mem_in.caches_kib = s->mem_disk_caches_kib;
		if (v->have_prev && (s->valid & VMP_STAT_SWAP) && (v->prev.valid & VMP_STAT_SWAP))
			cv->mem_in.swap_in_kib = delta(s->swap_in_kib, v->prev.swap_in_kib);
		if (v->have_prev && (s->valid & VMP_STAT_FAULTS) && (v->prev.valid & VMP_STAT_FAULTS))
			cv->mem_in.major_faults = delta(s->major_faults, v->prev.major_faults);
		/* Above the last (shrink) target: still moving; for 3 cycles: stalled. */
		if (v->target_kib && s->balloon_actual_kib > v->target_kib + v->target_kib / 20) {
			cv->mem_in.balloon_moving = true;
			if (++v->target_cycles >= 3)
				cv->mem_in.balloon_stalled = true;
		}
	}
	cpu_usage(h, v, s, cv->o->info.vcpus_current, &cv->cpu_in);
	/* Disk: bytes read and written over the wall time since the last sample. */
	if (v->have_prev && s->sample_time_us > v->prev.sample_time_us &&
	    (s->valid & VMP_STAT_BLOCK) && (v->prev.valid & VMP_STAT_BLOCK)) {
		double dt_s = (double)(s->sample_time_us - v->prev.sample_time_us) / 1e6;

		cv->disk_in[0].have_stats = cv->disk_in[1].have_stats = true;
		cv->disk_in[0].kibps = (double)delta(s->block_rd_bytes,
						     v->prev.block_rd_bytes) / 1024.0 / dt_s;
		cv->disk_in[1].kibps = (double)delta(s->block_wr_bytes,
						     v->prev.block_wr_bytes) / 1024.0 / dt_s;
	}
	if (!cv->cpu_in.have_stats && v->have_prev && !*msg &&
	    !(s->valid & (VMP_STAT_VCPU_TIME | VMP_STAT_CPU_TIME)))
		snprintf(msg, sizeof(msg), "cpu stats missing fields (valid 0x%x)", s->valid);
	diagnose_vm(l, h, cv);
	v->prev = *s;
	v->have_prev = true;
	cv->stats_ok = cv->mem_in.have_stats && cv->mem_in.stats_age_ms <= l->mem_p.stale_ms;
	fault(l, h, v, VMP_FAULT_BACKEND_ERROR, msg);
}

static json_t *
mem_inputs(const struct cycle_vm *cv)
{
	const struct vmp_mem_input *in = &cv->mem_in;

	if (!in->have_stats)
		return json_pack("{s:b,s:I}", "have_stats", 0, "current_kib",
				 (json_int_t)cv->current_kib);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}",
			 "have_stats", 1,
			 "stats_age_ms", (json_int_t)in->stats_age_ms,
			 "current_kib", (json_int_t)cv->current_kib,
			 "actual_kib", (json_int_t)in->actual_kib,
			 "available_kib", (json_int_t)in->available_kib,
			 "unused_kib", (json_int_t)in->unused_kib,
			 "swap_in_kib", (json_int_t)in->swap_in_kib,
			 "major_faults", (json_int_t)in->major_faults,
			 "demand_kib", (json_int_t)cv->v->mem.demand_kib,
			 "floor_kib", (json_int_t)cv->v->mem.floor_kib,
			 "max_kib", (json_int_t)cv->max_kib,
			 "balloon_stalled", in->balloon_stalled,
			 "balloon_moving", in->balloon_moving);
}

/* The main part of a decision, as nested in another's inputs. */
static json_t *
decision_summary(const struct vmp_decision *d)
{
	struct vmp_journal_record rec = { .vm = "", .policy = "", .decision = d };
	char *line = vmp_journal_format(&rec);
	json_t *o = json_loads(line, 0, NULL), *s = json_object();
	const char *keep[] = { "action", "reason", "to", "checks", "rejected" };
	size_t i;

	for (i = 0; o && i < VMP_ARRAY_SIZE(keep); i++)
		json_object_set(s, keep[i], json_object_get(o, keep[i]));
	json_decref(o);
	free(line);
	return s;
}

static const char *
act_result(struct vmp_loop *l, struct loop_host *h, struct loop_vm *v, int r, bool *acted)
{
	if (r == 0) {
		l->rep.actions++;
		*acted = true;
		return NULL;
	}
	l->rep.failed_actions++;
	fault(l, h, v, VMP_FAULT_BACKEND_ERROR, vmp_backend_error(h->b));
	return vmp_backend_error(h->b);
}

/*
 * Balloon statistics switched on where allowed: a running VM whose balloon reports no
 * statistics (period 0) gets balloon_stats_period_ms (live only; its persistent
 * definition is left alone), once, journaled first as an intent (policy
 * "stats-period"). This only lets vmpilot observe the guest: it is done in mode advise
 * as in act, never in off or dry-run. When it cannot be done, period_why says why the
 * VM is not managed and how to fix it (the VM's fault, published by vmp_loop_status).
 */
static void
stats_period(struct vmp_loop *l, struct loop_host *h, struct cycle_vm *cv)
{
	const struct vmp_vm_info *vi = &cv->o->info;
	struct loop_vm *v = cv->v;
	unsigned period_s = (unsigned)((l->cfg->balloon_stats_period_ms + 999) / 1000);
	const char *result = NULL;
	struct vmp_decision d;
	bool acted = false;
	int r;

	if (!vi->has_balloon) {
		snprintf(v->period_why, sizeof(v->period_why), "no balloon device: its memory "
			 "cannot be right-sized; fix: add <memballoon model='virtio'><stats "
			 "period='5'/></memballoon> to its domain XML (then restart it)");
		return;
	}
	if (vi->stats_period_s != 0) {
		v->period_why[0] = '\0';
		v->period_tried = false;   /* set again if it is ever switched off */
		return;
	}
	if (v->period_tried)
		return;
	if (!period_s || v->mode == VMP_MODE_OFF || dry(l)) {
		snprintf(v->period_why, sizeof(v->period_why), "balloon statistics are off "
			 "(period 0) and %s: no memory decision; fix: virsh dommemstat %s "
			 "--period 5 --live --config", !period_s ? "balloon_stats_period_ms = 0" :
			 v->mode == VMP_MODE_OFF ? "its mode is off" : "this is a dry run", v->name);
		return;
	}
	v->period_tried = true;
	vmp_decision_init(&d, "stats_period_s", 0);
	vmp_decision_check(&d, "stats_period_s", 0, 0, true);
	vmp_decision_set(&d, VMP_ACT_SET, VMP_WHY_STATS_MISSING, period_s);
	if (act_begin(l, h, (enum vmp_mode)v->mode, true, v->name, "stats-period", &d, NULL)) {
		r = vmp_backend_set_stats_period(h->b, v->name, period_s);
		result = act_result(l, h, v, r, &acted);
	}
	if (acted) {
		snprintf(v->period_why, sizeof(v->period_why), "balloon statistics switched on "
			 "(period %u s): waiting for the guest's first report", period_s);
		say(l, VMP_LOG_INFO, "%s: vm %s: balloon statistics period set to %u s (was 0)",
		    h->uri, v->name, period_s);
	} else {
		snprintf(v->period_why, sizeof(v->period_why), "balloon statistics are off "
			 "(period 0) and vmpilot could not switch them on: %s; fix: virsh "
			 "dommemstat %s --period 5 --live --config", result ? result :
			 "the journal cannot be written", v->name);
	}
	journal_put(l, h, v->name, (enum vmp_mode)v->mode, "stats-period", &d, NULL, acted,
		    result);
}

/*
 * The VM's workload profile (core/workload.h): its [vm] section's, else its domain
 * metadata's; a metadata name that is no profile counts as none (the config's values).
 */
static void
vm_profile(const struct vmp_loop *l, struct cycle_vm *cv)
{
	const char *name = vmp_config_vm_profile(l->cfg, cv->o->info.name);

	cv->profile_src = "config";
	if (!name) {
		name = cv->o->info.profile[0] ? cv->o->info.profile : NULL;
		cv->profile_src = "metadata";
	}
	cv->profile = vmp_workload_find(name);
}

/* The right-sizer's demand estimate with the VM's profile's percentile and margin. */
static void
profile_est(const struct cycle_vm *cv, struct vmp_estimate_params *est)
{
	if (!cv->profile)
		return;
	est->target_frac = cv->profile->rightsize_pct / 100.0;
	est->margin_frac = cv->profile->rightsize_margin;
	if (est->upper_frac < est->target_frac)
		est->upper_frac = est->target_frac;
}

/* The profile in a decision's inputs. */
static void
profile_inputs(const struct cycle_vm *cv, json_t *inputs)
{
	if (!cv->profile) {
		json_object_set_new(inputs, "profile", json_string("none"));
		return;
	}
	json_object_set_new(inputs, "profile", json_pack("{s:s,s:s,s:f,s:f}", "name",
							 cv->profile->name, "from", cv->profile_src,
							 "percentile", cv->profile->rightsize_pct,
							 "margin", cv->profile->rightsize_margin));
}

/* Memory of one host: right-size each VM, fit them into the host, gate, act. */
static void
host_memory(struct vmp_loop *l, struct loop_host *h, const struct vmp_loop_host_obs *obs,
	    struct cycle_vm *cvs, size_t n)
{
	struct vmp_overcommit_vm *ocv = xcalloc(n + 1, sizeof(*ocv));
	struct vmp_decision *ocd = xcalloc(n + 1, sizeof(*ocd));
	struct vmp_config_host_settings hc = vmp_config_host(l->cfg, h->uri);
	struct vmp_host_mem hm = { 0 };
	struct vmp_mem_params mem_p;
	uint64_t unmet = 0, used = 0;
	bool have_host = false;
	size_t i;

	for (i = 0; i < n; i++) {
		struct cycle_vm *cv = &cvs[i];

		/* a VM that this cycle saw migrate away is a husk here: it uses nothing */
		if (!cv->running || cv->migrating || (cv->v->mig_started && !cv->v->migrating))
			continue;
		used += cv->current_kib;
		mem_p = l->mem_p;
		profile_est(cv, &mem_p.est);
		if (vmp_rightsize_memory(&mem_p, &cv->lim, &cv->v->mem, &cv->mem_in,
					 cv->current_kib, l->now_ms, &cv->mem_d) < 0)
			continue;
		cv->have_mem_d = true;
		ocv[i].current_kib = cv->current_kib;
		ocv[i].want_kib = cv->mem_d.action == VMP_ACT_NONE ? cv->current_kib
								   : (uint64_t)cv->mem_d.to;
		ocv[i].floor_kib = cv->v->mem.floor_kib;
		ocv[i].max_kib = cv->max_kib;
		ocv[i].stats_ok = cv->stats_ok;
		ocv[i].guest_pressure = cv->v->mem.pressure;
		ocv[i].opt_out = cv->lim.opt_out;
	}
	if (hc.mem_limit_kib) {
		hm.total_kib = hc.mem_limit_kib;
		hm.available_kib = used < hm.total_kib ? hm.total_kib - used : 0;
		have_host = true;
	} else if (obs->stats_ret == 0 && obs->stats.mem_total_kib) {
		hm.total_kib = obs->stats.mem_total_kib;
		hm.available_kib = obs->stats.mem_available_kib;
		have_host = true;
	}
	if (have_host) {
		/* The overcommit plan sees only VMs with a decision; others keep their size. */
		for (i = 0; i < n; i++)
			if (!cvs[i].have_mem_d) {
				ocv[i].current_kib = ocv[i].want_kib = 1;
				ocv[i].opt_out = true;
			}
		if (vmp_overcommit_plan(&l->oc_p, &hm, ocv, n, ocd, &unmet) < 0)
			have_host = false;
	}
	h->mem_known = have_host;
	h->mem_total_kib = hm.total_kib;
	h->mem_available_kib = hm.available_kib;
	h->mem_unmet_kib = have_host ? unmet : 0;

	for (i = 0; i < n; i++) {
		struct cycle_vm *cv = &cvs[i];
		struct vmp_decision final;
		const char *policy = "rightsize-memory", *result = NULL;
		json_t *inputs;
		bool acted = false;

		if (!cv->have_mem_d)
			continue;
		l->rep.decisions++;
		inputs = mem_inputs(cv);
		profile_inputs(cv, inputs);
		final = cv->mem_d;
		if (have_host) {
			const struct vmp_decision *oc = &ocd[i];

			json_object_set_new(inputs, "host_total_kib", json_integer((json_int_t)hm.total_kib));
			json_object_set_new(inputs, "host_available_kib",
					    json_integer((json_int_t)hm.available_kib));
			if (oc->action != cv->mem_d.action || oc->to != cv->mem_d.to) {
				json_object_set_new(inputs, "rightsize", decision_summary(&cv->mem_d));
				final = *oc;
				policy = "overcommit";
			} else if (oc->n_checks || oc->n_rejected) {
				json_object_set_new(inputs, "overcommit", decision_summary(oc));
			}
		} else {
			json_object_set_new(inputs, "host", json_string("host memory unknown: "
									"no host-pressure plan"));
		}
		if (vmp_budget_gate(&h->budget, VMP_BUDGET_BALLOON, cv->migrating, cv->lim.opt_out,
				    l->now_ms, &final)) {
			uint64_t to = (uint64_t)final.to;

			const struct vmp_owner *own = l->ksm_root && h == &l->hosts[l->ksm_host] ?
				vmp_owner_find(&l->owners, VMP_KNOB_BALLOON) : NULL;

			if (own) {
				/* Another service moves this host's balloons: never fight it. */
				char *msg = vmp_owner_refusal(own, VMP_KNOB_BALLOON);

				fault(l, h, cv->v, VMP_FAULT_OTHER, msg);
				free(msg);
				result = "not written: another service owns this host's balloons";
			} else if (act_begin(l, h, (enum vmp_mode)cv->v->mode, false, cv->v->name,
					     policy, &final, inputs)) {
				int r = vmp_backend_set_balloon(h->b, cv->v->name, to);

				result = act_result(l, h, cv->v, r, &acted);
				if (r == 0) {
					cv->v->target_kib = final.action == VMP_ACT_SHRINK ? to : 0;
					cv->v->target_cycles = 0;
				}
			}
		}
		journal_decision(l, h, cv->v, RES_MEM, policy, &final, inputs, acted, result);
	}
	free(ocv);
	free(ocd);
}

static void
host_vcpus(struct vmp_loop *l, struct loop_host *h, struct cycle_vm *cvs, size_t n)
{
	struct vmp_cpu_params cpu_p;
	size_t i;

	for (i = 0; i < n; i++) {
		struct cycle_vm *cv = &cvs[i];
		const char *result = NULL;
		bool acted = false;
		json_t *inputs;

		if (!cv->running || cv->migrating)
			continue;
		cpu_p = l->cpu_p;
		profile_est(cv, &cpu_p.est);
		if (vmp_rightsize_vcpus(&cpu_p, &cv->lim, &cv->v->cpu, &cv->cpu_in,
					cv->o->info.vcpus_current, l->now_ms, &cv->cpu_d) < 0)
			continue;
		if (cv->o->info.vcpus_max && cv->cpu_d.to > cv->o->info.vcpus_max &&
		    cv->cpu_d.action == VMP_ACT_GROW) {
			vmp_decision_reject(&cv->cpu_d, "hot-add", cv->cpu_d.to, "at the vm's maximum vCPUs");
			vmp_decision_set(&cv->cpu_d, VMP_ACT_NONE, VMP_WHY_AT_BOUND, 0);
		}
		l->rep.decisions++;
		inputs = json_pack("{s:b,s:f,s:f,s:i,s:i}", "have_stats", cv->cpu_in.have_stats,
				   "usage_cores", cv->cpu_in.usage_cores,
				   "steal_frac", cv->cpu_in.steal_frac,
				   "vcpus_current", (int)cv->o->info.vcpus_current,
				   "vcpus_max", (int)cv->o->info.vcpus_max);
		profile_inputs(cv, inputs);
		if (vmp_budget_gate(&h->budget, VMP_BUDGET_HOTPLUG, cv->migrating, cv->lim.opt_out,
				    l->now_ms, &cv->cpu_d)) {
			if (act_begin(l, h, (enum vmp_mode)cv->v->mode, false, cv->v->name,
				      "rightsize-vcpus", &cv->cpu_d, inputs)) {
				int r = vmp_backend_set_vcpus(h->b, cv->v->name, (unsigned)cv->cpu_d.to);

				result = act_result(l, h, cv->v, r, &acted);
			}
		}
		journal_decision(l, h, cv->v, RES_CPU, "rightsize-vcpus", &cv->cpu_d, inputs, acted,
				 result);
	}
}

/*
 * Disk limits of one host: each VM with disk_max_kibps set gets read and write limits on
 * the disk named disk_dev, sized by vmp_rightsize_disk (doc/policies.md, 3b). A limit not
 * set yet counts as the max bound. Not gated by the hourly budget: the policy itself
 * lowers at most once per disk_cooldown_ms.
 */
static void
host_disks(struct vmp_loop *l, struct loop_host *h, struct cycle_vm *cvs, size_t n)
{
	static const char *const policy[2] = { "rightsize-disk-read", "rightsize-disk-write" };
	const char *dev = l->cfg->disk_dev;
	size_t i;
	int dir;

	if (!dev || !strcmp(dev, "none"))
		return;
	for (i = 0; i < n; i++) {
		struct cycle_vm *cv = &cvs[i];
		struct loop_vm *v = cv->v;
		double lo = (double)cv->lim.disk_min_kibps, hi = (double)cv->lim.disk_max_kibps;

		if (!cv->running || cv->migrating || cv->lim.disk_max_kibps == 0)
			continue;
		if (lo > hi)
			lo = hi;
		for (dir = 0; dir < 2; dir++) {
			struct vmp_decision d;
			const char *result = NULL;
			bool acted = false;
			double cur = v->disk_lim[dir] ? (double)v->disk_lim[dir] : hi;
			json_t *inputs;

			cv->disk_in[dir].stats_age_ms = 0;
			if (vmp_rightsize_disk(&l->disk_p, lo, hi, &v->disk[dir], &cv->disk_in[dir],
					       cur, l->now_ms, &d) < 0)
				continue;
			if (cv->lim.opt_out && d.action != VMP_ACT_NONE) {
				vmp_decision_reject(&d, "resize", d.to, "vm opted out");
				vmp_decision_set(&d, VMP_ACT_NONE, VMP_WHY_OPT_OUT, cur);
			}
			l->rep.decisions++;
			inputs = json_pack("{s:b,s:f,s:s,s:f,s:f}", "have_stats",
					   cv->disk_in[dir].have_stats, "kibps", cv->disk_in[dir].kibps,
					   "disk", dev, "min_kibps", lo, "max_kibps", hi);
			if (d.action != VMP_ACT_NONE &&
			    act_begin(l, h, (enum vmp_mode)v->mode, false, v->name, policy[dir], &d,
				      inputs)) {
				struct vmp_block_iotune t = { 0 };
				uint64_t next = (uint64_t)d.to;
				uint64_t other = v->disk_lim[!dir] ? v->disk_lim[!dir] : (uint64_t)hi;
				int r;

				t.read_bytes_sec = (dir == 0 ? next : other) * 1024;
				t.write_bytes_sec = (dir == 1 ? next : other) * 1024;
				r = vmp_backend_set_block_iotune(h->b, v->name, dev, &t);
				result = act_result(l, h, v, r, &acted);
				if (acted) {
					v->disk_lim[dir] = next;
					if (!v->disk_lim[!dir])
						v->disk_lim[!dir] = other;
				}
			}
			journal_decision(l, h, v, dir == 0 ? RES_DISK_RD : RES_DISK_WR, policy[dir], &d,
					 inputs, acted, result);
		}
	}
}

/*
 * The cores the host's VMs may use (its cpu_limit, else its CPUs; 0 = unknown) and the
 * cores they used this cycle.
 */
static void
host_cpu(struct vmp_loop *l, struct loop_host *h, const struct vmp_loop_host_obs *obs,
	 const struct cycle_vm *cvs, size_t n)
{
	struct vmp_config_host_settings hc = vmp_config_host(l->cfg, h->uri);
	size_t i;

	h->cpu_used = 0;
	for (i = 0; i < n; i++)
		if (cvs[i].running && !cvs[i].migrating && cvs[i].cpu_in.have_stats)
			h->cpu_used += cvs[i].cpu_in.usage_cores;

	if (hc.cpu_limit)
		h->cpu_capacity = (double)hc.cpu_limit;
	else if (obs->cpus)
		h->cpu_capacity = (double)obs->cpus;
	/* a host whose mode is off is left alone: it receives no VM either */
	h->refuses_vms = !hc.accept_migrations ||
			 vmp_config_host_mode(l->cfg, h->uri) == VMP_MODE_OFF;
}

/* Reports a KSM fault once (empty: clear). */
static void
ksm_fault(struct vmp_loop *l, const char *msg)
{
	if (!strcmp(l->ksm_fault, msg))
		return;
	if (*msg)
		say(l, VMP_LOG_WARN, "ksm: %s", msg);
	snprintf(l->ksm_fault, sizeof(l->ksm_fault), "%s", msg);
}

/*
 * KSM of the host the loop runs on: ksmtuned's rule (or the kernel's advisor) from the
 * host's memory and its VMs' committed memory; written to sysfs unless dry-run, and
 * journaled (policy "ksm") whenever the setting changes.
 */
static void
host_ksm(struct vmp_loop *l, struct loop_host *h, const struct vmp_loop_host_obs *obs,
	 const struct cycle_vm *cvs, size_t n)
{
	struct vmp_ksm_params p;
	struct vmp_ksm_input in = { 0 };
	struct vmp_ksm_setting set;
	struct vmp_ksm_knobs now;
	struct vmp_decision d;
	char *path = NULL, *msg;
	const char *error = NULL;
	bool acted = false;
	json_t *inputs;
	size_t i;
	int r;

	enum vmp_mode hmode = vmp_config_host_mode(l->cfg, h->uri);

	if (!l->cfg->ksm_enabled || hmode == VMP_MODE_OFF) {
		if (l->ksm_saved && vmp_ksm_restore(l->ksm_root, &l->ksm_orig) == 0)
			l->ksm_saved = false;
		return;
	}
	if (obs->stats_ret < 0 || !obs->stats.mem_total_kib)
		return;
	if (vmp_owner_find(&l->owners, VMP_KNOB_KSM)) {
		/* ksmtuned, MOM or TuneD writes KSM: leave it to them, say so once. */
		msg = vmp_owner_refusal(vmp_owner_find(&l->owners, VMP_KNOB_KSM), VMP_KNOB_KSM);
		ksm_fault(l, msg);
		free(msg);
		return;
	}
	r = vmp_ksm_read(l->ksm_root, &now);
	if (r < 0) {
		msg = xasprintf("cannot read /sys/kernel/mm/ksm: %s", strerror(-r));
		ksm_fault(l, msg);
		free(msg);
		return;
	}
	vmp_config_ksm_params(l->cfg, &p);
	in.total_kib = obs->stats.mem_total_kib;
	in.free_kib = obs->stats.mem_available_kib;
	for (i = 0; i < n; i++)
		if (cvs[i].running)
			in.committed_kib += cvs[i].current_kib;
	in.advisor_available = now.have_advisor;
	in.npages_now = now.pages_to_scan;
	if (vmp_ksm_decide(&p, &in, &set, &d) < 0)
		return;
	if (l->ksm_journaled && set.run == l->ksm_last.run &&
	    set.use_advisor == l->ksm_last.use_advisor &&
	    set.pages_to_scan == l->ksm_last.pages_to_scan &&
	    set.sleep_millisecs == l->ksm_last.sleep_millisecs && (bool)now.run == set.run)
		return;
	inputs = json_pack("{s:b,s:b,s:i,s:i,s:I,s:I,s:I}", "run", set.run,
			   "advisor", set.use_advisor, "pages_to_scan", (int)set.pages_to_scan,
			   "sleep_millisecs", (int)set.sleep_millisecs,
			   "total_kib", (json_int_t)in.total_kib,
			   "free_kib", (json_int_t)in.free_kib,
			   "committed_kib", (json_int_t)in.committed_kib);
	if (act_begin(l, h, hmode, false, NULL, "ksm", &d, inputs)) {
		if (!l->ksm_saved) {
			l->ksm_orig = now;
			l->ksm_saved = true;
		}
		r = vmp_ksm_apply(l->ksm_root, &now, &set, &path);
		if (r < 0) {
			msg = xasprintf("cannot write '%s': %s", path ? path : "ksm", strerror(-r));
			ksm_fault(l, msg);
			count_decision(l, "ksm", &d, false, msg);
			journal_put(l, h, NULL, hmode, "ksm", &d, inputs, false, msg);
			free(msg);
			free(path);
			return;
		}
		acted = true;
		ksm_fault(l, "");
	}
	l->ksm_last = set;
	l->ksm_journaled = true;
	count_decision(l, "ksm", &d, acted, error);
	journal_put(l, h, NULL, hmode, "ksm", &d, inputs, acted, error);   /* inputs stolen */
}

/* Journals how a migration this loop started ended (policy "migration"). */
static void
migration_result(struct vmp_loop *l, struct loop_host *h, struct loop_vm *v,
		 const struct vmp_migrate_progress *p, const char *error)
{
	struct vmp_decision d;
	const char *to = v->mig_intent[0] ? v->mig_to : l->hosts[v->mig_dest].uri;
	json_t *inputs = json_pack("{s:s,s:s,s:I,s:I}", "from_host", h->uri,
				   "to_host", to,
				   "total_time_ms", (json_int_t)p->total_time_ms,
				   "downtime_ms", (json_int_t)p->downtime_ms);

	vmp_decision_init(&d, "migration", (double)(h - l->hosts));
	vmp_decision_set(&d, VMP_ACT_SET, v->mig_reason, (double)v->mig_dest);
	say(l, error ? VMP_LOG_WARN : VMP_LOG_INFO, "%s: vm %s: migration to '%s' %s%s", h->uri,
	    v->name, to, error ? "failed: " : "completed", error ? error : "");
	if (v->mig_intent[0]) {
		json_object_set_new(inputs, "intent", json_string(v->mig_intent));
		if (l->cluster.migrated)
			l->cluster.migrated(l->cluster.opaque, v->mig_intent, error);
		v->mig_intent[0] = '\0';
	}
	count_decision(l, "migration", &d, !error, error);
	journal_put(l, h, v->name, (enum vmp_mode)v->mode, "migration", &d, inputs, !error, error);
	v->migrating = false;
	/* it stays here after a failure; after a success what is left here is a husk */
	v->mig_started = !error;
}

/* Follows the migrations this loop started from host h. */
static void
poll_migrations(struct vmp_loop *l, struct loop_host *h)
{
	size_t i;

	for (i = 0; i < h->n_vms; i++) {
		struct loop_vm *v = h->vms[i];
		struct vmp_migrate_progress p = { 0 };
		int r;

		if (!v->migrating)
			continue;
		r = vmp_backend_migrate_poll(h->b, v->name, &p);
		if (r < 0) {
			fault(l, h, v, VMP_FAULT_BACKEND_ERROR, vmp_backend_error(h->b));
			continue;
		}
		if (p.state == VMP_MIGRATE_ACTIVE) {
			if (l->now_ms - v->mig_start_ms > l->cfg->migration_timeout_ms) {
				/* Journaled (durably) before it is cancelled, like any action. */
				if (l->counters.journal_failing ||
				    journal_event(l, h->uri, v->name, "migration_timeout",
						  "ran over migration_timeout_ms: cancelling") < 0 ||
				    (l->journal && vmp_journal_sync(l->journal) < 0))
					continue;
				r = vmp_backend_migrate_cancel(h->b, v->name);
				migration_result(l, h, v, &p, r < 0 ? vmp_backend_error(h->b) :
						 "ran over migration_timeout_ms: cancelled");
			}
			continue;
		}
		if (p.state == VMP_MIGRATE_COMPLETED)
			migration_result(l, h, v, &p, NULL);
		else
			migration_result(l, h, v, &p, p.state == VMP_MIGRATE_CANCELLED ? "cancelled"
											: "failed");
	}
}

/* The journal's reason for a planner move. */
static enum vmp_reason
move_reason(enum vmp_pilot_reason r)
{
	switch (r) {
	case VMP_PILOT_RELIEVE_MEMORY:
		return VMP_WHY_HOST_PRESSURE;
	case VMP_PILOT_CONSOLIDATE:
		return VMP_WHY_CONSOLIDATE;
	default:
		return VMP_WHY_HOST_OVERLOAD;
	}
}

/*
 * Runs the operator's standby (wake false) or wake command on host h, journaled (policy
 * "host-standby" or "host-wake") as an intent before it runs (act_begin()) and with its
 * outcome after; in dry-run mode or when the host's mode is not act it is journaled,
 * not run. Returns 0 when the command succeeded.
 */
static int
host_power(struct vmp_loop *l, struct loop_host *h, bool wake)
{
	const char *cmd = wake ? l->cfg->host_wake_command : l->cfg->host_standby_command;
	const char *policy = wake ? "host-wake" : "host-standby";
	struct vmp_decision d;
	char *msg = NULL;
	int r;

	vmp_decision_init(&d, "host_on", wake ? 0 : 1);
	vmp_decision_set(&d, VMP_ACT_SET, wake ? VMP_WHY_HOST_OVERLOAD : VMP_WHY_CONSOLIDATE,
			 wake ? 1 : 0);
	json_t *inputs = json_pack("{s:s}", "command", cmd);
	enum vmp_mode mode = vmp_config_host_mode(l->cfg, h->uri);

	l->rep.decisions++;
	if (!act_begin(l, h, mode, false, NULL, policy, &d, inputs)) {
		count_decision(l, policy, &d, false, NULL);
		journal_put(l, h, NULL, mode, policy, &d, inputs, false, NULL);
		return -EAGAIN;
	}
	r = vmp_hostcmd_run(cmd, h->uri, l->cfg->host_command_timeout_ms, &msg);
	say(l, r < 0 ? VMP_LOG_WARN : VMP_LOG_INFO, "%s: %s command %s%s", h->uri,
	    wake ? "wake" : "standby", r < 0 ? "failed: " : "succeeded", r < 0 ? msg : "");
	count_decision(l, policy, &d, r == 0, msg);
	journal_put(l, h, NULL, mode, policy, &d, inputs, r == 0, msg);
	if (r == 0)
		l->rep.actions++;
	else
		l->rep.failed_actions++;
	free(msg);
	return r;
}

/*
 * The parameters of a migration from the host at from_uri to the one at to_uri: the
 * configuration's migration_* keys, the destination's migrate_uri and the source's
 * storage_shared. The strings point into the configuration and the arguments.
 */
static struct vmp_migrate_params
migrate_params(const struct vmp_loop *l, const char *from_uri, const char *to_uri)
{
	struct vmp_config_host_settings dc = vmp_config_host(l->cfg, to_uri);

	return (struct vmp_migrate_params){
		.dest_uri = to_uri,
		.migrate_uri = dc.migrate_uri && strcmp(dc.migrate_uri, "auto") ? dc.migrate_uri
										  : NULL,
		.max_downtime_ms = (uint64_t)l->cfg->migration_max_downtime_ms,
		.bandwidth_mibps = (uint64_t)l->cfg->migration_bandwidth_mibps,
		.auto_converge = l->cfg->migration_auto_converge,
		.postcopy = l->cfg->migration_postcopy,
		.storage_shared = vmp_config_host(l->cfg, from_uri).storage_shared,
		.copy_storage = l->cfg->migration_copy_storage,
		.tls = l->cfg->migration_tls,
		.tls_dir = strcmp(l->cfg->migration_tls_dir, "none") ? l->cfg->migration_tls_dir
								     : NULL,
	};
}

/*
 * One planner move: checks it against the host's migration budget, journals it with
 * the planner's reason (policy "planner") as an intent before acting, wakes the
 * destination if it is on standby, starts the migration and journals the decision with
 * how the start went (its end is journaled by poll_migrations(), policy "migration").
 */
static void
act_move(struct vmp_loop *l, const struct vmp_pilot_move *m, const struct vmp_pilot_vm *pv,
	 struct cycle_vm *cv)
{
	struct loop_host *h = &l->hosts[m->from], *dh = &l->hosts[m->to];
	struct vmp_migrate_params mp = migrate_params(l, h->uri, dh->uri);
	struct vmp_decision d;
	const char *result = NULL;
	bool acted = false;
	char why[512];
	json_t *inputs;
	int r;

	vmp_pilot_move_explain(m, cv->v->name, h->uri, dh->uri, why, sizeof(why));
	vmp_decision_init(&d, "migration", (double)m->from);
	vmp_decision_check(&d, "source_forecast_frac", m->source_forecast_frac,
			   l->pilot_p.high_frac, m->reason == VMP_PILOT_RELIEVE);
	if (m->reason == VMP_PILOT_CONSOLIDATE)
		vmp_decision_check(&d, "source_forecast_frac", m->source_forecast_frac,
				   l->pilot_p.low_frac, true);
	if (m->reason == VMP_PILOT_RELIEVE_MEMORY)
		vmp_decision_check(&d, "source_mem_short_kib", m->source_mem_short_kib, 0, true);
	vmp_decision_check(&d, "dest_forecast_frac", m->dest_forecast_frac, l->pilot_p.target_frac,
			   false);
	vmp_decision_set(&d, VMP_ACT_SET, move_reason(m->reason), (double)m->to);
	inputs = json_pack("{s:s,s:s,s:s,s:s,s:f,s:I,s:f,s:f,s:b,s:b}", "planner", why,
			   "move", vmp_pilot_reason_name(m->reason), "from_host", h->uri,
			   "to_host", dh->uri, "vm_cpu_cores", pv->demand_mips / CORE_MIPS(h),
			   "vm_mem_kib", (json_int_t)pv->ram_kib, "migration_s", m->migration_s,
			   "cost_mips_s", m->cost_mips_s, "wake", m->wake,
			   "empties_source", m->empties_source);
	l->rep.decisions++;
	dh->drain_pending = false;
	if (!h->b) {
		/* its QMP connection was let go of as an earlier move's destination */
		journal_decision(l, h, cv->v, RES_MIG, "planner", &d, inputs, false,
				 "the source's connection is closed this cycle: next cycle");
		return;
	}
	/* Journaled (and synced) as an intent before it acts. */
	if (!vmp_budget_gate(&h->budget, VMP_BUDGET_MIGRATION, cv->migrating, cv->lim.opt_out,
			     l->now_ms, &d) ||
	    !act_begin(l, h, (enum vmp_mode)cv->v->mode, false, cv->v->name, "planner", &d,
		       inputs)) {
		journal_decision(l, h, cv->v, RES_MIG, "planner", &d, inputs, false, NULL);
		return;
	}
	if (m->wake && dh->standby) {
		if (host_power(l, dh, true) < 0) {
			journal_decision(l, h, cv->v, RES_MIG, "planner", &d, inputs, false,
					 "the destination is on standby and did not wake up");
			return;
		}
		dh->standby = false;
	}
	/*
	 * A QMP monitor serves one client at a time and our own connection to the
	 * destination host may hold the incoming VM's: let go of it while the migration is
	 * set up (QMP hosts only).
	 */
	if (dh->b && strcmp(vmp_backend_name(dh->b), "qmp") == 0) {
		vmp_backend_close(dh->b);
		dh->b = NULL;
	}
	r = vmp_backend_migrate_start(h->b, cv->v->name, &mp);
	result = act_result(l, h, cv->v, r, &acted);
	if (r == 0) {
		cv->v->migrating = true;
		cv->v->mig_started = true;
		cv->v->mig_start_ms = l->now_ms;
		cv->v->mig_dest = m->to;
		cv->v->mig_reason = move_reason(m->reason);
		dh->incoming++;
		if (m->empties_source && strcmp(l->cfg->host_standby_command, "none") != 0)
			h->drain_pending = true;
		if (l->moved)
			l->moved(l->opaque, cv->v->name, h->uri, dh->uri, m->reason, why);
	}
	journal_decision(l, h, cv->v, RES_MIG, "planner", &d, inputs, acted, result);
}

/*
 * The planner's view of host i this cycle (CPU as 1000 MIPS per core: capacity from
 * cpu_limit or the host's CPUs; memory from the overcommit plan: what the host's VMs
 * may use, what is free after this cycle's resizing and what it could not reclaim).
 */
static void
pilot_host(const struct vmp_loop *l, size_t i, struct vmp_pilot_host *ph)
{
	const struct loop_host *h = &l->hosts[i];
	double bw = l->cfg->migration_bandwidth_mibps ?
		    (double)l->cfg->migration_bandwidth_mibps * 1024 : DEFAULT_BW_KIB_S;
	bool can_wake = strcmp(l->cfg->host_wake_command, "none") != 0;

	ph->capacity_mips = h->cpu_capacity * CORE_MIPS(h);
	/* a VM must fit one core where the backend knows VM sizes in MIPS, else the host */
	ph->core_mips = h->core_mips > 0 ? h->core_mips : ph->capacity_mips;
	ph->bw_kib_s = h->migrate_bw_kib_s > 0 ? h->migrate_bw_kib_s : bw;
	ph->full_watts = h->full_watts;
	ph->on = !h->standby && !h->powered_off;
	/* a host on standby may not answer: it is woken before it receives a VM */
	ph->unreachable = h->cpu_capacity <= 0 || (!h->standby && (!h->ok || !h->b));
	ph->refuses_vms = h->refuses_vms || (h->standby && !can_wake);
	if (h->ok && h->mem_known) {
		ph->mem_kib = (double)h->mem_total_kib;
		ph->mem_free_kib = (double)h->mem_available_kib;
		ph->mem_short_kib = (double)h->mem_unmet_kib;
	}
}

/*
 * The planner's view of VM cv of host i (CPU demand from its CPU time this cycle), or
 * false when it is not placed (not running, or migrated away this cycle).
 */
static bool
pilot_vm(struct vmp_loop *l, size_t i, const struct cycle_vm *cv, struct vmp_pilot_vm *pv)
{
	unsigned vcpus = cv->o->info.vcpus_current ? cv->o->info.vcpus_current : 1;

	pv->host = -1;
	/* not running, or migrated away this cycle (what is left here is a husk) */
	if ((!cv->running && !cv->migrating) || (cv->v->mig_started && !cv->v->migrating))
		return false;
	pv->host = (int32_t)i;
	pv->migrating = cv->migrating;
	pv->mips = cv->o->info.max_mips > 0 ? cv->o->info.max_mips :
		   vcpus * CORE_MIPS(&l->hosts[i]);
	pv->ram_kib = (double)cv->o->info.memory_current_kib;
	if (l->hosts[i].mem_known)
		pv->mem_kib = pv->ram_kib;
	/*
	 * No CPU sample this cycle: counted at its last demand (its size when it has none),
	 * not moved, and this step is not remembered.
	 */
	pv->pinned = cv->lim.opt_out || !cv->cpu_in.have_stats || vmp_loop_pinned(l, i, cv->v->name);
	pv->demand_mips = cv->cpu_in.have_stats ? cv->cpu_in.usage_cores * CORE_MIPS(&l->hosts[i]) :
			  cv->v->hist.n ? cv->v->hist.last : pv->mips;
	/* a simulator's demand as it is (no round trip through cores) */
	if (cv->cpu_in.have_stats && cv->o->stats_ret == 0 &&
	    (cv->o->stats.valid & VMP_STAT_CPU_DEMAND))
		pv->demand_mips = cv->o->stats.cpu_demand_mips;
	pv->hist = cv->v->hist;
	return true;
}

/*
 * The cluster planner step: the snapshot of every host and VM from this cycle's
 * samples (pilot_host(), pilot_vm()), vmp_pilot_plan(), then each move in order
 * (act_move()).
 */
static void
plan_cluster(struct vmp_loop *l, struct cycle_vm **cvs, size_t *ncv)
{
	struct vmp_pilot_host *ph = xcalloc(l->n_hosts, sizeof(*ph));
	struct vmp_pilot_vm *pv;
	struct cycle_vm **map;
	const struct vmp_pilot_move *moves;
	size_t total = 0, i, j, k = 0;
	int n, m;

	for (i = 0; i < l->n_hosts; i++) {
		pilot_host(l, i, &ph[i]);
		total += ncv[i];
	}
	pv = xcalloc(total + 1, sizeof(*pv));
	map = xcalloc(total + 1, sizeof(*map));
	for (i = 0; i < l->n_hosts; i++)
		for (j = 0; j < ncv[i]; j++, k++) {
			map[k] = &cvs[i][j];
			pilot_vm(l, i, &cvs[i][j], &pv[k]);
		}
	n = vmp_pilot_plan(l->pilot, ph, l->n_hosts, pv, total, &moves);
	for (k = 0; k < total; k++)
		if (pv[k].host >= 0 && map[k]->cpu_in.have_stats)
			map[k]->v->hist = pv[k].hist;
	for (m = 0; m < n; m++)
		act_move(l, &moves[m], &pv[moves[m].vm], map[moves[m].vm]);
	free(map);
	free(pv);
	free(ph);
}

/*
 * Agent mode: the summary of the one host for the cluster (pilot_host(), pilot_vm();
 * each VM's demand added to its history here, as the planner of plan_cluster() would),
 * handed to the agent, which publishes it, plans when it leads and runs the intents
 * of this host through vmp_loop_intent_run() (the cluster hooks, daemon/agent.h).
 */
static void
agent_step(struct vmp_loop *l, struct cycle_vm *cvs, size_t ncv)
{
	struct vmp_cluster_agent sum = { 0 };
	struct vmp_pilot_host ph = { 0 };
	size_t j;

	pilot_host(l, 0, &ph);
	sum.capacity_mips = ph.capacity_mips;
	sum.core_mips = ph.core_mips;
	sum.mem_kib = ph.mem_kib;
	sum.mem_free_kib = ph.mem_free_kib;
	sum.mem_short_kib = ph.mem_short_kib;
	sum.bw_kib_s = ph.bw_kib_s;
	sum.full_watts = ph.full_watts;
	sum.on = ph.on && !ph.unreachable;
	sum.refuses_vms = ph.refuses_vms;
	sum.cycle = (int64_t)l->cycle;
	sum.wall_ms = l->wall_ms;
	sum.vms = xcalloc(ncv + 1, sizeof(*sum.vms));
	for (j = 0; j < ncv; j++) {
		struct cycle_vm *cv = &cvs[j];
		struct vmp_cluster_vm *cvm = &sum.vms[sum.nvms];
		struct vmp_pilot_vm pv = { 0 };

		if (!pilot_vm(l, 0, cv, &pv))
			continue;
		if (cv->cpu_in.have_stats) {
			vmp_pilot_history_add(&l->pilot_p, &cv->v->hist, pv.demand_mips, pv.mips);
			pv.hist = cv->v->hist;
		}
		cvm->name = cv->v->name;
		cvm->uuid = (char *)cv->o->info.uuid;
		cvm->mips = pv.mips;
		cvm->ram_kib = pv.ram_kib;
		cvm->mem_kib = pv.mem_kib;
		cvm->dirty_kib_s = pv.dirty_kib_s;
		cvm->demand_mips = pv.demand_mips;
		cvm->migrating = pv.migrating;
		cvm->pinned = pv.pinned;
		cvm->hist = pv.hist;
		sum.nvms++;
	}
	l->agent_cvs = cvs;
	l->agent_ncv = ncv;
	l->cluster.cycle(l->cluster.opaque, l, &sum, l->now_ms, l->wall_ms);
	l->agent_cvs = NULL;
	l->agent_ncv = 0;
	/* the strings are the loop's: only the array and what the agent set are freed */
	free(sum.vms);
	free(sum.name);
	free(sum.migrate_uri);
}

int
vmp_loop_journal_event(struct vmp_loop *l, const char *vm, const char *event,
		       const char *message)
{
	return journal_event(l, l->hosts[0].uri, vm, event, message);
}

int
vmp_loop_intent_run(struct vmp_loop *l, const struct vmp_loop_intent *it,
		    int (*claim)(void *opaque), void *opaque, char **ret_why)
{
	struct loop_host *h = &l->hosts[0];
	struct vmp_migrate_params mp = migrate_params(l, h->uri, it->to_uri);
	enum vmp_pilot_reason pr = VMP_PILOT_RELIEVE;
	struct cycle_vm *cv = NULL;
	struct vmp_decision d;
	const char *result = NULL, *not_run = NULL;
	bool acted = false;
	json_t *inputs;
	size_t j;
	int r;

	*ret_why = NULL;
	for (j = 0; j < l->agent_ncv; j++)
		if (!strcmp(l->agent_cvs[j].v->name, it->vm))
			cv = &l->agent_cvs[j];
	if (!cv || !cv->running || !h->b) {
		*ret_why = xasprintf("vm '%s' is not running on this host", it->vm);
		return 0;
	}
	for (j = 0; j < VMP_PILOT_REASON_MAX; j++)
		if (!strcmp(vmp_pilot_reason_name((enum vmp_pilot_reason)j), it->reason))
			pr = (enum vmp_pilot_reason)j;
	vmp_decision_init(&d, "migration", 0);
	vmp_decision_set(&d, VMP_ACT_SET, move_reason(pr), 1);
	inputs = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "planner", it->why, "move",
			   vmp_pilot_reason_name(pr), "from_host", h->uri, "to_host", it->to_uri,
			   "intent", it->id, "leader", it->leader, "term", (json_int_t)it->term);
	json_object_set_new(inputs, "to_agent", json_string(it->to));
	l->rep.decisions++;
	if (cv->migrating)
		not_run = "the vm is migrating";
	else if (cv->lim.opt_out || vmp_loop_pinned(l, 0, cv->v->name))
		not_run = "the vm is pinned or opted out";
	else if (dry(l) || l->counters.journal_failing)
		not_run = "dry run (or the journal cannot be written)";
	else if (cv->v->mode != VMP_MODE_ACT)
		not_run = cv->v->mode == VMP_MODE_ADVISE ? "mode advise: recommended, not run"
							 : "mode off";
	else if (!vmp_budget_gate(&h->budget, VMP_BUDGET_MIGRATION, cv->migrating,
				  cv->lim.opt_out, l->now_ms, &d))
		not_run = "no migration left in the host's budget";
	if (not_run) {
		*ret_why = xstrdup(not_run);
		/* once per intent: a recommendation with the planner's reasons (none in off) */
		if (cv->v->mode != VMP_MODE_OFF && strcmp(cv->v->intent_journaled, it->id)) {
			snprintf(cv->v->intent_journaled, sizeof(cv->v->intent_journaled), "%s",
				 it->id);
			journal_put(l, h, cv->v->name, (enum vmp_mode)cv->v->mode, "planner", &d,
				    json_incref(inputs), false, not_run);
		}
		count_decision(l, "planner", &d, false, NULL);
		json_decref(inputs);
		return 0;
	}
	r = claim(opaque);
	if (r < 0) {
		*ret_why = xasprintf("claim refused: %s", strerror(-r));
		json_decref(inputs);
		return r;
	}
	/* Claimed: journaled (and synced) as an intent before it acts. */
	if (!act_begin(l, h, (enum vmp_mode)cv->v->mode, false, cv->v->name, "planner", &d,
		       inputs)) {
		*ret_why = xstrdup("the journal cannot be written: not started");
		journal_decision(l, h, cv->v, RES_MIG, "planner", &d, inputs, false, *ret_why);
		return -EIO;
	}
	r = vmp_backend_migrate_start(h->b, cv->v->name, &mp);
	result = act_result(l, h, cv->v, r, &acted);
	if (r == 0) {
		cv->v->migrating = true;
		cv->v->mig_started = true;
		cv->v->mig_start_ms = l->now_ms;
		cv->v->mig_dest = 0;
		cv->v->mig_reason = move_reason(pr);
		snprintf(cv->v->mig_intent, sizeof(cv->v->mig_intent), "%s", it->id);
		snprintf(cv->v->mig_to, sizeof(cv->v->mig_to), "%s", it->to_uri);
		if (l->moved)
			l->moved(l->opaque, cv->v->name, h->uri, it->to_uri, pr, it->why);
	} else {
		*ret_why = xstrdup(result ? result : "migrate_start failed");
	}
	journal_decision(l, h, cv->v, RES_MIG, "planner", &d, inputs, acted, result);
	return r == 0 ? 1 : -EIO;
}

/*
 * Standby: a host that consolidation emptied (drain_pending) runs host_standby_command
 * once no VM runs on it and none of its migrations is in flight; a host on standby
 * that has VMs again (placed by someone else) is taken as on.
 */
static void
host_standby(struct vmp_loop *l, struct cycle_vm **cvs, size_t *ncv)
{
	size_t i, j;

	for (i = 0; i < l->n_hosts; i++) {
		struct loop_host *h = &l->hosts[i];
		bool busy = false;

		if (!h->ok)
			continue;
		for (j = 0; j < ncv[i]; j++)
			busy = busy || cvs[i][j].running || cvs[i][j].migrating;
		for (j = 0; j < h->n_vms; j++)
			busy = busy || h->vms[j]->migrating;
		if (h->standby && busy)
			h->standby = false;
		if (!h->drain_pending || busy)
			continue;
		h->drain_pending = false;
		if (host_power(l, h, false) == 0)
			h->standby = true;
	}
}

int
vmp_loop_cycle_observed(struct vmp_loop *l, const struct vmp_loop_host_obs *obs,
			int64_t now_ms, int64_t wall_ms, struct vmp_loop_report *ret)
{
	struct cycle_vm **cvs = xcalloc(l->n_hosts + 1, sizeof(*cvs));
	size_t *ncv = xcalloc(l->n_hosts + 1, sizeof(*ncv));
	size_t i, j;

	l->cycle++;
	l->dcounts.cycles++;
	l->now_ms = now_ms;
	l->wall_ms = wall_ms;
	memset(&l->rep, 0, sizeof(l->rep));
	journal_recover(l);
	if (l->ksm_root) {
		vmp_owner_scan_clear(&l->owners);
		vmp_owner_scan(l->ksm_root, &l->owners);
	}
	for (i = 0; i < l->n_hosts; i++) {
		struct loop_host *h = &l->hosts[i];
		const struct vmp_loop_host_obs *o = &obs[i];

		h->mem_known = false;
		h->mem_total_kib = h->mem_available_kib = h->mem_unmet_kib = 0;
		h->powered_off = o->stats_ret == 0 && o->stats.powered_off;
		h->ok = o->list_ret >= 0;
		h->have_stats = o->stats_ret == 0;
		if (h->have_stats)
			h->stats = o->stats;
		if (!h->ok) {
			char *msg = xasprintf("host skipped this cycle: %s", o->error);

			l->rep.hosts_failed++;
			fault(l, h, NULL, VMP_FAULT_HOST_UNREACHABLE, msg);
			free(msg);
			continue;
		}
		l->rep.hosts_ok++;
		if (o->stats_ret < 0 && !vmp_config_host(l->cfg, h->uri).mem_limit_kib) {
			char *msg = xasprintf("no host stats: %s", o->error);

			fault(l, h, NULL, VMP_FAULT_BACKEND_ERROR, msg);
			free(msg);
		} else {
			fault(l, h, NULL, VMP_FAULT_BACKEND_ERROR, "");
		}
		poll_migrations(l, h);
		cvs[i] = xcalloc(o->n_vms + 1, sizeof(**cvs));
		ncv[i] = o->n_vms;
		for (j = 0; j < o->n_vms; j++) {
			struct cycle_vm *cv = &cvs[i][j];

			cv->o = &o->vms[j];
			cv->v = vm_get(l, h, cv->o->info.name);
			cv->v->seen = true;
			cv->v->sampled = false;
			cv->v->state = cv->o->info.state;
			cv->v->alloc_kib = cv->o->info.memory_current_kib;
			cv->v->max_kib = cv->o->info.memory_max_kib;
			cv->v->vcpus = cv->o->info.vcpus_current;
			cv->v->vcpus_max = cv->o->info.vcpus_max;
			cv->v->have_cpu = false;
			l->rep.vms_seen++;
			cv->lim = vmp_config_vm_limits(l->cfg, cv->o->info.name);
			vm_profile(l, cv);
			vm_mode(l, h, cv);
			cv->running = cv->o->info.state == VMP_VM_RUNNING;
			cv->migrating = cv->v->migrating || cv->o->info.state == VMP_VM_MIGRATING;
			if (!cv->running || cv->migrating) {
				l->rep.vms_skipped++;
				/* The backend could not say what the VM is doing (it errored or
				 * timed out): skip it, say so once. */
				if (cv->o->info.state == VMP_VM_UNKNOWN)
					fault(l, h, cv->v, VMP_FAULT_BACKEND_ERROR,
					      "state unknown (the hypervisor did not answer for it): "
					      "skipped");
				else if (cv->o->info.state == VMP_VM_CRASHED)
					/* Killed or crashed: not a clean shutoff. */
					fault(l, h, cv->v, VMP_FAULT_VM_GONE,
					      "crashed or killed (the hypervisor lost it without a "
					      "shutdown): skipped");
				else if (!cv->migrating)
					fault(l, h, cv->v, VMP_FAULT_BACKEND_ERROR, "");
				if (cv->migrating && cv->o->stats_ret == 0 &&
				    (cv->o->stats.valid & (VMP_STAT_CPU_TIME | VMP_STAT_VCPU_TIME))) {
					/* its CPU use, for the planner; nothing else */
					cpu_usage(h, cv->v, &cv->o->stats,
						  cv->o->info.vcpus_current, &cv->cpu_in);
					cv->v->prev = cv->o->stats;
					cv->v->have_prev = true;
				}
				if (cv->migrating) {
					struct vmp_decision d;

					vmp_decision_init(&d, "memory_kib",
							  (double)cv->o->info.memory_current_kib);
					vmp_decision_reject(&d, "resize", d.from, "vm is migrating");
					vmp_decision_set(&d, VMP_ACT_NONE, VMP_WHY_MIGRATING, 0);
					journal_decision(l, h, cv->v, RES_MEM, "loop", &d, NULL, false,
							 NULL);
				}
				continue;
			}
			stats_period(l, h, cv);
			prepare_vm(l, h, cv);
			cv->v->sampled = cv->o->stats_ret == 0;
			cv->v->have_cpu = cv->cpu_in.have_stats;
			cv->v->cpu_cores = cv->cpu_in.usage_cores;
			if (!cv->stats_ok)
				l->rep.vms_skipped++;
		}
		host_memory(l, h, o, cvs[i], ncv[i]);
		host_vcpus(l, h, cvs[i], ncv[i]);
		host_disks(l, h, cvs[i], ncv[i]);
		host_cpu(l, h, o, cvs[i], ncv[i]);
		if (l->ksm_root && i == l->ksm_host)
			host_ksm(l, h, o, cvs[i], ncv[i]);
	}
	if (l->cluster.cycle) {
		if (l->hosts[0].ok)
			agent_step(l, cvs[0], ncv[0]);
	} else if (l->n_hosts > 1) {
		plan_cluster(l, cvs, ncv);
		host_standby(l, cvs, ncv);
	}
	for (i = 0; i < l->n_hosts; i++)
		if (l->hosts[i].ok)
			vm_sweep(l, &l->hosts[i]);
	for (i = 0; i < l->n_hosts; i++)
		free(cvs[i]);
	free(cvs);
	free(ncv);
	/* Every line of the cycle durable before the next one starts. */
	if (l->journal && !l->counters.journal_failing) {
		int r = vmp_journal_sync(l->journal);

		if (r < 0)
			journal_failed(l, r);
	}
	l->rep.journal_failing = l->counters.journal_failing;
	if (ret)
		*ret = l->rep;
	return l->counters.journal_failing ? -EIO : 0;
}

int
vmp_loop_cycle(struct vmp_loop *l, int64_t now_ms, int64_t wall_ms, struct vmp_loop_report *ret)
{
	struct vmp_loop_host_obs *obs = xcalloc(l->n_hosts + 1, sizeof(*obs));
	size_t i;
	int r;

	for (i = 0; i < l->n_hosts; i++)
		vmp_loop_sample(l, i, &obs[i]);
	r = vmp_loop_cycle_observed(l, obs, now_ms, wall_ms, ret);
	for (i = 0; i < l->n_hosts; i++)
		free(obs[i].vms);
	free(obs);
	return r;
}

void
vmp_loop_foreach_vm(struct vmp_loop *l,
		    void (*fn)(void *opaque, const struct vmp_loop_vm_view *v), void *opaque)
{
	size_t i, j, r;

	for (i = 0; i < l->n_hosts; i++)
		for (j = 0; j < l->hosts[i].n_vms; j++) {
			const struct loop_vm *v = l->hosts[i].vms[j];
			struct vmp_loop_vm_view w = {
				.host = i, .name = v->name, .mem = &v->mem, .cpu = &v->cpu,
				.migrating = v->migrating, .mig_dest = v->mig_dest,
				.mig_start_ms = v->mig_start_ms, .sampled = v->sampled,
				.state = v->state, .mem_alloc_kib = v->alloc_kib,
				.mem_max_kib = v->max_kib, .mem_demand_kib = v->mem.demand_kib,
				.have_cpu = v->have_cpu, .cpu_cores = v->cpu_cores,
				.vcpus = v->vcpus, .vcpus_max = v->vcpus_max, .fault = v->fault,
				.mode = vmp_mode_name((enum vmp_mode)v->mode),
				.mode_source = vmp_mode_source_name((enum vmp_mode_source)v->mode_src),
				.pinned = vmp_loop_pinned(l, i, v->name),
				.diagnosed = v->diagnosed,
				.bottleneck = v->bottleneck >= 0 ? vmp_diag_name(v->bottleneck) : NULL,
				.health = v->health, .diag_evidence = v->diag_evidence,
				.diag_fix = v->diag_fix,
			};

			for (r = 0; r < RES_MAX; r++)
				if (v->have_d[r]) {
					w.decision[w.n_decisions] = &v->last_d[r];
					w.policy[w.n_decisions] = v->last_policy[r];
					w.acted[w.n_decisions++] = v->last_acted[r];
				}
			fn(opaque, &w);
		}
}

void
vmp_loop_host_view(struct vmp_loop *l, size_t host, struct vmp_loop_host_view *ret)
{
	struct loop_host *h = &l->hosts[host];
	int k;

	memset(ret, 0, sizeof(*ret));
	ret->uri = h->uri;
	ret->mode = vmp_mode_name(vmp_loop_mode_override(l, host, NULL) != VMP_MODE_INHERIT ?
				  vmp_loop_mode_override(l, host, NULL) :
				  vmp_config_host_mode(l->cfg, h->uri));
	ret->ok = h->ok;
	ret->fault = h->fault;
	ret->have_stats = h->have_stats;
	ret->stats = h->stats;
	ret->cpu_used = h->cpu_used;
	ret->cpu_capacity = h->cpu_capacity;
	ret->mem_total_kib = h->mem_total_kib;
	ret->mem_available_kib = h->mem_available_kib;
	for (k = 0; k < VMP_BUDGET_KIND_MAX; k++) {
		ret->budget_left[k] = vmp_budget_left(&h->budget, (enum vmp_budget_kind)k, l->now_ms);
		ret->budget_per_hour[k] = h->budget.per_hour[k];
	}
}

int
vmp_loop_vm_restore(struct vmp_loop *l, size_t host, const char *name,
		    const struct vmp_mem_state *mem, const struct vmp_cpu_state *cpu,
		    long mig_dest, int64_t mig_start_ms)
{
	struct loop_vm *v;

	if (host >= l->n_hosts || (mig_dest >= 0 && (size_t)mig_dest >= l->n_hosts))
		return -EINVAL;
	v = vm_get(l, &l->hosts[host], name);
	v->seen = true;       /* survives a sweep before its first cycle */
	if (mem)
		v->mem = *mem;
	if (cpu)
		v->cpu = *cpu;
	if (mig_dest >= 0) {
		v->migrating = true;
		v->mig_started = true;
		v->mig_dest = (size_t)mig_dest;
		l->hosts[mig_dest].incoming++;
		v->mig_start_ms = mig_start_ms;
		v->mig_reason = VMP_WHY_HOST_OVERLOAD;  /* the state keeps no reason */
	}
	return 0;
}

const char *
vmp_loop_host_uri(const struct vmp_loop *l, size_t host)
{
	return host < l->n_hosts ? l->hosts[host].uri : "";
}

struct vmp_budget *
vmp_loop_budget(struct vmp_loop *l, size_t host)
{
	return host < l->n_hosts ? &l->hosts[host].budget : NULL;
}

void
vmp_loop_params(const struct vmp_loop *l, struct vmp_mem_params *ret_mem,
		struct vmp_cpu_params *ret_cpu)
{
	*ret_mem = l->mem_p;
	*ret_cpu = l->cpu_p;
}

const char *
vmp_loop_outcome_name(enum vmp_loop_outcome o)
{
	static const char *const names[VMP_LOOP_OUTCOME_MAX] = {
		[VMP_LOOP_NONE] = "none", [VMP_LOOP_ACTED] = "acted",
		[VMP_LOOP_FAILED] = "failed", [VMP_LOOP_HELD] = "held",
	};

	return (unsigned)o < VMP_LOOP_OUTCOME_MAX ? names[o] : "?";
}

const struct vmp_loop_decision_counts *
vmp_loop_decision_counts(const struct vmp_loop *l)
{
	return &l->dcounts;
}

static struct loop_override *
override_get(struct vmp_loop *l, size_t host, const char *vm)
{
	struct loop_override *o = override_find(l, host, vm);

	if (o)
		return o;
	xgrow((void **)&l->overrides, &l->alloc_overrides, l->n_overrides + 1,
	      sizeof(*l->overrides));
	o = &l->overrides[l->n_overrides++];
	memset(o, 0, sizeof(*o));
	o->host = host;
	snprintf(o->vm, sizeof(o->vm), "%s", vm ? vm : "");
	return o;
}

int
vmp_loop_set_mode(struct vmp_loop *l, size_t host, const char *vm, enum vmp_mode mode)
{
	if (host >= l->n_hosts || (unsigned)mode >= VMP_MODE_MAX ||
	    (vm && strlen(vm) >= VMP_NAME_MAX))
		return -EINVAL;
	override_get(l, host, vm)->mode = mode;
	return 0;
}

int
vmp_loop_set_pinned(struct vmp_loop *l, size_t host, const char *vm, bool pinned)
{
	if (host >= l->n_hosts || !vm || strlen(vm) >= VMP_NAME_MAX)
		return -EINVAL;
	override_get(l, host, vm)->pinned = pinned;
	return 0;
}

enum vmp_mode
vmp_loop_mode_override(const struct vmp_loop *l, size_t host, const char *vm)
{
	const struct loop_override *o = override_find(l, host, vm);

	return o ? o->mode : VMP_MODE_INHERIT;
}

bool
vmp_loop_pinned(const struct vmp_loop *l, size_t host, const char *vm)
{
	const struct loop_override *o = override_find(l, host, vm);

	return o && o->pinned;
}
