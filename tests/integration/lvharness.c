/* SPDX-License-Identifier: MIT */
/* Private libvirtd daemons for integration tests; see lvharness.h. */
#include "lvharness.h"
#include "guest.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#ifndef VMP_LVD_SCRIPT
#error "VMP_LVD_SCRIPT must name libvirtd-harness.sh"
#endif

#define MAX_DAEMONS 8

struct vmp_lvd {
	char dir[512];
	char uri[1100];
	char tcp_uri[128];
	char run_dir[600];
	unsigned port;
	pid_t guardian;
	int cmd_fd;      /* to the guardian */
	int reply_fd;    /* from the guardian */
};

/* Directories of running daemons, for the exit and signal paths. */
static char live_dirs[MAX_DAEMONS][512];
static bool handlers_installed;

/* Runs the script with args; returns its exit status (or -1). Output to stdout of
 * the script goes to out (may be NULL). Only async-signal-safe calls after fork. */
static int
run_script(char *const argv[], char *out, size_t outsize)
{
	int fds[2] = { -1, -1 }, st;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (out && pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out) {
			dup2(fds[1], STDOUT_FILENO);
			close(fds[0]);
			close(fds[1]);
		}
		execv(VMP_LVD_SCRIPT, argv);
		_exit(127);
	}
	if (out) {
		close(fds[1]);
		while (len + 1 < outsize && (n = read(fds[0], out + len, outsize - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = '\0';
		close(fds[0]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
stop_dir(const char *dir)
{
	char *argv[] = { VMP_LVD_SCRIPT, "stop", (char *)dir, NULL };

	run_script(argv, NULL, 0);
}

static void
stop_all(void)
{
	size_t i;

	for (i = 0; i < MAX_DAEMONS; i++)
		if (live_dirs[i][0])
			stop_dir(live_dirs[i]);
}

static void
on_fatal(int sig)
{
	stop_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE,
		SIGILL, SIGABRT, SIGALRM };
	size_t i;

	if (handlers_installed)
		return;
	handlers_installed = true;
	atexit(stop_all);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_fatal);
}

/* rm -rf path (a daemon's directory, after its processes are gone). */
static void
remove_tree(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/*
 * The guardian of one daemon: a child process that is the daemon's parent (a child
 * subreaper, so libvirtd, virtlogd and every QEMU re-parent to it and are reaped at
 * once: libvirt waits for its probe QEMUs to disappear, which zombies never do). It
 * runs the harness script on request over a pipe ('s' start, 'r' restart, 'x' stop;
 * it answers the exit status) and stops the daemon by itself when the test dies (EOF
 * on the pipe) or after lifetime_s.
 */
static void
guardian_main(int cmd_fd, int reply_fd, char *const start_argv[], const char *dir,
	      unsigned lifetime_s)
{
	int64_t deadline = (int64_t)time(NULL) + lifetime_s;
	char out[1024];
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != cmd_fd && fd != reply_fd)
			close(fd);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGINT, SIG_IGN);     /* a terminal's ^C: the test stops us via the pipe */
	for (;;) {
		struct pollfd pfd = { .fd = cmd_fd, .events = POLLIN };
		char c;
		int n, st;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if ((int64_t)time(NULL) > deadline) {
			fprintf(stderr, "lvharness: daemon in %s outlived %u s, stopping it\n", dir,
				lifetime_s);
			stop_dir(dir);
			_exit(0);
		}
		n = poll(&pfd, 1, 100);
		if (n <= 0)
			continue;
		if (read(cmd_fd, &c, 1) != 1) {
			/* The test is gone: stop everything it left, and its files (unless
			 * VMP_GUEST_KEEP asks to keep them for debugging). */
			stop_dir(dir);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			if (!getenv("VMP_GUEST_KEEP")) {
				char parent[512], *slash;

				remove_tree(dir);
				/* The test's base directory, once its last daemon is gone. */
				snprintf(parent, sizeof(parent), "%s", dir);
				slash = strrchr(parent, '/');
				if (slash && slash != parent) {
					*slash = '\0';
					rmdir(parent);
				}
			}
			_exit(0);
		}
		out[0] = '\0';
		if (c == 's') {
			st = run_script(start_argv, out, sizeof(out));
		} else if (c == 'r') {
			char *argv[] = { VMP_LVD_SCRIPT, "restart", (char *)dir, NULL };

			st = run_script(argv, NULL, 0);
		} else {
			stop_dir(dir);
			st = 0;
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		/* Reply: the status byte, then the script's output. */
		c = (char)st;
		if (write(reply_fd, &c, 1) != 1 || write(reply_fd, out, strlen(out) + 1) < 0)
			_exit(1);
	}
	_exit(0);
}

/* Sends one command to d's guardian; returns the script's exit status, output in out. */
static int
guardian_call(struct vmp_lvd *d, char cmd, char *out, size_t outsize)
{
	char st, buf[1024];
	size_t len = 0;
	ssize_t n;

	if (write(d->cmd_fd, &cmd, 1) != 1 || read(d->reply_fd, &st, 1) != 1)
		return -1;
	while (len + 1 < sizeof(buf) && (n = read(d->reply_fd, buf + len, 1)) == 1) {
		if (buf[len] == '\0')
			break;
		len++;
	}
	buf[len] = '\0';
	if (out)
		snprintf(out, outsize, "%s", buf);
	return (unsigned char)st;
}

static unsigned
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	unsigned port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int
vmp_lvd_start(const char *dir, const char *host, unsigned lifetime_s, struct vmp_lvd **ret)
{
	struct vmp_lvd *d = calloc(1, sizeof(*d));
	char portstr[16], out[1024];
	int to_g[2], from_g[2];
	size_t i, slot = MAX_DAEMONS;
	int st;

	if (!d)
		abort();
	install_handlers();
	for (i = 0; i < MAX_DAEMONS; i++)
		if (!live_dirs[i][0]) {
			slot = i;
			break;
		}
	d->port = free_port();
	if (slot == MAX_DAEMONS || d->port == 0 || pipe(to_g) < 0 || pipe(from_g) < 0) {
		fprintf(stderr, "lvharness: no daemon slot, free port or pipe\n");
		free(d);
		return -EAGAIN;
	}
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	snprintf(portstr, sizeof(portstr), "%u", d->port);
	/* Registered before starting, so a half-started daemon is stopped too. */
	snprintf(live_dirs[slot], sizeof(live_dirs[slot]), "%s", dir);
	fflush(NULL);
	d->guardian = fork();
	if (d->guardian == 0) {
		char *argv[] = { VMP_LVD_SCRIPT, "start", d->dir, (char *)host, portstr, NULL };

		close(to_g[1]);
		close(from_g[0]);
		guardian_main(to_g[0], from_g[1], argv, d->dir, lifetime_s ? lifetime_s : 300);
	}
	close(to_g[0]);
	close(from_g[1]);
	/*
	 * Not inherited by what the test starts later (vmpilot agents...): the guardian
	 * exits when its command pipe reaches EOF, so stopping one daemon while they run
	 * must not wait for them.
	 */
	fcntl(to_g[1], F_SETFD, FD_CLOEXEC);
	fcntl(from_g[0], F_SETFD, FD_CLOEXEC);
	d->cmd_fd = to_g[1];
	d->reply_fd = from_g[0];
	st = d->guardian > 0 ? guardian_call(d, 's', out, sizeof(out)) : -1;
	if (st != 0) {
		fprintf(stderr, "lvharness: cannot start libvirtd in %s (exit %d)\n", dir, st);
		vmp_lvd_stop(d);
		return -EIO;
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(d->uri, sizeof(d->uri), "%s", out);
	snprintf(d->tcp_uri, sizeof(d->tcp_uri), "qemu+tcp://127.0.0.1:%u/system", d->port);
	snprintf(d->run_dir, sizeof(d->run_dir), "%s/run", dir);
	*ret = d;
	return 0;
}

const char *
vmp_lvd_uri(const struct vmp_lvd *d)
{
	return d->uri;
}

const char *
vmp_lvd_tcp_uri(const struct vmp_lvd *d)
{
	return d->tcp_uri;
}

const char *
vmp_lvd_run_dir(const struct vmp_lvd *d)
{
	return d->run_dir;
}

int
vmp_lvd_restart(struct vmp_lvd *d)
{
	return guardian_call(d, 'r', NULL, 0) == 0 ? 0 : -EIO;
}

void
vmp_lvd_stop(struct vmp_lvd *d)
{
	size_t i;

	if (!d)
		return;
	/* The guardian stops it (and reaps); if it is gone, do it here. */
	if (d->guardian <= 0 || guardian_call(d, 'x', NULL, 0) != 0)
		stop_dir(d->dir);
	for (i = 0; i < MAX_DAEMONS; i++)
		if (strcmp(live_dirs[i], d->dir) == 0)
			live_dirs[i][0] = '\0';
	close(d->cmd_fd);
	close(d->reply_fd);
	if (d->guardian > 0)
		waitpid(d->guardian, NULL, 0);
	free(d);
}

void
vmp_lvd_require(void)
{
	const char *why = NULL;

	if (geteuid() != 0)
		why = "not root (private libvirtd daemons need mount namespaces)";
	else if (access("/usr/sbin/libvirtd", X_OK) != 0)
		why = "no /usr/sbin/libvirtd (package libvirt-daemon-system)";
	else if (access("/usr/bin/unshare", X_OK) != 0)
		why = "no /usr/bin/unshare (package util-linux)";
	if (!why)
		return;
	fprintf(stderr, "\n*** SKIPPING real-libvirtd tests: %s ***\n\n", why);
	if (getenv("CI") || getenv("VMP_REQUIRE_VMS"))
		exit(1);
	exit(77);
}

/* The test guest's domain XML with its serial log and agent socket at the given paths. */
static char *
guest_xml(const char *name, unsigned mem_mib, const char *img_dir, const char *serial,
	  const char *agent)
{
	char *xml = NULL;

	if (asprintf(&xml,
		     "<domain type='qemu'>"
		     "<name>%s</name>"
		     "<memory unit='MiB'>%u</memory><currentMemory unit='MiB'>%u</currentMemory>"
		     "<vcpu placement='static' current='1'>4</vcpu>"
		     "<os><type arch='x86_64' machine='pc'>hvm</type>"
		     "<kernel>%s/kernel</kernel><initrd>%s/initramfs.cpio.gz</initrd>"
		     "<cmdline>console=ttyS0 panic=-1 quiet memhp_default_state=online_movable "
		     "vmp.interval=1</cmdline></os>"
		     "<features><acpi/></features>"
		     "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
		     "<on_crash>destroy</on_crash>"
		     "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
		     "<serial type='file'><source path='%s'/><target port='0'/></serial>"
		     "<channel type='unix'><source mode='bind' path='%s'/>"
		     "<target type='virtio' name='vmp.agent'/></channel>"
		     "<memballoon model='virtio'><stats period='1'/></memballoon>"
		     "<video><model type='none'/></video>"
		     "</devices></domain>",
		     name, mem_mib, mem_mib, img_dir, img_dir, serial, agent) < 0)
		abort();
	return xml;
}

char *
vmp_lvd_guest_xml(const char *name, unsigned mem_mib, const char *img_dir)
{
	return guest_xml(name, mem_mib, img_dir, "/run/vmp/serial.log", "/run/vmp/agent.sock");
}

int
vmp_lvd_guest_create(struct vmp_lvd *d, const char *name, unsigned mem_mib, const char *img_dir,
		     struct vmp_guest **ret_guest)
{
	char serial[300], agent[300], *xml;
	virConnectPtr conn;
	virDomainPtr dom;

	snprintf(serial, sizeof(serial), "/run/vmp/%s.serial.log", name);
	snprintf(agent, sizeof(agent), "/run/vmp/%s.agent.sock", name);
	xml = guest_xml(name, mem_mib, img_dir, serial, agent);
	conn = virConnectOpen(vmp_lvd_uri(d));
	if (!conn) {
		fprintf(stderr, "lvharness: cannot connect to %s: %s\n", vmp_lvd_uri(d),
			virGetLastErrorMessage());
		free(xml);
		return -1;
	}
	dom = virDomainCreateXML(conn, xml, 0);
	free(xml);
	if (!dom) {
		fprintf(stderr, "lvharness: cannot create %s: %s\n", name, virGetLastErrorMessage());
		virConnectClose(conn);
		return -1;
	}
	virDomainFree(dom);
	virConnectClose(conn);
	/* The same files as the host sees them, below the daemon's private /run. */
	snprintf(serial, sizeof(serial), "%s/vmp/%s.serial.log", vmp_lvd_run_dir(d), name);
	snprintf(agent, sizeof(agent), "%s/vmp/%s.agent.sock", vmp_lvd_run_dir(d), name);
	return vmp_guest_attach(name, serial, agent, ret_guest) < 0 ? -1 : 0;
}
