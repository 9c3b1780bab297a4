/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: arbitrary hive bytes through the base-block checks, hivex, both
 * hive planners (read in place, their changes made in hivex's in-memory
 * copy), our full walk, and serialisation. */
#include "fix/fixes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf in = {.p = (uint8_t *)data, .len = size};
	struct err e = {0};
	struct hive *hv = hive_open_bytes("fuzz", &in, 1, &e);
	if (hv) {
		struct fixctx cx = {0};
		struct changes ch = {0};
		struct hread rd;
		if (hread_open(&rd, "fuzz", data, size, &e) == 0) {
			if (fix_system_plan(&rd, &cx, &ch, &e) == 0)
				fix_system_apply(hv, &rd, &ch, &e);
			err_clear(&e);
			struct changes com = {0};
			if (fix_com_plan(&rd, &cx, &com, &e) == 0)
				fix_com_apply(hv, &rd, &com, &e);
			changes_free(&com);
			err_clear(&e);
			hread_walk(&rd, &e);
			hread_close(&rd);
		}
		err_clear(&e);
		struct buf out = {0};
		if (ch.n && hive_serialize(hv, &out, &e) == 0)
			buf_free(&out);
		changes_free(&ch);
		fixctx_free(&cx);
		hive_free(hv);
	}
	err_clear(&e);
	return 0;
}
