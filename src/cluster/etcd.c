/* SPDX-License-Identifier: MIT */
/*
 * The etcd v3 client (etcd.h): requests are JSON bodies POSTed to the gateway's /v3/...
 * paths with libcurl, keys and values base64 (GnuTLS's codec), 64-bit numbers as JSON
 * strings. The reply parsers at the top are pure; the transport below tries the
 * endpoints in turn within one deadline per request.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "cluster/etcd.h"
#include "util/fileio.h"
#include "util/util.h"

/* The most a reply may hold: a snapshot of 10,000 hosts' summaries fits many times. */
#define REPLY_MAX (256u << 20)

/* gRPC status codes that etcd's errors carry. */
enum {
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

static void VMP_PRINTF(3, 4)
seterr(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (!err || errsize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

/* ---- base64 (GnuTLS) ---- */

static char *
b64_encode(const void *data, size_t len)
{
	gnutls_datum_t in = { .data = (unsigned char *)data, .size = (unsigned)len };
	gnutls_datum_t out = { 0 };
	char *s;

	if (len == 0)
		return xstrdup("");
	if (len > UINT_MAX / 2 || gnutls_base64_encode2(&in, &out) < 0)
		abort();
	s = xstrndup((const char *)out.data, out.size);
	gnutls_free(out.data);
	return s;
}

/* Decodes s into a new NUL-terminated buffer. Returns 0 or -EPROTO. */
static int
b64_decode(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s);
	gnutls_datum_t in = { .data = (unsigned char *)s, .size = (unsigned)n };
	gnutls_datum_t out = { 0 };
	char *buf;

	if (n == 0) {
		*ret = xstrdup("");
		*ret_len = 0;
		return 0;
	}
	if (n > UINT_MAX / 2 || n % 4 != 0 || gnutls_base64_decode2(&in, &out) < 0)
		return -EPROTO;
	buf = xmalloc((size_t)out.size + 1);
	memcpy(buf, out.data, out.size);
	buf[out.size] = '\0';
	*ret_len = out.size;
	gnutls_free(out.data);
	*ret = buf;
	return 0;
}

/* ---- the pure reply parsers ---- */

static int
errno_of_code(int64_t code)
{
	switch (code) {
	case GRPC_NOT_FOUND:
		return -ENOENT;
	case GRPC_PERMISSION_DENIED:
	case GRPC_UNAUTHENTICATED:
		return -EACCES;
	case GRPC_DEADLINE_EXCEEDED:
	case GRPC_UNAVAILABLE:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/*
 * A 64-bit integer field: a JSON string of decimal digits (as the gateway writes them)
 * or a JSON integer. Absent: *ret = 0. Returns 0 or -EPROTO.
 */
static int
get_i64(json_t *obj, const char *name, int64_t *ret, char *err, size_t errsize)
{
	json_t *v = json_object_get(obj, name);

	*ret = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && json_string_length(v) > 0 &&
	    strlen(json_string_value(v)) == json_string_length(v) &&
	    vmp_parse_i64(json_string_value(v), ret) == 0)
		return 0;
	seterr(err, errsize, "field '%s' is not a 64-bit integer", name);
	return -EPROTO;
}

static int
get_u64(json_t *obj, const char *name, uint64_t *ret, char *err, size_t errsize)
{
	json_t *v = json_object_get(obj, name);

	*ret = 0;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && json_string_length(v) > 0 &&
	    strlen(json_string_value(v)) == json_string_length(v) &&
	    vmp_parse_u64(json_string_value(v), ret) == 0)
		return 0;
	seterr(err, errsize, "field '%s' is not an unsigned 64-bit integer", name);
	return -EPROTO;
}

static int
get_bool(json_t *obj, const char *name, bool *ret, char *err, size_t errsize)
{
	json_t *v = json_object_get(obj, name);

	*ret = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		seterr(err, errsize, "field '%s' is not a boolean", name);
		return -EPROTO;
	}
	*ret = json_is_true(v);
	return 0;
}

/*
 * Parses body as a JSON object. An error reply of the gateway ({"error": "...",
 * "code": N} for unary calls, {"error": {"grpc_code": N, "message": "..."}} for
 * streams) gives etcd's message in err and the errno of its code.
 */
static int
parse_root(const char *body, size_t len, json_t **ret_root, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *root, *e;
	int r;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		seterr(err, errsize, "reply is not JSON: %s at byte %d", jerr.text, jerr.position);
		return -EPROTO;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		seterr(err, errsize, "reply is not a JSON object");
		return -EPROTO;
	}
	e = json_object_get(root, "error");
	if (e) {
		int64_t code = 0;
		const char *msg = NULL;
		json_t *m;

		if (json_is_object(e)) {
			if (get_i64(e, "grpc_code", &code, NULL, 0) < 0)
				code = 0;
			m = json_object_get(e, "message");
			msg = json_is_string(m) ? json_string_value(m) : NULL;
		} else {
			if (get_i64(root, "code", &code, NULL, 0) < 0)
				code = 0;
			m = json_object_get(root, "message");
			if (!json_is_string(m))
				m = e;
			msg = json_is_string(m) ? json_string_value(m) : NULL;
		}
		seterr(err, errsize, "%s (code %" PRId64 ")", msg ? msg : "unknown error", code);
		r = errno_of_code(code);
		/*
		 * etcd 3.4 answers a wrong password, and a missing or expired token, with
		 * INVALID_ARGUMENT: these are authentication failures all the same.
		 */
		if (msg && (strstr(msg, "authentication failed") || strstr(msg, "invalid auth token") ||
			    strstr(msg, "user name is empty")))
			r = -EACCES;
		json_decref(root);
		return r;
	}
	*ret_root = root;
	return 0;
}

/* The header's revision (absent: 0). */
static int
header_revision(json_t *obj, int64_t *ret, char *err, size_t errsize)
{
	json_t *h = json_object_get(obj, "header");

	*ret = 0;
	if (!h)
		return 0;
	if (!json_is_object(h)) {
		seterr(err, errsize, "field 'header' is not an object");
		return -EPROTO;
	}
	return get_i64(h, "revision", ret, err, errsize);
}

void
vmp_etcd_range_clear(struct vmp_etcd_range *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nkvs; i++) {
		free(r->kvs[i].key);
		free(r->kvs[i].value);
	}
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

void
vmp_etcd_txn_result_clear(struct vmp_etcd_txn_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nranges; i++)
		vmp_etcd_range_clear(&r->ranges[i]);
	free(r->ranges);
	memset(r, 0, sizeof(*r));
}

static int
parse_kv(json_t *o, struct vmp_etcd_kv *kv, char *err, size_t errsize)
{
	json_t *k = json_object_get(o, "key"), *v = json_object_get(o, "value");
	size_t klen;
	int r;

	if (!json_is_object(o)) {
		seterr(err, errsize, "a key-value is not an object");
		return -EPROTO;
	}
	if (!json_is_string(k) || b64_decode(json_string_value(k), &kv->key, &klen) < 0) {
		seterr(err, errsize, "field 'key' is not base64");
		return -EPROTO;
	}
	if (klen == 0 || strlen(kv->key) != klen) {
		seterr(err, errsize, "field 'key' is empty or holds a NUL byte");
		return -EPROTO;
	}
	if (v && (!json_is_string(v) ||
		  b64_decode(json_string_value(v), &kv->value, &kv->value_len) < 0)) {
		seterr(err, errsize, "field 'value' of key '%s' is not base64", kv->key);
		return -EPROTO;
	}
	r = get_i64(o, "create_revision", &kv->create_revision, err, errsize);
	if (r == 0)
		r = get_i64(o, "mod_revision", &kv->mod_revision, err, errsize);
	if (r == 0)
		r = get_i64(o, "version", &kv->version, err, errsize);
	if (r == 0)
		r = get_i64(o, "lease", &kv->lease, err, errsize);
	return r;
}

/* A RangeResponse object into *ret (which is cleared on failure). */
static int
parse_range_obj(json_t *o, struct vmp_etcd_range *ret, char *err, size_t errsize)
{
	json_t *kvs;
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o)) {
		seterr(err, errsize, "a range response is not an object");
		return -EPROTO;
	}
	r = header_revision(o, &ret->revision, err, errsize);
	if (r == 0)
		r = get_i64(o, "count", &ret->count, err, errsize);
	if (r == 0)
		r = get_bool(o, "more", &ret->more, err, errsize);
	if (r < 0)
		return r;
	kvs = json_object_get(o, "kvs");
	if (!kvs)
		return 0;
	if (!json_is_array(kvs)) {
		seterr(err, errsize, "field 'kvs' is not an array");
		return -EPROTO;
	}
	ret->kvs = xcalloc(json_array_size(kvs) ? json_array_size(kvs) : 1, sizeof(*ret->kvs));
	for (i = 0; i < json_array_size(kvs); i++) {
		ret->nkvs = i + 1;
		r = parse_kv(json_array_get(kvs, i), &ret->kvs[i], err, errsize);
		if (r < 0) {
			vmp_etcd_range_clear(ret);
			return r;
		}
	}
	return 0;
}

int
vmp_etcd_parse_range(const char *body, size_t len, struct vmp_etcd_range *ret,
		     char *err, size_t errsize)
{
	struct vmp_etcd_range tmp;
	json_t *root;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	r = parse_range_obj(root, &tmp, err, errsize);
	json_decref(root);
	if (r == 0)
		*ret = tmp;
	return r;
}

int
vmp_etcd_parse_put(const char *body, size_t len, int64_t *ret_revision,
		   char *err, size_t errsize)
{
	int64_t rev;
	json_t *root;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	r = header_revision(root, &rev, err, errsize);
	json_decref(root);
	if (r == 0 && ret_revision)
		*ret_revision = rev;
	return r;
}

int
vmp_etcd_parse_delete(const char *body, size_t len, int64_t *ret_deleted,
		      char *err, size_t errsize)
{
	int64_t n;
	json_t *root;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	r = get_i64(root, "deleted", &n, err, errsize);
	json_decref(root);
	if (r == 0 && n < 0) {
		seterr(err, errsize, "field 'deleted' is negative");
		r = -EPROTO;
	}
	if (r == 0 && ret_deleted)
		*ret_deleted = n;
	return r;
}

int
vmp_etcd_parse_txn(const char *body, size_t len, struct vmp_etcd_txn_result *ret,
		   char *err, size_t errsize)
{
	struct vmp_etcd_txn_result tmp = { 0 };
	json_t *root, *resp;
	size_t i;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	r = header_revision(root, &tmp.revision, err, errsize);
	if (r == 0)
		r = get_bool(root, "succeeded", &tmp.succeeded, err, errsize);
	resp = json_object_get(root, "responses");
	if (r == 0 && resp && !json_is_array(resp)) {
		seterr(err, errsize, "field 'responses' is not an array");
		r = -EPROTO;
	}
	if (r == 0 && resp && json_array_size(resp) > 0) {
		tmp.ranges = xcalloc(json_array_size(resp), sizeof(*tmp.ranges));
		for (i = 0; r == 0 && i < json_array_size(resp); i++) {
			json_t *o = json_array_get(resp, i), *rr;

			tmp.nranges = i + 1;
			if (!json_is_object(o)) {
				seterr(err, errsize, "response %zu is not an object", i);
				r = -EPROTO;
				break;
			}
			rr = json_object_get(o, "response_range");
			if (rr)
				r = parse_range_obj(rr, &tmp.ranges[i], err, errsize);
			else if (!json_object_get(o, "response_put") &&
				 !json_object_get(o, "response_delete_range") &&
				 !json_object_get(o, "response_txn")) {
				seterr(err, errsize, "response %zu is of no known kind", i);
				r = -EPROTO;
			}
		}
	}
	json_decref(root);
	if (r < 0) {
		vmp_etcd_txn_result_clear(&tmp);
		return r;
	}
	if (ret)
		*ret = tmp;
	else
		vmp_etcd_txn_result_clear(&tmp);
	return 0;
}

int
vmp_etcd_parse_lease(const char *body, size_t len, int64_t *ret_id, int64_t *ret_ttl_s,
		     char *err, size_t errsize)
{
	int64_t id = 0, ttl = 0;
	json_t *root, *o;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	/* keepalive is a stream: its message comes wrapped in "result" */
	o = json_object_get(root, "result");
	if (!o)
		o = root;
	if (!json_is_object(o)) {
		seterr(err, errsize, "field 'result' is not an object");
		r = -EPROTO;
	}
	if (r == 0)
		r = get_i64(o, "ID", &id, err, errsize);
	if (r == 0)
		r = get_i64(o, "TTL", &ttl, err, errsize);
	json_decref(root);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = id;
	if (ret_ttl_s)
		*ret_ttl_s = ttl;
	return 0;
}

int
vmp_etcd_parse_status(const char *body, size_t len, struct vmp_etcd_status *ret,
		      char *err, size_t errsize)
{
	struct vmp_etcd_status tmp = { 0 };
	json_t *root, *v, *h;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	v = json_object_get(root, "version");
	if (v && !json_is_string(v)) {
		seterr(err, errsize, "field 'version' is not a string");
		r = -EPROTO;
	} else if (v) {
		snprintf(tmp.version, sizeof(tmp.version), "%s", json_string_value(v));
	}
	h = json_object_get(root, "header");
	if (r == 0)
		r = header_revision(root, &tmp.revision, err, errsize);
	if (r == 0 && h)
		r = get_u64(h, "member_id", &tmp.member_id, err, errsize);
	if (r == 0)
		r = get_i64(root, "dbSize", &tmp.db_size, err, errsize);
	if (r == 0)
		r = get_u64(root, "leader", &tmp.leader, err, errsize);
	if (r == 0)
		r = get_i64(root, "raftIndex", &tmp.raft_index, err, errsize);
	if (r == 0)
		r = get_i64(root, "raftTerm", &tmp.raft_term, err, errsize);
	json_decref(root);
	if (r == 0)
		*ret = tmp;
	return r;
}

int
vmp_etcd_parse_auth(const char *body, size_t len, char **ret_token, char *err, size_t errsize)
{
	json_t *root, *t;
	int r;

	r = parse_root(body, len, &root, err, errsize);
	if (r < 0)
		return r;
	t = json_object_get(root, "token");
	if (!json_is_string(t) || json_string_length(t) == 0 ||
	    strlen(json_string_value(t)) != json_string_length(t) ||
	    strpbrk(json_string_value(t), "\r\n")) {
		json_decref(root);
		seterr(err, errsize, "field 'token' is missing or not a usable string");
		return -EPROTO;
	}
	*ret_token = xstrdup(json_string_value(t));
	json_decref(root);
	return 0;
}

/* ---- the transport ---- */

struct vmp_etcd {
	char **endpoints;
	size_t nendpoints;
	size_t cur;                /* the endpoint tried first: the last that answered */
	char *cacert, *cert, *key;
	char *user, *password;
	char *token;
	int64_t timeout_ms;
	CURL *curl;
	char err[2048];
};

struct buf {
	char *data;
	size_t len, alloc;
	bool too_big;
};

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n > REPLY_MAX) {
		b->too_big = true;
		return 0;
	}
	xgrow((void **)&b->data, &b->alloc, b->len + n + 1, 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static void VMP_PRINTF(2, 3)
client_err(struct vmp_etcd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

const char *
vmp_etcd_error(const struct vmp_etcd *c)
{
	return c->err;
}

const char *
vmp_etcd_endpoint(const struct vmp_etcd *c)
{
	return c->endpoints[c->cur];
}

static bool
url_ok(const char *u)
{
	return (vmp_str_starts_with(u, "http://") && u[7]) ||
	       (vmp_str_starts_with(u, "https://") && u[8]);
}

int
vmp_etcd_open(const struct vmp_etcd_options *o, struct vmp_etcd **ret_client, char **ret_err)
{
	struct vmp_etcd *c;
	char *list, *tok, *save = NULL;
	int r;

	if (!o->endpoints || !*o->endpoints) {
		*ret_err = xstrdup("etcd: no endpoint given");
		return -EINVAL;
	}
	if (o->user && *o->user && (!o->password_file || !*o->password_file)) {
		*ret_err = xasprintf("etcd: user '%s' needs a password file", o->user);
		return -EINVAL;
	}
	if ((o->cert && *o->cert) != (o->key && *o->key)) {
		*ret_err = xstrdup("etcd: a client certificate needs its key and a key its certificate");
		return -EINVAL;
	}
	if (o->timeout_ms < 0) {
		*ret_err = xstrdup("etcd: negative timeout");
		return -EINVAL;
	}
	c = xcalloc(1, sizeof(*c));
	list = xstrdup(o->endpoints);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *u = vmp_strstrip(tok);
		size_t n;

		if (!*u)
			continue;
		n = strlen(u);
		while (n > 0 && u[n - 1] == '/')
			u[--n] = '\0';
		if (!url_ok(u)) {
			*ret_err = xasprintf("etcd: endpoint '%s' is not an http:// or https:// URL", u);
			free(list);
			vmp_etcd_close(c);
			return -EINVAL;
		}
		c->endpoints = xrealloc(c->endpoints, (c->nendpoints + 1) * sizeof(*c->endpoints));
		c->endpoints[c->nendpoints++] = xstrdup(u);
	}
	free(list);
	if (c->nendpoints == 0) {
		*ret_err = xstrdup("etcd: no endpoint given");
		vmp_etcd_close(c);
		return -EINVAL;
	}
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 2000;
	if (o->cacert && *o->cacert)
		c->cacert = xstrdup(o->cacert);
	if (o->cert && *o->cert) {
		c->cert = xstrdup(o->cert);
		c->key = xstrdup(o->key);
	}
	if (o->user && *o->user) {
		c->user = xstrdup(o->user);
		r = vmp_read_line("", o->password_file, &c->password);
		if (r < 0) {
			*ret_err = xasprintf("etcd: cannot read password file '%s': %s",
					     o->password_file, vmp_file_strerror(r));
			vmp_etcd_close(c);
			return r;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->curl = curl_easy_init();
	if (!c->curl)
		abort();
	*ret_client = c;
	return 0;
}

void
vmp_etcd_close(struct vmp_etcd *c)
{
	size_t i;

	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	for (i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->token);
	free(c);
}

static int
curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		return -EACCES;
	default:
		return -EIO;
	}
}

/*
 * One POST of body to path at endpoint e, within budget_ms. Returns 0 with the reply
 * (any HTTP status) in *b and the status in *ret_status, or the errno of a transport
 * failure with its text in what. *ret_sent: the request left (etcd may have it).
 */
static int
post_once(struct vmp_etcd *c, const char *e, const char *path, const char *body,
	  int64_t budget_ms, struct buf *b, long *ret_status, bool *ret_sent, char *what,
	  size_t whatsize)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = xasprintf("%s%s", e, path), *auth = NULL;
	CURLcode cc;
	CURL *h = c->curl;

	curl_easy_reset(h);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (c->token && strcmp(path, "/v3/auth/authenticate") != 0) {
		auth = xasprintf("Authorization: %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)budget_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)budget_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	}
	cc = curl_easy_perform(h);
	{
		long sent = 0;

		curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
		*ret_sent = sent > 0;
	}
	curl_slist_free_all(hdrs);
	free(auth);
	free(url);
	if (b->too_big) {
		snprintf(what, whatsize, "reply larger than %u bytes", REPLY_MAX);
		return -EMSGSIZE;
	}
	if (cc != CURLE_OK) {
		snprintf(what, whatsize, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return curl_errno(cc);
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	return 0;
}

static int authenticate(struct vmp_etcd *c, size_t idx, int64_t deadline_ms);

/*
 * POSTs body to path: the endpoints from the last that answered on, within one
 * deadline of timeout_ms (each attempt gets an equal share of what is left, the last
 * all of it). A request that did not reach etcd (no connection, TLS refused, another
 * HTTP server answered, etcd said it has no leader or the token was refused) moves on
 * to the next endpoint. A request that may have reached etcd and got no answer (a
 * timeout), or "request timed out" from etcd, moves on too unless once is set: a
 * transaction is not repeated on another member, since the first may have committed
 * it (its compares would then fail on the repeat and the caller would read "someone
 * else wrote"); its caller gets the error, and the next request starts at the next
 * endpoint. Returns 0 and the reply (HTTP 200 or etcd's error reply) in *b, with the
 * endpoint's index in *ret_idx; or the errno of the last failure with a message
 * naming every endpoint tried.
 */
static int
request_deadline(struct vmp_etcd *c, const char *path, const char *body, int64_t deadline_ms,
		 bool once, bool reauth_ok, struct buf *b, size_t *ret_idx)
{
	char msg[sizeof(c->err)] = "";
	size_t tried, n = c->nendpoints, used = 0;
	int r = -ETIMEDOUT;

	for (tried = 0; tried < n; tried++) {
		size_t idx = (c->cur + tried) % n;
		const char *e = c->endpoints[idx];
		int64_t left = deadline_ms - vmp_monotonic_ms(), budget;
		char what[512] = "";
		long status = 0;
		bool sent;

		if (left <= 0) {
			r = -ETIMEDOUT;
			snprintf(what, sizeof(what), "not tried: deadline passed");
			used += (size_t)snprintf(msg + used, used < sizeof(msg) ? sizeof(msg) - used : 0,
						 "%s%s: %s", used ? "; " : "", e, what);
			if (used >= sizeof(msg))
				used = sizeof(msg) - 1;
			continue;
		}
		budget = tried + 1 < n ? left / (int64_t)(n - tried) : left;
		if (budget < 1)
			budget = 1;
		if (c->user && !c->token) {
			r = authenticate(c, idx, vmp_monotonic_ms() + budget);
			if (r < 0) {
				snprintf(what, sizeof(what), "%.500s", c->err);
				if (r == -EACCES || r == -EPROTO) {
					client_err(c, "etcd %s: %s: %s", e, path, what);
					return r;
				}
				goto next;
			}
		}
		b->len = 0;
		b->too_big = false;
		sent = false;
		r = post_once(c, e, path, body, budget, b, &status, &sent, what, sizeof(what));
		if (r < 0 && once && sent) {
			c->cur = (idx + 1) % n;
			client_err(c, "etcd %s: %s: %s (the request may have been applied: not "
				   "repeated on another member)", e, path, what);
			return r;
		}
		if (r == 0) {
			char perr[512] = "";
			int pr = 0;

			if (status != 200) {
				json_t *root = NULL;

				pr = parse_root(b->data ? b->data : "", b->len, &root, perr, sizeof(perr));
				json_decref(root);
				if (pr == 0 || pr == -EPROTO) {
					/* not etcd's error reply: something else answered */
					snprintf(what, sizeof(what), "HTTP status %ld", status);
					r = -EIO;
					goto next;
				}
			}
			if (pr == -EACCES && reauth_ok && c->user && c->token) {
				/* the token expired: authenticate again, once */
				free(c->token);
				c->token = NULL;
				return request_deadline(c, path, body, deadline_ms, once, false, b,
							ret_idx);
			}
			if (pr == -ETIMEDOUT && once && !strstr(perr, "no leader")) {
				/* unknown outcome: the caller hears etcd's error; next time, another member */
				c->cur = (idx + 1) % n;
				*ret_idx = idx;
				return 0;
			}
			if (pr != -ETIMEDOUT) {
				c->cur = idx;
				*ret_idx = idx;
				return 0;
			}
			/* etcd says unavailable (no leader here, or timed out): another member */
			snprintf(what, sizeof(what), "%s", perr);
			r = -ETIMEDOUT;
		}
next:
		used += (size_t)snprintf(msg + used, used < sizeof(msg) ? sizeof(msg) - used : 0,
					 "%s%s: %s", used ? "; " : "", e, what);
		if (used >= sizeof(msg))
			used = sizeof(msg) - 1;
	}
	client_err(c, "etcd: %s: no endpoint answered within %" PRId64 " ms (%s)", path,
		   c->timeout_ms, msg);
	return r;
}

static int
authenticate(struct vmp_etcd *c, size_t idx, int64_t deadline_ms)
{
	json_t *req = json_pack("{s:s, s:s}", "name", c->user, "password", c->password);
	char *body = json_dumps(req, JSON_COMPACT);
	struct buf b = { 0 };
	char what[512] = "";
	long status = 0;
	bool sent;
	int64_t left = deadline_ms - vmp_monotonic_ms();
	int r;

	json_decref(req);
	r = post_once(c, c->endpoints[idx], "/v3/auth/authenticate", body, left > 0 ? left : 1,
		      &b, &status, &sent, what, sizeof(what));
	explicit_bzero(body, strlen(body));
	free(body);
	if (r < 0) {
		client_err(c, "authenticate as '%s': %s", c->user, what);
		goto out;
	}
	r = vmp_etcd_parse_auth(b.data ? b.data : "", b.len, &c->token, what, sizeof(what));
	if (r < 0)
		client_err(c, "authenticate as '%s': %s", c->user, what);
	if (r == -EIO && status == 400)
		r = -EACCES;
out:
	free(b.data);
	return r;
}

/*
 * Sends req (consumed) to path and hands the reply to the parser's caller: returns 0
 * with the body in *b, or a negative errno with the message set.
 */
static int
call(struct vmp_etcd *c, const char *path, json_t *req, struct buf *b, const char **ret_ep)
{
	/* a transaction is sent to one member at most once it may have arrived */
	bool once = strcmp(path, "/v3/kv/txn") == 0;
	char *body = json_dumps(req, JSON_COMPACT);
	size_t idx = 0;
	int r;

	json_decref(req);
	if (!body)
		abort();
	c->err[0] = '\0';
	r = request_deadline(c, path, body, vmp_monotonic_ms() + c->timeout_ms, once, true, b,
			     &idx);
	free(body);
	if (r == 0) {
		*ret_ep = c->endpoints[idx];
		if (!b->data)
			b->data = xstrdup("");
	}
	return r;
}

/* After a parser failed with perr: the message names the endpoint and the path. */
static int
parse_failed(struct vmp_etcd *c, const char *ep, const char *path, int r, const char *perr)
{
	client_err(c, "etcd %s: %s: %s", ep, path, perr);
	return r;
}

static json_t *
b64_json(const void *data, size_t len)
{
	char *s = b64_encode(data, len);
	json_t *j = json_string(s);

	free(s);
	return j;
}

/* The end of the range of every key that starts with key (etcd's "prefix end"). */
static json_t *
prefix_end(const char *key)
{
	size_t n = strlen(key);
	char *end = xstrdup(key);
	json_t *j;

	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n == 0) {
		free(end);
		return b64_json("", 1);   /* "\0": every key */
	}
	end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
	j = b64_json(end, n);
	free(end);
	return j;
}

int
vmp_etcd_put(struct vmp_etcd *c, const char *key, const void *value, size_t value_len,
	     int64_t lease, int64_t *ret_revision)
{
	json_t *req = json_object();
	struct buf b = { 0 };
	const char *ep;
	char perr[512];
	int r;

	json_object_set_new(req, "key", b64_json(key, strlen(key)));
	json_object_set_new(req, "value", b64_json(value, value_len));
	if (lease)
		json_object_set_new(req, "lease", json_sprintf("%" PRId64, lease));
	r = call(c, "/v3/kv/put", req, &b, &ep);
	if (r == 0) {
		r = vmp_etcd_parse_put(b.data, b.len, ret_revision, perr, sizeof(perr));
		if (r < 0)
			parse_failed(c, ep, "/v3/kv/put", r, perr);
	}
	free(b.data);
	return r;
}

static json_t *
range_json(const char *key, bool prefix, int64_t revision, int64_t limit, bool keys_only,
	   bool count_only)
{
	json_t *req = json_object();

	json_object_set_new(req, "key", b64_json(key, strlen(key)));
	if (prefix)
		json_object_set_new(req, "range_end", prefix_end(key));
	if (revision)
		json_object_set_new(req, "revision", json_sprintf("%" PRId64, revision));
	if (limit)
		json_object_set_new(req, "limit", json_sprintf("%" PRId64, limit));
	if (keys_only)
		json_object_set_new(req, "keys_only", json_true());
	if (count_only)
		json_object_set_new(req, "count_only", json_true());
	return req;
}

int
vmp_etcd_range(struct vmp_etcd *c, const struct vmp_etcd_range_req *q, struct vmp_etcd_range *ret)
{
	struct buf b = { 0 };
	const char *ep;
	char perr[512];
	int r;

	r = call(c, "/v3/kv/range", range_json(q->key, q->prefix, q->revision, q->limit,
					       q->keys_only, q->count_only), &b, &ep);
	if (r == 0) {
		r = vmp_etcd_parse_range(b.data, b.len, ret, perr, sizeof(perr));
		if (r < 0)
			parse_failed(c, ep, "/v3/kv/range", r, perr);
	}
	free(b.data);
	return r;
}

int
vmp_etcd_delete(struct vmp_etcd *c, const char *key, bool prefix)
{
	json_t *req = json_object();
	struct buf b = { 0 };
	int64_t n = 0;
	const char *ep;
	char perr[512];
	int r;

	json_object_set_new(req, "key", b64_json(key, strlen(key)));
	if (prefix)
		json_object_set_new(req, "range_end", prefix_end(key));
	r = call(c, "/v3/kv/deleterange", req, &b, &ep);
	if (r == 0) {
		r = vmp_etcd_parse_delete(b.data, b.len, &n, perr, sizeof(perr));
		if (r < 0)
			parse_failed(c, ep, "/v3/kv/deleterange", r, perr);
	}
	free(b.data);
	if (r < 0)
		return r;
	return n > INT_MAX ? INT_MAX : (int)n;
}

static const char *const target_names[VMP_ETCD_TARGET_MAX] = {
	[VMP_ETCD_TARGET_VERSION] = "VERSION",
	[VMP_ETCD_TARGET_CREATE] = "CREATE",
	[VMP_ETCD_TARGET_MOD] = "MOD",
	[VMP_ETCD_TARGET_VALUE] = "VALUE",
	[VMP_ETCD_TARGET_LEASE] = "LEASE",
};
static const char *const target_fields[VMP_ETCD_TARGET_MAX] = {
	[VMP_ETCD_TARGET_VERSION] = "version",
	[VMP_ETCD_TARGET_CREATE] = "create_revision",
	[VMP_ETCD_TARGET_MOD] = "mod_revision",
	[VMP_ETCD_TARGET_VALUE] = "value",
	[VMP_ETCD_TARGET_LEASE] = "lease",
};
static const char *const result_names[VMP_ETCD_RESULT_MAX] = {
	[VMP_ETCD_EQUAL] = "EQUAL",
	[VMP_ETCD_GREATER] = "GREATER",
	[VMP_ETCD_LESS] = "LESS",
	[VMP_ETCD_NOT_EQUAL] = "NOT_EQUAL",
};

static int
ops_json(const struct vmp_etcd_op *ops, size_t n, json_t **ret)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct vmp_etcd_op *op = &ops[i];
		json_t *o = json_object(), *inner;

		switch (op->type) {
		case VMP_ETCD_OP_PUT:
			inner = json_object();
			json_object_set_new(inner, "key", b64_json(op->key, strlen(op->key)));
			json_object_set_new(inner, "value", b64_json(op->value, op->value_len));
			if (op->lease)
				json_object_set_new(inner, "lease",
						    json_sprintf("%" PRId64, op->lease));
			json_object_set_new(o, "requestPut", inner);
			break;
		case VMP_ETCD_OP_DELETE:
			inner = json_object();
			json_object_set_new(inner, "key", b64_json(op->key, strlen(op->key)));
			if (op->prefix)
				json_object_set_new(inner, "range_end", prefix_end(op->key));
			json_object_set_new(o, "requestDeleteRange", inner);
			break;
		case VMP_ETCD_OP_RANGE:
			json_object_set_new(o, "requestRange",
					    range_json(op->key, op->prefix, 0, 0, op->keys_only, false));
			break;
		default:
			json_decref(o);
			json_decref(arr);
			return -EINVAL;
		}
		json_array_append_new(arr, o);
	}
	*ret = arr;
	return 0;
}

int
vmp_etcd_txn(struct vmp_etcd *c, const struct vmp_etcd_compare *cmp, size_t ncmp,
	     const struct vmp_etcd_op *success, size_t nsuccess,
	     const struct vmp_etcd_op *failure, size_t nfailure,
	     struct vmp_etcd_txn_result *ret)
{
	json_t *req = json_object(), *carr = json_array(), *sarr, *farr;
	struct buf b = { 0 };
	const char *ep;
	char perr[512];
	size_t i;
	int r;

	for (i = 0; i < ncmp; i++) {
		const struct vmp_etcd_compare *k = &cmp[i];
		json_t *o;

		if ((unsigned)k->target >= VMP_ETCD_TARGET_MAX ||
		    (unsigned)k->result >= VMP_ETCD_RESULT_MAX) {
			json_decref(carr);
			json_decref(req);
			client_err(c, "etcd: /v3/kv/txn: compare %zu of key '%s' is invalid", i, k->key);
			return -EINVAL;
		}
		o = json_object();
		json_object_set_new(o, "key", b64_json(k->key, strlen(k->key)));
		json_object_set_new(o, "target", json_string(target_names[k->target]));
		json_object_set_new(o, "result", json_string(result_names[k->result]));
		if (k->target == VMP_ETCD_TARGET_VALUE)
			json_object_set_new(o, "value", b64_json(k->value, k->value_len));
		else
			json_object_set_new(o, target_fields[k->target],
					    json_sprintf("%" PRId64, k->number));
		json_array_append_new(carr, o);
	}
	json_object_set_new(req, "compare", carr);
	if (ops_json(success, nsuccess, &sarr) < 0) {
		json_decref(req);
		client_err(c, "etcd: /v3/kv/txn: an operation of an unknown type");
		return -EINVAL;
	}
	json_object_set_new(req, "success", sarr);
	if (ops_json(failure, nfailure, &farr) < 0) {
		json_decref(req);
		client_err(c, "etcd: /v3/kv/txn: an operation of an unknown type");
		return -EINVAL;
	}
	json_object_set_new(req, "failure", farr);
	r = call(c, "/v3/kv/txn", req, &b, &ep);
	if (r == 0) {
		r = vmp_etcd_parse_txn(b.data, b.len, ret, perr, sizeof(perr));
		if (r < 0)
			parse_failed(c, ep, "/v3/kv/txn", r, perr);
	}
	free(b.data);
	return r;
}

static int
lease_call(struct vmp_etcd *c, const char *path, json_t *req, int64_t *ret_id,
	   int64_t *ret_ttl_s)
{
	struct buf b = { 0 };
	const char *ep;
	char perr[512];
	int r;

	r = call(c, path, req, &b, &ep);
	if (r == 0) {
		r = vmp_etcd_parse_lease(b.data, b.len, ret_id, ret_ttl_s, perr, sizeof(perr));
		if (r < 0)
			parse_failed(c, ep, path, r, perr);
	}
	free(b.data);
	return r;
}

int
vmp_etcd_lease_grant(struct vmp_etcd *c, int64_t ttl_s, int64_t *ret_id)
{
	json_t *req = json_object();
	int64_t id = 0, ttl = 0;
	int r;

	if (ttl_s < 1) {
		json_decref(req);
		client_err(c, "etcd: lease TTL %" PRId64 " s is under 1 s", ttl_s);
		return -EINVAL;
	}
	json_object_set_new(req, "TTL", json_sprintf("%" PRId64, ttl_s));
	r = lease_call(c, "/v3/lease/grant", req, &id, &ttl);
	if (r == 0 && (id == 0 || ttl < 1)) {
		client_err(c, "etcd %s: /v3/lease/grant: no lease in the reply", vmp_etcd_endpoint(c));
		return -EPROTO;
	}
	if (r == 0)
		*ret_id = id;
	return r;
}

int
vmp_etcd_lease_keepalive(struct vmp_etcd *c, int64_t id, int64_t *ret_ttl_s)
{
	json_t *req = json_object();
	int64_t ttl = 0;
	int r;

	json_object_set_new(req, "ID", json_sprintf("%" PRId64, id));
	r = lease_call(c, "/v3/lease/keepalive", req, NULL, &ttl);
	if (r < 0)
		return r;
	if (ttl <= 0) {
		client_err(c, "etcd %s: /v3/lease/keepalive: lease %" PRId64 " has expired",
			   vmp_etcd_endpoint(c), id);
		return -ENOENT;
	}
	if (ret_ttl_s)
		*ret_ttl_s = ttl;
	return 0;
}

int
vmp_etcd_lease_revoke(struct vmp_etcd *c, int64_t id)
{
	json_t *req = json_object();

	json_object_set_new(req, "ID", json_sprintf("%" PRId64, id));
	return lease_call(c, "/v3/lease/revoke", req, NULL, NULL);
}

int
vmp_etcd_status(struct vmp_etcd *c, struct vmp_etcd_status *ret)
{
	struct buf b = { 0 };
	const char *ep;
	char perr[512];
	int r;

	r = call(c, "/v3/maintenance/status", json_object(), &b, &ep);
	if (r == 0) {
		r = vmp_etcd_parse_status(b.data, b.len, ret, perr, sizeof(perr));
		if (r < 0)
			parse_failed(c, ep, "/v3/maintenance/status", r, perr);
	}
	free(b.data);
	return r;
}
