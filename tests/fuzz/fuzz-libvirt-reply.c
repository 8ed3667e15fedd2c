/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the libvirt backend's reply parsers (libvirt-parse.h). The first
 * byte chooses: even = the input is a domain XML (sizes, metadata mode, disks); odd = the input is statistics, one
 * "name=value" per line, each value turned into a typed parameter (ullong, llong or
 * string by its form), as virConnectGetAllDomainStats would deliver them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/libvirt-parse.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_stats(char *text)
{
	virTypedParameterPtr params = NULL;
	struct vmp_vm_stats st;
	int n = 0, max = 0;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line && n < 512;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *end;
		long long v;

		if (!eq || eq == line || eq - line >= VIR_TYPED_PARAM_FIELD_LENGTH)
			continue;
		*eq = '\0';
		v = strtoll(eq + 1, &end, 10);
		if (*end != '\0' || end == eq + 1)
			virTypedParamsAddString(&params, &n, &max, line, eq + 1);
		else if (v < 0)
			virTypedParamsAddLLong(&params, &n, &max, line, v);
		else
			virTypedParamsAddULLong(&params, &n, &max, line, (unsigned long long)v);
	}
	memset(&st, 0, sizeof(st));
	vmp_libvirt_parse_stats(params, n, &st);
	if (st.nvcpus > VMP_VCPU_MAX)
		abort();
	virTypedParamsFree(params, n);
}

/* The disks of a domain XML: every string terminated, never a copy of a read-only one. */
static void
fuzz_disks(const char *text)
{
	struct vmp_libvirt_disk *d = NULL;
	size_t n = 0, i;

	if (vmp_libvirt_parse_disks(text, &d, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (memchr(d[i].source, '\0', sizeof(d[i].source)) == NULL ||
		    (d[i].readonly && vmp_libvirt_disk_needs_copy(&d[i])))
			abort();
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct vmp_vm_info vi;
	char *text;

	if (!initialised) {
		virInitialize();
		initialised = 1;
	}
	if (size < 1)
		return 0;
	text = xstrndup((const char *)data + 1, size - 1);
	if (data[0] % 2 == 0) {
		memset(&vi, 0, sizeof(vi));
		if (vmp_libvirt_parse_domain_xml(text, &vi) == 0 &&
		    (vi.vcpus_max == 0 || vi.vcpus_current > vi.vcpus_max ||
		     vi.vcpus_max > VMP_VCPU_MAX))
			abort(); /* accepted XML always gives a sane vCPU shape */
		if (vi.mode[sizeof(vi.mode) - 1] != '\0')
			abort();
		fuzz_disks(text);
	} else {
		fuzz_stats(text);
	}
	free(text);
	return 0;
}
