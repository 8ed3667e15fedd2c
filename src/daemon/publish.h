/* SPDX-License-Identifier: MIT */
/*
 * What the loop publishes after each cycle for the HTTP API (api.h): the status of its
 * hosts and VMs with live numbers and each VM's latest decisions (what it would do now
 * and why), and the Prometheus exposition text of /metrics. Both are built on the
 * loop's thread from its views (loop.h) and handed over whole, so the API never reads
 * the loop while it runs. Nothing here logs.
 */
#ifndef VMP_DAEMON_PUBLISH_H
#define VMP_DAEMON_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/decision.h"
#include "daemon/agent.h"
#include "daemon/loop.h"

/* What the runner adds to the loop's own view. */
struct vmp_publish_info {
	int64_t time_ms;           /* wall clock of the cycle, Unix ms */
	bool paused;               /* cycles paused by an operator */
	bool dry_run;
	int64_t cycle_duration_ms; /* of the last cycle (sampling, deciding, acting) */
	uint64_t api_requests, api_refused;   /* served, and refused with 401/403 */
	const struct vmp_agent *agent;        /* agent mode (daemon/agent.h); NULL = single */
};

/*
 * The status object (a new reference):
 *   {"time_ms", "cycle", "paused", "dry_run", "journal_failing",
 *    "hosts": [{"uri", "ok", "fault", "mode", "mem_total_kib", "mem_available_kib",
 *               "cpu_used_cores", "cpu_capacity_cores", "budget_left": {...},
 *               "vms": [{"name", "state", "mem_alloc_kib", "mem_max_kib",
 *                        "mem_demand_kib", "cpu_used_cores", "vcpus", "vcpus_max",
 *                        "migrating", "fault", "mode", "pinned",
 *                        "decisions": [{"policy", "resource", "action", "reason",
 *                                       "from", "to", "acted", "checks", "rejected"}]}]}],
 *    "cluster": vmp_agent_status(): {"mode": "single"}, or in agent mode {"mode": "agents",
 *               "agent", "role", "leader", "term", "members", "etcd", "snapshot_age_s",
 *               "intents", "recent", "why"}}
 * Unknown numbers are null.
 */
json_t *vmp_publish_status(struct vmp_loop *l, const struct vmp_publish_info *in);

/*
 * The Prometheus text exposition (format 0.0.4) of the loop (caller frees); in agent
 * mode with the vmpilot_cluster_* families (doc/cluster.md).
 */
char *vmp_publish_metrics(struct vmp_loop *l, const struct vmp_publish_info *in);

/* One decision as JSON (a new reference), as in the status's "decisions". */
json_t *vmp_publish_decision(const struct vmp_decision *d, const char *policy, bool acted);

#endif
