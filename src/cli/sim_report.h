/* SPDX-License-Identifier: MIT */
/*
 * The HTML report of `vmpilot simulate --report`: one self-contained file (inline SVG
 * drawn here, inline CSS, no script, nothing fetched) that fits the window: what was run
 * (version, date, command line), the results table, a legend explaining every metric,
 * and charts over the day of active hosts, power (with the oracle bound), oversubscribed
 * hosts and migrations — one chart per metric with every policy when they are few, small
 * multiples (a panel per policy) when they are many. Colours are Okabe–Ito's
 * colour-blind-safe palette; the first half hour (the initial placement) never sets the
 * y scale. Layout notes: doc/design/report.md.
 */
#ifndef VMP_CLI_SIM_REPORT_H
#define VMP_CLI_SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/simrun.h"

struct vmp_sim_report_run {
	const char *name;
	const struct vmp_simrun_result *result;
	double wall_s;
};

/* What the report says about the run itself. */
struct vmp_sim_report_meta {
	const char *trace;          /* trace directory */
	size_t nvms, nhosts;
	bool compat;                /* --compat cloudsim */
	const char *version;        /* vmpilot's version */
	const char *command_line;   /* as typed (vmp_cli_command_line); may be NULL */
	int64_t generated_s;        /* Unix time of the report */
};

/* More policies than this: small multiples instead of one chart with every line. */
#define VMP_SIM_REPORT_OVERLAY_MAX 3

/* Writes the report to out. Returns 0 or -EIO. Does not log. */
int vmp_sim_report_fprint(FILE *out, const struct vmp_sim_report_meta *meta,
			  const struct vmp_sim_report_run *runs, size_t n);

/* Writes the report to path (replaced atomically). Returns 0 or a negative errno. */
int vmp_sim_report_write(const char *path, const struct vmp_sim_report_meta *meta,
			 const struct vmp_sim_report_run *runs, size_t n);

#endif
