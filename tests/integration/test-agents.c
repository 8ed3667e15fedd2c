/* SPDX-License-Identifier: MIT */
/*
 * Agent mode of `vmpilot run` without VMs (seconds, not minutes; the live test with
 * guests and migrations is test-cluster-live.c): a real one-member etcd
 * (tests/lib/etcdharness.h) and agents on libvirt's test:///default driver.
 *   - two agents: exactly one leads, the other follows it in the same term; the
 *     leader's status file, `vmpilot status` (its "cluster:" line and --json) and
 *     /metrics through the API show the cluster; the leader stopped with SIGTERM
 *     revokes its lease, so the other leads at its next cycle, well before the TTL;
 *   - more than one -c with etcd_endpoints set is refused (exit 2, saying why);
 *   - etcd unreachable: the agent's local loop runs its cycles, its status says why
 *     (role unavailable), and the journal says so once.
 * Every agent is stopped by PID (SIGTERM, then SIGKILL) and etcd killed by PID.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "child.h"
#include "etcdharness.h"

#define NAGENTS 2

static char base_dir[] = "/tmp/vmp-agents-XXXXXX";
static struct vmp_etcd_cluster *etcd;
static pid_t agent[NAGENTS] = { -1, -1 };

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
file(char *buf, size_t size, const char *what, int i)
{
	snprintf(buf, size, "%s/%s-%d", base_dir, what, i);
}

/* Writes agent i's configuration for endpoints. */
static void
write_conf(int i, const char *endpoints)
{
	char p[600];
	FILE *out;

	file(p, sizeof(p), "conf", i);
	out = fopen(p, "w");
	assert_non_null(out);
	fprintf(out, "interval_ms = 1000\nksm_enabled = no\nstate_db = none\n"
		"etcd_endpoints = %s\netcd_prefix = /vmp-agents/\netcd_timeout_ms = 500\n"
		"cluster_lease_ttl_ms = 30000\nagent_name = agent%d\n"
		"status_file = %s/status-%d\napi_socket = %s/api-%d.sock\napi_group = none\n",
		endpoints, i, base_dir, i, base_dir, i);
	fclose(out);
}

static void
agent_start(int i)
{
	char conf[600], journal[600], log[600];
	const char *const argv[] = { getenv("VMP_VMPILOT"), "run", "-v", "-f", conf, "-J",
				     journal, "-c", "test:///default", NULL };

	file(conf, sizeof(conf), "conf", i);
	file(journal, sizeof(journal), "journal", i);
	file(log, sizeof(log), "log", i);
	agent[i] = vmp_test_child_start(log, argv);
	assert_true(agent[i] > 0);
}

/* "cluster" of agent i's status file (a new reference), or NULL. */
static json_t *
cluster_of(int i)
{
	char p[600];
	json_t *st, *c;

	file(p, sizeof(p), "status", i);
	st = json_load_file(p, 0, NULL);
	c = json_incref(json_object_get(st, "cluster"));
	json_decref(st);
	return c;
}

static const char *
s_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Waits up to ms for agent i's status to say role (and leader, unless NULL). */
static bool
wait_role(int i, const char *role, const char *leader, unsigned ms)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		json_t *c = cluster_of(i);
		bool ok = c && !strcmp(s_of(c, "role"), role) &&
			  (!leader || !strcmp(s_of(c, "leader"), leader));

		json_decref(c);
		if (ok)
			return true;
		if (now_ms() > deadline)
			return false;
		vmp_test_sleep_ms(100);
	}
}

/* The output of a command (a new string). */
static char *
run(const char *cmd)
{
	char *out = NULL;
	size_t len = 0;
	FILE *p, *mem = open_memstream(&out, &len);
	int c;

	p = popen(cmd, "r");
	assert_non_null(p);
	while ((c = fgetc(p)) != EOF)
		fputc(c, mem);
	pclose(p);
	fclose(mem);
	return out;
}

static int
setup(void **state)
{
	char dir[600];

	if (!mkdtemp(base_dir))
		return -1;
	snprintf(dir, sizeof(dir), "%s/etcd", base_dir);
	return vmp_etcd_cluster_start(dir, 1, &etcd) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[700];
	int i;

	for (i = 0; i < NAGENTS; i++)
		vmp_test_child_stop(&agent[i], 10000);
	vmp_etcd_cluster_stop(etcd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base_dir);
	return 0;
}

static void
test_one_leads(void **state)
{
	char cmd[1400], conf[600], *out;
	json_t *c, *st;
	int l, f;

	write_conf(0, vmp_etcd_cluster_endpoints(etcd));
	write_conf(1, vmp_etcd_cluster_endpoints(etcd));
	agent_start(0);
	assert_true(wait_role(0, "leader", "agent0", 20000));
	agent_start(1);
	assert_true(wait_role(1, "follower", "agent0", 20000));
	l = 0;
	f = 1;
	/* the leader's view: two members, a term, etcd up, nothing to say */
	{
		int64_t deadline = now_ms() + 10000;

		for (;;) {
			c = cluster_of(l);
			if (json_array_size(json_object_get(c, "members")) == 2 || now_ms() > deadline)
				break;
			json_decref(c);
			vmp_test_sleep_ms(200);
		}
	}
	assert_int_equal(json_array_size(json_object_get(c, "members")), 2);
	assert_string_equal(s_of(c, "mode"), "agents");
	assert_true(json_integer_value(json_object_get(c, "term")) > 0);
	assert_true(json_is_null(json_object_get(c, "why")));
	json_decref(c);
	/* `vmpilot status` prints the cluster line from the status file, --json the object */
	file(conf, sizeof(conf), "conf", f);
	snprintf(cmd, sizeof(cmd), "'%s' status -c test:///default -f '%s'", getenv("VMP_VMPILOT"),
		 conf);
	out = run(cmd);
	printf("%s", out);
	assert_non_null(strstr(out, "cluster: agent agent1, follower of agent0 (term "));
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s' status -c 'vmpilot://%s/api-%d.sock' --json",
		 getenv("VMP_VMPILOT"), base_dir, l);
	out = run(cmd);
	st = json_loads(out, 0, NULL);
	assert_non_null(st);
	assert_string_equal(s_of(json_object_get(st, "cluster"), "role"), "leader");
	json_decref(st);
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s' ctl metrics -c 'vmpilot://%s/api-%d.sock'",
		 getenv("VMP_VMPILOT"), base_dir, l);
	out = run(cmd);
	assert_non_null(strstr(out, "vmpilot_cluster_leader 1\n"));
	assert_non_null(strstr(out, "vmpilot_cluster_etcd_up 1\n"));
	assert_non_null(strstr(out, "vmpilot_cluster_members 2\n"));
	assert_non_null(strstr(out, "vmpilot_cluster_intents{state=\"pending\"} 0\n"));
	free(out);
	/* a clean stop revokes the lease: the other leads long before the 30-s TTL */
	{
		int64_t t0 = now_ms();

		assert_int_equal(vmp_test_child_stop(&agent[l], 10000) >= 0, 1);
		assert_true(wait_role(f, "leader", "agent1", 10000));
		printf("agent0 stopped; agent1 leads after %.1f s (lease TTL 30 s)\n",
		       (double)(now_ms() - t0) / 1000);
	}
	vmp_test_child_stop(&agent[f], 10000);
}

static void
test_one_host_only(void **state)
{
	char cmd[1400], conf[600], *out;

	write_conf(0, vmp_etcd_cluster_endpoints(etcd));
	file(conf, sizeof(conf), "conf", 0);
	snprintf(cmd, sizeof(cmd), "'%s' run -f '%s' -c test:///default -c test:///default "
		 "--cycles 1 2>&1; echo \"exit $?\"", getenv("VMP_VMPILOT"), conf);
	out = run(cmd);
	printf("%s", out);
	assert_non_null(strstr(out, "exactly one --connect URI"));
	assert_non_null(strstr(out, "exit 2"));
	free(out);
}

static void
test_etcd_unreachable(void **state)
{
	char journal[600];
	json_t *j, *e, *c;
	size_t k;
	unsigned n = 0;

	/* a port nobody listens on: the etcd member's peer port is not a client port */
	write_conf(0, "http://127.0.0.1:9");
	agent_start(0);
	assert_true(wait_role(0, "unavailable", NULL, 20000));
	{
		int64_t deadline = now_ms() + 20000;

		for (;;) {
			c = cluster_of(0);
			if (strstr(s_of(c, "why"), "no quorum or unreachable") || now_ms() > deadline)
				break;
			json_decref(c);
			vmp_test_sleep_ms(200);
		}
	}
	printf("why: %s\n", s_of(c, "why"));
	assert_non_null(strstr(s_of(c, "why"), "cluster moves stopped"));
	json_decref(c);
	/* the local loop goes on: cycles are counted through the API */
	{
		char cmd[1400], *out;
		json_t *st;
		json_int_t c0, c1;

		snprintf(cmd, sizeof(cmd), "'%s' status -c 'vmpilot://%s/api-0.sock' --json",
			 getenv("VMP_VMPILOT"), base_dir);
		out = run(cmd);
		st = json_loads(out, 0, NULL);
		c0 = json_integer_value(json_object_get(st, "cycle"));
		json_decref(st);
		free(out);
		vmp_test_sleep_ms(3500);
		out = run(cmd);
		st = json_loads(out, 0, NULL);
		c1 = json_integer_value(json_object_get(st, "cycle"));
		json_decref(st);
		free(out);
		printf("cycles %lld -> %lld without etcd\n", (long long)c0, (long long)c1);
		assert_true(c1 >= c0 + 2);
	}
	vmp_test_child_stop(&agent[0], 10000);
	file(journal, sizeof(journal), "journal", 0);
	j = vmp_test_journal_load(journal, NULL);
	json_array_foreach(j, k, e)
		n += !strcmp(s_of(e, "event"), "cluster_unavailable");
	json_decref(j);
	assert_int_equal(n, 1);      /* said once, not every cycle */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_leads),
		cmocka_unit_test(test_one_host_only),
		cmocka_unit_test(test_etcd_unreachable),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_etcd_require();
	return cmocka_run_group_tests_name("agents", tests, setup, teardown);
}
