/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the parser of the undo logs of NTFS updates, on arbitrary
 * bytes.  A log it accepts must encode back to the same bytes, and each of
 * its pages must lie inside the input.  When the input's first byte is odd,
 * its last 32 bytes are made the checksum of the rest first, so that the
 * mutations reach the pages. */
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "vol/undolog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1); /* a copy of its own: overreads are caught */
	memcpy(p, data, size);
	if (size >= 32 && (data[0] & 1)) {
		struct sha256_ctx c;
		sha256_init(&c);
		sha256_update(&c, size - 32, p);
		sha256_digest(&c, 32, p + size - 32);
	}
	struct undo_log u;
	if (!undo_parse(p, size, &u)) {
		for (size_t i = 0; i < u.npages; i++)
			if (u.pages[i].old < p || u.pages[i].old + u.pages[i].len > p + size)
				__builtin_trap();
		struct buf b = {0};
		undo_encode(&u, &b);
		if (b.len != size || memcmp(b.p, p, size) != 0)
			__builtin_trap();
		buf_free(&b);
		free(u.pages);
	}
	free(p);
	return 0;
}
