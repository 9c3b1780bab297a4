/* report: what a target ended as, for people (text) or programs (JSON lines). */
#ifndef NOBOUNCE_REPORT_H
#define NOBOUNCE_REPORT_H

#include "partitions.h"
#include "plan.h"

/* A worker also writes each outcome's status, one per line, to this
 * descriptor (fleet.c counts them); -1 when not in a worker. */
extern int report_status_fd;
/* When the current target started (now_seconds), for "elapsed". */
extern double report_t0;

struct report_opts {
	int json;
	int quiet;
};

/* One installation's outcome; part is NULL for a directory target. */
void report_outcome(const struct report_opts *ro, const char *target, const struct part *part,
		    const struct outcome *o);
/* A target (or partition) that has no installation to report:
 * not-applicable, or an error before any installation was found (err set). */
void report_target(const struct report_opts *ro, const char *target, const struct part *part,
		   const char *status, const struct err *err);

#endif
