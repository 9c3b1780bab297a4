/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal: the journal's format, found, judged and built (see journal.h and
 * docs/journal.md). */
#include "txn/journal.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

#define MAGIC "nobounce journal 1\n"

/* ---- pages ---- */

void spans_add(struct spans *s, uint64_t off, uint64_t len)
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
	return off >= len ? 0 : len - off < NB_PAGE ? len - off : NB_PAGE;
}

void pages_diff(const struct buf *a, const struct buf *b, struct spans *out)
{
	size_t n = a->len > b->len ? a->len : b->len;
	for (size_t off = 0; off < n; off += NB_PAGE) {
		size_t la = page_len(a->len, off), lb = page_len(b->len, off);
		if (la == lb && memcmp(a->p + off, b->p + off, la) == 0)
			continue;
		spans_add(out, off, NB_PAGE);
	}
}

struct span span_clip(struct span s, uint64_t len)
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

/* Always exactly JOURNAL_HEAD bytes of text, padded with spaces, so that the
 * state can be rewritten in place. */
static void header_make(const struct header *h, uint8_t out[JOURNAL_HEAD])
{
	int n =
	    snprintf((char *)out, JOURNAL_HEAD,
		     MAGIC "state: %-8s\nrun: %d\nindex: %llu %llu sha256:%s\n"
			   "data: %llu %llu sha256:%s\n",
		     h->state, h->run, (unsigned long long)h->ioff, (unsigned long long)h->ilen,
		     h->isha, (unsigned long long)h->doff, (unsigned long long)h->dlen, h->dsha);
	pad(out + n, JOURNAL_HEAD - (size_t)n);
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
	if (b->len < JOURNAL_HEAD || memcmp(b->p, MAGIC, strlen(MAGIC)) != 0)
		return 0;
	char text[JOURNAL_HEAD + 1];
	memcpy(text, b->p, JOURNAL_HEAD);
	text[JOURNAL_HEAD] = 0;
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

void journal_set_state(struct buf *bytes, const char *state)
{
	struct header h;
	char *bad = NULL;
	header_parse(bytes, &h, &bad);
	free(bad);
	snprintf(h.state, sizeof h.state, "%s", state);
	header_make(&h, bytes->p);
}

/* ---- reading journals ---- */

const char *json_field_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

uint64_t json_field_u64(json_t *o, const char *k)
{
	json_int_t n = json_integer_value(json_object_get(o, k));
	return n < 0 ? 0 : (uint64_t)n;
}

/* Whether path is a hive (or one of its logs) of a user's profile, by its
 * name: NTUSER.DAT in any folder, UsrClass.dat where Windows keeps it.
 * Names, not ProfileList: a run cut short while it wrote SOFTWARE must
 * still be rolled back, and SOFTWARE may then be half written. */
static int profile_hive(const char *path, const char *log)
{
	static const char *const tails[] = {
	    "NTUSER.DAT", "Local Settings/Application Data/Microsoft/Windows/UsrClass.dat",
	    "AppData/Local/Microsoft/Windows/UsrClass.dat"};
	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		CLEANUP_FREE char *tail = xasprintf("/%s%s", tails[i], log);
		size_t n = strlen(path), t = strlen(tail);
		if (n > t && STRCASEEQ(path + n - t, tail))
			return 1;
	}
	return 0;
}

/* The files a journal may name: the ones nobounce edits, and the logs
 * beside the hives.  Anything else is not ours to write. */
static int ours(const struct install *in, const char *path)
{
	static const char *const logs[] = {"", ".LOG", ".LOG1", ".LOG2"};
	if (in->metabase && STRCASEEQ(path, in->metabase))
		return 1; /* the metabase alone: it has no logs */
	const char *config[] = {in->system, in->software, in->sam, in->security, in->deflt};
	for (size_t j = 0; j < ARRAY_SIZE(logs); j++) {
		if (profile_hive(path, logs[j]))
			return 1;
		for (size_t i = 0; i < ARRAY_SIZE(config); i++) {
			CLEANUP_FREE char *want =
			    config[i] ? xasprintf("%s%s", config[i], logs[j]) : NULL;
			if (want && STRCASEEQ(path, want))
				return 1;
		}
	}
	return 0;
}

char *journal_copy_name(const char *path, int run)
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
		const char *path = json_field_str(f, "path");
		if (!ours(in, path))
			return xasprintf("it names %s, a file nobounce never edits", path);
		uint64_t before = json_field_u64(f, "size_before"),
			 after = json_field_u64(f, "size_after");
		if (before > HIVE_MAX_BYTES || after > HIVE_MAX_BYTES ||
		    !is_hex64(json_field_str(f, "sha256_before")) ||
		    !is_hex64(json_field_str(f, "sha256_after")))
			return xasprintf("its entry for %s is malformed", path);
		json_t *rs = json_object_get(f, "ranges");
		uint64_t end = 0;
		for (size_t k = 0; k < json_array_size(rs); k++) {
			json_t *r = json_array_get(rs, k);
			uint64_t off = json_field_u64(r, "offset"),
				 len = json_field_u64(r, "length"), at = json_field_u64(r, "at");
			if (!len || off < end || off % NB_PAGE || off + len > before ||
			    at < h->doff || at + len > h->doff + h->dlen)
				return xasprintf("its ranges for %s are malformed", path);
			end = off + len;
		}
		const char *copy = json_string_value(json_object_get(f, "copy"));
		const char *on = json_field_str(f, "copy_on");
		if (copy && STREQ(on, "volume")) {
			CLEANUP_FREE char *want = journal_copy_name(path, run);
			if (!STRCASEEQ(copy, want))
				return xasprintf("its copy of %s is named oddly", path);
		} else if (copy && (!STREQ(on, "host") || strchr(copy, '/') || copy[0] == '.')) {
			return xasprintf("its copy of %s is named oddly", path);
		}
	}
	return NULL;
}

void journal_judge(const struct install *in, struct journal *j)
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
	} else if (h.ioff < JOURNAL_HEAD || h.ioff > j->bytes.len ||
		   h.ilen > j->bytes.len - h.ioff || h.doff > j->bytes.len ||
		   h.dlen > j->bytes.len - h.doff) {
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

int journal_run(const char *name)
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

int journal_find(struct vol *v, const struct install *in, struct journals *js, struct err *e)
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

void journal_free(struct journals *js)
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

void journal_classes(const struct journals *js, struct fixctx *cx)
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

int journal_pending(const struct journals *js)
{
	for (size_t i = 0; i < js->n; i++)
		if (!STREQ(js->v[i].state, "complete") || js->v[i].bad)
			return 1;
	return 0;
}

/* ---- building ---- */

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *changes_json(const struct edit *ed, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ed[i].ch.n; j++)
			json_array_append_new(a, change_json(ed[i].path, &ed[i].ch.v[j]));
	return a;
}

void journal_build(const struct journal_file *pf, size_t n, int run, const struct fixctx *cx,
		   const struct outcome *o, struct buf *out)
{
	/* the pages' places first: the index names them */
	uint64_t data = 0;
	json_t *files = json_array();
	for (size_t i = 0; i < n; i++) {
		struct edit *ed = pf[i].ed;
		json_t *ranges = json_array();
		for (size_t k = 0; k < pf[i].pages.n; k++) {
			struct span s = span_clip(pf[i].pages.v[k], ed->before.len);
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
			      pf[i].copy ? pf[i].copy_on : NULL));
	}
	json_t *classes = json_array();
	for (size_t i = 0; i < cx->sink_classes.n; i++)
		json_array_append_new(classes, json_string(cx->sink_classes.v[i]));
	char now[32];
	iso_now(now);
	/* the classes let a later run recognise PEEXCH50's bindings even when
	 * its COM keys are already gone */
	json_t *ix = json_pack("{s:i,s:i,s:s,s:i,s:o,s:o,s:o}", "nobounce_journal", 1, "run", run,
			       "time", now, "page_size", NB_PAGE, "files", files, "changes",
			       changes_json(o->edits, o->nedits), "sink_classes", classes);
	char *text = json_dumps(ix, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	size_t ilen = strlen(text);
	uint64_t doff = (NB_PAGE + ilen + 1 + NB_PAGE - 1) / NB_PAGE * NB_PAGE;
	/* now the offsets are known: "at" is where each range lies in the file */
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *rs = json_object_get(json_array_get(files, i), "ranges");
		for (size_t k = 0; k < json_array_size(rs); k++) {
			json_t *g = json_array_get(rs, k);
			json_object_set_new(
			    g, "at", json_integer((json_int_t)(json_field_u64(g, "at") + doff)));
		}
	}
	free(text);
	text = json_dumps(ix, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	ilen = strlen(text);
	/* the offsets have more digits now: the data goes a page further on
	 * if the index no longer fits before it */
	while (NB_PAGE + ilen + 1 > doff) {
		for (size_t i = 0; i < json_array_size(files); i++) {
			json_t *rs = json_object_get(json_array_get(files, i), "ranges");
			for (size_t k = 0; k < json_array_size(rs); k++) {
				json_t *g = json_array_get(rs, k);
				json_object_set_new(
				    g, "at",
				    json_integer((json_int_t)(json_field_u64(g, "at") + NB_PAGE)));
			}
		}
		doff += NB_PAGE;
		free(text);
		text = json_dumps(ix, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		ilen = strlen(text);
	}
	out->memfd = -1;
	buf_alloc(out, doff + data);
	pad(out->p + JOURNAL_HEAD, NB_PAGE - JOURNAL_HEAD);
	memcpy(out->p + NB_PAGE, text, ilen);
	pad(out->p + NB_PAGE + ilen, doff - NB_PAGE - ilen);
	uint8_t *d = out->p + doff;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < pf[i].pages.n; k++) {
			struct span s = span_clip(pf[i].pages.v[k], pf[i].ed->before.len);
			memcpy(d, pf[i].ed->before.p + s.off, s.len);
			d += s.len;
		}
	struct header h = {.run = run, .ioff = NB_PAGE, .ilen = ilen, .doff = doff, .dlen = data};
	snprintf(h.state, sizeof h.state, "creating");
	sha256_hex(out->p + NB_PAGE, ilen, h.isha);
	sha256_hex(out->p + doff, data, h.dsha);
	header_make(&h, out->p);
	free(text);
	json_decref(ix);
}
