/* SPDX-License-Identifier: MIT */
/*
 * Knob ownership: one table of the host knobs vmpilot may write (by class) and one
 * table of the other services that may write them (TuneD and its active profile,
 * ksmtuned, numad, irqbalance, kernel NUMA balancing, oVirt MOM/vdsm, Proxmox's
 * pvestatd), each detected below a root prefix as it really shows itself: a process
 * (/proc/PID/comm or cmdline), an active or enabled systemd unit, a pid file naming a
 * live process, TuneD's /etc/tuned/active_profile. `vmpilot check` reports two
 * writers on one knob; `vmpilot tune` and vmpilotd ask vmp_owner_find() before they
 * write and refuse a knob another active service owns. Does not log.
 */
#ifndef VMP_HOST_OWNER_H
#define VMP_HOST_OWNER_H

#include <stdbool.h>
#include <stddef.h>

/* The classes of knobs vmpilot may write (doc/tune.md lists who else writes each). */
enum vmp_knob {
	VMP_KNOB_KSM,             /* /sys/kernel/mm/ksm/ */
	VMP_KNOB_THP,             /* /sys/kernel/mm/transparent_hugepage/ */
	VMP_KNOB_SYSCTL_VM,       /* vm.* sysctls (swappiness, dirty writeback) */
	VMP_KNOB_SCHED,           /* kernel.sched_* sysctls */
	VMP_KNOB_NUMA_BALANCING,  /* kernel.numa_balancing */
	VMP_KNOB_NUMA_PLACEMENT,  /* where guest memory and vCPUs live (pinning, migration of pages) */
	VMP_KNOB_BLOCK_SCHEDULER, /* /sys/block/DEV/queue/scheduler */
	VMP_KNOB_BLOCK_READAHEAD, /* /sys/block/DEV/queue/read_ahead_kb */
	VMP_KNOB_CPU_GOVERNOR,    /* cpufreq scaling_governor */
	VMP_KNOB_IRQ_AFFINITY,    /* /proc/irq/ affinity masks */
	VMP_KNOB_BALLOON,         /* the balloon target of running VMs */
	VMP_KNOB_MAX,
};

/* Short stable id ("ksm", "thp", "sysctl.vm", ...) and what it covers. */
const char *vmp_knob_id(enum vmp_knob k);
const char *vmp_knob_title(enum vmp_knob k);
/* Which part of vmpilot writes knobs of this class (for messages and doc). */
const char *vmp_knob_vmpilot_writer(enum vmp_knob k);

struct vmp_service;

/* One detected service (active or only enabled). */
struct vmp_owner {
	const struct vmp_service *svc;
	bool active;         /* running now: it writes its knobs */
	bool enabled;        /* a systemd unit is enabled (it will run after a reboot) */
	bool knobs[VMP_KNOB_MAX]; /* the knobs it writes (TuneD: from its active profile) */
	char *evidence;      /* e.g. "process ksmtuned pid 812, unit ksmtuned.service enabled" */
	char *detail;        /* e.g. "profile 'virtual-host'", or NULL */
};

/* Every service of the table that shows itself below root (active or enabled). */
struct vmp_owner_scan {
	struct vmp_owner *owners;
	size_t n;
};

/* Scans root (NULL or "/" for this host). Never fails: an unreadable input is absence. */
void vmp_owner_scan(const char *root, struct vmp_owner_scan *ret);
void vmp_owner_scan_clear(struct vmp_owner_scan *s);

/* The first active service that owns knob k, or NULL (then vmpilot may write it). */
const struct vmp_owner *vmp_owner_find(const struct vmp_owner_scan *s, enum vmp_knob k);

/* "TuneD", "ksmtuned", ...; its id ("tuned", "ksmtuned", ...). */
const char *vmp_owner_name(const struct vmp_owner *o);
const char *vmp_owner_service_id(const struct vmp_owner *o);
/* The command(s) that hand the knob over to vmpilot. */
const char *vmp_owner_handover(const struct vmp_owner *o);

/*
 * The message for a refused write, e.g. "ksm is owned by ksmtuned (process ksmtuned,
 * pid 812): hand it over with 'systemctl disable --now ksmtuned'". Caller frees.
 */
char *vmp_owner_refusal(const struct vmp_owner *o, enum vmp_knob k);

/* Number of services in the table and the id of the i-th (for docs and tests). */
size_t vmp_owner_services_count(void);
const char *vmp_owner_service_id_at(size_t i);

#endif
