/* SPDX-License-Identifier: MIT */
/*
 * The live proof of the autopilot loop: `vmpilot run` (the real binary, as a child
 * process) drives real QEMU guests (TCG) over the qmp:/// backend, and each test checks
 * what the guest itself reports plus the decision and its reason in the journal:
 *
 *   pressure   a guest that starts touching memory gets its balloon raised before it
 *              runs out (and before any swap-in);
 *   idle       an idle guest gives memory back, step by step, never below its floor;
 *   vcpu       a 1-vCPU guest under a 2-thread load gets a second vCPU and onlines it;
 *   migrate    a host over its configured memory limit, whose VM cannot shrink, sends
 *              the VM to a second host (a second QEMU waiting for it in its own network
 *              namespace, reached over a veth pair); the guest keeps running there;
 *   hung       a QEMU that stops answering: reported once, skipped, loop keeps going;
 *   restart    vmpilot killed with SIGKILL mid-run and started again on the same state
 *              database: its first decision uses the old history (not "learning");
 *   disk full  the journal on a small tmpfs that fills up: no action without its
 *              journal line, dry run (said once) until space returns, then acting
 *              again; the journal holds whole lines only and `vmpilot why` answers.
 *
 * Every QEMU is killed by PID in the teardown (and by the harness's safety nets);
 * vmpilot is stopped with SIGTERM (its clean exit is asserted) and killed by PID if it
 * does not stop. Every wait polls with a deadline.
 */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "backend/backend.h"
#include "child.h"
#include "guest.h"
#include "scenario.h"

#define VM "vm1"
#define MIB 1024ull

struct fx {
	char dir[64];            /* config, journal, vmpilot's log */
	char qmp_a[80], qmp_b[80];
	char uri_a[96], uri_b[96];
	char conf[96], journal[96], log[96];
	struct vmp_guest *g, *dest;
	pid_t pilot;
	char netns[32];          /* "" = none */
	unsigned ns_id;
	char tmpfs[80];          /* a tmpfs mounted by the test, "" = none */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vmp-pilot-XXXXXX");
	if (!f->dir[0] || !mkdtemp(f->dir))
		return -1;
	snprintf(f->qmp_a, sizeof(f->qmp_a), "%s/a", f->dir);
	snprintf(f->qmp_b, sizeof(f->qmp_b), "%s/b", f->dir);
	mkdir(f->qmp_a, 0700);
	mkdir(f->qmp_b, 0700);
	snprintf(f->uri_a, sizeof(f->uri_a), "qmp://%s", f->qmp_a);
	snprintf(f->uri_b, sizeof(f->uri_b), "qmp://%s", f->qmp_b);
	snprintf(f->conf, sizeof(f->conf), "%s/vmpilot.conf", f->dir);
	snprintf(f->journal, sizeof(f->journal), "%s/journal.jsonl", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/vmpilot.log", f->dir);
	f->pilot = -1;
	*state = f;
	return 0;
}

/* Stops vmpilot: SIGTERM, then SIGKILL by PID after 10 s. Returns its wait status. */
static int
pilot_stop(struct fx *f)
{
	return vmp_test_child_stop(&f->pilot, 10000);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[256];

	pilot_stop(f);
	if (f->tmpfs[0]) {
		snprintf(cmd, sizeof(cmd), "umount '%s'", f->tmpfs);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot unmount %s\n", f->tmpfs);
	}
	vmp_guest_kill(f->g);
	vmp_guest_kill(f->dest);
	if (f->netns[0]) {
		/* QEMU in the namespace died first; then the namespace and its veth go. */
		snprintf(cmd, sizeof(cmd), "ip netns del %s; ip link del vmpp%u-a 2>/dev/null",
			 f->netns, f->ns_id);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove network namespace %s\n", f->netns);
	}
	if (getenv("VMP_TEST_VERBOSE")) {
		vmp_test_dump_file(f->log);
		vmp_test_dump_file(f->journal);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static void
write_conf(struct fx *f, const char *text)
{
	FILE *out = fopen(f->conf, "w");

	assert_non_null(out);
	/* Global keys first: the status file stays in the test's directory. */
	fprintf(out, "status_file = %s.status.json\n", f->conf);
	fputs(text, out);
	fclose(out);
}

/* Starts `vmpilot run -f CONF -J JOURNAL -c URI...` with its output in f->log. */
static void
pilot_start(struct fx *f, const char *uri2)
{
	const char *exe = getenv("VMP_VMPILOT");
	char check[512];

	assert_non_null(exe);
	snprintf(check, sizeof(check), "'%s' run -n -f '%s' >/dev/null", exe, f->conf);
	assert_int_equal(system(check), 0);
	if (uri2) {
		const char *const argv[] = { exe, "run", "-v", "-f", f->conf, "-J", f->journal,
					     "-c", f->uri_a, "-c", uri2, NULL };

		f->pilot = vmp_test_child_start(f->log, argv);
	} else {
		const char *const argv[] = { exe, "run", "-v", "-f", f->conf, "-J", f->journal,
					     "-c", f->uri_a, NULL };

		f->pilot = vmp_test_child_start(f->log, argv);
	}
	assert_true(f->pilot >= 0);
}

static void
guest_start(struct fx *f, struct vmp_guest **ret, const char *qmp_dir, unsigned mem_mib,
	    const char *incoming)
{
	struct vmp_guest_config cfg = {
		.name = VM, .qmp_dir = qmp_dir, .mem_mib = mem_mib, .vcpus = 1, .max_vcpus = 4,
		.incoming = incoming, .lifetime_s = 150,
		.netns = incoming && f->netns[0] ? f->netns : NULL,
	};

	assert_int_equal(vmp_guest_start(&cfg, ret), 0);
	if (!incoming)
		assert_int_equal(vmp_guest_wait_boot(*ret, 60000), 0);
}

/* The journal's entries about VM (a new array). */
static json_t *
journal(struct fx *f)
{
	return vmp_test_journal_load(f->journal, VM);
}

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The first entry on resource with this action that was carried out, or NULL. */
static json_t *
find_acted(json_t *all, const char *resource, const char *action)
{
	json_t *e;
	size_t i;

	json_array_foreach(all, i, e)
		if (!strcmp(str(e, "resource"), resource) && !strcmp(str(e, "action"), action) &&
		    json_is_true(json_object_get(e, "acted")))
			return e;
	return NULL;
}

/* The acted memory "grow" entry with the largest target, printing every one it sees. */
static json_t *
find_largest_grow(json_t *all)
{
	json_t *e, *best = NULL;
	size_t i;

	json_array_foreach(all, i, e) {
		if (strcmp(str(e, "resource"), "memory_kib") || strcmp(str(e, "action"), "grow") ||
		    !json_is_true(json_object_get(e, "acted")))
			continue;
		printf("grow: from %.0f to %.0f KiB (%s)\n",
		       json_number_value(json_object_get(e, "from")),
		       json_number_value(json_object_get(e, "to")), str(e, "reason"));
		if (!best || json_number_value(json_object_get(e, "to")) >
				     json_number_value(json_object_get(best, "to")))
			best = e;
	}
	return best;
}

static void
print_entry(const char *what, json_t *e)
{
	char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);

	printf("%s: %s\n", what, s);
	free(s);
}

static bool
memtotal_at_least(const struct vmp_guest_stats *s, void *arg)
{
	return s->memtotal_kib >= *(uint64_t *)arg;
}

static bool
memtotal_at_most(const struct vmp_guest_stats *s, void *arg)
{
	return s->memtotal_kib <= *(uint64_t *)arg;
}

static bool
cpus_at_least(const struct vmp_guest_stats *s, void *arg)
{
	return s->cpus_online >= *(unsigned *)arg;
}

/* Balloons the guest before vmpilot runs (the QMP socket is then free again). */
static void
balloon_now(struct fx *f, uint64_t kib)
{
	struct vmp_backend *b = NULL;
	struct vmp_guest_stats gs;
	char *err = NULL;
	uint64_t want;

	assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
	want = gs.memtotal_kib - (512 * MIB - kib) + 8 * MIB;
	if (vmp_backend_open(f->uri_a, 10000, &b, &err) < 0)
		fail_msg("%s", err);
	if (vmp_backend_set_balloon(b, VM, kib) < 0)
		fail_msg("%s", vmp_backend_error(b));
	vmp_backend_close(b);
	assert_int_equal(vmp_guest_wait_until(f->g, memtotal_at_most, &want, 30000, &gs), 0);
}

/* (a) Memory touched inside a small balloon: vmpilot raises it before the guest runs out. */
static void
test_pressure_raises_balloon(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_stats before, gs;
	json_t *all, *e;
	uint64_t want;

	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	balloon_now(f, 256 * MIB);
	assert_int_equal(vmp_guest_stats(f->g, &before, 10000), 0);
	/* No fixed amount on the floor: it would grow the quiet guest from 256 MiB to its
	 * recent peak + 20 % + 320 MiB before any pressure. */
	write_conf(f, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\n"
		      "mem_floor_add_kib = 0\n");
	pilot_start(f, NULL);
	vmp_test_sleep_ms(3000); /* a few quiet cycles first: nothing to do */
	assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
	assert_true(gs.memtotal_kib <= before.memtotal_kib + 8 * MIB);
	/* Most of what the guest has available (~100 MiB in a 256 MiB balloon). */
	printf("guest at 256 MiB: MemTotal %llu KiB, MemAvailable %llu KiB\n",
	       (unsigned long long)before.memtotal_kib, (unsigned long long)before.memavail_kib);
	assert_int_equal(vmp_guest_cmd(f->g, "touch 80", NULL, 60000), 0);
	want = before.memtotal_kib + 64 * MIB;
	if (vmp_guest_wait_until(f->g, memtotal_at_least, &want, 40000, &gs) < 0)
		fail_msg("balloon not raised: guest MemTotal %llu KiB (was %llu)",
			 (unsigned long long)gs.memtotal_kib,
			 (unsigned long long)before.memtotal_kib);
	printf("guest MemTotal %llu -> %llu KiB, MemAvailable %llu KiB\n",
	       (unsigned long long)before.memtotal_kib, (unsigned long long)gs.memtotal_kib,
	       (unsigned long long)gs.memavail_kib);
	assert_int_equal(vmp_guest_cmd(f->g, "stop", NULL, 10000), 0);
	assert_int_equal(pilot_stop(f), 0); /* SIGTERM: a clean exit */
	all = journal(f);
	/*
	 * The loop may take more than one step up (a small one can come first, as the
	 * guest's reported demand settles); judge the step that raised it most.
	 */
	e = find_largest_grow(all);
	assert_non_null(e);
	print_entry("decision", e);
	assert_true(!strcmp(str(e, "reason"), "guest_pressure") || !strcmp(str(e, "reason"), "target"));
	assert_true(json_number_value(json_object_get(e, "from")) <
		    json_number_value(json_object_get(e, "to")));
	assert_true(json_number_value(json_object_get(e, "to")) >= 256 * MIB + 64 * MIB);
	/* Raised before any swap-in, on the demand the guest reported. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "inputs"),
							    "swap_in_kib")), 0);
	assert_true(json_integer_value(json_object_get(json_object_get(e, "inputs"), "demand_kib")) >
		    100 * (json_int_t)MIB);
	assert_true(json_array_size(json_object_get(e, "checks")) > 0);
	json_decref(all);
	/* `vmpilot why` tells the same from the journal. */
	{
		char cmd[512], out[8192];
		size_t len;
		FILE *p;

		snprintf(cmd, sizeof(cmd), "'%s' why --journal '%s' " VM, getenv("VMP_VMPILOT"),
			 f->journal);
		p = popen(cmd, "r");
		assert_non_null(p);
		len = fread(out, 1, sizeof(out) - 1, p);
		out[len] = '\0';
		assert_int_equal(pclose(p), 0);
		printf("vmpilot why " VM ":\n%s", out);
		assert_non_null(strstr(out, VM " rightsize-memory: grow 256 MiB -> "));
		assert_non_null(strstr(out, "demand_kib="));
	}
}

/* (b) An idle guest gives memory back, never below its floor (mem_min_kib). */
static void
test_idle_gives_back_to_floor(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_stats boot, gs;
	json_t *all, *e;
	uint64_t at_floor, lowest;
	int64_t until;
	size_t i;
	int shrinks = 0;

	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	assert_int_equal(vmp_guest_stats(f->g, &boot, 10000), 0);
	write_conf(f, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\nmem_bounds_widen_pct = 0\n"
		      "mem_cooldown_ms = 0\nmem_dead_band_pct = 2\nmem_step_max_pct = 25\n"
		      "mem_floor_add_kib = 0\nmem_floor_margin_pct = 0\n[vm " VM "]\nmem_min_kib = 262144\n");
	pilot_start(f, NULL);
	/* The guest's own MemTotal at a 256 MiB balloon. */
	at_floor = boot.memtotal_kib - 256 * MIB;
	{
		uint64_t want = at_floor + 8 * MIB;

		if (vmp_guest_wait_until(f->g, memtotal_at_most, &want, 45000, &gs) < 0)
			fail_msg("not given back: guest MemTotal %llu KiB, floor at %llu",
				 (unsigned long long)gs.memtotal_kib, (unsigned long long)at_floor);
	}
	/* And it stays at the floor. */
	lowest = gs.memtotal_kib;
	until = vmp_guest_now_ms() + 5000;
	while (vmp_guest_now_ms() < until) {
		assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
		if (gs.memtotal_kib < lowest)
			lowest = gs.memtotal_kib;
		vmp_test_sleep_ms(500);
	}
	printf("guest MemTotal %llu -> lowest %llu KiB (floor %llu)\n",
	       (unsigned long long)boot.memtotal_kib, (unsigned long long)lowest,
	       (unsigned long long)at_floor);
	assert_true(lowest + 8 * MIB >= at_floor);
	assert_int_equal(pilot_stop(f), 0);
	all = journal(f);
	json_array_foreach(all, i, e) {
		if (strcmp(str(e, "resource"), "memory_kib"))
			continue;
		assert_true(json_number_value(json_object_get(e, "to")) >= 256 * MIB);
		if (!strcmp(str(e, "action"), "shrink") && json_is_true(json_object_get(e, "acted")))
			shrinks++;
	}
	assert_true(shrinks >= 2); /* step by step (memory_step_max_pct) */
	e = find_acted(all, "memory_kib", "shrink");
	print_entry("first shrink", e);
	e = json_array_get(all, json_array_size(all) - 1);
	for (i = json_array_size(all); i-- > 0;) {
		e = json_array_get(all, i);
		if (!strcmp(str(e, "resource"), "memory_kib"))
			break;
	}
	print_entry("last memory decision", e);
	assert_string_equal(str(e, "action"), "none");
	assert_string_equal(str(e, "reason"), "at_bound");
	json_decref(all);
}

/* (c) 1 vCPU, 2 busy threads: a second vCPU, onlined by the guest. */
static void
test_busy_guest_gets_vcpu(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_stats gs;
	unsigned two = 2;
	json_t *all, *e;

	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
	assert_int_equal(gs.cpus_online, 1);
	/* The host is shared with other work: saturated at 70 %, steal not held against it. */
	write_conf(f, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\ncpu_saturated_pct = 70\n"
		      "cpu_steal_max_pct = 100\n");
	assert_int_equal(vmp_guest_cmd(f->g, "cpu 2", NULL, 10000), 0);
	pilot_start(f, NULL);
	if (vmp_guest_wait_until(f->g, cpus_at_least, &two, 40000, &gs) < 0)
		fail_msg("no second vCPU online in the guest: %u", gs.cpus_online);
	assert_int_equal(gs.cpus_online, 2);
	assert_int_equal(vmp_guest_cmd(f->g, "stop", NULL, 10000), 0);
	assert_int_equal(pilot_stop(f), 0);
	all = journal(f);
	e = find_acted(all, "vcpus", "grow");
	assert_non_null(e);
	print_entry("decision", e);
	assert_string_equal(str(e, "reason"), "saturated");
	assert_true(json_number_value(json_object_get(e, "from")) == 1);
	assert_true(json_number_value(json_object_get(e, "to")) == 2);
	assert_true(json_number_value(json_object_get(json_object_get(e, "inputs"), "usage_cores")) >=
		    0.7);
	json_decref(all);
}

/* (d) Host A over its memory limit, its VM at its floor: the VM moves to host B. */
static void
test_overloaded_host_migrates(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_stats before, gs;
	char conf[1024];
	json_t *all, *e;
	int64_t deadline;

	char cmd[512], dest_ip[32] = "127.0.0.1";

	/* Host B's QEMU lives in its own network namespace, joined to ours by a veth pair. */
	f->ns_id = (unsigned)getpid() % 200 + 20;
	snprintf(f->netns, sizeof(f->netns), "vmp-pilot-%u", f->ns_id);
	snprintf(cmd, sizeof(cmd),
		 "ip netns add %s && ip link add vmpp%u-a type veth peer name vmpp%u-b && "
		 "ip link set vmpp%u-b netns %s && ip addr add 10.232.%u.1/24 dev vmpp%u-a && "
		 "ip link set vmpp%u-a up && ip -n %s addr add 10.232.%u.2/24 dev vmpp%u-b && "
		 "ip -n %s link set vmpp%u-b up && ip -n %s link set lo up",
		 f->netns, f->ns_id, f->ns_id, f->ns_id, f->netns, f->ns_id, f->ns_id, f->ns_id,
		 f->netns, f->ns_id, f->ns_id, f->netns, f->ns_id, f->netns);
	if (system(cmd) == 0) {
		snprintf(dest_ip, sizeof(dest_ip), "10.232.%u.2", f->ns_id);
	} else {
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip link del vmpp%u-a 2>/dev/null",
			 f->netns, f->ns_id);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of a half-made namespace failed\n");
		f->netns[0] = '\0';
		fprintf(stderr, "*** autopilot: cannot create a network namespace here: host B "
			"runs in this namespace, migration over loopback ***\n");
	}
	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	guest_start(f, &f->dest, f->qmp_b, 512, "defer");
	assert_int_equal(vmp_guest_stats(f->g, &before, 10000), 0);
	snprintf(conf, sizeof(conf),
		 "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\n"
		 "[vm " VM "]\nmem_min_kib = 524288\n"
		 "[host %s]\nmem_limit_kib = 614400\naccept_migrations = no\n"
		 "[host %s]\nmigrate_uri = tcp://%s:%d\n",
		 f->uri_a, f->uri_b, dest_ip, vmp_scenario_free_port());
	write_conf(f, conf);
	pilot_start(f, f->uri_b);
	/* The guest answers from host B once the migration completed. */
	deadline = vmp_guest_now_ms() + 60000;
	while (vmp_guest_stats(f->dest, &gs, 2000) < 0) {
		if (vmp_guest_now_ms() > deadline)
			fail_msg("the guest never ran on host B");
		vmp_test_sleep_ms(500);
	}
	printf("host B in network namespace '%s' at %s\n", f->netns[0] ? f->netns : "(none)",
	       dest_ip);
	printf("guest on host B: uptime %.1f s (was %.1f s on host A), MemTotal %llu KiB\n",
	       gs.uptime_s, before.uptime_s, (unsigned long long)gs.memtotal_kib);
	/* The same guest, still running: not a fresh boot. */
	assert_true(gs.uptime_s > before.uptime_s);
	assert_true(gs.memtotal_kib + 8 * MIB >= before.memtotal_kib);
	/* The journal says why, and how it ended. */
	deadline = vmp_guest_now_ms() + 20000;
	for (;;) {
		all = journal(f);
		e = NULL;
		{
			json_t *x;
			size_t i;

			json_array_foreach(all, i, x)
				if (!strcmp(str(x, "policy"), "migration"))
					e = x;
		}
		if (e || vmp_guest_now_ms() > deadline)
			break;
		json_decref(all);
		vmp_test_sleep_ms(500);
	}
	assert_int_equal(pilot_stop(f), 0);
	assert_non_null(e);
	print_entry("result", e);
	assert_true(json_is_true(json_object_get(e, "acted")));
	/* the cluster planner's decision, with its reason (an intent line came before it) */
	e = find_acted(all, "migration", "set");
	assert_non_null(e);
	print_entry("decision", e);
	assert_string_equal(str(e, "policy"), "planner");
	assert_string_equal(str(e, "reason"), "host_pressure");
	assert_string_equal(str(json_object_get(e, "inputs"), "to_host"), f->uri_b);
	assert_string_equal(str(json_object_get(e, "inputs"), "move"), "relieve-memory");
	json_decref(all);
}

/* Counts the lines of vmpilot's log that contain text. */
static int
log_count(struct fx *f, const char *text)
{
	char line[2048];
	int n = 0;
	FILE *in = fopen(f->log, "r");

	if (!in)
		return 0;
	while (fgets(line, sizeof(line), in))
		n += strstr(line, text) != NULL;
	fclose(in);
	return n;
}

/*
 * A hypervisor that stops answering (QEMU stopped with SIGSTOP: its QMP socket accepts
 * but never replies): vmpilot times out, says so once, skips the VM, keeps cycling, and
 * says when it is back; the VM is never shrunk meanwhile.
 */
static void
test_hung_hypervisor(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_stats before, gs;
	int64_t deadline;
	int faults;

	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	assert_int_equal(vmp_guest_stats(f->g, &before, 10000), 0);
	/* An idle guest that would be shrunk at once if it answered. */
	write_conf(f, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\ntimeout_ms = 500\n"
		      "mem_bounds_widen_pct = 0\nmem_cooldown_ms = 0\n");
	assert_int_equal(kill(vmp_guest_pid(f->g), SIGSTOP), 0);
	pilot_start(f, NULL);
	deadline = vmp_guest_now_ms() + 20000;
	while (log_count(f, "vm vm1: state unknown") == 0) {
		if (vmp_guest_now_ms() > deadline)
			fail_msg("vmpilot did not report the hung hypervisor");
		vmp_test_sleep_ms(200);
	}
	vmp_test_sleep_ms(4000); /* several more cycles against the hung QEMU */
	faults = log_count(f, "vm vm1: state unknown");
	assert_int_equal(faults, 1); /* once, not once per cycle */
	assert_int_equal(waitpid(f->pilot, NULL, WNOHANG), 0); /* still running */
	assert_int_equal(kill(vmp_guest_pid(f->g), SIGCONT), 0);
	deadline = vmp_guest_now_ms() + 30000;
	while (log_count(f, "vm vm1: recovered") == 0) {
		if (vmp_guest_now_ms() > deadline)
			fail_msg("vmpilot did not see the hypervisor answer again");
		vmp_test_sleep_ms(200);
	}
	assert_int_equal(pilot_stop(f), 0);
	/* The guest runs on after its QEMU resumed. */
	assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
	assert_true(gs.uptime_s > before.uptime_s);
	printf("hung for a while: %d fault line(s); guest MemTotal %llu KiB (was %llu)\n", faults,
	       (unsigned long long)gs.memtotal_kib, (unsigned long long)before.memtotal_kib);
}

/* The samples in the memory history vmpilot saved for VM in db, or -1. */
static long long
saved_samples(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT json_extract(state, '$.mem.model.samples') FROM vm_state"
			       " WHERE vm = '" VM "'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/*
 * The first memory decision made on the guest's stats (not a "stats missing" one while
 * the guest's balloon driver starts reporting), or NULL (a new reference).
 */
static json_t *
first_memory_decision(struct fx *f)
{
	json_t *all = journal(f), *e, *found = NULL;
	size_t i;

	json_array_foreach(all, i, e)
		if (!strcmp(str(e, "resource"), "memory_kib") &&
		    json_is_true(json_object_get(json_object_get(e, "inputs"), "have_stats"))) {
			found = json_incref(e);
			break;
		}
	json_decref(all);
	return found;
}

static json_t *
wait_first_memory_decision(struct fx *f)
{
	int64_t deadline = vmp_guest_now_ms() + 30000;
	json_t *e;

	while (!(e = first_memory_decision(f))) {
		if (vmp_guest_now_ms() > deadline)
			fail_msg("no memory decision in %s", f->journal);
		vmp_test_sleep_ms(200);
	}
	return e;
}

/*
 * SIGKILL mid-run and a restart on the same state database: the first memory decision
 * of the new process uses the history the killed one saved. A fresh vmpilot's first
 * decision is "learning" (no history yet); the restarted one's is not.
 */
static void
test_sigkill_keeps_learned_state(void **state)
{
	struct fx *f = *state;
	char conf[512], db[96];
	int64_t deadline;
	long long before, after;
	int status;
	json_t *e;

	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	snprintf(db, sizeof(db), "%s/state.db", f->dir);
	/* No fixed amount on the floor: with it the first decision is "inside dead band". */
	snprintf(conf, sizeof(conf), "interval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\n"
		 "mem_bounds_widen_pct = 0\nmem_floor_add_kib = 0\nstate_db = %s\n", db);
	write_conf(f, conf);
	pilot_start(f, NULL);
	e = wait_first_memory_decision(f);
	print_entry("first run, first memory decision", e);
	assert_string_equal(str(e, "reason"), "learning");
	json_decref(e);
	/* A few cycles into its history, then killed without warning. */
	deadline = vmp_guest_now_ms() + 30000;
	while ((before = saved_samples(db)) < 5) {
		if (vmp_guest_now_ms() > deadline)
			fail_msg("vmpilot saved %lld samples of " VM " in %s", before, db);
		vmp_test_sleep_ms(200);
	}
	assert_int_equal(kill(f->pilot, SIGKILL), 0);
	assert_int_equal(waitpid(f->pilot, &status, 0), f->pilot);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	f->pilot = -1;
	before = saved_samples(db);
	printf("killed with %lld memory samples saved\n", before);

	/* The same daemon again, with a new journal. */
	snprintf(f->journal, sizeof(f->journal), "%s/journal2.jsonl", f->dir);
	pilot_start(f, NULL);
	e = wait_first_memory_decision(f);
	print_entry("after SIGKILL, first memory decision", e);
	assert_string_not_equal(str(e, "reason"), "learning");
	json_decref(e);
	deadline = vmp_guest_now_ms() + 30000;
	while ((after = saved_samples(db)) <= before) {
		if (vmp_guest_now_ms() > deadline)
			fail_msg("the restarted vmpilot did not extend the history (%lld)", after);
		vmp_test_sleep_ms(200);
	}
	assert_int_equal(pilot_stop(f), 0);
	assert_int_equal(log_count(f, "restored the learned state of 1 vm"), 1);
	printf("history went on: %lld -> %lld samples\n", before, after);
}

/* Fills the file system of path with a file `filler` until it is full. */
static void
fill_fs(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of='%s/filler' bs=4096 2>/dev/null; "
		 "dd if=/dev/zero of='%s/filler2' bs=1 2>/dev/null; true", dir, dir);
	assert_int_equal(system(cmd), 0);
}

static void
free_fs(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -f '%s/filler' '%s/filler2'", dir, dir);
	assert_int_equal(system(cmd), 0);
}

/* The guest's MemTotal stays within 8 MiB of kib for ms. */
static void
assert_memtotal_stays(struct fx *f, uint64_t kib, unsigned ms)
{
	struct vmp_guest_stats gs;
	int64_t until = vmp_guest_now_ms() + ms;

	while (vmp_guest_now_ms() < until) {
		assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
		if (gs.memtotal_kib + 8 * MIB < kib)
			fail_msg("the balloon moved while the journal was full: MemTotal %llu "
				 "KiB, was %llu", (unsigned long long)gs.memtotal_kib,
				 (unsigned long long)kib);
		vmp_test_sleep_ms(500);
	}
}

/*
 * The journal's disk fills up (a 256 KiB tmpfs): an idle guest that the loop shrinks
 * step by step is not shrunk while no journal line can be written; the loop says once
 * that it acts as dry run; once space returns it journals that and shrinks again. Every
 * shrink carried out has its intent line before it, every line of the file is whole.
 */
static void
test_journal_disk_full(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_stats boot, gs;
	char cmd[512], out[16384];
	json_t *all, *e;
	uint64_t held, want;
	size_t i, len;
	json_int_t recovered_ms = 0;
	int shrinks_after = 0, intents = 0;
	FILE *p;

	snprintf(f->tmpfs, sizeof(f->tmpfs), "%s/jfs", f->dir);
	mkdir(f->tmpfs, 0700);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k,mode=0700 vmp-jfs '%s'", f->tmpfs);
	if (system(cmd) != 0) {
		f->tmpfs[0] = '\0';
		fail_msg("cannot mount a tmpfs (needs root)");
	}
	snprintf(f->journal, sizeof(f->journal), "%s/journal.jsonl", f->tmpfs);
	guest_start(f, &f->g, f->qmp_a, 512, NULL);
	assert_int_equal(vmp_guest_stats(f->g, &boot, 10000), 0);
	write_conf(f, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\n"
		      "mem_bounds_widen_pct = 0\nmem_cooldown_ms = 0\nmem_dead_band_pct = 2\n"
		      "mem_step_max_pct = 10\nmem_floor_add_kib = 0\n[vm " VM "]\nmem_min_kib = 262144\n");
	pilot_start(f, NULL);
	/* A first shrink, with space. */
	want = boot.memtotal_kib - 24 * MIB;
	if (vmp_guest_wait_until(f->g, memtotal_at_most, &want, 45000, &gs) < 0)
		fail_msg("no first shrink: MemTotal %llu KiB", (unsigned long long)gs.memtotal_kib);
	/* The disk fills up under the running loop. */
	fill_fs(f->tmpfs);
	vmp_test_sleep_ms(2500); /* a shrink already journaled may still be carried out */
	assert_int_equal(vmp_guest_stats(f->g, &gs, 10000), 0);
	held = gs.memtotal_kib;
	printf("disk full at MemTotal %llu KiB (booted with %llu)\n",
	       (unsigned long long)held, (unsigned long long)boot.memtotal_kib);
	assert_memtotal_stays(f, held, 6000);
	assert_int_equal(log_count(f, "acting as dry run"), 1);
	/* Space again: shrinking goes on. */
	free_fs(f->tmpfs);
	want = held - 24 * MIB;
	if (vmp_guest_wait_until(f->g, memtotal_at_most, &want, 45000, &gs) < 0)
		fail_msg("no shrink after space came back: MemTotal %llu KiB",
			 (unsigned long long)gs.memtotal_kib);
	assert_int_equal(pilot_stop(f), 0);
	assert_int_equal(log_count(f, "acting again"), 1);

	/* The recovery event (vm "") is in the file. */
	{
		FILE *in = fopen(f->journal, "r");
		char *line = NULL;
		size_t cap = 0;

		assert_non_null(in);
		while (getline(&line, &cap, in) > 0)
			if (strstr(line, "\"event\":\"journal_recovered\"")) {
				json_t *o = json_loads(line, 0, NULL);

				assert_non_null(o);
				recovered_ms = json_integer_value(json_object_get(o, "time_ms"));
				json_decref(o);
			}
		free(line);
		fclose(in);
	}
	assert_true(recovered_ms > 0);
	/* Whole lines only: every line parses (journal() fails on one that does not). */
	all = journal(f);
	json_array_foreach(all, i, e) {
		json_t *prev = i ? json_array_get(all, i - 1) : NULL;

		if (json_is_true(json_object_get(e, "intent")))
			intents++;
		if (strcmp(str(e, "action"), "shrink") || !json_is_true(json_object_get(e, "acted")))
			continue;
		/* Each shrink carried out follows its own intent line. */
		assert_non_null(prev);
		assert_true(json_is_true(json_object_get(prev, "intent")));
		assert_true(json_equal(json_object_get(prev, "to"), json_object_get(e, "to")));
		assert_true(json_equal(json_object_get(prev, "time_ms"), json_object_get(e, "time_ms")));
		if (json_integer_value(json_object_get(e, "time_ms")) >= recovered_ms)
			shrinks_after++;
	}
	json_decref(all);
	assert_true(intents >= 2);
	assert_true(shrinks_after >= 1);
	printf("%d intent lines; %d shrink(s) after the journal recovered\n", intents,
	       shrinks_after);
	/* `vmpilot why` answers from this journal, with no warning about a broken line. */
	snprintf(cmd, sizeof(cmd), "'%s' why --journal '%s' " VM " 2>&1", getenv("VMP_VMPILOT"),
		 f->journal);
	p = popen(cmd, "r");
	assert_non_null(p);
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = '\0';
	assert_int_equal(pclose(p), 0);
	printf("vmpilot why " VM ":\n%s", out);
	assert_non_null(strstr(out, VM " rightsize-memory: shrink"));
	assert_null(strstr(out, "warning"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pressure_raises_balloon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_gives_back_to_floor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_guest_gets_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overloaded_host_migrates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_hypervisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_keeps_learned_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_disk_full, setup, teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("VMP_TEST_ONLY"))
		cmocka_set_test_filter(getenv("VMP_TEST_ONLY"));
	vmp_guest_require();
	return cmocka_run_group_tests_name("autopilot-real", tests, NULL, NULL);
}
