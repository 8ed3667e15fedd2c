/* SPDX-License-Identifier: MIT */
/*
 * The cluster protocol over etcd (doc/cluster.md "Protocol"): every agent holds a
 * lease and publishes its host summary under P/agents/NAME attached to it; one agent
 * at a time is the leader, the holder of P/leader (created in a transaction only when
 * absent, attached to the holder's lease); the leader's term is that key's
 * create_revision, and every write the leader makes compares it, so a deposed leader
 * commits nothing. The leader reads all of P/ at one revision (the snapshot), plans,
 * and writes each move as an intent P/intents/<term>-<seq>; the source agent claims an
 * intent (a transaction that also checks the term is still the leader's), migrates,
 * and records the outcome. P is the configured prefix (default "/vmpilot/").
 *
 * The encoding and decoding of summaries and intents (JSON) are pure functions, apart
 * from the transport, for the unit tests and the fuzz target. Every call that talks to
 * etcd returns 0 (or a count) or a negative errno and leaves a message in
 * vmp_cluster_error(); nothing here logs. A struct vmp_cluster is used by one thread;
 * it may run a keepalive thread of its own (config keepalive_thread).
 */
#ifndef VMP_CLUSTER_CLUSTER_H
#define VMP_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster/etcd.h"
#include "core/pilot.h"

struct vmp_cluster_config {
	struct vmp_etcd_options etcd;
	const char *prefix;        /* key prefix P (NULL: "/vmpilot/"); should end in '/' */
	const char *agent;         /* this agent's name (required; no '/') */
	int64_t lease_ttl_s;       /* TTL of the agent's lease (0: 10) */
	bool keepalive_thread;     /* also renew the lease from a thread every TTL/3 */
	unsigned cancel_after;     /* the leader cancels its pending intents after this many
				    * of its ticks unclaimed (0: 3) */
	unsigned keep_finished;    /* finished intents kept (0: 100); older ones are deleted */
};

enum vmp_cluster_role {
	VMP_CLUSTER_UNAVAILABLE,   /* etcd did not answer, or no lease yet */
	VMP_CLUSTER_FOLLOWER,
	VMP_CLUSTER_LEADER,
	VMP_CLUSTER_ROLE_MAX,
};
/* "unavailable", "follower", "leader". */
const char *vmp_cluster_role_name(enum vmp_cluster_role r);

/* One VM as its agent publishes it. */
struct vmp_cluster_vm {
	char *name;
	char *uuid;                /* may be NULL or "" */
	double mips;               /* its size, as struct vmp_pilot_vm */
	double ram_kib;
	double mem_kib;
	double dirty_kib_s;
	double demand_mips;        /* demand now (already added to hist) */
	bool migrating;
	bool pinned;
	struct vmp_pilot_history hist; /* last, mean, var_step, n are published (not moved_step) */
};

/* One host's summary (P/agents/NAME), what the planner needs of it. */
struct vmp_cluster_agent {
	char *name;
	char *migrate_uri;         /* URI other agents migrate VMs into this host with */
	double capacity_mips;      /* as struct vmp_pilot_host */
	double core_mips;
	double mem_kib;
	double mem_free_kib;
	double mem_short_kib;
	double bw_kib_s;
	double full_watts;
	bool on;
	bool refuses_vms;
	int64_t cycle;             /* the agent's loop cycle */
	int64_t wall_ms;           /* wall clock of the publication (ms since the epoch) */
	struct vmp_cluster_vm *vms;
	size_t nvms;
	/* Filled by decoding, ignored by encoding: */
	int64_t mod_revision;
	int64_t lease;
};
void vmp_cluster_agent_clear(struct vmp_cluster_agent *a); /* frees the strings and vms */

enum vmp_cluster_intent_state {
	VMP_CLUSTER_INTENT_PENDING,
	VMP_CLUSTER_INTENT_RUNNING,
	VMP_CLUSTER_INTENT_DONE,
	VMP_CLUSTER_INTENT_FAILED,
	VMP_CLUSTER_INTENT_CANCELLED,
	VMP_CLUSTER_INTENT_STATE_MAX,
};
/* "pending", "running", "done", "failed", "cancelled". */
const char *vmp_cluster_intent_state_name(enum vmp_cluster_intent_state s);
/* Returns the state named name, or -EINVAL. */
int vmp_cluster_intent_state_parse(const char *name);

/* "<term, 20 digits>-<seq, 8 digits>" and its NUL. */
#define VMP_CLUSTER_ID_MAX 32

/* One planned move (P/intents/ID). */
struct vmp_cluster_intent {
	char id[VMP_CLUSTER_ID_MAX];
	int64_t term;              /* the leader's term that created it */
	char *leader;              /* the leader's agent name */
	char *vm;
	char *from;                /* source agent: the one that claims and executes it */
	char *to;                  /* destination agent */
	char *to_uri;              /* the destination's migrate_uri */
	char *reason;              /* vmp_pilot_reason_name() */
	char *why;                 /* the planner's explanation (vmp_pilot_move_explain()) */
	enum vmp_cluster_intent_state state;
	int64_t created_ms;        /* wall clock, ms since the epoch; 0 = not yet */
	int64_t claimed_ms;
	int64_t finished_ms;
	char *error;               /* why it failed or was cancelled (NULL: none) */
	/* Filled from etcd (decoding, create, claim, finish), ignored by encoding: */
	int64_t mod_revision;
};
void vmp_cluster_intent_clear(struct vmp_cluster_intent *in); /* frees the strings */
void vmp_cluster_intents_free(struct vmp_cluster_intent *v, size_t n); /* accepts NULL */

/*
 * Pure encoding and decoding. Encode returns the JSON text (caller frees). Decode
 * reads one record's value (len bytes) as found under key; it returns 0 and *ret
 * (clear it), or -EINVAL with a message naming the key and the field in *ret_err
 * (caller frees), *ret untouched: a malformed record is an error, never a crash.
 * An intent's id must match its key.
 */
char *vmp_cluster_agent_encode(const struct vmp_cluster_agent *a);
int vmp_cluster_agent_decode(const char *key, const char *value, size_t len,
			     struct vmp_cluster_agent *ret, char **ret_err);
char *vmp_cluster_intent_encode(const struct vmp_cluster_intent *in);
int vmp_cluster_intent_decode(const char *key, const char *value, size_t len,
			      struct vmp_cluster_intent *ret, char **ret_err);
/* Writes "<term %020>-<seq %08>" into id (VMP_CLUSTER_ID_MAX bytes). */
void vmp_cluster_intent_id(int64_t term, uint32_t seq, char *id);

/* All of P/ at one revision. */
struct vmp_cluster_snapshot {
	int64_t revision;          /* the store revision it was read at */
	int64_t read_ms;           /* wall clock of the read */
	char *leader;              /* name in P/leader (NULL: no leader) */
	int64_t term;              /* its create_revision (0: no leader) */
	struct vmp_cluster_agent *agents; /* sorted by name */
	size_t nagents;
	struct vmp_cluster_intent *intents; /* sorted by id (= by term, then sequence) */
	size_t nintents;
	char **errors;             /* one message per record that did not decode, naming its key */
	size_t nerrors;
};
void vmp_cluster_snapshot_clear(struct vmp_cluster_snapshot *s); /* s reusable */

/*
 * Pure: decodes a range of P/ (all keys with values) into *ret. A record that does not
 * decode is left out and named in ret->errors; the others are kept. Unknown keys under
 * P/ are ignored. Returns 0 (always, today); *ret must be zeroed or cleared.
 */
int vmp_cluster_snapshot_decode(const char *prefix, const struct vmp_etcd_range *r,
				struct vmp_cluster_snapshot *ret);

struct vmp_cluster;

/*
 * Prepares the agent's cluster state; does not contact etcd (see vmp_etcd_open()).
 * Returns 0 and *ret_cl, or -EINVAL (no agent name, a bad option) with a message in
 * *ret_err (caller frees).
 */
int vmp_cluster_open(const struct vmp_cluster_config *cfg, struct vmp_cluster **ret_cl,
		     char **ret_err);
/* Stops the keepalive thread and frees; the lease is left to expire. Accepts NULL. */
void vmp_cluster_close(struct vmp_cluster *cl);
/*
 * Revokes the agent's lease (a clean shutdown): its summary and, when it leads,
 * P/leader vanish at once, so another agent takes over without waiting for the TTL.
 */
int vmp_cluster_resign(struct vmp_cluster *cl);

/* The message of the last failed call ("" if none). Owned by cl. */
const char *vmp_cluster_error(const struct vmp_cluster *cl);
const char *vmp_cluster_agent_name(const struct vmp_cluster *cl);

/*
 * Once per cycle: grants the lease when there is none (or it expired: then the agent
 * is a follower at once), renews it, and campaigns: creates P/leader when it is absent
 * (a transaction on its create_revision == 0). Reads who leads and the term. Returns
 * the role (>= 0), or a negative errno when etcd did not answer (the role is then
 * VMP_CLUSTER_UNAVAILABLE and the error says why). now_ms: wall clock.
 */
int vmp_cluster_tick(struct vmp_cluster *cl, int64_t now_ms);

/* The role as of the last call (a failed fenced write makes a leader a follower). */
enum vmp_cluster_role vmp_cluster_role(const struct vmp_cluster *cl);
/* The leader's name and term as last seen (NULL and 0: none). */
const char *vmp_cluster_leader(const struct vmp_cluster *cl);
int64_t vmp_cluster_term(const struct vmp_cluster *cl);
/* The agent's lease id (0: none). */
int64_t vmp_cluster_lease(const struct vmp_cluster *cl);

/*
 * Writes the agent's summary to P/agents/NAME attached to its lease (the name is the
 * agent's, whatever a->name says; a->wall_ms is written as given). Returns 0 or a
 * negative errno (-ENOLCK: no lease yet, tick first).
 */
int vmp_cluster_publish(struct vmp_cluster *cl, const struct vmp_cluster_agent *a);

/*
 * Reads P/ in one range (one revision) and decodes it (vmp_cluster_snapshot_decode());
 * records that do not decode are in ret->errors. Any role may read. Remembered for
 * vmp_cluster_status() and the counters. Returns 0 and *ret (zeroed or cleared
 * before), or a negative errno.
 */
int vmp_cluster_snapshot(struct vmp_cluster *cl, int64_t now_ms,
			 struct vmp_cluster_snapshot *ret);

/*
 * Leader, once per cycle after the snapshot: cancels pending intents of older terms
 * (nobody can claim them) and its own that stayed pending for cancel_after ticks
 * (each a transaction on the intent's mod_revision, fenced on the term), and deletes
 * finished intents (done, failed, cancelled) beyond the newest keep_finished. Updates
 * snap's intents to what it wrote. Returns the number of intents changed or deleted,
 * or a negative errno (-ESTALE: no longer leader, now a follower; -EPERM: not leader).
 */
int vmp_cluster_housekeep(struct vmp_cluster *cl, struct vmp_cluster_snapshot *snap,
			  int64_t now_ms);

/*
 * Leader: writes in as a new pending intent in a transaction fenced on the term (and
 * on the key being new). Reads vm, from, to, to_uri, reason, why; fills id, term,
 * state, created_ms (= now_ms) and mod_revision. Returns 0, -EPERM (not leader),
 * -ESTALE (the fence failed: deposed, now a follower; nothing was written), or
 * another negative errno (etcd did not answer: whether it was written is unknown;
 * the next snapshot shows it).
 */
int vmp_cluster_intent_create(struct vmp_cluster *cl, struct vmp_cluster_intent *in,
			      int64_t now_ms);

/*
 * The intents whose source is this agent and that are pending or running, sorted by
 * id. Returns their count and *ret_intents (vmp_cluster_intents_free()), or a
 * negative errno. A running one that this process is not executing was claimed
 * before a restart (or the claim's answer was lost): never run it again, finish it
 * done when the VM is on the destination, else failed ("interrupted").
 */
int vmp_cluster_intents_mine(struct vmp_cluster *cl, struct vmp_cluster_intent **ret_intents);

/*
 * Source agent: claims a pending intent as read (a transaction comparing its
 * mod_revision AND create_revision(P/leader) == in->term; puts state running,
 * claimed_ms). Only after 0 may the caller migrate. Returns 0 (in updated), -ESTALE
 * (the intent changed or its term is over: do not migrate), -EINVAL (not pending or
 * not this agent's), or another negative errno (do not migrate; if the claim did
 * commit, the intent shows running next time: finish it as the comment above says).
 */
int vmp_cluster_intent_claim(struct vmp_cluster *cl, struct vmp_cluster_intent *in,
			     int64_t now_ms);

/*
 * Records the outcome of a running intent (state DONE or FAILED; error NULL or a
 * message): a transaction on its mod_revision. Returns 0 (in updated), -ESTALE (it
 * changed meanwhile), -EINVAL (a bad state), or a negative errno.
 */
int vmp_cluster_intent_finish(struct vmp_cluster *cl, struct vmp_cluster_intent *in,
			      enum vmp_cluster_intent_state state, const char *error,
			      int64_t now_ms);

/*
 * The cluster view for `vmpilot status --json` and the API (a new reference):
 * {mode: "agents", agent, role, leader, term, lease, members: [{name, age_s, vms}],
 * etcd: {ok, endpoint, error}, snapshot_age_s (null: none yet), intents: {pending,
 * running, done, failed, cancelled}, recent: [the newest 10 intents], errors: [bad
 * records]}, members and intents from the last snapshot.
 */
json_t *vmp_cluster_status(const struct vmp_cluster *cl, int64_t now_ms);

/* Counters for the metrics. */
struct vmp_cluster_counters {
	bool leader;               /* this agent leads */
	bool etcd_up;              /* the last call to etcd succeeded */
	uint64_t leader_changes;   /* times the observed term changed (the first sight excluded) */
	int64_t term;
	double snapshot_age_s;     /* since the last snapshot (-1: none yet) */
	size_t members;            /* agents in the last snapshot */
	size_t intents[VMP_CLUSTER_INTENT_STATE_MAX]; /* in the last snapshot, by state */
};
void vmp_cluster_counters(const struct vmp_cluster *cl, int64_t now_ms,
			  struct vmp_cluster_counters *ret);

#endif
