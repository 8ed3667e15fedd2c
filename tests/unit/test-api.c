/* SPDX-License-Identifier: MIT */
/*
 * Tests of the HTTP API (daemon/api.c) over real transports: libmicrohttpd on a unix
 * socket and on 127.0.0.1 with TLS (certificates made by tests/lib/make-certs.sh with
 * certtool), the real client (cli/client.c, libcurl), the status and metrics of a real
 * loop on test:///default. Peer credentials: root reads and writes; nobody (a forked
 * child that drops to uid 65534) is refused with 403 and audited. TLS: a client
 * certificate of the CA (read, or admin by CN), bearer tokens by their SHA-256, no or
 * wrong credentials (401, audited), a certificate of another CA, a client that does not
 * trust the server, plain HTTP on the TLS port. Malformed, oversized and unknown
 * requests get 400/404/405/413 and the server keeps serving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/client.h"
#include "daemon/api.h"
#include "daemon/loop.h"
#include "daemon/publish.h"
#include "daemon/ui.h"
#include "util/util.h"

/* sha256("readtok") */
#define READ_SHA "cec3eaba8f3b30ba7a69ab2f9293bf029ce99f5458df6c6dfb28039634e349e7"

struct fx {
	char dir[64], sock[96], uri[128], tls[192], tls_admin[512], tls_reader[512];
	char tls_rogue[512], tls_untrusting[192];
	int port;
	struct vmp_config cfg;
	struct vmp_loop *l;
	struct vmp_api *api;
};

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
	return xstrdup(out);
}

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *uris[1] = { "test:///default" };
	struct vmp_loop_options lo = { .uris = uris, .n_uris = 1, .dry_run = true };
	struct vmp_publish_info in = { .time_ms = 1795000000000 };
	struct vmp_api_options o = { 0 };
	char cmd[256], listen_on[64], cert[96], key[96], ca[96], *tokens, *rs, *as, *err = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/vmp-api-XXXXXX");
	if (!mkdtemp(f->dir) || chmod(f->dir, 0711) < 0)   /* nobody reaches the socket */
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s/lib/make-certs.sh' '%s'", getenv("VMP_TESTS_DIR"), f->dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the test certificates\n");
		return -1;
	}
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	snprintf(f->uri, sizeof(f->uri), "vmpilot://%s", f->sock);
	f->port = free_port();
	snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", f->port);
	snprintf(f->tls, sizeof(f->tls), "vmpilots://127.0.0.1:%d?ca=%s/ca.pem", f->port, f->dir);
	snprintf(f->tls_untrusting, sizeof(f->tls_untrusting), "vmpilots://127.0.0.1:%d", f->port);
	snprintf(f->tls_admin, sizeof(f->tls_admin), "%s&cert=%s/admin.pem&key=%s/admin.key",
		 f->tls, f->dir, f->dir);
	snprintf(f->tls_reader, sizeof(f->tls_reader), "%s&cert=%s/reader.pem&key=%s/reader.key",
		 f->tls, f->dir, f->dir);
	snprintf(f->tls_rogue, sizeof(f->tls_rogue), "%s&cert=%s/rogue.pem&key=%s/rogue.key",
		 f->tls, f->dir, f->dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", f->dir);
	snprintf(key, sizeof(key), "%s/server.key", f->dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", f->dir);
	rs = sha256_hex("readtok");
	as = sha256_hex("admintok");
	tokens = xasprintf("read:%s, admin:%s", rs, as);
	free(rs);
	free(as);

	vmp_config_init(&f->cfg);
	lo.cfg = &f->cfg;
	if (vmp_loop_new(&lo, &f->l, &err) < 0 || vmp_loop_cycle(f->l, 1000, in.time_ms, NULL) < 0)
		return -1;
	o.socket_path = f->sock;
	o.group = "vmpilot-test-no-such-group";
	o.listen = listen_on;
	o.tls_cert = cert;
	o.tls_key = key;
	o.tls_ca = ca;
	o.admin_cns = "someone, admin1";
	o.tokens = tokens;
	if (vmp_api_start(&o, &f->api, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	free(tokens);
	vmp_api_publish(f->api, vmp_publish_status(f->l, &in), vmp_publish_metrics(f->l, &in));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	vmp_api_stop(f->api);
	vmp_loop_free(f->l);
	vmp_config_release(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

/* A request through the real client; returns the status (< 0: transport error). */
static int
req(const char *uri, const char *method, const char *path, const char *body, char **ret_body)
{
	char *b = NULL, *err = NULL;
	int r = vmp_client_request(uri, method, path, body, 10000, &b, &err);

	if (r < 0) {
		printf("%s %s: %s\n", method, path, err);
		free(err);
		b = NULL;
	}
	if (ret_body)
		*ret_body = b;
	else
		free(b);
	return r;
}

/* The queued commands and audits, as "KIND STATUS WHO: WHAT" lines. */
static char *
take(struct fx *f)
{
	struct vmp_api_cmd *c = NULL;
	uint64_t dropped;
	size_t n, i;
	char *out = xstrdup(""), *next;

	n = vmp_api_take(f->api, &c, &dropped);
	for (i = 0; i < n; i++) {
		next = xasprintf("%s%d %u %s: %s\n", out, (int)c[i].kind, c[i].status, c[i].who,
				 c[i].what);
		free(out);
		out = next;
		vmp_api_cmd_release(&c[i]);
	}
	free(c);
	printf("%s", out);
	return out;
}

static void
test_unix_root(void **state)
{
	struct fx *f = *state;
	char *body = NULL, *q;
	json_t *o;

	assert_int_equal(req(f->uri, "GET", "/api/v1/status", NULL, &body), 200);
	o = json_loads(body, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
		json_array_get(json_object_get(o, "hosts"), 0), "vms"), 0), "name")), "test");
	json_decref(o);
	free(body);
	assert_int_equal(req(f->uri, "GET", "/metrics", NULL, &body), 200);
	assert_non_null(strstr(body, "vmpilot_vm_memory_allocation_bytes{host=\"test:///default\","
				     "vm=\"test\"} 2147483648\n"));
	free(body);
	/* Root administers: the write is queued with who asked. */
	assert_int_equal(req(f->uri, "POST", "/api/v1/loop/pause", "{}", NULL), 202);
	assert_int_equal(req(f->uri, "POST", "/api/v1/mode", "{\"vm\":\"test\",\"mode\":\"advise\"}",
			     NULL), 202);
	q = take(f);
	assert_non_null(strstr(q, "1 202 uid 0 (root) pid "));
	assert_non_null(strstr(q, "POST /api/v1/loop/pause"));
	assert_non_null(strstr(q, "4 202 uid 0 (root)"));
	assert_non_null(strstr(q, "vm test mode advise"));
	free(q);
}

/* A user who is neither root nor in api_group: 403, audited with the uid. */
static void
test_unix_other_user_refused(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;
	char *q;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		r = req(f->uri, "GET", "/api/v1/status", NULL, NULL);
		_exit(r == 403 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	q = take(f);
	assert_non_null(strstr(q, "0 403 uid 65534 "));
	assert_non_null(strstr(q, "GET /api/v1/status: 403"));
	free(q);
}

static void
test_bad_requests(void **state)
{
	struct fx *f = *state;
	char *body = NULL, *big, *path;

	assert_int_equal(req(f->uri, "POST", "/api/v1/mode", "{\"vm\":", &body), 400);
	printf("%s\n", body);
	assert_non_null(strstr(body, "body:1:"));
	free(body);
	assert_int_equal(req(f->uri, "POST", "/api/v1/mode", "{\"vm\":\"test\",\"mode\":\"fast\"}",
			     &body), 400);
	free(body);
	assert_int_equal(req(f->uri, "POST", "/api/v1/mode", "{\"vm\":\"test\",\"mode\":\"act\","
			     "\"rm\":1}", &body), 400);
	assert_non_null(strstr(body, "unknown key 'rm'"));
	free(body);
	assert_int_equal(req(f->uri, "POST", "/api/v1/mode", "{\"vm\":7}", NULL), 400);
	assert_int_equal(req(f->uri, "POST", "/api/v1/pin", "{\"vm\":\"nosuchvm\"}", &body), 404);
	free(body);
	assert_int_equal(req(f->uri, "GET", "/api/v1/nothing", NULL, NULL), 404);
	assert_int_equal(req(f->uri, "DELETE", "/api/v1/status", NULL, NULL), 405);
	assert_int_equal(req(f->uri, "GET", "/api/v1/decisions?limit=0", NULL, &body), 404);
	free(body);   /* this daemon has no journal */
	/* A body over 64 KiB. */
	big = xmalloc(100 * 1024 + 1);
	memset(big, 'x', 100 * 1024);
	big[100 * 1024] = '\0';
	assert_int_equal(req(f->uri, "POST", "/api/v1/mode", big, NULL), 413);
	/* A request line over the connection's memory: refused by libmicrohttpd. */
	path = xasprintf("/api/v1/status?vm=%.40000s", big);
	{
		int r = req(f->uri, "GET", path, NULL, NULL);

		printf("40 KB URL: %d\n", r);
		assert_true(r >= 400 && r < 500);
	}
	free(path);
	free(big);
	/* Still serving. */
	assert_int_equal(req(f->uri, "GET", "/api/v1/status", NULL, NULL), 200);
	free(take(f));
}

static void
test_tls(void **state)
{
	struct fx *f = *state;
	char *q, *body = NULL;
	int r;

	/* A client certificate of the CA: CN admin1 administers, reader1 reads. */
	assert_int_equal(req(f->tls_admin, "GET", "/api/v1/status", NULL, NULL), 200);
	assert_int_equal(req(f->tls_admin, "POST", "/api/v1/loop/resume", "{}", NULL), 202);
	assert_int_equal(req(f->tls_reader, "GET", "/metrics", NULL, NULL), 200);
	assert_int_equal(req(f->tls_reader, "POST", "/api/v1/loop/cycle", "{}", NULL), 403);
	q = take(f);
	assert_non_null(strstr(q, "2 202 127.0.0.1 port "));
	assert_non_null(strstr(q, "cert CN=admin1: POST /api/v1/loop/resume"));
	assert_non_null(strstr(q, "0 403 127.0.0.1 port "));
	assert_non_null(strstr(q, "cert CN=reader1: POST /api/v1/loop/cycle: 403"));
	free(q);
	/* No credentials, a wrong token, a certificate of another CA: 401, audited. */
	assert_int_equal(req(f->tls, "GET", "/api/v1/status", NULL, &body), 401);
	free(body);
	setenv("VMPILOT_TOKEN", "wrong", 1);
	assert_int_equal(req(f->tls, "GET", "/api/v1/status", NULL, NULL), 401);
	unsetenv("VMPILOT_TOKEN");
	r = req(f->tls_rogue, "GET", "/api/v1/status", NULL, NULL);
	printf("rogue certificate: %d\n", r);
	assert_true(r == 401 || r < 0);   /* refused at the handshake or by the API */
	q = take(f);
	assert_non_null(strstr(q, "0 401 127.0.0.1 port "));
	assert_non_null(strstr(q, "with a wrong bearer token: GET /api/v1/status: 401"));
	free(q);
	/* Tokens by role. */
	setenv("VMPILOT_TOKEN", "readtok", 1);
	assert_int_equal(req(f->tls, "GET", "/api/v1/status", NULL, NULL), 200);
	assert_int_equal(req(f->tls, "POST", "/api/v1/loop/pause", "{}", NULL), 403);
	setenv("VMPILOT_TOKEN", "admintok", 1);
	assert_int_equal(req(f->tls, "POST", "/api/v1/loop/pause", "{}", NULL), 202);
	unsetenv("VMPILOT_TOKEN");
	free(take(f));
	/* A client that does not trust the server's certificate does not talk to it. */
	assert_true(req(f->tls_untrusting, "GET", "/api/v1/status", NULL, NULL) < 0);
	/* Plain HTTP on the TLS port: the connection fails, the server goes on. */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		const char plain[] = "GET /api/v1/status HTTP/1.0\r\n\r\n";
		char buf[256];
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		ssize_t n;

		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(write(fd, plain, sizeof(plain) - 1), (ssize_t)sizeof(plain) - 1);
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		assert_null(strstr(buf, "\"hosts\""));
		close(fd);
	}
	assert_int_equal(req(f->tls_admin, "GET", "/api/v1/status", NULL, NULL), 200);
}

/* One raw HTTP/1.0 GET over the unix socket: the whole answer, headers included. */
static char *
raw_get(struct fx *f, const char *path, size_t *ret_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *out = NULL, *rq = xasprintf("GET %s HTTP/1.0\r\n\r\n", path);
	size_t len = 0, alloc = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, rq, strlen(rq)), (ssize_t)strlen(rq));
	do {
		xgrow((void **)&out, &alloc, len + 4097, 1);
		n = read(fd, out + len, 4096);
		len += n > 0 ? (size_t)n : 0;
	} while (n > 0);
	out[len] = '\0';
	close(fd);
	free(rq);
	*ret_len = len;
	return out;
}

/*
 * The dashboard's files are compiled in and served byte for byte with their type and
 * the security headers; they need the read role like the rest of the API.
 */
static void
test_dashboard_files(void **state)
{
	struct fx *f = *state;
	size_t i, len;
	char *body = NULL, *ans, *type;

	assert_true(vmp_ui_n_files >= 6);
	assert_non_null(vmp_ui_find("/"));
	assert_non_null(vmp_ui_find("/uPlot.iife.min.js"));
	assert_null(vmp_ui_find("/index.html"));
	assert_null(vmp_ui_find("/../dashboard.js"));
	for (i = 0; i < vmp_ui_n_files; i++) {
		const struct vmp_ui_file *u = &vmp_ui_files[i];

		printf("%s %s %zu bytes\n", u->path, u->type, u->len);
		assert_true(u->len > 100);
		assert_int_equal(u->data[u->len], 0);
		ans = raw_get(f, u->path, &len);
		assert_true(len > u->len);
		assert_non_null(strstr(ans, "HTTP/1.0 200") ? ans : strstr(ans, "HTTP/1.1 200"));
		type = xasprintf("Content-Type: %s\r\n", u->type);
		assert_non_null(strstr(ans, type));
		free(type);
		assert_non_null(strstr(ans, "Content-Security-Policy: " VMP_UI_CSP "\r\n"));
		assert_non_null(strstr(ans, "X-Content-Type-Options: nosniff\r\n"));
		assert_non_null(strstr(ans, "X-Frame-Options: DENY\r\n"));
		assert_non_null(strstr(ans, "Referrer-Policy: no-referrer\r\n"));
		assert_memory_equal(ans + len - u->len, u->data, u->len);
		free(ans);
	}
	/* The page loads its scripts and styles from the daemon only. */
	assert_non_null(strstr((const char *)vmp_ui_find("/")->data, "src=\"uPlot.iife.min.js\""));
	assert_null(strstr((const char *)vmp_ui_find("/")->data, "http:"));
	assert_null(strstr((const char *)vmp_ui_find("/")->data, "https:"));
	/* The same rules as the read API: a read token reads it, nothing else does. */
	assert_int_equal(req(f->tls, "GET", "/", NULL, &body), 401);
	free(body);
	setenv("VMPILOT_TOKEN", "readtok", 1);
	assert_int_equal(req(f->tls, "GET", "/", NULL, &body), 200);
	assert_non_null(strstr(body, "<title>vmpilot dashboard</title>"));
	free(body);
	assert_int_equal(req(f->tls, "POST", "/", "{}", NULL), 405);
	unsetenv("VMPILOT_TOKEN");
	assert_int_equal(req(f->uri, "GET", "/index.html", NULL, NULL), 404);
	assert_int_equal(req(f->uri, "GET", "/dashboard.js/", NULL, NULL), 404);
	free(take(f));
}

/* What ctl's writes do once the loop's thread applies them: modes and pins in the status. */
static void
test_overrides_in_status(void **state)
{
	struct fx *f = *state;
	struct vmp_publish_info in = { .time_ms = 1795000001000 };
	json_t *s, *vm, *host;

	assert_int_equal(vmp_loop_set_mode(f->l, 0, NULL, VMP_MODE_OFF), 0);
	assert_int_equal(vmp_loop_set_mode(f->l, 0, "test", VMP_MODE_ACT), 0);
	assert_int_equal(vmp_loop_set_pinned(f->l, 0, "test", true), 0);
	assert_int_equal(vmp_loop_set_mode(f->l, 7, NULL, VMP_MODE_OFF), -EINVAL);
	assert_int_equal(vmp_loop_cycle(f->l, 2000, in.time_ms, NULL), 0);
	s = vmp_publish_status(f->l, &in);
	host = json_array_get(json_object_get(s, "hosts"), 0);
	vm = json_array_get(json_object_get(host, "vms"), 0);
	assert_string_equal(json_string_value(json_object_get(host, "mode")), "off");
	assert_string_equal(json_string_value(json_object_get(vm, "mode")), "act");
	assert_string_equal(json_string_value(json_object_get(vm, "mode_source")), "api [vm]");
	assert_true(json_is_true(json_object_get(vm, "pinned")));
	json_decref(s);
	/* Cleared: the VM follows its host's override again. */
	assert_int_equal(vmp_loop_set_mode(f->l, 0, "test", VMP_MODE_INHERIT), 0);
	assert_int_equal(vmp_loop_cycle(f->l, 3000, in.time_ms + 1000, NULL), 0);
	s = vmp_publish_status(f->l, &in);
	vm = json_array_get(json_object_get(json_array_get(json_object_get(s, "hosts"), 0), "vms"), 0);
	assert_string_equal(json_string_value(json_object_get(vm, "mode")), "off");
	assert_string_equal(json_string_value(json_object_get(vm, "mode_source")), "api [host]");
	json_decref(s);
}

static void
test_parsers(void **state)
{
	struct vmp_api_token *t = NULL;
	struct vmp_client_uri u;
	char *tok = NULL, *err = NULL;

	(void)state;
	assert_int_equal(vmp_api_parse_bearer("Bearer abc", &tok), 0);
	assert_string_equal(tok, "abc");
	free(tok);
	assert_int_equal(vmp_api_parse_bearer("bearer  x-y_z.1  ", &tok), 0);
	assert_string_equal(tok, "x-y_z.1");
	free(tok);
	assert_int_equal(vmp_api_parse_bearer("Basic abc", &tok), -EINVAL);
	assert_int_equal(vmp_api_parse_bearer("Bearer a b", &tok), -EINVAL);
	assert_int_equal(vmp_api_parse_bearer("Bearer ", &tok), -EINVAL);
	assert_int_equal(vmp_api_parse_tokens("read:" READ_SHA, &t, &err), 1);
	assert_int_equal(t[0].role, VMP_API_READ);
	assert_int_equal(t[0].sha256[0], 0xce);
	free(t);
	assert_int_equal(vmp_api_parse_tokens("read:" READ_SHA ",root:" READ_SHA, &t, &err), -EINVAL);
	assert_string_equal(err, "api_tokens: entry 2: want read:SHA256 or admin:SHA256 "
			    "(64 hex digits)");
	free(err);
	assert_int_equal(vmp_api_parse_tokens("admin:abc", &t, &err), -EINVAL);
	free(err);
	assert_int_equal(vmp_client_uri_parse("vmpilot:///run/x.sock", &u, &err), 0);
	assert_string_equal(u.socket, "/run/x.sock");
	vmp_client_uri_release(&u);
	assert_int_equal(vmp_client_uri_parse("vmpilots://h:8443?ca=/a.pem&cert=/c&key=/k", &u,
					      &err), 0);
	assert_string_equal(u.base, "https://h:8443");
	assert_string_equal(u.ca, "/a.pem");
	vmp_client_uri_release(&u);
	assert_int_equal(vmp_client_uri_parse("vmpilots://h:1?cert=/c", &u, &err), -EINVAL);
	assert_string_equal(err, "'vmpilots://h:1?cert=/c': cert and key go together");
	free(err);
	assert_int_equal(vmp_client_uri_parse("vmpilots://h:1?ca=rel", &u, &err), -EINVAL);
	free(err);
	assert_int_equal(vmp_client_uri_parse("vmpilot://host/x", &u, &err), -EINVAL);
	free(err);
	assert_int_equal(vmp_client_uri_parse("http://h:1", &u, &err), -EINVAL);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test_setup_teardown(test_unix_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_other_user_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dashboard_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrides_in_status, setup, teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
