/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot audit`: lint of each VM's configuration (libvirt domain XML, parsed with
 * libxml2) for performance mistakes. One table of rules (id, severity, reason); each
 * finding names the VM, what was found, and the exact XML that fixes it. Rules that
 * need the host (topology, KSM, housekeeping CPUs) read struct vmp_audit_host; the
 * cross-VM rule (KSM merging pages across tenants) runs in vmp_audit_finish().
 * Does not log; bad XML gives an error naming the source.
 */
#ifndef VMP_HOST_AUDIT_H
#define VMP_HOST_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum vmp_audit_severity {
	VMP_AUDIT_INFO,
	VMP_AUDIT_WARN,
	VMP_AUDIT_FAIL,
	VMP_AUDIT_SEVERITY_MAX,
};

struct vmp_audit_rule {
	const char *id;      /* e.g. "disk.bus" */
	enum vmp_audit_severity severity;
	const char *title;
	const char *reason;  /* why it costs performance (or safety) */
};

extern const struct vmp_audit_rule vmp_audit_rules[];
extern const size_t vmp_audit_rules_count;
const char *vmp_audit_severity_name(enum vmp_audit_severity s);

/* What the rules need to know about the host; 0 / false = unknown (rule skipped). */
struct vmp_audit_host {
	unsigned cpus;
	unsigned threads_per_core;
	unsigned numa_nodes;
	uint64_t node_mem_kib;     /* the smallest node's memory */
	bool ksm_known, ksm_on;
	char housekeeping[64];     /* CPU list kept for the host, e.g. "0" */
	uint64_t large_vm_kib;     /* a VM at least this big wants hugepages (default 16 GiB) */
};

/* Reads the host facts below root (NULL: this host). Never fails: unknown stays 0. */
void vmp_audit_host_read(const char *root, struct vmp_audit_host *ret);

struct vmp_audit_finding {
	const struct vmp_audit_rule *rule;
	char *vm;
	char *finding; /* what is configured now, one line */
	char *fix;     /* the XML to put in the domain (virsh edit VM) */
};

/* A VM's identity as the cross-VM rules need it. */
struct vmp_audit_vm {
	char *name;
	char *tenant;    /* <vmp:tenant> in the metadata, or NULL */
	char *profile;   /* <vmp:profile> in the metadata, or NULL */
	bool nosharepages;
};

struct vmp_audit_report {
	struct vmp_audit_finding *findings;
	size_t n_findings;
	struct vmp_audit_vm *vms;
	size_t n_vms;
	unsigned counts[VMP_AUDIT_SEVERITY_MAX];
};

/*
 * Lints one domain XML (source names it in errors, e.g. a file name or "vm 'web1'")
 * and adds its findings to rep. Returns 0, or -EINVAL with *ret_err ("SOURCE:LINE:
 * message" for XML that does not parse, "SOURCE: ..." for a domain without a name).
 */
int vmp_audit_domain(const char *xml, size_t len, const char *source,
		     const struct vmp_audit_host *host, struct vmp_audit_report *rep, char **ret_err);

/*
 * Adds the finding "profile.recommend" for vm (audited before) when recommended differs
 * from its <vmpilot:profile>; observed says what was seen (one line).
 */
void vmp_audit_profile_advice(struct vmp_audit_report *rep, const char *vm, const char *recommended,
			      const char *observed);

/* The rules across VMs (KSM merging across tenants). Call once after the last domain. */
void vmp_audit_finish(const struct vmp_audit_host *host, struct vmp_audit_report *rep);

void vmp_audit_report_clear(struct vmp_audit_report *rep);

/*
 * The I/O limits of a domain's disks (<iotune>): total_iops_sec (or read + write) and
 * total_bytes_sec (or read + write), summed over the disks; 0 = none. Returns 0 or
 * -EINVAL for XML that does not parse.
 */
int vmp_audit_iotune(const char *xml, size_t len, uint64_t *ret_iops, uint64_t *ret_bytes_s);

/*
 * The target names of a domain's disks (device='disk'), a new NULL-terminated array of
 * new strings (free each, then the array), and its <vmpilot:profile> (new, or NULL).
 * Returns the number of disks, or -EINVAL for XML that does not parse.
 */
int vmp_audit_disks_profile(const char *xml, size_t len, char ***ret_disks, char **ret_profile);

/* Text (one block per finding) and JSON (schema "vmpilot-audit/1"). */
void vmp_audit_report_print(const struct vmp_audit_report *rep, FILE *out);
json_t *vmp_audit_report_json(const struct vmp_audit_report *rep);

#endif
