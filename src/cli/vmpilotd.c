/* SPDX-License-Identifier: MIT */
/*
 * vmpilotd: the autopilot loop as a foreground daemon (for systemd or a supervisor).
 * The same loop and options as `vmpilot run` (vmpilotd.8): vmpilotd -c URI -f FILE.
 */
#include "build-config.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static int
run_vmpilotd(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	return vmp_cli_run_loop(cmd, "vmpilotd", argc, argv);
}

int
main(int argc, char **argv)
{
	/* `vmpilot run`'s options, under vmpilotd's own name and help */
	const struct vmp_cli_command cmd = {
		.name = "vmpilotd",
		.progname = "vmpilotd",
		.summary = "the vmpilot autopilot loop as a foreground daemon",
		.synopsis = "",
		.description =
			"Runs the loop of 'vmpilot run' (same options, same configuration file)\n"
			"until SIGTERM or SIGINT; SIGHUP reloads --config. Meant for systemd or\n"
			"another supervisor: it stays in the foreground and logs to stderr.\n"
			"-n checks the configuration file and exits. See vmpilotd(8).",
		.options = vmp_cmd_run.options,
		.run = run_vmpilotd,
	};

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("vmpilotd %s\n", VMP_VERSION);
		return VMP_EXIT_OK;
	}
	return cmd.run(&cmd, argc, argv);
}
