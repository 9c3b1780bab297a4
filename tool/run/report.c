/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report: an outcome printed for people or as a JSON line (see report.h). */
#include "run/report.h"
#include "lib/version.h"
#include "reg/regname.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

int report_status_fd = -1;
double report_t0;

static void put_status(const char *status)
{
	if (report_status_fd >= 0) {
		char line[64];
		int n = snprintf(line, sizeof line, "%s\n", status);
		if (write(report_status_fd, line, (size_t)n) < 0)
			note("status pipe: %s", strerror(errno));
	}
}

/* Milliseconds from the start of the target. */
static json_int_t elapsed_ms(void)
{
	return report_t0 > 0 ? (json_int_t)((now_seconds() - report_t0) * 1000 + 0.5) : 0;
}

static void put_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
	fflush(stdout);
	json_decref(o);
}

static json_t *error_json(const struct err *e)
{
	return json_pack("{s:s,s:s}", "kind", e->kind ? e->kind : "error", "message",
			 e->msg ? e->msg : "");
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* "disk.img (partition 2)", "a.img + b.img (Volume3, mirrored G:)" */
static char *where(const struct place *pl)
{
	if (pl->vol)
		return xasprintf("%s (%s, %s%s%s)", pl->target, pl->vol->name, pl->vol->type,
				 pl->vol->hint ? " " : "", pl->vol->hint ? pl->vol->hint : "");
	if (!pl->part || !pl->part->number)
		return xstrdup(pl->target);
	return xasprintf("%s (partition %u)", pl->target, pl->part->number);
}

static json_t *part_json(const struct part *part)
{
	if (!part)
		return json_null();
	return json_pack("{s:i,s:s,s:I,s:I,s:o}", "number", (int)part->number, "scheme",
			 part->scheme, "offset", (json_int_t)part->start, "size",
			 (json_int_t)part->size, "note", jstr_or_null(part->note));
}

/* The volume and every member disk, given or not. */
static json_t *volume_json(const struct place *pl)
{
	const struct ldm_volume *v = pl->vol;
	if (!v)
		return json_null();
	json_t *members = json_array();
	for (size_t i = 0; i < v->nlegs; i++) {
		const struct ldm_leg *l = &v->legs[i];
		json_array_append_new(
		    members, json_pack("{s:s,s:o,s:I,s:I}", "disk", l->disk_name, "target",
				       l->disk >= 0 ? json_string(pl->disks[l->disk]) : json_null(),
				       "offset", (json_int_t)l->off, "size", (json_int_t)l->size));
	}
	return json_pack("{s:s,s:s,s:s,s:o,s:I,s:b,s:o}", "name", v->name, "type", v->type, "guid",
			 v->guid, "hint", jstr_or_null(v->hint), "size", (json_int_t)v->size,
			 "degraded", pl->degraded, "members", members);
}

static void error_text(const struct place *pl, const struct err *e, const struct strlist *notes)
{
	CLEANUP_FREE char *w = where(pl);
	eline(stderr, "nobounce: %s: %s", w, e->msg ? e->msg : "failed");
	for (size_t i = 0; notes && i < notes->n; i++)
		eline(stderr, "nobounce: %s: %s", w, notes->v[i]);
}

static json_t *notes_json(const struct strlist *notes)
{
	json_t *a = json_array();
	for (size_t i = 0; notes && i < notes->n; i++)
		json_array_append_new(a, json_string(notes->v[i]));
	return a;
}

/* Every line has the same fields, in this order, null (or empty) where
 * they do not apply: docs/nobounce-line.schema.json. */
static json_t *line_json(const struct report_opts *ro, const struct place *pl, const char *status,
			 const struct install *in, json_t *changes, int run, const char *journal,
			 const struct strlist *notes, const struct err *err)
{
	json_t *windows =
	    in ? json_pack("{s:s,s:o,s:o,s:o,s:o}", "systemroot", in->sysroot, "product",
			   jstr_or_null(in->product), "version", jstr_or_null(in->version), "build",
			   jstr_or_null(in->build), "service_pack", jstr_or_null(in->service_pack))
	       : json_null();
	return json_pack(
	    "{s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "command",
	    ro->command ? ro->command : "", "version", NOBOUNCE_VERSION, "target", pl->target,
	    "partition", part_json(pl->part), "volume", volume_json(pl), "status", status,
	    "windows", windows, "changes", changes ? changes : json_array(), "run",
	    run ? json_integer(run) : json_null(), "journal", jstr_or_null(journal), "notes",
	    notes_json(notes), "error", err && err->msg ? error_json(err) : json_null(),
	    "elapsed_ms", elapsed_ms());
}

static json_t *outcome_json(const struct report_opts *ro, const struct place *pl,
			    const struct outcome *o)
{
	json_t *ch = json_array();
	for (size_t i = 0; i < o->nedits; i++)
		for (size_t j = 0; j < o->edits[i].ch.n; j++)
			json_array_append_new(ch,
					      change_json(o->edits[i].path, &o->edits[i].ch.v[j]));
	return line_json(ro, pl, o->status, o->inst, ch, o->run, o->journal, &o->notes, &o->err);
}

/* "    set-value   KEY\VALUE = NEW (was OLD)" */
static void change_line(const struct change *c)
{
	CLEANUP_FREE char *val = c->value ? xasprintf("\\%s", c->value) : xstrdup("");
	CLEANUP_FREE char *now = c->new ? xasprintf(" = %s", c->new) : xstrdup("");
	CLEANUP_FREE char *was = c->old ? xasprintf(" (was %s)", c->old) : xstrdup("");
	eline(stdout, "    %-11s %s%s%s%s", c->action, c->key, val, now, was);
}

static const char *status_words(const char *status)
{
	if (STREQ(status, "clean"))
		return "clean, nothing to change";
	if (STREQ(status, "needs-fix"))
		return "needs fix";
	if (STREQ(status, "recovered"))
		return "recovered: its dirty hives replayed from their logs, in place";
	if (STREQ(status, "not-applicable"))
		return "not applicable";
	if (STREQ(status, "nothing-to-undo"))
		return "nothing to undo";
	if (STREQ(status, "nothing-to-commit"))
		return "nothing to commit";
	return status;
}

/* The members of a degraded mirror that were not written. */
static void degraded_line(const struct place *pl)
{
	if (!pl->degraded)
		return;
	CLEANUP_FREE char *missing = xstrdup("");
	for (size_t i = 0; i < pl->vol->nlegs; i++)
		if (pl->vol->legs[i].disk < 0)
			str_add(&missing, ", ", "%s", pl->vol->legs[i].disk_name);
	eline(stdout,
	      "  degraded mirror: %s was not given and was not written. In Windows' Disk "
	      "Management, remove it from the mirror (Remove Mirror), then add a new disk "
	      "(Add Mirror)",
	      missing);
}

/* export: the .reg text of each key, regedit's header first; or with
 * --json one line per key.  Nothing else goes to the output: it is the
 * .reg file. */
static void report_export(const struct report_opts *ro, const struct place *pl,
			  const struct outcome *o)
{
	if (ro->json) {
		for (size_t i = 0; i < o->nexported; i++) {
			json_t *line =
			    line_json(ro, pl, o->status, o->inst, NULL, 0, NULL, &o->notes, NULL);
			json_object_del(line, "changes");
			json_object_del(line, "run");
			json_object_del(line, "journal");
			json_object_set_new(line, "key", json_string(ro->export_keys[i]));
			json_object_set_new(line, "reg", json_string(o->exported[i]));
			put_json(line);
		}
		return;
	}
	for (size_t i = 0; i < o->notes.n; i++) /* not in the .reg */
		eline(stderr, "nobounce: %s: %s", pl->target, o->notes.v[i]);
	char *text = xstrdup("Windows Registry Editor Version 5.00\n\n");
	for (size_t i = 0; i < o->nexported; i++)
		str_add(&text, "", "%s", o->exported[i]);
	FILE *f = ro->out ? ro->out : stdout;
	if (!ro->utf16) {
		fputs(text, f);
	} else { /* as regedit saves: UTF-16LE, a byte-order mark, CRLF */
		fputs("\377\376", f);
		for (const unsigned char *c = (const unsigned char *)text; *c;) {
			if (*c == '\n') {
				fwrite("\r\0\n\0", 1, 4, f);
				c++;
				continue;
			}
			uint32_t u = regname_next(&c);
			if (u >= 0x10000) {
				u -= 0x10000;
				uint16_t hi = (uint16_t)(0xd800 + (u >> 10)),
					 lo = (uint16_t)(0xdc00 + (u & 0x3ff));
				uint8_t b[4] = {(uint8_t)hi, (uint8_t)(hi >> 8), (uint8_t)lo,
						(uint8_t)(lo >> 8)};
				fwrite(b, 1, 4, f);
			} else {
				uint8_t b[2] = {(uint8_t)u, (uint8_t)(u >> 8)};
				fwrite(b, 1, 2, f);
			}
		}
	}
	fflush(f);
	free(text);
}

void report_outcome(const struct report_opts *ro, const struct place *pl, const struct outcome *o)
{
	put_status(o->status);
	if (o->nexported && STREQ(o->status, "exported")) {
		report_export(ro, pl, o);
		return;
	}
	if (o->err.msg)
		error_text(pl, &o->err, &o->notes);
	if (ro->json) {
		put_json(outcome_json(ro, pl, o));
		return;
	}
	if (ro->quiet || o->err.msg)
		return;
	const struct install *in = o->inst;
	CLEANUP_FREE char *w = where(pl);
	CLEANUP_FREE char *ver =
	    in->version || in->build || in->service_pack
		? xasprintf(" (%s%s%s%s%s)", in->version ? in->version : "", in->build ? "." : "",
			    in->build ? in->build : "", in->service_pack ? ", " : "",
			    in->service_pack ? in->service_pack : "")
		: xstrdup("");
	/* every line through eline: names come from the image */
	eline(stdout, "%s: %s%s in %s: %s", w, in->product ? in->product : "Windows", ver,
	      in->sysroot, status_words(o->status));
	for (size_t i = 0; i < o->nedits; i++) {
		eline(stdout, "  %s", o->edits[i].path);
		for (size_t j = 0; j < o->edits[i].ch.n; j++) {
			const struct change *c = &o->edits[i].ch.v[j];
			if (STREQ(c->action, "restore-file"))
				eline(stdout, "    restored from the journal %s", c->key);
			else if (STREQ(c->action, "remove-binding"))
				eline(stdout,
				      "    %-11s SMTP instance %s, %s: \"%s\" (sink class %s)",
				      c->action, c->instance, c->event,
				      c->value ? c->value : "(no display name)", c->old);
			else
				change_line(c);
		}
	}
	for (size_t i = 0; i < o->notes.n; i++)
		eline(stdout, "  %s", o->notes.v[i]);
	if (pl->part && pl->part->note)
		eline(stdout, "  partition table: %s", pl->part->note);
	degraded_line(pl);
	fflush(stdout);
}

void report_deferred(const struct ldm_ident *id)
{
	if (report_status_fd >= 0)
		dprintf(report_status_fd, "dynamic %s %s\n", id->group, id->disk);
}

void report_target(const struct report_opts *ro, const struct place *pl, const char *status,
		   const struct err *err)
{
	put_status(status);
	if (err && err->msg)
		error_text(pl, err, NULL);
	if (ro->json) {
		json_t *o = line_json(ro, pl, status, NULL, NULL, 0, NULL, NULL, err);
		put_json(o);
		return;
	}
	CLEANUP_FREE char *w = where(pl);
	if (!ro->quiet && !(err && err->msg))
		eline(stdout, "%s: %s", w,
		      STREQ(status, "not-applicable")
			  ? "not applicable: no Windows installation (WINDOWS or WINNT "
			    "with system32/config/SYSTEM) found"
			  : status);
	fflush(stdout);
}
