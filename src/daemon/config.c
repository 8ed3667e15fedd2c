/* SPDX-License-Identifier: MIT */
/* The configuration file: its key table and parser (see config.h). */
#include "daemon/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/iotune.h"
#include "core/workload.h"
#include "daemon/journal.h"
#include "util/fileio.h"
#include "util/units.h"
#include "util/util.h"

#define G(field) offsetof(struct vmp_config, field)
#define V(field) offsetof(struct vmp_config_vm, limits.field)
#define VM(field) offsetof(struct vmp_config_vm, field)
#define H(field) offsetof(struct vmp_config_host_settings, field)
#define MIN_MS (60ll * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

const struct vmp_config_key vmp_config_keys[] = {
	/* The loop. */
	{ "interval_ms", VMP_CONFIG_INT, false, G(interval_ms), 1000, HOUR_MS, "60000",
	  "time between two cycles of sampling and deciding (ms)", false },
	{ "stale_ms", VMP_CONFIG_INT, false, G(stale_ms), 1000, DAY_MS, "180000",
	  "stats older than this are stale: the VM is never shrunk on them (ms)", false },
	{ "timeout_ms", VMP_CONFIG_INT, false, G(timeout_ms), 100, 10 * MIN_MS, "10000",
	  "bound on every hypervisor call (ms)", false },
	{ "mode", VMP_CONFIG_MODE, false, G(mode), 0, 0, "advise",
	  "off: leave VMs alone; advise: publish recommendations, never act; act: carry them out (name)",
	  false },
	{ "dry_run", VMP_CONFIG_BOOL, false, G(dry_run), 0, 0, "no",
	  "never act whatever the modes say, as --dry-run (yes/no)", false },
	{ "journal", VMP_CONFIG_STRING, false, G(journal), 0, 0, "/var/lib/vmpilot/journal.jsonl",
	  "decision journal, one JSON object per line (path)", false },
	{ "journal_max_bytes", VMP_CONFIG_INT, false, G(journal_max_bytes), 0,
	  1024ll * 1024 * 1024 * 1024, "67108864",
	  "the journal is rotated before it grows past this; 0 = never (bytes)", false },
	{ "journal_keep", VMP_CONFIG_INT, false, G(journal_keep), 1, VMP_JOURNAL_KEEP_MAX, "8",
	  "rotated journal files kept (journal.1 ... journal.N), the oldest deleted (count)", false },
	{ "qmp_peer_uids", VMP_CONFIG_STRING, false, G(qmp_peer_uids), 0, 0, "0",
	  "uids besides root and vmpilot's own that may run a QEMU behind a qmp:// socket; "
	  "other peers are refused (comma-separated uids)", false },
	{ "state_db", VMP_CONFIG_STRING, false, G(state_db), 0, 0, "/var/lib/vmpilot/state.db",
	  "SQLite database of learned state, budgets and history; none = keep nothing (path)",
	  false },
	{ "status_file", VMP_CONFIG_STRING, false, G(status_file), 0, 0, "/run/vmpilot/status.json",
	  "each VM's mode and latest recommendations, replaced after every cycle; read by vmpilot status (path)",
	  false },
	{ "balloon_stats_period_ms", VMP_CONFIG_INT, false, G(balloon_stats_period_ms), 0, MIN_MS,
	  "5000", "a VM's balloon statistics period when it is off (0): vmpilot sets it, live, "
	  "rounded to seconds; 0 = never (ms)", false },
	/* The HTTP API (doc/api.md); "none" turns a setting off. */
	{ "api_socket", VMP_CONFIG_STRING, false, G(api_socket), 0, 0, "/run/vmpilot/vmpilot.sock",
	  "unix socket of the HTTP API, authorised by the peer's uid; none = off (path)", false },
	{ "api_group", VMP_CONFIG_STRING, false, G(api_group), 0, 0, "vmpilot",
	  "members may read the API on the unix socket (root always may) (group name)", false },
	{ "api_admin_group", VMP_CONFIG_STRING, false, G(api_admin_group), 0, 0, "none",
	  "members may also change the loop through it (root always may) (group name)", false },
	{ "api_listen", VMP_CONFIG_STRING, false, G(api_listen), 0, 0, "none",
	  "TCP address of the API, TLS only, e.g. 127.0.0.1:8443; none = off (address:port)",
	  false },
	{ "api_tls_cert", VMP_CONFIG_STRING, false, G(api_tls_cert), 0, 0, "none",
	  "the API's TLS certificate chain (PEM path)", false },
	{ "api_tls_key", VMP_CONFIG_STRING, false, G(api_tls_key), 0, 0, "none",
	  "its private key (PEM path)", false },
	{ "api_tls_ca", VMP_CONFIG_STRING, false, G(api_tls_ca), 0, 0, "none",
	  "CA whose client certificates are accepted (read role); none = no client certificates "
	  "(PEM path)", false },
	{ "api_admin_cns", VMP_CONFIG_STRING, false, G(api_admin_cns), 0, 0, "none",
	  "client certificate common names with the admin role (comma list)", false },
	{ "api_tokens", VMP_CONFIG_STRING, false, G(api_tokens), 0, 0, "none",
	  "bearer tokens by their SHA-256: read:HEX or admin:HEX, comma list "
	  "(sha256sum of the token)", false },
	/* Memory right-sizing. */
	{ "mem_target_pct", VMP_CONFIG_INT, false, G(mem_target_pct), 50, 100, "95",
	  "percentile of the demand peaks used as target (%)", false },
	{ "mem_margin_pct", VMP_CONFIG_INT, false, G(mem_margin_pct), 0, 200, "15",
	  "safety margin added to the target (%)", false },
	{ "mem_peak_window_ms", VMP_CONFIG_INT, false, G(mem_peak_window_ms), MIN_MS, 7 * DAY_MS,
	  "3600000", "one demand peak per window enters the history (ms)", false },
	{ "mem_half_life_ms", VMP_CONFIG_INT, false, G(mem_half_life_ms), MIN_MS, 30 * DAY_MS,
	  "86400000", "history weight halves every half-life (ms)", false },
	{ "mem_bounds_widen_pct", VMP_CONFIG_INT, false, G(mem_bounds_widen_pct), 0, 100000, "5",
	  "while history is short no shrink: upper bound x (1 + this/100 / days of history) (%)", false },
	{ "mem_headroom_pct", VMP_CONFIG_INT, false, G(mem_headroom_pct), 0, 400, "10",
	  "never below the demand now plus this share (%)", false },
	{ "mem_dead_band_pct", VMP_CONFIG_INT, false, G(mem_dead_band_pct), 0, 100, "20",
	  "no change smaller than this share of the current size (%)", false },
	{ "mem_cooldown_ms", VMP_CONFIG_INT, false, G(mem_cooldown_ms), 0, DAY_MS, "900000",
	  "no shrink this soon after a change (ms)", false },
	{ "mem_action_gap_ms", VMP_CONFIG_INT, false, G(mem_action_gap_ms), 0, DAY_MS, "0",
	  "no memory action this soon after the last, not even on pressure; 0 = off (ms)", false },
	{ "mem_step_max_pct", VMP_CONFIG_INT, false, G(mem_step_max_pct), 1, 100, "70",
	  "largest shrink per cycle, share of the current size (%)", false },
	{ "mem_floor_margin_pct", VMP_CONFIG_INT, false, G(mem_floor_margin_pct), 0, 200, "20",
	  "protected floor = recent demand peak plus this share (%)", false },
	{ "mem_floor_add_kib", VMP_CONFIG_INT, false, G(mem_floor_add_kib), 0, 64ll * 1024 * 1024,
	  "327680", "protected floor: plus this much more (KiB)", false },
	{ "mem_floor_window_ms", VMP_CONFIG_INT, false, G(mem_floor_window_ms), 0, 7 * DAY_MS,
	  "3600000", "how long a demand peak protects the VM (ms)", false },
	{ "mem_pressure_add_kib", VMP_CONFIG_INT, false, G(mem_pressure_add_kib), 0,
	  64ll * 1024 * 1024, "102400", "pressure bump: at least this much more (KiB)", false },
	{ "mem_major_faults_min", VMP_CONFIG_INT, false, G(mem_major_faults_min), 0, 1000000000,
	  "1000", "major faults per cycle that count as pressure; 0 = ignore (count)", false },
	{ "mem_psi_some_min_pct", VMP_CONFIG_INT, false, G(mem_psi_some_min_pct), 0, 100, "10",
	  "guest PSI memory some avg10 that counts as pressure; 0 = ignore (%)", false },
	{ "mem_low_free_pct", VMP_CONFIG_INT, false, G(mem_low_free_pct), 0, 50, "20",
	  "guest free memory below this share counts as pressure; 0 = ignore (%)", false },
	{ "mem_cost_model", VMP_CONFIG_BOOL, false, G(mem_cost_model), 0, 0, "no",
	  "memory target from cost-chosen models (doc/policies.md) instead of P95 x 1.15", false },
	/* Disk throughput limits (doc/policies.md, 3b); a VM is sized when its disk_max_kibps is set. */
	{ "disk_dev", VMP_CONFIG_STRING, false, G(disk_dev), 0, 0, "none",
	  "the disk whose limits are sized: libvirt target (vda) or QMP device id; none = off (name)",
	  false },
	{ "disk_target_pct", VMP_CONFIG_INT, false, G(disk_target_pct), 1, 100, "99",
	  "percentile of the throughput history a limit covers, x 1.5 (%)", false },
	{ "disk_peak_window_ms", VMP_CONFIG_INT, false, G(disk_peak_window_ms), 0, 7 * DAY_MS,
	  "21600000", "how long a throughput peak keeps the limit at 1.5 x it (ms)", false },
	{ "disk_cooldown_ms", VMP_CONFIG_INT, false, G(disk_cooldown_ms), 0, DAY_MS, "1800000",
	  "no lowering of a limit this soon after a change (ms)", false },
	{ "disk_half_life_ms", VMP_CONFIG_INT, false, G(disk_half_life_ms), MIN_MS / 60,
	  30 * DAY_MS, "86400000", "half-life of the throughput history (ms)", false },
	/* vCPU right-sizing. */
	{ "cpu_target_pct", VMP_CONFIG_INT, false, G(cpu_target_pct), 50, 100, "95",
	  "percentile of the CPU usage history used as target (%)", false },
	{ "cpu_margin_pct", VMP_CONFIG_INT, false, G(cpu_margin_pct), 0, 200, "15",
	  "safety margin added to the CPU target (%)", false },
	{ "cpu_saturated_pct", VMP_CONFIG_INT, false, G(cpu_saturated_pct), 10, 100, "90",
	  "usage per vCPU at or above: hot-add (%)", false },
	{ "cpu_idle_pct", VMP_CONFIG_INT, false, G(cpu_idle_pct), 0, 100, "50",
	  "usage per remaining vCPU below: a vCPU may be removed (%)", false },
	{ "cpu_steal_max_pct", VMP_CONFIG_INT, false, G(cpu_steal_max_pct), 0, 100, "10",
	  "vCPU steal above: no hot-add, the host is the bottleneck (%)", false },
	{ "cpu_cooldown_ms", VMP_CONFIG_INT, false, G(cpu_cooldown_ms), 0, DAY_MS, "1800000",
	  "no vCPU removal this soon after a change (ms)", false },
	{ "cpu_step_max", VMP_CONFIG_INT, false, G(cpu_step_max), 1, 64, "1",
	  "vCPUs added per cycle at most (count)", false },
	/* Host memory pressure. */
	{ "host_pressure_free_pct", VMP_CONFIG_INT, false, G(host_pressure_free_pct), 0, 100, "20",
	  "host free memory below this: reclaim from VMs with slack (%)", false },
	{ "host_critical_free_pct", VMP_CONFIG_INT, false, G(host_critical_free_pct), 0, 100, "5",
	  "host free memory below this: larger steps; at most host_pressure_free_pct (%)", false },
	{ "host_step_max_pct", VMP_CONFIG_INT, false, G(host_step_max_pct), 0, 100, "5",
	  "reclaim per VM per cycle, share of its size (%)", false },
	{ "host_critical_step_max_pct", VMP_CONFIG_INT, false, G(host_critical_step_max_pct), 0,
	  100, "10", "the same under critical pressure (%)", false },
	/* KSM. */
	{ "ksm_enabled", VMP_CONFIG_BOOL, false, G(ksm_enabled), 0, 0, "no",
	  "tune /sys/kernel/mm/ksm of this machine, as its host's mode allows (yes/no)", false },
	{ "ksm_prefer_advisor", VMP_CONFIG_BOOL, false, G(ksm_prefer_advisor), 0, 0, "yes",
	  "use the kernel's scan-time advisor where it exists (yes/no)", false },
	{ "ksm_npages_boost", VMP_CONFIG_INT, false, G(ksm_npages_boost), 0, 100000, "300",
	  "pages_to_scan added while host free memory is low (pages)", false },
	{ "ksm_npages_decay", VMP_CONFIG_INT, false, G(ksm_npages_decay), 0, 100000, "50",
	  "pages_to_scan removed otherwise (pages)", false },
	{ "ksm_npages_min", VMP_CONFIG_INT, false, G(ksm_npages_min), 1, 1000000, "64",
	  "smallest pages_to_scan (pages)", false },
	{ "ksm_npages_max", VMP_CONFIG_INT, false, G(ksm_npages_max), 1, 1000000, "1250",
	  "largest pages_to_scan; at least ksm_npages_min (pages)", false },
	{ "ksm_thres_coef_pct", VMP_CONFIG_INT, false, G(ksm_thres_coef_pct), 0, 100, "20",
	  "free memory threshold, share of host memory (%)", false },
	/* The action budget, per host. */
	{ "budget_balloons_per_hour", VMP_CONFIG_INT, false, G(budget_balloons_per_hour), 0, 1024,
	  "120", "balloon target changes per host per sliding hour (count)", false },
	{ "budget_hotplugs_per_hour", VMP_CONFIG_INT, false, G(budget_hotplugs_per_hour), 0, 1024,
	  "30", "vCPU hot-plugs per host per sliding hour (count)", false },
	{ "budget_migrations_per_hour", VMP_CONFIG_INT, false, G(budget_migrations_per_hour), 0,
	  1024, "6", "live migrations per host per sliding hour (count)", false },
	/* Live migration (the cluster planner across the --connect hosts). */
	{ "planner", VMP_CONFIG_STRING, false, G(planner), 0, 0, "default",
	  "cluster planner parameters: default (those of vmpilot simulate --policy vmpilot) or "
	  "KEY=VAL,... over them, e.g. k_sigma=1,low_frac=0.3 (doc/pilot-policy.md) (list)", false },
	{ "host_standby_command", VMP_CONFIG_STRING, false, G(host_standby_command), 0, 0, "none",
	  "run with the host's URI as argument once consolidation emptied it, e.g. an IPMI "
	  "power-off script; none = off (command)", false },
	{ "host_wake_command", VMP_CONFIG_STRING, false, G(host_wake_command), 0, 0, "none",
	  "run with the host's URI as argument before a VM moves to a host on standby, e.g. "
	  "Wake-on-LAN; none = standby hosts are not woken (command)", false },
	{ "host_command_timeout_ms", VMP_CONFIG_INT, false, G(host_command_timeout_ms), 100,
	  10 * MIN_MS, "60000", "a standby or wake command running longer is killed (ms)", false },
	{ "migration_max_downtime_ms", VMP_CONFIG_INT, false, G(migration_max_downtime_ms), 0,
	  10 * MIN_MS, "0", "largest pause at the switch-over; 0 = hypervisor default (ms)", false },
	{ "migration_bandwidth_mibps", VMP_CONFIG_INT, false, G(migration_bandwidth_mibps), 0,
	  1048576, "0", "bandwidth cap; 0 = unlimited (MiB/s)", false },
	{ "migration_timeout_ms", VMP_CONFIG_INT, false, G(migration_timeout_ms), 1000, DAY_MS,
	  "600000", "a migration running longer is cancelled (ms)", false },
	{ "migration_auto_converge", VMP_CONFIG_BOOL, false, G(migration_auto_converge), 0, 0,
	  "yes", "throttle the guest when the migration does not converge (yes/no)", false },
	{ "migration_postcopy", VMP_CONFIG_BOOL, false, G(migration_postcopy), 0, 0, "no",
	  "allow post-copy (yes/no)", false },
	{ "migration_tls", VMP_CONFIG_BOOL, false, G(migration_tls), 0, 0, "no",
	  "encrypt migrations with TLS: libvirt VIR_MIGRATE_TLS; QMP needs migration_tls_dir "
	  "(yes/no)", false },
	{ "migration_tls_dir", VMP_CONFIG_STRING, false, G(migration_tls_dir), 0, 0, "none",
	  "QMP: directory of x509 files for QEMU's tls-creds-x509 (ca-cert.pem, server-*.pem, "
	  "client-*.pem) on every host; none = no TLS (path)", false },
	{ "migration_copy_storage", VMP_CONFIG_BOOL, false, G(migration_copy_storage), 0, 0, "no",
	  "copy a VM's disks that are not on shared storage; no = refuse such a move (yes/no)",
	  false },
	/* Agents and an elected cluster planner through etcd (doc/cluster.md). */
	{ "etcd_endpoints", VMP_CONFIG_STRING, false, G(etcd_endpoints), 0, 0, "none",
	  "etcd client URLs, comma-separated (http://10.0.0.1:2379,...): this daemon is the agent "
	  "of its one -c host and the cluster planner runs in one elected agent; none = one "
	  "process plans for its -c hosts; the etcd_*, cluster_* and agent_* keys are read at start "
	  "(a reload keeps them) (list)", false },
	{ "etcd_prefix", VMP_CONFIG_STRING, false, G(etcd_prefix), 0, 0, "/vmpilot/",
	  "prefix of every key vmpilot writes in etcd; one cluster per prefix (key)", false },
	{ "etcd_cacert", VMP_CONFIG_STRING, false, G(etcd_cacert), 0, 0, "none",
	  "CA certificate that signed etcd's server certificates; none = the system's (path)",
	  false },
	{ "etcd_cert", VMP_CONFIG_STRING, false, G(etcd_cert), 0, 0, "none",
	  "client certificate for etcd; none = no client certificate (path)", false },
	{ "etcd_key", VMP_CONFIG_STRING, false, G(etcd_key), 0, 0, "none",
	  "private key of etcd_cert (path)", false },
	{ "etcd_user", VMP_CONFIG_STRING, false, G(etcd_user), 0, 0, "none",
	  "etcd user (etcd authentication); none = no authentication (name)", false },
	{ "etcd_password_file", VMP_CONFIG_STRING, false, G(etcd_password_file), 0, 0, "none",
	  "file holding etcd_user's password on its first line (path)", false },
	{ "etcd_timeout_ms", VMP_CONFIG_INT, false, G(etcd_timeout_ms), 100, MIN_MS, "2000",
	  "deadline of each request to etcd (ms)", false },
	{ "cluster_lease_ttl_ms", VMP_CONFIG_INT, false, G(cluster_lease_ttl_ms), 2000, 10 * MIN_MS,
	  "10000", "an agent that stops renewing its lease this long loses its keys and the "
	  "leadership (ms)", false },
	{ "agent_name", VMP_CONFIG_STRING, false, G(agent_name), 0, 0, "auto",
	  "this agent's name in the cluster, unique per host; auto = the hostname (name)", false },
	{ "agent_migrate_uri", VMP_CONFIG_STRING, false, G(agent_migrate_uri), 0, 0, "auto",
	  "the hypervisor URI other agents migrate VMs into this host with, e.g. "
	  "qemu+tcp://10.0.0.2/system; auto = the -c URI (URI)", false },
	/* Per VM, in [vm NAME] sections. */
	{ "mem_min_kib", VMP_CONFIG_U64, true, V(mem_min_kib), 0, INT64_MAX, "0",
	  "never below this balloon target (KiB)", false },
	{ "mem_max_kib", VMP_CONFIG_U64, true, V(mem_max_kib), 0, INT64_MAX, "0",
	  "never above this balloon target; 0 = the VM's maximum (KiB)", false },
	{ "vcpus_min", VMP_CONFIG_UINT, true, V(vcpus_min), 0, 4096, "1",
	  "never fewer vCPUs (count)", false },
	{ "vcpus_max", VMP_CONFIG_UINT, true, V(vcpus_max), 0, 4096, "0",
	  "never more vCPUs; 0 = the VM's maximum (count)", false },
	{ "disk_min_kibps", VMP_CONFIG_U64, true, V(disk_min_kibps), 1, INT64_MAX, "1024",
	  "never limit the disk under this, per direction (KiB/s)", false },
	{ "disk_max_kibps", VMP_CONFIG_U64, true, V(disk_max_kibps), 0, INT64_MAX, "0",
	  "never limit the disk above this, per direction; 0 = limits not sized (KiB/s)", false },
	{ "opt_out", VMP_CONFIG_BOOL, true, V(opt_out), 0, 0, "no",
	  "never change this VM automatically: the same as mode = off (yes/no)", false },
	{ "mode", VMP_CONFIG_MODE, true, VM(mode), 0, 0, "inherit",
	  "this VM's mode: off, advise, act, or inherit (domain metadata, host, global) (name)",
	  false },
	{ "profile", VMP_CONFIG_STRING, true, VM(profile), 0, 0, "inherit",
	  "this VM's workload profile for the right-sizer's percentile and margin: latency, "
	  "database, throughput, web, batch, default, or inherit (domain metadata) (name)", false },
	/* Per host, in [host URI] sections. */
	{ "mem_limit_kib", VMP_CONFIG_U64, false, H(mem_limit_kib), 0, INT64_MAX, "0",
	  "memory the host's VMs may use together; 0 = the host's available memory (KiB)", true },
	{ "cpu_limit", VMP_CONFIG_U64, false, H(cpu_limit), 0, 4096, "0",
	  "cores the host's VMs may use together; 0 = the host's CPUs (count)", true },
	{ "migrate_uri", VMP_CONFIG_STRING, false, H(migrate_uri), 0, 0, "auto",
	  "data channel of migrations to this host, e.g. tcp://10.0.0.2:49152; auto = the backend's (URI)",
	  true },
	{ "accept_migrations", VMP_CONFIG_BOOL, false, H(accept_migrations), 0, 0, "yes",
	  "this host may receive migrated VMs (yes/no)", true },
	{ "storage_shared", VMP_CONFIG_BOOL, false, H(storage_shared), 0, 0, "no",
	  "its VMs' disks are on storage all hosts share (SAN...); no = check each disk (yes/no)",
	  true },
	{ "mode", VMP_CONFIG_MODE, false, H(mode), 0, 0, "inherit",
	  "mode of this host's VMs and host-wide actions: off, advise, act or inherit (name)",
	  true },
	{ 0 },
};

int
vmp_config_planner_params(const char *value, struct vmp_pilot_params *ret)
{
	struct vmp_pilot_params p;
	struct vmp_pilot *pl = NULL;
	int r;

	vmp_pilot_params_default(&p);
	if (strcmp(value, "default") != 0) {
		r = vmp_pilot_params_parse(&p, value);
		if (r < 0)
			return r;
	}
	/* the values must make a planner */
	r = vmp_pilot_new(&p, 1, 0, &pl);
	vmp_pilot_free(pl);
	if (r < 0)
		return r;
	if (ret)
		*ret = p;
	return 0;
}

static const char *const mode_names[VMP_MODE_MAX] = {
	[VMP_MODE_INHERIT] = "inherit", [VMP_MODE_OFF] = "off", [VMP_MODE_ADVISE] = "advise",
	[VMP_MODE_ACT] = "act",
};

const char *
vmp_mode_name(enum vmp_mode m)
{
	return (unsigned)m < VMP_MODE_MAX ? mode_names[m] : "?";
}

int
vmp_mode_parse(const char *s)
{
	int i;

	for (i = 0; i < VMP_MODE_MAX; i++)
		if (!strcmp(mode_names[i], s))
			return i;
	return -EINVAL;
}

const char *
vmp_mode_source_name(enum vmp_mode_source s)
{
	static const char *const names[VMP_MODE_FROM_MAX] = {
		[VMP_MODE_FROM_API_VM] = "api [vm]", [VMP_MODE_FROM_API_HOST] = "api [host]",
		[VMP_MODE_FROM_VM] = "config [vm]", [VMP_MODE_FROM_METADATA] = "domain metadata",
		[VMP_MODE_FROM_HOST] = "config [host]", [VMP_MODE_FROM_GLOBAL] = "config global",
	};

	return (unsigned)s < VMP_MODE_FROM_MAX ? names[s] : "?";
}

static int
parse_bool(const char *s, bool *ret)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

/*
 * The unit of a numeric key, from its name: "_ms" keys take durations (500ms, 30s, 5m,
 * 1h; a bare number is ms), "_kib" and "_bytes" keys sizes (512M, 4G; a bare number is
 * KiB, or bytes), the others plain integers. Returns 0, -EINVAL or -ERANGE (util/units.h).
 */
static int
parse_number(const struct vmp_config_key *k, const char *value, int64_t *ret)
{
	size_t len = strlen(k->name);
	uint64_t u;
	int r;

	if (len > 3 && !strcmp(k->name + len - 3, "_ms")) {
		r = vmp_parse_duration_ms(value, 1, ret);
	} else if ((len > 4 && !strcmp(k->name + len - 4, "_kib")) ||
		   (len > 6 && !strcmp(k->name + len - 6, "_bytes"))) {
		r = k->name[len - 1] == 'b' ? vmp_parse_size_kib(value, 1, &u)
					    : vmp_parse_size_bytes(value, &u);
		if (r == 0 && u > (uint64_t)INT64_MAX)
			r = -ERANGE;
		if (r == 0)
			*ret = (int64_t)u;
	} else {
		return vmp_parse_i64(value, ret);
	}
	/* a negative plain number is "out of bounds", which names the bounds */
	if (r == -EINVAL && vmp_parse_i64(value, ret) == 0)
		r = 0;
	return r;
}

/* Stores value (a NUL-terminated, stripped string) for key k into base. */
static int
set_value(const struct vmp_config_key *k, void *base, const char *value, char **ret_msg)
{
	char *field = (char *)base + k->offset;
	int64_t v;
	bool b;
	int r;

	switch (k->type) {
	case VMP_CONFIG_BOOL:
		if (parse_bool(value, &b) < 0) {
			*ret_msg = xasprintf("'%s' must be yes or no, not '%s'", k->name, value);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case VMP_CONFIG_STRING:
		if (!*value) {
			*ret_msg = xasprintf("'%s' must not be empty", k->name);
			return -EINVAL;
		}
		if (!strcmp(k->name, "qmp_peer_uids") && (strspn(value, "0123456789, ") !=
							     strlen(value) || !strpbrk(value, "0123456789"))) {
			*ret_msg = xasprintf("'%s' must be a comma-separated list of uids, not '%s'",
					     k->name, value);
			return -EINVAL;
		}
		if (!strcmp(k->name, "profile") && strcmp(value, "inherit") &&
		    !vmp_workload_find(value)) {
			*ret_msg = xasprintf("'%s' must be latency, database, throughput, web, batch, "
					     "default or inherit, not '%s'", k->name, value);
			return -EINVAL;
		}
		if (!strcmp(k->name, "planner") && vmp_config_planner_params(value, NULL) < 0) {
			*ret_msg = xasprintf("'%s' must be default or KEY=VAL,... with the planner's "
					     "parameters (doc/pilot-policy.md), not '%s'", k->name,
					     value);
			return -EINVAL;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case VMP_CONFIG_MODE: {
		/* Sections may inherit; the global mode must name one. */
		int m = vmp_mode_parse(value);

		if (m < 0 || (m == VMP_MODE_INHERIT && !k->per_vm && !k->per_host)) {
			*ret_msg = xasprintf("'%s' must be %s, not '%s'", k->name,
					     k->per_vm || k->per_host ? "off, advise, act or inherit"
								      : "off, advise or act", value);
			return -EINVAL;
		}
		*(int *)field = m;
		return 0;
	}
	case VMP_CONFIG_INT:
	case VMP_CONFIG_U64:
	case VMP_CONFIG_UINT:
		r = parse_number(k, value, &v);
		if (r == -ERANGE) {
			*ret_msg = xasprintf("'%s' is out of range: '%s'", k->name, value);
			return -ERANGE;
		}
		if (r < 0) {
			size_t n = strlen(k->name);

			if (n > 3 && !strcmp(k->name + n - 3, "_ms"))
				*ret_msg = xasprintf("'%s' must be a duration (e.g. 500ms, 30s, 5m, "
						     "1h; a bare number is ms), not '%s'", k->name,
						     value);
			else if (n > 4 && !strcmp(k->name + n - 4, "_kib"))
				*ret_msg = xasprintf("'%s' must be a size (e.g. 512M, 4G; a bare "
						     "number is KiB), not '%s'", k->name, value);
			else if (n > 6 && !strcmp(k->name + n - 6, "_bytes"))
				*ret_msg = xasprintf("'%s' must be a size (e.g. 512M, 4G; a bare "
						     "number is bytes), not '%s'", k->name, value);
			else
				*ret_msg = xasprintf("'%s' must be an integer, not '%s'", k->name,
						     value);
			return -EINVAL;
		}
		if (v < k->min || v > k->max) {
			*ret_msg = xasprintf("'%s' must be between %lld and %lld, not %lld", k->name,
					     (long long)k->min, (long long)k->max, (long long)v);
			return -ERANGE;
		}
		if (k->type == VMP_CONFIG_INT)
			*(int64_t *)field = v;
		else if (k->type == VMP_CONFIG_U64)
			*(uint64_t *)field = (uint64_t)v;
		else
			*(unsigned *)field = (unsigned)v;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * The row of key `name` for the current scope (a [vm] or [host] section, or global);
 * a name used in several scopes (`mode`) has one row per scope. Else the first row of
 * that name, whose scope the caller reports, or NULL.
 */
static const struct vmp_config_key *
find_key(const char *name, bool in_vm, bool in_host)
{
	const struct vmp_config_key *k, *first = NULL;

	for (k = vmp_config_keys; k->name; k++) {
		if (strcmp(k->name, name) != 0)
			continue;
		if (k->per_vm == in_vm && k->per_host == in_host)
			return k;
		if (!first)
			first = k;
	}
	return first;
}

static void
vm_defaults(struct vmp_config_vm *vm)
{
	const struct vmp_config_key *k;
	char *msg = NULL;

	memset(vm, 0, sizeof(*vm));
	for (k = vmp_config_keys; k->name; k++)
		if (k->per_vm && set_value(k, vm, k->def, &msg) < 0)
			abort(); /* a default outside its own range is a bug in the table */
}

static void
host_defaults(struct vmp_config_host_settings *h)
{
	const struct vmp_config_key *k;
	char *msg = NULL;

	memset(h, 0, sizeof(*h));
	for (k = vmp_config_keys; k->name; k++)
		if (k->per_host && set_value(k, h, k->def, &msg) < 0)
			abort(); /* a default outside its own range is a bug in the table */
}

void
vmp_config_init(struct vmp_config *c)
{
	const struct vmp_config_key *k;
	char *msg = NULL;

	memset(c, 0, sizeof(*c));
	for (k = vmp_config_keys; k->name; k++)
		if (k - vmp_config_keys >= 128)
			abort(); /* the parser's duplicate check holds 128 keys */
	for (k = vmp_config_keys; k->name; k++)
		if (!k->per_vm && !k->per_host && set_value(k, c, k->def, &msg) < 0)
			abort(); /* a default outside its own range is a bug in the table */
}

void
vmp_config_release(struct vmp_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->journal);
	free(c->qmp_peer_uids);
	free(c->migration_tls_dir);
	free(c->state_db);
	free(c->status_file);
	free(c->planner);
	free(c->disk_dev);
	free(c->host_standby_command);
	free(c->host_wake_command);
	free(c->api_socket);
	free(c->api_group);
	free(c->api_admin_group);
	free(c->api_listen);
	free(c->api_tls_cert);
	free(c->api_tls_key);
	free(c->api_tls_ca);
	free(c->api_admin_cns);
	free(c->api_tokens);
	free(c->etcd_endpoints);
	free(c->etcd_prefix);
	free(c->etcd_cacert);
	free(c->etcd_cert);
	free(c->etcd_key);
	free(c->etcd_user);
	free(c->etcd_password_file);
	free(c->agent_name);
	free(c->agent_migrate_uri);
	for (i = 0; i < c->nvms; i++) {
		free(c->vms[i].name);
		free(c->vms[i].profile);
	}
	free(c->vms);
	for (i = 0; i < c->nhosts; i++) {
		free(c->hosts[i].uri);
		free(c->hosts[i].settings.migrate_uri);
	}
	free(c->hosts);
	memset(c, 0, sizeof(*c));
}

/*
 * "[vm NAME]" or "[host URI]": returns the name (new string) or NULL with *ret_msg;
 * *ret_host tells which.
 */
static char *
parse_section(char *line, bool *ret_host, char **ret_msg)
{
	size_t len = strlen(line);
	char *name;

	if (line[len - 1] != ']') {
		*ret_msg = xstrdup("section header must end with ']'");
		return NULL;
	}
	line[len - 1] = '\0';
	name = vmp_strstrip(line + 1);
	*ret_host = strncmp(name, "host", 4) == 0 && (name[4] == ' ' || name[4] == '\t');
	if (*ret_host) {
		name = vmp_strstrip(name + 5);
		if (!*name || strlen(name) > 1024 || strpbrk(name, " \t\"[]")) {
			*ret_msg = xstrdup("bad host URI in section header");
			return NULL;
		}
		return xstrdup(name);
	}
	if (strncmp(name, "vm", 2) != 0 || (name[2] != ' ' && name[2] != '\t')) {
		*ret_msg = xasprintf("unknown section '[%s]' (only [vm NAME] and [host URI])", name);
		return NULL;
	}
	name = vmp_strstrip(name + 3);
	if (*name == '"' && strlen(name) >= 2 && name[strlen(name) - 1] == '"') {
		name[strlen(name) - 1] = '\0';
		name++;
	}
	if (!*name || strlen(name) > 255 || strpbrk(name, "\"[]")) {
		*ret_msg = xstrdup("bad vm name in section header");
		return NULL;
	}
	return xstrdup(name);
}

/* Checks that need two keys (reported as "file: message", after the whole file). */
static int
check_relations(const struct vmp_config *c, char **ret_msg)
{
	size_t i;

	if (c->host_critical_free_pct > c->host_pressure_free_pct) {
		*ret_msg = xstrdup("'host_critical_free_pct' must not exceed 'host_pressure_free_pct'");
		return -EINVAL;
	}
	if (c->ksm_npages_min > c->ksm_npages_max) {
		*ret_msg = xstrdup("'ksm_npages_min' must not exceed 'ksm_npages_max'");
		return -EINVAL;
	}
	for (i = 0; i < c->nvms; i++) {
		const struct vmp_vm_limits *l = &c->vms[i].limits;

		if (l->mem_max_kib && l->mem_min_kib > l->mem_max_kib) {
			*ret_msg = xasprintf("vm '%s': 'mem_min_kib' exceeds 'mem_max_kib'",
					     c->vms[i].name);
			return -EINVAL;
		}
		if (l->vcpus_max && l->vcpus_min > l->vcpus_max) {
			*ret_msg = xasprintf("vm '%s': 'vcpus_min' exceeds 'vcpus_max'",
					     c->vms[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

int
vmp_config_parse(const char *name, const char *text, size_t len, struct vmp_config *c,
		 char **ret_err)
{
	size_t pos = 0, lineno = 0, alloc = 0, i;
	/* Keys already set in the current scope, to refuse duplicates. */
	bool seen[128];
	struct vmp_config_vm *vm = NULL;
	struct vmp_config_host *host = NULL;
	size_t halloc = 0;
	char *msg = NULL;
	int rc = 0;

	memset(seen, 0, sizeof(seen));
	while (pos < len && rc == 0) {
		size_t end = pos;
		char *line, *s, *eq, *key, *value;
		const struct vmp_config_key *k;

		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		if (memchr(text + pos, '\0', end - pos)) {
			msg = xstrdup("NUL byte in line");
			rc = -EINVAL;
			break;
		}
		line = xstrndup(text + pos, end - pos);
		pos = end + 1;
		s = strchr(line, '#');
		if (s)
			*s = '\0';
		s = vmp_strstrip(line);
		if (!*s) {
			free(line);
			continue;
		}
		if (*s == '[') {
			bool is_host = false;
			char *vname = parse_section(s, &is_host, &msg);

			if (vname && is_host) {
				for (i = 0; i < c->nhosts; i++)
					if (strcmp(c->hosts[i].uri, vname) == 0)
						break;
				if (i < c->nhosts || c->nhosts >= VMP_CONFIG_MAX_VMS) {
					msg = xasprintf(i < c->nhosts ? "duplicate section for host '%s'"
							: "too many [host] sections at '%s'", vname);
					free(vname);
					rc = -EINVAL;
				} else {
					xgrow((void **)&c->hosts, &halloc, c->nhosts + 1, sizeof(*c->hosts));
					host = &c->hosts[c->nhosts++];
					host->uri = vname;
					host_defaults(&host->settings);
					vm = NULL;
					memset(seen, 0, sizeof(seen));
				}
			} else if (!vname) {
				rc = -EINVAL;
			} else {
				for (i = 0; i < c->nvms; i++)
					if (strcmp(c->vms[i].name, vname) == 0)
						break;
				if (i < c->nvms) {
					msg = xasprintf("duplicate section for vm '%s'", vname);
					free(vname);
					rc = -EINVAL;
				} else if (c->nvms >= VMP_CONFIG_MAX_VMS) {
					msg = xasprintf("more than %d [vm] sections", VMP_CONFIG_MAX_VMS);
					free(vname);
					rc = -EINVAL;
				} else {
					xgrow((void **)&c->vms, &alloc, c->nvms + 1, sizeof(*c->vms));
					vm = &c->vms[c->nvms++];
					vm_defaults(vm);
					vm->name = vname;
					host = NULL;
					memset(seen, 0, sizeof(seen));
				}
			}
		} else {
			eq = strchr(s, '=');
			if (!eq) {
				msg = xasprintf("expected 'key = value', not '%s'", s);
				rc = -EINVAL;
			} else {
				*eq = '\0';
				key = vmp_strstrip(s);
				value = vmp_strstrip(eq + 1);
				k = find_key(key, vm != NULL, host != NULL);
				if (!k) {
					msg = xasprintf("unknown key '%s'", key);
					rc = -EINVAL;
				} else if (k->per_vm != (vm != NULL) || k->per_host != (host != NULL)) {
					msg = k->per_vm ?
						xasprintf("'%s' belongs in a [vm NAME] section", key) :
					      k->per_host ?
						xasprintf("'%s' belongs in a [host URI] section", key) :
						xasprintf("'%s' is global: put it before the first section", key);
					rc = -EINVAL;
				} else if (seen[k - vmp_config_keys]) {
					msg = xasprintf("'%s' is set twice", key);
					rc = -EINVAL;
				} else {
					seen[k - vmp_config_keys] = true;
					rc = set_value(k, vm ? (void *)vm :
							  host ? (void *)&host->settings : (void *)c, value, &msg);
				}
			}
		}
		free(line);
	}
	if (rc < 0) {
		*ret_err = xasprintf("%s:%zu: %s", name, lineno, msg);
		free(msg);
		return -EINVAL;
	}
	if (check_relations(c, &msg) < 0) {
		*ret_err = xasprintf("%s: %s", name, msg);
		free(msg);
		return -EINVAL;
	}
	return 0;
}

int
vmp_config_load(const char *path, struct vmp_config *c, char **ret_err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = vmp_read_file(NULL, path, &buf, &len);
	if (rc < 0) {
		*ret_err = xasprintf("cannot read config '%s': %s", path, vmp_file_strerror(rc));
		return rc;
	}
	rc = vmp_config_parse(path, buf, len, c, ret_err);
	free(buf);
	return rc;
}

void
vmp_config_write_sample(FILE *out)
{
	const struct vmp_config_key *k;
	bool vm_header = false, host_header = false;

	fputs("# vmpilot.conf: the configuration of the vmpilot autopilot (vmpilot run, vmpilotd).\n"
	      "# Generated from the key table in src/daemon/config.c by `vmpilot run --sample-config`.\n"
	      "# Syntax: `key = value`, `#` starts a comment, units are in the key names\n"
	      "# (_ms milliseconds, _kib KiB, _pct percent). A _ms key also takes a duration with\n"
	      "# a unit (500ms, 30s, 5m, 1h, 1d), a _kib or _bytes key a size (512M, 4G: powers\n"
	      "# of 1024).\n"
	      "# Every key below is shown commented out with its default. Global keys come first;\n"
	      "# per-VM bounds go in [vm NAME] sections.\n"
	      "# Check a file with: vmpilot run -n --config FILE\n", out);
	for (k = vmp_config_keys; k->name; k++) {
		if (k->per_vm && !vm_header) {
			fputs("\n# Per-VM settings: one section per VM, named as libvirt/QMP name it.\n"
			      "#[vm web1]\n", out);
			vm_header = true;
		}
		if (k->per_host && !host_header) {
			fputs("\n# Per-host settings: one section per --connect URI.\n"
			      "#[host qemu+tcp://10.0.0.2/system]\n", out);
			host_header = true;
		}
		fprintf(out, "\n# %s", k->help);
		if (k->type == VMP_CONFIG_INT || k->type == VMP_CONFIG_U64 ||
		    k->type == VMP_CONFIG_UINT)
			fprintf(out, "; %lld to %lld", (long long)k->min, (long long)k->max);
		fprintf(out, "\n#%s = %s\n", k->name, k->def);
	}
}

/* Writes s for roff: '-' as '\-', backslashes doubled, no control line at the start. */
static void
roff_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

void
vmp_config_write_man_keys(FILE *out)
{
	static const char *const heads[] = {
		".SS Global keys\n",
		".SS \"[vm NAME] sections\"\nOne section per VM, named as libvirt or QMP name it.\n",
		".SS \"[host URI] sections\"\nOne section per \\fB\\-\\-connect\\fR URI.\n",
	};
	const struct vmp_config_key *k;
	int part;

	fputs(".SH KEYS\n"
	      "Generated from the key table of src/daemon/config.c. The unit is in each key's\n"
	      "name and help; a key named\n.B *_ms\ntakes a duration,\n.B *_kib\nand\n"
	      ".B *_bytes\na size (see\n.BR UNITS ).\n", out);
	for (part = 0; part < 3; part++) {
		fputs(heads[part], out);
		for (k = vmp_config_keys; k->name; k++) {
			if ((part == 1) != k->per_vm || (part == 2) != k->per_host)
				continue;
			fputs(".TP\n.B ", out);
			roff_text(out, k->name);
			fputc('\n', out);
			roff_text(out, k->help);
			if (k->type == VMP_CONFIG_INT || k->type == VMP_CONFIG_U64 ||
			    k->type == VMP_CONFIG_UINT)
				fprintf(out, "; %lld to %lld", (long long)k->min, (long long)k->max);
			fputs("; default\n.BR \"", out);
			roff_text(out, k->def);
			fputs("\" .\n", out);
		}
	}
}

void
vmp_config_mem_params(const struct vmp_config *c, struct vmp_mem_params *p)
{
	vmp_mem_params_default(p);
	p->hist.half_life_ms = c->mem_half_life_ms;
	p->peak_window_ms = c->mem_peak_window_ms;
	p->est.target_frac = c->mem_target_pct / 100.0;
	p->est.upper_frac = c->mem_target_pct / 100.0;
	p->est.margin_frac = c->mem_margin_pct / 100.0;
	p->est.upper_conf_mult = c->mem_bounds_widen_pct / 100.0;
	p->est.sample_interval_ms = (double)c->interval_ms;
	p->dead_band_frac = c->mem_dead_band_pct / 100.0;
	p->cooldown_ms = c->mem_cooldown_ms;
	p->step_max_frac = c->mem_step_max_pct / 100.0;
	p->stale_ms = c->stale_ms;
	p->headroom_frac = c->mem_headroom_pct / 100.0;
	p->pressure_add_kib = (uint64_t)c->mem_pressure_add_kib;
	p->major_faults_min = (uint64_t)c->mem_major_faults_min;
	p->psi_some_min = (double)c->mem_psi_some_min_pct;
	p->low_free_frac = c->mem_low_free_pct / 100.0;
	p->cost_model = c->mem_cost_model;
	p->floor_margin_frac = c->mem_floor_margin_pct / 100.0;
	p->floor_window_ms = c->mem_floor_window_ms;
	p->floor_add_kib = (uint64_t)c->mem_floor_add_kib;
	p->action_gap_ms = c->mem_action_gap_ms;
}

void
vmp_config_disk_params(const struct vmp_config *c, struct vmp_disk_params *p)
{
	vmp_disk_params_default(p);
	p->target_frac = c->disk_target_pct / 100.0;
	p->peak_window_ms = c->disk_peak_window_ms;
	p->cooldown_ms = c->disk_cooldown_ms;
	p->hist.half_life_ms = c->disk_half_life_ms;
	p->stale_ms = c->stale_ms;
}

void
vmp_config_cpu_params(const struct vmp_config *c, struct vmp_cpu_params *p)
{
	vmp_cpu_params_default(p);
	p->est.target_frac = c->cpu_target_pct / 100.0;
	p->est.margin_frac = c->cpu_margin_pct / 100.0;
	p->est.sample_interval_ms = (double)c->interval_ms;
	p->saturated_frac = c->cpu_saturated_pct / 100.0;
	p->idle_frac = c->cpu_idle_pct / 100.0;
	p->steal_max_frac = c->cpu_steal_max_pct / 100.0;
	p->cooldown_ms = c->cpu_cooldown_ms;
	p->step_max = (unsigned)c->cpu_step_max;
	p->stale_ms = c->stale_ms;
}

void
vmp_config_overcommit_params(const struct vmp_config *c, struct vmp_overcommit_params *p)
{
	p->pressure_free_frac = c->host_pressure_free_pct / 100.0;
	p->critical_free_frac = c->host_critical_free_pct / 100.0;
	p->step_max_frac = c->host_step_max_pct / 100.0;
	p->critical_step_max_frac = c->host_critical_step_max_pct / 100.0;
}

void
vmp_config_ksm_params(const struct vmp_config *c, struct vmp_ksm_params *p)
{
	vmp_ksm_params_default(p);
	p->npages_boost = (int)c->ksm_npages_boost;
	p->npages_decay = -(int)c->ksm_npages_decay;
	p->npages_min = (unsigned)c->ksm_npages_min;
	p->npages_max = (unsigned)c->ksm_npages_max;
	p->thres_coef_pct = (unsigned)c->ksm_thres_coef_pct;
	p->prefer_advisor = c->ksm_prefer_advisor;
}

struct vmp_config_host_settings
vmp_config_host(const struct vmp_config *c, const char *uri)
{
	struct vmp_config_host_settings h;
	size_t i;

	for (i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i].uri, uri) == 0)
			return c->hosts[i].settings;
	host_defaults(&h);
	free(h.migrate_uri); /* the default "auto" is not owned by anyone */
	h.migrate_uri = NULL;
	return h;
}

struct vmp_vm_limits
vmp_config_vm_limits(const struct vmp_config *c, const char *name)
{
	struct vmp_config_vm vm;
	size_t i;

	for (i = 0; i < c->nvms; i++)
		if (strcmp(c->vms[i].name, name) == 0)
			return c->vms[i].limits;
	vm_defaults(&vm);
	free(vm.profile);
	return vm.limits;
}

const char *
vmp_config_vm_profile(const struct vmp_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nvms; i++)
		if (strcmp(c->vms[i].name, name) == 0)
			return c->vms[i].profile && strcmp(c->vms[i].profile, "inherit") ?
				c->vms[i].profile : NULL;
	return NULL;
}

enum vmp_mode
vmp_config_host_mode(const struct vmp_config *c, const char *host_uri)
{
	size_t i;

	for (i = 0; host_uri && i < c->nhosts; i++)
		if (strcmp(c->hosts[i].uri, host_uri) == 0 &&
		    c->hosts[i].settings.mode != VMP_MODE_INHERIT)
			return (enum vmp_mode)c->hosts[i].settings.mode;
	return (enum vmp_mode)c->mode;
}

enum vmp_mode
vmp_config_vm_mode(const struct vmp_config *c, const char *host_uri, const char *vm,
		   const char *meta_mode, enum vmp_mode_source *ret_src)
{
	enum vmp_mode_source src = VMP_MODE_FROM_VM;
	enum vmp_mode m = VMP_MODE_INHERIT;
	size_t i;
	int mm;

	for (i = 0; i < c->nvms; i++)
		if (strcmp(c->vms[i].name, vm) == 0) {
			m = c->vms[i].limits.opt_out ? VMP_MODE_OFF : (enum vmp_mode)c->vms[i].mode;
			break;
		}
	if (m == VMP_MODE_INHERIT && meta_mode && *meta_mode) {
		src = VMP_MODE_FROM_METADATA;
		mm = vmp_mode_parse(meta_mode);
		m = mm < 0 ? VMP_MODE_OFF : (enum vmp_mode)mm;
	}
	if (m == VMP_MODE_INHERIT) {
		src = VMP_MODE_FROM_HOST;
		for (i = 0; host_uri && i < c->nhosts; i++)
			if (strcmp(c->hosts[i].uri, host_uri) == 0)
				m = (enum vmp_mode)c->hosts[i].settings.mode;
	}
	if (m == VMP_MODE_INHERIT) {
		src = VMP_MODE_FROM_GLOBAL;
		m = (enum vmp_mode)c->mode;
	}
	if (ret_src)
		*ret_src = src;
	return m;
}
