/* SPDX-License-Identifier: MIT */
/* The common real-VM scenario every backend must pass (scenario.h). */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "scenario.h"

#define MIB_KIB 1024u
#define TOLERANCE_KIB (8u * 1024)

static void
nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
check(const struct vmp_scenario *s, int r, const char *what)
{
	if (r < 0)
		fprintf(stderr, "scenario: %s of vm '%s' failed: %s\n", what, s->vm,
			vmp_backend_error(s->b));
	assert_true(r >= 0);
}

static const struct vmp_vm_info *
find_vm(const struct vmp_vm_info *vms, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(vms[i].name, name))
			return &vms[i];
	return NULL;
}

void
vmp_scenario_list(const struct vmp_scenario *s)
{
	struct vmp_vm_info *vms = NULL;
	const struct vmp_vm_info *v;
	int n = vmp_backend_list_vms(s->b, &vms);

	check(s, n, "list");
	v = find_vm(vms, n, s->vm);
	assert_non_null(v);
	assert_int_equal(v->state, VMP_VM_RUNNING);
	assert_int_equal(v->vcpus_current, s->boot_vcpus);
	assert_int_equal(v->vcpus_max, s->max_vcpus);
	assert_int_equal(v->memory_max_kib, (uint64_t)s->mem_mib * MIB_KIB);
	assert_true(v->has_balloon);
	assert_true(v->memory_current_kib > 0 && v->memory_current_kib <= v->memory_max_kib);
	free(vms);
}

void
vmp_scenario_stats(const struct vmp_scenario *s)
{
	struct vmp_vm_stats a, b2;
	struct vmp_host_info hi;
	struct vmp_host_stats hs;
	int64_t deadline = vmp_guest_now_ms() + 20000;

	check(s, vmp_backend_host_info(s->b, &hi), "host info");
	assert_true(hi.cpus >= 1);
	assert_true(hi.memory_kib > 0);
	assert_true(hi.hostname[0]);
	check(s, vmp_backend_host_stats(s->b, &hs), "host stats");
	assert_true(hs.cpu_total_ns >= hs.cpu_busy_ns);
	assert_true(hs.mem_total_kib > 0);

	check(s, vmp_backend_vm_stats(s->b, s->vm, &a), "stats");
	assert_true(a.valid & VMP_STAT_CPU_TIME);
	assert_true(a.valid & VMP_STAT_BALLOON_ACTUAL);
	assert_int_equal(a.balloon_actual_kib, (uint64_t)s->mem_mib * MIB_KIB);
	/* Load the guest: its CPU time must grow between two samples. */
	assert_int_equal(vmp_guest_cmd(s->guest, "cpu 1", NULL, 10000), 0);
	do {
		nap_ms(300);
		check(s, vmp_backend_vm_stats(s->b, s->vm, &b2), "stats");
	} while (b2.cpu_time_ns < a.cpu_time_ns + 100000000ull && vmp_guest_now_ms() < deadline);
	assert_int_equal(vmp_guest_cmd(s->guest, "stop", NULL, 10000), 0);
	assert_true(b2.sample_time_us > a.sample_time_us);
	assert_true(b2.cpu_time_ns >= a.cpu_time_ns + 100000000ull);
	printf("scenario: vm '%s' used %.2f s of CPU in %.2f s under 'cpu 1'\n", s->vm,
	       (double)(b2.cpu_time_ns - a.cpu_time_ns) / 1e9,
	       (double)(b2.sample_time_us - a.sample_time_us) / 1e6);
}

struct memtotal_near {
	uint64_t want_kib;
};

static bool
memtotal_is_near(const struct vmp_guest_stats *g, void *arg)
{
	const struct memtotal_near *m = arg;
	uint64_t d = g->memtotal_kib > m->want_kib ? g->memtotal_kib - m->want_kib
						   : m->want_kib - g->memtotal_kib;

	return d <= TOLERANCE_KIB;
}

static void
balloon_step(const struct vmp_scenario *s, uint64_t target_kib, uint64_t full_memtotal_kib)
{
	uint64_t full_kib = (uint64_t)s->mem_mib * MIB_KIB;
	struct memtotal_near want = { full_memtotal_kib - (full_kib - target_kib) };
	struct vmp_guest_stats gs;
	struct vmp_vm_stats vs;
	int64_t t0 = vmp_guest_now_ms(), deadline = t0 + 30000;
	int r;

	check(s, vmp_backend_set_balloon(s->b, s->vm, target_kib), "set balloon");
	r = vmp_guest_wait_until(s->guest, memtotal_is_near, &want, 30000, &gs);
	printf("scenario: balloon of vm '%s' to %" PRIu64 " KiB: guest MemTotal %" PRIu64
	       " KiB (expected %" PRIu64 ") after %" PRId64 " ms\n", s->vm, target_kib,
	       gs.memtotal_kib, want.want_kib, vmp_guest_now_ms() - t0);
	assert_int_equal(r, 0);
	/* The backend sees the same: the balloon reached its target. */
	do {
		check(s, vmp_backend_vm_stats(s->b, s->vm, &vs), "stats");
		if (vs.balloon_actual_kib == target_kib)
			break;
		nap_ms(200);
	} while (vmp_guest_now_ms() < deadline);
	assert_int_equal(vs.balloon_actual_kib, target_kib);
}

void
vmp_scenario_balloon(const struct vmp_scenario *s)
{
	uint64_t full_kib = (uint64_t)s->mem_mib * MIB_KIB;
	struct vmp_guest_stats before, after;

	assert_int_equal(vmp_guest_stats(s->guest, &before, 10000), 0);
	assert_true(before.memtotal_kib > full_kib / 2);
	balloon_step(s, full_kib / 2, before.memtotal_kib);
	balloon_step(s, full_kib, before.memtotal_kib);
	assert_int_equal(vmp_guest_stats(s->guest, &after, 10000), 0);
	assert_true(after.memtotal_kib + TOLERANCE_KIB >= before.memtotal_kib);
}

static bool
cpus_at_least(const struct vmp_guest_stats *g, void *arg)
{
	return g->cpus_online >= *(unsigned *)arg;
}

void
vmp_scenario_hotadd(const struct vmp_scenario *s)
{
	unsigned want = s->boot_vcpus + 1;
	struct vmp_vm_info *vms = NULL;
	const struct vmp_vm_info *v;
	struct vmp_guest_stats gs;
	struct vmp_vm_stats vs;
	int64_t t0 = vmp_guest_now_ms();
	int n, r;

	assert_int_equal(vmp_guest_stats(s->guest, &gs, 10000), 0);
	assert_int_equal(gs.cpus_online, s->boot_vcpus);
	check(s, vmp_backend_set_vcpus(s->b, s->vm, want), "set vcpus");
	r = vmp_guest_wait_until(s->guest, cpus_at_least, &want, 30000, &gs);
	printf("scenario: hot-add to %u vcpus of vm '%s': guest reports %u online after %" PRId64
	       " ms\n", want, s->vm, gs.cpus_online, vmp_guest_now_ms() - t0);
	assert_int_equal(r, 0);
	assert_int_equal(gs.cpus_online, want);
	n = vmp_backend_list_vms(s->b, &vms);
	check(s, n, "list");
	v = find_vm(vms, n, s->vm);
	assert_non_null(v);
	assert_int_equal(v->vcpus_current, want);
	free(vms);
	check(s, vmp_backend_vm_stats(s->b, s->vm, &vs), "stats");
	if (vs.valid & VMP_STAT_VCPU_TIME)
		assert_int_equal(vs.nvcpus, want);
}

void
vmp_scenario_migrate(const struct vmp_scenario *s, const struct vmp_migrate_params *params,
		     struct vmp_guest *dest_guest, struct vmp_migrate_progress *ret)
{
	struct vmp_migrate_progress p = { 0 };
	struct vmp_guest_stats before, after;
	int64_t t0, deadline;

	assert_int_equal(vmp_guest_stats(s->guest, &before, 10000), 0);
	t0 = vmp_guest_now_ms();
	deadline = t0 + 60000;
	check(s, vmp_backend_migrate_start(s->b, s->vm, params), "migrate");
	for (;;) {
		check(s, vmp_backend_migrate_poll(s->b, s->vm, &p), "poll migration");
		if (p.state != VMP_MIGRATE_ACTIVE || vmp_guest_now_ms() >= deadline)
			break;
		nap_ms(50);
	}
	printf("scenario: migration of vm '%s' to '%s' via %s: %s, total time %" PRIu64
	       " ms, downtime %" PRIu64 " ms, %" PRIu64 " bytes transferred (wall %" PRId64
	       " ms)%s\n", s->vm, params->dest_uri ? params->dest_uri : "-",
	       params->migrate_uri ? params->migrate_uri : "-", vmp_scenario_migrate_state(p.state),
	       p.total_time_ms,
	       p.downtime_ms, p.transferred_bytes, vmp_guest_now_ms() - t0,
	       p.state == VMP_MIGRATE_FAILED ? vmp_backend_error(s->b) : "");
	assert_int_equal(p.state, VMP_MIGRATE_COMPLETED);
	assert_true(p.total_time_ms > 0);
	assert_true(p.transferred_bytes > 0);
	/* The guest runs on at the destination: same memory, same CPUs, time goes on. */
	assert_int_equal(vmp_guest_stats(dest_guest, &after, 20000), 0);
	assert_int_equal(after.cpus_online, before.cpus_online);
	assert_int_equal(after.memtotal_kib, before.memtotal_kib);
	assert_true(after.uptime_s >= before.uptime_s);
	if (ret)
		*ret = p;
}

const char *
vmp_scenario_migrate_state(enum vmp_migrate_state st)
{
	static const char *const names[VMP_MIGRATE_STATE_MAX] = {
		[VMP_MIGRATE_NONE] = "none", [VMP_MIGRATE_ACTIVE] = "active",
		[VMP_MIGRATE_COMPLETED] = "completed", [VMP_MIGRATE_FAILED] = "failed",
		[VMP_MIGRATE_CANCELLED] = "cancelled",
	};

	return (unsigned)st < VMP_MIGRATE_STATE_MAX ? names[st] : "?";
}

int
vmp_scenario_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}
