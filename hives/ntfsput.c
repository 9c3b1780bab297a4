/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ntfsput: fills an NTFS partition image (made by mkntfs) with a directory
 * tree, for test images.  ntfscp cannot create directories (FACTS.md §6).
 *
 *   ntfsput PARTITION.img SRCDIR [--hibernate] [--dirty] [--junction PATH]
 *           [--link SRC DST] [--fill KIB] [--crosslink SRC DST] [--free PATH]
 *
 * --hibernate  writes /hiberfil.sys starting with "hibr" (a hibernated volume)
 * --hiberfil S writes /hiberfil.sys starting with the four bytes S ("zero":
 *              four zero bytes): "wake", "RSTR", ...
 * --dirty      sets the volume's dirty flag
 * --junction P makes directory P a mount-point reparse point (a junction)
 * --link S D   makes D a second name (a hard link) of file S, replacing D
 * --fill K     takes all but K KiB of the free space with /filler.bin (a
 *              nearly full volume)
 * --crosslink S D  points the first data run of file D at the clusters of
 *              file S's first run (two files claiming one cluster)
 * --free P     marks the clusters of file P's data free in $Bitmap
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/bitmap.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/reparse.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("ntfsput: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static ntfs_inode *create(ntfs_inode *dir, const char *name, mode_t type)
{
	ntfschar *u = NULL;
	int len = ntfs_mbstoucs(name, &u);
	if (len <= 0)
		die("%s: bad name", name);
	ntfs_inode *ni = ntfs_create(dir, const_cpu_to_le32(0), u, (u8)len, type);
	free(u);
	if (!ni)
		die("%s: ntfs_create: %s", name, strerror(errno));
	return ni;
}

static void write_all(ntfs_inode *ni, const char *name, const void *p, size_t len)
{
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na)
		die("%s: no data attribute: %s", name, strerror(errno));
	if (len && ntfs_attr_pwrite(na, 0, (s64)len, p) != (s64)len)
		die("%s: write: %s", name, strerror(errno));
	ntfs_attr_close(na);
}

static void copy_file(ntfs_inode *dir, const char *src, const char *name)
{
	int fd = open(src, O_RDONLY);
	struct stat st;
	if (fd == -1 || fstat(fd, &st) == -1)
		die("%s: %s", src, strerror(errno));
	char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || (st.st_size && read(fd, buf, (size_t)st.st_size) != st.st_size))
		die("%s: read failed", src);
	close(fd);
	ntfs_inode *ni = create(dir, name, S_IFREG);
	write_all(ni, name, buf, (size_t)st.st_size);
	ntfs_inode_close_in_dir(ni, dir);
	free(buf);
}

static void copy_tree(ntfs_inode *dir, const char *src)
{
	DIR *d = opendir(src);
	if (!d)
		die("%s: %s", src, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", src, de->d_name);
		struct stat st;
		if (lstat(path, &st) == -1)
			die("%s: %s", path, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			ntfs_inode *sub = create(dir, de->d_name, S_IFDIR);
			copy_tree(sub, path);
			ntfs_inode_close_in_dir(sub, dir);
		} else if (S_ISREG(st.st_mode)) {
			copy_file(dir, path, de->d_name);
		}
	}
	closedir(d);
}

/* A reparse point at path pointing at C:\: a junction (mount point) on a
 * directory, a symbolic link on a file. */
static void make_junction(ntfs_volume *vol, const char *path)
{
	ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, path);
	if (!ni)
		die("%s: %s", path, strerror(errno));
	int dir = (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
	static const char target[] = "\\??\\C:\\";
	static const char print[] = "C:\\";
	size_t tl = strlen(target) * 2, pl = strlen(print) * 2;
	size_t head = dir ? 8 : 12; /* a symbolic link's buffer has flags too */
	size_t datalen = head + tl + 2 + pl + 2;
	unsigned char buf[256] = {0};
	if (dir) {
		buf[0] = 0x03, buf[3] = 0xa0; /* IO_REPARSE_TAG_MOUNT_POINT */
	} else {
		buf[0] = 0x0c, buf[3] = 0xa0; /* IO_REPARSE_TAG_SYMLINK */
	}
	buf[4] = (unsigned char)datalen;
	buf[10] = (unsigned char)tl;	   /* substitute name length */
	buf[12] = (unsigned char)(tl + 2); /* print name offset */
	buf[14] = (unsigned char)pl;	   /* print name length */
	for (size_t i = 0; target[i]; i++)
		buf[8 + head + 2 * i] = (unsigned char)target[i];
	for (size_t i = 0; print[i]; i++)
		buf[8 + head + tl + 2 + 2 * i] = (unsigned char)print[i];
	if (ntfs_set_ntfs_reparse_data(ni, (const char *)buf, 8 + datalen, 0) == -1)
		die("%s: setting the reparse point: %s", path, strerror(errno));
	ntfs_inode_close(ni);
}

static ntfs_inode *open_path(ntfs_volume *vol, const char *path)
{
	ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, path);
	if (!ni)
		die("%s: %s", path, strerror(errno));
	return ni;
}

static void make_link(ntfs_volume *vol, const char *src, const char *dst)
{
	const char *slash = strrchr(dst, '/');
	if (!slash)
		die("%s: give an absolute path", dst);
	char dir[4096];
	snprintf(dir, sizeof dir, "%.*s", slash == dst ? 1 : (int)(slash - dst), dst);
	ntfschar *u = NULL;
	int len = ntfs_mbstoucs(slash + 1, &u);
	if (len <= 0)
		die("%s: bad name", dst);
	ntfs_inode *old = ntfs_pathname_to_inode(vol, NULL, dst);
	if (old && ntfs_delete(vol, NULL, old, open_path(vol, dir), u, (u8)len) == -1)
		die("%s: ntfs_delete: %s", dst, strerror(errno)); /* closes both */
	ntfs_inode *ni = open_path(vol, src), *d = open_path(vol, dir);
	if (ntfs_link(ni, d, u, (u8)len) == -1)
		die("%s: ntfs_link: %s", dst, strerror(errno));
	ntfs_inode_close(ni);
	ntfs_inode_close(d);
	free(u);
}

static ntfs_attr *open_runs(ntfs_inode *ni, const char *path)
{
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na || !NAttrNonResident(na) || ntfs_attr_map_whole_runlist(na) == -1 ||
	    na->rl[0].lcn < 0)
		die("%s: no data runs to change", path);
	return na;
}

static void crosslink(ntfs_volume *vol, const char *src, const char *dst)
{
	ntfs_inode *si = open_path(vol, src), *di = open_path(vol, dst);
	ntfs_attr *sa = open_runs(si, src), *da = open_runs(di, dst);
	da->rl[0].lcn = sa->rl[0].lcn;
	if (ntfs_attr_update_mapping_pairs(da, 0) == -1)
		die("%s: writing its data runs: %s", dst, strerror(errno));
	ntfs_attr_close(sa);
	ntfs_attr_close(da);
	ntfs_inode_close(si);
	ntfs_inode_close(di);
}

static void free_clusters(ntfs_volume *vol, const char *path)
{
	ntfs_inode *ni = open_path(vol, path);
	ntfs_attr *na = open_runs(ni, path);
	for (runlist_element *rl = na->rl; rl->length; rl++)
		if (rl->lcn >= 0 &&
		    ntfs_bitmap_clear_run(vol->lcnbmp_na, rl->lcn, rl->length) == -1)
			die("%s: clearing its clusters: %s", path, strerror(errno));
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: ntfsput PARTITION.img SRCDIR [--hibernate] [--dirty] [--junction "
		    "PATH] [--link SRC DST] [--fill KIB] [--crosslink SRC DST] [--free PATH] [--hiberfil SIG]");
	int hibernate = 0, dirty = 0;
	const char *hibsig = NULL;
	long fill = -1;
	const char *junction = NULL, *link_src = NULL, *link_dst = NULL;
	const char *cross_src = NULL, *cross_dst = NULL, *freed = NULL;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--hibernate"))
			hibernate = 1;
		else if (!strcmp(argv[i], "--hiberfil") && i + 1 < argc)
			hibsig = argv[++i];
		else if (!strcmp(argv[i], "--dirty"))
			dirty = 1;
		else if (!strcmp(argv[i], "--junction") && i + 1 < argc)
			junction = argv[++i];
		else if (!strcmp(argv[i], "--link") && i + 2 < argc) {
			link_src = argv[++i];
			link_dst = argv[++i];
		} else if (!strcmp(argv[i], "--crosslink") && i + 2 < argc) {
			cross_src = argv[++i];
			cross_dst = argv[++i];
		} else if (!strcmp(argv[i], "--free") && i + 1 < argc)
			freed = argv[++i];
		else if (!strcmp(argv[i], "--fill") && i + 1 < argc)
			fill = atol(argv[++i]);
		else
			die("unknown option %s", argv[i]);
	}
	ntfs_volume *vol = ntfs_mount(argv[1], 0);
	if (!vol)
		die("%s: ntfs_mount: %s", argv[1], strerror(errno));
	ntfs_inode *root = ntfs_inode_open(vol, FILE_root);
	copy_tree(root, argv[2]);
	if (hibernate)
		hibsig = "hibr";
	if (hibsig) {
		static char page[4096];
		if (strcmp(hibsig, "zero") != 0)
			memcpy(page, hibsig, strlen(hibsig) < 4 ? strlen(hibsig) : 4);
		ntfs_inode *ni = create(root, "hiberfil.sys", S_IFREG);
		write_all(ni, "hiberfil.sys", page, sizeof page);
		ntfs_inode_close_in_dir(ni, root);
	}
	if (fill >= 0) {
		ntfs_inode *ni = create(root, "filler.bin", S_IFREG);
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		/* grown a cluster at a time until what is left is fill KiB */
		if (ntfs_volume_get_free_space(vol) == -1)
			die("free space: %s", strerror(errno));
		s64 left = vol->free_clusters * (s64)vol->cluster_size - (s64)fill * 1024;
		s64 size = 0, big = 1 << 20;
		while (left > 0) {
			s64 step = left > big ? big : (s64)vol->cluster_size;
			if (ntfs_attr_truncate_solid(na, size + step) == -1) {
				if (step == (s64)vol->cluster_size)
					break;
				big = 0; /* fragmented, or the MFT zone: a cluster at a time */
				continue;
			}
			size += step;
			left -= step;
		}
		ntfs_attr_close(na);
		ntfs_inode_close_in_dir(ni, root);
	}
	ntfs_inode_close(root);
	if (junction)
		make_junction(vol, junction);
	if (link_src)
		make_link(vol, link_src, link_dst);
	if (cross_src)
		crosslink(vol, cross_src, cross_dst);
	if (freed)
		free_clusters(vol, freed);
	if (dirty && ntfs_volume_write_flags(vol, vol->flags | VOLUME_IS_DIRTY) == -1)
		die("setting the dirty flag: %s", strerror(errno));
	if (ntfs_umount(vol, FALSE) == -1)
		die("ntfs_umount: %s", strerror(errno));
	return 0;
}
