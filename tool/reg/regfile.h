/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regfile: a .reg file, as Windows' regedit writes and reads it, parsed into
 * the operations it asks for.  Pure: bytes in, operations out, nothing
 * opened (an attacker may write the file: fuzz_regfile).
 *
 * Both headers: "Windows Registry Editor Version 5.00" (UTF-16LE with a
 * BOM, as regedit saves it, or UTF-8 with or without one) and "REGEDIT4"
 * (ANSI, taken as Windows-1252).  [KEY] and [-KEY]; "name"=... and @=...
 * with "string" (\" and \\ escaped), -, dword:, hex:, hex(N): for any type
 * number N, lines continued with a backslash; ; comments and blank lines. */
#ifndef NOBOUNCE_REGFILE_H
#define NOBOUNCE_REGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* No .reg file nobounce reads comes near this. */
#define REGFILE_MAX_BYTES ((size_t)64 << 20)

enum regroot { REGROOT_HKLM, REGROOT_HKCR, REGROOT_HKCU, REGROOT_HKU, REGROOT_HKCC };

enum regop_kind {
	REGOP_KEY,	    /* [KEY]: the key, and its parents, exist */
	REGOP_DELETE_KEY,   /* [-KEY]: the key and everything below it go */
	REGOP_VALUE,	    /* "name"=data: the value has this type and data */
	REGOP_DELETE_VALUE, /* "name"=-: the value goes */
};

struct regop {
	enum regop_kind kind;
	enum regroot root;
	char *key;     /* below the root, '\'-separated, UTF-8; "" for the root */
	char *name;    /* the value's name, UTF-8; "" for the default value (@) */
	uint32_t type; /* REG_SZ (1), REG_DWORD (4), ... as stored */
	uint8_t *data; /* as stored in a hive: strings UTF-16LE with their NUL */
	size_t len;
	unsigned line; /* where it is in its file, for messages */
};

struct regpatch {
	char *file; /* as named, for messages */
	struct regop *v;
	size_t n;
};

/* Parses a .reg file's bytes.  file names it in messages ("FILE line N:
 * ..."); a file nobounce cannot read exactly is refused whole (kind
 * bad-reg), never half applied. */
int regfile_parse(const char *file, const uint8_t *p, size_t len, struct regpatch *out,
		  struct err *e);
void regpatch_free(struct regpatch *rp);
/* A key as regedit names it ("HKEY_LOCAL_MACHINE\\SOFTWARE\\X", or with
 * HKLM, HKCR...): its root, and the path below it; -1 for no known root. */
int regfile_root(const char *key, enum regroot *root, const char **rest);
/* The root's name as regedit writes it ("HKEY_LOCAL_MACHINE"). */
const char *regroot_name(enum regroot r);

#endif
