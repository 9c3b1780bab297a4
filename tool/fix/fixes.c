/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fixes: the list of fixes, in the order they are planned and applied: the COM fix
 * runs before the metabase fix, which needs the classes it found. */
#include "fix/fixes.h"

#include <jansson.h>

static const char *system_file(const struct install *in)
{
	return in->system;
}

static const char *software_file(const struct install *in)
{
	return in->software;
}

static const char *sam_file(const struct install *in)
{
	return in->sam;
}

static const char *security_file(const struct install *in)
{
	return in->security;
}

static const char *default_file(const struct install *in)
{
	return in->deflt;
}

/* recover TARGET: nothing to change; a dirty hive is written recovered */
static int no_change(const struct hread *h, struct fixctx *cx, struct changes *out, struct err *e)
{
	(void)h, (void)cx, (void)out, (void)e;
	return 0;
}

static const char *metabase_file(const struct install *in)
{
	return in->metabase;
}

const struct fixdef fix_list[] = {
    {.name = "SuppressExternal",
     .file = system_file,
     .plan_read = fix_system_plan,
     .apply = fix_system_apply},
    {.name = "PEEXCH50 COM registration",
     .file = software_file,
     .plan_read = fix_com_plan,
     .apply = fix_com_apply,
     .word = FIX_COM_WORD},
    {.name = "PEEXCH50 SMTP sink bindings",
     .file = metabase_file,
     .plan_bytes = fix_metabase_plan,
     .max_bytes = METABASE_MAX_BYTES},
};
const size_t fix_count = ARRAY_SIZE(fix_list);

/* A fix on every hive a .reg key may lie in, in that order: config's, then
 * each profile's two (fixes.h's REGHIVE_*); F names the planner field. */
#define EVERY_HIVE(title, F, sys, sw, sam, sec, def, nt, uc, edits)                                \
	{.name = title, .file = system_file, .F = sys, .edits_to_plan = edits},                    \
	    {.name = title, .file = software_file, .F = sw, .edits_to_plan = edits},               \
	    {.name = title, .file = sam_file, .F = sam, .edits_to_plan = edits},                   \
	    {.name = title, .file = security_file, .F = sec, .edits_to_plan = edits},              \
	    {.name = title, .file = default_file, .F = def, .edits_to_plan = edits},               \
	    {.name = title, .F = nt, .edits_to_plan = edits, .user = REGHIVE_NTUSER},              \
	{                                                                                          \
		.name = title, .F = uc, .edits_to_plan = edits, .user = REGHIVE_USRCLASS           \
	}

const struct fixdef reg_fix_list[] = {EVERY_HIVE(
    "registry patch", plan_hive, fix_reg_plan_system, fix_reg_plan_software, fix_reg_plan_sam,
    fix_reg_plan_security, fix_reg_plan_default, fix_reg_plan_ntuser, fix_reg_plan_usrclass, 1)};
const size_t reg_fix_count = ARRAY_SIZE(reg_fix_list);

const struct fixdef export_fix_list[] = {
    EVERY_HIVE("export", plan_read, fix_reg_export_system, fix_reg_export_software,
	       fix_reg_export_sam, fix_reg_export_security, fix_reg_export_default,
	       fix_reg_export_ntuser, fix_reg_export_usrclass, 0)};
const size_t export_fix_count = ARRAY_SIZE(export_fix_list);

const struct fixdef recover_fix_list[] = {EVERY_HIVE("recover", plan_read, no_change, no_change,
						     no_change, no_change, no_change, no_change,
						     no_change, 0)};
const size_t recover_fix_count = ARRAY_SIZE(recover_fix_list);

struct change *changes_add(struct changes *c, const char *action, char *key, char *value, char *old,
			   char *new)
{
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	c->v[c->n] = (struct change){action, key, value, old, new, NULL, NULL};
	return &c->v[c->n++];
}

void changes_free(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].old);
		free(c->v[i].new);
		free(c->v[i].instance);
		free(c->v[i].event);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *change_json(const char *file, const struct change *c)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "file", file, "action", c->action,
			 "key", c->key, "value", str_or_null(c->value), "old", str_or_null(c->old),
			 "new", str_or_null(c->new), "instance", str_or_null(c->instance), "event",
			 str_or_null(c->event));
}

void fixctx_copy(struct fixctx *dst, const struct fixctx *src)
{
	memset(dst, 0, sizeof *dst);
	dst->patches = src->patches;
	dst->npatches = src->npatches;
	dst->export_keys = src->export_keys;
	dst->nexport = src->nexport;
	dst->exported = src->exported;
	for (size_t i = 0; i < src->sink_classes.n; i++)
		fixctx_add_class(dst, src->sink_classes.v[i]);
}

void fixctx_free(struct fixctx *cx)
{
	strlist_free(&cx->sink_classes);
	strlist_free(&cx->no_smtpsvc);
	strlist_free(&cx->notes);
}

/* A CLSID matches with or without its braces, in any letter case. */
static const char *bare(const char *s, size_t *len)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
		s++;
		n -= 2;
	}
	*len = n;
	return s;
}

int fixctx_has_class(const struct fixctx *cx, const char *name)
{
	size_t n;
	const char *b = bare(name, &n);
	for (size_t i = 0; i < cx->sink_classes.n; i++) {
		size_t m;
		const char *c = bare(cx->sink_classes.v[i], &m);
		if (n && m == n && strncasecmp(b, c, n) == 0)
			return 1;
	}
	return 0;
}

void fixctx_add_class(struct fixctx *cx, const char *name)
{
	if (*name && !fixctx_has_class(cx, name))
		strlist_add(&cx->sink_classes, xstrdup(name));
}
