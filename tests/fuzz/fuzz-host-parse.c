/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the /proc and /sys parsers of `vmpilot check` (src/host/parse.h)
 * and the recorded /dev/kvm facts (src/host/kvm.h). The first byte picks the parser
 * ('a' cpuinfo flags, 'b' choice list, 'c' key-value, 'd' boolean, 'e' CPU list,
 * 'f' mounts, 'g' /proc/cgroups, 'h' PSI, 'i' /proc/swaps, 'j' kvm.ioctl); the rest is
 * the file. Besides crashes it checks each parser's promises about its result.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm.h"
#include "host/parse.h"
#include "util/cpulist.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(int which, const char *s)
{
	char *out = NULL;
	uint64_t u = 0;
	bool b;
	unsigned n = 0;
	size_t bad = 0, count = 0, i;
	struct vmp_mount *m = NULL;
	struct vmp_cgroup_subsys *cg = NULL;
	struct vmp_psi_line psi;
	struct vmp_kvm_facts kf;

	switch (which) {
	case 0:
		if (vmp_parse_cpuinfo_flags(s, &out) == 0) {
			if (strchr(out, '\n'))
				abort();
			(void)vmp_parse_has_word(out, "vmx");
		}
		break;
	case 1:
		if (vmp_parse_choice(s, &out) == 0 && (!*out || !strstr(s, out)))
			abort(); /* the selection is a non-empty word of the input */
		break;
	case 2:
		if (vmp_parse_kv(s, "MemTotal", &out) == 0 && (!*out || strchr(out, '\n')))
			abort();
		(void)vmp_parse_kv_u64(s, "api_version", &u);
		break;
	case 3:
		if (vmp_parse_bool(s, &b) == 0 && !strpbrk(s, "YyNn01"))
			abort(); /* only a Y/N/1/0 (in white space) is a boolean */
		break;
	case 4:
		if (vmp_cpulist_count(s, &n) == 0 && n > (1u << 24))
			abort();
		break;
	case 5:
		if (vmp_parse_mounts(s, &m, &count, &bad) == 0) {
			for (i = 0; i < count; i++)
				(void)vmp_mount_has_option(&m[i], "cpu");
			vmp_mounts_free(m, count);
		} else if (bad == 0) {
			abort(); /* an error names its line */
		}
		break;
	case 6:
		if (vmp_parse_proc_cgroups(s, &cg, &count, &bad) == 0) {
			for (i = 0; i < count; i++)
				if (strnlen(cg[i].name, sizeof(cg[i].name)) >= sizeof(cg[i].name))
					abort();
			free(cg);
		} else if (bad == 0) {
			abort();
		}
		break;
	case 7:
		if (vmp_parse_psi(s, "some", &psi) == 0 &&
		    (psi.avg10_pct < 0 || psi.avg10_pct > 100 || psi.avg300_pct > 100))
			abort();
		break;
	case 8:
		if (vmp_parse_swaps(s, &n, &u, &bad) < 0 && bad == 0)
			abort();
		break;
	default:
		if (vmp_kvm_facts_parse(s, &kf) == 0 &&
		    (!kf.present || kf.open_errno < 0 || (kf.open_errno == 0 && kf.api_version < -1)))
			abort();
		break;
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int which;

	if (size < 1)
		return 0;
	which = data[0] >= 'a' && data[0] <= 'j' ? data[0] - 'a' : data[0] % 10;
	s = xstrndup((const char *)data + 1, size - 1);
	fuzz_one(which, s);
	free(s);
	return 0;
}
