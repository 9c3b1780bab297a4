/* SPDX-License-Identifier: GPL-2.0-or-later */
/* blockdev: byte-range I/O on a disk image or device.
 *
 * A raw image or a block device is read and written with pread/pwrite.  Any
 * other format (qcow2, VMDK, VHD, VHDX, VDI) is served by qemu-nbd on a
 * private Unix socket and reached with libnbd in this process: no kernel nbd
 * module, no loop device, no root.  qemu-nbd dies with us (PR_SET_PDEATHSIG)
 * and is stopped, and its socket removed, on every path out. */
#ifndef NOBOUNCE_BLOCKDEV_H
#define NOBOUNCE_BLOCKDEV_H

#include <sys/stat.h>
#include <sys/types.h>

#include "lib/util.h"

/* An opened disk: its opener's until bdev_close. */
struct blockdev;

/* Where a volume lies on one disk. */
struct bdev_leg {
	struct blockdev *bd; /* the disk: stays its opener's */
	uint64_t off;	     /* bytes */
};

/* Opens an image (format NULL: detect).  A raw image also takes qemu's
 * lock bytes, so that no virtual machine runs on it meanwhile; any other
 * format is judged with everything it refers to (image.c) and served by a
 * confined qemu-nbd.  fd is the image, from host_open_target (or any
 * descriptor, for the tests), and dirfd its directory (or -1); the
 * blockdev takes both over. */
struct blockdev *bdev_open(const char *name, int fd, int dirfd, const char *format, int writable,
			   struct err *e);
/* A volume of size bytes held whole by each of the legs: reads come from
 * the first leg, every write goes to every leg, in order, so that the
 * halves of a mirror stay byte-identical. */
struct blockdev *bdev_open_legs(const char *name, const struct bdev_leg *legs, size_t n,
				uint64_t size, int writable);
/* Whether the legs hold the same bytes over [off, off+len): 1 yes, 0 no. */
int bdev_legs_agree(struct blockdev *bd, uint64_t off, uint64_t len, struct err *e);
/* Copies the first leg over every other wherever they differ; *copied
 * gets the bytes rewritten. */
int bdev_legs_resync(struct blockdev *bd, uint64_t *copied, struct err *e);

int bdev_pread(struct blockdev *bd, void *p, size_t len, uint64_t off, struct err *e);
int bdev_pwrite(struct blockdev *bd, const void *p, size_t len, uint64_t off, struct err *e);
int bdev_flush(struct blockdev *bd, struct err *e);
/* Flushes, then drops the host's cached copy of the image, so that the next
 * reads come from the disk and prove what the writes left there. */
int bdev_drop_cache(struct blockdev *bd, struct err *e);
void bdev_close(struct blockdev *bd);

/* The bytes the guest sees; the name given, for messages; the format
 * ("raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi"). */
uint64_t bdev_size(const struct blockdev *bd);
const char *bdev_name(const struct blockdev *bd);
const char *bdev_format(const struct blockdev *bd);
/* A dynamic volume's legs (0 for a disk). */
size_t bdev_nlegs(const struct blockdev *bd);
const struct bdev_leg *bdev_leg(const struct blockdev *bd, size_t i);

/* NBD URIs (nbd://, nbds://, nbd+unix://, with +vsock too), through
 * libnbd: an export names no host file, so there is nothing of the host's
 * to judge; a read-only export is refused for writing.  nobounce cannot
 * see the server's other clients. */
int bdev_is_uri(const char *name);
struct blockdev *bdev_open_uri(const char *uri, const char *format, int writable, struct err *e);
/* The URI a disk was opened from (a dynamic volume: its first disk's), or
 * NULL. */
const char *bdev_uri(const struct blockdev *bd);

/* Stops every qemu-nbd this process started (for signal handlers). */
void bdev_kill_servers(void);

/* The logical sector size of a raw device (512 or 4096; others are
 * refused), or 0 for an image, whose table tells. */
int bdev_sector_size(struct blockdev *bd, unsigned *ss, struct err *e);

/* What identifies the disk a volume is on: the file or device it was
 * opened from (a dynamic volume's: its first disk's), as fstat gives it.
 * -1 when there is none. */
int bdev_identity(const struct blockdev *bd, struct stat *st);

#endif
