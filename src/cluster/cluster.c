/* SPDX-License-Identifier: MIT */
/*
 * The cluster protocol over etcd (cluster.h, doc/cluster.md "Protocol"): the pure
 * encoding and decoding of agents' summaries and intents first, then the election,
 * publication, snapshot and intent transactions over the etcd client.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster.h"
#include "util/util.h"

#define RECENT_MAX 10

static const char *const role_names[VMP_CLUSTER_ROLE_MAX] = {
	[VMP_CLUSTER_UNAVAILABLE] = "unavailable",
	[VMP_CLUSTER_FOLLOWER] = "follower",
	[VMP_CLUSTER_LEADER] = "leader",
};

const char *
vmp_cluster_role_name(enum vmp_cluster_role r)
{
	return (unsigned)r < VMP_CLUSTER_ROLE_MAX ? role_names[r] : "?";
}

static const char *const state_names[VMP_CLUSTER_INTENT_STATE_MAX] = {
	[VMP_CLUSTER_INTENT_PENDING] = "pending",
	[VMP_CLUSTER_INTENT_RUNNING] = "running",
	[VMP_CLUSTER_INTENT_DONE] = "done",
	[VMP_CLUSTER_INTENT_FAILED] = "failed",
	[VMP_CLUSTER_INTENT_CANCELLED] = "cancelled",
};

const char *
vmp_cluster_intent_state_name(enum vmp_cluster_intent_state s)
{
	return (unsigned)s < VMP_CLUSTER_INTENT_STATE_MAX ? state_names[s] : "?";
}

int
vmp_cluster_intent_state_parse(const char *name)
{
	int i;

	for (i = 0; i < VMP_CLUSTER_INTENT_STATE_MAX; i++)
		if (name && strcmp(name, state_names[i]) == 0)
			return i;
	return -EINVAL;
}

static bool
state_finished(enum vmp_cluster_intent_state s)
{
	return s == VMP_CLUSTER_INTENT_DONE || s == VMP_CLUSTER_INTENT_FAILED ||
	       s == VMP_CLUSTER_INTENT_CANCELLED;
}

/* ---- records: pure encoding and decoding ---- */

void
vmp_cluster_agent_clear(struct vmp_cluster_agent *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nvms; i++) {
		free(a->vms[i].name);
		free(a->vms[i].uuid);
	}
	free(a->vms);
	free(a->name);
	free(a->migrate_uri);
	memset(a, 0, sizeof(*a));
}

void
vmp_cluster_intent_clear(struct vmp_cluster_intent *in)
{
	if (!in)
		return;
	free(in->leader);
	free(in->vm);
	free(in->from);
	free(in->to);
	free(in->to_uri);
	free(in->reason);
	free(in->why);
	free(in->error);
	memset(in, 0, sizeof(*in));
}

void
vmp_cluster_intents_free(struct vmp_cluster_intent *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		vmp_cluster_intent_clear(&v[i]);
	free(v);
}

void
vmp_cluster_intent_id(int64_t term, uint32_t seq, char *id)
{
	snprintf(id, VMP_CLUSTER_ID_MAX, "%020" PRId64 "-%08" PRIu32, term, seq);
}

/* A JSON number for a double that may not be finite (JSON has no NaN): 0 then. */
static json_t *
num(double v)
{
	return json_real(isfinite(v) ? v : 0);
}

/*
 * A JSON string of s (NULL: ""). JSON text is UTF-8: a string that is not (a VM named
 * in Latin-1, say) is written with every byte above 127 as '?', and *ret_mangled says
 * so (may be NULL).
 */
static json_t *
text_json(const char *s, bool *ret_mangled)
{
	json_t *j = json_string(s ? s : "");
	char *copy, *p;

	if (j)
		return j;
	copy = xstrdup(s);
	for (p = copy; *p; p++)
		if ((unsigned char)*p > 127)
			*p = '?';
	j = json_string(copy);
	free(copy);
	if (ret_mangled)
		*ret_mangled = true;
	return j;
}

static json_t *
str_or_empty(const char *s)
{
	return text_json(s, NULL);
}

static json_t *
agent_json(const struct vmp_cluster_agent *a)
{
	json_t *o = json_object(), *vms = json_array();
	size_t i;

	json_object_set_new(o, "name", str_or_empty(a->name));
	json_object_set_new(o, "migrate_uri", str_or_empty(a->migrate_uri));
	json_object_set_new(o, "capacity_mips", num(a->capacity_mips));
	json_object_set_new(o, "core_mips", num(a->core_mips));
	json_object_set_new(o, "mem_kib", num(a->mem_kib));
	json_object_set_new(o, "mem_free_kib", num(a->mem_free_kib));
	json_object_set_new(o, "mem_short_kib", num(a->mem_short_kib));
	json_object_set_new(o, "bw_kib_s", num(a->bw_kib_s));
	json_object_set_new(o, "full_watts", num(a->full_watts));
	json_object_set_new(o, "on", json_boolean(a->on));
	json_object_set_new(o, "refuses_vms", json_boolean(a->refuses_vms));
	json_object_set_new(o, "cycle", json_integer(a->cycle));
	json_object_set_new(o, "wall_ms", json_integer(a->wall_ms));
	for (i = 0; i < a->nvms; i++) {
		const struct vmp_cluster_vm *v = &a->vms[i];
		json_t *j = json_object();
		bool mangled = false;

		/* a VM whose name had to be changed is planned around, never moved */
		json_object_set_new(j, "name", text_json(v->name, &mangled));
		json_object_set_new(j, "uuid", str_or_empty(v->uuid));
		json_object_set_new(j, "mips", num(v->mips));
		json_object_set_new(j, "ram_kib", num(v->ram_kib));
		json_object_set_new(j, "mem_kib", num(v->mem_kib));
		json_object_set_new(j, "dirty_kib_s", num(v->dirty_kib_s));
		json_object_set_new(j, "demand_mips", num(v->demand_mips));
		json_object_set_new(j, "migrating", json_boolean(v->migrating));
		json_object_set_new(j, "pinned", json_boolean(v->pinned || mangled));
		json_object_set_new(j, "last", num(v->hist.last));
		json_object_set_new(j, "mean", num(v->hist.mean));
		json_object_set_new(j, "var_step", num(v->hist.var_step));
		json_object_set_new(j, "n", json_integer(v->hist.n));
		json_array_append_new(vms, j);
	}
	json_object_set_new(o, "vms", vms);
	return o;
}

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	if (!s)
		abort();
	return s;
}

char *
vmp_cluster_agent_encode(const struct vmp_cluster_agent *a)
{
	return dump(agent_json(a));
}

static json_t *
intent_json(const struct vmp_cluster_intent *in)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(in->id));
	json_object_set_new(o, "term", json_integer(in->term));
	json_object_set_new(o, "leader", str_or_empty(in->leader));
	json_object_set_new(o, "vm", str_or_empty(in->vm));
	json_object_set_new(o, "from", str_or_empty(in->from));
	json_object_set_new(o, "to", str_or_empty(in->to));
	json_object_set_new(o, "to_uri", str_or_empty(in->to_uri));
	json_object_set_new(o, "reason", str_or_empty(in->reason));
	json_object_set_new(o, "why", str_or_empty(in->why));
	json_object_set_new(o, "state", json_string(vmp_cluster_intent_state_name(in->state)));
	json_object_set_new(o, "created_ms", json_integer(in->created_ms));
	json_object_set_new(o, "claimed_ms", json_integer(in->claimed_ms));
	json_object_set_new(o, "finished_ms", json_integer(in->finished_ms));
	json_object_set_new(o, "error", in->error ? json_string(in->error) : json_null());
	return o;
}

char *
vmp_cluster_intent_encode(const struct vmp_cluster_intent *in)
{
	return dump(intent_json(in));
}

/* Decoding: each getter sets *err (a static description) and returns -EINVAL. */
struct dec {
	const char *key;
	char *err;                 /* first error: "key 'K': field 'F' ..." */
};

static int VMP_PRINTF(2, 3)
dec_fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	char *what;

	if (d->err)
		return -EINVAL;
	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	d->err = xasprintf("key '%s': %s", d->key, what);
	free(what);
	return -EINVAL;
}

/* A string without NUL bytes; required or else NULL. Returns a new string or NULL. */
static int
dec_str(struct dec *d, json_t *o, const char *name, bool required, char **ret)
{
	json_t *v = json_object_get(o, name);

	*ret = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return dec_fail(d, "field '%s' is missing", name);
		return 0;
	}
	if (!json_is_string(v))
		return dec_fail(d, "field '%s' is not a string", name);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return dec_fail(d, "field '%s' holds a NUL byte", name);
	*ret = xstrdup(json_string_value(v));
	return 0;
}

/* A finite number >= 0 (absent: 0 unless required). */
static int
dec_num(struct dec *d, json_t *o, const char *name, bool required, double *ret)
{
	json_t *v = json_object_get(o, name);

	*ret = 0;
	if (!v) {
		if (required)
			return dec_fail(d, "field '%s' is missing", name);
		return 0;
	}
	if (!json_is_number(v))
		return dec_fail(d, "field '%s' is not a number", name);
	*ret = json_number_value(v);
	if (!isfinite(*ret) || *ret < 0 || *ret > 1e300)
		return dec_fail(d, "field '%s' is out of range", name);
	return 0;
}

/* A history moment: any finite number (a mean of changes may be anything real). */
static int
dec_real(struct dec *d, json_t *o, const char *name, double *ret)
{
	json_t *v = json_object_get(o, name);

	*ret = 0;
	if (!v)
		return 0;
	if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
	    fabs(json_number_value(v)) > 1e300)
		return dec_fail(d, "field '%s' is not a finite number", name);
	*ret = json_number_value(v);
	return 0;
}

static int
dec_int(struct dec *d, json_t *o, const char *name, bool required, int64_t min, int64_t max,
	int64_t *ret)
{
	json_t *v = json_object_get(o, name);

	*ret = 0;
	if (!v) {
		if (required)
			return dec_fail(d, "field '%s' is missing", name);
		return 0;
	}
	if (!json_is_integer(v))
		return dec_fail(d, "field '%s' is not an integer", name);
	*ret = json_integer_value(v);
	if (*ret < min || *ret > max)
		return dec_fail(d, "field '%s' is out of range", name);
	return 0;
}

static int
dec_bool(struct dec *d, json_t *o, const char *name, bool *ret)
{
	json_t *v = json_object_get(o, name);

	*ret = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return dec_fail(d, "field '%s' is not a boolean", name);
	*ret = json_is_true(v);
	return 0;
}

static json_t *
dec_load(struct dec *d, const char *value, size_t len)
{
	json_error_t jerr;
	json_t *o;

	if (!value) {
		dec_fail(d, "no value");
		return NULL;
	}
	o = json_loadb(value, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		dec_fail(d, "not JSON: %s at byte %d", jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		dec_fail(d, "not a JSON object");
		return NULL;
	}
	return o;
}

static void
dec_vm(struct dec *d, json_t *j, size_t i, struct vmp_cluster_vm *v)
{
	int64_t n;

	if (!json_is_object(j)) {
		dec_fail(d, "vms[%zu] is not an object", i);
		return;
	}
	dec_str(d, j, "name", true, &v->name);
	if (v->name && !*v->name)
		dec_fail(d, "vms[%zu]: field 'name' is empty", i);
	dec_str(d, j, "uuid", false, &v->uuid);
	dec_num(d, j, "mips", true, &v->mips);
	dec_num(d, j, "ram_kib", false, &v->ram_kib);
	dec_num(d, j, "mem_kib", false, &v->mem_kib);
	dec_num(d, j, "dirty_kib_s", false, &v->dirty_kib_s);
	dec_num(d, j, "demand_mips", false, &v->demand_mips);
	dec_bool(d, j, "migrating", &v->migrating);
	dec_bool(d, j, "pinned", &v->pinned);
	dec_real(d, j, "last", &v->hist.last);
	dec_real(d, j, "mean", &v->hist.mean);
	dec_num(d, j, "var_step", false, &v->hist.var_step);
	dec_int(d, j, "n", false, 0, UINT32_MAX, &n);
	v->hist.n = (uint32_t)n;
	/* not published: a VM the leader has not moved itself counts as never moved */
	v->hist.moved_step = v->hist.n > 0 ? INT32_MIN : 0;
}

/* The part of key after the last '/' (key itself without one). */
static const char *
key_base(const char *key)
{
	const char *s = strrchr(key, '/');

	return s ? s + 1 : key;
}

int
vmp_cluster_agent_decode(const char *key, const char *value, size_t len,
			 struct vmp_cluster_agent *ret, char **ret_err)
{
	struct dec d = { .key = key };
	struct vmp_cluster_agent a = { 0 };
	json_t *o, *vms;
	size_t i;

	o = dec_load(&d, value, len);
	if (!o)
		goto out;
	dec_str(&d, o, "name", true, &a.name);
	if (a.name && strcmp(a.name, key_base(key)) != 0)
		dec_fail(&d, "field 'name' is '%s', not the key's name", a.name);
	dec_str(&d, o, "migrate_uri", false, &a.migrate_uri);
	dec_num(&d, o, "capacity_mips", true, &a.capacity_mips);
	dec_num(&d, o, "core_mips", false, &a.core_mips);
	dec_num(&d, o, "mem_kib", false, &a.mem_kib);
	dec_num(&d, o, "mem_free_kib", false, &a.mem_free_kib);
	dec_num(&d, o, "mem_short_kib", false, &a.mem_short_kib);
	dec_num(&d, o, "bw_kib_s", false, &a.bw_kib_s);
	dec_num(&d, o, "full_watts", false, &a.full_watts);
	dec_bool(&d, o, "on", &a.on);
	dec_bool(&d, o, "refuses_vms", &a.refuses_vms);
	dec_int(&d, o, "cycle", false, 0, INT64_MAX, &a.cycle);
	dec_int(&d, o, "wall_ms", false, 0, INT64_MAX, &a.wall_ms);
	vms = json_object_get(o, "vms");
	if (!json_is_array(vms)) {
		dec_fail(&d, "field 'vms' is %s", vms ? "not an array" : "missing");
	} else if (!d.err && json_array_size(vms) > 0) {
		a.vms = xcalloc(json_array_size(vms), sizeof(*a.vms));
		for (i = 0; i < json_array_size(vms) && !d.err; i++) {
			a.nvms = i + 1;
			dec_vm(&d, json_array_get(vms, i), i, &a.vms[i]);
		}
	}
	json_decref(o);
out:
	if (d.err) {
		vmp_cluster_agent_clear(&a);
		*ret_err = d.err;
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

/* "<20 digits>-<8 digits>": returns the term, or -1. */
static int64_t
id_term(const char *id)
{
	int64_t term = 0;
	int i;

	if (strlen(id) != 29 || id[20] != '-')
		return -1;
	for (i = 0; i < 29; i++)
		if (i != 20 && (id[i] < '0' || id[i] > '9'))
			return -1;
	for (i = 0; i < 20; i++) {
		if (term > (INT64_MAX - (id[i] - '0')) / 10)
			return -1;
		term = term * 10 + (id[i] - '0');
	}
	return term;
}

int
vmp_cluster_intent_decode(const char *key, const char *value, size_t len,
			  struct vmp_cluster_intent *ret, char **ret_err)
{
	struct dec d = { .key = key };
	struct vmp_cluster_intent in = { 0 };
	char *id = NULL, *state = NULL;
	json_t *o;
	int s;

	o = dec_load(&d, value, len);
	if (!o)
		goto out;
	dec_str(&d, o, "id", true, &id);
	if (id && (strcmp(id, key_base(key)) != 0 || id_term(id) < 0))
		dec_fail(&d, "field 'id' is '%s', not the key's <term>-<sequence>", id);
	dec_int(&d, o, "term", true, 1, INT64_MAX, &in.term);
	if (!d.err && id_term(id) != in.term)
		dec_fail(&d, "field 'term' %" PRId64 " is not the id's", in.term);
	if (!d.err)
		snprintf(in.id, sizeof(in.id), "%s", id);
	dec_str(&d, o, "leader", true, &in.leader);
	dec_str(&d, o, "vm", true, &in.vm);
	dec_str(&d, o, "from", true, &in.from);
	dec_str(&d, o, "to", true, &in.to);
	dec_str(&d, o, "to_uri", false, &in.to_uri);
	dec_str(&d, o, "reason", false, &in.reason);
	dec_str(&d, o, "why", false, &in.why);
	dec_str(&d, o, "state", true, &state);
	s = vmp_cluster_intent_state_parse(state);
	if (state && s < 0)
		dec_fail(&d, "field 'state' is '%s', not a state", state);
	in.state = s < 0 ? VMP_CLUSTER_INTENT_PENDING : (enum vmp_cluster_intent_state)s;
	dec_int(&d, o, "created_ms", false, 0, INT64_MAX, &in.created_ms);
	dec_int(&d, o, "claimed_ms", false, 0, INT64_MAX, &in.claimed_ms);
	dec_int(&d, o, "finished_ms", false, 0, INT64_MAX, &in.finished_ms);
	dec_str(&d, o, "error", false, &in.error);
	if (!d.err && in.vm && (!*in.vm || !*in.from || !*in.to))
		dec_fail(&d, "fields 'vm', 'from' and 'to' must not be empty");
	json_decref(o);
out:
	free(id);
	free(state);
	if (d.err) {
		vmp_cluster_intent_clear(&in);
		*ret_err = d.err;
		return -EINVAL;
	}
	*ret = in;
	return 0;
}

void
vmp_cluster_snapshot_clear(struct vmp_cluster_snapshot *s)
{
	size_t i;

	if (!s)
		return;
	free(s->leader);
	for (i = 0; i < s->nagents; i++)
		vmp_cluster_agent_clear(&s->agents[i]);
	free(s->agents);
	vmp_cluster_intents_free(s->intents, s->nintents);
	for (i = 0; i < s->nerrors; i++)
		free(s->errors[i]);
	free(s->errors);
	memset(s, 0, sizeof(*s));
}

static void
add_error(struct vmp_cluster_snapshot *s, char *msg)
{
	s->errors = xrealloc(s->errors, (s->nerrors + 1) * sizeof(*s->errors));
	s->errors[s->nerrors++] = msg;
}

/* The name in P/leader's value ({"name": ...}). Returns a new string, or NULL and *ret_err. */
static char *
leader_decode(const char *key, const char *value, size_t len, char **ret_err)
{
	struct dec d = { .key = key };
	char *name = NULL;
	json_t *o;

	o = dec_load(&d, value, len);
	if (o) {
		dec_str(&d, o, "name", true, &name);
		json_decref(o);
	}
	if (d.err) {
		free(name);
		*ret_err = d.err;
		return NULL;
	}
	return name;
}

static int
cmp_agent(const void *a, const void *b)
{
	return strcmp(((const struct vmp_cluster_agent *)a)->name,
		      ((const struct vmp_cluster_agent *)b)->name);
}

static int
cmp_intent(const void *a, const void *b)
{
	return strcmp(((const struct vmp_cluster_intent *)a)->id,
		      ((const struct vmp_cluster_intent *)b)->id);
}

int
vmp_cluster_snapshot_decode(const char *prefix, const struct vmp_etcd_range *r,
			    struct vmp_cluster_snapshot *ret)
{
	size_t plen = strlen(prefix), i;

	ret->revision = r->revision;
	for (i = 0; i < r->nkvs; i++) {
		const struct vmp_etcd_kv *kv = &r->kvs[i];
		const char *rel;
		char *err = NULL;

		if (strncmp(kv->key, prefix, plen) != 0)
			continue;
		rel = kv->key + plen;
		if (strcmp(rel, "leader") == 0) {
			char *name = leader_decode(kv->key, kv->value, kv->value_len, &err);

			if (!name) {
				add_error(ret, err);
				continue;
			}
			free(ret->leader);
			ret->leader = name;
			ret->term = kv->create_revision;
		} else if (vmp_str_starts_with(rel, "agents/") && rel[7] &&
			   !strchr(rel + 7, '/')) {
			struct vmp_cluster_agent a;

			if (vmp_cluster_agent_decode(kv->key, kv->value, kv->value_len, &a, &err) < 0) {
				add_error(ret, err);
				continue;
			}
			a.mod_revision = kv->mod_revision;
			a.lease = kv->lease;
			ret->agents = xrealloc(ret->agents, (ret->nagents + 1) * sizeof(*ret->agents));
			ret->agents[ret->nagents++] = a;
		} else if (vmp_str_starts_with(rel, "intents/")) {
			struct vmp_cluster_intent in;

			if (vmp_cluster_intent_decode(kv->key, kv->value, kv->value_len, &in, &err) < 0) {
				add_error(ret, err);
				continue;
			}
			in.mod_revision = kv->mod_revision;
			ret->intents = xrealloc(ret->intents, (ret->nintents + 1) * sizeof(*ret->intents));
			ret->intents[ret->nintents++] = in;
		}
	}
	if (ret->nagents > 1)
		qsort(ret->agents, ret->nagents, sizeof(*ret->agents), cmp_agent);
	if (ret->nintents > 1)
		qsort(ret->intents, ret->nintents, sizeof(*ret->intents), cmp_intent);
	return 0;
}

/* ---- the protocol over etcd ---- */

struct age {
	char id[VMP_CLUSTER_ID_MAX];
	int64_t tick;              /* the leader's tick that created it */
};

struct vmp_cluster {
	char *prefix, *agent;
	char *k_leader, *k_agent, *k_intents;
	int64_t ttl_s;
	unsigned cancel_after, keep_finished;
	struct vmp_etcd *etcd;
	char err[2048];

	/* the lease, shared with the keepalive thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started, stop;
	struct vmp_etcd *ka_etcd;
	int64_t lease;
	bool lease_lost;           /* the thread found it expired */

	enum vmp_cluster_role role;
	char *leader;
	int64_t term, seen_term;
	uint64_t leader_changes;
	int64_t led_term;          /* the term seq and ages belong to */
	uint32_t seq;              /* the last intent sequence number used in led_term */
	int64_t ticks;
	struct age *ages;
	size_t nages;

	bool etcd_up;
	char etcd_err[1024];

	/* the last snapshot, for status and counters */
	int64_t snap_ms;
	json_t *members;           /* [{name, wall_ms, vms}] */
	json_t *recent;            /* newest intents first */
	json_t *errors;
	size_t nmembers;
	size_t counts[VMP_CLUSTER_INTENT_STATE_MAX];
};

static int VMP_PRINTF(3, 4)
fail(struct vmp_cluster *cl, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->err, sizeof(cl->err), fmt, ap);
	va_end(ap);
	return r;
}

/* After an etcd call: notes whether etcd answered, copies its error. Returns r. */
static int
etcd_result(struct vmp_cluster *cl, int r, const char *what)
{
	if (r >= 0 || r == -ENOENT || r == -EINVAL) {
		cl->etcd_up = true;
		cl->etcd_err[0] = '\0';
		if (r < 0)
			fail(cl, r, "%s: %s", what, vmp_etcd_error(cl->etcd));
		return r;
	}
	cl->etcd_up = false;
	snprintf(cl->etcd_err, sizeof(cl->etcd_err), "%s", vmp_etcd_error(cl->etcd));
	return fail(cl, r, "%s: %s", what, vmp_etcd_error(cl->etcd));
}

const char *
vmp_cluster_error(const struct vmp_cluster *cl)
{
	return cl->err;
}

const char *
vmp_cluster_agent_name(const struct vmp_cluster *cl)
{
	return cl->agent;
}

enum vmp_cluster_role
vmp_cluster_role(const struct vmp_cluster *cl)
{
	return cl->role;
}

const char *
vmp_cluster_leader(const struct vmp_cluster *cl)
{
	return cl->leader;
}

int64_t
vmp_cluster_term(const struct vmp_cluster *cl)
{
	return cl->term;
}

int64_t
vmp_cluster_lease(const struct vmp_cluster *cl)
{
	int64_t l;

	pthread_mutex_lock((pthread_mutex_t *)&cl->lock);
	l = cl->lease;
	pthread_mutex_unlock((pthread_mutex_t *)&cl->lock);
	return l;
}

static void *
keepalive_main(void *arg)
{
	struct vmp_cluster *cl = arg;
	int64_t period_ms = cl->ttl_s * 1000 / 3;
	struct timespec until;

	pthread_mutex_lock(&cl->lock);
	while (!cl->stop) {
		int64_t lease;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += period_ms / 1000;
		until.tv_nsec += (period_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!cl->stop && pthread_cond_timedwait(&cl->cond, &cl->lock, &until) == 0)
			;
		if (cl->stop)
			break;
		lease = cl->lease;
		if (lease == 0 || cl->lease_lost)
			continue;
		pthread_mutex_unlock(&cl->lock);
		r = vmp_etcd_lease_keepalive(cl->ka_etcd, lease, NULL);
		pthread_mutex_lock(&cl->lock);
		if (r == -ENOENT && cl->lease == lease)
			cl->lease_lost = true;
	}
	pthread_mutex_unlock(&cl->lock);
	return NULL;
}

int
vmp_cluster_open(const struct vmp_cluster_config *cfg, struct vmp_cluster **ret_cl, char **ret_err)
{
	struct vmp_etcd_options ka;
	pthread_condattr_t ca;
	struct vmp_cluster *cl;
	const char *prefix = cfg->prefix && *cfg->prefix ? cfg->prefix : "/vmpilot/";
	int r;

	if (!cfg->agent || !*cfg->agent || strchr(cfg->agent, '/')) {
		*ret_err = xasprintf("cluster: agent name '%s' is empty or holds a '/'",
				     cfg->agent ? cfg->agent : "");
		return -EINVAL;
	}
	{
		json_t *j = json_string(cfg->agent);

		if (!j) {
			*ret_err = xstrdup("cluster: agent name is not UTF-8");
			return -EINVAL;
		}
		json_decref(j);
	}
	if (cfg->lease_ttl_s < 0 || cfg->lease_ttl_s > 3600) {
		*ret_err = xasprintf("cluster: lease TTL %" PRId64 " s is not within 1..3600",
				     cfg->lease_ttl_s);
		return -EINVAL;
	}
	cl = xcalloc(1, sizeof(*cl));
	pthread_mutex_init(&cl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cl->cond, &ca);
	pthread_condattr_destroy(&ca);
	cl->prefix = xstrdup(prefix);
	cl->agent = xstrdup(cfg->agent);
	cl->k_leader = xasprintf("%sleader", prefix);
	cl->k_agent = xasprintf("%sagents/%s", prefix, cfg->agent);
	cl->k_intents = xasprintf("%sintents/", prefix);
	cl->ttl_s = cfg->lease_ttl_s ? cfg->lease_ttl_s : 10;
	cl->cancel_after = cfg->cancel_after ? cfg->cancel_after : 3;
	cl->keep_finished = cfg->keep_finished ? cfg->keep_finished : 100;
	cl->role = VMP_CLUSTER_UNAVAILABLE;
	cl->etcd_up = false;
	snprintf(cl->etcd_err, sizeof(cl->etcd_err), "not contacted yet");
	cl->members = json_array();
	cl->recent = json_array();
	cl->errors = json_array();
	r = vmp_etcd_open(&cfg->etcd, &cl->etcd, ret_err);
	if (r < 0)
		goto fail;
	if (cfg->keepalive_thread) {
		ka = cfg->etcd;
		/* a renewal must not outlast its period */
		if (!ka.timeout_ms || ka.timeout_ms > cl->ttl_s * 1000 / 3)
			ka.timeout_ms = cl->ttl_s * 1000 / 3;
		r = vmp_etcd_open(&ka, &cl->ka_etcd, ret_err);
		if (r < 0)
			goto fail;
		r = -pthread_create(&cl->thread, NULL, keepalive_main, cl);
		if (r < 0) {
			*ret_err = xasprintf("cluster: cannot start the keepalive thread: %s",
					     strerror(-r));
			goto fail;
		}
		cl->thread_started = true;
	}
	*ret_cl = cl;
	return 0;
fail:
	vmp_cluster_close(cl);
	return r;
}

void
vmp_cluster_close(struct vmp_cluster *cl)
{
	if (!cl)
		return;
	if (cl->thread_started) {
		pthread_mutex_lock(&cl->lock);
		cl->stop = true;
		pthread_cond_broadcast(&cl->cond);
		pthread_mutex_unlock(&cl->lock);
		pthread_join(cl->thread, NULL);
	}
	vmp_etcd_close(cl->ka_etcd);
	vmp_etcd_close(cl->etcd);
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->lock);
	free(cl->prefix);
	free(cl->agent);
	free(cl->k_leader);
	free(cl->k_agent);
	free(cl->k_intents);
	free(cl->leader);
	free(cl->ages);
	json_decref(cl->members);
	json_decref(cl->recent);
	json_decref(cl->errors);
	free(cl);
}

static void
set_lease(struct vmp_cluster *cl, int64_t lease)
{
	pthread_mutex_lock(&cl->lock);
	cl->lease = lease;
	cl->lease_lost = false;
	pthread_mutex_unlock(&cl->lock);
}

static void
lose_leadership(struct vmp_cluster *cl)
{
	if (cl->role == VMP_CLUSTER_LEADER)
		cl->role = VMP_CLUSTER_FOLLOWER;
}

int
vmp_cluster_resign(struct vmp_cluster *cl)
{
	int64_t lease = vmp_cluster_lease(cl);
	int r;

	if (lease == 0)
		return 0;
	set_lease(cl, 0);
	lose_leadership(cl);
	r = etcd_result(cl, vmp_etcd_lease_revoke(cl->etcd, lease), "cannot revoke the lease");
	return r == -ENOENT ? 0 : r;
}

/* Notes who leads now; counts a change of term. */
static void
saw_leader(struct vmp_cluster *cl, const char *name, int64_t term)
{
	if (term != cl->seen_term) {
		if (cl->seen_term != 0 && term != 0)
			cl->leader_changes++;
		if (term != 0)
			cl->seen_term = term;
	}
	if (!name || !cl->leader || strcmp(name, cl->leader) != 0) {
		free(cl->leader);
		cl->leader = name ? xstrdup(name) : NULL;
	}
	cl->term = term;
}

int
vmp_cluster_tick(struct vmp_cluster *cl, int64_t now_ms)
{
	struct vmp_etcd_txn_result tr = { 0 };
	struct vmp_etcd_compare cmp;
	struct vmp_etcd_op put, get;
	const struct vmp_etcd_kv *kv;
	int64_t lease;
	bool lost;
	char *value, *name = NULL, *err = NULL;
	json_t *v;
	int r;

	cl->ticks++;
	pthread_mutex_lock(&cl->lock);
	lost = cl->lease_lost;
	lease = lost ? 0 : cl->lease;
	pthread_mutex_unlock(&cl->lock);
	if (lease) {
		r = vmp_etcd_lease_keepalive(cl->etcd, lease, NULL);
		if (r == -ENOENT) {
			lease = 0;
		} else if (r < 0) {
			cl->role = VMP_CLUSTER_UNAVAILABLE;
			return etcd_result(cl, r, "cannot renew the lease");
		}
	}
	if (!lease) {
		/* no lease, or it expired: whatever this agent led, it leads no more */
		lose_leadership(cl);
		set_lease(cl, 0);
		r = vmp_etcd_lease_grant(cl->etcd, cl->ttl_s, &lease);
		if (r < 0) {
			cl->role = VMP_CLUSTER_UNAVAILABLE;
			return etcd_result(cl, r, "cannot grant a lease");
		}
		set_lease(cl, lease);
	}

	/* campaign: create P/leader if it is absent; read it either way */
	v = json_pack("{s:s, s:I, s:I}", "name", cl->agent, "lease", (json_int_t)lease,
		      "since_ms", (json_int_t)now_ms);
	value = dump(v);
	cmp = (struct vmp_etcd_compare){ .key = cl->k_leader, .target = VMP_ETCD_TARGET_CREATE,
					 .result = VMP_ETCD_EQUAL, .number = 0 };
	put = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_PUT, .key = cl->k_leader, .value = value,
				    .value_len = strlen(value), .lease = lease };
	get = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_RANGE, .key = cl->k_leader };
	r = vmp_etcd_txn(cl->etcd, &cmp, 1, (struct vmp_etcd_op[]){ put, get }, 2, &get, 1, &tr);
	free(value);
	if (r < 0) {
		cl->role = VMP_CLUSTER_UNAVAILABLE;
		return etcd_result(cl, r, "cannot campaign");
	}
	etcd_result(cl, 0, "");
	kv = NULL;
	if (tr.nranges > 0) {
		const struct vmp_etcd_range *rg = &tr.ranges[tr.nranges - 1];

		if (rg->nkvs == 1)
			kv = &rg->kvs[0];
	}
	if (!kv) {
		/* it vanished between the compare and the read (expired): try next tick */
		vmp_etcd_txn_result_clear(&tr);
		lose_leadership(cl);
		if (cl->role == VMP_CLUSTER_UNAVAILABLE)
			cl->role = VMP_CLUSTER_FOLLOWER;
		saw_leader(cl, NULL, 0);
		return (int)cl->role;
	}
	name = leader_decode(kv->key, kv->value, kv->value_len, &err);
	if (!name) {
		/* someone wrote P/leader who is not an agent: nobody leads */
		fail(cl, -EINVAL, "%s", err);
		free(err);
	}
	saw_leader(cl, name, kv->create_revision);
	if (kv->lease == lease && name && strcmp(name, cl->agent) == 0) {
		/* a new term numbers its intents from 1; the same term (etcd was away) goes on */
		if (cl->led_term != cl->term) {
			cl->led_term = cl->term;
			cl->seq = 0;
			cl->nages = 0;
		}
		cl->role = VMP_CLUSTER_LEADER;
	} else {
		cl->role = VMP_CLUSTER_FOLLOWER;
	}
	free(name);
	vmp_etcd_txn_result_clear(&tr);
	return (int)cl->role;
}

int
vmp_cluster_publish(struct vmp_cluster *cl, const struct vmp_cluster_agent *a)
{
	struct vmp_cluster_agent copy = *a;
	int64_t lease = vmp_cluster_lease(cl);
	char *value;
	int r;

	if (!lease)
		return fail(cl, -ENOLCK, "cannot publish '%s': no lease yet", cl->k_agent);
	copy.name = cl->agent;
	value = vmp_cluster_agent_encode(&copy);
	r = vmp_etcd_put(cl->etcd, cl->k_agent, value, strlen(value), lease, NULL);
	free(value);
	if (r < 0)
		return etcd_result(cl, r, "cannot publish the summary");
	etcd_result(cl, 0, "");
	return 0;
}

static json_t *
recent_json(const struct vmp_cluster_intent *in)
{
	json_t *o = intent_json(in);

	return o;
}

/* Remembers what status and the counters show of a snapshot. */
static void
remember(struct vmp_cluster *cl, const struct vmp_cluster_snapshot *s)
{
	size_t i;

	json_array_clear(cl->members);
	json_array_clear(cl->recent);
	json_array_clear(cl->errors);
	memset(cl->counts, 0, sizeof(cl->counts));
	for (i = 0; i < s->nagents; i++)
		json_array_append_new(cl->members,
				      json_pack("{s:s, s:I, s:I}", "name", s->agents[i].name,
						"wall_ms", (json_int_t)s->agents[i].wall_ms,
						"vms", (json_int_t)s->agents[i].nvms));
	cl->nmembers = s->nagents;
	for (i = 0; i < s->nintents; i++)
		if ((unsigned)s->intents[i].state < VMP_CLUSTER_INTENT_STATE_MAX)
			cl->counts[s->intents[i].state]++;
	for (i = s->nintents; i > 0 && s->nintents - i < RECENT_MAX; i--)
		json_array_append_new(cl->recent, recent_json(&s->intents[i - 1]));
	for (i = 0; i < s->nerrors; i++)
		json_array_append_new(cl->errors, json_string(s->errors[i]));
	cl->snap_ms = s->read_ms;
}

int
vmp_cluster_snapshot(struct vmp_cluster *cl, int64_t now_ms, struct vmp_cluster_snapshot *ret)
{
	struct vmp_etcd_range_req q = { .key = cl->prefix, .prefix = true };
	struct vmp_cluster_snapshot s = { 0 };
	struct vmp_etcd_range rg = { 0 };
	int r;

	r = vmp_etcd_range(cl->etcd, &q, &rg);
	if (r < 0)
		return etcd_result(cl, r, "cannot read the snapshot");
	etcd_result(cl, 0, "");
	vmp_cluster_snapshot_decode(cl->prefix, &rg, &s);
	vmp_etcd_range_clear(&rg);
	s.read_ms = now_ms;
	remember(cl, &s);
	vmp_cluster_snapshot_clear(ret);
	*ret = s;
	return 0;
}

/* The tick at which this leader created intent id (now, if it did not). */
static int64_t
age_tick(struct vmp_cluster *cl, const char *id)
{
	size_t i;

	for (i = 0; i < cl->nages; i++)
		if (strcmp(cl->ages[i].id, id) == 0)
			return cl->ages[i].tick;
	cl->ages = xrealloc(cl->ages, (cl->nages + 1) * sizeof(*cl->ages));
	snprintf(cl->ages[cl->nages].id, sizeof(cl->ages[cl->nages].id), "%s", id);
	cl->ages[cl->nages].tick = cl->ticks;
	return cl->ages[cl->nages++].tick;
}

static void
forget_age(struct vmp_cluster *cl, const char *id)
{
	size_t i;

	for (i = 0; i < cl->nages; i++)
		if (strcmp(cl->ages[i].id, id) == 0) {
			cl->ages[i] = cl->ages[--cl->nages];
			return;
		}
}

/*
 * Rewrites intent in (as read: its mod_revision) with state s in one transaction that
 * compares its mod_revision and, when fence_term is not 0, create_revision(P/leader)
 * == fence_term. Returns 0 (in updated), -ESTALE with a message saying which compare
 * failed, or an etcd error.
 */
static int
rewrite(struct vmp_cluster *cl, struct vmp_cluster_intent *in, int64_t fence_term,
	struct vmp_cluster_intent *next, const char *what)
{
	struct vmp_etcd_txn_result tr = { 0 };
	struct vmp_etcd_compare cmp[2];
	struct vmp_etcd_op put, reads[2];
	char *key = xasprintf("%s%s", cl->k_intents, in->id), *value;
	size_t ncmp = 1;
	int r;

	cmp[0] = (struct vmp_etcd_compare){ .key = key, .target = VMP_ETCD_TARGET_MOD,
					    .result = VMP_ETCD_EQUAL, .number = in->mod_revision };
	if (fence_term)
		cmp[ncmp++] = (struct vmp_etcd_compare){ .key = cl->k_leader,
							 .target = VMP_ETCD_TARGET_CREATE,
							 .result = VMP_ETCD_EQUAL,
							 .number = fence_term };
	value = vmp_cluster_intent_encode(next);
	put = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_PUT, .key = key, .value = value,
				    .value_len = strlen(value) };
	reads[0] = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_RANGE, .key = key };
	reads[1] = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_RANGE, .key = cl->k_leader };
	r = vmp_etcd_txn(cl->etcd, cmp, ncmp, &put, 1, reads, 2, &tr);
	free(value);
	if (r < 0) {
		r = etcd_result(cl, r, what);
		goto out;
	}
	etcd_result(cl, 0, "");
	if (!tr.succeeded) {
		const struct vmp_etcd_range *ri = tr.nranges > 0 ? &tr.ranges[0] : NULL;
		const struct vmp_etcd_range *rl = tr.nranges > 1 ? &tr.ranges[1] : NULL;
		int64_t now_term = rl && rl->nkvs ? rl->kvs[0].create_revision : 0;

		if (fence_term && now_term != fence_term)
			r = fail(cl, -ESTALE, "%s: term %" PRId64 " is over (leader key %s)", what,
				 fence_term, now_term ? "recreated" : "absent");
		else if (ri && ri->nkvs)
			r = fail(cl, -ESTALE, "%s: intent '%s' changed (mod_revision %" PRId64
				 ", read %" PRId64 ")", what, in->id, ri->kvs[0].mod_revision,
				 in->mod_revision);
		else
			r = fail(cl, -ESTALE, "%s: intent '%s' is gone", what, in->id);
		goto out;
	}
	in->state = next->state;
	in->claimed_ms = next->claimed_ms;
	in->finished_ms = next->finished_ms;
	if (next->error != in->error) {
		free(in->error);
		in->error = next->error ? xstrdup(next->error) : NULL;
	}
	in->mod_revision = tr.revision;
	r = 0;
out:
	vmp_etcd_txn_result_clear(&tr);
	free(key);
	return r;
}

/* A copy of in's fields with a new state (strings shared, not owned). */
static struct vmp_cluster_intent
with_state(const struct vmp_cluster_intent *in, enum vmp_cluster_intent_state s)
{
	struct vmp_cluster_intent n = *in;

	n.state = s;
	return n;
}

int
vmp_cluster_housekeep(struct vmp_cluster *cl, struct vmp_cluster_snapshot *snap, int64_t now_ms)
{
	struct vmp_etcd_txn_result tr = { 0 };
	size_t i, nfinished = 0, ndel = 0, w;
	struct vmp_etcd_op *dels = NULL;
	char **keys = NULL;
	int changed = 0, r;

	if (cl->role != VMP_CLUSTER_LEADER)
		return fail(cl, -EPERM, "cannot keep intents: not the leader");
	/* cancel pending intents nobody may claim any more, or that waited too long */
	for (i = 0; i < snap->nintents; i++) {
		struct vmp_cluster_intent *in = &snap->intents[i], next;
		char *why = NULL;

		if (in->state != VMP_CLUSTER_INTENT_PENDING)
			continue;
		if (in->term != cl->term)
			why = xasprintf("cancelled: its term %" PRId64 " is over", in->term);
		else if (cl->ticks - age_tick(cl, in->id) >= (int64_t)cl->cancel_after)
			why = xasprintf("cancelled: not claimed within %u cycles", cl->cancel_after);
		if (!why)
			continue;
		next = with_state(in, VMP_CLUSTER_INTENT_CANCELLED);
		next.finished_ms = now_ms;
		next.error = why;
		r = rewrite(cl, in, cl->term, &next, "cannot cancel an intent");
		free(why);
		if (r == -ESTALE && strstr(cl->err, "is over")) {
			lose_leadership(cl);
			return r;
		}
		if (r == -ESTALE)
			continue;      /* claimed meanwhile: the next snapshot shows it */
		if (r < 0)
			return r;
		forget_age(cl, in->id);
		changed++;
	}
	/* delete finished intents beyond the newest keep_finished (ids sort by age) */
	for (i = 0; i < snap->nintents; i++)
		if (state_finished(snap->intents[i].state))
			nfinished++;
	if (nfinished <= cl->keep_finished)
		return changed;
	dels = xcalloc(nfinished - cl->keep_finished, sizeof(*dels));
	keys = xcalloc(nfinished - cl->keep_finished, sizeof(*keys));
	for (i = 0; i < snap->nintents && ndel < nfinished - cl->keep_finished; i++) {
		if (!state_finished(snap->intents[i].state))
			continue;
		keys[ndel] = xasprintf("%s%s", cl->k_intents, snap->intents[i].id);
		dels[ndel] = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_DELETE, .key = keys[ndel] };
		ndel++;
	}
	/* in batches under etcd's limit of operations per transaction (128) */
	r = 0;
	for (i = 0; i < ndel && r == 0; i += 100) {
		struct vmp_etcd_compare fence = { .key = cl->k_leader, .target = VMP_ETCD_TARGET_CREATE,
						  .result = VMP_ETCD_EQUAL, .number = cl->term };
		size_t n = ndel - i < 100 ? ndel - i : 100;

		r = vmp_etcd_txn(cl->etcd, &fence, 1, dels + i, n, NULL, 0, &tr);
		if (r < 0) {
			r = etcd_result(cl, r, "cannot delete finished intents");
		} else if (!tr.succeeded) {
			lose_leadership(cl);
			r = fail(cl, -ESTALE, "cannot delete finished intents: term %" PRId64 " is over",
				 cl->term);
		}
		vmp_etcd_txn_result_clear(&tr);
	}
	if (r == 0) {
		/* drop the deleted ones from the snapshot: the oldest finished */
		size_t left = ndel;

		for (i = 0, w = 0; i < snap->nintents; i++) {
			if (left > 0 && state_finished(snap->intents[i].state)) {
				vmp_cluster_intent_clear(&snap->intents[i]);
				left--;
				continue;
			}
			snap->intents[w++] = snap->intents[i];
		}
		snap->nintents = w;
		changed += (int)ndel;
	}
	for (i = 0; i < ndel; i++)
		free(keys[i]);
	free(keys);
	free(dels);
	return r < 0 ? r : changed;
}

int
vmp_cluster_intent_create(struct vmp_cluster *cl, struct vmp_cluster_intent *in, int64_t now_ms)
{
	struct vmp_etcd_txn_result tr = { 0 };
	struct vmp_etcd_compare cmp[2];
	struct vmp_etcd_op put, get;
	struct vmp_cluster_intent n;
	int attempt, r;

	if (cl->role != VMP_CLUSTER_LEADER)
		return fail(cl, -EPERM, "cannot create an intent for vm '%s': not the leader",
			    in->vm ? in->vm : "");
	if (!in->vm || !*in->vm || !in->from || !*in->from || !in->to || !*in->to)
		return fail(cl, -EINVAL, "cannot create an intent: vm, from and to are required");
	for (attempt = 0; attempt < 3; attempt++) {
		char *key, *value;
		const struct vmp_etcd_range *rl;

		n = *in;
		vmp_cluster_intent_id(cl->term, ++cl->seq, n.id);
		n.term = cl->term;
		n.leader = cl->agent;
		n.state = VMP_CLUSTER_INTENT_PENDING;
		n.created_ms = now_ms;
		n.claimed_ms = n.finished_ms = 0;
		n.error = NULL;
		key = xasprintf("%s%s", cl->k_intents, n.id);
		value = vmp_cluster_intent_encode(&n);
		cmp[0] = (struct vmp_etcd_compare){ .key = cl->k_leader, .target = VMP_ETCD_TARGET_CREATE,
						    .result = VMP_ETCD_EQUAL, .number = cl->term };
		cmp[1] = (struct vmp_etcd_compare){ .key = key, .target = VMP_ETCD_TARGET_CREATE,
						    .result = VMP_ETCD_EQUAL, .number = 0 };
		put = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_PUT, .key = key, .value = value,
					    .value_len = strlen(value) };
		get = (struct vmp_etcd_op){ .type = VMP_ETCD_OP_RANGE, .key = cl->k_leader,
					    .keys_only = true };
		r = vmp_etcd_txn(cl->etcd, cmp, 2, &put, 1, &get, 1, &tr);
		free(key);
		free(value);
		if (r < 0)
			return etcd_result(cl, r, "cannot create an intent");
		etcd_result(cl, 0, "");
		if (tr.succeeded) {
			snprintf(in->id, sizeof(in->id), "%s", n.id);
			in->term = n.term;
			in->state = n.state;
			in->created_ms = now_ms;
			in->mod_revision = tr.revision;
			vmp_etcd_txn_result_clear(&tr);
			age_tick(cl, in->id);
			return 0;
		}
		rl = tr.nranges ? &tr.ranges[0] : NULL;
		if (!rl || rl->nkvs == 0 || rl->kvs[0].create_revision != cl->term) {
			vmp_etcd_txn_result_clear(&tr);
			lose_leadership(cl);
			return fail(cl, -ESTALE, "cannot create an intent for vm '%s': term %" PRId64
				    " is over: now a follower", in->vm, cl->term);
		}
		/* the id was taken (an earlier answer lost): the next sequence number */
		vmp_etcd_txn_result_clear(&tr);
	}
	return fail(cl, -EEXIST, "cannot create an intent for vm '%s': ids of term %" PRId64
		    " are taken", in->vm, cl->term);
}

int
vmp_cluster_intents_mine(struct vmp_cluster *cl, struct vmp_cluster_intent **ret_intents)
{
	struct vmp_etcd_range_req q = { .key = cl->k_intents, .prefix = true };
	struct vmp_etcd_range rg = { 0 };
	struct vmp_cluster_intent *v = NULL;
	size_t i, n = 0;
	int r;

	r = vmp_etcd_range(cl->etcd, &q, &rg);
	if (r < 0)
		return etcd_result(cl, r, "cannot read the intents");
	etcd_result(cl, 0, "");
	for (i = 0; i < rg.nkvs; i++) {
		struct vmp_cluster_intent in;
		char *err = NULL;

		if (vmp_cluster_intent_decode(rg.kvs[i].key, rg.kvs[i].value, rg.kvs[i].value_len,
					      &in, &err) < 0) {
			/* someone else's bad record is not this agent's business here */
			free(err);
			continue;
		}
		if (strcmp(in.from, cl->agent) != 0 ||
		    (in.state != VMP_CLUSTER_INTENT_PENDING && in.state != VMP_CLUSTER_INTENT_RUNNING)) {
			vmp_cluster_intent_clear(&in);
			continue;
		}
		in.mod_revision = rg.kvs[i].mod_revision;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = in;
	}
	vmp_etcd_range_clear(&rg);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_intent);
	*ret_intents = v;
	return (int)n;
}

int
vmp_cluster_intent_claim(struct vmp_cluster *cl, struct vmp_cluster_intent *in, int64_t now_ms)
{
	struct vmp_cluster_intent next;

	if (in->state != VMP_CLUSTER_INTENT_PENDING || !in->from || strcmp(in->from, cl->agent) != 0)
		return fail(cl, -EINVAL, "cannot claim intent '%s': it is %s and from '%s'", in->id,
			    vmp_cluster_intent_state_name(in->state), in->from ? in->from : "");
	next = with_state(in, VMP_CLUSTER_INTENT_RUNNING);
	next.claimed_ms = now_ms;
	return rewrite(cl, in, in->term, &next, "cannot claim an intent");
}

int
vmp_cluster_intent_finish(struct vmp_cluster *cl, struct vmp_cluster_intent *in,
			  enum vmp_cluster_intent_state state, const char *error, int64_t now_ms)
{
	struct vmp_cluster_intent next;

	if (state != VMP_CLUSTER_INTENT_DONE && state != VMP_CLUSTER_INTENT_FAILED)
		return fail(cl, -EINVAL, "cannot finish intent '%s' as %s", in->id,
			    vmp_cluster_intent_state_name(state));
	if (in->state != VMP_CLUSTER_INTENT_RUNNING)
		return fail(cl, -EINVAL, "cannot finish intent '%s': it is %s, not running", in->id,
			    vmp_cluster_intent_state_name(in->state));
	next = with_state(in, state);
	next.finished_ms = now_ms;
	next.error = (char *)error;
	return rewrite(cl, in, 0, &next, "cannot finish an intent");
}

json_t *
vmp_cluster_status(const struct vmp_cluster *cl, int64_t now_ms)
{
	json_t *o = json_object(), *members = json_array(), *counts = json_object(), *m;
	size_t i;
	int s;

	json_object_set_new(o, "mode", json_string("agents"));
	json_object_set_new(o, "agent", json_string(cl->agent));
	json_object_set_new(o, "role", json_string(vmp_cluster_role_name(cl->role)));
	json_object_set_new(o, "leader", cl->leader ? json_string(cl->leader) : json_null());
	json_object_set_new(o, "term", json_integer(cl->term));
	json_object_set_new(o, "lease", json_integer(vmp_cluster_lease(cl)));
	json_array_foreach(cl->members, i, m) {
		int64_t wall = json_integer_value(json_object_get(m, "wall_ms"));

		json_array_append_new(members, json_pack("{s:O, s:f, s:O}",
			"name", json_object_get(m, "name"),
			"age_s", wall > 0 ? (double)(now_ms - wall) / 1000.0 : -1.0,
			"vms", json_object_get(m, "vms")));
	}
	json_object_set_new(o, "members", members);
	json_object_set_new(o, "etcd", json_pack("{s:b, s:s, s:s}", "ok", cl->etcd_up,
		"endpoint", vmp_etcd_endpoint(cl->etcd), "error", cl->etcd_up ? "" : cl->etcd_err));
	json_object_set_new(o, "snapshot_age_s", cl->snap_ms ?
			    json_real((double)(now_ms - cl->snap_ms) / 1000.0) : json_null());
	for (s = 0; s < VMP_CLUSTER_INTENT_STATE_MAX; s++)
		json_object_set_new(counts, state_names[s], json_integer((json_int_t)cl->counts[s]));
	json_object_set_new(o, "intents", counts);
	json_object_set_new(o, "recent", json_deep_copy(cl->recent));
	json_object_set_new(o, "errors", json_deep_copy(cl->errors));
	return o;
}

void
vmp_cluster_counters(const struct vmp_cluster *cl, int64_t now_ms, struct vmp_cluster_counters *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->leader = cl->role == VMP_CLUSTER_LEADER;
	ret->etcd_up = cl->etcd_up;
	ret->leader_changes = cl->leader_changes;
	ret->term = cl->term;
	ret->snapshot_age_s = cl->snap_ms ? (double)(now_ms - cl->snap_ms) / 1000.0 : -1;
	ret->members = cl->nmembers;
	memcpy(ret->intents, cl->counts, sizeof(ret->intents));
}
