/* SPDX-License-Identifier: MIT */
/*
 * The QMP client and backend against recorded transcripts (tests/data/qmp/README.md):
 * a peer thread serves each transcript on a real unix socket and checks what the client
 * sends; the tests assert what the backend makes of replies, error replies, events in
 * the middle of a reply, partial reads, EOF mid-message, malformed and oversized input,
 * timeouts and late replies. No QEMU needed (the real-QEMU tests are in
 * tests/integration). The peer is a stand-in for QEMU because these faults cannot be
 * produced on demand with a real one.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "backend/qmp-client.h"
#include "util/util.h"

struct peer {
	char path[256];
	char file[512];
	int lfd;
	pthread_t thread;
	bool ok;
	char err[512];
};

static char dir[] = "/tmp/vmp-qmp-unit-XXXXXX";

static void
nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static bool
send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads one line the client sent (5 s deadline). */
static char *
recv_line(int fd, char *buf, size_t *len, size_t size)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *len);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			char *line = strndup(buf, (size_t)(nl - buf));

			*len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, *len);
			return line;
		}
		if (poll(&pfd, 1, 5000) <= 0)
			return NULL;
		n = recv(fd, buf + *len, size - *len, 0);
		if (n <= 0)
			return NULL;
		*len += (size_t)n;
	}
}

static void peer_fail(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
peer_fail(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->ok = false;
}

/* A server message as text, with the id of the last command if it is a reply without one. */
static char *
server_text(struct peer *p, const char *json, const char *last_id, int lineno)
{
	json_error_t jerr;
	json_t *msg = json_loads(json, 0, &jerr);
	char *text;

	/* QEMU's 2^64-1 does not fit jansson: send such a line as it is (without an id, as
	 * QEMU does for a command sent without one). */
	if (!msg && strstr(jerr.text, "too big"))
		return strdup(json);
	if (!msg) {
		peer_fail(p, "%s:%d: bad S line: %s", p->file, lineno, jerr.text);
		return NULL;
	}
	if ((json_object_get(msg, "return") || json_object_get(msg, "error")) &&
	    !json_object_get(msg, "id") && last_id)
		json_object_set_new(msg, "id", json_string(last_id));
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	return text;
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	FILE *f = fopen(p->file, "r");
	char line[8192], buf[65536], last_id[64] = "";
	size_t len = 0;
	int fd, lineno = 0;

	p->ok = true;
	if (!f) {
		peer_fail(p, "cannot open '%s'", p->file);
		return NULL;
	}
	fd = accept(p->lfd, NULL, NULL);
	if (fd < 0) {
		peer_fail(p, "accept failed");
		fclose(f);
		return NULL;
	}
	while (p->ok && fgets(line, sizeof(line), f)) {
		char *rest = line + 2, *text = NULL;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		switch (line[0]) {
		case 'S':
			text = server_text(p, rest, last_id[0] ? last_id : NULL, lineno);
			if (text) {
				send_all(fd, text, strlen(text));
				send_all(fd, "\r\n", 2);
			}
			break;
		case 'T': {
			char *json = strchr(rest, ' ');
			size_t chunk = strtoul(rest, NULL, 10), off;

			text = json ? server_text(p, json + 1, last_id[0] ? last_id : NULL, lineno) : NULL;
			for (off = 0; text && off < strlen(text); off += chunk) {
				size_t n = strlen(text) - off < chunk ? strlen(text) - off : chunk;

				send_all(fd, text + off, n);
				nap_ms(2);
			}
			send_all(fd, "\r\n", 2);
			break;
		}
		case 'R':
			send_all(fd, rest, strlen(rest));
			send_all(fd, "\n", 1);
			break;
		case 'P':
			send_all(fd, rest, strlen(rest));
			break;
		case 'O': {
			size_t n = strtoul(rest, NULL, 10), chunk = 65536;
			char *big = malloc(chunk);

			memset(big, 'x', chunk);
			send_all(fd, "{\"return\": \"", 12);
			/* The client stops reading at its limit: stop once it does. */
			for (size_t sent = 0; sent < n; sent += chunk)
				if (!send_all(fd, big, chunk))
					break;
			free(big);
			break;
		}
		case 'W':
			nap_ms((unsigned)strtoul(rest, NULL, 10));
			break;
		case 'E':
			goto done;
		case 'C': {
			char *got = recv_line(fd, buf, &len, sizeof(buf));
			char name[128] = "", *args_text;
			json_t *req, *want, *args, *v;
			const char *key;

			sscanf(rest, "%127s", name);
			args_text = strchr(rest, ' ');
			if (!got) {
				peer_fail(p, "%s:%d: expected command '%s', got nothing", p->file, lineno,
					  name);
				break;
			}
			req = json_loads(got, 0, NULL);
			if (!req || !json_is_string(json_object_get(req, "execute")) ||
			    strcmp(json_string_value(json_object_get(req, "execute")), name)) {
				peer_fail(p, "%s:%d: expected command '%s', got '%s'", p->file, lineno,
					  name, got);
				json_decref(req);
				free(got);
				break;
			}
			snprintf(last_id, sizeof(last_id), "%s",
				 json_is_string(json_object_get(req, "id")) ?
				 json_string_value(json_object_get(req, "id")) : "");
			want = args_text ? json_loads(args_text + 1, 0, NULL) : NULL;
			args = json_object_get(req, "arguments");
			json_object_foreach(want, key, v) {
				if (!json_equal(json_object_get(args, key), v)) {
					peer_fail(p, "%s:%d: '%s' argument '%s' differs: got '%s'", p->file,
						  lineno, name, key, got);
					break;
				}
			}
			json_decref(want);
			json_decref(req);
			free(got);
			break;
		}
		default:
			peer_fail(p, "%s:%d: unknown line", p->file, lineno);
		}
		free(text);
	}
	/* Transcript done: wait for the client to hang up. */
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		while (p->ok && poll(&pfd, 1, 3000) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
			;
	}
done:
	close(fd);
	fclose(f);
	return NULL;
}

static void
peer_start(struct peer *p, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *data = getenv("VMP_TESTS_DIR");

	assert_non_null(data);
	snprintf(p->file, sizeof(p->file), "%s/data/qmp/%s.txt", data, name);
	snprintf(p->path, sizeof(p->path), "%s/vm1.sock", dir);
	unlink(p->path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	strcpy(sa.sun_path, p->path);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void
peer_finish(struct peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->lfd);
	unlink(p->path);
	if (!p->ok)
		fprintf(stderr, "peer: %s\n", p->err);
	assert_true(p->ok);
}

static struct vmp_backend *
open_b(unsigned timeout_ms)
{
	char uri[300], *err = NULL;
	struct vmp_backend *b = NULL;

	snprintf(uri, sizeof(uri), "qmp://%s", dir);
	assert_int_equal(vmp_backend_open(uri, timeout_ms, &b, &err), 0);
	assert_string_equal(vmp_backend_name(b), "qmp");
	return b;
}

static void
test_list(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_vm_info *vms = NULL;

	peer_start(&p, "list");
	b = open_b(2000);
	assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
	assert_string_equal(vms[0].name, "vm1");
	assert_string_equal(vms[0].uuid, "00000000-0000-0000-0000-000000000000");
	assert_int_equal(vms[0].state, VMP_VM_RUNNING);
	assert_int_equal(vms[0].vcpus_current, 1);
	assert_int_equal(vms[0].vcpus_max, 4);
	assert_int_equal(vms[0].memory_max_kib, 524288);
	assert_int_equal(vms[0].memory_current_kib, 262144);
	assert_true(vms[0].has_balloon);
	assert_int_equal(vms[0].stats_period_s, 0);
	free(vms);
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_vanish_in_list(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_vm_info *vms = NULL;

	peer_start(&p, "vanish-in-list");
	b = open_b(2000);
	/* Listed, as unknown: the list itself works. */
	assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
	assert_string_equal(vms[0].name, "vm1");
	assert_int_equal(vms[0].state, VMP_VM_UNKNOWN);
	free(vms);
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_stats(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_vm_stats s;

	peer_start(&p, "stats");
	b = open_b(2000);
	assert_int_equal(vmp_backend_vm_stats(b, "vm1", &s), 0);
	assert_true(s.valid & VMP_STAT_BALLOON_ACTUAL);
	assert_int_equal(s.balloon_actual_kib, 524288);
	assert_true(s.valid & VMP_STAT_MEM_AVAILABLE);
	assert_int_equal(s.mem_available_kib, 410963968 / 1024);
	assert_int_equal(s.mem_unused_kib, 380489728 / 1024);
	assert_int_equal(s.mem_usable_kib, 380764160 / 1024);
	assert_int_equal(s.mem_disk_caches_kib, 3309568 / 1024);
	assert_int_equal(s.minor_faults, 774);
	assert_true(s.valid & VMP_STAT_BLOCK);
	assert_int_equal(s.block_rd_bytes, 0);
	/* Second sample: no second qom-set; a -1 statistic is not valid. */
	assert_int_equal(vmp_backend_vm_stats(b, "vm1", &s), 0);
	assert_false(s.valid & VMP_STAT_MEM_AVAILABLE);
	assert_true(s.valid & VMP_STAT_MEM_UNUSED);
	assert_int_equal(s.block_rd_bytes, 4096);
	assert_int_equal(s.block_wr_ops, 2);
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_balloon_events(void **state)
{
	struct peer p;
	struct vmp_qmp *q = NULL;
	json_t *ret = NULL, *ev = NULL;
	char path[300], *err = NULL;

	/* The client directly, to see the queued events. */
	peer_start(&p, "balloon-events");
	snprintf(path, sizeof(path), "%s/vm1.sock", dir);
	assert_int_equal(vmp_qmp_connect(path, vmp_monotonic_ms() + 2000, &q, &err), 0);
	assert_string_equal(vmp_qmp_version(q), "7.2.22");
	assert_int_equal(vmp_qmp_execute(q, "balloon", json_pack("{s:I}", "value", 268435456),
					 vmp_monotonic_ms() + 2000, NULL, &err), 0);
	assert_int_equal(vmp_qmp_events_pending(q), 1);
	assert_int_equal(vmp_qmp_execute(q, "query-balloon", NULL, vmp_monotonic_ms() + 2000, &ret,
					 &err), 0);
	assert_int_equal(json_integer_value(json_object_get(ret, "actual")), 268435456);
	json_decref(ret);
	assert_int_equal(vmp_qmp_events_pending(q), 2);
	assert_int_equal(vmp_qmp_wait_event(q, "BALLOON_CHANGE", 0, &ev, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "data"), "actual")),
			 535822336);
	json_decref(ev);
	assert_int_equal(vmp_qmp_wait_event(q, "BALLOON_CHANGE", 0, &ev, &err), 1);
	json_decref(ev);
	/* None left: a deadline in the past returns at once. */
	assert_int_equal(vmp_qmp_wait_event(q, "BALLOON_CHANGE", 0, &ev, &err), 0);
	vmp_qmp_close(q);
	peer_finish(&p);
}

static void
test_balloon_error(void **state)
{
	struct peer p;
	struct vmp_backend *b;

	peer_start(&p, "balloon-error");
	b = open_b(2000);
	assert_int_equal(vmp_backend_set_balloon(b, "vm1", 262144), -ENODEV);
	assert_string_equal(vmp_backend_error(b), "cannot balloon vm 'vm1' to 262144 KiB: "
			    "No balloon device has been activated");
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_hotplug(void **state)
{
	struct peer p;
	struct vmp_backend *b;

	peer_start(&p, "hotplug");
	b = open_b(2000);
	assert_int_equal(vmp_backend_set_vcpus(b, "vm1", 3), 0);
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_unplug(void **state)
{
	struct peer p;
	struct vmp_backend *b;

	peer_start(&p, "unplug");
	b = open_b(2000);
	assert_int_equal(vmp_backend_set_vcpus(b, "vm1", 1), 0);
	vmp_backend_close(b);
	peer_finish(&p);

	peer_start(&p, "unplug-boot");
	b = open_b(2000);
	assert_int_equal(vmp_backend_set_vcpus(b, "vm1", 1), -EBUSY);
	assert_non_null(strstr(vmp_backend_error(b), "only 0 of its 2 vcpus were hot-added"));
	vmp_backend_close(b);
	peer_finish(&p);

	peer_start(&p, "unplug-refused");
	b = open_b(2000);
	assert_int_equal(vmp_backend_set_vcpus(b, "vm1", 1), -EBUSY);
	assert_non_null(strstr(vmp_backend_error(b), "guest refused to eject vcpu "
			       "'vmp-vcpu-0-0-1-0' (ACPI status 0x81)"));
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_migrate(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_migrate_params mp = {
		.migrate_uri = "tcp://127.0.0.1:4444", .max_downtime_ms = 300, .bandwidth_mibps = 100,
	};
	struct vmp_migrate_progress pr;

	peer_start(&p, "migrate");
	b = open_b(2000);
	assert_int_equal(vmp_backend_migrate_start(b, "vm1", &mp), 0);
	assert_int_equal(vmp_backend_migrate_poll(b, "vm1", &pr), 0);
	assert_int_equal(pr.state, VMP_MIGRATE_ACTIVE);
	assert_int_equal(pr.total_time_ms, 120);
	assert_int_equal(pr.downtime_ms, 300);  /* expected downtime while active */
	assert_int_equal(pr.remaining_bytes, 400000000);
	assert_int_equal(pr.dirty_rate_pages_s, 25);
	/* "completed" without its final numbers yet: still finishing. */
	assert_int_equal(vmp_backend_migrate_poll(b, "vm1", &pr), 0);
	assert_int_equal(pr.state, VMP_MIGRATE_ACTIVE);
	assert_int_equal(vmp_backend_migrate_poll(b, "vm1", &pr), 0);
	assert_int_equal(pr.state, VMP_MIGRATE_COMPLETED);
	assert_int_equal(pr.total_time_ms, 486);
	assert_int_equal(pr.downtime_ms, 38);
	assert_int_equal(pr.transferred_bytes, 109637678);
	assert_int_equal(vmp_backend_migrate_poll(b, "vm1", &pr), 0);
	assert_int_equal(pr.state, VMP_MIGRATE_FAILED);
	assert_non_null(strstr(vmp_backend_error(b), "Connection reset by peer"));
	/* Without a data URI the QMP backend cannot know where to send the state. */
	mp.migrate_uri = NULL;
	assert_int_equal(vmp_backend_migrate_start(b, "vm1", &mp), -EINVAL);
	vmp_backend_close(b);
	peer_finish(&p);
}

/*
 * Fields of the wrong type are errors naming the field, never zero: the reproduction
 * of issue 9 ({"status":5,"running":"yes","actual":-99999999999999999999} used to
 * read as a VM in state unknown with 0 KiB and good stats).
 */
static void
test_wrong_types(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats st;
	struct vmp_migrate_progress pr;

	peer_start(&p, "wrong-types");
	b = open_b(2000);
	assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
	assert_int_equal(vms[0].state, VMP_VM_UNKNOWN);
	assert_non_null(strstr(vmp_backend_error(b), "reply to 'query-status': field 'status' is 5, "
			       "not a string"));
	free(vms);
	assert_int_equal(vmp_backend_vm_stats(b, "vm1", &st), -EPROTO);
	printf("%s\n", vmp_backend_error(b));
	assert_non_null(strstr(vmp_backend_error(b), "reply to 'query-balloon': field 'actual' is "
			       "-1"));
	assert_non_null(strstr(vmp_backend_error(b), "not a non-negative integer"));
	assert_int_equal(vmp_backend_migrate_poll(b, "vm1", &pr), -EPROTO);
	assert_non_null(strstr(vmp_backend_error(b), "field 'status' is [\"active\"], not a string"));
	vmp_backend_close(b);
	peer_finish(&p);
}

/*
 * A migration right after a cancelled one: the backend waits while QEMU still says
 * "cancelling" (it refuses a new migration then), and a cancel returns only when QEMU
 * says "cancelled"; "cancelling" polls as still active.
 */
static void
test_migrate_after_cancel(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_migrate_params mp = { .migrate_uri = "tcp://127.0.0.1:4444" };
	struct vmp_migrate_progress pr;

	peer_start(&p, "migrate-cancel");
	b = open_b(3000);
	assert_int_equal(vmp_backend_migrate_start(b, "vm1", &mp), 0);
	assert_int_equal(vmp_backend_migrate_poll(b, "vm1", &pr), 0);
	assert_int_equal(pr.state, VMP_MIGRATE_ACTIVE);   /* "cancelling" is not over */
	assert_int_equal(vmp_backend_migrate_cancel(b, "vm1"), 0);
	vmp_backend_close(b);
	peer_finish(&p);
}

/*
 * Only sockets whose peer runs as root, as us or as a uid in qmp_peer_uids are VMs:
 * a QMP-speaking process of uid 65534 (a child that drops to nobody before listen(),
 * so SO_PEERCRED names nobody) is refused unless allowed; a symlink to a socket is not
 * listed nor followed.
 */
static void
test_peer_uid_and_symlink(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[300], link[300];
	struct vmp_backend *b;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats st;
	int lfd, status, round;
	pid_t child;

	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	snprintf(link, sizeof(link), "%s/link.sock", dir);
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* QMP as nobody: a greeting and an answer to every line, twice. */
		if (setgid(65534) < 0 || setuid(65534) < 0 || listen(lfd, 4) < 0)
			_exit(1);
		for (round = 0; round < 2; round++) {
			int fd = accept(lfd, NULL, NULL);
			char buf[4096];

			if (fd < 0)
				_exit(1);
			alarm(20); /* never outlives a failed test */
			const char *hello = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
			const char *ok = "{\"return\": {}}\r\n";

			send_all(fd, hello, strlen(hello));
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				send_all(fd, ok, strlen(ok));
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	nap_ms(200); /* the child listens (the client would get ECONNREFUSED before) */
	b = open_b(2000);
	assert_int_equal(vmp_backend_vm_stats(b, "nobody", &st), -EPERM);
	assert_non_null(strstr(vmp_backend_error(b), "peer runs as uid 65534"));
	/* Allowed by the configuration. */
	vmp_backend_set_peer_uids(b, "107, 65534");
	assert_int_not_equal(vmp_backend_vm_stats(b, "nobody", &st), -EPERM);
	vmp_backend_close(b);
	/* A symlink to the socket: not a VM of the directory, not followed. */
	assert_int_equal(symlink(path, link), 0);
	b = open_b(2000);
	vmp_backend_set_peer_uids(b, "65534");
	assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
	assert_string_equal(vms[0].name, "nobody");
	free(vms);
	assert_int_equal(vmp_backend_vm_stats(b, "link", &st), -ELOOP);
	vmp_backend_close(b);
	unlink(link);
	unlink(path);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
}

/* A peer that greets, then sends events without end and never answers. */
struct babbler {
	int lfd;
	bool endless_message;     /* one message that never ends, instead of events */
};

static void *
babble(void *arg)
{
	struct babbler *bb = arg;
	const char *hello = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
	const char *ev = "{\"event\": \"X\", \"data\": {}, \"timestamp\": {\"seconds\": 1, "
			 "\"microseconds\": 2}}\r\n";
	int64_t end = vmp_monotonic_ms() + 15000;
	int fd;

	while (vmp_monotonic_ms() < end) {
		struct pollfd pfd = { .fd = bb->lfd, .events = POLLIN };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept(bb->lfd, NULL, NULL);
		if (fd < 0)
			break;
		send_all(fd, hello, strlen(hello));
		if (bb->endless_message) {
			const char *head = "{\"event\": \"X\", \"data\": \"";

			send_all(fd, head, strlen(head));
		}
		while (vmp_monotonic_ms() < end &&
		       send_all(fd, bb->endless_message ? "aaaaaaaa" : ev,
				bb->endless_message ? 8 : strlen(ev)))
			nap_ms(1);
		close(fd);
	}
	return NULL;
}

/*
 * The deadline bounds an operation, not each call: against a peer that babbles events
 * (or one endless message) and never answers, `status --timeout 1s` style use (a
 * deadline for the whole run, then list + stats + stats) ends by that deadline; it
 * used to take a timeout per operation and per reconnect (9 s for 2 s, and 21-28 s
 * against an endless event line).
 */
static void
test_deadline_per_operation(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct babbler bb = { .lfd = -1 };
	struct vmp_backend *b;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats st;
	pthread_t t;
	int64_t t0, took;
	int round;

	for (round = 0; round < 2; round++) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vm1.sock", dir);
		unlink(sa.sun_path);
		bb.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(bb.lfd >= 0);
		assert_int_equal(bind(bb.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(bb.lfd, 8), 0);
		bb.endless_message = round == 1;
		assert_int_equal(pthread_create(&t, NULL, babble, &bb), 0);
		b = open_b(1000);
		t0 = vmp_monotonic_ms();
		vmp_backend_set_deadline(b, t0 + 1000);
		assert_int_equal(vmp_backend_list_vms(b, &vms), 1);
		assert_int_equal(vms[0].state, VMP_VM_UNKNOWN);
		free(vms);
		assert_true(vmp_backend_vm_stats(b, "vm1", &st) < 0);
		assert_true(vmp_backend_vm_stats(b, "vm1", &st) < 0);
		took = vmp_monotonic_ms() - t0;
		printf("%s: list + 2 x stats with a 1 s deadline: %lld ms (%s)\n",
		       round ? "endless message" : "endless events", (long long)took,
		       vmp_backend_error(b));
		/* The deadline plus scheduling slack; three timeouts would be 3 s. */
		assert_true(took < 2000);
		vmp_backend_close(b);
		shutdown(bb.lfd, SHUT_RDWR);
		close(bb.lfd);
		pthread_join(t, NULL);
		unlink(sa.sun_path);
	}
}

static void
test_dirty_rate(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	uint64_t rate = 0;

	peer_start(&p, "dirty-rate");
	b = open_b(2000);
	assert_int_equal(vmp_backend_dirty_rate(b, "vm1", 1000, &rate), 0);
	assert_int_equal(rate, 34);   /* the new result, not the previous one (3) */
	vmp_backend_close(b);
	peer_finish(&p);
}

/* A transcript that breaks the connection: the stats call fails with err and a message. */
static void
expect_stats_error(const char *name, int err, const char *msg)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_vm_stats s;

	peer_start(&p, name);
	b = open_b(2000);
	assert_int_equal(vmp_backend_vm_stats(b, "vm1", &s), err);
	if (!strstr(vmp_backend_error(b), msg))
		fprintf(stderr, "unexpected message: %s\n", vmp_backend_error(b));
	assert_non_null(strstr(vmp_backend_error(b), msg));
	assert_non_null(strstr(vmp_backend_error(b), "cannot get stats of vm 'vm1'"));
	vmp_backend_close(b);
	peer_finish(&p);
}

static void
test_eof_mid_message(void **state)
{
	expect_stats_error("eof-mid-message", -ECONNRESET,
			   "connection closed by QEMU in the middle of a message");
}

static void
test_malformed(void **state)
{
	expect_stats_error("malformed", -EPROTO, "message 3: malformed JSON");
	expect_stats_error("not-object", -EPROTO, "message 3: expected a JSON object");
}

static void
test_oversized(void **state)
{
	expect_stats_error("oversized", -EMSGSIZE, "longer than 4194304 bytes, refused");
}

static void
test_no_greeting(void **state)
{
	expect_stats_error("no-greeting", -EPROTO, "not a QMP greeting");
}

static void
test_late_reply(void **state)
{
	struct peer p;
	struct vmp_backend *b;
	struct vmp_vm_info *vms = NULL;
	struct vmp_qmp *q = NULL;
	json_t *ret = NULL;
	char path[300], *err = NULL;
	int64_t t0;

	peer_start(&p, "late-reply");
	snprintf(path, sizeof(path), "%s/vm1.sock", dir);
	assert_int_equal(vmp_qmp_connect(path, vmp_monotonic_ms() + 2000, &q, &err), 0);
	t0 = vmp_monotonic_ms();
	assert_int_equal(vmp_qmp_execute(q, "query-status", NULL, t0 + 300, &ret, &err), -ETIMEDOUT);
	assert_true(vmp_monotonic_ms() - t0 < 600);
	free(err);
	assert_true(vmp_qmp_connected(q));
	assert_int_equal(vmp_qmp_execute(q, "query-status", NULL, vmp_monotonic_ms() + 2000, &ret,
					 &err), 0);
	/* The second command's reply, not the late first one. */
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	json_decref(ret);
	vmp_qmp_close(q);
	peer_finish(&p);
	(void)b;
	(void)vms;
}

static void
test_split(void **state)
{
	struct peer p;
	struct vmp_qmp *q = NULL;
	json_t *ret = NULL;
	char path[300], *err = NULL;

	peer_start(&p, "split");
	snprintf(path, sizeof(path), "%s/vm1.sock", dir);
	assert_int_equal(vmp_qmp_connect(path, vmp_monotonic_ms() + 3000, &q, &err), 0);
	assert_int_equal(vmp_qmp_execute(q, "query-balloon", NULL, vmp_monotonic_ms() + 3000, &ret,
					 &err), 0);
	assert_int_equal(json_integer_value(json_object_get(ret, "actual")), 268435456);
	assert_string_equal(json_string_value(json_object_get(ret, "note")),
			    "a } and a \" and a { inside a string");
	assert_int_equal(vmp_qmp_events_pending(q), 1);
	json_decref(ret);
	vmp_qmp_close(q);
	peer_finish(&p);
}

static void
test_no_such_vm(void **state)
{
	struct vmp_backend *b = open_b(1000);
	struct vmp_vm_stats s;
	char *err = NULL;
	struct vmp_backend *b2 = NULL;

	assert_int_equal(vmp_backend_vm_stats(b, "absent", &s), -ENOENT);
	assert_non_null(strstr(vmp_backend_error(b), "cannot get stats of vm 'absent': no such vm"));
	assert_int_equal(vmp_backend_vm_stats(b, "../etc", &s), -EINVAL);
	assert_int_equal(vmp_backend_pin_vcpu(b, "absent", 0, "0-x"), -EINVAL);
	vmp_backend_close(b);
	assert_int_equal(vmp_backend_open("qmp:///nonexistent/dir", 1000, &b2, &err), -ENOENT);
	assert_non_null(strstr(err, "'/nonexistent/dir'"));
	free(err);
	err = NULL;
	assert_int_equal(vmp_backend_open("qmp://remotehost/dir", 1000, &b2, &err), -EINVAL);
	free(err);
}

static void
test_reader(void **state)
{
	struct vmp_qmp_reader r;
	json_t *msg = NULL;
	char *err = NULL;
	const char *two = " \r\n{\"a\": \"}{\\\"\"}{\"b\": [1, {\"c\": 2}]}\r\n";

	vmp_qmp_reader_init(&r, 64);
	/* Byte by byte: two messages come out, each exactly once. */
	for (size_t i = 0, got = 0; two[i]; i++) {
		vmp_qmp_reader_feed(&r, two + i, 1);
		while (vmp_qmp_reader_next(&r, &msg, &err) == 1) {
			got++;
			if (got == 1)
				assert_string_equal(json_string_value(json_object_get(msg, "a")), "}{\"");
			else
				assert_non_null(json_object_get(msg, "b"));
			json_decref(msg);
		}
		if (!two[i + 1])
			assert_int_equal(got, 2);
	}
	assert_false(vmp_qmp_reader_partial(&r));
	vmp_qmp_reader_feed(&r, "{\"x\": \"", 7);
	assert_int_equal(vmp_qmp_reader_next(&r, &msg, &err), 0);
	assert_true(vmp_qmp_reader_partial(&r));
	for (int i = 0; i < 10; i++)
		vmp_qmp_reader_feed(&r, "xxxxxxxxxx", 10);
	assert_int_equal(vmp_qmp_reader_next(&r, &msg, &err), -EMSGSIZE);
	free(err);
	vmp_qmp_reader_clear(&r);
	vmp_qmp_reader_feed(&r, "[[[[", 4);
	assert_int_equal(vmp_qmp_reader_next(&r, &msg, &err), -EPROTO);
	free(err);
	vmp_qmp_reader_clear(&r);
	free(r.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_vanish_in_list),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_balloon_events),
		cmocka_unit_test(test_balloon_error),
		cmocka_unit_test(test_hotplug),
		cmocka_unit_test(test_unplug),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_migrate_after_cancel),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_peer_uid_and_symlink),
		cmocka_unit_test(test_deadline_per_operation),
		cmocka_unit_test(test_dirty_rate),
		cmocka_unit_test(test_eof_mid_message),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_no_greeting),
		cmocka_unit_test(test_late_reply),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_no_such_vm),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return r;
}
