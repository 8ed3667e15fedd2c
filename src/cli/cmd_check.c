/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot check`: runs the host check table (src/host/check.h) on this host or on a
 * fixture tree (--root) and prints an aligned table, or JSON (--json, schema in
 * doc/check-json.md). Exit status: 0 no FAIL, 1 a FAIL or a check that could not run,
 * 2 usage (doc/cli.md).
 */
#include "cli/cli.h"
#include "host/check.h"
#include "host/kvm.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_JSON = 1,
	OPT_ROOT,
	OPT_NO_COLOR,
	OPT_ONLY,
	OPT_LIST,
	OPT_KVM_FACTS,
	OPT_LIST_INPUTS,
};

static const struct vmp_cli_option check_options[] = {
	{ "json", 'j', NULL, "print JSON (schema vmpilot-check/1, doc/check-json.md)", OPT_JSON },
	{ "root", 'r', "DIR", "read /proc, /sys and /dev below DIR (a fixture tree); no ioctls", OPT_ROOT },
	{ "only", 'o', "ID[,ID...]", "run only these checks (repeatable; see --list)", OPT_ONLY },
	{ "no-color", 0, NULL, "no colours, even on a terminal", OPT_NO_COLOR },
	{ "list", 'l', NULL, "list the checks (id and title) and exit", OPT_LIST },
	{ "kvm-facts", 0, NULL, "print /dev/kvm ioctl results in the fixture format (dev/kvm.ioctl)", OPT_KVM_FACTS },
	{ "list-inputs", 0, NULL, "run the checks, then print every path they read", OPT_LIST_INPUTS },
	{ 0 },
};

static const char *const status_colors[VMP_CHECK_STATUS_MAX] = {
	[VMP_CHECK_PASS] = "\033[32m",
	[VMP_CHECK_INFO] = "\033[36m",
	[VMP_CHECK_SKIP] = "\033[2m",
	[VMP_CHECK_WARN] = "\033[33m",
	[VMP_CHECK_FAIL] = "\033[1;31m",
	[VMP_CHECK_UNKNOWN] = "\033[35m",
};

static void
print_table(const struct vmp_check_report *rep, const char *root, bool color, FILE *out)
{
	size_t i, w = strlen("CHECK");
	bool first = true;

	for (i = 0; i < rep->n_rows; i++)
		if (strlen(rep->rows[i].check->id) > w)
			w = strlen(rep->rows[i].check->id);
	fprintf(out, "%-*s  %-7s  %s\n", (int)w, "CHECK", "STATUS", "FINDING");
	for (i = 0; i < rep->n_rows; i++) {
		const struct vmp_check_row *row = &rep->rows[i];
		enum vmp_check_status s = row->result.status;

		fprintf(out, "%-*s  %s%-7s%s  %s\n", (int)w, row->check->id,
			color ? status_colors[s] : "", vmp_check_status_name(s),
			color ? "\033[0m" : "", row->result.finding);
		if (row->result.fix)
			fprintf(out, "%-*s  %-7s  fix: %s\n", (int)w, "", "", row->result.fix);
	}
	fprintf(out, "\n%zu check%s on %s%s:", rep->n_rows, rep->n_rows == 1 ? "" : "s",
		root ? root : "/",
		rep->live ? "" : " (fixture tree: recorded /dev/kvm facts, no ioctls)");
	for (i = 0; i < VMP_CHECK_STATUS_MAX; i++) {
		if (!rep->counts[i])
			continue;
		fprintf(out, "%s %u %s", first ? "" : ",", rep->counts[i],
			vmp_check_status_name((enum vmp_check_status)i));
		first = false;
	}
	fprintf(out, "\n");
}

/* Splits a comma list into only[]; returns VMP_EXIT_OK or VMP_EXIT_USAGE. */
static int
add_only(const struct vmp_cli_command *cmd, const char *arg, char ***only, size_t *n, size_t *alloc)
{
	const char *p = arg;

	while (*p) {
		size_t len = strcspn(p, ",");
		char *id = xstrndup(p, len);

		if (!vmp_check_find(id)) {
			vmp_cli_usage_error(cmd, "unknown check '%s' (see 'vmpilot check --list')", id);
			free(id);
			return VMP_EXIT_USAGE;
		}
		xgrow((void **)only, alloc, *n + 1, sizeof(char *));
		(*only)[(*n)++] = id;
		p += len;
		if (*p == ',')
			p++;
	}
	return VMP_EXIT_OK;
}

static int
run_check(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	struct vmp_check_report rep = { 0 };
	struct vmp_check_ctx ctx;
	const char *root = NULL;
	bool json = false, color = true, list_inputs = false;
	char **only = NULL;
	size_t n_only = 0, alloc_only = 0, i;
	int id, ret = VMP_EXIT_USAGE;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_ROOT:
			root = p.optarg;
			break;
		case OPT_NO_COLOR:
			color = false;
			break;
		case OPT_ONLY:
			if (add_only(cmd, p.optarg, &only, &n_only, &alloc_only) != VMP_EXIT_OK)
				goto out;
			break;
		case OPT_LIST:
			for (i = 0; i < vmp_checks_count; i++)
				printf("%-16s %s\n", vmp_checks[i].id, vmp_checks[i].title);
			ret = VMP_EXIT_OK;
			goto out;
		case OPT_KVM_FACTS: {
			struct vmp_kvm_facts f;
			int r = vmp_kvm_facts_get(root, &f);

			if (r < 0) {
				fprintf(stderr, "vmpilot check: cannot read /dev/kvm facts below '%s': %s\n",
					root ? root : "/", strerror(-r));
				ret = VMP_EXIT_FAILURE;
				goto out;
			}
			if (!f.present) {
				fprintf(stderr, "vmpilot check: '/dev/kvm' does not exist\n");
				ret = VMP_EXIT_FINDING;
				goto out;
			}
			vmp_kvm_facts_format(&f, stdout);
			ret = VMP_EXIT_OK;
			goto out;
		}
		case OPT_LIST_INPUTS:
			list_inputs = true;
			break;
		}
	}
	ret = vmp_cli_end_options(cmd, &p, id, argc, argv);
	if (ret >= 0)
		goto out;
	ret = VMP_EXIT_USAGE;
	if (root && *root) {
		char *proc = xasprintf("%s/proc", root);
		struct stat st;
		int r = stat(proc, &st);

		free(proc);
		if (r < 0 || !S_ISDIR(st.st_mode)) {
			vmp_cli_usage_error(cmd, "'%s' has no proc directory: not a host root", root);
			goto out;
		}
	}
	vmp_check_ctx_init(&ctx, root);
	if (vmp_check_report_run(&ctx, (const char *const *)only, n_only, &rep) < 0) {
		fprintf(stderr, "vmpilot check: unknown check id\n");
		vmp_check_ctx_clear(&ctx);
		ret = VMP_EXIT_FAILURE;
		goto out;
	}
	if (list_inputs) {
		for (i = 0; i < ctx.n_paths; i++)
			printf("%s\n", ctx.paths[i]);
	} else if (json) {
		json_t *j = vmp_check_report_json(&rep);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		print_table(&rep, ctx.root, color && vmp_cli_use_color(stdout), stdout);
	}
	vmp_check_ctx_clear(&ctx);
	ret = rep.counts[VMP_CHECK_FAIL] ? VMP_EXIT_FINDING : VMP_EXIT_OK;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vmpilot check: cannot write the report: %s\n", strerror(errno));
		ret = VMP_EXIT_FAILURE;
	}
	vmp_check_report_clear(&rep);
out:
	for (i = 0; i < n_only; i++)
		free(only[i]);
	free(only);
	return ret;
}

const struct vmp_cli_command vmp_cmd_check = {
	.name = "check",
	.summary = "audit this host for KVM performance, with the exact fix",
	.synopsis = "",
	.description =
		"Checks hardware virtualization, /dev/kvm and its capabilities, the KVM module\n"
		"and its paging/APIC/nested parameters, IOMMU, hugepages, THP, KSM, CPU frequency\n"
		"and idle states, NUMA, swap, dirty writeback, I/O schedulers, cgroups, vhost,\n"
		"tun, PSI and CPU mitigations. Each check gives PASS, INFO, SKIP, WARN, FAIL or\n"
		"UNKNOWN with one line of finding; every WARN and FAIL comes with the exact fix.\n"
		"Exit status: 0 no FAIL, 1 at least one FAIL (or the checks could not run),\n"
		"2 a wrong command line.",
	.options = check_options,
	.run = run_check,
};
