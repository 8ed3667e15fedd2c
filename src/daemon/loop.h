/* SPDX-License-Identifier: MIT */
/*
 * The autopilot loop as a library: one backend connection per --connect URI; per
 * cycle it samples every host and VM through the ops table, keeps each VM's history,
 * runs the core policies (memory and vCPU right-sizing, host memory pressure, and the
 * cluster planner of core/pilot.h: the very code `vmpilot simulate --policy vmpilot`
 * scores, fed a snapshot built from the samples), passes every decision through the
 * host's action budget, acts through the ops table (set_balloon, set_vcpus, migrate_*)
 * unless in dry-run mode, runs the operator's host standby/wake commands around
 * consolidation (daemon/hostcmd.h, off by default), and writes every action and
 * deliberate non-action to the decision journal (a migration before it starts).
 *
 * The journal comes first: an action is taken only after its intent line is written
 * and fsynced; every cycle's lines are fsynced at its end. When the journal cannot be
 * written the loop acts as in dry-run (it still decides) until a line can be written
 * again, says so once through the log callback and shows it in its counters.
 *
 * Faults (a backend erroring or timing out, a VM disappearing, stats missing fields)
 * are reported once through the log callback and the journal; the VM or host is
 * skipped for that cycle and the loop keeps running. A VM whose stats are missing or
 * stale is never shrunk; a migrating VM is never touched. The library does not log
 * by itself: the callback is the edge. doc/design/loop.md.
 */
#ifndef VMP_DAEMON_LOOP_H
#define VMP_DAEMON_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "backend/backend.h"
#include "core/pilot.h"
#include "core/budget.h"
#include "core/rightsize.h"
#include "daemon/config.h"
#include "daemon/journal.h"
#include "util/log.h"

struct vmp_loop;
struct vmp_agent;   /* daemon/agent.h */

/* The kinds of fault the loop records (journal events and counters). */
enum vmp_loop_fault {
	VMP_FAULT_VM_GONE,          /* a VM vanished or its QEMU died without a clean shutdown */
	VMP_FAULT_SOCKET_GONE,      /* a VM's monitor socket was removed or refused */
	VMP_FAULT_HOST_UNREACHABLE, /* a host could not be listed */
	VMP_FAULT_BACKEND_ERROR,    /* a call to a backend failed (stats, an action) */
	VMP_FAULT_JOURNAL,          /* the journal could not be written */
	VMP_FAULT_OTHER,            /* e.g. another service owns a knob */
	VMP_FAULT_MAX,
};

/*
 * What the loop has seen since it started, for status and metrics (the API reads it
 * with vmp_loop_counters()). Owned by the loop; valid until vmp_loop_free().
 */
/* The journal event name of a fault kind ("vm_gone", "backend_error", ...). */
const char *vmp_loop_fault_name(enum vmp_loop_fault kind);

struct vmp_loop_counters {
	uint64_t faults[VMP_FAULT_MAX];     /* new faults of each kind */
	uint64_t journal_lines;             /* lines written */
	uint64_t journal_errors;            /* writes or fsyncs that failed */
	uint64_t journal_lines_lost;        /* lines not written since the last recovery */
	bool journal_failing;               /* acting as dry run until the journal works */
	char journal_error[128];            /* why, while failing */
};

struct vmp_loop;
struct vmp_cluster_agent;   /* cluster/cluster.h */

/* How the loop reaches the cluster agent of agent mode (daemon/agent.h). */
struct vmp_loop_cluster {
	/*
	 * Once per cycle with this host's summary (sum->name and sum->migrate_uri are the
	 * agent's to fill and free); it may run intents through vmp_loop_intent_run().
	 */
	void (*cycle)(void *opaque, struct vmp_loop *l, struct vmp_cluster_agent *sum,
		      int64_t now_ms, int64_t wall_ms);
	/* The migration of intent id ended (error NULL: it completed). */
	void (*migrated)(void *opaque, const char *id, const char *error);
	void *opaque;
};

struct vmp_loop_options {
	const char *const *uris;  /* the --connect URIs, one host each */
	size_t n_uris;
	const struct vmp_config *cfg;   /* borrowed: must outlive the loop or be replaced */
	bool dry_run;             /* decide and journal, never act (or cfg->dry_run) */
	struct vmp_journal *journal;    /* borrowed; NULL = no journal */
	/*
	 * KSM: the sysfs root ("/" for this machine, a fixture tree in tests) of the host
	 * uris[ksm_host], whose KSM the loop tunes while the config's ksm_enabled is set;
	 * NULL = leave KSM alone. What was there before is put back by vmp_loop_free().
	 * The same root is scanned each cycle for services that own knobs (host/owner.h):
	 * KSM owned by ksmtuned, MOM or TuneD is not written; balloons of uris[ksm_host]
	 * owned by MOM or Proxmox's pvestatd are not moved (both reported as faults).
	 */
	const char *ksm_root;
	size_t ksm_host;
	/* Called once per new fault or recovery; may be NULL. */
	void (*log)(void *opaque, enum vmp_log_level level, const char *msg);
	/*
	 * Called for each migration the cluster planner started (the host URIs and the
	 * planner's one-line reason, as journaled); may be NULL.
	 */
	void (*moved)(void *opaque, const char *vm, const char *from, const char *to,
		      enum vmp_pilot_reason reason, const char *why);
	void *opaque;
	/*
	 * Agent mode (etcd_endpoints set; cycle NULL = off): exactly one URI; instead of
	 * planning over its hosts the loop hands its host's summary to the agent every
	 * cycle, and the cluster's elected planner decides the moves. The runner fills
	 * this from daemon/agent.h (vmp_agent_loop_hooks()), so that the loop does not
	 * depend on the agent that depends on it.
	 */
	struct vmp_loop_cluster cluster;
};

/*
 * Opens a backend per URI. Returns 0 and *ret_l, or a negative errno with *ret_err
 * (caller frees) naming the URI that failed.
 */
int vmp_loop_new(const struct vmp_loop_options *o, struct vmp_loop **ret_l, char **ret_err);
void vmp_loop_free(struct vmp_loop *l);   /* closes the backends; accepts NULL */

/* Swaps in a new configuration (borrowed) from the next cycle on; history is kept. */
void vmp_loop_set_config(struct vmp_loop *l, const struct vmp_config *cfg);

/* Swaps in another journal (borrowed; a reopened one after SIGHUP). */
void vmp_loop_set_journal(struct vmp_loop *l, struct vmp_journal *j);

/* The loop's counters (see struct vmp_loop_counters). */
const struct vmp_loop_counters *vmp_loop_counters(const struct vmp_loop *l);

/* What one cycle saw and did. */
struct vmp_loop_report {
	unsigned hosts_ok, hosts_failed;
	unsigned vms_seen, vms_skipped;     /* skipped: no stats, not running, migrating */
	unsigned decisions, actions, failed_actions, journaled;
	bool journal_failing;               /* the cycle ran as dry run: journal not writable */
};

/*
 * Runs one cycle at now_ms (CLOCK_MONOTONIC, ms) and wall_ms (Unix time, for the
 * journal). Returns 0 (faults are reported, not returned) or -EIO while the journal
 * cannot be written (the cycle then acted as dry run).
 */
int vmp_loop_cycle(struct vmp_loop *l, int64_t now_ms, int64_t wall_ms,
		   struct vmp_loop_report *ret);

/* One VM as sampled (for vmp_loop_cycle_observed). */
struct vmp_loop_vm_obs {
	struct vmp_vm_info info;
	int stats_ret;              /* 0, or the error of vm_stats */
	char error[256];            /* the backend's message when stats_ret < 0 */
	struct vmp_vm_stats stats;
};

/* One host as sampled. */
struct vmp_loop_host_obs {
	int stats_ret;              /* of host_stats */
	struct vmp_host_stats stats;
	unsigned cpus;              /* host CPUs (host_info), 0 = unknown */
	int list_ret;               /* of list_vms: < 0 = the host is skipped */
	char error[512];            /* the backend's message when a call failed */
	struct vmp_loop_vm_obs *vms;
	size_t n_vms;
};

/*
 * The same cycle from observations given by the caller (one per host, in URI order)
 * instead of sampling: decisions, budget, actions and journal are the real ones. Used
 * by tests to feed recorded stats to a real backend; the loop itself samples and
 * calls this.
 */
int vmp_loop_cycle_observed(struct vmp_loop *l, const struct vmp_loop_host_obs *obs,
			    int64_t now_ms, int64_t wall_ms, struct vmp_loop_report *ret);

/* Samples host i through its backend into *ret (caller frees ret->vms). */
void vmp_loop_sample(struct vmp_loop *l, size_t host, struct vmp_loop_host_obs *ret);

/*
 * What the loop publishes after a cycle (a new JSON object, caller decrefs), for
 * `vmpilot status`, the status file and the API:
 *   {"time_ms": T, "dry_run": false,
 *    "journal": {"writable": true, "error": null, "lines": N, "lines_lost": N},
 *    "faults": {"vm_gone": N, "socket_gone": N, "host_unreachable": N,
 *               "backend_error": N, "journal": N},
 *    "hosts": [{"uri": U, "mode": "advise",
 *    "vms": [{"name": N, "mode": "act", "mode_source": "config [vm]",
 *             "managed": true, "not_managed": null,
 *             "decisions": [{"policy": P, "resource": R, "action": A, "reason": W,
 *                            "from": F, "to": T, "acted": B}, ...]}]}]}
 * "decisions" holds each resource's latest decision; one whose action is not "none"
 * and that was not acted on is a pending recommendation. "not_managed" says why the
 * loop cannot manage the VM now (its fault, e.g. stats missing, and the fix), or null.
 * "dry_run" is also true while the journal cannot be written (journal.writable false).
 */
json_t *vmp_loop_status(const struct vmp_loop *l);

/* One move the cluster planner asked of this host (agent mode). */
struct vmp_loop_intent {
	const char *id;            /* the intent's id in etcd */
	const char *vm;
	const char *to;            /* destination agent */
	const char *to_uri;        /* its hypervisor URI (the migration's destination) */
	const char *reason;        /* vmp_pilot_reason_name() */
	const char *why;           /* the planner's explanation */
	const char *leader;        /* who planned it, in which term */
	int64_t term;
};

/*
 * Agent mode, during the cluster cycle hook (vmp_agent_cycle()) only: runs intent it on the local host. The
 * VM must be here, running, not migrating, not pinned or opted out, in mode act, with
 * a migration left in its host's budget, the loop not in dry run; otherwise the
 * intent is journaled as a recommendation (policy "planner", not acted, with the
 * intent's id and why; once per intent) and 0 is returned with *ret_why (caller frees)
 * saying why it was not run. Then claim(opaque) is called: when it fails its result is
 * returned (nothing else is done; journaled). Once claimed, the move is journaled as
 * an intent line (fsynced) and started through the backend's migrate_start to
 * it->to_uri (the [host to_uri] section's migrate_uri, storage and TLS settings as in
 * single-process mode): 1 when it started (its end comes through
 * vmp_agent_migrated()), or -EIO with *ret_why when it could not start (the caller
 * records the intent failed).
 */
int vmp_loop_intent_run(struct vmp_loop *l, const struct vmp_loop_intent *it,
			int (*claim)(void *opaque), void *opaque, char **ret_why);

/* Agent mode: journals an event about the local host (vm may be NULL); 0 or -errno. */
int vmp_loop_journal_event(struct vmp_loop *l, const char *vm, const char *event,
			   const char *message);

size_t vmp_loop_hosts(const struct vmp_loop *l);
/*
 * The backend of host i, or NULL while its connection is let go: the loop closes a
 * migration destination's connection while the migration is set up (a QMP monitor
 * serves one client) and reopens it at the next sample.
 */
struct vmp_backend *vmp_loop_backend(struct vmp_loop *l, size_t host);

/*
 * What the loop knows about one VM, for the state store (daemon/state.c), the API and
 * the metrics. Pointers point into the loop: valid until the next cycle, a restore or
 * vmp_loop_free(). Read only (the loop thread calls the visitor).
 */
struct vmp_loop_vm_view {
	size_t host;                       /* index of its host */
	const char *name;
	const struct vmp_mem_state *mem;   /* learned memory history and bounds */
	const struct vmp_cpu_state *cpu;   /* learned CPU history */
	bool migrating;                    /* a migration this loop started is running */
	size_t mig_dest;                   /* its destination host */
	int64_t mig_start_ms;              /* CLOCK_MONOTONIC ms */
	/* The last cycle's sample ("sampled" false: not running or no stats). */
	bool sampled;
	enum vmp_vm_state state;
	uint64_t mem_alloc_kib;            /* balloon target / current allocation */
	uint64_t mem_max_kib;
	uint64_t mem_demand_kib;           /* the memory policy's demand (0 = unknown) */
	bool have_cpu;
	double cpu_cores;                  /* vCPU time over wall time */
	unsigned vcpus, vcpus_max;
	const char *fault;                 /* "" = none */
	const char *mode;                  /* its automation mode: "off", "advise", "act" */
	const char *mode_source;           /* where that came from (vmp_mode_source_name) */
	bool pinned;                       /* never migrated (an operator's pin) */
	/* The diagnosis of its last two samples (core/diagnose.h; "diagnosed" false: none yet). */
	bool diagnosed;
	const char *bottleneck;            /* vmp_diag_name(), NULL = none */
	unsigned health;                   /* 0..100 */
	const char *diag_evidence, *diag_fix;
	/* The last decision per resource (what it would do now and why). */
	size_t n_decisions;
	const struct vmp_decision *decision[3];
	const char *policy[3];
	bool acted[3];
};

/* One host, as for the VM view. */
struct vmp_loop_host_view {
	const char *uri;
	const char *mode;                  /* its mode: an operator's override, else the config's */
	bool ok;                           /* listed its VMs in the last cycle */
	const char *fault;
	bool have_stats;
	struct vmp_host_stats stats;       /* the last host sample */
	double cpu_used, cpu_capacity;     /* cores (balance step's view) */
	uint64_t mem_total_kib, mem_available_kib;  /* after the last cycle's plan */
	unsigned budget_left[VMP_BUDGET_KIND_MAX];  /* at the last cycle */
	unsigned budget_per_hour[VMP_BUDGET_KIND_MAX];  /* the budget itself (config) */
};

/* Visits every VM the loop remembers, host by host. */
void vmp_loop_foreach_vm(struct vmp_loop *l,
			 void (*fn)(void *opaque, const struct vmp_loop_vm_view *v), void *opaque);
/* Fills *ret with host i (i < vmp_loop_hosts()). */
void vmp_loop_host_view(struct vmp_loop *l, size_t host, struct vmp_loop_host_view *ret);

/*
 * Gives VM name of host the learned state mem and cpu (copied; times in the loop's
 * CLOCK_MONOTONIC ms) and, when mig_dest >= 0, a migration in flight to that host
 * since mig_start_ms, as if the loop had kept it across a restart. A VM that the next
 * cycle does not list is dropped at its end, as usual. Returns 0 or -EINVAL (host out
 * of range). Call between cycles.
 */
int vmp_loop_vm_restore(struct vmp_loop *l, size_t host, const char *name,
			const struct vmp_mem_state *mem, const struct vmp_cpu_state *cpu,
			long mig_dest, int64_t mig_start_ms);

/*
 * Operator overrides, set through the API and kept until the daemon stops: the mode of
 * a host (vm NULL: all its VMs) or of one VM. They win over every configured mode (the
 * VM's own override first, then its host's; doc/design/modes.md); VMP_MODE_INHERIT
 * clears one. --dry-run and dry_run = yes still stop every action. A pinned VM is never
 * moved to another host (it may still be resized).
 */
/* Returns 0, or -EINVAL (host out of range, bad mode, VM name too long). */
int vmp_loop_set_mode(struct vmp_loop *l, size_t host, const char *vm, enum vmp_mode mode);
int vmp_loop_set_pinned(struct vmp_loop *l, size_t host, const char *vm, bool pinned);
/* The override set for VM vm of host (vm NULL: the host's own); INHERIT = none. */
enum vmp_mode vmp_loop_mode_override(const struct vmp_loop *l, size_t host, const char *vm);
bool vmp_loop_pinned(const struct vmp_loop *l, size_t host, const char *vm);

/* The URI of host i. */
const char *vmp_loop_host_uri(const struct vmp_loop *l, size_t host);

/* The action budget of host i, to save or restore it between cycles. */
struct vmp_budget *vmp_loop_budget(struct vmp_loop *l, size_t host);

/* The memory and CPU policy parameters in force (for checking a restored histogram). */
void vmp_loop_params(const struct vmp_loop *l, struct vmp_mem_params *ret_mem,
		     struct vmp_cpu_params *ret_cpu);

/* Cycles and decisions counted since the loop started, by policy and outcome (for /metrics). */
enum vmp_loop_outcome {
	VMP_LOOP_NONE,          /* a deliberate non-action */
	VMP_LOOP_ACTED,         /* carried out */
	VMP_LOOP_FAILED,        /* carrying it out failed */
	VMP_LOOP_HELD,          /* an action decided but not carried out (dry run) */
	VMP_LOOP_OUTCOME_MAX,
};
#define VMP_LOOP_POLICIES_MAX 16
struct vmp_loop_decision_counts {
	uint64_t cycles;
	size_t n_policies;
	const char *policy[VMP_LOOP_POLICIES_MAX];   /* static names */
	uint64_t decisions[VMP_LOOP_POLICIES_MAX][VMP_LOOP_OUTCOME_MAX];
};
const char *vmp_loop_outcome_name(enum vmp_loop_outcome o);
const struct vmp_loop_decision_counts *vmp_loop_decision_counts(const struct vmp_loop *l);

#endif
