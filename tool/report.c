#include "report.h"

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

static double elapsed(void)
{
	return report_t0 > 0 ? (double)(long long)((now_seconds() - report_t0) * 1000) / 1000 : 0;
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

/* "disk.img (partition 2)" for people. */
static char *where(const char *target, const struct part *part)
{
	if (!part || !part->number)
		return xstrdup(target);
	return xasprintf("%s (partition %u)", target, part->number);
}

static json_t *part_json(const struct part *part)
{
	if (!part)
		return json_null();
	return json_pack("{s:i,s:s,s:I,s:I,s:o}", "number", (int)part->number, "scheme",
			 part->scheme, "offset", (json_int_t)part->start, "size",
			 (json_int_t)part->size, "note", jstr_or_null(part->note));
}

static void error_text(const char *target, const struct part *part, const struct err *e,
		       const char *detail)
{
	CLEANUP_FREE char *w = where(target, part);
	eline(stderr, "nobounce: %s: %s", w, e->msg ? e->msg : "failed");
	if (detail)
		eline(stderr, "nobounce: %s: %s", w, detail);
}

static json_t *outcome_json(const char *target, const struct part *part, const struct outcome *o)
{
	const struct install *in = o->inst;
	json_t *root = json_object();
	json_object_set_new(root, "target", json_string(target));
	json_object_set_new(root, "partition", part_json(part));
	json_object_set_new(root, "status", json_string(o->status));
	json_object_set_new(root, "windows",
			    json_pack("{s:s,s:o,s:o,s:o,s:o}", "systemroot", in->sysroot, "product",
				      jstr_or_null(in->product), "version",
				      jstr_or_null(in->version), "build", jstr_or_null(in->build),
				      "service_pack", jstr_or_null(in->service_pack)));
	json_t *ch = json_array();
	for (size_t i = 0; i < o->nedits; i++)
		for (size_t j = 0; j < o->edits[i].ch.n; j++)
			json_array_append_new(ch,
					      change_json(o->edits[i].path, &o->edits[i].ch.v[j]));
	json_object_set_new(root, "changes", ch);
	if (o->run)
		json_object_set_new(root, "run", json_integer(o->run));
	if (o->manifest)
		json_object_set_new(root, "manifest", json_string(o->manifest));
	if (o->detail)
		json_object_set_new(root, "detail", json_string(o->detail));
	json_object_set_new(root, "error", o->err.msg ? error_json(&o->err) : json_null());
	json_object_set_new(root, "elapsed", json_real(elapsed()));
	return root;
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
	return status;
}

void report_outcome(const struct report_opts *ro, const char *target, const struct part *part,
		    const struct outcome *o)
{
	put_status(o->status);
	if (o->err.msg)
		error_text(target, part, &o->err, o->detail);
	if (ro->json) {
		put_json(outcome_json(target, part, o));
		return;
	}
	if (ro->quiet || o->err.msg)
		return;
	const struct install *in = o->inst;
	CLEANUP_FREE char *w = where(target, part);
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
				eline(stdout, "    restored from %s", c->key);
			else if (STREQ(c->action, "remove-binding"))
				eline(stdout,
				      "    %-11s SMTP instance %s, %s: \"%s\" (sink class %s)",
				      c->action, c->instance, c->event,
				      c->value ? c->value : "(no display name)", c->old);
			else
				change_line(c);
		}
	}
	if (o->detail)
		eline(stdout, "  %s", o->detail);
	if (part && part->note)
		eline(stdout, "  partition table: %s", part->note);
	fflush(stdout);
}

void report_target(const struct report_opts *ro, const char *target, const struct part *part,
		   const char *status, const struct err *err)
{
	put_status(status);
	if (err && err->msg)
		error_text(target, part, err, NULL);
	if (ro->json) {
		json_t *o = json_pack(
		    "{s:s,s:o,s:s,s:n,s:[],s:o,s:f}", "target", target, "partition",
		    part_json(part), "status", status, "windows", "changes", "error",
		    err && err->msg ? error_json(err) : json_null(), "elapsed", elapsed());
		put_json(o);
		return;
	}
	CLEANUP_FREE char *w = where(target, part);
	if (!ro->quiet && !(err && err->msg))
		eline(stdout, "%s: %s", w,
		      STREQ(status, "not-applicable")
			  ? "not applicable: no Windows installation (WINDOWS or WINNT "
			    "with system32/config/SYSTEM) found"
			  : status);
	fflush(stdout);
}
