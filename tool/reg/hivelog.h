/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hivelog: transaction-log recovery of a dirty hive, as Windows does it when
 * it loads the hive (the "Windows registry file format specification",
 * msuhanov/regf: old format .LOG with a dirty vector, new format .LOG1/.LOG2
 * with HvLE entries checked by Marvin32 hashes).
 *
 * Every input is untrusted: sizes and offsets are checked before use, and
 * a log that is truncated, has a bad hash, or whose entries are out of
 * sequence is refused with the reason, never half applied. */
#ifndef NOBOUNCE_HIVELOG_H
#define NOBOUNCE_HIVELOG_H

#include "lib/util.h"

/* A log file beside the hive: its name (for messages) and its bytes. */
struct hivelog {
	const char *name;
	struct buf data;
};

/* Whether a primary hive's base block says it is dirty (sequence numbers
 * differ, or a bad checksum). */
int hivelog_is_dirty(const uint8_t *p, size_t len);

/* Recovers primary with the logs (old format: the applicable one; new
 * format: LOG1 then LOG2, in that order in logs[]).  out gets the recovered
 * hive, clean (sequence numbers equal, checksum right); applied (may be NULL)
 * gets one line per log used.  Fails when no log can bring the hive to a
 * consistent state. */
int hivelog_recover(const char *name, const struct buf *primary, const struct hivelog *logs,
		    size_t nlogs, struct buf *out, struct strlist *applied, struct err *e);

struct vol;
/* Reads the logs beside a hive on a volume: NAME.LOG, NAME.LOG1, NAME.LOG2
 * (any letter case), in that order.  paths gets where each lies. */
int hivelog_read_beside(struct vol *v, const char *hive, struct hivelog **logs, size_t *n,
			struct strlist *paths, struct err *e);
void hivelog_free(struct hivelog *logs, size_t n);

#endif
