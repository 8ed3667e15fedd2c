/* SPDX-License-Identifier: MIT */
/*
 * Running the loop in the foreground, shared by `vmpilot run` and vmpilotd: loads
 * the config, opens the journal and the backends, runs cycles every interval until
 * --cycles are done or SIGTERM/SIGINT, reloads the config on SIGHUP (swapping in only
 * a valid one). Under systemd (Type=notify) it tells the manager READY=1 after the
 * first cycle, a STATUS= line and WATCHDOG=1 every cycle and between cycles at half
 * WatchdogSec=, RELOADING=1/READY=1 around a reload and STOPPING=1 (daemon/notify.h).
 * This is an edge: it logs through util/log.h.
 */
#ifndef VMP_DAEMON_RUNNER_H
#define VMP_DAEMON_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vmp_runner_args {
	const char *const *uris;
	size_t n_uris;
	const char *config_path;   /* NULL = built-in defaults */
	bool dry_run;
	double interval_s;         /* <= 0: from the config */
	const char *journal_path;  /* NULL: from the config; "-" = stdout */
	uint64_t cycles;           /* 0 = until a signal */
	bool check_only;           /* -n: check the config and exit */
	bool replay;               /* --replay: the loop over a simulated cluster (cli) */
	FILE *progress;            /* NULL, or one line per cycle here (a terminal) */
	FILE *summary;             /* NULL: the summary at exit is logged; else written here */
};

/*
 * Returns 0 on a clean exit, 1 when the config is invalid (-n) or a backend or the
 * journal cannot be opened, 2 for bad arguments.
 */
int vmp_runner_main(const struct vmp_runner_args *a);

#endif
