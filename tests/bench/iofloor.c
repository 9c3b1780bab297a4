/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iofloor: the I/O floor nobounce is measured against.  Reads the three
 * files nobounce edits from an image and (without --read-only) writes each
 * back whole, in place, with the same bytes, through the same
 * blockdev/libntfs-3g path nobounce uses, with no parsing, planning, journal
 * or verification: what rewriting whole files costs.
 *
 *   iofloor [--read-only] IMAGE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "disk/blockdev.h"
#include "disk/partitions.h"
#include "vol/vol.h"

static const char *const files[] = {"WINDOWS/system32/config/SYSTEM",
				    "WINDOWS/system32/config/SOFTWARE",
				    "WINDOWS/system32/inetsrv/MetaBase.xml"};

static void die(struct err *e)
{
	fprintf(stderr, "iofloor: %s\n", e->msg);
	exit(1);
}

int main(int argc, char **argv)
{
	int writable = !(argc > 2 && STREQ(argv[1], "--read-only"));
	const char *image = argv[argc - 1];
	struct err e = {0};
	int fd = open(image, writable ? O_RDWR : O_RDONLY);
	struct blockdev *bd = fd == -1 ? NULL : bdev_open(image, fd, -1, NULL, writable, &e);
	if (!bd)
		die(&e);
	struct part *parts;
	size_t n;
	if (parts_find(bd, &parts, &n, &e) == -1 || n == 0)
		die(&e);
	struct vol *v = vol_open_ntfs(bd, parts[0].start, parts[0].size, image, writable, &e);
	if (!v)
		die(&e);
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		struct buf b = {0};
		if (vol_read(v, files[i], (size_t)1 << 30, &b, &e) == -1 ||
		    (writable && (vol_write_at(v, files[i], 0, b.p, b.len, &e) == -1 ||
				  vol_sync(v, 0, &e) == -1)))
			die(&e);
		buf_free(&b);
	}
	vol_close(v);
	bdev_flush(bd, &e);
	bdev_close(bd);
	free(parts);
	return 0;
}
