/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fix_com: PEEXCH50.DLL's COM registration in the SOFTWARE hive: what
 * `regsvr32 /u peexch50.dll` removes on a live server.
 *
 * No public source gives the DLL's CLSIDs or ProgIDs, so nothing here names
 * one: a class is PEEXCH50's when its InprocServer32 names a file whose base
 * name is peexch50.dll; its ProgIDs, type library and interfaces follow from
 * the class.  Offline, HKEY_CLASSES_ROOT is SOFTWARE\Classes (Exchange 2003
 * is 32-bit: no Wow6432Node). */
#include <ctype.h>

#include "fix/fixes.h"
#include "reg/regf.h"

#define DLL_NAME "peexch50.dll"
#define DLL_STEM "peexch50"

/* Keys to delete (their cells in the hive read), each once. */
struct victims {
	uint32_t *node;
	char **path;
	size_t n;
};

static void victim_add(struct victims *v, uint32_t node, char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->node[i] == node) {
			free(path);
			return;
		}
	v->node = xrealloc(v->node, (v->n + 1) * sizeof *v->node);
	v->path = xrealloc(v->path, (v->n + 1) * sizeof *v->path);
	v->node[v->n] = node;
	v->path[v->n++] = path;
}

static void victims_free(struct victims *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->path[i]);
	free(v->node);
	free(v->path);
}

static int names_peexch50(const char *path)
{
	const char *s = path;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	if (*s == '"') {
		s++;
		const char *q = strchr(s, '"');
		n = q ? (size_t)(q - s) : strlen(s);
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	const char *base = s;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\\' || s[i] == '/')
			base = s + i + 1;
	size_t bl = n - (size_t)(base - s);
	/* LoadLibrary adds ".dll" to a name without an extension */
	return (bl == strlen(DLL_NAME) && strncasecmp(base, DLL_NAME, bl) == 0) ||
	       (bl == strlen(DLL_STEM) && strncasecmp(base, DLL_STEM, bl) == 0);
}

/* The hive read in place, and the first error met reading it (a key that
 * cannot be read is then not looked at, and the plan fails at its end). */
struct rd {
	const struct hread *h;
	struct err *e;
};

/* The subkey name of node, or 0. */
static uint32_t child(struct rd *r, uint32_t node, const char *name)
{
	struct hr_key k;
	if (r->e->msg || hread_key(r->h, node, &k, r->e) == -1)
		return 0;
	return hread_child(r->h, &k, name, r->e);
}

/* node's subkeys (0-terminated, malloc'd), or NULL. */
static uint32_t *children(struct rd *r, uint32_t node)
{
	struct hr_key k;
	uint32_t *subs = NULL;
	size_t n = 0;
	if (r->e->msg || hread_key(r->h, node, &k, r->e) == -1 ||
	    hread_subkeys(r->h, &k, &subs, &n, r->e) == -1)
		return NULL;
	subs = xrealloc(subs, (n + 1) * sizeof *subs);
	subs[n] = 0;
	return subs;
}

static char *string_of(struct rd *r, uint32_t node, const char *name)
{
	return r->e->msg ? NULL : hread_string(r->h, node, name);
}

/* The default value of node\sub as a string, or NULL. */
static char *default_of(struct rd *r, uint32_t node, const char *sub)
{
	uint32_t k = sub ? child(r, node, sub) : node;
	return k ? string_of(r, k, "") : NULL;
}

/* Whether node's InprocServer32 names the DLL.  Most classes' servers are
 * other files: the string is converted and parsed only when its UTF-16
 * holds the DLL's stem in some case. */
static int serves_dll(struct rd *r, uint32_t node)
{
	uint32_t k = child(r, node, "InprocServer32");
	struct hr_key key;
	struct hr_val v;
	const uint8_t *d;
	uint8_t *copy = NULL;
	if (!k || r->e->msg || hread_key(r->h, k, &key, r->e) == -1)
		return 0;
	uint32_t off = hread_value_named(r->h, &key, "", r->e);
	if (!off || hread_value(r->h, off, &v, r->e) == -1 || (v.type != 1 && v.type != 2) ||
	    hread_data(r->h, &v, &d, &copy, r->e) == -1)
		return 0;
	static const char stem[] = DLL_STEM;
	size_t wl = sizeof stem - 1, found = 0;
	for (size_t i = 0; !found && i + 2 * wl <= v.len; i += 2) {
		size_t j = 0;
		while (j < wl && tolower(d[i + 2 * j]) == stem[j] && d[i + 2 * j + 1] == 0)
			j++;
		found = j == wl;
	}
	int ours = 0;
	if (found) {
		CLEANUP_FREE char *server = hive_text(d, v.len);
		ours = names_peexch50(server);
	}
	free(copy);
	return ours;
}

/* Whether node's default value (a string) names one of cx's classes.  A
 * {CLSID} is short and ASCII: it is compared from a copy on the stack,
 * other strings after converting them. */
static int names_class(struct rd *r, uint32_t node, const struct fixctx *cx)
{
	struct hr_key key;
	struct hr_val v;
	const uint8_t *d;
	uint8_t *copy = NULL;
	if (r->e->msg || hread_key(r->h, node, &key, r->e) == -1)
		return 0;
	uint32_t off = hread_value_named(r->h, &key, "", r->e);
	if (!off || hread_value(r->h, off, &v, r->e) == -1 || (v.type != 1 && v.type != 2) ||
	    hread_data(r->h, &v, &d, &copy, r->e) == -1)
		return 0;
	char ascii[64];
	size_t n = 0;
	int plain = 1;
	for (size_t i = 0; plain && i + 1 < v.len && (d[i] || d[i + 1]); i += 2) {
		plain = n + 1 < sizeof ascii && d[i + 1] == 0 && d[i] < 0x80;
		ascii[n++] = (char)d[i];
	}
	ascii[plain ? n : 0] = 0;
	int ours;
	if (plain) {
		ours = fixctx_has_class(cx, ascii);
	} else {
		CLEANUP_FREE char *s = hive_text(d, v.len);
		ours = fixctx_has_class(cx, s);
	}
	free(copy);
	return ours;
}

static char *name_of(struct rd *r, uint32_t node)
{
	struct hr_key k;
	if (r->e->msg || hread_key(r->h, node, &k, r->e) == -1)
		return xstrdup("?");
	return hread_name_utf8(&k.name);
}

/* The subkeys COM's registrars (ATL's .rgs scripts, MFC, hand-written
 * DllRegisterServer) write under a class.  Any other is named in a note:
 * regsvr32 /u keeps a key that still has subkeys its script did not list,
 * nobounce removes the class whole. */
static const char *const com_subkeys[] = {"InprocServer32",
					  "InprocHandler32",
					  "LocalServer32",
					  "ProgID",
					  "VersionIndependentProgID",
					  "TypeLib",
					  "Implemented Categories",
					  "Required Categories",
					  "Programmable",
					  "Version",
					  "Control",
					  "Insertable",
					  "MiscStatus",
					  "ToolboxBitmap32",
					  "DefaultIcon",
					  "AuxUserType",
					  "Verb",
					  "DataFormats",
					  "Elevation",
					  "Instance",
					  "Conversion",
					  "TreatAs",
					  "AutoTreatAs"};

static void note_extra_subkeys(struct rd *hv, uint32_t cls, const char *name, struct fixctx *cx)
{
	uint32_t *subs = children(hv, cls);
	for (size_t i = 0; subs && subs[i]; i++) {
		CLEANUP_FREE char *sub = name_of(hv, subs[i]);
		int standard = 0;
		for (size_t j = 0; j < ARRAY_SIZE(com_subkeys) && !standard; j++)
			standard = STRCASEEQ(sub, com_subkeys[j]);
		if (!standard)
			strlist_add(
			    &cx->notes,
			    xasprintf("Classes\\CLSID\\%s\\%s is not a subkey COM registers "
				      "for a class: 'regsvr32 /u' would have left it (and "
				      "the class key with it); nobounce removes the class "
				      "whole",
				      name, sub));
	}
	free(subs);
}

/* Classes\CLSID\{x} whose InprocServer32 is the DLL; their ProgIDs and
 * AppIDs. */
static void find_classes(struct rd *hv, uint32_t clsid, struct fixctx *cx, struct strlist *progids,
			 struct strlist *appids, struct victims *vic)
{
	uint32_t *kids = children(hv, clsid);
	for (size_t i = 0; kids && kids[i]; i++) {
		if (!serves_dll(hv, kids[i]))
			continue;
		char *name = name_of(hv, kids[i]);
		fixctx_add_class(cx, name);
		const char *subs[] = {"ProgID", "VersionIndependentProgID"};
		for (size_t j = 0; j < ARRAY_SIZE(subs); j++) {
			char *p = default_of(hv, kids[i], subs[j]);
			if (p && *p)
				strlist_add(progids, p);
			else
				free(p);
		}
		char *appid = string_of(hv, kids[i], "AppID");
		if (appid && *appid)
			strlist_add(appids, appid);
		else
			free(appid);
		note_extra_subkeys(hv, kids[i], name, cx);
		victim_add(vic, kids[i], xasprintf("Classes\\CLSID\\%s", name));
		free(name);
	}
	free(kids);
}

/* Classes\AppID\{appid} of the removed classes, unless a class that stays
 * names it too, with its executable-name entries (Classes\AppID\NAME.EXE
 * whose AppID value names it); DllSurrogate and the like are values of the
 * key and go with it. */
static void find_appids(struct rd *hv, uint32_t classes, uint32_t clsid,
			const struct strlist *appids, struct victims *vic)
{
	struct fixctx gone = {0}, kept = {0}; /* GUID sets */
	for (size_t i = 0; i < appids->n; i++)
		fixctx_add_class(&gone, appids->v[i]);
	uint32_t *kids = clsid ? children(hv, clsid) : NULL;
	for (size_t i = 0; kids && kids[i]; i++) {
		if (serves_dll(hv, kids[i]))
			continue;
		CLEANUP_FREE char *appid = string_of(hv, kids[i], "AppID");
		if (appid && fixctx_has_class(&gone, appid))
			fixctx_add_class(&kept, appid);
	}
	free(kids);
	uint32_t appid_key = child(hv, classes, "AppID");
	kids = appid_key ? children(hv, appid_key) : NULL;
	for (size_t i = 0; kids && kids[i]; i++) {
		CLEANUP_FREE char *name = name_of(hv, kids[i]);
		CLEANUP_FREE char *names = string_of(hv, kids[i], "AppID");
		int ours = fixctx_has_class(&gone, name) && !fixctx_has_class(&kept, name);
		ours |= names && fixctx_has_class(&gone, names) && !fixctx_has_class(&kept, names);
		if (ours)
			victim_add(vic, kids[i], xasprintf("Classes\\AppID\\%s", name));
	}
	free(kids);
	fixctx_free(&gone);
	fixctx_free(&kept);
}

/* Classes\<ProgID> whose CLSID names a removed class, and those the classes
 * name that have no CLSID of their own.  A ProgID whose CLSID names another
 * class belongs to another DLL and stays. */
static void find_progids(struct rd *hv, uint32_t classes, struct fixctx *cx,
			 const struct strlist *named, struct victims *vic)
{
	static const char *const skip[] = {"CLSID", "Interface", "TypeLib", "AppID"};
	uint32_t *kids = children(hv, classes);
	for (size_t i = 0; kids && kids[i]; i++) {
		/* names compared as stored: only a ProgID that goes is converted */
		struct hr_key k;
		if (hv->e->msg || hread_key(hv->h, kids[i], &k, hv->e) == -1)
			break;
		int skipped = 0;
		for (size_t j = 0; j < ARRAY_SIZE(skip); j++)
			skipped |= hread_name_eq(&k.name, skip[j]);
		uint32_t ck = skipped ? 0 : child(hv, kids[i], "CLSID");
		int ours = ck && names_class(hv, ck, cx);
		for (size_t j = 0; !skipped && !ck && j < named->n; j++)
			ours |= hread_name_eq(&k.name, named->v[j]);
		if (ours) {
			char *name = hread_name_utf8(&k.name);
			fixctx_add_class(cx, name);
			victim_add(vic, kids[i], xasprintf("Classes\\%s", name));
			free(name);
		}
	}
	free(kids);
}

/* How many of a type library version's <lcid>\<platform> paths are the
 * DLL's, and how many are another file's. */
static void count_paths(struct rd *hv, uint32_t ver, int *ours, int *others)
{
	uint32_t *lcids = children(hv, ver);
	for (size_t i = 0; lcids && lcids[i]; i++) {
		uint32_t *plats = children(hv, lcids[i]);
		for (size_t j = 0; plats && plats[j]; j++) {
			CLEANUP_FREE char *p = default_of(hv, plats[j], NULL);
			if (p && names_peexch50(p))
				(*ours)++;
			else if (p && *p)
				(*others)++;
		}
		free(plats);
	}
	free(lcids);
}

/* Classes\TypeLib\{lib}: the whole key when every version is the DLL's, else
 * only the versions that are.  A version that mixes the DLL with other files
 * cannot be split safely: refuse. */
static int find_typelibs(struct rd *hv, uint32_t typelib, struct strlist *libs, struct victims *vic,
			 struct err *e)
{
	uint32_t *kids = children(hv, typelib);
	int r = 0;
	for (size_t i = 0; kids && kids[i] && r == 0; i++) {
		uint32_t *vers = children(hv, kids[i]);
		CLEANUP_FREE char *lib = name_of(hv, kids[i]);
		size_t nvers = 0, nours = 0;
		struct victims mine = {0};
		for (size_t j = 0; vers && vers[j] && r == 0; j++, nvers++) {
			int ours = 0, others = 0;
			count_paths(hv, vers[j], &ours, &others);
			if (ours && others) {
				CLEANUP_FREE char *ver = name_of(hv, vers[j]);
				r = fail(
				    e, "unsure",
				    "%s: type library %s version %s names both %s and other "
				    "files; nobounce will not guess which parts to remove. "
				    "Run 'regsvr32 /u peexch50.dll' on the live server instead",
				    hv->h->name, lib, ver, DLL_NAME);
			} else if (ours) {
				nours++;
				CLEANUP_FREE char *ver = name_of(hv, vers[j]);
				victim_add(&mine, vers[j],
					   xasprintf("Classes\\TypeLib\\%s\\%s", lib, ver));
			}
		}
		if (r == 0 && nours && nours == nvers) {
			strlist_add(libs, xstrdup(lib));
			victim_add(vic, kids[i], xasprintf("Classes\\TypeLib\\%s", lib));
		} else if (r == 0) {
			for (size_t j = 0; j < mine.n; j++) {
				victim_add(vic, mine.node[j], mine.path[j]);
				mine.path[j] = NULL;
			}
		}
		victims_free(&mine);
		free(vers);
	}
	free(kids);
	return r;
}

/* Classes\Interface\{iid} whose TypeLib is a removed type library. */
static void find_interfaces(struct rd *hv, uint32_t iface, const struct strlist *libs,
			    struct victims *vic)
{
	if (!libs->n)
		return;
	struct fixctx libset = {.sink_classes = *libs}; /* borrowed: GUID matching */
	uint32_t *kids = children(hv, iface);
	for (size_t i = 0; kids && kids[i]; i++) {
		CLEANUP_FREE char *lib = default_of(hv, kids[i], "TypeLib");
		if (!lib || !fixctx_has_class(&libset, lib))
			continue;
		CLEANUP_FREE char *name = name_of(hv, kids[i]);
		victim_add(vic, kids[i], xasprintf("Classes\\Interface\\%s", name));
	}
	free(kids);
}

int fix_com_plan(const struct hread *h, struct fixctx *cx, struct changes *out, struct err *e)
{
	struct rd rd = {h, e}, *hv = &rd;
	uint32_t classes = hread_path(h, 0, "Classes", e);
	if (!classes)
		return e->msg ? -1 : 0;
	struct victims vic = {0};
	struct strlist progids = {0}, libs = {0}, appids = {0};
	uint32_t clsid = child(hv, classes, "CLSID");
	if (clsid)
		find_classes(hv, clsid, cx, &progids, &appids, &vic);
	if (appids.n)
		find_appids(hv, classes, clsid, &appids, &vic);
	/* ProgIDs, type libraries and interfaces are only looked for when a
	 * class is PEEXCH50's (now or in a run on record), so a clean SOFTWARE
	 * costs one pass over CLSID. */
	int r = 0;
	if (cx->sink_classes.n) {
		find_progids(hv, classes, cx, &progids, &vic);
		uint32_t tl = child(hv, classes, "TypeLib");
		if (tl)
			r = find_typelibs(hv, tl, &libs, &vic, e);
		uint32_t itf = child(hv, classes, "Interface");
		if (r == 0 && itf)
			find_interfaces(hv, itf, &libs, &vic);
	}
	if (r == 0 && e->msg)
		r = -1; /* a key could not be read */
	for (size_t i = 0; r == 0 && i < vic.n; i++) {
		changes_add(out, "delete-key", vic.path[i], NULL, NULL, NULL);
		vic.path[i] = NULL;
	}
	victims_free(&vic);
	strlist_free(&progids);
	strlist_free(&libs);
	strlist_free(&appids);
	return r;
}

int fix_com_apply(struct hive *hv, const struct hread *h, const struct changes *ch, struct err *e)
{
	for (size_t i = 0; i < ch->n; i++) {
		/* the key's cell in the bytes read is its node in hivex's copy of
		 * them (hivex names a node by its cell's offset in the file) */
		uint32_t off = hread_path(h, 0, ch->v[i].key, e);
		if (!off || hivex_node_delete_child(hv->h, (hive_node_h)off + REGF_BLOCK) == -1)
			return fail(e, "internal", "%s: deleting %s failed%s%s", hv->path,
				    ch->v[i].key, e->msg ? ": " : "", e->msg ? e->msg : "");
	}
	return 0;
}
