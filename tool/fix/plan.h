/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan: what a fix would change on one Windows installation, worked out
 * read-only.
 *
 * Every file is read, checked and planned; for a fix, every new content is
 * also built and verified in memory (it parses, and planning it again finds
 * nothing left to do).  Nothing here writes: txn.c does, and run.c joins the
 * two. */
#ifndef NOBOUNCE_PLAN_H
#define NOBOUNCE_PLAN_H

#include "fix/fixes.h"
#include "fix/install.h"
#include "vol/vol.h"

enum command { CMD_CHECK, CMD_FIX, CMD_UNDO, CMD_COMMIT, CMD_EXPORT, CMD_RECOVER };
/* Whether a command may write to the target (check and export never do). */
static inline int cmd_writes(enum command c)
{
	return c != CMD_CHECK && c != CMD_EXPORT;
}

/* One file the run changes. */
struct edit {
	char *path;	   /* on the volume, as stored */
	struct buf before; /* the file as planned on (fix only) */
	struct buf after;  /* as it is to be written (fix only) */
	/* their SHA-256, worked out alongside planning (fix only) */
	struct hashjob *hash_before, *hash_after;
	struct changes ch;
	const struct fixdef *fix; /* NULL for a log emptied after its hive */
};

/* What one installation ended as; report.c prints it. */
struct outcome {
	const char *status; /* clean needs-fix fixed restored committed not-applicable error */
	struct install *inst;
	struct edit *edits;
	size_t nedits;
	int run;	      /* the run written or undone; 0 for none */
	char *journal;	      /* its journal's path on the volume, when there is one */
	struct strlist notes; /* sentences for people: why, or what else happened */
	/* export: each key's .reg text (NULL: not there), as the keys were asked */
	char **exported;
	size_t nexported;
	struct err err;
};

struct plan_opts {
	int build;	/* fix: make and verify the new contents */
	int no_recover; /* --no-recover: refuse dirty hives */
	/* the fixes to plan: fix_list (NULL), or reg_fix_list for --reg */
	const struct fixdef *fixes;
	size_t nfixes;
	int write_recovered; /* recover TARGET: a dirty hive is written recovered */
};

/* Plans every fix on the installation into o->edits.  base holds the
 * PEEXCH50 classes earlier runs found; cx gets them and this run's. */
int plan_install(struct vol *v, struct install *in, const struct plan_opts *po,
		 const struct fixctx *base, struct fixctx *cx, struct outcome *o, struct err *e);
/* Fills in the product name for reports when planning did not read SOFTWARE
 * (undo, a refused volume); a SOFTWARE that cannot be read is only noted. */
void plan_describe(struct vol *v, struct install *in);

void outcome_free(struct outcome *o);
/* Adds a sentence to an outcome's notes. */
void outcome_note(struct outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
