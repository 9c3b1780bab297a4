/* SPDX-License-Identifier: GPL-2.0-or-later */
/* target: what a TARGET is -- a directory, or a disk image or device with its
 * partitions -- and running one command on every Windows installation in it. */
#ifndef NOBOUNCE_TARGET_H
#define NOBOUNCE_TARGET_H

#include "run/report.h"
#include "run/run.h"

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

/* Whether standard output has failed (a full disk, a closed pipe). */
int output_failed(void);

struct options {
	enum command cmd;
	int force;
	int backup;	    /* --backup: full copies of the originals too */
	const char *format; /* --format, or NULL to detect */
	char *backup_dir;   /* --backup-dir, absolute, or NULL */
	int jobs;	    /* -j: parallel workers (fleet.c) */
	double timeout;	    /* --timeout: seconds per target, 0 for none */
	int no_recover;	    /* --no-recover: refuse dirty hives as before */
	int degraded;	    /* --degraded: write a mirror whose other halves are gone */
	int resync_mirror;  /* --resync-mirror: copy a mirror's first half over the rest */
	int defer_dynamic;  /* a fleet's first pass: leave dynamic disks for later */
	struct report_opts ro;
};

/* The worse of two exit codes: 3 over 1 over 0. */
int exit_worse(int a, int b);

/* Runs the command on one target; returns its exit code. */
int target_run(const struct options *op, const char *target);
/* Runs the command on the dynamic disks of one disk group, given together
 * (a server's mirrored disks); returns the exit code. */
int target_run_dynamic(const struct options *op, char *const *disks, size_t n);

#endif
