/* SPDX-License-Identifier: MIT */
/*
 * The decision journal: one JSON object per line for every action and every deliberate
 * non-action of the autopilot, with the decision's inputs (checks: value, limit,
 * crossed), the alternatives rejected and whether it was carried out; and one line per
 * event (a fault, the journal itself failing and recovering). `vmpilot why VM` reads it
 * back. Decision lines (one line, keys in this order):
 *
 *   {"time_ms": 1764140000000, "vm": "web1", "policy": "memory", "action": "shrink",
 *    "reason": "target", "resource": "memory_kib", "from": 8388608, "to": 6291456,
 *    "dry_run": false, "acted": true, "error": null,
 *    "checks": [{"name": "floor_kib", "value": 1153433, "limit": 8388608, "crossed": false}],
 *    "rejected": [{"alternative": "shrink to target", "value": 1258291,
 *                  "why": "larger than step limit"}]}
 *
 * followed by "host", "inputs" and "intent": true when set. An action is written twice:
 * first its intent ("intent": true, "acted": false), made durable (fsync) before the
 * action is taken, then its outcome. Event lines:
 *
 *   {"time_ms": ..., "vm": "web1", "policy": "event", "event": "vm_gone",
 *    "message": "...", "host": "qmp:///run/vmpilot/qmp"}
 *
 * The writer (struct vmp_journal) writes each line with one write(2); a short write is
 * cut off again, so the file only ever holds whole lines. It rotates the file by size
 * (path -> path.1 -> ... -> path.KEEP) and keeps an index beside each file (path.idx:
 * one fixed-size record per line with a hash of the VM name, the line's offset and
 * length, so `why` answers for one VM without reading the whole file). The index is
 * derived data: a missing, short or stale index is rebuilt or caught up from the
 * journal, never trusted over it. doc/design/journal.md.
 */
#ifndef VMP_DAEMON_JOURNAL_H
#define VMP_DAEMON_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/decision.h"

/* Lines longer than this are refused by the writer and skipped by the reader. */
#define VMP_JOURNAL_LINE_MAX (64u * 1024)
/* Rotated files read back at most (path.1 ... path.N). */
#define VMP_JOURNAL_KEEP_MAX 1000

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
	const char *mode;           /* the VM's automation mode ("advise", "act"), or NULL */
	json_t *inputs;             /* what the policy saw (borrowed), or NULL */
	bool intent;                /* written before acting; the outcome line follows */
};

/* Something that happened rather than was decided: a fault, a recovery. */
struct vmp_journal_event {
	int64_t time_ms;
	const char *vm;             /* "" or NULL for the host or the daemon */
	const char *host;           /* the backend URI, or NULL */
	const char *event;          /* "vm_gone", "backend_error", "journal_failed", ... */
	const char *message;
};

/* Returns the record as one JSON line without the newline (caller frees). */
char *vmp_journal_format(const struct vmp_journal_record *r);

/* Returns the event as one JSON line without the newline (caller frees). */
char *vmp_journal_format_event(const struct vmp_journal_event *e);

/*
 * Appends the record and a newline to f and flushes: for writers of plain files that
 * need none of struct vmp_journal's guarantees (replay's what-if journal). Returns 0 or
 * -errno.
 */
int vmp_journal_append(FILE *f, const struct vmp_journal_record *r);

/* Size-based rotation: 0 max_bytes = never rotate; keep = rotated files kept (>= 1). */
struct vmp_journal_limits {
	uint64_t max_bytes;
	unsigned keep;
};

struct vmp_journal;

/*
 * Opens (creating it with mode 0640) the journal at path for appending, with its index
 * path.idx: regular files only, no symlinks. A torn last line left by a crash is
 * terminated; the index is caught up with the journal. Returns 0 and *ret_j, or a
 * negative errno and *ret_err (caller frees). Does not log.
 */
int vmp_journal_open(const char *path, const struct vmp_journal_limits *lim,
		     struct vmp_journal **ret_j, char **ret_err);
/* A journal on an fd the caller keeps (stdout, a test's tmpfile): no rotation, no index. */
struct vmp_journal *vmp_journal_open_fd(int fd);
/* Closes the files (not a borrowed fd); accepts NULL. */
void vmp_journal_close(struct vmp_journal *j);
/* The path it writes ("-" for an fd). */
const char *vmp_journal_path(const struct vmp_journal *j);

/*
 * Writes one record (or event) as a whole line with a single write(2), rotating first
 * when the line would take the file past max_bytes. Returns 0, or a negative errno
 * when the line is not in the file (nothing of it is: a partial write is cut off).
 * The line is durable only after vmp_journal_sync(). Does not log.
 */
int vmp_journal_write(struct vmp_journal *j, const struct vmp_journal_record *r);
int vmp_journal_write_event(struct vmp_journal *j, const struct vmp_journal_event *e);
/*
 * Whether the journal's file system has room for a few more lines (two of the largest);
 * -ENOSPC when not. A line that fits the last block of a full disk is no sign that
 * writing works again.
 */
int vmp_journal_room(struct vmp_journal *j);
/* fsync(2)s the journal. Returns 0 or a negative errno. */
int vmp_journal_sync(struct vmp_journal *j);
/*
 * A message about a problem that did not lose a line (a failed rotation, an index that
 * could not be written), once; NULL when there is none. Caller frees.
 */
char *vmp_journal_take_warning(struct vmp_journal *j);

/* What to read back. */
struct vmp_journal_query {
	const char *vm;             /* NULL = every VM */
	size_t max;                 /* the newest max entries; 0 = all */
	bool all;                   /* also steady non-actions and intents whose outcome follows */
	bool rotated;               /* also path.1, path.2, ... (older) */
	/* Called for each skipped line ("path:line: message"); may be NULL. */
	void (*warn)(void *opaque, const char *msg);
	void *opaque;
};

/*
 * Reads the journal at path (and with q->rotated its rotated files), using each file's
 * index where it is valid, and returns in *ret_entries (a new JSON array, caller
 * json_decref()s) the newest q->max matching entries, oldest first. A line that is not
 * a journal object or longer than VMP_JOURNAL_LINE_MAX is skipped and reported through
 * q->warn; only a journal that cannot be opened or read is an error (negative errno and
 * *ret_err). Does not log.
 */
int vmp_journal_query(const char *path, const struct vmp_journal_query *q,
		      json_t **ret_entries, char **ret_err);

/* Parses one journal line; returns the object (caller decrefs) or NULL and *ret_msg. */
json_t *vmp_journal_parse_line(const char *line, size_t len, char **ret_msg);

/*
 * Whether an entry is worth showing by default: an action, a refusal, an event; not a
 * steady or learning non-action.
 */
bool vmp_journal_interesting(const json_t *entry);

/*
 * Prints an entry as a few readable lines ("why"), e.g. for `vmpilot why`; control
 * characters from the journal are not passed to the terminal.
 */
void vmp_journal_explain(const json_t *entry, FILE *out);

#endif
