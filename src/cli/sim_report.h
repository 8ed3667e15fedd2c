/* SPDX-License-Identifier: MIT */
/*
 * The HTML report of `vmpilot simulate --report`: one self-contained file (inline SVG
 * drawn here, inline CSS, no script, nothing fetched) with the results table and plots
 * over the day of active hosts, power (with the oracle bound), oversubscribed hosts and
 * migrations, one line per policy.
 */
#ifndef VMP_CLI_SIM_REPORT_H
#define VMP_CLI_SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/simrun.h"

struct vmp_sim_report_run {
	const char *name;
	const struct vmp_simrun_result *result;
	double wall_s;
};

/* Writes the report to out. Returns 0 or -EIO. Does not log. */
int vmp_sim_report_fprint(FILE *out, const char *trace, size_t nvms, size_t nhosts,
			  bool compat, const struct vmp_sim_report_run *runs, size_t n);

/* Writes the report to path (replaced atomically). Returns 0 or a negative errno. */
int vmp_sim_report_write(const char *path, const char *trace, size_t nvms, size_t nhosts,
			 bool compat, const struct vmp_sim_report_run *runs, size_t n);

#endif
