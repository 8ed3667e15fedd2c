/* SPDX-License-Identifier: MIT */
/* `vmpilot run --replay` (see run_replay.h). */
#include "cli/run_replay.h"
#include "daemon/config.h"
#include "daemon/journal.h"
#include "daemon/simloop.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TRACE "traces/planetlab/20110303" /* below the data directory, as simulate's */
#define SHOWN_MOVES 12                             /* migrations printed in full (no -v) */

struct show {
	int verbose;
	double t0, t_loop;          /* start, and the end of the last cycle (s) */
	double cpu0, cpu_loop;      /* the same in process CPU time */
	uint64_t moves, hour_moves[VMP_PILOT_REASON_MAX];
	long hour;
};

/* "sim://...&host=N" -> "N" into buf (the explanation says "host N"). */
static const char *
short_host(const char *uri, char *buf, size_t size)
{
	const char *h = strstr(uri, "host=");

	if (!h)
		return uri;
	snprintf(buf, size, "%.*s", (int)strcspn(h + 5, "&"), h + 5);
	return buf;
}

/* why with every occurrence of a replaced by b (a new string). */
static char *
replace(const char *why, const char *a, const char *b)
{
	char *out = xstrdup(""), *n;
	const char *p = why, *q;

	while ((q = strstr(p, a))) {
		n = xasprintf("%s%.*s%s", out, (int)(q - p), p, b);
		free(out);
		out = n;
		p = q + strlen(a);
	}
	n = xasprintf("%s%s", out, p);
	free(out);
	return n;
}

static void
moved(void *opaque, double time_s, const char *vm, const char *from, const char *to,
      enum vmp_pilot_reason reason, const char *why)
{
	struct show *s = opaque;
	char fb[32], tb[32];
	char *w1, *w2;
	long t = (long)time_s;

	s->hour_moves[reason]++;
	if (s->moves++ >= SHOWN_MOVES && !s->verbose) {
		if (s->moves == SHOWN_MOVES + 1)
			printf("   ... (every migration and its reason: -J FILE, then vmpilot why VM "
			       "-J FILE; -v prints them all)\n");
		return;
	}
	w1 = replace(why, from, short_host(from, fb, sizeof(fb)));
	w2 = replace(w1, to, short_host(to, tb, sizeof(tb)));
	printf("%02ld:%02ld  %s\n", t / 3600, t / 60 % 60, w2);
	(void)vm;
	free(w1);
	free(w2);
}

static double now_s(void);
static double cpu_s(void);

static void
progress(void *opaque, double time_s, size_t cycles, unsigned hosts_on)
{
	struct show *s = opaque;
	long h = (long)(time_s / 3600);

	(void)cycles;
	s->t_loop = now_s();
	s->cpu_loop = cpu_s();
	if (h == s->hour)
		return;
	if (s->hour >= 0 && (h % 4 == 0 || s->verbose))
		printf("%02ld:00  %u hosts on; migrations in the last hour: %llu relieve, %llu "
		       "relieve-memory, %llu consolidate\n", h, hosts_on,
		       (unsigned long long)s->hour_moves[VMP_PILOT_RELIEVE],
		       (unsigned long long)s->hour_moves[VMP_PILOT_RELIEVE_MEMORY],
		       (unsigned long long)s->hour_moves[VMP_PILOT_CONSOLIDATE]);
	memset(s->hour_moves, 0, sizeof(s->hour_moves));
	s->hour = h;
	fflush(stdout);
}

static double
pct(double a, double b)
{
	return b > 0 ? 100 * a / b : 0;
}

static void
row(const char *name, const struct vmp_sim_result *r)
{
	printf("%-30s %10.2f %10.2f %10.3f %10llu %9.2f\n", name, r->energy_kwh,
	       pct(r->acct.overload_host_s, r->acct.active_host_s),
	       pct(r->acct.unserved_mips_s, r->acct.requested_mips_s),
	       (unsigned long long)r->migrations, 100 * r->slatah);
}

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
vmp_cli_run_replay(const struct vmp_cli_command *cmd, const struct vmp_runner_args *a,
		   int verbose)
{
	static const char *const compare[] = { "vmpilot", "thr-mmt-0.8", "lr-mmt-1.2" };
	struct vmp_simloop_options o = { 0 };
	struct vmp_simloop_result res;
	struct vmp_config cfg;
	struct vmp_journal *journal = NULL;
	struct show s = { verbose, 0, 0, 0, 0, 0, { 0 }, -1 };
	char *uri = NULL, *err = NULL, *dir = NULL;
	double t0;
	size_t i;
	int r, rc = VMP_EXIT_FAILURE;

	if (a->n_uris > 1)
		return vmp_cli_usage_error(cmd, "--replay takes one sim://DIR URI (the whole "
					   "simulated cluster)");
	if (a->n_uris == 1) {
		uri = xstrdup(a->uris[0]);
	} else {
		dir = vmp_cli_data_path(DEFAULT_TRACE);
		uri = xasprintf("sim://%s", dir);
	}
	vmp_config_init(&cfg);
	if (a->config_path && vmp_config_load(a->config_path, &cfg, &err) < 0) {
		fprintf(stderr, "vmpilot run: %s\n", err);
		goto out;
	}
	if (a->journal_path && strcmp(a->journal_path, "-") == 0) {
		journal = vmp_journal_open_fd(1);
	} else if (a->journal_path) {
		struct vmp_journal_limits lim = { (uint64_t)cfg.journal_max_bytes,
						  (unsigned)cfg.journal_keep };

		if (vmp_journal_open(a->journal_path, &lim, &journal, &err) < 0) {
			fprintf(stderr, "vmpilot run: %s\n", err);
			goto out;
		}
	}
	printf("vmpilot run --replay: the autopilot loop (sampling, right-sizing, budget, the\n"
	       "cluster planner, migrations) on the simulated cluster of %s,\n"
	       "one host per --connect, 5-minute steps as fast as it goes; nothing real is "
	       "touched.\n\n", uri + strlen("sim://"));
	fflush(stdout);
	o.uri = uri;
	o.cfg = &cfg;
	o.journal = journal;
	o.moved = moved;
	o.progress = progress;
	o.opaque = &s;
	o.compare = compare;
	o.n_compare = VMP_ARRAY_SIZE(compare);
	t0 = s.t0 = now_s();
	s.cpu0 = cpu_s();
	r = vmp_simloop_run(&o, &res, &err);
	if (r < 0) {
		fprintf(stderr, "vmpilot run: %s\n", err);
		vmp_simloop_result_release(&res);
		goto out;
	}
	printf("\n%zu VMs on %zu hosts: %zu cycles of the daemon's loop in %.2f s (%.2f s CPU); "
	       "the %zu simulate rows took %.2f s\n\n", res.vms, res.hosts, res.cycles,
	       s.t_loop - t0, s.cpu_loop - s.cpu0, res.n_compare, now_s() - s.t_loop);
	printf("%-30s %10s %10s %10s %10s %9s\n", "who decided", "energy_kWh", "overload_%",
	       "unserved_%", "migrations", "SLATAH_%");
	row("vmpilot run --replay (daemon)", &res.sim);
	for (i = 0; i < res.n_compare; i++) {
		char name[64];

		snprintf(name, sizeof(name), "simulate --policy %s", compare[i]);
		row(name, &res.compare[i].sim);
	}
	printf("\noverload: host time with CPU demand above capacity, of active host time; "
	       "unserved: CPU\ndemand not served, of demand (doc/metrics.md). The daemon's row "
	       "and simulate's vmpilot\nrow are the same planner (core/pilot.c) fed the same "
	       "snapshots: equal, digit for digit.\n");
	if (res.trace_memory)
		printf("This trace has memory demand, which replay leaves out (each VM holds its "
		       "whole RAM;\nno row plans memory); `vmpilot simulate --policy vmpilot` on it "
		       "plans the\ntrace's demand (doc/pilot-policy.md, 2a).\n");
	printf(	       "Next: `vmpilot check` audits this host; `vmpilot run -c qemu:///system` "
	       "watches real VMs\n(advise mode: it journals what it would do).\n");
	vmp_simloop_result_release(&res);
	rc = VMP_EXIT_OK;
out:
	vmp_journal_close(journal);
	vmp_config_release(&cfg);
	free(err);
	free(uri);
	free(dir);
	return rc;
}
