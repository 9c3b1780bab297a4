/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostfile: a file of the host named on the command line, opened once.
 *
 * nobounce runs as root on names other people chose.  A name is looked up
 * once, one component at a time, from pinned directory descriptors; every
 * judgement is then made on the descriptor held (fstat, its bytes, the
 * kernel's answers about it), and nothing is looked up by that name again.
 * So swapping a component for a link, or the file for another, between a
 * check and a use changes nothing: there is no second use of the name.
 *
 *  - A symbolic link on the way is followed only when root or the owner of
 *    the file it leads to made it (as Linux's protected_symlinks does in
 *    sticky directories): another user's link to someone's image, or to a
 *    mounted device, is refused.
 *  - Only a regular file or a block device is opened (a FIFO or a tape
 *    swapped in is never opened for I/O), a block device with O_EXCL.
 *  - In use is proved where the kernel can prove it: a block device held by
 *    a mount or another exclusive opener fails O_EXCL; a regular file is
 *    refused when a loop device is backed by that inode (LOOP_GET_STATUS64,
 *    or the backing file's name read whole from sysfs), when a mount names
 *    it as its source (an ntfs-3g FUSE mount of an image), and when the
 *    kernel will not grant a lease on it (F_SETLEASE: granted only when no
 *    other process has the file open -- a virtual machine, a FUSE driver);
 *  - a regular file to be written must have exactly one name. */
#ifndef NOBOUNCE_HOSTFILE_H
#define NOBOUNCE_HOSTFILE_H

#include <sys/stat.h>

#include "lib/util.h"

/* Symbolic links followed in one lookup, as Linux allows. */
#define HOST_MAX_LINKS 40

struct hostfile {
	int fd;		/* the file, open for reading (and writing when asked) */
	int dirfd;	/* the directory it was found in (O_PATH) */
	struct stat st; /* of fd */
};

/* Opens name (relative to dirfd, or to the working directory when dirfd is
 * AT_FDCWD) by the rules above, without the in-use checks; flags are
 * O_RDONLY or O_RDWR.  Only regular files and block devices. */
int host_open(int dirfd, const char *name, int flags, struct hostfile *hf, struct err *e);

/* host_open, then every in-use check above: for a target of nobounce. */
int host_open_target(const char *name, int writable, struct hostfile *hf, struct err *e);

void host_close(struct hostfile *hf);

/* The loop device (as "/dev/loopN") whose backing file is the inode st
 * names, or NULL. */
char *host_loop_of(const struct stat *st);
/* The mount point of a mount whose source is that inode, or NULL. */
char *host_mount_of(const struct stat *st);

#endif
