/* plan: check, fix and undo one installation (see plan.h for the model). */
#include "plan.h"
#include "hivelog.h"

#include <jansson.h>
#include <stdio.h>
#include <time.h>

/* Our own manifest never grows past a few KiB per run. */
#define MANIFEST_MAX_BYTES ((size_t)16 << 20)

/* ---- the manifest ---- */

struct manifest {
	char *path; /* on the volume */
	int exists;
	json_t *root; /* {"nobounce_manifest":1,"next_run":N,"runs":[...]} */
};

/* One copy of the manifest: its runs, or NULL when it cannot be read or is
 * not a manifest (why in *why). */
static json_t *manifest_read(struct vol *v, const char *path, char **why)
{
	struct buf b = {0};
	struct err e = {0};
	if (vol_read(v, path, MANIFEST_MAX_BYTES, &b, &e) == -1) {
		*why = xstrdup(e.msg);
		err_clear(&e);
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb((const char *)b.p, b.len, 0, &je);
	buf_free(&b);
	if (!root || !json_is_array(json_object_get(root, "runs"))) {
		*why = root ? xstrdup("no runs") : xasprintf("%s, line %d", je.text, je.line);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* The manifest.  A replace (vol_replace) writes the new copy aside whole
 * before the old one is removed, so when the main copy is missing or
 * cannot be read, a copy aside that reads is the newest; one that does not
 * read, with no main copy, is a first save that never finished. */
static int manifest_load(struct vol *v, struct install *in, struct manifest *m, struct err *e)
{
	CLEANUP_FREE char *want = xasprintf("%s/%s", in->sysroot, MANIFEST_NAME);
	CLEANUP_FREE char *tmp = xasprintf("%s/.%s.tmp", in->sysroot, MANIFEST_NAME);
	char *real = NULL, *aside = NULL;
	int kind = 0, akind = 0;
	int r = vol_resolve(v, want, &real, &kind, e);
	int ra = r == -1 ? -1 : vol_resolve(v, tmp, &aside, &akind, e);
	if (r == -1 || ra == -1) {
		free(real);
		free(aside);
		return -1;
	}
	m->path = r ? real : xstrdup(want);
	m->exists = r;
	CLEANUP_FREE char *why = NULL, *awhy = NULL;
	m->root = r ? manifest_read(v, m->path, &why) : NULL;
	if (!m->root && ra && akind == VOL_FILE)
		m->root = manifest_read(v, aside, &awhy);
	free(aside);
	if (m->root)
		return 0;
	if (r)
		return fail(e, "bad-manifest",
			    "%s: cannot read nobounce's manifest (%s). Restore files from the "
			    "*.nobounce-N.bak backups by hand, or move the manifest away",
			    m->path, why);
	m->root = json_pack("{s:i,s:i,s:[]}", "nobounce_manifest", 1, "next_run", 1, "runs");
	return 0;
}

static void manifest_free(struct manifest *m)
{
	free(m->path);
	json_decref(m->root);
}

static json_t *runs(struct manifest *m)
{
	return json_object_get(m->root, "runs");
}

static json_t *last_run(struct manifest *m)
{
	size_t n = json_array_size(runs(m));
	return n ? json_array_get(runs(m), n - 1) : NULL;
}

static int run_complete(json_t *run)
{
	const char *s = json_string_value(json_object_get(run, "state"));
	return s && STREQ(s, "complete");
}

/* PEEXCH50 classes recorded by earlier runs. */
static void manifest_classes(struct manifest *m, struct fixctx *cx)
{
	for (size_t i = 0; i < json_array_size(runs(m)); i++) {
		json_t *cl = json_object_get(json_array_get(runs(m), i), "sink_classes");
		for (size_t j = 0; j < json_array_size(cl); j++) {
			const char *c = json_string_value(json_array_get(cl, j));
			if (c)
				fixctx_add_class(cx, c);
		}
	}
}

/* Writes the manifest, or removes it when no run is left in it. */
static int manifest_save(struct vol *v, struct manifest *m, struct err *e)
{
	if (json_array_size(runs(m)) == 0)
		return m->exists ? vol_remove(v, m->path, e) : 0;
	char *s = json_dumps(m->root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!s)
		return fail(e, "internal", "%s: cannot serialise the manifest", m->path);
	size_t len = strlen(s);
	s = xrealloc(s, len + 2);
	s[len++] = '\n';
	int r = vol_replace(v, m->path, s, len, e);
	free(s);
	if (r == 0)
		m->exists = 1;
	return r;
}

/* ---- small pieces ---- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_hash(struct vol *v, const char *path, size_t max, struct buf *b, char sha[65],
		     struct err *e)
{
	if (vol_read(v, path, max, b, e) == -1)
		return -1;
	sha256_hex(b->p, b->len, sha);
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Where a file's backup lies: beside it on the volume, or with --backup-dir
 * on the host ("backup_on": "host", an absolute path). */
struct bakloc {
	struct vol *vol;
	char *path;
	int own; /* vol was opened here */
};

static int bak_open(struct vol *v, json_t *f, struct bakloc *b, struct err *e)
{
	const char *p = jstr(f, "backup");
	memset(b, 0, sizeof *b);
	if (!STREQ(jstr(f, "backup_on"), "host")) {
		b->vol = v;
		b->path = xstrdup(p);
		return 0;
	}
	const char *slash = strrchr(p, '/');
	CLEANUP_FREE char *dir =
	    slash && slash != p ? strndup(p, (size_t)(slash - p)) : xstrdup("/");
	b->vol = vol_open_dir(dir, v->writable, e);
	if (!b->vol)
		return -1;
	b->own = 1;
	b->path = xstrdup(slash ? slash + 1 : p);
	return 0;
}

static void bak_close(struct bakloc *b)
{
	if (b->own)
		vol_close(b->vol);
	free(b->path);
}

static int bak_read(struct vol *v, json_t *f, struct buf *out, char sha[65], struct err *e)
{
	struct bakloc b;
	if (bak_open(v, f, &b, e) == -1)
		return -1;
	int r = read_hash(b.vol, b.path, HIVE_MAX_BYTES, out, sha, e);
	bak_close(&b);
	return r;
}

static int bak_create(struct vol *v, json_t *f, const struct buf *data, struct err *e)
{
	struct bakloc b;
	if (bak_open(v, f, &b, e) == -1)
		return -1;
	/* beside its original, a backup takes the original's protection */
	int r = vol_create(b.vol, b.path, data->p, data->len, b.own ? NULL : jstr(f, "path"), e);
	bak_close(&b);
	return r;
}

static int bak_remove(struct vol *v, json_t *f, struct err *e)
{
	struct bakloc b;
	if (bak_open(v, f, &b, e) == -1)
		return -1;
	int r = vol_remove(b.vol, b.path, e);
	bak_close(&b);
	return r;
}

static json_t *changes_json(struct edit *ed, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ed[i].ch.n; j++)
			json_array_append_new(a, change_json(ed[i].path, &ed[i].ch.v[j]));
	return a;
}

/* ---- verification ---- */

static void ctx_copy(struct fixctx *dst, const struct fixctx *src)
{
	memset(dst, 0, sizeof *dst);
	for (size_t i = 0; i < src->sink_classes.n; i++)
		fixctx_add_class(dst, src->sink_classes.v[i]);
}

/* Checks the bytes meant for an edited hive, before they are written: it opens, walks
 * whole, its fix finds nothing left to do, and keys we created sit where
 * Windows will look for them.  base is what planning started from. */
static int verify_hive(const struct fixdef *fx, const char *path, const struct buf *bytes,
		       const struct changes *planned, const struct fixctx *base, struct err *e)
{
	CLEANUP_FREE char *name = xasprintf("%s (as it would be written)", path);
	struct hive *hv = hive_open_bytes(name, bytes, 0, e);
	if (!hv)
		return -1;
	struct changes left = {0};
	struct fixctx cx;
	ctx_copy(&cx, base);
	int r = hive_walk(hv, e);
	if (r == 0)
		r = fx->plan_hive(hv, &cx, &left, e);
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
		hive_node_h pn = hive_node(hv, 0, bs ? parent : "");
		r = pn ? hive_subkeys_ordered(hv, pn, e)
		       : fail(e, "verify-failed", "%s: key %s vanished", path, parent);
	}
	fixctx_free(&cx);
	changes_free(&left);
	hive_free(hv);
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

/* ---- restoring ---- */

/* Puts every file of run back as it was before, from its backup, when it is
 * not already so.  Checks every backup before the first write.  With strict
 * set, a file that is neither as before nor as nobounce left it is refused.
 * With dry set, only checks. */
static int restore_run(struct vol *v, json_t *run, int strict, int dry, struct err *e)
{
	json_t *files = json_object_get(run, "files");
	size_t n = json_array_size(files);
	struct buf *bak = xcalloc(n, sizeof *bak);
	int *todo = xcalloc(n, sizeof *todo);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		json_t *f = json_array_get(files, i);
		const char *path = jstr(f, "path");
		struct buf cur = {0};
		char sha[65];
		if (read_hash(v, path, HIVE_MAX_BYTES, &cur, sha, e) == -1) {
			r = -1;
			break;
		}
		buf_free(&cur);
		if (STREQ(sha, jstr(f, "sha256_before")))
			continue;
		if (vol_check_links(v, path, e) == -1) {
			r = -1;
			break;
		}
		if (strict && !STREQ(sha, jstr(f, "sha256_after"))) {
			r = fail(e, "changed-since",
				 "%s: was changed after nobounce fixed it; undo would lose that "
				 "change. Use --force to restore the backup anyway",
				 path);
			break;
		}
		char bsha[65];
		if (bak_read(v, f, &bak[i], bsha, e) == -1 ||
		    !STREQ(bsha, jstr(f, "sha256_before"))) {
			err_clear(e);
			r = fail(e, "no-backup",
				 "%s: its backup %s is missing or does not match the manifest; "
				 "nothing was restored",
				 path, jstr(f, "backup"));
			break;
		}
		todo[i] = 1;
	}
	for (size_t i = 0; i < n && r == 0 && !dry; i++) {
		if (!todo[i])
			continue;
		json_t *f = json_array_get(files, i);
		const char *path = jstr(f, "path");
		struct buf back = {0};
		char sha[65];
		if (vol_rewrite(v, path, bak[i].p, bak[i].len, e) == -1 ||
		    read_hash(v, path, HIVE_MAX_BYTES, &back, sha, e) == -1)
			r = -1;
		else if (!STREQ(sha, jstr(f, "sha256_before")))
			r = fail(e, "io",
				 "%s: reads back different from its backup after restoring", path);
		buf_free(&back);
	}
	for (size_t i = 0; i < n; i++)
		buf_free(&bak[i]);
	free(bak);
	free(todo);
	return r;
}

/* Drops the last run: its backups, then its manifest entry. */
static int forget_run(struct vol *v, struct manifest *m, struct err *e)
{
	json_t *files = json_object_get(last_run(m), "files");
	for (size_t i = 0; i < json_array_size(files); i++)
		if (bak_remove(v, json_array_get(files, i), e) == -1)
			return -1;
	json_array_remove(runs(m), json_array_size(runs(m)) - 1);
	return manifest_save(v, m, e);
}

/* ---- planning ---- */

static void edits_free_one(struct edit *ed)
{
	free(ed->path);
	buf_free(&ed->after);
	changes_free(&ed->ch);
}

static void edits_free(struct edit *ed, size_t n)
{
	for (size_t i = 0; i < n; i++)
		edits_free_one(&ed[i]);
	free(ed);
}

/* Product name for reports when SOFTWARE is not otherwise needed; undo must
 * not depend on it, so a SOFTWARE nobounce cannot read is only skipped. */
static void describe(struct vol *v, struct install *in)
{
	struct err e = {0};
	struct hive *sw = in->software ? hive_load(v, in->software, 0, NULL, &e) : NULL;
	if (sw)
		install_describe(in, sw);
	else if (e.msg)
		note("%s: %s", v->name, e.msg);
	hive_free(sw);
	err_clear(&e);
}

/* A dirty hive, replayed from its transaction logs in memory (as Windows
 * would at boot).  When the hive is then written, its logs are emptied (and
 * backed up with it): Windows must never replay their stale entries over
 * the clean hive nobounce wrote.  logs gets an edit for each. */
static int recover_hive(struct vol *v, const char *path, const struct buf *raw, struct buf *rec,
			struct edit **logs, size_t *nlogs, struct outcome *o, struct err *e)
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
			r = fail(e, "dirty-hive",
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
		le->before_len = hl[i].data.len;
		sha256_hex(hl[i].data.p, hl[i].data.len, le->before_sha);
		changes_add(&le->ch, "clear-log", xstrdup(paths.v[i]), NULL, NULL, NULL);
	}
	if (r == 0) {
		CLEANUP_FREE char *list = xstrdup("");
		for (size_t i = 0; i < applied.n; i++) {
			char *next = xasprintf("%s%s%s", list, i ? "; " : "", applied.v[i]);
			free(list);
			list = next;
		}
		outcome_note(o, "%s is dirty: replayed its logs in memory (%s)", path, list);
	}
	for (size_t i = 0; i < n; i++)
		buf_free(&hl[i].data);
	free(hl);
	strlist_free(&paths);
	strlist_free(&applied);
	return r;
}

/* Plans one hive fix; with build set, also makes and verifies the new bytes.
 * A dirty hive is recovered from its logs first (unless no_recover); its
 * log files then join the plan as edits of their own. */
static int plan_hive_file(struct vol *v, struct install *in, const struct fixdef *fx,
			  const char *path, int build, const struct plan_opts *po,
			  const struct fixctx *base, struct fixctx *cx, struct edit *ed,
			  struct outcome *o, struct edit **logs, size_t *nlogs, struct err *e)
{
	struct buf raw = {.memfd = -1}, rec = {0};
	if (vol_read(v, path, HIVE_MAX_BYTES, &raw, e) == -1)
		return -1;
	note("%s: read %s (%zu bytes)", v->name, path, raw.len);
	ed->before_len = raw.len;
	if (build)
		sha256_hex(raw.p, raw.len, ed->before_sha);
	size_t nlogs0 = *nlogs;
	int r = 0;
	if (!po->no_recover && hivelog_is_dirty(raw.p, raw.len))
		r = recover_hive(v, path, &raw, &rec, logs, nlogs, o, e);
	struct hive *hv = r == 0 ? hive_open_bytes(path, rec.p ? &rec : &raw, build, e) : NULL;
	buf_free(&raw);
	buf_free(&rec);
	if (!hv)
		r = -1;
	if (r == 0 && path == in->software)
		install_describe(in, hv);
	if (r == 0)
		r = fx->plan_hive(hv, cx, &ed->ch, e);
	if (r == 0 && ed->ch.n && build)
		r = hive_serialize(hv, &ed->after, e);
	/* hivex's copy goes before the new bytes are opened again to verify */
	hive_free(hv);
	if (r == 0 && ed->ch.n && build)
		r = verify_hive(fx, path, &ed->after, &ed->ch, base, e);
	if (r == 0 && !ed->ch.n && *nlogs > nlogs0) {
		/* nothing to change: the dirty hive and its logs stay as they are,
		 * for Windows to replay at boot */
		for (size_t i = nlogs0; i < *nlogs; i++) {
			free((*logs)[i].path);
			changes_free(&(*logs)[i].ch);
		}
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
	note("%s: read %s (%zu bytes)", v->name, path, before.len);
	ed->before_len = before.len;
	if (build)
		sha256_hex(before.p, before.len, ed->before_sha);
	int r = fx->plan_bytes(path, &before, cx, &ed->ch, build ? &ed->after : NULL, e);
	buf_free(&before);
	if (r == 0 && ed->ch.n && build)
		r = verify_bytes(ed, &ed->after, cx, e);
	return r;
}

/* Reads, checks and plans every file; with build set, also makes and
 * verifies each new content.  Writes nothing. */
static int plan_all(struct vol *v, struct install *in, int build, const struct plan_opts *po,
		    const struct fixctx *base, struct fixctx *cx, struct outcome *o, struct err *e)
{
	struct edit *logs = NULL;
	size_t nlogs = 0;
	int r = 0;
	for (size_t i = 0; i < fix_count && r == 0; i++) {
		const struct fixdef *fx = &fix_list[i];
		const char *path = fx->file(in);
		if (!path)
			continue;
		struct edit ed = {.path = xstrdup(path), .fix = fx};
		r = fx->plan_hive ? plan_hive_file(v, in, fx, path, build, po, base, cx, &ed, o,
						   &logs, &nlogs, e)
				  : plan_bytes_file(v, fx, path, build, cx, &ed, e);
		if (r == 0 && ed.ch.n) {
			o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
			o->edits[o->nedits++] = ed;
		} else {
			edits_free_one(&ed);
		}
	}
	/* the logs of recovered hives come last: emptied after their hives */
	for (size_t i = 0; i < nlogs; i++) {
		if (r == 0) {
			o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
			o->edits[o->nedits++] = logs[i];
		} else {
			edits_free_one(&logs[i]);
		}
	}
	free(logs);
	/* a file with several names is never rewritten (vol.h): say so now,
	 * before anything is written, rather than half-way */
	for (size_t i = 0; i < o->nedits && r == 0; i++)
		r = vol_check_links(v, o->edits[i].path, e);
	return r;
}

/* ---- applying ---- */

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *backup_name(const struct plan_opts *po, const char *path, int id)
{
	if (!po->backup_dir)
		return xasprintf("%s.nobounce-%d.bak", path, id);
	CLEANUP_FREE char *flat = xstrdup(path);
	for (char *c = flat; *c; c++)
		if (*c == '/')
			*c = '_';
	return xasprintf("%s/%s--%s.nobounce-%d.bak", po->backup_dir, po->backup_tag, flat, id);
}

static json_t *new_run(struct manifest *m, struct outcome *o, const struct fixctx *cx,
		       const struct plan_opts *po)
{
	int id = (int)json_integer_value(json_object_get(m->root, "next_run"));
	if (id < 1)
		id = 1;
	json_object_set_new(m->root, "next_run", json_integer(id + 1));
	char now[32];
	iso_now(now);
	json_t *files = json_array();
	for (size_t i = 0; i < o->nedits; i++) {
		struct edit *ed = &o->edits[i];
		char after[65];
		sha256_hex(ed->after.p, ed->after.len, after);
		CLEANUP_FREE char *bak = backup_name(po, ed->path, id);
		json_array_append_new(
		    files,
		    json_pack("{s:s,s:s,s:s,s:I,s:s,s:I,s:s}", "path", ed->path, "backup", bak,
			      "backup_on", po->backup_dir ? "host" : "volume", "size_before",
			      (json_int_t)ed->before_len, "sha256_before", ed->before_sha,
			      "size_after", (json_int_t)ed->after.len, "sha256_after", after));
	}
	json_t *classes = json_array();
	for (size_t i = 0; i < cx->sink_classes.n; i++)
		json_array_append_new(classes, json_string(cx->sink_classes.v[i]));
	/* the classes let a later run recognise PEEXCH50's bindings even when
	 * its COM keys are already gone */
	json_t *run = json_pack("{s:i,s:s,s:s,s:o,s:o,s:o}", "run", id, "time", now, "state",
				"applying", "files", files, "changes",
				changes_json(o->edits, o->nedits), "sink_classes", classes);
	json_array_append_new(runs(m), run);
	o->run = id;
	return run;
}

static int apply(struct vol *v, struct manifest *m, const struct fixctx *cx,
		 const struct plan_opts *po, struct outcome *o, struct err *e)
{
	json_t *run = new_run(m, o, cx, po);
	json_t *files = json_object_get(run, "files");
	/* 1. the manifest, so that anything written after it can be found */
	if (manifest_save(v, m, e) == -1)
		return -1;
	/* 2. backups: each file read again (it must still be what was planned
	 * on), written aside, read back */
	int r = 0;
	size_t made = 0;
	for (size_t i = 0; i < o->nedits && r == 0; i++) {
		struct edit *ed = &o->edits[i];
		json_t *f = json_array_get(files, i);
		const char *bak = jstr(f, "backup");
		struct buf now = {0}, back = {0};
		char sha[65];
		r = read_hash(v, ed->path, HIVE_MAX_BYTES, &now, sha, e);
		if (r == 0 && !STREQ(sha, ed->before_sha))
			r = fail(e, "changed-since",
				 "%s: changed while nobounce was planning (another program is "
				 "writing to this volume?); nothing was written",
				 ed->path);
		if (r == 0 && (r = bak_create(v, f, &now, e)) == 0)
			made++;
		/* one copy in memory at a time: the read-back is checked by hash */
		buf_free(&now);
		if (r == 0)
			r = bak_read(v, f, &back, sha, e);
		if (r == 0 && !STREQ(sha, ed->before_sha))
			r = fail(e, "io", "%s: the backup reads back different", bak);
		buf_free(&back);
	}
	if (r == -1) {
		/* nothing of Windows' was written: remove what this run made, and
		 * the manifest entry, so that no later run stumbles on them */
		struct err e2 = {0};
		for (size_t i = 0; i < made; i++)
			bak_remove(v, json_array_get(files, i), &e2);
		json_array_remove(runs(m), json_array_size(runs(m)) - 1);
		manifest_save(v, m, &e2);
		err_clear(&e2);
		o->run = 0;
		return -1;
	}
	/* 3. the files, each read back: the bytes verified before writing must
	 * be the bytes on the volume */
	for (size_t i = 0; i < o->nedits && r == 0; i++) {
		struct edit *ed = &o->edits[i];
		struct buf back = {0};
		r = vol_rewrite(v, ed->path, ed->after.p, ed->after.len, e);
		if (r == 0)
			r = vol_read(v, ed->path, HIVE_MAX_BYTES, &back, e);
		if (r == 0 && (back.len != ed->after.len ||
			       (back.len && memcmp(back.p, ed->after.p, back.len) != 0)))
			r = fail(e, "verify-failed",
				 "%s: reads back different from what was written", ed->path);
		buf_free(&back);
	}
	if (r == -1) {
		/* put everything back; the manifest still says "applying" until then */
		struct err e2 = {0};
		if (restore_run(v, run, 0, 0, &e2) == -1 || forget_run(v, m, &e2) == -1) {
			outcome_note(
			    o, "rolling back failed too (%s); run 'nobounce undo' on this target",
			    e2.msg);
			err_clear(&e2);
		} else {
			outcome_note(o, "every file was put back as it was");
		}
		o->run = 0;
		return -1;
	}
	/* 4. done: the run becomes undoable */
	json_object_set_new(run, "state", json_string("complete"));
	return manifest_save(v, m, e);
}

/* ---- commands ---- */

static int do_undo(struct vol *v, struct manifest *m, int force, struct outcome *o)
{
	json_t *run = last_run(m);
	if (!run) {
		o->status = "clean";
		outcome_note(o, "nothing to undo: no nobounce run on record");
		return 0;
	}
	o->run = (int)json_integer_value(json_object_get(run, "run"));
	/* all checks first; then the run is marked, so that an undo killed
	 * half-way is finished by the next undo (or rolled back by fix) */
	if (restore_run(v, run, run_complete(run) && !force, 1, &o->err) == -1)
		return -1;
	json_object_set_new(run, "state", json_string("undoing"));
	if (manifest_save(v, m, &o->err) == -1 || restore_run(v, run, 0, 0, &o->err) == -1)
		return -1;
	/* report each file put back: its content goes from "after" to "before" */
	json_t *files = json_object_get(run, "files");
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		struct changes ch = {0};
		changes_add(&ch, "restore-file", xstrdup(jstr(f, "backup")), NULL,
			    xasprintf("sha256:%s", jstr(f, "sha256_after")),
			    xasprintf("sha256:%s", jstr(f, "sha256_before")));
		o->edits = xrealloc(o->edits, (o->nedits + 1) * sizeof *o->edits);
		o->edits[o->nedits++] = (struct edit){.path = xstrdup(jstr(f, "path")), .ch = ch};
	}
	if (forget_run(v, m, &o->err) == -1)
		return -1;
	o->status = "restored";
	outcome_note(o, "run %d undone", o->run);
	return 0;
}

int plan_run(struct vol *v, struct install *in, enum command cmd, const struct plan_opts *po,
	     struct outcome *o)
{
	struct manifest m = {0};
	struct fixctx base = {0}, cx = {0};
	memset(o, 0, sizeof *o);
	o->inst = in;
	o->status = "error";
	int r = 0;
	if (v->refusal && cmd != CMD_CHECK) {
		describe(v, in);
		r = fail(&o->err, v->refusal_kind, "%s; nothing was written", v->refusal);
		goto out;
	}
	r = manifest_load(v, in, &m, &o->err);
	if (r == 0 && m.exists)
		o->manifest = xstrdup(m.path);
	if (r == 0 && cmd == CMD_UNDO) {
		describe(v, in);
		critical_begin();
		r = do_undo(v, &m, po->force, o);
		critical_end();
		goto out;
	}
	json_t *run = r == 0 ? last_run(&m) : NULL;
	if (run && !run_complete(run)) {
		int id = (int)json_integer_value(json_object_get(run, "run"));
		if (cmd == CMD_CHECK) {
			describe(v, in);
			o->status = "needs-fix";
			outcome_note(o,
				     "run %d was interrupted; 'fix' will roll it back and redo it, "
				     "'undo' will roll it back",
				     id);
			goto out;
		}
		note("%s: rolling back interrupted run %d", v->name, id);
		critical_begin();
		r = restore_run(v, run, 0, 0, &o->err);
		if (r == 0)
			r = forget_run(v, &m, &o->err);
		critical_end();
		if (r == 0)
			outcome_note(o, "interrupted run %d was rolled back first", id);
	}
	if (r == 0) {
		manifest_classes(&m, &base);
		ctx_copy(&cx, &base);
	}
	if (r == 0)
		r = plan_all(v, in, cmd == CMD_FIX, po, &base, &cx, o, &o->err);
	if (r == 0 && o->nedits == 0)
		o->status = "clean";
	else if (r == 0 && cmd == CMD_CHECK)
		o->status = "needs-fix";
	else if (r == 0 && signal_pending())
		r = fail(&o->err, "interrupted",
			 "interrupted before the first write; nothing was "
			 "written");
	else if (r == 0) {
		/* a signal now waits until every file is written and verified,
		 * or put back */
		critical_begin();
		r = apply(v, &m, &cx, po, o, &o->err);
		critical_end();
		if (r == 0)
			o->status = "fixed";
	}
	if (r == 0 && cmd == CMD_CHECK && v->refusal && o->nedits)
		outcome_note(o, "fix will refuse this volume: %s", v->refusal);
	if (r == 0 && in->metabase_bin)
		outcome_note(o,
			     "%s: IIS 5 (Windows 2000) keeps its metabase in this binary file, "
			     "which nobounce does not edit: PEEXCH50's SMTP sink bindings stay in "
			     "it, naming classes that no longer exist once its COM registration is "
			     "gone (the SMTP service skips them, and may log a warning for each). "
			     "To remove them, run on the running server: regsvr32 /u \"C:\\Program "
			     "Files\\Exchsrvr\\bin\\peexch50.dll\"",
			     in->metabase_bin);
out:
	fixctx_free(&base);
	fixctx_free(&cx);
	if (r == 0 && m.exists && !o->manifest)
		o->manifest = xstrdup(m.path);
	manifest_free(&m);
	if (r == -1)
		o->status = "error";
	return r;
}

int plan_pending(struct vol *v, struct install *in)
{
	struct manifest m = {0};
	struct err e = {0};
	/* a run not complete, or a manifest caught between its two copies */
	CLEANUP_FREE char *tmp = xasprintf("%s/.%s.tmp", in->sysroot, MANIFEST_NAME);
	char *real = NULL;
	int aside = vol_resolve(v, tmp, &real, NULL, &e) == 1;
	err_clear(&e);
	int loaded = manifest_load(v, in, &m, &e) == 0;
	int r = aside || (!loaded && m.exists) ||
		(loaded && last_run(&m) && !run_complete(last_run(&m)));
	free(real);
	manifest_free(&m);
	err_clear(&e);
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
	edits_free(o->edits, o->nedits);
	free(o->manifest);
	strlist_free(&o->notes);
	err_clear(&o->err);
}
