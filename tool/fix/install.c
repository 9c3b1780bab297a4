/* SPDX-License-Identifier: GPL-2.0-or-later */
/* install: the WINDOWS and WINNT installations of a volume (see install.h). */
#include "fix/install.h"

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

void install_describe(struct install *in, struct hive *software)
{
	hive_node_h cv = hive_node(software, 0, "Microsoft\\Windows NT\\CurrentVersion");
	if (!cv)
		return;
	in->product = hive_string(software, cv, "ProductName");
	in->version = hive_string(software, cv, "CurrentVersion");
	in->build = hive_string(software, cv, "CurrentBuildNumber");
	if (!in->build)
		in->build = hive_string(software, cv, "CurrentBuild");
	in->service_pack = hive_string(software, cv, "CSDVersion");
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
}

void install_free(struct install *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		install_free_one(&in[i]);
	free(in);
}
