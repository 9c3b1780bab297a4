/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dynamic: the dynamic disks of one server (see dynamic.h). */
#include <stdio.h>
#include <string.h>

#include "disk/ldm.h"
#include "fix/install.h"
#include "run/dynamic.h"

/* Whether a run on any installation of the volume was cut short. */
static int volume_pending(struct vol *v)
{
	struct err e = {0};
	struct install *ins = NULL;
	size_t n = 0;
	int pending = 0;
	if (install_find(v, &ins, &n, &e) == 0)
		for (size_t i = 0; i < n && !pending; i++)
			pending = run_pending(v, &ins[i]);
	install_free(ins, n);
	err_clear(&e);
	return pending;
}

/* Whether the halves of a mirror hold the same NTFS metadata -- all that a
 * file operation of anyone's writes (vol_ntfs_metadata), in the directories
 * nobounce uses -- and the same backup boot sector.  Halves of two clones of
 * one machine, a mirror Windows had not finished resynchronising, or a
 * nobounce run cut short in its first step all differ there. */
static int halves_agree(struct blockdev *mbd, struct vol *v, struct err *e)
{
	struct strlist dirs = {0};
	struct install *ins = NULL;
	size_t n = 0;
	strlist_add(&dirs, xstrdup(""));
	if (install_find(v, &ins, &n, e) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *files[] = {ins[i].system, ins[i].metabase};
		strlist_add(&dirs, xstrdup(ins[i].sysroot));
		strlist_add(&dirs, xasprintf("%s/system32", ins[i].sysroot));
		for (size_t k = 0; k < ARRAY_SIZE(files); k++)
			if (files[k])
				strlist_add(
				    &dirs,
				    strndup(files[k], (size_t)(strrchr(files[k], '/') - files[k])));
	}
	install_free(ins, n);
	struct vol_ranges rs = {0};
	int r = vol_ntfs_metadata(v, &dirs, &rs, e);
	strlist_free(&dirs);
	uint64_t compared = 512;
	if (r == 0)
		r = bdev_legs_agree(mbd, bdev_size(mbd) - 512, 512, e);
	for (size_t i = 0; i < rs.n && r == 1; i++) {
		uint64_t off = rs.v[i].off, len = rs.v[i].len;
		if (off >= bdev_size(mbd))
			continue;
		if (len > bdev_size(mbd) - off)
			len = bdev_size(mbd) - off;
		compared += len;
		r = bdev_legs_agree(mbd, off, len, e);
	}
	free(rs.v);
	note("%s: compared %llu bytes of NTFS metadata across the mirror's halves: %s", vol_name(v),
	     (unsigned long long)compared,
	     r == 1   ? "equal"
	     : r == 0 ? "different"
		      : "error");
	return r;
}

/* Whether the volume on one half, seen alone, shows a nobounce run that was
 * cut short. */
static int half_pending(const struct bdev_leg *leg, uint64_t size, const char *name)
{
	struct err e = {0};
	struct vol *v = vol_open_ntfs(leg->bd, leg->off, size, name, 0, &e);
	int pending = v ? volume_pending(v) : 0;
	vol_close(v);
	err_clear(&e);
	return pending;
}

/* A mirror's halves.  Every write goes to the first half first, so when any
 * half shows a nobounce run cut short (a kill between the halves, or inside
 * a write), the first half is copied over the others where they differ;
 * otherwise they must agree where any writer writes first. */
static int check_halves(const struct options *op, struct blockdev *mbd, struct vol *v,
			char **detail, struct err *e)
{
	int ours = op->resync_mirror;
	for (size_t i = 0; i < bdev_nlegs(mbd) && !ours; i++)
		ours = half_pending(bdev_leg(mbd, i), bdev_size(mbd), vol_name(v));
	if (ours) {
		if (!cmd_writes(op->cmd))
			return 0; /* fix and undo resynchronise first */
		uint64_t copied;
		if (bdev_legs_resync(mbd, &copied, e) == -1)
			return -1;
		*detail = xasprintf("%s; %llu bytes were copied from the mirror's first half to "
				    "the others first",
				    op->resync_mirror ? "--resync-mirror"
						      : "a nobounce run on it was cut short",
				    (unsigned long long)copied);
		note("%s: %s", vol_name(v), *detail);
		return 0;
	}
	int r = halves_agree(mbd, v, e);
	if (r == 0)
		vol_refuse(v, "mirror-differs",
			   xstrdup("the halves of the mirror hold different bytes: they are not "
				   "two halves of one mirror (disks of two clones of one "
				   "machine?), or Windows had not finished resynchronising them. "
				   "Boot Windows, wait until Disk Management shows the volume "
				   "Healthy, and run nobounce again (if they differ because a "
				   "nobounce run was cut short, --resync-mirror copies the first "
				   "half over the others)"));
	return r == -1 ? -1 : 0;
}

static int run_dynamic_volume(const struct options *op, char *const *disks, struct blockdev **bds,
			      const struct ldm_volume *lv)
{
	int writable = cmd_writes(op->cmd), code = EXIT_OK;
	struct bdev_leg legs[64];
	size_t nl = 0, missing = 0;
	CLEANUP_FREE char *label = xstrdup("");
	for (size_t i = 0; i < lv->nlegs && nl < ARRAY_SIZE(legs); i++) {
		const struct ldm_leg *l = &lv->legs[i];
		if (l->disk < 0) {
			missing++;
			continue;
		}
		legs[nl++] = (struct bdev_leg){bds[l->disk], l->off};
		str_add(&label, " + ", "%s", disks[l->disk]);
	}
	struct place pl = {label, NULL, lv, disks, missing && op->degraded};
	struct err e = {0};
	uint8_t boot[512];
	struct blockdev *mbd = bdev_open_legs(label, legs, nl, lv->size, writable);
	if (bdev_pread(mbd, boot, sizeof boot, 0, &e) == -1) {
		bdev_close(mbd);
		return volume_failed(op, &pl, &e);
	}
	if (memcmp(boot + 3, "NTFS    ", 8) != 0) {
		note("%s: %s holds no NTFS file system", label, lv->name);
		bdev_close(mbd);
		return EXIT_NONE;
	}
	CLEANUP_FREE char *name = xasprintf("%s (%s)", label, lv->name);
	struct vol *v = vol_open_ntfs(mbd, 0, lv->size, name, writable, &e);
	char *detail = NULL;
	if (v && missing && !op->degraded)
		vol_refuse(v, "incomplete-mirror",
			   xasprintf("only %zu of the mirror's %zu halves were given: writing one "
				     "half alone desynchronises the mirror, and Windows does not "
				     "resynchronise it by itself. Give all of the server's disks "
				     "together (nobounce fix DISK1 DISK2), or, if the missing disk "
				     "is gone for good, use --degraded (see nobounce(1))",
				     nl, lv->nlegs));
	if (v && nl > 1 && check_halves(op, mbd, v, &detail, &e) == -1) {
		vol_close(v);
		v = NULL;
	}
	if (!v) {
		free(detail);
		bdev_close(mbd);
		return volume_failed(op, &pl, &e);
	}
	code = volume_run(op, &pl, v, detail);
	free(detail);
	vol_close(v);
	if (bdev_flush(mbd, &e) == -1)
		code = volume_failed(op, &pl, &e);
	bdev_close(mbd);
	return code;
}

/* Two of the disks given are one disk (copies, or disks of clones of one
 * machine): never assembled, whichever is meant. */
static int same_disk_twice(char *const *disks, const struct ldm_ident *ids, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (STREQ(ids[i].disk, ids[k].disk))
				return fail(
				    e, "same-disk",
				    "%s and %s are the same dynamic disk (LDM disk %s): "
				    "copies of one disk, or disks of clones of one machine. "
				    "nobounce never assembles a volume from two copies; give "
				    "each machine's disks in a run of their own",
				    disks[i], disks[k], ids[i].disk);
	return 0;
}

int dynamic_run(const struct options *op, char *const *disks, size_t n)
{
	report_t0 = now_seconds();
	struct blockdev **bds = xcalloc(n, sizeof *bds);
	struct ldm_ident *ids = xcalloc(n, sizeof *ids);
	CLEANUP_FREE char *all = xstrdup("");
	for (size_t i = 0; i < n; i++)
		str_add(&all, " + ", "%s", disks[i]);
	struct place whole = {.target = all};
	struct err e = {0};
	for (size_t i = 0; i < n && !e.msg; i++) {
		bds[i] = volume_open_disk(op, disks[i], &e);
		int r = bds[i] ? ldm_probe(bds[i], &ids[i], &e) : -1;
		if (r == 0)
			fail(&e, "unsupported-target", "%s: not a dynamic disk; give it on its own",
			     disks[i]);
		else if (r == 1 && !STREQ(ids[i].group, ids[0].group))
			fail(&e, "unsupported-target",
			     "%s belongs to another disk group than %s: give each server's disks "
			     "in a run of their own",
			     disks[i], disks[0]);
		else if (r == -1 && n > 1 && e.msg) {
			CLEANUP_FREE char *why = xstrdup(e.msg);
			const char *kind = e.kind;
			err_clear(&e);
			fail(&e, kind, "%s: %s", disks[i], why);
		}
	}
	struct ldm_layout lay = {0};
	int code = EXIT_OK;
	if (!e.msg)
		same_disk_twice(disks, ids, n, &e);
	if (!e.msg)
		ldm_read(bds, disks, n, &lay, &e);
	if (e.msg) {
		code = volume_failed(op, &whole, &e);
	} else {
		int any = 0;
		for (size_t i = 0; i < lay.n; i++) {
			const struct ldm_volume *lv = &lay.v[i];
			size_t given = 0;
			for (size_t k = 0; k < lv->nlegs; k++)
				given += lv->legs[k].disk >= 0;
			if (!STREQ(lv->type, "simple") && !STREQ(lv->type, "mirrored")) {
				note("%s: %s (%s%s%s): %s volumes cannot hold a Windows system; "
				     "not looked at, never written",
				     all, lv->name, lv->type, lv->hint ? " " : "",
				     lv->hint ? lv->hint : "", lv->type);
				continue;
			}
			if (!given) {
				note("%s: %s lies on disks not given", all, lv->name);
				continue;
			}
			int c = run_dynamic_volume(op, disks, bds, lv);
			if (c != EXIT_NONE)
				any = 1, code = exit_worse(code, c);
		}
		if (!any && code == EXIT_OK) {
			fail(&e, "no-windows",
			     "no Windows installation on the dynamic volumes of these disks that "
			     "nobounce can write (simple and mirrored ones; see -v). Give the "
			     "disks that hold the system volume");
			code = volume_failed(op, &whole, &e);
		}
	}
	ldm_layout_free(&lay);
	for (size_t i = 0; i < n; i++)
		bdev_close(bds[i]);
	free(bds);
	free(ids);
	return code;
}
