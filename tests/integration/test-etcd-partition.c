/* SPDX-License-Identifier: MIT */
/*
 * The leader cut off from etcd, on a real three-member cluster (tests/lib/etcdharness.h):
 * agent a reaches etcd only through member 0, agent b through members 1 and 2. a leads;
 * member 0 is then stopped (SIGSTOP: its port still accepts connections and nothing
 * answers, as behind a broken link), so a is partitioned. While cut off, a's write
 * fails within its deadline and commits nothing, its lease expires, its summary
 * vanishes from the snapshot and b leads with a newer term. When member 0 answers
 * again, a's first write as the leader it still believes it is fails on the term
 * (nothing committed) and makes it a follower; cut off again, its tick says
 * unavailable within its deadline; healed, its next tick makes it b's follower; b
 * cancels the pending intent of a's term. doc/cluster.md, "Failures".
 * Every wait is on a condition with a deadline; every etcd process is killed by PID.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "etcdharness.h"
#include "util/util.h"

#define TTL_S 2

static char base_dir[] = "/tmp/vmp-etcdpart-XXXXXX";
static struct vmp_etcd_cluster *etcd;

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct vmp_cluster *
agent(const char *name, const char *endpoints, int64_t timeout_ms)
{
	struct vmp_cluster_config cfg = {
		.etcd = { .endpoints = endpoints, .timeout_ms = timeout_ms },
		.prefix = "/part/",
		.agent = name,
		.lease_ttl_s = TTL_S,
	};
	struct vmp_cluster *cl = NULL;
	char *err = NULL;

	if (vmp_cluster_open(&cfg, &cl, &err) < 0)
		fail_msg("vmp_cluster_open: %s", err);
	return cl;
}

static void
make_intent(struct vmp_cluster_intent *in, const char *vm)
{
	memset(in, 0, sizeof(*in));
	in->vm = (char *)vm;
	in->from = (char *)"b";
	in->to = (char *)"a";
	in->to_uri = (char *)"qemu+tcp://a/system";
	in->reason = (char *)"relieve";
	in->why = (char *)"relieve: host b at 104 % of capacity";
}

static void
summary(struct vmp_cluster_agent *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = (char *)name;
	s->migrate_uri = (char *)"qemu+tcp://x/system";
	s->capacity_mips = 4000;
	s->core_mips = 1000;
	s->bw_kib_s = 100000;
	s->on = true;
	s->cycle = 1;
	s->wall_ms = wall_ms();
}

/* Whether agent name has a summary in the snapshot. */
static bool
has_agent(const struct vmp_cluster_snapshot *snap, const char *name)
{
	size_t i;

	for (i = 0; i < snap->nagents; i++)
		if (!strcmp(snap->agents[i].name, name))
			return true;
	return false;
}

/* Resumes member 0 and waits until it answers /health again. */
static void
heal(void)
{
	int64_t t0 = vmp_monotonic_ms();

	assert_int_equal(vmp_etcd_cluster_pause(etcd, 0, 0), 0);
	while (vmp_etcd_cluster_member_health(etcd, 0, 1000) != 1) {
		if (vmp_monotonic_ms() - t0 > 15000)
			fail_msg("etcd member 0 not healthy 15 s after it was resumed");
		usleep(200 * 1000);
	}
}

static void
test_leader_partitioned(void **state)
{
	struct vmp_cluster *a, *b;
	struct vmp_cluster_agent s;
	struct vmp_cluster_intent in;
	struct vmp_cluster_snapshot snap = { 0 };
	char b_endpoints[200];
	int64_t t0, took, term_a;
	bool led = false;
	int r;

	(void)state;
	snprintf(b_endpoints, sizeof(b_endpoints), "%s,%s", vmp_etcd_cluster_endpoint(etcd, 1),
		 vmp_etcd_cluster_endpoint(etcd, 2));
	a = agent("a", vmp_etcd_cluster_endpoint(etcd, 0), 1000);
	b = agent("b", b_endpoints, 3000);
	assert_int_equal(vmp_cluster_tick(a, wall_ms()), VMP_CLUSTER_LEADER);
	assert_int_equal(vmp_cluster_tick(b, wall_ms()), VMP_CLUSTER_FOLLOWER);
	term_a = vmp_cluster_term(a);
	summary(&s, "a");
	assert_int_equal(vmp_cluster_publish(a, &s), 0);
	make_intent(&in, "web1");
	assert_int_equal(vmp_cluster_intent_create(a, &in, wall_ms()), 0);

	/* cut a off: its one member stops answering */
	assert_int_equal(vmp_etcd_cluster_pause(etcd, 0, 1), 0);
	make_intent(&in, "web2");
	t0 = vmp_monotonic_ms();
	r = vmp_cluster_intent_create(a, &in, wall_ms());
	took = vmp_monotonic_ms() - t0;
	printf("a's write while cut off: %d after %lld ms: %s\n", r, (long long)took,
	       vmp_cluster_error(a));
	assert_true(r < 0);
	assert_true(took < 1000 + 500);

	/* a cannot renew: its lease expires and b takes over with a newer term */
	t0 = vmp_monotonic_ms();
	while (vmp_monotonic_ms() - t0 < 15000) {
		if (vmp_cluster_tick(b, wall_ms()) == VMP_CLUSTER_LEADER) {
			led = true;
			break;
		}
		usleep(200 * 1000);
	}
	printf("b leads %lld ms after a was cut off (TTL %d s)\n",
	       (long long)(vmp_monotonic_ms() - t0), TTL_S);
	assert_true(led);
	assert_true(vmp_cluster_term(b) > term_a);
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	assert_false(has_agent(&snap, "a"));          /* its summary went with its lease */
	assert_int_equal(snap.nintents, 1);           /* web1 only: web2 never committed */
	assert_string_equal(snap.intents[0].vm, "web1");
	assert_string_equal(snap.leader, "b");
	vmp_cluster_snapshot_clear(&snap);

	/* the link is back: a still believes it leads; its write fails on the term */
	heal();
	assert_int_equal(vmp_cluster_role(a), VMP_CLUSTER_LEADER);
	make_intent(&in, "web3");
	r = vmp_cluster_intent_create(a, &in, wall_ms());
	printf("a's write after the partition: %d: %s\n", r, vmp_cluster_error(a));
	assert_int_equal(r, -ESTALE);
	assert_int_equal(vmp_cluster_role(a), VMP_CLUSTER_FOLLOWER);
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	assert_int_equal(snap.nintents, 1);           /* still web1 only */
	vmp_cluster_snapshot_clear(&snap);

	/* cut off again, a's tick says unavailable, within its deadline */
	assert_int_equal(vmp_etcd_cluster_pause(etcd, 0, 1), 0);
	t0 = vmp_monotonic_ms();
	assert_true(vmp_cluster_tick(a, wall_ms()) < 0);
	assert_true(vmp_monotonic_ms() - t0 < 1000 + 500);
	assert_int_equal(vmp_cluster_role(a), VMP_CLUSTER_UNAVAILABLE);
	heal();
	/* its next tick: a new lease, and it follows b */
	t0 = vmp_monotonic_ms();
	while ((r = vmp_cluster_tick(a, wall_ms())) < 0) {
		if (vmp_monotonic_ms() - t0 > 15000)
			fail_msg("a cannot tick after the partition: %s", vmp_cluster_error(a));
		usleep(200 * 1000);
	}
	assert_int_equal(r, VMP_CLUSTER_FOLLOWER);
	assert_string_equal(vmp_cluster_leader(a), "b");
	assert_int_equal(vmp_cluster_publish(a, &s), 0);

	/* b keeps house: web1, pending from a's term, can never be claimed: cancelled */
	assert_int_equal(vmp_cluster_tick(b, wall_ms()), VMP_CLUSTER_LEADER);
	assert_int_equal(vmp_cluster_snapshot(b, wall_ms(), &snap), 0);
	assert_true(has_agent(&snap, "a"));
	assert_int_equal(snap.nintents, 1);
	assert_int_equal(vmp_cluster_housekeep(b, &snap, wall_ms()), 1);
	assert_int_equal(snap.intents[0].state, VMP_CLUSTER_INTENT_CANCELLED);
	vmp_cluster_snapshot_clear(&snap);
	vmp_cluster_resign(a);
	vmp_cluster_resign(b);
	vmp_cluster_close(a);
	vmp_cluster_close(b);
}

static int
setup(void **state)
{
	char dir[64];

	(void)state;
	if (!mkdtemp(base_dir))
		return -1;
	snprintf(dir, sizeof(dir), "%s/etcd", base_dir);
	return vmp_etcd_cluster_start(dir, 3, &etcd) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	vmp_etcd_cluster_stop(etcd);
	rmdir(base_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leader_partitioned),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_etcd_require();
	return cmocka_run_group_tests_name("etcd-partition", tests, setup, teardown);
}
