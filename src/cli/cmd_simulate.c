/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot simulate`: replays consolidation policies on a VM trace with the core's
 * simulator (src/core/sim.h) and prints one row of metrics per policy, in the units of
 * Beloglazov & Buyya (2012), as a table or JSON.
 */
#include "cli/cli.h"
#include "core/sim.h"
#include "core/simrun.h"
#include "cli/progress.h"
#include "cli/sim_report.h"
#include "trace/trace.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TRACE "traces/planetlab/20110303" /* below the data directory */

enum {
	OPT_TRACE = 1,
	OPT_POLICY,
	OPT_HOSTS,
	OPT_COMPAT,
	OPT_JSON,
	OPT_FORMAT,
	OPT_REPORT,
	OPT_PILOT,
};

static const struct vmp_cli_option simulate_options[] = {
	{ "trace", 't', "DIR", "trace directory (default: the bundled " DEFAULT_TRACE ")",
	  OPT_TRACE },
	{ "format", 0, "FMT", "trace format: planetlab, csv or auto (default auto)", OPT_FORMAT },
	{ "policy", 'p', "NAME[,NAME...]", "policies to run (default lr-mmt-1.2); 'list' lists them",
	  OPT_POLICY },
	{ "hosts", 0, "N", "number of hosts, alternating HP ML110 G4/G5 (default 800)", OPT_HOSTS },
	{ "compat", 0, "cloudsim", "reproduce CloudSim 3.0.3's quirks as well", OPT_COMPAT },
	{ "json", 'j', NULL, "print JSON instead of a table", OPT_JSON },
	{ "report", 0, "FILE.html", "also write an HTML report with plots over the day",
	  OPT_REPORT },
	{ "pilot", 0, "KEY=VAL[,...]", "set parameters of the vmpilot policy (doc/pilot-policy.md)",
	  OPT_PILOT },
	{ 0 },
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
list_policies(void)
{
	const struct vmp_sim_policy *p;

	for (p = vmp_sim_policies; p->name; p++)
		printf("%-14s %s\n", p->name, p->summary);
}

/* Mean over the steps of the active hosts. */
static double
active_mean(const struct vmp_sim_result *r)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < r->series.n; i++)
		sum += r->series.active_hosts[i];
	return r->series.n ? sum / (double)r->series.n : 0;
}

/* Mean over the steps of hosts whose VMs ask more than the host has. */
static double
oversub_mean(const struct vmp_simrun_result *r)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < r->sim.series.n; i++)
		sum += r->oversubscribed_hosts[i];
	return r->sim.series.n ? sum / (double)r->sim.series.n : 0;
}

struct run {
	const struct vmp_sim_policy *policy;
	struct vmp_simrun_result full;  /* .sim: the simulator's metrics */
	double wall_s;
};

static void
print_table(const char *trace, size_t nvms, size_t nhosts, bool compat, struct run *runs,
	    size_t n)
{
	size_t i;

	printf("trace %s: %zu VMs, %zu hosts%s\n", trace, nvms, nhosts,
	       compat ? ", CloudSim 3.0.3 compat" : "");
	printf("%-14s %10s %8s %9s %8s %11s %11s %10s %8s\n", "policy", "energy_kWh", "E/bound",
	       "SLATAH_%", "PDM_%", "SLAV_1e-5", "ESV_1e-3", "migrations", "time_s");
	for (i = 0; i < n; i++) {
		const struct vmp_sim_result *r = &runs[i].full.sim;

		printf("%-14s %10.2f %8.3f %9.2f %8.3f %11.3f %11.3f %10llu %8.3f\n",
		       runs[i].policy->name, r->energy_kwh, runs[i].full.energy_ratio,
		       r->slatah * 100, r->pdm * 100, r->slav * 1e5, r->esv * 1e3,
		       (unsigned long long)r->migrations, runs[i].wall_s);
	}
	if (n > 0)
		printf("%-14s %10.2f %8.3f  (oracle: fractional packing on the cheapest MIPS)\n",
		       "lower-bound", runs[0].full.bound_kwh, 1.0);
}

static void
print_json(const char *trace, size_t nvms, size_t nhosts, bool compat, struct run *runs,
	   size_t n)
{
	json_t *root = json_object(), *arr = json_array();
	size_t i;

	json_object_set_new(root, "trace", json_string(trace));
	json_object_set_new(root, "vms", json_integer((json_int_t)nvms));
	json_object_set_new(root, "hosts", json_integer((json_int_t)nhosts));
	json_object_set_new(root, "compat", json_string(compat ? "cloudsim" : "none"));
	if (n > 0)
		json_object_set_new(root, "bound_kwh", json_real(runs[0].full.bound_kwh));
	for (i = 0; i < n; i++) {
		const struct vmp_sim_result *r = &runs[i].full.sim;
		json_t *o = json_object();

		json_object_set_new(o, "policy", json_string(runs[i].policy->name));
		json_object_set_new(o, "energy_kwh", json_real(r->energy_kwh));
		json_object_set_new(o, "bound_kwh", json_real(runs[i].full.bound_kwh));
		json_object_set_new(o, "energy_bound_ratio", json_real(runs[i].full.energy_ratio));
		json_object_set_new(o, "mean_active_hosts", json_real(active_mean(r)));
		json_object_set_new(o, "mean_oversubscribed_hosts",
				    json_real(oversub_mean(&runs[i].full)));
		json_object_set_new(o, "migrations", json_integer((json_int_t)r->migrations));
		json_object_set_new(o, "slatah", json_real(r->slatah));
		json_object_set_new(o, "pdm", json_real(r->pdm));
		json_object_set_new(o, "slav", json_real(r->slav));
		json_object_set_new(o, "esv", json_real(r->esv));
		json_object_set_new(o, "sla_overall", json_real(r->sla_overall));
		json_object_set_new(o, "host_shutdowns",
				    json_integer((json_int_t)r->host_shutdowns));
		json_object_set_new(o, "mean_time_before_host_shutdown_s",
				    json_real(r->mean_time_before_host_shutdown_s));
		json_object_set_new(o, "mean_migration_time_s",
				    json_real(r->mean_time_before_vm_migration_s));
		json_object_set_new(o, "vms_created", json_integer((json_int_t)r->vms_created));
		json_object_set_new(o, "vms_completed",
				    json_integer((json_int_t)r->vms_completed));
		json_object_set_new(o, "wall_s", json_real(runs[i].wall_s));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "results", arr);
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	putchar('\n');
	json_decref(root);
}

static int
run_simulate(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	const char *trace_dir = NULL, *policies = "lr-mmt-1.2", *format = "auto";
	const char *report = NULL;
	struct vmp_progress bar;
	struct vmp_pilot_params pilot;
	struct vmp_sim_config cfg;
	struct vmp_trace *trace = NULL;
	struct run *runs = NULL;
	size_t nruns = 0, i;
	char *err = NULL, *list = NULL, *tok, *save, *default_trace = NULL;
	bool json = false, csv;
	int id, r, rc = VMP_EXIT_USAGE;

	vmp_sim_config_default(&cfg);
	vmp_pilot_params_default(&pilot);
	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_TRACE:
			trace_dir = p.optarg;
			break;
		case OPT_FORMAT:
			format = p.optarg;
			if (strcmp(format, "auto") && strcmp(format, "planetlab") &&
			    strcmp(format, "csv"))
				return vmp_cli_usage_error(cmd, "unknown trace format '%s'", format);
			break;
		case OPT_POLICY:
			policies = p.optarg;
			break;
		case OPT_HOSTS: {
			uint64_t n;

			if (vmp_cli_parse_count(cmd, "hosts", p.optarg, 1, 10000000, &n) != 0)
				return VMP_EXIT_USAGE;
			cfg.nhosts = (size_t)n;
			break;
		}
		case OPT_COMPAT:
			if (strcmp(p.optarg, "cloudsim") != 0)
				return vmp_cli_usage_error(cmd, "unknown compat mode '%s' (only "
							   "'cloudsim')", p.optarg);
			cfg.cloudsim_compat = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_REPORT:
			report = p.optarg;
			break;
		case OPT_PILOT:
			if (vmp_pilot_params_parse(&pilot, p.optarg) < 0)
				return vmp_cli_usage_error(cmd, "invalid pilot parameters '%s'",
							   p.optarg);
			break;
		}
	}
	r = vmp_cli_end_options(cmd, &p, id, argc, argv);
	if (r >= 0)
		return r;
	if (strcmp(policies, "list") == 0) {
		list_policies();
		return VMP_EXIT_OK;
	}

	/* check every policy name before the (slower) trace read */
	list = xstrdup(policies);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct vmp_sim_policy *pol = vmp_sim_policy_find(vmp_strstrip(tok));

		if (!pol) {
			rc = vmp_cli_usage_error(cmd, "unknown policy '%s' (try --policy list)",
						 tok);
			goto out;
		}
		runs = xrealloc(runs, (nruns + 1) * sizeof(*runs));
		memset(&runs[nruns], 0, sizeof(*runs));
		runs[nruns++].policy = pol;
	}
	if (nruns == 0) {
		rc = vmp_cli_usage_error(cmd, "no policy given");
		goto out;
	}

	if (!trace_dir)
		trace_dir = default_trace = vmp_cli_data_path(DEFAULT_TRACE);
	csv = strcmp(format, "csv") == 0 || (strcmp(format, "auto") == 0 && vmp_trace_dir_has_csv(trace_dir));
	r = csv ? vmp_trace_read_csv_dir(trace_dir, &trace, &err)
		: vmp_trace_read_planetlab(trace_dir, &trace, &err);
	if (r < 0) {
		fprintf(stderr, "vmpilot simulate: %s\n", err);
		rc = VMP_EXIT_FAILURE;
		goto out;
	}
	for (i = 0; i < nruns; i++) {
		struct vmp_sim_input in = { trace->nvms, trace->nsteps, trace->cpu_usage_pct };
		double t0 = now_s();

		vmp_progress_start(&bar, stderr, runs[i].policy->name);
		r = vmp_simrun(&cfg, runs[i].policy, &pilot, &in, vmp_progress_update, &bar,
			       &runs[i].full);
		vmp_progress_end(&bar);
		runs[i].wall_s = now_s() - t0;
		if (r < 0) {
			fprintf(stderr, "vmpilot simulate: cannot simulate policy '%s': %s\n",
				runs[i].policy->name, strerror(-r));
			rc = VMP_EXIT_FAILURE;
			nruns = i;
			goto out;
		}
	}
	if (report) {
		struct vmp_sim_report_run *rr = xcalloc(nruns, sizeof(*rr));

		for (i = 0; i < nruns; i++) {
			rr[i].name = runs[i].policy->name;
			rr[i].result = &runs[i].full;
			rr[i].wall_s = runs[i].wall_s;
		}
		r = vmp_sim_report_write(report, trace_dir, trace->nvms, cfg.nhosts,
					 cfg.cloudsim_compat, rr, nruns);
		free(rr);
		if (r < 0) {
			fprintf(stderr, "vmpilot simulate: cannot write report '%s': %s\n", report,
				strerror(-r));
			rc = VMP_EXIT_FAILURE;
			goto out;
		}
	}
	if (json)
		print_json(trace_dir, trace->nvms, cfg.nhosts, cfg.cloudsim_compat, runs, nruns);
	else
		print_table(trace_dir, trace->nvms, cfg.nhosts, cfg.cloudsim_compat, runs, nruns);
	rc = VMP_EXIT_OK;
out:
	for (i = 0; i < nruns; i++)
		vmp_simrun_result_release(&runs[i].full);
	free(runs);
	free(list);
	free(err);
	free(default_trace);
	vmp_trace_free(trace);
	return rc;
}

const struct vmp_cli_command vmp_cmd_simulate = {
	.name = "simulate",
	.summary = "replay consolidation policies on VM traces",
	.synopsis = "",
	.description = "Replays cluster consolidation policies (Beloglazov & Buyya 2012) on a\n"
		       "VM trace with the simulator that shares the daemon's policy code, and\n"
		       "prints energy, SLATAH, PDM, SLAV, ESV and migrations per policy.\n"
		       "--compat cloudsim reproduces CloudSim 3.0.3's numbers. E/bound is\n"
		       "each policy's energy over an oracle's lower bound; --policy vmpilot\n"
		       "runs vmpilot's own policy (doc/pilot-policy.md).",
	.options = simulate_options,
	.run = run_simulate,
};
