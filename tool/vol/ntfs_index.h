/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ntfs_index: an NTFS directory index checked whole, from its bytes. */
#ifndef NOBOUNCE_NTFS_INDEX_H
#define NOBOUNCE_NTFS_INDEX_H
#include <stddef.h>
#include <stdint.h>

/* Whether a directory's index ($I30) is a tree that a lookup can walk and
 * stop: every index block that an entry points to lies inside the index
 * allocation, is in use, carries its own VCN and sound update sequences, and
 * is pointed to once (a block reached twice is a loop, and libntfs-3g's
 * name lookup would descend it forever).
 *
 * root is the $INDEX_ROOT value, alloc the $INDEX_ALLOCATION data (its
 * update sequences are undone in place, block by block; NULL when there is
 * none), bitmap the index's $BITMAP (NULL: not checked).  Pure: reads only
 * the bytes given, each offset checked.  Returns NULL when sound, or what is
 * wrong in a few words. */
const char *ntfs_index_check(const uint8_t *root, size_t rootlen, uint8_t *alloc, size_t alloclen,
			     const uint8_t *bitmap, size_t bitmaplen, unsigned cluster_bits);

#endif
