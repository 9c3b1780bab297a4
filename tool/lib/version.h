/* SPDX-License-Identifier: GPL-2.0-or-later */
/* version: the version, from the Makefile (NOBOUNCE_VERSION=...), for --version and
 * every JSON line. */
#ifndef NOBOUNCE_VERSION_H
#define NOBOUNCE_VERSION_H

#ifndef NOBOUNCE_VERSION
#define NOBOUNCE_VERSION "0.2"
#endif
/* The libraries' versions at build time ("hivex 1.3.23, ..."), for
 * --version; the Makefile gives them from pkg-config. */
#ifndef NOBOUNCE_BUILT_WITH
#define NOBOUNCE_BUILT_WITH "(unknown libraries)"
#endif

#endif
