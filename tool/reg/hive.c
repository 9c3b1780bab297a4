/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hive: hives through hivex, after their base block is checked (see
 * hive.h). */
#include "reg/hive.h"
#include "reg/regf.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct hive *hive_open_bytes(const char *name, const struct buf *b, int writable, struct err *e)
{
	if (hive_check_bytes(name, b->p, b->len, e) == -1)
		return NULL;
	/* hivex opens files by name: bytes already in a memfd are given to it
	 * as they are, others are copied into one */
	int fd = b->memfd > 0 ? dup(b->memfd - 1) : memfd_create("nobounce-hive", MFD_CLOEXEC);
	if (fd == -1) {
		fail(e, "io", "%s: memfd: %s", name, strerror(errno));
		return NULL;
	}
	for (size_t done = 0; b->memfd <= 0 && done < b->len;) {
		ssize_t n = write(fd, b->p + done, b->len - done);
		if (n <= 0) {
			fail(e, "io", "%s: copying into memory: %s", name, strerror(errno));
			close(fd);
			return NULL;
		}
		done += (size_t)n;
	}
	char fdpath[64];
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	hive_h *h = hivex_open(fdpath, (writable ? HIVEX_OPEN_WRITE : 0) |
					   (trace ? HIVEX_OPEN_VERBOSE : 0));
	tracef("%s: hivex_open%s", name, writable ? " (writable)" : "");
	int err = errno;
	close(fd);
	if (!h) {
		fail(e, "damaged-hive",
		     "%s: hivex cannot read the hive (%s): it is damaged. Restore it from a "
		     "backup before running nobounce",
		     name, strerror(err));
		return NULL;
	}
	struct hive *hv = xcalloc(1, sizeof *hv);
	hv->path = xstrdup(name);
	hv->size = b->len;
	hv->h = h;
	hv->writable = writable;
	return hv;
}

struct hive *hive_load(struct vol *v, const char *path, int writable, char sha[65], struct err *e)
{
	struct buf b = {.memfd = -1};
	if (vol_read(v, path, HIVE_MAX_BYTES, &b, e) == -1)
		return NULL;
	note("%s: read %s (%zu bytes)", vol_name(v), path, b.len);
	if (sha)
		sha256_hex(b.p, b.len, sha);
	struct hive *hv = hive_open_bytes(path, &b, writable, e);
	buf_free(&b);
	return hv;
}

void hive_free(struct hive *hv)
{
	if (!hv)
		return;
	if (hv->h)
		hivex_close(hv->h);
	free(hv->path);
	free(hv);
}

hive_node_h hive_node(struct hive *hv, hive_node_h from, const char *path)
{
	CLEANUP_FREE char *copy = xstrdup(path);
	hive_node_h n = from ? from : hivex_root(hv->h);
	char *save = NULL;
	for (char *c = strtok_r(copy, "\\", &save); c && n; c = strtok_r(NULL, "\\", &save))
		n = hivex_node_get_child(hv->h, n, c);
	return n;
}

char *hive_string(struct hive *hv, hive_node_h node, const char *name)
{
	hive_value_h v = hivex_node_get_value(hv->h, node, name);
	if (!v)
		return NULL;
	hive_type t;
	size_t len;
	if (hivex_value_type(hv->h, v, &t, &len) == -1 ||
	    (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ))
		return NULL;
	return hivex_value_string(hv->h, v);
}

int hive_serialize(struct hive *hv, struct buf *out, struct err *e)
{
	int fd = memfd_create("nobounce-commit", MFD_CLOEXEC);
	if (fd == -1)
		return fail(e, "io", "%s: memfd_create: %s", hv->path, strerror(errno));
	char fdpath[64];
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	struct stat st;
	if (hivex_commit(hv->h, fdpath, 0) == -1 || fstat(fd, &st) == -1) {
		int err = errno;
		close(fd);
		return fail(e, "internal", "%s: hivex_commit (in memory) failed: %s", hv->path,
			    strerror(err));
	}
	/* the committed bytes stay in the memfd's pages: mapped, not copied,
	 * and not populated: their pages come in as they are read, which the
	 * caller does after freeing hivex's copy */
	out->len = (size_t)st.st_size;
	void *m = out->len ? mmap(NULL, out->len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	if (m == MAP_FAILED) {
		int err = errno;
		close(fd);
		out->len = 0;
		return fail(e, "io", "%s: mapping the committed hive failed: %s", hv->path,
			    strerror(err));
	}
	out->p = m;
	out->memfd = fd + 1; /* kept open: verification opens it again */
	return 0;
}

int hive_keep_remnant(const char *name, struct buf *after, const struct buf *before, struct err *e)
{
	if (before->len <= after->len)
		return 0; /* the bins grew over all of it */
	size_t len = before->len, n = before->len - after->len;
	int fd = after->memfd - 1;
	if (after->memfd <= 0 || pwrite_all(fd, before->p + after->len, n, after->len) == -1)
		return fail(e, "io", "%s: keeping the bytes after the last hive bin failed: %s",
			    name, strerror(errno));
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return fail(e, "io", "%s: mapping the committed hive failed: %s", name,
			    strerror(errno));
	munmap(after->p, after->len);
	after->p = m;
	after->len = len;
	return 0;
}

char *hive_data_repr(uint32_t t, const uint8_t *data, size_t len)
{
	char *s;
	if (t == hive_t_REG_DWORD && len == 4) {
		s = xasprintf("dword:%08x", le32(data));
	} else if (t == hive_t_REG_SZ || t == hive_t_REG_EXPAND_SZ) {
		CLEANUP_FREE char *str = hive_text(data, len);
		s = xasprintf("%s:%s", t == hive_t_REG_SZ ? "sz" : "expand_sz", str);
	} else {
		size_t n = len > 32 ? 32 : len;
		s = xmalloc(32 + 3 * n + 8);
		int o = sprintf(s, "hex(%x):", (unsigned)t);
		for (size_t i = 0; i < n; i++)
			o += sprintf(s + o, "%s%02x", i ? "," : "", data[i]);
		if (n < len)
			sprintf(s + o, ",...");
	}
	return s;
}

char *hive_value_repr(struct hive *hv, hive_value_h val)
{
	hive_type t;
	size_t len;
	char *data = hivex_value_value(hv->h, val, &t, &len);
	if (!data)
		return xstrdup("(unreadable)");
	char *s = hive_data_repr(t, (const uint8_t *)data, len);
	free(data);
	return s;
}
