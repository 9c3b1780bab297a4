/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan: what a fix would change, worked out read-only (see plan.h). */
#include "fix/plan.h"
#include "lib/bytes.h"
#include "reg/hivelog.h"
#include "reg/hread.h"

#include <stdio.h>

/* ---- verification ---- */

/* Checks the bytes meant for an edited hive, before they are written: it opens, walks
 * whole, its fix finds nothing left to do, and keys we created sit where
 * Windows will look for them.  base is what planning started from. */
static int verify_hive(const struct fixdef *fx, const char *path, const struct buf *bytes,
		       const struct changes *planned, const struct fixctx *base,
		       const struct profile *profile, struct err *e)
{
	CLEANUP_FREE char *name = xasprintf("%s (as it would be written)", path);
	struct hread rd;
	if (hread_open(&rd, name, bytes->p, bytes->len, e) == -1)
		return -1;
	struct changes left = {0};
	struct fixctx cx;
	fixctx_copy(&cx, base);
	cx.profile = profile;
	/* read by a reader that is not hivex, which wrote it */
	int r = hread_walk(&rd, e);
	/* when the word is gone from the used cells, there is nothing left
	 * for the fix to find (fixes.h) */
	struct hive *hv = NULL;
	int replan = r == 0 && (!fx->word || cx.sink_classes.n || hread_mentions(&rd, fx->word));
	if (replan && fx->plan_read)
		r = fx->plan_read(&rd, &cx, &left, e);
	else if (replan) {
		cx.read = &rd;
		r = (hv = hive_open_bytes(name, bytes, fx->edits_to_plan, e))
			? fx->plan_hive(hv, &cx, &left, e)
			: -1;
	}
	if (r == 0 && left.n)
		r = fail(e, "verify-failed",
			 "%s: after the edit, %s still finds %zu change(s) to make (%s %s); "
			 "nothing was kept",
			 path, fx->name, left.n, left.v[0].action, left.v[0].key);
	for (size_t i = 0; r == 0 && i < planned->n; i++) {
		if (!STREQ(planned->v[i].action, "create-key"))
			continue;
		CLEANUP_FREE char *parent = xstrdup(planned->v[i].key);
		char *bs = strrchr(parent, '\\');
		if (bs)
			*bs = 0;
		uint32_t pn = hread_path(&rd, 0, bs ? parent : "", e);
		r = pn ? hread_ordered(&rd, pn, e)
		       : fail(e, "verify-failed", "%s: key %s vanished%s%s", path, parent,
			      e->msg ? ": " : "", e->msg ? e->msg : "");
	}
	fixctx_free(&cx);
	changes_free(&left);
	hive_free(hv);
	hread_close(&rd);
	return r;
}

/* The same for a file a byte fix edits: planning again finds nothing. */
static int verify_bytes(const struct edit *ed, const struct buf *bytes, const struct fixctx *cx,
			struct err *e)
{
	struct changes left = {0};
	int r = ed->fix->plan_bytes(ed->path, bytes, cx, &left, NULL, e);
	if (r == 0 && left.n)
		r = fail(e, "verify-failed",
			 "%s: after the edit, %s still finds %zu change(s) to make (%s %s); "
			 "nothing was kept",
			 ed->path, ed->fix->name, left.n, left.v[0].action, left.v[0].key);
	changes_free(&left);
	return r;
}

/* ---- planning ---- */

static void edit_free(struct edit *ed)
{
	hash_free(ed->hash_before); /* they read the buffers */
	hash_free(ed->hash_after);
	free(ed->path);
	buf_free(&ed->before);
	buf_free(&ed->after);
	changes_free(&ed->ch);
}

void plan_describe(struct vol *v, struct install *in)
{
	struct err e = {0};
	struct buf b = {0}; /* read in place only: ordinary memory */
	struct hread rd;
	if (in->software && vol_read(v, in->software, HIVE_MAX_BYTES, &b, &e) == 0 &&
	    hread_open(&rd, in->software, b.p, b.len, &e) == 0) {
		install_describe(in, &rd);
		hread_close(&rd);
	} else if (e.msg) {
		note("%s: %s", vol_name(v), e.msg);
	}
	buf_free(&b);
	err_clear(&e);
}

/* A dirty hive, replayed from its transaction logs in memory (as Windows
 * would at boot).  When the hive is then written, its logs are emptied (and
 * journaled with it): Windows must never replay their stale entries over
 * the clean hive nobounce wrote.  logs gets an edit for each (with build
 * set, holding the log's bytes). */
static int recover_hive(struct vol *v, const char *path, const struct buf *raw, struct buf *rec,
			int build, struct edit **logs, size_t *nlogs, struct outcome *o,
			struct err *e)
{
	struct hivelog *hl = NULL;
	size_t n = 0;
	struct strlist paths = {0}, applied = {0};
	int r = hivelog_read_beside(v, path, &hl, &n, &paths, e);
	if (r == 0 && n == 0) {
		/* no log to replay: damage is said as such, a dirty hive as one
		 * whose unfinished write nothing here can complete */
		struct err why = {0};
		if (hive_check_bytes(path, raw->p, raw->len, &why) == -1 &&
		    !STREQ(why.kind, "dirty-hive"))
			r = fail(e, why.kind, "%s", why.msg);
		else
			r = fail(
			    e, "dirty-hive",
			    "%s: the hive is dirty (sequence numbers %u and %u differ: Windows "
			    "did not finish writing it) and no transaction log (.LOG, .LOG1 "
			    "or .LOG2) lies beside it to complete it. Boot Windows once and "
			    "shut it down cleanly, then run nobounce again; nothing was written",
			    path, le32(raw->p + 4), le32(raw->p + 8));
		err_clear(&why);
	} else if (r == 0 && hivelog_recover(path, raw, hl, n, rec, &applied, e) == -1) {
		CLEANUP_FREE char *why = xstrdup(e->msg);
		err_clear(e);
		r = fail(e, "dirty-hive",
			 "%s: the hive is dirty (Windows did not finish writing it) and its "
			 "transaction logs cannot be replayed: %s. Boot Windows once and shut it "
			 "down cleanly, then run nobounce again; nothing was written",
			 path, why);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		*logs = xrealloc(*logs, (*nlogs + 1) * sizeof **logs);
		struct edit *le = &(*logs)[(*nlogs)++];
		memset(le, 0, sizeof *le);
		le->path = xstrdup(paths.v[i]);
		changes_add(&le->ch, "clear-log", xstrdup(paths.v[i]), NULL, NULL, NULL);
		if (build) { /* emptied: after stays empty */
			le->before = hl[i].data;
			hl[i].data = (struct buf){0};
			le->hash_before = hash_start(le->before.p, le->before.len);
			le->hash_after = hash_start("", 0);
		}
	}
	if (r == 0) {
		CLEANUP_FREE char *list = strlist_join(&applied, "; ");
		outcome_note(o, "%s is dirty: replayed its logs in memory (%s)", path, list);
	}
	hivelog_free(hl, n);
	strlist_free(&paths);
	strlist_free(&applied);
	return r;
}

/* Plans one hive fix; with build set, also makes and verifies the new bytes.
 * A dirty hive is recovered from its logs first (unless no_recover); its
 * log files then join the plan as edits of their own. */
static int plan_hive_file(struct vol *v, struct install *in, const struct fixdef *fx,
			  const char *path, const struct plan_opts *po, const struct fixctx *base,
			  struct fixctx *cx, struct edit *ed, struct outcome *o, struct edit **logs,
			  size_t *nlogs, struct err *e)
{
	int build = po->build;
	/* in a memfd when hivex may open it (hivex opens files by name),
	 * else in ordinary memory, which costs less to fill */
	struct buf raw = {.memfd = build || fx->edits_to_plan || !fx->plan_read ? -1 : 0};
	struct buf rec = {0};
	if (vol_read(v, path, HIVE_MAX_BYTES, &raw, e) == -1)
		return -1;
	note("%s: read %s (%zu bytes)", vol_name(v), path, raw.len);
	if (build) /* hashed while hivex works */
		ed->hash_before = hash_start(raw.p, raw.len);
	size_t nlogs0 = *nlogs;
	int r = 0;
	if (!po->no_recover && hivelog_is_dirty(raw.p, raw.len))
		r = recover_hive(v, path, &raw, &rec, build, logs, nlogs, o, e);
	const struct buf *bytes = rec.p ? &rec : &raw;
	/* read in place; hivex opens it only for a fix that edits it */
	struct hread rd;
	int have_rd = r == 0 && hread_open(&rd, path, bytes->p, bytes->len, e) == 0;
	/* nothing to find: no edit, so nothing to build either */
	int idle = have_rd && fx->word && !cx->sink_classes.n && !hread_mentions(&rd, fx->word);
	int writable = (build || fx->edits_to_plan) && !idle;
	struct hive *hv = NULL;
	if (!have_rd)
		r = -1;
	else if (!fx->plan_read && !idle && !(hv = hive_open_bytes(path, bytes, writable, e)))
		r = -1;
	if (r == 0)
		note("%s: %s %s%s%s", vol_name(v), hv ? "opened" : "read in place", path,
		     hv ? (writable ? " with hivex (writable)" : " with hivex") : "",
		     idle ? "; no used cell mentions the DLL: not walked" : "");
	if (r == 0 && path == in->software)
		install_describe(in, &rd);
	if (r == 0 && !idle) {
		cx->read = &rd;
		r = fx->plan_read ? fx->plan_read(&rd, cx, &ed->ch, e)
				  : fx->plan_hive(hv, cx, &ed->ch, e);
		cx->read = NULL;
		note("%s: planned %s: %zu change(s)", vol_name(v), path, ed->ch.n);
	}
	/* planning read only the bins its keys are in; a hive with work to do
	 * has every bin's cells checked, as the fix will (hivex, then the
	 * verification), so that check refuses what fix would */
	if (r == 0 && ed->ch.n)
		r = hread_check_bins(&rd, e);
	/* planned on the bytes read; made in hivex's copy of them */
	if (r == 0 && fx->apply && build && ed->ch.n) {
		hv = hive_open_bytes(path, bytes, 1, e);
		r = hv ? fx->apply(hv, &rd, &ed->ch, e) : -1;
		if (r == 0)
			note("%s: made the changes in hivex's writable copy of %s", vol_name(v),
			     path);
	}
	if (have_rd)
		hread_close(&rd);
	/* a fix keeps the bytes it planned on: the journal saves the pages
	 * that change, and the volume is checked against them first */
	if (build)
		ed->before = raw;
	else
		buf_free(&raw);
	/* recover TARGET: the recovered hive is what is written */
	int recovered = r == 0 && po->write_recovered && build && rec.p;
	if (recovered) {
		ed->after = rec;
		rec = (struct buf){0};
		changes_add(&ed->ch, "recover-hive", xstrdup(path), NULL, NULL, NULL);
	}
	buf_free(&rec);
	if (r == 0 && ed->ch.n && build && !recovered)
		r = hive_serialize(hv, &ed->after, e);
	/* hivex's copy goes before the new bytes are read (hashed, verified),
	 * so that the two are not in memory at once */
	hive_free(hv);
	if (r == 0 && ed->ch.n && build)
		r = hive_keep_remnant(path, &ed->after, &ed->before, e);
	if (r == 0 && ed->ch.n && build) {
		ed->hash_after = hash_start(ed->after.p, ed->after.len);
		note("%s: built the new %s (%zu bytes)", vol_name(v), path, ed->after.len);
	}
	if (r == 0 && ed->ch.n && build &&
	    (r = verify_hive(fx, path, &ed->after, &ed->ch, base, cx->profile, e)) == 0)
		note("%s: verified the new %s: it walks whole, and nothing is left to do",
		     vol_name(v), path);
	if (r == 0 && !ed->ch.n && *nlogs > nlogs0) {
		/* nothing to change: the dirty hive and its logs stay as they are,
		 * for Windows to replay at boot */
		for (size_t i = nlogs0; i < *nlogs; i++)
			edit_free(&(*logs)[i]);
		*nlogs = nlogs0;
	}
	return r;
}

static int plan_bytes_file(struct vol *v, const struct fixdef *fx, const char *path, int build,
			   const struct fixctx *cx, struct edit *ed, struct err *e)
{
	struct buf before = {0};
	if (vol_read(v, path, fx->max_bytes, &before, e) == -1)
		return -1;
	note("%s: read %s (%zu bytes)", vol_name(v), path, before.len);
	if (build)
		ed->hash_before = hash_start(before.p, before.len);
	int r = fx->plan_bytes(path, &before, cx, &ed->ch, build ? &ed->after : NULL, e);
	if (r == 0 && ed->ch.n && build)
		ed->hash_after = hash_start(ed->after.p, ed->after.len);
	if (build)
		ed->before = before;
	else
		buf_free(&before);
	if (r == 0 && ed->ch.n && build)
		r = verify_bytes(ed, &ed->after, cx, e);
	return r;
}

/* Plans one fix on one file; an edit joins o when it changes anything. */
static int plan_file(struct vol *v, struct install *in, const struct fixdef *fx, const char *path,
		     const struct plan_opts *po, const struct fixctx *base, struct fixctx *cx,
		     struct outcome *o, struct edit **logs, size_t *nlogs, struct err *e)
{
	struct edit ed = {.path = xstrdup(path), .fix = fx};
	int r = fx->plan_hive || fx->plan_read
		    ? plan_hive_file(v, in, fx, path, po, base, cx, &ed, o, logs, nlogs, e)
		    : plan_bytes_file(v, fx, path, po->build, cx, &ed, e);
	for (size_t k = 0; k < cx->notes.n; k++)
		outcome_note(o, "%s", cx->notes.v[k]);
	strlist_free(&cx->notes);
	if (r == 0 && ed.ch.n) {
		o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
		o->edits[o->nedits++] = ed;
	} else {
		edit_free(&ed);
	}
	return r;
}

int plan_install(struct vol *v, struct install *in, const struct plan_opts *po,
		 const struct fixctx *base, struct fixctx *cx, struct outcome *o, struct err *e)
{
	struct edit *logs = NULL;
	size_t nlogs = 0;
	int r = 0;
	const struct fixdef *fixes = po->fixes ? po->fixes : fix_list;
	size_t nfixes = po->fixes ? po->nfixes : fix_count;
	for (size_t i = 0; i < nfixes && r == 0; i++) {
		const struct fixdef *fx = &fixes[i];
		/* a user's hive: that hive of each profile the run uses */
		size_t each = fx->user ? in->nprofiles : 1;
		for (size_t k = 0; k < each && r == 0; k++) {
			const struct profile *p = fx->user ? &in->profiles[k] : NULL;
			const char *path = !p				? fx->file(in)
					   : !p->use			? NULL
					   : fx->user == REGHIVE_NTUSER ? p->ntuser
									: p->usrclass;
			if (path) {
				cx->profile = p;
				r = plan_file(v, in, fx, path, po, base, cx, o, &logs, &nlogs, e);
				cx->profile = NULL;
			}
		}
	}
	/* the logs of recovered hives come last: emptied after their hives */
	for (size_t i = 0; i < nlogs; i++) {
		if (r == 0) {
			o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
			o->edits[o->nedits++] = logs[i];
		} else {
			edit_free(&logs[i]);
		}
	}
	free(logs);
	/* a file that cannot be written in place (vol.h) is refused now,
	 * before anything is written, rather than half-way */
	for (size_t i = 0; i < o->nedits && r == 0; i++)
		r = vol_check_inplace(v, o->edits[i].path, e);
	return r;
}

void outcome_note(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	strlist_add(&o->notes, s);
}

void outcome_free(struct outcome *o)
{
	for (size_t i = 0; i < o->nedits; i++)
		edit_free(&o->edits[i]);
	free(o->edits);
	free(o->journal);
	strlist_free(&o->notes);
	for (size_t i = 0; i < o->nexported; i++)
		free(o->exported[i]);
	free(o->exported);
	err_clear(&o->err);
}
