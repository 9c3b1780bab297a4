/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regname: registry names: UTF-8 decoding and the order Windows keeps subkeys in
 * (names compared upper-cased, character by character).  Shared with the
 * fixture builder, which must write lists in the same order nobounce checks. */
#ifndef NOBOUNCE_REGNAME_H
#define NOBOUNCE_REGNAME_H

#include <stdint.h>

/* Decodes one code point and advances; an invalid byte is taken as Latin-1. */
uint32_t regname_next(const unsigned char **pp);
/* Windows' order: <0, 0 or >0, like strcmp. */
int regname_cmp(const char *a, const char *b);

#endif
