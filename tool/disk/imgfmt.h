/* SPDX-License-Identifier: GPL-2.0-or-later */
/* imgfmt: disk image formats, as bytes.  Which format a file is, from its
 * first and last bytes, never from its name; and which other files each
 * format's header or descriptor names (a qcow2's backing and data files, a
 * VMDK's extents and parent, whether a VHD or VHDX has a parent).  Parsing
 * only: these read the file they are given, bounded, and open nothing; the
 * rules on what an image may name are image.c's.  An attacker writes these
 * bytes (fuzz_imgfmt). */
#ifndef NOBOUNCE_IMGFMT_H
#define NOBOUNCE_IMGFMT_H
#include <stddef.h>

#include "lib/util.h"

/* VMDK extents per descriptor; real split images have a few hundred at most. */
#define IMAGE_MAX_EXTENTS 1024

/* The format of an image ("raw" when none of the others matches): qcow2,
 * vmdk, vhdx, vdi, vpc. */
int imgfmt_detect(int fd, char *fmt, size_t fmtlen, struct err *e);
/* Whether fmt is one nobounce opens (the names of --format, "raw" too). */
int imgfmt_known(const char *fmt);
/* Whether a file's name says its format (".qcow2" for qcow2, ".vhd" for vpc). */
int imgfmt_name_says(const char *path, const char *fmt);

/* What an image of one format names. */
struct imgrefs {
	char *backing;		  /* as stored in the image, or NULL */
	char *backing_fmt;	  /* as stored, or NULL: detect */
	char *data_file;	  /* qcow2 */
	struct strlist extents;	  /* the extent files qemu opens, in its order */
	struct strlist ext_types; /* their types ("SPARSE", "FLAT", ...) */
	char *desc;		  /* a VMDK's descriptor text, as read */
	size_t *ext_line;	  /* where each extent's line starts in desc */
	int differencing;	  /* VHD/VHDX with a parent: refused */
};

/* Reads what the image on fd names, as qemu would read it; who prefixes
 * messages.  A header that would make qemu open a name nobounce cannot
 * judge is unsafe-image. */
int imgfmt_refs(int fd, const char *fmt, const char *who, struct imgrefs *r, struct err *e);
void imgfmt_refs_free(struct imgrefs *r);
/* A sparse extent that holds a descriptor of its own (never in a real
 * image): unsafe-image. */
int imgfmt_vmdk_nested(int fd, const char *type, const char *who, struct err *e);

#endif
