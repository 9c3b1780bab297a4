/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox: confines the qemu-nbd child to the files nobounce chose.
 *
 * image.c decides which files an image may reach and opens them; qemu-nbd
 * gets them as inherited descriptors.  As a second line of defence, should
 * qemu ever try to open a file by a name we did not see, the child applies
 * a Landlock rule set before exec: programs and libraries under /usr, /etc
 * to read, /dev/null, its socket directory, each image file (read-only or
 * read-write as chosen) -- and no other file, no TCP.  On a kernel without
 * Landlock the first line (image.c) stands alone; -v says so. */
#ifndef NOBOUNCE_SANDBOX_H
#define NOBOUNCE_SANDBOX_H

#include "image.h"

/* The Landlock ABI version the kernel offers (0: none). */
int sandbox_abi(void);

/* In the child, before exec: restricts this process to the image files of
 * c and the socket directory.  Returns -1 with errno set on failure, which
 * the child must treat as fatal. */
int sandbox_enter(const struct imgchain *c, const char *sockdir);

/* In a child that parses something from an image (libldm): no file may be
 * opened at all, no TCP; only the descriptors it already holds.  -1 with
 * errno set on failure; 0 where the kernel has no Landlock. */
int sandbox_deny_all(void);

#endif
