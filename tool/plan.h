/* plan: check, fix and undo one Windows installation.
 *
 * The safety model lives here, once for every edit:
 *  - preflight: every file is read, checked and planned, and every new file
 *    content is built and verified in memory, before the first write;
 *  - a manifest (<sysroot>/nobounce-manifest.json) records the run, with the
 *    hashes before and after, before anything else is written;
 *  - a backup of each file is written beside it and read back;
 *  - files are rewritten in place, read back and verified again;
 *  - on any failure after the first write, the files are put back;
 *  - a run interrupted by a crash is rolled back by the next fix (then redone)
 *    or by undo. */
#ifndef NOBOUNCE_PLAN_H
#define NOBOUNCE_PLAN_H

#include "fixes.h"
#include "install.h"
#include "vol.h"

#define MANIFEST_NAME "nobounce-manifest.json"

enum command { CMD_CHECK, CMD_FIX, CMD_UNDO };

/* One file the run changes. */
struct edit {
	char *path;	     /* on the volume, as stored */
	size_t before_len;   /* the file as planned on: size and SHA-256 (the */
	char before_sha[65]; /* bytes are read again, and checked, to back up) */
	struct buf after;    /* as written (fix only) */
	struct changes ch;
	const struct fixdef *fix;
};

/* What one installation ended as; report.c prints it. */
struct outcome {
	const char *status; /* clean needs-fix fixed restored not-applicable error */
	struct install *inst;
	struct edit *edits;
	size_t nedits;
	int run;	      /* manifest run written or undone; 0 for none */
	char *manifest;	      /* the manifest's path on the volume, when there is one */
	struct strlist notes; /* sentences for people: why, or what else happened */
	struct err err;
};

struct plan_opts {
	int force;		/* undo over files changed since the fix */
	const char *backup_dir; /* --backup-dir: absolute host directory, or NULL */
	const char *backup_tag; /* names this target's backups there */
	int no_recover;		/* --no-recover: refuse dirty hives */
};

int plan_run(struct vol *v, struct install *in, enum command cmd, const struct plan_opts *po,
	     struct outcome *o);
void outcome_free(struct outcome *o);
/* Adds a sentence to an outcome's notes. */
void outcome_note(struct outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a run on the installation was interrupted, on positive evidence:
 * its manifest says it is still applying or undoing, exists but cannot be
 * read, or was caught between its two copies.  1 yes, 0 no (or unknown). */
int plan_pending(struct vol *v, struct install *in);

#endif
