/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot tune`: host tuning profiles (src/host/tune.h). Subcommands: list, show
 * PROFILE, recommend, apply PROFILE [--dry-run], verify, rollback. Exit status: 0 done
 * (verify: no drift), 1 a finding (verify: drift; apply: a knob refused; nothing
 * applied where something was expected), 2 usage or internal error.
 */
#include "backend/backend.h"
#include "cli/cli.h"
#include "host/owner.h"
#include "host/tune.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_ROOT = 1, OPT_PERSIST_ROOT, OPT_CONNECT, OPT_JSON, OPT_DRY_RUN };

static const struct vmp_cli_option tune_options[] = {
	{ "root", 'r', "DIR", "read and write /proc, /sys and /etc below DIR (a fixture tree)", OPT_ROOT },
	{ "persist-root", 0, "DIR", "write sysctl.d, tmpfiles.d, udev rules and the state below DIR (default: --root)", OPT_PERSIST_ROOT },
	{ "connect", 'c', "URI", "recommend: also weigh the VMs of this hypervisor", OPT_CONNECT },
	{ "json", 'j', NULL, "print the plan or the recommendation as JSON", OPT_JSON },
	{ "dry-run", 'd', NULL, "apply: show the diff, write nothing", OPT_DRY_RUN },
	{ 0 },
};

static void
print_profile(const struct vmp_tune_profile *p, FILE *out)
{
	size_t i;

	fprintf(out, "%s: %s\n", p->name, p->summary);
	for (i = 0; i < p->n_knobs; i++) {
		const struct vmp_tune_knob *k = &p->knobs[i];

		if (k->kind == VMP_TUNE_BLOCK)
			fprintf(out, "  %s (%s) = %s\n", k->id, vmp_tune_dev_name(k->dev), k->value);
		else if (k->kind == VMP_TUNE_CMDLINE)
			fprintf(out, "  kernel command line: %s (advice only)\n", k->value);
		else
			fprintf(out, "  %s = %s\n", k->id, k->value);
		fprintf(out, "      %s\n", k->reason);
	}
}

static json_t *
plan_json(const struct vmp_tune_plan *plan)
{
	static const char *const actions[] = { "same", "change", "refused", "unavailable", "advice", "advice-met" };
	json_t *root = json_object(), *items = json_array();
	size_t i;

	json_object_set_new(root, "schema", json_string("vmpilot-tune-plan/1"));
	json_object_set_new(root, "profile", json_string(plan->profile->name));
	for (i = 0; i < plan->n_items; i++) {
		const struct vmp_tune_item *it = &plan->items[i];

		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:s}", "name", it->name,
						       "path", it->path, "action", actions[it->action],
						       "before", it->before ? json_string(it->before) : json_null(),
						       "after", it->after,
						       "note", it->note ? json_string(it->note) : json_null(),
						       "reason", it->knob->reason));
	}
	json_object_set_new(root, "items", items);
	return root;
}

static int
do_recommend(const char *root, const char *uri, bool json)
{
	struct vmp_tune_facts f;
	const struct vmp_tune_profile *p;
	const char *why;
	int r;

	r = vmp_tune_facts_read(root, &f);
	if (r < 0) {
		fprintf(stderr, "vmpilot tune: cannot read the host's facts below '%s': %s\n",
			root ? root : "/", strerror(-r));
		return VMP_EXIT_USAGE;
	}
	if (uri) {
		struct vmp_backend *b = NULL;
		struct vmp_vm_info *vms = NULL;
		char *err = NULL;
		int n, i;

		r = vmp_backend_open(uri, 10000, &b, &err);
		if (r < 0) {
			fprintf(stderr, "vmpilot tune: cannot connect to '%s': %s\n", uri, err ? err : strerror(-r));
			free(err);
			return VMP_EXIT_USAGE;
		}
		n = vmp_backend_list_vms(b, &vms);
		if (n < 0) {
			fprintf(stderr, "vmpilot tune: cannot list the VMs of '%s': %s\n", uri, vmp_backend_error(b));
			vmp_backend_close(b);
			return VMP_EXIT_USAGE;
		}
		for (i = 0; i < n; i++) {
			if (vms[i].state != VMP_VM_RUNNING)
				continue;
			f.n_vms++;
			f.vm_mem_kib += vms[i].memory_current_kib;
			f.vm_vcpus += vms[i].vcpus_current;
		}
		free(vms);
		vmp_backend_close(b);
	}
	p = vmp_tune_recommend(&f, &why);
	if (json) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:{s:i,s:i,s:I,s:b,s:i,s:I,s:i}}", "schema",
				      "vmpilot-tune-recommend/1", "profile", p->name, "why", why, "facts",
				      "cpus", (int)f.cpus, "numa_nodes", (int)f.numa_nodes,
				      "mem_total_kib", (json_int_t)f.mem_total_kib, "rotational", f.rotational,
				      "vms", (int)f.n_vms, "vm_mem_kib", (json_int_t)f.vm_mem_kib,
				      "vm_vcpus", (int)f.vm_vcpus);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		printf("host: %u CPUs, %u NUMA node%s, %llu MiB, %s disk\n", f.cpus, f.numa_nodes,
		       f.numa_nodes == 1 ? "" : "s", f.mem_total_kib / 1024,
		       f.rotational ? "a rotational" : "no rotational");
		if (uri)
			printf("VMs: %u running, %llu MiB committed, %u vCPUs\n", f.n_vms, f.vm_mem_kib / 1024,
			       f.vm_vcpus);
		printf("recommended profile: %s (%s)\n", p->name, why);
		printf("apply it with: vmpilot tune apply %s --dry-run, then without --dry-run\n", p->name);
	}
	return VMP_EXIT_OK;
}

static int
do_apply(const struct vmp_tune_roots *roots, const char *name, bool dry_run, bool json)
{
	const struct vmp_tune_profile *p = vmp_tune_profile_find(name);
	struct vmp_owner_scan owners;
	struct vmp_tune_plan plan;
	char *err = NULL;
	int r, ret;

	if (!p) {
		fprintf(stderr, "vmpilot tune: unknown profile '%s' (see 'vmpilot tune list')\n", name);
		return VMP_EXIT_USAGE;
	}
	vmp_owner_scan(roots->root, &owners);
	r = vmp_tune_plan_make(roots, p, &owners, &plan, &err);
	vmp_owner_scan_clear(&owners);
	if (r < 0) {
		fprintf(stderr, "vmpilot tune: %s\n", err ? err : strerror(-r));
		free(err);
		return r == -EEXIST ? VMP_EXIT_FINDING : VMP_EXIT_USAGE;
	}
	if (json) {
		json_t *j = plan_json(&plan);

		json_object_set_new(j, "dry_run", json_boolean(dry_run));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		vmp_tune_plan_print(&plan, stdout);
	}
	ret = plan.n_refused ? VMP_EXIT_FINDING : VMP_EXIT_OK;
	if (!dry_run) {
		r = vmp_tune_apply(roots, &plan, &err);
		if (r < 0) {
			fprintf(stderr, "vmpilot tune: %s\n", err);
			free(err);
			ret = VMP_EXIT_USAGE;
		} else if (!json) {
			printf("applied %s: %u value%s written; 'vmpilot tune rollback' restores the previous state\n",
			       p->name, plan.n_change, plan.n_change == 1 ? "" : "s");
		}
	}
	vmp_tune_plan_clear(&plan);
	return ret;
}

static int
run_tune(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	struct vmp_tune_roots roots = { NULL, NULL };
	const char *uri = NULL, *sub, *ops[2] = { NULL, NULL };
	bool json = false, dry_run = false;
	char *err = NULL;
	int id, r, n_ops = 0;
	size_t i;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_ROOT: roots.root = p.optarg; break;
		case OPT_PERSIST_ROOT: roots.persist_root = p.optarg; break;
		case OPT_CONNECT: uri = p.optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_DRY_RUN: dry_run = true; break;
		}
	}
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	/* The operands, after the options moved them to the end: SUBCOMMAND [PROFILE]. */
	while (p.optind < argc) {
		if (n_ops == 2)
			return vmp_cli_usage_error(cmd, "unexpected argument '%s'", argv[p.optind]);
		ops[n_ops++] = argv[p.optind++];
	}
	if (!roots.persist_root)
		roots.persist_root = roots.root;
	if (n_ops == 0)
		return vmp_cli_usage_error(cmd, "which subcommand? list, show, recommend, apply, verify or rollback");
	sub = ops[0];
	if (strcmp(sub, "apply") == 0 || strcmp(sub, "show") == 0) {
		if (n_ops != 2)
			return vmp_cli_usage_error(cmd, "'%s' takes one profile (see 'vmpilot tune list')", sub);
	} else if (n_ops != 1) {
		return vmp_cli_usage_error(cmd, "unexpected argument '%s'", ops[1]);
	}
	if (strcmp(sub, "list") == 0) {
		for (i = 0; i < vmp_tune_profiles_count; i++)
			printf("%-14s %s\n", vmp_tune_profiles[i].name, vmp_tune_profiles[i].summary);
		return VMP_EXIT_OK;
	}
	if (strcmp(sub, "show") == 0) {
		const struct vmp_tune_profile *pr = vmp_tune_profile_find(ops[1]);

		if (!pr)
			return vmp_cli_usage_error(cmd, "unknown profile '%s'", ops[1]);
		print_profile(pr, stdout);
		return VMP_EXIT_OK;
	}
	if (strcmp(sub, "recommend") == 0)
		return do_recommend(roots.root, uri, json);
	if (strcmp(sub, "apply") == 0)
		return do_apply(&roots, ops[1], dry_run, json);
	if (strcmp(sub, "verify") == 0 || strcmp(sub, "rollback") == 0) {
		bool verify = sub[0] == 'v';

		r = verify ? vmp_tune_verify(&roots, stdout, &err) : vmp_tune_rollback(&roots, stdout, &err);
		if (r == -ENOENT) {
			printf("no vmpilot tune profile is applied\n");
			return verify ? VMP_EXIT_FINDING : VMP_EXIT_OK;
		}
		if (r < 0) {
			fprintf(stderr, "vmpilot tune: %s\n", err ? err : strerror(-r));
			free(err);
			return VMP_EXIT_USAGE;
		}
		if (!verify)
			printf("rolled back: the previous values and files are in place\n");
		return r ? VMP_EXIT_FINDING : VMP_EXIT_OK;
	}
	return vmp_cli_usage_error(cmd, "unknown subcommand '%s'", sub);
}

const struct vmp_cli_command vmp_cmd_tune = {
	.name = "tune",
	.summary = "tune the host with a profile: recommend, apply, verify, roll back",
	.synopsis = "list | show PROFILE | recommend | apply PROFILE | verify | rollback",
	.description =
		"Host profiles (virtual-host, density, latency, throughput) set sysctls, THP,\n"
		"KSM, NUMA balancing, I/O schedulers and read-ahead per device type, CPU\n"
		"governors and interrupt affinity, each with its reason; kernel command line\n"
		"parameters are advice only. 'apply' shows the diff, writes the values live and\n"
		"in /etc/sysctl.d, /etc/tmpfiles.d and /etc/udev/rules.d, and records what was\n"
		"there before in /var/lib/vmpilot/tune-state.json; 'verify' reports drift (exit\n"
		"1); 'rollback' restores the previous values and files. A knob another active\n"
		"service owns (TuneD, ksmtuned, numad, irqbalance, ...) is refused, naming the\n"
		"service and how to hand the knob over (exit 1).",
	.options = tune_options,
	.run = run_tune,
};
