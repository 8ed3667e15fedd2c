/* SPDX-License-Identifier: MIT */
/*
 * The etcd client and the cluster protocol (src/cluster/) against real etcd members
 * (tests/lib/etcdharness.h): put/range/txn/delete round trips; a lease that is not
 * renewed takes its agent's key with it; two agents in one process campaign and
 * exactly one wins; a deposed leader's fenced write commits nothing and it reports
 * follower; an intent is claimed once, an intent of an older term never, a running
 * intent survives an agent's restart to be finished, stale and finished intents are
 * cancelled and pruned; a bad record in etcd is named and the others still decode;
 * the client fails over to the next member when the first is killed, and answers
 * with an error within its deadline when no member can (no quorum, all down); TLS
 * with client certificates (a member started here: the harness serves plain HTTP)
 * and password authentication work, and their failures say so.
 * Every wait is on a condition with a deadline; every etcd process is killed by PID.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"
#include "etcdharness.h"
#include "util/util.h"

static char base_dir[] = "/tmp/vmp-etcd-XXXXXX";
static struct vmp_etcd_cluster *one;  /* the one-member cluster most tests share */

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct vmp_etcd *
client(const char *endpoints, int64_t timeout_ms)
{
	struct vmp_etcd_options o = { .endpoints = endpoints, .timeout_ms = timeout_ms };
	struct vmp_etcd *c = NULL;
	char *err = NULL;

	if (vmp_etcd_open(&o, &c, &err) < 0)
		fail_msg("vmp_etcd_open: %s", err);
	return c;
}

static struct vmp_cluster *
agent(const char *prefix, const char *name, int64_t ttl_s, unsigned cancel_after,
      unsigned keep_finished)
{
	struct vmp_cluster_config cfg = {
		.etcd = { .endpoints = vmp_etcd_cluster_endpoints(one), .timeout_ms = 3000 },
		.prefix = prefix,
		.agent = name,
		.lease_ttl_s = ttl_s,
		.cancel_after = cancel_after,
		.keep_finished = keep_finished,
	};
	struct vmp_cluster *cl = NULL;
	char *err = NULL;

	if (vmp_cluster_open(&cfg, &cl, &err) < 0)
		fail_msg("vmp_cluster_open: %s", err);
	return cl;
}

static int
tick(struct vmp_cluster *cl)
{
	int r = vmp_cluster_tick(cl, wall_ms());

	if (r < 0)
		fail_msg("tick of '%s': %s", vmp_cluster_agent_name(cl), vmp_cluster_error(cl));
	return r;
}

/* Number of keys under prefix. */
static int64_t
count_keys(struct vmp_etcd *c, const char *prefix)
{
	struct vmp_etcd_range_req q = { .key = prefix, .prefix = true, .count_only = true };
	struct vmp_etcd_range r = { 0 };
	int64_t n;

	if (vmp_etcd_range(c, &q, &r) < 0)
		fail_msg("count %s: %s", prefix, vmp_etcd_error(c));
	n = r.count;
	vmp_etcd_range_clear(&r);
	return n;
}

static void
test_kv_round_trip(void **state)
{
	struct vmp_etcd *c = client(vmp_etcd_cluster_endpoints(one), 3000);
	struct vmp_etcd_range_req q = { .key = "/kv/", .prefix = true };
	struct vmp_etcd_range r = { 0 };
	struct vmp_etcd_txn_result t = { 0 };
	int64_t rev1 = 0, rev2 = 0;
	const char bin[] = { 'a', '\0', '\xff', 'z' };

	(void)state;
	assert_int_equal(vmp_etcd_put(c, "/kv/a", "one", 3, 0, &rev1), 0);
	assert_true(rev1 > 0);
	assert_int_equal(vmp_etcd_put(c, "/kv/b", bin, sizeof(bin), 0, &rev2), 0);
	assert_true(rev2 > rev1);
	assert_int_equal(vmp_etcd_put(c, "/kw", "outside", 7, 0, NULL), 0);

	/* prefix: both keys, in order, values byte for byte */
	assert_int_equal(vmp_etcd_range(c, &q, &r), 0);
	assert_int_equal(r.nkvs, 2);
	assert_int_equal(r.count, 2);
	assert_string_equal(r.kvs[0].key, "/kv/a");
	assert_int_equal(r.kvs[0].value_len, 3);
	assert_string_equal(r.kvs[0].value, "one");
	assert_int_equal(r.kvs[0].create_revision, rev1);
	assert_int_equal(r.kvs[0].version, 1);
	assert_int_equal(r.kvs[1].value_len, sizeof(bin));
	assert_memory_equal(r.kvs[1].value, bin, sizeof(bin));
	assert_true(r.revision >= rev2);
	vmp_etcd_range_clear(&r);

	/* at the first put's revision only /kv/a existed */
	q.revision = rev1;
	assert_int_equal(vmp_etcd_range(c, &q, &r), 0);
	assert_int_equal(r.nkvs, 1);
	vmp_etcd_range_clear(&r);
	q.revision = 0;

	/* keys only, count only, limit */
	q.keys_only = true;
	assert_int_equal(vmp_etcd_range(c, &q, &r), 0);
	assert_int_equal(r.nkvs, 2);
	assert_null(r.kvs[0].value);
	vmp_etcd_range_clear(&r);
	q.keys_only = false;
	q.limit = 1;
	assert_int_equal(vmp_etcd_range(c, &q, &r), 0);
	assert_int_equal(r.nkvs, 1);
	assert_true(r.more);
	assert_int_equal(r.count, 2);
	vmp_etcd_range_clear(&r);
	assert_int_equal(count_keys(c, "/kv/"), 2);

	/* txn: a compare that holds runs success, one that does not runs failure */
	{
		struct vmp_etcd_compare cmp = { .key = "/kv/a", .target = VMP_ETCD_TARGET_MOD,
						.result = VMP_ETCD_EQUAL, .number = rev1 };
		struct vmp_etcd_compare val = { .key = "/kv/a", .target = VMP_ETCD_TARGET_VALUE,
						.result = VMP_ETCD_EQUAL, .value = "two", .value_len = 3 };
		struct vmp_etcd_op put = { .type = VMP_ETCD_OP_PUT, .key = "/kv/a", .value = "two",
					   .value_len = 3 };
		struct vmp_etcd_op get = { .type = VMP_ETCD_OP_RANGE, .key = "/kv/a" };
		struct vmp_etcd_op ops[2] = { put, get };

		assert_int_equal(vmp_etcd_txn(c, &cmp, 1, ops, 2, &get, 1, &t), 0);
		assert_true(t.succeeded);
		assert_int_equal(t.nranges, 2);
		assert_int_equal(t.ranges[1].nkvs, 1);
		assert_string_equal(t.ranges[1].kvs[0].value, "two");
		vmp_etcd_txn_result_clear(&t);
		/* the same compare again: the revision moved, failure branch reads it */
		assert_int_equal(vmp_etcd_txn(c, &cmp, 1, ops, 2, &get, 1, &t), 0);
		assert_false(t.succeeded);
		assert_int_equal(t.nranges, 1);
		assert_string_equal(t.ranges[0].kvs[0].value, "two");
		assert_int_equal(t.ranges[0].kvs[0].version, 2);
		vmp_etcd_txn_result_clear(&t);
		/* value and version compares */
		assert_int_equal(vmp_etcd_txn(c, &val, 1, NULL, 0, NULL, 0, &t), 0);
		assert_true(t.succeeded);
		vmp_etcd_txn_result_clear(&t);
		val.result = VMP_ETCD_NOT_EQUAL;
		assert_int_equal(vmp_etcd_txn(c, &val, 1, NULL, 0, NULL, 0, NULL), 0);
		cmp = (struct vmp_etcd_compare){ .key = "/kv/a", .target = VMP_ETCD_TARGET_VERSION,
						 .result = VMP_ETCD_GREATER, .number = 1 };
		assert_int_equal(vmp_etcd_txn(c, &cmp, 1, NULL, 0, NULL, 0, &t), 0);
		assert_true(t.succeeded);
		vmp_etcd_txn_result_clear(&t);
	}

	/* a future revision is etcd's error, named with the endpoint */
	q.revision = 1000000;
	assert_int_equal(vmp_etcd_range(c, &q, &r), -EIO);
	assert_non_null(strstr(vmp_etcd_error(c), "future revision"));
	assert_non_null(strstr(vmp_etcd_error(c), vmp_etcd_cluster_endpoint(one, 0)));

	/* delete the prefix: two keys; the key outside stays */
	assert_int_equal(vmp_etcd_delete(c, "/kv/", true), 2);
	assert_int_equal(count_keys(c, "/kv/"), 0);
	assert_int_equal(vmp_etcd_delete(c, "/kw", false), 1);

	/* status */
	{
		struct vmp_etcd_status st;

		assert_int_equal(vmp_etcd_status(c, &st), 0);
		assert_string_equal(st.version, "3.4.23");
		assert_true(st.member_id != 0);
		assert_int_equal(st.leader, st.member_id);
	}
	vmp_etcd_close(c);
}

static void
test_leases(void **state)
{
	struct vmp_etcd *c = client(vmp_etcd_cluster_endpoints(one), 3000);
	int64_t id = 0, ttl = 0;

	(void)state;
	assert_int_equal(vmp_etcd_lease_grant(c, 5, &id), 0);
	assert_int_equal(vmp_etcd_lease_keepalive(c, id, &ttl), 0);
	assert_int_equal(ttl, 5);
	assert_int_equal(vmp_etcd_put(c, "/lease/k", "v", 1, id, NULL), 0);
	assert_int_equal(count_keys(c, "/lease/"), 1);
	assert_int_equal(vmp_etcd_lease_revoke(c, id), 0);
	assert_int_equal(count_keys(c, "/lease/"), 0);
	assert_int_equal(vmp_etcd_lease_keepalive(c, id, &ttl), -ENOENT);
	assert_int_equal(vmp_etcd_lease_revoke(c, id), -ENOENT);
	vmp_etcd_close(c);
}

/* An agent's summary with one VM. */
static void
summary(struct vmp_cluster_agent *a, const char *name, int64_t cycle)
{
	static struct vmp_cluster_vm vm = {
		.name = (char *)"web1", .uuid = (char *)"", .mips = 2000, .ram_kib = 1 << 20,
		.demand_mips = 700, .hist = { .last = 700, .mean = 650, .var_step = 900, .n = 4 },
	};

	memset(a, 0, sizeof(*a));
	a->name = (char *)name;
	a->migrate_uri = (char *)"qemu+tcp://h/system";
	a->capacity_mips = 4000;
	a->core_mips = 1000;
	a->on = true;
	a->cycle = cycle;
	a->wall_ms = wall_ms();
	a->vms = &vm;
	a->nvms = 1;
}

static void
test_lease_expiry_removes_agent(void **state)
{
	struct vmp_etcd *c = client(vmp_etcd_cluster_endpoints(one), 3000);
	struct vmp_cluster *a = agent("/exp/", "a", 2, 0, 0);
	struct vmp_cluster_agent s;
	int64_t t0, gone_ms = -1;

	(void)state;
	tick(a);
	summary(&s, "a", 1);
	assert_int_equal(vmp_cluster_publish(a, &s), 0);
	assert_int_equal(count_keys(c, "/exp/agents/"), 1);
	/* no more renewals: the key goes with the lease (TTL 2 s; deadline 8 s) */
	t0 = vmp_monotonic_ms();
	while (vmp_monotonic_ms() - t0 < 8000) {
		if (count_keys(c, "/exp/agents/") == 0) {
			gone_ms = vmp_monotonic_ms() - t0;
			break;
		}
		usleep(100 * 1000);
	}
	printf("agent key gone %lld ms after the last renewal (TTL 2 s)\n", (long long)gone_ms);
	assert_true(gone_ms >= 1000);
	/* the next tick finds the lease gone and takes a new one */
	tick(a);
	assert_int_equal(vmp_cluster_publish(a, &s), 0);
	assert_int_equal(count_keys(c, "/exp/agents/"), 1);
	vmp_cluster_resign(a);
	assert_int_equal(count_keys(c, "/exp/"), 0);
	vmp_cluster_close(a);
	vmp_etcd_close(c);
}

/* The keepalive thread holds the lease while the loop does not tick (a long migration). */
static void
test_keepalive_thread(void **state)
{
	struct vmp_cluster_config cfg = {
		.etcd = { .endpoints = vmp_etcd_cluster_endpoints(one), .timeout_ms = 3000 },
		.prefix = "/ka/",
		.agent = "a",
		.lease_ttl_s = 2,
		.keepalive_thread = true,
	};
	struct vmp_etcd *c = client(vmp_etcd_cluster_endpoints(one), 3000);
	struct vmp_cluster *a = NULL;
	struct vmp_cluster_agent s;
	int64_t t0, term;
	char *err = NULL;

	(void)state;
	assert_int_equal(vmp_cluster_open(&cfg, &a, &err), 0);
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	term = vmp_cluster_term(a);
	summary(&s, "a", 1);
	assert_int_equal(vmp_cluster_publish(a, &s), 0);
	/* three TTLs without a tick: the summary and the leadership stay the whole time */
	t0 = vmp_monotonic_ms();
	while (vmp_monotonic_ms() - t0 < 6000) {
		assert_int_equal(count_keys(c, "/ka/agents/"), 1);
		assert_int_equal(count_keys(c, "/ka/leader"), 1);
		usleep(200 * 1000);
	}
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	assert_int_equal(vmp_cluster_term(a), term);
	/* the lease revoked behind its back: the next tick leads again, in a new term */
	assert_int_equal(vmp_etcd_lease_revoke(c, vmp_cluster_lease(a)), 0);
	assert_int_equal(count_keys(c, "/ka/"), 0);
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	assert_true(vmp_cluster_term(a) > term);
	vmp_cluster_resign(a);
	vmp_cluster_close(a);
	vmp_etcd_close(c);
}

static void
test_election_one_winner(void **state)
{
	struct vmp_cluster *a = agent("/el/", "a", 10, 0, 0);
	struct vmp_cluster *b = agent("/el/", "b", 10, 0, 0);
	int ra, rb, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		ra = tick(a);
		rb = tick(b);
		assert_true((ra == VMP_CLUSTER_LEADER) != (rb == VMP_CLUSTER_LEADER));
		assert_int_equal(vmp_cluster_term(a), vmp_cluster_term(b));
		assert_string_equal(vmp_cluster_leader(a), vmp_cluster_leader(b));
	}
	assert_int_equal(ra, VMP_CLUSTER_LEADER);   /* a campaigned first */
	assert_string_equal(vmp_cluster_leader(b), "a");
	assert_true(vmp_cluster_term(a) > 0);
	vmp_cluster_resign(a);
	vmp_cluster_resign(b);
	vmp_cluster_close(a);
	vmp_cluster_close(b);
}

static void
make_intent(struct vmp_cluster_intent *in, const char *vm, const char *from, const char *to)
{
	memset(in, 0, sizeof(*in));
	in->vm = (char *)vm;
	in->from = (char *)from;
	in->to = (char *)to;
	in->to_uri = (char *)"qemu+tcp://to/system";
	in->reason = (char *)"relieve";
	in->why = (char *)"relieve: host a at 104 % of capacity";
}

static void
test_fenced_write_after_expiry(void **state)
{
	struct vmp_cluster *a = agent("/fence/", "a", 2, 0, 0);
	struct vmp_cluster *b = agent("/fence/", "b", 2, 0, 0);
	struct vmp_cluster_snapshot snap = { 0 };
	struct vmp_cluster_intent in;
	int64_t t0, term_a;
	bool took_over = false;
	json_t *st;

	(void)state;
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	assert_int_equal(tick(b), VMP_CLUSTER_FOLLOWER);
	term_a = vmp_cluster_term(a);
	make_intent(&in, "web1", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);
	assert_int_equal(in.term, term_a);
	assert_int_equal(in.state, VMP_CLUSTER_INTENT_PENDING);

	/* a stops renewing (as if paused); b keeps ticking until it leads */
	t0 = vmp_monotonic_ms();
	while (vmp_monotonic_ms() - t0 < 10000) {
		if (tick(b) == VMP_CLUSTER_LEADER) {
			took_over = true;
			break;
		}
		usleep(200 * 1000);
	}
	printf("b leads %lld ms after a's last renewal (TTL 2 s)\n",
	       (long long)(vmp_monotonic_ms() - t0));
	assert_true(took_over);
	assert_true(vmp_cluster_term(b) > term_a);

	/* a still believes it leads: its fenced write commits nothing, it is a follower */
	assert_int_equal(vmp_cluster_role(a), VMP_CLUSTER_LEADER);
	make_intent(&in, "web2", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), -ESTALE);
	assert_non_null(strstr(vmp_cluster_error(a), "is over"));
	assert_int_equal(vmp_cluster_role(a), VMP_CLUSTER_FOLLOWER);
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	assert_int_equal(snap.nintents, 1);               /* web1 only */
	assert_string_equal(snap.intents[0].vm, "web1");
	assert_string_equal(snap.leader, "b");
	/* a ticks again: a new lease, and it follows b */
	assert_int_equal(tick(a), VMP_CLUSTER_FOLLOWER);
	assert_string_equal(vmp_cluster_leader(a), "b");
	st = vmp_cluster_status(a, wall_ms());
	assert_string_equal(json_string_value(json_object_get(st, "role")), "follower");
	assert_string_equal(json_string_value(json_object_get(st, "leader")), "b");
	json_decref(st);
	{
		struct vmp_cluster_counters k;

		vmp_cluster_counters(b, wall_ms(), &k);
		assert_true(k.leader);
		assert_int_equal(k.leader_changes, 1);   /* a's term, then b's */
		assert_true(k.etcd_up);
		assert_int_equal(k.intents[VMP_CLUSTER_INTENT_PENDING], 1);
	}
	vmp_cluster_snapshot_clear(&snap);
	vmp_cluster_resign(a);
	vmp_cluster_resign(b);
	vmp_cluster_close(a);
	vmp_cluster_close(b);
}

static void
test_claim_once(void **state)
{
	struct vmp_cluster *a = agent("/claim/", "a", 10, 0, 0);
	struct vmp_cluster *b = agent("/claim/", "b", 10, 0, 0);
	struct vmp_cluster_intent in, *mine = NULL, stale;
	struct vmp_cluster_snapshot snap = { 0 };
	int n;

	(void)state;
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	assert_int_equal(tick(b), VMP_CLUSTER_FOLLOWER);
	make_intent(&in, "web1", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);
	/* a follower may not create intents */
	make_intent(&in, "web9", "a", "b");
	assert_int_equal(vmp_cluster_intent_create(b, &in, wall_ms()), -EPERM);

	n = vmp_cluster_intents_mine(b, &mine);
	assert_int_equal(n, 1);
	assert_string_equal(mine[0].vm, "web1");
	stale = mine[0];                          /* a second reader's copy, as read */
	/* the leader is not the source: it may not claim */
	assert_int_equal(vmp_cluster_intent_claim(a, &mine[0], wall_ms()), -EINVAL);
	assert_int_equal(vmp_cluster_intent_claim(b, &mine[0], wall_ms()), 0);
	assert_int_equal(mine[0].state, VMP_CLUSTER_INTENT_RUNNING);
	/* the same intent as read before the claim: the second claim fails */
	assert_int_equal(vmp_cluster_intent_claim(b, &stale, wall_ms()), -ESTALE);
	assert_non_null(strstr(vmp_cluster_error(b), "changed"));
	assert_int_equal(vmp_cluster_intent_finish(b, &mine[0], VMP_CLUSTER_INTENT_DONE, NULL,
						   wall_ms()), 0);
	assert_int_equal(vmp_cluster_snapshot(a, wall_ms(), &snap), 0);
	assert_int_equal(snap.nintents, 1);
	assert_int_equal(snap.intents[0].state, VMP_CLUSTER_INTENT_DONE);
	assert_true(snap.intents[0].claimed_ms > 0 && snap.intents[0].finished_ms > 0);
	assert_int_equal(snap.nerrors, 0);
	vmp_cluster_snapshot_clear(&snap);
	vmp_cluster_intents_free(mine, (size_t)n);
	/* a finished intent is no longer the agent's business */
	assert_int_equal(vmp_cluster_intents_mine(b, &mine), 0);
	vmp_cluster_intents_free(mine, 0);
	vmp_cluster_resign(a);
	vmp_cluster_resign(b);
	vmp_cluster_close(a);
	vmp_cluster_close(b);
}

static void
test_older_term_and_housekeeping(void **state)
{
	struct vmp_cluster *a = agent("/old/", "a", 10, 2, 1);
	struct vmp_cluster *b = agent("/old/", "b", 10, 2, 1);
	struct vmp_cluster_intent in, *mine = NULL;
	struct vmp_cluster_snapshot snap = { 0 };
	int n, i;

	(void)state;
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	make_intent(&in, "web1", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);
	/* a leaves (clean shutdown): b leads a new term at once */
	assert_int_equal(vmp_cluster_resign(a), 0);
	assert_int_equal(tick(b), VMP_CLUSTER_LEADER);
	n = vmp_cluster_intents_mine(b, &mine);
	assert_int_equal(n, 1);
	assert_true(mine[0].term < vmp_cluster_term(b));
	assert_int_equal(vmp_cluster_intent_claim(b, &mine[0], wall_ms()), -ESTALE);
	assert_non_null(strstr(vmp_cluster_error(b), "is over"));
	vmp_cluster_intents_free(mine, (size_t)n);

	/* b's own intent from b to a, never claimed (a is gone) */
	make_intent(&in, "web2", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(b, &in, wall_ms()), 0);
	/* housekeeping: the old term's intent is cancelled now, b's after 2 ticks */
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	assert_int_equal(vmp_cluster_housekeep(b, &snap, wall_ms()), 1);
	assert_int_equal(snap.intents[0].state, VMP_CLUSTER_INTENT_CANCELLED);
	assert_int_equal(snap.intents[1].state, VMP_CLUSTER_INTENT_PENDING);
	vmp_cluster_snapshot_clear(&snap);
	for (i = 0; i < 2; i++)
		assert_int_equal(tick(b), VMP_CLUSTER_LEADER);
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	/* web2 cancelled, then only the newest finished intent is kept */
	assert_int_equal(vmp_cluster_housekeep(b, &snap, wall_ms()), 2);
	assert_int_equal(snap.nintents, 1);
	assert_string_equal(snap.intents[0].vm, "web2");
	assert_int_equal(snap.intents[0].state, VMP_CLUSTER_INTENT_CANCELLED);
	assert_non_null(strstr(snap.intents[0].error, "not claimed"));
	vmp_cluster_snapshot_clear(&snap);
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	assert_int_equal(snap.nintents, 1);
	vmp_cluster_snapshot_clear(&snap);
	/* a follower does not keep house */
	assert_int_equal(tick(a), VMP_CLUSTER_FOLLOWER);
	assert_int_equal(vmp_cluster_housekeep(a, &snap, wall_ms()), -EPERM);
	vmp_cluster_resign(a);
	vmp_cluster_resign(b);
	vmp_cluster_close(a);
	vmp_cluster_close(b);
}

static void
test_restart_finds_running(void **state)
{
	struct vmp_cluster *a = agent("/rst/", "a", 10, 0, 0);
	struct vmp_cluster *b = agent("/rst/", "b", 10, 0, 0);
	struct vmp_cluster_intent in, *mine = NULL;
	int n;

	(void)state;
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	assert_int_equal(tick(b), VMP_CLUSTER_FOLLOWER);
	make_intent(&in, "web1", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);
	n = vmp_cluster_intents_mine(b, &mine);
	assert_int_equal(n, 1);
	assert_int_equal(vmp_cluster_intent_claim(b, &mine[0], wall_ms()), 0);
	vmp_cluster_intents_free(mine, (size_t)n);
	/* b dies mid-migration and starts again: it finds its running intent */
	vmp_cluster_close(b);
	b = agent("/rst/", "b", 10, 0, 0);
	assert_int_equal(tick(b), VMP_CLUSTER_FOLLOWER);
	n = vmp_cluster_intents_mine(b, &mine);
	assert_int_equal(n, 1);
	assert_int_equal(mine[0].state, VMP_CLUSTER_INTENT_RUNNING);
	/* never run again: claiming it is refused, finishing it as interrupted is not */
	assert_int_equal(vmp_cluster_intent_claim(b, &mine[0], wall_ms()), -EINVAL);
	assert_int_equal(vmp_cluster_intent_finish(b, &mine[0], VMP_CLUSTER_INTENT_FAILED,
						   "interrupted", wall_ms()), 0);
	vmp_cluster_intents_free(mine, (size_t)n);
	assert_int_equal(vmp_cluster_intents_mine(b, &mine), 0);
	vmp_cluster_intents_free(mine, 0);
	vmp_cluster_resign(a);
	vmp_cluster_resign(b);
	vmp_cluster_close(a);
	vmp_cluster_close(b);
}

static void
test_bad_records(void **state)
{
	struct vmp_etcd *c = client(vmp_etcd_cluster_endpoints(one), 3000);
	struct vmp_cluster *a = agent("/bad/", "a", 10, 0, 0);
	struct vmp_cluster_snapshot snap = { 0 };
	struct vmp_cluster_agent s;
	const char *junk = "{\"name\": \"evil\", \"capacity_mips\": \"lots\"}";
	json_t *st;

	(void)state;
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	summary(&s, "a", 1);
	assert_int_equal(vmp_cluster_publish(a, &s), 0);
	assert_int_equal(vmp_etcd_put(c, "/bad/agents/evil", junk, strlen(junk), 0, NULL), 0);
	assert_int_equal(vmp_etcd_put(c, "/bad/intents/zzz", "not json", 8, 0, NULL), 0);
	assert_int_equal(vmp_cluster_snapshot(a, wall_ms(), &snap), 0);
	assert_int_equal(snap.nagents, 1);
	assert_string_equal(snap.agents[0].name, "a");
	assert_int_equal(snap.agents[0].nvms, 1);
	assert_int_equal(snap.agents[0].vms[0].hist.n, 4);
	assert_int_equal(snap.nerrors, 2);
	assert_non_null(strstr(snap.errors[0], "/bad/agents/evil"));
	assert_non_null(strstr(snap.errors[0], "capacity_mips"));
	assert_non_null(strstr(snap.errors[1], "/bad/intents/zzz"));
	st = vmp_cluster_status(a, wall_ms());
	assert_int_equal(json_array_size(json_object_get(st, "members")), 1);
	assert_int_equal(json_array_size(json_object_get(st, "errors")), 2);
	assert_true(json_is_true(json_object_get(json_object_get(st, "etcd"), "ok")));
	json_decref(st);
	vmp_cluster_snapshot_clear(&snap);
	assert_true(vmp_etcd_delete(c, "/bad/", true) >= 2);
	vmp_cluster_resign(a);
	vmp_cluster_close(a);
	vmp_etcd_close(c);
}

/*
 * Waits (deadline 5 s) until every thread of pid is stopped: kill(SIGSTOP) returns
 * before a busy multi-threaded process has stopped, and a request could still be served.
 */
static void
wait_stopped(pid_t pid)
{
	int64_t t0 = vmp_monotonic_ms();
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	while (vmp_monotonic_ms() - t0 < 5000) {
		DIR *d = opendir(path);
		struct dirent *e;
		int running = 0;

		assert_non_null(d);
		while ((e = readdir(d))) {
			char stat[600], buf[512], *p;
			FILE *f;

			if (e->d_name[0] == '.')
				continue;
			snprintf(stat, sizeof(stat), "%s/%s/stat", path, e->d_name);
			f = fopen(stat, "r");
			if (!f)
				continue;
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
			/* the state is the field after the command name's ')' */
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
				running++;
		}
		closedir(d);
		if (running == 0)
			return;
		usleep(10 * 1000);
	}
	fail_msg("process %d did not stop within 5 s", (int)pid);
}

/* Three members: failover when the first dies; an error within the deadline without quorum. */
static void
test_failover_and_no_quorum(void **state)
{
	struct vmp_etcd_cluster *three = NULL;
	struct vmp_etcd *c;
	char dir[300];
	const char *ep0;
	int64_t t0, took;
	int r;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/three", base_dir);
	assert_int_equal(vmp_etcd_cluster_start(dir, 3, &three), 0);
	/* a longer deadline while the two left elect a leader if the first one led */
	c = client(vmp_etcd_cluster_endpoints(three), 5000);
	ep0 = vmp_etcd_cluster_endpoint(three, 0);
	assert_int_equal(vmp_etcd_put(c, "/fo/k", "1", 1, 0, NULL), 0);
	assert_string_equal(vmp_etcd_endpoint(c), ep0);

	/* member 0 hangs (SIGSTOP): a put times out there and is answered by another */
	assert_int_equal(vmp_etcd_cluster_pause(three, 0, 1), 0);
	wait_stopped(vmp_etcd_cluster_pid(three, 0));
	r = vmp_etcd_put(c, "/fo/k", "p", 1, 0, NULL);
	if (r < 0)
		fail_msg("put with member 0 paused: %s", vmp_etcd_error(c));
	assert_string_not_equal(vmp_etcd_endpoint(c), ep0);
	assert_int_equal(vmp_etcd_cluster_pause(three, 0, 0), 0);
	/*
	 * A transaction is not repeated on another member once it may have arrived: the
	 * member that answered last hangs, the transaction fails saying so, the next one
	 * goes to another member (after the two left agree on a leader).
	 */
	{
		struct vmp_etcd_compare cmp = { .key = "/fo/t", .target = VMP_ETCD_TARGET_CREATE,
						.result = VMP_ETCD_EQUAL, .number = 0 };
		struct vmp_etcd_op put = { .type = VMP_ETCD_OP_PUT, .key = "/fo/t", .value = "1",
					   .value_len = 1 };
		struct vmp_etcd_txn_result t = { 0 };
		unsigned hung = 0, other;

		while (hung < 3 && strcmp(vmp_etcd_cluster_endpoint(three, hung),
					  vmp_etcd_endpoint(c)) != 0)
			hung++;
		assert_true(hung < 3);
		other = (hung + 1) % 3;
		assert_int_equal(vmp_etcd_cluster_pause(three, hung, 1), 0);
		wait_stopped(vmp_etcd_cluster_pid(three, hung));
		r = vmp_etcd_txn(c, &cmp, 1, &put, 1, NULL, 0, &t);
		printf("txn to a hung member: %d: %s\n", r, vmp_etcd_error(c));
		assert_int_equal(r, -ETIMEDOUT);
		assert_non_null(strstr(vmp_etcd_error(c), "not repeated"));
		assert_string_equal(vmp_etcd_endpoint(c), vmp_etcd_cluster_endpoint(three, other));
		t0 = vmp_monotonic_ms();
		while (vmp_etcd_cluster_member_health(three, other, 1000) != 1 &&
		       vmp_monotonic_ms() - t0 < 10000)
			usleep(100 * 1000);
		r = vmp_etcd_txn(c, &cmp, 1, &put, 1, NULL, 0, &t);
		if (r < 0)
			fail_msg("txn after the hung member: %s", vmp_etcd_error(c));
		/* the first never committed: the member hung before it could forward it */
		assert_true(t.succeeded);
		vmp_etcd_txn_result_clear(&t);
		assert_int_equal(vmp_etcd_cluster_pause(three, hung, 0), 0);
	}

	/* member 0 killed: connection refused, the next member answers */
	assert_int_equal(vmp_etcd_cluster_kill(three, 0), 0);
	r = vmp_etcd_put(c, "/fo/k", "2", 1, 0, NULL);
	if (r < 0)
		fail_msg("put with member 0 killed: %s", vmp_etcd_error(c));
	assert_string_not_equal(vmp_etcd_endpoint(c), ep0);
	printf("failover: answered by %s\n", vmp_etcd_endpoint(c));

	/* two of three down: no quorum; the put fails within its 2 s deadline */
	vmp_etcd_close(c);
	c = client(vmp_etcd_cluster_endpoints(three), 2000);
	assert_int_equal(vmp_etcd_cluster_kill(three, 1), 0);
	t0 = vmp_monotonic_ms();
	r = vmp_etcd_put(c, "/fo/k", "3", 1, 0, NULL);
	took = vmp_monotonic_ms() - t0;
	printf("no quorum: %d after %lld ms: %s\n", r, (long long)took, vmp_etcd_error(c));
	assert_true(r < 0);
	assert_true(took < 2000 + 500);
	assert_non_null(strstr(vmp_etcd_error(c), "etcd"));

	/* all down: connection refused everywhere, at once, naming every endpoint */
	assert_int_equal(vmp_etcd_cluster_kill(three, 2), 0);
	t0 = vmp_monotonic_ms();
	r = vmp_etcd_put(c, "/fo/k", "4", 1, 0, NULL);
	took = vmp_monotonic_ms() - t0;
	printf("all down: %d after %lld ms: %s\n", r, (long long)took, vmp_etcd_error(c));
	assert_true(r < 0);
	assert_true(took < 2000 + 500);
	assert_non_null(strstr(vmp_etcd_error(c), vmp_etcd_cluster_endpoint(three, 0)));
	assert_non_null(strstr(vmp_etcd_error(c), vmp_etcd_cluster_endpoint(three, 2)));
	vmp_etcd_close(c);
	vmp_etcd_cluster_stop(three);
}

/* etcd away for a moment (the member paused): unavailable, then the same term goes on. */
static void
test_outage_keeps_term(void **state)
{
	struct vmp_cluster_config cfg = {
		.etcd = { .endpoints = vmp_etcd_cluster_endpoints(one), .timeout_ms = 500 },
		.prefix = "/outage/",
		.agent = "a",
		.lease_ttl_s = 10,
	};
	struct vmp_cluster *a = NULL;
	struct vmp_cluster_intent in;
	struct vmp_cluster_counters k;
	int64_t term;
	char *err = NULL;
	int r;

	(void)state;
	assert_int_equal(vmp_cluster_open(&cfg, &a, &err), 0);
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	term = vmp_cluster_term(a);
	make_intent(&in, "web1", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);
	assert_string_equal(in.id + 21, "00000001");

	assert_int_equal(vmp_etcd_cluster_pause(one, 0, 1), 0);
	r = vmp_cluster_tick(a, wall_ms());
	assert_int_equal(vmp_etcd_cluster_pause(one, 0, 0), 0);
	printf("paused member: %d: %s\n", r, vmp_cluster_error(a));
	assert_true(r < 0);
	assert_int_equal(vmp_cluster_role(a), VMP_CLUSTER_UNAVAILABLE);
	vmp_cluster_counters(a, wall_ms(), &k);
	assert_false(k.etcd_up);

	/* back within the lease: still the leader of the same term, ids go on */
	assert_int_equal(tick(a), VMP_CLUSTER_LEADER);
	assert_int_equal(vmp_cluster_term(a), term);
	make_intent(&in, "web2", "b", "a");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);
	assert_string_equal(in.id + 21, "00000002");
	vmp_cluster_counters(a, wall_ms(), &k);
	assert_true(k.etcd_up);
	assert_int_equal(k.leader_changes, 0);
	vmp_cluster_resign(a);
	vmp_cluster_close(a);
}

/* The cluster layer with etcd down: unavailable, with the reason, within the deadline. */
static void
test_cluster_unavailable(void **state)
{
	struct vmp_cluster_config cfg = {
		.etcd = { .endpoints = "http://127.0.0.1:1", .timeout_ms = 1000 },
		.agent = "lonely",
	};
	struct vmp_cluster *cl = NULL;
	struct vmp_cluster_counters k;
	char *err = NULL;
	json_t *st;
	int64_t t0;

	(void)state;
	assert_int_equal(vmp_cluster_open(&cfg, &cl, &err), 0);
	t0 = vmp_monotonic_ms();
	assert_true(vmp_cluster_tick(cl, wall_ms()) < 0);
	assert_true(vmp_monotonic_ms() - t0 < 1500);
	assert_int_equal(vmp_cluster_role(cl), VMP_CLUSTER_UNAVAILABLE);
	assert_non_null(strstr(vmp_cluster_error(cl), "127.0.0.1:1"));
	vmp_cluster_counters(cl, wall_ms(), &k);
	assert_false(k.etcd_up);
	assert_false(k.leader);
	st = vmp_cluster_status(cl, wall_ms());
	assert_string_equal(json_string_value(json_object_get(st, "role")), "unavailable");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(st, "etcd"),
								 "error")), "127.0.0.1:1"));
	json_decref(st);
	vmp_cluster_close(cl);
}

/* ---- TLS and authentication ---- */

/* Two free loopback ports (bound, read back, closed). */
static void
free_ports(unsigned *p0, unsigned *p1)
{
	unsigned *out[2] = { p0, p1 };
	int fds[2], i;

	for (i = 0; i < 2; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);

		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(bind(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(fds[i], (struct sockaddr *)&a, &len), 0);
		*out[i] = ntohs(a.sin_port);
	}
	close(fds[0]);
	close(fds[1]);
}

/*
 * Starts one etcd member serving clients over TLS only, requiring client certificates
 * signed by dir/ca.pem (the harness starts plain HTTP members only). Returns its PID;
 * it dies with the test (PDEATHSIG) and is killed by PID at the end of the test.
 */
static pid_t
start_tls_etcd(const char *dir, char *url, size_t urlsize)
{
	char curls[64], purls[64], ic[128], data[300], cert[300], key[300], ca[300], log[300];
	unsigned cport, pport;
	pid_t parent = getpid(), pid;

	free_ports(&cport, &pport);
	snprintf(curls, sizeof(curls), "https://127.0.0.1:%u", cport);
	snprintf(purls, sizeof(purls), "http://127.0.0.1:%u", pport);
	snprintf(ic, sizeof(ic), "tls=%s", purls);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(cert, sizeof(cert), "%s/etcd.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(log, sizeof(log), "%s/etcd.log", dir);
	snprintf(url, urlsize, "%s", curls);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(VMP_ETCD_BINARY, VMP_ETCD_BINARY, "--name", "tls", "--data-dir", data,
		      "--listen-client-urls", curls, "--advertise-client-urls", curls,
		      "--listen-peer-urls", purls, "--initial-advertise-peer-urls", purls,
		      "--initial-cluster", ic, "--cert-file", cert, "--key-file", key,
		      "--trusted-ca-file", ca, "--client-cert-auth",
		      "--heartbeat-interval", "100", "--election-timeout", "500", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void
stop_pid(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static struct vmp_etcd *
tls_client(const char *url, const char *dir, const char *ca, const char *who)
{
	char cacert[300], cert[300], key[300];
	struct vmp_etcd_options o = { .endpoints = url, .timeout_ms = 3000 };
	struct vmp_etcd *c = NULL;
	char *err = NULL;

	snprintf(cacert, sizeof(cacert), "%s/%s", dir, ca ? ca : "");
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, who ? who : "");
	snprintf(key, sizeof(key), "%s/%s.key", dir, who ? who : "");
	o.cacert = ca ? cacert : NULL;
	o.cert = who ? cert : NULL;
	o.key = who ? key : NULL;
	if (vmp_etcd_open(&o, &c, &err) < 0)
		fail_msg("vmp_etcd_open: %s", err);
	return c;
}

static void
test_tls(void **state)
{
	char dir[128], cmd[700], url[64];
	struct vmp_etcd *c;
	struct vmp_etcd_status st;
	struct vmp_etcd_range_req q = { .key = "/tls/k" };
	struct vmp_etcd_range r = { 0 };
	int64_t t0;
	pid_t pid;
	int rc = -1;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tls", base_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(cmd, sizeof(cmd), "'%s/lib/make-certs.sh' '%s'", getenv("VMP_TESTS_DIR"), dir);
	assert_int_equal(system(cmd), 0);
	/*
	 * etcd's gateway dials its own gRPC port with the server certificate, so with
	 * --client-cert-auth that certificate must be good for clients too: a server
	 * certificate for both uses, signed by the same CA.
	 */
	snprintf(cmd, sizeof(cmd), "cd '%s' && printf 'cn = localhost\\ndns_name = localhost\\n"
		 "ip_address = 127.0.0.1\\ntls_www_server\\ntls_www_client\\nsigning_key\\n"
		 "encryption_key\\nexpiration_days = 2\\n' > etcd.tmpl && certtool "
		 "--generate-certificate --load-privkey server.key --load-ca-certificate ca.pem "
		 "--load-ca-privkey ca.key --template etcd.tmpl --outfile etcd.pem >/dev/null 2>&1",
		 dir);
	assert_int_equal(system(cmd), 0);
	pid = start_tls_etcd(dir, url, sizeof(url));

	/* CA and a client certificate the CA signed: served (wait for it to come up) */
	c = tls_client(url, dir, "ca.pem", "admin");
	t0 = vmp_monotonic_ms();
	while (vmp_monotonic_ms() - t0 < VMP_ETCD_START_TIMEOUT_MS) {
		rc = vmp_etcd_status(c, &st);
		if (rc == 0)
			break;
		usleep(100 * 1000);
	}
	if (rc < 0)
		fail_msg("etcd over TLS did not answer: %s", vmp_etcd_error(c));
	assert_int_equal(vmp_etcd_put(c, "/tls/k", "secret", 6, 0, NULL), 0);
	assert_int_equal(vmp_etcd_range(c, &q, &r), 0);
	assert_int_equal(r.nkvs, 1);
	assert_string_equal(r.kvs[0].value, "secret");
	vmp_etcd_range_clear(&r);
	vmp_etcd_close(c);

	/* no client certificate, one the CA never signed, a server the CA does not know */
	c = tls_client(url, dir, "ca.pem", NULL);
	rc = vmp_etcd_put(c, "/tls/k", "x", 1, 0, NULL);
	printf("no client certificate: %d: %s\n", rc, vmp_etcd_error(c));
	assert_true(rc < 0);
	assert_non_null(strstr(vmp_etcd_error(c), url));
	vmp_etcd_close(c);
	c = tls_client(url, dir, "ca.pem", "rogue");
	rc = vmp_etcd_put(c, "/tls/k", "x", 1, 0, NULL);
	printf("rogue client certificate: %d: %s\n", rc, vmp_etcd_error(c));
	assert_true(rc < 0);
	vmp_etcd_close(c);
	c = tls_client(url, dir, NULL, "admin");
	rc = vmp_etcd_put(c, "/tls/k", "x", 1, 0, NULL);
	printf("server not verified: %d: %s\n", rc, vmp_etcd_error(c));
	assert_int_equal(rc, -EACCES);
	vmp_etcd_close(c);
	stop_pid(pid);
}

/* A raw POST to a gateway path (the administration the client does not need). */
static void
admin_post(const char *endpoint, const char *path, const char *body)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "curl -sf -m 5 -o /dev/null '%s%s' -d '%s'", endpoint, path, body);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

static void
test_auth(void **state)
{
	struct vmp_etcd_cluster *c1 = NULL;
	char dir[300], pw[300], bad[300];
	struct vmp_etcd_options o = { .user = "root", .timeout_ms = 3000 };
	struct vmp_etcd *c = NULL;
	struct vmp_cluster_config cfg = { .agent = "a" };
	struct vmp_cluster *cl = NULL;
	char *err = NULL;
	const char *ep;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/auth", base_dir);
	assert_int_equal(vmp_etcd_cluster_start(dir, 1, &c1), 0);
	ep = vmp_etcd_cluster_endpoint(c1, 0);
	/* user root, password s3cret, then authentication on */
	admin_post(ep, "/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"s3cret\"}");
	admin_post(ep, "/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
	admin_post(ep, "/v3/auth/enable", "{}");
	snprintf(pw, sizeof(pw), "%s/pw", base_dir);
	snprintf(bad, sizeof(bad), "%s/bad", base_dir);
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs("s3cret\n", f);
	fclose(f);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("guess\n", f);
	fclose(f);

	o.endpoints = ep;
	o.password_file = pw;
	assert_int_equal(vmp_etcd_open(&o, &c, &err), 0);
	assert_int_equal(vmp_etcd_put(c, "/auth/k", "v", 1, 0, NULL), 0);
	assert_int_equal(vmp_etcd_put(c, "/auth/k", "w", 1, 0, NULL), 0);
	vmp_etcd_close(c);
	/* a wrong password, and no user at all: refused, saying so */
	o.password_file = bad;
	assert_int_equal(vmp_etcd_open(&o, &c, &err), 0);
	assert_int_equal(vmp_etcd_put(c, "/auth/k", "v", 1, 0, NULL), -EACCES);
	assert_non_null(strstr(vmp_etcd_error(c), "authentication failed"));
	assert_non_null(strstr(vmp_etcd_error(c), ep));
	vmp_etcd_close(c);
	o.user = NULL;
	o.password_file = NULL;
	assert_int_equal(vmp_etcd_open(&o, &c, &err), 0);
	assert_int_equal(vmp_etcd_put(c, "/auth/k", "v", 1, 0, NULL), -EACCES);
	vmp_etcd_close(c);
	/* a user without a password file is a configuration error */
	o.user = "root";
	assert_int_equal(vmp_etcd_open(&o, &c, &err), -EINVAL);
	assert_non_null(strstr(err, "password file"));
	free(err);

	/* the protocol over an authenticated client */
	cfg.etcd = (struct vmp_etcd_options){ .endpoints = ep, .user = "root",
					      .password_file = pw, .timeout_ms = 3000 };
	assert_int_equal(vmp_cluster_open(&cfg, &cl, &err), 0);
	assert_int_equal(tick(cl), VMP_CLUSTER_LEADER);
	vmp_cluster_resign(cl);
	vmp_cluster_close(cl);
	unlink(pw);
	unlink(bad);
	vmp_etcd_cluster_stop(c1);
}

static int
setup(void **state)
{
	char dir[300];

	(void)state;
	if (!mkdtemp(base_dir))
		return -1;
	snprintf(dir, sizeof(dir), "%s/one", base_dir);
	return vmp_etcd_cluster_start(dir, 1, &one) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	vmp_etcd_cluster_stop(one);
	/* what the TLS test leaves (certificates, its member's data) even when it failed */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_round_trip),
		cmocka_unit_test(test_leases),
		cmocka_unit_test(test_lease_expiry_removes_agent),
		cmocka_unit_test(test_keepalive_thread),
		cmocka_unit_test(test_election_one_winner),
		cmocka_unit_test(test_fenced_write_after_expiry),
		cmocka_unit_test(test_claim_once),
		cmocka_unit_test(test_older_term_and_housekeeping),
		cmocka_unit_test(test_restart_finds_running),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_failover_and_no_quorum),
		cmocka_unit_test(test_cluster_unavailable),
		cmocka_unit_test(test_outage_keeps_term),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_auth),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_etcd_require();
	return cmocka_run_group_tests_name("etcd", tests, setup, teardown);
}
