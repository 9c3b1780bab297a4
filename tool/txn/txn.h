/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn: the one transaction that writes a fix to a volume, and undoes it.
 *
 * A fix writes only the 4 KiB pages of each file that change (and what a
 * file grows or shrinks by).  Before the first of them, it saves the
 * original bytes of exactly those pages, with each file's original length
 * and SHA-256, in a journal on the volume (<sysroot>/nobounce-N.journal,
 * format in docs/journal.md), made durable and read back.  Then it writes,
 * reads back what it wrote from the disk, and marks the journal complete.
 *
 * Undo writes the saved pages back, restores the lengths, and checks every
 * file's whole-file hash; it writes only when the result, worked out in
 * memory first, is exactly the original.  A run killed at any moment leaves
 * a journal that says how far it got: the next fix rolls it back and redoes
 * it, the next undo rolls it back.
 *
 * On NTFS, creating and removing the journal and changing a file's length
 * are the only metadata operations, and each reaches the disk as one burst
 * of writes (ntfs_dev.c). */
#ifndef NOBOUNCE_TXN_H
#define NOBOUNCE_TXN_H

#include <jansson.h>

#include "fix/install.h"
#include "fix/plan.h"
#include "txn/journal.h"

struct txn_opts {
	int copies;	      /* --backup: also a full copy of each original */
	const char *copy_dir; /* --backup-dir: those copies on this host, here */
	const char *copy_tag; /* names this target's copies there */
	int force;	      /* undo over later changes, from the full copies */
};

/* Writes the planned edits as run number run.  On failure after the first
 * write to Windows' files, every file is put back before returning. */
int txn_apply(struct vol *v, const struct install *in, int run, const struct txn_opts *to,
	      const struct fixctx *cx, struct outcome *o, struct err *e);
/* Puts the files of an unfinished run back as they were, then drops its
 * journal. */
int txn_rollback(struct vol *v, struct journal *j, struct err *e);
/* Undoes a complete run: its files must be as it left them (or, with
 * force, are restored from its full copies). */
int txn_undo(struct vol *v, struct journal *j, const struct txn_opts *to, struct outcome *o,
	     struct err *e);
/* Drops a complete run's journal and the copies on the volume: the run can
 * no longer be undone (nobounce commit). */
int txn_drop(struct vol *v, struct journal *j, const struct txn_opts *to, struct err *e);

#endif
