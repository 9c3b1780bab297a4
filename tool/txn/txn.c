/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn: the transaction that writes a fix, and undoes it (see txn.h; the
 * journal's format is in journal.c and docs/journal.md).
 *
 * The invariants, which every path below keeps:
 *
 *  1. Nothing of Windows' is written before a journal whose saved pages
 *     cover every byte about to change is on the disk, synced, read back
 *     equal, and in state "applying".  A journal in "creating" names no
 *     write to Windows' files: the next run removes it.
 *  2. The header's state is the only part of a journal written twice, and
 *     it is one 512-byte sector: a cut leaves the old state or the new.
 *  3. The volume still holds what was planned on (length, and the bytes of
 *     each page about to change) when the journal is written; otherwise
 *     nothing is written.
 *  4. What allocates comes first (files grow before their pages are
 *     written), what frees comes last (they shrink after).
 *  5. "complete" is written only after every written range reads back from
 *     the disk equal to what was planned; an undo or a roll-back reads back
 *     every range it wrote, after the sync that drops the caches, before
 *     it removes the journal.
 *  6. A run that fails after its first write to Windows' files puts every
 *     file back from its own journal before returning; when it cannot, it
 *     says so and leaves the journal for undo.
 *  7. Undo and roll-back work out every file's result in memory and write
 *     only when that result hashes to the original the journal recorded;
 *     a file changed since the run refuses the whole undo (changed-since,
 *     nothing written) unless --force puts back its full copy.
 *  8. A journal is dropped header first (zeroed and synced), then removed:
 *     its freed clusters are never taken for a live journal.
 *  9. A journal that is damaged, for another run, or names a file nobounce
 *     never edits is never acted on (bad-journal). */
#include "txn/txn.h"

#include <stdio.h>

/* ---- small steps ---- */

static int set_state(struct vol *v, const char *path, struct buf *bytes, const char *state,
		     struct err *e)
{
	journal_set_state(bytes, state);
	if (vol_write_at(v, path, 0, bytes->p, JOURNAL_HEAD, e) == -1)
		return -1;
	return vol_sync(v, 0, e);
}

/* Where a full copy lies: on the volume, or in --backup-dir on this host. */
struct copyloc {
	struct vol *vol;
	char *path;
	int own;
};

static int copy_open(struct vol *v, const struct txn_opts *to, json_t *f, struct copyloc *c,
		     struct err *e)
{
	memset(c, 0, sizeof *c);
	const char *name = json_field_str(f, "copy");
	if (STREQ(json_field_str(f, "copy_on"), "volume")) {
		c->vol = v;
		c->path = xstrdup(name);
		return 0;
	}
	/* a copy on the host is only ever looked for in the directory given
	 * now: the journal lies on the image, and the image chooses nothing
	 * on the host */
	if (!to->copy_dir)
		return 1;
	c->vol = vol_open_dir(to->copy_dir, vol_writable(v), e);
	if (!c->vol)
		return -1;
	c->own = 1;
	c->path = xstrdup(name);
	return 0;
}

static void copy_close(struct copyloc *c)
{
	if (c->own)
		vol_close(c->vol);
	free(c->path);
}

static void remove_copies(struct vol *v, const struct txn_opts *to, json_t *ix, int *left)
{
	json_t *files = json_object_get(ix, "files");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		if (!json_is_string(json_object_get(f, "copy")))
			continue;
		struct copyloc c;
		struct err e = {0};
		int r = copy_open(v, to, f, &c, &e);
		if (r == 0 && vol_remove(c.vol, c.path, &e) == -1)
			r = -1;
		if (r)
			(*left)++;
		if (r == -1)
			note("%s: %s", vol_name(v), e.msg);
		err_clear(&e);
		if (r != 1)
			copy_close(&c);
	}
}

/* Drops a journal: its header is zeroed first, so that no later run can
 * take its clusters, once freed, for a live journal. */
static int drop(struct vol *v, struct journal *j, const struct txn_opts *to, int *left,
		struct err *e)
{
	static const struct txn_opts none;
	if (j->index)
		remove_copies(v, to ? to : &none, j->index, left);
	static const uint8_t zero[JOURNAL_HEAD];
	if (j->bytes.len >= JOURNAL_HEAD &&
	    (vol_write_at(v, j->path, 0, zero, JOURNAL_HEAD, e) == -1 || vol_sync(v, 0, e) == -1))
		return -1;
	if (vol_remove(v, j->path, e) == -1 || vol_sync(v, 0, e) == -1)
		return -1;
	return 0;
}

/* ---- restoring ---- */

struct restore {
	json_t *f;
	struct buf bytes;    /* the file as it is to be */
	struct spans writes; /* the ranges to write */
	uint64_t len_now;
	int from_copy;
	struct hashjob *hash;	/* of bytes: the file as read, then as it is to be */
	struct hashjob *result; /* of the file as the journal's pages would make it */
};

/* Adds the bytes [from, to) of a file now len bytes long at p: its own,
 * then zeros past its end. */
static void file_part(struct hseg *s, size_t *n, const uint8_t *p, uint64_t len, uint64_t from,
		      uint64_t to)
{
	uint64_t mid = to < len ? to : len, zero = from > len ? from : len;
	if (from < mid)
		s[(*n)++] = (struct hseg){p + from, (size_t)(mid - from)};
	if (to > zero)
		s[(*n)++] = (struct hseg){NULL, (size_t)(to - zero)};
}

/* The hash of the file as the journal's saved pages over it would make it,
 * started beside the hash of the file as it is: the pieces of the file
 * between the ranges, the saved pages, zeros where the file must grow.
 * NULL when the ranges are not in order inside the original length (the
 * journal's judge refuses such; restore_plan then hashes the result it
 * builds). */
static struct hashjob *result_hash(const struct journal *j, const struct restore *r)
{
	json_t *ranges = json_object_get(r->f, "ranges");
	uint64_t size = json_field_u64(r->f, "size_before"), pos = 0, now = r->bytes.len;
	size_t n = 0, cap = 3 * json_array_size(ranges) + 2; /* each range, and the end */
	struct hseg *s = xmalloc(cap * sizeof *s);
	for (size_t k = 0; k < json_array_size(ranges); k++) {
		json_t *g = json_array_get(ranges, k);
		uint64_t off = json_field_u64(g, "offset"), len = json_field_u64(g, "length"),
			 at = json_field_u64(g, "at");
		if (off < pos || off + len > size || at + len > j->bytes.len) {
			free(s);
			return NULL;
		}
		file_part(s, &n, r->bytes.p, now, pos, off);
		s[n++] = (struct hseg){j->bytes.p + at, (size_t)len};
		pos = off + len;
	}
	file_part(s, &n, r->bytes.p, now, pos, size);
	struct hashjob *h = hash_start_segs(s, n);
	free(s);
	return h;
}

/* After a sync that dropped the caches: the file is want's length, and
 * every range of written reads back from the disk as want holds it. */
static int read_back(struct vol *v, const char *path, const struct buf *want,
		     const struct spans *written, struct err *e)
{
	uint64_t size;
	if (vol_size(v, path, &size, e) == -1)
		return -1;
	if (size != want->len)
		return fail(e, "verify-failed", "%s: is %llu bytes after writing, not %zu", path,
			    (unsigned long long)size, want->len);
	struct buf back = {0};
	int r = 0;
	for (size_t k = 0; k < written->n && r == 0; k++) {
		struct span s = span_clip(written->v[k], want->len);
		if (!s.len)
			continue;
		buf_free(&back);
		buf_alloc(&back, s.len);
		r = vol_read_at(v, path, s.off, back.p, s.len, e);
		if (r == 0 && memcmp(back.p, want->p + s.off, s.len) != 0)
			r = fail(e, "verify-failed",
				 "%s: reads back different from what was written, at %llu: the "
				 "disk did not keep the write. Check the device (its cache, its "
				 "server) before writing to it again",
				 path, (unsigned long long)s.off);
	}
	buf_free(&back);
	return r;
}

/* Works out, for every file of a journal, the bytes that put it back, and
 * proves in memory that they are the original.  strict: the file must be as
 * the run left it (or already back); with force, a file changed since is
 * restored from its full copy instead. */
static int restore_plan(struct vol *v, struct journal *j, int strict, const struct txn_opts *to,
			struct restore *rs, struct err *e)
{
	json_t *files = json_object_get(j->index, "files");
	size_t n = json_array_size(files);
	/* every file read, and hashed while the next is read */
	for (size_t i = 0; i < n; i++) {
		rs[i].f = json_array_get(files, i);
		if (vol_read(v, json_field_str(rs[i].f, "path"), HIVE_MAX_BYTES, &rs[i].bytes, e) ==
		    -1)
			return -1;
		rs[i].len_now = rs[i].bytes.len;
		rs[i].hash = hash_start(rs[i].bytes.p, rs[i].bytes.len);
		/* what undo would make of it, hashed at the same time */
		rs[i].result = result_hash(j, &rs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *f = rs[i].f;
		struct restore *r = &rs[i];
		const char *path = json_field_str(f, "path");
		char sha[65];
		snprintf(sha, sizeof sha, "%s", hash_wait(r->hash));
		hash_free(r->hash);
		r->hash = NULL;
		if (STREQ(sha, json_field_str(f, "sha256_before"))) {
			hash_free(r->result); /* it reads the bytes */
			r->result = NULL;
			buf_free(&r->bytes);
			continue; /* already as it was */
		}
		if (vol_check_inplace(v, path, e) == -1)
			return -1;
		int changed = !STREQ(sha, json_field_str(f, "sha256_after"));
		if (strict && changed && !to->force)
			return fail(e, "changed-since",
				    "%s: was changed after nobounce fixed it; undo would lose that "
				    "change. Use --force to put back the full copy made by 'fix "
				    "--backup', if there is one",
				    path);
		if (strict && changed) {
			hash_free(rs[i].result); /* r->bytes is replaced */
			r->result = NULL;
			struct copyloc c;
			int k = json_is_string(json_object_get(f, "copy"))
				    ? copy_open(v, to, f, &c, e)
				    : 1;
			struct buf copy = {0};
			if (k == 0 && vol_read(c.vol, c.path, HIVE_MAX_BYTES, &copy, e) == 0)
				sha256_hex(copy.p, copy.len, sha);
			else
				sha[0] = 0;
			if (k != 1)
				copy_close(&c);
			if (k == -1)
				return -1;
			if (!STREQ(sha, json_field_str(f, "sha256_before"))) {
				buf_free(&copy);
				err_clear(e);
				return fail(
				    e, "no-backup",
				    "%s: was changed after nobounce fixed it, and run %d "
				    "has no full copy of it that matches its journal%s; the "
				    "journal alone cannot undo a file changed since. "
				    "Nothing was restored",
				    path, j->run,
				    k == 1 && json_is_string(json_object_get(f, "copy"))
					? " (its copy is on the host: give --backup-dir)"
					: "");
			}
			r->from_copy = 1;
			spans_add(&r->writes, 0, copy.len);
			buf_free(&r->bytes);
			r->bytes = copy;
			continue;
		}
		/* the saved pages over the file as it is, in memory (once the
		 * hash of what they make has read it) */
		hash_wait(r->result);
		uint64_t before = json_field_u64(f, "size_before");
		if (before > r->bytes.len) {
			struct buf grown = {0};
			buf_alloc(&grown, before);
			memcpy(grown.p, r->bytes.p, r->bytes.len);
			memset(grown.p + r->bytes.len, 0, before - r->bytes.len);
			buf_free(&r->bytes);
			r->bytes = grown;
		}
		json_t *ranges = json_object_get(f, "ranges");
		for (size_t k = 0; k < json_array_size(ranges); k++) {
			json_t *g = json_array_get(ranges, k);
			uint64_t off = json_field_u64(g, "offset"),
				 len = json_field_u64(g, "length");
			const uint8_t *saved = j->bytes.p + json_field_u64(g, "at");
			/* only what differs is written (all of it past the
			 * file's present end) */
			for (uint64_t o = 0; o < len; o += NB_PAGE) {
				size_t m = len - o < NB_PAGE ? (size_t)(len - o) : NB_PAGE;
				if (off + o + m > r->len_now ||
				    memcmp(r->bytes.p + off + o, saved + o, m) != 0)
					spans_add(&r->writes, off + o, m);
			}
			memcpy(r->bytes.p + off, saved, len);
		}
		r->bytes.len = before;
		/* hashed while the next file is worked out, unless it was already */
		if (r->result) {
			r->hash = r->result;
			r->result = NULL;
		} else {
			r->hash = hash_start(r->bytes.p, r->bytes.len);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!rs[i].hash)
			continue;
		int same = STREQ(hash_wait(rs[i].hash), json_field_str(rs[i].f, "sha256_before"));
		hash_free(rs[i].hash);
		rs[i].hash = NULL;
		if (!same)
			return fail(
			    e, "changed-since",
			    "%s: its journal (%s) does not lead back to the original: the file "
			    "was changed after nobounce's run %d was interrupted. Nothing was "
			    "restored. Put back the full copy if 'fix --backup' made one, or "
			    "check the file and remove the journal to keep it as it is",
			    json_field_str(rs[i].f, "path"), j->path, j->run);
	}
	return 0;
}

/* Writes what restore_plan worked out, then reads back from the disk every
 * range it wrote. */
static int restore_write(struct vol *v, struct restore *rs, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct restore *r = &rs[i];
		const char *path = json_field_str(r->f, "path");
		if (!r->bytes.p && !r->writes.n && !r->from_copy)
			continue;
		if (r->bytes.len > r->len_now && vol_resize(v, path, r->bytes.len, e) == -1)
			return -1;
		for (size_t k = 0; k < r->writes.n; k++) {
			struct span s = span_clip(r->writes.v[k], r->bytes.len);
			if (s.len &&
			    vol_write_at(v, path, s.off, r->bytes.p + s.off, s.len, e) == -1)
				return -1;
		}
		if (r->bytes.len < r->len_now && vol_resize(v, path, r->bytes.len, e) == -1)
			return -1;
	}
	if (vol_sync(v, 1, e) == -1)
		return -1;
	/* restore_plan proved the bytes in memory are the original; what was
	 * not written was read from the disk into them */
	for (size_t i = 0; i < n; i++)
		if ((rs[i].bytes.p || rs[i].writes.n || rs[i].from_copy) &&
		    read_back(v, json_field_str(rs[i].f, "path"), &rs[i].bytes, &rs[i].writes, e) ==
			-1)
			return -1;
	return 0;
}

static void restore_free(struct restore *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hash_free(rs[i].hash); /* before the bytes they read */
		hash_free(rs[i].result);
		buf_free(&rs[i].bytes);
		free(rs[i].writes.v);
	}
	free(rs);
}

/* Puts a journal's files back (strict as for restore_plan), then drops
 * it. */
static int restore(struct vol *v, struct journal *j, int strict, const struct txn_opts *to,
		   struct err *e)
{
	if (!j->index) /* its creation never finished: nothing was written */
		return drop(v, j, to, &(int){0}, e);
	size_t n = json_array_size(json_object_get(j->index, "files"));
	struct restore *rs = xcalloc(n, sizeof *rs);
	int r = restore_plan(v, j, strict, to, rs, e);
	if (r == 0 && !STREQ(j->state, "undoing")) {
		r = set_state(v, j->path, &j->bytes, "undoing", e);
		if (r == 0)
			snprintf(j->state, sizeof j->state, "undoing");
	}
	if (r == 0)
		r = restore_write(v, rs, n, e);
	restore_free(rs, n);
	int left = 0;
	if (r == 0)
		r = drop(v, j, to, &left, e);
	return r;
}

static int refuse_bad(struct journal *j, struct err *e)
{
	return fail(e, "bad-journal",
		    "%s: nobounce's journal cannot be trusted (%s), so what run %d changed is "
		    "not known. Nothing was written. If 'fix --backup' made full copies "
		    "(*.nobounce-%d.bak), copy them back by hand; otherwise check the files "
		    "with 'nobounce check' and move the journal away",
		    j->path, j->bad, j->run, j->run);
}

int txn_rollback(struct vol *v, struct journal *j, struct err *e)
{
	if (j->bad && j->state[0])
		return refuse_bad(j, e);
	return restore(v, j, 0, NULL, e);
}

int txn_undo(struct vol *v, struct journal *j, const struct txn_opts *to, struct outcome *o,
	     struct err *e)
{
	if (j->bad && j->state[0])
		return refuse_bad(j, e);
	int complete = STREQ(j->state, "complete");
	json_t *files = json_object_get(j->index, "files");
	if (restore(v, j, complete, to, e) == -1)
		return -1;
	/* each file put back: its content goes from "after" to "before" */
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		struct changes ch = {0};
		changes_add(&ch, "restore-file", xstrdup(j->path), NULL,
			    xasprintf("sha256:%s", json_field_str(f, "sha256_after")),
			    xasprintf("sha256:%s", json_field_str(f, "sha256_before")));
		o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
		o->edits[o->nedits++] =
		    (struct edit){.path = xstrdup(json_field_str(f, "path")), .ch = ch};
	}
	return 0;
}

int txn_drop(struct vol *v, struct journal *j, const struct txn_opts *to, struct err *e)
{
	if (j->bad || !STREQ(j->state, "complete"))
		return fail(e, "interrupted",
			    "%s: run %d did not finish; run 'nobounce fix' (to redo it) or "
			    "'nobounce undo' (to roll it back) first",
			    j->path, j->run);
	int left = 0;
	if (drop(v, j, to, &left, e) == -1)
		return -1;
	if (left)
		note("%s: run %d's full copies on this host stay where they are", vol_name(v),
		     j->run);
	return 0;
}

/* ---- applying ---- */

static char *host_copy_name(const struct txn_opts *to, const char *path, int run)
{
	CLEANUP_FREE char *flat = xstrdup(path);
	for (char *c = flat; *c; c++)
		if (*c == '/')
			*c = '_';
	return xasprintf("%s--%s.nobounce-%d.bak", to->copy_tag, flat, run);
}

/* The volume still holds what was planned on: same length, and the pages
 * about to change still hold the bytes saved for them. */
static int still_planned(struct vol *v, struct journal_file *pf, size_t n, struct err *e)
{
	uint8_t *page = xmalloc(NB_PAGE);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct edit *ed = pf[i].ed;
		uint64_t size;
		r = vol_size(v, ed->path, &size, e);
		for (size_t k = 0; k < pf[i].pages.n && r == 0 && size == ed->before.len; k++) {
			struct span s = span_clip(pf[i].pages.v[k], ed->before.len);
			for (uint64_t o = 0; o < s.len && r == 0; o += NB_PAGE) {
				size_t m = s.len - o < NB_PAGE ? (size_t)(s.len - o) : NB_PAGE;
				r = vol_read_at(v, ed->path, s.off + o, page, m, e);
				if (r == 0 && memcmp(page, ed->before.p + s.off + o, m) != 0)
					size = (uint64_t)-1;
			}
		}
		if (r == 0 && size != ed->before.len)
			r = fail(e, "changed-since",
				 "%s: changed while nobounce was planning (another program is "
				 "writing to this volume?); nothing was written",
				 ed->path);
	}
	free(page);
	return r;
}

static int make_copies(struct vol *v, const struct txn_opts *to, struct journal_file *pf, size_t n,
		       int run, size_t *made, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct edit *ed = pf[i].ed;
		struct vol *cv = v;
		if (to->copy_dir && !(cv = vol_open_dir(to->copy_dir, 1, e)))
			return -1;
		pf[i].copy_on = to->copy_dir ? "host" : "volume";
		pf[i].copy = to->copy_dir ? host_copy_name(to, ed->path, run)
					  : journal_copy_name(ed->path, run);
		/* beside its original, a copy takes the original's protection */
		int r = vol_create(cv, pf[i].copy, ed->before.p, ed->before.len,
				   to->copy_dir ? NULL : ed->path, e);
		struct buf back = {.memfd = -1};
		if (r == 0)
			(*made)++;
		if (r == 0 && vol_sync(cv, 1, e) == 0 &&
		    vol_read(cv, pf[i].copy, HIVE_MAX_BYTES, &back, e) == 0 &&
		    (back.len != ed->before.len ||
		     (back.len && memcmp(back.p, ed->before.p, back.len) != 0)))
			r = fail(e, "io", "%s: the copy reads back different", pf[i].copy);
		else if (r == 0 && e->msg)
			r = -1;
		buf_free(&back);
		if (cv != v)
			vol_close(cv);
		if (r == -1)
			return -1;
	}
	return 0;
}

/* Grows, writes, shrinks; then reads back every written range from the
 * disk. */
static int write_files(struct vol *v, struct journal_file *pf, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) /* what allocates comes first */
		if (pf[i].ed->after.len > pf[i].ed->before.len &&
		    vol_resize(v, pf[i].ed->path, pf[i].ed->after.len, e) == -1)
			return -1;
	for (size_t i = 0; i < n; i++) {
		struct edit *ed = pf[i].ed;
		for (size_t k = 0; k < pf[i].pages.n; k++) {
			struct span s = span_clip(pf[i].pages.v[k], ed->after.len);
			if (s.len &&
			    vol_write_at(v, ed->path, s.off, ed->after.p + s.off, s.len, e) == -1)
				return -1;
		}
	}
	for (size_t i = 0; i < n; i++) /* what frees comes last */
		if (pf[i].ed->after.len < pf[i].ed->before.len &&
		    vol_resize(v, pf[i].ed->path, pf[i].ed->after.len, e) == -1)
			return -1;
	if (vol_sync(v, 1, e) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (read_back(v, pf[i].ed->path, &pf[i].ed->after, &pf[i].pages, e) == -1)
			return -1;
	return 0;
}

int txn_apply(struct vol *v, const struct install *in, int run, const struct txn_opts *to,
	      const struct fixctx *cx, struct outcome *o, struct err *e)
{
	size_t n = o->nedits;
	struct journal_file *pf = xcalloc(n, sizeof *pf);
	for (size_t i = 0; i < n; i++) {
		pf[i].ed = &o->edits[i];
		pages_diff(&o->edits[i].before, &o->edits[i].after, &pf[i].pages);
	}
	struct journal j = {.path = xasprintf("%s/nobounce-%d.journal", in->sysroot, run),
			    .run = run};
	size_t made = 0;
	int r = still_planned(v, pf, n, e);
	/* 1. full copies, when asked for */
	if (r == 0 && (to->copies || to->copy_dir))
		r = make_copies(v, to, pf, n, run, &made, e);
	/* 2. the journal, durable and read back, before any write to Windows'
	 * files; "applying" only once it is whole */
	int created = 0;
	if (r == 0) {
		journal_build(pf, n, run, cx, o, &j.bytes);
		r = vol_create(v, j.path, j.bytes.p, j.bytes.len, NULL, e);
		created = r == 0;
	}
	struct buf back = {.memfd = -1};
	if (r == 0 && vol_sync(v, 1, e) == 0 &&
	    vol_read(v, j.path, JOURNAL_MAX_BYTES, &back, e) == 0 &&
	    (back.len != j.bytes.len || memcmp(back.p, j.bytes.p, back.len) != 0))
		r = fail(e, "io", "%s: the journal reads back different", j.path);
	else if (r == 0 && e->msg)
		r = -1;
	buf_free(&back);
	if (r == 0)
		r = set_state(v, j.path, &j.bytes, "applying", e);
	if (r == 0) {
		snprintf(j.state, sizeof j.state, "applying");
		o->run = run;
		o->journal = xstrdup(j.path);
	}
	if (r == -1) {
		/* nothing of Windows' was written: remove what this run made */
		struct err e2 = {0};
		if (created)
			vol_remove(v, j.path, &e2);
		err_clear(&e2);
		for (size_t i = 0; i < made; i++) {
			struct vol *cv = to->copy_dir ? vol_open_dir(to->copy_dir, 1, &e2) : v;
			if (cv)
				vol_remove(cv, pf[i].copy, &e2);
			if (cv && cv != v)
				vol_close(cv);
			err_clear(&e2);
		}
		vol_sync(v, 0, &e2);
		err_clear(&e2);
		goto out;
	}
	/* 3. the files: grow, write the pages that change, shrink; read back */
	r = write_files(v, pf, n, e);
	/* 4. done: the run becomes undoable */
	if (r == 0)
		r = set_state(v, j.path, &j.bytes, "complete", e);
	if (r == -1) {
		/* put everything back, from the journal just written */
		struct err e2 = {0};
		j.index = NULL;
		free(j.bad);
		j.bad = NULL;
		struct install copy = *in;
		journal_judge(&copy, &j);
		if (j.bad || restore(v, &j, 0, to, &e2) == -1) {
			outcome_note(o,
				     "putting the files back failed too (%s); run 'nobounce undo' "
				     "on this target",
				     j.bad ? j.bad : e2.msg);
		} else {
			outcome_note(o, "every file was put back as it was");
			o->run = 0;
			free(o->journal);
			o->journal = NULL;
		}
		err_clear(&e2);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(pf[i].pages.v);
		free(pf[i].copy);
	}
	free(pf);
	free(j.path);
	free(j.bad);
	json_decref(j.index);
	buf_free(&j.bytes);
	return r;
}
