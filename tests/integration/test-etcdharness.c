/* SPDX-License-Identifier: MIT */
/*
 * The etcd test harness itself (tests/lib/etcdharness.h) on real /usr/bin/etcd processes:
 * a three-member cluster still takes a put with one member killed, refuses it within
 * the put's deadline with two killed (no quorum), takes it again once a member is
 * restarted; a one-member cluster takes a put; stop leaves no etcd process of ours
 * (none in /proc names our directory) and removes the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "etcdharness.h"

static char base_dir[] = "/tmp/vmp-etcdh-XXXXXX";

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Number of processes whose command line mentions s (our members name their data dir). */
static int
procs_mentioning(const char *s)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[8192];
		size_t len, i;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, s) && strstr(buf, VMP_ETCD_BINARY))
			n++;
	}
	closedir(d);
	return n;
}

static void
test_three_members(void **state)
{
	struct vmp_etcd_cluster *c = NULL;
	char dir[64];
	pid_t pids[3];
	int64_t t0;
	unsigned i;
	int r;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/three", base_dir);
	assert_int_equal(vmp_etcd_cluster_start(dir, 3, &c), 0);
	assert_int_equal(vmp_etcd_cluster_size(c), 3);
	fprintf(stderr, "endpoints %s\n", vmp_etcd_cluster_endpoints(c));
	assert_non_null(strchr(vmp_etcd_cluster_endpoints(c), ','));
	for (i = 0; i < 3; i++) {
		pids[i] = vmp_etcd_cluster_pid(c, i);
		assert_true(pids[i] > 0);
		assert_int_equal(vmp_etcd_cluster_member_health(c, i, 2000), 1);
	}
	assert_int_equal(procs_mentioning(dir), 3);
	assert_int_equal(vmp_etcd_cluster_put(c, "k", "all three", 5000), 0);

	/* one member of three lost: the other two still commit */
	assert_int_equal(vmp_etcd_cluster_kill(c, 0), 0);
	assert_int_equal(vmp_etcd_cluster_pid(c, 0), -1);
	assert_int_equal(kill(pids[0], 0), -1);
	assert_int_equal(vmp_etcd_cluster_put(c, "k", "two of three", 10000), 0);

	/* a second lost: no quorum, the put fails, and within its deadline */
	assert_int_equal(vmp_etcd_cluster_kill(c, 1), 0);
	t0 = now_ms();
	r = vmp_etcd_cluster_put(c, "k", "one of three", 3000);
	fprintf(stderr, "put without quorum: %d (%s) after %lld ms\n", r, strerror(-r),
		(long long)(now_ms() - t0));
	assert_true(r < 0);
	assert_true(now_ms() - t0 < 3000 + 1000);
	assert_int_not_equal(vmp_etcd_cluster_member_health(c, 2, 2000), 1);

	/* a member back (same data dir): quorum again */
	assert_int_equal(vmp_etcd_cluster_restart(c, 1), 0);
	assert_true(vmp_etcd_cluster_pid(c, 1) > 0);
	assert_int_equal(vmp_etcd_cluster_put(c, "k", "two again", 10000), 0);

	vmp_etcd_cluster_stop(c);
	assert_int_equal(procs_mentioning(dir), 0);
	for (i = 1; i < 3; i++)
		assert_int_equal(kill(pids[i], 0), -1);
	assert_int_equal(access(dir, F_OK), -1);
}

static void
test_one_member(void **state)
{
	struct vmp_etcd_cluster *c = NULL;
	char dir[64];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/one", base_dir);
	assert_int_equal(vmp_etcd_cluster_start(dir, 1, &c), 0);
	assert_null(strchr(vmp_etcd_cluster_endpoints(c), ','));
	assert_string_equal(vmp_etcd_cluster_endpoints(c), vmp_etcd_cluster_endpoint(c, 0));
	assert_int_equal(vmp_etcd_cluster_put(c, "solo", "v", 5000), 0);
	/* paused: the put cannot finish within its deadline; resumed: it can */
	assert_int_equal(vmp_etcd_cluster_pause(c, 0, 1), 0);
	assert_true(vmp_etcd_cluster_put(c, "solo", "paused", 1000) < 0);
	assert_int_equal(vmp_etcd_cluster_pause(c, 0, 0), 0);
	assert_int_equal(vmp_etcd_cluster_put(c, "solo", "resumed", 5000), 0);
	vmp_etcd_cluster_stop(c);
	assert_int_equal(procs_mentioning(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(base_dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	rmdir(base_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_members),
		cmocka_unit_test(test_one_member),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_etcd_require();
	return cmocka_run_group_tests_name("etcdharness", tests, setup, teardown);
}
