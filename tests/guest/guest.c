/* SPDX-License-Identifier: MIT */
/*
 * The host half of the real-VM test harness (see guest.h and README.md): QEMU process
 * management with kill-by-PID guarantees, the guest's serial log and agent socket.
 */
#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef VMP_GUEST_SCRIPT
#define VMP_GUEST_SCRIPT "tests/guest/build-guest.sh"
#endif
#define MAX_GUESTS 16
#define AGENT_PORT "vmp.agent"

struct vmp_guest {
	char *name;
	char *run_dir;        /* NULL when attached */
	char *qmp_socket;
	char *serial_log;
	char *agent_socket;
	pid_t pid;            /* QEMU; 0 when attached or already reaped */
	pid_t watchdog;       /* 0 when none */
	int agent_fd;
	char buf[1024];       /* agent input not yet consumed */
	size_t len;
};

/* Every PID we started, so exit and signal paths can kill them (async-signal safe). */
static volatile pid_t live_pids[MAX_GUESTS * 2];
/* The guests not yet killed, so that exit also removes their files. */
static struct vmp_guest *live_guests[MAX_GUESTS];
static bool handlers_installed;
static pid_t owner_pid;   /* the process that started the guests (not a forked child) */

static void rm_run_dir(const char *dir);

static void warnmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
warnmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("guest: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int64_t
vmp_guest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
track(pid_t pid)
{
	for (size_t i = 0; i < MAX_GUESTS * 2; i++) {
		if (!live_pids[i]) {
			live_pids[i] = pid;
			return;
		}
	}
	/* The registry is full: kill rather than risk leaving a QEMU behind. */
	kill(pid, SIGKILL);
}

static void
untrack(pid_t pid)
{
	for (size_t i = 0; i < MAX_GUESTS * 2; i++)
		if (live_pids[i] == pid)
			live_pids[i] = 0;
}

void
vmp_guest_kill_all(void)
{
	/* A forked child that exits must not kill its parent's guests. */
	if (owner_pid && getpid() != owner_pid)
		return;
	for (size_t i = 0; i < MAX_GUESTS * 2; i++) {
		pid_t pid = live_pids[i];

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			live_pids[i] = 0;
		}
	}
	/* A test that failed half-way leaves its guests: remove their files too. */
	for (size_t i = 0; i < MAX_GUESTS; i++) {
		struct vmp_guest *g = live_guests[i];

		if (!g)
			continue;
		g->pid = 0;
		g->watchdog = 0;
		if (g->qmp_socket[0])
			unlink(g->qmp_socket);
		if (!getenv("VMP_GUEST_KEEP"))
			rm_run_dir(g->run_dir);
	}
}

static void
on_fatal_signal(int sig)
{
	if (owner_pid && getpid() != owner_pid) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	/* Only kill(2) here: async-signal safe. The children are reaped by init. */
	for (size_t i = 0; i < MAX_GUESTS * 2; i++)
		if (live_pids[i] > 0)
			kill(live_pids[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE,
				    SIGILL, SIGABRT, SIGALRM };

	if (handlers_installed)
		return;
	handlers_installed = true;
	owner_pid = getpid();
	atexit(vmp_guest_kill_all);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa = { .sa_handler = on_fatal_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

static char *
xstrdup_or_die(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static const char *
script_path(void)
{
	static char path[4096];
	const char *dir = getenv("VMP_TESTS_DIR");

	if (dir && *dir) {
		snprintf(path, sizeof(path), "%s/guest/build-guest.sh", dir);
		return path;
	}
	return VMP_GUEST_SCRIPT;
}

int
vmp_guest_image(char **ret_dir)
{
	static char cached[4096];
	char *cmd, line[4096] = "";
	FILE *p;
	int st;

	if (cached[0]) {
		*ret_dir = xstrdup_or_die(cached);
		return 0;
	}
	cmd = fmt("'%s'", script_path());
	p = popen(cmd, "r");
	free(cmd);
	if (!p) {
		warnmsg("cannot run '%s': %s", script_path(), strerror(errno));
		return -errno;
	}
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	st = pclose(p);
	line[strcspn(line, "\n")] = '\0';
	if (st != 0 || !line[0]) {
		warnmsg("cannot build the test guest with '%s' (exit status %d)", script_path(),
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -ENOENT;
	}
	snprintf(cached, sizeof(cached), "%s", line);
	*ret_dir = xstrdup_or_die(line);
	return 0;
}

static bool
in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	copy = xstrdup_or_die(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *full = fmt("%s/%s", dir, prog);

		found = access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}

int
vmp_guest_available(void)
{
	char *dir;
	int r;

	if (!in_path("qemu-system-x86_64")) {
		warnmsg("*** cannot run real-VM tests: 'qemu-system-x86_64' is not installed "
			"(apt-get install qemu-system-x86) ***");
		return -ENOENT;
	}
	r = vmp_guest_image(&dir);
	if (r < 0) {
		warnmsg("*** cannot run real-VM tests: the test guest does not build ***");
		return r;
	}
	free(dir);
	return 0;
}

void
vmp_guest_require(void)
{
	if (vmp_guest_available() == 0)
		return;
	if (getenv("VMP_REQUIRE_VMS") || getenv("CI")) {
		warnmsg("*** real-VM tests are required here (VMP_REQUIRE_VMS or CI is set): FAIL ***");
		exit(1);
	}
	warnmsg("*** SKIPPING real-VM tests on this machine; CI must not skip them ***");
	exit(77);
}

const char *
vmp_guest_accel(void)
{
	const char *env = getenv("VMP_GUEST_ACCEL");
	char buf[65536];
	ssize_t n;
	int fd;

	if (env && *env)
		return env;
	/* KVM boots guests only with hardware extensions; PVM (software nested) hangs. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 || access("/dev/kvm", R_OK | W_OK) != 0)
		return "tcg";
	fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "tcg";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return "tcg";
	buf[n] = '\0';
	return strstr(buf, " vmx") || strstr(buf, " svm") ? "kvm" : "tcg";
}

static void
add_arg(char **argv, size_t *n, size_t max, char *arg)
{
	if (*n + 1 < max)
		argv[(*n)++] = arg;
	argv[*n] = NULL;
}

/*
 * The watchdog: a child that kills QEMU (through a pidfd, immune to PID reuse) after
 * lifetime_s, and dies with the test process.
 */
static pid_t
start_watchdog(pid_t qemu, unsigned lifetime_s)
{
	int pidfd = (int)syscall(SYS_pidfd_open, qemu, 0);
	pid_t pid;

	if (pidfd < 0)
		return 0;
	pid = fork();
	if (pid < 0) {
		close(pidfd);
		return 0;
	}
	if (pid == 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* A pidfd becomes readable when the process exits. */
		if (poll(&pfd, 1, (int)lifetime_s * 1000) == 0) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			fprintf(stderr, "guest: watchdog killed QEMU pid %d after %u s\n",
				(int)qemu, lifetime_s);
		}
		_exit(0);
	}
	close(pidfd);
	return pid;
}

int
vmp_guest_start(const struct vmp_guest_config *cfg, struct vmp_guest **ret_g)
{
	char *image = NULL, *argv[128], *tofree[32];
	const char *accel = vmp_guest_accel();
	size_t n = 0, nf = 0;
	struct vmp_guest *g;
	char tmpl[] = "/tmp/vmp-guest-XXXXXX";
	unsigned mem = cfg->mem_mib ? cfg->mem_mib : 512;
	unsigned maxmem = cfg->maxmem_mib ? cfg->maxmem_mib : 2048;
	unsigned vcpus = cfg->vcpus ? cfg->vcpus : 1;
	unsigned maxcpus = cfg->max_vcpus ? cfg->max_vcpus : 4;
	pid_t parent = getpid();
	int r, errpipe[2];

	if (!cfg->name || !cfg->qmp_dir)
		return -EINVAL;
	r = vmp_guest_image(&image);
	if (r < 0)
		return r;
	if (!mkdtemp(tmpl)) {
		r = -errno;
		warnmsg("cannot create a run directory for guest '%s': %s", cfg->name, strerror(-r));
		free(image);
		return r;
	}
	install_handlers();
	g = calloc(1, sizeof(*g));
	if (!g)
		abort();
	g->name = xstrdup_or_die(cfg->name);
	g->run_dir = xstrdup_or_die(tmpl);
	g->qmp_socket = fmt("%s/%s.sock", cfg->qmp_dir, cfg->name);
	g->serial_log = fmt("%s/serial.log", tmpl);
	g->agent_socket = fmt("%s/agent.sock", tmpl);
	g->agent_fd = -1;
	unlink(g->qmp_socket);

#define ARG(s) add_arg(argv, &n, 128, (s))
#define FARG(...) (tofree[nf] = fmt(__VA_ARGS__), ARG(tofree[nf++]))
	ARG("qemu-system-x86_64");
	ARG("-name");
	ARG(g->name);
	ARG("-machine");
	ARG("pc");
	ARG("-accel");
	ARG((char *)accel);
	ARG("-m");
	FARG("%u,slots=4,maxmem=%uM", mem, maxmem);
	ARG("-smp");
	FARG("%u,maxcpus=%u", vcpus, maxcpus);
	ARG("-kernel");
	FARG("%s/kernel", image);
	ARG("-initrd");
	FARG("%s/initramfs.cpio.gz", image);
	ARG("-append");
	ARG("console=ttyS0 panic=-1 quiet memhp_default_state=online_movable vmp.interval=2");
	ARG("-display");
	ARG("none");
	ARG("-vga");
	ARG("none");
	ARG("-nodefaults");
	ARG("-no-reboot");
	ARG("-chardev");
	FARG("file,id=ser0,path=%s", g->serial_log);
	ARG("-serial");
	ARG("chardev:ser0");
	ARG("-qmp");
	FARG("unix:%s,server=on,wait=off", g->qmp_socket);
	ARG("-device");
	ARG("virtio-balloon-pci,id=balloon0,guest-stats-polling-interval=2");
	ARG("-device");
	ARG("virtio-serial-pci,id=vser0");
	ARG("-chardev");
	FARG("socket,id=agent,path=%s,server=on,wait=off", g->agent_socket);
	ARG("-device");
	ARG("virtserialport,chardev=agent,name=" AGENT_PORT);
	if (cfg->incoming) {
		ARG("-incoming");
		ARG((char *)cfg->incoming);
	}
	for (size_t i = 0; cfg->extra_args && cfg->extra_args[i]; i++)
		ARG((char *)cfg->extra_args[i]);
#undef ARG
#undef FARG

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		abort();
	g->pid = fork();
	if (g->pid < 0) {
		r = -errno;
		warnmsg("cannot fork QEMU for guest '%s': %s", g->name, strerror(-r));
		goto out;
	}
	if (g->pid == 0) {
		char *log = fmt("%s/qemu.log", g->run_dir);
		int fd, e;

		/* Die with the test process, even when it is SIGKILLed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		if (cfg->netns) {
			char *ns = fmt("/run/netns/%s", cfg->netns);

			fd = open(ns, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
				e = errno;
				if (write(errpipe[1], &e, sizeof(e)) < 0)
					_exit(127);
				_exit(127);
			}
		}
		execvp(argv[0], argv);
		e = errno;
		if (write(errpipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	track(g->pid);
	for (size_t i = 0; i < MAX_GUESTS; i++) {
		if (!live_guests[i]) {
			live_guests[i] = g;
			break;
		}
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	{
		int e = 0;

		if (read(errpipe[0], &e, sizeof(e)) == sizeof(e)) {
			warnmsg("cannot start QEMU for guest '%s'%s%s: %s", g->name,
				cfg->netns ? " in netns " : "", cfg->netns ? cfg->netns : "",
				strerror(e));
			r = -e;
			goto out;
		}
	}
	g->watchdog = start_watchdog(g->pid, cfg->lifetime_s ? cfg->lifetime_s : 300);
	if (g->watchdog > 0)
		track(g->watchdog);
	r = 0;
out:
	close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	for (size_t i = 0; i < nf; i++)
		free(tofree[i]);
	free(image);
	if (r < 0) {
		vmp_guest_kill(g);
		return r;
	}
	*ret_g = g;
	return 0;
}

int
vmp_guest_attach(const char *name, const char *serial_log, const char *agent_socket,
		 struct vmp_guest **ret_g)
{
	struct vmp_guest *g = calloc(1, sizeof(*g));

	if (!g)
		abort();
	g->name = xstrdup_or_die(name);
	g->serial_log = xstrdup_or_die(serial_log);
	g->agent_socket = xstrdup_or_die(agent_socket);
	g->qmp_socket = xstrdup_or_die("");
	g->agent_fd = -1;
	*ret_g = g;
	return 0;
}

bool
vmp_guest_alive(struct vmp_guest *g)
{
	int st;

	if (!g->pid)
		return g->run_dir == NULL;   /* attached guests: unknown, assume alive */
	if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
		untrack(g->pid);
		g->pid = 0;
		return false;
	}
	return true;
}

static void
print_qemu_log(struct vmp_guest *g)
{
	char *path, buf[2048];
	FILE *f;

	if (!g->run_dir)
		return;
	path = fmt("%s/qemu.log", g->run_dir);
	f = fopen(path, "r");
	free(path);
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		fprintf(stderr, "guest: %s: qemu: %s", g->name, buf);
	fclose(f);
}

int
vmp_guest_wait_qmp(struct vmp_guest *g, unsigned timeout_ms)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	for (;;) {
		/* The file appears at bind(); only a successful connect() means listening. */
		if (stat(g->qmp_socket, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    strlen(g->qmp_socket) < sizeof(sa.sun_path)) {
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			bool ok;

			strcpy(sa.sun_path, g->qmp_socket);
			ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
			if (fd >= 0)
				close(fd);
			if (ok)
				return 0;
		}
		if (!vmp_guest_alive(g)) {
			warnmsg("guest '%s': QEMU exited before creating its QMP socket", g->name);
			print_qemu_log(g);
			return -ECHILD;
		}
		if (vmp_guest_now_ms() >= deadline) {
			warnmsg("guest '%s': no QMP socket '%s' within %u ms", g->name, g->qmp_socket,
				timeout_ms);
			return -ETIMEDOUT;
		}
		sleep_ms(50);
	}
}

int
vmp_guest_wait_boot(struct vmp_guest *g, unsigned timeout_ms)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;

	for (;;) {
		char buf[8192];
		ssize_t n = 0;
		int fd = open(g->serial_log, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, "VMP-STATS "))
				return 0;
		}
		if (!vmp_guest_alive(g)) {
			warnmsg("guest '%s': QEMU exited before the guest booted", g->name);
			print_qemu_log(g);
			return -ECHILD;
		}
		if (vmp_guest_now_ms() >= deadline) {
			warnmsg("guest '%s' did not boot within %u ms (serial log '%s')", g->name,
				timeout_ms, g->serial_log);
			return -ETIMEDOUT;
		}
		sleep_ms(100);
	}
}

static int
agent_connect(struct vmp_guest *g, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (g->agent_fd >= 0)
		return 0;
	if (strlen(g->agent_socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, g->agent_socket);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			g->agent_fd = fd;
			g->len = 0;
			return 0;
		}
		close(fd);
		if (vmp_guest_now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(100);
	}
}

static void
agent_drop(struct vmp_guest *g)
{
	if (g->agent_fd >= 0)
		close(g->agent_fd);
	g->agent_fd = -1;
	g->len = 0;
}

int
vmp_guest_cmd(struct vmp_guest *g, const char *cmd, char **ret_reply, unsigned timeout_ms)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;
	char *line = fmt("%s\n", cmd);
	size_t off = 0, len = strlen(line);
	int r;

	r = agent_connect(g, deadline);
	if (r < 0) {
		warnmsg("cannot connect to the agent of guest '%s' at '%s': %s", g->name,
			g->agent_socket, strerror(-r));
		free(line);
		return r;
	}
	while (off < len) {
		ssize_t w = send(g->agent_fd, line + off, len - off, MSG_NOSIGNAL);

		if (w < 0) {
			r = -errno;
			warnmsg("cannot send '%s' to guest '%s': %s", cmd, g->name, strerror(-r));
			agent_drop(g);
			free(line);
			return r;
		}
		off += (size_t)w;
	}
	free(line);
	for (;;) {
		char *nl = memchr(g->buf, '\n', g->len);
		int64_t left = deadline - vmp_guest_now_ms();
		struct pollfd pfd = { .fd = g->agent_fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			char *reply;

			*nl = '\0';
			reply = xstrdup_or_die(g->buf);
			g->len -= (size_t)(nl + 1 - g->buf);
			memmove(g->buf, nl + 1, g->len);
			if (strncmp(reply, "ok", 2) != 0) {
				warnmsg("guest '%s' refused '%s': %s", g->name, cmd, reply);
				free(reply);
				return -EIO;
			}
			if (ret_reply)
				*ret_reply = xstrdup_or_die(reply[2] == ' ' ? reply + 3 : reply + 2);
			free(reply);
			return 0;
		}
		if (left <= 0) {
			warnmsg("guest '%s' did not answer '%s' within %u ms", g->name, cmd,
				timeout_ms);
			/* A late answer would be taken for the next command's: reconnect. */
			agent_drop(g);
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (g->len == sizeof(g->buf))
			g->len = 0;
		n = recv(g->agent_fd, g->buf + g->len, sizeof(g->buf) - g->len, 0);
		if (n <= 0) {
			warnmsg("the agent of guest '%s' closed the connection during '%s'",
				g->name, cmd);
			agent_drop(g);
			return -ECONNRESET;
		}
		g->len += (size_t)n;
	}
}

static const char *
field(const char *line, const char *key)
{
	const char *p = line;
	size_t klen = strlen(key);

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=')
			return p + klen + 1;
		p += klen;
	}
	return NULL;
}

int
vmp_guest_parse_stats(const char *line, struct vmp_guest_stats *ret)
{
	const char *s = strstr(line, "VMP-STATS ");
	const char *up, *cpus, *tot, *fr, *av;

	if (!s)
		return -EINVAL;
	up = field(s, "uptime_s");
	cpus = field(s, "cpus");
	tot = field(s, "memtotal_kib");
	fr = field(s, "memfree_kib");
	av = field(s, "memavail_kib");
	if (!up || !cpus || !tot || !fr || !av)
		return -EINVAL;
	ret->uptime_s = strtod(up, NULL);
	ret->cpus_online = (unsigned)strtoul(cpus, NULL, 10);
	ret->memtotal_kib = strtoull(tot, NULL, 10);
	ret->memfree_kib = strtoull(fr, NULL, 10);
	ret->memavail_kib = strtoull(av, NULL, 10);
	return 0;
}

int
vmp_guest_stats(struct vmp_guest *g, struct vmp_guest_stats *ret, unsigned timeout_ms)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;
	char *reply = NULL;
	int r;

	/*
	 * "stats" is idempotent, so it is retried on a fresh connection (every 3 s, or at once
	 * when the connection dropped): right after a migration the first connection to the
	 * destination's agent socket can stay unanswered or be dropped (the port's open/close
	 * notice to the guest races the resume).
	 */
	for (;;) {
		int64_t left = deadline - vmp_guest_now_ms();

		r = vmp_guest_cmd(g, "stats", &reply, (unsigned)(left > 3000 ? 3000 : left > 0 ? left : 1));
		if ((r != -ETIMEDOUT && r != -ECONNRESET) || vmp_guest_now_ms() >= deadline)
			break;
	}
	if (r < 0)
		return r;
	r = vmp_guest_parse_stats(reply, ret);
	if (r < 0)
		warnmsg("guest '%s' sent a malformed stats line: '%s'", g->name, reply);
	free(reply);
	return r;
}

int
vmp_guest_wait_until(struct vmp_guest *g, bool (*pred)(const struct vmp_guest_stats *s, void *arg),
		     void *arg, unsigned timeout_ms, struct vmp_guest_stats *ret)
{
	int64_t deadline = vmp_guest_now_ms() + timeout_ms;
	struct vmp_guest_stats s = { 0 };

	for (;;) {
		int64_t left = deadline - vmp_guest_now_ms();
		int r;

		if (left <= 0)
			break;
		r = vmp_guest_stats(g, &s, (unsigned)(left < 5000 ? left : 5000));
		if (r == 0 && pred(&s, arg)) {
			if (ret)
				*ret = s;
			return 0;
		}
		if (!vmp_guest_alive(g))
			return -ECHILD;
		sleep_ms(200);
	}
	if (ret)
		*ret = s;
	return -ETIMEDOUT;
}

static void
rm_run_dir(const char *dir)
{
	static const char *const files[] = { "serial.log", "agent.sock", "qemu.log" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = fmt("%s/%s", dir, files[i]);

		unlink(p);
		free(p);
	}
	rmdir(dir);
}

/* Kills and reaps pid (if > 0), a process track() registered, and forgets it. */
static void
kill_tracked(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	untrack(pid);
}

void
vmp_guest_kill(struct vmp_guest *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < MAX_GUESTS; i++)
		if (live_guests[i] == g)
			live_guests[i] = NULL;
	agent_drop(g);
	kill_tracked(g->pid);
	kill_tracked(g->watchdog);
	if (g->run_dir) {
		if (g->qmp_socket[0])
			unlink(g->qmp_socket);
		if (!getenv("VMP_GUEST_KEEP"))
			rm_run_dir(g->run_dir);
	}
	free(g->name);
	free(g->run_dir);
	free(g->qmp_socket);
	free(g->serial_log);
	free(g->agent_socket);
	free(g);
}

pid_t
vmp_guest_pid(const struct vmp_guest *g)
{
	return g->pid;
}

const char *
vmp_guest_name(const struct vmp_guest *g)
{
	return g->name;
}

const char *
vmp_guest_qmp_socket(const struct vmp_guest *g)
{
	return g->qmp_socket;
}

const char *
vmp_guest_run_dir(const struct vmp_guest *g)
{
	return g->run_dir;
}
