/* SPDX-License-Identifier: MIT */
/*
 * vmpilotd under a service manager, without one: the test plays systemd's part. It
 * binds the NOTIFY_SOCKET datagram socket, asks for a watchdog (WATCHDOG_USEC,
 * WATCHDOG_PID) and hands vmpilotd a stderr that JOURNAL_STREAM names, then runs it on
 * libvirt's test:///default and reads what it says: READY=1 with a STATUS= after the
 * first cycle, WATCHDOG=1 pings between cycles, RELOADING=1 then READY=1 around a
 * SIGHUP, STOPPING=1 on SIGTERM (exit 0); and its log lines carry syslog priorities
 * ("<6>" info, "<4>" warning) instead of the program name. Every wait has a deadline;
 * the daemon is killed by PID if the test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *vmpilotd;
static char dir[] = "/tmp/vmp-test-notify-XXXXXX";
static pid_t child = -1;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads datagrams until one contains want (returned in buf) or the deadline passes. */
static bool
wait_message(int fd, const char *want, char *buf, size_t size, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		n = recv(fd, buf, size - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		printf("notify: %s\n", buf);
		if (strstr(buf, want))
			return true;
	}
	return false;
}

static void
test_notify_and_priorities(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char conf[600], log[600], msg[4096], *text = NULL;
	struct stat st;
	size_t len = 0;
	FILE *f;
	int fd, logfd, status;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(conf, sizeof(conf), "%s/vmpilot.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "interval_ms = 5000\nstate_db = none\nstatus_file = %s/status.json\n", dir);
	fclose(f);
	snprintf(log, sizeof(log), "%s/stderr", dir);
	logfd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(logfd >= 0);
	assert_int_equal(fstat(logfd, &st), 0);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char env[128], jpath[600];

		snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		/* 2 s: pings at least every second between the 5-s cycles. */
		setenv("WATCHDOG_USEC", "2000000", 1);
		snprintf(env, sizeof(env), "%d", (int)getpid());
		setenv("WATCHDOG_PID", env, 1);
		dup2(logfd, STDERR_FILENO);
		snprintf(jpath, sizeof(jpath), "%s/journal.jsonl", dir);
		execl(vmpilotd, vmpilotd, "-v", "-c", "test:///default", "-f", conf, "-J", jpath,
		      (char *)NULL);
		_exit(127);
	}
	close(logfd);
	assert_true(wait_message(fd, "READY=1", msg, sizeof(msg), 20000));
	assert_non_null(strstr(msg, "STATUS=cycle 1: 1 of 1 hosts ok, 1 vms"));
	assert_true(wait_message(fd, "WATCHDOG=1", msg, sizeof(msg), 3000));
	/* A ping between cycles: a message that is only that. */
	assert_true(wait_message(fd, "WATCHDOG=1", msg, sizeof(msg), 3000));
	assert_string_equal(msg, "WATCHDOG=1");
	assert_int_equal(kill(child, SIGHUP), 0);
	assert_true(wait_message(fd, "RELOADING=1", msg, sizeof(msg), 5000));
	assert_true(wait_message(fd, "READY=1", msg, sizeof(msg), 5000));
	assert_int_equal(kill(child, SIGTERM), 0);
	assert_true(wait_message(fd, "STOPPING=1", msg, sizeof(msg), 5000));
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);

	f = fopen(log, "r");
	assert_non_null(f);
	text = calloc(1, 65536);
	len = fread(text, 1, 65535, f);
	fclose(f);
	printf("stderr:\n%.*s", (int)len, text);
	assert_non_null(strstr(text, "<6>watching 1 host every 5000 ms"));
	assert_non_null(strstr(text, "<4>test:///default: no host stats"));
	assert_null(strstr(text, "vmpilotd: "));
	free(text);
}

static int
teardown(void **state)
{
	char cmd[700];

	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_notify_and_priorities, teardown),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test-notify VMPILOTD\n");
		return 2;
	}
	vmpilotd = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
