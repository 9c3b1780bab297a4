/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the MFT record reader (every record of a volume is read before
 * a file on it is written) on arbitrary bytes, as records of 1 KiB or the
 * input's own length.  Every run it reports names clusters at or after 0. */
#include <stdlib.h>
#include <string.h>

#include "vol/mft_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(void *ctx, int64_t lcn, int64_t count)
{
	(void)ctx;
	if (lcn < 0 || count <= 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size >= 1024 && size % 512 == 0 ? size : 1024;
	uint8_t *rec = calloc(1, len); /* a copy: the reader undoes fixups in place */
	memcpy(rec, data, size < len ? size : len);
	uint64_t base;
	mft_record_runs(rec, len, &base, run, NULL);
	free(rec);
	return 0;
}
