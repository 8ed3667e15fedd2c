/* SPDX-License-Identifier: MIT */
/*
 * KSM (kernel same-page merging) tuning. The classic ksmtuned algorithm (boost the
 * pages scanned per wake-up by 300 while host free memory is below 20 %, decay by 50
 * otherwise, between 64 and 1250 pages; run only when the VMs' committed memory plus
 * the threshold exceeds host memory), and, where the kernel has
 * /sys/kernel/mm/ksm/advisor_mode, the kernel's own scan-time advisor instead. The
 * policy only decides: the caller says whether the advisor exists and writes sysfs.
 */
#ifndef VMP_CORE_KSM_H
#define VMP_CORE_KSM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/decision.h"

struct vmp_ksm_params {
	int npages_boost;            /* 300 */
	int npages_decay;            /* -50 */
	unsigned npages_min;         /* 64 */
	unsigned npages_max;         /* 1250 */
	unsigned thres_coef_pct;     /* 20: threshold = total × coef / 100 ... */
	uint64_t thres_const_kib;    /* ... but at least 2048 KiB */
	unsigned sleep_msec;         /* 10: scaled by 16 GiB / host memory, at least 10 */
	bool prefer_advisor;         /* use the kernel advisor when it exists */
	unsigned advisor_max_cpu_pct;/* 70 (kernel default) */
	unsigned advisor_target_scan_time_s; /* 200 (kernel default) */
};

void vmp_ksm_params_default(struct vmp_ksm_params *p);

struct vmp_ksm_input {
	uint64_t total_kib;          /* host MemTotal */
	uint64_t free_kib;           /* MemFree + Buffers + Cached, as ksmtuned reads it */
	uint64_t committed_kib;      /* sum of the VMs' resident memory */
	bool advisor_available;      /* /sys/kernel/mm/ksm/advisor_mode exists */
	unsigned npages_now;         /* current pages_to_scan */
};

struct vmp_ksm_setting {
	bool run;                    /* /sys/kernel/mm/ksm/run: 1 or 0 */
	bool use_advisor;            /* advisor_mode = scan-time (else none) */
	unsigned pages_to_scan;      /* when !use_advisor */
	unsigned sleep_millisecs;
	unsigned advisor_max_cpu_pct;
	unsigned advisor_target_scan_time_s;
};

/*
 * One ksmtuned monitor step. Fills *ret and d (resource "ksm_pages_to_scan").
 * Returns 0, or -EINVAL when total_kib is 0.
 */
int vmp_ksm_decide(const struct vmp_ksm_params *p, const struct vmp_ksm_input *in,
		   struct vmp_ksm_setting *ret, struct vmp_decision *d);

#endif
