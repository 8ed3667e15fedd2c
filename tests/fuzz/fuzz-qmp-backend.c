/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what the QMP backend makes of QEMU's replies (src/backend/qmp.c:
 * the typed field reads of query-status, -balloon, -cpus-fast, -migrate, ...): a peer
 * thread on a real unix socket greets, then answers each command with the next line
 * of the input; the backend lists the VM, reads its stats and polls a migration. Any
 * reply must give a result or an error message, never a crash or a hang.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/vmp-fuzz-qmpb-XXXXXX";
static int lfd = -1;

struct peer {
	const uint8_t *data;
	size_t size;
};

static void
send_all(int fd, const void *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

static void *
peer_main(void *arg)
{
	static const char hello[] = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, "
				    "\"minor\": 2, \"micro\": 0}}, \"capabilities\": []}}\r\n";
	struct peer *p = arg;
	size_t off = 0;
	char buf[4096];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	send_all(fd, hello, sizeof(hello) - 1);
	/* qmp_capabilities */
	if (recv(fd, buf, sizeof(buf), 0) > 0)
		send_all(fd, "{\"return\": {}}\r\n", 16);
	while (off < p->size && recv(fd, buf, sizeof(buf), 0) > 0) {
		const uint8_t *nl = memchr(p->data + off, '\n', p->size - off);
		size_t len = nl ? (size_t)(nl - (p->data + off)) : p->size - off;

		send_all(fd, p->data + off, len);
		send_all(fd, "\n", 1);
		off += len + 1;
	}
	close(fd);
	return NULL;
}

/* The socket and its directory go when the fuzzer exits. */
static void
cleanup(void)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/vm1.sock", dir);
	unlink(p);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer p = { data, size };
	struct vmp_backend *b = NULL;
	struct vmp_vm_info *vms = NULL;
	struct vmp_vm_stats st;
	struct vmp_migrate_progress pr;
	char uri[64], *err = NULL;
	pthread_t t;
	int n;

	if (lfd < 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vm1.sock", dir);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd, 4) < 0)
			abort();
	}
	if (pthread_create(&t, NULL, peer_main, &p) != 0)
		abort();
	snprintf(uri, sizeof(uri), "qmp://%s", dir);
	if (vmp_backend_open(uri, 300, &b, &err) < 0)
		abort();
	n = vmp_backend_list_vms(b, &vms);
	if (n == 1 && vms[0].state == VMP_VM_UNKNOWN && !*vmp_backend_error(b))
		abort(); /* an unreadable VM always says why */
	free(vms);
	if (vmp_backend_vm_stats(b, "vm1", &st) < 0 && !*vmp_backend_error(b))
		abort();
	if (vmp_backend_migrate_poll(b, "vm1", &pr) < 0 && !*vmp_backend_error(b))
		abort();
	/* Closing drops the connection: the peer sees EOF and ends. */
	vmp_backend_close(b);
	pthread_join(t, NULL);
	return 0;
}
