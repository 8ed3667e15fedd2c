/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP API's untrusted input (src/daemon/api.c, and the
 * client's URI parser src/cli/client.c): the first line is "METHOD PATH[?QUERY]", the
 * rest the body. Every request gets an answer with a status and a body; the bearer
 * header, token-list and daemon-URI parsers take the first line too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "daemon/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char status[] =
	"{\"time_ms\":1,\"cycle\":1,\"hosts\":[{\"uri\":\"qmp:///run/q\",\"ok\":true,"
	"\"vms\":[{\"name\":\"web1\",\"decisions\":[{\"policy\":\"rightsize-memory\","
	"\"action\":\"shrink\",\"from\":2,\"to\":1}]}]}]}";

/* The query of the request line, split at '&' into "k=v" (no unescaping). */
struct query {
	char *s;
};

static const char *
arg(void *ctx, const char *key)
{
	struct query *q = ctx;
	size_t kl = strlen(key);
	char *p = q->s;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			static char val[256];
			const char *v = p + kl + 1, *amp = strchr(v, '&');
			size_t n = amp ? (size_t)(amp - v) : strlen(v);

			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, v, n);
			val[n] = '\0';
			return val;
		}
		p = strchr(p, '&');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmp_api *api;
	struct vmp_api_request rq = { 0 };
	struct vmp_api_response rs;
	struct vmp_api_cmd *cmds = NULL;
	struct vmp_api_token *tokens = NULL;
	struct vmp_client_uri u;
	struct query q = { NULL };
	char *line, *nl, *sp, *tok = NULL, *err = NULL;
	uint64_t dropped;
	size_t n, i, ll;

	if (!api) {
		struct vmp_api_options o = { 0 };

		if (vmp_api_start(&o, &api, &err) < 0)
			abort();
		vmp_api_publish(api, json_loads(status, 0, NULL), strdup("vmpilot_cycles_total 1\n"));
	}
	nl = memchr(data, '\n', size);
	ll = nl ? (size_t)(nl - (const char *)data) : size;
	line = strndup((const char *)data, ll);
	if (!line)
		abort();
	if (vmp_api_parse_bearer(line, &tok) == 0)
		free(tok);
	if (vmp_api_parse_tokens(line, &tokens, &err) >= 0)
		free(tokens);
	else
		free(err);
	err = NULL;
	if (vmp_client_uri_parse(line, &u, &err) == 0)
		vmp_client_uri_release(&u);
	else
		free(err);
	sp = strchr(line, ' ');
	if (sp) {
		*sp = '\0';
		rq.method = line;
		rq.path = sp + 1;
		q.s = strchr(sp + 1, '?');
		if (q.s)
			*q.s++ = '\0';
		rq.arg = arg;
		rq.arg_ctx = &q;
		rq.body = nl ? (const char *)data + ll + 1 : NULL;
		rq.body_len = nl ? size - ll - 1 : 0;
		rq.role = (enum vmp_api_role)(size % VMP_API_ROLE_MAX);
		rq.identified = size % 2;
		rq.who = "fuzz";
		vmp_api_handle(api, &rq, &rs);
		if (rs.status < 200 || rs.status > 599 || !rs.body || !rs.content_type)
			abort();
		free(rs.body);
	}
	n = vmp_api_take(api, &cmds, &dropped);
	for (i = 0; i < n; i++)
		vmp_api_cmd_release(&cmds[i]);
	free(cmds);
	free(line);
	return 0;
}
