/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox: confines the qemu-nbd child to the files nobounce chose.
 *
 * image.c decides which files an image may reach and opens them; qemu-nbd
 * gets them as inherited descriptors.  As a second line of defence, should
 * qemu ever try to open a file by a name we did not see, the child applies
 * a Landlock rule set before exec: programs and libraries under /usr, the
 * loader's cache, /dev/null, each image file (read-only or read-write as
 * chosen) -- and no other file, not the rest of /etc, no TCP.  On a kernel
 * without Landlock the first line (image.c) stands alone; -v says so. */
#ifndef NOBOUNCE_SANDBOX_H
#define NOBOUNCE_SANDBOX_H

#include <stddef.h>

/* A file the confined process may open again, by its descriptor. */
struct sandbox_file {
	int fd;
	int writable;
};

/* The Landlock ABI version the kernel offers (0: none). */
int sandbox_abi(void);

/* In the child, before exec: restricts this process to the n files and what
 * a program needs to start.  Returns -1 with errno set on failure, which
 * the child must treat as fatal. */
int sandbox_enter(const struct sandbox_file *f, size_t n);

/* In a child that parses something from an image (libldm): no file may be
 * opened at all, no TCP; only the descriptors it already holds.  -1 with
 * errno set on failure; 0 where the kernel has no Landlock. */
int sandbox_deny_all(void);

#endif
