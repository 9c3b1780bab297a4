/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nbd: qemu-nbd, started confined on a private socket for every image that
 * is not raw, and reached with libnbd in this process (blockdev_impl.h). */
#include "disk/blockdev_impl.h"
#include "disk/image.h"
#include "lib/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libnbd.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU_NBD "qemu-nbd"
#define SERVER_START_SECONDS 20

/* Servers alive, for bdev_kill_servers (signal-safe: a fixed array). */
static pid_t servers[64];

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

void nbdsrv_stop(struct blockdev *bd)
{
	if (bd->server > 0) {
		/* SIGTERM lets it flush and close the image; one that has not
		 * gone after 10 s is killed */
		kill(bd->server, SIGTERM);
		int st;
		for (int i = 0; waitpid(bd->server, &st, WNOHANG) == 0; i++) {
			if (i == 1000) {
				note("%s: qemu-nbd did not stop; killing it", bd->name);
				kill(bd->server, SIGKILL);
			}
			nanosleep(&(struct timespec){0, 10000000}, NULL);
		}
		remember(bd->server, 0);
		bd->server = 0;
	}
	free(bd->judged);
	bd->judged = NULL;
	bd->njudged = 0;
}

/* The program's path, found before fork: the child only calls execve. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	CLEANUP_FREE char *dirs = xstrdup(path && *path ? path : "/usr/bin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", *d ? d : ".", name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* What the child needs, made before fork (it allocates nothing after). */
struct server_args {
	const struct imgchain *c;
	const char *prog;
	char **argv;
	char **envp;	  /* environ, then LISTEN_PID= (filled in by the child), LISTEN_FDS=1 */
	char *listen_pid; /* that entry: room for the number */
	struct sandbox_file *files;
	int lsock, errfd, as_owner;
};

static void put_pid(char *at, pid_t pid)
{
	char digits[24];
	int n = 0;
	do
		digits[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) > 0);
	while (n)
		*at++ = digits[--n];
	*at = 0;
}

/* In the child: the chain's descriptors and the listening socket (as 3,
 * systemd's socket activation, which qemu-nbd takes) survive exec; the
 * image's owner's identity, then the sandbox closes every other door. */
static void exec_server(const struct server_args *a, pid_t parent)
{
	int devnull = open("/dev/null", O_RDWR);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(a->errfd, 2);
	dup2(a->lsock, 3);
	for (size_t i = 0; i < a->c->n; i++)
		fcntl(a->c->v[i].fd, F_SETFD, 0);
	const struct imgchain *c = a->c;
	if (a->as_owner &&
	    (setgroups((size_t)c->ngroups, c->groups) == -1 ||
	     setresgid(c->gid, c->gid, c->gid) == -1 || setresuid(c->uid, c->uid, c->uid) == -1)) {
		dprintf(2, "cannot take the identity of the image's owner (uid %u): %s",
			(unsigned)c->uid, strerror(errno));
		_exit(126);
	}
	/* after the identity: a change of credentials clears it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (sandbox_enter(a->files, c->n) == -1) {
		dprintf(2, "sandbox: cannot confine %s: %s", QEMU_NBD, strerror(errno));
		_exit(126);
	}
	put_pid(a->listen_pid, getpid());
	execve(a->prog, a->argv, a->envp);
	dprintf(2, "cannot run %s: %s", QEMU_NBD, strerror(errno));
	_exit(127);
}

/* A listening socket in a private directory, and this process's connection
 * to it, queued before qemu-nbd even starts; the name is gone before fork,
 * so nobody else can connect and nothing is left behind. */
static int listen_pair(int *lsock, int *csock, struct err *e)
{
	const char *tmp = getenv("TMPDIR");
	tmp = tmp && *tmp ? tmp : "/tmp";
	CLEANUP_FREE char *dir = xasprintf("%s/nobounce-nbd.XXXXXX", tmp);
	if (!mkdtemp(dir))
		return fail(e, "io", "cannot make a private socket directory in %s: %s", tmp,
			    strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/nbd.sock", dir);
	int r = -1;
	*lsock = *csock = -1;
	if (n <= 0 || (size_t)n >= sizeof sa.sun_path) {
		r = fail(e, "io", "the socket directory's name is too long: %s (set TMPDIR)", dir);
	} else {
		int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (l != -1 && c != -1 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 &&
		    listen(l, 1) == 0 && connect(c, (struct sockaddr *)&sa, sizeof sa) == 0) {
			*lsock = fcntl(l, F_DUPFD_CLOEXEC, IMAGE_FD_MIN);
			*csock = c;
			r = *lsock == -1 ? fail(e, "io", "fcntl: %s", strerror(errno)) : 0;
		} else {
			r = fail(e, "io", "cannot make the socket for qemu-nbd: %s",
				 strerror(errno));
		}
		if (l != -1)
			close(l);
		if (r == -1 && c != -1)
			close(c);
		unlink(sa.sun_path);
	}
	rmdir(dir);
	return r;
}

/* After it starts serving, qemu-nbd holds open every file it opened for
 * the graph: a regular file or device among them that nobounce did not
 * judge means qemu read a name from the image after all (a header changed
 * once it was judged).  Such a server is stopped before the first byte is
 * read from it. */
static int audit_server(struct blockdev *bd, struct err *e)
{
	CLEANUP_FREE char *dir = xasprintf("/proc/%d/fd", (int)bd->server);
	DIR *d = opendir(dir);
	if (!d)
		return fail(e, "io", "cannot see what qemu-nbd holds open (%s): %s", dir,
			    strerror(errno));
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) == -1)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISDIR(st.st_mode))
			continue; /* sockets, pipes, /dev/null, event descriptors */
		int known = 0;
		for (size_t i = 0; !known && i < bd->njudged; i++)
			known =
			    bd->judged[i].st_dev == st.st_dev && bd->judged[i].st_ino == st.st_ino;
		if (!known) {
			char target[512] = "?";
			ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
			if (n > 0)
				target[n] = 0;
			r = fail(e, "unsafe-image",
				 "qemu-nbd opened %s, which nobounce did not judge: the image was "
				 "changed while nobounce was opening it. Stop whatever changes it, "
				 "and run again",
				 target);
		}
	}
	closedir(d);
	return r;
}

/* One qemu-nbd for the judged chain: 0 serving, -1 failed (e set), 1 it
 * could not take qemu's lock on an image (a qemu-nbd of a run just killed
 * may still hold it for a moment: worth another try). */
static int try_server(struct blockdev *bd, const struct imgchain *chain, int as_owner,
		      struct err *e)
{
	int lsock = -1, csock = -1;
	if (listen_pair(&lsock, &csock, e) == -1)
		return -1;
	CLEANUP_FREE char *prog = find_program(QEMU_NBD);
	if (!prog) {
		close(lsock);
		close(csock);
		return fail(e, "missing-program",
			    "%s images are opened with qemu-nbd, which cannot be run (not "
			    "found). Install the qemu-utils package",
			    bd->format);
	}
	extern char **environ;
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	CLEANUP_FREE char **envp = xcalloc(nenv + 3, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "LISTEN_", 7) != 0)
			envp[k++] = environ[i];
	char listen_pid[40] = "LISTEN_PID=";
	envp[k++] = listen_pid;
	envp[k++] = (char *)"LISTEN_FDS=1";
	const char *argv[] = {QEMU_NBD, "--cache=writeback",
			      bd->writable ? "--discard=ignore" : "--read-only", chain->qemu, NULL};
	CLEANUP_FREE struct sandbox_file *files = xcalloc(chain->n + 1, sizeof *files);
	for (size_t i = 0; i < chain->n; i++)
		files[i] = (struct sandbox_file){chain->v[i].fd, chain->v[i].writable};
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) == -1) {
		close(lsock);
		close(csock);
		return fail(e, "io", "pipe: %s", strerror(errno));
	}
	struct server_args a = {chain, prog,  (char **)argv, envp,    listen_pid + 11,
				files, lsock, errpipe[1],    as_owner};
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		exec_server(&a, parent);
	close(lsock);
	close(errpipe[1]);
	if (pid == -1) {
		close(errpipe[0]);
		close(csock);
		return fail(e, "io", "fork: %s", strerror(errno));
	}
	bd->server = pid;
	remember(pid, 1);
	bd->nbd = nbd_create();
	if (bd->nbd && trace)
		nbd_set_debug(bd->nbd, true);
	int r = bd->nbd && nbd_aio_connect_socket(bd->nbd, csock) == 0 ? 0 : -1;
	if (r == -1)
		close(csock);
	double t0 = now_seconds();
	while (r == 0 && nbd_aio_is_connecting(bd->nbd)) {
		if (now_seconds() - t0 > SERVER_START_SECONDS) {
			close(errpipe[0]);
			return fail(e, "io", "qemu-nbd did not start within %d s",
				    SERVER_START_SECONDS);
		}
		if (nbd_poll(bd->nbd, 100) == -1)
			r = -1;
	}
	if (r == 0 && nbd_aio_is_ready(bd->nbd)) {
		close(errpipe[0]);
		return audit_server(bd, e);
	}
	/* it gave up: its last words say why */
	int st = 0;
	waitpid(pid, &st, 0);
	remember(pid, 0);
	bd->server = 0;
	char msg[512] = {0};
	ssize_t n = read(errpipe[0], msg, sizeof msg - 1);
	close(errpipe[0]);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	if (bd->nbd) {
		nbd_close(bd->nbd);
		bd->nbd = NULL;
	}
	if (n > 0 && strstr(msg, "Failed to get") && strstr(msg, "lock")) {
		fail(e, "in-use",
		     "in use: a virtual machine or a qemu tool has it open (qemu-nbd: %s). Shut "
		     "the virtual machine down first",
		     msg);
		return 1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return fail(e, "missing-program",
			    "%s images are opened with qemu-nbd, which cannot be run (%s). "
			    "Install the qemu-utils package",
			    bd->format, n > 0 ? msg : "not found");
	return fail(e, "unreadable-image",
		    "qemu-nbd cannot serve it as %s: %s. Check the file, or give --format",
		    bd->format, n > 0 ? msg : "it exited");
}

int nbdsrv_start(struct blockdev *bd, int probed, struct err *e)
{
	/* every file the image refers to is judged and opened here, before
	 * qemu sees the image */
	struct imgchain chain;
	if (image_chain(bd->name, bd->fd, bd->dirfd, bd->format, probed, bd->writable, &chain, e) ==
	    -1)
		return -1;
	/* the crash tests stop here to swap a file the image names */
	FAULT("image-judged");
	if (!sandbox_abi())
		note("%s: the kernel offers no Landlock: qemu-nbd runs unconfined (the image's "
		     "references were still checked)",
		     bd->name);
	bd->judged = xcalloc(chain.n, sizeof *bd->judged);
	for (size_t i = 0; i < chain.n; i++)
		bd->judged[bd->njudged++] = chain.v[i].st;
	/* root runs qemu-nbd as the image's owner: the kernel's own checks then
	 * stop whatever the sandbox would miss */
	int as_owner = geteuid() == 0 && chain.uid != 0;
	int r = 1;
	for (int tries = 0; r == 1; tries++) {
		r = try_server(bd, &chain, as_owner, e);
		if (r == 1 && tries < 30) {
			err_clear(e);
			poll(NULL, 0, 100);
		} else if (r == 1) {
			r = -1;
		}
	}
	image_chain_free(&chain);
	if (r == -1)
		return -1;
	int64_t size = nbd_get_size(bd->nbd);
	if (size < 0)
		return fail(e, "io", "NBD: cannot get the export's size: %s", nbd_get_error());
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

int nbdsrv_io(struct blockdev *bd, void *p, size_t len, uint64_t off, int write, struct err *e)
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
	return r == -1
		   ? fail(e, "io", "NBD %s of %zu bytes at byte %llu failed: %s",
			  write ? "write" : "read", len, (unsigned long long)off, nbd_get_error())
		   : 0;
}
