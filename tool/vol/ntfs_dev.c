/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ntfs_dev: the device libntfs-3g sees, and the writes it holds (see
 * ntfs_dev.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "vol/ntfs_dev.h"
#include "vol/undolog.h"

/* ---- the device libntfs-3g sees ---- */

void dev_failed(struct ntvol *nt, struct err *e)
{
	note("%s", e->msg);
	free(nt->dev_err);
	nt->dev_err = e->msg;
	e->msg = NULL;
	err_clear(e);
}

static struct ntvol *nt_of(struct ntfs_device *dev)
{
	return dev->d_private;
}

static int dev_open(struct ntfs_device *dev, int flags)
{
	NDevSetOpen(dev);
	if ((flags & O_ACCMODE) == O_RDONLY)
		NDevSetReadOnly(dev);
	return 0;
}

static int dev_close(struct ntfs_device *dev)
{
	NDevClearOpen(dev);
	return 0;
}

/* ---- holding an operation's writes ----
 *
 * libntfs-3g has no journal: one file operation (create, remove, resize)
 * is many device writes spread over the time it computes them, and a kill
 * between two of them can leave a directory index or the bitmaps
 * inconsistent.  So every operation's writes are held in memory, reads see
 * them, and they go to the disk together, in offset order, once libntfs-3g
 * has finished: a kill during the computation leaves the volume as it was,
 * and the window in which one can damage it is a few system calls wide. */

static size_t held_find(struct ntvol *nt, uint64_t off, int *found)
{
	size_t lo = 0, hi = nt->nheld;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (nt->held[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < nt->nheld && nt->held[lo].off == off;
	return lo;
}

size_t held_len(struct ntvol *nt, uint64_t off)
{
	return nt->size - off < NB_PAGE ? (size_t)(nt->size - off) : NB_PAGE;
}

static int hold(struct ntvol *nt, const uint8_t *buf, size_t count, uint64_t offset, struct err *e)
{
	while (count) {
		uint64_t page = offset - offset % NB_PAGE;
		size_t in = (size_t)(offset - page), n = NB_PAGE - in;
		if (n > count)
			n = count;
		int found;
		size_t i = held_find(nt, page, &found);
		if (!found) {
			uint8_t *p = xcalloc(1, NB_PAGE);
			if ((in || n < held_len(nt, page)) &&
			    bdev_pread(nt->bd, p, held_len(nt, page), nt->off + page, e) == -1) {
				free(p);
				return -1;
			}
			nt->held = xrealloc(nt->held, (nt->nheld + 1) * sizeof *nt->held);
			memmove(&nt->held[i + 1], &nt->held[i], (nt->nheld - i) * sizeof *nt->held);
			nt->held[i] = (struct held){page, p};
			nt->nheld++;
		}
		memcpy(nt->held[i].p + in, buf, n);
		buf += n;
		offset += n;
		count -= n;
	}
	return 0;
}

static void overlay(struct ntvol *nt, uint8_t *buf, size_t count, uint64_t offset)
{
	int found;
	size_t i = held_find(nt, offset - offset % NB_PAGE, &found);
	for (; i < nt->nheld && nt->held[i].off < offset + count; i++) {
		uint64_t a = nt->held[i].off > offset ? nt->held[i].off : offset;
		uint64_t b = nt->held[i].off + NB_PAGE;
		if (b > offset + count)
			b = offset + count;
		if (a < b)
			memcpy(buf + (a - offset), nt->held[i].p + (a - nt->held[i].off),
			       (size_t)(b - a));
	}
}

void burst_begin(struct ntvol *nt)
{
	nt->holding++;
}

/* Before a metadata update's pages are written: their old bytes and their
 * new, made durable in the undo log. */
static int log_update(struct ntvol *nt, struct err *e)
{
	struct undo_log u = {nt->off, nt->serial, xcalloc(nt->nheld, sizeof *u.pages), nt->nheld};
	uint8_t *old = xmalloc(nt->nheld * NB_PAGE);
	int r = 0;
	for (size_t i = 0; i < nt->nheld && r == 0; i++) {
		struct undo_page *g = &u.pages[i];
		g->off = nt->held[i].off;
		g->len = (uint32_t)held_len(nt, g->off);
		g->old = old + i * NB_PAGE;
		g->new = nt->held[i].p;
		r = bdev_pread(nt->bd, old + i * NB_PAGE, g->len, nt->off + g->off, e);
	}
	struct buf b = {0};
	if (r == 0) {
		undo_encode(&u, &b);
		r = undo_store(nt->udir, nt->udirpath, nt->uname, &b, e);
	}
	buf_free(&b);
	free(old);
	free(u.pages);
	return r;
}

/* Writes what the operation left, contiguous pages in one write each; an
 * update of NTFS's metadata goes under an undo log, removed once its
 * writes are flushed. */
int burst_end(struct ntvol *nt, struct err *e)
{
	if (--nt->holding)
		return 0;
	int logged = nt->nheld && nt->udir >= 0 && !nt->plain;
	nt->plain = 0;
	int r = logged ? log_update(nt, e) : 0;
	if (logged)
		FAULT("undo-logged"); /* durable, no page written yet */
	uint8_t *run = NULL;
	for (size_t i = 0; i < nt->nheld;) {
		size_t j = i + 1;
		while (j < nt->nheld && nt->held[j].off == nt->held[j - 1].off + NB_PAGE)
			j++;
		size_t len = (j - i - 1) * NB_PAGE + held_len(nt, nt->held[j - 1].off);
		run = xrealloc(run, len);
		for (size_t k = i; k < j; k++)
			memcpy(run + (k - i) * NB_PAGE, nt->held[k].p,
			       held_len(nt, nt->held[k].off));
		if (r == 0 && bdev_pwrite(nt->bd, run, len, nt->off + nt->held[i].off, e) == -1)
			r = -1;
		if (logged)
			FAULT("undo-page-written"); /* some of the update's pages, not all */
		i = j;
	}
	free(run);
	for (size_t i = 0; i < nt->nheld; i++)
		free(nt->held[i].p);
	free(nt->held);
	nt->held = NULL;
	nt->nheld = 0;
	if (logged && r == 0 &&
	    (bdev_flush(nt->bd, e) == -1 || undo_drop(nt->udir, nt->udirpath, nt->uname, e) == -1))
		r = -1;
	return r;
}

static s64 dev_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
	struct ntvol *nt = nt_of(dev);
	if (offset < 0 || count < 0 || (uint64_t)offset >= nt->size)
		return 0;
	if (nt->budget && (uint64_t)count > nt->budget - nt->spent) {
		nt->overrun = 1;
		errno = ELOOP;
		return -1;
	}
	nt->spent += (uint64_t)count;
	if ((uint64_t)(offset + count) > nt->size)
		count = (s64)(nt->size - (uint64_t)offset);
	struct err e = {0};
	if (bdev_pread(nt->bd, buf, (size_t)count, nt->off + (uint64_t)offset, &e) == -1) {
		dev_failed(nt, &e);
		errno = EIO;
		return -1;
	}
	for (size_t i = 0; i < nt->npreset; i++) {
		const struct held *h = &nt->preset[i];
		uint64_t a = h->off > (uint64_t)offset ? h->off : (uint64_t)offset;
		uint64_t b = h->off + held_len(nt, h->off);
		if (b > (uint64_t)(offset + count))
			b = (uint64_t)(offset + count);
		if (a < b)
			memcpy((uint8_t *)buf + (a - (uint64_t)offset), h->p + (a - h->off),
			       (size_t)(b - a));
	}
	if (nt->nheld)
		overlay(nt, buf, (size_t)count, (uint64_t)offset);
	return count;
}

static s64 dev_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 offset)
{
	struct ntvol *nt = nt_of(dev);
	if (offset < 0 || count < 0 || (uint64_t)(offset + count) > nt->size) {
		errno = ENOSPC;
		return -1;
	}
	struct err e = {0};
	int r = nt->holding
		    ? hold(nt, buf, (size_t)count, (uint64_t)offset, &e)
		    : bdev_pwrite(nt->bd, buf, (size_t)count, nt->off + (uint64_t)offset, &e);
	if (r == -1) {
		dev_failed(nt, &e);
		errno = EIO;
		return -1;
	}
	NDevSetDirty(dev);
	return count;
}

static s64 dev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
	struct ntvol *nt = nt_of(dev);
	s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? nt->pos : (s64)nt->size;
	nt->pos = base + offset;
	return nt->pos;
}

static s64 dev_read(struct ntfs_device *dev, void *buf, s64 count)
{
	s64 n = dev_pread(dev, buf, count, nt_of(dev)->pos);
	if (n > 0)
		nt_of(dev)->pos += n;
	return n;
}

static s64 dev_write(struct ntfs_device *dev, const void *buf, s64 count)
{
	s64 n = dev_pwrite(dev, buf, count, nt_of(dev)->pos);
	if (n > 0)
		nt_of(dev)->pos += n;
	return n;
}

static int dev_sync(struct ntfs_device *dev)
{
	struct err e = {0};
	if (bdev_flush(nt_of(dev)->bd, &e) == -1) {
		dev_failed(nt_of(dev), &e);
		errno = EIO;
		return -1;
	}
	NDevClearDirty(dev);
	return 0;
}

static int dev_stat(struct ntfs_device *dev, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFREG | 0600;
	st->st_size = (off_t)nt_of(dev)->size;
	return 0;
}

static int dev_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
	(void)dev, (void)request, (void)argp;
	errno = ENOTTY;
	return -1;
}

struct ntfs_device_operations ntfs_dev_ops = {
    .open = dev_open,
    .close = dev_close,
    .seek = dev_seek,
    .read = dev_read,
    .write = dev_write,
    .pread = dev_pread,
    .pwrite = dev_pwrite,
    .sync = dev_sync,
    .stat = dev_stat,
    .ioctl = dev_ioctl,
};
