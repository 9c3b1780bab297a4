/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: arbitrary hive bytes through nobounce's own reader: open, the
 * whole walk, every name and value of the keys it reaches, path lookups. */
#include "reg/hread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void visit(const struct hread *h, uint32_t off, int depth)
{
	struct err e = {0};
	struct hr_key k;
	const uint8_t *list;
	if (depth > 64 || hread_key(h, off, &k, &e) == -1 || hread_values(h, &k, &list, &e) == -1)
		goto out;
	free(hread_name_utf8(&k.name));
	(void)hread_name_eq(&k.name, "Select");
	for (uint32_t i = 0; i < k.nvalues && i < 256; i++) {
		struct hr_val v;
		const uint8_t *d;
		uint8_t *copy;
		if (hread_value(h, hread_value_at(list, i), &v, &e) == -1 ||
		    hread_data(h, &v, &d, &copy, &e) == -1)
			goto out;
		free(hread_name_utf8(&v.name));
		free(copy);
	}
	free(hread_string(h, off, ""));
	uint32_t *subs;
	size_t n;
	if (hread_subkeys(h, &k, &subs, &n, &e) == 0) {
		for (size_t i = 0; i < n && i < 64; i++)
			visit(h, subs[i], depth + 1);
		free(subs);
	}
out:
	err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hread h;
	struct err e = {0};
	if (hread_open(&h, "fuzz", data, size, &e) == 0) {
		/* first, while the bins are unread: it checks the ones it lands in */
		(void)hread_mentions(&h, "peexch50");
		if (hread_walk(&h, &e) == -1)
			err_clear(&e);
		visit(&h, h.root, 0);
		(void)hread_path(&h, 0, "Select\\Current", &e);
		err_clear(&e);
		hread_close(&h);
	}
	err_clear(&e);
	return 0;
}
