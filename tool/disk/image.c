/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image: the files a disk image refers to (see image.h for the rules). */
#include "disk/image.h"
#include "lib/bytes.h"
#include "disk/imgfmt.h"
#include "lib/hostfile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- whose eyes a backing file is opened with ---- */

struct ident {
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups;
	int self; /* we already are this user: no switch */
};

static void ident_of(const struct stat *st, struct ident *id)
{
	memset(id, 0, sizeof *id);
	id->uid = st->st_uid;
	id->gid = st->st_gid;
	id->self = geteuid() == st->st_uid;
	struct passwd *pw = id->self ? NULL : getpwuid(st->st_uid);
	id->ngroups = (int)ARRAY_SIZE(id->groups);
	if (pw) {
		id->gid = pw->pw_gid;
		if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups, &id->ngroups) == -1)
			id->ngroups = (int)ARRAY_SIZE(id->groups);
	} else {
		id->groups[0] = st->st_gid;
		id->ngroups = 1;
	}
}

struct saved {
	gid_t groups[256];
	int ngroups;
	sigset_t mask;
};

/* Takes the owner's identity for file access (root only), with signals
 * held so that no handler runs as someone else. */
static int ident_enter(const struct ident *id, struct saved *s)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &s->mask);
	s->ngroups = getgroups((int)ARRAY_SIZE(s->groups), s->groups);
	if (s->ngroups < 0 || setgroups((size_t)id->ngroups, id->groups) == -1 ||
	    setegid(id->gid) == -1 || seteuid(id->uid) == -1) {
		int err = errno;
		if (s->ngroups >= 0)
			setgroups((size_t)s->ngroups, s->groups);
		setegid(getgid());
		sigprocmask(SIG_SETMASK, &s->mask, NULL);
		errno = err;
		return -1;
	}
	return 0;
}

static void ident_leave(struct saved *s)
{
	if (seteuid(0) == -1 || setegid(getgid()) == -1 ||
	    setgroups((size_t)s->ngroups, s->groups) == -1)
		abort(); /* cannot happen for root; never go on as another user */
	sigprocmask(SIG_SETMASK, &s->mask, NULL);
}

/* ---- opening what the image names ---- */

/* The name a file is known by in messages: as the image stores it,
 * joined to the name of the file that stores it. */
static char *resolve(const char *referrer, const char *ref)
{
	if (ref[0] == '/')
		return xstrdup(ref);
	const char *slash = strrchr(referrer, '/');
	if (!slash)
		return xstrdup(ref);
	return xasprintf("%.*s/%s", (int)(slash - referrer), referrer, ref);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A file the top image writes through (its data file, an extent): in the
 * image's own directory -- the directory the image was found in, held
 * since -- a regular file with one link, owned by the image's owner and
 * writable by its mode.  ref is the name the image stores, looked up from
 * refdir (the directory of the file that stores it) only to learn whether
 * it means a file of the image's directory; the file itself is then
 * opened from the held directory, without following a link. */
static int open_part(const struct stat *img, int topdir, int refdir, const char *ref,
		     const char *path, const char *role, int writable, struct err *e)
{
	const char *slash = strrchr(ref, '/'), *base = slash ? slash + 1 : ref;
	int ok = *base != 0;
	if (ok && slash) {
		CLEANUP_FREE char *dir = strndup(ref, slash == ref ? 1 : (size_t)(slash - ref));
		CLEANUP_CLOSE int dfd = openat(refdir, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct stat ds, ts;
		ok = dfd != -1 && fstat(dfd, &ds) == 0 && fstat(topdir, &ts) == 0 &&
		     same_file(&ds, &ts);
	}
	if (!ok)
		return fail(e, "unsafe-image",
			    "the image names %s as its %s, which is not in the image's own "
			    "directory; nobounce only writes files there. Convert the image "
			    "into one file (qemu-img convert) if that file is really its own",
			    path, role);
	CLEANUP_CLOSE int fd = openat(topdir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return fail(e, "unsafe-image", "its %s %s cannot be opened: %s", role, path,
			    strerror(errno));
	struct stat st;
	const char *why = NULL;
	if (fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (S_ISLNK(st.st_mode))
		why = "it is a symbolic link";
	else if (!S_ISREG(st.st_mode))
		why = "it is not a regular file";
	else if (st.st_nlink != 1)
		why = "it has more than one link (a hard link to a file elsewhere?)";
	else if (st.st_uid != img->st_uid)
		why = "it belongs to another user than the image";
	else if (writable && !(st.st_mode & 0222))
		why = "its mode forbids writing";
	if (why)
		return fail(e, "unsafe-image", "its %s %s is refused: %s", role, path, why);
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	int rw = open(proc, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	int err = errno;
	if (rw == -1)
		return fail(e, "unsafe-image", "its %s %s cannot be opened: %s", role, path,
			    strerror(err));
	return rw;
}

/* A file the image only reads through (a backing file, or a file of one):
 * looked up from refdir with the identity of the top image's owner, so that
 * the image reaches nothing its owner could not read, by the rules of
 * host_open (a link made by another than the file's owner is refused).
 * *dirfd gets the directory it was found in, for the names it holds. */
static int open_read(const struct ident *id, int refdir, const char *ref, const char *path,
		     const char *role, int *dirfd, struct err *e)
{
	struct saved s;
	if (!id->self && geteuid() != 0)
		return fail(e, "unsafe-image",
			    "it names %s as its %s; nobounce opens such a file only as the "
			    "image's owner (uid %u). Run it as that user or as root",
			    path, role, (unsigned)id->uid);
	if (!id->self && ident_enter(id, &s) == -1)
		return fail(e, "io", "cannot take the identity of its owner (uid %u): %s",
			    (unsigned)id->uid, strerror(errno));
	struct hostfile hf;
	struct err why = {0};
	int r = host_open(refdir, ref, O_RDONLY, &hf, &why);
	if (!id->self)
		ident_leave(&s);
	if (r == 0 && !S_ISREG(hf.st.st_mode)) {
		host_close(&hf);
		r = fail(&why, "unsafe-image", "it is not a regular file");
	}
	if (r == -1) {
		fail(e, "unsafe-image",
		     "its %s %s is refused: the image's owner (uid %u) cannot "
		     "read it (%s)",
		     role, path, (unsigned)id->uid, why.msg);
		err_clear(&why);
		return -1;
	}
	*dirfd = hf.dirfd;
	return hf.fd;
}

/* ---- the graph ---- */

struct builder {
	struct imgchain *c;
	const char *top; /* the image as named */
	struct stat top_st;
	int topdir; /* the directory the image was found in */
	struct ident owner;
	int writable;
	struct stat seen[IMAGE_MAX_CHAIN + 1];
	size_t nseen;
};

/* Keeps fd for qemu-nbd, at a number above the few it sets up itself (its
 * listening socket is descriptor 3). */
static int keep(struct builder *b, int fd, const char *path, const char *role, int writable)
{
	struct imgchain *c = b->c;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, IMAGE_FD_MIN);
	close(fd);
	if (high == -1)
		return -1;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	struct imgfile *f = &c->v[c->n++];
	*f = (struct imgfile){xstrdup(path), role, high, writable, {0}};
	fstat(high, &f->st);
	return high;
}

static json_t *file_node(int fd)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return json_pack("{s:s,s:s}", "driver", "file", "filename", proc);
}

/* qemu opens a VMDK's extents by the names its descriptor holds, and
 * re-reads the descriptor itself.  So it gets a private copy of the
 * descriptor, made from the bytes judged here, in which every extent is
 * named by the descriptor nobounce opened for it (/proc/self/fd/N): no name
 * is looked up in any directory, and nothing the image's owner changes
 * meanwhile reaches qemu.  qemu may write the copy (a new CID on the first
 * write), which the image's own descriptor never sees. */
static json_t *vmdk_file(struct builder *b, const struct imgrefs *r, const int *xfd,
			 const char *path, struct err *e)
{
	size_t len = strlen(r->desc), at = 0;
	struct buf out = {xmalloc(len + r->extents.n * 32 + 1), 0, 0};
	for (size_t i = 0; i < r->extents.n; i++) {
		const char *q1 = strchr(r->desc + r->ext_line[i], '"');
		const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
		if (!q2) {
			buf_free(&out);
			fail(e, "internal", "%s: an extent line lost its name", path);
			return NULL;
		}
		size_t head = (size_t)(q1 + 1 - r->desc);
		memcpy(out.p + out.len, r->desc + at, head - at);
		out.len += head - at;
		out.len += (size_t)sprintf((char *)out.p + out.len, "/proc/self/fd/%d", xfd[i]);
		at = (size_t)(q2 - r->desc);
	}
	memcpy(out.p + out.len, r->desc + at, len - at);
	out.len += len - at;
	int fd = memfd_create("nobounce-vmdk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int ok = fd != -1 && pwrite_all(fd, out.p, out.len, 0) == 0 &&
		 fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) == 0;
	buf_free(&out);
	if (!ok) {
		fail(e, "io", "%s: cannot copy its descriptor: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	fd = keep(b, fd, path, "descriptor", 1);
	return fd == -1 ? NULL : file_node(fd);
}

static json_t *image_node(struct builder *b, const char *path, int fd, int dirfd, const char *fmt,
			  int probed, int depth, struct err *e);

/* The backing image of the image at path (found in dirfd), read-only. */
static json_t *backing_node(struct builder *b, const char *path, int dirfd, const struct imgrefs *r,
			    int depth, struct err *e)
{
	if (depth >= IMAGE_MAX_CHAIN) {
		fail(e, "unsafe-image", "a chain of more than %d backing files", IMAGE_MAX_CHAIN);
		return NULL;
	}
	CLEANUP_FREE char *bpath = resolve(path, r->backing);
	CLEANUP_CLOSE int bdir = -1;
	CLEANUP_CLOSE int fd =
	    open_read(&b->owner, dirfd, r->backing, bpath, "backing file", &bdir, e);
	if (fd == -1)
		return NULL;
	struct stat st;
	const char *why = NULL;
	if (fstat(fd, &st) == -1)
		why = strerror(errno);
	for (size_t i = 0; !why && i < b->nseen; i++)
		if (same_file(&st, &b->seen[i]))
			why = "its backing chain loops back to it";
	if (!why && r->backing_fmt && !imgfmt_known(r->backing_fmt))
		why = "its format is not one nobounce opens";
	char fmt[16];
	int probed = !r->backing_fmt;
	if (!why && probed && imgfmt_detect(fd, fmt, sizeof fmt, e) == -1)
		why = "its format cannot be detected";
	if (why) {
		fail(e, "unsafe-image", "its backing file %s is refused: %s", bpath, why);
		return NULL;
	}
	b->seen[b->nseen++] = st;
	return image_node(b, bpath, fd_take(&fd), fd_take(&bdir), probed ? fmt : r->backing_fmt,
			  probed, depth + 1, e);
}

/* The extents of a VMDK: beside its descriptor, each checked like a data
 * file (the top image's) or opened as the owner (a backing file's). */
static int add_extents(struct builder *b, const char *path, int dirfd, const struct imgrefs *r,
		       int top, int writable, const char *who, int *xfd, struct err *e)
{
	for (size_t i = 0; i < r->extents.n; i++) {
		const char *x = r->extents.v[i];
		if (strchr(x, '/'))
			return fail(e, "unsafe-image",
				    "%sits extent %s does not lie beside its descriptor; "
				    "nobounce only opens extents there",
				    who, x);
		CLEANUP_FREE char *p = resolve(path, x);
		CLEANUP_CLOSE int xdir = -1;
		CLEANUP_CLOSE int fd =
		    top ? open_part(&b->top_st, b->topdir, dirfd, x, p, "extent", writable, e)
			: open_read(&b->owner, dirfd, x, p, "extent", &xdir, e);
		if (fd == -1 || imgfmt_vmdk_nested(fd, r->ext_types.v[i], who, e) == -1)
			return -1;
		xfd[i] = keep(b, fd_take(&fd), p, "extent", writable);
		if (xfd[i] == -1)
			return fail(e, "io", "%s: %s", p, strerror(errno));
	}
	return 0;
}

static json_t *image_node(struct builder *b, const char *path, int fd, int dirfd, const char *fmt,
			  int probed, int depth, struct err *e)
{
	int top = depth == 0, writable = top && b->writable;
	const char *role = top ? "image" : "backing file";
	struct imgrefs r = {0};
	/* messages name any file but the target itself, which the report names */
	CLEANUP_FREE char *who = top ? xstrdup("") : xasprintf("%s: ", path);
	const char *it = top ? "it" : path;
	int ok = imgfmt_refs(fd, fmt, who, &r, e) == 0;
	int refers = r.backing || r.data_file || r.extents.n;
	if (ok && r.differencing)
		ok = fail(e, "unsafe-image",
			  "%s is a differencing %s disk: qemu cannot read it together with its "
			  "parent. Merge it into its parent first (Hyper-V: Merge-VHD), then run "
			  "nobounce on the result",
			  it, STREQ(fmt, "vpc") ? "VHD" : "VHDX") == 0;
	if (ok && refers && probed && !imgfmt_name_says(path, fmt))
		ok = fail(e, "unsafe-image",
			  "%s looks like a %s image that refers to other files (%s), but its name "
			  "does not say %s: a disk's first sector is its guest's to write. If it "
			  "really is %s, give --format %s; if it is a raw disk, give --format raw",
			  it, fmt,
			  r.backing	? r.backing
			  : r.data_file ? r.data_file
					: r.extents.v[0],
			  fmt, fmt, fmt) == 0;
	json_t *file = NULL;
	if (ok && r.extents.n) {
		CLEANUP_FREE int *xfd = xcalloc(r.extents.n, sizeof *xfd);
		/* the descriptor's own file is kept for the sandbox and the
		 * audit, though qemu reads the copy */
		fd = keep(b, fd, path, role, 0);
		ok = fd != -1 && add_extents(b, path, dirfd, &r, top, writable, who, xfd, e) == 0;
		file = ok ? vmdk_file(b, &r, xfd, path, e) : NULL;
		ok = file != NULL;
	} else if (ok) {
		fd = keep(b, fd, path, role, writable);
		file = fd == -1 ? NULL : file_node(fd);
		ok = file != NULL;
		if (!ok && !e->msg)
			fail(e, "io", "%s: %s", path, strerror(errno));
	} else {
		close(fd);
	}
	json_t *node =
	    file ? json_pack("{s:s,s:o,s:b}", "driver", fmt, "file", file, "read-only", !writable)
		 : NULL;
	if (ok && r.data_file) {
		CLEANUP_FREE char *p = resolve(path, r.data_file);
		CLEANUP_CLOSE int ddir = -1;
		int dfd = top ? open_part(&b->top_st, b->topdir, dirfd, r.data_file, p, "data file",
					  writable, e)
			      : open_read(&b->owner, dirfd, r.data_file, p, "data file", &ddir, e);
		if (dfd != -1)
			dfd = keep(b, dfd, p, "data file", writable);
		if (dfd == -1)
			ok = 0;
		else
			json_object_set_new(node, "data-file", file_node(dfd));
	}
	if (ok && r.backing) {
		json_t *bn = backing_node(b, path, dirfd, &r, depth, e);
		if (!bn)
			ok = 0;
		else
			json_object_set_new(node, "backing", bn);
	} else if (ok && (STREQ(fmt, "qcow2") || STREQ(fmt, "vmdk"))) {
		/* the formats that have backing files: never one qemu finds */
		json_object_set_new(node, "backing", json_null());
	}
	imgfmt_refs_free(&r);
	if (dirfd != b->topdir)
		close(dirfd);
	if (!ok) {
		json_decref(node);
		return NULL;
	}
	return node;
}

/* Whether everyone who may read what the run writes may also read every
 * file it only reads: a write copies data from a backing file into the
 * image (or its data file), where the image's readers see it.  The rule
 * holds for root's images too, whose owner could read anything. */
static int readers_ok(const struct imgchain *c, struct err *e)
{
	for (size_t w = 0; w < c->n; w++) {
		const struct stat *ws = &c->v[w].st;
		if (!c->v[w].writable)
			continue;
		for (size_t i = 0; i < c->n; i++) {
			const struct stat *rs = &c->v[i].st;
			if (c->v[i].writable || STREQ(c->v[i].role, "descriptor") ||
			    STREQ(c->v[i].role, "image"))
				continue; /* the image's own files */
			const char *why = NULL;
			if ((ws->st_mode & 0004) && !(rs->st_mode & 0004))
				why = "everyone may read";
			else if ((ws->st_mode & 0040) && !(rs->st_mode & 0004) &&
				 !(rs->st_gid == ws->st_gid && (rs->st_mode & 0040)))
				why = "its group may read";
			if (why)
				return fail(e, "unsafe-image",
					    "its %s %s is refused: %s %s (mode %04o), but not "
					    "that file (owner uid %u, group %u, mode %04o), and a "
					    "fix copies data from it into the image. Make the "
					    "image as private as the file (chmod o-r, g-r), or "
					    "the file as readable as the image",
					    c->v[i].role, c->v[i].path, why, c->v[w].path,
					    (unsigned)(ws->st_mode & 07777), (unsigned)rs->st_uid,
					    (unsigned)rs->st_gid, (unsigned)(rs->st_mode & 07777));
		}
	}
	return 0;
}

int image_chain(const char *name, int fd, int dirfd, const char *format, int probed, int writable,
		struct imgchain *c, struct err *e)
{
	memset(c, 0, sizeof *c);
	struct builder b = {.c = c, .top = name, .writable = writable};
	if (fstat(fd, &b.top_st) == -1)
		return fail(e, "io", "%s: %s", name, strerror(errno));
	b.topdir = dirfd;
	if (b.topdir == -1) { /* a descriptor without a name (the fuzzers) */
		b.topdir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b.topdir == -1)
			return fail(e, "io", "%s: %s", name, strerror(errno));
	}
	ident_of(&b.top_st, &b.owner);
	c->uid = b.owner.uid;
	c->gid = b.owner.gid;
	c->ngroups = b.owner.ngroups;
	memcpy(c->groups, b.owner.groups, sizeof c->groups);
	b.seen[b.nseen++] = b.top_st;
	/* qemu gets an open of its own: not the description that holds this
	 * run's lock, which a qemu-nbd outliving a killed run would keep */
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	int top = open(proc, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	json_t *graph = NULL;
	if (top == -1)
		fail(e, "io", "%s: cannot open it again: %s", name, strerror(errno));
	else
		graph = image_node(&b, name, top, b.topdir, format, probed, 0, e);
	if (dirfd == -1)
		close(b.topdir);
	if (graph && writable && readers_ok(c, e) == -1) {
		json_decref(graph);
		graph = NULL;
	}
	if (!graph) {
		image_chain_free(c);
		return -1;
	}
	char *s = json_dumps(graph, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(graph);
	c->qemu = xasprintf("json:%s", s);
	free(s);
	for (size_t i = 1; i < c->n; i++)
		note("%s: %s %s (%s)", name, c->v[i].role, c->v[i].path,
		     c->v[i].writable ? "read-write" : "read-only");
	return 0;
}

void image_chain_free(struct imgchain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].fd >= 0)
			close(c->v[i].fd);
		free(c->v[i].path);
	}
	free(c->v);
	free(c->qemu);
	memset(c, 0, sizeof *c);
}
