/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fix_system: SuppressExternal in the SYSTEM hive: the outbound half of the fix.
 *
 * Offline there is no CurrentControlSet: Select's Current, Default and
 * LastKnownGood name the ControlSet00N keys Windows may boot with, and each
 * of those that has SMTPSVC gets the value, so the fix holds whichever set
 * Windows picks. */
#include "fix/fixes.h"

#include <stdio.h>

#include "lib/bytes.h"
#include "reg/regf.h"

#define XEXCH50_KEY "XEXCH50"
#define SUPPRESS_VALUE "SuppressExternal"

static const char *const select_values[] = {"Current", "Default", "LastKnownGood"};

/* The key's stored name, or fallback when there is no key (or it cannot be
 * read: the walk that follows says so). */
static char *stored_name(const struct hread *h, uint32_t off, const char *fallback)
{
	struct err e = {0};
	struct hr_key k;
	char *s = off && hread_key(h, off, &k, &e) == 0 ? hread_name_utf8(&k.name) : NULL;
	err_clear(&e);
	return s ? s : xstrdup(fallback);
}

int fix_control_sets(const struct hread *h, unsigned sets[3], size_t *n, struct err *e)
{
	struct hr_key sel;
	uint32_t off = hread_path(h, 0, "Select", e);
	if (!off && e->msg)
		return -1;
	if (!off)
		return fail(e, "not-system-hive",
			    "%s: has no Select key: not a SYSTEM hive, or a damaged one", h->name);
	if (hread_key(h, off, &sel, e) == -1)
		return -1;
	*n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(select_values); i++) {
		struct hr_val v;
		uint32_t vo = hread_value_named(h, &sel, select_values[i], e);
		if (!vo && e->msg)
			return -1;
		if (vo && hread_value(h, vo, &v, e) == -1)
			return -1;
		if (!vo || v.type != 4 || v.len != 4 || !v.data) {
			if (i == 0)
				return fail(e, "not-system-hive",
					    "%s: Select\\Current is missing or not a REG_DWORD",
					    h->name);
			continue;
		}
		unsigned set = le32(v.data);
		int dup = set == 0 || set > 999;
		for (size_t j = 0; j < *n; j++)
			dup |= sets[j] == set;
		if (!dup)
			sets[(*n)++] = set;
	}
	return 0;
}

/* The subkey of parent named name (0: none, or e says why not). */
static uint32_t child(const struct hread *h, uint32_t parent, const char *name, struct err *e)
{
	struct hr_key k;
	if (!parent || hread_key(h, parent, &k, e) == -1)
		return 0;
	return hread_child(h, &k, name, e);
}

int fix_system_plan(const struct hread *h, struct fixctx *cx, struct changes *out, struct err *e)
{
	unsigned sets[3];
	size_t nsets = 0;
	if (fix_control_sets(h, sets, &nsets, e) == -1)
		return -1;
	for (size_t i = 0; i < nsets; i++) {
		char csname[16];
		snprintf(csname, sizeof csname, "ControlSet%03u", sets[i]);
		uint32_t cs = hread_path(h, 0, csname, e);
		uint32_t services = child(h, cs, "Services", e);
		uint32_t smtp = child(h, services, "SMTPSVC", e);
		uint32_t x = child(h, smtp, XEXCH50_KEY, e);
		if (e->msg)
			return -1;
		if (!cs) {
			if (i == 0)
				return fail(e, "not-system-hive",
					    "%s: Select\\Current names %s, which does not exist",
					    h->name, csname);
			note("%s: %s is named by Select but missing; skipped", h->name, csname);
			continue;
		}
		if (!smtp) {
			strlist_add(&cx->no_smtpsvc,
				    xasprintf("%s has no Services\\SMTPSVC", csname));
			continue;
		}
		cx->smtpsvc_sets++;
		CLEANUP_FREE char *n_cs = stored_name(h, cs, csname);
		CLEANUP_FREE char *n_sv = stored_name(h, services, "Services");
		CLEANUP_FREE char *n_sm = stored_name(h, smtp, "SMTPSVC");
		CLEANUP_FREE char *n_x = stored_name(h, x, XEXCH50_KEY);
		char *keypath = xasprintf("%s\\%s\\%s\\%s", n_cs, n_sv, n_sm, n_x);
		if (!x)
			changes_add(out, "create-key", xstrdup(keypath), NULL, NULL, NULL);
		struct hr_key xk;
		struct hr_val v;
		uint32_t vo = x && hread_key(h, x, &xk, e) == 0
				  ? hread_value_named(h, &xk, SUPPRESS_VALUE, e)
				  : 0;
		const uint8_t *data = NULL;
		uint8_t *copy = NULL;
		if (!e->msg && vo && hread_value(h, vo, &v, e) == 0)
			hread_data(h, &v, &data, &copy, e);
		if (e->msg) {
			free(keypath);
			return -1;
		}
		char *old = vo ? hive_data_repr(v.type, data, v.len) : NULL;
		free(copy);
		if (old && STREQ(old, "dword:00000001")) {
			note("%s: %s\\%s is already dword:1", h->name, keypath, SUPPRESS_VALUE);
			free(old);
			free(keypath);
			continue;
		}
		changes_add(out, "set-value", keypath, xstrdup(SUPPRESS_VALUE), old,
			    xstrdup("dword:00000001"));
	}
	return 0;
}

int fix_system_apply(struct hive *hv, const struct hread *h, const struct changes *ch,
		     struct err *e)
{
	/* the key each set-value goes to: created by the change before it,
	 * or there already (a cell of the bytes both read: hread's offset is
	 * hivex's less the base block) */
	hive_node_h made = 0;
	for (size_t i = 0; i < ch->n; i++) {
		const struct change *c = &ch->v[i];
		int create = STREQ(c->action, "create-key");
		CLEANUP_FREE char *parent = xstrdup(c->key);
		char *bs = strrchr(parent, '\\');
		if (!bs)
			return fail(e, "internal", "%s: no parent key in %s", hv->path, c->key);
		*bs = 0;
		uint32_t off = hread_path(h, 0, create ? parent : c->key, e);
		hive_node_h node = off ? (hive_node_h)off + REGF_BLOCK : 0;
		if (create && node)
			node = made = hivex_node_add_child(hv->h, node, XEXCH50_KEY);
		else if (!create && !node && !e->msg)
			node = made;
		made = create ? made : 0;
		if (!node)
			return fail(e, "internal", "%s: %s %s failed%s%s", hv->path,
				    create ? "adding key" : "finding key", c->key,
				    e->msg ? ": " : "", e->msg ? e->msg : "");
		if (!create) {
			static char one[4] = {1, 0, 0, 0};
			hive_set_value sv = {(char *)SUPPRESS_VALUE, hive_t_REG_DWORD, 4, one};
			if (hivex_node_set_value(hv->h, node, &sv, 0) == -1)
				return fail(e, "internal", "%s: setting %s in %s failed", hv->path,
					    SUPPRESS_VALUE, c->key);
		}
	}
	return 0;
}
