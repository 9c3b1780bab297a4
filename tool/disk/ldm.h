/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ldm: Windows dynamic disks (the Logical Disk Manager).
 *
 * A dynamic disk has no partition table for its volumes: an MBR with one
 * partition of type 0x42 (or a GPT with an "LDM metadata" partition) and,
 * in its last megabyte (or that partition), a database describing every
 * volume of its disk group: simple volumes, spans, stripes, mirrors and
 * RAID-5 sets, each made of partitions on one or several disks.  A
 * server's mirrored system volume is such a set: two disks holding the
 * same bytes, which Windows reads from either.
 *
 * The database is read with libldm -- but in a child process that sees
 * only a private copy of the sectors libldm reads, with no file system
 * access at all (Landlock) and bounded memory and time: the database comes
 * from the image, libldm's parser trusts its lengths, and a failure there
 * must cost a clear error, never this process.  The child answers in JSON,
 * which is checked field by field here. */
#ifndef NOBOUNCE_LDM_H
#define NOBOUNCE_LDM_H

#include "disk/blockdev.h"

#define LDM_GUID_LEN 36

/* What a dynamic disk says it is (its PRIVHEAD). */
struct ldm_ident {
	char disk[LDM_GUID_LEN + 1];  /* the disk's GUID */
	char group[LDM_GUID_LEN + 1]; /* its disk group's GUID */
	int gpt;		      /* the database lies in a GPT partition */
};

/* 1 and *id when bd is a dynamic disk, 0 when it is not, -1 on error
 * (a dynamic disk whose header cannot be read is an error, never a basic
 * disk: its MBR may point straight at a volume of a mirror). */
int ldm_probe(struct blockdev *bd, struct ldm_ident *id, struct err *e);

/* A partition of a volume on one disk. */
struct ldm_leg {
	int disk;	    /* index into the disks given, or -1: not given */
	char *disk_name;    /* "Disk5", as the database names it */
	uint64_t off, size; /* bytes on that disk */
};

struct ldm_volume {
	char *name, *guid, *hint; /* "Volume3", its GUID, "G:" (or NULL) */
	const char *type;	  /* "simple" "mirrored" "spanned" "striped" "raid5" */
	uint64_t size;		  /* bytes */
	struct ldm_leg *legs;
	size_t nlegs;
};

struct ldm_layout {
	char *group, *group_name;
	struct ldm_volume *v;
	size_t n;
};

/* Reads the database of the dynamic disks bds[0..n) (one disk group) and
 * lays out its volumes; names are the disks as the user named them. */
int ldm_read(struct blockdev **bds, char *const *names, size_t n, struct ldm_layout *out,
	     struct err *e);
void ldm_layout_free(struct ldm_layout *l);

#endif
