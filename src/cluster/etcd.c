/* SPDX-License-Identifier: MIT */
/* The etcd v3 JSON gateway client (etcd.h). Stub bodies: the real client follows. */
#include <errno.h>
#include <stddef.h>

#include "cluster/etcd.h"

int
vmp_etcd_open(const struct vmp_etcd_options *o, struct vmp_etcd **ret_client, char **ret_err)
{
	return -ENOSYS;
}

void
vmp_etcd_close(struct vmp_etcd *c)
{
}

const char *
vmp_etcd_error(const struct vmp_etcd *c)
{
	return NULL;
}

const char *
vmp_etcd_endpoint(const struct vmp_etcd *c)
{
	return NULL;
}

void
vmp_etcd_range_clear(struct vmp_etcd_range *r)
{
}

int
vmp_etcd_put(struct vmp_etcd *c, const char *key, const void *value, size_t value_len, int64_t lease, int64_t *ret_revision)
{
	return -ENOSYS;
}

int
vmp_etcd_range(struct vmp_etcd *c, const struct vmp_etcd_range_req *req, struct vmp_etcd_range *ret)
{
	return -ENOSYS;
}

int
vmp_etcd_delete(struct vmp_etcd *c, const char *key, bool prefix)
{
	return -ENOSYS;
}

void
vmp_etcd_txn_result_clear(struct vmp_etcd_txn_result *r)
{
}

int
vmp_etcd_txn(struct vmp_etcd *c, const struct vmp_etcd_compare *cmp, size_t ncmp, const struct vmp_etcd_op *success, size_t nsuccess, const struct vmp_etcd_op *failure, size_t nfailure, struct vmp_etcd_txn_result *ret)
{
	return -ENOSYS;
}

int
vmp_etcd_lease_grant(struct vmp_etcd *c, int64_t ttl_s, int64_t *ret_id)
{
	return -ENOSYS;
}

int
vmp_etcd_lease_keepalive(struct vmp_etcd *c, int64_t id, int64_t *ret_ttl_s)
{
	return -ENOSYS;
}

int
vmp_etcd_lease_revoke(struct vmp_etcd *c, int64_t id)
{
	return -ENOSYS;
}

int
vmp_etcd_status(struct vmp_etcd *c, struct vmp_etcd_status *ret)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_put(const char *body, size_t len, int64_t *ret_revision, char *err, size_t errsize)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_range(const char *body, size_t len, struct vmp_etcd_range *ret, char *err, size_t errsize)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_delete(const char *body, size_t len, int64_t *ret_deleted, char *err, size_t errsize)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_txn(const char *body, size_t len, struct vmp_etcd_txn_result *ret, char *err, size_t errsize)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_lease(const char *body, size_t len, int64_t *ret_id, int64_t *ret_ttl_s, char *err, size_t errsize)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_status(const char *body, size_t len, struct vmp_etcd_status *ret, char *err, size_t errsize)
{
	return -ENOSYS;
}

int
vmp_etcd_parse_auth(const char *body, size_t len, char **ret_token, char *err, size_t errsize)
{
	return -ENOSYS;
}
