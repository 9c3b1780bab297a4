/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox: Landlock for the qemu-nbd child (see sandbox.h). */
#include "lib/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights past ABI 2, spelled out: Debian 12's headers stop there, the
 * kernels it runs on go further, and the values are a stable ABI. */
#define FS_ALL_V1 ((1ULL << 13) - 1)	      /* EXECUTE .. MAKE_SYM */
#define FS_TRUNCATE (1ULL << 14)	      /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15)	      /* ABI 5 */
#define NET_TCP ((1ULL << 0) | (1ULL << 1))   /* bind, connect: ABI 4 */
#define SCOPE_ALL ((1ULL << 0) | (1ULL << 1)) /* abstract sockets, signals: ABI 6 */

struct ruleset_attr {
	uint64_t fs, net, scoped;
};

struct path_rule {
	uint64_t allowed;
	int32_t parent_fd;
} __attribute__((packed));

int sandbox_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static int allow_fd(int rs, int fd, uint64_t access, uint64_t handled)
{
	struct path_rule r = {access & handled, fd};
	return (int)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &r, 0);
}

static int allow_path(int rs, const char *path, uint64_t access, uint64_t handled)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	int r = allow_fd(rs, fd, access, handled);
	close(fd);
	return r;
}

/* A rule set handling every right the kernel knows, and its size. */
static int ruleset(struct ruleset_attr *ra, size_t *size)
{
	int abi = sandbox_abi();
	*ra = (struct ruleset_attr){FS_ALL_V1, 0, 0};
	*size = sizeof ra->fs;
	if (abi >= 2)
		ra->fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		ra->fs |= FS_TRUNCATE;
	if (abi >= 4) {
		ra->net = NET_TCP;
		*size = 2 * sizeof(uint64_t);
	}
	if (abi >= 5)
		ra->fs |= FS_IOCTL_DEV;
	if (abi >= 6) {
		ra->scoped = SCOPE_ALL;
		*size = sizeof *ra;
	}
	return abi < 1 ? -2 : (int)syscall(SYS_landlock_create_ruleset, ra, *size, 0);
}

static int restrict_self(int rs, int r)
{
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		r = -1;
	if (r == 0)
		r = (int)syscall(SYS_landlock_restrict_self, rs, 0);
	int err = errno;
	close(rs);
	errno = err;
	return r;
}

int sandbox_deny_all(void)
{
	struct ruleset_attr ra;
	size_t size;
	int rs = ruleset(&ra, &size);
	if (rs == -2)
		return 0;
	return rs == -1 ? -1 : restrict_self(rs, 0);
}

int sandbox_enter(const struct sandbox_file *f, size_t n)
{
	struct ruleset_attr ra;
	size_t size;
	int rs = ruleset(&ra, &size);
	if (rs == -2)
		return 0;
	if (rs == -1)
		return -1;
	const uint64_t rx =
	    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	/* the program and its libraries; of /etc only the loader's cache */
	int r = allow_path(rs, "/usr", rx, ra.fs);
	if (r == 0)
		r = allow_path(rs, "/etc/ld.so.cache", LANDLOCK_ACCESS_FS_READ_FILE, ra.fs);
	if (r == 0) /* qemu probes OFD lock support on it */
		r = allow_path(rs, "/dev/null",
			       LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE, ra.fs);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t a = LANDLOCK_ACCESS_FS_READ_FILE;
		if (f[i].writable)
			a |= LANDLOCK_ACCESS_FS_WRITE_FILE | FS_TRUNCATE;
		r = allow_fd(rs, f[i].fd, a, ra.fs);
		if (r == -1 && errno == EBADFD) /* a memfd: not a path, always open */
			r = 0;
	}
	return restrict_self(rs, r);
}
