/* SPDX-License-Identifier: MIT */
/* Entry point of the vmpilot binary: global options, then dispatch through vmp_commands[]. */
#include "build-config.h"
#include "cli/cli.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static void
print_main_help(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: vmpilot [--version] [--help] COMMAND [OPTION...] [ARG...]\n\n"
		"vmpilot is an autopilot for the performance of KVM/QEMU hosts and VMs.\n\n"
		"commands:\n");
	for (i = 0; vmp_commands[i]; i++)
		fprintf(out, "  %-12s %s\n", vmp_commands[i]->name, vmp_commands[i]->summary);
	fprintf(out, "\n'vmpilot COMMAND --help' describes one command. Options may come before or\n"
		"after the operands, '--' ends them, a short flag means the same option in every\n"
		"command (-c --connect, -f --config, ...); without -c, $LIBVIRT_DEFAULT_URI.\n"
		"Exit status: 0 ok, 1 a problem found or a failure, 2 a wrong command line.\n"
		"See vmpilot(1), vmpilotd(8), vmpilot.conf(5).\n");
}

int
main(int argc, char **argv)
{
	const struct vmp_cli_command *cmd;
	const char *name;

	vmp_log_init("vmpilot", VMP_LOG_WARN);
	if (argc < 2) {
		print_main_help(stderr);
		return VMP_EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_main_help(stdout);
		return VMP_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("vmpilot %s\n", VMP_VERSION);
		return VMP_EXIT_OK;
	}
	if (strcmp(name, "help") == 0) {
		if (argc < 3) {
			print_main_help(stdout);
			return VMP_EXIT_OK;
		}
		cmd = vmp_cli_find_command(argv[2]);
		if (!cmd) {
			fprintf(stderr, "vmpilot: unknown command '%s'; see 'vmpilot --help'\n", argv[2]);
			return VMP_EXIT_USAGE;
		}
		vmp_cli_print_command_help(cmd, stdout);
		return VMP_EXIT_OK;
	}
	cmd = vmp_cli_find_command(name);
	if (!cmd) {
		fprintf(stderr, "vmpilot: unknown command '%s'; see 'vmpilot --help'\n", name);
		return VMP_EXIT_USAGE;
	}
	/* The command sees argv[0] == its own name. */
	return cmd->run(cmd, argc - 1, argv + 1);
}
