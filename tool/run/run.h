/* SPDX-License-Identifier: GPL-2.0-or-later */
/* run: check, fix, undo and commit one Windows installation: planning
 * (plan.c) and the transaction (txn.c) joined, under the volume's rules. */
#ifndef NOBOUNCE_RUN_H
#define NOBOUNCE_RUN_H

#include "fix/plan.h"
#include "txn/txn.h"

struct run_opts {
	struct txn_opts txn;
	int no_recover; /* --no-recover: refuse dirty hives */
	/* --reg: the patches merged instead of the XEXCH50 fix */
	const struct regpatch *patches;
	size_t npatches;
	/* export: the keys, as regedit names them */
	const char *const *export_keys;
	size_t nexport;
	/* --user: the profile (folder name or SID) HKEY_CURRENT_USER is, or NULL */
	const char *user;
};

int run_install(struct vol *v, struct install *in, enum command cmd, const struct run_opts *ro,
		struct outcome *o);
/* Whether a run on the installation was interrupted, on positive evidence:
 * a journal that is not complete, or cannot be read.  1 yes, 0 no (or
 * unknown). */
int run_pending(struct vol *v, struct install *in);

#endif
