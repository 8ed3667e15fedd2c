/* SPDX-License-Identifier: MIT */
/*
 * The QMP backend: QEMU processes driven directly over their QMP monitor sockets,
 * without libvirt. URI: qmp:///path/to/dir — every unix socket NAME.sock in that
 * directory is the QMP monitor of one VM called NAME (QEMU started with
 * `-qmp unix:/path/to/dir/NAME.sock,server=on,wait=off`). See doc/design/qmp-backend.md.
 *
 * One QMP connection per VM, opened on first use and reopened after a disconnect. QEMU
 * serves one QMP client at a time, so while vmpilot holds a VM's socket no other QMP
 * client can use it. Host facts and host stats come from this machine's /proc (the
 * sockets are local); per-vCPU times come from the vCPU threads' schedstat.
 */
#include "build-config.h"
#include "backend/backend.h"
#include "backend/qmp-client.h"
#include "util/fileio.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QMP_SCHEME "qmp://"
/* "Unlimited" migration bandwidth: QEMU's default cap is 128 MiB/s. */
#define QMP_BANDWIDTH_UNLIMITED ((json_int_t)1 << 40)

struct qmp_vm {
	char *name;
	struct vmp_qmp *q;
	char *balloon_path;        /* QOM path of the balloon device, NULL until found */
	bool postcopy_wanted;
	bool postcopy_started;
	struct qmp_vm *next;
};

struct qmp_priv {
	char *dir;
	struct qmp_vm *vms;
};

static struct qmp_priv *
priv(struct vmp_backend *b)
{
	return vmp_backend_priv(b);
}

static int64_t
deadline(struct vmp_backend *b)
{
	return vmp_monotonic_ms() + vmp_backend_timeout_ms(b);
}

static bool
qmp_accepts(const char *uri)
{
	return vmp_str_starts_with(uri, QMP_SCHEME);
}

/* "qmp:///run/vmpilot/qmp" -> "/run/vmpilot/qmp"; NULL if not of that form. */
static char *
uri_dir(const char *uri)
{
	const char *p;

	if (!vmp_str_starts_with(uri, QMP_SCHEME))
		return NULL;
	p = uri + strlen(QMP_SCHEME);
	if (p[0] != '/')
		return NULL;   /* qmp://host/... : remote QMP is not supported */
	return xstrdup(p);
}

static int
qmp_open(struct vmp_backend *b, const char *uri)
{
	struct qmp_priv *p;
	struct stat st;
	char *dir = uri_dir(uri);

	if (!dir)
		return vmp_backend_fail(b, EINVAL, "cannot open '%s': expected qmp:///path/to/dir "
					"(a local directory of QMP sockets)", uri);
	if (stat(dir, &st) < 0) {
		int e = errno;

		vmp_backend_fail(b, e, "cannot open '%s': directory '%s': %s", uri, dir, strerror(e));
		free(dir);
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		vmp_backend_fail(b, ENOTDIR, "cannot open '%s': '%s' is not a directory", uri, dir);
		free(dir);
		return -ENOTDIR;
	}
	p = xcalloc(1, sizeof(*p));
	p->dir = dir;
	vmp_backend_set_priv(b, p);
	return 0;
}

static void
qmp_close_backend(struct vmp_backend *b)
{
	struct qmp_priv *p = priv(b);
	struct qmp_vm *v, *next;

	if (!p)
		return;
	for (v = p->vms; v; v = next) {
		next = v->next;
		vmp_qmp_close(v->q);
		free(v->balloon_path);
		free(v->name);
		free(v);
	}
	free(p->dir);
	free(p);
}

static bool
valid_vm_name(const char *vm)
{
	return vm && vm[0] && !strchr(vm, '/') && strcmp(vm, ".") && strcmp(vm, "..") &&
	       strlen(vm) < VMP_NAME_MAX;
}

static struct qmp_vm *
vm_entry(struct qmp_priv *p, const char *vm)
{
	struct qmp_vm *v;

	for (v = p->vms; v; v = v->next)
		if (!strcmp(v->name, vm))
			return v;
	v = xcalloc(1, sizeof(*v));
	v->name = xstrdup(vm);
	v->next = p->vms;
	p->vms = v;
	return v;
}

/* Forgets what we knew about a VM whose connection broke (QEMU may have restarted). */
static void
vm_reset(struct qmp_vm *v)
{
	vmp_qmp_close(v->q);
	v->q = NULL;
	free(v->balloon_path);
	v->balloon_path = NULL;
}

/*
 * Connects to the socket at path, which must be a socket itself (a symlink is not
 * followed: -ELOOP) whose peer runs as an allowed uid (-EPERM otherwise).
 */
static int
check_socket(struct vmp_backend *b, const char *path, int64_t dl, struct vmp_qmp **ret_q,
	     char **ret_err)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		r = -errno;
		*ret_err = xasprintf("qmp '%s': %s", path, strerror(-r));
		return r;
	}
	if (S_ISLNK(st.st_mode) || !S_ISSOCK(st.st_mode)) {
		*ret_err = xasprintf("qmp '%s': %s", path, S_ISLNK(st.st_mode) ?
				     "a symlink, not followed" : "not a socket");
		return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTSOCK;
	}
	r = vmp_qmp_connect(path, dl, ret_q, ret_err);
	if (r < 0)
		return r;
	if (!vmp_backend_peer_uid_allowed(b, vmp_qmp_peer_uid(*ret_q))) {
		*ret_err = xasprintf("qmp '%s': its peer runs as uid %ld, which is not root, ours "
				     "or in qmp_peer_uids: refused", path, vmp_qmp_peer_uid(*ret_q));
		vmp_qmp_close(*ret_q);
		*ret_q = NULL;
		return -EPERM;
	}
	return 0;
}

/*
 * Returns the VM's entry with a live connection, or a negative errno with the backend
 * error "cannot WHAT of vm 'NAME': ..." set.
 */
static int
vm_get(struct vmp_backend *b, const char *vm, const char *what, int64_t dl,
       struct qmp_vm **ret_v)
{
	struct qmp_priv *p = priv(b);
	struct qmp_vm *v;
	char *path, *err = NULL;
	int r;

	if (!valid_vm_name(vm))
		return vmp_backend_fail(b, EINVAL, "cannot %s of vm '%s': invalid vm name", what,
					vm ? vm : "");
	v = vm_entry(p, vm);
	if (v->q && vmp_qmp_connected(v->q)) {
		/* Notice a QEMU that exited or was restarted since the last operation, so this
		 * one reconnects instead of failing. */
		err = NULL;
		if (vmp_qmp_check(v->q, &err) == 0) {
			*ret_v = v;
			return 0;
		}
		free(err);
		err = NULL;
	}
	vm_reset(v);
	path = xasprintf("%s/%s.sock", p->dir, vm);
	r = check_socket(b, path, dl, &v->q, &err);
	free(path);
	if (r < 0) {
		if (r == -ENOENT)
			vmp_backend_fail(b, r, "cannot %s of vm '%s': no such vm (%s)", what, vm, err);
		else if (r == -ECONNREFUSED)
			/* QEMU removes its socket when it exits; one left behind lost its QEMU. */
			vmp_backend_fail(b, r, "cannot %s of vm '%s': its QEMU is gone, killed or "
					 "crashed (its socket is left, nobody listens: %s)", what, vm, err);
		else
			vmp_backend_fail(b, r, "cannot %s of vm '%s': %s", what, vm, err);
		free(err);
		return r;
	}
	*ret_v = v;
	return 0;
}

/*
 * Runs one command for an operation; on failure sets "cannot WHAT of vm 'NAME': ..." and
 * drops a broken connection (the next operation reconnects).
 */
static int
vm_exec_class(struct vmp_backend *b, struct qmp_vm *v, const char *what, const char *cmd,
	      json_t *args, int64_t dl, json_t **ret, char **ret_class)
{
	char *err = NULL;
	int r;

	if (!v->q) {
		/* An earlier command of this operation broke the connection. */
		json_decref(args);
		return vmp_backend_fail(b, ENOTCONN, "cannot %s of vm '%s': the connection to "
					"QEMU broke", what, v->name);
	}
	r = vmp_qmp_execute_class(v->q, cmd, args, dl, ret, ret_class, &err);
	if (r < 0) {
		if (r == -EIO)
			vmp_backend_fail(b, r, "cannot %s of vm '%s': %s: %s", what, v->name, cmd, err);
		else
			vmp_backend_fail(b, r, "cannot %s of vm '%s': %s", what, v->name, err);
		free(err);
		if (!vmp_qmp_connected(v->q))
			vm_reset(v);
	}
	return r;
}

static int
vm_exec(struct vmp_backend *b, struct qmp_vm *v, const char *what, const char *cmd,
	json_t *args, int64_t dl, json_t **ret)
{
	return vm_exec_class(b, v, what, cmd, args, dl, ret, NULL);
}

static uint64_t
juint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > 0)
		return (uint64_t)json_real_value(v);
	return 0;
}

static const char *
jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/*
 * Typed reads of reply fields. A reply is untrusted: a field of the wrong type is an
 * error naming the command and the field, never read as 0 or "". The first problem of
 * an operation is kept in struct fields and the operation fails with it (-EPROTO).
 */
struct fields {
	const char *cmd;           /* the command whose reply is read */
	char msg[256];             /* the first problem, "" = none */
};

static void
field_bad(struct fields *f, const char *key, const char *want, json_t *v)
{
	char *got, *p;

	if (f->msg[0])
		return;
	got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	p = vmp_str_printable(got ? got : "nothing");
	snprintf(f->msg, sizeof(f->msg), "reply to '%s': field '%s' is %s, not %s", f->cmd,
		 key, v ? p : "missing", want);
	free(p);
	free(got);
}

/*
 * A non-negative integer that fits 64 bits. QEMU prints some as 2^64-1 (decoded as a
 * double, see qmp-client.c), so an integral double in range is accepted too.
 * Missing: *ret = def, and an error only when required.
 */
static uint64_t
fu64(struct fields *f, json_t *obj, const char *key, bool required, uint64_t def)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	double d;

	if (!v) {
		if (required)
			field_bad(f, key, "a non-negative integer", NULL);
		return def;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (uint64_t)json_integer_value(v);
	d = json_is_real(v) ? json_real_value(v) : -1;
	if (d >= 0 && d < 18446744073709551616.0 && d == (double)(uint64_t)d)
		return (uint64_t)d;
	field_bad(f, key, "a non-negative integer", v);
	return def;
}

/* A string; missing or mistyped: "" (and an error when required or mistyped). */
static const char *
fstr(struct fields *f, json_t *obj, const char *key, bool required)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (json_is_string(v))
		return json_string_value(v);
	if (v || required)
		field_bad(f, key, "a string", v);
	return "";
}

/* A boolean (checked when present). */
static bool
fbool(struct fields *f, json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (v && !json_is_boolean(v))
		field_bad(f, key, "a boolean", v);
	return json_is_true(v);
}

/* An object or array reply (what is the JSON type wanted). */
static bool
ftype(struct fields *f, json_t *v, json_type type)
{
	if (v && json_typeof(v) == type)
		return true;
	if (!f->msg[0])
		snprintf(f->msg, sizeof(f->msg), "reply to '%s' is not %s", f->cmd,
			 type == JSON_ARRAY ? "an array" : "an object");
	return false;
}

/* Fails the operation with the first field problem; returns -EPROTO. */
static int
fields_fail(struct vmp_backend *b, const char *what, const char *vm, const struct fields *f)
{
	return vmp_backend_fail(b, EPROTO, "cannot %s of vm '%s': %s", what, vm, f->msg);
}

/* ---- host facts from this machine's /proc and /sys ---- */

static uint64_t
meminfo_kib(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	uint64_t v = 0;

	if (p)
		sscanf(p + strlen(key), " %" SCNu64, &v);
	return v;
}

static int
qmp_host_info(struct vmp_backend *b, struct vmp_host_info *ret)
{
	struct vmp_host_info h = { 0 };
	struct qmp_vm *v;
	char *buf = NULL;
	DIR *d;
	struct dirent *e;
	int r;

	if (gethostname(h.hostname, sizeof(h.hostname) - 1) < 0)
		snprintf(h.hostname, sizeof(h.hostname), "localhost");
	h.cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	r = vmp_read_file(NULL, "/proc/meminfo", &buf, NULL);
	if (r < 0)
		return vmp_backend_fail(b, r, "cannot get host info: '/proc/meminfo': %s",
					strerror(-r));
	h.memory_kib = meminfo_kib(buf, "MemTotal:");
	free(buf);
	d = opendir("/sys/devices/system/node");
	if (d) {
		while ((e = readdir(d)))
			if (vmp_str_starts_with(e->d_name, "node") && e->d_name[4] >= '0' &&
			    e->d_name[4] <= '9')
				h.numa_nodes++;
		closedir(d);
	}
	if (!h.numa_nodes)
		h.numa_nodes = 1;
	snprintf(h.hypervisor, sizeof(h.hypervisor), "QEMU");
	for (v = priv(b)->vms; v; v = v->next) {
		if (v->q && vmp_qmp_version(v->q)[0]) {
			snprintf(h.hypervisor, sizeof(h.hypervisor), "QEMU %s", vmp_qmp_version(v->q));
			break;
		}
	}
	*ret = h;
	return 0;
}

static void
read_psi(const char *path, double *some, double *full, bool *ok)
{
	char *buf = NULL, *p;

	if (vmp_read_file(NULL, path, &buf, NULL) < 0)
		return;
	p = strstr(buf, "some avg10=");
	if (p && some)
		*some = strtod(p + 11, NULL);
	p = strstr(buf, "full avg10=");
	if (p && full)
		*full = strtod(p + 11, NULL);
	*ok = true;
	free(buf);
}

static int
qmp_host_stats(struct vmp_backend *b, struct vmp_host_stats *ret)
{
	struct vmp_host_stats s = { 0 };
	unsigned long long t[10] = { 0 }, total = 0;
	long tick = sysconf(_SC_CLK_TCK);
	struct timespec ts;
	char *buf = NULL;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s.sample_time_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	r = vmp_read_file(NULL, "/proc/stat", &buf, NULL);
	if (r < 0)
		return vmp_backend_fail(b, r, "cannot get host stats: '/proc/stat': %s", strerror(-r));
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3],
		   &t[4], &t[5], &t[6], &t[7]) < 4) {
		free(buf);
		return vmp_backend_fail(b, EINVAL, "cannot get host stats: '/proc/stat': no cpu line");
	}
	free(buf);
	for (int i = 0; i < 8; i++)
		total += t[i];
	if (tick <= 0)
		tick = 100;
	s.cpu_total_ns = total * (1000000000ull / (unsigned long long)tick);
	s.cpu_busy_ns = (total - t[3] - t[4]) * (1000000000ull / (unsigned long long)tick);
	r = vmp_read_file(NULL, "/proc/meminfo", &buf, NULL);
	if (r < 0)
		return vmp_backend_fail(b, r, "cannot get host stats: '/proc/meminfo': %s",
					strerror(-r));
	s.mem_total_kib = meminfo_kib(buf, "MemTotal:");
	s.mem_free_kib = meminfo_kib(buf, "MemFree:");
	s.mem_available_kib = meminfo_kib(buf, "MemAvailable:");
	s.swap_total_kib = meminfo_kib(buf, "SwapTotal:");
	s.swap_free_kib = meminfo_kib(buf, "SwapFree:");
	free(buf);
	read_psi("/proc/pressure/memory", &s.psi_mem_some_avg10, &s.psi_mem_full_avg10, &s.has_psi);
	read_psi("/proc/pressure/cpu", &s.psi_cpu_some_avg10, NULL, &s.has_psi);
	*ret = s;
	return 0;
}

/* ---- VMs ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum vmp_vm_state
state_from_status(const char *st)
{
	static const struct {
		const char *status;
		enum vmp_vm_state state;
	} map[] = {
		{ "running", VMP_VM_RUNNING },
		{ "paused", VMP_VM_PAUSED },
		{ "postmigrate", VMP_VM_PAUSED },
		{ "prelaunch", VMP_VM_PAUSED },
		{ "suspended", VMP_VM_PAUSED },
		{ "debug", VMP_VM_PAUSED },
		{ "io-error", VMP_VM_PAUSED },
		{ "watchdog", VMP_VM_PAUSED },
		{ "save-vm", VMP_VM_PAUSED },
		{ "restore-vm", VMP_VM_PAUSED },
		{ "colo", VMP_VM_RUNNING },
		{ "inmigrate", VMP_VM_MIGRATING },
		{ "finish-migrate", VMP_VM_MIGRATING },
		{ "shutdown", VMP_VM_SHUTOFF },
		{ "internal-error", VMP_VM_CRASHED },
		{ "guest-panicked", VMP_VM_CRASHED },
	};

	for (size_t i = 0; i < VMP_ARRAY_SIZE(map); i++)
		if (!strcmp(st, map[i].status))
			return map[i].state;
	return VMP_VM_UNKNOWN;
}

/* Finds the balloon's QOM path (libvirt and our harness call it balloon0; search otherwise). */
static int
find_balloon(struct vmp_backend *b, struct qmp_vm *v, const char *what, int64_t dl)
{
	json_t *list = NULL, *e;
	size_t i;
	int r;

	if (v->balloon_path)
		return 0;
	r = vm_exec(b, v, what, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), dl,
		    &list);
	if (r < 0)
		return r;
	json_array_foreach(list, i, e) {
		if (strstr(jstr(e, "type"), "balloon") && vmp_str_starts_with(jstr(e, "type"), "child<")) {
			v->balloon_path = xasprintf("/machine/peripheral/%s", jstr(e, "name"));
			break;
		}
	}
	json_decref(list);
	if (!v->balloon_path)
		return vmp_backend_fail(b, ENODEV, "cannot %s of vm '%s': no balloon device with an id",
					what, v->name);
	return 0;
}

static int
get_stats_period(struct vmp_backend *b, struct qmp_vm *v, const char *what, int64_t dl,
		 int *ret_period)
{
	json_t *val = NULL;
	int r = find_balloon(b, v, what, dl);

	if (r < 0)
		return r;
	r = vm_exec(b, v, what, "qom-get", json_pack("{s:s, s:s}", "path", v->balloon_path,
						     "property", "guest-stats-polling-interval"),
		    dl, &val);
	if (r < 0)
		return r;
	*ret_period = json_is_integer(val) ? (int)json_integer_value(val) : -1;
	json_decref(val);
	return 0;
}

static int
vm_info(struct vmp_backend *b, const char *name, struct vmp_vm_info *ret)
{
	const char *what = "read the state";
	int64_t dl = deadline(b);
	struct fields f = { 0 };
	struct qmp_vm *v;
	json_t *val = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	ret->stats_period_s = -1;
	r = vm_get(b, name, what, dl, &v);
	if (r < 0) {
		ret->state = r == -ENOENT ? VMP_VM_SHUTOFF : r == -ECONNREFUSED ? VMP_VM_CRASHED
										  : VMP_VM_UNKNOWN;
		return r;
	}
	r = vm_exec(b, v, what, "query-status", NULL, dl, &val);
	if (r < 0)
		return r;
	f.cmd = "query-status";
	ret->state = state_from_status(fstr(&f, val, "status", true));
	fbool(&f, val, "running");
	json_decref(val);
	if (f.msg[0])
		goto bad;
	if (vm_exec(b, v, what, "query-uuid", NULL, dl, &val) == 0) {
		f.cmd = "query-uuid";
		snprintf(ret->uuid, sizeof(ret->uuid), "%s", fstr(&f, val, "UUID", true));
		json_decref(val);
	}
	r = vm_exec(b, v, what, "query-hotpluggable-cpus", NULL, dl, &val);
	if (r == 0) {
		size_t i;
		json_t *e;

		f.cmd = "query-hotpluggable-cpus";
		if (ftype(&f, val, JSON_ARRAY))
			json_array_foreach(val, i, e) {
				unsigned n = (unsigned)fu64(&f, e, "vcpus-count", false, 1);

				ret->vcpus_max += n;
				if (*fstr(&f, e, "qom-path", false))
					ret->vcpus_current += n;
			}
		json_decref(val);
	} else if (vm_exec(b, v, what, "query-cpus-fast", NULL, dl, &val) == 0) {
		/* Machines without CPU hotplug. */
		f.cmd = "query-cpus-fast";
		if (ftype(&f, val, JSON_ARRAY))
			ret->vcpus_current = ret->vcpus_max = (unsigned)json_array_size(val);
		json_decref(val);
	} else {
		/* Vanished (or broke) half-way: what we have is not this VM's state. */
		ret->state = VMP_VM_UNKNOWN;
		return r;
	}
	if (vm_exec(b, v, what, "query-memory-size-summary", NULL, dl, &val) == 0) {
		f.cmd = "query-memory-size-summary";
		ret->memory_max_kib = (fu64(&f, val, "base-memory", true, 0) +
				       fu64(&f, val, "plugged-memory", false, 0)) / 1024;
		json_decref(val);
	}
	ret->memory_current_kib = ret->memory_max_kib;
	if (vm_exec(b, v, what, "query-balloon", NULL, dl, &val) == 0) {
		f.cmd = "query-balloon";
		ret->has_balloon = true;
		ret->memory_current_kib = fu64(&f, val, "actual", true, 0) / 1024;
		json_decref(val);
		if (get_stats_period(b, v, what, dl, &ret->stats_period_s) < 0)
			ret->stats_period_s = -1;
	}
	if (f.msg[0])
		goto bad;
	vmp_backend_fail(b, 0, "%s", "");
	return 0;
bad:
	/* Replies this backend cannot read: the VM's state is not known. */
	ret->state = VMP_VM_UNKNOWN;
	return fields_fail(b, what, name, &f);
}

static int
qmp_list_vms(struct vmp_backend *b, struct vmp_vm_info **ret_vms)
{
	struct qmp_priv *p = priv(b);
	char **names = NULL, *first_err = NULL;
	size_t n = 0, alloc = 0;
	struct vmp_vm_info *vms;
	struct dirent *e;
	DIR *d;

	d = opendir(p->dir);
	if (!d) {
		int e2 = errno;

		return vmp_backend_fail(b, e2, "cannot list vms: directory '%s': %s", p->dir,
					strerror(e2));
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char *path;

		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") || e->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", p->dir, e->d_name);
		/* lstat: a symlink to a socket elsewhere is not a VM of this directory. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			xgrow((void **)&names, &alloc, n + 1, sizeof(*names));
			names[n++] = xstrndup(e->d_name, len - 5);
		}
		free(path);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	vms = xcalloc(n ? n : 1, sizeof(*vms));
	for (size_t i = 0; i < n; i++) {
		/*
		 * A VM that does not answer is listed with state unknown/shutoff, not fatal;
		 * the first such error stays readable with vmp_backend_error().
		 */
		if (vm_info(b, names[i], &vms[i]) < 0 && !first_err)
			first_err = xstrdup(vmp_backend_error(b));
		free(names[i]);
	}
	free(names);
	vmp_backend_fail(b, 0, "%s", first_err ? first_err : "");
	free(first_err);
	*ret_vms = vms;
	return (int)n;
}

/* Reads /proc/PID/task/TID/schedstat: time on CPU and time runnable-but-waiting (ns). */
static int
thread_schedstat(int pid, long tid, uint64_t *ret_run_ns, uint64_t *ret_wait_ns)
{
	char path[96], *line = NULL;
	unsigned long long run, wait;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task/%ld/schedstat", pid, tid);
	r = vmp_read_line(NULL, path, &line);
	if (r < 0)
		return r;
	r = sscanf(line, "%llu %llu", &run, &wait) == 2 ? 0 : -EINVAL;
	free(line);
	if (r == 0) {
		*ret_run_ns = run;
		*ret_wait_ns = wait;
	}
	return r;
}

static void
balloon_guest_stats(json_t *st, struct vmp_vm_stats *s)
{
	static const struct {
		const char *key;
		uint32_t bit;
		size_t off;
		bool bytes;
	} map[] = {
		{ "stat-free-memory", VMP_STAT_MEM_UNUSED, offsetof(struct vmp_vm_stats, mem_unused_kib), true },
		{ "stat-total-memory", VMP_STAT_MEM_AVAILABLE, offsetof(struct vmp_vm_stats, mem_available_kib), true },
		{ "stat-available-memory", VMP_STAT_MEM_USABLE, offsetof(struct vmp_vm_stats, mem_usable_kib), true },
		{ "stat-disk-caches", VMP_STAT_MEM_DISK_CACHES, offsetof(struct vmp_vm_stats, mem_disk_caches_kib), true },
		{ "stat-swap-in", VMP_STAT_SWAP, offsetof(struct vmp_vm_stats, swap_in_kib), true },
		{ "stat-swap-out", VMP_STAT_SWAP, offsetof(struct vmp_vm_stats, swap_out_kib), true },
		{ "stat-major-faults", VMP_STAT_FAULTS, offsetof(struct vmp_vm_stats, major_faults), false },
		{ "stat-minor-faults", VMP_STAT_FAULTS, offsetof(struct vmp_vm_stats, minor_faults), false },
	};

	for (size_t i = 0; i < VMP_ARRAY_SIZE(map); i++) {
		json_t *v = json_object_get(st, map[i].key);

		uint64_t val;

		/* A statistic the guest did not send is -1, printed by QEMU as 2^64-1 (a double
		 * after decoding, see qmp-client.c): anything not below 2^53 is "not sent". */
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			val = (uint64_t)json_integer_value(v);
		else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9007199254740992.0)
			val = (uint64_t)json_real_value(v);
		else
			continue;
		*(uint64_t *)((char *)s + map[i].off) = val / (map[i].bytes ? 1024 : 1);
		s->valid |= map[i].bit;
	}
}

static int
qmp_vm_stats(struct vmp_backend *b, const char *vm, struct vmp_vm_stats *ret)
{
	const char *what = "get stats";
	int64_t dl = deadline(b);
	struct fields f = { 0 };
	struct vmp_vm_stats *s;
	struct qmp_vm *v;
	json_t *val = NULL, *e;
	struct timespec ts;
	size_t i;
	int r, pid;

	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	s = xcalloc(1, sizeof(*s));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->sample_time_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	r = vm_exec(b, v, what, "query-cpus-fast", NULL, dl, &val);
	if (r < 0)
		goto out;
	f.cmd = "query-cpus-fast";
	pid = vmp_qmp_peer_pid(v->q);
	if (pid > 0 && ftype(&f, val, JSON_ARRAY)) {
		bool ok = true;

		json_array_foreach(val, i, e) {
			uint64_t run = 0, wait = 0;
			uint64_t tid = fu64(&f, e, "thread-id", true, 0);

			if (i >= VMP_VCPU_MAX || f.msg[0])
				break;
			if (thread_schedstat(pid, (long)tid, &run, &wait) < 0) {
				ok = false;
				break;
			}
			s->vcpu_time_ns[i] = run;
			s->cpu_time_ns += run;
			s->vcpu_delay_ns += wait;
			s->nvcpus = (unsigned)i + 1;
		}
		if (ok && s->nvcpus)
			s->valid |= VMP_STAT_VCPU_TIME | VMP_STAT_CPU_TIME | VMP_STAT_VCPU_DELAY;
	}
	json_decref(val);
	val = NULL;
	/* Whole-process CPU time (vCPUs plus emulation threads) when readable. */
	if (pid > 0) {
		char path[64], *buf = NULL, *p;
		unsigned long long ut, st;
		long tick = sysconf(_SC_CLK_TCK);

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (vmp_read_file(NULL, path, &buf, NULL) == 0 && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			   &st) == 2 && tick > 0) {
			s->cpu_time_ns = (ut + st) * (1000000000ull / (unsigned long long)tick);
			s->valid |= VMP_STAT_CPU_TIME;
		}
		free(buf);
	}
	if (vm_exec(b, v, what, "query-balloon", NULL, dl, &val) == 0) {
		f.cmd = "query-balloon";
		s->balloon_actual_kib = fu64(&f, val, "actual", true, 0) / 1024;
		s->valid |= VMP_STAT_BALLOON_ACTUAL;
		json_decref(val);
		val = NULL;
		if (f.msg[0]) {
			r = fields_fail(b, what, vm, &f);
			goto out;
		}
		/*
		 * A read never changes the VM: with polling off (period 0) the guest's
		 * stats are stale or absent, and the loop switches polling on, journaled,
		 * through set_stats_period (balloon_stats_period_ms).
		 */
		r = find_balloon(b, v, what, dl);
		if (r == 0 && vm_exec(b, v, what, "qom-get",
				      json_pack("{s:s, s:s}", "path", v->balloon_path,
						"property", "guest-stats"), dl, &val) == 0) {
			f.cmd = "qom-get guest-stats";
			if (fu64(&f, val, "last-update", false, 0) > 0)
				balloon_guest_stats(json_object_get(val, "stats"), s);
			json_decref(val);
			val = NULL;
		}
		if (!v->q) {
			r = -ECONNRESET;
			goto out;
		}
	}
	if (vm_exec(b, v, what, "query-blockstats", NULL, dl, &val) == 0) {
		f.cmd = "query-blockstats";
		if (ftype(&f, val, JSON_ARRAY))
			json_array_foreach(val, i, e) {
				json_t *bs = json_object_get(e, "stats");

				s->block_rd_bytes += fu64(&f, bs, "rd_bytes", false, 0);
				s->block_wr_bytes += fu64(&f, bs, "wr_bytes", false, 0);
				s->block_rd_ops += fu64(&f, bs, "rd_operations", false, 0);
				s->block_wr_ops += fu64(&f, bs, "wr_operations", false, 0);
				s->block_rd_time_ns += fu64(&f, bs, "rd_total_time_ns", false, 0);
				s->block_wr_time_ns += fu64(&f, bs, "wr_total_time_ns", false, 0);
			}
		s->valid |= VMP_STAT_BLOCK;
		json_decref(val);
		val = NULL;
	} else if (!v->q) {
		r = -ECONNRESET;
		goto out;
	}
	if (f.msg[0]) {
		r = fields_fail(b, what, vm, &f);
		goto out;
	}
	vmp_backend_fail(b, 0, "%s", "");
	*ret = *s;
	r = 0;
out:
	free(s);
	return r;
}

static int
qmp_set_balloon(struct vmp_backend *b, const char *vm, uint64_t target_kib)
{
	int64_t dl = deadline(b);
	struct qmp_vm *v;
	char *cls = NULL, *err = NULL;
	int r;

	if (target_kib == 0 || target_kib > UINT64_MAX / 2048)
		return vmp_backend_fail(b, EINVAL, "cannot balloon vm '%s' to %" PRIu64 " KiB: "
					"invalid target", vm, target_kib);
	r = vm_get(b, vm, "set balloon", dl, &v);
	if (r < 0)
		return r;
	r = vmp_qmp_execute_class(v->q, "balloon",
				  json_pack("{s:I}", "value", (json_int_t)(target_kib * 1024)),
				  dl, NULL, &cls, &err);
	if (r < 0) {
		if (cls && !strcmp(cls, "DeviceNotActive"))
			r = -ENODEV;
		vmp_backend_fail(b, r, "cannot balloon vm '%s' to %" PRIu64 " KiB: %s", vm,
				 target_kib, err);
		if (!vmp_qmp_connected(v->q))
			vm_reset(v);
	}
	free(cls);
	free(err);
	return r;
}

static int
qmp_set_stats_period(struct vmp_backend *b, const char *vm, unsigned period_s)
{
	const char *what = "set the stats period";
	int64_t dl = deadline(b);
	struct qmp_vm *v;
	int r;

	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	r = find_balloon(b, v, what, dl);
	if (r == 0)
		r = vm_exec(b, v, what, "qom-set",
			    json_pack("{s:s, s:s, s:i}", "path", v->balloon_path,
				      "property", "guest-stats-polling-interval", "value", (int)period_s),
			    dl, NULL);
	return r;
}

/* ---- disk limits ---- */

/*
 * block_set_io_throttle on the device whose qdev id is disk: first that id; then, for a
 * virtio-blk-pci proxy, the virtio device inside it that holds the block backend
 * (/machine/peripheral/ID/virtio-backend, what libvirt uses); then disk as a block
 * backend name (the -drive id). The totals stay 0: reads and writes apart.
 */
static int
qmp_set_block_iotune(struct vmp_backend *b, const char *vm, const char *disk,
		     const struct vmp_block_iotune *t)
{
	const char *what = "set disk limits";
	int64_t dl = deadline(b);
	struct qmp_vm *v;
	char *cls = NULL, *inner;
	int r, k;

	if (t->read_bytes_sec > INT64_MAX || t->write_bytes_sec > INT64_MAX ||
	    t->read_iops_sec > INT64_MAX || t->write_iops_sec > INT64_MAX)
		return vmp_backend_fail(b, EINVAL, "cannot set disk limits of vm '%s' disk '%s': "
					"a limit is out of range", vm, disk);
	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	inner = xasprintf("/machine/peripheral/%s/virtio-backend", disk);
	for (k = 0; k < 3; k++) {
		free(cls);
		cls = NULL;
		r = vm_exec_class(b, v, what, "block_set_io_throttle",
				  json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
					    k == 2 ? "device" : "id", k == 1 ? inner : disk,
					    "bps", (json_int_t)0,
					    "bps_rd", (json_int_t)t->read_bytes_sec,
					    "bps_wr", (json_int_t)t->write_bytes_sec,
					    "iops", (json_int_t)0,
					    "iops_rd", (json_int_t)t->read_iops_sec,
					    "iops_wr", (json_int_t)t->write_iops_sec),
				  dl, NULL, &cls);
		if (r == 0 || !v->q || !cls || (strcmp(cls, "DeviceNotFound") &&
						strcmp(cls, "GenericError")))
			break;
	}
	free(cls);
	free(inner);
	return r;
}

/* ---- vCPUs ---- */

struct cpu_slot {
	json_t *entry;         /* borrowed from the query-hotpluggable-cpus reply */
	int64_t key[4];        /* socket, die, core, thread: the plug order */
};

static int
cmp_slot(const void *a, const void *b)
{
	const struct cpu_slot *x = a, *y = b;

	for (int i = 0; i < 4; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	return 0;
}

static void
slot_key(json_t *entry, int64_t key[4])
{
	static const char *const ids[4] = { "socket-id", "die-id", "core-id", "thread-id" };
	json_t *props = json_object_get(entry, "props");

	for (int i = 0; i < 4; i++) {
		json_t *v = json_object_get(props, ids[i]);

		key[i] = json_is_integer(v) ? json_integer_value(v) : 0;
	}
}

/*
 * The outcome of a vCPU unplug request: the slot is free again once the guest ejected
 * the CPU (QEMU 7.2 names only the CPU's lapic child in DEVICE_DELETED, so the slots are
 * re-read); an ACPI _OST eject status 0x80-0x83 is the guest refusing.
 */
static int
wait_unplugged(struct vmp_backend *b, struct qmp_vm *v, unsigned count, char **ids,
	       unsigned nids, int64_t dl)
{
	const char *what = "set vcpus";

	for (;;) {
		int64_t step = vmp_monotonic_ms() + 200;
		json_t *ev = NULL, *list = NULL, *e;
		unsigned left = 0;
		char *err = NULL;
		size_t i;
		int r;

		r = vmp_qmp_wait_event(v->q, NULL, step < dl ? step : dl, &ev, &err);
		if (r < 0) {
			vmp_backend_fail(b, r, "cannot set vcpus of vm '%s' to %u: %s", v->name, count,
					 err);
			free(err);
			vm_reset(v);
			return r;
		}
		if (r == 1) {
			json_t *info = json_object_get(json_object_get(ev, "data"), "info");
			json_int_t status = json_integer_value(json_object_get(info, "status"));

			if (!strcmp(jstr(ev, "event"), "ACPI_DEVICE_OST") &&
			    json_integer_value(json_object_get(info, "source")) == 3 &&
			    status >= 0x80 && status <= 0x83) {
				r = vmp_backend_fail(b, EBUSY, "cannot set vcpus of vm '%s' to %u: the "
						     "guest refused to eject vcpu '%s' (ACPI status "
						     "0x%x)", v->name, count, jstr(info, "device"),
						     (unsigned)status);
				json_decref(ev);
				return r;
			}
			json_decref(ev);
			continue;   /* drain the events, then look at the slots */
		}
		r = vm_exec(b, v, what, "query-hotpluggable-cpus", NULL, dl, &list);
		if (r < 0)
			return r;
		json_array_foreach(list, i, e) {
			const char *path = jstr(e, "qom-path");

			for (unsigned k = 0; k < nids; k++)
				if (vmp_str_starts_with(path, "/machine/peripheral/") &&
				    !strcmp(path + strlen("/machine/peripheral/"), ids[k]))
					left++;
		}
		json_decref(list);
		if (!left)
			return 0;
		if (vmp_monotonic_ms() >= dl)
			return vmp_backend_fail(b, ETIMEDOUT, "cannot set vcpus of vm '%s' to %u: "
						"unplug of %u vcpu(s) requested, but the guest did not "
						"release %u within %u ms", v->name, count, nids, left,
						vmp_backend_timeout_ms(b));
	}
}

/*
 * Hot-adds vCPUs into the lowest free slots (a CPU plugged at a higher core id first got
 * no IPIs under TCG), or requests hot-unplug of the highest hot-added ones and waits
 * for QEMU's DEVICE_DELETED (the guest must release the CPU) until the timeout.
 */
static int
qmp_set_vcpus(struct vmp_backend *b, const char *vm, unsigned count)
{
	const char *what = "set vcpus";
	int64_t dl = deadline(b);
	struct cpu_slot *slots = NULL;
	struct qmp_vm *v;
	json_t *list = NULL, *e;
	size_t i, n;
	unsigned plugged = 0;
	int r;

	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	r = vm_exec(b, v, what, "query-hotpluggable-cpus", NULL, dl, &list);
	if (r < 0)
		return r;
	n = json_array_size(list);
	slots = xcalloc(n ? n : 1, sizeof(*slots));
	json_array_foreach(list, i, e) {
		slots[i].entry = e;
		slot_key(e, slots[i].key);
		if (json_object_get(e, "qom-path"))
			plugged++;
	}
	qsort(slots, n, sizeof(*slots), cmp_slot);
	if (count == 0 || count > n) {
		r = vmp_backend_fail(b, ERANGE, "cannot set vcpus of vm '%s' to %u: it can have 1 to "
				     "%zu", vm, count, n);
		goto out;
	}
	if (count > plugged) {
		unsigned want = count - plugged;

		for (i = 0; i < n && want; i++) {
			json_t *props = json_object_get(slots[i].entry, "props"), *args;
			char id[64];

			if (json_object_get(slots[i].entry, "qom-path"))
				continue;
			snprintf(id, sizeof(id), "vmp-vcpu-%" PRId64 "-%" PRId64 "-%" PRId64 "-%" PRId64,
				 slots[i].key[0], slots[i].key[1], slots[i].key[2], slots[i].key[3]);
			args = json_deep_copy(props);
			json_object_set_new(args, "driver", json_string(jstr(slots[i].entry, "type")));
			json_object_set_new(args, "id", json_string(id));
			r = vm_exec(b, v, what, "device_add", args, dl, NULL);
			if (r < 0)
				goto out;
			want--;
		}
	} else if (count < plugged) {
		unsigned want = plugged - count;
		char *ids[VMP_VCPU_MAX];
		unsigned nids = 0;

		/* Only CPUs added as devices (with an id) can be removed; newest first. */
		for (i = n; i-- > 0 && nids < want;) {
			const char *path = jstr(slots[i].entry, "qom-path");

			if (vmp_str_starts_with(path, "/machine/peripheral/") && nids < VMP_VCPU_MAX)
				ids[nids++] = xstrdup(path + strlen("/machine/peripheral/"));
		}
		if (nids < want) {
			r = vmp_backend_fail(b, EBUSY, "cannot set vcpus of vm '%s' to %u: only %u of "
					     "its %u vcpus were hot-added and can be unplugged", vm,
					     count, nids, plugged);
		} else {
			for (i = 0; i < nids && r >= 0; i++)
				r = vm_exec(b, v, what, "device_del",
					    json_pack("{s:s}", "id", ids[i]), dl, NULL);
			if (r >= 0)
				r = wait_unplugged(b, v, count, ids, nids, dl);
		}
		for (i = 0; i < nids; i++)
			free(ids[i]);
	}
out:
	free(slots);
	json_decref(list);
	return r < 0 ? r : 0;
}

/* Parses a kernel cpulist ("0-3,8") into set. */
static int
parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), c;

		if (end == s)
			return -EINVAL;
		c = a;
		if (*end == '-') {
			s = end + 1;
			c = strtoul(s, &end, 10);
			if (end == s || c < a)
				return -EINVAL;
		}
		if (c >= CPU_SETSIZE)
			return -ERANGE;
		for (unsigned long k = a; k <= c; k++)
			CPU_SET(k, set);
		if (*end == ',')
			end++;
		else if (*end)
			return -EINVAL;
		s = end;
	}
	return 0;
}

/* Pins a vCPU thread of a local QEMU with sched_setaffinity (what libvirt does too). */
static int
qmp_pin_vcpu(struct vmp_backend *b, const char *vm, unsigned vcpu, const char *cpulist)
{
	const char *what = "pin vcpu";
	int64_t dl = deadline(b);
	struct qmp_vm *v;
	json_t *list = NULL, *e;
	cpu_set_t set;
	long tid = -1;
	size_t i;
	int r;

	r = parse_cpulist(cpulist, &set);
	if (r < 0)
		return vmp_backend_fail(b, r, "cannot pin vcpu %u of vm '%s' to '%s': invalid cpu list",
					vcpu, vm, cpulist);
	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	r = vm_exec(b, v, what, "query-cpus-fast", NULL, dl, &list);
	if (r < 0)
		return r;
	json_array_foreach(list, i, e)
		if (juint(e, "cpu-index") == vcpu && json_object_get(e, "thread-id"))
			tid = (long)juint(e, "thread-id");
	json_decref(list);
	if (tid <= 0)
		return vmp_backend_fail(b, ENOENT, "cannot pin vcpu %u of vm '%s': no such vcpu",
					vcpu, vm);
	if (sched_setaffinity((pid_t)tid, sizeof(set), &set) < 0) {
		r = -errno;
		return vmp_backend_fail(b, r, "cannot pin vcpu %u of vm '%s' to '%s': %s", vcpu, vm,
					cpulist, strerror(-r));
	}
	return 0;
}

/* ---- CPU quota: the QEMU process in a cgroup of its own ---- */

/*
 * Finds the mount point of the cgroup "cpu" controller: a cgroup v1 hierarchy with the
 * cpu option, else the cgroup v2 hierarchy if cpu is enabled below its root. Returns 1
 * (v1) or 2 (v2) and *ret_mount (caller frees), or -ENOTSUP.
 */
static int
cpu_cgroup_mount(char **ret_mount)
{
	char *buf = NULL, *line, *save = NULL, *v2 = NULL;
	int r = vmp_read_file(NULL, "/proc/self/mountinfo", &buf, NULL);

	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mnt[512], fstype[64], opts[512];
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup")) {
			char *tok, *osave = NULL;

			for (tok = strtok_r(opts, ",", &osave); tok; tok = strtok_r(NULL, ",", &osave)) {
				if (!strcmp(tok, "cpu")) {
					*ret_mount = xstrdup(mnt);
					free(buf);
					free(v2);
					return 1;
				}
			}
		} else if (!strcmp(fstype, "cgroup2") && !v2) {
			v2 = xstrdup(mnt);
		}
	}
	free(buf);
	if (v2) {
		char *path = xasprintf("%s/cgroup.subtree_control", v2), *ctl = NULL;

		r = vmp_read_file(NULL, path, &ctl, NULL);
		free(path);
		if (r == 0 && (vmp_str_starts_with(ctl, "cpu ") || strstr(ctl, " cpu ") ||
			       strstr(ctl, " cpu\n") || !strcmp(ctl, "cpu\n"))) {
			free(ctl);
			*ret_mount = v2;
			return 2;
		}
		free(ctl);
		free(v2);
	}
	return -ENOTSUP;
}

static int
write_cg(const char *dir, const char *file, const char *value, char **ret_path)
{
	char *path = xasprintf("%s/%s", dir, file);
	int fd = vmp_open_regular(path, O_WRONLY, 0);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int r = 0;

	if (fd >= 0 && !f)
		close(fd);
	if (!f)
		r = fd < 0 ? fd : -errno;
	else if (fputs(value, f) < 0)
		r = -errno;
	if (f && fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		*ret_path = path;
		return r;
	}
	free(path);
	return 0;
}

/*
 * Moves the VM's QEMU process into the cgroup MOUNT/vmpilot/NAME (created if needed) and
 * sets its CPU bandwidth (v1 cpu.cfs_period_us/cpu.cfs_quota_us/cpu.shares, v2
 * cpu.max/cpu.weight). The cgroup stays after QEMU exits; removing it is the caller's.
 */
static int
qmp_set_cpu_quota(struct vmp_backend *b, const char *vm, int64_t quota_us, uint64_t period_us,
		  uint64_t shares)
{
	const char *what = "set cpu quota";
	char *mount = NULL, *parent = NULL, *dir = NULL, *bad = NULL, val[64];
	struct qmp_vm *v;
	int r, version, pid;

	if (quota_us >= 0 && quota_us < 1000)
		return vmp_backend_fail(b, EINVAL, "cannot set cpu quota of vm '%s' to %" PRId64
					" us: below the kernel's 1000 us minimum", vm, quota_us);
	r = vm_get(b, vm, what, deadline(b), &v);
	if (r < 0)
		return r;
	pid = vmp_qmp_peer_pid(v->q);
	if (pid <= 0)
		return vmp_backend_fail(b, ESRCH, "cannot set cpu quota of vm '%s': QEMU's pid is "
					"unknown", vm);
	version = cpu_cgroup_mount(&mount);
	if (version < 0)
		return vmp_backend_fail(b, ENOTSUP, "cannot set cpu quota of vm '%s': no cgroup cpu "
					"controller on this host", vm);
	parent = xasprintf("%s/vmpilot", mount);
	dir = xasprintf("%s/%s", parent, vm);
	if ((mkdir(parent, 0755) < 0 && errno != EEXIST)) {
		r = -errno;
		bad = xstrdup(parent);
		goto out;
	}
	if (version == 2) {
		r = write_cg(parent, "cgroup.subtree_control", "+cpu", &bad);
		if (r < 0)
			goto out;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		bad = xstrdup(dir);
		goto out;
	}
	snprintf(val, sizeof(val), "%d", pid);
	r = write_cg(dir, "cgroup.procs", val, &bad);
	if (r < 0)
		goto out;
	if (version == 1) {
		if (period_us) {
			snprintf(val, sizeof(val), "%" PRIu64, period_us);
			r = write_cg(dir, "cpu.cfs_period_us", val, &bad);
			if (r < 0)
				goto out;
		}
		snprintf(val, sizeof(val), "%" PRId64, quota_us < 0 ? (int64_t)-1 : quota_us);
		r = write_cg(dir, "cpu.cfs_quota_us", val, &bad);
		if (r == 0 && shares) {
			snprintf(val, sizeof(val), "%" PRIu64, shares);
			r = write_cg(dir, "cpu.shares", val, &bad);
		}
	} else {
		if (quota_us < 0)
			snprintf(val, sizeof(val), "max %" PRIu64, period_us ? period_us : 100000);
		else
			snprintf(val, sizeof(val), "%" PRId64 " %" PRIu64, quota_us,
				 period_us ? period_us : 100000);
		r = write_cg(dir, "cpu.max", val, &bad);
		if (r == 0 && shares) {
			/* cgroup v1 shares 2..262144 onto v2 weight 1..10000 (as systemd does). */
			uint64_t w = 1 + ((shares < 2 ? 2 : shares) - 2) * 9999 / 262142;

			snprintf(val, sizeof(val), "%" PRIu64, w > 10000 ? 10000 : w);
			r = write_cg(dir, "cpu.weight", val, &bad);
		}
	}
out:
	if (r < 0)
		vmp_backend_fail(b, r, "cannot set cpu quota of vm '%s': '%s': %s", vm,
				 bad ? bad : dir, strerror(-r));
	free(bad);
	free(dir);
	free(parent);
	free(mount);
	return r;
}

/* ---- migration ---- */

/* "tcp://127.0.0.1:4444" (libvirt style) or "tcp:127.0.0.1:4444" (QEMU style) -> QEMU style. */
static char *
qemu_migrate_uri(const char *uri)
{
	const char *colon = strchr(uri, ':');

	if (colon && colon[1] == '/' && colon[2] == '/')
		return xasprintf("%.*s:%s", (int)(colon - uri), uri, colon + 3);
	return xstrdup(uri);
}

static json_t *
migrate_caps(const struct vmp_migrate_params *mp)
{
	return json_pack("{s:[{s:s,s:b},{s:s,s:b},{s:s,s:b}]}", "capabilities",
			 "capability", "auto-converge", "state", mp->auto_converge,
			 "capability", "postcopy-ram", "state", mp->postcopy,
			 "capability", "events", "state", 1);
}

#define QMP_TLS_ID "vmp-tls"

/*
 * The x509 credentials object QEMU uses for a TLS migration (endpoint "server" on the
 * destination, "client" on the source), made once per QEMU: an object left by an
 * earlier migration is reused. Returns 0, or -errno with *ret_err.
 */
static int
tls_object(struct vmp_qmp *q, const char *dir, const char *endpoint, int64_t dl,
	   char **ret_err)
{
	char *err = NULL;
	int r = vmp_qmp_execute(q, "object-add",
				json_pack("{s:s, s:s, s:s, s:s, s:b}", "qom-type", "tls-creds-x509",
					  "id", QMP_TLS_ID, "dir", dir, "endpoint", endpoint,
					  "verify-peer", 1), dl, NULL, &err);

	if (r == -EIO && (strstr(err, "duplicate") || strstr(err, "already exists"))) {
		free(err);
		return 0;
	}
	if (r < 0) {
		*ret_err = xasprintf("cannot make the TLS credentials from '%s': %s", dir, err);
		free(err);
	}
	return r;
}

/*
 * Prepares the destination QEMU (started with -incoming defer, or already listening):
 * the same capabilities (postcopy must be on at both ends), then migrate-incoming.
 */
static int
prepare_destination(struct vmp_backend *b, const char *vm,
		    const struct vmp_migrate_params *mp, const char *qemu_uri, int64_t dl)
{
	char *dir = uri_dir(mp->dest_uri), *path = NULL, *err = NULL;
	const char *dname = mp->dest_name ? mp->dest_name : vm;
	struct vmp_qmp *q = NULL;
	json_t *val = NULL;
	int r;

	if (!dir || !valid_vm_name(dname)) {
		free(dir);
		return vmp_backend_fail(b, EINVAL, "cannot migrate vm '%s' to '%s': the destination "
					"must be a qmp:///dir URI and a valid vm name", vm,
					mp->dest_uri);
	}
	path = xasprintf("%s/%s.sock", dir, dname);
	r = check_socket(b, path, dl, &q, &err);
	if (r < 0)
		goto out;
	r = vmp_qmp_execute(q, "query-status", NULL, dl, &val, &err);
	if (r < 0)
		goto out;
	if (strcmp(jstr(val, "status"), "inmigrate")) {
		err = xasprintf("destination vm '%s' is '%s', not waiting for an incoming migration "
				"(start it with -incoming defer)", dname, jstr(val, "status"));
		r = -EBUSY;
		goto out;
	}
	r = vmp_qmp_execute(q, "migrate-set-capabilities", migrate_caps(mp), dl, NULL, &err);
	if (r < 0)
		goto out;
	if (mp->tls) {
		/* The destination is the TLS server; it must know its credentials first. */
		r = tls_object(q, mp->tls_dir, "server", dl, &err);
		if (r == 0)
			r = vmp_qmp_execute(q, "migrate-set-parameters",
					    json_pack("{s:s}", "tls-creds", QMP_TLS_ID), dl, NULL, &err);
		if (r < 0)
			goto out;
	}
	r = vmp_qmp_execute(q, "migrate-incoming", json_pack("{s:s}", "uri", qemu_uri), dl, NULL,
			    &err);
	/* A destination started with -incoming tcp:... is listening already. */
	if (r == -EIO && strstr(err, "already")) {
		free(err);
		err = NULL;
		r = 0;
	}
out:
	if (r < 0)
		vmp_backend_fail(b, r, "cannot migrate vm '%s': destination '%s': %s", vm, path, err);
	json_decref(val);
	vmp_qmp_close(q);
	free(err);
	free(path);
	free(dir);
	return r;
}

/*
 * QEMU's migration states after which a new migration may start: "none" (never ran),
 * "completed", "failed", "cancelled". Every other state ("setup", "active",
 * "postcopy-*", "device", "pre-switchover", "wait-unplug", "colo" and "cancelling",
 * which migrate_cancel passes through) counts as running: QEMU refuses
 * migrate-set-capabilities and migrate with "There's a migration process in progress".
 */
static bool
migration_ended(const char *status)
{
	return !strcmp(status, "none") || !strcmp(status, "completed") ||
	       !strcmp(status, "failed") || !strcmp(status, "cancelled");
}

/* query-migrate's "status" (typed), copied into ret (size n). */
static int
migration_status(struct vmp_backend *b, struct qmp_vm *v, const char *what, int64_t dl,
		 char *ret, size_t n)
{
	struct fields f = { .cmd = "query-migrate" };
	json_t *val = NULL;
	const char *st;
	int r;

	r = vm_exec(b, v, what, "query-migrate", NULL, dl, &val);
	if (r < 0)
		return r;
	/* No migration ever: QEMU 7.2 answers {} (no status). */
	st = json_object_get(val, "status") ? fstr(&f, val, "status", true) : "none";
	snprintf(ret, n, "%s", st);
	json_decref(val);
	if (f.msg[0])
		return fields_fail(b, what, v->name, &f);
	return 0;
}

/*
 * Waits until the VM's migration has fully ended (migration_ended()), waking up on
 * MIGRATION events and asking query-migrate each time (the events only hint: the
 * reply is the truth), until dl. Returns 0, or -EBUSY ("still STATE") at dl.
 */
static int
wait_migration_ended(struct vmp_backend *b, struct qmp_vm *v, const char *what, int64_t dl)
{
	char st[64], *err = NULL;
	int r;

	for (;;) {
		json_t *ev = NULL;

		r = migration_status(b, v, what, dl, st, sizeof(st));
		if (r < 0)
			return r;
		if (migration_ended(st))
			return 0;
		if (vmp_monotonic_ms() >= dl)
			return vmp_backend_fail(b, EBUSY, "cannot %s of vm '%s': its last migration "
						"is still '%s'", what, v->name, st);
		/* An event, or at most 100 ms: whichever comes first. */
		r = vmp_qmp_wait_event(v->q, "MIGRATION", vmp_monotonic_ms() + 100 < dl ?
				       vmp_monotonic_ms() + 100 : dl, &ev, &err);
		json_decref(ev);
		if (r < 0) {
			vmp_backend_fail(b, r, "cannot %s of vm '%s': %s", what, v->name, err);
			free(err);
			if (!vmp_qmp_connected(v->q))
				vm_reset(v);
			return r;
		}
	}
}

static int
qmp_migrate_start(struct vmp_backend *b, const char *vm, const struct vmp_migrate_params *mp)
{
	const char *what = "migrate";
	int64_t dl = deadline(b);
	struct qmp_vm *v;
	char *uri;
	json_t *params;
	int r;

	if (!mp->migrate_uri)
		return vmp_backend_fail(b, EINVAL, "cannot migrate vm '%s': the qmp backend needs a "
					"migration data URI such as tcp://127.0.0.1:4444", vm);
	if (mp->tls && !mp->tls_dir)
		return vmp_backend_fail(b, EINVAL, "cannot migrate vm '%s' with TLS: the qmp backend "
					"needs the directory of its x509 files (migration_tls_dir)",
					vm);
	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	/* A migration still ending (e.g. "cancelling" after migrate_cancel) is waited for. */
	r = wait_migration_ended(b, v, what, dl);
	if (r < 0)
		return r;
	uri = qemu_migrate_uri(mp->migrate_uri);
	if (mp->dest_uri) {
		r = prepare_destination(b, vm, mp, uri, dl);
		if (r < 0)
			goto out;
	}
	r = vm_exec(b, v, what, "migrate-set-capabilities", migrate_caps(mp), dl, NULL);
	if (r < 0)
		goto out;
	params = json_pack("{s:I}", "max-bandwidth",
			   mp->bandwidth_mibps ? (json_int_t)(mp->bandwidth_mibps << 20)
					       : QMP_BANDWIDTH_UNLIMITED);
	if (mp->max_downtime_ms)
		json_object_set_new(params, "downtime-limit",
				    json_integer((json_int_t)mp->max_downtime_ms));
	if (mp->tls) {
		char *err = NULL;

		/* The source is the TLS client; "" turns TLS off again for a later one. */
		r = v->q ? tls_object(v->q, mp->tls_dir, "client", dl, &err) : -ENOTCONN;
		if (r < 0) {
			json_decref(params);
			vmp_backend_fail(b, r, "cannot migrate vm '%s': %s", vm,
					 err ? err : "the connection to QEMU broke");
			free(err);
			goto out;
		}
		json_object_set_new(params, "tls-creds", json_string(QMP_TLS_ID));
		if (mp->tls_hostname)
			json_object_set_new(params, "tls-hostname", json_string(mp->tls_hostname));
	} else {
		json_object_set_new(params, "tls-creds", json_string(""));
	}
	r = vm_exec(b, v, what, "migrate-set-parameters", params, dl, NULL);
	if (r < 0)
		goto out;
	r = vm_exec(b, v, what, "migrate", json_pack("{s:s}", "uri", uri), dl, NULL);
	if (r < 0)
		goto out;
	v->postcopy_wanted = mp->postcopy;
	v->postcopy_started = false;
out:
	free(uri);
	return r;
}

static int
qmp_migrate_poll(struct vmp_backend *b, const char *vm, struct vmp_migrate_progress *ret)
{
	const char *what = "poll migration";
	int64_t dl = deadline(b);
	struct vmp_migrate_progress p = { 0 };
	struct fields f = { .cmd = "query-migrate" };
	struct qmp_vm *v;
	json_t *val = NULL, *ram, *ev = NULL;
	const char *st;
	char *err = NULL;
	int r;

	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	r = vm_exec(b, v, what, "query-migrate", NULL, dl, &val);
	if (r < 0)
		return r;
	/* MIGRATION events only repeat what query-migrate says: drop them. */
	while (vmp_qmp_wait_event(v->q, "MIGRATION", 0, &ev, &err) == 1)
		json_decref(ev);
	free(err);
	st = fstr(&f, val, "status", false);
	ram = json_object_get(val, "ram");
	if (!*st || !strcmp(st, "none"))
		p.state = VMP_MIGRATE_NONE;
	else if (!strcmp(st, "completed") && !fu64(&f, val, "total-time", false, 0) && !fu64(&f, val, "downtime", false, 0))
		/* QEMU 7.2 sets "completed" a moment before it records total time and downtime:
		 * report the migration as still finishing until the final numbers are there. */
		p.state = VMP_MIGRATE_ACTIVE;
	else if (!strcmp(st, "completed"))
		p.state = VMP_MIGRATE_COMPLETED;
	else if (!strcmp(st, "failed") || !strcmp(st, "postcopy-paused"))
		/* postcopy-paused: the stream broke after the switch; QEMU could resume it with
		 * migrate-recover, which vmpilot does not do, so it is a failure to act on. */
		p.state = VMP_MIGRATE_FAILED;
	else if (!strcmp(st, "cancelled"))
		p.state = VMP_MIGRATE_CANCELLED;
	else
		/* setup, active, postcopy-*, device, ..., and "cancelling": QEMU has not
		 * finished with it, and refuses a new migration until it has. */
		p.state = VMP_MIGRATE_ACTIVE;
	p.total_time_ms = fu64(&f, val, "total-time", false, 0);
	p.downtime_ms = fu64(&f, val, p.state == VMP_MIGRATE_COMPLETED ? "downtime" : "expected-downtime",
			     false, 0);
	p.transferred_bytes = fu64(&f, ram, "transferred", false, 0);
	p.remaining_bytes = fu64(&f, ram, "remaining", false, 0);
	p.dirty_rate_pages_s = fu64(&f, ram, "dirty-pages-rate", false, 0);
	if (f.msg[0]) {
		json_decref(val);
		return fields_fail(b, what, vm, &f);
	}
	if (p.state == VMP_MIGRATE_FAILED) {
		r = vmp_backend_fail(b, EIO, "migration of vm '%s' failed: %s", vm,
				     json_object_get(val, "error-desc") ? fstr(&f, val, "error-desc", false)
				     : !strcmp(st, "postcopy-paused") ?
				       "postcopy paused: the migration stream broke after the switch"
				     : "no reason given");
		json_decref(val);
		*ret = p;
		return 0;   /* the poll worked; the state says the migration failed */
	}
	/* Switch to postcopy after the first full pass over RAM. */
	if (v->postcopy_wanted && !v->postcopy_started && !strcmp(st, "active") &&
	    fu64(&f, ram, "dirty-sync-count", false, 0) >= 2) {
		r = vm_exec(b, v, what, "migrate-start-postcopy", NULL, dl, NULL);
		if (r < 0) {
			json_decref(val);
			return r;
		}
		v->postcopy_started = true;
	}
	json_decref(val);
	*ret = p;
	return 0;
}

static int
qmp_migrate_cancel(struct vmp_backend *b, const char *vm)
{
	int64_t dl = deadline(b);
	struct qmp_vm *v;
	int r;

	r = vm_get(b, vm, "cancel migration", dl, &v);
	if (r < 0)
		return r;
	r = vm_exec(b, v, "cancel migration", "migrate_cancel", NULL, dl, NULL);
	if (r < 0)
		return r;
	/* Done when QEMU says it is: "cancelling" -> "cancelled" (or it completed first). */
	return wait_migration_ended(b, v, "cancel migration", dl);
}

/* ---- dirty page rate ---- */

static int
qmp_dirty_rate(struct vmp_backend *b, const char *vm, unsigned calc_ms, uint64_t *ret_mib_per_s)
{
	const char *what = "measure dirty rate";
	unsigned calc_s = calc_ms ? (calc_ms + 999) / 1000 : 1;
	int64_t dl = vmp_monotonic_ms() + (int64_t)calc_s * 1000 + vmp_backend_timeout_ms(b);
	struct qmp_vm *v;
	json_t *val = NULL;
	json_int_t prev_start;
	int r;

	r = vm_get(b, vm, what, dl, &v);
	if (r < 0)
		return r;
	/* A result is ours only if its start-time differs from the previous result's. */
	r = vm_exec(b, v, what, "query-dirty-rate", NULL, dl, &val);
	if (r < 0)
		return r;
	if (!strcmp(jstr(val, "status"), "measuring")) {
		json_decref(val);
		return vmp_backend_fail(b, EBUSY, "cannot measure dirty rate of vm '%s': a "
					"measurement is already running", vm);
	}
	prev_start = json_integer_value(json_object_get(val, "start-time"));
	json_decref(val);
	val = NULL;
	r = vm_exec(b, v, what, "calc-dirty-rate", json_pack("{s:I}", "calc-time", (json_int_t)calc_s),
		    dl, NULL);
	if (r < 0)
		return r;
	for (;;) {
		struct timespec ts = { 0, 200 * 1000000L };
		const char *st;

		r = vm_exec(b, v, what, "query-dirty-rate", NULL, dl, &val);
		if (r < 0)
			return r;
		st = jstr(val, "status");
		if (!strcmp(st, "measured") &&
		    json_integer_value(json_object_get(val, "start-time")) != prev_start) {
			*ret_mib_per_s = juint(val, "dirty-rate");
			json_decref(val);
			return 0;
		}
		json_decref(val);
		val = NULL;
		if (vmp_monotonic_ms() >= dl)
			return vmp_backend_fail(b, ETIMEDOUT, "cannot measure dirty rate of vm '%s': "
						"no result within %u ms", vm,
						calc_s * 1000 + vmp_backend_timeout_ms(b));
		nanosleep(&ts, NULL);
	}
}

const struct vmp_backend_ops vmp_backend_qmp = {
	.name = "qmp",
	.accepts = qmp_accepts,
	.open = qmp_open,
	.close = qmp_close_backend,
	.host_info = qmp_host_info,
	.host_stats = qmp_host_stats,
	.list_vms = qmp_list_vms,
	.vm_stats = qmp_vm_stats,
	.set_balloon = qmp_set_balloon,
	.set_stats_period = qmp_set_stats_period,
	.set_vcpus = qmp_set_vcpus,
	.pin_vcpu = qmp_pin_vcpu,
	.set_cpu_quota = qmp_set_cpu_quota,
	.set_block_iotune = qmp_set_block_iotune,
	.migrate_start = qmp_migrate_start,
	.migrate_poll = qmp_migrate_poll,
	.migrate_cancel = qmp_migrate_cancel,
	.dirty_rate = qmp_dirty_rate,
};
