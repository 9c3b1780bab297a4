/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the judging of a journal found on a volume, on arbitrary
 * bytes.  A journal it trusts must have its index and every saved range
 * inside the input.  When the input's first byte is odd, the rest is taken
 * as an index, a NUL and saved pages, and a header with the right offsets
 * and checksums is put in front (the format of docs/journal.md), so that
 * the mutations reach the index's rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hex(const uint8_t *p, size_t n, char out[65])
{
	sha256_hex(p, n, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal j = {.run = 1};
	if (size && (data[0] & 1)) {
		const uint8_t *nul = memchr(data + 1, 0, size - 1);
		size_t ilen = nul ? (size_t)(nul - data - 1) : size - 1;
		size_t dlen = nul ? size - 2 - ilen : 0;
		size_t doff = (NB_PAGE + ilen + NB_PAGE - 1) / NB_PAGE * NB_PAGE;
		buf_alloc(&j.bytes, doff + dlen);
		memset(j.bytes.p, ' ', doff);
		memcpy(j.bytes.p + NB_PAGE, data + 1, ilen);
		if (dlen)
			memcpy(j.bytes.p + doff, nul + 1, dlen);
		char isha[65], dsha[65];
		hex(j.bytes.p + NB_PAGE, ilen, isha);
		hex(j.bytes.p + doff, dlen, dsha);
		snprintf((char *)j.bytes.p, JOURNAL_HEAD,
			 "nobounce journal 1\nstate: %-8s\nrun: 1\nindex: %u %zu sha256:%s\n"
			 "data: %zu %zu sha256:%s\n",
			 (data[0] & 2) ? "complete" : "applying", NB_PAGE, ilen, isha, doff, dlen,
			 dsha);
		j.bytes.p[strlen((char *)j.bytes.p)] = ' ';
	} else {
		buf_alloc(&j.bytes, size ? size : 1); /* a copy of its own: overreads are caught */
		j.bytes.len = size;
		memcpy(j.bytes.p, data, size);
	}
	struct install in = {.sysroot = "WINDOWS",
			     .system = "WINDOWS/system32/config/SYSTEM",
			     .software = "WINDOWS/system32/config/SOFTWARE",
			     .metabase = "WINDOWS/system32/inetsrv/MetaBase.xml"};
	journal_judge(&in, &j);
	if (j.index && !j.bad) {
		json_t *files = json_object_get(j.index, "files");
		for (size_t i = 0; i < json_array_size(files); i++) {
			json_t *rs = json_object_get(json_array_get(files, i), "ranges");
			for (size_t k = 0; k < json_array_size(rs); k++) {
				json_t *g = json_array_get(rs, k);
				uint64_t at = json_field_u64(g, "at"),
					 len = json_field_u64(g, "length");
				if (at > j.bytes.len || len > j.bytes.len - at)
					__builtin_trap();
			}
		}
	}
	free(j.bad);
	json_decref(j.index);
	buf_free(&j.bytes);
	return 0;
}
