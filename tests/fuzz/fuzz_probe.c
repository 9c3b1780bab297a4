/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the image probe (format detection) and the partition-table
 * parser (MBR, EBR chains, GPT) on arbitrary bytes as a raw disk. */
#include <sys/mman.h>
#include <unistd.h>

#include "disk/blockdev.h"
#include "disk/imgfmt.h"
#include "disk/partitions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	struct err e = {0};
	char fmt[16];
	imgfmt_detect(fd, fmt, sizeof fmt, &e);
	err_clear(&e);
	struct blockdev *bd = bdev_open("fuzz", fd, -1, "raw", 0, &e); /* takes fd */
	if (bd) {
		struct part *parts = NULL;
		size_t n = 0;
		if (parts_find(bd, &parts, &n, &e) == 0)
			for (size_t i = 0; i < n; i++)
				if (parts[i].start > bdev_size(bd) ||
				    parts[i].size > bdev_size(bd) - parts[i].start)
					__builtin_trap(); /* a partition outside the image */
		free(parts);
		bdev_close(bd);
	}
	err_clear(&e);
	return 0;
}
