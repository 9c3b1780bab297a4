/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main: nobounce, which switches off Exchange 2003's XEXCH50 verb on Windows system images,
 * offline.  Options, commands and exit codes; the work is in run/. */
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
#include "fix/fixes.h"
#include "reg/regfile.h"
#include "cli/fleet.h"
#include "cli/libvirt.h"
#include "cli/recover.h"
#include "run/target.h"
#include "lib/version.h"

/* The options, once: getopt's table, --help's lines, and what
 * --long-options and --short-options print for the bash completion (which
 * asks the binary, as libguestfs' tools' completions do) come from here. */
struct optdef {
	const char *name; /* the long name */
	int val;	  /* the short letter, or a code above 'z'... for long only */
	int has_arg;
	const char *arg;  /* its argument's name in --help */
	const char *cmds; /* the commands it goes with ("" for all) */
	const char *help; /* --help's line */
};
enum {
	O_JSON = 256,
	O_FORMAT,
	O_BACKUP,
	O_BACKUP_DIR,
	O_FROM,
	O_TIMEOUT,
	O_NO_RECOVER,
	O_DEGRADED,
	O_RESYNC,
	O_FORCE,
	O_REG,
	O_UTF16,
	O_USER,
	O_LONG_OPTIONS,
	O_SHORT_OPTIONS
};
static const struct optdef optdefs[] = {
    {"json", O_JSON, 0, NULL, "", "one JSON object a line on stdout, per installation"},
    {"reg", O_REG, 1, "PATCH", "check fix",
     "merge PATCH.reg (as regedit) instead of the XEXCH50 fix"},
    {"user", O_USER, 1, "NAME", "check fix export",
     "HKEY_CURRENT_USER is NAME's hive (a profile's folder or SID)"},
    {"force", O_FORCE, 0, NULL, "undo", "undo files changed since the fix too (--backup copies)"},
    {"format", O_FORMAT, 1, "FMT", "check fix undo commit export",
     "auto raw qcow2 vmdk vpc (VHD) vhdx vdi"},
    {"backup", O_BACKUP, 0, NULL, "fix", "fix also keeps a full copy of each original"},
    {"backup-dir", O_BACKUP_DIR, 1, "DIR", "fix undo commit",
     "those full copies in DIR on this host instead"},
    {"add", 'a', 1, "IMAGE", "check fix undo commit", "a TARGET, as virt-* tools take one"},
    {"domain", 'd', 1, "DOMAIN", "check fix undo commit", "the disks of a shut-off libvirt domain"},
    {"connect", 'c', 1, "URI", "check fix undo commit", "libvirt's connection URI, for -d"},
    {"jobs", 'j', 1, "N", "check fix undo commit", "targets at a time, each in a worker (cores)"},
    {"from", O_FROM, 1, "FILE", "check fix undo commit",
     "targets from FILE too, one a line (- for stdin)"},
    {"timeout", O_TIMEOUT, 1, "SECS", "check fix undo commit", "stop a target's worker after SECS"},
    {"no-recover", O_NO_RECOVER, 0, NULL, "check fix export",
     "refuse dirty hives, do not replay their logs"},
    {"degraded", O_DEGRADED, 0, NULL, "check fix undo commit",
     "write a mirror whose other half is lost for good"},
    {"resync-mirror", O_RESYNC, 0, NULL, "fix undo", "copy a mirror's first half over the others"},
    {"output", 'o', 1, "OUT", "recover export", "recover, export: write OUT instead of stdout"},
    {"utf16", O_UTF16, 0, NULL, "export", "export: UTF-16LE, a BOM, CRLF, as regedit saves"},
    {"verbose", 'v', 0, NULL, "", "show each step on stderr"},
    {"trace", 'x', 0, NULL, "", "trace what nobounce asks of its libraries, on stderr"},
    {"quiet", 'q', 0, NULL, "", "print only errors"},
    {"help", 'h', 0, NULL, "", "this help"},
    {"version", 'V', 0, NULL, "", "the version and the libraries built with"},
    {"long-options", O_LONG_OPTIONS, 0, NULL, NULL, NULL},
    {"short-options", O_SHORT_OPTIONS, 0, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fputs("usage: nobounce check [OPTIONS] TARGET...\n"
	      "       nobounce fix   [OPTIONS] [--backup] [--backup-dir DIR] TARGET...\n"
	      "       nobounce undo  [OPTIONS] [--force] [--backup-dir DIR] TARGET...\n"
	      "       nobounce commit [OPTIONS] TARGET...\n"
	      "       nobounce check|fix [OPTIONS] --reg PATCH.reg [--reg ...] [--user NAME]\n"
	      "                      TARGET...\n"
	      "       nobounce export [--json] [--utf16] [--user NAME] [-o OUT] TARGET KEY...\n"
	      "       nobounce recover [--json] TARGET...   (every dirty hive, in place)\n"
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
	      "partition; qcow2, VMDK, VHD, VHDX and VDI through qemu-nbd), an NBD URI\n"
	      "(nbd://HOST/EXPORT, nbd+unix:///?socket=PATH) or a libvirt domain's\n"
	      "disks (-d), opened in-process without root.  With --reg, any .reg patch\n"
	      "is merged instead, with the same journal, verification and undo.\n"
	      "\n"
	      "  check     print what fix would change; change nothing\n"
	      "  fix       make the changes, writing only the pages that change, after\n"
	      "            saving their old bytes in a journal on the volume\n"
	      "  undo      restore the files the last fix changed, byte for byte\n"
	      "  commit    drop the journals: keep the fix, leave no nobounce file\n"
	      "  export    print keys as regedit exports them; --reg merges them back\n"
	      "  recover   replay a dirty hive's transaction logs (HIVE.LOG, .LOG1,\n"
	      "            .LOG2 beside it) into OUT, or say what they would recover;\n"
	      "            given a TARGET, replay every dirty hive of it (config's and\n"
	      "            the profiles') in place\n"
	      "\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(optdefs); i++) {
		const struct optdef *o = &optdefs[i];
		if (!o->help)
			continue;
		char left[40];
		int n = o->val < 256 ? snprintf(left, sizeof left, "-%c, --%s", o->val, o->name)
				     : snprintf(left, sizeof left, "--%s", o->name);
		if (o->arg)
			snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
		fprintf(f, "  %-22s %s\n", left, o->help);
	}
	fputs("\n"
	      "Exit status: 0 done or nothing to do, 1 check found work, 2 usage error,\n"
	      "3 a target failed (and was left as it was), 4 standard output failed.\n"
	      "\n"
	      "Only for sites with one Exchange server: XEXCH50 carries Exchange-to-Exchange\n"
	      "data, and public-folder replication between Exchange servers stops without it.\n"
	      "See nobounce(1).\n",
	      f);
}

/* --long-options and --short-options: one option a line, those that go
 * with cmd (every one when cmd is NULL). */
static void list_options(const char *cmd, int shorts)
{
	for (size_t i = 0; i < ARRAY_SIZE(optdefs); i++) {
		const struct optdef *o = &optdefs[i];
		if (!o->help)
			continue;
		int goes = !cmd || !*o->cmds;
		for (const char *c = o->cmds; cmd && !goes && (c = strstr(c, cmd)); c++)
			goes = (c == o->cmds || c[-1] == ' ') &&
			       (!c[strlen(cmd)] || c[strlen(cmd)] == ' ');
		if (!goes)
			continue;
		if (shorts && o->val < 256)
			printf("-%c\n", o->val);
		else if (!shorts)
			printf("--%s\n", o->name);
	}
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
/* The targets, with the format each was given under (--format before it,
 * or FMT<TAB>PATH in a --from file; "" to detect). */
static struct strlist targets, formats;

static void add_target(const char *t, const char *fmt)
{
	strlist_add(&targets, xstrdup(t));
	strlist_add(&formats, xstrdup(fmt ? fmt : ""));
}

static int read_targets(const char *file, const char *fmt)
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
		if (!n || line[0] == '#')
			continue;
		/* FMT<TAB>PATH: this target's format */
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = 0;
			if (!imgfmt_known(line) && !STREQ(line, "auto")) {
				usage_error(
				    "--from %s: '%s' before a tab is no format (give one of "
				    "auto raw qcow2 vmdk vpc vhdx vdi)",
				    file, line);
				free(line);
				if (f != stdin)
					fclose(f);
				return -1;
			}
		}
		add_target(tab ? tab + 1 : line, tab ? (STREQ(line, "auto") ? NULL : line) : fmt);
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

/* --reg FILE: read whole from this host, parsed and judged before any
 * target is opened; a patch nobounce cannot read exactly is a usage error. */
static int read_patch(const char *file, struct options *op)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		usage_error("--reg %s: %s", file, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > REGFILE_MAX_BYTES) {
		close(fd);
		usage_error("--reg %s: not a regular file of a .reg file's size", file);
		return -1;
	}
	struct buf b = {0};
	buf_alloc(&b, (size_t)st.st_size);
	int r = pread_all(fd, b.p, b.len, 0);
	close(fd);
	if (r == -1) {
		buf_free(&b);
		usage_error("--reg %s: %s", file, strerror(errno));
		return -1;
	}
	struct regpatch rp;
	struct err e = {0};
	r = regfile_parse(file, b.p, b.len, &rp, &e);
	buf_free(&b);
	if (r == 0 && fix_reg_validate(&rp, &e) == -1) {
		regpatch_free(&rp);
		r = -1;
	}
	if (r == -1) {
		eline(stderr, "nobounce: %s", e.msg);
		err_clear(&e);
		return -1;
	}
	op->patches = xrealloc(op->patches, (op->npatches + 1) * sizeof *op->patches);
	op->patches[op->npatches++] = rp;
	return 0;
}

/* nobounce export TARGET KEY... [-o OUT]: the keys as regedit exports them.
 * OUT is written under a temporary name and linked into place only when
 * every key was exported: a failed run leaves no half file. */
static int export_command(struct options *op, int n, char **args, const char *output)
{
	if (n < 2)
		return usage_error("export takes a TARGET and at least one KEY "
				   "(HKEY_LOCAL_MACHINE\\SOFTWARE\\...)");
	if (op->npatches)
		return usage_error("--reg goes with check or fix");
	for (int i = 1; i < n; i++) {
		struct err e = {0};
		if (fix_reg_export_key(args[i], &e) == -1) {
			usage_error("%s", e.msg);
			err_clear(&e);
			return EXIT_USAGE;
		}
	}
	op->cmd = CMD_EXPORT;
	op->ro.command = "export";
	op->export_keys = args + 1;
	op->nexport = (size_t)n - 1;
	op->ro.export_keys = args + 1;
	/* OUT is replaced by a rename: a device, a pipe or a link there would
	 * be replaced, not written (-o /dev/null would remove /dev/null) */
	struct stat st;
	if (output && lstat(output, &st) == 0 && !S_ISREG(st.st_mode))
		return usage_error("-o %s: is not a regular file, and would be replaced by one; "
				   "leave -o out to write to standard output",
				   output);
	CLEANUP_FREE char *tmp = output ? xasprintf("%s.nobounce-XXXXXX", output) : NULL;
	int fd = tmp ? mkstemp(tmp) : -1;
	if (tmp && fd == -1)
		return usage_error("-o %s: cannot create a file beside it: %s", output,
				   strerror(errno));
	if (tmp && !(op->ro.out = fdopen(fd, "w"))) {
		close(fd);
		unlink(tmp);
		return usage_error("-o %s: %s", output, strerror(errno));
	}
	signals_install(bdev_kill_servers);
	int code = target_run(op, args[0]);
	if (op->ro.out) {
		int bad = fflush(op->ro.out) == EOF || fsync(fileno(op->ro.out)) == -1;
		bad |= fclose(op->ro.out) == EOF;
		if (code == EXIT_OK && !bad && rename(tmp, output) == 0)
			return EXIT_OK;
		if (code == EXIT_OK)
			eline(stderr, "nobounce: -o %s: cannot be written: %s", output,
			      strerror(errno));
		unlink(tmp);
		return EXIT_FAILED;
	}
	return code;
}

/* Whether recover's argument is a TARGET (a directory, a device, an NBD
 * URI, or a file that holds a disk: an image format's header, a partition
 * table's signature, an NTFS boot sector); anything else is a HIVE file,
 * which recover_command reads (and refuses when it is none). */
static int is_target(const char *path)
{
	struct stat st;
	if (bdev_is_uri(path))
		return 1;
	if (stat(path, &st) == -1)
		return 0;
	if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
		return 1;
	uint8_t s[512] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int ok = fd != -1 && S_ISREG(st.st_mode) && st.st_size >= 512 &&
		 pread_all(fd, s, sizeof s, 0) == 0;
	char fmt[16] = "raw";
	struct err e = {0};
	if (ok)
		imgfmt_detect(fd, fmt, sizeof fmt, &e);
	err_clear(&e);
	if (fd != -1)
		close(fd);
	return ok && (!STREQ(fmt, "raw") || (s[510] == 0x55 && s[511] == 0xaa) ||
		      !memcmp(s + 3, "NTFS    ", 8));
}

/* One target named twice ("dir" and "dir/", a device and its /dev/disk
 * link) is run once: a second run would only find the first one's lock. */
static void dedupe(struct strlist *t, struct strlist *fmts, int quiet)
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
			free(fmts->v[i]);
			continue;
		}
		fmts->v[kept] = fmts->v[i];
		t->v[kept++] = t->v[i];
	}
	t->n = fmts->n = kept;
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
	struct option longopts[ARRAY_SIZE(optdefs) + 1];
	char shortopts[2 * ARRAY_SIZE(optdefs) + 1];
	size_t ns = 0;
	for (size_t i = 0; i < ARRAY_SIZE(optdefs); i++) {
		const struct optdef *o = &optdefs[i];
		longopts[i] = (struct option){o->name, o->has_arg ? required_argument : no_argument,
					      NULL, o->val};
		if (o->val < 256) {
			shortopts[ns++] = (char)o->val;
			if (o->has_arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[ARRAY_SIZE(optdefs)] = (struct option){NULL, 0, NULL, 0};
	shortopts[ns] = 0;
	/* process-lifetime: every early return may leave them as they are */
	static struct options op;
	static struct strlist pos, posfmt; /* the command and its arguments */
	static struct strlist domains;	   /* -d */
	const char *connect_uri = NULL;	   /* -c */
	const char *fmt = NULL;		   /* the --format in force */
	int fleet = 0, c;
	double d;
	const char *output = NULL;
	int listing = 0;
	/* "-": arguments come in order, so that each --format applies to the
	 * targets after it */
	CLEANUP_FREE char *opts = xasprintf("-%s", shortopts);
	while ((c = getopt_long(argc, argv, opts, longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			strlist_add(&pos, xstrdup(optarg));
			strlist_add(&posfmt, xstrdup(fmt ? fmt : ""));
			break;
		case 'a':
			add_target(optarg, fmt);
			break;
		case 'd':
			strlist_add(&domains, xstrdup(optarg));
			break;
		case 'c':
			connect_uri = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case O_NO_RECOVER:
			op.no_recover = 1;
			break;
		case O_DEGRADED:
			op.degraded = 1;
			break;
		case O_RESYNC:
			op.resync_mirror = 1;
			break;
		case O_JSON:
			op.ro.json = 1;
			break;
		case 'j':
			if (parse_number("-j", optarg, 1, 256, 1, &d) == -1)
				return EXIT_USAGE;
			op.jobs = (int)d;
			fleet = 1;
			break;
		case O_TIMEOUT:
			if (parse_number("--timeout", optarg, 0.001, 1e7, 0, &op.timeout) == -1)
				return EXIT_USAGE;
			fleet = 1;
			break;
		case O_FROM:
			if (read_targets(optarg, fmt) == -1)
				return EXIT_USAGE;
			fleet = 1;
			break;
		case O_FORCE:
			op.force = 1;
			break;
		case O_BACKUP:
			op.backup = 1;
			break;
		case O_FORMAT:
			fmt = STREQ(optarg, "auto") ? NULL : optarg; /* auto: detect again */
			if (fmt && !imgfmt_known(fmt))
				return usage_error(
				    "--format must be one of auto raw qcow2 vmdk vpc vhdx vdi");
			op.format = fmt; /* export and recover: the last one */
			break;
		case O_BACKUP_DIR:
			free(op.backup_dir);
			op.backup_dir = realpath(optarg, NULL);
			if (!op.backup_dir)
				return usage_error("--backup-dir %s: %s", optarg, strerror(errno));
			break;
		case 'v':
			verbose = 1;
			break;
		case 'x':
			trace = 1;
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
		case O_UTF16:
			op.ro.utf16 = 1;
			break;
		case O_USER:
			if (!*optarg)
				return usage_error("--user takes a profile's folder name or SID");
			op.user = optarg;
			break;
		case O_REG:
			if (read_patch(optarg, &op) == -1)
				return EXIT_USAGE;
			break;
		case O_LONG_OPTIONS:
		case O_SHORT_OPTIONS:
			listing = c;
			break;
		default: /* getopt said what */
			fputs("Try 'nobounce --help' for more information.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (listing) {
		list_options(pos.n ? pos.v[0] : NULL, listing == O_SHORT_OPTIONS);
		return finish(EXIT_OK);
	}
	if (!pos.n)
		return usage_error("no command: give check, fix, undo, commit, export or recover");
	const char *cmd = pos.v[0];
	int nargs = (int)pos.n - 1;
	char **args = pos.v + 1;
	if (STREQ(cmd, "recover") && nargs == 1 && !targets.n && !domains.n && !is_target(args[0]))
		/* nobounce recover HIVE [-o OUT]: a hive file on this host */
		return finish(recover_command(args[0], output, op.ro.json));
	if (STREQ(cmd, "recover") && output)
		return usage_error("recover -o OUT takes one HIVE file; a TARGET is recovered in "
				   "place");
	if (STREQ(cmd, "export"))
		return finish(targets.n ? usage_error("export takes its TARGET first, then KEYs")
					: export_command(&op, nargs, args, output));
	if (op.ro.utf16)
		return usage_error("--utf16 only goes with export");
	if (output)
		return usage_error("-o only goes with recover and export");
	if (STREQ(cmd, "check"))
		op.cmd = CMD_CHECK;
	else if (STREQ(cmd, "fix"))
		op.cmd = CMD_FIX;
	else if (STREQ(cmd, "undo"))
		op.cmd = CMD_UNDO;
	else if (STREQ(cmd, "commit"))
		op.cmd = CMD_COMMIT;
	else if (STREQ(cmd, "recover"))
		op.cmd = CMD_RECOVER;
	else
		return usage_error(
		    "unknown command '%s': give check, fix, undo, commit, export or recover", cmd);
	op.ro.command = cmd;
	if (op.force && op.cmd != CMD_UNDO)
		return usage_error("--force only goes with undo");
	if (op.backup && op.cmd != CMD_FIX)
		return usage_error("--backup only goes with fix");
	if (op.npatches && op.cmd != CMD_CHECK && op.cmd != CMD_FIX)
		return usage_error("--reg goes with check or fix ('undo' undoes the newest run, "
				   "whichever it was)");
	if (op.user && !op.npatches)
		return usage_error("--user goes with --reg PATCH (check, fix) or export");
	if (op.backup_dir && op.cmd == CMD_CHECK)
		return usage_error("--backup-dir goes with fix, undo or commit");
	if (verbose && op.ro.quiet)
		return usage_error("-v and -q exclude each other");
	for (int i = 0; i < nargs; i++)
		add_target(args[i], *posfmt.v[i + 1] ? posfmt.v[i + 1] : NULL);
	if (connect_uri && !domains.n)
		return usage_error("-c goes with -d DOMAIN");
	for (size_t i = 0; i < domains.n; i++) {
		struct err e = {0};
		struct strlist p = {0}, f = {0};
		if (libvirt_disks(connect_uri, domains.v[i], &p, &f, &e) == -1) {
			eline(stderr, "nobounce: %s", e.msg);
			err_clear(&e);
			return finish(EXIT_FAILED);
		}
		/* the domain's disks together: one fleet groups a mirror's halves */
		for (size_t k = 0; k < p.n; k++)
			add_target(p.v[k], *f.v[k] ? f.v[k] : NULL);
		strlist_free(&p);
		strlist_free(&f);
	}
	dedupe(&targets, &formats, op.ro.quiet);
	if (!targets.n)
		return usage_error("%s needs at least one TARGET", cmd);
	op.formats = formats.v;
	op.format = *formats.v[0] ? formats.v[0] : NULL;
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
