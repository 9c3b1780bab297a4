/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vol: the backend-independent part of the volume door: case-insensitive resolution
 * and the read-only guard. */
#include "vol/vol_impl.h"

#include <stdio.h>

void vol_close(struct vol *v)
{
	if (!v)
		return;
	v->ops->close(v);
	free(v->refusal);
	free(v->name);
	free(v);
}

/* Picks the one entry of dir that matches want case-insensitively. */
static int match_entry(struct vol *v, const char *dir, const char *want, char **found,
		       struct err *e)
{
	struct strlist names = {0};
	if (v->ops->list(v, dir, &names, e) == -1)
		return -1;
	const char *hit = NULL;
	int n = 0;
	for (size_t i = 0; i < names.n; i++)
		if (STRCASEEQ(names.v[i], want)) {
			if (n++)
				break;
			hit = names.v[i];
		}
	int r = 0;
	if (n > 1)
		r = fail(e, "unsafe-path",
			 "%s%s%s: two entries differ only in letter case; Windows would see "
			 "one file. Remove the stray one and run again",
			 dir, *dir ? "/" : "", want);
	else if (n == 1) {
		*found = xstrdup(hit);
		r = 1;
	}
	strlist_free(&names);
	return r;
}

int vol_resolve(struct vol *v, const char *path, char **real, int *kind, struct err *e)
{
	CLEANUP_FREE char *copy = xstrdup(path);
	char *acc = xstrdup("");
	int k = VOL_DIR;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (STREQ(c, ".") || STREQ(c, "..") || k != VOL_DIR) {
			free(acc);
			return k != VOL_DIR ? 0 : fail(e, "internal", "%s: bad path", path);
		}
		char *name = NULL;
		int r = match_entry(v, acc, c, &name, e);
		if (r <= 0) {
			free(acc);
			return r;
		}
		char *next = *acc ? xasprintf("%s/%s", acc, name) : xstrdup(name);
		free(acc);
		free(name);
		acc = next;
		k = v->ops->kind(v, acc, e);
		if (k == -1) {
			free(acc);
			return -1;
		}
	}
	*real = acc;
	if (kind)
		*kind = k;
	return 1;
}

static int read_only(struct vol *v, const char *path, struct err *e)
{
	return fail(e, "internal", "%s: write refused: the volume is open read-only", path);
	(void)v;
}

int vol_read(struct vol *v, const char *path, size_t max, struct buf *out, struct err *e)
{
	tracef("%s: vol read %s", v->name, path);
	return v->ops->read(v, path, max, out, e);
}

int vol_size(struct vol *v, const char *path, uint64_t *size, struct err *e)
{
	tracef("%s: vol size %s", v->name, path);
	return v->ops->size(v, path, size, e);
}

int vol_read_at(struct vol *v, const char *path, uint64_t off, void *p, size_t len, struct err *e)
{
	tracef("%s: vol read_at %s %llu +%zu", v->name, path, (unsigned long long)off, len);
	return len ? v->ops->read_at(v, path, off, p, len, e) : 0;
}

/* A file written, resized or removed must have one name: any other would
 * see the change too (a journal hard-linked into a snapshot copy, a hive
 * linked from outside the volume). */
static int one_name(struct vol *v, const char *path, struct err *e)
{
	int n = v->ops->links(v, path, e);
	if (n == -1)
		return -1;
	if (n > 1)
		return fail(e, "unsafe-path",
			    "%s: has %d names (hard links); changing it would change it under "
			    "every name, perhaps outside this volume. Replace the extra names "
			    "with copies, then run nobounce again",
			    path, n);
	return 0;
}

int vol_check_inplace(struct vol *v, const char *path, struct err *e)
{
	return one_name(v, path, e) == -1 ? -1 : v->ops->inplace(v, path, e);
}

/* Every write to a target passes here, so the crash tests' fault points sit
 * before and after each one (and half-way through a write). */
int vol_write_at(struct vol *v, const char *path, uint64_t off, const void *p, size_t len,
		 struct err *e)
{
	if (!v->writable)
		return read_only(v, path, e);
	if (one_name(v, path, e) == -1)
		return -1;
	note("%s: writing %s at %llu (%zu bytes)", v->name, path, (unsigned long long)off, len);
	tracef("%s: vol write_at %s %llu +%zu", v->name, path, (unsigned long long)off, len);
	FAULT("before-write");
	if (FAULT_ACTIVE("mid-write~") && len > 1) {
		v->ops->write_at(v, path, off, p, len / 2, e);
		FAULT("mid-write");
	}
	FAULT("mid-write");
	int r = v->ops->write_at(v, path, off, p, len, e);
	FAULT("after-write");
	return r;
}

int vol_resize(struct vol *v, const char *path, uint64_t len, struct err *e)
{
	if (!v->writable)
		return read_only(v, path, e);
	if (one_name(v, path, e) == -1)
		return -1;
	note("%s: setting the length of %s to %llu", v->name, path, (unsigned long long)len);
	tracef("%s: vol resize %s %llu", v->name, path, (unsigned long long)len);
	FAULT("before-resize");
	int r = v->ops->resize(v, path, len, e);
	FAULT("after-resize");
	return r;
}

int vol_sync(struct vol *v, int drop, struct err *e)
{
	tracef("%s: vol sync%s", v->name, drop ? " (drop the cache)" : "");
	if (!v->writable)
		return 0;
	return v->ops->sync(v, drop, e);
}

int vol_create(struct vol *v, const char *path, const void *p, size_t len, const char *like,
	       struct err *e)
{
	if (!v->writable)
		return read_only(v, path, e);
	note("%s: creating %s (%zu bytes)", v->name, path, len);
	tracef("%s: vol create %s +%zu", v->name, path, len);
	FAULT("before-create");
	int r = v->ops->create(v, path, p, len, like, e);
	FAULT("after-create");
	return r;
}

int vol_remove(struct vol *v, const char *path, struct err *e)
{
	if (!v->writable)
		return read_only(v, path, e);
	int k = v->ops->kind(v, path, e);
	if (k == -1 || (k == VOL_FILE && one_name(v, path, e) == -1))
		return -1;
	note("%s: removing %s", v->name, path);
	tracef("%s: vol remove %s", v->name, path);
	FAULT("before-remove");
	int r = v->ops->remove(v, path, e);
	FAULT("after-remove");
	return r;
}

int vol_list(struct vol *v, const char *dir, struct strlist *out, struct err *e)
{
	tracef("%s: vol list %s", v->name, *dir ? dir : "/");
	return v->ops->list(v, dir, out, e);
}

int vol_kind(struct vol *v, const char *path, struct err *e)
{
	tracef("%s: vol kind %s", v->name, path);
	return v->ops->kind(v, path, e);
}

int vol_lock(struct vol *v, int exclusive, struct err *e)
{
	return v->ops->lock(v, exclusive, e);
}

const char *vol_name(const struct vol *v)
{
	return v->name;
}

int vol_writable(const struct vol *v)
{
	return v->writable;
}

const char *vol_refusal(const struct vol *v)
{
	return v->refusal;
}

const char *vol_refusal_kind(const struct vol *v)
{
	return v->refusal_kind;
}

void vol_refuse(struct vol *v, const char *kind, char *why)
{
	if (v->refusal) { /* hibernated or dirty: said first */
		free(why);
		return;
	}
	v->refusal_kind = kind;
	v->refusal = why;
}
