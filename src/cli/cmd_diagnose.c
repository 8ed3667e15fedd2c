/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot diagnose [-c URI] [VM...]`: samples each running VM twice, --interval apart,
 * through the backend, and names its bottleneck (src/core/diagnose.h) with the
 * evidence, the fix and a health score. I/O limits come from the domain XML's <iotune>
 * where the backend gives the configuration (libvirt). Exit status: 0 no bottleneck,
 * 1 a bottleneck named, 2 usage or error.
 */
#include "backend/backend.h"
#include "cli/cli.h"
#include "core/diagnose.h"
#include "host/audit.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_CONNECT = 1, OPT_JSON, OPT_INTERVAL };

static const struct vmp_cli_option diagnose_options[] = {
	{ "connect", 'c', "URI", "the hypervisor (default $LIBVIRT_DEFAULT_URI)", OPT_CONNECT },
	{ "json", 'j', NULL, "print JSON (schema vmpilot-diagnose/1)", OPT_JSON },
	{ "interval", 'i', "DURATION", "time between the two samples (default 3s)", OPT_INTERVAL },
	{ 0 },
};

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The second sample of vm. A backend may answer from a bulk sample taken a moment ago:
 * ask again (at most 5 times, 200 ms apart) until the sample is newer than the first.
 */
int
vmp_cli_second_sample(struct vmp_backend *b, const char *vm, const struct vmp_vm_stats *first,
	      struct vmp_vm_stats *ret)
{
	int tries, r = 0;

	for (tries = 0; tries <= 5; tries++) {
		r = vmp_backend_vm_stats(b, vm, ret);
		if (r < 0 || ret->sample_time_us > first->sample_time_us)
			break;
		sleep_ms(200);
	}
	return r;
}

static json_t *
result_json(const char *vm, const struct vmp_diag_result *r)
{
	json_t *res = json_object();
	int k;

	for (k = 0; k < VMP_DIAG_RESOURCE_MAX; k++)
		json_object_set_new(res, vmp_diag_name(k),
				    r->measured[k] ? json_pack("{s:f,s:s}", "stall", r->stall[k], "evidence", r->evidence[k])
						   : json_null());
	return json_pack("{s:s,s:i,s:s,s:o,s:s,s:{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:b,s:f,s:f}}", "vm", vm,
			 "score", (int)r->score, "bottleneck", vmp_diag_name(r->bottleneck), "resources", res,
			 "fix", r->fix, "rates", "steal_frac", r->steal_frac, "cpu_busy_frac", r->cpu_busy_frac,
			 "avail_frac", r->avail_frac, "swapin_kib_s", r->swapin_kib_s, "majflt_s", r->majflt_s,
			 "iops", r->iops, "bytes_s", r->bytes_s, "balloon_stuck", r->balloon_stuck,
			 "io_busy", r->io_busy, "io_latency_ms", r->io_latency_ms);
}

static void
result_print(const char *vm, const struct vmp_diag_result *r, FILE *out)
{
	int k;

	fprintf(out, "%s: health %u/100, bottleneck %s\n", vm, r->score, vmp_diag_name(r->bottleneck));
	for (k = 0; k < VMP_DIAG_RESOURCE_MAX; k++) {
		if (r->measured[k])
			fprintf(out, "  %-16s stall %3.0f%%  %s\n", vmp_diag_name(k), 100 * r->stall[k], r->evidence[k]);
		else
			fprintf(out, "  %-16s not measured (the backend gave no counters)\n", vmp_diag_name(k));
	}
	fprintf(out, "  fix: %s\n", r->fix);
}

static bool
wanted(char **names, int n, const char *vm)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], vm) == 0)
			return true;
	return n == 0;
}

static int
run_diagnose(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	struct vmp_diag_params params;
	struct vmp_backend *b = NULL;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats *first = NULL;
	const char *uri = NULL;
	bool json = false, *ok = NULL;
	int64_t interval_ms = 3000;
	json_t *all = json_array();
	char *err = NULL;
	int id, n, i, ret = VMP_EXIT_USAGE, named = 0, found = 0;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT: uri = p.optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_INTERVAL:
			if (vmp_cli_parse_duration(cmd, "interval", p.optarg, 100, 600000, &interval_ms) != VMP_EXIT_OK)
				goto out;
			break;
		}
	}
	if (id == VMP_CLI_HELP) {
		ret = VMP_EXIT_OK;
		goto out;
	}
	if (id == VMP_CLI_ERROR)
		goto out;
	if (!uri)
		uri = vmp_cli_default_uri();
	if (!uri) {
		vmp_cli_usage_error(cmd, "which hypervisor? give -c URI (or set LIBVIRT_DEFAULT_URI)");
		goto out;
	}
	vmp_diag_params_default(&params);
	if (vmp_backend_open(uri, 10000, &b, &err) < 0) {
		fprintf(stderr, "vmpilot diagnose: cannot connect to '%s': %s\n", uri, err ? err : "?");
		goto out;
	}
	n = vmp_backend_list_vms(b, &vms);
	if (n < 0) {
		fprintf(stderr, "vmpilot diagnose: cannot list the VMs of '%s': %s\n", uri, vmp_backend_error(b));
		goto out;
	}
	first = xcalloc((size_t)n + 1, sizeof(*first));
	ok = xcalloc((size_t)n + 1, sizeof(*ok));
	for (i = 0; i < n; i++) {
		if (!wanted(argv + p.optind, argc - p.optind, vms[i].name))
			continue;
		found++;
		if (vms[i].state != VMP_VM_RUNNING) {
			fprintf(stderr, "vmpilot diagnose: vm '%s' is not running (state %s)\n", vms[i].name,
				vmp_vm_state_name(vms[i].state));
			continue;
		}
		ok[i] = vmp_backend_vm_stats(b, vms[i].name, &first[i]) == 0;
		if (!ok[i])
			fprintf(stderr, "vmpilot diagnose: %s\n", vmp_backend_error(b));
	}
	if (found < argc - p.optind) {
		fprintf(stderr, "vmpilot diagnose: a VM named on the command line is not on '%s'\n", uri);
		goto out;
	}
	sleep_ms(interval_ms);
	ret = VMP_EXIT_OK;
	for (i = 0; i < n; i++) {
		struct vmp_diag_input in = { 0 };
		struct vmp_diag_result r;
		struct vmp_vm_stats second;
		char *xml = NULL;

		if (!ok[i])
			continue;
		if (vmp_cli_second_sample(b, vms[i].name, &first[i], &second) < 0) {
			fprintf(stderr, "vmpilot diagnose: %s\n", vmp_backend_error(b));
			ret = VMP_EXIT_USAGE;
			continue;
		}
		vmp_backend_diag_sample(&first[i], &in.a);
		vmp_backend_diag_sample(&second, &in.b);
		in.vcpus = vms[i].vcpus_current;
		in.balloon_target_kib = vms[i].memory_current_kib;
		if (vmp_backend_vm_config(b, vms[i].name, &xml) == 0)
			vmp_audit_iotune(xml, strlen(xml), &in.limit_iops, &in.limit_bytes_s);
		free(xml);
		if (vmp_diag_run(&params, &in, &r) < 0) {
			fprintf(stderr, "vmpilot diagnose: vm '%s': the two samples are not in time order\n",
				vms[i].name);
			ret = VMP_EXIT_USAGE;
			continue;
		}
		named += r.bottleneck >= 0;
		if (json)
			json_array_append_new(all, result_json(vms[i].name, &r));
		else
			result_print(vms[i].name, &r, stdout);
	}
	if (json) {
		json_t *j = json_pack("{s:s,s:I,s:O}", "schema", "vmpilot-diagnose/1", "interval_ms",
				      (json_int_t)interval_ms, "vms", all);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	}
	if (ret == VMP_EXIT_OK && named)
		ret = VMP_EXIT_FINDING;
out:
	json_decref(all);
	free(err);
	free(first);
	free(ok);
	free(vms);
	vmp_backend_close(b);
	return ret;
}

const struct vmp_cli_command vmp_cmd_diagnose = {
	.name = "diagnose",
	.summary = "name each VM's bottleneck (CPU contention, memory pressure, I/O throttling) with evidence",
	.synopsis = "[VM...]",
	.description =
		"Samples each running VM twice, --interval apart, and computes a stall fraction\n"
		"per resource: CPU contention from steal (vCPU time runnable but waiting for a\n"
		"host CPU), memory pressure from available memory, swap-in and major faults (and\n"
		"a balloon that cannot reach its target), I/O throttling from the disks' rates\n"
		"against their <iotune> limits; the VM's cgroup PSI where the host has it. The\n"
		"bottleneck is named with its evidence and the fix; health = 100 x (1 - worst\n"
		"stall). doc/diagnose.md has the maths. Exit status: 0 no bottleneck, 1 one\n"
		"named, 2 usage or error.",
	.options = diagnose_options,
	.run = run_diagnose,
};
