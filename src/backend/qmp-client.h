/* SPDX-License-Identifier: MIT */
/*
 * A QMP (QEMU Machine Protocol) client: one connection to one QEMU monitor socket.
 * It reads the greeting, negotiates qmp_capabilities, executes commands with an absolute
 * deadline each, and queues the asynchronous events (BALLOON_CHANGE, MIGRATION,
 * DEVICE_DELETED, ...) that arrive while it waits for a reply. Replies are matched by
 * the "id" it sends, so a late reply to a timed-out command is never taken for the next
 * command's reply.
 *
 * Input from QEMU is untrusted: messages are split by vmp_qmp_reader (a JSON object
 * framer with a size limit) and parsed by jansson; anything malformed or oversized
 * breaks the connection with an error naming the socket and the message number.
 * Nothing here logs; errors come back as a negative errno and a message.
 */
#ifndef VMP_QMP_CLIENT_H
#define VMP_QMP_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest QMP message accepted (query-qmp-schema is ~200 KiB on QEMU 7.2). */
#define VMP_QMP_MSG_MAX_BYTES (4u * 1024 * 1024)
/* Events kept while nobody reads them; older ones are dropped beyond this. */
#define VMP_QMP_EVENTS_MAX 256

/*
 * The framer: bytes in, complete top-level JSON objects out. It tracks strings, escapes
 * and nesting (at most 128 levels) and never looks at a byte twice.
 */
struct vmp_qmp_reader {
	char *buf;
	size_t len, alloc;
	size_t scan;        /* bytes of buf already scanned */
	size_t start;       /* start of the current message, or SIZE_MAX before its '{' */
	unsigned depth;
	bool in_string, escape;
	size_t max_bytes;
	unsigned long count;  /* messages returned so far (for error positions) */
};

/* Initializes r with a message size limit (0 = VMP_QMP_MSG_MAX_BYTES). */
void vmp_qmp_reader_init(struct vmp_qmp_reader *r, size_t max_bytes);
void vmp_qmp_reader_clear(struct vmp_qmp_reader *r);
/* Appends received bytes. */
void vmp_qmp_reader_feed(struct vmp_qmp_reader *r, const void *data, size_t len);
/*
 * Takes the next complete message: returns 1 and *ret_msg (a JSON object, caller
 * decrefs), 0 when more bytes are needed, or a negative errno with *ret_err (caller
 * frees): -EMSGSIZE for a message over the limit, -EPROTO for malformed JSON or a
 * message that is not an object. After an error the stream cannot be resynchronized.
 */
int vmp_qmp_reader_next(struct vmp_qmp_reader *r, json_t **ret_msg, char **ret_err);
/* True if a message has started but not ended (for "EOF in the middle of a message"). */
bool vmp_qmp_reader_partial(const struct vmp_qmp_reader *r);

struct vmp_qmp;

/*
 * Connects to the QMP unix socket at path, reads the greeting and sends
 * qmp_capabilities, all before deadline_ms (CLOCK_MONOTONIC ms, vmp_monotonic_ms() of util/util.h).
 * Returns 0 and *ret_q, or a negative errno and *ret_err (caller frees).
 */
int vmp_qmp_connect(const char *path, int64_t deadline_ms, struct vmp_qmp **ret_q,
		    char **ret_err);
/* The same over an already connected stream socket (takes ownership of fd); label names
 * the peer in messages. */
int vmp_qmp_connect_fd(int fd, const char *label, int64_t deadline_ms,
		       struct vmp_qmp **ret_q, char **ret_err);
void vmp_qmp_close(struct vmp_qmp *q);    /* accepts NULL */

/*
 * Executes command with arguments args (a JSON object, or NULL; the reference is
 * stolen). Returns 0 and *ret_return (the "return" value, caller decrefs; ret_return may
 * be NULL), or a negative errno and *ret_err (caller frees):
 *   -EIO        QEMU replied with an error ("<class>: <desc>" in *ret_err); *ret_class
 *               (if not NULL) gets the class, caller frees
 *   -ETIMEDOUT  no reply before deadline_ms (the connection stays usable)
 *   -ECONNRESET QEMU closed the connection (also in the middle of a message)
 *   -EPROTO, -EMSGSIZE  malformed or oversized input; the connection is closed
 *   -ENOTCONN   the connection was already broken
 */
int vmp_qmp_execute(struct vmp_qmp *q, const char *command, json_t *args,
		    int64_t deadline_ms, json_t **ret_return, char **ret_err);

/* Like vmp_qmp_execute, and also returns the error class of an -EIO reply. */
int vmp_qmp_execute_class(struct vmp_qmp *q, const char *command, json_t *args,
			  int64_t deadline_ms, json_t **ret_return, char **ret_class,
			  char **ret_err);

/*
 * Takes the oldest queued event named name (or any event when name is NULL), waiting
 * for one until deadline_ms (a deadline in the past only checks the queue and the bytes
 * already received). Returns 1 and *ret_event (the whole event object, caller decrefs),
 * 0 on timeout, or a negative errno and *ret_err like vmp_qmp_execute.
 */
int vmp_qmp_wait_event(struct vmp_qmp *q, const char *name, int64_t deadline_ms,
		       json_t **ret_event, char **ret_err);

/*
 * Reads whatever QEMU sent meanwhile without waiting (events are queued) and tells
 * whether the connection still works: 0, or a negative errno with *ret_err when QEMU
 * closed it (e.g. it was restarted) or sent garbage.
 */
int vmp_qmp_check(struct vmp_qmp *q, char **ret_err);

/* Number of events queued. */
size_t vmp_qmp_events_pending(const struct vmp_qmp *q);
/* True until the connection broke (EOF, protocol error). */
bool vmp_qmp_connected(const struct vmp_qmp *q);
/* QEMU's version from the greeting, "7.2.0"; "" if unknown. */
const char *vmp_qmp_version(const struct vmp_qmp *q);
/* The PID of the QEMU process (SO_PEERCRED), or 0 when unknown. */
int vmp_qmp_peer_pid(const struct vmp_qmp *q);
/* The uid the peer process runs as (SO_PEERCRED), or -1 when unknown. */
long vmp_qmp_peer_uid(const struct vmp_qmp *q);

#endif
