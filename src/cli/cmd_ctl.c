/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot ctl`: asks and steers a running daemon through its HTTP API (client.h):
 * pause and resume the loop, run a cycle now, set a host's or a VM's mode, pin a VM,
 * show what it would do now and why, its metrics. Also the daemon side of `vmpilot
 * status -c vmpilot://...` and `vmpilot why -c vmpilot://...` (vmp_ctl_status,
 * vmp_ctl_why), so reading a VM no longer competes with the daemon for its socket.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "daemon/journal.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_DEFAULT_URI "vmpilot:///run/vmpilot/vmpilot.sock"

enum { OPT_CONNECT = 1, OPT_JSON };

static const struct vmp_cli_option ctl_options[] = {
	{ "connect", 'c', "URI", "the daemon: vmpilot:///SOCKET or vmpilots://HOST:PORT?ca=FILE"
	  "&cert=FILE&key=FILE (default " CTL_DEFAULT_URI ")", OPT_CONNECT },
	{ "json", 'j', NULL, "print the daemon's JSON reply as it is", OPT_JSON },
	{ 0 },
};

static void
say_err(const char *what, const char *msg)
{
	char *p = vmp_str_printable(msg);

	fprintf(stderr, "vmpilot %s: %s\n", what, p);
	free(p);
}

static const char *
s_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* A number with prec decimals or "-" for null, width wide. */
static void
num(FILE *out, const json_t *v, double scale, int width, int prec)
{
	if (json_is_number(v))
		fprintf(out, "%*.*f", width, prec, json_number_value(v) / scale);
	else
		fprintf(out, "%*s", width, "-");
}

void
vmp_cli_cluster_line(FILE *out, const struct json_t *c)
{
	static const char *const states[] = { "pending", "running", "done", "failed",
					      "cancelled" };
	const json_t *in = json_object_get(c, "intents"), *age = json_object_get(c, "snapshot_age_s");
	const char *role = s_of(c, "role"), *why = s_of(c, "why");
	char *agent, *leader, *w;
	size_t i;

	if (!json_is_object(c) || strcmp(s_of(c, "mode"), "agents"))
		return;
	agent = vmp_str_printable(s_of(c, "agent"));
	leader = vmp_str_printable(*s_of(c, "leader") ? s_of(c, "leader") : "nobody");
	fprintf(out, "cluster: agent %s, %s", agent, !strcmp(role, "leader") ? "leader" :
		!strcmp(role, "follower") ? "follower of " : "unavailable");
	if (!strcmp(role, "follower"))
		fputs(leader, out);
	fprintf(out, " (term %lld), %zu member%s, intents",
		(long long)json_integer_value(json_object_get(c, "term")),
		json_array_size(json_object_get(c, "members")),
		json_array_size(json_object_get(c, "members")) == 1 ? "" : "s");
	for (i = 0; i < VMP_ARRAY_SIZE(states); i++)
		fprintf(out, " %lld %s", (long long)json_integer_value(json_object_get(in, states[i])),
			states[i]);
	if (json_is_number(age))
		fprintf(out, ", snapshot %.1f s old", json_number_value(age));
	w = vmp_str_printable(why);
	fprintf(out, "%s%s\n", *w ? "; " : "", w);
	free(w);
	free(agent);
	free(leader);
}

int
vmp_ctl_status(const char *uri, bool json, FILE *out)
{
	json_t *s = NULL, *h, *v;
	char *err = NULL;
	size_t i, j;

	if (vmp_client_get_json(uri, "/api/v1/status", &s, &err) < 0) {
		say_err("status", err);
		free(err);
		return VMP_EXIT_FAILURE;
	}
	if (json) {
		json_dumpf(s, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
		json_decref(s);
		return VMP_EXIT_OK;
	}
	fprintf(out, "daemon %s: cycle %lld%s%s%s\n", uri,
		(long long)json_integer_value(json_object_get(s, "cycle")),
		json_is_true(json_object_get(s, "paused")) ? ", paused" : "",
		json_is_true(json_object_get(s, "dry_run")) ? ", dry run" : "",
		json_is_true(json_object_get(s, "journal_failing")) ? ", JOURNAL FAILING" : "");
	vmp_cli_cluster_line(out, json_object_get(s, "cluster"));
	json_array_foreach(json_object_get(s, "hosts"), i, h) {
		char *hu = vmp_str_printable(s_of(h, "uri"));

		fprintf(out, "host %s: %s, mode %s, budget left %lld balloon %lld hotplug %lld "
			"migration%s%s\n", hu, json_is_true(json_object_get(h, "ok")) ? "up" : "DOWN",
			s_of(h, "mode"),
			(long long)json_integer_value(json_object_get(json_object_get(h, "budget_left"),
								      "balloon")),
			(long long)json_integer_value(json_object_get(json_object_get(h, "budget_left"),
								      "hotplug")),
			(long long)json_integer_value(json_object_get(json_object_get(h, "budget_left"),
								      "migration")),
			*s_of(h, "fault") ? "; " : "", *s_of(h, "fault") ? s_of(h, "fault") : "");
		free(hu);
		fprintf(out, "  %-20s %-9s %10s %10s %6s %8s %-7s %s\n", "VM", "STATE", "MEM MiB",
			"DEMAND MiB", "VCPUS", "CPU", "MODE", "NOW");
		json_array_foreach(json_object_get(h, "vms"), j, v) {
			char *name = vmp_str_printable(s_of(v, "name"));
			json_t *d;
			size_t k;
			bool said = false;

			fprintf(out, "  %-20s %-9s ", name, s_of(v, "state"));
			num(out, json_object_get(v, "mem_alloc_kib"), 1024, 10, 0);
			fputc(' ', out);
			num(out, json_object_get(v, "mem_demand_kib"), 1024, 10, 0);
			fprintf(out, " %6lld ", (long long)json_integer_value(json_object_get(v, "vcpus")));
			num(out, json_object_get(v, "cpu_used_cores"), 1, 8, 2);
			fprintf(out, " %-7s ", s_of(v, "mode"));
			json_array_foreach(json_object_get(v, "decisions"), k, d) {
				fprintf(out, "%s%s %s (%s)", said ? "; " : "", s_of(d, "resource"),
					s_of(d, "action"), s_of(d, "reason"));
				said = true;
			}
			fprintf(out, "%s%s\n", json_is_true(json_object_get(v, "pinned")) ? " [pinned]" : "",
				said ? "" : "-");
			free(name);
		}
	}
	json_decref(s);
	return VMP_EXIT_OK;
}

int
vmp_ctl_why(const char *uri, const char *vm, size_t last, bool all, bool json)
{
	char *path, *ev = vmp_client_escape(vm), *err = NULL;
	json_t *r = NULL, *e;
	size_t i;

	path = xasprintf("/api/v1/decisions?vm=%s&limit=%zu%s", ev, last, all ? "&all=1" : "");
	free(ev);
	if (vmp_client_get_json(uri, path, &r, &err) < 0) {
		say_err("why", err);
		free(err);
		free(path);
		return VMP_EXIT_FAILURE;
	}
	free(path);
	if (json) {
		json_dumpf(json_object_get(r, "decisions"), stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else if (json_array_size(json_object_get(r, "decisions")) == 0) {
		char *v = vmp_str_printable(vm);

		printf("%s: no %sdecisions about vm '%s'\n", uri,
		       all ? "" : "actions or refusals; try --all for ", v);
		free(v);
	} else {
		json_array_foreach(json_object_get(r, "decisions"), i, e)
			vmp_journal_explain(e, stdout);
	}
	json_decref(r);
	return VMP_EXIT_OK;
}

/* A write: POST path with body; prints what the daemon said. */
static int
ctl_write(const char *uri, const char *path, const char *body, bool json)
{
	char *reply = NULL, *err = NULL;
	json_t *o;
	int status;

	status = vmp_client_request(uri, "POST", path, body, 30000, &reply, &err);
	if (status < 0) {
		say_err("ctl", err);
		free(err);
		return VMP_EXIT_FAILURE;
	}
	o = json_loads(reply, 0, NULL);
	if (json) {
		printf("%s\n", reply);
	} else if (status == 202) {
		printf("accepted: %s\n", path);
	} else {
		char *msg = xasprintf("%s: %d %s", path, status,
				      json_string_value(json_object_get(o, "error")) ?
				      json_string_value(json_object_get(o, "error")) : "");

		say_err("ctl", msg);
		free(msg);
	}
	json_decref(o);
	free(reply);
	return status == 202 ? VMP_EXIT_OK : VMP_EXIT_FAILURE;
}

static int
ctl_get(const char *uri, const char *path, bool raw)
{
	char *reply = NULL, *err = NULL;
	int status = vmp_client_request(uri, "GET", path, NULL, 30000, &reply, &err);

	if (status < 0) {
		say_err("ctl", err);
		free(err);
		return VMP_EXIT_FAILURE;
	}
	if (status != 200) {
		json_t *o = json_loads(reply, 0, NULL);
		char *msg = xasprintf("%s: %d %s", path, status, s_of(o, "error"));

		say_err("ctl", msg);
		free(msg);
		json_decref(o);
		free(reply);
		return VMP_EXIT_FAILURE;
	}
	fputs(reply, stdout);
	if (!raw)
		fputc('\n', stdout);
	free(reply);
	return VMP_EXIT_OK;
}

static int
ctl_recommendations(const char *uri, const char *vm, bool json)
{
	char *path, *ev = vm ? vmp_client_escape(vm) : NULL, *err = NULL;
	json_t *r = NULL, *d;
	size_t i;

	path = xasprintf("/api/v1/recommendations%s%s", ev ? "?vm=" : "", ev ? ev : "");
	free(ev);
	if (json) {
		int rc = ctl_get(uri, path, false);

		free(path);
		return rc;
	}
	if (vmp_client_get_json(uri, path, &r, &err) < 0) {
		say_err("ctl", err);
		free(err);
		free(path);
		return VMP_EXIT_FAILURE;
	}
	free(path);
	if (json_array_size(json_object_get(r, "recommendations")) == 0)
		printf("nothing to do now\n");
	json_array_foreach(json_object_get(r, "recommendations"), i, d) {
		char *v = vmp_str_printable(s_of(d, "vm"));

		printf("%s %s: %s %.0f -> %.0f (%s)%s\n", v, s_of(d, "policy"), s_of(d, "action"),
		       json_number_value(json_object_get(d, "from")),
		       json_number_value(json_object_get(d, "to")), s_of(d, "reason"),
		       json_is_true(json_object_get(d, "acted")) ? ", done" : ", not done");
		free(v);
	}
	json_decref(r);
	return VMP_EXIT_OK;
}

/* {"host"|"vm": target, key: value}: a target containing "://" is a host URI. */
static char *
target_body(const char *target, const char *key, json_t *value)
{
	json_t *o = json_pack("{s:s,s:o}", strstr(target, "://") ? "host" : "vm", target, key,
			      value);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

static int
run_ctl(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	const char *uri = CTL_DEFAULT_URI, *what;
	bool json = false;
	int id, nargs, rc;
	char *body;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT:
			uri = p.optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		}
	}
	if (id == VMP_CLI_HELP)
		return VMP_EXIT_OK;
	if (id == VMP_CLI_ERROR)
		return VMP_EXIT_USAGE;
	if (p.optind >= argc)
		return vmp_cli_usage_error(cmd, "expected an action");
	if (!vmp_client_is_daemon_uri(uri))
		return vmp_cli_usage_error(cmd, "'%s' is not a daemon URI (vmpilot:///SOCKET or "
					   "vmpilots://HOST:PORT)", uri);
	what = argv[p.optind];
	nargs = argc - p.optind - 1;
	argv += p.optind + 1;
	if (!strcmp(what, "pause") || !strcmp(what, "resume") || !strcmp(what, "cycle")) {
		char *path;

		if (nargs)
			return vmp_cli_usage_error(cmd, "%s takes no operand", what);
		path = xasprintf("/api/v1/loop/%s", what);
		rc = ctl_write(uri, path, "{}", json);
		free(path);
		return rc;
	}
	if (!strcmp(what, "mode")) {
		if (nargs != 2 || vmp_str_starts_with(argv[1], "-"))
			return vmp_cli_usage_error(cmd, "mode takes TARGET (a VM, or a host URI) "
						   "and MODE (off, advise, act, inherit)");
		body = target_body(argv[0], "mode", json_string(argv[1]));
		rc = ctl_write(uri, "/api/v1/mode", body, json);
		free(body);
		return rc;
	}
	if (!strcmp(what, "pin") || !strcmp(what, "unpin")) {
		if (nargs != 1)
			return vmp_cli_usage_error(cmd, "%s takes one VM", what);
		body = target_body(argv[0], "pinned", json_boolean(!strcmp(what, "pin")));
		rc = ctl_write(uri, "/api/v1/pin", body, json);
		free(body);
		return rc;
	}
	if (!strcmp(what, "recommendations")) {
		if (nargs > 1)
			return vmp_cli_usage_error(cmd, "recommendations takes at most one VM");
		return ctl_recommendations(uri, nargs ? argv[0] : NULL, json);
	}
	if (!strcmp(what, "metrics")) {
		if (nargs)
			return vmp_cli_usage_error(cmd, "metrics takes no operand");
		return ctl_get(uri, "/metrics", true);
	}
	if (!strcmp(what, "history")) {
		char *ev, *path;

		if (nargs != 1)
			return vmp_cli_usage_error(cmd, "history takes one VM");
		ev = vmp_client_escape(argv[0]);
		path = xasprintf("/api/v1/history?vm=%s", ev);
		rc = ctl_get(uri, path, false);
		free(ev);
		free(path);
		return rc;
	}
	return vmp_cli_usage_error(cmd, "unknown action '%s'", what);
}

const struct vmp_cli_command vmp_cmd_ctl = {
	.name = "ctl",
	.summary = "ask and steer a running vmpilotd through its API",
	.synopsis = "ACTION [OPERAND...]",
	.description =
		"Actions: pause, resume (the loop's cycles), cycle (run one now), mode TARGET\n"
		"MODE (TARGET a VM or a host URI; MODE off, advise, act or inherit), pin VM,\n"
		"unpin VM (a pinned VM is never migrated), recommendations [VM] (what the loop\n"
		"would do now and why), history VM (its samples as JSON), metrics (Prometheus\n"
		"text). Writes need the admin role: root or api_admin_group on the unix socket, a\n"
		"client certificate listed in api_admin_cns or an admin token over TLS; the\n"
		"daemon journals each one with who asked. A bearer token is read from\n"
		"$VMPILOT_TOKEN. Exit status 1 when the daemon refuses or cannot be reached.",
	.options = ctl_options,
	.run = run_ctl,
};
