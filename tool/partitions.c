#include "partitions.h"

#define SECTOR 512
#define MAX_LOGICAL 128 /* EBR chain length; a loop is refused past it */
#define MAX_GPT_ENTRIES 1024

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

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
};

/* Adds a partition after checking it lies inside the image. */
static int add(struct blockdev *bd, struct found *f, const char *scheme, unsigned number,
	       uint64_t lba, uint64_t sectors, struct err *e)
{
	if (!sectors)
		return 0;
	if (lba > bd->size / SECTOR || sectors > bd->size / SECTOR - lba)
		return fail(e, "damaged-image",
			    "partition %u lies outside the image (sectors %llu+%llu of %llu): "
			    "the partition table is damaged or the image is truncated",
			    number, (unsigned long long)lba, (unsigned long long)sectors,
			    (unsigned long long)(bd->size / SECTOR));
	f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
	f->v[f->n++] = (struct part){number, scheme, lba * SECTOR, sectors * SECTOR};
	return 0;
}

static int read_sector(struct blockdev *bd, uint64_t lba, uint8_t *s, struct err *e)
{
	if (lba >= bd->size / SECTOR)
		return fail(e, "damaged-image", "the partition table points past its end");
	return bdev_pread(bd, s, SECTOR, lba * SECTOR, e);
}

static int logical(struct blockdev *bd, struct found *f, uint64_t ext, struct err *e)
{
	uint64_t ebr = ext;
	unsigned number = 5;
	for (int i = 0; i < MAX_LOGICAL; i++) {
		uint8_t s[SECTOR];
		if (read_sector(bd, ebr, s, e) == -1)
			return -1;
		if (s[510] != 0x55 || s[511] != 0xaa)
			return fail(e, "damaged-image",
				    "a logical partition's table at "
				    "sector %llu is damaged",
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

static int gpt(struct blockdev *bd, struct found *f, struct err *e)
{
	uint8_t h[SECTOR];
	if (read_sector(bd, 1, h, e) == -1)
		return -1;
	if (memcmp(h, "EFI PART", 8) != 0)
		return fail(e, "damaged-image", "a protective MBR but no GPT header");
	uint64_t lba = le64(h + 72);
	uint32_t count = le32(h + 80), size = le32(h + 84);
	if (size < 128 || size > 4096 || size % 8 || count > MAX_GPT_ENTRIES)
		return fail(e, "damaged-image", "the GPT header is damaged");
	uint8_t *ent = xmalloc(size);
	int r = 0;
	for (uint32_t i = 0; i < count && r == 0; i++) {
		uint64_t off = lba * SECTOR + (uint64_t)i * size;
		if (lba > bd->size / SECTOR || off > bd->size - size) {
			r = fail(e, "damaged-image", "the GPT entries lie outside the image");
			break;
		}
		r = bdev_pread(bd, ent, size, off, e);
		static const uint8_t zero[16];
		if (r == 0 && memcmp(ent, zero, 16) != 0) {
			uint64_t first = le64(ent + 32), last = le64(ent + 40);
			if (last < first)
				r = fail(e, "damaged-image", "GPT entry %u ends before it starts",
					 i + 1);
			else
				r = add(bd, f, "gpt", i + 1, first, last - first + 1, e);
		}
	}
	free(ent);
	return r;
}

int parts_find(struct blockdev *bd, struct part **out, size_t *n, struct err *e)
{
	struct found all = {0}, ntfs = {0};
	uint8_t s[SECTOR];
	*out = NULL;
	*n = 0;
	if (bd->size < SECTOR || bdev_pread(bd, s, SECTOR, 0, e) == -1)
		return e->msg ? -1 : 0;
	if (is_ntfs_boot(s)) {
		*out = xmalloc(sizeof **out);
		**out = (struct part){0, "none", 0, bd->size};
		*n = 1;
		return 0;
	}
	if (s[510] != 0x55 || s[511] != 0xaa)
		return 0;
	int r = 0, protective = 0;
	for (int i = 0; i < 4; i++)
		protective |= s[446 + 16 * i + 4] == 0xee;
	if (protective) {
		r = gpt(bd, &all, e);
	} else {
		for (int i = 0; i < 4 && r == 0; i++) {
			const uint8_t *p = s + 446 + 16 * i;
			if (!p[4])
				continue;
			if (is_extended(p[4]))
				r = logical(bd, &all, le32(p + 8), e);
			else
				r = add(bd, &all, "mbr", (unsigned)i + 1, le32(p + 8), le32(p + 12),
					e);
		}
	}
	for (size_t i = 0; i < all.n && r == 0; i++) {
		uint8_t b[SECTOR];
		if (all.v[i].size < SECTOR)
			continue;
		r = bdev_pread(bd, b, SECTOR, all.v[i].start, e);
		if (r == 0 && is_ntfs_boot(b)) {
			ntfs.v = xrealloc(ntfs.v, (ntfs.n + 1) * sizeof *ntfs.v);
			ntfs.v[ntfs.n++] = all.v[i];
		}
	}
	free(all.v);
	if (r == -1) {
		free(ntfs.v);
		return -1;
	}
	*out = ntfs.v;
	*n = ntfs.n;
	return 0;
}
