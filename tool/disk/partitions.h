/* SPDX-License-Identifier: GPL-2.0-or-later */
/* partitions: the NTFS volumes of a disk image (MBR with extended and
 * logical partitions, GPT, or a bare NTFS partition image).
 *
 * Parsed here rather than with libfdisk or libblkid: both need a file
 * descriptor, and a qcow2 or VMDK image is only reachable through libnbd
 * (there is no kernel nbd module here).  One parser over the blockdev serves
 * every format alike; tests/t-image.sh checks it against sfdisk's tables. */
#ifndef NOBOUNCE_PARTITIONS_H
#define NOBOUNCE_PARTITIONS_H

#include "disk/blockdev.h"

struct part {
	unsigned number;      /* 1-4 primary, 5+ logical (MBR); 1+ (GPT); 0: whole image */
	const char *scheme;   /* "mbr", "gpt" or "none" */
	uint64_t start, size; /* bytes */
	const char *note;     /* something the user should know of the table, or NULL */
};

/* Every partition that holds an NTFS file system.  A table pointing outside
 * the image is an error.  GPT copies are checked against their CRC32s (the
 * backup is used when only the primary is damaged); sectors are 512 bytes
 * or 4 KiB (a device says which; on an image, the table's layout does). */
int parts_find(struct blockdev *bd, struct part **out, size_t *n, struct err *e);

/* The first partition of a GPT (512-byte sectors) whose type GUID, in its
 * on-disk byte order, is type: 1 and its first and last LBA, 0 when there
 * is none (or no GPT), -1 on error. */
int parts_gpt_find(struct blockdev *bd, const uint8_t type[16], uint64_t *first, uint64_t *last,
		   struct err *e);

#endif
