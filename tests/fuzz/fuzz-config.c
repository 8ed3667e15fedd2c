/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration parser (src/daemon/config.c): any input either
 * parses into values inside every key's range, or fails with a "name:line:" message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmp_config c;
	char *err = NULL;
	size_t i;
	int r;

	vmp_config_init(&c);
	r = vmp_config_parse("fuzz.conf", (const char *)data, size, &c, &err);
	if (r == 0) {
		if (err || c.interval_ms < 1000 || c.host_critical_free_pct > c.host_pressure_free_pct ||
		    c.ksm_npages_min > c.ksm_npages_max || !c.journal || !*c.journal)
			abort();
		for (i = 0; i < c.nvms; i++)
			if (!c.vms[i].name || !*c.vms[i].name ||
			    (c.vms[i].limits.mem_max_kib &&
			     c.vms[i].limits.mem_min_kib > c.vms[i].limits.mem_max_kib))
				abort();
	} else {
		if (r != -EINVAL || !err || strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
		free(err);
	}
	vmp_config_release(&c);
	return 0;
}
