/* SPDX-License-Identifier: MIT */
/*
 * vmpilotd: the autopilot loop as a foreground daemon (for systemd or a supervisor).
 * The same loop and options as `vmpilot run` (vmpilotd.8): vmpilotd -c URI -f FILE.
 */
#include "config.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	static struct vmp_cli_command cmd;

	cmd = vmp_cmd_run;
	cmd.name = "run"; /* the help names `vmpilot run`, whose options these are */
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("vmpilotd %s\n", VMP_VERSION);
		return 0;
	}
	return vmp_cli_run_loop(&cmd, "vmpilotd", argc, argv);
}
