/* SPDX-License-Identifier: GPL-2.0-or-later */
/* install: the WINDOWS and WINNT installations of a volume (see install.h). */
#include <ctype.h>

#include "fix/install.h"
#include "reg/hivelog.h"

static const char *const sysroot_names[] = {"WINDOWS", "WINNT"};

static int is_sysroot_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sysroot_names); i++)
		if (STRCASEEQ(name, sysroot_names[i]))
			return 1;
	return 0;
}

static void add_install(struct install **out, size_t *n, struct install in)
{
	*out = xrealloc(*out, (*n + 1) * sizeof **out);
	(*out)[(*n)++] = in;
}

static void install_free_one(struct install *in);

/* The file at sysroot/rel when it exists as a regular file: 1 and *out,
 * 0 when it does not, -1 on error (a link, a special file, ambiguity). */
static int find_file(struct vol *v, const char *sysroot, const char *rel, char **out, struct err *e)
{
	CLEANUP_FREE char *want = xasprintf("%s/%s", sysroot, rel);
	int kind = 0;
	*out = NULL;
	int r = vol_resolve(v, want, out, &kind, e);
	if (r == 1 && kind != VOL_FILE) {
		free(*out);
		*out = NULL;
		return 0;
	}
	return r;
}

int install_find_hives(struct vol *v, struct install *in, struct err *e)
{
	if (find_file(v, in->sysroot, "system32/config/SAM", &in->sam, e) == -1 ||
	    find_file(v, in->sysroot, "system32/config/SECURITY", &in->security, e) == -1 ||
	    find_file(v, in->sysroot, "system32/config/DEFAULT", &in->deflt, e) == -1)
		return -1;
	return 0;
}

/* ---- profiles ---- */

/* Where UsrClass.dat lies in a profile: 2000, XP and 2003, then Vista on. */
static const char *const usrclass_at[] = {
    "Local Settings/Application Data/Microsoft/Windows/UsrClass.dat",
    "AppData/Local/Microsoft/Windows/UsrClass.dat"};

/* A path as Windows stores it in ProfileList ("%SystemDrive%\Documents and
 * Settings\Administrator", "C:\...", "%SystemRoot%\..."), as a path on
 * this volume; NULL when it lies elsewhere or is not a plain path.  drive
 * is the system drive's letter. */
static char *on_volume(const char *p, char drive, const char *sysroot)
{
	static const char *const sd[] = {"%SystemDrive%"}, *const sr[] = {"%SystemRoot%",
									  "%windir%"};
	const char *rest = NULL, *base = "";
	for (size_t i = 0; i < ARRAY_SIZE(sd); i++)
		if (!strncasecmp(p, sd[i], strlen(sd[i])))
			rest = p + strlen(sd[i]);
	for (size_t i = 0; !rest && i < ARRAY_SIZE(sr); i++)
		if (!strncasecmp(p, sr[i], strlen(sr[i])))
			rest = p + strlen(sr[i]), base = sysroot;
	if (!rest && p[0] && p[1] == ':' && toupper((unsigned char)p[0]) == drive)
		rest = p + 2;
	if (!rest || (*rest && *rest != '\\'))
		return NULL;
	char *out = xstrdup(base);
	CLEANUP_FREE char *copy = xstrdup(rest);
	char *save = NULL;
	for (char *c = strtok_r(copy, "\\", &save); c; c = strtok_r(NULL, "\\", &save)) {
		if (STREQ(c, ".") || STREQ(c, "..") || strchr(c, '/') || strchr(c, '%')) {
			free(out);
			return NULL;
		}
		str_add(&out, "/", "%s", c);
	}
	if (!*out) {
		free(out);
		return NULL;
	}
	return out;
}

/* Looks at a profile's folder: sets dir, ntuser and usrclass, or why.
 * -1 only for an error that is not the image's doing (a read that failed). */
static int probe(struct vol *v, struct profile *p, const char *dir, struct err *e)
{
	int kind = 0;
	char *real = NULL;
	int r = vol_resolve(v, dir, &real, &kind, e);
	if (r == 1 && kind == VOL_DIR) {
		p->dir = real;
		r = find_file(v, real, "NTUSER.DAT", &p->ntuser, e);
		for (size_t i = 0; r != -1 && !p->usrclass && i < ARRAY_SIZE(usrclass_at); i++)
			r = find_file(v, real, usrclass_at[i], &p->usrclass, e);
	} else if (r != -1) {
		free(real);
		p->why = xasprintf(r ? "%s is not a folder" : "its folder %s is not there", dir);
		p->why_kind = "not-applicable";
		return 0;
	}
	if (r == -1 && STREQ(e->kind, "io"))
		return -1;
	if (r == -1) {
		p->why = xstrdup(e->msg);
		p->why_kind = e->kind;
		err_clear(e);
	}
	return 0;
}

static struct profile *add_profile(struct install *in)
{
	in->profiles = xrealloc(in->profiles, (in->nprofiles + 1) * sizeof *in->profiles);
	struct profile *p = &in->profiles[in->nprofiles++];
	memset(p, 0, sizeof *p);
	return p;
}

static void profile_free(struct profile *p)
{
	free(p->sid), free(p->where), free(p->name), free(p->dir);
	free(p->ntuser), free(p->usrclass), free(p->why);
}

static int known_dir(const struct install *in, const char *dir)
{
	for (size_t i = 0; i < in->nprofiles; i++)
		if (in->profiles[i].dir && STRCASEEQ(in->profiles[i].dir, dir))
			return 1;
	return 0;
}

static void set_name(struct profile *p, const char *path)
{
	const char *slash = strrchr(path, '/');
	p->name = xstrdup(slash ? slash + 1 : path);
}

/* SOFTWARE's bytes, replayed in memory from its logs when it is dirty. */
static int read_software(struct vol *v, const char *path, struct buf *out, struct err *e)
{
	struct buf raw = {0}; /* read in place only: ordinary memory */
	if (vol_read(v, path, HIVE_MAX_BYTES, &raw, e) == -1)
		return -1;
	if (!hivelog_is_dirty(raw.p, raw.len)) {
		*out = raw;
		return 0;
	}
	struct hivelog *hl = NULL;
	size_t n = 0;
	struct strlist paths = {0}, applied = {0};
	int r = hivelog_read_beside(v, path, &hl, &n, &paths, e);
	if (r == 0 && n)
		r = hivelog_recover(path, &raw, hl, n, out, &applied, e);
	else if (r == 0) /* no log: hread_open says it is dirty */
		*out = raw, raw = (struct buf){0};
	hivelog_free(hl, n);
	strlist_free(&paths);
	strlist_free(&applied);
	buf_free(&raw);
	return r;
}

/* ProfileList's profiles; the profile directory it names joins dirs. */
static int profile_list(struct vol *v, struct install *in, struct strlist *dirs, struct err *e)
{
	struct buf b = {0};
	struct hread h;
	if (read_software(v, in->software, &b, e) == -1 ||
	    hread_open(&h, in->software, b.p, b.len, e) == -1) {
		buf_free(&b);
		return -1;
	}
	char drive = 'C';
	uint32_t cv = hread_path(&h, 0, "Microsoft\\Windows NT\\CurrentVersion", e);
	CLEANUP_FREE char *root = cv ? hread_string(&h, cv, "SystemRoot") : NULL;
	if (root && isalpha((unsigned char)root[0]) && root[1] == ':')
		drive = (char)toupper((unsigned char)root[0]);
	uint32_t pl = cv ? hread_path(&h, cv, "ProfileList", e) : 0;
	CLEANUP_FREE char *pd = pl ? hread_string(&h, pl, "ProfilesDirectory") : NULL;
	char *pdv = pd ? on_volume(pd, drive, in->sysroot) : NULL;
	if (pdv)
		strlist_add(dirs, pdv);
	struct hr_key k;
	uint32_t *kids = NULL;
	size_t nkids = 0;
	int r = e->msg ? -1 : 0;
	if (r == 0 && pl)
		r = hread_key(&h, pl, &k, e) == 0 ? hread_subkeys(&h, &k, &kids, &nkids, e) : -1;
	for (size_t i = 0; i < nkids && r == 0; i++) {
		struct hr_key sk;
		if ((r = hread_key(&h, kids[i], &sk, e)) == -1)
			break;
		CLEANUP_FREE char *sid = hread_name_utf8(&sk.name);
		CLEANUP_FREE char *where = hread_string(&h, kids[i], "ProfileImagePath");
		if (!where)
			continue;
		CLEANUP_FREE char *dir = on_volume(where, drive, in->sysroot);
		if (dir && known_dir(in, dir))
			continue;
		struct profile *p = add_profile(in);
		p->sid = xstrdup(sid);
		p->where = xstrdup(where);
		const char *bs = strrchr(where, '\\');
		p->name = xstrdup(bs ? bs + 1 : where);
		p->why_kind = "not-applicable";
		if (!dir)
			p->why = xasprintf("its ProfileImagePath, %s, is not on this volume "
					   "(the system drive is %c:)",
					   where, drive);
		else
			r = probe(v, p, dir, e);
	}
	free(kids);
	hread_close(&h);
	buf_free(&b);
	return r;
}

/* The folders of a profile directory that hold an NTUSER.DAT and that
 * ProfileList did not name ("Default User", whose hive new users copy). */
static int scan_dir(struct vol *v, struct install *in, const char *dir, struct err *e)
{
	int kind = 0;
	CLEANUP_FREE char *real = NULL;
	int r = vol_resolve(v, dir, &real, &kind, e);
	if (r == -1 && !STREQ(e->kind, "io")) { /* a link (Vista's "Documents and Settings") */
		note("%s: %s; not looked in for profiles", vol_name(v), e->msg);
		err_clear(e);
		return 0;
	}
	if (r != 1 || kind != VOL_DIR)
		return r == -1 ? -1 : 0;
	struct strlist names = {0};
	if (vol_list(v, real, &names, e) == -1)
		return -1;
	for (size_t i = 0; i < names.n && r != -1; i++) {
		CLEANUP_FREE char *sub = xasprintf("%s/%s", real, names.v[i]);
		if (known_dir(in, sub))
			continue;
		struct profile p = {0};
		r = probe(v, &p, sub, e);
		if (r != -1 && p.ntuser && !p.why) {
			set_name(&p, p.dir);
			*add_profile(in) = p;
		} else {
			profile_free(&p);
		}
	}
	strlist_free(&names);
	return r == -1 ? -1 : 0;
}

int install_find_profiles(struct vol *v, struct install *in, struct err *e)
{
	if (in->profiles_found)
		return 0;
	in->profiles_found = 1;
	struct strlist dirs = {0};
	int r = in->software ? profile_list(v, in, &dirs, e) : 0;
	strlist_add(&dirs, xstrdup("Documents and Settings"));
	strlist_add(&dirs, xstrdup("Users"));
	for (size_t i = 0; i < dirs.n && r == 0; i++) {
		int seen = 0;
		for (size_t k = 0; k < i; k++)
			seen |= STRCASEEQ(dirs.v[k], dirs.v[i]);
		if (!seen)
			r = scan_dir(v, in, dirs.v[i], e);
	}
	strlist_free(&dirs);
	return r;
}

struct profile *install_profile_named(struct install *in, const char *name, int *many)
{
	struct profile *found = NULL;
	*many = 0;
	for (size_t i = 0; i < in->nprofiles; i++) {
		struct profile *p = &in->profiles[i];
		if (STRCASEEQ(p->name, name) || (p->sid && STRCASEEQ(p->sid, name))) {
			*many |= found != NULL;
			found = p;
		}
	}
	return *many ? NULL : found;
}

struct profile *install_profile_sid(struct install *in, const char *sid, size_t len)
{
	for (size_t i = 0; i < in->nprofiles; i++) {
		struct profile *p = &in->profiles[i];
		if (p->sid && strlen(p->sid) == len && !strncasecmp(p->sid, sid, len))
			return p;
	}
	return NULL;
}

char *install_profile_names(const struct install *in)
{
	char *s = NULL;
	for (size_t i = 0; i < in->nprofiles; i++) {
		const struct profile *p = &in->profiles[i];
		const char *cannot = p->why ? "cannot be used" : NULL;
		if (p->sid || cannot)
			str_add(&s, ", ", "%s (%s%s%s)", p->name, p->sid ? p->sid : "",
				p->sid && cannot ? ", " : "", cannot ? cannot : "");
		else
			str_add(&s, ", ", "%s", p->name);
	}
	return s ? s : xstrdup("none");
}

int install_find(struct vol *v, struct install **out, size_t *n, struct err *e)
{
	struct strlist top = {0};
	*out = NULL;
	*n = 0;
	if (vol_list(v, "", &top, e) == -1)
		return -1;
	int r = 0;
	for (size_t i = 0; i < top.n && r == 0; i++) {
		if (!is_sysroot_name(top.v[i]))
			continue;
		int k = vol_kind(v, top.v[i], e);
		if (k != VOL_DIR) {
			r = k == -1 ? -1 : 0;
			continue;
		}
		struct install in = {.sysroot = xstrdup(top.v[i])};
		int found = find_file(v, top.v[i], "system32/config/SYSTEM", &in.system, e);
		if (found == 1 &&
		    (find_file(v, top.v[i], "system32/config/SOFTWARE", &in.software, e) == -1 ||
		     find_file(v, top.v[i], "system32/inetsrv/MetaBase.xml", &in.metabase, e) ==
			 -1 ||
		     (!in.metabase && find_file(v, top.v[i], "system32/inetsrv/MetaBase.bin",
						&in.metabase_bin, e) == -1)))
			found = -1;
		if (found == 1) {
			add_install(out, n, in);
			continue;
		}
		if (found == 0)
			note("%s: %s has no system32/config/SYSTEM file: not a Windows system root",
			     vol_name(v), top.v[i]);
		install_free_one(&in);
		r = found;
	}
	strlist_free(&top);
	if (r == -1) {
		install_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

void install_describe(struct install *in, const struct hread *software)
{
	struct err e = {0};
	uint32_t cv = hread_path(software, 0, "Microsoft\\Windows NT\\CurrentVersion", &e);
	err_clear(&e);
	if (!cv)
		return;
	in->product = hread_string(software, cv, "ProductName");
	in->version = hread_string(software, cv, "CurrentVersion");
	in->build = hread_string(software, cv, "CurrentBuildNumber");
	if (!in->build)
		in->build = hread_string(software, cv, "CurrentBuild");
	in->service_pack = hread_string(software, cv, "CSDVersion");
}

static void install_free_one(struct install *in)
{
	free(in->sysroot);
	free(in->system);
	free(in->software);
	free(in->sam);
	free(in->security);
	free(in->deflt);
	free(in->metabase);
	free(in->metabase_bin);
	free(in->product);
	free(in->version);
	free(in->build);
	free(in->service_pack);
	for (size_t i = 0; i < in->nprofiles; i++)
		profile_free(&in->profiles[i]);
	free(in->profiles);
}

void install_free(struct install *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		install_free_one(&in[i]);
	free(in);
}
