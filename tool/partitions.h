/* partitions: the NTFS volumes of a disk image (MBR with extended and
 * logical partitions, GPT, or a bare NTFS partition image).
 *
 * Parsed here rather than with libfdisk or libblkid: both need a file
 * descriptor, and a qcow2 or VMDK image is only reachable through libnbd
 * (there is no kernel nbd module here).  One parser over the blockdev serves
 * every format alike; tests/t-image.sh checks it against sfdisk's tables. */
#ifndef NOBOUNCE_PARTITIONS_H
#define NOBOUNCE_PARTITIONS_H

#include "blockdev.h"

struct part {
	unsigned number;      /* 1-4 primary, 5+ logical (MBR); 1+ (GPT); 0: whole image */
	const char *scheme;   /* "mbr", "gpt" or "none" */
	uint64_t start, size; /* bytes */
};

/* Every partition that holds an NTFS file system.  A table pointing outside
 * the image is an error. */
int parts_find(struct blockdev *bd, struct part **out, size_t *n, struct err *e);

#endif
