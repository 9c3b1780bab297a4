/* SPDX-License-Identifier: GPL-2.0-or-later */
/* undolog: the undo log of an NTFS metadata update (undolog.h). */
#include "vol/undolog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#define HEAD 32u
#define PAGE_HEAD 16u

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void sha(const uint8_t *p, size_t len, uint8_t out[32])
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, len, p);
	sha256_digest(&c, 32, out);
}

void undo_encode(const struct undo_log *u, struct buf *out)
{
	size_t len = HEAD + 32;
	for (size_t i = 0; i < u->npages; i++)
		len += PAGE_HEAD + 2 * (size_t)u->pages[i].len;
	uint8_t *p = xcalloc(1, len);
	memcpy(p, UNDO_MAGIC, 8);
	put64(p + 8, u->part_off);
	put64(p + 16, u->serial);
	put64(p + 24, u->npages);
	size_t at = HEAD;
	for (size_t i = 0; i < u->npages; i++) {
		const struct undo_page *g = &u->pages[i];
		put64(p + at, g->off);
		put64(p + at + 8, g->len);
		memcpy(p + at + PAGE_HEAD, g->old, g->len);
		memcpy(p + at + PAGE_HEAD + g->len, g->new, g->len);
		at += PAGE_HEAD + 2 * (size_t)g->len;
	}
	sha(p, at, p + at);
	out->p = p;
	out->len = len;
	out->memfd = 0;
}

const char *undo_parse(const uint8_t *p, size_t len, struct undo_log *u)
{
	memset(u, 0, sizeof *u);
	if (len < HEAD + 32 || memcmp(p, UNDO_MAGIC, 8) != 0)
		return "not an undo log";
	uint8_t sum[32];
	sha(p, len - 32, sum);
	if (memcmp(sum, p + len - 32, 32) != 0)
		return "its checksum does not match (it was cut short while being written)";
	uint64_t n = get64(p + 24);
	if (n > (len - HEAD - 32) / (PAGE_HEAD + 2))
		return "it claims more pages than it holds";
	u->part_off = get64(p + 8);
	u->serial = get64(p + 16);
	u->pages = xcalloc(n ? n : 1, sizeof *u->pages);
	size_t at = HEAD;
	for (uint64_t i = 0; i < n; i++) {
		if (len - 32 - at < PAGE_HEAD) {
			free(u->pages);
			u->pages = NULL;
			return "a page is cut short";
		}
		uint64_t off = get64(p + at), plen = get64(p + at + 8);
		if (plen == 0 || plen > UNDO_PAGE_MAX || off > UINT64_MAX - plen ||
		    2 * plen > len - 32 - at - PAGE_HEAD) {
			free(u->pages);
			u->pages = NULL;
			return "a page has a bad length";
		}
		struct undo_page *g = &u->pages[i];
		g->off = off;
		g->len = (uint32_t)plen;
		g->old = p + at + PAGE_HEAD;
		g->new = p + at + PAGE_HEAD + plen;
		at += PAGE_HEAD + 2 * plen;
	}
	if (at != len - 32) {
		free(u->pages);
		u->pages = NULL;
		return "it has bytes after its last page";
	}
	u->npages = n;
	return NULL;
}

int undo_dir(char **path, int create, struct err *e)
{
	const char *env = getenv("NOBOUNCE_STATE_DIR");
	char *p;
	if (env && *env)
		p = xstrdup(env);
	else if (geteuid() == 0)
		p = xstrdup("/var/lib/nobounce");
	else if (getenv("XDG_STATE_HOME") && *getenv("XDG_STATE_HOME"))
		p = xasprintf("%s/nobounce", getenv("XDG_STATE_HOME"));
	else if (getenv("HOME") && *getenv("HOME"))
		p = xasprintf("%s/.local/state/nobounce", getenv("HOME"));
	else
		return fail(e, "io", "no state directory: set NOBOUNCE_STATE_DIR");
	/* each missing directory of the path made as its owner's own */
	for (char *s = strchr(p + 1, '/'); create; s = strchr(s + 1, '/')) {
		if (s)
			*s = 0;
		int r = mkdir(p, 0700), err = errno;
		if (s)
			*s = '/';
		if (r == -1 && err != EEXIST) {
			fail(e, "io", "%s: cannot make the state directory: %s", p, strerror(err));
			free(p);
			return -1;
		}
		if (!s)
			break;
	}
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd == -1 || fstat(fd, &st) == -1) {
		fail(e, "io", "%s: cannot open the state directory: %s", p, strerror(errno));
		if (fd != -1)
			close(fd);
		free(p);
		return -1;
	}
	/* it holds what is put back into volumes: only its user may write it */
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		fail(e, "unsafe-path",
		     "%s: the state directory is not its user's own (owner uid %u, mode %04o); "
		     "make it so (chown, chmod 700) or set NOBOUNCE_STATE_DIR",
		     p, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		free(p);
		return -1;
	}
	*path = p;
	return fd;
}

/* A descriptor of the directory that openat can use (dir is O_PATH). */
static int dir_real(int dir, const char *dirpath, struct err *e)
{
	CLEANUP_FREE char *self = xasprintf("/proc/self/fd/%d", dir);
	int d = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d == -1)
		fail(e, "io", "%s: cannot open the state directory: %s", dirpath, strerror(errno));
	return d;
}

int undo_store(int dir, const char *dirpath, const char *name, const struct buf *b, struct err *e)
{
	int d = dir_real(dir, dirpath, e);
	if (d == -1)
		return -1;
	int fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = -1;
	if (fd == -1) {
		fail(e, "io", "%s/%s: cannot create the undo log: %s", dirpath, name,
		     errno == EEXIST ? "it exists (another run on this volume?)" : strerror(errno));
	} else {
		size_t done = 0;
		while (done < b->len) {
			ssize_t n = write(fd, b->p + done, b->len - done);
			if (n <= 0)
				break;
			done += (size_t)n;
		}
		if (done != b->len || fsync(fd) == -1)
			fail(e, "io", "%s/%s: writing the undo log failed: %s", dirpath, name,
			     done != b->len ? "short write (disk full?)" : strerror(errno));
		else if (fsync(d) == -1)
			fail(e, "io", "%s: syncing the state directory failed: %s", dirpath,
			     strerror(errno));
		else
			r = 0;
		close(fd);
		if (r == -1)
			unlinkat(d, name, 0);
	}
	close(d);
	return r;
}

int undo_load(int dir, const char *dirpath, const char *name, struct buf *b, struct err *e)
{
	int d = dir_real(dir, dirpath, e);
	if (d == -1)
		return -1;
	int fd = openat(d, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(d);
	if (fd == -1)
		return errno == ENOENT ? 0
				       : fail(e, "io", "%s/%s: cannot open: %s", dirpath, name,
					      strerror(errno));
	struct stat st;
	int r = -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid())
		fail(e, "unsafe-path",
		     "%s/%s: not a file of this user's with one name; nobounce never puts back "
		     "pages from anything else. Move it away",
		     dirpath, name);
	else if (st.st_size > (off_t)(1u << 30))
		fail(e, "too-large", "%s/%s: larger than any undo log nobounce writes", dirpath,
		     name);
	else if (buf_alloc(b, (size_t)st.st_size) == 0) {
		size_t done = 0;
		while (done < b->len) {
			ssize_t n = pread(fd, b->p + done, b->len - done, (off_t)done);
			if (n <= 0)
				break;
			done += (size_t)n;
		}
		if (done == b->len)
			r = 1;
		else
			fail(e, "io", "%s/%s: cannot read: %s", dirpath, name, strerror(errno));
	}
	close(fd);
	return r;
}

int undo_drop(int dir, const char *dirpath, const char *name, struct err *e)
{
	int d = dir_real(dir, dirpath, e);
	if (d == -1)
		return -1;
	int r = 0;
	if (unlinkat(d, name, 0) == -1 && errno != ENOENT)
		r = fail(e, "io", "%s/%s: cannot remove the undo log: %s", dirpath, name,
			 strerror(errno));
	else if (fsync(d) == -1)
		r = fail(e, "io", "%s: syncing the state directory failed: %s", dirpath,
			 strerror(errno));
	close(d);
	return r;
}
