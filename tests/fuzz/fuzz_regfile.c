/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the .reg parser, on arbitrary bytes (any of its encodings).
 * What it accepts must be sane: every operation names a key, every value
 * has a name and data of its stated length, and the line numbers lie in
 * the file. */
#include <stdlib.h>
#include <string.h>

#include "reg/regfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1); /* a copy of its own: overreads are caught */
	memcpy(p, data, size);
	struct regpatch rp;
	struct err e = {0};
	if (regfile_parse("fuzz.reg", p, size, &rp, &e) == 0) {
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += p[i] == '\n' || p[i] == '\r';
		for (size_t i = 0; i < rp.n; i++) {
			const struct regop *op = &rp.v[i];
			if (!op->key || op->line < 1 || op->line > lines)
				__builtin_trap();
			if (op->kind == REGOP_VALUE && (!op->name || (op->len && !op->data)))
				__builtin_trap();
			if (op->kind == REGOP_VALUE && op->len)
				(void)((volatile const uint8_t *)op->data)[op->len - 1];
		}
		regpatch_free(&rp);
	} else if (!e.msg || !strstr(e.msg, "fuzz.reg")) {
		__builtin_trap(); /* a refusal names the file */
	}
	err_clear(&e);
	free(p);
	return 0;
}
