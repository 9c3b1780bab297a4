/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn: the transaction that writes a fix, and undoes it (see txn.h; the
 * journal's format is in docs/journal.md). */
#include "txn/txn.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

#define JHEAD 512 /* the header: the only part of a journal written twice */
#define JOURNAL_MAX_BYTES ((size_t)4 << 30)
#define MAGIC "nobounce journal 1\n"

/* ---- pages ---- */

struct span {
	uint64_t off, len;
};

struct spans {
	struct span *v;
	size_t n;
};

static void spans_add(struct spans *s, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	if (s->n && s->v[s->n - 1].off + s->v[s->n - 1].len == off) {
		s->v[s->n - 1].len += len;
		return;
	}
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n++] = (struct span){off, len};
}

static size_t page_len(size_t len, size_t off)
{
	return off >= len ? 0 : len - off < TXN_PAGE ? len - off : TXN_PAGE;
}

/* The pages in which a and b differ (in bytes or in length), as runs. */
static void diff_pages(const struct buf *a, const struct buf *b, struct spans *out)
{
	size_t n = a->len > b->len ? a->len : b->len;
	for (size_t off = 0; off < n; off += TXN_PAGE) {
		size_t la = page_len(a->len, off), lb = page_len(b->len, off);
		if (la == lb && memcmp(a->p + off, b->p + off, la) == 0)
			continue;
		spans_add(out, off, TXN_PAGE);
	}
}

/* A run of pages, cut to a file of len bytes. */
static struct span clip(struct span s, uint64_t len)
{
	if (s.off >= len)
		return (struct span){s.off, 0};
	if (s.off + s.len > len)
		s.len = len - s.off;
	return s;
}

/* ---- the header ---- */

static const char *const states[] = {"creating", "applying", "complete", "undoing"};

struct header {
	char state[12];
	int run;
	uint64_t ioff, ilen, doff, dlen;
	char isha[65], dsha[65];
};

/* Space padding that ends a line. */
static void pad(uint8_t *p, size_t n)
{
	memset(p, ' ', n);
	if (n)
		p[n - 1] = '\n';
}

/* Always exactly JHEAD bytes of text, padded with spaces, so that the
 * state can be rewritten in place. */
static void header_make(const struct header *h, uint8_t out[JHEAD])
{
	int n =
	    snprintf((char *)out, JHEAD,
		     MAGIC "state: %-8s\nrun: %d\nindex: %llu %llu sha256:%s\n"
			   "data: %llu %llu sha256:%s\n",
		     h->state, h->run, (unsigned long long)h->ioff, (unsigned long long)h->ilen,
		     h->isha, (unsigned long long)h->doff, (unsigned long long)h->dlen, h->dsha);
	pad(out + n, JHEAD - (size_t)n);
}

static int is_hex64(const char *s)
{
	size_t i = 0;
	while (i < 64 && isxdigit((unsigned char)s[i]) && !isupper((unsigned char)s[i]))
		i++;
	return i == 64 && !s[64];
}

/* 1 parsed, 0 no header at all (a creation that never finished). */
static int header_parse(const struct buf *b, struct header *h, char **bad)
{
	memset(h, 0, sizeof *h);
	if (b->len < JHEAD || memcmp(b->p, MAGIC, strlen(MAGIC)) != 0)
		return 0;
	char text[JHEAD + 1];
	memcpy(text, b->p, JHEAD);
	text[JHEAD] = 0;
	unsigned long long ioff, ilen, doff, dlen;
	int used = 0;
	if (sscanf(text,
		   MAGIC "state: %11s\nrun: %d\nindex: %llu %llu sha256:%64s\ndata: %llu %llu "
			 "sha256:%64s\n%n",
		   h->state, &h->run, &ioff, &ilen, h->isha, &doff, &dlen, h->dsha, &used) != 8 ||
	    !used) {
		*bad = xstrdup("its header cannot be read");
		return 1;
	}
	h->ioff = ioff, h->ilen = ilen, h->doff = doff, h->dlen = dlen;
	int known = 0;
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		known |= STREQ(h->state, states[i]);
	if (!known)
		*bad = xasprintf("its state \"%s\" is not one nobounce writes", h->state);
	return 1;
}

/* ---- reading journals ---- */

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static uint64_t jnum(json_t *o, const char *k)
{
	json_int_t n = json_integer_value(json_object_get(o, k));
	return n < 0 ? 0 : (uint64_t)n;
}

/* The files a journal may name: the ones nobounce edits, and the logs
 * beside the hives.  Anything else is not ours to write. */
static int ours(const struct install *in, const char *path)
{
	const char *files[] = {in->system, in->software, in->metabase};
	static const char *const logs[] = {"", ".LOG", ".LOG1", ".LOG2"};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		for (size_t j = 0; files[i] && j < (i < 2 ? ARRAY_SIZE(logs) : 1); j++) {
			CLEANUP_FREE char *want = xasprintf("%s%s", files[i], logs[j]);
			if (STRCASEEQ(path, want))
				return 1;
		}
	return 0;
}

static char *volume_copy_name(const char *path, int run)
{
	return xasprintf("%s.nobounce-%d.bak", path, run);
}

/* Why an index cannot be trusted, or NULL. */
static char *index_bad(const struct install *in, json_t *ix, const struct header *h, int run)
{
	if (!json_is_object(ix) || json_integer_value(json_object_get(ix, "nobounce_journal")) != 1)
		return xstrdup("its index is not a nobounce journal's");
	if (json_integer_value(json_object_get(ix, "run")) != run)
		return xstrdup("its index is for another run");
	json_t *files = json_object_get(ix, "files");
	if (!json_is_array(files) || !json_array_size(files))
		return xstrdup("its index lists no file");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		const char *path = jstr(f, "path");
		if (!ours(in, path))
			return xasprintf("it names %s, a file nobounce never edits", path);
		uint64_t before = jnum(f, "size_before"), after = jnum(f, "size_after");
		if (before > HIVE_MAX_BYTES || after > HIVE_MAX_BYTES ||
		    !is_hex64(jstr(f, "sha256_before")) || !is_hex64(jstr(f, "sha256_after")))
			return xasprintf("its entry for %s is malformed", path);
		json_t *rs = json_object_get(f, "ranges");
		uint64_t end = 0;
		for (size_t k = 0; k < json_array_size(rs); k++) {
			json_t *r = json_array_get(rs, k);
			uint64_t off = jnum(r, "offset"), len = jnum(r, "length"),
				 at = jnum(r, "at");
			if (!len || off < end || off % TXN_PAGE || off + len > before ||
			    at < h->doff || at + len > h->doff + h->dlen)
				return xasprintf("its ranges for %s are malformed", path);
			end = off + len;
		}
		const char *copy = json_string_value(json_object_get(f, "copy"));
		const char *on = jstr(f, "copy_on");
		if (copy && STREQ(on, "volume")) {
			CLEANUP_FREE char *want = volume_copy_name(path, run);
			if (!STRCASEEQ(copy, want))
				return xasprintf("its copy of %s is named oddly", path);
		} else if (copy && (!STREQ(on, "host") || strchr(copy, '/') || copy[0] == '.')) {
			return xasprintf("its copy of %s is named oddly", path);
		}
	}
	return NULL;
}

static void journal_judge(const struct install *in, struct journal *j)
{
	struct header h;
	if (!header_parse(&j->bytes, &h, &j->bad))
		return; /* no header: its creation never finished */
	snprintf(j->state, sizeof j->state, "%s", h.state);
	if (j->bad || STREQ(j->state, "creating"))
		return;
	char sha[65];
	if (h.run != j->run) {
		j->bad = xasprintf("its header says run %d", h.run);
	} else if (h.ioff < JHEAD || h.ioff > j->bytes.len || h.ilen > j->bytes.len - h.ioff ||
		   h.doff > j->bytes.len || h.dlen > j->bytes.len - h.doff) {
		j->bad = xstrdup("it is shorter than its header says");
	} else if (sha256_hex(j->bytes.p + h.ioff, h.ilen, sha), !STREQ(sha, h.isha)) {
		j->bad = xstrdup("its index does not match its checksum");
	} else if (sha256_hex(j->bytes.p + h.doff, h.dlen, sha), !STREQ(sha, h.dsha)) {
		j->bad = xstrdup("its saved pages do not match their checksum");
	} else {
		json_error_t je;
		j->index = json_loadb((const char *)j->bytes.p + h.ioff, h.ilen, 0, &je);
		j->bad = j->index ? index_bad(in, j->index, &h, j->run)
				  : xasprintf("its index cannot be parsed: %s", je.text);
	}
}

/* "nobounce-N.journal", any letter case: N, or 0. */
static int journal_run(const char *name)
{
	if (strncasecmp(name, "nobounce-", 9) != 0)
		return 0;
	const char *p = name + 9;
	int n = 0;
	while (isdigit((unsigned char)*p) && n < 1000000)
		n = n * 10 + (*p++ - '0');
	return p > name + 9 && n > 0 && STRCASEEQ(p, ".journal") ? n : 0;
}

static int by_run(const void *a, const void *b)
{
	int x = ((const struct journal *)a)->run, y = ((const struct journal *)b)->run;
	return (x > y) - (x < y);
}

int txn_find(struct vol *v, const struct install *in, struct journals *js, struct err *e)
{
	memset(js, 0, sizeof *js);
	struct strlist names = {0};
	if (vol_list(v, in->sysroot, &names, e) == -1)
		return -1;
	int r = 0;
	for (size_t i = 0; i < names.n && r == 0; i++) {
		int run = journal_run(names.v[i]);
		if (!run)
			continue;
		struct journal j = {.path = xasprintf("%s/%s", in->sysroot, names.v[i]),
				    .run = run};
		int k = vol_kind(v, j.path, e);
		if (k == VOL_FILE)
			r = vol_read(v, j.path, JOURNAL_MAX_BYTES, &j.bytes, e);
		else if (k != -1)
			j.bad = xstrdup("it is not a regular file");
		else
			r = -1;
		if (r == 0)
			journal_judge(in, &j);
		js->v = xrealloc(js->v, (js->n + 1) * sizeof *js->v);
		js->v[js->n++] = j;
	}
	strlist_free(&names);
	if (js->n)
		qsort(js->v, js->n, sizeof *js->v, by_run);
	for (size_t i = 1; r == 0 && i < js->n; i++)
		if (js->v[i].run == js->v[i - 1].run)
			r = fail(e, "bad-journal",
				 "%s and %s: two journals for one run (names that differ only in "
				 "letter case). Remove the stray one and run again",
				 js->v[i - 1].path, js->v[i].path);
	return r;
}

void txn_free(struct journals *js)
{
	for (size_t i = 0; i < js->n; i++) {
		free(js->v[i].path);
		free(js->v[i].bad);
		json_decref(js->v[i].index);
		buf_free(&js->v[i].bytes);
	}
	free(js->v);
	memset(js, 0, sizeof *js);
}

void txn_classes(const struct journals *js, struct fixctx *cx)
{
	for (size_t i = 0; i < js->n; i++) {
		json_t *cl = json_object_get(js->v[i].index, "sink_classes");
		for (size_t k = 0; k < json_array_size(cl); k++) {
			const char *c = json_string_value(json_array_get(cl, k));
			if (c)
				fixctx_add_class(cx, c);
		}
	}
}

int txn_pending(const struct journals *js)
{
	for (size_t i = 0; i < js->n; i++)
		if (!STREQ(js->v[i].state, "complete") || js->v[i].bad)
			return 1;
	return 0;
}

/* ---- small steps ---- */

static int set_state(struct vol *v, const char *path, struct buf *bytes, const char *state,
		     struct err *e)
{
	struct header h;
	char *bad = NULL;
	header_parse(bytes, &h, &bad);
	free(bad);
	snprintf(h.state, sizeof h.state, "%s", state);
	uint8_t head[JHEAD];
	header_make(&h, head);
	memcpy(bytes->p, head, JHEAD);
	if (vol_write_at(v, path, 0, head, JHEAD, e) == -1)
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
	const char *name = jstr(f, "copy");
	if (STREQ(jstr(f, "copy_on"), "volume")) {
		c->vol = v;
		c->path = xstrdup(name);
		return 0;
	}
	/* a copy on the host is only ever looked for in the directory given
	 * now: the journal lies on the image, and the image chooses nothing
	 * on the host */
	if (!to->copy_dir)
		return 1;
	c->vol = vol_open_dir(to->copy_dir, v->writable, e);
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
			note("%s: %s", v->name, e.msg);
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
	static const uint8_t zero[JHEAD];
	if (j->bytes.len >= JHEAD &&
	    (vol_write_at(v, j->path, 0, zero, JHEAD, e) == -1 || vol_sync(v, 0, e) == -1))
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
};

/* Works out, for every file of a journal, the bytes that put it back, and
 * proves in memory that they are the original.  strict: the file must be as
 * the run left it (or already back); with force, a file changed since is
 * restored from its full copy instead. */
static int restore_plan(struct vol *v, struct journal *j, int strict, const struct txn_opts *to,
			struct restore *rs, struct err *e)
{
	json_t *files = json_object_get(j->index, "files");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		struct restore *r = &rs[i];
		const char *path = jstr(f, "path");
		r->f = f;
		char sha[65];
		if (vol_read(v, path, HIVE_MAX_BYTES, &r->bytes, e) == -1)
			return -1;
		r->len_now = r->bytes.len;
		sha256_hex(r->bytes.p, r->bytes.len, sha);
		if (STREQ(sha, jstr(f, "sha256_before"))) {
			buf_free(&r->bytes);
			continue; /* already as it was */
		}
		if (vol_check_inplace(v, path, e) == -1)
			return -1;
		int changed = !STREQ(sha, jstr(f, "sha256_after"));
		if (strict && changed && !to->force)
			return fail(e, "changed-since",
				    "%s: was changed after nobounce fixed it; undo would lose that "
				    "change. Use --force to put back the full copy made by 'fix "
				    "--backup', if there is one",
				    path);
		if (strict && changed) {
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
			if (!STREQ(sha, jstr(f, "sha256_before"))) {
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
		/* the saved pages over the file as it is, in memory */
		uint64_t before = jnum(f, "size_before");
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
			uint64_t off = jnum(g, "offset"), len = jnum(g, "length");
			const uint8_t *saved = j->bytes.p + jnum(g, "at");
			/* only what differs is written (all of it past the
			 * file's present end) */
			for (uint64_t o = 0; o < len; o += TXN_PAGE) {
				size_t n = len - o < TXN_PAGE ? (size_t)(len - o) : TXN_PAGE;
				if (off + o + n > r->len_now ||
				    memcmp(r->bytes.p + off + o, saved + o, n) != 0)
					spans_add(&r->writes, off + o, n);
			}
			memcpy(r->bytes.p + off, saved, len);
		}
		r->bytes.len = before;
		sha256_hex(r->bytes.p, r->bytes.len, sha);
		if (!STREQ(sha, jstr(f, "sha256_before")))
			return fail(
			    e, "changed-since",
			    "%s: its journal (%s) does not lead back to the original: the file "
			    "was changed after nobounce's run %d was interrupted. Nothing was "
			    "restored. Put back the full copy if 'fix --backup' made one, or "
			    "check the file and remove the journal to keep it as it is",
			    path, j->path, j->run);
	}
	return 0;
}

/* Writes what restore_plan worked out, then reads every file back from the
 * disk and checks its whole-file hash. */
static int restore_write(struct vol *v, struct restore *rs, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct restore *r = &rs[i];
		const char *path = jstr(r->f, "path");
		if (!r->bytes.p && !r->writes.n && !r->from_copy)
			continue;
		if (r->bytes.len > r->len_now && vol_resize(v, path, r->bytes.len, e) == -1)
			return -1;
		for (size_t k = 0; k < r->writes.n; k++) {
			struct span s = clip(r->writes.v[k], r->bytes.len);
			if (s.len &&
			    vol_write_at(v, path, s.off, r->bytes.p + s.off, s.len, e) == -1)
				return -1;
		}
		if (r->bytes.len < r->len_now && vol_resize(v, path, r->bytes.len, e) == -1)
			return -1;
	}
	if (vol_sync(v, 1, e) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *path = jstr(rs[i].f, "path");
		struct buf back = {.memfd = -1};
		char sha[65];
		if (vol_read(v, path, HIVE_MAX_BYTES, &back, e) == -1)
			return -1;
		sha256_hex(back.p, back.len, sha);
		buf_free(&back);
		if (!STREQ(sha, jstr(rs[i].f, "sha256_before")))
			return fail(e, "verify-failed",
				    "%s: reads back different from the original after restoring",
				    path);
	}
	return 0;
}

static void restore_free(struct restore *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
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
			    xasprintf("sha256:%s", jstr(f, "sha256_after")),
			    xasprintf("sha256:%s", jstr(f, "sha256_before")));
		o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
		o->edits[o->nedits++] = (struct edit){.path = xstrdup(jstr(f, "path")), .ch = ch};
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
		note("%s: run %d's full copies on this host stay where they are", v->name, j->run);
	return 0;
}

/* ---- applying ---- */

struct plan_file {
	struct edit *ed;
	struct spans pages; /* where before and after differ */
	char *copy;
};

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *host_copy_name(const struct txn_opts *to, const char *path, int run)
{
	CLEANUP_FREE char *flat = xstrdup(path);
	for (char *c = flat; *c; c++)
		if (*c == '/')
			*c = '_';
	return xasprintf("%s--%s.nobounce-%d.bak", to->copy_tag, flat, run);
}

static json_t *changes_json(struct edit *ed, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ed[i].ch.n; j++)
			json_array_append_new(a, change_json(ed[i].path, &ed[i].ch.v[j]));
	return a;
}

/* The journal's bytes: header (creating), index, saved pages. */
static void journal_build(struct plan_file *pf, size_t n, int run, const struct txn_opts *to,
			  const struct fixctx *cx, struct outcome *o, struct buf *out)
{
	/* the pages' places first: the index names them */
	uint64_t data = 0;
	json_t *files = json_array();
	for (size_t i = 0; i < n; i++) {
		struct edit *ed = pf[i].ed;
		json_t *ranges = json_array();
		for (size_t k = 0; k < pf[i].pages.n; k++) {
			struct span s = clip(pf[i].pages.v[k], ed->before.len);
			if (!s.len)
				continue;
			json_array_append_new(
			    ranges, json_pack("{s:I,s:I,s:I}", "offset", (json_int_t)s.off,
					      "length", (json_int_t)s.len, "at", (json_int_t)data));
			data += s.len;
		}
		json_array_append_new(
		    files,
		    json_pack("{s:s,s:I,s:s,s:I,s:s,s:o,s:o,s:s?}", "path", ed->path, "size_before",
			      (json_int_t)ed->before.len, "sha256_before",
			      hash_wait(ed->hash_before), "size_after", (json_int_t)ed->after.len,
			      "sha256_after", hash_wait(ed->hash_after), "ranges", ranges, "copy",
			      pf[i].copy ? json_string(pf[i].copy) : json_null(), "copy_on",
			      !pf[i].copy    ? NULL
			      : to->copy_dir ? "host"
					     : "volume"));
	}
	json_t *classes = json_array();
	for (size_t i = 0; i < cx->sink_classes.n; i++)
		json_array_append_new(classes, json_string(cx->sink_classes.v[i]));
	char now[32];
	iso_now(now);
	/* the classes let a later run recognise PEEXCH50's bindings even when
	 * its COM keys are already gone */
	json_t *ix = json_pack("{s:i,s:i,s:s,s:i,s:o,s:o,s:o}", "nobounce_journal", 1, "run", run,
			       "time", now, "page_size", TXN_PAGE, "files", files, "changes",
			       changes_json(o->edits, o->nedits), "sink_classes", classes);
	char *text = json_dumps(ix, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	size_t ilen = strlen(text);
	uint64_t doff = (TXN_PAGE + ilen + 1 + TXN_PAGE - 1) / TXN_PAGE * TXN_PAGE;
	/* now the offsets are known: "at" is where each range lies in the file */
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *rs = json_object_get(json_array_get(files, i), "ranges");
		for (size_t k = 0; k < json_array_size(rs); k++) {
			json_t *g = json_array_get(rs, k);
			json_object_set_new(g, "at",
					    json_integer((json_int_t)(jnum(g, "at") + doff)));
		}
	}
	free(text);
	text = json_dumps(ix, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	ilen = strlen(text);
	/* the offsets have more digits now: the data goes a page further on
	 * if the index no longer fits before it */
	while (TXN_PAGE + ilen + 1 > doff) {
		for (size_t i = 0; i < json_array_size(files); i++) {
			json_t *rs = json_object_get(json_array_get(files, i), "ranges");
			for (size_t k = 0; k < json_array_size(rs); k++) {
				json_t *g = json_array_get(rs, k);
				json_object_set_new(
				    g, "at", json_integer((json_int_t)(jnum(g, "at") + TXN_PAGE)));
			}
		}
		doff += TXN_PAGE;
		free(text);
		text = json_dumps(ix, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		ilen = strlen(text);
	}
	out->memfd = -1;
	buf_alloc(out, doff + data);
	pad(out->p + JHEAD, TXN_PAGE - JHEAD);
	memcpy(out->p + TXN_PAGE, text, ilen);
	pad(out->p + TXN_PAGE + ilen, doff - TXN_PAGE - ilen);
	uint8_t *d = out->p + doff;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < pf[i].pages.n; k++) {
			struct span s = clip(pf[i].pages.v[k], pf[i].ed->before.len);
			memcpy(d, pf[i].ed->before.p + s.off, s.len);
			d += s.len;
		}
	struct header h = {.run = run, .ioff = TXN_PAGE, .ilen = ilen, .doff = doff, .dlen = data};
	snprintf(h.state, sizeof h.state, "creating");
	sha256_hex(out->p + TXN_PAGE, ilen, h.isha);
	sha256_hex(out->p + doff, data, h.dsha);
	header_make(&h, out->p);
	free(text);
	json_decref(ix);
}

/* The volume still holds what was planned on: same length, and the pages
 * about to change still hold the bytes saved for them. */
static int still_planned(struct vol *v, struct plan_file *pf, size_t n, struct err *e)
{
	uint8_t *page = xmalloc(TXN_PAGE);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct edit *ed = pf[i].ed;
		uint64_t size;
		r = vol_size(v, ed->path, &size, e);
		for (size_t k = 0; k < pf[i].pages.n && r == 0 && size == ed->before.len; k++) {
			struct span s = clip(pf[i].pages.v[k], ed->before.len);
			for (uint64_t o = 0; o < s.len && r == 0; o += TXN_PAGE) {
				size_t m = s.len - o < TXN_PAGE ? (size_t)(s.len - o) : TXN_PAGE;
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

static int make_copies(struct vol *v, const struct txn_opts *to, struct plan_file *pf, size_t n,
		       int run, size_t *made, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct edit *ed = pf[i].ed;
		struct vol *cv = v;
		if (to->copy_dir && !(cv = vol_open_dir(to->copy_dir, 1, e)))
			return -1;
		pf[i].copy = to->copy_dir ? host_copy_name(to, ed->path, run)
					  : volume_copy_name(ed->path, run);
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
static int write_files(struct vol *v, struct plan_file *pf, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) /* what allocates comes first */
		if (pf[i].ed->after.len > pf[i].ed->before.len &&
		    vol_resize(v, pf[i].ed->path, pf[i].ed->after.len, e) == -1)
			return -1;
	for (size_t i = 0; i < n; i++) {
		struct edit *ed = pf[i].ed;
		for (size_t k = 0; k < pf[i].pages.n; k++) {
			struct span s = clip(pf[i].pages.v[k], ed->after.len);
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
	struct buf back = {0};
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct edit *ed = pf[i].ed;
		uint64_t size;
		r = vol_size(v, ed->path, &size, e);
		if (r == 0 && size != ed->after.len)
			r = fail(e, "verify-failed", "%s: is %llu bytes after writing, not %zu",
				 ed->path, (unsigned long long)size, ed->after.len);
		for (size_t k = 0; k < pf[i].pages.n && r == 0; k++) {
			struct span s = clip(pf[i].pages.v[k], ed->after.len);
			if (!s.len)
				continue;
			buf_free(&back);
			buf_alloc(&back, s.len);
			r = vol_read_at(v, ed->path, s.off, back.p, s.len, e);
			if (r == 0 && memcmp(back.p, ed->after.p + s.off, s.len) != 0)
				r = fail(e, "verify-failed",
					 "%s: reads back different from what was written, at %llu",
					 ed->path, (unsigned long long)s.off);
		}
	}
	buf_free(&back);
	return r;
}

int txn_apply(struct vol *v, const struct install *in, int run, const struct txn_opts *to,
	      const struct fixctx *cx, struct outcome *o, struct err *e)
{
	size_t n = o->nedits;
	struct plan_file *pf = xcalloc(n, sizeof *pf);
	for (size_t i = 0; i < n; i++) {
		pf[i].ed = &o->edits[i];
		diff_pages(&o->edits[i].before, &o->edits[i].after, &pf[i].pages);
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
		journal_build(pf, n, run, to, cx, o, &j.bytes);
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
