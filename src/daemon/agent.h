/* SPDX-License-Identifier: MIT */
/*
 * Agent mode of the loop (etcd_endpoints set; doc/cluster.md): this daemon watches one
 * host (its one -c URI) and is one agent of a cluster coordinated through etcd
 * (cluster/cluster.h). Every cycle, inside vmp_loop_cycle(), the loop hands the agent
 * its host's summary (the planner's view of the host and of each VM, with the VMs'
 * demand histories, which the agent keeps: a leader change loses nothing). The agent:
 *   1. publishes the summary under its lease;
 *   2. when it was the leader at its last tick: reads the whole cluster at one
 *      revision, cancels stale intents, plans with core/pilot.c over every agent's
 *      summary (vmp_pilot_plan_flags(), VMP_PILOT_HISTORY_KEPT) and writes each move as
 *      an intent in a transaction fenced on its term, journaling each planned move with
 *      the planner's reasons first; a fence that fails ends its leadership at once;
 *   3. runs the intents whose source is this host: each passes the loop's gates (the
 *      VM's automation mode, dry run, budget, pins; vmp_loop_intent_run()) before it
 *      is claimed, and is claimed (a transaction that also checks the intent's term is
 *      still the leader's) before the loop migrates it through its backend; the
 *      outcome is written back when the loop sees the migration end;
 *   4. renews its lease and campaigns (vmp_cluster_tick()); the role it gets holds for
 *      the next cycle's writes, so a leader paused past its lease tries its writes on
 *      resuming and the fence refuses them.
 * When etcd does not answer (no quorum, unreachable), the local loop goes on and no
 * cluster move starts; the status says why. Without etcd_endpoints nothing here runs.
 *
 * Nothing here logs: messages go to the log callback (the edge) and the journal.
 */
#ifndef VMP_DAEMON_AGENT_H
#define VMP_DAEMON_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster/cluster.h"
#include "daemon/config.h"
#include "util/log.h"

struct vmp_agent;
struct vmp_loop;
struct vmp_loop_cluster;   /* daemon/loop.h */

struct vmp_agent_options {
	const struct vmp_config *cfg;  /* borrowed: etcd_* keys, agent_name, agent_migrate_uri */
	const char *local_uri;         /* the one -c URI */
	/* Called once per new fault or recovery; may be NULL. */
	void (*log)(void *opaque, enum vmp_log_level level, const char *msg);
	void *opaque;
};

/*
 * Prepares the agent (does not contact etcd: an etcd that is down is a status, not a
 * startup error). Returns 0 and *ret, or -EINVAL with *ret_err (caller frees) for bad
 * etcd options (a URL that is not http(s)://, a key without a certificate...).
 */
int vmp_agent_new(const struct vmp_agent_options *o, struct vmp_agent **ret, char **ret_err);
/*
 * Checks the etcd options of cfg as vmp_agent_new() would (without contacting etcd):
 * for `vmpilot run -n`. Returns 0, or -errno with *ret_err (caller frees).
 */
int vmp_agent_check_config(const struct vmp_config *cfg, char **ret_err);
/* Frees; with resign, first revokes the lease (a clean stop: a new leader at once). */
void vmp_agent_free(struct vmp_agent *a, bool resign);   /* accepts NULL */

/* Takes the planner parameters of a reloaded configuration (etcd_* need a restart). */
void vmp_agent_set_config(struct vmp_agent *a, const struct vmp_config *cfg);

/* This agent's name (agent_name, or the hostname). */
const char *vmp_agent_name(const struct vmp_agent *a);

/*
 * One cycle of the agent (called by the loop with its host's summary; see above).
 * sum->name and sum->migrate_uri are filled here. l is the loop that calls.
 */
void vmp_agent_cycle(struct vmp_agent *a, struct vmp_loop *l, struct vmp_cluster_agent *sum,
		     int64_t now_ms, int64_t wall_ms);

/*
 * The loop saw the migration of intent id end (error NULL: it completed). Its outcome
 * is written to etcd in this or a later cycle (retried until etcd answers).
 */
void vmp_agent_migrated(struct vmp_agent *a, const char *id, const char *error);

/* The loop's cluster hooks (struct vmp_loop_cluster, daemon/loop.h) that call the two above. */
void vmp_agent_loop_hooks(struct vmp_agent *a, struct vmp_loop_cluster *ret);

/*
 * The "cluster" object of the status (a new reference): vmp_cluster_status() plus
 * "mode": "agents" and "why": null, or why no cluster move can start now ("etcd: no
 * quorum or unreachable: <error>; cluster moves stopped"). vmp_agent_status(NULL, ...)
 * is {"mode": "single"}.
 */
json_t *vmp_agent_status(const struct vmp_agent *a, int64_t wall_ms);

/* The counters for the metrics (cluster/cluster.h). */
void vmp_agent_counters(const struct vmp_agent *a, int64_t wall_ms,
			struct vmp_cluster_counters *ret);

#endif
