/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vol_ntfs: the volume door for NTFS, in-process through libntfs-3g: no root, no FUSE,
 * no loop device.  libntfs-3g has no offset option, so it gets a device of
 * our own whose reads and writes go to the partition's byte range of a
 * blockdev (a raw image, a device, or an NBD export).
 *
 * Paths are walked one component at a time from the root directory: a
 * reparse point (junction, symbolic link, mount point) anywhere on a path is
 * refused, never followed.  Windows' files are rewritten through their data
 * attribute, so the file keeps its MFT record, security descriptor,
 * attributes and other streams. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/index.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

#include "disk/blockdev.h"
#include "vol/mft_scan.h"
#include "vol/ntfs_dev.h"
#include "vol/ntfs_index.h"
#include "vol/undolog.h"
#include "vol/vol_impl.h"

#define HIBERFIL "hiberfil.sys"

/* ---- walking ---- */

static ntfs_volume *vol_of(struct vol *v)
{
	return ((struct ntvol *)v->priv)->vol;
}

/* A directory that names what cannot be read: NTFS's own metadata is
 * damaged (a write cut short by a crash or a failing disk).  Only Windows'
 * chkdsk mends that; ntfsfix only resets the journal and marks the volume
 * for checking. */
static int damaged(struct err *e, const char *path, size_t done, const char *what)
{
	int err = errno;
	return fail(e, "damaged-volume",
		    "%.*s: %s (%s): the NTFS volume's metadata is damaged. Run 'chkdsk /f' on "
		    "it from Windows ('ntfsfix' cannot repair this), then run nobounce again; "
		    "nothing was written",
		    (int)done, path, what, strerror(err));
}

/* The largest directory index read whole (Windows' system32 takes a few
 * MiB). */
#define INDEX_MAX (128u << 20)

/* One attribute of a directory's $I30 index, read whole; *p stays NULL when
 * the directory has none. */
static int read_index_attr(ntfs_inode *dir, ATTR_TYPES type, uint8_t **p, size_t *len)
{
	*p = NULL;
	*len = 0;
	ntfs_attr *na = ntfs_attr_open(dir, type, NTFS_INDEX_I30, 4);
	if (!na)
		return errno == ENOENT ? 0 : -1;
	int r = -1;
	if (na->data_size < 0 || (uint64_t)na->data_size > INDEX_MAX) {
		errno = EFBIG;
	} else {
		*len = (size_t)na->data_size;
		*p = xmalloc(*len ? *len : 1);
		s64 n = *len ? ntfs_attr_pread(na, 0, (s64)*len, *p) : 0;
		if (n == (s64)*len)
			r = 0;
		else if (n >= 0)
			errno = EIO;
	}
	ntfs_attr_close(na);
	return r;
}

/* What is wrong with a directory's index, or NULL when it is a tree that
 * libntfs-3g's lookup can walk and stop (ntfs_index.h). */
static const char *index_fault(ntfs_inode *dir)
{
	CLEANUP_FREE uint8_t *root = NULL;
	CLEANUP_FREE uint8_t *alloc = NULL;
	CLEANUP_FREE uint8_t *bitmap = NULL;
	size_t rootlen, alloclen, bitmaplen;
	if (read_index_attr(dir, AT_INDEX_ROOT, &root, &rootlen) == -1 ||
	    read_index_attr(dir, AT_INDEX_ALLOCATION, &alloc, &alloclen) == -1 ||
	    read_index_attr(dir, AT_BITMAP, &bitmap, &bitmaplen) == -1)
		return errno == EFBIG ? "it is larger than nobounce reads (128 MiB)"
				      : strerror(errno);
	if (!root)
		return "it has no index root";
	return ntfs_index_check(root, rootlen, alloc, alloclen, bitmap, bitmaplen,
				dir->vol->cluster_size_bits);
}

/* Before a name is looked up in a directory, or its names listed: a loop in
 * its index would make libntfs-3g's lookup descend it forever.  Each
 * directory is checked once per run. */
static int dir_sound(struct vol *v, ntfs_inode *dir, const char *path, size_t done, struct err *e)
{
	struct ntvol *nt = v->priv;
	for (size_t i = 0; i < nt->nsound; i++)
		if (nt->sound[i] == dir->mft_no)
			return 0;
	const char *why = index_fault(dir);
	if (why)
		return fail(e, "damaged-volume",
			    "%.*s%s: the directory's index is damaged: %s. Run 'chkdsk /f' on "
			    "the volume from Windows, then run nobounce again; nothing was "
			    "written",
			    (int)done, path, done ? "" : "/ (the root directory)", why);
	nt->sound = xrealloc(nt->sound, (nt->nsound + 1) * sizeof *nt->sound);
	nt->sound[nt->nsound++] = dir->mft_no;
	return 0;
}

/* Opens the inode at path; *ni is NULL when it does not exist.  Refuses a
 * reparse point on the way, and a directory whose index is not sound. */
static int walk(struct vol *v, const char *path, ntfs_inode **ni, struct err *e)
{
	ntfs_volume *vol = vol_of(v);
	ntfs_inode *cur = ntfs_inode_open(vol, FILE_root);
	*ni = NULL;
	if (!cur)
		return fail(e, "io", "cannot open the root directory: %s", strerror(errno));
	CLEANUP_FREE char *copy = xstrdup(path);
	char *save = NULL;
	size_t done = 0;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		size_t in = done; /* the directory looked in: path up to here */
		done += strlen(c) + (done ? 1 : 0);
		if (!(cur->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
			ntfs_inode_close(cur);
			return 0;
		}
		if (dir_sound(v, cur, path, in, e) == -1) {
			ntfs_inode_close(cur);
			return -1;
		}
		ntfschar *uname = NULL;
		int ulen = ntfs_mbstoucs(c, &uname);
		u64 mref = ulen > 0 ? ntfs_inode_lookup_by_name(cur, uname, ulen) : (u64)-1;
		if (ulen <= 0)
			errno = EINVAL;
		int err = errno;
		free(uname);
		ntfs_inode_close(cur);
		errno = err;
		if (mref == (u64)-1)
			return errno == ENOENT ? 0 : damaged(e, path, done, "cannot be looked up");
		cur = ntfs_inode_open(vol, MREF(mref));
		if (!cur)
			return damaged(e, path, done,
				       "is named by its directory, but its MFT record "
				       "cannot be read");
		if (cur->flags & FILE_ATTR_REPARSE_POINT) {
			ntfs_inode_close(cur);
			return fail(e, "unsafe-path",
				    "%.*s: is a reparse point (junction, symbolic link or mount "
				    "point); nobounce never follows one (it could lead outside "
				    "the volume). Replace it with the real file or directory",
				    (int)done, path);
		}
	}
	*ni = cur;
	return 0;
}

static int open_regular(struct vol *v, const char *path, ntfs_inode **ni, ntfs_attr **na,
			struct err *e)
{
	if (walk(v, path, ni, e) == -1)
		return -1;
	if (!*ni)
		return fail(e, "io", "%s: does not exist", path);
	if ((*ni)->mrec->flags & MFT_RECORD_IS_DIRECTORY) {
		ntfs_inode_close(*ni);
		return fail(e, "unsafe-path", "%s: is a directory", path);
	}
	*na = ntfs_attr_open(*ni, AT_DATA, AT_UNNAMED, 0);
	if (!*na) {
		int err = errno;
		ntfs_inode_close(*ni);
		return fail(e, "io", "%s: has no data stream: %s", path, strerror(err));
	}
	struct ntvol *nt = v->priv;
	size_t i = 0;
	while (i < nt->nfiles && nt->files[i] != (*ni)->mft_no)
		i++;
	if (i == nt->nfiles) {
		nt->files = xrealloc(nt->files, (nt->nfiles + 1) * sizeof *nt->files);
		nt->files[nt->nfiles++] = (*ni)->mft_no;
	}
	return 0;
}

struct lister {
	struct strlist *out;
};

static int fill(void *ctx, const ntfschar *name, const int len, const int type, const s64 pos,
		const MFT_REF mref, const unsigned dt_type)
{
	struct lister *l = ctx;
	(void)pos, (void)mref, (void)dt_type;
	if (type == FILE_NAME_DOS) /* an 8.3 alias of a name listed anyway */
		return 0;
	char *s = NULL;
	if (ntfs_ucstombs(name, len, &s, 0) < 0)
		return 0; /* a name that is not valid UTF-16 cannot be one we look for */
	if (STREQ(s, ".") || STREQ(s, ".."))
		free(s);
	else
		strlist_add(l->out, s);
	return 0;
}

/* ---- the door ---- */

static int n_list(struct vol *v, const char *dir, struct strlist *out, struct err *e)
{
	ntfs_inode *ni;
	if (walk(v, dir, &ni, e) == -1)
		return -1;
	if (!ni || !(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
		if (ni)
			ntfs_inode_close(ni);
		return fail(e, "io", "%s: not a directory", *dir ? dir : "/");
	}
	if (dir_sound(v, ni, dir, strlen(dir), e) == -1) {
		ntfs_inode_close(ni);
		return -1;
	}
	s64 pos = 0;
	struct lister l = {out};
	int r = ntfs_readdir(ni, &pos, &l, fill);
	int err = errno;
	ntfs_inode_close(ni);
	return r ? fail(e, "io", "%s: cannot list: %s", *dir ? dir : "/", strerror(err)) : 0;
}

static int n_kind(struct vol *v, const char *path, struct err *e)
{
	ntfs_inode *ni;
	if (walk(v, path, &ni, e) == -1)
		return -1;
	if (!ni)
		return VOL_MISSING;
	int k = (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) ? VOL_DIR : VOL_FILE;
	ntfs_inode_close(ni);
	return k;
}

static int n_read(struct vol *v, const char *path, size_t max, struct buf *out, struct err *e)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	if (open_regular(v, path, &ni, &na, e) == -1)
		return -1;
	int r = 0;
	if (na->data_size < 0 || (uint64_t)na->data_size > max) {
		r = fail(e, "too-large",
			 "%s: is %lld bytes, more than the %zu a real one can be; refusing to "
			 "read it",
			 path, (long long)na->data_size, max);
	} else {
		buf_alloc(out, (size_t)na->data_size);
		s64 got = out->len ? ntfs_attr_pread(na, 0, (s64)out->len, out->p) : 0;
		if (got != (s64)out->len) {
			buf_free(out);
			r = fail(e, "io", "%s: read failed: %s", path,
				 got < 0 ? strerror(errno) : "short read");
		}
	}
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return r;
}

static int n_size(struct vol *v, const char *path, uint64_t *size, struct err *e)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	if (open_regular(v, path, &ni, &na, e) == -1)
		return -1;
	*size = na->data_size < 0 ? 0 : (uint64_t)na->data_size;
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return 0;
}

static int n_read_at(struct vol *v, const char *path, uint64_t off, void *p, size_t len,
		     struct err *e)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	if (open_regular(v, path, &ni, &na, e) == -1)
		return -1;
	int r = 0;
	s64 got =
	    off + len <= (uint64_t)na->data_size ? ntfs_attr_pread(na, (s64)off, (s64)len, p) : 0;
	if (got != (s64)len)
		r = fail(e, "io", "%s: read failed at %llu: %s", path, (unsigned long long)off,
			 got < 0 ? strerror(errno) : "the file ends early");
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return r;
}

static void add_runs(ntfs_inode *ni, ATTR_TYPES type, ntfschar *name, u32 len,
		     struct vol_ranges *out);

/* Whether clusters [lcn, lcn + n) are all marked in use in $Bitmap. */
static int clusters_in_use(ntfs_volume *vol, s64 lcn, s64 n)
{
	uint8_t b[4096];
	while (n > 0) {
		s64 byte = lcn / 8, want = (n + lcn % 8 + 7) / 8;
		if (want > (s64)sizeof b)
			want = sizeof b;
		if (ntfs_attr_pread(vol->lcnbmp_na, byte, want, b) != want)
			return 0;
		for (s64 i = 0; i < want * 8 && n > 0; i++) {
			if (byte * 8 + i < lcn)
				continue;
			if (!(b[i / 8] >> (i % 8) & 1))
				return 0;
			lcn++, n--;
		}
	}
	return 1;
}

struct scan {
	const struct vol_ranges *runs; /* the opened files' clusters */
	const u64 *owner;	       /* whose each range is */
	int bits;
	u64 rec, base;
	struct ntvol *nt;
};

static void scan_run(void *ctx, int64_t lcn, int64_t count)
{
	struct scan *s = ctx;
	uint64_t a = (uint64_t)lcn << s->bits, b = a + ((uint64_t)count << s->bits);
	for (size_t i = 0; i < s->runs->n; i++) {
		u64 o = s->owner[i];
		if (o == s->rec || o == s->base ||
		    !(s->runs->v[i].off < b && a < s->runs->v[i].off + s->runs->v[i].len))
			continue;
		struct ntvol *nt = s->nt;
		size_t k = 0;
		while (k < nt->ncrossed && nt->crossed[k][0] != o)
			k++;
		if (k == nt->ncrossed) {
			nt->crossed =
			    xrealloc(nt->crossed, (nt->ncrossed + 1) * sizeof *nt->crossed);
			nt->crossed[nt->ncrossed][0] = o;
			nt->crossed[nt->ncrossed++][1] = s->base ? s->base : s->rec;
		}
	}
}

/* A record's file name (a long one, not its 8.3 alias), or NULL. */
static char *record_name(ntfs_volume *vol, u64 mft)
{
	ntfs_inode *ni = ntfs_inode_open(vol, mft);
	char *name = NULL;
	ntfs_attr_search_ctx *ctx = ni ? ntfs_attr_get_search_ctx(ni, NULL) : NULL;
	while (ctx && !name &&
	       !ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
		const ATTR_RECORD *a = ctx->attr;
		const FILE_NAME_ATTR *fn =
		    (const FILE_NAME_ATTR *)((const u8 *)a + le16_to_cpu(a->value_offset));
		ntfschar u[256]; /* the name, aligned: it lies packed in the record */
		if (a->non_resident || fn->file_name_type == FILE_NAME_DOS)
			continue;
		memcpy(u, (const u8 *)fn + offsetof(FILE_NAME_ATTR, file_name),
		       (size_t)fn->file_name_length * sizeof *u);
		if (ntfs_ucstombs(u, fn->file_name_length, &name, 0) < 0)
			name = NULL;
	}
	if (ctx)
		ntfs_attr_put_search_ctx(ctx);
	if (ni)
		ntfs_inode_close(ni);
	return name;
}

/* Reads every MFT record in use once, and notes each opened file whose
 * clusters another record's attributes also claim: a cross-link with any
 * file of the volume, not only those nobounce knows. */
static int scan_mft(struct vol *v, struct err *e)
{
	struct ntvol *nt = v->priv;
	ntfs_volume *vol = vol_of(v);
	nt->scanned = nt->nfiles + 1;
	nt->ncrossed = 0;
	struct vol_ranges mine = {0};
	u64 *owner = NULL;
	for (size_t k = 0; k < nt->nfiles; k++) {
		ntfs_inode *ni = ntfs_inode_open(vol, nt->files[k]);
		size_t before = mine.n;
		if (ni) {
			add_runs(ni, AT_DATA, AT_UNNAMED, 0, &mine);
			ntfs_inode_close(ni);
		}
		owner = xrealloc(owner, (mine.n + 1) * sizeof *owner);
		for (size_t i = before; i < mine.n; i++)
			owner[i] = nt->files[k];
	}
	s64 rs = vol->mft_record_size;
	s64 total = vol->mft_na->initialized_size / rs;
	s64 blen = vol->mftbmp_na->initialized_size;
	uint8_t *bits = xcalloc(1, (size_t)(blen > 0 ? blen : 1));
	int r = 0;
	if (blen > 0 && ntfs_attr_pread(vol->mftbmp_na, 0, blen, bits) != blen)
		r = fail(e, "damaged-volume",
			 "the bitmap of the MFT cannot be read (%s): the NTFS volume's metadata is "
			 "damaged. Run 'chkdsk /f' on it from Windows, then run nobounce again",
			 strerror(errno));
	size_t per = (size_t)(((s64)1 << 20) / rs);
	uint8_t *buf = xmalloc(per * (size_t)rs);
	struct scan sc = {&mine, owner, vol->cluster_size_bits, 0, 0, nt};
	for (s64 first = 0; first < total && r == 0 && mine.n; first += (s64)per) {
		s64 n = total - first < (s64)per ? total - first : (s64)per;
		if (ntfs_attr_pread(vol->mft_na, first * rs, n * rs, buf) != n * rs) {
			r = fail(
			    e, "damaged-volume",
			    "the MFT cannot be read at record %lld (%s): the NTFS volume's "
			    "metadata is damaged. Run 'chkdsk /f' on it from Windows, then run "
			    "nobounce again",
			    (long long)first, strerror(errno));
			break;
		}
		for (s64 i = 0; i < n && r == 0; i++) {
			s64 rec = first + i;
			if (rec / 8 >= blen || !(bits[rec / 8] >> (rec % 8) & 1))
				continue;
			sc.rec = (u64)rec;
			/* the base is read before the runs: a file's own extension
			 * records are skipped in scan_run */
			if (mft_record_runs(buf + i * rs, (size_t)rs, &sc.base, scan_run, &sc) ==
			    -1)
				r = fail(
				    e, "damaged-volume",
				    "MFT record %lld is damaged (torn, or its attributes do not "
				    "fit it): the NTFS volume's metadata is damaged. Run 'chkdsk "
				    "/f' on it from Windows, then run nobounce again",
				    (long long)rec);
		}
	}
	free(buf);
	free(bits);
	free(mine.v);
	free(owner);
	return r;
}

/* A file to be written must own its clusters: inside the volume, marked in
 * use in $Bitmap, and claimed by no other MFT record (NTFS's own files,
 * directory indexes and every other file).  A cross-linked file (two
 * records' runs naming one cluster, left by a failing disk or made on
 * purpose) would have the write land in the other file too. */
static int runs_owned(struct vol *v, ntfs_inode *ni, ntfs_attr *na, const char *path, struct err *e)
{
	if (!NAttrNonResident(na))
		return 0;
	ntfs_volume *vol = ni->vol;
	if (ntfs_attr_map_whole_runlist(na) == -1)
		return fail(e, "damaged-volume",
			    "%s: its list of clusters cannot be read (%s): the NTFS volume's "
			    "metadata is damaged. Run 'chkdsk /f' on it from Windows, then run "
			    "nobounce again",
			    path, strerror(errno));
	int r = 0;
	for (runlist_element *rl = na->rl; rl && rl->length && r == 0; rl++) {
		if (rl->lcn < 0)
			continue;
		const char *why = NULL;
		if (rl->lcn > vol->nr_clusters || rl->length > vol->nr_clusters - rl->lcn)
			why = "lie past the end of the volume";
		else if (!clusters_in_use(vol, rl->lcn, rl->length))
			why = "are marked free in $Bitmap";
		if (why)
			r = fail(e, "damaged-volume",
				 "%s: its clusters %lld-%lld %s: the NTFS volume's metadata is "
				 "damaged. Run 'chkdsk /f' on it from Windows, then run nobounce "
				 "again",
				 path, (long long)rl->lcn, (long long)(rl->lcn + rl->length - 1),
				 why);
	}
	/* and no other record of the volume may claim them: the whole MFT,
	 * read once */
	struct ntvol *nt = v->priv;
	size_t at = 0;
	while (at < nt->nfiles && nt->files[at] != ni->mft_no)
		at++;
	if (r == 0 && (!nt->scanned || at >= nt->scanned - 1) && scan_mft(v, e) == -1)
		r = -1;
	for (size_t k = 0; k < nt->ncrossed && r == 0; k++)
		if (nt->crossed[k][0] == ni->mft_no) {
			CLEANUP_FREE char *other = record_name(vol, nt->crossed[k][1]);
			r = fail(e, "damaged-volume",
				 "%s: some of its clusters are also used by the file %s%s%sin MFT "
				 "record %llu (the NTFS volume is cross-linked), so a write would "
				 "land in both. Run 'chkdsk /f' on it from Windows, then run "
				 "nobounce again",
				 path, other ? "\"" : "", other ? other : "", other ? "\" " : "",
				 (unsigned long long)nt->crossed[k][1]);
		}
	return r;
}

static int n_inplace(struct vol *v, const char *path, struct err *e)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	if (open_regular(v, path, &ni, &na, e) == -1)
		return -1;
	int r = runs_owned(v, ni, na, path, e);
	if (r == 0 && (NAttrCompressed(na) || NAttrEncrypted(na) || NAttrSparse(na)))
		r = fail(e, "unsupported",
			 "%s: its data is %s on NTFS; nobounce writes only plain data in place. "
			 "In Windows, run 'compact /u' (or clear the attribute in its "
			 "properties), then run nobounce again",
			 path,
			 NAttrEncrypted(na)    ? "encrypted"
			 : NAttrCompressed(na) ? "compressed"
					       : "sparse");
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return r;
}

/* Closing an inode writes its MFT record when it changed. */
static int close_both(ntfs_inode *ni, ntfs_attr *na, const char *path, int r, struct err *e)
{
	ntfs_attr_close(na);
	if (ntfs_inode_close(ni) == -1 && r == 0)
		r = fail(e, "io", "%s: updating its MFT record failed: %s", path, strerror(errno));
	return r;
}

/* Runs op on a file's data attribute as one operation: its writes reach
 * the disk together when it ends. */
struct data_op {
	uint64_t off, len;
	const void *p;
};

static int resize_op(ntfs_attr *na, const struct data_op *d, const char *path, struct err *e);

static int on_data(struct vol *v, const char *path, const struct data_op *d,
		   int (*op)(ntfs_attr *na, const struct data_op *d, const char *path,
			     struct err *e),
		   struct err *e)
{
	struct ntvol *nt = v->priv;
	ntfs_inode *ni;
	ntfs_attr *na;
	if (open_regular(v, path, &ni, &na, e) == -1)
		return -1;
	/* a write in place lands in clusters the file owns: when every page
	 * it holds lies in them, NTFS's metadata is not touched */
	struct vol_ranges own = {0};
	if (op != resize_op && NAttrNonResident(na) && ntfs_attr_map_whole_runlist(na) == 0)
		for (runlist_element *rl = na->rl; rl && rl->length; rl++)
			if (rl->lcn >= 0) {
				own.v = xrealloc(own.v, (own.n + 1) * sizeof *own.v);
				own.v[own.n++] = (struct vol_range){
				    (uint64_t)rl->lcn << ni->vol->cluster_size_bits,
				    (uint64_t)rl->length << ni->vol->cluster_size_bits};
			}
	burst_begin(nt);
	int r = close_both(ni, na, path, op(na, d, path, e), e);
	int plain = own.n > 0;
	for (size_t i = 0; i < nt->nheld && plain; i++) {
		uint64_t a = nt->held[i].off, b = a + held_len(nt, a);
		plain = 0;
		for (size_t k = 0; k < own.n && !plain; k++)
			plain = own.v[k].off <= a && b <= own.v[k].off + own.v[k].len;
	}
	free(own.v);
	nt->plain = plain;
	return burst_end(nt, e) == -1 ? -1 : r;
}

static int write_op(ntfs_attr *na, const struct data_op *d, const char *path, struct err *e)
{
	s64 n = ntfs_attr_pwrite(na, (s64)d->off, (s64)d->len, d->p);
	if (n != (s64)d->len)
		return fail(e, "io", "%s: write failed at %llu: %s", path,
			    (unsigned long long)d->off,
			    n < 0 ? strerror(errno) : "short write (volume full?)");
	return 0;
}

/* solid: growth gets clusters now, never a hole that a later write would
 * have to allocate */
static int resize_op(ntfs_attr *na, const struct data_op *d, const char *path, struct err *e)
{
	if (na->data_size != (s64)d->len && ntfs_attr_truncate_solid(na, (s64)d->len) == -1)
		return fail(e, "io", "%s: cannot set its length to %llu: %s", path,
			    (unsigned long long)d->len,
			    errno == ENOSPC ? "the volume is full" : strerror(errno));
	return 0;
}

static int n_write_at(struct vol *v, const char *path, uint64_t off, const void *p, size_t len,
		      struct err *e)
{
	return on_data(v, path, &(struct data_op){off, len, p}, write_op, e);
}

static int n_resize(struct vol *v, const char *path, uint64_t len, struct err *e)
{
	return on_data(v, path, &(struct data_op){0, len, NULL}, resize_op, e);
}

static int n_sync(struct vol *v, int drop, struct err *e)
{
	struct ntvol *nt = v->priv;
	struct err why = {0};
	int r = drop ? bdev_drop_cache(nt->bd, &why) : bdev_flush(nt->bd, &why);
	if (r == -1)
		r = fail(e, "io", "flushing the volume failed: %s", why.msg);
	err_clear(&why);
	return r;
}

/* Splits path into its directory (opened) and its last name (UTF-16). */
static int open_parent(struct vol *v, const char *path, ntfs_inode **dir, ntfschar **uname,
		       int *ulen, struct err *e)
{
	const char *slash = strrchr(path, '/');
	CLEANUP_FREE char *dpath = slash ? strndup(path, (size_t)(slash - path)) : xstrdup("");
	if (walk(v, dpath, dir, e) == -1)
		return -1;
	if (!*dir)
		return fail(e, "io", "%s: its directory does not exist", path);
	*uname = NULL;
	*ulen = ntfs_mbstoucs(slash ? slash + 1 : path, uname);
	if (*ulen <= 0 || *ulen > 255) {
		ntfs_inode_close(*dir);
		free(*uname);
		return fail(e, "internal", "%s: bad file name", path);
	}
	return 0;
}

static int n_remove(struct vol *v, const char *path, struct err *e);

static int create_held(struct vol *v, const char *path, const void *p, size_t len, const char *like,
		       struct err *e)
{
	le32 securid = const_cpu_to_le32(0);
	if (like) {
		ntfs_inode *li;
		if (walk(v, like, &li, e) == -1)
			return -1;
		if (li) {
			securid = li->security_id; /* a copy is as private as its original */
			ntfs_inode_close(li);
		}
	}
	ntfs_inode *probe;
	if (walk(v, path, &probe, e) == -1)
		return -1;
	if (probe) {
		ntfs_inode_close(probe);
		return fail(e, "stray-file",
			    "%s: already exists and is not one nobounce made. Move it away "
			    "and run again",
			    path);
	}
	ntfs_inode *dir;
	ntfschar *uname;
	int ulen;
	if (open_parent(v, path, &dir, &uname, &ulen, e) == -1)
		return -1;
	ntfs_inode *ni = ntfs_create(dir, securid, uname, (u8)ulen, S_IFREG);
	int r = 0;
	if (!ni) {
		r = fail(e, "io", "%s: cannot create: %s", path,
			 errno == ENOSPC ? "the volume is full" : strerror(errno));
	} else {
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		s64 n = na && len ? ntfs_attr_pwrite(na, 0, (s64)len, p) : 0;
		if (!na)
			r = fail(e, "io", "%s: cannot open its data: %s", path, strerror(errno));
		else if (n != (s64)len)
			r = fail(e, "io", "%s: write failed: %s", path,
				 n >= 0 || errno == ENOSPC ? "the volume is full"
							   : strerror(errno));
		if (na)
			ntfs_attr_close(na);
		if (r == -1) {
			/* a file that could not be written whole is not left behind
			 * (ntfs_delete closes both inodes) */
			ntfs_delete(vol_of(v), NULL, ni, dir, uname, (u8)ulen);
			free(uname);
			return -1;
		}
		/* the directory is still open (and its index not yet written):
		 * the new name's index entry is updated through it */
		if (ntfs_inode_close_in_dir(ni, dir) == -1)
			r = fail(e, "io", "%s: %s", path, strerror(errno));
	}
	ntfs_inode_close(dir);
	free(uname);
	if (r == -1 && ni) {
		/* a create that fails leaves nothing behind, as far as the
		 * volume still lets us remove it */
		struct err e2 = {0};
		n_remove(v, path, &e2);
		err_clear(&e2);
	}
	return r;
}

static int n_create(struct vol *v, const char *path, const void *p, size_t len, const char *like,
		    struct err *e)
{
	struct ntvol *nt = v->priv;
	burst_begin(nt);
	int r = create_held(v, path, p, len, like, e);
	return burst_end(nt, e) == -1 ? -1 : r;
}

static int n_remove(struct vol *v, const char *path, struct err *e)
{
	ntfs_inode *ni;
	if (walk(v, path, &ni, e) == -1)
		return -1;
	if (!ni)
		return 0;
	if (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) {
		ntfs_inode_close(ni);
		return fail(e, "io", "%s: is a directory", path);
	}
	ntfs_inode *dir;
	ntfschar *uname;
	int ulen;
	if (open_parent(v, path, &dir, &uname, &ulen, e) == -1) {
		ntfs_inode_close(ni);
		return -1;
	}
	struct ntvol *nt = v->priv;
	burst_begin(nt);
	int r = 0;
	/* ntfs_delete closes both inodes, whatever happens */
	if (ntfs_delete(vol_of(v), NULL, ni, dir, uname, (u8)ulen) == -1)
		r = fail(e, "io", "%s: cannot remove: %s", path, strerror(errno));
	free(uname);
	return burst_end(nt, e) == -1 ? -1 : r;
}

/* Names are FILE_NAME attributes; a DOS 8.3 alias of a long name is one of
 * its own but no second link ("MetaBase.xml" also has "METABASE.XML"). */
static int n_links(struct vol *v, const char *path, struct err *e)
{
	ntfs_inode *ni;
	if (walk(v, path, &ni, e) == -1)
		return -1;
	if (!ni)
		return fail(e, "io", "%s: does not exist", path);
	ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
	int n = 0;
	while (ctx &&
	       !ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
		const ATTR_RECORD *a = ctx->attr;
		const FILE_NAME_ATTR *fn =
		    (const FILE_NAME_ATTR *)((const u8 *)a + le16_to_cpu(a->value_offset));
		if (!a->non_resident && fn->file_name_type != FILE_NAME_DOS)
			n++;
	}
	if (ctx)
		ntfs_attr_put_search_ctx(ctx);
	ntfs_inode_close(ni);
	return n;
}

static int n_lock(struct vol *v, int exclusive, struct err *e)
{
	(void)v, (void)exclusive, (void)e;
	return 0; /* the image file itself is locked by main.c */
}

static void n_close(struct vol *v)
{
	struct ntvol *nt = v->priv;
	struct err e = {0};
	burst_begin(nt);
	if (nt->vol && ntfs_umount(nt->vol, FALSE) == -1)
		note("%s: unmounting failed: %s", v->name, strerror(errno));
	if (burst_end(nt, &e) == -1 || (v->writable && bdev_flush(nt->bd, &e) == -1))
		note("%s: unmounting: %s", v->name, e.msg);
	err_clear(&e);
	free(nt->sound);
	free(nt->files);
	free(nt->crossed);
	if (nt->udir >= 0)
		close(nt->udir);
	free(nt->udirpath);
	free(nt->uname);
	free(nt->dev_err);
	for (size_t i = 0; i < nt->npreset; i++)
		free(nt->preset[i].p);
	free(nt->preset);
	free(nt);
}

/* ---- a budget of reads for each operation ----
 *
 * libntfs-3g follows where the volume's metadata points.  Where that loops
 * -- a directory index is checked as a tree before a lookup in it, but
 * nothing else is -- one operation would read forever.  So each operation
 * of the door, and the mount, may read at most 16 GiB plus four times the
 * volume: far more than any sound volume needs (a whole-MFT scan reads the
 * $MFT once), and seconds of work at the page cache's speed when it loops.
 * Running out is a damaged volume. */

static void op_begin(struct ntvol *nt)
{
	free(nt->dev_err);
	nt->dev_err = NULL;
	nt->spent = 0;
	nt->overrun = 0;
	nt->budget = (16ull << 30) + 4 * nt->size;
#ifdef NOBOUNCE_FAULTS
	if (getenv("NOBOUNCE_READ_BUDGET")) /* the tests' own, small budget */
		nt->budget = strtoull(getenv("NOBOUNCE_READ_BUDGET"), NULL, 10);
#endif
}

static int op_end(struct ntvol *nt, int r, const char *path, struct err *e)
{
	if (r == -1 && nt->overrun) {
		CLEANUP_FREE char *low = e->msg ? xstrdup(e->msg) : NULL;
		err_clear(e);
		fail(e, "damaged-volume",
		     "%s: reading it took more than %llu bytes of the volume, which no sound "
		     "volume needs: NTFS's metadata loops (%s). Run 'chkdsk /f' on it from "
		     "Windows, then run nobounce again",
		     path && *path ? path : "/", (unsigned long long)nt->budget,
		     low ? low : "the read was stopped");
	} else if (r == -1 && nt->dev_err && e->msg &&
		   (STREQ(e->kind, "damaged-volume") || STREQ(e->kind, "unreadable-image"))) {
		/* the disk failed, not NTFS: no chkdsk can mend that */
		err_clear(e);
		fail(e, "io",
		     "%s: reading it failed: %s. Check the disk (or the image and what serves "
		     "it), then run nobounce again",
		     path && *path ? path : "/", nt->dev_err);
	} else if (r == -1 && nt->dev_err && e->msg && !strstr(e->msg, nt->dev_err)) {
		/* libntfs-3g says only EIO: what the disk said is kept */
		CLEANUP_FREE char *low = xstrdup(e->msg);
		const char *kind = e->kind;
		err_clear(e);
		fail(e, kind, "%s (%s)", low, nt->dev_err);
	}
	nt->budget = 0;
	return r;
}

#define BUDGETED(op, params, path, args)                                                           \
	static int b_##op params                                                                   \
	{                                                                                          \
		op_begin(v->priv);                                                                 \
		return op_end(v->priv, n_##op args, path, e);                                      \
	}
BUDGETED(list, (struct vol * v, const char *dir, struct strlist *out, struct err *e), dir,
	 (v, dir, out, e))
BUDGETED(kind, (struct vol * v, const char *path, struct err *e), path, (v, path, e))
BUDGETED(read, (struct vol * v, const char *path, size_t max, struct buf *out, struct err *e), path,
	 (v, path, max, out, e))
BUDGETED(size, (struct vol * v, const char *path, uint64_t *size, struct err *e), path,
	 (v, path, size, e))
BUDGETED(read_at,
	 (struct vol * v, const char *path, uint64_t off, void *p, size_t len, struct err *e), path,
	 (v, path, off, p, len, e))
BUDGETED(write_at,
	 (struct vol * v, const char *path, uint64_t off, const void *p, size_t len, struct err *e),
	 path, (v, path, off, p, len, e))
BUDGETED(resize, (struct vol * v, const char *path, uint64_t len, struct err *e), path,
	 (v, path, len, e))
BUDGETED(create,
	 (struct vol * v, const char *path, const void *p, size_t len, const char *like,
	  struct err *e),
	 path, (v, path, p, len, like, e))
BUDGETED(remove, (struct vol * v, const char *path, struct err *e), path, (v, path, e))
BUDGETED(links, (struct vol * v, const char *path, struct err *e), path, (v, path, e))
BUDGETED(inplace, (struct vol * v, const char *path, struct err *e), path, (v, path, e))

static const struct vol_ops ntfs_ops = {
    .list = b_list,
    .kind = b_kind,
    .read = b_read,
    .size = b_size,
    .read_at = b_read_at,
    .write_at = b_write_at,
    .resize = b_resize,
    .sync = n_sync,
    .create = b_create,
    .remove = b_remove,
    .links = b_links,
    .inplace = b_inplace,
    .lock = n_lock,
    .close = n_close,
};

/* The clusters of one attribute (none when it is resident: then it lies in
 * its MFT record, inside $MFT). */
static void add_runs(ntfs_inode *ni, ATTR_TYPES type, ntfschar *name, u32 len,
		     struct vol_ranges *out)
{
	ntfs_attr *na = ni ? ntfs_attr_open(ni, type, name, len) : NULL;
	if (na && NAttrNonResident(na) && ntfs_attr_map_whole_runlist(na) == 0) {
		int bits = ni->vol->cluster_size_bits;
		for (runlist_element *rl = na->rl; rl && rl->length; rl++)
			if (rl->lcn >= 0) {
				out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
				out->v[out->n++] = (struct vol_range){(uint64_t)rl->lcn << bits,
								      (uint64_t)rl->length << bits};
			}
	}
	if (na)
		ntfs_attr_close(na);
}

int vol_ntfs_metadata(struct vol *v, const struct strlist *dirs, struct vol_ranges *out,
		      struct err *e)
{
	ntfs_volume *vol = vol_of(v);
	static const u64 files[] = {FILE_MFT, FILE_MFTMirr, FILE_LogFile, FILE_Bitmap, FILE_Boot};
	out->v = NULL;
	out->n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		ntfs_inode *ni = ntfs_inode_open(vol, files[i]);
		if (!ni)
			return fail(e, "unreadable-image", "NTFS system file %llu cannot be read",
				    (unsigned long long)files[i]);
		add_runs(ni, AT_DATA, AT_UNNAMED, 0, out);
		add_runs(ni, AT_BITMAP, AT_UNNAMED, 0, out); /* $MFT's record bitmap */
		ntfs_inode_close(ni);
	}
	for (size_t i = 0; i < dirs->n; i++) {
		ntfs_inode *ni;
		if (walk(v, dirs->v[i], &ni, e) == -1)
			return -1;
		add_runs(ni, AT_INDEX_ALLOCATION, NTFS_INDEX_I30, 4, out);
		add_runs(ni, AT_BITMAP, NTFS_INDEX_I30, 4, out);
		if (ni)
			ntfs_inode_close(ni);
	}
	return 0;
}

/* ---- mounting ---- */

static ntfs_volume *mount(struct ntvol *nt, const char *name, int writable)
{
	struct ntfs_device *dev = ntfs_device_alloc(name, 0, &ntfs_dev_ops, nt);
	if (!dev)
		return NULL;
	ntfs_volume *vol = ntfs_device_mount(dev, writable ? NTFS_MNT_NONE : NTFS_MNT_RDONLY);
	if (!vol) {
		int err = errno;
		ntfs_device_free(dev);
		errno = err;
	}
	return vol;
}

/* What the first bytes of hiberfil.sys say: NULL when Windows will start
 * normally, else why the volume must not be written.  "hibr" is a saved
 * session (ntfs-3g and GRUB refuse only that); "wake" one Windows resumed
 * from, so that it starts normally (libhibr's documentation), and zeros a
 * file that holds none.  "RSTR" is a resume under way; any other signature
 * is one nobounce cannot judge, so it refuses too. */
static char *hibernation(const char h[4])
{
	if (!memcmp(h, "\0\0\0\0", 4) || !strncasecmp(h, "wake", 4))
		return NULL;
	if (!strncasecmp(h, "hibr", 4))
		return xstrdup("the volume is hibernated (hiberfil.sys holds a saved Windows "
			       "session, which would overwrite any change when it resumes)");
	if (!strncasecmp(h, "rstr", 4))
		return xstrdup("a resume from hibernation was under way (hiberfil.sys says "
			       "RSTR): the saved session may still be restored over any change");
	char sig[17];
	size_t at = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			sig[at++] = (char)c;
		else
			at += (size_t)snprintf(sig + at, sizeof sig - at, "\\x%02x", c);
	}
	sig[at] = 0;
	return xasprintf("hiberfil.sys starts with \"%s\", a signature nobounce does not "
			 "know, so it cannot tell whether a saved Windows session would "
			 "resume over any change",
			 sig);
}

/* Why the volume must not be written, judged on a read-only mount. */
static void judge(struct vol *v)
{
	ntfs_volume *vol = vol_of(v);
	struct buf b = {0};
	struct err e = {0};
	char *real = NULL;
	int kind = 0;
	/* libntfs-3g looks names up in these two when it mounts for writing
	 * (hiberfil.sys, $Extend's files): a loop in either would hang it */
	static const struct {
		u64 mft;
		const char *name;
	} dirs[] = {{FILE_root, "/ (the root directory)"}, {FILE_Extend, "$Extend"}};
	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !v->refusal; i++) {
		ntfs_inode *ni = ntfs_inode_open(vol, dirs[i].mft);
		const char *why = NULL;
		if (ni && (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY))
			why = index_fault(ni);
		else if (dirs[i].mft == FILE_root) /* NTFS 1.2 has no $Extend */
			why = ni ? "it is not a directory" : strerror(errno);
		if (why) {
			v->refusal_kind = "damaged-volume";
			v->refusal = xasprintf("%s: the directory's index is damaged: %s. Run "
					       "'chkdsk /f' on the volume from Windows, then run "
					       "nobounce again",
					       dirs[i].name, why);
		}
		if (ni)
			ntfs_inode_close(ni);
	}
	if (!v->refusal && vol_resolve(v, HIBERFIL, &real, &kind, &e) == 1 && kind == VOL_FILE) {
		ntfs_inode *ni;
		ntfs_attr *na;
		if (open_regular(v, real, &ni, &na, &e) == 0) {
			char head[4] = {0};
			char *why = NULL;
			if (na->data_size >= 4 && ntfs_attr_pread(na, 0, 4, head) == 4)
				why = hibernation(head);
			if (why) {
				v->refusal_kind = "hibernated";
				v->refusal =
				    xasprintf("%s. Boot Windows and shut it down fully, or "
					      "run 'powercfg /h off', then run nobounce "
					      "again",
					      why);
				free(why);
			}
			ntfs_attr_close(na);
			ntfs_inode_close(ni);
		}
	}
	free(real);
	buf_free(&b);
	err_clear(&e);
	if (!v->refusal && (vol->flags & VOLUME_IS_DIRTY)) {
		v->refusal_kind = "dirty-volume";
		v->refusal =
		    xstrdup("the NTFS volume is marked dirty (Windows did not unmount it "
			    "cleanly). Run 'chkdsk /f' on it from Windows, or boot and shut "
			    "down cleanly, then run nobounce again");
	}
}

/* The undo log's name for this volume: its serial number, its offset, and
 * the disk it is on (a device by number, an image file by inode number), so that
 * clones of one template, which share a serial number, never share a log.
 * NULL when the volume has no NTFS boot sector or its disk no identity. */
static char *undo_name(struct ntvol *nt)
{
	uint8_t bs[512];
	struct err e = {0};
	struct stat st;
	const char *uri = bdev_uri(nt->bd);
	if (bdev_pread(nt->bd, bs, sizeof bs, nt->off, &e) == -1 ||
	    memcmp(bs + 3, "NTFS    ", 8) != 0 || (!uri && bdev_identity(nt->bd, &st) == -1)) {
		err_clear(&e);
		return NULL;
	}
	nt->serial = 0;
	for (int i = 7; i >= 0; i--)
		nt->serial = nt->serial << 8 | bs[0x48 + i];
	if (uri) { /* an export: named by where it is */
		char sha[65];
		sha256_hex(uri, strlen(uri), sha);
		return xasprintf("ntfs-%016llx-at-%llu-nbd-%.16s.undo",
				 (unsigned long long)nt->serial, (unsigned long long)nt->off, sha);
	}
	if (S_ISBLK(st.st_mode))
		return xasprintf("ntfs-%016llx-at-%llu-dev-%llx.undo",
				 (unsigned long long)nt->serial, (unsigned long long)nt->off,
				 (unsigned long long)st.st_rdev);
	/* not st_dev: a file system's device number can change at the reboot
	 * that follows a power cut */
	return xasprintf("ntfs-%016llx-at-%llu-file-%llx.undo", (unsigned long long)nt->serial,
			 (unsigned long long)nt->off, (unsigned long long)st.st_ino);
}

/* Whether a log fits the volume as it is: each sector of its pages holds
 * its old bytes or its new ones, as a cut of that update leaves it (a page
 * torn at a sector boundary holds some of each).  0 and the number of pages
 * that are not all old, or -1 and what does not fit. */
static int undo_fits(struct ntvol *nt, const struct undo_log *u, const char *fname, size_t *differ,
		     struct err *e)
{
	*differ = 0;
	if (u->part_off != nt->off || u->serial != nt->serial)
		return fail(e, "stray-file",
			    "%s/%s: the undo log names another volume. Move it away, then run "
			    "nobounce again",
			    nt->udirpath, fname);
	uint8_t *cur = xmalloc(UNDO_PAGE_MAX);
	int r = 0;
	for (size_t i = 0; i < u->npages && r == 0; i++) {
		const struct undo_page *g = &u->pages[i];
		if (g->off % NB_PAGE || g->off >= nt->size || g->len != held_len(nt, g->off)) {
			r = fail(e, "stray-file",
				 "%s/%s: the undo log names a page outside this volume. Move it "
				 "away, then run nobounce again",
				 nt->udirpath, fname);
			break;
		}
		if (bdev_pread(nt->bd, cur, g->len, nt->off + g->off, e) == -1) {
			r = -1;
			break;
		}
		if (memcmp(cur, g->old, g->len) == 0)
			continue;
		(*differ)++;
		for (size_t at = 0; at < g->len && r == 0; at += 512) {
			size_t n = g->len - at < 512 ? g->len - at : 512;
			if (memcmp(cur + at, g->old + at, n) != 0 &&
			    memcmp(cur + at, g->new + at, n) != 0)
				r = fail(
				    e, "stray-file",
				    "%s/%s: the undo log of an NTFS update cut short does not "
				    "fit this volume (its sector at byte %llu holds neither the "
				    "bytes before the update nor those after): another copy of "
				    "this disk? Move it away, then run nobounce again",
				    nt->udirpath, fname, (unsigned long long)(g->off + at));
		}
	}
	free(cur);
	return r;
}

/* Puts a fitting log's old pages back (for a read-only run, into the view
 * only). */
static int undo_apply(struct ntvol *nt, const struct undo_log *u, int writable, struct err *e)
{
	int r = 0;
	for (size_t i = 0; i < u->npages && r == 0; i++) {
		const struct undo_page *g = &u->pages[i];
		if (writable) {
			r = bdev_pwrite(nt->bd, g->old, g->len, nt->off + g->off, e);
		} else {
			nt->preset = xrealloc(nt->preset, (nt->npreset + 1) * sizeof *nt->preset);
			uint8_t *p = xcalloc(1, NB_PAGE);
			memcpy(p, g->old, g->len);
			nt->preset[nt->npreset++] = (struct held){g->off, p};
		}
	}
	return r == 0 && writable ? bdev_flush(nt->bd, e) : r;
}

/* A log found under another image's name: a copy of an image made after a
 * cut, beside the original's log.  One whose update had begun on exactly
 * these bytes (a page holds its new ones, and every other its old) is put
 * back, and kept: the original may still need it. */
static int undo_adopt(struct ntvol *nt, const char *name, int writable, struct err *e)
{
	CLEANUP_FREE char *self = xasprintf("/proc/self/fd/%d", nt->udir);
	CLEANUP_FREE char *prefix = xasprintf(
	    "ntfs-%016llx-at-%llu-", (unsigned long long)nt->serial, (unsigned long long)nt->off);
	DIR *d = opendir(self);
	if (!d)
		return 0;
	int r = 0, done = 0;
	for (struct dirent *de; r == 0 && !done && (de = readdir(d));) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    STREQ(de->d_name, nt->uname))
			continue;
		struct buf b = {0};
		struct err skip = {0};
		struct undo_log u = {0};
		size_t differ;
		if (undo_load(nt->udir, nt->udirpath, de->d_name, &b, &skip) == 1 &&
		    !undo_parse(b.p, b.len, &u) &&
		    undo_fits(nt, &u, de->d_name, &differ, &skip) == 0 && differ) {
			r = undo_apply(nt, &u, writable, e);
			if (r == 0)
				note("%s: an NTFS update of a copy of this image was cut short: "
				     "%zu of "
				     "its %zu pages %s from %s/%s, which stays for the copy it was "
				     "made for",
				     name, differ, u.npages,
				     writable ? "put back" : "read as they were", nt->udirpath,
				     de->d_name);
			done = 1;
		}
		err_clear(&skip);
		free(u.pages);
		buf_free(&b);
	}
	closedir(d);
	return r;
}

/* An undo log left by a metadata update that was cut short: its old pages
 * go back before anything reads the volume, and the log is removed.  A log
 * that does not fit the volume stops the run, with nothing put back. */
static int undo_replay(struct ntvol *nt, const char *name, int writable, struct err *e)
{
	struct buf b = {0};
	int r = undo_load(nt->udir, nt->udirpath, nt->uname, &b, e);
	if (r == 0)
		return undo_adopt(nt, name, writable, e);
	if (r == -1)
		return -1;
	struct undo_log u;
	const char *why = undo_parse(b.p, b.len, &u);
	if (why) {
		/* written whole and synced before the first page is: a log cut
		 * short means no page was written */
		note("%s: %s/%s: %s: no page was written under it; removed", name, nt->udirpath,
		     nt->uname, why);
		buf_free(&b);
		return writable ? undo_drop(nt->udir, nt->udirpath, nt->uname, e) : 0;
	}
	size_t differ;
	r = undo_fits(nt, &u, nt->uname, &differ, e);
	if (r == 0 && differ)
		r = undo_apply(nt, &u, writable, e);
	if (r == 0 && writable)
		r = undo_drop(nt->udir, nt->udirpath, nt->uname, e);
	if (r == 0 && differ)
		note("%s: an NTFS update was cut short (a crash or power cut): %zu of its %zu "
		     "pages %s from %s/%s",
		     name, differ, u.npages, writable ? "put back" : "read as they were",
		     nt->udirpath, nt->uname);
	free(u.pages);
	buf_free(&b);
	return r;
}

struct vol *vol_open_ntfs(struct blockdev *bd, uint64_t off, uint64_t size, const char *name,
			  int writable, struct err *e)
{
	/* libntfs-3g's own messages only with -v; ours say what matters */
	static int logs_set;
	if (!logs_set++) {
		ntfs_log_clear_levels(~0u);
		if (verbose) {
			ntfs_log_set_handler(ntfs_log_handler_stderr);
			ntfs_log_set_levels(NTFS_LOG_LEVEL_ERROR | NTFS_LOG_LEVEL_PERROR |
					    NTFS_LOG_LEVEL_CRITICAL | NTFS_LOG_LEVEL_WARNING);
		}
	}
	struct ntvol *nt = xcalloc(1, sizeof *nt);
	nt->bd = bd;
	nt->off = off;
	nt->size = size;
	struct vol *v = xcalloc(1, sizeof *v);
	v->ops = &ntfs_ops;
	v->name = xstrdup(name);
	v->priv = nt;
	nt->udir = -1;
	nt->uname = undo_name(nt);
	if (nt->uname) {
		struct err why = {0};
		/* a read-only run makes nothing: no directory, no log to find */
		nt->udir = undo_dir(&nt->udirpath, writable, &why);
		if (nt->udir == -1 && writable)
			note("%s: %s; NTFS metadata updates go without an undo log", name, why.msg);
		err_clear(&why);
	}
	if (nt->udir >= 0 && undo_replay(nt, name, writable, e) == -1) {
		vol_close(v);
		return NULL;
	}
	/* read-only first, to look before writing anything at all */
	op_begin(nt);
	nt->vol = mount(nt, name, 0);
	if (!nt->vol) {
		if (nt->overrun)
			fail(e, "damaged-volume",
			     "mounting the NTFS volume took more than %llu bytes of reads, which "
			     "no sound volume needs: its metadata loops. Run 'chkdsk /f' on it "
			     "from Windows, then run nobounce again",
			     (unsigned long long)nt->budget);
		else if (nt->dev_err)
			fail(e, "io",
			     "reading the NTFS volume failed: %s. Check the disk (or the image and "
			     "what serves it) and run nobounce again",
			     nt->dev_err);
		else
			fail(e, "unreadable-image",
			     "the NTFS volume cannot be mounted: %s. Run 'chkdsk /f' "
			     "on it from Windows",
			     strerror(errno));
		vol_close(v);
		return NULL;
	}
	judge(v);
	if (writable && !v->refusal) {
		ntfs_umount(nt->vol, FALSE);
		burst_begin(nt); /* what mounting for writing writes, at once */
		nt->vol = mount(nt, name, 1);
		struct err held = {0};
		if (burst_end(nt, &held) == -1 && nt->vol) {
			ntfs_umount(nt->vol, FALSE);
			nt->vol = NULL;
			errno = EIO;
		}
		if (held.msg) {
			fail(e, held.kind,
			     "mounting the NTFS volume for writing failed: %s. Check the disk "
			     "(or the image and what serves it) and run nobounce again",
			     held.msg);
			err_clear(&held);
			vol_close(v);
			return NULL;
		}
		if (!nt->vol && nt->dev_err) {
			fail(e, "io",
			     "mounting the NTFS volume for writing failed: %s. Check the disk "
			     "(or the image and what serves it) and run nobounce again",
			     nt->dev_err);
			vol_close(v);
			return NULL;
		}
		if (!nt->vol) {
			int err = errno;
			fail(e, "dirty-volume",
			     "the NTFS volume cannot be opened for writing (%s): its journal is "
			     "not clean or it is in use. Boot Windows and shut it down cleanly, "
			     "then run nobounce again",
			     strerror(err));
			vol_close(v);
			return NULL;
		}
		v->writable = 1;
	}
	nt->budget = 0; /* the door's operations set their own */
	return v;
}
