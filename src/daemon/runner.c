/* SPDX-License-Identifier: MIT */
/* The foreground runner of the loop: signals, interval, reload (see runner.h). */
#include "daemon/runner.h"
#include "daemon/agent.h"
#include "daemon/api.h"
#include "daemon/config.h"
#include "daemon/loop.h"
#include "daemon/publish.h"
#include "util/notify.h"
#include "daemon/state.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
loop_log(void *opaque, enum vmp_log_level level, const char *msg)
{
	vmp_log(level, "%s", msg);
}

/*
 * Publishes what the loop decided (vmp_loop_status) to the status file; a failure is
 * logged when it first happens and when it clears (*failing remembers).
 */
static void
publish_status(struct vmp_loop *l, const struct vmp_agent *agent, const char *path,
	       bool *failing)
{
	json_t *st = vmp_loop_status(l);
	char *text, *line;
	int r;

	json_object_set_new(st, "cluster", vmp_agent_status(agent, clock_ms(CLOCK_REALTIME)));
	text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
	line = xasprintf("%s\n", text ? text : "{}");
	r = vmp_write_file_replace(path, line, strlen(line), 0644);
	if (r < 0 && !*failing)
		log_warn("cannot write the status file '%s': %s (vmpilot status will not show "
			 "recommendations)", path, strerror(-r));
	else if (r == 0 && *failing)
		log_info("status file '%s' written again", path);
	*failing = r < 0;
	free(line);
	free(text);
	json_decref(st);
}

/* Waits up to ms for one of the blocked signals; returns it, or 0 on timeout. */
static int
wait_signal(const sigset_t *set, int64_t ms)
{
	struct timespec ts;
	int sig;

	if (ms < 0)
		ms = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	do
		sig = sigtimedwait(set, NULL, &ts);
	while (sig < 0 && errno == EINTR);
	return sig < 0 ? 0 : sig;
}

/* A new config from path (NULL = defaults), or NULL after logging why. */
static struct vmp_config *
config_new(const char *path, double interval_s)
{
	struct vmp_config *c = xcalloc(1, sizeof(*c));
	char *err = NULL;

	vmp_config_init(c);
	if (path && vmp_config_load(path, c, &err) < 0) {
		log_err("%s", err);
		free(err);
		vmp_config_release(c);
		free(c);
		return NULL;
	}
	if (interval_s > 0)
		c->interval_ms = (int64_t)(interval_s * 1000);
	return c;
}

/*
 * Opens the state database named by the config and restores the loop from it. A
 * missing directory means "no state here" (a warning: the loop starts learning);
 * anything else wrong with the file (not a regular file, a newer schema) is an error.
 * Returns 0 with *ret (NULL when no state is kept) or -1.
 */
static int
state_start(const struct vmp_config *cfg, struct vmp_loop *l, struct vmp_state **ret)
{
	char *err = NULL;
	int r;

	*ret = NULL;
	if (!strcmp(cfg->state_db, "none"))
		return 0;
	r = vmp_state_open(cfg->state_db, ret, &err);
	if (r == -ENOENT) {
		log_warn("%s; learned state is not kept across restarts", err);
		free(err);
		return 0;
	}
	if (r < 0) {
		log_err("%s", err);
		free(err);
		return -1;
	}
	r = vmp_state_restore(*ret, l, clock_ms(CLOCK_MONOTONIC), clock_ms(CLOCK_REALTIME), &err);
	if (r < 0) {
		log_err("%s", err);
		free(err);
		vmp_state_close(*ret);
		*ret = NULL;
		return -1;
	}
	log_info("state %s: restored the learned state of %d vm%s", cfg->state_db, r,
		 r == 1 ? "" : "s");
	return 0;
}

/* The runner's own thread: the API's thread wakes it with SIGUSR1 (blocked, waited for). */
static pthread_t runner_thread;

static void
api_wake(void *opaque)
{
	pthread_kill(runner_thread, SIGUSR1);
}

static const char *
opt(const char *s)
{
	return s && strcmp(s, "none") ? s : NULL;
}

/*
 * Starts the API the config describes. A missing directory for the socket is a warning
 * (the API is off); anything else that fails is an error. Returns 0 with *ret (NULL
 * when off) or -1.
 */
static int
api_start(const struct vmp_config *cfg, const struct vmp_runner_args *a,
	  struct vmp_journal *journal, struct vmp_api **ret)
{
	struct vmp_api_options o = {
		.socket_path = opt(cfg->api_socket), .group = opt(cfg->api_group),
		.admin_group = opt(cfg->api_admin_group), .listen = opt(cfg->api_listen),
		.tls_cert = opt(cfg->api_tls_cert), .tls_key = opt(cfg->api_tls_key),
		.tls_ca = opt(cfg->api_tls_ca), .admin_cns = opt(cfg->api_admin_cns),
		.tokens = opt(cfg->api_tokens),
		.journal_path = strcmp(vmp_journal_path(journal), "-") ? vmp_journal_path(journal)
								       : NULL,
		.state_path = opt(cfg->state_db), .wake = api_wake,
	};
	char *err = NULL;
	int r;

	*ret = NULL;
	if (!o.socket_path && !o.listen)
		return 0;
	r = vmp_api_start(&o, ret, &err);
	if (r == -ENOENT && o.socket_path) {
		log_warn("%s; the API is off (make the directory, or set api_socket)", err);
		free(err);
		o.socket_path = NULL;
		if (!o.listen)
			return 0;
		err = NULL;
		r = vmp_api_start(&o, ret, &err);
	}
	if (r < 0) {
		log_err("%s", err);
		free(err);
		return -1;
	}
	log_info("api:%s%s%s%s", o.socket_path ? " unix socket " : "",
		 o.socket_path ? o.socket_path : "", o.listen ? " tls on " : "",
		 o.listen ? o.listen : "");
	return 0;
}

/* Publishes the loop's status and metrics to the API. */
static void
api_publish(struct vmp_api *api, struct vmp_loop *l, const struct vmp_agent *agent, bool paused,
	    bool dry_run, int64_t cycle_ms)
{
	struct vmp_publish_info in = {
		.time_ms = clock_ms(CLOCK_REALTIME), .paused = paused, .dry_run = dry_run,
		.cycle_duration_ms = cycle_ms, .agent = agent,
	};

	if (!api)
		return;
	vmp_api_counts(api, &in.api_requests, &in.api_refused);
	vmp_api_publish(api, vmp_publish_status(l, &in), vmp_publish_metrics(l, &in));
}

/*
 * Applies the writes queued by the API and writes every write and refusal into the
 * journal (the audit: who, what, how it was answered). Sets *paused and *cycle_now.
 */
static void
api_apply(struct vmp_api *api, struct vmp_loop *l, struct vmp_journal *journal, bool *paused,
	  bool *cycle_now)
{
	struct vmp_api_cmd *cmds = NULL;
	uint64_t dropped = 0;
	size_t n, i, h;
	int r;

	if (!api)
		return;
	n = vmp_api_take(api, &cmds, &dropped);
	for (i = 0; i < n; i++) {
		struct vmp_api_cmd *c = &cmds[i];
		struct vmp_journal_event ev = {
			.time_ms = clock_ms(CLOCK_REALTIME), .vm = c->vm, .host = c->host,
			.event = c->kind == VMP_API_CMD_AUDIT ? "api_refused" : "api_write",
		};
		char *msg;

		r = 0;
		for (h = 0; h < vmp_loop_hosts(l) && c->host; h++)
			if (!strcmp(vmp_loop_host_uri(l, h), c->host))
				break;
		switch (c->kind) {
		case VMP_API_CMD_PAUSE:
			*paused = true;
			break;
		case VMP_API_CMD_RESUME:
			*paused = false;
			break;
		case VMP_API_CMD_CYCLE:
			*cycle_now = true;
			break;
		case VMP_API_CMD_MODE:
			r = vmp_loop_set_mode(l, h, c->vm, (enum vmp_mode)c->mode);
			break;
		case VMP_API_CMD_PIN:
			r = vmp_loop_set_pinned(l, h, c->vm, c->pinned);
			break;
		default:
			break;
		}
		msg = xasprintf("%s: %s (%u%s)", c->who, c->what, c->status,
				r < 0 ? ", not applied: unknown host" : "");
		ev.message = msg;
		if (c->kind == VMP_API_CMD_AUDIT)
			log_warn("api refused %s", msg);
		else
			log_info("api: %s", msg);
		if (vmp_journal_write_event(journal, &ev) < 0)
			log_err("cannot journal the api audit record: %s", msg);
		free(msg);
		vmp_api_cmd_release(c);
	}
	if (dropped) {
		struct vmp_journal_event ev = { .time_ms = clock_ms(CLOCK_REALTIME),
						.event = "api_refused" };
		char *msg = xasprintf("%llu refused requests were not recorded one by one "
				      "(too many at once)", (unsigned long long)dropped);

		ev.message = msg;
		log_warn("api: %s", msg);
		vmp_journal_write_event(journal, &ev);
		free(msg);
	}
	if (n || dropped)
		vmp_journal_sync(journal);
	free(cmds);
}

/* Saves the loop's state after a cycle; a failure is logged once, and the recovery. */
static void
state_save(struct vmp_state *state, struct vmp_loop *l, const struct vmp_config *cfg,
	   bool *failing)
{
	char *err = NULL;
	int r;

	if (!state)
		return;
	r = vmp_state_save(state, l, clock_ms(CLOCK_MONOTONIC), clock_ms(CLOCK_REALTIME), &err);
	if (r < 0 && !*failing)
		log_err("%s", err);
	else if (r == 0 && *failing)
		log_info("state %s: saving again", cfg->state_db);
	*failing = r < 0;
	free(err);
}

static void
config_free(struct vmp_config *c)
{
	vmp_config_release(c);
	free(c);
}

/* The journal named by -J or the config ("-" = stdout), or NULL after logging why. */
static struct vmp_journal *
journal_open(const struct vmp_runner_args *a, const struct vmp_config *cfg)
{
	const char *path = a->journal_path ? a->journal_path : cfg->journal;
	struct vmp_journal_limits lim = { (uint64_t)cfg->journal_max_bytes,
					  (unsigned)cfg->journal_keep };
	struct vmp_journal *j = NULL;
	char *err = NULL;

	if (!strcmp(path, "-"))
		return vmp_journal_open_fd(STDOUT_FILENO);
	if (vmp_journal_open(path, &lim, &j, &err) < 0) {
		log_err("%s", err);
		free(err);
		return NULL;
	}
	return j;
}

/* What the runner did, for the per-cycle line and the summary at exit. */
struct runner_totals {
	uint64_t cycles, decisions, actions, failed_actions, host_failures;
	int64_t start_ms;
};

static void
print_cycle(FILE *out, uint64_t n, uint64_t of, const struct vmp_loop_report *rep)
{
	char when[16] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(out, "%s cycle %llu%s%.0llu: %u host%s ok%s%.0u%s, %u vm%s (%u skipped), "
		"%u decision%s, %u action%s", when, (unsigned long long)n, of ? "/" : "",
		(unsigned long long)of, rep->hosts_ok, rep->hosts_ok == 1 ? "" : "s",
		rep->hosts_failed ? " " : "", rep->hosts_failed,
		rep->hosts_failed ? " failed" : "", rep->vms_seen, rep->vms_seen == 1 ? "" : "s",
		rep->vms_skipped, rep->decisions, rep->decisions == 1 ? "" : "s", rep->actions,
		rep->actions == 1 ? "" : "s");
	if (rep->failed_actions)
		fprintf(out, " (%u failed)", rep->failed_actions);
	fputc('\n', out);
	fflush(out);
}

static void
print_summary(const struct vmp_runner_args *a, const struct runner_totals *t, bool dry_run,
	      const char *jpath)
{
	char *line = xasprintf("%llu cycle%s in %.1f s: %llu decision%s, %llu action%s%s, "
			       "%llu failed action%s, %llu failed host sample%s; journal %s",
			       (unsigned long long)t->cycles, t->cycles == 1 ? "" : "s",
			       (double)(clock_ms(CLOCK_MONOTONIC) - t->start_ms) / 1000.0,
			       (unsigned long long)t->decisions, t->decisions == 1 ? "" : "s",
			       (unsigned long long)t->actions, t->actions == 1 ? "" : "s",
			       dry_run ? " (dry run)" : "",
			       (unsigned long long)t->failed_actions,
			       t->failed_actions == 1 ? "" : "s",
			       (unsigned long long)t->host_failures,
			       t->host_failures == 1 ? "" : "s", jpath);

	if (a->summary) {
		fprintf(a->summary, "%s\n", line);
		fflush(a->summary);
	} else {
		log_info("%s", line);
	}
	free(line);
}

int
vmp_runner_main(const struct vmp_runner_args *a)
{
	struct vmp_loop_options o = { 0 };
	struct vmp_config *cfg;
	struct vmp_loop *l = NULL;
	struct vmp_state *state = NULL;
	struct vmp_api *api = NULL;
	struct vmp_agent *agent = NULL;
	bool resign = false;
	bool state_failing = false, paused = false, cycle_now = false;
	int64_t cycle_ms = 0;
	sigset_t set, old;
	struct vmp_journal *journal = NULL;
	char *err = NULL;
	struct runner_totals tot = { 0 };
	bool status_failing = false;
	int64_t next_ms, watchdog_ms = vmp_notify_watchdog_ms();
	int r, rc = 0;

	cfg = config_new(a->config_path, a->interval_s);
	if (!cfg)
		return 1;
	if (strcmp(cfg->etcd_endpoints, "none") && a->n_uris > 1) {
		log_err("with etcd_endpoints set vmpilot is the agent of one host: give exactly one "
			"--connect URI, its local hypervisor (%zu given)", a->n_uris);
		config_free(cfg);
		return 2;
	}
	if (a->check_only && strcmp(cfg->etcd_endpoints, "none")) {
		char *why = NULL;

		if (vmp_agent_check_config(cfg, &why) < 0) {
			log_err("%s: %s", a->config_path ? a->config_path : "(defaults)", why);
			free(why);
			config_free(cfg);
			return 1;
		}
	}
	if (a->check_only) {
		printf("%s: configuration OK (%zu vm section%s, %zu host section%s)\n",
		       a->config_path ? a->config_path : "(defaults)", cfg->nvms,
		       cfg->nvms == 1 ? "" : "s", cfg->nhosts, cfg->nhosts == 1 ? "" : "s");
		config_free(cfg);
		return 0;
	}
	if (a->n_uris == 0) {
		log_err("no host to watch: give at least one --connect URI");
		config_free(cfg);
		return 2;
	}
	journal = journal_open(a, cfg);
	if (!journal) {
		config_free(cfg);
		return 1;
	}
	/* Blocked before the backends start threads, so only sigtimedwait() sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);   /* the API's wake-up */
	sigprocmask(SIG_BLOCK, &set, &old);
	runner_thread = pthread_self();
	/* KSM is tuned on this machine: the first host whose backend is local. */
	for (size_t i = 0; i < a->n_uris && !o.ksm_root; i++)
		if (vmp_str_starts_with(a->uris[i], "qmp://") ||
		    vmp_str_starts_with(a->uris[i], "qemu:///") ||
		    vmp_str_starts_with(a->uris[i], "qemu+unix:///")) {
			o.ksm_root = "/";
			o.ksm_host = i;
		}
	o.uris = a->uris;
	o.n_uris = a->n_uris;
	o.cfg = cfg;
	o.dry_run = a->dry_run || cfg->dry_run;
	o.journal = journal;
	o.log = loop_log;
	if (strcmp(cfg->etcd_endpoints, "none")) {
		struct vmp_agent_options ao = { .cfg = cfg, .local_uri = a->uris[0], .log = loop_log };

		if (vmp_agent_new(&ao, &agent, &err) < 0) {
			log_err("%s", err);
			free(err);
			rc = 1;
			goto out;
		}
		vmp_agent_loop_hooks(agent, &o.cluster);
		log_info("agent '%s' of the cluster at %s (prefix %s, lease %lld ms)",
			 vmp_agent_name(agent), cfg->etcd_endpoints, cfg->etcd_prefix,
			 (long long)cfg->cluster_lease_ttl_ms);
	}
	r = vmp_loop_new(&o, &l, &err);
	if (r < 0) {
		log_err("%s", err);
		free(err);
		rc = 1;
		goto out;
	}
	if (state_start(cfg, l, &state) < 0 || api_start(cfg, a, journal, &api) < 0) {
		rc = 1;
		goto out;
	}
	log_info("watching %zu host%s every %lld ms%s, journal %s", a->n_uris,
		 a->n_uris == 1 ? "" : "s", (long long)cfg->interval_ms,
		 o.dry_run ? " (dry run)" : "", vmp_journal_path(journal));
	if (a->progress) {
		fprintf(a->progress, "watching %zu host%s every %.1f s%s, journal %s; %s\n",
			a->n_uris, a->n_uris == 1 ? "" : "s", (double)cfg->interval_ms / 1000.0,
			o.dry_run ? " (dry run: nothing is changed)" : "", vmp_journal_path(journal),
			a->cycles ? "stops after --cycles" : "Ctrl-C stops");
		fflush(a->progress);
	}
	tot.start_ms = clock_ms(CLOCK_MONOTONIC);

	next_ms = clock_ms(CLOCK_MONOTONIC);
	for (;;) {
		struct vmp_loop_report rep;
		int sig;

		/* Paused by an operator: no cycle, only the API's writes (and a cycle now). */
		if (!paused || cycle_now) {
			cycle_now = false;
			cycle_ms = clock_ms(CLOCK_MONOTONIC);
			r = vmp_loop_cycle(l, clock_ms(CLOCK_MONOTONIC), clock_ms(CLOCK_REALTIME),
					   &rep);
			cycle_ms = clock_ms(CLOCK_MONOTONIC) - cycle_ms;
			log_debug("cycle: %u hosts ok, %u failed, %u vms, %u skipped, %u decisions, "
				  "%u actions (%u failed)", rep.hosts_ok, rep.hosts_failed,
				  rep.vms_seen, rep.vms_skipped, rep.decisions, rep.actions,
				  rep.failed_actions);
			(void)r; /* a journal error was logged once; keep controlling */
			state_save(state, l, cfg, &state_failing);
			tot.cycles++;
			tot.decisions += rep.decisions;
			tot.actions += rep.actions;
			tot.failed_actions += rep.failed_actions;
			tot.host_failures += rep.hosts_failed;
			if (a->progress)
				print_cycle(a->progress, tot.cycles, a->cycles, &rep);
			publish_status(l, agent, cfg->status_file, &status_failing);
			api_publish(api, l, agent, paused, o.dry_run, cycle_ms);
			/* systemd: ready once the first cycle sampled every host; alive each cycle. */
			vmp_notifyf("%sWATCHDOG=1\nSTATUS=cycle %llu: %u of %u hosts ok, %u vms, %u "
				    "decisions, %u actions", tot.cycles == 1 ? "READY=1\n" : "",
				    (unsigned long long)tot.cycles, rep.hosts_ok,
				    rep.hosts_ok + rep.hosts_failed, rep.vms_seen, rep.decisions,
				    rep.actions);
			if (a->cycles && tot.cycles >= a->cycles)
				break;
		}
		next_ms += cfg->interval_ms;
		sig = 0;
		while (clock_ms(CLOCK_MONOTONIC) < next_ms) {
			int64_t wait_ms = next_ms - clock_ms(CLOCK_MONOTONIC);

			/* Between cycles the watchdog is fed twice per WatchdogSec. */
			if (watchdog_ms > 0 && wait_ms > watchdog_ms / 2)
				wait_ms = watchdog_ms / 2;
			sig = wait_signal(&set, wait_ms);
			if (sig == 0 && watchdog_ms > 0)
				vmp_notify("WATCHDOG=1");
			if (sig == SIGUSR1) {
				api_apply(api, l, journal, &paused, &cycle_now);
				api_publish(api, l, agent, paused, o.dry_run, cycle_ms);
				sig = 0;
				if (cycle_now)
					break;
				continue;
			}
			if (sig == SIGHUP) {
				struct vmp_config *n;
				struct vmp_journal *nj;

				vmp_notify("RELOADING=1");
				if (!a->config_path) {
					log_info("SIGHUP: no config file to reload");
				} else if ((n = config_new(a->config_path, a->interval_s)) == NULL) {
					log_err("reload refused, keeping the running configuration");
				} else {
					vmp_loop_set_config(l, n);
					vmp_agent_set_config(agent, n);
					config_free(cfg);
					cfg = n;
					log_info("configuration reloaded from %s", a->config_path);
				}
				/*
				 * The journal is reopened (rotated away by logrotate, or a new
				 * `journal =`); if that fails the old one is kept.
				 */
				nj = journal_open(a, cfg);
				if (nj) {
					struct vmp_journal_event ev = {
						.time_ms = clock_ms(CLOCK_REALTIME),
						.event = "journal_reopened",
						.message = "reopened on SIGHUP",
					};

					/* Marks where this file starts; a failure shows at the cycle. */
					if (vmp_journal_write_event(nj, &ev) == 0)
						vmp_journal_sync(nj);
					vmp_loop_set_journal(l, nj);
					vmp_journal_close(journal);
					journal = nj;
					log_info("journal reopened: %s", vmp_journal_path(journal));
				} else {
					log_err("keeping the journal '%s'", vmp_journal_path(journal));
				}
				vmp_notify("READY=1");
				sig = 0;
				continue;
			}
			if (sig)
				break;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			vmp_notify("STOPPING=1");
			log_info("%s: stopping", strsignal(sig));
			resign = true;
			break;
		}
		if (next_ms < clock_ms(CLOCK_MONOTONIC))
			next_ms = clock_ms(CLOCK_MONOTONIC); /* a slow cycle: do not catch up */
	}
	print_summary(a, &tot, o.dry_run, vmp_journal_path(journal));
out:
	if (api)
		api_apply(api, l, journal, &paused, &cycle_now);   /* the last audit records */
	vmp_api_stop(api);
	vmp_state_close(state);
	vmp_loop_free(l);
	vmp_agent_free(agent, resign);
	sigprocmask(SIG_SETMASK, &old, NULL);
	vmp_journal_close(journal);
	config_free(cfg);
	return rc;
}
