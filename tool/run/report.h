/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report: what a target ended as, for people (text) or programs (JSON lines). */
#ifndef NOBOUNCE_REPORT_H
#define NOBOUNCE_REPORT_H

#include <stdio.h>

#include "disk/ldm.h"
#include "disk/partitions.h"
#include "fix/plan.h"

/* A worker also writes each outcome's status, one per line, to this
 * descriptor (fleet.c counts them); -1 when not in a worker. */
extern int report_status_fd;
/* When the current target started (now_seconds), for "elapsed". */
extern double report_t0;

struct report_opts {
	int json;
	int quiet;
	const char *command; /* check fix undo commit, for each JSON line */
	/* export: the keys (as asked), where the .reg text goes (NULL:
	 * stdout), and --utf16 */
	char *const *export_keys;
	FILE *out;
	int utf16;
};

/* Where an outcome belongs: a target as named and, on it, a partition or a
 * dynamic disk's volume (neither: a directory target, or the whole image). */
struct place {
	const char *target;	      /* as named; several disks: "a.img + b.img" */
	const struct part *part;      /* a partition of an image, or NULL */
	const struct ldm_volume *vol; /* a dynamic volume, or NULL */
	char *const *disks;	      /* the disks given, which vol's legs index */
	int degraded;		      /* vol's missing halves were left as they are */
};

/* One installation's outcome. */
void report_outcome(const struct report_opts *ro, const struct place *pl, const struct outcome *o);
/* A place that has no installation to report: not-applicable, or an error
 * before any installation was found (err set). */
void report_target(const struct report_opts *ro, const struct place *pl, const char *status,
		   const struct err *err);
/* A fleet worker's word that its target is one disk of a dynamic disk group,
 * to be run together with the others (fleet.c). */
void report_deferred(const struct ldm_ident *id);

#endif
