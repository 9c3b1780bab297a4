/* SPDX-License-Identifier: GPL-2.0-or-later */
/* blockdev_impl: the inside of a struct blockdev, for blockdev.c and nbd.c
 * only; everyone else has blockdev.h's functions. */
#ifndef NOBOUNCE_BLOCKDEV_IMPL_H
#define NOBOUNCE_BLOCKDEV_IMPL_H

#include "disk/blockdev.h"

struct nbd_handle;

struct blockdev {
	char *name;    /* as the user named it, for messages */
	char *format;  /* "raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi" */
	uint64_t size; /* bytes the guest sees */
	int writable;
	int fd;			/* the image file or device */
	int dirfd;		/* its directory (O_PATH), where the names it holds are
				 * looked up; -1 for none */
	struct nbd_handle *nbd; /* for non-raw formats */
	uint64_t align;		/* the export's minimum block size (1: any) */
	pid_t server;		/* qemu-nbd, or 0 */
	struct stat *judged;	/* the files qemu-nbd may hold open */
	size_t njudged;
	/* A dynamic disk's volume: the legs that each hold all of it (one for
	 * a simple volume, two or more for a mirror), or NULL. */
	struct bdev_leg *legs;
	size_t nlegs;
	uint64_t written; /* bytes written so far (a mirror: on each disk) */
	char *uri;	  /* an NBD export named by its URI: where it is, or NULL */
};

/* nbd.c: judges the image and everything it names, then starts a confined
 * qemu-nbd on it and connects (probed: the format was detected, not
 * given); stops it; reads or writes through it. */
int nbdsrv_start(struct blockdev *bd, int probed, struct err *e);
void nbdsrv_stop(struct blockdev *bd);
int nbdsrv_io(struct blockdev *bd, void *p, size_t len, uint64_t off, int write, struct err *e);

#endif
