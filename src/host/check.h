/* SPDX-License-Identifier: MIT */
/*
 * The checks of `vmpilot check`: one table, one row per check (id, title, probe). A
 * probe reads files below a root prefix (the real "/" or a fixture tree) and gives one
 * status, one line of finding and, for WARN and FAIL, the exact fix. Probes never log
 * and never abort on bad input: a missing, unreadable, empty or garbage file gives
 * UNKNOWN with the reason as the finding.
 */
#ifndef VMP_HOST_CHECK_H
#define VMP_HOST_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum vmp_check_status {
	VMP_CHECK_PASS,
	VMP_CHECK_INFO,    /* a fact worth knowing, no judgement */
	VMP_CHECK_SKIP,    /* does not apply to this host (e.g. no cpufreq) */
	VMP_CHECK_WARN,    /* works, but slower than it could be: has a fix */
	VMP_CHECK_FAIL,    /* VMs cannot run (well) until fixed: has a fix */
	VMP_CHECK_UNKNOWN, /* the input could not be read or understood: finding says why */
	VMP_CHECK_STATUS_MAX,
};

/* "PASS", "INFO", ... */
const char *vmp_check_status_name(enum vmp_check_status s);

struct vmp_check_result {
	enum vmp_check_status status;
	char *finding; /* one line, never NULL after a run */
	char *fix;     /* one line (command, kernel parameter or config line), or NULL */
};

/*
 * What a probe sees: the root prefix and whether it is the live host (only then may a
 * probe make ioctls). The context records every path a probe asked for (files and
 * directories, relative to root; a directory whose entries were listed ends in '/')
 * so tests and tools/capture-host-fixture.sh know the inputs.
 */
struct vmp_check_ctx {
	const char *root;
	bool live;
	char **paths;
	size_t n_paths;
	size_t alloc_paths;
};

struct vmp_check {
	const char *id;    /* stable, e.g. "kvm.dev"; used by --only and the JSON output */
	const char *title; /* a few words for humans */
	void (*probe)(struct vmp_check_ctx *ctx, struct vmp_check_result *ret);
};

/* The table, in output order. */
extern const struct vmp_check vmp_checks[];
extern const size_t vmp_checks_count;

/* The row with this id, or NULL. */
const struct vmp_check *vmp_check_find(const char *id);

/* root NULL, "" or "/" means the live host. vmp_check_ctx_clear frees the recorded paths. */
void vmp_check_ctx_init(struct vmp_check_ctx *ctx, const char *root);
void vmp_check_ctx_clear(struct vmp_check_ctx *ctx);

/* Runs one probe into *ret (clear it with vmp_check_result_clear). Never fails. */
void vmp_check_run(const struct vmp_check *check, struct vmp_check_ctx *ctx,
		   struct vmp_check_result *ret);
void vmp_check_result_clear(struct vmp_check_result *r);

struct vmp_check_row {
	const struct vmp_check *check;
	struct vmp_check_result result;
};

struct vmp_check_report {
	bool live;
	struct vmp_check_row *rows;
	size_t n_rows;
	unsigned counts[VMP_CHECK_STATUS_MAX];
};

/*
 * Runs the checks whose ids are in only[0..n_only) (all of them when n_only is 0) in
 * table order. Returns 0, or -ENOENT when an id in only is not in the table (nothing
 * is run). ctx collects the paths read. Free the report with vmp_check_report_clear.
 */
int vmp_check_report_run(struct vmp_check_ctx *ctx, const char *const *only, size_t n_only,
			 struct vmp_check_report *ret);
void vmp_check_report_clear(struct vmp_check_report *report);

/*
 * The report as JSON, in the schema of doc/check-json.md ("vmpilot-check/1"). Returns
 * a new reference.
 */
json_t *vmp_check_report_json(const struct vmp_check_report *report);

#endif
