/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: one table of operations per hypervisor access method
 * (libvirt, QMP, the simulator). The daemon, the CLI and the simulator call backends
 * only through the vmp_backend_* wrappers below, which turn a NULL slot into
 * -ENOTSUP with a message, so a backend implements only what it can do.
 *
 * Conventions: VMs are named by their name (libvirt domain name, QMP socket name).
 * Every operation returns 0 (or a count) on success, or a negative errno; on failure
 * it leaves a message naming the VM and the operation in vmp_backend_error(), e.g.
 * "cannot balloon vm 'web1' to 2097152 KiB: Operation not supported". Operations do
 * not log. Every operation is bounded by the connection's timeout_ms.
 * Units: memory in KiB, times in ns/us/ms as named.
 */
#ifndef VMP_BACKEND_H
#define VMP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMP_NAME_MAX 256
#define VMP_UUID_LEN 37
#define VMP_VCPU_MAX 256

enum vmp_vm_state {
	VMP_VM_UNKNOWN,
	VMP_VM_RUNNING,
	VMP_VM_PAUSED,
	VMP_VM_SHUTOFF,
	VMP_VM_CRASHED,
	VMP_VM_MIGRATING,
	VMP_VM_STATE_MAX,
};
const char *vmp_vm_state_name(enum vmp_vm_state s);

struct vmp_host_info {
	char hostname[VMP_NAME_MAX];
	unsigned cpus;
	unsigned numa_nodes;
	uint64_t memory_kib;
	char hypervisor[64];      /* e.g. "QEMU 7.2.0" */
	/* Known to the simulator only (0 = unknown: the planner counts 1000 per core): */
	double core_mips;         /* speed of one CPU */
	double migrate_bw_kib_s;  /* bandwidth a migration from this host gets */
	double full_watts;        /* its power at full load */
};

struct vmp_vm_info {
	char name[VMP_NAME_MAX];
	char uuid[VMP_UUID_LEN];  /* "" when unknown */
	enum vmp_vm_state state;
	unsigned vcpus_current;
	unsigned vcpus_max;
	uint64_t memory_current_kib;  /* balloon target / current allocation */
	uint64_t memory_max_kib;
	bool has_balloon;
	int stats_period_s;       /* guest stats polling period; 0 = off, -1 unknown */
	double max_mips;          /* its CPU size when the backend knows it (the simulator); 0 = unknown */
	/*
	 * The vmpilot automation mode the VM carries itself ("off", "advise", "act", or
	 * anything else the operator wrote, cut to fit), "" = none. libvirt: the text of
	 * <vmpilot:mode> in the domain's <metadata>, namespace VMP_LIBVIRT_METADATA_NS.
	 */
	char mode[16];
	/*
	 * The workload profile the VM carries itself (core/workload.h), "" = none; cut to
	 * fit. libvirt: the text of <vmpilot:profile> in the domain's <metadata>.
	 */
	char profile[16];
};

/* The XML namespace of vmpilot's element in a libvirt domain's <metadata>. */
#define VMP_LIBVIRT_METADATA_NS "https://vmpilot.org/xmlns/libvirt/1"


/* Which fields of struct vmp_vm_stats are valid (a backend fills what it can). */
enum vmp_vm_stat_field {
	VMP_STAT_CPU_TIME        = 1u << 0,
	VMP_STAT_VCPU_TIME       = 1u << 1,
	VMP_STAT_VCPU_WAIT       = 1u << 2,
	VMP_STAT_VCPU_DELAY      = 1u << 3,  /* steal: runnable but not running on the host */
	VMP_STAT_BALLOON_ACTUAL  = 1u << 4,
	VMP_STAT_MEM_UNUSED      = 1u << 5,
	VMP_STAT_MEM_AVAILABLE   = 1u << 6,
	VMP_STAT_MEM_USABLE      = 1u << 7,
	VMP_STAT_MEM_DISK_CACHES = 1u << 8,
	VMP_STAT_SWAP            = 1u << 9,
	VMP_STAT_FAULTS          = 1u << 10,
	VMP_STAT_BLOCK           = 1u << 11,
	VMP_STAT_NET             = 1u << 12,
	VMP_STAT_CPU_DEMAND      = 1u << 13,  /* the simulator only */
};

struct vmp_vm_stats {
	uint32_t valid;              /* VMP_STAT_* bits */
	int64_t sample_time_us;      /* CLOCK_MONOTONIC of the backend host at sampling */
	uint64_t cpu_time_ns;        /* total guest CPU time */
	unsigned nvcpus;             /* entries in vcpu_time_ns */
	uint64_t vcpu_time_ns[VMP_VCPU_MAX];
	uint64_t vcpu_wait_ns;       /* summed over vCPUs */
	uint64_t vcpu_delay_ns;      /* summed over vCPUs */
	uint64_t balloon_actual_kib;
	uint64_t mem_unused_kib;
	uint64_t mem_available_kib;  /* guest MemTotal as the balloon driver reports it */
	uint64_t mem_usable_kib;     /* guest MemAvailable */
	uint64_t mem_disk_caches_kib;
	uint64_t swap_in_kib;        /* cumulative */
	uint64_t swap_out_kib;
	uint64_t major_faults;       /* cumulative */
	uint64_t minor_faults;
	uint64_t block_rd_bytes, block_wr_bytes, block_rd_ops, block_wr_ops;
	uint64_t block_rd_time_ns, block_wr_time_ns; /* total time requests spent, cumulative */
	uint64_t net_rx_bytes, net_tx_bytes;
	/*
	 * The CPU it asks now, in MIPS (host_info.core_mips per core of its host): only a
	 * simulator knows it (a real hypervisor gives CPU time, and the loop derives use
	 * from its deltas).
	 */
	double cpu_demand_mips;
};

struct vmp_host_stats {
	int64_t sample_time_us;
	uint64_t cpu_busy_ns, cpu_total_ns;   /* cumulative, all CPUs */
	uint64_t mem_total_kib, mem_free_kib, mem_available_kib;
	uint64_t swap_total_kib, swap_free_kib;
	bool has_psi;
	double psi_mem_some_avg10, psi_mem_full_avg10, psi_cpu_some_avg10;
	bool powered_off;         /* the host is off (the simulator switches empty hosts off) */
};

struct vmp_migrate_params {
	const char *dest_uri;        /* backend URI of the destination host */
	const char *migrate_uri;     /* data channel, e.g. "tcp://127.0.0.1:49152"; NULL = default */
	const char *dest_name;       /* name on the destination; NULL = same */
	uint64_t max_downtime_ms;    /* 0 = hypervisor default */
	uint64_t bandwidth_mibps;    /* 0 = unlimited */
	bool auto_converge;
	bool postcopy;
	/*
	 * Storage (libvirt): a writable local disk must be on storage the destination
	 * shares — a network disk, a <shareable/> one, a file on a shared file system (NFS,
	 * CIFS, CephFS, GFS2, OCFS2, GPFS..., checked on a local source host), or every disk
	 * when storage_shared says so — else it is copied when copy_storage is set
	 * (VIR_MIGRATE_NON_SHARED_DISK) and the migration refused with the reason when not.
	 */
	bool storage_shared;
	bool copy_storage;
	/*
	 * Encrypt the migration stream with TLS. libvirt: VIR_MIGRATE_TLS (its
	 * migrate_tls_x509 certificates). QMP: tls_dir names the directory of x509 files
	 * QEMU's tls-creds-x509 reads on both ends (ca-cert.pem, server-cert.pem and
	 * server-key.pem for the destination, client-cert.pem and client-key.pem for the
	 * source); tls_hostname the name the destination's certificate must carry (NULL =
	 * the host of migrate_uri).
	 */
	bool tls;
	const char *tls_dir;
	const char *tls_hostname;
};

enum vmp_migrate_state {
	VMP_MIGRATE_NONE,
	VMP_MIGRATE_ACTIVE,
	VMP_MIGRATE_COMPLETED,
	VMP_MIGRATE_FAILED,
	VMP_MIGRATE_CANCELLED,
	VMP_MIGRATE_STATE_MAX,
};

struct vmp_migrate_progress {
	enum vmp_migrate_state state;
	uint64_t total_time_ms;       /* so far, or final */
	uint64_t downtime_ms;         /* final (or expected while active) */
	uint64_t transferred_bytes;
	uint64_t remaining_bytes;
	uint64_t dirty_rate_pages_s;
};

/* The live I/O limits of one disk, per second; 0 = unlimited. */
struct vmp_block_iotune {
	uint64_t read_bytes_sec, write_bytes_sec;
	uint64_t read_iops_sec, write_iops_sec;
};

struct vmp_backend;

struct vmp_backend_ops {
	const char *name;                         /* "libvirt", "qmp", "sim" */
	/* true if this backend handles uri (by scheme). */
	bool (*accepts)(const char *uri);
	/* Connects; stores private state with vmp_backend_set_priv(). */
	int (*open)(struct vmp_backend *b, const char *uri);
	void (*close)(struct vmp_backend *b);

	int (*host_info)(struct vmp_backend *b, struct vmp_host_info *ret);
	int (*host_stats)(struct vmp_backend *b, struct vmp_host_stats *ret);
	/* *ret_vms is a new array (caller frees with free()); returns the count. */
	int (*list_vms)(struct vmp_backend *b, struct vmp_vm_info **ret_vms);
	int (*vm_stats)(struct vmp_backend *b, const char *vm, struct vmp_vm_stats *ret);
	/* The VM's configuration as libvirt domain XML (*ret_xml new, caller frees). */
	int (*vm_config)(struct vmp_backend *b, const char *vm, char **ret_xml);

	int (*set_balloon)(struct vmp_backend *b, const char *vm, uint64_t target_kib);
	/* Sets the guest memory statistics polling period of the running VM (seconds). */
	int (*set_stats_period)(struct vmp_backend *b, const char *vm, unsigned period_s);
	/* Hot-add or request hot-unplug; returns 0 once the hypervisor accepted it. */
	int (*set_vcpus)(struct vmp_backend *b, const char *vm, unsigned count);
	/* cpulist in the kernel's list format, e.g. "0-3,8". */
	int (*pin_vcpu)(struct vmp_backend *b, const char *vm, unsigned vcpu, const char *cpulist);
	/* quota_us < 0 = unlimited; shares 0 = unchanged. */
	int (*set_cpu_quota)(struct vmp_backend *b, const char *vm, int64_t quota_us,
			     uint64_t period_us, uint64_t shares);
	/*
	 * Sets the live I/O limits of one disk of vm: libvirt's target name ("vda"), or for
	 * QMP the qdev id of the device (or its block backend's name).
	 */
	int (*set_block_iotune)(struct vmp_backend *b, const char *vm, const char *disk,
				const struct vmp_block_iotune *t);

	int (*migrate_start)(struct vmp_backend *b, const char *vm,
			     const struct vmp_migrate_params *params);
	int (*migrate_poll)(struct vmp_backend *b, const char *vm, struct vmp_migrate_progress *ret);
	int (*migrate_cancel)(struct vmp_backend *b, const char *vm);
	/* Measures the guest's dirty page rate over calc_ms; blocks up to calc_ms + timeout. */
	int (*dirty_rate)(struct vmp_backend *b, const char *vm, unsigned calc_ms,
			  uint64_t *ret_mib_per_s);
};

/*
 * Opens the backend whose ops accept uri. timeout_ms bounds every later operation
 * (0 = 10 s default). Returns 0 and *ret_b, or a negative errno with a message in
 * *ret_err (caller frees) — -EPROTONOSUPPORT when no backend accepts the URI.
 */
int vmp_backend_open(const char *uri, unsigned timeout_ms, struct vmp_backend **ret_b,
		     char **ret_err);
void vmp_backend_close(struct vmp_backend *b);   /* accepts NULL */

/* The message of the last failed operation on b ("" if none). Owned by b. */
const char *vmp_backend_error(const struct vmp_backend *b);
const char *vmp_backend_name(const struct vmp_backend *b);
const char *vmp_backend_uri(const struct vmp_backend *b);
/*
 * How long an operation starting now may take: the connection's timeout_ms, or less
 * when the deadline set with vmp_backend_set_deadline() comes sooner (at least 1 ms).
 * Each operation takes its deadline from this once, at its start, and every call it
 * makes (connect, handshake, each command, each wait for an event) shares it.
 */
unsigned vmp_backend_timeout_ms(const struct vmp_backend *b);
/*
 * An absolute deadline (CLOCK_MONOTONIC ms, 0 = none) no later operation may run
 * past, whatever timeout_ms says: a command like `vmpilot status --timeout 2s` bounds
 * its whole run with it.
 */
void vmp_backend_set_deadline(struct vmp_backend *b, int64_t deadline_ms);

/*
 * The uids (a comma-separated list, from the config's qmp_peer_uids) besides root and
 * our own that may run the process behind a QMP socket; the QMP backend refuses any
 * other peer (a socket dropped into its directory by another user is not a VM).
 */
void vmp_backend_set_peer_uids(struct vmp_backend *b, const char *uids);
bool vmp_backend_peer_uid_allowed(const struct vmp_backend *b, long uid);

/* For implementations: private state, and setting the error message (returns -err). */
void vmp_backend_set_priv(struct vmp_backend *b, void *priv);
void *vmp_backend_priv(const struct vmp_backend *b);
int vmp_backend_fail(struct vmp_backend *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Wrappers: a NULL slot gives -ENOTSUP and a message. Same contracts as the ops. */
int vmp_backend_host_info(struct vmp_backend *b, struct vmp_host_info *ret);
int vmp_backend_host_stats(struct vmp_backend *b, struct vmp_host_stats *ret);
int vmp_backend_list_vms(struct vmp_backend *b, struct vmp_vm_info **ret_vms);
int vmp_backend_vm_stats(struct vmp_backend *b, const char *vm, struct vmp_vm_stats *ret);

/*
 * The counters of one stats sample that the diagnosis reads (core/diagnose.h), for
 * `vmpilot diagnose`, `vmpilot audit --observe` and the daemon's loop alike.
 */
struct vmp_diag_sample;
void vmp_backend_diag_sample(const struct vmp_vm_stats *s, struct vmp_diag_sample *d);
int vmp_backend_vm_config(struct vmp_backend *b, const char *vm, char **ret_xml);
int vmp_backend_set_balloon(struct vmp_backend *b, const char *vm, uint64_t target_kib);
int vmp_backend_set_stats_period(struct vmp_backend *b, const char *vm, unsigned period_s);
int vmp_backend_set_vcpus(struct vmp_backend *b, const char *vm, unsigned count);
int vmp_backend_pin_vcpu(struct vmp_backend *b, const char *vm, unsigned vcpu, const char *cpulist);
int vmp_backend_set_cpu_quota(struct vmp_backend *b, const char *vm, int64_t quota_us,
			      uint64_t period_us, uint64_t shares);
int vmp_backend_set_block_iotune(struct vmp_backend *b, const char *vm, const char *disk,
				 const struct vmp_block_iotune *t);
int vmp_backend_migrate_start(struct vmp_backend *b, const char *vm,
			      const struct vmp_migrate_params *params);
int vmp_backend_migrate_poll(struct vmp_backend *b, const char *vm, struct vmp_migrate_progress *ret);
int vmp_backend_migrate_cancel(struct vmp_backend *b, const char *vm);
int vmp_backend_dirty_rate(struct vmp_backend *b, const char *vm, unsigned calc_ms,
			   uint64_t *ret_mib_per_s);

/* The registered backends (backend.c), NULL-terminated. */
extern const struct vmp_backend_ops *const vmp_backends[];

#endif
