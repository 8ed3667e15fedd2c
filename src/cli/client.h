/* SPDX-License-Identifier: MIT */
/*
 * The client of a running daemon's HTTP API (daemon/api.h), with libcurl: `vmpilot
 * status`, `why` and `ctl` given --connect vmpilot:///PATH/TO/SOCKET (the unix socket)
 * or vmpilots://HOST:PORT (TLS) talk to the daemon instead of the hypervisor.
 *
 *   vmpilot:///run/vmpilot/vmpilot.sock
 *   vmpilots://host:8443?ca=/etc/vmpilot/ca.pem&cert=/etc/vmpilot/me.pem&key=/etc/vmpilot/me.key
 *
 * A bearer token is read from $VMPILOT_TOKEN (never from the command line, where other
 * users could see it). Nothing here prints: errors come back as messages.
 */
#ifndef VMP_CLI_CLIENT_H
#define VMP_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* A parsed daemon URI. */
struct vmp_client_uri {
	char *socket;        /* vmpilot:///PATH: the unix socket */
	char *base;          /* vmpilots://H:P: "https://H:P" */
	char *ca, *cert, *key;   /* ?ca=, ?cert=, ?key= (PEM paths) */
};

/* Whether uri names a daemon (vmpilot:// or vmpilots://) rather than a hypervisor. */
bool vmp_client_is_daemon_uri(const char *uri);

/*
 * Parses a daemon URI. Returns 0, or -EINVAL and *ret_err naming what is wrong
 * (caller frees). Untrusted input: fuzzed with the API's request parser.
 */
int vmp_client_uri_parse(const char *uri, struct vmp_client_uri *ret, char **ret_err);
void vmp_client_uri_release(struct vmp_client_uri *u);

/*
 * One request: method ("GET", "POST"), path with its query (already escaped), body
 * (NULL = none). Returns the HTTP status (> 0) with the reply body in *ret_body
 * (caller frees, NUL-terminated), or a negative errno and *ret_err for a transport
 * failure (no daemon, TLS refused, timeout of timeout_ms).
 */
int vmp_client_request(const char *uri, const char *method, const char *path, const char *body,
		       long timeout_ms, char **ret_body, char **ret_err);

/*
 * GET path and parse the reply as JSON. Returns 0 and *ret (a new reference), or a
 * negative errno and *ret_err: the daemon's {"error": ...} message for an HTTP error.
 */
int vmp_client_get_json(const char *uri, const char *path, json_t **ret, char **ret_err);

/* URL-escapes s for a query value (caller frees). */
char *vmp_client_escape(const char *s);

#endif
