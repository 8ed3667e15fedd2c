/* SPDX-License-Identifier: MIT */
/*
 * The pure parts of src/cluster/: the etcd gateway's replies as captured from a real
 * etcd 3.4.23 (tests/fuzz/corpus/etcd, the fuzz target's seeds: first byte the parser,
 * then the body), and the encoding and decoding of agents' summaries, intents and
 * snapshots, where a malformed record is an error naming its key and field and the
 * other records of a snapshot still decode.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"
#include "util/fileio.h"
#include "util/util.h"

/* A literal body and its length. */
#define BODY(s) s, strlen(s)

/* A corpus file's body (after its selector byte). Caller frees *ret_buf. */
static const char *
seed(const char *name, char **ret_buf, size_t *ret_len)
{
	const char *dir = getenv("VMP_TESTS_DIR");
	char *path;
	int r;

	assert_non_null(dir);
	path = xasprintf("%s/fuzz/corpus/etcd/%s", dir, name);
	r = vmp_read_file("", path, ret_buf, ret_len);
	if (r < 0)
		fail_msg("cannot read '%s': %s", path, vmp_file_strerror(r));
	free(path);
	assert_true(*ret_len > 1);
	*ret_len -= 1;
	return *ret_buf + 1;
}

static void
test_parse_replies(void **state)
{
	char *buf, err[512];
	const char *b;
	size_t len;
	int64_t rev = 0, n = 0, id = 0, ttl = 0;
	struct vmp_etcd_range rg;
	struct vmp_etcd_txn_result t;
	struct vmp_etcd_status st;
	char *token = NULL;

	(void)state;
	b = seed("put-ok", &buf, &len);
	assert_int_equal(vmp_etcd_parse_put(b, len, &rev, err, sizeof(err)), 0);
	assert_int_equal(rev, 66);
	free(buf);

	b = seed("range-snapshot", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), 0);
	assert_int_equal(rg.revision, 66);
	assert_int_equal(rg.nkvs, 6);
	assert_int_equal(rg.count, 6);
	assert_string_equal(rg.kvs[0].key, "/vmpilot/agents/h1");
	assert_int_equal(rg.kvs[0].create_revision, 60);
	assert_true(rg.kvs[0].lease != 0);
	assert_true(vmp_str_starts_with(rg.kvs[0].value, "{\"bw_kib_s\":125000.0"));
	vmp_etcd_range_clear(&rg);
	free(buf);

	b = seed("range-keys-only", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), 0);
	assert_int_equal(rg.nkvs, 6);
	assert_null(rg.kvs[0].value);
	vmp_etcd_range_clear(&rg);
	free(buf);

	b = seed("range-count-only", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), 0);
	assert_int_equal(rg.nkvs, 0);
	assert_int_equal(rg.count, 6);
	free(buf);

	b = seed("range-limit", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), 0);
	assert_int_equal(rg.nkvs, 1);
	assert_true(rg.more);
	vmp_etcd_range_clear(&rg);
	free(buf);

	b = seed("range-empty", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), 0);
	assert_int_equal(rg.nkvs, 0);
	assert_int_equal(rg.count, 0);
	free(buf);

	b = seed("delete-one", &buf, &len);
	assert_int_equal(vmp_etcd_parse_delete(b, len, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	free(buf);

	/* a campaign lost: no "succeeded", the failure branch's range */
	b = seed("txn-campaign-lost", &buf, &len);
	assert_int_equal(vmp_etcd_parse_txn(b, len, &t, err, sizeof(err)), 0);
	assert_false(t.succeeded);
	assert_int_equal(t.nranges, 1);
	assert_int_equal(t.ranges[0].nkvs, 1);
	assert_string_equal(t.ranges[0].kvs[0].key, "/vmpilot/leader");
	assert_int_equal(t.ranges[0].kvs[0].create_revision, 59);
	vmp_etcd_txn_result_clear(&t);
	free(buf);

	b = seed("txn-put-delete", &buf, &len);
	assert_int_equal(vmp_etcd_parse_txn(b, len, &t, err, sizeof(err)), 0);
	assert_true(t.succeeded);
	assert_int_equal(t.revision, 68);
	assert_int_equal(t.nranges, 3);
	assert_int_equal(t.ranges[0].nkvs, 0);
	assert_int_equal(t.ranges[2].nkvs, 2);
	vmp_etcd_txn_result_clear(&t);
	free(buf);

	b = seed("lease-grant", &buf, &len);
	assert_int_equal(vmp_etcd_parse_lease(b, len, &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(id, 4111120473337722325);
	assert_int_equal(ttl, 10);
	free(buf);
	b = seed("lease-keepalive", &buf, &len);
	assert_int_equal(vmp_etcd_parse_lease(b, len, &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 10);
	free(buf);
	/* an expired lease's keepalive: a result without TTL */
	b = seed("lease-keepalive-expired", &buf, &len);
	assert_int_equal(vmp_etcd_parse_lease(b, len, &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 0);
	free(buf);

	b = seed("status", &buf, &len);
	assert_int_equal(vmp_etcd_parse_status(b, len, &st, err, sizeof(err)), 0);
	assert_string_equal(st.version, "3.4.23");
	assert_true(st.member_id == 13668033151171901709u);
	assert_true(st.leader == st.member_id);
	assert_int_equal(st.raft_term, 2);
	assert_int_equal(st.db_size, 73728);
	free(buf);

	b = seed("auth-token", &buf, &len);
	assert_int_equal(vmp_etcd_parse_auth(b, len, &token, err, sizeof(err)), 0);
	assert_string_equal(token, "wDmqjeVxAosIcmUD.141");
	free(token);
	free(buf);
}

static void
test_parse_errors(void **state)
{
	char *buf, err[512];
	const char *b;
	size_t len;
	int64_t rev, id, ttl;
	struct vmp_etcd_range rg;

	(void)state;
	/* etcd's own errors: its message, an errno from its code */
	b = seed("error-lease-not-found", &buf, &len);
	assert_int_equal(vmp_etcd_parse_lease(b, len, &id, &ttl, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "etcdserver: requested lease not found (code 5)");
	free(buf);
	b = seed("error-future-revision", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "future revision"));
	free(buf);
	b = seed("error-auth-failed", &buf, &len);
	assert_int_equal(vmp_etcd_parse_put(b, len, &rev, err, sizeof(err)), -EACCES);
	free(buf);
	b = seed("error-bad-token", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), -EACCES);
	free(buf);

	/* what the gateway never sends: refused with the field named */
	assert_int_equal(vmp_etcd_parse_put("", 0, &rev, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(vmp_etcd_parse_put(BODY("[1]"), &rev, err, sizeof(err)), -EPROTO);
	assert_int_equal(vmp_etcd_parse_put(BODY("{\"header\":{\"revision\":\"x1\"}}"), &rev, err,
					    sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "'revision'"));
	assert_int_equal(vmp_etcd_parse_range(BODY("{\"kvs\":[{\"key\":\"@@@@\"}]}"), &rg, err,
					      sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "'key'"));
	/* a key with a NUL byte ("a\0b" is YQBi) cannot be a C string */
	assert_int_equal(vmp_etcd_parse_range(BODY("{\"kvs\":[{\"key\":\"YQBi\"}]}"), &rg, err,
					      sizeof(err)), -EPROTO);
	assert_int_equal(vmp_etcd_parse_range(BODY("{\"kvs\":{}}"), &rg, err, sizeof(err)), -EPROTO);
	assert_int_equal(vmp_etcd_parse_range(BODY("{\"count\":\"99999999999999999999\"}"), &rg, err,
					      sizeof(err)), -EPROTO);
}

static struct vmp_cluster_vm sample_vms[2] = {
	{ .name = (char *)"web1", .uuid = (char *)"c7a5fdbd-cdaf-9455-926a-d65c16db1809",
	  .mips = 2000, .ram_kib = 2097152, .mem_kib = 1048576, .dirty_kib_s = 512,
	  .demand_mips = 730.5, .migrating = true,
	  .hist = { .last = 730.5, .mean = 612.25, .var_step = 1520.75, .n = 42 } },
	{ .name = (char *)"db1", .uuid = (char *)"", .mips = 4000, .ram_kib = 8388608,
	  .demand_mips = 3100, .pinned = true,
	  .hist = { .last = 3100, .mean = 2950, .var_step = 40000, .n = 7 } },
};

static void
sample_agent(struct vmp_cluster_agent *a)
{
	memset(a, 0, sizeof(*a));
	a->name = (char *)"h1";
	a->migrate_uri = (char *)"qemu+tcp://h1/system";
	a->capacity_mips = 8000;
	a->core_mips = 1000;
	a->mem_kib = 16777216;
	a->mem_free_kib = 4194304;
	a->mem_short_kib = 1024;
	a->bw_kib_s = 125000;
	a->full_watts = 250;
	a->on = true;
	a->refuses_vms = true;
	a->cycle = 17;
	a->wall_ms = 1765000000000;
	a->vms = sample_vms;
	a->nvms = 2;
}

static void
test_agent_round_trip(void **state)
{
	struct vmp_cluster_agent a, b;
	char *text, *err = NULL;
	size_t i;

	(void)state;
	sample_agent(&a);
	text = vmp_cluster_agent_encode(&a);
	assert_int_equal(vmp_cluster_agent_decode("/vmpilot/agents/h1", text, strlen(text), &b,
						  &err), 0);
	assert_string_equal(b.name, "h1");
	assert_string_equal(b.migrate_uri, a.migrate_uri);
	assert_true(b.capacity_mips == a.capacity_mips && b.core_mips == a.core_mips);
	assert_true(b.mem_kib == a.mem_kib && b.mem_free_kib == a.mem_free_kib);
	assert_true(b.mem_short_kib == a.mem_short_kib && b.bw_kib_s == a.bw_kib_s);
	assert_true(b.full_watts == a.full_watts);
	assert_true(b.on && b.refuses_vms);
	assert_int_equal(b.cycle, 17);
	assert_int_equal(b.wall_ms, 1765000000000);
	assert_int_equal(b.nvms, 2);
	for (i = 0; i < 2; i++) {
		const struct vmp_cluster_vm *x = &a.vms[i], *y = &b.vms[i];

		assert_string_equal(x->name, y->name);
		assert_string_equal(x->uuid, y->uuid);
		assert_true(x->mips == y->mips && x->ram_kib == y->ram_kib);
		assert_true(x->mem_kib == y->mem_kib && x->dirty_kib_s == y->dirty_kib_s);
		assert_true(x->demand_mips == y->demand_mips);
		assert_int_equal(x->migrating, y->migrating);
		assert_int_equal(x->pinned, y->pinned);
		/* the moments exactly: the leader's forecast must be the agent's */
		assert_true(x->hist.last == y->hist.last && x->hist.mean == y->hist.mean);
		assert_true(x->hist.var_step == y->hist.var_step);
		assert_int_equal(x->hist.n, y->hist.n);
		assert_int_equal(y->hist.moved_step, INT32_MIN);
	}
	vmp_cluster_agent_clear(&b);
	free(text);
}

/* A VM name that is not UTF-8 cannot be JSON: written with '?', and never moved. */
static void
test_agent_not_utf8(void **state)
{
	struct vmp_cluster_vm vm = { .name = (char *)"caf\xe9", .mips = 1000 };
	struct vmp_cluster_agent a, b;
	char *text, *err = NULL;

	(void)state;
	sample_agent(&a);
	a.vms = &vm;
	a.nvms = 1;
	text = vmp_cluster_agent_encode(&a);
	assert_int_equal(vmp_cluster_agent_decode("/vmpilot/agents/h1", text, strlen(text), &b,
						  &err), 0);
	assert_int_equal(b.nvms, 1);
	assert_string_equal(b.vms[0].name, "caf?");
	assert_true(b.vms[0].pinned);
	assert_true(b.vms[0].mips == 1000);
	vmp_cluster_agent_clear(&b);
	free(text);
}

/* Each malformed summary is refused, the message naming the key and the field. */
static void
test_agent_malformed(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"capacity_mips\":1,\"vms\":[]}", "'name' is missing" },
		{ "{\"name\":\"h2\",\"capacity_mips\":1,\"vms\":[]}", "not the key's name" },
		{ "{\"name\":\"h1\",\"vms\":[]}", "'capacity_mips' is missing" },
		{ "{\"name\":\"h1\",\"capacity_mips\":-1,\"vms\":[]}", "'capacity_mips' is out of range" },
		{ "{\"name\":\"h1\",\"capacity_mips\":\"8000\",\"vms\":[]}", "'capacity_mips' is not a number" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1}", "'vms' is missing" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1,\"vms\":{}}", "'vms' is not an array" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1,\"vms\":[7]}", "vms[0] is not an object" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1,\"vms\":[{\"mips\":1}]}", "'name' is missing" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1,\"vms\":[{\"name\":\"\",\"mips\":1}]}", "'name' is empty" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1,\"vms\":[{\"name\":\"v\",\"mips\":1,\"n\":-1}]}", "'n' is out of range" },
		{ "{\"name\":\"h1\",\"capacity_mips\":1,\"vms\":[{\"name\":\"v\",\"mips\":1,\"pinned\":1}]}", "'pinned' is not a boolean" },
		{ "{\"name\":\"h1\",\"name\":\"h1\",\"capacity_mips\":1,\"vms\":[]}", "not JSON" },
		{ "{\"name\":\"h\\u0000\",\"capacity_mips\":1,\"vms\":[]}", "NUL" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		struct vmp_cluster_agent a;
		char *err = NULL;

		assert_int_equal(vmp_cluster_agent_decode("/vmpilot/agents/h1", cases[i].text,
							  strlen(cases[i].text), &a, &err), -EINVAL);
		if (!strstr(err, "key '/vmpilot/agents/h1'") || !strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		free(err);
	}
}

static void
sample_intent(struct vmp_cluster_intent *in)
{
	memset(in, 0, sizeof(*in));
	vmp_cluster_intent_id(59, 1, in->id);
	in->term = 59;
	in->leader = (char *)"h1";
	in->vm = (char *)"web1";
	in->from = (char *)"h1";
	in->to = (char *)"h2";
	in->to_uri = (char *)"qemu+tcp://h2/system";
	in->reason = (char *)"relieve";
	in->why = (char *)"relieve: host h1 at 104 % of capacity";
	in->state = VMP_CLUSTER_INTENT_FAILED;
	in->created_ms = 1765000001000;
	in->claimed_ms = 1765000003000;
	in->finished_ms = 1765000009000;
	in->error = (char *)"migration failed";
}

static void
test_intent_round_trip(void **state)
{
	struct vmp_cluster_intent a, b;
	char *text, *err = NULL;
	char key[128];

	(void)state;
	sample_intent(&a);
	assert_string_equal(a.id, "00000000000000000059-00000001");
	snprintf(key, sizeof(key), "/vmpilot/intents/%s", a.id);
	text = vmp_cluster_intent_encode(&a);
	assert_int_equal(vmp_cluster_intent_decode(key, text, strlen(text), &b, &err), 0);
	assert_string_equal(b.id, a.id);
	assert_int_equal(b.term, 59);
	assert_string_equal(b.leader, "h1");
	assert_string_equal(b.vm, "web1");
	assert_string_equal(b.from, "h1");
	assert_string_equal(b.to, "h2");
	assert_string_equal(b.to_uri, a.to_uri);
	assert_string_equal(b.reason, "relieve");
	assert_string_equal(b.why, a.why);
	assert_int_equal(b.state, VMP_CLUSTER_INTENT_FAILED);
	assert_int_equal(b.created_ms, a.created_ms);
	assert_int_equal(b.claimed_ms, a.claimed_ms);
	assert_int_equal(b.finished_ms, a.finished_ms);
	assert_string_equal(b.error, "migration failed");
	vmp_cluster_intent_clear(&b);
	free(text);
	/* no error: null, decoded as NULL */
	a.error = NULL;
	a.state = VMP_CLUSTER_INTENT_PENDING;
	text = vmp_cluster_intent_encode(&a);
	assert_non_null(strstr(text, "\"error\":null"));
	assert_int_equal(vmp_cluster_intent_decode(key, text, strlen(text), &b, &err), 0);
	assert_null(b.error);
	vmp_cluster_intent_clear(&b);
	free(text);

	assert_string_equal(vmp_cluster_intent_state_name(VMP_CLUSTER_INTENT_CANCELLED), "cancelled");
	assert_int_equal(vmp_cluster_intent_state_parse("running"), VMP_CLUSTER_INTENT_RUNNING);
	assert_int_equal(vmp_cluster_intent_state_parse("Running"), -EINVAL);
	assert_string_equal(vmp_cluster_role_name(VMP_CLUSTER_LEADER), "leader");
}

static void
test_intent_malformed(void **state)
{
	static const char key[] = "/vmpilot/intents/00000000000000000059-00000001";
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "nope", "not JSON" },
		{ "{\"term\":59}", "'id' is missing" },
		{ "{\"id\":\"00000000000000000059-00000002\",\"term\":59}", "not the key's" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":58,\"leader\":\"a\",\"vm\":\"v\",\"from\":\"a\",\"to\":\"b\",\"state\":\"pending\"}", "not the id's" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":\"59\"}", "'term' is not an integer" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":59,\"leader\":\"a\",\"vm\":\"v\",\"from\":\"a\",\"to\":\"b\",\"state\":\"done!\"}", "'state' is 'done!'" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":59,\"leader\":\"a\",\"vm\":\"v\",\"from\":\"a\",\"to\":\"b\"}", "'state' is missing" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":59,\"leader\":\"a\",\"vm\":\"\",\"from\":\"a\",\"to\":\"b\",\"state\":\"pending\"}", "must not be empty" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":59,\"leader\":\"a\",\"vm\":\"v\",\"from\":\"a\",\"to\":\"b\",\"state\":\"pending\",\"created_ms\":-4}", "'created_ms' is out of range" },
		{ "{\"id\":\"00000000000000000059-00000001\",\"term\":59,\"leader\":\"a\",\"vm\":\"v\",\"from\":\"a\",\"to\":\"b\",\"state\":\"pending\",\"error\":5}", "'error' is not a string" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < VMP_ARRAY_SIZE(cases); i++) {
		struct vmp_cluster_intent in;
		char *err = NULL;

		assert_int_equal(vmp_cluster_intent_decode(key, cases[i].text, strlen(cases[i].text),
							   &in, &err), -EINVAL);
		if (!strstr(err, key) || !strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		free(err);
	}
	/* an id that is not <20 digits>-<8 digits> under its own key */
	{
		struct vmp_cluster_intent in;
		char *err = NULL;
		const char *t = "{\"id\":\"59-1\",\"term\":59}";

		assert_int_equal(vmp_cluster_intent_decode("/vmpilot/intents/59-1", t, strlen(t),
							   &in, &err), -EINVAL);
		assert_non_null(strstr(err, "<term>-<sequence>"));
		free(err);
	}
}

/* A snapshot as captured (two agents, two intents, the leader) decodes whole. */
static void
test_snapshot_decode(void **state)
{
	struct vmp_cluster_snapshot s = { 0 };
	struct vmp_etcd_range rg;
	char *buf, err[512];
	const char *b;
	size_t len;

	(void)state;
	b = seed("range-snapshot", &buf, &len);
	assert_int_equal(vmp_etcd_parse_range(b, len, &rg, err, sizeof(err)), 0);
	assert_int_equal(vmp_cluster_snapshot_decode("/vmpilot/", &rg, &s), 0);
	assert_int_equal(s.revision, 66);
	assert_string_equal(s.leader, "h1");
	assert_int_equal(s.term, 59);
	assert_int_equal(s.nagents, 2);
	assert_string_equal(s.agents[0].name, "h1");
	assert_int_equal(s.agents[0].nvms, 2);
	assert_int_equal(s.agents[0].vms[0].hist.n, 42);
	assert_true(s.agents[0].lease != 0);
	assert_string_equal(s.agents[1].name, "h2");
	assert_int_equal(s.nintents, 2);
	assert_int_equal(s.intents[0].state, VMP_CLUSTER_INTENT_FAILED);
	assert_int_equal(s.intents[1].state, VMP_CLUSTER_INTENT_PENDING);
	assert_true(s.intents[1].mod_revision > 0);
	assert_int_equal(s.nerrors, 0);   /* /vmpilot/x is not a record: ignored */
	vmp_cluster_snapshot_clear(&s);

	/* damage one agent and one intent: named, and the others still decode */
	free(rg.kvs[0].value);
	rg.kvs[0].value = xstrdup("{\"name\":\"h1\"");
	rg.kvs[0].value_len = strlen(rg.kvs[0].value);
	free(rg.kvs[3].value);
	rg.kvs[3].value = NULL;   /* as a keys-only read would give */
	assert_int_equal(vmp_cluster_snapshot_decode("/vmpilot/", &rg, &s), 0);
	assert_int_equal(s.nagents, 1);
	assert_string_equal(s.agents[0].name, "h2");
	assert_int_equal(s.nintents, 1);
	assert_int_equal(s.nerrors, 2);
	assert_non_null(strstr(s.errors[0], "key '/vmpilot/agents/h1': not JSON"));
	assert_non_null(strstr(s.errors[1], "key '/vmpilot/intents/"));
	assert_non_null(strstr(s.errors[1], "no value"));
	assert_string_equal(s.leader, "h1");
	vmp_cluster_snapshot_clear(&s);
	vmp_etcd_range_clear(&rg);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_replies),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_agent_round_trip),
		cmocka_unit_test(test_agent_malformed),
		cmocka_unit_test(test_agent_not_utf8),
		cmocka_unit_test(test_intent_round_trip),
		cmocka_unit_test(test_intent_malformed),
		cmocka_unit_test(test_snapshot_decode),
	};

	return cmocka_run_group_tests_name("cluster", tests, NULL, NULL);
}
