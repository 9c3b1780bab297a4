/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regname: registry names, decoded and ordered as Windows orders them (see
 * regname.h). */
#include "reg/regname.h"

uint32_t regname_next(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t c = *p++;
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	if (c >= 0x80 && more) {
		uint32_t cp = c & (0x3fu >> more);
		int i;
		for (i = 0; i < more && (p[i] & 0xc0) == 0x80; i++)
			cp = (cp << 6) | (p[i] & 0x3f);
		if (i == more) {
			*pp = p + more;
			return cp;
		}
	}
	*pp = p;
	return c;
}

/* ASCII and Latin-1 letters; Windows' table covers more of Unicode, but
 * names outside Latin-1 do not occur on the keys nobounce creates. */
static uint32_t upcase(uint32_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7))
		return c - 0x20;
	return c;
}

int regname_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	while (*p && *q) {
		uint32_t x = upcase(regname_next(&p)), y = upcase(regname_next(&q));
		if (x != y)
			return x < y ? -1 : 1;
	}
	return (*p != 0) - (*q != 0);
}
