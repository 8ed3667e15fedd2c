/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot profile`: workload profiles of VMs (src/core/workload.h). `apply VM [NAME]`
 * applies a profile live through the backend: vCPU pinning onto dedicated
 * non-housekeeping CPUs, CPU shares, disk write limits; NAME defaults to the domain's
 * <vmpilot:profile> metadata. The right-sizer's percentile, margin and balloon floor are
 * printed as the VM's configuration lines. Pinning is refused while numad or the
 * kernel's NUMA balancing owns placement (host/owner.h). Exit status: 0 applied (or
 * nothing to do), 1 refused, 2 usage or an action that failed.
 */
#include "backend/backend.h"
#include "cli/cli.h"
#include "core/workload.h"
#include "host/audit.h"
#include "host/owner.h"
#include "util/cpulist.h"
#include "util/fileio.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_CONNECT = 1, OPT_DRY_RUN, OPT_HOUSEKEEPING, OPT_ROOT };

static const struct vmp_cli_option profile_options[] = {
	{ "connect", 'c', "URI", "the hypervisor (default $LIBVIRT_DEFAULT_URI)", OPT_CONNECT },
	{ "dry-run", 'd', NULL, "apply: print the actions, change nothing", OPT_DRY_RUN },
	{ "housekeeping", 0, "CPUS", "host CPUs kept for the host, never given to pinned vCPUs (default 0)", OPT_HOUSEKEEPING },
	{ "root", 'r', "DIR", "read the host's CPUs and its services below DIR (a fixture tree)", OPT_ROOT },
	{ 0 },
};

static void
print_profile(const struct vmp_workload_profile *p)
{
	printf("%-10s %s\n", p->name, p->summary);
	printf("    vCPU pinning: %s; CPU shares %llu; disk writes %s\n",
	       p->pin_dedicated ? "each vCPU on a dedicated non-housekeeping CPU" : "none",
	       (unsigned long long)p->cpu_shares, p->disk_write_bytes_s ? "limited" : "unlimited");
	if (p->disk_write_bytes_s)
		printf("    disk write limit per disk: %llu MiB/s, %llu IOPS\n",
		       (unsigned long long)(p->disk_write_bytes_s >> 20), (unsigned long long)p->disk_write_iops);
	printf("    right-sizer: P%.0f + %.0f %%, balloon floor %.0f %% of max memory\n", p->rightsize_pct,
	       100 * p->rightsize_margin, 100 * p->balloon_floor_frac);
	printf("    why: %s\n", p->why);
}

/* The host CPUs a pinned vCPU may use: online minus housekeeping, in order. */
static int
dedicated_cpus(const char *root, const char *housekeeping, unsigned **ret, unsigned *ret_n)
{
	static uint8_t online[512], hk[512];
	char *line = NULL;
	unsigned c, n = 0, *cpus = NULL;
	int r;

	r = vmp_read_line(root, "/sys/devices/system/cpu/online", &line);
	if (r < 0)
		return r;
	r = vmp_cpulist_parse(line, 4096, online, sizeof(online));
	free(line);
	if (r < 0 || vmp_cpulist_parse(housekeeping, 4096, hk, sizeof(hk)) < 0)
		return -EINVAL;
	cpus = xcalloc(4096, sizeof(*cpus));
	for (c = 0; c < 4096; c++)
		if ((online[c / 8] & (1u << (c % 8))) && !(hk[c / 8] & (1u << (c % 8))))
			cpus[n++] = c;
	if (n == 0) {
		free(cpus);
		return -ENOSPC;
	}
	*ret = cpus;
	*ret_n = n;
	return 0;
}

/* Prints one action and, unless dry_run, its result; returns false when it failed. */
static bool
report(struct vmp_backend *b, bool dry_run, int r, const char *what)
{
	if (dry_run) {
		printf("  would %s\n", what);
		return true;
	}
	if (r == 0)
		printf("  %s: done\n", what);
	else
		printf("  %s: FAILED: %s\n", what, vmp_backend_error(b));
	return r == 0;
}

static int
apply(const char *uri, const char *vm, const char *name, bool dry_run, const char *housekeeping,
      const char *root)
{
	const struct vmp_workload_profile *p;
	struct vmp_backend *b = NULL;
	struct vmp_vm_info *vms = NULL, *vi = NULL;
	char *err = NULL, *xml = NULL, *meta = NULL, **disks = NULL, what[160];
	unsigned *cpus = NULL, ncpus = 0, i;
	bool ok = true;
	int n, k, nd = 0, ret = VMP_EXIT_USAGE;

	if (vmp_backend_open(uri, 10000, &b, &err) < 0) {
		fprintf(stderr, "vmpilot profile: cannot connect to '%s': %s\n", uri, err ? err : "?");
		free(err);
		return VMP_EXIT_USAGE;
	}
	n = vmp_backend_list_vms(b, &vms);
	for (k = 0; k < n && !vi; k++)
		if (strcmp(vms[k].name, vm) == 0)
			vi = &vms[k];
	if (!vi) {
		fprintf(stderr, "vmpilot profile: no vm '%s' on '%s'\n", vm, uri);
		goto out;
	}
	if (vmp_backend_vm_config(b, vm, &xml) == 0) {
		nd = vmp_audit_disks_profile(xml, strlen(xml), &disks, &meta);
		if (nd < 0)
			nd = 0;
	}
	if (!name)
		name = meta ? meta : "default";
	p = vmp_workload_find(name);
	if (!p) {
		fprintf(stderr, "vmpilot profile: unknown profile '%s' (see 'vmpilot profile list')\n", name);
		goto out;
	}
	printf("vm %s: profile %s%s\n", vm, p->name, meta && !strcmp(meta, p->name) ? " (from its metadata)" : "");
	if (p->pin_dedicated) {
		struct vmp_owner_scan owners;
		const struct vmp_owner *o;
		int r;

		/* Pinning decides where the VM runs: not while numad or the kernel's NUMA
		 * balancing owns placement on this host (host/owner.h). */
		vmp_owner_scan(root, &owners);
		o = vmp_owner_find(&owners, VMP_KNOB_NUMA_PLACEMENT);
		if (o) {
			char *msg = vmp_owner_refusal(o, VMP_KNOB_NUMA_PLACEMENT);

			printf("  vCPU pinning refused: %s\n", msg);
			free(msg);
			vmp_owner_scan_clear(&owners);
			ret = VMP_EXIT_FINDING;
			goto out;
		}
		vmp_owner_scan_clear(&owners);
		r = dedicated_cpus(root, housekeeping, &cpus, &ncpus);

		if (r < 0) {
			fprintf(stderr, "vmpilot profile: no host CPU outside housekeeping '%s' to pin to: %s\n",
				housekeeping, strerror(-r));
			goto out;
		}
		for (i = 0; i < vi->vcpus_current; i++) {
			char list[16];

			snprintf(list, sizeof(list), "%u", cpus[i % ncpus]);
			snprintf(what, sizeof(what), "pin vCPU %u to host CPU %s%s", i, list,
				 i >= ncpus ? " (shared: more vCPUs than dedicated CPUs)" : "");
			ok &= report(b, dry_run, dry_run ? 0 : vmp_backend_pin_vcpu(b, vm, i, list), what);
		}
	}
	if (p->cpu_shares != 1024) {
		snprintf(what, sizeof(what), "set CPU shares to %llu", (unsigned long long)p->cpu_shares);
		ok &= report(b, dry_run, dry_run ? 0 : vmp_backend_set_cpu_quota(b, vm, -1, 0, p->cpu_shares), what);
	}
	for (k = 0; p->disk_write_bytes_s && k < nd; k++) {
		struct vmp_block_iotune t = { .write_bytes_sec = p->disk_write_bytes_s,
					      .write_iops_sec = p->disk_write_iops };

		snprintf(what, sizeof(what), "limit disk %s to %llu MiB/s and %llu IOPS of writes", disks[k],
			 (unsigned long long)(p->disk_write_bytes_s >> 20), (unsigned long long)p->disk_write_iops);
		ok &= report(b, dry_run, dry_run ? 0 : vmp_backend_set_block_iotune(b, vm, disks[k], &t), what);
	}
	if (p->disk_write_bytes_s && !xml)
		printf("  disk limits not applied: backend '%s' gives no disk list\n", vmp_backend_name(b));
	printf("  right-sizer (configuration of vm %s): P%.0f + %.0f %%; balloon floor: mem_min_kib = %llu\n",
	       vm, p->rightsize_pct, 100 * p->rightsize_margin,
	       (unsigned long long)(p->balloon_floor_frac * (double)vi->memory_max_kib));
	ret = ok ? VMP_EXIT_OK : VMP_EXIT_USAGE;
out:
	for (k = 0; disks && disks[k]; k++)
		free(disks[k]);
	free(disks);
	free(meta);
	free(xml);
	free(cpus);
	free(vms);
	vmp_backend_close(b);
	return ret;
}

static int
run_profile(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	const char *uri = NULL, *hk = "0", *sub, *root = NULL;
	bool dry_run = false;
	int id, nops;
	size_t i;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT: uri = p.optarg; break;
		case OPT_DRY_RUN: dry_run = true; break;
		case OPT_HOUSEKEEPING: hk = p.optarg; break;
		case OPT_ROOT: root = p.optarg; break;
		}
	}
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	nops = argc - p.optind;
	if (nops == 0)
		return vmp_cli_usage_error(cmd, "which subcommand? list, show NAME or apply VM [NAME]");
	sub = argv[p.optind];
	if (strcmp(sub, "list") == 0 && nops == 1) {
		for (i = 0; i < vmp_workload_profiles_count; i++)
			printf("%-10s %s\n", vmp_workload_profiles[i].name, vmp_workload_profiles[i].summary);
		return VMP_EXIT_OK;
	}
	if (strcmp(sub, "show") == 0 && nops == 2) {
		const struct vmp_workload_profile *w = vmp_workload_find(argv[p.optind + 1]);

		if (!w)
			return vmp_cli_usage_error(cmd, "unknown profile '%s'", argv[p.optind + 1]);
		print_profile(w);
		return VMP_EXIT_OK;
	}
	if (strcmp(sub, "apply") == 0 && (nops == 2 || nops == 3)) {
		unsigned n;

		if (vmp_cpulist_count(hk, &n) < 0 || n == 0)
			return vmp_cli_usage_error(cmd, "--housekeeping '%s' is not a CPU list", hk);
		if (!uri)
			uri = vmp_cli_default_uri();
		if (!uri)
			return vmp_cli_usage_error(cmd, "which hypervisor? give -c URI (or set LIBVIRT_DEFAULT_URI)");
		return apply(uri, argv[p.optind + 1], nops == 3 ? argv[p.optind + 2] : NULL, dry_run, hk, root);
	}
	return vmp_cli_usage_error(cmd, "usage: list | show NAME | apply VM [NAME]");
}

const struct vmp_cli_command vmp_cmd_profile = {
	.name = "profile",
	.summary = "workload profiles of VMs: latency, database, throughput, web, batch, default",
	.synopsis = "list | show NAME | apply VM [NAME]",
	.description =
		"A workload profile says what a VM gets: latency and database pin each vCPU to a\n"
		"dedicated host CPU outside the housekeeping CPUs and double its CPU shares;\n"
		"batch lowers its shares to 256 and caps each disk's writes; each profile also\n"
		"sets the right-sizer's percentile, margin and balloon floor (printed as the VM's\n"
		"configuration). 'apply VM' uses the profile in the domain's <vmpilot:profile>\n"
		"metadata unless NAME is given. doc/workload-profiles.md has every value.",
	.options = profile_options,
	.run = run_profile,
};
