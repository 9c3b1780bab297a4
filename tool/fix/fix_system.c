/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fix_system: SuppressExternal in the SYSTEM hive: the outbound half of the fix.
 *
 * Offline there is no CurrentControlSet: Select's Current, Default and
 * LastKnownGood name the ControlSet00N keys Windows may boot with, and each
 * of those that has SMTPSVC gets the value, so the fix holds whichever set
 * Windows picks. */
#include "fix/fixes.h"

#include <stdio.h>

#define XEXCH50_KEY "XEXCH50"
#define SUPPRESS_VALUE "SuppressExternal"

static const char *const select_values[] = {"Current", "Default", "LastKnownGood"};

int fix_control_sets(struct hive *hv, unsigned sets[3], size_t *n, struct err *e)
{
	hive_node_h sel = hive_node(hv, 0, "Select");
	if (!sel)
		return fail(e, "not-system-hive",
			    "%s: has no Select key: not a SYSTEM hive, or a damaged one", hv->path);
	*n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(select_values); i++) {
		hive_value_h v = hivex_node_get_value(hv->h, sel, select_values[i]);
		hive_type t;
		size_t len;
		if (!v || hivex_value_type(hv->h, v, &t, &len) == -1 || t != hive_t_REG_DWORD ||
		    len != 4) {
			if (i == 0)
				return fail(e, "not-system-hive",
					    "%s: Select\\Current is missing or not a REG_DWORD",
					    hv->path);
			continue;
		}
		unsigned set = (unsigned)hivex_value_dword(hv->h, v);
		int dup = set == 0 || set > 999;
		for (size_t j = 0; j < *n; j++)
			dup |= sets[j] == set;
		if (!dup)
			sets[(*n)++] = set;
	}
	return 0;
}

static char *stored_name(struct hive *hv, hive_node_h node, const char *fallback)
{
	char *s = node ? hivex_node_name(hv->h, node) : NULL;
	return s ? s : xstrdup(fallback);
}

int fix_system_plan(struct hive *hv, struct fixctx *cx, struct changes *out, struct err *e)
{
	unsigned sets[3];
	size_t nsets = 0;
	if (fix_control_sets(hv, sets, &nsets, e) == -1)
		return -1;
	for (size_t i = 0; i < nsets; i++) {
		char csname[16];
		snprintf(csname, sizeof csname, "ControlSet%03u", sets[i]);
		hive_node_h cs = hive_node(hv, 0, csname);
		if (!cs) {
			if (i == 0)
				return fail(e, "not-system-hive",
					    "%s: Select\\Current names %s, which does not exist",
					    hv->path, csname);
			note("%s: %s is named by Select but missing; skipped", hv->path, csname);
			continue;
		}
		hive_node_h services = hive_node(hv, cs, "Services");
		hive_node_h smtp = services ? hive_node(hv, services, "SMTPSVC") : 0;
		if (!smtp) {
			strlist_add(&cx->no_smtpsvc,
				    xasprintf("%s has no Services\\SMTPSVC", csname));
			continue;
		}
		cx->smtpsvc_sets++;
		CLEANUP_FREE char *n_cs = stored_name(hv, cs, csname);
		CLEANUP_FREE char *n_sv = stored_name(hv, services, "Services");
		CLEANUP_FREE char *n_sm = stored_name(hv, smtp, "SMTPSVC");
		hive_node_h x = hivex_node_get_child(hv->h, smtp, XEXCH50_KEY);
		CLEANUP_FREE char *n_x = stored_name(hv, x, XEXCH50_KEY);
		char *keypath = xasprintf("%s\\%s\\%s\\%s", n_cs, n_sv, n_sm, n_x);
		if (!x) {
			changes_add(out, "create-key", xstrdup(keypath), NULL, NULL, NULL);
			if (hv->writable && !(x = hivex_node_add_child(hv->h, smtp, XEXCH50_KEY))) {
				free(keypath);
				return fail(e, "internal", "%s: adding key %s failed", hv->path,
					    XEXCH50_KEY);
			}
		}
		hive_value_h v = x ? hivex_node_get_value(hv->h, x, SUPPRESS_VALUE) : 0;
		char *old = v ? hive_value_repr(hv, v) : NULL;
		if (old && STREQ(old, "dword:00000001")) {
			note("%s: %s\\%s is already dword:1", hv->path, keypath, SUPPRESS_VALUE);
			free(old);
			free(keypath);
			continue;
		}
		changes_add(out, "set-value", keypath, xstrdup(SUPPRESS_VALUE), old,
			    xstrdup("dword:00000001"));
		if (hv->writable) {
			static char one[4] = {1, 0, 0, 0};
			hive_set_value sv = {(char *)SUPPRESS_VALUE, hive_t_REG_DWORD, 4, one};
			if (hivex_node_set_value(hv->h, x, &sv, 0) == -1)
				return fail(e, "internal", "%s: setting %s failed", hv->path,
					    SUPPRESS_VALUE);
		}
	}
	return 0;
}
