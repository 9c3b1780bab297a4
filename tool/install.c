#include "install.h"

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
		CLEANUP_FREE char *want = xasprintf("%s/system32/config/SYSTEM", top.v[i]);
		char *system = NULL;
		int kind = 0;
		int found = vol_resolve(v, want, &system, &kind, e);
		if (found == -1) {
			r = -1;
			break;
		}
		if (!found || kind != VOL_FILE) {
			free(system);
			note("%s: %s has no system32/config/SYSTEM file: not a Windows system root",
			     v->name, top.v[i]);
			continue;
		}
		CLEANUP_FREE char *swant = xasprintf("%s/system32/config/SOFTWARE", top.v[i]);
		char *software = NULL;
		found = vol_resolve(v, swant, &software, &kind, e);
		if (found == -1) {
			free(system);
			r = -1;
			break;
		}
		if (found && kind != VOL_FILE) {
			free(software);
			software = NULL;
		}
		add_install(out, n,
			    (struct install){.sysroot = xstrdup(top.v[i]),
					     .system = system,
					     .software = software});
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

void install_free(struct install *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(in[i].sysroot);
		free(in[i].system);
		free(in[i].software);
		free(in[i].product);
		free(in[i].version);
		free(in[i].build);
		free(in[i].service_pack);
	}
	free(in);
}
