/* SPDX-License-Identifier: GPL-2.0-or-later */
/* target: what a TARGET is -- a directory, or a disk image or device with
 * its partitions (its dynamic disks go to dynamic.c) -- and running one
 * command on every Windows installation in it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/blockdev.h"
#include "lib/hostfile.h"
#include "fix/install.h"
#include "disk/ldm.h"
#include "disk/partitions.h"
#include "run/dynamic.h"
#include "run/target.h"
#include "vol/vol.h"

int output_failed(void)
{
	return ferror(stdout) || fflush(stdout) == EOF;
}

static int run_dir(const struct options *op, const char *target)
{
	struct err e = {0};
	struct place pl = {.target = target};
	struct vol *v = vol_open_dir(target, cmd_writes(op->cmd), &e);
	if (v && vol_lock(v, cmd_writes(op->cmd), &e) == -1) {
		vol_close(v);
		v = NULL;
	}
	if (!v)
		return volume_failed(op, &pl, &e);
	int code = volume_run(op, &pl, v, NULL);
	if (code == EXIT_NONE) {
		/* a folder inside the volume, given by mistake, is named as such */
		int k1 = vol_kind(v, "system32", &e), k2 = vol_kind(v, "SYSTEM", &e);
		err_clear(&e);
		fail(&e, "no-windows",
		     "no Windows installation here (a WINDOWS or WINNT folder holding "
		     "system32/config/SYSTEM)%s. Give the root directory of the mounted system "
		     "volume, or the disk image or device itself",
		     k1 == VOL_DIR    ? ": this looks like the WINDOWS folder itself"
		     : k2 == VOL_FILE ? ": this looks like the system32/config folder"
				      : "");
		code = volume_failed(op, &pl, &e);
	}
	vol_close(v);
	return code;
}

/* Why an image holds nothing to work on, with what to give instead: a hive
 * file, or bytes that are no disk. */
static void no_ntfs(struct blockdev *bd, struct err *e)
{
	char head[4] = {0};
	struct err ignore = {0};
	if (bd && bdev_size(bd) >= 4 && bdev_pread(bd, head, 4, 0, &ignore) == 0 &&
	    !memcmp(head, "regf", 4)) {
		fail(e, "no-windows",
		     "this is a registry hive, not a disk or volume. Give the disk image or "
		     "device, or the root directory of the mounted system volume ('nobounce "
		     "recover' works on a hive file)");
		return;
	}
	err_clear(&ignore);
	fail(e, "no-windows",
	     "no NTFS file system on it (read as %s): it is not a disk, partition or disk "
	     "image that holds Windows. Give the whole disk image or device, or the root "
	     "directory of the mounted system volume; for an image in a format nobounce did "
	     "not recognise, give --format",
	     bd ? bdev_format(bd) : "raw");
}

static int run_image(const struct options *op, const char *target)
{
	struct err e = {0};
	int writable = cmd_writes(op->cmd);
	struct place whole = {.target = target};
	struct blockdev *bd = volume_open_disk(op, target, &e);
	struct ldm_ident id;
	int dynamic = bd ? ldm_probe(bd, &id, &e) : -1;
	if (dynamic == 1) {
		/* its volumes are in the LDM database, never in its MBR: one
		 * may be half of a mirror */
		bdev_close(bd);
		if (op->defer_dynamic) {
			report_deferred(&id);
			return EXIT_DEFERRED;
		}
		char *one[] = {(char *)target};
		return dynamic_run(op, one, 1);
	}
	struct part *parts = NULL;
	size_t n = 0;
	if (dynamic == 0)
		parts_find(bd, &parts, &n, &e);
	if (e.msg || n == 0) {
		free(parts);
		if (!e.msg)
			no_ntfs(bd, &e);
		bdev_close(bd);
		return volume_failed(op, &whole, &e);
	}
	int code = EXIT_OK, found = 0;
	for (size_t i = 0; i < n; i++) {
		struct place pl = {.target = target, .part = &parts[i]};
		CLEANUP_FREE char *name =
		    parts[i].number ? xasprintf("%s (partition %u)", target, parts[i].number)
				    : xstrdup(target);
		note("%s: NTFS at byte %llu, %llu bytes", name, (unsigned long long)parts[i].start,
		     (unsigned long long)parts[i].size);
		struct vol *v =
		    vol_open_ntfs(bd, parts[i].start, parts[i].size, name, writable, &e);
		if (!v) {
			code = volume_failed(op, &pl, &e);
			continue;
		}
		int c =
		    volume_run(op, &pl, v,
			       bdev_is_uri(target)
				   ? "an NBD export: nobounce cannot see its server's other "
				     "clients, so it cannot tell whether a running machine uses "
				     "this disk; make sure none does"
				   : NULL);
		if (c == EXIT_NONE)
			note("%s: no Windows installation on it", name);
		else
			found = 1, code = exit_worse(code, c);
		vol_close(v);
	}
	if (!found && code == EXIT_OK) {
		fail(&e, "no-windows",
		     "no Windows installation (a WINDOWS or WINNT folder holding "
		     "system32/config/SYSTEM) on its %zu NTFS partition(s). Give the disk that "
		     "holds the system volume",
		     n);
		code = volume_failed(op, &whole, &e);
	}
	if (bdev_flush(bd, &e) == -1)
		code = volume_failed(op, &whole, &e);
	free(parts);
	bdev_close(bd);
	return code;
}

int target_run(const struct options *op, const char *target)
{
	report_t0 = now_seconds();
	struct stat st;
	if (bdev_is_uri(target))
		return run_image(op, target);
	if (stat(target, &st) == -1) {
		struct err e = {0};
		struct place pl = {.target = target};
		if (errno == EACCES) {
			CLEANUP_FREE char *who = who_am_i();
			fail(&e, "permission-denied",
			     "permission denied: %s may not reach it (a directory on its path is "
			     "closed to it). Run nobounce as a user who may, or change the "
			     "permissions",
			     who);
		} else {
			fail(&e, "not-found", "cannot open: %s. Check the path", strerror(errno));
		}
		return volume_failed(op, &pl, &e);
	}
	return S_ISDIR(st.st_mode) ? run_dir(op, target) : run_image(op, target);
}
