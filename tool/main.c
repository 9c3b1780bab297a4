/* nobounce: switch off Exchange 2003's XEXCH50 verb on Windows system images,
 * offline.  Options, commands and exit codes; the work is in plan.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "install.h"
#include "partitions.h"
#include "plan.h"
#include "report.h"
#include "vol.h"

#ifndef NOBOUNCE_VERSION
#define NOBOUNCE_VERSION "0.1"
#endif

/* Exit codes: nobounce(1), EXIT STATUS. */
enum { EXIT_OK = 0, EXIT_WORK = 1, EXIT_USAGE = 2, EXIT_FAILED = 3 };

static void usage(FILE *f)
{
	fputs("usage: nobounce check [-v|-q] [--json] [--format FMT] TARGET...\n"
	      "       nobounce fix   [-v|-q] [--json] [--format FMT] [--backup-dir DIR] TARGET...\n"
	      "       nobounce undo  [-v|-q] [--json] [--format FMT] [--force] TARGET...\n"
	      "       nobounce --help | --version\n"
	      "\n"
	      "Switches off Exchange 2003's XEXCH50 SMTP verb on an offline Windows\n"
	      "system volume: SuppressExternal=1 under Services\\SMTPSVC\\XEXCH50 in each\n"
	      "control set Select names (SYSTEM), and what 'regsvr32 /u PEEXCH50.DLL'\n"
	      "does: its COM classes out of SOFTWARE, its SMTP sink bindings out of\n"
	      "MetaBase.xml.  TARGET is the root directory of a mounted Windows system\n"
	      "volume, or a disk image or device (raw, MBR or GPT, or a bare NTFS\n"
	      "partition; qcow2, VMDK, VHD, VHDX and VDI through qemu-nbd), opened\n"
	      "in-process without root.\n"
	      "\n"
	      "  check     print what fix would change; change nothing\n"
	      "  fix       make the changes (backups and a manifest first)\n"
	      "  undo      restore the files the last fix changed, byte for byte\n"
	      "  --json    one JSON object per installation per line on stdout\n"
	      "  --force   undo even files changed since the fix\n"
	      "  --format  raw, qcow2, vmdk, vpc (VHD), vhdx or vdi: skip detection\n"
	      "  --backup-dir DIR  keep fix's backups in DIR on this host, not beside\n"
	      "            the files on the volume\n"
	      "  -v        show each step on stderr;  -q  print only errors\n"
	      "\n"
	      "Exit status: 0 done or nothing to do, 1 check found work, 2 usage error,\n"
	      "3 a target failed (and was left as it was).\n"
	      "\n"
	      "Only for sites with one Exchange server: XEXCH50 carries Exchange-to-Exchange\n"
	      "data, and public-folder replication between Exchange servers stops without it.\n"
	      "See nobounce(1).\n",
	      f);
}

struct options {
	enum command cmd;
	int force;
	const char *format; /* --format, or NULL to detect */
	char *backup_dir;   /* --backup-dir, absolute, or NULL */
	struct report_opts ro;
};

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

static int worse(int a, int b)
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
	struct plan_opts po = {op->force, op->backup_dir, tag};
	for (size_t i = 0; i < n; i++) {
		struct outcome o;
		int r = plan_run(v, &ins[i], op->cmd, &po, &o);
		report_outcome(&op->ro, target, part, &o);
		if (r == -1)
			code = EXIT_FAILED;
		else if (op->cmd == CMD_CHECK && STREQ(o.status, "needs-fix"))
			code = worse(code, EXIT_WORK);
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

/* Opens and locks an image file or device for the whole run: a second
 * nobounce on the same image waits for nothing and fails at once. */
static int open_image(const struct options *op, const char *target, struct err *e)
{
	int writable = op->cmd != CMD_CHECK;
	int fd = open(target, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (writable && (errno == EACCES || errno == EROFS || errno == EPERM))
			return fail(e, "read-only-image",
				    "cannot open it for writing (%s): the image or its device is "
				    "read-only. Make it writable, or run 'check' instead",
				    strerror(errno));
		return fail(e, "not-found", "cannot open: %s. Check the path", strerror(errno));
	}
	if (flock(fd, (writable ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1) {
		int err = errno;
		close(fd);
		return err == EWOULDBLOCK
			   ? fail(e, "locked",
				  "another nobounce run holds this image; wait for it to finish")
			   : fail(e, "io", "cannot lock it: %s", strerror(err));
	}
	return fd;
}

static int run_image(const struct options *op, const char *target)
{
	struct err e = {0};
	int writable = op->cmd != CMD_CHECK;
	int fd = open_image(op, target, &e);
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
		code = worse(code, run_volume(op, target, &parts[i], v));
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

/* Runs the command on one target; returns its exit code. */
static int run_target(const struct options *op, const char *target)
{
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

/* SIGINT and SIGTERM: no qemu-nbd is left behind (they also die with us by
 * PR_SET_PDEATHSIG, this only makes it immediate), then the usual death. */
static void on_signal(int sig)
{
	bdev_kill_servers();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},	      {"force", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},      {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},	      {"version", no_argument, NULL, 'V'},
	    {"format", required_argument, NULL, 'F'},
	    {"backup-dir", required_argument, NULL, 'B'},
	    {NULL, 0, NULL, 0},
	};
	struct options op = {0};
	int c;
	while ((c = getopt_long(argc, argv, "vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			op.ro.json = 1;
			break;
		case 'f':
			op.force = 1;
			break;
		case 'F':
			op.format = optarg;
			break;
		case 'B':
			free(op.backup_dir);
			op.backup_dir = realpath(optarg, NULL);
			if (!op.backup_dir) {
				fprintf(stderr, "nobounce: --backup-dir %s: %s\n", optarg,
					strerror(errno));
				return EXIT_USAGE;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'q':
			op.ro.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			puts("nobounce " NOBOUNCE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind++];
	if (STREQ(cmd, "check"))
		op.cmd = CMD_CHECK;
	else if (STREQ(cmd, "fix"))
		op.cmd = CMD_FIX;
	else if (STREQ(cmd, "undo"))
		op.cmd = CMD_UNDO;
	else {
		fprintf(stderr, "nobounce: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (op.force && op.cmd != CMD_UNDO) {
		fprintf(stderr, "nobounce: --force only goes with undo\n");
		return EXIT_USAGE;
	}
	if (verbose && op.ro.quiet) {
		fprintf(stderr, "nobounce: -v and -q exclude each other\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "nobounce: %s needs at least one TARGET\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	static const char *const formats[] = {"raw", "qcow2", "vmdk", "vpc", "vhdx", "vdi"};
	int known = !op.format;
	for (size_t i = 0; i < ARRAY_SIZE(formats) && !known; i++)
		known = STREQ(op.format, formats[i]);
	if (!known) {
		fprintf(stderr, "nobounce: --format must be one of raw qcow2 vmdk vpc vhdx vdi\n");
		return EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	int worst = EXIT_OK;
	for (int i = optind; i < argc; i++)
		worst = worse(worst, run_target(&op, argv[i]));
	free(op.backup_dir);
	return worst;
}
