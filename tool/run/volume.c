/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volume: one command on every Windows installation of one opened volume,
 * for a directory, a partition or a dynamic volume alike (see volume.h). */
#include <stdio.h>
#include <stdlib.h>

#include "fix/install.h"
#include "lib/hostfile.h"
#include "run/volume.h"

/* Names a place's copies in --backup-dir: readable, and unique per image
 * file and partition or volume ("disk.img-p2-1a2b3c4d"). */
static char *backup_tag(const struct place *pl)
{
	const char *first = pl->vol ? pl->disks[0] : pl->target;
	char *abs = realpath(first, NULL);
	const char *key = pl->vol ? pl->vol->guid : abs ? abs : first;
	char sha[65];
	sha256_hex(key, strlen(key), sha);
	const char *base = strrchr(first, '/');
	base = base && base[1] ? base + 1 : first;
	char *tag = pl->vol ? xasprintf("%s-%s-%.8s", base, pl->vol->name, sha)
		    : pl->part && pl->part->number
			? xasprintf("%s-p%u-%.8s", base, pl->part->number, sha)
			: xasprintf("%s-%.8s", base, sha);
	for (char *c = tag; *c; c++)
		if (*c == '/' || *c == ' ')
			*c = '_';
	free(abs);
	return tag;
}

int exit_worse(int a, int b)
{
	if (a == EXIT_FAILED || b == EXIT_FAILED)
		return EXIT_FAILED;
	return a == EXIT_WORK || b == EXIT_WORK ? EXIT_WORK : EXIT_OK;
}

/* Reports an error for a place and gives the exit code. */
int volume_failed(const struct options *op, const struct place *pl, struct err *e)
{
	report_target(&op->ro, pl, "error", e);
	err_clear(e);
	return EXIT_FAILED;
}

/* Runs the command on every installation of one volume; said, when set, is
 * a sentence about the volume for each outcome's notes. */
int volume_run(const struct options *op, const struct place *pl, struct vol *v, const char *said)
{
	struct err e = {0};
	struct install *ins = NULL;
	size_t n = 0;
	install_find(v, &ins, &n, &e);
	if (e.msg)
		return volume_failed(op, pl, &e);
	if (n == 0)
		return EXIT_NONE;
	int code = EXIT_OK;
	CLEANUP_FREE char *tag = backup_tag(pl);
	struct run_opts ro = {
	    {op->backup, op->backup_dir, tag, op->force}, op->no_recover, op->patches, op->npatches,
	    (const char *const *)op->export_keys,	  op->nexport,	  op->user};
	for (size_t i = 0; i < n; i++) {
		struct outcome o;
		int r = run_install(v, &ins[i], op->cmd, &ro, &o);
		if (said)
			outcome_note(&o, "%s", said);
		report_outcome(&op->ro, pl, &o);
		if (r == -1)
			code = EXIT_FAILED;
		else if (op->cmd == CMD_CHECK && STREQ(o.status, "needs-fix"))
			code = exit_worse(code, EXIT_WORK);
		outcome_free(&o);
	}
	install_free(ins, n);
	return code;
}

struct blockdev *volume_open_disk(const struct options *op, const char *name, struct err *e)
{
	int writable = cmd_writes(op->cmd);
	if (bdev_is_uri(name))
		return bdev_open_uri(name, op->format, writable, e);
	struct hostfile hf;
	if (host_open_target(name, writable, &hf, e) == -1)
		return NULL;
	return bdev_open(name, hf.fd, hf.dirfd, op->format, writable, e);
}
