/* SPDX-License-Identifier: MIT */
/*
 * The KSM knobs the autopilot owns (root/sys/kernel/mm/ksm: run, pages_to_scan,
 * sleep_millisecs and, where the kernel has it, advisor_mode, advisor_max_cpu,
 * advisor_target_scan_time): read them, apply a setting of the KSM policy
 * (core/ksm.h), and put back what was there before. root is a prefix ("/" or NULL
 * for the real host) so tests run on a fixture tree. Does not log.
 */
#ifndef VMP_HOST_KSM_H
#define VMP_HOST_KSM_H

#include <stdbool.h>

#include "core/ksm.h"

struct vmp_ksm_knobs {
	bool have_advisor;            /* advisor_mode exists */
	bool advisor_on;              /* advisor_mode is "scan-time" */
	unsigned run, pages_to_scan, sleep_millisecs;
	unsigned advisor_max_cpu, advisor_target_scan_time;
};

/* Reads the knobs. Returns 0, or -errno (-ENOENT: no KSM in this kernel). */
int vmp_ksm_read(const char *root, struct vmp_ksm_knobs *ret);

/*
 * Writes setting s, only the values that differ from now (*now, as read), in an
 * order the kernel accepts (the advisor off before pages_to_scan). Returns 0 or -errno
 * with the knob's path in *ret_path (caller frees; may be NULL).
 */
int vmp_ksm_apply(const char *root, const struct vmp_ksm_knobs *now,
		  const struct vmp_ksm_setting *s, char **ret_path);

/* Puts back saved (as read before the first apply). Returns 0 or the first -errno. */
int vmp_ksm_restore(const char *root, const struct vmp_ksm_knobs *saved);

#endif
