/* SPDX-License-Identifier: MIT */
/*
 * The libvirt backend: the ops of backend.h on top of libvirt's C API, for every URI
 * libvirt accepts (qemu:///system, qemu+tcp://host/system, qemu+unix:///system?socket=,
 * test:///default, ...).
 *
 * Bounding every call (doc/design/libvirt-backend.md): a libvirt call can block for
 * ever (a hung daemon, the test driver's migration). Every operation therefore runs
 * its libvirt calls on a short-lived worker thread while the caller waits on a
 * condition variable up to the connection's timeout. When the deadline passes the
 * caller returns -ETIMEDOUT, drops the connection (the next operation opens a new
 * one) and leaves the worker to finish on its own; the worker owns a reference to
 * everything it touches, so nothing it uses is freed under it. On top of that the
 * process runs libvirt's default event loop in one thread so that keepalive probes
 * detect a dead daemon, and virConnectIsAlive() is checked before every operation:
 * after a daemon restart the next operation reconnects, and read-only operations are
 * retried once on the new connection.
 */
#include "build-config.h"
#include "backend/backend.h"
#include "backend/libvirt-parse.h"
#include "util/cpulist.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define LV_KEEPALIVE_INTERVAL_S 5
#define LV_KEEPALIVE_COUNT 6
#define LV_POLL_MS 100

/* ---- small helpers ---------------------------------------------------------------- */

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* libvirt's last error on this thread as a negative errno. */
static int
lv_errno(void)
{
	virErrorPtr e = virGetLastError();

	if (!e)
		return -EIO;
	switch (e->code) {
	case VIR_ERR_NO_DOMAIN:
		return -ENOENT;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
	case VIR_ERR_OPERATION_UNSUPPORTED:
		return -ENOTSUP;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_INVALID_DOMAIN:
	case VIR_ERR_XML_ERROR:
		return -EINVAL;
	case VIR_ERR_OPERATION_INVALID:
		return -EBUSY;
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_AGENT_UNRESPONSIVE:
		return -ETIMEDOUT;
	case VIR_ERR_OPERATION_ABORTED:
		return -ECANCELED;
	case VIR_ERR_AUTH_FAILED:
	case VIR_ERR_AUTH_CANCELLED:
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_ACCESS_DENIED:
		return -EACCES;
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_RPC:
		return -ECONNRESET;
	case VIR_ERR_SYSTEM_ERROR:
		return e->int1 > 0 ? -e->int1 : -EIO;
	default:
		return -EIO;
	}
}

/* Ignores libvirt's errors (they are read with virGetLastError); the default handler
 * would print them on stderr. */
static void
lv_silent(void *opaque, virErrorPtr e)
{
}

/* ---- process-wide setup: error handler and the event loop for keepalive ---------- */

static pthread_once_t lv_once = PTHREAD_ONCE_INIT;
static bool lv_have_loop;

static void *
lv_event_loop(void *arg)
{
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			sleep_ms(100);
	return NULL;
}

static void
lv_init_once(void)
{
	pthread_attr_t attr;
	pthread_t t;

	virInitialize();
	virSetErrorFunc(NULL, lv_silent);
	if (virEventRegisterDefaultImpl() < 0)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	lv_have_loop = pthread_create(&t, &attr, lv_event_loop, NULL) == 0;
	pthread_attr_destroy(&attr);
}

/* ---- the call runner ------------------------------------------------------------- */

/*
 * One operation run on a worker thread. An op embeds this as its first member, fills
 * its arguments, and reads its results only when the call finished in time. The
 * call is shared by the caller and the worker (refs); the last one frees it.
 */
struct lv_call {
	int (*fn)(struct lv_call *c);          /* the libvirt work; returns 0 or -errno */
	void (*dispose)(struct lv_call *c);    /* frees results not taken; may be NULL */
	virConnectPtr conn;                    /* reference; released by the worker */
	char vm[VMP_NAME_MAX];
	int64_t deadline_us;                   /* for loops inside fn */
	int ret;
	char err[1024];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool done;
	bool timed_out;                        /* the caller gave up waiting */
};

static void
call_unref(struct lv_call *c)
{
	int refs;

	pthread_mutex_lock(&c->lock);
	refs = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (refs > 0)
		return;
	if (c->dispose)
		c->dispose(c);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

/* In fn: records "what: libvirt's message" and returns the matching -errno. */
static int
call_fail(struct lv_call *c, const char *fmt, ...) VMP_PRINTF(2, 3);
static int
call_fail(struct lv_call *c, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	len = strlen(c->err);
	snprintf(c->err + len, sizeof(c->err) - len, ": %s", virGetLastErrorMessage());
	return lv_errno();
}

/* In fn: records a message that does not come from libvirt. */
static int
call_fail_errno(struct lv_call *c, int err, const char *fmt, ...) VMP_PRINTF(3, 4);
static int
call_fail_errno(struct lv_call *c, int err, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	len = strlen(c->err);
	snprintf(c->err + len, sizeof(c->err) - len, ": %s", strerror(err));
	return -err;
}

static void *
call_worker(void *arg)
{
	struct lv_call *c = arg;
	int r;

	virResetLastError();
	r = c->fn(c);
	if (c->conn)
		virConnectClose(c->conn);
	c->conn = NULL;
	pthread_mutex_lock(&c->lock);
	c->ret = r;
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	call_unref(c);
	return NULL;
}

/* Allocates a call of size bytes (an op struct starting with struct lv_call). */
static void *
call_new(size_t size, int (*fn)(struct lv_call *), const char *vm)
{
	struct lv_call *c = xcalloc(1, size);
	pthread_condattr_t ca;

	c->fn = fn;
	copy_str(c->vm, sizeof(c->vm), vm);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->refs = 1;
	return c;
}

/*
 * Runs c->fn on a worker thread, waiting up to timeout_ms. Takes a reference to conn
 * (may be NULL). Returns fn's result, or -ETIMEDOUT (c->err says so) when the worker
 * is still busy at the deadline; the caller still owns its reference to c.
 */
static int
call_run(struct lv_call *c, virConnectPtr conn, unsigned timeout_ms, const char *what)
{
	pthread_attr_t attr;
	struct timespec ts;
	pthread_t t;
	int64_t deadline;
	int r = 0;

	if (conn)
		virConnectRef(conn);
	c->conn = conn;
	deadline = now_us() + (int64_t)timeout_ms * 1000;
	c->deadline_us = deadline;
	c->refs++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, call_worker, c) != 0) {
		pthread_attr_destroy(&attr);
		c->refs--;
		if (conn)
			virConnectClose(conn);
		c->conn = NULL;
		snprintf(c->err, sizeof(c->err), "cannot %s: cannot start a worker thread", what);
		return -EAGAIN;
	}
	pthread_attr_destroy(&attr);
	ts.tv_sec = deadline / 1000000;
	ts.tv_nsec = (long)(deadline % 1000000) * 1000;
	pthread_mutex_lock(&c->lock);
	while (!c->done && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	if (c->done) {
		r = c->ret;
	} else {
		snprintf(c->err, sizeof(c->err), "cannot %s%s%s%s: libvirt did not answer within "
			 "%u ms", what, c->vm[0] ? " of vm '" : "", c->vm, c->vm[0] ? "'" : "",
			 timeout_ms);
		c->timed_out = true;
		r = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* ---- connection management --------------------------------------------------------- */

struct lv_mig;

/* One VM's statistics from the last bulk sample (list_vms). */
struct lv_cached_stats {
	char name[VMP_NAME_MAX];
	struct vmp_vm_stats st;
};

struct lv_priv {
	char *uri;
	pthread_mutex_t lock;      /* conn, migs and the stats cache */
	virConnectPtr conn;        /* NULL: open at the next operation */
	struct lv_mig *migs;
	struct lv_cached_stats *cache;  /* from the last list_vms; see lv_vm_stats() */
	int ncache;
	int64_t cache_us;          /* when it was sampled */
};

/* vm_stats answers from list_vms' bulk sample when it is younger than this. */
#define LV_CACHE_MAX_AGE_US 500000

static void
cache_drop(struct lv_priv *p)
{
	pthread_mutex_lock(&p->lock);
	free(p->cache);
	p->cache = NULL;
	p->ncache = 0;
	pthread_mutex_unlock(&p->lock);
}

static void *
close_worker(void *arg)
{
	virConnectClose(arg);
	return NULL;
}

/* Releases a connection on a thread of its own: closing can block on a hung daemon. */
static void
release_conn_async(virConnectPtr conn)
{
	pthread_attr_t attr;
	pthread_t t;

	if (!conn)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, close_worker, conn) != 0)
		virConnectClose(conn);
	pthread_attr_destroy(&attr);
}

struct open_call {
	struct lv_call c;
	char *uri;
	virConnectPtr result;
};

static void
open_dispose(struct lv_call *c)
{
	struct open_call *o = (struct open_call *)c;

	if (o->result)
		virConnectClose(o->result);
	free(o->uri);
}

static int
do_open(struct lv_call *c)
{
	struct open_call *o = (struct open_call *)c;

	o->result = virConnectOpen(o->uri);
	if (!o->result)
		return call_fail(c, "cannot connect to '%s'", o->uri);
	if (lv_have_loop &&
	    virConnectSetKeepAlive(o->result, LV_KEEPALIVE_INTERVAL_S, LV_KEEPALIVE_COUNT) < 0)
		virResetLastError(); /* drivers without keepalive (test:///) are fine */
	return 0;
}

/* Opens uri within timeout_ms; returns 0 and a new connection, or -errno with err. */
static int
open_conn(const char *uri, unsigned timeout_ms, virConnectPtr *ret_conn, char *err,
	  size_t errsize)
{
	struct open_call *o = call_new(sizeof(*o), do_open, NULL);
	char what[600];
	int r;

	o->c.dispose = open_dispose;
	o->uri = xstrdup(uri);
	snprintf(what, sizeof(what), "connect to '%s'", uri);
	r = call_run(&o->c, NULL, timeout_ms, what);
	if (r == 0) {
		*ret_conn = o->result;
		o->result = NULL;
	} else {
		copy_str(err, errsize, o->c.err);
	}
	call_unref(&o->c);
	return r;
}

/* Returns a new reference to a live connection, reconnecting if needed. */
static int
get_conn(struct vmp_backend *b, virConnectPtr *ret_conn)
{
	struct lv_priv *p = vmp_backend_priv(b);
	virConnectPtr conn = NULL, old = NULL;
	char err[1024];
	int r;

	pthread_mutex_lock(&p->lock);
	if (p->conn && virConnectIsAlive(p->conn) == 1) {
		virConnectRef(p->conn);
		*ret_conn = p->conn;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	old = p->conn;
	p->conn = NULL;
	pthread_mutex_unlock(&p->lock);
	release_conn_async(old);

	r = open_conn(p->uri, vmp_backend_timeout_ms(b), &conn, err, sizeof(err));
	if (r < 0)
		return vmp_backend_fail(b, r, "%s", err);
	pthread_mutex_lock(&p->lock);
	old = p->conn;
	p->conn = conn;
	virConnectRef(conn);
	pthread_mutex_unlock(&p->lock);
	release_conn_async(old);
	*ret_conn = conn;
	return 0;
}

/* Forgets the current connection if it is conn (after a timeout or a lost daemon). */
static void
drop_conn(struct vmp_backend *b, virConnectPtr conn)
{
	struct lv_priv *p = vmp_backend_priv(b);
	virConnectPtr old = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->conn == conn) {
		old = p->conn;
		p->conn = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	release_conn_async(old);
}

/*
 * Runs an op against the backend's connection with a deadline of timeout_ms.
 * idempotent ops are retried once on a new connection when the old one died during
 * the call (a daemon restart). Consumes the caller's reference to c; on failure the
 * message goes to vmp_backend_error(b).
 */
static int
run_op(struct vmp_backend *b, struct lv_call *c, unsigned timeout_ms, bool idempotent,
       const char *what)
{
	virConnectPtr conn = NULL;
	int attempt, r = 0;

	for (attempt = 0; attempt < 2; attempt++) {
		r = get_conn(b, &conn);
		if (r < 0)
			break;
		c->ret = 0;
		c->err[0] = '\0';
		r = call_run(c, conn, timeout_ms, what);
		if (c->timed_out) {
			drop_conn(b, conn);
			virConnectClose(conn);
			break;
		}
		if (r < 0 && virConnectIsAlive(conn) != 1) {
			drop_conn(b, conn);
			virConnectClose(conn);
			if (idempotent && attempt == 0) {
				/* The worker finished: the call can be run again. */
				c->done = false;
				continue;
			}
			break;
		}
		virConnectClose(conn);
		break;
	}
	if (r < 0 && c->err[0])
		vmp_backend_fail(b, r, "%s", c->err);
	return r;
}

static unsigned
op_timeout(struct vmp_backend *b)
{
	return vmp_backend_timeout_ms(b);
}

/*
 * Runs an actuator call once (it is not idempotent: no retry on a new connection) under
 * the backend's timeout, drops the caller's reference to c and returns run_op's result.
 */
static int
run_actuator(struct vmp_backend *b, struct lv_call *c, const char *what)
{
	int r = run_op(b, c, op_timeout(b), false, what);

	call_unref(c);
	return r;
}

/* In fn: looks up c->vm; on failure records "cannot WHAT of vm 'X': ..." */
static virDomainPtr
lookup(struct lv_call *c, const char *what)
{
	virDomainPtr dom = virDomainLookupByName(c->conn, c->vm);

	if (!dom)
		c->ret = call_fail(c, "cannot %s of vm '%s'", what, c->vm);
	return dom;
}

/* ---- URIs, open, close -------------------------------------------------------------- */

/* Whether a libvirt URI names this machine's hypervisor ("qemu:///system", no host). */
static bool
is_local_uri(const char *uri)
{
	const char *sep = uri ? strstr(uri, "://") : NULL;

	return sep && sep[3] == '/';
}

static bool
lv_accepts(const char *uri)
{
	static const char *const drivers[] = {
		"qemu", "test", "lxc", "xen", "libxl", "ch", "bhyve", "vz", "openvz", "vbox",
		"esx", "remote", NULL,
	};
	static const char *const transports[] = {
		"tcp", "tls", "unix", "ssh", "libssh", "libssh2", "ext", NULL,
	};
	const char *sep, *plus;
	size_t i, dlen;

	if (!uri)
		return false;
	sep = strstr(uri, "://");
	if (!sep)
		return false;
	plus = memchr(uri, '+', (size_t)(sep - uri));
	dlen = (size_t)((plus ? plus : sep) - uri);
	for (i = 0; drivers[i]; i++)
		if (strlen(drivers[i]) == dlen && strncmp(uri, drivers[i], dlen) == 0)
			break;
	if (!drivers[i])
		return false;
	if (!plus)
		return true;
	for (i = 0; transports[i]; i++)
		if (strlen(transports[i]) == (size_t)(sep - plus - 1) &&
		    strncmp(plus + 1, transports[i], (size_t)(sep - plus - 1)) == 0)
			return true;
	return false;
}

static int
lv_open(struct vmp_backend *b, const char *uri)
{
	struct lv_priv *p = xcalloc(1, sizeof(*p));
	virConnectPtr conn = NULL;
	int r;

	pthread_once(&lv_once, lv_init_once);
	p->uri = xstrdup(uri);
	pthread_mutex_init(&p->lock, NULL);
	vmp_backend_set_priv(b, p);
	/* Connect now so a wrong URI fails at open. */
	r = get_conn(b, &conn);
	if (r < 0) {
		vmp_backend_set_priv(b, NULL);
		pthread_mutex_destroy(&p->lock);
		free(p->uri);
		free(p);
		return r;
	}
	virConnectClose(conn);
	return 0;
}

/* ---- migrations: one job per VM, each on its own thread ---------------------------- */

/*
 * A live migration in progress or finished. virDomainMigrate3() blocks until the
 * migration ends, so it runs on the job's thread; polls and cancels come from the
 * backend's caller. Shared by the backend (its list) and the thread (refs).
 */
struct lv_mig {
	struct lv_mig *next;
	pthread_mutex_t lock;
	int refs;
	char vm[VMP_NAME_MAX];
	/* Owned by the thread until it ends. */
	virDomainPtr dom;
	virConnectPtr dconn;
	virTypedParameterPtr params;
	int nparams;
	unsigned long flags;
	uint64_t max_downtime_ms;
	int64_t start_us;
	/* Under lock. */
	bool running;
	bool postcopy;
	bool postcopy_started;
	bool cancel_requested;
	struct vmp_migrate_progress final;
	char err[1024];
};

static void
mig_unref(struct lv_mig *m)
{
	int refs;

	pthread_mutex_lock(&m->lock);
	refs = --m->refs;
	pthread_mutex_unlock(&m->lock);
	if (refs > 0)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Value of the numeric typed parameter name, or false when absent or not a number. */
static bool
params_u64(virTypedParameterPtr params, int n, const char *name, uint64_t *ret)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(params[i].field, name) == 0)
			return vmp_libvirt_param_u64(&params[i], ret);
	return false;
}

/* Fills ret from job statistics (virDomainGetJobStats). */
static void
job_progress(virTypedParameterPtr params, int n, struct vmp_migrate_progress *ret)
{
	uint64_t v;

	if (params_u64(params, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v))
		ret->total_time_ms = v;
	if (params_u64(params, n, VIR_DOMAIN_JOB_DOWNTIME, &v))
		ret->downtime_ms = v;
	if (params_u64(params, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &v))
		ret->transferred_bytes = v;
	if (params_u64(params, n, VIR_DOMAIN_JOB_DATA_REMAINING, &v))
		ret->remaining_bytes = v;
	if (params_u64(params, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &v))
		ret->dirty_rate_pages_s = v;
}

static void *
mig_worker(void *arg)
{
	struct lv_mig *m = arg;
	struct vmp_migrate_progress fin = { .state = VMP_MIGRATE_FAILED };
	virTypedParameterPtr jp = NULL;
	virDomainPtr ddom = NULL;
	char err[1024] = "";
	int jn = 0, type = 0;
	bool cancelled;

	virResetLastError();
	if (m->max_downtime_ms &&
	    virDomainMigrateSetMaxDowntime(m->dom, m->max_downtime_ms, 0) < 0) {
		snprintf(err, sizeof(err), "cannot set the downtime limit of vm '%s' to %" PRIu64
			 " ms: %s", m->vm, m->max_downtime_ms, virGetLastErrorMessage());
		goto out;
	}
	ddom = virDomainMigrate3(m->dom, m->dconn, m->params, (unsigned)m->nparams,
				 (unsigned)m->flags);
	fin.total_time_ms = (uint64_t)(now_us() - m->start_us) / 1000;
	if (!ddom) {
		virErrorPtr e = virGetLastError();

		pthread_mutex_lock(&m->lock);
		cancelled = m->cancel_requested;
		pthread_mutex_unlock(&m->lock);
		if (cancelled || (e && e->code == VIR_ERR_OPERATION_ABORTED))
			fin.state = VMP_MIGRATE_CANCELLED;
		snprintf(err, sizeof(err), "migration of vm '%s' %s: %s", m->vm,
			 fin.state == VMP_MIGRATE_CANCELLED ? "cancelled" : "failed",
			 virGetLastErrorMessage());
		goto out;
	}
	fin.state = VMP_MIGRATE_COMPLETED;
	/* The destination keeps the statistics of the finished job (with the downtime). */
	if (virDomainGetJobStats(ddom, &type, &jp, &jn, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0)
		job_progress(jp, jn, &fin);
	fin.remaining_bytes = 0;
out:
	virTypedParamsFree(jp, jn);
	if (ddom)
		virDomainFree(ddom);
	virDomainFree(m->dom);
	m->dom = NULL;
	virConnectClose(m->dconn);
	m->dconn = NULL;
	virTypedParamsFree(m->params, m->nparams);
	m->params = NULL;
	pthread_mutex_lock(&m->lock);
	m->final = fin;
	copy_str(m->err, sizeof(m->err), err);
	m->running = false;
	pthread_mutex_unlock(&m->lock);
	mig_unref(m);
	return NULL;
}

/* The job of vm (a reference), or NULL. */
static struct lv_mig *
mig_find(struct lv_priv *p, const char *vm)
{
	struct lv_mig *m;

	pthread_mutex_lock(&p->lock);
	for (m = p->migs; m; m = m->next)
		if (strcmp(m->vm, vm) == 0)
			break;
	if (m) {
		pthread_mutex_lock(&m->lock);
		m->refs++;
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return m;
}

static bool
mig_running(struct lv_mig *m)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = m->running;
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void
lv_close(struct vmp_backend *b)
{
	struct lv_priv *p = vmp_backend_priv(b);
	struct lv_mig *m, *next;

	if (!p)
		return;
	/* Running migrations keep their own references and finish on their threads. */
	for (m = p->migs; m; m = next) {
		next = m->next;
		mig_unref(m);
	}
	release_conn_async(p->conn);
	pthread_mutex_destroy(&p->lock);
	free(p->cache);
	free(p->uri);
	free(p);
	vmp_backend_set_priv(b, NULL);
}

/* ---- host --------------------------------------------------------------------------- */

struct host_info_call {
	struct lv_call c;
	struct vmp_host_info info;
};

static int
do_host_info(struct lv_call *c)
{
	struct host_info_call *h = (struct host_info_call *)c;
	unsigned long version = 0;
	virNodeInfo ni;
	const char *type;
	char *hostname;

	memset(&h->info, 0, sizeof(h->info));
	if (virNodeGetInfo(c->conn, &ni) < 0)
		return call_fail(c, "cannot get host info");
	h->info.cpus = ni.cpus;
	h->info.numa_nodes = ni.nodes;
	h->info.memory_kib = ni.memory;
	hostname = virConnectGetHostname(c->conn);
	if (!hostname)
		return call_fail(c, "cannot get the host name");
	copy_str(h->info.hostname, sizeof(h->info.hostname), hostname);
	free(hostname);
	type = virConnectGetType(c->conn);
	if (!type || virConnectGetVersion(c->conn, &version) < 0)
		return call_fail(c, "cannot get the hypervisor version");
	snprintf(h->info.hypervisor, sizeof(h->info.hypervisor), "%s %lu.%lu.%lu", type,
		 version / 1000000, version / 1000 % 1000, version % 1000);
	return 0;
}

static int
lv_host_info(struct vmp_backend *b, struct vmp_host_info *ret)
{
	struct host_info_call *h = call_new(sizeof(*h), do_host_info, NULL);
	int r = run_op(b, &h->c, op_timeout(b), true, "get host info");

	if (r == 0)
		*ret = h->info;
	call_unref(&h->c);
	return r;
}

struct host_stats_call {
	struct lv_call c;
	struct vmp_host_stats st;
};

static int
do_host_stats(struct lv_call *c)
{
	struct host_stats_call *h = (struct host_stats_call *)c;
	virNodeCPUStatsPtr cpu = NULL;
	virNodeMemoryStatsPtr mem = NULL;
	int i, ncpu = 0, nmem = 0, r = 0;
	uint64_t buffers = 0, cached = 0;

	memset(&h->st, 0, sizeof(h->st));
	h->st.sample_time_us = now_us();
	if (virNodeGetCPUStats(c->conn, VIR_NODE_CPU_STATS_ALL_CPUS, NULL, &ncpu, 0) < 0 ||
	    virNodeGetMemoryStats(c->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, NULL, &nmem, 0) < 0)
		return call_fail(c, "cannot get host stats");
	cpu = xcalloc((size_t)ncpu + 1, sizeof(*cpu));
	mem = xcalloc((size_t)nmem + 1, sizeof(*mem));
	if (virNodeGetCPUStats(c->conn, VIR_NODE_CPU_STATS_ALL_CPUS, cpu, &ncpu, 0) < 0 ||
	    virNodeGetMemoryStats(c->conn, VIR_NODE_MEMORY_STATS_ALL_CELLS, mem, &nmem, 0) < 0) {
		r = call_fail(c, "cannot get host stats");
		goto out;
	}
	for (i = 0; i < ncpu; i++) {
		if (strcmp(cpu[i].field, VIR_NODE_CPU_STATS_IDLE) == 0 ||
		    strcmp(cpu[i].field, VIR_NODE_CPU_STATS_IOWAIT) == 0) {
			h->st.cpu_total_ns += cpu[i].value;
		} else if (strcmp(cpu[i].field, VIR_NODE_CPU_STATS_KERNEL) == 0 ||
			   strcmp(cpu[i].field, VIR_NODE_CPU_STATS_USER) == 0) {
			h->st.cpu_total_ns += cpu[i].value;
			h->st.cpu_busy_ns += cpu[i].value;
		}
	}
	for (i = 0; i < nmem; i++) {
		if (strcmp(mem[i].field, VIR_NODE_MEMORY_STATS_TOTAL) == 0)
			h->st.mem_total_kib = mem[i].value;
		else if (strcmp(mem[i].field, VIR_NODE_MEMORY_STATS_FREE) == 0)
			h->st.mem_free_kib = mem[i].value;
		else if (strcmp(mem[i].field, VIR_NODE_MEMORY_STATS_BUFFERS) == 0)
			buffers = mem[i].value;
		else if (strcmp(mem[i].field, VIR_NODE_MEMORY_STATS_CACHED) == 0)
			cached = mem[i].value;
	}
	/* libvirt has no MemAvailable: free + buffers + page cache approximates it. */
	h->st.mem_available_kib = h->st.mem_free_kib + buffers + cached;
out:
	free(cpu);
	free(mem);
	return r;
}

static int
lv_host_stats(struct vmp_backend *b, struct vmp_host_stats *ret)
{
	struct host_stats_call *h = call_new(sizeof(*h), do_host_stats, NULL);
	int r = run_op(b, &h->c, op_timeout(b), true, "get host stats");

	if (r == 0)
		*ret = h->st;
	call_unref(&h->c);
	return r;
}

/* ---- listing: bulk state plus each domain's live XML ---------------------------------- */

static enum vmp_vm_state
map_state(int state, int reason)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:
		return VMP_VM_RUNNING;
	case VIR_DOMAIN_PAUSED:
		if (reason == VIR_DOMAIN_PAUSED_MIGRATION || reason == VIR_DOMAIN_PAUSED_POSTCOPY)
			return VMP_VM_MIGRATING;
		return VMP_VM_PAUSED;
	case VIR_DOMAIN_PMSUSPENDED:
		return VMP_VM_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
		/* A QEMU killed or crashed under libvirt is not a clean shutoff. */
		if (reason == VIR_DOMAIN_SHUTOFF_CRASHED)
			return VMP_VM_CRASHED;
		return VMP_VM_SHUTOFF;
	case VIR_DOMAIN_CRASHED:
		return VMP_VM_CRASHED;
	default:
		return VMP_VM_UNKNOWN;
	}
}

struct list_call {
	struct lv_call c;
	struct vmp_vm_info *vms;
	struct vmp_vm_stats *stats;   /* parallel to vms */
	int n;
};

static void
list_dispose(struct lv_call *c)
{
	free(((struct list_call *)c)->vms);
	free(((struct list_call *)c)->stats);
}

static int
do_list(struct lv_call *c)
{
	struct list_call *l = (struct list_call *)c;
	virDomainStatsRecordPtr *recs = NULL;
	int i, n, r = 0;

	int64_t t;

	free(l->vms);
	free(l->stats);
	l->vms = NULL;
	l->stats = NULL;
	l->n = 0;
	/* One round trip for every domain's state and statistics (the cache of
	 * lv_vm_stats); NOWAIT: a domain busy in a job gives what it can at once. */
	t = now_us();
	n = virConnectGetAllDomainStats(c->conn, VIR_DOMAIN_STATS_STATE |
					VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
					VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE |
					VIR_DOMAIN_STATS_BLOCK, &recs,
					VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
	if (n < 0)
		return call_fail(c, "cannot list vms");
	l->vms = xcalloc((size_t)n + 1, sizeof(*l->vms));
	l->stats = xcalloc((size_t)n + 1, sizeof(*l->stats));
	for (i = 0; i < n; i++) {
		struct vmp_vm_info *vi = &l->vms[l->n];
		virDomainStatsRecordPtr rec = recs[i];
		uint64_t state = 0, reason = 0;
		char *xml;

		copy_str(vi->name, sizeof(vi->name), virDomainGetName(rec->dom));
		if (virDomainGetUUIDString(rec->dom, vi->uuid) < 0)
			vi->uuid[0] = '\0';
		params_u64(rec->params, rec->nparams, "state.state", &state);
		params_u64(rec->params, rec->nparams, "state.reason", &reason);
		vi->state = map_state((int)state, (int)reason);
		xml = virDomainGetXMLDesc(rec->dom, 0);
		if (!xml) {
			if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
				continue; /* went away since the listing */
			r = call_fail(c, "cannot get the configuration of vm '%s'", vi->name);
			goto out;
		}
		if (vmp_libvirt_parse_domain_xml(xml, vi) < 0) {
			snprintf(c->err, sizeof(c->err),
				 "cannot list vms: malformed domain XML of vm '%s'", vi->name);
			free(xml);
			r = -EPROTO;
			goto out;
		}
		free(xml);
		l->stats[l->n].sample_time_us = t;
		vmp_libvirt_parse_stats(rec->params, rec->nparams, &l->stats[l->n]);
		l->n++;
	}
out:
	virDomainStatsRecordListFree(recs);
	return r;
}

static int
lv_list_vms(struct vmp_backend *b, struct vmp_vm_info **ret_vms)
{
	struct lv_priv *p = vmp_backend_priv(b);
	struct list_call *l = call_new(sizeof(*l), do_list, NULL);
	int i, r;

	l->c.dispose = list_dispose;
	r = run_op(b, &l->c, op_timeout(b), true, "list vms");
	if (r == 0) {
		/* A VM this backend is migrating is reported as such. */
		for (i = 0; i < l->n; i++) {
			struct lv_mig *m = mig_find(p, l->vms[i].name);

			if (m && mig_running(m) && l->vms[i].state == VMP_VM_RUNNING)
				l->vms[i].state = VMP_VM_MIGRATING;
			if (m)
				mig_unref(m);
		}
		pthread_mutex_lock(&p->lock);
		free(p->cache);
		p->cache = xcalloc((size_t)l->n + 1, sizeof(*p->cache));
		for (i = 0; i < l->n; i++) {
			copy_str(p->cache[i].name, sizeof(p->cache[i].name), l->vms[i].name);
			p->cache[i].st = l->stats[i];
		}
		p->ncache = l->n;
		p->cache_us = now_us();
		pthread_mutex_unlock(&p->lock);
		*ret_vms = l->vms;
		l->vms = NULL;
		r = l->n;
	}
	call_unref(&l->c);
	return r;
}

/* ---- per-VM statistics ------------------------------------------------------------------- */

/*
 * Fetches the stats groups of one domain into *ret_recs (free with
 * virDomainStatsRecordListFree). Returns 0, -1 with libvirt's error set, or -ENOENT
 * when libvirt returned no record (the domain went away meanwhile).
 */
static int
domain_stats(virDomainPtr dom, unsigned groups, virDomainStatsRecordPtr **ret_recs)
{
	virDomainPtr doms[2] = { dom, NULL };
	int n;

	n = virDomainListGetStats(doms, groups, ret_recs,
				  VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
	if (n < 0)
		return -1;
	if (n == 0) {
		virDomainStatsRecordListFree(*ret_recs);
		*ret_recs = NULL;
		return -ENOENT;
	}
	return 0;
}

struct stats_call {
	struct lv_call c;
	struct vmp_vm_stats st;
};

static int
do_vm_stats(struct lv_call *c)
{
	struct stats_call *s = (struct stats_call *)c;
	virDomainStatsRecordPtr *recs = NULL;
	virDomainPtr dom = lookup(c, "get stats");
	int r;

	if (!dom)
		return c->ret;
	memset(&s->st, 0, sizeof(s->st));
	s->st.sample_time_us = now_us();
	r = domain_stats(dom, VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
			 VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU |
			 VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK, &recs);
	if (r < 0) {
		if (r == -ENOENT)
			r = call_fail_errno(c, ENOENT, "cannot get stats of vm '%s': it went away "
					    "while sampled", c->vm);
		else
			r = call_fail(c, "cannot get stats of vm '%s'", c->vm);
		virDomainFree(dom);
		return r;
	}
	vmp_libvirt_parse_stats(recs[0]->params, recs[0]->nparams, &s->st);
	virDomainStatsRecordListFree(recs);
	virDomainFree(dom);
	return 0;
}

static int
lv_vm_stats(struct vmp_backend *b, const char *vm, struct vmp_vm_stats *ret)
{
	struct lv_priv *p = vmp_backend_priv(b);
	struct stats_call *s;
	int i, r;

	/* Right after list_vms (the usual "list, then sample each VM" round), answer
	 * from its bulk sample: one round trip for all VMs. The sample keeps its own
	 * time, so rates computed from it stay right. */
	pthread_mutex_lock(&p->lock);
	if (p->cache && now_us() - p->cache_us < LV_CACHE_MAX_AGE_US) {
		for (i = 0; i < p->ncache; i++) {
			if (strcmp(p->cache[i].name, vm) == 0) {
				*ret = p->cache[i].st;
				pthread_mutex_unlock(&p->lock);
				return 0;
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
	s = call_new(sizeof(*s), do_vm_stats, vm);
	r = run_op(b, &s->c, op_timeout(b), true, "get stats");

	if (r == 0)
		*ret = s->st;
	call_unref(&s->c);
	return r;
}

struct config_call {
	struct lv_call c;
	char *xml;
};

static void
config_dispose(struct lv_call *c)
{
	free(((struct config_call *)c)->xml);
}

static int
do_vm_config(struct lv_call *c)
{
	struct config_call *a = (struct config_call *)c;
	virDomainPtr dom = lookup(c, "get configuration");
	int r = 0;

	if (!dom)
		return c->ret;
	a->xml = virDomainGetXMLDesc(dom, 0);
	if (!a->xml)
		r = call_fail(c, "cannot get the configuration of vm '%s'", c->vm);
	virDomainFree(dom);
	return r;
}

static int
lv_vm_config(struct vmp_backend *b, const char *vm, char **ret_xml)
{
	struct config_call *a = call_new(sizeof(*a), do_vm_config, vm);
	int r;

	a->c.dispose = config_dispose;
	r = run_op(b, &a->c, op_timeout(b), true, "get configuration");
	if (r == 0) {
		*ret_xml = a->xml;
		a->xml = NULL;
	}
	call_unref(&a->c);
	return r;
}

/* ---- actuators --------------------------------------------------------------------------- */

struct balloon_call {
	struct lv_call c;
	uint64_t kib;
};

static int
do_set_balloon(struct lv_call *c)
{
	struct balloon_call *a = (struct balloon_call *)c;
	virDomainPtr dom = lookup(c, "set balloon");
	int r = 0;

	if (!dom)
		return c->ret;
	if (virDomainSetMemoryFlags(dom, (unsigned long)a->kib, VIR_DOMAIN_AFFECT_LIVE) < 0)
		r = call_fail(c, "cannot balloon vm '%s' to %" PRIu64 " KiB", c->vm, a->kib);
	virDomainFree(dom);
	return r;
}

static int
lv_set_balloon(struct vmp_backend *b, const char *vm, uint64_t target_kib)
{
	struct balloon_call *a = call_new(sizeof(*a), do_set_balloon, vm);

	a->kib = target_kib;
	cache_drop(vmp_backend_priv(b));
	return run_actuator(b, &a->c, "set balloon");
}

struct period_call {
	struct lv_call c;
	unsigned period_s;
};

static int
do_set_stats_period(struct lv_call *c)
{
	struct period_call *a = (struct period_call *)c;
	virDomainPtr dom = lookup(c, "set the stats period");
	int r = 0;

	if (!dom)
		return c->ret;
	/* Live only: the domain's persistent definition is left as the operator wrote it. */
	if (virDomainSetMemoryStatsPeriod(dom, (int)a->period_s, VIR_DOMAIN_AFFECT_LIVE) < 0)
		r = call_fail(c, "cannot set the memory stats period of vm '%s' to %u s", c->vm,
			      a->period_s);
	virDomainFree(dom);
	return r;
}

static int
lv_set_stats_period(struct vmp_backend *b, const char *vm, unsigned period_s)
{
	struct period_call *a = call_new(sizeof(*a), do_set_stats_period, vm);

	a->period_s = period_s;
	cache_drop(vmp_backend_priv(b));
	return run_actuator(b, &a->c, "set the stats period");
}

struct vcpus_call {
	struct lv_call c;
	unsigned count;
};

static int
do_set_vcpus(struct lv_call *c)
{
	struct vcpus_call *a = (struct vcpus_call *)c;
	virDomainPtr dom = lookup(c, "set vcpus");
	int cur, after, r = 0;

	if (!dom)
		return c->ret;
	cur = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
	if (cur < 0) {
		r = call_fail(c, "cannot set vcpus of vm '%s' to %u", c->vm, a->count);
		goto out;
	}
	if (virDomainSetVcpusFlags(dom, a->count, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		if (a->count < (unsigned)cur)
			r = call_fail(c, "cannot hot-unplug vcpus of vm '%s' (%d -> %u)", c->vm,
				      cur, a->count);
		else
			r = call_fail(c, "cannot set vcpus of vm '%s' to %u", c->vm, a->count);
		goto out;
	}
	if (a->count < (unsigned)cur) {
		/* Unplug needs the guest's cooperation: report what actually happened. */
		after = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE);
		if (after < 0)
			r = call_fail(c, "cannot read vcpus of vm '%s' after hot-unplug", c->vm);
		else if ((unsigned)after > a->count)
			r = call_fail_errno(c, EINPROGRESS,
					    "hot-unplug of vcpus of vm '%s' (%d -> %u) requested, "
					    "%d still present", c->vm, cur, a->count, after);
	}
out:
	virDomainFree(dom);
	return r;
}

static int
lv_set_vcpus(struct vmp_backend *b, const char *vm, unsigned count)
{
	struct vcpus_call *a = call_new(sizeof(*a), do_set_vcpus, vm);

	a->count = count;
	cache_drop(vmp_backend_priv(b));
	return run_actuator(b, &a->c, "set vcpus");
}

struct pin_call {
	struct lv_call c;
	unsigned vcpu;
	char cpulist[256];
};

static int
do_pin_vcpu(struct lv_call *c)
{
	struct pin_call *a = (struct pin_call *)c;
	virDomainPtr dom;
	uint8_t *map;
	int ncpus, maplen, r;

	ncpus = virNodeGetCPUMap(c->conn, NULL, NULL, 0);
	if (ncpus < 0)
		return call_fail(c, "cannot pin vcpu %u of vm '%s'", a->vcpu, c->vm);
	maplen = VIR_CPU_MAPLEN(ncpus);
	map = xcalloc((size_t)maplen, 1);
	r = vmp_cpulist_parse(a->cpulist, (unsigned)ncpus, map, (size_t)maplen);
	if (r < 0) {
		free(map);
		return call_fail_errno(c, -r, "cannot pin vcpu %u of vm '%s' to '%s' "
				       "(the host has cpus 0-%d)", a->vcpu, c->vm, a->cpulist,
				       ncpus - 1);
	}
	r = 0;
	dom = lookup(c, "pin vcpu");
	if (!dom) {
		free(map);
		return c->ret;
	}
	/* AFFECT_CURRENT on a running domain is the live pinning (and the only flag the
	 * test driver takes); a stopped domain's configuration is not touched. */
	if (virDomainIsActive(dom) != 1)
		r = call_fail_errno(c, EBUSY, "cannot pin vcpu %u of vm '%s': the vm is not "
				    "running", a->vcpu, c->vm);
	else if (virDomainPinVcpuFlags(dom, a->vcpu, map, maplen, VIR_DOMAIN_AFFECT_CURRENT) < 0)
		r = call_fail(c, "cannot pin vcpu %u of vm '%s' to '%s'", a->vcpu, c->vm,
			      a->cpulist);
	virDomainFree(dom);
	free(map);
	return r;
}

static int
lv_pin_vcpu(struct vmp_backend *b, const char *vm, unsigned vcpu, const char *cpulist)
{
	struct pin_call *a = call_new(sizeof(*a), do_pin_vcpu, vm);

	a->vcpu = vcpu;
	copy_str(a->cpulist, sizeof(a->cpulist), cpulist);
	return run_actuator(b, &a->c, "pin vcpu");
}

struct quota_call {
	struct lv_call c;
	int64_t quota_us;
	uint64_t period_us;
	uint64_t shares;
};

static int
do_set_cpu_quota(struct lv_call *c)
{
	struct quota_call *a = (struct quota_call *)c;
	virTypedParameterPtr params = NULL;
	virDomainPtr dom;
	int n = 0, max = 0, r = 0;

	dom = lookup(c, "set cpu quota");
	if (!dom)
		return c->ret;
	/* The global_* parameters bound the whole VM (all vCPUs and the emulator threads
	 * together), which is what a quota of the VM means. */
	if (a->period_us)
		virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD,
					a->period_us);
	virTypedParamsAddLLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA,
			       a->quota_us < 0 ? -1 : a->quota_us);
	if (a->shares)
		virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_SCHEDULER_CPU_SHARES,
					a->shares);
	if (virDomainSetSchedulerParametersFlags(dom, params, n, VIR_DOMAIN_AFFECT_LIVE) < 0)
		r = call_fail(c, "cannot set cpu quota of vm '%s' to %" PRId64 " us per %" PRIu64
			      " us", c->vm, a->quota_us, a->period_us);
	virTypedParamsFree(params, n);
	virDomainFree(dom);
	return r;
}

static int
lv_set_cpu_quota(struct vmp_backend *b, const char *vm, int64_t quota_us, uint64_t period_us,
		 uint64_t shares)
{
	struct quota_call *a = call_new(sizeof(*a), do_set_cpu_quota, vm);

	a->quota_us = quota_us;
	a->period_us = period_us;
	a->shares = shares;
	return run_actuator(b, &a->c, "set cpu quota");
}

struct iotune_call {
	struct lv_call c;
	char disk[128];
	struct vmp_block_iotune t;
};

static int
do_set_block_iotune(struct lv_call *c)
{
	struct iotune_call *a = (struct iotune_call *)c;
	virTypedParameterPtr params = NULL;
	virDomainPtr dom;
	int n = 0, max = 0, r = 0;

	dom = lookup(c, "set disk limits");
	if (!dom)
		return c->ret;
	/* Reads and writes apart; the totals stay 0 (libvirt refuses total with read/write). */
	virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC,
				a->t.read_bytes_sec);
	virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC,
				a->t.write_bytes_sec);
	virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC,
				a->t.read_iops_sec);
	virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC,
				a->t.write_iops_sec);
	if (virDomainSetBlockIoTune(dom, a->disk, params, n, VIR_DOMAIN_AFFECT_LIVE) < 0)
		r = call_fail(c, "cannot set disk limits of vm '%s' disk '%s' to read %" PRIu64
			      " B/s, write %" PRIu64 " B/s", c->vm, a->disk, a->t.read_bytes_sec,
			      a->t.write_bytes_sec);
	virTypedParamsFree(params, n);
	virDomainFree(dom);
	return r;
}

static int
lv_set_block_iotune(struct vmp_backend *b, const char *vm, const char *disk,
		    const struct vmp_block_iotune *t)
{
	struct iotune_call *a = call_new(sizeof(*a), do_set_block_iotune, vm);

	copy_str(a->disk, sizeof(a->disk), disk);
	a->t = *t;
	return run_actuator(b, &a->c, "set disk limits");
}

/* ---- live migration ------------------------------------------------------------------------ */

struct mig_start_call {
	struct lv_call c;
	char *dest_uri;
	bool local;            /* in: the source host is this machine (its files can be statfs'd) */
	bool storage_shared;   /* in: the operator says every disk is shared */
	virDomainPtr dom;      /* results, taken by the caller */
	virConnectPtr dconn;
	bool persistent;
	unsigned local_disks;  /* writable disks not on shared storage */
	char first_local[1200];/* "disk 'vda' ('/path')" of the first of them */
};

/*
 * Whether path is on a file system that other hosts share (what libvirt's own safety
 * check calls shared: NFS, SMB/CIFS, CephFS, GFS2, OCFS2, AFS, GPFS, BeeGFS). A path
 * that cannot be statfs'd is not.
 */
static bool
on_shared_fs(const char *path)
{
	static const unsigned long magic[] = {
		0x6969,      /* NFS */
		0x517B,      /* SMB */
		0xFF534D42,  /* CIFS */
		0xFE534D42,  /* SMB2 */
		0x00C36400,  /* CephFS */
		0x01161970,  /* GFS2 */
		0x7461636F,  /* OCFS2 */
		0x5346414F,  /* AFS */
		0x47504653,  /* GPFS */
		0x19830326,  /* BeeGFS */
	};
	struct statfs sf;
	size_t i;

	if (statfs(path, &sf) < 0)
		return false;
	for (i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		if ((unsigned long)(uint32_t)sf.f_type == magic[i])
			return true;
	return false;
}

/* Fills a->persistent and the local disks of a->dom (see struct vmp_migrate_params). */
static int
mig_check_storage(struct mig_start_call *a)
{
	struct vmp_libvirt_disk *disks = NULL;
	size_t n = 0, i;
	char *xml;
	int r;

	r = virDomainIsPersistent(a->dom);
	if (r < 0)
		return call_fail(&a->c, "cannot migrate vm '%s': cannot tell whether it is "
				 "persistent", a->c.vm);
	a->persistent = r == 1;
	xml = virDomainGetXMLDesc(a->dom, 0);
	if (!xml)
		return call_fail(&a->c, "cannot migrate vm '%s': cannot get its configuration",
				 a->c.vm);
	r = vmp_libvirt_parse_disks(xml, &disks, &n);
	free(xml);
	if (r < 0)
		return call_fail_errno(&a->c, EPROTO, "cannot migrate vm '%s': malformed domain "
				       "XML", a->c.vm);
	for (i = 0; i < n; i++) {
		if (!vmp_libvirt_disk_needs_copy(&disks[i]) || a->storage_shared)
			continue;
		if (a->local && on_shared_fs(disks[i].source))
			continue;
		if (!a->local_disks++)
			snprintf(a->first_local, sizeof(a->first_local), "disk '%s' ('%s')",
				 disks[i].target, disks[i].source);
	}
	free(disks);
	return 0;
}

static void
mig_start_dispose(struct lv_call *c)
{
	struct mig_start_call *a = (struct mig_start_call *)c;

	if (a->dom)
		virDomainFree(a->dom);
	if (a->dconn)
		virConnectClose(a->dconn);
	free(a->dest_uri);
}

static int
do_mig_start(struct lv_call *c)
{
	struct mig_start_call *a = (struct mig_start_call *)c;

	a->dom = lookup(c, "migrate");
	if (!a->dom)
		return c->ret;
	if (mig_check_storage(a) < 0)
		return c->ret;
	a->dconn = virConnectOpen(a->dest_uri);
	if (!a->dconn)
		return call_fail(c, "cannot migrate vm '%s': cannot connect to '%s'", c->vm,
				 a->dest_uri);
	if (virConnectSetKeepAlive(a->dconn, LV_KEEPALIVE_INTERVAL_S, LV_KEEPALIVE_COUNT) < 0)
		virResetLastError();
	return 0;
}

static int
lv_migrate_start(struct vmp_backend *b, const char *vm, const struct vmp_migrate_params *mp)
{
	struct lv_priv *p = vmp_backend_priv(b);
	struct mig_start_call *a;
	struct lv_mig *m, **pp;
	unsigned long flags;
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!mp || !mp->dest_uri)
		return vmp_backend_fail(b, EINVAL, "cannot migrate vm '%s': no destination", vm);
	m = mig_find(p, vm);
	if (m) {
		bool busy = mig_running(m);

		mig_unref(m);
		if (busy)
			return vmp_backend_fail(b, EBUSY, "cannot migrate vm '%s': a migration "
						"is already running", vm);
	}
	a = call_new(sizeof(*a), do_mig_start, vm);
	a->c.dispose = mig_start_dispose;
	a->dest_uri = xstrdup(mp->dest_uri);
	a->local = is_local_uri(vmp_backend_uri(b));
	a->storage_shared = mp->storage_shared;
	cache_drop(p);
	r = run_op(b, &a->c, op_timeout(b), false, "migrate");
	if (r < 0) {
		call_unref(&a->c);
		return r;
	}
	if (a->local_disks && !mp->copy_storage) {
		r = vmp_backend_fail(b, EXDEV, "cannot migrate vm '%s': %s%s is not on storage "
				     "the destination shares; set migration_copy_storage = yes to "
				     "copy it, or storage_shared = yes in the source's [host] section "
				     "if it is shared", vm, a->first_local,
				     a->local_disks > 1 ? " and others" : "");
		call_unref(&a->c);
		return r;
	}
	flags = vmp_libvirt_migrate_flags(a->persistent, a->local_disks > 0, mp);

	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->refs = 2; /* the list and the thread */
	copy_str(m->vm, sizeof(m->vm), vm);
	m->dom = a->dom;
	m->dconn = a->dconn;
	a->dom = NULL;
	a->dconn = NULL;
	call_unref(&a->c);
	{
		int max = 0;

		if (mp->migrate_uri)
			virTypedParamsAddString(&m->params, &m->nparams, &max,
						VIR_MIGRATE_PARAM_URI, mp->migrate_uri);
		if (mp->dest_name)
			virTypedParamsAddString(&m->params, &m->nparams, &max,
						VIR_MIGRATE_PARAM_DEST_NAME, mp->dest_name);
		if (mp->bandwidth_mibps)
			virTypedParamsAddULLong(&m->params, &m->nparams, &max,
						VIR_MIGRATE_PARAM_BANDWIDTH, mp->bandwidth_mibps);
	}
	m->flags = flags;
	m->postcopy = mp->postcopy;
	m->max_downtime_ms = mp->max_downtime_ms;
	m->start_us = now_us();
	m->running = true;
	m->final.state = VMP_MIGRATE_ACTIVE;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, mig_worker, m);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		virDomainFree(m->dom);
		virConnectClose(m->dconn);
		virTypedParamsFree(m->params, m->nparams);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return vmp_backend_fail(b, EAGAIN, "cannot migrate vm '%s': cannot start a "
					"thread", vm);
	}
	/* Replace a finished job of the same VM. */
	pthread_mutex_lock(&p->lock);
	for (pp = &p->migs; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->vm, vm) == 0) {
			struct lv_mig *old = *pp;

			*pp = old->next;
			mig_unref(old);
			break;
		}
	}
	m->next = p->migs;
	p->migs = m;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

struct mig_poll_call {
	struct lv_call c;
	bool start_postcopy;          /* in: switch to post-copy after the first pass */
	bool postcopy_started;        /* out */
	struct vmp_migrate_progress prog;
};

static int
do_mig_poll(struct lv_call *c)
{
	struct mig_poll_call *a = (struct mig_poll_call *)c;
	virTypedParameterPtr params = NULL;
	virDomainPtr dom = lookup(c, "poll migration");
	int n = 0, type = 0, r = 0;
	uint64_t iteration = 0;

	if (!dom)
		return c->ret;
	if (virDomainGetJobStats(dom, &type, &params, &n, 0) < 0) {
		r = call_fail(c, "cannot poll migration of vm '%s'", c->vm);
		goto out;
	}
	job_progress(params, n, &a->prog);
	/* Post-copy starts once the first full pass over RAM is done. */
	if (a->start_postcopy &&
	    params_u64(params, n, VIR_DOMAIN_JOB_MEMORY_ITERATION, &iteration) && iteration >= 2) {
		if (virDomainMigrateStartPostCopy(dom, 0) < 0) {
			r = call_fail(c, "cannot switch migration of vm '%s' to post-copy", c->vm);
			goto out;
		}
		a->postcopy_started = true;
	}
out:
	virTypedParamsFree(params, n);
	virDomainFree(dom);
	return r;
}

static int
lv_migrate_poll(struct vmp_backend *b, const char *vm, struct vmp_migrate_progress *ret)
{
	struct lv_priv *p = vmp_backend_priv(b);
	struct lv_mig *m = mig_find(p, vm);
	struct mig_poll_call *a;
	int r;

	if (!m) {
		memset(ret, 0, sizeof(*ret));
		ret->state = VMP_MIGRATE_NONE;
		return 0;
	}
	if (mig_running(m)) {
		a = call_new(sizeof(*a), do_mig_poll, vm);
		pthread_mutex_lock(&m->lock);
		a->start_postcopy = m->postcopy && !m->postcopy_started;
		pthread_mutex_unlock(&m->lock);
		r = run_op(b, &a->c, op_timeout(b), false, "poll migration");
		if (r == 0 && mig_running(m)) {
			pthread_mutex_lock(&m->lock);
			if (a->postcopy_started)
				m->postcopy_started = true;
			pthread_mutex_unlock(&m->lock);
			a->prog.state = VMP_MIGRATE_ACTIVE;
			*ret = a->prog;
			call_unref(&a->c);
			mig_unref(m);
			return 0;
		}
		call_unref(&a->c);
		/* The job may have ended meanwhile: the source domain is gone then, and the
		 * thread is reading the final statistics; give it the timeout to finish. */
		if (r == -ENOENT) {
			int64_t deadline = now_us() + (int64_t)op_timeout(b) * 1000;

			while (mig_running(m) && now_us() < deadline)
				sleep_ms(20);
		}
		if (mig_running(m)) {
			if (r == -ENOTSUP) {
				/* No job statistics from this driver: our own clock. */
				memset(ret, 0, sizeof(*ret));
				ret->state = VMP_MIGRATE_ACTIVE;
				ret->total_time_ms = (uint64_t)(now_us() - m->start_us) / 1000;
				r = 0;
			}
			mig_unref(m);
			return r;
		}
	}
	pthread_mutex_lock(&m->lock);
	*ret = m->final;
	r = 0;
	if (m->final.state == VMP_MIGRATE_FAILED || m->final.state == VMP_MIGRATE_CANCELLED)
		r = vmp_backend_fail(b, EIO, "%s", m->err);
	pthread_mutex_unlock(&m->lock);
	mig_unref(m);
	/* A failed or cancelled migration is a successful poll: the state says so, and
	 * vmp_backend_error() says why. */
	return r < 0 ? 0 : r;
}

static int
do_mig_cancel(struct lv_call *c)
{
	virDomainPtr dom = lookup(c, "cancel migration");
	int r = 0;

	if (!dom)
		return c->ret;
	if (virDomainAbortJob(dom) < 0)
		r = call_fail(c, "cannot cancel migration of vm '%s'", c->vm);
	virDomainFree(dom);
	return r;
}

static int
lv_migrate_cancel(struct vmp_backend *b, const char *vm)
{
	struct lv_priv *p = vmp_backend_priv(b);
	struct lv_mig *m = mig_find(p, vm);
	struct lv_call *c;
	int r;

	if (!m || !mig_running(m)) {
		if (m)
			mig_unref(m);
		return vmp_backend_fail(b, ESRCH, "cannot cancel migration of vm '%s': no "
					"migration is running", vm);
	}
	pthread_mutex_lock(&m->lock);
	m->cancel_requested = true;
	pthread_mutex_unlock(&m->lock);
	c = call_new(sizeof(*c), do_mig_cancel, vm);
	r = run_actuator(b, c, "cancel migration");
	if (r == 0) {
		/*
		 * Done when libvirt is: the migration call returns only after QEMU reported
		 * the migration cancelled and libvirt ended its job, so the next migration
		 * of this VM is not refused as "in progress".
		 */
		int64_t deadline = now_us() + (int64_t)op_timeout(b) * 1000;

		while (mig_running(m) && now_us() < deadline)
			sleep_ms(20);
		if (mig_running(m))
			r = vmp_backend_fail(b, EBUSY, "cannot cancel migration of vm '%s': still "
					     "running %u ms after the cancel", vm, op_timeout(b));
	}
	mig_unref(m);
	return r;
}

/* ---- dirty page rate ------------------------------------------------------------------------- */

struct dirty_call {
	struct lv_call c;
	unsigned calc_s;
	uint64_t mib_per_s;
};

static int
do_dirty_rate(struct lv_call *c)
{
	struct dirty_call *a = (struct dirty_call *)c;
	virDomainStatsRecordPtr *recs = NULL;
	virDomainPtr dom = lookup(c, "measure dirty rate");
	int r = 0;

	if (!dom)
		return c->ret;
	if (virDomainStartDirtyRateCalc(dom, (int)a->calc_s, 0) < 0) {
		r = call_fail(c, "cannot measure dirty rate of vm '%s'", c->vm);
		goto out;
	}
	sleep_ms(a->calc_s * 1000);
	for (;;) {
		uint64_t status = 0, rate = 0;
		virDomainStatsRecordPtr rec;

		r = domain_stats(dom, VIR_DOMAIN_STATS_DIRTYRATE, &recs);
		if (r < 0) {
			if (r == -ENOENT)
				r = call_fail_errno(c, ENOENT, "cannot read dirty rate of vm '%s': it "
						    "went away", c->vm);
			else
				r = call_fail(c, "cannot read dirty rate of vm '%s'", c->vm);
			goto out;
		}
		rec = recs[0];
		params_u64(rec->params, rec->nparams, "dirtyrate.calc_status", &status);
		if (status == VIR_DOMAIN_DIRTYRATE_MEASURED &&
		    params_u64(rec->params, rec->nparams, "dirtyrate.megabytes_per_second", &rate)) {
			a->mib_per_s = rate;
			break;
		}
		virDomainStatsRecordListFree(recs);
		recs = NULL;
		if (now_us() > c->deadline_us) {
			r = call_fail_errno(c, ETIMEDOUT, "cannot measure dirty rate of vm '%s'",
					    c->vm);
			goto out;
		}
		sleep_ms(LV_POLL_MS);
	}
out:
	virDomainStatsRecordListFree(recs);
	virDomainFree(dom);
	return r;
}

static int
lv_dirty_rate(struct vmp_backend *b, const char *vm, unsigned calc_ms, uint64_t *ret_mib_per_s)
{
	struct dirty_call *a = call_new(sizeof(*a), do_dirty_rate, vm);
	int r;

	a->calc_s = calc_ms < 1000 ? 1 : (calc_ms + 999) / 1000;
	r = run_op(b, &a->c, a->calc_s * 1000 + op_timeout(b), false, "measure dirty rate");
	if (r == 0)
		*ret_mib_per_s = a->mib_per_s;
	call_unref(&a->c);
	return r;
}

const struct vmp_backend_ops vmp_backend_libvirt = {
	.name = "libvirt",
	.accepts = lv_accepts,
	.open = lv_open,
	.close = lv_close,
	.host_info = lv_host_info,
	.host_stats = lv_host_stats,
	.list_vms = lv_list_vms,
	.vm_stats = lv_vm_stats,
	.vm_config = lv_vm_config,
	.set_balloon = lv_set_balloon,
	.set_stats_period = lv_set_stats_period,
	.set_vcpus = lv_set_vcpus,
	.pin_vcpu = lv_pin_vcpu,
	.set_cpu_quota = lv_set_cpu_quota,
	.set_block_iotune = lv_set_block_iotune,
	.migrate_start = lv_migrate_start,
	.migrate_poll = lv_migrate_poll,
	.migrate_cancel = lv_migrate_cancel,
	.dirty_rate = lv_dirty_rate,
};
