/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hive: registry hives through hivex, opened safely.
 *
 * A hive is read from the volume into memory, its base block is checked
 * (signature, checksum, sequence numbers, size) before hivex sees it, and
 * hivex works on a private in-memory copy (a memfd).  Nothing hivex does can
 * touch the volume: hivex_commit writes to another memfd, and the bytes it
 * produces go to the volume (txn.c) only after plan.c verified them. */
#ifndef NOBOUNCE_HIVE_H
#define NOBOUNCE_HIVE_H

#include <hivex.h>

#include "lib/util.h"
#include "reg/hread.h"
#include "vol/vol.h"

/* No real SYSTEM or SOFTWARE hive comes near this; a larger file is refused
 * before it is read (a sparse multi-gigabyte "hive" is an attack, not data).
 * It is the memory budget of one hive, too: a fix holds about four times a
 * hive's size at its peak. */
#define HIVE_MAX_BYTES ((size_t)512 << 20)

struct hive {
	char *path;   /* where it lies on the volume, for messages */
	size_t size;  /* bytes in the file */
	hive_h *h;    /* hivex on a private in-memory copy */
	int writable; /* whether h accepts edits (in memory only) */
};

/* Reads path from the volume and opens it.  writable lets the caller edit the
 * in-memory copy; the volume is never written here.  With sha set, the
 * SHA-256 of the bytes read is put there. */
struct hive *hive_load(struct vol *v, const char *path, int writable, char sha[65], struct err *e);
/* Opens bytes that are already in memory (the hive keeps a copy). */
struct hive *hive_open_bytes(const char *name, const struct buf *b, int writable, struct err *e);
void hive_free(struct hive *hv);

/* The node at a backslash-separated path below the root, matched
 * case-insensitively; 0 when some key is missing. */
hive_node_h hive_node(struct hive *hv, hive_node_h from, const char *path);

/* A REG_SZ/REG_EXPAND_SZ value as UTF-8, or NULL. */
char *hive_string(struct hive *hv, hive_node_h node, const char *name);

/* The edited hive as bytes (hivex_commit into memory). */
int hive_serialize(struct hive *hv, struct buf *out, struct err *e);
/* A primary file may hold padding or remnant data of any length after its
 * last hive bin.  When the bytes planned on (before) run past the new
 * bytes' end, the new bytes get before's bytes from there on: what the
 * bins do not grow into stays as it was. */
int hive_keep_remnant(const char *name, struct buf *after, const struct buf *before, struct err *e);


/* Formats a value for reports: "dword:00000001", "sz:text", "hex(N):..". */
char *hive_value_repr(struct hive *hv, hive_value_h val);
/* The same for a type and data as a hive stores them. */
char *hive_data_repr(uint32_t type, const uint8_t *data, size_t len);

#endif
