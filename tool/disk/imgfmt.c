/* SPDX-License-Identifier: GPL-2.0-or-later */
/* imgfmt: image formats: which one a file is, and what it names (imgfmt.h). */
#include "disk/imgfmt.h"
#include "lib/bytes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The formats, each with the file name ending that names it. */
static const struct {
	const char *name, *ext;
} formats[] = {{"raw", NULL},	{"qcow2", ".qcow2"}, {"vmdk", ".vmdk"},
	       {"vpc", ".vhd"}, {"vhdx", ".vhdx"},   {"vdi", ".vdi"}};

int imgfmt_known(const char *fmt)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (STREQ(fmt, formats[i].name))
			return 1;
	return 0;
}

int imgfmt_name_says(const char *path, const char *fmt)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		const char *x = formats[i].ext;
		if (x && STREQ(fmt, formats[i].name) && n > strlen(x) &&
		    STRCASEEQ(path + n - strlen(x), x))
			return 1;
	}
	return 0;
}

int imgfmt_detect(int fd, char *fmt, size_t fmtlen, struct err *e)
{
	uint8_t head[512] = {0}, tail[512] = {0};
	uint64_t size;
	if (fd_size(fd, &size) == -1)
		return fail(e, "io", "cannot get its size: %s", strerror(errno));
	if (size < 512)
		return fail(e, "unsupported-target",
			    "only %llu bytes: not a disk image. Give a disk image, a "
			    "partition image, a block device or a mounted volume's directory",
			    (unsigned long long)size);
	if (pread_all(fd, head, sizeof head, 0) == -1 ||
	    pread_all(fd, tail, sizeof tail, size - 512) == -1)
		return fail(e, "io", "cannot read: %s", strerror(errno));
	const char *f = "raw";
	if (!memcmp(head, "QFI\xfb", 4))
		f = "qcow2";
	else if (!memcmp(head, "KDMV", 4) || !memcmp(head, "# Disk DescriptorFile", 21))
		f = "vmdk";
	else if (!memcmp(head, "vhdxfile", 8))
		f = "vhdx";
	else if (head[0x40] == 0x7f && head[0x41] == 0x10 && head[0x42] == 0xda &&
		 head[0x43] == 0xbe)
		f = "vdi";
	else if (!memcmp(head, "conectix", 8) || !memcmp(tail, "conectix", 8))
		f = "vpc";
	snprintf(fmt, fmtlen, "%s", f);
	return 0;
}

/* ---- what each format names ---- */

/* qcow2's header (docs/interop/qcow2.txt in qemu), big-endian. */
#define QCOW2_VERSION 4
#define QCOW2_BACKING_OFFSET 8
#define QCOW2_BACKING_SIZE 16
#define QCOW2_CLUSTER_BITS 20
#define QCOW2_V2_HEADER_LEN 72 /* and where version 3's fields start */
#define QCOW2_INCOMPAT 72
#define QCOW2_HEADER_LEN 100
#define QCOW2_INCOMPAT_DATA_FILE (1u << 2)
#define QCOW2_EXT_BACKING_FORMAT 0xE2792ACAu
#define QCOW2_EXT_DATA_FILE 0x44415441u
/* VHD's footer: the disk type, 4 for a differencing disk. */
#define VPC_DISK_TYPE 60
#define VPC_DIFFERENCING 4
/* VHDX: the region table, at 192 KiB, 64 KiB long; a metadata item's
 * file-parameters flag 2 is HasParent. */
#define VHDX_REGION_TABLE (192 * 1024)
#define VHDX_REGION_TABLE_LEN (64 * 1024)
#define VHDX_HAS_PARENT 2u

/* What qemu reads of a VMDK descriptor: extents from up to 1 MiB, the
 * parent's name from 10 KiB at the descriptor's offset (block/vmdk.c). */
#define VMDK_DESC_MAX ((1 << 20) - 1)
#define VMDK_PARENT_SCAN 10240
/* The VHDX metadata region: 1 MiB as qemu and Hyper-V make it. */
#define VHDX_META_MAX ((size_t)4 << 20)

void imgfmt_refs_free(struct imgrefs *r)
{
	free(r->backing);
	free(r->backing_fmt);
	free(r->data_file);
	strlist_free(&r->extents);
	strlist_free(&r->ext_types);
	free(r->desc);
	free(r->ext_line);
}

/* Reads up to max bytes from off (fewer at the end of the file). */
static uint8_t *read_at(int fd, uint64_t size, uint64_t off, size_t max, size_t *got)
{
	size_t n = off >= size ? 0 : size - off < max ? (size_t)(size - off) : max;
	uint8_t *p = xcalloc(n + 1, 1);
	if (n && pread_all(fd, p, n, off) == -1) {
		free(p);
		return NULL;
	}
	*got = n;
	return p;
}

static int refs_qcow2(int fd, uint64_t size, const char *who, struct imgrefs *r, struct err *e)
{
	uint8_t h[QCOW2_HEADER_LEN + 4] = {0};
	if (size < QCOW2_V2_HEADER_LEN ||
	    pread_all(fd, h, size < sizeof h ? (size_t)size : sizeof h, 0) == -1)
		return fail(e, "unreadable-image", "%scannot read its qcow2 header", who);
	uint32_t version = be32(h + QCOW2_VERSION), cbits = be32(h + QCOW2_CLUSTER_BITS);
	if (version < 2 || version > 3 || cbits < 9 || cbits > 21)
		return fail(e, "unreadable-image",
			    "%snot a qcow2 image nobounce can open (version %u, cluster bits %u)",
			    who, version, cbits);
	size_t csize = (size_t)1 << cbits, got = 0;
	CLEANUP_FREE uint8_t *c = read_at(fd, size, 0, csize, &got);
	if (!c)
		return fail(e, "unreadable-image", "%scannot read: %s", who, strerror(errno));
	uint64_t boff = be64(h + QCOW2_BACKING_OFFSET);
	uint32_t blen = be32(h + QCOW2_BACKING_SIZE);
	if (boff) {
		if (blen > 1023 || boff > got || blen > got - boff)
			return fail(e, "unsafe-image", "%sits backing file name is malformed", who);
		if (blen && c[boff])
			r->backing = strndup((char *)c + boff, blen);
	}
	uint64_t incompat = version == 3 ? be64(h + QCOW2_INCOMPAT) : 0;
	size_t hlen = version == 3 ? be32(h + QCOW2_HEADER_LEN) : QCOW2_V2_HEADER_LEN;
	char *data_name = NULL;
	/* header extensions: type, length, data padded to 8 bytes; 0 ends */
	for (size_t off = hlen; off + 8 <= got;) {
		uint32_t type = be32(c + off), len = be32(c + off + 4);
		if (type == 0)
			break;
		if (len > got - off - 8) {
			free(data_name);
			return fail(e, "unsafe-image", "%sa header extension runs past its end",
				    who);
		}
		const char *d = (const char *)c + off + 8;
		if (type == QCOW2_EXT_BACKING_FORMAT && len && !r->backing_fmt)
			r->backing_fmt = strndup(d, len);
		else if (type == QCOW2_EXT_DATA_FILE && len && !data_name)
			data_name = strndup(d, len);
		off += 8 + ((size_t)len + 7) / 8 * 8;
	}
	if (incompat & QCOW2_INCOMPAT_DATA_FILE) {
		if (!data_name || !*data_name) {
			free(data_name);
			return fail(e, "unsafe-image",
				    "%sneeds an external data file but names none", who);
		}
		r->data_file = data_name;
	} else {
		free(data_name); /* qemu ignores the name without the flag */
	}
	return 0;
}

/* The extent lines of a descriptor, read exactly as qemu reads them (the
 * same sscanf, the same filters), so that the extents are numbered as qemu
 * numbers them and no file qemu would open escapes the rules. */
static int vmdk_extents(const char *desc, const char *who, struct imgrefs *r, struct err *e)
{
	static const char *const types[] = {"FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"};
	for (const char *p = desc; *p;) {
		char access[11], type[11], fname[512];
		int64_t sectors = 0, flat = -1;
		const char *line = p;
		int m = sscanf(p, "%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64, access,
			       &sectors, type, fname, &flat);
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
		if (m < 4 || !STREQ(access, "RW"))
			continue;
		int known = 0;
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			known |= STREQ(type, types[i]);
		if ((STREQ(type, "FLAT") && (m != 5 || flat < 0)) ||
		    (!STREQ(type, "FLAT") && m != 4))
			return fail(e, "unsafe-image", "%sa malformed extent line (%s %s)", who,
				    type, fname);
		if (!known || sectors <= 0)
			continue; /* qemu skips it, and opens nothing for it */
		if (r->extents.n >= IMAGE_MAX_EXTENTS)
			return fail(e, "unsafe-image", "%smore than %d extents", who,
				    IMAGE_MAX_EXTENTS);
		r->ext_line = xrealloc(r->ext_line, (r->extents.n + 1) * sizeof *r->ext_line);
		r->ext_line[r->extents.n] = (size_t)(line - desc);
		strlist_add(&r->extents, xstrdup(fname));
		strlist_add(&r->ext_types, xstrdup(type));
	}
	return 0;
}

/* A sparse extent that holds a descriptor of its own would make qemu open
 * further extents by name: never in a real image, always refused. */
int imgfmt_vmdk_nested(int fd, const char *type, const char *who, struct err *e)
{
	uint8_t h[36];
	if (STREQ(type, "FLAT") || STREQ(type, "VMFS")) /* guest data, not a header */
		return 0;
	if (pread_all(fd, h, sizeof h, 0) == 0 && !memcmp(h, "KDMV", 4) && le64(h + 12) == 0 &&
	    le64(h + 28))
		return fail(e, "unsafe-image", "%san extent that holds a descriptor of its own",
			    who);
	return 0;
}

/* parentFileNameHint="NAME", searched as qemu does: strstr in the 10 KiB
 * at the descriptor's offset. */
static void vmdk_parent(int fd, uint64_t size, uint64_t off, struct imgrefs *r)
{
	size_t got = 0;
	CLEANUP_FREE uint8_t *d = read_at(fd, size, off, VMDK_PARENT_SCAN, &got);
	const char *key = "parentFileNameHint=\"";
	const char *p = d ? strstr((char *)d, "parentFileNameHint") : NULL;
	if (!p || strlen(p) < strlen(key))
		return;
	p += strlen(key);
	const char *q = strchr(p, '"');
	if (q && q > p)
		r->backing = strndup(p, (size_t)(q - p));
}

static int refs_vmdk(int fd, uint64_t size, const char *who, struct imgrefs *r, struct err *e)
{
	uint8_t h[64] = {0};
	if (size < 4 || pread_all(fd, h, size < sizeof h ? (size_t)size : sizeof h, 0) == -1)
		return fail(e, "unreadable-image", "%scannot read its VMDK header", who);
	int sparse = !memcmp(h, "KDMV", 4) || !memcmp(h, "COWD", 4);
	if (!memcmp(h, "KDMV", 4) && le64(h + 12) == 0 && le64(h + 28))
		return fail(e, "unsafe-image",
			    "%sa sparse VMDK that holds only a descriptor naming other files: "
			    "nobounce does not open those. Convert it into one file first "
			    "(qemu-img convert -O qcow2)",
			    who);
	if (!sparse) {
		size_t got = 0;
		uint8_t *d = read_at(fd, size, 0, VMDK_DESC_MAX, &got);
		if (!d)
			return fail(e, "unreadable-image", "%scannot read: %s", who,
				    strerror(errno));
		r->desc = (char *)d;
		if (vmdk_extents(r->desc, who, r, e) == -1)
			return -1;
	}
	vmdk_parent(fd, size, sparse ? 0x200 : 0, r);
	if (r->backing)
		r->backing_fmt = xstrdup("vmdk");
	return 0;
}

/* A VHD's footer, and the copy of it a dynamic disk keeps at its start: qemu
 * reads one, Windows the other, so they must say the same kind of disk. */
static int refs_vpc(int fd, uint64_t size, const char *who, struct imgrefs *r, struct err *e)
{
	uint8_t head[512], tail[512];
	int h = size >= 512 && pread_all(fd, head, 512, 0) == 0 && !memcmp(head, "conectix", 8);
	int t = size >= 1024 && pread_all(fd, tail, 512, size - 512) == 0 &&
		!memcmp(tail, "conectix", 8);
	if (h && t && be32(head + VPC_DISK_TYPE) != be32(tail + VPC_DISK_TYPE))
		return fail(e, "unsafe-image",
			    "%sits two footer copies disagree (disk type %u at its start, %u at "
			    "its end): the image is damaged, or made to be read two ways",
			    who, be32(head + VPC_DISK_TYPE), be32(tail + VPC_DISK_TYPE));
	if (t || h)
		r->differencing = be32((t ? tail : head) + VPC_DISK_TYPE) == VPC_DIFFERENCING;
	return 0;
}

/* VHDX: the file parameters' HasParent flag, or a parent locator. */
static int refs_vhdx(int fd, uint64_t size, struct imgrefs *r)
{
	static const uint8_t metadata_region[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
						    0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
	static const uint8_t file_params[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
						0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b};
	static const uint8_t parent_locator[16] = {0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
						   0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c};
	size_t got = 0;
	CLEANUP_FREE uint8_t *rt =
	    read_at(fd, size, VHDX_REGION_TABLE, VHDX_REGION_TABLE_LEN, &got);
	if (!rt || got < 16 || memcmp(rt, "regi", 4))
		return 0; /* qemu will say what is wrong */
	uint32_t n = le32(rt + 8);
	for (uint32_t i = 0; i < n && 16 + 32 * (size_t)(i + 1) <= got; i++) {
		const uint8_t *en = rt + 16 + 32 * i;
		if (memcmp(en, metadata_region, 16))
			continue;
		uint64_t moff = le64(en + 16);
		uint32_t mlen = le32(en + 24);
		size_t mgot = 0;
		CLEANUP_FREE uint8_t *m =
		    read_at(fd, size, moff, mlen < VHDX_META_MAX ? mlen : VHDX_META_MAX, &mgot);
		if (!m || mgot < 32 || memcmp(m, "metadata", 8))
			return 0;
		uint16_t cnt = (uint16_t)(m[10] | m[11] << 8);
		for (uint16_t k = 0; k < cnt && 32 + 32 * (size_t)(k + 1) <= mgot; k++) {
			const uint8_t *it = m + 32 + 32 * k;
			if (!memcmp(it, parent_locator, 16))
				r->differencing = 1;
			uint32_t ioff = le32(it + 16);
			if (!memcmp(it, file_params, 16) && ioff < mgot && mgot - ioff >= 8 &&
			    (le32(m + ioff + 4) & VHDX_HAS_PARENT))
				r->differencing = 1;
		}
	}
	return 0;
}

int imgfmt_refs(int fd, const char *fmt, const char *who, struct imgrefs *r, struct err *e)
{
	struct stat st;
	if (fstat(fd, &st) == -1)
		return fail(e, "io", "%s%s", who, strerror(errno));
	uint64_t size = (uint64_t)st.st_size;
	if (STREQ(fmt, "qcow2"))
		return refs_qcow2(fd, size, who, r, e);
	if (STREQ(fmt, "vmdk"))
		return refs_vmdk(fd, size, who, r, e);
	if (STREQ(fmt, "vpc"))
		return refs_vpc(fd, size, who, r, e);
	if (STREQ(fmt, "vhdx"))
		return refs_vhdx(fd, size, r);
	return 0; /* raw and vdi name no other file */
}
