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

/*
 * Counts the CPUs of a list as sysfs prints it (e.g. node cpulist files): surrounding
 * white space allowed, an empty list is 0 CPUs, ranges are not de-duplicated. Returns
 * 0 and *ret_count, or -EINVAL (malformed, or over 2^24 CPUs). Does not log.
 */
int vmp_cpulist_count(const char *s, unsigned *ret_count);

#endif
