/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot replay`: replays the right-sizing and overcommit policies on per-VM traces
 * (Bitbrains layout) and prints, per policy, memory and CPU slack, shortage and the
 * number of actions: static provisioning, oVirt MOM, a VPA-like recommender and
 * vmpilot, all in one run with the daemon's policy code (src/core/replay.c).
 */
#include "cli/cli.h"
#include "cli/replay_data.h"
#include "core/replay.h"
#include "daemon/journal.h"
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TRACE "traces/bitbrains-rnd" /* below the data directory */

enum {
	OPT_TRACE = 1,
	OPT_JSON,
	OPT_MAX_VMS,
	OPT_PER_HOST,
	OPT_OVERCOMMIT,
	OPT_JOURNAL,
	OPT_JOURNAL_VM,
	OPT_POLICY,
	OPT_SERIES,
	OPT_MEM_ACTION_GAP,
};

static const struct vmp_cli_option replay_options[] = {
	{ "trace", 't', "DIR", "directory of per-VM CSV files (default: the bundled "
	  DEFAULT_TRACE ")", OPT_TRACE },
	{ "json", 'j', NULL, "print one JSON document", OPT_JSON },
	{ "max-vms", 0, "N", "replay only the first N VMs (sorted by file name)", OPT_MAX_VMS },
	{ "vms-per-host", 0, "N", "VMs sharing one host (default 25)", OPT_PER_HOST },
	{ "overcommit", 0, "RATIO", "host memory = provisioned sum / RATIO (default 1.0)",
	  OPT_OVERCOMMIT },
	{ "journal", 'J', "FILE", "append vmpilot's decisions to a decision journal (JSON lines)",
	  OPT_JOURNAL },
	{ "journal-vm", 0, "NAME", "journal only this VM (its file name without .csv)",
	  OPT_JOURNAL_VM },
	{ "policy", 'p', "NAME", "replay only one policy: static, mom, vpa, autopilot or vmpilot",
	  OPT_POLICY },
	{ "series", 0, "FILE", "write every VM-step's use and allocation per policy (CSV)",
	  OPT_SERIES },
	{ "mem-action-gap", 0, "DURATION", "vmpilot: no memory action sooner than this after the "
	  "last, not even on pressure (a strict cap; default 0: off; config mem_action_gap_ms)",
	  OPT_MEM_ACTION_GAP },
	{ 0 },
};

static json_t *
result_json(const struct vmp_replay_result *r)
{
	return json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, "
			 "s:f, s:f, s:f, s:f, s:I}",
			 "policy", vmp_replay_policy_name(r->policy),
			 "vm_steps", (json_int_t)r->vm_steps,
			 "mem_used_kib_steps", r->mem_used_kib_steps,
			 "mem_slack_pct", r->mem_slack_pct,
			 "mem_rel_slack_pct", r->mem_rel_slack_pct,
			 "mem_short_pct", r->mem_short_pct,
			 "mem_short_vm_h", r->mem_short_vm_h,
			 "mem_short_gib_h", r->mem_short_gib_h,
			 "cpu_slack_pct", r->cpu_slack_pct,
			 "cpu_short_pct", r->cpu_short_pct,
			 "cpu_short_core_h", r->cpu_short_core_h,
			 "mem_actions", (json_int_t)r->mem_actions,
			 "mem_actions_max_hour", (json_int_t)r->mem_actions_max_hour,
			 "cpu_actions", (json_int_t)r->cpu_actions,
			 "host_over_pct", r->host_over_pct,
			 "disk_headroom_pct", r->disk_headroom_pct,
			 "disk_throttled_pct", r->disk_throttled_pct,
			 "disk_throttled_steps_pct", r->disk_throttled_steps_pct,
			 "disk_actions", (json_int_t)r->disk_actions);
}

static void
print_table(const struct vmp_replay_result *res, size_t n, FILE *out)
{
	size_t i;

	fprintf(out, "%-9s %9s %8s %9s %9s %10s %9s %9s %11s %8s %8s %9s %9s %9s %8s\n",
		"policy", "mem slack", "rel slack", "mem short", "short VMh", "short GiBh",
		"cpu slack", "cpu short", "short coreh", "mem act", "cpu act", "host over",
		"disk head", "disk thr", "disk act");
	for (i = 0; i < n; i++) {
		const struct vmp_replay_result *r = &res[i];

		fprintf(out, "%-9s %8.1f%% %8.1f%% %8.3f%% %9.1f %10.1f %8.1f%% %8.3f%% %11.1f "
			"%8llu %8llu %8.1f%% %8.0f%% %8.3f%% %8llu\n",
			vmp_replay_policy_name(r->policy), r->mem_slack_pct, r->mem_rel_slack_pct,
			r->mem_short_pct,
			r->mem_short_vm_h, r->mem_short_gib_h, r->cpu_slack_pct, r->cpu_short_pct,
			r->cpu_short_core_h, (unsigned long long)r->mem_actions,
			(unsigned long long)r->cpu_actions, r->host_over_pct, r->disk_headroom_pct,
			r->disk_throttled_pct, (unsigned long long)r->disk_actions);
	}
}

/* The series: one CSV line per policy, VM and running step, for independent checks. */
struct series_ctx {
	FILE *f;
	const struct vmp_replay_set *set;
	const char *policy;
};

static void
series_step(void *ctx, size_t vm, int64_t now_ms, const struct vmp_replay_sample *s,
	    uint64_t alloc_kib, unsigned vcpus)
{
	struct series_ctx *c = ctx;

	fprintf(c->f, "%s;%s;%lld;%.1f;%.1f;%llu;%.3f;%.3f;%g;%u\n", c->policy, c->set->names[vm],
		(long long)(now_ms / 1000), s->mem_used_kib, s->mem_prov_kib,
		(unsigned long long)alloc_kib, s->cpu_used_mhz, s->cpu_prov_mhz, s->cpu_cores,
		vcpus);
}

static FILE *
open_series(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

/* Writes vmpilot's replay decisions as journal lines, in the trace's own time. */
struct journal_ctx {
	FILE *f;
	const struct vmp_replay_set *set;
	const char *only_vm;
	int error;                     /* first write error, as -errno */
};

static void
journal_decision(void *ctx, size_t vm, const char *policy, int64_t now_ms,
		 const struct vmp_decision *d, bool acted)
{
	struct journal_ctx *j = ctx;
	struct vmp_journal_record rec;
	char *name;
	int rc;

	name = xstrdup(j->set->names[vm]);
	if (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".csv") == 0)
		name[strlen(name) - 4] = '\0';
	if (j->error == 0 && (!j->only_vm || strcmp(j->only_vm, name) == 0)) {
		memset(&rec, 0, sizeof(rec));
		rec.time_ms = j->set->start_s[vm] * 1000 + now_ms;
		rec.vm = name;
		rec.policy = policy;
		rec.decision = d;
		rec.acted = acted;
		rc = vmp_journal_append(j->f, &rec);
		if (rc < 0)
			j->error = rc;
	}
	free(name);
}

static int
run_replay(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	struct vmp_replay_result res[VMP_REPLAY_POLICY_MAX];
	struct vmp_replay_params params;
	struct vmp_replay_set *set = NULL;
	static char default_trace[4096];
	const char *trace = NULL, *journal = NULL;
	struct journal_ctx jctx = { 0 };
	struct series_ctx sctx = { 0 };
	const char *series = NULL;
	bool json = false;
	uint64_t max_vms = 0, per_host;
	double ratio;
	char *err = NULL;
	int id, rc, i, only = -1, nres = 0;

	vmp_replay_params_default(&params);
	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_TRACE:
			trace = p.optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_MAX_VMS:
			if (vmp_cli_parse_count(cmd, "max-vms", p.optarg, 1, UINT32_MAX,
						&max_vms) != 0)
				return VMP_EXIT_USAGE;
			break;
		case OPT_PER_HOST:
			if (vmp_cli_parse_count(cmd, "vms-per-host", p.optarg, 1, 100000,
						&per_host) != 0)
				return VMP_EXIT_USAGE;
			params.vms_per_host = (unsigned)per_host;
			break;
		case OPT_OVERCOMMIT:
			if (vmp_parse_double(p.optarg, &ratio) < 0 || !(ratio >= 0.1 && ratio <= 10))
				return vmp_cli_usage_error(cmd, "'%s' is not a ratio in 0.1-10",
							   p.optarg);
			params.overcommit = ratio;
			break;
		case OPT_JOURNAL:
			journal = p.optarg;
			break;
		case OPT_SERIES:
			series = p.optarg;
			break;
		case OPT_JOURNAL_VM:
			jctx.only_vm = p.optarg;
			break;
		case OPT_MEM_ACTION_GAP:
			if (vmp_cli_parse_duration(cmd, "mem-action-gap", p.optarg, 0, 86400000,
						   &params.vmpilot_mem.action_gap_ms) != VMP_EXIT_OK)
				return VMP_EXIT_USAGE;
			break;
		case OPT_POLICY:
			for (i = 0; i < VMP_REPLAY_POLICY_MAX; i++)
				if (strcmp(p.optarg, vmp_replay_policy_name((enum vmp_replay_policy)i)) == 0)
					only = i;
			if (only < 0)
				return vmp_cli_usage_error(cmd, "unknown policy '%s'", p.optarg);
			break;
		}
	}
	rc = vmp_cli_end_options(cmd, &p, id, argc, argv);
	if (rc >= 0)
		return rc;
	if (!trace) {
		snprintf(default_trace, sizeof(default_trace), "%s/%s", vmp_cli_datadir(),
			 DEFAULT_TRACE);
		trace = default_trace;
	}

	rc = vmp_replay_load_dir(trace, (size_t)max_vms, params.step_ms / 1000, &set, &err);
	if (rc < 0) {
		fprintf(stderr, "vmpilot replay: %s\n", err);
		free(err);
		return VMP_EXIT_FAILURE;
	}
	if (journal) {
		int jfd = vmp_open_regular(journal, O_WRONLY | O_APPEND | O_CREAT, 0640);

		jctx.f = jfd >= 0 ? fdopen(jfd, "a") : NULL;
		if (!jctx.f) {
			if (jfd >= 0)
				close(jfd);
			fprintf(stderr, "vmpilot replay: cannot open journal '%s': %s\n", journal,
				vmp_file_strerror(jfd >= 0 ? -errno : jfd));
			vmp_replay_set_free(set);
			return VMP_EXIT_FAILURE;
		}
		jctx.set = set;
	}
	if (series) {
		sctx.f = open_series(series);
		if (!sctx.f) {
			fprintf(stderr, "vmpilot replay: cannot open series '%s': %s\n", series,
				strerror(errno));
			vmp_replay_set_free(set);
			if (jctx.f)
				fclose(jctx.f);
			return VMP_EXIT_FAILURE;
		}
		sctx.set = set;
		fputs("policy;vm;t_s;mem_used_kib;mem_prov_kib;mem_alloc_kib;cpu_used_mhz;"
		      "cpu_prov_mhz;cpu_cores;vcpus\n", sctx.f);
	}
	for (i = 0; i < VMP_REPLAY_POLICY_MAX; i++) {
		if (only >= 0 && i != only)
			continue;
		params.journal = journal && i == VMP_REPLAY_VMPILOT ? journal_decision : NULL;
		params.journal_ctx = &jctx;
		params.observe = sctx.f ? series_step : NULL;
		params.observe_ctx = &sctx;
		sctx.policy = vmp_replay_policy_name((enum vmp_replay_policy)i);
		rc = vmp_replay_run(&params, set->vms, set->nvms, (enum vmp_replay_policy)i,
				    &res[nres++]);
		if (rc < 0) {
			fprintf(stderr, "vmpilot replay: cannot replay policy '%s': %s\n",
				vmp_replay_policy_name((enum vmp_replay_policy)i), strerror(-rc));
			vmp_replay_set_free(set);
			if (jctx.f)
				fclose(jctx.f);
			if (sctx.f)
				fclose(sctx.f);
			return VMP_EXIT_FAILURE;
		}
	}
	if (sctx.f && (fflush(sctx.f) != 0 || ferror(sctx.f) || fsync(fileno(sctx.f)) != 0 ||
		       fclose(sctx.f) != 0)) {
		fprintf(stderr, "vmpilot replay: cannot write series '%s': %s\n", series,
			strerror(errno));
		vmp_replay_set_free(set);
		if (jctx.f)
			fclose(jctx.f);
		return VMP_EXIT_FAILURE;
	}
	if (jctx.f && (fclose(jctx.f) != 0 || jctx.error < 0)) {
		fprintf(stderr, "vmpilot replay: cannot write journal '%s': %s\n", journal,
			strerror(jctx.error < 0 ? -jctx.error : errno));
		vmp_replay_set_free(set);
		return VMP_EXIT_FAILURE;
	}
	if (json) {
		json_t *doc = json_pack("{s:s, s:I, s:I, s:f, s:[]}", "trace", trace,
					"vms", (json_int_t)set->nvms,
					"vms_per_host", (json_int_t)params.vms_per_host,
					"overcommit", params.overcommit, "policies");
		json_t *arr = json_object_get(doc, "policies");

		for (i = 0; i < nres; i++)
			json_array_append_new(arr, result_json(&res[i]));
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		printf("%zu VMs from %s, %u VMs per host, overcommit %.2f, %lld-s steps\n\n",
		       set->nvms, trace, params.vms_per_host, params.overcommit,
		       (long long)(params.step_ms / 1000));
		print_table(res, (size_t)nres, stdout);
	}
	vmp_replay_set_free(set);
	return VMP_EXIT_OK;
}

const struct vmp_cli_command vmp_cmd_replay = {
	.name = "replay",
	.summary = "replay right-sizing policies on per-VM CPU and memory traces",
	.synopsis = "",
	.description =
		"Replays static provisioning, oVirt MOM's host-pressure ballooning (10-s cycles),\n"
		"the Kubernetes VPA recommender and updater, Google's Autopilot ML recommender and\n"
		"vmpilot on per-VM traces (Bitbrains CSV layout) with the daemon's own policy code,\n"
		"and prints per policy: memory and CPU slack (allocated - used, % of used; relative\n"
		"slack: % of allocated), shortage (share of VM-steps and amount where use exceeded\n"
		"the allocation) and the number of actions. See doc/replay.md.",
	.options = replay_options,
	.run = run_replay,
};
