/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the metabase locator and splicer on arbitrary bytes.  With the
 * fixture's PEEXCH50 classes in the context, every input is planned and, when
 * something would be removed, spliced and re-parsed (fix_metabase_plan checks
 * its own result; a mismatch is an error, not a crash). */
#include "fix/fixes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fixctx cx;
	if (!cx.sink_classes.n) {
		fixctx_add_class(&cx, "Exchange.XExch50Sink.1");
		fixctx_add_class(&cx, "{A1B2C3D4-0003-4E58-8535-304558434835}");
	}
	struct buf in = {.p = xmalloc(size ? size : 1), .len = size};
	memcpy(in.p, data, size);
	struct changes ch = {0};
	struct buf out = {0};
	struct err e = {0};
	if (fix_metabase_plan("MetaBase.xml", &in, &cx, &ch, &out, &e) == 0 && ch.n) {
		/* the result, planned again, holds nothing more to remove */
		struct changes again = {0};
		if (fix_metabase_plan("again", &out, &cx, &again, NULL, &e) == 0 && again.n)
			__builtin_trap();
		changes_free(&again);
	}
	changes_free(&ch);
	buf_free(&out);
	buf_free(&in);
	err_clear(&e);
	return 0;
}
