/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mft_scan: the clusters an MFT record claims, from its bytes alone. */
#ifndef NOBOUNCE_MFT_SCAN_H
#define NOBOUNCE_MFT_SCAN_H
#include <stddef.h>
#include <stdint.h>

/* The clusters one MFT record's non-resident attributes claim, read from
 * the record's bytes: its update sequence undone in place, each attribute
 * header and each mapping pair bounds-checked.  Calls run(ctx, lcn, count)
 * for every run that names clusters (not for sparse ones).  Returns 1 for a
 * record in use (and *base is its base record's number, or 0 when it is a
 * base record), 0 for one not in use or not a record at all (a free slot,
 * never written), or -1 for a record that is damaged: its signature is
 * there but its update sequence, attributes or runs are not sound.  Pure. */
int mft_record_runs(uint8_t *rec, size_t len, uint64_t *base,
		    void (*run)(void *ctx, int64_t lcn, int64_t count), void *ctx);

#endif
