/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal: the format of a nobounce journal (docs/journal.md), and nothing
 * that writes one.
 *
 * A journal is a 512-byte text header (magic, state, run, where the index
 * and the saved pages lie and their SHA-256), a JSON index naming each file
 * with its lengths, hashes and page ranges, then the saved pages.  Here:
 * which pages of a file change, the header's text both ways, judging a
 * journal's bytes (journal_judge is pure: a fuzzer calls it), finding the
 * journals of an installation, and building a new one in memory.  txn.c is
 * the one module that writes them. */
#ifndef NOBOUNCE_JOURNAL_H
#define NOBOUNCE_JOURNAL_H

#include <jansson.h>

#include "fix/install.h"
#include "fix/plan.h"

/* The header: the only part of a journal written twice. */
#define JOURNAL_HEAD 512
#define JOURNAL_MAX_BYTES ((size_t)4 << 30)

/* A run of bytes of a file; a list of them, in ascending order. */
struct span {
	uint64_t off, len;
};
struct spans {
	struct span *v;
	size_t n;
};
/* Appends a run, joined to the last one when they touch. */
void spans_add(struct spans *s, uint64_t off, uint64_t len);
/* The NB_PAGE pages in which a and b differ (in bytes or in length). */
void pages_diff(const struct buf *a, const struct buf *b, struct spans *out);
/* A run, cut to a file of len bytes. */
struct span span_clip(struct span s, uint64_t len);

/* One journal found on a volume. */
struct journal {
	char *path;	/* on the volume, as stored */
	int run;	/* N of nobounce-N.journal */
	char state[12]; /* creating applying complete undoing; "" when it has no
			   header (a journal whose creation never finished) */
	char *bad;	/* why it cannot be trusted, or NULL */
	json_t *index;	/* when valid */
	struct buf bytes;
};

struct journals {
	struct journal *v; /* by run, ascending */
	size_t n;
};

/* N of "nobounce-N.journal" in any letter case, or 0 for any other name. */
int journal_run(const char *name);
/* Judges j->bytes as the journal of run j->run of installation in: sets
 * state, and index or bad (why it cannot be trusted: damaged, for another
 * run, or naming a file nobounce never edits).  Reads nothing else. */
void journal_judge(const struct install *in, struct journal *j);
/* Rewrites the header in bytes (a journal with a header) with a new state;
 * the first JOURNAL_HEAD bytes are then what to write at offset 0. */
void journal_set_state(struct buf *bytes, const char *state);

/* Finds and reads every journal in the installation's sysroot.  A journal
 * that is damaged or names a file nobounce never edits is kept, with
 * bad set. */
int journal_find(struct vol *v, const struct install *in, struct journals *js, struct err *e);
void journal_free(struct journals *js);
/* The PEEXCH50 classes that earlier runs recorded. */
void journal_classes(const struct journals *js, struct fixctx *cx);
/* Whether a run is unfinished: a journal not complete. */
int journal_pending(const struct journals *js);

/* One file of a new journal: its edit, the pages that change, and its full
 * copy's name and place ("volume" or "host"), when it has one. */
struct journal_file {
	struct edit *ed;
	struct spans pages;
	char *copy;
	const char *copy_on;
};
/* The name of a full copy on the volume, beside its original. */
char *journal_copy_name(const char *path, int run);
/* The bytes of a new journal of run run, in state "creating": header,
 * index (files, the outcome's changes, the context's sink classes), and
 * the original bytes of every page that changes. */
void journal_build(const struct journal_file *f, size_t n, int run, const struct fixctx *cx,
		   const struct outcome *o, struct buf *out);

/* A journal index's fields: "" and 0 when absent or of another type. */
const char *json_field_str(json_t *o, const char *k);
uint64_t json_field_u64(json_t *o, const char *k);

#endif
