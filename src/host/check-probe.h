/* SPDX-License-Identifier: MIT */
/*
 * Internal to src/host: the probe functions of the check table and the helpers they
 * share. Helpers read below ctx->root, record the path in ctx, and turn empty files
 * into -ENODATA so every probe treats "empty" like any other unreadable input.
 */
#ifndef VMP_HOST_CHECK_PROBE_H
#define VMP_HOST_CHECK_PROBE_H

#include "host/check.h"
#include "util/util.h"

#include <stdint.h>

/* Whole file; -ENODATA when it holds only white space. Records path. */
int ck_read(struct vmp_check_ctx *ctx, const char *path, char **ret_buf);
/* First line, stripped; -ENODATA when empty. */
int ck_read_line(struct vmp_check_ctx *ctx, const char *path, char **ret_line);
/* First line as a number / boolean (Y/N/1/0); -EINVAL on garbage. */
int ck_read_u64(struct vmp_check_ctx *ctx, const char *path, uint64_t *ret);
int ck_read_bool(struct vmp_check_ctx *ctx, const char *path, bool *ret);
/* "[selected] other" choice file; -EINVAL on garbage. */
int ck_read_choice(struct vmp_check_ctx *ctx, const char *path, char **ret_selected);
/*
 * Directory entries (without "." and ".."), sorted; free with ck_names_free.
 * Returns the count or a negative errno.
 */
int ck_list(struct vmp_check_ctx *ctx, const char *path, char ***ret_names);
void ck_names_free(char **names, int n);
/* true when path exists (any file type). Records path. */
bool ck_exists(struct vmp_check_ctx *ctx, const char *path);
/* Online NUMA node count from /sys/devices/system/node/online, or a negative errno. */
int ck_numa_nodes(struct vmp_check_ctx *ctx, unsigned *ret);
/* The cpuinfo flag list (first "flags" line), or a negative errno (-ENOENT: no flags line). */
int ck_cpu_flags(struct vmp_check_ctx *ctx, char **ret_flags);

/* Sets the result; fix may be NULL. */
void ck_set(struct vmp_check_result *r, enum vmp_check_status status, const char *fix,
	    const char *fmt, ...) VMP_PRINTF(4, 5);
/* UNKNOWN with a reason made of path and the negative errno err. */
void ck_unknown(struct vmp_check_result *r, const char *path, int err);

/* Appends to a growing sep-separated list (*list may be NULL at first). */
void ck_append(char **list, const char *sep, const char *fmt, ...) VMP_PRINTF(3, 4);

/* Probes, grouped by source file. */
void vmp_probe_cpu_virt(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_dev(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_module(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_caps(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_paging(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_vpid(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_apicv(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_nested(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_kvm_halt_poll(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_secure_guests(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_cpufreq(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_cpuidle(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_mitigations(struct vmp_check_ctx *ctx, struct vmp_check_result *r);

void vmp_probe_hugepages(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_thp(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_ksm(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_numa(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_numa_balancing(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_swap(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_dirty(struct vmp_check_ctx *ctx, struct vmp_check_result *r);

void vmp_probe_iommu(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_block(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_cgroups(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_vhost_net(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_vhost_vsock(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_tun(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
void vmp_probe_psi(struct vmp_check_ctx *ctx, struct vmp_check_result *r);
/* check-owner.c */
void vmp_probe_knob_owners(struct vmp_check_ctx *ctx, struct vmp_check_result *r);

#endif
