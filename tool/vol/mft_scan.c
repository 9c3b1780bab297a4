/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mft_scan: the clusters an MFT record claims (mft_scan.h).  The layout: "FILE", the
 * update sequence's offset and count, the offset of the first attribute at
 * 0x14, the flags at 0x16 (1: in use), the base record at 0x20.  Each
 * attribute: type (0xffffffff ends the list), length, and at 8 the
 * non-resident flag; a non-resident one has its mapping pairs' offset at
 * 0x20.  A mapping pair: a header byte whose low four bits give the size of
 * the run's length and whose high four bits give the size of its offset
 * from the previous run's cluster (signed; none: a sparse run). */
#include "vol/mft_scan.h"

#include <string.h>

static uint32_t le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Decodes mapping pairs from p to end. */
static int runs(const uint8_t *p, const uint8_t *end,
		void (*run)(void *ctx, int64_t lcn, int64_t count), void *ctx)
{
	int64_t lcn = 0;
	while (p < end && *p) {
		unsigned lb = *p & 0x0f, ob = *p >> 4;
		if (lb == 0 || lb > 8 || ob > 8 || (size_t)(end - p) < 1u + lb + ob)
			return -1;
		uint64_t n = 0;
		for (unsigned i = lb; i-- > 0;)
			n = n << 8 | p[1 + i];
		if (n == 0 || n >> 62)
			return -1;
		if (ob) {
			uint64_t o = 0;
			for (unsigned i = ob; i-- > 0;)
				o = o << 8 | p[1 + lb + i];
			if (ob < 8 && (o >> (8 * ob - 1)) & 1) /* negative: sign-extend */
				o |= ~(uint64_t)0 << (8 * ob);
			int64_t d = (int64_t)o;
			if ((d > 0 && lcn > INT64_MAX - d) || (d < 0 && lcn < INT64_MIN - d))
				return -1;
			lcn += d;
			if (lcn < 0)
				return -1;
			run(ctx, lcn, (int64_t)n);
		}
		p += 1 + lb + ob;
	}
	return 0;
}

int mft_record_runs(uint8_t *rec, size_t len, uint64_t *base,
		    void (*run)(void *ctx, int64_t lcn, int64_t count), void *ctx)
{
	*base = 0;
	if (len < 512 || len % 512 || memcmp(rec, "FILE", 4) != 0)
		return 0;
	uint32_t uoff = le(rec + 4, 2), ucount = le(rec + 6, 2);
	if (ucount != len / 512 + 1 || uoff % 2 || uoff < 0x2a || uoff + 2 * ucount > len)
		return -1;
	for (uint32_t s = 1; s < ucount; s++) {
		uint8_t *e = rec + s * 512 - 2;
		if (memcmp(e, rec + uoff, 2) != 0)
			return -1; /* torn */
		memcpy(e, rec + uoff + 2 * s, 2);
	}
	if (!(le(rec + 0x16, 2) & 1))
		return 0;
	*base = (uint64_t)le(rec + 0x20, 4) | (uint64_t)le(rec + 0x24, 2) << 32;
	for (size_t at = le(rec + 0x14, 2);;) {
		if (at > len - 4 || at % 8)
			return -1;
		uint32_t type = le(rec + at, 4);
		if (type == 0xffffffffu)
			return 1;
		if (len - at < 0x18)
			return -1;
		uint32_t alen = le(rec + at + 4, 4);
		if (alen < 0x18 || alen % 8 || alen > len - at)
			return -1;
		if (rec[at + 8]) {
			if (alen < 0x40)
				return -1;
			uint32_t mp = le(rec + at + 0x20, 2);
			if (mp < 0x40 || mp > alen)
				return -1;
			if (runs(rec + at + mp, rec + at + alen, run, ctx) == -1)
				return -1;
		}
		at += alen;
	}
}
