/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ntfs_index: an NTFS directory index checked whole before libntfs-3g walks it: see
 * ntfs_index.h.  The layout: an index root (16 bytes) or an index block
 * ("INDX", update sequence, its VCN at 0x10) carries an index header
 * (entries offset, index length, allocated size, flags), whose entries each
 * have a length, a key length and flags; an entry with the node flag ends
 * with the VCN of the block that holds the names sorting before it, and the
 * entry with the end flag is the last. */
#include "vol/ntfs_index.h"
#include "lib/bytes.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY_NODE 1u
#define ENTRY_END 2u
#define SECTOR 512u

struct walk {
	size_t block, nblocks;
	unsigned vcn_bits;
	const uint8_t *bitmap;
	size_t bitmaplen;
	uint8_t *seen; /* one byte per block: pointed to already */
	size_t *todo, ntodo;
};

/* Queues the block that an entry points to; each block only once. */
static const char *point(struct walk *w, uint64_t vcn)
{
	if (vcn >> 62 || w->nblocks == 0)
		return "an index entry points to an index block the directory does not have";
	uint64_t off = vcn << w->vcn_bits;
	if (off % w->block || off / w->block >= w->nblocks)
		return "an index entry points outside the directory's index blocks";
	size_t i = (size_t)(off / w->block);
	if (w->bitmap && (i / 8 >= w->bitmaplen || !(w->bitmap[i / 8] >> (i % 8) & 1)))
		return "an index entry points to an index block that is not in use";
	if (w->seen[i])
		return "an index block is pointed to twice (the index loops)";
	w->seen[i] = 1;
	w->todo[w->ntodo++] = i;
	return NULL;
}

/* The entries under an index header at h, with avail bytes from h to the
 * end of its root or block. */
static const char *entries(struct walk *w, const uint8_t *h, size_t avail)
{
	if (avail < 16)
		return "an index header is cut short";
	uint32_t first = le32(h), end = le32(h + 4);
	if (first < 16 || first > end || end > avail || first % 8)
		return "an index header's entries lie outside it";
	for (size_t at = first;;) {
		if (end - at < 16)
			return "an index ends without its end entry";
		const uint8_t *ie = h + at;
		uint16_t len = le16(ie + 8), klen = le16(ie + 10), flags = le16(ie + 12);
		if (len < 16 || len % 8 || len > end - at)
			return "an index entry has a bad length";
		if (!(flags & ENTRY_END) && (size_t)klen + 16 > len)
			return "an index entry's name overruns it";
		if (flags & ENTRY_NODE) {
			if (len < 24 + ((flags & ENTRY_END) ? 0 : klen))
				return "an index entry is too short for the block it points to";
			const char *why = point(w, le64(ie + len - 8));
			if (why)
				return why;
		}
		if (flags & ENTRY_END)
			return NULL;
		at += len;
	}
}

/* Undoes a block's update sequence: the last two bytes of each sector
 * must hold the sequence number, and get back the bytes kept for them. */
static const char *fixup(uint8_t *b, size_t size)
{
	if (memcmp(b, "INDX", 4) != 0)
		return "an index block lacks its INDX signature";
	uint16_t uoff = le16(b + 4), ucount = le16(b + 6);
	if (ucount != size / SECTOR + 1 || uoff % 2 || uoff < 0x28 ||
	    (size_t)uoff + 2u * ucount > size)
		return "an index block has a bad update sequence array";
	for (size_t s = 1; s < ucount; s++) {
		uint8_t *end = b + s * SECTOR - 2;
		if (memcmp(end, b + uoff, 2) != 0)
			return "an index block was written torn (its update sequence does not "
			       "match)";
		memcpy(end, b + uoff + 2 * s, 2);
	}
	return NULL;
}

const char *ntfs_index_check(const uint8_t *root, size_t rootlen, uint8_t *alloc, size_t alloclen,
			     const uint8_t *bitmap, size_t bitmaplen, unsigned cluster_bits)
{
	if (rootlen < 32)
		return "the index root is cut short";
	uint32_t block = le32(root + 8);
	if (block < SECTOR || block > 65536 || (block & (block - 1)) || cluster_bits > 21)
		return "the index root gives a bad index block size";
	struct walk w = {
	    .block = block,
	    .nblocks = alloc ? alloclen / block : 0,
	    .vcn_bits = block >= (1u << cluster_bits) ? cluster_bits : 9,
	    .bitmap = bitmap,
	    .bitmaplen = bitmaplen,
	};
	w.seen = calloc(w.nblocks + 1, 1);
	w.todo = malloc((w.nblocks + 1) * sizeof *w.todo);
	const char *why =
	    !w.seen || !w.todo ? "out of memory" : entries(&w, root + 16, rootlen - 16);
	while (!why && w.ntodo) {
		size_t i = w.todo[--w.ntodo];
		uint8_t *b = alloc + i * block;
		why = fixup(b, block);
		if (!why && le64(b + 0x10) != ((uint64_t)i * block) >> w.vcn_bits)
			why = "an index block carries another block's VCN";
		if (!why)
			why = entries(&w, b + 0x18, block - 0x18);
	}
	free(w.seen);
	free(w.todo);
	return why;
}
