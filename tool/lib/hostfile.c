/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostfile: a file of the host, opened once and judged on its descriptor
 * (see hostfile.h for the rules). */
#include "lib/hostfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int cwd_or(int dirfd)
{
	return dirfd == AT_FDCWD ? open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)
				 : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
}

static int lookup_error(const char *name, const char *comp, int err, struct err *e)
{
	if (err == ENOENT)
		return fail(e, "not-found", "cannot open: %s. Check the path", strerror(err));
	if (err == EACCES) {
		CLEANUP_FREE char *who = who_am_i();
		return fail(e, "permission-denied",
			    "permission denied: %s may not look up %s in %s. Run nobounce as a "
			    "user who may, or change its permissions",
			    who, comp, name);
	}
	return fail(e, "not-found", "cannot open (at %s): %s. Check the path", comp, strerror(err));
}

/* Looks name up one component at a time from dirfd, following symbolic
 * links by their content as read from the link's own inode (which cannot
 * change), never by a second lookup.  On success *dir is the directory the
 * last component was found in and *leaf that component (O_PATH, not
 * followed), and uids[0..*nlinks) the owners of the links followed. */
static int walk(int dirfd, const char *name, int *dir, int *leaf, uid_t *uids, size_t *nlinks,
		struct err *e)
{
	CLEANUP_FREE char *path = xstrdup(name);
	int cur = path[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : cwd_or(dirfd);
	if (cur == -1)
		return fail(e, "io", "cannot open the directory to start from: %s",
			    strerror(errno));
	*nlinks = 0;
	for (char *p = path;;) {
		while (*p == '/')
			p++;
		char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char comp[NAME_MAX + 1];
		if (len == 0 || len > NAME_MAX) {
			close(cur);
			return fail(e, "unsupported-target",
				    len ? "a component of the name is too long"
					: "names a directory, not a disk image or device");
		}
		memcpy(comp, p, len);
		comp[len] = 0;
		const char *after = slash ? slash : "";
		int last = after[strspn(after, "/")] == 0;
		int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd == -1 || fstat(fd, &st) == -1) {
			int err = errno;
			if (fd != -1)
				close(fd);
			close(cur);
			return lookup_error(name, comp, err, e);
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = *nlinks >= HOST_MAX_LINKS
					? -1
					: readlinkat(fd, "", target, sizeof target - 1);
			close(fd);
			if (n <= 0) {
				close(cur);
				return fail(e, "unsupported-target",
					    "too many symbolic links, or one that cannot be read");
			}
			target[n] = 0;
			uids[(*nlinks)++] = st.st_uid;
			char *next = xasprintf("%s%s", target, after);
			free(path);
			path = next;
			p = path;
			if (target[0] == '/') {
				close(cur);
				cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (cur == -1)
					return fail(e, "io", "cannot open /: %s", strerror(errno));
			}
			continue;
		}
		if (last) {
			*dir = cur;
			*leaf = fd;
			return 0;
		}
		close(cur);
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			return fail(e, "not-found", "cannot open: %s is not a directory", comp);
		}
		cur = fd;
		p = (char *)after;
	}
}

int host_open(int dirfd, const char *name, int flags, struct hostfile *hf, struct err *e)
{
	hf->fd = hf->dirfd = -1;
	uid_t uids[HOST_MAX_LINKS];
	size_t nlinks = 0;
	int leaf = -1;
	if (walk(dirfd, name, &hf->dirfd, &leaf, uids, &nlinks, e) == -1)
		return -1;
	struct stat *st = &hf->st;
	if (fstat(leaf, st) == -1) {
		close(leaf);
		host_close(hf);
		return fail(e, "io", "fstat: %s", strerror(errno));
	}
	for (size_t i = 0; i < nlinks; i++)
		if (uids[i] != 0 && uids[i] != st->st_uid) {
			close(leaf);
			host_close(hf);
			return fail(e, "unsafe-path",
				    "it is reached through a symbolic link that uid %u made, to a "
				    "file of uid %u: nobounce follows a link to a file only when "
				    "root or that file's owner made it. Give the file's own path",
				    (unsigned)uids[i], (unsigned)st->st_uid);
		}
	int blk = S_ISBLK(st->st_mode);
	if (!blk && !S_ISREG(st->st_mode)) {
		close(leaf);
		host_close(hf);
		return fail(e, "unsupported-target",
			    "is neither a disk image, a block device nor a directory");
	}
	/* the very inode looked up, opened for I/O: O_EXCL is refused by a
	 * block device that is mounted or held, and ignored by a file */
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", leaf);
	hf->fd = open(proc, flags | (blk ? O_EXCL : 0) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int err = errno;
	close(leaf);
	if (hf->fd == -1) {
		host_close(hf);
		if (err == EBUSY)
			return fail(e, "in-use",
				    "in use: the device is mounted, or held by md, device-mapper "
				    "or another program. Unmount it (or stop what holds it) first");
		if (err == EACCES) {
			CLEANUP_FREE char *who = who_am_i();
			return fail(
			    e, "permission-denied",
			    "permission denied: %s may not %s it (owner uid %u, mode %04o). "
			    "Run nobounce as a user who may, or change its permissions",
			    who, (flags & O_ACCMODE) == O_RDWR ? "read and write" : "read",
			    (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
		}
		if ((flags & O_ACCMODE) == O_RDWR && (err == EROFS || err == EPERM))
			return fail(e, "read-only-image",
				    "cannot open it for writing (%s): the image or its device is "
				    "read-only. Make it writable, or run 'check' instead",
				    strerror(err));
		return fail(e, "not-found", "cannot open: %s. Check the path", strerror(err));
	}
	fcntl(hf->fd, F_SETFL, fcntl(hf->fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

void host_close(struct hostfile *hf)
{
	if (hf->fd >= 0)
		close(hf->fd);
	if (hf->dirfd >= 0)
		close(hf->dirfd);
	hf->fd = hf->dirfd = -1;
}

static int same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A sysfs attribute read whole (names may hold any byte but NUL). */
static int read_attr(const char *path, char *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	ssize_t n = read(fd, out, max - 1);
	close(fd);
	if (n <= 0)
		return -1;
	if (out[n - 1] == '\n') /* sysfs ends the value with one */
		n--;
	out[n] = 0;
	return 0;
}

char *host_loop_of(const struct stat *st)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return NULL;
	char *hit = NULL;
	struct dirent *de;
	while (!hit && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		CLEANUP_FREE char *dev = xasprintf("/dev/%s", de->d_name);
		int lfd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		struct loop_info64 li;
		if (lfd != -1) {
			/* the inode itself, as the kernel holds it */
			int bound = ioctl(lfd, LOOP_GET_STATUS64, &li) == 0;
			close(lfd);
			if (bound && li.lo_inode == st->st_ino && li.lo_device == st->st_dev)
				hit = xstrdup(dev);
			if (bound || errno == ENXIO)
				continue;
		}
		/* not root: the name sysfs keeps, read whole */
		CLEANUP_FREE char *attr = xasprintf("/sys/block/%s/loop/backing_file", de->d_name);
		char path[PATH_MAX + 16];
		struct stat bs;
		if (read_attr(attr, path, sizeof path) == 0 && stat(path, &bs) == 0 &&
		    same_inode(&bs, st))
			hit = xstrdup(dev);
	}
	closedir(d);
	return hit;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

char *host_mount_of(const struct stat *st)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char *line = NULL, *hit = NULL;
	size_t cap = 0;
	while (!hit && getline(&line, &cap, f) != -1) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE ... */
		char *save = NULL, *mp = NULL;
		char *tok = strtok_r(line, " \n", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " \n", &save);
		mp = tok;
		while (tok && !STREQ(tok, "-"))
			tok = strtok_r(NULL, " \n", &save);
		char *type = tok ? strtok_r(NULL, " \n", &save) : NULL;
		char *source = type ? strtok_r(NULL, " \n", &save) : NULL;
		if (!mp || !source)
			continue;
		unescape(source);
		struct stat ss;
		if (source[0] == '/' && stat(source, &ss) == 0 && S_ISREG(ss.st_mode) &&
		    same_inode(&ss, st)) {
			unescape(mp);
			hit = xstrdup(mp);
		}
	}
	free(line);
	fclose(f);
	return hit;
}

/* Whether another process has the file open (for writing, when we only
 * read): the kernel grants a lease only when none has.  Held for no longer
 * than the question; a lease broken meanwhile (someone opened it as we
 * asked) is an answer too. */
static int lease_free(int fd, int writable, struct err *e)
{
	int want = writable ? F_WRLCK : F_RDLCK;
	fcntl(fd, F_SETSIG, SIGURG); /* a lease break, should one come: ignored */
	/* a qemu-nbd of a run just killed holds the file until its parent-death
	 * signal lands: a moment, worth waiting for; a virtual machine is not */
	int r;
	for (int i = 0; (r = fcntl(fd, F_SETLEASE, want)) == -1 && errno == EAGAIN && i < 30; i++)
		poll(NULL, 0, 100);
	if (r == -1) {
		if (errno == EAGAIN)
			return fail(
			    e, "in-use",
			    "in use: another program has it open%s (a virtual machine, an "
			    "ntfs-3g mount, a copy in progress?); the kernel refuses nobounce "
			    "a lease on it. Close it first",
			    writable ? "" : " for writing");
		note("the kernel grants no lease here (%s): other programs that have the "
		     "image open are found only by their locks and mounts",
		     strerror(errno));
		return 0;
	}
	int got = fcntl(fd, F_GETLEASE);
	fcntl(fd, F_SETLEASE, F_UNLCK);
	if (got != want)
		return fail(e, "in-use",
			    "in use: another program opened it while nobounce was checking. "
			    "Close it first");
	return 0;
}

int host_open_target(const char *name, int writable, struct hostfile *hf, struct err *e)
{
	if (host_open(AT_FDCWD, name, writable ? O_RDWR : O_RDONLY, hf, e) == -1) {
		/* a mode that forbids writing is a refusal of its own */
		struct stat st;
		if (writable && STREQ(e->kind, "permission-denied") && stat(name, &st) == 0 &&
		    S_ISREG(st.st_mode) && !(st.st_mode & 0222)) {
			err_clear(e);
			return fail(e, "read-only-image",
				    "its mode (%04o) forbids writing, and nobounce honours that "
				    "even as root. Make it writable (chmod u+w), or run 'check' "
				    "instead",
				    (unsigned)(st.st_mode & 07777));
		}
		return -1;
	}
	const struct stat *st = &hf->st;
	int blk = S_ISBLK(st->st_mode), ro = 0;
	const char *why = NULL;
	CLEANUP_FREE char *loop = NULL, *mount = NULL;
	if (blk) {
		if (writable && ioctl(hf->fd, BLKROGET, &ro) == 0 && ro)
			why = "read-only";
	} else if (writable && !(st->st_mode & 0222)) {
		why = "mode";
	} else if (writable && st->st_nlink != 1) {
		why = "links";
	} else if ((loop = host_loop_of(st)) != NULL) {
		why = "loop";
	} else if ((mount = host_mount_of(st)) != NULL) {
		why = "mount";
	}
	int r = 0;
	if (why && STREQ(why, "read-only"))
		r = fail(e, "read-only-image",
			 "the device is set read-only (blockdev --setrw to change that), or run "
			 "'check' instead");
	else if (why && STREQ(why, "mode"))
		r = fail(e, "read-only-image",
			 "its mode (%04o) forbids writing, and nobounce honours that even as root. "
			 "Make it writable (chmod u+w), or run 'check' instead",
			 (unsigned)(st->st_mode & 07777));
	else if (why && STREQ(why, "links"))
		r = fail(e, "unsafe-path",
			 "has %ju names (hard links); written in place, every other name would "
			 "change too. Copy it to a file of its own first",
			 (uintmax_t)st->st_nlink);
	else if (why && STREQ(why, "loop"))
		r = fail(e, "in-use",
			 "in use: it is attached to %s (mounted, or used by a virtual machine?). "
			 "Unmount it and detach it (losetup -d %s) first",
			 loop, loop);
	else if (why)
		r = fail(e, "in-use", "in use: it is mounted at %s. Unmount it first", mount);
	/* another nobounce run first: it has the file open too, and deserves
	 * the plainer message */
	if (r == 0 && flock(hf->fd, (writable ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1)
		r = errno == EWOULDBLOCK
			? fail(e, "locked",
			       "another nobounce run holds this image; wait for it to finish")
			: fail(e, "io", "cannot lock it: %s", strerror(errno));
	if (r == 0 && !blk)
		r = lease_free(hf->fd, writable, e);
	if (r == -1)
		host_close(hf);
	return r;
}
