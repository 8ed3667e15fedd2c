/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot simulate`: replays consolidation policies on a VM trace with the core's
 * simulator (src/core/sim.h) and prints one row of metrics per policy — the continuous
 * overload and unserved demand first (doc/metrics.md), then the metrics of Beloglazov &
 * Buyya (2012) — as a table or JSON; --events writes every placement change.
 */
#include "build-config.h"
#include "cli/cli.h"
#include "core/sim.h"
#include "core/simrun.h"
#include "cli/progress.h"
#include "cli/sim_report.h"
#include "trace/trace.h"
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	OPT_EVENTS,
	OPT_MEMORY,
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
	{ "events", 0, "FILE", "write every placement change as JSON lines (doc/sim-events.md)",
	  OPT_EVENTS },
	{ "memory", 0, "trace|ram", "memory demand: the trace's (vmpilot plans it when the trace "
	  "has any) or every VM's whole RAM, planned (default trace; doc/pilot-policy.md)",
	  OPT_MEMORY },
	{ 0 },
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Now, or $SOURCE_DATE_EPOCH for reproducible reports. */
static int64_t
report_time(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	int64_t t;

	if (e && vmp_parse_i64(e, &t) == 0 && t >= 0)
		return t;
	return (int64_t)time(NULL);
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

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void
print_table(const char *trace_dir, const struct vmp_trace *trace, size_t nhosts, bool compat,
	    struct run *runs, size_t n)
{
	size_t i;

	printf("trace %s: %zu VMs, %zu hosts, %zu steps of %lld s (%.1f h)%s\n", trace_dir,
	       trace->nvms, nhosts, trace->nsteps, (long long)trace->step_s,
	       (double)trace->nsteps * (double)trace->step_s / 3600.0,
	       compat ? ", CloudSim 3.0.3 compat" : "");
	if (trace->rows_dropped)
		printf("each VM from its own first row, for as long as the shortest (%s); "
		       "%llu later rows left out (vmp_trace_read_csv_dir)\n",
		       trace->names[trace->shortest_vm], (unsigned long long)trace->rows_dropped);
	printf("%-14s %10s %8s %11s %10s %10s %10s %10s %10s %10s | %8s %7s %9s %9s %7s\n",
	       "policy", "energy_kWh", "E/bound", "overload_%", "overload_h", "unserved_%",
	       "worstVM_%", "memover_%", "memover_h", "migrations", "SLATAH_%", "PDM_%",
	       "SLAV_1e-5", "ESV_1e-3", "time_s");
	for (i = 0; i < n; i++) {
		const struct vmp_sim_result *r = &runs[i].full.sim;
		const struct vmp_sim_acct *a = &r->acct;

		printf("%-14s %10.2f %8.3f %11.3f %10.1f %10.4f %10.2f %10.3f %10.1f %10llu | "
		       "%8.2f %7.3f %9.3f %9.3f %7.3f\n",
		       runs[i].policy->name, r->energy_kwh, runs[i].full.energy_ratio,
		       ratio(a->overload_host_s, a->active_host_s) * 100,
		       a->overload_host_s / 3600,
		       ratio(a->unserved_mips_s, a->requested_mips_s) * 100,
		       a->worst_vm_unserved_frac * 100,
		       ratio(a->mem_overload_host_s, a->active_host_s) * 100,
		       a->mem_overload_host_s / 3600, (unsigned long long)r->migrations,
		       r->slatah * 100, r->pdm * 100, r->slav * 1e5, r->esv * 1e3, runs[i].wall_s);
	}
	if (n > 0)
		printf("%-14s %10.2f %8.3f  (oracle: fractional packing on the cheapest MIPS)\n",
		       "lower-bound", runs[0].full.bound_kwh, 1.0);
	printf("overload: host time with CPU demand above capacity, of active host time; "
	       "unserved: CPU demand\nnot served (overload and migration), of demand; "
	       "worstVM: the VM with the largest unserved\nshare; memover: host time with "
	       "memory demand above RAM (%% of active host time, host-hours).\nIntegrated "
	       "exactly over the day (doc/metrics.md). Right of |: CloudSim's metrics, for\n"
	       "the literature.\n");
}

/* The continuous accounting's keys of the JSON output (doc/metrics.md). */
static void
json_acct(json_t *o, const struct vmp_sim_acct *a)
{
	json_object_set_new(o, "active_host_h", json_real(a->active_host_s / 3600));
	json_object_set_new(o, "overload_host_h", json_real(a->overload_host_s / 3600));
	json_object_set_new(o, "overload_pct",
			    json_real(ratio(a->overload_host_s, a->active_host_s) * 100));
	json_object_set_new(o, "requested_mips_s", json_real(a->requested_mips_s));
	json_object_set_new(o, "unserved_mips_s", json_real(a->unserved_mips_s));
	json_object_set_new(o, "unserved_pct",
			    json_real(ratio(a->unserved_mips_s, a->requested_mips_s) * 100));
	json_object_set_new(o, "unserved_overload_mips_s",
			    json_real(a->unserved_overload_mips_s));
	json_object_set_new(o, "unserved_migration_mips_s",
			    json_real(a->unserved_migration_mips_s));
	json_object_set_new(o, "worst_vm", json_integer(a->worst_vm));
	json_object_set_new(o, "worst_vm_unserved_pct", json_real(a->worst_vm_unserved_frac * 100));
	json_object_set_new(o, "mem_overload_host_h", json_real(a->mem_overload_host_s / 3600));
	json_object_set_new(o, "mem_overload_pct",
			    json_real(ratio(a->mem_overload_host_s, a->active_host_s) * 100));
	json_object_set_new(o, "mem_requested_mb_s", json_real(a->mem_requested_mb_s));
	json_object_set_new(o, "mem_excess_mb_s", json_real(a->mem_excess_mb_s));
	json_object_set_new(o, "mem_excess_pct",
			    json_real(ratio(a->mem_excess_mb_s, a->mem_requested_mb_s) * 100));
	json_object_set_new(o, "accounted_s", json_real(a->window_s));
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
		json_acct(o, &r->acct);
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

/* ----------------------------------------------------------- --events FILE -- */

static const char *const event_names[VMP_SIM_EV_MAX] = {
	[VMP_SIM_EV_PLACE] = "place",         [VMP_SIM_EV_MIG_START] = "mig_start",
	[VMP_SIM_EV_MIG_END] = "mig_end",     [VMP_SIM_EV_REMOVE] = "remove",
	[VMP_SIM_EV_HOST_ON] = "host_on",     [VMP_SIM_EV_HOST_OFF] = "host_off",
};

/* Opens path for the events: a new or truncated regular file, not through a symlink. */
static FILE *
events_open(const char *path, int *ret_err)
{
	FILE *f;
	int fd;

	/* A FIFO is refused at once instead of blocking the open (VMP_ENOTREG). */
	fd = vmp_open_regular(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		*ret_err = -fd;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		*ret_err = errno;
		close(fd);
	}
	return f;
}

static void
events_write(void *ctx, const struct vmp_sim_event *ev)
{
	FILE *f = ctx;

	switch (ev->kind) {
	case VMP_SIM_EV_PLACE:
	case VMP_SIM_EV_REMOVE:
		fprintf(f, "{\"t\":%.17g,\"type\":\"%s\",\"vm\":%d,\"host\":%d}\n", ev->time_s,
			event_names[ev->kind], ev->vm, ev->host);
		break;
	case VMP_SIM_EV_MIG_START:
		fprintf(f, "{\"t\":%.17g,\"type\":\"mig_start\",\"vm\":%d,\"from\":%d,"
			"\"to\":%d,\"end\":%.17g}\n", ev->time_s, ev->vm, ev->from, ev->host,
			ev->end_s);
		break;
	case VMP_SIM_EV_MIG_END:
		fprintf(f, "{\"t\":%.17g,\"type\":\"mig_end\",\"vm\":%d,\"from\":%d,"
			"\"to\":%d}\n", ev->time_s, ev->vm, ev->from, ev->host);
		break;
	case VMP_SIM_EV_HOST_ON:
	case VMP_SIM_EV_HOST_OFF:
		fprintf(f, "{\"t\":%.17g,\"type\":\"%s\",\"host\":%d}\n", ev->time_s,
			event_names[ev->kind], ev->host);
		break;
	default:
		break;
	}
}

static void
json_line(FILE *f, json_t *o)
{
	json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(17));
	fputc('\n', f);
	json_decref(o);
}

/* The header of one run: the run, then every host and VM with what the metrics need. */
static void
events_header(FILE *f, const char *trace_dir, const struct vmp_trace *trace,
	      const struct vmp_sim_config *cfg, const char *policy, bool mem)
{
	size_t per_type = (trace->nvms + cfg->nvm_types - 1) / cfg->nvm_types, i;
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("run"));
	json_object_set_new(o, "policy", json_string(policy));
	json_object_set_new(o, "trace", json_string(trace_dir));
	json_object_set_new(o, "compat", json_string(cfg->cloudsim_compat ? "cloudsim" : "none"));
	json_object_set_new(o, "step_s", json_real(cfg->step_s));
	json_object_set_new(o, "nsteps", json_integer((json_int_t)trace->nsteps));
	json_object_set_new(o, "end_s", json_real((double)trace->nsteps * cfg->step_s));
	json_object_set_new(o, "memory", json_string(mem ? "trace" : "ram"));
	json_object_set_new(o, "hosts", json_integer((json_int_t)cfg->nhosts));
	json_object_set_new(o, "vms", json_integer((json_int_t)trace->nvms));
	json_line(f, o);
	for (i = 0; i < cfg->nhosts; i++) {
		const struct vmp_sim_host_type *t = &cfg->host_types[i % cfg->nhost_types];

		fprintf(f, "{\"type\":\"host\",\"host\":%zu,\"mips\":%.17g,\"pe_mips\":%.17g,"
			"\"ram_mb\":%.17g}\n", i, t->pe_mips * t->pes, t->pe_mips, t->ram_mb);
	}
	for (i = 0; i < trace->nvms; i++) {
		const struct vmp_sim_vm_type *t = &cfg->vm_types[i / per_type];

		o = json_object();
		json_object_set_new(o, "type", json_string("vm"));
		json_object_set_new(o, "vm", json_integer((json_int_t)i));
		json_object_set_new(o, "name", json_string(trace->names[i]));
		json_object_set_new(o, "mips", json_real(t->mips));
		json_object_set_new(o, "ram_mb", json_real(t->ram_mb));
		json_line(f, o);
	}
}

static int
run_simulate(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	const char *trace_dir = NULL, *policies = "lr-mmt-1.2", *format = "auto";
	const char *report = NULL, *events = NULL;
	FILE *evf = NULL;
	float *mem_pct = NULL;
	struct vmp_progress bar;
	struct vmp_pilot_params pilot;
	struct vmp_sim_config cfg;
	struct vmp_trace *trace = NULL;
	struct run *runs = NULL;
	size_t nruns = 0, i;
	char *err = NULL, *list = NULL, *tok, *save, *default_trace = NULL;
	char *cmdline = vmp_cli_command_line(cmd, argc, argv); /* before the parser reorders */
	bool json = false, csv, whole_ram = false;
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
			    strcmp(format, "csv")) {
				rc = vmp_cli_usage_error(cmd, "unknown trace format '%s'", format);
				goto out;
			}
			break;
		case OPT_POLICY:
			policies = p.optarg;
			break;
		case OPT_HOSTS: {
			uint64_t n;

			if (vmp_cli_parse_count(cmd, "hosts", p.optarg, 1, 10000000, &n) != 0)
				goto out;
			cfg.nhosts = (size_t)n;
			break;
		}
		case OPT_COMPAT:
			if (strcmp(p.optarg, "cloudsim") != 0) {
				rc = vmp_cli_usage_error(cmd, "unknown compat mode '%s' (only "
							 "'cloudsim')", p.optarg);
				goto out;
			}
			cfg.cloudsim_compat = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_REPORT:
			report = p.optarg;
			break;
		case OPT_EVENTS:
			events = p.optarg;
			break;
		case OPT_MEMORY:
			if (strcmp(p.optarg, "trace") != 0 && strcmp(p.optarg, "ram") != 0) {
				rc = vmp_cli_usage_error(cmd, "unknown memory model '%s' (trace "
							 "or ram)", p.optarg);
				goto out;
			}
			whole_ram = strcmp(p.optarg, "ram") == 0;
			break;
		case OPT_PILOT:
			if (vmp_pilot_params_parse(&pilot, p.optarg) < 0) {
				rc = vmp_cli_usage_error(cmd, "invalid pilot parameters '%s'",
							 p.optarg);
				goto out;
			}
			break;
		}
	}
	r = vmp_cli_end_options(cmd, &p, id, argc, argv);
	if (r >= 0) {
		rc = r;
		goto out;
	}
	if (strcmp(policies, "list") == 0) {
		list_policies();
		rc = VMP_EXIT_OK;
		goto out;
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
	if (whole_ram) {
		/* every VM holds its whole RAM, as without a memory trace, but planned */
		size_t k, nk = trace->nvms * trace->nsteps;

		mem_pct = xmalloc((nk ? nk : 1) * sizeof(float));
		for (k = 0; k < nk; k++)
			mem_pct[k] = 100;
	} else if (trace->fields & VMP_TRACE_MEM) {
		/*
		 * memory demand in percent of provisioned, applied to the VM type's RAM; a
		 * guest cannot hold more than its RAM, so a row reading more (Bitbrains: the
		 * first rows of some VMs, up to 29 times) counts as all of it
		 */
		size_t k, nk = trace->nvms * trace->nsteps;

		mem_pct = xmalloc((nk ? nk : 1) * sizeof(float));
		for (k = 0; k < nk; k++) {
			double prov = trace->mem_provisioned_kib[k];
			double pct = prov > 0 ? trace->mem_usage_kib[k] / prov * 100 : 0;

			mem_pct[k] = (float)(pct < 100 ? pct : 100);
		}
	}
	if (events) {
		int e = 0;

		evf = events_open(events, &e);
		if (!evf) {
			fprintf(stderr, "vmpilot simulate: cannot write events '%s': %s\n", events,
				vmp_file_strerror(e));
			rc = VMP_EXIT_USAGE;
			goto out;
		}
		cfg.on_event = events_write;
		cfg.event_ctx = evf;
	}
	for (i = 0; i < nruns; i++) {
		struct vmp_sim_input in = { trace->nvms, trace->nsteps, trace->cpu_usage_pct,
					    mem_pct };
		double t0 = now_s();

		if (evf)
			events_header(evf, trace_dir, trace, &cfg, runs[i].policy->name,
				      mem_pct != NULL && !whole_ram);
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
		if (evf) {
			json_t *o = json_object();

			json_object_set_new(o, "type", json_string("result"));
			json_object_set_new(o, "policy", json_string(runs[i].policy->name));
			json_object_set_new(o, "energy_kwh", json_real(runs[i].full.sim.energy_kwh));
			json_object_set_new(o, "migrations",
					    json_integer((json_int_t)runs[i].full.sim.migrations));
			json_acct(o, &runs[i].full.sim.acct);
			json_line(evf, o);
		}
	}
	if (evf) {
		int bad = ferror(evf), e = errno;

		if (fflush(evf) != 0 || fsync(fileno(evf)) != 0) {
			bad = 1;
			e = errno;
		}
		if (fclose(evf) != 0 && !bad) {
			bad = 1;
			e = errno;
		}
		evf = NULL;
		if (bad) {
			fprintf(stderr, "vmpilot simulate: cannot write events '%s': %s\n", events,
				strerror(e ? e : EIO));
			rc = VMP_EXIT_USAGE;
			goto out;
		}
	}
	if (report) {
		struct vmp_sim_report_run *rr = xcalloc(nruns, sizeof(*rr));
		struct vmp_sim_report_meta meta = {
			.trace = trace_dir, .nvms = trace->nvms, .nhosts = cfg.nhosts,
			.compat = cfg.cloudsim_compat, .version = VMP_VERSION,
			.command_line = cmdline, .generated_s = report_time(),
		};

		for (i = 0; i < nruns; i++) {
			rr[i].name = runs[i].policy->name;
			rr[i].result = &runs[i].full;
			rr[i].wall_s = runs[i].wall_s;
		}
		r = vmp_sim_report_write(report, &meta, rr, nruns);
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
		print_table(trace_dir, trace, cfg.nhosts, cfg.cloudsim_compat, runs, nruns);
	rc = VMP_EXIT_OK;
out:
	for (i = 0; i < nruns; i++)
		vmp_simrun_result_release(&runs[i].full);
	free(runs);
	free(list);
	free(err);
	free(default_trace);
	free(mem_pct);
	if (evf)
		fclose(evf);
	free(cmdline);
	vmp_trace_free(trace);
	return rc;
}

const struct vmp_cli_command vmp_cmd_simulate = {
	.name = "simulate",
	.summary = "replay consolidation policies on VM traces",
	.synopsis = "",
	.description = "Replays cluster consolidation policies (Beloglazov & Buyya 2012) on a\n"
		       "VM trace with the simulator that shares the daemon's policy code, and\n"
		       "prints per policy the host overload time and the CPU demand not served\n"
		       "(integrated exactly over the day, doc/metrics.md), memory overload,\n"
		       "energy and migrations, then CloudSim's SLATAH, PDM, SLAV and ESV.\n"
		       "--compat cloudsim reproduces CloudSim 3.0.3's numbers. E/bound is\n"
		       "each policy's energy over an oracle's lower bound; --policy vmpilot\n"
		       "runs vmpilot's own policy (doc/pilot-policy.md).",
	.options = simulate_options,
	.run = run_simulate,
};
