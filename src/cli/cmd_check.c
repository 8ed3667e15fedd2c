/* SPDX-License-Identifier: MIT */
/* `vmpilot check`: not built yet; this row keeps the command table's shape. */
#include "cli/cli.h"

static const struct vmp_cli_option check_options[] = {
	{ 0 },
};

static int
run_check(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	int id;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0)
		;
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	fprintf(stderr, "vmpilot check: not implemented yet\n");
	return VMP_EXIT_USAGE;
}

const struct vmp_cli_command vmp_cmd_check = {
	.name = "check",
	.summary = "audit this host for KVM performance, with the exact fix",
	.synopsis = "",
	.description = "Checks hardware virtualization, /dev/kvm, paging, hugepages, THP, KSM, NUMA, ...",
	.options = check_options,
	.run = run_check,
};
