/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ldm: Windows dynamic disks (see ldm.h). */
#include "disk/ldm.h"
#include "lib/bytes.h"
#include "disk/partitions.h"
#include "lib/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <ldm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SECTOR 512
#define MBR_TYPE_LDM 0x42
/* An LDM database is 1 MiB; more than this is an attack on memory. */
#define LDM_CONFIG_MAX_SECTORS ((uint64_t)128 << 11)
/* What the child may take, and how long. */
#define CHILD_MEMORY ((rlim_t)1 << 30)
#define CHILD_SECONDS 30
#define CHILD_OUTPUT_MAX ((size_t)16 << 20)

/* The GPT type of the LDM metadata partition, 5808C8AA-7E8F-42E0-85D2-
 * E1E90434CFB3, in its on-disk byte order. */
static const uint8_t gpt_ldm_metadata[16] = {0xaa, 0xc8, 0x08, 0x58, 0x8f, 0x7e, 0xe0, 0x42,
					     0x85, 0xd2, 0xe1, 0xe9, 0x04, 0x34, 0xcf, 0xb3};

/* ---- recognising a dynamic disk ---- */

/* Where a dynamic disk keeps its header and database (sectors). */
struct where {
	uint64_t privhead, cfg_start, cfg_size;
};

/* A GUID as LDM writes it (ASCII, NUL-padded); 0 when it is not one. */
static int guid_field(const uint8_t *p, char out[LDM_GUID_LEN + 1])
{
	for (int i = 0; i < LDM_GUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? p[i] != '-' : !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
			return 0;
		out[i] = (char)p[i];
	}
	out[LDM_GUID_LEN] = 0;
	return p[LDM_GUID_LEN] == 0;
}

static int locate(struct blockdev *bd, struct ldm_ident *id, struct where *w, struct err *e)
{
	uint8_t s[SECTOR];
	memset(id, 0, sizeof *id);
	if (bdev_size(bd) < 64 * SECTOR || bdev_pread(bd, s, SECTOR, 0, e) == -1)
		return e->msg ? -1 : 0;
	if (s[510] != 0x55 || s[511] != 0xaa)
		return 0;
	int mbr_ldm = 0, protective = 0;
	for (int i = 0; i < 4; i++) {
		mbr_ldm |= s[446 + 16 * i + 4] == MBR_TYPE_LDM;
		protective |= s[446 + 16 * i + 4] == 0xee;
	}
	if (mbr_ldm) {
		w->privhead = 6; /* on an MBR disk, the header is in sector 6 */
	} else if (protective) {
		uint64_t first, last;
		struct err ge = {0};
		int r = parts_gpt_find(bd, gpt_ldm_metadata, &first, &last, &ge);
		err_clear(&ge); /* a table it cannot read is the partition parser's to judge */
		if (r <= 0)
			return 0;
		w->privhead = last; /* the last sector of the metadata partition */
		id->gpt = 1;
	} else {
		return 0;
	}
	uint8_t h[SECTOR];
	if (w->privhead >= bdev_size(bd) / SECTOR ||
	    bdev_pread(bd, h, SECTOR, w->privhead * SECTOR, e) == -1 || memcmp(h, "PRIVHEAD", 8))
		return e->msg
			   ? -1
			   : fail(e, "damaged-image",
				  "a dynamic disk (Windows LDM) whose header (PRIVHEAD) cannot be "
				  "read: its volumes cannot be found. Check the disk in Windows' "
				  "Disk Management");
	if (!guid_field(h + 0x30, id->disk) || !guid_field(h + 0xb0, id->group))
		return fail(e, "damaged-image",
			    "a dynamic disk (Windows LDM) whose header holds no valid disk or "
			    "disk group GUID");
	w->cfg_start = be64(h + 0x12b);
	w->cfg_size = be64(h + 0x133);
	if (!w->cfg_size || w->cfg_size > LDM_CONFIG_MAX_SECTORS ||
	    w->cfg_start > bdev_size(bd) / SECTOR ||
	    w->cfg_size > bdev_size(bd) / SECTOR - w->cfg_start)
		return fail(e, "damaged-image",
			    "a dynamic disk (Windows LDM) whose database lies outside the disk");
	return 1;
}

int ldm_probe(struct blockdev *bd, struct ldm_ident *id, struct err *e)
{
	struct where w;
	return locate(bd, id, &w, e);
}

/* ---- the copy the child reads ---- */

static int copy_range(struct blockdev *bd, int fd, uint64_t sector, uint64_t count, struct err *e)
{
	uint64_t total = bdev_size(bd) / SECTOR;
	if (sector >= total)
		return 0;
	if (count > total - sector)
		count = total - sector;
	size_t len = (size_t)count * SECTOR;
	uint8_t *p = xmalloc(len);
	int r = bdev_pread(bd, p, len, sector * SECTOR, e);
	if (r == 0 && pwrite_all(fd, p, len, sector * SECTOR) == -1)
		r = fail(e, "io", "copying the LDM database: %s", strerror(errno));
	free(p);
	return r;
}

/* A sparse private file the size of the disk holding only what libldm
 * reads: the MBR and GPT at both ends, the header, the database. */
static int metadata_copy(struct blockdev *bd, int *out, struct err *e)
{
	struct ldm_ident id;
	struct where w;
	int r = locate(bd, &id, &w, e);
	if (r == 0)
		return fail(e, "internal", "not a dynamic disk");
	if (r == -1)
		return -1;
	int fd = memfd_create("nobounce-ldm", 0);
	if (fd == -1 || ftruncate(fd, (off_t)bdev_size(bd)) == -1) {
		if (fd != -1)
			close(fd);
		return fail(e, "io", "memfd: %s", strerror(errno));
	}
	uint64_t total = bdev_size(bd) / SECTOR;
	r = copy_range(bd, fd, 0, 34, e);
	if (r == 0)
		r = copy_range(bd, fd, total - 34, 34, e);
	if (r == 0)
		r = copy_range(bd, fd, w.privhead, 1, e);
	if (r == 0)
		r = copy_range(bd, fd, w.cfg_start, w.cfg_size, e);
	if (r == -1) {
		close(fd);
		return -1;
	}
	*out = fd;
	return 0;
}

/* ---- the child ---- */

static const char *type_name(LDMVolumeType t)
{
	switch (t) {
	case LDM_VOLUME_TYPE_SIMPLE:
		return "simple";
	case LDM_VOLUME_TYPE_SPANNED:
		return "spanned";
	case LDM_VOLUME_TYPE_STRIPED:
		return "striped";
	case LDM_VOLUME_TYPE_MIRRORED:
		return "mirrored";
	case LDM_VOLUME_TYPE_RAID5:
		return "raid5";
	}
	return "unknown";
}

/* libldm's strings are g_malloc'd; the child exits soon, so none is freed */
static json_t *jstr(gchar *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *group_json(LDMDiskGroup *dg)
{
	json_t *disks = json_array(), *vols = json_array();
	GArray *ds = ldm_disk_group_get_disks(dg);
	for (guint i = 0; i < ds->len; i++) {
		LDMDisk *d = g_array_index(ds, LDMDisk *, i);
		gchar *dev = ldm_disk_get_device(d);
		json_array_append_new(
		    disks, json_pack("{s:o,s:o,s:o,s:I,s:I}", "name", jstr(ldm_disk_get_name(d)),
				     "guid", jstr(ldm_disk_get_guid(d)), "device", jstr(dev),
				     "data_start", (json_int_t)ldm_disk_get_data_start(d),
				     "data_size", (json_int_t)ldm_disk_get_data_size(d)));
	}
	GArray *vs = ldm_disk_group_get_volumes(dg);
	for (guint i = 0; i < vs->len; i++) {
		LDMVolume *v = g_array_index(vs, LDMVolume *, i);
		json_t *parts = json_array();
		GArray *ps = ldm_volume_get_partitions(v);
		for (guint k = 0; k < ps->len; k++) {
			LDMPartition *p = g_array_index(ps, LDMPartition *, k);
			LDMDisk *d = ldm_partition_get_disk(p);
			json_array_append_new(
			    parts,
			    json_pack("{s:o,s:I,s:I,s:o}", "name", jstr(ldm_partition_get_name(p)),
				      "start", (json_int_t)ldm_partition_get_start(p), "size",
				      (json_int_t)ldm_partition_get_size(p), "disk",
				      d ? jstr(ldm_disk_get_name(d)) : json_null()));
		}
		json_array_append_new(vols,
				      json_pack("{s:o,s:o,s:s,s:I,s:o,s:o}", "name",
						jstr(ldm_volume_get_name(v)), "guid",
						jstr(ldm_volume_get_guid(v)), "type",
						type_name(ldm_volume_get_voltype(v)), "size",
						(json_int_t)ldm_volume_get_size(v), "hint",
						jstr(ldm_volume_get_hint(v)), "partitions", parts));
	}
	return json_pack("{s:o,s:o,s:o,s:o}", "guid", jstr(ldm_disk_group_get_guid(dg)), "name",
			 jstr(ldm_disk_group_get_name(dg)), "disks", disks, "volumes", vols);
}

/* The child's side: runs libldm on the disk copies open on fds[0..n) and
 * writes the layout as JSON to out.  Never returns. */
static void __attribute__((noreturn)) ldm_child(const int *fds, size_t n, int out)
{
	struct rlimit mem = {CHILD_MEMORY, CHILD_MEMORY}, cpu = {CHILD_SECONDS, CHILD_SECONDS},
		      core = {0, 0};
#ifndef __SANITIZE_ADDRESS__ /* the sanitizer's shadow alone is terabytes */
	setrlimit(RLIMIT_AS, &mem);
#else
	(void)mem;
#endif
	setrlimit(RLIMIT_CPU, &cpu);
	setrlimit(RLIMIT_CORE, &core);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull != -1) /* libldm's warnings go nowhere; errors come back */
		dup2(devnull, 2);
	json_t *res;
	if (sandbox_deny_all() == -1) {
		res = json_pack("{s:s}", "error", "cannot confine the LDM reader");
	} else {
		LDM *l = ldm_new();
		GError *err = NULL;
		res = NULL;
		for (size_t i = 0; i < n && !res; i++) {
			char name[32];
			snprintf(name, sizeof name, "%zu", i);
			if (!ldm_add_fd(l, fds[i], SECTOR, name, &err))
				res = json_pack("{s:s,s:I}", "error", err->message, "disk",
						(json_int_t)i);
		}
		if (!res) {
			json_t *groups = json_array();
			GArray *dgs = ldm_get_disk_groups(l);
			for (guint i = 0; i < dgs->len; i++)
				json_array_append_new(
				    groups, group_json(g_array_index(dgs, LDMDiskGroup *, i)));
			res = json_pack("{s:o}", "groups", groups);
		}
	}
	char *s = json_dumps(res, JSON_COMPACT);
	size_t len = s ? strlen(s) : 0, done = 0;
	while (done < len) {
		ssize_t w = write(out, s + done, len - done);
		if (w <= 0 && errno != EINTR)
			_exit(1);
		done += w > 0 ? (size_t)w : 0;
	}
	_exit(s ? 0 : 1);
}

/* ---- the parent ---- */

/* Runs the child on the copies; its JSON, or NULL. */
static json_t *run_child(const int *fds, size_t n, struct err *e)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return fail(e, "io", "pipe: %s", strerror(errno)), NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return fail(e, "io", "fork: %s", strerror(errno)), NULL;
	}
	if (pid == 0) {
		close(pfd[0]);
		ldm_child(fds, n, pfd[1]);
	}
	close(pfd[1]);
	struct buf out = {0};
	double deadline = now_seconds() + CHILD_SECONDS + 5;
	int over = 0;
	for (;;) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		int left = (int)((deadline - now_seconds()) * 1000);
		if (left <= 0 || poll(&p, 1, left) == 0) {
			over = 1;
			break;
		}
		char chunk[65536];
		ssize_t got = read(pfd[0], chunk, sizeof chunk);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (out.len + (size_t)got > CHILD_OUTPUT_MAX) {
			over = 1;
			break;
		}
		out.p = xrealloc(out.p, out.len + (size_t)got + 1);
		memcpy(out.p + out.len, chunk, (size_t)got);
		out.len += (size_t)got;
	}
	close(pfd[0]);
	if (over)
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	json_t *j = NULL;
	json_error_t je;
	if (!over && WIFEXITED(st) && WEXITSTATUS(st) == 0 && out.len)
		j = json_loadb((const char *)out.p, out.len, 0, &je);
	free(out.p);
	if (!j)
		fail(e, "damaged-image",
		     "the dynamic disks' database (Windows LDM) cannot be read: its reader %s. "
		     "Check the disks in Windows' Disk Management",
		     over	       ? "ran too long"
		     : WIFSIGNALED(st) ? "crashed on it"
				       : "failed");
	return j;
}

static const char *get_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *str_or(json_t *o, const char *k, const char *def)
{
	const char *s = get_str(o, k);
	return s ? s : def;
}

static int get_u64(json_t *o, const char *k, uint64_t *v)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

/* One volume's legs, from the child's partitions and disks. */
static int volume_legs(json_t *jv, json_t *disks, struct blockdev **bds, size_t n,
		       struct ldm_volume *v, struct err *e)
{
	json_t *parts = json_object_get(jv, "partitions");
	if (!json_is_array(parts) || json_array_size(parts) > 64)
		return fail(e, "damaged-image", "volume %s: bad partition list", v->name);
	v->legs = xcalloc(json_array_size(parts) + 1, sizeof *v->legs);
	for (size_t i = 0; i < json_array_size(parts); i++) {
		json_t *p = json_array_get(parts, i), *d = NULL;
		const char *dn = get_str(p, "disk");
		for (size_t k = 0; dn && k < json_array_size(disks) && !d; k++)
			if (STREQ(str_or(json_array_get(disks, k), "name", ""), dn))
				d = json_array_get(disks, k);
		uint64_t start, size, data_start = 0;
		if (!d || get_u64(p, "start", &start) == -1 || get_u64(p, "size", &size) == -1 ||
		    get_u64(d, "data_start", &data_start) == -1)
			return fail(e, "damaged-image", "volume %s: a malformed partition",
				    v->name);
		struct ldm_leg *leg = &v->legs[v->nlegs++];
		leg->disk = -1;
		leg->disk_name = xstrdup(dn);
		const char *dev = get_str(d, "device");
		if (dev) {
			char *end;
			unsigned long idx = strtoul(dev, &end, 10);
			if (*end || idx >= n)
				return fail(e, "internal", "LDM reader named an unknown disk");
			leg->disk = (int)idx;
		}
		if (start > UINT64_MAX / SECTOR - data_start || size > UINT64_MAX / SECTOR)
			return fail(e, "damaged-image", "volume %s: partition out of range",
				    v->name);
		leg->off = (data_start + start) * SECTOR;
		leg->size = size * SECTOR;
		if (leg->disk >= 0 && (leg->off > bdev_size(bds[leg->disk]) ||
				       leg->size > bdev_size(bds[leg->disk]) - leg->off))
			return fail(e, "damaged-image",
				    "volume %s: its partition %s lies outside the disk", v->name,
				    str_or(p, "name", "?"));
	}
	return 0;
}

static int parse_layout(json_t *j, struct blockdev **bds, char *const *names, size_t n,
			struct ldm_layout *out, struct err *e)
{
	if (get_str(j, "error")) {
		json_t *d = json_object_get(j, "disk");
		size_t i = json_is_integer(d) ? (size_t)json_integer_value(d) : n;
		return fail(e, "damaged-image",
			    "%s%sthe dynamic disk database (Windows LDM) cannot be read: %s",
			    i < n ? names[i] : "", i < n ? ": " : "", get_str(j, "error"));
	}
	json_t *groups = json_object_get(j, "groups");
	if (!json_is_array(groups) || json_array_size(groups) != 1)
		return fail(e, "damaged-image",
			    "the disks given belong to %zu disk groups, not one",
			    json_array_size(groups));
	json_t *g = json_array_get(groups, 0), *vols = json_object_get(g, "volumes");
	json_t *disks = json_object_get(g, "disks");
	if (!get_str(g, "guid") || !json_is_array(vols) || !json_is_array(disks) ||
	    json_array_size(vols) > 1024)
		return fail(e, "damaged-image", "the LDM reader's answer is malformed");
	out->group = xstrdup(get_str(g, "guid"));
	out->group_name = xstrdup(str_or(g, "name", ""));
	out->v = xcalloc(json_array_size(vols) + 1, sizeof *out->v);
	for (size_t i = 0; i < json_array_size(vols); i++) {
		json_t *jv = json_array_get(vols, i);
		struct ldm_volume *v = &out->v[out->n++];
		static const char *const types[] = {"simple", "mirrored", "spanned", "striped",
						    "raid5"};
		const char *t = str_or(jv, "type", "");
		for (size_t k = 0; k < ARRAY_SIZE(types); k++)
			if (STREQ(t, types[k]))
				v->type = types[k];
		v->name = xstrdup(str_or(jv, "name", "?"));
		v->guid = xstrdup(str_or(jv, "guid", ""));
		v->hint = get_str(jv, "hint") ? xstrdup(get_str(jv, "hint")) : NULL;
		uint64_t size;
		if (!v->type || get_u64(jv, "size", &size) == -1 || size > UINT64_MAX / SECTOR)
			return fail(e, "damaged-image", "volume %s: malformed", v->name);
		v->size = size * SECTOR;
		if (volume_legs(jv, disks, bds, n, v, e) == -1)
			return -1;
	}
	return 0;
}

int ldm_read(struct blockdev **bds, char *const *names, size_t n, struct ldm_layout *out,
	     struct err *e)
{
	memset(out, 0, sizeof *out);
	int *fds = xcalloc(n + 1, sizeof *fds);
	size_t made = 0;
	int r = 0;
	for (; made < n && r == 0; made++)
		if (metadata_copy(bds[made], &fds[made], e) == -1) {
			CLEANUP_FREE char *why = xstrdup(e->msg);
			const char *kind = e->kind;
			err_clear(e);
			r = fail(e, kind, "%s: %s", names[made], why);
			break;
		}
	json_t *j = r == 0 ? run_child(fds, n, e) : NULL;
	for (size_t i = 0; i < made; i++)
		close(fds[i]);
	free(fds);
	if (j)
		r = parse_layout(j, bds, names, n, out, e);
	else
		r = -1;
	json_decref(j);
	if (r == -1)
		ldm_layout_free(out);
	return r;
}

void ldm_layout_free(struct ldm_layout *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t k = 0; k < l->v[i].nlegs; k++)
			free(l->v[i].legs[k].disk_name);
		free(l->v[i].legs);
		free(l->v[i].name);
		free(l->v[i].guid);
		free(l->v[i].hint);
	}
	free(l->v);
	free(l->group);
	free(l->group_name);
	memset(l, 0, sizeof *l);
}
