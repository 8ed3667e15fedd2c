/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the reader of a VM's saved learned state (src/daemon/state.c,
 * vmp_state_vm_from_json): the state database is a file on disk that can be damaged,
 * so any text is either a state that saves back to an equal one, or refused with a
 * message naming the field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmp_config cfg;
	static bool init;
	struct vmp_mem_params mp;
	struct vmp_cpu_params cp;
	struct vmp_mem_state m, m2;
	struct vmp_cpu_state c, c2;
	char *err = NULL;
	json_t *j, *back;

	if (!init) {
		vmp_config_init(&cfg);
		init = true;
	}
	vmp_config_mem_params(&cfg, &mp);
	vmp_config_cpu_params(&cfg, &cp);
	j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	if (vmp_state_vm_from_json(j, &mp, &cp, 1000, &m, &c, &err) < 0) {
		if (!err)
			abort();
		free(err);
		json_decref(j);
		return 0;
	}
	/* What was accepted saves and reads back to the same histograms. */
	back = vmp_state_vm_to_json(&m, &c, 1000);
	if (vmp_state_vm_from_json(back, &mp, &cp, 1000, &m2, &c2, &err) < 0)
		abort();
	if (memcmp(m.model.hist.w, m2.model.hist.w, sizeof(m.model.hist.w)) ||
	    m.model.samples != m2.model.samples || c.model.samples != c2.model.samples)
		abort();
	json_decref(back);
	json_decref(j);
	return 0;
}
