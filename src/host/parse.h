/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the text formats of /proc and /sys that the host probes read: cpuinfo
 * flags, "key value" files, "[selected] other" choice lists, mount tables, /proc/cgroups,
 * CPU lists, PSI lines. They work on strings only (no I/O), never log, and are fuzzed
 * by tests/fuzz/fuzz-host-parse.c: any input gives a result or a negative errno.
 */
#ifndef VMP_HOST_PARSE_H
#define VMP_HOST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when word occurs in list as a whole token separated by spaces/tabs/newlines. */
bool vmp_parse_has_word(const char *list, const char *word);

/*
 * Finds the first "flags" line of an x86 /proc/cpuinfo and returns its value (the
 * space-separated flag list) as a new string. Returns 0, or -ENOENT when there is no
 * flags line (empty, garbage or non-x86 input).
 */
int vmp_parse_cpuinfo_flags(const char *cpuinfo, char **ret_flags);

/*
 * Parses a sysfs choice list such as "always [madvise] never" and returns the
 * bracketed choice as a new string. Returns 0, or -EINVAL unless exactly one non-empty
 * bracketed word is present and every word is made of [A-Za-z0-9_+-].
 */
int vmp_parse_choice(const char *s, char **ret_selected);

/*
 * Finds the line whose first word (a trailing ':' removed) is key in a "key value"
 * file (/proc/meminfo, node meminfo after its "Node N" prefix, recorded ioctl files)
 * and returns the rest of the line, stripped, as a new string. Lines starting with
 * '#' are comments. Returns 0, -ENOENT (no such key) or -EINVAL (key without value).
 */
int vmp_parse_kv(const char *buf, const char *key, char **ret_value);

/* Like vmp_parse_kv, then the value's first word as an unsigned number. -EINVAL on garbage. */
int vmp_parse_kv_u64(const char *buf, const char *key, uint64_t *ret);

/* A sysfs boolean: "Y", "N", "1", "0" (module parameters). Returns 0 or -EINVAL. */
int vmp_parse_bool(const char *s, bool *ret);


struct vmp_mount {
	char *source;
	char *dir;
	char *type;
	char *options;
};

/*
 * Parses /proc/mounts (or /proc/self/mounts). Returns 0 and a new array (free with
 * vmp_mounts_free), or -EINVAL naming the first bad line in *ret_bad_line (1-based;
 * may be NULL). A line needs at least four fields.
 */
int vmp_parse_mounts(const char *buf, struct vmp_mount **ret_mounts, size_t *ret_n,
		     size_t *ret_bad_line);
void vmp_mounts_free(struct vmp_mount *mounts, size_t n);

/* true when opt occurs in a comma-separated mount option list. */
bool vmp_mount_has_option(const struct vmp_mount *m, const char *opt);

struct vmp_cgroup_subsys {
	char name[32];
	unsigned hierarchy;  /* 0: not bound to a v1 hierarchy (free for v2) */
	bool enabled;
};

/*
 * Parses /proc/cgroups ("#subsys_name hierarchy num_cgroups enabled"). Returns 0 and a
 * new array (caller frees), or -EINVAL with the bad line in *ret_bad_line (1-based).
 */
int vmp_parse_proc_cgroups(const char *buf, struct vmp_cgroup_subsys **ret, size_t *ret_n,
			   size_t *ret_bad_line);

struct vmp_psi_line {
	double avg10_pct;
	double avg60_pct;
	double avg300_pct;
	uint64_t total_us;
};

/*
 * Parses the "some" or "full" line (kind) of a /proc/pressure file. Returns 0, -ENOENT
 * (no such line) or -EINVAL (garbage).
 */
int vmp_parse_psi(const char *buf, const char *kind, struct vmp_psi_line *ret);

/*
 * Parses /proc/swaps: returns the number of active swap areas and their total size in
 * KiB. Returns 0 or -EINVAL (missing header or a bad line, 1-based in *ret_bad_line).
 */
int vmp_parse_swaps(const char *buf, unsigned *ret_count, uint64_t *ret_size_kib,
		    size_t *ret_bad_line);

#endif
