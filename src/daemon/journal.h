/* SPDX-License-Identifier: MIT */
/*
 * The decision journal: one JSON object per line for every action and every deliberate
 * non-action of the autopilot, with the decision's inputs (checks: value, limit,
 * crossed), the alternatives rejected and whether it was carried out. `vmpilot why VM`
 * reads it back. Format (one line, keys in this order):
 *
 *   {"time_ms": 1764140000000, "vm": "web1", "policy": "memory", "action": "shrink",
 *    "reason": "target", "resource": "memory_kib", "from": 8388608, "to": 6291456,
 *    "dry_run": false, "acted": true, "error": null,
 *    "checks": [{"name": "floor_kib", "value": 1153433, "limit": 8388608, "crossed": false}],
 *    "rejected": [{"alternative": "shrink to target", "value": 1258291,
 *                  "why": "larger than step limit"}]}
 */
#ifndef VMP_DAEMON_JOURNAL_H
#define VMP_DAEMON_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/decision.h"

struct vmp_journal_record {
	int64_t time_ms;            /* wall clock, Unix ms */
	const char *vm;             /* "" for host-wide decisions (KSM) */
	const char *policy;         /* "memory", "vcpus", "host_memory", "ksm", ... */
	const struct vmp_decision *decision;
	bool dry_run;
	bool acted;                 /* the action was carried out */
	const char *error;          /* why carrying it out failed, or NULL */
	/* Optional, written after the keys above when set: */
	const char *host;           /* the backend URI of the VM's host, or NULL */
	json_t *inputs;             /* what the policy saw (borrowed), or NULL */
};

/* Returns the record as one JSON line without the newline (caller frees). */
char *vmp_journal_format(const struct vmp_journal_record *r);

/* Appends the record and a newline to f and flushes. Returns 0 or -errno. */
int vmp_journal_append(FILE *f, const struct vmp_journal_record *r);

/*
 * Reads the journal at path and returns in *ret_entries (a new JSON array, caller
 * json_decref()s) the last `max` entries (0 = all) of VM vm (NULL = every VM), oldest
 * first. Returns 0, or a negative errno and *ret_err: "path:line: message" for a line
 * that is not a journal object (the file is untrusted input). Does not log.
 */
int vmp_journal_read(const char *path, const char *vm, size_t max, json_t **ret_entries,
		     char **ret_err);

/* Parses one journal line; returns the object (caller decrefs) or NULL and *ret_msg. */
json_t *vmp_journal_parse_line(const char *line, size_t len, char **ret_msg);

/* Prints an entry as a few readable lines ("why"), e.g. for `vmpilot why`. */
void vmp_journal_explain(const json_t *entry, FILE *out);

#endif
