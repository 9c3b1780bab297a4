#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "install.h"
#include "partitions.h"
#include "target.h"
#include "vol.h"

/* Names a target's backups in --backup-dir: readable, and unique per image
 * file and partition ("disk.img-p2-1a2b3c4d"). */
static char *backup_tag(const char *target, const struct part *part)
{
	char *abs = realpath(target, NULL);
	char sha[65];
	sha256_hex(abs ? abs : target, strlen(abs ? abs : target), sha);
	const char *base = strrchr(target, '/');
	base = base && base[1] ? base + 1 : target;
	char *tag = part && part->number ? xasprintf("%s-p%u-%.8s", base, part->number, sha)
					 : xasprintf("%s-%.8s", base, sha);
	for (char *c = tag; *c; c++)
		if (*c == '/' || *c == ' ')
			*c = '_';
	free(abs);
	return tag;
}

int output_failed(void)
{
	return ferror(stdout) || fflush(stdout) == EOF;
}

int exit_worse(int a, int b)
{
	if (a == EXIT_FAILED || b == EXIT_FAILED)
		return EXIT_FAILED;
	return a == EXIT_WORK || b == EXIT_WORK ? EXIT_WORK : EXIT_OK;
}

/* Runs the command on every installation of one volume. */
static int run_volume(const struct options *op, const char *target, const struct part *part,
		      struct vol *v)
{
	struct err e = {0};
	struct install *ins = NULL;
	size_t n = 0;
	install_find(v, &ins, &n, &e);
	if (e.msg || n == 0) {
		report_target(&op->ro, target, part, e.msg ? "error" : "not-applicable", &e);
		int code = e.msg ? EXIT_FAILED : EXIT_OK;
		err_clear(&e);
		return code;
	}
	int code = EXIT_OK;
	CLEANUP_FREE char *tag = backup_tag(target, part);
	struct plan_opts po = {op->force, op->backup_dir, tag, op->no_recover};
	for (size_t i = 0; i < n; i++) {
		struct outcome o;
		int r = plan_run(v, &ins[i], op->cmd, &po, &o);
		report_outcome(&op->ro, target, part, &o);
		if (r == -1)
			code = EXIT_FAILED;
		else if (op->cmd == CMD_CHECK && STREQ(o.status, "needs-fix"))
			code = exit_worse(code, EXIT_WORK);
		outcome_free(&o);
	}
	install_free(ins, n);
	return code;
}

static int run_dir(const struct options *op, const char *target)
{
	struct err e = {0};
	struct vol *v = vol_open_dir(target, op->cmd != CMD_CHECK, &e);
	if (v && v->ops->lock(v, op->cmd != CMD_CHECK, &e) == -1) {
		vol_close(v);
		v = NULL;
	}
	if (!v) {
		report_target(&op->ro, target, NULL, "error", &e);
		err_clear(&e);
		return EXIT_FAILED;
	}
	int code = run_volume(op, target, NULL, v);
	vol_close(v);
	return code;
}

static int run_image(const struct options *op, const char *target)
{
	struct err e = {0};
	int writable = op->cmd != CMD_CHECK;
	int fd = bdev_open_file(target, writable, &e);
	struct blockdev *bd = fd == -1 ? NULL : bdev_open(target, fd, op->format, writable, &e);
	struct part *parts = NULL;
	size_t n = 0;
	if (bd)
		parts_find(bd, &parts, &n, &e);
	if (!bd || e.msg || n == 0) {
		report_target(&op->ro, target, NULL, e.msg ? "error" : "not-applicable", &e);
		int code = e.msg ? EXIT_FAILED : EXIT_OK;
		err_clear(&e);
		free(parts);
		bdev_close(bd);
		return code;
	}
	int code = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		CLEANUP_FREE char *name =
		    parts[i].number ? xasprintf("%s (partition %u)", target, parts[i].number)
				    : xstrdup(target);
		note("%s: NTFS at byte %llu, %llu bytes", name, (unsigned long long)parts[i].start,
		     (unsigned long long)parts[i].size);
		struct vol *v =
		    vol_open_ntfs(bd, parts[i].start, parts[i].size, name, writable, &e);
		if (!v) {
			report_target(&op->ro, target, &parts[i], "error", &e);
			err_clear(&e);
			code = EXIT_FAILED;
			continue;
		}
		code = exit_worse(code, run_volume(op, target, &parts[i], v));
		vol_close(v);
	}
	if (bdev_flush(bd, &e) == -1) {
		report_target(&op->ro, target, NULL, "error", &e);
		err_clear(&e);
		code = EXIT_FAILED;
	}
	free(parts);
	bdev_close(bd);
	return code;
}

int target_run(const struct options *op, const char *target)
{
	report_t0 = now_seconds();
	struct stat st;
	if (stat(target, &st) == -1) {
		struct err e = {0};
		fail(&e, "not-found", "cannot open: %s. Check the path", strerror(errno));
		report_target(&op->ro, target, NULL, "error", &e);
		err_clear(&e);
		return EXIT_FAILED;
	}
	return S_ISDIR(st.st_mode) ? run_dir(op, target) : run_image(op, target);
}
