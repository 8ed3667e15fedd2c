/* SPDX-License-Identifier: MIT */
/*
 * Parsers of libvirt replies for the libvirt backend (libvirt.c): domain XML and domain
 * statistics. They never trust the input: malformed XML or numbers give -EPROTO, and
 * statistics fields the hypervisor did not send stay invalid. They do not log.
 */
#ifndef VMP_BACKEND_LIBVIRT_PARSE_H
#define VMP_BACKEND_LIBVIRT_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "backend/backend.h"

/*
 * Fills the configuration part of vi (vCPUs current/max, memory current/max, balloon
 * present, stats period, the vmpilot mode and workload profile in its <metadata>) from a
 * domain's XML.
 * Needs <vcpu> (1..VMP_VCPU_MAX) and <memory>; units KiB (default), k, MiB or GiB.
 * Returns 0, or -EPROTO (vi may be partly written).
 */
int vmp_libvirt_parse_domain_xml(const char *xml, struct vmp_vm_info *vi);

/*
 * Adds the statistics in params (a virDomainStatsRecord's, e.g. "cpu.time",
 * "balloon.current", "vcpu.0.time", "block.1.rd.bytes") to st, setting the
 * VMP_STAT_* bits of what was present. Unknown, negative or non-numeric fields are
 * ignored. st must be zeroed by the caller.
 */
void vmp_libvirt_parse_stats(const virTypedParameter *params, int nparams,
			     struct vmp_vm_stats *st);

/* One <disk> of a domain, as a migration must treat it. */
struct vmp_libvirt_disk {
	char target[32];           /* target dev, e.g. "vda" ("?" when absent) */
	char source[1024];         /* file, dev, dir or network name; "" = no medium */
	bool network;              /* type='network' (rbd, iscsi, nbd...): shared by nature */
	bool readonly;             /* <readonly/>, or an empty cdrom/floppy */
	bool shareable;            /* <shareable/>: the operator says it is shared */
};

/*
 * The disks of a domain's XML in *ret_disks (a new array, caller frees) and *ret_n.
 * Returns 0 or -EPROTO for XML that does not parse. Does not log.
 */
int vmp_libvirt_parse_disks(const char *xml, struct vmp_libvirt_disk **ret_disks, size_t *ret_n);

/*
 * Whether a live migration must copy disk d unless its source is on storage the
 * destination shares: a writable, non-shareable disk with a local medium. Network disks,
 * read-only media and shareable disks never need a copy.
 */
bool vmp_libvirt_disk_needs_copy(const struct vmp_libvirt_disk *d);

/*
 * The virDomainMigrate3() flags of a live migration: LIVE; a persistent domain stays
 * persistent at the destination and is undefined at the source (PERSIST_DEST |
 * UNDEFINE_SOURCE: never defined on two hosts), a transient one stays transient;
 * NON_SHARED_DISK when disks must be copied; AUTO_CONVERGE, POSTCOPY and TLS as mp asks.
 */
unsigned long vmp_libvirt_migrate_flags(bool persistent, bool copy_disks,
					const struct vmp_migrate_params *mp);

/* A numeric typed parameter as uint64_t; false for negative or non-numeric ones. */
bool vmp_libvirt_param_u64(const virTypedParameter *p, uint64_t *ret);

#endif
