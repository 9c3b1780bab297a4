/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volume: what target.c and dynamic.c share -- the options of a run, its
 * exit codes, opening a disk, reporting a place's error, and running the
 * command on every Windows installation of one opened volume. */
#ifndef NOBOUNCE_VOLUME_H
#define NOBOUNCE_VOLUME_H

#include "disk/blockdev.h"
#include "run/report.h"
#include "run/run.h"
#include "vol/vol.h"

/* Exit codes: nobounce(1), EXIT STATUS.  EXIT_OUTPUT: the targets were
 * dealt with (each safe: done, or left as it was) but standard output could
 * not be written, so the report is incomplete. */
enum { EXIT_OK = 0, EXIT_WORK = 1, EXIT_USAGE = 2, EXIT_FAILED = 3, EXIT_OUTPUT = 4 };
/* A fleet worker's status when it left a dynamic disk for the second pass
 * (report_deferred); never the program's. */
enum { EXIT_DEFERRED = 64 };
/* A volume that holds no Windows installation: its caller says what the
 * target is instead (never the program's). */
enum { EXIT_NONE = 65 };

struct options {
	enum command cmd;
	int force;
	int backup;		  /* --backup: full copies of the originals too */
	const char *format;	  /* --format, or NULL to detect */
	char **formats;		  /* each target's (fleet.c), "" to detect; or NULL */
	char *backup_dir;	  /* --backup-dir, absolute, or NULL */
	int jobs;		  /* -j: parallel workers (fleet.c) */
	double timeout;		  /* --timeout: seconds per target, 0 for none */
	int no_recover;		  /* --no-recover: refuse dirty hives as before */
	int degraded;		  /* --degraded: write a mirror whose other halves are gone */
	int resync_mirror;	  /* --resync-mirror: copy a mirror's first half over the rest */
	int defer_dynamic;	  /* a fleet's first pass: leave dynamic disks for later */
	struct regpatch *patches; /* --reg, in the order given */
	size_t npatches;
	char **export_keys; /* export: the keys, as given */
	size_t nexport;
	const char *user; /* --user: whose hive HKEY_CURRENT_USER is, or NULL */
	struct report_opts ro;
};

/* The worse of two exit codes: 3 over 1 over 0. */
int exit_worse(int a, int b);

/* Opens one disk image or device for the run (read-only for check). */
struct blockdev *volume_open_disk(const struct options *op, const char *name, struct err *e);
/* Reports an error for a place; gives EXIT_FAILED. */
int volume_failed(const struct options *op, const struct place *pl, struct err *e);
/* Runs the command on every installation of one volume; said, when set, is
 * a sentence about the volume for each outcome's notes.  EXIT_NONE when the
 * volume holds no Windows installation. */
int volume_run(const struct options *op, const struct place *pl, struct vol *v, const char *said);

#endif
