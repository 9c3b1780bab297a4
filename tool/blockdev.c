#include "blockdev.h"

#include <errno.h>
#include <fcntl.h>
#include <libnbd.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU_NBD "qemu-nbd"
#define SERVER_START_SECONDS 20

/* Servers alive, for bdev_kill_servers (signal-safe: a fixed array). */
static pid_t servers[64];

static int fd_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) == -1)
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size);
	*size = (uint64_t)st.st_size;
	return 0;
}

int bdev_detect(int fd, char *fmt, size_t fmtlen, struct err *e)
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

/* ---- qemu-nbd ---- */

static void remember(pid_t pid, int add)
{
	for (size_t i = 0; i < ARRAY_SIZE(servers); i++)
		if (add ? servers[i] == 0 : servers[i] == pid) {
			servers[i] = add ? pid : 0;
			return;
		}
}

void bdev_kill_servers(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(servers); i++)
		if (servers[i] > 0)
			kill(servers[i], SIGTERM);
}

static void stop_server(struct blockdev *bd)
{
	if (bd->server > 0) {
		kill(bd->server, SIGTERM);
		int st;
		while (waitpid(bd->server, &st, 0) == -1 && errno == EINTR)
			;
		remember(bd->server, 0);
		bd->server = 0;
	}
	if (bd->sockdir) {
		CLEANUP_FREE char *sock = xasprintf("%s/nbd.sock", bd->sockdir);
		unlink(sock);
		rmdir(bd->sockdir);
		free(bd->sockdir);
		bd->sockdir = NULL;
	}
}

static int start_server(struct blockdev *bd, struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	CLEANUP_FREE char *tmpl = xasprintf("%s/nobounce-nbd.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return fail(e, "io", "cannot make a private socket directory: %s", strerror(errno));
	bd->sockdir = xstrdup(tmpl);
	CLEANUP_FREE char *sock = xasprintf("%s/nbd.sock", bd->sockdir);
	CLEANUP_FREE char *sockarg = xasprintf("--socket=%s", sock);
	/* by name, so that qemu finds a qcow2's backing file beside it; as
	 * --image-opts, so that no part of the name is taken for a protocol
	 * ("nbd:", "json:") or an option (commas are doubled) */
	size_t nl = strlen(bd->name), j = 0;
	CLEANUP_FREE char *esc = xmalloc(2 * nl + 1);
	for (size_t i = 0; i < nl; i++) {
		esc[j++] = bd->name[i];
		if (bd->name[i] == ',')
			esc[j++] = ',';
	}
	esc[j] = 0;
	CLEANUP_FREE char *image =
	    xasprintf("driver=%s,file.driver=file,file.filename=%s", bd->format, esc);
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) == -1)
		return fail(e, "io", "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == -1) {
		close(errpipe[0]);
		close(errpipe[1]);
		return fail(e, "io", "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* qemu-nbd must not outlive nobounce, even one killed by SIGKILL */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(errpipe[1], 2);
		const char *argv[] = {QEMU_NBD,
				      sockarg,
				      "--cache=writeback",
				      bd->writable ? "--discard=ignore" : "--read-only",
				      "--image-opts",
				      image,
				      NULL};
		execvp(QEMU_NBD, (char **)argv);
		dprintf(2, "cannot run %s: %s", QEMU_NBD, strerror(errno));
		_exit(127);
	}
	close(errpipe[1]);
	bd->server = pid;
	remember(pid, 1);
	/* wait until a connection succeeds, or qemu-nbd gives up */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bd->nbd = nbd_create();
	if (!bd->nbd) {
		close(errpipe[0]);
		return fail(e, "io", "libnbd: %s", nbd_get_error());
	}
	for (;;) {
		if (access(sock, F_OK) == 0 && nbd_connect_unix(bd->nbd, sock) == 0)
			break;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			char msg[512] = {0};
			ssize_t n = read(errpipe[0], msg, sizeof msg - 1);
			while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
				msg[--n] = 0;
			remember(pid, 0);
			bd->server = 0;
			close(errpipe[0]);
			return fail(e, "unreadable-image",
				    "qemu-nbd cannot serve it as %s: %s. Check the file, or "
				    "give --format",
				    bd->format, n > 0 ? msg : "it exited");
		}
		if (nbd_aio_is_dead(bd->nbd) || nbd_aio_is_closed(bd->nbd)) {
			/* a refused connection leaves the handle dead: start anew */
			nbd_close(bd->nbd);
			bd->nbd = nbd_create();
			if (!bd->nbd) {
				close(errpipe[0]);
				return fail(e, "io", "libnbd: %s", nbd_get_error());
			}
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > SERVER_START_SECONDS) {
			close(errpipe[0]);
			return fail(e, "io", "qemu-nbd did not start within %d s",
				    SERVER_START_SECONDS);
		}
		poll(NULL, 0, 5);
	}
	close(errpipe[0]);
	/* connected: the socket is not needed any more, and removing it now
	 * leaves nothing behind even if this process is killed */
	unlink(sock);
	rmdir(bd->sockdir);
	int64_t size = nbd_get_size(bd->nbd);
	if (size < 0)
		return fail(e, "io", "%s", nbd_get_error());
	bd->size = (uint64_t)size;
	int64_t min = nbd_get_block_size(bd->nbd, LIBNBD_SIZE_MINIMUM);
	bd->align = min > 1 && min <= 65536 && !(min & (min - 1)) ? (uint64_t)min : 1;
	return 0;
}

/* NBD servers cap one request (qemu-nbd: 32 MiB), and libntfs-3g reads a
 * whole contiguous run at once: larger requests are split. */
#define NBD_CHUNK ((size_t)8 << 20)

static int nbd_io_one(struct blockdev *bd, void *p, size_t len, uint64_t off, int write,
		      struct err *e);

static int nbd_io(struct blockdev *bd, void *p, size_t len, uint64_t off, int write, struct err *e)
{
	while (len) {
		size_t n = len < NBD_CHUNK ? len : NBD_CHUNK;
		if (nbd_io_one(bd, p, n, off, write, e) == -1)
			return -1;
		p = (uint8_t *)p + n;
		off += n;
		len -= n;
	}
	return 0;
}

/* An unaligned request to an export with a minimum block size (VHDX says
 * 512) goes through a bounce buffer covering whole blocks; a write reads
 * the edges first.  Only this process writes to the export. */
static int nbd_io_one(struct blockdev *bd, void *p, size_t len, uint64_t off, int write,
		      struct err *e)
{
	uint64_t a = bd->align, lo = off / a * a, hi = (off + len + a - 1) / a * a;
	int r;
	if (lo == off && hi == off + len) {
		r = write ? nbd_pwrite(bd->nbd, p, len, off, 0)
			  : nbd_pread(bd->nbd, p, len, off, 0);
	} else if (!write) {
		uint8_t *bounce = xmalloc(hi - lo);
		r = nbd_pread(bd->nbd, bounce, hi - lo, lo, 0);
		if (r == 0)
			memcpy(p, bounce + (off - lo), len);
		free(bounce);
	} else {
		uint8_t *bounce = xmalloc(hi - lo);
		r = 0;
		if (lo != off)
			r = nbd_pread(bd->nbd, bounce, a, lo, 0);
		if (r == 0 && hi != off + len)
			r = nbd_pread(bd->nbd, bounce + (hi - a - lo), a, hi - a, 0);
		memcpy(bounce + (off - lo), p, len);
		if (r == 0)
			r = nbd_pwrite(bd->nbd, bounce, hi - lo, lo, 0);
		free(bounce);
	}
	return r == -1 ? fail(e, "io", "%s", nbd_get_error()) : 0;
}

struct blockdev *bdev_open(const char *name, int fd, const char *format, int writable,
			   struct err *e)
{
	struct blockdev *bd = xcalloc(1, sizeof *bd);
	bd->name = xstrdup(name);
	bd->fd = fd;
	bd->writable = writable;
	bd->align = 1;
	char fmt[16];
	if (!format && bdev_detect(fd, fmt, sizeof fmt, e) == -1) {
		bdev_close(bd);
		return NULL;
	}
	bd->format = xstrdup(format ? format : fmt);
	int r;
	if (STREQ(bd->format, "raw")) {
		r = fd_size(fd, &bd->size);
		if (r == -1)
			fail(e, "io", "cannot get its size: %s", strerror(errno));
	} else {
		note("%s: serving it as %s with %s", name, bd->format, QEMU_NBD);
		r = start_server(bd, e);
	}
	if (r == -1) {
		bdev_close(bd);
		return NULL;
	}
	return bd;
}

int bdev_pread(struct blockdev *bd, void *p, size_t len, uint64_t off, struct err *e)
{
	if (off > bd->size || len > bd->size - off)
		return fail(e, "damaged-image", "read of %zu bytes at %llu is past its end", len,
			    (unsigned long long)off);
	if (bd->nbd)
		return nbd_io(bd, p, len, off, 0, e);
	if (pread_all(bd->fd, p, len, off) == -1)
		return fail(e, "io", "read at %llu failed: %s", (unsigned long long)off,
			    errno ? strerror(errno) : "short read");
	return 0;
}

#ifdef NOBOUNCE_FAULTS
/* A failing device, for the tests: NOBOUNCE_EIO_AFTER=N makes every write
 * after the first N fail with EIO. */
static int eio_now(void)
{
	static long left = -2;
	if (left == -2) {
		const char *s = getenv("NOBOUNCE_EIO_AFTER");
		left = s ? atol(s) : -1;
	}
	if (left < 0)
		return 0;
	return left-- == 0 ? (left = 0, 1) : 0;
}
#else
#define eio_now() 0
#endif

int bdev_pwrite(struct blockdev *bd, const void *p, size_t len, uint64_t off, struct err *e)
{
	if (eio_now()) {
		errno = EIO;
		return fail(e, "io", "write at %llu failed: %s", (unsigned long long)off,
			    strerror(EIO));
	}
	if (!bd->writable)
		return fail(e, "internal", "write refused: opened read-only");
	if (off > bd->size || len > bd->size - off)
		return fail(e, "damaged-image", "write past its end");
	if (bd->nbd)
		return nbd_io(bd, (void *)p, len, off, 1, e);
	if (pwrite_all(bd->fd, p, len, off) == -1)
		return fail(e, "io", "write at %llu failed: %s", (unsigned long long)off,
			    strerror(errno));
	return 0;
}

int bdev_flush(struct blockdev *bd, struct err *e)
{
	if (!bd->writable)
		return 0;
	if (bd->nbd) {
		if (nbd_can_flush(bd->nbd) == 1 && nbd_flush(bd->nbd, 0) == -1)
			return fail(e, "io", "flush: %s", nbd_get_error());
		return 0;
	}
	if (fsync(bd->fd) == -1)
		return fail(e, "io", "fsync: %s", strerror(errno));
	return 0;
}

void bdev_close(struct blockdev *bd)
{
	if (!bd)
		return;
	if (bd->nbd) {
		nbd_shutdown(bd->nbd, 0);
		nbd_close(bd->nbd);
	}
	stop_server(bd);
	if (bd->fd >= 0)
		close(bd->fd);
	free(bd->name);
	free(bd->format);
	free(bd);
}
