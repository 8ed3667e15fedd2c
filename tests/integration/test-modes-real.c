/* SPDX-License-Identifier: MIT */
/*
 * Automation modes on real guests: `vmpilot run` (the real binary) with the packaged
 * configuration (contrib/vmpilot.conf, installed as /etc/vmpilot/vmpilot.conf: mode
 * advise), only its three paths moved into the test's directory and the loop made
 * quick (1-s cycles, no learning period, a 256 MiB floor), drives two idle TCG guests
 * over the qmp:/// backend. Both would be shrunk:
 *
 *   advise  the journal holds the shrink of each guest with "mode": "advise" and
 *           "acted": false, the status file publishes it as the VM's recommendation,
 *           and neither guest's own MemTotal moves;
 *   act     one line more in the configuration, `mode = act` in [vm vm1], and a
 *           SIGHUP: vm1's balloon goes down (the guest says so), vm2 stays as it was
 *           and every decision about it is still advice.
 *
 * Both QEMUs are killed by PID in the teardown; vmpilot is stopped with SIGTERM (its
 * clean exit asserted) or killed by PID. Every wait polls with a deadline.
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

#include "child.h"
#include "guest.h"

#define MIB 1024ull
#define BOOT_MIB 512

static char dir[] = "/tmp/vmp-modes-XXXXXX";
static char qmp[128], uri[160], conf[128], journal_path[128], status_path[128], logp[128];
static struct vmp_guest *g1, *g2;
static pid_t pilot = -1;

/*
 * The packaged configuration with journal, state_db and status_file pointing into the
 * test's directory, then extra (global keys, then sections).
 */
static void
write_conf(const char *extra)
{
	const char *tests = getenv("VMP_TESTS_DIR");
	char path[600], line[1024];
	FILE *in, *out;
	int moved = 0;

	assert_non_null(tests);
	snprintf(path, sizeof(path), "%s/../contrib/vmpilot.conf", tests);
	in = fopen(path, "r");
	assert_non_null(in);
	out = fopen(conf, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), in)) {
		if (!strncmp(line, "journal =", 9)) {
			fprintf(out, "journal = %s\n", journal_path);
			moved++;
		} else if (!strncmp(line, "state_db =", 10)) {
			fprintf(out, "state_db = none\n");
			moved++;
		} else if (!strncmp(line, "status_file =", 13)) {
			fprintf(out, "status_file = %s\n", status_path);
			moved++;
		} else {
			fputs(line, out);
		}
	}
	fclose(in);
	assert_int_equal(moved, 3);
	fputs(extra, out);
	fclose(out);
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The journal's entries (a new array). */
static json_t *
journal(void)
{
	return vmp_test_journal_load(journal_path, NULL);
}

/* Entries about vm on memory_kib with this action and acted flag, from index from. */
static size_t
count(const json_t *all, size_t from, const char *vm, const char *action, bool acted)
{
	size_t i, n = 0;

	for (i = from; i < json_array_size(all); i++) {
		const json_t *e = json_array_get(all, i);

		if (!strcmp(str(e, "vm"), vm) && !strcmp(str(e, "resource"), "memory_kib") &&
		    !strcmp(str(e, "action"), action) &&
		    json_is_true(json_object_get(e, "acted")) == acted)
			n++;
	}
	return n;
}

/* Actions carried out on vm (any resource the loop changes), from index from. */
static size_t
count_acted(const json_t *all, size_t from, const char *vm)
{
	size_t i, n = 0;

	for (i = from; i < json_array_size(all); i++) {
		const json_t *e = json_array_get(all, i);
		const char *res = str(e, "resource");

		if (!strcmp(str(e, "vm"), vm) && json_is_true(json_object_get(e, "acted")) &&
		    (!strcmp(res, "memory_kib") || !strcmp(res, "vcpus") ||
		     !strcmp(res, "migration")))
			n++;
	}
	return n;
}

/* The recommendation of vm in the status file (new string, "" if none). */
static char *
recommendation(const char *vm, char *mode, size_t mode_size)
{
	json_t *root = json_load_file(status_path, 0, NULL), *h, *v, *d;
	char *out = NULL;
	size_t i, j, k;

	mode[0] = '\0';
	json_array_foreach(json_object_get(root, "hosts"), i, h)
		json_array_foreach(json_object_get(h, "vms"), j, v) {
			if (strcmp(str(v, "name"), vm))
				continue;
			snprintf(mode, mode_size, "%s", str(v, "mode"));
			json_array_foreach(json_object_get(v, "decisions"), k, d)
				if (strcmp(str(d, "action"), "none") &&
				    !json_is_true(json_object_get(d, "acted")) && !out)
					out = strdup(str(d, "action"));
		}
	json_decref(root);
	return out ? out : strdup("");
}

static bool
memtotal_at_most(const struct vmp_guest_stats *s, void *arg)
{
	return s->memtotal_kib <= *(uint64_t *)arg;
}

static void
pilot_start(void)
{
	const char *exe = getenv("VMP_VMPILOT");
	char check[700];

	assert_non_null(exe);
	snprintf(check, sizeof(check), "'%s' run -n -f '%s' >/dev/null", exe, conf);
	assert_int_equal(system(check), 0);
	{
		const char *const argv[] = { exe, "run", "-v", "-f", conf, "-c", uri, NULL };

		pilot = vmp_test_child_start(logp, argv);
	}
	assert_true(pilot >= 0);
}

static int
pilot_stop(void)
{
	return vmp_test_child_stop(&pilot, 10000);
}

static void
guest_start(const char *name, struct vmp_guest **ret)
{
	struct vmp_guest_config cfg = {
		.name = name, .qmp_dir = qmp, .mem_mib = BOOT_MIB, .vcpus = 1, .max_vcpus = 2,
		.lifetime_s = 200,
	};

	assert_int_equal(vmp_guest_start(&cfg, ret), 0);
}

/* The loop made quick; both guests may go down to 256 MiB. */
#define QUICK "interval_ms = 1000\nstale_ms = 10000\nmem_bounds_widen_pct = 0\n" \
	      "mem_cooldown_ms = 0\nmem_dead_band_pct = 2\nmem_step_max_pct = 25\n" \
	      "mem_floor_add_kib = 0\n"

static void
test_advise_then_one_vm_acts(void **state)
{
	struct vmp_guest_stats boot1, boot2, gs;
	char mode[16], *rec;
	json_t *all;
	size_t mark;
	int64_t deadline;
	uint64_t want;

	guest_start("vm1", &g1);
	guest_start("vm2", &g2);
	assert_int_equal(vmp_guest_wait_boot(g1, 60000), 0);
	assert_int_equal(vmp_guest_wait_boot(g2, 60000), 0);
	assert_int_equal(vmp_guest_stats(g1, &boot1, 10000), 0);
	assert_int_equal(vmp_guest_stats(g2, &boot2, 10000), 0);

	/* advise: recommendations for both, no change to either. */
	write_conf(QUICK "[vm vm1]\nmem_min_kib = 262144\n[vm vm2]\nmem_min_kib = 262144\n");
	pilot_start();
	deadline = vmp_guest_now_ms() + 45000;
	for (;;) {
		all = journal();
		if (count(all, 0, "vm1", "shrink", false) && count(all, 0, "vm2", "shrink", false))
			break;
		json_decref(all);
		if (vmp_guest_now_ms() > deadline)
			fail_msg("no shrink advised for both guests within 45 s (log %s)", logp);
		vmp_test_sleep_ms(500);
	}
	assert_int_equal(count_acted(all, 0, "vm1"), 0);
	assert_int_equal(count_acted(all, 0, "vm2"), 0);
	json_decref(all);
	rec = recommendation("vm1", mode, sizeof(mode));
	printf("advise: vm1 mode %s, recommendation '%s'\n", mode, rec);
	assert_string_equal(mode, "advise");
	assert_string_equal(rec, "shrink");
	free(rec);
	rec = recommendation("vm2", mode, sizeof(mode));
	assert_string_equal(mode, "advise");
	assert_string_equal(rec, "shrink");
	free(rec);
	/* A few more cycles: still nothing changed in either guest. */
	vmp_test_sleep_ms(3000);
	assert_int_equal(vmp_guest_stats(g1, &gs, 10000), 0);
	assert_true(gs.memtotal_kib + 8 * MIB >= boot1.memtotal_kib);
	assert_int_equal(vmp_guest_stats(g2, &gs, 10000), 0);
	assert_true(gs.memtotal_kib + 8 * MIB >= boot2.memtotal_kib);

	/* One line more for vm1: it acts; vm2 is still only advised. */
	all = journal();
	mark = json_array_size(all);
	json_decref(all);
	write_conf(QUICK "[vm vm1]\nmem_min_kib = 262144\nmode = act\n"
		   "[vm vm2]\nmem_min_kib = 262144\n");
	assert_int_equal(kill(pilot, SIGHUP), 0);
	want = boot1.memtotal_kib - 96 * MIB;
	if (vmp_guest_wait_until(g1, memtotal_at_most, &want, 45000, &gs) < 0)
		fail_msg("vm1 in mode act was not shrunk: MemTotal %llu KiB (boot %llu)",
			 (unsigned long long)gs.memtotal_kib,
			 (unsigned long long)boot1.memtotal_kib);
	printf("act: vm1 MemTotal %llu -> %llu KiB\n", (unsigned long long)boot1.memtotal_kib,
	       (unsigned long long)gs.memtotal_kib);
	vmp_test_sleep_ms(2000);
	assert_int_equal(vmp_guest_stats(g2, &gs, 10000), 0);
	printf("act: vm2 MemTotal %llu -> %llu KiB\n", (unsigned long long)boot2.memtotal_kib,
	       (unsigned long long)gs.memtotal_kib);
	assert_true(gs.memtotal_kib + 8 * MIB >= boot2.memtotal_kib);
	assert_int_equal(pilot_stop(), 0);
	all = journal();
	assert_true(count(all, mark, "vm1", "shrink", true) >= 1);
	assert_int_equal(count_acted(all, mark, "vm2"), 0);
	assert_true(count(all, 0, "vm2", "shrink", false) >= 1);
	json_decref(all);
}

static int
setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(qmp, sizeof(qmp), "%s/qmp", dir);
	mkdir(qmp, 0700);
	snprintf(uri, sizeof(uri), "qmp://%s", qmp);
	snprintf(conf, sizeof(conf), "%s/vmpilot.conf", dir);
	snprintf(journal_path, sizeof(journal_path), "%s/journal.jsonl", dir);
	snprintf(status_path, sizeof(status_path), "%s/status.json", dir);
	snprintf(logp, sizeof(logp), "%s/vmpilot.log", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[256], line[4096];
	FILE *in;

	pilot_stop();
	vmp_guest_kill(g1);
	vmp_guest_kill(g2);
	if (getenv("VMP_TEST_VERBOSE") && (in = fopen(logp, "r"))) {
		while (fgets(line, sizeof(line), in))
			fputs(line, stderr);
		fclose(in);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_advise_then_one_vm_acts),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	vmp_guest_require();
	return cmocka_run_group_tests_name("modes-real", tests, setup, teardown);
}
