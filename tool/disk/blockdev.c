/* SPDX-License-Identifier: GPL-2.0-or-later */
/* blockdev: byte ranges of a raw image, a device, an image served by
 * qemu-nbd (nbd.c) or a dynamic volume's legs (see blockdev.h). */
#include "disk/blockdev_impl.h"
#include "disk/imgfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <libnbd.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- in use? ---- */

/* qemu keeps byte-range locks (open file description locks) on bytes 100
 * to 299 of every image it has open: a shared lock on byte 100 + P while it
 * holds permission P (1 is write), on byte 200 + P while it does not let
 * others have P.  A raw image or device written here takes all of them,
 * exclusively; one only read here is treated as qemu treats its readers: a
 * process holding write permission (byte 101) refuses us, and our shared
 * lock on byte 201 ("write is not shared") refuses a writer meanwhile.  So
 * a running virtual machine (or qemu-img) and nobounce never overlap. */
#define QEMU_LOCK_BASE 100
#define QEMU_LOCK_BYTES 200
#define QEMU_PERM_WRITE 1

static int lock_error(struct blockdev *bd, struct err *e)
{
	if (errno == EAGAIN || errno == EACCES)
		return fail(e, "in-use",
			    "in use: a virtual machine or a qemu tool has it open%s (it holds "
			    "qemu's lock on the image). Shut the virtual machine down first",
			    bd->writable ? "" : " for writing");
	if (errno == EINVAL || errno == ENOLCK)
		return 0; /* a file system without such locks: qemu cannot lock it either */
	return fail(e, "io", "cannot lock it: %s", strerror(errno));
}

static int qemu_lock(struct blockdev *bd, struct err *e)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = QEMU_LOCK_BASE};
	if (bd->writable) {
		fl.l_len = QEMU_LOCK_BYTES;
		return fcntl(bd->fd, F_OFD_SETLK, &fl) == 0 ? 0 : lock_error(bd, e);
	}
	fl.l_start = QEMU_LOCK_BASE + QEMU_PERM_WRITE;
	fl.l_len = 1;
	if (fcntl(bd->fd, F_OFD_GETLK, &fl) == -1)
		return lock_error(bd, e);
	if (fl.l_type != F_UNLCK) {
		errno = EAGAIN;
		return lock_error(bd, e);
	}
	fl = (struct flock){.l_type = F_RDLCK,
			    .l_whence = SEEK_SET,
			    .l_start = QEMU_LOCK_BASE + QEMU_LOCK_BYTES / 2 + QEMU_PERM_WRITE,
			    .l_len = 1};
	return fcntl(bd->fd, F_OFD_SETLK, &fl) == 0 ? 0 : lock_error(bd, e);
}

struct blockdev *bdev_open(const char *name, int fd, int dirfd, const char *format, int writable,
			   struct err *e)
{
	struct blockdev *bd = xcalloc(1, sizeof *bd);
	bd->name = xstrdup(name);
	bd->fd = fd;
	bd->dirfd = dirfd;
	bd->writable = writable;
	bd->align = 1;
	char fmt[16];
	if (!format && imgfmt_detect(fd, fmt, sizeof fmt, e) == -1) {
		bdev_close(bd);
		return NULL;
	}
	bd->format = xstrdup(format ? format : fmt);
	int r;
	if (STREQ(bd->format, "raw")) {
		r = fd_size(fd, &bd->size);
		if (r == -1)
			fail(e, "io", "cannot get its size: %s", strerror(errno));
		if (r == 0)
			r = qemu_lock(bd, e);
	} else {
		note("%s: serving it as %s with qemu-nbd", name, bd->format);
		r = nbdsrv_start(bd, !format, e);
	}
	if (r == -1) {
		bdev_close(bd);
		return NULL;
	}
	return bd;
}

struct blockdev *bdev_open_legs(const char *name, const struct bdev_leg *legs, size_t n,
				uint64_t size, int writable)
{
	struct blockdev *bd = xcalloc(1, sizeof *bd);
	bd->name = xstrdup(name);
	bd->format = xstrdup("ldm");
	bd->size = size;
	bd->writable = writable;
	bd->fd = bd->dirfd = -1;
	bd->align = 1;
	bd->legs = xmalloc(n * sizeof *bd->legs);
	memcpy(bd->legs, legs, n * sizeof *legs);
	bd->nlegs = n;
	return bd;
}

#define LEG_CHUNK ((size_t)1 << 20)

/* Calls fn on each chunk of [off, off+len) with the first leg's bytes in a
 * and another leg's in b. */
static int legs_walk(struct blockdev *bd, uint64_t off, uint64_t len,
		     int (*fn)(struct blockdev *bd, size_t leg, uint64_t at, const uint8_t *a,
			       const uint8_t *b, size_t n, void *ctx, struct err *e),
		     void *ctx, struct err *e)
{
	uint8_t *a = xmalloc(LEG_CHUNK), *b = xmalloc(LEG_CHUNK);
	int r = 0;
	for (uint64_t done = 0; done < len && r == 0;) {
		size_t n = len - done < LEG_CHUNK ? (size_t)(len - done) : LEG_CHUNK;
		r = bdev_pread(bd, a, n, off + done, e);
		for (size_t i = 1; i < bd->nlegs && r == 0; i++) {
			struct bdev_leg *l = &bd->legs[i];
			r = bdev_pread(l->bd, b, n, l->off + off + done, e);
			if (r == 0)
				r = fn(bd, i, off + done, a, b, n, ctx, e);
		}
		done += n;
	}
	free(a);
	free(b);
	return r;
}

static int differ(struct blockdev *bd, size_t leg, uint64_t at, const uint8_t *a, const uint8_t *b,
		  size_t n, void *ctx, struct err *e)
{
	(void)bd, (void)leg, (void)at, (void)e;
	if (memcmp(a, b, n))
		*(int *)ctx = 0;
	return 0;
}

int bdev_legs_agree(struct blockdev *bd, uint64_t off, uint64_t len, struct err *e)
{
	int same = 1;
	if (off > bd->size || len > bd->size - off)
		return fail(e, "damaged-image", "a range past the volume's end");
	return legs_walk(bd, off, len, differ, &same, e) == -1 ? -1 : same;
}

/* Rewrites the 4 KiB pages of another leg that differ from the first's. */
static int copy_over(struct blockdev *bd, size_t leg, uint64_t at, const uint8_t *a,
		     const uint8_t *b, size_t n, void *ctx, struct err *e)
{
	struct bdev_leg *l = &bd->legs[leg];
	for (size_t o = 0; o < n; o += 4096) {
		size_t k = n - o < 4096 ? n - o : 4096;
		if (!memcmp(a + o, b + o, k))
			continue;
		*(uint64_t *)ctx += k;
		if (bdev_pwrite(l->bd, a + o, k, l->off + at + o, e) == -1)
			return -1;
	}
	return 0;
}

int bdev_legs_resync(struct blockdev *bd, uint64_t *copied, struct err *e)
{
	*copied = 0;
	if (legs_walk(bd, 0, bd->size, copy_over, copied, e) == -1)
		return -1;
	return bdev_flush(bd, e);
}

#ifdef NOBOUNCE_FAULTS
/* A failing device, for the tests: NOBOUNCE_EIO_AFTER=N makes every write
 * after the first N fail with EIO, NOBOUNCE_EIO_READS_AFTER=N every read
 * after the first N. */
static int eio_now(const char *var, long *left)
{
	if (*left == -2) {
		const char *s = getenv(var);
		*left = s ? atol(s) : -1;
	}
	if (*left < 0)
		return 0;
	return (*left)-- == 0 ? (*left = 0, 1) : 0;
}
static long writes_left = -2, reads_left = -2;
#define write_fails() eio_now("NOBOUNCE_EIO_AFTER", &writes_left)
#define read_fails() eio_now("NOBOUNCE_EIO_READS_AFTER", &reads_left)
#else
#define write_fails() 0
#define read_fails() 0
#endif

/* A leg's failure names its disk: a mirror's two halves are two disks. */
static int on_leg(struct blockdev *bd, size_t i, int r, struct err *e)
{
	if (r == -1 && e->msg) {
		CLEANUP_FREE char *low = xstrdup(e->msg);
		const char *kind = e->kind;
		err_clear(e);
		fail(e, kind, "%s: %s", bd->legs[i].bd->name, low);
	}
	return r;
}

int bdev_pread(struct blockdev *bd, void *p, size_t len, uint64_t off, struct err *e)
{
	if (off > bd->size || len > bd->size - off)
		return fail(e, "damaged-image", "read of %zu bytes at %llu is past its end", len,
			    (unsigned long long)off);
	if (bd->legs)
		return on_leg(bd, 0, bdev_pread(bd->legs[0].bd, p, len, bd->legs[0].off + off, e),
			      e);
	if (bd->nbd)
		return nbdsrv_io(bd, p, len, off, 0, e);
	int r = read_fails() ? (errno = EIO, -1) : pread_all(bd->fd, p, len, off);
	if (r == -1)
		return fail(e, "io", "pread of %zu bytes at byte %llu failed: %s", len,
			    (unsigned long long)off, errno ? strerror(errno) : "short read");
	return 0;
}

int bdev_pwrite(struct blockdev *bd, const void *p, size_t len, uint64_t off, struct err *e)
{
	if (write_fails()) {
		errno = EIO;
		return fail(e, "io", "pwrite of %zu bytes at byte %llu failed: %s", len,
			    (unsigned long long)off, strerror(EIO));
	}
	if (!bd->writable)
		return fail(e, "internal", "write refused: opened read-only");
	if (off > bd->size || len > bd->size - off)
		return fail(e, "damaged-image", "write past its end");
	for (size_t i = 0; i < bd->nlegs; i++) { /* each leg whole, in order */
		if (i)
			FAULT("between-legs"); /* the halves differ here */
		if (on_leg(bd, i, bdev_pwrite(bd->legs[i].bd, p, len, bd->legs[i].off + off, e),
			   e) == -1)
			return -1;
	}
	if (bd->legs)
		return 0;
	bd->written += len;
	if (bd->nbd)
		return nbdsrv_io(bd, (void *)p, len, off, 1, e);
	if (pwrite_all(bd->fd, p, len, off) == -1)
		return fail(e, "io", "pwrite of %zu bytes at byte %llu failed: %s", len,
			    (unsigned long long)off, strerror(errno));
	return 0;
}

int bdev_flush(struct blockdev *bd, struct err *e)
{
	if (!bd->writable)
		return 0;
	for (size_t i = 0; i < bd->nlegs; i++)
		if (on_leg(bd, i, bdev_flush(bd->legs[i].bd, e), e) == -1)
			return -1;
	if (bd->legs)
		return 0;
	if (bd->nbd) {
		if (nbd_can_flush(bd->nbd) == 1 && nbd_flush(bd->nbd, 0) == -1)
			return fail(e, "io", "NBD flush failed: %s", nbd_get_error());
		return 0;
	}
	if (fsync(bd->fd) == -1)
		return fail(e, "io", "fsync failed: %s", strerror(errno));
	return 0;
}

int bdev_drop_cache(struct blockdev *bd, struct err *e)
{
	if (bdev_flush(bd, e) == -1)
		return -1;
	for (size_t i = 0; i < bd->nlegs; i++)
		if (bdev_drop_cache(bd->legs[i].bd, e) == -1)
			return -1;
	/* qemu-nbd reads its image through the host's cache: what it serves
	 * after a flush is what the image file holds */
	if (!bd->legs && !bd->nbd)
		posix_fadvise(bd->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

void bdev_close(struct blockdev *bd)
{
	if (!bd)
		return;
	if (bd->writable && !bd->legs)
		note("%s: %llu bytes written", bd->name, (unsigned long long)bd->written);
	free(bd->legs); /* the disks are their opener's */
	if (bd->nbd) {
		nbd_shutdown(bd->nbd, 0);
		nbd_close(bd->nbd);
	}
	nbdsrv_stop(bd);
	if (bd->fd >= 0)
		close(bd->fd);
	if (bd->dirfd >= 0)
		close(bd->dirfd);
	free(bd->name);
	free(bd->format);
	free(bd->uri);
	free(bd);
}

int bdev_is_uri(const char *name)
{
	static const char *const schemes[] = {"nbd://",	      "nbds://",      "nbd+unix://",
					      "nbds+unix://", "nbd+vsock://", "nbds+vsock://"};
	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++)
		if (!strncmp(name, schemes[i], strlen(schemes[i])))
			return 1;
	return 0;
}

struct blockdev *bdev_open_uri(const char *uri, const char *format, int writable, struct err *e)
{
	if (format && !STREQ(format, "raw")) {
		fail(e, "unsupported-target",
		     "an NBD export is the disk's bytes as its server decodes them: give no "
		     "--format, or raw (not %s)",
		     format);
		return NULL;
	}
	struct nbd_handle *h = nbd_create();
	if (h && trace)
		nbd_set_debug(h, true);
	if (!h) {
		fail(e, "io", "libnbd: %s", nbd_get_error());
		return NULL;
	}
	if (nbd_connect_uri(h, uri) == -1) {
		fail(e, "io",
		     "cannot reach the NBD export: %s. Check that its server runs and the URI "
		     "(nbd://HOST[:PORT]/EXPORT, nbds://..., nbd+unix:///EXPORT?socket=PATH)",
		     nbd_get_error());
		nbd_close(h);
		return NULL;
	}
	int64_t size = nbd_get_size(h);
	int ro = nbd_is_read_only(h);
	if (size < 0 || (writable && ro == 1)) {
		if (size < 0)
			fail(e, "io", "NBD: cannot get the export's size: %s", nbd_get_error());
		else
			fail(e, "read-only",
			     "the NBD export is read-only (its server says so): check works on "
			     "it, fix and undo need a writable export");
		nbd_shutdown(h, 0);
		nbd_close(h);
		return NULL;
	}
	struct blockdev *bd = xcalloc(1, sizeof *bd);
	bd->name = xstrdup(uri);
	bd->uri = xstrdup(uri);
	bd->format = xstrdup("raw");
	bd->size = (uint64_t)size;
	bd->writable = writable;
	bd->fd = bd->dirfd = -1;
	bd->nbd = h;
	int64_t min = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
	bd->align = min > 1 && min <= 65536 && !(min & (min - 1)) ? (uint64_t)min : 1;
	note("%s: an NBD export of %llu bytes%s", uri, (unsigned long long)size,
	     ro == 1 ? ", read-only" : "");
	return bd;
}

const char *bdev_uri(const struct blockdev *bd)
{
	const struct blockdev *disk = bd->uri || !bd->nlegs ? bd : bd->legs[0].bd;
	return disk->uri;
}

/* The logical sector size of a raw device, or 0 for an image (guessed from
 * the table).  Sizes other than 512 and 4096 are refused. */
int bdev_sector_size(struct blockdev *bd, unsigned *ss, struct err *e)
{
	struct stat st;
	int size = 0;
	*ss = 0;
	if (bd->nbd || fstat(bd->fd, &st) == -1 || !S_ISBLK(st.st_mode))
		return 0;
	if (ioctl(bd->fd, BLKSSZGET, &size) == -1)
		return fail(e, "io", "cannot get its sector size: %s", strerror(errno));
	if (size != 512 && size != 4096)
		return fail(e, "unsupported-target",
			    "its sectors are %d bytes; nobounce handles 512-byte and 4 KiB "
			    "sectors only",
			    size);
	*ss = (unsigned)size;
	return 0;
}

int bdev_identity(const struct blockdev *bd, struct stat *st)
{
	const struct blockdev *disk = bd->fd >= 0 || !bd->nlegs ? bd : bd->legs[0].bd;
	return disk->fd < 0 ? -1 : fstat(disk->fd, st);
}

uint64_t bdev_size(const struct blockdev *bd)
{
	return bd->size;
}

const char *bdev_name(const struct blockdev *bd)
{
	return bd->name;
}

const char *bdev_format(const struct blockdev *bd)
{
	return bd->format;
}

size_t bdev_nlegs(const struct blockdev *bd)
{
	return bd->nlegs;
}

const struct bdev_leg *bdev_leg(const struct blockdev *bd, size_t i)
{
	return &bd->legs[i];
}
