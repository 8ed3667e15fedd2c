/* SPDX-License-Identifier: MIT */
/* Real etcd clusters (/usr/bin/etcd processes on loopback ports) for tests and benchmarks. See etcdharness.h. */
#include "etcdharness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define MAX_MEMBERS 5

struct member {
	char name[8];
	unsigned client_port;
	unsigned peer_port;
	char client_url[64];
	pid_t pid;
};

struct vmp_etcd_cluster {
	char *dir;
	unsigned n;
	struct member m[MAX_MEMBERS];
	char *endpoints;
	char *initial_cluster;
	char token[48];
	pid_t owner;                   /* the process that started it: only it stops it */
	bool port_taken;               /* a member exited: another process took its port */
	struct vmp_etcd_cluster *next; /* in the list the exit handler stops */
};

static struct vmp_etcd_cluster *live;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort();
	return p;
}

static char *
xasprintf_cat(char *s, const char *sep, const char *add)
{
	char *r = NULL;

	if (asprintf(&r, "%s%s%s", s ? s : "", s ? sep : "", add) < 0)
		abort();
	free(s);
	return r;
}

void
vmp_etcd_require(void)
{
	if (access(VMP_ETCD_BINARY, X_OK) == 0)
		return;
	fprintf(stderr, "\n*** SKIPPING real-etcd tests: no %s (package etcd-server) ***\n\n",
		VMP_ETCD_BINARY);
	if (getenv("CI") || getenv("VMP_REQUIRE_VMS"))
		exit(1);
	exit(77);
}

/*
 * n free TCP ports on 127.0.0.1: every socket stays bound until all are chosen, so the
 * ports differ; another process may still take one before etcd binds it (start fails
 * then, loudly, with etcd's "address already in use" in the log).
 */
static int
free_ports(unsigned n, unsigned *ports)
{
	int fds[2 * MAX_MEMBERS];
	unsigned i, got = 0;
	int r = 0;

	for (i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0) {
			r = -errno;
			break;
		}
		got++;
		if (bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&a, &len) < 0) {
			r = -errno;
			break;
		}
		ports[i] = ntohs(a.sin_port);
	}
	for (i = 0; i < got; i++)
		close(fds[i]);
	if (r < 0)
		fprintf(stderr, "etcdharness: cannot find a free port: %s\n", strerror(-r));
	return r;
}

static void
dump_log(const struct vmp_etcd_cluster *c, unsigned i)
{
	char path[4096], line[4096];
	FILE *in;
	long size;

	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->m[i].name);
	in = fopen(path, "r");
	if (!in)
		return;
	/* the last 8 KiB: etcd logs a lot and the end says why it stopped */
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	if (size > 8192)
		fseek(in, size - 8192, SEEK_SET);
	else
		rewind(in);
	fprintf(stderr, "--- %s (end)\n", path);
	while (fgets(line, sizeof(line), in))
		fputs(line, stderr);
	fclose(in);
}

/* Whether member i's log holds text. */
static bool
log_says(const struct vmp_etcd_cluster *c, unsigned i, const char *text)
{
	char path[4096], line[4096];
	bool found = false;
	FILE *in;

	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->m[i].name);
	in = fopen(path, "r");
	if (!in)
		return false;
	while (!found && fgets(line, sizeof(line), in))
		found = strstr(line, text) != NULL;
	fclose(in);
	return found;
}

/* Forks and executes etcd for member i, its output in dir/NAME.log. */
static int
spawn(struct vmp_etcd_cluster *c, unsigned i)
{
	struct member *m = &c->m[i];
	char data[4096], log[4096], client[64], peer[64];
	pid_t parent = getpid(), pid;

	snprintf(data, sizeof(data), "%s/%s", c->dir, m->name);
	snprintf(log, sizeof(log), "%s/%s.log", c->dir, m->name);
	snprintf(client, sizeof(client), "http://127.0.0.1:%u", m->client_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%u", m->peer_port);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		fprintf(stderr, "etcdharness: cannot fork: %s\n", strerror(errno));
		return r;
	}
	if (pid == 0) {
		char hb[16], el[16];
		const char *argv[] = {
			VMP_ETCD_BINARY, "--name", m->name, "--data-dir", data,
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", c->initial_cluster,
			"--initial-cluster-token", c->token,
			"--initial-cluster-state", "new",
			"--heartbeat-interval", hb, "--election-timeout", el,
			"--logger", "zap", "--log-outputs", "stderr",
			NULL,
		};
		int fd;

		snprintf(hb, sizeof(hb), "%u", VMP_ETCD_HEARTBEAT_MS);
		snprintf(el, sizeof(el), "%u", VMP_ETCD_ELECTION_MS);
		/* dies with the test, however the test ends */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(125);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO);
		/* the etcd-server package's environment (ETCD_*) must not reach our members */
		clearenv();
		setenv("PATH", "/usr/bin:/bin", 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	m->pid = pid;
	return 0;
}

/* 0 if member i still runs; -ECHILD (reaped, log dumped) if it exited. */
static int
check_alive(struct vmp_etcd_cluster *c, unsigned i)
{
	int status;

	if (c->m[i].pid <= 0)
		return -ECHILD;
	if (waitpid(c->m[i].pid, &status, WNOHANG) != c->m[i].pid)
		return 0;
	c->m[i].pid = -1;
	fprintf(stderr, "etcdharness: etcd member %s exited (%s %d)\n", c->m[i].name,
		WIFSIGNALED(status) ? "signal" : "status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	dump_log(c, i);
	c->port_taken = log_says(c, i, "address already in use");
	return -ECHILD;
}

struct body {
	char buf[1024];
	size_t len;
};

static size_t
body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb, room = sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, data, n < room ? n : room);
	b->len += n < room ? n : room;
	b->buf[b->len] = '\0';
	return n;
}

/*
 * One HTTP request to url (POST with post non-NULL) within timeout_ms. Returns the HTTP
 * status (body in *b), or -EIO (cannot connect), -ETIMEDOUT.
 */
static int
http(const char *url, const char *post, unsigned timeout_ms, struct body *b)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long code = 0;
	CURLcode rc;

	if (!h)
		abort();
	b->len = 0;
	b->buf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 1));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (post) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (rc != CURLE_OK)
		return -EIO;
	return (int)code;
}

int
vmp_etcd_cluster_member_health(const struct vmp_etcd_cluster *c, unsigned i, unsigned timeout_ms)
{
	char url[96];
	struct body b;
	int r;

	if (!c || i >= c->n)
		return -EINVAL;
	snprintf(url, sizeof(url), "%s/health", c->m[i].client_url);
	r = http(url, NULL, timeout_ms, &b);
	if (r < 0)
		return r;
	/* {"health":"true"} (3.4 also adds "reason" in later releases) */
	return r == 200 && strstr(b.buf, "\"health\":\"true\"") ? 1 : 0;
}

/* Waits until member i is healthy or the deadline passes. */
static int
wait_member(struct vmp_etcd_cluster *c, unsigned i, int64_t deadline)
{
	int r, last = -EIO;

	for (;;) {
		r = check_alive(c, i);
		if (r < 0)
			return r;
		last = vmp_etcd_cluster_member_health(c, i, 1000);
		if (last == 1)
			return 0;
		if (now_ms() > deadline)
			break;
		sleep_ms(100);
	}
	fprintf(stderr, "etcdharness: etcd member %s at %s not healthy after %d ms (%s)\n",
		c->m[i].name, c->m[i].client_url, VMP_ETCD_START_TIMEOUT_MS,
		last == 0 ? "answers unhealthy" : strerror(-last));
	dump_log(c, i);
	return -ETIMEDOUT;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* At exit of the process that started them; a forked child that calls exit() leaves them alone. */
static void
exit_handler(void)
{
	while (live) {
		struct vmp_etcd_cluster *c = live;

		if (c->owner != getpid()) {
			live = c->next;
			continue;
		}
		vmp_etcd_cluster_stop(c);
	}
}

static int
start_once(const char *dir, unsigned nmembers, struct vmp_etcd_cluster **ret, bool *ret_port_taken)
{
	static int registered;
	struct vmp_etcd_cluster *c;
	unsigned ports[2 * MAX_MEMBERS];
	int64_t deadline;
	unsigned i;
	int r;

	if (!dir || nmembers < 1 || nmembers > MAX_MEMBERS)
		return -EINVAL;
	if (access(VMP_ETCD_BINARY, X_OK) != 0) {
		fprintf(stderr, "etcdharness: cannot run %s (package etcd-server): %s\n",
			VMP_ETCD_BINARY, strerror(errno));
		return -ENOENT;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		fprintf(stderr, "etcdharness: cannot create '%s': %s\n", dir, strerror(errno));
		return r;
	}
	r = free_ports(2 * nmembers, ports);
	if (r < 0)
		return r;
	if (!registered) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		atexit(exit_handler);
		registered = 1;
	}
	c = xcalloc(1, sizeof(*c));
	c->dir = strdup(dir);
	if (!c->dir)
		abort();
	c->n = nmembers;
	c->owner = getpid();
	snprintf(c->token, sizeof(c->token), "vmp-test-%ld-%lld", (long)getpid(),
		 (long long)now_ms());
	for (i = 0; i < nmembers; i++) {
		struct member *m = &c->m[i];
		char peer[96];

		snprintf(m->name, sizeof(m->name), "m%u", i);
		m->client_port = ports[2 * i];
		m->peer_port = ports[2 * i + 1];
		m->pid = -1;
		snprintf(m->client_url, sizeof(m->client_url), "http://127.0.0.1:%u", m->client_port);
		snprintf(peer, sizeof(peer), "%s=http://127.0.0.1:%u", m->name, m->peer_port);
		c->initial_cluster = xasprintf_cat(c->initial_cluster, ",", peer);
		c->endpoints = xasprintf_cat(c->endpoints, ",", m->client_url);
	}
	c->next = live;
	live = c;
	for (i = 0; i < nmembers; i++) {
		r = spawn(c, i);
		if (r < 0)
			goto out;
	}
	deadline = now_ms() + VMP_ETCD_START_TIMEOUT_MS;
	for (i = 0; i < nmembers; i++) {
		r = wait_member(c, i, deadline);
		if (r < 0)
			goto out;
	}
	*ret = c;
	return 0;
out:
	*ret_port_taken = c->port_taken;
	vmp_etcd_cluster_stop(c);
	return r;
}

int
vmp_etcd_cluster_start(const char *dir, unsigned nmembers, struct vmp_etcd_cluster **ret)
{
	int attempt, r = -EIO;

	/* a free port may be taken by another process before etcd binds it: new ports, again */
	for (attempt = 0; attempt < 3; attempt++) {
		bool port_taken = false;

		r = start_once(dir, nmembers, ret, &port_taken);
		if (r != -ECHILD || !port_taken)
			break;
		fprintf(stderr, "etcdharness: a port was taken meanwhile: starting again on new ports\n");
	}
	return r;
}

unsigned
vmp_etcd_cluster_size(const struct vmp_etcd_cluster *c)
{
	return c ? c->n : 0;
}

const char *
vmp_etcd_cluster_endpoints(const struct vmp_etcd_cluster *c)
{
	return c ? c->endpoints : NULL;
}

const char *
vmp_etcd_cluster_endpoint(const struct vmp_etcd_cluster *c, unsigned i)
{
	return c && i < c->n ? c->m[i].client_url : NULL;
}

pid_t
vmp_etcd_cluster_pid(const struct vmp_etcd_cluster *c, unsigned i)
{
	return c && i < c->n ? c->m[i].pid : -1;
}

int
vmp_etcd_cluster_kill(struct vmp_etcd_cluster *c, unsigned i)
{
	if (!c || i >= c->n)
		return -EINVAL;
	if (c->m[i].pid <= 0)
		return -ESRCH;
	kill(c->m[i].pid, SIGKILL);
	waitpid(c->m[i].pid, NULL, 0);
	c->m[i].pid = -1;
	return 0;
}

/* Whether every thread of pid is stopped ('T' in /proc/PID/task/TID/stat); -errno if unreadable. */
static int
all_stopped(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int r = 1, seen = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d)) && r == 1) {
		char stat[600], buf[512], *p;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(stat, sizeof(stat), "%s/%s/stat", path, e->d_name);
		f = fopen(stat, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* "TID (comm) S ...": the state follows the last ')' */
		if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
			r = 0;
		seen++;
	}
	closedir(d);
	return seen ? r : -ESRCH;
}

int
vmp_etcd_cluster_pause(struct vmp_etcd_cluster *c, unsigned i, int pause)
{
	int64_t deadline = now_ms() + 5000;
	int r;

	if (!c || i >= c->n)
		return -EINVAL;
	if (c->m[i].pid <= 0)
		return -ESRCH;
	if (kill(c->m[i].pid, pause ? SIGSTOP : SIGCONT) < 0)
		return -errno;
	/* kill() returns before the stop (or the resumption) is done: wait for it */
	while ((r = all_stopped(c->m[i].pid)) != (pause ? 1 : 0)) {
		if (r < 0)
			return r;
		if (now_ms() > deadline) {
			fprintf(stderr, "etcdharness: etcd member %s not %s 5 s after %s\n",
				c->m[i].name, pause ? "stopped" : "running",
				pause ? "SIGSTOP" : "SIGCONT");
			return -ETIMEDOUT;
		}
		sleep_ms(5);
	}
	return 0;
}

int
vmp_etcd_cluster_restart(struct vmp_etcd_cluster *c, unsigned i)
{
	int r;

	if (!c || i >= c->n)
		return -EINVAL;
	if (c->m[i].pid > 0)
		vmp_etcd_cluster_kill(c, i);
	r = spawn(c, i);
	if (r < 0)
		return r;
	return wait_member(c, i, now_ms() + VMP_ETCD_START_TIMEOUT_MS);
}

static void
base64(const char *in, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16 |
			     (uint32_t)(unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

int
vmp_etcd_cluster_put(const struct vmp_etcd_cluster *c, const char *key, const char *value,
		     unsigned timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	char *k, *v, *post = NULL;
	struct body b;
	int r = -ETIMEDOUT;

	if (!c || !key || !value)
		return -EINVAL;
	k = xcalloc(1, strlen(key) / 3 * 4 + 8);
	v = xcalloc(1, strlen(value) / 3 * 4 + 8);
	base64(key, k);
	base64(value, v);
	if (asprintf(&post, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v) < 0)
		abort();
	while (r < 0) {
		unsigned i, tried = 0;

		for (i = 0; i < c->n; i++) {
			char url[96];
			int64_t left = deadline - now_ms();
			int h;

			if (c->m[i].pid <= 0)
				continue;
			if (left <= 0)
				goto out;
			tried++;
			snprintf(url, sizeof(url), "%s/v3/kv/put", c->m[i].client_url);
			/* a member without quorum holds the request: give the others a turn */
			h = http(url, post, (unsigned)(left < 2000 ? left : 2000), &b);
			/* a success carries the header with the new revision */
			if (h == 200 && strstr(b.buf, "\"revision\"")) {
				r = 0;
				goto out;
			}
		}
		if (!tried) {
			r = -EIO;
			goto out;
		}
		if (now_ms() >= deadline)
			goto out;
		sleep_ms(50);
	}
out:
	free(post);
	free(k);
	free(v);
	return r;
}

void
vmp_etcd_cluster_stop(struct vmp_etcd_cluster *c)
{
	struct vmp_etcd_cluster **p;
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		if (c->m[i].pid > 0) {
			kill(c->m[i].pid, SIGKILL);
			waitpid(c->m[i].pid, NULL, 0);
			c->m[i].pid = -1;
		}
	for (p = &live; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	nftw(c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(c->dir);
	free(c->endpoints);
	free(c->initial_cluster);
	free(c);
}
