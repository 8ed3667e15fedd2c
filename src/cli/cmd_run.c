/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot run`: the autopilot loop. For now it checks a configuration file (`-n`, as
 * vmd -n does) and prints the documented sample configuration; the loop itself lands on
 * top of the backends (issue 5).
 */
#include "cli/cli.h"
#include "daemon/config.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_CONFIG "/etc/vmpilot/vmpilot.conf"

enum {
	OPT_CONFIG = 1,
	OPT_CHECK,
	OPT_SAMPLE,
};

static const struct vmp_cli_option run_options[] = {
	{ "config", 'c', "FILE", "configuration file (default " DEFAULT_CONFIG ")", OPT_CONFIG },
	{ "check", 'n', NULL, "only check the configuration file, then exit", OPT_CHECK },
	{ "sample-config", 0, NULL, "print the sample configuration with every key and exit",
	  OPT_SAMPLE },
	{ 0 },
};

static int
run_run(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	const char *path = DEFAULT_CONFIG;
	struct vmp_config c;
	bool check = false;
	char *err = NULL;
	int id;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONFIG:
			path = p.optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_SAMPLE:
			vmp_config_write_sample(stdout);
			return VMP_EXIT_OK;
		}
	}
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	if (p.optind < argc)
		return vmp_cli_usage_error(cmd, "unexpected argument '%s'", argv[p.optind]);

	vmp_config_init(&c);
	if (vmp_config_load(path, &c, &err) < 0) {
		fprintf(stderr, "vmpilot run: %s\n", err);
		free(err);
		vmp_config_release(&c);
		return VMP_EXIT_FINDING;
	}
	if (check) {
		printf("%s: configuration OK (%zu vm section%s)\n", path, c.nvms,
		       c.nvms == 1 ? "" : "s");
		vmp_config_release(&c);
		return VMP_EXIT_OK;
	}
	vmp_config_release(&c);
	fprintf(stderr, "vmpilot run: the control loop is not built yet; use -n to check a "
		"configuration\n");
	return VMP_EXIT_USAGE;
}

const struct vmp_cli_command vmp_cmd_run = {
	.name = "run",
	.summary = "run the autopilot loop (for now: check its configuration with -n)",
	.synopsis = "",
	.description =
		"Samples every VM, decides with the right-sizing, overcommit, KSM and budget\n"
		"policies and acts, writing each decision to the journal (see `vmpilot why`).\n"
		"-n checks the configuration file and exits: 0 when valid, 1 with\n"
		"'file:line: message' when not. --sample-config prints every key with its\n"
		"default and unit (doc/vmpilot.conf.sample).",
	.options = run_options,
	.run = run_run,
};
