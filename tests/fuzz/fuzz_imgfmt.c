/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the image-format parsers, on arbitrary bytes.  The first byte
 * picks the format the rest is read as (qcow2, vmdk, vpc, vhdx, or what
 * imgfmt_detect says); the rest is the file, in a memfd.  Whatever is
 * accepted must be sane: extents within the limit, each extent's line
 * inside the descriptor. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk/imgfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fmts[] = {"qcow2", "vmdk", "vpc", "vhdx"};
	if (!size)
		return 0;
	int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (fd == -1 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	char fmt[16];
	struct err e = {0};
	if (data[0] % 5 == 4) {
		if (imgfmt_detect(fd, fmt, sizeof fmt, &e) == -1)
			goto out;
	} else {
		strcpy(fmt, fmts[data[0] % 5]);
	}
	if (!imgfmt_known(fmt))
		__builtin_trap();
	struct imgrefs r = {0};
	if (imgfmt_refs(fd, fmt, "fuzz: ", &r, &e) == 0) {
		if (r.extents.n > IMAGE_MAX_EXTENTS || r.extents.n != r.ext_types.n)
			__builtin_trap();
		for (size_t i = 0; i < r.extents.n; i++) {
			if (!r.desc || r.ext_line[i] >= strlen(r.desc))
				__builtin_trap();
			imgfmt_vmdk_nested(fd, r.ext_types.v[i], "fuzz: ", &e);
			err_clear(&e);
		}
	}
	imgfmt_refs_free(&r);
out:
	err_clear(&e);
	close(fd);
	return 0;
}
