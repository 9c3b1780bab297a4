/* SPDX-License-Identifier: GPL-2.0-or-later */
/* install: Windows installations on a volume. */
#ifndef NOBOUNCE_INSTALL_H
#define NOBOUNCE_INSTALL_H

#include "reg/hive.h"
#include "vol/vol.h"

struct install {
	char *sysroot;	/* "WINDOWS" or "WINNT", as stored on the volume */
	char *system;	/* <sysroot>/system32/config/SYSTEM, as stored */
	char *software; /* the SOFTWARE hive, or NULL when there is none */
	/* the other hives beside them (recover TARGET), or NULL */
	char *sam, *security, *deflt;
	char *metabase; /* <sysroot>/system32/inetsrv/MetaBase.xml, or NULL */
	/* IIS 5 (Windows 2000) keeps its metabase in this binary file instead,
	 * which nobounce does not edit; NULL when there is a MetaBase.xml */
	char *metabase_bin;
	/* from SOFTWARE\Microsoft\Windows NT\CurrentVersion, for reports */
	char *product, *version, *build, *service_pack;
};

/* Every directory at the volume root named WINDOWS or WINNT (any letter case)
 * that holds system32/config/SYSTEM.  Sets *n to 0 when there is none. */
int install_find(struct vol *v, struct install **out, size_t *n, struct err *e);
/* Finds the other hives of config (SAM, SECURITY, DEFAULT), for the runs
 * that use them (--reg, export, recover TARGET); the XEXCH50 fix never
 * looks at them. */
int install_find_hives(struct vol *v, struct install *in, struct err *e);
/* Fills the product fields from an opened SOFTWARE hive. */
void install_describe(struct install *in, struct hive *software);
void install_free(struct install *in, size_t n);

#endif
