/* SPDX-License-Identifier: MIT */
/*
 * Readers of VM utilisation traces: the PlanetLab format (a directory with one file per
 * VM, one integer CPU percentage per line) and a generic per-VM CSV format (the Bitbrains
 * GWA-T-12 layout and similar). Both produce one struct vmp_trace: per-VM arrays on a
 * common grid of fixed steps (300 s for both formats). Parsers report bad input as
 * "file:line: message" and never log.
 */
#ifndef VMP_TRACE_H
#define VMP_TRACE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Which optional arrays of struct vmp_trace are filled. */
enum vmp_trace_field {
	VMP_TRACE_CPU_MHZ      = 1u << 0, /* cpu_usage_mhz and cpu_provisioned_mhz */
	VMP_TRACE_MEM          = 1u << 1, /* mem_usage_kib and mem_provisioned_kib */
	VMP_TRACE_CPU_CORES    = 1u << 2, /* cpu_cores */
};

/*
 * A trace: nvms VMs, nsteps samples each, sample k of every VM describing the interval
 * [start_s + k * step_s, start_s + (k + 1) * step_s). Every per-VM array holds
 * nvms * nsteps values, row-major by VM: value (vm, k) is at [vm * nsteps + k]
 * (use vmp_trace_at()). VMs are in sorted file-name order (strcmp), so results do not
 * depend on the file system's directory order.
 *
 * cpu_usage_pct is always filled (0..100, of the VM's own CPU capacity). It is float to
 * keep 100,000-VM traces small; integer percentages (PlanetLab) are exact, and
 * (double)pct / 100.0 equals the Java expression `int / 100.0` CloudSim uses.
 * The other arrays are NULL unless their bit is set in `fields`.
 */
struct vmp_trace {
	size_t nvms;
	size_t nsteps;
	int64_t step_s;              /* 300 for both formats */
	int64_t start_s;             /* Unix time of the earliest first row (0: the format has none) */
	uint32_t fields;             /* VMP_TRACE_* bits */
	char **names;                /* nvms file names (without directory) */
	float *cpu_usage_pct;        /* always */
	double *cpu_usage_mhz;       /* VMP_TRACE_CPU_MHZ */
	double *cpu_provisioned_mhz; /* VMP_TRACE_CPU_MHZ */
	double *mem_usage_kib;       /* VMP_TRACE_MEM */
	double *mem_provisioned_kib; /* VMP_TRACE_MEM */
	double *cpu_cores;           /* VMP_TRACE_CPU_CORES */
	size_t shortest_vm;          /* CSV: the VM whose rows span the least time */
	uint64_t rows_dropped;       /* CSV: rows beyond nsteps of their VM's own grid */
};

/* Index of sample k of VM vm in every per-VM array. */
static inline size_t
vmp_trace_at(const struct vmp_trace *t, size_t vm, size_t k)
{
	return vm * t->nsteps + k;
}

/* Frees the trace and all its arrays; accepts NULL. */
void vmp_trace_free(struct vmp_trace *t);

/* Largest accepted number of samples per VM and of VMs (bounds hostile input). */
#define VMP_TRACE_MAX_STEPS 1000000u
#define VMP_TRACE_MAX_VMS 10000000u

/*
 * Reads a PlanetLab day: every regular file in dir whose name does not start with '.'
 * is one VM; each line holds an integer CPU percentage 0..100 (surrounding blanks and a
 * CR are allowed; blank lines at the end are ignored). All files must have the same
 * number of samples. step_s is 300, start_s 0.
 * Returns 0 and *ret_trace (free with vmp_trace_free), or a negative errno and
 * *ret_err (caller frees), e.g. "DIR/vm1:17: 'abc' is not an integer percentage".
 */
int vmp_trace_read_planetlab(const char *dir, struct vmp_trace **ret_trace, char **ret_err);

/*
 * Parses the text of one PlanetLab file (buf, len bytes, need not be NUL-terminated)
 * named `name` in messages. Returns the number of samples (>= 1) and *ret_pct (a new
 * array, caller frees), or a negative errno and *ret_err ("name:line: message").
 */
int vmp_trace_parse_planetlab(const char *name, const char *buf, size_t len,
			      float **ret_pct, char **ret_err);

/*
 * Reads a directory of per-VM CSV files (every regular file whose name ends in ".csv",
 * sorted by name). Each file has a header line naming its columns; the separator is ';'
 * if the header holds one, else ','. Columns are found by their header name (case and
 * surrounding blanks ignored, a trailing "[unit]" ignored for the match):
 *   timestamp (Unix seconds; "Timestamp [ms]" of Bitbrains holds seconds too) - required
 *   "cpu usage [%]" or cpu_pct                          -> cpu_usage_pct
 *   "cpu usage [mhz]" / "cpu capacity provisioned [mhz]" -> cpu_usage_mhz / _provisioned_
 *   "memory usage [kb]" / "memory capacity provisioned [kb]" -> mem_usage_kib / _provisioned_
 *   "cpu cores"                                          -> cpu_cores
 * Other columns are ignored. At least a CPU percentage or both MHz columns are needed
 * (the percentage is then usage / provisioned * 100). Each VM's rows are placed on a
 * 300-s grid of its own that starts at its first row: row -> step round((ts - first) /
 * 300), so VMs whose traces were taken at different times (Bitbrains' VMs start up to 30
 * days apart) run side by side, as PlanetLab's files do. The trace has as many steps as
 * the shortest VM spans (shortest_vm), so every VM has real rows at every step: the rows
 * of longer VMs beyond it are dropped (counted in rows_dropped), never invented. A later
 * row for the same step replaces an earlier one; a step a VM has no row for takes the
 * previous row's values.
 * Returns 0 and *ret_trace, or a negative errno and *ret_err ("file:line: message").
 */
int vmp_trace_read_csv_dir(const char *dir, struct vmp_trace **ret_trace, char **ret_err);

/*
 * Whether dir holds a file whose name ends in ".csv" (false also when dir cannot be
 * opened): the "auto" trace format reads such a directory as CSV, anything else as
 * PlanetLab.
 */
bool vmp_trace_dir_has_csv(const char *dir);

/*
 * One parsed CSV file, for vmp_trace_parse_csv(): rows in file order, each field an
 * array of nrows values (NULL when the column is absent), NAN where a row left it empty.
 */
struct vmp_trace_csv {
	size_t nrows;
	int64_t *timestamp_s;
	double *cpu_usage_pct;
	double *cpu_usage_mhz;
	double *cpu_provisioned_mhz;
	double *mem_usage_kib;
	double *mem_provisioned_kib;
	double *cpu_cores;
	double *disk_read_kbs;       /* disk throughput, KB/s (optional) */
	double *disk_write_kbs;
};
void vmp_trace_csv_free(struct vmp_trace_csv *c); /* accepts NULL */

/*
 * Parses the text of one CSV file (buf, len bytes) named `name` in messages. Returns 0
 * and *ret_csv (free with vmp_trace_csv_free), or a negative errno and *ret_err.
 */
int vmp_trace_parse_csv(const char *name, const char *buf, size_t len,
			struct vmp_trace_csv **ret_csv, char **ret_err);

#endif
