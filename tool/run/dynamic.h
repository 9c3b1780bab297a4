/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dynamic: the dynamic disks of one server, given together -- the volumes
 * of their LDM database, a mirror's halves judged, resynchronised or
 * refused -- and the command run on each simple or mirrored volume. */
#ifndef NOBOUNCE_DYNAMIC_H
#define NOBOUNCE_DYNAMIC_H

#include "run/volume.h"

/* Runs the command on the dynamic disks of one disk group, given together
 * (a server's mirrored disks); returns the exit code. */
int dynamic_run(const struct options *op, char *const *disks, size_t n);

#endif
