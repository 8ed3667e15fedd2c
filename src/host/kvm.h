/* SPDX-License-Identifier: MIT */
/*
 * Facts about /dev/kvm: whether it exists and opens, its API version and the
 * KVM_CHECK_EXTENSION capabilities that matter for VM performance.
 *
 * On the real root ("/") they come from ioctls on /dev/kvm. Under a fixture root a
 * device node cannot be checked into git, so ROOT/dev/kvm is a regular file standing
 * for the node and ROOT/dev/kvm.ioctl records the ioctl results as "key value" lines
 * (the format vmp_kvm_facts_format() writes; `vmpilot check --kvm-facts` prints it for
 * the live host). See doc/design/check.md.
 */
#ifndef VMP_HOST_KVM_H
#define VMP_HOST_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The KVM_CHECK_EXTENSION capabilities vmpilot records, in output order. */
enum vmp_kvm_cap {
	VMP_KVM_CAP_NR_VCPUS,        /* recommended vCPUs per VM */
	VMP_KVM_CAP_MAX_VCPUS,
	VMP_KVM_CAP_IRQFD,
	VMP_KVM_CAP_IOEVENTFD,
	VMP_KVM_CAP_DIRTY_LOG_RING,  /* ring size in bytes, 0 if absent */
	VMP_KVM_CAP_HALT_POLL,
	VMP_KVM_CAP_X86_DISABLE_EXITS,
	VMP_KVM_CAP_STEAL_TIME,      /* arm64/riscv; x86 reports steal time through CPUID */
	VMP_KVM_CAP_MAX,
};

/* "cap.max_vcpus" style key of a capability in the recorded file. */
const char *vmp_kvm_cap_key(enum vmp_kvm_cap cap);

struct vmp_kvm_facts {
	bool present;         /* the node (or, in a fixture, its stand-in file) exists */
	int open_errno;       /* 0 when open(O_RDWR) succeeded */
	int api_version;      /* KVM_GET_API_VERSION, -1 unknown */
	int64_t caps[VMP_KVM_CAP_MAX]; /* KVM_CHECK_EXTENSION result, -1 unknown */
	int cpuid_steal_time; /* x86 KVM_FEATURE_STEAL_TIME in KVM_GET_SUPPORTED_CPUID: 1, 0, -1 unknown */
	bool recorded;        /* facts came from ROOT/dev/kvm.ioctl, not from ioctls */
};

/*
 * Fills *ret. Returns 0 (also when /dev/kvm is absent or does not open: see present
 * and open_errno), or a negative errno when a fixture's recorded file is missing
 * (-ENOENT), unreadable, empty (-ENODATA) or garbage (-EINVAL). A root of NULL, "" or
 * "/" means the live host. Does not log.
 */
int vmp_kvm_facts_get(const char *root, struct vmp_kvm_facts *ret);

/* Writes facts in the recorded-file format (what ROOT/dev/kvm.ioctl holds). */
void vmp_kvm_facts_format(const struct vmp_kvm_facts *facts, FILE *out);

/*
 * Parses the recorded-file format into *ret (present is set to true). Returns 0, or
 * -EINVAL when a line is garbage, the open_errno line is missing, or an opened
 * device has no api_version line.
 */
int vmp_kvm_facts_parse(const char *buf, struct vmp_kvm_facts *ret);

#endif
