/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what vmpilot reads from etcd (src/cluster/): the JSON gateway's
 * replies (vmp_etcd_parse_*) and the records other agents wrote (summaries, intents,
 * a whole snapshot). The first byte picks the parser, the rest is the body. Any body
 * is either parsed or refused with a message; a record that decodes encodes back to
 * one that decodes to the same. The corpus (tests/fuzz/corpus/etcd) holds replies
 * captured from a real etcd 3.4.23 and records written by src/cluster/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AGENT_KEY "/vmpilot/agents/h1"
#define INTENT_KEY "/vmpilot/intents/00000000000000000059-00000001"

static void
check(int r, const char *err)
{
	/* a refusal always says why */
	if (r < 0 && !err[0])
		abort();
	if (r < 0 && r != -EPROTO && r != -EIO && r != -ENOENT && r != -EACCES && r != -ETIMEDOUT)
		abort();
}

static void
agent_round_trip(const char *body, size_t len)
{
	struct vmp_cluster_agent a, b;
	char *err = NULL, *text;

	if (vmp_cluster_agent_decode(AGENT_KEY, body, len, &a, &err) < 0) {
		if (!err || !strstr(err, AGENT_KEY))
			abort();
		free(err);
		return;
	}
	text = vmp_cluster_agent_encode(&a);
	if (vmp_cluster_agent_decode(AGENT_KEY, text, strlen(text), &b, &err) < 0)
		abort();
	if (a.nvms != b.nvms || strcmp(a.name, b.name) != 0 || a.capacity_mips != b.capacity_mips)
		abort();
	free(text);
	vmp_cluster_agent_clear(&a);
	vmp_cluster_agent_clear(&b);
}

static void
intent_round_trip(const char *body, size_t len)
{
	struct vmp_cluster_intent a, b;
	char *err = NULL, *text;

	if (vmp_cluster_intent_decode(INTENT_KEY, body, len, &a, &err) < 0) {
		if (!err || !strstr(err, INTENT_KEY))
			abort();
		free(err);
		return;
	}
	text = vmp_cluster_intent_encode(&a);
	if (vmp_cluster_intent_decode(INTENT_KEY, text, strlen(text), &b, &err) < 0)
		abort();
	if (a.state != b.state || a.term != b.term || strcmp(a.id, b.id) != 0 ||
	    strcmp(a.vm, b.vm) != 0)
		abort();
	free(text);
	vmp_cluster_intent_clear(&a);
	vmp_cluster_intent_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char err[512] = "";
	int r;

	if (size < 1)
		return 0;
	switch (data[0] % 10) {
	case 0: {
		int64_t rev;

		r = vmp_etcd_parse_put(body, len, &rev, err, sizeof(err));
		break;
	}
	case 1: {
		struct vmp_etcd_range rg;

		r = vmp_etcd_parse_range(body, len, &rg, err, sizeof(err));
		if (r == 0) {
			/* keys are NUL-free strings; values are NUL-terminated */
			for (size_t i = 0; i < rg.nkvs; i++)
				if (!rg.kvs[i].key[0] ||
				    (rg.kvs[i].value && rg.kvs[i].value[rg.kvs[i].value_len] != '\0'))
					abort();
			vmp_etcd_range_clear(&rg);
		}
		break;
	}
	case 2: {
		int64_t n;

		r = vmp_etcd_parse_delete(body, len, &n, err, sizeof(err));
		if (r == 0 && n < 0)
			abort();
		break;
	}
	case 3: {
		struct vmp_etcd_txn_result t;

		r = vmp_etcd_parse_txn(body, len, &t, err, sizeof(err));
		if (r == 0)
			vmp_etcd_txn_result_clear(&t);
		break;
	}
	case 4: {
		int64_t id, ttl;

		r = vmp_etcd_parse_lease(body, len, &id, &ttl, err, sizeof(err));
		break;
	}
	case 5: {
		struct vmp_etcd_status st;

		r = vmp_etcd_parse_status(body, len, &st, err, sizeof(err));
		if (r == 0 && memchr(st.version, '\0', sizeof(st.version)) == NULL)
			abort();
		break;
	}
	case 6: {
		char *token = NULL;

		r = vmp_etcd_parse_auth(body, len, &token, err, sizeof(err));
		if (r == 0 && (!token || !token[0] || strpbrk(token, "\r\n")))
			abort();
		free(token);
		break;
	}
	case 7:
		agent_round_trip(body, len);
		return 0;
	case 8:
		intent_round_trip(body, len);
		return 0;
	default: {
		/* a whole snapshot: a range reply, every record decoded or named */
		struct vmp_etcd_range rg;
		struct vmp_cluster_snapshot s = { 0 };

		r = vmp_etcd_parse_range(body, len, &rg, err, sizeof(err));
		if (r == 0) {
			vmp_cluster_snapshot_decode("/vmpilot/", &rg, &s);
			for (size_t i = 0; i < s.nerrors; i++)
				if (!strstr(s.errors[i], "/vmpilot/"))
					abort();
			vmp_cluster_snapshot_clear(&s);
			vmp_etcd_range_clear(&rg);
		}
		break;
	}
	}
	check(r, err);
	return 0;
}
