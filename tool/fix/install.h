/* SPDX-License-Identifier: GPL-2.0-or-later */
/* install: Windows installations on a volume. */
#ifndef NOBOUNCE_INSTALL_H
#define NOBOUNCE_INSTALL_H

#include "reg/hive.h"
#include "vol/vol.h"

/* A user's profile: the folder that holds NTUSER.DAT (HKEY_CURRENT_USER)
 * and UsrClass.dat (its Software\Classes). */
struct profile {
	char *sid;	      /* its key in ProfileList, or NULL: found by its folder alone */
	char *where;	      /* ProfileImagePath as Windows stores it, or NULL */
	char *name;	      /* the folder's own name ("Administrator"), for people */
	char *dir;	      /* the folder on the volume, as stored, or NULL */
	char *ntuser;	      /* <dir>/NTUSER.DAT, as stored, or NULL when there is none */
	char *usrclass;	      /* its UsrClass.dat, as stored, or NULL */
	char *why;	      /* why nobounce cannot use it (another volume, a link), or NULL */
	const char *why_kind; /* and the error kind that is */
	int use;	      /* the run reads or writes its hives (the run sets it) */
	int current;	      /* --user named it: HKEY_CURRENT_USER */
};

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
	/* the profiles (install_find_profiles), in ProfileList's order, then
	 * the folders of the profile directories that hold an NTUSER.DAT */
	struct profile *profiles;
	size_t nprofiles;
	int profiles_found;
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
/* Finds the profiles, once: SOFTWARE's ProfileList (replayed in memory from
 * its logs when it is dirty) and the folders of ProfilesDirectory,
 * "Documents and Settings" and "Users" that hold an NTUSER.DAT.  A profile
 * that lies on another volume or behind a link is kept, with why. */
int install_find_profiles(struct vol *v, struct install *in, struct err *e);
/* The profile --user NAME names (its folder's name or its SID, in any
 * letter case): it, or NULL with *many set when more than one does. */
struct profile *install_profile_named(struct install *in, const char *name, int *many);
struct profile *install_profile_sid(struct install *in, const char *sid, size_t len);
/* "Administrator (S-1-5-21-...-500), Default User, roamer (S-1-..., cannot
 * be used)", or "none". */
char *install_profile_names(const struct install *in);
/* Fills the product fields from an opened SOFTWARE hive. */
void install_describe(struct install *in, const struct hread *software);
void install_free(struct install *in, size_t n);

#endif
