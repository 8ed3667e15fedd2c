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
 * present, stats period, the vmpilot mode in its <metadata>) from a domain's XML.
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

/* A numeric typed parameter as uint64_t; false for negative or non-numeric ones. */
bool vmp_libvirt_param_u64(const virTypedParameter *p, uint64_t *ret);

#endif
