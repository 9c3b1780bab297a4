/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ntfs_dev: the device libntfs-3g reads and writes, for vol_ntfs.c only.
 *
 * libntfs-3g has no offset option, so it gets a device of our own whose
 * reads and writes go to the partition's byte range of a blockdev.  While
 * one of the door's operations runs, its writes are held in memory (reads
 * see them) and reach the disk together when it ends, a metadata update
 * under an undo log first (undolog.h). */
#ifndef NOBOUNCE_NTFS_DEV_H
#define NOBOUNCE_NTFS_DEV_H

#include <ntfs-3g/types.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/volume.h>

#include "disk/blockdev.h"
#include "lib/util.h"

/* A held page: 4 KiB of the partition as libntfs-3g last wrote it. */
struct held {
	uint64_t off; /* in the partition, a multiple of NB_PAGE */
	uint8_t *p;
};

struct ntvol {
	struct blockdev *bd;
	uint64_t off, size; /* the partition's byte range in bd */
	s64 pos;	    /* for the seek/read/write device calls */
	ntfs_volume *vol;
	/* While an operation runs, its writes are held here (sorted by
	 * offset) and reach the disk together when it ends: see burst_end. */
	int holding;
	struct held *held;
	size_t nheld;
	/* the directories whose index was found sound (dir_sound), by MFT
	 * record number */
	u64 *sound;
	size_t nsound;
	/* the regular files opened so far, by MFT record number */
	u64 *files;
	size_t nfiles;
	/* the whole MFT read once (mft_scan): each opened file that another
	 * record cross-links, and that record; scanned: done */
	size_t scanned; /* nfiles when it was read, + 1 */
	u64 (*crossed)[2];
	size_t ncrossed;
	/* The undo log of each metadata update (undolog.h): the state
	 * directory (-1: none, the update goes unlogged) and the log's name
	 * for this volume.  plain: the burst being ended writes only clusters
	 * a file already owns (the page journal covers those). */
	int udir;
	char *udirpath, *uname;
	uint64_t serial;
	int plain;
	/* the reads one door operation may still make (0: no operation is
	 * under way, no limit), and whether one ran out (read_budget) */
	uint64_t budget, spent;
	int overrun;
	/* what the disk said when a device call last failed in this operation
	 * (libntfs-3g only ever sees EIO), or NULL */
	char *dev_err;
	/* a read-only run's view of pages an undo log puts back */
	struct held *preset;
	size_t npreset;
};

/* The device's calls; d_private is the struct ntvol. */
extern struct ntfs_device_operations ntfs_dev_ops;

/* Keeps the disk's message of a failed device call in nt->dev_err. */
void dev_failed(struct ntvol *nt, struct err *e);

/* The bytes of the held page at off: NB_PAGE, less at the partition's end. */
size_t held_len(struct ntvol *nt, uint64_t off);
/* Starts holding writes (operations nest); burst_end writes what the
 * outermost one left, contiguous pages in one write each. */
void burst_begin(struct ntvol *nt);
int burst_end(struct ntvol *nt, struct err *e);

#endif
