/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fleet: many targets, in parallel worker processes, with progress. */
#ifndef NOBOUNCE_FLEET_H
#define NOBOUNCE_FLEET_H

#include "run/target.h"

/* Runs the command on every target, op->jobs at a time; returns the exit
 * code over all of them. */
int fleet_run(const struct options *op, char **targets, size_t n);

#endif
