/* SPDX-License-Identifier: MIT */
/* The HTTP API: transport, authentication, routes and handlers (see api.h, doc/api.md). */
#include "daemon/api.h"
#include "daemon/journal.h"
#include "daemon/loop.h"
#include "daemon/state.h"
#include "daemon/ui.h"
#include "util/fileio.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#define BODY_MAX (64u * 1024)
#define QUEUE_MAX 4096
#define DECISIONS_MAX 10000
#define WHO_MAX 256

enum listener { LISTEN_UNIX, LISTEN_TLS };

struct vmp_api {
	struct vmp_api_options o;        /* strings owned (copied) */
	char *socket_path;
	struct MHD_Daemon *unix_d, *tls_d;
	char *tls_cert, *tls_key, *tls_ca;  /* PEM text */
	struct vmp_api_token *tokens;
	size_t n_tokens;
	bool have_group, have_admin_group;
	gid_t group_gid, admin_gid;
	struct vmp_state *state;         /* read-only, opened on first use (under state_lock) */
	pthread_mutex_t state_lock;
	pthread_mutex_t lock;            /* guards everything below */
	json_t *status;
	char *metrics;
	struct vmp_api_cmd *queue;
	size_t n_queue, alloc_queue;
	uint64_t dropped, served, refused;
};

const char *
vmp_api_role_name(enum vmp_api_role r)
{
	static const char *const names[VMP_API_ROLE_MAX] = {
		[VMP_API_NONE] = "none", [VMP_API_READ] = "read", [VMP_API_ADMIN] = "admin",
	};

	return (unsigned)r < VMP_API_ROLE_MAX ? names[r] : "?";
}

/* ---- tokens ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
vmp_api_parse_tokens(const char *s, struct vmp_api_token **ret, char **ret_err)
{
	struct vmp_api_token *t = NULL;
	size_t n = 0, alloc = 0, entry = 0;
	const char *p = s;

	while (p && *p) {
		const char *end = strchr(p, ','), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p), rl, i;
		struct vmp_api_token tok;

		entry++;
		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		colon = memchr(p, ':', len);
		rl = colon ? (size_t)(colon - p) : 0;
		if (colon && rl == 4 && !strncmp(p, "read", 4))
			tok.role = VMP_API_READ;
		else if (colon && rl == 5 && !strncmp(p, "admin", 5))
			tok.role = VMP_API_ADMIN;
		else
			goto bad;
		if (len - rl - 1 != 64)
			goto bad;
		for (i = 0; i < 32; i++) {
			int hi = hexval((unsigned char)colon[1 + 2 * i]);
			int lo = hexval((unsigned char)colon[2 + 2 * i]);

			if (hi < 0 || lo < 0)
				goto bad;
			tok.sha256[i] = (uint8_t)(hi << 4 | lo);
		}
		xgrow((void **)&t, &alloc, n + 1, sizeof(*t));
		t[n++] = tok;
		p = end ? end + 1 : NULL;
	}
	*ret = t;
	return (int)n;
bad:
	free(t);
	*ret_err = xasprintf("api_tokens: entry %zu: want read:SHA256 or admin:SHA256 "
			     "(64 hex digits)", entry);
	return -EINVAL;
}

int
vmp_api_parse_bearer(const char *h, char **ret_token)
{
	size_t i, len;

	if (!h || strncasecmp(h, "Bearer ", 7))
		return -EINVAL;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len && h[len - 1] == ' ')
		len--;
	if (len == 0 || len > 512)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (h[i] <= ' ' || h[i] > '~')
			return -EINVAL;
	*ret_token = xstrndup(h, len);
	return 0;
}

/* The role of a bearer token, by its SHA-256 (compared in constant time). */
static enum vmp_api_role
token_role(const struct vmp_api *a, const char *token)
{
	uint8_t h[32];
	enum vmp_api_role role = VMP_API_NONE;
	size_t i, j;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), h) < 0)
		return VMP_API_NONE;
	for (i = 0; i < a->n_tokens; i++) {
		uint8_t diff = 0;

		for (j = 0; j < 32; j++)
			diff |= (uint8_t)(h[j] ^ a->tokens[i].sha256[j]);
		if (!diff && a->tokens[i].role > role)
			role = a->tokens[i].role;
	}
	return role;
}

/* ---- the queue ---- */

void
vmp_api_cmd_release(struct vmp_api_cmd *c)
{
	free(c->host);
	free(c->vm);
	free(c->who);
	free(c->what);
	memset(c, 0, sizeof(*c));
}

/* Queues c (its strings are stolen); an audit record beyond QUEUE_MAX is counted as lost. */
static bool
enqueue(struct vmp_api *a, struct vmp_api_cmd *c)
{
	bool ok = true;

	pthread_mutex_lock(&a->lock);
	if (a->n_queue >= QUEUE_MAX) {
		a->dropped++;
		ok = false;
	} else {
		xgrow((void **)&a->queue, &a->alloc_queue, a->n_queue + 1, sizeof(*a->queue));
		a->queue[a->n_queue++] = *c;
	}
	pthread_mutex_unlock(&a->lock);
	if (!ok)
		vmp_api_cmd_release(c);
	else if (a->o.wake)
		a->o.wake(a->o.opaque);
	return ok;
}

size_t
vmp_api_take(struct vmp_api *a, struct vmp_api_cmd **ret, uint64_t *ret_dropped)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	*ret = a->queue;
	n = a->n_queue;
	*ret_dropped = a->dropped;
	a->queue = NULL;
	a->n_queue = a->alloc_queue = 0;
	a->dropped = 0;
	pthread_mutex_unlock(&a->lock);
	return n;
}

void
vmp_api_counts(struct vmp_api *a, uint64_t *ret_served, uint64_t *ret_refused)
{
	pthread_mutex_lock(&a->lock);
	*ret_served = a->served;
	*ret_refused = a->refused;
	pthread_mutex_unlock(&a->lock);
}

void
vmp_api_publish(struct vmp_api *a, json_t *status, char *metrics)
{
	json_t *old_s;
	char *old_m;

	pthread_mutex_lock(&a->lock);
	old_s = a->status;
	old_m = a->metrics;
	a->status = status;
	a->metrics = metrics;
	pthread_mutex_unlock(&a->lock);
	json_decref(old_s);
	free(old_m);
}

/* ---- responses ---- */

/* Whether s is valid UTF-8 without NUL (what JSON strings may hold). */
static bool
utf8_ok(const char *s)
{
	json_t *t = json_string(s);

	json_decref(t);
	return t != NULL;
}

/* A copy of s fit for JSON and the journal: bytes outside printable ASCII become '?'. */
static char *
printable(const char *s)
{
	char *p = xstrdup(s ? s : ""), *q;

	for (q = p; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			*q = '?';
	return p;
}

static void
respond_json(struct vmp_api_response *rs, unsigned status, json_t *o)
{
	rs->status = status;
	rs->content_type = "application/json";
	rs->body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!rs->body) {
		/* Only an object we could not build: never the client's fault to crash us. */
		rs->status = 500;
		rs->body = xstrdup("{\"error\":\"cannot encode the answer\"}");
	}
	rs->len = strlen(rs->body);
	json_decref(o);
}

static void
respond_error(struct vmp_api_response *rs, unsigned status, const char *fmt, ...)
	VMP_PRINTF(3, 4);
static void
respond_error(struct vmp_api_response *rs, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *msg, *clean;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	clean = printable(msg);
	respond_json(rs, status, json_pack("{s:s}", "error", clean));
	free(clean);
	free(msg);
}

/* A query argument; one that is not UTF-8 counts as "" (matches nothing). */
static const char *
arg(const struct vmp_api_request *rq, const char *key)
{
	const char *v = rq->arg ? rq->arg(rq->arg_ctx, key) : NULL;

	return v && !utf8_ok(v) ? "" : v;
}

/* A query argument as an integer in [min, max] (def when absent); false after a 400. */
static bool
arg_i64(const struct vmp_api_request *rq, struct vmp_api_response *rs, const char *key,
	int64_t def, int64_t min, int64_t max, int64_t *ret)
{
	const char *v = arg(rq, key);

	*ret = def;
	if (!v)
		return true;
	if (vmp_parse_i64(v, ret) < 0 || *ret < min || *ret > max) {
		respond_error(rs, 400, "query argument '%s': want an integer from %lld to %lld",
			      key, (long long)min, (long long)max);
		return false;
	}
	return true;
}

/* The published status (a new reference), or NULL before the first cycle. */
static json_t *
status_ref(struct vmp_api *a)
{
	json_t *s;

	pthread_mutex_lock(&a->lock);
	s = json_incref(a->status);
	pthread_mutex_unlock(&a->lock);
	return s;
}

/* The host (a borrowed object of status) whose uri is host, or that holds vm. */
static json_t *
find_host(json_t *status, const char *host, const char *vm)
{
	json_t *h, *v;
	size_t i, j;

	json_array_foreach(json_object_get(status, "hosts"), i, h) {
		const char *uri = json_string_value(json_object_get(h, "uri"));

		if (host) {
			if (uri && !strcmp(uri, host))
				return h;
			continue;
		}
		json_array_foreach(json_object_get(h, "vms"), j, v)
			if (vm && !strcmp(json_string_value(json_object_get(v, "name")), vm))
				return h;
	}
	if (!host && !vm && json_array_size(json_object_get(status, "hosts")) == 1)
		return json_array_get(json_object_get(status, "hosts"), 0);
	return NULL;
}

/* ---- handlers ---- */

typedef void (*handler_fn)(struct vmp_api *a, const struct vmp_api_request *rq,
			   struct vmp_api_response *rs);

static void
h_metrics(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	pthread_mutex_lock(&a->lock);
	rs->body = xstrdup(a->metrics ? a->metrics : "");
	pthread_mutex_unlock(&a->lock);
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	rs->len = strlen(rs->body);
}

static void
h_status(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	json_t *s = status_ref(a);

	if (!s) {
		respond_error(rs, 503, "no cycle has run yet");
		return;
	}
	respond_json(rs, 200, s);
}

/* What the loop would do now and why: each VM's latest decisions (actions only unless all=1). */
static void
h_recommendations(struct vmp_api *a, const struct vmp_api_request *rq,
		  struct vmp_api_response *rs)
{
	json_t *s = status_ref(a), *out = json_array(), *h, *v, *d;
	const char *vm = arg(rq, "vm"), *all = arg(rq, "all");
	size_t i, j, k;

	if (!s) {
		json_decref(out);
		respond_error(rs, 503, "no cycle has run yet");
		return;
	}
	json_array_foreach(json_object_get(s, "hosts"), i, h)
		json_array_foreach(json_object_get(h, "vms"), j, v) {
			const char *name = json_string_value(json_object_get(v, "name"));

			if (vm && strcmp(name, vm))
				continue;
			json_array_foreach(json_object_get(v, "decisions"), k, d) {
				json_t *r;

				if (!(all && !strcmp(all, "1")) &&
				    !strcmp(json_string_value(json_object_get(d, "action")), "none"))
					continue;
				r = json_deep_copy(d);
				json_object_set(r, "host", json_object_get(h, "uri"));
				json_object_set_new(r, "vm", json_string(name));
				json_array_append_new(out, r);
			}
		}
	json_decref(s);
	respond_json(rs, 200, json_pack("{s:o}", "recommendations", out));
}

static void
h_decisions(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	struct vmp_journal_query q = { 0 };
	const char *policy = arg(rq, "policy"), *action = arg(rq, "action");
	const char *all = arg(rq, "all");
	json_t *entries = NULL, *out, *e;
	int64_t limit, since;
	char *err = NULL;
	size_t i;

	if (!a->o.journal_path) {
		respond_error(rs, 404, "this daemon writes no journal");
		return;
	}
	if (!arg_i64(rq, rs, "limit", 100, 1, DECISIONS_MAX, &limit) ||
	    !arg_i64(rq, rs, "since_ms", 0, 0, INT64_MAX, &since))
		return;
	q.vm = arg(rq, "vm");
	q.all = all && !strcmp(all, "1");
	q.rotated = true;
	/* Filters apply after the read: read more when filtering, within the cap. */
	q.max = policy || action || since ? DECISIONS_MAX : (size_t)limit;
	if (vmp_journal_query(a->o.journal_path, &q, &entries, &err) < 0) {
		respond_error(rs, 500, "%s", err);
		free(err);
		return;
	}
	out = json_array();
	json_array_foreach(entries, i, e) {
		const char *p = json_string_value(json_object_get(e, "policy"));
		const char *ac = json_string_value(json_object_get(e, "action"));

		if (policy && (!p || strcmp(p, policy)))
			continue;
		if (action && (!ac || strcmp(ac, action)))
			continue;
		if (since && json_integer_value(json_object_get(e, "time_ms")) < since)
			continue;
		json_array_append(out, e);
	}
	json_decref(entries);
	while (json_array_size(out) > (size_t)limit)
		json_array_remove(out, 0);
	respond_json(rs, 200, json_pack("{s:o}", "decisions", out));
}

static void
h_history(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	const char *vm = arg(rq, "vm"), *host = arg(rq, "host");
	json_t *s, *h, *out = NULL;
	int64_t from, to, now;
	char *owned = NULL, *err = NULL;
	struct timespec ts;
	bool r;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!arg_i64(rq, rs, "from_ms", now - 3600 * 1000, 0, INT64_MAX / 2, &from) ||
	    !arg_i64(rq, rs, "to_ms", now, 0, INT64_MAX / 2, &to))
		return;
	if (!a->o.state_path) {
		respond_error(rs, 404, "this daemon keeps no state database");
		return;
	}
	if (!host) {
		s = status_ref(a);
		h = s ? find_host(s, NULL, vm) : NULL;
		host = h ? json_string_value(json_object_get(h, "uri")) : NULL;
		if (!host) {
			json_decref(s);
			respond_error(rs, 404, "vm '%s' is on no host this daemon watches; give host",
				      vm ? vm : "");
			return;
		}
		host = owned = xstrdup(host);
		json_decref(s);
	}
	/* Each listener has its thread: one of them at a time opens and uses the reader. */
	pthread_mutex_lock(&a->state_lock);
	r = (!a->state && vmp_state_open_reader(a->o.state_path, &a->state, &err) < 0) ||
	    vmp_state_history(a->state, host, vm ? vm : "", from, to, &out, &err) < 0;
	pthread_mutex_unlock(&a->state_lock);
	if (r) {
		respond_error(rs, 503, "%s", err);
		free(err);
		free(owned);
		return;
	}
	free(owned);
	respond_json(rs, 200, out);
}

static void
queue_write(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs,
	    struct vmp_api_cmd *c)
{
	c->who = printable(rq->who);
	if (!c->what)
		c->what = xasprintf("%s %s", rq->method, rq->path);   /* a route's: ASCII */
	c->status = 202;
	if (!enqueue(a, c)) {
		respond_error(rs, 503, "too many requests queued; try again");
		return;
	}
	respond_json(rs, 202, json_pack("{s:b}", "accepted", 1));
}

static void
h_pause(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	struct vmp_api_cmd c = { .kind = VMP_API_CMD_PAUSE };

	queue_write(a, rq, rs, &c);
}

static void
h_resume(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	struct vmp_api_cmd c = { .kind = VMP_API_CMD_RESUME };

	queue_write(a, rq, rs, &c);
}

static void
h_cycle(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	struct vmp_api_cmd c = { .kind = VMP_API_CMD_CYCLE };

	queue_write(a, rq, rs, &c);
}

/* Reads {"host": ..., "vm": ..., KEY: ...} and finds the host; false after an error reply. */
static bool
target_from_body(struct vmp_api *a, const struct vmp_api_request *rq,
		 struct vmp_api_response *rs, json_t **ret_body, char **ret_host,
		 const char **ret_vm)
{
	json_error_t e;
	json_t *b, *hv, *vv, *s, *h;
	const char *key;
	json_t *val;

	b = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!b || !json_is_object(b)) {
		respond_error(rs, 400, "body:%d: %s", b ? 1 : e.line,
			      b ? "not a JSON object" : e.text);
		json_decref(b);
		return false;
	}
	json_object_foreach(b, key, val)
		if (strcmp(key, "host") && strcmp(key, "vm") && strcmp(key, "mode") &&
		    strcmp(key, "pinned")) {
			respond_error(rs, 400, "body: unknown key '%s'", key);
			json_decref(b);
			return false;
		}
	hv = json_object_get(b, "host");
	vv = json_object_get(b, "vm");
	if ((hv && !json_is_string(hv)) || (vv && !json_is_string(vv))) {
		respond_error(rs, 400, "body: '%s' must be a string",
			      hv && !json_is_string(hv) ? "host" : "vm");
		json_decref(b);
		return false;
	}
	if (vv && (!*json_string_value(vv) || strlen(json_string_value(vv)) >= VMP_NAME_MAX)) {
		respond_error(rs, 400, "body: 'vm' must be 1 to %d characters", VMP_NAME_MAX - 1);
		json_decref(b);
		return false;
	}
	s = status_ref(a);
	h = s ? find_host(s, json_string_value(hv), json_string_value(vv)) : NULL;
	if (!h) {
		respond_error(rs, 404, "%s '%s' is not watched by this daemon%s", hv ? "host" : "vm",
			      hv ? json_string_value(hv) : vv ? json_string_value(vv) : "",
			      hv || vv ? "" : "; give host or vm");
		json_decref(s);
		json_decref(b);
		return false;
	}
	*ret_host = xstrdup(json_string_value(json_object_get(h, "uri")));
	json_decref(s);
	*ret_vm = json_string_value(vv);
	*ret_body = b;
	return true;
}

static void
h_mode(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	struct vmp_api_cmd c = { .kind = VMP_API_CMD_MODE };
	const char *vm, *mode;
	json_t *b;
	int m;

	if (!target_from_body(a, rq, rs, &b, &c.host, &vm))
		return;
	mode = json_string_value(json_object_get(b, "mode"));
	m = mode ? vmp_mode_parse(mode) : -EINVAL;
	if (m < 0) {
		respond_error(rs, 400, "body: 'mode' must be off, advise, act or inherit");
		free(c.host);
		json_decref(b);
		return;
	}
	c.mode = m;
	c.vm = vm ? xstrdup(vm) : NULL;
	c.what = xasprintf("%s %s: %s %s mode %s", rq->method, rq->path, vm ? "vm" : "host",
			   vm ? vm : c.host, mode);
	json_decref(b);
	queue_write(a, rq, rs, &c);
}

static void
h_pin(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	struct vmp_api_cmd c = { .kind = VMP_API_CMD_PIN };
	const char *vm;
	json_t *b, *p;

	if (!target_from_body(a, rq, rs, &b, &c.host, &vm))
		return;
	p = json_object_get(b, "pinned");
	if (!vm || (p && !json_is_boolean(p))) {
		respond_error(rs, 400, "body: want {\"vm\": NAME, \"pinned\": true|false}");
		free(c.host);
		json_decref(b);
		return;
	}
	c.pinned = !p || json_is_true(p);
	c.vm = xstrdup(vm);
	c.what = xasprintf("%s %s: vm %s %s", rq->method, rq->path, vm,
			   c.pinned ? "pinned" : "unpinned");
	json_decref(b);
	queue_write(a, rq, rs, &c);
}

/* The dashboard's files, compiled in (daemon/ui.h): the route table names each one. */
static void
h_asset(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	const struct vmp_ui_file *f = vmp_ui_find(rq->path);

	if (!f) {
		respond_error(rs, 404, "no such endpoint: %.200s", rq->path);
		return;
	}
	rs->status = 200;
	rs->content_type = f->type;
	rs->body = xmalloc(f->len + 1);
	memcpy(rs->body, f->data, f->len + 1);
	rs->len = f->len;
}

/* Every endpoint: one row each (doc/api.md lists the same). */
static const struct route {
	const char *method, *path;
	enum vmp_api_role need;
	handler_fn fn;
} routes[] = {
	{ "GET", "/metrics", VMP_API_READ, h_metrics },
	{ "GET", "/api/v1/status", VMP_API_READ, h_status },
	{ "GET", "/api/v1/recommendations", VMP_API_READ, h_recommendations },
	{ "GET", "/api/v1/decisions", VMP_API_READ, h_decisions },
	{ "GET", "/api/v1/history", VMP_API_READ, h_history },
	{ "POST", "/api/v1/loop/pause", VMP_API_ADMIN, h_pause },
	{ "POST", "/api/v1/loop/resume", VMP_API_ADMIN, h_resume },
	{ "POST", "/api/v1/loop/cycle", VMP_API_ADMIN, h_cycle },
	{ "POST", "/api/v1/mode", VMP_API_ADMIN, h_mode },
	{ "POST", "/api/v1/pin", VMP_API_ADMIN, h_pin },
	{ "GET", "/", VMP_API_READ, h_asset },
	{ "GET", "/dashboard.js", VMP_API_READ, h_asset },
	{ "GET", "/dashboard.css", VMP_API_READ, h_asset },
	{ "GET", "/uPlot.iife.min.js", VMP_API_READ, h_asset },
	{ "GET", "/uPlot.min.css", VMP_API_READ, h_asset },
	{ "GET", "/uPlot-LICENSE.txt", VMP_API_READ, h_asset },
};

/* Queues the audit record of a refused request. */
static void
audit_refusal(struct vmp_api *a, const struct vmp_api_request *rq, unsigned status,
	      const char *why)
{
	struct vmp_api_cmd c = { .kind = VMP_API_CMD_AUDIT, .status = status };
	char *m = printable(rq->method), *path = printable(rq->path);

	pthread_mutex_lock(&a->lock);
	a->refused++;
	pthread_mutex_unlock(&a->lock);
	c.who = printable(rq->who);
	c.what = xasprintf("%.16s %.200s: %u %s", m, path, status, why);
	free(m);
	free(path);
	enqueue(a, &c);
}

void
vmp_api_handle(struct vmp_api *a, const struct vmp_api_request *rq, struct vmp_api_response *rs)
{
	const struct route *r = NULL;
	bool path_known = false;
	size_t i;

	memset(rs, 0, sizeof(*rs));
	pthread_mutex_lock(&a->lock);
	a->served++;
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < VMP_ARRAY_SIZE(routes); i++)
		if (!strcmp(routes[i].path, rq->path)) {
			path_known = true;
			if (!strcmp(routes[i].method, rq->method)) {
				r = &routes[i];
				break;
			}
		}
	if (rq->role == VMP_API_NONE && rq->identified) {
		audit_refusal(a, rq, 403, "not root nor in the api groups");
		respond_error(rs, 403, "%s may not use this API (root and the members of "
			      "api_group may)", rq->who ? rq->who : "this user");
		return;
	}
	if (rq->role == VMP_API_NONE) {
		audit_refusal(a, rq, 401, "no valid credentials");
		respond_error(rs, 401, "authentication required: a client certificate or a "
			      "bearer token (TLS), or an allowed user (unix socket)");
		return;
	}
	if (!r) {
		if (path_known)
			respond_error(rs, 405, "method %.16s not allowed on %.200s", rq->method,
				      rq->path);
		else
			respond_error(rs, 404, "no such endpoint: %.200s", rq->path);
		return;
	}
	if (rq->role < r->need) {
		audit_refusal(a, rq, 403, "needs the admin role");
		respond_error(rs, 403, "%s %s needs the %s role; you have %s", r->method, r->path,
			      vmp_api_role_name(r->need), vmp_api_role_name(rq->role));
		return;
	}
	r->fn(a, rq, rs);
}

/* ---- transport ---- */

struct conn {
	enum vmp_api_role role;
	bool identified;
	char who[WHO_MAX];
	char *body;
	size_t len;
	bool too_big;
};

/* The role of a unix-socket peer: root admin; admin_group admin; group read. */
static enum vmp_api_role
peer_role(struct vmp_api *a, int fd, char *who)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256, i;
	enum vmp_api_role role = VMP_API_NONE;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(who, WHO_MAX, "unknown peer via unix socket");
		return VMP_API_NONE;
	}
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &pwp) != 0)
		pwp = NULL;
	snprintf(who, WHO_MAX, "uid %u (%s) pid %d via unix socket", (unsigned)cred.uid,
		 pwp ? pwp->pw_name : "?", (int)cred.pid);
	if (cred.uid == 0)
		return VMP_API_ADMIN;
	if (!pwp)
		return VMP_API_NONE;
	if (getgrouplist(pwp->pw_name, pwp->pw_gid, groups, &n) < 0)
		n = 0;
	for (i = 0; i < n; i++) {
		if (a->have_admin_group && groups[i] == a->admin_gid)
			role = VMP_API_ADMIN;
		else if (a->have_group && groups[i] == a->group_gid && role < VMP_API_READ)
			role = VMP_API_READ;
	}
	return role;
}

/* The role given by a verified client certificate (admin when its CN is in admin_cns). */
static enum vmp_api_role
cert_role(struct vmp_api *a, gnutls_session_t s, char *who)
{
	const gnutls_datum_t *peers;
	unsigned n = 0, status = 1;
	gnutls_x509_crt_t crt;
	char cn[256] = "";
	size_t cnlen = sizeof(cn);
	enum vmp_api_role role = VMP_API_READ;

	peers = gnutls_certificate_get_peers(s, &n);
	if (!peers || n == 0)
		return VMP_API_NONE;
	if (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0) {
		snprintf(who + strlen(who), WHO_MAX - strlen(who), " with an untrusted certificate");
		return VMP_API_NONE;
	}
	if (gnutls_x509_crt_init(&crt) < 0)
		return VMP_API_NONE;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) < 0)
		cn[0] = '\0';
	gnutls_x509_crt_deinit(crt);
	for (size_t i = 0; cn[i]; i++)
		if (cn[i] < ' ' || cn[i] > '~')
			cn[i] = '?';
	snprintf(who + strlen(who), WHO_MAX - strlen(who), " cert CN=%s", cn);
	if (a->o.admin_cns && *cn) {
		const char *p = a->o.admin_cns;
		size_t l = strlen(cn);

		while (p && *p) {
			while (*p == ' ')
				p++;
			if (!strncmp(p, cn, l) && (p[l] == ',' || p[l] == '\0' || p[l] == ' '))
				role = VMP_API_ADMIN;
			p = strchr(p, ',');
			p = p ? p + 1 : NULL;
		}
	}
	return role;
}

static void
authenticate(struct vmp_api *a, struct MHD_Connection *mc, struct conn *c)
{
	const union MHD_ConnectionInfo *ci;
	const char *auth;
	char *token = NULL;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_DAEMON);
	if (ci && ci->daemon == a->unix_d) {
		ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		c->role = ci ? peer_role(a, ci->connect_fd, c->who) : VMP_API_NONE;
		c->identified = ci != NULL;
		return;
	}
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(c->who, WHO_MAX, "tcp peer");
	if (ci && ci->client_addr) {
		char host[NI_MAXHOST], serv[NI_MAXSERV];

		if (getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
				sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
				host, sizeof(host), serv, sizeof(serv),
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(c->who, WHO_MAX, "%.64s port %.8s via tls", host, serv);
	}
	c->role = VMP_API_NONE;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session && a->tls_ca)
		c->role = cert_role(a, (gnutls_session_t)ci->tls_session, c->who);
	auth = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (c->role == VMP_API_NONE && auth) {
		enum vmp_api_role tr = VMP_API_NONE;

		if (vmp_api_parse_bearer(auth, &token) == 0)
			tr = token_role(a, token);
		free(token);
		snprintf(c->who + strlen(c->who), WHO_MAX - strlen(c->who), " %s bearer token",
			 tr == VMP_API_NONE ? "with a wrong" : vmp_api_role_name(tr));
		c->role = tr;
	}
}

static const char *
mhd_arg(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result
send_response(struct MHD_Connection *mc, struct vmp_api_response *rs)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(rs->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", VMP_UI_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	if (rs->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"vmpilot\"");
	ret = MHD_queue_response(mc, rs->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct vmp_api *a = cls;
	struct conn *c = *con_cls;
	struct vmp_api_request rq = { 0 };
	struct vmp_api_response rs = { 0 };

	if (!c) {
		c = xcalloc(1, sizeof(*c));
		authenticate(a, mc, c);
		*con_cls = c;
		/* Refuse the unauthenticated before reading any body. */
		if (c->role != VMP_API_NONE)
			return MHD_YES;
	} else if (*upload_size) {
		if (c->len + *upload_size > BODY_MAX)
			c->too_big = true;
		if (!c->too_big) {
			c->body = xrealloc(c->body, c->len + *upload_size + 1);
			memcpy(c->body + c->len, upload_data, *upload_size);
			c->len += *upload_size;
			c->body[c->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->too_big) {
		respond_error(&rs, 413, "request body larger than %u bytes", BODY_MAX);
		return send_response(mc, &rs);
	}
	rq.method = method;
	rq.path = url;
	rq.arg = mhd_arg;
	rq.arg_ctx = mc;
	rq.body = c->body;
	rq.body_len = c->len;
	rq.role = c->role;
	rq.identified = c->identified;
	rq.who = c->who;
	vmp_api_handle(a, &rq, &rs);
	return send_response(mc, &rs);
}

static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct conn *c = *con_cls;

	if (c) {
		free(c->body);
		free(c);
	}
	*con_cls = NULL;
}

/* The unix socket: an existing socket is replaced; anything else at path is refused. */
static int
bind_unix(const char *path, int *ret_fd, char **ret_err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*ret_err = xasprintf("api socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*ret_err = xasprintf("cannot listen on '%s': exists and is not a socket", path);
			return -EEXIST;
		}
		/* A socket someone still listens on is theirs; a stale one is replaced. */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			*ret_err = xasprintf("cannot listen on '%s': another process serves it", path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 64) < 0) {
		e = errno;
		*ret_err = xasprintf("cannot listen on '%s': %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	*ret_fd = fd;
	return 0;
}

/* "ADDRESS:PORT" or "[V6]:PORT" into a bound, listening TCP socket. */
static int
bind_tcp(const char *listen_on, int *ret_fd, char **ret_err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST |
				  AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon = strrchr(listen_on, ':');
	size_t hl;
	int fd, one = 1, r, e;

	if (!colon || colon == listen_on || (hl = (size_t)(colon - listen_on)) >= sizeof(host)) {
		*ret_err = xasprintf("api_listen '%s': want ADDRESS:PORT", listen_on);
		return -EINVAL;
	}
	memcpy(host, listen_on, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r != 0) {
		*ret_err = xasprintf("api_listen '%s': %s", listen_on, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		e = errno;
		*ret_err = xasprintf("cannot listen on '%s': %s", listen_on, strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -e;
	}
	freeaddrinfo(res);
	*ret_fd = fd;
	return 0;
}

static int
read_pem(const char *path, const char *what, char **ret, char **ret_err)
{
	size_t len;
	int r = vmp_read_file(NULL, path, ret, &len);

	if (r < 0)
		*ret_err = xasprintf("cannot read %s '%s': %s", what, path, strerror(-r));
	return r;
}

static char *
dup_opt(const char *s)
{
	return s && *s && strcmp(s, "none") ? xstrdup(s) : NULL;
}

static int
lookup_group(const char *name, gid_t *ret)
{
	struct group gr, *grp = NULL;
	char buf[8192];

	if (!name || getgrnam_r(name, &gr, buf, sizeof(buf), &grp) != 0 || !grp)
		return -ENOENT;
	*ret = grp->gr_gid;
	return 0;
}

int
vmp_api_start(const struct vmp_api_options *o, struct vmp_api **ret, char **ret_err)
{
	struct vmp_api *a = xcalloc(1, sizeof(*a));
	const unsigned common = MHD_USE_INTERNAL_POLLING_THREAD;
	int fd = -1, r;

	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->state_lock, NULL);
	a->o = *o;
	a->o.socket_path = a->socket_path = dup_opt(o->socket_path);
	a->o.group = dup_opt(o->group);
	a->o.admin_group = dup_opt(o->admin_group);
	a->o.listen = dup_opt(o->listen);
	a->o.tls_cert = dup_opt(o->tls_cert);
	a->o.tls_key = dup_opt(o->tls_key);
	a->o.tls_ca = dup_opt(o->tls_ca);
	a->o.admin_cns = dup_opt(o->admin_cns);
	a->o.tokens = dup_opt(o->tokens);
	a->o.journal_path = dup_opt(o->journal_path);
	a->o.state_path = dup_opt(o->state_path);
	a->have_group = lookup_group(a->o.group, &a->group_gid) == 0;
	a->have_admin_group = lookup_group(a->o.admin_group, &a->admin_gid) == 0;
	if (a->o.tokens) {
		r = vmp_api_parse_tokens(a->o.tokens, &a->tokens, ret_err);
		if (r < 0)
			goto err;
		a->n_tokens = (size_t)r;
	}
	if (a->socket_path) {
		r = bind_unix(a->socket_path, &fd, ret_err);
		if (r < 0) {
			free(a->socket_path);
			a->o.socket_path = a->socket_path = NULL;
			goto err;
		}
		a->unix_d = MHD_start_daemon(common, 0, NULL, NULL, on_request, a,
					     MHD_OPTION_LISTEN_SOCKET, fd,
					     MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
					     MHD_OPTION_CONNECTION_LIMIT, 64u,
					     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
					     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
					     MHD_OPTION_END);
		if (!a->unix_d) {
			close(fd);
			*ret_err = xasprintf("cannot serve the api on '%s'", a->socket_path);
			r = -EIO;
			goto err;
		}
	}
	if (a->o.listen) {
		if (!a->o.tls_cert || !a->o.tls_key) {
			*ret_err = xasprintf("api_listen '%s' needs api_tls_cert and api_tls_key "
					     "(the TCP API is TLS only)", a->o.listen);
			r = -EINVAL;
			goto err;
		}
		if ((r = read_pem(a->o.tls_cert, "api_tls_cert", &a->tls_cert, ret_err)) < 0 ||
		    (r = read_pem(a->o.tls_key, "api_tls_key", &a->tls_key, ret_err)) < 0 ||
		    (a->o.tls_ca && (r = read_pem(a->o.tls_ca, "api_tls_ca", &a->tls_ca, ret_err)) < 0))
			goto err;
		r = bind_tcp(a->o.listen, &fd, ret_err);
		if (r < 0)
			goto err;
		a->tls_d = MHD_start_daemon(common | MHD_USE_TLS, 0, NULL, NULL, on_request, a,
					    MHD_OPTION_LISTEN_SOCKET, fd,
					    MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
					    MHD_OPTION_HTTPS_MEM_CERT, a->tls_cert,
					    MHD_OPTION_HTTPS_MEM_KEY, a->tls_key,
					    a->tls_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END,
					    a->tls_ca,
					    MHD_OPTION_CONNECTION_LIMIT, 64u,
					    MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u,
					    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
					    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
					    MHD_OPTION_END);
		if (!a->tls_d) {
			close(fd);
			*ret_err = xasprintf("cannot serve the api with TLS on '%s' (check the "
					     "certificate and key)", a->o.listen);
			r = -EIO;
			goto err;
		}
	}
	*ret = a;
	return 0;
err:
	vmp_api_stop(a);
	return r;
}

void
vmp_api_stop(struct vmp_api *a)
{
	size_t i;

	if (!a)
		return;
	if (a->unix_d)
		MHD_stop_daemon(a->unix_d);
	if (a->tls_d)
		MHD_stop_daemon(a->tls_d);
	if (a->socket_path)
		unlink(a->socket_path);
	vmp_state_close(a->state);
	for (i = 0; i < a->n_queue; i++)
		vmp_api_cmd_release(&a->queue[i]);
	free(a->queue);
	json_decref(a->status);
	free(a->metrics);
	free(a->tokens);
	free(a->tls_cert);
	free(a->tls_key);
	free(a->tls_ca);
	free((char *)a->o.group);
	free((char *)a->o.admin_group);
	free((char *)a->o.listen);
	free((char *)a->o.tls_cert);
	free((char *)a->o.tls_key);
	free((char *)a->o.tls_ca);
	free((char *)a->o.admin_cns);
	free((char *)a->o.tokens);
	free((char *)a->o.journal_path);
	free((char *)a->o.state_path);
	free(a->socket_path);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->state_lock);
	free(a);
}
