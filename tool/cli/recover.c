/* SPDX-License-Identifier: GPL-2.0-or-later */
/* recover: `nobounce recover`. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/recover.h"
#include "reg/hive.h"
#include "reg/hivelog.h"
#include "reg/regf.h"
#include "run/target.h"
#include "lib/version.h"
#include "vol/vol.h"

/* Writes b as a new file at path, whole or not at all: the bytes go into a
 * file with no name (O_TMPFILE) or a temporary one beside path, are made
 * durable, and only then is the file linked in as path -- which fails,
 * rather than overwrite, when path exists.  A kill at any moment leaves no
 * truncated path (at most a temporary ".nobounce-" file, where the file
 * system has no O_TMPFILE); every path out removes the temporary. */
static int write_new(const char *path, const struct buf *b, struct err *e)
{
	const char *slash = strrchr(path, '/');
	CLEANUP_FREE char *dir =
	    slash ? strndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
	CLEANUP_FREE char *tmp = NULL;
	int fd = open(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd == -1) {
		tmp = xasprintf("%s.nobounce-XXXXXX", path);
		fd = mkostemp(tmp, O_CLOEXEC);
	}
	if (fd == -1)
		return fail(e, "io", "%s: cannot create it: %s", path, strerror(errno));
	int r = 0;
	if (pwrite_all(fd, b->p, b->len, 0) == -1 || fsync(fd) == -1)
		r = fail(e, "io", "%s: write failed: %s", path, strerror(errno));
	FAULT("recover-written"); /* durable, not yet named */
	if (r == 0) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		int l = tmp ? link(tmp, path)
			    : linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
		if (l == -1)
			r = fail(e, "io",
				 "%s: cannot create it (%s); nobounce never overwrites a file",
				 path, strerror(errno));
	}
	if (tmp)
		unlink(tmp);
	if (close(fd) == -1 && r == 0)
		r = fail(e, "io", "%s: %s", path, strerror(errno));
	int dfd = r == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd != -1) {
		if (fsync(dfd) == -1)
			r = fail(e, "io", "%s: fsync of its directory failed: %s", path,
				 strerror(errno));
		close(dfd);
	}
	return r;
}

int recover_command(const char *hive, const char *out, int json)
{
	struct err e = {0};
	const char *slash = strrchr(hive, '/');
	CLEANUP_FREE char *dir =
	    slash ? strndup(hive, (size_t)(slash - hive + (slash == hive))) : xstrdup(".");
	const char *leaf = slash ? slash + 1 : hive;
	struct vol *v = vol_open_dir(dir, 0, &e);
	struct buf primary = {0}, rec = {0};
	struct hivelog *logs = NULL;
	size_t n = 0;
	struct strlist paths = {0}, applied = {0};
	const char *status = "error";
	if (v && vol_read(v, leaf, (size_t)1 << 30, &primary, &e) == 0 &&
	    hivelog_read_beside(v, leaf, &logs, &n, &paths, &e) == 0) {
		struct err why = {0};
		if (primary.len < REGF_BLOCK || memcmp(primary.p, "regf", 4) != 0) {
			fail(&e, "not-a-hive",
			     "not a registry hive (no 'regf' base block); give a hive file such as "
			     "system32/config/SYSTEM");
		} else if (!hivelog_is_dirty(primary.p, primary.len)) {
			/* clean: it must still be a hive that opens and walks whole;
			 * with -o, OUT gets a copy, so that a script can always use it */
			struct hread rd;
			int ok = hread_open(&rd, leaf, primary.p, primary.len, &why) == 0;
			if (ok && hread_walk(&rd, &why) == 0)
				status =
				    !out || write_new(out, &primary, &e) == 0 ? "clean" : "error";
			else
				fail(&e, why.kind, "%s", why.msg);
			if (ok)
				hread_close(&rd);
			err_clear(&why);
		} else if (hivelog_recover(leaf, &primary, logs, n, &rec, &applied, &e) == 0) {
			struct hread rd;
			int ok = hread_open(&rd, "the recovered hive", rec.p, rec.len, &e) == 0;
			if (ok && hread_walk(&rd, &e) == 0)
				status = out && write_new(out, &rec, &e) == 0 ? "recovered"
					 : out				      ? "error"
									      : "recoverable";
			if (ok)
				hread_close(&rd);
		}
	}
	if (e.msg)
		eline(stderr, "nobounce: %s: %s", hive, e.msg);
	if (json) {
		json_t *o = json_pack(
		    "{s:s,s:s,s:s,s:s,s:[],s:[],s:o,s:o}", "command", "recover", "version",
		    NOBOUNCE_VERSION, "target", hive, "status", status, "logs", "applied", "output",
		    out && !STREQ(status, "error") ? json_string(out) : json_null(), "error",
		    e.msg ? json_pack("{s:s,s:s}", "kind", e.kind, "message", e.msg) : json_null());
		for (size_t i = 0; i < paths.n; i++)
			json_array_append_new(json_object_get(o, "logs"), json_string(paths.v[i]));
		for (size_t i = 0; i < applied.n; i++)
			json_array_append_new(json_object_get(o, "applied"),
					      json_string(applied.v[i]));
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(o);
	} else if (!e.msg) {
		eline(stdout, "%s: %s", hive,
		      STREQ(status, "clean")	     ? "clean: a whole hive, nothing to recover"
		      : STREQ(status, "recoverable") ? "dirty: the logs recover it (give -o OUT to "
						       "write the recovered hive)"
						     : "recovered");
		for (size_t i = 0; i < applied.n; i++)
			eline(stdout, "  %s", applied.v[i]);
		if (out && STREQ(status, "recovered"))
			eline(stdout, "  written to %s (%zu bytes)", out, rec.len);
		else if (out && STREQ(status, "clean"))
			eline(stdout, "  copied to %s as it is (%zu bytes)", out, primary.len);
	}
	int code = STREQ(status, "error") ? EXIT_FAILED : EXIT_OK;
	strlist_free(&applied);
	strlist_free(&paths);
	hivelog_free(logs, n); /* their names belong to paths */
	buf_free(&primary);
	buf_free(&rec);
	vol_close(v);
	err_clear(&e);
	return code;
}
