/* SPDX-License-Identifier: GPL-2.0-or-later */
/* target: what a TARGET is -- a directory, or a disk image or device with its
 * partitions -- and running one command on every Windows installation in it. */
#ifndef NOBOUNCE_TARGET_H
#define NOBOUNCE_TARGET_H

#include "run/volume.h"

/* Whether standard output has failed (a full disk, a closed pipe). */
int output_failed(void);

/* Runs the command on one target; returns its exit code. */
int target_run(const struct options *op, const char *target);

#endif
