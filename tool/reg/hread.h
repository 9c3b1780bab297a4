/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hread: a hive read in place.
 *
 * A read-only reader of the registry format over bytes nobounce already
 * holds: nothing is copied (names and data are pointers into the bytes;
 * only big data split over segments is joined), no cell map is built up
 * front (a bin's cells are checked the first time one of them is asked
 * for), and every offset and length is checked against the bins before it
 * is followed.  It is not hivex: the planners, export and the verification
 * of every hive before it is written read with it, and hivex stays the
 * only writer, so what hivex wrote is checked by a reader that is not
 * hivex.  Pure: it reads nothing but the bytes given (a fuzzer calls it).
 *
 * Keys and values are named by their cell's offset in the bins, as the
 * hive names them (the root is never at 0, so 0 is "none"); an offset is
 * followed only when a cell begins there. */
#ifndef NOBOUNCE_HREAD_H
#define NOBOUNCE_HREAD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* Windows limits key nesting to 512 levels. */
#define HIVE_MAX_DEPTH 512

/* Checks a hive's base block (signature, checksum, sequence numbers,
 * version, type, bins' size).  name is used in messages. */
int hive_check_bytes(const char *name, const uint8_t *p, size_t len, struct err *e);

struct hread {
	const char *name; /* for messages */
	const uint8_t *p; /* the file */
	size_t end;	  /* where the bins end: base block + bins size, within the file */
	uint32_t root;	  /* the root key's cell */
	uint32_t minor;	  /* format version 1.minor */
	/* Filled as the reader goes, so a const hread still fills them:
	 * where the cells begin (a bit for each 8 bytes of the bins), set for
	 * a bin when its cells are first asked for and found to tile it; */
	uint8_t *starts;
	uint32_t *bin_of; /* for each 4 KiB of the bins, the offset of its bin */
	uint8_t *scanned; /* for each bin, by its first 4 KiB: cells unread, good, damaged */
};

/* A name as the hive stores it: Latin-1 bytes, or UTF-16LE (wide). */
struct hr_name {
	const uint8_t *p;
	size_t len; /* bytes */
	int wide;
};

struct hr_key {
	uint32_t off;
	struct hr_name name;
	uint32_t nsubkeys, subkeys; /* how many, and their list's cell */
	uint32_t nvalues, values;
	uint32_t security;	       /* the security record's cell */
	uint32_t class_off, class_len; /* the class name's cell and bytes (none: 0) */
};

struct hr_val {
	uint32_t off;
	struct hr_name name; /* empty: the default value */
	uint32_t type;
	uint32_t len;
	/* the data when it lies in one piece (in the record, or in one cell);
	 * NULL for big data, which hread_data joins */
	const uint8_t *data;
	uint32_t big; /* the big-data record's cell, or 0 */
};

/* Checks the base block (hive_check_bytes), every bin's header (each
 * where the one before ends, the bins tiling the hive) and the root key;
 * nothing copied.  The cells of a bin (each a multiple of 8 bytes, tiling
 * it exactly) are checked when one of them is first followed. */
int hread_open(struct hread *h, const char *name, const uint8_t *p, size_t len, struct err *e);
void hread_close(struct hread *h);
/* The cells of every bin, checked now: -1 at the first damaged one. */
int hread_check_bins(const struct hread *h, struct err *e);

int hread_key(const struct hread *h, uint32_t off, struct hr_key *k, struct err *e);
/* The subkeys' cells in the hive's order (fast leaf, hash leaf, index leaf,
 * or an index root of them); *out is the caller's to free. */
int hread_subkeys(const struct hread *h, const struct hr_key *k, uint32_t **out, size_t *n,
		  struct err *e);
/* The value list: k->nvalues cells, read with hread_value_at. */
int hread_values(const struct hread *h, const struct hr_key *k, const uint8_t **list,
		 struct err *e);
static inline uint32_t hread_value_at(const uint8_t *list, size_t i)
{
	const uint8_t *q = list + 4 * i;
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}
int hread_value(const struct hread *h, uint32_t off, struct hr_val *v, struct err *e);
/* The value's data: in place, or (big data) joined into *copy, which the
 * caller frees. */
int hread_data(const struct hread *h, const struct hr_val *v, const uint8_t **data, uint8_t **copy,
	       struct err *e);

/* A name compared with a UTF-8 one as Windows compares them: letter case
 * ignored (ASCII and Latin-1), without converting the stored name. */
int hread_name_eq(const struct hr_name *n, const char *utf8);
/* The name as UTF-8 (malloc'd); unpaired surrogates become U+FFFD. */
char *hread_name_utf8(const struct hr_name *n);
/* REG_SZ data (UTF-16LE, up to its first NUL) as UTF-8. */
char *hive_text(const uint8_t *p, size_t len);

/* The subkey of k named name, the key at a backslash-separated path below
 * from (0: the root), the value of k named name ("" the default); 0 when
 * there is none, or the bytes cannot be followed (then e says why). */
uint32_t hread_child(const struct hread *h, const struct hr_key *k, const char *name,
		     struct err *e);
uint32_t hread_path(const struct hread *h, uint32_t from, const char *path, struct err *e);
uint32_t hread_value_named(const struct hread *h, const struct hr_key *k, const char *name,
			   struct err *e);
/* A REG_SZ or REG_EXPAND_SZ value as UTF-8, or NULL. */
char *hread_string(const struct hread *h, uint32_t key, const char *name);

/* Whether key's subkeys are in the order Windows requires (names compared
 * upper-cased, regname_cmp); hivex inserts with strcasecmp, which differs
 * for _ [ ] ^ `.  verify-failed when not. */
int hread_ordered(const struct hread *h, uint32_t key, struct err *e);
/* Every bin's cells (hread_check_bins), then every key and value, every
 * cell followed (lists, names, security records, class names, data,
 * big-data segments), cycles and nesting deeper than HIVE_MAX_DEPTH
 * refused: 0, or -1 with damaged-hive and where. */
int hread_walk(const struct hread *h, struct err *e);

/* Whether word (lower-case ASCII letters and digits) appears, in any letter
 * case, as ASCII or UTF-16LE, inside a cell the hive uses -- not in the
 * free cells, where the keys an edit deleted stay.  Looks for its last two
 * characters 16 bytes at a time, and checks only the bins it lands in.  1
 * when it does, or when such a bin is damaged (then only hivex can tell);
 * 0 when not. */
int hread_mentions(const struct hread *h, const char *word);

#endif
