/* SPDX-License-Identifier: MIT */
/*
 * Loading per-VM CSV traces (Bitbrains layout) for `vmpilot replay`: each file becomes
 * one struct vmp_replay_vm on its own time axis (row k = step k after the VM's first
 * row), with gaps in the timestamps filled by "VM off" rows.
 */
#ifndef VMP_CLI_REPLAY_DATA_H
#define VMP_CLI_REPLAY_DATA_H

#include <stddef.h>

#include "core/replay.h"

struct vmp_replay_set {
	size_t nvms;
	struct vmp_replay_vm *vms;
	char **names;               /* file names, sorted */
	long long *start_s;         /* Unix time of each VM's first row */
};

/*
 * Reads every "*.csv" in dir (sorted by name; at most max_vms of them, 0 = all), with
 * step_s between rows. Returns 0 and *ret_set (free with vmp_replay_set_free), or a
 * negative errno and *ret_err (caller frees), e.g. "DIR/3.csv:7: timestamps go
 * backwards". Does not log.
 */
int vmp_replay_load_dir(const char *dir, size_t max_vms, long step_s,
			struct vmp_replay_set **ret_set, char **ret_err);
void vmp_replay_set_free(struct vmp_replay_set *s);   /* accepts NULL */

#endif
