/* SPDX-License-Identifier: MIT */
/*
 * The QMP backend on real QEMU guests (TCG): the common scenario (list, stats, balloon
 * down/up, vCPU hot-add, live migration on loopback and across two network namespaces
 * joined by a veth pair), the dirty-rate measurement, the vCPU unplug request path, and
 * a QEMU killed in the middle of an operation. Every QEMU is killed by PID at the end
 * (fixture teardown, plus the harness's atexit/signal/PDEATHSIG/watchdog nets).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>

#include "backend/backend.h"
#include "backend/qmp-client.h"
#include "guest.h"
#include "util/util.h"
#include "scenario.h"

#define VM "vm1"
#define MEM_MIB 512
/* The CPU vmp_scenario_hotadd() plugs (lowest free slot); a destination must have it. */
#define HOTADDED_CPU "qemu64-x86_64-cpu,id=vmp-vcpu-0-0-1-0,socket-id=0,core-id=1,thread-id=0"

static char src_dir[] = "/tmp/vmp-qmp-src-XXXXXX";
static char dst_dir[] = "/tmp/vmp-qmp-dst-XXXXXX";
static char ns_dir[] = "/tmp/vmp-qmp-ns-XXXXXX";
static char aux_dir[] = "/tmp/vmp-qmp-aux-XXXXXX";

/* The guest of the scenario tests, shared by them in order (group fixture). */
static struct vmp_guest *src_guest, *dst_guest, *ns_guest;
/* The fault tests' guests, killed by their teardown even when an assertion fails. */
static struct vmp_guest *fault_guests[3];

static int
kill_fault_guests(void **state)
{
	for (size_t i = 0; i < 3; i++) {
		vmp_guest_kill(fault_guests[i]);
		fault_guests[i] = NULL;
	}
	return 0;
}
static struct vmp_backend *src_b, *dst_b;
/* The namespace test_migrate_netns made, deleted by the group teardown even on failure. */
static char netns_name[32];
static unsigned netns_id;

static void remove_cgroups(void);

static char *
uri_of(const char *dir)
{
	char *u = NULL;

	if (asprintf(&u, "qmp://%s", dir) < 0)
		abort();
	return u;
}

static struct vmp_backend *
open_backend(const char *dir, unsigned timeout_ms)
{
	struct vmp_backend *b = NULL;
	char *uri = uri_of(dir), *err = NULL;
	int r = vmp_backend_open(uri, timeout_ms, &b, &err);

	if (r < 0)
		fprintf(stderr, "cannot open '%s': %s\n", uri, err);
	free(err);
	free(uri);
	return r < 0 ? NULL : b;
}

static struct vmp_scenario
scenario_src(void)
{
	struct vmp_scenario s = {
		.b = src_b, .vm = VM, .guest = src_guest, .mem_mib = MEM_MIB,
		.boot_vcpus = 1, .max_vcpus = 4,
	};
	return s;
}

static int
group_setup(void **state)
{
	struct vmp_guest_config cfg = {
		.name = VM, .qmp_dir = src_dir, .mem_mib = MEM_MIB, .vcpus = 1, .max_vcpus = 4,
		.lifetime_s = 240,
	};

	if (vmp_guest_start(&cfg, &src_guest) < 0 || vmp_guest_wait_boot(src_guest, 60000) < 0)
		return -1;
	src_b = open_backend(src_dir, 10000);
	dst_b = open_backend(dst_dir, 10000);
	return src_b && dst_b ? 0 : -1;
}

static int
group_teardown(void **state)
{
	vmp_backend_close(src_b);
	vmp_backend_close(dst_b);
	vmp_guest_kill(src_guest);
	vmp_guest_kill(dst_guest);
	vmp_guest_kill(ns_guest);
	src_guest = dst_guest = ns_guest = NULL;
	remove_cgroups();
	if (netns_name[0]) {
		char cmd[160];

		/* Its QEMU is dead: the namespace and its veth pair go. */
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip link del vmpm%u-a "
			 "2>/dev/null; true", netns_name, netns_id);
		if (system(cmd) != 0)
			fprintf(stderr, "qmp: cannot remove netns '%s'\n", netns_name);
		netns_name[0] = '\0';
	}
	return 0;
}

static void
test_list(void **state)
{
	struct vmp_scenario s = scenario_src();

	vmp_scenario_list(&s);
}

static void
test_stats(void **state)
{
	struct vmp_scenario s = scenario_src();
	struct vmp_vm_stats vs;
	struct vmp_vm_info *vms = NULL;
	int64_t deadline = vmp_guest_now_ms() + 15000;

	vmp_scenario_stats(&s);
	/* The QMP backend's own fields: per-vCPU times from schedstat, and guest memory
	 * stats once it turned on the balloon's polling (2 s). */
	do {
		assert_int_equal(vmp_backend_vm_stats(src_b, VM, &vs), 0);
		if (vs.valid & VMP_STAT_MEM_AVAILABLE)
			break;
		usleep(300000);
	} while (vmp_guest_now_ms() < deadline);
	assert_true(vs.valid & VMP_STAT_VCPU_TIME);
	assert_int_equal(vs.nvcpus, 1);
	assert_true(vs.valid & VMP_STAT_MEM_AVAILABLE);
	assert_true(vs.valid & VMP_STAT_MEM_UNUSED);
	assert_true(vs.mem_unused_kib < vs.mem_available_kib);
	{
		struct vmp_guest_stats gs;

		/* The balloon's "total" is the guest's MemTotal. */
		assert_int_equal(vmp_guest_stats(src_guest, &gs, 5000), 0);
		assert_int_equal(vs.mem_available_kib, gs.memtotal_kib);
	}
	assert_int_equal(vmp_backend_list_vms(src_b, &vms), 1);
	assert_int_equal(vms[0].stats_period_s, 2);
	free(vms);
}

/* The cgroup v1 cpu hierarchy here, or NULL. */
static const char *
cpu_cgroup_root(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct" };

	for (size_t i = 0; i < 2; i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", roots[i]);
		if (access(path, F_OK) == 0)
			return roots[i];
	}
	return NULL;
}

static long long
read_ll(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -999;

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -999;
		fclose(f);
	}
	return v;
}

/* Threads of pid whose Cpus_allowed_list is exactly want. */
static int
threads_pinned_to(pid_t pid, const char *want)
{
	char path[384], line[256];
	int n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Cpus_allowed_list:", 18)) {
				char *v = line + 18;

				v += strspn(v, " \t");
				v[strcspn(v, "\n")] = '\0';
				n += !strcmp(v, want);
			}
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

/* Pinning a vCPU thread, and a CPU quota on the QEMU process (cgroup v1 cpu). */
static void
test_pin_quota(void **state)
{
	pid_t pid = vmp_guest_pid(src_guest);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const char *root = cpu_cgroup_root();
	struct vmp_vm_stats a, b2;
	char all[32], path[256];
	double share;

	snprintf(all, sizeof(all), "0-%ld", ncpu - 1);
	assert_int_equal(vmp_backend_pin_vcpu(src_b, VM, 0, "0"), 0);
	assert_true(threads_pinned_to(pid, "0") >= 1);
	assert_int_equal(vmp_backend_pin_vcpu(src_b, VM, 7, "0"), -ENOENT);
	assert_int_equal(vmp_backend_pin_vcpu(src_b, VM, 0, all), 0);
	assert_int_equal(threads_pinned_to(pid, "0"), 0);

	if (!root) {
		fprintf(stderr, "*** qmp: no cgroup v1 cpu hierarchy here: the quota part is not "
			"run ***\n");
		return;
	}
	assert_int_equal(vmp_backend_set_cpu_quota(src_b, VM, 20000, 100000, 512), 0);
	snprintf(path, sizeof(path), "%s/vmpilot/%s/cpu.cfs_quota_us", root, VM);
	assert_int_equal(read_ll(path), 20000);
	snprintf(path, sizeof(path), "%s/vmpilot/%s/cpu.shares", root, VM);
	assert_int_equal(read_ll(path), 512);
	/* The cap holds: a busy vCPU gets at most ~20 % of a CPU (35 % allows for noise). */
	assert_int_equal(vmp_guest_cmd(src_guest, "cpu 1", NULL, 10000), 0);
	assert_int_equal(vmp_backend_vm_stats(src_b, VM, &a), 0);
	usleep(2000000);
	assert_int_equal(vmp_backend_vm_stats(src_b, VM, &b2), 0);
	share = (double)(b2.cpu_time_ns - a.cpu_time_ns) / 1e3 /
		(double)(b2.sample_time_us - a.sample_time_us);
	printf("qmp: QEMU at a 20 %% cpu quota used %.0f %% of a CPU\n", share * 100);
	assert_true(share < 0.35);
	assert_int_equal(vmp_backend_set_cpu_quota(src_b, VM, -1, 0, 1024), 0);
	snprintf(path, sizeof(path), "%s/vmpilot/%s/cpu.cfs_quota_us", root, VM);
	assert_int_equal(read_ll(path), -1);
	assert_int_equal(vmp_guest_cmd(src_guest, "stop", NULL, 10000), 0);
	assert_int_equal(vmp_backend_set_cpu_quota(src_b, VM, 10, 0, 0), -EINVAL);
}

/* Removes the cgroups test_pin_quota made (QEMU is dead by then). */
static void
remove_cgroups(void)
{
	const char *root = cpu_cgroup_root();
	char path[256];

	if (!root)
		return;
	snprintf(path, sizeof(path), "%s/vmpilot/%s", root, VM);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/vmpilot", root);
	rmdir(path);
}

static void
test_balloon(void **state)
{
	struct vmp_scenario s = scenario_src();

	vmp_scenario_balloon(&s);
}

static void
test_hotadd(void **state)
{
	struct vmp_scenario s = scenario_src();

	vmp_scenario_hotadd(&s);
}

struct memtotal_want {
	uint64_t kib;
};

static bool
memtotal_below(const struct vmp_guest_stats *g, void *arg)
{
	return g->memtotal_kib < ((struct memtotal_want *)arg)->kib;
}

/* Runs `vmpilot status --json` on the source directory; returns vm1's object. */
static json_t *
status_vm1(char **ret_text)
{
	const char *build = getenv("VMP_BUILD_DIR");
	char cmd[600], buf[65536];
	size_t len = 0, n;
	json_t *root, *vms, *vm = NULL;
	FILE *f;

	assert_non_null(build);
	snprintf(cmd, sizeof(cmd), "'%s/vmpilot' status --connect qmp://%s --json", build, src_dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(buf + len, 1, sizeof(buf) - 1 - len, f)) > 0)
		len += n;
	buf[len] = '\0';
	assert_int_equal(pclose(f), 0);
	root = json_loads(buf, 0, NULL);
	assert_non_null(root);
	vms = json_object_get(root, "vms");
	for (size_t i = 0; i < json_array_size(vms); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(vms, i), "name")), VM))
			vm = json_incref(json_array_get(vms, i));
	json_decref(root);
	assert_non_null(vm);
	*ret_text = strdup(buf);
	return vm;
}

/* `vmpilot status` over this backend shows what the guest itself reports. */
static void
test_status_cli(void **state)
{
	struct memtotal_want want;
	struct vmp_guest_stats before, gs;
	int64_t deadline;
	json_t *vm = NULL;
	char *text = NULL;

	assert_int_equal(vmp_guest_stats(src_guest, &before, 10000), 0);
	want.kib = before.memtotal_kib - 64 * 1024;
	assert_int_equal(vmp_backend_set_balloon(src_b, VM, (MEM_MIB - 128) * 1024), 0);
	assert_int_equal(vmp_guest_wait_until(src_guest, memtotal_below, &want, 30000, &gs), 0);
	/* QEMU serves one QMP client at a time: the CLI needs the socket. */
	vmp_backend_close(src_b);
	src_b = NULL;
	deadline = vmp_guest_now_ms() + 15000;
	for (;;) {
		json_int_t total;

		json_decref(vm);
		free(text);
		vm = status_vm1(&text);
		assert_int_equal(vmp_guest_stats(src_guest, &gs, 10000), 0);
		total = json_integer_value(json_object_get(vm, "guest_mem_total_kib"));
		/* The balloon driver's report lags the guest by up to its 2 s period. */
		if ((uint64_t)total == gs.memtotal_kib || vmp_guest_now_ms() >= deadline)
			break;
		usleep(500000);
	}
	printf("qmp: vmpilot status: %s", text);
	printf("qmp: guest reports cpus=%u memtotal_kib=%" PRIu64 "\n", gs.cpus_online,
	       gs.memtotal_kib);
	assert_int_equal(json_integer_value(json_object_get(vm, "memory_actual_kib")),
			 (MEM_MIB - 128) * 1024);
	assert_int_equal(json_integer_value(json_object_get(vm, "guest_mem_total_kib")),
			 gs.memtotal_kib);
	assert_int_equal(json_integer_value(json_object_get(vm, "vcpus_current")), gs.cpus_online);
	assert_string_equal(json_string_value(json_object_get(vm, "state")), "running");
	json_decref(vm);
	free(text);
	src_b = open_backend(src_dir, 10000);
	assert_non_null(src_b);
	assert_int_equal(vmp_backend_set_balloon(src_b, VM, MEM_MIB * 1024), 0);
}

static void
test_dirty_rate(void **state)
{
	uint64_t idle = 0, busy = 0;

	assert_int_equal(vmp_backend_dirty_rate(src_b, VM, 1000, &idle), 0);
	assert_int_equal(vmp_guest_cmd(src_guest, "dirty 64 64", NULL, 10000), 0);
	assert_int_equal(vmp_backend_dirty_rate(src_b, VM, 1000, &busy), 0);
	assert_int_equal(vmp_guest_cmd(src_guest, "stop", NULL, 10000), 0);
	printf("qmp: dirty rate of vm '%s': idle %" PRIu64 " MiB/s, dirtying 64 MiB/s: %" PRIu64
	       " MiB/s\n", VM, idle, busy);
	assert_true(busy > idle);
	assert_true(busy >= 4);
}

static void
test_migrate_loopback(void **state)
{
	const char *extra[] = { "-device", HOTADDED_CPU, NULL };
	struct vmp_guest_config cfg = {
		.name = VM, .qmp_dir = dst_dir, .mem_mib = MEM_MIB, .vcpus = 1, .max_vcpus = 4,
		.incoming = "defer", .extra_args = extra, .lifetime_s = 200,
	};
	struct vmp_scenario s = scenario_src();
	struct vmp_migrate_progress p;
	char *dest_uri = uri_of(dst_dir), migrate_uri[64];
	struct vmp_migrate_params mp = {
		.dest_uri = dest_uri, .migrate_uri = migrate_uri, .max_downtime_ms = 300,
	};
	struct vmp_vm_info *vms = NULL;

	snprintf(migrate_uri, sizeof(migrate_uri), "tcp://127.0.0.1:%d", vmp_scenario_free_port());
	assert_int_equal(vmp_guest_start(&cfg, &dst_guest), 0);
	assert_int_equal(vmp_guest_wait_qmp(dst_guest, 20000), 0);
	vmp_scenario_migrate(&s, &mp, dst_guest, &p);
	/* Both ends as the backends see them. */
	assert_int_equal(vmp_backend_list_vms(src_b, &vms), 1);
	assert_int_equal(vms[0].state, VMP_VM_PAUSED);
	free(vms);
	assert_int_equal(vmp_backend_list_vms(dst_b, &vms), 1);
	assert_int_equal(vms[0].state, VMP_VM_RUNNING);
	assert_int_equal(vms[0].vcpus_current, 2);
	free(vms);
	free(dest_uri);
}

static bool
run(const char *cmd)
{
	int st = system(cmd);

	if (st != 0)
		fprintf(stderr, "qmp: '%s' failed (status %d)\n", cmd, st);
	return st == 0;
}

static void
test_migrate_netns(void **state)
{
	const char *extra[] = { "-device", HOTADDED_CPU, NULL };
	char ns[32], cmd[512], *dest_uri = uri_of(ns_dir), migrate_uri[64];
	struct vmp_guest_config cfg = {
		.name = VM, .qmp_dir = ns_dir, .mem_mib = MEM_MIB, .vcpus = 1, .max_vcpus = 4,
		.incoming = "defer", .extra_args = extra, .netns = ns, .lifetime_s = 120,
	};
	struct vmp_scenario s = {
		.b = dst_b, .vm = VM, .guest = dst_guest, .mem_mib = MEM_MIB,
		.boot_vcpus = 2, .max_vcpus = 4,
	};
	struct vmp_migrate_params mp = { .dest_uri = dest_uri, .migrate_uri = migrate_uri };
	unsigned id = (unsigned)getpid() % 200 + 20;
	bool ok;

	assert_non_null(dst_guest);
	snprintf(ns, sizeof(ns), "vmp-mig-%u", id);
	snprintf(netns_name, sizeof(netns_name), "%s", ns);
	netns_id = id;
	/* The loopback destination (root namespace) migrates into namespace ns over veth. */
	snprintf(cmd, sizeof(cmd),
		 "ip netns add %s && ip link add vmpm%u-a type veth peer name vmpm%u-b && "
		 "ip link set vmpm%u-b netns %s && ip addr add 10.231.%u.1/24 dev vmpm%u-a && "
		 "ip link set vmpm%u-a up && ip -n %s addr add 10.231.%u.2/24 dev vmpm%u-b && "
		 "ip -n %s link set vmpm%u-b up && ip -n %s link set lo up",
		 ns, id, id, id, ns, id, id, id, ns, id, id, ns, id, ns);
	if (!run(cmd)) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip link del vmpm%u-a 2>/dev/null",
			 ns, id);
		run(cmd);
		fprintf(stderr, "*** qmp: cannot create network namespaces here: SKIPPING the "
			"cross-namespace migration ***\n");
		free(dest_uri);
		skip();
	}
	snprintf(migrate_uri, sizeof(migrate_uri), "tcp://10.231.%u.2:%d", id,
		 vmp_scenario_free_port());
	ok = vmp_guest_start(&cfg, &ns_guest) == 0 && vmp_guest_wait_qmp(ns_guest, 20000) == 0;
	if (ok)
		vmp_scenario_migrate(&s, &mp, ns_guest, NULL);
	snprintf(cmd, sizeof(cmd), "ip netns del %s", ns);
	/* QEMU in the namespace dies first, then the namespace and its veth go. */
	vmp_guest_kill(ns_guest);
	ns_guest = NULL;
	if (run(cmd))
		netns_name[0] = '\0';
	free(dest_uri);
	assert_true(ok);
}

static bool
cpus_at_least_2(const struct vmp_guest_stats *g, void *arg)
{
	return g->cpus_online >= *(unsigned *)arg;
}

/* vCPU unplug: the request path and its outcome, on a fresh QEMU that never hot-adds
 * after an unplug (QEMU 7.2 TCG crashes on a device_add after a device_del). */
static void
test_unplug_request(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "unplug", .qmp_dir = aux_dir, .mem_mib = 256, .vcpus = 1, .max_vcpus = 3,
		.lifetime_s = 120,
	};
	struct vmp_guest *g = NULL;
	struct vmp_backend *b = open_backend(aux_dir, 8000);
	struct vmp_guest_stats gs;
	struct vmp_vm_info *vms = NULL;
	unsigned two = 2;
	int r;

	assert_non_null(b);
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_boot(g, 60000), 0);
	/* Out of range and below the boot vCPUs: refused, with a message naming the vm. */
	assert_int_equal(vmp_backend_set_vcpus(b, "unplug", 4), -ERANGE);
	assert_non_null(strstr(vmp_backend_error(b), "'unplug'"));
	assert_int_equal(vmp_backend_set_vcpus(b, "unplug", 2), 0);
	assert_int_equal(vmp_guest_wait_until(g, cpus_at_least_2, &two, 30000, &gs), 0);
	r = vmp_backend_set_vcpus(b, "unplug", 1);
	printf("qmp: unplug of a hot-added vcpu: %d (%s)\n", r, r < 0 ? vmp_backend_error(b) : "done");
	/* Either the guest released it (DEVICE_DELETED) or the backend says it did not. */
	assert_true(r == 0 || r == -ETIMEDOUT);
	if (r < 0)
		assert_non_null(strstr(vmp_backend_error(b), "did not release"));
	assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
	assert_int_equal(vms[0].vcpus_current, r == 0 ? 1 : 2);
	free(vms);
	assert_int_equal(vmp_backend_set_vcpus(b, "unplug", 0), -ERANGE);
	vmp_backend_close(b);
	kill_fault_guests(NULL);
}

static char pc_dir[] = "/tmp/vmp-qmp-pc-XXXXXX";

/* Polls a migration until it leaves the active state (deadline), printing the end. */
static struct vmp_migrate_progress
poll_until_done(struct vmp_backend *b, const char *vm, unsigned timeout_ms)
{
	struct vmp_migrate_progress p = { 0 };
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;

	do {
		assert_int_equal(vmp_backend_migrate_poll(b, vm, &p), 0);
		if (p.state != VMP_MIGRATE_ACTIVE)
			break;
		usleep(50000);
	} while (vmp_guest_now_ms() < deadline);
	return p;
}

/*
 * A guest that keeps dirtying memory: a bandwidth-capped migration is cancelled (the
 * source runs on), then a postcopy migration with auto-converge finishes it.
 */
static void
test_migrate_cancel_postcopy(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "busy", .qmp_dir = aux_dir, .mem_mib = 384, .lifetime_s = 150,
	};
	struct vmp_guest_config dcfg = {
		.name = "busy", .qmp_dir = pc_dir, .mem_mib = 384, .incoming = "defer",
		.lifetime_s = 150,
	};
	struct vmp_guest *g = NULL, *d1 = NULL, *d2 = NULL;
	struct vmp_backend *b = open_backend(aux_dir, 10000);
	char *dest_uri = uri_of(pc_dir), migrate_uri[64];
	struct vmp_migrate_params mp = {
		.dest_uri = dest_uri, .migrate_uri = migrate_uri, .bandwidth_mibps = 8,
	};
	struct vmp_migrate_progress p = { 0 };
	struct vmp_guest_stats gs;
	int64_t deadline;
	int r;

	assert_non_null(b);
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_boot(g, 60000), 0);
	assert_int_equal(vmp_guest_cmd(g, "dirty 96 0", NULL, 10000), 0);

	/* 1. Capped at 8 MiB/s: still running when cancelled. */
	snprintf(migrate_uri, sizeof(migrate_uri), "tcp://127.0.0.1:%d", vmp_scenario_free_port());
	assert_int_equal(vmp_guest_start(&dcfg, &d1), 0);
	fault_guests[1] = d1;
	assert_int_equal(vmp_guest_wait_qmp(d1, 20000), 0);
	assert_int_equal(vmp_backend_migrate_start(b, "busy", &mp), 0);
	deadline = vmp_guest_now_ms() + 20000;
	do {
		assert_int_equal(vmp_backend_migrate_poll(b, "busy", &p), 0);
		if (p.transferred_bytes > 0)
			break;
		usleep(50000);
	} while (vmp_guest_now_ms() < deadline);
	assert_int_equal(p.state, VMP_MIGRATE_ACTIVE);
	assert_int_equal(vmp_backend_migrate_cancel(b, "busy"), 0);
	p = poll_until_done(b, "busy", 20000);
	printf("qmp: capped migration cancelled: %s after %" PRIu64 " ms, %" PRIu64 " bytes\n",
	       vmp_scenario_migrate_state(p.state), p.total_time_ms, p.transferred_bytes);
	assert_int_equal(p.state, VMP_MIGRATE_CANCELLED);
	/* The source guest runs on. */
	assert_int_equal(vmp_guest_stats(g, &gs, 10000), 0);
	vmp_guest_kill(d1);
	fault_guests[1] = NULL;

	/* 2. Postcopy + auto-converge, unlimited bandwidth, into a fresh destination. */
	snprintf(migrate_uri, sizeof(migrate_uri), "tcp://127.0.0.1:%d", vmp_scenario_free_port());
	mp.bandwidth_mibps = 0;
	mp.postcopy = true;
	mp.auto_converge = true;
	assert_int_equal(vmp_guest_start(&dcfg, &d2), 0);
	fault_guests[2] = d2;
	assert_int_equal(vmp_guest_wait_qmp(d2, 20000), 0);
	r = vmp_backend_migrate_start(b, "busy", &mp);
	if (r < 0)
		fprintf(stderr, "qmp: %s\n", vmp_backend_error(b));
	assert_int_equal(r, 0);
	p = poll_until_done(b, "busy", 60000);
	printf("qmp: postcopy migration of a guest dirtying 96 MiB: %s, total time %" PRIu64
	       " ms, downtime %" PRIu64 " ms, %" PRIu64 " bytes\n",
	       vmp_scenario_migrate_state(p.state), p.total_time_ms, p.downtime_ms,
	       p.transferred_bytes);
	assert_int_equal(p.state, VMP_MIGRATE_COMPLETED);
	/* The guest runs on at the destination. (Only the idempotent "stats": once in about
	 * twenty runs the agent of a guest that was just migrated left one command
	 * unanswered, see tests/guest/README.md.) */
	assert_int_equal(vmp_guest_stats(d2, &gs, 20000), 0);
	assert_true(gs.uptime_s > 0);
	vmp_backend_close(b);
	kill_fault_guests(NULL);
	free(dest_uri);
}

/*
 * Makes a CA, a server certificate for 127.0.0.1 and a client certificate with certtool
 * (gnutls-bin) in dir, named as QEMU's tls-creds-x509 reads them. Returns 0 or -1.
 */
static int
make_certs(const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; "
		 "printf 'cn = vmpilot test CA\nca\ncert_signing_key\nexpiration_days = 2\n' >ca.info; "
		 "certtool --generate-privkey --outfile ca-key.pem 2>/dev/null; "
		 "certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info "
		 "--outfile ca-cert.pem 2>/dev/null; "
		 "printf 'cn = 127.0.0.1\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\n"
		 "encryption_key\nsigning_key\nexpiration_days = 2\n' >server.info; "
		 "certtool --generate-privkey --outfile server-key.pem 2>/dev/null; "
		 "certtool --generate-certificate --load-privkey server-key.pem --load-ca-certificate "
		 "ca-cert.pem --load-ca-privkey ca-key.pem --template server.info "
		 "--outfile server-cert.pem 2>/dev/null; "
		 "printf 'cn = vmpilot source\ntls_www_client\nencryption_key\nsigning_key\n"
		 "expiration_days = 2\n' >client.info; "
		 "certtool --generate-privkey --outfile client-key.pem 2>/dev/null; "
		 "certtool --generate-certificate --load-privkey client-key.pem --load-ca-certificate "
		 "ca-cert.pem --load-ca-privkey ca-key.pem --template client.info "
		 "--outfile client-cert.pem 2>/dev/null", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * A migration over TLS (migration_tls_dir): both QEMUs get x509 credentials made in the
 * test, the migration completes, and the destination shows it received over TLS
 * (query-migrate-parameters: tls-creds). A source whose certificates come from another
 * CA is refused by the destination: the stream really is TLS.
 */
static void
test_migrate_tls(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "tls", .qmp_dir = aux_dir, .mem_mib = 256, .lifetime_s = 120,
	};
	struct vmp_guest_config dcfg = {
		.name = "tls", .qmp_dir = pc_dir, .mem_mib = 256, .incoming = "defer",
		.lifetime_s = 120,
	};
	char certs[] = "/tmp/vmp-qmp-tls-XXXXXX", path[160], migrate_uri[64], *err = NULL;
	struct vmp_guest *g = NULL, *d = NULL;
	struct vmp_backend *b = open_backend(aux_dir, 10000);
	char *dest_uri = uri_of(pc_dir);
	struct vmp_migrate_params mp = {
		.dest_uri = dest_uri, .migrate_uri = migrate_uri, .tls = true, .tls_dir = certs,
	};
	struct vmp_migrate_progress p;
	struct vmp_qmp *q = NULL;
	json_t *val = NULL;

	assert_non_null(b);
	assert_non_null(mkdtemp(certs));
	if (make_certs(certs) < 0)
		fail_msg("cannot make certificates with certtool (package gnutls-bin)");
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_boot(g, 60000), 0);
	assert_int_equal(vmp_guest_start(&dcfg, &d), 0);
	fault_guests[1] = d;
	assert_int_equal(vmp_guest_wait_qmp(d, 20000), 0);
	snprintf(migrate_uri, sizeof(migrate_uri), "tcp://127.0.0.1:%d", vmp_scenario_free_port());
	if (vmp_backend_migrate_start(b, "tls", &mp) < 0)
		fail_msg("%s", vmp_backend_error(b));
	p = poll_until_done(b, "tls", 60000);
	printf("qmp: TLS migration: %s, total time %" PRIu64 " ms, downtime %" PRIu64 " ms, %"
	       PRIu64 " bytes\n", vmp_scenario_migrate_state(p.state), p.total_time_ms,
	       p.downtime_ms, p.transferred_bytes);
	if (p.state != VMP_MIGRATE_COMPLETED)
		fprintf(stderr, "qmp: %s\n", vmp_backend_error(b));
	assert_int_equal(p.state, VMP_MIGRATE_COMPLETED);
	/* The destination received with its TLS credentials. */
	snprintf(path, sizeof(path), "%s/tls.sock", pc_dir);
	if (vmp_qmp_connect(path, vmp_monotonic_ms() + 10000, &q, &err) < 0)
		fail_msg("%s", err);
	assert_int_equal(vmp_qmp_execute(q, "query-migrate-parameters", NULL,
					 vmp_monotonic_ms() + 10000, &val, &err), 0);
	assert_string_equal(json_string_value(json_object_get(val, "tls-creds")), "vmp-tls");
	json_decref(val);
	vmp_qmp_close(q);
	kill_fault_guests(NULL);

	/* The source with a client certificate of another CA: refused. */
	{
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "set -e; cd '%s'; mkdir other; cd other; "
			 "certtool --generate-privkey --outfile ca-key.pem 2>/dev/null; "
			 "certtool --generate-self-signed --load-privkey ca-key.pem "
			 "--template ../ca.info --outfile ca-cert.pem 2>/dev/null; "
			 "certtool --generate-privkey --outfile client-key.pem 2>/dev/null; "
			 "certtool --generate-certificate --load-privkey client-key.pem "
			 "--load-ca-certificate ca-cert.pem --load-ca-privkey ca-key.pem "
			 "--template ../client.info --outfile client-cert.pem 2>/dev/null; "
			 "cp ../server-cert.pem ../server-key.pem .", certs);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_qmp(g, 20000), 0);
	assert_int_equal(vmp_guest_start(&dcfg, &d), 0);
	fault_guests[1] = d;
	assert_int_equal(vmp_guest_wait_qmp(d, 20000), 0);
	/* Destination: the test's CA; source: the other one. */
	{
		char *dir2 = xasprintf("%s/other", certs);
		struct vmp_backend *b2 = open_backend(aux_dir, 10000);

		snprintf(migrate_uri, sizeof(migrate_uri), "tcp://127.0.0.1:%d",
			 vmp_scenario_free_port());
		snprintf(path, sizeof(path), "%s/tls.sock", pc_dir);
		/* Prepare the destination by hand with the good credentials. */
		if (vmp_qmp_connect(path, vmp_monotonic_ms() + 10000, &q, &err) < 0)
			fail_msg("%s", err);
		assert_int_equal(vmp_qmp_execute(q, "object-add",
			json_pack("{s:s,s:s,s:s,s:s,s:b}", "qom-type", "tls-creds-x509", "id",
				  "vmp-tls", "dir", certs, "endpoint", "server", "verify-peer", 1),
			vmp_monotonic_ms() + 10000, NULL, &err), 0);
		assert_int_equal(vmp_qmp_execute(q, "migrate-set-parameters",
			json_pack("{s:s}", "tls-creds", "vmp-tls"), vmp_monotonic_ms() + 10000, NULL,
			&err), 0);
		{
			/* QEMU's spelling: tcp:HOST:PORT. */
			char *quri = xasprintf("tcp:%s", migrate_uri + strlen("tcp://"));

			assert_int_equal(vmp_qmp_execute(q, "migrate-incoming",
				json_pack("{s:s}", "uri", quri), vmp_monotonic_ms() + 10000, NULL,
				&err), 0);
			free(quri);
		}
		vmp_qmp_close(q);
		mp.dest_uri = NULL;   /* prepared above */
		mp.tls_dir = dir2;
		if (vmp_backend_migrate_start(b2, "tls", &mp) == 0) {
			p = poll_until_done(b2, "tls", 30000);
			printf("qmp: TLS migration with a certificate of another CA: %s (%s)\n",
			       vmp_scenario_migrate_state(p.state), vmp_backend_error(b2));
			assert_int_not_equal(p.state, VMP_MIGRATE_COMPLETED);
		} else {
			printf("qmp: TLS migration with a certificate of another CA refused: %s\n",
			       vmp_backend_error(b2));
		}
		vmp_backend_close(b2);
		free(dir2);
	}
	vmp_backend_close(b);
	kill_fault_guests(NULL);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certs);
		assert_int_equal(system(cmd), 0);
	}
	free(dest_uri);
}

struct killer {
	pid_t pid;
	unsigned after_ms;
};

static void *
kill_later(void *arg)
{
	struct killer *k = arg;

	usleep(k->after_ms * 1000);
	kill(k->pid, SIGKILL);
	return NULL;
}

/* QEMU killed in the middle of an operation: an error naming the vm, promptly. */
static void
test_killed_mid_operation(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "victim", .qmp_dir = aux_dir, .mem_mib = 256, .lifetime_s = 60,
	};
	struct vmp_guest *g = NULL;
	struct vmp_backend *b = open_backend(aux_dir, 5000);
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats vs;
	struct killer k;
	pthread_t t;
	uint64_t rate = 0;
	int64_t t0;
	int r, n;

	assert_non_null(b);
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_boot(g, 60000), 0);
	assert_int_equal(vmp_backend_vm_stats(b, "victim", &vs), 0);
	/* The dirty-rate measurement blocks for 3 s; QEMU dies 0.5 s into it. */
	k.pid = vmp_guest_pid(g);
	k.after_ms = 500;
	assert_int_equal(pthread_create(&t, NULL, kill_later, &k), 0);
	t0 = vmp_guest_now_ms();
	r = vmp_backend_dirty_rate(b, "victim", 3000, &rate);
	pthread_join(t, NULL);
	printf("qmp: dirty rate with QEMU killed mid-call: %d after %" PRId64 " ms: %s\n", r,
	       vmp_guest_now_ms() - t0, vmp_backend_error(b));
	assert_true(r < 0);
	assert_true(vmp_guest_now_ms() - t0 < 5000);
	assert_non_null(strstr(vmp_backend_error(b), "'victim'"));
	/*
	 * Afterwards: the vm is gone. SIGKILL leaves its socket file behind, so it is
	 * listed as crashed (not as a clean shutoff) until the file goes.
	 */
	r = vmp_backend_vm_stats(b, "victim", &vs);
	assert_true(r == -ECONNREFUSED || r == -ENOENT);
	assert_non_null(strstr(vmp_backend_error(b), r == -ECONNREFUSED ? "its QEMU is gone"
									 : "no such vm"));
	n = vmp_backend_list_vms(b, &vms);
	for (int i = 0; i < n; i++)
		if (!strcmp(vms[i].name, "victim"))
			assert_int_equal(vms[i].state, r == -ECONNREFUSED ? VMP_VM_CRASHED
									 : VMP_VM_SHUTOFF);
	free(vms);
	kill_fault_guests(NULL);

	/* A new QEMU behind the same socket: the backend reconnects. */
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_qmp(g, 20000), 0);
	r = vmp_backend_vm_stats(b, "victim", &vs);
	if (r < 0)
		fprintf(stderr, "qmp: after a new start: %s\n", vmp_backend_error(b));
	assert_int_equal(r, 0);
	/* Restarted between two operations: the next one still works, first time. */
	kill_fault_guests(NULL);
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_qmp(g, 20000), 0);
	r = vmp_backend_vm_stats(b, "victim", &vs);
	if (r < 0)
		fprintf(stderr, "qmp: after a restart: %s\n", vmp_backend_error(b));
	assert_int_equal(r, 0);
	vmp_backend_close(b);
	kill_fault_guests(NULL);
}

/* A QEMU that stops answering (SIGSTOP): bounded by the timeout, then usable again. */
static void
test_stopped_qemu(void **state)
{
	struct vmp_guest_config cfg = {
		.name = "frozen", .qmp_dir = aux_dir, .mem_mib = 256, .lifetime_s = 60,
	};
	struct vmp_guest *g = NULL;
	struct vmp_backend *b = open_backend(aux_dir, 1500);
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats vs;
	int64_t t0, took;
	int r, n;

	assert_non_null(b);
	assert_int_equal(vmp_guest_start(&cfg, &g), 0);
	fault_guests[0] = g;
	assert_int_equal(vmp_guest_wait_qmp(g, 20000), 0);
	assert_int_equal(vmp_backend_vm_stats(b, "frozen", &vs), 0);
	assert_int_equal(kill(vmp_guest_pid(g), SIGSTOP), 0);
	t0 = vmp_guest_now_ms();
	r = vmp_backend_vm_stats(b, "frozen", &vs);
	took = vmp_guest_now_ms() - t0;
	printf("qmp: stats of a stopped QEMU: %d after %" PRId64 " ms: %s\n", r, took,
	       vmp_backend_error(b));
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(took >= 1400 && took < 3000);
	assert_non_null(strstr(vmp_backend_error(b), "vm 'frozen'"));
	t0 = vmp_guest_now_ms();
	n = vmp_backend_list_vms(b, &vms);
	took = vmp_guest_now_ms() - t0;
	assert_int_equal(n, 1);
	assert_int_equal(vms[0].state, VMP_VM_UNKNOWN);
	assert_true(took < 3000);
	free(vms);
	/* Running again: the late replies are dropped by id, the next call is answered. */
	assert_int_equal(kill(vmp_guest_pid(g), SIGCONT), 0);
	r = vmp_backend_vm_stats(b, "frozen", &vs);
	if (r < 0)
		fprintf(stderr, "qmp: after SIGCONT: %s\n", vmp_backend_error(b));
	assert_int_equal(r, 0);
	assert_true(vs.valid & VMP_STAT_BALLOON_ACTUAL);
	assert_int_equal(vs.balloon_actual_kib, 256 * 1024);
	vmp_backend_close(b);
	kill_fault_guests(NULL);
}

int
main(void)
{
	const struct CMUnitTest scenario[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_pin_quota),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_hotadd),
		cmocka_unit_test(test_status_cli),
		cmocka_unit_test(test_dirty_rate),
		cmocka_unit_test(test_migrate_loopback),
		cmocka_unit_test(test_migrate_netns),
	};
	const struct CMUnitTest faults[] = {
		cmocka_unit_test_teardown(test_unplug_request, kill_fault_guests),
		cmocka_unit_test_teardown(test_migrate_cancel_postcopy, kill_fault_guests),
		cmocka_unit_test_teardown(test_migrate_tls, kill_fault_guests),
		cmocka_unit_test_teardown(test_killed_mid_operation, kill_fault_guests),
		cmocka_unit_test_teardown(test_stopped_qemu, kill_fault_guests),
	};
	int r;

	vmp_guest_require();
	if (!mkdtemp(src_dir) || !mkdtemp(dst_dir) || !mkdtemp(ns_dir) || !mkdtemp(aux_dir) ||
	    !mkdtemp(pc_dir))
		return 1;
	r = cmocka_run_group_tests_name("qmp-scenario", scenario, group_setup, group_teardown);
	r += cmocka_run_group_tests_name("qmp-faults", faults, NULL, NULL);
	vmp_guest_kill_all();
	/*
	 * Sockets QEMU left behind: this run's directories only (a glob would delete those
	 * of another run of this test going on beside it, e.g. from another worktree).
	 */
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s' '%s' '%s'", src_dir, dst_dir,
			 ns_dir, aux_dir, pc_dir);
		if (system(cmd) != 0)
			r++;
	}
	return r;
}
