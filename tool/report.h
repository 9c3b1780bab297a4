/* report: what a target ended as, for people (text) or programs (JSON lines). */
#ifndef NOBOUNCE_REPORT_H
#define NOBOUNCE_REPORT_H

#include "plan.h"

struct report_opts {
	int json;
	int quiet;
};

/* One installation's outcome. */
void report_outcome(const struct report_opts *ro, const char *target, const struct outcome *o);
/* A target that has no installation to report: not-applicable, or an error
 * before any installation was found (err set). */
void report_target(const struct report_opts *ro, const char *target, const char *status,
		   const struct err *err);

#endif
