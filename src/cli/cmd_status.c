/* SPDX-License-Identifier: MIT */
/*
 * `vmpilot status`: one line per VM of a hypervisor with live numbers (state, vCPUs,
 * CPU % from two samples of CPU time, memory actual/used, swap activity), as a table,
 * as JSON, or refreshed like top, with each VM's automation mode and the autopilot's
 * current recommendation (read from vmpilotd's status file). Talks to the hypervisor
 * only through the backend ops table, so it works with every backend.
 */
#include "backend/backend.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "util/fileio.h"
#include "cli/client.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATUS_DEFAULT_URI "qemu:///system"
#define STATUS_FIRST_GAP_MS 1000   /* between the two samples of a one-shot status */
#define STATUS_DEFAULT_CONFIG "/etc/vmpilot/vmpilot.conf"

enum { OPT_CONNECT = 1, OPT_JSON, OPT_WATCH, OPT_COUNT, OPT_TIMEOUT, OPT_CONFIG };

static const struct vmp_cli_option status_options[] = {
	{ "connect", 'c', "URI", "hypervisor URI (default $LIBVIRT_DEFAULT_URI, else "
	  STATUS_DEFAULT_URI "), or a running daemon: vmpilot:///SOCKET, vmpilots://HOST:PORT",
	  OPT_CONNECT },
	{ "json", 'j', NULL, "print JSON (one document per refresh)", OPT_JSON },
	{ "watch", 'w', "DURATION", "refresh every DURATION (e.g. 2s), like top", OPT_WATCH },
	{ "count", 0, "K", "with --watch: stop after K refreshes (default: never)", OPT_COUNT },
	{ "timeout", 0, "DURATION", "bound on each refresh, every hypervisor call included (default 10s)", OPT_TIMEOUT },
	{ "config", 'f', "FILE", "the autopilot's configuration, for the modes and its status "
	  "file (default " STATUS_DEFAULT_CONFIG " if it exists)", OPT_CONFIG },
	{ 0 },
};

/* One VM in one sample. */
struct status_vm {
	struct vmp_vm_info info;
	struct vmp_vm_stats st;
	int st_ret;                /* 0, or the error of vm_stats */
};

struct status_sample {
	struct status_vm *vms;
	int n;
};

/*
 * What the autopilot says of the VMs of this URI: its configuration (modes) and the
 * status file vmpilotd replaces after every cycle (vmp_loop_status(): the mode it
 * applied, the latest decisions, why a VM is not managed).
 */
struct status_pilot {
	struct vmp_config cfg;
	json_t *host;              /* this URI's entry of the status file, or NULL */
	json_t *cluster;           /* the status file's "cluster" (agent mode), or NULL */
	char *note;                /* why there is no status, for stderr, or NULL */
};

/* One output row: everything derived from two samples; "have_*" false = unknown. */
struct status_row {
	const struct status_vm *vm;
	bool have_cpu;
	double cpu_pct;            /* % of one host CPU (like top: 2 busy vCPUs = 200) */
	uint64_t actual_kib;       /* balloon size, else the configured current memory */
	bool have_guest_total;
	uint64_t guest_total_kib;  /* MemTotal as the guest's balloon driver reports it */
	bool have_used;
	uint64_t used_kib;         /* MemTotal - MemAvailable inside the guest */
	bool have_swap;
	double swap_kib_s;         /* swap in + out per second */
	const char *mode;          /* the VM's automation mode */
	const char *mode_source;   /* where it came from */
	char advice[160];          /* the pending recommendation, "none", or "-" (no daemon) */
	const char *not_managed;   /* why the autopilot cannot manage it, or NULL */
};

static void
sample_free(struct status_sample *s)
{
	free(s->vms);
	s->vms = NULL;
	s->n = 0;
}

/* Lists the VMs and samples each one. A VM whose stats fail keeps its error. */
static int
sample_take(struct vmp_backend *b, struct status_sample *ret)
{
	struct vmp_vm_info *infos = NULL;
	char list_err[512];
	int i, n;

	n = vmp_backend_list_vms(b, &infos);
	if (n < 0)
		return n;
	/* Why the first VM that could not be described could not (a QMP backend says). */
	snprintf(list_err, sizeof(list_err), "%s", vmp_backend_error(b));
	if (*list_err) {
		char *e = vmp_str_printable(list_err);

		fprintf(stderr, "vmpilot status: %s\n", e);
		free(e);
	}
	ret->vms = xcalloc((size_t)n + 1, sizeof(*ret->vms));
	ret->n = n;
	for (i = 0; i < n; i++) {
		struct status_vm *v = &ret->vms[i];

		v->info = infos[i];
		if (v->info.state == VMP_VM_SHUTOFF || v->info.state == VMP_VM_UNKNOWN) {
			/* Nothing to sample, or it did not answer: not asked twice. */
			if (v->info.state == VMP_VM_UNKNOWN) {
				char *name = vmp_str_printable(v->info.name);

				v->st_ret = -EIO;
				fprintf(stderr, "vmpilot status: vm '%s': state unknown%s\n", name,
					*list_err ? "" : " (no answer)");
				free(name);
			}
			continue;
		}
		v->st_ret = vmp_backend_vm_stats(b, v->info.name, &v->st);
		if (v->st_ret < 0)
			fprintf(stderr, "vmpilot status: %s\n", vmp_backend_error(b));
	}
	free(infos);
	return 0;
}

static const struct status_vm *
sample_find(const struct status_sample *s, const char *name)
{
	int i;

	for (i = 0; s && i < s->n; i++)
		if (strcmp(s->vms[i].info.name, name) == 0)
			return &s->vms[i];
	return NULL;
}

static bool
both_valid(const struct status_vm *a, const struct status_vm *b, uint32_t bit)
{
	return a && b && a->st_ret == 0 && b->st_ret == 0 && (a->st.valid & bit) &&
	       (b->st.valid & bit) && b->st.sample_time_us > a->st.sample_time_us;
}

/*
 * Loads the configuration (path, else the default file if it exists, else the built-in
 * defaults) and this URI's entry of its status file. A missing or bad file leaves a
 * note; only an invalid configuration is an error (-EINVAL, message printed).
 */
static int
pilot_load(const char *uri, const char *path, struct status_pilot *ret)
{
	char *err = NULL, *text = NULL;
	json_error_t je;
	json_t *root, *hosts, *h;
	size_t i;
	int r;

	vmp_config_init(&ret->cfg);
	if (!path && access(STATUS_DEFAULT_CONFIG, F_OK) == 0)
		path = STATUS_DEFAULT_CONFIG;
	if (path && vmp_config_load(path, &ret->cfg, &err) < 0) {
		fprintf(stderr, "vmpilot status: %s\n", err);
		free(err);
		return -EINVAL;
	}
	r = vmp_read_file(NULL, ret->cfg.status_file, &text, NULL);
	if (r < 0) {
		ret->note = xasprintf("no autopilot status ('%s': %s): is vmpilotd running?",
				      ret->cfg.status_file, vmp_file_strerror(r));
		return 0;
	}
	root = json_loads(text, 0, &je);
	free(text);
	hosts = json_object_get(root, "hosts");
	if (!root || !json_is_array(hosts)) {
		ret->note = xasprintf("%s:%d: not a vmpilot status file%s%s", ret->cfg.status_file,
				      root ? 1 : je.line, root ? "" : ": ", root ? "" : je.text);
		json_decref(root);
		return 0;
	}
	ret->cluster = json_incref(json_object_get(root, "cluster"));
	json_array_foreach(hosts, i, h) {
		const char *u = json_string_value(json_object_get(h, "uri"));

		if (u && !strcmp(u, uri) && json_is_array(json_object_get(h, "vms"))) {
			ret->host = json_incref(h);
			break;
		}
	}
	if (!ret->host)
		ret->note = xasprintf("the autopilot does not watch '%s' (status file '%s')", uri,
				      ret->cfg.status_file);
	json_decref(root);
	return 0;
}

static void
pilot_release(struct status_pilot *p)
{
	vmp_config_release(&p->cfg);
	json_decref(p->host);
	json_decref(p->cluster);
	free(p->note);
}

/* A decision of the status file as "grow memory 2048 -> 2150 MiB (guest_pressure)". */
static void
format_advice(char *buf, size_t size, const json_t *d)
{
	const char *action = json_string_value(json_object_get(d, "action"));
	const char *res = json_string_value(json_object_get(d, "resource"));
	const char *why = json_string_value(json_object_get(d, "reason"));
	double from = json_number_value(json_object_get(d, "from"));
	double to = json_number_value(json_object_get(d, "to"));

	if (res && !strcmp(res, "memory_kib"))
		snprintf(buf, size, "%s memory %.0f -> %.0f MiB (%s)", action, from / 1024.0,
			 to / 1024.0, why ? why : "?");
	else if (res && !strcmp(res, "migration"))
		snprintf(buf, size, "migrate from host %.0f to host %.0f (%s)", from, to,
			 why ? why : "?");
	else
		snprintf(buf, size, "%s %s %.0f -> %.0f (%s)", action, res ? res : "?", from, to,
			 why ? why : "?");
}

/* The mode and recommendation of VM vi for its row. */
static void
pilot_vm(const struct status_pilot *p, const char *uri, const struct vmp_vm_info *vi,
	 struct status_row *r)
{
	enum vmp_mode_source src;
	const json_t *vms = json_object_get(p->host, "vms"), *v, *d;
	size_t i, j;

	r->mode = vmp_mode_name(vmp_config_vm_mode(&p->cfg, uri, vi->name, vi->mode, &src));
	r->mode_source = vmp_mode_source_name(src);
	snprintf(r->advice, sizeof(r->advice), "-");
	json_array_foreach(vms, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));

		if (!name || strcmp(name, vi->name) != 0)
			continue;
		/* The daemon's view wins: it is what it applies (its config may differ). */
		if (json_is_string(json_object_get(v, "mode")))
			r->mode = json_string_value(json_object_get(v, "mode"));
		if (json_is_string(json_object_get(v, "mode_source")))
			r->mode_source = json_string_value(json_object_get(v, "mode_source"));
		r->not_managed = json_string_value(json_object_get(v, "not_managed"));
		snprintf(r->advice, sizeof(r->advice), "none");
		json_array_foreach(json_object_get(v, "decisions"), j, d) {
			const char *a = json_string_value(json_object_get(d, "action"));

			if (a && strcmp(a, "none") != 0 && !json_is_true(json_object_get(d, "acted"))) {
				format_advice(r->advice, sizeof(r->advice), d);
				break;
			}
		}
		break;
	}
}

/* Derives the row of vm (in cur) from its previous sample prev (may be NULL). */
static struct status_row
make_row(const struct status_pilot *pilot, const char *uri, const struct status_vm *prev,
	 const struct status_vm *cur)
{
	struct status_row r = { .vm = cur };
	const struct vmp_vm_stats *s = &cur->st;
	double dt_s;

	pilot_vm(pilot, uri, &cur->info, &r);

	r.actual_kib = cur->info.memory_current_kib;
	if (cur->st_ret == 0 && (s->valid & VMP_STAT_BALLOON_ACTUAL))
		r.actual_kib = s->balloon_actual_kib;
	if (cur->st_ret == 0 && (s->valid & VMP_STAT_MEM_AVAILABLE)) {
		r.have_guest_total = true;
		r.guest_total_kib = s->mem_available_kib;
		if ((s->valid & VMP_STAT_MEM_USABLE) && s->mem_usable_kib <= s->mem_available_kib) {
			r.have_used = true;
			r.used_kib = s->mem_available_kib - s->mem_usable_kib;
		}
	}
	dt_s = prev ? (double)(s->sample_time_us - prev->st.sample_time_us) / 1e6 : 0;
	if (both_valid(prev, cur, VMP_STAT_CPU_TIME) && s->cpu_time_ns >= prev->st.cpu_time_ns) {
		r.have_cpu = true;
		r.cpu_pct = (double)(s->cpu_time_ns - prev->st.cpu_time_ns) / (dt_s * 1e9) * 100.0;
	}
	if (both_valid(prev, cur, VMP_STAT_SWAP) &&
	    s->swap_in_kib + s->swap_out_kib >= prev->st.swap_in_kib + prev->st.swap_out_kib) {
		r.have_swap = true;
		r.swap_kib_s = (double)(s->swap_in_kib + s->swap_out_kib - prev->st.swap_in_kib -
					prev->st.swap_out_kib) / dt_s;
	}
	return r;
}

static void
fmt_mib(char *buf, size_t size, bool have, uint64_t kib)
{
	if (have)
		snprintf(buf, size, "%.0f", (double)kib / 1024.0);
	else
		snprintf(buf, size, "-");
}

static void
print_table(FILE *out, const struct status_pilot *pilot, const char *uri,
	    const struct status_sample *prev, const struct status_sample *cur)
{
	int i;

	fprintf(out, "%-20s %-10s %7s %7s %11s %11s %11s %10s %-7s %s\n", "NAME", "STATE",
		"VCPUS", "CPU%", "ACTUAL-MIB", "GUEST-MIB", "USED-MIB", "SWAP-KIB/S", "MODE",
		"RECOMMENDATION");
	for (i = 0; i < cur->n; i++) {
		struct status_row r = make_row(pilot, uri, sample_find(prev, cur->vms[i].info.name),
					       &cur->vms[i]);
		const struct vmp_vm_info *vi = &cur->vms[i].info;
		char vcpus[32], cpu[32], actual[32], total[32], used[32], swap[32];

		snprintf(vcpus, sizeof(vcpus), "%u/%u", vi->vcpus_current, vi->vcpus_max);
		if (r.have_cpu)
			snprintf(cpu, sizeof(cpu), "%.1f", r.cpu_pct);
		else
			snprintf(cpu, sizeof(cpu), "-");
		fmt_mib(actual, sizeof(actual), true, r.actual_kib);
		fmt_mib(total, sizeof(total), r.have_guest_total, r.guest_total_kib);
		fmt_mib(used, sizeof(used), r.have_used, r.used_kib);
		if (r.have_swap)
			snprintf(swap, sizeof(swap), "%.0f", r.swap_kib_s);
		else
			snprintf(swap, sizeof(swap), "-");
		{
			/* Names and reasons come from peers and files: printable only. */
			char *name = vmp_str_printable(vi->name), *advice = vmp_str_printable(r.advice);

			fprintf(out, "%-20s %-10s %7s %7s %11s %11s %11s %10s %-7s %s\n", name,
				vmp_vm_state_name(vi->state), vcpus, cpu, actual, total, used, swap,
				r.mode, advice);
			free(name);
			free(advice);
		}
		if (r.not_managed) {
			char *nm = vmp_str_printable(r.not_managed);

			fprintf(out, "%-20s   not managed: %s\n", "", nm);
			free(nm);
		}
	}
	if (cur->n == 0)
		fprintf(out, "(no vms on %s)\n", uri);
	if (pilot->note)
		fprintf(out, "(%s)\n", pilot->note);
	vmp_cli_cluster_line(out, pilot->cluster);
}

static json_t *
opt_num(bool have, double v)
{
	return have ? json_real(v) : json_null();
}

static json_t *
opt_int(bool have, uint64_t v)
{
	return have ? json_integer((json_int_t)v) : json_null();
}

static void
print_json(FILE *out, const struct status_pilot *pilot, const char *uri,
	   const struct status_sample *prev, const struct status_sample *cur)
{
	json_t *root = json_object(), *vms = json_array();
	char *text;
	int i;

	for (i = 0; i < cur->n; i++) {
		struct status_row r = make_row(pilot, uri, sample_find(prev, cur->vms[i].info.name),
					       &cur->vms[i]);
		const struct vmp_vm_info *vi = &cur->vms[i].info;
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(vi->name));
		json_object_set_new(o, "uuid", json_string(vi->uuid));
		json_object_set_new(o, "state", json_string(vmp_vm_state_name(vi->state)));
		json_object_set_new(o, "vcpus_current", json_integer(vi->vcpus_current));
		json_object_set_new(o, "vcpus_max", json_integer(vi->vcpus_max));
		json_object_set_new(o, "cpu_pct", opt_num(r.have_cpu, r.cpu_pct));
		json_object_set_new(o, "memory_actual_kib", json_integer((json_int_t)r.actual_kib));
		json_object_set_new(o, "memory_max_kib",
				    json_integer((json_int_t)vi->memory_max_kib));
		json_object_set_new(o, "guest_mem_total_kib",
				    opt_int(r.have_guest_total, r.guest_total_kib));
		json_object_set_new(o, "guest_mem_used_kib", opt_int(r.have_used, r.used_kib));
		json_object_set_new(o, "swap_kib_per_s", opt_num(r.have_swap, r.swap_kib_s));
		json_object_set_new(o, "balloon", json_boolean(vi->has_balloon));
		json_object_set_new(o, "stats_period_s", json_integer(vi->stats_period_s));
		json_object_set_new(o, "stats_ok", json_boolean(cur->vms[i].st_ret == 0));
		json_object_set_new(o, "mode", json_string(r.mode));
		json_object_set_new(o, "mode_source", json_string(r.mode_source));
		json_object_set_new(o, "recommendation", strcmp(r.advice, "-") ?
				    json_string(r.advice) : json_null());
		json_object_set_new(o, "not_managed", r.not_managed ? json_string(r.not_managed)
								   : json_null());
		json_array_append_new(vms, o);
	}
	json_object_set_new(root, "uri", json_string(uri));
	json_object_set_new(root, "autopilot", pilot->note ? json_string(pilot->note)
							   : json_string("ok"));
	json_object_set_new(root, "vms", vms);
	if (pilot->cluster)
		json_object_set(root, "cluster", pilot->cluster);
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fprintf(out, "%s\n", text);
	free(text);
	json_decref(root);
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool
any_stats_failed(const struct status_sample *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->vms[i].st_ret < 0)
			return true;
	return false;
}

static int
run_status(const struct vmp_cli_command *cmd, int argc, char **argv)
{
	struct vmp_cli_parser p = VMP_CLI_PARSER_INIT;
	struct status_sample prev = { 0 }, cur = { 0 };
	struct status_pilot pilot = { 0 };
	const char *uri = NULL, *config = NULL;
	struct vmp_backend *b = NULL;
	int64_t watch_ms = 0, timeout_ms = 10000;
	uint64_t count = 0, done = 0;
	bool json = false, clear;
	char *err = NULL;
	int id, r, rc = VMP_EXIT_OK;

	while ((id = vmp_cli_next_option(cmd, &p, argc, argv)) > 0) {
		switch (id) {
		case OPT_CONNECT:
			uri = p.optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_WATCH:
			if (vmp_cli_parse_duration(cmd, "watch", p.optarg, 100, 86400000,
						   &watch_ms) != 0)
				return VMP_EXIT_USAGE;
			break;
		case OPT_COUNT:
			if (vmp_cli_parse_count(cmd, "count", p.optarg, 1, UINT32_MAX, &count) != 0)
				return VMP_EXIT_USAGE;
			break;
		case OPT_CONFIG:
			config = p.optarg;
			break;
		case OPT_TIMEOUT:
			if (vmp_cli_parse_duration(cmd, "timeout", p.optarg, 1, 3600000,
						   &timeout_ms) != 0)
				return VMP_EXIT_USAGE;
			break;
		}
	}
	r = vmp_cli_end_options(cmd, &p, id, argc, argv);
	if (r >= 0)
		return r;
	if (count && !watch_ms)
		return vmp_cli_usage_error(cmd, "--count needs --watch");
	if (uri == NULL)
		uri = vmp_cli_default_uri() ? vmp_cli_default_uri() : STATUS_DEFAULT_URI;
	if (vmp_client_is_daemon_uri(uri)) {
		/* The daemon's view: no second client on the VMs' sockets. */
		if (watch_ms)
			return vmp_cli_usage_error(cmd, "--watch is for hypervisor URIs");
		return vmp_ctl_status(uri, json, stdout);
	}
	if (pilot_load(uri, config, &pilot) < 0) {
		pilot_release(&pilot);
		return VMP_EXIT_USAGE;
	}

	r = vmp_backend_open(uri, (unsigned)timeout_ms, &b, &err);
	if (r < 0) {
		fprintf(stderr, "vmpilot status: %s\n", err);
		free(err);
		pilot_release(&pilot);
		return r == -EPROTONOSUPPORT ? VMP_EXIT_USAGE : VMP_EXIT_FINDING;
	}
	vmp_backend_set_peer_uids(b, pilot.cfg.qmp_peer_uids);
	clear = watch_ms && !json && isatty(STDOUT_FILENO);
	/*
	 * --timeout bounds a whole frame (both samples and the gap between them), not each
	 * call: a silent or babbling QMP peer cannot stretch it.
	 */
	vmp_backend_set_deadline(b, vmp_monotonic_ms() + timeout_ms + STATUS_FIRST_GAP_MS);
	r = sample_take(b, &prev);
	if (r < 0)
		goto fail;
	for (;;) {
		/* The first frame comes after 1 s, later ones every --watch seconds. */
		if (done > 0)
			vmp_backend_set_deadline(b, vmp_monotonic_ms() + watch_ms + timeout_ms);
		sleep_ms(done == 0 ? STATUS_FIRST_GAP_MS : (unsigned)watch_ms);
		r = sample_take(b, &cur);
		if (r < 0)
			goto fail;
		if (clear)
			fputs("\033[H\033[2J", stdout);
		if (json)
			print_json(stdout, &pilot, uri, &prev, &cur);
		else
			print_table(stdout, &pilot, uri, &prev, &cur);
		fflush(stdout);
		if (any_stats_failed(&cur))
			rc = VMP_EXIT_FINDING;
		sample_free(&prev);
		prev = cur;
		cur = (struct status_sample){ 0 };
		done++;
		if (!watch_ms || (count && done >= count))
			break;
	}
	sample_free(&prev);
	vmp_backend_close(b);
	pilot_release(&pilot);
	return rc;
fail:
	fprintf(stderr, "vmpilot status: %s\n", vmp_backend_error(b));
	sample_free(&prev);
	sample_free(&cur);
	vmp_backend_close(b);
	pilot_release(&pilot);
	return VMP_EXIT_FINDING;
}

const struct vmp_cli_command vmp_cmd_status = {
	.name = "status",
	.summary = "show the VMs of a hypervisor with live numbers",
	.synopsis = "",
	.description =
		"One line per VM from a libvirt or QMP backend: state, vCPUs (current/max),\n"
		"CPU % of one host CPU (from two samples of CPU time, 1 s apart or the --watch\n"
		"period), memory: ACTUAL (balloon size), GUEST (MemTotal seen by the guest),\n"
		"USED (MemTotal - MemAvailable inside the guest), and swap in+out per second.\n"
		"'-' means the hypervisor does not report that number (e.g. no balloon stats\n"
		"period). MODE is the VM's automation mode (off, advise, act) and\n"
		"RECOMMENDATION what the autopilot would do now and why, from the status file\n"
		"vmpilotd writes after every cycle (status_file in --config); a VM it cannot\n"
		"manage gets a 'not managed:' line with the reason and the fix. Exit status 1\n"
		"if the hypervisor or a VM's stats could not be read.",
	.options = status_options,
	.run = run_status,
};
