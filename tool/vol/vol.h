/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vol: the one door to files on a target.
 *
 * Every byte nobounce reads from or writes to a Windows volume passes through
 * here, so the safety rules live in one place: paths are resolved
 * case-insensitively one component at a time; links, junctions and special
 * files are refused, never followed; Windows' own files are rewritten in place
 * (same inode, owner, mode, and on NTFS the same security descriptor), and
 * only the byte ranges that change; files of our own (journals, copies) are
 * created exclusively and whole; and a volume opened for checking refuses
 * every write.
 *
 * Paths are relative to the volume root, '/'-separated, with no "." or "..".
 */
#ifndef NOBOUNCE_VOL_H
#define NOBOUNCE_VOL_H

#include "lib/util.h"

enum vol_kind { VOL_MISSING = 0, VOL_FILE = 1, VOL_DIR = 2 };

struct vol;

/* The name the target goes by in messages. */
const char *vol_name(const struct vol *v);
/* 0 for check: every write is refused. */
int vol_writable(const struct vol *v);
/* Why this volume must not be written (hibernated, dirty, half a mirror),
 * or NULL; fix and undo refuse the target, check reports it.  The kind is
 * the error kind for JSON. */
const char *vol_refusal(const struct vol *v);
const char *vol_refusal_kind(const struct vol *v);
/* Refuses the volume for writing (why is the volume's to free); a refusal
 * already made (hibernated, dirty) is said first and stays. */
void vol_refuse(struct vol *v, const char *kind, char *why);

/* Opens a directory that is the root of a mounted Windows volume. */
struct vol *vol_open_dir(const char *path, int writable, struct err *e);

struct blockdev;
/* Mounts the NTFS volume at [off, off+size) of bd in this process. */
struct vol *vol_open_ntfs(struct blockdev *bd, uint64_t off, uint64_t size, const char *name,
			  int writable, struct err *e);
void vol_close(struct vol *v);
/* Byte ranges of a volume. */
struct vol_range {
	uint64_t off, len;
};
struct vol_ranges {
	struct vol_range *v;
	size_t n;
};
/* Where an NTFS volume keeps what any file operation writes: $MFT (with its
 * record bitmap), $MFTMirr, $LogFile, $Bitmap, $Boot, and the indexes of the
 * directories dirs.  Everything nobounce makes libntfs-3g write lies there
 * or in the data of the files it writes; the halves of a mirror are
 * compared there.  out->v is the caller's to free. */
int vol_ntfs_metadata(struct vol *v, const struct strlist *dirs, struct vol_ranges *out,
		      struct err *e);

/* Finds path case-insensitively.  Returns 1 and the path as stored on the
 * volume in *real, 0 when some component does not exist, -1 on error (a link,
 * a special file, or two names that differ only in case). */
int vol_resolve(struct vol *v, const char *path, char **real, int *kind, struct err *e);

int vol_read(struct vol *v, const char *path, size_t max, struct buf *out, struct err *e);
int vol_size(struct vol *v, const char *path, uint64_t *size, struct err *e);
int vol_read_at(struct vol *v, const char *path, uint64_t off, void *p, size_t len, struct err *e);
/* Writes to one of Windows' files in place.  A file with more than one name
 * is refused: the other names may lie outside the volume (a hard link on
 * the host), and in place means the change would reach them too. */
int vol_write_at(struct vol *v, const char *path, uint64_t off, const void *p, size_t len,
		 struct err *e);
int vol_resize(struct vol *v, const char *path, uint64_t len, struct err *e);
int vol_sync(struct vol *v, int drop, struct err *e);
/* Refuses a file that vol_write_at would refuse (several names, data that
 * cannot be written in place); planning asks this of every file before the
 * first write. */
int vol_check_inplace(struct vol *v, const char *path, struct err *e);
int vol_create(struct vol *v, const char *path, const void *p, size_t len, const char *like,
	       struct err *e);
int vol_remove(struct vol *v, const char *path, struct err *e);
int vol_list(struct vol *v, const char *dir, struct strlist *out, struct err *e);
int vol_kind(struct vol *v, const char *path, struct err *e);

/* Takes the volume's lock (shared, or exclusive to write). */
int vol_lock(struct vol *v, int exclusive, struct err *e);

#endif
