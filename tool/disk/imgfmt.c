/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An image's format, from its first and last bytes (imgfmt.h). */
#include "disk/imgfmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
