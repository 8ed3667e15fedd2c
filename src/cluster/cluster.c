/* SPDX-License-Identifier: MIT */
/* The cluster protocol over etcd (cluster.h). Stub bodies: the real protocol follows. */
#include <errno.h>
#include <stddef.h>

#include "cluster/cluster.h"

const char *
vmp_cluster_role_name(enum vmp_cluster_role r)
{
	return NULL;
}

void
vmp_cluster_agent_clear(struct vmp_cluster_agent *a)
{
}

const char *
vmp_cluster_intent_state_name(enum vmp_cluster_intent_state s)
{
	return NULL;
}

int
vmp_cluster_intent_state_parse(const char *name)
{
	return -ENOSYS;
}

void
vmp_cluster_intent_clear(struct vmp_cluster_intent *in)
{
}

void
vmp_cluster_intents_free(struct vmp_cluster_intent *v, size_t n)
{
}

char *
vmp_cluster_agent_encode(const struct vmp_cluster_agent *a)
{
	return NULL;
}

int
vmp_cluster_agent_decode(const char *key, const char *value, size_t len, struct vmp_cluster_agent *ret, char **ret_err)
{
	return -ENOSYS;
}

char *
vmp_cluster_intent_encode(const struct vmp_cluster_intent *in)
{
	return NULL;
}

int
vmp_cluster_intent_decode(const char *key, const char *value, size_t len, struct vmp_cluster_intent *ret, char **ret_err)
{
	return -ENOSYS;
}

void
vmp_cluster_intent_id(int64_t term, uint32_t seq, char *id)
{
}

void
vmp_cluster_snapshot_clear(struct vmp_cluster_snapshot *s)
{
}

int
vmp_cluster_snapshot_decode(const char *prefix, const struct vmp_etcd_range *r, struct vmp_cluster_snapshot *ret)
{
	return -ENOSYS;
}

int
vmp_cluster_open(const struct vmp_cluster_config *cfg, struct vmp_cluster **ret_cl, char **ret_err)
{
	return -ENOSYS;
}

void
vmp_cluster_close(struct vmp_cluster *cl)
{
}

int
vmp_cluster_resign(struct vmp_cluster *cl)
{
	return -ENOSYS;
}

const char *
vmp_cluster_error(const struct vmp_cluster *cl)
{
	return NULL;
}

const char *
vmp_cluster_agent_name(const struct vmp_cluster *cl)
{
	return NULL;
}

int
vmp_cluster_tick(struct vmp_cluster *cl, int64_t now_ms)
{
	return -ENOSYS;
}

enum vmp_cluster_role
vmp_cluster_role(const struct vmp_cluster *cl)
{
	return 0;
}

const char *
vmp_cluster_leader(const struct vmp_cluster *cl)
{
	return NULL;
}

int64_t
vmp_cluster_term(const struct vmp_cluster *cl)
{
	return 0;
}

int64_t
vmp_cluster_lease(const struct vmp_cluster *cl)
{
	return 0;
}

int
vmp_cluster_publish(struct vmp_cluster *cl, const struct vmp_cluster_agent *a)
{
	return -ENOSYS;
}

int
vmp_cluster_snapshot(struct vmp_cluster *cl, int64_t now_ms, struct vmp_cluster_snapshot *ret)
{
	return -ENOSYS;
}

int
vmp_cluster_housekeep(struct vmp_cluster *cl, struct vmp_cluster_snapshot *snap, int64_t now_ms)
{
	return -ENOSYS;
}

int
vmp_cluster_intent_create(struct vmp_cluster *cl, struct vmp_cluster_intent *in, int64_t now_ms)
{
	return -ENOSYS;
}

int
vmp_cluster_intents_mine(struct vmp_cluster *cl, struct vmp_cluster_intent **ret_intents)
{
	return -ENOSYS;
}

int
vmp_cluster_intent_claim(struct vmp_cluster *cl, struct vmp_cluster_intent *in, int64_t now_ms)
{
	return -ENOSYS;
}

int
vmp_cluster_intent_finish(struct vmp_cluster *cl, struct vmp_cluster_intent *in, enum vmp_cluster_intent_state state, const char *error, int64_t now_ms)
{
	return -ENOSYS;
}

json_t *
vmp_cluster_status(const struct vmp_cluster *cl, int64_t now_ms)
{
	return NULL;
}

void
vmp_cluster_counters(const struct vmp_cluster *cl, int64_t now_ms, struct vmp_cluster_counters *ret)
{
}
