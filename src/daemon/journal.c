/* SPDX-License-Identifier: MIT */
/*
 * Writing and reading the decision journal (see journal.h): formatting, the writer with
 * its whole-line writes, rotation and index, and the reader used by `vmpilot why`.
 */
#include "daemon/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/util.h"

/* A JSON string of s; bytes that are not valid UTF-8 become '?' (never a NULL value). */
static json_t *
jstr(const char *s)
{
	json_t *v;
	char *p, *c;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	p = vmp_str_printable(s);
	for (c = p; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	v = json_string(p);
	free(p);
	return v;
}

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
	o = json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:b, s:o, s:o, s:o}",
		      "time_ms", (json_int_t)r->time_ms, "vm", jstr(r->vm ? r->vm : ""),
		      "policy", r->policy, "action", vmp_action_name(d->action),
		      "reason", vmp_reason_name(d->reason), "resource", d->resource,
		      "from", number(d->from), "to", number(d->to), "dry_run", r->dry_run,
		      "acted", r->acted, "error", jstr(r->error),
		      "checks", checks, "rejected", rejected);
	if (r->host)
		json_object_set_new(o, "host", jstr(r->host));
	if (r->mode)
		json_object_set_new(o, "mode", jstr(r->mode));
	if (r->inputs)
		json_object_set(o, "inputs", r->inputs);
	if (r->intent)
		json_object_set_new(o, "intent", json_true());
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		abort(); /* only on allocation failure */
	out = xstrdup(s);
	free(s);
	return out;
}


char *
vmp_journal_format_event(const struct vmp_journal_event *e)
{
	json_t *o = json_object();
	char *s, *out;

	json_object_set_new(o, "time_ms", json_integer((json_int_t)e->time_ms));
	json_object_set_new(o, "vm", jstr(e->vm ? e->vm : ""));
	json_object_set_new(o, "policy", json_string("event"));
	json_object_set_new(o, "event", jstr(e->event));
	json_object_set_new(o, "message", jstr(e->message ? e->message : ""));
	if (e->host)
		json_object_set_new(o, "host", jstr(e->host));
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

/*
 * The index beside each journal file (path.idx): a header, then one record per line of
 * the journal, in file order. Native byte order: it is read back on the machine that
 * wrote it, and rebuilt from the journal whenever it does not match.
 */
#define IDX_MAGIC "VMPJIDX1"
#define IDX_HEADER 16
#define IDX_CHUNK 8192            /* records read at a time, newest first */

enum {
	IDX_INTERESTING = 1,   /* vmp_journal_interesting() */
	IDX_INTENT = 2,        /* an intent line */
	IDX_CORRUPT = 4,       /* not a journal object (skipped, with a warning) */
	IDX_EVENT = 8,
};

struct idx_rec {
	uint64_t vm_hash;      /* FNV-1a of the "vm" string */
	uint64_t offset;       /* of the line in the journal */
	uint32_t len;          /* without the newline */
	uint32_t flags;
	uint64_t lineno;       /* 1-based, for warnings */
};

static uint64_t
vm_hash(const char *vm)
{
	uint64_t h = 14695981039346656037ull;

	for (; *vm; vm++) {
		h ^= (unsigned char)*vm;
		h *= 1099511628211ull;
	}
	return h;
}

static uint32_t
entry_flags(const json_t *o)
{
	uint32_t f = 0;

	if (!o)
		return IDX_CORRUPT;
	if (vmp_journal_interesting(o))
		f |= IDX_INTERESTING;
	if (json_is_true(json_object_get(o, "intent")))
		f |= IDX_INTENT;
	if (json_is_string(json_object_get(o, "event")))
		f |= IDX_EVENT;
	return f;
}

struct vmp_journal {
	char *path;               /* "-" for a borrowed fd */
	int fd, idx_fd;           /* idx_fd -1: no index */
	bool borrowed;
	struct vmp_journal_limits lim;
	uint64_t size;            /* of the journal: every byte a whole line */
	uint64_t lines;
	uint64_t idx_lines;       /* lines the index covers; < lines: catch up */
	char *warning;
};

static void
warn_once(struct vmp_journal *j, char *msg)
{
	if (j->warning)
		free(msg);
	else
		j->warning = msg;
}

char *
vmp_journal_take_warning(struct vmp_journal *j)
{
	char *w = j ? j->warning : NULL;

	if (j)
		j->warning = NULL;
	return w;
}

const char *
vmp_journal_path(const struct vmp_journal *j)
{
	return j->path;
}

static char *
idx_path(const char *path)
{
	return xasprintf("%s.idx", path);
}

/* Writes all of buf at offset with pwrite; 0 or -errno. */
static int
pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Reads exactly len bytes at off; 0, -errno, or -EIO when the file is shorter. */
static int
pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * Calls fn for each line of fd from offset off (line number lineno + 1 on) to end:
 * with the line (NUL-terminated, without newline) or NULL when it is longer than
 * VMP_JOURNAL_LINE_MAX. A last line without newline is passed too. Returns 0, -errno
 * or what fn returns when negative (which stops).
 */
typedef int (*line_fn)(void *ctx, const char *line, size_t len, uint64_t off, uint64_t lineno);

static int
scan_lines(int fd, uint64_t off, uint64_t end, uint64_t lineno, line_fn fn, void *ctx)
{
	size_t cap = VMP_JOURNAL_LINE_MAX + 2, have = 0;
	char *buf = xmalloc(cap + 1);
	uint64_t line_off = off, pos = off;
	bool skipping = false;
	int r = 0;

	while (pos < end || have) {
		char *nl;
		ssize_t n = 0;

		if (pos < end && have < cap) {
			size_t want = cap - have;

			if ((uint64_t)want > end - pos)
				want = (size_t)(end - pos);
			n = pread(fd, buf + have, want, (off_t)pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			if (n == 0)
				end = pos; /* the file shrank under us */
			pos += (uint64_t)n;
			have += (size_t)n;
		}
		nl = memchr(buf, '\n', have);
		if (!nl && (have == cap || pos >= end)) {
			if (have == cap) {
				/* Too long: report once, then drop bytes up to its newline. */
				if (!skipping) {
					r = fn(ctx, NULL, 0, line_off, ++lineno);
					if (r < 0)
						break;
				}
				skipping = true;
				line_off += have;
				have = 0;
				continue;
			}
			/* The last line has no newline. */
			if (!skipping) {
				buf[have] = '\0';
				r = fn(ctx, buf, have, line_off, ++lineno);
			}
			break;
		}
		if (!nl)
			continue;
		{
			size_t len = (size_t)(nl - buf);

			if (!skipping) {
				*nl = '\0';
				r = fn(ctx, buf, len, line_off, ++lineno);
				if (r < 0)
					break;
			}
			skipping = false;
			line_off += len + 1;
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
		}
	}
	free(buf);
	return r;
}

/* Index records of lines scanned from the journal (catch-up, or a reader's fallback). */
struct idx_build {
	struct idx_rec *recs;
	size_t n, alloc;
	uint64_t hash;            /* keep only this VM's lines (with `filter`) */
	bool filter;
};

static int
build_line(void *ctx, const char *line, size_t len, uint64_t off, uint64_t lineno)
{
	struct idx_build *b = ctx;
	struct idx_rec rec = { .offset = off, .len = (uint32_t)len, .lineno = lineno };
	char *msg = NULL;
	json_t *o = NULL;

	if (line && len == 0)
		return 0;
	if (line)
		o = vmp_journal_parse_line(line, len, &msg);
	free(msg);
	rec.flags = entry_flags(o);
	if (o)
		rec.vm_hash = vm_hash(json_string_value(json_object_get(o, "vm")));
	if (!line)
		rec.len = UINT32_MAX; /* too long */
	json_decref(o);
	if (b->filter && (rec.flags & IDX_CORRUPT) == 0 && rec.vm_hash != b->hash)
		return 0;
	xgrow((void **)&b->recs, &b->alloc, b->n + 1, sizeof(*b->recs));
	b->recs[b->n++] = rec;
	return 0;
}

/*
 * Whether the journal (fd) holds, at rec's place, the line rec describes: a line that
 * starts after a newline, ends with one, and (when it was a journal object) names the
 * same VM and has the same kind. A journal replaced by another file (an operator's copy,
 * a restore) fails this at the index's last record, and the index is then not used.
 */
static bool
idx_rec_matches(int fd, const struct idx_rec *rec)
{
	char c, *buf, *msg = NULL;
	json_t *o;
	bool ok;

	if (rec->offset > 0 && (pread(fd, &c, 1, (off_t)(rec->offset - 1)) != 1 || c != '\n'))
		return false;
	if (rec->len == UINT32_MAX)
		return true;  /* too long to have been parsed: its end is found by scanning */
	if (rec->len > VMP_JOURNAL_LINE_MAX)
		return false;
	buf = xmalloc((size_t)rec->len + 1);
	ok = pread_all(fd, buf, (size_t)rec->len + 1, rec->offset) == 0 && buf[rec->len] == '\n';
	if (ok && !(rec->flags & IDX_CORRUPT)) {
		o = vmp_journal_parse_line(buf, rec->len, &msg);
		ok = o && entry_flags(o) == rec->flags &&
		     vm_hash(json_string_value(json_object_get(o, "vm"))) == rec->vm_hash;
		json_decref(o);
		free(msg);
	}
	free(buf);
	return ok;
}

/* The index's records: how many, and the last one (when there is one). */
static int
idx_check(int idx_fd, int fd, uint64_t jsize, uint64_t *ret_n, struct idx_rec *ret_last)
{
	char hdr[IDX_HEADER];
	struct stat st;
	uint64_t n;

	if (fstat(idx_fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < IDX_HEADER || pread_all(idx_fd, hdr, IDX_HEADER, 0) < 0 ||
	    memcmp(hdr, IDX_MAGIC, 8) != 0)
		return -EINVAL;
	n = ((uint64_t)st.st_size - IDX_HEADER) / sizeof(struct idx_rec);
	memset(ret_last, 0, sizeof(*ret_last));
	if (n && pread_all(idx_fd, ret_last, sizeof(*ret_last),
			   IDX_HEADER + (n - 1) * sizeof(struct idx_rec)) < 0)
		return -EINVAL;
	if (n && (ret_last->len != UINT32_MAX && ret_last->offset + ret_last->len + 1 > jsize))
		return -EINVAL; /* ahead of the journal: a different file */
	if (n && ret_last->lineno != n)
		return -EINVAL;
	if (n && !idx_rec_matches(fd, ret_last))
		return -EINVAL; /* the journal was replaced: the index describes another file */
	*ret_n = n;
	return 0;
}

/* Where the line after rec starts (a too-long line's end is found by scanning). */
static uint64_t
rec_end(int fd, const struct idx_rec *rec)
{
	char c;
	uint64_t off;

	if (rec->len != UINT32_MAX)
		return rec->offset + rec->len + 1;
	for (off = rec->offset; pread(fd, &c, 1, (off_t)off) == 1; off++)
		if (c == '\n')
			return off + 1;
	return off;
}

/*
 * Brings the index up to date with the journal: keeps what matches, rebuilds the rest.
 * Sets j->lines. Returns 0 or -errno (the index lags behind; tried again later).
 */
static int
idx_catch_up(struct vmp_journal *j)
{
	struct idx_build b = { 0 };
	struct idx_rec last;
	uint64_t n = 0, from = 0;
	int r;

	if (j->idx_fd < 0)
		return 0;
	if (idx_check(j->idx_fd, j->fd, j->size, &n, &last) < 0) {
		char hdr[IDX_HEADER] = IDX_MAGIC;

		n = 0;
		if (ftruncate(j->idx_fd, 0) < 0 || pwrite_all(j->idx_fd, hdr, IDX_HEADER, 0) < 0) {
			r = -errno;
			goto out;
		}
	} else if (n) {
		from = rec_end(j->fd, &last);
	}
	r = scan_lines(j->fd, from, j->size, n, build_line, &b);
	if (r == 0 && ftruncate(j->idx_fd, (off_t)(IDX_HEADER + n * sizeof(struct idx_rec))) < 0)
		r = -errno;
	if (r == 0 && b.n)
		r = pwrite_all(j->idx_fd, b.recs, b.n * sizeof(*b.recs),
			       IDX_HEADER + n * sizeof(struct idx_rec));
out:
	free(b.recs);
	if (r < 0) {
		/* Tried again at the next line; readers scan what the index lacks. */
		warn_once(j, xasprintf("cannot write the journal index '%s.idx': %s",
				       j->path, strerror(-r)));
		return r;
	}
	j->lines = n + b.n;
	j->idx_lines = j->lines;
	return 0;
}

static int
count_line(void *ctx, const char *line, size_t len, uint64_t off, uint64_t lineno)
{
	(void)line;
	(void)len;
	(void)off;
	*(uint64_t *)ctx = lineno;
	return 0;
}

static int
open_files(struct vmp_journal *j, char **ret_err)
{
	char *ip = idx_path(j->path);
	struct stat st;
	char c;
	int r;

	/* Read access too, for the check of the last line and the index catch-up. */
	j->fd = vmp_open_regular(j->path, O_RDWR | O_APPEND | O_CREAT, 0640);
	if (j->fd < 0 || fstat(j->fd, &st) < 0) {
		r = j->fd < 0 ? j->fd : -errno;
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
		*ret_err = xasprintf("cannot open journal '%s': %s", j->path, vmp_file_strerror(r));
		free(ip);
		return r;
	}
	j->size = (uint64_t)st.st_size;
	/* A torn last line (a crash, or an older writer on a full disk) is ended here. */
	if (j->size && pread(j->fd, &c, 1, (off_t)(j->size - 1)) == 1 && c != '\n') {
		if (write(j->fd, "\n", 1) == 1)
			j->size++;
	}
	j->idx_fd = vmp_open_regular(ip, O_RDWR | O_CREAT, 0640);
	if (j->idx_fd < 0)
		warn_once(j, xasprintf("cannot open the journal index '%s': %s", ip,
				       vmp_file_strerror(j->idx_fd)));
	free(ip);
	if (j->idx_fd < 0 || idx_catch_up(j) < 0) {
		/* No index: count the lines ourselves. */
		uint64_t lines = 0;

		scan_lines(j->fd, 0, j->size, 0, count_line, &lines);
		j->lines = lines;
	}
	return 0;
}

int
vmp_journal_open(const char *path, const struct vmp_journal_limits *lim,
		 struct vmp_journal **ret_j, char **ret_err)
{
	struct vmp_journal *j = xcalloc(1, sizeof(*j));
	int r;

	j->path = xstrdup(path);
	j->fd = j->idx_fd = -1;
	if (lim)
		j->lim = *lim;
	if (j->lim.keep < 1)
		j->lim.keep = 1;
	r = open_files(j, ret_err);
	if (r < 0) {
		vmp_journal_close(j);
		return r;
	}
	*ret_j = j;
	return 0;
}

struct vmp_journal *
vmp_journal_open_fd(int fd)
{
	struct vmp_journal *j = xcalloc(1, sizeof(*j));

	j->path = xstrdup("-");
	j->fd = fd;
	j->idx_fd = -1;
	j->borrowed = true;
	return j;
}

void
vmp_journal_close(struct vmp_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0 && !j->borrowed)
		close(j->fd);
	if (j->idx_fd >= 0)
		close(j->idx_fd);
	free(j->warning);
	free(j->path);
	free(j);
}

/* fsync of the directory holding path, so a created or renamed file stays. */
static void
sync_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Renames from to to, with their indexes; a missing from is not an error. */
static int
rename_pair(const char *from, const char *to)
{
	char *fi = idx_path(from), *ti = idx_path(to);
	int r = 0;

	if (rename(from, to) < 0 && errno != ENOENT)
		r = -errno;
	if (r == 0 && rename(fi, ti) < 0 && errno != ENOENT)
		unlink(ti); /* a stale index would be rebuilt anyway */
	free(fi);
	free(ti);
	return r;
}

/*
 * path -> path.1 -> ... -> path.keep (the oldest dropped), then a new empty path.
 * On failure the current file is kept and written on; the caller is warned once.
 */
static void
rotate(struct vmp_journal *j)
{
	char *from, *to, *err = NULL;
	unsigned i;
	int r = 0;

	fsync(j->fd);
	to = xasprintf("%s.%u", j->path, j->lim.keep);
	from = idx_path(to);
	unlink(to);
	unlink(from);
	free(from);
	free(to);
	for (i = j->lim.keep; i > 1 && r == 0; i--) {
		from = xasprintf("%s.%u", j->path, i - 1);
		to = xasprintf("%s.%u", j->path, i);
		r = rename_pair(from, to);
		free(from);
		free(to);
	}
	if (r == 0) {
		to = xasprintf("%s.1", j->path);
		r = rename_pair(j->path, to);
		free(to);
	}
	if (r < 0) {
		warn_once(j, xasprintf("cannot rotate journal '%s': %s", j->path, strerror(-r)));
		return;
	}
	close(j->fd);
	if (j->idx_fd >= 0)
		close(j->idx_fd);
	j->fd = j->idx_fd = -1;
	j->size = j->lines = j->idx_lines = 0;
	r = open_files(j, &err);
	if (r < 0) {
		/* The old file is renamed away: nothing to write on until a reopen. */
		warn_once(j, err);
		return;
	}
	sync_dir(j->path);
}

/* Appends the index record of the line just written (or catches up later). */
static void
idx_append(struct vmp_journal *j, const char *vm, uint32_t flags, uint64_t off, size_t len)
{
	struct idx_rec rec = { .vm_hash = vm_hash(vm), .offset = off, .len = (uint32_t)len,
			       .flags = flags, .lineno = j->lines };

	if (j->idx_fd < 0)
		return;
	if (j->idx_lines + 1 != j->lines && idx_catch_up(j) < 0)
		return;
	if (j->idx_lines == j->lines)
		return; /* the catch-up indexed it */
	if (pwrite_all(j->idx_fd, &rec, sizeof(rec),
		       IDX_HEADER + j->idx_lines * sizeof(rec)) < 0) {
		/* Full disk: the index lags behind; the next line catches it up. */
		if (ftruncate(j->idx_fd, (off_t)(IDX_HEADER + j->idx_lines * sizeof(rec))) < 0)
			j->idx_lines = 0; /* checked and rebuilt at the catch-up */
		return;
	}
	j->idx_lines++;
}

/* Writes line (without newline) as one whole line. */
static int
write_line(struct vmp_journal *j, char *line, const char *vm, uint32_t flags)
{
	size_t len = strlen(line);
	uint64_t off;
	ssize_t n;
	char *buf;

	if (len + 1 > VMP_JOURNAL_LINE_MAX)
		return -E2BIG;
	if (j->fd < 0) {
		char *err = NULL;
		int r = open_files(j, &err);

		if (r < 0) {
			free(err);
			return r;
		}
	}
	if (!j->borrowed && j->lim.max_bytes && j->size && j->size + len + 1 > j->lim.max_bytes)
		rotate(j);
	if (j->fd < 0)
		return -EBADF;
	buf = xmalloc(len + 1);
	memcpy(buf, line, len);
	buf[len] = '\n';
	off = j->size;
	do
		n = write(j->fd, buf, len + 1);
	while (n < 0 && errno == EINTR);
	free(buf);
	if (n == (ssize_t)(len + 1)) {
		j->size += len + 1;
		j->lines++;
		idx_append(j, vm, flags, off, len);
		return 0;
	}
	{
		int r = n < 0 ? -errno : -ENOSPC;

		/*
		 * A partial line is cut off again, so the next one starts on a fresh line.
		 * When even that fails, the files are closed: open_files() ends the torn
		 * line at the next write.
		 */
		if (n > 0 && !j->borrowed && ftruncate(j->fd, (off_t)off) < 0) {
			close(j->fd);
			if (j->idx_fd >= 0)
				close(j->idx_fd);
			j->fd = j->idx_fd = -1;
		}
		return r;
	}
}

int
vmp_journal_write(struct vmp_journal *j, const struct vmp_journal_record *r)
{
	const struct vmp_decision *d = r->decision;
	char *line = vmp_journal_format(r);
	uint32_t flags = 0;
	int rc;

	/* As entry_flags() would find them in the line. */
	if (d->action != VMP_ACT_NONE ||
	    (d->reason != VMP_WHY_STEADY && d->reason != VMP_WHY_LEARNING))
		flags |= IDX_INTERESTING;
	if (r->intent)
		flags |= IDX_INTENT;
	rc = write_line(j, line, r->vm ? r->vm : "", flags);
	free(line);
	return rc;
}

int
vmp_journal_write_event(struct vmp_journal *j, const struct vmp_journal_event *e)
{
	char *line = vmp_journal_format_event(e);
	int rc = write_line(j, line, e->vm ? e->vm : "", IDX_INTERESTING | IDX_EVENT);

	free(line);
	return rc;
}

int
vmp_journal_room(struct vmp_journal *j)
{
	struct statvfs sv;
	char *dir, *slash;
	int r = 0;

	if (j->borrowed)
		return 0;
	dir = xstrdup(j->path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (statvfs(dir, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < 2ull * VMP_JOURNAL_LINE_MAX)
		r = -ENOSPC;
	free(dir);
	return r;
}

int
vmp_journal_sync(struct vmp_journal *j)
{
	if (j->fd < 0)
		return -EBADF;
	if (fdatasync(j->fd) < 0 && errno != EINVAL)
		return -errno; /* EINVAL: a pipe or terminal (stdout), nothing to sync */
	return 0;
}

/* The keys every decision entry must have, with their JSON types. */
static const struct {
	const char *key;
	json_type type;
} required[] = {
	{ "time_ms", JSON_INTEGER }, { "vm", JSON_STRING }, { "policy", JSON_STRING },
	{ "action", JSON_STRING }, { "reason", JSON_STRING }, { "resource", JSON_STRING },
	{ "checks", JSON_ARRAY }, { "rejected", JSON_ARRAY },
};

/* And every event entry. */
static const struct {
	const char *key;
	json_type type;
} required_event[] = {
	{ "time_ms", JSON_INTEGER }, { "vm", JSON_STRING }, { "policy", JSON_STRING },
	{ "event", JSON_STRING }, { "message", JSON_STRING },
};

json_t *
vmp_journal_parse_line(const char *line, size_t len, char **ret_msg)
{
	json_error_t jerr;
	json_t *o;
	size_t i;

	if (len > VMP_JOURNAL_LINE_MAX) {
		*ret_msg = xasprintf("line longer than %u bytes", VMP_JOURNAL_LINE_MAX);
		return NULL;
	}
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
	if (json_object_get(o, "event")) {
		for (i = 0; i < VMP_ARRAY_SIZE(required_event); i++) {
			json_t *v = json_object_get(o, required_event[i].key);

			if (!v || json_typeof(v) != required_event[i].type) {
				*ret_msg = xasprintf("missing or mistyped key '%s'",
						     required_event[i].key);
				json_decref(o);
				return NULL;
			}
		}
		return o;
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

bool
vmp_journal_interesting(const json_t *e)
{
	const char *action = json_string_value(json_object_get(e, "action"));
	const char *reason = json_string_value(json_object_get(e, "reason"));

	if (json_is_string(json_object_get(e, "event")))
		return true;
	if (!action || !reason)
		return false;
	return strcmp(action, "none") != 0 || (strcmp(reason, "steady") != 0 &&
					       strcmp(reason, "learning") != 0);
}

/* The reader. */
struct reader {
	const struct vmp_journal_query *q;
	uint64_t hash;
	json_t *newest_first;     /* collected, newest first */
	size_t outcomes_n;        /* recent outcomes of actions, to hide their intents */
	struct {
		json_int_t time_ms;
		char policy[32], resource[32];
	} outcomes[16];
};

static void
rwarn(struct reader *rd, const char *path, uint64_t lineno, const char *msg)
{
	char *s;

	if (!rd->q->warn)
		return;
	s = xasprintf("%s:%llu: %s", path, (unsigned long long)lineno, msg);
	rd->q->warn(rd->q->opaque, s);
	free(s);
}

static bool
reader_full(const struct reader *rd)
{
	return rd->q->max && json_array_size(rd->newest_first) >= rd->q->max;
}

/* Takes entry o (reading newest first); returns true when it is kept. */
static bool
reader_take(struct reader *rd, json_t *o)
{
	const char *vm = json_string_value(json_object_get(o, "vm"));
	const char *policy = json_string_value(json_object_get(o, "policy"));
	const char *resource = json_string_value(json_object_get(o, "resource"));
	json_int_t t = json_integer_value(json_object_get(o, "time_ms"));
	bool intent = json_is_true(json_object_get(o, "intent"));
	size_t i;

	if (rd->q->vm && strcmp(vm, rd->q->vm) != 0)
		return false;
	if (!resource)
		resource = "";
	if (intent && !rd->q->all) {
		/* Its outcome came later (seen already): the intent adds nothing. */
		for (i = 0; i < rd->outcomes_n; i++)
			if (rd->outcomes[i].time_ms == t && !strcmp(rd->outcomes[i].policy, policy) &&
			    !strcmp(rd->outcomes[i].resource, resource))
				return false;
	} else if (json_is_string(json_object_get(o, "action")) &&
		   strcmp(json_string_value(json_object_get(o, "action")), "none") != 0) {
		i = rd->outcomes_n < VMP_ARRAY_SIZE(rd->outcomes) ? rd->outcomes_n++ :
		    (size_t)(t % (json_int_t)VMP_ARRAY_SIZE(rd->outcomes));
		rd->outcomes[i].time_ms = t;
		snprintf(rd->outcomes[i].policy, sizeof(rd->outcomes[i].policy), "%s", policy);
		snprintf(rd->outcomes[i].resource, sizeof(rd->outcomes[i].resource), "%s", resource);
	}
	if (!rd->q->all && !vmp_journal_interesting(o))
		return false;
	json_array_append(rd->newest_first, o);
	return true;
}

/* Walks records newest first, reading and parsing the lines that may match. */
static int
reader_walk(struct reader *rd, const char *path, int fd, const struct idx_rec *recs, size_t n)
{
	char *buf = xmalloc(VMP_JOURNAL_LINE_MAX + 1);
	size_t i = n;

	while (i-- > 0 && !reader_full(rd)) {
		const struct idx_rec *rec = &recs[i];
		char *msg = NULL;
		json_t *o;

		if (rec->flags & IDX_CORRUPT) {
			if (rec->len > VMP_JOURNAL_LINE_MAX ||
			    pread_all(fd, buf, rec->len, rec->offset) < 0) {
				rwarn(rd, path, rec->lineno, "line longer than 65536 bytes: skipped");
				continue;
			}
			buf[rec->len] = '\0';
			o = vmp_journal_parse_line(buf, rec->len, &msg);
			json_decref(o);
			if (msg) {
				char *m = xasprintf("%s: skipped", msg);

				rwarn(rd, path, rec->lineno, m);
				free(m);
				free(msg);
			}
			continue;
		}
		if (rd->q->vm && rec->vm_hash != rd->hash)
			continue;
		if (!rd->q->all && !(rec->flags & IDX_INTERESTING))
			continue; /* a steady non-action: not shown */
		if (rec->len > VMP_JOURNAL_LINE_MAX ||
		    pread_all(fd, buf, rec->len, rec->offset) < 0) {
			rwarn(rd, path, rec->lineno, "index does not match the journal: skipped");
			continue;
		}
		buf[rec->len] = '\0';
		o = vmp_journal_parse_line(buf, rec->len, &msg);
		if (!o) {
			char *m = xasprintf("%s: skipped", msg);

			rwarn(rd, path, rec->lineno, m);
			free(m);
			free(msg);
			continue;
		}
		reader_take(rd, o);
		json_decref(o);
	}
	free(buf);
	return 0;
}

/* Reads one journal file (newest lines first). Returns 0, or -errno with *ret_err. */
static int
reader_file(struct reader *rd, const char *path, bool must_exist, char **ret_err)
{
	struct idx_build b = { 0 };
	struct idx_rec *recs = NULL, last;
	uint64_t n = 0, tail_from = 0;
	struct stat st;
	char *ip = idx_path(path);
	int fd, ifd = -1, r = 0;

	fd = vmp_open_regular(path, O_RDONLY, 0);
	if (fd < 0) {
		free(ip);
		if (fd == -ENOENT && !must_exist)
			return -ENOENT;
		*ret_err = xasprintf("cannot read journal '%s': %s", path, vmp_file_strerror(fd));
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		*ret_err = xasprintf("cannot read journal '%s': %s", path, strerror(-r));
		goto out;
	}
	ifd = vmp_open_regular(ip, O_RDONLY, 0);
	if (ifd >= 0 && idx_check(ifd, fd, (uint64_t)st.st_size, &n, &last) == 0 && n)
		tail_from = rec_end(fd, &last);
	else
		n = 0;
	/* The lines after the index (or the whole file without one): scanned. */
	b.filter = rd->q->vm != NULL;
	b.hash = rd->hash;
	r = scan_lines(fd, tail_from, (uint64_t)st.st_size, n ? last.lineno : 0, build_line, &b);
	if (r < 0) {
		*ret_err = xasprintf("cannot read journal '%s': %s", path, strerror(-r));
		goto out;
	}
	reader_walk(rd, path, fd, b.recs, b.n);
	/* Then the index, newest records first, a chunk at a time. */
	recs = xmalloc(IDX_CHUNK * sizeof(*recs));
	while (n > 0 && !reader_full(rd)) {
		size_t cnt = n > IDX_CHUNK ? IDX_CHUNK : (size_t)n;

		if (pread_all(ifd, recs, cnt * sizeof(*recs),
			      IDX_HEADER + (n - cnt) * sizeof(*recs)) < 0)
			break;
		reader_walk(rd, path, fd, recs, cnt);
		n -= cnt;
	}
out:
	free(b.recs);
	free(recs);
	if (ifd >= 0)
		close(ifd);
	close(fd);
	free(ip);
	return r;
}

int
vmp_journal_query(const char *path, const struct vmp_journal_query *q, json_t **ret_entries,
		  char **ret_err)
{
	struct reader rd = { .q = q };
	json_t *out;
	size_t i, k;
	int r;

	rd.hash = q->vm ? vm_hash(q->vm) : 0;
	rd.newest_first = json_array();
	r = reader_file(&rd, path, true, ret_err);
	for (k = 1; r == 0 && q->rotated && k <= VMP_JOURNAL_KEEP_MAX && !reader_full(&rd); k++) {
		char *p = xasprintf("%s.%zu", path, k);

		r = reader_file(&rd, p, false, ret_err);
		free(p);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
	}
	if (r < 0) {
		json_decref(rd.newest_first);
		return r;
	}
	out = json_array();
	for (i = json_array_size(rd.newest_first); i-- > 0;)
		json_array_append(out, json_array_get(rd.newest_first, i));
	json_decref(rd.newest_first);
	*ret_entries = out;
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

/* Prints a string from the journal with its control characters made harmless. */
static void
put(FILE *out, const char *s)
{
	char *p = vmp_str_printable(s ? s : "?");

	fputs(p, out);
	free(p);
}

static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

void
vmp_journal_explain(const json_t *e, FILE *out)
{
	const char *resource = json_string_value(json_object_get(e, "resource"));
	const char *action = str_of(e, "action");
	const json_t *checks = json_object_get(e, "checks"), *rejected = json_object_get(e, "rejected");
	const json_t *err = json_object_get(e, "error"), *x;
	time_t t = (time_t)(json_integer_value(json_object_get(e, "time_ms")) / 1000);
	bool intent = json_is_true(json_object_get(e, "intent"));
	char when[32] = "?";
	const char *mode;
	bool advice;
	struct tm tm;
	size_t i;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "%s ", when);
	put(out, str_of(e, "vm"));
	fputc(' ', out);
	put(out, str_of(e, "policy"));
	fputs(": ", out);
	if (json_is_string(json_object_get(e, "event"))) {
		put(out, str_of(e, "event"));
		fputs(": ", out);
		put(out, str_of(e, "message"));
		fputc('\n', out);
		if (json_is_string(json_object_get(e, "host"))) {
			fputs("    host: ", out);
			put(out, str_of(e, "host"));
			fputc('\n', out);
		}
		return;
	}
	put(out, action);
	if (strcmp(action, "none") != 0) {
		fputs(" ", out);
		print_value(out, resource, json_object_get(e, "from"));
		fputs(" -> ", out);
		print_value(out, resource, json_object_get(e, "to"));
	} else {
		fputs(" at ", out);
		print_value(out, resource, json_object_get(e, "from"));
	}
	fputs(" (", out);
	put(out, str_of(e, "reason"));
	mode = json_string_value(json_object_get(e, "mode"));
	advice = mode && !strcmp(mode, "advise") && strcmp(action, "none") != 0 &&
		 !json_is_true(json_object_get(e, "acted"));
	fprintf(out, ")%s%s\n", json_is_true(json_object_get(e, "dry_run")) ? " [dry run]" :
		advice ? " [advice: mode advise]" : "",
		intent ? " [intended: no outcome journaled]" :
		!advice && json_is_false(json_object_get(e, "acted")) && strcmp(action, "none") != 0 ?
		" [not carried out]" : "");
	if (json_is_string(err)) {
		fputs("    error: ", out);
		put(out, json_string_value(err));
		fputc('\n', out);
	}
	if (json_is_string(json_object_get(e, "host"))) {
		fputs("    host: ", out);
		put(out, str_of(e, "host"));
		fputc('\n', out);
	}
	if (json_is_object(json_object_get(e, "inputs"))) {
		const char *k;
		const json_t *in = json_object_get(e, "inputs");
		int n = 0;

		/* The loop's inputs: numbers and flags on one line, nested decisions left out. */
		json_object_foreach((json_t *)in, k, x) {
			if (!json_is_number(x) && !json_is_boolean(x) && !json_is_string(x))
				continue;
			fputs(n++ ? " " : "    inputs: ", out);
			put(out, k);
			fputc('=', out);
			if (json_is_boolean(x))
				fputs(json_is_true(x) ? "yes" : "no", out);
			else if (json_is_string(x))
				put(out, json_string_value(x));
			else
				print_value(out, k, x);
		}
		if (n)
			fputc('\n', out);
	}
	json_array_foreach(checks, i, x) {
		const char *name = json_string_value(json_object_get(x, "name"));

		fprintf(out, "    %s ", json_is_true(json_object_get(x, "crossed")) ? "crossed" :
			"checked");
		put(out, name);
		fputs(": ", out);
		print_value(out, name, json_object_get(x, "value"));
		fputs(" vs ", out);
		print_value(out, name, json_object_get(x, "limit"));
		fputc('\n', out);
	}
	json_array_foreach(rejected, i, x) {
		fputs("    rejected ", out);
		put(out, json_string_value(json_object_get(x, "alternative")));
		fputs(" (", out);
		print_value(out, resource, json_object_get(x, "value"));
		fputs("): ", out);
		put(out, json_string_value(json_object_get(x, "why")));
		fputc('\n', out);
	}
}
