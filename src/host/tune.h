/* SPDX-License-Identifier: MIT */
/*
 * Host tuning profiles (`vmpilot tune`): each profile is a table of knobs (sysctls,
 * sysfs files, KSM, THP, NUMA balancing, I/O scheduler and read-ahead per device type,
 * CPU governor, interrupt affinity, kernel command line as advice only), each with its
 * value and the reason for it (tune-profiles.c; doc/tune.md). A profile is resolved
 * against a host below a root prefix into a plan (before -> after per concrete file),
 * applied live and persistently (sysctl.d, tmpfiles.d, udev rules), with what was there
 * before recorded in a state file, verified for drift and rolled back exactly.
 * A knob another active service owns (owner.h) is refused, never written.
 * Does not log: results and messages are returned.
 */
#ifndef VMP_HOST_TUNE_H
#define VMP_HOST_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "host/owner.h"

enum vmp_tune_kind {
	VMP_TUNE_SYSCTL,  /* path below /proc/sys; persisted in sysctl.d */
	VMP_TUNE_SYSFS,   /* one sysfs or procfs file; persisted in tmpfiles.d */
	VMP_TUNE_BLOCK,   /* path relative to /sys/block/DEV for each device of a type; udev rule */
	VMP_TUNE_CPU,     /* path relative to /sys/devices/system/cpu/cpuN; tmpfiles.d */
	VMP_TUNE_CMDLINE, /* a kernel command line parameter: advice only, never written */
};

/* Device types for VMP_TUNE_BLOCK rows. */
enum vmp_tune_dev {
	VMP_TUNE_DEV_ANY,
	VMP_TUNE_DEV_HDD,     /* rotational, not virtual */
	VMP_TUNE_DEV_SSD,     /* non-rotational SATA/SAS */
	VMP_TUNE_DEV_NVME,    /* nvme* */
	VMP_TUNE_DEV_VIRTUAL, /* vd*, xvd*: this host is itself a guest */
	VMP_TUNE_DEV_MAX,
};

struct vmp_tune_knob {
	const char *id;           /* e.g. "vm.swappiness", "thp.enabled", "block.scheduler" */
	enum vmp_tune_kind kind;
	const char *path;         /* see enum vmp_tune_kind; the parameter for CMDLINE */
	enum vmp_knob owner;      /* the ownership class (owner.h) */
	enum vmp_tune_dev dev;    /* BLOCK rows only */
	const char *value;
	bool choice;              /* the file lists choices, the selected one in [brackets] */
	const char *choices_path; /* CPU rows: the file that lists the accepted values */
	bool numa_only;           /* meaningful only with more than one NUMA node */
	const char *reason;
};

struct vmp_tune_profile {
	const char *name;
	const char *summary;
	const struct vmp_tune_knob *knobs;
	size_t n_knobs;
};

extern const struct vmp_tune_profile vmp_tune_profiles[];
extern const size_t vmp_tune_profiles_count;
const struct vmp_tune_profile *vmp_tune_profile_find(const char *name);
/* "hdd", "ssd", ... */
const char *vmp_tune_dev_name(enum vmp_tune_dev d);

enum vmp_tune_action {
	VMP_TUNE_SAME,        /* already the profile's value */
	VMP_TUNE_CHANGE,      /* will be (or was) written */
	VMP_TUNE_REFUSED,     /* another active service owns it (note says which, and the hand-over) */
	VMP_TUNE_UNAVAILABLE, /* this host has no such file, or does not offer the value (note) */
	VMP_TUNE_ADVICE,      /* kernel command line: not set; the operator may add it */
	VMP_TUNE_ADVICE_MET,  /* kernel command line: already there */
};

struct vmp_tune_item {
	const struct vmp_tune_knob *knob;
	char *name;   /* id, with "[DEV]" or "[cpuN]" for per-device rows */
	char *path;   /* absolute path on the host (without the root prefix) */
	char *before; /* current value (NULL when unreadable) */
	char *after;  /* the profile's value */
	enum vmp_tune_action action;
	char *note;   /* refusal or unavailability reason, or NULL */
};

/* A persistent file the plan writes: before NULL = did not exist; after NULL = remove. */
struct vmp_tune_file {
	char *path;
	char *before;
	char *after;
};

#define VMP_TUNE_STATE_PATH "/var/lib/vmpilot/tune-state.json"
#define VMP_TUNE_SYSCTL_FILE "/etc/sysctl.d/90-vmpilot-tune.conf"
#define VMP_TUNE_TMPFILES_FILE "/etc/tmpfiles.d/vmpilot-tune.conf"
#define VMP_TUNE_UDEV_FILE "/etc/udev/rules.d/90-vmpilot-tune.rules"

struct vmp_tune_plan {
	const struct vmp_tune_profile *profile;
	struct vmp_tune_item *items;
	size_t n_items;
	struct vmp_tune_file files[3]; /* sysctl.d, tmpfiles.d, udev rules */
	unsigned n_change, n_same, n_refused, n_unavailable, n_advice;
};

/*
 * Where tune reads and writes: root for the live knobs (/proc, /sys), persist_root for
 * the persistent files and the state file (normally the same; a test may keep them
 * apart). NULL or "/" = this host.
 */
struct vmp_tune_roots {
	const char *root;
	const char *persist_root;
};

/*
 * Resolves profile p against the host into *ret (free with vmp_tune_plan_clear).
 * owners (may be NULL: no scan) decides refusals. Returns 0, or -EEXIST when a profile
 * is applied already (*ret_err says which; roll it back first), or -errno.
 */
int vmp_tune_plan_make(const struct vmp_tune_roots *roots, const struct vmp_tune_profile *p,
		       const struct vmp_owner_scan *owners, struct vmp_tune_plan *ret, char **ret_err);
void vmp_tune_plan_clear(struct vmp_tune_plan *plan);

/* Prints the plan as a diff (the golden format of tests/data/tune/). */
void vmp_tune_plan_print(const struct vmp_tune_plan *plan, FILE *out);

/*
 * Writes the plan: the state file first (fsync'd, 0640), then every CHANGE value, then
 * the persistent files. A failed write puts back the values already written, removes
 * the state and returns -errno with *ret_err naming the file.
 */
int vmp_tune_apply(const struct vmp_tune_roots *roots, const struct vmp_tune_plan *plan, char **ret_err);

/*
 * Compares the live values and persistent files with the recorded profile, printing one
 * line per knob (like `tuned-adm verify`). Returns 0 (no drift), 1 (drift), or -ENOENT
 * (nothing applied), -errno (unreadable state: *ret_err).
 */
int vmp_tune_verify(const struct vmp_tune_roots *roots, FILE *out, char **ret_err);

/*
 * Puts back every value and persistent file recorded in the state, then removes the
 * state. Returns 0, -ENOENT (nothing applied) or the first -errno (state kept; *ret_err).
 */
int vmp_tune_rollback(const struct vmp_tune_roots *roots, FILE *out, char **ret_err);

/* The profile named in the state file (caller frees), or NULL when nothing is applied. */
char *vmp_tune_applied_profile(const struct vmp_tune_roots *roots, bool knobs[VMP_KNOB_MAX]);

/* Host facts for `tune recommend`. */
struct vmp_tune_facts {
	unsigned cpus, numa_nodes;
	unsigned long long mem_total_kib;
	unsigned n_vms;
	unsigned long long vm_mem_kib; /* committed by the VMs (current allocation) */
	unsigned vm_vcpus;
	unsigned n_latency_vms;        /* VMs whose workload profile is latency */
	bool rotational;               /* a rotational, non-virtual disk is present */
};

/*
 * Reads cpus, numa_nodes, mem_total_kib (0 when /proc/meminfo is missing) and rotational
 * below root. Returns 0 or -errno (no CPU list nor cpuN directories).
 */
int vmp_tune_facts_read(const char *root, struct vmp_tune_facts *ret);

/* The recommended profile for these facts, and why (a static string). */
const struct vmp_tune_profile *vmp_tune_recommend(const struct vmp_tune_facts *f, const char **ret_why);

#endif
