/* SPDX-License-Identifier: MIT */
/*
 * The in-guest half of the real-VM test harness: a tiny static program that runs
 * inside the test guest (built by build-guest.sh). `vmpguest report SECONDS` prints a
 * stats line on the console every SECONDS and onlines hot-added CPUs (what udev does
 * on a distribution guest); `vmpguest agent PORT` serves commands from the host over
 * the virtio-serial port named PORT, one line in, one line out:
 *
 *   stats                 -> "ok VMP-STATS ..." (the same line the reporter prints)
 *   cpu N                 -> start N busy threads (until stop)
 *   touch MB              -> allocate and touch MB MiB, keep them (until stop)
 *   dirty MB RATE         -> rewrite MB MiB at RATE MiB/s, page by page (until stop)
 *   write MB              -> rewrite the first MB MiB of /dev/vda with O_DIRECT 64 KiB
 *                            writes, over and over (until stop)
 *   written               -> "ok written BYTES MS": bytes the write jobs wrote so far, and
 *                            the guest's monotonic clock (the guest's own throughput meter)
 *   online N              -> write 1 to /sys/devices/system/cpu/cpuN/online
 *   offline N             -> write 0 to it
 *   stop                  -> kill every job started above
 *   poweroff              -> power the guest off
 *
 * This file is built for the guest only (gcc -static), never linked into vmpilot.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 64
#define PAGE 4096

static pid_t jobs[MAX_JOBS];
/* Bytes the write jobs wrote, shared with them (MAP_SHARED before they fork). */
static volatile uint64_t *disk_written;

static int
read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
write_small(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Counts the CPUs in a kernel cpulist such as "0-2,5". */
static unsigned
count_cpulist(const char *s)
{
	unsigned n = 0;

	while (*s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			break;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		n += (unsigned)(b - a + 1);
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static unsigned long
meminfo_kib(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoul(p + strlen(key), NULL, 10) : 0;
}

static void
format_stats(char *line, size_t size)
{
	char online[256] = "", mem[4096] = "", up[64] = "0";

	read_small("/sys/devices/system/cpu/online", online, sizeof(online));
	read_small("/proc/meminfo", mem, sizeof(mem));
	read_small("/proc/uptime", up, sizeof(up));
	online[strcspn(online, "\n")] = '\0';
	snprintf(line, size,
		 "VMP-STATS uptime_s=%.*s cpus=%u online=%s memtotal_kib=%lu memfree_kib=%lu "
		 "memavail_kib=%lu",
		 (int)strcspn(up, " "), up, count_cpulist(online), online,
		 meminfo_kib(mem, "MemTotal:"), meminfo_kib(mem, "MemFree:"),
		 meminfo_kib(mem, "MemAvailable:"));
}

/* Onlines every present but offline CPU, as a udev rule would on a real guest. */
static void
online_new_cpus(void)
{
	DIR *d = opendir("/sys/devices/system/cpu");
	struct dirent *e;
	char path[300], val[8];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "cpu", 3) || !isdigit((unsigned char)e->d_name[3]))
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/%s/online", e->d_name);
		if (read_small(path, val, sizeof(val)) == 0 && val[0] == '0')
			write_small(path, "1");
	}
	closedir(d);
}

static int
cmd_report(unsigned seconds)
{
	char line[512];

	for (;;) {
		online_new_cpus();
		format_stats(line, sizeof(line));
		printf("%s\n", line);
		fflush(stdout);
		sleep(seconds);
	}
}

static void *
spin(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	for (;;)
		x++;
	return NULL;
}

static void
job_cpu(unsigned n)
{
	pthread_t t;

	for (unsigned i = 1; i < n; i++)
		pthread_create(&t, NULL, spin, NULL);
	spin(NULL);
}

static unsigned char *
alloc_mb(unsigned long mb)
{
	unsigned char *p = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
	return p;
}

static void
job_touch(unsigned long mb)
{
	unsigned char *p = alloc_mb(mb);

	for (unsigned long off = 0; off < (mb << 20); off += PAGE)
		p[off] = 1;
	for (;;)
		pause();
}

static void
job_dirty(unsigned long mb, unsigned long rate_mbps)
{
	unsigned char *p = alloc_mb(mb);
	unsigned long pages = (mb << 20) / PAGE, i = 0;
	/* Dirty in 1 MiB bursts, then sleep so the average rate is rate_mbps. Every write
	 * changes the page's content (QEMU's page sampling compares hashes). */
	long sleep_ns = rate_mbps ? 1000000000L / (long)rate_mbps : 0;

	for (;;) {
		for (unsigned k = 0; k < 256; k++) {
			p[i * PAGE]++;
			if (++i == pages)
				i = 0;
		}
		if (sleep_ns) {
			struct timespec ts = { 0, sleep_ns };
			nanosleep(&ts, NULL);
		}
	}
}

/* Rewrites the first mb MiB of the disk fd (opened O_DIRECT) in 64 KiB writes, forever. */
static void
job_write(int fd, unsigned long mb)
{
	unsigned long off = 0, end = mb << 20;
	void *buf;

	if (posix_memalign(&buf, 4096, 65536) != 0)
		_exit(1);
	memset(buf, 0x5a, 65536);
	for (;;) {
		if (pwrite(fd, buf, 65536, (off_t)off) != 65536)
			_exit(1);
		if (disk_written)
			__atomic_add_fetch(disk_written, 65536, __ATOMIC_RELAXED);
		off += 65536;
		if (off >= end)
			off = 0;
	}
}

static int
start_job(int cmdfd, int kind, unsigned long a, unsigned long b)
{
	pid_t pid;
	int slot, disk = -1;

	for (slot = 0; slot < MAX_JOBS && jobs[slot]; slot++)
		;
	if (slot == MAX_JOBS)
		return -EBUSY;
	if (kind == 'w') {
		/* opened here, so a guest without the disk answers "err" */
		disk = open("/dev/vda", O_WRONLY | O_DIRECT | O_CLOEXEC);
		if (disk < 0)
			return -errno;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* virtio-console allows one open: a job must not hold the port. */
		close(cmdfd);
		if (kind == 'c')
			job_cpu((unsigned)a);
		else if (kind == 't')
			job_touch(a);
		else if (kind == 'w')
			job_write(disk, a);
		else
			job_dirty(a, b);
		_exit(0);
	}
	if (disk >= 0)
		close(disk);
	jobs[slot] = pid;
	return pid;
}

static void
stop_jobs(void)
{
	for (int i = 0; i < MAX_JOBS; i++) {
		if (jobs[i]) {
			kill(jobs[i], SIGKILL);
			waitpid(jobs[i], NULL, 0);
			jobs[i] = 0;
		}
	}
}

static void
reap(void)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (int i = 0; i < MAX_JOBS; i++)
			if (jobs[i] == pid)
				jobs[i] = 0;
}

static void
handle(int fd, char *line)
{
	char reply[600], verb[32] = "";
	unsigned long a = 0, b = 0;
	int n = sscanf(line, "%31s %lu %lu", verb, &a, &b);
	int r = 0;

	if (n >= 1 && !strcmp(verb, "stats")) {
		char s[512];

		format_stats(s, sizeof(s));
		snprintf(reply, sizeof(reply), "ok %s\n", s);
	} else if (n == 2 && !strcmp(verb, "cpu") && a > 0 && a <= 64) {
		r = start_job(fd, 'c', a, 0);
	} else if (n == 2 && !strcmp(verb, "touch") && a > 0) {
		r = start_job(fd, 't', a, 0);
	} else if (n == 2 && !strcmp(verb, "write") && a > 0) {
		r = start_job(fd, 'w', a, 0);
	} else if (n == 3 && !strcmp(verb, "dirty") && a > 0) {
		r = start_job(fd, 'd', a, b);
	} else if (n >= 1 && !strcmp(verb, "written") && disk_written) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		snprintf(reply, sizeof(reply), "ok written %llu %lld\n",
			 (unsigned long long)__atomic_load_n(disk_written, __ATOMIC_RELAXED),
			 (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	} else if (n == 2 && (!strcmp(verb, "online") || !strcmp(verb, "offline"))) {
		char path[96];

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%lu/online", a);
		r = write_small(path, verb[0] == 'o' && verb[1] == 'n' ? "1" : "0");
	} else if (n >= 1 && !strcmp(verb, "stop")) {
		stop_jobs();
	} else if (n >= 1 && !strcmp(verb, "poweroff")) {
		stop_jobs();
		sync();
		reboot(RB_POWER_OFF);
		r = -errno;
	} else {
		r = -EINVAL;
	}
	if (r < 0)
		snprintf(reply, sizeof(reply), "err %s: %s\n", verb, strerror(-r));
	else if (strcmp(verb, "stats") && strcmp(verb, "written"))
		snprintf(reply, sizeof(reply), "ok %s\n", verb);
	if (write(fd, reply, strlen(reply)) < 0)
		return;
}

/* Finds /dev/vportNpM for the virtio-serial port called name. */
static int
find_port(const char *name, char *dev, size_t size)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	char path[300], val[128];
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (read_small(path, val, sizeof(val)) < 0)
			continue;
		val[strcspn(val, "\n")] = '\0';
		if (!strcmp(val, name)) {
			snprintf(dev, size, "/dev/%s", e->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

static int
cmd_agent(const char *name)
{
	char dev[300], buf[512];
	size_t len = 0;
	void *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shared != MAP_FAILED)
		disk_written = shared;
	while (find_port(name, dev, sizeof(dev)) < 0)
		sleep(1);
	for (;;) {
		int fd = open(dev, O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			usleep(200000);
			continue;
		}
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;
			char *nl;

			/*
			 * Never close the port while the host is away: the guest kernel drops
			 * the port's unread data on close, which loses a command that raced
			 * a host reconnect (e.g. right after a migration). poll() says POLLHUP
			 * while no host is connected, POLLIN when a command arrived.
			 */
			if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
				break;
			reap();
			if (!(pfd.revents & POLLIN)) {
				if (pfd.revents & (POLLHUP | POLLERR))
					usleep(100000);
				continue;
			}
			n = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				usleep(100000);
				continue;
			}
			len += (size_t)n;
			buf[len] = '\0';
			while ((nl = strchr(buf, '\n'))) {
				*nl = '\0';
				handle(fd, buf);
				len -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, len + 1);
			}
			if (len == sizeof(buf) - 1)
				len = 0; /* an overlong line: drop it */
		}
		close(fd);
		len = 0;
		usleep(200000);
	}
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "report"))
		return cmd_report((unsigned)atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "agent"))
		return cmd_agent(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "stats")) {
		char s[512];

		format_stats(s, sizeof(s));
		printf("%s\n", s);
		return 0;
	}
	fprintf(stderr, "usage: vmpguest report SECONDS | agent PORT | stats\n");
	return 2;
}
