/* SPDX-License-Identifier: MIT */
/*
 * The autopilot's configuration file: `key = value` lines, `#` comments, global keys
 * first, then one `[vm NAME]` section per VM with its bounds and opt-out and one
 * `[host URI]` section per --connect host (memory limit, migration data URI). Every key is
 * one row of a table (config.c) with its type, default, range, unit and help; the parser,
 * `vmpilot run -n`, doc/vmpilot.conf.sample and its test all read that table. Units are
 * in the key names (_ms, _kib, _pct). Bad input gives "file:line: message".
 */
#ifndef VMP_DAEMON_CONFIG_H
#define VMP_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/ksm.h"
#include "core/pilot.h"
#include "core/overcommit.h"
#include "core/rightsize.h"

#define VMP_CONFIG_MAX_VMS 100000

/*
 * Automation modes (like VMware DRS's automation levels), set globally, per host, per
 * VM and in a libvirt domain's metadata: OFF leaves the VM alone (no decision journaled,
 * never changed, never moved), ADVISE decides and publishes recommendations with their
 * reasons but never acts, ACT carries them out. INHERIT (a [host] or [vm] section
 * without `mode`) takes the next level's mode. doc/design/modes.md.
 */
enum vmp_mode {
	VMP_MODE_INHERIT,
	VMP_MODE_OFF,
	VMP_MODE_ADVISE,
	VMP_MODE_ACT,
	VMP_MODE_MAX,
};

/* "inherit", "off", "advise", "act". */
const char *vmp_mode_name(enum vmp_mode m);
/* The mode named s, or -EINVAL. */
int vmp_mode_parse(const char *s);

/* Where a VM's effective mode came from (the first that sets one wins). */
enum vmp_mode_source {
	VMP_MODE_FROM_API_VM,      /* an operator's override of the VM through the API */
	VMP_MODE_FROM_API_HOST,    /* an operator's override of its host through the API */
	VMP_MODE_FROM_VM,          /* its [vm NAME] section (opt_out = yes counts as off) */
	VMP_MODE_FROM_METADATA,    /* <vmpilot:mode> in its libvirt domain metadata */
	VMP_MODE_FROM_HOST,        /* its host's [host URI] section */
	VMP_MODE_FROM_GLOBAL,      /* the global `mode` key */
	VMP_MODE_FROM_MAX,
};
/* "api [vm]", "api [host]", "config [vm]", "domain metadata", "config [host]", "config global". */
const char *vmp_mode_source_name(enum vmp_mode_source s);

struct vmp_config_vm {
	char *name;
	struct vmp_vm_limits limits;
	int mode;                  /* enum vmp_mode; INHERIT = not set in the section */
	char *profile;             /* workload profile name (core/workload.h) or "inherit" */
};

/* A [host URI] section: settings of one --connect host. */
struct vmp_config_host_settings {
	uint64_t mem_limit_kib;    /* memory its VMs may use together; 0 = the host's */
	uint64_t cpu_limit;        /* cores its VMs may use together; 0 = the host's CPUs */
	char *migrate_uri;         /* data channel of migrations to it; NULL = backend default */
	bool accept_migrations;
	bool storage_shared;       /* its VMs' disks are on storage every host shares */
	int mode;                  /* enum vmp_mode; INHERIT = the global mode */
};

struct vmp_config_host {
	char *uri;
	struct vmp_config_host_settings settings;
};

/* Every value, in the unit of its key. Fields are named after the keys. */
struct vmp_config {
	int64_t interval_ms, stale_ms;
	int mode;                  /* enum vmp_mode, never INHERIT */
	bool dry_run;
	char *journal;
	int64_t journal_max_bytes, journal_keep;
	char *qmp_peer_uids;
	bool migration_tls;
	char *migration_tls_dir;
	char *state_db;            /* "none" = no state kept */
	char *status_file;
	/* The HTTP API; "none" = unset. */
	char *api_socket, *api_group, *api_admin_group, *api_listen;
	char *api_tls_cert, *api_tls_key, *api_tls_ca, *api_admin_cns, *api_tokens;
	int64_t mem_target_pct, mem_margin_pct, mem_peak_window_ms, mem_half_life_ms;
	int64_t mem_headroom_pct, mem_dead_band_pct, mem_cooldown_ms, mem_step_max_pct;
	int64_t mem_floor_margin_pct, mem_floor_window_ms, mem_pressure_add_kib;
	int64_t mem_major_faults_min, mem_psi_some_min_pct, mem_low_free_pct;
	int64_t mem_floor_add_kib, mem_action_gap_ms;
	bool mem_cost_model;
	int64_t cpu_target_pct, cpu_margin_pct, cpu_saturated_pct, cpu_idle_pct;
	int64_t cpu_steal_max_pct, cpu_cooldown_ms, cpu_step_max;
	int64_t host_pressure_free_pct, host_critical_free_pct;
	int64_t host_step_max_pct, host_critical_step_max_pct;
	bool ksm_enabled, ksm_prefer_advisor;
	int64_t ksm_npages_boost, ksm_npages_decay, ksm_npages_min, ksm_npages_max;
	int64_t ksm_thres_coef_pct;
	int64_t budget_balloons_per_hour, budget_hotplugs_per_hour, budget_migrations_per_hour;
	int64_t timeout_ms, mem_bounds_widen_pct;
	char *planner, *host_standby_command, *host_wake_command;
	char *disk_dev;            /* the disk whose limits are sized ("none" = none) */
	int64_t disk_target_pct, disk_peak_window_ms, disk_cooldown_ms, disk_half_life_ms;
	int64_t host_command_timeout_ms;
	int64_t balloon_stats_period_ms;
	int64_t migration_max_downtime_ms, migration_bandwidth_mibps, migration_timeout_ms;
	bool migration_auto_converge, migration_postcopy, migration_copy_storage;
	/* Agent mode (daemon/agent.h); etcd_endpoints "none" = single process. */
	char *etcd_endpoints, *etcd_prefix, *etcd_cacert, *etcd_cert, *etcd_key;
	char *etcd_user, *etcd_password_file, *agent_name, *agent_migrate_uri;
	int64_t etcd_timeout_ms, cluster_lease_ttl_ms;
	size_t nvms;
	struct vmp_config_vm *vms;
	size_t nhosts;
	struct vmp_config_host *hosts;
};

enum vmp_config_type {
	VMP_CONFIG_INT,            /* int64_t */
	VMP_CONFIG_U64,            /* uint64_t (per-VM sizes) */
	VMP_CONFIG_UINT,           /* unsigned (per-VM counts) */
	VMP_CONFIG_BOOL,           /* yes/no, true/false, 1/0 */
	VMP_CONFIG_STRING,
	VMP_CONFIG_MODE,           /* int, enum vmp_mode by name ("inherit" only in sections) */
	VMP_CONFIG_TYPE_MAX,
};

/* One key: the table that drives the parser, the sample config and its test. */
struct vmp_config_key {
	const char *name;
	enum vmp_config_type type;
	bool per_vm;               /* allowed in [vm NAME] sections (only there) */
	size_t offset;             /* into struct vmp_config, struct vmp_config_vm or
				    * struct vmp_config_host_settings */
	int64_t min, max;          /* for the integer types */
	const char *def;           /* default, as written in the file */
	const char *help;          /* one line, with the unit */
	bool per_host;             /* allowed in [host URI] sections (only there) */
};

/* NULL-name-terminated. */
extern const struct vmp_config_key vmp_config_keys[];

/* Fills c with every default (c->journal is allocated). */
void vmp_config_init(struct vmp_config *c);
/* Frees what c owns; accepts NULL; leaves c zeroed. */
void vmp_config_release(struct vmp_config *c);

/*
 * Parses text (len bytes, need not be NUL-terminated) named `name` in messages into
 * *c (initialised with vmp_config_init). Returns 0, or -EINVAL and *ret_err (caller
 * frees): "name:line: message". On failure *c is left in a valid but partial state.
 * Does not log.
 */
int vmp_config_parse(const char *name, const char *text, size_t len, struct vmp_config *c,
		     char **ret_err);

/* Reads and parses a file. Returns 0, -EINVAL or -errno, with *ret_err on failure. */
int vmp_config_load(const char *path, struct vmp_config *c, char **ret_err);

/*
 * Writes the sample configuration generated from the key table: every key with its
 * help, unit and default (doc/vmpilot.conf.sample is this output).
 */
void vmp_config_write_sample(FILE *out);

/*
 * Writes the KEYS section of vmpilot.conf(5) in roff, generated from the key table:
 * every key with its help, bounds and default, global keys then [vm NAME] then
 * [host URI] ones. doc/man/vmpilot.conf.5 holds this output between its
 * "BEGIN KEYS" and "END KEYS" comment lines (tests/unit/test-config.c checks it).
 */
void vmp_config_write_man_keys(FILE *out);

/* The policy parameters the configuration describes. */
void vmp_config_mem_params(const struct vmp_config *c, struct vmp_mem_params *ret);
/* The disk limit policy's parameters from the configuration (iotune.h). */
struct vmp_disk_params;
void vmp_config_disk_params(const struct vmp_config *c, struct vmp_disk_params *p);
void vmp_config_cpu_params(const struct vmp_config *c, struct vmp_cpu_params *ret);
void vmp_config_overcommit_params(const struct vmp_config *c, struct vmp_overcommit_params *ret);
void vmp_config_ksm_params(const struct vmp_config *c, struct vmp_ksm_params *ret);

/* The limits of VM `name`: its [vm] section, or no bounds. */
struct vmp_vm_limits vmp_config_vm_limits(const struct vmp_config *c, const char *name);

/* The workload profile of VM `name` from its [vm] section, or NULL (inherit: metadata). */
const char *vmp_config_vm_profile(const struct vmp_config *c, const char *name);

/*
 * The effective mode of VM `vm` on host `host_uri`: its [vm] section's mode (or off when
 * it opted out), else meta_mode (the domain metadata's value, NULL or "" = none; a
 * value that is not a mode name counts as off, the safe reading), else its [host]
 * section's, else the global mode. *ret_src (may be NULL) tells which level decided.
 */
enum vmp_mode vmp_config_vm_mode(const struct vmp_config *c, const char *host_uri,
				 const char *vm, const char *meta_mode,
				 enum vmp_mode_source *ret_src);

/* The mode of host host_uri (host-wide actions such as KSM): its [host] section's, else global. */
enum vmp_mode vmp_config_host_mode(const struct vmp_config *c, const char *host_uri);

/*
 * The cluster planner's parameters from the value of the key 'planner' ("default", or
 * KEY=VAL,... over the defaults) into *ret (may be NULL: only check). Returns 0 or
 * -EINVAL.
 */
int vmp_config_planner_params(const char *value, struct vmp_pilot_params *ret);

/* The settings of host `uri`: its [host] section, or the defaults. */
struct vmp_config_host_settings vmp_config_host(const struct vmp_config *c, const char *uri);

#endif
