/* nobounce: switch off Exchange 2003's XEXCH50 verb on Windows system images,
 * offline.  Options, commands and exit codes; the work is in plan.c. */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "install.h"
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
	fputs("usage: nobounce check [-v|-q] [--json] TARGET...\n"
	      "       nobounce fix   [-v|-q] [--json] TARGET...\n"
	      "       nobounce undo  [-v|-q] [--json] [--force] TARGET...\n"
	      "       nobounce --help | --version\n"
	      "\n"
	      "Switches off Exchange 2003's XEXCH50 SMTP verb on an offline Windows\n"
	      "system volume: SuppressExternal=1 under Services\\SMTPSVC\\XEXCH50 in each\n"
	      "control set Select names (SYSTEM), and what 'regsvr32 /u PEEXCH50.DLL'\n"
	      "does: its COM classes out of SOFTWARE, its SMTP sink bindings out of\n"
	      "MetaBase.xml.  TARGET is the root directory of a mounted Windows system\n"
	      "volume.\n"
	      "\n"
	      "  check     print what fix would change; change nothing\n"
	      "  fix       make the changes (backups and a manifest first)\n"
	      "  undo      restore the files the last fix changed, byte for byte\n"
	      "  --json    one JSON object per installation per line on stdout\n"
	      "  --force   undo even files changed since the fix\n"
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
	struct report_opts ro;
};

/* Runs the command on one target; returns its exit code. */
static int run_target(const struct options *op, const char *target)
{
	struct err e = {0};
	struct stat st;
	if (stat(target, &st) == -1) {
		fail(&e, "not-found", "cannot open: %m. Check the path");
	} else if (!S_ISDIR(st.st_mode)) {
		fail(&e, "unsupported-target",
		     "is not a directory: give the root directory of the mounted Windows "
		     "system volume");
	}
	struct vol *v = e.msg ? NULL : vol_open_dir(target, op->cmd != CMD_CHECK, &e);
	if (v && v->ops->lock(v, op->cmd != CMD_CHECK, &e) == -1) {
		vol_close(v);
		v = NULL;
	}
	struct install *ins = NULL;
	size_t n = 0;
	if (v)
		install_find(v, &ins, &n, &e);
	if (!v || e.msg || n == 0) {
		report_target(&op->ro, target, e.msg ? "error" : "not-applicable", &e);
		int code = e.msg ? EXIT_FAILED : EXIT_OK;
		err_clear(&e);
		vol_close(v);
		return code;
	}
	int code = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		struct outcome o;
		int r = plan_run(v, &ins[i], op->cmd, op->force, &o);
		report_outcome(&op->ro, target, &o);
		if (r == -1)
			code = EXIT_FAILED;
		else if (op->cmd == CMD_CHECK && STREQ(o.status, "needs-fix") && code == EXIT_OK)
			code = EXIT_WORK;
		outcome_free(&o);
	}
	install_free(ins, n);
	vol_close(v);
	return code;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},   {"force", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},   {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct options op = {0};
	int c;
	while ((c = getopt_long(argc, argv, "vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': op.ro.json = 1; break;
		case 'f': op.force = 1; break;
		case 'v': verbose = 1; break;
		case 'q': op.ro.quiet = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': puts("nobounce " NOBOUNCE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
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
	int worst = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int code = run_target(&op, argv[i]);
		if (code == EXIT_FAILED || (code == EXIT_WORK && worst == EXIT_OK))
			worst = code;
	}
	return worst;
}
