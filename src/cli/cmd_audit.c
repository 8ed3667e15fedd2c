/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot audit [-c URI] [VM...]`: lints each VM's configuration (src/host/audit.h)
 * from its libvirt domain XML, fetched through the backend (-c) or read from files
 * (--xml). Exit status: 0 nothing above INFO, 1 a WARN or FAIL, 2 usage or error.
 */
#include "backend/backend.h"
#include "cli/cli.h"
#include "core/diagnose.h"
#include "core/workload.h"
#include "host/audit.h"
#include "util/cpulist.h"
#include "util/fileio.h"
#include "util/units.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_CONNECT = 1, OPT_ROOT, OPT_JSON, OPT_XML, OPT_HOUSEKEEPING, OPT_LARGE, OPT_OBSERVE };

static const struct vmp_cli_option audit_options[] = {
	{ "connect", 'c', "URI", "audit the VMs of this hypervisor (default $LIBVIRT_DEFAULT_URI)", OPT_CONNECT },
	{ "root", 'r', "DIR", "read the host's topology and KSM state below DIR (a fixture tree)", OPT_ROOT },
	{ "json", 'j', NULL, "print JSON (schema vmpilot-audit/1)", OPT_JSON },
	{ "xml", 0, "FILE", "audit this domain XML file instead of a hypervisor (repeatable)", OPT_XML },
	{ "housekeeping", 0, "CPUS", "the host CPUs kept for the host (default 0)", OPT_HOUSEKEEPING },
	{ "large", 0, "SIZE", "a VM at least this big wants hugepages (default 16G)", OPT_LARGE },
	{ "observe", 0, "DURATION", "watch the VMs this long and recommend a workload profile", OPT_OBSERVE },
	{ 0 },
};

static bool
wanted(char **names, int n, const char *vm)
{
	int i;

	if (n == 0)
		return true;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], vm) == 0)
			return true;
	return false;
}

/* A URI without a host part (qemu:///system, test:///default) is this machine. */
static bool
uri_is_local(const char *uri)
{
	const char *p = strstr(uri, "://");

	return p && p[3] == '/';
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Samples the running audited VMs twice, observe_ms apart, and adds profile advice. */
static void
observe(struct vmp_backend *b, const struct vmp_vm_info *vms, int n, char **names, int n_names,
	int64_t observe_ms, struct vmp_audit_report *rep)
{
	struct vmp_vm_stats *first = xcalloc((size_t)n + 1, sizeof(*first));
	bool *ok = xcalloc((size_t)n + 1, sizeof(*ok));
	struct vmp_diag_params params;
	int i;

	vmp_diag_params_default(&params);
	for (i = 0; i < n; i++)
		ok[i] = wanted(names, n_names, vms[i].name) && vms[i].state == VMP_VM_RUNNING &&
			vmp_backend_vm_stats(b, vms[i].name, &first[i]) == 0;
	sleep_ms(observe_ms);
	for (i = 0; i < n; i++) {
		struct vmp_diag_input in = { .vcpus = vms[i].vcpus_current };
		struct vmp_workload_observed o;
		struct vmp_diag_result r;
		struct vmp_vm_stats second;
		const struct vmp_workload_profile *w;
		const char *why;
		char *seen;

		if (!ok[i] || vmp_cli_second_sample(b, vms[i].name, &first[i], &second) < 0)
			continue;
		vmp_backend_diag_sample(&first[i], &in.a);
		vmp_backend_diag_sample(&second, &in.b);
		/* without CPU counters (e.g. libvirt's test driver) there is nothing to judge */
		if (!in.a.have_cpu || !in.b.have_cpu || vmp_diag_run(&params, &in, &r) < 0)
			continue;
		o.cpu_busy_frac = r.cpu_busy_frac;
		o.iops = r.iops;
		o.bytes_s = r.bytes_s;
		o.majflt_s = r.majflt_s;
		w = vmp_workload_recommend(&o, &why);
		seen = xasprintf("over %.1f s: vCPUs %.0f%% busy, %.0f IOPS, %.0f KiB/s, %.0f major faults/s, so %s",
				 (double)observe_ms / 1000, 100 * o.cpu_busy_frac, o.iops, o.bytes_s / 1024,
				 o.majflt_s, why);
		vmp_audit_profile_advice(rep, vms[i].name, w->name, seen);
		free(seen);
	}
	free(first);
	free(ok);
}

static int
audit_hypervisor(const char *uri, char **names, int n_names, struct vmp_audit_host *host,
		 bool host_from_root, int64_t observe_ms, struct vmp_audit_report *rep)
{
	struct vmp_backend *b = NULL;
	struct vmp_vm_info *vms = NULL;
	char *err = NULL;
	int n, i, r, found = 0, ret = 0;

	r = vmp_backend_open(uri, 10000, &b, &err);
	if (r < 0) {
		fprintf(stderr, "vmpilot audit: cannot connect to '%s': %s\n", uri, err ? err : strerror(-r));
		free(err);
		return -1;
	}
	if (!host_from_root) {
		struct vmp_host_info hi;

		if (vmp_backend_host_info(b, &hi) == 0) {
			host->cpus = hi.cpus;
			host->numa_nodes = hi.numa_nodes;
			host->node_mem_kib = hi.numa_nodes ? hi.memory_kib / hi.numa_nodes : 0;
		}
	}
	n = vmp_backend_list_vms(b, &vms);
	if (n < 0) {
		fprintf(stderr, "vmpilot audit: cannot list the VMs of '%s': %s\n", uri, vmp_backend_error(b));
		vmp_backend_close(b);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char *xml = NULL, *source;

		if (!wanted(names, n_names, vms[i].name))
			continue;
		found++;
		r = vmp_backend_vm_config(b, vms[i].name, &xml);
		if (r < 0) {
			fprintf(stderr, "vmpilot audit: %s\n", vmp_backend_error(b));
			ret = -1;
			continue;
		}
		source = xasprintf("vm '%s'", vms[i].name);
		r = vmp_audit_domain(xml, strlen(xml), source, host, rep, &err);
		if (r < 0) {
			fprintf(stderr, "vmpilot audit: %s\n", err);
			free(err);
			err = NULL;
			ret = -1;
		}
		free(source);
		free(xml);
	}
	if (observe_ms > 0)
		observe(b, vms, n, names, n_names, observe_ms, rep);
	if (n_names > found) {
		for (i = 0; i < n_names; i++) {
			int j;
			bool seen = false;

			for (j = 0; j < n && !seen; j++)
				seen = strcmp(vms[j].name, names[i]) == 0;
			if (!seen) {
				fprintf(stderr, "vmpilot audit: no vm '%s' on '%s'\n", names[i], uri);
				ret = -1;
			}
		}
	}
	free(vms);
	vmp_backend_close(b);
	return ret;
}

static int
run_audit(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	struct vmp_audit_report rep = { 0 };
	struct vmp_audit_host host;
	const char *uri = NULL, *root = NULL, *hk = NULL, *large = NULL;
	const char **xmls = NULL;
	size_t n_xml = 0, alloc = 0, i;
	bool json = false, failed = false;
	int64_t observe_ms = 0;
	int id, ret = VMP_EXIT_USAGE;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT: uri = p.optarg; break;
		case OPT_ROOT: root = p.optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_HOUSEKEEPING: hk = p.optarg; break;
		case OPT_LARGE: large = p.optarg; break;
		case OPT_OBSERVE:
			if (vmp_cli_parse_duration(cmd, "observe", p.optarg, 500, 3600000, &observe_ms) != VMP_EXIT_OK)
				goto out;
			break;
		case OPT_XML:
			xgrow((void **)&xmls, &alloc, n_xml + 1, sizeof(char *));
			xmls[n_xml++] = p.optarg;
			break;
		}
	}
	if (id == VMP_CLI_HELP) {
		free((void *)xmls);
		return VMP_EXIT_OK;
	}
	if (id == VMP_CLI_ERROR)
		goto out;
	vmp_audit_host_read(root, &host);
	if (hk) {
		unsigned n;

		if (vmp_cpulist_count(hk, &n) < 0 || n == 0) {
			vmp_cli_usage_error(cmd, "--housekeeping '%s' is not a CPU list", hk);
			goto out;
		}
		snprintf(host.housekeeping, sizeof(host.housekeeping), "%s", hk);
	}
	if (large) {
		uint64_t kib;

		if (vmp_parse_size_kib(large, 1024 * 1024, &kib) < 0 || kib == 0) {
			vmp_cli_usage_error(cmd, "--large '%s' is not a size (e.g. 16G)", large);
			goto out;
		}
		host.large_vm_kib = kib;
	}
	for (i = 0; i < n_xml; i++) {
		char *buf = NULL, *err = NULL;
		size_t len = 0;
		int r = vmp_read_file(NULL, xmls[i], &buf, &len);

		if (r < 0) {
			fprintf(stderr, "vmpilot audit: cannot read '%s': %s\n", xmls[i], strerror(-r));
			failed = true;
			continue;
		}
		if (vmp_audit_domain(buf, len, xmls[i], &host, &rep, &err) < 0) {
			fprintf(stderr, "vmpilot audit: %s\n", err);
			free(err);
			failed = true;
		}
		free(buf);
	}
	if (n_xml == 0 || uri) {
		if (!uri)
			uri = vmp_cli_default_uri();
		if (audit_hypervisor(uri, argv + p.optind, argc - p.optind, &host,
				     root != NULL || uri_is_local(uri), observe_ms, &rep) < 0)
			failed = true;
	} else if (p.optind < argc) {
		vmp_cli_usage_error(cmd, "VM names select VMs of a hypervisor (-c), not of --xml files");
		goto out;
	}
	vmp_audit_finish(&host, &rep);
	if (json) {
		json_t *j = vmp_audit_report_json(&rep);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		vmp_audit_report_print(&rep, stdout);
	}
	if (failed)
		ret = VMP_EXIT_USAGE;
	else
		ret = rep.counts[VMP_AUDIT_WARN] || rep.counts[VMP_AUDIT_FAIL] ? VMP_EXIT_FINDING : VMP_EXIT_OK;
out:
	vmp_audit_report_clear(&rep);
	free((void *)xmls);
	return ret;
}

const struct vmp_cli_command vmp_cmd_audit = {
	.name = "audit",
	.summary = "lint each VM's configuration for performance mistakes, with the XML fix",
	.synopsis = "[VM...]",
	.description =
		"Reads each VM's libvirt domain XML and reports emulated disks and NICs, disk\n"
		"cache and AIO modes, disks without an I/O thread or discard, CPU mode and\n"
		"topology, vCPU overcommit, pinning onto housekeeping CPUs, large VMs without\n"
		"hugepages, NUMA spans without numatune, a missing balloon or balloon stats,\n"
		"clock and timer choices, and KSM merging pages of different tenants\n"
		"(<vmp:tenant> in the domain metadata). Each finding: severity, reason, and the\n"
		"exact XML fix (doc/audit.md). Exit status: 0 nothing above INFO, 1 a WARN,\n"
		"2 usage or error.",
	.options = audit_options,
	.run = run_audit,
};
