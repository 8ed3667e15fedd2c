/* SPDX-License-Identifier: MIT */
/* A QMP client over a unix stream socket: framing, handshake, commands, events (qmp-client.h). */
#include "build-config.h"
#include "backend/qmp-client.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QMP_DEPTH_MAX 128

struct vmp_qmp {
	int fd;
	char *label;
	struct vmp_qmp_reader rd;
	json_t *events;          /* array of event objects, oldest first */
	unsigned long next_id;
	char version[32];
	int peer_pid;
	long peer_uid;           /* -1 = unknown */
	bool broken;
};

void
vmp_qmp_reader_init(struct vmp_qmp_reader *r, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->start = SIZE_MAX;
	r->max_bytes = max_bytes ? max_bytes : VMP_QMP_MSG_MAX_BYTES;
}

void
vmp_qmp_reader_clear(struct vmp_qmp_reader *r)
{
	free(r->buf);
	vmp_qmp_reader_init(r, r->max_bytes);
}

void
vmp_qmp_reader_feed(struct vmp_qmp_reader *r, const void *data, size_t len)
{
	if (!len)
		return;
	xgrow((void **)&r->buf, &r->alloc, r->len + len + 1, 1);
	memcpy(r->buf + r->len, data, len);
	r->len += len;
}

bool
vmp_qmp_reader_partial(const struct vmp_qmp_reader *r)
{
	return r->start != SIZE_MAX;
}

/* Drops the first n bytes of the buffer. */
static void
reader_consume(struct vmp_qmp_reader *r, size_t n)
{
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
	r->scan = 0;
}

int
vmp_qmp_reader_next(struct vmp_qmp_reader *r, json_t **ret_msg, char **ret_err)
{
	unsigned long msgno = r->count + 1;

	while (r->scan < r->len) {
		char c = r->buf[r->scan];

		if (r->start == SIZE_MAX) {
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
				r->scan++;
				continue;
			}
			if (c != '{') {
				*ret_err = xasprintf("message %lu: expected a JSON object, got byte 0x%02x",
						     msgno, (unsigned char)c);
				return -EPROTO;
			}
			/* Forget the white space before the message. */
			reader_consume(r, r->scan);
			r->start = 0;
			r->depth = 1;
			r->in_string = r->escape = false;
			r->scan = 1;
			continue;
		}
		r->scan++;
		if (r->scan > r->max_bytes) {
			*ret_err = xasprintf("message %lu: longer than %zu bytes, refused", msgno,
					     r->max_bytes);
			return -EMSGSIZE;
		}
		if (r->in_string) {
			if (r->escape)
				r->escape = false;
			else if (c == '\\')
				r->escape = true;
			else if (c == '"')
				r->in_string = false;
			continue;
		}
		if (c == '"') {
			r->in_string = true;
		} else if (c == '{' || c == '[') {
			if (++r->depth > QMP_DEPTH_MAX) {
				*ret_err = xasprintf("message %lu: nested deeper than %d levels",
						     msgno, QMP_DEPTH_MAX);
				return -EPROTO;
			}
		} else if (c == '}' || c == ']') {
			if (--r->depth == 0) {
				json_error_t jerr;
				size_t n = r->scan;
				json_t *msg = json_loadb(r->buf, n, JSON_REJECT_DUPLICATES, &jerr);

				/*
				 * QEMU prints unsigned 64-bit values, e.g. 18446744073709551615 for
				 * a balloon statistic the guest never sent, which jansson's int64
				 * cannot hold: such a message is decoded with every integer as a
				 * double instead (callers accept both).
				 */
				if (!msg && strstr(jerr.text, "too big"))
					msg = json_loadb(r->buf, n, JSON_REJECT_DUPLICATES |
							 JSON_DECODE_INT_AS_REAL, &jerr);

				reader_consume(r, n);
				r->start = SIZE_MAX;
				r->count++;
				if (!msg) {
					*ret_err = xasprintf("message %lu: malformed JSON at byte %d: %s",
							     msgno, jerr.position, jerr.text);
					return -EPROTO;
				}
				if (!json_is_object(msg)) {
					json_decref(msg);
					*ret_err = xasprintf("message %lu: not a JSON object", msgno);
					return -EPROTO;
				}
				*ret_msg = msg;
				return 1;
			}
		}
	}
	if (r->start == SIZE_MAX) {
		/* Only white space so far: nothing to keep. */
		r->len = 0;
		r->scan = 0;
	}
	return 0;
}

static void
qmp_break(struct vmp_qmp *q)
{
	q->broken = true;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

/* Waits for input until deadline_ms and feeds it to the reader. Returns 1 (got bytes),
 * 0 (deadline passed) or a negative errno (connection broken). */
static int
read_some(struct vmp_qmp *q, int64_t deadline_ms, char **ret_err)
{
	char buf[65536];
	int64_t left = deadline_ms - vmp_monotonic_ms();
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&pfd, 1, left > 0 ? (int)(left > 60000 ? 60000 : left) : 0);
	if (r < 0) {
		if (errno == EINTR)
			return 1;   /* the caller loops and re-checks its deadline */
		r = -errno;
		*ret_err = xasprintf("qmp '%s': cannot wait for input: %s", q->label, strerror(-r));
		qmp_break(q);
		return r;
	}
	if (r == 0)
		return vmp_monotonic_ms() >= deadline_ms ? 0 : 1;
	n = recv(q->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 1;
		r = -errno;
		*ret_err = xasprintf("qmp '%s': cannot read: %s", q->label, strerror(-r));
		qmp_break(q);
		return r;
	}
	if (n == 0) {
		*ret_err = xasprintf("qmp '%s': connection closed by QEMU%s", q->label,
				     vmp_qmp_reader_partial(&q->rd) ? " in the middle of a message" : "");
		qmp_break(q);
		return -ECONNRESET;
	}
	vmp_qmp_reader_feed(&q->rd, buf, (size_t)n);
	return 1;
}

/* Returns 1 and a message, 0 at the deadline, or a negative errno. */
static int
next_message(struct vmp_qmp *q, int64_t deadline_ms, json_t **ret_msg, char **ret_err)
{
	for (;;) {
		char *err = NULL;
		int r = vmp_qmp_reader_next(&q->rd, ret_msg, &err);

		if (r == 1)
			return 1;
		if (r < 0) {
			*ret_err = xasprintf("qmp '%s': %s", q->label, err);
			free(err);
			qmp_break(q);
			return r;
		}
		r = read_some(q, deadline_ms, ret_err);
		if (r <= 0)
			return r;
	}
}

static void
queue_event(struct vmp_qmp *q, json_t *ev)
{
	if (json_array_size(q->events) >= VMP_QMP_EVENTS_MAX)
		json_array_remove(q->events, 0);
	json_array_append_new(q->events, ev);
}

static int
send_all(struct vmp_qmp *q, const char *data, size_t len, int64_t deadline_ms, char **ret_err)
{
	size_t off = 0;

	while (off < len) {
		int64_t left = deadline_ms - vmp_monotonic_ms();
		struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
		ssize_t n;
		int r;

		if (left <= 0) {
			*ret_err = xasprintf("qmp '%s': timed out sending a command", q->label);
			/* Half a command on the wire: the stream is unusable. */
			qmp_break(q);
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, (int)left);
		if (r <= 0)
			continue;
		n = send(q->fd, data + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			r = -errno;
			*ret_err = xasprintf("qmp '%s': cannot send: %s", q->label, strerror(-r));
			qmp_break(q);
			return r == -EPIPE ? -ECONNRESET : r;
		}
		off += (size_t)n;
	}
	return 0;
}

int
vmp_qmp_execute_class(struct vmp_qmp *q, const char *command, json_t *args,
		      int64_t deadline_ms, json_t **ret_return, char **ret_class, char **ret_err)
{
	char id[32], *text;
	json_t *req;
	int r;

	if (q->broken) {
		json_decref(args);
		*ret_err = xasprintf("qmp '%s': not connected", q->label);
		return -ENOTCONN;
	}
	snprintf(id, sizeof(id), "vmp-%lu", ++q->next_id);
	req = json_pack("{s:s, s:s}", "execute", command, "id", id);
	if (args)
		json_object_set_new(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		abort();
	{
		char *line = xasprintf("%s\n", text);

		free(text);
		r = send_all(q, line, strlen(line), deadline_ms, ret_err);
		free(line);
	}
	if (r < 0)
		return r;
	for (;;) {
		json_t *msg = NULL, *val, *msg_id;

		r = next_message(q, deadline_ms, &msg, ret_err);
		if (r == 0) {
			*ret_err = xasprintf("qmp '%s': no reply to '%s' in time", q->label, command);
			return -ETIMEDOUT;
		}
		if (r < 0)
			return r;
		if (json_object_get(msg, "event")) {
			queue_event(q, msg);
			continue;
		}
		msg_id = json_object_get(msg, "id");
		if (msg_id && (!json_is_string(msg_id) || strcmp(json_string_value(msg_id), id))) {
			/* A late reply to an earlier command that timed out. */
			json_decref(msg);
			continue;
		}
		val = json_object_get(msg, "return");
		if (val) {
			if (ret_return)
				*ret_return = json_incref(val);
			json_decref(msg);
			return 0;
		}
		val = json_object_get(msg, "error");
		if (val) {
			const char *cls = json_string_value(json_object_get(val, "class"));
			const char *desc = json_string_value(json_object_get(val, "desc"));

			*ret_err = xstrdup(desc ? desc : "error without a description");
			if (ret_class)
				*ret_class = xstrdup(cls ? cls : "");
			json_decref(msg);
			return -EIO;
		}
		json_decref(msg);
		*ret_err = xasprintf("qmp '%s': unexpected message (neither reply nor event) "
				     "while waiting for '%s'", q->label, command);
		qmp_break(q);
		return -EPROTO;
	}
}

int
vmp_qmp_execute(struct vmp_qmp *q, const char *command, json_t *args, int64_t deadline_ms,
		json_t **ret_return, char **ret_err)
{
	return vmp_qmp_execute_class(q, command, args, deadline_ms, ret_return, NULL, ret_err);
}

static int
take_event(struct vmp_qmp *q, const char *name, json_t **ret_event)
{
	for (size_t i = 0; i < json_array_size(q->events); i++) {
		json_t *ev = json_array_get(q->events, i);
		const char *evname = json_string_value(json_object_get(ev, "event"));

		if (!name || (evname && !strcmp(evname, name))) {
			*ret_event = json_incref(ev);
			json_array_remove(q->events, i);
			return 1;
		}
	}
	return 0;
}

int
vmp_qmp_wait_event(struct vmp_qmp *q, const char *name, int64_t deadline_ms,
		   json_t **ret_event, char **ret_err)
{
	for (;;) {
		json_t *msg = NULL;
		int r;

		if (take_event(q, name, ret_event))
			return 1;
		if (q->broken) {
			*ret_err = xasprintf("qmp '%s': not connected", q->label);
			return -ENOTCONN;
		}
		r = next_message(q, deadline_ms, &msg, ret_err);
		if (r <= 0)
			return r;
		if (json_object_get(msg, "event"))
			queue_event(q, msg);
		else
			json_decref(msg);   /* a late reply nobody waits for */
	}
}

int
vmp_qmp_check(struct vmp_qmp *q, char **ret_err)
{
	json_t *ev = NULL;
	/* No event has this name: this only drains the socket, up to a deadline of now. */
	int r = vmp_qmp_wait_event(q, "\n", 0, &ev, ret_err);

	if (r == 1)
		json_decref(ev);
	return r < 0 ? r : 0;
}

size_t
vmp_qmp_events_pending(const struct vmp_qmp *q)
{
	return json_array_size(q->events);
}

bool
vmp_qmp_connected(const struct vmp_qmp *q)
{
	return !q->broken;
}

const char *
vmp_qmp_version(const struct vmp_qmp *q)
{
	return q->version;
}

int
vmp_qmp_peer_pid(const struct vmp_qmp *q)
{
	return q->peer_pid;
}

long
vmp_qmp_peer_uid(const struct vmp_qmp *q)
{
	return q->peer_uid;
}

void
vmp_qmp_close(struct vmp_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	vmp_qmp_reader_clear(&q->rd);
	json_decref(q->events);
	free(q->label);
	free(q);
}

int
vmp_qmp_connect_fd(int fd, const char *label, int64_t deadline_ms, struct vmp_qmp **ret_q,
		   char **ret_err)
{
	struct vmp_qmp *q = xcalloc(1, sizeof(*q));
	json_t *msg = NULL, *ver;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int r;

	q->fd = fd;
	q->label = xstrdup(label);
	q->events = json_array();
	vmp_qmp_reader_init(&q->rd, 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	q->peer_uid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		q->peer_pid = cred.pid;
		q->peer_uid = (long)cred.uid;
	}

	r = next_message(q, deadline_ms, &msg, ret_err);
	if (r == 0) {
		*ret_err = xasprintf("qmp '%s': no greeting in time (is another client "
				     "connected?)", label);
		r = -ETIMEDOUT;
	}
	if (r < 0)
		goto out;
	if (!json_object_get(msg, "QMP")) {
		*ret_err = xasprintf("qmp '%s': the first message is not a QMP greeting", label);
		r = -EPROTO;
		goto out;
	}
	ver = json_object_get(json_object_get(json_object_get(msg, "QMP"), "version"), "qemu");
	if (json_is_object(ver))
		snprintf(q->version, sizeof(q->version), "%" JSON_INTEGER_FORMAT ".%"
			 JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(ver, "major")),
			 json_integer_value(json_object_get(ver, "minor")),
			 json_integer_value(json_object_get(ver, "micro")));
	{
		char *err = NULL;

		r = vmp_qmp_execute(q, "qmp_capabilities", NULL, deadline_ms, NULL, &err);
		if (r < 0) {
			*ret_err = r == -EIO ? xasprintf("qmp '%s': qmp_capabilities refused: %s",
							 label, err)
					     : xstrdup(err);
			free(err);
			goto out;
		}
	}
	r = 0;
out:
	json_decref(msg);
	if (r < 0) {
		vmp_qmp_close(q);
		return r;
	}
	*ret_q = q;
	return 0;
}

int
vmp_qmp_connect(const char *path, int64_t deadline_ms, struct vmp_qmp **ret_q, char **ret_err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*ret_err = xasprintf("qmp '%s': socket path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		*ret_err = xasprintf("qmp '%s': cannot create a socket: %s", path, strerror(-r));
		return r;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		*ret_err = xasprintf("cannot connect to qmp '%s': %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return vmp_qmp_connect_fd(fd, path, deadline_ms, ret_q, ret_err);
}
