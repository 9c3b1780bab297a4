/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the transaction-log parser.  The input's first two bytes split
 * it into a primary hive and a log; the log is tried as old format and as new
 * format (its own header decides), and a recovered hive must open. */
#include "reg/hive.h"
#include "reg/hivelog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t cut = ((size_t)data[0] << 8 | data[1]) * 64;
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;
	struct buf primary = {.p = (uint8_t *)data, .len = cut};
	struct hivelog logs[2] = {{"LOG1", {.p = (uint8_t *)data + cut, .len = size - cut}},
				  {"LOG2", {.p = (uint8_t *)data + cut, .len = (size - cut) / 2}}};
	struct buf out = {0};
	struct strlist applied = {0};
	struct err e = {0};
	if (hivelog_recover("fuzz", &primary, logs, 2, &out, &applied, &e) == 0) {
		struct hive *hv = hive_open_bytes("recovered", &out, 0, &e);
		hive_free(hv);
	}
	err_clear(&e);
	buf_free(&out);
	strlist_free(&applied);
	return 0;
}
