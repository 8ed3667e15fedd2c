/* SPDX-License-Identifier: MIT */
/*
 * CPU lists in the kernel's list format ("0-3,8,10-11"), as users write them for vCPU
 * pinning, parsed into a bitmap of bytes (bit n of byte n/8 = CPU n, libvirt's cpumap
 * layout).
 */
#ifndef VMP_CPULIST_H
#define VMP_CPULIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses s into map (maplen bytes, cleared first). Every CPU must be below ncpus and
 * below maplen * 8. Returns the number of CPUs set (at least 1), -EINVAL for a
 * malformed list (empty, bad number, reversed range) or -ERANGE for a CPU out of
 * range. map is left cleared on failure. Does not log.
 */
int vmp_cpulist_parse(const char *s, unsigned ncpus, uint8_t *map, size_t maplen);

#endif
