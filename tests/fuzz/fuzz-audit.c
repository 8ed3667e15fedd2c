/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for `vmpilot audit`'s domain XML handling (src/host/audit.c): any
 * input either audits (every finding has a rule, a VM and an XML fix) or fails with an
 * error that starts with the source name; never a crash, never a network fetch.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmp_audit_host h = { .cpus = 8, .threads_per_core = 2, .numa_nodes = 2,
				    .node_mem_kib = 1 << 20, .ksm_known = true, .ksm_on = true,
				    .housekeeping = "0", .large_vm_kib = 1 << 20 };
	struct vmp_audit_report rep = { 0 };
	char *err = NULL;
	size_t i;
	int r;

	r = vmp_audit_domain((const char *)data, size, "fuzz.xml", &h, &rep, &err);
	if (r == 0) {
		r = vmp_audit_domain((const char *)data, size, "fuzz.xml", &h, &rep, &err);
		if (r != 0)
			abort(); /* the same input must audit the same way twice */
		vmp_audit_finish(&h, &rep);
		for (i = 0; i < rep.n_findings; i++)
			if (!rep.findings[i].rule || !rep.findings[i].vm || !rep.findings[i].fix ||
			    rep.findings[i].fix[0] != '<' || !rep.findings[i].finding)
				abort();
	} else if (r != -EINVAL || !err || strncmp(err, "fuzz.xml", 8) != 0) {
		abort();
	}
	free(err);
	vmp_audit_report_clear(&rep);
	return 0;
}
