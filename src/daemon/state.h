/* SPDX-License-Identifier: MIT */
/*
 * The daemon's state that survives restarts, in one SQLite database (state_db, by default
 * /var/lib/vmpilot/state.db; WAL mode, mode 0640, a regular file only): each VM's
 * learned memory and CPU histories and bounds, each host's action budget, the
 * migrations in flight, and a history of per-VM and per-host samples downsampled in
 * tiers (10 s for a day, 5 min for 30 days, 1 h for a year). The runner saves after
 * every cycle in one transaction and restores once before the first cycle, so a daemon
 * killed at any point continues from its last completed cycle. Times are stored as Unix
 * ms and turned back into the loop's CLOCK_MONOTONIC ms on restore. The core structs
 * are serialised here (as JSON text in the database), never in src/core.
 * doc/design/state.md has the schema.
 *
 * Thread safety: one struct vmp_state per thread. The loop's thread writes through the
 * one opened with vmp_state_open(); the API reads the history through its own,
 * opened with vmp_state_open_reader() (WAL lets readers run beside the writer).
 * Nothing here logs: errors come back as messages naming the file.
 */
#ifndef VMP_DAEMON_STATE_H
#define VMP_DAEMON_STATE_H

#include <stdint.h>

#include <jansson.h>

#include "core/rightsize.h"
#include "daemon/loop.h"

/* The schema this build writes and reads (PRAGMA user_version). */
#define VMP_STATE_SCHEMA 1

struct vmp_state;

/*
 * Opens the database at path for writing, creating it (mode 0640) and its schema when
 * missing. Refuses a path that is not a regular file (a symlink, FIFO, directory) and a
 * database whose schema is newer than this build's. Returns 0 and *ret, or a negative
 * errno and *ret_err ("path: message", caller frees).
 */
int vmp_state_open(const char *path, struct vmp_state **ret, char **ret_err);
/* The same, read-only (for the API's thread). */
int vmp_state_open_reader(const char *path, struct vmp_state **ret, char **ret_err);
void vmp_state_close(struct vmp_state *s);   /* accepts NULL */

/*
 * Gives the loop what the database remembers about its hosts (matched by URI) and
 * their VMs: learned state, budgets, migrations in flight. A VM whose saved histogram
 * has another bucket layout than the configuration's starts afresh. Returns the
 * number of VMs restored, or a negative errno and *ret_err.
 */
int vmp_state_restore(struct vmp_state *s, struct vmp_loop *l, int64_t now_ms, int64_t wall_ms,
		      char **ret_err);

/*
 * Saves the loop after a cycle (one transaction): learned state of every VM it
 * remembers, budgets, migrations in flight, one history sample per sampled VM and per
 * host, and (every 100 saves) drops history past each tier's retention and VMs not
 * seen for 30 days. Returns 0, or a negative errno and *ret_err.
 */
int vmp_state_save(struct vmp_state *s, struct vmp_loop *l, int64_t now_ms, int64_t wall_ms,
		   char **ret_err);

/*
 * The history of VM vm of host (vm "" = the host itself) between from_ms and to_ms
 * (Unix ms), from the finest tier that still holds from_ms: a new object
 * {"host", "vm", "step_ms", "columns": [...], "points": [[t_ms, ...], ...]}.
 * Returns 0 or a negative errno and *ret_err.
 */
int vmp_state_history(struct vmp_state *s, const char *host, const char *vm, int64_t from_ms,
		      int64_t to_ms, json_t **ret, char **ret_err);

/*
 * The learned state of one VM as JSON (times shifted by +offset_ms, i.e. to Unix ms
 * when offset = wall − monotonic), and back. from_json checks every field (type, range,
 * bucket layout against the params) and shifts times by −offset_ms; on failure it
 * returns -EINVAL with *ret_err naming the field, and leaves *mem and *cpu untouched.
 */
json_t *vmp_state_vm_to_json(const struct vmp_mem_state *mem, const struct vmp_cpu_state *cpu,
			     int64_t offset_ms);
int vmp_state_vm_from_json(const json_t *o, const struct vmp_mem_params *mp,
			   const struct vmp_cpu_params *cp, int64_t offset_ms,
			   struct vmp_mem_state *mem, struct vmp_cpu_state *cpu, char **ret_err);

#endif
