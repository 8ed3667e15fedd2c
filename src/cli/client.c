/* SPDX-License-Identifier: MIT */
/* The client of the daemon's HTTP API, over libcurl (see client.h). */
#include "cli/client.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define REPLY_MAX (64u * 1024 * 1024)

bool
vmp_client_is_daemon_uri(const char *uri)
{
	return uri && (vmp_str_starts_with(uri, "vmpilot://") ||
		       vmp_str_starts_with(uri, "vmpilots://"));
}

void
vmp_client_uri_release(struct vmp_client_uri *u)
{
	free(u->socket);
	free(u->base);
	free(u->ca);
	free(u->cert);
	free(u->key);
	memset(u, 0, sizeof(*u));
}

/* Characters allowed in a host:port and a path: no controls, spaces or URL syntax. */
static bool
plain(const char *s, size_t n, const char *extra)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    (!strchr(extra, s[i]) && strchr("?#&=%\\\"'<>[]{}|^`", s[i])))
			return false;
	return true;
}

int
vmp_client_uri_parse(const char *uri, struct vmp_client_uri *ret, char **ret_err)
{
	struct vmp_client_uri u = { 0 };
	const char *rest, *q;
	size_t n;

	if (vmp_str_starts_with(uri, "vmpilot://")) {
		rest = uri + strlen("vmpilot://");
		if (*rest != '/' || rest[1] == '\0' || strchr(rest, '?') ||
		    !plain(rest, strlen(rest), "/")) {
			*ret_err = xasprintf("'%s': want vmpilot:///PATH/TO/SOCKET", uri);
			return -EINVAL;
		}
		u.socket = xstrdup(rest);
		*ret = u;
		return 0;
	}
	if (!vmp_str_starts_with(uri, "vmpilots://")) {
		*ret_err = xasprintf("'%s': not a vmpilot:// or vmpilots:// URI", uri);
		return -EINVAL;
	}
	rest = uri + strlen("vmpilots://");
	q = strchr(rest, '?');
	n = q ? (size_t)(q - rest) : strlen(rest);
	if (n && rest[n - 1] == '/')
		n--;
	if (n == 0 || !strchr(rest, ':') || (q && memchr(rest, ':', n) == NULL) ||
	    !plain(rest, n, "[]")) {
		*ret_err = xasprintf("'%s': want vmpilots://HOST:PORT[?ca=FILE&cert=FILE&key=FILE]",
				     uri);
		return -EINVAL;
	}
	u.base = xasprintf("https://%.*s", (int)n, rest);
	while (q && *q) {
		const char *k = q + 1, *eq = strchr(k, '='), *amp = strchr(k, '&');
		size_t kl, vl;
		char **slot;

		if (!eq || (amp && amp < eq)) {
			*ret_err = xasprintf("'%s': a query parameter without '='", uri);
			goto bad;
		}
		kl = (size_t)(eq - k);
		vl = amp ? (size_t)(amp - eq - 1) : strlen(eq + 1);
		slot = kl == 2 && !strncmp(k, "ca", 2) ? &u.ca :
		       kl == 4 && !strncmp(k, "cert", 4) ? &u.cert :
		       kl == 3 && !strncmp(k, "key", 3) ? &u.key : NULL;
		if (!slot || *slot || vl == 0 || eq[1] != '/' || !plain(eq + 1, vl, "/")) {
			*ret_err = xasprintf("'%s': parameter '%.*s': want ca, cert or key, once each, "
					     "with an absolute path", uri, (int)kl, k);
			goto bad;
		}
		*slot = xstrndup(eq + 1, vl);
		q = amp;
	}
	if (!u.cert != !u.key) {
		*ret_err = xasprintf("'%s': cert and key go together", uri);
		goto bad;
	}
	*ret = u;
	return 0;
bad:
	vmp_client_uri_release(&u);
	return -EINVAL;
}

struct reply {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t
on_data(char *data, size_t size, size_t n, void *opaque)
{
	struct reply *r = opaque;
	size_t len = size * n;

	if (r->len + len > REPLY_MAX) {
		r->too_big = true;
		return 0;
	}
	r->buf = xrealloc(r->buf, r->len + len + 1);
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	r->buf[r->len] = '\0';
	return len;
}

int
vmp_client_request(const char *uri, const char *method, const char *path, const char *body,
		   long timeout_ms, char **ret_body, char **ret_err)
{
	struct vmp_client_uri u;
	struct curl_slist *headers = NULL;
	struct reply rep = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "", *url, *auth = NULL;
	const char *token = getenv("VMPILOT_TOKEN");
	long status = 0;
	CURLcode rc;
	CURL *c;
	int r;

	r = vmp_client_uri_parse(uri, &u, ret_err);
	if (r < 0)
		return r;
	c = curl_easy_init();
	if (!c)
		abort();
	url = xasprintf("%s%s", u.base ? u.base : "http://localhost", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, u.base ? "https" : "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &rep);
	if (u.socket)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, u.socket);
	if (u.ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, u.ca);
	if (u.cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, u.cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, u.key);
	}
	if (token && *token && u.base) {
		auth = xasprintf("Authorization: Bearer %s", token);
		headers = curl_slist_append(headers, auth);
	}
	if (body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(url);
	if (rc != CURLE_OK) {
		*ret_err = xasprintf("cannot reach the daemon at '%s': %s", uri,
				     rep.too_big ? "reply too large" :
				     *errbuf ? errbuf : curl_easy_strerror(rc));
		vmp_client_uri_release(&u);
		free(rep.buf);
		return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	}
	vmp_client_uri_release(&u);
	*ret_body = rep.buf ? rep.buf : xstrdup("");
	return (int)status;
}

int
vmp_client_get_json(const char *uri, const char *path, json_t **ret, char **ret_err)
{
	char *body = NULL;
	json_error_t e;
	json_t *o;
	int status;

	status = vmp_client_request(uri, "GET", path, NULL, 30000, &body, ret_err);
	if (status < 0)
		return status;
	o = json_loads(body, 0, &e);
	if (status != 200) {
		const char *msg = json_string_value(json_object_get(o, "error"));

		*ret_err = xasprintf("%s: %d %s", uri, status, msg ? msg : "unexpected reply");
		json_decref(o);
		free(body);
		return status == 401 || status == 403 ? -EACCES : -EIO;
	}
	free(body);
	if (!o) {
		*ret_err = xasprintf("%s: reply is not JSON: %s", uri, e.text);
		return -EPROTO;
	}
	*ret = o;
	return 0;
}

char *
vmp_client_escape(const char *s)
{
	CURL *c = curl_easy_init();
	char *e = c ? curl_easy_escape(c, s, 0) : NULL, *r;

	if (!e)
		abort();
	r = xstrdup(e);
	curl_free(e);
	curl_easy_cleanup(c);
	return r;
}
