/* SPDX-License-Identifier: MIT */
/*
 * Real etcd clusters for tests and benchmarks: 1 or 3 /usr/bin/etcd processes (Debian's
 * etcd-server) on free 127.0.0.1 ports, their data under a directory the harness owns.
 * Members can be killed (SIGKILL by PID), paused and restarted; every process started here
 * is killed by PID at stop, at exit of the process that started it, and
 * (PR_SET_PDEATHSIG) when the thread that started it dies: start clusters from the
 * test's main thread.
 *
 * Test code: failures print "etcdharness: ..." on stderr (with the member's log) and
 * return a negative errno. Not thread-safe; no cmocka dependency.
 */
#ifndef VMP_TEST_ETCDHARNESS_H
#define VMP_TEST_ETCDHARNESS_H

#include <sys/types.h>

/* The etcd binary the harness runs. */
#define VMP_ETCD_BINARY "/usr/bin/etcd"
/* Raft timing of every member (ms): short, so a lost leader is replaced within ~1 s. */
#define VMP_ETCD_HEARTBEAT_MS 100
#define VMP_ETCD_ELECTION_MS 500
/* Deadline of start and restart to reach health. */
#define VMP_ETCD_START_TIMEOUT_MS 30000

struct vmp_etcd_cluster;

/*
 * For a test's main(): returns if VMP_ETCD_BINARY can run; otherwise prints a loud
 * message and exits 77 (SKIP), or 1 when CI or VMP_REQUIRE_VMS is set (as the VM tests).
 */
void vmp_etcd_require(void);

/*
 * Starts nmembers (1..5) etcd members named m0, m1... with client and peer URLs on free
 * loopback ports, --data-dir dir/mI, logs in dir/mI.log, heartbeat/election timeouts
 * above. dir is created (mode 0700) and belongs to the cluster: stop removes it.
 * Waits until every member answers GET /health with "true" (deadline
 * VMP_ETCD_START_TIMEOUT_MS). A member that exits because another process took its
 * port meanwhile makes it start again on new ports (three times at most). Returns 0 and
 * *ret, or -errno (-ENOENT: no etcd binary, -ETIMEDOUT: not healthy in time, -ECHILD: a
 * member exited); on failure nothing is left.
 */
int vmp_etcd_cluster_start(const char *dir, unsigned nmembers, struct vmp_etcd_cluster **ret);

/* Number of members. */
unsigned vmp_etcd_cluster_size(const struct vmp_etcd_cluster *c);

/* The client URLs of every member, comma-separated: "http://127.0.0.1:P0,http://...". */
const char *vmp_etcd_cluster_endpoints(const struct vmp_etcd_cluster *c);

/* The client URL of member i ("http://127.0.0.1:P"); NULL if i is out of range. */
const char *vmp_etcd_cluster_endpoint(const struct vmp_etcd_cluster *c, unsigned i);

/* The PID of member i, or -1 if it is not running (killed, or i out of range). */
pid_t vmp_etcd_cluster_pid(const struct vmp_etcd_cluster *c, unsigned i);

/* Kills member i with SIGKILL by PID and reaps it. Returns 0, -EINVAL, or -ESRCH if not running. */
int vmp_etcd_cluster_kill(struct vmp_etcd_cluster *c, unsigned i);

/*
 * Sends SIGSTOP (pause != 0) or SIGCONT to member i and waits (up to 5 s) until every
 * thread of it is stopped, or none is: once it returns, the member answers nothing (its
 * port still accepts connections), or answers again. Returns 0, -EINVAL, -ESRCH or
 * -ETIMEDOUT.
 */
int vmp_etcd_cluster_pause(struct vmp_etcd_cluster *c, unsigned i, int pause);

/*
 * Starts member i again (killed first if it runs) with the same name, ports and data
 * dir, and waits until it answers GET /health with "true" (which needs quorum) within
 * VMP_ETCD_START_TIMEOUT_MS. Returns 0 or -errno as start.
 */
int vmp_etcd_cluster_restart(struct vmp_etcd_cluster *c, unsigned i);

/*
 * GET /health of member i with a deadline of timeout_ms: 1 if it says "true", 0 if it
 * answers anything else (no leader, no quorum), -errno if it cannot be reached.
 */
int vmp_etcd_cluster_member_health(const struct vmp_etcd_cluster *c, unsigned i,
				   unsigned timeout_ms);

/*
 * Puts key = value (plain strings) through the v3 JSON gateway (POST /v3/kv/put), trying
 * each running member in turn, all within timeout_ms in total. Returns 0 once a member
 * accepts it, -ETIMEDOUT if none did within the deadline, or -EIO.
 */
int vmp_etcd_cluster_put(const struct vmp_etcd_cluster *c, const char *key, const char *value,
			 unsigned timeout_ms);

/*
 * Kills every member by PID (SIGKILL), reaps it, removes the cluster's directory, frees
 * c. Accepts NULL.
 */
void vmp_etcd_cluster_stop(struct vmp_etcd_cluster *c);

#endif
