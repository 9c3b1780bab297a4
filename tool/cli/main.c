/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nobounce: switch off Exchange 2003's XEXCH50 verb on Windows system images,
 * offline.  Options, commands and exit codes; the work is in run.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/blockdev.h"
#include "disk/imgfmt.h"
#include "cli/fleet.h"
#include "cli/recover.h"
#include "run/target.h"
#include "lib/version.h"

static void usage(FILE *f)
{
	fputs("usage: nobounce check [OPTIONS] TARGET...\n"
	      "       nobounce fix   [OPTIONS] [--backup] [--backup-dir DIR] TARGET...\n"
	      "       nobounce undo  [OPTIONS] [--force] [--backup-dir DIR] TARGET...\n"
	      "       nobounce commit [OPTIONS] TARGET...\n"
	      "       nobounce recover [--json] HIVE [-o OUT]\n"
	      "  OPTIONS: [-v|-q] [--json] [--format FMT] [-j N] [--from FILE] [--timeout SECS]\n"
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
	      "  fix       make the changes, writing only the pages that change, after\n"
	      "            saving their old bytes in a journal on the volume\n"
	      "  undo      restore the files the last fix changed, byte for byte\n"
	      "  commit    drop the journals: keep the fix, leave no nobounce file\n"
	      "  recover   replay a dirty hive's transaction logs (HIVE.LOG, .LOG1,\n"
	      "            .LOG2 beside it) into OUT, or say what they would recover\n"
	      "  --json    one JSON object per installation per line on stdout\n"
	      "  --force   undo even files changed since the fix (from --backup copies)\n"
	      "  --format  raw, qcow2, vmdk, vpc (VHD), vhdx or vdi: skip detection\n"
	      "  --backup  fix also keeps a full copy of each original beside it\n"
	      "  --backup-dir DIR  those full copies in DIR on this host instead\n"
	      "  -j N, --jobs N    targets at a time, each in a worker (default: cores)\n"
	      "  --from FILE       targets from FILE too, one a line (- for stdin)\n"
	      "  --timeout SECS    stop a target's worker after SECS\n"
	      "  --no-recover      refuse dirty hives instead of replaying their logs\n"
	      "  --degraded        write a mirrored dynamic volume whose other half is\n"
	      "            gone for good (see nobounce(1) before using it)\n"
	      "  --resync-mirror   copy a mirror's first half over the others first\n"
	      "  -v        show each step on stderr;  -q  print only errors\n"
	      "\n"
	      "Exit status: 0 done or nothing to do, 1 check found work, 2 usage error,\n"
	      "3 a target failed (and was left as it was), 4 standard output failed.\n"
	      "\n"
	      "Only for sites with one Exchange server: XEXCH50 carries Exchange-to-Exchange\n"
	      "data, and public-folder replication between Exchange servers stops without it.\n"
	      "See nobounce(1).\n",
	      f);
}

/* A usage error: one line that says what is wrong, and where to look. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	eline(stderr, "nobounce: %s", msg);
	fputs("Try 'nobounce --help' for more information.\n", stderr);
	free(msg);
	return EXIT_USAGE;
}
/* Reads targets from a file, one a line ("-": standard input); blank lines
 * and lines starting with '#' are skipped. */
static int read_targets(const char *file, struct strlist *out)
{
	FILE *f = STREQ(file, "-") ? stdin : fopen(file, "r");
	struct stat st;
	if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		usage_error("--from %s: is a directory; give a file with one target a line", file);
		return -1;
	}
	if (!f) {
		usage_error("--from %s: %s", file, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n && line[0] != '#')
			strlist_add(out, xstrdup(line));
	}
	free(line);
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		usage_error("--from %s: cannot be read", file);
		return -1;
	}
	return 0;
}

/* One target named twice ("dir" and "dir/", a device and its /dev/disk
 * link) is run once: a second run would only find the first one's lock. */
static void dedupe(struct strlist *t, int quiet)
{
	struct stat *st = xcalloc(t->n + 1, sizeof *st);
	int *ok = xcalloc(t->n + 1, sizeof *ok);
	size_t kept = 0;
	for (size_t i = 0; i < t->n; i++) {
		ok[kept] = stat(t->v[i], &st[kept]) == 0;
		size_t j = 0;
		while (ok[kept] && j < kept &&
		       !(ok[j] && st[j].st_dev == st[kept].st_dev &&
			 st[j].st_ino == st[kept].st_ino &&
			 (S_ISBLK(st[j].st_mode) ? st[j].st_rdev == st[kept].st_rdev : 1)))
			j++;
		if (ok[kept] && j < kept) {
			if (!quiet)
				eline(stderr, "nobounce: %s is %s again; it is run once", t->v[i],
				      t->v[j]);
			free(t->v[i]);
			continue;
		}
		t->v[kept++] = t->v[i];
	}
	t->n = kept;
	free(st);
	free(ok);
}

/* The exit code, once standard output is known to have reached its
 * destination: a report that was cut short is an error of its own. */
static int finish(int code)
{
	if (!output_failed())
		return code;
	fprintf(stderr,
		"nobounce: standard output: write error (%s); the report is incomplete. "
		"Every target was finished or left as it was: run 'nobounce check' "
		"to see where each stands\n",
		errno ? strerror(errno) : "full disk or closed pipe?");
	return EXIT_OUTPUT;
}

/* A number from min to max (whole when integer is set); NaN and infinities
 * are no numbers here. */
static int parse_number(const char *opt, const char *arg, double min, double max, int integer,
			double *out)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min || v > max ||
	    (integer && v != (double)(long)v)) {
		usage_error("%s takes %s from %g to %g, not '%s'", opt,
			    integer ? "a whole number" : "a number", min, max, arg);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"force", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"format", required_argument, NULL, 'F'},
	    {"backup-dir", required_argument, NULL, 'B'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"from", required_argument, NULL, 'R'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"output", required_argument, NULL, 'o'},
	    {"no-recover", no_argument, NULL, 'N'},
	    {"degraded", no_argument, NULL, 'D'},
	    {"resync-mirror", no_argument, NULL, 'M'},
	    {"backup", no_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	/* process-lifetime: every early return may leave them as they are */
	static struct options op;
	static struct strlist targets;
	int fleet = 0, c;
	double d;
	const char *output = NULL;
	while ((c = getopt_long(argc, argv, "vqhVj:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'N':
			op.no_recover = 1;
			break;
		case 'D':
			op.degraded = 1;
			break;
		case 'M':
			op.resync_mirror = 1;
			break;
		case 'J':
			op.ro.json = 1;
			break;
		case 'j':
			if (parse_number("-j", optarg, 1, 256, 1, &d) == -1)
				return EXIT_USAGE;
			op.jobs = (int)d;
			fleet = 1;
			break;
		case 'T':
			if (parse_number("--timeout", optarg, 0.001, 1e7, 0, &op.timeout) == -1)
				return EXIT_USAGE;
			fleet = 1;
			break;
		case 'R':
			if (read_targets(optarg, &targets) == -1)
				return EXIT_USAGE;
			fleet = 1;
			break;
		case 'f':
			op.force = 1;
			break;
		case 'b':
			op.backup = 1;
			break;
		case 'F':
			op.format = optarg;
			break;
		case 'B':
			free(op.backup_dir);
			op.backup_dir = realpath(optarg, NULL);
			if (!op.backup_dir)
				return usage_error("--backup-dir %s: %s", optarg, strerror(errno));
			break;
		case 'v':
			verbose = 1;
			break;
		case 'q':
			op.ro.quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return finish(EXIT_OK);
		case 'V':
			puts("nobounce " NOBOUNCE_VERSION);
			puts("built with " NOBOUNCE_BUILT_WITH);
			return finish(EXIT_OK);
		default: /* getopt said what */
			fputs("Try 'nobounce --help' for more information.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("no command: give check, fix, undo, commit or recover");
	const char *cmd = argv[optind++];
	if (STREQ(cmd, "recover")) {
		/* nobounce recover HIVE [-o OUT]: a hive file on this host */
		if (optind + 1 != argc)
			return usage_error("recover takes one HIVE [-o OUT]");
		return finish(recover_command(argv[optind], output, op.ro.json));
	}
	if (output)
		return usage_error("-o only goes with recover");
	if (STREQ(cmd, "check"))
		op.cmd = CMD_CHECK;
	else if (STREQ(cmd, "fix"))
		op.cmd = CMD_FIX;
	else if (STREQ(cmd, "undo"))
		op.cmd = CMD_UNDO;
	else if (STREQ(cmd, "commit"))
		op.cmd = CMD_COMMIT;
	else
		return usage_error("unknown command '%s': give check, fix, undo, commit or recover",
				   cmd);
	op.ro.command = cmd;
	if (op.force && op.cmd != CMD_UNDO)
		return usage_error("--force only goes with undo");
	if (op.backup && op.cmd != CMD_FIX)
		return usage_error("--backup only goes with fix");
	if (op.backup_dir && op.cmd == CMD_CHECK)
		return usage_error("--backup-dir goes with fix, undo or commit");
	if (verbose && op.ro.quiet)
		return usage_error("-v and -q exclude each other");
	for (int i = optind; i < argc; i++)
		strlist_add(&targets, xstrdup(argv[i]));
	dedupe(&targets, op.ro.quiet);
	if (!targets.n)
		return usage_error("%s needs at least one TARGET", cmd);
	if (op.format && STREQ(op.format, "auto"))
		op.format = NULL; /* detect, as without the option */
	if (op.format && !imgfmt_known(op.format))
		return usage_error("--format must be one of auto raw qcow2 vmdk vpc vhdx vdi");
	signal(SIGPIPE, SIG_IGN);
	int code;
	if (fleet || targets.n > 1) {
		if (!op.jobs) {
			long cores = sysconf(_SC_NPROCESSORS_ONLN);
			op.jobs = cores > 0 ? (int)cores : 1;
		}
		code = fleet_run(&op, targets.v, targets.n);
	} else {
		signals_install(bdev_kill_servers);
		code = target_run(&op, targets.v[0]);
		if (signal_pending()) {
			fprintf(stderr,
				"nobounce: %s came while writing; stopped after the writes "
				"were finished and verified\n",
				strsignal(signal_pending()));
			code = EXIT_FAILED;
		}
	}
	strlist_free(&targets);
	free(op.backup_dir);
	return finish(code);
}
