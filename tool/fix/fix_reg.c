/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fix_reg: the operations of .reg patches (regfile.h) planned on SYSTEM and
 * SOFTWARE, as regedit would merge them on the running system.
 *
 * HKEY_LOCAL_MACHINE\SYSTEM is the SYSTEM hive, with CurrentControlSet the
 * control set Select\Current names; HKEY_LOCAL_MACHINE\SOFTWARE is
 * SOFTWARE, and HKEY_CLASSES_ROOT its Classes key (no Wow6432Node: the
 * machines this is for are 32-bit).  Missing parent keys are created, as
 * regedit creates them.  The operations run in order on the in-memory copy;
 * the changes kept are those of the keys whose whole subtree ends
 * different, so a patch merged twice changes nothing the second time, and
 * re-planning the new hive finds nothing left (the verification). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <nettle/sha2.h>

#include "fix/fixes.h"
#include "lib/bytes.h"

/* The hives a key may lie in (fixes.h's REGHIVE_*), and HKEY_CLASSES_ROOT,
 * which is SOFTWARE's Classes key. */
enum { IN_SYSTEM = REGHIVE_SYSTEM, IN_SOFTWARE = REGHIVE_SOFTWARE, IN_CLASSES = 16 };

/* The hive an in-hive code is in. */
static int hive_of(int w)
{
	return w == IN_CLASSES ? IN_SOFTWARE : w;
}

/* Where a key lies: its hive (-1 for a key outside them, which
 * fix_reg_validate refuses), its path there ("" for the root), and for a
 * user's hive, whose: the SID of HKEY_USERS\<SID> (sidlen 0: the --user
 * profile, HKEY_CURRENT_USER). */
struct place {
	int hive;
	const char *path;
	const char *sid;
	size_t sidlen;
};

/* S-1-5-21-...: S-1- then numbers joined by dashes. */
static int is_sid(const char *s, size_t n)
{
	if (n < 5 || strncasecmp(s, "S-1-", 4))
		return 0;
	for (size_t i = 4; i < n; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    !(s[i] == '-' && isdigit((unsigned char)s[i - 1]) && i + 1 < n))
			return 0;
	return 1;
}

/* Whether path is prefix or lies below it: then *rest is what follows. */
static int under(const char *path, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	if (strncasecmp(path, prefix, n) || (path[n] && path[n] != '\\'))
		return 0;
	*rest = path[n] ? path + n + 1 : "";
	return 1;
}

/* A user's hive: NTUSER.DAT, whose Software\Classes is UsrClass.dat. */
static struct place user_place(const char *path, const char *sid, size_t sidlen, int classes)
{
	const char *rest;
	if (classes)
		return (struct place){REGHIVE_USRCLASS, path, sid, sidlen};
	if (under(path, "Software\\Classes", &rest))
		return (struct place){REGHIVE_USRCLASS, rest, sid, sidlen};
	return (struct place){REGHIVE_NTUSER, path, sid, sidlen};
}

static struct place where_key(enum regroot root, const char *k)
{
	static const struct {
		enum regroot root;
		const char *name;
		int hive;
	} map[] = {{REGROOT_HKLM, "SYSTEM", REGHIVE_SYSTEM},
		   {REGROOT_HKLM, "SOFTWARE", REGHIVE_SOFTWARE},
		   {REGROOT_HKLM, "SAM", REGHIVE_SAM},
		   {REGROOT_HKLM, "SECURITY", REGHIVE_SECURITY},
		   {REGROOT_HKU, ".DEFAULT", REGHIVE_DEFAULT}};
	if (root == REGROOT_HKCR)
		return (struct place){IN_CLASSES, k, NULL, 0};
	if (root == REGROOT_HKCU)
		return user_place(k, NULL, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		const char *rest;
		if (root == map[i].root && under(k, map[i].name, &rest))
			return (struct place){map[i].hive, rest, NULL, 0};
	}
	if (root == REGROOT_HKU) {
		const char *bs = strchr(k, '\\');
		size_t n = bs ? (size_t)(bs - k) : strlen(k);
		const char *rest = bs ? bs + 1 : "";
		static const char cl[] = "_Classes";
		size_t cn = sizeof cl - 1;
		if (n > cn && !strncasecmp(k + n - cn, cl, cn) && is_sid(k, n - cn))
			return user_place(rest, k, n - cn, 1);
		if (is_sid(k, n))
			return user_place(rest, k, n, 0);
	}
	return (struct place){-1, "", NULL, 0};
}

static struct place where(const struct regop *op)
{
	return where_key(op->root, op->key);
}

/* Whether a key of a user's hive is the profile's. */
static int for_profile(const struct place *pl, const struct profile *p)
{
	if (!p)
		return 0;
	if (!pl->sidlen)
		return p->current;
	return p->sid && strlen(p->sid) == pl->sidlen && !strncasecmp(p->sid, pl->sid, pl->sidlen);
}

static int is_user_hive(int hive)
{
	return hive == REGHIVE_NTUSER || hive == REGHIVE_USRCLASS;
}

/* Whether a key lies in the hive being planned (for a user's, the profile's). */
static int in_this(const struct place *pl, int hive, const struct fixctx *cx)
{
	return hive_of(pl->hive) == hive && (!is_user_hive(hive) || for_profile(pl, cx->profile));
}

#define WHICH_KEYS                                                                                 \
	"give keys under HKEY_LOCAL_MACHINE\\SYSTEM, SOFTWARE, SAM or SECURITY, "                  \
	"HKEY_USERS\\.DEFAULT or HKEY_USERS\\<SID>, HKEY_CURRENT_USER or HKEY_CLASSES_ROOT"

int fix_reg_validate(const struct regpatch *rp, struct err *e)
{
	for (size_t i = 0; i < rp->n; i++) {
		const struct regop *op = &rp->v[i];
		struct place pl = where(op);
		if (pl.hive == -1)
			return fail(e, "bad-reg",
				    "%s line %u, column 1: %s\\%s is not in a hive nobounce "
				    "patches: " WHICH_KEYS ". Nothing was changed",
				    rp->file, op->line, regroot_name(op->root), op->key);
		if (op->kind == REGOP_DELETE_KEY && pl.hive != IN_CLASSES && !*pl.path)
			return fail(
			    e, "bad-reg",
			    "%s line %u, column 1: [-%s\\%s] would delete a whole hive; nobounce "
			    "deletes keys inside one. Nothing was changed",
			    rp->file, op->line, regroot_name(op->root), op->key);
	}
	return 0;
}

/* The path in the hive: CurrentControlSet resolved, Classes prefixed. */
static char *hive_path(int w, const char *path, unsigned ccs)
{
	if (w == IN_CLASSES)
		return *path ? xasprintf("Classes\\%s", path) : xstrdup("Classes");
	static const char cur[] = "CurrentControlSet";
	size_t n = strlen(cur);
	if (w == IN_SYSTEM && ccs && !strncasecmp(path, cur, n) && (path[n] == '\\' || !path[n]))
		return xasprintf("ControlSet%03u%s", ccs, path + n);
	return xstrdup(path);
}

/* ---- a subtree's state, hashed ---- */

struct named {
	char *name;
	size_t i;
};

static int by_name(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The names of a 0-terminated list of nodes or values (hivex's handles are
 * both size_t), sorted without regard to case. */
static struct named *sorted(struct hive *hv, const size_t *items, char *(*name)(hive_h *, size_t),
			    size_t *n)
{
	*n = 0;
	while (items && items[*n])
		(*n)++;
	struct named *v = xcalloc(*n + 1, sizeof *v);
	for (size_t i = 0; i < *n; i++) {
		char *k = name(hv->h, items[i]);
		v[i] = (struct named){k ? k : xstrdup(""), i};
	}
	qsort(v, *n, sizeof *v, by_name);
	return v;
}

static void hash_str(struct sha256_ctx *c, const char *s)
{
	sha256_update(c, strlen(s) + 1, (const uint8_t *)s);
}

/* Names, values (sorted by name: their order means nothing to Windows) and
 * subkeys (sorted), recursively. */
static void hash_node(struct hive *hv, hive_node_h node, struct sha256_ctx *c, int depth)
{
	if (depth > HIVE_MAX_DEPTH)
		return;
	CLEANUP_FREE char *name = hivex_node_name(hv->h, node);
	hash_str(c, "k");
	hash_str(c, name ? name : "");
	hive_value_h *vals = hivex_node_values(hv->h, node);
	size_t nv;
	struct named *vn = sorted(hv, vals, hivex_value_key, &nv);
	for (size_t i = 0; i < nv; i++) {
		hive_type t;
		size_t len;
		char *data = hivex_value_value(hv->h, vals[vn[i].i], &t, &len);
		uint8_t head[12];
		for (int b = 0; b < 4; b++)
			head[b] = (uint8_t)((uint32_t)t >> (8 * b));
		for (int b = 0; b < 8; b++)
			head[4 + b] = (uint8_t)((uint64_t)len >> (8 * b));
		hash_str(c, "v");
		hash_str(c, vn[i].name);
		sha256_update(c, sizeof head, head);
		if (data)
			sha256_update(c, len, (const uint8_t *)data);
		free(data);
		free(vn[i].name);
	}
	free(vn);
	free(vals);
	hive_node_h *kids = hivex_node_children(hv->h, node);
	size_t nk;
	struct named *kn = sorted(hv, kids, hivex_node_name, &nk);
	for (size_t i = 0; i < nk; i++) {
		hash_node(hv, kids[kn[i].i], c, depth + 1);
		free(kn[i].name);
	}
	hash_str(c, "end");
	free(kn);
	free(kids);
}

static void state_of(struct hive *hv, const char *path, uint8_t out[32])
{
	struct sha256_ctx c;
	sha256_init(&c);
	hive_node_h n = hive_node(hv, 0, path);
	if (n)
		hash_node(hv, n, &c, 0);
	else
		hash_str(&c, "absent");
	sha256_digest(&c, 32, out);
}

/* ---- the operations ---- */

/* path with each key that exists spelt as the hive stores it (Windows'
 * names keep their case; a patch may spell them otherwise). */
static char *stored(struct hive *hv, const char *path)
{
	hive_node_h n = hivex_root(hv->h);
	CLEANUP_FREE char *copy = xstrdup(path);
	char *out = xstrdup(""), *save = NULL;
	for (char *c = strtok_r(copy, "\\", &save); c; c = strtok_r(NULL, "\\", &save)) {
		hive_node_h k = n ? hivex_node_get_child(hv->h, n, c) : 0;
		CLEANUP_FREE char *name = k ? hivex_node_name(hv->h, k) : NULL;
		str_add(&out, "\\", "%s", name ? name : c);
		n = k;
	}
	return out;
}

static hive_node_h ensure_key(struct hive *hv, const char *path, struct changes *ch, struct err *e)
{
	hive_node_h n = hivex_root(hv->h);
	CLEANUP_FREE char *copy = xstrdup(path), *sofar = xstrdup("");
	char *save = NULL;
	for (char *c = strtok_r(copy, "\\", &save); c && n; c = strtok_r(NULL, "\\", &save)) {
		char *next = xasprintf("%s%s%s", sofar, *sofar ? "\\" : "", c);
		free(sofar);
		sofar = next;
		hive_node_h k = hivex_node_get_child(hv->h, n, c);
		if (!k) {
			k = hivex_node_add_child(hv->h, n, c);
			if (!k) {
				fail(e, "internal", "%s: creating %s failed: %s", hv->path, sofar,
				     strerror(errno));
				return 0;
			}
			changes_add(ch, "create-key", stored(hv, sofar), NULL, NULL, NULL);
		}
		n = k;
	}
	return n;
}

static int delete_key(struct hive *hv, const char *path, struct changes *ch, struct err *e)
{
	hive_node_h n = hive_node(hv, 0, path);
	if (!n)
		return 0;
	char *stored_before = stored(hv, path);
	if (hivex_node_delete_child(hv->h, n) == -1) {
		free(stored_before);
		return fail(e, "internal", "%s: deleting %s failed: %s", hv->path, path,
			    strerror(errno));
	}
	changes_add(ch, "delete-key", stored_before, NULL, NULL, NULL);
	return 0;
}

static int set_value(struct hive *hv, const char *path, const struct regop *op, struct changes *ch,
		     struct err *e)
{
	hive_node_h n = ensure_key(hv, path, ch, e);
	if (!n)
		return -1;
	hive_value_h v = hivex_node_get_value(hv->h, n, op->name);
	char *old = NULL;
	if (v) {
		hive_type t;
		size_t len;
		CLEANUP_FREE char *data = hivex_value_value(hv->h, v, &t, &len);
		if (data && (uint32_t)t == op->type && len == op->len &&
		    (!len || !memcmp(data, op->data, len)))
			return 0; /* already so */
		old = hive_value_repr(hv, v);
	}
	hive_set_value sv = {(char *)op->name, (hive_type)op->type, op->len, (char *)op->data};
	if (hivex_node_set_value(hv->h, n, &sv, 0) == -1) {
		free(old);
		return fail(e, "internal", "%s: setting %s\\%s failed: %s", hv->path, path,
			    *op->name ? op->name : "(default)", strerror(errno));
	}
	changes_add(ch, "set-value", stored(hv, path), xstrdup(*op->name ? op->name : "(default)"),
		    old, hive_data_repr(op->type, op->data, op->len));
	return 0;
}

static int delete_value(struct hive *hv, const char *path, const struct regop *op,
			struct changes *ch, struct err *e)
{
	hive_node_h n = hive_node(hv, 0, path);
	hive_value_h gone = n ? hivex_node_get_value(hv->h, n, op->name) : 0;
	if (!gone)
		return 0;
	CLEANUP_FREE char *old = hive_value_repr(hv, gone);
	hive_value_h *vals = hivex_node_values(hv->h, n);
	size_t nv = 0, k = 0;
	while (vals && vals[nv])
		nv++;
	hive_set_value *keep = xcalloc(nv + 1, sizeof *keep);
	int r = 0;
	for (size_t i = 0; i < nv && r == 0; i++) {
		if (vals[i] == gone)
			continue;
		hive_type t;
		size_t len;
		char *key = hivex_value_key(hv->h, vals[i]);
		char *data = hivex_value_value(hv->h, vals[i], &t, &len);
		keep[k++] = (hive_set_value){key, t, len, data};
		if (!key || !data)
			r = fail(e, "damaged-hive", "%s: a value of %s cannot be read", hv->path,
				 path);
	}
	if (r == 0 && hivex_node_set_values(hv->h, n, k, keep, 0) == -1)
		r = fail(e, "internal", "%s: deleting %s\\%s failed: %s", hv->path, path,
			 *op->name ? op->name : "(default)", strerror(errno));
	for (size_t i = 0; i < k; i++) {
		free(keep[i].key);
		free(keep[i].value);
	}
	free(keep);
	free(vals);
	if (r == 0)
		changes_add(ch, "delete-value", stored(hv, path),
			    xstrdup(*op->name ? op->name : "(default)"), xstrdup(old), NULL);
	return r;
}

static int is_ccs(const char *path)
{
	return !strncasecmp(path, "CurrentControlSet", 17) && (path[17] == '\\' || !path[17]);
}

static int plan(struct hive *hv, int hive, struct fixctx *cx, struct changes *out, struct err *e)
{
	/* CurrentControlSet: every control set Select names, as the XEXCH50
	 * fix writes SuppressExternal into each */
	unsigned sets[3];
	size_t nsets = 0;
	struct err why = {0};
	if (hive == IN_SYSTEM &&
	    (!cx->read || fix_control_sets(cx->read, sets, &nsets, &why) == -1))
		nsets = 0;
	err_clear(&why);
	/* the operations for this hive, in order, with their paths here */
	size_t n = 0;
	for (size_t p = 0; p < cx->npatches; p++)
		n += cx->patches[p].n;
	n *= 3; /* at most three control sets each */
	const struct regop **ops = xcalloc(n + 1, sizeof *ops);
	char **paths = xcalloc(n + 1, sizeof *paths);
	int said = 0;
	size_t k = 0;
	int r = 0;
	for (size_t p = 0; p < cx->npatches && r == 0; p++)
		for (size_t i = 0; i < cx->patches[p].n && r == 0; i++) {
			const struct regop *op = &cx->patches[p].v[i];
			struct place pl = where(op);
			if (!in_this(&pl, hive, cx))
				continue;
			int w = pl.hive;
			const char *path = pl.path;
			if (hive == IN_SYSTEM && is_ccs(path) && !nsets) {
				r = fail(e, "unsure",
					 "%s line %u: names CurrentControlSet, but %s has no "
					 "Select\\Current to say which control set that is; give "
					 "ControlSet00N instead",
					 cx->patches[p].file, op->line, hv->path);
				continue;
			}
			if (hive == IN_SYSTEM && is_ccs(path)) {
				for (size_t s = 0; s < nsets; s++) {
					ops[k] = op;
					paths[k++] = hive_path(w, path, sets[s]);
				}
				if (!said++ && nsets > 1) {
					char *list = NULL;
					for (size_t s = 0; s < nsets; s++)
						str_add(&list, ", ", "ControlSet%03u", sets[s]);
					strlist_add(
					    &cx->notes,
					    xasprintf("CurrentControlSet is each control set "
						      "Select names (%s): the patch went to "
						      "each",
						      list));
					free(list);
				}
				continue;
			}
			ops[k] = op;
			paths[k++] = hive_path(w, path, 0);
		}
	uint8_t(*before)[32] = xcalloc(k + 1, 32);
	for (size_t i = 0; i < k && r == 0; i++)
		state_of(hv, paths[i], before[i]);
	struct changes *each = xcalloc(k + 1, sizeof *each);
	for (size_t i = 0; i < k && r == 0; i++) {
		switch (ops[i]->kind) {
		case REGOP_KEY:
			r = ensure_key(hv, paths[i], &each[i], e) ? 0 : -1;
			break;
		case REGOP_DELETE_KEY:
			r = delete_key(hv, paths[i], &each[i], e);
			break;
		case REGOP_VALUE:
			r = set_value(hv, paths[i], ops[i], &each[i], e);
			break;
		case REGOP_DELETE_VALUE:
			r = delete_value(hv, paths[i], ops[i], &each[i], e);
			break;
		}
	}
	/* only the changes of keys that end different are changes */
	for (size_t i = 0; i < k && r == 0; i++) {
		uint8_t after[32];
		state_of(hv, paths[i], after);
		int changed = memcmp(before[i], after, 32) != 0;
		for (size_t j = 0; j < each[i].n; j++) {
			struct change *c = &each[i].v[j];
			if (changed)
				changes_add(out, c->action, c->key, c->value, c->old, c->new);
			else
				free(c->key), free(c->value), free(c->old), free(c->new);
		}
		free(each[i].v);
		each[i].v = NULL;
		each[i].n = 0;
	}
	for (size_t i = 0; i < k; i++) {
		changes_free(&each[i]);
		free(paths[i]);
	}
	free(each);
	free(before);
	free(paths);
	free(ops);
	return r;
}

#define PLAN_FOR(name, id)                                                                         \
	int fix_reg_plan_##name(struct hive *hv, struct fixctx *cx, struct changes *out,           \
				struct err *e)                                                     \
	{                                                                                          \
		return plan(hv, id, cx, out, e);                                                   \
	}
PLAN_FOR(system, REGHIVE_SYSTEM)
PLAN_FOR(software, REGHIVE_SOFTWARE)
PLAN_FOR(sam, REGHIVE_SAM)
PLAN_FOR(security, REGHIVE_SECURITY)
PLAN_FOR(default, REGHIVE_DEFAULT)
PLAN_FOR(ntuser, REGHIVE_NTUSER)
PLAN_FOR(usrclass, REGHIVE_USRCLASS)

int fix_reg_touches(const struct regpatch *rp, size_t n, int hive)
{
	for (size_t p = 0; p < n; p++)
		for (size_t i = 0; i < rp[p].n; i++)
			if (hive_of(where(&rp[p].v[i]).hive) == hive)
				return 1;
	return 0;
}

/* ---- whose hives ---- */

/* A key a patch or export names, with what to call it in messages. */
struct named_key {
	struct place pl;
	char *said;
};

static struct named_key *user_keys(const struct regpatch *rp, size_t n, const char *const *keys,
				   size_t nkeys, size_t *count)
{
	struct named_key *v = NULL;
	*count = 0;
	for (size_t p = 0; p < n; p++)
		for (size_t i = 0; i < rp[p].n; i++) {
			struct place pl = where(&rp[p].v[i]);
			if (!is_user_hive(pl.hive))
				continue;
			v = xrealloc(v, (*count + 1) * sizeof *v);
			v[(*count)++] = (struct named_key){
			    pl, xasprintf("%s line %u: %s\\%s", rp[p].file, rp[p].v[i].line,
					  regroot_name(rp[p].v[i].root), rp[p].v[i].key)};
		}
	for (size_t i = 0; i < nkeys; i++) {
		enum regroot root;
		const char *rest;
		if (regfile_root(keys[i], &root, &rest) == -1)
			continue;
		struct place pl = where_key(root, rest);
		if (!is_user_hive(pl.hive))
			continue;
		v = xrealloc(v, (*count + 1) * sizeof *v);
		v[(*count)++] = (struct named_key){pl, xstrdup(keys[i])};
	}
	return v;
}

int fix_reg_names_users(const struct regpatch *rp, size_t n, const char *const *keys, size_t nkeys)
{
	size_t count;
	struct named_key *v = user_keys(rp, n, keys, nkeys, &count);
	for (size_t i = 0; i < count; i++)
		free(v[i].said);
	free(v);
	return count > 0;
}

/* The profile a key names, marked used; NULL (and e) when there is none. */
static struct profile *profile_for(struct install *in, const struct named_key *k,
				   struct profile *current, const char *user, struct err *e)
{
	CLEANUP_FREE char *names = install_profile_names(in);
	struct profile *p = current;
	if (!k->pl.sidlen && !user) {
		fail(e, "choose-user",
		     "%s: HKEY_CURRENT_USER is one user's hive, and nothing says whose: give "
		     "--user NAME, one of the profiles of %s: %s; nothing was written",
		     k->said, in->sysroot, names);
		return NULL;
	}
	if (k->pl.sidlen) {
		p = install_profile_sid(in, k->pl.sid, k->pl.sidlen);
		if (!p) {
			fail(e, "not-applicable",
			     "%s: no profile of %s has the SID %.*s (profiles: %s); nothing was "
			     "written",
			     k->said, in->sysroot, (int)k->pl.sidlen, k->pl.sid, names);
			return NULL;
		}
	}
	if (p->why) {
		fail(e, p->why_kind, "%s: the profile %s cannot be used: %s; nothing was written",
		     k->said, p->name, p->why);
		return NULL;
	}
	int classes = k->pl.hive == REGHIVE_USRCLASS;
	if (!(classes ? p->usrclass : p->ntuser)) {
		fail(e, "not-applicable",
		     "%s: the profile %s (%s) has no %s, the hive that key is in; nothing was "
		     "written",
		     k->said, p->name, p->dir, classes ? "UsrClass.dat" : "NTUSER.DAT");
		return NULL;
	}
	p->use = 1;
	return p;
}

int fix_reg_profiles(struct install *in, const struct regpatch *rp, size_t n,
		     const char *const *keys, size_t nkeys, const char *user, struct err *e)
{
	struct profile *current = NULL;
	if (user) {
		int many;
		current = install_profile_named(in, user, &many);
		CLEANUP_FREE char *names = install_profile_names(in);
		if (!current)
			return fail(e, "choose-user",
				    many ? "--user %s: more than one profile of %s has that name "
					   "(%s): give its SID; nothing was written"
					 : "--user %s: no profile of %s has that name or SID "
					   "(profiles: %s); nothing was written",
				    user, in->sysroot, names);
		current->current = 1;
	}
	size_t count;
	struct named_key *v = user_keys(rp, n, keys, nkeys, &count);
	int r = 0;
	for (size_t i = 0; i < count; i++) {
		if (r == 0 && !profile_for(in, &v[i], current, user, e))
			r = -1;
		free(v[i].said);
	}
	free(v);
	return r;
}

/* ---- export, as regedit writes it ---- */

/* A growing string: *s holds *n bytes and a NUL, in a block whose size is
 * the power of two above *n (so each append costs what it copies). */
static size_t block_for(size_t n)
{
	return n < 64 ? 64 : (size_t)1 << (64 - __builtin_clzll((unsigned long long)n));
}

static char *room(char **s, size_t *n, size_t more)
{
	if (!*s || block_for(*n + more) != block_for(*n))
		*s = xrealloc(*s, block_for(*n + more));
	char *at = *s + *n;
	*n += more;
	(*s)[*n] = 0;
	return at;
}

static void put_bytes(char **s, size_t *n, const char *p, size_t len)
{
	memcpy(room(s, n, len), p, len);
}

static void put(char **s, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char **s, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *t;
	if (vasprintf(&t, fmt, ap) < 0)
		abort();
	va_end(ap);
	put_bytes(s, n, t, strlen(t));
	free(t);
}

static void put_quoted(char **s, size_t *n, const char *text)
{
	put_bytes(s, n, "\"", 1);
	for (const char *c = text; *c;) {
		size_t run = strcspn(c, "\"\\");
		put_bytes(s, n, c, run);
		c += run;
		if (*c) {
			char esc[2] = {'\\', *c++};
			put_bytes(s, n, esc, 2);
		}
	}
	put_bytes(s, n, "\"", 1);
}

/* Whether REG_SZ data is text regedit writes as a string: UTF-16LE with
 * no NUL but its last character. */
static int plain_string(const uint8_t *d, size_t len)
{
	if (len % 2)
		return 0;
	for (size_t i = 0; i + 2 < len; i += 2)
		if (!d[i] && !d[i + 1])
			return 0;
	return len < 2 || (!d[len - 2] && !d[len - 1]);
}

static int export_value(const struct hread *h, uint32_t off, char **s, size_t *n, struct err *e)
{
	struct hr_val v;
	const uint8_t *d;
	uint8_t *copy = NULL;
	if (hread_value(h, off, &v, e) == -1 || hread_data(h, &v, &d, &copy, e) == -1)
		return -1;
	CLEANUP_FREE char *name = hread_name_utf8(&v.name);
	size_t len = v.len, start = *n;
	uint32_t t = v.type;
	if (*name)
		put_quoted(s, n, name);
	else
		put_bytes(s, n, "@", 1);
	put_bytes(s, n, "=", 1);
	if (t == 1 && plain_string(d, len)) {
		CLEANUP_FREE char *text = hive_text(d, len);
		put_quoted(s, n, text);
		put_bytes(s, n, "\n", 1);
	} else if (t == 4 && len == 4) {
		put(s, n, "dword:%08x\n", le32(d));
	} else {
		if (t == 3)
			put(s, n, "hex:");
		else
			put(s, n, "hex(%x):", (unsigned)t);
		/* regedit's lines: at most 80 columns, continued with a backslash
		 * and two spaces */
		size_t col = *n - start;
		static const char hex[] = "0123456789abcdef";
		for (size_t i = 0; i < len; i++) {
			if (col + 3 > 78 && i) {
				put_bytes(s, n, "\\\n  ", 4);
				col = 2;
			}
			char *at = room(s, n, i + 1 < len ? 3 : 2);
			at[0] = hex[d[i] >> 4];
			at[1] = hex[d[i] & 15];
			if (i + 1 < len)
				at[2] = ',';
			col += i + 1 < len ? 3 : 2;
		}
		put_bytes(s, n, "\n", 1);
	}
	free(copy);
	return 0;
}

static int export_node(const struct hread *h, uint32_t off, const char *shown, char **s, size_t *n,
		       int depth, struct err *e)
{
	struct hr_key k;
	const uint8_t *list;
	if (hread_key(h, off, &k, e) == -1 || hread_values(h, &k, &list, e) == -1)
		return -1;
	put_bytes(s, n, "[", 1);
	put_bytes(s, n, shown, strlen(shown));
	put_bytes(s, n, "]\n", 2);
	for (uint32_t i = 0; i < k.nvalues; i++)
		if (export_value(h, hread_value_at(list, i), s, n, e) == -1)
			return -1;
	put_bytes(s, n, "\n", 1);
	if (depth >= HIVE_MAX_DEPTH)
		return 0;
	uint32_t *subs;
	size_t count;
	if (hread_subkeys(h, &k, &subs, &count, e) == -1)
		return -1;
	int r = 0;
	for (size_t i = 0; i < count && r == 0; i++) {
		struct hr_key sub;
		r = hread_key(h, subs[i], &sub, e);
		if (r == 0) {
			CLEANUP_FREE char *name = hread_name_utf8(&sub.name);
			CLEANUP_FREE char *path = xasprintf("%s\\%s", shown, name);
			r = export_node(h, subs[i], path, s, n, depth + 1, e);
		}
	}
	free(subs);
	return r;
}

/* Select\Current, or 0 when the hive says none (then CurrentControlSet
 * cannot be resolved). */
static unsigned current_set(const struct hread *h)
{
	struct err e = {0};
	struct hr_key k;
	struct hr_val v;
	uint32_t sel = hread_path(h, 0, "Select", &e);
	uint32_t off =
	    sel && hread_key(h, sel, &k, &e) == 0 ? hread_value_named(h, &k, "Current", &e) : 0;
	unsigned n = 0;
	if (off && hread_value(h, off, &v, &e) == 0 && v.type == 4 && v.len == 4 && v.data)
		n = le32(v.data);
	err_clear(&e);
	return n >= 1 && n <= 999 ? n : 0;
}

int fix_reg_export_key(const char *key, struct err *e)
{
	enum regroot root;
	const char *rest;
	if (regfile_root(key, &root, &rest) == -1 || where_key(root, rest).hive == -1)
		return fail(
		    e, "bad-reg",
		    "%s: not a key nobounce reads: " WHICH_KEYS " (or HKLM, HKU, HKCU, HKCR)", key);
	return 0;
}

static int export(const struct hread *h, int hive, struct fixctx *cx, struct err *e)
{
	unsigned ccs = hive == IN_SYSTEM ? current_set(h) : 0;
	for (size_t i = 0; i < cx->nexport; i++) {
		enum regroot root;
		const char *rest;
		if (regfile_root(cx->export_keys[i], &root, &rest) == -1)
			continue;
		struct place pl = where_key(root, rest);
		if (!in_this(&pl, hive, cx))
			continue;
		int w = pl.hive;
		const char *path = pl.path;
		CLEANUP_FREE char *hp = hive_path(w, path, ccs);
		if (w == IN_SYSTEM && is_ccs(path))
			strlist_add(&cx->notes,
				    xasprintf("%s: CurrentControlSet read as ControlSet%03u "
					      "(Select\\Current)",
					      cx->export_keys[i], ccs));
		uint32_t node = hread_path(h, 0, hp, e);
		if (!node && e->msg)
			return -1;
		if (!node)
			continue;
		/* shown as regedit shows it: the root's full name, the rest as asked */
		CLEANUP_FREE char *shown =
		    xasprintf("%s%s%s", regroot_name(root), *rest ? "\\" : "", rest);
		for (char *c = shown + strlen(regroot_name(root)); *c; c++)
			if (*c == '/')
				*c = '\\';
		size_t n = 0;
		char *s = NULL;
		room(&s, &n, 0);
		if (export_node(h, node, shown, &s, &n, 0, e) == -1) {
			free(s);
			return -1;
		}
		free(cx->exported[i]);
		cx->exported[i] = s;
	}
	return 0;
}

#define EXPORT_FOR(name, id)                                                                       \
	int fix_reg_export_##name(const struct hread *h, struct fixctx *cx, struct changes *out,   \
				  struct err *e)                                                   \
	{                                                                                          \
		(void)out;                                                                         \
		return export(h, id, cx, e);                                                       \
	}
EXPORT_FOR(system, REGHIVE_SYSTEM)
EXPORT_FOR(software, REGHIVE_SOFTWARE)
EXPORT_FOR(sam, REGHIVE_SAM)
EXPORT_FOR(security, REGHIVE_SECURITY)
EXPORT_FOR(default, REGHIVE_DEFAULT)
EXPORT_FOR(ntuser, REGHIVE_NTUSER)
EXPORT_FOR(usrclass, REGHIVE_USRCLASS)
