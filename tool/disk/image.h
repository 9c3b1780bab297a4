/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image: the files a disk image refers to, judged before qemu opens any.
 *
 * A qcow2 names a backing file and maybe an external data file, a VMDK
 * descriptor names its extents and a parent, a VHD or VHDX may be a
 * differencing disk.  Each is an image author's way to make nobounce -- run
 * as root -- read or write some other file on the host.  So nobounce reads
 * those names itself (never letting qemu-img or qemu-nbd follow them),
 * applies the rules below, opens every file it allows itself -- once, from
 * the directory descriptor of the file that names it -- and gives qemu-nbd
 * the whole graph explicitly: each file by a descriptor it inherits, every
 * backing link spelled out or null, a VMDK's descriptor as a private copy
 * that names its extents by those descriptors.  qemu-nbd then runs as the
 * image's owner, under a Landlock rule set that lets it open those files
 * and nothing else (sandbox.c), and what it holds open once it serves is
 * checked against them (nbd.c).  The rules (docs/safety.md, "What an
 * image may make nobounce open"):
 *
 *  - written: only the image named on the command line and, for a VMDK's
 *    extents or a qcow2's data file, regular files in that image's own
 *    directory, with one link, owned by the image's owner and writable by
 *    their mode;
 *  - read only: backing files (and their own extents or data files), and
 *    only when the owner of the top image can open them for reading (they
 *    are opened with that owner's identity) and, for a fix, everyone who may
 *    read what the fix writes may read them too;
 *  - a format that was detected (no --format) and that refers to another
 *    file is trusted only when the file's name says that format;
 *  - differencing VHD/VHDX disks are refused: qemu cannot read them with
 *    their parent. */
#ifndef NOBOUNCE_IMAGE_H
#define NOBOUNCE_IMAGE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "lib/util.h"

/* A chain of backing files longer than this is refused (a loop, or an
 * attack on memory). */
#define IMAGE_MAX_CHAIN 16
/* Descriptors handed to qemu-nbd are numbered from here up: below it are
 * its standard streams and its listening socket (3). */
#define IMAGE_FD_MIN 10

struct imgfile {
	char *path; /* as the image names it, resolved: for messages */
	/* "image", "data file", "extent", "backing file", or "descriptor": the
	 * private copy of a VMDK's descriptor that qemu reads */
	const char *role;
	int fd; /* opened here; qemu-nbd inherits it */
	int writable;
	struct stat st; /* of fd */
};

struct imgchain {
	struct imgfile *v;
	size_t n;
	char *qemu; /* "json:{...}": the graph for qemu-nbd */
	/* the top image's owner, whom qemu-nbd runs as */
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups;
};

/* Judges the image open on fd (named name, found in the directory dirfd
 * or, for -1, the working directory; format given by --format, or detected
 * when probed is set) and every file it refers to.  On success c holds each
 * file to hand to qemu-nbd (c->v[0] is the image itself, opened anew so
 * that it shares no lock with fd) and the graph.  Opens nothing for
 * writing unless writable. */
int image_chain(const char *name, int fd, int dirfd, const char *format, int probed, int writable,
		struct imgchain *c, struct err *e);
void image_chain_free(struct imgchain *c);

#endif
