/* SPDX-License-Identifier: MIT */
/* Writing and reading the decision journal (see journal.h). */
#include "daemon/journal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

/* JSON has no infinity: unbounded limits are written as null. */
static json_t *
number(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

char *
vmp_journal_format(const struct vmp_journal_record *r)
{
	const struct vmp_decision *d = r->decision;
	json_t *o, *checks, *rejected;
	char *s, *out;
	unsigned i;

	checks = json_array();
	for (i = 0; i < d->n_checks; i++)
		json_array_append_new(checks, json_pack("{s:s, s:o, s:o, s:b}",
			"name", d->checks[i].name, "value", number(d->checks[i].value),
			"limit", number(d->checks[i].limit), "crossed", d->checks[i].crossed));
	rejected = json_array();
	for (i = 0; i < d->n_rejected; i++)
		json_array_append_new(rejected, json_pack("{s:s, s:o, s:s}",
			"alternative", d->rejected[i].alternative,
			"value", number(d->rejected[i].value), "why", d->rejected[i].why));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:b, s:o, s:o, s:o}",
		      "time_ms", (json_int_t)r->time_ms, "vm", r->vm ? r->vm : "",
		      "policy", r->policy, "action", vmp_action_name(d->action),
		      "reason", vmp_reason_name(d->reason), "resource", d->resource,
		      "from", number(d->from), "to", number(d->to), "dry_run", r->dry_run,
		      "acted", r->acted, "error", r->error ? json_string(r->error) : json_null(),
		      "checks", checks, "rejected", rejected);
	if (r->host)
		json_object_set_new(o, "host", json_string(r->host));
	if (r->inputs)
		json_object_set(o, "inputs", r->inputs);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		abort(); /* only on allocation failure */
	out = xstrdup(s);
	free(s);
	return out;
}

int
vmp_journal_append(FILE *f, const struct vmp_journal_record *r)
{
	char *line = vmp_journal_format(r);
	int rc = 0;

	if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0)
		rc = errno ? -errno : -EIO;
	free(line);
	return rc;
}

/* The keys every entry must have, with their JSON types. */
static const struct {
	const char *key;
	json_type type;
} required[] = {
	{ "time_ms", JSON_INTEGER }, { "vm", JSON_STRING }, { "policy", JSON_STRING },
	{ "action", JSON_STRING }, { "reason", JSON_STRING }, { "resource", JSON_STRING },
	{ "checks", JSON_ARRAY }, { "rejected", JSON_ARRAY },
};

json_t *
vmp_journal_parse_line(const char *line, size_t len, char **ret_msg)
{
	json_error_t jerr;
	json_t *o;
	size_t i;

	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		*ret_msg = xasprintf("not JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		*ret_msg = xstrdup("not a JSON object");
		return NULL;
	}
	for (i = 0; i < VMP_ARRAY_SIZE(required); i++) {
		json_t *v = json_object_get(o, required[i].key);

		if (!v || json_typeof(v) != required[i].type) {
			*ret_msg = xasprintf("missing or mistyped key '%s'", required[i].key);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int
vmp_journal_read(const char *path, const char *vm, size_t max, json_t **ret_entries,
		 char **ret_err)
{
	char *line = NULL, *msg = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	json_t *all;
	FILE *f;
	int rc = 0;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		*ret_err = xasprintf("cannot read journal '%s': %s", path, strerror(errno));
		return rc;
	}
	all = json_array();
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_t *o;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		o = vmp_journal_parse_line(line, (size_t)n, &msg);
		if (!o) {
			*ret_err = xasprintf("%s:%zu: %s", path, lineno, msg);
			free(msg);
			rc = -EINVAL;
			break;
		}
		if (!vm || strcmp(json_string_value(json_object_get(o, "vm")), vm) == 0)
			json_array_append_new(all, o);
		else
			json_decref(o);
		/* Keep memory bounded: drop the oldest beyond max. */
		if (max && json_array_size(all) > max)
			json_array_remove(all, 0);
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		*ret_err = xasprintf("cannot read journal '%s': %s", path, strerror(EIO));
	}
	free(line);
	fclose(f);
	if (rc < 0) {
		json_decref(all);
		return rc;
	}
	*ret_entries = all;
	return 0;
}

static void
print_value(FILE *out, const char *resource, const json_t *v)
{
	double x;

	if (!json_is_number(v)) {
		fputs("unbounded", out);
		return;
	}
	x = json_number_value(v);
	if (resource && strstr(resource, "_kib") && fabs(x) >= 1024 * 1024)
		fprintf(out, "%.2f GiB", x / (1024.0 * 1024.0));
	else if (resource && strstr(resource, "_kib") && fabs(x) >= 1024)
		fprintf(out, "%.0f MiB", x / 1024.0);
	else
		fprintf(out, "%.4g", x);
}

void
vmp_journal_explain(const json_t *e, FILE *out)
{
	const char *resource = json_string_value(json_object_get(e, "resource"));
	const char *action = json_string_value(json_object_get(e, "action"));
	const json_t *checks = json_object_get(e, "checks"), *rejected = json_object_get(e, "rejected");
	const json_t *err = json_object_get(e, "error"), *x;
	time_t t = (time_t)(json_integer_value(json_object_get(e, "time_ms")) / 1000);
	char when[32] = "?";
	struct tm tm;
	size_t i;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "%s %s %s: %s", when, json_string_value(json_object_get(e, "vm")),
		json_string_value(json_object_get(e, "policy")), action);
	if (action && strcmp(action, "none") != 0) {
		fputs(" ", out);
		print_value(out, resource, json_object_get(e, "from"));
		fputs(" -> ", out);
		print_value(out, resource, json_object_get(e, "to"));
	} else {
		fputs(" at ", out);
		print_value(out, resource, json_object_get(e, "from"));
	}
	fprintf(out, " (%s)%s%s\n", json_string_value(json_object_get(e, "reason")),
		json_is_true(json_object_get(e, "dry_run")) ? " [dry run]" : "",
		json_is_false(json_object_get(e, "acted")) && strcmp(action, "none") != 0 ?
		" [not carried out]" : "");
	if (json_is_string(err))
		fprintf(out, "    error: %s\n", json_string_value(err));
	if (json_is_string(json_object_get(e, "host")))
		fprintf(out, "    host: %s\n", json_string_value(json_object_get(e, "host")));
	if (json_is_object(json_object_get(e, "inputs"))) {
		const char *k;
		const json_t *in = json_object_get(e, "inputs");
		int n = 0;

		/* The loop's inputs: numbers and flags on one line, nested decisions left out. */
		json_object_foreach((json_t *)in, k, x) {
			if (!json_is_number(x) && !json_is_boolean(x) && !json_is_string(x))
				continue;
			fprintf(out, "%s%s=", n++ ? " " : "    inputs: ", k);
			if (json_is_boolean(x))
				fputs(json_is_true(x) ? "yes" : "no", out);
			else if (json_is_string(x))
				fputs(json_string_value(x), out);
			else
				print_value(out, k, x);
		}
		if (n)
			fputc('\n', out);
	}
	json_array_foreach(checks, i, x) {
		const char *name = json_string_value(json_object_get(x, "name"));

		fprintf(out, "    %s %s: ", json_is_true(json_object_get(x, "crossed")) ? "crossed" :
			"checked", name ? name : "?");
		print_value(out, name, json_object_get(x, "value"));
		fputs(" vs ", out);
		print_value(out, name, json_object_get(x, "limit"));
		fputc('\n', out);
	}
	json_array_foreach(rejected, i, x) {
		const char *why = json_string_value(json_object_get(x, "why"));
		const char *alt = json_string_value(json_object_get(x, "alternative"));

		fprintf(out, "    rejected %s (", alt ? alt : "?");
		print_value(out, resource, json_object_get(x, "value"));
		fprintf(out, "): %s\n", why ? why : "?");
	}
}
