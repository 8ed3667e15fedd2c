/* SPDX-License-Identifier: MIT */
/*
 * The dashboard in a real browser against a daemon managing real guests: vmpilotd (the
 * real binary, a child process) drives two QEMU TCG guests over the qmp:/// backend with
 * its API on TLS (certificates made by tests/lib/make-certs.sh) and its state database;
 * one guest is named with HTML in it. Once the journal holds an acted memory decision
 * of the idle guest and the state database three history steps of it, Debian's headless
 * Chromium, driven by dashboard-cdp.py over the DevTools protocol with a read-only
 * bearer token, must show the charts drawn with data, the decision's reason after one
 * click on its mark, the untrusted name as text, a page that fits at 1280 and 700 px,
 * a non-blank screenshot (copied to the build directory as dashboard-1280.png), and no
 * script error, CSP violation or failed request.
 *
 * Every QEMU is killed by PID in the teardown (and by the guest harness's safety
 * nets); vmpilotd is stopped with SIGTERM and killed by PID if it does not stop;
 * dashboard-cdp.py kills Chromium by PID and is itself killed by PID past its deadline.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "child.h"
#include "guest.h"

#define VM "web1"
/* An untrusted VM name: markup if anything rendered it as HTML. QEMU's -name and
 * -qmp options take it as it is (no '=', ',' or '/'). */
#define XSS_VM "<b>x&amp;\"'<i>"
#define TOKEN "dashboard-read-token"

struct fx {
	char dir[64], qmp[96], conf[96], journal[96], log[96], db[96];
	struct vmp_guest *g, *x;
	pid_t daemon;
	int port;
};

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char cmd[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmp-dash-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->qmp, sizeof(f->qmp), "%s/qmp", f->dir);
	mkdir(f->qmp, 0700);
	snprintf(f->conf, sizeof(f->conf), "%s/vmpilot.conf", f->dir);
	snprintf(f->journal, sizeof(f->journal), "%s/journal.jsonl", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/vmpilotd.log", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
	snprintf(cmd, sizeof(cmd), "'%s/lib/make-certs.sh' '%s'", getenv("VMP_TESTS_DIR"), f->dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the test certificates\n");
		return -1;
	}
	f->port = free_port();
	f->daemon = -1;
	*state = f;
	return f->port > 0 ? 0 : -1;
}

/* Stops vmpilotd: SIGTERM, then SIGKILL by PID after 10 s. Returns its wait status. */
static int
daemon_stop(struct fx *f)
{
	return vmp_test_child_stop(&f->daemon, 10000);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	daemon_stop(f);
	vmp_guest_kill(f->g);
	vmp_guest_kill(f->x);
	if (getenv("VMP_TEST_VERBOSE"))
		vmp_test_dump_file(f->log);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static char *
sha256_hex(const char *s)
{
	char cmd[256], out[128] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "printf %%s '%s' | sha256sum", s);
	p = popen(cmd, "r");
	if (!p || !fgets(out, sizeof(out), p))
		fail_msg("sha256sum failed");
	pclose(p);
	out[64] = '\0';
	return strdup(out);
}

static void
write_conf(struct fx *f)
{
	FILE *out = fopen(f->conf, "w");
	char *sha = sha256_hex(TOKEN);

	assert_non_null(out);
	/* The idle guest's memory is given back step by step: acted decisions soon. */
	fprintf(out, "mode = act\ninterval_ms = 1000\nstale_ms = 10000\nksm_enabled = no\n"
		"mem_bounds_widen_pct = 0\nmem_cooldown_ms = 0\nmem_dead_band_pct = 2\n"
		"mem_step_max_pct = 25\n"
		"status_file = %s/status.json\nstate_db = %s\napi_socket = %s/api.sock\n"
		"api_listen = 127.0.0.1:%d\napi_tls_cert = %s/server.pem\n"
		"api_tls_key = %s/server.key\napi_tokens = read:%s\n"
		"[vm " VM "]\nmem_min_kib = 262144\n",
		f->dir, f->db, f->dir, f->port, f->dir, f->dir, sha);
	fclose(out);
	free(sha);
}

static void
daemon_start(struct fx *f)
{
	const char *exe = getenv("VMP_VMPILOTD");
	char uri[128], check[512];

	assert_non_null(exe);
	snprintf(check, sizeof(check), "'%s' -n -f '%s' >/dev/null", exe, f->conf);
	assert_int_equal(system(check), 0);
	snprintf(uri, sizeof(uri), "qmp://%s", f->qmp);
	{
		const char *const argv[] = { exe, "-v", "-f", f->conf, "-J", f->journal, "-c", uri,
					     NULL };

		f->daemon = vmp_test_child_start(f->log, argv);
	}
	assert_true(f->daemon >= 0);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Acted memory decisions of VM in the journal (outcome lines). */
static int
acted_memory_decisions(struct fx *f)
{
	json_error_t e;
	char line[65536];
	FILE *in = fopen(f->journal, "r");
	int n = 0;

	if (!in)
		return 0;
	while (fgets(line, sizeof(line), in)) {
		json_t *o = json_loads(line, 0, &e);

		if (o && json_is_true(json_object_get(o, "acted")) &&
		    !json_is_true(json_object_get(o, "intent")) &&
		    !strcmp(str(o, "vm"), VM) && !strcmp(str(o, "resource"), "memory_kib"))
			n++;
		json_decref(o);
	}
	fclose(in);
	return n;
}

/* History steps of VM in the finest tier of the state database. */
static int
history_steps(struct fx *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (access(f->db, F_OK) != 0 ||
	    sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sample WHERE tier = 0 AND vm = ?1 "
			       "AND mem_used_kib IS NOT NULL", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, VM, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Runs dashboard-cdp.py with a deadline; returns its exit status (-1: killed by PID). */
static int
run_browser(struct fx *f, unsigned timeout_s)
{
	char url[64], ca[96], cert[96], script[512], timeout[16];
	int64_t deadline = vmp_guest_now_ms() + (int64_t)timeout_s * 1000 + 30000;
	int status = -1;
	pid_t pid;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", f->port);
	snprintf(ca, sizeof(ca), "%s/ca.pem", f->dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", f->dir);
	snprintf(script, sizeof(script), "%s/integration/dashboard-cdp.py", getenv("VMP_TESTS_DIR"));
	snprintf(timeout, sizeof(timeout), "%u", timeout_s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", script, "--url", url, "--token", TOKEN,
		      "--ca", ca, "--server-cert", cert, "--out", f->dir, "--vm", VM,
		      "--xss-name", XSS_VM, "--timeout", timeout, (char *)NULL);
		fprintf(stderr, "cannot run /usr/bin/python3 %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (vmp_guest_now_ms() > deadline) {
			fprintf(stderr, "dashboard-cdp.py still running after %u s: killed\n",
				timeout_s + 30);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		vmp_test_sleep_ms(100);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_dashboard(void **state)
{
	struct fx *f = *state;
	struct vmp_guest_config web = { .name = VM, .qmp_dir = f->qmp, .mem_mib = 512,
					.vcpus = 1, .max_vcpus = 2, .lifetime_s = 240 };
	struct vmp_guest_config xss = { .name = XSS_VM, .qmp_dir = f->qmp, .mem_mib = 256,
					.vcpus = 1, .max_vcpus = 1, .lifetime_s = 240 };
	int64_t t0 = vmp_guest_now_ms(), deadline;
	char shot[512], cmd[1200];
	int acted = 0, steps = 0, r;

	assert_int_equal(vmp_guest_start(&web, &f->g), 0);
	assert_int_equal(vmp_guest_start(&xss, &f->x), 0);
	printf("guests: %s pid %d, %s pid %d\n", VM, (int)vmp_guest_pid(f->g), XSS_VM,
	       (int)vmp_guest_pid(f->x));
	assert_int_equal(vmp_guest_wait_qmp(f->g, 20000), 0);
	assert_int_equal(vmp_guest_wait_qmp(f->x, 20000), 0);
	assert_int_equal(vmp_guest_wait_boot(f->g, 60000), 0);
	write_conf(f);
	daemon_start(f);

	/* The daemon at work: an acted decision and three history steps of the idle guest. */
	deadline = vmp_guest_now_ms() + 90000;
	while (vmp_guest_now_ms() < deadline) {
		acted = acted_memory_decisions(f);
		steps = history_steps(f);
		if (acted >= 1 && steps >= 3)
			break;
		assert_int_equal(waitpid(f->daemon, NULL, WNOHANG), 0);   /* still running */
		vmp_test_sleep_ms(500);
	}
	printf("after %.1f s: %d acted memory decisions of %s, %d history steps\n",
	       (double)(vmp_guest_now_ms() - t0) / 1000, acted, VM, steps);
	if (acted < 1 || steps < 3) {
		vmp_test_dump_file(f->log);
		fail_msg("vmpilotd made no acted decision or history for %s in 90 s", VM);
	}

	/* The browser. */
	r = run_browser(f, 90);
	printf("dashboard-cdp.py exit %d after %.1f s in all\n", r,
	       (double)(vmp_guest_now_ms() - t0) / 1000);
	snprintf(shot, sizeof(shot), "%s/dashboard-1280.png", f->dir);
	if (getenv("VMP_BUILD_DIR") && access(shot, F_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s/dashboard-1280.png'", shot,
			 getenv("VMP_BUILD_DIR"));
		if (system(cmd) == 0)
			printf("screenshot: %s/dashboard-1280.png\n", getenv("VMP_BUILD_DIR"));
	}
	if (r != 0)
		vmp_test_dump_file(f->log);
	assert_int_equal(r, 0);
	/* The guests lived through it, and vmpilotd stops cleanly. */
	assert_true(vmp_guest_alive(f->g));
	assert_int_equal(daemon_stop(f), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dashboard, setup, teardown),
	};

	vmp_guest_require();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
