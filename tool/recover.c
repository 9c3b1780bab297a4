/* SPDX-License-Identifier: GPL-2.0-or-later */
/* recover: `nobounce recover`. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "hive.h"
#include "hivelog.h"
#include "target.h"
#include "version.h"
#include "vol.h"

static int write_new(const char *path, const struct buf *b, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return fail(e, "io", "%s: cannot create it (%s); nobounce never overwrites a file",
			    path, strerror(errno));
	size_t done = 0;
	while (done < b->len) {
		ssize_t w = write(fd, b->p + done, b->len - done);
		if (w <= 0) {
			close(fd);
			unlink(path);
			return fail(e, "io", "%s: write failed: %s", path, strerror(errno));
		}
		done += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1)
		return fail(e, "io", "%s: %s", path, strerror(errno));
	return 0;
}

int hivelog_command(const char *hive, const char *out, int json)
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
		if (primary.len < 4096 || memcmp(primary.p, "regf", 4) != 0) {
			fail(&e, "not-a-hive",
			     "not a registry hive (no 'regf' base block); give a hive file such as "
			     "system32/config/SYSTEM");
		} else if (!hivelog_is_dirty(primary.p, primary.len)) {
			/* clean: it must still be a hive that opens and walks whole;
			 * with -o, OUT gets a copy, so that a script can always use it */
			struct hive *hv = hive_check_bytes(leaf, primary.p, primary.len, &why) == 0
					      ? hive_open_bytes(leaf, &primary, 0, &why)
					      : NULL;
			if (hv && hive_walk(hv, &why) == 0)
				status =
				    !out || write_new(out, &primary, &e) == 0 ? "clean" : "error";
			else
				fail(&e, why.kind, "%s", why.msg);
			hive_free(hv);
			err_clear(&why);
		} else if (hivelog_recover(leaf, &primary, logs, n, &rec, &applied, &e) == 0) {
			struct hive *hv = hive_open_bytes("the recovered hive", &rec, 0, &e);
			if (hv && hive_walk(hv, &e) == 0)
				status = out && write_new(out, &rec, &e) == 0 ? "recovered"
					 : out				      ? "error"
									      : "recoverable";
			hive_free(hv);
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
	for (size_t i = 0; i < n; i++)
		buf_free(&logs[i].data);
	free(logs); /* their names belong to paths */
	buf_free(&primary);
	buf_free(&rec);
	vol_close(v);
	err_clear(&e);
	return code;
}
