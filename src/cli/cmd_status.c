/* SPDX-License-Identifier: MIT */
/* `vmpilot status`: not built yet; this row keeps the command table's shape. */
#include "cli/cli.h"

static const struct vmp_cli_option status_options[] = {
	{ 0 },
};

static int
run_status(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	int id;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0)
		;
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	fprintf(stderr, "vmpilot status: not implemented yet\n");
	return VMP_EXIT_USAGE;
}

const struct vmp_cli_command vmp_cmd_status = {
	.name = "status",
	.summary = "show the VMs of a hypervisor with live numbers",
	.synopsis = "",
	.description = "One line per VM from a libvirt or QMP backend.",
	.options = status_options,
	.run = run_status,
};
