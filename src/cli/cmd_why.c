/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot why VM`: answers "why did (or didn't) vmpilot resize or move this VM?" from
 * the decision journal: the last decisions about the VM with the thresholds crossed and
 * the alternatives rejected.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "daemon/config.h"
#include "daemon/journal.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/vmpilot/vmpilot.conf"

enum {
	OPT_CONNECT = 1,
	OPT_JOURNAL,
	OPT_CONFIG,
	OPT_LAST,
	OPT_JSON,
	OPT_ALL,
};

static const struct vmp_cli_option why_options[] = {
	{ "connect", 'c', "URI", "ask a running daemon instead of reading the journal: "
	  "vmpilot:///SOCKET or vmpilots://HOST:PORT", OPT_CONNECT },
	{ "journal", 'J', "FILE", "decision journal (default: the config's 'journal')",
	  OPT_JOURNAL },
	{ "config", 'f', "FILE", "configuration naming the journal (default " DEFAULT_CONFIG ")",
	  OPT_CONFIG },
	{ "last", 0, "N", "show the last N decisions (default 5)", OPT_LAST },
	{ "all", 'a', NULL, "include non-actions (steady, learning, ...); default: only changes "
	  "and refusals", OPT_ALL },
	{ "json", 'j', NULL, "print the journal entries as a JSON array", OPT_JSON },
	{ 0 },
};

/* A skipped line of the journal: said on stderr, the answer goes on. */
static void
why_warn(void *opaque, const char *msg)
{
	char *p = vmp_str_printable(msg);

	(void)opaque;
	fprintf(stderr, "vmpilot why: warning: %s\n", p);
	free(p);
}

/* true when the journal at path holds any entry about vm, steady ones included. */
static bool
known_vm(const char *path, const char *vm)
{
	struct vmp_journal_query q = { 0 };
	json_t *any = NULL;
	char *err = NULL;
	bool known;

	q.vm = vm;
	q.max = 1;
	q.all = true;
	q.rotated = true;
	if (vmp_journal_query(path, &q, &any, &err) < 0) {
		free(err);
		return false;
	}
	known = json_array_size(any) > 0;
	json_decref(any);
	return known;
}

static int
run_why(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	const char *journal = NULL, *config = NULL, *connect = NULL, *vm;
	json_t *entries = NULL, *e;
	struct vmp_journal_query q = { 0 };
	uint64_t last = 5;
	bool json = false, all = false;
	char *err = NULL, *path = NULL;
	size_t i;
	int id, rc;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT:
			connect = p.optarg;
			break;
		case OPT_JOURNAL:
			journal = p.optarg;
			break;
		case OPT_CONFIG:
			config = p.optarg;
			break;
		case OPT_LAST:
			if (vmp_cli_parse_count(cmd, "last", p.optarg, 1, 1000000, &last) != 0)
				return VMP_EXIT_USAGE;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_ALL:
			all = true;
			break;
		}
	}
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	if (p.optind + 1 != argc)
		return vmp_cli_usage_error(cmd, "expected one VM name");
	vm = argv[p.optind];
	if (connect) {
		if (!vmp_client_is_daemon_uri(connect))
			return vmp_cli_usage_error(cmd, "--connect wants vmpilot:///SOCKET or "
						   "vmpilots://HOST:PORT");
		if (journal)
			return vmp_cli_usage_error(cmd, "--connect and --journal exclude each other");
		return vmp_ctl_why(connect, vm, (size_t)last, all, json);
	}

	if (journal) {
		path = xstrdup(journal);
	} else {
		struct vmp_config c;

		vmp_config_init(&c);
		if (vmp_config_load(config ? config : DEFAULT_CONFIG, &c, &err) < 0) {
			fprintf(stderr, "vmpilot why: %s (or name the journal with --journal)\n", err);
			free(err);
			vmp_config_release(&c);
			return VMP_EXIT_FAILURE;
		}
		path = xstrdup(c.journal);
		vmp_config_release(&c);
	}
	q.vm = vm;
	q.max = (size_t)last;
	q.all = all;
	q.rotated = true;
	q.warn = why_warn;
	rc = vmp_journal_query(path, &q, &entries, &err);
	if (rc < 0) {
		fprintf(stderr, "vmpilot why: %s\n", err);
		free(err);
		free(path);
		return VMP_EXIT_FAILURE;
	}
	if (json_array_size(entries) == 0 && !known_vm(path, vm)) {
		/* a VM the journal never saw: a typo or the wrong journal, not "no news" */
		char *pp = vmp_str_printable(path), *v = vmp_str_printable(vm);

		fprintf(stderr, "vmpilot why: nothing about vm '%s' in journal '%s'\n", v, pp);
		free(pp);
		free(v);
		json_decref(entries);
		free(path);
		return VMP_EXIT_FINDING;
	}
	if (json) {
		json_dumpf(entries, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else if (json_array_size(entries) == 0) {
		char *pp = vmp_str_printable(path), *v = vmp_str_printable(vm);

		printf("%s: no %sdecisions about vm '%s' in the journal\n", pp,
		       all ? "" : "actions or refusals; try --all for ", v);
		free(pp);
		free(v);
	} else {
		json_array_foreach(entries, i, e)
			vmp_journal_explain(e, stdout);
	}
	json_decref(entries);
	free(path);
	return VMP_EXIT_OK;
}

const struct vmp_cli_command vmp_cmd_why = {
	.name = "why",
	.summary = "explain the autopilot's last decisions about a VM from its journal",
	.synopsis = "VM",
	.description =
		"Reads the decision journal (JSON lines, with its rotated files FILE.1, FILE.2,\n"
		"... and their indexes) and prints the last decisions about VM: what was done\n"
		"or deliberately not done, every threshold checked (crossed or not) and every\n"
		"alternative rejected with its reason, and the faults recorded for it. A line\n"
		"that is not a journal entry is skipped with a warning naming FILE:LINE. Exit\n"
		"status 1 when the journal holds nothing about VM (a misspelt name, the wrong\n"
		"journal).",
	.options = why_options,
	.run = run_why,
};
