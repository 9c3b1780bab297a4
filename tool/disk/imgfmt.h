/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef NOBOUNCE_IMGFMT_H
#define NOBOUNCE_IMGFMT_H
#include <stddef.h>

#include "lib/util.h"

/* The format of an image, from its first and last bytes ("raw" when none
 * of the others matches): qcow2, vmdk, vhdx, vdi, vpc.  Never from its
 * name.  Below both the opener of disks and the rules on images, which both
 * ask it. */
int imgfmt_detect(int fd, char *fmt, size_t fmtlen, struct err *e);

#endif
