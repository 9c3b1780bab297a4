/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt: -d DOMAIN [-c URI], a libvirt domain's disks as targets.
 *
 * libvirt's C library is loaded only when -d is given (dlopen), so that
 * nobounce starts without it; the domain's XML gives each disk's path and
 * format, and the disks of one domain are given together, so that a
 * mirror's halves are found.  A running domain is refused, as virt-win-reg
 * refuses one. */
#ifndef NOBOUNCE_LIBVIRT_H
#define NOBOUNCE_LIBVIRT_H

#include "lib/util.h"

/* Appends the domain's disks (paths, and formats: "" to detect).  uri is
 * libvirt's connection URI, or NULL for its default. */
int libvirt_disks(const char *uri, const char *domain, struct strlist *paths,
		  struct strlist *formats, struct err *e);

#endif
