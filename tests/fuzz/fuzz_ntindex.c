/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the NTFS directory index check on arbitrary bytes.  The input:
 * one byte (the volume's cluster size as a power of two, low five bits),
 * four bytes (the index root's length, little-endian), the index root, then
 * the index allocation. */
#include <stdlib.h>
#include <string.h>

#include "vol/ntfs_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	unsigned bits = data[0] & 31u;
	size_t rootlen =
	    (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
	if (rootlen > size - 5)
		rootlen = size - 5;
	size_t alloclen = size - 5 - rootlen;
	/* copies of their own, so that reading past either is caught */
	uint8_t *root = malloc(rootlen ? rootlen : 1);
	uint8_t *alloc = alloclen ? malloc(alloclen) : NULL;
	memcpy(root, data + 5, rootlen);
	if (alloc)
		memcpy(alloc, data + 5 + rootlen, alloclen);
	uint8_t all[64];
	memset(all, 0xff, sizeof all);
	const char *why = ntfs_index_check(root, rootlen, alloc, alloclen,
					   data[0] & 0x80 ? all : NULL, sizeof all, bits);
	if (why && !*why)
		__builtin_trap(); /* a refusal always says why */
	free(root);
	free(alloc);
	return 0;
}
