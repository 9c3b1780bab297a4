/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regf: the layout of a registry hive file's base block, as the format
 * specification gives it, and its checksum: the one copy that hive.c,
 * hivelog.c and recover.c read. */
#ifndef NOBOUNCE_REGF_H
#define NOBOUNCE_REGF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"

/* The base block, and the unit hive bins are sized in. */
#define REGF_BLOCK 4096
/* Offsets in the base block. */
#define REGF_SEQ1 0x04	    /* primary sequence number */
#define REGF_SEQ2 0x08	    /* secondary: differs while a write is unfinished */
#define REGF_MAJOR 0x14	    /* format version, 1 */
#define REGF_MINOR 0x18	    /* 2 to 6 */
#define REGF_TYPE 0x1c	    /* 0 primary, 1, 2 or 6 a transaction log */
#define REGF_BINS_SIZE 0x28 /* the hive bins' length, a multiple of REGF_BLOCK */
#define REGF_CHECKSUM 0x1fc /* XOR of the 127 dwords before it */
/* A hive bin's header: "hbin", its offset, its size. */
#define HBIN_OFFSET 0x04
#define HBIN_SIZE 0x08

_Static_assert(REGF_CHECKSUM == 127 * 4, "the checksum follows the 127 dwords it covers");
_Static_assert(REGF_BINS_SIZE + 4 <= REGF_CHECKSUM, "the bins' size lies inside the checksum");
_Static_assert(REGF_CHECKSUM + 4 <= 512, "the checksummed part is the first sector");

/* The base block's checksum over its first 508 bytes, with the two values
 * Windows avoids (0 and 0xffffffff) mapped as it maps them. */
static inline uint32_t regf_checksum(const uint8_t *p)
{
	uint32_t x = 0;
	for (int i = 0; i < REGF_CHECKSUM / 4; i++)
		x ^= le32(p + 4 * i);
	if (x == 0xffffffffu)
		return 0xfffffffeu;
	return x ? x : 1;
}

#endif
