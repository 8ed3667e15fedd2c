/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot run --replay`: the daemon's loop over a simulated cluster (daemon/simloop.h),
 * printing its migrations as they happen, an hourly line, and at the end what it did
 * beside `vmpilot simulate`'s rows of the same day (vmpilot's planner and baselines).
 */
#ifndef VMP_CLI_RUN_REPLAY_H
#define VMP_CLI_RUN_REPLAY_H

#include "cli/cli.h"
#include "daemon/runner.h"

/*
 * Runs the replay of a->uris[0] (a sim:// URI; none = the bundled default trace, the
 * one `vmpilot simulate` uses) with a->config_path (NULL = defaults) and a->journal_path
 * (NULL = none). verbose > 0 prints every migration. Returns a VMP_EXIT_* code.
 */
int vmp_cli_run_replay(const struct vmp_cli_command *cmd, const struct vmp_runner_args *a,
		       int verbose);

#endif
