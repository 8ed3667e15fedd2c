/* SPDX-License-Identifier: MIT */
/*
 * The daemon's HTTP API (libmicrohttpd, JSON with jansson): on a unix socket
 * authorised by the peer's credentials (SO_PEERCRED: root, or members of api_group
 * read, members of api_admin_group or root administer), and optionally on TCP with TLS
 * (GnuTLS) authorised by a client certificate signed by api_tls_ca or a bearer token
 * whose SHA-256 is in api_tokens. doc/api.md is the reference of every endpoint.
 *
 * Threading: libmicrohttpd runs one internal thread per listening socket that serves
 * every request. The loop never waits for a client: after each cycle its thread builds
 * the status and the /metrics text (publish.h) and swaps them in under a mutex held
 * only for the pointer swap; the API's thread answers from the last published copy.
 * Writes (pause, resume, mode, pin, a cycle now) and the audit of every write and of
 * every refused request are queued, under the same mutex, for the loop's thread, which
 * applies them and writes the audit into the journal between cycles; the API wakes it
 * with the wake callback. Decisions are read from the journal files and history from
 * the state database (its own read-only connection) on the API's thread.
 */
#ifndef VMP_DAEMON_API_H
#define VMP_DAEMON_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"

enum vmp_api_role {
	VMP_API_NONE,      /* not authenticated */
	VMP_API_READ,
	VMP_API_ADMIN,
	VMP_API_ROLE_MAX,
};
const char *vmp_api_role_name(enum vmp_api_role r);

struct vmp_api_options {
	const char *socket_path;        /* NULL = no unix socket */
	const char *group;              /* readers (a group name); NULL = root only */
	const char *admin_group;        /* administrators besides root; NULL = root only */
	const char *listen;             /* "ADDRESS:PORT" for TCP with TLS; NULL = none */
	const char *tls_cert, *tls_key; /* PEM files of the server */
	const char *tls_ca;             /* PEM file of the CA of client certificates; NULL = none */
	const char *admin_cns;          /* client certificate CNs with the admin role, comma list */
	const char *tokens;             /* "ROLE:SHA256HEX" comma list (ROLE read or admin) */
	const char *journal_path;       /* read by /api/v1/decisions; NULL = none */
	const char *state_path;         /* read by /api/v1/history; NULL = none */
	void (*wake)(void *opaque);     /* called (API thread) after a write is queued */
	void *opaque;
};

struct vmp_api;

/*
 * Starts the API: binds the unix socket (mode 0666: the peer's credentials decide,
 * not the file's mode; an existing socket is replaced, anything else at the path is
 * refused) and the TLS listener. With neither, the API only answers vmp_api_handle()
 * (tests and the fuzz target). Returns 0 and *ret, or a negative errno and *ret_err.
 */
int vmp_api_start(const struct vmp_api_options *o, struct vmp_api **ret, char **ret_err);
/* Stops serving, removes the socket, frees; accepts NULL. */
void vmp_api_stop(struct vmp_api *a);

/* Hands over the loop's new status (a reference is stolen) and /metrics text (freed later). */
void vmp_api_publish(struct vmp_api *a, json_t *status, char *metrics);

/* A write or audit record queued for the loop's thread. */
enum vmp_api_cmd_kind {
	VMP_API_CMD_AUDIT,   /* nothing to apply: a refused request to write in the journal */
	VMP_API_CMD_PAUSE,
	VMP_API_CMD_RESUME,
	VMP_API_CMD_CYCLE,
	VMP_API_CMD_MODE,
	VMP_API_CMD_PIN,
	VMP_API_CMD_MAX,
};

struct vmp_api_cmd {
	enum vmp_api_cmd_kind kind;
	char *host;          /* MODE, PIN: the host's URI */
	char *vm;            /* MODE (NULL = the whole host), PIN */
	int mode;            /* MODE: enum vmp_mode (INHERIT clears the override) */
	bool pinned;         /* PIN */
	char *who;           /* "uid 0 (root) pid 42 via unix socket", "127.0.0.1 cert CN=x" */
	char *what;          /* "POST /api/v1/loop/pause", with the body's gist */
	unsigned status;     /* the HTTP status it was answered with */
};

/*
 * Moves the queued commands to the caller (*ret, n returned; free each with
 * vmp_api_cmd_release() and the array with free()). *ret_dropped: audit records lost
 * because the queue was full since the last call.
 */
size_t vmp_api_take(struct vmp_api *a, struct vmp_api_cmd **ret, uint64_t *ret_dropped);
void vmp_api_cmd_release(struct vmp_api_cmd *c);

/* Requests served and refused (401/403) since the start. */
void vmp_api_counts(struct vmp_api *a, uint64_t *ret_served, uint64_t *ret_refused);

/* ---- the transport-free part, for tests and the fuzz target ---- */

struct vmp_api_request {
	const char *method;
	const char *path;                /* without the query */
	/* A query argument's value, or NULL; may be NULL (no arguments). */
	const char *(*arg)(void *ctx, const char *key);
	void *arg_ctx;
	const char *body;
	size_t body_len;
	enum vmp_api_role role;
	bool identified;                 /* the peer is known (unix credentials): 403, not 401 */
	const char *who;
};

struct vmp_api_response {
	unsigned status;
	const char *content_type;        /* static */
	char *body;                      /* caller frees */
	size_t len;
};

/* Routes and answers one request (queues writes and audits). Never fails. */
void vmp_api_handle(struct vmp_api *a, const struct vmp_api_request *rq,
		    struct vmp_api_response *rs);

/*
 * Parses the value of an Authorization header: "Bearer TOKEN" (scheme case-insensitive,
 * token of 1 to 512 visible ASCII characters). Returns 0 and *ret_token (caller frees)
 * or -EINVAL.
 */
int vmp_api_parse_bearer(const char *header, char **ret_token);

/*
 * Parses the api_tokens value into *ret (n entries, caller frees): each entry
 * "read:HEX" or "admin:HEX" with HEX the 64-digit SHA-256 of the token. Returns the
 * count or -EINVAL and *ret_err naming the entry.
 */
struct vmp_api_token {
	enum vmp_api_role role;
	uint8_t sha256[32];
};
int vmp_api_parse_tokens(const char *s, struct vmp_api_token **ret, char **ret_err);

#endif
