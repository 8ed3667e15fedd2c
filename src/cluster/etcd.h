/* SPDX-License-Identifier: MIT */
/*
 * A small etcd v3 client over etcd's JSON gateway (HTTP or HTTPS, libcurl + jansson):
 * key-value put/range/delete, transactions, leases, the maintenance status and
 * password authentication, with several endpoints tried in order and a deadline per
 * request. It is what src/cluster/cluster.c builds the election and the intents on.
 *
 * Conventions: keys are NUL-terminated strings (vmpilot's keys are text); values are
 * byte strings with a length (always followed by a NUL in what the client returns).
 * Every call returns 0 (or a count) on success or a negative errno, and on failure
 * leaves a message in vmp_etcd_error() naming the endpoint and etcd's own error, e.g.
 * "etcd http://10.0.0.1:2379: /v3/kv/txn: etcdserver: request timed out". Errors:
 *   -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT  no endpoint answered within the deadline
 *   -ETIMEDOUT     also: etcd unavailable (no leader, request timed out), and a
 *                  transaction that may have reached a member without an answer: it
 *                  may still commit, and is not repeated on another member
 *   -EACCES        authentication failed, the token was refused, TLS verification failed
 *   -ENOENT        the lease does not exist (keepalive, revoke)
 *   -EPROTO        a reply that is not what the gateway sends (the message says where)
 *   -EMSGSIZE      a reply larger than 256 MiB
 *   -EIO           etcd answered with another error (its code and message are in the text)
 * Requests that are harmless to repeat (reads, puts, deletes, lease calls) move on to
 * the next endpoint within the deadline after a timeout; every request does after a
 * failure that shows it never reached etcd. Nothing here logs. One client may be used by one thread at a time (cluster.c keeps
 * a second client for its keepalive thread).
 *
 * The parsing of the gateway's replies is pure (vmp_etcd_parse_*) so that the fuzz
 * target tests/fuzz/fuzz-etcd.c drives it without a server.
 */
#ifndef VMP_CLUSTER_ETCD_H
#define VMP_CLUSTER_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmp_etcd_options {
	const char *endpoints;     /* comma-separated URLs, e.g. "http://127.0.0.1:2379,https://h2:2379" */
	const char *cacert;        /* PEM file of the CA that signs the servers (NULL: system CAs) */
	const char *cert;          /* PEM client certificate (NULL: none) */
	const char *key;           /* PEM private key of cert */
	const char *user;          /* NULL: no authentication */
	const char *password_file; /* file whose first line is user's password */
	int64_t timeout_ms;        /* deadline of each request, every endpoint tried included (0: 2000) */
};

struct vmp_etcd;

/*
 * Checks the options and prepares a client; it does not contact etcd (a server that is
 * down is an error of the first request, not of the open). Reads the password file now.
 * Returns 0 and *ret_client, or -EINVAL (no endpoint, a URL that is not http(s)://, a
 * user without password file) / the error of reading the password file, with a
 * message in *ret_err (caller frees).
 */
int vmp_etcd_open(const struct vmp_etcd_options *o, struct vmp_etcd **ret_client,
		  char **ret_err);
void vmp_etcd_close(struct vmp_etcd *c); /* accepts NULL */

/* The message of the last failed call ("" if none). Owned by c. */
const char *vmp_etcd_error(const struct vmp_etcd *c);
/* The endpoint that answered last (the first endpoint before any answer). Owned by c. */
const char *vmp_etcd_endpoint(const struct vmp_etcd *c);

/* One key as etcd returns it (mvccpb.KeyValue). */
struct vmp_etcd_kv {
	char *key;
	char *value;               /* NULL for a keys-only range; else NUL-terminated */
	size_t value_len;
	int64_t create_revision;   /* revision of the put that created the key */
	int64_t mod_revision;      /* revision of its last put */
	int64_t version;           /* puts since it was created */
	int64_t lease;             /* 0: none */
};

/* The answer of a range (or of a range inside a transaction). */
struct vmp_etcd_range {
	int64_t revision;          /* the store's revision the read saw */
	int64_t count;             /* keys in the range (all of them, even past limit) */
	bool more;                 /* limit cut the answer */
	struct vmp_etcd_kv *kvs;
	size_t nkvs;
};
void vmp_etcd_range_clear(struct vmp_etcd_range *r); /* frees the keys; r reusable */

struct vmp_etcd_range_req {
	const char *key;
	bool prefix;               /* every key that starts with key */
	int64_t revision;          /* read at this revision (0: the newest) */
	int64_t limit;             /* at most this many keys (0: all) */
	bool keys_only;            /* no values */
	bool count_only;           /* only count */
};

/* Puts key = value (lease 0: none). Returns 0 and the new revision in *ret_revision (may be NULL). */
int vmp_etcd_put(struct vmp_etcd *c, const char *key, const void *value, size_t value_len,
		 int64_t lease, int64_t *ret_revision);
/* Reads a key or a prefix. Returns 0 and *ret (clear it with vmp_etcd_range_clear()). */
int vmp_etcd_range(struct vmp_etcd *c, const struct vmp_etcd_range_req *req,
		   struct vmp_etcd_range *ret);
/* Deletes key or the prefix. Returns the number of keys deleted (0 or more). */
int vmp_etcd_delete(struct vmp_etcd *c, const char *key, bool prefix);

/* Transactions: if every compare holds, the success ops run, else the failure ops. */
enum vmp_etcd_target {
	VMP_ETCD_TARGET_VERSION,
	VMP_ETCD_TARGET_CREATE,    /* create_revision (0: the key does not exist) */
	VMP_ETCD_TARGET_MOD,       /* mod_revision */
	VMP_ETCD_TARGET_VALUE,
	VMP_ETCD_TARGET_LEASE,
	VMP_ETCD_TARGET_MAX,
};

enum vmp_etcd_result {
	VMP_ETCD_EQUAL,
	VMP_ETCD_GREATER,
	VMP_ETCD_LESS,
	VMP_ETCD_NOT_EQUAL,
	VMP_ETCD_RESULT_MAX,
};

struct vmp_etcd_compare {
	const char *key;
	enum vmp_etcd_target target;
	enum vmp_etcd_result result;
	int64_t number;            /* for VERSION, CREATE, MOD, LEASE */
	const void *value;         /* for VALUE */
	size_t value_len;
};

enum vmp_etcd_op_type {
	VMP_ETCD_OP_PUT,
	VMP_ETCD_OP_DELETE,
	VMP_ETCD_OP_RANGE,
	VMP_ETCD_OP_MAX,
};

struct vmp_etcd_op {
	enum vmp_etcd_op_type type;
	const char *key;
	const void *value;         /* PUT */
	size_t value_len;          /* PUT */
	int64_t lease;             /* PUT: 0 none */
	bool prefix;               /* DELETE, RANGE: the whole prefix */
	bool keys_only;            /* RANGE */
};

struct vmp_etcd_txn_result {
	bool succeeded;            /* the compares held: the success ops ran */
	int64_t revision;          /* the store's revision after the transaction */
	size_t nranges;            /* one per op of the branch that ran: the RANGE ops' */
	struct vmp_etcd_range *ranges; /* answers (empty for PUT and DELETE ops) */
};
void vmp_etcd_txn_result_clear(struct vmp_etcd_txn_result *r);

/*
 * Runs the transaction. Returns 0 and *ret (clear it with vmp_etcd_txn_result_clear();
 * ret may be NULL), also when the compares failed: that is ret->succeeded == false,
 * not an error.
 */
int vmp_etcd_txn(struct vmp_etcd *c, const struct vmp_etcd_compare *cmp, size_t ncmp,
		 const struct vmp_etcd_op *success, size_t nsuccess,
		 const struct vmp_etcd_op *failure, size_t nfailure,
		 struct vmp_etcd_txn_result *ret);

/* Leases. Grant: returns 0 and the lease's id in *ret_id (ttl_s in seconds, >= 1). */
int vmp_etcd_lease_grant(struct vmp_etcd *c, int64_t ttl_s, int64_t *ret_id);
/* Renews a lease. Returns 0 and its TTL in *ret_ttl_s (may be NULL), or -ENOENT when it expired. */
int vmp_etcd_lease_keepalive(struct vmp_etcd *c, int64_t id, int64_t *ret_ttl_s);
/* Revokes a lease: every key attached to it is deleted. -ENOENT when it is gone already. */
int vmp_etcd_lease_revoke(struct vmp_etcd *c, int64_t id);

struct vmp_etcd_status {
	char version[32];          /* etcd's version, e.g. "3.4.23" */
	int64_t db_size;
	uint64_t member_id;        /* the member that answered */
	uint64_t leader;           /* its raft leader's member id (0: none) */
	int64_t raft_index;
	int64_t raft_term;
	int64_t revision;          /* header revision */
};
/* The maintenance status of the member that answers. */
int vmp_etcd_status(struct vmp_etcd *c, struct vmp_etcd_status *ret);

/*
 * The pure part, for the client and the fuzz target: each parses one HTTP body of the
 * gateway (len bytes, need not be NUL-terminated) into its result. They return 0, or
 * -EPROTO (not JSON, a field of the wrong type or out of range, bad base64) with a
 * message in err naming the field, or, when the body is etcd's error reply ({"error":
 * ..., "code": ...}), etcd's message in err and the errno of its code (-ENOENT,
 * -EACCES, -ETIMEDOUT as above, else -EIO). Results are untouched on failure; nothing
 * is allocated then.
 */
int vmp_etcd_parse_put(const char *body, size_t len, int64_t *ret_revision,
		       char *err, size_t errsize);
int vmp_etcd_parse_range(const char *body, size_t len, struct vmp_etcd_range *ret,
			 char *err, size_t errsize);
int vmp_etcd_parse_delete(const char *body, size_t len, int64_t *ret_deleted,
			  char *err, size_t errsize);
int vmp_etcd_parse_txn(const char *body, size_t len, struct vmp_etcd_txn_result *ret,
		       char *err, size_t errsize);
int vmp_etcd_parse_lease(const char *body, size_t len, int64_t *ret_id, int64_t *ret_ttl_s,
			 char *err, size_t errsize);
int vmp_etcd_parse_status(const char *body, size_t len, struct vmp_etcd_status *ret,
			  char *err, size_t errsize);
int vmp_etcd_parse_auth(const char *body, size_t len, char **ret_token,
			char *err, size_t errsize);

#endif
