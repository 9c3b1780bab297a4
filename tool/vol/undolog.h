/* SPDX-License-Identifier: GPL-2.0-or-later */
/* undolog: the undo log of an NTFS metadata update, kept in the host's
 * state directory. */
#ifndef NOBOUNCE_UNDOLOG_H
#define NOBOUNCE_UNDOLOG_H
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* The undo log of one NTFS metadata update: the bytes of every page the
 * update will write, as they were before it and as they will be after.  Written and made durable on
 * the host before the first of those writes reaches the volume, removed once they all have; a log
 * found at the next run means the update was cut short (a power cut, a crash), and putting the old
 * pages back returns the volume to the moment before it, torn sectors included.  It lives in a
 * state directory of the host, not in the volume: NTFS cannot be read until it is put back.
 *
 * The file: "NBUNDO01", the partition's offset on its disk (8 bytes), the
 * volume's serial number (8), the page count (4), 4 zero bytes; for each
 * page its offset in the partition (8), length (4), 4 zero bytes, its old
 * bytes, its new bytes; then the SHA-256 of everything before.
 * Little-endian. */

#define UNDO_MAGIC "NBUNDO01"
#define UNDO_PAGE_MAX 65536u

struct undo_page {
	uint64_t off;
	uint32_t len;
	const uint8_t *old, *new; /* len bytes each */
};

struct undo_log {
	uint64_t part_off, serial;
	struct undo_page *pages;
	size_t npages;
};

/* The log as bytes, in a buffer of its own. */
void undo_encode(const struct undo_log *u, struct buf *out);

/* Reads a log from bytes (pure: only the bytes given, each length checked;
 * the pages point into them).  NULL when sound, else what is wrong. */
const char *undo_parse(const uint8_t *p, size_t len, struct undo_log *u);

/* The state directory: $NOBOUNCE_STATE_DIR, else /var/lib/nobounce for
 * root, else $XDG_STATE_HOME/nobounce or ~/.local/state/nobounce; made
 * (0700) when missing if create is set.  An O_PATH|O_DIRECTORY descriptor,
 * or -1 with e set. */
int undo_dir(char **path, int create, struct err *e);

/* Writes name in dir whole (exclusive create, 0600), syncs it and the
 * directory. */
int undo_store(int dir, const char *dirpath, const char *name, const struct buf *b, struct err *e);

/* Reads name from dir: 1 and its bytes, 0 when there is none. */
int undo_load(int dir, const char *dirpath, const char *name, struct buf *b, struct err *e);

/* Removes name from dir and syncs the directory. */
int undo_drop(int dir, const char *dirpath, const char *name, struct err *e);

#endif
