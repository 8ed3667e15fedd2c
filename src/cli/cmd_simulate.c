/* SPDX-License-Identifier: MIT */
/* `vmpilot simulate`: not built yet; this row keeps the command table's shape. */
#include "cli/cli.h"

static const struct vmp_cli_option simulate_options[] = {
	{ 0 },
};

static int
run_simulate(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	int id;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0)
		;
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	fprintf(stderr, "vmpilot simulate: not implemented yet\n");
	return VMP_EXIT_USAGE;
}

const struct vmp_cli_command vmp_cmd_simulate = {
	.name = "simulate",
	.summary = "replay consolidation policies on VM traces",
	.synopsis = "",
	.description = "Replays cluster policies on recorded traces with the daemon's policy code.",
	.options = simulate_options,
	.run = run_simulate,
};
