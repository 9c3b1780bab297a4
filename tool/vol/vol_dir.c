/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vol_dir: the volume door for a directory: the root of a mounted Windows volume.
 *
 * Every path is walked from the root's descriptor one component at a time
 * with O_NOFOLLOW, so a symbolic link anywhere on the path is refused, never
 * followed, and nothing can resolve outside the root (the same guarantee as
 * openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, without needing Linux 5.6). */
#include "vol/vol_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct dirvol {
	int rootfd;   /* the root directory; every walk starts here */
	int *written; /* files written since the last sync */
	size_t nwritten;
	/* Directories resolved so far, held for the whole run: a directory
	 * renamed or swapped meanwhile changes nothing, since no path is
	 * walked twice. */
	struct strlist dirs;
	int *dirfds;
	/* The root's mount: a path that reaches another (a bind mount inside
	 * the volume) is refused. */
	uint64_t mnt_id;
	dev_t dev;
	int have_mnt_id;
};

/* Whether fd lies on the root's mount. */
static int on_root_mount(const struct dirvol *d, int fd)
{
	struct statx sx;
	if (d->have_mnt_id && statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID))
		return sx.stx_mnt_id == d->mnt_id;
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == d->dev;
}

static int crossed(const char *path, struct err *e)
{
	return fail(e, "unsafe-path",
		    "%s: is another file system mounted inside the volume (a bind mount?); "
		    "nobounce writes only the volume's own files. Unmount it first",
		    path);
}

static int rootfd(struct vol *v)
{
	return ((struct dirvol *)v->priv)->rootfd;
}

/* Explains why name under dirfd cannot be used. */
static int refuse(struct vol *v, int dirfd, const char *path, const char *name, int err,
		  struct err *e)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return fail(e, "unsafe-path",
				    "%s: is a symbolic link; nobounce never follows links on a "
				    "target (one could point outside the volume). Replace it with "
				    "the real file or directory",
				    path);
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			return fail(e, "unsafe-path",
				    "%s: is not a regular file or directory; refusing to touch it",
				    path);
	}
	(void)v;
	if (err == EACCES) {
		CLEANUP_FREE char *who = who_am_i();
		return fail(e, "permission-denied",
			    "%s: permission denied: %s may not open it. Run nobounce as a user "
			    "who may (root, for a mounted Windows volume), or change its "
			    "permissions",
			    path, who);
	}
	return fail(e, "io", "%s: cannot open: %s", path, strerror(err));
}

/* Opens the directory holding path's last component; *leaf points into path.
 * Each directory is walked to once per run, then held. */
static int walk_parent(struct vol *v, const char *path, const char **leaf, struct err *e)
{
	struct dirvol *d = v->priv;
	const char *slash = strrchr(path, '/');
	*leaf = slash ? slash + 1 : path;
	if (!slash) {
		int fd = dup(rootfd(v));
		return fd == -1 ? fail(e, "io", "%s: dup: %s", v->name, strerror(errno)) : fd;
	}
	CLEANUP_FREE char *dir = strndup(path, (size_t)(slash - path));
	for (size_t i = 0; i < d->dirs.n; i++)
		if (STREQ(d->dirs.v[i], dir)) {
			int fd = dup(d->dirfds[i]);
			return fd == -1 ? fail(e, "io", "%s: dup: %s", v->name, strerror(errno))
					: fd;
		}
	int fd = dup(rootfd(v));
	if (fd == -1)
		return fail(e, "io", "%s: dup: %s", v->name, strerror(errno));
	CLEANUP_FREE char *walk = xstrdup(dir);
	char *save = NULL;
	size_t done = 0;
	for (char *c = strtok_r(walk, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		CLEANUP_FREE char *sofar = strndup(path, done + strlen(c));
		if (next == -1) {
			int err = errno;
			refuse(v, fd, sofar, c, err, e);
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
		if (!on_root_mount(d, fd)) {
			close(fd);
			return crossed(sofar, e);
		}
		done += strlen(c) + 1;
	}
	int held = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (held != -1) {
		d->dirfds = xrealloc(d->dirfds, (d->dirs.n + 1) * sizeof *d->dirfds);
		d->dirfds[d->dirs.n] = held;
		strlist_add(&d->dirs, xstrdup(dir));
	}
	return fd;
}

/* Opens a regular file on the volume; refuses links and special files. */
static int open_file(struct vol *v, const char *path, int flags, struct stat *st, struct err *e)
{
	const char *leaf;
	CLEANUP_CLOSE int dfd = walk_parent(v, path, &leaf, e);
	if (dfd == -1)
		return -1;
	CLEANUP_CLOSE int fd = openat(dfd, leaf, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return refuse(v, dfd, path, leaf, errno, e);
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode))
		return fail(e, "unsafe-path", "%s: is not a regular file; refusing to touch it",
			    path);
	if (!on_root_mount(v->priv, fd))
		return crossed(path, e);
	return fd_take(&fd);
}

static int d_list(struct vol *v, const char *dir, struct strlist *out, struct err *e)
{
	int fd;
	if (*dir) {
		CLEANUP_FREE char *probe = xasprintf("%s/.", dir);
		const char *leaf;
		int pfd = walk_parent(v, probe, &leaf, e);
		if (pfd == -1)
			return -1;
		fd = pfd;
	} else {
		fd = dup(rootfd(v));
	}
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd != -1)
			close(fd);
		return fail(e, "io", "%s: cannot list: %s", *dir ? dir : "/", strerror(errno));
	}
	rewinddir(d); /* a dup of the root shares its offset with every other dup */
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL)
		if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
			strlist_add(out, xstrdup(de->d_name));
	int err = errno;
	closedir(d);
	if (err)
		return fail(e, "io", "%s: cannot list: %s", *dir ? dir : "/", strerror(err));
	return 0;
}

static int d_kind(struct vol *v, const char *path, struct err *e)
{
	const char *leaf;
	CLEANUP_CLOSE int dfd = walk_parent(v, path, &leaf, e);
	if (dfd == -1)
		return -1;
	struct stat st;
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? VOL_MISSING
				       : fail(e, "io", "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode))
		return VOL_FILE;
	if (S_ISDIR(st.st_mode))
		return VOL_DIR;
	return refuse(v, dfd, path, leaf, EINVAL, e);
}

static int d_read(struct vol *v, const char *path, size_t max, struct buf *out, struct err *e)
{
	struct stat st;
	CLEANUP_CLOSE int fd = open_file(v, path, O_RDONLY, &st, e);
	if (fd == -1)
		return -1;
	if ((uint64_t)st.st_size > max) {
		return fail(e, "too-large",
			    "%s: is %lld bytes, more than the %zu a real one can be; refusing "
			    "to read it",
			    path, (long long)st.st_size, max);
	}
	size_t len = (size_t)st.st_size;
	buf_alloc(out, len);
	if (pread_all(fd, out->p, len, 0) == -1) {
		int err = errno;
		buf_free(out);
		return fail(e, "io", "%s: read failed: %s", path,
			    err == EIO ? "the file shrank while being read, or the disk failed"
				       : strerror(err));
	}
	return 0;
}

static int d_size(struct vol *v, const char *path, uint64_t *size, struct err *e)
{
	struct stat st;
	CLEANUP_CLOSE int fd = open_file(v, path, O_RDONLY, &st, e);
	if (fd == -1)
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int d_read_at(struct vol *v, const char *path, uint64_t off, void *p, size_t len,
		     struct err *e)
{
	struct stat st;
	CLEANUP_CLOSE int fd = open_file(v, path, O_RDONLY, &st, e);
	if (fd == -1)
		return -1;
	if (pread_all(fd, p, len, off) == -1)
		return fail(e, "io", "%s: read failed at %llu: %s", path, (unsigned long long)off,
			    errno == EIO ? "the file ends early, or the disk failed"
					 : strerror(errno));
	return 0;
}

/* Files written since the last sync, to be flushed (and their cached pages
 * dropped) by it.  Same inode, owner and mode: a file is overwritten in
 * place, never replaced. */
static int written_add(struct vol *v, int fd)
{
	struct dirvol *d = v->priv;
	for (size_t i = 0; i < d->nwritten; i++) {
		struct stat a, b;
		if (fstat(d->written[i], &a) == 0 && fstat(fd, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			close(fd);
			return d->written[i];
		}
	}
	d->written = xrealloc(d->written, (d->nwritten + 1) * sizeof *d->written);
	d->written[d->nwritten++] = fd;
	return fd;
}

static int d_write_at(struct vol *v, const char *path, uint64_t off, const void *p, size_t len,
		      struct err *e)
{
	struct stat st;
	int fd = open_file(v, path, O_WRONLY, &st, e);
	if (fd == -1)
		return -1;
	fd = written_add(v, fd);
	if (pwrite_all(fd, p, len, off) == -1)
		return fail(e, "io", "%s: write failed at %llu: %s", path, (unsigned long long)off,
			    strerror(errno));
	return 0;
}

static int d_resize(struct vol *v, const char *path, uint64_t len, struct err *e)
{
	struct stat st;
	int fd = open_file(v, path, O_WRONLY, &st, e);
	if (fd == -1)
		return -1;
	fd = written_add(v, fd);
	if (ftruncate(fd, (off_t)len) == -1)
		return fail(e, "io", "%s: cannot set its length: %s", path, strerror(errno));
	return 0;
}

static int d_sync(struct vol *v, int drop, struct err *e)
{
	struct dirvol *d = v->priv;
	int r = 0;
	for (size_t i = 0; i < d->nwritten; i++) {
		if (r == 0 && fsync(d->written[i]) == -1)
			r = fail(e, "io", "%s: flushing a written file failed: %s", v->name,
				 strerror(errno));
		/* the read-backs then come from the disk */
		if (r == 0 && drop)
			posix_fadvise(d->written[i], 0, 0, POSIX_FADV_DONTNEED);
		close(d->written[i]);
	}
	d->nwritten = 0;
	return r;
}

static int create_at(struct vol *v, int dfd, const char *leaf, const char *path, const void *p,
		     size_t len, const struct stat *like, struct err *e)
{
	int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd != -1 && like) {
		/* the original's owner, and no more access than it has */
		if (fchown(fd, like->st_uid, like->st_gid) == -1)
			note("%s: cannot give it its original's owner: %s", path, strerror(errno));
		fchmod(fd, like->st_mode & 0600);
	}
	if (fd == -1) {
		if (errno == EEXIST)
			return fail(e, "stray-file",
				    "%s: already exists and is not one nobounce made. Move it away "
				    "and run again",
				    path);
		return fail(e, "io", "%s: cannot create: %s", path, strerror(errno));
	}
	if (pwrite_all(fd, p, len, 0) == -1 || fsync(fd) == -1) {
		int err = errno;
		close(fd);
		unlinkat(dfd, leaf, 0);
		return fail(e, "io", "%s: write failed: %s", path, strerror(err));
	}
	close(fd);
	(void)v;
	return 0;
}

static int d_create(struct vol *v, const char *path, const void *p, size_t len, const char *like,
		    struct err *e)
{
	struct stat lst;
	if (like) {
		CLEANUP_CLOSE int lfd = open_file(v, like, O_RDONLY, &lst, e);
		if (lfd == -1)
			return -1;
	}
	const char *leaf;
	CLEANUP_CLOSE int dfd = walk_parent(v, path, &leaf, e);
	if (dfd == -1)
		return -1;
	int r = create_at(v, dfd, leaf, path, p, len, like ? &lst : NULL, e);
	if (r == 0 && fsync(dfd) == -1) {
		/* a create that fails leaves nothing behind */
		r = fail(e, "io", "%s: fsync of its directory failed: %s", path, strerror(errno));
		unlinkat(dfd, leaf, 0);
	}
	return r;
}

static int d_remove(struct vol *v, const char *path, struct err *e)
{
	int k = d_kind(v, path, e);
	if (k == VOL_MISSING)
		return 0;
	if (k != VOL_FILE)
		return k == -1 ? -1 : fail(e, "io", "%s: is a directory", path);
	const char *leaf;
	CLEANUP_CLOSE int dfd = walk_parent(v, path, &leaf, e);
	if (dfd == -1)
		return -1;
	if (unlinkat(dfd, leaf, 0) == -1 || fsync(dfd) == -1)
		return fail(e, "io", "%s: cannot remove: %s", path, strerror(errno));
	return 0;
}

static int d_links(struct vol *v, const char *path, struct err *e)
{
	struct stat st;
	CLEANUP_CLOSE int fd = open_file(v, path, O_RDONLY, &st, e);
	if (fd == -1)
		return -1;
	return st.st_nlink > INT32_MAX ? INT32_MAX : (int)st.st_nlink;
}

static int d_inplace(struct vol *v, const char *path, struct err *e)
{
	(void)v, (void)path, (void)e;
	return 0; /* a host file system writes any regular file in place */
}

static int d_lock(struct vol *v, int exclusive, struct err *e)
{
	if (flock(rootfd(v), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return fail(e, "locked",
			    "another nobounce run holds this volume; wait for it to finish");
	return fail(e, "io", "cannot lock the volume: %s", strerror(errno));
}

static void d_close(struct vol *v)
{
	struct dirvol *d = v->priv;
	struct err e = {0};
	d_sync(v, 0, &e);
	err_clear(&e);
	free(d->written);
	for (size_t i = 0; i < d->dirs.n; i++)
		close(d->dirfds[i]);
	free(d->dirfds);
	strlist_free(&d->dirs);
	close(d->rootfd);
	free(d);
}

static const struct vol_ops dir_ops = {
    .list = d_list,
    .kind = d_kind,
    .read = d_read,
    .size = d_size,
    .read_at = d_read_at,
    .write_at = d_write_at,
    .resize = d_resize,
    .sync = d_sync,
    .create = d_create,
    .remove = d_remove,
    .links = d_links,
    .inplace = d_inplace,
    .lock = d_lock,
    .close = d_close,
};

struct vol *vol_open_dir(const char *path, int writable, struct err *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == EACCES) {
			CLEANUP_FREE char *who = who_am_i();
			fail(e, "permission-denied",
			     "permission denied: %s may not open this directory. Run nobounce as "
			     "a user who may, or change its permissions",
			     who);
		} else {
			fail(e, "not-found", "cannot open the directory: %s", strerror(errno));
		}
		return NULL;
	}
	struct dirvol *d = xcalloc(1, sizeof *d);
	d->rootfd = fd;
	struct statx sx;
	struct stat st;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
		d->mnt_id = sx.stx_mnt_id;
		d->have_mnt_id = 1;
	}
	if (fstat(fd, &st) == 0)
		d->dev = st.st_dev;
	struct vol *v = xcalloc(1, sizeof *v);
	v->ops = &dir_ops;
	v->name = xstrdup(path);
	v->writable = writable;
	v->priv = d;
	return v;
}
