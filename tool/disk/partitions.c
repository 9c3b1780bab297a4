/* SPDX-License-Identifier: GPL-2.0-or-later */
/* partitions: MBR (with its chain of logical partitions), GPT and bare NTFS
 * partitions, read bounds-checked (see partitions.h). */
#include "disk/partitions.h"
#include "lib/bytes.h"

#include <errno.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_LOGICAL 128 /* EBR chain length; a loop is refused past it */
/* A GPT entry array larger than this is refused: the usual is 16 KiB
 * (128 entries), and any count is legal when its CRC holds. */
#define MAX_GPT_ARRAY ((size_t)16 << 20)

static int is_ntfs_boot(const uint8_t *s)
{
	return memcmp(s + 3, "NTFS    ", 8) == 0 && s[510] == 0x55 && s[511] == 0xaa;
}

static int is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

struct found {
	struct part *v;
	size_t n;
	unsigned ss;	  /* logical sector size the table counts in */
	const char *note; /* given to every partition found */
};

/* More partitions than this in one table is damage (or an attack on time:
 * each is read to see whether it holds NTFS). */
#define PARTS_MAX 256

/* Adds a partition after checking it lies inside the image and shares no
 * sector with another. */
static int add(struct blockdev *bd, struct found *f, const char *scheme, unsigned number,
	       uint64_t lba, uint64_t sectors, struct err *e)
{
	if (!sectors)
		return 0;
	uint64_t total = bdev_size(bd) / f->ss;
	if (lba > total || sectors > total - lba)
		return fail(e, "damaged-image",
			    "partition %u lies outside the image (sectors %llu+%llu of %llu): "
			    "the partition table is damaged or the image is truncated",
			    number, (unsigned long long)lba, (unsigned long long)sectors,
			    (unsigned long long)total);
	if (f->n >= PARTS_MAX)
		return fail(e, "damaged-image",
			    "more than %d partitions: no disk Windows made has that many; the "
			    "partition table is damaged",
			    PARTS_MAX);
	uint64_t start = lba * f->ss, len = sectors * f->ss;
	for (size_t i = 0; i < f->n; i++)
		if (start < f->v[i].start + f->v[i].size && f->v[i].start < start + len)
			return fail(e, "damaged-image",
				    "partitions %u and %u overlap (sectors %llu+%llu): the "
				    "partition table is damaged, and nobounce writes no volume "
				    "that shares its sectors with another",
				    f->v[i].number, number, (unsigned long long)lba,
				    (unsigned long long)sectors);
	f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
	f->v[f->n++] = (struct part){number, scheme, start, len, f->note};
	return 0;
}

static int read_sector(struct blockdev *bd, unsigned ss, uint64_t lba, uint8_t *s, struct err *e)
{
	if (lba >= bdev_size(bd) / ss)
		return fail(e, "damaged-image", "the partition table points past its end");
	return bdev_pread(bd, s, ss, lba * ss, e);
}

static int logical(struct blockdev *bd, struct found *f, uint64_t ext, struct err *e)
{
	uint64_t ebr = ext;
	unsigned number = 5;
	uint8_t s[4096];
	for (int i = 0; i < MAX_LOGICAL; i++) {
		if (read_sector(bd, f->ss, ebr, s, e) == -1)
			return -1;
		if (s[510] != 0x55 || s[511] != 0xaa)
			return fail(e, "damaged-image",
				    "a logical partition's table at sector %llu is damaged",
				    (unsigned long long)ebr);
		const uint8_t *p0 = s + 446, *p1 = s + 462;
		if (p0[4] && add(bd, f, "mbr", number++, ebr + le32(p0 + 8), le32(p0 + 12), e))
			return -1;
		if (!is_extended(p1[4]) || !le32(p1 + 8))
			return 0;
		ebr = ext + le32(p1 + 8);
	}
	return fail(e, "damaged-image", "more than %d logical partitions: the chain loops",
		    MAX_LOGICAL);
}

static int mbr(struct blockdev *bd, struct found *f, const uint8_t *s, struct err *e)
{
	int r = 0;
	for (int i = 0; i < 4 && r == 0; i++) {
		const uint8_t *p = s + 446 + 16 * i;
		if (!p[4])
			continue;
		if (is_extended(p[4]))
			r = logical(bd, f, le32(p + 8), e);
		else
			r = add(bd, f, "mbr", (unsigned)i + 1, le32(p + 8), le32(p + 12), e);
	}
	return r;
}

/* ---- GPT ---- */

struct gpt {
	uint64_t entries; /* LBA of the entry array */
	uint32_t count, esize;
	uint8_t *array;
};

/* One copy of the GPT: its header at lba and its entry array, each checked
 * against its CRC32.  1: sound; 0: damaged (why says how); -1: I/O error. */
static int gpt_copy(struct blockdev *bd, unsigned ss, uint64_t lba, struct gpt *g, const char **why,
		    struct err *e)
{
	uint8_t h[4096];
	uint64_t total = bdev_size(bd) / ss;
	memset(g, 0, sizeof *g);
	if (lba == 0 || lba >= total)
		return *why = "its header lies outside the disk", 0;
	if (bdev_pread(bd, h, ss, lba * ss, e) == -1)
		return -1;
	uint32_t hsize = le32(h + 12), crc = le32(h + 16);
	if (memcmp(h, "EFI PART", 8) != 0)
		return *why = "no GPT header signature", 0;
	if (hsize < 92 || hsize > ss)
		return *why = "its header has a bad size", 0;
	memset(h + 16, 0, 4);
	if ((uint32_t)crc32(0, h, hsize) != crc)
		return *why = "its header CRC32 is wrong", 0;
	if (le64(h + 24) != lba)
		return *why = "its header is not where it says it is", 0;
	g->entries = le64(h + 72);
	g->count = le32(h + 80);
	g->esize = le32(h + 84);
	size_t bytes = (size_t)g->count * g->esize;
	if (g->esize < 128 || g->esize % 8 || g->esize > 4096 || bytes > MAX_GPT_ARRAY)
		return *why = "its entry array has a bad size", 0;
	if (g->entries == 0 || g->entries >= total || (bytes + ss - 1) / ss > total - g->entries)
		return *why = "its entry array lies outside the disk", 0;
	g->array = xmalloc(bytes);
	if (bytes && bdev_pread(bd, g->array, bytes, g->entries * ss, e) == -1) {
		free(g->array);
		g->array = NULL;
		return -1;
	}
	if ((uint32_t)crc32(0, g->array, (uInt)bytes) != le32(h + 88)) {
		free(g->array);
		g->array = NULL;
		return *why = "its entry array CRC32 is wrong", 0;
	}
	return 1;
}

static int gpt(struct blockdev *bd, struct found *f, struct err *e)
{
	struct gpt g;
	const char *why1 = NULL, *why2 = NULL;
	int r = gpt_copy(bd, f->ss, 1, &g, &why1, e);
	if (r == 0) {
		/* as Windows and Linux do: the backup, in the disk's last sector */
		r = gpt_copy(bd, f->ss, bdev_size(bd) / f->ss - 1, &g, &why2, e);
		if (r == 0)
			return fail(e, "damaged-image",
				    "both copies of the GPT are damaged (the primary: %s; the "
				    "backup: %s). Repair the partition table (gdisk, testdisk) "
				    "before running nobounce",
				    why1, why2);
		if (r == 1) {
			note("%s: the primary GPT is damaged (%s); using the backup", bdev_name(bd),
			     why1);
			f->note = "the primary GPT is damaged; its backup copy was used, as "
				  "Windows and Linux do. Repair the table when convenient "
				  "(gdisk's 'b' and 'w', or Windows' diskpart)";
		}
	}
	if (r == -1)
		return -1;
	static const uint8_t zero[16];
	for (uint32_t i = 0; i < g.count && r == 1; i++) {
		const uint8_t *ent = g.array + (size_t)i * g.esize;
		if (memcmp(ent, zero, 16) == 0)
			continue;
		uint64_t first = le64(ent + 32), last = le64(ent + 40);
		if (last < first)
			r = fail(e, "damaged-image", "GPT entry %u ends before it starts", i + 1);
		else if (add(bd, f, "gpt", i + 1, first, last - first + 1, e) == -1)
			r = -1;
	}
	free(g.array);
	return r == -1 ? -1 : 0;
}

int parts_gpt_find(struct blockdev *bd, const uint8_t type[16], uint64_t *first, uint64_t *last,
		   struct err *e)
{
	struct gpt g;
	const char *why = NULL;
	int r = gpt_copy(bd, 512, 1, &g, &why, e);
	if (r == 0)
		r = gpt_copy(bd, 512, bdev_size(bd) / 512 - 1, &g, &why, e);
	if (r == 0)
		return fail(e, "damaged-image", "both copies of the GPT are damaged (%s)", why);
	if (r == -1)
		return -1;
	int found = 0;
	for (uint32_t i = 0; i < g.count && !found; i++) {
		const uint8_t *ent = g.array + (size_t)i * g.esize;
		if (memcmp(ent, type, 16) == 0) {
			*first = le64(ent + 32);
			*last = le64(ent + 40);
			found = 1;
		}
	}
	free(g.array);
	return found;
}

/* ---- sector size ---- */

static size_t ntfs_only(struct blockdev *bd, struct found *all, struct part **out, struct err *e)
{
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < all->n; i++) {
		uint8_t b[512];
		if (all->v[i].size < sizeof b)
			continue;
		if (bdev_pread(bd, b, sizeof b, all->v[i].start, e) == -1) {
			free(*out);
			*out = NULL;
			return (size_t)-1;
		}
		if (is_ntfs_boot(b)) {
			*out = xrealloc(*out, (n + 1) * sizeof **out);
			(*out)[n++] = all->v[i];
		}
	}
	return n;
}

/* Parses the table as counting in ss-byte sectors, keeping NTFS partitions. */
static int parse(struct blockdev *bd, unsigned ss, const uint8_t *s0, struct part **out, size_t *n,
		 struct err *e)
{
	struct found all = {.ss = ss};
	int protective = 0;
	for (int i = 0; i < 4; i++)
		protective |= s0[446 + 16 * i + 4] == 0xee;
	int r = protective ? gpt(bd, &all, e) : mbr(bd, &all, s0, e);
	if (r == 0) {
		*n = ntfs_only(bd, &all, out, e);
		if (*n == (size_t)-1)
			r = -1;
	}
	free(all.v);
	if (r == -1)
		*n = 0;
	return r;
}

int parts_find(struct blockdev *bd, struct part **out, size_t *n, struct err *e)
{
	uint8_t s[512];
	unsigned ss;
	*out = NULL;
	*n = 0;
	if (bdev_size(bd) < sizeof s || bdev_pread(bd, s, sizeof s, 0, e) == -1)
		return e->msg ? -1 : 0;
	if (is_ntfs_boot(s)) {
		*out = xmalloc(sizeof **out);
		**out = (struct part){0, "none", 0, bdev_size(bd), NULL};
		*n = 1;
		return 0;
	}
	if (s[510] != 0x55 || s[511] != 0xaa)
		return 0;
	if (bdev_sector_size(bd, &ss, e) == -1)
		return -1;
	if (ss)
		return parse(bd, ss, s, out, n, e);
	/* an image does not say its sector size: a GPT header says it by where
	 * it lies; an MBR by where its partitions' boot sectors are */
	uint8_t h[8];
	if (bdev_size(bd) >= 4096 + 8 && bdev_pread(bd, h, 8, 512, e) == 0 &&
	    memcmp(h, "EFI PART", 8) != 0 && bdev_pread(bd, h, 8, 4096, e) == 0 &&
	    memcmp(h, "EFI PART", 8) == 0)
		return parse(bd, 4096, s, out, n, e);
	if (e->msg)
		return -1;
	int r = parse(bd, 512, s, out, n, e);
	if (r == 0 && *n == 0) {
		/* nothing at 512-byte offsets: a 4Kn disk's MBR? */
		struct err e4 = {0};
		struct part *p4 = NULL;
		size_t n4 = 0;
		if (parse(bd, 4096, s, &p4, &n4, &e4) == 0 && n4) {
			*out = p4;
			*n = n4;
		} else {
			free(p4);
		}
		err_clear(&e4);
	}
	return r;
}
