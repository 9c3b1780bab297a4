/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vol_impl: the inside of a struct vol and the table each kind of volume
 * fills in, for vol*.c only; everyone else has vol.h's functions. */
#ifndef NOBOUNCE_VOL_IMPL_H
#define NOBOUNCE_VOL_IMPL_H

#include "vol/vol.h"

struct vol_ops {
	/* Names in a directory, as stored. */
	int (*list)(struct vol *v, const char *dir, struct strlist *out, struct err *e);
	/* VOL_FILE, VOL_DIR or VOL_MISSING; -1 (with e set) for a link or a
	 * special file, which nobounce refuses to touch. */
	int (*kind)(struct vol *v, const char *path, struct err *e);
	int (*read)(struct vol *v, const char *path, size_t max, struct buf *out, struct err *e);
	int (*size)(struct vol *v, const char *path, uint64_t *size, struct err *e);
	/* Exactly len bytes at off, which must lie inside the file. */
	int (*read_at)(struct vol *v, const char *path, uint64_t off, void *p, size_t len,
		       struct err *e);
	/* Writes len bytes at off in place: the same file, its other bytes
	 * untouched.  Inside the file's length no allocation changes (on
	 * NTFS, only the file's own clusters are written). */
	int (*write_at)(struct vol *v, const char *path, uint64_t off, const void *p, size_t len,
			struct err *e);
	/* Sets a file's length; what it grows by reads as zeros. */
	int (*resize)(struct vol *v, const char *path, uint64_t len, struct err *e);
	/* Makes every write so far durable; with drop set, the next reads
	 * come from the disk, not from a cache that the writes filled. */
	int (*sync)(struct vol *v, int drop, struct err *e);
	/* Creates a new file (fails if it exists) with its content.  like,
	 * when set, is a file whose protection the new one takes (owner and
	 * mode, or on NTFS the security descriptor): a copy is as private as
	 * its original. */
	int (*create)(struct vol *v, const char *path, const void *p, size_t len, const char *like,
		      struct err *e);
	int (*remove)(struct vol *v, const char *path, struct err *e);
	/* How many names (hard links) a file has; NTFS's short 8.3 aliases
	 * are not counted. */
	int (*links)(struct vol *v, const char *path, struct err *e);
	/* Refuses a file whose bytes cannot be overwritten in place as they
	 * are (on NTFS: compressed, encrypted or sparse data). */
	int (*inplace)(struct vol *v, const char *path, struct err *e);
	/* Holds the volume against other nobounce runs until close. */
	int (*lock)(struct vol *v, int exclusive, struct err *e);
	void (*close)(struct vol *v);
};

struct vol {
	const struct vol_ops *ops;
	char *name;   /* the target as the user named it, for messages */
	int writable; /* 0 for check: every write is refused */
	/* Why this volume must not be written (hibernated, dirty), or NULL;
	 * fix and undo refuse the target, check reports it. */
	const char *refusal_kind;
	char *refusal;
	void *priv;
};

#endif
